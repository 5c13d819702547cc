//! The operator's console, what issue 16 found missing, through the binary: `assistant show`
//! and `client show`; editing assistants, clients, contacts and engagements; pausing,
//! resuming, activating and ending an engagement (with its closing mail); undoing one's own
//! mistakes (`hours restore`, `agreement reset`). Every bad edit is refused with the reason
//! and changes nothing.

use std::process::Output;

use crate::helpers::{TestApp, describe, spawn_app};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(t: &TestApp, args: &[&str]) -> String {
    let output = t.tandem(args);
    assert!(output.status.success(), "{args:?}\n{}", describe(&output));
    stdout(&output)
}

/// Runs a command that must succeed with `--json`; returns what it printed.
pub fn json(t: &TestApp, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = ok(t, &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
}

/// Everything an edit could change, as the console lists it.
pub fn snapshot(t: &TestApp) -> String {
    [
        &["assistant", "list", "--json"][..],
        &["client", "list", "--json"],
        &["engagement", "list", "--json"],
        &["agreement", "list", "--json"],
        &["hours", "list", "--json"],
        &["outbox", "list", "--json"],
    ]
    .iter()
    .map(|args| ok(t, args))
    .collect::<Vec<_>>()
    .join("\n")
}

/// Runs a command that must fail saying `expected`, and change nothing.
pub fn refused(t: &TestApp, args: &[&str], expected: &str) {
    let before = snapshot(t);
    let output = t.tandem(args);
    assert!(
        !output.status.success(),
        "{args:?} succeeded:\n{}",
        describe(&output)
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains(expected),
        "expected '{expected}' for {args:?}:\n{}",
        describe(&output)
    );
    assert!(
        !err.contains("panicked"),
        "{args:?} panicked:\n{}",
        describe(&output)
    );
    assert_eq!(before, snapshot(t), "{args:?} changed something");
}

#[tokio::test]
async fn assistants_and_clients_are_shown_by_id_address_or_tag() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();

    for who in ["1", "sam@va.example", "SAM@va.example"] {
        let shown = ok(&t, &["assistant", "show", who]);
        assert!(shown.contains("assistant 1: Sam Lee"), "{shown}");
        assert!(shown.contains("sam@va.example"), "{shown}");
        assert!(shown.contains("acme"), "{shown}");
    }
    let shown = json(&t, &["assistant", "show", "sam@va.example"]);
    assert_eq!(shown["id"], 1);
    assert_eq!(shown["name"], "Sam Lee");
    assert_eq!(shown["emails"][0], "sam@va.example");
    assert_eq!(shown["engagements"][0]["client_tag"], "acme");

    for which in ["1", "acme", "#acme"] {
        let shown = ok(&t, &["client", "show", which]);
        assert!(shown.contains("client 1: Acme GmbH ('acme')"), "{shown}");
        assert!(shown.contains("anna@acme.example"), "{shown}");
        assert!(shown.contains("Sam Lee"), "{shown}");
    }
    let shown = json(&t, &["client", "show", "acme"]);
    assert_eq!(shown["tag"], "acme");
    assert_eq!(shown["contacts"][0]["email"], "anna@acme.example");
    assert_eq!(shown["engagements"][0]["assistant_name"], "Sam Lee");

    refused(&t, &["assistant", "show", "9"], "there is no assistant 9");
    refused(
        &t,
        &["assistant", "show", "kim@va.example"],
        "no assistant has the address kim@va.example",
    );
    refused(
        &t,
        &["assistant", "show", "kim"],
        "'kim' is neither an assistant's id nor an email address",
    );
    refused(&t, &["client", "show", "9"], "there is no client 9");
    refused(
        &t,
        &["client", "show", "globex"],
        "unknown client tag 'globex'",
    );
    refused(&t, &["client", "show", "Acme GmbH"], "is not a client tag");
}

