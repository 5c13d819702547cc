//! Running tandem as a service (issue 17), on the binary: `/metrics` counts what a pass over a
//! real Dovecot and smtp-sink did; `/healthz` turns 503 naming mail in while Dovecot is down
//! past `[health] inbound_after`, and 200 again once it is back, without a restart; the
//! systemd watchdog pings stop while one loop hangs (the outbox worker, whose file transport
//! opens a FIFO that has no reader: an open that never returns) and resume when it goes on; SIGHUP with a broken
//! config keeps the daemon on the old one and logs why, a good one is put in force; a backup
//! taken while the daemon writes opens and passes `tandem check`; `tandem status` reads the
//! same facts; `systemd-analyze verify` passes on `packaging/tandem.service`.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sqlx::Connection as _;

use crate::helpers::{
    BINARY, MANIFEST_DIR, cli_hours_day, describe, on_postgres, output_lines, send_signal,
    spawn_app_with,
};
use crate::servers::{Dovecot, Tls, free_port};
use crate::sink::SmtpSink;

/// `tandem run` with its output read line by line, kept for failure messages.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(config: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BINARY);
        command
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("TANDEM_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
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
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!("no line with '{needle}' ({e}); output:\n{}", self.log()),
            }
        }
    }

    fn signal(&self, name: &str) {
        assert!(send_signal(name, self.child.id()), "kill -{name} failed");
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, and the exit within its stop bound.
    fn stop(mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.running() {
            assert!(Instant::now() < deadline, "did not stop:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` on the endpoint: the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

/// The value of the sample `name{labels}` in a scrape, if it is there.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// The value of the sample `name{labels}` in a scrape, which must be there.
fn value(metrics: &str, series: &str) -> f64 {
    sample(metrics, series).unwrap_or_else(|| panic!("no {series} in:\n{metrics}"))
}

/// Waits until `done()`, at most `limit`; `what` names it in the failure.
fn wait_until(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
    mut log: impl FnMut() -> String,
) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in {limit:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hours_mail(i: usize, from: &str) -> Vec<u8> {
    let (day, sent) = cli_hours_day(i);
    format!(
        "From: {from}\r\nTo: team@example.org\r\nSubject: Hours {i}\r\n\
         Message-ID: <service-{i}-{}@va.example>\r\nDate: {sent}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\n{day} 1h task {i}\r\n\r\nSam\r\n",
        std::process::id()
    )
    .into_bytes()
}

fn with_http(text: String, port: u16, health: &str) -> String {
    format!("{text}\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n[health]\n{health}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_pass_over_dovecot_and_smtp_sink() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let sink = SmtpSink::start(&[]);
    let port = free_port();
    let t = spawn_app_with(|dir, text| {
        with_http(
            sink.config(&dovecot.tandem_config(dir, &text, &account, Tls::None)),
            port,
            "",
        )
    })
    .await;
    t.add_engagement_by_cli();
    let welcomes = sink.messages().len();
    for i in 0..3 {
        dovecot.deliver(&account, &hours_mail(i, "Sam Lee <sam@va.example>"));
    }
    dovecot.deliver(&account, &hours_mail(3, "Eve <eve@unknown.example>"));
    dovecot.deliver(
        &account,
        b"From: Sam Lee <sam@va.example>\r\nTo: team@example.org\r\nSubject: Out of office\r\n\
          Auto-Submitted: auto-replied\r\nMessage-ID: <ooo-service@va.example>\r\n\r\nAway.\r\n",
    );

    let mut daemon = Daemon::start(&t.config_path, &[]);
    daemon.wait_for("health:   http://");
    let done = || {
        let (_, m) = get(port, "/metrics");
        // Until the first receipt is sent, its series is not there.
        sample(&m, "tandem_mails_sent_total{kind=\"receipt\"}").is_some_and(|n| n >= 3.0)
            && m.lines()
                .filter(|l| l.starts_with("tandem_messages_read_total"))
                .map(|l| value(l, l.split(' ').next().unwrap()))
                .sum::<f64>()
                >= 5.0
    };
    wait_until(Duration::from_secs(60), "the pass", done, || daemon.log());
    // Let the outbox's marks land and the facts read for scrapes age out, then look again.
    std::thread::sleep(Duration::from_millis(2500));
    let (code, metrics) = get(port, "/metrics");
    assert_eq!(code, 200);
    let expect = [
        (
            "tandem_messages_read_total{classification=\"hours\",outcome=\"processed\"}",
            3.0,
        ),
        (
            "tandem_messages_read_total{classification=\"unrecognised\",outcome=\"quarantine\"}",
            1.0,
        ),
        (
            "tandem_messages_read_total{classification=\"ignored\",outcome=\"processed\"}",
            1.0,
        ),
        (
            "tandem_messages_quarantined_total{reason=\"unknown_sender\"}",
            1.0,
        ),
        ("tandem_mails_sent_total{kind=\"receipt\"}", 3.0),
        ("tandem_outbox_messages{state=\"queued\"}", 0.0),
        ("tandem_outbox_messages{state=\"failed\"}", 0.0),
        ("tandem_outbox_oldest_due_seconds", 0.0),
        ("tandem_imap_reconnects_total", 0.0),
        // config/tandem.toml's `max_connections`.
        ("tandem_db_pool_connections{state=\"max\"}", 3.0),
    ];
    for (series, expected) in expect {
        assert_eq!(value(&metrics, series), expected, "{series} in:\n{metrics}");
    }
    // The outbox gauge is the table: the welcome mails (sent by `engagement add`) and receipts.
    let sent = t.count("outbox WHERE state = 'sent'").await as f64;
    assert_eq!(
        value(&metrics, "tandem_outbox_messages{state=\"sent\"}"),
        sent
    );
    assert!(value(&metrics, "tandem_scheduler_pass_seconds_count") >= 1.0);
    assert!(
        (0.0..5.0).contains(&value(&metrics, "tandem_mailbox_check_age_seconds")),
        "{metrics}"
    );
    assert!(metrics.trim_end().ends_with("# EOF"));
    // What the counters say was sent arrived: the receipts and the scheduler's first mail
    // (a survey, the trial alert), after the welcomes `engagement add` sent itself.
    let counted: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("tandem_mails_sent_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(
        sink.messages().len(),
        welcomes + counted as usize,
        "{metrics}"
    );
    let daemon_sent = t
        .count("outbox WHERE state = 'sent' AND kind NOT IN ('welcome')")
        .await;
    assert_eq!(counted as i64, daemon_sent, "{metrics}");

    let (code, health) = get(port, "/healthz");
    assert_eq!(code, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    let parts = health["parts"].as_array().unwrap();
    let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["inbound", "outbound", "scheduler"]);
    assert!(parts.iter().all(|p| p["healthy"] == true), "{health}");
    assert!(
        parts[1]["last_ok_at"].is_string(),
        "mail out worked: {health}"
    );

    // The endpoint answers only what it serves, and nothing long.
    assert_eq!(get(port, "/").0, 404);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    let mut huge = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let header = format!(
        "GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = huge.write_all(header.as_bytes());
    let mut answer = String::new();
    let _ = huge.read_to_string(&mut answer);
    assert!(
        !answer.contains("200 OK"),
        "a 64 KB head was served: {answer}"
    );

    // `tandem check` names the endpoint.
    let check = t.tandem(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains(&format!(
            "ok      http: /healthz and /metrics on 127.0.0.1:{port}"
        )),
        "{said}"
    );

    // `tandem status` says the same from the database, with the daemon's heartbeat.
    let output = t.tandem(&["status"]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("daemon:    running (pid"), "{text}");
    assert!(text.contains("health:    ok"), "{text}");
    let output = t.tandem(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["healthy"], true);
    assert_eq!(json["daemons"][0]["running"], true);
    assert_eq!(json["daemons"][0]["pid"], daemon.child.id());
    daemon.stop();
    let output = t.tandem(&["status"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("daemon:    not running"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_names_mail_in_while_dovecot_is_down_and_recovers_without_a_restart() {
    let dovecot = Dovecot::start();
    let account = dovecot.add_user();
    let port = free_port();
    let t = spawn_app_with(|dir, text| {
        with_http(
            dovecot.tandem_config(dir, &text, &account, Tls::None),
            port,
            "inbound_after = \"4s\"",
        )
    })
    .await;
    let mut daemon = Daemon::start(&t.config_path, &[]);
    daemon.wait_for("health:   http://");
    let health = || {
        let (code, body) = get(port, "/healthz");
        (
            code,
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        )
    };
    wait_until(
        Duration::from_secs(20),
        "healthy at start",
        || health().0 == 200,
        || daemon.log(),
    );

    dovecot.stop();
    let down = Instant::now();
    let mut last = None;
    wait_until(
        Duration::from_secs(30),
        "503 with Dovecot stopped",
        || {
            let (code, body) = health();
            let done = code == 503;
            last = Some(body);
            done
        },
        String::new,
    );
    let body = last.unwrap();
    assert!(
        down.elapsed() >= Duration::from_secs(3),
        "down too early: {body}"
    );
    let parts = body["parts"].as_array().unwrap();
    let inbound = &parts[0];
    assert_eq!(inbound["name"], "inbound");
    assert_eq!(inbound["healthy"], false, "{body}");
    assert!(
        inbound["problem"].as_str().unwrap().contains("last worked"),
        "{body}"
    );
    assert!(
        inbound["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        parts[1]["healthy"] == true && parts[2]["healthy"] == true,
        "only mail in is down: {body}"
    );
    let (_, metrics) = get(port, "/metrics");
    assert_eq!(
        value(&metrics, "tandem_component_healthy{component=\"inbound\"}"),
        0.0
    );
    assert!(
        value(&metrics, "tandem_mailbox_check_age_seconds") >= 4.0,
        "{metrics}"
    );
    let output = t.tandem(&["status"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("health:    PROBLEM") && text.contains("mail in    DOWN"),
        "{text}"
    );

    dovecot.start_again();
    wait_until(
        Duration::from_secs(90),
        "200 with Dovecot back",
        || health().0 == 200,
        || daemon.log(),
    );
    let (_, metrics) = get(port, "/metrics");
    assert!(
        value(&metrics, "tandem_imap_reconnects_total") >= 1.0,
        "{metrics}"
    );
    assert!(daemon.running(), "no restart: the same process");
    daemon.stop();
}

/// The datagrams sent to a `NOTIFY_SOCKET` the test binds, read as they come (as systemd
/// reads them) by a thread of its own.
struct NotifySocket {
    path: std::path::PathBuf,
    received: mpsc::Receiver<String>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        let (tx, received) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).trim().to_string();
                if tx.send(text).is_err() {
                    return;
                }
            }
        });
        Self { path, received }
    }

    /// The messages received so far and within `window` from now.
    fn read_for(&self, window: Duration) -> Vec<String> {
        let end = Instant::now() + window;
        let mut got = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            if let Ok(message) = self.received.recv_timeout(left) {
                got.push(message);
            }
        }
        got
    }

    fn pings(got: &[String]) -> usize {
        got.iter()
            .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_pings_stop_while_a_loop_hangs() {
    let t = spawn_app_with(|_, text| text).await;
    t.add_engagement_by_cli();
    let notify = NotifySocket::bind(t.dir.path());
    let path = notify.path.to_str().unwrap().to_string();
    // systemd's WatchdogSec=1s.
    let mut daemon = Daemon::start(
        &t.config_path,
        &[("NOTIFY_SOCKET", &path), ("WATCHDOG_USEC", "1000000")],
    );
    let got = notify.read_for(Duration::from_secs(3));
    assert!(
        got.iter().any(|m| m == "READY=1"),
        "{got:?}\n{}",
        daemon.log()
    );
    assert!(
        NotifySocket::pings(&got) >= 4,
        "pings every quarter interval: {got:?}"
    );

    // The file transport writes each mail to `.NAME.partial` first. Where that name is a
    // FIFO, the open waits for a reader that does not come: the outbox worker hangs in its
    // send (the file transport has no deadline), while the reader and the scheduler go on.
    // Every name the next mails to Sam could get is such a FIFO; a time log asks for one.
    let outbox = t.outbox_dir();
    let first = t.scalar("SELECT COALESCE(MAX(id), 0) FROM outbox").await + 1;
    for id in first..first + 20 {
        let fifo = outbox.join(format!(".{id:06}-sam@va.example.eml.partial"));
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
    }
    t.deliver("h.eml", &hours_mail(7, "Sam Lee <sam@va.example>"));
    let stuck = daemon.wait_for("a task is stuck");
    assert!(
        stuck.contains("tasks=outbox") || stuck.contains("tasks=\"outbox\""),
        "{stuck}"
    );
    notify.read_for(Duration::from_millis(500));
    let hung = notify.read_for(Duration::from_secs(3));
    assert_eq!(
        NotifySocket::pings(&hung),
        0,
        "pings went on while the outbox hung: {hung:?}"
    );
    assert!(daemon.running());

    // A reader comes: the write ends, the worker goes on, and so do the pings.
    let sending = t
        .scalar("SELECT id FROM outbox WHERE state = 'sending'")
        .await;
    let fifo = outbox.join(format!(".{sending:06}-sam@va.example.eml.partial"));
    let drained = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::fs::File::open(fifo)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        text
    });
    daemon.wait_for("watchdog pings resume");
    assert!(
        !drained.join().unwrap().is_empty(),
        "the receipt went through the FIFO"
    );
    let again = notify.read_for(Duration::from_secs(2));
    assert!(NotifySocket::pings(&again) >= 3, "{again:?}");

    daemon.signal("TERM");
    let bye = notify.read_for(Duration::from_secs(2));
    assert!(bye.iter().any(|m| m == "STOPPING=1"), "{bye:?}");
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_broken_config_keeps_the_old_one_and_a_good_one_takes_effect() {
    let t = spawn_app_with(|_, text| text).await;
    t.add_engagement_by_cli();
    let good = std::fs::read_to_string(&t.config_path).unwrap();
    let mut daemon = Daemon::start(&t.config_path, &[]);
    daemon.wait_for("Ctrl-C stops it");
    let receipts = || {
        t.sent_files()
            .iter()
            .filter(|f| f.to_string_lossy().ends_with("-sam@va.example.eml"))
            .count()
    };
    let before = receipts();

    // Broken: a value that is no duration. Refused with the key and the reason.
    std::fs::write(
        &t.config_path,
        good.replace("poll_interval = \"5s\"", "poll_interval = \"soon\""),
    )
    .unwrap();
    daemon.signal("HUP");
    let refused = daemon.wait_for("config reload refused");
    assert!(refused.contains("inbound.poll_interval"), "{refused}");
    // Broken templates: a folder without them. Refused too, by the templates' check.
    std::fs::write(
        &t.config_path,
        good.replace(
            &format!("{MANIFEST_DIR}/templates"),
            "/nonexistent/templates",
        ),
    )
    .unwrap();
    daemon.signal("HUP");
    let refused = daemon.wait_for("config reload refused");
    assert!(refused.contains("/nonexistent/templates"), "{refused}");
    assert!(daemon.running());
    // Still at work on the old config: a time log is answered.
    t.deliver("h1.eml", &hours_mail(1, "Sam Lee <sam@va.example>"));
    wait_until(
        Duration::from_secs(30),
        "a receipt on the old config",
        || receipts() > before,
        || daemon.log(),
    );

    // A good one is put in force: the tasks restart on it and go on, and its receipts sign
    // with the agency's new name.
    let signed = |name: &str| {
        t.sent_files()
            .iter()
            .filter(|f| f.to_string_lossy().ends_with("-sam@va.example.eml"))
            .filter(|f| std::fs::read_to_string(f).unwrap().contains(name))
            .count()
    };
    assert!(good.contains("name = \"Example Agency\""), "{good}");
    assert_eq!(signed("Reloaded Agency"), 0);
    std::fs::write(
        &t.config_path,
        good.replace("poll_interval = \"5s\"", "poll_interval = \"1s\"")
            .replace("name = \"Example Agency\"", "name = \"Reloaded Agency\""),
    )
    .unwrap();
    daemon.signal("HUP");
    daemon.wait_for("config reloaded");
    let after = receipts();
    t.deliver("h2.eml", &hours_mail(2, "Sam Lee <sam@va.example>"));
    wait_until(
        Duration::from_secs(30),
        "a receipt on the new config",
        || receipts() > after,
        || daemon.log(),
    );
    assert_eq!(signed("Reloaded Agency"), 1, "the new config's agency name");
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_daemon_writes_passes_check() {
    let t = spawn_app_with(|_, text| {
        text.replace("poll_interval = \"5s\"", "poll_interval = \"200ms\"")
    })
    .await;
    t.add_engagement_by_cli();
    let mut daemon = Daemon::start(&t.config_path, &[]);
    daemon.wait_for("Ctrl-C stops it");
    // Mail keeps arriving while the backup is taken.
    let inbox = t.inbox();
    let writer = std::thread::spawn(move || {
        for i in 0..150 {
            let name = format!("b{i}.eml");
            std::fs::write(
                inbox.join("tmp").join(&name),
                hours_mail(i, "Sam Lee <sam@va.example>"),
            )
            .unwrap();
            std::fs::rename(inbox.join("tmp").join(&name), inbox.join("new").join(&name)).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    wait_until(
        Duration::from_secs(30),
        "some mail recorded",
        || t.sent_files().len() > 20,
        || daemon.log(),
    );
    let backup = t.dir.path().join("backup");
    let output = t.tandem(&["backup", backup.to_str().unwrap()]);
    writer.join().unwrap();
    if on_postgres() {
        assert!(!output.status.success(), "{}", describe(&output));
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("pg_dump"), "{said}");
        assert!(
            backup.join("mail/inbox").is_dir(),
            "the mail folders are copied"
        );
        daemon.stop();
        return;
    }
    assert!(output.status.success(), "{}", describe(&output));
    daemon.stop();

    // The backup as a tandem of its own: its config names the copy's database and folders.
    let b = backup.display();
    let text = std::fs::read_to_string(&t.config_path).unwrap();
    let d = t.dir.path().display();
    let restored = text
        .replace(&format!("{d}/var/tandem.db"), &format!("{b}/tandem.db"))
        .replace(&format!("{d}/var/mail/inbox"), &format!("{b}/mail/inbox"))
        .replace(&format!("{d}/var/mail/outbox"), &format!("{b}/mail/outbox"));
    assert!(restored.contains(&format!("{b}/tandem.db")), "{restored}");
    let config = backup.join("tandem.toml");
    std::fs::write(&config, &restored).unwrap();
    let tandem = |args: &[&str]| {
        Command::new(BINARY)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("TANDEM_LOG", "warn")
            .output()
            .unwrap()
    };
    let check = tandem(&["check"]);
    assert!(check.status.success(), "{}", describe(&check));
    let copy = format!("sqlite://{}", backup.join("tandem.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&copy).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    conn.close().await.unwrap();
    let hours = tandem(&["hours", "list"]);
    assert!(hours.status.success(), "{}", describe(&hours));
    // And it runs: every message not recorded in the copy is still in its inbox, and is read.
    let once = tandem(&["run", "--once"]);
    assert!(once.status.success(), "{}", describe(&once));
    let left = std::fs::read_dir(backup.join("mail/inbox/new"))
        .unwrap()
        .count();
    assert_eq!(
        left, 0,
        "the restored daemon reads what the copy's inbox holds"
    );
}

#[test]
fn the_systemd_unit_verifies() {
    // systemd-analyze checks that ExecStart's program exists: the unit is verified with the
    // binary of this build in place of /usr/bin/tandem, and nothing else changed.
    let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("systemd-analyze is missing: install the Debian package systemd (.ci/test does)");
    let unit =
        std::fs::read_to_string(Path::new(MANIFEST_DIR).join("packaging/tandem.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/tandem "), "{unit}");
    for hardening in [
        "Type=notify",
        "WatchdogSec=",
        "User=tandem",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/tandem",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(
            unit.lines().any(|l| l.starts_with(hardening)),
            "{hardening} missing"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("tandem.service");
    std::fs::write(&copy, unit.replace("/usr/bin/tandem", BINARY)).unwrap();
    let output = Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "systemd-analyze verify failed:\n{}",
        describe(&output)
    );
}

#[test]
fn the_debian_package_holds_the_binary_config_templates_and_unit() {
    // Built from the tracked files with this build's binary (a release build would take
    // minutes; `packaging/build-deb.sh` alone builds one).
    let out = tempfile::tempdir().unwrap();
    let built = Command::new("bash")
        .arg(Path::new(MANIFEST_DIR).join("packaging/build-deb.sh"))
        .args(["--binary", BINARY, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", describe(&built));
    let deb = String::from_utf8_lossy(&built.stdout).trim().to_string();
    let listed = Command::new("dpkg-deb")
        .args(["-c", &deb])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", describe(&listed));
    let listing = String::from_utf8_lossy(&listed.stdout);
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    for file in [
        "./usr/bin/tandem",
        "./etc/tandem/tandem.toml",
        "./lib/systemd/system/tandem.service",
        "./usr/share/tandem/templates/de/",
        "./usr/share/tandem/templates/en/",
        "./usr/share/doc/tandem/README.md",
    ] {
        assert!(files.contains(&file), "{file} missing:\n{listing}");
    }
    let templates = Path::new(MANIFEST_DIR).join("templates/en");
    for template in std::fs::read_dir(templates).unwrap() {
        let name = template.unwrap().file_name();
        let packaged = format!("./usr/share/tandem/templates/en/{}", name.to_string_lossy());
        assert!(files.contains(&packaged.as_str()), "{packaged} missing");
    }
    // The control part: the user is made on install, the config is a conffile.
    let info = Command::new("dpkg-deb")
        .args(["--info", &deb, "postinst"])
        .output()
        .unwrap();
    let postinst = String::from_utf8_lossy(&info.stdout);
    assert!(postinst.contains("adduser --system --group"), "{postinst}");
    let conffiles = Command::new("dpkg-deb")
        .args(["--info", &deb, "conffiles"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&conffiles.stdout).trim(),
        "/etc/tandem/tandem.toml"
    );
    // The packaged config is valid and names the packaged paths.
    let extracted = out.path().join("root");
    let unpacked = Command::new("dpkg-deb")
        .args(["-x", &deb])
        .arg(&extracted)
        .output()
        .unwrap();
    assert!(unpacked.status.success(), "{}", describe(&unpacked));
    let config = std::fs::read_to_string(extracted.join("etc/tandem/tandem.toml")).unwrap();
    let parsed = tandem::config::Config::from_toml(&config).unwrap();
    assert_eq!(parsed.database.url, "sqlite:///var/lib/tandem/tandem.db");
    assert_eq!(
        parsed.templates.dir,
        Path::new("/usr/share/tandem/templates")
    );
}
