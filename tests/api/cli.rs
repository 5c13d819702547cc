use std::process::Command;

use crate::helpers::{BINARY, config_text, describe, message, spawn_app, with_database};
use crate::servers::{Postgres, SECRET_PASSWORD};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The command failed, and said `expected` on stderr.
fn assert_refused(output: &std::process::Output, expected: &str, what: &str) {
    assert!(
        !output.status.success(),
        "{what} succeeded:\n{}",
        describe(output)
    );
    assert!(
        stderr(output).contains(expected),
        "expected '{expected}' for {what}:\n{}",
        describe(output)
    );
}

/// Each broken config is refused with its key named, and nothing is created.
#[test]
fn invalid_config_is_refused_naming_the_key_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = config_text(dir.path());
    let cases = [
        (
            good.replace(
                "timezone = \"Europe/Berlin\"",
                "timezone = \"Europe/Berln\"",
            ),
            "agency.timezone",
        ),
        (
            good.replace(
                "operator_email = \"operator@example.org\"",
                "operator_email = \"operator\"",
            ),
            "agency.operator_email",
        ),
        (
            good.replace("[database]", "[database]\nurl_typo = 1"),
            "database",
        ),
        (
            good.replace("batch_size = 100", "batch_size = -5"),
            "inbound.batch_size",
        ),
        (
            good.replace("poll_interval = \"5s\"", "poll_interval = \"often\""),
            "inbound.poll_interval",
        ),
        ("[agency\nname = 1".to_string(), "could not be read"),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, &text).unwrap();
        for args in [&["init"][..], &["assistant", "list"], &["check"]] {
            let output = Command::new(BINARY)
                .arg("--config")
                .arg(&path)
                .args(args)
                .output()
                .unwrap();
            assert_refused(&output, expected, &format!("{args:?} on a broken config"));
        }
        assert!(
            !dir.path().join("var").exists(),
            "a broken config created var/"
        );
    }
    let missing = Command::new(BINARY)
        .args(["--config", "/nonexistent/tandem.toml", "init"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("config file '/nonexistent/tandem.toml' does not exist"));
}

#[test]
fn environment_variables_override_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.toml");
    std::fs::write(&path, config_text(dir.path())).unwrap();
    let output = Command::new(BINARY)
        .arg("--config")
        .arg(&path)
        .arg("check")
        .env("TANDEM_AGENCY__TIMEZONE", "Mars/Olympus")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("agency.timezone"),
        "{}",
        describe(&output)
    );

    // A `TANDEM_` variable that names no section (a password named by `password_env`, as the
    // README's IMAP example does) is not a setting.
    let elsewhere = dir.path().join("elsewhere.db");
    let output = Command::new(BINARY)
        .env("TANDEM_CONFIG", &path)
        .env("TANDEM_IMAP_PASSWORD", "secret")
        .env(
            "TANDEM_DATABASE__URL",
            format!("sqlite://{}", elsewhere.display()),
        )
        .arg("init")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(elsewhere.exists());
    assert!(!dir.path().join("var/tandem.db").exists());
}

/// A wrong override is named by its variable (the file may be right), whether serde or
/// tandem's own validation refuses it; a wrong file key is named by its key. Each error is one
/// clean sentence: said once, without Rust's names for types.
#[test]
fn config_errors_name_the_variable_and_say_it_once_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.toml");
    let good = config_text(dir.path());
    std::fs::write(&path, &good).unwrap();
    let check = |path: &std::path::Path, env: &[(&str, &str)]| {
        Command::new(BINARY)
            .arg("--config")
            .arg(path)
            .arg("check")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    for (var, value, reason) in [
        ("TANDEM_OUTBOUND__POOL_SIZE", "x", "unknown key `pool_size`"),
        (
            "TANDEM_DATABASE__MAX_CONNECTIONS",
            "x",
            "found string \"x\", expected a whole number, not negative",
        ),
        ("TANDEM_INBOUND__BATCH_SIZE", "0", "must be at least 1"),
        (
            "TANDEM_INBOUND__BATCH_SIZE",
            "-1",
            "expected a whole number",
        ),
    ] {
        let output = check(&path, &[(var, value)]);
        assert_refused(&output, &format!("environment variable {var}"), var);
        assert_refused(&output, reason, var);
        assert!(!stderr(&output).contains("usize"), "{}", describe(&output));
    }

    let broken = dir.path().join("broken.toml");
    let agency = good.find("[agency]").unwrap();
    let database = good.find("[database]").unwrap();
    for (text, expected) in [
        (
            format!("{}{}", &good[..agency], &good[database..]),
            "error: config key 'agency' is missing\n",
        ),
        (
            good.replace("max_connections = 3", "max_connections = 3.5"),
            "error: config key 'database.max_connections' is invalid: found float `3.5`, \
             expected a whole number, not negative\n",
        ),
        (
            good.replace("backend = \"maildir\"", "backend = \"pop3\""),
            "error: config key 'inbound.backend' is invalid: unknown value `pop3`, expected \
             one of `maildir`, `imap`\n",
        ),
        (
            format!("{good}\nx = [\n"),
            "could not be read: TOML parse error",
        ),
    ] {
        std::fs::write(&broken, &text).unwrap();
        let output = check(&broken, &[]);
        assert_refused(&output, expected, expected);
        let err = stderr(&output);
        assert!(err.matches("TOML parse error").count() <= 1, "{err}");
        assert_eq!(err.matches("error:").count(), 1, "{err}");
        for rust in ["usize", "u32", "Some(", "`one of"] {
            assert!(!err.contains(rust), "{rust} in {err}");
        }
    }
}

