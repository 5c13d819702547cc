//! Routing: after [`classify`] has set aside machine mail and strangers, find the flow a message
//! from a known person belongs to: a reply to something tandem sent (by Message-ID or token), or
//! an assistant's time log. Routing only reads; the reader applies the route in the
//! transaction that records the message, and `tandem parse` prints it.

use std::collections::HashMap;

use crate::config::{AuthPolicy, Config};
use crate::domain::{Classification, Disposition, Party};
use crate::inbound::classify::{Decision, classify};
use crate::inbound::message::Incoming;
use crate::store::people::{Assistant, Person};
use crate::store::surveys::Survey;
use crate::store::{self, Conn, StoreError};
use crate::survey::answers::{self, Parsed};
use crate::timelog::flow::{self, Plan};

/// What the daemon will do with a message.
#[derive(Debug, Clone)]
pub enum Route {
    /// Nothing but recording and filing it.
    File(Decision),
    /// An assistant's time log: store the plan, send the receipt.
    Hours(Decision, Box<Plan>),
    /// A `cancel` reply to a receipt: void that submission, confirm; and log the corrected
    /// lines the reply may carry.
    Cancel {
        decision: Decision,
        assistant: Box<Assistant>,
        submission_id: i64,
        /// The reply carried corrected hours.
        corrected: bool,
        /// Those corrected hours, to be logged: none where the cancel is refused.
        corrections: Option<Box<Plan>>,
    },
    /// Answers to a survey: store them, thank the client, alert the operator on a low score.
    Survey {
        decision: Decision,
        survey: Box<Survey>,
        parsed: Parsed,
    },
    /// Answers to a check-in: store them, thank the assistant, alert the operator on a
    /// blocker or a low score.
    Checkin {
        decision: Decision,
        survey: Box<Survey>,
        parsed: Parsed,
    },
    /// The client's answer to the trial review.
    TrialReview {
        decision: Decision,
        survey: Box<Survey>,
        parsed: Parsed,
        go_on: bool,
        comments: String,
    },
    /// A reply to an agreement reminder that says signed or carries the document.
    Agreements {
        decision: Decision,
        engagement_id: i64,
        party: Party,
        kinds: Vec<String>,
    },
    /// An answer to a kickoff call's invitation: recorded; a decline alerts the operator.
    Kickoff {
        decision: Decision,
        answer: crate::calls::kickoff::Answer,
    },
    /// The client's answer to a monthly timesheet: an approval, or anything else (disputed,
    /// the operator is told).
    Timesheet {
        decision: Decision,
        engagement_id: i64,
        month: String,
        approves: bool,
    },
}

impl Route {
    pub fn decision(&self) -> &Decision {
        match self {
            Route::File(d)
            | Route::Hours(d, _)
            | Route::Cancel { decision: d, .. }
            | Route::Survey { decision: d, .. }
            | Route::Checkin { decision: d, .. }
            | Route::TrialReview { decision: d, .. }
            | Route::Agreements { decision: d, .. }
            | Route::Kickoff { decision: d, .. } => d,
            Route::Timesheet { decision: d, .. } => d,
        }
    }

    fn decision_mut(&mut self) -> &mut Decision {
        match self {
            Route::File(d)
            | Route::Hours(d, _)
            | Route::Cancel { decision: d, .. }
            | Route::Survey { decision: d, .. }
            | Route::Checkin { decision: d, .. }
            | Route::TrialReview { decision: d, .. }
            | Route::Agreements { decision: d, .. }
            | Route::Kickoff { decision: d, .. } => d,
            Route::Timesheet { decision: d, .. } => d,
        }
    }

    /// The survey answers the route stores, if any.
    pub fn answers(&self) -> Option<&Parsed> {
        match self {
            Route::Survey { parsed, .. }
            | Route::Checkin { parsed, .. }
            | Route::TrialReview { parsed, .. } => Some(parsed),
            _ => None,
        }
    }
}

