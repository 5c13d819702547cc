//! An engagement, its agreements and its surveys as the rest of tandem sees them, the states
//! they move through, and the parties mail goes to. The store reads these; the schedule's plan
//! and the flows decide on them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ParseError, TimeZone};

/// One assistant working for one client.

#[derive(Debug, Clone, Serialize)]
pub struct Engagement {
    pub id: i64,
    pub assistant_id: i64,
    pub assistant_name: String,
    pub client_id: i64,
    pub client_tag: String,
    pub client_name: String,
    /// The client's zone: the engagement's dates are days there.
    pub client_timezone: TimeZone,
    pub start_date: NaiveDate,
    pub trial_end: NaiveDate,
    pub status: EngagementStatus,
    pub hourly_rate_cents: Option<i64>,
    pub budget_minutes: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// One required document of an engagement.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub id: i64,
    pub engagement_id: i64,
    pub kind: String,
    pub signers: Signer,
    pub status: AgreementStatus,
    pub status_changed_at: DateTime<Utc>,
    /// Who sent a `received` agreement back (`client`, `assistant` or `both`).
    pub received_from: Option<String>,
}

impl Agreement {
    /// Whether `party` still has to sign this agreement: it is theirs to sign and pending, or
    /// it came back from the other side only, of an agreement both sign.
    pub fn awaits(&self, party: Party) -> bool {
        let theirs = match party {
            Party::Client => self.signers.includes_client(),
            Party::Assistant => self.signers.includes_assistant(),
            Party::Operator => false,
        };
        theirs
            && match self.status {
                AgreementStatus::Pending => true,
                AgreementStatus::Received => {
                    self.signers == Signer::Both
                        && !matches!(self.received_from.as_deref(),
                            Some(from) if from == party.as_str() || from == "both")
                }
                AgreementStatus::Signed | AgreementStatus::Waived => false,
            }
    }
}

/// What the schedule needs to know of one sent survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyFact {
    pub id: i64,
    pub kind: String,
    pub period: String,
    pub sent_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// Who a mail about an engagement goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The client's first contact person.
    Client,
    Assistant,
    Operator,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Client => "client",
            Party::Assistant => "assistant",
            Party::Operator => "operator",
        }
    }
}

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

    #[test]
    fn an_agreement_both_sign_awaits_the_side_that_has_not() {
        let mut a = Agreement {
            id: 1,
            engagement_id: 1,
            kind: "contract".into(),
            signers: Signer::Both,
            status: AgreementStatus::Pending,
            status_changed_at: chrono::Utc::now(),
            received_from: None,
        };
        assert!(a.awaits(Party::Client) && a.awaits(Party::Assistant));
        a.status = AgreementStatus::Received;
        a.received_from = Some("assistant".into());
        assert!(a.awaits(Party::Client) && !a.awaits(Party::Assistant));
        a.received_from = Some("both".into());
        assert!(!a.awaits(Party::Client) && !a.awaits(Party::Assistant));
        a.signers = Signer::Client;
        a.received_from = Some("client".into());
        assert!(!a.awaits(Party::Client));
        a.status = AgreementStatus::Signed;
        assert!(!a.awaits(Party::Client) && !a.awaits(Party::Operator));
    }
}
