//! The operator's console (issue 16), through the binary: a closed stdout ends a command
//! quietly; only `init` and `run` create or migrate a database; `check` sees a folder it
//! cannot write; one contact address belongs to one client; every option and argument of
//! every subcommand's `--help` says what it is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sqlx::Connection as _;

use crate::helpers::{BINARY, config_text, describe, message, on_postgres, spawn_app};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the binary on `config` with its stdout a pipe whose reading end is already closed, as
/// after `| head` has read its lines.
fn with_stdout_closed(config: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(BINARY)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("TANDEM_LOG", "warn")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Item 2: `digest --preview | head`, and any list piped to `head`, end quietly: exit 0, no
/// panic, no "Broken pipe".
#[tokio::test]
async fn a_closed_stdout_ends_a_command_quietly() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    let eml = t.dir.path().join("hours.eml");
    std::fs::write(
        &eml,
        message(
            "Sam Lee <sam@va.example>",
            "<h1@va.example>",
            "hours",
            "",
            "2026-11-25 2h inbox",
        ),
    )
    .unwrap();
    let eml = eml.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["digest", "--preview"],
        &["digest", "--preview", "--format", "html"],
        &["digest", "--preview", "--format", "json"],
        &["assistant", "list"],
        &["client", "list"],
        &["client", "list", "--json"],
        &["engagement", "list"],
        &["engagement", "show", "1"],
        &["engagement", "show", "1", "--json"],
        &["agreement", "list"],
        &["survey", "list"],
        &["outbox", "list"],
        &["hours", "list"],
        &["hours", "export", "--month", "2026-11"],
        &["schedule", "preview"],
        &["parse", eml],
        &["parse", eml, "--json"],
        &["check"],
        &["--help"],
        &["client", "add", "--help"],
    ];
    for args in commands {
        // Each command once normally, so that it has something to print.
        let output = t.tandem(args);
        assert!(output.status.success(), "{args:?}\n{}", describe(&output));
        assert!(!output.stdout.is_empty(), "{args:?} prints nothing");

        let output = with_stdout_closed(&t.config_path, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} with stdout closed\n{}",
            describe(&output)
        );
        let err = stderr(&output);
        assert!(
            !err.contains("panicked") && !err.to_lowercase().contains("broken pipe"),
            "{args:?} with stdout closed\n{}",
            describe(&output)
        );
    }
    // A command that changes something still does it all when nobody reads what it says.
    let output = with_stdout_closed(
        &t.config_path,
        &[
            "assistant",
            "add",
            "--name",
            "Kim Park",
            "--email",
            "kim@va.example",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let list = t.tandem(&["assistant", "list"]);
    assert!(
        stdout(&list).contains("kim@va.example"),
        "{}",
        describe(&list)
    );
}

/// A config at `dir` whose database is `url`, with the rest as `config_text` gives it.
fn config_at(dir: &Path, url: &str) -> PathBuf {
    let text = crate::helpers::with_database(&config_text(dir), url);
    let path = dir.join("tandem.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn tandem(config: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("TANDEM_LOG", "warn")
        .output()
        .unwrap()
}

/// The database URL `config` names.
fn url_of(config: &Path) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("url = ") && (l.contains("sqlite:") || l.contains("postgres")))
        .unwrap();
    line["url = ".len()..].trim_matches('"').to_string()
}

/// Runs `sql` (`;`-separated) on the database at `url`, creating a SQLite file if need be.
async fn execute(url: &str, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
}

/// The tables of the database at `url`, sorted.
async fn tables(url: &str) -> Vec<String> {
    let sql = if url.starts_with("postgres") {
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1"
    };
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    }
}

/// Commands other than `init` and `run`: reading, writing, and writing with mail.
const NOT_INIT: &[&[&str]] = &[
    &["client", "list"],
    &[
        "assistant",
        "add",
        "--name",
        "Kim",
        "--email",
        "kim@va.example",
    ],
    &["hours", "list"],
    &["outbox", "list"],
    &["schedule", "preview"],
    &["digest", "--preview"],
    &["digest", "--send"],
    &[
        "engagement",
        "add",
        "--assistant",
        "kim@va.example",
        "--client",
        "acme",
        "--start",
        "2026-12-01",
    ],
];

/// Each of [`NOT_INIT`] fails on `config`, saying `expected`.
fn assert_all_refused(config: &Path, expected: &str, what: &str) {
    for args in NOT_INIT {
        let output = tandem(config, args);
        assert!(
            !output.status.success() && stderr(&output).contains(expected),
            "{args:?} on {what}: expected '{expected}'\n{}",
            describe(&output)
        );
    }
}

