//! Sending surveys and trial reviews, and storing what comes back: the answers, the thanks
//! mail naming what is missing, the operator's alert on a low score, and the trial's decision.
//! Every function writes in the caller's transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::answers::{Parsed, Value};
use super::{Question, QuestionKind};
use crate::compose::{AgencyView, Composer, MailError};
use crate::domain::{EngagementStatus, Locale};
use crate::format::{format_date, format_month};
use crate::inbound::message::Received;
use crate::outbound::{self, AutoSubmitted, Outgoing};
use crate::recipients::{People, Recipient};
use crate::store::{self, Conn, StoreError, surveys::Survey};

/// `2026-W49` -> `KW 49` / `week 49`; `2027-01` -> `Januar 2027`; anything else as it is.
pub fn period_label(period: &str, locale: Locale) -> String {
    if let Some((_, week)) = period.split_once("-W") {
        let week = week.trim_start_matches('0');
        return match locale {
            Locale::De => format!("KW {week}"),
            Locale::En => format!("week {week}"),
        };
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(period, "%Y-%m-%d") {
        return format_date(day, locale);
    }
    if let Some((year, month)) = period.split_once('-')
        && let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u32>())
        && period.len() == 7
    {
        return format_month(year, month, locale);
    }
    period.to_string()
}

/// What a sent survey was about: its period, or for one the operator sent, the day it went
/// out (its UTC date).
pub fn survey_label(survey: &Survey, locale: Locale) -> String {
    match survey.period.starts_with("manual-") {
        true => format_date(survey.sent_at.date_naive(), locale),
        false => period_label(&survey.period, locale),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct QuestionView {
    number: usize,
    text: String,
    key: String,
}

#[derive(Debug, Serialize)]
struct SurveyContext {
    agency: AgencyView,
    recipient_name: String,
    client_name: String,
    assistant_name: String,
    period_label: String,
    trial: bool,
    reminder: bool,
    questions: Vec<QuestionView>,
    example: Vec<String>,
}

pub(crate) fn example(questions: &[Question], locale: Locale) -> Vec<String> {
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let value = match (q.kind, locale) {
                (QuestionKind::Scale, _) => q.max.saturating_sub(1).max(q.min).to_string(),
                (QuestionKind::YesNo, Locale::De) => "ja".into(),
                (QuestionKind::YesNo, Locale::En) => "yes".into(),
                (QuestionKind::Text, _) => "...".into(),
            };
            format!("{}: {value}", i + 1)
        })
        .collect()
}

pub(crate) fn question_views(questions: &[Question], locale: Locale) -> Vec<QuestionView> {
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| QuestionView {
            number: i + 1,
            text: q.text(locale).to_string(),
            key: q.key.clone(),
        })
        .collect()
}

/// What a survey mail is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occasion {
    /// The scheduled survey of a period.
    Feedback { period: String, trial: bool },
    /// Sent by the operator now (`tandem survey send`): the engagement's `number`th such.
    Manual { number: usize },
}

/// Writes a feedback survey and queues its mail under `key`. `None` when this survey was sent
/// before (by this process or another): then nothing is written.
pub async fn send(
    tx: &mut Conn,
    compose: &Composer,
    questions: &[Question],
    people: &People,
    occasion: &Occasion,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, MailError> {
    let to = people.client_contact()?;
    let (period, trial) = match occasion {
        Occasion::Feedback { period, trial } => (period.clone(), *trial),
        Occasion::Manual { number } => (
            format!("manual-{number}"),
            people.engagement.status == EngagementStatus::Trial,
        ),
    };
    let label = match occasion {
        Occasion::Manual { .. } => {
            format_date(now.with_timezone(&to.zone.0).date_naive(), to.locale)
        }
        Occasion::Feedback { .. } => period_label(&period, to.locale),
    };
    let context = survey_context(compose, people, &to, questions, label, trial, false);
    let mail = compose
        .mail(&to, "survey", &context, AutoSubmitted::Generated)?
        .expecting_reply();
    let asked = Asked {
        kind: "feedback",
        period: &period,
        questions,
    };
    ask(tx, people, &to, &asked, &mail, key, now).await
}

/// What a survey mail asks, for its `survey` row.
pub(crate) struct Asked<'a> {
    /// `feedback`, `trial_review` or `checkin` (also the outbox kind of the mail, but
    /// `survey` for `feedback`).
    pub kind: &'a str,
    pub period: &'a str,
    pub questions: &'a [Question],
}

