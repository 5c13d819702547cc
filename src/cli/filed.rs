//! What `tandem quarantine` and `tandem attention` share: mail the reader filed for a person
//! (the `inbound_message` rows of that disposition, and the message in its folder), listed,
//! shown, and dealt with: `release` hands a quarantined message back to the reader, `done`
//! closes one for a person and moves it to the processed folder.

use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use super::{open_store, print_json, print_table};
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::domain::Disposition;
use crate::inbound::message::Incoming;
use crate::inbound::{InboundError, Recorded};
use crate::store::{self, inbound};

/// How long `release` and `done` wait for a daemon to finish reading a batch.
const TURN_WAIT: Duration = Duration::from_secs(10);

pub async fn list(
    config: &Config,
    disposition: Disposition,
    all: bool,
    json: bool,
) -> anyhow::Result<()> {
    let pool = open_store(config).await?;
    let rows = inbound::filed(&mut *pool.acquire().await?, disposition, all).await?;
    if json {
        return print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.id.to_string(),
                super::local_time(&config.agency.timezone, r.received_at),
                r.from_addr.clone().unwrap_or_default(),
                r.subject.clone().unwrap_or_default(),
                r.reason.clone(),
            ];
            if all {
                row.push(r.handled.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let mut header = vec!["ID", "RECEIVED", "FROM", "SUBJECT", "WHY"];
    if all {
        header.push("DEALT WITH");
    }
    print_table(&header, &table);
    Ok(())
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    row: inbound::FiledRow,
    /// Whether the message is still in its folder (a person may have moved it).
    in_folder: bool,
    /// Its text, as the reader reads it.
    text: Option<String>,
    attachments: Vec<String>,
}

pub async fn show(
    config: &Config,
    disposition: Disposition,
    id: i64,
    json: bool,
) -> anyhow::Result<()> {
    let pool = open_store(config).await?;
    let row = inbound::filed_one(&mut *pool.acquire().await?, disposition, id).await?;
    let mailbox = crate::app::mailbox(config, &crate::metrics::Metrics::new())?;
    // A handled message has moved on: a released one to the inbox, a done one to Processed.
    let folder = match row.handled.as_deref() {
        Some("done") => Disposition::Processed,
        _ => disposition,
    };
    let raw = match mailbox.filed(folder, recorded(&row)).await {
        Ok(raw) => raw,
        Err(e @ InboundError::Unsupported(_)) => {
            eprintln!("note: {e}");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let incoming = raw
        .as_deref()
        .map(|raw| Incoming::parse_with(raw, &crate::tasks::reader::read_limits(&config.limits)));
    let shown = Shown {
        in_folder: raw.is_some(),
        text: incoming.as_ref().map(|m| m.text.clone()),
        attachments: incoming
            .as_ref()
            .map(|m| {
                m.attachments
                    .iter()
                    .map(|a| format!("{} ({}, {} bytes)", a.filename, a.content_type, a.size))
                    .collect()
            })
            .unwrap_or_default(),
        row,
    };
    if json {
        return print_json(&shown);
    }
    let r = &shown.row;
    println!("message {}", r.id);
    println!("from:       {}", r.from_addr.as_deref().unwrap_or("(none)"));
    println!("subject:    {}", r.subject.as_deref().unwrap_or("(none)"));
    if let Some(sent) = r.sent_at {
        println!(
            "sent:       {}",
            super::local_time(&config.agency.timezone, sent)
        );
    }
    println!(
        "received:   {}",
        super::local_time(&config.agency.timezone, r.received_at)
    );
    println!("filed:      {} ({})", r.disposition, r.reason);
    if let (Some(what), Some(at)) = (&r.handled, r.handled_at) {
        println!(
            "dealt with: {what} ({})",
            super::local_time(&config.agency.timezone, at)
        );
    }
    println!("source:     {}", r.source);
    for a in &shown.attachments {
        println!("attachment: {a}");
    }
    match &shown.text {
        Some(text) => {
            println!();
            println!("{}", text.trim_end());
        }
        None => println!("(the message is no longer in its folder)"),
    }
    Ok(())
}

/// The operator deals with a filed message: `released` (quarantine: back to the inbox, for
/// the reader to read afresh) or `done` (attention: to the processed folder). Runs in the
/// mailbox turn, so that no reader settles the message meanwhile, and in one transaction
/// that commits only once the file has moved (for `release`; a `done` whose file a person
/// moved already is done all the same).
pub async fn handle(config: &Config, disposition: Disposition, id: i64) -> anyhow::Result<()> {
    let pool = open_store(config).await?;
    let mailbox = crate::app::mailbox(config, &crate::metrics::Metrics::new())?;
    let started = std::time::Instant::now();
    let turn = loop {
        if let Some(turn) = store::mailbox_turn(&pool).await? {
            break turn;
        }
        anyhow::ensure!(
            started.elapsed() < TURN_WAIT,
            "a tandem daemon has been reading the mailbox for {} s; try again",
            TURN_WAIT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut tx = pool.begin().await?;
    let (action, to) = match disposition {
        Disposition::Quarantine => ("released", None),
        _ => ("done", Some(Disposition::Processed)),
    };
    let row = inbound::handle(&mut tx, disposition, id, action, SystemClock.now()).await?;
    let moved = match mailbox.refile(disposition, recorded(&row), to).await {
        Ok(moved) => moved,
        Err(e @ InboundError::Unsupported(_)) if action == "done" => {
            eprintln!("note: {e}; the message stays in its folder");
            false
        }
        Err(e) => return Err(e).context(format!("message {id} is not {action}")),
    };
    if action == "released" && !moved {
        anyhow::bail!(
            "message {id} is no longer in the quarantine folder (a person moved or deleted it): \
             nothing released"
        );
    }
    tx.commit().await?;
    turn.release().await?;
    match action {
        "released" => println!(
            "message {id} released: back in the inbox, the daemon reads it afresh at its next \
             pass (or run `tandem run --once`)"
        ),
        _ if moved => println!("message {id} done: moved to the processed folder"),
        _ => println!("message {id} done"),
    }
    Ok(())
}

fn recorded(row: &inbound::FiledRow) -> Recorded<'_> {
    Recorded {
        source: &row.source,
        message_id: row.message_id.as_deref(),
    }
}
