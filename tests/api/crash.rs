//! Crash safety with real servers: the daemon is killed (SIGKILL, no goodbye) at random points
//! while it reads hundreds of time-log mails from Dovecot and answers them through smtp-sink,
//! then started again, over and over. Afterwards every message was recorded and answered
//! exactly once, every answer arrived, and a second copy arrived only where a kill fell
//! between the server's 250 and the outbox recording it (at most one per kill).

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{BINARY, output_lines, spawn_app_with};
use crate::servers::{Dovecot, Tls};
use crate::sink::SmtpSink;

const MESSAGES: usize = 600;

/// A small deterministic generator, so a failing run can be repeated from its printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn hours_mail(i: usize) -> Vec<u8> {
    let (day, sent) = crate::helpers::cli_hours_day(i);
    format!(
        "From: Sam Lee <sam@va.example>\r\nTo: team@example.org\r\nSubject: Hours {i}\r\n\
         Message-ID: <crash-{i}@va.example>\r\nDate: {sent}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\n{day} 1h task {i}\r\n\r\nSam\r\n"
    )
    .into_bytes()
}

/// Starts `tandem run`; its log is appended to `log` for the failure message.
fn start_daemon(config: &std::path::Path, log: &std::path::Path) -> Child {
    daemon_command(config, log)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn daemon_command(config: &std::path::Path, log: &std::path::Path) -> Command {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut command = Command::new(BINARY);
    command
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("TANDEM_LOG", "warn")
        .stderr(log);
    command
}

/// Starts `tandem run` and waits until it says that Ctrl-C stops it: its handlers are in place
/// then. A SIGINT before that finds the process's inherited disposition (a test run in the
/// background ignores it, and so did the daemon, which then never stopped).
fn start_daemon_ready(config: &std::path::Path, log: &std::path::Path) -> Child {
    let mut child = daemon_command(config, log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = output_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("Ctrl-C stops it") => return child,
            Ok(_) => {}
            Err(e) => panic!(
                "the daemon did not say it was running ({e}); its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_nothing_is_lost_or_doubled() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let sink = SmtpSink::start(&[]);
    let t = spawn_app_with(|dir, text| {
        // A send cut off by a kill is taken up at once by the next daemon (the killed one's pid
        // is gone); a short lease too, should that ever fail.
        sink.config(&dovecot.tandem_config(dir, &text, &account, Tls::None))
            .replace("lease = \"5m\"", "lease = \"15s\"")
    })
    .await;
    t.add_engagement_by_cli();
    for i in 0..MESSAGES {
        dovecot.deliver(&account, &hours_mail(i));
    }

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let log = t.dir.path().join("daemon.log");
    let done = || async {
        let recorded = t.count("inbound_message").await as usize;
        let unsent = t.count("outbox WHERE state <> 'sent'").await;
        recorded == MESSAGES && unsent == 0
    };

    // Kill it at random points until it has finished between two kills. A point is a random
    // amount of work (rows recorded and mails arrived) or a random time, whichever comes first:
    // a faster daemon is killed as often as a slower one.
    let work = || async { t.count("inbound_message").await as usize + sink.count() };
    let all_work = 2 * MESSAGES;
    let mut kills = 0;
    for _ in 0..60 {
        if done().await {
            break;
        }
        let before = work().await;
        let target = before + 1 + (rng.next() as usize) % (all_work.saturating_sub(before) / 2 + 1);
        let mut daemon = start_daemon(&t.config_path, &log);
        let until = Instant::now() + Duration::from_millis(50 + rng.next() % 450);
        while Instant::now() < until && work().await < target {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if daemon.try_wait().unwrap().is_none() {
            daemon.kill().unwrap();
            kills += 1;
        }
        daemon.wait().unwrap();
    }
    // Then let it finish, and stop it the polite way.
    let mut daemon = start_daemon_ready(&t.config_path, &log);
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done().await {
        if Instant::now() > deadline {
            let recorded = t.count("inbound_message").await;
            let unsent = t.count("outbox WHERE state <> 'sent'").await;
            panic!(
                "the daemon did not finish after {kills} kills (seed {seed}): {recorded} recorded, \
                 {unsent} unsent; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Command::new("sh")
        .args(["-c", &format!("kill -INT {}", daemon.id())])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while daemon.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = daemon.kill();
            panic!(
                "the daemon did not stop within 60 s of SIGINT; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("{kills} kills");
    assert!(
        kills >= 3,
        "too few kills landed to test anything (seed {seed})"
    );

    // Every message recorded once, every submission stored once, every answer queued once.
    assert_eq!(t.count("inbound_message").await as usize, MESSAGES);
    assert_eq!(t.count("submission").await as usize, MESSAGES);
    assert_eq!(t.count("time_entry").await as usize, MESSAGES);
    assert_eq!(
        t.count("outbox WHERE kind = 'receipt'").await as usize,
        MESSAGES
    );
    assert_eq!(t.count("outbox WHERE kind = 'welcome'").await, 2);

    // Every answer arrived; a second copy only for a send a kill cut off after the server's
    // 250 and before its mark: at most one per send in flight, `pool_size` of them.
    let queued: Vec<String> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT message_id FROM outbox")
            .fetch_all(c)
            .await
    })
    .unwrap();
    let arrived = sink.arrivals();
    for id in &queued {
        assert!(arrived.contains_key(id), "{id} never arrived (seed {seed})");
    }
    assert_eq!(
        arrived.len(),
        queued.len(),
        "something arrived that was never queued"
    );
    let doubles: usize = arrived.values().map(|n| n - 1).sum();
    println!("{doubles} second copies");
    let in_flight = t.app.config.outbound.smtp.as_ref().unwrap().pool_size as usize;
    assert!(
        doubles <= kills * in_flight,
        "{doubles} second copies for {kills} kills, {in_flight} sends at once (seed {seed})"
    );
    // And each copy came from an attempt of its own: a send cut off by a kill, taken up again.
    let attempts: HashMap<String, i64> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as("SELECT message_id, attempts FROM outbox")
                .fetch_all(c)
                .await
        })
        .unwrap()
        .into_iter()
        .collect();
    for (id, n) in &arrived {
        if *n > 1 {
            let tried = attempts[id] as usize;
            assert!(
                *n <= tried,
                "{id} arrived {n} times in {tried} attempts (seed {seed})"
            );
        }
    }

    // The INBOX is empty; every message sits in the processed folder, once.
    assert!(dovecot.list(&account, "INBOX").await.is_empty());
    assert_eq!(dovecot.list(&account, "Processed").await.len(), MESSAGES);
}
