//! The outbox: every message tandem will send or has sent. A row is written in the same
//! transaction as the change that causes it; the worker claims one due row at a time with a
//! lease, so two workers never hold the same row and a crashed worker's row comes back: after
//! the lease, or at once when its holder (`outbox_holder`, [`Holder`]) is known to be gone.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::on;
use super::{Backend, Conn, Driver, StoreError, Table};

#[derive(Debug, Clone)]
pub struct NewOutbound<'a> {
    /// Why this mail exists (`welcome:ENGAGEMENT:ADDRESS`); a second row with the same key is
    /// not written.
    pub natural_key: &'a str,
    pub message_id: &'a str,
    pub kind: &'a str,
    pub engagement_id: Option<i64>,
    pub recipient: &'a str,
    pub subject: &'a str,
    /// The reply token, for mail that expects an answer.
    pub token: Option<&'a str>,
    /// The survey a survey mail (or its reminder) asks, so its answer finds it.
    pub survey_id: Option<i64>,
    /// The complete RFC 5322 message, or a draft of it (`outbound::draft`).
    pub raw: &'a [u8],
    /// The Message-IDs of the thread this mail continues (its References): while one of them
    /// is a row still unsent, this one waits for it.
    pub follows: &'a [String],
}

/// A row of `outbox` to write, owned, with its message: what [`enqueue`] writes at once, and a
/// transaction that writes later keeps (with the id taken for it).
#[derive(Debug)]
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) natural_key: String,
    pub(super) message_id: String,
    pub(super) kind: String,
    pub(super) engagement_id: Option<i64>,
    pub(super) recipient: String,
    pub(super) subject: String,
    pub(super) token: Option<String>,
    pub(super) survey_id: Option<i64>,
    pub(super) raw: Vec<u8>,
    pub(super) follows: Vec<String>,
    pub(super) created_at: DateTime<Utc>,
}

impl NewOutbound<'_> {
    /// The row, under `id` (unused when the database gives it).
    fn row(&self, id: i64, now: DateTime<Utc>) -> Row {
        Row {
            id,
            natural_key: self.natural_key.to_string(),
            message_id: self.message_id.to_string(),
            kind: self.kind.to_string(),
            engagement_id: self.engagement_id,
            recipient: self.recipient.to_string(),
            subject: self.subject.to_string(),
            token: self.token.map(str::to_string),
            survey_id: self.survey_id,
            raw: self.raw.to_vec(),
            follows: self.follows.to_vec(),
            created_at: now,
        }
    }
}

/// Pushes `INSERT INTO outbox ...` of `$rows` (`&[Row]`) to the `QueryBuilder` `$query`, with
/// their ids when `$with_id` (else the database gives them), for `$backend`: each due at once,
/// after the latest unsent row among those it follows (looked up when it is written).
///
/// On both backends the rows are a `VALUES` list read by one `SELECT`, and one correlated
/// subquery finds what each row follows, for all of them: compiled once for the statement.
///
/// On SQLite the Message-IDs a row follows are one parameter ([`follows_list`]), so the text
/// depends only on the number of rows and the driver keeps one statement prepared for each:
/// with a placeholder for each Message-ID, a time log's receipts (each following what its
/// message answers) made nearly every write a new statement to parse, and pushed the others
/// out of the cache. They are joined from the list to the rows by `message_id` (`CROSS JOIN`
/// keeps that order: from `outbox` first, SQLite walked every queued row by `outbox_due`). The
/// rows are a `WITH` (SQLite names no columns of a subquery in `FROM`). A subquery in each
/// row made the text of 64 rows 64 subqueries: 2,000 receipts written in rows of 8 to 64, in
/// Python's `sqlite3` on tandem's schema, took 56 ms parsed afresh and 27 ms kept prepared,
/// against 29 ms and 20 ms with one subquery.
///
/// On PostgreSQL each row's Message-IDs are one parameter as on SQLite: the subquery is
/// planned once for the statement, where a subquery of its own in each row was planned once
/// per row (2.4 ms of planning and 2.7 ms of execution for 48 receipts, against 0.4 ms and
/// 1.1 ms). Each Message-ID is looked up by itself (`LATERAL ... OFFSET 0`, which the planner
/// does not flatten), by the `message_id` index: given the list and the states together, the
/// planner walked every queued row by `outbox_due` instead, when its statistics counted few
/// queued.
macro_rules! push_rows {
    ($query:ident, $rows:expr, $with_id:expr, $backend:expr) => {
        if $backend == $crate::store::Backend::Sqlite {
            $query.push("WITH ");
            $crate::store::outbox::push_rows!(@columns $query, $with_id);
            $query.push(" AS (");
            $crate::store::outbox::push_rows!(@values $query, $rows, $with_id);
            $query.push(") ");
            $crate::store::outbox::push_rows!(@insert $query, $with_id);
            // `WHERE true`: an upsert's `ON CONFLICT` after `FROM v` would be read as a
            // join's constraint.
            $query.push(
                "(SELECT o.id FROM json_each(v.follows) AS j CROSS JOIN outbox AS o \
                 WHERE o.message_id = j.value AND o.state IN ('queued', 'sending') \
                 ORDER BY o.id DESC LIMIT 1) FROM v WHERE true",
            );
        } else {
            $crate::store::outbox::push_rows!(@insert $query, $with_id);
            $query.push(concat!($crate::store::outbox::pg_follows!(), " FROM ("));
            $crate::store::outbox::push_rows!(@values $query, $rows, $with_id);
            $query.push(") AS ");
            $crate::store::outbox::push_rows!(@columns $query, $with_id);
        }
    };
    // The insert, up to the column of what a row follows, from the rows `v`.
    (@insert $query:ident, $with_id:expr) => {
        $query.push(if $with_id {
            "INSERT INTO outbox (id, "
        } else {
            "INSERT INTO outbox ("
        });
        $query.push(
            "natural_key, message_id, kind, engagement_id, recipient, subject, token, \
             survey_id, state, attempts, next_attempt_at, created_at, after_id) ",
        );
        $query.push(if $with_id { "SELECT v.id, " } else { "SELECT " });
        $query.push(
            "v.natural_key, v.message_id, v.kind, v.engagement_id, v.recipient, v.subject, \
             v.token, v.survey_id, 'queued', 0, v.created_at, v.created_at, ",
        );
    };
    // The rows' name and columns.
    (@columns $query:ident, $with_id:expr) => {
        $query.push(if $with_id { "v (id, " } else { "v (" });
        $query.push(
            "natural_key, message_id, kind, engagement_id, recipient, subject, token, \
             survey_id, created_at, follows)",
        );
    };
    // The rows, a `VALUES` list.
    (@values $query:ident, $rows:expr, $with_id:expr) => {
        $query.push_values($rows, |mut row, r: $crate::store::outbox::Row| {
            let follows = $crate::store::outbox::follows_list(&r.follows);
            $crate::store::outbox::push_head!(row, r, $with_id)
                .push_bind(r.created_at)
                .push_bind(follows);
        });
    };
}
pub(super) use push_rows;

