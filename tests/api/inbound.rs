use std::collections::BTreeSet;

use tandem::domain::Classification;
use tandem::inbound::Batch;
use tandem::inbound::message::Incoming;
use tandem::store;
use tandem::tasks::reader::{Outcome, Report};

use crate::helpers::{message, numbered_time_log, spawn_app, spawn_app_with};

async fn rows(t: &crate::helpers::TestApp) -> Vec<(String, String, String)> {
    let mut conn = t.app.pool.acquire().await.unwrap();
    store::inbound::list(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.dedupe_key, r.classification, r.disposition))
        .collect()
}

#[tokio::test]
async fn a_message_is_recorded_once_and_moved_even_across_restarts_and_redelivery() {
    let t = spawn_app().await;
    t.add_people().await;
    let raw = message(
        "Anna Berg <anna@acme.example>",
        "<q1@acme.example>",
        "Frage zur Rechnung",
        "",
        "Hallo, eine kurze Frage.",
    );
    t.deliver("1764149400.M1P1.host", &raw);

    let report = t.app.reader().drain().await.unwrap();
    assert_eq!(
        report,
        Report {
            read: 1,
            recorded: 1,
            duplicates: 0,
            settled: 1,
            failed: 0,
        }
    );
    assert_eq!(
        rows(&t).await,
        [(
            "<q1@acme.example>".into(),
            "unrecognised".into(),
            "attention".into()
        )]
    );
    // Mail from a known person that tandem does not answer goes to a person, unread.
    assert_eq!(t.mailbox_files(), [".Attention/new/1764149400.M1P1.host"]);

    // Nothing left to read, also after a restart.
    assert_eq!(t.app.reader().drain().await.unwrap().read, 0);
    let restarted = t.restart().await;
    assert_eq!(restarted.reader().drain().await.unwrap().read, 0);

    // The same message delivered again (another copy, another file name) is not recorded again,
    // and is filed where the first went.
    t.deliver("1764149999.M2P2.host", &raw);
    let report = restarted.reader().drain().await.unwrap();
    assert_eq!(
        report,
        Report {
            read: 1,
            recorded: 0,
            duplicates: 1,
            settled: 1,
            failed: 0,
        }
    );
    assert_eq!(rows(&t).await.len(), 1);
    assert_eq!(
        t.mailbox_files(),
        [
            ".Attention/new/1764149400.M1P1.host",
            ".Attention/new/1764149999.M2P2.host"
        ]
    );
    // Nothing was ever answered.
    assert_eq!(t.count("outbox").await, 0);
}

/// A time log that reaches the inbox twice, the second time with a footer a forwarding alias
/// added (the same Message-ID, sender, subject and `Date:`), is one mail: its hours are logged
/// and answered once. A mail under that Message-ID with another `Date:` is another mail.
#[tokio::test]
async fn a_copy_whose_text_was_changed_on_its_way_is_still_a_copy() {
    let t = spawn_app().await;
    t.add_people().await;
    // From 2 November: the log's 3 November is inside it.
    t.start_engagement_from(chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap())
        .await;
    let original = numbered_time_log(1);
    let footer = [original.as_slice(), b"\r\n-- \r\nScanned by MailGuard\r\n"].concat();
    let later = String::from_utf8(original.clone())
        .unwrap()
        .replace("09:30:00", "09:31:00")
        .into_bytes();
    assert_ne!(later, original);
    for (name, raw) in [("1.eml", &original), ("2.eml", &footer), ("3.eml", &later)] {
        t.deliver(name, raw);
        t.app.reader().drain().await.unwrap();
    }
    let keys: Vec<String> = rows(&t).await.into_iter().map(|r| r.0).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], "<hours1@va.example>");
    assert!(
        keys[1].starts_with("<hours1@va.example> sha256:"),
        "{keys:?}"
    );
    // The first and the third logged their hour; the copy nothing.
    assert_eq!(t.count("time_entry").await, 2);
    assert_eq!(t.count("outbox WHERE kind = 'receipt'").await, 2);
}

