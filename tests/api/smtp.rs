//! Mail out over SMTP, against a real Postfix `smtp-sink`, and over TLS (STARTTLS and implicit)
//! against Dovecot's submission service, which relays to one.

use chrono::Duration;
use mail_parser::MessageParser;
use tandem::domain::{Locale, Mailbox};
use tandem::outbound::{self, AutoSubmitted, Outgoing};
use tandem::tasks::outbox::Step;
use tandem::templates::Rendered;

use crate::helpers::{TestApp, describe, on_postgres, send_signal, spawn_app_with};
use crate::servers::{Submission, Tls};
use crate::sink::SmtpSink;

async fn app_with(sink: &SmtpSink) -> TestApp {
    spawn_app_with(|_, text| sink.config(&text)).await
}

/// Queues `n` plain messages, as a flow would; returns their Message-IDs.
async fn queue(t: &TestApp, n: usize) -> Vec<String> {
    let from = t.app.config.agency.from.clone();
    let mut ids = Vec::new();
    let mut tx = t.app.pool.begin().await.unwrap();
    for i in 0..n {
        let rendered = Rendered {
            subject: format!("Test {i}"),
            text: format!("Message {i}\n"),
            html: format!("<p>Message {i}</p>"),
        };
        let to = Mailbox::parse(&format!("Person {i} <p{i}@example.net>")).unwrap();
        let mail = Outgoing::new(
            &from,
            vec![to],
            rendered,
            Locale::En,
            AutoSubmitted::Generated,
        );
        ids.push(mail.message_id.clone());
        outbound::enqueue(
            &mut tx,
            &format!("test:{i}"),
            "test",
            None,
            &mail,
            t.clock_now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    ids
}

/// The state of each outbox row, as `tandem outbox list --json` lists them.
fn outbox_states(t: &TestApp) -> Vec<String> {
    let listed = t.tandem(&["outbox", "list", "--json"]);
    assert!(listed.status.success(), "{}", describe(&listed));
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| row["state"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The Message-IDs of what the sink received, in angle brackets.
fn received_ids(sink: &SmtpSink) -> Vec<String> {
    let mut ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|raw| {
            let m = MessageParser::default().parse(raw).unwrap();
            format!(
                "<{}>",
                m.message_id().expect("a received message has a Message-ID")
            )
        })
        .collect();
    ids.sort();
    ids
}

/// Steps the worker until nothing is due; returns what each step did.
async fn drain_steps(t: &TestApp) -> Vec<Step> {
    let mut steps = Vec::new();
    loop {
        match t.app.outbox().step().await.unwrap() {
            Step::Idle => return steps,
            step => steps.push(step),
        }
    }
}

#[tokio::test]
async fn welcome_mails_arrive_at_the_smtp_server_as_valid_mime() {
    let sink = SmtpSink::start(&[]);
    let t = app_with(&sink).await;
    t.add_people().await;
    t.start_engagement().await;
    assert_eq!(t.app.outbox().drain().await.unwrap(), 3);

    let received = sink.messages();
    assert_eq!(received.len(), 3);
    let mut seen = Vec::new();
    for raw in &received {
        let text = String::from_utf8_lossy(raw);
        assert!(
            text.contains("X-Mail-Args: <team@example.org>"),
            "envelope sender:\n{text}"
        );
        let m = MessageParser::default().parse(raw).unwrap();
        assert_eq!(
            m.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        assert_eq!(m.text_body_count(), 1);
        assert_eq!(m.html_body_count(), 1);
        seen.push(
            m.to()
                .unwrap()
                .first()
                .unwrap()
                .address()
                .unwrap()
                .to_string(),
        );
    }
    seen.sort();
    assert_eq!(
        seen,
        ["anna@acme.example", "ben@acme.example", "sam@va.example"]
    );
    // Nothing is sent twice.
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
    assert_eq!(sink.messages().len(), 3);
}

/// Sends to a server that offers PIPELINING write a mail's commands at once (every other test
/// here); this one does not offer it, so each command waits for its answer.
#[tokio::test]
async fn a_server_without_pipelining_gets_every_mail_once() {
    let sink = SmtpSink::start(&["-p"]);
    let t = app_with(&sink).await;
    let mut ids = queue(&t, 6).await;
    let steps = drain_steps(&t).await;
    assert_eq!(steps.len(), 6);
    assert!(
        steps.iter().all(|s| matches!(s, Step::Sent { .. })),
        "{steps:?}"
    );
    ids.sort();
    assert_eq!(received_ids(&sink), ids, "each message exactly once");
}

/// Lines that start with a dot (one alone would end the mail's data) arrive as they were
/// written, in the pipelined session every other test here uses and without pipelining.
#[tokio::test]
async fn lines_that_start_with_a_dot_arrive_as_written() {
    for options in [&[][..], &["-p"][..]] {
        let sink = SmtpSink::start(options);
        let t = app_with(&sink).await;
        let text = ".htaccess fixed\n.\n..two dots\nthe end.\n";
        let mail = Outgoing::new(
            &t.app.config.agency.from,
            vec![Mailbox::parse("Mia <mia@va.example>").unwrap()],
            Rendered {
                subject: "Dots".into(),
                text: text.into(),
                html: "<p>Dots</p>".into(),
            },
            Locale::En,
            AutoSubmitted::Generated,
        );
        let mut tx = t.app.pool.begin().await.unwrap();
        outbound::enqueue(&mut tx, "test:dots", "test", None, &mail, t.clock_now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let steps = drain_steps(&t).await;
        assert!(
            matches!(steps[..], [Step::Sent { .. }]),
            "{options:?}: {steps:?}"
        );
        let received = sink.messages();
        assert_eq!(received.len(), 1, "{options:?}");
        let m = MessageParser::default().parse(&received[0]).unwrap();
        assert_eq!(
            m.body_text(0).unwrap().replace("\r\n", "\n"),
            text,
            "{options:?}"
        );
    }
}

/// A session that was just used is reused without a `NOOP`; when the server closed it
/// meanwhile (restarted here), the send goes out on a new session at once, not after a retry.
#[tokio::test]
async fn a_pooled_session_closed_by_the_server_is_replaced_within_the_send() {
    let mut sink = SmtpSink::start(&[]);
    let t = app_with(&sink).await;
    let mut ids = queue(&t, 2).await;
    assert!(matches!(
        t.app.outbox().step().await.unwrap(),
        Step::Sent { .. }
    ));
    // The pooled session is closed by the server going away and coming back on its port.
    sink.restart(&[]);
    let step = t.app.outbox().step().await.unwrap();
    assert!(matches!(step, Step::Sent { .. }), "{step:?}");
    ids.sort();
    assert_eq!(received_ids(&sink), ids, "each message exactly once");
}

/// The server goes away after some messages, then answers 4xx for a while, then works again:
/// every message arrives, exactly once.
#[tokio::test]
async fn temporary_failures_deliver_every_message_exactly_once() {
    let mut sink = SmtpSink::start(&[]);
    let t = app_with(&sink).await;
    let mut ids = queue(&t, 10).await;
    for _ in 0..3 {
        assert!(matches!(
            t.app.outbox().step().await.unwrap(),
            Step::Sent { .. }
        ));
    }

    // Gone: connections are refused.
    sink.stop();
    let steps = drain_steps(&t).await;
    assert_eq!(steps.len(), 7);
    for step in &steps {
        let Step::Retrying { error, .. } = step else {
            panic!("expected a retry: {step:?}");
        };
        assert!(error.to_lowercase().contains("connection"), "{error}");
    }

    // Back, but answering 4xx to every recipient.
    sink.restart(&["-r", "RCPT"]);
    t.clock.advance(Duration::seconds(31));
    let steps = drain_steps(&t).await;
    assert_eq!(steps.len(), 7);
    for step in &steps {
        let Step::Retrying { error, .. } = step else {
            panic!("expected a retry: {step:?}");
        };
        assert!(error.starts_with("450"), "{error}");
    }

    // Healthy again.
    sink.restart(&[]);
    t.clock.advance(Duration::seconds(61));
    let steps = drain_steps(&t).await;
    assert!(
        steps.iter().all(|s| matches!(s, Step::Sent { .. })),
        "{steps:?}"
    );
    assert_eq!(steps.len(), 7);

    ids.sort();
    assert_eq!(received_ids(&sink), ids, "each message exactly once");
    let states = outbox_states(&t);
    assert!(states.iter().all(|s| s == "sent"), "{states:?}");
}

/// A 5xx answer is final: the message is `failed` with the server's words, listed for the
/// operator, and not tried again.
#[tokio::test]
async fn a_permanent_failure_is_marked_failed_with_the_servers_answer() {
    let sink = SmtpSink::start(&["-f", "RCPT"]);
    let t = app_with(&sink).await;
    queue(&t, 1).await;
    let Step::Failed { id, error } = t.app.outbox().step().await.unwrap() else {
        panic!("a 5xx answer should fail the message");
    };
    assert!(
        error.contains("500") && error.contains("Error: command failed"),
        "{error}"
    );
    t.clock.advance(Duration::days(1));
    assert_eq!(t.app.outbox().step().await.unwrap(), Step::Idle);
    assert!(sink.messages().is_empty());

    let listed = t.tandem(&["outbox", "list"]);
    assert!(listed.status.success(), "{}", describe(&listed));
    let text = String::from_utf8_lossy(&listed.stdout);
    let row = text
        .lines()
        .find(|l| l.starts_with(&id.to_string()))
        .unwrap();
    assert!(
        row.contains("failed") && row.contains("Error: command failed"),
        "{text}"
    );
}

#[tokio::test]
async fn check_reports_the_smtp_server() {
    let mut sink = SmtpSink::start(&[]);
    let t = app_with(&sink).await;
    let ok = t.tandem(&["check"]);
    let text = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(ok.status.success(), "{}", describe(&ok));
    assert!(
        text.contains(&format!("ok      mail out: smtp: 127.0.0.1:{}", sink.port)),
        "{text}"
    );

    sink.stop();
    let down = t.tandem(&["check"]);
    assert!(!down.status.success());
    let text = String::from_utf8_lossy(&down.stdout);
    assert!(text.contains("FAILED  mail out:"), "{text}");
}

/// Acceptance end to end: a time log APPENDed to Dovecot is recorded, moved to the processed
/// folder, and its receipt arrives at smtp-sink as valid MIME, threaded under the mail.
#[tokio::test]
async fn a_mail_appended_over_imap_is_answered_over_smtp() {
    use crate::servers::Dovecot;
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let sink = SmtpSink::start(&[]);
    let t = spawn_app_with(|dir, text| {
        sink.config(&dovecot.tandem_config(dir, &text, &account, Tls::Starttls))
    })
    .await;
    t.add_people().await;
    t.start_engagement().await;
    let hours = crate::helpers::message(
        "Sam Lee <sam@va.example>",
        "<e2e@va.example>",
        "Hours",
        "",
        "2026-11-23 2.5h Invoices and reminders",
    );
    dovecot.append(&account, &hours).await;

    t.app.run_once().await.unwrap();

    assert!(dovecot.list(&account, "INBOX").await.is_empty());
    let processed = dovecot.list(&account, "Processed").await;
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].message_id, "<e2e@va.example>");
    let receipts: Vec<Vec<u8>> = sink
        .messages()
        .into_iter()
        .filter(|raw| String::from_utf8_lossy(raw).contains("In-Reply-To: <e2e@va.example>"))
        .collect();
    assert_eq!(receipts.len(), 1, "one receipt");
    let m = MessageParser::default().parse(&receipts[0]).unwrap();
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!((m.text_body_count(), m.html_body_count()), (1, 1));
    assert!(m.body_text(0).unwrap().contains("Invoices and reminders"));
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("sam@va.example")
    );
}

/// A server that greets and then stops answering (smtp-sink holding back its answer to DATA):
/// the worker gives up on the send after `send_timeout`, keeps the message for a retry, and
/// sends it once the server answers again.
#[tokio::test]
async fn a_server_that_stops_answering_holds_up_nothing() {
    let mut sink = SmtpSink::start(&["-w", "3600"]);
    let t = spawn_app_with(|_, text| {
        sink.config(&text)
            .replace("send_timeout = \"10s\"", "send_timeout = \"1s\"")
    })
    .await;
    let ids = queue(&t, 3).await;
    let started = std::time::Instant::now();
    let steps = drain_steps(&t).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the worker waited on a silent server"
    );
    assert_eq!(steps.len(), 3);
    for step in &steps {
        let Step::Retrying { error, .. } = step else {
            panic!("expected a retry: {step:?}");
        };
        assert!(error.contains("did not finish within 1 s"), "{error}");
    }
    // The sink opened a file for each DATA it never answered; none holds a message.
    assert!(sink.messages().iter().all(|m| m.is_empty()));

    // The server answers again: each message goes out once.
    sink.restart(&[]);
    t.clock.advance(Duration::hours(1));
    assert_eq!(t.app.outbox().drain().await.unwrap(), 3);
    let mut received: Vec<String> = sink
        .messages()
        .iter()
        .filter(|m| !m.is_empty())
        .map(|raw| {
            let m = MessageParser::default().parse(raw).unwrap();
            format!("<{}>", m.message_id().unwrap())
        })
        .collect();
    received.sort();
    let mut expected = ids;
    expected.sort();
    assert_eq!(received, expected);
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
}

/// Two workers (two daemons on one database, each with its own SMTP server): the first's
/// lease runs out while its send hangs, the second takes the message over and sends it, then
/// the first's send fails. The first's outcome changes nothing: the message stays sent, and is
/// not sent a third time.
#[tokio::test(flavor = "multi_thread")]
async fn a_lease_that_runs_out_mid_send_overwrites_nothing() {
    // The first server takes 3 s to answer DATA, and then refuses it (421, temporary).
    let slow = SmtpSink::start(&["-w", "3", "-Q", "DATA"]);
    let good = SmtpSink::start(&[]);
    let t = spawn_app_with(|_, text| {
        slow.config(&text)
            .replace("lease = \"5m\"", "lease = \"30s\"")
    })
    .await;
    queue(&t, 1).await;
    let second_config = std::fs::read_to_string(&t.config_path).unwrap().replace(
        &format!("port = {}\n", slow.port),
        &format!("port = {}\n", good.port),
    );
    let second = tandem::app::App::new(
        tandem::config::Config::from_toml(&second_config).unwrap(),
        std::sync::Arc::new(t.clock.clone()),
    )
    .await
    .unwrap();

    let first = t.app.outbox();
    let hung = tokio::spawn(async move { first.step().await.unwrap() });
    // The first is in its send; its lease runs out, and the second takes the message.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    t.clock.advance(Duration::minutes(1));
    assert!(matches!(
        second.outbox().step().await.unwrap(),
        Step::Sent { .. }
    ));
    // The first's send fails; its retry mark finds the claim gone.
    assert!(matches!(hung.await.unwrap(), Step::Retrying { .. }));
    let state: String = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT state FROM outbox")
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!(state, "sent");
    t.clock.advance(Duration::hours(2));
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
    assert_eq!(second.outbox().drain().await.unwrap(), 0);
    assert_eq!(good.messages().len(), 1);
    assert!(slow.messages().is_empty());
}

/// Recording `sent` fails once (the database refuses the statement): the worker records it
/// again instead of leaving the row to be sent once more after its lease. On SQLite the send
/// is recorded in the journal beside the database, and marked in the database from there:
/// each fails once.
#[tokio::test]
async fn a_sent_message_whose_record_fails_once_is_not_sent_again() {
    let sink = SmtpSink::start(&[]);
    let t = app_with(&sink).await;
    queue(&t, 1).await;
    // The journal refuses its first record.
    let journal = match t.app.pool.file() {
        Some(file) => {
            let mut path = file.into_os_string();
            path.push(".sent");
            let url = format!("sqlite://{}?mode=rwc", path.to_string_lossy());
            let journal = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::raw_sql(
                "CREATE TABLE sent (id INTEGER NOT NULL, lease_until TEXT NOT NULL, \
                   holder TEXT NOT NULL, sent_at TEXT NOT NULL, \
                   PRIMARY KEY (id, lease_until, holder)); \
                 CREATE TABLE fail_once (armed INTEGER NOT NULL); \
                 INSERT INTO fail_once VALUES (1); \
                 CREATE TRIGGER fail_record_once BEFORE INSERT ON sent \
                 WHEN (SELECT armed FROM fail_once) = 1 \
                 BEGIN UPDATE fail_once SET armed = 0; SELECT RAISE(FAIL, 'the disk is full'); END",
            )
            .execute(&journal)
            .await
            .unwrap();
            Some(journal)
        }
        None => None,
    };
    // Recording `sent` fails once: the first time the row is set to 'sent'.
    let fail_once = if on_postgres() {
        // A sequence counts outside the transaction the failure rolls back.
        "CREATE SEQUENCE fail_once; \
         CREATE FUNCTION fail_sent_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.state = 'sent' AND nextval('fail_once') = 1 THEN \
         RAISE EXCEPTION 'the disk is full'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER fail_sent_once BEFORE UPDATE OF state ON outbox \
         FOR EACH ROW EXECUTE FUNCTION fail_sent_once()"
    } else {
        "CREATE TABLE fail_once (armed INTEGER NOT NULL); \
         INSERT INTO fail_once VALUES (1); \
         CREATE TRIGGER fail_sent_once BEFORE UPDATE OF state ON outbox \
         WHEN NEW.state = 'sent' AND (SELECT armed FROM fail_once) = 1 \
         BEGIN UPDATE fail_once SET armed = 0; SELECT RAISE(FAIL, 'the disk is full'); END"
    };
    t.execute(fail_once).await;
    assert!(matches!(
        t.app.outbox().step().await.unwrap(),
        Step::Sent { .. }
    ));
    let failed_first = if on_postgres() {
        // The failed record took 1; the one that stuck, 2.
        t.scalar("SELECT last_value FROM fail_once").await == 2
    } else {
        t.scalar("SELECT armed FROM fail_once").await == 0
    };
    assert!(failed_first, "the first record of `sent` failed");
    if let Some(journal) = &journal {
        let armed: i64 = sqlx::query_scalar("SELECT armed FROM fail_once")
            .fetch_one(journal)
            .await
            .unwrap();
        assert_eq!(armed, 0, "the journal's first record failed");
    }
    // Long after any lease: nothing is sent again.
    t.clock.advance(Duration::hours(2));
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
    assert_eq!(sink.messages().len(), 1);
}

/// Sends over TLS (`tls`, with `ca_file` trusting the server's certificate) to Dovecot's
/// submission service, logged in as a user of its own, which relays each mail to an
/// smtp-sink: more mails than sessions in the pool, sent at once as the daemon sends.
async fn mails_go_out_over(tls: Tls) {
    const MAILS: usize = 10;
    const POOL: usize = 2;
    let sink = SmtpSink::start(&[]);
    let submission = Submission::start(sink.port);
    let account = submission.dovecot.add_user();
    let t = spawn_app_with(|dir, text| {
        submission.tandem_config(dir, &text, &account, tls).replace(
            "send_timeout = \"10s\"\n",
            &format!("send_timeout = \"10s\"\npool_size = {POOL}\n"),
        )
    })
    .await;
    let ids = queue(&t, MAILS).await;
    assert_eq!(
        t.app.outbox().drain().await.unwrap(),
        MAILS,
        "log:\n{}",
        submission.dovecot.log()
    );

    // Each arrived once, intact, to its recipient.
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(received_ids(&sink), expected, "each message exactly once");
    for raw in sink.messages() {
        let m = MessageParser::default().parse(&raw).unwrap();
        let id = format!("<{}>", m.message_id().unwrap());
        let i = ids.iter().position(|queued| *queued == id).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.contains("X-Mail-Args: <team@example.org>")
                && text.contains(&format!("X-Rcpt-Args: <p{i}@example.net>")),
            "envelope:\n{text}"
        );
        assert_eq!(m.subject(), Some(format!("Test {i}").as_str()));
        assert_eq!(
            m.to().unwrap().first().unwrap().address(),
            Some(format!("p{i}@example.net").as_str())
        );
        assert_eq!((m.text_body_count(), m.html_body_count()), (1, 1));
        assert_eq!(m.body_text(0).unwrap().trim_end(), format!("Message {i}"));
        assert!(
            m.body_html(0)
                .unwrap()
                .contains(&format!("<p>Message {i}</p>")),
            "{text}"
        );
    }
    let states = outbox_states(&t);
    assert_eq!(states.len(), MAILS);
    assert!(states.iter().all(|s| s == "sent"), "{states:?}");

    // Over TLS, on no more sessions than the pool holds, every mail pipelined.
    submission.wait_for_relayed(MAILS);
    let logins = submission.logins(&account);
    assert!(
        (1..=POOL).contains(&logins.len()) && logins.iter().all(|l| l.contains(", TLS,")),
        "{logins:#?}"
    );
    assert_eq!(
        submission.pipelined(),
        MAILS,
        "log:\n{}",
        submission.dovecot.log()
    );

    // Nothing is sent twice.
    t.clock.advance(Duration::hours(2));
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
    assert_eq!(sink.messages().len(), MAILS);
}

