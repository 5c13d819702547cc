//! `tandem import FILE.csv`: assistants, clients with their contacts, and engagements from a
//! spreadsheet, for an agency moving to tandem. [`parse`] reads and checks every row first
//! (pure: the CSV text in, domain values or every row's fault out); [`apply`] writes them in
//! the caller's transaction through the same store functions and onboarding as `add`, so a
//! row the database refuses (an address someone has, a tag taken) names its row, and the
//! caller rolls everything back. Nothing is imported unless everything is.
//!
//! One row is one thing, by its `kind` column (header names, any order; empty cells are
//! "not given"):
//! - `assistant`: `name`, `email` (several separated by `;`), `timezone`, `locale`
//! - `client`: `name`, `tag`, `timezone`, `locale`, `holidays` (its own region of public
//!   holidays, `DE-NW`: mail to its contacts skips those days)
//! - `contact`: `tag` (its client's, in the file or already in tandem), `name`, `email`,
//!   `role`, `reachability`
//! - `engagement`: `assistant` (an address), `client` (a tag), `start`, `trial_end` or
//!   `trial_weeks`, `rate`, `budget`, `running` (`yes`/`no`)

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::compose::Composer;
use crate::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone, parse_hundredths};
use crate::error::error_chain;
use crate::onboarding::{self, EngagementRequest, TrialEnd};
use crate::store::people::{self, NewAssistant, NewClient};
use crate::store::{Conn, StoreError};

/// Every column the file may have.
pub const COLUMNS: &[&str] = &[
    "kind",
    "name",
    "email",
    "tag",
    "timezone",
    "locale",
    "role",
    "reachability",
    "assistant",
    "client",
    "start",
    "trial_end",
    "trial_weeks",
    "rate",
    "budget",
    "running",
    "holidays",
];

/// The columns a row of each kind may fill.
const KINDS: &[(&str, &[&str])] = &[
    ("assistant", &["name", "email", "timezone", "locale"]),
    ("client", &["name", "tag", "timezone", "locale", "holidays"]),
    ("contact", &["tag", "name", "email", "role", "reachability"]),
    (
        "engagement",
        &[
            "assistant",
            "client",
            "start",
            "trial_end",
            "trial_weeks",
            "rate",
            "budget",
            "running",
        ],
    ),
];

/// How many faulty rows an error lists before it counts the rest.
pub const ERRORS_SHOWN: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file, or rows of it, cannot be imported: every fault found, by row.
    #[error("{0}")]
    Invalid(String),
    /// The database refused a row (checked as `add` checks it).
    #[error("row {row}: {reason}")]
    Refused { row: u64, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A value and the line of the file it came from (the header is line 1).
#[derive(Debug, Clone)]
pub struct Row<T> {
    pub line: u64,
    pub value: T,
}

/// What a file holds, checked, in the order it is written.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub assistants: Vec<Row<NewAssistant>>,
    /// Clients of the file, each with the contacts the file gives it.
    pub clients: Vec<Row<NewClient>>,
    /// Contacts of clients already in tandem.
    pub contacts: Vec<Row<(ClientTag, Contact)>>,
    pub engagements: Vec<Row<EngagementRequest>>,
    /// Data rows in the file.
    pub rows: u64,
    /// The clients of the file with a region of public holidays of their own (`DE-NW`).
    pub client_holidays: Vec<(ClientTag, crate::schedule::holidays::Region)>,
}

/// What [`apply`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub assistants: usize,
    pub clients: usize,
    pub contacts: usize,
    pub engagements: usize,
    pub welcome_mails: usize,
}