/// Whether the reply comes from someone the mail was sent to: one of its addresses, or
/// another address of the same assistant.
async fn trusted(
    conn: &mut Conn,
    people: &mut People,
    sent: &store::outbox::Sent,
    from: &crate::domain::EmailAddress,
    person: Option<&Person>,
) -> Result<bool, StoreError> {
    if sent.was_sent_to(from.as_str()) {
        return Ok(true);
    }
    if let Some(Person::Assistant { id, .. }) = person {
        let assistant = people.assistant(conn, *id).await?;
        return Ok(assistant.emails.iter().any(|e| sent.was_sent_to(e)));
    }
    Ok(false)
}

/// "Hi,", "Hallo Herr Roth,", "Dear Sam," "Guten Tag,": a salutation, not an answer.
fn is_greeting(line: &str) -> bool {
    let lower = line.to_lowercase();
    let words = lower.split_whitespace().count();
    const OPENERS: &[&str] = &[
        "hi", "hello", "hallo", "dear", "liebe", "lieber", "guten", "sehr", "hey", "moin", "servus",
    ];
    let first = lower
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default();
    answers::yes_no(line).is_none()
        && words <= 4
        && (lower.ends_with(',') || OPENERS.contains(&first))
}

fn reply(reason: String) -> Decision {
    decision(Classification::Reply, Disposition::Processed, reason)
}