/// A stranger's mail with 23,000 messages nested in one another (690 kB, far under the size
/// limit) killed the daemon at every start: it is quarantined, read from its header, and the
/// time log behind it is logged.
#[tokio::test]
async fn a_mail_of_thousands_of_nested_messages_is_quarantined_and_holds_up_nothing() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_from(chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap())
        .await;
    let nested = format!(
        "From: Eve <eve@evil.example>\r\nTo: team@example.org\r\nSubject: hi\r\n\
         Message-ID: <nested@evil.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: message/rfc822\r\n\r\n{}Content-Type: text/plain\r\n\r\nhello\r\n",
        "Content-Type: message/rfc822\r\n\r\n".repeat(23_000)
    );
    t.deliver("1.eml", nested.as_bytes());
    t.deliver("2.eml", &numbered_time_log(1));
    let report = t.app.reader().drain().await.unwrap();
    assert_eq!((report.recorded, report.settled), (2, 2), "{report:?}");
    let (disposition, reason): (String, String) =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as("SELECT disposition, reason FROM inbound_message WHERE message_id = $1")
                .bind("<nested@evil.example>")
                .fetch_one(c)
                .await
        })
        .unwrap();
    assert_eq!(disposition, "quarantine");
    assert!(
        reason.starts_with("not read: it may carry up to 23001 messages inside it"),
        "{reason}"
    );
    assert_eq!(t.count("time_entry").await, 1);
    // `tandem parse` reads it as the daemon did.
    let file = t.dir.path().join("nested.eml");
    std::fs::write(&file, &nested).unwrap();
    let output = t.tandem(&["parse", file.to_str().unwrap(), "--json"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed["disposition"], "quarantine", "{parsed}");
    assert_eq!(parsed["reason"].as_str(), Some(reason.as_str()), "{parsed}");
}

/// A drain over a Maildir fetches ahead too: the messages being recorded are left out of the
/// next fetch, and every message is read, recorded and moved once.
#[tokio::test]
async fn a_maildir_drain_fetches_ahead_and_reads_nothing_twice() {
    let t = spawn_app_with(|_, text| text.replace("batch_size = 100", "batch_size = 2")).await;
    t.add_people().await;
    t.start_engagement().await;
    for n in 1..=7 {
        t.deliver(&format!("{n}.hours"), &numbered_time_log(n));
    }
    // A copy of the third, delivered again.
    t.deliver("8.hours", &numbered_time_log(3));

    let skip: BTreeSet<String> = ["new/1.hours", "new/3.hours"].map(String::from).into();
    let fetched = t
        .app
        .mailbox
        .fetch_batch(Batch::of(3), &skip)
        .await
        .unwrap();
    let ids: Vec<&str> = fetched.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["new/2.hours", "new/4.hours", "new/5.hours"]);

    let report = t.app.reader().drain().await.unwrap();
    assert_eq!(
        report,
        Report {
            read: 8,
            recorded: 7,
            duplicates: 1,
            settled: 8,
            failed: 0,
        }
    );
    assert_eq!(t.count("inbound_message").await, 7);
    assert_eq!(t.count("outbox WHERE kind = 'receipt'").await, 7);
    let files = t.mailbox_files();
    assert_eq!(
        files
            .iter()
            .filter(|f| f.starts_with(".Processed/"))
            .count(),
        8,
        "{files:?}"
    );
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("new/") || f.starts_with("cur/")),
        "{files:?}"
    );
}

#[tokio::test]
async fn an_out_of_office_reply_is_ignored_and_never_answered() {
    let t = spawn_app().await;
    t.add_people().await;
    let outlook = message(
        "Anna Berg <anna@acme.example>",
        "<oof@acme.example>",
        "Automatische Antwort: Willkommen",
        "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
        "Ich bin bis Montag nicht im Büro.",
    );
    let subject_only = message(
        "Ben Roth <ben@acme.example>",
        "<oof2@acme.example>",
        "Out of Office: Welcome",
        "",
        "I am away until Monday.",
    );
    let bounce = message(
        "Mail Delivery System <MAILER-DAEMON@mx.acme.example>",
        "<bounce@mx.acme.example>",
        "Undelivered Mail Returned to Sender",
        "Return-Path: <>\r\n",
        "This is the mail system.",
    );
    t.deliver("1.oof", &outlook);
    t.deliver("2.oof", &subject_only);
    t.deliver("3.bounce", &bounce);
    t.app.reader().drain().await.unwrap();
    let all = rows(&t).await;
    assert_eq!(all.len(), 3);
    for (key, classification, disposition) in &all {
        assert_eq!(
            (classification.as_str(), disposition.as_str()),
            ("ignored", "processed"),
            "{key}"
        );
    }
    assert_eq!(
        t.mailbox_files(),
        [
            ".Processed/cur/1.oof:2,S",
            ".Processed/cur/2.oof:2,S",
            ".Processed/cur/3.bounce:2,S"
        ]
    );
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
    assert_eq!(t.count("outbox").await, 0);
    assert!(t.sent_files().is_empty());
}

