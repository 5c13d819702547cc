//! Durations: how long someone worked, in every way people write it, and the reverse
//! (`format_duration`) for the format help and the property tests.
//!
//! Decimal numbers are always hours in tenths/hundredths (`1.5` and `1,5` are 90 minutes, never
//! 1 h 50): that is how timesheets are written, and `1:50` exists for the other reading.

use super::token::Tokens;

/// How sure we are that a match is a duration and not some other number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Strength {
    /// A bare integer (`2`) or a range of bare hours (`9-11`): only counted near the line's
    /// edges, and never the reason to reject a line.
    Weak,
    /// A bare decimal (`1.5`, `1,5`).
    Medium,
    /// A unit (`2h`, `90 min`), a colon (`1:30`) or a clock range (`9:00-11:30`, `9-11 Uhr`).
    Strong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DurationMatch {
    /// Token index after the match.
    pub end: usize,
    pub minutes: u32,
    pub strength: Strength,
    pub shape: Shape,
}

/// How a duration was written, where the line needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// With a unit: `2h`, `90 min`, `1:30 Std`.
    Units,
    /// `1:30` alone: a duration, unless a word like "at" or "um" makes it a clock time.
    Colon,
    /// `9-11 Uhr`: its `von`/`from` belongs to it, not to the description.
    Range,
    /// `2`, `1.5`.
    Bare,
    /// `2-3 Stunden`, `1-2h`: a range of durations, not of clock times (a unit of hours after
    /// it, or a glued `h` after hours of the night): how long it took is a guess.
    Estimate,
}

/// Every duration reading that starts at token `i` (right boundaries not yet checked).
pub(super) fn candidates(t: Tokens<'_, '_>, i: usize) -> Vec<DurationMatch> {
    [range(t, i), with_units(t, i), colon(t, i), bare(t, i)]
        .into_iter()
        .flatten()
        .collect()
}

/// Minutes of a whole duration expression like `1h 30m`, `2,5 Std.` or `09:00-11:30`; `None` if
/// the text is not exactly one duration. Huge values saturate at `u32::MAX` rather than wrap.
pub fn parse_duration(token_text: &str) -> Option<u32> {
    let tokens = super::token::tokenize(token_text.trim());
    let t = Tokens(&tokens);
    candidates(t, 0)
        .into_iter()
        .find(|m| m.end == t.len())
        .map(|m| m.minutes)
}

/// The supported ways to write a duration, for property tests and the format help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationForm {
    /// `2.5h`
    DecimalHours,
    /// `2,5h`
    CommaHours,
    /// `2,5 Std`
    Std,
    /// `1:30`
    Colon,
    /// `90m`
    Minutes,
    /// `90 min`
    MinutesSpaced,
    /// `1h30`
    HoursMinutes,
    /// `1h 30m`
    HoursMinutesSpaced,
    /// `2 hrs`
    Hrs,
    /// `1.5`
    BareDecimal,
    /// `1,5`
    BareComma,
    /// `09:00-10:30`
    Range,
}

impl DurationForm {
    pub const ALL: [DurationForm; 12] = [
        DurationForm::DecimalHours,
        DurationForm::CommaHours,
        DurationForm::Std,
        DurationForm::Colon,
        DurationForm::Minutes,
        DurationForm::MinutesSpaced,
        DurationForm::HoursMinutes,
        DurationForm::HoursMinutesSpaced,
        DurationForm::Hrs,
        DurationForm::BareDecimal,
        DurationForm::BareComma,
        DurationForm::Range,
    ];

    /// Whether the form writes `minutes` exactly. Decimal forms use at most two decimals, so
    /// they are exact for multiples of 3 minutes (0.05 h); the others for every minute up to a day.
    pub fn can_express(self, minutes: u32) -> bool {
        if self.is_decimal() {
            minutes.is_multiple_of(3)
        } else {
            true
        }
    }

    /// 1 h 30 written in this form, for the format help.
    pub fn example(self) -> String {
        format_duration(90, self)
    }

    fn is_decimal(self) -> bool {
        matches!(
            self,
            DurationForm::DecimalHours
                | DurationForm::CommaHours
                | DurationForm::Std
                | DurationForm::Hrs
                | DurationForm::BareDecimal
                | DurationForm::BareComma
        )
    }
}

