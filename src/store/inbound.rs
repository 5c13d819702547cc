//! The inbound audit trail: one row per message read, keyed so that no message is recorded,
//! or acted on, twice.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Conn, StoreError, Table};
use super::{on, on_unkept};
use crate::domain::{Classification, Disposition};
use crate::inbound::auth::Authentication;

#[derive(Debug, Clone)]
pub struct NewInbound<'a> {
    /// The Message-ID, or `sha256:<hex>` of the raw bytes for mail without one.
    pub dedupe_key: &'a str,
    pub message_id: Option<&'a str>,
    /// Where it was read from (`maildir:FILE`), for the operator.
    pub source: &'a str,
    pub from_addr: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub sent_at: Option<DateTime<Utc>>,
    pub classification: Classification,
    pub reason: &'a str,
    pub disposition: Disposition,
    pub size_bytes: usize,
    /// What the message is apart from its Message-ID (see `Incoming::content_hash`).
    pub content_hash: Option<&'a str>,
    /// The verdict on its sender, when the policy is not "off".
    pub authentication: Option<&'a Authentication>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboundRow {
    pub id: i64,
    pub dedupe_key: String,
    pub message_id: Option<String>,
    pub source: String,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub classification: String,
    pub reason: String,
    pub disposition: String,
    pub size_bytes: i64,
    pub received_at: DateTime<Utc>,
}

/// A row of `inbound_message` to write, owned: what [`record`] writes at once, and a
/// transaction that writes later keeps (with the id taken for it).
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) dedupe_key: String,
    pub(super) message_id: Option<String>,
    pub(super) source: String,
    pub(super) from_addr: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) sent_at: Option<DateTime<Utc>>,
    pub(super) classification: &'static str,
    pub(super) reason: String,
    pub(super) disposition: &'static str,
    pub(super) size_bytes: i64,
    pub(super) received_at: DateTime<Utc>,
    pub(super) content_hash: Option<String>,
    pub(super) auth_verdict: Option<&'static str>,
    pub(super) authentication: Option<String>,
}

impl NewInbound<'_> {
    /// The row, under `id` (unused when the database gives it).
    fn row(&self, id: i64, now: DateTime<Utc>) -> Row {
        Row {
            id,
            dedupe_key: self.dedupe_key.to_string(),
            message_id: self.message_id.map(str::to_string),
            source: self.source.to_string(),
            from_addr: self.from_addr.map(str::to_string),
            subject: self.subject.map(str::to_string),
            sent_at: self.sent_at,
            classification: self.classification.as_str(),
            reason: self.reason.to_string(),
            disposition: self.disposition.as_str(),
            size_bytes: self.size_bytes as i64,
            received_at: now,
            content_hash: self.content_hash.map(str::to_string),
            auth_verdict: self.authentication.map(|a| a.verdict.as_str()),
            authentication: self
                .authentication
                .map(|a| serde_json::to_string(a).unwrap_or_default()),
        }
    }
}

/// Pushes `INSERT INTO inbound_message ... VALUES` of `$rows` (owned [`Row`]s: their texts go
/// into the statement's arguments as they are, not copied) to the `QueryBuilder` `$query`,
/// with their ids when `$with_id` (else the database gives them).
macro_rules! push_rows {
    ($query:ident, $rows:expr, $with_id:expr) => {
        $query.push(if $with_id {
            "INSERT INTO inbound_message (id, "
        } else {
            "INSERT INTO inbound_message ("
        });
        $query.push(
            "dedupe_key, message_id, source, from_addr, subject, sent_at, classification, \
             reason, disposition, size_bytes, received_at, content_hash, auth_verdict, \
             authentication) ",
        );
        $query.push_values($rows, |mut row, r: $crate::store::inbound::Row| {
            if $with_id {
                row.push_bind(r.id);
            }
            row.push_bind(r.dedupe_key)
                .push_bind(r.message_id)
                .push_bind(r.source)
                .push_bind(r.from_addr)
                .push_bind(r.subject)
                .push_bind(r.sent_at)
                .push_bind(r.classification)
                .push_bind(r.reason)
                .push_bind(r.disposition)
                .push_bind(r.size_bytes)
                .push_bind(r.received_at)
                .push_bind(r.content_hash)
                .push_bind(r.auth_verdict)
                .push_bind(r.authentication);
        });
    };
}
pub(super) use push_rows;

