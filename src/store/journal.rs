//! The sent journal of a SQLite database: where the outbox worker records each mail it sent,
//! in a file of its own beside the database (`FILE.sent`), with a write lock of its own.
//!
//! On SQLite one connection writes at a time, and the reader holds the write lock for each of
//! its slices (`tasks::reader`, 100 ms). A send must be recorded before the worker sends more
//! than `pool_size` others (what a crash may send twice), so when that record went to the
//! database, every few sends waited for the reader's next slice, and reading and sending hardly
//! overlapped. The journal takes the record at once instead, as durably (WAL, `synchronous =
//! FULL`); [`Journal::fold`] writes what it holds into `outbox` (`state = 'sent'`, its
//! `sent_at`) when the worker has the database's write lock anyway: before each claim, at the end
//! of each drain, and after each [`crate::tasks::outbox::OutboxWorker::step`]. A record matches
//! its row only while the claim it names is still the row's (the same `lease_until` and
//! `holder`, still `sending`), so folding is idempotent and safe from any process at any time:
//! a fold cut off between its two writes folds again to the same end. A row whose sending a
//! journal records, unfolded, is still `sending` in the database; it is not claimed again
//! while its lease and its holder live, and each claim folds first, so a dead holder's
//! recorded sends are marked before its rows are taken up.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::OnceCell;

use super::outbox::Claimed;
use super::{Backend, Conn, Pool, StoreError, on};

/// At most this many records are folded by one statement (four placeholders a record: well
/// inside SQLite's limit of 32,766); a macro, as it is written into a statement's text.
macro_rules! fold_chunk {
    () => {
        "500"
    };
}
const FOLD_CHUNK: usize = match usize::from_str_radix(fold_chunk!(), 10) {
    Ok(n) => n,
    Err(_) => panic!("fold_chunk! is a number"),
};

/// A send recorded: its row in the journal, the outbox row, the claim's `lease_until` and
/// `holder`, and when it was sent. The times are the columns' own texts (what sqlx wrote, as it
/// writes the outbox's), which the mark on SQLite writes and compares as they are; and the
/// same times read as times, for a copy on PostgreSQL and for a record not matched.
#[derive(sqlx::FromRow)]
struct Record {
    rowid: i64,
    id: i64,
    lease_until: String,
    holder: String,
    sent_at: String,
    lease_until_time: DateTime<Utc>,
    sent_at_time: DateTime<Utc>,
}

/// The end of a mark's statement, after the records as `v (id, lease_until, holder,
/// sent_at)`: marks sent the rows of `$outbox` whose claim is still theirs. A macro, as it is
/// written into statements' texts.
macro_rules! mark_from_v {
    ($outbox:literal) => {
        concat!(
            ") UPDATE ",
            $outbox,
            " SET state = 'sent', sent_at = v.sent_at, \
           lease_until = NULL, holder = NULL, last_error = NULL \
         FROM v \
         WHERE outbox.id = v.id AND outbox.state = 'sending' \
           AND outbox.lease_until = v.lease_until AND outbox.holder = v.holder \
         RETURNING outbox.id"
        )
    };
}

/// SQLite: the mark of the records in `$1`, a JSON array of `[id, lease_until, holder,
/// sent_at]` (see [`Journal::mark`]). One text whatever the number of records, so it stays
/// prepared: written as `VALUES` lists, each fold prepared its statements afresh (on 2,000 time
/// logs, about 130 folds of two statements each: most of the statements prepared in a `run
/// --once`). `NOT INDEXED`: the planner went through `outbox` by its index on `state`, every row
/// in `sending` (up to 512) for each record; without it, it reads the records and looks each
/// row up by its id.
const MARK_ON_SQLITE: &str = concat!(
    "WITH v (id, lease_until, holder, sent_at) AS \
     (SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each($1)",
    mark_from_v!("outbox NOT INDEXED")
);

