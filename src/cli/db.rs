//! `tandem db copy`: moves an agency to another database (SQLite to PostgreSQL, or back), every
//! table with its ids, into a new, empty database. It names both databases itself and reads no
//! config.

use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::store::copy::{self, Progress};
use crate::store::{self, Backend, Location};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy every table of one database into a new, empty one, ids kept (say, SQLite to
    /// PostgreSQL). Stop the daemon first: what it writes to the source afterwards is not copied.
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The database to copy, opened read-only: sqlite://PATH or postgres://USER@HOST/DATABASE.
    #[arg(long, value_name = "URL")]
    from: String,
    /// The database to copy into, created and migrated if need be; refused unless empty.
    #[arg(long, value_name = "URL")]
    to: String,
    /// The environment variable holding the source's PostgreSQL password.
    #[arg(long, value_name = "VAR")]
    from_password_env: Option<String>,
    /// The environment variable holding the target's PostgreSQL password.
    #[arg(long, value_name = "VAR")]
    to_password_env: Option<String>,
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Copy(args) => copy_database(args).await,
    }
}

async fn copy_database(args: CopyArgs) -> anyhow::Result<()> {
    let from_backend = backend(&args.from, "--from")?;
    let to_backend = backend(&args.to, "--to")?;
    anyhow::ensure!(
        args.from != args.to,
        "--from and --to name the same database"
    );
    let from_password = password(
        args.from_password_env.as_deref(),
        from_backend,
        "--from-password-env",
    )?;
    let to_password = password(
        args.to_password_env.as_deref(),
        to_backend,
        "--to-password-env",
    )?;

    let source = store::connect(
        Location {
            url: &args.from,
            password: from_password.as_deref(),
        },
        2,
        store::Open::ReadOnly,
    )
    .await
    .context("could not open the source database (--from)")?;
    // Before the target is opened, which creates it: a source that cannot be copied leaves
    // nothing behind.
    copy::check_source(&source).await?;
    let target = store::connect(
        Location {
            url: &args.to,
            password: to_password.as_deref(),
        },
        2,
        store::Open::Create,
    )
    .await
    .context("could not open the target database (--to)")?;

    let mut bar = Bar::new();
    let copied = copy::copy(&source, &target, &mut |p| bar.show(p)).await;
    bar.end();
    let copied = copied.with_context(|| {
        format!(
            "nothing was copied from {} to {}",
            name(from_backend),
            name(to_backend)
        )
    })?;
    // Mails recorded as sent in the source's journal and not yet marked in it are marked in
    // the copy (the source keeps them).
    if let Some(journal) = store::journal::Journal::beside(&source) {
        let mut conn = store::acquire(&target).await?;
        journal
            .mark_in_copy(&mut conn)
            .await
            .context("could not mark in the copy the mails the source's sent journal holds")?;
    }
    source.close().await;
    target.close().await;

    let total: u64 = copied.tables.iter().map(|(_, rows)| rows).sum();
    let rows: Vec<Vec<String>> = copied
        .tables
        .iter()
        .map(|(table, rows)| vec![table.to_string(), rows.to_string()])
        .collect();
    super::print_table(&["table", "rows"], &rows);
    println!(
        "copied {total} rows in {} tables from {} to {}",
        copied.tables.len(),
        name(from_backend),
        name(to_backend)
    );
    if copied.nul_replaced > 0 {
        println!(
            "replaced {} NUL characters in text by U+FFFD (PostgreSQL refuses them)",
            copied.nul_replaced
        );
    }
    Ok(())
}

/// The backend a URL names; anything but `sqlite:` and `postgres(ql)://` is refused, so a path
/// given without its scheme is not taken for a new SQLite file.
fn backend(url: &str, what: &str) -> anyhow::Result<Backend> {
    anyhow::ensure!(
        url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"),
        "{what} is not a database URL: write sqlite://PATH or postgres://USER@HOST/DATABASE"
    );
    Ok(Backend::of_url(url))
}

/// The password in the environment variable `var`, for PostgreSQL only.
fn password(var: Option<&str>, backend: Backend, what: &str) -> anyhow::Result<Option<String>> {
    let Some(var) = var else {
        return Ok(None);
    };
    anyhow::ensure!(
        backend == Backend::Postgres,
        "{what} is for a PostgreSQL database"
    );
    std::env::var(var)
        .map(Some)
        .map_err(|_| anyhow::anyhow!("the environment variable {var} ({what}) is not set"))
}

fn name(backend: Backend) -> &'static str {
    if backend == Backend::Postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// A progress bar on stderr, one line per table, drawn over itself as rows are written; only
/// when stderr is a terminal (the summary on stdout says the same in the end).
struct Bar {
    live: bool,
    /// Whether a line is drawn and not ended yet.
    open: bool,
}

const BAR_WIDTH: u64 = 30;

impl Bar {
    fn new() -> Self {
        Bar {
            live: std::io::stderr().is_terminal(),
            open: false,
        }
    }

    fn show(&mut self, progress: Progress) {
        if !self.live {
            return;
        }
        let line = match progress {
            Progress::Table { table, rows } => draw(table, 0, rows),
            Progress::Rows { table, done, rows } => draw(table, done, rows),
            Progress::Finishing => {
                self.end();
                "setting the wake-ups and sequences, committing".to_string()
            }
        };
        let mut err = std::io::stderr().lock();
        // A line that does not reach the terminal is no reason to stop the copy.
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.open = true;
        if let Progress::Rows { done, rows, .. } = progress
            && done >= rows
        {
            let _ = writeln!(err);
            self.open = false;
        }
    }

    /// Ends the line being drawn.
    fn end(&mut self) {
        if self.open {
            eprintln!();
            self.open = false;
        }
    }
}

fn draw(table: &str, done: u64, rows: u64) -> String {
    let filled = (done.min(rows) * BAR_WIDTH)
        .checked_div(rows)
        .unwrap_or(BAR_WIDTH);
    format!(
        "{table:<18} [{}{}] {done}/{rows}",
        "#".repeat(filled as usize),
        " ".repeat((BAR_WIDTH - filled) as usize)
    )
}
