//! The Maildir mailbox: mail arrives in `new/` (or sits in `cur/` once a mail client has seen
//! it); settled mail moves to a Maildir++ subfolder (`.Processed`, `.Attention`,
//! `.Quarantine`): processed mail as seen (`cur/`, flag `S`), the rest unseen (`new/`) so a
//! person notices it. The same layout Dovecot uses, so a mail client can open the folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::message::mentions;
use super::{
    Batch, Fetched, Filed, HEADER_BYTES, InboundError, InboundFuture, Mailbox, Recorded, header_of,
    too_large,
};
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

    /// The files in the folder for `disposition` that hold the message recorded under
    /// `source` (`maildir: ROOT: new/NAME`): `NAME`, or `NAME.2`, ... where settling found
    /// the name taken, in `new/` or, once a mail program saw it, in `cur/` with flags.
    async fn find_filed(
        &self,
        disposition: Disposition,
        source: &str,
    ) -> Result<Vec<PathBuf>, InboundError> {
        let id = source.rsplit_once(": ").map_or(source, |(_, id)| id);
        let wanted = base_name(id.rsplit('/').next().unwrap_or(id));
        let folder = self.folder(disposition);
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let dir = folder.join(sub);
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Self::read_error(&dir)(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(Self::read_error(&dir))? {
                let name = entry.file_name().to_string_lossy().into_owned();
                let base = base_name(&name);
                let same = base == wanted
                    || base.strip_prefix(wanted).is_some_and(|rest| {
                        rest.strip_prefix('.')
                            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                    });
                if same {
                    found.push(entry.path());
                }
            }
        }
        found.sort();
        Ok(found)
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

fn unreadable(id: String, size: u64, error: &std::io::Error) -> Fetched {
    tracing::warn!(file = id, %error, "a message file cannot be read; it is quarantined");
    Fetched {
        id,
        raw: Vec::new(),
        size,
        unread: Some(format!("could not be read: {error}")),
        position: None,
    }
}

/// The first [`HEADER_BYTES`] of a file.
async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let file = tokio::fs::File::open(path).await?;
    let mut head = Vec::with_capacity(HEADER_BYTES);
    file.take(HEADER_BYTES as u64)
        .read_to_end(&mut head)
        .await?;
    Ok(head)
}

/// Moves `source` to `target`, or, when a file of that name is there already (an earlier
/// message of the same name), to `target` with `.2`, `.3`, ... before the flags: a settled
/// message never replaces another. A hard link fails instead of replacing, so two readers
/// cannot both take one name; the source is removed once the link is made.
async fn move_without_replacing(source: &Path, target: &Path) -> std::io::Result<()> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (base, flags) = match name.split_once(":2,") {
        Some((base, flags)) => (base.to_string(), format!(":2,{flags}")),
        None => (name.clone(), String::new()),
    };
    for n in 1..=MAX_SAME_NAME {
        let candidate = match n {
            1 => target.to_path_buf(),
            n => target.with_file_name(format!("{base}.{n}{flags}")),
        };
        match tokio::fs::hard_link(source, &candidate).await {
            Ok(()) => return tokio::fs::remove_file(source).await,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{MAX_SAME_NAME} files named like {name} are there already"),
    ))
}