/// PostgreSQL: the id of the latest unsent row among the Message-IDs that the row `v` follows
/// (`v.follows`, the JSON list of [`follows_list`]), or `NULL`: one correlated subquery for all
/// the rows of a statement ([`push_rows`], and the kept rows' statement of `store::later`). A
/// macro, as it is written into statements' texts.
macro_rules! pg_follows {
    () => {
        "(SELECT max(f.id) FROM jsonb_array_elements_text(v.follows::jsonb) AS m (message_id) \
         CROSS JOIN LATERAL (SELECT o.id, o.state FROM outbox AS o \
         WHERE o.message_id = m.message_id OFFSET 0) AS f \
         WHERE f.state IN ('queued', 'sending'))"
    };
}
pub(super) use pg_follows;

/// Pushes to `$row` (a row of [`push_rows!`]'s `VALUES`) the columns both backends bind alike:
/// the id of `$r` when `$with_id`, then from `natural_key` to `survey_id`; returns `$row`.
macro_rules! push_head {
    ($row:ident, $r:ident, $with_id:expr) => {{
        if $with_id {
            $row.push_bind($r.id);
        }
        $row.push_bind($r.natural_key)
            .push_bind($r.message_id)
            .push_bind($r.kind)
            .push_bind($r.engagement_id)
            .push_bind($r.recipient)
            .push_bind($r.subject)
            .push_bind($r.token)
            .push_bind($r.survey_id)
    }};
}
pub(super) use push_head;

/// The Message-IDs a row follows, as the one parameter of its lookup in [`push_rows`] (on
/// both backends): a JSON array, or `NULL` for none (which finds no row).
pub(super) fn follows_list(follows: &[String]) -> Option<String> {
    (!follows.is_empty()).then(|| serde_json::Value::from(follows).to_string())
}

/// Writes the row and its message, due now, after the latest unsent row among `follows`.
/// Returns `false` when a row with the same natural key exists (and writes nothing). One
/// round trip: on SQLite the two inserts are one command (the message goes in only when the
/// row did, `changes()`, under the row's id, `last_insert_rowid()`: the wake-up triggers' own
/// writes count in neither); on PostgreSQL one statement, the row's insert a data-modifying
/// `WITH`.
pub async fn enqueue(
    conn: &mut Conn,
    new: &NewOutbound<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let rows = [new.row(0, now)];
    let backend = conn.backend();
    let inserted: Vec<i64> = on!(conn, |c, Db| {
        let mut query = sqlx::QueryBuilder::<Db>::new("");
        if backend == Backend::Postgres {
            query.push("WITH o AS (");
        }
        push_rows!(query, rows, false, backend);
        query.push(" ON CONFLICT (natural_key) DO NOTHING RETURNING id");
        match backend {
            Backend::Sqlite => query
                .push("; INSERT INTO outbox_raw (outbox_id, raw) SELECT last_insert_rowid(), ")
                .push_bind(new.raw)
                .push(" WHERE changes() = 1"),
            Backend::Postgres => query
                .push("), r AS (INSERT INTO outbox_raw (outbox_id, raw) SELECT id, ")
                .push_bind(new.raw)
                .push(" FROM o) SELECT id FROM o"),
        };
        query.build_query_scalar().fetch_all(c).await
    })?;
    Ok(!inserted.is_empty())
}

