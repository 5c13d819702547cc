//! What a rejected line is told: the reason in one sentence, and the line as it should have
//! been written, built from the line's own parts so the assistant can copy it.

use chrono::{Datelike, NaiveDate};

use super::date::{self, DateSpec};
use super::line::Analysis;
use super::{Context, Reason, Rejected};
use crate::domain::Locale;
use crate::format::{format_date, format_hours};

/// Stands in for a duration the line does not have.
const SAMPLE_DURATION: &str = "1.5h";

impl Reason {
    /// One short sentence, in German or English.
    pub fn describe(&self, locale: Locale) -> String {
        let de = locale == Locale::De;
        match self {
            Reason::NoDate if de => "Die Zeile hat kein Datum.".to_string(),
            Reason::NoDate => "This line has no date.".to_string(),
            Reason::NoDuration if de => "Die Zeile hat keine Dauer.".to_string(),
            Reason::NoDuration => "This line has no duration.".to_string(),
            Reason::FutureDate { date } if de => {
                format!("Der {} liegt in der Zukunft.", format_date(*date, locale))
            }
            Reason::FutureDate { date } => {
                format!("{} is in the future.", format_date(*date, locale))
            }
            Reason::TooLong { minutes } => {
                let hours = format_hours(i64::from(*minutes), locale);
                if de {
                    format!("{hours} Stunden in einer Zeile sind mehr als 24 Stunden.")
                } else {
                    format!("{hours} hours on one line are more than 24 hours.")
                }
            }
            Reason::InvalidDate { text } if de => format!("„{text}“ ist kein gültiges Datum."),
            Reason::InvalidDate { text } => format!("“{text}” is not a valid date."),
            Reason::ZeroDuration if de => "Die Dauer ist null.".to_string(),
            Reason::ZeroDuration => "The duration is zero.".to_string(),
            Reason::NegativeDuration if de => "Eine Dauer kann nicht negativ sein: Um erfasste \
                 Stunden zurückzunehmen, antworten Sie auf ihre Bestätigung mit „storno“ und \
                 senden die richtigen Zeilen neu."
                .to_string(),
            Reason::NegativeDuration => "A duration cannot be negative: to take logged hours \
                 back, reply “cancel” to their confirmation and send the right lines again."
                .to_string(),
            Reason::TwoDurations if de => "Die Zeile hat mehr als eine Dauer: Schreiben Sie jede \
                 Tätigkeit in eine eigene Zeile, oder nur die Summe."
                .to_string(),
            Reason::TwoDurations => "This line has more than one duration: write each task on \
                 a line of its own, or only their total."
                .to_string(),
            Reason::SeveralDays if de => "Die Zeile nennt mehrere Tage: Schreiben Sie jeden Tag \
                 in eine eigene Zeile, mit seiner Dauer."
                .to_string(),
            Reason::SeveralDays => "This line names several days: write each day on a line of \
                 its own, with its duration."
                .to_string(),
            Reason::DurationRange if de => "Die Zeile nennt eine Spanne von Dauern (etwa \
                 „2-3 Stunden“): Schreiben Sie, wie lange es gedauert hat."
                .to_string(),
            Reason::DurationRange => "This line gives a range of durations (such as \
                 “2-3 hours”): write how long it took."
                .to_string(),
            Reason::TimeOff if de => "Das liest sich wie eine Notiz über freie Zeit, nicht wie \
                 gearbeitete Stunden, und wurde nicht erfasst. War es Arbeit, schreiben Sie \
                 Datum und Dauer an den Anfang der Zeile."
                .to_string(),
            Reason::TimeOff => "This reads as a note about time off, not hours worked, and was \
                 not logged. If it was work, put the date and the duration at the start of the \
                 line."
                .to_string(),
        }
    }
}

