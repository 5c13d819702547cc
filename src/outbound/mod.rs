//! Mail out: building messages, queueing them in the outbox, and the transports that deliver them.
//!
//! Nothing is sent directly: a flow renders its mail with [`message::build`] and writes it to
//! the outbox in its own transaction ([`enqueue`]), or queues it as a draft rendered and built
//! when it is sent ([`enqueue_draft`], the reader's receipts); the outbox worker
//! (`tasks::outbox`) writes drafts out ([`draft::write_out`]) and delivers rows through a
//! [`Transport`]. This module and `inbound/` are the only ones that touch the
//! outside.

pub mod draft;
pub mod file;
pub mod message;
pub mod smtp;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::store::{self, Conn, StoreError};

pub use message::{Attachment, AutoSubmitted, Inline, Outgoing, tokens_in};

/// What went wrong delivering one message, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A 4xx answer, a lost connection, a full disk: retried with backoff.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// A 5xx answer, an address the server refuses: marked failed, shown to the operator.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// One message as the outbox holds it.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The outbox row, which names the delivery (a file transport writes one file per row).
    pub outbox_id: i64,
    pub message_id: &'a str,
    pub recipient: &'a str,
    pub raw: &'a [u8],
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// A way of delivering mail. Sending the same envelope twice must be harmless where the
/// transport can make it so (the file transport overwrites; SMTP cannot, see the outbox worker).
pub trait Transport: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, envelope: &'a Envelope<'a>) -> SendFuture<'a>;

    /// A human description for `tandem check` and logs (`file: var/mail/outbox`).
    fn describe(&self) -> String;

    /// How many sends may be in flight at once (SMTP: its pool of connections).
    fn parallel(&self) -> usize {
        1
    }

    /// Checks that the transport can deliver now, without sending anything.
    fn check<'a>(&'a self) -> SendFuture<'a>;
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("could not build the message: {0}")]
    Build(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Builds `mail` and writes it to the outbox under `natural_key`, in the caller's transaction.
/// Returns `false` when that key was queued before (nothing is written then).
pub async fn enqueue(
    conn: &mut Conn,
    natural_key: &str,
    kind: &str,
    engagement_id: Option<i64>,
    mail: &Outgoing,
    now: DateTime<Utc>,
) -> Result<bool, OutboundError> {
    enqueue_about(conn, natural_key, kind, engagement_id, None, mail, now).await
}

/// [`enqueue`] for a mail that asks survey `survey_id`, so that its answer finds the survey.
pub async fn enqueue_about(
    conn: &mut Conn,
    natural_key: &str,
    kind: &str,
    engagement_id: Option<i64>,
    survey_id: Option<i64>,
    mail: &Outgoing,
    now: DateTime<Utc>,
) -> Result<bool, OutboundError> {
    let raw = message::build(mail, now)?;
    let recipients = recipients(mail);
    let row = store::outbox::NewOutbound {
        engagement_id,
        survey_id,
        ..row_of(natural_key, kind, mail, &recipients, &raw)
    };
    Ok(store::outbox::enqueue(conn, &row, now).await?)
}

/// [`enqueue`] for a draft ([`draft::Draft`]: rendered and built when it is sent) whose natural
/// key no row can have yet, as it names a row this transaction wrote (a receipt, by the message
/// it answers): in a transaction that keeps its rows to write them together, kept with them.
pub async fn enqueue_draft(
    conn: &mut Conn,
    natural_key: &str,
    kind: &str,
    mail: &Outgoing,
    draft: &draft::Draft,
) -> Result<(), OutboundError> {
    let raw = draft.to_bytes();
    let recipients = recipients(mail);
    let row = row_of(natural_key, kind, mail, &recipients, &raw);
    Ok(store::outbox::enqueue_new(conn, &row, draft.queued_at()).await?)
}

/// The addresses `mail` goes to, as its row lists them.
fn recipients(mail: &Outgoing) -> String {
    let to: Vec<&str> = mail.to.iter().map(|m| m.email.as_str()).collect();
    to.join(", ")
}

/// The row of `mail`, about no engagement or survey, with its stored message `raw`.
fn row_of<'a>(
    natural_key: &'a str,
    kind: &'a str,
    mail: &'a Outgoing,
    recipients: &'a str,
    raw: &'a [u8],
) -> store::outbox::NewOutbound<'a> {
    store::outbox::NewOutbound {
        natural_key,
        message_id: &mail.message_id,
        kind,
        engagement_id: None,
        recipient: recipients,
        subject: &mail.subject,
        token: mail.token.as_deref(),
        survey_id: None,
        raw,
        follows: &mail.references,
    }
}
