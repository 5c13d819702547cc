//! Submissions, time entries and locked months.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Backend, Conn, StoreError, Table};
use super::{on, on_unkept};

#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub engagement_id: i64,
    pub work_date: NaiveDate,
    pub minutes: u32,
    pub description: &'a str,
    pub line_no: usize,
    pub line_text: &'a str,
}

/// Binds an entry's values in the order of `COLUMNS` (in [`insert_submission`]) to a row of
/// a `QueryBuilder`'s `push_values`, whichever the backend: a [`NewEntry`]'s borrowed texts,
/// or an owned [`LaterEntry`]'s, moved into the statement's arguments.
macro_rules! bind_entry {
    ($row:ident, $e:ident) => {
        $row.push_bind($e.engagement_id)
            .push_bind($e.work_date)
            .push_bind(i64::from($e.minutes))
            .push_bind($e.description)
            .push_bind($e.line_no as i64)
            .push_bind($e.line_text)
    };
}
pub(super) use bind_entry;

/// A submission to write later, owned, under the id taken for it.
#[derive(Debug, Clone)]
pub(super) struct LaterSubmission {
    pub(super) id: i64,
    pub(super) inbound_id: i64,
    pub(super) assistant_id: i64,
    pub(super) receipt_message_id: Option<String>,
    pub(super) created_at: DateTime<Utc>,
}

/// An entry to write later, owned, with its submission's id.
#[derive(Debug, Clone)]
pub(super) struct LaterEntry {
    pub(super) submission_id: i64,
    pub(super) engagement_id: i64,
    pub(super) work_date: NaiveDate,
    pub(super) minutes: u32,
    pub(super) description: String,
    pub(super) line_no: usize,
    pub(super) line_text: String,
    pub(super) created_at: DateTime<Utc>,
}

/// Pushes `INSERT INTO submission ... VALUES` of `$rows` (owned [`LaterSubmission`]s, with
/// their ids).
macro_rules! push_submissions {
    ($query:ident, $rows:expr) => {
        $query.push(
            "INSERT INTO submission (id, inbound_id, assistant_id, status, created_at, \
             receipt_message_id) ",
        );
        $query.push_values(
            $rows,
            |mut row, r: $crate::store::timelog::LaterSubmission| {
                row.push_bind(r.id)
                    .push_bind(r.inbound_id)
                    .push_bind(r.assistant_id)
                    .push("'logged'")
                    .push_bind(r.created_at)
                    .push_bind(r.receipt_message_id);
            },
        );
    };
}
pub(super) use push_submissions;

/// Pushes `INSERT INTO time_entry ... VALUES` of `$rows` (owned [`LaterEntry`]s).
macro_rules! push_entries {
    ($query:ident, $rows:expr) => {
        $query.push(
            "INSERT INTO time_entry (submission_id, engagement_id, work_date, minutes, \
             description, line_no, line_text, status, created_at) ",
        );
        $query.push_values($rows, |mut row, e: $crate::store::timelog::LaterEntry| {
            row.push_bind(e.submission_id);
            $crate::store::timelog::bind_entry!(row, e)
                .push("'logged'")
                .push_bind(e.created_at);
        });
    };
}
pub(super) use push_entries;

/// Entries written by one statement (SQLite takes at most 32,766 parameters in one).
const ENTRIES_PER_STATEMENT: usize = 500;

