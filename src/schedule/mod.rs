//! The schedule, pure: [`cadence`] (when a series of mail is due, the send window, local times
//! across DST), [`plan`] (every send of an engagement with its natural key and due time, from
//! the facts the scheduler reads) and the settings of `[schedule]`. Nothing here does I/O; the
//! scheduler task (`tasks::scheduler`) reads the facts, asks the plan and queues what is due.

pub mod cadence;
pub mod holidays;
pub mod plan;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use serde::Deserialize;

use crate::domain::TimeZone;
use cadence::{Cadence, SendWindow};

/// The rhythm of an engagement. Every time is the recipient's local time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// When scheduled mail may go out (`mon-fri 08:00-18:00`); a send due outside it waits for
    /// the next opening. Answers to replies and alerts go at once.
    #[serde(default = "default_send_window")]
    pub send_window: SendWindow,
    /// Whose public holidays the send window skips (`DE`, `DE-BY`, `AT`, `CH`, ...); none
    /// when absent.
    #[serde(default)]
    pub holidays: Option<holidays::Region>,
    /// Feedback surveys while the trial runs.
    #[serde(default = "default_survey_trial")]
    pub survey_trial: Cadence,
    /// Feedback surveys after the trial.
    #[serde(default = "default_survey_after_trial")]
    pub survey_after_trial: Cadence,
    /// Days after a survey when its one reminder goes, if it is unanswered (0: none).
    #[serde(default = "default_survey_reminder_days")]
    pub survey_reminder_days: u32,
    /// Reminders of unsigned agreements, counted from when the engagement was added.
    #[serde(default = "default_agreement_reminders")]
    pub agreement_reminders: Cadence,
    /// After this many reminders the operator is told instead, and the reminders stop.
    #[serde(default = "default_escalate_after")]
    pub agreement_escalate_after: u32,
    /// Days before the trial's last day when the client is asked whether to go on.
    #[serde(default = "default_review_days")]
    pub trial_review_days_before: u32,
    /// The local time of day the trial review goes out (`10:00`).
    #[serde(default = "default_review_at")]
    pub trial_review_at: String,
    /// When an assistant who has logged nothing this week for an engagement is reminded.
    #[serde(default = "default_hours_nudge")]
    pub hours_nudge: Cadence,
    /// `[timesheet]`, copied here when the config is read, so the plan sees it.
    #[serde(skip)]
    pub timesheet: crate::timesheet::TimesheetConfig,
}

impl ScheduleConfig {
    /// `trial_review_at` as a time of day (validated at load).
    pub fn trial_review_time(&self) -> chrono::NaiveTime {
        chrono::NaiveTime::parse_from_str(&self.trial_review_at, "%H:%M").unwrap_or_default()
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            send_window: default_send_window(),
            holidays: None,
            survey_trial: default_survey_trial(),
            survey_after_trial: default_survey_after_trial(),
            survey_reminder_days: default_survey_reminder_days(),
            agreement_reminders: default_agreement_reminders(),
            agreement_escalate_after: default_escalate_after(),
            trial_review_days_before: default_review_days(),
            trial_review_at: default_review_at(),
            hours_nudge: default_hours_nudge(),
            timesheet: Default::default(),
        }
    }
}

fn default_send_window() -> SendWindow {
    "mon-fri 08:00-18:00"
        .parse()
        .expect("the default window parses")
}
fn default_survey_trial() -> Cadence {
    "weekly:fri 10:00"
        .parse()
        .expect("the default cadence parses")
}
fn default_survey_after_trial() -> Cadence {
    "monthly:first mon 10:00"
        .parse()
        .expect("the default cadence parses")
}
fn default_survey_reminder_days() -> u32 {
    3
}
fn default_agreement_reminders() -> Cadence {
    "every 7d".parse().expect("the default cadence parses")
}
fn default_escalate_after() -> u32 {
    3
}
fn default_review_days() -> u32 {
    5
}
fn default_review_at() -> String {
    "10:00".into()
}
fn default_hours_nudge() -> Cadence {
    "weekly:fri 15:00"
        .parse()
        .expect("the default cadence parses")
}

/// The first instant of `date` in `zone` (midnight, or the first valid time after a DST gap).
pub fn start_of_day(date: NaiveDate, zone: TimeZone) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..4)
        .find_map(|h| {
            zone.0
                .from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_begin_at_local_midnight() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(
            start_of_day(d, berlin).to_rfc3339(),
            "2026-11-30T23:00:00+00:00"
        );
        // Santiago skips midnight when summer time begins.
        let santiago = TimeZone::parse("America/Santiago").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            start_of_day(d, santiago).to_rfc3339(),
            "2026-09-06T04:00:00+00:00"
        );
    }
}
