//! Cadences and send windows: the date arithmetic of the scheduler.
//!
//! This module owns how often a kind of mail goes out ([`Cadence`]: `weekly:fri 10:00`,
//! `monthly:last fri 10:00`, `every 2w`), when mail may go out at all ([`SendWindow`]:
//! `mon-fri 08:00-18:00`), the one way a local wall time becomes an instant
//! ([`local_to_utc`]: DST gaps move forward, folds take the earlier time) and the labels of the
//! periods natural keys are built from ([`iso_week`], [`month`]).
//!
//! It is pure: no I/O and no clock. "Now" is always a parameter. Cadences count in the
//! recipient's local wall time (`NaiveDateTime`), so 10:00 stays 10:00 across a DST change and
//! "every 3d" means three calendar days, not 72 hours; conversion to UTC happens at the end.
//! Parsing takes untrusted config text and never panics.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike as _, Days, FixedOffset, LocalResult, Months, NaiveDate, NaiveDateTime,
    NaiveTime, Offset as _, TimeDelta, TimeZone as _, Timelike as _, Utc, Weekday, WeekdaySet,
};
use chrono_tz::Tz;

use super::holidays::Region;
use serde::{Deserialize, Deserializer};

/// The forms a cadence can take, for error messages.
const CADENCE_FORMS: &str = "'weekly:fri 10:00', 'weekly:mon,thu 09:30', \
    'monthly:first mon 10:00', 'monthly:last fri 10:00', 'monthly:15 10:00', 'every 3d', \
    'every 2w 10:00'";

/// The forms a send window can take, for error messages.
const WINDOW_FORMS: &str = "'mon-fri 08:00-18:00', 'mon,wed,fri 09:00-17:00', 'daily 08:00-20:00'";

/// The longest interval `every` accepts, in days: a year (52 weeks fit).
pub const MAX_INTERVAL_DAYS: u16 = 366;

/// The most occurrences [`Cadence::between`] returns, so a wide range cannot exhaust memory.
pub const MAX_BETWEEN: usize = 10_000;

/// A cadence or send window that could not be parsed; the message names the bad part and shows
/// the valid forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CadenceError(pub String);

impl CadenceError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// How often a kind of mail goes out, in the recipient's local time. Built by parsing config
/// text (see [`Cadence::from_str`]); [`fmt::Display`] writes the canonical form back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cadence {
    /// On these weekdays at a local time: `weekly:fri 10:00`, `weekly:mon,thu 09:30`.
    Weekly { days: Weekdays, at: NaiveTime },
    /// On the first (second, third, fourth, last) such weekday of each month:
    /// `monthly:first mon 10:00`.
    MonthlyWeekday {
        nth: Nth,
        weekday: Weekday,
        at: NaiveTime,
    },
    /// On a day of each month: `monthly:15 10:00`. Days 29 to 31 mean the month's last day when
    /// it is shorter. Parsing keeps `day` in 1..=31; other values are clamped into it.
    MonthlyDay { day: u8, at: NaiveTime },
    /// Every `days` local calendar days from the anchor (`every 3d`, `every 2w` = 14 days), at
    /// `at` or, without it, at the anchor's local time. Parsing keeps `days` in
    /// 1..=[`MAX_INTERVAL_DAYS`]; 0 is taken as 1.
    Every { days: u16, at: Option<NaiveTime> },
}

/// Which of a month's weekdays a monthly cadence means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nth {
    First,
    Second,
    Third,
    Fourth,
    Last,
}

impl Cadence {
    /// The first occurrence strictly after `after` (local wall time). `anchor` is the local time
    /// the series counts from: `every` occurs at anchor + k * interval for k >= 1; calendar
    /// cadences ignore it. Saturates at `NaiveDateTime::MAX` at the end of chrono's range.
    pub fn next_after(&self, anchor: NaiveDateTime, after: NaiveDateTime) -> NaiveDateTime {
        self.try_next_after(anchor, after)
            .unwrap_or(NaiveDateTime::MAX)
    }

