//! `tandem parse FILE [--json]`: how the daemon reads one message. Opens the database
//! read-only (to know the sender and their engagements) and changes nothing.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::print_json;
use crate::app::AppError;
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::domain::{Classification, Disposition};
use crate::inbound::classify::classify;
use crate::inbound::message::Incoming;
use crate::store::{self, Pool, StoreError};
use crate::tasks::reader::read_limits;
use crate::tasks::route::{Route, route};
use crate::timelog::flow::{Accepted, Rejection};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The message, as an .eml file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Read it as this kind of answer even when it matches nothing tandem sent (`survey`:
    /// answers to the configured questionnaire).
    #[arg(long = "as", value_name = "KIND", value_parser = ["survey"])]
    pub as_kind: Option<String>,
}

/// One survey answer, as `tandem parse` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedAnswer {
    /// The question's number in the survey mail.
    pub question: usize,
    pub key: String,
    pub value: crate::survey::answers::Value,
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
    /// What ended the new text and the line it was read from (`kind`: `attribution`,
    /// `header_block`, `original_message`, `quote_marker`, `signature`,
    /// `mobile_signature`), so an operator can see why; absent when nothing was cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<crate::reply::CutAt>,
    /// Time-log entries it would store.
    pub entries: Vec<Accepted>,
    /// Time-log lines it would reject, with why.
    pub rejected: Vec<Rejection>,
    /// Lines that are no time log and ask something of a person (a question, time off): the
    /// message would go to a person too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub for_a_person: Vec<String>,
    /// Survey answers it would store.
    pub answers: Vec<ParsedAnswer>,
    /// Agreements it would mark received (for the operator to confirm).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agreements: Vec<String>,
    /// Files attached to the message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::inbound::message::Attachment>,
    /// The verdict on the sender (`verdict`, the `method` that decided, the `domain`, the
    /// `reason` and the raw trusted `results` read), unless
    /// `[inbound.authentication] policy = "off"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<crate::inbound::auth::Authentication>,
}

/// Reads `raw` as the daemon would, with `pool` (read-only) for who is who; `None` when there
/// is no database yet, so every sender is unknown.
pub async fn analyse(
    config: &Config,
    pool: Option<&Pool>,
    raw: &[u8],
    now: DateTime<Utc>,
    as_survey: bool,
) -> Result<Parsed, StoreError> {
    // As the reader: a message over the size limit, or too costly to read whole, is read from
    // its header and quarantined.
    let why = match u64::try_from(raw.len()).unwrap_or(u64::MAX) {
        size if size > config.limits.message_bytes => {
            Some(crate::inbound::too_large(size, config.limits.message_bytes))
        }
        _ => crate::inbound::message::too_costly(raw),
    };
    let read = match why {
        Some(_) => crate::inbound::header_of(raw),
        None => raw,
    };
    let mut incoming = Incoming::parse_with(read, &read_limits(&config.limits));
    incoming.size = raw.len();
    let mut conn = match pool {
        Some(pool) => Some(pool.acquire().await?),
        None => None,
    };
    let seen_before = match conn.as_mut() {
        Some(conn) => store::inbound::seen(conn, &incoming.dedupe_key)
            .await?
            .is_some(),
        None => false,
    };
    let route = match (why, conn.as_mut()) {
        (Some(why), _) => Route::File(crate::tasks::reader::not_read(&why)),
        (None, Some(conn)) => route(conn, &mut Default::default(), config, &incoming, now).await?,
        (None, None) => Route::File(classify(&incoming, &config.agency.from.email, None)),
    };
    let decision = route.decision().clone();
    let mut answers: Vec<ParsedAnswer> = match route.answers() {
        Some(parsed) => parsed
            .answers
            .iter()
            .map(|a| ParsedAnswer {
                question: a.number,
                key: a.key.clone(),
                value: a.value.clone(),
            })
            .collect(),
        None => Vec::new(),
    };
    if as_survey && answers.is_empty() {
        answers = crate::survey::answers::parse(&incoming.text, &config.surveys.questions)
            .answers
            .into_iter()
            .map(|a| ParsedAnswer {
                question: a.number,
                key: a.key,
                value: a.value,
            })
            .collect();
    }
    let agreements = match &route {
        Route::Agreements { kinds, .. } => kinds.clone(),
        _ => Vec::new(),
    };
    let (entries, rejected, for_a_person) = match route {
        Route::Hours(_, plan)
        | Route::Cancel {
            corrections: Some(plan),
            ..
        } => (plan.accepted, plan.rejected, plan.for_a_person),
        _ => (Vec::new(), Vec::new(), Vec::new()),
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
        authentication: decision.authentication.or_else(|| {
            // No database: judged all the same, so the operator sees the verdict.
            let auth = &config.inbound.authentication;
            (auth.policy != crate::config::AuthPolicy::Off).then(|| {
                crate::inbound::auth::verdict(
                    &incoming.authentication_results,
                    incoming.from_count,
                    incoming.from.as_ref().map(|f| f.as_str()),
                    &auth.authserv_id,
                )
            })
        }),
        seen_before,
        text: incoming.new_text,
        cut: incoming.cut,
        entries,
        rejected,
        for_a_person,
        answers,
        agreements,
        attachments: incoming.attachments,
    })
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let raw = std::fs::read(&args.file)
        .with_context(|| format!("could not read '{}'", args.file.display()))?;
    let pool = match crate::app::open_database(&config.database, 1, store::Open::ReadOnly).await {
        Ok(pool) => Some(pool),
        Err(AppError::Store(StoreError::Missing(url))) => {
            eprintln!("note: no database at {url} yet, so every sender is unknown");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let as_survey = args.as_kind.as_deref() == Some("survey");
    let parsed = analyse(&config, pool.as_ref(), &raw, SystemClock.now(), as_survey).await?;
    if args.json {
        return print_json(&parsed);
    }
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    println!("message-id:     {}", or_dash(parsed.message_id));
    println!("from:           {}", or_dash(parsed.from));
    println!("subject:        {}", or_dash(parsed.subject));
    println!(
        "date:           {}",
        or_dash(
            parsed
                .date
                .map(|d| super::local_time(&config.agency.timezone, d))
        )
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
    for line in &parsed.for_a_person {
        println!("for a person:   {line}");
    }
    for a in &parsed.answers {
        println!(
            "answer:         {}. {} = {}",
            a.question,
            a.key,
            serde_json::to_string(&a.value).unwrap_or_default()
        );
    }
    if !parsed.agreements.is_empty() {
        println!(
            "agreements:     {} (received)",
            parsed.agreements.join(", ")
        );
    }
    for a in &parsed.attachments {
        println!(
            "attachment:     {} ({}, {} bytes)",
            a.filename, a.content_type, a.size
        );
    }
    if let Some(cut) = &parsed.cut {
        println!(
            "cut:            {} ({})",
            serde_json::to_value(cut.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            cut.line
        );
    }
    println!("text:\n{}", parsed.text);
    Ok(())
}
