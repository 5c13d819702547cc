//! Mail that is hostile, huge or broken, and mail whose handling fails: none of it may stop,
//! slow or kill the reader, lose a message or do one twice.

use tandem::store;
use tandem::tasks::reader::Report;

use crate::helpers::{TestApp, message, on_postgres, send_signal, spawn_app, spawn_app_with};

/// `(dedupe_key, classification, disposition, reason)` of every recorded message, in order.
async fn rows(t: &TestApp) -> Vec<(String, String, String, String)> {
    let mut conn = t.app.pool.acquire().await.unwrap();
    store::inbound::list(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.dedupe_key, r.classification, r.disposition, r.reason))
        .collect()
}

/// Sam's time log of Thursday 26 Nov 2026.
fn hours(message_id: &str) -> Vec<u8> {
    message(
        "Sam Lee <sam@va.example>",
        message_id,
        "Hours",
        "",
        "2026-11-25 2.5h Invoices and reminders",
    )
}

#[tokio::test]
async fn two_files_of_the_same_name_settled_into_one_folder_both_survive() {
    let t = spawn_app().await;
    t.add_people().await;
    let first = message(
        "Anna Berg <anna@acme.example>",
        "<q1@acme.example>",
        "Frage",
        "",
        "Eine Frage.",
    );
    let second = message(
        "Anna Berg <anna@acme.example>",
        "<q2@acme.example>",
        "Noch eine Frage",
        "",
        "Noch eine.",
    );
    // Two deliveries under one name (a mail client that names files by a counter, or the
    // same name in new/ and cur/): both go to the attention folder.
    t.deliver("1.eml", &first);
    t.app.reader().drain().await.unwrap();
    t.deliver("1.eml", &second);
    t.app.reader().drain().await.unwrap();
    assert_eq!(
        t.mailbox_files(),
        [".Attention/new/1.eml", ".Attention/new/1.eml.2"]
    );
    let kept: Vec<Vec<u8>> = t
        .mailbox_files()
        .iter()
        .map(|f| std::fs::read(t.inbox().join(f)).unwrap())
        .collect();
    assert_eq!(kept, [first, second]);
    assert_eq!(rows(&t).await.len(), 2);
}

#[tokio::test]
async fn a_different_message_under_a_known_message_id_gets_its_own_row() {
    let t = spawn_app().await;
    t.add_people().await;
    let original = message(
        "Anna Berg <anna@acme.example>",
        "<same@acme.example>",
        "Frage",
        "",
        "Eine Frage.",
    );
    let other = message(
        "Anna Berg <anna@acme.example>",
        "<same@acme.example>",
        "Etwas ganz anderes",
        "",
        "Ein anderer Text unter derselben Message-ID.",
    );
    // A second copy of the original, with a trace header of its own: still a copy.
    let copy = [b"Received: from relay2.example\r\n".as_slice(), &original].concat();
    for (name, raw) in [("1.eml", &original), ("2.eml", &other), ("3.eml", &copy)] {
        t.deliver(name, raw);
        t.app.reader().drain().await.unwrap();
    }
    let rows = rows(&t).await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(rows[0].0, "<same@acme.example>");
    assert!(
        rows[1].0.starts_with("<same@acme.example> sha256:"),
        "{rows:#?}"
    );
    assert!(
        rows[1]
            .3
            .contains("Message-ID was used before by a different message"),
        "{rows:#?}"
    );
    // Read again after a restart, neither is recorded a second time.
    t.deliver("4.eml", &other);
    let report = t.restart().await.reader().drain().await.unwrap();
    assert_eq!((report.recorded, report.duplicates), (0, 1));
}

