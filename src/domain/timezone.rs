//! An IANA time zone (`Europe/Berlin`). All local times tandem shows or schedules are in one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        input
            .trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| {
                ParseError::new(format!(
                    "unknown time zone '{input}': use an IANA name such as 'Europe/Berlin' or 'America/New_York'"
                ))
            })
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl FromStr for TimeZone {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TimeZone {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TimeZone> for String {
    fn from(t: TimeZone) -> Self {
        t.0.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        let err = TimeZone::parse("Europe/Berln").unwrap_err();
        assert!(err.0.contains("unknown time zone 'Europe/Berln'"), "{err}");
    }
}
