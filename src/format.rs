//! Dates, amounts and hours written the way each language writes them, for mail and the CLI.

use chrono::{Datelike, NaiveDate};

use crate::domain::{Currency, Locale};

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

/// `1.234,50 €` / `€1,234.50`: an amount in cents with the locale's separators, and the
/// currency's sign where one is usual (`1.234,50 CHF` / `CHF 1,234.50` where not).
pub fn format_money(cents: i64, locale: Locale, currency: Currency) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let (units, rest) = (cents / 100, cents % 100);
    let (thousands, decimal) = match locale {
        Locale::De => ('.', ','),
        Locale::En => (',', '.'),
    };
    let digits = units.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(thousands);
        }
        grouped.push(digit);
    }
    let number = format!("{sign}{grouped}{decimal}{rest:02}");
    let symbol = currency.symbol();
    match locale {
        Locale::De => format!("{number} {symbol}"),
        Locale::En if symbol.len() == 3 && symbol == currency.code() => {
            format!("{symbol} {number}")
        }
        Locale::En => format!("{symbol}{number}"),
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

/// `Mo. 23.11.` / `Mon 23 Nov`: a short day for lists.
pub fn format_day(date: NaiveDate, locale: Locale) -> String {
    const DAYS_DE: [&str; 7] = ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."];
    const DAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let weekday = date.weekday().num_days_from_monday() as usize;
    let days = match locale {
        Locale::De => DAYS_DE,
        Locale::En => DAYS_EN,
    };
    format!("{} {}", days[weekday], format_day_month(date, locale))
}

/// `23.11.` / `23 Nov`: a day without its weekday or year.
pub fn format_day_month(date: NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::De => format!("{:02}.{:02}.", date.day(), date.month()),
        Locale::En => format!("{} {}", date.day(), &MONTHS_EN[date.month0() as usize][..3]),
    }
}

/// `Dezember 2026` / `December 2026`.
pub fn format_month(year: i32, month: u32, locale: Locale) -> String {
    let i = (month.clamp(1, 12) - 1) as usize;
    match locale {
        Locale::De => format!("{} {year}", MONTHS_DE[i]),
        Locale::En => format!("{} {year}", MONTHS_EN[i]),
    }
}

/// `1:30 h`: minutes as hours and minutes, the same in both languages.
pub fn format_duration(minutes: i64) -> String {
    format!("{} h", hours_minutes(minutes))
}

/// `h:mm` (`1:30`, `42:05`): every duration tandem writes, in both languages, in mails,
/// timesheets and charts. Any integer of minutes, as wide as a sum of them may be.
pub fn hours_minutes(minutes: impl Into<i128>) -> String {
    let minutes = minutes.into();
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(format_date(d, Locale::De), "1. März 2026");
        assert_eq!(format_date(d, Locale::En), "1 March 2026");
        let eur = Currency::EUR;
        assert_eq!(format_money(4550, Locale::De, eur), "45,50 €");
        assert_eq!(format_money(4500, Locale::En, eur), "€45.00");
        assert_eq!(format_money(123450, Locale::De, eur), "1.234,50 €");
        assert_eq!(format_money(123450, Locale::En, eur), "€1,234.50");
        assert_eq!(format_money(123456789, Locale::De, eur), "1.234.567,89 €");
        assert_eq!(format_money(100000, Locale::En, eur), "€1,000.00");
        assert_eq!(format_money(99999, Locale::En, eur), "€999.99");
        assert_eq!(format_money(5, Locale::De, eur), "0,05 €");
        let chf = Currency::parse("CHF").unwrap();
        assert_eq!(format_money(123450, Locale::De, chf), "1.234,50 CHF");
        assert_eq!(format_money(123450, Locale::En, chf), "CHF 1,234.50");
        let usd = Currency::parse("usd").unwrap();
        assert_eq!(format_money(-123450, Locale::En, usd), "$-1,234.50");
        assert_eq!(format_hours(1200, Locale::De), "20");
        assert_eq!(format_hours(750, Locale::De), "12,5");
        assert_eq!(format_hours(105, Locale::En), "1.75");
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(format_day(d, Locale::De), "Mo. 23.11.");
        assert_eq!(format_day(d, Locale::En), "Mon 23 Nov");
        assert_eq!(format_day_month(d, Locale::En), "23 Nov");
        assert_eq!(format_duration(90), "1:30 h");
        assert_eq!(format_duration(600), "10:00 h");
        assert_eq!(hours_minutes(0), "0:00");
        assert_eq!(hours_minutes(125), "2:05");
        assert_eq!(hours_minutes(615_i64), "10:15");
        assert_eq!(hours_minutes(i128::from(i64::MAX)).len(), 21);
    }
}
