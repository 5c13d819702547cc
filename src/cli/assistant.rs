//! `tandem assistant add|list`.

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
    },
    /// List assistants.
    List {
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
            tx.commit().await?;
            println!("added assistant {id}: {} <{}>", new.name, new.emails[0]);
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
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "EMAIL", "TIME ZONE", "LOCALE"], &rows);
        }
    }
    Ok(())
}