/// Records a message. Returns its new row id, or `None` when a message with the same key has
/// been recorded before (then nothing is written and nothing may be acted on).
pub async fn record(
    conn: &mut Conn,
    new: &NewInbound<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let rows = [new.row(0, now)];
    Ok(on!(conn, |c, Db| {
        let mut query = sqlx::QueryBuilder::<Db>::new("");
        push_rows!(query, rows, false);
        query.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id");
        query.build_query_scalar().fetch_optional(c).await
    })?)
}

/// Records a message that has no row (the caller looked, in this transaction): in a
/// transaction that writes later ([`Conn::write_later`]), the row is kept and written with the
/// others; else as [`record`] does. Returns its id.
pub async fn record_new(
    conn: &mut Conn,
    new: &NewInbound<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let Some((id, later)) = conn.later_id(Table::Inbound).await? else {
        return record(conn, new, now).await;
    };
    later.inbound(new.row(id, now));
    Ok(Some(id))
}

/// A recorded message, as a copy seen again is compared with it and filed where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub disposition: Disposition,
    /// None for rows written before content hashes were kept.
    pub content_hash: Option<String>,
    /// Its sender, subject and `Date:` as recorded.
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The message recorded under `dedupe_key`, if any.
pub async fn seen(conn: &mut Conn, dedupe_key: &str) -> Result<Option<Seen>, StoreError> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> = on!(conn, |c| sqlx::query_as(
        "SELECT disposition, content_hash, from_addr, subject, sent_at FROM inbound_message \
         WHERE dedupe_key = $1",
    )
    .bind(dedupe_key)
    .fetch_optional(c)
    .await)?;
    row.map(|(disposition, content_hash, from_addr, subject, sent_at)| {
        Ok(Seen {
            disposition: Disposition::parse(&disposition).ok_or_else(|| {
                StoreError::Corrupt(format!("inbound disposition '{disposition}'"))
            })?,
            content_hash,
            from_addr,
            subject,
            sent_at,
        })
    })
    .transpose()
}

/// Which of `dedupe_keys` have a row (one statement per 500 keys).
pub async fn recorded_keys(
    conn: &mut Conn,
    dedupe_keys: &[String],
) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    for keys in dedupe_keys.chunks(500) {
        let rows: Vec<(String,)> = on!(conn, |c, Db| {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT dedupe_key FROM inbound_message WHERE dedupe_key IN (",
            );
            let mut list = query.separated(", ");
            for key in keys {
                list.push_bind(key.as_str());
            }
            query.push(")");
            query.build_query_as().fetch_all(c).await
        })?;
        found.extend(rows.into_iter().map(|(key,)| key));
    }
    Ok(found)
}

/// Notes that handling the message under `dedupe_key` failed; returns how often it has now.
pub async fn failed_attempt(
    conn: &mut Conn,
    dedupe_key: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let attempts: i64 = on!(conn, |c| sqlx::query_scalar(
        "INSERT INTO inbound_attempt (dedupe_key, attempts, last_error, last_at) \
         VALUES ($1, 1, $2, $3) \
         ON CONFLICT (dedupe_key) DO UPDATE SET attempts = inbound_attempt.attempts + 1, \
         last_error = excluded.last_error, last_at = excluded.last_at RETURNING attempts",
    )
    .bind(dedupe_key)
    .bind(error)
    .bind(now)
    .fetch_one(c)
    .await)?;
    Ok(attempts.clamp(0, i64::from(u32::MAX)) as u32)
}

/// Forgets the failed attempts of messages once they are recorded (one statement for a batch).
/// Nearly always there are none (a message's failure leaves a row, its success clears it):
/// the table is looked at first, and the statement, whose text is new for each number of
/// keys, is prepared only when it holds any.
pub async fn clear_attempts(conn: &mut Conn, dedupe_keys: &[&str]) -> Result<(), StoreError> {
    if dedupe_keys.is_empty() {
        return Ok(());
    }
    let any: bool = on_unkept!(conn, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbound_attempt)"
    )
    .fetch_one(c)
    .await)?;
    if !any {
        return Ok(());
    }
    for keys in dedupe_keys.chunks(500) {
        let placeholders = (1..=keys.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("DELETE FROM inbound_attempt WHERE dedupe_key IN ({placeholders})");
        on!(conn, |c| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for key in keys {
                query = query.bind(*key);
            }
            query.execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

pub async fn list(conn: &mut Conn) -> Result<Vec<InboundRow>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, dedupe_key, message_id, source, from_addr, subject, sent_at, classification, \
         reason, disposition, size_bytes, received_at FROM inbound_message ORDER BY id",
    )
    .fetch_all(c)
    .await)?)
}