#[tokio::test]
async fn a_message_whose_flow_always_fails_is_quarantined_after_its_tries_and_holds_up_nothing() {
    let t = spawn_app_with(|_, text| text.replace("attempts = 5", "attempts = 3")).await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    // Every time log fails to store, on purpose.
    let broken = if on_postgres() {
        "CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'broken on purpose'; END $$; \
         CREATE TRIGGER broken BEFORE INSERT ON time_entry \
         FOR EACH ROW EXECUTE FUNCTION broken()"
    } else {
        "CREATE TRIGGER broken BEFORE INSERT ON time_entry \
         BEGIN SELECT RAISE(ABORT, 'broken on purpose'); END"
    };
    t.execute(broken).await;
    t.deliver("1.hours", &hours("<h1@va.example>"));
    t.deliver(
        "2.question",
        &message(
            "Anna Berg <anna@acme.example>",
            "<q1@acme.example>",
            "Frage",
            "",
            "Eine Frage.",
        ),
    );

    // The first try fails; the mail behind it is handled all the same.
    let report = t.app.reader().step().await.unwrap();
    assert_eq!(
        report,
        Report {
            read: 2,
            recorded: 1,
            duplicates: 0,
            settled: 1,
            failed: 1,
        }
    );
    assert_eq!(
        t.mailbox_files(),
        [".Attention/new/2.question", "new/1.hours"]
    );

    // The count survives a restart: the second try, then the third and last.
    let restarted = t.restart().await;
    assert_eq!(restarted.reader().step().await.unwrap().failed, 1);
    assert_eq!(
        t.mailbox_files(),
        [".Attention/new/2.question", "new/1.hours"]
    );
    let report = restarted.reader().step().await.unwrap();
    assert_eq!((report.failed, report.recorded, report.settled), (0, 1, 1));
    assert_eq!(
        t.mailbox_files(),
        [".Attention/new/2.question", ".Quarantine/new/1.hours"]
    );
    let rows = rows(&t).await;
    let failed = rows.iter().find(|r| r.0 == "<h1@va.example>").unwrap();
    assert_eq!(
        (failed.1.as_str(), failed.2.as_str()),
        ("unrecognised", "quarantine")
    );
    assert!(
        failed.3.contains("failed 3 times") && failed.3.contains("broken on purpose"),
        "{failed:?}"
    );
    assert_eq!(t.count("inbound_attempt").await, 0);
    assert_eq!(t.count("time_entry").await, 0);
    // Nothing more to read, and the time log was never answered.
    assert_eq!(restarted.reader().drain().await.unwrap().read, 0);
    restarted.outbox().drain().await.unwrap();
    let answered = t.sent_files().iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap()
            .contains("h1@va.example")
    });
    assert!(!answered);
}

/// The reader does a batch's messages without savepoints; when one fails, what the batch did so
/// far is undone and done again, a savepoint per message. The others are then recorded and
/// answered exactly once, and only the failing one stays for another try.
#[tokio::test]
async fn a_message_failing_amid_a_batch_is_undone_alone_and_the_others_are_done_once() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    // A time log about "boom" fails to store, on purpose; the others store.
    let broken = if on_postgres() {
        "CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN IF NEW.description LIKE '%boom%' THEN \
         RAISE EXCEPTION 'broken on purpose'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER broken BEFORE INSERT ON time_entry \
         FOR EACH ROW EXECUTE FUNCTION broken()"
    } else {
        "CREATE TRIGGER broken BEFORE INSERT ON time_entry \
         WHEN NEW.description LIKE '%boom%' \
         BEGIN SELECT RAISE(ABORT, 'broken on purpose'); END"
    };
    t.execute(broken).await;
    let queued = t.count("outbox").await;
    for i in 1..=5 {
        let task = if i == 3 { "boom" } else { "Invoices" };
        let mail = message(
            "Sam Lee <sam@va.example>",
            &format!("<h{i}@va.example>"),
            "Hours",
            "",
            &format!("2026-11-25 1h {task} {i}"),
        );
        t.deliver(&format!("{i}.hours"), &mail);
    }

    let report = t.app.reader().step().await.unwrap();
    assert_eq!(
        report,
        Report {
            read: 5,
            recorded: 4,
            duplicates: 0,
            settled: 4,
            failed: 1,
        }
    );
    let left: Vec<String> = t
        .mailbox_files()
        .into_iter()
        .filter(|f| f.starts_with("new/"))
        .collect();
    assert_eq!(left, ["new/3.hours"]);
    assert_eq!(t.count("inbound_message").await, 4);
    assert_eq!(t.count("submission").await, 4);
    assert_eq!(t.count("time_entry").await, 4);
    assert_eq!(t.count("outbox").await - queued, 4, "one receipt each");
    let broke = t
        .scalar(
            "SELECT COUNT(*) FROM inbound_attempt \
             WHERE dedupe_key = '<h3@va.example>' AND attempts = 1 \
             AND last_error LIKE '%broken on purpose%'",
        )
        .await;
    assert_eq!((t.count("inbound_attempt").await, broke), (1, 1));
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_recorded_from_its_header_and_quarantined() {
    let t =
        spawn_app_with(|_, text| text.replace("message_bytes = 26214400", "message_bytes = 4096"))
            .await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    let mut big = hours("<big@va.example>");
    big.extend(std::iter::repeat_n(b'x', 10_000));
    big.extend_from_slice(b"\r\n");
    t.deliver("1.big", &big);
    t.deliver("2.hours", &hours("<h2@va.example>"));
    let report = t.app.reader().drain().await.unwrap();
    assert_eq!((report.recorded, report.settled, report.failed), (2, 2, 0));
    assert_eq!(
        t.mailbox_files(),
        [".Processed/cur/2.hours:2,S", ".Quarantine/new/1.big"]
    );
    let rows = rows(&t).await;
    assert_eq!(rows[0].0, "<big@va.example>");
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2.as_str()),
        ("unrecognised", "quarantine")
    );
    assert!(rows[0].3.starts_with("not read: too large"), "{rows:?}");
    // Its hours were not read, so nothing was logged from it; the other was.
    assert_eq!(t.count("time_entry").await, 1);
}

