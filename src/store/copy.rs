//! Copying a whole agency from one database to another (`tandem db copy`): SQLite to
//! PostgreSQL, or back. Every table of the schema, ids kept, in one transaction on the target,
//! which must be empty; the source is read in one transaction too (a snapshot on SQLite; on
//! PostgreSQL the writer lock, which keeps tandem's writers out while it is read).
//!
//! The tables and their columns are listed here ([`TABLES`]), each column with the type its
//! values are read and written as, from the PostgreSQL schema's declared types (SQLite keeps
//! times, days and flags as text and integers, which the driver converts). Before anything is
//! copied, both databases are checked to have exactly these tables and columns, so a migration
//! that adds one without adding it here stops the copy instead of leaving its data behind (and
//! a unit test compares the list with `migrations/postgres/`).

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt as _;

use super::on;
use super::{Backend, Conn, Pool, StoreError};

/// What a column's values are read and bound as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `BIGINT` (`INTEGER` in SQLite): `i64`.
    Int,
    /// `TEXT`: `String`.
    Text,
    /// `BYTEA` (`BLOB`): `Vec<u8>`.
    Bytes,
    /// `BOOLEAN` (0/1 in SQLite): `bool`.
    Bool,
    /// `DATE` (ISO text in SQLite): `NaiveDate`.
    Date,
    /// `TIMESTAMPTZ` (RFC 3339 text in SQLite): `DateTime<Utc>`.
    Time,
}

/// One table of the schema, as the copy reads and writes it.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// Every column, in the schema's order, with its type.
    pub columns: &'static [(&'static str, ColumnType)],
    /// The primary key, which the rows are read in the order of (so a row comes after the
    /// older rows of its own table it names, as `outbox.after_id` does).
    key: &'static str,
    /// Whether `id` is an identity column, whose sequence is set past the copied ids.
    identity: bool,
}

use ColumnType::{Bool, Bytes, Date, Int, Text, Time};

