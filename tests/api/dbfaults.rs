//! Database faults under the running daemon (`tandem run`, the real binary), with time logs
//! arriving in its Maildir and receipts going to a real smtp-sink: the database on a tiny
//! filesystem that fills up and is then grown, and the database locked by another connection
//! for longer than the busy timeout. Afterwards every receipt arrived exactly once, the daemon
//! went on by itself, and the outage is in the `health` table. Both faults are SQLite's (its
//! file, its lock), so these tests run on SQLite in the PostgreSQL run too.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use crate::helpers::{BINARY, TestApp, describe, send_signal, spawn_app_with, with_database};
use crate::sink::SmtpSink;

/// A tmpfs mounted on a private folder, unmounted when dropped (even when the test fails).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`"4m"`) on `dir`; fails the test, loudly, when it cannot.
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tandem-test"])
            .arg(dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount ({e}); this test needs root"));
        assert!(
            output.status.success(),
            "cannot mount a tmpfs on {} (this test needs root and may not run in a container \
             without CAP_SYS_ADMIN):\n{}",
            dir.display(),
            describe(&output)
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Grows (or shrinks) it to `size`, keeping its files.
    fn resize(&self, size: &str) {
        let output = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "remount: {}", describe(&output));
    }

    /// Writes a file until the filesystem has no room left; returns how many bytes it took.
    fn fill(&self) -> usize {
        use std::io::Write;
        let mut file = std::fs::File::create(self.dir.join("filler")).unwrap();
        let chunk = vec![0x55u8; 4096];
        let mut written = 0;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(28), "filling: {e}");
                    break;
                }
            }
        }
        let _ = file.sync_all();
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the test's own pool may still hold the database open.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// `tandem run`, killed when dropped; its log goes to a file for the failure messages.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(t: &TestApp) -> Self {
        let log = t.dir.path().join("daemon.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(BINARY)
            .arg("--config")
            .arg(&t.config_path)
            .arg("run")
            .env("TANDEM_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it with SIGINT and waits for it.
    fn stop(mut self) {
        send_signal("INT", self.child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the daemon did not stop; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A time log of a few KB (a padded description), so a handful fills a tiny filesystem.
fn hours_mail(i: usize) -> Vec<u8> {
    let (day, sent) = crate::helpers::cli_hours_day(i);
    let padding = "Notes on the work of the day, kept for the client. ".repeat(40);
    format!(
        "From: Sam Lee <sam@va.example>\r\nTo: team@example.org\r\nSubject: Hours {i}\r\n\
         Message-ID: <dbfault-{i}@va.example>\r\nDate: {sent}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\n{day} 1h task {i}\r\n\r\n\
         {padding}\r\n\r\nSam\r\n"
    )
    .into_bytes()
}

/// The shipped config over smtp-sink, polling the Maildir every second.
fn config(sink: &SmtpSink, text: &str) -> String {
    sink.config(text)
        .replace("poll_interval = \"5s\"", "poll_interval = \"1s\"")
}

fn deliver(t: &TestApp, range: std::ops::Range<usize>) {
    for i in range {
        t.deliver(&format!("dbfault-{i}"), &hours_mail(i));
    }
}

/// Waits until `n` messages are recorded and nothing is left to send.
async fn wait_until_done(t: &TestApp, daemon: &Daemon, n: i64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let recorded = t.count("inbound_message").await;
        let unsent = t.count("outbox WHERE state <> 'sent'").await;
        if recorded == n && unsent == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not go on by itself: {recorded} of {n} recorded, {unsent} unsent \
             after {within:?}; its log:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every queued mail arrived exactly once, and nothing else arrived.
async fn assert_each_arrived_once(t: &TestApp, sink: &SmtpSink, daemon: &Daemon) {
    let queued: Vec<String> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT message_id FROM outbox")
            .fetch_all(c)
            .await
    })
    .unwrap();
    let arrived = sink.arrivals();
    let doubled: Vec<_> = arrived.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "sent more than once: {doubled:?}; the daemon's log:\n{}",
        daemon.log()
    );
    for id in &queued {
        assert!(arrived.contains_key(id), "{id} never arrived");
    }
    assert_eq!(arrived.len(), queued.len(), "something arrived unqueued");
}

/// The failures in `health_event` whose error contains `needle`, with their times.
async fn health_events(t: &TestApp, needle: &str) -> Vec<(String, DateTime<Utc>, String)> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as(
            "SELECT component, at, error FROM health_event WHERE error LIKE $1 ORDER BY at",
        )
        .bind(format!("%{needle}%"))
        .fetch_all(c)
        .await
    })
    .unwrap()
}

/// How many failures mentioning `needle` the daemon logged where a task also records them in
/// `health` (each of these log lines goes with one `Health::record_failure`).
fn logged_failures(log: &str, needle: &str) -> usize {
    const RECORDED: [&str; 5] = [
        "reading the mailbox failed; retrying",
        "handling a message failed",
        "outbox worker failed; retrying",
        "scheduler step failed; retrying",
        "a sent message could not be recorded",
    ];
    log.lines()
        .filter(|line| line.contains(needle) && RECORDED.iter().any(|r| line.contains(r)))
        .count()
}

