//! Dates that cannot be right (issue 16, item 4), refused by the binary with the reason and
//! changing nothing: an agreement signed in the future, an engagement starting decades away;
//! and an engagement running for years, entered late.
//! The binary runs on the wall clock, so the dates here are far from any day it may run on,
//! or counted from it.

use chrono::{Duration, Utc};

use crate::helpers::{describe, spawn_app};

/// The command failed, said `expected` on stderr and nothing on stdout.
fn assert_refused(output: &std::process::Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains(expected) && output.stdout.is_empty(),
        "expected a refusal saying {expected:?}\n{}",
        describe(output)
    );
}

#[tokio::test]
async fn an_agreement_is_not_signed_in_the_future() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    // Two days ahead of UTC is ahead in the agency's zone too.
    let ahead = (Utc::now() + Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    for date in [ahead.as_str(), "2999-01-04"] {
        let signed = t.tandem(&["agreement", "sign", "1", "nda", "--date", date]);
        assert_refused(&signed, &format!("--date {date} is in the future"));
    }
    assert_eq!(t.count("agreement WHERE status = 'signed'").await, 0);

    let signed = t.tandem(&["agreement", "sign", "1", "nda", "--date", "2026-11-20"]);
    assert!(signed.status.success(), "{}", describe(&signed));
    let listed = t.tandem(&["agreement", "list", "--engagement", "1", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let nda = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "nda")
        .unwrap();
    assert_eq!(
        (&nda["status"], &nda["signed_on"]),
        (&"signed".into(), &"2026-11-20".into())
    );
}

#[tokio::test]
async fn an_engagement_starts_within_ten_years_back_or_a_year_ahead() {
    let t = spawn_app().await;
    t.add_people().await;
    let add = |start: &str| {
        t.tandem(&[
            "engagement",
            "add",
            "--assistant",
            "sam@va.example",
            "--client",
            "acme",
            "--start",
            start,
        ])
    };
    assert_refused(
        &add("1999-01-04"),
        "the start 1999-01-04 is more than ten years ago (today is ",
    );
    assert_refused(
        &add("2999-01-04"),
        "the start 2999-01-04 is more than a year ahead (today is ",
    );
    // A trial that ends before it starts was refused already, and still is.
    let output = t.tandem(&[
        "engagement",
        "add",
        "--assistant",
        "sam@va.example",
        "--client",
        "acme",
        "--start",
        "1999-01-04",
        "--trial-end",
        "1998-12-31",
    ]);
    assert_refused(
        &output,
        "the trial end 1998-12-31 is before the start 1999-01-04",
    );
    assert_eq!(t.count("engagement").await, 0);
    assert_eq!(t.count("agreement").await, 0);
    assert_eq!(t.count("outbox").await, 0);
    assert!(t.sent_files().is_empty());

    // Entered late, within the year: accepted.
    let late = (Utc::now() - Duration::days(300))
        .format("%Y-%m-%d")
        .to_string();
    let added = add(&late);
    assert!(added.status.success(), "{}", describe(&added));
    assert_eq!(t.count("engagement").await, 1);
}

#[tokio::test]
async fn an_engagement_running_for_years_is_entered_active_without_trial_or_welcome() {
    let t = spawn_app().await;
    t.add_people().await;
    let day = |days_ago: i64| {
        (Utc::now() - Duration::days(days_ago))
            .format("%Y-%m-%d")
            .to_string()
    };
    let since = day(700);
    let add = |start: &str, flags: &[&str]| {
        let mut args = vec![
            "engagement",
            "add",
            "--assistant",
            "sam@va.example",
            "--client",
            "acme",
            "--start",
            start,
        ];
        args.extend(flags);
        t.tandem(&args)
    };
    // Running since tomorrow cannot be.
    assert_refused(&add(&day(-1), &["--running"]), "cannot start after today (");
    // Begun more than a year ago: running whether or not --running says so.
    let added = add(&since, &[]);
    assert!(added.status.success(), "{}", describe(&added));
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        stdout.contains(&format!(
            "running since {since} (active, no trial, no welcome mails)"
        )),
        "{stdout}"
    );
    assert_eq!(
        t.scalar("SELECT count(*) FROM engagement WHERE status = 'active'")
            .await,
        1
    );
    assert_eq!(t.count("outbox").await, 0);

    // Hours from its first weeks are logged, and a scheduler pass plans no trial review.
    let first = (Utc::now() - Duration::days(699)).format("%d.%m.%Y");
    t.deliver(
        "hours.eml",
        &crate::helpers::message(
            "Sam Lee <sam@va.example>",
            "<hours-1@va.example>",
            "Stunden",
            "",
            &format!("{first} 2h Ablage"),
        ),
    );
    let run = t.tandem(&["run", "--once"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        t.scalar("SELECT count(*) FROM time_entry WHERE minutes = 120")
            .await,
        1
    );
    assert_eq!(
        t.scalar("SELECT count(*) FROM outbox WHERE kind LIKE 'trial%' OR kind LIKE 'welcome%'")
            .await,
        0
    );
}
