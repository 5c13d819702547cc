//! The database: the pool, migrations, and the queries, grouped by table family. Every query is
//! portable SQL (`$1` placeholders, `ON CONFLICT`, `RETURNING`); exactly-once decisions are made
//! here by unique keys, never by reading first and writing after.

pub mod backup;
pub mod calls;
pub mod copy;
pub mod digest;
pub mod engagements;
pub mod health;
pub mod inbound;
pub mod journal;
mod later;
pub mod outbox;
pub mod people;
pub mod privacy;
pub mod surveys;
pub mod timelog;
pub mod timesheets;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous,
};

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of PostgreSQL's advisory transaction lock that every transaction takes first: one
/// writing transaction at a time, as SQLite's write lock gives (see ARCHITECTURE.md, "Which
/// lock guards what"). The number is "tandem" in ASCII.
const WRITER_LOCK: i64 = 0x74_61_6e_64_65_6d;

/// The key of PostgreSQL's advisory session lock that a reader holds while it reads a batch
/// and moves it ([`mailbox_turn`]): "tandem.in" in ASCII.
const READER_LOCK: i64 = 0x74_61_6e_64_65_6d_2e_69;

/// Which database a [`Pool`] talks to, chosen at run time by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `postgres://` or `postgresql://` is PostgreSQL,
    /// anything else SQLite.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The tables whose rows a transaction may write later ([`Conn::write_later`]), their ids taken
/// beforehand.
#[derive(Debug, Clone, Copy)]
enum Table {
    Inbound,
    Submission,
    Outbox,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Inbound => "inbound_message",
            Table::Submission => "submission",
            Table::Outbox => "outbox",
        }
    }
}

/// The connection pool, of one backend or the other. Queries run on a [`Conn`] taken from it.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// One connection, or an open transaction: what every query takes (as `&mut Conn`; a [`Tx`]
/// and a [`PoolConn`] deref to one). Flows, tasks and the CLI name this, never a driver type.
pub struct Conn {
    link: Link,
    /// Rows this transaction writes later ([`Conn::write_later`]); `None` while it writes
    /// each row as it comes.
    later: Option<Box<later::Later>>,
}

enum Link {
    SqlitePooled(PoolConnection<Sqlite>),
    SqliteTx(sqlx::Transaction<'static, Sqlite>),
    PostgresPooled(PoolConnection<Postgres>),
    PostgresTx(sqlx::Transaction<'static, Postgres>),
}

/// The driver's connection behind a [`Conn`]: what [`on!`] matches on, so that one query text
/// and its binds are written once and compiled for each backend.
#[doc(hidden)]
pub enum Driver<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn {
    fn new(link: Link) -> Conn {
        Conn { link, later: None }
    }

    /// The driver's connection as it is: only [`Conn::ready`] and `later.rs` take it.
    fn driver(&mut self) -> Driver<'_> {
        driver_of(&mut self.link)
    }

    pub fn backend(&self) -> Backend {
        match &self.link {
            Link::SqlitePooled(_) | Link::SqliteTx(_) => Backend::Sqlite,
            Link::PostgresPooled(_) | Link::PostgresTx(_) => Backend::Postgres,
        }
    }
}

fn driver_of(link: &mut Link) -> Driver<'_> {
    match link {
        Link::SqlitePooled(c) => Driver::Sqlite(c),
        Link::SqliteTx(t) => Driver::Sqlite(t),
        Link::PostgresPooled(c) => Driver::Postgres(c),
        Link::PostgresTx(t) => Driver::Postgres(t),
    }
}

/// Runs `$body` with `$c` bound to the driver connection (`&mut SqliteConnection` or
/// `&mut PgConnection`) behind `$conn: &mut Conn`. The body is compiled once per backend, so it
/// must end in a value both share (call `.rows_affected()` inside, decode rows inside).
/// `|$c, $db|` also names the backend's `sqlx::Database` type, for a `QueryBuilder`. The rows
/// the transaction keeps to write later are written first ([`Conn::ready`]): the body's result
/// is a `Result` whose error an `sqlx::Error` converts into. Exported for the tests and
/// benchmarks, which read and seed the database directly.
#[macro_export]
#[doc(hidden)]
macro_rules! on {
    ($conn:expr, |$c:ident| $body:expr) => {
        $crate::store::on_driver!($crate::store::Conn::ready($conn), |$c, _Db| $body)
    };
    ($conn:expr, |$c:ident, $db:ident| $body:expr) => {
        $crate::store::on_driver!($crate::store::Conn::ready($conn), |$c, $db| $body)
    };
}
pub use crate::on;