#[path = "../hostile/corpus.rs"]
mod corpus;

/// How many ordinary time logs the hostile corpus is interleaved with.
const ORDINARY: usize = 200;

/// Ordinary time log `i` from Sam: 6 minutes on one of the four days of his engagement up to
/// the mail's date (23 to 26 November).
fn ordinary(i: usize) -> Vec<u8> {
    message(
        "Sam Lee <sam@va.example>",
        &format!("<ordinary{i}@va.example>"),
        "Hours",
        "",
        &format!("2026-11-{:02} 6min task {i}", 23 + i % 4),
    )
}

/// Where a mail of the run must end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goes {
    /// An ordinary time log: processed and answered.
    Processed,
    /// A hostile mail from a stranger: quarantined, never answered.
    Quarantine,
    /// A hostile mail from Sam (a known sender, so it reaches the time-log grammar and the
    /// reply-token scans): its time-log line logged and answered once, or kept for a person.
    Person,
}

/// The ordinary mails and the hostile corpus, interleaved, in delivery order: every case from
/// a stranger, and the cases heavy on text and headers once more from Sam.
fn interleaved() -> Vec<(String, Vec<u8>, Goes)> {
    let stranger = "Mallory <mallory@unknown.example>";
    let hostile = corpus::cases(stranger, "team@example.org", "t");
    let every = ORDINARY / hostile.len().max(1);
    let mut hostile = hostile.into_iter();
    let mut out = Vec::new();
    for i in 0..ORDINARY {
        out.push((format!("ordinary{i}"), ordinary(i), Goes::Processed));
        if i % every.max(1) == 0
            && let Some(case) = hostile.next()
        {
            out.push((format!("hostile-{}", case.name), case.raw, Goes::Quarantine));
        }
    }
    out.extend(hostile.map(|c| (format!("hostile-{}", c.name), c.raw, Goes::Quarantine)));
    for name in [
        "deep_blockquote_1mb",
        "subject_plus_1mb",
        "subject_bracket_1mb",
        "subject_re_prefixes",
        "references_50k",
        "line_5mb",
        "recipients_10k",
    ] {
        let case =
            corpus::case(name, "Sam Lee <sam@va.example>", "team@example.org", "sam").unwrap();
        out.push((format!("sam-{name}"), case.raw, Goes::Person));
    }
    out
}

/// Whether a Maildir (the app's inbox, or the server's) has nothing left in `new/` or `cur/`.
fn emptied(maildir: &std::path::Path) -> bool {
    ["new", "cur"].iter().all(|sub| {
        std::fs::read_dir(maildir.join(sub)).is_ok_and(|mut entries| entries.next().is_none())
    })
}

/// Runs `tandem run` on `t`'s config until `maildir` (the inbox it reads) is empty and every
/// queued mail is sent, then stops it; returns the daemon's peak RSS in kB (`VmHWM`, read from
/// /proc while it still runs).
async fn run_daemon_until_done(t: &TestApp, maildir: &std::path::Path) -> u64 {
    use std::process::{Command, Stdio};
    let mut child = Command::new(crate::helpers::BINARY)
        .arg("--config")
        .arg(&t.config_path)
        .arg("run")
        .env("TANDEM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let peak = loop {
        let recorded = t.count("inbound_message").await as usize;
        let unsent: i64 = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
                .fetch_one(c)
                .await
        })
        .unwrap();
        if emptied(maildir) && unsent == 0 {
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
            break status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the daemon died after recording {recorded} messages"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "after 600 s only {recorded} messages were recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(send_signal("TERM", child.id()), "kill -TERM failed");
    assert!(child.wait().unwrap().success());
    peak
}

/// How many rows the hostile mails of `mail` make: one for each Message-ID (the first in its
/// header), and one for each mail without one (`empty`, `binary_garbage`), which is keyed by
/// its bytes; mails that share a Message-ID count once.
fn hostile_rows(mail: &[(String, Vec<u8>, Goes)]) -> usize {
    let keys: std::collections::HashSet<Vec<u8>> = mail
        .iter()
        .filter(|m| m.2 != Goes::Processed)
        .map(|(_, raw, _)| message_id(raw).unwrap_or_else(|| raw.clone()))
        .collect();
    keys.len()
}

/// The value of the first `Message-ID:` line in the header section of `raw` (before the
/// first blank line), trimmed.
fn message_id(raw: &[u8]) -> Option<Vec<u8>> {
    let head = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw, |end| &raw[..end]);
    head.split(|&b| b == b'\n').find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = line.split_at(colon);
        name.eq_ignore_ascii_case(b"Message-ID")
            .then(|| value[1..].trim_ascii().to_vec())
    })
}

