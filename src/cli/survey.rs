//! `tandem survey list|show|send`.

use clap::Subcommand;
use serde::Serialize;

use super::{open_app, open_store, print_json, print_table};
use crate::config::Config;
use crate::domain::Locale;
use crate::store::surveys;
use crate::survey::flow::{survey_label, value_from_json, value_text};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List surveys and trial reviews, newest first.
    List {
        /// Only this engagement's (its id; see `tandem engagement list`).
        #[arg(long, value_parser = crate::cli::id)]
        engagement: Option<i64>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one survey with its questions and answers.
    Show {
        /// The survey's id (see `tandem survey list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send a survey for the engagement now, outside the cadence.
    Send {
        /// The engagement's id (see `tandem engagement list`).
        #[arg(value_parser = crate::cli::id)]
        engagement: i64,
    },
}

#[derive(Serialize)]
struct ShownAnswer {
    question: usize,
    key: String,
    text: String,
    value: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    survey: surveys::Survey,
    answers: Vec<ShownAnswer>,
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::List { engagement, json } => {
            let pool = open_store(&config).await?;
            let list = surveys::list(&mut *pool.acquire().await?, engagement).await?;
            if json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.engagement_id.to_string(),
                        s.client_tag.clone(),
                        s.kind.clone(),
                        survey_label(s, Locale::En),
                        super::local_time(&config.agency.timezone, s.sent_at),
                        s.answered_at
                            .map(|a| super::local_time(&config.agency.timezone, a))
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "ENGAGEMENT",
                    "CLIENT",
                    "KIND",
                    "PERIOD",
                    "SENT",
                    "ANSWERED",
                ],
                &rows,
            );
        }
        Command::Show { id, json } => {
            let pool = open_store(&config).await?;
            let mut conn = pool.acquire().await?;
            let survey = surveys::get(&mut conn, id).await?;
            let stored = surveys::answers(&mut conn, id).await?;
            let questions = crate::survey::flow::stored_questions(&survey)?;
            let answers = questions
                .iter()
                .enumerate()
                .map(|(i, q)| ShownAnswer {
                    question: i + 1,
                    key: q.key.clone(),
                    text: q.en.clone(),
                    value: stored
                        .iter()
                        .find(|a| a.key == q.key)
                        .and_then(|a| serde_json::from_str(&a.value).ok()),
                })
                .collect();
            let shown = Shown { survey, answers };
            if json {
                return print_json(&shown);
            }
            let s = &shown.survey;
            println!(
                "survey {}: {} of engagement {} ({}, {})",
                s.id, s.kind, s.engagement_id, s.assistant_name, s.client_tag
            );
            println!("period:   {}", survey_label(s, Locale::En));
            println!("to:       {}", s.recipient);
            println!(
                "sent:     {}",
                super::local_time(&config.agency.timezone, s.sent_at)
            );
            match s.answered_at {
                Some(at) => println!(
                    "answered: {}",
                    super::local_time(&config.agency.timezone, at)
                ),
                None => println!("answered: not yet"),
            }
            for a in &shown.answers {
                let value = stored
                    .iter()
                    .find(|st| st.key == a.key)
                    .map(|st| value_text(&value_from_json(&st.value), Locale::En))
                    .unwrap_or_else(|| "-".into());
                println!("{}. {} ({})\n   {value}", a.question, a.text, a.key);
            }
        }
        Command::Send { engagement } => {
            let app = open_app(config).await?;
            let mark = super::outbox_mark(&app).await?;
            let id = app.send_survey_now(engagement).await?;
            println!("survey {id} queued for engagement {engagement}");
            super::deliver(&app, mark).await?;
        }
    }
    Ok(())
}