/// Item 7: a mistyped database URL gives no empty database, a foreign database gets no
/// tables of tandem's, and an old schema is named, with `tandem init` as the way on.
#[tokio::test]
async fn only_init_and_run_create_or_migrate_the_database() {
    // Nothing there: a SQLite file that does not exist, a PostgreSQL database with no tables.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tandem.toml");
    std::fs::write(&config, config_text(dir.path())).unwrap();
    let url = url_of(&config);
    assert_all_refused(&config, "no tandem database at", "no database");
    assert_all_refused(&config, "run `tandem init`", "no database");
    if on_postgres() {
        assert_eq!(tables(&url).await, Vec::<String>::new());
    } else {
        assert!(
            !dir.path().join("var").exists(),
            "a read-only command made var/"
        );
    }
    // `parse` reads every sender as unknown then, and says why.
    let eml = dir.path().join("m.eml");
    std::fs::write(
        &eml,
        message("a@b.example", "<m@b.example>", "hi", "", "hello"),
    )
    .unwrap();
    let output = tandem(&config, &["parse", eml.to_str().unwrap()]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("no database at"),
        "{}",
        describe(&output)
    );
    let output = tandem(&config, &["check"]);
    assert!(!output.status.success());
    assert!(
        stdout(&output).contains("FAILED  database: no tandem database at"),
        "{}",
        describe(&output)
    );

    // Someone else's database: refused, and left as it was, by `init` and `run` too.
    execute(
        &url,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
    )
    .await;
    assert_all_refused(&config, "is not a tandem database", "a foreign database");
    for args in [&["init"][..], &["run", "--once"]] {
        let output = tandem(&config, args);
        assert!(
            !output.status.success() && stderr(&output).contains("is not a tandem database"),
            "{args:?} on a foreign database\n{}",
            describe(&output)
        );
    }
    assert_eq!(tables(&url).await, ["notes"]);
    let output = tandem(&config, &["check"]);
    assert!(
        stdout(&output).contains("is not a tandem database"),
        "{}",
        describe(&output)
    );
    assert_eq!(tables(&url).await, ["notes"]);

    // A file that is not a database at all.
    if !on_postgres() {
        let other = tempfile::tempdir().unwrap();
        let file = other.path().join("notes.txt");
        std::fs::write(
            &file,
            "not a database, just some text that is long enough\n".repeat(50),
        )
        .unwrap();
        let config = config_at(other.path(), &format!("sqlite://{}", file.display()));
        let output = tandem(&config, &["client", "list"]);
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains("file is not a database"),
            "{}",
            describe(&output)
        );
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .starts_with("not a database")
        );
    }

    // An older tandem's database: named, and `init` brings it up to date.
    let old = tempfile::tempdir().unwrap();
    let config = dir.path().join("old.toml");
    std::fs::write(&config, config_text(old.path())).unwrap();
    let url = url_of(&config);
    let backend = if on_postgres() { "postgres" } else { "sqlite" };
    let shipped = Path::new(crate::helpers::MANIFEST_DIR)
        .join("migrations")
        .join(backend);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&shipped)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let older = old.path().join("migrations");
    std::fs::create_dir_all(&older).unwrap();
    for file in &files[..files.len() - 1] {
        std::fs::copy(file, older.join(file.file_name().unwrap())).unwrap();
    }
    std::fs::create_dir_all(old.path().join("var")).unwrap();
    execute(&url, "SELECT 1").await;
    let migrator = sqlx::migrate::Migrator::new(older.as_path()).await.unwrap();
    if on_postgres() {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        migrator.run(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        migrator.run(&mut c).await.unwrap();
    }
    assert_all_refused(&config, "1 migration(s) behind", "an old schema");
    assert_all_refused(&config, "run `tandem init`", "an old schema");
    let output = tandem(&config, &["init"]);
    assert!(output.status.success(), "{}", describe(&output));
    let output = tandem(&config, &["client", "list"]);
    assert!(output.status.success(), "{}", describe(&output));
    let output = tandem(&config, &["check"]);
    assert!(output.status.success(), "{}", describe(&output));

    // A newer tandem's: refused, not taken for an older one.
    execute(
        &url,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, X'00', 0)"
            .replace(
                "X'00'",
                if on_postgres() {
                    "decode('00', 'hex')"
                } else {
                    "X'00'"
                },
            )
            .as_str(),
    )
    .await;
    let output = tandem(&config, &["client", "list"]);
    assert!(
        !output.status.success() && stderr(&output).contains("migration 9999"),
        "{}",
        describe(&output)
    );
}