/// A reply to a survey, a trial review or an agreement reminder, from its recipient; `None`
/// when the reply says nothing tandem can act on (then it goes to a person).
async fn answer(
    conn: &mut Conn,
    config: &Config,
    incoming: &Incoming,
    sent: &store::outbox::Sent,
    person: &Person,
) -> Result<Option<Route>, StoreError> {
    match (sent.kind.as_str(), sent.survey_id) {
        (
            "survey" | "survey_reminder" | "survey_thanks" | "checkin" | "checkin_reminder"
            | "checkin_thanks",
            Some(survey_id),
        ) => {
            let survey = store::surveys::get(conn, survey_id).await?;
            let questions = crate::survey::flow::stored_questions(&survey)?;
            let mut parsed = answers::parse(&incoming.text, &questions);
            if survey.kind == "checkin" {
                // "2: ja, mir fehlt ...": the yes and its text on one line.
                parsed = crate::checkin::with_text_after_yes(parsed, &incoming.new_text);
            }
            if parsed.answers.is_empty() && parsed.invalid.is_empty() {
                return Ok(None);
            }
            let reason = format!(
                "survey {} answered: {} of {} question{}{}",
                survey.id,
                parsed.answers.len(),
                questions.len(),
                if questions.len() == 1 { "" } else { "s" },
                if parsed.missing.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", missing {}",
                        parsed
                            .missing
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
            if survey.kind == "checkin" {
                return Ok(Some(Route::Checkin {
                    decision: reply(reason.replacen("survey", "check-in", 1)),
                    survey: Box::new(survey),
                    parsed,
                }));
            }
            Ok(Some(Route::Survey {
                decision: reply(reason),
                survey: Box::new(survey),
                parsed,
            }))
        }
        ("trial_review", Some(survey_id)) => {
            let survey = store::surveys::get(conn, survey_id).await?;
            let questions = crate::survey::flow::stored_questions(&survey)?;
            let parsed = answers::parse(&incoming.text, &questions);
            let numbered = parsed.answers.iter().find_map(|a| match a.value {
                answers::Value::YesNo(b) if a.key == "continue" => Some(b),
                _ => None,
            });
            let comment = parsed.answers.iter().find_map(|a| match &a.value {
                answers::Value::Text(t) if a.key == "comments" => Some(t.clone()),
                _ => None,
            });
            // "Ja, gerne!" on the first line after the greeting, maybe with a comment below.
            let mut lines = incoming
                .new_text
                .lines()
                .map(str::trim)
                .skip_while(|l| l.is_empty() || is_greeting(l));
            let first = lines.next().unwrap_or_default();
            let (go_on, comments) = match (numbered, answers::yes_no(first)) {
                (Some(b), _) => (b, comment.unwrap_or_default()),
                (None, Some(b)) => {
                    let rest: Vec<&str> = lines.collect();
                    (
                        b,
                        comment.unwrap_or_else(|| answers::without_sign_off(&rest.join("\n"))),
                    )
                }
                (None, None) => return Ok(None),
            };
            let reason = format!(
                "trial review answered: {}",
                if go_on {
                    "go on (the engagement becomes active)"
                } else {
                    "do not go on (the operator is told)"
                }
            );
            // What is stored: the decision, and the comment when there is one.
            let mut decided = vec![answers::Answer {
                number: 1,
                key: "continue".into(),
                value: answers::Value::YesNo(go_on),
            }];
            if !comments.is_empty() {
                decided.push(answers::Answer {
                    number: 2,
                    key: "comments".into(),
                    value: answers::Value::Text(comments.clone()),
                });
            }
            let parsed = Parsed {
                answers: decided,
                ..parsed
            };
            Ok(Some(Route::TrialReview {
                decision: reply(reason),
                survey: Box::new(survey),
                parsed,
                go_on,
                comments,
            }))
        }
        ("agreement_reminder", _) => {
            let Some(engagement_id) = sent.engagement_id else {
                return Ok(None);
            };
            let has_pdf = incoming.attachments.iter().any(|a| a.is_pdf());
            if !has_pdf && !crate::agreements::says_signed(&incoming.new_text) {
                return Ok(None);
            }
            let party = match person {
                Person::Assistant { .. } => Party::Assistant,
                Person::Contact { .. } => Party::Client,
            };
            let all = store::engagements::agreements(conn, engagement_id).await?;
            let pending: Vec<(String, String, String)> =
                crate::agreements::pending_for(&all, party)
                    .into_iter()
                    .map(|a| {
                        let (de, en) = config
                            .agreement(&a.kind)
                            .map(|k| (k.de.clone(), k.en.clone()))
                            .unwrap_or_default();
                        (a.kind.clone(), de, en)
                    })
                    .collect();
            if pending.is_empty() {
                return Ok(None);
            }
            let mut kinds =
                crate::agreements::mentioned(&incoming.new_text, &incoming.attachments, &pending);
            if kinds.is_empty() {
                kinds = pending.into_iter().map(|(kind, ..)| kind).collect();
            }
            let reason = format!(
                "agreement{} received for the operator to confirm: {}{}",
                if kinds.len() == 1 { "" } else { "s" },
                kinds.join(", "),
                if has_pdf {
                    " (with the signed document)"
                } else {
                    ""
                }
            );
            Ok(Some(Route::Agreements {
                decision: reply(reason),
                engagement_id,
                party,
                kinds,
            }))
        }
        (crate::calls::kickoff::KIND, _) => {
            let Some(engagement_id) = sent.engagement_id else {
                return Ok(None);
            };
            // `kickoff:ENGAGEMENT:SEQUENCE:ADDRESS`: the invitation answered.
            let answered = sent
                .natural_key
                .split(':')
                .nth(2)
                .and_then(|n| n.parse().ok());
            kickoff_answer(conn, incoming, engagement_id, None, answered, person).await
        }
        ("timesheet" | "timesheet_reminder", _) => {
            let Some((engagement_id, month)) = crate::timesheet::key_parts(&sent.natural_key)
            else {
                return Ok(None);
            };
            if incoming.new_text.trim().is_empty() {
                return Ok(None);
            }
            let approves = crate::timesheet::reads_as_approval(&incoming.new_text);
            let reason = match approves {
                true => format!("timesheet {month} of engagement {engagement_id} approved"),
                false => format!(
                    "timesheet {month} of engagement {engagement_id} disputed (the operator is told)"
                ),
            };
            Ok(Some(Route::Timesheet {
                decision: reply(reason),
                engagement_id,
                month,
                approves,
            }))
        }
        _ => Ok(None),
    }
}

/// An invitee's answer to the kickoff call of `engagement_id`: the `PARTSTAT` of a calendar
/// program's reply (`calendar`, read already, or read here from the message), else the
/// reply's words; `None` when it says neither (a question: for a person).
async fn kickoff_answer(
    conn: &mut Conn,
    incoming: &Incoming,
    engagement_id: i64,
    calendar: Option<crate::calls::ics::Reply>,
    answered: Option<i64>,
    person: &Person,
) -> Result<Option<Route>, StoreError> {
    use crate::calls::ics::PartStat;
    let Some(call) = store::calls::kickoff(conn, engagement_id).await? else {
        return Ok(None);
    };
    let invitee = match person {
        Person::Assistant { id, .. } => format!("assistant:{id}"),
        Person::Contact { client_id, .. } => {
            let Some(from) = &incoming.from else {
                return Ok(None);
            };
            match store::calls::contact_id(conn, *client_id, from).await? {
                Some(id) => format!("contact:{id}"),
                None => return Ok(None),
            }
        }
    };
    let calendar = calendar.or_else(|| {
        incoming
            .calendar
            .as_deref()
            .and_then(crate::calls::ics::read_reply)
            .filter(|r| r.uid == call.uid)
    });
    let from = incoming
        .from
        .as_ref()
        .map(|f| f.as_str().to_string())
        .unwrap_or_default();
    let (partstat, by_calendar) = match &calendar {
        Some(reply) => {
            // The sender's own line, else the only one (a reply names the one who answers).
            let mine = reply
                .attendees
                .iter()
                .find(|(address, _)| *address == from)
                .or(match reply.attendees.as_slice() {
                    [only] => Some(only),
                    _ => None,
                });
            match mine {
                Some((_, partstat)) => (*partstat, true),
                None => return Ok(None),
            }
        }
        None => match crate::calls::answer_in_words(&incoming.new_text) {
            Some(crate::calls::Said::Declined) => (PartStat::Declined, false),
            Some(crate::calls::Said::Accepted) => (PartStat::Accepted, false),
            None => return Ok(None),
        },
    };
    let sequence = calendar
        .as_ref()
        .and_then(|r| r.sequence)
        .or(answered)
        .unwrap_or(call.sequence);
    // An answer to a time the call has been moved from is recorded, and alerts no one.
    let current = sequence >= call.sequence;
    let reason = format!(
        "kickoff call of engagement {engagement_id} {}{}{}",
        partstat.as_str(),
        if by_calendar {
            " (calendar reply)"
        } else {
            " (in words)"
        },
        match (partstat == PartStat::Declined, current) {
            (true, true) => ": the operator is told",
            (_, false) => ": an answer to an earlier time, recorded only",
            (false, true) => "",
        }
    );
    Ok(Some(Route::Kickoff {
        decision: reply(reason),
        answer: crate::calls::kickoff::Answer {
            engagement_id,
            sequence,
            invitee,
            partstat,
            by_calendar,
            current,
            who: match person {
                Person::Assistant { name, .. } | Person::Contact { name, .. } => {
                    format!("{name} <{from}>")
                }
            },
        },
    }))
}

/// A calendar program's reply that names no mail tandem sent (it goes to the organiser's
/// address, often without In-Reply-To), found by its event's UID; trusted only from an
/// invitee of that engagement.
async fn kickoff_by_uid(
    conn: &mut Conn,
    people: &mut People,
    incoming: &Incoming,
    person: &Person,
) -> Result<Option<Route>, StoreError> {
    let Some(reply) = incoming
        .calendar
        .as_deref()
        .and_then(crate::calls::ics::read_reply)
    else {
        return Ok(None);
    };
    let Some(call) = store::calls::kickoff_by_uid(conn, &reply.uid).await? else {
        return Ok(None);
    };
    let engagement = store::engagements::get(conn, call.engagement_id).await?;
    let invited = match person {
        Person::Assistant { id, .. } => {
            people.assistant(conn, *id).await?.id == engagement.assistant_id
        }
        Person::Contact { client_id, .. } => *client_id == engagement.client_id,
    };
    if !invited {
        return Ok(None);
    }
    kickoff_answer(
        conn,
        incoming,
        call.engagement_id,
        Some(reply),
        None,
        person,
    )
    .await
}

fn decision(classification: Classification, disposition: Disposition, reason: String) -> Decision {
    Decision {
        classification,
        disposition,
        reason,
        authentication: None,
    }
}

/// Mail from a known person that no flow takes: filed for a person as `classify` decided,
/// saying which of tandem's mails it answers, if any.
fn for_a_person(first: Decision, replied_to: Option<&store::outbox::Sent>) -> Route {
    let reason = match replied_to {
        Some(sent) => format!("{}; a reply to tandem's {} mail", first.reason, sent.kind),
        None => first.reason,
    };
    Route::File(decision(first.classification, first.disposition, reason))
}

/// The people looked up while routing, by address, and the assistants by id, kept for one
/// transaction of the reader: mail does not change who is who, and the transaction holds the
/// write lock, so nothing else does meanwhile. A batch's worth at most.
#[derive(Debug, Default)]
pub struct People {
    by_address: HashMap<String, Option<Person>>,
    assistants: HashMap<i64, Assistant>,
    /// What planning time logs read; the reader keeps it true as it applies routes.
    pub hours: flow::Lookups,
    /// The mail the transaction's messages name, read when it began
    /// ([`People::read_named`]); without it, each reply's lookups are statements.
    named: Option<store::outbox::Named>,
}

impl People {
    /// Reads at once the mail that `messages` name (each its [`reply_names`]), for the
    /// transaction `conn` holds the write lock in.
    pub async fn read_named<'a>(
        &mut self,
        conn: &mut Conn,
        messages: impl IntoIterator<Item = &'a (Vec<String>, Vec<String>)>,
    ) -> Result<(), StoreError> {
        let names = messages
            .into_iter()
            .map(|(ids, tokens)| (ids.as_slice(), tokens.as_slice()));
        self.named = Some(store::outbox::Named::read(conn, names).await?);
        Ok(())
    }

    /// The mail `incoming` replies to, if any: [`store::outbox::find_sent`].
    async fn replied_to(
        &self,
        conn: &mut Conn,
        incoming: &Incoming,
    ) -> Result<Option<store::outbox::Sent>, StoreError> {
        let (ids, tokens) = reply_names(incoming);
        match &self.named {
            Some(named) => Ok(named.find(&ids, &tokens)),
            None => store::outbox::find_sent(conn, &ids, &tokens).await,
        }
    }

    /// [`store::people::find_person`], once per address.
    async fn find(
        &mut self,
        conn: &mut Conn,
        email: &crate::domain::EmailAddress,
    ) -> Result<Option<Person>, StoreError> {
        if let Some(found) = self.by_address.get(email.as_str()) {
            return Ok(found.clone());
        }
        let found = store::people::find_person(conn, email).await?;
        self.by_address
            .insert(email.as_str().to_string(), found.clone());
        Ok(found)
    }

    /// [`store::people::assistant`], once per assistant.
    async fn assistant(&mut self, conn: &mut Conn, id: i64) -> Result<Assistant, StoreError> {
        if let Some(assistant) = self.assistants.get(&id) {
            return Ok(assistant.clone());
        }
        let assistant = store::people::assistant(conn, id).await?;
        self.assistants.insert(id, assistant.clone());
        Ok(assistant)
    }
}

