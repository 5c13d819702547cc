//! `tandem backup`: a consistent copy of a SQLite database while the daemon writes to it.
//! `VACUUM INTO` reads the database in one read transaction (a snapshot, which WAL lets
//! writers go on beside) and writes a new, compact database file from it; the source is not
//! changed, so a read-only connection does. PostgreSQL has `pg_dump` for this.

use std::path::Path;

use super::{Pool, StoreError};

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

/// Writes a consistent copy of the SQLite database behind `pool` to the new file `to`.
pub async fn sqlite_into(pool: &Pool, to: &Path) -> Result<(), BackupError> {
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
        Ok::<_, sqlx::Error>(())
    };
    copy.await.map_err(|e| BackupError::Copy {
        path: to.to_path_buf(),
        source: e.into(),
    })
}
