//! The grammar as a whole: the contract from PRODUCT.md, date blocks, prose, rejections, and
//! property tests (every duration form round-trips; nothing panics).

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Thursday 2026-11-26.
fn ctx() -> Context {
    Context::new(ymd(2026, 11, 26), Locale::De)
}

fn entries(text: &str) -> Vec<Entry> {
    parse(text, &ctx())
        .into_iter()
        .map(|line| match line {
            Line::Entry(e) => e,
            Line::Rejected(r) => panic!("unexpected rejection in {text:?}: {r:?}"),
        })
        .collect()
}

/// The minutes of the entries of `text`, its rejected lines left out.
fn logged_minutes(text: &str) -> Vec<u32> {
    parse(text, &ctx())
        .into_iter()
        .filter_map(|line| match line {
            Line::Entry(entry) => Some(entry.minutes),
            Line::Rejected(_) => None,
        })
        .collect()
}

fn one(text: &str) -> Entry {
    let all = entries(text);
    assert_eq!(all.len(), 1, "{text:?}: {all:?}");
    all.into_iter().next().unwrap()
}

/// (line number, reason) of every rejection.
fn rejections(text: &str) -> Vec<(usize, Reason)> {
    parse(text, &ctx())
        .into_iter()
        .filter_map(|line| match line {
            Line::Rejected(r) => Some((r.line, r.reason)),
            Line::Entry(_) => None,
        })
        .collect()
}

/// (date, minutes, client, description) of an entry, for compact assertions.
fn summary(e: &Entry) -> (NaiveDate, u32, Option<&str>, &str) {
    (
        e.date,
        e.minutes,
        e.client.as_deref(),
        e.description.as_str(),
    )
}

#[test]
fn the_contract_examples() {
    let text = "2026-11-23 2.5h #acme Invoices and reminders
23.11. 1:30 Kalenderpflege
Mo 45min Recherche Reiseangebote
yesterday 1h15m inbox zero
gestern 2,5 Std. Buchhaltung vorbereitet
23/11 09:00-11:30 calendar cleanup";
    let all = entries(text);
    let got: Vec<_> = all.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![
            (
                ymd(2026, 11, 23),
                150,
                Some("acme"),
                "Invoices and reminders"
            ),
            (ymd(2026, 11, 23), 90, None, "Kalenderpflege"),
            (ymd(2026, 11, 23), 45, None, "Recherche Reiseangebote"),
            (ymd(2026, 11, 25), 75, None, "inbox zero"),
            (ymd(2026, 11, 25), 150, None, "Buchhaltung vorbereitet"),
            (ymd(2026, 11, 23), 150, None, "calendar cleanup"),
        ]
    );
    assert_eq!(all[1].line, 2);
    assert_eq!(all[1].text, "23.11. 1:30 Kalenderpflege");
}

#[test]
fn a_date_line_gives_its_date_to_the_lines_under_it() {
    let all = entries("Monday, 23 Nov\n- 1.5h inbox\n- 30 min calls");
    let got: Vec<_> = all.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![
            (ymd(2026, 11, 23), 90, None, "inbox"),
            (ymd(2026, 11, 23), 30, None, "calls"),
        ]
    );
    assert_eq!((all[0].line, all[0].text.as_str()), (2, "- 1.5h inbox"));
}

#[test]
fn bullets_of_every_kind_or_none() {
    let all = entries("Datum: 23.11.\n* 1h a\n• 2h b\n1,5 c\n  -   45 Min. d");
    let got: Vec<_> = all
        .iter()
        .map(|e| (e.minutes, e.description.as_str()))
        .collect();
    assert_eq!(got, vec![(60, "a"), (120, "b"), (90, "c"), (45, "d")]);
    assert!(all.iter().all(|e| e.date == ymd(2026, 11, 23)));
}

#[test]
fn blocks_end_at_the_next_date_line_or_at_a_blank_line_before_prose() {
    let text = "Mo\n- 1h a\n\n- 2h b\nDi\n- 3h c\n\nAnd one more thing:\n- 4h d";
    let lines = parse(text, &ctx());
    let got: Vec<_> = lines
        .iter()
        .map(|l| match l {
            Line::Entry(e) => (e.line, Some(e.date), None),
            Line::Rejected(r) => (r.line, None, Some(r.reason.clone())),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (2, Some(ymd(2026, 11, 23)), None),
            (4, Some(ymd(2026, 11, 23)), None),
            (6, Some(ymd(2026, 11, 24)), None),
            (9, None, Some(Reason::NoDate)),
        ]
    );
}

