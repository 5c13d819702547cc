//! A person's data (issue 15): `tandem privacy export` holds everything stored about a contact,
//! item by item; `tandem privacy erase` leaves nothing of their name or address in the
//! database (file and WAL on SQLite) or the mail folders tandem manages, and the client's other
//! data intact; an assistant erased with `--keep-billing` bills the same hours under a
//! pseudonym.

use chrono::NaiveDate;

use crate::helpers::{TestApp, describe, message, on_postgres, spawn_app_with, test_now};
use crate::replies::{Path, SentMail, reply, sent_mail, with_pdf};

const NAME: &str = "Anna Berg";
const ADDRESS: &str = "anna@acme.example";

/// Sam for Acme since 26 Oct 2026 with a month of hours (one entry a day naming Anna), Anna's
/// survey answers and signed PDF, and mail of hers in Processed, Attention and Quarantine.
async fn agency() -> TestApp {
    agency_with(|_, text| text).await
}

/// [`agency`] on an edited config.
async fn agency_with(edit: impl FnOnce(&std::path::Path, String) -> String) -> TestApp {
    let t = spawn_app_with(edit).await;
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
    // On a pipe, no progress.
    assert!(export.stderr.is_empty(), "{}", describe(&export));
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("data.json")).unwrap()).unwrap();
    assert_eq!(data["person"]["name"], NAME);
    // On a terminal (a pseudo-terminal from `script`), a bar over the files it writes.
    let again = t.dir.path().join("export-on-a-terminal");
    let command = format!(
        "{} --config {} privacy export {ADDRESS} --to {}",
        env!("CARGO_BIN_EXE_tandem"),
        t.config_path.display(),
        again.display()
    );
    let screen = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TANDEM_LOG", "warn")
        .output()
        .unwrap();
    assert!(screen.status.success(), "{}", describe(&screen));
    let screen = String::from_utf8_lossy(&screen.stdout);
    assert!(
        screen.contains("exporting") && screen.contains(" files"),
        "{screen}"
    );
    std::fs::remove_dir_all(&again).unwrap();
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
        // A draft starts with a NUL byte, which `convert_from` refuses: read from after it.
        let raw = "SELECT count(*) FROM outbox_raw WHERE position('anna@acme.example' IN \
                   convert_from(CASE WHEN get_byte(raw, 0) = 0 THEN substring(raw FROM 2) \
                   ELSE raw END, 'UTF8')) > 0";
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

