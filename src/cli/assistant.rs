//! `tandem assistant add|edit|list|show`.

use crate::clock::{Clock as _, SystemClock};
use clap::Subcommand;

use serde::Serialize;

use super::{open_store, print_json, print_table, required_name, zone_and_locale};
use crate::config::Config;
use crate::domain::{EmailAddress, Locale, TimeZone};
use crate::store::people::{self, NewAssistant, PersonChange};
use crate::store::{Conn, engagements};

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
    /// Change an assistant: name, time zone, locale, addresses, authentication exception.
    Edit {
        /// The assistant's id or one of their addresses (see `tandem assistant list`).
        assistant: String,
        /// The assistant's full name, as mail greets them.
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone (their hours' dates and their mail's times are read in it).
        #[arg(long)]
        timezone: Option<String>,
        /// de or en: the language of their mail.
        #[arg(long)]
        locale: Option<String>,
        /// Another address the assistant writes from; repeat for several.
        #[arg(long = "add-email", value_name = "ADDRESS")]
        add_emails: Vec<String>,
        /// An address that is no longer theirs; repeat for several (the last one is kept).
        #[arg(long = "remove-email", value_name = "ADDRESS")]
        remove_emails: Vec<String>,
        /// `--unauthenticated-ok` (or `=true`): handle the assistant's mail even when the
        /// sender is not authenticated; `--unauthenticated-ok=false` requires it again. The
        /// risk: anyone who knows the address can log hours in the assistant's name.
        #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        unauthenticated_ok: Option<bool>,
    },
    /// Show one assistant with their engagements.
    Show {
        /// The assistant's id or one of their addresses (see `tandem assistant list`).
        assistant: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List assistants.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// An assistant as the operator names one: by id or by one of their addresses.
enum Who {
    Id(i64),
    Email(EmailAddress),
}

impl Who {
    fn parse(value: &str) -> anyhow::Result<Self> {
        let value = value.trim();
        if let Ok(id) = value.parse() {
            return Ok(Self::Id(id));
        }
        EmailAddress::parse(value).map(Self::Email).map_err(|_| {
            anyhow::anyhow!("'{value}' is neither an assistant's id nor an email address")
        })
    }

    async fn resolve(&self, conn: &mut Conn) -> anyhow::Result<i64> {
        Ok(match self {
            Self::Id(id) => people::assistant(conn, *id).await?.id,
            Self::Email(email) => people::assistant_by_email(conn, email).await?.id,
        })
    }
}

fn parse_emails(values: &[String]) -> anyhow::Result<Vec<EmailAddress>> {
    Ok(values
        .iter()
        .map(|e| EmailAddress::parse(e))
        .collect::<Result<_, _>>()?)
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    assistant: people::Assistant,
    engagements: Vec<engagements::Engagement>,
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
            assistant,
            name,
            timezone,
            locale,
            add_emails,
            remove_emails,
            unauthenticated_ok,
        } => {
            let who = Who::parse(&assistant)?;
            let change = PersonChange {
                name: name.as_deref().map(required_name).transpose()?,
                timezone: timezone.as_deref().map(TimeZone::parse).transpose()?,
                locale: locale.as_deref().map(str::parse::<Locale>).transpose()?,
            };
            let add = parse_emails(&add_emails)?;
            let remove = parse_emails(&remove_emails)?;
            if change.name.is_none()
                && change.timezone.is_none()
                && change.locale.is_none()
                && add.is_empty()
                && remove.is_empty()
                && unauthenticated_ok.is_none()
            {
                anyhow::bail!(
                    "nothing to change: give --name, --timezone, --locale, --add-email, \
                     --remove-email or --unauthenticated-ok[=true|false]"
                );
            }
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let id = who.resolve(&mut tx).await?;
            people::update_assistant(&mut tx, id, &change).await?;
            // Additions first, so that an address can be swapped for another in one edit.
            for email in &add {
                people::add_assistant_email(&mut tx, id, email).await?;
            }
            for email in &remove {
                people::remove_assistant_email(&mut tx, id, email).await?;
            }
            if let Some(ok) = unauthenticated_ok {
                people::set_assistant_unauthenticated_ok(&mut tx, id, ok).await?;
            }
            let after = people::assistant(&mut tx, id).await?;
            tx.commit().await?;
            println!(
                "assistant {id}: {} <{}>, {}, {}{}",
                after.name,
                after.emails.join(">, <"),
                after.timezone,
                after.locale,
                if after.unauthenticated_ok {
                    ", handled although unauthenticated"
                } else {
                    ""
                }
            );
        }
        Command::Show { assistant, json } => {
            let who = Who::parse(&assistant)?;
            let pool = open_store(&config).await?;
            let mut conn = pool.acquire().await?;
            let id = who.resolve(&mut conn).await?;
            let shown = Shown {
                assistant: people::assistant(&mut conn, id).await?,
                engagements: engagements::list(&mut conn)
                    .await?
                    .into_iter()
                    .filter(|e| e.assistant_id == id)
                    .collect(),
            };
            if json {
                return print_json(&shown);
            }
            let a = &shown.assistant;
            println!("assistant {}: {}", a.id, a.name);
            println!("email:      {}", a.emails.join(", "));
            println!("time zone:  {}", a.timezone);
            println!("locale:     {}", a.locale);
            println!(
                "unauthenticated mail handled: {}",
                if a.unauthenticated_ok { "yes" } else { "no" }
            );
            println!(
                "added:      {}",
                a.created_at
                    .with_timezone(&config.agency.timezone.0)
                    .date_naive()
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
                            e.client_tag.clone(),
                            e.client_name.clone(),
                            e.status.to_string(),
                            e.start_date.to_string(),
                        ]
                    })
                    .collect();
                print_table(&["ID", "CLIENT", "NAME", "STATUS", "START"], &rows);
            }
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
