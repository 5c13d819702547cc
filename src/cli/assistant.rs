//! `tandem assistant add|edit|list`.

use crate::clock::{Clock as _, SystemClock};
use clap::Subcommand;

use super::{open_store, print_json, print_table, required_name, zone_and_locale};
use crate::config::Config;
use crate::domain::EmailAddress;
use crate::store::people::{self, NewAssistant};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add an assistant.
    Add {
        /// The assistant's full name, as mail greets them.
        #[arg(long)]
        name: String,
        /// An address the assistant writes from; repeat for several (the first is written to).
        #[arg(long = "email", required = true)]
        emails: Vec<String>,
        /// IANA time zone (default: the agency's).
        #[arg(long)]
        timezone: Option<String>,
        /// de or en (default: the agency's).
        #[arg(long)]
        locale: Option<String>,
        /// Handle this assistant's mail even when the sender is not authenticated (for a
        /// provider that signs nothing). The risk: anyone who knows the address can then log
        /// hours in the assistant's name.
        #[arg(long)]
        unauthenticated_ok: bool,
    },
    /// Change an assistant.
    Edit {
        /// The assistant's id (see `tandem assistant list`).
        id: i64,
        /// `--unauthenticated-ok` (or `=true`): handle the assistant's mail even when the
        /// sender is not authenticated; `--unauthenticated-ok=false` requires it again. The
        /// risk: anyone who knows the address can log hours in the assistant's name.
        #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        unauthenticated_ok: Option<bool>,
    },
    /// List assistants.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add {
            name,
            emails,
            timezone,
            locale,
            unauthenticated_ok,
        } => {
            let (timezone, locale) =
                zone_and_locale(&config, timezone.as_deref(), locale.as_deref())?;
            let new = NewAssistant {
                name: required_name(&name)?,
                emails: emails
                    .iter()
                    .map(|e| EmailAddress::parse(e))
                    .collect::<Result<_, _>>()?,
                timezone,
                locale,
            };
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let id = people::insert_assistant(&mut tx, &new, SystemClock.now()).await?;
            if unauthenticated_ok {
                people::set_assistant_unauthenticated_ok(&mut tx, id, true).await?;
            }
            tx.commit().await?;
            println!("added assistant {id}: {} <{}>", new.name, new.emails[0]);
        }
        Command::Edit {
            id,
            unauthenticated_ok,
        } => {
            let Some(ok) = unauthenticated_ok else {
                anyhow::bail!("nothing to change: give --unauthenticated-ok[=true|false]");
            };
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            people::set_assistant_unauthenticated_ok(&mut tx, id, ok).await?;
            tx.commit().await?;
            println!(
                "assistant {id}: {}",
                if ok {
                    "handled although unauthenticated"
                } else {
                    "must be authenticated"
                }
            );
        }
        Command::List { json } => {
            let pool = open_store(&config).await?;
            let assistants = people::list_assistants(&mut *pool.acquire().await?).await?;
            if json {
                return print_json(&assistants);
            }
            let rows: Vec<Vec<String>> = assistants
                .iter()
                .map(|a| {
                    vec![
                        a.id.to_string(),
                        a.name.clone(),
                        a.emails.join(", "),
                        a.timezone.to_string(),
                        a.locale.to_string(),
                        if a.unauthenticated_ok { "yes" } else { "no" }.to_string(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "NAME",
                    "EMAIL",
                    "TIME ZONE",
                    "LOCALE",
                    "UNAUTHENTICATED OK",
                ],
                &rows,
            );
        }
    }
    Ok(())
}