#[tokio::test]
async fn an_assistant_is_edited_as_added_and_a_bad_edit_changes_nothing() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
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

    let out = ok(
        &t,
        &[
            "assistant",
            "edit",
            "sam@va.example",
            "--name",
            "Sam Lee-Park",
            "--timezone",
            "Europe/Lisbon",
            "--locale",
            "de",
            "--add-email",
            "sam.lee@gmail.example",
        ],
    );
    assert!(out.contains("assistant 1: Sam Lee-Park"), "{out}");
    let shown = json(&t, &["assistant", "show", "1"]);
    assert_eq!(shown["name"], "Sam Lee-Park");
    assert_eq!(shown["timezone"], "Europe/Lisbon");
    assert_eq!(shown["locale"], "de");
    assert_eq!(
        shown["emails"],
        serde_json::json!(["sam@va.example", "sam.lee@gmail.example"])
    );
    // The new address is the assistant's everywhere: shown by it.
    let shown = json(&t, &["assistant", "show", "sam.lee@gmail.example"]);
    assert_eq!(shown["id"], 1);

    // Swapping the first address for another in one edit.
    ok(
        &t,
        &[
            "assistant",
            "edit",
            "1",
            "--add-email",
            "sam@new.example",
            "--remove-email",
            "sam@va.example",
        ],
    );
    let shown = json(&t, &["assistant", "show", "1"]);
    assert_eq!(
        shown["emails"],
        serde_json::json!(["sam.lee@gmail.example", "sam@new.example"])
    );

    let cases: &[(&[&str], &str)] = &[
        (&["assistant", "edit", "1"], "nothing to change"),
        (
            &["assistant", "edit", "1", "--name", "  "],
            "the name must not be empty",
        ),
        (
            &["assistant", "edit", "1", "--timezone", "Europe/Atlantis"],
            "unknown time zone 'Europe/Atlantis'",
        ),
        (
            &["assistant", "edit", "1", "--locale", "fr"],
            "unknown locale 'fr'",
        ),
        (
            &["assistant", "edit", "1", "--add-email", "kim.va.example"],
            "'kim.va.example' is not an email address",
        ),
        (
            &["assistant", "edit", "1", "--add-email", "kim@va.example"],
            "the address kim@va.example already belongs to assistant 2 (Kim Park)",
        ),
        (
            &["assistant", "edit", "1", "--add-email", "anna@acme.example"],
            "already belongs to Anna Berg, a contact of client 'acme'",
        ),
        (
            &["assistant", "edit", "1", "--add-email", "sam@new.example"],
            "the address sam@new.example already belongs to assistant 1",
        ),
        (
            &["assistant", "edit", "1", "--remove-email", "kim@va.example"],
            "kim@va.example is not an address of assistant 1",
        ),
        (
            &["assistant", "edit", "2", "--remove-email", "kim@va.example"],
            "kim@va.example is the only address of assistant 2: add another first",
        ),
        (
            // The name would change, the address cannot: nothing changes.
            &[
                "assistant",
                "edit",
                "1",
                "--name",
                "Samantha",
                "--add-email",
                "kim@va.example",
            ],
            "already belongs to assistant 2",
        ),
        (
            &["assistant", "edit", "9", "--name", "Nobody"],
            "there is no assistant 9",
        ),
    ];
    for (args, expected) in cases {
        refused(&t, args, expected);
    }
}