/// [`enqueue`] for a row whose natural key no row can have yet (it names a row this
/// transaction wrote): in a transaction that writes later ([`Conn::write_later`]), the row is
/// kept and written with the others (unless it follows one kept, whose id it must find).
pub async fn enqueue_new(
    conn: &mut Conn,
    new: &NewOutbound<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if conn
        .later()
        .is_some_and(|later| later.follows_kept(new.follows))
    {
        conn.flush().await?;
    }
    match conn.later_id(Table::Outbox).await? {
        Some((id, later)) => later.outbox(new.row(id, now)),
        None => {
            enqueue(conn, new, now).await?;
        }
    }
    Ok(())
}

/// A row the worker holds until `lease_until`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub message_id: String,
    /// What the mail is (`hours_receipt`, `survey`, ...), for the metrics.
    pub kind: String,
    pub recipient: String,
    pub raw: Vec<u8>,
    /// Attempts including this one.
    pub attempts: i64,
    /// The lease this claim holds: every mark of the outcome names it, so a worker whose lease
    /// ran out (and whose row another worker took) changes nothing.
    pub lease_until: DateTime<Utc>,
    /// The [`Holder`] that claimed it: marks name it too, since a row taken from a dead holder
    /// may get the same `lease_until` on a manual clock.
    pub holder: String,
}

/// A row in `sending` whose holder is gone, written for the row aliased `x`: its holder is
/// another process than the claimer (`$3`) and has no heartbeat since `$4` (its
/// `outbox_holder` row was removed when it was found dead, or it stopped beating). Rows
/// claimed before holders were recorded have none and wait out their lease.
macro_rules! holder_is_gone {
    ($x:literal) => {
        concat!(
            "(",
            $x,
            ".holder IS NOT NULL AND ",
            $x,
            ".holder <> $3 \
             AND NOT EXISTS (SELECT 1 FROM outbox_holder h \
                             WHERE h.id = ",
            $x,
            ".holder AND h.heartbeat_at >= $4))"
        )
    };
}

/// Claims one row: first one in `sending` whose holder's lease ran out or whose holder is gone
/// (that worker crashed mid-send), else the most overdue queued one that follows no unsent row
/// (a mail continuing a thread waits for the thread's earlier mail). See [`claim_many`].
pub async fn claim_due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    holder: &str,
    stale_before: DateTime<Utc>,
) -> Result<Option<Claimed>, StoreError> {
    Ok(
        claim_many(conn, now, lease_until, holder, stale_before, 1, true)
            .await?
            .into_iter()
            .next(),
    )
}