/// As [`on!`], for a statement that only reads, and only what no row kept to be written later
/// would change: tables whose rows no transaction keeps (every table but `inbound_message`,
/// `submission`, `time_entry`, `outbox` and `outbox_raw`: see `later.rs`), or, with `if
/// unseen`, rows of those that the caller has found none of the kept rows to be among. The
/// rows kept stay kept (otherwise they are written first, as by [`on!`]), and on SQLite the
/// next ids taken for them stay valid: the statement writes no row. The reader's lookups in a
/// slice (people, engagements, locks, approvals, the hours already logged) use it, so that
/// each does not write the rows kept so far in statements of their own.
#[macro_export]
#[doc(hidden)]
macro_rules! on_unkept {
    ($conn:expr, |$c:ident| $body:expr) => {
        $crate::store::on_unkept!($conn, if true, |$c, _Db| $body)
    };
    ($conn:expr, if $unseen:expr, |$c:ident, $db:ident| $body:expr) => {
        $crate::store::on_driver!(
            $crate::store::Conn::ready_unless($conn, $unseen),
            |$c, $db| $body
        )
    };
}
pub use crate::on_unkept;

/// What [`on!`] and [`on_unkept!`] share: awaits `$ready` (a `Conn` method giving the driver's
/// connection) and runs `$body` once per backend, `$db` naming its `sqlx::Database` type.
#[macro_export]
#[doc(hidden)]
macro_rules! on_driver {
    ($ready:expr, |$c:ident, $db:ident| $body:expr) => {
        match $ready.await {
            ::core::result::Result::Err(e) => {
                ::core::result::Result::Err(::core::convert::From::from(e))
            }
            ::core::result::Result::Ok($crate::store::Driver::Sqlite($c)) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            ::core::result::Result::Ok($crate::store::Driver::Postgres($c)) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
        }
    };
}
pub use crate::on_driver;

/// An open transaction; rolled back when dropped without [`commit`].
pub struct Tx(Conn);

/// A connection taken from the pool, for reads and single writes.
pub struct PoolConn(Conn);

impl Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

impl Deref for PoolConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not open the database '{url}'")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("no tandem database at '{0}': run `tandem init`")]
    Missing(String),
    #[error("'{url}' is not a tandem database ({why}); check `database.url`")]
    Foreign { url: String, why: String },
    #[error(
        "the database at '{url}' is {behind} migration(s) behind this tandem: run `tandem init` \
         to bring it up to date"
    )]
    Outdated { url: String, behind: usize },
    #[error(
        "the database at '{url}' has migration {version}, which this tandem does not know: it \
         was upgraded by a newer tandem; run that one"
    )]
    Newer { url: String, version: i64 },
    #[error("could not bring the database schema up to date")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the database holds a value tandem cannot read: {0}")]
    Corrupt(String),
    #[error("a database query failed")]
    Query(#[source] sqlx::Error),
    /// A write the database refused because it is read-only (SQLite's file, its folder, or a
    /// read-only transaction): said as a write, not as a failed query.
    #[error("could not write the database: it is read-only")]
    ReadOnly(#[source] sqlx::Error),
    /// SQLite's file (or its folder, where the WAL files live) cannot be written.
    #[error("could not write the database file '{path}': {reason}")]
    FileNotWritable { path: PathBuf, reason: String },
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        let read_only = match &error {
            sqlx::Error::Database(db) => {
                // SQLITE_READONLY and its extended codes (8 + n*256); PostgreSQL's
                // read_only_sql_transaction.
                let code = db.code().unwrap_or_default();
                code == "25006" || code.parse::<i64>().is_ok_and(|c| c & 0xff == 8)
            }
            _ => false,
        };
        match read_only {
            true => StoreError::ReadOnly(error),
            false => StoreError::Query(error),
        }
    }
}

impl StoreError {
    /// The database's own words, when this is a write it refused as read-only.
    pub fn read_only_reason(&self) -> Option<String> {
        match self {
            StoreError::ReadOnly(sqlx::Error::Database(db)) => Some(db.message().to_string()),
            StoreError::ReadOnly(other) => Some(other.to_string()),
            _ => None,
        }
    }
}

