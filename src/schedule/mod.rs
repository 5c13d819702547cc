//! The schedule, pure: [`cadence`] (when a series of mail is due, the send window, local times
//! across DST), [`plan`] (every send of an engagement with its natural key and due time, from
//! the facts the scheduler reads) and the settings of `[schedule]`. Nothing here does I/O; the
//! scheduler task (`tasks::scheduler`) reads the facts, asks the plan and queues what is due.

pub mod cadence;
pub mod holidays;
pub mod plan;
pub mod talks;
pub mod timesheets;

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
    /// Check-ins to the assistant while the trial runs; `None` ("off"): none.
    #[serde(default = "default_checkin_trial", deserialize_with = "cadence_or_off")]
    pub checkin_trial: Option<Cadence>,
    /// Check-ins to the assistant after the trial; `None` ("off"): none.
    #[serde(
        default = "default_checkin_after_trial",
        deserialize_with = "cadence_or_off"
    )]
    pub checkin_after_trial: Option<Cadence>,
    /// Days after a check-in when its one reminder goes, if it is unanswered (0: none).
    #[serde(default = "default_survey_reminder_days")]
    pub checkin_reminder_days: u32,
    /// When a review call is proposed to the client's contacts and the assistant: at the
    /// trial's end, then on a cadence counted from it (`trial-end, then every 13w 10:00`).
    #[serde(default)]
    pub feedback_talks: talks::TalkCadence,
    /// `[timesheet]`, copied here when the config is read, so the plan sees it.
    #[serde(skip)]
    pub timesheet: timesheets::TimesheetConfig,
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
            checkin_trial: default_checkin_trial(),
            checkin_after_trial: default_checkin_after_trial(),
            checkin_reminder_days: default_survey_reminder_days(),
            feedback_talks: talks::TalkCadence::default(),
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
fn default_checkin_trial() -> Option<Cadence> {
    Some(
        "weekly:thu 10:00"
            .parse()
            .expect("the default cadence parses"),
    )
}
fn default_checkin_after_trial() -> Option<Cadence> {
    Some(
        "monthly:first thu 10:00"
            .parse()
            .expect("the default cadence parses"),
    )
}

/// A cadence, or "off" for none.
fn cadence_or_off<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cadence>, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.trim() {
        "off" | "none" => Ok(None),
        other => other.parse().map(Some).map_err(serde::de::Error::custom),
    }
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
    fn checkins_and_talks_are_shipped_on_and_can_be_turned_off() {
        let shipped = include_str!("../../config/tandem.toml");
        let c = crate::config::Config::from_toml(shipped).unwrap().schedule;
        assert_eq!(
            c.checkin_trial.map(|c| c.to_string()).as_deref(),
            Some("weekly:thu 10:00")
        );
        assert_eq!(
            c.checkin_after_trial.map(|c| c.to_string()).as_deref(),
            Some("monthly:first thu 10:00")
        );
        assert_eq!(c.checkin_reminder_days, 3);
        assert_eq!(
            c.feedback_talks.to_string(),
            "trial-end 10:00, then every 13w 10:00"
        );
        let off = shipped
            .replace(
                "checkin_trial = \"weekly:thu 10:00\"",
                "checkin_trial = \"off\"",
            )
            .replace(
                "feedback_talks = \"trial-end 10:00, then every 13w 10:00\"",
                "feedback_talks = \"off\"",
            );
        let c = crate::config::Config::from_toml(&off).unwrap().schedule;
        assert!(c.checkin_trial.is_none());
        assert_eq!(c.feedback_talks, talks::TalkCadence::OFF);
        for (from, to, key) in [
            (
                "checkin_after_trial = \"monthly:first thu 10:00\"",
                "checkin_after_trial = \"monthly:fifth thu 10:00\"",
                "schedule.checkin_after_trial",
            ),
            (
                "feedback_talks = \"trial-end 10:00, then every 13w 10:00\"",
                "feedback_talks = \"quarterly\"",
                "schedule.feedback_talks",
            ),
        ] {
            let text = shipped.replace(from, to);
            assert_ne!(text, shipped);
            let err = crate::config::Config::from_toml(&text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "'{err}' should name {key}");
        }
    }

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
