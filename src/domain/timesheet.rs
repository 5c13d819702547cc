//! The monthly timesheet as values: what the schedule knows of one that went out, and one line of
//! it. The flow and the CSV are in `timesheet/`.

use chrono::{DateTime, NaiveDate, Utc};

/// What the schedule knows of a timesheet that went out (or was approved by the operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimesheetFact {
    /// `YYYY-MM`.
    pub month: String,
    /// `sent`, `approved` or `disputed`.
    pub status: String,
    pub sent_at: DateTime<Utc>,
}

/// One line of a timesheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimesheetLine {
    pub date: NaiveDate,
    pub minutes: i64,
    pub description: String,
}
