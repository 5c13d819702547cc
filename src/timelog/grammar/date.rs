//! Dates: every way people write the day they worked, and how a written date becomes a calendar
//! date given the day the message was sent.
//!
//! Matching only reads the text (`23.11.` is day 23 of month 11 of some year); `resolve` then
//! picks the year and the week, so "which 23 November" is decided in one place.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::duration::{Number, digits_value};
use super::token::{Kind, Lower, Tokens};

/// A date as written, before it is placed in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateSpec {
    /// Day, month and year; may be impossible (`31.02.2026`).
    Full { year: i32, month: u32, day: u32 },
    /// `23.11.`, `Nov 23`: the year nearest to today.
    NoYear { month: u32, day: u32 },
    /// `Mo`, `Friday`: the most recent such day, today included.
    Weekday(Weekday),
    /// `heute` (0), `gestern` (1), `vorgestern` (2).
    DaysAgo(u32),
    /// `morgen`/`tomorrow` (1), `übermorgen` (2): always after the day the message was sent,
    /// so a line dated so is rejected as in the future.
    DaysAhead(u32),
}

/// How sure we are that the text means a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Certainty {
    /// Numbers or a month name: `2026-11-23`, `23.11.`, `Nov 23`.
    Explicit,
    /// A weekday or a relative word: `Mo`, `gestern`.
    Relative,
    /// A short weekday that is also a common word (`Do`, `So`, `Sat`, `Sun`, `Wed`): counted
    /// next to a duration or alone on its line, never the reason to reject a line.
    Uncertain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DateMatch {
    /// Token index after the match.
    pub end: usize,
    pub spec: DateSpec,
    pub certainty: Certainty,
    /// `23.11` without the final dot also reads as decimal hours; the minutes of that reading.
    pub as_hours: Option<u32>,
}

/// Every date reading that starts at token `i` (right boundaries not yet checked).
pub(super) fn candidates(t: Tokens<'_, '_>, i: usize, day_first: bool) -> Vec<DateMatch> {
    let mut all = explicit(t, i, day_first);
    all.extend(weekday(t, i, day_first));
    all.extend(relative(t, i));
    all.extend(ahead(t, i));
    all
}

