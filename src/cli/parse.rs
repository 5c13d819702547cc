//! `tandem parse FILE [--json]`: how the daemon reads one message. Opens the database
//! read-only (to know the sender and their engagements) and changes nothing.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::print_json;
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::domain::{Classification, Disposition};
use crate::inbound::classify::classify;
use crate::inbound::message::Incoming;
use crate::inbound::route::{Route, route};
use crate::store::{self, Pool, StoreError};
use crate::timelog::flow::{Accepted, Rejection};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The message, as an .eml file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The output of `tandem parse`.
#[derive(Debug, Serialize)]
pub struct Parsed {
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub date: Option<DateTime<Utc>>,
    pub classification: Classification,
    pub reason: String,
    pub disposition: Disposition,
    /// Whether the daemon has recorded this message already (it would only move it).
    pub seen_before: bool,
    /// The new text the daemon reads: without quotes and signatures.
    pub text: String,
    /// Time-log entries it would store.
    pub entries: Vec<Accepted>,
    /// Time-log lines it would reject, with why.
    pub rejected: Vec<Rejection>,
    /// Survey answers (filled by the survey flow).
    pub answers: Vec<serde_json::Value>,
}

/// Reads `raw` as the daemon would, with `pool` (read-only) for who is who; `None` when there
/// is no database yet, so every sender is unknown.
pub async fn analyse(
    config: &Config,
    pool: Option<&Pool>,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Parsed, StoreError> {
    let incoming = Incoming::parse(raw);
    let (route, seen_before) = match pool {
        Some(pool) => {
            let mut conn = pool.acquire().await?;
            let seen = store::inbound::disposition_of(&mut conn, &incoming.dedupe_key).await?;
            (
                route(&mut conn, config, &incoming, now).await?,
                seen.is_some(),
            )
        }
        None => (
            Route::File(classify(&incoming, &config.agency.from.email, None)),
            false,
        ),
    };
    let decision = route.decision().clone();
    let (entries, rejected) = match route {
        Route::Hours(_, plan)
        | Route::Cancel {
            corrections: Some(plan),
            ..
        } => (plan.accepted, plan.rejected),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(Parsed {
        message_id: incoming.message_id.clone(),
        from: incoming
            .from
            .as_ref()
            .map(ToString::to_string)
            .or(incoming.from_raw.clone()),
        subject: incoming.subject.clone(),
        date: incoming.date,
        classification: decision.classification,
        reason: decision.reason,
        disposition: decision.disposition,
        seen_before,
        text: incoming.new_text,
        entries,
        rejected,
        answers: Vec::new(),
    })
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let raw = std::fs::read(&args.file)
        .with_context(|| format!("could not read '{}'", args.file.display()))?;
    let pool = match store::connect(&config.database.url, 1, store::Open::ReadOnly).await {
        Ok(pool) => Some(pool),
        Err(StoreError::Missing(url)) => {
            eprintln!("note: no database at {url} yet, so every sender is unknown");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let parsed = analyse(&config, pool.as_ref(), &raw, SystemClock.now()).await?;
    if args.json {
        return print_json(&parsed);
    }
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    println!("message-id:     {}", or_dash(parsed.message_id));
    println!("from:           {}", or_dash(parsed.from));
    println!("subject:        {}", or_dash(parsed.subject));
    println!(
        "date:           {}",
        or_dash(parsed.date.map(|d| d.to_rfc3339()))
    );
    println!("classification: {}", parsed.classification.as_str());
    println!("reason:         {}", parsed.reason);
    println!("goes to:        {}", parsed.disposition.as_str());
    if parsed.seen_before {
        println!("seen before:    yes (the daemon would only move it)");
    }
    for e in &parsed.entries {
        println!(
            "entry:          line {}: {} {} #{} {}",
            e.line,
            e.date,
            crate::format::format_duration(i64::from(e.minutes)),
            e.client,
            e.description
        );
    }
    for r in &parsed.rejected {
        println!(
            "rejected:       line {}: {} ({})",
            r.line, r.text, r.message
        );
    }
    println!("text:\n{}", parsed.text);
    Ok(())
}