/// Forgets the records in `$1` (as for [`MARK_ON_SQLITE`]) by what each says, not by its
/// rowid: a fold in another process may have deleted these already, and a rowid freed is
/// given to the next record.
const FORGET: &str = "DELETE FROM sent WHERE (id, lease_until, holder) IN \
     (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each($1))";

/// The journal beside one SQLite database file, opened when it is first needed: a daemon that
/// sends nothing holds no connection to it.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    pool: OnceCell<sqlx::SqlitePool>,
}

/// What a fold did: the rows marked sent, and the records whose claim was no longer the row's
/// (its lease ran out and another worker took it), which change nothing.
#[derive(Debug, Default)]
pub struct Folded {
    pub marked: Vec<i64>,
    pub stale: Vec<i64>,
}

impl Journal {
    /// The journal of `pool`'s database: `FILE.sent` beside a SQLite file; `None` on
    /// PostgreSQL (where recording a send waits for no other writer) and in memory (one
    /// process, no reader beside it).
    pub fn beside(pool: &Pool) -> Option<Journal> {
        let mut path = pool.file()?.into_os_string();
        path.push(".sent");
        Some(Journal {
            path: PathBuf::from(path),
            pool: OnceCell::new(),
        })
    }

    /// The journal's pool, opened (and the file created) the first time; `None` when the file
    /// does not exist and `create` is false: there is nothing to fold.
    async fn open(&self, create: bool) -> Result<Option<&sqlx::SqlitePool>, StoreError> {
        if let Some(pool) = self.pool.get() {
            return Ok(Some(pool));
        }
        if !create && !self.path.exists() {
            return Ok(None);
        }
        let pool = self
            .pool
            .get_or_try_init(|| async {
                let options = SqliteConnectOptions::new()
                    .filename(&self.path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // A send recorded is on disk, as the database's own marks were.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .after_release(|conn, _| Box::pin(super::reusable(conn)))
                    .connect_with(options)
                    .await?;
                sqlx::query(
                    "CREATE TABLE IF NOT EXISTS sent ( \
                         id INTEGER NOT NULL, \
                         lease_until TEXT NOT NULL, \
                         holder TEXT NOT NULL, \
                         sent_at TEXT NOT NULL, \
                         PRIMARY KEY (id, lease_until, holder))",
                )
                .execute(&pool)
                .await?;
                Ok::<_, sqlx::Error>(pool)
            })
            .await?;
        Ok(Some(pool))
    }

    /// Records that the claimed messages were sent at `now`, in one statement, on disk when
    /// this returns.
    pub async fn record(&self, claims: &[&Claimed], now: DateTime<Utc>) -> Result<(), StoreError> {
        let Some(pool) = self.open(true).await? else {
            unreachable!("opened with create")
        };
        for chunk in claims.chunks(FOLD_CHUNK) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO sent (id, lease_until, holder, sent_at) ",
            );
            insert.push_values(chunk, |mut row, claim| {
                row.push_bind(claim.id)
                    .push_bind(claim.lease_until)
                    .push_bind(&claim.holder)
                    .push_bind(now);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(pool).await?;
        }
        Ok(())
    }

    /// Writes the recorded sends (of every process) into `conn`'s database, each only while
    /// its claim is still the row's, then forgets them. Run in the caller's turn at the write
    /// lock; a statement of its own each, so `conn` is a pooled connection, not a transaction
    /// that could still be rolled back after the records are gone.
    pub async fn fold(&self, conn: &mut Conn) -> Result<Folded, StoreError> {
        self.mark(conn, true).await
    }

    /// Writes the recorded sends into `conn`'s database as [`Journal::fold`] does, and keeps
    /// them: for a copy of the database (`tandem backup`, `tandem db copy`, to either
    /// backend), whose source still needs them.
    pub async fn mark_in_copy(&self, conn: &mut Conn) -> Result<Folded, StoreError> {
        self.mark(conn, false).await
    }

    async fn mark(&self, conn: &mut Conn, forget: bool) -> Result<Folded, StoreError> {
        let mut folded = Folded::default();
        let Some(pool) = self.open(false).await? else {
            return Ok(folded);
        };
        let mut after = 0_i64;
        loop {
            // Written from the claim as read, `lease_until` is the column's own value (as
            // `outbox::mark_sent_many` binds it).
            // The limit is written, not bound: SQLite prepared the statement again each time
            // its bound limit was bound again.
            let records: Vec<Record> = sqlx::query_as(concat!(
                "SELECT rowid, id, lease_until, holder, sent_at, \
                 lease_until AS lease_until_time, sent_at AS sent_at_time \
                 FROM sent WHERE rowid > $1 ORDER BY rowid LIMIT ",
                fold_chunk!()
            ))
            .bind(after)
            .fetch_all(pool)
            .await?;
            let Some(last) = records.last() else {
                return Ok(folded);
            };
            after = last.rowid;
            let listed = serde_json::to_string(
                &records
                    .iter()
                    .map(|r| (r.id, &r.lease_until, &r.holder, &r.sent_at))
                    .collect::<Vec<_>>(),
            )
            .expect("numbers and texts");
            let backend = conn.backend();
            let marked: Vec<i64> = on!(conn, |c, Db| match backend {
                Backend::Sqlite => {
                    // Read to the end: the statement commits on its own (see
                    // `outbox::claim_many`).
                    sqlx::query_scalar(MARK_ON_SQLITE)
                        .bind(&listed)
                        .fetch_all(c)
                        .await
                }
                // A copy (`mark_in_copy`) on PostgreSQL: the times bound as times. Its text
                // changes with the number of records, so it is not kept prepared, where it
                // would push out the statements used again.
                Backend::Postgres => {
                    let mut query = sqlx::QueryBuilder::<Db>::new(
                        "WITH v (id, lease_until, holder, sent_at) AS (",
                    );
                    query.push_values(&records, |mut row, r| {
                        row.push_bind(r.id)
                            .push_bind(r.lease_until_time)
                            .push_bind(&r.holder)
                            .push_bind(r.sent_at_time);
                    });
                    query.push(mark_from_v!("outbox"));
                    query
                        .build_query_scalar()
                        .persistent(false)
                        .fetch_all(c)
                        .await
                }
            })?;
            if forget {
                sqlx::query(FORGET).bind(&listed).execute(pool).await?;
            }
            // A record not matched was folded by another process meanwhile (its row is sent at
            // the time it records), or its claim was taken. A row with two records here (a
            // worker whose lease ran out, and the one that took the row over) is marked by one
            // of them: each is checked as unmatched, and the one marked has its own time.
            let held: std::collections::HashSet<i64> = marked.iter().copied().collect();
            let mut records_of = std::collections::HashMap::<i64, usize>::new();
            for r in &records {
                *records_of.entry(r.id).or_default() += 1;
            }
            let unmatched: Vec<&Record> = records
                .iter()
                .filter(|r| !held.contains(&r.id) || records_of[&r.id] > 1)
                .collect();
            if !unmatched.is_empty() {
                let ids = (1..=unmatched.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT id, sent_at FROM outbox WHERE state = 'sent' AND id IN ({ids})"
                );
                let sent: Vec<(i64, Option<DateTime<Utc>>)> = on!(conn, |c| {
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false);
                    for r in &unmatched {
                        query = query.bind(r.id);
                    }
                    query.fetch_all(c).await
                })?;
                let folded_elsewhere: std::collections::HashSet<(i64, DateTime<Utc>)> = sent
                    .into_iter()
                    .filter_map(|(id, at)| Some((id, at?)))
                    .collect();
                folded.stale.extend(
                    unmatched
                        .iter()
                        .filter(|r| !folded_elsewhere.contains(&(r.id, r.sent_at_time)))
                        .map(|r| r.id),
                );
            }
            folded.marked.extend(marked);
            if records.len() < FOLD_CHUNK {
                return Ok(folded);
            }
        }
    }
}
