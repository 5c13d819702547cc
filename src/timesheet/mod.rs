//! The monthly timesheet (issue 18): on a working day of each month, the client's billing
//! contact gets the past month's hours of an engagement (every entry, the total, the amount,
//! and the same as CSV), and approves them by replying, or disputes them. This module is pure:
//! months, the natural keys, the CSV, and reading a reply as an approval
//! ([`reads_as_approval`]). What the layers below need lives there: the `[timesheet]` settings
//! in `schedule::timesheets`, a sent timesheet as the plan knows it and a timesheet's line in
//! `domain`. The flow that
//! sends, reminds and records answers is [`flow`].

pub mod flow;

use chrono::NaiveDate;

use crate::domain::TimesheetLine;
use crate::format::hours_minutes;

/// The first and last day of month `YYYY-MM`; `None` when it is not one.
pub fn month_days(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (year, m) = month.split_once('-')?;
    if year.len() != 4 || m.len() != 2 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year.parse().ok()?, m.parse().ok()?, 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((first, next.pred_opt()?))
}

/// The month (`YYYY-MM`) by name in `locale` (`November 2026`); as written when it is none.
pub fn month_label(month: &str, locale: crate::domain::Locale) -> String {
    use chrono::Datelike as _;
    match month_days(month) {
        Some((first, _)) => crate::format::format_month(first.year(), first.month(), locale),
        None => month.to_string(),
    }
}

/// The natural key of the first timesheet of a month, and of its `n`th send (`n` > 1: sent
/// again by the operator).
pub fn key(engagement_id: i64, month: &str, n: i64) -> String {
    match n {
        ..=1 => format!("timesheet:{engagement_id}:{month}"),
        _ => format!("timesheet:{engagement_id}:{month}:{n}"),
    }
}

/// The engagement and month a timesheet's (or its reminder's) natural key names.
pub fn key_parts(natural_key: &str) -> Option<(i64, String)> {
    let mut parts = natural_key.split(':');
    let _kind = parts.next()?;
    let engagement = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    month_days(month)?;
    Some((engagement, month.to_string()))
}

/// The amount of `minutes` at `rate_cents` an hour, rounded to the cent (as `hours export`).
pub fn amount(minutes: i64, rate_cents: Option<i64>) -> Option<i64> {
    rate_cents.map(|rate| (rate * minutes + 30) / 60)
}

