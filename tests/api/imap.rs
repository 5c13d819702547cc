//! Reading mail over IMAP, against a real Dovecot (`servers::Dovecot`): exactly once, moved to
//! its folder on the server, in batches, across a crash, a new UIDVALIDITY and an outage; over
//! plain IMAP, STARTTLS and implicit TLS; and `tandem check`.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;

use tandem::domain::Disposition;
use tandem::inbound::message::Incoming;
use tandem::inbound::{Batch, InboundError};
use tandem::store;
use tandem::tasks::reader::{Outcome, Report};
use tandem::tasks::shutdown_channel;

use crate::helpers::{TestApp, describe, message, numbered_time_log, spawn_app_with};
use crate::servers::{Account, Dovecot, Listed, Tls, password_file};

async fn spawn(dovecot: &Dovecot, account: &Account, tls: Tls) -> TestApp {
    spawn_app_with(|dir, text| dovecot.tandem_config(dir, &text, account, tls)).await
}

/// The audit trail as (Message-ID, disposition), in the order recorded.
async fn rows(t: &TestApp) -> Vec<(String, String)> {
    let mut conn = t.app.pool.acquire().await.unwrap();
    store::inbound::list(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.dedupe_key, r.disposition))
        .collect()
}

fn listed(messages: &[(&str, bool)]) -> Vec<Listed> {
    messages
        .iter()
        .map(|(message_id, seen)| Listed {
            message_id: message_id.to_string(),
            seen: *seen,
        })
        .collect()
}

/// Polls `done` every 100 ms for up to 60 s; fails naming `what` if it never holds.
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "waited 60 s in vain for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stranger(n: u32) -> Vec<u8> {
    message(
        "Max Muster <max@unknown.example>",
        &format!("<stranger{n}@unknown.example>"),
        "Angebot",
        "",
        "Guten Tag, wir haben ein Angebot für Sie.",
    )
}

fn hours() -> Vec<u8> {
    message(
        "Sam Lee <sam@va.example>",
        "<hours1@va.example>",
        "Hours",
        "",
        "2026-11-23 2.5h Invoices and reminders",
    )
}

fn question() -> Vec<u8> {
    message(
        "Anna Berg <anna@acme.example>",
        "<question1@acme.example>",
        "Frage zur Rechnung",
        "",
        "Hallo, eine kurze Frage.",
    )
}

/// Acceptance: what waits in the INBOX before the first start is read, each message is recorded
/// once and moved to its folder on the server (processed mail seen, quarantined mail unseen),
/// and nothing is read again, also after a restart.
#[tokio::test]
async fn mail_is_recorded_once_and_moved_to_its_folder_on_the_server() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    dovecot.append(&account, &stranger(1)).await;
    let t = spawn(dovecot, &account, Tls::None).await;
    t.add_people().await;
    t.start_engagement().await;
    dovecot.append(&account, &hours()).await;

    let report = t.app.reader().drain().await.unwrap();
    assert_eq!(
        report,
        Report {
            read: 2,
            recorded: 2,
            duplicates: 0,
            settled: 2,
            failed: 0,
        }
    );
    // Oldest first.
    assert_eq!(
        rows(&t).await,
        [
            ("<stranger1@unknown.example>".into(), "quarantine".into()),
            ("<hours1@va.example>".into(), "processed".into()),
        ]
    );
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    assert_eq!(
        dovecot.list(&account, "Quarantine").await,
        listed(&[("<stranger1@unknown.example>", false)])
    );
    assert_eq!(
        dovecot.list(&account, "Processed").await,
        listed(&[("<hours1@va.example>", true)])
    );
    assert_eq!(dovecot.list(&account, "Attention").await, []);

    assert_eq!(t.app.reader().drain().await.unwrap(), Report::default());
    let restarted = t.restart().await;
    assert_eq!(restarted.reader().drain().await.unwrap(), Report::default());
    assert_eq!(t.count("inbound_message").await, 2);
}