/// Every file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Retention: with the clock past each period in turn, a purge removes exactly what that
/// period covers and nothing else, and a dry run before it lists the same.
#[tokio::test]
async fn retention_removes_what_each_period_covers_and_nothing_else() {
    let t = agency_with(|_, text| {
        text.replace("raw_messages = \"90d\"", "raw_messages = \"10d\"")
            .replace("documents = \"365d\"", "documents = \"20d\"")
            .replace("health_events = \"90d\"", "health_events = \"30d\"")
            .replace("quarantine = \"90d\"", "quarantine = \"40d\"")
    })
    .await;
    // The engagement ends now; a failure is logged now; every filed message arrived now.
    tandem::store::engagements::end(&mut t.app.pool.acquire().await.unwrap(), 1, test_now())
        .await
        .unwrap();
    t.execute(&format!(
        "INSERT INTO health_event (component, at, error) VALUES ('inbound', '{}', 'x')",
        test_now().format("%Y-%m-%dT%H:%M:%SZ")
    ))
    .await;
    let arrived = std::time::SystemTime::from(test_now());
    for file in files_under(&t.inbox()) {
        if file
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            std::fs::File::options()
                .write(true)
                .open(&file)
                .unwrap()
                .set_modified(arrived)
                .unwrap();
        }
    }
    let folder = |name: &str| {
        files_under(&t.inbox().join(name))
            .into_iter()
            .filter(|f| !f.ends_with("maildirfolder"))
            .count()
    };
    let raw = "SELECT count(*) FROM outbox_raw";
    let (sent, processed, attention) = (
        t.scalar(raw).await,
        folder(".Processed"),
        folder(".Attention"),
    );
    assert!(sent > 0 && processed > 0 && attention > 0);
    let (documents, events, quarantined) = (
        t.scalar("SELECT count(*) FROM document").await,
        t.scalar("SELECT count(*) FROM health_event").await,
        folder(".Quarantine"),
    );
    assert_eq!((documents, quarantined), (1, 1));

    let purge = |dry: bool| {
        let t = &t;
        async move {
            let purged = t.app.purge(dry).await.unwrap();
            (
                purged.expired.raw_messages as i64,
                purged.expired.documents as i64,
                purged.expired.health_events as i64,
                purged.processed_mail,
                purged.quarantined_mail,
            )
        }
    };
    // Within every period: nothing.
    t.clock.set(test_now() + chrono::Duration::days(9));
    assert_eq!(purge(false).await, (0, 0, 0, 0, 0));
    // Past 10 days: the raw messages and the processed folder.
    t.clock.set(test_now() + chrono::Duration::days(11));
    let listed = purge(true).await;
    assert_eq!(listed, (sent, 0, 0, processed, 0));
    assert_eq!(t.scalar(raw).await, sent, "a dry run changes nothing");
    assert_eq!(purge(false).await, listed);
    assert_eq!(t.scalar(raw).await, 0);
    assert_eq!(folder(".Processed"), 0);
    assert_eq!(t.scalar("SELECT count(*) FROM document").await, documents);
    assert_eq!(t.scalar("SELECT count(*) FROM health_event").await, events);
    assert_eq!(
        (folder(".Quarantine"), folder(".Attention")),
        (1, attention)
    );
    // The rows stay: only the raw copies go.
    assert!(t.scalar("SELECT count(*) FROM outbox").await >= sent);
    // Past 20 days: the documents of the engagement that ended.
    t.clock.set(test_now() + chrono::Duration::days(21));
    let listed = purge(true).await;
    assert_eq!(listed, (0, 1, 0, 0, 0));
    assert_eq!(purge(false).await, listed);
    assert_eq!(t.scalar("SELECT count(*) FROM document").await, 0);
    assert_eq!(t.scalar("SELECT count(*) FROM health_event").await, events);
    // Past 30 days: the failure log.
    t.clock.set(test_now() + chrono::Duration::days(31));
    let listed = purge(true).await;
    assert_eq!(listed, (0, 0, events, 0, 0));
    assert_eq!(purge(false).await, listed);
    assert_eq!(t.scalar("SELECT count(*) FROM health_event").await, 0);
    assert_eq!(folder(".Quarantine"), 1);
    // Past 40 days: the quarantine. The attention folder is the operator's.
    t.clock.set(test_now() + chrono::Duration::days(41));
    let listed = purge(true).await;
    assert_eq!(listed, (0, 0, 0, 0, 1));
    assert_eq!(purge(false).await, listed);
    assert_eq!(
        (folder(".Quarantine"), folder(".Attention")),
        (0, attention)
    );
    // The people, the engagement and the hours are untouched.
    assert_eq!(t.count("contact").await, 2);
    assert!(t.count("time_entry").await > 0);
}

