//! `tandem engagement add|list|show|edit|pause|resume|activate|end`.

use crate::clock::{Clock as _, SystemClock};
use clap::Subcommand;
use serde::Serialize;

use super::{open_app, open_store, parse_date, print_json, print_table};
use crate::config::Config;
use crate::domain::{ClientTag, EmailAddress};
use crate::onboarding::{EngagementRequest, TrialEnd, lifecycle};
use crate::store::engagements;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start an engagement: creates its agreements and sends the welcome mails.
    Add {
        /// One of the assistant's addresses.
        #[arg(long)]
        assistant: String,
        /// The client's tag.
        #[arg(long)]
        client: String,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        start: String,
        /// Last day of the trial (YYYY-MM-DD).
        #[arg(long, conflicts_with = "trial_weeks")]
        trial_end: Option<String>,
        /// Length of the trial in weeks (default from the config).
        #[arg(long, value_parser = crate::cli::weeks)]
        trial_weeks: Option<u32>,
        /// Hourly rate, e.g. 45 or 45.50.
        #[arg(long, allow_hyphen_values = true)]
        rate: Option<String>,
        /// Monthly hours budget, e.g. 20 or 12.5.
        #[arg(long, allow_hyphen_values = true)]
        budget: Option<String>,
        /// The engagement has been running since --start (moving an agency to tandem): it is
        /// entered as active, with no trial and no welcome mails; its agreements are pending
        /// until recorded with `tandem agreement sign`. A start more than a year ago is always
        /// entered so.
        #[arg(long, conflicts_with_all = ["trial_end", "trial_weeks"])]
        running: bool,
        /// The kickoff call, "YYYY-MM-DD HH:MM" in the agency's zone (or followed by a zone:
        /// "2026-12-03 10:00 Europe/Vienna"): an invitation with an .ics to every contact and
        /// the assistant.
        #[arg(long, value_name = "WHEN", conflicts_with = "running")]
        kickoff: Option<String>,
    },
    /// Set or move the kickoff call: invitations with an .ics to every contact and the
    /// assistant; a new time sends an update of the same calendar event.
    Kickoff {
        /// The engagement's id (see `tandem engagement list`).
        id: i64,
        /// "YYYY-MM-DD HH:MM" in the agency's zone, or followed by a zone
        /// ("2026-12-03 10:00 Europe/Vienna").
        #[arg(long, value_name = "WHEN")]
        at: String,
    },
    /// List engagements.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one engagement with its agreements.
    Show {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change an engagement's hourly rate, monthly budget or trial end.
    Edit {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
        /// Hourly rate, e.g. 45 or 45.50; `none` removes it.
        #[arg(long, allow_hyphen_values = true)]
        rate: Option<String>,
        /// Monthly hours budget, e.g. 20 or 12.5; `none` removes it.
        #[arg(long, allow_hyphen_values = true)]
        budget: Option<String>,
        /// Last day of the trial (YYYY-MM-DD), while the trial is to come or running.
        #[arg(long)]
        trial_end: Option<String>,
    },
    /// Pause an engagement: the schedule sends nothing for it until it is resumed.
    Pause {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
    /// Resume a paused engagement: in onboarding before its start, in its trial up to the
    /// trial end, active after.
    Resume {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
    /// Make an engagement active now (its trial went well, or it needs none).
    Activate {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
    /// End an engagement, with a closing mail to the client's contacts and the assistant
    /// (`[engagements] closing_mail`).
    End {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
        /// Its last day (YYYY-MM-DD; default today), between its start and today.
        #[arg(long = "on", value_name = "DATE")]
        on: Option<String>,
    },
}

/// `--rate`/`--budget` of `edit`: `none` clears it.
fn optional_hundredths(value: &str, what: &str) -> anyhow::Result<Option<i64>> {
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    parse_hundredths(value, what).map(Some)
}

/// `45`, `45.5`, `45,50` -> hundredths (see [`crate::domain::parse_hundredths`]).
fn parse_hundredths(value: &str, what: &str) -> anyhow::Result<i64> {
    Ok(crate::domain::parse_hundredths(value, what)?)
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    engagement: engagements::Engagement,
    agreements: Vec<engagements::Agreement>,
    kickoff: Option<crate::store::calls::Kickoff>,
    kickoff_responses: Vec<crate::store::calls::Response>,
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add {
            assistant,
            client,
            start,
            trial_end,
            trial_weeks,
            rate,
            budget,
            running,
            kickoff,
        } => {
            let kickoff = kickoff
                .map(|k| crate::calls::parse_when(&k, config.agency.timezone))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--kickoff: {e}"))?;
            let request = EngagementRequest {
                assistant: EmailAddress::parse(&assistant)?,
                client: ClientTag::parse(&client)?,
                start: parse_date(&start, "--start")?,
                trial: match (trial_end, trial_weeks) {
                    (Some(end), _) => TrialEnd::On(parse_date(&end, "--trial-end")?),
                    (None, Some(weeks)) => TrialEnd::AfterWeeks(weeks),
                    (None, None) => TrialEnd::Default,
                },
                hourly_rate_cents: rate.map(|r| parse_hundredths(&r, "--rate")).transpose()?,
                budget_minutes: budget
                    .map(|b| parse_hundredths(&b, "--budget").map(|h| h * 60 / 100))
                    .transpose()?,
                running,
            };
            let app = open_app(config).await?;
            let mark = super::outbox_mark(&app).await?;
            let (started, invited) = match kickoff {
                Some((at, zone)) => {
                    let (started, invited) = app
                        .start_engagement_with_kickoff(&request, at, zone)
                        .await?;
                    (started, Some(invited))
                }
                None => (app.start_engagement(&request).await?, None),
            };
            if started.running {
                println!(
                    "added engagement {}, running since {} (active, no trial, no welcome mails) \
                     with {} pending agreement(s): record the signed ones with `tandem agreement \
                     sign`",
                    started.engagement_id, request.start, started.agreements
                );
            } else {
                println!(
                    "added engagement {} with {} agreement(s); {} welcome mail(s) queued",
                    started.engagement_id, started.agreements, started.welcome_mails
                );
            }
            if let (Some(invited), Some((_, zone))) = (invited, kickoff) {
                println!(
                    "kickoff call {} ({zone}): {} invitation(s) queued",
                    invited
                        .starts_at
                        .with_timezone(&zone.0)
                        .format("%Y-%m-%d %H:%M"),
                    invited.mails
                );
            }
            super::deliver(&app, mark).await?;
        }
        Command::List { json } => {
            let pool = open_store(&config).await?;
            let list = engagements::list(&mut *pool.acquire().await?).await?;
            if json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.assistant_name.clone(),
                        e.client_tag.clone(),
                        e.status.to_string(),
                        e.start_date.to_string(),
                        e.trial_end.to_string(),
                    ]
                })
                .collect();
            print_table(
                &["ID", "ASSISTANT", "CLIENT", "STATUS", "START", "TRIAL END"],
                &rows,
            );
        }
        Command::Show { id, json } => {
            let pool = open_store(&config).await?;
            let mut conn = pool.acquire().await?;
            let shown = Shown {
                engagement: engagements::get(&mut conn, id).await?,
                agreements: engagements::agreements(&mut conn, id).await?,
                kickoff: crate::store::calls::kickoff(&mut conn, id).await?,
                kickoff_responses: crate::store::calls::responses(&mut conn, id).await?,
            };
            if json {
                return print_json(&shown);
            }
            let e = &shown.engagement;
            println!(
                "engagement {}: {} for {} ({})",
                e.id, e.assistant_name, e.client_name, e.client_tag
            );
            println!("status:     {}", e.status);
            println!("start:      {}", e.start_date);
            println!("trial end:  {}", e.trial_end);
            if let Some(cents) = e.hourly_rate_cents {
                println!(
                    "rate:       {} per hour",
                    crate::format::format_money(
                        cents,
                        crate::domain::Locale::En,
                        config.agency.currency
                    )
                );
            }
            if let Some(minutes) = e.budget_minutes {
                println!(
                    "budget:     {} h per month",
                    crate::format::format_hours(minutes, crate::domain::Locale::En)
                );
            }
            if let Some(ended) = e.ended_at {
                // The last day, in the client's zone (the engagement's days are days there).
                println!(
                    "ended:      {}",
                    ended.with_timezone(&e.client_timezone.0).date_naive()
                );
            }
            if let Some(k) = &shown.kickoff {
                println!(
                    "kickoff:    {} {} ({} min){}",
                    k.starts_at
                        .with_timezone(&k.timezone.0)
                        .format("%Y-%m-%d %H:%M"),
                    k.timezone,
                    k.minutes,
                    if k.sequence > 0 {
                        format!(", moved {} time(s)", k.sequence)
                    } else {
                        String::new()
                    }
                );
                for r in shown
                    .kickoff_responses
                    .iter()
                    .filter(|r| r.sequence == k.sequence)
                {
                    println!(
                        "            {} {} ({})",
                        r.invitee, r.partstat, r.answered_at
                    );
                }
            }
            println!("agreements:");
            let rows: Vec<Vec<String>> = shown
                .agreements
                .iter()
                .map(|a| {
                    let name = config
                        .agreement(&a.kind)
                        .map(|k| k.en.clone())
                        .unwrap_or_default();
                    vec![
                        a.kind.clone(),
                        a.status.to_string(),
                        a.signers.to_string(),
                        name,
                    ]
                })
                .collect();
            print_table(&["KIND", "STATUS", "SIGNERS", "DOCUMENT"], &rows);
        }
        Command::Edit {
            id,
            rate,
            budget,
            trial_end,
        } => {
            let change = engagements::TermsChange {
                hourly_rate_cents: rate
                    .map(|r| optional_hundredths(&r, "--rate"))
                    .transpose()?,
                budget_minutes: budget
                    .map(|b| optional_hundredths(&b, "--budget").map(|h| h.map(|h| h * 60 / 100)))
                    .transpose()?,
                trial_end: trial_end
                    .map(|d| parse_date(&d, "--trial-end"))
                    .transpose()?,
            };
            if change.hourly_rate_cents.is_none()
                && change.budget_minutes.is_none()
                && change.trial_end.is_none()
            {
                anyhow::bail!("nothing to change: give --rate, --budget or --trial-end");
            }
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            lifecycle::edit(&mut tx, id, &change).await?;
            let e = engagements::get(&mut tx, id).await?;
            tx.commit().await?;
            println!(
                "engagement {id}: rate {}, budget {}, trial end {}",
                e.hourly_rate_cents
                    .map(|c| format!(
                        "{} per hour",
                        crate::format::format_money(
                            c,
                            crate::domain::Locale::En,
                            config.agency.currency
                        )
                    ))
                    .unwrap_or_else(|| "none".into()),
                e.budget_minutes
                    .map(|m| format!(
                        "{} h per month",
                        crate::format::format_hours(m, crate::domain::Locale::En)
                    ))
                    .unwrap_or_else(|| "none".into()),
                e.trial_end
            );
        }
        Command::Kickoff { id, at } => {
            let (at, zone) = crate::calls::parse_when(&at, config.agency.timezone)
                .map_err(|e| anyhow::anyhow!("--at: {e}"))?;
            let app = open_app(config).await?;
            let mark = super::outbox_mark(&app).await?;
            let invited = app.kickoff(id, at, zone).await?;
            println!(
                "engagement {id}: kickoff call {} ({}); {} invitation(s) queued",
                at.with_timezone(&zone.0).format("%Y-%m-%d %H:%M"),
                if invited.sequence == 0 {
                    "invited".to_string()
                } else {
                    format!("moved, update {}", invited.sequence)
                },
                invited.mails
            );
            super::deliver(&app, mark).await?;
        }
        Command::Pause { id } => {
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            lifecycle::pause(&mut tx, id).await?;
            tx.commit().await?;
            println!(
                "engagement {id} paused: nothing is sent for it until `tandem engagement resume {id}`"
            );
        }
        Command::Resume { id } => {
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            let status = lifecycle::resume(&mut tx, id, SystemClock.now()).await?;
            tx.commit().await?;
            println!("engagement {id} resumed: {status}");
        }
        Command::Activate { id } => {
            let pool = open_store(&config).await?;
            let mut tx = pool.begin().await?;
            lifecycle::activate(&mut tx, id).await?;
            tx.commit().await?;
            println!("engagement {id} is active");
        }
        Command::End { id, on } => {
            let last_day = on.map(|d| parse_date(&d, "--on")).transpose()?;
            let app = open_app(config).await?;
            let mark = super::outbox_mark(&app).await?;
            let ended = app.end_engagement(id, last_day).await?;
            println!(
                "engagement {id} ended, its last day {}; {} closing mail(s) queued",
                ended.last_day, ended.closing_mails
            );
            super::deliver(&app, mark).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_hundredths("45", "x").unwrap(), 4500);
        assert_eq!(parse_hundredths("45.5", "x").unwrap(), 4550);
        assert_eq!(parse_hundredths("45,05", "x").unwrap(), 4505);
        assert_eq!(parse_hundredths(".5", "x").unwrap(), 50);
        for bad in ["", ".", "4.555", "-3", "abc", "1e3"] {
            assert!(parse_hundredths(bad, "x").is_err(), "{bad}");
        }
    }
}
