//! Benchmark: tandem's whole mail pipeline against its floors, and its memory (issue 12).
//!
//! Against a private Dovecot (`tests/api/servers.rs`) and a private Postfix `smtp-sink`, with N
//! time-log mails of about 2 KB (default 2,000; the first argument or `TANDEM_BENCH_MESSAGES`),
//! for each of ROUNDS rounds (default 3, `TANDEM_BENCH_ROUNDS`), each step on a fresh inbox and
//! a fresh database:
//! 1. the fetch floor: log in, select, raw async-imap `UID FETCH (UID BODY.PEEK[])` of the N
//!    mails in chunks of 1,000 (what any IMAP client has to do);
//! 2. tandem's ingest without sending: `Reader::drain` in this process, on the daemon's runtime
//!    (`tandem::runtime::build`: one CPU on SQLite, see `src/runtime.rs`) (fetch, parse, classify,
//!    store, queue a receipt, move). The CLI has no way to read without sending (`run --once`
//!    always drains the outbox, and the `file` backend is a way of sending too), so this one
//!    figure is measured in-process, as `cargo bench --bench ingest` does;
//! 3. the send floor: Postfix's `smtp-source`, 4 sessions (`pool_size`), N messages with bodies
//!    the size of the receipts step 2 queued, into the same kind of smtp-sink;
//! 4. the full pipeline: `tandem --config CFG run --once` as a child process, answering over
//!    SMTP into smtp-sink: wall time, CPU (user + sys) and peak RSS of the child (from GNU
//!    `/usr/bin/time`); checked: N rows, N receipts sent, N files in the sink answering the N
//!    mails once each, the inbox empty.
//!
//! Then the ratios (medians) against the goals of the issue, and, once, the memory: the idle RSS
//! of the daemon (`tandem run`, 3 s after start on an empty inbox, then SIGTERM) and the peak
//! RSS of `tandem run --once` draining a backlog of 100,000 queued messages
//! (`TANDEM_BENCH_BACKLOG`) into smtp-sink, with the time it took. A drain still going after
//! `TANDEM_BENCH_BACKLOG_BUDGET` seconds (default 180) is stopped and reported as unfinished,
//! with what it sent and its peak RSS until then: so the run ends in minutes even where each
//! claim costs time proportional to the queue.
//!
//! And, on each backend, several daemons on one database: one `tandem run`, then three, each
//! time on a fresh mailbox of `TANDEM_BENCH_SHARED` mails (default 10,000; 0 skips it), timed
//! from their start until every mail is recorded and answered and the INBOX is empty. Issue
//! 14's goal, three no slower than one, is for PostgreSQL, where several daemons are meant to
//! share the work ("no slower" allows 5 % for the noise of a shared machine). On SQLite the
//! daemons take turns at the mailbox and the one write lock, so the figures are printed for
//! comparison, without a verdict.
//!
//! Setup that is not measured: the people, the engagements and their welcome mails (and the
//! scheduler's catch-up) are done before the mail is delivered, with `.eml` files as the
//! outbound, so only the N answers go through SMTP. `TANDEM_BENCH_SENDERS` (default 1, as in
//! the issue) spreads the mails over that many assistants (answers to one recipient go out in
//! parallel too; only a mail that continues a thread waits for the earlier one).
//!
//! All of it on SQLite and then on PostgreSQL (a fresh database of the private server of
//! `tests/api/servers.rs` for every tandem set up), or on the one `TANDEM_BENCH_DATABASE` names
//! (see `backend.rs`); the floors are measured again beside each backend's runs. SQLite's
//! databases and the sink's files live in `TANDEM_BENCH_TMPDIR` (default `/dev/shm` where
//! writable, as the issue's `compare.sh`). Run: `cargo bench --bench pipeline [N]` (needs
//! Dovecot, Postfix and PostgreSQL, as the tests do). Prints figures; exits non-zero only when
//! a correctness check fails.

#[path = "../api/servers.rs"]
#[allow(dead_code)]
mod servers;

#[path = "backend.rs"]
mod backend;
#[path = "config.rs"]
mod config;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use servers::{Account, Dovecot, Tls};
use tandem::app::App;
use tandem::clock::SystemClock;
use tandem::config::Config;
use tandem::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::{Backend, people};
use tempfile::TempDir;

/// The ingest measured in-process allocates as the `tandem` binary does (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const BINARY: &str = env!("CARGO_BIN_EXE_tandem");
/// The sessions of the send floor: `[outbound.smtp] pool_size` as shipped.
const POOL_SIZE: usize = 4;
/// How long the idle daemon runs before its memory is read.
const IDLE_AFTER: Duration = Duration::from_secs(3);

