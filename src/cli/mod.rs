//! The command line: one file per noun. Each command validates its arguments into domain values
//! first, so a bad argument is refused before anything is opened or changed.
//!
//! Output goes through this module's `println!` (below), which ends the output quietly when
//! stdout is closed (`tandem hours list | head`) instead of panicking.

/// Standard output for the commands. `std::println!` panics when stdout is a pipe whose reader
/// has gone (`failed printing to stdout: Broken pipe`, exit 101); this one treats a closed
/// stdout as the end of the output: it and every later line are dropped, and the command goes
/// on to its end (its writes are never cut off midway) and exits as it would have. Shadowing
/// the standard macro here covers every command in `cli/` without a `?` on each line; text
/// is formatted as `std::println!` formats it.
macro_rules! println {
    () => {
        $crate::cli::write_out(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_out(format_args!($($arg)*))
    };
}

mod agreement;
mod assistant;
mod attention;
mod backup;
mod check;
mod client;
mod completions;
mod daemon;
mod db;
mod digest;
mod engagement;
mod filed;
mod hours;
mod import;
mod man;
mod outbox;
pub mod parse;
mod privacy;
mod quarantine;
mod schedule;
mod status;
mod survey;
mod timesheet;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::app::App;
use crate::clock::SystemClock;
use crate::config::{self, Config};
use crate::domain::{Locale, TimeZone};
use crate::store::{self, Pool};

#[derive(Debug, Parser)]
#[command(
    name = "tandem",
    version,
    about = "The mail daemon for virtual-assistant agencies"
)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "TANDEM_CONFIG", default_value = config::DEFAULT_PATH)]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database and the mail folders from the config.
    Init,
    /// Run the daemon: read mail, send mail, keep the schedule. Ctrl-C stops it.
    Run {
        /// One pass of everything, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Assistants: add, edit, list, show.
    #[command(subcommand)]
    Assistant(assistant::Command),
    /// Clients and their contact persons: add, edit, list, show.
    #[command(subcommand)]
    Client(client::Command),
    /// Engagements (one assistant working for one client): add, list, show, edit, pause,
    /// resume, activate, end.
    #[command(subcommand)]
    Engagement(engagement::Command),
    /// Agreements: list, sign, waive, remind, reset.
    #[command(subcommand)]
    Agreement(agreement::Command),
    /// Feedback surveys and trial reviews: list, show, send.
    #[command(subcommand)]
    Survey(survey::Command),
    /// The schedule: preview what it will send.
    #[command(subcommand)]
    Schedule(schedule::Command),
    /// Logged hours: list, void, restore, export (CSV for billing), lock and unlock a billed
    /// month.
    #[command(subcommand)]
    Hours(hours::Command),
    /// Outgoing mail: list, retry.
    #[command(subcommand)]
    Outbox(outbox::Command),
    /// Monthly timesheets to the clients' billing contacts: list, show, send, approve.
    #[command(subcommand)]
    Timesheet(timesheet::Command),
    /// Import assistants, clients with contacts and engagements from a CSV file (all or
    /// nothing).
    Import(import::Args),
    /// Quarantined mail (unknown senders, unreadable): list, show, release to the reader.
    #[command(subcommand)]
    Quarantine(quarantine::Command),
    /// Mail for a person (from known people, not understood): list, show, done.
    #[command(subcommand)]
    Attention(attention::Command),
    /// The operator's weekly digest: preview it, or send it now.
    Digest(digest::Args),
    /// Show how the daemon reads one message, without changing anything.
    Parse(parse::Args),
    /// Check the config, templates, database and mail transports.
    Check,
    /// The daemon's health from the database, whether or not it runs.
    Status(status::Args),
    /// Copy the database (consistently, while the daemon runs) and the mail folders tandem owns.
    Backup(backup::Args),
    /// The database as a whole: copy it into another (SQLite to PostgreSQL, or back).
    #[command(subcommand)]
    Db(db::Command),
    /// A person's data (GDPR): export it, or erase them.
    #[command(subcommand)]
    Privacy(privacy::Command),
    /// Print the shell completion script (bash, zsh, fish, ...); see the README to install it.
    Completions(completions::Args),
    /// Print the manual page (roff), or write one per command into a folder.
    Man(man::Args),
}

impl Cli {
    /// The config this command reads, or `None` for `db copy`, which names both its
    /// databases and reads none, and for `completions` and `man`. Read before the command runs, so that its `[log]` section
    /// sets up the log.
    pub fn load_config(&self) -> Option<Result<Config, config::ConfigError>> {
        match self.command {
            Command::Db(_) | Command::Completions(_) | Command::Man(_) => None,
            _ => Some(Config::load(&self.config)),
        }
    }

    /// Whether this is the daemon (`run`), which logs `info` by default; every other command
    /// logs only warnings and errors unless `TANDEM_LOG` says otherwise.
    pub fn is_daemon(&self) -> bool {
        matches!(self.command, Command::Run { .. })
    }
}