    /// Every occurrence in (`after`, `until`], in order; at most [`MAX_BETWEEN`] of them.
    pub fn between(
        &self,
        anchor: NaiveDateTime,
        after: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Vec<NaiveDateTime> {
        let mut found = Vec::new();
        let mut last = after;
        while found.len() < MAX_BETWEEN {
            match self.try_next_after(anchor, last) {
                Some(next) if next <= until => {
                    found.push(next);
                    last = next;
                }
                _ => break,
            }
        }
        found
    }

    /// [`Cadence::next_after`], or `None` past the end of chrono's calendar.
    fn try_next_after(&self, anchor: NaiveDateTime, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let day = after.date();
        match self {
            Cadence::Weekly { days, at } => (0..=7)
                .filter_map(|i| day.checked_add_days(Days::new(i)))
                .filter(|d| days.contains(d.weekday()))
                .map(|d| d.and_time(*at))
                .find(|t| *t > after),
            Cadence::MonthlyWeekday { nth, weekday, at } => month_starts(day)
                .filter_map(|first| nth.date_in(first, *weekday))
                .map(|d| d.and_time(*at))
                .find(|t| *t > after),
            Cadence::MonthlyDay { day: wanted, at } => month_starts(day)
                .filter_map(|first| {
                    let last = last_of_month(first)?;
                    first.with_day(u32::from(*wanted).clamp(1, last.day()))
                })
                .map(|d| d.and_time(*at))
                .find(|t| *t > after),
            Cadence::Every { days, at } => {
                let step = i64::from((*days).max(1));
                let time = at.unwrap_or(anchor.time());
                let start = anchor.date();
                // k: the last step on or before `after`'s date (but at least the first); k + 1
                // falls on a later date, so three candidates are plenty.
                let k = (day - start).num_days().div_euclid(step).max(1);
                (k..k + 3)
                    .filter_map(|k| {
                        let offset = u64::try_from(k.checked_mul(step)?).ok()?;
                        start.checked_add_days(Days::new(offset))
                    })
                    .map(|d| d.and_time(time))
                    .find(|t| *t > after)
            }
        }
    }
}

/// The first days of `date`'s month and the two after it (fewer at the end of the calendar).
fn month_starts(date: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let first = date.with_day(1);
    (0..3).filter_map(move |i| first?.checked_add_months(Months::new(i)))
}

/// The last day of the month that `first` begins.
fn last_of_month(first: NaiveDate) -> Option<NaiveDate> {
    first.checked_add_months(Months::new(1))?.pred_opt()
}

impl Nth {
    /// This weekday in the month that `first` begins.
    fn date_in(self, first: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
        let n = match self {
            Nth::First => 1,
            Nth::Second => 2,
            Nth::Third => 3,
            Nth::Fourth => 4,
            Nth::Last => {
                let last = last_of_month(first)?;
                let back = (7 + last.weekday().num_days_from_monday()
                    - weekday.num_days_from_monday())
                    % 7;
                return last.checked_sub_days(Days::new(u64::from(back)));
            }
        };
        NaiveDate::from_weekday_of_month_opt(first.year(), first.month(), weekday, n)
    }

    fn name(self) -> &'static str {
        match self {
            Nth::First => "first",
            Nth::Second => "second",
            Nth::Third => "third",
            Nth::Fourth => "fourth",
            Nth::Last => "last",
        }
    }

    /// `first` (also `1st`) to `fourth`, or `last`; lower-case already.
    fn parse(word: &str) -> Result<Self, CadenceError> {
        Ok(match word {
            "first" | "1st" => Nth::First,
            "second" | "2nd" => Nth::Second,
            "third" | "3rd" => Nth::Third,
            "fourth" | "4th" => Nth::Fourth,
            "last" => Nth::Last,
            _ => {
                return Err(CadenceError::new(format!(
                    "{} is not a position in the month: use first, second, third, fourth or \
                     last, e.g. 'monthly:last fri 10:00'",
                    quoted(word)
                )));
            }
        })
    }
}

