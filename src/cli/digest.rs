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
    /// What to print with --preview: the plain text, the HTML (the chart inlined, so a browser
    /// shows it), or the figures as JSON.
    #[arg(long, default_value = "text", value_parser = ["text", "html", "json"])]
    pub format: String,
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
        let app = open_app(config).await?;
        let key = format!(
            "digest:{}:sent-{}",
            week.key(),
            SystemClock.now().timestamp()
        );
        app.send_digest(week, &key).await?;
        println!(
            "digest of {} queued to {}",
            week.key(),
            app.config.agency.operator_email
        );
        super::deliver(&app).await;
        return Ok(());
    }
    // A preview reads the database and the templates only: no mailbox is opened.
    let templates = crate::templates::Templates::load(&config.templates.dir)?;
    let pool = crate::app::open_database(&config.database, 1, crate::store::Open::ReadOnly).await?;
    let mut conn = pool.acquire().await?;
    let src = match args.format.as_str() {
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
    match args.format.as_str() {
        "html" => println!("{}", rendered.rendered.html),
        "json" => print_json(&rendered.figures)?,
        _ => println!(
            "{}\n\n{}",
            rendered.rendered.subject, rendered.rendered.text
        ),
    }
    Ok(())
}