/// A folder bind-mounted read-only onto itself, mounted back when dropped (even when the
/// test fails). Root can write through any permission bits, so this is how a test makes a
/// folder unwritable for everyone.
struct ReadOnly {
    dir: PathBuf,
}

impl ReadOnly {
    fn mount(dir: &Path) -> Self {
        let mount = |args: &[&std::ffi::OsStr]| {
            let output = Command::new("mount")
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run mount ({e}); this test needs root"));
            assert!(
                output.status.success(),
                "cannot mount {} read-only (this test needs root and may not run in a \
                 container without CAP_SYS_ADMIN):\n{}",
                dir.display(),
                describe(&output)
            );
        };
        mount(&["--bind".as_ref(), dir.as_os_str(), dir.as_os_str()]);
        let read_only = Self {
            dir: dir.to_path_buf(),
        };
        mount(&["-o".as_ref(), "remount,bind,ro".as_ref(), dir.as_os_str()]);
        read_only
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Item 8: `check` says so when `var/` (the SQLite database's folder and the Maildir) cannot
/// be written.
#[tokio::test]
async fn check_reports_a_var_folder_it_cannot_write() {
    let t = spawn_app().await;
    let output = t.tandem(&["check"]);
    assert!(output.status.success(), "{}", describe(&output));

    let var = t.dir.path().join("var");
    let read_only = ReadOnly::mount(&var);
    let output = t.tandem(&["check"]);
    drop(read_only);
    assert!(!output.status.success(), "{}", describe(&output));
    let text = stdout(&output);
    let line = |part: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {part}:")))
            .unwrap_or_else(|| panic!("no {part} line in:\n{text}"))
            .to_string()
    };
    let inbox = t.inbox();
    assert_eq!(
        line("mail in"),
        format!(
            "FAILED  mail in: cannot create a file in {}/tmp: Read-only file system (os error 30)",
            inbox.display()
        ),
    );
    if on_postgres() {
        assert!(line("database").starts_with("ok "), "{text}");
    } else {
        let database = line("database");
        assert!(
            database.starts_with("FAILED  database: ")
                && database.contains("Read-only file system"),
            "{text}"
        );
    }
    // Writable again, all is well.
    let output = t.tandem(&["check"]);
    assert!(output.status.success(), "{}", describe(&output));
}

/// Item 6: one contact address belongs to one client; a second client with it is refused with
/// the reason and not added.
#[tokio::test]
async fn a_contact_address_belongs_to_one_client() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    let output = t.tandem(&[
        "client",
        "add",
        "--name",
        "Globex",
        "--tag",
        "globex",
        "--contact",
        "Greta Holm <greta@globex.example>",
        "--contact",
        "Anna Berg <ANNA@acme.example>",
    ]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains(
            "the address anna@acme.example already belongs to Anna Berg, a contact of client \
             'acme'"
        ),
        "{}",
        describe(&output)
    );
    assert_eq!(t.count("client").await, 1);
    assert_eq!(t.count("contact").await, 1);

    let output = t.tandem(&[
        "client",
        "add",
        "--name",
        "Globex",
        "--tag",
        "globex",
        "--contact",
        "Greta Holm <greta@globex.example>",
        "--contact",
        "G. Holm <greta@globex.example>",
    ]);
    assert!(
        !output.status.success() && stderr(&output).contains("is given twice"),
        "{}",
        describe(&output)
    );
    // An assistant's address, as before.
    let output = t.tandem(&[
        "client",
        "add",
        "--name",
        "Globex",
        "--tag",
        "globex",
        "--contact",
        "Sam <sam@va.example>",
    ]);
    assert!(
        !output.status.success() && stderr(&output).contains("belongs to assistant"),
        "{}",
        describe(&output)
    );
    assert_eq!(t.count("client").await, 1);
    let output = t.tandem(&[
        "client",
        "add",
        "--name",
        "Globex",
        "--tag",
        "globex",
        "--contact",
        "Greta Holm <greta@globex.example>",
    ]);
    assert!(output.status.success(), "{}", describe(&output));
}

/// One entry of a help text's "Arguments:" or "Options:": the argument as shown, and whether a
/// description follows it (on its line, or on the lines under it).
fn undescribed(help: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let mut section = "";
    let lines: Vec<&str> = help.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line.trim_end_matches(':');
            continue;
        }
        if !matches!(section, "Arguments" | "Options") {
            continue;
        }
        let entry = line.trim_start();
        let indent = line.len() - entry.len();
        if entry.is_empty()
            || !(entry.starts_with('-') || entry.starts_with('<') || entry.starts_with('['))
            || indent > 6
        {
            continue;
        }
        let (name, text) = match entry.split_once("  ") {
            Some((name, text)) => (name.trim(), text.trim()),
            None => (entry.trim(), ""),
        };
        // Long help (or an entry too long for one line) puts the description on the lines
        // under the entry, indented further than any entry (entries start at column 2 or 6).
        let below = lines.get(i + 1).is_some_and(|next| {
            let rest = next.trim_start();
            !rest.is_empty() && next.len() - rest.len() > 6 && !rest.starts_with('[')
        });
        // clap's own `[env: ...]`, `[default: ...]` or `[possible values: ...]` alone say
        // nothing of what the argument is.
        if (text.is_empty() || text.starts_with('[')) && !below {
            missing.push(name.to_string());
        }
    }
    missing
}