/// `weekly:fri 10:00`, `weekly:mon,thu 09:30`, `weekly:mon-fri 09:00`, `monthly:first mon 10:00`,
/// `monthly:15 10:00`, `every 3d`, `every 2w 10:00`. Case-insensitive and whitespace tolerant;
/// weekdays in English (short or full) or German (`Mo Di Mi Do Fr Sa So`, or full).
impl FromStr for Cadence {
    type Err = CadenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim().to_lowercase();
        if let Some(rest) = after_keyword(&text, "weekly") {
            let (spec, at) = spec_and_time(input, rest, "weekly:fri 10:00")?;
            let days = Weekdays::parse(spec)?;
            Ok(Cadence::Weekly { days, at })
        } else if let Some(rest) = after_keyword(&text, "monthly") {
            let (spec, at) = spec_and_time(input, rest, "monthly:first mon 10:00")?;
            parse_monthly(spec, at)
        } else if let Some(rest) = after_keyword(&text, "every") {
            parse_every(rest)
        } else {
            Err(CadenceError::new(format!(
                "unknown cadence {}: use one of {CADENCE_FORMS}",
                quoted(input)
            )))
        }
    }
}

/// What follows `word` at the start of `text` (and an optional `:`), if `text` starts with it
/// as a whole word.
fn after_keyword<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(word)?;
    if rest.starts_with(char::is_alphanumeric) {
        return None;
    }
    let rest = rest.trim_start();
    Some(rest.strip_prefix(':').unwrap_or(rest).trim())
}

/// Splits `fri 10:00` (what follows the keyword of `input`) into the days and the time, which
/// comes last.
fn spec_and_time<'a>(
    input: &str,
    rest: &'a str,
    example: &str,
) -> Result<(&'a str, NaiveTime), CadenceError> {
    let has_digit = |s: &str| s.contains(|c: char| c.is_ascii_digit());
    match rest.rsplit_once(char::is_whitespace) {
        Some((spec, time)) if has_digit(time) => Ok((spec.trim(), parse_time(time)?)),
        None if rest.contains(':') => Err(CadenceError::new(format!(
            "cadence {} names no day: write it as '{example}'",
            quoted(input)
        ))),
        // A last word without digits is no attempt at a time but part of the day.
        _ => Err(CadenceError::new(format!(
            "cadence {} has no time: add one as HH:MM, e.g. '{example}'",
            quoted(input)
        ))),
    }
}

/// `first mon`, `last fri` or `15` (also `15th`), with the time already split off.
fn parse_monthly(spec: &str, at: NaiveTime) -> Result<Cadence, CadenceError> {
    let words: Vec<&str> = spec.split_whitespace().collect();
    match words[..] {
        [day] if day.starts_with(|c: char| c.is_ascii_digit()) => Ok(Cadence::MonthlyDay {
            day: parse_month_day(day)?,
            at,
        }),
        [nth, weekday] => Ok(Cadence::MonthlyWeekday {
            nth: Nth::parse(nth)?,
            weekday: parse_weekday(weekday)?,
            at,
        }),
        _ => Err(CadenceError::new(format!(
            "{} is not a monthly day: use a day of the month ('monthly:15 10:00') or \
             first, second, third, fourth or last and a weekday ('monthly:last fri 10:00')",
            quoted(spec)
        ))),
    }
}

/// A day of the month, 1 to 31, also written `15th`.
fn parse_month_day(word: &str) -> Result<u8, CadenceError> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
        .unwrap_or(word);
    let day = (digits.len() <= 2 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<u8>().ok())
        .flatten()
        .filter(|d| (1..=31).contains(d));
    day.ok_or_else(|| {
        CadenceError::new(format!(
            "{} is not a day of the month: use 1 to 31 ('monthly:15 10:00'; 29 to 31 mean the \
             last day in shorter months)",
            quoted(word)
        ))
    })
}

