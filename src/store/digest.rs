//! The weekly digest's aggregates: a few grouped queries over the whole agency, each one pass
//! over an indexed range, so the digest of a large agency stays fast.

use chrono::{DateTime, NaiveDate, Utc};

use super::on;
use super::{Conn, StoreError};

/// Minutes logged (not void) per engagement and day, between two days (both included).
pub async fn minutes_by_day(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(i64, NaiveDate, i64)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT engagement_id, work_date, CAST(SUM(minutes) AS BIGINT) FROM time_entry \
         WHERE status = 'logged' AND work_date >= $1 AND work_date <= $2 \
         GROUP BY engagement_id, work_date",
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?)
}

/// Minutes logged (not void) per assistant and client since `from` (included).
pub async fn minutes_by_assistant_and_client(
    conn: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(i64, i64, i64)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT e.assistant_id, e.client_id, CAST(SUM(t.minutes) AS BIGINT) FROM time_entry t \
         JOIN engagement e ON e.id = t.engagement_id \
         WHERE t.status = 'logged' AND t.work_date >= $1 AND t.work_date <= $2 \
         GROUP BY e.assistant_id, e.client_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?)
}

/// Every agreement of an engagement that has not ended: (engagement, kind, status).
pub async fn open_agreements(conn: &mut Conn) -> Result<Vec<(i64, String, String)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT g.engagement_id, g.kind, g.status FROM agreement g \
         JOIN engagement e ON e.id = g.engagement_id WHERE e.status <> 'ended' ORDER BY g.id",
    )
    .fetch_all(c)
    .await)?)
}

/// One answer of a feedback survey sent since `since`, newest survey first per engagement.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnswerRow {
    pub engagement_id: i64,
    pub survey_id: i64,
    pub period: String,
    pub sent_at: DateTime<Utc>,
    pub key: String,
    pub value: String,
    pub answered_at: DateTime<Utc>,
}

pub async fn feedback_answers(
    conn: &mut Conn,
    since: DateTime<Utc>,
) -> Result<Vec<AnswerRow>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT s.engagement_id, s.id AS survey_id, s.period, s.sent_at, a.key, a.value, a.answered_at \
         FROM survey s JOIN survey_answer a ON a.survey_id = s.id \
         WHERE s.kind = 'feedback' AND s.sent_at >= $1 \
         ORDER BY s.engagement_id, s.sent_at DESC, s.id DESC, a.number",
    )
    .bind(since)
    .fetch_all(c)
    .await
    })?)
}

/// Unanswered surveys and trial reviews per engagement (not check-ins, which are the
/// assistant's), sent between two instants.
pub async fn unanswered_surveys(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT engagement_id, COUNT(*) FROM survey \
         WHERE answered_at IS NULL AND sent_at >= $1 AND sent_at < $2 AND kind <> 'checkin' GROUP BY engagement_id",
    )
    .bind(since)
    .bind(until)
    .fetch_all(c)
    .await
    })?)
}

/// Mail read between two instants that went to a person or to quarantine (and that the
/// operator has not dealt with since: `attention done`, `quarantine release`), and hours and
/// answers that were handled although their sender was not authenticated
/// (`[inbound.authentication] policy = "report"`, or a person marked unauthenticated-ok).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct FiledRow {
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub reason: String,
    pub disposition: String,
    pub received_at: DateTime<Utc>,
}

pub async fn filed_for_a_person(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<FiledRow>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT from_addr, subject, reason, disposition, received_at FROM inbound_message \
         WHERE (disposition IN ('quarantine', 'attention') \
                OR (auth_verdict = 'fail' AND classification IN ('hours', 'reply'))) \
         AND received_at >= $1 AND received_at < $2 \
         AND id NOT IN (SELECT inbound_id FROM inbound_handled) \
         ORDER BY received_at, id",
    )
    .bind(since)
    .bind(until)
    .fetch_all(c)
    .await)?)
}

/// Outgoing mail that failed for good: (id, recipient, subject, last error).
pub async fn failed_sends(
    conn: &mut Conn,
) -> Result<Vec<(i64, String, String, Option<String>)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, recipient, subject, last_error FROM outbox WHERE state = 'failed' ORDER BY id",
    )
    .fetch_all(c)
    .await)?)
}

/// When the last digest was queued, if one was.
pub async fn last_digest(
    conn: &mut Conn,
    before: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT MAX(created_at) FROM outbox WHERE kind = 'digest' AND created_at < $1",
    )
    .bind(before)
    .fetch_one(c)
    .await)?)
}