#[tokio::test]
async fn unknown_senders_and_unreadable_mail_are_quarantined_not_dropped() {
    let t = spawn_app().await;
    t.deliver(
        "1.spam",
        &message(
            "Winner <win@lottery.example>",
            "<w@lottery.example>",
            "You won",
            "",
            "Click",
        ),
    );
    t.deliver("2.junk", b"\x00\x01 not a message at all");
    t.deliver(
        "3.noid",
        b"From: nobody@nowhere.example\r\nSubject: no id\r\n\r\nhello\r\n",
    );
    t.app.reader().drain().await.unwrap();
    let all = rows(&t).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(
        all.iter()
            .all(|(_, c, d)| c == "unrecognised" && d == "quarantine"),
        "{all:?}"
    );
    // Without a Message-ID the content is the key.
    assert_eq!(
        all.iter()
            .filter(|(k, _, _)| k.starts_with("sha256:"))
            .count(),
        2
    );
    assert_eq!(
        t.mailbox_files(),
        [
            ".Quarantine/new/1.spam",
            ".Quarantine/new/2.junk",
            ".Quarantine/new/3.noid"
        ]
    );
    assert_eq!(t.count("outbox").await, 0);
}

/// A crash after the row commits but before the message is moved: the next read records
/// nothing and only moves it.
#[tokio::test]
async fn a_crash_between_commit_and_move_loses_and_doubles_nothing() {
    let t = spawn_app().await;
    let raw = message(
        "stranger@else.example",
        "<c1@else.example>",
        "hi",
        "",
        "hello",
    );
    t.deliver("1.crash", &raw);
    let outcome = t
        .app
        .reader()
        .record(&Incoming::parse(&raw), "test")
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Recorded(ref d) if d.classification == Classification::Unrecognised)
    );
    assert_eq!(t.mailbox_files(), ["new/1.crash"]);

    let report = t.restart().await.reader().drain().await.unwrap();
    assert_eq!(
        (report.recorded, report.duplicates, report.settled),
        (0, 1, 1)
    );
    assert_eq!(t.mailbox_files(), [".Quarantine/new/1.crash"]);
    assert_eq!(t.count("inbound_message").await, 1);
}

/// The first start reads what is already there, in batches, including mail a client has
/// already seen (`cur/`).
#[tokio::test]
async fn a_full_mailbox_is_read_in_batches() {
    let t = spawn_app().await;
    for i in 0..250 {
        let raw = message(
            "someone@else.example",
            &format!("<m{i}@else.example>"),
            "hi",
            "",
            "x",
        );
        t.deliver(&format!("{:010}.m{i}", 1_764_000_000 + i), &raw);
    }
    let seen = message("someone@else.example", "<seen@else.example>", "hi", "", "x");
    std::fs::write(t.inbox().join("cur/1700000000.seen:2,S"), &seen).unwrap();

    let first = t.app.reader().step().await.unwrap();
    assert_eq!(first.read, 100, "a step reads one batch");
    let rest = t.app.reader().drain().await.unwrap();
    assert_eq!(first.recorded + rest.recorded, 251);
    assert_eq!(t.count("inbound_message").await, 251);
    assert_eq!(t.mailbox_files().len(), 251);
    assert!(
        t.mailbox_files()
            .iter()
            .all(|f| f.starts_with(".Quarantine/new/"))
    );
}

/// The rows a transaction keeps to write later (as the reader's slices do) are written before
/// its next statement, so it reads them; their ids never meet those of rows written at once
/// in between; and a transaction undone writes none of them.
#[tokio::test]
async fn rows_kept_to_write_later_are_read_by_their_transaction_and_take_ids_of_their_own() {
    let t = spawn_app().await;
    let now = chrono::Utc::now();
    let new = |key: &'static str| store::inbound::NewInbound {
        dedupe_key: key,
        message_id: Some(key),
        source: "test",
        from_addr: None,
        subject: None,
        sent_at: None,
        classification: Classification::Unrecognised,
        reason: "test",
        disposition: tandem::domain::Disposition::Attention,
        size_bytes: 1,
        content_hash: None,
        authentication: None,
    };
    let mut tx = store::begin_immediate(&t.app.pool).await.unwrap();
    tx.write_later(true).await.unwrap();
    let mut ids = Vec::new();
    for key in ["<a@x>", "<b@x>"] {
        let id = store::inbound::record_new(&mut tx, &new(key), now).await;
        ids.push((key, id.unwrap().unwrap()));
    }
    // Kept, not written yet: the next statement writes them first, so it finds them.
    let seen = store::inbound::seen(&mut tx, "<b@x>").await.unwrap();
    assert!(
        seen.is_some(),
        "a read in the transaction finds a row it kept"
    );
    // A row written at once, then kept ones again: each under an id of its own.
    let c = store::inbound::record(&mut tx, &new("<c@x>"), now).await;
    ids.push(("<c@x>", c.unwrap().expect("a new key")));
    for key in ["<d@x>", "<e@x>"] {
        let id = store::inbound::record_new(&mut tx, &new(key), now).await;
        ids.push((key, id.unwrap().unwrap()));
    }
    store::commit(tx).await.unwrap();
    let mut conn = t.app.pool.acquire().await.unwrap();
    let mut stored: Vec<(&str, i64)> = Vec::new();
    for row in store::inbound::list(&mut conn).await.unwrap() {
        let key = ids
            .iter()
            .find(|(k, _)| *k == row.dedupe_key)
            .map(|(k, _)| *k);
        stored.push((key.expect("only the rows written"), row.id));
    }
    stored.sort();
    ids.sort();
    assert_eq!(stored, ids, "every row under the id it was given");
    drop(conn);

    // Undone: what it kept is never written.
    let mut tx = store::begin_immediate(&t.app.pool).await.unwrap();
    tx.write_later(true).await.unwrap();
    store::inbound::record_new(&mut tx, &new("<f@x>"), now)
        .await
        .unwrap();
    store::rollback(tx).await.unwrap();
    assert_eq!(t.count("inbound_message").await, 5);
}

