//! `tandem db copy`: an agency built on SQLite through the binary (people, an engagement, hours
//! by mail through `run --once`, a signed agreement, a survey, a locked month) moves to
//! PostgreSQL and back, and every command reads the same from each; a target that is not empty,
//! or a source whose schema is not current, is refused and nothing is written; the copy's
//! sequences hand out new ids. Each test names its databases itself, so it runs alike whether
//! the run's apps are on SQLite or PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use tandem::store::{self, Location, Open};

use crate::helpers::{BINARY, TestApp, describe, spawn_app_with, with_database};
use crate::servers::Postgres;

/// A test app whose own database is a SQLite file in its folder, whatever the run's backend.
async fn app_on_sqlite() -> TestApp {
    spawn_app_with(|dir, text| with_database(&text, &sqlite_url(dir, "tandem.db"))).await
}

fn sqlite_url(dir: &Path, file: &str) -> String {
    format!("sqlite://{}/var/{file}", dir.display())
}

/// Runs the binary with `t`'s config on the database at `url`.
fn tandem_on(t: &TestApp, url: &str, args: &[&str]) -> Output {
    Command::new(BINARY)
        .arg("--config")
        .arg(&t.config_path)
        .args(args)
        .env("TANDEM_DATABASE__URL", url)
        .env("TANDEM_LOG", "warn")
        .output()
        .unwrap()
}