/// Reads and checks every row of `data` (CSV with a header line). People without a time
/// zone or locale get `zone` and `locale` (the agency's). Every faulty row is named, up to
/// [`ERRORS_SHOWN`].
pub fn parse(data: &[u8], zone: TimeZone, locale: Locale) -> Result<Plan, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::Invalid(format!("the header line cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    for (i, header) in headers.iter().enumerate() {
        if !COLUMNS.contains(&header.as_str()) {
            return Err(ImportError::Invalid(format!(
                "unknown column '{header}' in the header line (the columns are: {})",
                COLUMNS.join(", ")
            )));
        }
        if headers[..i].contains(header) {
            return Err(ImportError::Invalid(format!(
                "the column '{header}' is in the header line twice"
            )));
        }
    }
    if !headers.iter().any(|h| h == "kind") {
        return Err(ImportError::Invalid(format!(
            "the header line has no 'kind' column (the columns are: {})",
            COLUMNS.join(", ")
        )));
    }

    let mut plan = Plan::default();
    let mut faults: Vec<String> = Vec::new();
    // Contacts by the tag they name, for the clients of the file.
    let mut contacts: Vec<Row<(ClientTag, Contact)>> = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                faults.push(format!("row {line}: {}", csv_fault(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        plan.rows += 1;
        let cell = |name: &str| -> Option<&str> {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
        };
        match parse_row(&cell, zone, locale) {
            Ok(Parsed::Assistant(a)) => plan.assistants.push(Row { line, value: a }),
            Ok(Parsed::Client(c, holidays)) => {
                if let Some(region) = holidays {
                    plan.client_holidays.push((c.tag.clone(), region));
                }
                plan.clients.push(Row { line, value: c })
            }
            Ok(Parsed::Contact(tag, c)) => contacts.push(Row {
                line,
                value: (tag, c),
            }),
            Ok(Parsed::Engagement(e)) => plan.engagements.push(Row { line, value: e }),
            Err(fault) => faults.push(format!("row {line}: {fault}")),
        }
    }
    for contact in contacts {
        let (tag, _) = &contact.value;
        match plan.clients.iter_mut().find(|c| &c.value.tag == tag) {
            Some(client) => client.value.contacts.push(contact.value.1),
            None => plan.contacts.push(contact),
        }
    }
    for client in &plan.clients {
        if client.value.contacts.is_empty() {
            faults.push(format!(
                "row {}: client '{}' has no contact: add a row of kind 'contact' with tag '{}'",
                client.line, client.value.tag, client.value.tag
            ));
        }
    }
    if plan.rows == 0 && faults.is_empty() {
        return Err(ImportError::Invalid(
            "the file has no rows under its header line".into(),
        ));
    }
    if !faults.is_empty() {
        faults.sort_by_key(|f| row_number(f));
        let more = faults.len().saturating_sub(ERRORS_SHOWN);
        let mut text = format!(
            "{} row(s) cannot be imported, so nothing is:\n{}",
            faults.len(),
            faults[..faults.len().min(ERRORS_SHOWN)].join("\n")
        );
        if more > 0 {
            text.push_str(&format!("\n... and {more} more"));
        }
        return Err(ImportError::Invalid(text));
    }
    Ok(plan)
}

fn row_number(fault: &str) -> u64 {
    fault
        .strip_prefix("row ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn csv_fault(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("it has {len} cells, the header line {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

enum Parsed {
    Assistant(NewAssistant),
    Client(NewClient, Option<crate::schedule::holidays::Region>),
    Contact(ClientTag, Contact),
    Engagement(EngagementRequest),
}

fn parse_row<'a>(
    cell: &dyn Fn(&str) -> Option<&'a str>,
    zone: TimeZone,
    locale: Locale,
) -> Result<Parsed, String> {
    let Some(kind) = cell("kind") else {
        return Err("no kind: write assistant, client, contact or engagement".into());
    };
    let kind = kind.to_ascii_lowercase();
    let Some((_, allowed)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        return Err(format!(
            "unknown kind '{kind}': write assistant, client, contact or engagement"
        ));
    };
    for column in COLUMNS {
        if *column != "kind" && !allowed.contains(column) && cell(column).is_some() {
            return Err(format!(
                "the column '{column}' does not apply to a row of kind '{kind}' (it takes: {})",
                allowed.join(", ")
            ));
        }
    }
    let required = |column: &str| {
        cell(column).ok_or_else(|| format!("a row of kind '{kind}' needs its '{column}'"))
    };
    let e = |e: crate::domain::ParseError| e.to_string();
    let zone = cell("timezone")
        .map_or(Ok(zone), TimeZone::parse)
        .map_err(e)?;
    let locale = cell("locale")
        .map_or(Ok(locale), str::parse::<Locale>)
        .map_err(e)?;
    Ok(match kind.as_str() {
        "assistant" => Parsed::Assistant(NewAssistant {
            name: required("name")?.to_string(),
            emails: required("email")?
                .split([';', ' '])
                .filter(|s| !s.is_empty())
                .map(EmailAddress::parse)
                .collect::<Result<_, _>>()
                .map_err(e)?,
            timezone: zone,
            locale,
        }),
        "client" => Parsed::Client(
            NewClient {
                name: required("name")?.to_string(),
                tag: ClientTag::parse(required("tag")?).map_err(e)?,
                timezone: zone,
                locale,
                contacts: Vec::new(),
            },
            cell("holidays")
                .map(|r| r.parse().map_err(|e| format!("holidays: {e}")))
                .transpose()?,
        ),
        "contact" => Parsed::Contact(
            ClientTag::parse(required("tag")?).map_err(e)?,
            Contact {
                name: required("name")?.to_string(),
                email: EmailAddress::parse(required("email")?).map_err(e)?,
                role: cell("role").map(str::to_string),
                reachability: cell("reachability").map(str::to_string),
            },
        ),
        _ => {
            let date = |column: &str, value: &str| {
                NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .map_err(|_| format!("{column} '{value}' is not a date: write YYYY-MM-DD"))
            };
            let trial = match (cell("trial_end"), cell("trial_weeks")) {
                (Some(_), Some(_)) => {
                    return Err("give trial_end or trial_weeks, not both".into());
                }
                (Some(end), None) => TrialEnd::On(date("trial_end", end)?),
                (None, Some(weeks)) => TrialEnd::AfterWeeks(
                    weeks
                        .parse()
                        .map_err(|_| format!("trial_weeks '{weeks}' is not a number of weeks"))?,
                ),
                (None, None) => TrialEnd::Default,
            };
            let running = match cell("running").map(str::to_ascii_lowercase).as_deref() {
                None | Some("no" | "false" | "0" | "nein") => false,
                Some("yes" | "true" | "1" | "ja") => true,
                Some(other) => return Err(format!("running '{other}' is not yes or no")),
            };
            Parsed::Engagement(EngagementRequest {
                assistant: EmailAddress::parse(required("assistant")?).map_err(e)?,
                client: ClientTag::parse(required("client")?).map_err(e)?,
                start: date("start", required("start")?)?,
                trial,
                hourly_rate_cents: cell("rate")
                    .map(|r| parse_hundredths(r, "rate"))
                    .transpose()
                    .map_err(e)?,
                budget_minutes: cell("budget")
                    .map(|b| parse_hundredths(b, "budget").map(|h| h * 60 / 100))
                    .transpose()
                    .map_err(e)?,
                running,
            })
        }
    })
}

/// Writes what `plan` holds in the caller's transaction: assistants, clients with their
/// contacts, contacts of clients already in tandem, engagements (with their welcome mails,
/// as `engagement add`). `progress` is told how many rows each step took. The first row the
/// database refuses ends it, naming the row; the caller then rolls back.
pub async fn apply(
    tx: &mut Conn,
    compose: &Composer,
    default_trial_weeks: u32,
    plan: &Plan,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Imported, ImportError> {
    let refused = |line: u64| {
        move |e: &(dyn std::error::Error + 'static)| ImportError::Refused {
            row: line,
            reason: error_chain(e),
        }
    };
    let mut done = Imported::default();
    for row in &plan.assistants {
        people::insert_assistant(tx, &row.value, now)
            .await
            .map_err(|e| refused(row.line)(&e))?;
        done.assistants += 1;
        progress(1);
    }
    for row in &plan.clients {
        let id = people::insert_client(tx, &row.value, now)
            .await
            .map_err(|e| refused(row.line)(&e))?;
        if let Some((_, region)) = plan
            .client_holidays
            .iter()
            .find(|(t, _)| *t == row.value.tag)
        {
            people::set_client_holidays(tx, id, Some(&region.to_string()))
                .await
                .map_err(|e| refused(row.line)(&e))?;
        }
        done.clients += 1;
        done.contacts += row.value.contacts.len();
        progress(1 + row.value.contacts.len() as u64);
    }
    for row in &plan.contacts {
        let (tag, contact) = &row.value;
        let client = people::client_by_tag(tx, tag)
            .await
            .map_err(|e| refused(row.line)(&e))?;
        people::add_contact(tx, client.id, contact)
            .await
            .map_err(|e| refused(row.line)(&e))?;
        done.contacts += 1;
        progress(1);
    }
    for row in &plan.engagements {
        let started = onboarding::start(tx, compose, default_trial_weeks, &row.value, now)
            .await
            .map_err(|e| refused(row.line)(&e))?;
        done.engagements += 1;
        done.welcome_mails += started.welcome_mails;
        progress(1);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(csv: &str) -> Result<Plan, String> {
        parse(
            csv.as_bytes(),
            TimeZone::parse("Europe/Berlin").unwrap(),
            Locale::De,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn rows_of_each_kind_in_any_column_order() {
        let p = plan(
            "kind,name,email,tag,role,reachability,timezone,locale,assistant,client,start,rate,budget,running\n\
             assistant,Sam Lee,sam@va.example;sam@gmail.example,,,,Europe/Lisbon,en,,,,,,\n\
             client,Acme GmbH,,acme,,,,,,,,,,\n\
             contact,Anna Berg,anna@acme.example,acme,CEO,Mon-Thu 9-13,,,,,,,,\n\
             contact,Gus Grey,gus@globex.example,globex,,,,,,,,,,\n\
             engagement,,,,,,,,sam@va.example,acme,2026-12-01,\"45,50\",20,yes\n",
        )
        .unwrap();
        assert_eq!(p.rows, 5);
        assert_eq!(p.assistants[0].value.emails.len(), 2);
        assert_eq!(p.assistants[0].value.locale, Locale::En);
        assert_eq!(p.clients[0].value.contacts.len(), 1);
        assert_eq!(p.clients[0].value.locale, Locale::De);
        assert_eq!(p.clients[0].line, 3);
        assert_eq!(p.contacts.len(), 1, "globex is not in the file");
        let e = &p.engagements[0].value;
        assert_eq!(
            (e.hourly_rate_cents, e.budget_minutes, e.running),
            (Some(4550), Some(1200), true)
        );
    }

    #[test]
    fn every_faulty_row_is_named() {
        let err = plan(
            "kind,name,email,tag,start,assistant,client\n\
             assistant,Sam,sam.va.example,,,,\n\
             client,Acme,,acme,,,\n\
             robot,R2,,,,,\n\
             engagement,,,,2026-13-01,sam@va.example,acme\n\
             assistant,Kim,kim@va.example,kim,,,\n",
        )
        .unwrap_err();
        for fault in [
            "5 row(s) cannot be imported, so nothing is",
            "row 2: 'sam.va.example' is not an email address",
            "row 3: client 'acme' has no contact",
            "row 4: unknown kind 'robot'",
            "row 5: start '2026-13-01' is not a date",
            "row 6: the column 'tag' does not apply to a row of kind 'assistant'",
        ] {
            assert!(err.contains(fault), "{fault}\n{err}");
        }
        assert!(
            plan("kind,nmae\n")
                .unwrap_err()
                .contains("unknown column 'nmae'")
        );
        assert!(plan("kind,name\n").unwrap_err().contains("no rows"));
        assert!(plan("name\nx\n").unwrap_err().contains("no 'kind' column"));
        let short = plan("kind,name,email\nassistant,Sam\n").unwrap_err();
        assert!(
            short.contains("row 2: it has 2 cells, the header line 3"),
            "{short}"
        );
    }
}
