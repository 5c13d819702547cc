//! Mail that is hostile, huge or broken, and mail whose handling fails: none of it may stop,
//! slow or kill the reader, lose a message or do one twice.

use tandem::store;
use tandem::tasks::reader::Report;

use crate::helpers::{TestApp, message, spawn_app, spawn_app_with};

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
    t.start_engagement().await;
    // Every time log fails to store, on purpose.
    sqlx::query(
        "CREATE TRIGGER broken BEFORE INSERT ON time_entry \
         BEGIN SELECT RAISE(ABORT, 'broken on purpose'); END",
    )
    .execute(&t.app.pool)
    .await
    .unwrap();
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

#[tokio::test]
async fn a_message_over_the_size_limit_is_recorded_from_its_header_and_quarantined() {
    let t =
        spawn_app_with(|_, text| text.replace("message_bytes = 26214400", "message_bytes = 4096"))
            .await;
    t.add_people().await;
    t.start_engagement().await;
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
