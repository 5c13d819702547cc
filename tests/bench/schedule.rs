//! Benchmark: one scheduler pass over a large agency. Seeds a fresh database with 10,000
//! engagements, each with a year of history (a time entry in most weeks, the feedback surveys
//! of the trial and after it, answered, and the hours nudges of the weeks without hours, all as
//! the schedule's own plan says they went out), then times `Scheduler::step`: the first pass
//! (which queues the December survey of the engagements left without it), passes with nothing
//! due, and passes with that many sends due again. On SQLite and then PostgreSQL, or the one
//! `TANDEM_BENCH_DATABASE` names (see `backend.rs`). Run: `cargo bench --bench schedule
//! [ENGAGEMENTS DUE]` (defaults 10,000 and 100). It prints figures; it asserts only that each
//! pass queued what was due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use tandem::app::App;
use tandem::clock::ManualClock;
use tandem::config::Config;
use tandem::schedule::plan::{self, Kind};
use tandem::store::{self, Backend};

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

/// The people, the engagements (active since 2025-12-01, trial to 2025-12-28, agreements
/// signed) and a time entry on the Tuesday of nine weeks in ten, each engagement's entries in
/// one submission of its own.
async fn seed_agency(pool: &store::Pool, engagements: usize, now: DateTime<Utc>) {
    use agency::Value::*;
    let mut tx = agency::begin(pool).await;
    let added: DateTime<Utc> = "2025-11-24T09:00:00Z".parse().unwrap();
    let first_tuesday = NaiveDate::from_ymd_opt(2025, 12, 2).unwrap();
    let signed_on = NaiveDate::from_ymd_opt(2025, 11, 30).unwrap();
    agency::people_and_engagements(&mut tx, engagements, now, added).await;
    let assistants = engagements.div_ceil(2) as i64;
    let ids = 1..=engagements as i64;
    agency::insert(
        &mut tx,
        "agreement (engagement_id, kind, signers, status, status_changed_at, signed_on)",
        ids.clone().flat_map(|id| {
            [("contract", "both"), ("dpa", "client")].map(|(kind, signers)| {
                vec![
                    Int(id),
                    Str(kind),
                    Str(signers),
                    Str("signed"),
                    Time(added),
                    Day(signed_on),
                ]
            })
        }),
    )
    .await;
    // Inbound message `id` and submission `id` carry engagement `id`'s entries.
    agency::insert(
        &mut tx,
        "inbound_message (id, dedupe_key, source, classification, reason, disposition, \
         size_bytes, received_at)",
        ids.clone().map(|id| {
            vec![
                Int(id),
                Text(format!("bench-{id}")),
                Str("bench"),
                Str("hours"),
                Str("bench"),
                Str("processed"),
                Int(0),
                Time(added),
            ]
        }),
    )
    .await;
    agency::insert(
        &mut tx,
        "submission (id, inbound_id, assistant_id, status, created_at)",
        ids.clone().map(|id| {
            vec![
                Int(id),
                Int(id),
                Int((id - 1) % assistants + 1),
                Str("logged"),
                Time(added),
            ]
        }),
    )
    .await;
    let entries = ids.flat_map(|id| {
        (0..53i64)
            .filter(move |week| (week + id - 1) % 10 != 0)
            .map(move |week| (id, first_tuesday + chrono::Duration::weeks(week)))
    });
    agency::insert(
        &mut tx,
        "time_entry (id, submission_id, engagement_id, work_date, minutes, description, \
         line_no, line_text, status, created_at)",
        entries.enumerate().map(|(n, (id, day))| {
            vec![
                Int(n as i64 + 1),
                Int(id),
                Int(id),
                Day(day),
                Int(120),
                Str("work"),
                Int(1),
                Str("work"),
                Str("logged"),
                Time(added),
            ]
        }),
    )
    .await;
    agency::commit(pool, tx).await;
}

/// Every mail the plan says was due by `now`, as sent (surveys answered a day later), but the
/// latest survey of the engagements in `unsent`; returns how many mails were seeded.
async fn seed_history(
    pool: &store::Pool,
    config: &Config,
    now: DateTime<Utc>,
    unsent: &dyn Fn(i64) -> bool,
) -> usize {
    use agency::Value::*;
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
    // Survey `n` is the `n`th survey mail of the list.
    let mut surveys = 0;
    let survey_ids: Vec<Option<i64>> = planned_all
        .iter()
        .map(|p| {
            matches!(p.kind, Kind::Survey { .. }).then(|| {
                surveys += 1;
                surveys
            })
        })
        .collect();
    let recipient = |p: &plan::Planned| format!("c{}@client.example", p.engagement_id - 1);
    let raw = vec![b'x'; 2048];
    let mut tx = agency::begin(pool).await;
    agency::insert(
        &mut tx,
        "survey (id, engagement_id, kind, period, questions, recipient, locale, message_id, \
         sent_at, answered_at)",
        planned_all.iter().zip(&survey_ids).filter_map(|(p, id)| {
            let Kind::Survey { period, .. } = &p.kind else {
                return None;
            };
            Some(vec![
                Int(id.unwrap()),
                Int(p.engagement_id),
                Str("feedback"),
                Text(period.to_string()),
                Str("[]"),
                Text(recipient(p)),
                Str("de"),
                Text(format!("<{}@bench.example>", p.key)),
                Time(p.due),
                Time(p.due + chrono::Duration::days(1)),
            ])
        }),
    )
    .await;
    agency::insert(
        &mut tx,
        "outbox (id, natural_key, message_id, kind, engagement_id, recipient, subject, \
         state, attempts, next_attempt_at, created_at, sent_at, token, survey_id)",
        planned_all
            .iter()
            .zip(&survey_ids)
            .enumerate()
            .map(|(n, (p, survey))| {
                vec![
                    Int(n as i64 + 1),
                    Text(p.key.clone()),
                    Text(format!("<{}@bench.example>", p.key)),
                    Str(p.kind.name()),
                    Int(p.engagement_id),
                    Text(recipient(p)),
                    Str("bench"),
                    Str("sent"),
                    Int(1),
                    Time(p.due),
                    Time(p.due),
                    Time(p.due),
                    OptText(survey.map(|_| format!("t{}", p.key))),
                    OptInt(*survey),
                ]
            }),
    )
    .await;
    agency::insert(
        &mut tx,
        "outbox_raw (outbox_id, raw)",
        (0..planned_all.len()).map(|n| vec![Int(n as i64 + 1), Bytes(&raw)]),
    )
    .await;
    agency::commit(pool, tx).await;
    planned_all.len()
}