#[test]
fn lines_with_their_own_date_inside_a_block_keep_it_and_the_block_goes_on() {
    let all = entries("23.11.\n- 1h a\n- 24.11. 2h b\n- 3h c");
    let dates: Vec<_> = all
        .iter()
        .map(|e| e.date.format("%d").to_string())
        .collect();
    assert_eq!(dates, ["23", "24", "23"]);
}

#[test]
fn prose_inside_a_block_does_not_end_it() {
    let all = entries("Montag, 23.11.\n- 1h a\nDanach Pause\n- 2h b");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].date, ymd(2026, 11, 23));
}

#[test]
fn a_block_headers_tag_applies_to_its_lines() {
    let all = entries("2026-11-23 #acme\n- 1h a\n- 1h #beta b");
    assert_eq!(all[0].client.as_deref(), Some("acme"));
    assert_eq!(all[1].client.as_deref(), Some("beta"));
}

#[test]
fn a_dated_heading_with_words_opens_a_block() {
    let all = entries("Hier meine Stunden von gestern:\n- 2h inbox");
    assert_eq!(all[0].date, ymd(2026, 11, 25));
    // A short dated line with entries under it is a header, not a line without duration.
    let all = entries("23.11. Projekt Umzug\n- 2h Kartons\n- 1h Telefon");
    assert_eq!(all.len(), 2);
}

#[test]
fn any_order() {
    for line in [
        "Invoices 2.5h on 2026-11-23",
        "2.5h 2026-11-23 Invoices",
        "Invoices, 23.11., 2,5 Std",
        "2026-11-23: Invoices (2.5h)",
    ] {
        let e = one(line);
        assert_eq!(
            summary(&e),
            (ymd(2026, 11, 23), 150, None, "Invoices"),
            "{line}"
        );
    }
    let e = one("Monday, 23 Nov\n- inbox: 1.5h");
    assert_eq!((e.minutes, e.description.as_str()), (90, "inbox"));
}

#[test]
fn every_duration_form_on_a_line() {
    for (text, minutes) in [
        ("2.5h", 150),
        ("2,5h", 150),
        ("2,5 Std", 150),
        ("2,5 Std.", 150),
        ("2 Stunden", 120),
        ("1 Stunde", 60),
        ("1:30", 90),
        ("90m", 90),
        ("90 min", 90),
        ("90 Min.", 90),
        ("45 Minuten", 45),
        ("1h30", 90),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("1 h 30 min", 90),
        ("2 hrs", 120),
        ("2 hr", 120),
        ("2 hours", 120),
        (".5h", 30),
        (".75 hrs", 45),
        ("1.5", 90),
        ("1,5", 90),
        ("2", 120),
        ("09:00-11:30", 150),
        ("9:00 - 11:30", 150),
        ("9-11:30", 150),
        ("9–11 Uhr", 120),
        ("22:00-01:00", 180),
    ] {
        let e = one(&format!("2026-11-23 {text} Recherche"));
        assert_eq!(
            (e.minutes, e.description.as_str()),
            (minutes, "Recherche"),
            "{text}"
        );
    }
}

#[test]
fn every_date_form_on_a_line() {
    for date in [
        "2026-11-23",
        "23.11.2026",
        "23.11.26",
        "23.11.",
        "23/11",
        "23/11/2026",
        "11/23",
        "Nov 23",
        "23 Nov",
        "23. November",
        "November 23, 2026",
        "Monday, 23 Nov",
        "Mo",
        "Mon",
        "Montag",
        "Monday",
        "am Montag",
    ] {
        let e = one(&format!("{date} 2h Recherche"));
        assert_eq!(
            summary(&e),
            (ymd(2026, 11, 23), 120, None, "Recherche"),
            "{date}"
        );
    }
    for (date, day) in [
        ("today", 26),
        ("heute", 26),
        ("yesterday", 25),
        ("gestern", 25),
        ("vorgestern", 24),
    ] {
        assert_eq!(
            one(&format!("{date} 2h x")).date,
            ymd(2026, 11, day),
            "{date}"
        );
    }
}

#[test]
fn weekdays_from_thursday() {
    for (day, date) in [
        ("Mo", 23),
        ("Di", 24),
        ("Mi", 25),
        ("Do", 26),
        ("Fr", 20),
        ("Sa", 21),
        ("So", 22),
    ] {
        assert_eq!(
            one(&format!("{day} 1h x")).date,
            ymd(2026, 11, date),
            "{day}"
        );
    }
}