/// Claims up to `limit` rows in one statement, in the order [`claim_due`] takes them: rows in
/// `sending` whose holder's lease ran out or whose holder is gone first, then the most overdue
/// queued ones that follow no unsent row (a mail continuing a thread waits for the thread's
/// earlier mail, so a mail and the one it follows are never claimed together). Each is found
/// by walking an index in order, so a claim costs the same however long the queue; of two
/// workers racing for one row exactly one gets it. The claim is committed when this returns:
/// nothing is sent that is not claimed. `holder` is the claimer's id; a holder whose heartbeat
/// is older than `stale_before` counts as gone. The rows come back in the order they were
/// queued.
pub async fn claim_many(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    holder: &str,
    stale_before: DateTime<Utc>,
    limit: usize,
    with_raw: bool,
) -> Result<Vec<Claimed>, StoreError> {
    // `$lock` ends each candidate's subquery: on PostgreSQL, two workers claiming at once
    // each lock different rows (`SKIP LOCKED`) instead of both picking the first and one of
    // them finding it taken (and reporting idle while work is due). SQLite has one writer.
    macro_rules! candidates {
        ($lock:literal) => {
            concat!(
                "SELECT id FROM ( \
                     SELECT id, 0 AS stale_last, at FROM ( \
                         SELECT s.id, s.lease_until AS at FROM outbox s \
                         WHERE s.state = 'sending' AND (s.lease_until < $1 OR ",
                holder_is_gone!("s"),
                ") ORDER BY s.lease_until, s.id LIMIT {limit}",
                $lock,
                ") stale \
                     UNION ALL \
                     SELECT id, 1 AS stale_last, at FROM ( \
                         SELECT o.id, o.next_attempt_at AS at FROM outbox o \
                         WHERE o.state = 'queued' AND o.next_attempt_at <= $1 \
                           AND (o.after_id IS NULL OR NOT EXISTS ( \
                                SELECT 1 FROM outbox a \
                                WHERE a.id = o.after_id AND a.state IN ('queued', 'sending'))) \
                         ORDER BY o.next_attempt_at, o.id LIMIT {limit}",
                $lock,
                ") due \
                 ) candidates ORDER BY stale_last, at, id LIMIT {limit}"
            )
        };
    }
    let (table, candidates, recheck) = match conn.backend() {
        // The condition is repeated, so that the UPDATE changes no row that is not due. SQLite
        // would then check every due row against the candidates through `outbox_due` (the
        // condition names its columns) instead of looking the few candidates up by id: `NOT
        // INDEXED` leaves it the primary key.
        Backend::Sqlite => (
            "outbox NOT INDEXED",
            candidates!(""),
            concat!(
                " AND ((state = 'queued' AND next_attempt_at <= $1) \
                   OR (state = 'sending' AND (lease_until < $1 OR ",
                holder_is_gone!("outbox"),
                ")))"
            ),
        ),
        // Not repeated: a row is a candidate only once it is locked, and PostgreSQL checks a
        // row that changed before it was locked against the candidate's condition again. The
        // repeated condition made the planner walk every due row (its estimates of a queue
        // that grew since the last ANALYZE are a few rows) instead of the candidates' ids.
        Backend::Postgres => ("outbox", candidates!(" FOR UPDATE SKIP LOCKED"), ""),
    };
    // The limit is written into the statement, not bound: SQLite plans the subqueries with
    // its value and re-prepares a statement whose such parameter is bound again (13 % of the
    // daemon's CPU when it was bound). Each limit up to the pool's size is a statement cached
    // once.
    let candidates = candidates.replace("{limit}", &limit.max(1).to_string());
    // Without the message, `raw` is empty: [`Messages::read`] reads it after the claim.
    let raw = match with_raw {
        true => "(SELECT r.raw FROM outbox_raw r WHERE r.outbox_id = outbox.id)",
        false => "x''",
    };
    let claim = format!(
        "UPDATE {table} SET state = 'sending', lease_until = $2, holder = $3, \
         attempts = attempts + 1 \
         WHERE id IN ({candidates}){recheck} \
         RETURNING id, message_id, kind, recipient, {raw} AS raw, attempts, lease_until, holder"
    );
    let mut claimed: Vec<Claimed> = on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(claim))
        .bind(now)
        .bind(lease_until)
        .bind(holder)
        .bind(stale_before)
        // Read to the end, not `fetch_optional`: this statement commits on its own, and SQLite
        // commits when the statement finishes. Stopping at the first row leaves the commit to
        // the statement's reset, whose error (`database or disk is full`) the driver drops: the
        // row would come back claimed, be sent, and its claim would never have been recorded.
        .fetch_all(c)
        .await)?;
    claimed.sort_by_key(|row| row.id);
    Ok(claimed)
}

/// Where the messages of claimed rows are read on SQLite: after the claim, apart from the
/// process's write turn, on a connection of its own to the database file, opened by the first
/// read (and so on the thread of the runtime that reads first: the outbox worker reads on the
/// CPU its sends use, see `runtime`). Read in the claim's `RETURNING`, the messages (about
/// 1.5 MB for 150 receipts) were copied while the reader waited for the turn.
#[derive(Debug)]
pub struct Messages {
    /// One connection to the database pool's file (`super::one_connection`).
    pool: sqlx::SqlitePool,
}

impl Messages {
    /// For `pool`'s database when it is a SQLite file: `None` on PostgreSQL (a claim takes no
    /// turn there) and in memory (no other connection sees it).
    pub fn beside(pool: &super::Pool) -> Option<Messages> {
        let super::Pool::Sqlite(sqlite) = pool else {
            return None;
        };
        pool.file()?;
        Some(Messages {
            pool: super::one_connection(sqlite),
        })
    }

    /// The stored messages of the rows `ids`; a row without one (erased since it was claimed)
    /// is left out.
    pub async fn read(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<u8>>, StoreError> {
        let pool = &self.pool;
        let mut messages = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT outbox_id, raw FROM outbox_raw WHERE outbox_id IN (",
            );
            let mut each = query.separated(", ");
            for id in chunk {
                each.push_bind(*id);
            }
            query.push(")");
            // Not kept prepared: its text changes with the number of ids.
            let rows: Vec<(i64, Vec<u8>)> = query
                .build_query_as()
                .persistent(false)
                .fetch_all(pool)
                .await?;
            messages.extend(rows);
        }
        Ok(messages)
    }
}

/// Records that the claimed message was sent. `false` when the claim was no longer held (its
/// lease ran out and another worker took the row): then nothing is changed.
pub async fn mark_sent(
    conn: &mut Conn,
    claim: &Claimed,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(!mark_sent_many(conn, &[claim], now).await?.is_empty())
}

/// Records that the claimed messages were sent, in one statement; returns the ids recorded.
/// A claim no longer held (its lease ran out and another worker took the row) changes
/// nothing and is left out.
pub async fn mark_sent_many(
    conn: &mut Conn,
    claims: &[&Claimed],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let set = "SET state = 'sent', sent_at = $1, lease_until = NULL, holder = NULL, \
               last_error = NULL";
    let mut recorded = Vec::with_capacity(claims.len());
    for chunk in claims.chunks(HELD_AT_ONCE) {
        let sql = update_held(conn.backend(), set, 1, chunk.len()) + " RETURNING outbox.id";
        // Read to the end: the statement commits on its own (see `claim_many`).
        let ids: Vec<i64> = match conn.ready().await? {
            Driver::Sqlite(c) => {
                let query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(now);
                // Not kept prepared: its text changes with the number of claims.
                bind_held!(query, chunk)
                    .persistent(false)
                    .fetch_all(c)
                    .await
            }
            Driver::Postgres(c) => {
                let (ids, leases, holders) = held_arrays(chunk);
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(now)
                    .bind(ids)
                    .bind(leases)
                    .bind(holders)
                    .fetch_all(c)
                    .await
            }
        }?;
        recorded.extend(ids);
    }
    Ok(recorded)
}