/// Runs one command on the config [`Cli::load_config`] read, so every command refuses a
/// broken one alike (but `db copy`, which reads none).
pub async fn run(
    cli: Cli,
    config: Option<Result<Config, config::ConfigError>>,
) -> anyhow::Result<()> {
    // `db copy` names both its databases: it reads no config.
    let command = match cli.command {
        Command::Db(command) => return db::run(command).await,
        // Generated from the command definitions alone.
        Command::Completions(args) => return completions::run(args),
        Command::Man(args) => return man::run(args),
        command => command,
    };
    let config = match config {
        Some(config) => config?,
        None => Config::load(&cli.config)?,
    };
    let database = config.database.url.clone();
    run_command(command, config, &cli.config)
        .await
        .map_err(|e| name_the_read_only_database(e, &database))
}

/// A write refused by a read-only database names the database (SQLite's file), once.
fn name_the_read_only_database(error: anyhow::Error, url: &str) -> anyhow::Error {
    let reason = error.chain().find_map(|cause| {
        cause
            .downcast_ref::<store::StoreError>()
            .and_then(|e| e.read_only_reason())
    });
    match reason {
        Some(reason) => anyhow::anyhow!(
            "could not write {}: it is read-only ({reason})",
            store::database_named(url)
        ),
        None => error,
    }
}

async fn run_command(command: Command, config: Config, path: &Path) -> anyhow::Result<()> {
    match command {
        Command::Init => daemon::init(config).await,
        Command::Run { once } => daemon::run(config, path, once).await,
        Command::Assistant(command) => assistant::run(config, command).await,
        Command::Client(command) => client::run(config, command).await,
        Command::Engagement(command) => engagement::run(config, command).await,
        Command::Agreement(command) => agreement::run(config, command).await,
        Command::Survey(command) => survey::run(config, command).await,
        Command::Schedule(command) => schedule::run(config, command).await,
        Command::Hours(command) => hours::run(config, command).await,
        Command::Outbox(command) => outbox::run(config, command).await,
        Command::Timesheet(command) => timesheet::run(config, command).await,
        Command::Import(args) => import::run(config, args).await,
        Command::Quarantine(command) => quarantine::run(config, command).await,
        Command::Attention(command) => attention::run(config, command).await,
        Command::Digest(args) => digest::run(config, args).await,
        Command::Parse(args) => parse::run(config, args).await,
        Command::Check => check::run(config, path).await,
        Command::Privacy(command) => privacy::run(config, command).await,
        Command::Status(args) => status::run(config, args).await,
        Command::Backup(args) => backup::run(config, args).await,
        Command::Db(_) | Command::Completions(_) | Command::Man(_) => {
            unreachable!("run before the config is loaded")
        }
    }
}

/// The database alone, for commands that need nothing else. It must be a tandem database
/// of this version's schema: only `init` and `run` create or migrate one, so a mistyped
/// `database.url` is refused instead of giving an empty database (or tandem's tables in
/// someone else's).
async fn open_store(config: &Config) -> anyhow::Result<Pool> {
    Ok(crate::app::open_database(
        &config.database,
        crate::app::max_connections(&config.database),
        store::Open::Existing,
    )
    .await?)
}

/// The whole context, for commands that render or send mail: the database is checked as
/// [`open_store`] checks it before `App` opens it (`App` creates and migrates, as `init` and
/// `run` do, and finds nothing to do on a database that passed).
async fn open_app(config: Config) -> anyhow::Result<App> {
    open_store(&config).await?.close().await;
    create_app(config).await
}

/// The whole context, creating the database and the mail folders when missing and bringing
/// the schema up to date: `init` and `run` only.
async fn create_app(config: Config) -> anyhow::Result<App> {
    App::new(config, Arc::new(SystemClock))
        .await
        .context("could not start")
}

/// Sends what was queued now, so it goes out even when no daemon is running; what fails stays
/// queued for the daemon.
async fn deliver(app: &App, mark: OutboxMark) -> anyhow::Result<()> {
    let transport = app.transport.describe();
    if let Err(e) = app.outbox().drain().await {
        anyhow::bail!(
            "could not deliver ({transport}); the mail stays queued for the daemon: {}",
            crate::error::error_chain(&e)
        );
    }
    let queued = store::outbox::after(&mut *app.pool.acquire().await?, mark.0).await?;
    let zone = &app.config.agency.timezone;
    let sent = queued.iter().filter(|m| m.state == "sent").count();
    println!("delivered {sent} of {} ({transport})", queued.len());
    let mut failed = 0;
    for m in queued.iter().filter(|m| m.state != "sent") {
        let what = match (m.state.as_str(), &m.last_error) {
            ("failed", error) => {
                failed += 1;
                format!("failed for good: {}", error.as_deref().unwrap_or("-"))
            }
            (_, Some(error)) => {
                failed += 1;
                format!(
                    "not delivered ({error}); the daemon tries again from {}",
                    local_time(zone, m.next_attempt_at)
                )
            }
            // Due later (the send window): not a failure.
            (_, None) => format!(
                "waits for the send window: due {}",
                local_time(zone, m.next_attempt_at)
            ),
        };
        eprintln!("outbox {} ({}) to {}: {what}", m.id, m.kind, m.recipient);
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} message(s) could not be delivered (see `tandem outbox list`)",
        queued.len()
    );
    Ok(())
}