struct Settings {
    messages: usize,
    rounds: usize,
    backlog: usize,
    /// The mailbox several daemons drain together (0: not measured).
    shared: usize,
    senders: usize,
    /// How long the backlog's drain may take before it is stopped and reported unfinished.
    budget: Duration,
    tmp: PathBuf,
}

fn number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

impl Settings {
    fn read() -> Settings {
        let messages = std::env::args()
            .nth(1)
            .filter(|a| !a.starts_with('-'))
            .map(|a| a.parse().expect("N must be a number"))
            .unwrap_or_else(|| number("TANDEM_BENCH_MESSAGES", 2000));
        let tmp = std::env::var_os("TANDEM_BENCH_TMPDIR")
            .map(PathBuf::from)
            .or_else(|| {
                let shm = PathBuf::from("/dev/shm");
                let writable = tempfile::tempdir_in(&shm).is_ok();
                writable.then_some(shm)
            })
            .unwrap_or_else(std::env::temp_dir);
        Settings {
            messages,
            rounds: number("TANDEM_BENCH_ROUNDS", 3).max(1),
            backlog: number("TANDEM_BENCH_BACKLOG", 100_000),
            shared: number("TANDEM_BENCH_SHARED", 10_000),
            senders: number("TANDEM_BENCH_SENDERS", 1).max(1),
            budget: Duration::from_secs(number("TANDEM_BENCH_BACKLOG_BUDGET", 180) as u64),
            tmp,
        }
    }
}

fn sender(j: usize) -> String {
    format!("va{j}@va.example")
}

/// Mail `i` of a run: the time log of assistant `i % senders`, about 2 KB, like a real short
/// mail with a signature and a quoted receipt (as in the ingest benchmark).
fn hours_mail(i: usize, senders: usize) -> Vec<u8> {
    let day = 1 + i % 28;
    let from = sender(i % senders);
    let quote = "> Your hours were logged: 2026-10-01 1h task\n".repeat(30);
    format!(
        "From: Assistant {j} <{from}>\r\nTo: team@example.org\r\nSubject: Hours {i}\r\n\
         Message-ID: <bench-{i}@va.example>\r\nDate: Fri, 30 Oct 2026 18:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\n2026-10-{day:02} 0:10 task {i}\r\n\
         yesterday 5min filing\r\n\r\nSam\r\n\r\nOn Thu, 29 Oct 2026 at 18:00, Example Agency wrote:\r\n{quote}",
        j = i % senders,
    )
    .into_bytes()
}

/// A Postfix program: from PATH, else from /usr/sbin (where Debian puts it).
fn postfix(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found: install Postfix (see README.md)"))
}

/// A private `smtp-sink` writing every message it accepts to a file of its own in `dir`. (The
/// tests' `sink.rs` reads every message into memory to count them; the backlog is 100,000.)
struct Sink {
    dir: TempDir,
    port: u16,
    child: Child,
}