/// Takes back what a pass queued (the outbox rows and their surveys), so the next pass has the
/// same sends due.
///
/// On SQLite with the foreign keys off while it deletes: neither `outbox.after_id` nor
/// `outbox.survey_id` has an index (the daemon never deletes an outbox row or a survey), so
/// SQLite would check each row deleted by reading the whole outbox (425 MB here), which took
/// some 5 minutes of every run. `PRAGMA foreign_key_check` then checks the outbox once (one
/// pass) and the round fails if a row refers to one deleted. PostgreSQL keeps its checks.
async fn unsend(pool: &store::Pool, keys: &[String]) {
    let mut conn = pool.acquire().await.unwrap();
    let sqlite = conn.backend() == Backend::Sqlite;
    if sqlite {
        execute(&mut conn, "PRAGMA foreign_keys = OFF").await;
    }
    execute(&mut conn, "BEGIN").await;
    for key in keys {
        tandem::store::on!(&mut *conn, |c| sqlx::query(
            "DELETE FROM outbox_raw WHERE outbox_id = (SELECT id FROM outbox WHERE natural_key = $1)"
        )
        .bind(key)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        let survey: Option<Option<i64>> = tandem::store::on!(&mut *conn, |c| sqlx::query_scalar(
            "DELETE FROM outbox WHERE natural_key = $1 RETURNING survey_id"
        )
        .bind(key)
        .fetch_optional(c)
        .await)
        .unwrap();
        if let Some(Some(id)) = survey {
            tandem::store::on!(&mut *conn, |c| sqlx::query(
                "DELETE FROM survey WHERE id = $1"
            )
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
            .unwrap();
        }
    }
    execute(&mut conn, "COMMIT").await;
    if sqlite {
        execute(&mut conn, "PRAGMA foreign_keys = ON").await;
        let dangling: Vec<(String, i64)> = tandem::store::on!(&mut *conn, |c| sqlx::query_as(
            "SELECT \"table\", rowid FROM pragma_foreign_key_check('outbox')"
        )
        .fetch_all(c)
        .await)
        .unwrap();
        assert!(
            dangling.is_empty(),
            "rows refer to what was taken back: {dangling:?}"
        );
    }
}

/// Runs one statement that returns no rows.
async fn execute(conn: &mut store::Conn, sql: &'static str) {
    tandem::store::on!(&mut *conn, |c| sqlx::raw_sql(sql)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
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
    for backend in backend::chosen() {
        measure(backend, engagements, due).await;
    }
}

/// Seeds a fresh database of `backend` and times the passes over it; prints the figures, each
/// line labelled with the backend.
async fn measure(backend: Backend, engagements: usize, due: usize) {
    let label = backend::name(backend);
    let rounds = 5;
    let dir = tempfile::tempdir().unwrap();
    let url = backend::fresh(backend, dir.path());
    let config = config(dir.path(), &url);
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
        "INSERT INTO outbox (natural_key, message_id, kind, recipient, subject, state, attempts, \
         next_attempt_at, created_at, sent_at) VALUES ($1, '<digest@bench.example>', 'digest', \
         'team@agency.example', 'bench', 'sent', 1, $2, $2, $2)",
    )
    .bind(&digest)
    .bind(now - chrono::Duration::hours(2))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let (entries,): (i64,) =
        tandem::store::on!(&mut *pool.acquire().await.unwrap(), |c| sqlx::query_as(
            "SELECT COUNT(*) FROM time_entry"
        )
        .fetch_one(c)
        .await)
        .unwrap();
    println!(
        "{label}: seeded {engagements} engagements, {entries} time entries and {mails} mails sent \
         over a year, in {:.1} s",
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
        "{label}: first pass (every engagement planned): {:.0} ms, {} sends queued and {} digest",
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
        "{label}: a pass over {engagements} engagements with nothing due: median {median:.1} ms \
         (best {best:.1} ms; goal 50 ms: {})",
        if median <= 50.0 { "met" } else { "missed" }
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
        "{label}: a pass over {engagements} engagements with {due} sends due: median {median:.1} ms \
         (best {best:.1} ms)"
    );
    pool.close().await;
    app.pool.close().await;
}
