//! A person's data (issue 15): `tandem privacy export` holds everything stored about a contact,
//! item by item; `tandem privacy erase` leaves nothing of their name or address in the
//! database (file and WAL on SQLite) or the mail folders tandem manages, and the client's other
//! data intact; an assistant erased with `--keep-billing` bills the same hours under a
//! pseudonym.

use chrono::NaiveDate;

use crate::helpers::{TestApp, describe, message, on_postgres, spawn_app};
use crate::replies::{Path, SentMail, reply, sent_mail, with_pdf};

const NAME: &str = "Anna Berg";
const ADDRESS: &str = "anna@acme.example";

/// Sam for Acme since 26 Oct 2026 with a month of hours (one entry a day naming Anna), Anna's
/// survey answers and signed PDF, and mail of hers in Processed, Attention and Quarantine.
async fn agency() -> TestApp {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_from(NaiveDate::from_ymd_opt(2026, 10, 26).unwrap())
        .await;
    t.app.outbox().drain().await.unwrap();
    let mut day = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
    let mut n = 0;
    while day < NaiveDate::from_ymd_opt(2026, 11, 26).unwrap() {
        n += 1;
        let body = format!(
            "{} 2h Ablage\r\n{} 0:30 Telefonat mit Anna Berg",
            day.format("%d.%m.%Y"),
            day.format("%d.%m.%Y")
        );
        t.deliver(
            &format!("hours{n}.eml"),
            &message(
                "Sam Lee <sam@va.example>",
                &format!("<hours{n}@va.example>"),
                "Stunden",
                "",
                &body,
            ),
        );
        day = day.succ_opt().unwrap();
    }
    t.app.reader().drain().await.unwrap();

    t.app.send_survey_now(1).await.unwrap();
    t.app.remind_agreements_now(1).await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let survey = sent_mail(&t, "survey").await;
    t.deliver(
        "answer.eml",
        &reply(
            "Anna Berg <anna@acme.example>",
            &survey,
            Path::InReplyTo,
            "answer@acme.example",
            "1: 4\r\n2: 5\r\n3: ja\r\n4: Sam arbeitet sehr gut.\r\n\r\nAnna Berg",
        ),
    );
    let reminder = reminder_to_anna(&t).await;
    t.deliver(
        "pdf.eml",
        &with_pdf(reply(
            "Anna Berg <anna@acme.example>",
            &reminder,
            Path::Subject,
            "pdf@acme.example",
            "Anbei der unterschriebene AVV.\r\n\r\nAnna Berg",
        )),
    );
    t.deliver(
        "kickoff.eml",
        &message(
            "Anna Berg <anna@acme.example>",
            "<kickoff@acme.example>",
            "Kickoff?",
            "",
            "Wann passt es Ihnen?",
        ),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    // What the daemon quarantines (here: put there as it would be).
    let quarantine = t.inbox().join(".Quarantine/new");
    std::fs::create_dir_all(&quarantine).unwrap();
    std::fs::write(
        quarantine.join("odd.eml"),
        message(
            "Anna Berg <anna@acme.example>",
            "<odd@acme.example>",
            "?",
            "",
            "unreadable",
        ),
    )
    .unwrap();
    t
}

/// The agreement reminder to Anna (the newest one is Sam's), as her mail client shows it.
async fn reminder_to_anna(t: &TestApp) -> SentMail {
    let (raw, token): (Vec<u8>, String) =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
                "SELECT r.raw, o.token FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
                 WHERE o.kind = 'agreement_reminder' AND o.recipient = $1",
            )
            .bind(ADDRESS)
            .fetch_one(c)
            .await
        })
        .unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    SentMail {
        message_id: format!("<{}>", m.message_id().unwrap()),
        subject: m.subject().unwrap().replace(&format!(" [#{token}]"), ""),
        text: m.body_text(0).unwrap().replace("\r\n", "\n"),
        token,
    }
}

