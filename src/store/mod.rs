//! The database: the pool, migrations, and the queries, grouped by table family. Every query is
//! portable SQL (`$1` placeholders, `ON CONFLICT`, `RETURNING`); exactly-once decisions are made
//! here by unique keys, never by reading first and writing after.

pub mod digest;
pub mod engagements;
pub mod health;
pub mod inbound;
pub mod outbox;
pub mod people;
pub mod surveys;
pub mod timelog;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub type Db = sqlx::Sqlite;
pub type Pool = sqlx::SqlitePool;
/// One connection, or an open transaction (which derefs to one): what every query takes.
/// Flows, tasks and the CLI name this, never the driver's type.
pub type Conn = sqlx::SqliteConnection;
pub type Tx = sqlx::Transaction<'static, Db>;
/// A connection taken from the pool.
pub type PoolConn = sqlx::pool::PoolConnection<Db>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not open the database '{url}'")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the database '{0}' does not exist yet: run `tandem init`")]
    Missing(String),
    #[error("could not bring the database schema up to date")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the database holds a value tandem cannot read: {0}")]
    Corrupt(String),
    #[error("a database query failed")]
    Query(#[from] sqlx::Error),
}

/// How a database is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create the file (and its folder) when missing, and apply migrations.
    Create,
    /// Open an existing database read-only; used where tandem promises no side effects.
    ReadOnly,
}

/// Opens the pool: WAL, foreign keys on, a busy timeout so concurrent writers (a CLI command
/// beside the daemon) wait instead of failing.
pub async fn connect(url: &str, max_connections: u32, mode: Open) -> Result<Pool, StoreError> {
    let open_err = |source| StoreError::Open {
        url: url.to_string(),
        source,
    };
    let mut options = SqliteConnectOptions::from_str(url)
        .map_err(open_err)?
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let file = options.get_filename().to_path_buf();
    match mode {
        Open::Create => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
            }
            options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // A commit is on disk before the reader moves its message on the server:
                // with NORMAL, a power loss could undo a commit whose message was moved, and
                // the message would never be read again.
                .synchronous(SqliteSynchronous::Full);
        }
        Open::ReadOnly => {
            if !Path::new(&file).exists() {
                return Err(StoreError::Missing(url.to_string()));
            }
            options = options.read_only(true);
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .after_release(|conn, _| Box::pin(reusable(conn)))
        .connect_with(options)
        .await
        .map_err(open_err)?;
    if mode == Open::Create {
        MIGRATOR.run(&pool).await?;
    }
    Ok(pool)
}

/// Whether a connection coming back to the pool may be handed out again: not when it is still
/// inside a transaction. A `Tx` dropped without a commit (an error on the way, or a failed
/// `COMMIT`) queues a `ROLLBACK` on its connection; when that rollback fails too (SQLite may
/// already have rolled back by itself after `database or disk is full`, or may not have), the
/// driver still counts the transaction as open, and the next `begin` on that connection would
/// open a savepoint inside a transaction that never ends: its write lock would keep every
/// other writer out for good. Such a connection is closed instead (closing rolls back and
/// releases its locks), and the pool opens a fresh one.
async fn reusable(conn: &mut Conn) -> Result<bool, sqlx::Error> {
    // The driver counts a transaction open from its `BEGIN` until its `COMMIT` or `ROLLBACK`
    // ran: a connection that was used without one (most are) is reusable without asking it.
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // The rollback a dropped `Tx` queued runs before this ping is answered.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!(
            "a database connection came back inside a transaction (its commit or rollback \
             failed); closing it"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Opens a transaction.
pub async fn begin(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin().await?)
}

/// Opens a transaction that takes the write lock at once, so two writers deciding the same
/// thing (two daemons queueing one scheduled mail) wait for each other instead of one failing
/// on a stale read.
pub async fn begin_immediate(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Commits `tx`. When the commit fails, `tx` is rolled back as it is dropped, and its connection
/// is closed rather than reused if that fails too (see `reusable`).
pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// Rolls `tx` back.
pub async fn rollback(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.rollback().await?)
}

/// A savepoint inside an open transaction: what it did is undone alone by
/// [`rollback_savepoint`], or kept in the transaction by [`release`].
pub type Savepoint<'c> = sqlx::Transaction<'c, Db>;

/// Opens a savepoint in the transaction `tx` is in.
pub async fn savepoint(tx: &mut Conn) -> Result<Savepoint<'_>, StoreError> {
    use sqlx::Connection as _;
    Ok(tx.begin().await?)
}

/// Keeps what was done since the savepoint, in its transaction.
pub async fn release(savepoint: Savepoint<'_>) -> Result<(), StoreError> {
    Ok(savepoint.commit().await?)
}

/// Undoes what was done since the savepoint; the transaction stays open.
pub async fn rollback_savepoint(savepoint: Savepoint<'_>) -> Result<(), StoreError> {
    Ok(savepoint.rollback().await?)
}

/// A connection from the pool, for reads and single writes.
pub async fn acquire(pool: &Pool) -> Result<PoolConn, StoreError> {
    Ok(pool.acquire().await?)
}

/// Whether every migration shipped with this binary has been applied (for `tandem check`).
pub async fn schema_is_current(pool: &Pool) -> Result<bool, StoreError> {
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await?;
    Ok(applied as usize == MIGRATOR.iter().count())
}

pub(crate) fn parse_column<T: FromStr>(value: &str, what: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} '{value}': {e}")))
}