#[tokio::test]
async fn the_record_of_processing_renders_in_both_languages() {
    let t = agency().await;
    for (lang, title, period) in [
        (
            "de",
            "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO)",
            "90 Tage",
        ),
        (
            "en",
            "Record of processing activities (GDPR Art. 30)",
            "90 days",
        ),
    ] {
        let out = t.tandem(&["privacy", "report", "--lang", lang]);
        assert!(out.status.success(), "{}", describe(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with(&format!("# {title}")), "{text}");
        assert!(text.contains(period), "{text}");
        assert!(text.contains("Example Agency"), "{text}");
    }
    let bad = t.tandem(&["privacy", "report", "--lang", "fr"]);
    assert!(!bad.status.success());
}

/// On IMAP (a real Dovecot): the export takes the filed copies of a contact's mail from the
/// server, and the erase deletes them from Processed, Attention and Quarantine, and the mail
/// that names her; the rest stays.
#[tokio::test]
async fn over_imap_the_filed_copies_are_exported_then_deleted() {
    use crate::servers::{Dovecot, Tls};
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = spawn_app_with(|dir, text| {
        dovecot
            .tandem_config(dir, &text, &account, Tls::None)
            .replace("message_bytes = 26214400", "message_bytes = 4000")
    })
    .await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    let big = format!("Anbei alles.\r\n{}", "x".repeat(6000));
    for raw in [
        message(
            "Sam Lee <sam@va.example>",
            "<hours@va.example>",
            "Stunden",
            "",
            "24.11.2026 1h Telefonat mit Anna Berg",
        ),
        message(
            "Anna Berg <anna@acme.example>",
            "<question@acme.example>",
            "Frage",
            "",
            "Wann passt es Ihnen?",
        ),
        message(
            "Anna Berg <anna@acme.example>",
            "<big@acme.example>",
            "Unterlagen",
            "",
            &big,
        ),
        message(
            "Max Muster <max@unknown.example>",
            "<stranger@unknown.example>",
            "Angebot",
            "",
            "Guten Tag.",
        ),
    ] {
        dovecot.append(&account, &raw).await;
    }
    t.app.reader().drain().await.unwrap();
    let ids = |listed: Vec<crate::servers::Listed>| -> Vec<String> {
        listed.into_iter().map(|l| l.message_id).collect()
    };
    let filed = async || {
        let mut all = Vec::new();
        for folder in ["INBOX", "Processed", "Attention", "Quarantine"] {
            for id in ids(dovecot.list(&account, folder).await) {
                all.push(format!("{folder} {id}"));
            }
        }
        all
    };
    let before = filed().await;
    for one in [
        "Processed <hours@va.example>",
        "Attention <question@acme.example>",
        "Quarantine <big@acme.example>",
    ] {
        assert!(before.contains(&one.to_string()), "{one} in {before:?}");
    }
    let stranger = before
        .iter()
        .find(|f| f.ends_with("<stranger@unknown.example>"))
        .cloned()
        .unwrap();

    let out = t.dir.path().join("export");
    let export = t.tandem(&["privacy", "export", ADDRESS, "--to", out.to_str().unwrap()]);
    assert!(export.status.success(), "{}", describe(&export));
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("data.json")).unwrap()).unwrap();
    let mut folders: Vec<&str> = data["mail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["folder"].as_str().unwrap())
        .filter(|f| *f != "delivered")
        .collect();
    folders.sort();
    assert_eq!(folders, ["attention", "processed", "quarantine"]);

    let erase = t.tandem(&["privacy", "erase", ADDRESS, "--yes"]);
    assert!(erase.status.success(), "{}", describe(&erase));
    assert_eq!(filed().await, [stranger]);
}

/// The daemon's log at `info`: no time-log description and no survey comment ever; with
/// `[log] redact_addresses = true`, no address either, each one a stable hash instead.
#[tokio::test]
async fn the_log_holds_no_bodies_and_with_redaction_no_addresses() {
    for redact in [false, true] {
        let t = agency_with(|_, text| {
            text.replace(
                "redact_addresses = false",
                &format!("redact_addresses = {redact}"),
            )
        })
        .await;
        t.deliver(
            "late.eml",
            &message(
                "Sam Lee <sam@va.example>",
                "<late@va.example>",
                "Stunden",
                "",
                "25.11.2026 1h Vertrauliche Unterlagen sortiert",
            ),
        );
        // And a survey answered with a comment, read by the same run.
        t.clock.set(test_now() + chrono::Duration::days(8));
        t.app.send_survey_now(1).await.unwrap();
        t.app.outbox().drain().await.unwrap();
        let survey = sent_mail(&t, "survey").await;
        t.deliver(
            "comment.eml",
            &reply(
                "Anna Berg <anna@acme.example>",
                &survey,
                Path::InReplyTo,
                "comment@acme.example",
                "1: 5\r\n2: 5\r\n3: ja\r\n4: Ein vertraulicher Kommentar.\r\n\r\nAnna Berg",
            ),
        );
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("--config")
            .arg(&t.config_path)
            .args(["run", "--once"])
            .env("TANDEM_LOG", "info")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("recorded"), "{log}");
        assert_eq!(
            t.scalar(
                "SELECT count(*) FROM survey_answer WHERE value LIKE '%vertraulicher Kommentar%'"
            )
            .await,
            1,
            "the answer was read by this run"
        );
        for secret in [
            "Vertrauliche Unterlagen",
            "vertraulicher Kommentar",
            "Ablage",
        ] {
            assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        }
        let hash = tandem::redact::hashed("sam@va.example");
        if redact {
            assert!(!log.contains("sam@va.example"), "{log}");
            assert!(log.contains(&hash), "{log}");
        } else {
            assert!(log.contains("sam@va.example"), "{log}");
        }
    }
}