#[tokio::test]
async fn a_client_and_its_contacts_are_edited_as_added_and_a_bad_edit_changes_nothing() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    ok(
        &t,
        &[
            "client",
            "add",
            "--name",
            "Globex",
            "--tag",
            "globex",
            "--contact",
            "Gus Grey <gus@globex.example>",
        ],
    );

    ok(
        &t,
        &[
            "client",
            "edit",
            "acme",
            "--name",
            "Acme AG",
            "--timezone",
            "Europe/Vienna",
            "--locale",
            "en",
            "--add-contact",
            "Ben Roth <ben@acme.example> | billing | Fri 9-12",
            "--update-contact",
            "Anna Berg-Weiss <anna@acme.example> | CEO | Mon-Thu 9-13",
        ],
    );
    let shown = json(&t, &["client", "show", "acme"]);
    assert_eq!(shown["name"], "Acme AG");
    assert_eq!(shown["timezone"], "Europe/Vienna");
    assert_eq!(shown["locale"], "en");
    let contacts = &shown["contacts"];
    assert_eq!(contacts[0]["name"], "Anna Berg-Weiss");
    assert_eq!(contacts[0]["role"], "CEO");
    assert_eq!(contacts[0]["reachability"], "Mon-Thu 9-13");
    assert_eq!(contacts[1]["email"], "ben@acme.example");
    assert_eq!(contacts[1]["role"], "billing");

    // A role cleared by leaving it out; a contact removed.
    ok(
        &t,
        &[
            "client",
            "edit",
            "1",
            "--update-contact",
            "Anna Berg <anna@acme.example>",
            "--remove-contact",
            "ben@acme.example",
        ],
    );
    let shown = json(&t, &["client", "show", "1"]);
    assert_eq!(shown["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(shown["contacts"][0]["role"], serde_json::Value::Null);

    let cases: &[(&[&str], &str)] = &[
        (&["client", "edit", "acme"], "nothing to change"),
        (
            &["client", "edit", "acme", "--name", ""],
            "the name must not be empty",
        ),
        (
            &["client", "edit", "acme", "--timezone", "Mars/Olympus"],
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            &["client", "edit", "acme", "--locale", "fr"],
            "unknown locale 'fr'",
        ),
        (
            &[
                "client",
                "edit",
                "acme",
                "--add-contact",
                "ben@acme.example",
            ],
            "has no name",
        ),
        (
            &[
                "client",
                "edit",
                "acme",
                "--add-contact",
                "Gus Grey <gus@globex.example>",
            ],
            "already belongs to Gus Grey, a contact of client 'globex'",
        ),
        (
            &[
                "client",
                "edit",
                "acme",
                "--add-contact",
                "Sam <sam@va.example>",
            ],
            "belongs to assistant 1 (Sam Lee) and cannot be a client contact",
        ),
        (
            &[
                "client",
                "edit",
                "acme",
                "--add-contact",
                "Anna <anna@acme.example>",
            ],
            "the contact address anna@acme.example is given twice",
        ),
        (
            &[
                "client",
                "edit",
                "acme",
                "--update-contact",
                "Gus <gus@globex.example> | CEO",
            ],
            "gus@globex.example is not a contact of client 'acme'",
        ),
        (
            &[
                "client",
                "edit",
                "acme",
                "--remove-contact",
                "anna@acme.example",
            ],
            "anna@acme.example is the only contact of client 'acme': add another first",
        ),
        (
            &[
                "client",
                "edit",
                "acme",
                "--name",
                "Acme Renamed",
                "--remove-contact",
                "gus@globex.example",
            ],
            "gus@globex.example is not a contact of client 'acme'",
        ),
        (
            &["client", "edit", "initech", "--name", "Initech"],
            "unknown client tag 'initech'",
        ),
        (
            &["client", "edit", "7", "--name", "Initech"],
            "there is no client 7",
        ),
    ];
    for (args, expected) in cases {
        refused(&t, args, expected);
    }
}

/// Today on the wall clock, as the binary sees it, in the client's zone (Acme's is the
/// agency's, Europe/Berlin).
fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
}

#[tokio::test]
async fn an_engagement_is_edited_paused_resumed_and_activated() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    let start = crate::helpers::cli_start();

    ok(
        &t,
        &[
            "engagement",
            "edit",
            "1",
            "--rate",
            "52,50",
            "--budget",
            "12.5",
        ],
    );
    let shown = json(&t, &["engagement", "show", "1"]);
    assert_eq!(shown["hourly_rate_cents"], 5250);
    assert_eq!(shown["budget_minutes"], 750);
    ok(&t, &["engagement", "edit", "1", "--rate", "none"]);
    let shown = json(&t, &["engagement", "show", "1"]);
    assert_eq!(shown["hourly_rate_cents"], serde_json::Value::Null);
    assert_eq!(shown["budget_minutes"], 750);

    let before_start = (start - chrono::Days::new(1)).to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["engagement", "edit", "1"], "nothing to change"),
        (
            &["engagement", "edit", "1", "--rate=-45"],
            "--rate '-45' is negative",
        ),
        (
            &["engagement", "edit", "1", "--budget", "0"],
            "the monthly budget must be more than zero hours",
        ),
        (
            &["engagement", "edit", "1", "--trial-end", "soon"],
            "--trial-end 'soon' is not a date",
        ),
        (
            &["engagement", "edit", "1", "--trial-end", &before_start],
            "is before the start",
        ),
        (
            &["engagement", "edit", "9", "--rate", "40"],
            "there is no engagement 9",
        ),
        (
            &["engagement", "resume", "1"],
            "engagement 1 is not paused (it is onboarding)",
        ),
        (&["engagement", "pause", "9"], "there is no engagement 9"),
    ];
    for (args, expected) in cases {
        refused(&t, args, expected);
    }

    // Paused, the trial moved to next week while paused, resumed: in its trial again.
    ok(&t, &["engagement", "pause", "1"]);
    assert_eq!(json(&t, &["engagement", "show", "1"])["status"], "paused");
    refused(
        &t,
        &["engagement", "pause", "1"],
        "engagement 1 is paused already",
    );
    let next_week = (today() + chrono::Days::new(7)).to_string();
    ok(&t, &["engagement", "edit", "1", "--trial-end", &next_week]);
    let out = ok(&t, &["engagement", "resume", "1"]);
    assert!(out.contains("resumed: trial"), "{out}");
    assert_eq!(json(&t, &["engagement", "show", "1"])["status"], "trial");

    // Paused again with its trial over: resumed active.
    let yesterday = (today() - chrono::Days::new(1)).to_string();
    ok(&t, &["engagement", "edit", "1", "--trial-end", &yesterday]);
    ok(&t, &["engagement", "pause", "1"]);
    let out = ok(&t, &["engagement", "resume", "1"]);
    assert!(out.contains("resumed: active"), "{out}");
    refused(
        &t,
        &["engagement", "activate", "1"],
        "engagement 1 is active already",
    );
    refused(
        &t,
        &["engagement", "edit", "1", "--trial-end", &next_week],
        "engagement 1 is active: its trial is over",
    );
}

