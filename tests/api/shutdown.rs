//! Stopping the daemon (the binary, `tandem run`) while a send hangs on a server that never
//! answers DATA (smtp-sink `-w 3600`), and what the next process does with the message: SIGTERM
//! stops it within its send deadline and the message is retried later; a second SIGINT exits
//! at once; a row left in `sending` by a process that is gone is sent by the next `run --once`
//! at once and exactly once, while a row of a live daemon is left alone.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use tandem::domain::{Locale, Mailbox};
use tandem::outbound::{self, AutoSubmitted, Outgoing};
use tandem::templates::Rendered;

use crate::helpers::{BINARY, TestApp, describe, output_lines, send_signal, spawn_app_with};
use crate::sink::SmtpSink;

/// `tandem run` with its stdout and stderr read line by line, kept for failure messages.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(config: &std::path::Path) -> Self {
        let mut child = Command::new(BINARY)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("TANDEM_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self {
            lines: output_lines(&mut child),
            child,
            seen: Vec::new(),
        }
    }

    fn log(&mut self) -> String {
        self.seen.extend(self.lines.try_iter());
        self.seen.join("\n")
    }

    /// Reads lines until one contains `needle`; fails after 30 s of silence.
    fn wait_for(&mut self, needle: &str) {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(e) => panic!("no line with '{needle}' ({e}); output:\n{}", self.log()),
            }
        }
    }

    fn signal(&self, name: &str) {
        assert!(send_signal(name, self.child.id()), "kill -{name} failed");
    }

    /// Waits for the process to end; `None` when it is still running after `limit`.
    async fn exit_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Its last lines may still be on their way from the pipes: read until both
                // are closed.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An app whose mail goes to `sink`, a send given `send_timeout`.
async fn app_sending_to(sink: &SmtpSink, send_timeout: &str) -> TestApp {
    spawn_app_with(|_, text| {
        sink.config(&text).replace(
            "send_timeout = \"10s\"",
            &format!("send_timeout = \"{send_timeout}\""),
        )
    })
    .await
}

/// Queues `n` messages to `n` people, due now on the wall clock (the binary runs on it);
/// returns their Message-IDs.
async fn queue(t: &TestApp, n: usize) -> Vec<String> {
    let mut tx = t.app.pool.begin().await.unwrap();
    let now = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut ids = Vec::new();
    for i in 0..n {
        let rendered = Rendered {
            subject: format!("Test {i}"),
            text: format!("Message {i}\n"),
            html: format!("<p>Message {i}</p>"),
        };
        let to = Mailbox::parse(&format!("Person {i} <p{i}@example.net>")).unwrap();
        let mail = Outgoing::new(
            &t.app.config.agency.from,
            vec![to],
            rendered,
            Locale::En,
            AutoSubmitted::Generated,
        );
        outbound::enqueue(&mut tx, &format!("test:{i}"), "test", None, &mail, now)
            .await
            .unwrap();
        ids.push(mail.message_id);
    }
    tx.commit().await.unwrap();
    ids
}

/// The first outbox row: state, attempts, holder, last error.
async fn row(t: &TestApp) -> (String, i64, Option<String>, Option<String>) {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as("SELECT state, attempts, holder, last_error FROM outbox ORDER BY id LIMIT 1")
            .fetch_one(c)
            .await
    })
    .unwrap()
}

