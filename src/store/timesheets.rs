//! Monthly timesheets (issue 18): one row per engagement and month, from its first send on,
//! with the client's answer. See `migrations/sqlite/0014_timesheet.sql`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Conn, StoreError};
use super::{on, on_unkept};
use crate::domain::{TimesheetFact, TimesheetLine};

/// A timesheet as stored, with who it is about.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Timesheet {
    pub id: i64,
    pub engagement_id: i64,
    pub client_tag: String,
    pub assistant_name: String,
    pub month: String,
    /// `sent`, `approved` or `disputed`.
    pub status: String,
    pub minutes: i64,
    pub amount_cents: Option<i64>,
    pub recipient: String,
    pub sends: i64,
    pub sent_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_by: Option<String>,
    pub approved_minutes: Option<i64>,
    pub approved_cents: Option<i64>,
    pub dispute: Option<String>,
    pub locked: bool,
}

const SELECT: &str = "SELECT t.id, t.engagement_id, c.tag AS client_tag, a.name AS assistant_name, \
     t.month, t.status, t.minutes, t.amount_cents, t.recipient, t.sends, t.sent_at, \
     t.answered_at, t.answered_by, t.approved_minutes, t.approved_cents, t.dispute, t.locked \
     FROM timesheet t JOIN engagement e ON e.id = t.engagement_id \
     JOIN assistant a ON a.id = e.assistant_id JOIN client c ON c.id = e.client_id";

/// The timesheet of an engagement's month, if one was sent or approved.
pub async fn get(
    conn: &mut Conn,
    engagement_id: i64,
    month: &str,
) -> Result<Option<Timesheet>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!("{SELECT} WHERE t.engagement_id = $1 AND t.month = $2")
    ))
    .bind(engagement_id)
    .bind(month)
    .fetch_optional(c)
    .await)?)
}

/// Every timesheet, the newest month first.
pub async fn list(conn: &mut Conn) -> Result<Vec<Timesheet>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!("{SELECT} ORDER BY t.month DESC, t.engagement_id")
    ))
    .fetch_all(c)
    .await)?)
}

/// The timesheets that need a person, for the digest: disputed ones, and those sent before
/// `overdue_before` and still unanswered.
pub async fn open(
    conn: &mut Conn,
    overdue_before: DateTime<Utc>,
) -> Result<Vec<Timesheet>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!(
            "{SELECT} WHERE t.status = 'disputed' OR (t.status = 'sent' AND t.sent_at < $1) \
         ORDER BY t.month, t.engagement_id"
        )
    ))
    .bind(overdue_before)
    .fetch_all(c)
    .await)?)
}

/// What the schedule knows of an engagement's timesheets.
pub async fn facts(conn: &mut Conn, engagement_id: i64) -> Result<Vec<TimesheetFact>, StoreError> {
    let rows: Vec<(String, String, DateTime<Utc>)> = on!(conn, |c| sqlx::query_as(
        "SELECT month, status, sent_at FROM timesheet WHERE engagement_id = $1 ORDER BY month"
    )
    .bind(engagement_id)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(month, status, sent_at)| TimesheetFact {
            month,
            status,
            sent_at,
        })
        .collect())
}

/// The engagement's logged (not void) entries from `from` to `to`, by date.
pub async fn lines(
    conn: &mut Conn,
    engagement_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<TimesheetLine>, StoreError> {
    let rows: Vec<(NaiveDate, i64, String)> = on!(conn, |c| sqlx::query_as(
        "SELECT work_date, minutes, description FROM time_entry \
         WHERE engagement_id = $1 AND status = 'logged' AND work_date >= $2 AND work_date <= $3 \
         ORDER BY work_date, id"
    )
    .bind(engagement_id)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(date, minutes, description)| TimesheetLine {
            date,
            minutes,
            description,
        })
        .collect())
}

/// What a sent timesheet showed.
#[derive(Debug, Clone)]
pub struct Sent<'a> {
    pub engagement_id: i64,
    pub month: &'a str,
    pub minutes: i64,
    pub amount_cents: Option<i64>,
    pub recipient: &'a str,
}