/// The database of `url` as an error names it: SQLite's file, or "the database".
pub fn database_named(url: &str) -> String {
    match Backend::of_url(url) {
        Backend::Sqlite => {
            let file = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let file = file.split('?').next().unwrap_or(file);
            format!("the database file '{file}'")
        }
        Backend::Postgres => "the database".to_string(),
    }
}

/// Why SQLite's database file or its folder cannot be written, if it cannot (a read-only
/// mount, missing permission). Tried without changing anything: the file opened for append,
/// the folder's `-wal`/`-shm` files likewise when present.
fn unwritable(file: &Path) -> Option<String> {
    let wal = |suffix: &str| {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    for path in [file.to_path_buf(), wal("-wal"), wal("-shm")] {
        if !path.exists() {
            continue;
        }
        if let Err(e) = std::fs::OpenOptions::new().append(true).open(&path) {
            return Some(e.to_string());
        }
    }
    None
}

/// How a database is opened. Only `init` and `run` create or migrate; every other command
/// opens what is there and refuses a database that is missing, not tandem's, or of another
/// schema version (see [`check_schema`]), so a mistyped URL creates nothing and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create the file (and its folder) when missing, and apply migrations (to an empty
    /// database or an older tandem's; someone else's is refused, as by the other modes).
    Create,
    /// Open an existing tandem database read-write, as it is: nothing is created or migrated.
    Existing,
    /// Open an existing tandem database read-only; used where tandem promises no side effects.
    ReadOnly,
}

/// Where the database is: its URL, and for PostgreSQL the password kept out of it.
#[derive(Clone, Copy)]
pub struct Location<'a> {
    pub url: &'a str,
    pub password: Option<&'a str>,
}

impl<'a> Location<'a> {
    /// A database with no password beyond what its URL says.
    pub fn url(url: &'a str) -> Self {
        Location {
            url,
            password: None,
        }
    }
}

/// The connections of a pool when the config does not say (`[database] max_connections`).
/// SQLite writes one transaction at a time: the reader (which has a connection of its own
/// besides), the outbox worker and the scheduler each take one when they work, and a fourth
/// or fifth only waited for the write lock while it kept a thread, a copy of the schema and a
/// cache of statements of its own, about 200 kB (2,000 mails took as long with 3 as with 5).
/// PostgreSQL serves several at once, and several daemons.
pub fn default_connections(url: &str) -> u32 {
    match Backend::of_url(url) {
        Backend::Sqlite => 3,
        Backend::Postgres => 5,
    }
}

/// Opens the pool of the backend the URL names.
pub async fn connect(
    at: Location<'_>,
    max_connections: u32,
    mode: Open,
) -> Result<Pool, StoreError> {
    match Backend::of_url(at.url) {
        Backend::Sqlite => connect_sqlite(at.url, max_connections, mode).await,
        Backend::Postgres => connect_postgres(at, max_connections, mode).await,
    }
}

