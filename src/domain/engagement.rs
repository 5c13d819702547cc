//! The states an engagement and its agreements move through.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// `onboarding` -> `trial` -> `active` -> `ended`, or `paused` in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngagementStatus {
    Onboarding,
    Trial,
    Active,
    Paused,
    Ended,
}

/// Who must sign an agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signer {
    Client,
    Assistant,
    Both,
}

/// `pending` until it comes back, `received` when a reply carried it (for the operator to
/// confirm), `signed` or `waived` by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgreementStatus {
    Pending,
    Received,
    Signed,
    Waived,
}

macro_rules! text_enum {
    ($ty:ident, $what:literal, $($variant:ident => $text:literal),+) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($ty::$variant),)+
                    _ => Err(ParseError::new(format!(
                        concat!("unknown ", $what, " '{}': one of {}"),
                        s,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

text_enum!(EngagementStatus, "engagement status",
    Onboarding => "onboarding", Trial => "trial", Active => "active", Paused => "paused", Ended => "ended");
text_enum!(Signer, "signer", Client => "client", Assistant => "assistant", Both => "both");
text_enum!(AgreementStatus, "agreement status",
    Pending => "pending", Received => "received", Signed => "signed", Waived => "waived");

impl Signer {
    pub fn includes_client(self) -> bool {
        matches!(self, Signer::Client | Signer::Both)
    }
    pub fn includes_assistant(self) -> bool {
        matches!(self, Signer::Assistant | Signer::Both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in ["onboarding", "trial", "active", "paused", "ended"] {
            assert_eq!(s.parse::<EngagementStatus>().unwrap().as_str(), s);
        }
        assert!(
            "gone"
                .parse::<EngagementStatus>()
                .unwrap_err()
                .0
                .contains("one of onboarding")
        );
        assert_eq!("Both".parse::<Signer>().unwrap(), Signer::Both);
    }
}