/// Writes the survey row first (its natural key decides whether this survey was sent before;
/// then nothing is written) and queues its mail, tied to it for the answer.
pub(crate) async fn ask(
    tx: &mut Conn,
    people: &People,
    to: &Recipient,
    asked: &Asked<'_>,
    mail: &Outgoing,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, MailError> {
    let questions = serde_json::to_string(asked.questions).unwrap_or_default();
    let new = store::surveys::NewSurvey {
        engagement_id: people.engagement.id,
        kind: asked.kind,
        period: asked.period,
        questions: &questions,
        recipient: to.mailbox.email.as_str(),
        locale: to.locale.as_str(),
        message_id: &mail.message_id,
    };
    let Some(id) = store::surveys::insert(tx, &new, now).await? else {
        return Ok(None);
    };
    let kind = match asked.kind {
        "feedback" => "survey",
        other => other,
    };
    outbound::enqueue_about(
        tx,
        key,
        kind,
        Some(people.engagement.id),
        Some(id),
        mail,
        now,
    )
    .await?;
    Ok(Some(id))
}

/// `tandem survey send ENGAGEMENT`: the survey of the current period now, instead of when
/// the cadence would send it. It takes that period's place (the same natural key,
/// `survey:ENGAGEMENT:PERIOD`, so the scheduler then sends none for the period), and it is
/// labelled by the period in lists and in the mail alike. A period whose survey went out
/// already is refused with the reason. The caller commits (a transaction that took the write
/// lock at once) and wakes the outbox.
pub async fn send_now(
    tx: &mut Conn,
    compose: &Composer,
    questions: &[Question],
    schedule: &crate::schedule::ScheduleConfig,
    engagement_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, MailError> {
    let people = People::load(tx, engagement_id).await?;
    let engagement = &people.engagement;
    if engagement.status == EngagementStatus::Ended {
        return Err(MailError::Store(StoreError::Conflict(format!(
            "engagement {engagement_id} has ended"
        ))));
    }
    // The period as the scheduler names it: the trial's cadence up to the trial's last day,
    // the later one after; days in the client's zone.
    let today = now
        .with_timezone(&engagement.client_timezone.0)
        .date_naive();
    let trial = today <= engagement.trial_end;
    let cadence = match trial {
        true => &schedule.survey_trial,
        false => &schedule.survey_after_trial,
    };
    let period = crate::schedule::plan::period_of(cadence, today);
    let key = format!("survey:{engagement_id}:{period}");
    let occasion = Occasion::Feedback {
        period: period.clone(),
        trial,
    };
    let sent = send(tx, compose, questions, &people, &occasion, &key, now).await?;
    match sent {
        Some(id) => Ok(id),
        None => {
            let before = store::surveys::list(tx, Some(engagement_id))
                .await?
                .into_iter()
                .find(|s| s.kind == "feedback" && s.period == period);
            let label = period_label(&period, Locale::En);
            Err(MailError::Store(StoreError::Conflict(match before {
                Some(s) => format!(
                    "the survey of {label} went out already (survey {}, sent {}): one survey \
                     per period; the next follows the cadence",
                    s.id,
                    s.sent_at
                        .with_timezone(&engagement.client_timezone.0)
                        .date_naive()
                ),
                None => format!("the survey of {label} is queued already"),
            })))
        }
    }
}

/// The questions a survey asked, as stored with it.
pub fn stored_questions(survey: &Survey) -> Result<Vec<Question>, StoreError> {
    serde_json::from_str(&survey.questions)
        .map_err(|e| StoreError::Corrupt(format!("the questions of survey {}: {e}", survey.id)))
}

/// The engagement's questionnaire of `kind` (`feedback`, `checkin`) for `period`, if it went
/// out and is still unanswered: what a reminder is for.
pub async fn unanswered(
    tx: &mut Conn,
    engagement_id: i64,
    kind: &str,
    period: &str,
) -> Result<Option<Survey>, StoreError> {
    let surveys = store::surveys::list(tx, Some(engagement_id)).await?;
    Ok(surveys
        .into_iter()
        .find(|s| s.kind == kind && s.period == period)
        .filter(|s| s.answered_at.is_none()))
}

/// What a feedback survey's mail (or its reminder) says.
fn survey_context(
    compose: &Composer,
    people: &People,
    to: &Recipient,
    questions: &[Question],
    period_label: String,
    trial: bool,
    reminder: bool,
) -> SurveyContext {
    SurveyContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        client_name: people.client.name.clone(),
        assistant_name: people.assistant.name.clone(),
        period_label,
        trial,
        reminder,
        questions: question_views(questions, to.locale),
        example: example(questions, to.locale),
    }
}

/// Queues the one reminder of an unanswered survey, threaded under it.
pub async fn remind(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    period: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let reminder = Reminder {
        kind: "feedback",
        period,
        template: "survey",
        outbox_kind: "survey_reminder",
        key,
    };
    let trial = people.engagement.status == EngagementStatus::Trial;
    let context = |to: &Recipient, questions: &[Question]| {
        let label = period_label(period, to.locale);
        survey_context(compose, people, to, questions, label, trial, true)
    };
    remind_unanswered(
        tx,
        compose,
        people,
        &reminder,
        || people.client_contact(),
        context,
        now,
    )
    .await
}

/// The one reminder of an unanswered survey or check-in: what was asked (`kind` of `period`),
/// the mail's template, its outbox kind and natural key.
pub(crate) struct Reminder<'a> {
    pub kind: &'a str,
    pub period: &'a str,
    pub template: &'a str,
    pub outbox_kind: &'a str,
    pub key: &'a str,
}