/// SQLite: WAL, foreign keys on, a busy timeout so concurrent writers (a CLI command beside the
/// daemon) wait instead of failing.
async fn connect_sqlite(url: &str, max_connections: u32, mode: Open) -> Result<Pool, StoreError> {
    let open_err = |source| StoreError::Open {
        url: url.to_string(),
        source,
    };
    let mut options = SqliteConnectOptions::from_str(url)
        .map_err(open_err)?
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // A statement's journal (each multi-row insert of a transaction keeps one, to undo
        // that statement alone) stays in memory: on a file, past 64 KiB, each write of one
        // was a system call.
        .pragma("temp_store", "memory");
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
        Open::Existing | Open::ReadOnly => {
            if !Path::new(&file).exists() {
                return Err(StoreError::Missing(url.to_string()));
            }
            options = match mode {
                Open::ReadOnly => options.read_only(true),
                // No journal mode is set: `init` made the file WAL, and WAL stays; setting it
                // here would write to a file that may turn out not to be tandem's.
                _ => options.synchronous(SqliteSynchronous::Full),
            };
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .after_release(|conn, _| Box::pin(reusable(conn)))
        .connect_with(options)
        .await
        .map_err(
            |e| match unwritable(&file).filter(|_| mode != Open::ReadOnly) {
                Some(reason) => StoreError::FileNotWritable {
                    path: file.clone(),
                    reason,
                },
                None => open_err(e),
            },
        )?;
    settle_schema(Pool::Sqlite(pool), url, mode).await
}

/// PostgreSQL: the URL's own parameters (`sslmode`, `sslrootcert`, `password`, ...) apply; a
/// password kept out of the config comes from `PGPASSWORD` or `PGPASSFILE`, which the driver
/// reads as libpq does. Read-only opens make every transaction read-only.
async fn connect_postgres(
    at: Location<'_>,
    max_connections: u32,
    mode: Open,
) -> Result<Pool, StoreError> {
    let open_err = |source| StoreError::Open {
        url: at.url.to_string(),
        source,
    };
    let mut options = PgConnectOptions::from_str(at.url).map_err(open_err)?;
    if let Some(password) = at.password {
        options = options.password(password);
    }
    if mode == Open::ReadOnly {
        options = options.options([("default_transaction_read_only", "on")]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .after_release(|conn, _| Box::pin(reusable(conn)))
        .connect_with(options)
        .await
        .map_err(open_err)?;
    settle_schema(Pool::Postgres(pool), at.url, mode).await
}

/// A pool of one connection to `sqlite`'s database (its file, URL parameters and busy
/// timeout), opened by its first use and kept open: its thread starts on the CPU of the task
/// that first uses it, and the statements it prepared stay prepared. For a task of its own
/// beside the database's pool ([`Pool::of_one`], `outbox::Messages`).
pub(crate) fn one_connection(sqlite: &sqlx::SqlitePool) -> sqlx::SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .after_release(|conn, _| Box::pin(reusable(conn)))
        .connect_lazy_with((*sqlite.connect_options()).clone())
}

/// Whether a connection coming back to the pool may be handed out again: not when it is still
/// inside a transaction. A `Tx` dropped without a commit (an error on the way, or a failed
/// `COMMIT`) queues a `ROLLBACK` on its connection; when that rollback fails too (SQLite may
/// already have rolled back by itself after `database or disk is full`, or may not have), the
/// driver still counts the transaction as open, and the next `begin` on that connection would
/// open a savepoint inside a transaction that never ends: its write lock would keep every
/// other writer out for good. Such a connection is closed instead (closing rolls back and
/// releases its locks), and the pool opens a fresh one.
async fn reusable<C: sqlx::Connection>(conn: &mut C) -> Result<bool, sqlx::Error> {
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

impl Pool {
    /// Connections open, of them idle, and the most the pool opens: for `/metrics`.
    pub fn pool_use(&self) -> (u32, u32, u32) {
        match self {
            Pool::Sqlite(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
            Pool::Postgres(p) => (
                p.size(),
                p.num_idle() as u32,
                p.options().get_max_connections(),
            ),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether every statement that writes waits for any open write transaction: SQLite's one
    /// write lock. On PostgreSQL a statement of its own waits only for the rows it touches.
    pub fn one_writer(&self) -> bool {
        matches!(self, Pool::Sqlite(_))
    }

    /// A connection from the pool, for reads and single writes.
    pub async fn acquire(&self) -> Result<PoolConn, sqlx::Error> {
        Ok(PoolConn(Conn::new(match self {
            Pool::Sqlite(p) => Link::SqlitePooled(p.acquire().await?),
            Pool::Postgres(p) => Link::PostgresPooled(p.acquire().await?),
        })))
    }

    /// Opens a transaction. On PostgreSQL it first takes the writer lock, so that it decides
    /// on what it reads as a transaction on SQLite does (where a second writer waits, or fails
    /// on a stale read, but never writes over a decision it did not see).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Pool::Sqlite(p) => Ok(Tx(Conn::new(Link::SqliteTx(p.begin().await?)))),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITER_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(Tx(Conn::new(Link::PostgresTx(tx))))
            }
        }
    }

    /// Opens a transaction that holds the write lock from its first statement, so two writers
    /// deciding the same thing (two daemons queueing one scheduled mail) wait for each other
    /// instead of one failing on a stale read. On PostgreSQL every transaction does.
    pub async fn begin_immediate(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Pool::Sqlite(p) => Ok(Tx(Conn::new(Link::SqliteTx(
                p.begin_with("BEGIN IMMEDIATE").await?,
            )))),
            Pool::Postgres(_) => self.begin().await,
        }
    }

    /// A pool of one connection to this pool's SQLite file, opened when first used, for a task
    /// whose transactions follow one another (the reader's): each statement it runs is
    /// prepared once. From this pool the task would get its idle connections in turn (oldest
    /// first), each preparing every statement again: the reader's multi-row inserts, a text
    /// for each number of rows, were prepared about 300 times for 2,000 mails, a tenth of
    /// SQLite's CPU in the drain. On PostgreSQL, and for a database in memory (no other
    /// connection sees it), this pool.
    pub fn of_one(&self) -> Pool {
        match self {
            Pool::Sqlite(p) if self.file().is_some() => Pool::Sqlite(one_connection(p)),
            _ => self.clone(),
        }
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// The file of a SQLite database; `None` on PostgreSQL or in memory.
    pub fn file(&self) -> Option<std::path::PathBuf> {
        match self {
            Pool::Sqlite(p) => {
                let options = p.connect_options();
                let file = options.get_filename();
                let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
                (!in_memory).then(|| file.to_path_buf())
            }
            Pool::Postgres(_) => None,
        }
    }

    /// Connections open, and of those idle.
    pub fn usage(&self) -> (u32, usize) {
        match self {
            Pool::Sqlite(p) => (p.size(), p.num_idle()),
            Pool::Postgres(p) => (p.size(), p.num_idle()),
        }
    }
}

impl Tx {
    /// Commits; see [`commit`].
    pub async fn commit(self) -> Result<(), StoreError> {
        commit(self).await
    }

    /// Rolls back; see [`rollback`].
    pub async fn rollback(self) -> Result<(), StoreError> {
        rollback(self).await
    }
}

/// The right to read the mailbox for one step, held by one process of those sharing this
/// database: several daemons on one mailbox would otherwise fetch the same messages, and their
/// moves, overlapping, leave copies (IMAP's MOVE copies before it expunges; a Maildir file is
/// linked before it is unlinked). Let go by [`MailboxTurn::release`], or by the process ending
/// however it ends: on PostgreSQL it is an advisory lock of the connection's session (closed
/// when not released), on SQLite an OS lock on a file beside the database.
pub struct MailboxTurn(Hold);

enum Hold {
    Postgres(Option<PoolConnection<Postgres>>),
    /// Held until unlocked (on drop). Unlocked, not only closed: a child process that another
    /// thread forks meanwhile holds a copy of the open file until it execs, and the lock of a
    /// file closed here would stay with that copy: the next turn would find it taken.
    File {
        lock: std::fs::File,
    },
    /// An in-memory SQLite database has one process.
    Alone,
}

/// Takes the mailbox turn if no other process holds it; `None` when one does.
pub async fn mailbox_turn(pool: &Pool) -> Result<Option<MailboxTurn>, StoreError> {
    match pool {
        Pool::Postgres(p) => {
            let mut conn = p.acquire().await?;
            let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(READER_LOCK)
                .fetch_one(&mut *conn)
                .await?;
            Ok(taken.then(|| MailboxTurn(Hold::Postgres(Some(conn)))))
        }
        Pool::Sqlite(p) => {
            let options = p.connect_options();
            let file = options.get_filename();
            if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
                return Ok(Some(MailboxTurn(Hold::Alone)));
            }
            let mut path = file.as_os_str().to_owned();
            path.push(".reader-lock");
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| StoreError::Query(sqlx::Error::Io(e)))?;
            match lock.try_lock() {
                Ok(()) => Ok(Some(MailboxTurn(Hold::File { lock }))),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Query(sqlx::Error::Io(e))),
            }
        }
    }
}

