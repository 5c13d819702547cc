//! The golden corpus: every `tests/fixtures/hours/NNN-*.eml` read as `tandem parse --json`
//! reads it, against the world `tests/fixtures/hours/INDEX.md` describes, compared with
//! `NNN-*.json` beside it. A mismatch writes `NNN-*.actual.json` and fails; `TANDEM_BLESS=1`
//! writes the expected files instead (review them against INDEX.md before committing).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::people::{self, NewAssistant, NewClient};

use crate::helpers::{MANIFEST_DIR, TestApp, check_corpus, spawn_app};

fn corpus_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("tests/fixtures/hours")
}

/// The world of INDEX.md: Sam (one engagement), Lena (two), Acme and Globex.
async fn seed_world(t: &TestApp) {
    let now = t.clock_now();
    let mut tx = t.app.pool.begin().await.unwrap();
    let assistants = [
        (
            "Sam Lee",
            &["sam@va.example", "sam.lee@gmail.example"][..],
            "Europe/Lisbon",
            Locale::En,
        ),
        (
            "Lena Vogel",
            &[
                "lena@va.example",
                "lena.vogel@gmx.example",
                "lena.v@web.example",
            ][..],
            "Europe/Berlin",
            Locale::De,
        ),
    ];
    for (name, emails, zone, locale) in assistants {
        let new = NewAssistant {
            name: name.into(),
            emails: emails
                .iter()
                .map(|e| EmailAddress::parse(e).unwrap())
                .collect(),
            timezone: TimeZone::parse(zone).unwrap(),
            locale,
        };
        people::insert_assistant(&mut tx, &new, now).await.unwrap();
    }
    let clients = [
        (
            "Acme GmbH",
            "acme",
            Locale::De,
            "Europe/Berlin",
            &[
                "Anna Berg <anna@acme.example>",
                "Ben Roth <ben@acme.example>",
            ][..],
        ),
        (
            "Globex Ltd",
            "globex",
            Locale::En,
            "Europe/London",
            &["Grace Hill <grace@globex.example>"][..],
        ),
    ];
    for (name, tag, locale, zone, contacts) in clients {
        let new = NewClient {
            name: name.into(),
            tag: ClientTag::parse(tag).unwrap(),
            timezone: TimeZone::parse(zone).unwrap(),
            locale,
            contacts: contacts
                .iter()
                .map(|c| Contact::parse(c).unwrap())
                .collect(),
        };
        people::insert_client(&mut tx, &new, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    for (assistant, client) in [
        ("sam@va.example", "acme"),
        ("lena@va.example", "acme"),
        ("lena@va.example", "globex"),
    ] {
        let request = EngagementRequest {
            assistant: EmailAddress::parse(assistant).unwrap(),
            client: ClientTag::parse(client).unwrap(),
            start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            trial: TrialEnd::AfterWeeks(4),
            hourly_rate_cents: Some(4000),
            budget_minutes: None,
            running: false,
        };
        t.app.start_engagement(&request).await.unwrap();
    }
}

/// The receipts of INDEX.md's table, each as a sent outbox row with the submission it
/// confirmed, so replies to them are recognised.
async fn seed_receipts(t: &TestApp) -> usize {
    let index = std::fs::read_to_string(corpus_dir().join("INDEX.md")).unwrap();
    let mut seeded = 0;
    for row in index.lines().filter(|l| l.starts_with("| R")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let [_, key, message_id, token, to, subject, sent, confirmed, ..] = cells[..] else {
            panic!("a receipt row of INDEX.md does not read: {row}");
        };
        let unquote = |s: &str| s.trim_matches('`').to_string();
        let sent: DateTime<Utc> = format!("{}Z", sent.replace(' ', "T")).parse().unwrap();
        let recipient = unquote(to);
        let assistant = people::assistant_by_email(
            &mut t.app.pool.acquire().await.unwrap(),
            &EmailAddress::parse(&recipient).unwrap(),
        )
        .await
        .unwrap();
        let mut tx = t.app.pool.begin().await.unwrap();
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO outbox (natural_key, message_id, kind, recipient, subject, token, state, \
             attempts, next_attempt_at, created_at, sent_at) \
             VALUES ($1, $2, 'receipt', $3, $4, $5, 'sent', 1, $6, $6, $6)",
        )
        .bind(format!("seed:{key}"))
        .bind(unquote(message_id))
        .bind(&recipient)
        .bind(subject)
        .bind(unquote(token))
        .bind(sent)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        let inbound: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
            "INSERT INTO inbound_message (dedupe_key, source, classification, reason, disposition, \
             size_bytes, received_at) VALUES ($1, 'seed', 'hours', 'seeded', 'processed', 0, $2) RETURNING id",
        )
        .bind(format!("seed:{key}"))
        .bind(sent)
        .fetch_one(c)
        .await)
        .unwrap();
        let mut entries = Vec::new();
        for line in confirmed.split("<br>").map(|l| l.trim().trim_matches('`')) {
            let mut words = line.splitn(4, ' ');
            let (Some(date), Some(minutes), Some(client), Some(description)) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                continue;
            };
            let (Ok(date), Ok(minutes)) = (date.parse::<NaiveDate>(), minutes.parse::<u32>())
            else {
                continue; // "(+ rejected: ...)" notes
            };
            let engagement: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
                "SELECT e.id FROM engagement e JOIN client c ON c.id = e.client_id \
                 WHERE e.assistant_id = $1 AND c.tag = $2",
            )
            .bind(assistant.id)
            .bind(client)
            .fetch_one(c)
            .await)
            .unwrap();
            entries.push((engagement, date, minutes, description.to_string()));
        }
        assert!(
            !entries.is_empty(),
            "receipt {key} confirmed nothing: {row}"
        );
        let new: Vec<_> = entries
            .iter()
            .enumerate()
            .map(|(i, (engagement_id, work_date, minutes, description))| {
                tandem::store::timelog::NewEntry {
                    engagement_id: *engagement_id,
                    work_date: *work_date,
                    minutes: *minutes,
                    description,
                    line_no: i + 1,
                    line_text: description,
                }
            })
            .collect();
        let submission = tandem::store::timelog::insert_submission(
            &mut tx,
            inbound,
            assistant.id,
            &new,
            None,
            sent,
        )
        .await
        .unwrap();
        tandem::store::timelog::set_receipt(&mut tx, submission, &unquote(message_id))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        seeded += 1;
    }
    seeded
}

#[tokio::test]
async fn the_golden_corpus_reads_as_expected() {
    let t = spawn_app().await;
    seed_world(&t).await;
    assert_eq!(seed_receipts(&t).await, 22);
    // After the newest message of the corpus.
    let now: DateTime<Utc> = "2026-11-28T12:00:00Z".parse().unwrap();
    let files = check_corpus(&t, &corpus_dir(), now).await;
    assert!(
        files.len() >= 80,
        "the corpus has only {} messages",
        files.len()
    );
}