/// A folder a person deleted while tandem runs is made again when mail is moved into it.
#[tokio::test]
async fn a_deleted_folder_is_made_again() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = spawn(dovecot, &account, Tls::None).await;
    let mut session = dovecot.session(&account).await;
    session.delete("Quarantine").await.unwrap();
    session.logout().await.unwrap();
    dovecot.append(&account, &stranger(1)).await;

    assert_eq!(t.app.reader().drain().await.unwrap().settled, 1);
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    assert_eq!(
        dovecot.list(&account, "Quarantine").await,
        listed(&[("<stranger1@unknown.example>", false)])
    );
}

/// A full INBOX is read `batch_size` messages at a time, lowest UID first.
#[tokio::test]
async fn a_full_inbox_is_read_in_batches_oldest_first() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    for n in 1..=5 {
        dovecot.append(&account, &stranger(n)).await;
    }
    let t = spawn_app_with(|dir, text| {
        dovecot
            .tandem_config(dir, &text, &account, Tls::None)
            .replace("batch_size = 100", "batch_size = 2")
    })
    .await;

    let fetched = t.app.mailbox.fetch(2).await.unwrap();
    let uids: Vec<u32> = fetched.iter().map(|f| f.position.unwrap().uid).collect();
    assert_eq!(uids, [1, 2]);
    assert_eq!(
        fetched.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["1", "2"]
    );

    assert_eq!(t.app.reader().step().await.unwrap().read, 2);
    assert_eq!(t.app.reader().drain().await.unwrap().read, 3);
    let expected: Vec<(String, String)> = (1..=5)
        .map(|n| {
            (
                format!("<stranger{n}@unknown.example>"),
                "quarantine".into(),
            )
        })
        .collect();
    assert_eq!(rows(&t).await, expected);
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    assert_eq!(dovecot.list(&account, "Quarantine").await.len(), 5);
}

/// A drain fetches the next batch while it records one, leaving out the messages of the one
/// being recorded (still in the INBOX): with batches of three, twelve mails (one a copy of
/// another) are each read once, recorded once, answered once and moved.
#[tokio::test]
async fn a_drain_fetches_ahead_and_reads_nothing_twice() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    for n in 1..=11 {
        dovecot.append(&account, &numbered_time_log(n)).await;
        if n == 4 {
            dovecot.append(&account, &numbered_time_log(2)).await;
        }
    }
    let t = spawn_app_with(|dir, text| {
        dovecot
            .tandem_config(dir, &text, &account, Tls::None)
            .replace("batch_size = 100", "batch_size = 3")
    })
    .await;
    t.add_people().await;
    t.start_engagement().await;

    // What is being recorded is left out of the next fetch.
    let skip: BTreeSet<String> = ["1", "2", "4"].map(String::from).into();
    let fetched = t
        .app
        .mailbox
        .fetch_batch(Batch::of(3), &skip)
        .await
        .unwrap();
    let ids: Vec<&str> = fetched.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["3", "5", "6"]);

    let report = t.app.reader().drain().await.unwrap();
    assert_eq!(
        report,
        Report {
            read: 12,
            recorded: 11,
            duplicates: 1,
            settled: 12,
            failed: 0,
        }
    );
    assert_eq!(t.count("inbound_message").await, 11);
    assert_eq!(t.count("outbox WHERE kind = 'receipt'").await, 11);
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    assert_eq!(dovecot.list(&account, "Processed").await.len(), 12);
    assert_eq!(t.app.reader().drain().await.unwrap(), Report::default());
}