impl MailboxTurn {
    /// Lets the turn go.
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Hold::Postgres(conn) = &mut self.0
            && let Some(mut conn) = conn.take()
        {
            let unlocked = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
                .bind(READER_LOCK)
                .fetch_one(&mut *conn)
                .await;
            if !matches!(unlocked, Ok(true)) {
                // The lock may still be held: the session goes, and the lock with it.
                conn.close_on_drop();
            }
            unlocked?;
        }
        Ok(())
    }
}

impl Drop for MailboxTurn {
    fn drop(&mut self) {
        // On PostgreSQL, not released (an error on the way, or a cancelled step): the lock must
        // not go back to the pool with its connection.
        match &mut self.0 {
            Hold::Postgres(Some(conn)) => conn.close_on_drop(),
            Hold::File { lock } => {
                if let Err(error) = lock.unlock() {
                    tracing::warn!(%error, "could not let the mailbox turn go; closing its file");
                }
            }
            Hold::Postgres(None) | Hold::Alone => {}
        }
    }
}

/// Opens a transaction.
pub async fn begin(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin().await?)
}

/// Opens a transaction that takes the write lock at once (see [`Pool::begin_immediate`]).
pub async fn begin_immediate(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin_immediate().await?)
}

/// Commits `tx`. When the commit fails, `tx` is rolled back as it is dropped, and its connection
/// is closed rather than reused if that fails too (see `reusable`).
pub async fn commit(mut tx: Tx) -> Result<(), StoreError> {
    tx.flush().await?;
    match tx.0.link {
        Link::SqliteTx(t) => t.commit().await?,
        Link::PostgresTx(t) => t.commit().await?,
        Link::SqlitePooled(_) | Link::PostgresPooled(_) => unreachable!("a Tx holds a transaction"),
    }
    Ok(())
}