#[test]
fn years_around_new_year() {
    let jan = Context::new(ymd(2027, 1, 3), Locale::En);
    let lines = parse("28.12. 2h a\n2.1. 1h b\n5.1. 1h c", &jan);
    assert!(matches!(&lines[0], Line::Entry(e) if e.date == ymd(2026, 12, 28)));
    assert!(matches!(&lines[1], Line::Entry(e) if e.date == ymd(2027, 1, 2)));
    assert!(matches!(
        &lines[2],
        Line::Rejected(Rejected { reason: Reason::FutureDate { date }, .. }) if *date == ymd(2027, 1, 5)
    ));
}

#[test]
fn month_first_locales() {
    let us = Context {
        day_first: false,
        ..ctx()
    };
    let lines = parse("11/23 1h a\n11/3 1h b\n23/11 1h c", &us);
    let dates: Vec<_> = lines
        .iter()
        .map(|l| match l {
            Line::Entry(e) => e.date,
            Line::Rejected(r) => panic!("{r:?}"),
        })
        .collect();
    assert_eq!(
        dates,
        [ymd(2026, 11, 23), ymd(2026, 11, 3), ymd(2026, 11, 23)]
    );
}

#[test]
fn a_whole_mail_with_greeting_and_signature() {
    let text = "Hi Anna,

Hier meine Stunden für diese Woche:
Here are my hours:

Monday, 23 Nov
- 1.5h inbox
- 30 min calls

23.11. 1:30 Kalenderpflege

Thanks!
Viele Grüße
Best, Sam
+49 30 1234567
https://example.com/2026/11/23/timesheet?hours=1.5
Sent from my iPhone
Meeting notes below";
    let all = entries(text);
    let lines: Vec<_> = all.iter().map(|e| e.line).collect();
    assert_eq!(lines, [7, 8, 10]);
}

/// A sentence is an entry where it starts with its day or its time, or where it does not end
/// like a sentence: only one with words before both and a full stop is a note for a person.
#[test]
fn entries_written_as_sentences_stay_entries() {
    for (text, minutes) in [
        ("Gestern habe ich 2h an der Präsentation gearbeitet.", 120),
        ("Am Montag 3h beim Kunden vor Ort.", 180),
        ("2h gestern für die Präsentation.", 120),
        ("Invoices and reminders 2.5h 23.11.", 150),
        ("Präsentation vorbereitet, gestern 2h", 120),
    ] {
        assert_eq!(one(text).minutes, minutes, "{text:?}");
    }
}

#[test]
fn prose_is_silent() {
    for text in [
        "Hi Anna,",
        "Thanks!",
        "Viele Grüße",
        "Best, Sam",
        "Hier meine Stunden für diese Woche:",
        "Here are my hours:",
        "+49 30 1234567",
        "Tel. 030 / 1234 567",
        "https://example.com/2026/11/23",
        "www.example.com/1.5h",
        "anna@example.com",
        "Sent from my iPhone",
        "Meeting notes below",
        "So, here are my hours",
        "I do 3 things a day.",
        "Heute bin ich krank.",
        "Gestern war ich beim Arzt",
        "Ich bin 24/7 erreichbar",
        "Erreichbar Mo-Fr 9-13",
        "Can we talk for 30 min tomorrow?",
        "Could you check the 2h from yesterday?",
        "01.12.-05.12. Urlaub",
        "Vom 01.12. bis 05.12. bin ich im Urlaub",
        "30.11. Urlaub",
        "Version 2.5 is out",
        "Erreichbar: 9-13 Uhr",
        "Termin: 10:30",
        "3pm-5pm call with Acme",
        "I need 2 hours for the report next week because the client sent the data late",
        // Sentences that name a day and a time, with words before both: notes for a person.
        "ich war gestern 2h beim Arzt und konnte deshalb nicht arbeiten.",
        "Mein Laptop ist seit heute 10:00 kaputt, Reparatur dauert 3 Tage.",
        "Ich brauche am Montag 2 Stunden frei für einen Arzttermin.",
        "Der Kunde möchte ab 1.1. nur noch 10h pro Woche.",
        "I was off sick yesterday for 3h and could not work.",
        "",
        "   ",
        "--",
    ] {
        assert_eq!(parse(text, &ctx()), vec![], "{text:?}");
    }
}

