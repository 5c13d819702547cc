//! The inbound audit trail: one row per message read, keyed so that no message is recorded,
//! or acted on, twice.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::on;
use super::{Conn, StoreError};
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

/// Records a message. Returns its new row id, or `None` when a message with the same key has
/// been recorded before (then nothing is written and nothing may be acted on).
pub async fn record(
    conn: &mut Conn,
    new: &NewInbound<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "INSERT INTO inbound_message (dedupe_key, message_id, source, from_addr, subject, sent_at, \
         classification, reason, disposition, size_bytes, received_at, content_hash, \
         auth_verdict, authentication) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(new.dedupe_key)
    .bind(new.message_id)
    .bind(new.source)
    .bind(new.from_addr)
    .bind(new.subject)
    .bind(new.sent_at)
    .bind(new.classification.as_str())
    .bind(new.reason)
    .bind(new.disposition.as_str())
    .bind(new.size_bytes as i64)
    .bind(now)
    .bind(new.content_hash)
    .bind(new.authentication.map(|a| a.verdict.as_str()))
    .bind(
        new.authentication
            .map(|a| serde_json::to_string(a).unwrap_or_default()),
    )
    .fetch_optional(c)
    .await)?)
}

/// A recorded message, as a copy seen again is compared with it and filed where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub disposition: Disposition,
    /// None for rows written before content hashes were kept.
    pub content_hash: Option<String>,
}

/// The message recorded under `dedupe_key`, if any.
pub async fn seen(conn: &mut Conn, dedupe_key: &str) -> Result<Option<Seen>, StoreError> {
    let row: Option<(String, Option<String>)> = on!(conn, |c| sqlx::query_as(
        "SELECT disposition, content_hash FROM inbound_message WHERE dedupe_key = $1",
    )
    .bind(dedupe_key)
    .fetch_optional(c)
    .await)?;
    row.map(|(disposition, content_hash)| {
        Ok(Seen {
            disposition: Disposition::parse(&disposition).ok_or_else(|| {
                StoreError::Corrupt(format!("inbound disposition '{disposition}'"))
            })?,
            content_hash,
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
pub async fn clear_attempts(conn: &mut Conn, dedupe_keys: &[&str]) -> Result<(), StoreError> {
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
