//! Benchmark: one scheduler pass over a large agency. Seeds a private SQLite database with
//! 10,000 engagements, each with a year of history (a time entry in most weeks, the feedback
//! surveys of the trial and after it, answered, and the hours nudges of the weeks without
//! hours, all as the schedule's own plan says they went out), then times `Scheduler::step`:
//! the first pass (which queues the December survey of the engagements left without it), passes
//! with nothing due, and passes with that many sends due again. Run: `cargo bench --bench
//! schedule [ENGAGEMENTS DUE]` (defaults 10,000 and 100). It prints figures; it asserts only
//! that each pass queued what was due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::app::App;
use tandem::clock::ManualClock;
use tandem::config::Config;
use tandem::schedule::plan::{self, Kind};
use tandem::store;

#[path = "agency.rs"]
mod agency;
#[path = "config.rs"]
mod config;

fn config(dir: &std::path::Path) -> Config {
    Config::from_toml(&config::shipped_in(dir)).unwrap()
}

/// The people, the engagements (active since 2025-12-01, trial to 2025-12-28, agreements
/// signed) and a time entry on the Tuesday of nine weeks in ten.
async fn seed_agency(pool: &store::Pool, engagements: usize, now: DateTime<Utc>) {
    let mut tx = pool.begin().await.unwrap();
    let added: DateTime<Utc> = "2025-11-24T09:00:00Z".parse().unwrap();
    let first_tuesday = NaiveDate::from_ymd_opt(2025, 12, 2).unwrap();
    agency::people_and_engagements(&mut tx, engagements, now, added).await;
    for e in 0..engagements {
        let id = e as i64 + 1;
        for (kind, signers) in [("contract", "both"), ("dpa", "client")] {
            tandem::store::on!(&mut *tx, |c| sqlx::query(
                "INSERT INTO agreement (engagement_id, kind, signers, status, status_changed_at, signed_on) \
                 VALUES ($1, $2, $3, 'signed', $4, '2025-11-30')",
            )
            .bind(id)
            .bind(kind)
            .bind(signers)
            .bind(added)
            .execute(c)
            .await.map(|r| r.rows_affected()))
            .unwrap();
        }
        let inbound: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
            "INSERT INTO inbound_message (dedupe_key, source, classification, reason, disposition, \
             size_bytes, received_at) VALUES ($1, 'bench', 'hours', 'bench', 'processed', 0, $2) RETURNING id",
        )
        .bind(format!("bench-{id}"))
        .bind(added)
        .fetch_one(c)
        .await)
        .unwrap();
        let submission: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
            "INSERT INTO submission (inbound_id, assistant_id, status, created_at) \
             SELECT $1, assistant_id, 'logged', $2 FROM engagement WHERE id = $3 RETURNING id",
        )
        .bind(inbound)
        .bind(added)
        .bind(id)
        .fetch_one(c)
        .await)
        .unwrap();
        for week in 0..53usize {
            if (week + e) % 10 == 0 {
                continue;
            }
            tandem::store::on!(&mut *tx, |c| sqlx::query(
                "INSERT INTO time_entry (submission_id, engagement_id, work_date, minutes, description, \
                 line_no, line_text, status, created_at) VALUES ($1, $2, $3, 120, 'work', 1, 'work', 'logged', $4)",
            )
            .bind(submission)
            .bind(id)
            .bind(first_tuesday + chrono::Duration::weeks(week as i64))
            .bind(added)
            .execute(c)
            .await.map(|r| r.rows_affected()))
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

/// Every mail the plan says was due by `now`, as sent (surveys answered a day later), but the
/// latest survey of the engagements in `unsent`; returns how many mails were seeded.
async fn seed_history(
    pool: &store::Pool,
    config: &Config,
    now: DateTime<Utc>,
    unsent: &dyn Fn(i64) -> bool,
) -> usize {
    let mut conn = pool.acquire().await.unwrap();
    let mut planned_all = Vec::new();
    for engagement in store::engagements::scheduled(&mut conn).await.unwrap() {
        let facts = tandem::tasks::scheduler::facts(&mut conn, config, engagement)
            .await
            .unwrap();
        let planned = plan::plan(&facts, &config.schedule, now);
        let latest_survey = planned
            .iter()
            .filter(|p| matches!(p.kind, Kind::Survey { .. }))
            .map(|p| p.key.clone())
            .next_back();
        for p in planned {
            let skip = matches!(p.kind, Kind::SurveyReminder { .. })
                || (unsent(p.engagement_id) && Some(&p.key) == latest_survey.as_ref());
            if !skip {
                planned_all.push(p);
            }
        }
    }
    drop(conn);
    let raw = vec![b'x'; 2048];
    let mut tx = pool.begin().await.unwrap();
    for p in &planned_all {
        let recipient = format!("c{}@client.example", p.engagement_id - 1);
        let survey_id: Option<i64> = match &p.kind {
            Kind::Survey { period, .. } => Some(
                tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
                    "INSERT INTO survey (engagement_id, kind, period, questions, recipient, locale, \
                     message_id, sent_at, answered_at) VALUES ($1, 'feedback', $2, '[]', $3, 'de', $4, $5, $6) \
                     RETURNING id",
                )
                .bind(p.engagement_id)
                .bind(period)
                .bind(&recipient)
                .bind(format!("<{}@bench.example>", p.key))
                .bind(p.due)
                .bind(p.due + chrono::Duration::days(1))
                .fetch_one(c)
                .await)
                .unwrap(),
            ),
            _ => None,
        };
        tandem::store::on!(&mut *tx, |c| sqlx::query(
            "INSERT INTO outbox (natural_key, message_id, kind, engagement_id, recipient, subject, raw, \
             state, attempts, next_attempt_at, created_at, sent_at, token, survey_id) \
             VALUES ($1, $2, $3, $4, $5, 'bench', $6, 'sent', 1, $7, $7, $7, $8, $9)",
        )
        .bind(&p.key)
        .bind(format!("<{}@bench.example>", p.key))
        .bind(p.kind.name())
        .bind(p.engagement_id)
        .bind(&recipient)
        .bind(&raw)
        .bind(p.due)
        .bind(survey_id.map(|_| format!("t{}", p.key)))
        .bind(survey_id)
        .execute(c)
        .await.map(|r| r.rows_affected()))
        .unwrap();
    }
    tx.commit().await.unwrap();
    planned_all.len()
}

