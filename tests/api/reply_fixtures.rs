//! The golden corpus of replies: every `tests/fixtures/replies/NNN-*.eml` read as `tandem
//! parse --json` reads it, in the world `tests/fixtures/replies/INDEX.md` describes, compared
//! with `NNN-*.json` beside it. Each reply kind comes in three files, one per correlation path
//! alone. A mismatch writes `NNN-*.actual.json` and fails; `TANDEM_BLESS=1` writes the
//! expected files instead (review them against INDEX.md before committing).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{self, EngagementRequest, TrialEnd};
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
        onboarding::start(
            &t.app,
            &EngagementRequest {
                assistant: EmailAddress::parse("sam@va.example").unwrap(),
                client: ClientTag::parse(client).unwrap(),
                start: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                trial: TrialEnd::AfterWeeks(4),
                hourly_rate_cents: None,
                budget_minutes: None,
            },
        )
        .await
        .unwrap();
    }
    sqlx::query("UPDATE engagement SET status = 'trial'")
        .execute(&t.app.pool)
        .await
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
        sqlx::query(
            "INSERT INTO outbox (natural_key, message_id, kind, engagement_id, recipient, subject, raw, \
             token, survey_id, state, attempts, next_attempt_at, created_at, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'sent', 1, $10, $10, $10)",
        )
        .bind(format!("seed:{token}"))
        .bind(&message_id)
        .bind(kind)
        .bind(engagement)
        .bind(recipient)
        .bind(format!("{subject} [#{token}]"))
        .bind(Vec::<u8>::new())
        .bind(token)
        .bind(survey_id)
        .bind(at)
        .execute(&mut *tx)
        .await
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
