//! `tandem client add|list`.

use crate::clock::{Clock as _, SystemClock};
use clap::Subcommand;

use super::{open_store, print_json, print_table, required_name, zone_and_locale};
use crate::config::Config;
use crate::domain::{ClientTag, Contact};
use crate::store::people::{self, NewClient};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a client with its contact persons.
    Add {
        /// The organisation's name.
        #[arg(long)]
        name: String,
        /// A short tag assistants write on time-log lines (`acme`).
        #[arg(long)]
        tag: String,
        /// "Name <address>", optionally "| role | reachability"; repeat for several.
        #[arg(long = "contact", required = true)]
        contacts: Vec<String>,
        /// de or en (default: the agency's).
        #[arg(long)]
        locale: Option<String>,
        /// IANA time zone (default: the agency's).
        #[arg(long)]
        timezone: Option<String>,
    },
    /// List clients with their contacts.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add {
            name,
            tag,
            contacts,
            locale,
            timezone,
        } => {
            let (timezone, locale) =
                zone_and_locale(&config, timezone.as_deref(), locale.as_deref())?;
            let new = NewClient {
                name: required_name(&name)?,
                tag: ClientTag::parse(&tag)?,
                contacts: contacts
                    .iter()
                    .map(|c| Contact::parse(c))
                    .collect::<Result<_, _>>()?,
                timezone,
                locale,
            };
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let id = people::insert_client(&mut tx, &new, SystemClock.now()).await?;
            tx.commit().await?;
            println!(
                "added client {id}: {} ('{}') with {} contact(s)",
                new.name,
                new.tag,
                new.contacts.len()
            );
        }
        Command::List { json } => {
            let pool = open_store(&config).await?;
            let clients = people::list_clients(&mut *pool.acquire().await?).await?;
            if json {
                return print_json(&clients);
            }
            let rows: Vec<Vec<String>> = clients
                .iter()
                .map(|c| {
                    let contacts: Vec<String> = c
                        .contacts
                        .iter()
                        .map(|k| format!("{} <{}>", k.name, k.email))
                        .collect();
                    vec![
                        c.tag.clone(),
                        c.name.clone(),
                        c.locale.to_string(),
                        c.timezone.to_string(),
                        contacts.join(", "),
                    ]
                })
                .collect();
            print_table(&["TAG", "NAME", "LOCALE", "TIME ZONE", "CONTACTS"], &rows);
        }
    }
    Ok(())
}
