//! What the daemon decided about a message it read.

use serde::Serialize;

/// The four classes of PRODUCT.md's "Mail in", in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    /// Auto-generated mail and the daemon's own: recorded, never answered.
    Ignored,
    /// An answer to a mail the daemon sent.
    Reply,
    /// A time log from a known assistant.
    Hours,
    /// Everything else: for a person (known sender) or quarantined (unknown sender).
    Unrecognised,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Ignored => "ignored",
            Classification::Reply => "reply",
            Classification::Hours => "hours",
            Classification::Unrecognised => "unrecognised",
        }
    }
}

/// Where a read message goes on the mail server once its row has committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Handled: moved to the processed folder.
    Processed,
    /// From a known person but not understood: moved to the attention folder for a person.
    Attention,
    /// From an unknown sender, or unreadable: moved to quarantine.
    Quarantine,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Processed => "processed",
            Disposition::Attention => "attention",
            Disposition::Quarantine => "quarantine",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "processed" => Some(Disposition::Processed),
            "attention" => Some(Disposition::Attention),
            "quarantine" => Some(Disposition::Quarantine),
            _ => None,
        }
    }
}