/// `minutes` written in `form`. A decimal form rounds to the nearest hundredth of an hour when
/// it cannot be exact (see [`DurationForm::can_express`]); a range starts at 09:00 (or is
/// `00:00-24:00` for a whole day).
pub fn format_duration(minutes: u32, form: DurationForm) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match form {
        DurationForm::DecimalHours => format!("{}h", decimal_hours(minutes, '.')),
        DurationForm::CommaHours => format!("{}h", decimal_hours(minutes, ',')),
        DurationForm::Std => format!("{} Std", decimal_hours(minutes, ',')),
        DurationForm::Colon => format!("{h}:{m:02}"),
        DurationForm::Minutes => format!("{minutes}m"),
        DurationForm::MinutesSpaced => format!("{minutes} min"),
        DurationForm::HoursMinutes if m == 0 => format!("{h}h"),
        DurationForm::HoursMinutes => format!("{h}h{m:02}"),
        DurationForm::HoursMinutesSpaced => format!("{h}h {m}m"),
        DurationForm::Hrs if minutes == 60 => "1 hr".to_string(),
        DurationForm::Hrs => format!("{} hrs", decimal_hours(minutes, '.')),
        DurationForm::BareDecimal => decimal_hours(minutes, '.'),
        DurationForm::BareComma => decimal_hours(minutes, ','),
        DurationForm::Range if minutes >= 24 * 60 => "00:00-24:00".to_string(),
        DurationForm::Range => {
            let end = (9 * 60 + minutes) % (24 * 60);
            format!("09:00-{:02}:{:02}", end / 60, end % 60)
        }
    }
}

/// `2`, `1.5`, `1.05`: whole hours bare, one decimal when that is exact, else two (rounded).
fn decimal_hours(minutes: u32, sep: char) -> String {
    let minutes = u64::from(minutes);
    if minutes % 60 == 0 {
        format!("{}", minutes / 60)
    } else if minutes % 6 == 0 {
        let tenths = minutes / 6;
        format!("{}{sep}{}", tenths / 10, tenths % 10)
    } else {
        let hundredths = (minutes * 100 + 30) / 60;
        format!("{}{sep}{:02}", hundredths / 100, hundredths % 100)
    }
}

/// A number as written: integer digits and, after `.` or `,`, fraction digits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Number<'a> {
    pub int: &'a str,
    pub frac: Option<&'a str>,
}

impl Number<'_> {
    /// The number read as hours, in minutes (rounded, saturating).
    pub fn hours_to_minutes(self) -> u32 {
        self.scaled(60)
    }

    /// The number read as minutes (rounded, saturating).
    pub fn minutes(self) -> u32 {
        self.scaled(1)
    }

    /// `int.frac * unit`, rounded to a whole number; at most 9 fraction digits count.
    fn scaled(self, unit: u64) -> u32 {
        let whole = digits_value(self.int).saturating_mul(unit);
        let part = self.frac.map_or(0, |frac| {
            let frac = &frac[..frac.len().min(9)];
            let scale = 10u64.pow(frac.len() as u32);
            (digits_value(frac) * unit * 2 + scale) / (2 * scale)
        });
        u32::try_from(whole.saturating_add(part)).unwrap_or(u32::MAX)
    }
}

/// The value of a run of ASCII digits, saturating instead of overflowing.
pub(super) fn digits_value(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10)
            .saturating_add(u64::from(b.wrapping_sub(b'0')))
    })
}

/// `2`, `2.5`, `2,5` at token `i`. Not `1.2.` followed by more (`1.2.3`, `01.12.-05.12.`): that
/// is a version or a date, whatever its first part looks like.
pub(super) fn number<'a>(t: Tokens<'_, 'a>, i: usize) -> Option<(usize, Number<'a>)> {
    let int = t.num(i, 1, usize::MAX)?;
    let frac = t
        .num(i + 2, 1, usize::MAX)
        .filter(|_| t.is_sym_in(i + 1, &['.', ',']) && t.glued(i + 1) && t.glued(i + 2));
    let Some(frac) = frac else {
        return Some((i + 1, Number { int, frac: None }));
    };
    if t.is_sym(i + 3, '.') && t.glued(i + 3) && t.glued(i + 4) {
        return None;
    }
    let frac = Some(frac);
    Some((i + 3, Number { int, frac }))
}