/// Gives claims back unsent (rows claimed ahead whose lease would run out before their send
/// could end, or that a stopping worker did not start): each row is queued again as it was,
/// due when it was, the attempt its claim counted taken back. A claim no longer held changes
/// nothing. Returns how many were given back.
pub async fn release(conn: &mut Conn, claims: &[&Claimed]) -> Result<u64, StoreError> {
    let set = "SET state = 'queued', attempts = attempts - 1, lease_until = NULL, holder = NULL";
    let mut released = 0;
    for chunk in claims.chunks(HELD_AT_ONCE) {
        let sql = update_held(conn.backend(), set, 0, chunk.len());
        released += match conn.ready().await? {
            Driver::Sqlite(c) => {
                let query = sqlx::query(sqlx::AssertSqlSafe(sql));
                // Not kept prepared: its text changes with the number of claims.
                bind_held!(query, chunk)
                    .persistent(false)
                    .execute(c)
                    .await
                    .map(|done| done.rows_affected())
            }
            Driver::Postgres(c) => {
                let (ids, leases, holders) = held_arrays(chunk);
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(ids)
                    .bind(leases)
                    .bind(holders)
                    .execute(c)
                    .await
                    .map(|done| done.rows_affected())
            }
        }?;
    }
    Ok(released)
}

/// Claims matched by one statement at most: three placeholders a claim on SQLite, well inside
/// its limit of 32,766.
const HELD_AT_ONCE: usize = 500;

