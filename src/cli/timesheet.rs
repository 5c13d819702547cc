//! `tandem timesheet list|show|send|approve`: the monthly timesheets to the clients' billing
//! contacts, what they answered, and the operator's own send and approval.

use chrono::NaiveDate;
use clap::Subcommand;
use serde::Serialize;

use super::{deliver, open_app, open_store, print_json, print_table};
use crate::config::Config;
use crate::domain::Locale;
use crate::format::format_money;
use crate::format::hours_minutes;
use crate::recipients::People;
use crate::store::timesheets::{self, Timesheet};
use crate::timesheet::flow::{self, Sent};
use crate::timesheet::month_days;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the timesheets sent (or approved), the newest month first, with their answers.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show an engagement's month: every entry, the total and amount, and the timesheet's
    /// state (sent, approved, disputed, with the client's words).
    Show {
        /// The engagement's id (see `tandem engagement list`).
        engagement: i64,
        /// The month, YYYY-MM.
        month: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send the engagement's timesheet of a past month now: the first time, or again after
    /// a dispute (not once it is approved).
    Send {
        /// The engagement's id (see `tandem engagement list`).
        engagement: i64,
        /// The month, YYYY-MM (one that has ended).
        month: String,
    },
    /// Record the client's approval of the engagement's month (given by phone, say): the
    /// totals as they stand; with `[timesheet] lock_on_approval` the month is locked too.
    Approve {
        /// The engagement's id (see `tandem engagement list`).
        engagement: i64,
        /// The month, YYYY-MM (one that has ended).
        month: String,
    },
}

/// `YYYY-MM`, read before anything is opened.
fn parse_month(value: &str) -> anyhow::Result<(String, NaiveDate, NaiveDate)> {
    let (first, last) = month_days(value.trim())
        .ok_or_else(|| anyhow::anyhow!("'{value}' is not a month: write YYYY-MM, say 2026-11"))?;
    Ok((value.trim().to_string(), first, last))
}

#[derive(Serialize)]
struct ShownLine {
    date: NaiveDate,
    minutes: i64,
    hours: String,
    description: String,
}

#[derive(Serialize)]
struct Shown {
    engagement_id: i64,
    client: String,
    assistant: String,
    month: String,
    minutes: i64,
    total: String,
    amount_cents: Option<i64>,
    /// To whom it goes: the billing contact.
    billing_contact: String,
    entries: Vec<ShownLine>,
    /// `unsent`, `sent`, `approved` or `disputed`.
    status: String,
    timesheet: Option<Timesheet>,
}

/// An amount as the console shows it (English separators, the agency's currency).
fn money(config: &Config, cents: Option<i64>) -> String {
    cents
        .map(|c| format_money(c, Locale::En, config.agency.currency))
        .unwrap_or_else(|| "-".into())
}

