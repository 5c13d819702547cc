//! Mail in: the mailbox transports ([`maildir`], [`imap`]) behind the [`Mailbox`] trait,
//! reading one message ([`message`], pure) and deciding what kind of mail it is ([`classify`],
//! pure). The reader task that records each message exactly once before moving it on the
//! server is `tasks::reader`.

pub mod auth;
pub mod classify;
pub mod html;
pub mod imap;
pub mod maildir;
pub mod message;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use crate::domain::Disposition;

/// A message fetched from the mailbox, not yet settled.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The transport's handle for it (a Maildir path, an IMAP UID).
    pub id: String,
    /// The message; only its header when it is over the size limit; nothing when it could not
    /// be read (`unread` says why).
    pub raw: Vec<u8>,
    /// Its size in the mailbox, in bytes.
    pub size: u64,
    /// Why the message was not read whole: over the size limit, or unreadable. The reader
    /// records it from what there is and quarantines it.
    pub unread: Option<String>,
    /// Where an IMAP message stands (UIDVALIDITY and UID), for the stored watermark.
    pub position: Option<Position>,
}

/// An IMAP message's place: its UID, valid while the folder's UIDVALIDITY stays the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub uidvalidity: u32,
    pub uid: u32,
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
    #[error("could not connect to the mail server {server}")]
    Connect {
        server: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the mail server {server} refused {what}: {answer}")]
    Refused {
        server: String,
        what: String,
        answer: String,
    },
    #[error("the mail server {server} did not answer {what} within {seconds} s")]
    Timeout {
        server: String,
        what: String,
        seconds: u64,
    },
    #[error("the connection to the mail server {server} failed during {what}")]
    Io {
        server: String,
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Settings that cannot be used as they are (an unreadable `ca_file`, a missing password).
    #[error("the mailbox settings cannot be used: {0}")]
    Setup(String),
    /// What this mailbox cannot do (yet), said to the operator.
    #[error("{0}")]
    Unsupported(String),
    /// The mailbox changed under tandem in a way that makes a handle void (IMAP: a new
    /// UIDVALIDITY between fetching a message and moving it). The message is read again.
    #[error("the mailbox on {server} changed: {detail}")]
    Changed { server: String, detail: String },
}

/// A message as its row recorded it, to find it again in a folder: the `source` it was read
/// from (`maildir: ROOT: new/NAME`; an IMAP UID, which changes when it moves) and its
/// Message-ID (how IMAP finds it; a message without one cannot be found there).
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    pub source: &'a str,
    pub message_id: Option<&'a str>,
}

/// How much one fetch may take: anyone can write to the inbox, so a batch is bounded in count
/// and bytes, and no message over `message_bytes` is read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// At most this many messages.
    pub count: usize,
    /// At most this many message bytes in all (but always one message, if there is one).
    pub bytes: u64,
    /// A larger message is read only as far as its header.
    pub message_bytes: u64,
    /// Where the mailbox counts the messages left (an IMAP server's EXISTS), at most half of
    /// them (rounded up), but not fewer than this; 0: no such bound. Nothing overlaps the
    /// move of a drain's last batch, so its batches grow smaller toward its end.
    pub tail: usize,
}

impl Batch {
    /// `count` messages and no byte limits (for tools and tests; the reader passes
    /// `[limits]`).
    pub fn of(count: usize) -> Self {
        Self {
            count,
            bytes: u64::MAX,
            message_bytes: u64::MAX,
            tail: 0,
        }
    }

    /// How many messages to take when `left` are there (`tail`).
    pub fn count_of(&self, left: usize) -> usize {
        match self.tail {
            0 => self.count,
            tail => self.count.min(left.div_ceil(2).max(tail)),
        }
    }
}

/// The most of a message's header read when the message is over the size limit.
pub const HEADER_BYTES: usize = 64 * 1024;

/// The header of a message: the bytes up to and including the first empty line, at most
/// [`HEADER_BYTES`].
pub fn header_of(raw: &[u8]) -> &[u8] {
    let raw = &raw[..raw.len().min(HEADER_BYTES)];
    let end = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 2)
        .into_iter()
        .chain(raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4))
        .min();
    &raw[..end.unwrap_or(raw.len())]
}

/// Why a message over the size limit was read only as far as its header.
pub fn too_large(size: u64, limit: u64) -> String {
    format!("too large: {size} bytes, over the limit of {limit}")
}

pub type InboundFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, InboundError>> + Send + 'a>>;

/// A mailbox tandem reads. Messages stay in it until [`Mailbox::settle`] moves them, which the
/// reader calls only after the message's row has committed; a message fetched twice is
/// recognised by its row and merely settled again.
pub trait Mailbox: Send + Sync + std::fmt::Debug {
    /// Creates the mailbox and its folders where missing.
    fn prepare(&self) -> InboundFuture<'_, ()>;

