//! The IMAP mailbox. (Being written: the interface is fixed, the bodies are not.)

use super::{Fetched, InboundError, InboundFuture, Mailbox};
use crate::config::Imap;
use crate::domain::Disposition;

/// The folders settled mail is moved into.
#[derive(Debug, Clone)]
pub struct Folders {
    pub processed: String,
    pub attention: String,
    pub quarantine: String,
}

#[derive(Debug)]
pub struct ImapMailbox {
    config: Imap,
    folders: Folders,
}

impl ImapMailbox {
    pub fn new(config: &Imap, folders: Folders) -> Result<Self, InboundError> {
        Ok(Self {
            config: config.clone(),
            folders,
        })
    }
}

impl Mailbox for ImapMailbox {
    fn prepare(&self) -> InboundFuture<'_, ()> {
        todo!("{:?}", self.folders)
    }

    fn fetch(&self, _max: usize) -> InboundFuture<'_, Vec<Fetched>> {
        todo!()
    }

    fn settle<'a>(&'a self, _id: &'a str, _disposition: Disposition) -> InboundFuture<'a, ()> {
        todo!()
    }

    fn describe(&self) -> String {
        format!(
            "imap: {}:{}/{}",
            self.config.host,
            self.config.port(),
            self.config.inbox
        )
    }

    fn check(&self) -> InboundFuture<'_, String> {
        todo!()
    }
}