/// A moment as the console shows it: in the agency's zone, to the minute, with the zone's
/// abbreviation (`2026-12-02 04:21 CET`); `--json` keeps RFC 3339 in UTC.
pub(crate) fn local_time(zone: &TimeZone, at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&zone.0)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Where the outbox stood before a command queued mail: [`deliver`] reports on what came
/// after.
#[derive(Debug, Clone, Copy)]
struct OutboxMark(i64);

async fn outbox_mark(app: &App) -> anyhow::Result<OutboxMark> {
    Ok(OutboxMark(
        store::outbox::last_id(&mut *app.pool.acquire().await?).await?,
    ))
}

/// An id on the command line (`hours void 12`): a whole number, said so in plain words
/// rather than Rust's ("invalid digit found in string").
pub(crate) fn id(value: &str) -> Result<i64, String> {
    value.trim().parse::<i64>().map_err(|_| {
        format!("'{value}' is not an id: give the whole number a list shows, such as 1")
    })
}

/// A number of weeks on the command line (`--trial-weeks 4`).
pub(crate) fn weeks(value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("'{value}' is not a number of weeks: give a whole number such as 4"))
}

/// A day given on the command line (`--start 2026-12-01`); `what` names the option.
fn parse_date(value: &str, what: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .with_context(|| format!("{what} '{value}' is not a date: write YYYY-MM-DD"))
}

/// A person's name, trimmed; an empty one is refused.
fn required_name(name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "the name must not be empty");
    Ok(name.to_string())
}

/// `--timezone` and `--locale` as given, or else the agency's.
fn zone_and_locale(
    config: &Config,
    timezone: Option<&str>,
    locale: Option<&str>,
) -> anyhow::Result<(TimeZone, Locale)> {
    let timezone = match timezone {
        Some(tz) => TimeZone::parse(tz)?,
        None => config.agency.timezone,
    };
    let locale = match locale {
        Some(l) => l.parse()?,
        None => config.agency.default_locale,
    };
    Ok((timezone, locale))
}

/// Writes one line to stdout for this module's `println!`. A closed stdout (`EPIPE`) ends
/// the output: this line and every later one are dropped. Any other failure to write panics,
/// as `std::println!` does.
#[doc(hidden)]
pub fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = unless_closed(writeln!(std::io::stdout().lock(), "{args}"), ()) {
        panic!("failed printing to stdout: {e}");
    }
}

/// Set once stdout's reader has gone.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// The result of a write to stdout, with a closed stdout taken as `done` (and remembered).
fn unless_closed<T>(result: std::io::Result<T>, done: T) -> std::io::Result<T> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(done)
        }
        other => other,
    }
}

/// Stdout as a writer (for `csv`), by [`write_out`]'s rule: once its reader has gone, what is
/// written is dropped and counted as written.
fn stdout() -> Stdout {
    Stdout
}

struct Stdout;

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        unless_closed(std::io::stdout().write(buf), buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        unless_closed(std::io::stdout().flush(), ())
    }
}

/// A bar over `len` steps on stderr when it is a terminal (`template` in indicatif's terms);
/// hidden otherwise: a pipe, a file or a log collector gets nothing.
fn progress_bar(len: u64, template: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The most characters a table's cell shows; the rest is cut with "…" (`show` has all of it).
/// A sender writes some of what tables list (an address, a description): a cell of 200 kB made
/// the table's padding panic.
const MAX_CELL: usize = 300;

/// Prints rows as left-aligned columns under a header ([`table`]).
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    for line in table(header, rows).lines() {
        println!("{line}");
    }
}

/// Rows as left-aligned columns under a header, each cell cut to [`MAX_CELL`] characters.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cut = |cell: &String| match cell.char_indices().nth(MAX_CELL) {
        Some((end, _)) => format!("{}…", &cell[..end]),
        None => cell.clone(),
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(cut).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    std::iter::once(&header)
        .chain(&rows)
        .map(|row| line(row))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_cuts_long_cells_and_aligns_the_rest() {
        let huge = "x".repeat(200_000);
        let rows = vec![
            vec!["1".to_string(), huge],
            vec!["22".to_string(), "short".to_string()],
        ];
        let text = table(&["ID", "WHAT"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID  WHAT");
        assert_eq!(lines[1], format!("1   {}…", "x".repeat(MAX_CELL)));
        assert_eq!(lines[2], "22  short");
    }
}
