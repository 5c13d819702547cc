//! Mail out: building messages, queueing them in the outbox, and the transports that deliver them.
//!
//! Nothing is sent directly: a flow renders its mail with [`message::build`] and writes it to
//! the outbox in its own transaction ([`enqueue`]); the outbox worker (`tasks::outbox`) delivers
//! rows through a [`Transport`]. This module and `inbound/` are the only ones that touch the
//! outside.

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
    let about = About {
        natural_key,
        kind,
        engagement_id,
        survey_id,
    };
    write(conn, &about, mail, now, false).await
}

/// [`enqueue`] for a mail whose natural key no row can have yet, as it names a row this
/// transaction wrote (a receipt, by the message it answers): in a transaction that keeps its
/// rows to write them together, kept with them.
pub async fn enqueue_new(
    conn: &mut Conn,
    natural_key: &str,
    kind: &str,
    engagement_id: Option<i64>,
    mail: &Outgoing,
    now: DateTime<Utc>,
) -> Result<(), OutboundError> {
    let about = About {
        natural_key,
        kind,
        engagement_id,
        survey_id: None,
    };
    write(conn, &about, mail, now, true).await.map(drop)
}

/// What a queued mail is about: its row's keys.
struct About<'a> {
    natural_key: &'a str,
    kind: &'a str,
    engagement_id: Option<i64>,
    survey_id: Option<i64>,
}

/// Builds `mail` and writes its row ([`store::outbox::enqueue_new`] when its key is `new`). A
/// new row in a transaction that writes later has its message built on another CPU
/// ([`crate::runtime::for_cpu_work`]) while the transaction goes on.
async fn write(
    conn: &mut Conn,
    about: &About<'_>,
    mail: &Outgoing,
    now: DateTime<Utc>,
    new: bool,
) -> Result<bool, OutboundError> {
    let building = (new && conn.writes_later()).then(|| {
        let mail = mail.clone();
        crate::runtime::for_cpu_work()
            .spawn(async move { message::build(&mail, now).map_err(|e| e.to_string()) })
    });
    let raw = match building {
        Some(_) => Vec::new(),
        None => message::build(mail, now)?,
    };
    let recipients = mail
        .to
        .iter()
        .map(|m| m.email.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let row = store::outbox::NewOutbound {
        natural_key: about.natural_key,
        message_id: &mail.message_id,
        kind: about.kind,
        engagement_id: about.engagement_id,
        recipient: &recipients,
        subject: &mail.subject,
        token: mail.token.as_deref(),
        survey_id: about.survey_id,
        raw: &raw,
        follows: &mail.references,
    };
    if let Some(building) = building {
        store::outbox::enqueue_new_building(conn, &row, building, now).await?;
        return Ok(true);
    }
    if new {
        store::outbox::enqueue_new(conn, &row, now).await?;
        return Ok(true);
    }
    Ok(store::outbox::enqueue(conn, &row, now).await?)
}