/// The subcommands a help text lists under "Commands:" (but `help`).
fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if !line.starts_with(' ') {
            in_commands = line == "Commands:";
            continue;
        }
        // An entry is indented by two; a description wrapped onto the next line by more.
        if in_commands
            && !line.starts_with("   ")
            && let Some(name) = line.split_whitespace().next()
            && name != "help"
        {
            out.push(name.to_string());
        }
    }
    out
}

/// The acceptance test of issue 16: every option and argument of every subcommand's `--help`
/// (and `-h`) says what it is.
#[test]
fn every_option_and_argument_in_help_has_a_description() {
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    let mut walked = 0;
    let mut missing = Vec::new();
    while let Some(path) = queue.pop() {
        for flag in ["--help", "-h"] {
            let output = Command::new(BINARY)
                .args(&path)
                .arg(flag)
                .env_remove("TANDEM_CONFIG")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{path:?} {flag}\n{}",
                describe(&output)
            );
            let help = stdout(&output);
            for name in undescribed(&help) {
                missing.push(format!("tandem {} {flag}: {name}", path.join(" ")));
            }
            if flag == "--help" {
                walked += 1;
                for sub in subcommands(&help) {
                    let mut next = path.clone();
                    next.push(sub);
                    queue.push(next);
                }
            }
        }
    }
    assert!(walked > 30, "only {walked} help texts found");
    assert!(
        missing.is_empty(),
        "options and arguments without a description:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_help_checker_sees_what_it_should() {
    let help = "Usage: tandem x [OPTIONS] <ID>\n\nArguments:\n  <ID>  \n  [FILE]  The file\n\n\
                Options:\n      --json             \n      --month <MONTH>  YYYY-MM\n      \
                --config <CONFIG>  [env: TANDEM_CONFIG=]\n  -h, --help  Print help\n";
    assert_eq!(undescribed(help), ["<ID>", "--json", "--config <CONFIG>"]);
    let long = "Options:\n      --week <WEEK>\n          The week\n\n      --json\n\n  -h, --help\n          Print help\n";
    assert_eq!(undescribed(long), ["--json"]);
    assert_eq!(
        subcommands("Commands:\n  add   Add\n  list  List\n  help  Print\n\nOptions:\n"),
        ["add", "list"]
    );
}

