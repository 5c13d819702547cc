//! `tandem privacy export|erase`: a person's data (GDPR Art. 15 and 17).

use std::io::BufRead as _;
use std::path::PathBuf;

use clap::Subcommand;

use super::open_app;
use crate::config::Config;
use crate::domain::Locale;
use crate::store::privacy;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything stored about a person, into a folder: data.json, the raw messages and
    /// documents as files, and a summary in their language.
    Export {
        /// The person: one of their addresses, or assistant:ID or contact:ID.
        person: String,
        /// The folder to write (new, or empty).
        #[arg(long)]
        to: PathBuf,
    },
    /// Erase a person: what may go is deleted, billing records stay under a pseudonym, and the
    /// mail that names them leaves the mail folders tandem manages.
    Erase {
        /// The person: one of their addresses, or assistant:ID or contact:ID.
        person: String,
        /// Keep an assistant's time entries (under a pseudonym) for billing: the default when
        /// they have logged hours.
        #[arg(long, conflicts_with = "drop_billing")]
        keep_billing: bool,
        /// Delete an assistant's time entries too.
        #[arg(long)]
        drop_billing: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Apply `[retention]` now: what is older than its period goes (the daemon does it once a
    /// day).
    Purge {
        /// List what would go, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The record of processing (GDPR Art. 30) as the config makes it, in Markdown.
    Report {
        /// The language: de or en (default: the agency's).
        #[arg(long)]
        lang: Option<String>,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    if let Command::Report { lang } = &command {
        let locale = match lang {
            Some(lang) => lang
                .parse::<Locale>()
                .map_err(|_| anyhow::anyhow!("--lang '{lang}' is not de or en"))?,
            None => config.agency.default_locale,
        };
        println!(
            "{}",
            crate::privacy::report::report(&config, locale).trim_end()
        );
        return Ok(());
    }
    let app = open_app(config).await?;
    match command {
        Command::Report { .. } => unreachable!("answered above"),
        Command::Purge { dry_run, json } => {
            let purged = app.purge(dry_run).await?;
            if json {
                return super::print_json(&purged);
            }
            let verb = if dry_run { "would go" } else { "removed" };
            println!("{verb}:");
            println!(
                "  {} raw messages of mail sent",
                purged.expired.raw_messages
            );
            println!("  {} agreement documents", purged.expired.documents);
            println!("  {} failure log rows", purged.expired.health_events);
            println!(
                "  {} read messages in the processed folder",
                purged.processed_mail
            );
            println!(
                "  {} messages in the quarantine folder",
                purged.quarantined_mail
            );
        }
        Command::Export { person, to } => {
            let subject = {
                let mut conn = app.pool.acquire().await?;
                privacy::subject(&mut conn, &person).await?
            };
            let bar = super::progress_bar(0, "exporting {bar:40} {pos}/{len} files");
            let done = app
                .export_person(&subject, &to, &mut |written, total| {
                    bar.set_length(total);
                    bar.set_position(written);
                })
                .await?;
            bar.finish_and_clear();
            println!(
                "exported {} ({}): {} rows, {} stored files, {} messages from the mail folders \
                 into {}",
                subject.name(),
                subject.emails().join(", "),
                done.rows,
                done.stored_files,
                done.mail_files,
                done.dir.display()
            );
        }
        Command::Erase {
            person,
            keep_billing,
            drop_billing,
            yes,
        } => {
            let (subject, keep) = {
                let mut conn = app.pool.acquire().await?;
                let subject = privacy::subject(&mut conn, &person).await?;
                // Refused before asking; the erase checks again in its transaction.
                let asked = match (keep_billing, drop_billing) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                };
                let keep = crate::privacy::erasable(&mut conn, &subject, asked).await?;
                (subject, keep)
            };
            if !yes {
                eprint!(
                    "Erase {} ({}) for good{}? Type 'yes': ",
                    subject.name(),
                    subject.emails().join(", "),
                    if keep {
                        ", keeping their hours for billing under a pseudonym"
                    } else {
                        ""
                    }
                );
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer)?;
                anyhow::ensure!(answer.trim() == "yes", "nothing was erased");
            }
            let (erased, (filed, delivered), scrubbed) = app.erase_person(&subject, keep).await?;
            println!(
                "erased {} ({}); they are now '{}'",
                subject.name(),
                subject.emails().join(", "),
                subject.pseudonym()
            );
            println!("removed:");
            for (what, n) in &erased.removed {
                println!("  {n} {what}");
            }
            println!("  {filed} messages from the mail folders");
            if delivered > 0 {
                println!("  {delivered} .eml files of the outbox folder");
            }
            if !erased.kept.is_empty() {
                println!("kept, under the pseudonym:");
                for (what, n, why) in &erased.kept {
                    println!("  {n} {what}: {why}");
                }
            }
            if !scrubbed {
                eprintln!(
                    "warning: another process holds the database's log open; what was erased \
                     leaves the file at its next checkpoint"
                );
            }
        }
    }
    Ok(())
}