/// `3d`, `3 days`, `2w`, `2 weeks`, optionally followed by a time.
fn parse_every(rest: &str) -> Result<Cadence, CadenceError> {
    let (interval, at) = match rest.rsplit_once(char::is_whitespace) {
        Some((interval, time)) if time.contains(':') => (interval.trim(), Some(parse_time(time)?)),
        _ => (rest, None),
    };
    let compact: String = interval.split_whitespace().collect();
    let bad = || {
        CadenceError::new(format!(
            "{} is not an interval: write a number of days or weeks, e.g. 'every 3d', \
             'every 2w' or 'every 2w 10:00'",
            quoted(interval)
        ))
    };
    let split = compact
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(compact.len());
    let (count, unit) = compact.split_at(split);
    let unit_days: u32 = match unit {
        "d" | "day" | "days" => 1,
        "w" | "wk" | "week" | "weeks" => 7,
        _ => return Err(bad()),
    };
    let count: u32 = match count {
        "" => 1,
        digits if digits.len() <= 4 => digits.parse().map_err(|_| bad())?,
        _ => u32::MAX,
    };
    if count == 0 {
        return Err(CadenceError::new(format!(
            "interval {} is empty: use at least one day, e.g. 'every 1d'",
            quoted(interval)
        )));
    }
    let days = count.saturating_mul(unit_days);
    match u16::try_from(days) {
        Ok(days) if days <= MAX_INTERVAL_DAYS => Ok(Cadence::Every { days, at }),
        _ => Err(CadenceError::new(format!(
            "interval {} is too long: use at most {MAX_INTERVAL_DAYS} days (52 weeks)",
            quoted(interval)
        ))),
    }
}

/// The canonical form: `weekly:mon,thu 09:30`, `monthly:last fri 10:00`, `monthly:15 10:00`,
/// `every 2w` (whole weeks are written as weeks), `every 3d 10:00`.
impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cadence::Weekly { days, at } => write!(f, "weekly:{days} {}", Hm(*at)),
            Cadence::MonthlyWeekday { nth, weekday, at } => {
                write!(
                    f,
                    "monthly:{} {} {}",
                    nth.name(),
                    weekday_name(*weekday),
                    Hm(*at)
                )
            }
            Cadence::MonthlyDay { day, at } => {
                write!(f, "monthly:{} {}", (*day).clamp(1, 31), Hm(*at))
            }
            Cadence::Every { days, at } => {
                let days = (*days).max(1);
                if days % 7 == 0 {
                    write!(f, "every {}w", days / 7)?;
                } else {
                    write!(f, "every {days}d")?;
                }
                match at {
                    Some(at) => write!(f, " {}", Hm(*at)),
                    None => Ok(()),
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for Cadence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A non-empty set of weekdays, as cadences and send windows name them: `fri`, `mon,thu`,
/// `mon-fri`, `mo-fr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(WeekdaySet);

impl Weekdays {
    /// Every day of the week.
    pub const ALL: Weekdays = Weekdays(WeekdaySet::ALL);

    /// The set of these days, or `None` when there are none.
    pub fn new(days: impl IntoIterator<Item = Weekday>) -> Option<Self> {
        let set: WeekdaySet = days.into_iter().collect();
        (!set.is_empty()).then_some(Self(set))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0.contains(day)
    }

    /// The days, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        self.0.iter(Weekday::Mon)
    }

    /// `fri`, `mon,thu`, `mon-fri` (a range may wrap: `fri-mon`), any case, spaces allowed
    /// around `,` and `-`.
    pub fn parse(input: &str) -> Result<Self, CadenceError> {
        let text = input.trim().to_lowercase();
        if text.is_empty() {
            return Err(CadenceError::new(
                "no weekday given: name one or more, e.g. 'fri', 'mon,thu' or 'mon-fri'",
            ));
        }
        let mut set = WeekdaySet::EMPTY;
        for item in text.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(CadenceError::new(format!(
                    "empty weekday in {}: separate days with single commas, e.g. 'mon,thu'",
                    quoted(input)
                )));
            }
            match item.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (parse_weekday(from.trim())?, parse_weekday(to.trim())?);
                    let mut day = from;
                    set.insert(day);
                    while day != to {
                        day = day.succ();
                        set.insert(day);
                    }
                }
                None => {
                    set.insert(parse_weekday(item)?);
                }
            }
        }
        Ok(Self(set))
    }
}