/// Within a drain the INBOX is not selected again before each batch: the session keeps its
/// count, less what it moved. Mail another client removes meanwhile leaves that count too
/// high: the server refuses the fetch past the end, the INBOX is selected again, and what is
/// left is read, nothing missed and nothing read twice.
#[tokio::test]
async fn mail_another_client_removes_during_a_drain_is_no_error() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    for n in 1..=8 {
        dovecot.append(&account, &stranger(n)).await;
    }
    let t = spawn(dovecot, &account, Tls::None).await;
    let mailbox = &t.app.mailbox;
    let ids = |fetched: &[tandem::inbound::Fetched]| -> Vec<String> {
        fetched.iter().map(|f| f.id.clone()).collect()
    };

    let first = mailbox
        .fetch_batch(Batch::of(3), &BTreeSet::new())
        .await
        .unwrap();
    assert_eq!(ids(&first), ["1", "2", "3"]);
    let skip: BTreeSet<String> = ids(&first).into_iter().collect();
    let second = mailbox.fetch_batch(Batch::of(3), &skip).await.unwrap();
    assert_eq!(ids(&second), ["4", "5", "6"]);

    // Another client deletes the newest message; tandem hears of it with its next move.
    let mut other = dovecot.session(&account).await;
    other.select("INBOX").await.unwrap();
    let stored = other
        .uid_store("8", "+FLAGS.SILENT (\\Deleted)")
        .await
        .unwrap();
    stored.try_collect::<Vec<_>>().await.unwrap();
    let expunged = other.expunge().await.unwrap();
    assert_eq!(expunged.try_collect::<Vec<_>>().await.unwrap().len(), 1);
    other.logout().await.unwrap();

    let settle: Vec<(String, Disposition)> = ids(&first)
        .into_iter()
        .map(|id| (id, Disposition::Quarantine))
        .collect();
    mailbox.settle_many(&settle).await.unwrap();

    // Five left by the session's count, four in the INBOX: read is the one not being recorded.
    let skip: BTreeSet<String> = ids(&second).into_iter().collect();
    let third = mailbox.fetch_batch(Batch::of(3), &skip).await.unwrap();
    assert_eq!(ids(&third), ["7"]);
    let rest: BTreeSet<String> = ["4", "5", "6", "7"].map(String::from).into();
    assert!(
        mailbox
            .fetch_batch(Batch::of(3), &rest)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(dovecot.list(&account, "INBOX").await.len(), 4);
    assert_eq!(dovecot.list(&account, "Quarantine").await.len(), 3);
}

/// A crash after the message's row committed and before it was moved: read again, it is
/// recognised and only moved.
#[tokio::test]
async fn a_crash_between_commit_and_move_neither_loses_nor_doubles() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = spawn(dovecot, &account, Tls::None).await;
    t.add_people().await;
    dovecot.append(&account, &question()).await;

    // The first life: fetched and recorded, then the process dies before the move.
    let fetched = t.app.mailbox.fetch(10).await.unwrap();
    assert_eq!(fetched.len(), 1);
    let incoming = Incoming::parse(&fetched[0].raw);
    let outcome = t
        .app
        .reader()
        .record(&incoming, "crashed before the move")
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Recorded(_)), "{outcome:?}");

    let restarted = t.restart().await;
    assert_eq!(
        restarted.reader().drain().await.unwrap(),
        Report {
            read: 1,
            recorded: 0,
            duplicates: 1,
            settled: 1,
            failed: 0,
        }
    );
    assert_eq!(
        rows(&t).await,
        [("<question1@acme.example>".into(), "attention".into())]
    );
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    // For a person: unseen.
    assert_eq!(
        dovecot.list(&account, "Attention").await,
        listed(&[("<question1@acme.example>", false)])
    );
}

