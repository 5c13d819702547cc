//! The daemon's own health per component: when it last worked, and what went wrong since; and
//! which templates a start checked last (`template_check`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::on;
use super::{Conn, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Health {
    pub component: String,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub error_count: i64,
}

pub async fn record_ok(
    conn: &mut Conn,
    component: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO health (component, last_ok_at) VALUES ($1, $2) \
         ON CONFLICT (component) DO UPDATE SET last_ok_at = excluded.last_ok_at",
    )
    .bind(component)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether a start checked the templates of `digest` before (see
/// `templates::Templates::digest`).
pub async fn templates_checked(conn: &mut Conn, digest: &str) -> Result<bool, StoreError> {
    let found: i64 = on!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM template_check WHERE digest = $1"
    )
    .bind(digest)
    .fetch_one(c)
    .await)?;
    Ok(found > 0)
}

/// Records that the templates of `digest` were checked at `now`, in place of those checked
/// before.
pub async fn record_templates_checked(
    conn: &mut Conn,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "DELETE FROM template_check WHERE digest <> $1"
    )
    .bind(digest)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on!(conn, |c| sqlx::query(
        "INSERT INTO template_check (digest, checked_at) VALUES ($1, $2) \
         ON CONFLICT (digest) DO UPDATE SET checked_at = excluded.checked_at",
    )
    .bind(digest)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A failed step of a component, at the time it failed (written later when the database
/// refused it then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub component: String,
    pub error: String,
    pub at: DateTime<Utc>,
}

/// Records `failure` at its own time. The `health` row keeps the latest error: a failure
/// written late, after a newer one, counts but does not replace it.
pub async fn record_failure(conn: &mut Conn, failure: &Failure) -> Result<(), StoreError> {
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO health (component, last_error_at, last_error, error_count) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (component) DO UPDATE SET \
         last_error = CASE WHEN health.last_error_at IS NULL OR health.last_error_at <= excluded.last_error_at \
                           THEN excluded.last_error ELSE health.last_error END, \
         last_error_at = CASE WHEN health.last_error_at IS NULL OR health.last_error_at <= excluded.last_error_at \
                              THEN excluded.last_error_at ELSE health.last_error_at END, \
         error_count = health.error_count + 1",
    )
    .bind(&failure.component)
    .bind(failure.at)
    .bind(&failure.error)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    on!(conn, |c| sqlx::query(
        "INSERT INTO health_event (component, at, error) VALUES ($1, $2, $3)"
    )
    .bind(&failure.component)
    .bind(failure.at)
    .bind(&failure.error)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records an error of `component` at `now`.
pub async fn record_error(
    conn: &mut Conn,
    component: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    record_failure(
        conn,
        &Failure {
            component: component.to_string(),
            error: error.to_string(),
            at: now,
        },
    )
    .await
}

/// Errors per component since `since`.
pub async fn errors_since(
    conn: &mut Conn,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT component, COUNT(*) FROM health_event WHERE at > $1 GROUP BY component",
    )
    .bind(since)
    .fetch_all(c)
    .await)?)
}

pub async fn all(conn: &mut Conn) -> Result<Vec<Health>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT component, last_ok_at, last_error_at, last_error, error_count FROM health ORDER BY component",
    )
    .fetch_all(c)
    .await
    })?)
}