/// What a message names that may make it a reply, in the order they are tried: its
/// Message-IDs (In-Reply-To first, then References from the newest), and its tokens (in the
/// subject, then in the addresses it went to).
pub fn reply_names(incoming: &Incoming) -> (Vec<String>, Vec<String>) {
    let mut ids = incoming.in_reply_to.clone();
    ids.extend(incoming.references.iter().rev().cloned());
    let mut tokens = crate::outbound::tokens_in(incoming.subject.as_deref().unwrap_or_default());
    for address in &incoming.recipients {
        tokens.extend(crate::outbound::tokens_in(address));
    }
    (ids, tokens)
}

/// Where a time log or a `cancel` goes that is handled: processed, or, where it also asks
/// something of a person (a question, a note of time off), to a person too (PRODUCT.md: a
/// question is for a person), `reason` quoting the line.
fn for_a_person_too(plan: &Plan, reason: &mut String) -> Disposition {
    let [first, rest @ ..] = plan.for_a_person.as_slice() else {
        return Disposition::Processed;
    };
    reason.push_str(&format!("; also for a person: “{}”", excerpt(first)));
    if !rest.is_empty() {
        reason.push_str(&format!(" and {} more", rest.len()));
    }
    Disposition::Attention
}

/// The most characters of a line a reason quotes.
const EXCERPT: usize = 100;

