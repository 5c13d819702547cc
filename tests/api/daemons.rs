//! Several daemons on one PostgreSQL database: three `tandem run` processes read one Dovecot
//! INBOX of 1,000 time-log mails and answer through one smtp-sink, and one of them is
//! SIGKILLed midway. The two left finish the work: every mail recorded once, submitted once,
//! answered by one receipt of its own that arrived, and moved to the processed folder; a
//! receipt arrives twice only where the kill fell between the server's 250 and its mark.
//!
//! The database is PostgreSQL whatever `TANDEM_TEST_DATABASE` says: several daemons on one
//! database is what PostgreSQL is for. One of them reads the mailbox at a time (the mailbox
//! turn); all of them send.

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{BINARY, TestApp, send_signal, spawn_app_with, with_database};
use crate::servers::{Account, Dovecot, Postgres, Tls};
use crate::sink::SmtpSink;

const MESSAGES: usize = 1000;
const DAEMONS: usize = 3;
/// Recorded messages after which one daemon is killed: well into the work, well before its end.
const KILL_AFTER: usize = 300;
/// How long the daemons may take for the whole inbox (they take a few seconds).
const DRAIN_LIMIT: Duration = Duration::from_secs(90);

/// Mail `i`: half an hour on one of 28 days, so no day comes near 24 hours (36 mails a day
/// at most) and every mail is a submission of its own.
fn hours_mail(i: usize) -> Vec<u8> {
    let (day, sent) = crate::helpers::cli_hours_day(i);
    format!(
        "From: Sam Lee <sam@va.example>\r\nTo: team@example.org\r\nSubject: Hours {i}\r\n\
         Message-ID: <daemons-{i}@va.example>\r\nDate: {sent}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\n{day} 30min task {i}\r\n\r\nSam\r\n"
    )
    .into_bytes()
}

/// A running `tandem run`, its log in a file of its own.
struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(config: &Path, log: std::path::PathBuf) -> Daemon {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(BINARY)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("TANDEM_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a name, as `kill -s` takes it) to the process.
    fn signal(&self, signal: &str) {
        assert!(
            send_signal(signal, self.pid()),
            "kill -{signal} {} failed",
            self.pid()
        );
    }

    /// Waits for the process to end, at most `limit`; `None` if it did not.
    async fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }
}

impl Drop for Daemon {
    /// A failing test leaves no daemon behind.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every daemon's log, for a failure message.
fn logs(daemons: &[Daemon]) -> String {
    daemons
        .iter()
        .map(|d| format!("--- daemon {}:\n{}", d.pid(), d.log()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many messages a folder holds, as the server says.
async fn messages_in(dovecot: &Dovecot, account: &Account, folder: &str) -> u32 {
    let mut session = dovecot.session(account).await;
    let exists = session.examine(folder).await.map_or(0, |m| m.exists);
    session.logout().await.unwrap();
    exists
}

/// The pids of the holders with a row in `sending` now (daemons in the middle of a send).
async fn sending_pids(t: &TestApp) -> Vec<u32> {
    let pids: Vec<i64> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT h.pid FROM outbox o JOIN outbox_holder h ON h.id = o.holder \
             WHERE o.state = 'sending' ORDER BY h.pid",
        )
        .fetch_all(c)
        .await
    })
    .unwrap();
    pids.into_iter().map(|p| p as u32).collect()
}

/// The Message-IDs of the rows in `sending` that the daemon with `pid` holds.
async fn held_by(t: &TestApp, pid: u32) -> Vec<String> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT o.message_id FROM outbox o JOIN outbox_holder h ON h.id = o.holder \
             WHERE o.state = 'sending' AND h.pid = $1 ORDER BY o.message_id",
        )
        .bind(i64::from(pid))
        .fetch_all(c)
        .await
    })
    .unwrap()
}

