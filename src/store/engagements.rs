//! Engagements and their agreements.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Conn, StoreError, parse_column};
use super::{on, on_unkept};
pub use crate::domain::{Agreement, Engagement};
use crate::domain::{AgreementStatus, EngagementStatus, Signer};

#[derive(Debug, Clone)]
pub struct NewEngagement {
    pub assistant_id: i64,
    pub client_id: i64,
    pub start_date: NaiveDate,
    pub trial_end: NaiveDate,
    pub hourly_rate_cents: Option<i64>,
    pub budget_minutes: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct EngagementRow {
    id: i64,
    assistant_id: i64,
    assistant_name: String,
    client_id: i64,
    client_tag: String,
    client_name: String,
    client_timezone: String,
    start_date: NaiveDate,
    trial_end: NaiveDate,
    status: String,
    hourly_rate_cents: Option<i64>,
    budget_minutes: Option<i64>,
    created_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl TryFrom<EngagementRow> for Engagement {
    type Error = StoreError;
    fn try_from(r: EngagementRow) -> Result<Self, StoreError> {
        Ok(Engagement {
            id: r.id,
            assistant_id: r.assistant_id,
            assistant_name: r.assistant_name,
            client_id: r.client_id,
            client_tag: r.client_tag,
            client_name: r.client_name,
            client_timezone: parse_column(&r.client_timezone, "time zone")?,
            start_date: r.start_date,
            trial_end: r.trial_end,
            status: parse_column(&r.status, "engagement status")?,
            hourly_rate_cents: r.hourly_rate_cents,
            budget_minutes: r.budget_minutes,
            created_at: r.created_at,
            ended_at: r.ended_at,
        })
    }
}

const SELECT: &str = "SELECT e.id, e.assistant_id, a.name AS assistant_name, e.client_id, \
     c.tag AS client_tag, c.name AS client_name, c.timezone AS client_timezone, e.start_date, e.trial_end, e.status, \
     e.hourly_rate_cents, e.budget_minutes, e.created_at, e.ended_at \
     FROM engagement e JOIN assistant a ON a.id = e.assistant_id JOIN client c ON c.id = e.client_id";

/// Inserts the engagement (status `onboarding`) and one `pending` agreement per required kind.
pub async fn insert(
    conn: &mut Conn,
    new: &NewEngagement,
    agreements: &[(String, Signer)],
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id: i64 = on!(conn, |c| sqlx::query_scalar(
        "INSERT INTO engagement (assistant_id, client_id, start_date, trial_end, status, \
         hourly_rate_cents, budget_minutes, created_at) \
         VALUES ($1, $2, $3, $4, 'onboarding', $5, $6, $7) RETURNING id",
    )
    .bind(new.assistant_id)
    .bind(new.client_id)
    .bind(new.start_date)
    .bind(new.trial_end)
    .bind(new.hourly_rate_cents)
    .bind(new.budget_minutes)
    .bind(now)
    .fetch_one(c)
    .await)?;
    for (kind, signers) in agreements {
        on!(conn, |c| sqlx::query(
            "INSERT INTO agreement (engagement_id, kind, signers, status, status_changed_at) \
             VALUES ($1, $2, $3, 'pending', $4)",
        )
        .bind(id)
        .bind(kind)
        .bind(signers.as_str())
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(id)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Engagement, StoreError> {
    let row: EngagementRow = on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE e.id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "there is no engagement {id} (see `tandem engagement list`)"
        ))
    })?;
    row.try_into()
}

pub async fn list(conn: &mut Conn) -> Result<Vec<Engagement>, StoreError> {
    let rows: Vec<EngagementRow> = on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY e.id"
    )))
    .fetch_all(c)
    .await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Engagements that have not ended, for an assistant (the ones their mail can be about).
pub async fn open_for_assistant(
    conn: &mut Conn,
    assistant_id: i64,
) -> Result<Vec<Engagement>, StoreError> {
    let rows: Vec<EngagementRow> = on_unkept!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!("{SELECT} WHERE e.assistant_id = $1 AND e.status <> 'ended' ORDER BY e.id")
    ))
    .bind(assistant_id)
    .fetch_all(c)
    .await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Sets the engagement `ended` at `ended_at`. Ending an ended engagement is refused, not