/// The INBOX recreated under a new UIDVALIDITY, with the same messages put back (their UIDs
/// start at 1 again): a UID fetched under the old UIDVALIDITY is not moved (it may name another
/// message now), nothing is recorded twice, and every message is moved again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_uidvalidity_moves_nothing_by_old_uids_and_records_nothing_twice() {
    let dovecot = Dovecot::start();
    let account = dovecot.add_user();
    let t = spawn(&dovecot, &account, Tls::None).await;
    t.add_people().await;
    dovecot.append(&account, &stranger(1)).await;
    dovecot.append(&account, &question()).await;
    assert_eq!(t.app.reader().drain().await.unwrap().recorded, 2);
    let old = dovecot
        .session(&account)
        .await
        .examine("INBOX")
        .await
        .unwrap()
        .uid_validity
        .unwrap();

    // A third message, fetched (UID 3) and recorded, but not yet moved.
    dovecot.append(&account, &stranger(3)).await;
    let fetched = t.app.mailbox.fetch(10).await.unwrap();
    assert_eq!(fetched.len(), 1);
    let position = fetched[0].position.unwrap();
    assert_eq!((position.uidvalidity, position.uid), (old, 3));
    let incoming = Incoming::parse(&fetched[0].raw);
    t.app
        .reader()
        .record(&incoming, "before the INBOX was recreated")
        .await
        .unwrap();

    // The INBOX recreated while the server is down: its UID list and indexes are gone (the
    // record of used UIDVALIDITYs stays, so the new one differs), the three messages are back.
    dovecot.stop();
    let maildir = dovecot.maildir(&account);
    for entry in std::fs::read_dir(&maildir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "dovecot-uidlist" || name.starts_with("dovecot.index") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    for cur in ["new", "cur"] {
        for entry in std::fs::read_dir(maildir.join(cur)).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    dovecot.deliver(&account, &question());
    dovecot.deliver(&account, &stranger(1));
    dovecot.deliver(&account, &stranger(3));
    dovecot.start_again();
    let new = dovecot
        .session(&account)
        .await
        .examine("INBOX")
        .await
        .unwrap()
        .uid_validity
        .unwrap();
    assert_ne!(old, new, "the INBOX kept its UIDVALIDITY");

    // UID 3 under the new UIDVALIDITY may be any of the three: it is left alone.
    let err = t
        .app
        .mailbox
        .settle(&position.uid.to_string(), Disposition::Quarantine)
        .await
        .unwrap_err();
    assert!(matches!(err, InboundError::Changed { .. }), "{err:?}");
    assert_eq!(dovecot.list(&account, "INBOX").await.len(), 3);

    let report = t
        .app
        .reader()
        .drain()
        .await
        .unwrap_or_else(|e| panic!("{e:?}\nlog:\n{}", dovecot.log()));
    assert_eq!(
        report,
        Report {
            read: 3,
            recorded: 0,
            duplicates: 3,
            settled: 3,
            failed: 0,
        }
    );
    assert_eq!(t.count("inbound_message").await, 3);
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    assert_eq!(
        dovecot.list(&account, "Quarantine").await,
        listed(&[
            ("<stranger1@unknown.example>", false),
            ("<stranger1@unknown.example>", false),
            ("<stranger3@unknown.example>", false),
        ])
    );
    assert_eq!(
        dovecot.list(&account, "Attention").await,
        listed(&[
            ("<question1@acme.example>", false),
            ("<question1@acme.example>", false),
        ])
    );
}

/// The daemon's reader waits in IDLE; the server goes away, mail arrives meanwhile, the server
/// comes back: the reader reconnects by itself and reads the mail, and the outage is on
/// record in the health table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_survives_an_outage_and_reads_what_came_meanwhile() {
    let dovecot = Dovecot::start();
    let account = dovecot.add_user();
    let t = spawn(&dovecot, &account, Tls::None).await;
    let (stop, signal) = shutdown_channel();
    let reader = tokio::spawn({
        let app = t.app.clone();
        async move { app.reader().run(signal).await }
    });

    // Delivered while the reader waits: IDLE (or, failing that, the next poll) brings it in.
    dovecot.append(&account, &stranger(1)).await;
    wait_until("the first message to be moved", || async {
        dovecot.list(&account, "Quarantine").await.len() == 1
    })
    .await;

    dovecot.stop();
    dovecot.deliver(&account, &stranger(2));
    // The IDLE ends with the server's BYE; the reader then finds the server gone.
    wait_until("the reader to find the server gone", || async {
        inbound_health(&t)
            .await
            .last_error
            .is_some_and(|e| e.starts_with("reading the mailbox: could not connect"))
    })
    .await;
    dovecot.start_again();
    wait_until("the message that came during the outage", || async {
        t.count("inbound_message").await == 2
    })
    .await;
    wait_until("it to be moved", || async {
        dovecot.list(&account, "Quarantine").await.len() == 2
    })
    .await;
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    assert_eq!(
        rows(&t).await,
        [
            ("<stranger1@unknown.example>".into(), "quarantine".into()),
            ("<stranger2@unknown.example>".into(), "quarantine".into()),
        ]
    );
    let inbound = inbound_health(&t).await;
    let error = inbound.last_error.as_deref().unwrap_or_default();
    assert!(
        inbound.error_count >= 2 && error.contains(&format!("127.0.0.1:{}", dovecot.imap_port)),
        "{inbound:?}"
    );

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the reader did not stop")
        .unwrap();
}

