//! `tandem outbox list|retry`.

use clap::Subcommand;

use super::{open_store, print_json, print_table};
use crate::config::Config;
use crate::store::outbox;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List outgoing mail with its state, attempts and last error.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Queue a failed message again.
    Retry {
        /// The message's id (see `tandem outbox list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let pool = open_store(&config).await?;
    let mut conn = pool.acquire().await?;
    match command {
        Command::List { json } => {
            let rows = outbox::list(&mut conn).await?;
            if json {
                return print_json(&rows);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.state.clone(),
                        r.attempts.to_string(),
                        match r.state.as_str() {
                            "queued" => {
                                super::local_time(&config.agency.timezone, r.next_attempt_at)
                            }
                            _ => "-".into(),
                        },
                        r.kind.clone(),
                        r.recipient.clone(),
                        r.subject.clone(),
                        r.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "STATE",
                    "TRIES",
                    "NEXT",
                    "KIND",
                    "TO",
                    "SUBJECT",
                    "LAST ERROR",
                ],
                &table,
            );
        }
        Command::Retry { id } => {
            outbox::requeue_failed(&mut conn, id).await?;
            println!("outbox message {id} queued again");
        }
    }
    Ok(())
}