/// `mon,thu`; runs of three or more days as ranges: `mon-fri`, `mon,wed-sun`.
impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<Weekday> = self.iter().collect();
        let mut i = 0;
        let mut first = true;
        while i < days.len() {
            let mut j = i;
            while j + 1 < days.len()
                && days[j + 1].num_days_from_monday() == days[j].num_days_from_monday() + 1
            {
                j += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if j >= i + 2 {
                write!(f, "{}-{}", weekday_name(days[i]), weekday_name(days[j]))?;
                i = j + 1;
            } else {
                f.write_str(weekday_name(days[i]))?;
                i += 1;
            }
        }
        Ok(())
    }
}

/// A weekday named in English (short or full) or German (short or full), lower-case already;
/// a trailing `.` (`Mo.`) is allowed.
fn parse_weekday(word: &str) -> Result<Weekday, CadenceError> {
    let day = match word.trim_end_matches('.') {
        "mon" | "monday" | "mo" | "montag" => Weekday::Mon,
        "tue" | "tues" | "tuesday" | "di" | "dienstag" => Weekday::Tue,
        "wed" | "wednesday" | "mi" | "mittwoch" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" | "do" | "donnerstag" => Weekday::Thu,
        "fri" | "friday" | "fr" | "freitag" => Weekday::Fri,
        "sat" | "saturday" | "sa" | "samstag" | "sonnabend" => Weekday::Sat,
        "sun" | "sunday" | "so" | "sonntag" => Weekday::Sun,
        _ => {
            return Err(CadenceError::new(format!(
                "unknown weekday {}: use mon tue wed thu fri sat sun (full English names and \
                 German mo di mi do fr sa so work too); separate several with commas",
                quoted(word)
            )));
        }
    };
    Ok(day)
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// `HH:MM`, 24 hours; a one-digit hour (`9:30`) is accepted.
fn parse_time(text: &str) -> Result<NaiveTime, CadenceError> {
    let bad = || {
        CadenceError::new(format!(
            "{} is not a time: write HH:MM (24 hours), e.g. '09:30' or '18:00'",
            quoted(text)
        ))
    };
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&hours.len()) || minutes.len() != 2 || !digits(hours) || !digits(minutes) {
        return Err(bad());
    }
    let hours = hours.parse().map_err(|_| bad())?;
    let minutes = minutes.parse().map_err(|_| bad())?;
    NaiveTime::from_hms_opt(hours, minutes, 0).ok_or_else(bad)
}

/// A time written as `HH:MM`.
struct Hm(NaiveTime);

impl fmt::Display for Hm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

/// Config text in quotes for an error message, cut short if it is long.
fn quoted(text: &str) -> String {
    const MAX: usize = 40;
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("'{}...'", &text[..cut]),
        None => format!("'{text}'"),
    }
}

/// When mail may go out, in the recipient's local time: on some weekdays, from a start time
/// (inclusive) to an end time (exclusive) on the same day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendWindow {
    days: Weekdays,
    start: NaiveTime,
    end: NaiveTime,
    /// Whose public holidays the window skips (`[schedule] holidays`).
    holidays: Option<Region>,
}

