//! `tandem client add|edit|list`.

use crate::clock::{Clock as _, SystemClock};
use clap::Subcommand;

use super::{open_store, print_json, print_table, required_name, zone_and_locale};
use crate::config::Config;
use crate::domain::{ClientTag, Contact, EmailAddress};
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
        /// A contact's address whose mail is handled even when the sender is not
        /// authenticated (a provider that signs nothing); repeat for several. The risk: anyone
        /// who knows the address can then answer surveys and the trial review for the client.
        #[arg(long = "unauthenticated-ok", value_name = "ADDRESS")]
        unauthenticated_ok: Vec<String>,
    },
    /// Change a client's contacts.
    Edit {
        /// The client's tag.
        tag: String,
        /// Handle this contact's mail even when the sender is not authenticated (the risk:
        /// anyone who knows the address can answer for the client); repeat for several.
        #[arg(long = "unauthenticated-ok", value_name = "ADDRESS")]
        unauthenticated_ok: Vec<String>,
        /// Require this contact's sender to be authenticated again; repeat for several.
        #[arg(long = "authenticated-only", value_name = "ADDRESS")]
        authenticated_only: Vec<String>,
    },
    /// List clients with their contacts.
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
            tag,
            contacts,
            locale,
            timezone,
            unauthenticated_ok,
        } => {
            let exceptions = unauthenticated_ok
                .iter()
                .map(|e| EmailAddress::parse(e))
                .collect::<Result<Vec<_>, _>>()?;
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
            for email in &exceptions {
                people::set_contact_unauthenticated_ok(&mut tx, id, email, true).await?;
            }
            tx.commit().await?;
            println!(
                "added client {id}: {} ('{}') with {} contact(s)",
                new.name,
                new.tag,
                new.contacts.len()
            );
        }
        Command::Edit {
            tag,
            unauthenticated_ok,
            authenticated_only,
        } => {
            let tag = ClientTag::parse(&tag)?;
            let changes = unauthenticated_ok
                .iter()
                .map(|e| (e, true))
                .chain(authenticated_only.iter().map(|e| (e, false)))
                .map(|(e, ok)| EmailAddress::parse(e).map(|e| (e, ok)))
                .collect::<Result<Vec<_>, _>>()?;
            if changes.is_empty() {
                anyhow::bail!(
                    "nothing to change: give --unauthenticated-ok ADDRESS or --authenticated-only ADDRESS"
                );
            }
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let client = people::client_by_tag(&mut tx, &tag).await?;
            for (email, ok) in &changes {
                people::set_contact_unauthenticated_ok(&mut tx, client.id, email, *ok).await?;
            }
            tx.commit().await?;
            println!("client '{tag}': {} contact(s) changed", changes.len());
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
                        .map(|k| {
                            format!(
                                "{} <{}>{}",
                                k.name,
                                k.email,
                                if k.unauthenticated_ok {
                                    " (unauthenticated ok)"
                                } else {
                                    ""
                                }
                            )
                        })
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
