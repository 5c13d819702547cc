//! Asking the assistant, reminding once, and storing what comes back: the answers (through
//! the survey's [`record`]), the thanks mail naming what is missing, and the operator's alert
//! on a blocker or a low score. Every function writes in the caller's transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Reading;
use crate::compose::{AgencyView, Composer, MailError};
use crate::inbound::message::Received;
use crate::outbound::{self, AutoSubmitted};
use crate::recipients::{People, Recipient};
use crate::store::{self, Conn, surveys::Survey};
use crate::survey::Question;
use crate::survey::answers::Parsed;
use crate::survey::flow::{
    AnsweredView, Asked, QuestionView, Reminder, ask, example, period_label, question_views,
    record, remind_unanswered, stored_questions, survey_label, value_from_json, value_text,
};

#[derive(Debug, Serialize)]
struct CheckinContext {
    agency: AgencyView,
    recipient_name: String,
    client_name: String,
    period_label: String,
    trial: bool,
    reminder: bool,
    questions: Vec<QuestionView>,
    example: Vec<String>,
}

/// Writes the check-in of `period` and queues its mail to the assistant under `key`. `None`
/// when it was sent before (by this process or another): then nothing is written.
pub async fn send(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    period: &str,
    trial: bool,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, MailError> {
    let to = people.assistant()?;
    let questions = super::questions(&people.client.name);
    let context = checkin_context(compose, people, &to, &questions, period, trial, false);
    let mail = compose
        .mail(&to, "checkin", &context, AutoSubmitted::Generated)?
        .expecting_reply();
    let asked = Asked {
        kind: "checkin",
        period,
        questions: &questions,
    };
    ask(tx, people, &to, &asked, &mail, key, now).await
}

/// What a check-in's mail (or its reminder) says.
fn checkin_context(
    compose: &Composer,
    people: &People,
    to: &Recipient,
    questions: &[Question],
    period: &str,
    trial: bool,
    reminder: bool,
) -> CheckinContext {
    CheckinContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        client_name: people.client.name.clone(),
        period_label: period_label(period, to.locale),
        trial,
        reminder,
        questions: question_views(questions, to.locale),
        example: example(questions, to.locale),
    }
}

/// Queues the one reminder of an unanswered check-in, threaded under it.
pub async fn remind(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    period: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let reminder = Reminder {
        kind: "checkin",
        period,
        template: "checkin",
        outbox_kind: "checkin_reminder",
        key,
    };
    let trial = people.engagement.status == crate::domain::EngagementStatus::Trial;
    let context = |to: &Recipient, questions: &[Question]| {
        checkin_context(compose, people, to, questions, period, trial, true)
    };
    remind_unanswered(
        tx,
        compose,
        people,
        &reminder,
        || people.assistant(),
        context,
        now,
    )
    .await
}

#[derive(Debug, Serialize)]
struct ThanksContext {
    agency: AgencyView,
    recipient_name: String,
    client_name: String,
    period_label: String,
    answered: Vec<AnsweredView>,
    missing: Vec<crate::survey::flow::MissingView>,
    invalid: Vec<crate::survey::flow::InvalidView>,
    complete: bool,
    blocked: bool,
}

#[derive(Debug, Serialize)]
struct AlertContext {
    agency: AgencyView,
    engagement_id: i64,
    client_name: String,
    client_tag: String,
    assistant_name: String,
    assistant_email: String,
    survey_id: i64,
    period_label: String,
    blocked: bool,
    blocker: String,
    low: bool,
    score: Option<i64>,
    threshold: i64,
    ideas: String,
    answers: Vec<AnsweredView>,
}

/// Stores the answers of a check-in reply, thanks the assistant (naming what is missing) and,
/// when the reply tells of a blocker or gives a score at or under `threshold` (`[surveys]
/// alert_threshold`), alerts the operator at once with the assistant's words.
pub async fn store_answers(
    tx: &mut Conn,
    compose: &Composer,
    threshold: i64,
    checkin: &Survey,
    parsed: &Parsed,
    received: Received<'_>,
) -> Result<(), MailError> {
    let Received {
        id: inbound_id,
        incoming,
        now,
    } = received;
    let people = People::load(tx, checkin.engagement_id).await?;
    let questions = stored_questions(checkin)?;
    let to = people.assistant()?.answering(incoming);
    let recorded = record(tx, checkin, &questions, parsed, to.locale, inbound_id, now).await?;
    // What the check-in says now, with earlier replies to it.
    let stored = store::surveys::answers(tx, checkin.id).await?;
    let values: Vec<(String, crate::survey::answers::Value)> = stored
        .iter()
        .map(|a| (a.key.clone(), value_from_json(&a.value)))
        .collect();
    let all = Reading::of(values.iter().map(|(k, v)| (k.as_str(), v)));
    let now_said = Reading::of(parsed.answers.iter().map(|a| (a.key.as_str(), &a.value)));
    let context = ThanksContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        client_name: people.client.name.clone(),
        period_label: survey_label(checkin, to.locale),
        answered: recorded.answered,
        missing: recorded.missing,
        invalid: recorded.invalid,
        complete: recorded.complete,
        blocked: all.is_blocked(),
    };
    let mail = compose.answer(&to, "checkin_thanks", &context, incoming)?;
    // A thanks that names what is missing asks for it: a reply to it answers the check-in.
    let mail = match context.complete {
        true => mail,
        false => mail.expecting_reply(),
    };
    outbound::enqueue_about(
        tx,
        &format!("checkin_thanks:{inbound_id}"),
        "checkin_thanks",
        Some(checkin.engagement_id),
        Some(checkin.id),
        &mail,
        now,
    )
    .await?;

    // This reply raised the blocker (a yes, or its text), or gave the low score.
    let blocked =
        all.is_blocked() && (now_said.blocked == Some(true) || now_said.blocker.is_some());
    let low = now_said.is_low(threshold);
    if !blocked && !low {
        return Ok(());
    }
    let op = compose.operator();
    let context = AlertContext {
        agency: compose.agency_view(),
        engagement_id: checkin.engagement_id,
        client_name: people.client.name.clone(),
        client_tag: people.client.tag.clone(),
        assistant_name: people.assistant.name.clone(),
        assistant_email: incoming
            .from
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| checkin.recipient.clone()),
        survey_id: checkin.id,
        period_label: survey_label(checkin, op.locale),
        blocked,
        blocker: all.blocker.clone().unwrap_or_default(),
        low,
        score: all.score,
        threshold,
        ideas: all.ideas.clone().unwrap_or_default(),
        answers: stored
            .iter()
            .map(|a| AnsweredView {
                number: a.number as usize,
                text: questions
                    .get((a.number as usize).wrapping_sub(1))
                    .map(|q| q.text(op.locale).to_string())
                    .unwrap_or_default(),
                value: value_text(&value_from_json(&a.value), op.locale),
            })
            .collect(),
    };
    let mail = compose.mail(&op, "checkin_alert", &context, AutoSubmitted::Generated)?;
    outbound::enqueue(
        tx,
        &format!("checkin_alert:{inbound_id}"),
        "checkin_alert",
        Some(checkin.engagement_id),
        &mail,
        now,
    )
    .await?;
    Ok(())
}