/// Rolls `tx` back.
pub async fn rollback(tx: Tx) -> Result<(), StoreError> {
    match tx.0.link {
        Link::SqliteTx(t) => t.rollback().await?,
        Link::PostgresTx(t) => t.rollback().await?,
        Link::SqlitePooled(_) | Link::PostgresPooled(_) => unreachable!("a Tx holds a transaction"),
    }
    Ok(())
}

/// Marks a savepoint in the transaction `tx` is in: what is done after it is undone alone by
/// [`rollback_savepoint`]. With `after_another`, the savepoint marked before is released first
/// (what was done since it is kept in the transaction), in the same round trip. One at a time;
/// the commit releases the last one, and a transaction dropped without a commit (an error on the
/// way out) is rolled back whole.
pub async fn savepoint(tx: &mut Conn, after_another: bool) -> Result<(), StoreError> {
    if after_another {
        statement(tx, "RELEASE SAVEPOINT message; SAVEPOINT message").await
    } else {
        statement(tx, "SAVEPOINT message").await
    }
}

/// Undoes what was done since [`savepoint`]; the transaction stays open, and so does the
/// savepoint (empty now).
pub async fn rollback_savepoint(tx: &mut Conn) -> Result<(), StoreError> {
    statement(tx, "ROLLBACK TO SAVEPOINT message").await
}

/// Runs fixed SQL with no parameters and no result.
async fn statement(conn: &mut Conn, sql: &'static str) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::raw_sql(sql)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A connection from the pool, for reads and single writes.
pub async fn acquire(pool: &Pool) -> Result<PoolConn, StoreError> {
    Ok(pool.acquire().await?)
}

/// Checks the schema of a pool just opened, and with [`Open::Create`] creates or completes it:
/// a database with nothing in it, or an older tandem's, is migrated; one that is someone
/// else's, or a newer tandem's, is refused whatever the mode.
async fn settle_schema(pool: Pool, url: &str, mode: Open) -> Result<Pool, StoreError> {
    let migrated = match (mode, check_schema(&pool, url).await) {
        (_, Ok(())) => Ok(()),
        (Open::Create, Err(StoreError::Missing(_) | StoreError::Outdated { .. })) => match &pool {
            Pool::Sqlite(p) => SQLITE_MIGRATOR.run(p).await,
            Pool::Postgres(p) => POSTGRES_MIGRATOR.run(p).await,
        }
        .map_err(StoreError::from),
        (_, Err(e)) => Err(e),
    };
    if let Err(e) = migrated {
        pool.close().await;
        return Err(e);
    }
    Ok(pool)
}

/// Whether the database at `url` is tandem's, with every migration this binary ships applied
/// and none it does not know: what [`Open::Existing`] and [`Open::ReadOnly`] check, since
/// only `init` and `run` create or migrate. A database with no tables at all (an empty SQLite
/// file, a fresh PostgreSQL database) is missing; one with tables but no record of tandem's
/// migrations is someone else's.
async fn check_schema(pool: &Pool, url: &str) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        url: url.to_string(),
        source,
    };
    let mut conn = pool.acquire().await.map_err(open_err)?;
    let (tables, migrations): (i64, bool) = match conn.driver() {
        Driver::Sqlite(c) => sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(name = '_sqlx_migrations'), 0) > 0 \
             FROM sqlite_master WHERE type = 'table'",
        )
        .fetch_one(c)
        .await
        // A file that is not SQLite's says so here, at its first read.
        .map_err(open_err)?,
        Driver::Postgres(c) => sqlx::query_as(
            "SELECT COUNT(*), to_regclass('_sqlx_migrations') IS NOT NULL \
             FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_one(c)
        .await
        .map_err(open_err)?,
    };
    if tables == 0 {
        return Err(StoreError::Missing(url.to_string()));
    }
    if !migrations {
        return Err(StoreError::Foreign {
            url: url.to_string(),
            why: format!("it has {tables} table(s), but no record of tandem's migrations"),
        });
    }
    let applied: Vec<(i64, Vec<u8>)> = on!(&mut conn, |c| sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version"
    )
    .fetch_all(c)
    .await)?;
    let shipped: Vec<&sqlx::migrate::Migration> = match pool.backend() {
        Backend::Sqlite => SQLITE_MIGRATOR.iter(),
        Backend::Postgres => POSTGRES_MIGRATOR.iter(),
    }
    .filter(|m| !m.migration_type.is_down_migration())
    .collect();
    let ours = |version: i64| shipped.iter().find(|m| m.version == version);
    if !applied.is_empty() && applied.iter().all(|(v, _)| ours(*v).is_none()) {
        return Err(StoreError::Foreign {
            url: url.to_string(),
            why: "its migrations are not tandem's".into(),
        });
    }
    if let Some((version, _)) = applied
        .iter()
        .find(|(v, checksum)| ours(*v).is_some_and(|m| *m.checksum != **checksum))
    {
        return Err(StoreError::Foreign {
            url: url.to_string(),
            why: format!("its migration {version} is not the one tandem ships"),
        });
    }
    if let Some((version, _)) = applied.iter().rev().find(|(v, _)| ours(*v).is_none()) {
        return Err(StoreError::Newer {
            url: url.to_string(),
            version: *version,
        });
    }
    let behind = shipped
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .count();
    if behind > 0 {
        return Err(StoreError::Outdated {
            url: url.to_string(),
            behind,
        });
    }
    Ok(())
}