fn decimal(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The timesheet as CSV: a header, one row per entry (date, h:mm, minutes, description, the
/// amount when the engagement has a rate), and a total row.
pub fn csv(lines: &[TimesheetLine], rate_cents: Option<i64>) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["date", "hours", "minutes", "description", "amount"])?;
    let money = |minutes| amount(minutes, rate_cents).map(decimal).unwrap_or_default();
    for line in lines {
        out.write_record([
            line.date.to_string(),
            hours_minutes(line.minutes),
            line.minutes.to_string(),
            line.description.clone(),
            money(line.minutes),
        ])?;
    }
    let total: i64 = lines.iter().map(|l| l.minutes).sum();
    out.write_record([
        "total".to_string(),
        hours_minutes(total),
        total.to_string(),
        String::new(),
        money(total),
    ])?;
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The longest answer, in characters, that can still be an approval: "ok" needs no essay,
/// and anything longer is read by a person. Also what bounds the look at a reply.
pub const MAX_APPROVAL_CHARS: usize = 300;

/// Words that approve.
const APPROVING: &[&str] = &[
    "ok",
    "okay",
    "okey",
    "oki",
    "passt",
    "freigegeben",
    "freigabe",
    "approved",
    "approve",
    "einverstanden",
    "agreed",
    "confirmed",
    "bestätigt",
    "korrekt",
    "correct",
    "richtig",
    "stimmt",
    "genehmigt",
    "fine",
    "good",
    "gut",
    "perfect",
    "perfekt",
    "yes",
    "ja",
    "lgtm",
];

/// Words that may stand beside an approval without changing it ("passt so, danke").
/// Anything else (a question, "aber", "nicht", a date) makes the reply one for a person.
const FILLERS: &[&str] = &[
    "alles",
    "all",
    "so",
    "danke",
    "dank",
    "vielen",
    "thanks",
    "thank",
    "you",
    "thx",
    "das",
    "the",
    "is",
    "ist",
    "looks",
    "sieht",
    "aus",
    "von",
    "mir",
    "meiner",
    "seite",
    "my",
    "from",
    "side",
    "for",
    "für",
    "timesheet",
    "stundenzettel",
    "stundennachweis",
    "stunden",
    "hours",
    "zeiten",
    "it",
    "this",
    "that",
    "es",
    "wie",
    "immer",
    "as",
    "always",
    "super",
    "top",
    "prima",
    "great",
    "gerne",
    "sure",
    "klar",
    "hiermit",
    "hereby",
    "ich",
    "i",
    "we",
    "wir",
    "bin",
    "am",
    "sind",
    "are",
    "and",
    "und",
    "mit",
    "with",
    "to",
    "me",
    "us",
    "uns",
    "by",
    "alright",
    "fein",
    "sehr",
    "very",
    "much",
    "soweit",
    "völlig",
    "absolutely",
    "totally",
    "everything",
    "januar",
    "january",
    "februar",
    "february",
    "märz",
    "march",
    "april",
    "mai",
    "may",
    "juni",
    "june",
    "juli",
    "july",
    "august",
    "september",
    "oktober",
    "october",
    "november",
    "dezember",
    "december",
    "hi",
    "hallo",
    "hello",
    "dear",
    "liebe",
    "lieber",
    "moin",
    "guten",
    "tag",
    "morgen",
    "hey",
    "servus",
    "gruß",
    "grüße",
    "gruss",
    "gruesse",
    "lg",
    "vg",
    "mfg",
    "best",
    "regards",
    "cheers",
    "kind",
    "beste",
    "viele",
    "freundliche",
    "herzliche",
    "schöne",
    "schönen",
];

/// Whether the new text of a reply approves the timesheet: one or more approving words
/// ("ok", "passt", "freigegeben", "approved", "einverstanden" and their like), with nothing
/// but greetings, thanks and the like beside them. A question, a number or a date, any other
/// word, or more than [`MAX_APPROVAL_CHARS`] characters is not an approval: the operator reads
/// it. Reads at most that many characters past the greeting and sign-off: linear, bounded.
pub fn reads_as_approval(new_text: &str) -> bool {
    // The sign-off ("Viele Grüße\nAnna") is not part of the answer; look at a bounded head
    // first, so that a huge reply costs no more than a short one.
    let head: String = new_text.chars().take(MAX_APPROVAL_CHARS * 4).collect();
    let text = crate::survey::answers::without_sign_off(&head);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut kept = String::new();
    // A greeting line ("Hallo Sam,", "Dear Ms Berg,") is not part of the answer.
    if let Some(first) = lines.next() {
        let greeting = first.ends_with(',') && first.split_whitespace().count() <= 4;
        if !greeting {
            kept.push_str(first);
        }
    }
    for line in lines {
        kept.push(' ');
        kept.push_str(line);
    }
    if kept.chars().nth(MAX_APPROVAL_CHARS).is_some() || kept.contains('?') {
        return false;
    }
    let mut approves = false;
    for word in kept
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if word.chars().any(|c| c.is_ascii_digit()) {
            return false;
        }
        let word = word.to_lowercase();
        if APPROVING.contains(&word.as_str()) {
            approves = true;
        } else if !FILLERS.contains(&word.as_str()) {
            return false;
        }
    }
    approves
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn approvals_are_short_and_say_nothing_else() {
        for text in [
            "ok",
            "OK!",
            "Passt.",
            "passt so, danke",
            "Freigegeben",
            "Approved, thanks!",
            "Einverstanden.\n\nViele Grüße\nAnna Berg",
            "Hallo Sam,\n\nalles ok, danke!\n\nLG Anna",
            "Looks good to me, approved.",
            "ok 👍",
            "Hiermit freigegeben.",
        ] {
            assert!(reads_as_approval(text), "{text:?}");
        }
        for text in [
            "",
            "Danke",
            "der 12.11. stimmt nicht",
            "ok, aber der 12.11. stimmt nicht",
            "Passt nicht.",
            "Is that right? 3 hours for the calendar?",
            "ok?",
            "Not ok",
            "Bitte rufen Sie mich an.",
        ] {
            assert!(!reads_as_approval(text), "{text:?}");
        }
        // Long replies go to a person, however many times they say ok.
        assert!(!reads_as_approval(&"ok ".repeat(200)));
        assert!(!reads_as_approval(&"ok ".repeat(1_000_000)));
    }

    #[test]
    fn months_keys_and_csv() {
        let (first, last) = month_days("2026-02").unwrap();
        assert_eq!((first.day(), last.day()), (1, 28));
        for bad in ["2026-13", "26-01", "2026-1", "x", "2026-01-01"] {
            assert!(month_days(bad).is_none(), "{bad}");
        }
        assert_eq!(key(7, "2026-11", 1), "timesheet:7:2026-11");
        assert_eq!(key(7, "2026-11", 3), "timesheet:7:2026-11:3");
        assert_eq!(
            key_parts("timesheet:7:2026-11:3"),
            Some((7, "2026-11".into()))
        );
        assert_eq!(
            key_parts("timesheet_reminder:7:2026-11"),
            Some((7, "2026-11".into()))
        );
        assert_eq!(key_parts("timesheet:x:2026-11"), None);
        assert_eq!(amount(90, Some(4500)), Some(6750));
        let lines = [TimesheetLine {
            date: first,
            minutes: 90,
            description: "Rechnungen, Mahnungen".into(),
        }];
        let text = String::from_utf8(csv(&lines, Some(4500)).unwrap()).unwrap();
        assert_eq!(
            text,
            "date,hours,minutes,description,amount\n\
             2026-02-01,1:30,90,\"Rechnungen, Mahnungen\",67.50\n\
             total,1:30,90,,67.50\n"
        );
    }
}