/// How many settled messages of one name a folder takes (`NAME`, `NAME.2`, ...).
const MAX_SAME_NAME: u32 = 10_000;

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

    fn fetch_batch<'a>(
        &'a self,
        limits: Batch,
        skip: &'a BTreeSet<String>,
    ) -> InboundFuture<'a, Vec<Fetched>> {
        Box::pin(async move {
            let mut names = Vec::new();
            for sub in ["new", "cur"] {
                let dir = self.root.join(sub);
                let mut entries = tokio::fs::read_dir(&dir)
                    .await
                    .map_err(Self::read_error(&dir))?;
                while names.len() < limits.count {
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
                    let id = format!("{sub}/{name}");
                    if is_file && !name.starts_with('.') && !skip.contains(&id) {
                        names.push(id);
                    }
                }
            }
            // Maildir names start with the delivery time: oldest first within the batch.
            names.sort_by(|a, b| base_name(&a[4..]).cmp(base_name(&b[4..])));
            let mut batch = Vec::with_capacity(names.len());
            let mut held = 0u64;
            for id in names {
                let path = self.root.join(&id);
                let size = match tokio::fs::metadata(&path).await {
                    Ok(meta) => meta.len(),
                    // Moved by another reader between listing and reading.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        batch.push(unreadable(id, 0, &e));
                        continue;
                    }
                };
                if size > limits.message_bytes {
                    let fetched = match read_head(&path).await {
                        Ok(head) => Fetched {
                            id,
                            raw: header_of(&head).to_vec(),
                            size,
                            unread: Some(too_large(size, limits.message_bytes)),
                            position: None,
                        },
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => unreadable(id, size, &e),
                    };
                    batch.push(fetched);
                    continue;
                }
                if !batch.is_empty() && held.saturating_add(size) > limits.bytes {
                    break;
                }
                match tokio::fs::read(&path).await {
                    Ok(raw) => {
                        held += raw.len() as u64;
                        batch.push(Fetched {
                            id,
                            size: raw.len() as u64,
                            raw,
                            unread: None,
                            position: None,
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    // Reported with the message (the reader quarantines it), not a failed
                    // fetch: one bad file must not stop the mail behind it.
                    Err(e) => batch.push(unreadable(id, size, &e)),
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
            let moved = move_without_replacing(&source, &target).await;
            match moved {
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

    fn filed<'a>(
        &'a self,
        disposition: Disposition,
        recorded: Recorded<'a>,
    ) -> InboundFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let Some(path) = self
                .find_filed(disposition, recorded.source)
                .await?
                .into_iter()
                .next()
            else {
                return Ok(None);
            };
            match tokio::fs::read(&path).await {
                Ok(raw) => Ok(Some(raw)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Self::read_error(&path)(e)),
            }
        })
    }

    fn refile<'a>(
        &'a self,
        from: Disposition,
        recorded: Recorded<'a>,
        to: Option<Disposition>,
    ) -> InboundFuture<'a, bool> {
        Box::pin(async move {
            let found = self.find_filed(from, recorded.source).await?;
            for path in &found {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let target = match to {
                    // Back to the inbox as new mail, as an MTA delivers it.
                    None => self.root.join("new").join(base_name(&name)),
                    Some(Disposition::Processed) => self
                        .folder(Disposition::Processed)
                        .join("cur")
                        .join(format!("{}:2,S", base_name(&name))),
                    Some(other) => self.folder(other).join("new").join(base_name(&name)),
                };
                move_without_replacing(path, &target)
                    .await
                    .map_err(|source| InboundError::Move {
                        id: path.display().to_string(),
                        target: target.display().to_string(),
                        source,
                    })?;
            }
            Ok(!found.is_empty())
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

    fn filed_mentioning<'a>(&'a self, needles: &'a [String]) -> InboundFuture<'a, Vec<Filed>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for disposition in [
                Disposition::Processed,
                Disposition::Attention,
                Disposition::Quarantine,
            ] {
                for sub in ["cur", "new"] {
                    let dir = self.folder(disposition).join(sub);
                    let mut entries = match tokio::fs::read_dir(&dir).await {
                        Ok(entries) => entries,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(Self::read_error(&dir)(e)),
                    };
                    while let Some(entry) =
                        entries.next_entry().await.map_err(Self::read_error(&dir))?
                    {
                        let path = entry.path();
                        let raw = tokio::fs::read(&path)
                            .await
                            .map_err(Self::read_error(&path))?;
                        if mentions(&raw, needles) {
                            out.push(Filed {
                                disposition,
                                id: path.display().to_string(),
                                raw,
                            });
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    fn filed_before(
        &self,
        disposition: Disposition,
        before: chrono::DateTime<chrono::Utc>,
    ) -> InboundFuture<'_, Vec<Filed>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for sub in ["cur", "new"] {
                let dir = self.folder(disposition).join(sub);
                let mut entries = match tokio::fs::read_dir(&dir).await {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Self::read_error(&dir)(e)),
                };
                while let Some(entry) =
                    entries.next_entry().await.map_err(Self::read_error(&dir))?
                {
                    let path = entry.path();
                    let modified = entry
                        .metadata()
                        .await
                        .and_then(|m| m.modified())
                        .map_err(Self::read_error(&path))?;
                    if chrono::DateTime::<chrono::Utc>::from(modified) < before {
                        out.push(Filed {
                            disposition,
                            id: path.display().to_string(),
                            raw: Vec::new(),
                        });
                    }
                }
            }
            Ok(out)
        })
    }

    fn delete_filed<'a>(&'a self, filed: &'a [Filed]) -> InboundFuture<'a, usize> {
        Box::pin(async move {
            let mut gone = 0;
            for message in filed {
                let path = Path::new(&message.id);
                match tokio::fs::remove_file(path).await {
                    Ok(()) => gone += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Self::read_error(path)(e)),
                }
            }
            Ok(gone)
        })
    }
}