/// A time as the console shows it: in the agency's zone, to the minute.
fn when(config: &Config, at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|a| super::local_time(&config.agency.timezone, a))
        .unwrap_or_else(|| "-".into())
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::List { json } => {
            let pool = open_store(&config).await?;
            let list = timesheets::list(&mut *pool.acquire().await?).await?;
            if json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|t| {
                    vec![
                        t.engagement_id.to_string(),
                        t.client_tag.clone(),
                        t.assistant_name.clone(),
                        t.month.clone(),
                        t.status.clone(),
                        hours_minutes(t.minutes),
                        money(&config, t.amount_cents),
                        when(&config, Some(t.sent_at)),
                        when(&config, t.answered_at),
                        t.answered_by.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ENGAGEMENT",
                    "CLIENT",
                    "ASSISTANT",
                    "MONTH",
                    "STATUS",
                    "TOTAL",
                    "AMOUNT",
                    "SENT (UTC)",
                    "ANSWERED (UTC)",
                    "BY",
                ],
                &rows,
            );
        }
        Command::Show {
            engagement,
            month,
            json,
        } => {
            let (month, _, _) = parse_month(&month)?;
            let pool = open_store(&config).await?;
            let mut conn = pool.acquire().await?;
            let people = People::load(&mut conn, engagement).await?;
            let sheet = flow::sheet(&mut conn, &people, &month)
                .await?
                .ok_or_else(|| anyhow::anyhow!("'{month}' is not a month"))?;
            let stored = timesheets::get(&mut conn, engagement, &month).await?;
            let shown = Shown {
                engagement_id: engagement,
                client: people.client.tag.clone(),
                assistant: people.assistant.name.clone(),
                month: month.clone(),
                minutes: sheet.minutes,
                total: hours_minutes(sheet.minutes),
                amount_cents: sheet.amount_cents,
                billing_contact: flow::billing_contact(&people)?.mailbox.to_string(),
                entries: sheet
                    .lines
                    .iter()
                    .map(|l| ShownLine {
                        date: l.date,
                        minutes: l.minutes,
                        hours: hours_minutes(l.minutes),
                        description: l.description.clone(),
                    })
                    .collect(),
                status: stored
                    .as_ref()
                    .map_or("unsent".to_string(), |t| t.status.clone()),
                timesheet: stored,
            };
            if json {
                return print_json(&shown);
            }
            println!(
                "timesheet {month} of engagement {engagement} ({}, {})",
                shown.assistant, shown.client
            );
            println!("to:       {}", shown.billing_contact);
            println!("status:   {}", shown.status);
            if let Some(t) = &shown.timesheet {
                println!(
                    "sent:     {} ({} time{})",
                    when(&config, Some(t.sent_at)),
                    t.sends,
                    if t.sends == 1 { "" } else { "s" }
                );
                if let Some(at) = t.answered_at {
                    println!(
                        "answered: {} by {}",
                        when(&config, Some(at)),
                        t.answered_by.as_deref().unwrap_or("-")
                    );
                }
                if let Some(minutes) = t.approved_minutes {
                    println!(
                        "approved: {} h, {}{}",
                        hours_minutes(minutes),
                        money(&config, t.approved_cents),
                        if t.locked {
                            " (the month is locked)"
                        } else {
                            ""
                        }
                    );
                }
                if let Some(words) = &t.dispute {
                    println!("disputed: {words}");
                }
            }
            for l in &shown.entries {
                println!("  {}  {:>6}  {}", l.date, l.hours, l.description);
            }
            println!(
                "total:    {} h, {}",
                shown.total,
                money(&config, shown.amount_cents)
            );
        }
        Command::Send { engagement, month } => {
            let (month, _, last) = parse_month(&month)?;
            let app = open_app(config).await?;
            check_month(&app, engagement, &month, last).await?;
            let mark = super::outbox_mark(&app).await?;
            match app.send_timesheet_now(engagement, &month).await? {
                Sent::Queued { sends, .. } => {
                    println!(
                        "timesheet {month} of engagement {engagement} queued{}",
                        if sends > 1 {
                            format!(" (sent {sends} times)")
                        } else {
                            String::new()
                        }
                    );
                    deliver(&app, mark).await?;
                }
                Sent::NoHours => anyhow::bail!(
                    "engagement {engagement} has no hours in {month}: there is nothing to send"
                ),
                Sent::Approved(at) => anyhow::bail!(
                    "the timesheet {month} of engagement {engagement} was approved on {}: it is \
                     not sent again",
                    at.format("%Y-%m-%d")
                ),
                // `send_timesheet_now` sends again; kept for completeness.
                Sent::Before => println!("timesheet {month} was sent before"),
            }
        }
        Command::Approve { engagement, month } => {
            let (month, _, last) = parse_month(&month)?;
            let app = open_app(config).await?;
            check_month(&app, engagement, &month, last).await?;
            if app.approve_timesheet(engagement, &month).await? {
                let locked = match app.config.timesheet.lock_on_approval {
                    true => "; the month is locked for the engagement",
                    false => "",
                };
                println!("timesheet {month} of engagement {engagement} approved{locked}");
            } else {
                println!("timesheet {month} of engagement {engagement} was approved already");
            }
        }
    }
    Ok(())
}

/// Refuses an unknown engagement, a month that has not ended (in the agency's zone), a month
/// before the engagement began, and a month without hours.
async fn check_month(
    app: &crate::app::App,
    engagement: i64,
    month: &str,
    last: NaiveDate,
) -> anyhow::Result<()> {
    let mut conn = app.pool.acquire().await?;
    let people = People::load(&mut conn, engagement).await?;
    let now = app.clock.now();
    let today = now
        .with_timezone(&app.config.agency.timezone.0)
        .date_naive();
    anyhow::ensure!(
        last < today,
        "{month} has not ended yet (today is {today}): a timesheet covers a past month"
    );
    anyhow::ensure!(
        last >= people.engagement.start_date,
        "engagement {engagement} began on {}, after {month}",
        people.engagement.start_date
    );
    let has_hours = flow::sheet(&mut conn, &people, month)
        .await?
        .is_some_and(|sheet| !sheet.lines.is_empty());
    anyhow::ensure!(
        has_hours,
        "engagement {engagement} has no hours in {month}: there is no timesheet"
    );
    Ok(())
}