#[test]
fn traps_are_not_misread() {
    // `23.11.` is a date line, not a duration; `1.5` is 90 minutes, not a date.
    let e = one("23.11.\n1.5 inbox");
    assert_eq!(summary(&e), (ymd(2026, 11, 23), 90, None, "inbox"));
    // `2026-11-23` is not a range.
    assert_eq!(one("2026-11-23 1h x").minutes, 60);
    // The first duration wins; numbers in the description stay there.
    let e = one("23.11. 2h 10 Rechnungen geschrieben");
    assert_eq!(
        (e.minutes, e.description.as_str()),
        (120, "10 Rechnungen geschrieben")
    );
    let e = one("23.11. 1,5 Std. 3 Angebote, 2 Mails");
    assert_eq!(
        (e.minutes, e.description.as_str()),
        (90, "3 Angebote, 2 Mails")
    );
    // A tag wherever it stands.
    assert_eq!(
        one("Rechnungen #Acme 23.11. 2h").client.as_deref(),
        Some("acme")
    );
    // `1.5` is never 1 h 50.
    assert_eq!(one("23.11. 1.50 x").minutes, 90);
    // An issue number is not a tag.
    let e = one("23.11. 2h Ticket #123 gelöst");
    assert_eq!(
        (e.client, e.description.as_str()),
        (None, "Ticket #123 gelöst")
    );
    // A description keeps non-ASCII.
    assert_eq!(
        one("23.11. 2h Grüße an Jürgen – erledigt ✓").description,
        "Grüße an Jürgen – erledigt ✓"
    );
}

#[test]
fn clock_times_counts_and_list_numbers_are_not_durations() {
    for text in [
        "Kann ich Sie um 10:30 anrufen",
        "See you at 10:30",
        "Meeting 10:30 Uhr",
        "Call at 9:00 AM",
        "Today: 6 calls, 2 meetings",
    ] {
        assert_eq!(parse(text, &ctx()), vec![], "{text}");
    }
    let all = entries("Mo\n1) 2h inbox\n2. 1,5 calls");
    let got: Vec<_> = all
        .iter()
        .map(|e| (e.minutes, e.description.as_str()))
        .collect();
    assert_eq!(got, vec![(120, "inbox"), (90, "calls")]);
    // `23. Nov` at the start is a date, not a list number.
    assert_eq!(one("23. Nov 2h x").date, ymd(2026, 11, 23));
}

#[test]
fn totals_are_not_counted_again() {
    let all = entries("Mo\n- 2h a\n- 1,5h b\nTotal: 3.5h\nSumme 3,5 Std.\n23.11. gesamt 3,5h");
    assert_eq!(all.len(), 2);
}

#[test]
fn rejections_line_by_line() {
    let text = "Hallo,
- 1.5h inbox
23.11. Kalenderpflege
30.11. 2h Planung
2026-11-23 25h Umzug
31.02. 2h Rechnungen
2026-11-23 0h nichts
2026-11-23 2h gut
Invoices 2.5h
2026-11-23 99999999h x";
    assert_eq!(
        rejections(text),
        vec![
            (2, Reason::NoDate),
            (3, Reason::NoDuration),
            (
                4,
                Reason::FutureDate {
                    date: ymd(2026, 11, 30)
                }
            ),
            (5, Reason::TooLong { minutes: 1500 }),
            (
                6,
                Reason::InvalidDate {
                    text: "31.02.".to_string()
                }
            ),
            (7, Reason::ZeroDuration),
            (9, Reason::NoDate),
            (10, Reason::TooLong { minutes: u32::MAX }),
        ]
    );
    assert_eq!(parse(text, &ctx()).len(), 9);
}

#[test]
fn a_minus_before_a_duration_takes_nothing_back_and_a_bullet_is_no_minus() {
    let text = "2026-11-23 -5h inbox
Mo −1:30 Telefonate
23.11. - 2h Planung

Monday, 23 Nov
-1.5h inbox
- 30 min calls";
    assert_eq!(
        rejections(text),
        vec![(1, Reason::NegativeDuration), (2, Reason::NegativeDuration)]
    );
    assert_eq!(logged_minutes(text), [120, 90, 30]);
}

#[test]
fn the_other_tags_of_a_line_are_kept_once_each_however_many() {
    let entry = one("2026-11-23 1h #Acme #globex #acme #sommerfest Abstimmung");
    assert_eq!(entry.client.as_deref(), Some("acme"));
    assert_eq!(entry.other_tags, ["globex", "sommerfest"]);
    assert!(one("2026-11-23 1h #acme inbox").other_tags.is_empty());
    // 100,000 tags, each once, and each again: kept with a set, not by searching the list.
    let tags: String = (0..100_000).map(|i| format!("#t{i} ")).collect();
    let entry = one(&format!("2026-11-23 1h {tags}{tags}x"));
    assert_eq!(entry.other_tags.len(), 99_999);
}

