//! Benchmark: the weekly digest of a large agency. Seeds a private SQLite database with 500
//! engagements and 100,000 time entries over a year (plus agreements, surveys and mail), then
//! times what `tandem digest --preview` does: opening the database and the templates, reading
//! the figures, drawing the chart and rendering the mail. Run: `cargo bench --bench digest
//! [ENGAGEMENTS ENTRIES]`. It prints figures; it asserts nothing.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::config::Config;
use tandem::digest::{self, ChartSrc, figures::Week};
use tandem::store::{self, Open};
use tandem::templates::Templates;

#[path = "agency.rs"]
mod agency;
#[path = "config.rs"]
mod config;

fn config(dir: &std::path::Path) -> Config {
    Config::from_toml(&config::shipped_in(dir)).unwrap()
}

async fn seed(pool: &store::Pool, engagements: usize, entries: usize, now: DateTime<Utc>) {
    let mut tx = pool.begin().await.unwrap();
    agency::people_and_engagements(&mut tx, engagements, now, now).await;
    for e in 0..engagements {
        let id = e as i64 + 1;
        for (kind, signers, status) in [
            ("contract", "both", "signed"),
            (
                "dpa",
                "client",
                if e % 7 == 0 { "pending" } else { "signed" },
            ),
        ] {
            tandem::store::on!(&mut *tx, |c| sqlx::query(
                "INSERT INTO agreement (engagement_id, kind, signers, status, status_changed_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(kind)
            .bind(signers)
            .bind(status)
            .bind(now)
            .execute(c)
            .await.map(|r| r.rows_affected()))
            .unwrap();
        }
    }
    // One submission per engagement and month; the entries spread over the year.
    let start = NaiveDate::from_ymd_opt(2025, 12, 8).unwrap();
    let mut submissions = std::collections::HashMap::new();
    for i in 0..entries {
        let engagement = (i % engagements) as i64 + 1;
        let day = start + chrono::Duration::days((i / engagements) as i64 % 364);
        let month = chrono::Datelike::month(&day);
        let key = (engagement, month);
        let submission = match submissions.get(&key) {
            Some(id) => *id,
            None => {
                let inbound: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
                    "INSERT INTO inbound_message (dedupe_key, source, classification, reason, disposition, \
                     size_bytes, received_at) VALUES ($1, 'bench', 'hours', 'bench', 'processed', 0, $2) RETURNING id",
                )
                .bind(format!("bench-{engagement}-{month}"))
                .bind(now)
                .fetch_one(c)
                .await)
                .unwrap();
                let id: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
                    "INSERT INTO submission (inbound_id, assistant_id, status, created_at) \
                     SELECT $1, assistant_id, 'logged', $2 FROM engagement WHERE id = $3 RETURNING id",
                )
                .bind(inbound)
                .bind(now)
                .bind(engagement)
                .fetch_one(c)
                .await)
                .unwrap();
                submissions.insert(key, id);
                id
            }
        };
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO time_entry (submission_id, engagement_id, work_date, minutes, description, \
             line_no, line_text, status, created_at) VALUES ($1, $2, $3, $4, 'work', 1, 'work', 'logged', $5)",
        )
        .bind(submission)
        .bind(engagement)
        .bind(day)
        .bind(30 + (i % 7) as i64 * 15)
        .bind(now)
        .execute(c)
        .await.map(|r| r.rows_affected()))
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let engagements = args.first().copied().unwrap_or(500);
    let entries = args.get(1).copied().unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let now: DateTime<Utc> = "2026-12-07T07:00:00Z".parse().unwrap();
    let pool = store::connect(store::Location::url(&config.database.url), 1, Open::Create)
        .await
        .unwrap();
    let seeding = Instant::now();
    seed(&pool, engagements, entries, now).await;
    println!(
        "seeded {engagements} engagements and {entries} time entries in {:.1} s",
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
        "digest --preview of {engagements} engagements: median {:.0} ms (best {:.0} ms; opening the \
         templates and database {:.0} ms), HTML {} KiB, chart {} KiB",
        total.as_secs_f64() * 1000.0,
        best.as_secs_f64() * 1000.0,
        opened.as_secs_f64() * 1000.0,
        html / 1024,
        png / 1024
    );
}