/// Records a send: the first makes the row, a later one (the operator's resend) replaces what
/// it showed and asks again (the status goes back to `sent`, the answer is cleared). Returns
/// which send this is (1 for the first). An approved month is not sent again: the caller
/// checks under the write lock.
pub async fn record_sent(
    conn: &mut Conn,
    sent: &Sent<'_>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "INSERT INTO timesheet (engagement_id, month, status, minutes, amount_cents, recipient, \
         sends, sent_at) VALUES ($1, $2, 'sent', $3, $4, $5, 1, $6) \
         ON CONFLICT (engagement_id, month) DO UPDATE SET status = 'sent', \
         minutes = excluded.minutes, amount_cents = excluded.amount_cents, \
         recipient = excluded.recipient, sends = timesheet.sends + 1, sent_at = excluded.sent_at, \
         answered_at = NULL, answered_by = NULL, dispute = NULL, inbound_id = NULL \
         RETURNING sends"
    )
    .bind(sent.engagement_id)
    .bind(sent.month)
    .bind(sent.minutes)
    .bind(sent.amount_cents)
    .bind(sent.recipient)
    .bind(now)
    .fetch_one(c)
    .await)?)
}

/// An approval: who, the totals approved, whether it locks the month.
#[derive(Debug, Clone)]
pub struct Approval<'a> {
    pub engagement_id: i64,
    pub month: &'a str,
    /// The address that approved, or `operator`.
    pub by: &'a str,
    pub minutes: i64,
    pub amount_cents: Option<i64>,
    pub inbound_id: Option<i64>,
    pub lock: bool,
}

/// Records an approval; `false` when the month was approved already (nothing changes then).
/// A month never sent (approved by the operator) gets its row here, with these totals.
pub async fn approve(
    conn: &mut Conn,
    approval: &Approval<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed: Vec<i64> = on!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO timesheet (engagement_id, month, status, minutes, amount_cents, recipient, \
         sends, sent_at, answered_at, answered_by, approved_minutes, approved_cents, inbound_id, \
         locked) VALUES ($1, $2, 'approved', $3, $4, $5, 0, $6, $6, $5, $3, $4, $7, $8) \
         ON CONFLICT (engagement_id, month) DO UPDATE SET status = 'approved', \
         answered_at = excluded.answered_at, answered_by = excluded.answered_by, \
         approved_minutes = timesheet.minutes, approved_cents = timesheet.amount_cents, \
         inbound_id = excluded.inbound_id, locked = excluded.locked \
         WHERE timesheet.status <> 'approved' RETURNING id"
    )
    .bind(approval.engagement_id)
    .bind(approval.month)
    .bind(approval.minutes)
    .bind(approval.amount_cents)
    .bind(approval.by)
    .bind(now)
    .bind(approval.inbound_id)
    .bind(approval.lock)
    .fetch_all(c)
    .await
    })?;
    Ok(!changed.is_empty())
}

/// Marks a sent timesheet disputed, with the client's words; `false` when it is approved (an
/// approval stands until the operator changes it) or was never sent.
pub async fn dispute(
    conn: &mut Conn,
    engagement_id: i64,
    month: &str,
    by: &str,
    words: &str,
    inbound_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed: Vec<i64> = on!(conn, |c| sqlx::query_scalar(
        "UPDATE timesheet SET status = 'disputed', answered_at = $3, answered_by = $4, \
         dispute = $5, inbound_id = $6 \
         WHERE engagement_id = $1 AND month = $2 AND status <> 'approved' RETURNING id"
    )
    .bind(engagement_id)
    .bind(month)
    .bind(now)
    .bind(by)
    .bind(words)
    .bind(inbound_id)
    .fetch_all(c)
    .await)?;
    Ok(!changed.is_empty())
}

/// When the client approved the engagement's month, and whether that locked it; `None` when
/// it is not approved.
pub async fn approved(
    conn: &mut Conn,
    engagement_id: i64,
    month: &str,
) -> Result<Option<(DateTime<Utc>, bool)>, StoreError> {
    Ok(on_unkept!(conn, |c| sqlx::query_as(
        "SELECT answered_at, locked FROM timesheet \
         WHERE engagement_id = $1 AND month = $2 AND status = 'approved'"
    )
    .bind(engagement_id)
    .bind(month)
    .fetch_optional(c)
    .await)?)
}

/// Refuses a change to time entry `id` (a void or a restore) when its month was approved
/// with `[timesheet] lock_on_approval` and so is locked for its engagement.
pub async fn refuse_if_locked(conn: &mut Conn, id: i64) -> Result<(), StoreError> {
    let found: Option<(NaiveDate, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT work_date, engagement_id FROM time_entry WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let Some((day, engagement_id)) = found else {
        return Ok(());
    };
    let month = crate::schedule::cadence::month(day);
    match approved(conn, engagement_id, &month).await? {
        Some((_, true)) => Err(StoreError::Conflict(format!(
            "time entry {id} is dated {day}, and the client approved the timesheet of {month} \
             for engagement {engagement_id}, which locked it"
        ))),
        _ => Ok(()),
    }
}