impl Sink {
    fn start(tmp: &Path) -> Sink {
        let dir = tempfile::tempdir_in(tmp).unwrap();
        // smtp-sink drops to `nobody`, who must be able to write here.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(postfix("smtp-sink"))
            .args(["-u", "nobody", "-d"])
            .arg(format!("{}/%Y%m%d%H%M%S.", dir.path().display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("256")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start smtp-sink");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("smtp-sink exited ({status}) on port {port}");
            }
            assert!(Instant::now() < deadline, "smtp-sink does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sink { dir, port, child }
    }

    fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    fn count(&self) -> usize {
        self.files().len()
    }

    /// Waits (at most 10 s) until `n` messages are in, and says how many there are.
    fn settle(&self, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let count = self.count();
            if count >= n || Instant::now() > deadline {
                return count;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn clear(&self) {
        for file in self.files() {
            std::fs::remove_file(file).unwrap();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tandem set up for one measurement: its own folder and a fresh database, reading one Dovecot user,
/// people and engagements added and their welcome mails written as files (untimed).
struct Tandem {
    dir: TempDir,
    /// The config `run` uses: IMAP in, SMTP out to the sink.
    config: PathBuf,
    /// The same with `.eml` files out, for the in-process setup and ingest.
    setup: Config,
}

impl Tandem {
    async fn prepare(
        settings: &Settings,
        backend: Backend,
        dovecot: &Dovecot,
        account: &Account,
        sink: &Sink,
    ) -> (Tandem, App) {
        let dir = tempfile::tempdir_in(&settings.tmp).unwrap();
        let url = backend::fresh(backend, dir.path());
        let text = backend::with_url(&config::shipped_in(dir.path()), &url)
            .replace("batch_size = 100", "batch_size = 500")
            // Open around the clock, so the scheduler's catch-up goes out in the setup
            // whatever the time of day, not in the middle of a measured run.
            .replace(
                "send_window = \"mon-fri 08:00-18:00\"",
                "send_window = \"daily 00:00-23:59\"",
            );
        assert!(
            text.contains("daily 00:00-23:59"),
            "the shipped config changed"
        );
        let text = dovecot.tandem_config(dir.path(), &text, account, Tls::None);
        let smtp = text
            .replace("backend = \"file\"", "backend = \"smtp\"")
            .replace(
                "[engagements]",
                &format!(
                    "[outbound.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
                 pool_size = {POOL_SIZE}\n\n[engagements]",
                    sink.port
                ),
            );
        assert!(
            smtp.contains("[outbound.smtp]") && smtp.contains("backend = \"smtp\""),
            "the shipped config changed; the pipeline benchmark cannot edit it"
        );
        Config::from_toml(&smtp).expect("the benchmark's SMTP config is valid");
        let config = dir.path().join("tandem.toml");
        std::fs::write(&config, smtp).unwrap();

        let setup = Config::from_toml(&text).unwrap();
        let app = App::new(setup.clone(), Arc::new(SystemClock))
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let mut tx = app.pool.begin().await.unwrap();
        let acme = people::NewClient {
            name: "Acme GmbH".into(),
            tag: ClientTag::parse("acme").unwrap(),
            timezone: TimeZone::parse("Europe/Berlin").unwrap(),
            locale: Locale::De,
            contacts: vec![Contact::parse("Anna Berg <anna@acme.example>").unwrap()],
        };
        people::insert_client(&mut tx, &acme, now).await.unwrap();
        for j in 0..settings.senders {
            let assistant = people::NewAssistant {
                name: format!("Assistant {j}"),
                emails: vec![EmailAddress::parse(&sender(j)).unwrap()],
                timezone: TimeZone::parse("Europe/Lisbon").unwrap(),
                locale: Locale::En,
            };
            people::insert_assistant(&mut tx, &assistant, now)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        for j in 0..settings.senders {
            let request = EngagementRequest {
                assistant: EmailAddress::parse(&sender(j)).unwrap(),
                client: ClientTag::parse("acme").unwrap(),
                start: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                trial: TrialEnd::AfterWeeks(4),
                hourly_rate_cents: None,
                budget_minutes: None,
                running: false,
            };
            app.start_engagement(&request).await.unwrap();
        }
        // The welcome mails and the scheduler's catch-up go out now, as files: the measured
        // runs answer the time logs alone.
        app.run_once().await.unwrap();
        (Tandem { dir, config, setup }, app)
    }

    /// `tandem --config CFG ARGS`, in its folder, with no `TANDEM_*` variable of this process
    /// (they would override the config, and the benchmark's own are unknown keys to it).
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command.current_dir(self.dir.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TANDEM_") {
                command.env_remove(key);
            }
        }
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `tandem run --once`, timed, with its CPU and peak memory from GNU time. With a
    /// `budget`, a run still going after it is stopped (SIGTERM) and measured as far as it
    /// got (`finished` false).
    fn run_once(&self, budget: Option<Duration>) -> Measured {
        let times = self.dir.path().join("time.out");
        let log = self.log("run-once.log");
        let mut command = self.command(Path::new("/usr/bin/time"), &["-f", "%U %S %M", "-o"]);
        command
            .arg(&times)
            .arg(BINARY)
            .arg("--config")
            .arg(&self.config)
            .args(["run", "--once"])
            .stderr(std::fs::File::create(&log).unwrap());
        let start = Instant::now();
        let mut time = command
            .spawn()
            .expect("cannot run /usr/bin/time (GNU time)");
        let mut finished = true;
        let status = loop {
            if let Some(status) = time.try_wait().unwrap() {
                break status;
            }
            if finished && budget.is_some_and(|b| start.elapsed() > b) {
                // GNU time's child is tandem: stop it; time still reports its usage.
                let pid = time.id();
                let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                    .unwrap_or_default();
                for child in children.split_whitespace() {
                    Command::new("kill")
                        .args(["-TERM", child])
                        .status()
                        .unwrap();
                }
                finished = false;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let wall = start.elapsed().as_secs_f64();
        let said = std::fs::read_to_string(&times).unwrap_or_default();
        let fields: Vec<f64> = said
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if (finished && !status.success()) || fields.len() != 3 {
            fail(format!(
                "tandem run --once failed ({status}); time said {said:?}; its log:\n{}",
                tail(&log)
            ));
        }
        Measured {
            wall,
            cpu: fields.first().copied().unwrap_or(0.0) + fields.get(1).copied().unwrap_or(0.0),
            peak_kib: fields.get(2).copied().unwrap_or(0.0),
            finished,
        }
    }
}

/// The last lines of a log, for a failure message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A correctness check failed: say so now; the run ends non-zero.
fn fail(message: String) {
    eprintln!("CHECK FAILED: {message}");
    FAILED.store(true, std::sync::atomic::Ordering::SeqCst);
}
static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn check(ok: bool, message: impl FnOnce() -> String) {
    if !ok {
        fail(message());
    }
}

/// A child process measured whole.
#[derive(Clone, Copy)]
struct Measured {
    wall: f64,
    /// User + system seconds.
    cpu: f64,
    peak_kib: f64,
    /// Whether it ran to its end (not stopped at a budget).
    finished: bool,
}

fn deliver(dovecot: &Dovecot, account: &Account, settings: &Settings) {
    deliver_n(dovecot, account, settings, settings.messages);
}

fn deliver_n(dovecot: &Dovecot, account: &Account, settings: &Settings, n: usize) {
    for i in 0..n {
        dovecot.deliver(account, &hours_mail(i, settings.senders));
    }
}

async fn count(app: &App, sql: &'static str) -> i64 {
    tandem::store::on!(&mut *app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(sql).fetch_one(c).await
    })
    .unwrap()
}

/// 1. Log in, select, `UID FETCH (UID BODY.PEEK[])` of everything in chunks of 1,000.
async fn fetch_floor(dovecot: &Dovecot, settings: &Settings) -> f64 {
    let account = dovecot.add_user();
    deliver(dovecot, &account, settings);
    let start = Instant::now();
    let mut session = dovecot.session(&account).await;
    let exists = session.select("INBOX").await.unwrap().exists as usize;
    let mut fetched = 0;
    for first in (1..=exists.max(1)).step_by(1000) {
        let last = (first + 999).min(exists);
        let messages: Vec<_> = session
            .uid_fetch(format!("{first}:{last}"), "(UID BODY.PEEK[])")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        fetched += messages.iter().filter(|m| m.body().is_some()).count();
    }
    session.logout().await.ok();
    let secs = start.elapsed().as_secs_f64();
    check(fetched == settings.messages, || {
        format!(
            "the fetch floor read {fetched} of {} messages",
            settings.messages
        )
    });
    secs
}

/// 2. tandem's ingest in this process; returns its time and the mean size of the receipts it
///    queued. The reader runs as in the daemon: on a runtime of `tandem::runtime::build` (one CPU
///    on SQLite), on a thread of its own (the rest of the benchmark keeps every CPU).
async fn ingest(
    dovecot: &Dovecot,
    sink: &Sink,
    settings: &Settings,
    backend: Backend,
) -> (f64, usize) {
    let account = dovecot.add_user();
    let (tandem, app) = Tandem::prepare(settings, backend, dovecot, &account, sink).await;
    app.pool.close().await;
    drop(app);
    deliver(dovecot, &account, settings);
    let setup = tandem.setup.clone();
    let messages = settings.messages;
    let daemon = std::thread::spawn(move || {
        let (runtime, one_cpu) = tandem::runtime::build(Some(&setup.database.url)).unwrap();
        check(one_cpu == (backend == Backend::Sqlite), || {
            let on = if one_cpu { "is" } else { "is not" };
            format!("the ingest's runtime on {backend:?} {on} on one CPU, unlike the daemon's")
        });
        runtime.block_on(drain_once(setup, messages))
    });
    let measured = tokio::task::spawn_blocking(move || daemon.join())
        .await
        .unwrap();
    drop(tandem);
    measured.unwrap_or_else(|_| {
        fail("the ingest's thread panicked".into());
        (f64::NAN, 0)
    })
}

/// The timed part of [`ingest`]: `Reader::drain` of the N messages, then the check that each
/// was recorded and answered.
async fn drain_once(setup: Config, messages: usize) -> (f64, usize) {
    let app = App::new(setup, Arc::new(SystemClock)).await.unwrap();
    let start = Instant::now();
    let report = app.reader().drain().await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    let receipts = count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt' AND state = 'queued'",
    )
    .await as usize;
    // The receipts are stored as drafts: their size is that of the messages they become.
    let stored: Vec<Vec<u8>> = tandem::store::on!(&mut *app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = 'receipt'",
        )
        .fetch_all(c)
        .await
    })
    .unwrap();
    let written: usize = stored
        .iter()
        .map(|raw| {
            tandem::outbound::draft::write_out(raw, &app.templates)
                .unwrap()
                .len()
        })
        .sum();
    let size = written as f64 / stored.len().max(1) as f64;
    check(report.recorded == messages && receipts == messages, || {
        format!(
            "ingest recorded {} and queued {receipts} receipts for {messages} messages",
            report.recorded
        )
    });
    app.pool.close().await;
    (secs, size.round() as usize)
}

/// 3. `smtp-source`: N messages with `size`-byte bodies, `POOL_SIZE` sessions.
fn send_floor(sink: &Sink, settings: &Settings, size: usize) -> f64 {
    sink.clear();
    let start = Instant::now();
    let output = Command::new(postfix("smtp-source"))
        .args(["-s", &POOL_SIZE.to_string()])
        .args(["-m", &settings.messages.to_string()])
        .args(["-l", &size.to_string()])
        .args(["-f", "team@example.org", "-t", &sender(0)])
        .arg(format!("127.0.0.1:{}", sink.port))
        .output()
        .expect("cannot run smtp-source");
    let secs = start.elapsed().as_secs_f64();
    let arrived = sink.settle(settings.messages);
    check(
        output.status.success() && arrived == settings.messages,
        || {
            format!(
                "smtp-source ({}) delivered {arrived} of {}: {}",
                output.status,
                settings.messages,
                String::from_utf8_lossy(&output.stderr)
            )
        },
    );
    sink.clear();
    secs
}

/// The header `name` of a message as smtp-sink wrote it (LF line ends).
fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
}

/// 4. `tandem run --once` on a fresh inbox and database, answering over SMTP; checked.
async fn pipeline(
    dovecot: &Dovecot,
    sink: &Sink,
    settings: &Settings,
    backend: Backend,
) -> Measured {
    let n = settings.messages;
    let account = dovecot.add_user();
    let (tandem, app) = Tandem::prepare(settings, backend, dovecot, &account, sink).await;
    app.pool.close().await;
    drop(app);
    deliver(dovecot, &account, settings);
    sink.clear();
    let measured = tandem.run_once(None);

    // Exactly one answer per mail: one file answering each mail of this run, to the assistant
    // who wrote it. Other mail (the scheduler's, should a cadence fall due meanwhile) is
    // counted apart.
    let arrived = sink.settle(n);
    let mut answers = vec![0usize; n];
    let (mut others, mut wrong) = (0, Vec::new());
    for file in sink.files() {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        let rcpt = header(&text, "X-Rcpt-Args").unwrap_or_default().to_string();
        let parent = header(&text, "In-Reply-To").unwrap_or_default().to_string();
        let Some(i) = parent
            .strip_prefix("<bench-")
            .and_then(|p| p.strip_suffix("@va.example>"))
        else {
            others += 1;
            continue;
        };
        match i.parse::<usize>() {
            Ok(i) if i < n && rcpt == format!("<{}>", sender(i % settings.senders)) => {
                answers[i] += 1;
            }
            _ => wrong.push(format!("to {rcpt} in reply to {parent}")),
        }
    }
    let once = answers.iter().filter(|&&a| a == 1).count();
    let twice = answers.iter().filter(|&&a| a > 1).count();
    check(once == n && wrong.is_empty(), || {
        format!(
            "the sink got {arrived} messages: {once} of {n} mails answered once, {twice} more \
             than once, {others} other mail; misaddressed: {:?}",
            &wrong[..wrong.len().min(5)]
        )
    });
    if others > 0 {
        println!("  (the sink also got {others} other mail during run --once: the scheduler's)");
    }
    let app = App::new(tandem.setup.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let rows = count(&app, "SELECT COUNT(*) FROM inbound_message").await as usize;
    let sent = count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt' AND state = 'sent'",
    )
    .await as usize;
    app.pool.close().await;
    let mut session = dovecot.session(&account).await;
    let left = session.select("INBOX").await.unwrap().exists as usize;
    session.logout().await.ok();
    check(rows == n && sent == n && left == 0, || {
        format!(
            "after run --once: {rows} inbound rows, {sent} receipts sent, {left} mails left in the INBOX (expected {n}, {n}, 0)"
        )
    });
    sink.clear();
    measured
}

/// 7. `daemons` processes of `tandem run` on one database and one mailbox of `shared` mails,
///    from their start until every mail is recorded and answered and the INBOX is empty.
///    Returns the seconds it took (`None`: not done within the budget).
async fn daemons(
    dovecot: &Dovecot,
    sink: &Sink,
    settings: &Settings,
    backend: Backend,
    daemons: usize,
) -> Option<f64> {
    let n = settings.shared;
    let account = dovecot.add_user();
    let (tandem, app) = Tandem::prepare(settings, backend, dovecot, &account, sink).await;
    deliver_n(dovecot, &account, settings, n);
    sink.clear();
    let start = Instant::now();
    let mut children: Vec<Child> = (0..daemons)
        .map(|k| {
            tandem
                .command(Path::new(BINARY), &[])
                .arg("--config")
                .arg(&tandem.config)
                .arg("run")
                .stderr(std::fs::File::create(tandem.log(&format!("daemon-{k}.log"))).unwrap())
                .spawn()
                .unwrap()
        })
        .collect();
    let done = loop {
        let rows = count(&app, "SELECT COUNT(*) FROM inbound_message").await as usize;
        let unsent = count(&app, "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'").await;
        if rows == n && unsent == 0 {
            let mut session = dovecot.session(&account).await;
            let left = session.select("INBOX").await.unwrap().exists;
            session.logout().await.ok();
            if left == 0 {
                break Some(start.elapsed().as_secs_f64());
            }
        }
        if start.elapsed() > settings.budget {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for child in &mut children {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
    }
    for (k, child) in children.iter_mut().enumerate() {
        let status = child.wait().unwrap();
        check(status.success(), || {
            format!(
                "daemon {k} of {daemons} did not stop cleanly ({status}):\n{}",
                tail(&tandem.log(&format!("daemon-{k}.log")))
            )
        });
    }
    let receipts = count(&app, "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'").await;
    let arrived = sink.settle(n);
    check(
        done.is_none() || (receipts as usize == n && arrived >= n),
        || format!("{daemons} daemons: {receipts} receipts queued, {arrived} arrived of {n}"),
    );
    app.pool.close().await;
    sink.clear();
    done
}

/// A `VmNAME` of a process, in KiB.
fn status_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0)
}

/// 6a. The daemon on an empty inbox: its RSS after `IDLE_AFTER`, then SIGTERM. Returns the
///     RSS in KiB and how long it took to stop.
async fn idle(dovecot: &Dovecot, sink: &Sink, settings: &Settings, backend: Backend) -> (f64, f64) {
    let account = dovecot.add_user();
    let (tandem, app) = Tandem::prepare(settings, backend, dovecot, &account, sink).await;
    app.pool.close().await;
    drop(app);
    let log = tandem.log("run.log");
    let mut daemon = tandem
        .command(Path::new(BINARY), &[])
        .arg("--config")
        .arg(&tandem.config)
        .arg("run")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(IDLE_AFTER);
    let rss = status_kib(daemon.id(), "VmRSS:");
    if let Some(status) = daemon.try_wait().unwrap() {
        fail(format!(
            "tandem run exited ({status}) before it was measured:\n{}",
            tail(&log)
        ));
        return (rss, 0.0);
    }
    let stop = Instant::now();
    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    let deadline = stop + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            daemon.kill().unwrap();
            daemon.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stopped = stop.elapsed().as_secs_f64();
    check(status.is_some_and(|s| s.success()), || {
        format!(
            "tandem run did not stop cleanly on SIGTERM ({status:?}):\n{}",
            tail(&log)
        )
    });
    (rss, stopped)
}

/// 6b. `tandem run --once` draining `backlog` queued messages into smtp-sink. The backlog is
///     one receipt queued the normal way (an answered time log), copied with SQL inside the
///     database before the child starts, each copy to a recipient of its own (the worker never
///     sends two at once to one recipient) and with no engagement (as after an outage, a real
///     backlog is spread over many; the scheduler would otherwise read 100,000 keys of one).
async fn backlog(
    dovecot: &Dovecot,
    settings: &Settings,
    backend: Backend,
) -> (Measured, f64, usize) {
    let sink = Sink::start(&settings.tmp);
    let account = dovecot.add_user();
    let (tandem, app) = Tandem::prepare(settings, backend, dovecot, &account, &sink).await;
    dovecot.deliver(&account, &hours_mail(0, 1));
    let report = app.reader().drain().await.unwrap();
    assert_eq!(report.recorded, 1, "the backlog's first receipt");
    let seeding = Instant::now();
    let copies = settings.backlog.saturating_sub(1) as i64;
    let mut tx = app.pool.begin().await.unwrap();
    tandem::store::on!(&mut *tx, |c| sqlx::query(
        "WITH RECURSIVE copy(i) AS (SELECT 1 WHERE $1 > 0 UNION ALL SELECT i + 1 FROM copy WHERE i < $1) \
         INSERT INTO outbox (natural_key, message_id, kind, engagement_id, recipient, subject, \
                             token, survey_id, state, attempts, next_attempt_at, created_at) \
         SELECT o.natural_key || ':backlog:' || copy.i, 'backlog-' || copy.i || '-' || o.message_id, \
                o.kind, NULL, 'r' || copy.i || '@backlog.example', o.subject, NULL, NULL, \
                'queued', 0, o.next_attempt_at, o.created_at \
         FROM copy, (SELECT * FROM outbox WHERE kind = 'receipt' AND state = 'queued') o",
    )
    .bind(copies)
    .execute(c)
    .await.map(|r| r.rows_affected()))
    .unwrap();
    // Each copy carries the first receipt's bytes.
    tandem::store::on!(&mut *tx, |c| sqlx::query(
        "INSERT INTO outbox_raw (outbox_id, raw) \
         SELECT b.id, (SELECT r.raw FROM outbox_raw r JOIN outbox o ON o.id = r.outbox_id \
                       WHERE o.kind = 'receipt' AND o.natural_key NOT LIKE '%:backlog:%' LIMIT 1) \
         FROM outbox b WHERE b.natural_key LIKE '%:backlog:%'",
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    tx.commit().await.unwrap();
    let queued = count(&app, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'").await as usize;
    app.pool.close().await;
    drop(app);
    let seeded = seeding.elapsed().as_secs_f64();
    check(queued == settings.backlog, || {
        format!(
            "{queued} messages queued for a backlog of {}",
            settings.backlog
        )
    });

    let measured = tandem.run_once(Some(settings.budget));
    let arrived = match measured.finished {
        true => sink.settle(settings.backlog),
        false => sink.count(),
    };
    let app = App::new(tandem.setup.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let sent = count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt' AND state = 'sent'",
    )
    .await as usize;
    app.pool.close().await;
    // Stopped at the budget, up to `pool_size` sends may have arrived and not been recorded.
    let in_flight = if measured.finished { 0 } else { POOL_SIZE };
    let all = !measured.finished || sent == settings.backlog;
    check(
        all && arrived >= sent && arrived <= sent + in_flight,
        || {
            format!(
                "the backlog of {}: {sent} recorded sent, {arrived} arrived",
                settings.backlog
            )
        },
    );
    (measured, seeded, sent)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() % 2 {
        0 => (values[mid - 1] + values[mid]) / 2.0,
        _ => values[mid],
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "misses" }
}

fn mib(kib: f64) -> f64 {
    kib / 1024.0
}

#[tokio::main]
async fn main() {
    let settings = Settings::read();
    let n = settings.messages;
    assert!(n > 0, "N must be at least 1");
    println!(
        "pipeline: N={n} time-log mails of about 2 KB from {} assistant(s), {} round(s), \
         {} CPUs; databases and sink files in {}",
        settings.senders,
        settings.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        settings.tmp.display()
    );
    let dovecot = Dovecot::start();
    let sink = Sink::start(&settings.tmp);
    for backend in backend::chosen() {
        measure(&settings, backend, &dovecot, &sink).await;
    }
    drop(sink);
    if FAILED.load(std::sync::atomic::Ordering::SeqCst) {
        eprintln!("pipeline: a correctness check failed (see above)");
        std::process::exit(1);
    }
}

/// Every figure on `backend`, each measurement on a database of its own; printed under a
/// heading naming the backend. The floors do not touch a database: they are measured again
/// beside each backend's runs, so each ratio compares figures taken together.
async fn measure(settings: &Settings, backend: Backend, dovecot: &Dovecot, sink: &Sink) {
    let n = settings.messages;
    let label = backend::name(backend);
    println!();
    println!("== {label} ==");

    let (mut fetch, mut ingest_s, mut send, mut wall, mut cpu, mut peak) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut size = 0;
    for round in 1..=settings.rounds {
        let f = fetch_floor(dovecot, settings).await;
        let (i, reply) = ingest(dovecot, sink, settings, backend).await;
        size = reply;
        let s = send_floor(sink, settings, size);
        let p = pipeline(dovecot, sink, settings, backend).await;
        println!(
            "{label} round {round}: fetch floor {f:.3} s, ingest {i:.3} s, send floor {s:.3} s, \
             run --once {:.3} s (cpu {:.2} s, peak {:.1} MiB)",
            p.wall,
            p.cpu,
            mib(p.peak_kib)
        );
        fetch.push(f);
        ingest_s.push(i);
        send.push(s);
        wall.push(p.wall);
        cpu.push(p.cpu);
        peak.push(p.peak_kib);
    }
    let (fetch, ingest_s, send) = (median(&mut fetch), median(&mut ingest_s), median(&mut send));
    let (wall, cpu, peak) = (median(&mut wall), median(&mut cpu), median(&mut peak));
    let rate = |secs: f64| n as f64 / secs;
    println!();
    const W: usize = 58;
    println!(
        "{:<W$} {:>8} {:>9} {:>7} {:>9}",
        format!("{label}: medians of {} round(s), N={n}", settings.rounds),
        "wall s",
        "msg/s",
        "cpu s",
        "peak MiB"
    );
    let rows = [
        (
            "fetch floor (async-imap: login, UID FETCH BODY.PEEK[])".to_string(),
            fetch,
        ),
        (
            format!("send floor (smtp-source -s {POOL_SIZE}, bodies of {size} B)"),
            send,
        ),
        (
            "tandem ingest, no sending (Reader::drain, in-process)".to_string(),
            ingest_s,
        ),
    ];
    for (what, secs) in rows {
        println!("{what:<W$} {secs:>8.3} {:>9.0}", rate(secs));
    }
    println!(
        "{:<W$} {wall:>8.3} {:>9.0} {cpu:>7.2} {:>9.1}",
        "tandem run --once (a process: fetch ... answer over SMTP)",
        rate(wall),
        mib(peak)
    );
    let ingest_ratio = rate(ingest_s) / rate(fetch);
    let floor = fetch + send;
    let pipeline_ratio = floor / wall;
    println!();
    println!(
        "{label}: ratio ingest / fetch floor:      {ingest_ratio:6.3} (goal >= 0.25: {})",
        verdict(ingest_ratio >= 0.25)
    );
    println!(
        "{label}: ratio pipeline / combined floor: {pipeline_ratio:6.3} (goal >= 0.5: {}; \
         combined floor {floor:.3} s = fetch + send)",
        verdict(pipeline_ratio >= 0.5)
    );

    let (rss, stopped) = idle(dovecot, sink, settings, backend).await;
    println!();
    println!(
        "{label}: idle RSS of tandem run ({} s after start, empty inbox): {:.1} MiB (goal <= 20 MB: {}); \
         stopped {stopped:.2} s after SIGTERM",
        IDLE_AFTER.as_secs(),
        mib(rss),
        verdict(rss * 1024.0 <= 20e6)
    );
    if settings.shared > 0 {
        let one = daemons(dovecot, sink, settings, backend, 1).await;
        let three = daemons(dovecot, sink, settings, backend, 3).await;
        let show = |t: Option<f64>| match t {
            Some(t) => format!("{t:.1} s ({:.0} msg/s)", settings.shared as f64 / t),
            None => format!("not done within {} s", settings.budget.as_secs()),
        };
        println!();
        let goal = match backend {
            Backend::Postgres => format!(
                "goal: three no slower than one: {}",
                verdict(matches!((one, three), (Some(a), Some(b)) if b <= a * 1.05))
            ),
            // One reader at a time and one writer: three daemons share no work here.
            Backend::Sqlite => "no goal on SQLite: its daemons take turns".to_string(),
        };
        println!(
            "{label}: {} mails drained by one daemon in {}, by three on one database in {} \
             ({goal})",
            settings.shared,
            show(one),
            show(three),
        );
    }
    if settings.backlog > 0 {
        let (drain, seeded, sent) = backlog(dovecot, settings, backend).await;
        let peak = mib(drain.peak_kib);
        let meets = drain.peak_kib * 1024.0 <= 64e6;
        if drain.finished {
            println!(
                "{label}: peak RSS of run --once draining {} queued: {peak:.1} MiB (goal <= 64 MB: {}); \
                 drained in {:.1} s ({:.0} msg/s, cpu {:.1} s; seeded in {seeded:.1} s)",
                settings.backlog,
                verdict(meets),
                drain.wall,
                sent as f64 / drain.wall,
                drain.cpu
            );
        } else {
            println!(
                "{label}: peak RSS of run --once draining {} queued: DID NOT FINISH within {} s \
                 (TANDEM_BENCH_BACKLOG_BUDGET): {sent} sent ({:.0} msg/s, cpu {:.1} s; seeded \
                 in {seeded:.1} s); peak RSS until stopped {peak:.1} MiB (goal <= 64 MB: {} so far)",
                settings.backlog,
                settings.budget.as_secs(),
                sent as f64 / drain.wall,
                drain.cpu,
                verdict(meets)
            );
        }
    }
}