const HOUR_UNITS: [&str; 9] = [
    "h", "hr", "hrs", "hour", "hours", "std", "stdn", "stunde", "stunden",
];
const MINUTE_UNITS: [&str; 6] = ["m", "min", "mins", "minute", "minutes", "minuten"];
/// Abbreviations that may carry a dot: `Std.`, `Min.`, `hrs.`.
const ABBREVIATIONS: [&str; 8] = ["h", "hr", "hrs", "std", "stdn", "m", "min", "mins"];

/// A unit word from `units` at token `j` (glued or spaced), with its dot if abbreviated.
fn unit(t: Tokens<'_, '_>, j: usize, units: &[&str]) -> Option<usize> {
    let word = t.word(j)?;
    if !units.contains(&word.as_str()) {
        return None;
    }
    let dotted = ABBREVIATIONS.contains(&word.as_str()) && t.is_sym(j + 1, '.') && t.glued(j + 1);
    Some(if dotted { j + 2 } else { j + 1 })
}

/// `2.5h`, `2,5 Std.`, `90 min`, `1h30`, `1h30m`, `1h 30m`, `1 Stunde 30 Minuten`.
fn with_units(t: Tokens<'_, '_>, i: usize) -> Option<DurationMatch> {
    let strong = |end, minutes| DurationMatch {
        end,
        minutes,
        strength: Strength::Strong,
        shape: Shape::Units,
    };
    // `½ h` has no whole part.
    if let Some((j, half)) = fraction(t, i) {
        return unit(t, j, &HOUR_UNITS).map(|k| strong(k, half));
    }
    // `.5h`, `.75 hrs`: a fraction of an hour without its zero, as some write it (not `.5.3`).
    if t.is_sym(i, '.')
        && t.glued(i + 1)
        && !(t.is_sym(i + 2, '.') && t.glued(i + 2))
        && let Some(frac) = t.num(i + 1, 1, usize::MAX)
    {
        let n = Number {
            int: "0",
            frac: Some(frac),
        };
        return unit(t, i + 2, &HOUR_UNITS).map(|k| strong(k, n.hours_to_minutes()));
    }
    let (j, n) = number(t, i)?;
    if let Some(k) = unit(t, j, &MINUTE_UNITS) {
        return Some(strong(k, n.minutes()));
    }
    // `90'`: minutes, as some write them.
    if t.is_sym_in(j, &['\'', '′']) && t.glued(j) {
        return Some(strong(j + 1, n.minutes()));
    }
    let hours = n.hours_to_minutes();
    if n.frac.is_some() {
        return unit(t, j, &HOUR_UNITS).map(|k| strong(k, hours));
    }
    let (j, part) = fraction(t, j).unwrap_or((j, 0));
    let k = unit(t, j, &HOUR_UNITS)?;
    let (end, extra) = match part {
        0 => minutes_after_hours(t, k).unwrap_or((k, 0)),
        _ => (k, 0),
    };
    Some(strong(
        end,
        hours.saturating_add(part).saturating_add(extra),
    ))
}

/// A fraction of an hour in minutes: `½`, `¼`, `¾` (glued or spaced), or a spaced `1/2`, `1/4`,
/// `3/4` (as in `1 1/2 Std`).
fn fraction(t: Tokens<'_, '_>, j: usize) -> Option<(usize, u32)> {
    let symbol = [('½', 30), ('¼', 15), ('¾', 45)]
        .into_iter()
        .find(|&(c, _)| t.is_sym(j, c));
    if let Some((_, minutes)) = symbol {
        return Some((j + 1, minutes));
    }
    let written = (t.num(j, 1, 1)?, t.num(j + 2, 1, 1)?);
    let minutes = match written {
        ("1", "2") => 30,
        ("1", "4") => 15,
        ("3", "4") => 45,
        _ => return None,
    };
    let ok = !t.glued(j) && t.is_sym(j + 1, '/') && t.glued(j + 1) && t.glued(j + 2);
    ok.then_some((j + 3, minutes))
}

/// The minutes part after whole hours: glued `30`/`30m` (`1h30`), or spaced with a unit
/// (`1h 30m`, `1 h 30 min`, `1 Stunde und 30 Minuten`).
fn minutes_after_hours(t: Tokens<'_, '_>, k: usize) -> Option<(usize, u32)> {
    let below_an_hour = |i: usize| {
        t.num(i, 1, 2)
            .map(|d| digits_value(d) as u32)
            .filter(|&m| m < 60)
    };
    if t.glued(k) {
        let minutes = below_an_hour(k)?;
        let end = unit(t, k + 1, &MINUTE_UNITS).unwrap_or(k + 1);
        return Some((end, minutes));
    }
    let k = match t.word(k).as_deref() {
        Some("und" | "and") => k + 1,
        _ => k,
    };
    let minutes = below_an_hour(k)?;
    let end = unit(t, k + 1, &MINUTE_UNITS)?;
    Some((end, minutes))
}

