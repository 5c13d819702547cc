//! `tandem schedule preview`: every send the schedule will make, when and to whom, without
//! sending anything.

use anyhow::Context as _;
use chrono::{Datelike as _, Duration, NaiveTime};
use clap::Subcommand;

use super::{open_store, parse_date, print_json, print_table};
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List what the schedule will send (as if nobody answers, signs or logs hours meanwhile).
    Preview {
        /// Only this engagement's sends (its id; see `tandem engagement list`).
        #[arg(long, value_parser = crate::cli::id)]
        engagement: Option<i64>,
        /// The last day to show (YYYY-MM-DD, the operator's time zone; default: 7 days ahead).
        #[arg(long)]
        until: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let Command::Preview {
        engagement,
        until,
        json,
    } = command;
    let now = SystemClock.now();
    let zone = config.agency.timezone.0;
    let last_day = match until {
        Some(day) => parse_date(&day, "--until")?,
        None => now.with_timezone(&zone).date_naive() + Duration::days(7),
    };
    let until = crate::schedule::cadence::local_to_utc(
        last_day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default()),
        zone,
    );
    anyhow::ensure!(until >= now, "--until {last_day} is in the past");
    let pool = open_store(&config).await?;
    let mut conn = pool.acquire().await?;
    if let Some(id) = engagement {
        crate::store::engagements::get(&mut conn, id).await?;
    }
    let rows = crate::tasks::scheduler::preview(&mut conn, &config, engagement, now, until)
        .await
        .context("could not plan the schedule")?;
    if json {
        return print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.local.clone(),
                r.timezone.clone(),
                r.engagement_id
                    .map_or_else(|| "-".into(), |id| id.to_string()),
                r.kind.to_string(),
                r.recipient.clone(),
                r.condition.unwrap_or_default().to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "WHEN (LOCAL)",
            "ZONE",
            "ENGAGEMENT",
            "KIND",
            "TO",
            "CONDITION",
        ],
        &table,
    );
    // The days the send window skips for holidays, within the preview.
    if let Some(region) = config.schedule.holidays {
        let (first, last) = (now.with_timezone(&zone).date_naive(), last_day);
        let skipped: Vec<String> = (first.year()..=last.year())
            .flat_map(|year| region.holidays(year))
            .filter(|(day, _)| (first..=last).contains(day))
            .map(|(day, name)| format!("{day} {name}"))
            .collect();
        if !skipped.is_empty() {
            println!();
            println!("no scheduled mail on the holidays of {region}:");
            for day in skipped {
                println!("  {day}");
            }
        }
    }
    // Clients with a region of their own: their contacts' mail skips those days instead.
    let previewed = match engagement {
        Some(id) => Some(
            crate::store::engagements::get(&mut conn, id)
                .await?
                .client_id,
        ),
        None => None,
    };
    for client in crate::store::people::list_clients(&mut conn).await? {
        let Some(region) = client.holidays.as_deref() else {
            continue;
        };
        if previewed.is_some_and(|id| id != client.id) {
            continue;
        }
        let region: crate::schedule::holidays::Region = region
            .parse()
            .map_err(|e| anyhow::anyhow!("client '{}': holidays '{region}': {e}", client.tag))?;
        let (first, last) = (now.with_timezone(&client.timezone.0).date_naive(), last_day);
        let skipped: Vec<String> = (first.year()..=last.year())
            .flat_map(|year| region.holidays(year))
            .filter(|(day, _)| (first..=last).contains(day))
            .map(|(day, name)| format!("{day} {name}"))
            .collect();
        if !skipped.is_empty() {
            println!();
            println!(
                "no scheduled mail to the contacts of '{}' on the holidays of {region}:",
                client.tag
            );
            for day in skipped {
                println!("  {day}");
            }
        }
    }
    Ok(())
}
