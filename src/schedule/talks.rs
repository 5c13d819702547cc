//! When feedback talks are proposed: `[schedule] feedback_talks`, a review call at the end of
//! the trial and then on a cadence counted from it (`trial-end, then every 13w 10:00`). Pure:
//! parsing config text (never panicking) and listing the occurrences between two local times.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Deserializer};

use super::cadence::{Cadence, CadenceError};

/// The forms `feedback_talks` takes, for error messages.
const FORMS: &str = "'trial-end', 'trial-end 10:00', 'trial-end, then every 13w 10:00', \
    'every 13w 10:00', 'monthly:first tue 10:00', 'off'";

/// The time of day of the talk at the trial's end when none is given.
const DEFAULT_AT: NaiveTime = match NaiveTime::from_hms_opt(10, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// When review calls are proposed, in the recipients' local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalkCadence {
    /// On the trial's last day at this time; `None`: not then.
    pub trial_end: Option<NaiveTime>,
    /// After the trial, counted from its last day (`every 13w` falls 13 weeks after it).
    pub then: Option<Cadence>,
}

/// One proposed talk: at the trial's end or on the cadence, and its local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Talk {
    pub trial_end: bool,
    pub at: NaiveDateTime,
}

impl TalkCadence {
    /// No talks at all.
    pub const OFF: TalkCadence = TalkCadence {
        trial_end: None,
        then: None,
    };

    /// Every talk of an engagement whose trial ends on `trial_end`, up to `until` (local).
    pub fn talks(&self, trial_end: NaiveDate, until: NaiveDateTime) -> Vec<Talk> {
        let mut out = Vec::new();
        let at = self.trial_end.unwrap_or(DEFAULT_AT);
        let anchor = trial_end.and_time(at);
        if self.trial_end.is_some() && anchor <= until {
            out.push(Talk {
                trial_end: true,
                at: anchor,
            });
        }
        if let Some(cadence) = &self.then {
            // The cadence's first occurrence after the trial's last day.
            let after = trial_end.and_time(NaiveTime::MIN) + chrono::Duration::days(1)
                - chrono::Duration::seconds(1);
            for local in cadence.between(anchor, after, until) {
                out.push(Talk {
                    trial_end: false,
                    at: local,
                });
            }
        }
        out
    }
}

impl Default for TalkCadence {
    /// The shipped `trial-end, then every 13w 10:00`.
    fn default() -> Self {
        "trial-end, then every 13w 10:00"
            .parse()
            .expect("the default talk cadence parses")
    }
}

impl FromStr for TalkCadence {
    type Err = CadenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().to_ascii_lowercase();
        if text == "off" || text == "none" {
            return Ok(Self::OFF);
        }
        let (first, rest) = match text.split_once(',') {
            Some((first, rest)) => {
                let rest = rest.trim();
                let rest = rest.strip_prefix("then").ok_or_else(|| {
                    CadenceError(format!(
                        "'{text}': after the comma comes 'then' and a cadence; use one of {FORMS}"
                    ))
                })?;
                (first.trim(), Some(rest.trim()))
            }
            None => (text.as_str(), None),
        };
        let mut out = Self::OFF;
        match first.strip_prefix("trial-end") {
            Some(time) => {
                let time = time.trim();
                out.trial_end = Some(match time.is_empty() {
                    true => DEFAULT_AT,
                    false => NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| {
                        CadenceError(format!(
                            "'{time}' is not a time of day such as 10:00; use one of {FORMS}"
                        ))
                    })?,
                });
                if let Some(rest) = rest {
                    out.then = Some(rest.parse()?);
                }
            }
            None if rest.is_none() => out.then = Some(first.parse()?),
            None => {
                return Err(CadenceError(format!(
                    "'{text}': only 'trial-end' may come before ', then'; use one of {FORMS}"
                )));
            }
        }
        Ok(out)
    }
}

impl fmt::Display for TalkCadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.trial_end, &self.then) {
            (None, None) => write!(f, "off"),
            (Some(at), None) => write!(f, "trial-end {}", at.format("%H:%M")),
            (None, Some(c)) => write!(f, "{c}"),
            (Some(at), Some(c)) => write!(f, "trial-end {}, then {c}", at.format("%H:%M")),
        }
    }
}

impl<'de> Deserialize<'de> for TalkCadence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn forms_parse_and_print_back() {
        for (text, shown) in [
            ("off", "off"),
            ("trial-end", "trial-end 10:00"),
            ("Trial-End 09:30", "trial-end 09:30"),
            (
                "trial-end, then every 13w 10:00",
                "trial-end 10:00, then every 13w 10:00",
            ),
            ("monthly:first tue 10:00", "monthly:first tue 10:00"),
        ] {
            let parsed: TalkCadence = text.parse().unwrap();
            assert_eq!(parsed.to_string(), shown, "{text}");
            assert_eq!(shown.parse::<TalkCadence>().unwrap(), parsed, "{shown}");
        }
    }

    #[test]
    fn bad_forms_say_what_is_wrong() {
        for bad in [
            "",
            "trial-end 25:00",
            "trial-end, every 13w",
            "every 13w, then every 2w",
            "quarterly",
            "trial-end, then",
        ] {
            let e = bad.parse::<TalkCadence>().unwrap_err();
            assert!(!e.0.is_empty(), "{bad}");
        }
    }

    #[test]
    fn talks_come_at_the_trial_end_then_on_the_cadence() {
        let c: TalkCadence = "trial-end, then every 13w 10:00".parse().unwrap();
        let until = day(2027, 12, 31).and_hms_opt(23, 0, 0).unwrap();
        let talks = c.talks(day(2026, 12, 28), until);
        let got: Vec<(bool, String)> = talks
            .iter()
            .map(|t| (t.trial_end, t.at.format("%Y-%m-%d %H:%M").to_string()))
            .collect();
        assert_eq!(
            got[..3],
            [
                (true, "2026-12-28 10:00".to_string()),
                (false, "2027-03-29 10:00".to_string()),
                (false, "2027-06-28 10:00".to_string()),
            ]
        );
        assert_eq!(got.len(), 5);
        assert!(TalkCadence::OFF.talks(day(2026, 12, 28), until).is_empty());
    }
}
