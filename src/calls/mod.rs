//! Calls (issue 18): the kickoff call of an engagement. [`kickoff`] is the flow (the invitation
//! to every client contact and the assistant, with the welcome mail's agenda and an `.ics`;
//! an invitee's answer, and the operator's alert on a decline); [`ics`] writes and reads
//! iCalendar (pure); this file reads what the operator types and what a reply says in words
//! (pure).

pub mod ics;
pub mod kickoff;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::domain::TimeZone;
use crate::schedule::cadence::local_to_utc;

/// A call's time as the operator gives it: `2026-12-03 10:00` (read in `default_zone`), or the
/// same followed by a zone name (`2026-12-03 10:00 America/New_York`). Returns the instant
/// and the zone it was given in.
pub fn parse_when(text: &str, default_zone: TimeZone) -> Result<(DateTime<Utc>, TimeZone), String> {
    let text = text.trim();
    let mut words = text.split_whitespace();
    let (Some(day), Some(time)) = (words.next(), words.next()) else {
        return Err(format!(
            "'{text}' is not a time: write it as YYYY-MM-DD HH:MM, optionally followed by a \
             time zone (2026-12-03 10:00 Europe/Berlin)"
        ));
    };
    let zone = match words.next() {
        Some(name) => TimeZone::parse(name).map_err(|e| e.to_string())?,
        None => default_zone,
    };
    if words.next().is_some() {
        return Err(format!(
            "'{text}' has more than a day, a time and a zone: write YYYY-MM-DD HH:MM [ZONE]"
        ));
    }
    let local = NaiveDateTime::parse_from_str(&format!("{day} {time}"), "%Y-%m-%d %H:%M").map_err(
        |_| format!("'{day} {time}' is not a day and time: write it as YYYY-MM-DD HH:MM"),
    )?;
    Ok((local_to_utc(local, zone.0), zone))
}

/// The most bytes of a reply's new text read for its answer in words.
pub const MAX_ANSWER_BYTES: usize = 4096;

/// Phrases that say the proposed time does not suit (German and English), lower-case.
const DECLINES: &[&str] = &[
    "passt nicht",
    "passt mir nicht",
    "passt leider nicht",
    "passt uns nicht",
    "passt uns leider nicht",
    "kann nicht",
    "kann leider nicht",
    "können nicht",
    "können leider nicht",
    "geht nicht",
    "geht leider nicht",
    "klappt nicht",
    "klappt leider nicht",
    "bin verhindert",
    "sind verhindert",
    "nicht möglich",
    "absage",
    "sage ab",
    "muss absagen",
    "müssen absagen",
    "verschieben",
    "anderer termin",
    "anderen termin",
    "decline",
    "does not work",
    "doesn't work",
    "does not suit",
    "doesn't suit",
    "won't work",
    "will not work",
    "can't make it",
    "cannot make it",
    "can not make it",
    "can't attend",
    "cannot attend",
    "not available",
    "unavailable",
    "reschedule",
    "another time",
    "a different time",
];

/// Phrases that accept it.
const ACCEPTS: &[&str] = &[
    "passt",
    "zusage",
    "sage zu",
    "bin dabei",
    "sind dabei",
    "gerne",
    "einverstanden",
    "accept",
    "works for me",
    "works for us",
    "suits me",
    "suits us",
    "see you",
    "i'll be there",
    "i will be there",
    "sounds good",
    "ok",
    "okay",
];

/// What a reply to an invitation says in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    Declined,
    Accepted,
}

/// Reads a reply's new text for a decline (any of [`DECLINES`], which wins: "passt nicht"
/// holds "passt") or an acceptance. Looks at the first [`MAX_ANSWER_BYTES`] only.
pub fn answer_in_words(new_text: &str) -> Option<Said> {
    let mut end = new_text.len().min(MAX_ANSWER_BYTES);
    while !new_text.is_char_boundary(end) {
        end -= 1;
    }
    let text = new_text[..end].to_lowercase().replace('’', "'");
    let has_word = |phrase: &str| {
        text.match_indices(phrase).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + phrase.len()..].chars().next();
            before.is_none_or(|c| !c.is_alphanumeric())
                && after.is_none_or(|c| !c.is_alphanumeric())
        })
    };
    if DECLINES.iter().any(|p| has_word(p)) {
        return Some(Said::Declined);
    }
    if ACCEPTS.iter().any(|p| has_word(p)) {
        return Some(Said::Accepted);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_the_agencys_zone_or_the_one_given() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let (at, zone) = parse_when("2026-12-03 10:00", berlin).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-03T09:00:00+00:00");
        assert_eq!(zone, berlin);
        let (at, zone) = parse_when(" 2026-12-03 10:00  America/New_York ", berlin).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-03T15:00:00+00:00");
        assert_eq!(zone.name(), "America/New_York");
        for bad in [
            "",
            "2026-12-03",
            "03.12.2026 10:00",
            "2026-12-03 25:00",
            "2026-12-03 10:00 Mars/Base",
            "2026-12-03 10:00 UTC x",
        ] {
            assert!(parse_when(bad, berlin).is_err(), "{bad}");
        }
    }

    #[test]
    fn declines_and_accepts_in_words() {
        for no in [
            "Der Termin passt leider nicht.",
            "Da kann ich nicht – kann nicht, sorry",
            "Sorry, that does not work for me",
            "I have to decline",
            "Can’t make it on Thursday",
            "Können wir verschieben?",
        ] {
            assert_eq!(answer_in_words(no), Some(Said::Declined), "{no}");
        }
        for yes in ["Passt, bis Donnerstag!", "Works for me.", "OK"] {
            assert_eq!(answer_in_words(yes), Some(Said::Accepted), "{yes}");
        }
        for neither in ["Wer ist noch dabei?", "Bookkeeping question", "abstract"] {
            assert_eq!(answer_in_words(neither), None, "{neither}");
        }
        // Only the start of a long text is read.
        let late = format!("{} decline", "x ".repeat(MAX_ANSWER_BYTES));
        assert_eq!(answer_in_words(&late), None);
    }
}