/// PostgreSQL over TLS, verified against the server's certificate, with the password from an
/// environment variable or a file (never the config), whichever backend the run uses.
#[test]
fn postgres_over_tls_with_the_password_from_a_variable_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = Postgres::shared().create_secret_database();
    let path = dir.path().join("tandem.toml");
    let write = |extra: &str, url: &str| {
        let text = with_database(&config_text(dir.path()), url).replacen(
            "max_connections",
            &format!("{extra}\nmax_connections"),
            1,
        );
        std::fs::write(&path, text).unwrap();
    };
    let tandem = |args: &[&str]| {
        Command::new(BINARY)
            .arg("--config")
            .arg(&path)
            .args(args)
            .env("DB_SECRET", SECRET_PASSWORD)
            .env_remove("PGPASSWORD")
            .output()
            .unwrap()
    };

    write("password_env = \"DB_SECRET\"", &url);
    let output = tandem(&["init"]);
    assert!(output.status.success(), "{}", describe(&output));
    let output = tandem(&["check"]);
    assert!(output.status.success(), "{}", describe(&output));

    let secret = dir.path().join("db.secret");
    std::fs::write(&secret, format!("{SECRET_PASSWORD}\n")).unwrap();
    write(&format!("password_file = \"{}\"", secret.display()), &url);
    let output = tandem(&["client", "list"]);
    assert!(output.status.success(), "{}", describe(&output));

    // A wrong password, and the same role without TLS, are refused with the server's reason.
    std::fs::write(&secret, "wrong\n").unwrap();
    let output = tandem(&["client", "list"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("password authentication failed"),
        "{}",
        describe(&output)
    );
    write(
        "password_env = \"DB_SECRET\"",
        &url.replace("sslmode=verify-full", "sslmode=disable"),
    );
    let output = tandem(&["client", "list"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("pg_hba.conf"),
        "{}",
        describe(&output)
    );
}

#[tokio::test]
async fn bad_arguments_give_a_clear_message_and_change_nothing() {
    let t = spawn_app().await;
    let ok = t.tandem(&[
        "client",
        "add",
        "--name",
        "Acme GmbH",
        "--tag",
        "acme",
        "--contact",
        "Anna Berg <anna@acme.example> | CEO | Mon-Thu 9-13",
        "--locale",
        "de",
    ]);
    assert!(ok.status.success(), "{}", describe(&ok));
    let ok = t.tandem(&[
        "assistant",
        "add",
        "--name",
        "Sam Lee",
        "--email",
        "sam@va.example",
        "--locale",
        "en",
    ]);
    assert!(ok.status.success(), "{}", describe(&ok));

    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "assistant",
                "add",
                "--name",
                "Kim",
                "--email",
                "kim@va.example",
                "--timezone",
                "Europe/Atlantis",
            ],
            "unknown time zone 'Europe/Atlantis'",
        ),
        (
            &[
                "assistant",
                "add",
                "--name",
                "Kim",
                "--email",
                "kim.va.example",
            ],
            "'kim.va.example' is not an email address",
        ),
        (
            &[
                "assistant",
                "add",
                "--name",
                "Kim",
                "--email",
                "kim@va.example",
                "--locale",
                "fr",
            ],
            "unknown locale 'fr'",
        ),
        (
            &[
                "assistant",
                "add",
                "--name",
                "Kim",
                "--email",
                "anna@acme.example",
            ],
            "already belongs to Anna Berg",
        ),
        (
            &[
                "client",
                "add",
                "--name",
                "Other",
                "--tag",
                "acme",
                "--contact",
                "O <o@other.example>",
            ],
            "a client with the tag 'acme' exists already",
        ),
        (
            &[
                "client",
                "add",
                "--name",
                "Other",
                "--tag",
                "other",
                "--contact",
                "Olga <olga@>",
            ],
            "'olga@' is not an email address",
        ),
        (
            &[
                "client",
                "add",
                "--name",
                "Other",
                "--tag",
                "other thing",
                "--contact",
                "O <o@other.example>",
            ],
            "is not a client tag",
        ),
        (
            &[
                "engagement",
                "add",
                "--assistant",
                "sam@va.example",
                "--client",
                "globex",
                "--start",
                "2026-12-01",
            ],
            "unknown client tag 'globex'",
        ),
        (
            &[
                "engagement",
                "add",
                "--assistant",
                "nobody@va.example",
                "--client",
                "acme",
                "--start",
                "2026-12-01",
            ],
            "no assistant has the address nobody@va.example",
        ),
        (
            &[
                "engagement",
                "add",
                "--assistant",
                "sam@va.example",
                "--client",
                "acme",
                "--start",
                "2026-12-01",
                "--trial-end",
                "2026-11-01",
            ],
            "the trial end 2026-11-01 is before the start 2026-12-01",
        ),
        (
            &[
                "engagement",
                "add",
                "--assistant",
                "sam@va.example",
                "--client",
                "acme",
                "--start",
                "1.12.2026",
            ],
            "--start '1.12.2026' is not a date",
        ),
        (
            &[
                "engagement",
                "add",
                "--assistant",
                "sam@va.example",
                "--client",
                "acme",
                "--start",
                "2026-12-01",
                "--rate",
                "lots",
            ],
            "--rate 'lots' is not a number",
        ),
        (&["engagement", "show", "99"], "there is no engagement 99"),
        (&["engagement", "end", "99"], "there is no engagement 99"),
    ];
    for (args, expected) in cases {
        let output = t.tandem(args);
        assert_refused(&output, expected, &format!("{args:?}"));
    }
    assert_eq!(t.count("assistant").await, 1);
    assert_eq!(t.count("assistant_email").await, 1);
    assert_eq!(t.count("client").await, 1);
    assert_eq!(t.count("contact").await, 1);
    assert_eq!(t.count("engagement").await, 0);
    assert_eq!(t.count("agreement").await, 0);
    assert_eq!(t.count("outbox").await, 0);
    assert!(t.sent_files().is_empty());
}

