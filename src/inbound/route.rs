//! Routing: after [`classify`] has set aside machine mail and strangers, find the flow a message
//! from a known person belongs to: a reply to something tandem sent (by Message-ID or token), or
//! an assistant's time log. Routing only reads; the reader applies the route in the
//! transaction that records the message, and `tandem parse` prints it.

use sqlx::SqliteConnection;

use super::classify::{Decision, classify};
use super::message::Incoming;
use crate::config::Config;
use crate::domain::{Classification, Disposition};
use crate::store::people::{Assistant, Person};
use crate::store::{self, StoreError};
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
        corrections: Option<Box<Plan>>,
    },
}

impl Route {
    pub fn decision(&self) -> &Decision {
        match self {
            Route::File(d) | Route::Hours(d, _) | Route::Cancel { decision: d, .. } => d,
        }
    }
}

fn decision(classification: Classification, disposition: Disposition, reason: String) -> Decision {
    Decision {
        classification,
        disposition,
        reason,
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

/// Decides what to do with `incoming`, reading the database through `conn`.
pub async fn route(
    conn: &mut SqliteConnection,
    config: &Config,
    incoming: &Incoming,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Route, StoreError> {
    let sender = match &incoming.from {
        Some(from) => store::people::find_person(conn, from).await?,
        None => None,
    };
    let first = classify(incoming, &config.agency.from.email, sender.as_ref());
    let Some(person) = sender.filter(|_| first.disposition == Disposition::Attention) else {
        return Ok(Route::File(first));
    };

    // A reply: In-Reply-To first, then References from the newest, then tokens.
    let mut ids = incoming.in_reply_to.clone();
    ids.extend(incoming.references.iter().rev().cloned());
    let mut tokens = crate::outbound::tokens_in(incoming.subject.as_deref().unwrap_or_default());
    for address in &incoming.recipients {
        tokens.extend(crate::outbound::tokens_in(address));
    }
    let replied_to = store::outbox::find_sent(conn, &ids, &tokens).await?;

    let Person::Assistant {
        id: assistant_id, ..
    } = person
    else {
        // Client contacts' replies (surveys, agreements) are understood by later flows.
        return Ok(for_a_person(first, replied_to.as_ref()));
    };
    let assistant = store::people::assistant(conn, assistant_id).await?;

    if let Some(sent) = replied_to.as_ref().filter(|s| s.kind == "receipt")
        && flow::is_cancel(&incoming.new_text)
    {
        let submission = store::timelog::submission_by_receipt(conn, &sent.message_id).await?;
        return Ok(match submission {
            Some(s) if s.assistant_id == assistant.id => {
                let plan = flow::plan(
                    conn,
                    assistant.clone(),
                    &incoming.new_text,
                    incoming.subject.as_deref(),
                    incoming.date,
                    now,
                )
                .await?;
                let mut reason = format!("cancel reply to the receipt of submission {}", s.id);
                if plan.is_time_log() {
                    reason.push_str(&format!(
                        "; with corrections: {} accepted, {} rejected",
                        plan.accepted.len(),
                        plan.rejected.len()
                    ));
                }
                Route::Cancel {
                    decision: decision(Classification::Reply, Disposition::Processed, reason),
                    assistant: Box::new(assistant),
                    submission_id: s.id,
                    corrections: plan.is_time_log().then(|| Box::new(plan)),
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

    let plan = flow::plan(
        conn,
        assistant,
        &incoming.new_text,
        incoming.subject.as_deref(),
        incoming.date,
        now,
    )
    .await?;
    if plan.is_time_log() {
        // A reply to tandem's mail is a reply first (PRODUCT.md's order), handled here by the
        // time-log flow.
        let (classification, replying) = match &replied_to {
            Some(sent) => (
                Classification::Reply,
                format!("a reply to tandem's {} mail; ", sent.kind),
            ),
            None => (Classification::Hours, String::new()),
        };
        let reason = format!(
            "{replying}time log: {} entr{} accepted, {} line{} rejected",
            plan.accepted.len(),
            if plan.accepted.len() == 1 { "y" } else { "ies" },
            plan.rejected.len(),
            if plan.rejected.len() == 1 { "" } else { "s" },
        );
        return Ok(Route::Hours(
            decision(classification, Disposition::Processed, reason),
            Box::new(plan),
        ));
    }
    Ok(for_a_person(first, replied_to.as_ref()))
}
