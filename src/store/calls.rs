//! The kickoff call of an engagement (`kickoff_call`) and the invitees' answers to its
//! invitation (`kickoff_response`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::on;
use super::{Conn, StoreError, parse_column};
use crate::domain::TimeZone;

/// An engagement's kickoff call as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kickoff {
    pub engagement_id: i64,
    /// The event's UID, the same for every invitation of this call.
    pub uid: String,
    pub starts_at: DateTime<Utc>,
    /// The zone its time was given in, which the invitation names.
    pub timezone: TimeZone,
    pub minutes: i64,
    /// iCalendar's SEQUENCE: 0 for the first invitation, one more for each new time.
    pub sequence: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct KickoffRow {
    engagement_id: i64,
    uid: String,
    starts_at: DateTime<Utc>,
    timezone: String,
    minutes: i64,
    sequence: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<KickoffRow> for Kickoff {
    type Error = StoreError;
    fn try_from(r: KickoffRow) -> Result<Self, StoreError> {
        Ok(Kickoff {
            engagement_id: r.engagement_id,
            uid: r.uid,
            starts_at: r.starts_at,
            timezone: parse_column(&r.timezone, "time zone")?,
            minutes: r.minutes,
            sequence: r.sequence,
            updated_at: r.updated_at,
        })
    }
}

/// The kickoff call of `engagement_id`, if one was set.
pub async fn kickoff(conn: &mut Conn, engagement_id: i64) -> Result<Option<Kickoff>, StoreError> {
    let row: Option<KickoffRow> = on!(conn, |c| sqlx::query_as(
        "SELECT engagement_id, uid, starts_at, timezone, minutes, sequence, updated_at \
         FROM kickoff_call WHERE engagement_id = $1"
    )
    .bind(engagement_id)
    .fetch_optional(c)
    .await)?;
    row.map(Kickoff::try_from).transpose()
}

/// The kickoff call whose event has `uid` (an iTIP reply names it).
pub async fn kickoff_by_uid(conn: &mut Conn, uid: &str) -> Result<Option<Kickoff>, StoreError> {
    let row: Option<KickoffRow> = on!(conn, |c| sqlx::query_as(
        "SELECT engagement_id, uid, starts_at, timezone, minutes, sequence, updated_at \
         FROM kickoff_call WHERE uid = $1"
    )
    .bind(uid)
    .fetch_optional(c)
    .await)?;
    row.map(Kickoff::try_from).transpose()
}

/// Sets the kickoff call of `engagement_id` to `starts_at`: a new row with sequence 0 and
/// `new_uid`, or the existing one moved, its sequence one higher and its UID kept. Returns the
/// call as stored.
pub async fn set_kickoff(
    conn: &mut Conn,
    engagement_id: i64,
    starts_at: DateTime<Utc>,
    timezone: TimeZone,
    minutes: i64,
    new_uid: &str,
    now: DateTime<Utc>,
) -> Result<Kickoff, StoreError> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO kickoff_call (engagement_id, uid, starts_at, timezone, minutes, sequence, \
         updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6) \
         ON CONFLICT (engagement_id) DO UPDATE SET starts_at = excluded.starts_at, \
         timezone = excluded.timezone, minutes = excluded.minutes, \
         sequence = kickoff_call.sequence + 1, updated_at = excluded.updated_at"
    )
    .bind(engagement_id)
    .bind(new_uid)
    .bind(starts_at)
    .bind(timezone.name())
    .bind(minutes)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    kickoff(conn, engagement_id).await?.ok_or_else(|| {
        StoreError::NotFound(format!("no kickoff call of engagement {engagement_id}"))
    })
}

/// An invitee's answer to an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub sequence: i64,
    /// `contact:ID` or `assistant:ID`.
    pub invitee: String,
    /// `accepted`, `declined` or `tentative`.
    pub partstat: String,
    pub answered_at: DateTime<Utc>,
}

/// Records `invitee`'s answer to invitation `sequence`; a later answer replaces an earlier one.
pub async fn record_response(
    conn: &mut Conn,
    engagement_id: i64,
    sequence: i64,
    invitee: &str,
    partstat: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO kickoff_response (engagement_id, sequence, invitee, partstat, answered_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (engagement_id, sequence, invitee) \
         DO UPDATE SET partstat = excluded.partstat, answered_at = excluded.answered_at"
    )
    .bind(engagement_id)
    .bind(sequence)
    .bind(invitee)
    .bind(partstat)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The answers to the kickoff invitations of `engagement_id`, the latest sequence first.
pub async fn responses(conn: &mut Conn, engagement_id: i64) -> Result<Vec<Response>, StoreError> {
    let rows: Vec<(i64, String, String, DateTime<Utc>)> = on!(conn, |c| sqlx::query_as(
        "SELECT sequence, invitee, partstat, answered_at FROM kickoff_response \
         WHERE engagement_id = $1 ORDER BY sequence DESC, invitee"
    )
    .bind(engagement_id)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(sequence, invitee, partstat, answered_at)| Response {
            sequence,
            invitee,
            partstat,
            answered_at,
        })
        .collect())
}

/// The id of client `client_id`'s contact at `email`, if there is one.
pub async fn contact_id(
    conn: &mut Conn,
    client_id: i64,
    email: &crate::domain::EmailAddress,
) -> Result<Option<i64>, StoreError> {
    on!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM contact WHERE client_id = $1 AND email = $2"
    )
    .bind(client_id)
    .bind(email.as_str())
    .fetch_optional(c)
    .await)
    .map_err(Into::into)
}
