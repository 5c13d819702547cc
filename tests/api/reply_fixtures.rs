//! The golden corpus of replies: every `tests/fixtures/replies/NNN-*.eml` read as `tandem
//! parse --json` reads it, in the world `tests/fixtures/replies/INDEX.md` describes, compared
//! with `NNN-*.json` beside it. Each reply kind comes in three files, one per correlation path
//! alone. A mismatch writes `NNN-*.actual.json` and fails; `TANDEM_BLESS=1` writes the
//! expected files instead (review them against INDEX.md before committing). Then each file is
//! delivered to a daemon of its own and must have the effect INDEX.md names.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::people::{self, NewAssistant, NewClient};

use crate::helpers::{MANIFEST_DIR, TestApp, check_corpus, spawn_app};

fn corpus_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("tests/fixtures/replies")
}

/// INDEX.md's world: Sam for Acme (Anna, German) and for Globex (Gina, English), both in
/// their trial, and the six mails tandem sent that the replies answer.
async fn seed_world(t: &TestApp) {
    let now = t.clock_now();
    let mut tx = t.app.pool.begin().await.unwrap();
    people::insert_assistant(
        &mut tx,
        &NewAssistant {
            name: "Sam Lee".into(),
            emails: vec![EmailAddress::parse("sam@va.example").unwrap()],
            timezone: TimeZone::parse("Europe/Lisbon").unwrap(),
            locale: Locale::En,
        },
        now,
    )
    .await
    .unwrap();
    for (name, tag, locale, zone, contact) in [
        (
            "Acme GmbH",
            "acme",
            Locale::De,
            "Europe/Berlin",
            "Anna Berg <anna@acme.example>",
        ),
        (
            "Globex Ltd",
            "globex",
            Locale::En,
            "Europe/London",
            "Gina Park <gina@globex.example>",
        ),
    ] {
        let client = NewClient {
            name: name.into(),
            tag: ClientTag::parse(tag).unwrap(),
            timezone: TimeZone::parse(zone).unwrap(),
            locale,
            contacts: vec![Contact::parse(contact).unwrap()],
        };
        people::insert_client(&mut tx, &client, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    for client in ["acme", "globex"] {
        t.app
            .start_engagement(&EngagementRequest {
                assistant: EmailAddress::parse("sam@va.example").unwrap(),
                client: ClientTag::parse(client).unwrap(),
                start: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                trial: TrialEnd::AfterWeeks(4),
                hourly_rate_cents: None,
                budget_minutes: None,
                running: false,
            })
            .await
            .unwrap();
    }
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| sqlx::query(
        "UPDATE engagement SET status = 'trial'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();

    let questions = serde_json::to_string(&tandem::survey::default_questions()).unwrap();
    let trial = serde_json::to_string(&tandem::survey::flow::trial_questions("Sam Lee")).unwrap();
    // (token, kind, engagement, recipient, subject, sent, survey kind and period)
    let sent = [
        (
            "surveyde000000000001",
            "survey",
            1,
            "anna@acme.example",
            "Ihr Feedback zur Zusammenarbeit mit Sam Lee (KW 49)",
            "2026-12-04T09:00:00Z",
            Some(("feedback", "2026-W49", &questions)),
        ),
        (
            "surveyen000000000001",
            "survey",
            2,
            "gina@globex.example",
            "Your feedback on working with Sam Lee (week 49)",
            "2026-12-04T10:00:00Z",
            Some(("feedback", "2026-W49", &questions)),
        ),
        (
            "trialde0000000000001",
            "trial_review",
            1,
            "anna@acme.example",
            "Wie geht es nach der Probezeit weiter?",
            "2026-12-23T09:00:00Z",
            Some(("trial_review", "trial", &trial)),
        ),
        (
            "trialen0000000000001",
            "trial_review",
            2,
            "gina@globex.example",
            "How should it go on after the trial?",
            "2026-12-23T10:00:00Z",
            Some(("trial_review", "trial", &trial)),
        ),
        (
            "agreede0000000000001",
            "agreement_reminder",
            1,
            "anna@acme.example",
            "Erinnerung: Unterlagen zur Unterschrift",
            "2026-12-08T09:00:00Z",
            None,
        ),
        (
            "agreeen0000000000001",
            "agreement_reminder",
            2,
            "gina@globex.example",
            "Reminder: documents to sign",
            "2026-12-08T10:00:00Z",
            None,
        ),
    ];
    for (token, kind, engagement, recipient, subject, at, survey) in sent {
        let at: DateTime<Utc> = at.parse().unwrap();
        let message_id = format!("<{token}@example.org>");
        let mut tx = t.app.pool.begin().await.unwrap();
        let survey_id = match survey {
            Some((survey_kind, period, questions)) => tandem::store::surveys::insert(
                &mut tx,
                &tandem::store::surveys::NewSurvey {
                    engagement_id: engagement,
                    kind: survey_kind,
                    period,
                    questions,
                    recipient,
                    locale: if engagement == 1 { "de" } else { "en" },
                    message_id: &message_id,
                },
                at,
            )
            .await
            .unwrap(),
            None => None,
        };
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO outbox (natural_key, message_id, kind, engagement_id, recipient, subject, \
             token, survey_id, state, attempts, next_attempt_at, created_at, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sent', 1, $9, $9, $9)",
        )
        .bind(format!("seed:{token}"))
        .bind(&message_id)
        .bind(kind)
        .bind(engagement)
        .bind(recipient)
        .bind(format!("{subject} [#{token}]"))
        .bind(token)
        .bind(survey_id)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn the_reply_corpus_reads_as_expected() {
    let t = spawn_app().await;
    seed_world(&t).await;
    let now: DateTime<Utc> = "2026-12-29T12:00:00Z".parse().unwrap();
    let read = check_corpus(&t, &corpus_dir(), now).await;
    assert_eq!(read.len(), 24, "eight replies, three paths each");
    let not_replies: Vec<String> = read
        .iter()
        .filter(|(_, parsed)| parsed.classification != tandem::domain::Classification::Reply)
        .map(|(file, parsed)| format!("{}: {}", file.display(), parsed.reason))
        .collect();
    assert!(
        not_replies.is_empty(),
        "every file is a reply:\n{}",
        not_replies.join("\n")
    );
}

/// Each file of the corpus delivered to a daemon of its own (into the Maildir, read by the
/// reader) has the effect INDEX.md names: answers stored and thanked for, the low score
/// alerted, agreements received with their PDF, the trial decided.
#[tokio::test]
async fn each_reply_of_the_corpus_has_its_effect() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 24);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let t = spawn_app().await;
        seed_world(&t).await;
        t.clock.set("2026-12-29T12:00:00Z".parse().unwrap());
        t.deliver("reply.eml", &std::fs::read(file).unwrap());
        let report = t.app.reader().drain().await.unwrap();
        assert_eq!(report.recorded, 1, "{name}");
        let kinds: Vec<String> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| sqlx::query_scalar(
            "SELECT kind FROM outbox WHERE natural_key NOT LIKE 'seed:%' AND kind <> 'welcome' ORDER BY id",
        )
        .fetch_all(c)
        .await)
        .unwrap();
        let answers: Vec<String> =
            tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
                sqlx::query_scalar("SELECT key FROM survey_answer ORDER BY survey_id, number")
                    .fetch_all(c)
                    .await
            })
            .unwrap();
        let statuses: Vec<(i64, String, String)> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| sqlx::query_as(
            "SELECT engagement_id, kind, status FROM agreement WHERE status <> 'pending' ORDER BY id",
        )
        .fetch_all(c)
        .await)
        .unwrap();
        let engagements: Vec<String> =
            tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
                sqlx::query_scalar("SELECT status FROM engagement ORDER BY id")
                    .fetch_all(c)
                    .await
            })
            .unwrap();
        let documents = t.count("agreement_document").await;
        let received = |engagement: i64, list: &[&str]| -> Vec<(i64, String, String)> {
            list.iter()
                .map(|k| (engagement, k.to_string(), "received".to_string()))
                .collect()
        };
        let group = name[..3].parse::<u32>().unwrap().div_ceil(3);
        match group {
            1 => {
                assert_eq!(
                    answers,
                    ["satisfaction", "communication", "continue", "comments"],
                    "{name}"
                );
                assert_eq!(kinds, ["survey_thanks"], "{name}");
            }
            2 => {
                assert_eq!(answers.len(), 4, "{name}");
                assert_eq!(kinds, ["survey_thanks", "score_alert"], "{name}");
            }
            3 => {
                assert_eq!(answers, ["satisfaction", "continue", "comments"], "{name}");
                assert_eq!(kinds, ["survey_thanks"], "{name}");
            }
            4 => {
                assert_eq!(answers.len(), 4, "{name}");
                assert_eq!(kinds, ["survey_thanks"], "{name}");
            }
            5 => {
                assert_eq!(statuses, received(1, &["contract", "nda"]), "{name}");
                assert_eq!(
                    (documents, kinds.as_slice()),
                    (0, &["agreement_received".to_string()][..]),
                    "{name}"
                );
            }
            6 => {
                assert_eq!(statuses, received(2, &["dpa"]), "{name}");
                assert_eq!(
                    (documents, kinds.as_slice()),
                    (1, &["agreement_received".to_string()][..]),
                    "{name}"
                );
            }
            7 => {
                assert_eq!(engagements, ["active", "trial"], "{name}");
                assert_eq!(kinds, ["trial_review_thanks"], "{name}");
            }
            8 => {
                assert_eq!(engagements, ["trial", "trial"], "{name}");
                assert_eq!(kinds, ["trial_alert", "trial_review_thanks"], "{name}");
            }
            _ => unreachable!("24 files"),
        }
    }
}
