//! Domain values. Each is a newtype built only by parsing, so an invalid address, tag, locale or
//! time zone cannot travel past the edge of the program (the CLI, the config, an incoming mail).

mod amount;
mod email;
mod engagement;
mod locale;
mod message;
mod question;
mod tag;
mod timesheet;
mod timezone;

pub use amount::{Currency, parse_hundredths};
pub use email::{Contact, EmailAddress, Mailbox, Person};
pub use engagement::{
    Agreement, AgreementStatus, Engagement, EngagementStatus, Party, Signer, SurveyFact,
};
pub use locale::Locale;
pub use message::{Classification, Disposition};
pub use question::{Question, QuestionKind, default_questions};
pub use tag::ClientTag;
pub use timesheet::{TimesheetFact, TimesheetLine};
pub use timezone::TimeZone;

/// Why a value given by a person could not be accepted. The message names the value and says
/// what a valid one looks like, because it is shown to the operator as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
