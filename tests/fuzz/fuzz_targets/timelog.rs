//! The time-log grammar never panics, and every entry it reads is within one day.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use tandem::domain::Locale;
use tandem::timelog::grammar::{self, Context, Line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = Context {
        today: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        locale: Locale::De,
        day_first: true,
    };
    for line in grammar::parse(text, &ctx) {
        if let Line::Entry(entry) = line {
            assert!(entry.minutes > 0 && entry.minutes <= 24 * 60, "{entry:?}");
            assert!(entry.date <= ctx.today, "{entry:?}");
        }
    }
    let _ = grammar::parse_duration(text);
});