/// Records a submission and its entries, with the Message-ID of its receipt when it is known
/// already; returns the submission's id. One round trip for the submission and its first 500
/// entries (all of them, in any mail but a huge one): on SQLite two statements in one command,
/// the entries under the submission's id as `last_insert_rowid()` read once before they are
/// written (a `MATERIALIZED` table); on PostgreSQL data-modifying `WITH`s. In a transaction
/// that writes later ([`Conn::write_later`]), the rows are kept and written with the others.
pub async fn insert_submission(
    conn: &mut Conn,
    inbound_id: i64,
    assistant_id: i64,
    entries: &[NewEntry<'_>],
    receipt_message_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    if entries.len() <= ENTRIES_PER_STATEMENT
        && let Some((id, later)) = conn.later_id(Table::Submission).await?
    {
        let row = LaterSubmission {
            id,
            inbound_id,
            assistant_id,
            receipt_message_id: receipt_message_id.map(str::to_string),
            created_at: now,
        };
        let entries = entries
            .iter()
            .map(|e| LaterEntry {
                submission_id: id,
                engagement_id: e.engagement_id,
                work_date: e.work_date,
                minutes: e.minutes,
                description: e.description.to_string(),
                line_no: e.line_no,
                line_text: e.line_text.to_string(),
                created_at: now,
            })
            .collect();
        later.submission(row, entries);
        return Ok(id);
    }
    const COLUMNS: &str = "engagement_id, work_date, minutes, description, line_no, line_text";
    let (first, rest) = entries.split_at(entries.len().min(ENTRIES_PER_STATEMENT));
    let backend = conn.backend();
    let ids: Vec<i64> = on!(conn, |c, Db| {
        let mut query = sqlx::QueryBuilder::<Db>::new("");
        if backend == Backend::Postgres {
            query.push("WITH s AS (");
        }
        query
            .push(
                "INSERT INTO submission (inbound_id, assistant_id, status, created_at, \
                 receipt_message_id) VALUES (",
            )
            .push_bind(inbound_id)
            .push(", ")
            .push_bind(assistant_id)
            .push(", 'logged', ")
            .push_bind(now)
            .push(", ")
            .push_bind(receipt_message_id)
            .push(") RETURNING id");
        if !first.is_empty() {
            let (open, columns) = match backend {
                Backend::Sqlite => (
                    "; WITH s AS MATERIALIZED (SELECT last_insert_rowid() AS id) ",
                    "v.column1, v.column2, v.column3, v.column4, v.column5, v.column6",
                ),
                Backend::Postgres => ("), e AS (", COLUMNS),
            };
            query
                .push(open)
                .push(format_args!(
                    "INSERT INTO time_entry (submission_id, {COLUMNS}, status, created_at) \
                     SELECT s.id, {columns}, 'logged', "
                ))
                .push_bind(now)
                .push(" FROM s, (");
            query.push_values(first, |mut row, e| {
                bind_entry!(row, e);
            });
            query.push(") AS v");
            if backend == Backend::Postgres {
                query.push(format_args!("({COLUMNS})"));
            }
        }
        if backend == Backend::Postgres {
            // Closes `s`, or `e` after it.
            query.push(") SELECT id FROM s");
        }
        // Read to the end: on SQLite the entries' statement runs only once the submission's
        // row has been read.
        query.build_query_scalar().fetch_all(c).await
    })?;
    let id = ids
        .first()
        .copied()
        .ok_or(StoreError::Query(sqlx::Error::RowNotFound))?;
    for chunk in rest.chunks(ENTRIES_PER_STATEMENT) {
        on!(conn, |c, Db| {
            let mut insert = sqlx::QueryBuilder::<Db>::new(format!(
                "INSERT INTO time_entry (submission_id, {COLUMNS}, status, created_at) "
            ));
            insert.push_values(chunk, |mut row, e| {
                row.push_bind(id);
                bind_entry!(row, e);
                row.push("'logged'").push_bind(now);
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(id)
}

/// Records the Message-ID of the receipt, which a `cancel` reply will name.
pub async fn set_receipt(
    conn: &mut Conn,
    submission_id: i64,
    receipt_message_id: &str,
) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "UPDATE submission SET receipt_message_id = $1 WHERE id = $2"
    )
    .bind(receipt_message_id)
    .bind(submission_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Minutes an assistant has logged (not void) on a day, over all engagements.
pub async fn minutes_on(
    conn: &mut Conn,
    assistant_id: i64,
    day: NaiveDate,
) -> Result<i64, StoreError> {
    let days = minutes_of_assistant_per_day(conn, assistant_id, day, day).await?;
    Ok(days.first().map_or(0, |(_, minutes)| *minutes))
}

/// The minutes an assistant has logged (not void) on each day from `from` to `to` (both
/// included) that has any, over all engagements: one statement for a month of days.
pub async fn minutes_of_assistant_per_day(
    conn: &mut Conn,
    assistant_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
    // Which engagement is the assistant's is not kept with an entry: any entry kept on those
    // days is written first.
    let unseen = !keeps_entry(conn, |e| (from..=to).contains(&e.work_date));
    Ok(on_unkept!(conn, if unseen, |c, _Db| sqlx::query_as(
        "SELECT t.work_date, CAST(SUM(t.minutes) AS BIGINT) FROM time_entry t \
         JOIN engagement e ON e.id = t.engagement_id \
         WHERE e.assistant_id = $1 AND t.work_date >= $2 AND t.work_date <= $3 \
           AND t.status = 'logged' \
         GROUP BY t.work_date",
    )
    .bind(assistant_id)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?)
}

/// Minutes logged (not void) for an engagement between two days, both included.
pub async fn minutes_between(
    conn: &mut Conn,
    engagement_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<i64, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(minutes), 0) AS BIGINT) FROM time_entry \
         WHERE engagement_id = $1 AND work_date >= $2 AND work_date <= $3 AND status = 'logged'",
    )
    .bind(engagement_id)
    .bind(from)
    .bind(to)
    .fetch_one(c)
    .await)?)
}

/// The logged minutes of each of `engagement_ids`, per day from `from` to `to`: one statement
/// for what a receipt's weekly totals need.
pub async fn minutes_per_day(
    conn: &mut Conn,
    engagement_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(i64, NaiveDate, i64)>, StoreError> {
    if engagement_ids.is_empty() {
        return Ok(Vec::new());
    }
    let unseen = !keeps_entry(conn, |e| {
        engagement_ids.contains(&e.engagement_id) && (from..=to).contains(&e.work_date)
    });
    Ok(on_unkept!(conn, if unseen, |c, Db| {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "SELECT engagement_id, work_date, CAST(SUM(minutes) AS BIGINT) FROM time_entry WHERE work_date >= ",
        );
        query
            .push_bind(from)
            .push(" AND work_date <= ")
            .push_bind(to)
            .push(" AND status = 'logged' AND engagement_id IN (");
        let mut ids = query.separated(", ");
        for id in engagement_ids {
            ids.push_bind(*id);
        }
        query.push(") GROUP BY engagement_id, work_date");
        query.build_query_as().fetch_all(c).await
    })?)
}

/// Whether `conn` keeps an entry to write later that `matches` (kept entries are `logged`).
fn keeps_entry(conn: &mut Conn, matches: impl Fn(&LaterEntry) -> bool) -> bool {
    conn.later().is_some_and(|later| later.keeps_entry(matches))
}

/// A submission found by the Message-ID of its receipt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Submission {
    pub id: i64,
    pub assistant_id: i64,
    pub status: String,
}

pub async fn submission_by_receipt(
    conn: &mut Conn,
    receipt_message_id: &str,
) -> Result<Option<Submission>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT id, assistant_id, status FROM submission WHERE receipt_message_id = $1",
    )
    .bind(receipt_message_id)
    .fetch_optional(c)
    .await)?)
}