/// `1:30`, `0:45`, `1:30h`, `1:30 Std`: hours and minutes, not a clock time.
fn colon(t: Tokens<'_, '_>, i: usize) -> Option<DurationMatch> {
    let hours = t.num(i, 1, usize::MAX)?;
    if !(t.is_sym(i + 1, ':') && t.glued(i + 1) && t.glued(i + 2)) {
        return None;
    }
    let minutes = digits_value(t.num(i + 2, 2, 2)?);
    if minutes >= 60 {
        return None;
    }
    // `10:30 Uhr`, `9:00 AM` are clock times.
    if is_uhr(t, i + 3) || meridiem(t, i + 3).is_some() {
        return None;
    }
    let (end, shape) = match unit(t, i + 3, &HOUR_UNITS) {
        Some(end) => (end, Shape::Units),
        None => (i + 3, Shape::Colon),
    };
    let total = digits_value(hours)
        .saturating_mul(60)
        .saturating_add(minutes);
    Some(DurationMatch {
        end,
        minutes: u32::try_from(total).unwrap_or(u32::MAX),
        strength: Strength::Strong,
        shape,
    })
}

/// `2`, `1.5`, `1,5`: hours. At most two integer digits, so years and phone numbers are not
/// hours.
fn bare(t: Tokens<'_, '_>, i: usize) -> Option<DurationMatch> {
    let (end, n) = number(t, i)?;
    if n.int.len() > 2 {
        return None;
    }
    Some(DurationMatch {
        end,
        minutes: n.hours_to_minutes(),
        strength: if n.frac.is_some() {
            Strength::Medium
        } else {
            Strength::Weak
        },
        shape: Shape::Bare,
    })
}

/// A clock time in a range: `9`, `09:00`, `9.30`, `9am`, `11:30 pm`.
#[derive(Debug, Clone, Copy)]
struct Clock {
    end: usize,
    /// Minutes since midnight; 24:00 is 1440.
    minute_of_day: u32,
    /// Written with `:`, or with am/pm: unmistakably a time of day.
    explicit: bool,
    /// Written with `.` (`9.30`), which could also be decimal hours.
    dotted: bool,
    /// Has a minutes part (`9:30`, `9.30`).
    has_minutes: bool,
    /// Written with am (`Some(false)`) or pm (`Some(true)`).
    meridiem: Option<bool>,
}

fn clock(t: Tokens<'_, '_>, i: usize) -> Option<Clock> {
    let mut hour = digits_value(t.num(i, 1, 2)?) as u32;
    let mut c = Clock {
        end: i + 1,
        minute_of_day: 0,
        explicit: false,
        dotted: false,
        has_minutes: false,
        meridiem: None,
    };
    let mut minute = 0;
    let separated = t.is_sym_in(i + 1, &[':', '.']) && t.glued(i + 1) && t.glued(i + 2);
    if separated && let Some(m) = t.num(i + 2, 2, 2).map(digits_value).filter(|&m| m < 60) {
        minute = m as u32;
        c.end = i + 3;
        c.explicit = t.is_sym(i + 1, ':');
        c.dotted = !c.explicit;
        c.has_minutes = true;
    }
    if let Some(pm) = meridiem(t, c.end) {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
        c.end += 1;
        c.explicit = true;
        c.meridiem = Some(pm);
    }
    if hour > 24 || (hour == 24 && minute > 0) {
        return None;
    }
    c.minute_of_day = hour * 60 + minute;
    Some(c)
}

/// `am`/`pm` glued to a time (`9am`), or spaced when written `AM`/`PM`/`pm` (a spaced `am` is
/// the German "am" of "am Montag"). `Some(true)` for pm.
fn meridiem(t: Tokens<'_, '_>, j: usize) -> Option<bool> {
    let raw = t.raw_word(j)?;
    let pm = if raw.eq_ignore_ascii_case("am") {
        false
    } else if raw.eq_ignore_ascii_case("pm") {
        true
    } else {
        return None;
    };
    (t.glued(j) || pm || raw == "AM").then_some(pm)
}