#[tokio::test]
async fn activate_ends_a_trial_at_once() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    ok(&t, &["engagement", "activate", "1"]);
    assert_eq!(json(&t, &["engagement", "show", "1"])["status"], "active");
}

#[tokio::test]
async fn an_engagement_ends_on_its_last_day_with_a_closing_mail() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    let start = crate::helpers::cli_start();
    let tomorrow = (today() + chrono::Days::new(1)).to_string();
    let before_start = (start - chrono::Days::new(1)).to_string();
    refused(
        &t,
        &["engagement", "end", "1", "--on", &tomorrow],
        "is after today",
    );
    refused(
        &t,
        &["engagement", "end", "1", "--on", &before_start],
        "is before the engagement's start",
    );
    refused(
        &t,
        &["engagement", "end", "1", "--on", "1.12."],
        "is not a date",
    );
    refused(&t, &["engagement", "end", "9"], "there is no engagement 9");

    let last_day = (start + chrono::Days::new(10)).to_string();
    let out = ok(&t, &["engagement", "end", "1", "--on", &last_day]);
    assert!(
        out.contains(&format!(
            "engagement 1 ended, its last day {last_day}; 2 closing mail(s) queued"
        )),
        "{out}"
    );
    let shown = json(&t, &["engagement", "show", "1"]);
    assert_eq!(shown["status"], "ended");
    let text = ok(&t, &["engagement", "show", "1"]);
    assert!(text.contains(&format!("ended:      {last_day}")), "{text}");

    // One to the contact (Acme writes German, the agency's default), one to the assistant
    // (English), each naming the last day.
    let outbox = json(&t, &["outbox", "list"]);
    let closing: Vec<&serde_json::Value> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "closing")
        .collect();
    assert_eq!(closing.len(), 2, "{outbox:#}");
    let subject_to = |address: &str| {
        closing
            .iter()
            .find(|m| m["recipient"].as_str().unwrap().contains(address))
            .map(|m| m["subject"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no closing mail to {address}: {outbox:#}"))
    };
    assert_eq!(
        subject_to("anna@acme.example"),
        "Die Zusammenarbeit mit Sam Lee endet"
    );
    assert_eq!(
        subject_to("sam@va.example"),
        "Your engagement with Acme GmbH ends"
    );
    // Delivered, each text naming the last day as the reader writes dates.
    let bodies: Vec<String> = t
        .sent_files()
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
            parsed.body_text(0).unwrap().into_owned()
        })
        .collect();
    let last = start + chrono::Days::new(10);
    let en = tandem::format::format_date(last, tandem::domain::Locale::En);
    let de = tandem::format::format_date(last, tandem::domain::Locale::De);
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("Hallo Anna Berg") && b.contains(&de)),
        "{bodies:#?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("Hi Sam Lee") && b.contains(&en)),
        "{bodies:#?}"
    );

    refused(
        &t,
        &["engagement", "end", "1"],
        "engagement 1 has ended already",
    );
    refused(
        &t,
        &["engagement", "edit", "1", "--rate", "40"],
        "engagement 1 has ended",
    );
    refused(&t, &["engagement", "pause", "1"], "engagement 1 has ended");
}

