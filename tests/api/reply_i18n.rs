//! The golden corpus of replies in other languages: every `tests/fixtures/replies-i18n/NNN-*.eml`
//! read as `tandem parse --json` reads it, in the world `tests/fixtures/replies-i18n/INDEX.md`
//! describes, compared with `NNN-*.json` beside it (the new text, the cut that ended it, the
//! answers). A mismatch writes `NNN-*.actual.json` and fails; `TANDEM_BLESS=1` writes the
//! expected files instead (review them against INDEX.md before committing). Then the whole
//! corpus is delivered to one daemon and must have the effects INDEX.md names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::domain::{
    Classification, ClientTag, Contact, Disposition, EmailAddress, Locale, TimeZone,
};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::people::{self, NewAssistant, NewClient};

use crate::helpers::{MANIFEST_DIR, TestApp, check_corpus, spawn_app};

fn corpus_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("tests/fixtures/replies-i18n")
}

/// One client per language, in engagement order: (language, client, tag, locale, contact).
const CLIENTS: &[(&str, &str, &str, Locale, &str)] = &[
    (
        "fr",
        "Lumière SARL",
        "lumiere",
        Locale::En,
        "Marie Dubois <marie@lumiere.example>",
    ),
    (
        "it",
        "Aurora Srl",
        "aurora",
        Locale::En,
        "Giulia Rossi <giulia@aurora.example>",
    ),
    (
        "es",
        "Sol y Mar SL",
        "solymar",
        Locale::En,
        "Lucía García <lucia@solymar.example>",
    ),
    (
        "pt",
        "Atlântico Lda",
        "atlantico",
        Locale::En,
        "João Silva <joao@atlantico.example>",
    ),
    (
        "nl",
        "Tulp BV",
        "tulp",
        Locale::En,
        "Daan de Vries <daan@tulp.example>",
    ),
    (
        "pl",
        "Wisła sp. z o.o.",
        "wisla",
        Locale::En,
        "Katarzyna Nowak <kasia@wisla.example>",
    ),
    (
        "sv",
        "Fjäll AB",
        "fjall",
        Locale::En,
        "Erik Lindqvist <erik@fjall.example>",
    ),
    (
        "da",
        "Havn ApS",
        "havn",
        Locale::En,
        "Mette Jensen <mette@havn.example>",
    ),
    (
        "nb",
        "Fjord AS",
        "fjord",
        Locale::En,
        "Ingrid Hansen <ingrid@fjord.example>",
    ),
    (
        "fi",
        "Revontuli Oy",
        "revontuli",
        Locale::En,
        "Aino Virtanen <aino@revontuli.example>",
    ),
    (
        "ru",
        "Berjoza OOO",
        "berjoza",
        Locale::En,
        "Ольга Смирнова <olga@berjoza.example>",
    ),
    (
        "cs",
        "Vltava s.r.o.",
        "vltava",
        Locale::En,
        "Petr Novák <petr@vltava.example>",
    ),
    (
        "hu",
        "Duna Kft.",
        "duna",
        Locale::En,
        "Eszter Nagy <eszter@duna.example>",
    ),
    (
        "tr",
        "Boğaz A.Ş.",
        "bogaz",
        Locale::En,
        "Ayşe Yılmaz <ayse@bogaz.example>",
    ),
    (
        "el",
        "Aigaio AE",
        "aigaio",
        Locale::En,
        "Ελένη Παπαδοπούλου <eleni@aigaio.example>",
    ),
    (
        "ro",
        "Carpați SRL",
        "carpati",
        Locale::En,
        "Andrei Popescu <andrei@carpati.example>",
    ),
    (
        "de",
        "Alpen GmbH",
        "alpen",
        Locale::De,
        "Lukas Huber <lukas@alpen.example>",
    ),
];

/// The languages whose client answers the trial review with no.
const TRIAL_NO: &[&str] = &["nb", "cs"];

fn survey_token(language: &str, n: u32) -> String {
    format!("survey{language}{n:012}")
}

fn trial_token(language: &str) -> String {
    format!("trial{language}{:013}", 1)
}

