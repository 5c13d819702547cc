//! `tandem backup`: a consistent copy of a SQLite database while the daemon writes to it.
//! `VACUUM INTO` reads the database in one read transaction (a snapshot, which WAL lets
//! writers go on beside) and writes a new, compact database file from it; the source is not
//! changed, so a read-only connection does. The sends recorded in the sent journal beside the
//! database and not yet marked in it (`store::journal`) are marked in the copy, and stay in the
//! journal for the database itself. PostgreSQL has `pg_dump` for this.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{Conn, Link, Pool, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the database is PostgreSQL: back it up with pg_dump (see README, \"Backup and restore\")"
    )]
    Postgres,
    #[error("the backup file '{0}' exists already")]
    Exists(std::path::PathBuf),
    #[error("could not copy the database into '{path}'")]
    Copy {
        path: std::path::PathBuf,
        #[source]
        source: StoreError,
    },
}

/// Writes a consistent copy of the SQLite database behind `pool` to the new file `to`, with
/// the sends its journal recorded marked.
pub async fn sqlite_into(pool: &Pool, to: &Path) -> Result<(), BackupError> {
    let journal = super::journal::Journal::beside(pool);
    let Pool::Sqlite(pool) = pool else {
        return Err(BackupError::Postgres);
    };
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    let copy = async {
        let mut conn = pool.acquire().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(to.to_string_lossy().into_owned())
            .execute(&mut *conn)
            .await?;
        drop(conn);
        if let Some(journal) = journal {
            // Read after the snapshot: a record of a claim the copy does not hold changes
            // nothing in it.
            let copy = SqliteConnectOptions::new().filename(to);
            let mut copy = Conn::new(Link::SqlitePooled(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(copy)
                    .await?
                    .acquire()
                    .await?,
            ));
            journal.mark_in_copy(&mut copy).await?;
        }
        Ok::<_, StoreError>(())
    };
    copy.await.map_err(|source| BackupError::Copy {
        path: to.to_path_buf(),
        source,
    })
}