/// Voids a submission and its entries; returns how many entries were voided (0 when it was
/// void already).
pub async fn void_submission(
    conn: &mut Conn,
    id: i64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let moved = on!(conn, |c| {
        sqlx::query(
        "UPDATE submission SET status = 'void', voided_at = $1 WHERE id = $2 AND status = 'logged'",
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    if moved == 0 {
        return Ok(0);
    }
    Ok(on!(conn, |c| {
        sqlx::query(
        "UPDATE time_entry SET status = 'void', voided_at = $1 WHERE submission_id = $2 AND status = 'logged'",
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?)
}

/// Voids one entry. An entry in a locked (billed) month is not voided: the month must be
/// unlocked first, so that what was billed and what is stored stay the same.
pub async fn void_entry(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
    super::timesheets::refuse_if_locked(conn, id).await?;
    let found: Option<(String, NaiveDate)> = on!(conn, |c| sqlx::query_as(
        "SELECT status, work_date FROM time_entry WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    match found {
        None => return Err(StoreError::NotFound(format!("there is no time entry {id}"))),
        // Void already: nothing to do, as `hours lock` of a locked month.
        Some((status, _)) if status != "logged" => return Ok(false),
        Some((_, day)) if is_locked(conn, day).await? => {
            let month = day.format("%Y-%m");
            return Err(StoreError::Conflict(format!(
                "time entry {id} is dated {day}, and {month} is locked (billed): \
                 unlock it first with `tandem hours unlock --month {month}`"
            )));
        }
        Some(_) => {}
    }
    let moved = on!(conn, |c| {
        sqlx::query(
        "UPDATE time_entry SET status = 'void', voided_at = $1 WHERE id = $2 AND status = 'logged'",
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    // 0: voided by someone else since the check, which is what was asked.
    Ok(moved == 1)
}

/// Restores a voided entry (`hours restore`): it counts again, and so does its submission if
/// a `cancel` had voided it (a later `cancel` voids it again). Refused in a locked (billed)
/// month, and when the assistant's day would then be over 24 hours, as a new line would be.
/// `false`: the entry counts already (nothing to do).
pub async fn restore_entry(conn: &mut Conn, id: i64) -> Result<bool, StoreError> {
    super::timesheets::refuse_if_locked(conn, id).await?;
    let found: Option<(String, NaiveDate, i64, i64, i64)> = on!(conn, |c| sqlx::query_as(
        "SELECT t.status, t.work_date, t.minutes, e.assistant_id, t.submission_id \
         FROM time_entry t JOIN engagement e ON e.id = t.engagement_id WHERE t.id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let Some((status, day, minutes, assistant_id, submission_id)) = found else {
        return Err(StoreError::NotFound(format!(
            "there is no time entry {id} (see `tandem hours list --all`)"
        )));
    };
    if status != "void" {
        return Ok(false);
    }
    if is_locked(conn, day).await? {
        let month = day.format("%Y-%m");
        return Err(StoreError::Conflict(format!(
            "time entry {id} is dated {day}, and {month} is locked (billed): \
             unlock it first with `tandem hours unlock --month {month}`"
        )));
    }
    let logged = minutes_on(conn, assistant_id, day).await?;
    if logged + minutes > 24 * 60 {
        return Err(StoreError::Conflict(format!(
            "time entry {id} would make {day} a day of {} with the hours logged since \
             ({}): over 24 hours; void one of those first",
            crate::format::format_duration(logged + minutes),
            crate::format::format_duration(logged)
        )));
    }
    on!(conn, |c| {
        sqlx::query(
        "UPDATE time_entry SET status = 'logged', voided_at = NULL WHERE id = $1 AND status = 'void'"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    on!(conn, |c| {
        sqlx::query(
        "UPDATE submission SET status = 'logged', voided_at = NULL WHERE id = $1 AND status = 'void'"
    )
    .bind(submission_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(true)
}

/// One entry with who and for whom, for lists and the billing export.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EntryRow {
    pub id: i64,
    pub engagement_id: i64,
    pub work_date: NaiveDate,
    pub minutes: i64,
    pub description: String,
    pub status: String,
    pub assistant: String,
    pub client: String,
    pub client_name: String,
    pub hourly_rate_cents: Option<i64>,
    pub line_no: i64,
    pub line_text: String,
    pub submission_id: i64,
}

#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub client: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Include void entries.
    pub with_void: bool,
}

const ENTRY_SELECT: &str = "SELECT t.id, t.engagement_id, t.work_date, t.minutes, t.description, t.status, \
     a.name AS assistant, c.tag AS client, c.name AS client_name, e.hourly_rate_cents, t.line_no, \
     t.line_text, t.submission_id \
     FROM time_entry t JOIN engagement e ON e.id = t.engagement_id \
     JOIN assistant a ON a.id = e.assistant_id JOIN client c ON c.id = e.client_id";

/// The entries of one submission, in line order.
pub async fn entries_of_submission(
    conn: &mut Conn,
    submission_id: i64,
) -> Result<Vec<EntryRow>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!("{ENTRY_SELECT} WHERE t.submission_id = $1 ORDER BY t.line_no")
    ))
    .bind(submission_id)
    .fetch_all(c)
    .await)?)
}

pub async fn entries(conn: &mut Conn, filter: &EntryFilter) -> Result<Vec<EntryRow>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        format!(
            "{ENTRY_SELECT} \
         WHERE ($1 IS NULL OR c.tag = $1) AND ($2 IS NULL OR t.work_date >= $2) \
           AND ($3 IS NULL OR t.work_date <= $3) AND ($4 OR t.status = 'logged') \
         ORDER BY t.work_date, a.name, c.tag, t.id"
        )
    ))
    .bind(&filter.client)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.with_void)
    .fetch_all(c)
    .await)?)
}

/// Whether the month (`YYYY-MM`) of `day` is locked.
pub async fn is_locked(conn: &mut Conn, day: NaiveDate) -> Result<bool, StoreError> {
    is_month_locked(conn, &day.format("%Y-%m").to_string()).await
}

/// Whether a month (`YYYY-MM`) is locked.
pub async fn is_month_locked(conn: &mut Conn, month: &str) -> Result<bool, StoreError> {
    let found: Option<String> = on_unkept!(conn, |c| sqlx::query_scalar(
        "SELECT month FROM locked_month WHERE month = $1"
    )
    .bind(month)
    .fetch_optional(c)
    .await)?;
    Ok(found.is_some())
}

/// The locked months (`YYYY-MM`), oldest first.
pub async fn locked_months(conn: &mut Conn) -> Result<Vec<String>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT month FROM locked_month ORDER BY month"
    )
    .fetch_all(c)
    .await)?)
}

/// Unlocks a month; returns `false` when it was not locked.
pub async fn unlock_month(conn: &mut Conn, month: &str) -> Result<bool, StoreError> {
    Ok(on!(conn, |c| sqlx::query(
        "DELETE FROM locked_month WHERE month = $1"
    )
    .bind(month)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?
        == 1)
}

/// Locks a month; returns `false` when it was locked already.
pub async fn lock_month(
    conn: &mut Conn,
    month: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(on!(conn, |c| sqlx::query(
        "INSERT INTO locked_month (month, locked_at) VALUES ($1, $2) ON CONFLICT (month) DO NOTHING"
    )
    .bind(month)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?
        == 1)
}

/// The days an engagement has hours logged (not void) on.
pub async fn days_with_hours(
    conn: &mut Conn,
    engagement_id: i64,
) -> Result<Vec<NaiveDate>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT DISTINCT work_date FROM time_entry WHERE engagement_id = $1 AND status = 'logged'",
    )
    .bind(engagement_id)
    .fetch_all(c)
    .await)?)
}
