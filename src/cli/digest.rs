//! `tandem digest --preview [--format text|html] [--week YYYY-Www] | --send`.

use anyhow::Context as _;

use super::{open_app, print_json};
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::digest::{self, ChartSrc, figures::Week};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["preview", "send"])))]
pub struct Args {
    /// Render the digest to stdout; nothing is sent or changed.
    #[arg(long)]
    pub preview: bool,
    /// Queue the digest to the operator now (and deliver it).
    #[arg(long)]
    pub send: bool,
    /// What to print with --preview: the plain text (the default), the HTML (the chart
    /// inlined, so a browser shows it), or the figures as JSON. Not with --send: a sent digest
    /// always carries both the text and the HTML.
    #[arg(long, value_parser = ["text", "html", "json"])]
    pub format: Option<String>,
    /// The week (YYYY-Www); default: the week the next digest would report on.
    #[arg(long)]
    pub week: Option<String>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let week = match &args.week {
        Some(w) => Week::parse(w).with_context(|| {
            format!("--week '{w}' is not a week: write YYYY-Www, e.g. 2026-W49")
        })?,
        None => digest::week_reported(SystemClock.now(), &config),
    };
    if args.send {
        if let Some(format) = &args.format {
            anyhow::bail!(
                "--format {format} is for --preview: a sent digest always carries both the \
                 text and the HTML (with the chart)"
            );
        }
        let app = open_app(config).await?;
        let mark = super::outbox_mark(&app).await?;
        // The week's natural key, the scheduler's own: one digest per week, however it was
        // asked for.
        let key = digest::key(&week);
        if !app.send_digest(week, &key).await? {
            let queued =
                crate::store::outbox::by_key(&mut *app.pool.acquire().await?, &key).await?;
            let zone = &app.config.agency.timezone;
            let state = match queued {
                Some(q) => match q.sent_at {
                    Some(at) => format!("sent on {}", super::local_time(zone, at)),
                    None => format!(
                        "queued on {} ({})",
                        super::local_time(zone, q.created_at),
                        q.state
                    ),
                },
                None => "queued".to_string(),
            };
            println!(
                "the digest of {} was {state} already: not queued again",
                week.key()
            );
            return Ok(());
        }
        println!(
            "digest of {} queued to {}",
            week.key(),
            app.config.agency.operator_email
        );
        super::deliver(&app, mark).await?;
        return Ok(());
    }
    let format = args.format.as_deref().unwrap_or("text");
    // A preview reads the database and the templates only: no mailbox is opened.
    let templates = crate::templates::Templates::load(&config.templates.dir)?;
    let pool = crate::app::open_database(&config.database, 1, crate::store::Open::ReadOnly).await?;
    let mut conn = pool.acquire().await?;
    let src = match format {
        "html" => ChartSrc::DataUri,
        _ => ChartSrc::Cid,
    };
    let rendered = digest::render(
        &mut conn,
        &config,
        &templates,
        week,
        config.agency.default_locale,
        SystemClock.now(),
        src,
    )
    .await?;
    match format {
        "html" => println!("{}", rendered.rendered.html),
        "json" => print_json(&rendered.figures)?,
        _ => println!(
            "{}\n\n{}",
            rendered.rendered.subject, rendered.rendered.text
        ),
    }
    Ok(())
}