/// `UPDATE outbox {set}` of the rows still held by `n` claims: each row by its id, still
/// `sending` under the claim's lease and holder. The claims' parameters follow the `before`
/// parameters of `set`. On SQLite, three placeholders a claim ([`bind_held!`]), so the text
/// changes with `n` and is not kept prepared; on PostgreSQL three arrays ([`held_arrays`]),
/// one text whatever `n`: kept prepared and planned once, where a text of its own for each
/// number of claims was parsed and planned at every mark of a send (80 ms of planning in
/// `run --once` of 2,000 mails).
fn update_held(backend: Backend, set: &str, before: usize, n: usize) -> String {
    let at = |claim: usize, column: usize| format!("${}", before + 1 + 3 * claim + column);
    match backend {
        Backend::Sqlite => {
            // The ids again, alone, so that the rows are looked up by their key.
            let ids = (0..n).map(|i| at(i, 0)).collect::<Vec<_>>().join(", ");
            let held = (0..n)
                .map(|i| format!("({}, {}, {})", at(i, 0), at(i, 1), at(i, 2)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "UPDATE outbox {set} WHERE id IN ({ids}) AND state = 'sending' \
                 AND (id, lease_until, holder) IN (VALUES {held})"
            )
        }
        Backend::Postgres => format!(
            "UPDATE outbox {set} \
             FROM UNNEST({}::bigint[], {}::timestamptz[], {}::text[]) \
             AS held (id, lease_until, holder) \
             WHERE outbox.id = held.id AND outbox.state = 'sending' \
             AND outbox.lease_until = held.lease_until AND outbox.holder = held.holder",
            at(0, 0),
            at(0, 1),
            at(0, 2)
        ),
    }
}

/// Binds to `$query` each claim of `$claims`: its id, lease and holder (SQLite's
/// [`update_held`]).
macro_rules! bind_held {
    ($query:expr, $claims:expr) => {{
        let mut query = $query;
        for claim in $claims {
            query = query
                .bind(claim.id)
                .bind(claim.lease_until)
                .bind(&claim.holder);
        }
        query
    }};
}
use bind_held;

/// The ids, leases and holders of `claims`, as PostgreSQL's [`update_held`] takes them.
fn held_arrays(claims: &[&Claimed]) -> (Vec<i64>, Vec<DateTime<Utc>>, Vec<String>) {
    let ids = claims.iter().map(|c| c.id).collect();
    let leases = claims.iter().map(|c| c.lease_until).collect();
    let holders = claims.iter().map(|c| c.holder.clone()).collect();
    (ids, leases, holders)
}

/// Puts the claimed message back in the queue, due at `next_attempt_at`; `false` when the
/// claim was no longer held.
pub async fn mark_retry(
    conn: &mut Conn,
    claim: &Claimed,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> Result<bool, StoreError> {
    let done = on!(conn, |c| sqlx::query(
        "UPDATE outbox SET state = 'queued', next_attempt_at = $1, lease_until = NULL, \
         holder = NULL, last_error = $2 \
         WHERE id = $3 AND state = 'sending' AND lease_until = $4 AND holder = $5",
    )
    .bind(next_attempt_at)
    .bind(error)
    .bind(claim.id)
    .bind(claim.lease_until)
    .bind(&claim.holder)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Marks the claimed message failed for good; `false` when the claim was no longer held.
pub async fn mark_failed(
    conn: &mut Conn,
    claim: &Claimed,
    error: &str,
) -> Result<bool, StoreError> {
    let done = on!(conn, |c| {
        sqlx::query(
        "UPDATE outbox SET state = 'failed', lease_until = NULL, holder = NULL, last_error = $1 \
         WHERE id = $2 AND state = 'sending' AND lease_until = $3 AND holder = $4",
    )
    .bind(error)
    .bind(claim.id)
    .bind(claim.lease_until)
    .bind(&claim.holder)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(done == 1)
}

/// Puts a failed row back in the queue with a fresh count of attempts. It is due at once: its
/// next attempt is set to when it was first queued, which is in the past on every clock.
pub async fn requeue_failed(conn: &mut Conn, id: i64) -> Result<(), StoreError> {
    let moved = on!(conn, |c| sqlx::query(
        "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = created_at \
         WHERE id = $1 AND state = 'failed'",
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if moved == 1 {
        return Ok(());
    }
    let state: Option<String> = on!(conn, |c| sqlx::query_scalar(
        "SELECT state FROM outbox WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Err(match state {
        None => StoreError::NotFound(format!("there is no outbox message {id}")),
        Some(state) => StoreError::Conflict(format!(
            "outbox message {id} is {state}; only failed messages can be retried"
        )),
    })
}

/// When the worker next has something to do: the earliest queued row or expiring lease.
pub async fn next_due(conn: &mut Conn) -> Result<Option<DateTime<Utc>>, StoreError> {
    let queued: Option<DateTime<Utc>> = on!(conn, |c| sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'queued'"
    )
    .fetch_one(c)
    .await)?;
    let leased: Option<DateTime<Utc>> = on!(conn, |c| sqlx::query_scalar(
        "SELECT MIN(lease_until) FROM outbox WHERE state = 'sending'"
    )
    .fetch_one(c)
    .await)?;
    Ok(queued.into_iter().chain(leased).min())
}

/// A process that sends, as `outbox_holder` records it: who holds the rows it claims.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Holder {
    /// Random, one per process (per `App`).
    pub id: String,
    /// The host name, for people reading the table.
    pub host: String,
    /// The kernel boot and PID namespace `pid` is a process of; `None` where unknown. Only a
    /// holder in the same space can tell by the pid whether another is gone.
    pub pid_space: Option<String>,
    pub pid: i64,
    /// When that pid started (in the kernel's ticks since boot), so a reused pid is not taken
    /// for the holder.
    pub pid_started: Option<i64>,
    pub started_at: DateTime<Utc>,
}

/// Registers `holder`, or refreshes its heartbeat.
pub async fn heartbeat(
    conn: &mut Conn,
    holder: &Holder,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO outbox_holder (id, host, pid_space, pid, pid_started, started_at, heartbeat_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    )
    .bind(&holder.id)
    .bind(&holder.host)
    .bind(&holder.pid_space)
    .bind(holder.pid)
    .bind(holder.pid_started)
    .bind(holder.started_at)
    .bind(now)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The holders registered in `pid_space` (where the caller can look their pids up).
pub async fn holders_in(conn: &mut Conn, pid_space: &str) -> Result<Vec<Holder>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, host, pid_space, pid, pid_started, started_at FROM outbox_holder \
         WHERE pid_space = $1",
    )
    .bind(pid_space)
    .fetch_all(c)
    .await)?)
}

/// Forgets a holder found gone: the rows it holds in `sending` can be claimed at once.
pub async fn forget_holder(conn: &mut Conn, id: &str) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "DELETE FROM outbox_holder WHERE id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Refreshes the heartbeat of holder `id`, found alive by another process of its PID space,
/// where it is older than `older_than` (a live process whose own heartbeat stalls, say on a
/// locked database, keeps what it holds).
pub async fn vouch_for_holder(
    conn: &mut Conn,
    id: &str,
    now: DateTime<Utc>,
    older_than: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "UPDATE outbox_holder SET heartbeat_at = $2 WHERE id = $1 AND heartbeat_at < $3"
    )
    .bind(id)
    .bind(now)
    .bind(older_than)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets every holder silent since `before` (housekeeping: one row is added per process
/// start; a holder that beats again registers again).
pub async fn forget_silent_holders(
    conn: &mut Conn,
    before: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "DELETE FROM outbox_holder WHERE heartbeat_at < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The rows `holder` holds in `sending` (id and recipient): what a stopping daemon leaves.
pub async fn held_by(conn: &mut Conn, holder: &str) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, recipient FROM outbox WHERE state = 'sending' AND holder = $1 ORDER BY id",
    )
    .bind(holder)
    .fetch_all(c)
    .await)?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub natural_key: String,
    pub message_id: String,
    pub kind: String,
    pub engagement_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn list(conn: &mut Conn) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT id, natural_key, message_id, kind, engagement_id, recipient, subject, state, attempts, \
         next_attempt_at, last_error, created_at, sent_at FROM outbox ORDER BY id",
    )
    .fetch_all(c)
    .await
    })?)
}