impl Rejected {
    /// The line corrected, e.g. `2026-11-23 1.5h Kalenderpflege`: the date (ISO, which every
    /// locale reads the same way), the duration, the tag and the description, each the line's own
    /// where it has a usable one. A missing or unusable date becomes today; a missing duration,
    /// or one over 24 hours, a sample (`26h` is not guessed to be 26 minutes).
    ///
    /// A date written as a date for tomorrow (`27.11.`) may be a slip of the finger or of the
    /// time zone, and becomes today; `morgen`/`tomorrow` cannot be a slip, nor can a date
    /// further ahead (`10.12.2026`, a plan), so the example keeps the day meant
    /// (`2026-11-27`), to be sent once the work is done: today's date would log future work
    /// today.
    pub fn corrected_example(&self, ctx: &Context) -> String {
        // Which duration or which day such a line means is the assistant's to say: the line
        // rebuilt from its parts would guess, and be rejected again. The reason says what to do.
        if matches!(
            self.reason,
            Reason::TwoDurations | Reason::SeveralDays | Reason::TimeOff | Reason::DurationRange
        ) {
            return String::new();
        }
        let parts = Analysis::new(&self.text, ctx.day_first).resolve(false);
        let own_date = parts
            .date
            .as_ref()
            .and_then(|d| date::resolve(d.spec, ctx.today))
            .filter(|d| *d <= ctx.today);
        let ahead = parts
            .date
            .as_ref()
            .is_some_and(|d| matches!(d.spec, DateSpec::DaysAhead(_)));
        let day = match &self.reason {
            Reason::FutureDate { date } if ahead || *date > ctx.today + chrono::Days::new(1) => {
                *date
            }
            Reason::NoDate | Reason::FutureDate { .. } => ctx.today,
            Reason::InvalidDate { .. } => parts
                .date
                .as_ref()
                .and_then(|d| repaired(d.spec, ctx.today))
                .unwrap_or(ctx.today),
            _ => own_date.unwrap_or(ctx.today),
        };
        let duration = match &self.reason {
            Reason::NoDuration | Reason::ZeroDuration | Reason::TooLong { .. } => {
                SAMPLE_DURATION.to_string()
            }
            _ => parts
                .duration
                .map_or_else(|| SAMPLE_DURATION.to_string(), |d| d.text),
        };
        let tag = parts.tag.map(|t| format!("#{t}"));
        let description = Some(parts.description).filter(|d| !d.is_empty());
        [
            Some(day.format("%Y-%m-%d").to_string()),
            Some(duration),
            tag,
            description,
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// `31.02.` as the last day of February: the latest real day of the month that was meant, not
/// after today.
fn repaired(spec: DateSpec, today: NaiveDate) -> Option<NaiveDate> {
    let (years, month, day) = match spec {
        DateSpec::Full { year, month, day } => (vec![year], month, day),
        DateSpec::NoYear { month, day } => {
            let year = today.year();
            (vec![year, year.checked_sub(1)?], month, day)
        }
        _ => return None,
    };
    years.into_iter().find_map(|year| {
        (1..=day.min(31))
            .rev()
            .find_map(|day| NaiveDate::from_ymd_opt(year, month, day))
            .filter(|d| *d <= today)
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn ctx() -> Context {
        Context::new(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(), Locale::De)
    }

    fn rejected(text: &str, reason: Reason) -> Rejected {
        Rejected {
            line: 1,
            text: text.to_string(),
            reason,
        }
    }

    #[test]
    fn every_reason_in_both_languages() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let cases = [
            (
                Reason::NoDate,
                "Die Zeile hat kein Datum.",
                "This line has no date.",
            ),
            (
                Reason::NoDuration,
                "Die Zeile hat keine Dauer.",
                "This line has no duration.",
            ),
            (
                Reason::FutureDate { date },
                "Der 30. November 2026 liegt in der Zukunft.",
                "30 November 2026 is in the future.",
            ),
            (
                Reason::TooLong { minutes: 1530 },
                "25,5 Stunden in einer Zeile sind mehr als 24 Stunden.",
                "25.5 hours on one line are more than 24 hours.",
            ),
            (
                Reason::InvalidDate {
                    text: "31.02.".to_string(),
                },
                "„31.02.“ ist kein gültiges Datum.",
                "“31.02.” is not a valid date.",
            ),
            (
                Reason::ZeroDuration,
                "Die Dauer ist null.",
                "The duration is zero.",
            ),
            (
                Reason::NegativeDuration,
                "Eine Dauer kann nicht negativ sein: Um erfasste Stunden zurückzunehmen, \
                 antworten Sie auf ihre Bestätigung mit „storno“ und senden die richtigen \
                 Zeilen neu.",
                "A duration cannot be negative: to take logged hours back, reply “cancel” to \
                 their confirmation and send the right lines again.",
            ),
            (
                Reason::TwoDurations,
                "Die Zeile hat mehr als eine Dauer: Schreiben Sie jede Tätigkeit in eine eigene \
                 Zeile, oder nur die Summe.",
                "This line has more than one duration: write each task on a line of its own, or \
                 only their total.",
            ),
            (
                Reason::SeveralDays,
                "Die Zeile nennt mehrere Tage: Schreiben Sie jeden Tag in eine eigene Zeile, mit \
                 seiner Dauer.",
                "This line names several days: write each day on a line of its own, with its \
                 duration.",
            ),
            (
                Reason::TimeOff,
                "Das liest sich wie eine Notiz über freie Zeit, nicht wie gearbeitete Stunden, \
                 und wurde nicht erfasst. War es Arbeit, schreiben Sie Datum und Dauer an den \
                 Anfang der Zeile.",
                "This reads as a note about time off, not hours worked, and was not logged. If \
                 it was work, put the date and the duration at the start of the line.",
            ),
        ];
        for (reason, de, en) in cases {
            assert_eq!(reason.describe(Locale::De), de);
            assert_eq!(reason.describe(Locale::En), en);
        }
    }

    #[test]
    fn corrected_examples_reuse_the_line() {
        let cases = [
            (
                "23.11. Kalenderpflege",
                Reason::NoDuration,
                "2026-11-23 1.5h Kalenderpflege",
            ),
            (
                "- inbox: 2,5 Std.",
                Reason::NoDate,
                "2026-11-26 2,5 Std. inbox",
            ),
            (
                "30.11. 2h #acme Rechnungen",
                Reason::FutureDate {
                    date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                },
                "2026-11-30 2h #acme Rechnungen",
            ),
            (
                "31.02. 2h Rechnungen",
                Reason::InvalidDate {
                    text: "31.02.".to_string(),
                },
                "2026-02-28 2h Rechnungen",
            ),
            (
                "gestern 90h Telefonate",
                Reason::TooLong { minutes: 5400 },
                "2026-11-25 1.5h Telefonate",
            ),
            (
                "gestern 26h Telefonate",
                Reason::TooLong { minutes: 1560 },
                "2026-11-25 1.5h Telefonate",
            ),
            (
                "gestern 99999999h x",
                Reason::TooLong { minutes: u32::MAX },
                "2026-11-25 1.5h x",
            ),
            (
                "morgen 2h Termine",
                Reason::FutureDate {
                    date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
                },
                "2026-11-27 2h Termine",
            ),
            (
                "27.11. 2h Termine",
                Reason::FutureDate {
                    date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
                },
                "2026-11-26 2h Termine",
            ),
            (
                "10.12.2026 1h Vorbereitung",
                Reason::FutureDate {
                    date: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
                },
                "2026-12-10 1h Vorbereitung",
            ),
            (
                "Mo 0h Telefonate",
                Reason::ZeroDuration,
                "2026-11-23 1.5h Telefonate",
            ),
            (
                "Mo -2h Telefonate",
                Reason::NegativeDuration,
                "2026-11-23 2h Telefonate",
            ),
        ];
        for (text, reason, example) in cases {
            assert_eq!(
                rejected(text, reason).corrected_example(&ctx()),
                example,
                "{text}"
            );
        }
        // Which duration or day such a line means is not guessed: no example.
        for (text, reason) in [
            ("Mo 2h Telefonate, danach 1h Mails", Reason::TwoDurations),
            ("23.11.-25.11. je 2h Projekt", Reason::SeveralDays),
            ("23.11. 2-3 Stunden Recherche", Reason::DurationRange),
        ] {
            assert_eq!(rejected(text, reason).corrected_example(&ctx()), "");
        }
    }
}
