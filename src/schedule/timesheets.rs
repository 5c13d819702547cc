//! `[timesheet]`: whether and when the monthly timesheet goes out (the plan reads it) and what
//! a client's approval does. The timesheet itself is `timesheet/`.

use chrono::NaiveTime;
use serde::Deserialize;

/// `[timesheet]`: whether and when timesheets go out, and what an approval does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimesheetConfig {
    /// Whether the monthly timesheet is sent at all.
    pub enabled: bool,
    /// Which working day of the month it goes out on (1: the first; weekends, the send
    /// window's closed days and the holidays of `[schedule] holidays` do not count).
    pub working_day: u32,
    /// The client's local time of day it goes out (`10:00`); moved into the send window.
    pub at: String,
    /// Days after it went out when its one reminder goes, if unanswered (0: none).
    pub reminder_days: u32,
    /// Whether an approval also locks the month for the engagement, as `hours lock` does for
    /// every engagement (no voids or restores). New hours for an approved month are refused
    /// either way.
    pub lock_on_approval: bool,
}

impl Default for TimesheetConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            working_day: 1,
            at: "10:00".into(),
            reminder_days: 5,
            lock_on_approval: false,
        }
    }
}

impl TimesheetConfig {
    /// `at` as a time of day (validated at load).
    pub fn time(&self) -> NaiveTime {
        NaiveTime::parse_from_str(&self.at, "%H:%M").unwrap_or_default()
    }

    /// What is wrong with the settings, as (key, reason).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if NaiveTime::parse_from_str(&self.at, "%H:%M").is_err() {
            return Some((
                "timesheet.at",
                format!("'{}' is not a time of day such as 10:00", self.at),
            ));
        }
        if !(1..=MAX_WORKING_DAY).contains(&self.working_day) {
            return Some((
                "timesheet.working_day",
                format!(
                    "{} is not a working day of a month: give 1 (the first) to {MAX_WORKING_DAY}",
                    self.working_day
                ),
            ));
        }
        if self.reminder_days > MAX_REMINDER_DAYS {
            return Some((
                "timesheet.reminder_days",
                format!(
                    "{} days is more than a month: give 0 (no reminder) to {MAX_REMINDER_DAYS}",
                    self.reminder_days
                ),
            ));
        }
        None
    }
}

/// The latest working day a timesheet may go out on: every month has at least this many.
pub const MAX_WORKING_DAY: u32 = 15;

/// The longest wait for a reminder, in days.
pub const MAX_REMINDER_DAYS: u32 = 28;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_and_a_late_working_day_is_named() {
        let default = TimesheetConfig::default();
        assert_eq!(default.problem(), None);
        let late = TimesheetConfig {
            working_day: 16,
            ..default
        };
        assert_eq!(late.problem().unwrap().0, "timesheet.working_day");
    }
}