/// Takes back what a pass queued (the outbox rows and their surveys), so the next pass has the
/// same sends due.
async fn unsend(pool: &store::Pool, keys: &[String]) {
    let mut tx = pool.begin().await.unwrap();
    for key in keys {
        let survey: Option<Option<i64>> = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
            "DELETE FROM outbox WHERE natural_key = $1 RETURNING survey_id"
        )
        .bind(key)
        .fetch_optional(c)
        .await)
        .unwrap();
        if let Some(Some(id)) = survey {
            tandem::store::on!(&mut *tx, |c| sqlx::query(
                "DELETE FROM survey WHERE id = $1"
            )
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median and best of some passes.
fn summary(mut runs: Vec<Duration>) -> (f64, f64) {
    runs.sort();
    (ms(runs[runs.len() / 2]), ms(runs[0]))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let engagements = args.first().copied().unwrap_or(10_000);
    let due = args.get(1).copied().unwrap_or(100).min(engagements);
    let rounds = 5;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    // A Monday, 10:30 in Berlin: the December survey (first Monday, 10:00) is due.
    let now: DateTime<Utc> = "2026-12-07T09:30:00Z".parse().unwrap();
    let clock = ManualClock::new(now);
    let app = App::new(config.clone(), Arc::new(clock.clone()))
        .await
        .unwrap();
    let pool = store::connect(
        store::Location::url(&config.database.url),
        2,
        store::Open::Create,
    )
    .await
    .unwrap();
    let seeding = Instant::now();
    seed_agency(&pool, engagements, now).await;
    // Spread the engagements with a send due over the agency.
    let every = engagements / due.max(1);
    let unsent = |id: i64| {
        due > 0 && ((id - 1) as usize).is_multiple_of(every) && (id - 1) as usize / every < due
    };
    let mails = seed_history(&pool, &config, now, &unsent).await;
    // This week's digest went out at 07:00 (the digest bench times it).
    let digest = tandem::digest::key(&tandem::digest::week_reported(now, &config));
    tandem::store::on!(&mut *pool.acquire().await.unwrap(), |c| sqlx::query(
        "INSERT INTO outbox (natural_key, message_id, kind, recipient, subject, raw, state, attempts, \
         next_attempt_at, created_at, sent_at) VALUES ($1, '<digest@bench.example>', 'digest', \
         'team@agency.example', 'bench', x'00', 'sent', 1, $2, $2, $2)",
    )
    .bind(&digest)
    .bind(now - chrono::Duration::hours(2))
    .execute(c)
    .await.map(|r| r.rows_affected()))
    .unwrap();
    let (entries,): (i64,) =
        tandem::store::on!(&mut *pool.acquire().await.unwrap(), |c| sqlx::query_as(
            "SELECT COUNT(*) FROM time_entry"
        )
        .fetch_one(c)
        .await)
        .unwrap();
    println!(
        "seeded {engagements} engagements, {entries} time entries and {mails} mails sent over a year, \
         in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let scheduler = app.scheduler();
    let start = Instant::now();
    let first = scheduler.step().await.unwrap();
    let first_pass = start.elapsed();
    // The digest is seeded as sent; one queued here would be counted apart.
    let (digests, sends): (Vec<String>, Vec<String>) = first
        .queued
        .into_iter()
        .partition(|k| k.starts_with("digest:"));
    assert_eq!(sends.len(), due, "the first pass queues what is due");
    println!(
        "first pass (every engagement planned): {:.0} ms, {} sends queued and {} digest",
        ms(first_pass),
        sends.len(),
        digests.len()
    );

    let mut idle = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let step = scheduler.step().await.unwrap();
        idle.push(start.elapsed());
        assert!(step.queued.is_empty(), "nothing is due: {:?}", step.queued);
    }
    let (median, best) = summary(idle);
    println!(
        "a pass over {engagements} engagements with nothing due: median {median:.1} ms (best {best:.1} ms; \
         goal 50 ms)"
    );

    let mut busy = Vec::new();
    let mut queued = sends;
    for _ in 0..rounds {
        unsend(&pool, &queued).await;
        let start = Instant::now();
        let step = scheduler.step().await.unwrap();
        busy.push(start.elapsed());
        assert_eq!(step.queued.len(), due, "the sends taken back are due again");
        queued = step.queued;
    }
    let (median, best) = summary(busy);
    println!(
        "a pass over {engagements} engagements with {due} sends due: median {median:.1} ms (best {best:.1} ms)"
    );
    pool.close().await;
}