/// The calendar date `spec` means, given the day the message was sent; `None` if there is no
/// such day (`31.02.`, or `29.02.` with no leap year near).
pub(super) fn resolve(spec: DateSpec, today: NaiveDate) -> Option<NaiveDate> {
    match spec {
        DateSpec::Full { year, month, day } => NaiveDate::from_ymd_opt(year, month, day),
        DateSpec::NoYear { month, day } => nearest_year(month, day, today),
        DateSpec::Weekday(weekday) => {
            let back =
                (today.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
            today.checked_sub_days(Days::new(u64::from(back)))
        }
        DateSpec::DaysAgo(n) => today.checked_sub_days(Days::new(u64::from(n))),
        DateSpec::DaysAhead(n) => today.checked_add_days(Days::new(u64::from(n))),
    }
}

/// The year that puts day/month nearest to today: in early January `28.12.` is last year; a
/// date a few days ahead stays in this year (and is then rejected as in the future).
fn nearest_year(month: u32, day: u32, today: NaiveDate) -> Option<NaiveDate> {
    let year = today.year();
    [year.checked_sub(1), Some(year), year.checked_add(1)]
        .into_iter()
        .flatten()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .min_by_key(|d| {
            let days = d.signed_duration_since(today).num_days();
            (days.abs(), days > 0)
        })
}

/// Dates written with numbers or a month name.
fn explicit(t: Tokens<'_, '_>, i: usize, day_first: bool) -> Vec<DateMatch> {
    [
        iso(t, i),
        dotted(t, i),
        slashed(t, i, day_first),
        dashed(t, i),
        day_month_name(t, i),
        month_name_day(t, i),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn full(end: usize, year: i32, month: u32, day: u32) -> DateMatch {
    DateMatch {
        end,
        spec: DateSpec::Full { year, month, day },
        certainty: Certainty::Explicit,
        as_hours: None,
    }
}

fn no_year(end: usize, month: u32, day: u32) -> DateMatch {
    DateMatch {
        end,
        spec: DateSpec::NoYear { month, day },
        certainty: Certainty::Explicit,
        as_hours: None,
    }
}

/// Tokens `from..to` all touch the token before them.
fn all_glued(t: Tokens<'_, '_>, from: usize, to: usize) -> bool {
    (from..to).all(|k| t.glued(k))
}

fn small(digits: &str) -> u32 {
    u32::try_from(digits_value(digits)).unwrap_or(u32::MAX)
}

/// Could be a day and a month, before checking the month's length.
fn plausible(day: u32, month: u32) -> bool {
    (1..=31).contains(&day) && (1..=12).contains(&month)
}

/// A two- or four-digit year; `26` is 2026.
fn year_at(t: Tokens<'_, '_>, k: usize) -> Option<(i32, bool)> {
    if let Some(y) = t.num(k, 4, 4) {
        return Some((small(y) as i32, true));
    }
    t.num(k, 2, 2).map(|y| (2000 + small(y) as i32, false))
}

/// `2026-11-23`, also with `/` or `.`.
fn iso(t: Tokens<'_, '_>, i: usize) -> Option<DateMatch> {
    let year = small(t.num(i, 4, 4)?) as i32;
    let sep = ['-', '/', '.'].into_iter().find(|&c| t.is_sym(i + 1, c))?;
    let month = small(t.num(i + 2, 1, 2)?);
    let day = small(t.num(i + 4, 1, 2)?);
    (t.is_sym(i + 3, sep) && all_glued(t, i + 1, i + 5)).then(|| full(i + 5, year, month, day))
}

/// `23.11.2026`, `23.11.26`, `23.11.`, and `23.11` (which also reads as 23.11 hours).
fn dotted(t: Tokens<'_, '_>, i: usize) -> Option<DateMatch> {
    let day_text = t.num(i, 1, 2)?;
    let month_text = t.num(i + 2, 1, 2)?;
    if !(t.is_sym(i + 1, '.') && all_glued(t, i + 1, i + 3)) {
        return None;
    }
    let (day, month) = (small(day_text), small(month_text));
    if t.is_sym(i + 3, '.') && t.glued(i + 3) {
        if let Some((year, four)) = year_at(t, i + 4).filter(|_| t.glued(i + 4)) {
            // A four-digit year makes it a date whatever the numbers; `31.02.2026` is then
            // reported as impossible rather than ignored.
            return (four || plausible(day, month)).then(|| full(i + 5, year, month, day));
        }
        return plausible(day, month).then(|| no_year(i + 4, month, day));
    }
    (month_text.len() == 2 && plausible(day, month)).then(|| DateMatch {
        as_hours: Some(
            Number {
                int: day_text,
                frac: Some(month_text),
            }
            .hours_to_minutes(),
        ),
        ..no_year(i + 3, month, day)
    })
}

/// `23/11`, `23/11/2026`: day first when the locale says so; if that is impossible (`11/23`)
/// the other way round. `24/7` is not a date.
fn slashed(t: Tokens<'_, '_>, i: usize, day_first: bool) -> Option<DateMatch> {
    let a = small(t.num(i, 1, 2)?);
    let b = small(t.num(i + 2, 1, 2)?);
    if !(t.is_sym(i + 1, '/') && all_glued(t, i + 1, i + 3)) {
        return None;
    }
    let (day, month) = if day_first { (a, b) } else { (b, a) };
    let (day, month) = if plausible(day, month) {
        (day, month)
    } else if plausible(month, day) {
        (month, day)
    } else {
        return None;
    };
    if t.is_sym(i + 3, '/') && all_glued(t, i + 3, i + 5) {
        let (year, _) = year_at(t, i + 4)?;
        return Some(full(i + 5, year, month, day));
    }
    if (a, b) == (24, 7) {
        return None;
    }
    Some(no_year(i + 3, month, day))
}

/// `23-11-2026` (only with a four-digit year: `9-11` is a time range).
fn dashed(t: Tokens<'_, '_>, i: usize) -> Option<DateMatch> {
    let day = small(t.num(i, 1, 2)?);
    let month = small(t.num(i + 2, 1, 2)?);
    let year = small(t.num(i + 4, 4, 4)?) as i32;
    let ok = t.is_sym(i + 1, '-') && t.is_sym(i + 3, '-') && all_glued(t, i + 1, i + 5);
    (ok && plausible(day, month)).then(|| full(i + 5, year, month, day))
}

/// The month a (lower-case) word names, German or English, full or abbreviated.
fn month_of(word: &str) -> Option<u32> {
    Some(match word {
        "jan" | "januar" | "jänner" | "jän" | "january" => 1,
        "feb" | "februar" | "february" => 2,
        "mär" | "märz" | "maerz" | "mrz" | "mar" | "march" => 3,
        "apr" | "april" => 4,
        "mai" | "may" => 5,
        "jun" | "juni" | "june" => 6,
        "jul" | "juli" | "july" => 7,
        "aug" | "august" => 8,
        "sep" | "sept" | "september" => 9,
        "okt" | "oktober" | "oct" | "october" => 10,
        "nov" | "november" => 11,
        "dez" | "dezember" | "dec" | "december" => 12,
        _ => return None,
    })
}

/// A month name at token `j`, with its abbreviation dot.
fn month_at(t: Tokens<'_, '_>, j: usize) -> Option<(usize, u32)> {
    let month = month_of(&t.word(j)?)?;
    let end = if t.is_sym(j + 1, '.') && t.glued(j + 1) {
        j + 2
    } else {
        j + 1
    };
    Some((end, month))
}

/// `23rd`, `1st`: the ordinal ending after a day.
fn ordinal_end(t: Tokens<'_, '_>, j: usize) -> usize {
    let is_ordinal = t.glued(j) && matches!(t.word(j).as_deref(), Some("st" | "nd" | "rd" | "th"));
    if is_ordinal { j + 1 } else { j }
}

/// An optional `, 2026` after a month-name date.
fn with_year(t: Tokens<'_, '_>, k: usize, month: u32, day: u32) -> DateMatch {
    let at = if t.is_sym(k, ',') { k + 1 } else { k };
    match t.num(at, 4, 4) {
        Some(year) => full(at + 1, small(year) as i32, month, day),
        None => no_year(k, month, day),
    }
}

/// `23 Nov`, `23. November`, `23rd of November 2026`.
fn day_month_name(t: Tokens<'_, '_>, i: usize) -> Option<DateMatch> {
    let day = small(t.num(i, 1, 2)?);
    let mut j = i + 1;
    if t.is_sym(j, '.') && t.glued(j) {
        j += 1;
    } else {
        j = ordinal_end(t, j);
    }
    if t.word(j).as_deref() == Some("of") {
        j += 1;
    }
    let (k, month) = month_at(t, j)?;
    plausible(day, month).then(|| with_year(t, k, month, day))
}

/// `Nov 23`, `November 23, 2026`, `Nov. 23rd`.
fn month_name_day(t: Tokens<'_, '_>, i: usize) -> Option<DateMatch> {
    let (j, month) = month_at(t, i)?;
    let day = small(t.num(j, 1, 2)?);
    let k = ordinal_end(t, j + 1);
    plausible(day, month).then(|| with_year(t, k, month, day))
}

/// The weekday a (lower-case) word names, German or English, full or abbreviated.
fn weekday_of(word: &str) -> Option<Weekday> {
    Some(match word {
        "mo" | "mon" | "montag" | "monday" => Weekday::Mon,
        "di" | "tue" | "tues" | "dienstag" | "tuesday" => Weekday::Tue,
        "mi" | "wed" | "mittwoch" | "wednesday" => Weekday::Wed,
        "do" | "thu" | "thur" | "thurs" | "donnerstag" | "thursday" => Weekday::Thu,
        "fr" | "fri" | "freitag" | "friday" => Weekday::Fri,
        "sa" | "sat" | "samstag" | "sonnabend" | "saturday" => Weekday::Sat,
        "so" | "sun" | "sonntag" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

/// Abbreviations that are also everyday words ("I do", "so", "sat", "sun", "wed").
const WORDLIKE_WEEKDAYS: [&str; 5] = ["do", "so", "sat", "sun", "wed"];

/// `Mo`, `Mon.`, `Montag`, `Monday`; `Monday, 23 Nov` and `Mo 23.11.` are the explicit date.
/// A span like `Mo-Fr` is no date.
fn weekday(t: Tokens<'_, '_>, i: usize, day_first: bool) -> Option<DateMatch> {
    let raw = t.raw_word(i)?;
    let lower = Lower::of(raw);
    let day = weekday_of(&lower)?;
    let certainty = if !WORDLIKE_WEEKDAYS.contains(&lower.as_str()) {
        Certainty::Relative
    } else if raw.starts_with(char::is_uppercase) {
        Certainty::Uncertain
    } else {
        return None;
    };
    let mut j = i + 1;
    if t.is_sym(j, '.') && t.glued(j) {
        j += 1;
    }
    let is_span_sep = |k: usize| {
        t.is_sym_in(k, &['-', '–', '—', '/']) || matches!(t.word(k).as_deref(), Some("bis" | "to"))
    };
    let weekday_at = |k: usize| t.word(k).is_some_and(|w| weekday_of(&w).is_some());
    if (is_span_sep(j) && weekday_at(j + 1)) || (i >= 2 && is_span_sep(i - 1) && weekday_at(i - 2))
    {
        return None;
    }
    let mut k = j;
    if t.is_sym(k, ',') {
        k += 1;
    }
    if matches!(t.word(k).as_deref(), Some("den" | "the")) {
        k += 1;
    }
    let spelled_out = explicit(t, k, day_first)
        .into_iter()
        .filter(|m| t.ends_word(m.end))
        .max_by_key(|m| m.end);
    Some(match spelled_out {
        Some(m) => DateMatch {
            as_hours: None,
            ..m
        },
        None => DateMatch {
            end: j,
            spec: DateSpec::Weekday(day),
            certainty,
            as_hours: None,
        },
    })
}

/// `heute`/`today`, `gestern`/`yesterday`, `vorgestern`.
fn relative(t: Tokens<'_, '_>, i: usize) -> Option<DateMatch> {
    let days = match t.word(i)?.as_str() {
        "heute" | "today" => 0,
        "gestern" | "yesterday" => 1,
        "vorgestern" => 2,
        _ => return None,
    };
    Some(DateMatch {
        end: i + 1,
        spec: DateSpec::DaysAgo(days),
        certainty: Certainty::Relative,
        as_hours: None,
    })
}

/// Words after which `morgen`/`tomorrow` is part of a phrase, not the day of the work:
/// `für morgen`, `bis morgen`, `for tomorrow`, `heute Morgen`, `am Morgen`, `Guten Morgen`.
const NOT_A_DAY_AFTER: [&str; 24] = [
    "für",
    "fuer",
    "bis",
    "auf",
    "ab",
    "von",
    "seit",
    "vor",
    "nach",
    "guten",
    "heute",
    "gestern",
    "vorgestern",
    "am",
    "jeden",
    "den",
    "diesen",
    "ganzen",
    "for",
    "until",
    "till",
    "by",
    "before",
    "after",
];

/// `morgen`/`tomorrow`, `übermorgen`: a day after today, which the flow rejects as in the
/// future rather than reading the line as undated. Not where the word is something else: the
/// noun `Morgen` (capitalised inside a line: `den ganzen Morgen`), the greeting (`Morgen,` or
/// `Morgen!` at the start), or a phrase after one of [`NOT_A_DAY_AFTER`] (`Vorbereitung für
/// morgen` is today's work for tomorrow).
fn ahead(t: Tokens<'_, '_>, i: usize) -> Option<DateMatch> {
    let raw = t.raw_word(i)?;
    let lower = Lower::of(raw);
    let days = match lower.as_str() {
        "morgen" | "tomorrow" => 1,
        "übermorgen" | "uebermorgen" => 2,
        _ => return None,
    };
    let first = (0..i).all(|k| {
        !t.get(k)
            .is_some_and(|tok| matches!(tok.kind, Kind::Word | Kind::Tag | Kind::Opaque))
    });
    let capitalised = raw.starts_with(char::is_uppercase);
    let noun = lower.as_str() == "morgen" && capitalised && !first;
    let greeting =
        lower.as_str() == "morgen" && capitalised && first && t.is_sym_in(i + 1, &[',', '!']);
    let in_phrase = i
        .checked_sub(1)
        .and_then(|k| t.word(k))
        .is_some_and(|w| NOT_A_DAY_AFTER.contains(&w.as_str()));
    if noun || greeting || in_phrase {
        return None;
    }
    Some(DateMatch {
        end: i + 1,
        spec: DateSpec::DaysAhead(days),
        certainty: Certainty::Relative,
        as_hours: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::token::tokenize;
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Thursday.
    fn today() -> NaiveDate {
        ymd(2026, 11, 26)
    }

    /// The longest date reading of the whole text, resolved.
    fn date(text: &str, day_first: bool, today: NaiveDate) -> Option<NaiveDate> {
        let tokens = tokenize(text);
        let t = Tokens(&tokens);
        let m = candidates(t, 0, day_first)
            .into_iter()
            .filter(|m| m.end == tokens.len())
            .max_by_key(|m| m.end)?;
        resolve(m.spec, today)
    }

    #[test]
    fn every_documented_form() {
        let nov23 = Some(ymd(2026, 11, 23));
        for text in [
            "2026-11-23",
            "2026/11/23",
            "23.11.2026",
            "23.11.26",
            "23.11.",
            "23.11",
            "23/11",
            "23/11/2026",
            "11/23",
            "23-11-2026",
            "Nov 23",
            "nov. 23rd",
            "23 Nov",
            "23. November",
            "23rd of November 2026",
            "November 23, 2026",
            "Monday, 23 Nov",
            "Mo 23.11.",
            "Montag, den 23.11.",
            "Mo",
            "Mo.",
            "Mon",
            "montag",
            "Monday",
            "23. Nov.",
        ] {
            assert_eq!(date(text, true, today()), nov23, "{text}");
        }
        assert_eq!(date("heute", true, today()), Some(today()));
        assert_eq!(date("Today", true, today()), Some(today()));
        assert_eq!(date("gestern", true, today()), Some(ymd(2026, 11, 25)));
        assert_eq!(date("vorgestern", true, today()), Some(ymd(2026, 11, 24)));
        assert_eq!(date("yesterday", true, today()), Some(ymd(2026, 11, 25)));
        assert_eq!(date("3. Oktober", true, today()), Some(ymd(2026, 10, 3)));
        assert_eq!(date("3. März", true, today()), Some(ymd(2027, 3, 3)));
        assert_eq!(date("Dez 1", true, today()), Some(ymd(2026, 12, 1)));
    }

    #[test]
    fn tomorrow_is_a_day_ahead_unless_the_word_means_something_else() {
        assert_eq!(date("morgen", true, today()), Some(ymd(2026, 11, 27)));
        assert_eq!(date("Morgen", true, today()), Some(ymd(2026, 11, 27)));
        assert_eq!(date("tomorrow", true, today()), Some(ymd(2026, 11, 27)));
        assert_eq!(date("übermorgen", true, today()), Some(ymd(2026, 11, 28)));
        // Each word at `at` of `text`: not a day.
        for (text, at) in [
            ("Guten Morgen", 1),
            ("guten morgen", 1),
            ("heute Morgen", 1),
            ("den ganzen Morgen", 2),
            ("Vorbereitung für morgen", 2),
            ("prep for tomorrow", 2),
            ("bis morgen", 1),
        ] {
            let tokens = tokenize(text);
            let found = candidates(Tokens(&tokens), at, true);
            assert!(found.is_empty(), "{text}: {found:?}");
        }
        // The greeting alone on its line.
        for text in ["Morgen,", "Morgen!"] {
            let tokens = tokenize(text);
            assert!(candidates(Tokens(&tokens), 0, true).is_empty(), "{text}");
        }
    }

    #[test]
    fn weekdays_are_the_most_recent_such_day_today_included() {
        let cases = [
            ("Mo", 23),
            ("Di", 24),
            ("Tue", 24),
            ("Mi", 25),
            ("Wednesday", 25),
            ("Do", 26),
            ("Thu", 26),
            ("Fr", 20),
            ("Freitag", 20),
            ("Sa", 21),
            ("Sat", 21),
            ("So", 22),
            ("Sonntag", 22),
            ("Sunday", 22),
        ];
        for (text, day) in cases {
            assert_eq!(
                date(text, true, today()),
                Some(ymd(2026, 11, day)),
                "{text}"
            );
        }
    }

    #[test]
    fn wordlike_weekdays_need_a_capital() {
        assert_eq!(date("do", true, today()), None);
        assert_eq!(date("so", true, today()), None);
        assert_eq!(date("mo", true, today()), Some(ymd(2026, 11, 23)));
    }

    #[test]
    fn weekday_spans_are_not_dates() {
        let tokens = tokenize("Mo-Fr");
        assert!(candidates(Tokens(&tokens), 0, true).is_empty());
        assert!(candidates(Tokens(&tokens), 2, true).is_empty());
    }

    #[test]
    fn year_nearest_to_today() {
        let jan3 = ymd(2027, 1, 3);
        assert_eq!(date("28.12.", true, jan3), Some(ymd(2026, 12, 28)));
        assert_eq!(date("2.1.", true, jan3), Some(ymd(2027, 1, 2)));
        assert_eq!(
            date("5 Jan", true, ymd(2026, 12, 30)),
            Some(ymd(2027, 1, 5))
        );
        // A few days ahead stays in this year (and is rejected as future later).
        assert_eq!(date("30.11.", true, today()), Some(ymd(2026, 11, 30)));
        assert_eq!(date("29.02.", true, today()), None);
        assert_eq!(
            date("29.02.", true, ymd(2028, 3, 1)),
            Some(ymd(2028, 2, 29))
        );
    }

    #[test]
    fn slashes_follow_the_locale_unless_impossible() {
        assert_eq!(date("3/11", true, today()), Some(ymd(2026, 11, 3)));
        assert_eq!(date("11/3", false, today()), Some(ymd(2026, 11, 3)));
        // Nearest to today, even when that is ahead (and then rejected as future).
        assert_eq!(date("3/4", true, today()), Some(ymd(2027, 4, 3)));
        assert_eq!(date("11/23", true, today()), Some(ymd(2026, 11, 23)));
        assert_eq!(date("23/11", false, today()), Some(ymd(2026, 11, 23)));
        assert_eq!(date("24/7", true, today()), None);
    }

    #[test]
    fn impossible_dates_match_but_do_not_resolve() {
        assert_eq!(date("31.02.", true, today()), None);
        assert_eq!(date("2026-02-30", true, today()), None);
        assert_eq!(date("45.67.2026", true, today()), None);
        let tokens = tokenize("31.02.");
        assert_eq!(candidates(Tokens(&tokens), 0, true).len(), 1);
    }

    #[test]
    fn undotted_day_month_also_reads_as_hours() {
        let tokens = tokenize("23.11");
        let m = candidates(Tokens(&tokens), 0, true)[0];
        assert_eq!(m.as_hours, Some(23 * 60 + 7));
        let tokens = tokenize("1.5");
        assert!(candidates(Tokens(&tokens), 0, true).is_empty());
    }

    #[test]
    fn resolving_never_panics_at_the_ends_of_the_calendar() {
        for today in [NaiveDate::MIN, NaiveDate::MAX] {
            for spec in [
                DateSpec::NoYear { month: 1, day: 1 },
                DateSpec::NoYear { month: 12, day: 31 },
                DateSpec::Weekday(Weekday::Sun),
                DateSpec::DaysAgo(2),
                DateSpec::DaysAhead(2),
            ] {
                let _ = resolve(spec, today);
            }
        }
    }
}