async fn inbound_health(t: &TestApp) -> store::health::Health {
    let mut conn = t.app.pool.acquire().await.unwrap();
    store::health::all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.component == "inbound")
        .unwrap_or_else(|| panic!("no health row for inbound"))
}

/// A server that offers neither MOVE, UIDPLUS nor IDLE: mail is copied, marked deleted and
/// expunged instead of moved, and the reader polls. Dovecot would carry out MOVE and IDLE all
/// the same, so what tandem sent is read from Dovecot's rawlog of each session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_move_mail_is_copied_and_expunged_and_without_idle_polled() {
    use std::os::unix::fs::PermissionsExt as _;
    // Dovecot writes it as nobody, into a folder that must exist.
    let rawlog = tempfile::tempdir().unwrap();
    std::fs::set_permissions(rawlog.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let dovecot = Dovecot::start_with(&format!(
        "imap_capability = IMAP4rev1 LITERAL+ SASL-IR\nrawlog_dir = {}\n",
        rawlog.path().display()
    ));
    let account = dovecot.add_user();
    let t = spawn(&dovecot, &account, Tls::None).await;
    t.add_people().await;
    t.start_engagement().await;
    dovecot.append(&account, &stranger(1)).await;
    dovecot.append(&account, &hours()).await;

    let report = t
        .app
        .reader()
        .drain()
        .await
        .unwrap_or_else(|e| panic!("{e:?}\nlog:\n{}", dovecot.log()));
    assert_eq!(
        report,
        Report {
            read: 2,
            recorded: 2,
            duplicates: 0,
            settled: 2,
            failed: 0,
        }
    );
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    assert_eq!(
        dovecot.list(&account, "Quarantine").await,
        listed(&[("<stranger1@unknown.example>", false)])
    );
    assert_eq!(
        dovecot.list(&account, "Processed").await,
        listed(&[("<hours1@va.example>", true)])
    );

    // No IDLE: waiting is a pause of the length asked for.
    let started = Instant::now();
    t.app
        .mailbox
        .wait(Duration::from_millis(300))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let output = t.tandem(&["check"]);
    assert!(
        output.status.success()
            && String::from_utf8_lossy(&output.stdout).contains("0 messages, no IDLE: polling"),
        "{}",
        describe(&output)
    );

    // What the server read: COPY and EXPUNGE, never MOVE or IDLE. Each session's rawlog is
    // complete once it ended (an `imap` process serves one session), so tandem's is ended.
    drop(t);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dovecot.service_processes("imap").is_empty() {
        assert!(Instant::now() < deadline, "IMAP sessions still open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let commands = commands_read(rawlog.path());
    let sent = |command: &str| commands.iter().any(|c| c == command);
    assert!(
        sent("UID COPY") && (sent("EXPUNGE") || sent("UID EXPUNGE")),
        "{commands:?}"
    );
    assert!(
        !sent("UID MOVE") && !sent("MOVE") && !sent("IDLE"),
        "{commands:?}"
    );
}

/// The commands (`SELECT`, `UID COPY`, ...) in the rawlogs Dovecot wrote into `dir`, each
/// line `TIMESTAMP TAG COMMAND ...` of a `*.in` file; lines of a message being appended are
/// read as commands too, which none of the test's messages looks like.
fn commands_read(dir: &std::path::Path) -> Vec<String> {
    let mut commands = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "in") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let words: Vec<String> = line.split_whitespace().map(str::to_uppercase).collect();
            let command = match words.get(2..) {
                Some([uid, command, ..]) if uid == "UID" => format!("UID {command}"),
                Some([command, ..]) => command.clone(),
                _ => continue,
            };
            commands.push(command);
        }
    }
    assert!(
        !commands.is_empty(),
        "no rawlog in {}: {:?}",
        dir.display(),
        std::fs::read_dir(dir).unwrap().collect::<Vec<_>>()
    );
    commands
}

