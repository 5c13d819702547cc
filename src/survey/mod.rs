//! Feedback surveys: the questionnaire (its questions are domain values, configured in
//! `[surveys]`), reading answers out of replies ([`answers`], pure), and the flow that sends
//! surveys and stores what comes back ([`flow`]).

pub mod answers;
pub mod flow;

pub use crate::domain::{Question, QuestionKind, default_questions};