/// Queues `reminder` of the engagement's unanswered survey or check-in to the one `to` names,
/// threaded under it, with the context `context` makes of its stored questions; `false` when
/// there is none unanswered.
pub(crate) async fn remind_unanswered<C: Serialize>(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    reminder: &Reminder<'_>,
    to: impl FnOnce() -> Result<Recipient, StoreError>,
    context: impl FnOnce(&Recipient, &[Question]) -> C,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let engagement = people.engagement.id;
    let Some(survey) = unanswered(tx, engagement, reminder.kind, reminder.period).await? else {
        return Ok(false);
    };
    let to = to()?;
    let questions = stored_questions(&survey)?;
    let context = context(&to, &questions);
    let mail = compose
        .mail(&to, reminder.template, &context, AutoSubmitted::Generated)?
        .in_reply_to(&survey.message_id, &[])
        .expecting_reply();
    Ok(outbound::enqueue_about(
        tx,
        reminder.key,
        reminder.outbox_kind,
        Some(engagement),
        Some(survey.id),
        &mail,
        now,
    )
    .await?)
}

/// The two questions of the trial review.
pub fn trial_questions(assistant_name: &str) -> Vec<Question> {
    vec![
        Question::new(
            "continue",
            QuestionKind::YesNo,
            &format!("Soll {assistant_name} nach der Probezeit weiter für Sie arbeiten? (ja/nein)"),
            &format!("Should {assistant_name} go on working for you after the trial? (yes/no)"),
        ),
        Question::new(
            "comments",
            QuestionKind::Text,
            "Möchten Sie uns etwas zur Probezeit sagen?",
            "Anything you would like to tell us about the trial?",
        ),
    ]
}

#[derive(Debug, Serialize)]
struct TrialReviewContext {
    agency: AgencyView,
    recipient_name: String,
    client_name: String,
    assistant_name: String,
    trial_end: String,
    continue_question: String,
    comments_question: String,
}

/// Asks the client whether the collaboration goes on after the trial.
pub async fn send_trial_review(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, MailError> {
    let to = people.client_contact()?;
    let questions = trial_questions(&people.assistant.name);
    let context = TrialReviewContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        client_name: people.client.name.clone(),
        assistant_name: people.assistant.name.clone(),
        trial_end: format_date(people.engagement.trial_end, to.locale),
        continue_question: questions[0].text(to.locale).to_string(),
        comments_question: questions[1].text(to.locale).to_string(),
    };
    let mail = compose
        .mail(&to, "trial_review", &context, AutoSubmitted::Generated)?
        .expecting_reply();
    let asked = Asked {
        kind: "trial_review",
        period: "trial",
        questions: &questions,
    };
    ask(tx, people, &to, &asked, &mail, key, now).await
}

