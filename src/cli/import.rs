//! `tandem import FILE.csv [--dry-run]`: assistants, clients with contacts and engagements
//! from a spreadsheet (the columns are in `import.rs` and the README). Every row is checked
//! before anything is written, and nothing is imported unless every row is; a progress bar
//! on a terminal, nothing on a pipe.

use std::path::PathBuf;

use anyhow::Context as _;

use super::open_app;
use crate::config::Config;
use crate::import;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CSV file (a header line, then one assistant, client, contact or engagement per
    /// row; see the README for the columns).
    pub file: PathBuf,
    /// Check every row, the database's checks included, and import nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let data = std::fs::read(&args.file)
        .with_context(|| format!("could not read {}", args.file.display()))?;
    let plan = import::parse(&data, config.agency.timezone, config.agency.default_locale)
        .with_context(|| format!("{} is not imported", args.file.display()))?;
    let app = open_app(config).await?;
    let mark = super::outbox_mark(&app).await?;
    let bar = super::progress_bar(
        plan.rows,
        "importing {bar:40} {pos}/{len} rows ({eta} left)",
    );
    let mut advance = |rows: u64| bar.inc(rows);
    let done = app.import(&plan, args.dry_run, &mut advance).await;
    bar.finish_and_clear();
    let done = done.with_context(|| format!("{} is not imported", args.file.display()))?;
    let what = format!(
        "{} assistant(s), {} client(s), {} contact(s), {} engagement(s)",
        done.assistants, done.clients, done.contacts, done.engagements
    );
    if args.dry_run {
        println!(
            "dry run: every row of {} can be imported: {what}, {} welcome mail(s); nothing \
             was changed",
            plan.rows, done.welcome_mails
        );
        return Ok(());
    }
    println!(
        "imported {what} from {} row(s); {} welcome mail(s) queued",
        plan.rows, done.welcome_mails
    );
    if done.welcome_mails > 0 {
        super::deliver(&app, mark).await?;
    }
    Ok(())
}
