//! A person's data (GDPR Art. 15 and 17; PRODUCT.md, "Privacy"): everything stored about an
//! assistant or a client's contact, exported as a folder (`data.json`, the raw messages and
//! documents as files, a summary in their language), or erased: the rows that may go are
//! deleted, the ones that must stay (billing records) keep a pseudonym, and the messages that
//! name them leave the database's raw mail, the folders mail is filed in and the `.eml`
//! folder of the file transport.
//!
//! The caller owns the transaction (`App::erase_person`); the mail folders are changed after
//! its commit, and the database file is scrubbed last (`store::scrub`).

pub mod report;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::inbound::message::mentions;
use crate::inbound::{Filed, InboundError, Mailbox};
use crate::outbound::draft;
use crate::store::privacy::{self, Erased, Found, Subject};
use crate::store::{Conn, StoreError};
use crate::templates::Templates;

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mailbox(#[from] InboundError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PrivacyError + '_ {
    move |source| PrivacyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub dir: PathBuf,
    /// Rows, all tables together.
    pub rows: usize,
    /// Raw messages and documents from the database.
    pub stored_files: usize,
    /// Messages from the mail folders (filed mail, the file transport's `.eml` files).
    pub mail_files: usize,
}

/// The `.eml` files of the file transport's folder that name any of `needles`.
pub fn delivered_mentioning(
    dir: &Path,
    needles: &[String],
) -> Result<Vec<(PathBuf, Vec<u8>)>, PrivacyError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).map_err(io(&path))?;
        if mentions(&raw, needles) {
            out.push((path, raw));
        }
    }
    out.sort();
    Ok(out)
}

/// Where an export finds mail beside the database: the mailbox's folders, the file
/// transport's folder, and the templates that write out a stored draft.
pub struct MailSources<'a> {
    pub mailbox: &'a dyn Mailbox,
    pub delivered: Option<&'a Path>,
    pub templates: &'a Templates,
}

