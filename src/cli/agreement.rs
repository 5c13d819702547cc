//! `tandem agreement list|sign|waive|remind|reset`.

use clap::Subcommand;

use super::{open_app, open_store, parse_date, print_json, print_table};
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::domain::AgreementStatus;
use crate::store::engagements;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the agreements of every engagement.
    List {
        /// Only those still waiting for a signature (pending, or received for you to confirm).
        #[arg(long)]
        pending: bool,
        /// Only this engagement's.
        #[arg(long, value_parser = crate::cli::id)]
        engagement: Option<i64>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Mark an agreement signed; its reminders stop at once.
    Sign {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        engagement: i64,
        /// The agreement's kind, as `[[agreements]]` in the config names it (shipped: contract,
        /// nda, dpa, data_handover, billing; see `tandem agreement list`).
        kind: String,
        /// The day it was signed (YYYY-MM-DD; default today).
        #[arg(long)]
        date: Option<String>,
    },
    /// Mark an agreement as not needed; its reminders stop at once.
    Waive {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        engagement: i64,
        /// The agreement's kind, as `[[agreements]]` in the config names it (shipped: contract,
        /// nda, dpa, data_handover, billing; see `tandem agreement list`).
        kind: String,
    },
    /// Set a signed, waived or received agreement back to pending (to undo a mistake); its
    /// reminders start again.
    Reset {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        engagement: i64,
        /// The agreement's kind, as `[[agreements]]` in the config names it (shipped: contract,
        /// nda, dpa, data_handover, billing; see `tandem agreement list`).
        kind: String,
    },
    /// Remind the signers of the engagement's pending agreements now.
    Remind {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        engagement: i64,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::List {
            pending,
            engagement,
            json,
        } => {
            let pool = open_store(&config).await?;
            let rows =
                engagements::list_agreements(&mut *pool.acquire().await?, pending, engagement)
                    .await?;
            if json {
                return print_json(&rows);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|a| {
                    vec![
                        a.engagement_id.to_string(),
                        a.client_tag.clone(),
                        a.assistant_name.clone(),
                        a.kind.clone(),
                        a.status.clone(),
                        a.signers.clone(),
                        a.signed_on.map(|d| d.to_string()).unwrap_or_default(),
                        a.documents.to_string(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ENGAGEMENT",
                    "CLIENT",
                    "ASSISTANT",
                    "KIND",
                    "STATUS",
                    "SIGNERS",
                    "SIGNED ON",
                    "DOCUMENTS",
                ],
                &table,
            );
        }
        Command::Sign {
            engagement,
            kind,
            date,
        } => {
            let now = SystemClock.now();
            let today = now.with_timezone(&config.agency.timezone.0).date_naive();
            let on = match date {
                Some(d) => parse_date(&d, "--date")?,
                None => today,
            };
            anyhow::ensure!(
                on <= today,
                "--date {on} is in the future (today is {today}): an agreement is marked signed \
                 once it is"
            );
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            engagements::settle_agreement(
                &mut tx,
                engagement,
                &kind,
                AgreementStatus::Signed,
                Some(on),
                now,
            )
            .await?;
            tx.commit().await?;
            println!("the '{kind}' agreement of engagement {engagement} is signed ({on})");
        }
        Command::Waive { engagement, kind } => {
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            engagements::settle_agreement(
                &mut tx,
                engagement,
                &kind,
                AgreementStatus::Waived,
                None,
                SystemClock.now(),
            )
            .await?;
            tx.commit().await?;
            println!("the '{kind}' agreement of engagement {engagement} is waived");
        }
        Command::Reset { engagement, kind } => {
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            engagements::reset_agreement(&mut tx, engagement, &kind, SystemClock.now()).await?;
            tx.commit().await?;
            println!("the '{kind}' agreement of engagement {engagement} is pending again");
        }
        Command::Remind { engagement } => {
            let app = open_app(config).await?;
            let mark = super::outbox_mark(&app).await?;
            let reminded = app.remind_agreements_now(engagement).await?;
            if reminded.is_empty() {
                println!("engagement {engagement} has no pending agreement: nothing sent");
                return Ok(());
            }
            let parties: Vec<&str> = reminded.iter().map(|p| p.as_str()).collect();
            println!("reminder queued to the {}", parties.join(" and the "));
            super::deliver(&app, mark).await?;
        }
    }
    Ok(())
}