/// silently repeated.
pub async fn end(conn: &mut Conn, id: i64, ended_at: DateTime<Utc>) -> Result<(), StoreError> {
    let now = ended_at;
    let engagement = get(conn, id).await?;
    if engagement.status == EngagementStatus::Ended {
        return Err(StoreError::Conflict(format!(
            "engagement {id} has ended already"
        )));
    }
    on!(conn, |c| sqlx::query(
        "UPDATE engagement SET status = 'ended', ended_at = $1 WHERE id = $2 AND status <> 'ended'",
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What `engagement edit` changes; `None` leaves it, `Some(None)` clears a rate or budget.
#[derive(Debug, Clone, Default)]
pub struct TermsChange {
    pub hourly_rate_cents: Option<Option<i64>>,
    pub budget_minutes: Option<Option<i64>>,
    pub trial_end: Option<NaiveDate>,
}

/// Changes an engagement's rate, budget or trial end (checked by the caller).
pub async fn update_terms(
    conn: &mut Conn,
    id: i64,
    change: &TermsChange,
) -> Result<(), StoreError> {
    let current = get(conn, id).await?;
    on!(conn, |c| sqlx::query(
        "UPDATE engagement SET hourly_rate_cents = $1, budget_minutes = $2, trial_end = $3 \
         WHERE id = $4",
    )
    .bind(
        change
            .hourly_rate_cents
            .unwrap_or(current.hourly_rate_cents)
    )
    .bind(change.budget_minutes.unwrap_or(current.budget_minutes))
    .bind(change.trial_end.unwrap_or(current.trial_end))
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Moves an engagement from one status to another, only if it is still in the first; returns
/// whether it moved (another process may have moved it first).
pub async fn transition(
    conn: &mut Conn,
    id: i64,
    from: EngagementStatus,
    to: EngagementStatus,
) -> Result<bool, StoreError> {
    let moved = on!(conn, |c| sqlx::query(
        "UPDATE engagement SET status = $1 WHERE id = $2 AND status = $3"
    )
    .bind(to.as_str())
    .bind(id)
    .bind(from.as_str())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(moved == 1)
}

/// Engagements in one status, oldest start first.
pub async fn in_status(
    conn: &mut Conn,
    status: EngagementStatus,
) -> Result<Vec<Engagement>, StoreError> {
    let rows: Vec<EngagementRow> = on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE e.status = $1 ORDER BY e.start_date, e.id"
    )))
    .bind(status.as_str())
    .fetch_all(c)
    .await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub async fn agreements(conn: &mut Conn, engagement_id: i64) -> Result<Vec<Agreement>, StoreError> {
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        DateTime<Utc>,
        Option<String>,
    );
    let rows: Vec<Row> = on!(conn, |c| {
        sqlx::query_as(
        "SELECT id, engagement_id, kind, signers, status, status_changed_at, received_from FROM agreement \
         WHERE engagement_id = $1 ORDER BY id",
    )
    .bind(engagement_id)
    .fetch_all(c)
    .await
    })?;
    rows.into_iter()
        .map(
            |(id, engagement_id, kind, signers, status, status_changed_at, received_from)| {
                Ok(Agreement {
                    id,
                    engagement_id,
                    kind,
                    signers: parse_column(&signers, "signer")?,
                    status: parse_column(&status, "agreement status")?,
                    status_changed_at,
                    received_from,
                })
            },
        )
        .collect()
}

/// An agreement with the names the operator knows it by, for `tandem agreement list`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AgreementListing {
    pub id: i64,
    pub engagement_id: i64,
    pub client_tag: String,
    pub assistant_name: String,
    pub kind: String,
    pub signers: String,
    pub status: String,
    pub status_changed_at: DateTime<Utc>,
    pub signed_on: Option<NaiveDate>,
    /// Who sent it back by mail, when it is `received`.
    pub received_from: Option<String>,
    /// Signed documents that came back by mail.
    pub documents: i64,
}

/// Agreements of open engagements (or of every engagement with `all`), by engagement; only
/// those still waiting for a signature (`pending`, `received`) with `open_only`.
pub async fn list_agreements(
    conn: &mut Conn,
    open_only: bool,
    engagement_id: Option<i64>,
) -> Result<Vec<AgreementListing>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT g.id, g.engagement_id, c.tag AS client_tag, a.name AS assistant_name, g.kind, \
         g.signers, g.status, g.status_changed_at, g.signed_on, g.received_from, \
         (SELECT COUNT(*) FROM agreement_document d WHERE d.agreement_id = g.id) AS documents \
         FROM agreement g JOIN engagement e ON e.id = g.engagement_id \
         JOIN client c ON c.id = e.client_id JOIN assistant a ON a.id = e.assistant_id \
         WHERE (NOT $1 OR g.status IN ('pending', 'received')) \
           AND ($2 IS NULL OR g.engagement_id = $2) \
         ORDER BY g.engagement_id, g.id",
    )
    .bind(open_only)
    .bind(engagement_id)
    .fetch_all(c)
    .await)?)
}