#[derive(Debug, Serialize)]
struct TrialAlertContext {
    agency: AgencyView,
    engagement_id: i64,
    client_name: String,
    client_tag: String,
    assistant_name: String,
    trial_end: String,
    declined: bool,
    comments: String,
}

/// Tells the operator that the client said no (`declined`) or did not answer the review.
pub async fn alert_trial(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    declined: bool,
    comments: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let to = compose.operator();
    let context = TrialAlertContext {
        agency: compose.agency_view(),
        engagement_id: people.engagement.id,
        client_name: people.client.name.clone(),
        client_tag: people.client.tag.clone(),
        assistant_name: people.assistant.name.clone(),
        trial_end: format_date(people.engagement.trial_end, to.locale),
        declined,
        comments: comments.to_string(),
    };
    let mail = compose.mail(&to, "trial_alert", &context, AutoSubmitted::Generated)?;
    Ok(outbound::enqueue(
        tx,
        key,
        "trial_alert",
        Some(people.engagement.id),
        &mail,
        now,
    )
    .await?)
}

/// An answer as people read it.
pub fn value_text(value: &Value, locale: Locale) -> String {
    match (value, locale) {
        (Value::Scale(n), _) => n.to_string(),
        (Value::YesNo(true), Locale::De) => "ja".into(),
        (Value::YesNo(false), Locale::De) => "nein".into(),
        (Value::YesNo(true), Locale::En) => "yes".into(),
        (Value::YesNo(false), Locale::En) => "no".into(),
        (Value::Text(t), _) => t.clone(),
    }
}

