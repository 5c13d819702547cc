//! `tandem hours list|void|restore|export|lock|unlock`.

use anyhow::Context as _;
use chrono::{Datelike, NaiveDate};
use clap::Subcommand;

use super::{open_store, parse_date, print_json, print_table};
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::domain::ClientTag;
use crate::format::format_duration;
use crate::store::timelog::{self, EntryFilter};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List logged hours.
    List {
        /// Only this client's.
        #[arg(long)]
        client: Option<String>,
        /// From this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Up to this day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// Include voided entries.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Void one entry (it no longer counts; it stays on record).
    Void {
        /// The entry's id (see `tandem hours list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
    /// Restore a voided entry: it counts again (not in a locked month).
    Restore {
        /// The entry's id (see `tandem hours list --all`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
    /// Write a month's hours as CSV for billing, to stdout.
    Export {
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        /// Only this client's (its tag).
        #[arg(long)]
        client: Option<String>,
    },
    /// Close a billed month: no entry can be added to it any more.
    Lock {
        /// YYYY-MM.
        #[arg(long)]
        month: String,
    },
    /// Reopen a locked month, to correct it: hours can be logged and voided in it again.
    Unlock {
        /// The locked month, YYYY-MM.
        #[arg(long)]
        month: String,
    },
}

/// `2026-11` -> its first and last day.
fn parse_month(value: &str) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", value.trim()), "%Y-%m-%d")
        .with_context(|| format!("--month '{value}' is not a month: write YYYY-MM"))?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .context("month out of range")?;
    Ok((first, next.pred_opt().context("month out of range")?))
}

fn client_filter(client: Option<String>) -> anyhow::Result<Option<String>> {
    Ok(client
        .map(|c| ClientTag::parse(&c))
        .transpose()?
        .map(|t| t.as_str().to_string()))
}

/// Refuses a `--client` filter naming no client: it would list nothing, as if there were no
/// hours.
async fn known_client(pool: &crate::store::Pool, tag: Option<&str>) -> anyhow::Result<()> {
    if let Some(tag) = tag {
        let tag = ClientTag::parse(tag)?;
        crate::store::people::client_by_tag(&mut *pool.acquire().await?, &tag).await?;
    }
    Ok(())
}

/// Hundredths as a decimal with two places: `1.50`.
fn decimal(hundredths: i64) -> String {
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::List {
            client,
            from,
            to,
            all,
            json,
        } => {
            let filter = EntryFilter {
                client: client_filter(client)?,
                from: from.map(|d| parse_date(&d, "--from")).transpose()?,
                to: to.map(|d| parse_date(&d, "--to")).transpose()?,
                with_void: all,
            };
            if let (Some(from), Some(to)) = (filter.from, filter.to) {
                anyhow::ensure!(
                    from <= to,
                    "--from {from} is after --to {to}: the range holds no day"
                );
            }
            let pool = open_store(&config).await?;
            known_client(&pool, filter.client.as_deref()).await?;
            let rows = timelog::entries(&mut *pool.acquire().await?, &filter).await?;
            if json {
                return print_json(&rows);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.work_date.to_string(),
                        r.assistant.clone(),
                        r.client.clone(),
                        format_duration(r.minutes),
                        r.status.clone(),
                        r.description.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "DATE",
                    "ASSISTANT",
                    "CLIENT",
                    "TIME",
                    "STATUS",
                    "DESCRIPTION",
                ],
                &table,
            );
            let total: i64 = rows
                .iter()
                .filter(|r| r.status == "logged")
                .map(|r| r.minutes)
                .sum();
            println!("total: {}", format_duration(total));
        }
        Command::Void { id } => {
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let voided = timelog::void_entry(&mut tx, id, SystemClock.now()).await?;
            tx.commit().await?;
            match voided {
                true => println!("time entry {id} voided"),
                false => println!("time entry {id} was void already"),
            }
        }
        Command::Restore { id } => {
            let pool = open_store(&config).await?;
            let mut tx = pool.begin_immediate().await?;
            let restored = timelog::restore_entry(&mut tx, id).await?;
            tx.commit().await?;
            match restored {
                true => println!("time entry {id} restored: it counts again"),
                false => println!("time entry {id} is not void: it counts already"),
            }
        }
        Command::Export { month, client } => {
            let (from, to) = parse_month(&month)?;
            let filter = EntryFilter {
                client: client_filter(client)?,
                from: Some(from),
                to: Some(to),
                with_void: false,
            };
            let pool = open_store(&config).await?;
            known_client(&pool, filter.client.as_deref()).await?;
            let rows = timelog::entries(&mut *pool.acquire().await?, &filter).await?;
            let mut csv = csv::Writer::from_writer(super::stdout());
            csv.write_record([
                "date",
                "assistant",
                "client",
                "minutes",
                "hours",
                "description",
                "rate",
                "amount",
            ])?;
            for r in &rows {
                let hours = r.minutes * 100 / 60;
                // Amount from exact minutes, rounded to the cent.
                let amount = r.hourly_rate_cents.map(|rate| (rate * r.minutes + 30) / 60);
                csv.write_record([
                    r.work_date.to_string(),
                    r.assistant.clone(),
                    r.client.clone(),
                    r.minutes.to_string(),
                    decimal(hours),
                    r.description.clone(),
                    r.hourly_rate_cents.map(decimal).unwrap_or_default(),
                    amount.map(decimal).unwrap_or_default(),
                ])?;
            }
            csv.flush()?;
        }
        Command::Lock { month } => {
            let (first, last) = parse_month(&month)?;
            let month = first.format("%Y-%m").to_string();
            let now = SystemClock.now();
            let today = now.with_timezone(&config.agency.timezone.0).date_naive();
            anyhow::ensure!(
                last < today,
                "{month} has not ended yet (today is {today}): a month is locked once it is billed"
            );
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let locked = timelog::lock_month(&mut tx, &month, now).await?;
            tx.commit().await?;
            if locked {
                println!("{month} is locked: no more hours can be logged for it");
            } else {
                println!("{month} was locked already");
            }
        }
        Command::Unlock { month } => {
            let (first, _) = parse_month(&month)?;
            let month = first.format("%Y-%m").to_string();
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            if !timelog::unlock_month(&mut tx, &month).await? {
                let locked = timelog::locked_months(&mut tx).await?;
                let locked = match locked.is_empty() {
                    true => "no month is locked".to_string(),
                    false => format!("locked: {}", locked.join(", ")),
                };
                // Nothing to do, as `hours lock` of a locked month; the note lists what is
                // locked, in case another month was meant.
                println!("{month} was not locked ({locked})");
                return Ok(());
            }
            tx.commit().await?;
            println!("{month} is unlocked: hours can be logged and voided in it again");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_decimals() {
        let (a, b) = parse_month("2026-12").unwrap();
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("2026-12-01".into(), "2026-12-31".into())
        );
        assert_eq!(parse_month("2027-02").unwrap().1.to_string(), "2027-02-28");
        assert!(parse_month("2026-13").is_err());
        assert_eq!(decimal(150), "1.50");
        assert_eq!(decimal(4505), "45.05");
    }
}
