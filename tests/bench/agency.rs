//! The people of a seeded agency, for the benchmarks that need one of a given size: half as
//! many assistants as engagements (each with an address), and per engagement a client with one
//! contact and the engagement itself (active since 2025-12-01, trial to 2025-12-28, a budget of
//! 20 h), engagement `e` with assistant `e % assistants`. Ids count from 1.
//!
//! And how the benchmarks seed, on either backend: rows go in by multi-row `INSERT`s
//! ([`insert`], 1,000 rows a statement) with explicit ids, in one transaction opened by
//! [`begin`] and closed by [`commit`], which on PostgreSQL also sets the identity sequences past
//! the seeded ids and reads the tables' statistics.

use chrono::{DateTime, NaiveDate, Utc};
use tandem::store::{self, Backend};

/// Rows per `INSERT`: at most 14 values a row keeps a statement far below SQLite's 32,766
/// parameters and PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 1000;

/// The tables whose user triggers (the scheduler's wake-ups, migration 0011) are off while
/// PostgreSQL is seeded: see [`begin`].
const WOKEN_BY: [&str; 4] = ["agreement", "survey", "outbox", "time_entry"];

/// The tables seeded with explicit ids.
const WITH_IDS: [&str; 8] = [
    "assistant",
    "client",
    "engagement",
    "inbound_message",
    "submission",
    "survey",
    "time_entry",
    "outbox",
];

/// One value of a seeded row, bound as its column's type on both backends (on PostgreSQL a
/// `DATE` takes a `NaiveDate` and a `TIMESTAMPTZ` a `DateTime<Utc>`, never text).
#[derive(Clone)]
#[allow(dead_code)]
pub enum Value<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    Str(&'a str),
    OptText(Option<String>),
    Time(DateTime<Utc>),
    Day(NaiveDate),
    Bytes(&'a [u8]),
}

/// Inserts `rows` into `table (columns)` (as in `"time_entry (id, minutes)"`), each row its
/// values in the order of the columns, by statements of [`ROWS_PER_INSERT`] rows.
pub async fn insert<'a>(
    conn: &mut store::Conn,
    table: &str,
    rows: impl IntoIterator<Item = Vec<Value<'a>>>,
) {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        tandem::store::on!(&mut *conn, |c, Db| {
            let mut query = sqlx::QueryBuilder::<Db>::new(format!("INSERT INTO {table} "));
            query.push_values(&chunk, |mut row, values| {
                for value in values {
                    match value {
                        Value::Int(v) => row.push_bind(*v),
                        Value::OptInt(v) => row.push_bind(*v),
                        Value::Text(v) => row.push_bind(v.clone()),
                        Value::Str(v) => row.push_bind(*v),
                        Value::OptText(v) => row.push_bind(v.clone()),
                        Value::Time(v) => row.push_bind(*v),
                        Value::Day(v) => row.push_bind(*v),
                        Value::Bytes(v) => row.push_bind(*v),
                    };
                }
            });
            query.build().execute(c).await.map(|r| r.rows_affected())
        })
        .unwrap_or_else(|e| panic!("seeding {table}: {e}"));
    }
}

/// Runs one statement that returns no rows.
async fn execute(conn: &mut store::Conn, sql: &str) {
    tandem::store::on!(&mut *conn, |c| sqlx::raw_sql(sqlx::AssertSqlSafe(
        sql.to_string()
    ))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Opens the seeding transaction. On PostgreSQL it turns off the scheduler's wake-up triggers
/// on the tables seeded in bulk until [`commit`]: each would update the engagement row of every
/// row seeded (some 700,000 updates of 10,000 rows in one transaction, each leaving a row
/// version behind that the transaction cannot clean), and all they leave is what a new
/// engagement has anyway, a cleared wake-up, so the first pass plans every engagement on both
/// backends. (SQLite runs them: there an update is in place and cheap.)
pub async fn begin(pool: &store::Pool) -> store::Tx {
    let mut tx = pool.begin().await.unwrap();
    if pool.backend() == Backend::Postgres {
        for table in WOKEN_BY {
            execute(
                &mut tx,
                &format!("ALTER TABLE {table} DISABLE TRIGGER USER"),
            )
            .await;
        }
    }
    tx
}

/// Commits the seeding. On PostgreSQL first turns the triggers back on and moves each identity
/// sequence past the ids seeded (the daemon's own inserts take the next one), then, after the
/// commit, `ANALYZE`s the database, as autovacuum does soon after a load this size: the
/// planner then knows the tables' sizes, as it would in a database that has been in use.
pub async fn commit(pool: &store::Pool, mut tx: store::Tx) {
    if pool.backend() == Backend::Postgres {
        for table in WOKEN_BY {
            execute(&mut tx, &format!("ALTER TABLE {table} ENABLE TRIGGER USER")).await;
        }
        for table in WITH_IDS {
            execute(
                &mut tx,
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
                ),
            )
            .await;
        }
    }
    tx.commit().await.unwrap();
    if pool.backend() == Backend::Postgres {
        execute(&mut pool.acquire().await.unwrap(), "ANALYZE").await;
    }
}

/// Writes them in `tx`: the assistants as added at `assistants_added`, the clients and the
/// engagements at `added`.
pub async fn people_and_engagements(
    tx: &mut store::Conn,
    engagements: usize,
    assistants_added: DateTime<Utc>,
    added: DateTime<Utc>,
) {
    use Value::*;
    let assistants = engagements.div_ceil(2) as i64;
    insert(
        tx,
        "assistant (id, name, timezone, locale, created_at)",
        (1..=assistants).map(|id| {
            vec![
                Int(id),
                Text(format!("Assistant {}", id - 1)),
                Str("Europe/Berlin"),
                Str("de"),
                Time(assistants_added),
            ]
        }),
    )
    .await;
    insert(
        tx,
        "assistant_email (email, assistant_id, position)",
        (1..=assistants).map(|id| vec![Text(format!("a{}@va.example", id - 1)), Int(id), Int(0)]),
    )
    .await;
    let engagements = engagements as i64;
    insert(
        tx,
        "client (id, tag, name, timezone, locale, created_at)",
        (1..=engagements).map(|id| {
            vec![
                Int(id),
                Text(format!("c{}", id - 1)),
                Text(format!("Client {} GmbH", id - 1)),
                Str("Europe/Berlin"),
                Str("de"),
                Time(added),
            ]
        }),
    )
    .await;
    insert(
        tx,
        "contact (client_id, position, name, email)",
        (1..=engagements).map(|id| {
            vec![
                Int(id),
                Int(0),
                Str("Contact"),
                Text(format!("c{}@client.example", id - 1)),
            ]
        }),
    )
    .await;
    let start = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
    let trial_end = NaiveDate::from_ymd_opt(2025, 12, 28).unwrap();
    insert(
        tx,
        "engagement (id, assistant_id, client_id, start_date, trial_end, status, budget_minutes, \
         created_at)",
        (1..=engagements).map(|id| {
            vec![
                Int(id),
                Int((id - 1) % assistants + 1),
                Int(id),
                Day(start),
                Day(trial_end),
                Str("active"),
                Int(1200),
                Time(added),
            ]
        }),
    )
    .await;
}
