//! Mail in: the mailbox transports, reading one message ([`message`]), deciding what it is
//! ([`classify`]) and the reader loop ([`reader`]) that records each message exactly once
//! before moving it on the server.

pub mod classify;
pub mod html;
pub mod maildir;
pub mod message;
pub mod reader;
pub mod route;

use std::future::Future;
use std::pin::Pin;

use crate::domain::Disposition;

/// A message fetched from the mailbox, not yet settled.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The transport's handle for it (a Maildir path, later an IMAP UID).
    pub id: String,
    pub raw: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("could not read the mailbox '{path}'")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not move message '{id}' to {target}")]
    Move {
        id: String,
        target: String,
        #[source]
        source: std::io::Error,
    },
}

pub type InboundFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, InboundError>> + Send + 'a>>;

/// A mailbox tandem reads. Messages stay in it until [`Mailbox::settle`] moves them, which the
/// reader calls only after the message's row has committed; a message fetched twice is
/// recognised by its row and merely settled again.
pub trait Mailbox: Send + Sync + std::fmt::Debug {
    /// Creates the mailbox and its folders where missing.
    fn prepare(&self) -> InboundFuture<'_, ()>;

    /// Up to `max` unsettled messages, oldest first.
    fn fetch(&self, max: usize) -> InboundFuture<'_, Vec<Fetched>>;

    /// Moves a message out of the inbox into the folder for `disposition`. Settling a message
    /// that is no longer there (another reader moved it) is not an error.
    fn settle<'a>(&'a self, id: &'a str, disposition: Disposition) -> InboundFuture<'a, ()>;

    /// A human description for `tandem check` and logs.
    fn describe(&self) -> String;
}
