//! `spawn_app()`: a tandem of its own for each test, on a temporary folder (database, Maildir,
//! outbox) with a manual clock, plus helpers that read what it wrote and say what they saw when
//! an assertion fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::Arc;
use std::sync::mpsc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use tandem::app::App;
use tandem::clock::ManualClock;
use tandem::config::Config;
use tandem::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::people::{self, NewAssistant, NewClient};
use tempfile::TempDir;

pub const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
pub const BINARY: &str = env!("CARGO_BIN_EXE_tandem");

/// Sends signal `name` (`TERM`, `INT`, `STOP`, `CONT`, ...) to process `pid` with kill(1);
/// whether it was sent (not when the process is gone).
pub fn send_signal(name: &str, pid: u32) -> bool {
    Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|status| status.success())
}

/// The lines a spawned child writes to its stdout and its stderr (whichever of them is piped),
/// on one channel, so a test waits on what it says; the channel closes once the pipes have. Each
/// pipe is read to its end, whether or not the channel is still read, so the child never
/// blocks on a full pipe.
pub fn output_lines(child: &mut Child) -> mpsc::Receiver<String> {
    fn forward(pipe: impl std::io::Read + Send + 'static, tx: mpsc::Sender<String>) {
        std::thread::spawn(move || {
            BufReader::new(pipe)
                .lines()
                .map_while(Result::ok)
                .for_each(|l| drop(tx.send(l)))
        });
    }
    let (tx, lines) = mpsc::channel::<String>();
    if let Some(out) = child.stdout.take() {
        forward(out, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        forward(err, tx);
    }
    lines
}

/// The config shipped in `config/tandem.toml`.
pub fn shipped_config() -> String {
    std::fs::read_to_string(Path::new(MANIFEST_DIR).join("config/tandem.toml")).unwrap()
}

pub struct TestApp {
    /// Holds every file of this app; removed when the test ends.
    pub dir: TempDir,
    pub config_path: PathBuf,
    pub app: Arc<App>,
    pub clock: ManualClock,
}

/// 2026-11-26 10:00 UTC, a Thursday.
pub fn test_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
        .unwrap()
        .to_utc()
}

/// The first day of last month, on the wall clock: where [`TestApp::add_engagement_by_cli`]'s
/// engagement starts. The binary runs on the wall clock, and an engagement begun more than a
/// year before today is entered as running, without welcome mails and trial, so a fixed date
/// would change what these tests see one day.
pub fn cli_start() -> NaiveDate {
    let today = Utc::now().date_naive();
    today
        .with_day(1)
        .and_then(|first| first.checked_sub_months(chrono::Months::new(1)))
        .unwrap()
}

/// Day `i % 28` of [`cli_start`]'s month (`YYYY-MM-DD`) and a `Date:` header of the evening
/// of the 28th: a time log for the engagement of [`TestApp::add_engagement_by_cli`], of a
/// day after its start and sent after that day, but before today.
pub fn cli_hours_day(i: usize) -> (String, String) {
    let day = cli_start() + chrono::Days::new((i % 28) as u64);
    let sent = (cli_start() + chrono::Days::new(27))
        .and_hms_opt(18, 0, 0)
        .unwrap()
        .and_utc();
    (day.to_string(), sent.to_rfc2822())
}

/// Whether this run's apps use PostgreSQL (`TANDEM_TEST_DATABASE=postgres`, the second run of
/// `.ci/test`) instead of SQLite.
pub fn on_postgres() -> bool {
    match std::env::var("TANDEM_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("TANDEM_TEST_DATABASE={other}: give postgres or sqlite"),
    }
}

/// The database of an app in `dir`: a file there, or on PostgreSQL a fresh database of the
/// run's private server.
pub fn database_url(dir: &Path) -> String {
    if on_postgres() {
        crate::servers::Postgres::shared().create_database()
    } else {
        format!("sqlite://{}/var/tandem.db", dir.display())
    }
}

/// `text` with its database moved to `url`, whichever backend the run uses (for tests of one
/// backend's own behaviour, such as SQLite's file on a full disk).
pub fn with_database(text: &str, url: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with("url = ") && (l.contains("sqlite:") || l.contains("postgres")))
        .expect("the config names its database");
    text.replace(line, &format!("url = \"{url}\""))
}

/// The shipped config with every path moved into `dir`, and its database the run's backend
/// (see [`database_url`]).
pub fn config_text(dir: &Path) -> String {
    let d = dir.display();
    shipped_config()
        .replace("sqlite://var/tandem.db", &database_url(dir))
        .replace("\"var/mail/inbox\"", &format!("\"{d}/var/mail/inbox\""))
        .replace("\"var/mail/outbox\"", &format!("\"{d}/var/mail/outbox\""))
        .replace(
            "dir = \"templates\"",
            &format!("dir = \"{MANIFEST_DIR}/templates\""),
        )
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, text| text).await
}