/// Polish, item 13: the help of the commands that take an agreement's kind lists the kinds.
#[test]
fn agreement_commands_list_the_kinds_in_their_help() {
    for command in ["sign", "waive", "reset"] {
        let output = Command::new(BINARY)
            .args(["agreement", command, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        let help = stdout(&output);
        assert!(
            help.contains("contract, nda, dpa, data_handover, billing"),
            "agreement {command} --help:\n{help}"
        );
    }
}

/// Runs the binary on `config` as an operator would, with `env` set and neither `TANDEM_LOG`
/// nor `NO_COLOR` inherited.
fn tandem_with_env(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BINARY)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("TANDEM_LOG")
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// Missing item "[log]": a command other than `run` logs warnings and errors only unless
/// `TANDEM_LOG` says otherwise; text on a pipe carries no colour; `[log] format = "json"`
/// (or `TANDEM_LOG__FORMAT=json`) writes one JSON object per line; a bad format is refused
/// naming the key.
#[tokio::test]
async fn the_log_is_quiet_for_commands_plain_on_a_pipe_and_json_when_asked() {
    let t = spawn_app().await;
    let add = |email: &str| {
        [
            "assistant".to_string(),
            "add".into(),
            "--name".into(),
            "Sam Lee".into(),
            "--email".into(),
            email.into(),
        ]
    };
    let client = [
        "client",
        "add",
        "--name",
        "Acme GmbH",
        "--tag",
        "acme",
        "--contact",
        "Anna Berg <anna@acme.example>",
    ];
    let output = tandem_with_env(&t.config_path, &client, &[]);
    assert!(output.status.success(), "{}", describe(&output));
    let args = add("sam@va.example");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = tandem_with_env(&t.config_path, &args, &[]);
    assert!(output.status.success(), "{}", describe(&output));
    // `engagement add` logs "engagement started" at info: not shown by default.
    let start = crate::helpers::cli_start().to_string();
    let engagement = [
        "engagement",
        "add",
        "--assistant",
        "sam@va.example",
        "--client",
        "acme",
        "--start",
        &start,
    ];
    let output = tandem_with_env(&t.config_path, &engagement, &[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(stderr(&output), "", "{}", describe(&output));

    // With TANDEM_LOG=info it is, as plain text: stderr is a pipe, so no colour.
    ok_end_and_restart(&t);
    let output = tandem_with_env(&t.config_path, &engagement, &[("TANDEM_LOG", "info")]);
    assert!(output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(err.contains("engagement started"), "{}", describe(&output));
    assert!(!err.contains('\u{1b}'), "colour on a pipe: {err:?}");

    // As JSON, from the file or from the environment.
    ok_end_and_restart(&t);
    let text = std::fs::read_to_string(&t.config_path).unwrap();
    assert!(
        text.contains("format = \"text\""),
        "the shipped [log] section"
    );
    std::fs::write(
        &t.config_path,
        text.replacen("format = \"text\"", "format = \"json\"", 1),
    )
    .unwrap();
    let output = tandem_with_env(&t.config_path, &engagement, &[("TANDEM_LOG", "info")]);
    assert!(output.status.success(), "{}", describe(&output));
    let lines: Vec<serde_json::Value> = stderr(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "engagement started"),
        "{lines:#?}"
    );

    std::fs::write(&t.config_path, &text).unwrap();
    ok_end_and_restart(&t);
    let output = tandem_with_env(
        &t.config_path,
        &engagement,
        &[("TANDEM_LOG", "info"), ("TANDEM_LOG__FORMAT", "json")],
    );
    assert!(output.status.success(), "{}", describe(&output));
    let first = stderr(&output)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        serde_json::from_str::<serde_json::Value>(&first).is_ok(),
        "{}",
        describe(&output)
    );

    std::fs::write(
        &t.config_path,
        text.replacen("format = \"text\"", "format = \"xml\"", 1),
    )
    .unwrap();
    let output = tandem_with_env(&t.config_path, &["client", "list"], &[]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("log.format"),
        "{}",
        describe(&output)
    );
}

/// Ends engagement 1 (and every later one), so that the next `engagement add` starts anew.
fn ok_end_and_restart(t: &crate::helpers::TestApp) {
    let list = t.tandem(&["engagement", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    for e in list.as_array().unwrap() {
        if e["status"] != "ended" {
            let id = e["id"].to_string();
            let output = t.tandem(&["engagement", "end", &id]);
            assert!(output.status.success(), "{}", describe(&output));
        }
    }
}

/// Missing item "completions and a man page": generated from the command definitions, so
/// every command is in them.
#[test]
fn completions_and_man_pages_come_from_the_command_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("none.toml");
    for shell in ["bash", "zsh", "fish"] {
        let output = tandem(&config, &["completions", shell]);
        assert!(output.status.success(), "{shell}\n{}", describe(&output));
        let script = stdout(&output);
        for word in ["engagement", "completions", "restore", "json"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let output = tandem(&config, &["completions", "tcsh"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("invalid value 'tcsh'"),
        "{}",
        describe(&output)
    );

    let output = tandem(&config, &["man"]);
    assert!(output.status.success(), "{}", describe(&output));
    let page = stdout(&output);
    assert!(page.contains(".TH tandem 1"), "{page}");
    assert!(page.contains("engagement"), "{page}");

    let pages = dir.path().join("man");
    let output = tandem(&config, &["man", "--dir", pages.to_str().unwrap()]);
    assert!(output.status.success(), "{}", describe(&output));
    for page in [
        "tandem.1",
        "tandem-engagement-end.1",
        "tandem-hours-restore.1",
    ] {
        let text =
            std::fs::read_to_string(pages.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let end = std::fs::read_to_string(pages.join("tandem-engagement-end.1")).unwrap();
    assert!(end.contains("last day"), "{end}");
}

/// Issue 16, "Confusing": a negative amount is named as negative (also written `--rate -45`),
/// a trial of less than a week is refused by its end as by its weeks,
/// a budget beyond a month's hours is refused, a missing engagement is named as missing, a
/// list filter on an unknown client or an inverted range is refused instead of listing
/// nothing, and `run --once` says what the pass did.
#[tokio::test]
async fn confusing_answers_say_what_is_wrong() {
    use crate::edits::refused;
    let t = spawn_app().await;
    t.add_people().await;
    let add = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec![
            "engagement",
            "add",
            "--assistant",
            "sam@va.example",
            "--client",
            "acme",
            "--start",
            "2026-12-01",
        ];
        args.extend(extra);
        args
    };
    refused(&t, &add(&["--rate", "-45"]), "--rate '-45' is negative");
    refused(&t, &add(&["--rate=-45"]), "--rate '-45' is negative");
    refused(
        &t,
        &add(&["--budget", "1000"]),
        "a monthly budget of 1000 hours is more than a month has (744 hours)",
    );
    refused(
        &t,
        &add(&["--trial-end", "2026-12-03"]),
        "the trial must last at least one week: from 2026-12-01 it ends on 2026-12-07 at the \
         earliest, not 2026-12-03",
    );
    refused(
        &t,
        &["agreement", "sign", "99", "nda"],
        "there is no engagement 99",
    );
    refused(
        &t,
        &["hours", "list", "--client", "nope"],
        "unknown client tag 'nope'",
    );
    refused(
        &t,
        &["hours", "export", "--month", "2026-11", "--client", "nope"],
        "unknown client tag 'nope'",
    );
    refused(
        &t,
        &[
            "hours",
            "list",
            "--from",
            "2026-11-30",
            "--to",
            "2026-11-01",
        ],
        "--from 2026-11-30 is after --to 2026-11-01",
    );
    // Ids and counts are said to be wrong in plain words, not Rust's.
    for (args, expected) in [
        (
            &["survey", "send", "abc"][..],
            "'abc' is not an id: give the whole number",
        ),
        (
            &["hours", "void", "99999999999999999999"],
            "'99999999999999999999' is not an id",
        ),
        (&["survey", "list", "--engagement", "x"], "'x' is not an id"),
        (
            &add(&["--trial-weeks", "four"]),
            "'four' is not a number of weeks: give a whole number such as 4",
        ),
    ] {
        refused(&t, args, expected);
        let output = t.tandem(args);
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(
            !err.contains("invalid digit") && !err.contains("target type"),
            "{err}"
        );
    }
    let pass = t.tandem(&["run", "--once"]);
    assert!(pass.status.success(), "{}", describe(&pass));
    let said = String::from_utf8_lossy(&pass.stdout);
    assert!(
        said.starts_with("one pass done: 0 message(s) read (0 new, 0 seen before, 0 to try again)"),
        "{said}"
    );
}

/// Confusing, item 6: a write on a read-only SQLite database says it could not write, names
/// the file, and says SQLite's reason once; nothing changes. The file read-only (SQLite opens
/// it read-only and refuses the write) and its folder read-only (it cannot be opened to
/// write at all).
#[tokio::test]
async fn a_write_on_a_read_only_database_says_so_once_naming_the_file() {
    use crate::edits::refused;
    // A file and a folder are SQLite's (PostgreSQL's read-only is the server's): on SQLite in
    // both passes.
    let t = crate::helpers::spawn_sqlite_app().await;
    t.add_engagement_by_cli();
    let file = t.dir.path().join("var/tandem.db");
    let add = [
        "assistant",
        "add",
        "--name",
        "Kim",
        "--email",
        "kim@va.example",
    ];

    let read_only = ReadOnly::mount(&file);
    let expected = format!(
        "error: could not write the database file '{}': it is read-only (attempt to write a \
         readonly database)\n",
        file.display()
    );
    refused(&t, &add, &expected);
    let output = t.tandem(&add);
    let err = stderr(&output);
    assert_eq!(err, expected, "{}", describe(&output));
    drop(read_only);

    let read_only = ReadOnly::mount(&t.dir.path().join("var"));
    let output = t.tandem(&add);
    drop(read_only);
    assert!(!output.status.success(), "{}", describe(&output));
    // Refused at the open (the WAL files cannot be written) or at the write, by the timing
    // of SQLite's own files: either way said as a write, naming the file, once.
    let err = stderr(&output);
    let start = format!(
        "error: could not write the database file '{}': ",
        file.display()
    );
    assert!(
        err.starts_with(&start)
            && err.to_lowercase().matches("read-only").count() == 1
            && err.lines().count() == 1,
        "{}",
        describe(&output)
    );
    let output = t.tandem(&["assistant", "list"]);
    assert!(!stdout(&output).contains("kim@"), "{}", describe(&output));
}

/// Confusing, item 2: a send from the console whose delivery fails says what failed and
/// exits non-zero (the mail stays queued for the daemon); delivered, it says so.
#[tokio::test]
async fn a_failed_delivery_from_the_console_says_so_and_fails() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    let outbox = t.outbox_dir();
    let read_only = ReadOnly::mount(&outbox);
    let output = t.tandem(&["survey", "send", "1"]);
    drop(read_only);
    assert!(!output.status.success(), "{}", describe(&output));
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(out.contains("survey 1 queued for engagement 1"), "{out}");
    assert!(out.contains("delivered 0 of 1"), "{out}");
    assert!(
        err.contains("(survey) to anna@acme.example: not delivered (")
            && err.contains("Read-only file system")
            && err.contains("the daemon tries again from")
            && err.contains("error: 1 of 1 message(s) could not be delivered"),
        "{}",
        describe(&output)
    );
    // It stays queued for the daemon, with the reason.
    let listed = crate::edits::json(&t, &["outbox", "list"]);
    let survey = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "survey")
        .unwrap()
        .clone();
    assert_eq!(survey["state"], "queued", "{survey}");
    assert!(
        survey["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Read-only file system")),
        "{survey}"
    );
}

/// Confusing, item 3, and Polish, item 14: `digest --send` queues the week's digest once
/// (its natural key); a second says it was sent already. `--format` is for `--preview`.
#[tokio::test]
async fn digest_send_twice_sends_once_and_refuses_a_format() {
    use crate::edits::{ok, refused};
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    refused(
        &t,
        &["digest", "--send", "--format", "html"],
        "--format html is for --preview: a sent digest always carries both",
    );
    let first = ok(&t, &["digest", "--send", "--week", "2026-W48"]);
    assert!(
        first.contains("digest of 2026-W48 queued to operator@example.org")
            && first.contains("delivered 1 of 1"),
        "{first}"
    );
    let sent = t.sent_files().len();
    let second = ok(&t, &["digest", "--send", "--week", "2026-W48"]);
    assert!(
        second.starts_with("the digest of 2026-W48 was sent on ")
            && second.ends_with(" already: not queued again\n"),
        "{second}"
    );
    assert_eq!(t.sent_files().len(), sent);
    let preview = ok(
        &t,
        &[
            "digest",
            "--preview",
            "--week",
            "2026-W48",
            "--format",
            "json",
        ],
    );
    assert!(preview.starts_with('{'), "{preview}");
}

/// Confusing, item 5, and Polish, items 9 and 10, through the binary: an engagement added
/// today has its agreements pending, not overdue; the German digest says that in German; a
/// week across new year names both years.
#[tokio::test]
async fn a_new_engagement_is_pending_and_the_german_digest_is_german() {
    use crate::edits::ok;
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    let text = ok(&t, &["digest", "--preview", "--format", "json"]);
    let figures: serde_json::Value = serde_json::from_str(&text).unwrap();
    let engagement = &figures["engagements"][0];
    assert_eq!(
        engagement["pending_agreements"].as_array().unwrap().len(),
        5,
        "{engagement}"
    );
    assert_eq!(engagement["overdue_agreements"], serde_json::json!([]));

    // The shipped config writes to the operator in German.
    let digest = ok(&t, &["digest", "--preview"]);
    assert!(digest.contains("Zu unterschreiben:"), "{digest}");
    assert!(!digest.contains("ÜBERFÄLLIG"), "{digest}");
    for english in [" new", "onboarding", "unknown sender", "Total", "Hours"] {
        assert!(!digest.contains(english), "'{english}' in:\n{digest}");
    }
    let new_year = ok(&t, &["digest", "--preview", "--week", "2026-W53"]);
    assert!(
        new_year.contains("KW 53, 28.12.2026–03.01.2027"),
        "{new_year}"
    );
}

/// Polish, item 12: the currency is a setting (`[agency] currency`, ISO 4217, checked), and
/// amounts carry the locale's separators: the console (English) and a German welcome mail.
#[tokio::test]
async fn amounts_have_separators_and_the_configured_currency() {
    use crate::edits::ok;
    let t = crate::helpers::spawn_app_with(|_, text| {
        text.replace("currency = \"EUR\"", "currency = \"CHF\"")
    })
    .await;
    t.add_engagement_by_cli();
    ok(&t, &["engagement", "edit", "1", "--rate", "1234.5"]);
    let shown = ok(&t, &["engagement", "show", "1"]);
    assert!(
        shown.contains("rate:       CHF 1,234.50 per hour"),
        "{shown}"
    );

    // A new engagement's welcome to the (German) client states the rate in German.
    let kim = [
        "assistant",
        "add",
        "--name",
        "Kim Park",
        "--email",
        "kim@va.example",
    ];
    ok(&t, &kim);
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
            "--rate",
            "2500",
        ],
    );
    let welcome = t
        .sent_files()
        .iter()
        .filter_map(|f| {
            let raw = std::fs::read(f).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw)?;
            let to = m.to()?.first()?.address()?.to_string();
            Some((to, m.body_text(0)?.into_owned()))
        })
        .filter(|(to, text)| to == "anna@acme.example" && text.contains("Kim Park"))
        .map(|(_, text)| text)
        .next()
        .expect("a welcome to Acme about Kim");
    assert!(welcome.contains("2.500,00 CHF"), "{welcome}");

    let broken = t.dir.path().join("broken.toml");
    let text = std::fs::read_to_string(&t.config_path).unwrap();
    std::fs::write(
        &broken,
        text.replace("currency = \"CHF\"", "currency = \"EURO\""),
    )
    .unwrap();
    let output = tandem(&broken, &["check"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output)
            .contains("config key 'agency.currency' is invalid: 'EURO' is not a currency code"),
        "{}",
        describe(&output)
    );
}

/// Polish, item 8: every time the console prints is in the agency's zone and says so, to the
/// minute: never UTC beside local, never nanoseconds (`--json` keeps RFC 3339).
#[tokio::test]
async fn the_console_prints_times_in_the_agency_zone_to_the_minute() {
    use crate::edits::ok;
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    ok(&t, &["survey", "send", "1"]);
    t.deliver(
        "1.stranger",
        &message(
            "stranger@spam.example",
            "<s1@spam.example>",
            "Win big",
            "",
            "hello",
        ),
    );
    ok(&t, &["run", "--once"]);
    ok(&t, &["engagement", "end", "1"]);
    let nanoseconds = |text: &str| {
        text.as_bytes()
            .windows(7)
            .any(|w| w[0] == b'.' && w[1..].iter().all(u8::is_ascii_digit))
    };
    let mut zoned = 0;
    for args in [
        &["survey", "list"][..],
        &["survey", "show", "1"],
        &["outbox", "list"],
        &["quarantine", "list"],
        &["quarantine", "show", "1"],
        &["engagement", "show", "1"],
        &["assistant", "show", "1"],
        &["status"],
        &["digest", "--send"],
        &["digest", "--send"],
    ] {
        let out = ok(&t, args);
        assert!(!out.contains("UTC"), "{args:?}:\n{out}");
        assert!(!nanoseconds(&out), "{args:?}:\n{out}");
        if out.contains(" CET") || out.contains(" CEST") {
            zoned += 1;
        }
    }
    assert!(zoned >= 5, "times name their zone");
}

/// Confusing, item 4, through the binary: `survey send` sends the current period's survey,
/// labelled by its period in the list as in the mail; a second in the same period is
/// refused with the reason and changes nothing.
#[tokio::test]
async fn survey_send_is_the_periods_survey_and_once() {
    use crate::edits::{json, ok, refused};
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    ok(&t, &["survey", "send", "1"]);
    refused(
        &t,
        &["survey", "send", "1"],
        "went out already (survey 1, sent ",
    );
    let listed = json(&t, &["survey", "list"]);
    let period = listed[0]["period"].as_str().unwrap().to_string();
    assert!(!period.starts_with("manual-"), "{listed}");
    let table = ok(&t, &["survey", "list"]);
    let shown = ok(&t, &["survey", "show", "1"]);
    let label = shown
        .lines()
        .find_map(|l| l.strip_prefix("period:   "))
        .unwrap()
        .to_string();
    assert!(table.contains(&label), "{table}\n{shown}");
    assert!(!table.contains("manual"), "{table}");
}
