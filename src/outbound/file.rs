//! The `file` transport: each message becomes one `.eml` file in a folder, for running tandem
//! without a mail server. Files are written under a temporary name and renamed, so a reader
//! never sees half a message; the name is fixed per outbox row, so a repeated delivery replaces
//! the file instead of adding a second one.

use std::path::{Path, PathBuf};

use super::{Envelope, SendError, SendFuture, Transport};

#[derive(Debug, Clone)]
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `000042-anna@acme.example.eml`: ordered by outbox row, readable at a glance.
    pub fn file_name(envelope: &Envelope<'_>) -> String {
        let first = envelope
            .recipient
            .split(',')
            .next()
            .unwrap_or_default()
            .trim();
        let safe: String = first
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "@.-_+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{:06}-{safe}.eml", envelope.outbox_id)
    }
}

fn temporary(what: &str, path: &Path, e: std::io::Error) -> SendError {
    SendError::Temporary(format!("could not {what} '{}': {e}", path.display()))
}

impl Transport for FileTransport {
    fn send<'a>(&'a self, envelope: &'a Envelope<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(|e| temporary("create the outbox folder", &self.dir, e))?;
            let name = Self::file_name(envelope);
            let partial = self.dir.join(format!(".{name}.partial"));
            let target = self.dir.join(&name);
            tokio::fs::write(&partial, envelope.raw)
                .await
                .map_err(|e| temporary("write", &partial, e))?;
            tokio::fs::rename(&partial, &target)
                .await
                .map_err(|e| temporary("rename into place", &target, e))?;
            Ok(())
        })
    }

    fn describe(&self) -> String {
        format!("file: {}", self.dir.display())
    }

    fn check<'a>(&'a self) -> SendFuture<'a> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(|e| temporary("create the outbox folder", &self.dir, e))?;
            let probe = self.dir.join(".tandem-check");
            tokio::fs::write(&probe, b"")
                .await
                .map_err(|e| temporary("write into", &self.dir, e))?;
            tokio::fs::remove_file(&probe)
                .await
                .map_err(|e| temporary("remove", &probe, e))?;
            Ok(())
        })
    }
}