#[tokio::test]
async fn the_closing_mail_can_be_turned_off() {
    let t = crate::helpers::spawn_app_with(|_, text| {
        text.replace("closing_mail = true", "closing_mail = false")
    })
    .await;
    t.add_engagement_by_cli();
    let out = ok(&t, &["engagement", "end", "1"]);
    assert!(out.contains("0 closing mail(s) queued"), "{out}");
    let outbox = json(&t, &["outbox", "list"]);
    assert!(
        outbox
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] != "closing"),
        "{outbox:#}"
    );
}

#[tokio::test]
async fn an_agreement_signed_by_mistake_is_reset_to_pending() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    let status = |t: &TestApp, kind: &str| {
        let list = json(t, &["agreement", "list", "--engagement", "1"]);
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == kind)
            .map(|a| (a["status"].clone(), a["signed_on"].clone()))
            .unwrap()
    };
    ok(&t, &["agreement", "sign", "1", "nda"]);
    ok(&t, &["agreement", "waive", "1", "dpa"]);
    assert_eq!(status(&t, "nda").0, "signed");

    let out = ok(&t, &["agreement", "reset", "1", "nda"]);
    assert!(
        out.contains("the 'nda' agreement of engagement 1 is pending again"),
        "{out}"
    );
    assert_eq!(
        status(&t, "nda"),
        ("pending".into(), serde_json::Value::Null)
    );
    ok(&t, &["agreement", "reset", "1", "dpa"]);
    assert_eq!(status(&t, "dpa").0, "pending");

    refused(
        &t,
        &["agreement", "reset", "1", "nda"],
        "the 'nda' agreement of engagement 1 is pending already",
    );
    refused(
        &t,
        &["agreement", "reset", "1", "lease"],
        "engagement 1 has no agreement 'lease'",
    );
    refused(
        &t,
        &["agreement", "reset", "9", "nda"],
        "there is no engagement 9",
    );
    ok(&t, &["agreement", "sign", "1", "nda"]);
    ok(&t, &["engagement", "end", "1"]);
    refused(
        &t,
        &["agreement", "reset", "1", "nda"],
        "engagement 1 has ended; its agreements are a record",
    );
}

#[tokio::test]
async fn an_engagement_yet_to_start_is_called_off_today() {
    let t = spawn_app().await;
    ok(
        &t,
        &[
            "assistant",
            "add",
            "--name",
            "Sam Lee",
            "--email",
            "sam@va.example",
            "--locale",
            "en",
        ],
    );
    ok(
        &t,
        &[
            "client",
            "add",
            "--name",
            "Acme GmbH",
            "--tag",
            "acme",
            "--contact",
            "Anna Berg <anna@acme.example>",
        ],
    );
    let start = (today() + chrono::Days::new(30)).to_string();
    ok(
        &t,
        &[
            "engagement",
            "add",
            "--assistant",
            "sam@va.example",
            "--client",
            "acme",
            "--start",
            &start,
        ],
    );
    refused(
        &t,
        &["engagement", "end", "1", "--on", &start],
        "is after today",
    );
    let yesterday = (today() - chrono::Days::new(1)).to_string();
    refused(
        &t,
        &["engagement", "end", "1", "--on", &yesterday],
        "it can only be called off today (leave out --on)",
    );
    let out = ok(&t, &["engagement", "end", "1"]);
    assert!(out.contains("2 closing mail(s) queued"), "{out}");
    let bodies: Vec<String> = t
        .sent_files()
        .iter()
        .filter_map(|p| {
            let raw = std::fs::read(p).unwrap();
            let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
            parsed
                .subject()
                .is_some_and(|s| s.contains("ends") || s.contains("endet"))
                .then(|| parsed.body_text(0).unwrap().into_owned())
        })
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    assert!(
        bodies.iter().any(|b| b.contains("will not take place")),
        "{bodies:#?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("findet nicht statt")),
        "{bodies:#?}"
    );
}