fn is_uhr(t: Tokens<'_, '_>, j: usize) -> bool {
    t.word(j).as_deref() == Some("uhr")
}

/// The latest end of a span of whole hours with a glued `h` that is read as a range of durations
/// (`1-2h`, `4-6h`) rather than clock times.
const NIGHT_HOURS_END: u32 = 6 * 60;

/// `09:00-11:30`, `9:00 - 11:30`, `9-11:30`, `9–11 Uhr`, `9 Uhr - 11 Uhr`, `9.30-11.30`,
/// `9am-1pm`, `9:00 bis 11:00`, over midnight `22:00-01:00` (3 h).
fn range(t: Tokens<'_, '_>, i: usize) -> Option<DurationMatch> {
    let from = clock(t, i)?;
    let mut j = from.end;
    let mut uhr = false;
    if is_uhr(t, j) {
        uhr = true;
        j += 1;
    }
    let word_sep = matches!(t.word(j).as_deref(), Some("bis" | "to" | "till" | "until"));
    if !(t.is_sym_in(j, &['-', '–', '—']) || word_sep) {
        return None;
    }
    let to = clock(t, j + 1)?;
    let mut end = to.end;
    // `2-3 Stunden`, `2-3 hours`: the hours it took, one or the other; `1-2h`, `2-3h`: the
    // same, since no one logs work from 1 to 2 at night (`9-12h` is a span, 3 h).
    let whole_hours = !uhr
        && !word_sep
        && !from.has_minutes
        && !to.has_minutes
        && from.meridiem.is_none()
        && to.meridiem.is_none();
    // A unit of hours after it, its dot taken (`Std.`); not `h`, which after clock times reads
    // as `Uhr` (`9-12 h`) unless it is glued to hours of the night.
    let glued_h = t.glued(end) && t.word(end).as_deref() == Some("h");
    let hours_unit = unit(t, end, &HOUR_UNITS).filter(|_| t.word(end).as_deref() != Some("h"));
    let night = to.minute_of_day <= NIGHT_HOURS_END;
    if whole_hours && from.minute_of_day < to.minute_of_day {
        let estimate = |end: usize, strength: Strength| DurationMatch {
            end,
            minutes: to.minute_of_day - from.minute_of_day,
            strength,
            shape: Shape::Estimate,
        };
        if let Some(after) = hours_unit {
            return Some(estimate(after, Strength::Strong));
        }
        if glued_h && night {
            return Some(estimate(end + 1, Strength::Strong));
        }
        // `1-2 Recherche`: weak, as a bare span is (`Kapitel 1-2` beside `2h` is no duration).
        if night && !glued_h && !is_uhr(t, end) {
            return Some(estimate(end, Strength::Weak));
        }
    }
    if is_uhr(t, end) || glued_h {
        uhr = true;
        end += 1;
    }
    // `9.30-11.30` is a time range, `2.25-3` probably a decimal estimate.
    let both_have_minutes = from.has_minutes && to.has_minutes;
    if (from.dotted || to.dotted) && !uhr && !both_have_minutes {
        return None;
    }
    let explicit = from.explicit || to.explicit || uhr || both_have_minutes;
    if word_sep && !explicit {
        return None;
    }
    let (mut a, b) = (from.minute_of_day, to.minute_of_day);
    // `2-3 pm` is 14:00 to 15:00; `9-5pm` is 9:00 to 17:00.
    if to.meridiem == Some(true) && from.meridiem.is_none() && a < 12 * 60 && a + 12 * 60 < b {
        a += 12 * 60;
    }
    let minutes = match b.cmp(&a) {
        std::cmp::Ordering::Greater => b - a,
        // Over midnight only when the times are clearly clock times: `22-1` is more likely
        // something else than a night shift.
        std::cmp::Ordering::Less if explicit => b + 24 * 60 - a,
        _ => return None,
    };
    Some(DurationMatch {
        end,
        minutes,
        strength: if explicit {
            Strength::Strong
        } else {
            Strength::Weak
        },
        shape: Shape::Range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form() {
        let cases = [
            ("2.5h", 150),
            ("2,5h", 150),
            ("2,5 Std", 150),
            ("2,5 Std.", 150),
            ("2 Stunden", 120),
            ("1 Stunde", 60),
            ("1:30", 90),
            ("0:45", 45),
            ("1:30h", 90),
            ("1:30 Std.", 90),
            ("90m", 90),
            ("90 min", 90),
            ("90 Min.", 90),
            ("45min", 45),
            ("45 Minuten", 45),
            ("45 minutes", 45),
            ("1h30", 90),
            ("1h30m", 90),
            ("1h15m", 75),
            ("1h 30m", 90),
            ("1 h 30 min", 90),
            ("1 Stunde 30 Minuten", 90),
            ("1 hour and 30 minutes", 90),
            ("2 hrs", 120),
            ("2 hr", 120),
            ("2 hours", 120),
            ("1.5 hrs", 90),
            ("1.5", 90),
            ("1,5", 90),
            ("2", 120),
            ("0.25", 15),
            ("1.05", 63),
            ("09:00-11:30", 150),
            ("9:00 - 11:30", 150),
            ("9-11:30", 150),
            ("9–11 Uhr", 120),
            ("9 Uhr - 11 Uhr", 120),
            ("9-11", 120),
            ("9.30-11.30", 120),
            ("9am-1pm", 240),
            ("9:00 bis 11:00", 120),
            ("22:00-01:00", 180),
            ("00:00-24:00", 1440),
            ("24h", 1440),
            ("1 1/2 Std", 90),
            ("1½h", 90),
            ("½ h", 30),
            ("2 3/4 hours", 165),
            ("90'", 90),
            ("2-3 pm", 60),
            ("9-5pm", 480),
            ("11am - 1pm", 120),
        ];
        for (text, minutes) in cases {
            assert_eq!(parse_duration(text), Some(minutes), "{text}");
        }
    }

    #[test]
    fn not_durations() {
        for text in [
            "",
            "h",
            "inbox",
            "23.11.",
            "2026-11-23",
            "1:3",
            "1:60",
            "2x",
            "50%",
            "2 Rechnungen",
            "9 to 11",
            "10:30 Uhr",
            "9:00 AM",
            "1 1/3 h",
            "1/2",
            "25-26",
            "22-1",
            "1.5.",
            "100",
            "+49",
            "1:30:00",
        ] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
    }

    #[test]
    fn huge_numbers_saturate() {
        assert_eq!(parse_duration("99999999h"), Some(u32::MAX));
        assert_eq!(parse_duration("9999999m"), Some(9_999_999));
        assert_eq!(
            parse_duration(&format!("{}h", "9".repeat(400))),
            Some(u32::MAX)
        );
        assert_eq!(
            parse_duration(&format!("1.{}h", "9".repeat(400))),
            Some(120)
        );
    }

    #[test]
    fn decimals_are_tenths_of_hours_never_minutes() {
        assert_eq!(parse_duration("1.50"), Some(90));
        assert_eq!(parse_duration("1.3"), Some(78));
        assert_eq!(parse_duration("0,1h"), Some(6));
    }

    #[test]
    fn formats() {
        let f = |form| format_duration(90, form);
        assert_eq!(f(DurationForm::DecimalHours), "1.5h");
        assert_eq!(f(DurationForm::CommaHours), "1,5h");
        assert_eq!(f(DurationForm::Std), "1,5 Std");
        assert_eq!(f(DurationForm::Colon), "1:30");
        assert_eq!(f(DurationForm::Minutes), "90m");
        assert_eq!(f(DurationForm::MinutesSpaced), "90 min");
        assert_eq!(f(DurationForm::HoursMinutes), "1h30");
        assert_eq!(f(DurationForm::HoursMinutesSpaced), "1h 30m");
        assert_eq!(f(DurationForm::Hrs), "1.5 hrs");
        assert_eq!(f(DurationForm::BareDecimal), "1.5");
        assert_eq!(f(DurationForm::BareComma), "1,5");
        assert_eq!(f(DurationForm::Range), "09:00-10:30");
        assert_eq!(DurationForm::Std.example(), "1,5 Std");
        assert_eq!(format_duration(63, DurationForm::DecimalHours), "1.05h");
        assert_eq!(format_duration(120, DurationForm::BareDecimal), "2");
        assert_eq!(format_duration(1000, DurationForm::Range), "09:00-01:40");
        assert_eq!(format_duration(1440, DurationForm::Range), "00:00-24:00");
        // Not exact: rounds to the nearest hundredth.
        assert_eq!(format_duration(1, DurationForm::DecimalHours), "0.02h");
    }
}