impl SendWindow {
    /// A window on `days` from `start` to `end`; refused unless `start < end` (no overnight
    /// windows).
    pub fn new(days: Weekdays, start: NaiveTime, end: NaiveTime) -> Result<Self, CadenceError> {
        if start >= end {
            return Err(CadenceError::new(format!(
                "send window {}-{} does not end after it starts: windows lie within one day \
                 (no overnight windows), e.g. {WINDOW_FORMS}",
                Hm(start),
                Hm(end)
            )));
        }
        Ok(Self {
            days,
            start,
            end,
            holidays: None,
        })
    }

    /// The window, closed on the public holidays of `region`.
    pub fn with_holidays(mut self, region: Option<Region>) -> Self {
        self.holidays = region;
        self
    }

    pub fn holidays(&self) -> Option<Region> {
        self.holidays
    }

    /// Whether the window opens on `date` at all: an allowed weekday, not a holiday.
    pub fn opens_on(&self, date: NaiveDate) -> bool {
        self.days.contains(date.weekday())
            && self
                .holidays
                .is_none_or(|region| region.holiday(date).is_none())
    }

    pub fn days(&self) -> Weekdays {
        self.days
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// Whether a local time is inside the window (start inclusive, end exclusive).
    pub fn contains(&self, local: NaiveDateTime) -> bool {
        self.opens_on(local.date()) && self.start <= local.time() && local.time() < self.end
    }

    /// `at` when it is inside the window in `tz`, else the window's next opening: the start time
    /// on the next allowed day, as UTC. An opening in a DST gap moves to the first valid local
    /// time after it; in a fold the window opens on the first pass, and when the clock falls
    /// back into the window, it opens again at that instant. Saturates at `DateTime::MAX_UTC`
    /// at the end of chrono's range.
    pub fn next_open(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = to_local(at, tz);
        if self.contains(local) {
            return at;
        }
        // Today and the next three weeks: even a one-day window opens again within a week,
        // and no run of holidays is longer than two.
        let opening = (0..=21)
            .filter_map(|i| local.date().checked_add_days(Days::new(i)))
            .filter(|d| self.opens_on(*d))
            .find_map(|d| first_at_or_after(d.and_time(self.start), tz, at));
        let limit = opening
            .or_else(|| at.checked_add_signed(TimeDelta::days(23)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        match self.reentry(at, limit, tz) {
            Some(back) => back,
            None => opening.unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The first offset change in (`at`, `limit`) after which the local time is inside the
    /// window: a fold that sets the clock back into it.
    fn reentry(&self, at: DateTime<Utc>, limit: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // No zone changes its offset twice within six hours, so comparing the offsets at both
        // ends of each six-hour step finds every change.
        const STEP: i64 = 6 * 3600;
        let end = limit.timestamp();
        let mut lo = at.timestamp();
        while lo < end {
            let hi = lo.saturating_add(STEP).min(end);
            if offset_at(tz, lo)? != offset_at(tz, hi)? {
                let change = DateTime::from_timestamp(first_change(tz, lo, hi)?, 0)?;
                if change > at && change < limit && self.contains(to_local(change, tz)) {
                    return Some(change);
                }
            }
            lo = hi;
        }
        None
    }
}

/// The first instant at or after `at` whose local time in `tz` is `local`: in a fold, whichever
/// pass is not yet over; in a gap, the first valid time after it.
fn first_at_or_after(local: NaiveDateTime, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let candidates = match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => [Some(t.to_utc()), None],
        LocalResult::Ambiguous(earlier, later) => [Some(earlier.to_utc()), Some(later.to_utc())],
        LocalResult::None => [Some(local_to_utc(local, tz)), None],
    };
    candidates.into_iter().flatten().find(|t| *t >= at)
}

/// `mon-fri 08:00-18:00`, `mon,wed,fri 09:00-17:00`, `daily 08:00-20:00`, `mo-fr 08:00-18:00`.
impl FromStr for SendWindow {
    type Err = CadenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim().to_lowercase();
        // Weekday names have no digits, so the times begin at the first one.
        let Some(split) = text.find(|c: char| c.is_ascii_digit()) else {
            return Err(CadenceError::new(format!(
                "send window {} has no times: use one of {WINDOW_FORMS}",
                quoted(input)
            )));
        };
        let (days, times) = (text[..split].trim(), text[split..].trim());
        let days = match days {
            "" => {
                return Err(CadenceError::new(format!(
                    "send window {} names no days: put them first, as in {WINDOW_FORMS}",
                    quoted(input)
                )));
            }
            "daily" => Weekdays::ALL,
            days => Weekdays::parse(days)?,
        };
        let Some((start, end)) = times.split_once('-') else {
            return Err(CadenceError::new(format!(
                "{} is not a time range: write HH:MM-HH:MM, as in {WINDOW_FORMS}",
                quoted(times)
            )));
        };
        SendWindow::new(days, parse_time(start)?, parse_time(end)?)
    }
}

/// The canonical form: `mon-fri 08:00-18:00`, `daily 08:00-20:00`.
impl fmt::Display for SendWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.days == Weekdays::ALL {
            f.write_str("daily")?;
        } else {
            write!(f, "{}", self.days)?;
        }
        write!(f, " {}-{}", Hm(self.start), Hm(self.end))
    }
}

impl<'de> Deserialize<'de> for SendWindow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A local wall time in `tz` as UTC: in a DST gap (the hour that does not exist in spring), the
/// first valid time after it (02:30 -> 03:00 in Europe/Berlin); in a fold (the hour that happens
/// twice in autumn), the earlier of the two.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.to_utc(),
        LocalResult::Ambiguous(earlier, _) => earlier.to_utc(),
        LocalResult::None => gap_end(local, tz),
    }
}

