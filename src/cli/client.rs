//! `tandem client add|edit|list|show`.

use crate::clock::{Clock as _, SystemClock};
use clap::Subcommand;

use serde::Serialize;

use super::{open_store, print_json, print_table, required_name, zone_and_locale};
use crate::config::Config;
use crate::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use crate::store::people::{self, NewClient, PersonChange};
use crate::store::{Conn, engagements};

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
        /// The client's own region of public holidays (DE, DE-NW, AT, CH, ...): scheduled mail
        /// to its contacts skips these days instead of the agency's `[schedule] holidays`.
        #[arg(long, value_name = "REGION")]
        holidays: Option<String>,
    },
    /// Change a client: name, time zone, locale, contacts and their roles.
    Edit {
        /// The client's id or tag (see `tandem client list`; a tag of digits only as `#2026`).
        client: String,
        /// The organisation's name.
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone (the engagements' dates are days there).
        #[arg(long)]
        timezone: Option<String>,
        /// de or en: the language of the client's mail.
        #[arg(long)]
        locale: Option<String>,
        /// A new contact person: "Name <address>", optionally "| role | reachability";
        /// repeat for several.
        #[arg(long = "add-contact", value_name = "CONTACT")]
        add_contacts: Vec<String>,
        /// A contact's new name, role and reachability, found by the address:
        /// "Name <address> | role | reachability" (a part left out is cleared); repeat for
        /// several.
        #[arg(long = "update-contact", value_name = "CONTACT")]
        update_contacts: Vec<String>,
        /// The address of a contact who is no longer one; repeat for several (the last
        /// contact is kept).
        #[arg(long = "remove-contact", value_name = "ADDRESS")]
        remove_contacts: Vec<String>,
        /// Handle this contact's mail even when the sender is not authenticated (the risk:
        /// anyone who knows the address can answer for the client); repeat for several.
        #[arg(long = "unauthenticated-ok", value_name = "ADDRESS")]
        unauthenticated_ok: Vec<String>,
        /// Require this contact's sender to be authenticated again; repeat for several.
        #[arg(long = "authenticated-only", value_name = "ADDRESS")]
        authenticated_only: Vec<String>,
        /// The client's own region of public holidays (DE-NW, AT, ...), which mail to its
        /// contacts skips; `none` returns to the agency's `[schedule] holidays`.
        #[arg(long, value_name = "REGION")]
        holidays: Option<String>,
    },
    /// Show one client with its contacts and engagements.
    Show {
        /// The client's id or tag (see `tandem client list`; a tag of digits only as `#2026`).
        client: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List clients with their contacts.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// A client as the operator names one: by id or by tag.
enum Which {
    Id(i64),
    Tag(ClientTag),
}

impl Which {
    /// Digits are an id; a tag of digits only is written with its `#` (`#2026`).
    fn parse(value: &str) -> anyhow::Result<Self> {
        let value = value.trim();
        if let Ok(id) = value.parse() {
            return Ok(Self::Id(id));
        }
        Ok(Self::Tag(ClientTag::parse(value)?))
    }

    async fn resolve(&self, conn: &mut Conn) -> anyhow::Result<i64> {
        Ok(match self {
            Self::Id(id) => people::client(conn, *id).await?.id,
            Self::Tag(tag) => people::client_by_tag(conn, tag).await?.id,
        })
    }
}

/// `--holidays`: a region of `schedule::holidays` (`DE-NW`), or `none` (`Some(None)`).
fn parse_holidays(value: &str) -> anyhow::Result<Option<String>> {
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let region: crate::schedule::holidays::Region = value
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("--holidays: {e}"))?;
    Ok(Some(region.to_string()))
}

fn parse_contacts(values: &[String]) -> anyhow::Result<Vec<Contact>> {
    Ok(values
        .iter()
        .map(|c| Contact::parse(c))
        .collect::<Result<_, _>>()?)
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    client: people::Client,
    engagements: Vec<engagements::Engagement>,
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
            holidays,
        } => {
            let holidays = holidays
                .as_deref()
                .map(parse_holidays)
                .transpose()?
                .flatten();
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
            if let Some(region) = &holidays {
                people::set_client_holidays(&mut tx, id, Some(region)).await?;
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
            client,
            name,
            timezone,
            locale,
            add_contacts,
            update_contacts,
            remove_contacts,
            unauthenticated_ok,
            authenticated_only,
            holidays,
        } => {
            let which = Which::parse(&client)?;
            let holidays = holidays.as_deref().map(parse_holidays).transpose()?;
            let change = PersonChange {
                name: name.as_deref().map(required_name).transpose()?,
                timezone: timezone.as_deref().map(TimeZone::parse).transpose()?,
                locale: locale.as_deref().map(str::parse::<Locale>).transpose()?,
            };
            let add = parse_contacts(&add_contacts)?;
            let update = parse_contacts(&update_contacts)?;
            let remove = remove_contacts
                .iter()
                .map(|e| EmailAddress::parse(e))
                .collect::<Result<Vec<_>, _>>()?;
            let exceptions = unauthenticated_ok
                .iter()
                .map(|e| (e, true))
                .chain(authenticated_only.iter().map(|e| (e, false)))
                .map(|(e, ok)| EmailAddress::parse(e).map(|e| (e, ok)))
                .collect::<Result<Vec<_>, _>>()?;
            if change.name.is_none()
                && change.timezone.is_none()
                && change.locale.is_none()
                && add.is_empty()
                && update.is_empty()
                && remove.is_empty()
                && exceptions.is_empty()
                && holidays.is_none()
            {
                anyhow::bail!(
                    "nothing to change: give --name, --timezone, --locale, --add-contact, \
                     --update-contact, --remove-contact, --unauthenticated-ok ADDRESS, \
                     --authenticated-only ADDRESS or --holidays REGION"
                );
            }
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let id = which.resolve(&mut tx).await?;
            people::update_client(&mut tx, id, &change).await?;
            // Additions first, so that a contact can be replaced by another in one edit.
            for contact in &add {
                people::add_contact(&mut tx, id, contact).await?;
            }
            for contact in &update {
                people::update_contact(&mut tx, id, contact).await?;
            }
            for email in &remove {
                people::remove_contact(&mut tx, id, email).await?;
            }
            for (email, ok) in &exceptions {
                people::set_contact_unauthenticated_ok(&mut tx, id, email, *ok).await?;
            }
            if let Some(region) = &holidays {
                people::set_client_holidays(&mut tx, id, region.as_deref()).await?;
            }
            let after = people::client(&mut tx, id).await?;
            tx.commit().await?;
            println!(
                "client '{}': {}, {}, {}, {} contact(s)",
                after.tag,
                after.name,
                after.timezone,
                after.locale,
                after.contacts.len()
            );
        }
        Command::Show { client, json } => {
            let which = Which::parse(&client)?;
            let pool = open_store(&config).await?;
            let mut conn = pool.acquire().await?;
            let id = which.resolve(&mut conn).await?;
            let shown = Shown {
                client: people::client(&mut conn, id).await?,
                engagements: engagements::list(&mut conn)
                    .await?
                    .into_iter()
                    .filter(|e| e.client_id == id)
                    .collect(),
            };
            if json {
                return print_json(&shown);
            }
            let c = &shown.client;
            println!("client {}: {} ('{}')", c.id, c.name, c.tag);
            println!("time zone:  {}", c.timezone);
            println!("locale:     {}", c.locale);
            println!(
                "holidays:   {}",
                match &c.holidays {
                    Some(region) => region.clone(),
                    None => match config.schedule.holidays {
                        Some(agency) => format!("the agency's ({agency})"),
                        None => "none".to_string(),
                    },
                }
            );
            println!(
                "added:      {}",
                c.created_at
                    .with_timezone(&config.agency.timezone.0)
                    .date_naive()
            );
            println!("contacts:");
            let rows: Vec<Vec<String>> = c
                .contacts
                .iter()
                .map(|k| {
                    vec![
                        k.name.clone(),
                        k.email.clone(),
                        k.role.clone().unwrap_or_default(),
                        k.reachability.clone().unwrap_or_default(),
                        if k.unauthenticated_ok { "yes" } else { "no" }.to_string(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "NAME",
                    "EMAIL",
                    "ROLE",
                    "REACHABILITY",
                    "UNAUTHENTICATED OK",
                ],
                &rows,
            );
            if shown.engagements.is_empty() {
                println!("engagements: none");
            } else {
                println!("engagements:");
                let rows: Vec<Vec<String>> = shown
                    .engagements
                    .iter()
                    .map(|e| {
                        vec![
                            e.id.to_string(),
                            e.assistant_name.clone(),
                            e.status.to_string(),
                            e.start_date.to_string(),
                        ]
                    })
                    .collect();
                print_table(&["ID", "ASSISTANT", "STATUS", "START"], &rows);
            }
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