/// Every file under `dir` that names `needle` (ignoring case), as its bytes are.
fn files_naming(dir: &std::path::Path, needle: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_naming(&path, needle, out);
        } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap())
            .to_lowercase()
            .contains(&needle.to_lowercase())
        {
            out.push(path.display().to_string());
        }
    }
}

async fn count(t: &TestApp, sql: &str) -> i64 {
    t.scalar(sql).await
}

#[tokio::test]
async fn a_contact_is_exported_whole_then_erased_without_a_trace() {
    let t = agency().await;
    let anna = format!("lower(recipient) = '{ADDRESS}'");
    let from_anna = format!("from_addr = '{ADDRESS}'");
    let expected = [
        (
            "contact",
            format!("SELECT count(*) FROM contact WHERE email = '{ADDRESS}'"),
        ),
        (
            "inbound_message",
            format!("SELECT count(*) FROM inbound_message WHERE {from_anna}"),
        ),
        (
            "survey",
            format!("SELECT count(*) FROM survey WHERE {anna}"),
        ),
        (
            "survey_answer",
            "SELECT count(*) FROM survey_answer".to_string(),
        ),
        ("document", "SELECT count(*) FROM document".to_string()),
        (
            "outbox",
            format!("SELECT count(*) FROM outbox WHERE {anna}"),
        ),
        (
            "outbox_raw",
            format!(
                "SELECT count(*) FROM outbox_raw WHERE outbox_id IN \
                 (SELECT id FROM outbox WHERE {anna})"
            ),
        ),
    ];
    let mut counts = Vec::new();
    for (table, sql) in &expected {
        counts.push((*table, count(&t, sql).await));
    }
    assert_eq!(counts[2].1, 1, "one survey to Anna: {counts:?}");
    assert_eq!(counts[3].1, 4, "her four answers: {counts:?}");
    assert_eq!(counts[4].1, 1, "her PDF: {counts:?}");
    assert_eq!(counts[1].1, 3, "three messages from her: {counts:?}");

    // The export, item by item.
    let out = t.dir.path().join("export-anna");
    let export = t.tandem(&["privacy", "export", ADDRESS, "--to", out.to_str().unwrap()]);
    assert!(export.status.success(), "{}", describe(&export));
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("data.json")).unwrap()).unwrap();
    assert_eq!(data["person"]["name"], NAME);
    for (table, n) in &counts {
        let rows = data["tables"][table].as_array().unwrap();
        assert_eq!(rows.len() as i64, *n, "{table}");
    }
    let answers: Vec<&str> = data["tables"]["survey_answer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert!(
        answers.iter().any(|a| a.contains("Sam arbeitet sehr gut.")),
        "{answers:?}"
    );
    let pdf = data["tables"]["document"][0]["data_file"].as_str().unwrap();
    assert!(
        std::fs::read(out.join(pdf))
            .unwrap()
            .starts_with(b"%PDF-1.4")
    );
    for row in data["tables"]["outbox_raw"].as_array().unwrap() {
        let file = row["raw_file"].as_str().unwrap();
        assert!(String::from_utf8_lossy(&std::fs::read(out.join(file)).unwrap()).contains(ADDRESS));
    }
    let folders: Vec<&str> = data["mail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["folder"].as_str().unwrap())
        .collect();
    for folder in ["processed", "attention", "quarantine", "delivered"] {
        assert!(folders.contains(&folder), "{folder} in {folders:?}");
    }
    let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
    assert!(readme.contains("Art. 15 DSGVO"), "{readme}");
    std::fs::remove_dir_all(&out).unwrap();

    // The rest of the agency, before.
    let hours = "SELECT CAST(count(*) * 100000 + sum(minutes) AS BIGINT) FROM time_entry \
                 WHERE status = 'logged'";
    let before_hours = count(&t, hours).await;
    let ben = "SELECT count(*) FROM contact WHERE email = 'ben@acme.example'";

    // The erase.
    let erase = t.tandem(&["privacy", "erase", ADDRESS, "--yes"]);
    assert!(erase.status.success(), "{}", describe(&erase));
    let said = String::from_utf8_lossy(&erase.stdout);
    assert!(said.contains("erased Anna Berg"), "{said}");
    assert!(said.contains("4 survey answers"), "{said}");

    // Nothing of her in the mail folders and the outbox folder.
    for needle in [NAME, ADDRESS] {
        let mut found = Vec::new();
        files_naming(&t.inbox(), needle, &mut found);
        files_naming(&t.outbox_dir(), needle, &mut found);
        assert!(found.is_empty(), "{needle} in {found:?}");
    }
    // Nor in the database.
    if on_postgres() {
        for (table, _, column) in tandem::store::privacy::SWEPT {
            for needle in [NAME, ADDRESS] {
                let sql = format!(
                    "SELECT count(*) FROM {table} WHERE lower({column}) LIKE '%{}%'",
                    needle.to_lowercase()
                );
                assert_eq!(count(&t, &sql).await, 0, "{sql}");
            }
        }
        let raw = "SELECT count(*) FROM outbox_raw WHERE position('anna@acme.example' IN \
                   convert_from(raw, 'UTF8')) > 0";
        assert_eq!(count(&t, raw).await, 0);
    } else {
        let db = t.dir.path().join("var/tandem.db");
        for file in [db.clone(), db.with_extension("db-wal")] {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes).to_lowercase();
            for needle in [NAME, ADDRESS] {
                assert!(
                    !text.contains(&needle.to_lowercase()),
                    "{needle} in {}",
                    file.display()
                );
            }
        }
    }
    // The client's other data is intact: Ben, the engagement, the hours (their descriptions
    // name a pseudonym now).
    assert_eq!(count(&t, ben).await, 1);
    assert_eq!(count(&t, "SELECT count(*) FROM engagement").await, 1);
    assert_eq!(count(&t, hours).await, before_hours);
    assert!(
        count(
            &t,
            "SELECT count(*) FROM time_entry WHERE description LIKE '%erased contact%'"
        )
        .await
            > 0
    );
    // Asked again, nobody is there.
    let again = t.tandem(&["privacy", "erase", ADDRESS, "--yes"]);
    assert!(!again.status.success(), "{}", describe(&again));
}