/// Writes everything stored about `subject` into `dir` (created; it must be empty or new).
pub async fn export(
    conn: &mut Conn,
    sources: MailSources<'_>,
    subject: &Subject,
    dir: &Path,
    now: chrono::DateTime<chrono::Utc>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Exported, PrivacyError> {
    if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(PrivacyError::Refused(format!(
            "{} is not empty: an export goes into a new or empty folder",
            dir.display()
        )));
    }
    let found = privacy::gather(conn, subject).await?;
    let needles = subject.needles();
    let MailSources {
        mailbox,
        delivered,
        templates,
    } = sources;
    let filed = mailbox.filed_mentioning(&needles).await?;
    let files = match delivered {
        Some(path) => delivered_mentioning(path, &needles)?,
        None => Vec::new(),
    };

    // Every file to write, for the progress (data.json and README.txt last).
    let total = (found.files.len() + filed.len() + files.len() + 2) as u64;
    let mut written = 0;
    progress(written, total);
    let mut write = |name: &str, bytes: &[u8]| -> Result<(), PrivacyError> {
        written += 1;
        progress(written, total);
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(io(&path))
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tables = Map::new();
    let mut rows = 0;
    for t in &found.tables {
        rows += t.rows.len();
        tables.insert(
            t.table.to_string(),
            Json::Array(t.rows.iter().cloned().map(Json::Object).collect()),
        );
    }
    let mut mail = Vec::new();
    for (n, message) in filed.iter().enumerate() {
        let name = format!("mail/{}/{:04}.eml", message.disposition.as_str(), n + 1);
        write(&name, &message.raw)?;
        mail.push(serde_json::json!({"folder": message.disposition.as_str(), "file": name}));
    }
    for (path, raw) in &files {
        let name = format!(
            "delivered/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        write(&name, raw)?;
        mail.push(serde_json::json!({"folder": "delivered", "file": name}));
    }
    for file in &found.files {
        // A draft is written out as the message it becomes when it is sent; one that can no
        // longer be (its template changed since) as what is held, its JSON.
        let bytes = match file.message {
            true => draft::write_out(&file.bytes, templates).unwrap_or_else(|error| {
                tracing::warn!(file = file.name, %error, "a draft exported as its JSON");
                Cow::Borrowed(draft::json(&file.bytes).unwrap_or(&file.bytes))
            }),
            false => Cow::Borrowed(&file.bytes[..]),
        };
        write(&file.name, &bytes)?;
    }
    let data = serde_json::json!({
        "exported_at": now.to_rfc3339(),
        "person": subject,
        "tables": tables,
        "mail": mail,
    });
    let text = serde_json::to_string_pretty(&data).expect("JSON of plain values");
    write("data.json", text.as_bytes())?;
    write(
        "README.txt",
        summary(subject, &found, filed.len() + files.len()).as_bytes(),
    )?;
    Ok(Exported {
        dir: dir.to_path_buf(),
        rows,
        stored_files: found.files.len(),
        mail_files: filed.len() + files.len(),
    })
}

/// The export's human-readable summary, in the person's language.
pub fn summary(subject: &Subject, found: &Found, mail: usize) -> String {
    let de = subject.locale() == "de";
    let lines: [(&str, &str, usize); 9] = [
        ("Einsätze", "engagements", found.count("engagement")),
        ("Vereinbarungen", "agreements", found.count("agreement")),
        (
            "gemeldete Stunden (Einträge)",
            "logged hours (entries)",
            found.count("time_entry"),
        ),
        (
            "Umfragen an Sie",
            "surveys sent to you",
            found.count("survey"),
        ),
        (
            "Ihre Antworten",
            "your answers",
            found.count("survey_answer"),
        ),
        (
            "Dokumente von Ihnen",
            "documents you sent",
            found.count("document"),
        ),
        (
            "Nachrichten von Ihnen (Einträge)",
            "messages from you (records)",
            found.count("inbound_message"),
        ),
        (
            "Nachrichten an Sie",
            "messages to you",
            found.count("outbox"),
        ),
        (
            "abgelegte Nachrichten, die Sie nennen",
            "filed messages that name you",
            mail,
        ),
    ];
    let mut out = String::new();
    if de {
        out.push_str(&format!(
            "Auskunft über Ihre gespeicherten Daten (Art. 15 DSGVO)\n\nName: {}\nAdressen: {}\n\n",
            subject.name(),
            subject.emails().join(", ")
        ));
    } else {
        out.push_str(&format!(
            "The data stored about you (GDPR Art. 15)\n\nName: {}\nAddresses: {}\n\n",
            subject.name(),
            subject.emails().join(", ")
        ));
    }
    for (german, english, n) in lines {
        out.push_str(&format!("- {}: {n}\n", if de { german } else { english }));
    }
    out.push_str(if de {
        "\nAlle Daten stehen maschinenlesbar in data.json; Nachrichten und Dokumente liegen als \
         Dateien daneben (sent/, documents/, mail/, delivered/).\n"
    } else {
        "\nEverything is in data.json, machine-readable; messages and documents are files beside \
         it (sent/, documents/, mail/, delivered/).\n"
    });
    out
}

/// Whether `subject` may be erased now, and whether their hours are kept for billing:
/// `keep_billing` as asked, by default when an assistant has hours. Refused for an assistant
/// who still works in an engagement, and for a client's last contact while the client has one
/// running (the schedule would have nobody to write to).
pub async fn erasable(
    conn: &mut Conn,
    subject: &Subject,
    keep_billing: Option<bool>,
) -> Result<bool, PrivacyError> {
    match subject {
        Subject::Assistant { id, .. } => {
            let open = privacy::open_engagements(conn, *id).await?;
            if !open.is_empty() {
                return Err(PrivacyError::Refused(format!(
                    "{} still works in engagement(s) {}: end them first \
                     (`tandem engagement end ID`)",
                    subject.name(),
                    open.iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Ok(match keep_billing {
                Some(keep) => keep,
                None => privacy::has_hours(conn, *id).await?,
            })
        }
        Subject::Contact {
            client_id,
            client_tag,
            ..
        } => {
            let (open, contacts) = privacy::client_needs(conn, *client_id).await?;
            if open > 0 && contacts <= 1 {
                return Err(PrivacyError::Refused(format!(
                    "{} is the only contact of client '{client_tag}', which has {open} \
                     engagement(s) running: add another contact first",
                    subject.name()
                )));
            }
            Ok(false)
        }
    }
}

/// Erases `subject`'s rows in the transaction `tx` ([`privacy::erase`]), then the raw
/// messages of mail to others that name them (a message not sent yet is not sent). The
/// refusals of [`erasable`] hold here, in the transaction, whatever the caller checked before.
pub async fn erase_rows(
    tx: &mut Conn,
    subject: &Subject,
    keep_billing: bool,
) -> Result<Erased, PrivacyError> {
    erasable(tx, subject, Some(keep_billing)).await?;
    let mut erased = privacy::erase(tx, subject, keep_billing).await?;
    let needles = subject.needles();
    let mut after = 0;
    let mut dropped = 0;
    loop {
        let chunk = privacy::raw_messages(tx, after, 200).await?;
        let Some((last, ..)) = chunk.last() else {
            break;
        };
        after = *last;
        for (id, _, raw) in &chunk {
            // A draft names people in its JSON, where a quote or a backslash is escaped.
            let named = match draft::strings(raw) {
                Some(strings) => mentions(strings.as_bytes(), &needles),
                None => mentions(raw, &needles),
            };
            if named {
                privacy::forget_raw(tx, *id, "not sent: it named a person who was erased").await?;
                dropped += 1;
            }
        }
    }
    if dropped > 0 {
        erased
            .removed
            .push(("messages to others that named them (raw)".into(), dropped));
    }
    Ok(erased)
}

/// Deletes the filed messages and the file transport's `.eml` files that name `subject`;
/// returns how many of each went.
pub async fn erase_mail(
    mailbox: &dyn Mailbox,
    delivered: Option<&Path>,
    subject: &Subject,
) -> Result<(usize, usize), PrivacyError> {
    let needles = subject.needles();
    let filed: Vec<Filed> = mailbox.filed_mentioning(&needles).await?;
    let gone = mailbox.delete_filed(&filed).await?;
    let mut files = 0;
    if let Some(dir) = delivered {
        for (path, _) in delivered_mentioning(dir, &needles)? {
            std::fs::remove_file(&path).map_err(io(&path))?;
            files += 1;
        }
    }
    Ok((gone, files))
}

/// What retention removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    #[serde(flatten)]
    pub expired: privacy::Expired,
    /// Read mail in the processed folder.
    pub processed_mail: usize,
    /// Mail in the quarantine folder.
    pub quarantined_mail: usize,
}

/// The cut-offs of `[retention]` at `now`.
pub fn cutoffs(
    retention: &crate::config::Retention,
    now: chrono::DateTime<chrono::Utc>,
) -> privacy::Cutoffs {
    privacy::Cutoffs {
        raw_messages: before(now, retention.raw_messages),
        documents: before(now, retention.documents),
        health_events: before(now, retention.health_events),
    }
}

/// The instant a retention `period` before `now`: what is older goes.
fn before(
    now: chrono::DateTime<chrono::Utc>,
    period: std::time::Duration,
) -> chrono::DateTime<chrono::Utc> {
    now - chrono::Duration::from_std(period).unwrap_or_default()
}

/// Applies `[retention]` at `now` in the transaction `tx` and to the mail folders (the
/// folders after the rows: the caller commits in between); with `dry_run`, only counts.
pub async fn purge_rows(
    tx: &mut Conn,
    retention: &crate::config::Retention,
    now: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
) -> Result<privacy::Expired, PrivacyError> {
    Ok(privacy::expire(tx, &cutoffs(retention, now), !dry_run).await?)
}

/// The mail folders' part of retention: read mail in the processed folder after
/// `raw_messages`, the quarantine after `quarantine`.
pub async fn purge_mail(
    mailbox: &dyn Mailbox,
    retention: &crate::config::Retention,
    now: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
) -> Result<(usize, usize), PrivacyError> {
    use crate::domain::Disposition;
    let processed = mailbox
        .filed_before(Disposition::Processed, before(now, retention.raw_messages))
        .await?;
    let quarantined = mailbox
        .filed_before(Disposition::Quarantine, before(now, retention.quarantine))
        .await?;
    if dry_run {
        return Ok((processed.len(), quarantined.len()));
    }
    Ok((
        mailbox.delete_filed(&processed).await?,
        mailbox.delete_filed(&quarantined).await?,
    ))
}
