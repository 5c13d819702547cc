//! Dates, amounts and hours written the way each language writes them.

use chrono::{Datelike, NaiveDate};

use crate::domain::Locale;

const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `1. Dezember 2026` / `1 December 2026`.
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    let month = date.month0() as usize;
    match locale {
        Locale::De => format!("{}. {} {}", date.day(), MONTHS_DE[month], date.year()),
        Locale::En => format!("{} {} {}", date.day(), MONTHS_EN[month], date.year()),
    }
}

/// `45,00 €` / `€45.00`.
pub fn format_money(cents: i64, locale: Locale) -> String {
    let (units, rest) = (cents / 100, (cents % 100).abs());
    match locale {
        Locale::De => format!("{units},{rest:02} €"),
        Locale::En => format!("€{units}.{rest:02}"),
    }
}

/// Minutes as hours: `20`, `12,5` / `12.5`, `1,75` / `1.75`.
pub fn format_hours(minutes: i64, locale: Locale) -> String {
    let hours = minutes as f64 / 60.0;
    let mut text = format!("{hours:.2}");
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    match locale {
        Locale::De => text.replace('.', ","),
        Locale::En => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(format_date(d, Locale::De), "1. März 2026");
        assert_eq!(format_date(d, Locale::En), "1 March 2026");
        assert_eq!(format_money(4550, Locale::De), "45,50 €");
        assert_eq!(format_money(4500, Locale::En), "€45.00");
        assert_eq!(format_hours(1200, Locale::De), "20");
        assert_eq!(format_hours(750, Locale::De), "12,5");
        assert_eq!(format_hours(105, Locale::En), "1.75");
    }
}