/// Sets an agreement `signed` (on `signed_on`) or `waived`. Only an agreement still waiting
/// (`pending` or `received`) moves; anything else is refused with its state.
pub async fn settle_agreement(
    conn: &mut Conn,
    engagement_id: i64,
    kind: &str,
    to: AgreementStatus,
    signed_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let moved = on!(conn, |c| sqlx::query(
        "UPDATE agreement SET status = $1, status_changed_at = $2, signed_on = $3 \
         WHERE engagement_id = $4 AND kind = $5 AND status IN ('pending', 'received')",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(signed_on)
    .bind(engagement_id)
    .bind(kind)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if moved == 1 {
        return Ok(());
    }
    // An engagement that does not exist is named as such, not as one without the agreement.
    get(conn, engagement_id).await?;
    let state: Option<String> = on!(conn, |c| sqlx::query_scalar(
        "SELECT status FROM agreement WHERE engagement_id = $1 AND kind = $2"
    )
    .bind(engagement_id)
    .bind(kind)
    .fetch_optional(c)
    .await)?;
    Err(match state {
        None => StoreError::NotFound(format!(
            "engagement {engagement_id} has no agreement '{kind}' (see `tandem engagement show {engagement_id}`)"
        )),
        Some(state) => StoreError::Conflict(format!(
            "the '{kind}' agreement of engagement {engagement_id} is {state} already"
        )),
    })
}

/// Sets a signed, waived or received agreement back to `pending` (`agreement reset`, for the
/// operator's own mistake): its date and who sent it back are cleared, and its reminders
/// start again by the schedule. Documents that came back stay on record.
pub async fn reset_agreement(
    conn: &mut Conn,
    engagement_id: i64,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let engagement = get(conn, engagement_id).await?;
    if engagement.status == EngagementStatus::Ended {
        return Err(StoreError::Conflict(format!(
            "engagement {engagement_id} has ended; its agreements are a record"
        )));
    }
    let state: Option<String> = on!(conn, |c| sqlx::query_scalar(
        "SELECT status FROM agreement WHERE engagement_id = $1 AND kind = $2"
    )
    .bind(engagement_id)
    .bind(kind)
    .fetch_optional(c)
    .await)?;
    match state.as_deref() {
        None => {
            return Err(StoreError::NotFound(format!(
                "engagement {engagement_id} has no agreement '{kind}' (see `tandem engagement show {engagement_id}`)"
            )));
        }
        Some("pending") => {
            return Err(StoreError::Conflict(format!(
                "the '{kind}' agreement of engagement {engagement_id} is pending already"
            )));
        }
        Some(_) => {}
    }
    on!(conn, |c| sqlx::query(
        "UPDATE agreement SET status = 'pending', status_changed_at = $1, signed_on = NULL, \
         received_from = NULL WHERE engagement_id = $2 AND kind = $3 AND status <> 'pending'",
    )
    .bind(now)
    .bind(engagement_id)
    .bind(kind)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks an agreement `received` from `side` (`client` or `assistant`), for the operator to
/// confirm: a pending one moves; one received from the other side is now received from
/// `both`. Returns whether anything changed.
pub async fn mark_received(
    conn: &mut Conn,
    agreement_id: i64,
    side: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let moved = on!(conn, |c| sqlx::query(
        "UPDATE agreement SET status = 'received', status_changed_at = $1, \
         received_from = CASE WHEN status = 'pending' THEN $3 ELSE 'both' END \
         WHERE id = $2 AND (status = 'pending' \
               OR (status = 'received' AND received_from IS NOT NULL \
                   AND received_from NOT IN ($3, 'both')))",
    )
    .bind(now)
    .bind(agreement_id)
    .bind(side)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(moved == 1)
}

/// Keeps a document that came back by mail, once; returns its id for [`link_document`].
pub async fn add_document(
    conn: &mut Conn,
    inbound_id: i64,
    filename: &str,
    content_type: &str,
    data: &[u8],
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "INSERT INTO document (inbound_id, filename, content_type, data, received_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(inbound_id)
    .bind(filename)
    .bind(content_type)
    .bind(data)
    .bind(now)
    .fetch_one(c)
    .await)?)
}

/// Files a kept document with an agreement it is for.
pub async fn link_document(
    conn: &mut Conn,
    agreement_id: i64,
    document_id: i64,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "INSERT INTO agreement_document (agreement_id, document_id) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(agreement_id)
    .bind(document_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Engagements the schedule works for: every one that has not ended, oldest first.
pub async fn scheduled(conn: &mut Conn) -> Result<Vec<Engagement>, StoreError> {
    let rows: Vec<EngagementRow> = on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE e.status NOT IN ('ended', 'paused') ORDER BY e.id"
    )))
    .fetch_all(c)
    .await)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// When the agency's first engagement was added, if there is one.
pub async fn first_added(conn: &mut Conn) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT MIN(created_at) FROM engagement"
    )
    .fetch_one(c)
    .await)?)
}