#[tokio::test]
async fn an_assistant_erased_with_keep_billing_bills_the_same_hours() {
    let t = agency().await;
    let export = |month: &str| {
        let out = t.tandem(&["hours", "export", "--month", month]);
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let before = [export("2026-10"), export("2026-11")];
    assert!(before[1].contains("Sam Lee"), "{}", before[1]);

    // Not while Sam still works.
    let early = t.tandem(&["privacy", "erase", "sam@va.example", "--yes"]);
    assert!(!early.status.success(), "{}", describe(&early));
    assert!(String::from_utf8_lossy(&early.stderr).contains("end them first"));
    let ended = t.tandem(&["engagement", "end", "1"]);
    assert!(ended.status.success(), "{}", describe(&ended));

    let erase = t.tandem(&[
        "privacy",
        "erase",
        "sam@va.example",
        "--keep-billing",
        "--yes",
    ]);
    assert!(erase.status.success(), "{}", describe(&erase));
    let said = String::from_utf8_lossy(&erase.stdout);
    assert!(said.contains("§147 AO"), "{said}");
    let after = [export("2026-10"), export("2026-11")];
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(
            before.replace("Sam Lee", "erased assistant 1"),
            *after,
            "the same rows, totals and amounts under the pseudonym"
        );
        assert!(!after.contains("Sam Lee"));
    }
    for needle in ["Sam Lee", "sam@va.example", "sam.lee@gmail.example"] {
        let mut found = Vec::new();
        files_naming(&t.inbox(), needle, &mut found);
        files_naming(&t.outbox_dir(), needle, &mut found);
        assert!(found.is_empty(), "{needle} in {found:?}");
    }
}