/// Waits until the daemon has claimed the message (and so is in its send).
async fn until_sending(t: &TestApp, daemon: &mut Daemon) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while row(t).await.0 != "sending" {
        assert!(
            Instant::now() < deadline,
            "the daemon never claimed the message; output:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Into the send itself: connected, and waiting for the answer to DATA.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// The Message-IDs of the messages the sink holds (it opens an empty file for every DATA it
/// never answers).
fn arrived(sink: &SmtpSink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter(|m| !m.is_empty())
        .map(|raw| {
            let m = MessageParser::default().parse(raw).unwrap();
            format!("<{}>", m.message_id().unwrap())
        })
        .collect()
}

/// SIGTERM while sends hang (more messages queued than are sent at once): the sends in flight
/// get their deadline (4 s), no new one starts, and the daemon exits cleanly within the
/// deadline plus a small margin. Every message is queued for a retry or untried, none lost,
/// none taken for sent.
#[tokio::test]
async fn sigterm_while_a_send_hangs_stops_within_the_send_deadline() {
    let sink = SmtpSink::start(&["-w", "3600"]);
    let t = app_sending_to(&sink, "4s").await;
    queue(&t, 12).await;
    let mut daemon = Daemon::start(&t.config_path);
    daemon.wait_for("Ctrl-C stops it.");
    until_sending(&t, &mut daemon).await;

    let asked = Instant::now();
    daemon.signal("TERM");
    let status = daemon.exit_within(Duration::from_secs(60)).await;
    let took = asked.elapsed();
    let log = daemon.log();
    let status = status.unwrap_or_else(|| panic!("still running 60 s after SIGTERM:\n{log}"));
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        took < Duration::from_secs(4 + 3),
        "stopped {took:?} after SIGTERM, beyond send_timeout + 3 s:\n{log}"
    );
    assert!(log.contains("shutting down"), "{log}");

    let rows: Vec<(String, i64, Option<String>, Option<String>)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as("SELECT state, attempts, holder, last_error FROM outbox")
                .fetch_all(c)
                .await
        })
        .unwrap();
    let tried: Vec<_> = rows.iter().filter(|r| r.1 > 0).collect();
    assert!(
        !tried.is_empty() && tried.len() < rows.len(),
        "sends started after the signal: {rows:?}\n{log}"
    );
    for (state, attempts, holder, error) in &rows {
        assert_eq!(
            (state.as_str(), holder),
            ("queued", &None),
            "{rows:?}\n{log}"
        );
        if *attempts > 0 {
            assert_eq!(*attempts, 1);
            assert!(
                error
                    .as_deref()
                    .unwrap_or("")
                    .contains("did not finish within 4 s"),
                "the send ran to its deadline: {error:?}"
            );
        }
    }
    assert!(arrived(&sink).is_empty());
}

/// A second SIGINT while the first waits for a hanging send (60 s deadline) ends the process
/// at once, saying so. The message stays in `sending`; the next `run --once` sends it at once
/// (the process that held it is gone), once.
#[tokio::test]
async fn a_second_sigint_exits_at_once_and_the_next_start_sends_what_it_left() {
    let mut sink = SmtpSink::start(&["-w", "3600"]);
    let t = app_sending_to(&sink, "60s").await;
    let id = queue(&t, 1).await.remove(0);
    let mut daemon = Daemon::start(&t.config_path);
    daemon.wait_for("Ctrl-C stops it.");
    until_sending(&t, &mut daemon).await;

    daemon.signal("INT");
    daemon.wait_for("shutting down");
    let asked = Instant::now();
    daemon.signal("INT");
    let status = daemon.exit_within(Duration::from_secs(30)).await;
    let took = asked.elapsed();
    let log = daemon.log();
    let status = status.unwrap_or_else(|| panic!("still running after a second SIGINT:\n{log}"));
    assert!(
        took < Duration::from_secs(3),
        "a second SIGINT took {took:?}:\n{log}"
    );
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(log.contains("asked again: exiting now"), "{log}");
    let (state, attempts, holder, _) = row(&t).await;
    assert_eq!((state.as_str(), attempts), ("sending", 1));
    assert!(holder.is_some());

    // The server answers again; the lease has almost five minutes to go.
    sink.restart(&[]);
    let once = t.tandem(&["run", "--once"]);
    assert!(once.status.success(), "{}", describe(&once));
    assert_eq!(arrived(&sink), [id]);
    let (state, attempts, ..) = row(&t).await;
    assert_eq!((state.as_str(), attempts), ("sent", 2));
}