#[tokio::test]
async fn mail_goes_out_over_starttls_authenticated_and_pipelined() {
    mails_go_out_over(Tls::Starttls).await;
}

#[tokio::test]
async fn mail_goes_out_over_implicit_tls_authenticated_and_pipelined() {
    mails_go_out_over(Tls::Implicit).await;
}

/// A server whose certificate tandem does not trust (no `ca_file` naming the test's own
/// authority): nothing is sent, neither the mail nor the password, each message waits for a
/// later try, and the error says that the certificate was not trusted.
#[tokio::test]
async fn a_server_with_an_untrusted_certificate_gets_neither_mail_nor_password() {
    for tls in [Tls::Starttls, Tls::Implicit] {
        let sink = SmtpSink::start(&[]);
        let submission = Submission::start(sink.port);
        let account = submission.dovecot.add_user();
        let t = spawn_app_with(|dir, text| {
            let trusted = submission.tandem_config(dir, &text, &account, tls);
            let untrusted: Vec<&str> = trusted
                .lines()
                .filter(|line| !line.starts_with("ca_file"))
                .collect();
            assert_eq!(untrusted.len() + 1, trusted.lines().count(), "{trusted}");
            untrusted.join("\n") + "\n"
        })
        .await;
        queue(&t, 2).await;
        let steps = drain_steps(&t).await;
        assert_eq!(steps.len(), 2, "{tls:?}: {steps:?}");
        for step in &steps {
            let Step::Retrying { error, .. } = step else {
                panic!("{tls:?}: expected a retry: {step:?}");
            };
            assert!(
                error.to_lowercase().contains("certificate"),
                "{tls:?}: {error}"
            );
        }
        let states = outbox_states(&t);
        assert_eq!(states.len(), 2, "{tls:?}");
        assert!(states.iter().all(|s| s == "queued"), "{tls:?}: {states:?}");

        // Dovecot writes its log a little late: a mail sent after the attempts above, by a
        // tandem that trusts the certificate and logs in as another user, is waited for in
        // the log, so whatever the attempts logged is in the file by then.
        let witness = submission.dovecot.add_user();
        let trusting =
            spawn_app_with(|dir, text| submission.tandem_config(dir, &text, &witness, tls)).await;
        let sent = queue(&trusting, 1).await;
        assert_eq!(trusting.app.outbox().drain().await.unwrap(), 1, "{tls:?}");
        submission.wait_for_relayed(1);
        assert_eq!(submission.logins(&witness).len(), 1, "{tls:?}");
        assert!(
            submission.logins(&account).is_empty(),
            "{tls:?}: log:\n{}",
            submission.dovecot.log()
        );
        assert_eq!(
            received_ids(&sink),
            sent,
            "{tls:?}: only the trusting tandem's mail"
        );
    }
}

