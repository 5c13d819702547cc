//! `tandem parse FILE [--json]`: how the daemon reads one message. Opens the database
//! read-only (to know the sender) and changes nothing.

use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use super::print_json;
use crate::config::Config;
use crate::domain::{Classification, Disposition};
use crate::inbound::classify::classify;
use crate::inbound::message::Incoming;
use crate::store::{self, StoreError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The message, as an .eml file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The output of `tandem parse`. `entries`, `rejected` and `answers` are filled by the
/// time-log and survey flows.
#[derive(Debug, Serialize)]
pub struct Parsed {
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub date: Option<chrono::DateTime<chrono::Utc>>,
    pub classification: Classification,
    pub reason: String,
    pub disposition: Disposition,
    /// Whether the daemon has recorded this message already (it would only move it).
    pub seen_before: bool,
    pub text: String,
    pub entries: Vec<serde_json::Value>,
    pub rejected: Vec<serde_json::Value>,
    pub answers: Vec<serde_json::Value>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let raw = std::fs::read(&args.file)
        .with_context(|| format!("could not read '{}'", args.file.display()))?;
    let incoming = Incoming::parse(&raw);
    let (sender, seen_before) =
        match store::connect(&config.database.url, 1, store::Open::ReadOnly).await {
            Ok(pool) => {
                let mut conn = pool.acquire().await?;
                let sender = match &incoming.from {
                    Some(from) => store::people::find_person(&mut conn, from).await?,
                    None => None,
                };
                let seen = store::inbound::disposition_of(&mut conn, &incoming.dedupe_key).await?;
                (sender, seen.is_some())
            }
            Err(StoreError::Missing(url)) => {
                eprintln!("note: no database at {url} yet, so every sender is unknown");
                (None, false)
            }
            Err(e) => return Err(e.into()),
        };
    let decision = classify(&incoming, &config.agency.from.email, sender.as_ref());
    let parsed = Parsed {
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
        text: incoming.text,
        entries: Vec::new(),
        rejected: Vec::new(),
        answers: Vec::new(),
    };
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
    println!("text:\n{}", parsed.text);
    Ok(())
}