#[test]
fn a_whole_day_is_the_most_one_line_may_have() {
    assert_eq!(one("23.11. 24h Messe").minutes, 1440);
    assert_eq!(one("23.11. 00:00-24:00 Messe").minutes, 1440);
    assert_eq!(
        rejections("23.11. 24:01 Messe"),
        vec![(1, Reason::TooLong { minutes: 1441 })]
    );
}

#[test]
fn lines_under_an_unusable_date_line_are_rejected_with_its_reason() {
    let text = "31.02.\n- 1h a\n\nMo, 30.11.\n- 2h b";
    assert_eq!(
        rejections(text),
        vec![
            (
                2,
                Reason::InvalidDate {
                    text: "31.02.".to_string()
                }
            ),
            (
                5,
                Reason::FutureDate {
                    date: ymd(2026, 11, 30)
                }
            ),
        ]
    );
}

#[test]
fn unsure_rejections_only_in_a_mail_that_is_a_time_log() {
    // On their own these could be prose (a sick note, a remark), so they stay silent...
    for text in [
        "gestern Buchhaltung vorbereitet",
        "Calls 1.5h with the client",
        "inbox: 1,5",
    ] {
        assert_eq!(parse(text, &ctx()), vec![], "{text}");
    }
    // ...but next to real entries they are forgotten parts.
    let text = "23.11. 2h Rechnungen
gestern Buchhaltung vorbereitet
Calls 1.5h with the client
inbox: 1,5
09:00-11:30 Meeting";
    assert_eq!(
        rejections(text),
        vec![
            (2, Reason::NoDuration),
            (3, Reason::NoDate),
            (4, Reason::NoDate),
            (5, Reason::NoDate),
        ]
    );
}

/// Issue 16: `morgen 2h Termine` was told "no date" and offered today's date, for
/// tomorrow's work. It is a line in the future, and its example keeps that day.
#[test]
fn tomorrow_is_in_the_future() {
    let tomorrow = Reason::FutureDate {
        date: ymd(2026, 11, 27),
    };
    for text in [
        "morgen 2h Termine",
        "Morgen 2h Termine",
        "tomorrow 1.5h calls",
        "- morgen 30 min Telefonate",
        "2h morgen Termine",
    ] {
        assert_eq!(rejections(text), vec![(1, tomorrow.clone())], "{text}");
    }
    assert_eq!(
        rejections("übermorgen 2h Termine"),
        vec![(
            1,
            Reason::FutureDate {
                date: ymd(2026, 11, 28)
            }
        )]
    );
    let lines = parse("morgen 2h Termine", &ctx());
    let Line::Rejected(r) = &lines[0] else {
        panic!("{lines:?}")
    };
    assert_eq!(r.corrected_example(&ctx()), "2026-11-27 2h Termine");
    assert_eq!(
        r.reason.describe(Locale::De),
        "Der 27. November 2026 liegt in der Zukunft."
    );
    // Today's work for tomorrow, and the morning, are no dates.
    assert_eq!(one("heute Morgen 2h Posteingang").date, ymd(2026, 11, 26));
    assert_eq!(
        one("23.11. 2h Vorbereitung für morgen").date,
        ymd(2026, 11, 23)
    );
    let e = one("Mo\n- 1h Termine morgen vorbereitet");
    assert_eq!(
        (e.date, e.description.as_str()),
        (ymd(2026, 11, 23), "Termine morgen vorbereitet")
    );
    assert_eq!(
        rejections("- 2h prep for tomorrow"),
        vec![(1, Reason::NoDate)]
    );
    // A note about tomorrow is not a time log on its own...
    for text in [
        "Guten Morgen,\n\nmorgen 9-11 Arzttermin, danach bin ich da.\n\nLena",
        "Termin morgen 10:30",
        "Ich bin heute krank und melde mich morgen wieder.",
        "Morgen,\nich bin morgen nicht da.",
    ] {
        assert_eq!(parse(text, &ctx()), vec![], "{text}");
    }
    // ...but next to real entries it is rejected with the reason.
    assert_eq!(
        rejections("23.11. 2h Rechnungen\nmorgen 9-11 Arzttermin"),
        vec![(2, tomorrow)]
    );
}

/// Issue 16: `26h` was offered as `26 min`. A line over a day is rejected with that reason and
/// its example does not guess what was meant.
#[test]
fn a_line_over_a_day_is_not_reinterpreted() {
    let lines = parse("gestern 26h Messe", &ctx());
    let Line::Rejected(r) = &lines[0] else {
        panic!("{lines:?}")
    };
    assert_eq!(r.reason, Reason::TooLong { minutes: 1560 });
    assert_eq!(
        r.reason.describe(Locale::En),
        "26 hours on one line are more than 24 hours."
    );
    let example = r.corrected_example(&ctx());
    assert_eq!(example, "2026-11-25 1.5h Messe");
    assert!(!example.contains("min"), "{example}");
}