/// What the acceptance asks of a run over the corpus: every ordinary mail answered exactly
/// once, every hostile one recorded and quarantined with a reason, nothing twice, and the
/// daemon's peak memory bounded.
async fn assert_survived(t: &TestApp, mail: &[(String, Vec<u8>, Goes)], peak_kb: u64) {
    let rows = rows(t).await;
    let keys: std::collections::HashSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(keys.len(), rows.len(), "a message was recorded twice");
    for i in 0..ORDINARY {
        let id = format!("<ordinary{i}@va.example>");
        let row = rows
            .iter()
            .find(|r| r.0 == id)
            .unwrap_or_else(|| panic!("{id} has no row"));
        assert_eq!(
            (row.1.as_str(), row.2.as_str()),
            ("hours", "processed"),
            "{row:?}"
        );
    }
    let hostile = rows
        .iter()
        .filter(|r| !r.0.starts_with("<ordinary"))
        .collect::<Vec<_>>();
    let expected = hostile_rows(mail);
    assert!(expected > 0, "the corpus is empty");
    assert_eq!(
        hostile.len(),
        expected,
        "{} rows for {expected} distinct hostile mails: {hostile:#?}",
        hostile.len()
    );
    // A stranger's mail is quarantined with a reason. Sam's carry a real time-log line under
    // their hostile headers: logged and answered like any, or kept for a person.
    let mut logged = Vec::new();
    for row in &hostile {
        assert!(!row.3.is_empty(), "{row:?}");
        match row.0.ends_with("@sam.example>") {
            false => assert_eq!(row.2, "quarantine", "{row:?}"),
            true if row.1 == "hours" => logged.push(row.0.clone()),
            true => assert_ne!(row.2, "processed", "{row:?}"),
        }
    }
    assert_eq!(
        t.count("time_entry").await,
        (ORDINARY + logged.len()) as i64
    );
    // Every time log answered exactly once, and nothing else answered.
    let mut answered = std::collections::HashMap::<String, usize>::new();
    for file in t.sent_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with("In-Reply-To:")) {
            *answered.entry(line[12..].trim().to_string()).or_default() += 1;
        }
    }
    for id in (0..ORDINARY)
        .map(|i| format!("<ordinary{i}@va.example>"))
        .chain(logged)
    {
        assert_eq!(answered.remove(&id), Some(1), "{id} was not answered once");
    }
    assert!(
        answered.is_empty(),
        "hostile mail was answered: {answered:?}"
    );
    assert!(
        peak_kb < 128 * 1024,
        "the daemon's peak RSS was {peak_kb} kB, over 128 MB"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hostile_corpus_among_ordinary_mail_over_maildir() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    let mail = interleaved();
    for (n, (name, raw, _)) in mail.iter().enumerate() {
        t.deliver(&format!("{:04}.{name}", n), raw);
    }
    let peak = run_daemon_until_done(&t, &t.inbox()).await;
    assert_survived(&t, &mail, peak).await;
    // Every message left the inbox: hostile ones to the quarantine.
    let files = t.mailbox_files();
    assert!(
        files
            .iter()
            .all(|f| !f.starts_with("new/") && !f.starts_with("cur/")),
        "{files:#?}"
    );
    for (n, (name, _, goes)) in mail.iter().enumerate() {
        let file = format!("{:04}.{name}", n);
        let folders: &[&str] = match goes {
            Goes::Processed => &[".Processed/"],
            Goes::Quarantine => &[".Quarantine/"],
            Goes::Person => &[".Attention/", ".Quarantine/", ".Processed/"],
        };
        assert!(
            files
                .iter()
                .any(|f| f.contains(&file) && folders.iter().any(|d| f.starts_with(d))),
            "{file} is not in {folders:?}: {files:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hostile_corpus_among_ordinary_mail_over_imap() {
    use crate::servers::{Dovecot, Tls};
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t =
        spawn_app_with(|dir, text| dovecot.tandem_config(dir, &text, &account, Tls::None)).await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    let mail = interleaved();
    for (_, raw, _) in &mail {
        dovecot.deliver(&account, raw);
    }
    let peak = run_daemon_until_done(&t, &dovecot.maildir(&account)).await;
    assert_survived(&t, &mail, peak).await;
    assert!(dovecot.list(&account, "INBOX").await.is_empty());
    let count = |goes| mail.iter().filter(|m| m.2 == goes).count();
    let quarantined = dovecot.list(&account, "Quarantine").await.len();
    let for_a_person = dovecot.list(&account, "Attention").await.len();
    let processed = dovecot.list(&account, "Processed").await.len();
    assert_eq!(quarantined + for_a_person + processed, mail.len());
    assert!(
        quarantined >= count(Goes::Quarantine) && processed >= ORDINARY,
        "{quarantined} quarantined, {processed} processed"
    );
}