/// Every failure the daemon logged about the fault is in `health_event`, at a time between the
/// fault's start and the moment the daemon had caught up, and the `health` rows count them. (A
/// write that began waiting during the fault may give up after its end: SQLite's busy handler
/// polls, and on a loaded machine a waiter can lose the freed lock to other writers for a
/// while.)
async fn assert_outage_recorded(
    t: &TestApp,
    daemon: &Daemon,
    needle: &str,
    outage: (DateTime<Utc>, DateTime<Utc>),
) {
    // They are written by the next task that gets through after the outage: give it a moment.
    let deadline = Instant::now() + Duration::from_secs(15);
    let events = loop {
        let log = daemon.log();
        let logged = logged_failures(&log, needle);
        assert!(
            logged > 0,
            "no failure mentions '{needle}'; the log:\n{log}"
        );
        let events = health_events(t, needle).await;
        if events.len() >= logged {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "{logged} failures logged, {} in health_event: {events:?}; the daemon's log:\n{log}",
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for (component, at, error) in &events {
        assert!(
            *at >= outage.0 && *at <= outage.1,
            "{component} failed at {at}, outside the outage {outage:?}: {error}; the daemon's log:\n{}",
            daemon.log()
        );
    }
    let counted: i64 = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT SUM(error_count) FROM health")
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert!(counted >= events.len() as i64, "health counts {counted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_doubles_nothing_and_the_daemon_goes_on_once_there_is_room() {
    let sink = SmtpSink::start(&[]);
    let mut tmpfs = None;
    let t = spawn_app_with(|dir, text| {
        let db = dir.join("db");
        tmpfs = Some(Tmpfs::mount(&db, "8m"));
        with_database(
            &config(&sink, &text),
            &format!("sqlite://{}/tandem.db", db.display()),
        )
    })
    .await;
    // Dropped before `t`: unmounted before its folder is removed.
    let tmpfs = tmpfs.unwrap();
    assert!(
        std::fs::metadata(tmpfs.dir.join("tandem.db")).is_ok(),
        "the database is not on the tmpfs"
    );
    t.add_engagement_by_cli();
    let daemon = Daemon::start(&t);

    // It works before the fault.
    deliver(&t, 0..10);
    wait_until_done(&t, &daemon, 10, Duration::from_secs(60)).await;

    // No room left, while mail keeps arriving.
    let outage_start = Utc::now();
    let filled = tmpfs.fill();
    println!("filled {filled} bytes");
    deliver(&t, 10..70);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !daemon.log().contains("database or disk is full") {
        assert!(
            Instant::now() < deadline,
            "the daemon never met the full disk: {} recorded; its log:\n{}",
            t.count("inbound_message").await,
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let it fail for a while (each task retries meanwhile).
    tokio::time::sleep(Duration::from_secs(4)).await;

    // Room again: it goes on by itself.
    tmpfs.resize("64m");
    wait_until_done(&t, &daemon, 70, Duration::from_secs(120)).await;
    let caught_up = Utc::now();
    assert_eq!(t.count("submission").await, 70, "{}", daemon.log());
    assert_eq!(t.count("outbox WHERE kind = 'receipt'").await, 70);
    assert_each_arrived_once(&t, &sink, &daemon).await;

    // The outage is in the health table, with the times it happened.
    assert_outage_recorded(&t, &daemon, "full", (outage_start, caught_up)).await;
    daemon.stop();
    drop(tmpfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_past_the_busy_timeout_doubles_nothing_and_shows_in_health() {
    // Every send takes two seconds (smtp-sink waits before answering DATA), so the lock is
    // taken while sends are in flight and their outcome must wait for it.
    let sink = SmtpSink::start(&["-w", "2"]);
    let t = spawn_app_with(|dir, text| {
        with_database(
            &config(&sink, &text),
            &format!("sqlite://{}/var/tandem.db", dir.display()),
        )
    })
    .await;
    t.add_engagement_by_cli();
    let daemon = Daemon::start(&t);
    deliver(&t, 0..8);

    // Wait until a receipt is being sent, then lock the database from another connection.
    let deadline = Instant::now() + Duration::from_secs(60);
    while t.count("outbox WHERE state = 'sending'").await == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing was sent; its log:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = t.app.config.database.url.clone();
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    let outage_start = Utc::now();
    // More mail arrives meanwhile; the reader cannot record it.
    deliver(&t, 8..12);
    // Held past twice the busy timeout (10 s), so a write that waits for it gives up, and so
    // does the write of that failure.
    tokio::time::sleep(Duration::from_secs(25)).await;
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();

    wait_until_done(&t, &daemon, 12, Duration::from_secs(120)).await;
    let caught_up = Utc::now();
    assert_eq!(t.count("submission").await, 12, "{}", daemon.log());
    assert_each_arrived_once(&t, &sink, &daemon).await;

    assert_outage_recorded(&t, &daemon, "locked", (outage_start, caught_up)).await;
    daemon.stop();
}