/// The end of the DST gap that `local` falls into: the instant the offset changes.
fn gap_end(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    // Read with the offset before the gap, `local` names an instant after the change; read with
    // the offset after it, an instant before. The change lies between: search for it.
    let before = local
        .checked_sub_signed(TimeDelta::days(1))
        .map(|day_before| tz.offset_from_utc_datetime(&day_before).fix());
    let Some(late) = before.and_then(|offset| local.checked_sub_offset(offset)) else {
        // Only at the ends of chrono's range: read the wall time as UTC.
        return local.and_utc();
    };
    let late = late.and_utc().timestamp();
    let change = offset_at(tz, late)
        .and_then(|after| local.checked_sub_offset(after))
        .map(|early| early.and_utc().timestamp())
        .filter(|early| *early < late)
        .and_then(|early| first_change(tz, early, late))
        .and_then(|change| DateTime::from_timestamp(change, 0));
    // Should the zone not look like that (two changes within a day), read `local` with the
    // offset before the gap: a valid instant that far after it.
    change.unwrap_or_else(|| DateTime::from_timestamp(late, 0).unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// The first second in (`lo`, `hi`] whose offset differs from `lo`'s, if the offsets differ.
fn first_change(tz: Tz, mut lo: i64, mut hi: i64) -> Option<i64> {
    let old = offset_at(tz, lo)?;
    if offset_at(tz, hi)? == old {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset_at(tz, mid)? == old {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// The offset of `tz` at a Unix time in seconds.
fn offset_at(tz: Tz, seconds: i64) -> Option<FixedOffset> {
    let at = DateTime::from_timestamp(seconds, 0)?;
    Some(tz.offset_from_utc_datetime(&at.naive_utc()).fix())
}

/// A UTC instant as local wall time in `tz` (clamped at the ends of chrono's range).
pub fn to_local(at: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    let utc = at.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset)
        .unwrap_or(if offset.local_minus_utc() > 0 {
            NaiveDateTime::MAX
        } else {
            NaiveDateTime::MIN
        })
}

/// The ISO week of a local date, `2026-W49`, with the ISO year (2027-01-01 is in `2026-W53`).
pub fn iso_week(date: NaiveDate) -> String {
    let week = date.iso_week();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// The month of a local date, `2026-12`.
pub fn month(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

#[cfg(test)]
mod tests;
