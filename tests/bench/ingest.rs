//! Benchmark: reading a large mailbox over IMAP. Loads N time-log mails from a known assistant
//! (default 10,000; `TANDEM_BENCH_MESSAGES` or the first argument sets N) into a private
//! Dovecot by writing Maildir files directly, then reports
//! - raw `UID FETCH <set> (UID BODY.PEEK[])` throughput over those messages (async-imap, in
//!   chunks of 1,000: the ceiling for any IMAP client here),
//! - the daemon's full ingest throughput (fetch, parse, classify, store the entries, queue the
//!   receipts, move each message), and the ratio of the two,
//! - the process's peak resident memory.
//!
//! Run: `cargo bench --bench ingest` (needs Dovecot, as the tests do). Prints figures; asserts
//! nothing about speed.

#[path = "../api/servers.rs"]
#[allow(dead_code)]
mod servers;

#[path = "rss.rs"]
mod rss;

#[path = "config.rs"]
mod config;
use rss::peak_rss_kib;
use std::sync::Arc;
use std::time::Instant;

use futures_util::TryStreamExt as _;
use servers::{Dovecot, Tls};
use tandem::app::App;
use tandem::clock::SystemClock;
use tandem::config::Config;
use tandem::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::people;

/// The ingest allocates as the `tandem` binary does (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn hours_mail(i: usize) -> Vec<u8> {
    let day = 1 + i % 28;
    // About 2 KB, like a real short mail with a signature and a quoted receipt.
    let quote = "> Your hours were logged: 2026-10-01 1h task\n".repeat(30);
    format!(
        "From: Sam Lee <sam@va.example>\r\nTo: team@example.org\r\nSubject: Hours {i}\r\n\
         Message-ID: <bench-{i}@va.example>\r\nDate: Fri, 30 Oct 2026 18:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi,\r\n\r\n2026-10-{day:02} 0:10 task {i}\r\n\
         yesterday 5min filing\r\n\r\nSam\r\n\r\nOn Thu, 29 Oct 2026 at 18:00, Example Agency wrote:\r\n{quote}"
    )
    .into_bytes()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .or_else(|| std::env::var("TANDEM_BENCH_MESSAGES").ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dovecot = Dovecot::start();
    let account = dovecot.add_user();
    let load = Instant::now();
    for i in 0..n {
        dovecot.deliver(&account, &hours_mail(i));
    }
    println!(
        "loaded {n} messages into Maildir in {:.1} s",
        load.elapsed().as_secs_f64()
    );

    // Raw: what any IMAP client could do.
    let mut session = dovecot.session(&account).await;
    session.select("INBOX").await.unwrap();
    let start = Instant::now();
    let (mut fetched, mut bytes) = (0usize, 0usize);
    for first in (1..=n).step_by(1000) {
        let last = (first + 999).min(n);
        let messages: Vec<_> = session
            .uid_fetch(format!("{first}:{last}"), "(UID BODY.PEEK[])")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        fetched += messages.len();
        bytes += messages
            .iter()
            .map(|m| m.body().map_or(0, <[u8]>::len))
            .sum::<usize>();
    }
    let raw = fetched as f64 / start.elapsed().as_secs_f64();
    println!(
        "raw UID FETCH BODY.PEEK[]: {fetched} messages ({} KB) at {raw:.0} msg/s",
        bytes / 1024
    );
    session.logout().await.ok();

    // The daemon's full ingest.
    let dir = tempfile::tempdir().unwrap();
    let text = config::shipped_in(dir.path()).replace("batch_size = 100", "batch_size = 500");
    let text = dovecot.tandem_config(dir.path(), &text, &account, Tls::None);
    let app = App::new(Config::from_toml(&text).unwrap(), Arc::new(SystemClock))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let mut tx = app.pool.begin().await.unwrap();
    let sam = people::NewAssistant {
        name: "Sam Lee".into(),
        emails: vec![EmailAddress::parse("sam@va.example").unwrap()],
        timezone: TimeZone::parse("Europe/Lisbon").unwrap(),
        locale: Locale::En,
    };
    people::insert_assistant(&mut tx, &sam, now).await.unwrap();
    let acme = people::NewClient {
        name: "Acme GmbH".into(),
        tag: ClientTag::parse("acme").unwrap(),
        timezone: TimeZone::parse("Europe/Berlin").unwrap(),
        locale: Locale::De,
        contacts: vec![Contact::parse("Anna Berg <anna@acme.example>").unwrap()],
    };
    people::insert_client(&mut tx, &acme, now).await.unwrap();
    tx.commit().await.unwrap();
    let request = EngagementRequest {
        assistant: EmailAddress::parse("sam@va.example").unwrap(),
        client: ClientTag::parse("acme").unwrap(),
        start: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        trial: TrialEnd::AfterWeeks(4),
        hourly_rate_cents: None,
        budget_minutes: None,
        running: false,
    };
    app.start_engagement(&request).await.unwrap();

    let start = Instant::now();
    let report = app.reader().drain().await.unwrap();
    let full = report.recorded as f64 / start.elapsed().as_secs_f64();
    let receipts: i64 = tandem::store::on!(&mut *app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'")
            .fetch_one(c)
            .await
    })
    .unwrap();
    println!(
        "daemon ingest (fetch, parse, store, queue receipt, move): {} messages, {receipts} receipts queued, at {full:.0} msg/s",
        report.recorded
    );
    println!("ratio daemon / raw: {:.3}", full / raw);
    println!("peak RSS: {} MiB", peak_rss_kib() / 1024);
}