/// Whether every thread of the process is stopped (`T` in its `/proc/PID/task/TID/stat`), as
/// after SIGSTOP: none of them writes to the database any more.
fn is_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|stat| Some(stat.rsplit_once(") ")?.1.starts_with('T')))
            .unwrap_or(false)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_on_postgres_one_killed_each_mail_recorded_and_answered_once() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let sink = SmtpSink::start(&[]);
    let database = Postgres::shared().create_database();
    // The shipped lease (5 minutes) is kept: the killed daemon's sends are taken up because its
    // pid is gone, at once; waiting out the lease would blow the drain limit.
    let t = spawn_app_with(|dir, text| {
        let text = with_database(&text, &database);
        sink.config(&dovecot.tandem_config(dir, &text, &account, Tls::None))
    })
    .await;
    assert!(
        t.app.config.database.url.starts_with("postgres"),
        "the test is about PostgreSQL"
    );
    t.add_engagement_by_cli();
    let delivering = Instant::now();
    for i in 0..MESSAGES {
        dovecot.deliver(&account, &hours_mail(i));
    }
    println!(
        "{MESSAGES} mails delivered into the Maildir in {:?}",
        delivering.elapsed()
    );

    // The same config for all three: one mailbox, one database, one sink.
    let started = Instant::now();
    let mut daemons: Vec<Daemon> = (0..DAEMONS)
        .map(|n| Daemon::start(&t.config_path, t.dir.path().join(format!("daemon-{n}.log"))))
        .collect();

    // Midway, kill one in the middle of a send.
    let deadline = started + DRAIN_LIMIT;
    let mut recorded = 0;
    while recorded < KILL_AFTER {
        assert!(
            Instant::now() < deadline,
            "{recorded} recorded after {DRAIN_LIMIT:?}; logs:\n{}",
            logs(&daemons)
        );
        for d in &mut daemons {
            if let Some(status) = d.child.try_wait().unwrap() {
                panic!(
                    "daemon {} ended by itself ({status}) before the kill; logs:\n{}",
                    d.pid(),
                    logs(&daemons)
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        recorded = t.count("inbound_message").await as usize;
    }
    // The victim is a daemon that holds rows in `sending`, so that the take-up of a dead
    // holder's claims is tested: one found sending is stopped (SIGSTOP, its pid still alive,
    // so nobody takes its rows up) and asked again; if it holds none by then, it goes on and
    // another is looked for.
    let (victim, in_flight) = loop {
        assert!(
            Instant::now() < deadline,
            "no daemon was found holding a row in sending; logs:\n{}",
            logs(&daemons)
        );
        let sending = sending_pids(&t).await;
        if let Some(n) = daemons.iter().position(|d| sending.contains(&d.pid())) {
            daemons[n].signal("STOP");
            while !is_stopped(daemons[n].pid()) {
                assert!(
                    Instant::now() < deadline,
                    "daemon {} did not stop",
                    daemons[n].pid()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let held = held_by(&t, daemons[n].pid()).await;
            if !held.is_empty() {
                break (n, held);
            }
            daemons[n].signal("CONT");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let killed_at = started.elapsed();
    // SIGKILL: no goodbye, its claims and its IMAP session left as they were.
    daemons[victim].signal("KILL");
    let status = daemons[victim]
        .wait_for(Duration::from_secs(10))
        .await
        .expect("a SIGKILLed daemon ends");
    assert_eq!(status.signal(), Some(9), "the daemon ended by the kill");
    let recorded_at_kill = t.count("inbound_message").await;
    // Not empty: the loop above fails the test at the deadline when no daemon holds a row.
    let in_flight_at_kill = in_flight.len();
    println!(
        "killed daemon {} of {DAEMONS} (pid {}) after {killed_at:?}, {recorded_at_kill} recorded, \
         {in_flight_at_kill} rows it held in sending",
        victim + 1,
        daemons[victim].pid()
    );

    // The other two go on until everything is recorded and sent and the INBOX is empty.
    let drained = loop {
        assert!(
            Instant::now() < deadline,
            "not done after {DRAIN_LIMIT:?}: {} recorded, {} unsent, {} in the INBOX; logs:\n{}",
            t.count("inbound_message").await,
            t.count("outbox WHERE state <> 'sent'").await,
            messages_in(dovecot, &account, "INBOX").await,
            logs(&daemons)
        );
        for (n, d) in daemons.iter_mut().enumerate() {
            if n != victim
                && let Some(status) = d.child.try_wait().unwrap()
            {
                panic!(
                    "daemon {} ended by itself ({status}); logs:\n{}",
                    d.pid(),
                    logs(&daemons)
                );
            }
        }
        if t.count("inbound_message").await as usize == MESSAGES
            && t.count("outbox WHERE state <> 'sent'").await == 0
            && messages_in(dovecot, &account, "INBOX").await == 0
        {
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "{MESSAGES} mails read and answered by {DAEMONS} daemons (one killed) in {drained:?} \
         ({:.0} mails a second)",
        MESSAGES as f64 / drained.as_secs_f64()
    );

    // Then the two are stopped the polite way, and say it went well.
    for (n, d) in daemons.iter().enumerate() {
        if n != victim {
            d.signal("TERM");
        }
    }
    for (n, d) in daemons.iter_mut().enumerate() {
        if n != victim {
            let status = d.wait_for(Duration::from_secs(30)).await;
            assert!(
                status.is_some_and(|s| s.success()),
                "daemon {} after SIGTERM: {status:?}; its log:\n{}",
                d.pid(),
                d.log()
            );
        }
    }

    // Every mail recorded once, submitted once, answered by one receipt of its own.
    assert_eq!(t.count("inbound_message").await as usize, MESSAGES);
    assert_eq!(
        t.scalar("SELECT COUNT(DISTINCT message_id) FROM inbound_message")
            .await as usize,
        MESSAGES
    );
    assert_eq!(t.count("submission").await as usize, MESSAGES);
    assert_eq!(t.count("time_entry").await as usize, MESSAGES);
    assert_eq!(
        t.count("outbox WHERE kind = 'receipt'").await as usize,
        MESSAGES
    );
    assert_eq!(
        t.scalar(
            "SELECT COUNT(DISTINCT s.receipt_message_id) FROM submission s \
             JOIN outbox o ON o.message_id = s.receipt_message_id AND o.kind = 'receipt'"
        )
        .await as usize,
        MESSAGES,
        "each submission names a receipt of its own"
    );
    assert_eq!(
        t.count("outbox WHERE kind = 'receipt' AND state <> 'sent'")
            .await,
        0
    );
    assert_eq!(t.count("outbox WHERE kind = 'welcome'").await, 2);

    // Every row sent arrived, nothing arrived that was not queued. (Besides the receipts the
    // outbox holds what the scheduler queued on the real clock, sent by the same workers.)
    let rows: Vec<(String, String, String, i64)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as("SELECT message_id, kind, state, attempts FROM outbox")
                .fetch_all(c)
                .await
        })
        .unwrap();
    let arrived = sink.arrivals();
    let queued: HashSet<&str> = rows.iter().map(|(id, ..)| id.as_str()).collect();
    for (id, kind, state, _) in &rows {
        if state == "sent" {
            assert!(arrived.contains_key(id), "{kind} {id} never arrived");
        }
    }
    let strangers: Vec<&String> = arrived
        .keys()
        .filter(|id| !queued.contains(id.as_str()))
        .collect();
    assert!(
        strangers.is_empty(),
        "arrived but never queued: {strangers:?}"
    );

    // A second copy only where the kill cut a send off between the server's 250 and its mark
    // as sent: the row stayed in `sending` under the dead holder, and the survivors sent it
    // again. The killed daemon had at most `pool_size` sends in flight, so at most that many
    // doubles; each from an attempt of its own; nothing arrives three times.
    let pool_size = t.app.config.outbound.smtp.as_ref().unwrap().pool_size as usize;
    let attempts: HashMap<&str, i64> = rows
        .iter()
        .map(|(id, _, _, attempts)| (id.as_str(), *attempts))
        .collect();
    let doubles: Vec<(&String, &usize)> = arrived.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "{} receipts arrived twice (at most {pool_size}, the killed daemon's sends at once): {doubles:?}",
        doubles.len()
    );
    assert!(
        doubles.len() <= pool_size,
        "{} doubles for one kill of a daemon sending {pool_size} at once: {doubles:?}",
        doubles.len()
    );
    for (id, n) in &doubles {
        assert_eq!(**n, 2, "{id} arrived {n} times");
        assert!(
            attempts[id.as_str()] >= 2,
            "{id} arrived twice from {} attempt",
            attempts[id.as_str()]
        );
    }

    // What the killed daemon held in `sending` was taken up and sent by another: claimed
    // again (each claim counts an attempt; the dead one can have made only the first).
    for id in &in_flight {
        let (state, attempts) = rows
            .iter()
            .find(|(row, ..)| row == id)
            .map(|(_, _, state, attempts)| (state.as_str(), *attempts))
            .unwrap_or_else(|| panic!("{id}, held by the killed daemon, has no row"));
        assert!(
            state == "sent" && attempts >= 2,
            "{id}, held by the killed daemon, is {state} after {attempts} attempts"
        );
    }

    // The INBOX is empty; every mail is in the processed folder, and nothing else is.
    assert_eq!(messages_in(dovecot, &account, "INBOX").await, 0);
    let processed = dovecot.list(&account, "Processed").await;
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for m in &processed {
        *copies.entry(m.message_id.as_str()).or_default() += 1;
    }
    let expected: HashSet<String> = (0..MESSAGES)
        .map(|i| format!("<daemons-{i}@va.example>"))
        .collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|id| !copies.contains_key(id.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in Processed: {missing:?}");
    assert_eq!(copies.len(), MESSAGES, "distinct messages in Processed");
    // Once each: one daemon reads the mailbox at a time (the mailbox turn, an advisory lock
    // of its session), so no two move one message. Overlapping MOVEs would leave copies
    // (Dovecot's MOVE copies before it expunges) and fail with EXPUNGEISSUED.
    let extra: Vec<(&&str, &usize)> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(processed.len(), MESSAGES, "copies in Processed: {extra:?}");
    for daemon in &daemons {
        assert!(!daemon.log().contains("could not move"), "{}", daemon.log());
    }
    println!("test done after {:?}", started.elapsed());
}