/// A message filed for a person (attention or quarantine), with what the operator did with
/// it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FiledRow {
    pub id: i64,
    pub message_id: Option<String>,
    /// Where it was read from: the mailbox and the message's name in it.
    pub source: String,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub classification: String,
    /// Why it was filed.
    pub reason: String,
    pub disposition: String,
    pub size_bytes: i64,
    pub received_at: DateTime<Utc>,
    /// `done` (attention) or `released` (quarantine), once the operator has.
    pub handled: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
}

const FILED: &str = "SELECT m.id, m.message_id, m.source, m.from_addr, m.subject, m.sent_at, \
     m.classification, m.reason, m.disposition, m.size_bytes, m.received_at, \
     h.action AS handled, h.handled_at \
     FROM inbound_message m LEFT JOIN inbound_handled h ON h.inbound_id = m.id";

/// The messages filed as `disposition`, oldest first: those still open, or all with `all`.
pub async fn filed(
    conn: &mut Conn,
    disposition: Disposition,
    all: bool,
) -> Result<Vec<FiledRow>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!("{FILED} WHERE m.disposition = $1 AND ($2 OR h.inbound_id IS NULL) ORDER BY m.id")
    ))
    .bind(disposition.as_str())
    .bind(all)
    .fetch_all(c)
    .await)?)
}

/// One message filed as `disposition`; another message, or none, is refused naming where to
/// look.
pub async fn filed_one(
    conn: &mut Conn,
    disposition: Disposition,
    id: i64,
) -> Result<FiledRow, StoreError> {
    let row: Option<FiledRow> = on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{FILED} WHERE m.id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let noun = match disposition {
        Disposition::Attention => "attention",
        Disposition::Quarantine => "quarantine",
        Disposition::Processed => "processed",
    };
    match row {
        None => Err(StoreError::NotFound(format!(
            "there is no message {id} (see `tandem {noun} list`)"
        ))),
        Some(row) if row.disposition != disposition.as_str() => Err(StoreError::NotFound(format!(
            "message {id} is not in {noun}: it was filed as {} (see `tandem {noun} list`)",
            row.disposition
        ))),
        Some(row) => Ok(row),
    }
}

/// Records that the operator dealt with a filed message (`done` or `released`); refused when
/// it was dealt with before. A released message gives up its key (`released:ID:KEY`) and its
/// failed attempts, so that the reader records it afresh when it reads it again.
pub async fn handle(
    conn: &mut Conn,
    disposition: Disposition,
    id: i64,
    action: &str,
    now: DateTime<Utc>,
) -> Result<FiledRow, StoreError> {
    let row = filed_one(conn, disposition, id).await?;
    if let Some(done) = &row.handled {
        return Err(StoreError::Conflict(format!(
            "message {id} was {done} already{}",
            row.handled_at
                .map(|at| format!(" ({})", at.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default()
        )));
    }
    let inserted = on!(conn, |c| sqlx::query(
        "INSERT INTO inbound_handled (inbound_id, action, handled_at) VALUES ($1, $2, $3) \
         ON CONFLICT (inbound_id) DO NOTHING",
    )
    .bind(id)
    .bind(action)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "message {id} was dealt with meanwhile"
        )));
    }
    if action == "released" {
        let key: String = on!(conn, |c| sqlx::query_scalar(
            "SELECT dedupe_key FROM inbound_message WHERE id = $1"
        )
        .bind(id)
        .fetch_one(c)
        .await)?;
        on!(conn, |c| sqlx::query(
            "UPDATE inbound_message SET dedupe_key = $1 WHERE id = $2"
        )
        .bind(format!("released:{id}:{key}"))
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        on!(conn, |c| sqlx::query(
            "DELETE FROM inbound_attempt WHERE dedupe_key = $1"
        )
        .bind(&key)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(row)
}