pub(crate) fn parse_column<T: FromStr>(value: &str, what: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} '{value}': {e}")))
}

/// After an erase, so the database file keeps no copy of what was deleted: on SQLite, `VACUUM`
/// rewrites the file without its free pages and a `TRUNCATE` checkpoint empties the WAL; on
/// PostgreSQL, `VACUUM FULL` rewrites the tables that hold people's data. Returns whether all
/// is scrubbed: a SQLite reader elsewhere (a running daemon) can keep the WAL from being
/// emptied until its next checkpoint.
pub async fn scrub(pool: &Pool) -> Result<bool, StoreError> {
    let mut conn = pool.acquire().await?;
    match conn.backend() {
        Backend::Sqlite => {
            statement(&mut conn, "VACUUM").await?;
            let (busy, _, _): (i64, i64, i64) = on!(&mut *conn, |c| sqlx::query_as(
                "PRAGMA wal_checkpoint(TRUNCATE)"
            )
            .fetch_one(c)
            .await)?;
            Ok(busy == 0)
        }
        Backend::Postgres => {
            statement(
                &mut conn,
                "VACUUM FULL assistant, assistant_email, client, contact, inbound_message, \
                 survey, survey_answer, outbox, outbox_raw, document, agreement_document, \
                 time_entry, health, health_event, inbound_attempt",
            )
            .await?;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_without_a_configured_size_has_the_backends_default() {
        assert_eq!(default_connections("sqlite://var/tandem.db"), 3);
        assert_eq!(default_connections("postgres://tandem@db/tandem"), 5);
        assert_eq!(default_connections("postgresql://tandem@db/tandem"), 5);
    }

    /// A copy of the lock file's handle held elsewhere (what a child process forked by another
    /// thread holds until it execs) does not keep the turn once it is let go.
    #[tokio::test]
    async fn the_mailbox_turn_let_go_is_free_though_a_copy_of_its_file_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let pool = connect(Location::url(&url), 2, Open::Create).await.unwrap();
        let turn = mailbox_turn(&pool)
            .await
            .unwrap()
            .expect("the turn is free");
        assert!(mailbox_turn(&pool).await.unwrap().is_none(), "held");
        let Hold::File { lock } = &turn.0 else {
            panic!("a SQLite file's turn is a file lock");
        };
        let copy = lock.try_clone().unwrap();
        turn.release().await.unwrap();
        let again = mailbox_turn(&pool).await.unwrap();
        assert!(again.is_some(), "the copy of the file kept the turn");
        drop(copy);
    }
}
