use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::cli::copy_dir;
use crate::helpers::{BINARY, MANIFEST_DIR, message, numbered_time_log, output_lines, spawn_app};

/// A running process's output, line by line, with what was read so far for failure messages.
struct Output {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Output {
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
                Err(e) => panic!(
                    "no line with '{needle}' ({e}); output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

/// The README's run command on a fresh checkout: the shipped config, from the project folder.
/// It creates `var/`, says where to drop mail, reads what is dropped, and stops on Ctrl-C.
#[test]
fn run_on_the_shipped_config_creates_var_and_stops_on_ctrl_c() {
    let checkout = tempfile::tempdir().unwrap();
    for dir in ["config", "templates"] {
        copy_dir(
            &std::path::Path::new(MANIFEST_DIR).join(dir),
            &checkout.path().join(dir),
        );
    }
    let mut child = Command::new(BINARY)
        .arg("run")
        .current_dir(checkout.path())
        .env_remove("TANDEM_CONFIG")
        .env("TANDEM_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Lines from stdout and stderr arrive on one channel, so the test waits on events.
    let mut output = Output {
        lines: output_lines(&mut child),
        seen: Vec::new(),
    };
    output.wait_for("Ctrl-C stops it.");
    assert!(
        output
            .seen
            .iter()
            .any(|l| l.contains("drop messages into var/mail/inbox/new")),
        "{:?}",
        output.seen
    );
    let var = checkout.path().join("var");
    assert!(var.join("tandem.db").is_file());
    for dir in [
        "mail/inbox/new",
        "mail/inbox/cur",
        "mail/inbox/.Processed/cur",
        "mail/inbox/.Quarantine/new",
        "mail/outbox",
    ] {
        assert!(var.join(dir).is_dir(), "{dir} missing");
    }

    // A message dropped in is read while it runs.
    let raw = message(
        "someone@else.example",
        "<drop@else.example>",
        "hello",
        "",
        "hi",
    );
    std::fs::write(var.join("mail/inbox/tmp/1.drop"), raw).unwrap();
    std::fs::rename(
        var.join("mail/inbox/tmp/1.drop"),
        var.join("mail/inbox/new/1.drop"),
    )
    .unwrap();
    output.wait_for("recorded");

    // Ctrl-C is SIGINT; the shell's own `kill` sends it (no extra tool needed).
    let status = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    output.wait_for("shutting down");
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || drop(done_tx.send(child.wait())));
    let exit = done
        .recv_timeout(Duration::from_secs(30))
        .expect("the daemon did not stop")
        .unwrap();
    assert!(
        exit.success(),
        "exit {exit:?}; output:\n{}",
        output.seen.join("\n")
    );
    assert!(var.join("mail/inbox/.Quarantine/new/1.drop").is_file());
}

/// The library's daemon, stopped by an injected shutdown: all three tasks end and `run` returns.
#[tokio::test]
async fn run_stops_when_its_shutdown_future_completes() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await; // three welcome mails queued, not yet sent
    t.deliver(
        "1.mail",
        &message(
            "anna@acme.example",
            "<r1@acme.example>",
            "Hallo",
            "",
            "Frage",
        ),
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(t.app.clone().run(async move {
        let _ = stopped.await;
    }));
    // Wait for the work to be done (the reader and the worker start at once).
    let done = async {
        while t.sent_files().len() < 3 || t.count("inbound_message").await < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), done)
        .await
        .expect("the daemon did not read and send in time");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), daemon)
        .await
        .expect("the daemon did not stop")
        .unwrap()
        .unwrap();
    assert_eq!(t.mailbox_files(), [".Attention/new/1.mail"]);
}

#[tokio::test]
async fn run_once_reads_everything_and_sends_everything_then_exits() {
    let t = spawn_app().await;
    t.add_people().await;
    // `tandem run --once` runs on the wall clock, so the engagement is added on it too, to
    // start a month from today: nothing of its schedule is due yet.
    let start = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let added = t.tandem(&[
        "engagement",
        "add",
        "--assistant",
        "sam@va.example",
        "--client",
        "acme",
        "--start",
        &start,
    ]);
    assert!(
        added.status.success(),
        "{}",
        crate::helpers::describe(&added)
    );
    for i in 0..3 {
        t.deliver(
            &format!("{i}.mail"),
            &message(
                "x@else.example",
                &format!("<{i}@else.example>"),
                "hi",
                "",
                "x",
            ),
        );
    }
    // `engagement add` sent the three welcome mails itself; the pass has a receipt to send.
    assert_eq!(t.sent_files().len(), 3);
    t.deliver("hours.mail", &numbered_time_log(1));
    let output = t.tandem(&["run", "--once"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    assert_eq!(t.count("inbound_message").await, 4);
    assert_eq!(
        t.count("outbox WHERE kind = 'receipt' AND state = 'sent'")
            .await,
        1
    );
    assert_eq!(t.count("outbox WHERE state <> 'sent'").await, 0);
    assert_eq!(t.sent_files().len(), 4);
    // The engagement starts in a month: it is still onboarding.
    let status: String = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT status FROM engagement")
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!(status, "onboarding");
}

/// The scheduler moves an engagement into its trial when its first day begins in the client's
/// time zone (Berlin: 23:00 UTC the evening before).
#[tokio::test]
async fn the_trial_begins_at_local_midnight_of_the_start_date() {
    let t = spawn_app().await;
    t.add_people().await;
    let id = t.start_engagement().await.engagement_id;
    let step = t.app.scheduler().step().await.unwrap();
    assert_eq!(step.trials_started, Vec::<i64>::new());
    // The first thing due is the operator's digest on Monday 30 Nov at 08:00 in Berlin; the
    // trial begins that night.
    assert_eq!(
        step.next_due.unwrap().to_rfc3339(),
        "2026-11-30T07:00:00+00:00"
    );
    let begins: chrono::DateTime<chrono::Utc> = "2026-11-30T23:00:00Z".parse().unwrap();

    let trials_started = async || t.app.scheduler().step().await.unwrap().trials_started;
    t.clock.set(begins - chrono::Duration::seconds(1));
    let before = t.app.scheduler().step().await.unwrap();
    assert_eq!(before.trials_started, Vec::<i64>::new());
    assert_eq!(before.next_due, Some(begins), "the scheduler wakes for it");
    t.clock.set(begins);
    assert_eq!(trials_started().await, [id]);
    // Once only.
    assert_eq!(trials_started().await, Vec::<i64>::new());
}