#[test]
fn a_date_line_with_nothing_under_it_is_silent() {
    assert_eq!(parse("Monday, 23 Nov\n\nThanks!", &ctx()), vec![]);
    assert_eq!(parse("23.11.", &ctx()), vec![]);
}

#[test]
fn line_numbers_count_blank_lines_and_crlf() {
    let lines = parse("\r\n\r\n23.11. 2h a\r\n", &ctx());
    assert!(matches!(&lines[0], Line::Entry(e) if e.line == 3 && e.text == "23.11. 2h a"));
}

#[test]
fn json_shape() {
    let lines = parse("23.11. 2h #acme a\n30.11. 1h b", &ctx());
    let json = serde_json::to_value(&lines).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"entry": {"line": 1, "text": "23.11. 2h #acme a", "date": "2026-11-23", "minutes": 120,
                       "client": "acme", "description": "a"}},
            {"rejected": {"line": 2, "text": "30.11. 1h b",
                          "reason": {"code": "future_date", "date": "2026-11-30"}}},
        ])
    );
}

#[test]
fn rejections_can_be_explained_and_corrected() {
    let text = "23.11. Kalenderpflege\n23.11. 2,5 Std. Buchhaltung";
    let lines = parse(text, &ctx());
    let Line::Rejected(r) = &lines[0] else {
        panic!("{lines:?}")
    };
    assert_eq!(r.reason.describe(Locale::En), "This line has no duration.");
    assert_eq!(
        r.corrected_example(&ctx()),
        "2026-11-23 1.5h Kalenderpflege"
    );
}

#[test]
fn extreme_todays_do_not_panic() {
    for today in [NaiveDate::MIN, NaiveDate::MAX] {
        let ctx = Context::new(today, Locale::En);
        for line in parse(
            "Mo 1h a\n31.12. 2h b\n1.1. 2h c\ngestern 2h d\n31.02. 1h e",
            &ctx,
        ) {
            if let Line::Rejected(r) = line {
                r.reason.describe(Locale::De);
                r.corrected_example(&ctx);
            }
        }
    }
}

/// Every minutes value a form can write exactly, 1..=1440.
fn expressible(form: DurationForm) -> impl Iterator<Item = u32> {
    (1..=24 * 60).filter(move |&m| form.can_express(m))
}

#[test]
fn every_form_round_trips_for_every_expressible_value() {
    for form in DurationForm::ALL {
        for minutes in expressible(form) {
            let text = format_duration(minutes, form);
            assert_eq!(parse_duration(&text), Some(minutes), "{form:?} {text}");
            let lines = parse(&format!("2026-11-23 {text} test"), &ctx());
            let ok = matches!(&lines[..], [Line::Entry(e)] if e.minutes == minutes && e.description == "test");
            assert!(ok, "{form:?} {text}: {lines:?}");
        }
    }
}

/// Text made of the pieces the grammar cares about, so random input reaches deep paths.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("-".to_string()),
        Just(".".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("/".to_string()),
        Just("–".to_string()),
        Just("#".to_string()),
        Just("h".to_string()),
        Just("Std.".to_string()),
        Just("min".to_string()),
        Just("Uhr".to_string()),
        Just("bis".to_string()),
        Just("Mo".to_string()),
        Just("Nov".to_string()),
        Just("gestern".to_string()),
        Just("pm".to_string()),
        Just("ü".to_string()),
        Just("😀".to_string()),
        "[0-9]{1,12}",
        "[a-z]{1,6}",
        "\\PC{1,3}",
    ];
    prop::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn forms_round_trip(minutes in 1u32..=1440, form in prop::sample::select(DurationForm::ALL.to_vec())) {
        // Decimal forms are exact for multiples of 3 minutes: move to the next one.
        let minutes = if form.can_express(minutes) { minutes } else { (minutes / 3 + 1) * 3 };
        let text = format_duration(minutes, form);
        prop_assert_eq!(parse_duration(&text), Some(minutes), "{}", text);
        let lines = parse(&format!("2026-11-23 {text} test"), &ctx());
        prop_assert!(
            matches!(&lines[..], [Line::Entry(e)] if e.minutes == minutes),
            "{} -> {:?}", text, lines
        );
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        check_never_panics(&text);
    }

    #[test]
    fn never_panics_on_tricky_text(text in tricky_text()) {
        check_never_panics(&text);
    }

    #[test]
    fn never_panics_on_long_lines(text in "\\PC{1000,5000}") {
        check_never_panics(&text);
    }
}