#[tokio::test]
async fn the_walk_through_from_the_readme() {
    let t = spawn_app().await;
    // The README starts on 2026-12-01; the binary runs on the wall clock, and an engagement
    // starts at most a year ahead, and one begun over a year ago is entered as running
    // (no welcome mails), so this one starts a month from now.
    let start = chrono::Utc::now().date_naive() + chrono::Days::new(30);
    let trial_end = (start + chrono::Days::new(6 * 7 - 1)).to_string();
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
    // The welcome mails are in the outbox folder straight away.
    assert_eq!(t.sent_files().len(), 3);

    let json = |args: &[&str]| -> serde_json::Value {
        let output = t.tandem(args);
        assert!(output.status.success(), "{}", describe(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let assistants = json(&["assistant", "list", "--json"]);
    assert_eq!(
        assistants[0]["emails"],
        serde_json::json!(["sam@va.example", "sam.lee@gmail.example"])
    );
    let clients = json(&["client", "list", "--json"]);
    assert_eq!(clients[0]["contacts"][0]["reachability"], "Mo-Do 9-13");
    assert_eq!(clients[0]["contacts"][1]["role"], serde_json::Value::Null);
    let engagements = json(&["engagement", "list", "--json"]);
    assert_eq!(engagements.as_array().unwrap().len(), 1);
    let shown = json(&["engagement", "show", "1", "--json"]);
    assert_eq!(shown["status"], "onboarding");
    assert_eq!(shown["trial_end"], trial_end.as_str());
    assert_eq!(shown["hourly_rate_cents"], 4550);
    assert_eq!(shown["budget_minutes"], 1200);
    assert_eq!(shown["agreements"].as_array().unwrap().len(), 5);
    let outbox = json(&["outbox", "list", "--json"]);
    assert!(
        outbox
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "sent")
    );

    let ended = t.tandem(&["engagement", "end", "1"]);
    assert!(ended.status.success(), "{}", describe(&ended));
    assert_eq!(
        json(&["engagement", "show", "1", "--json"])["status"],
        "ended"
    );
    let again = t.tandem(&["engagement", "end", "1"]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("has ended already"));

    let human = t.tandem(&["engagement", "list"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("Sam Lee"));
}

#[tokio::test]
async fn parse_shows_how_a_message_is_read_without_changing_anything() {
    let t = spawn_app().await;
    t.add_people().await;
    let file = t.dir.path().join("question.eml");
    std::fs::write(
        &file,
        message(
            "Anna Berg <anna@acme.example>",
            "<p1@acme.example>",
            "Frage",
            "",
            "Wann ist das Kickoff?",
        ),
    )
    .unwrap();
    let output = t.tandem(&["parse", file.to_str().unwrap(), "--json"]);
    assert!(output.status.success(), "{}", describe(&output));
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed["message_id"], "<p1@acme.example>");
    assert_eq!(parsed["from"], "anna@acme.example");
    assert_eq!(parsed["classification"], "unrecognised");
    assert!(parsed["reason"].as_str().unwrap().contains("Anna Berg"));
    assert_eq!(parsed["text"], "Wann ist das Kickoff?");
    for empty in ["entries", "rejected", "answers"] {
        assert_eq!(parsed[empty], serde_json::json!([]), "{empty}");
    }
    assert_eq!(t.count("inbound_message").await, 0);

    let oof = t.dir.path().join("oof.eml");
    std::fs::write(
        &oof,
        message(
            "anna@acme.example",
            "<o@acme.example>",
            "Abwesenheitsnotiz: Willkommen",
            "",
            "weg",
        ),
    )
    .unwrap();
    let output = t.tandem(&["parse", oof.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("classification: ignored"),
        "{}",
        describe(&output)
    );

    let missing = t.tandem(&["parse", "/nonexistent.eml"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("could not read '/nonexistent.eml'"));
}

#[tokio::test]
async fn check_reports_each_part() {
    let t = spawn_app().await;
    let output = t.tandem(&["check"]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for part in ["config", "templates", "database", "mail in", "mail out"] {
        assert!(
            text.contains(&format!("ok      {part}:")),
            "{part} in:\n{text}"
        );
    }
    // A template gone missing is named.
    let templates = own_templates(&t);
    std::fs::remove_file(templates.join("en/welcome_client.html.hbs")).unwrap();
    let output = t.tandem(&["check"]);
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("FAILED  templates")
            && text.contains("en/welcome_client.html.hbs' is missing"),
        "{text}"
    );
    // The daemon refuses to start on it, too.
    let output = t.tandem(&["run", "--once"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("en/welcome_client.html.hbs' is missing"),
        "{}",
        describe(&output)
    );
}

/// The templates as checked at starts: each digest with when it was checked.
async fn templates_checked(app: &tandem::app::App) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    tandem::store::on!(&mut *app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as("SELECT digest, checked_at FROM template_check")
            .fetch_all(c)
            .await
    })
    .unwrap()
}

#[tokio::test]
async fn a_start_checks_the_templates_again_only_when_they_changed() {
    let t = spawn_app().await;
    let first = templates_checked(&t.app).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].1, t.clock_now());

    // The same build and templates: nothing new to check.
    t.clock.advance(chrono::Duration::hours(1));
    let again = t.restart().await;
    assert_eq!(templates_checked(&again).await, first);

    // A template changed: checked at this start, in place of the first.
    let templates = own_templates(&t);
    let receipt = templates.join("en/hours_receipt.txt.hbs");
    let text = std::fs::read_to_string(&receipt).unwrap();
    std::fs::write(&receipt, format!("{text}\nThanks!\n")).unwrap();
    let changed = templates_checked(&*t.restart().await).await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_ne!(changed[0].0, first[0].0);
    assert_eq!(changed[0].1, t.clock_now());

    // And a change the check refuses stops the start, as before.
    std::fs::write(&receipt, format!("{text}\n{{{{thanks_from}}}}\n")).unwrap();
    let config = tandem::config::Config::load(&t.config_path).unwrap();
    let Err(refused) = tandem::app::App::new(config, std::sync::Arc::new(t.clock.clone())).await
    else {
        panic!("a template with an unknown variable started");
    };
    assert!(refused.to_string().contains("thanks_from"), "{refused}");
}

/// A copy of the shipped templates in `t`'s folder, which its config names from now on.
fn own_templates(t: &crate::helpers::TestApp) -> std::path::PathBuf {
    let templates = t.dir.path().join("templates");
    copy_dir(
        &std::path::Path::new(crate::helpers::MANIFEST_DIR).join("templates"),
        &templates,
    );
    let config = std::fs::read_to_string(&t.config_path).unwrap().replace(
        &format!("{}/templates", crate::helpers::MANIFEST_DIR),
        templates.to_str().unwrap(),
    );
    std::fs::write(&t.config_path, config).unwrap();
    templates
}

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
