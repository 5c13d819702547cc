//! `tandem quarantine list|show|release` and `tandem attention list|show|done` on the Maildir
//! (issue 16): what the reader filed for a person, seen and dealt with from the console; a
//! released message is read afresh by the reader, as what it is once its sender is known.

use crate::edits::{json, ok, refused};
use crate::helpers::{TestApp, message, spawn_app};

fn run_once(t: &TestApp) {
    ok(t, &["run", "--once"]);
}

#[tokio::test]
async fn quarantined_and_attention_mail_is_shown_released_and_done() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    t.deliver(
        "1.kim",
        &message(
            "Kim Park <kim@va.example>",
            "<k1@va.example>",
            "hours",
            "",
            "2026-11-25 2h inbox",
        ),
    );
    t.deliver(
        "2.anna",
        &message(
            "Anna Berg <anna@acme.example>",
            "<a1@acme.example>",
            "Call",
            "",
            "Can we move the call to Friday?",
        ),
    );
    run_once(&t);

    let quarantined = json(&t, &["quarantine", "list"]);
    let quarantined = quarantined.as_array().unwrap();
    assert_eq!(quarantined.len(), 1, "{quarantined:#?}");
    assert_eq!(quarantined[0]["from_addr"], "kim@va.example");
    let kim = quarantined[0]["id"].to_string();
    let attention = json(&t, &["attention", "list"]);
    let attention = attention.as_array().unwrap();
    assert_eq!(attention.len(), 1, "{attention:#?}");
    assert_eq!(attention[0]["from_addr"], "anna@acme.example");
    let anna = attention[0]["id"].to_string();

    let shown = ok(&t, &["quarantine", "show", &kim]);
    assert!(shown.contains("from:       kim@va.example"), "{shown}");
    assert!(shown.contains("2026-11-25 2h inbox"), "{shown}");
    let shown = json(&t, &["attention", "show", &anna]);
    assert_eq!(shown["in_folder"], true);
    assert!(
        shown["text"].as_str().unwrap().contains("move the call"),
        "{shown:#}"
    );
    // The digest lists both for a person, until they are dealt with (below).
    let digest = ok(&t, &["digest", "--preview"]);
    assert!(
        digest.contains("kim@va.example") && digest.contains(": Call\n"),
        "{digest}"
    );
    let listed = ok(&t, &["quarantine", "list"]);
    assert!(listed.contains("kim@va.example"), "{listed}");

    // Wrong ids are refused, and nothing moves.
    let files = t.mailbox_files();
    refused(
        &t,
        &["quarantine", "release", &anna],
        &format!("message {anna} is not in quarantine: it was filed as attention"),
    );
    refused(
        &t,
        &["attention", "done", &kim],
        &format!("message {kim} is not in attention: it was filed as quarantine"),
    );
    refused(&t, &["quarantine", "show", "99"], "there is no message 99");
    refused(&t, &["attention", "done", "99"], "there is no message 99");
    assert_eq!(files, t.mailbox_files());

    // Kim becomes an assistant of Acme; her message, released, is read as her hours.
    ok(
        &t,
        &[
            "assistant",
            "add",
            "--name",
            "Kim Park",
            "--email",
            "kim@va.example",
        ],
    );
    let start = crate::helpers::cli_start().to_string();
    ok(
        &t,
        &[
            "engagement",
            "add",
            "--assistant",
            "kim@va.example",
            "--client",
            "acme",
            "--start",
            &start,
        ],
    );
    let out = ok(&t, &["quarantine", "release", &kim]);
    assert!(out.contains("released"), "{out}");
    assert!(
        t.mailbox_files().contains(&"new/1.kim".to_string()),
        "{:?}",
        t.mailbox_files()
    );
    assert!(
        json(&t, &["quarantine", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = json(&t, &["quarantine", "list", "--all"]);
    assert_eq!(all[0]["handled"], "released");
    refused(
        &t,
        &["quarantine", "release", &kim],
        &format!("message {kim} was released already"),
    );

    run_once(&t);
    let hours = json(&t, &["hours", "list"]);
    assert!(
        hours
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["assistant"] == "Kim Park" && h["minutes"] == 120),
        "{hours:#}"
    );
    assert!(
        t.mailbox_files()
            .iter()
            .any(|f| f.starts_with(".Processed/cur/1.kim")),
        "{:?}",
        t.mailbox_files()
    );
    // The quarantine stays on record beside the message's new row.
    assert_eq!(t.count("inbound_message").await, 3);

    let out = ok(&t, &["attention", "done", &anna]);
    assert!(out.contains("moved to the processed folder"), "{out}");
    assert!(
        json(&t, &["attention", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        t.mailbox_files()
            .iter()
            .any(|f| f.starts_with(".Processed/cur/2.anna")),
        "{:?}",
        t.mailbox_files()
    );
    let digest = ok(&t, &["digest", "--preview"]);
    assert!(
        !digest.contains("kim@va.example") && !digest.contains(": Call\n"),
        "{digest}"
    );
    let shown = json(&t, &["attention", "show", &anna]);
    assert_eq!(shown["handled"], "done");
    assert_eq!(shown["in_folder"], true);
    refused(
        &t,
        &["attention", "done", &anna],
        &format!("message {anna} was done already"),
    );
}

#[tokio::test]
async fn a_message_a_person_moved_away_is_not_released() {
    let t = spawn_app().await;
    t.deliver(
        "1.stranger",
        &message(
            "x@stranger.example",
            "<s1@stranger.example>",
            "hi",
            "",
            "hello",
        ),
    );
    run_once(&t);
    let id = json(&t, &["quarantine", "list"])[0]["id"].to_string();
    for f in t.mailbox_files() {
        std::fs::remove_file(t.inbox().join(f)).unwrap();
    }
    refused(
        &t,
        &["quarantine", "release", &id],
        "is no longer in the quarantine folder",
    );
    assert_eq!(
        json(&t, &["quarantine", "list"]).as_array().unwrap().len(),
        1
    );
    let shown = ok(&t, &["quarantine", "show", &id]);
    assert!(shown.contains("no longer in its folder"), "{shown}");
}