/// The highest outbox id so far (0 for none): a mark before queueing, for [`after`].
pub async fn last_id(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT COALESCE(MAX(id), 0) FROM outbox"
    )
    .fetch_one(c)
    .await)?)
}

/// The message queued under `natural_key`, if any.
pub async fn by_key(conn: &mut Conn, natural_key: &str) -> Result<Option<OutboxRow>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT id, natural_key, message_id, kind, engagement_id, recipient, subject, state, attempts, \
         next_attempt_at, last_error, created_at, sent_at FROM outbox WHERE natural_key = $1",
    )
    .bind(natural_key)
    .fetch_optional(c)
    .await
    })?)
}

/// The messages queued after the mark `id` (see [`last_id`]), oldest first: what a command
/// queued, to say what became of each.
pub async fn after(conn: &mut Conn, id: i64) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT id, natural_key, message_id, kind, engagement_id, recipient, subject, state, attempts, \
         next_attempt_at, last_error, created_at, sent_at FROM outbox WHERE id > $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(c)
    .await
    })?)
}

/// A message tandem sent that a reply names, by Message-ID or by token.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Sent {
    pub id: i64,
    pub message_id: String,
    pub kind: String,
    pub engagement_id: Option<i64>,
    /// Every address it went to, comma-separated.
    pub recipient: String,
    pub token: Option<String>,
    pub survey_id: Option<i64>,
    pub natural_key: String,
}

impl Sent {
    /// Whether `address` is one the mail was sent to: only its recipients are trusted to
    /// answer it.
    pub fn was_sent_to(&self, address: &str) -> bool {
        self.recipient
            .split(',')
            .any(|r| r.trim().eq_ignore_ascii_case(address))
    }
}

/// How many ids and tokens [`find_sent`] tries at most: a sender chooses how many a message
/// names, and each is a query.
pub const MAX_LOOKUPS: usize = 256;

/// The lookups of [`find_sent`], in its order: `message_ids` (the caller puts In-Reply-To
/// first, then References from the newest), then `tokens` (marked `true`); at most
/// [`MAX_LOOKUPS`] of them.
fn lookups<'a>(
    message_ids: &'a [String],
    tokens: &'a [String],
) -> impl Iterator<Item = (&'a String, bool)> {
    message_ids
        .iter()
        .map(|id| (id, false))
        .chain(tokens.iter().map(|token| (token, true)))
        .take(MAX_LOOKUPS)
}

/// The first message found, trying `message_ids` in order (the caller puts In-Reply-To first,
/// then References from the newest), then `tokens`; at most [`MAX_LOOKUPS`] of them.
pub async fn find_sent(
    conn: &mut Conn,
    message_ids: &[String],
    tokens: &[String],
) -> Result<Option<Sent>, StoreError> {
    let named = Named::read(conn, [(message_ids, tokens)]).await?;
    Ok(named.find(message_ids, tokens))
}

/// What [`find_sent`] finds for the messages of a write transaction, read for them all in
/// one statement (a few for many): [`Named::find`] answers as `find_sent` would, without a
/// statement a message.
///
/// It holds while the transaction that read it holds the write lock, for the rows there were
/// then. A row queued since has a Message-ID and a token drawn at random as it was queued
/// ([`crate::outbound::message::new_message_id`], [`crate::outbound::message::new_token`]):
/// no message fetched before can name it.
#[derive(Debug, Default)]
pub struct Named {
    by_id: HashMap<String, Sent>,
    by_token: HashMap<String, Sent>,
}

impl Named {
    /// Reads the rows that the lookups of `messages` (each its Message-IDs and tokens, as
    /// [`find_sent`] takes them) name.
    pub async fn read<'a>(
        conn: &mut Conn,
        messages: impl IntoIterator<Item = (&'a [String], &'a [String])>,
    ) -> Result<Self, StoreError> {
        let (mut ids, mut tokens) = (Vec::new(), Vec::new());
        for (message_ids, message_tokens) in messages {
            for (value, by_token) in lookups(message_ids, message_tokens) {
                match by_token {
                    false => ids.push(value.as_str()),
                    true => tokens.push(value.as_str()),
                }
            }
        }
        let mut named = Named::default();
        for (mut values, by_token) in [(ids, false), (tokens, true)] {
            values.sort_unstable();
            values.dedup();
            let column = if by_token { "token" } else { "message_id" };
            for chunk in values.chunks(500) {
                let rows: Vec<Sent> = on!(conn, |c, Db| {
                    let mut query = sqlx::QueryBuilder::<Db>::new(
                        "SELECT id, message_id, kind, engagement_id, recipient, token, \
                         survey_id, natural_key FROM outbox WHERE ",
                    );
                    query.push(column).push(" IN (");
                    let mut list = query.separated(", ");
                    for value in chunk {
                        list.push_bind(*value);
                    }
                    query.push(")");
                    // The text changes with the number of values: not kept prepared.
                    query.build_query_as().persistent(false).fetch_all(c).await
                })?;
                for row in rows {
                    let (map, key) = match by_token {
                        false => (&mut named.by_id, Some(row.message_id.clone())),
                        true => (&mut named.by_token, row.token.clone()),
                    };
                    if let Some(key) = key {
                        map.insert(key, row);
                    }
                }
            }
        }
        Ok(named)
    }

    /// [`find_sent`]'s answer for one message, from what was read.
    pub fn find(&self, message_ids: &[String], tokens: &[String]) -> Option<Sent> {
        lookups(message_ids, tokens)
            .find_map(|(value, by_token)| match by_token {
                false => self.by_id.get(value),
                true => self.by_token.get(value),
            })
            .cloned()
    }
}