/// A reply is looked up by the Message-IDs and tokens it names while the reader's transaction
/// keeps rows to write later: a receipt kept is found by either (what is kept is written
/// first), a name that no row has finds nothing, and everything kept is written at the commit.
#[tokio::test]
async fn a_reply_is_looked_up_past_the_rows_kept_to_write_later() {
    let t = spawn_app().await;
    let now = chrono::Utc::now();
    let receipt = |n: &'static str, message_id: &'static str, token: &'static str| {
        store::outbox::NewOutbound {
            natural_key: n,
            message_id,
            kind: "receipt",
            engagement_id: None,
            recipient: "va@va.example",
            subject: "Your hours",
            token: Some(token),
            survey_id: None,
            raw: b"Subject: Your hours\r\n\r\nlogged\r\n",
            follows: &[],
        }
    };
    let mut tx = store::begin_immediate(&t.app.pool).await.unwrap();
    tx.write_later(true).await.unwrap();
    let kept = receipt("receipt:1", "<r1@agency.example>", "tok1");
    store::outbox::enqueue_new(&mut tx, &kept, now)
        .await
        .unwrap();
    let ids = |id: &str| vec![id.to_string()];
    let missing = store::outbox::find_sent(&mut tx, &ids("<none@x>"), &["nope".into()])
        .await
        .unwrap();
    assert!(missing.is_none(), "no row has that Message-ID or token");
    // Kept after a lookup that found nothing: found by its Message-ID, then by its token.
    let later = receipt("receipt:2", "<r2@agency.example>", "tok2");
    store::outbox::enqueue_new(&mut tx, &later, now)
        .await
        .unwrap();
    let by_id = store::outbox::find_sent(&mut tx, &ids("<r2@agency.example>"), &[])
        .await
        .unwrap();
    assert_eq!(by_id.map(|s| s.natural_key).as_deref(), Some("receipt:2"));
    let third = receipt("receipt:3", "<r3@agency.example>", "tok3");
    store::outbox::enqueue_new(&mut tx, &third, now)
        .await
        .unwrap();
    let by_token = store::outbox::find_sent(&mut tx, &ids("<none@x>"), &["tok3".into()])
        .await
        .unwrap();
    assert_eq!(
        by_token.map(|s| s.natural_key).as_deref(),
        Some("receipt:3")
    );
    let first = store::outbox::find_sent(&mut tx, &ids("<r1@agency.example>"), &[])
        .await
        .unwrap();
    assert_eq!(first.map(|s| s.natural_key).as_deref(), Some("receipt:1"));
    store::commit(tx).await.unwrap();
    assert_eq!(t.count("outbox").await, 3, "every row kept is written");
}

/// The reader's write transactions have a connection of their own on a SQLite file, so that
/// each of its statements is prepared once: `Pool::of_one` is one connection (a second
/// transaction waits for the first) to the same database; on PostgreSQL it is the pool itself.
#[tokio::test]
async fn the_readers_transactions_keep_to_one_connection_of_their_own() {
    let t = spawn_app().await;
    let one = t.app.pool.of_one();
    if t.app.pool.backend() == store::Backend::Postgres {
        assert_eq!(one.pool_use().2, t.app.pool.pool_use().2);
        return;
    }
    assert_eq!(one.pool_use().2, 1);
    let now = chrono::Utc::now();
    let mut tx = one.begin_immediate().await.unwrap();
    let tries = store::inbound::failed_attempt(&mut tx, "<one@x>", "first", now).await;
    assert_eq!(tries.unwrap(), 1);
    let second = tokio::time::timeout(std::time::Duration::from_millis(300), one.acquire()).await;
    assert!(second.is_err(), "a second connection was handed out");
    tx.commit().await.unwrap();
    let mut conn = t.app.pool.acquire().await.unwrap();
    let tries = store::inbound::failed_attempt(&mut conn, "<one@x>", "again", now).await;
    assert_eq!(
        tries.unwrap(),
        2,
        "the main pool sees what the one connection wrote"
    );
}
