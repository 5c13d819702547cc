//! Feedback talks: on `[schedule] feedback_talks` (at the trial's end, then on a cadence), a
//! review call is proposed to the client's contacts (one mail to them all) and to the
//! assistant (one of their own), each in their language, with an agenda built from both sides' latest answers: the client's last
//! answered feedback survey (scores and comments) and the assistant's last answered check-in
//! (how it goes, blockers, ideas). Answers to it are for a person (the operator sets the
//! date), so they go to the attention folder. Writes in the caller's transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::checkin::Reading;
use crate::compose::{AgencyView, Composer, MailError};
use crate::domain::{Locale, Party, QuestionKind};
use crate::format::format_date;
use crate::outbound::{self, AutoSubmitted};
use crate::recipients::{People, Recipient};
use crate::store::{self, Conn, StoreError, surveys::Survey};
use crate::survey::answers::Value;
use crate::survey::flow::{stored_questions, survey_label, value_from_json, value_text};

#[derive(Debug, Clone, Serialize)]
struct ScoreView {
    text: String,
    value: String,
    max: i64,
}

/// The client's side of the agenda: their last answered feedback survey.
#[derive(Debug, Clone, Serialize)]
struct ClientSide {
    period_label: String,
    scores: Vec<ScoreView>,
    answers: Vec<ScoreView>,
    comments: Vec<String>,
}

/// The assistant's side: their last answered check-in.
#[derive(Debug, Clone, Serialize)]
struct AssistantSide {
    period_label: String,
    score: Option<i64>,
    blocked: bool,
    blocker: String,
    ideas: String,
}

#[derive(Debug, Serialize)]
struct TalkContext {
    agency: AgencyView,
    recipient_name: String,
    client_name: String,
    assistant_name: String,
    /// Whether this copy goes to the client (else to the assistant).
    to_client: bool,
    /// The talk at the trial's end (else a regular one).
    trial_end: bool,
    trial_end_date: String,
    client_side: Option<ClientSide>,
    assistant_side: Option<AssistantSide>,
}

/// The last answered survey of `kind`, with its answers.
async fn latest_answered(
    tx: &mut Conn,
    engagement_id: i64,
    kind: &str,
) -> Result<Option<(Survey, Vec<(usize, String, Value)>)>, StoreError> {
    let surveys = store::surveys::list(tx, Some(engagement_id)).await?;
    let Some(survey) = surveys
        .into_iter()
        .find(|s| s.kind == kind && s.answered_at.is_some())
    else {
        return Ok(None);
    };
    let answers = store::surveys::answers(tx, survey.id)
        .await?
        .into_iter()
        .map(|a| (a.number as usize, a.key, value_from_json(&a.value)))
        .collect();
    Ok(Some((survey, answers)))
}

async fn client_side(
    tx: &mut Conn,
    engagement_id: i64,
    locale: Locale,
) -> Result<Option<ClientSide>, StoreError> {
    let Some((survey, answers)) = latest_answered(tx, engagement_id, "feedback").await? else {
        return Ok(None);
    };
    let questions = stored_questions(&survey)?;
    let mut side = ClientSide {
        period_label: survey_label(&survey, locale),
        scores: Vec::new(),
        answers: Vec::new(),
        comments: Vec::new(),
    };
    for (number, _, value) in &answers {
        let Some(q) = questions.get(number.wrapping_sub(1)) else {
            continue;
        };
        let view = ScoreView {
            text: q.text(locale).to_string(),
            value: value_text(value, locale),
            max: q.max,
        };
        match (q.kind, value) {
            (QuestionKind::Scale, Value::Scale(_)) => side.scores.push(view),
            (QuestionKind::Text, Value::Text(t)) => side.comments.push(t.clone()),
            _ => side.answers.push(view),
        }
    }
    Ok(Some(side))
}

async fn assistant_side(
    tx: &mut Conn,
    engagement_id: i64,
    locale: Locale,
) -> Result<Option<AssistantSide>, StoreError> {
    let Some((checkin, answers)) = latest_answered(tx, engagement_id, "checkin").await? else {
        return Ok(None);
    };
    let reading = Reading::of(answers.iter().map(|(_, k, v)| (k.as_str(), v)));
    Ok(Some(AssistantSide {
        period_label: survey_label(&checkin, locale),
        score: reading.score,
        blocked: reading.is_blocked(),
        blocker: reading.blocker.clone().unwrap_or_default(),
        ideas: reading.ideas.clone().unwrap_or_default(),
    }))
}

/// Proposes the feedback talk of `period` to `party` under `key`: one mail to all of the
/// client's contacts together (in the client's language), or one to the assistant. Whether it
/// was queued (`false`: sent before).
pub async fn propose(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    party: Party,
    period: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let recipients: Vec<Recipient> = match party {
        Party::Client => people
            .client
            .contacts
            .iter()
            .map(|c| Recipient::contact(&people.client, c))
            .collect::<Result<_, _>>()?,
        Party::Assistant | Party::Operator => vec![people.assistant()?],
    };
    let Some(to) = recipients.first() else {
        return Err(MailError::Store(StoreError::Corrupt(format!(
            "client '{}' has no contact person",
            people.client.tag
        ))));
    };
    let and = match to.locale {
        Locale::De => " und ",
        Locale::En => " and ",
    };
    let id = people.engagement.id;
    let context = TalkContext {
        agency: compose.agency_view(),
        recipient_name: recipients
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(and),
        client_name: people.client.name.clone(),
        assistant_name: people.assistant.name.clone(),
        to_client: party == Party::Client,
        trial_end: period == "trial-end",
        trial_end_date: format_date(people.engagement.trial_end, to.locale),
        client_side: client_side(tx, id, to.locale).await?,
        assistant_side: assistant_side(tx, id, to.locale).await?,
    };
    let mut mail = compose
        .mail(to, "feedback_talk", &context, AutoSubmitted::Generated)?
        .expecting_reply();
    mail.to = recipients.iter().map(|r| r.mailbox.clone()).collect();
    Ok(outbound::enqueue(tx, key, "feedback_talk", Some(id), &mail, now).await?)
}