/// The natural keys of an engagement's mail, with when each was queued: what the scheduler has
/// done already.
pub async fn keys_of_engagement(
    conn: &mut Conn,
    engagement_id: i64,
) -> Result<std::collections::HashMap<String, DateTime<Utc>>, StoreError> {
    let rows: Vec<(String, DateTime<Utc>)> = on!(conn, |c| sqlx::query_as(
        "SELECT natural_key, created_at FROM outbox WHERE engagement_id = $1"
    )
    .bind(engagement_id)
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().collect())
}

/// Whether a mail with this natural key was queued (and perhaps sent) already.
pub async fn is_queued(conn: &mut Conn, natural_key: &str) -> Result<bool, StoreError> {
    let id: Option<i64> = on!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM outbox WHERE natural_key = $1"
    )
    .bind(natural_key)
    .fetch_optional(c)
    .await)?;
    Ok(id.is_some())
}

/// Outbox rows per state, for `tandem status` and `/metrics` (`outbox_due` covers `state`).
pub async fn depth(conn: &mut Conn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state"
    )
    .fetch_all(c)
    .await)?)
}

/// When the message that has waited longest for its send became due (`queued` and due by
/// `now`), if any.
pub async fn oldest_due(
    conn: &mut Conn,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'queued' AND next_attempt_at <= $1"
    )
    .bind(now)
    .fetch_one(c)
    .await)?)
}

/// A registered holder and its last heartbeat.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Registered {
    #[sqlx(flatten)]
    pub holder: Holder,
    pub heartbeat_at: DateTime<Utc>,
}

/// Every registered holder with its last heartbeat: the daemons running (or gone without a
/// goodbye), for `tandem status`.
pub async fn holders(conn: &mut Conn) -> Result<Vec<Registered>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, host, pid_space, pid, pid_started, started_at, heartbeat_at \
         FROM outbox_holder ORDER BY heartbeat_at DESC"
    )
    .fetch_all(c)
    .await)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(follows: &[&str]) -> Row {
        NewOutbound {
            natural_key: "receipt:1",
            message_id: "<r1@agency.example>",
            kind: "receipt",
            engagement_id: Some(1),
            recipient: "sam@va.example",
            subject: "Re: Hours",
            token: None,
            survey_id: None,
            raw: b"",
            follows: &follows.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        }
        .row(7, DateTime::<Utc>::UNIX_EPOCH)
    }

    fn text<const N: usize>(backend: Backend, rows: [Row; N]) -> String {
        match backend {
            Backend::Sqlite => {
                let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
                push_rows!(query, rows, true, backend);
                query.into_string()
            }
            Backend::Postgres => {
                let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
                push_rows!(query, rows, true, backend);
                query.into_string()
            }
        }
    }

    #[test]
    fn the_insert_is_one_text_for_a_number_of_rows_whatever_they_follow() {
        let none = text(Backend::Sqlite, [row(&[]), row(&[])]);
        let some = text(
            Backend::Sqlite,
            [row(&["<a@x>"]), row(&["<a@x>", "<b@x>", "<c@x>"])],
        );
        assert_eq!(none, some);
        assert_ne!(none, text(Backend::Sqlite, [row(&[])]));
        // One subquery finds what each row follows, however many rows.
        assert_eq!(some.matches("SELECT").count(), 2, "{some}");
        // On PostgreSQL too: what a row follows is one parameter, each of its Message-IDs
        // looked up by itself (by the `message_id` index), in one subquery for all the rows.
        let none = text(Backend::Postgres, [row(&[]), row(&[])]);
        let some = text(
            Backend::Postgres,
            [row(&["<a@x>"]), row(&["<a@x>", "<b@x>", "<c@x>"])],
        );
        assert_eq!(none, some);
        assert!(
            some.contains("WHERE o.message_id = m.message_id OFFSET 0"),
            "{some}"
        );
        assert_eq!(some.matches("SELECT").count(), 3, "{some}");
    }

    #[test]
    fn what_a_row_follows_is_one_json_list_or_null() {
        assert_eq!(follows_list(&[]), None);
        assert_eq!(
            follows_list(&["<a@x>".to_string(), "<\"b\"@x>".to_string()]).as_deref(),
            Some(r#"["<a@x>","<\"b\"@x>"]"#)
        );
    }
}