/// INDEX.md's world: Sam works for one client per language, every engagement in its trial;
/// each client was sent the feedback surveys of weeks 49, 50 and 51 and the trial review
/// (Alpen, German, only the survey of week 49).
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
    for &(_, name, tag, locale, contact) in CLIENTS {
        let client = NewClient {
            name: name.into(),
            tag: ClientTag::parse(tag).unwrap(),
            timezone: TimeZone::parse("Europe/Berlin").unwrap(),
            locale,
            contacts: vec![Contact::parse(contact).unwrap()],
        };
        people::insert_client(&mut tx, &client, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    for &(_, _, tag, ..) in CLIENTS {
        t.app
            .start_engagement(&EngagementRequest {
                assistant: EmailAddress::parse("sam@va.example").unwrap(),
                client: ClientTag::parse(tag).unwrap(),
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
    for (index, &(language, _, _, locale, contact)) in CLIENTS.iter().enumerate() {
        let engagement = index as i64 + 1;
        let recipient = Contact::parse(contact).unwrap().email.as_str().to_string();
        let locale = if locale == Locale::De { "de" } else { "en" };
        // (token, kind, subject, sent, survey kind and period, questions)
        let mut sent = vec![];
        for (n, week, day) in [(1, 49, 4), (2, 50, 11), (3, 51, 18)] {
            if language == "de" && n > 1 {
                continue;
            }
            let subject = if language == "de" {
                format!("Ihr Feedback zur Zusammenarbeit mit Sam Lee (KW {week})")
            } else {
                format!("Your feedback on working with Sam Lee (week {week})")
            };
            sent.push((
                survey_token(language, n),
                "survey",
                subject,
                format!("2026-12-{day:02}T09:00:00Z"),
                ("feedback", format!("2026-W{week}")),
                &questions,
            ));
        }
        if language != "de" {
            sent.push((
                trial_token(language),
                "trial_review",
                "How should it go on after the trial?".to_string(),
                "2026-12-23T09:00:00Z".to_string(),
                ("trial_review", "trial".to_string()),
                &trial,
            ));
        }
        for (token, kind, subject, at, (survey_kind, period), questions) in sent {
            let at: DateTime<Utc> = at.parse().unwrap();
            let message_id = format!("<{token}@example.org>");
            let mut tx = t.app.pool.begin().await.unwrap();
            let survey_id = tandem::store::surveys::insert(
                &mut tx,
                &tandem::store::surveys::NewSurvey {
                    engagement_id: engagement,
                    kind: survey_kind,
                    period: &period,
                    questions,
                    recipient: &recipient,
                    locale,
                    message_id: &message_id,
                },
                at,
            )
            .await
            .unwrap();
            tandem::store::on!(&mut *tx, |c| sqlx::query(
                "INSERT INTO outbox (natural_key, message_id, kind, engagement_id, recipient, \
                 subject, token, survey_id, state, attempts, next_attempt_at, created_at, sent_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sent', 1, $9, $9, $9)",
            )
            .bind(format!("seed:{token}"))
            .bind(&message_id)
            .bind(kind)
            .bind(engagement)
            .bind(&recipient)
            .bind(format!("{subject} [#{token}]"))
            .bind(&token)
            .bind(survey_id)
            .bind(at)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
            .unwrap();
            tx.commit().await.unwrap();
        }
    }
}

/// What a file must be, by its name (`NNN-LANGUAGE-KIND-...`).
fn expected_class(file: &Path) -> (Classification, Disposition) {
    let name = file.file_name().unwrap().to_string_lossy();
    if name.contains("-out-of-office-") {
        (Classification::Ignored, Disposition::Processed)
    } else if name.contains("-person-") {
        (Classification::Unrecognised, Disposition::Attention)
    } else {
        (Classification::Reply, Disposition::Processed)
    }
}

fn language(file: &Path) -> String {
    file.file_name().unwrap().to_string_lossy()[4..6].to_string()
}

#[tokio::test]
async fn the_i18n_reply_corpus_reads_as_expected() {
    let t = spawn_app().await;
    seed_world(&t).await;
    let now: DateTime<Utc> = "2026-12-29T12:00:00Z".parse().unwrap();
    let read = check_corpus(&t, &corpus_dir(), now).await;
    assert!(read.len() >= 60, "{} replies", read.len());
    let languages: BTreeSet<String> = read.iter().map(|(file, _)| language(file)).collect();
    assert!(languages.len() >= 15, "{languages:?}");
    let mut wrong = Vec::new();
    for (file, parsed) in &read {
        let name = file.file_name().unwrap().to_string_lossy();
        if (parsed.classification, parsed.disposition) != expected_class(file) {
            wrong.push(format!(
                "{name}: {:?} ({})",
                parsed.classification, parsed.reason
            ));
        }
        // Every reply's new text was cut somewhere, and the cut names its line.
        if parsed.classification == Classification::Reply
            && parsed.cut.as_ref().is_none_or(|c| c.line.is_empty())
        {
            wrong.push(format!("{name}: no cut"));
        }
        let answers = parsed.answers.len();
        let want = if name.contains("-survey-") {
            4
        } else if name.contains("-trial-") {
            2
        } else {
            0
        };
        if answers != want {
            wrong.push(format!("{name}: {answers} answers, not {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The whole corpus delivered to one daemon (into the Maildir, read by the reader): every
/// survey answered once with the answers of its reply, the trials decided, the autoresponders
/// recorded as auto-generated and never answered, the person's note kept for a person.
#[tokio::test]
async fn the_i18n_corpus_has_its_effects() {
    let t = spawn_app().await;
    seed_world(&t).await;
    t.clock.set("2026-12-29T12:00:00Z".parse().unwrap());
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        t.deliver(&name, &std::fs::read(file).unwrap());
    }
    let report = t.app.reader().drain().await.unwrap();
    assert_eq!(report.recorded, files.len());

    let rows: Vec<(String, String, String)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
                "SELECT COALESCE(subject, ''), classification, disposition FROM inbound_message",
            )
            .fetch_all(c)
            .await
        })
        .unwrap();
    let count = |class: &str, disposition: &str| {
        rows.iter()
            .filter(|(_, c, d)| c == class && d == disposition)
            .count()
    };
    let named = |part: &str| {
        files
            .iter()
            .filter(|f| f.to_string_lossy().contains(part))
            .count()
    };
    assert_eq!(
        count("ignored", "processed"),
        named("-out-of-office-"),
        "{rows:#?}"
    );
    assert_eq!(
        count("unrecognised", "attention"),
        named("-person-"),
        "{rows:#?}"
    );
    assert_eq!(
        count("reply", "processed"),
        named("-survey-") + named("-trial-"),
        "{rows:#?}"
    );

    // Each survey of the corpus answered in full, the trial reviews with their yes or no.
    let answered: Vec<(String, i64)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
                "SELECT survey.message_id, COUNT(*) FROM survey_answer \
                 JOIN survey ON survey.id = survey_answer.survey_id \
                 GROUP BY survey.message_id ORDER BY survey.message_id",
            )
            .fetch_all(c)
            .await
        })
        .unwrap();
    let mut want: Vec<(String, i64)> = Vec::new();
    for &(language, ..) in CLIENTS {
        let surveys = if language == "de" { 1 } else { 3 };
        for n in 1..=surveys {
            want.push((format!("<{}@example.org>", survey_token(language, n)), 4));
        }
        if language != "de" {
            want.push((format!("<{}@example.org>", trial_token(language)), 2));
        }
    }
    want.sort();
    assert_eq!(answered, want);

    // Every survey's third answer (continue) as the corpus gives it: yes in weeks 49 and 50
    // (and Alpen's), no in week 51.
    let continues: Vec<(String, String)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
                "SELECT survey.message_id, survey_answer.value FROM survey_answer \
                 JOIN survey ON survey.id = survey_answer.survey_id \
                 WHERE survey_answer.key = 'continue' AND survey.kind = 'feedback' \
                 ORDER BY survey.message_id",
            )
            .fetch_all(c)
            .await
        })
        .unwrap();
    for (survey, value) in &continues {
        let week_51 = survey.contains("000000000003@");
        assert_eq!(value, if week_51 { "false" } else { "true" }, "{survey}");
    }

    let statuses: Vec<String> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_scalar("SELECT status FROM engagement ORDER BY id")
                .fetch_all(c)
                .await
        })
        .unwrap();
    let want: Vec<&str> = CLIENTS
        .iter()
        .map(|&(language, ..)| {
            if language == "de" || TRIAL_NO.contains(&language) {
                "trial"
            } else {
                "active"
            }
        })
        .collect();
    assert_eq!(statuses, want);
    let alerts = t
        .scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'trial_alert'")
        .await;
    assert_eq!(alerts, TRIAL_NO.len() as i64);
    // Nothing answers a machine: no mail went to the autoresponders but the thanks for the
    // real replies.
    let thanks = t
        .scalar(
            "SELECT COUNT(*) FROM outbox WHERE kind IN ('survey_thanks', 'trial_review_thanks')",
        )
        .await;
    assert_eq!(thanks, (named("-survey-") + named("-trial-")) as i64);
}