/// A daemon hangs in a send: another process's `run --once` (to a server that works) leaves
/// that message alone while the daemon lives. Once the daemon is killed (SIGKILL), the next
/// `run --once` sends it at once, without waiting out the five-minute lease; exactly once.
#[tokio::test]
async fn a_row_of_a_killed_daemon_is_sent_at_once_and_a_live_ones_is_left_alone() {
    let silent = SmtpSink::start(&["-w", "3600"]);
    let good = SmtpSink::start(&[]);
    let t = app_sending_to(&silent, "60s").await;
    let id = queue(&t, 1).await.remove(0);
    let other = t.dir.path().join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&t.config_path).unwrap().replace(
            &format!("port = {}\n", silent.port),
            &format!("port = {}\n", good.port),
        ),
    )
    .unwrap();
    let run_once = || {
        let output = Command::new(BINARY)
            .arg("--config")
            .arg(&other)
            .args(["run", "--once"])
            .env("TANDEM_LOG", "info")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        output
    };

    let mut daemon = Daemon::start(&t.config_path);
    daemon.wait_for("Ctrl-C stops it.");
    until_sending(&t, &mut daemon).await;
    let (_, _, holder, _) = row(&t).await;

    // While the daemon lives, its message is its own.
    run_once();
    assert!(
        arrived(&good).is_empty(),
        "a live daemon's message was taken"
    );
    assert_eq!(row(&t).await, ("sending".into(), 1, holder.clone(), None));

    // Killed: no goodbye, nothing deregistered.
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    let started = Instant::now();
    let output = run_once();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "run --once took {:?}",
        started.elapsed()
    );
    assert_eq!(
        arrived(&good),
        std::slice::from_ref(&id),
        "{}",
        describe(&output)
    );
    let (state, attempts, ..) = row(&t).await;
    assert_eq!((state.as_str(), attempts), ("sent", 2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("process is gone"),
        "{}",
        describe(&output)
    );

    // Nothing more goes out.
    run_once();
    assert_eq!(arrived(&good), [id]);
    assert!(arrived(&silent).is_empty());
}

/// SIGTERM while the reader works through a big inbox: it stops between two batches (not
/// aborted after its grace), every message it recorded was also moved, and the rest wait in
/// the inbox for the next start.
#[tokio::test]
async fn sigterm_stops_the_reader_between_batches() {
    const MAILS: usize = 3000;
    let t = spawn_app_with(|_, text| text.replace("batch_size = 100", "batch_size = 10")).await;
    t.add_people().await;
    t.start_engagement().await;
    t.app.outbox().drain().await.unwrap();
    for i in 0..MAILS {
        let mail = crate::helpers::message(
            "Sam Lee <sam@va.example>",
            &format!("<big-{i}@va.example>"),
            "Hours",
            "",
            &format!("2026-11-23 0:0{} filing {i}", 1 + i % 9),
        );
        t.deliver(&format!("{i}.hours"), &mail);
    }
    let mut daemon = Daemon::start(&t.config_path);
    daemon.wait_for("recorded");
    daemon.signal("TERM");
    let asked = Instant::now();
    let status = daemon.exit_within(Duration::from_secs(30)).await;
    let took = asked.elapsed();
    let log = daemon.log();
    assert!(status.is_some_and(|s| s.success()), "{log}");
    assert!(
        took < Duration::from_secs(3),
        "stopping took {took:?}:\n{log}"
    );
    assert!(!log.contains("did not stop in time"), "{log}");

    let recorded = t.count("inbound_message").await as usize;
    let left: Vec<String> = t
        .mailbox_files()
        .into_iter()
        .filter(|f| f.starts_with("new/") || f.starts_with("cur/"))
        .collect();
    assert!(recorded > 0 && recorded < MAILS, "{recorded} recorded");
    assert_eq!(
        left.len(),
        MAILS - recorded,
        "every recorded message was moved, the others wait"
    );
}
