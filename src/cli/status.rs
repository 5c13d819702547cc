//! `tandem status [--json]`: the daemon's health from the database, whether or not it runs:
//! each part (mail in, mail out, the scheduler) with when it last worked, whether that is
//! within what the config expects (`[health]`) and its last error; the outbox by state and
//! its oldest due message; the daemons and their heartbeats. The same facts as `/healthz`.

use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::tasks::status::{self, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the facts as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let pool = crate::app::open_database(&config.database, 1, crate::store::Open::ReadOnly).await?;
    let mut conn = crate::store::acquire(&pool).await?;
    let now = SystemClock.now();
    let status = status::read(&mut conn, config.thresholds(), now).await?;
    drop(conn);
    pool.close().await;
    if args.json {
        return super::print_json(&status);
    }
    print(&status, &config.agency.timezone);
    Ok(())
}

fn ago(seconds: Option<i64>) -> String {
    match seconds {
        None => "never".into(),
        Some(s) if s < 120 => format!("{s} s ago"),
        Some(s) if s < 7200 => format!("{} min ago", s / 60),
        Some(s) if s < 172_800 => format!("{} h ago", s / 3600),
        Some(s) => format!("{} days ago", s / 86400),
    }
}

fn print(status: &Status, zone: &crate::domain::TimeZone) {
    let now = status.now;
    let since = |at: chrono::DateTime<chrono::Utc>| Some((now - at).num_seconds().max(0));
    match status.daemons.iter().find(|d| d.running) {
        Some(d) => println!(
            "daemon:    running (pid {} on {}, since {}, heartbeat {})",
            d.pid,
            d.host,
            super::local_time(zone, d.started_at),
            ago(since(d.heartbeat_at))
        ),
        None => match status.daemons.first() {
            Some(d) => println!(
                "daemon:    NOT RUNNING (last heartbeat {}, pid {} on {})",
                ago(since(d.heartbeat_at)),
                d.pid,
                d.host
            ),
            None => println!("daemon:    not running (no heartbeat recorded)"),
        },
    }
    let running = status.daemons.iter().filter(|d| d.running).count();
    if running > 1 {
        println!("           {running} daemons share this database");
    }
    println!(
        "health:    {}",
        if status.healthy { "ok" } else { "PROBLEM" }
    );
    let names = [
        ("inbound", "mail in"),
        ("outbound", "mail out"),
        ("scheduler", "scheduler"),
    ];
    for part in &status.parts {
        let label = names
            .iter()
            .find(|(n, _)| *n == part.name)
            .map_or(part.name, |(_, l)| l);
        let verdict = match &part.problem {
            None => "ok".to_string(),
            Some(problem) => format!("DOWN: {problem}"),
        };
        println!(
            "  {label:<10} {verdict}; last worked {}; {} errors",
            ago(part.seconds_since_ok),
            part.errors
        );
        if let (Some(at), Some(error)) = (part.last_error_at, &part.last_error) {
            println!("             last error {}: {error}", ago(since(at)));
        }
    }
    let states: Vec<String> = status
        .outbox
        .states
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    println!(
        "outbox:    {}",
        if states.is_empty() {
            "empty".to_string()
        } else {
            states.join(", ")
        }
    );
    if let Some(at) = status.outbox.oldest_due_at {
        println!(
            "           oldest due message waits since {}",
            ago(since(at))
        );
    }
    let t = &status.thresholds;
    println!(
        "limits:    mail in {} s, mail out {} s, scheduler {} s ([health] in the config)",
        t.inbound.as_secs(),
        t.outbound.as_secs(),
        t.scheduler.as_secs()
    );
}
