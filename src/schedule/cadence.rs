//! STUB (replaced by the real module): the date arithmetic of the scheduler.
#![allow(dead_code, unused_variables)]
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cadence {
    Stub(String),
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CadenceError(pub String);
impl std::str::FromStr for Cadence {
    type Err = CadenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Cadence::Stub(s.into()))
    }
}
impl<'de> serde::Deserialize<'de> for Cadence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
impl std::fmt::Display for Cadence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl Cadence {
    pub fn next_after(&self, anchor: NaiveDateTime, after: NaiveDateTime) -> NaiveDateTime {
        todo!()
    }
    pub fn between(
        &self,
        anchor: NaiveDateTime,
        after: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Vec<NaiveDateTime> {
        todo!()
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendWindow(String);
impl std::str::FromStr for SendWindow {
    type Err = CadenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SendWindow(s.into()))
    }
}
impl<'de> serde::Deserialize<'de> for SendWindow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
impl std::fmt::Display for SendWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl SendWindow {
    pub fn contains(&self, local: NaiveDateTime) -> bool {
        todo!()
    }
    pub fn next_open(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        todo!()
    }
}
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    todo!()
}
pub fn to_local(at: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    todo!()
}
pub fn iso_week(date: NaiveDate) -> String {
    todo!()
}
pub fn month(date: NaiveDate) -> String {
    todo!()
}