/// Processes held with SIGSTOP, as a server that stops answering. Each is sent SIGCONT when
/// this is dropped, so a test that fails while they are stopped leaves none behind.
struct Stopped(Vec<u32>);

impl Stopped {
    /// Stops each of `pids`, and waits until the system says it is stopped.
    fn stop(pids: Vec<u32>) -> Stopped {
        // The guard first: a process stopped before a later one fails is continued all the same.
        let stopped = Stopped(pids);
        for pid in &stopped.0 {
            assert!(send_signal("STOP", *pid), "cannot stop process {pid}");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !stopped.0.iter().all(|pid| process_state(*pid) == Some('T')) {
            assert!(
                std::time::Instant::now() < deadline,
                "not every one of {:?} stopped",
                stopped.0
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        stopped
    }

    /// Continues the processes, and waits (up to 10 s) until each has ended, so that whatever
    /// they still do has been done.
    fn resume(self) {
        let pids = self.0.clone();
        drop(self);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while let Some(pid) = pids
            .iter()
            .find(|pid| !matches!(process_state(**pid), None | Some('Z')))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "process {pid} goes on after SIGCONT"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for pid in &self.0 {
            send_signal("CONT", *pid);
        }
    }
}

/// A process's state as `/proc/PID/stat` gives it (`S` sleeping, `T` stopped, `Z` ended and
/// not yet reaped, ...); `None` once it is gone.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `PID (NAME) STATE ...`, where the name may hold spaces and parentheses.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// A TLS server that stops answering in the middle of a session: Dovecot's `submission`
/// process of the session that tandem keeps open after a first mail is held with SIGSTOP, so
/// the connection and its TLS (carried by the login process in front) stay up and nothing
/// answers. Over STARTTLS and implicit TLS, the next send on that session gives up after
/// `send_timeout` and its message waits for a retry; the mail after it goes out at once, on a
/// new session; once the server answers again, the retry sends the held message. Each mail
/// arrives once.
#[tokio::test]
async fn a_tls_server_that_stops_answering_mid_session_holds_up_nothing() {
    for tls in [Tls::Starttls, Tls::Implicit] {
        let sink = SmtpSink::start(&[]);
        let submission = Submission::start(sink.port);
        let account = submission.dovecot.add_user();
        let t = spawn_app_with(|dir, text| {
            submission
                .tandem_config(dir, &text, &account, tls)
                .replace("send_timeout = \"10s\"", "send_timeout = \"2s\"")
        })
        .await;
        let mut ids = queue(&t, 3).await;

        // A first mail opens the session, which stays in the pool, served by one process.
        let step = t.app.outbox().step().await.unwrap();
        assert!(
            matches!(step, Step::Sent { .. }),
            "{tls:?}: {step:?}\nlog:\n{}",
            submission.dovecot.log()
        );
        let serving = submission.dovecot.service_processes("submission");
        assert_eq!(serving.len(), 1, "{tls:?}: one session: {serving:?}");
        let stopped = Stopped::stop(serving);

        // The next send is on that session: it gives up after `send_timeout`.
        let started = std::time::Instant::now();
        let step = tokio::time::timeout(std::time::Duration::from_secs(30), t.app.outbox().step())
            .await
            .unwrap_or_else(|_| panic!("{tls:?}: the worker waited on a silent server"))
            .unwrap();
        let waited = started.elapsed();
        let Step::Retrying { at, error, .. } = &step else {
            panic!("{tls:?}: expected a retry: {step:?}");
        };
        assert!(
            error.contains("did not finish within 2 s"),
            "{tls:?}: {error}"
        );
        assert!(
            waited >= std::time::Duration::from_secs(2)
                && waited < std::time::Duration::from_secs(8),
            "{tls:?}: the send took {waited:?}, not about send_timeout (2 s)"
        );

        // The mail after it goes out at once, on a new session (a second login); the held one
        // is not due yet.
        let steps = drain_steps(&t).await;
        assert!(
            matches!(steps[..], [Step::Sent { .. }]),
            "{tls:?}: {steps:?}"
        );
        let mut states = outbox_states(&t);
        states.sort();
        assert_eq!(states, ["queued", "sent", "sent"], "{tls:?}");
        let received = received_ids(&sink);
        assert!(
            received.len() == 2 && received.iter().all(|id| ids.contains(id)),
            "{tls:?}: two of {ids:?} arrived, not {received:?}"
        );
        submission.wait_for_relayed(2);
        let logins = submission.logins(&account);
        assert_eq!(logins.len(), 2, "{tls:?}: {logins:#?}");

        // The server answers again; once the retry is due, the held message goes out.
        stopped.resume();
        t.clock.advance(*at - t.clock_now());
        let steps = drain_steps(&t).await;
        assert!(
            matches!(steps[..], [Step::Sent { .. }]),
            "{tls:?}: {steps:?}\nlog:\n{}",
            submission.dovecot.log()
        );
        ids.sort();
        assert_eq!(
            received_ids(&sink),
            ids,
            "{tls:?}: each message exactly once"
        );
        let states = outbox_states(&t);
        assert!(states.iter().all(|s| s == "sent"), "{tls:?}: {states:?}");
        // Every session was protected: the retry's is the second one or a third.
        submission.wait_for_relayed(3);
        let logins = submission.logins(&account);
        assert!(
            (2..=3).contains(&logins.len()) && logins.iter().all(|l| l.contains(", TLS,")),
            "{tls:?}: {logins:#?}"
        );

        // Nothing is sent twice.
        t.clock.advance(Duration::hours(2));
        assert_eq!(t.app.outbox().drain().await.unwrap(), 0, "{tls:?}");
        assert_eq!(sink.messages().len(), 3, "{tls:?}");
    }
}