pub(crate) fn value_json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A stored answer's JSON read back.
pub fn value_from_json(json: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Number(n)) => Value::Scale(n.as_i64().unwrap_or_default()),
        Ok(serde_json::Value::Bool(b)) => Value::YesNo(b),
        Ok(serde_json::Value::String(s)) => Value::Text(s),
        _ => Value::Text(json.to_string()),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct AnsweredView {
    pub number: usize,
    pub text: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct MissingView {
    pub number: usize,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct InvalidView {
    pub number: usize,
    pub text: String,
    pub given: String,
    pub reason: String,
}

/// What a reply answered, as its thanks mail shows it.
pub(crate) struct Recorded {
    pub answered: Vec<AnsweredView>,
    pub missing: Vec<MissingView>,
    pub invalid: Vec<InvalidView>,
    pub complete: bool,
}

/// Stores the answers a reply gave to `survey` (an answer given again replaces the earlier
/// one) and says, in `locale`, what was answered, what is still missing and what could not
/// be read: the thanks mail's lists. Shared by surveys and check-ins.
pub(crate) async fn record(
    tx: &mut Conn,
    survey: &Survey,
    questions: &[Question],
    parsed: &Parsed,
    locale: Locale,
    inbound_id: i64,
    now: DateTime<Utc>,
) -> Result<Recorded, MailError> {
    for a in &parsed.answers {
        store::surveys::store_answer(
            tx,
            survey.id,
            a.number,
            &a.key,
            &value_json(&a.value),
            inbound_id,
            now,
        )
        .await?;
    }
    let stored = store::surveys::answers(tx, survey.id).await?;
    let text_of = |number: usize| {
        questions
            .get(number.wrapping_sub(1))
            .map(|q| q.text(locale).to_string())
            .unwrap_or_default()
    };
    let answered: Vec<AnsweredView> = parsed
        .answers
        .iter()
        .map(|a| AnsweredView {
            number: a.number,
            text: text_of(a.number),
            value: value_text(&a.value, locale),
        })
        .collect();
    // An answer that could not be used is named once, with why, not as missing too.
    let missing: Vec<MissingView> = questions
        .iter()
        .enumerate()
        .filter(|(_, q)| !stored.iter().any(|s| s.key == q.key))
        .filter(|(i, _)| !parsed.invalid.iter().any(|bad| bad.number == i + 1))
        .map(|(i, q)| MissingView {
            number: i + 1,
            text: q.text(locale).to_string(),
        })
        .collect();
    let invalid: Vec<InvalidView> = parsed
        .invalid
        .iter()
        .map(|i| InvalidView {
            number: i.number,
            text: text_of(i.number),
            given: i.text.clone(),
            reason: match questions.get(i.number.wrapping_sub(1)) {
                Some(q) => invalid_reason(q, locale, &i.reason),
                None => i.reason.clone(),
            },
        })
        .collect();
    Ok(Recorded {
        complete: missing.is_empty() && invalid.is_empty(),
        answered,
        missing,
        invalid,
    })
}

/// Why an answer could not be read, in the reader's language.
fn invalid_reason(question: &Question, locale: Locale, parser_reason: &str) -> String {
    match (question.kind, locale) {
        (QuestionKind::Scale, Locale::De) => format!(
            "bitte eine ganze Zahl von {} bis {}",
            question.min, question.max
        ),
        (QuestionKind::Scale, Locale::En) => format!(
            "please give a whole number from {} to {}",
            question.min, question.max
        ),
        (QuestionKind::YesNo, Locale::De) => "bitte mit ja oder nein antworten".into(),
        (QuestionKind::YesNo, Locale::En) => "please answer yes or no".into(),
        (QuestionKind::Text, _) => parser_reason.to_string(),
    }
}

#[derive(Debug, Serialize)]
struct ThanksContext {
    agency: AgencyView,
    recipient_name: String,
    assistant_name: String,
    period_label: String,
    answered: Vec<AnsweredView>,
    missing: Vec<MissingView>,
    invalid: Vec<InvalidView>,
    complete: bool,
}

#[derive(Debug, Serialize)]
struct LowView {
    number: usize,
    text: String,
    value: String,
    /// The top of a scale; `None` for a "no" to a question that alerts on it.
    max: Option<i64>,
}

#[derive(Debug, Serialize)]
struct ScoreAlertContext {
    agency: AgencyView,
    engagement_id: i64,
    client_name: String,
    client_tag: String,
    assistant_name: String,
    contact_name: String,
    contact_email: String,
    survey_id: i64,
    period_label: String,
    threshold: i64,
    low: Vec<LowView>,
    answers: Vec<AnsweredView>,
}

/// Stores the answers of a survey reply, thanks the client (naming what is missing) and, for a
/// scale answer at or under the threshold or a "no" to a question with `alert_on_no`, alerts
/// the operator at once.
/// `threshold` is `[surveys] alert_threshold`.
pub async fn store_answers(
    tx: &mut Conn,
    compose: &Composer,
    threshold: i64,
    survey: &Survey,
    parsed: &Parsed,
    received: Received<'_>,
) -> Result<(), MailError> {
    let Received {
        id: inbound_id,
        incoming,
        now,
    } = received;
    let people = People::load(tx, survey.engagement_id).await?;
    let questions = stored_questions(survey)?;
    let to = people.client_contact()?.answering(incoming);
    let recorded = record(tx, survey, &questions, parsed, to.locale, inbound_id, now).await?;
    let context = ThanksContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        assistant_name: people.assistant.name.clone(),
        period_label: survey_label(survey, to.locale),
        complete: recorded.complete,
        answered: recorded.answered,
        missing: recorded.missing,
        invalid: recorded.invalid,
    };
    let mail = compose.answer(&to, "survey_thanks", &context, incoming)?;
    // A thanks that names what is missing asks for it: a reply to it answers the survey.
    let mail = match context.complete {
        true => mail,
        false => mail.expecting_reply(),
    };
    outbound::enqueue_about(
        tx,
        &format!("survey_thanks:{inbound_id}"),
        "survey_thanks",
        Some(survey.engagement_id),
        Some(survey.id),
        &mail,
        now,
    )
    .await?;

    let alerting = |value: &Value, q: &Question| match value {
        Value::Scale(n) => *n <= threshold,
        Value::YesNo(yes) => !yes && q.alert_on_no,
        Value::Text(_) => false,
    };
    let locale = compose.agency().default_locale;
    let low: Vec<LowView> = parsed
        .answers
        .iter()
        .filter_map(|a| {
            let q = questions.get(a.number.wrapping_sub(1))?;
            alerting(&a.value, q).then(|| LowView {
                number: a.number,
                text: q.text(locale).to_string(),
                value: value_text(&a.value, locale),
                max: matches!(a.value, Value::Scale(_)).then_some(q.max),
            })
        })
        .collect();
    if !low.is_empty() {
        let op = compose.operator();
        let contact = people.client_contact()?;
        let context = ScoreAlertContext {
            agency: compose.agency_view(),
            engagement_id: survey.engagement_id,
            client_name: people.client.name.clone(),
            client_tag: people.client.tag.clone(),
            assistant_name: people.assistant.name.clone(),
            contact_name: contact.name,
            contact_email: incoming
                .from
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| survey.recipient.clone()),
            survey_id: survey.id,
            period_label: survey_label(survey, op.locale),
            threshold,
            low,
            // All the survey's answers so far, this reply's and the ones before it.
            answers: store::surveys::answers(tx, survey.id)
                .await?
                .into_iter()
                .map(|a| {
                    let number = usize::try_from(a.number).unwrap_or_default();
                    AnsweredView {
                        number,
                        text: questions
                            .get(number.wrapping_sub(1))
                            .map(|q| q.text(op.locale).to_string())
                            .unwrap_or_default(),
                        value: value_text(&value_from_json(&a.value), op.locale),
                    }
                })
                .collect(),
        };
        let mail = compose.mail(&op, "score_alert", &context, AutoSubmitted::Generated)?;
        outbound::enqueue(
            tx,
            &format!("score_alert:{inbound_id}"),
            "score_alert",
            Some(survey.engagement_id),
            &mail,
            now,
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct TrialThanksContext {
    agency: AgencyView,
    recipient_name: String,
    assistant_name: String,
    #[serde(rename = "continue")]
    go_on: bool,
}

/// The client's answer to the trial review: `yes` makes the engagement active, `no` alerts the
/// operator; both are stored and thanked for.
pub async fn decide_trial(
    tx: &mut Conn,
    compose: &Composer,
    survey: &Survey,
    go_on: bool,
    comments: &str,
    received: Received<'_>,
) -> Result<(), MailError> {
    let Received {
        id: inbound_id,
        incoming,
        now,
    } = received;
    let people = People::load(tx, survey.engagement_id).await?;
    store::surveys::store_answer(
        tx,
        survey.id,
        1,
        "continue",
        &value_json(&Value::YesNo(go_on)),
        inbound_id,
        now,
    )
    .await?;
    if !comments.is_empty() {
        store::surveys::store_answer(
            tx,
            survey.id,
            2,
            "comments",
            &value_json(&Value::Text(comments.to_string())),
            inbound_id,
            now,
        )
        .await?;
    }
    if go_on {
        let moved = store::engagements::transition(
            tx,
            survey.engagement_id,
            EngagementStatus::Trial,
            EngagementStatus::Active,
        )
        .await?;
        tracing::info!(
            engagement = survey.engagement_id,
            moved,
            "the client goes on after the trial"
        );
    } else {
        alert_trial(
            tx,
            compose,
            &people,
            true,
            comments,
            &format!("trial_declined:{}", survey.engagement_id),
            now,
        )
        .await?;
    }
    let to = people.client_contact()?.answering(incoming);
    let context = TrialThanksContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        assistant_name: people.assistant.name.clone(),
        go_on,
    };
    let mail = compose.answer(&to, "trial_review_thanks", &context, incoming)?;
    outbound::enqueue(
        tx,
        &format!("trial_review_thanks:{inbound_id}"),
        "trial_review_thanks",
        Some(survey.engagement_id),
        &mail,
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_labels() {
        assert_eq!(period_label("2026-W49", Locale::De), "KW 49");
        assert_eq!(period_label("2026-W05", Locale::En), "week 5");
        assert_eq!(period_label("2027-01", Locale::De), "Januar 2027");
        assert_eq!(period_label("trial", Locale::En), "trial");
        assert_eq!(period_label("2026-12-03", Locale::En), "3 December 2026");
    }

    #[test]
    fn answers_round_trip_through_json() {
        for v in [
            Value::Scale(4),
            Value::YesNo(false),
            Value::Text("gut".into()),
        ] {
            assert_eq!(value_from_json(&value_json(&v)), v);
        }
    }
}