fn check_never_panics(text: &str) {
    let ctx = ctx();
    for line in parse(text, &ctx) {
        if let Line::Rejected(r) = line {
            r.reason.describe(Locale::De);
            r.reason.describe(Locale::En);
            r.corrected_example(&ctx);
        }
    }
    for piece in text.lines() {
        let _ = parse_duration(piece);
    }
    let _ = parse_duration(text);
}

/// Found by the golden corpus: a word-like weekday opening a short line is an attempt (rejected
/// beside clear entries), but not when it reads as a word ("So, ...") or introduces something;
/// a time span that introduces what follows is prose.
#[test]
fn word_like_weekdays_and_introductions() {
    let text = "Wed calendar cleanup\n2026-11-23 1h inbox";
    assert_eq!(rejections(text), [(1, Reason::NoDuration)]);
    let text = "So, hier meine Stunden für diese Woche:\n2026-11-23 1h inbox";
    assert_eq!(rejections(text), []);
    let text = "Von 9 bis 12 Uhr war ich beim Arzt, danach:\n2026-11-23 1h Posteingang";
    assert_eq!(rejections(text), []);
    assert_eq!(entries(text).len(), 1);
}

/// `Reason::code` is the code the JSON output carries.
#[test]
fn reason_codes_match_their_serialised_form() {
    let reasons = [
        Reason::NoDate,
        Reason::NoDuration,
        Reason::FutureDate {
            date: ymd(2026, 11, 30),
        },
        Reason::TooLong { minutes: 1500 },
        Reason::InvalidDate {
            text: "31.02.".into(),
        },
        Reason::ZeroDuration,
    ];
    for reason in reasons {
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(json["code"], reason.code(), "{reason:?}");
    }
}

#[test]
fn a_line_of_several_durations_or_days_is_rejected_not_cut_short() {
    // Each was logged as its first duration or day, the rest left in the description: an hour
    // or two days of work lost without a word.
    let text = "2026-11-23 2h Telefonate, danach 1h Mails
23.11. 9:00-11:00, 13:00-15:00 Messe
23.11. 2h 1h Telefonate
23.11.-25.11. je 2h Projekt
23.-25.11. je 2h Projekt
23.11. und 25.11. je 2h Projekt
23.11. bis 25.11. 2h Projekt
23.11. - 25.11. 2h Projekt
23.11./24.11. 2h Projekt
23.11. 2h Mails (45 min)
23.11. 9h-12h Büro
23.11. 9:00h-12:00h Büro
23.11. 2h-3h Recherche
23.11. 2h Buchhaltung inkl. 3h Telefonat
23.11. 3h Meeting Foo Inc, then 1h emails
23.11. 3h research including competitors, then 1h emails";
    let reasons: Vec<(usize, Reason)> = (1..=3)
        .map(|n| (n, Reason::TwoDurations))
        .chain((4..=9).map(|n| (n, Reason::SeveralDays)))
        .chain((10..=16).map(|n| (n, Reason::TwoDurations)))
        .collect();
    assert_eq!(rejections(text), reasons);
    // A span with its length, a total with its parts or a part of it after a word of detail
    // (`davon`, `inkl.`), a date in the description and a day named twice are one entry each.
    let text = "23.11. 9-12 Uhr (3h) Messe
23.11. 3h (9-12 Uhr) Messe
23.11. 1,5h Buchhaltung 1h, Mails 30min
23.11. 2h Termin am 30.11. vorbereitet
23.11. 2h Telefonate mit 3 Kunden
2026-11-23 2h Q4-Planung
23.11. Montag 2h Inbox
heute, 26.11. 2h Inbox
23.11. 9-12h Büro
23.11. Büro-2h
23.11. 2h Schulung (inkl. 15 min Pause)
23.11. 2h Buchhaltung, davon 45 min Telefonat
23.11. 2h Buchhaltung (Belege sortiert, 45 min davon Telefonat)
23.11. 3h admin including 1h calls";
    let minutes: Vec<u32> = entries(text).iter().map(|e| e.minutes).collect();
    assert_eq!(
        minutes,
        [
            180, 180, 90, 120, 120, 120, 120, 120, 180, 120, 120, 120, 120, 180
        ]
    );
    assert!(rejections(text).is_empty());
}