    /// Unsettled messages, oldest first, within `batch`, leaving out those whose id is in
    /// `skip` (fetched before and not settled yet: the reader fetches its next batch while it
    /// records the one before).
    fn fetch_batch<'a>(
        &'a self,
        batch: Batch,
        skip: &'a BTreeSet<String>,
    ) -> InboundFuture<'a, Vec<Fetched>>;

    /// Up to `max` unsettled messages, oldest first (the shipped byte limits).
    fn fetch(&self, max: usize) -> InboundFuture<'_, Vec<Fetched>> {
        static NONE: BTreeSet<String> = BTreeSet::new();
        self.fetch_batch(Batch::of(max), &NONE)
    }

    /// Moves a message out of the inbox into the folder for `disposition`. Settling a message
    /// that is no longer there (another reader moved it) is not an error.
    fn settle<'a>(&'a self, id: &'a str, disposition: Disposition) -> InboundFuture<'a, ()>;

    /// Settles several messages at once (an IMAP server moves a set in one command). The
    /// default settles them one by one.
    fn settle_many<'a>(&'a self, items: &'a [(String, Disposition)]) -> InboundFuture<'a, ()> {
        Box::pin(async move {
            for (id, disposition) in items {
                self.settle(id, *disposition).await?;
            }
            Ok(())
        })
    }

    /// A human description for `tandem check` and logs; with the transport's handle it
    /// makes the `source` a message is recorded under (`maildir: ROOT: new/NAME`).
    fn describe(&self) -> String;

    /// The bytes of a settled message in the folder for `disposition`, found by what it was
    /// recorded as (the `source` it was read from, its Message-ID); `None` when it is not
    /// there (a person moved or deleted it).
    fn filed<'a>(
        &'a self,
        disposition: Disposition,
        recorded: Recorded<'a>,
    ) -> InboundFuture<'a, Option<Vec<u8>>> {
        let _ = (disposition, recorded);
        Box::pin(async move { Err(self.unsupported()) })
    }

    /// Moves a settled message out of the folder for `from`: into the folder for `to`, or,
    /// with `None`, back into the inbox for the reader to read again. Returns whether it was
    /// there.
    fn refile<'a>(
        &'a self,
        from: Disposition,
        recorded: Recorded<'a>,
        to: Option<Disposition>,
    ) -> InboundFuture<'a, bool> {
        let _ = (from, recorded, to);
        Box::pin(async move { Err(self.unsupported()) })
    }

    /// Why [`Mailbox::filed`] and [`Mailbox::refile`] cannot be used on this mailbox.
    fn unsupported(&self) -> InboundError {
        InboundError::Unsupported(format!(
            "reading and moving filed mail is not supported on {} yet: open the folder in a \
             mail program",
            self.describe()
        ))
    }

    /// Returns when new mail may have arrived (IMAP IDLE), or after `max` at the latest.
    fn wait(&self, max: std::time::Duration) -> InboundFuture<'_, ()> {
        Box::pin(async move {
            tokio::time::sleep(max).await;
            Ok(())
        })
    }

    /// Connects (where there is something to connect to) and says what it found, for
    /// `tandem check`; changes nothing.
    fn check(&self) -> InboundFuture<'_, String>;

    /// The messages filed in the Processed, Attention and Quarantine folders that name any of
    /// `needles` (an address or a name, ignoring case), whole: for a person's export and
    /// erase. The inbox itself is left to the reader.
    fn filed_mentioning<'a>(&'a self, needles: &'a [String]) -> InboundFuture<'a, Vec<Filed>>;

    /// The messages filed in the folder for `disposition` before `before` (their arrival:
    /// the file's time in a Maildir, the internal date on IMAP, by the day), without their
    /// bytes: for retention.
    fn filed_before(
        &self,
        disposition: Disposition,
        before: chrono::DateTime<chrono::Utc>,
    ) -> InboundFuture<'_, Vec<Filed>>;

    /// Deletes filed messages for good (on IMAP: flagged deleted and expunged); returns how
    /// many went.
    fn delete_filed<'a>(&'a self, filed: &'a [Filed]) -> InboundFuture<'a, usize>;
}

/// A message in one of the folders mail is filed in.
#[derive(Debug, Clone)]
pub struct Filed {
    pub disposition: Disposition,
    /// Where it is: the file's path (Maildir), or the folder and UID (`Processed/42`, IMAP).
    pub id: String,
    pub raw: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_with_a_tail_takes_half_of_what_is_left_but_not_fewer_than_the_tail() {
        let batch = Batch {
            tail: 32,
            ..Batch::of(500)
        };
        let taken: Vec<usize> = [2000, 1020, 520, 260, 130, 65, 40, 32, 10]
            .into_iter()
            .map(|left| batch.count_of(left))
            .collect();
        assert_eq!(taken, [500, 500, 260, 130, 65, 33, 32, 32, 32]);
        // Without one, the count alone.
        assert_eq!(Batch::of(500).count_of(10), 500);
        assert_eq!(Batch::of(500).count_of(2000), 500);
    }
}