/// `tandem check` logs in and looks at the INBOX; with a wrong password it fails, naming the
/// server and its answer, and never the password.
#[tokio::test]
async fn check_reports_the_mailbox_and_a_refused_login() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = spawn(dovecot, &account, Tls::None).await;
    dovecot.append(&account, &stranger(1)).await;

    let output = t.tandem(&["check"]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "ok      mail in: imap: 127.0.0.1:{}/INBOX (no TLS), 1 message, IDLE supported",
        dovecot.imap_port
    );
    assert!(stdout.contains(&expected), "{}", describe(&output));

    std::fs::write(password_file(t.dir.path()), "not-the-password\n").unwrap();
    let output = t.tandem(&["check"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("mail in"))
        .unwrap_or_default();
    assert!(
        line.starts_with("FAILED  mail in:")
            && line.contains(&format!("127.0.0.1:{}", dovecot.imap_port))
            && line.contains(&format!("refused the login of '{}'", account.user))
            && line.contains("Authentication failed"),
        "{}",
        describe(&output)
    );
    assert!(
        !describe(&output).contains("not-the-password"),
        "{}",
        describe(&output)
    );
}

/// Implicit TLS and STARTTLS, trusting the server's self-signed certificate through `ca_file`;
/// without it, the certificate is refused.
#[tokio::test]
async fn mail_is_read_over_implicit_tls_and_starttls() {
    let dovecot = Dovecot::shared();
    for (tls, label) in [(Tls::Implicit, "TLS implicit"), (Tls::Starttls, "STARTTLS")] {
        let account = dovecot.add_user();
        let t = spawn(dovecot, &account, tls).await;
        dovecot.append(&account, &stranger(1)).await;
        assert_eq!(
            t.app.reader().drain().await.unwrap(),
            Report {
                read: 1,
                recorded: 1,
                duplicates: 0,
                settled: 1,
                failed: 0,
            },
            "{label}"
        );
        assert_eq!(dovecot.list(&account, "Quarantine").await.len(), 1);

        let output = t.tandem(&["check"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(&format!("/INBOX ({label}), 0 messages")),
            "{}",
            describe(&output)
        );

        // The same without the certificate: webpki's roots do not know it.
        let text = std::fs::read_to_string(&t.config_path).unwrap();
        let without: String = text
            .lines()
            .filter(|l| !l.starts_with("ca_file"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&t.config_path, without).unwrap();
        let output = t.tandem(&["check"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            !output.status.success()
                && stdout
                    .contains("FAILED  mail in: could not connect to the mail server localhost:")
                && stdout.contains("certificate"),
            "{label}: {}",
            describe(&output)
        );
    }
}

/// With `tls = "starttls"`, a server that will not start TLS (a Dovecot with `ssl = no`,
/// which offers no STARTTLS and answers it BAD) is refused: tandem never logs in over the
/// plain connection, so the password is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_is_required_never_optional() {
    let dovecot = Dovecot::start_with(
        "ssl = no\n\
         service imap-login {\n  inet_listener imaps {\n    port = 0\n  }\n}\n",
    );
    let account = dovecot.add_user();
    let t = spawn(&dovecot, &account, Tls::Starttls).await;

    let err = t.app.mailbox.check().await.unwrap_err();
    assert!(
        matches!(&err, InboundError::Refused { what, .. } if what == "STARTTLS"),
        "{err:?}\nlog:\n{}",
        dovecot.log()
    );
    let output = t.tandem(&["check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("mail in"))
        .unwrap_or_default();
    assert!(
        !output.status.success()
            && line.starts_with("FAILED  mail in:")
            && line.contains(&format!("localhost:{}", dovecot.imap_port))
            && line.contains("refused STARTTLS"),
        "{}",
        describe(&output)
    );
    drop(t);

    // Dovecot writes its log a little late: a login of another user, made after tandem's
    // attempts, is waited for; by then whatever those attempts logged is in the file too.
    let witness = dovecot.add_user();
    dovecot.session(&witness).await.logout().await.unwrap();
    let login = |account: &Account| format!("user=<{}>", account.user);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dovecot.log().contains(&login(&witness)) {
        assert!(
            Instant::now() < deadline,
            "the witness's login is not in the log:\n{}",
            dovecot.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // No login of the account, not even a failed one; tandem's two connections (the check
    // above and `tandem check`) ended without one.
    let log = dovecot.log();
    assert!(
        !log.contains(&login(&account)) && log.matches("(no auth attempts in ").count() >= 2,
        "{log}"
    );
}

/// `tandem quarantine show|release` and `tandem attention show|done` on an IMAP mailbox: the
/// message is found in its folder on the server by its Message-ID, a released one goes back
/// to the INBOX and is read afresh once its sender is known, a done one goes to Processed.
#[tokio::test]
async fn filed_mail_is_shown_released_and_done_on_the_server() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = spawn(dovecot, &account, Tls::None).await;
    t.add_people().await;
    t.start_engagement().await;
    let kim = message(
        "Kim Park <kim@va.example>",
        "<kim1@va.example>",
        "Hallo",
        "",
        "Ich bin neu im Team.",
    );
    dovecot.append(&account, &kim).await;
    dovecot.append(&account, &question()).await;
    t.app.reader().drain().await.unwrap();
    assert_eq!(
        dovecot.list(&account, "Quarantine").await,
        listed(&[("<kim1@va.example>", false)])
    );

    let id_of = |output: std::process::Output| -> String {
        assert!(output.status.success(), "{}", describe(&output));
        let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        rows[0]["id"].to_string()
    };
    let kim_id = id_of(t.tandem(&["quarantine", "list", "--json"]));
    let anna_id = id_of(t.tandem(&["attention", "list", "--json"]));
    let shown = t.tandem(&["quarantine", "show", &kim_id]);
    assert!(shown.status.success(), "{}", describe(&shown));
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("Ich bin neu im Team."),
        "{}",
        describe(&shown)
    );

    let added = t.tandem(&[
        "assistant",
        "add",
        "--name",
        "Kim Park",
        "--email",
        "kim@va.example",
    ]);
    assert!(added.status.success(), "{}", describe(&added));
    let released = t.tandem(&["quarantine", "release", &kim_id]);
    assert!(released.status.success(), "{}", describe(&released));
    assert_eq!(dovecot.list(&account, "Quarantine").await, []);
    assert_eq!(
        dovecot.list(&account, "INBOX").await,
        listed(&[("<kim1@va.example>", false)])
    );
    // Read afresh: Kim is known now (an assistant with no engagement: for a person).
    t.app.reader().drain().await.unwrap();
    assert_eq!(dovecot.list(&account, "INBOX").await, []);
    let kim_rows: Vec<(String, String)> = rows(&t)
        .await
        .into_iter()
        .filter(|(key, _)| key.contains("kim1@va.example"))
        .collect();
    assert_eq!(
        kim_rows,
        [
            (
                format!("released:{kim_id}:<kim1@va.example>"),
                "quarantine".to_string()
            ),
            ("<kim1@va.example>".to_string(), "attention".to_string()),
        ]
    );

    let done = t.tandem(&["attention", "done", &anna_id]);
    assert!(done.status.success(), "{}", describe(&done));
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("moved to the processed folder"),
        "{}",
        describe(&done)
    );
    assert_eq!(
        dovecot.list(&account, "Attention").await,
        listed(&[("<kim1@va.example>", false)])
    );
    assert!(
        dovecot
            .list(&account, "Processed")
            .await
            .iter()
            .any(|l| l.message_id == "<question1@acme.example>"),
    );
    // The reader goes on reading the INBOX after the console selected other folders.
    dovecot.append(&account, &stranger(7)).await;
    t.app.reader().drain().await.unwrap();
    assert_eq!(
        dovecot.list(&account, "Quarantine").await,
        listed(&[("<stranger7@unknown.example>", false)])
    );
}
