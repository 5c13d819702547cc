//! `tandem backup PATH`: a copy of what tandem keeps, taken while the daemon runs, into the
//! new folder PATH: the mail folders it owns (the Maildir it reads, with the folders it files
//! mail into, and the folder the file transport writes), then the SQLite database as
//! `tandem.db` (`VACUUM INTO`: one consistent snapshot). Mail first: a message the daemon
//! records after its folder was copied is still in the copy's inbox, and found by its row
//! should the backup be restored; nothing the database holds is missing from it. On
//! PostgreSQL the mail folders are copied and the command says to use `pg_dump`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::{Config, InboundBackend, OutboundBackend};
use crate::store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write the backup into; it must not exist yet (or be empty).
    path: PathBuf,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let to = &args.path;
    if to.exists() {
        let empty = std::fs::read_dir(to)
            .with_context(|| format!("cannot read '{}'", to.display()))?
            .next()
            .is_none();
        anyhow::ensure!(
            empty,
            "'{}' exists and is not empty: give a new folder",
            to.display()
        );
    }
    // The database is opened first, so a wrong config fails before anything is written.
    let pool = crate::app::open_database(&config.database, 1, store::Open::ReadOnly).await?;
    std::fs::create_dir_all(to).with_context(|| format!("cannot create '{}'", to.display()))?;
    let mut folders = Vec::new();
    if let (InboundBackend::Maildir, Some(maildir)) =
        (config.inbound.backend, &config.inbound.maildir)
    {
        folders.push(("inbox", maildir.clone()));
    }
    if let (OutboundBackend::File, Some(dir)) = (config.outbound.backend, &config.outbound.dir) {
        folders.push(("outbox", dir.clone()));
    }
    for (name, from) in &folders {
        let into = to.join("mail").join(name);
        let files = copy_tree(from, &into)
            .with_context(|| format!("could not copy '{}'", from.display()))?;
        println!(
            "mail:     {} -> {} ({files} files)",
            from.display(),
            into.display()
        );
    }
    let file = to.join("tandem.db");
    let copied = store::backup::sqlite_into(&pool, &file).await;
    pool.close().await;
    match copied {
        Ok(()) => {
            println!("database: {} -> {}", config.database.url, file.display());
            println!("backup complete: {}", to.display());
            Ok(())
        }
        Err(store::backup::BackupError::Postgres) => anyhow::bail!(
            "the database is PostgreSQL and was not copied: back it up with pg_dump, e.g. \
             `pg_dump --format=custom --file={}/tandem.dump DATABASE` (restore with \
             pg_restore); the mail folders are copied",
            to.display()
        ),
        Err(e) => Err(e.into()),
    }
}

/// Copies the folder `from` into `to`, file by file; a file that goes away meanwhile (the
/// daemon moved it into another folder) is skipped. Returns the files copied.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(to)?;
    let mut copied = 0;
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copied += copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            match std::fs::copy(entry.path(), &target) {
                Ok(_) => copied += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        // Anything else (a socket, a FIFO) is not mail: left out.
    }
    Ok(copied)
}
