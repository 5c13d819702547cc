//! The Maildir mailbox: mail arrives in `new/` (or sits in `cur/` once a mail client has seen
//! it); settled mail moves to a Maildir++ subfolder (`.Processed`, `.Attention`,
//! `.Quarantine`): processed mail as seen (`cur/`, flag `S`), the rest unseen (`new/`) so a
//! person notices it. The same layout Dovecot uses, so a mail client can open the folder.

use std::path::{Path, PathBuf};

use super::{Fetched, InboundError, InboundFuture, Mailbox};
use crate::domain::Disposition;

#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
    processed: String,
    attention: String,
    quarantine: String,
}

impl Maildir {
    pub fn new(
        root: impl Into<PathBuf>,
        processed: &str,
        attention: &str,
        quarantine: &str,
    ) -> Self {
        Self {
            root: root.into(),
            processed: processed.into(),
            attention: attention.into(),
            quarantine: quarantine.into(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The Maildir++ folder for a disposition (`ROOT/.Processed`).
    pub fn folder(&self, disposition: Disposition) -> PathBuf {
        let name = match disposition {
            Disposition::Processed => &self.processed,
            Disposition::Attention => &self.attention,
            Disposition::Quarantine => &self.quarantine,
        };
        self.root.join(format!(".{name}"))
    }

    fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> InboundError + '_ {
        move |source| InboundError::Read {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The file name without Maildir's `:2,FLAGS` suffix.
fn base_name(name: &str) -> &str {
    name.split_once(":2,").map(|(base, _)| base).unwrap_or(name)
}

async fn create_maildir(dir: &Path) -> std::io::Result<()> {
    for sub in ["new", "cur", "tmp"] {
        tokio::fs::create_dir_all(dir.join(sub)).await?;
    }
    Ok(())
}

impl Mailbox for Maildir {
    fn prepare(&self) -> InboundFuture<'_, ()> {
        Box::pin(async move {
            create_maildir(&self.root)
                .await
                .map_err(Self::read_error(&self.root))?;
            for d in [
                Disposition::Processed,
                Disposition::Attention,
                Disposition::Quarantine,
            ] {
                let dir = self.folder(d);
                create_maildir(&dir).await.map_err(Self::read_error(&dir))?;
                // Marks a Maildir++ subfolder, as Dovecot and Courier expect.
                tokio::fs::write(dir.join("maildirfolder"), b"")
                    .await
                    .map_err(Self::read_error(&dir))?;
            }
            Ok(())
        })
    }

    fn fetch(&self, max: usize) -> InboundFuture<'_, Vec<Fetched>> {
        Box::pin(async move {
            let mut names = Vec::new();
            for sub in ["new", "cur"] {
                let dir = self.root.join(sub);
                let mut entries = tokio::fs::read_dir(&dir)
                    .await
                    .map_err(Self::read_error(&dir))?;
                while names.len() < max {
                    let Some(entry) = entries.next_entry().await.map_err(Self::read_error(&dir))?
                    else {
                        break;
                    };
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let is_file = entry
                        .file_type()
                        .await
                        .map(|t| t.is_file())
                        .unwrap_or(false);
                    if is_file && !name.starts_with('.') {
                        names.push(format!("{sub}/{name}"));
                    }
                }
            }
            // Maildir names start with the delivery time: oldest first within the batch.
            names.sort_by(|a, b| base_name(&a[4..]).cmp(base_name(&b[4..])));
            let mut batch = Vec::with_capacity(names.len());
            for id in names {
                let path = self.root.join(&id);
                match tokio::fs::read(&path).await {
                    Ok(raw) => batch.push(Fetched {
                        id,
                        raw,
                        position: None,
                    }),
                    // Moved by another reader between listing and reading.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Self::read_error(&path)(e)),
                }
            }
            Ok(batch)
        })
    }

    fn settle<'a>(&'a self, id: &'a str, disposition: Disposition) -> InboundFuture<'a, ()> {
        Box::pin(async move {
            let source = self.root.join(id);
            let name = id.rsplit('/').next().unwrap_or(id);
            let folder = self.folder(disposition);
            let target = match disposition {
                Disposition::Processed => {
                    folder.join("cur").join(format!("{}:2,S", base_name(name)))
                }
                Disposition::Attention | Disposition::Quarantine => {
                    folder.join("new").join(base_name(name))
                }
            };
            match tokio::fs::rename(&source, &target).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !source.exists() => Ok(()),
                Err(source) => Err(InboundError::Move {
                    id: id.to_string(),
                    target: target.display().to_string(),
                    source,
                }),
            }
        })
    }

    fn describe(&self) -> String {
        format!("maildir: {}", self.root.display())
    }

    fn check(&self) -> InboundFuture<'_, String> {
        Box::pin(async move {
            let new = self.root.join("new");
            let mut entries = tokio::fs::read_dir(&new)
                .await
                .map_err(Self::read_error(&new))?;
            let mut waiting = 0;
            while entries
                .next_entry()
                .await
                .map_err(Self::read_error(&new))?
                .is_some()
            {
                waiting += 1;
            }
            Ok(format!("{} ({waiting} in new/)", self.describe()))
        })
    }
}