/// Runs the binary with `t`'s config on the database at `url`, and returns what it printed;
/// fails the test when it fails.
fn stdout_on(t: &TestApp, url: &str, args: &[&str]) -> String {
    let output = tandem_on(t, url, args);
    assert!(
        output.status.success(),
        "{args:?} on {url}\n{}",
        describe(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `tandem db copy --from FROM --to TO`, with no config at all.
fn db_copy(from: &str, to: &str) -> Output {
    Command::new(BINARY)
        .args(["db", "copy", "--from", from, "--to", to])
        .env("TANDEM_CONFIG", "/nonexistent/tandem.toml")
        .env("TANDEM_LOG", "warn")
        .output()
        .unwrap()
}

fn assert_copied(output: &Output) {
    assert!(output.status.success(), "{}", describe(output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("copied "), "{}", describe(output));
}

fn assert_refused(output: &Output, expected: &str) {
    assert!(!output.status.success(), "{}", describe(output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(expected),
        "expected '{expected}':\n{}",
        describe(output)
    );
}

/// Sam, Acme and their engagement, 40 days ago; Sam is trusted without authentication.
fn add_people(t: &TestApp, start: NaiveDate) {
    let start = start.to_string();
    for args in [
        &[
            "assistant",
            "add",
            "--name",
            "Sam Lee",
            "--email",
            "sam@va.example",
            "--email",
            "sam.lee@gmail.example",
            "--timezone",
            "Europe/Lisbon",
            "--locale",
            "en",
        ][..],
        &["assistant", "edit", "1", "--unauthenticated-ok"],
        &[
            "client",
            "add",
            "--name",
            "Acme GmbH",
            "--tag",
            "acme",
            "--locale",
            "de",
            "--contact",
            "Anna Berg <anna@acme.example> | Geschäftsführung | Mo-Do 9-13",
            "--contact",
            "Ben Roth <ben@acme.example>",
        ],
        &[
            "engagement",
            "add",
            "--assistant",
            "sam.lee@gmail.example",
            "--client",
            "acme",
            "--start",
            &start,
            "--trial-weeks",
            "6",
            "--rate",
            "45,50",
            "--budget",
            "20",
        ],
    ] {
        let output = t.tandem(args);
        assert!(output.status.success(), "{args:?}\n{}", describe(&output));
    }
}

/// The README's demo agency on `t`'s SQLite database, as the walk-through builds it: people
/// and an engagement by the CLI, hours by mail read by `run --once` (which answers them and
/// keeps the schedule), an agreement signed, a survey sent, a month locked, and the schedule
/// planned again. Returns the day the hours were logged for.
fn build_agency(t: &TestApp) -> NaiveDate {
    let now = Utc::now();
    let today = now.date_naive();
    add_people(t, today - Duration::days(40));
    let worked = today - Duration::days(2);
    let hours = format!(
        "From: Sam Lee <sam@va.example>\r\nTo: Example Agency <team@example.org>\r\n\
         Subject: Hours\r\nMessage-ID: <h1@va.example>\r\nDate: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\n{worked} 2.5h Invoices and \
         reminders\r\n{} 1:30 calendar cleanup\r\n\r\nSam\r\n",
        now.to_rfc2822(),
        worked - Duration::days(1),
    );
    t.deliver("1.hours", hours.as_bytes());
    for args in [
        &["run", "--once"][..],
        &[
            "agreement",
            "sign",
            "1",
            "nda",
            "--date",
            &worked.to_string(),
        ],
        &["survey", "send", "1"],
        &["hours", "lock", "--month", "2020-01"],
        // The scheduler plans again and stores each engagement's next wake-up.
        &["run", "--once"],
    ] {
        let output = t.tandem(args);
        // The trial's survey goes out on Fridays from 10:00 in the client's zone: from then
        // to the week's end the first `run --once` sent this week's, and one is sent a period.
        let sent_already = args == ["survey", "send", "1"]
            && String::from_utf8_lossy(&output.stderr).contains("went out already");
        assert!(
            output.status.success() || sent_already,
            "{args:?}\n{}",
            describe(&output)
        );
    }
    let surveys = t.tandem(&["survey", "list", "--json"]);
    let surveys: serde_json::Value = serde_json::from_slice(&surveys.stdout).unwrap();
    assert!(
        surveys.as_array().is_some_and(|s| !s.is_empty()),
        "no survey went out: {surveys}"
    );
    let hours = t.tandem(&["hours", "list", "--json", "--all"]);
    let hours: serde_json::Value = serde_json::from_slice(&hours.stdout).unwrap();
    assert_eq!(
        hours.as_array().map(Vec::len),
        Some(2),
        "the hours mail was not logged: {hours}"
    );
    worked
}

/// What the commands print that read the agency, in both languages of the digest.
fn readings(t: &TestApp, url: &str, worked: NaiveDate) -> Vec<(String, String)> {
    let week = worked.iso_week();
    let week = format!("{}-W{:02}", week.year(), week.week());
    let from = (worked - Duration::days(60)).to_string();
    let month = worked.format("%Y-%m").to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["digest", "--preview", "--week", &week],
        vec!["digest", "--preview", "--week", &week, "--format", "html"],
        vec!["hours", "list", "--all", "--from", &from],
        vec!["hours", "export", "--month", &month],
        vec!["engagement", "list"],
        vec!["engagement", "show", "1"],
        vec!["agreement", "list"],
        vec!["survey", "list"],
        vec!["outbox", "list"],
        vec!["assistant", "list", "--json"],
        vec!["client", "list", "--json"],
        vec!["agreement", "list", "--json"],
    ];
    commands
        .iter()
        .map(|args| (args.join(" "), stdout_on(t, url, args)))
        .collect()
}

fn assert_same_readings(expected: &[(String, String)], actual: &[(String, String)], what: &str) {
    for ((command, expected), (_, actual)) in expected.iter().zip(actual) {
        assert_eq!(
            to_micros(&without_generated(expected)),
            to_micros(&without_generated(actual)),
            "`{command}` differs on {what}"
        );
    }
}

/// The text with the digest's "Generated TIME for" / "Erstellt am TIME für" left without its
/// time: the wall clock's minute, which two previews a moment apart may not share.
fn without_generated(text: &str) -> String {
    let mut out = text.to_string();
    for (start, end) in [("Generated ", " for "), ("Erstellt am ", " für ")] {
        let mut from = 0;
        while let Some(at) = out[from..].find(start).map(|i| from + i + start.len()) {
            let Some(len) = out[at..].find(end) else {
                break;
            };
            out.replace_range(at..at + len, "TIME");
            from = at;
        }
    }
    out
}

/// `text` with every time's fraction of a second cut to microseconds, as PostgreSQL keeps
/// them (SQLite keeps the nanoseconds it was given), without trailing zeros, as a time is
/// printed with 3, 6 or 9 digits, as many as it needs: `09:46:09.025301338Z` is
/// `09:46:09.025301Z`, and `02:19:21.938000123Z` (read back from PostgreSQL as
/// `02:19:21.938Z`) is `02:19:21.938Z`.
fn to_micros(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dot) = rest.find('.') {
        let (head, tail) = rest.split_at(dot + 1);
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let is_time = head.len() >= 4 && head.as_bytes()[head.len() - 4] == b':';
        let ends = tail[digits..].starts_with(['Z', '+', '-']);
        if is_time && ends {
            out.push_str(tail[..digits.min(6)].trim_end_matches('0'));
        } else {
            out.push_str(&tail[..digits]);
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// A database of either backend, read directly.
async fn open(url: &str) -> store::Pool {
    store::connect(Location::url(url), 1, Open::ReadOnly)
        .await
        .unwrap()
}

/// Every engagement's id, wake-up (to the microsecond, as PostgreSQL keeps it) and count of
/// changed facts.
async fn wake_ups(url: &str) -> Vec<(i64, Option<i64>, i64)> {
    let pool = open(url).await;
    let rows: Vec<(i64, Option<DateTime<Utc>>, i64)> = store::on!(
        &mut *pool.acquire().await.unwrap(),
        |c| sqlx::query_as("SELECT id, wake_at, facts_changed FROM engagement ORDER BY id")
            .fetch_all(c)
            .await
    )
    .unwrap();
    pool.close().await;
    rows.into_iter()
        .map(|(id, wake_at, changed)| (id, wake_at.map(|w| w.timestamp_micros()), changed))
        .collect()
}

/// Each table's row count, and every stored message and document byte for byte.
async fn contents(url: &str) -> (Vec<(String, i64)>, Vec<(i64, Vec<u8>)>) {
    let pool = open(url).await;
    let mut conn = pool.acquire().await.unwrap();
    let mut counts = Vec::new();
    for table in store::copy::TABLES {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        let n: i64 = store::on!(&mut conn, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(c)
            .await)
        .unwrap();
        counts.push((table.name.to_string(), n));
    }
    let raw: Vec<(i64, Vec<u8>)> = store::on!(&mut conn, |c| sqlx::query_as(
        "SELECT outbox_id, raw FROM outbox_raw ORDER BY outbox_id"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    drop(conn);
    pool.close().await;
    (counts, raw)
}

/// The walk-through's agency moves from SQLite to PostgreSQL and back: every command reads
/// the same from each copy, the engagements' wake-ups are the source's, and messages are the
/// same bytes.
#[tokio::test]
async fn an_agency_moves_to_postgresql_and_back_unchanged() {
    let t = app_on_sqlite().await;
    let worked = build_agency(&t);
    let sqlite = sqlite_url(t.dir.path(), "tandem.db");
    let postgres = Postgres::shared().create_database();

    assert_copied(&db_copy(&sqlite, &postgres));
    let expected = readings(&t, &sqlite, worked);
    assert_same_readings(&expected, &readings(&t, &postgres, worked), "PostgreSQL");
    // The wake-up triggers, off while the rows went in, are on again.
    let name = postgres.rsplit('/').next().unwrap();
    let triggers = Postgres::shared().psql(
        name,
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE tgenabled <> 'O') FROM pg_trigger \
         WHERE NOT tgisinternal",
    );
    let (all, off) = triggers.trim().split_once('|').unwrap();
    assert!(
        all != "0" && off == "0",
        "triggers (all|not enabled): {triggers}"
    );
    let planned = wake_ups(&sqlite).await;
    assert!(
        planned.iter().all(|(_, wake_at, _)| wake_at.is_some()),
        "{planned:?}"
    );
    assert_eq!(wake_ups(&postgres).await, planned);
    let (counts, raw) = contents(&sqlite).await;
    assert!(
        counts.iter().filter(|(_, n)| *n > 0).count() >= 12,
        "{counts:?}"
    );
    assert_eq!(contents(&postgres).await, (counts.clone(), raw.clone()));

    let back = sqlite_url(t.dir.path(), "back.db");
    assert_copied(&db_copy(&postgres, &back));
    assert_same_readings(
        &expected,
        &readings(&t, &back, worked),
        "SQLite, copied back",
    );
    assert_eq!(wake_ups(&back).await, wake_ups(&sqlite).await);
    assert_eq!(contents(&back).await, (counts, raw));
}

/// A target with a row in any table is refused, with nothing written to it; so is a source
/// whose schema is not current, before the target is even created.
#[tokio::test]
async fn a_target_that_is_not_empty_or_a_stale_source_is_refused() {
    let t = app_on_sqlite().await;
    t.add_engagement_by_cli();
    let sqlite = sqlite_url(t.dir.path(), "tandem.db");
    let postgres = Postgres::shared().create_database();
    assert_copied(&db_copy(&sqlite, &postgres));

    // One more client on the source; a second copy into either target is refused.
    let more = t.tandem(&[
        "client",
        "add",
        "--name",
        "Globex",
        "--tag",
        "globex",
        "--contact",
        "Gus <gus@globex.example>",
    ]);
    assert!(more.status.success(), "{}", describe(&more));
    let before = contents(&postgres).await;
    assert_refused(
        &db_copy(&sqlite, &postgres),
        "the target database is not empty (table 'assistant' has rows)",
    );
    assert_eq!(contents(&postgres).await, before);

    // A new database with a row in only one table, and the last copied: still not empty.
    let other = sqlite_url(t.dir.path(), "other.db");
    let pool = store::connect(Location::url(&other), 1, Open::Create)
        .await
        .unwrap();
    store::on!(&mut *pool.acquire().await.unwrap(), |c| sqlx::query(
        "INSERT INTO outbox_holder (id, host, pid, started_at, heartbeat_at) \
         VALUES ('h', 'host', 1, $1, $1)"
    )
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    pool.close().await;
    let before = contents(&other).await;
    assert_refused(
        &db_copy(&sqlite, &other),
        "the target database is not empty (table 'outbox_holder' has rows)",
    );
    assert_eq!(contents(&other).await, before);

    // A source one migration behind: refused, and the target is not created.
    let stale = t.dir.path().join("var/stale.db");
    std::fs::copy(t.dir.path().join("var/tandem.db"), &stale).unwrap();
    let pool = store::connect(
        Location::url(&format!("sqlite://{}", stale.display())),
        1,
        Open::Create,
    )
    .await
    .unwrap();
    store::on!(&mut *pool.acquire().await.unwrap(), |c| sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    pool.close().await;
    let never = t.dir.path().join("var/never.db");
    assert_refused(
        &db_copy(
            &format!("sqlite://{}", stale.display()),
            &format!("sqlite://{}", never.display()),
        ),
        // Said by the source's open, which checks the schema (issue 16, item 7).
        "is 1 migration(s) behind this tandem: run `tandem init`",
    );
    assert!(!never.exists(), "a refused copy created its target");

    // Not a URL, or the same database twice.
    assert_refused(
        &db_copy("var/tandem.db", &postgres),
        "--from is not a database URL",
    );
    assert_refused(&db_copy(&sqlite, &sqlite), "name the same database");
}

/// After a copy, PostgreSQL's sequences are past the copied ids: new clients, assistants and
/// engagements (with their agreements and mail) are added on the copy.
#[tokio::test]
async fn the_copy_hands_out_new_ids() {
    let t = app_on_sqlite().await;
    t.add_engagement_by_cli();
    let sqlite = sqlite_url(t.dir.path(), "tandem.db");
    let postgres = Postgres::shared().create_database();
    assert_copied(&db_copy(&sqlite, &postgres));

    // On the wall clock, as the binary runs: an engagement that began over a year ago
    // is entered as running, without the welcome mails compared here.
    let start = crate::helpers::cli_start().to_string();
    for args in [
        &[
            "client",
            "add",
            "--name",
            "Globex",
            "--tag",
            "globex",
            "--contact",
            "Gus <gus@globex.example>",
        ][..],
        &[
            "assistant",
            "add",
            "--name",
            "Kim",
            "--email",
            "kim@va.example",
        ],
        &[
            "engagement",
            "add",
            "--assistant",
            "kim@va.example",
            "--client",
            "globex",
            "--start",
            &start,
        ],
    ] {
        stdout_on(&t, &postgres, args);
    }
    let clients: serde_json::Value =
        serde_json::from_str(&stdout_on(&t, &postgres, &["client", "list", "--json"])).unwrap();
    let ids: Vec<i64> = clients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    let shown: serde_json::Value = serde_json::from_str(&stdout_on(
        &t,
        &postgres,
        &["engagement", "show", "2", "--json"],
    ))
    .unwrap();
    assert_eq!(shown["client_tag"], "globex", "{shown}");
    // Its agreements and welcome mails woke it through the triggers, which are on.
    let woken = wake_ups(&postgres).await;
    assert!(woken[1].2 >= 5, "{woken:?}");
}

/// A mail the source's sent journal records and the source has not marked yet is sent in the
/// copy, on either backend; the source keeps the record.
#[tokio::test]
async fn a_send_the_sources_journal_holds_is_marked_in_the_copy() {
    let t = app_on_sqlite().await;
    t.add_people().await;
    t.start_engagement().await;
    let now = t.clock_now();
    let claimed = crate::outbox::claim_as_this_process(&t, 1).await;
    let journal = store::journal::Journal::beside(&t.app.pool).expect("a SQLite file");
    let sent_at = now - Duration::seconds(3);
    journal.record(&[&claimed[0]], sent_at).await.unwrap();

    let sqlite = sqlite_url(t.dir.path(), "tandem.db");
    let postgres = Postgres::shared().create_database();
    let back = sqlite_url(t.dir.path(), "copy.db");
    for target in [&postgres, &back] {
        assert_copied(&db_copy(&sqlite, target));
        let copy = open(target).await;
        let rows: Vec<(i64, String, Option<DateTime<Utc>>)> =
            tandem::store::on!(&mut *copy.acquire().await.unwrap(), |c| {
                sqlx::query_as("SELECT id, state, sent_at FROM outbox ORDER BY id")
                    .fetch_all(c)
                    .await
            })
            .unwrap();
        let marked: Vec<_> = rows
            .iter()
            .filter(|(_, state, _)| state == "sent")
            .collect();
        assert_eq!(marked.len(), 1, "{target}: {rows:?}");
        assert_eq!(
            (marked[0].0, marked[0].2),
            (claimed[0].id, Some(sent_at)),
            "{target}"
        );
    }
    let source = open(&sqlite).await;
    let state: String = tandem::store::on!(&mut *source.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT state FROM outbox WHERE id = $1")
            .bind(claimed[0].id)
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!(state, "sending", "the source is left as it was");
}