/// [`spawn_app`] on SQLite whichever backend the run uses, at the file an SQLite run has: for
/// tests of SQLite's own behaviour (its journal beside the file, a read-only file), which so
/// run in both passes of `.ci/test`.
pub async fn spawn_sqlite_app() -> TestApp {
    spawn_app_with(|dir, text| {
        with_database(&text, &format!("sqlite://{}/var/tandem.db", dir.display()))
    })
    .await
}

/// `spawn_app()` on an edited config: `edit(dir, text)` gets the app's folder and the config
/// text with every path moved into it, and returns the text to use (say, reading from IMAP).
pub async fn spawn_app_with(edit: impl FnOnce(&Path, String) -> String) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let text = edit(dir.path(), config_text(dir.path()));
    let config_path = dir.path().join("tandem.toml");
    std::fs::write(&config_path, &text).unwrap();
    let config = Config::from_toml(&text).unwrap();
    let clock = ManualClock::new(test_now());
    let app = App::new(config, Arc::new(clock.clone())).await.unwrap();
    TestApp {
        dir,
        config_path,
        app: Arc::new(app),
        clock,
    }
}

impl TestApp {
    /// A fresh App on the same folders and database, as after a restart of the daemon.
    pub async fn restart(&self) -> Arc<App> {
        let config = Config::load(&self.config_path).unwrap();
        Arc::new(
            App::new(config, Arc::new(self.clock.clone()))
                .await
                .unwrap(),
        )
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        self.clock.now_utc()
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.path().join("var/mail/inbox")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.dir.path().join("var/mail/outbox")
    }

    /// Delivers a message as an MTA would: written to `tmp/`, renamed into `new/`.
    pub fn deliver(&self, name: &str, raw: &[u8]) {
        let tmp = self.inbox().join("tmp").join(name);
        std::fs::write(&tmp, raw).unwrap();
        std::fs::rename(&tmp, self.inbox().join("new").join(name)).unwrap();
    }

