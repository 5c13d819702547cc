//! Cadences, send windows and conversions on real dates: DST in Berlin, New York, Santiago
//! (a gap at midnight), Auckland (southern hemisphere), Lord Howe (a half-hour change), Kolkata
//! (a half-hour offset); month ends and year ends; and property tests against brute force.

use std::collections::HashMap;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::{America, Asia, Australia, Europe, Pacific, Tz};
use proptest::prelude::*;

use super::*;

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dt(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    ymd(y, m, d).and_hms_opt(h, min, 0).unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    dt(y, m, d, h, min).and_utc()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn cadence(text: &str) -> Cadence {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn window(text: &str) -> SendWindow {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

/// The occurrences after `after`, one per call, as local times.
fn series(
    c: &Cadence,
    anchor: NaiveDateTime,
    after: NaiveDateTime,
    n: usize,
) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let mut last = after;
    for _ in 0..n {
        last = c.next_after(anchor, last);
        out.push(last);
    }
    out
}

// --- parsing ---

#[test]
fn every_form_parses_and_prints_canonically() {
    let cases = [
        ("weekly:fri 10:00", "weekly:fri 10:00"),
        ("  Weekly : FRI   10:00 ", "weekly:fri 10:00"),
        ("weekly fri 10:00", "weekly:fri 10:00"),
        ("weekly:friday 10:00", "weekly:fri 10:00"),
        ("weekly:Freitag 10:00", "weekly:fri 10:00"),
        ("weekly:Fr 10:00", "weekly:fri 10:00"),
        ("weekly:mon,thu 09:30", "weekly:mon,thu 09:30"),
        ("weekly:Mo, Do 9:30", "weekly:mon,thu 09:30"),
        ("weekly:thu,mon 09:30", "weekly:mon,thu 09:30"),
        ("weekly:sat,sun 09:30", "weekly:sat,sun 09:30"),
        ("weekly:mon-fri 09:00", "weekly:mon-fri 09:00"),
        ("weekly:mo - fr 09:00", "weekly:mon-fri 09:00"),
        ("weekly:fri-mon 09:00", "weekly:mon,fri-sun 09:00"),
        ("weekly:mon,tue,wed,fri 09:00", "weekly:mon-wed,fri 09:00"),
        ("monthly:first mon 10:00", "monthly:first mon 10:00"),
        ("MONTHLY: First  Monday 10:00", "monthly:first mon 10:00"),
        ("monthly:1st mon 10:00", "monthly:first mon 10:00"),
        ("monthly:2nd Di 10:00", "monthly:second tue 10:00"),
        ("monthly:third wed 10:00", "monthly:third wed 10:00"),
        ("monthly:fourth thu 10:00", "monthly:fourth thu 10:00"),
        ("monthly:last fri 10:00", "monthly:last fri 10:00"),
        ("monthly:15 10:00", "monthly:15 10:00"),
        ("monthly:15th 10:00", "monthly:15 10:00"),
        ("monthly:01 10:00", "monthly:1 10:00"),
        ("monthly:31 23:59", "monthly:31 23:59"),
        ("every 3d", "every 3d"),
        ("every 3 days", "every 3d"),
        ("EVERY 3 D", "every 3d"),
        ("every 2w", "every 2w"),
        ("every 2 weeks", "every 2w"),
        ("every 14d", "every 2w"),
        ("every 3d 10:00", "every 3d 10:00"),
        ("every 2w  7:05", "every 2w 07:05"),
        ("every week", "every 1w"),
        ("every day 09:00", "every 1d 09:00"),
        ("every 366d", "every 366d"),
        ("every 52w", "every 52w"),
    ];
    for (input, canonical) in cases {
        let parsed = cadence(input);
        assert_eq!(parsed.to_string(), canonical, "{input:?}");
        assert_eq!(cadence(canonical), parsed, "{canonical:?} round trip");
    }
}

#[test]
fn parsed_values() {
    assert_eq!(
        cadence("weekly:mon,thu 09:30"),
        Cadence::Weekly {
            days: Weekdays::new([Weekday::Thu, Weekday::Mon]).unwrap(),
            at: hm(9, 30)
        }
    );
    assert_eq!(
        cadence("monthly:last fri 10:00"),
        Cadence::MonthlyWeekday {
            nth: Nth::Last,
            weekday: Weekday::Fri,
            at: hm(10, 0)
        }
    );
    assert_eq!(
        cadence("monthly:31 10:00"),
        Cadence::MonthlyDay {
            day: 31,
            at: hm(10, 0)
        }
    );
    assert_eq!(
        cadence("every 2w 10:00"),
        Cadence::Every {
            days: 14,
            at: Some(hm(10, 0))
        }
    );
    assert_eq!(cadence("every 3d"), Cadence::Every { days: 3, at: None });
    assert_eq!(Weekdays::new([]), None);
}

#[test]
fn bad_cadences_say_what_is_wrong() {
    let cases = [
        ("", "unknown cadence ''"),
        (
            "hourly",
            "unknown cadence 'hourly': use one of 'weekly:fri 10:00'",
        ),
        ("weeklyfri 10:00", "unknown cadence 'weeklyfri 10:00'"),
        (
            "weekly:fri",
            "cadence 'weekly:fri' has no time: add one as HH:MM, e.g. 'weekly:fri 10:00'",
        ),
        (
            "weekly:10:00",
            "cadence 'weekly:10:00' names no day: write it as 'weekly:fri 10:00'",
        ),
        ("monthly:15", "cadence 'monthly:15' has no time"),
        ("weekly:fry 10:00", "unknown weekday 'fry': use mon tue wed"),
        ("weekly:mon thu 10:00", "unknown weekday 'mon thu'"),
        ("weekly:mon,,thu 10:00", "empty weekday in 'mon,,thu'"),
        ("weekly:mon, 10:00", "empty weekday in 'mon,'"),
        (
            "weekly:fri 25:00",
            "'25:00' is not a time: write HH:MM (24 hours)",
        ),
        ("weekly:fri 10:7", "'10:7' is not a time"),
        ("weekly:fri 10", "'10' is not a time"),
        ("weekly:fri 10:00pm", "'10:00pm' is not a time"),
        ("weekly:fri -1:00", "'-1:00' is not a time"),
        (
            "monthly:32 10:00",
            "'32' is not a day of the month: use 1 to 31",
        ),
        ("monthly:0 10:00", "'0' is not a day of the month"),
        ("monthly:150 10:00", "'150' is not a day of the month"),
        (
            "monthly:fifth mon 10:00",
            "'fifth' is not a position in the month",
        ),
        ("monthly:last 10:00", "'last' is not a monthly day"),
        ("monthly:last fry 10:00", "unknown weekday 'fry'"),
        ("monthly:last fri", "cadence 'monthly:last fri' has no time"),
        ("every 0d", "interval '0d' is empty"),
        (
            "every 400d",
            "interval '400d' is too long: use at most 366 days",
        ),
        ("every 53w", "interval '53w' is too long"),
        ("every 99999999999d", "interval '99999999999d' is too long"),
        (
            "every 3x",
            "'3x' is not an interval: write a number of days or weeks",
        ),
        ("every 3d 10", "'3d 10' is not an interval"),
        ("every", "'' is not an interval"),
        ("every 3d 24:00", "'24:00' is not a time"),
    ];
    for (input, expected) in cases {
        let err = input.parse::<Cadence>().unwrap_err().0;
        assert!(err.contains(expected), "{input:?}: {err}");
        assert!(!err.starts_with(char::is_uppercase), "{input:?}: {err}");
    }
    let long = format!("weekly:{} 10:00", "x".repeat(500));
    let err = long.parse::<Cadence>().unwrap_err().0;
    assert!(err.len() < 300 && err.contains("..."), "{err}");
}

#[test]
fn config_keys_deserialize_through_from_str() {
    #[derive(serde::Deserialize)]
    struct Config {
        cadences: HashMap<String, Cadence>,
        window: SendWindow,
    }
    let config: Config = serde_json::from_str(
        r#"{"cadences": {"report": "weekly:fri 10:00", "survey": "monthly:last fri 10:00"},
            "window": "mo-fr 08:00-18:00"}"#,
    )
    .unwrap();
    assert_eq!(config.cadences["report"], cadence("weekly:fri 10:00"));
    assert_eq!(config.window.to_string(), "mon-fri 08:00-18:00");
    let err = serde_json::from_str::<Cadence>(r#""weekly:fry 10:00""#).unwrap_err();
    assert!(err.to_string().contains("unknown weekday 'fry'"), "{err}");
    let err = serde_json::from_str::<SendWindow>(r#""mon-fri 18:00-08:00""#).unwrap_err();
    assert!(err.to_string().contains("overnight"), "{err}");
}

// --- cadences on real dates ---

#[test]
fn weekly_is_ten_o_clock_local_on_both_sides_of_the_october_change() {
    let c = cadence("weekly:fri 10:00");
    let anchor = dt(2026, 1, 1, 0, 0);
    let [before, after] = series(&c, anchor, dt(2026, 10, 21, 12, 0), 2)[..] else {
        unreachable!()
    };
    assert_eq!(before, dt(2026, 10, 23, 10, 0));
    assert_eq!(after, dt(2026, 10, 30, 10, 0));
    // CEST (UTC+2) before 2026-10-25, CET (UTC+1) after.
    assert_eq!(
        local_to_utc(before, Europe::Berlin),
        utc(2026, 10, 23, 8, 0)
    );
    assert_eq!(local_to_utc(after, Europe::Berlin), utc(2026, 10, 30, 9, 0));
    // New York changes a week later, on 2026-11-01.
    assert_eq!(
        local_to_utc(dt(2026, 10, 30, 10, 0), America::New_York),
        utc(2026, 10, 30, 14, 0)
    );
    assert_eq!(
        local_to_utc(dt(2026, 11, 6, 10, 0), America::New_York),
        utc(2026, 11, 6, 15, 0)
    );
    // Auckland is the other way round: NZDT (+13) ends 2026-04-05, NZST (+12) follows.
    let monday = cadence("weekly:mon 09:00");
    let [a, b] = series(&monday, anchor, dt(2026, 3, 28, 0, 0), 2)[..] else {
        unreachable!()
    };
    assert_eq!(local_to_utc(a, Pacific::Auckland), utc(2026, 3, 29, 20, 0));
    assert_eq!(local_to_utc(b, Pacific::Auckland), utc(2026, 4, 5, 21, 0));
    // Kolkata: half an hour, no DST.
    assert_eq!(
        local_to_utc(before, Asia::Kolkata),
        utc(2026, 10, 23, 4, 30)
    );
}

#[test]
fn next_after_is_strictly_after() {
    let c = cadence("weekly:fri 10:00");
    let anchor = dt(2026, 1, 1, 0, 0);
    assert_eq!(
        c.next_after(anchor, dt(2026, 10, 23, 10, 0)),
        dt(2026, 10, 30, 10, 0)
    );
    let just_before = dt(2026, 10, 23, 9, 59) + chrono::Duration::seconds(59);
    assert_eq!(c.next_after(anchor, just_before), dt(2026, 10, 23, 10, 0));
    let monthly = cadence("monthly:15 10:00");
    assert_eq!(
        monthly.next_after(anchor, dt(2026, 3, 15, 10, 0)),
        dt(2026, 4, 15, 10, 0)
    );
    let every = cadence("every 3d");
    let anchor = dt(2026, 3, 1, 10, 0);
    assert_eq!(
        every.next_after(anchor, dt(2026, 3, 4, 10, 0)),
        dt(2026, 3, 7, 10, 0)
    );
}

#[test]
fn several_weekdays() {
    let c = cadence("weekly:mon,thu 09:30");
    let got = series(&c, dt(2026, 1, 1, 0, 0), dt(2026, 10, 19, 9, 30), 3);
    assert_eq!(
        got,
        [
            dt(2026, 10, 22, 9, 30),
            dt(2026, 10, 26, 9, 30),
            dt(2026, 10, 29, 9, 30)
        ]
    );
}

#[test]
fn monthly_last_friday() {
    let c = cadence("monthly:last fri 10:00");
    let got = series(&c, dt(2026, 1, 1, 0, 0), dt(2026, 1, 1, 0, 0), 3);
    assert_eq!(
        got,
        [
            dt(2026, 1, 30, 10, 0),
            dt(2026, 2, 27, 10, 0),
            dt(2026, 3, 27, 10, 0)
        ]
    );
    // July 2026 has five Fridays (3, 10, 17, 24, 31).
    assert_eq!(
        c.next_after(dt(2026, 1, 1, 0, 0), dt(2026, 7, 24, 10, 0)),
        dt(2026, 7, 31, 10, 0)
    );
    // Over the year end: 2026-12-25, then 2027-01-29.
    let got = series(&c, dt(2026, 1, 1, 0, 0), dt(2026, 12, 1, 0, 0), 2);
    assert_eq!(got, [dt(2026, 12, 25, 10, 0), dt(2027, 1, 29, 10, 0)]);
}

#[test]
fn monthly_first_monday_when_the_first_is_a_monday() {
    assert_eq!(ymd(2026, 6, 1).weekday(), Weekday::Mon);
    let c = cadence("monthly:first mon 10:00");
    let anchor = dt(2026, 1, 1, 0, 0);
    assert_eq!(
        c.next_after(anchor, dt(2026, 5, 20, 0, 0)),
        dt(2026, 6, 1, 10, 0)
    );
    assert_eq!(
        c.next_after(anchor, dt(2026, 6, 1, 9, 0)),
        dt(2026, 6, 1, 10, 0)
    );
    assert_eq!(
        c.next_after(anchor, dt(2026, 6, 1, 10, 0)),
        dt(2026, 7, 6, 10, 0)
    );
    // The fourth Monday of June is the 22nd, the second Tuesday the 9th.
    let fourth = cadence("monthly:fourth mon 10:00");
    assert_eq!(
        fourth.next_after(anchor, dt(2026, 6, 1, 0, 0)),
        dt(2026, 6, 22, 10, 0)
    );
    let second = cadence("monthly:second tue 10:00");
    assert_eq!(
        second.next_after(anchor, dt(2026, 6, 1, 0, 0)),
        dt(2026, 6, 9, 10, 0)
    );
}

#[test]
fn monthly_31_is_the_last_day_of_shorter_months() {
    let c = cadence("monthly:31 10:00");
    let got = series(&c, dt(2026, 1, 1, 0, 0), dt(2026, 1, 31, 10, 0), 4);
    assert_eq!(
        got,
        [
            dt(2026, 2, 28, 10, 0),
            dt(2026, 3, 31, 10, 0),
            dt(2026, 4, 30, 10, 0),
            dt(2026, 5, 31, 10, 0)
        ]
    );
    assert_eq!(
        c.next_after(dt(2028, 1, 1, 0, 0), dt(2028, 2, 1, 0, 0)),
        dt(2028, 2, 29, 10, 0)
    );
    let thirtieth = cadence("monthly:30 10:00");
    assert_eq!(
        thirtieth.next_after(dt(2026, 1, 1, 0, 0), dt(2026, 2, 1, 0, 0)),
        dt(2026, 2, 28, 10, 0)
    );
    let fifteenth = cadence("monthly:15 10:00");
    assert_eq!(
        fifteenth.next_after(dt(2026, 1, 1, 0, 0), dt(2026, 12, 15, 10, 0)),
        dt(2027, 1, 15, 10, 0)
    );
}

#[test]
fn every_counts_calendar_days_across_dst() {
    let c = cadence("every 3d");
    let anchor = dt(2026, 10, 22, 10, 0);
    let got = series(&c, anchor, anchor, 2);
    assert_eq!(got, [dt(2026, 10, 25, 10, 0), dt(2026, 10, 28, 10, 0)]);
    let anchor_utc = local_to_utc(anchor, Europe::Berlin);
    assert_eq!(anchor_utc, utc(2026, 10, 22, 8, 0));
    // 10:00 local on the day of the change is 09:00 UTC: 73 hours, not 72.
    assert_eq!(
        local_to_utc(got[0], Europe::Berlin),
        utc(2026, 10, 25, 9, 0)
    );
    // In spring, 71 hours.
    let anchor = dt(2026, 3, 27, 10, 0);
    assert_eq!(
        local_to_utc(c.next_after(anchor, anchor), Europe::Berlin),
        utc(2026, 3, 30, 8, 0)
    );
}

#[test]
fn every_with_a_time_and_an_anchor_in_the_future() {
    let c = cadence("every 2w 10:00");
    let anchor = dt(2026, 1, 5, 15, 0);
    // k >= 1: the anchor's own day is not an occurrence, even at 10:00.
    assert_eq!(
        c.next_after(anchor, dt(2026, 1, 5, 0, 0)),
        dt(2026, 1, 19, 10, 0)
    );
    assert_eq!(
        c.next_after(anchor, dt(2025, 12, 1, 0, 0)),
        dt(2026, 1, 19, 10, 0)
    );
    assert_eq!(
        c.next_after(anchor, dt(2026, 3, 2, 10, 0)),
        dt(2026, 3, 16, 10, 0)
    );
    assert_eq!(
        c.next_after(anchor, dt(2026, 3, 2, 9, 0)),
        dt(2026, 3, 2, 10, 0)
    );
    // Without a time, the anchor's time of day.
    let c = cadence("every 1w");
    assert_eq!(
        c.next_after(anchor, dt(2026, 2, 1, 0, 0)),
        dt(2026, 2, 2, 15, 0)
    );
}

#[test]
fn between_is_half_open_ordered_and_bounded() {
    let c = cadence("weekly:fri 10:00");
    let anchor = dt(2026, 1, 1, 0, 0);
    let got = c.between(anchor, dt(2026, 10, 2, 10, 0), dt(2026, 10, 30, 10, 0));
    assert_eq!(
        got,
        [
            dt(2026, 10, 9, 10, 0),
            dt(2026, 10, 16, 10, 0),
            dt(2026, 10, 23, 10, 0),
            dt(2026, 10, 30, 10, 0)
        ]
    );
    assert!(
        c.between(anchor, dt(2026, 10, 30, 10, 0), dt(2026, 10, 1, 0, 0))
            .is_empty()
    );
    let daily = cadence("every 1d");
    let got = daily.between(anchor, anchor, dt(2100, 1, 1, 0, 0));
    assert_eq!(got.len(), MAX_BETWEEN);
    // At the end of the calendar there is nothing more, and nothing panics.
    let end = NaiveDateTime::MAX;
    assert!(c.between(anchor, end - Days::new(3), end).len() <= 1);
    assert_eq!(c.next_after(anchor, end), NaiveDateTime::MAX);
    assert_eq!(
        daily.next_after(NaiveDateTime::MIN, end),
        NaiveDateTime::MAX
    );
    assert_eq!(
        cadence("monthly:last fri 10:00").next_after(anchor, end),
        NaiveDateTime::MAX
    );
}

#[test]
fn year_ends_and_iso_weeks() {
    // 2026 begins on a Thursday, so it has 53 ISO weeks, and 2027-01-01 (a Friday) is in the last.
    let c = cadence("weekly:fri 10:00");
    let friday = c.next_after(dt(2026, 1, 1, 0, 0), dt(2026, 12, 30, 0, 0));
    assert_eq!(friday, dt(2027, 1, 1, 10, 0));
    assert_eq!(iso_week(friday.date()), "2026-W53");
    assert_eq!(month(friday.date()), "2027-01");
    assert_eq!(iso_week(ymd(2026, 12, 28)), "2026-W53");
    assert_eq!(iso_week(ymd(2027, 1, 3)), "2026-W53");
    assert_eq!(iso_week(ymd(2027, 1, 4)), "2027-W01");
    assert_eq!(iso_week(ymd(2025, 12, 29)), "2026-W01");
    assert_eq!(iso_week(ymd(2026, 12, 1)), "2026-W49");
    assert_eq!(iso_week(ymd(2026, 3, 2)), "2026-W10");
    assert_eq!(month(ymd(2026, 12, 31)), "2026-12");
    assert_eq!(month(ymd(2026, 3, 2)), "2026-03");
}

// --- conversions ---

#[test]
fn gaps_move_forward_and_folds_take_the_earlier_time() {
    let cases: [(Tz, NaiveDateTime, DateTime<Utc>); 14] = [
        // Berlin: 02:00 -> 03:00 on 2026-03-29; 03:00 -> 02:00 on 2026-10-25.
        (
            Europe::Berlin,
            dt(2026, 3, 29, 2, 30),
            utc(2026, 3, 29, 1, 0),
        ),
        (
            Europe::Berlin,
            dt(2026, 3, 29, 2, 0),
            utc(2026, 3, 29, 1, 0),
        ),
        (
            Europe::Berlin,
            dt(2026, 3, 29, 3, 0),
            utc(2026, 3, 29, 1, 0),
        ),
        (
            Europe::Berlin,
            dt(2026, 10, 25, 2, 30),
            utc(2026, 10, 25, 0, 30),
        ),
        // New York: 02:00 -> 03:00 on 2026-03-08; 02:00 -> 01:00 on 2026-11-01.
        (
            America::New_York,
            dt(2026, 3, 8, 2, 30),
            utc(2026, 3, 8, 7, 0),
        ),
        (
            America::New_York,
            dt(2026, 11, 1, 1, 30),
            utc(2026, 11, 1, 5, 30),
        ),
        // Santiago: midnight -> 01:00 on 2026-09-06; midnight -> 23:00 on 2026-04-05.
        (
            America::Santiago,
            dt(2026, 9, 6, 0, 0),
            utc(2026, 9, 6, 4, 0),
        ),
        (
            America::Santiago,
            dt(2026, 9, 6, 0, 30),
            utc(2026, 9, 6, 4, 0),
        ),
        (
            America::Santiago,
            dt(2026, 4, 4, 23, 30),
            utc(2026, 4, 5, 2, 30),
        ),
        // Auckland: 02:00 -> 03:00 on 2026-09-27; 03:00 -> 02:00 on 2026-04-05.
        (
            Pacific::Auckland,
            dt(2026, 9, 27, 2, 30),
            utc(2026, 9, 26, 14, 0),
        ),
        (
            Pacific::Auckland,
            dt(2026, 4, 5, 2, 30),
            utc(2026, 4, 4, 13, 30),
        ),
        // Lord Howe: 02:00 -> 02:30 on 2026-10-04 (+10:30 -> +11).
        (
            Australia::Lord_Howe,
            dt(2026, 10, 4, 2, 15),
            utc(2026, 10, 3, 15, 30),
        ),
        // Kolkata: +05:30 all year.
        (
            Asia::Kolkata,
            dt(2026, 3, 29, 2, 30),
            utc(2026, 3, 28, 21, 0),
        ),
        // Samoa skipped 2011-12-30 entirely.
        (
            Pacific::Apia,
            dt(2011, 12, 30, 12, 0),
            utc(2011, 12, 30, 10, 0),
        ),
    ];
    for (tz, local, expected) in cases {
        assert_eq!(local_to_utc(local, tz), expected, "{local} in {tz}");
    }
    assert_eq!(
        to_local(utc(2026, 3, 29, 1, 0), Europe::Berlin),
        dt(2026, 3, 29, 3, 0)
    );
    assert_eq!(
        to_local(utc(2026, 10, 25, 1, 30), Europe::Berlin),
        dt(2026, 10, 25, 2, 30)
    );
    assert_eq!(
        to_local(utc(2026, 10, 23, 4, 30), Asia::Kolkata),
        dt(2026, 10, 23, 10, 0)
    );
}

#[test]
fn conversions_at_the_ends_of_the_calendar_do_not_panic() {
    for tz in [
        Asia::Kolkata,
        America::New_York,
        Pacific::Kiritimati,
        Pacific::Apia,
    ] {
        let _ = local_to_utc(NaiveDateTime::MAX, tz);
        let _ = local_to_utc(NaiveDateTime::MIN, tz);
        let _ = to_local(DateTime::<Utc>::MAX_UTC, tz);
        let _ = to_local(DateTime::<Utc>::MIN_UTC, tz);
        let w = window("daily 08:00-18:00");
        let _ = w.next_open(DateTime::<Utc>::MAX_UTC, tz);
        let _ = w.next_open(DateTime::<Utc>::MIN_UTC, tz);
    }
}

// --- send windows ---

#[test]
fn windows_parse_and_print_canonically() {
    let cases = [
        ("mon-fri 08:00-18:00", "mon-fri 08:00-18:00"),
        ("Mo-Fr 08:00-18:00", "mon-fri 08:00-18:00"),
        (" mon - fri  8:00 - 18:00 ", "mon-fri 08:00-18:00"),
        ("mon,wed,fri 09:00-17:00", "mon,wed,fri 09:00-17:00"),
        ("daily 08:00-20:00", "daily 08:00-20:00"),
        ("DAILY 08:00-20:00", "daily 08:00-20:00"),
        ("mon-sun 08:00-20:00", "daily 08:00-20:00"),
        ("sa,so 10:00-12:00", "sat,sun 10:00-12:00"),
    ];
    for (input, canonical) in cases {
        let parsed = window(input);
        assert_eq!(parsed.to_string(), canonical, "{input:?}");
        assert_eq!(window(canonical), parsed, "{canonical:?} round trip");
    }
    let w = window("mon-fri 08:00-18:00");
    assert_eq!((w.start(), w.end()), (hm(8, 0), hm(18, 0)));
    assert!(w.days().contains(Weekday::Fri) && !w.days().contains(Weekday::Sat));
}

#[test]
fn bad_windows_say_what_is_wrong() {
    let cases = [
        (
            "mon-fri 18:00-08:00",
            "send window 18:00-08:00 does not end after it starts",
        ),
        ("mon-fri 22:00-06:00", "(no overnight windows)"),
        (
            "mon-fri 08:00-08:00",
            "send window 08:00-08:00 does not end after it starts",
        ),
        (
            "mon-fri 08:00",
            "'08:00' is not a time range: write HH:MM-HH:MM",
        ),
        ("08:00-18:00", "send window '08:00-18:00' names no days"),
        ("weekdays 08:00-18:00", "unknown weekday 'weekdays'"),
        ("mon-fri", "send window 'mon-fri' has no times"),
        ("", "send window '' has no times"),
        ("mon-fri 08:00-18:60", "'18:60' is not a time"),
        ("mon-fri 08:00-24:00", "'24:00' is not a time"),
        ("mon-fri 8-18", "'8' is not a time"),
    ];
    for (input, expected) in cases {
        let err = input.parse::<SendWindow>().unwrap_err().0;
        assert!(err.contains(expected), "{input:?}: {err}");
    }
    let overnight = SendWindow::new(Weekdays::ALL, hm(22, 0), hm(6, 0));
    assert!(overnight.is_err());
}

#[test]
fn contains_is_start_inclusive_end_exclusive() {
    let w = window("mon-fri 08:00-18:00");
    assert!(w.contains(dt(2026, 10, 23, 8, 0)));
    assert!(w.contains(dt(2026, 10, 23, 17, 59) + chrono::Duration::seconds(59)));
    assert!(!w.contains(dt(2026, 10, 23, 18, 0)));
    assert!(!w.contains(dt(2026, 10, 23, 7, 59)));
    assert!(!w.contains(dt(2026, 10, 24, 12, 0)), "a Saturday");
}

#[test]
fn next_open_waits_for_the_next_allowed_day() {
    let w = window("mon-fri 08:00-18:00");
    let berlin = Europe::Berlin;
    // Inside: now.
    assert_eq!(
        w.next_open(utc(2026, 10, 23, 8, 0), berlin),
        utc(2026, 10, 23, 8, 0)
    );
    // Saturday noon -> Monday 08:00, which is CET after the Sunday change.
    assert_eq!(
        w.next_open(utc(2026, 10, 24, 10, 0), berlin),
        utc(2026, 10, 26, 7, 0)
    );
    // Friday 18:00 exactly is outside.
    assert_eq!(
        w.next_open(utc(2026, 10, 23, 16, 0), berlin),
        utc(2026, 10, 26, 7, 0)
    );
    // Early on a weekday: the same day.
    assert_eq!(
        w.next_open(utc(2026, 10, 27, 5, 0), berlin),
        utc(2026, 10, 27, 7, 0)
    );
    // Kolkata and New York.
    assert_eq!(
        w.next_open(utc(2026, 10, 24, 6, 30), Asia::Kolkata),
        utc(2026, 10, 26, 2, 30)
    );
    assert_eq!(
        w.next_open(utc(2026, 10, 31, 16, 0), America::New_York),
        utc(2026, 11, 2, 13, 0)
    );
    // Auckland, Saturday 2026-09-26 noon NZST -> Monday 08:00 NZDT.
    assert_eq!(
        w.next_open(utc(2026, 9, 26, 0, 0), Pacific::Auckland),
        utc(2026, 9, 27, 19, 0)
    );
}

#[test]
fn an_opening_in_a_dst_gap_moves_to_the_end_of_the_gap() {
    let w = window("daily 02:30-05:00");
    // Midnight CET on 2026-03-29; 02:30 does not exist that night, 03:00 CEST does.
    let at = utc(2026, 3, 28, 23, 0);
    let open = w.next_open(at, Europe::Berlin);
    assert_eq!(open, utc(2026, 3, 29, 1, 0));
    assert_eq!(to_local(open, Europe::Berlin), dt(2026, 3, 29, 3, 0));
    // Santiago skips midnight on 2026-09-06.
    let w = window("daily 00:00-06:00");
    assert_eq!(
        w.next_open(utc(2026, 9, 6, 3, 0), America::Santiago),
        utc(2026, 9, 6, 4, 0)
    );
    // A window wholly inside the gap still opens once, at its end (and is then outside).
    let w = window("daily 02:00-02:45");
    let open = w.next_open(at, Europe::Berlin);
    assert_eq!(open, utc(2026, 3, 29, 1, 0));
    assert!(!w.contains(to_local(open, Europe::Berlin)));
}

#[test]
fn a_fold_opens_the_window_on_the_first_pass_and_again_when_the_clock_falls_back_into_it() {
    let berlin = Europe::Berlin;
    // 2026-10-25: 02:00-03:00 happens twice, CEST (00:00-01:00 UTC), then CET (01:00-02:00 UTC).
    let w = window("daily 02:00-02:30");
    assert_eq!(
        w.next_open(utc(2026, 10, 24, 23, 0), berlin),
        utc(2026, 10, 25, 0, 0)
    );
    assert_eq!(
        w.next_open(utc(2026, 10, 25, 0, 40), berlin),
        utc(2026, 10, 25, 1, 0)
    );
    assert_eq!(
        w.next_open(utc(2026, 10, 25, 1, 40), berlin),
        utc(2026, 10, 26, 1, 0)
    );
    // Closed at 02:40 CEST, open again when 03:00 CEST becomes 02:00 CET.
    let w = window("daily 01:00-02:30");
    assert_eq!(
        w.next_open(utc(2026, 10, 25, 0, 40), berlin),
        utc(2026, 10, 25, 1, 0)
    );
    // Santiago turns 00:00 back to 23:00 on 2026-04-05 (03:00 UTC).
    let w = window("daily 20:00-23:30");
    assert_eq!(
        w.next_open(utc(2026, 4, 5, 2, 45), America::Santiago),
        utc(2026, 4, 5, 3, 0)
    );
}

// --- properties ---

fn weekday_from(n: u8) -> Weekday {
    Weekday::try_from(n % 7).unwrap()
}

fn arb_time() -> impl Strategy<Value = NaiveTime> {
    (0u32..24, 0u32..60).prop_map(|(h, m)| hm(h, m))
}

fn arb_weekdays() -> impl Strategy<Value = Weekdays> {
    (1u8..128).prop_map(|bits| {
        Weekdays::new((0..7).filter(|i| bits & (1 << i) != 0).map(weekday_from)).unwrap()
    })
}

fn arb_cadence() -> impl Strategy<Value = Cadence> {
    let nth = prop::sample::select(vec![
        Nth::First,
        Nth::Second,
        Nth::Third,
        Nth::Fourth,
        Nth::Last,
    ]);
    prop_oneof![
        (arb_weekdays(), arb_time()).prop_map(|(days, at)| Cadence::Weekly { days, at }),
        (nth, 0u8..7, arb_time()).prop_map(|(nth, d, at)| Cadence::MonthlyWeekday {
            nth,
            weekday: weekday_from(d),
            at
        }),
        (1u8..=31, arb_time()).prop_map(|(day, at)| Cadence::MonthlyDay { day, at }),
        (1u16..=60, prop::option::of(arb_time()))
            .prop_map(|(days, at)| Cadence::Every { days, at }),
    ]
}

/// A local time between 1990 and 2060, to the second.
fn arb_local() -> impl Strategy<Value = NaiveDateTime> {
    (0i64..70 * 366 * 86_400).prop_map(|s| dt(1990, 1, 1, 0, 0) + chrono::Duration::seconds(s))
}

/// The time `c` occurs at on `date`, if it does, found the slow way.
fn occurs_on(c: &Cadence, anchor: NaiveDateTime, date: NaiveDate) -> Option<NaiveTime> {
    let next_month = ymd(date.year(), date.month(), 1) + chrono::Months::new(1);
    let month_len = (next_month - Days::new(1)).day();
    match c {
        Cadence::Weekly { days, at } => days.contains(date.weekday()).then_some(*at),
        Cadence::MonthlyWeekday { nth, weekday, at } => {
            let day = date.day();
            let position = match nth {
                Nth::First => day <= 7,
                Nth::Second => (8..=14).contains(&day),
                Nth::Third => (15..=21).contains(&day),
                Nth::Fourth => (22..=28).contains(&day),
                Nth::Last => day + 7 > month_len,
            };
            (date.weekday() == *weekday && position).then_some(*at)
        }
        Cadence::MonthlyDay { day, at } => {
            (date.day() == u32::from(*day).min(month_len)).then_some(*at)
        }
        Cadence::Every { days, at } => {
            let since = (date - anchor.date()).num_days();
            (since > 0 && since % i64::from(*days) == 0).then_some(at.unwrap_or(anchor.time()))
        }
    }
}

/// The first occurrence after `after`, searching day by day over 70 days.
fn brute_next(c: &Cadence, anchor: NaiveDateTime, after: NaiveDateTime) -> Option<NaiveDateTime> {
    (0..70).map(|i| after.date() + Days::new(i)).find_map(|d| {
        occurs_on(c, anchor, d)
            .map(|t| d.and_time(t))
            .filter(|t| *t > after)
    })
}

const ZONES: [Tz; 11] = [
    Europe::Berlin,
    America::New_York,
    America::Santiago,
    Pacific::Auckland,
    Asia::Kolkata,
    Australia::Lord_Howe,
    America::Sao_Paulo,
    Europe::London,
    Asia::Tehran,
    Pacific::Apia,
    Tz::UTC,
];

/// Offset changes, as UTC instants: the ones the tests above name, and some odd ones (Sao
/// Paulo's midnight gaps, Tehran's, Samoa skipping 2011-12-30).
fn changes() -> Vec<(Tz, DateTime<Utc>)> {
    vec![
        (Europe::Berlin, utc(2026, 3, 29, 1, 0)),
        (Europe::Berlin, utc(2026, 10, 25, 1, 0)),
        (America::New_York, utc(2026, 3, 8, 7, 0)),
        (America::New_York, utc(2026, 11, 1, 6, 0)),
        (America::Santiago, utc(2026, 4, 5, 3, 0)),
        (America::Santiago, utc(2026, 9, 6, 4, 0)),
        (Pacific::Auckland, utc(2026, 4, 5, 14, 0)),
        (Pacific::Auckland, utc(2026, 9, 26, 14, 0)),
        (Australia::Lord_Howe, utc(2026, 4, 4, 15, 0)),
        (Australia::Lord_Howe, utc(2026, 10, 3, 15, 30)),
        (America::Sao_Paulo, utc(2018, 11, 4, 3, 0)),
        (America::Sao_Paulo, utc(2019, 2, 17, 2, 0)),
        (Asia::Tehran, utc(2022, 3, 21, 20, 30)),
        (Asia::Tehran, utc(2022, 9, 21, 19, 30)),
        (Pacific::Apia, utc(2011, 12, 30, 10, 0)),
    ]
}

/// A zone, an instant and a window: most often an instant within hours (or a day and a half) of
/// one of the zone's changes and a short window near the change's wall time, so gaps and folds are hit;
/// otherwise anything from 1990 to 2060.
fn arb_zone_instant_window() -> impl Strategy<Value = (Tz, DateTime<Utc>, SendWindow)> {
    let near = (
        prop::sample::select(changes()),
        prop_oneof![3 => -2 * 3600i64..2 * 3600, 1 => -36 * 3600i64..36 * 3600],
        prop_oneof![Just(Weekdays::ALL), arb_weekdays()],
        -150i64..90,
        prop_oneof![3 => 1i64..120, 1 => 1i64..600],
    )
        .prop_map(|((zone, change), from_change, days, shift, length)| {
            let before = to_local(change - chrono::Duration::seconds(1), zone).time();
            let minute = i64::from(before.hour() * 60 + before.minute()) + 1;
            let start = (minute + shift).clamp(0, 24 * 60 - 2);
            let end = (start + length).min(24 * 60 - 1);
            let at = change + chrono::Duration::seconds(from_change);
            (zone, at, window_of(days, start, end))
        });
    let anywhere = (
        prop::sample::select(ZONES.to_vec()),
        0i64..70 * 366 * 86_400,
        arb_window(),
    )
        .prop_map(|(zone, s, w)| {
            (
                zone,
                utc(1990, 1, 1, 0, 0) + chrono::Duration::seconds(s),
                w,
            )
        });
    prop_oneof![3 => near, 1 => anywhere]
}

fn window_of(days: Weekdays, start: i64, end: i64) -> SendWindow {
    let time = |m: i64| {
        hm(
            u32::try_from(m / 60).unwrap(),
            u32::try_from(m % 60).unwrap(),
        )
    };
    SendWindow::new(days, time(start), time(end)).unwrap()
}

/// Windows that often touch the small hours, where most DST changes are.
fn arb_window() -> impl Strategy<Value = SendWindow> {
    let minute = prop_oneof![0i64..4 * 60, 0i64..24 * 60 - 1];
    (arb_weekdays(), minute, 1i64..12 * 60)
        .prop_map(|(days, start, length)| window_of(days, start, (start + length).min(24 * 60 - 1)))
}

proptest! {
    // Most cases sit next to a DST change; more of them find the rare shapes of gaps and folds.
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn next_open_is_the_first_open_instant((zone, at, w) in arb_zone_instant_window()) {
        let open = w.next_open(at, zone);
        prop_assert!(open >= at);
        prop_assert!(open - at <= chrono::Duration::days(8), "{} at {}: {}", w, at, open);
        let local = to_local(open, zone);
        // Inside, unless the opening was pushed out of a DST gap, to that gap's end.
        let pushed = [local.date(), local.date() - Days::new(1)].into_iter().any(|d| {
            let start = d.and_time(w.start());
            w.days().contains(d.weekday())
                && zone.from_local_datetime(&start).earliest().is_none()
                && local_to_utc(start, zone) == open
        });
        prop_assert!(w.contains(local) || pushed, "{} at {} in {}: {} ({})", w, at, zone, open, local);
        // Nothing earlier is open: a minute-by-minute scan (boundaries fall on whole minutes).
        let mut t = at;
        while t < open {
            prop_assert!(!w.contains(to_local(t, zone)), "{} at {} in {}: {} is open before {}", w, at, zone, t, open);
            t = (t + chrono::Duration::minutes(1)).with_second(0).unwrap();
        }
    }
}

proptest! {
    #[test]
    fn next_after_matches_brute_force(
        c in arb_cadence(),
        after in arb_local(),
        back in prop_oneof![0i64..2000 * 86_400, 0i64..3 * 86_400],
        ahead in 0i64..5 * 86_400,
    ) {
        // Anchors up to five days ahead, so the first occurrence lies within the 70 searched.
        let anchor = after - chrono::Duration::seconds(back) + chrono::Duration::seconds(ahead);
        let next = c.next_after(anchor, after);
        prop_assert!(next > after);
        prop_assert_eq!(Some(next), brute_next(&c, anchor, after), "{} after {}", c, after);
        // And from an occurrence itself: strictly after.
        let again = c.next_after(anchor, next);
        prop_assert!(again > next);
        prop_assert_eq!(Some(again), brute_next(&c, anchor, next), "{} after {}", c, next);
        prop_assert_eq!(c.between(anchor, after, again), vec![next, again]);
    }

    #[test]
    fn cadences_round_trip_through_display(c in arb_cadence()) {
        prop_assert_eq!(c.to_string().parse::<Cadence>(), Ok(c));
    }

    #[test]
    fn windows_round_trip_through_display(w in arb_window()) {
        prop_assert_eq!(w.to_string().parse::<SendWindow>(), Ok(w));
    }

    #[test]
    fn local_to_utc_is_exact_earliest_or_the_end_of_the_gap(
        (zone, change) in prop::sample::select(changes()),
        from_change in -3 * 3600i64..3 * 3600,
    ) {
        // Local times around the change's wall time, so both gaps and folds come up.
        let local = to_local(change, zone) + chrono::Duration::seconds(from_change);
        let got = local_to_utc(local, zone);
        match zone.from_local_datetime(&local) {
            LocalResult::Single(t) => prop_assert_eq!(got, t.to_utc()),
            LocalResult::Ambiguous(earlier, later) => {
                prop_assert!(earlier < later);
                prop_assert_eq!(got, earlier.to_utc());
            }
            LocalResult::None => {
                prop_assert!(to_local(got, zone) > local);
                prop_assert!(to_local(got - chrono::Duration::seconds(1), zone) < local);
            }
        }
        prop_assert!(to_local(got, zone) >= local);
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,40}") {
        let _ = text.parse::<Cadence>();
        let _ = text.parse::<SendWindow>();
    }

    #[test]
    fn near_misses_never_panic_and_round_trip_when_accepted(
        text in "(weekly|monthly|every|daily|mon|mo)?[ :,.a-z0-9-]{0,24}",
    ) {
        if let Ok(c) = text.parse::<Cadence>() {
            prop_assert_eq!(c.to_string().parse::<Cadence>(), Ok(c));
        }
        if let Ok(w) = text.parse::<SendWindow>() {
            prop_assert_eq!(w.to_string().parse::<SendWindow>(), Ok(w));
        }
    }
}

#[test]
fn next_open_skips_the_regions_holidays() {
    let region = "DE-BY".parse().unwrap();
    let w = window("mon-fri 08:00-18:00").with_holidays(Some(region));
    let berlin = Europe::Berlin;
    // Christmas Eve (a Thursday) after hours: Christmas and St Stephen's (Friday, Saturday),
    // then Sunday: Monday the 28th at 08:00 CET.
    assert_eq!(
        w.next_open(utc(2026, 12, 24, 17, 30), berlin),
        utc(2026, 12, 28, 7, 0)
    );
    // Good Friday at 10:00: closed; Easter Monday too; Tuesday at 08:00 CEST.
    assert!(!w.contains(dt(2026, 4, 3, 10, 0)));
    assert_eq!(
        w.next_open(utc(2026, 4, 3, 8, 0), berlin),
        utc(2026, 4, 7, 6, 0)
    );
    // Corpus Christi is a holiday in Bavaria, not nationwide.
    assert!(!w.contains(dt(2026, 6, 4, 10, 0)));
    let nationwide = window("mon-fri 08:00-18:00").with_holidays(Some("DE".parse().unwrap()));
    assert!(nationwide.contains(dt(2026, 6, 4, 10, 0)));
    // Without a region, a holiday is a working day.
    assert!(window("mon-fri 08:00-18:00").contains(dt(2026, 4, 3, 10, 0)));
}
