//! Surveys (feedback questionnaires and trial reviews) and their answers.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::on;
use super::{Conn, StoreError};
pub use crate::domain::SurveyFact;

#[derive(Debug, Clone)]
pub struct NewSurvey<'a> {
    pub engagement_id: i64,
    /// `feedback` or `trial_review`.
    pub kind: &'a str,
    pub period: &'a str,
    /// The questions as asked (JSON).
    pub questions: &'a str,
    pub recipient: &'a str,
    pub locale: &'a str,
    pub message_id: &'a str,
}

/// Writes the survey; `None` when one with the same (engagement, kind, period) exists: then it
/// was sent before, by this process or another, and nothing more may be written for it.
pub async fn insert(
    conn: &mut Conn,
    new: &NewSurvey<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO survey (engagement_id, kind, period, questions, recipient, locale, message_id, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (engagement_id, kind, period) DO NOTHING RETURNING id",
    )
    .bind(new.engagement_id)
    .bind(new.kind)
    .bind(new.period)
    .bind(new.questions)
    .bind(new.recipient)
    .bind(new.locale)
    .bind(new.message_id)
    .bind(now)
    .fetch_optional(c)
    .await
    })?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Survey {
    pub id: i64,
    pub engagement_id: i64,
    pub client_tag: String,
    pub assistant_name: String,
    pub kind: String,
    pub period: String,
    #[serde(skip)]
    pub questions: String,
    pub recipient: String,
    pub locale: String,
    pub message_id: String,
    pub sent_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT s.id, s.engagement_id, c.tag AS client_tag, a.name AS assistant_name, \
     s.kind, s.period, s.questions, s.recipient, s.locale, s.message_id, s.sent_at, s.answered_at \
     FROM survey s JOIN engagement e ON e.id = s.engagement_id \
     JOIN client c ON c.id = e.client_id JOIN assistant a ON a.id = e.assistant_id";

pub async fn get(conn: &mut Conn, id: i64) -> Result<Survey, StoreError> {
    on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "there is no survey {id} (see `tandem survey list`)"
        ))
    })
}

/// Every survey, newest first; of one engagement when given.
pub async fn list(conn: &mut Conn, engagement_id: Option<i64>) -> Result<Vec<Survey>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!(
            "{SELECT} WHERE ($1 IS NULL OR s.engagement_id = $1) ORDER BY s.sent_at DESC, s.id DESC"
        )
    ))
    .bind(engagement_id)
    .fetch_all(c)
    .await)?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StoredAnswer {
    pub number: i64,
    pub key: String,
    /// JSON: a number, true/false or a string.
    pub value: String,
    pub answered_at: DateTime<Utc>,
}

pub async fn answers(conn: &mut Conn, survey_id: i64) -> Result<Vec<StoredAnswer>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
        "SELECT number, key, value, answered_at FROM survey_answer WHERE survey_id = $1 ORDER BY number",
    )
    .bind(survey_id)
    .fetch_all(c)
    .await
    })?)
}

/// Stores one answer; an answer given again replaces the earlier one.
pub async fn store_answer(
    conn: &mut Conn,
    survey_id: i64,
    number: usize,
    key: &str,
    value_json: &str,
    inbound_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO survey_answer (survey_id, number, key, value, inbound_id, answered_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (survey_id, key) DO UPDATE SET value = excluded.value, \
         inbound_id = excluded.inbound_id, answered_at = excluded.answered_at",
    )
    .bind(survey_id)
    .bind(number as i64)
    .bind(key)
    .bind(value_json)
    .bind(inbound_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on!(conn, |c| sqlx::query(
        "UPDATE survey SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL"
    )
    .bind(now)
    .bind(survey_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One answer of a check-in answered since `since`, newest check-in first per engagement.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckinAnswer {
    pub engagement_id: i64,
    pub survey_id: i64,
    pub period: String,
    pub key: String,
    /// JSON, as [`StoredAnswer::value`].
    pub value: String,
}

/// The answers of check-ins answered since `since` (for the digest's latest per engagement).
pub async fn checkin_answers(
    conn: &mut Conn,
    since: DateTime<Utc>,
) -> Result<Vec<CheckinAnswer>, StoreError> {
    Ok(on!(conn, |c| {
        sqlx::query_as(
            "SELECT s.engagement_id, s.id AS survey_id, s.period, a.key, a.value \
             FROM survey s JOIN survey_answer a ON a.survey_id = s.id \
             WHERE s.kind = 'checkin' AND s.answered_at >= $1 \
             ORDER BY s.engagement_id, s.sent_at DESC, s.id DESC, a.number",
        )
        .bind(since)
        .fetch_all(c)
        .await
    })?)
}

#[derive(sqlx::FromRow)]
struct SurveyFactRow {
    id: i64,
    kind: String,
    period: String,
    sent_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
}

/// What the scheduler needs to know of an engagement's surveys.
pub async fn facts(conn: &mut Conn, engagement_id: i64) -> Result<Vec<SurveyFact>, StoreError> {
    let rows: Vec<SurveyFactRow> = on!(conn, |c| {
        sqlx::query_as(
        "SELECT id, kind, period, sent_at, answered_at FROM survey WHERE engagement_id = $1 ORDER BY sent_at, id",
    )
    .bind(engagement_id)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| SurveyFact {
            id: r.id,
            kind: r.kind,
            period: r.period,
            sent_at: r.sent_at,
            answered_at: r.answered_at,
        })
        .collect())
}