/// Every table of the schema but `_sqlx_migrations` (the target's own migrator fills that),
/// parents before the tables that refer to them.
pub const TABLES: &[Table] = &[
    Table {
        name: "assistant",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("timezone", Text),
            ("locale", Text),
            ("created_at", Time),
            ("unauthenticated_ok", Bool),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "assistant_email",
        columns: &[("email", Text), ("assistant_id", Int), ("position", Int)],
        key: "email",
        identity: false,
    },
    Table {
        name: "client",
        columns: &[
            ("id", Int),
            ("tag", Text),
            ("name", Text),
            ("timezone", Text),
            ("locale", Text),
            ("created_at", Time),
            ("holidays", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "contact",
        columns: &[
            ("id", Int),
            ("client_id", Int),
            ("position", Int),
            ("name", Text),
            ("email", Text),
            ("role", Text),
            ("reachability", Text),
            ("unauthenticated_ok", Bool),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "engagement",
        columns: &[
            ("id", Int),
            ("assistant_id", Int),
            ("client_id", Int),
            ("start_date", Date),
            ("trial_end", Date),
            ("status", Text),
            ("hourly_rate_cents", Int),
            ("budget_minutes", Int),
            ("created_at", Time),
            ("ended_at", Time),
            ("wake_at", Time),
            ("facts_changed", Int),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "agreement",
        columns: &[
            ("id", Int),
            ("engagement_id", Int),
            ("kind", Text),
            ("signers", Text),
            ("status", Text),
            ("status_changed_at", Time),
            ("signed_on", Date),
            ("received_from", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "inbound_message",
        columns: &[
            ("id", Int),
            ("dedupe_key", Text),
            ("message_id", Text),
            ("source", Text),
            ("from_addr", Text),
            ("subject", Text),
            ("sent_at", Time),
            ("classification", Text),
            ("reason", Text),
            ("disposition", Text),
            ("size_bytes", Int),
            ("received_at", Time),
            ("content_hash", Text),
            ("auth_verdict", Text),
            ("authentication", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "survey",
        columns: &[
            ("id", Int),
            ("engagement_id", Int),
            ("kind", Text),
            ("period", Text),
            ("questions", Text),
            ("recipient", Text),
            ("locale", Text),
            ("message_id", Text),
            ("sent_at", Time),
            ("answered_at", Time),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "survey_answer",
        columns: &[
            ("id", Int),
            ("survey_id", Int),
            ("number", Int),
            ("key", Text),
            ("value", Text),
            ("inbound_id", Int),
            ("answered_at", Time),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "outbox",
        columns: &[
            ("id", Int),
            ("natural_key", Text),
            ("message_id", Text),
            ("kind", Text),
            ("engagement_id", Int),
            ("recipient", Text),
            ("subject", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_at", Time),
            ("lease_until", Time),
            ("last_error", Text),
            ("created_at", Time),
            ("sent_at", Time),
            ("token", Text),
            ("survey_id", Int),
            ("holder", Text),
            ("after_id", Int),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "outbox_raw",
        columns: &[("outbox_id", Int), ("raw", Bytes)],
        key: "outbox_id",
        identity: false,
    },
    Table {
        name: "health",
        columns: &[
            ("component", Text),
            ("last_ok_at", Time),
            ("last_error_at", Time),
            ("last_error", Text),
            ("error_count", Int),
        ],
        key: "component",
        identity: false,
    },
    Table {
        name: "health_event",
        columns: &[
            ("id", Int),
            ("component", Text),
            ("at", Time),
            ("error", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "submission",
        columns: &[
            ("id", Int),
            ("inbound_id", Int),
            ("assistant_id", Int),
            ("receipt_message_id", Text),
            ("status", Text),
            ("created_at", Time),
            ("voided_at", Time),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "time_entry",
        columns: &[
            ("id", Int),
            ("submission_id", Int),
            ("engagement_id", Int),
            ("work_date", Date),
            ("minutes", Int),
            ("description", Text),
            ("line_no", Int),
            ("line_text", Text),
            ("status", Text),
            ("created_at", Time),
            ("voided_at", Time),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "locked_month",
        columns: &[("month", Text), ("locked_at", Time)],
        key: "month",
        identity: false,
    },
    Table {
        name: "inbound_attempt",
        columns: &[
            ("dedupe_key", Text),
            ("attempts", Int),
            ("last_error", Text),
            ("last_at", Time),
        ],
        key: "dedupe_key",
        identity: false,
    },
    Table {
        name: "document",
        columns: &[
            ("id", Int),
            ("inbound_id", Int),
            ("filename", Text),
            ("content_type", Text),
            ("data", Bytes),
            ("received_at", Time),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "agreement_document",
        columns: &[("agreement_id", Int), ("document_id", Int)],
        key: "agreement_id, document_id",
        identity: false,
    },
    Table {
        name: "outbox_holder",
        columns: &[
            ("id", Text),
            ("host", Text),
            ("pid_space", Text),
            ("pid", Int),
            ("pid_started", Int),
            ("started_at", Time),
            ("heartbeat_at", Time),
        ],
        key: "id",
        identity: false,
    },
    Table {
        name: "inbound_handled",
        columns: &[("inbound_id", Int), ("action", Text), ("handled_at", Time)],
        key: "inbound_id",
        identity: false,
    },
    Table {
        name: "timesheet",
        columns: &[
            ("id", Int),
            ("engagement_id", Int),
            ("month", Text),
            ("status", Text),
            ("minutes", Int),
            ("amount_cents", Int),
            ("recipient", Text),
            ("sends", Int),
            ("sent_at", Time),
            ("answered_at", Time),
            ("answered_by", Text),
            ("approved_minutes", Int),
            ("approved_cents", Int),
            ("dispute", Text),
            ("inbound_id", Int),
            ("locked", Bool),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "kickoff_call",
        columns: &[
            ("engagement_id", Int),
            ("uid", Text),
            ("starts_at", Time),
            ("timezone", Text),
            ("minutes", Int),
            ("sequence", Int),
            ("updated_at", Time),
        ],
        key: "engagement_id",
        identity: false,
    },
    Table {
        name: "kickoff_response",
        columns: &[
            ("engagement_id", Int),
            ("sequence", Int),
            ("invitee", Text),
            ("partstat", Text),
            ("answered_at", Time),
        ],
        key: "engagement_id, sequence, invitee",
        identity: false,
    },
    Table {
        name: "template_check",
        columns: &[("digest", Text), ("checked_at", Time)],
        key: "digest",
        identity: false,
    },
];

/// Rows per `INSERT` (at most 19 columns: 9,500 parameters, under SQLite's 32,766).
const CHUNK_ROWS: usize = 500;
/// An `INSERT` is also sent once its rows hold this many bytes of text and blobs, so a table
/// of large messages or documents is never held in memory whole.
const CHUNK_BYTES: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database is not empty (table '{0}' has rows): copy only into a new database"
    )]
    TargetNotEmpty(&'static str),
    #[error("the {side} database's tables are not the ones this version of tandem copies: {what}")]
    Schema { side: &'static str, what: String },
    #[error("could not copy the table '{table}'")]
    Table {
        table: &'static str,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Store(StoreError::Query(e))
    }
}

/// What the copy is doing, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// `table` is next; the source has `rows` rows in it.
    Table { table: &'static str, rows: u64 },
    /// `done` rows of `table` are written.
    Rows {
        table: &'static str,
        done: u64,
        rows: u64,
    },
    /// Every row is written; the engagements' wake-ups and the sequences come next, then the
    /// commit.
    Finishing,
}

/// What was copied.
#[derive(Debug, Clone, Default)]
pub struct Copied {
    /// Every table with its number of rows, in the order they were copied.
    pub tables: Vec<(&'static str, u64)>,
    /// NUL characters replaced by U+FFFD on the way to PostgreSQL, which refuses them in text
    /// (mail stored by a tandem that did not replace them yet may hold some).
    pub nul_replaced: u64,
}

/// Checks that `source` can be copied: its tables and columns are those of [`TABLES`]. (Its
/// schema is current already: every [`Pool`] is, `connect` refuses one behind or ahead.)
/// Nothing is written.
pub async fn check_source(source: &Pool) -> Result<(), CopyError> {
    check_tables(&mut *super::acquire(source).await?, "source").await
}

/// Copies every row of `source` into `target`, which must be empty (the caller opened it with
/// [`super::Open::Create`], so its schema is current). In one transaction on the target: on any
/// error nothing is written. Afterwards the engagements' `wake_at` and `facts_changed` are the
/// source's (on SQLite the target's triggers changed them as agreements, surveys, mail and
/// hours were inserted; on PostgreSQL they are off while the rows go in, see
/// [`set_triggers`]), and on PostgreSQL every identity sequence is past the highest id copied.
pub async fn copy(
    source: &Pool,
    target: &Pool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Copied, CopyError> {
    check_source(source).await?;
    check_tables(&mut *super::acquire(target).await?, "target").await?;

    let mut to = super::begin_immediate(target).await?;
    for table in TABLES {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} LIMIT 1) AS t",
            table.name
        );
        let rows: i64 = on!(&mut to, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(c)
            .await)?;
        if rows > 0 {
            return Err(CopyError::TargetNotEmpty(table.name));
        }
    }

    let to_postgres = to.backend() == Backend::Postgres;
    if to_postgres {
        set_triggers(&mut to, "DISABLE").await?;
    }
    let mut from = super::begin(source).await?;
    let mut copied = Copied::default();
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        let rows: i64 = on!(&mut from, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(c)
            .await)?;
        let rows = rows as u64;
        progress(Progress::Table {
            table: table.name,
            rows,
        });
        let done = copy_table(&mut from, &mut to, table, rows, &mut copied, progress)
            .await
            .map_err(|e| match e {
                CopyError::Store(source) => CopyError::Table {
                    table: table.name,
                    source,
                },
                other => other,
            })?;
        copied.tables.push((table.name, done));
    }

    progress(Progress::Finishing);
    restore_wake_ups(&mut from, &mut to).await?;
    if to_postgres {
        set_triggers(&mut to, "ENABLE").await?;
        for table in TABLES.iter().filter(|t| t.identity) {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 0) + 1, \
                 false) FROM {0}",
                table.name
            );
            on!(&mut to, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(c)
                .await
                .map(|rows| rows.len()))?;
        }
    }
    super::rollback(from).await?;
    to.commit().await?;
    Ok(copied)
}

/// Disables or enables (`what`) the triggers of every table on PostgreSQL, in the copy's
/// transaction: a disabled trigger never commits as such. The wake-up triggers update the
/// engagement of every row inserted, and PostgreSQL keeps each version of a row updated again
/// and again in one transaction: a copy with them on slows down with every row of an
/// engagement's (minutes for 100,000 time entries). SQLite updates the row in place, so there
/// they run, and [`restore_wake_ups`] undoes their counting. Only `USER` triggers: the foreign
/// keys are checked still. Needs the tables' owner, who migrated them.
async fn set_triggers(to: &mut Conn, what: &str) -> Result<(), StoreError> {
    for table in TABLES {
        let sql = format!("ALTER TABLE {} {what} TRIGGER USER", table.name);
        on!(to, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// One column's value, as read from the source and bound for the target.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(Option<bool>),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
}

impl Value {
    /// About how many bytes the value holds (what counts towards [`CHUNK_BYTES`]).
    fn size(&self) -> usize {
        match self {
            Value::Text(Some(s)) => s.len(),
            Value::Bytes(Some(b)) => b.len(),
            _ => 8,
        }
    }
}

/// Reads one row's columns, each as its type says; a row of either driver.
pub(super) fn read_row<'r, R>(row: &'r R, table: &Table) -> Result<Vec<Value>, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| {
            Ok(match ty {
                Int => Value::Int(row.try_get(i)?),
                Text => Value::Text(row.try_get(i)?),
                Bytes => Value::Bytes(row.try_get(i)?),
                Bool => Value::Bool(row.try_get(i)?),
                Date => Value::Date(row.try_get(i)?),
                Time => Value::Time(row.try_get(i)?),
            })
        })
        .collect()
}

/// Copies one table's rows in chunks, reporting each; returns how many were written.
async fn copy_table(
    from: &mut Conn,
    to: &mut Conn,
    table: &'static Table,
    rows: u64,
    copied: &mut Copied,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64, CopyError> {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        names.join(", "),
        table.name,
        table.key
    );
    let to_postgres = to.backend() == Backend::Postgres;
    let mut chunk: Vec<Vec<Value>> = Vec::with_capacity(CHUNK_ROWS);
    let mut bytes = 0;
    let mut done = 0;
    on!(from, |c| {
        let mut stream = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(c);
        while let Some(row) = stream.try_next().await? {
            let mut values = read_row(&row, table)?;
            if to_postgres {
                copied.nul_replaced += replace_nul(&mut values);
            }
            bytes += values.iter().map(Value::size).sum::<usize>();
            chunk.push(values);
            if chunk.len() == CHUNK_ROWS || bytes >= CHUNK_BYTES {
                done += insert(to, table, &chunk).await?;
                chunk.clear();
                bytes = 0;
                progress(Progress::Rows {
                    table: table.name,
                    done,
                    rows,
                });
            }
        }
        Ok::<(), CopyError>(())
    })?;
    if !chunk.is_empty() {
        done += insert(to, table, &chunk).await?;
    }
    progress(Progress::Rows {
        table: table.name,
        done,
        rows,
    });
    Ok(done)
}

/// Replaces every NUL in the row's text by U+FFFD, as tandem does with mail before it stores
/// it; returns how many there were.
fn replace_nul(values: &mut [Value]) -> u64 {
    let mut replaced = 0;
    for value in values {
        if let Value::Text(Some(s)) = value
            && s.contains('\0')
        {
            replaced += s.matches('\0').count() as u64;
            *s = s.replace('\0', "\u{FFFD}");
        }
    }
    replaced
}

/// Inserts `rows` into `table` in one statement, ids and all; returns how many were written.
async fn insert(to: &mut Conn, table: &Table, rows: &[Vec<Value>]) -> Result<u64, StoreError> {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let head = format!("INSERT INTO {} ({}) ", table.name, names.join(", "));
    let written = on!(to, |c, Db| {
        let mut insert = sqlx::QueryBuilder::<Db>::new(head);
        insert.push_values(rows, |mut row, values| {
            for value in values {
                match value {
                    Value::Int(v) => row.push_bind(*v),
                    Value::Text(v) => row.push_bind(v.clone()),
                    Value::Bytes(v) => row.push_bind(v.clone()),
                    Value::Bool(v) => row.push_bind(*v),
                    Value::Date(v) => row.push_bind(*v),
                    Value::Time(v) => row.push_bind(*v),
                };
            }
        });
        insert.build().execute(c).await.map(|r| r.rows_affected())
    })?;
    if written != rows.len() as u64 {
        return Err(StoreError::Conflict(format!(
            "{} of {} rows were written to '{}'",
            written,
            rows.len(),
            table.name
        )));
    }
    Ok(written)
}

/// Sets every engagement's `wake_at` and `facts_changed` to the source's. SQLite's triggers
/// cleared the one and counted up the other as each agreement, survey, mail and time entry was
/// inserted; `facts_changed` must not differ from what a scheduler that read the source saw,
/// and `wake_at` is as the source's scheduler planned it. (On PostgreSQL, with the triggers
/// off, this changes nothing.)
async fn restore_wake_ups(from: &mut Conn, to: &mut Conn) -> Result<(), CopyError> {
    let wake_ups: Vec<(i64, Option<DateTime<Utc>>, i64)> = on!(from, |c| sqlx::query_as(
        "SELECT id, wake_at, facts_changed FROM engagement ORDER BY id"
    )
    .fetch_all(c)
    .await)?;
    // The VALUES list's columns are column1, column2, ... in SQLite and PostgreSQL alike.
    for chunk in wake_ups.chunks(CHUNK_ROWS) {
        on!(to, |c, Db| {
            let mut update = sqlx::QueryBuilder::<Db>::new(
                "UPDATE engagement SET wake_at = v.column2, facts_changed = v.column3 FROM (",
            );
            update.push_values(chunk, |mut row, (id, wake_at, facts_changed)| {
                row.push_bind(*id)
                    .push_bind(*wake_at)
                    .push_bind(*facts_changed);
            });
            update.push(") AS v WHERE engagement.id = v.column1");
            update.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Checks that the database behind `conn` has exactly the tables of [`TABLES`] (and
/// `_sqlx_migrations`), each with exactly its columns in its order.
async fn check_tables(conn: &mut Conn, side: &'static str) -> Result<(), CopyError> {
    let schema_error = |what: String| CopyError::Schema { side, what };
    let (tables_sql, columns_sql) = match conn.backend() {
        Backend::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
            "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        ),
        Backend::Postgres => (
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             ORDER BY table_name",
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        ),
    };
    let found: Vec<String> = on!(conn, |c| sqlx::query_scalar(tables_sql).fetch_all(c).await)?;
    for name in &found {
        if name != "_sqlx_migrations" && !TABLES.iter().any(|t| t.name == name) {
            return Err(schema_error(format!(
                "it has a table '{name}' tandem does not know"
            )));
        }
    }
    for table in TABLES {
        if !found.iter().any(|name| name == table.name) {
            return Err(schema_error(format!("it has no table '{}'", table.name)));
        }
        let columns: Vec<String> = on!(conn, |c| sqlx::query_scalar(columns_sql)
            .bind(table.name)
            .fetch_all(c)
            .await)?;
        let expected: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        if columns != expected {
            return Err(schema_error(format!(
                "the table '{}' has the columns {}, tandem copies {}",
                table.name,
                columns.join(", "),
                expected.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables of `migrations/postgres/`, read from its `CREATE TABLE` statements: each
    /// column's name, its declared type, and whether it is an identity.
    fn postgres_schema() -> Vec<(String, Vec<(String, String)>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut tables: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let mut current: Option<(String, Vec<(String, String)>)> = None;
            for line in text.lines() {
                if let Some(rest) = line.trim_start().strip_prefix("ALTER TABLE ") {
                    // A constraint changed in place changes no column, nor does a column's
                    // compression.
                    if line.contains("CONSTRAINT") || line.contains("SET COMPRESSION") {
                        continue;
                    }
                    // Only `ALTER TABLE t ADD COLUMN c TYPE ...;` is read: a column at the end.
                    let words: Vec<&str> = rest.split_whitespace().collect();
                    let [table, "ADD", "COLUMN", name, ty, ..] = words.as_slice() else {
                        panic!(
                            "{}: this test reads CREATE TABLE and ALTER TABLE ... ADD COLUMN \
                             only; teach it {line}",
                            file.display()
                        );
                    };
                    let ty = ty.trim_end_matches([',', ';']).to_string();
                    let (_, columns) = tables
                        .iter_mut()
                        .find(|(t, _)| t == table)
                        .expect("ALTER TABLE of a table created before");
                    columns.push((name.to_string(), ty));
                } else if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                    let name = rest.split_whitespace().next().unwrap().to_string();
                    current = Some((name, Vec::new()));
                } else if line.starts_with(");") {
                    tables.extend(current.take());
                } else if let Some((_, columns)) = &mut current {
                    let line = line.trim();
                    let mut words = line.split_whitespace();
                    let (Some(name), Some(ty)) = (words.next(), words.next()) else {
                        continue;
                    };
                    let ty = ty.trim_end_matches(',');
                    let is_column = name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        && ty.chars().all(|c| c.is_ascii_uppercase());
                    if is_column {
                        let identity = line.contains("GENERATED BY DEFAULT AS IDENTITY");
                        let ty = if identity {
                            format!("{ty} IDENTITY")
                        } else {
                            ty.to_string()
                        };
                        columns.push((name.to_string(), ty));
                    }
                }
            }
        }
        tables
    }

    #[test]
    fn the_tables_are_those_of_the_postgres_schema_with_their_types() {
        let schema = postgres_schema();
        assert!(schema.len() >= 19, "read {} tables", schema.len());
        let declared = |ty: ColumnType, identity: bool| match (ty, identity) {
            (Int, true) => "BIGINT IDENTITY",
            (Int, false) => "BIGINT",
            (Text, _) => "TEXT",
            (Bytes, _) => "BYTEA",
            (Bool, _) => "BOOLEAN",
            (Date, _) => "DATE",
            (Time, _) => "TIMESTAMPTZ",
        };
        let ours: Vec<(String, Vec<(String, String)>)> = TABLES
            .iter()
            .map(|t| {
                let columns = t
                    .columns
                    .iter()
                    .map(|(name, ty)| {
                        let identity = t.identity && *name == "id";
                        (name.to_string(), declared(*ty, identity).to_string())
                    })
                    .collect();
                (t.name.to_string(), columns)
            })
            .collect();
        let mut sorted_ours = ours.clone();
        sorted_ours.sort();
        let mut sorted_schema = schema.clone();
        sorted_schema.sort();
        assert_eq!(sorted_ours, sorted_schema);
        // Parents first: every table is copied after the tables it refers to, as the schema
        // creates them.
        let order = |list: &[(String, Vec<(String, String)>)]| -> Vec<String> {
            list.iter().map(|(name, _)| name.clone()).collect()
        };
        assert_eq!(order(&ours), order(&schema));
    }

    #[test]
    fn nul_characters_are_replaced_and_counted() {
        let mut row = vec![
            Value::Int(Some(1)),
            Value::Text(Some("a\0b\0".into())),
            Value::Text(None),
            Value::Bytes(Some(b"\0".to_vec())),
        ];
        assert_eq!(replace_nul(&mut row), 2);
        assert_eq!(row[1], Value::Text(Some("a\u{FFFD}b\u{FFFD}".into())));
        assert_eq!(row[3], Value::Bytes(Some(b"\0".to_vec())));
    }
}