/// The engagements the scheduler plans at `now`: those not ended or paused whose wake-up has
/// come, or was cleared by a change to what their plan reads (migration 0011's triggers);
/// each with its count of changes, for [`set_wakes`].
pub async fn to_plan(conn: &mut Conn, now: DateTime<Utc>) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, facts_changed FROM engagement WHERE status NOT IN ('ended', 'paused') \
         AND (wake_at IS NULL OR wake_at <= $1) ORDER BY id",
    )
    .bind(now)
    .fetch_all(c)
    .await)?)
}

/// How many changes to what the engagement's plan reads have been written.
pub async fn facts_changed(conn: &mut Conn, id: i64) -> Result<i64, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT facts_changed FROM engagement WHERE id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await)?)
}

/// Stores when each engagement next needs the scheduler, `(id, wake_at, facts_changed as
/// read before planning)`, in one transaction; an engagement whose facts changed meanwhile
/// keeps its cleared wake-up, so the next pass plans it again.
pub async fn set_wakes(
    pool: &super::Pool,
    wakes: &[(i64, DateTime<Utc>, i64)],
) -> Result<(), StoreError> {
    if wakes.is_empty() {
        return Ok(());
    }
    let mut tx = super::begin(pool).await?;
    for (id, at, changed) in wakes {
        on!(&mut tx, |c| sqlx::query(
            "UPDATE engagement SET wake_at = $1 WHERE id = $2 AND facts_changed = $3"
        )
        .bind(at)
        .bind(id)
        .bind(changed)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    super::commit(tx).await
}

/// The earliest wake-up after `now` of an engagement not ended or paused (a cleared one, of
/// an engagement changed since it was planned, is not counted: it is due at once).
pub async fn next_wake(
    conn: &mut Conn,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT MIN(wake_at) FROM engagement WHERE status NOT IN ('ended', 'paused') \
         AND wake_at > $1",
    )
    .bind(now)
    .fetch_one(c)
    .await)?)
}

/// Clears every wake-up, so the next pass plans every engagement: at start-up, since the
/// config's cadences and zones may have changed since the wake-ups were reckoned.
pub async fn wake_all(conn: &mut Conn) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "UPDATE engagement SET wake_at = NULL WHERE wake_at IS NOT NULL"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