    /// Files under a Maildir folder, relative to the inbox (`.Processed/cur/NAME`), sorted.
    pub fn mailbox_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.inbox(), &self.inbox(), &mut out);
        out.retain(|f| !f.ends_with("maildirfolder"));
        out.sort();
        out
    }

    /// The `.eml` files written by the file transport, sorted by name.
    pub fn sent_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(self.outbox_dir()) {
            Ok(entries) => entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files
    }

    /// Runs the binary against this app's config.
    pub fn tandem(&self, args: &[&str]) -> Output {
        Command::new(BINARY)
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .env("TANDEM_LOG", "warn")
            .output()
            .unwrap()
    }

    /// Sam, Acme and their engagement from [`cli_start`], through the CLI (as an operator
    /// would).
    pub fn add_engagement_by_cli(&self) {
        self.add_people_by_cli();
        let start = cli_start().to_string();
        let args = [
            "engagement",
            "add",
            "--assistant",
            "sam@va.example",
            "--client",
            "acme",
            "--start",
            &start,
        ];
        let output = self.tandem(&args);
        assert!(output.status.success(), "{args:?}\n{}", describe(&output));
    }

    /// Sam and Acme (with Anna as its contact), through the CLI, with no engagement yet.
    pub fn add_people_by_cli(&self) {
        for args in [
            &[
                "assistant",
                "add",
                "--name",
                "Sam Lee",
                "--email",
                "sam@va.example",
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
                "--contact",
                "Anna Berg <anna@acme.example>",
            ],
        ] {
            let output = self.tandem(args);
            assert!(output.status.success(), "{args:?}\n{}", describe(&output));
        }
    }

    /// Runs SQL statements (`;`-separated, no parameters) on the app's database.
    pub async fn execute(&self, sql: &str) {
        tandem::store::on!(&mut *self.app.pool.acquire().await.unwrap(), |c| {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The one number a query gives.
    pub async fn scalar(&self, sql: &str) -> i64 {
        tandem::store::on!(&mut *self.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(c)
                .await
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// Sam Lee (English, Lisbon) and Acme GmbH (German, Berlin) with two contacts.
    pub async fn add_people(&self) {
        let now = self.clock.now_utc();
        let mut tx = self.app.pool.begin().await.unwrap();
        people::insert_assistant(
            &mut tx,
            &NewAssistant {
                name: "Sam Lee".into(),
                emails: vec![
                    EmailAddress::parse("sam@va.example").unwrap(),
                    EmailAddress::parse("sam.lee@gmail.example").unwrap(),
                ],
                timezone: TimeZone::parse("Europe/Lisbon").unwrap(),
                locale: Locale::En,
            },
            now,
        )
        .await
        .unwrap();
        people::insert_client(
            &mut tx,
            &NewClient {
                name: "Acme GmbH".into(),
                tag: ClientTag::parse("acme").unwrap(),
                timezone: TimeZone::parse("Europe/Berlin").unwrap(),
                locale: Locale::De,
                contacts: vec![
                    Contact::parse("Anna Berg <anna@acme.example> | Geschäftsführung | Mo-Do 9-13")
                        .unwrap(),
                    Contact::parse("Ben Roth <ben@acme.example>").unwrap(),
                ],
            },
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// Sam for Acme from 2026-12-01, four weeks' trial, 45 an hour, 20 hours a month.
    pub async fn start_engagement(&self) -> tandem::onboarding::Started {
        self.start_engagement_from(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .await
    }

    /// The same engagement begun on Monday 23 Nov 2026, the week of [`test_now`], for tests that
    /// log hours of that week: hours dated before an engagement's start are rejected. Nothing
    /// of its schedule is due at `test_now` yet (its first survey is on Friday the 27th).
    pub async fn start_engagement_for_hours(&self) -> tandem::onboarding::Started {
        self.start_engagement_from(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
            .await
    }

    /// Sam for Acme from `start`, four weeks' trial, 45 an hour, 20 hours a month.
    pub async fn start_engagement_from(&self, start: NaiveDate) -> tandem::onboarding::Started {
        self.app
            .start_engagement(&EngagementRequest {
                assistant: EmailAddress::parse("sam@va.example").unwrap(),
                client: ClientTag::parse("acme").unwrap(),
                start,
                trial: TrialEnd::Default,
                hourly_rate_cents: Some(4500),
                budget_minutes: Some(1200),
                running: false,
            })
            .await
            .unwrap()
    }
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        tandem::clock::Clock::now(self)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

/// A plain message from `from`.
pub fn message(
    from: &str,
    message_id: &str,
    subject: &str,
    extra_headers: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Example Agency <team@example.org>\r\nSubject: {subject}\r\n\
         Message-ID: {message_id}\r\nDate: Thu, 26 Nov 2026 09:30:00 +0100\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Sam's time log number `n` (`<hoursN@va.example>`): an hour of invoices on 2026-11-(2 + n).
pub fn numbered_time_log(n: u32) -> Vec<u8> {
    message(
        "Sam Lee <sam@va.example>",
        &format!("<hours{n}@va.example>"),
        "Hours",
        "",
        &format!("2026-11-{:02} 1h Invoices", 2 + n),
    )
}

/// Compares `actual` with `tests/golden/NAME`. On a mismatch it writes `NAME.actual` beside it
/// and fails; `TANDEM_BLESS=1` writes the golden file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(MANIFEST_DIR).join("tests/golden").join(name);
    if std::env::var_os("TANDEM_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        let actual_path = path.with_extension(format!(
            "{}.actual",
            path.extension().unwrap().to_string_lossy()
        ));
        std::fs::write(&actual_path, actual).unwrap();
        panic!(
            "golden file {} is missing; the actual output is in {} (TANDEM_BLESS=1 accepts it)",
            path.display(),
            actual_path.display()
        )
    });
    if expected != actual {
        let actual_path = path.with_extension(format!(
            "{}.actual",
            path.extension().unwrap().to_string_lossy()
        ));
        std::fs::write(&actual_path, actual).unwrap();
        panic!(
            "{} differs from the golden file; the actual output is in {}\n\
             (diff them; TANDEM_BLESS=1 accepts the new output)",
            path.display(),
            actual_path.display()
        );
    }
}

/// Prints a command's output when it is not what a test expected.
pub fn describe(output: &Output) -> String {
    format!(
        "exit: {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Reads every `.eml` of a golden corpus in `dir` as `tandem parse --json` reads it (against
/// the world `t` holds, at `now`) and compares each with the `.json` beside it. A mismatch
/// writes `NAME.actual.json` and fails, naming every one; `TANDEM_BLESS=1` writes the expected
/// files instead. Returns each file with what was read from it.
pub async fn check_corpus(
    t: &TestApp,
    dir: &Path,
    now: DateTime<Utc>,
) -> Vec<(PathBuf, tandem::cli::parse::Parsed)> {
    let bless = std::env::var_os("TANDEM_BLESS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let mut mismatches = Vec::new();
    let mut read = Vec::new();
    for file in files {
        let raw = std::fs::read(&file).unwrap();
        let parsed =
            tandem::cli::parse::analyse(&t.app.config, Some(&t.app.pool), &raw, now, false)
                .await
                .unwrap();
        let actual = serde_json::to_string_pretty(&parsed).unwrap() + "\n";
        let expected_path = file.with_extension("json");
        let actual_path = file.with_extension("actual.json");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
        } else {
            match std::fs::read_to_string(&expected_path) {
                Ok(expected) if expected == actual => {
                    let _ = std::fs::remove_file(&actual_path);
                }
                _ => {
                    std::fs::write(&actual_path, &actual).unwrap();
                    mismatches.push(actual_path.display().to_string());
                }
            }
        }
        read.push((file, parsed));
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} fixtures differ from their .json; the actual output is in:\n{}",
        mismatches.len(),
        read.len(),
        mismatches.join("\n")
    );
    read
}