/// `line` as a reason quotes it: up to [`EXCERPT`] characters (then "…"), and without the
/// `; ` that separates a reason's parts.
fn excerpt(line: &str) -> String {
    let mut quoted: String = line.chars().take(EXCERPT).collect();
    if quoted.len() < line.len() {
        quoted.push('…');
    }
    quoted.replace("; ", ", ")
}

/// Decides what to do with `incoming`, reading the database through `conn`: with
/// `[inbound.authentication]` not "off", judges the sender first (`inbound::auth::verdict`)
/// and stores the verdict in the decision; with "require", mail from a known person whose
/// sender is not authenticated (and who is not marked `unauthenticated_ok`) goes to a person
/// and changes nothing. Machine mail and strangers are filed as `classify` decides either way.
pub async fn route(
    conn: &mut Conn,
    people: &mut People,
    config: &Config,
    incoming: &Incoming,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Route, StoreError> {
    let auth = &config.inbound.authentication;
    if auth.policy == AuthPolicy::Off {
        return decide(conn, people, config, incoming, now).await;
    }
    let verdict = crate::inbound::auth::verdict(
        &incoming.authentication_results,
        incoming.from_count,
        incoming.from.as_ref().map(|f| f.as_str()),
        &auth.authserv_id,
    );
    let mut route = if verdict.passed() {
        decide(conn, people, config, incoming, now).await?
    } else {
        let unauthenticated = format!("sender not authenticated: {}", verdict.reason);
        let exempt = match &incoming.from {
            Some(from) => store::people::unauthenticated_ok(conn, from).await?,
            None => false,
        };
        let mut route = decide(conn, people, config, incoming, now).await?;
        let d = route.decision();
        let by_machine_or_stranger =
            d.classification == Classification::Ignored || d.disposition == Disposition::Quarantine;
        if auth.policy == AuthPolicy::Require && !exempt && !by_machine_or_stranger {
            // Nothing a person is trusted for, and no answer: a forged sender gets no receipt.
            route = Route::File(decision(
                Classification::Unrecognised,
                Disposition::Attention,
                unauthenticated,
            ));
        } else if !by_machine_or_stranger {
            let d = route.decision_mut();
            d.reason.push_str("; ");
            d.reason.push_str(&unauthenticated);
            if exempt {
                d.reason
                    .push_str(" (handled: the sender is marked unauthenticated-ok)");
            }
        }
        route
    };
    route.decision_mut().authentication = Some(verdict);
    Ok(route)
}

/// [`route`] without the sender's verdict.
async fn decide(
    conn: &mut Conn,
    people: &mut People,
    config: &Config,
    incoming: &Incoming,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Route, StoreError> {
    let sender = match &incoming.from {
        Some(from) => people.find(conn, from).await?,
        None => None,
    };
    let first = classify(incoming, &config.agency.from.email, sender.as_ref());
    // Machine mail (`classify` ignores it) and unreadable mail are never replies; everything
    // else may be one.
    let may_reply = incoming.readable && first.classification != Classification::Ignored;
    let Some(from) = incoming.from.as_ref().filter(|_| may_reply) else {
        return Ok(Route::File(first));
    };

    let replied_to = people.replied_to(conn, incoming).await?;
    if let Some(sent) = &replied_to
        && !trusted(conn, people, sent, from, sender.as_ref()).await?
    {
        return Ok(Route::File(decision(
            Classification::Unrecognised,
            Disposition::Attention,
            format!(
                "a reply to tandem's {} mail to {}, but from {from}: not trusted, for a person",
                sent.kind, sent.recipient
            ),
        )));
    }
    let Some(person) = sender.filter(|_| first.disposition == Disposition::Attention) else {
        return Ok(Route::File(first));
    };
    if let Some(sent) = &replied_to
        && let Some(route) = answer(conn, config, incoming, sent, &person).await?
    {
        return Ok(route);
    }
    if replied_to.is_none()
        && let Some(route) = kickoff_by_uid(conn, people, incoming, &person).await?
    {
        return Ok(route);
    }

    let Person::Assistant {
        id: assistant_id, ..
    } = person
    else {
        // Client contacts' replies (surveys, agreements) are understood by later flows.
        return Ok(for_a_person(first, replied_to.as_ref()));
    };
    let assistant = people.assistant(conn, assistant_id).await?;

    if let Some(sent) = replied_to.as_ref().filter(|s| s.kind == "receipt")
        && flow::is_cancel(&incoming.new_text)
    {
        let submission = store::timelog::submission_by_receipt(conn, &sent.message_id).await?;
        return Ok(match submission {
            Some(s) if s.assistant_id == assistant.id => {
                let mut plan = flow::plan(
                    conn,
                    &mut people.hours,
                    assistant.clone(),
                    &incoming.new_text,
                    incoming.subject.as_deref(),
                    incoming.date,
                    now,
                )
                .await?;
                // Corrections cut at the text limit say so in their receipt, as a time log does.
                if plan.is_time_log() && incoming.text_cut {
                    plan.note_text_cut(&incoming.new_text);
                }
                let corrected = plan.is_time_log();
                // Corrections replace what is cancelled: where the cancel is refused (hours in
                // a billed month), they are not logged beside the hours that stay.
                let locked = flow::cancel_refused_by(conn, s.id).await?;
                let refused = !locked.is_empty();
                let mut reason = format!("cancel reply to the receipt of submission {}", s.id);
                if refused {
                    reason.push_str(&format!("; refused, billed: {}", locked.join(", ")));
                    if corrected {
                        reason.push_str("; its corrections not logged");
                    }
                } else if corrected {
                    reason.push_str(&format!(
                        "; with corrections: {} accepted, {} rejected",
                        plan.accepted.len(),
                        plan.rejected.len()
                    ));
                }
                let disposition = for_a_person_too(&plan, &mut reason);
                Route::Cancel {
                    decision: decision(Classification::Reply, disposition, reason),
                    assistant: Box::new(assistant),
                    submission_id: s.id,
                    corrected,
                    corrections: (corrected && !refused).then(|| Box::new(plan)),
                }
            }
            Some(_) => Route::File(decision(
                Classification::Unrecognised,
                Disposition::Attention,
                "a cancel for another assistant's hours: not trusted, for a person".into(),
            )),
            None => Route::File(decision(
                Classification::Unrecognised,
                Disposition::Attention,
                "a cancel for a receipt that logged nothing: for a person".into(),
            )),
        });
    }

    let mut plan = flow::plan(
        conn,
        &mut people.hours,
        assistant,
        &incoming.new_text,
        incoming.subject.as_deref(),
        incoming.date,
        now,
    )
    .await?;
    if plan.is_time_log() {
        if incoming.text_cut {
            plan.note_text_cut(&incoming.new_text);
        }
        // A reply to tandem's mail is a reply first (PRODUCT.md's order), handled here by the
        // time-log flow.
        let (classification, replying) = match &replied_to {
            Some(sent) => (
                Classification::Reply,
                format!("a reply to tandem's {} mail; ", sent.kind),
            ),
            None => (Classification::Hours, String::new()),
        };
        let mut reason = format!(
            "{replying}time log: {} entr{} accepted, {} line{} rejected",
            plan.accepted.len(),
            if plan.accepted.len() == 1 { "y" } else { "ies" },
            plan.rejected.len(),
            if plan.rejected.len() == 1 { "" } else { "s" },
        );
        let disposition = for_a_person_too(&plan, &mut reason);
        return Ok(Route::Hours(
            decision(classification, disposition, reason),
            Box::new(plan),
        ));
    }
    Ok(for_a_person(first, replied_to.as_ref()))
}