#[test]
fn a_sentence_about_time_off_is_no_entry_even_without_its_full_stop() {
    // Each was logged as hours worked: a client billed for a doctor's appointment.
    for text in [
        "ich brauche am Montag 2 Stunden frei für einen Arzttermin",
        "ich war gestern 2 Stunden beim Arzt, daher fehlt die Zeit",
        "can I take 2 hours off on Monday for the dentist",
        "bin seit gestern 8h krankgeschrieben",
    ] {
        assert!(parse(text, &ctx()).is_empty(), "{text}");
    }
    // Beside entries, the receipt says it was not logged, in case it was work after all; a
    // line in the form of an entry is one, whatever its words.
    let text = "23.11. 2h Inbox
ich habe am Montag 3h Urlaubsvertretung gemacht
24.11. 1h Urlaubsplanung für den Kunden
am Montag habe ich 3h an der Messe gearbeitet";
    assert_eq!(rejections(text), vec![(2, Reason::TimeOff)]);
    assert_eq!(logged_minutes(text), [120, 60, 180]);
}

#[test]
fn a_line_that_asks_a_person_is_a_question_or_time_off() {
    for line in [
        "Kann ich am Freitag frei haben?",
        "Passt das so? Danke!",
        "Is that ok?!",
        "(geht das?)",
        "Hi Anna, how are you? Can I call you tomorrow?",
        "Ich bin ab Montag krankgeschrieben.",
        "I'm taking a day off on Friday",
        "Morgen habe ich einen Arzttermin",
        "Urlaubsantrag für Dezember folgt",
        "Next week I am on leave",
        "I'm off on Friday",
        "I'll be out of office next week.",
        "I'm on holiday from the 21st",
        "Ich bin ab 14.12. verreist",
        "Am Montag war Feiertag.",
    ] {
        assert!(asks_a_person(line), "{line}");
    }
    for line in [
        "Hallo Anna,",
        "Viele Grüße",
        "Danke!",
        "Freitag war viel los",
        "Link: https://example.com/?id=3&x=1",
        "Hi Anna, how are you?",
        "Hallo Anna, wie geht’s?",
        "How are you doing Anna?",
        "Alles gut?",
        "Alles gut bei dir?",
        "Questions? Just reply to this email.",
        "Happy holidays!",
        "Enjoy the holidays and see you in January",
        "Noch Fragen? Ruf mich an: 0171 1234567",
        "Hi Anna, how was your weekend?",
        "I'll leave the files in the shared folder",
        "Der Kalender ist jetzt frei.",
        "Erreichbar Mo-Fr 9-17 Uhr",
        "Sign-off from the client came today",
        "???",
        "Sam",
        "",
    ] {
        assert!(!asks_a_person(line), "{line}");
    }
}

#[test]
fn a_day_off_is_no_line_without_its_duration() {
    // Each was rejected as having no duration, its example logging hours for the day off
    // (`2026-11-27 1.5h krank`).
    let text = "Mo 2h Mails
Mi frei
Fr krank
23.11. Urlaub";
    assert_eq!(
        rejections(text),
        vec![
            (2, Reason::TimeOff),
            (3, Reason::TimeOff),
            (4, Reason::TimeOff)
        ]
    );
    for line in parse(text, &ctx()) {
        if let Line::Rejected(rejected) = line {
            assert_eq!(rejected.corrected_example(&ctx()), "", "{}", rejected.text);
        }
    }
    // Alone, they are no time log: the mail goes to a person.
    assert!(parse("Mi frei\nFr krank", &ctx()).is_empty());
    // A day of time off with work listed under it is a block, as before.
    assert_eq!(
        logged_minutes("Mo 23.11. Urlaubsvertretung\n- 2h Mails"),
        [120]
    );
}

#[test]
fn a_range_of_durations_is_rejected_not_logged_as_a_span() {
    // Each was logged as the span of clock times, an hour, with `Stunden` left in the
    // description: `2-3 Stunden` of work billed as 1.
    let text = "23.11. 2-3 Stunden Recherche
23.11. 2-3 Std. Recherche
23.11. 2-3 hours research
23.11. 1-2h Recherche
23.11. 4-6h Recherche
23.11. 1-2 Recherche";
    let reasons: Vec<(usize, Reason)> = (1..=6).map(|n| (n, Reason::DurationRange)).collect();
    assert_eq!(rejections(text), reasons);
    // Spans of clock times stay spans; a bare range beside a duration is no duration.
    let text = "23.11. 9-12h Büro
23.11. 7-9h Büro
23.11. 1-2 Uhr Call
23.11. 1-2pm call
23.11. 9-11 Recherche
23.11. 9-12 Uhr (3 Stunden) Messe
23.11. 2h Kapitel 1-2 gelesen";
    assert_eq!(logged_minutes(text), [180, 120, 60, 60, 120, 180, 120]);
    assert!(rejections(text).is_empty());
}
