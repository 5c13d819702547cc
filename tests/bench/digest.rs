//! Benchmark: the weekly digest of a large agency. Seeds a fresh database with 500 engagements
//! and 100,000 time entries over a year (plus agreements), then times what `tandem digest
//! --preview` does: opening the database and the templates, reading the figures, drawing the
//! chart and rendering the mail. On SQLite and then PostgreSQL, or the one
//! `TANDEM_BENCH_DATABASE` names (see `backend.rs`). Run: `cargo bench --bench digest
//! [ENGAGEMENTS ENTRIES]`. It prints figures; it asserts nothing.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::config::Config;
use tandem::digest::{self, ChartSrc, figures::Week};
use tandem::store::{self, Backend, Open};
use tandem::templates::Templates;

#[path = "agency.rs"]
mod agency;
#[path = "backend.rs"]
mod backend;
#[path = "config.rs"]
mod config;
#[path = "../api/servers.rs"]
#[allow(dead_code)]
mod servers;

fn config(dir: &std::path::Path, url: &str) -> Config {
    Config::from_toml(&backend::with_url(&config::shipped_in(dir), url)).unwrap()
}

async fn seed(pool: &store::Pool, engagements: usize, entries: usize, now: DateTime<Utc>) {
    use agency::Value::*;
    let mut tx = agency::begin(pool).await;
    agency::people_and_engagements(&mut tx, engagements, now, now).await;
    agency::insert(
        &mut tx,
        "agreement (engagement_id, kind, signers, status, status_changed_at)",
        (0..engagements).flat_map(|e| {
            [
                ("contract", "both", "signed"),
                (
                    "dpa",
                    "client",
                    if e % 7 == 0 { "pending" } else { "signed" },
                ),
            ]
            .map(|(kind, signers, status)| {
                vec![
                    Int(e as i64 + 1),
                    Str(kind),
                    Str(signers),
                    Str(status),
                    Time(now),
                ]
            })
        }),
    )
    .await;
    // One submission per engagement and month (of the year: December's two share one), each
    // with an inbound message of the same id; the entries spread over the year.
    let start = NaiveDate::from_ymd_opt(2025, 12, 8).unwrap();
    let mut submissions = std::collections::HashMap::new();
    let mut seeded = Vec::new();
    for i in 0..entries {
        let engagement = (i % engagements) as i64 + 1;
        let day = start + chrono::Duration::days((i / engagements) as i64 % 364);
        let month = chrono::Datelike::month(&day);
        let next = submissions.len() as i64 + 1;
        let submission = *submissions.entry((engagement, month)).or_insert(next);
        seeded.push((engagement, day, submission));
    }
    let mut months: Vec<(i64, (i64, u32))> =
        submissions.into_iter().map(|(key, id)| (id, key)).collect();
    months.sort();
    agency::insert(
        &mut tx,
        "inbound_message (id, dedupe_key, source, classification, reason, disposition, \
         size_bytes, received_at)",
        months.iter().map(|(id, (engagement, month))| {
            vec![
                Int(*id),
                Text(format!("bench-{engagement}-{month}")),
                Str("bench"),
                Str("hours"),
                Str("bench"),
                Str("processed"),
                Int(0),
                Time(now),
            ]
        }),
    )
    .await;
    let assistants = engagements.div_ceil(2) as i64;
    agency::insert(
        &mut tx,
        "submission (id, inbound_id, assistant_id, status, created_at)",
        months.iter().map(|(id, (engagement, _))| {
            vec![
                Int(*id),
                Int(*id),
                Int((engagement - 1) % assistants + 1),
                Str("logged"),
                Time(now),
            ]
        }),
    )
    .await;
    agency::insert(
        &mut tx,
        "time_entry (id, submission_id, engagement_id, work_date, minutes, description, \
         line_no, line_text, status, created_at)",
        seeded
            .iter()
            .enumerate()
            .map(|(i, (engagement, day, submission))| {
                vec![
                    Int(i as i64 + 1),
                    Int(*submission),
                    Int(*engagement),
                    Day(*day),
                    Int(30 + (i % 7) as i64 * 15),
                    Str("work"),
                    Int(1),
                    Str("work"),
                    Str("logged"),
                    Time(now),
                ]
            }),
    )
    .await;
    agency::commit(pool, tx).await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let engagements = args.first().copied().unwrap_or(500);
    let entries = args.get(1).copied().unwrap_or(100_000);
    for backend in backend::chosen() {
        measure(backend, engagements, entries).await;
    }
}

/// Seeds a fresh database of `backend` and times the preview on it; prints the figures,
/// labelled with the backend.
async fn measure(backend: Backend, engagements: usize, entries: usize) {
    let label = backend::name(backend);
    let dir = tempfile::tempdir().unwrap();
    let url = backend::fresh(backend, dir.path());
    let config = config(dir.path(), &url);
    let now: DateTime<Utc> = "2026-12-07T07:00:00Z".parse().unwrap();
    let pool = store::connect(store::Location::url(&config.database.url), 1, Open::Create)
        .await
        .unwrap();
    let seeding = Instant::now();
    seed(&pool, engagements, entries, now).await;
    println!(
        "{label}: seeded {engagements} engagements and {entries} time entries in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    pool.close().await;

    let week = Week::parse("2026-W49").unwrap();
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        // What `digest --preview` does after reading the config.
        let templates = Templates::load(&config.templates.dir).unwrap();
        let pool = store::connect(
            store::Location::url(&config.database.url),
            1,
            Open::ReadOnly,
        )
        .await
        .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let opened = start.elapsed();
        let digest = digest::render(
            &mut conn,
            &config,
            &templates,
            week,
            config.agency.default_locale,
            now,
            ChartSrc::DataUri,
        )
        .await
        .unwrap();
        let total = start.elapsed();
        drop(conn);
        pool.close().await;
        runs.push((total, opened, digest.rendered.html.len(), digest.png.len()));
    }
    runs.sort();
    let (total, opened, html, png) = runs[runs.len() / 2];
    let best: Duration = runs[0].0;
    println!(
        "{label}: digest --preview of {engagements} engagements: median {:.0} ms (best {:.0} ms; \
         opening the templates and database {:.0} ms), HTML {} KiB, chart {} KiB",
        total.as_secs_f64() * 1000.0,
        best.as_secs_f64() * 1000.0,
        opened.as_secs_f64() * 1000.0,
        html / 1024,
        png / 1024
    );
}
