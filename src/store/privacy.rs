//! What is stored about one person (GDPR Art. 15 and 17): found by address or id, read whole
//! for an export, and erased, or pseudonymised where it must be kept (billing records); and
//! what retention purges (Art. 5).
//!
//! A person's rows are found from their addresses: the rows that name them by id (the
//! assistant, their addresses, engagements, submissions; the contact), the mail they sent
//! (`inbound_message.from_addr`) with what it brought (survey answers, documents), and the mail
//! sent to them (`survey.recipient`, `outbox.recipient`). Their name and addresses in any other
//! text kept (a subject, a time-log description, a reason) are replaced by a pseudonym
//! ([`SWEPT`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::copy::{TABLES, Value, read_row};
use super::on;
use super::{Conn, StoreError};

/// Whose data: an assistant, or a client's contact person.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Assistant {
        id: i64,
        name: String,
        emails: Vec<String>,
        locale: String,
    },
    Contact {
        id: i64,
        client_id: i64,
        client_tag: String,
        name: String,
        email: String,
        locale: String,
    },
}

impl Subject {
    pub fn name(&self) -> &str {
        match self {
            Subject::Assistant { name, .. } | Subject::Contact { name, .. } => name,
        }
    }

    pub fn emails(&self) -> Vec<&str> {
        match self {
            Subject::Assistant { emails, .. } => emails.iter().map(String::as_str).collect(),
            Subject::Contact { email, .. } => vec![email.as_str()],
        }
    }

    /// `de` or `en`: the language of the person's summary.
    pub fn locale(&self) -> &str {
        match self {
            Subject::Assistant { locale, .. } | Subject::Contact { locale, .. } => locale,
        }
    }

    /// What the rows kept say instead of the person's name: stable, and naming nobody.
    pub fn pseudonym(&self) -> String {
        match self {
            Subject::Assistant { id, .. } => format!("erased assistant {id}"),
            Subject::Contact { id, .. } => format!("erased contact {id}"),
        }
    }

    /// What replaces the person's `n`-th address (from 0): unique, so keys that held an
    /// address stay unique, and undeliverable (`.invalid`, RFC 2606).
    pub fn pseudonym_address(&self, n: usize) -> String {
        match self {
            Subject::Assistant { id, .. } => {
                format!("erased-assistant-{id}-{}@erased.invalid", n + 1)
            }
            Subject::Contact { id, .. } => format!("erased-contact-{id}-{}@erased.invalid", n + 1),
        }
    }

    /// What is searched for in text: every address, then the name.
    pub fn needles(&self) -> Vec<String> {
        let mut needles: Vec<String> = self.emails().iter().map(|e| e.to_string()).collect();
        if !self.name().trim().is_empty() {
            needles.push(self.name().trim().to_string());
        }
        needles
    }

    /// The pairs the sweep replaces: each address by its pseudonym address, the name by the
    /// pseudonym. Addresses first: a name can be part of an address.
    fn replacements(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .emails()
            .iter()
            .enumerate()
            .map(|(n, e)| (e.to_string(), self.pseudonym_address(n)))
            .collect();
        if !self.name().trim().is_empty() {
            pairs.push((self.name().trim().to_string(), self.pseudonym()));
        }
        pairs
    }

    /// SQL for the person's addresses, lower-case, with the id as `$1`.
    fn addresses(&self) -> &'static str {
        match self {
            Subject::Assistant { .. } => {
                "SELECT lower(email) FROM assistant_email WHERE assistant_id = $1"
            }
            Subject::Contact { .. } => "SELECT lower(email) FROM contact WHERE id = $1",
        }
    }

    fn id(&self) -> i64 {
        match self {
            Subject::Assistant { id, .. } | Subject::Contact { id, .. } => *id,
        }
    }
}

/// Finds a person by one of their addresses, or by `assistant:ID` / `contact:ID`.
pub async fn subject(conn: &mut Conn, who: &str) -> Result<Subject, StoreError> {
    let who = who.trim();
    let by_id = |prefix: &str| {
        who.strip_prefix(prefix)
            .map(|id| {
                id.trim().parse::<i64>().map_err(|_| {
                    StoreError::NotFound(format!("'{who}' is not {prefix}ID with a number"))
                })
            })
            .transpose()
    };
    let (assistant_id, contact_id) = (by_id("assistant:")?, by_id("contact:")?);
    let assistant_id = match assistant_id {
        Some(id) => Some(id),
        None if contact_id.is_none() => {
            if !who.contains('@') {
                return Err(StoreError::NotFound(format!(
                    "'{who}' is neither an address nor assistant:ID or contact:ID"
                )));
            }
            on!(conn, |c| sqlx::query_scalar(
                "SELECT assistant_id FROM assistant_email WHERE lower(email) = lower($1)"
            )
            .bind(who)
            .fetch_optional(c)
            .await)?
        }
        None => None,
    };
    if let Some(id) = assistant_id {
        let row: Option<(String, String)> = on!(conn, |c| sqlx::query_as(
            "SELECT name, locale FROM assistant WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await)?;
        let Some((name, locale)) = row else {
            return Err(StoreError::NotFound(format!("there is no assistant {id}")));
        };
        let emails: Vec<String> = on!(conn, |c| sqlx::query_scalar(
            "SELECT email FROM assistant_email WHERE assistant_id = $1 ORDER BY position"
        )
        .bind(id)
        .fetch_all(c)
        .await)?;
        return Ok(Subject::Assistant {
            id,
            name,
            emails,
            locale,
        });
    }
    let sql = "SELECT k.id, k.client_id, c.tag, k.name, k.email, c.locale FROM contact k \
               JOIN client c ON c.id = k.client_id WHERE ";
    let row: Option<(i64, i64, String, String, String, String)> = match contact_id {
        Some(id) => on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{sql}k.id = $1"
        )))
        .bind(id)
        .fetch_optional(c)
        .await)?,
        None => on!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{sql}lower(k.email) = lower($1)"
        )))
        .bind(who)
        .fetch_optional(c)
        .await)?,
    };
    match row {
        Some((id, client_id, client_tag, name, email, locale)) => Ok(Subject::Contact {
            id,
            client_id,
            client_tag,
            name,
            email,
            locale,
        }),
        None => Err(StoreError::NotFound(format!(
            "nobody tandem knows is '{who}' (an assistant's or a contact's address, \
             assistant:ID or contact:ID)"
        ))),
    }
}

/// One table's rows about the person, every column (bytes are in [`Found::files`]).
#[derive(Debug, Clone, Serialize)]
pub struct Rows {
    pub table: &'static str,
    pub rows: Vec<Map<String, Json>>,
}

/// A stored file about the person: a raw message sent to them, or a document they sent.
#[derive(Debug, Clone)]
pub struct File {
    /// The name in the export (`outbox-12.eml`, `document-3-nda.pdf`).
    pub name: String,
    pub bytes: Vec<u8>,
    /// Whether it is a stored message of the outbox (`outbox_raw`), which may be a draft
    /// (`outbound::draft`).
    pub message: bool,
}

/// Everything stored about one person.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub tables: Vec<Rows>,
    pub files: Vec<File>,
}

impl Found {
    /// How many rows of `table` were found.
    pub fn count(&self, table: &str) -> usize {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .map_or(0, |t| t.rows.len())
    }
}

/// Which rows of which table are the person's: `{A}` is their addresses' SQL, `$1` their id.
fn conditions(subject: &Subject) -> Vec<(&'static str, String)> {
    let a = subject.addresses();
    let from = format!("SELECT id FROM inbound_message WHERE lower(from_addr) IN ({a})");
    let surveys = format!("SELECT id FROM survey WHERE lower(recipient) IN ({a})");
    let mut out: Vec<(&'static str, String)> = match subject {
        Subject::Assistant { .. } => vec![
            ("assistant", "id = $1".into()),
            ("assistant_email", "assistant_id = $1".into()),
            ("engagement", "assistant_id = $1".into()),
            (
                "agreement",
                "engagement_id IN (SELECT id FROM engagement WHERE assistant_id = $1)".into(),
            ),
            ("submission", "assistant_id = $1".into()),
            (
                "time_entry",
                "submission_id IN (SELECT id FROM submission WHERE assistant_id = $1)".into(),
            ),
        ],
        Subject::Contact { .. } => vec![
            ("contact", "id = $1".into()),
            (
                "client",
                "id = (SELECT client_id FROM contact WHERE id = $1)".into(),
            ),
        ],
    };
    out.extend([
        ("inbound_message", format!("id IN ({from})")),
        ("survey", format!("id IN ({surveys})")),
        (
            "survey_answer",
            format!("survey_id IN ({surveys}) OR inbound_id IN ({from})"),
        ),
        ("document", format!("inbound_id IN ({from})")),
        (
            "agreement_document",
            format!("document_id IN (SELECT id FROM document WHERE inbound_id IN ({from}))"),
        ),
        ("outbox", format!("lower(recipient) IN ({a})")),
        (
            "outbox_raw",
            format!("outbox_id IN (SELECT id FROM outbox WHERE lower(recipient) IN ({a}))"),
        ),
        (
            "timesheet",
            format!("lower(recipient) IN ({a}) OR lower(answered_by) IN ({a})"),
        ),
    ]);
    out
}

/// Rows of `table` where `condition` holds (`$1` is `id`), every column as the copy reads it.
async fn select(
    conn: &mut Conn,
    table: &'static str,
    condition: &str,
    id: i64,
) -> Result<Vec<Vec<Value>>, StoreError> {
    let spec = spec(table);
    let names: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
    let sql = format!(
        "SELECT {} FROM {table} WHERE {condition} ORDER BY {}",
        names.join(", "),
        names[0]
    );
    let rows = on!(conn, |c| {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(c)
            .await?;
        rows.iter()
            .map(|row| read_row(row, spec))
            .collect::<Result<Vec<_>, sqlx::Error>>()
    })?;
    Ok(rows)
}

fn spec(table: &str) -> &'static super::copy::Table {
    TABLES
        .iter()
        .find(|t| t.name == table)
        .unwrap_or_else(|| panic!("{table} is not in store::copy::TABLES"))
}

/// Everything stored about `subject`, and the health events that name them.
pub async fn gather(conn: &mut Conn, subject: &Subject) -> Result<Found, StoreError> {
    let mut found = Found::default();
    for (table, condition) in conditions(subject) {
        let spec = spec(table);
        let mut rows = Vec::new();
        for values in select(conn, table, &condition, subject.id()).await? {
            let mut row = Map::new();
            for ((column, _), value) in spec.columns.iter().zip(values) {
                if let Value::Bytes(Some(bytes)) = value {
                    let name = file_name(table, &row, bytes.len());
                    row.insert(format!("{column}_file"), Json::String(name.clone()));
                    let message = table == "outbox_raw";
                    found.files.push(File {
                        name,
                        bytes,
                        message,
                    });
                } else {
                    row.insert(column.to_string(), json(value));
                }
            }
            rows.push(row);
        }
        found.tables.push(Rows { table, rows });
    }
    let mut events = Vec::new();
    for needle in subject.needles() {
        let rows: Vec<(i64, String, DateTime<Utc>, String)> = on!(conn, |c| sqlx::query_as(
            "SELECT id, component, at, error FROM health_event \
             WHERE lower(error) LIKE '%' || lower($1) || '%' ORDER BY id"
        )
        .bind(&needle)
        .fetch_all(c)
        .await)?;
        for (id, component, at, error) in rows {
            if events.iter().any(|e: &Map<String, Json>| e["id"] == id) {
                continue;
            }
            let mut row = Map::new();
            row.insert("id".into(), id.into());
            row.insert("component".into(), component.into());
            row.insert("at".into(), at.to_rfc3339().into());
            row.insert("error".into(), error.into());
            events.push(row);
        }
    }
    found.tables.push(Rows {
        table: "health_event",
        rows: events,
    });
    Ok(found)
}

/// The export's name for a bytes column of a row (its other columns read so far).
fn file_name(table: &str, row: &Map<String, Json>, len: usize) -> String {
    let id = |key: &str| row.get(key).map(Json::to_string).unwrap_or_default();
    match table {
        "outbox_raw" => format!("sent/outbox-{}.eml", id("outbox_id")),
        "document" => {
            let filename: String = row
                .get("filename")
                .and_then(Json::as_str)
                .unwrap_or("document")
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || ".-_".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("documents/{}-{filename}", id("id"))
        }
        _ => format!("{table}-{}-{len}.bin", id("id")),
    }
}

fn json(value: Value) -> Json {
    match value {
        Value::Int(v) => v.map_or(Json::Null, Json::from),
        Value::Text(v) => v.map_or(Json::Null, Json::from),
        Value::Bool(v) => v.map_or(Json::Null, Json::from),
        Value::Date(v) => v.map_or(Json::Null, |d| Json::from(d.to_string())),
        Value::Time(v) => v.map_or(Json::Null, |t| Json::from(t.to_rfc3339())),
        Value::Bytes(v) => v.map_or(Json::Null, |b| Json::from(b.len())),
    }
}

/// Whether an assistant has hours logged (kept for billing unless told otherwise).
pub async fn has_hours(conn: &mut Conn, assistant_id: i64) -> Result<bool, StoreError> {
    let n: i64 = on!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM time_entry WHERE submission_id IN \
         (SELECT id FROM submission WHERE assistant_id = $1)"
    )
    .bind(assistant_id)
    .fetch_one(c)
    .await)?;
    Ok(n > 0)
}

/// The engagements of an assistant that have not ended (an erase waits for them to end).
pub async fn open_engagements(conn: &mut Conn, assistant_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_scalar(
        "SELECT id FROM engagement WHERE assistant_id = $1 AND status <> 'ended' ORDER BY id"
    )
    .bind(assistant_id)
    .fetch_all(c)
    .await)?)
}

/// How many open engagements a contact's client has, and how many contacts it has.
pub async fn client_needs(conn: &mut Conn, client_id: i64) -> Result<(i64, i64), StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM engagement WHERE client_id = $1 AND status <> 'ended'), \
                (SELECT COUNT(*) FROM contact WHERE client_id = $1)"
    )
    .bind(client_id)
    .fetch_one(c)
    .await)?)
}

/// What an erase did, table by table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Erased {
    /// Rows deleted.
    pub removed: Vec<(String, u64)>,
    /// Rows kept with the person replaced by the pseudonym, and why.
    pub kept: Vec<(String, u64, String)>,
}

impl Erased {
    fn removed(&mut self, what: &str, n: u64) {
        if n > 0 {
            self.removed.push((what.to_string(), n));
        }
    }

    fn kept(&mut self, what: &str, n: u64, why: &str) {
        if n > 0 {
            self.kept.push((what.to_string(), n, why.to_string()));
        }
    }
}

/// Text columns that may hold anyone's name or address, swept by an erase: `(table, key,
/// column)`.
pub const SWEPT: &[(&str, &str, &str)] = &[
    ("assistant", "id", "name"),
    ("client", "id", "name"),
    ("contact", "id", "name"),
    ("contact", "id", "role"),
    ("contact", "id", "reachability"),
    ("inbound_message", "id", "from_addr"),
    ("inbound_message", "id", "subject"),
    ("inbound_message", "id", "reason"),
    ("inbound_message", "id", "authentication"),
    ("survey", "id", "recipient"),
    ("survey_answer", "id", "value"),
    ("outbox", "id", "recipient"),
    ("outbox", "id", "subject"),
    ("outbox", "id", "natural_key"),
    ("outbox", "id", "last_error"),
    ("time_entry", "id", "description"),
    ("time_entry", "id", "line_text"),
    ("document", "id", "filename"),
    ("health", "component", "last_error"),
    ("timesheet", "id", "recipient"),
    ("timesheet", "id", "answered_by"),
    ("timesheet", "id", "dispute"),
];

/// Erases `subject` in the transaction `tx`: deletes what names them and may go, and replaces
/// them by the pseudonym where a row must stay. With `keep_billing`, an assistant's time
/// entries and submissions stay (under the pseudonym); without, they go. The raw messages of
/// mail sent to others that name the person are the caller's ([`raw_messages`],
/// [`forget_raw`]); so are the mail folders.
pub async fn erase(
    tx: &mut Conn,
    subject: &Subject,
    keep_billing: bool,
) -> Result<Erased, StoreError> {
    let mut done = Erased::default();
    let id = subject.id();
    let a = subject.addresses();
    let from = format!("SELECT id FROM inbound_message WHERE lower(from_addr) IN ({a})");
    let surveys = format!("SELECT id FROM survey WHERE lower(recipient) IN ({a})");
    let run = async |tx: &mut Conn, sql: String| -> Result<u64, StoreError> {
        Ok(on!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?)
    };

    // What they answered, and the documents they sent.
    let n = run(
        tx,
        format!(
            "DELETE FROM survey_answer WHERE survey_id IN ({surveys}) OR inbound_id IN ({from})"
        ),
    )
    .await?;
    done.removed("survey answers", n);
    run(
        tx,
        format!(
            "DELETE FROM agreement_document WHERE document_id IN \
             (SELECT id FROM document WHERE inbound_id IN ({from}))"
        ),
    )
    .await?;
    let n = run(
        tx,
        format!("DELETE FROM document WHERE inbound_id IN ({from})"),
    )
    .await?;
    done.removed("documents they sent", n);

    // Mail sent to them: its raw message goes; a row not yet sent will not be.
    let n = run(
        tx,
        format!(
            "DELETE FROM outbox_raw WHERE outbox_id IN \
             (SELECT id FROM outbox WHERE lower(recipient) IN ({a}))"
        ),
    )
    .await?;
    done.removed("messages sent to them (raw)", n);
    run(
        tx,
        format!(
            "UPDATE outbox SET state = 'failed', last_error = 'not sent: its recipient was \
             erased', lease_until = NULL, holder = NULL \
             WHERE state IN ('queued', 'sending') AND lower(recipient) IN ({a})"
        ),
    )
    .await?;
    let sql = format!("SELECT COUNT(*) FROM outbox WHERE lower(recipient) IN ({a})");
    let n: i64 = on!(tx, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(c)
        .await)?;
    done.kept(
        "messages sent to them (row only: when, what kind)",
        n as u64,
        "the schedule must not send them again",
    );

    // Mail they sent: the row stays (it keeps the message from being handled twice) without
    // its subject.
    let n = run(
        tx,
        format!("UPDATE inbound_message SET subject = NULL WHERE id IN ({from})"),
    )
    .await?;
    done.kept(
        "messages they sent (row only)",
        n,
        "the row keeps a message from being handled twice should it come again",
    );

    // Logs of failures that name them.
    for needle in subject.needles() {
        let n = on!(tx, |c| sqlx::query(
            "DELETE FROM health_event WHERE lower(error) LIKE '%' || lower($1) || '%'"
        )
        .bind(&needle)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        done.removed("health events naming them", n);
        let n = on!(tx, |c| sqlx::query(
            "DELETE FROM inbound_attempt WHERE lower(last_error) LIKE '%' || lower($1) || '%'"
        )
        .bind(&needle)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        done.removed("failed reads naming them", n);
    }

    match subject {
        Subject::Assistant { .. } => {
            if keep_billing {
                let hours: i64 = on!(tx, |c| sqlx::query_scalar(
                    "SELECT COUNT(*) FROM time_entry WHERE submission_id IN \
                     (SELECT id FROM submission WHERE assistant_id = $1)"
                )
                .bind(id)
                .fetch_one(c)
                .await)?;
                done.kept(
                    "time entries",
                    hours as u64,
                    "billing records are kept for 10 years (§147 AO, §257 HGB)",
                );
            } else {
                let n = run(
                    tx,
                    "DELETE FROM time_entry WHERE submission_id IN \
                     (SELECT id FROM submission WHERE assistant_id = $1)"
                        .into(),
                )
                .await?;
                done.removed("time entries", n);
                let n = run(tx, "DELETE FROM submission WHERE assistant_id = $1".into()).await?;
                done.removed("submissions", n);
            }
        }
        Subject::Contact { .. } => {}
    }

    // Their name and addresses wherever text is kept (before the addresses themselves go:
    // the sweep finds rows by them).
    for (table, key, column) in SWEPT {
        let n = sweep(tx, subject, table, key, column).await?;
        if n > 0 {
            tracing::debug!(table, column, rows = n, "pseudonymised");
        }
    }

    match subject {
        Subject::Assistant { .. } => {
            let n = run(
                tx,
                "DELETE FROM assistant_email WHERE assistant_id = $1".into(),
            )
            .await?;
            done.removed("addresses", n);
            run(
                tx,
                "UPDATE assistant SET unauthenticated_ok = FALSE WHERE id = $1".into(),
            )
            .await?;
            done.kept(
                "the assistant",
                1,
                "engagements and hours refer to it; it now has no name and no address",
            );
        }
        Subject::Contact { .. } => {
            let n = run(tx, "DELETE FROM contact WHERE id = $1".into()).await?;
            done.removed("the contact", n);
        }
    }
    Ok(done)
}

/// Replaces the person's name and addresses in one text column (case-insensitively); returns
/// how many rows changed.
async fn sweep(
    tx: &mut Conn,
    subject: &Subject,
    table: &str,
    key: &str,
    column: &str,
) -> Result<u64, StoreError> {
    let pairs = subject.replacements();
    let mut changed = 0;
    for (needle, _) in &pairs {
        let select = format!(
            "SELECT {key}, {column} FROM {table} \
             WHERE lower({column}) LIKE '%' || lower($1) || '%'"
        );
        let update = format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2");
        // Rows are found again by their key as it is typed: an `id`, or a text key.
        if key == "id" {
            let rows: Vec<(i64, String)> =
                on!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                    .bind(needle)
                    .fetch_all(c)
                    .await)?;
            for (id, text) in rows {
                let new = replace_all(&text, &pairs);
                if new != text {
                    changed += on!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                        .bind(&new)
                        .bind(id)
                        .execute(c)
                        .await
                        .map(|r| r.rows_affected()))?;
                }
            }
        } else {
            let rows: Vec<(String, String)> =
                on!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                    .bind(needle)
                    .fetch_all(c)
                    .await)?;
            for (row_key, text) in rows {
                let new = replace_all(&text, &pairs);
                if new != text {
                    changed += on!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                        .bind(&new)
                        .bind(&row_key)
                        .execute(c)
                        .await
                        .map(|r| r.rows_affected()))?;
                }
            }
        }
    }
    Ok(changed)
}

/// `text` with every `(from, to)` replaced, ignoring case.
pub fn replace_all(text: &str, pairs: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in pairs {
        if from.is_empty() {
            continue;
        }
        let lower = out.to_lowercase();
        let needle = from.to_lowercase();
        // Lower-casing can change lengths outside ASCII; only replace where it did not.
        if lower.len() != out.len() {
            out = out.replace(from.as_str(), to);
            continue;
        }
        let mut result = String::with_capacity(out.len());
        let mut at = 0;
        while let Some(found) = lower[at..].find(&needle) {
            let start = at + found;
            result.push_str(&out[at..start]);
            result.push_str(to);
            at = start + needle.len();
        }
        result.push_str(&out[at..]);
        out = result;
    }
    out
}

/// Up to `limit` raw outgoing messages after `after` (by outbox id), with their outbox state.
pub async fn raw_messages(
    conn: &mut Conn,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String, Vec<u8>)>, StoreError> {
    Ok(on!(conn, |c| sqlx::query_as(
        "SELECT r.outbox_id, o.state, r.raw FROM outbox_raw r JOIN outbox o ON o.id = r.outbox_id \
         WHERE r.outbox_id > $1 ORDER BY r.outbox_id LIMIT $2"
    )
    .bind(after)
    .bind(limit)
    .fetch_all(c)
    .await)?)
}

/// Deletes the raw message of outbox row `id`; one not sent yet is marked failed with `why`.
pub async fn forget_raw(conn: &mut Conn, id: i64, why: &str) -> Result<(), StoreError> {
    on!(conn, |c| sqlx::query(
        "UPDATE outbox SET state = 'failed', last_error = $2, lease_until = NULL, holder = NULL \
         WHERE id = $1 AND state IN ('queued', 'sending')"
    )
    .bind(id)
    .bind(why)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on!(conn, |c| sqlx::query(
        "DELETE FROM outbox_raw WHERE outbox_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What retention found past its time: raw messages of mail sent or given up, agreement
/// documents of engagements ended long ago, and failure log rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Expired {
    pub raw_messages: u64,
    pub documents: u64,
    pub health_events: u64,
}

/// The cut-offs of retention: what is older goes.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub raw_messages: DateTime<Utc>,
    pub documents: DateTime<Utc>,
    pub health_events: DateTime<Utc>,
}

const EXPIRED_RAW: &str = "outbox_id IN (SELECT id FROM outbox WHERE state IN ('sent', 'failed') \
                           AND COALESCE(sent_at, created_at) < $1)";
/// A document whose every agreement belongs to an engagement that ended before the cut-off.
const EXPIRED_DOCUMENT: &str = "id IN (SELECT document_id FROM agreement_document) AND NOT EXISTS \
     (SELECT 1 FROM agreement_document ad JOIN agreement a ON a.id = ad.agreement_id \
      JOIN engagement e ON e.id = a.engagement_id WHERE ad.document_id = document.id \
      AND NOT (e.status = 'ended' AND e.ended_at < $1))";

/// Counts (`delete` false) or deletes (true) what is older than `cutoffs`.
pub async fn expire(tx: &mut Conn, cutoffs: &Cutoffs, delete: bool) -> Result<Expired, StoreError> {
    // The rows of `table` that meet `expired` (one parameter, the cut-off): deleted, or
    // counted for a dry run.
    let run = async |tx: &mut Conn,
                     table: &str,
                     expired: &str,
                     at: DateTime<Utc>|
           -> Result<u64, StoreError> {
        if delete {
            let sql = format!("DELETE FROM {table} WHERE {expired}");
            Ok(on!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(at)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?)
        } else {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE {expired}");
            let n: i64 = on!(tx, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(at)
                .fetch_one(c)
                .await)?;
            Ok(n as u64)
        }
    };
    let raw_messages = run(tx, "outbox_raw", EXPIRED_RAW, cutoffs.raw_messages).await?;
    let sql = format!("SELECT id FROM document WHERE {EXPIRED_DOCUMENT}");
    let ids: Vec<i64> = on!(tx, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(cutoffs.documents)
        .fetch_all(c)
        .await)?;
    if delete {
        for id in &ids {
            on!(tx, |c| sqlx::query(
                "DELETE FROM agreement_document WHERE document_id = $1"
            )
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            on!(tx, |c| sqlx::query("DELETE FROM document WHERE id = $1")
                .bind(id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
    }
    let documents = ids.len() as u64;
    let health_events = run(tx, "health_event", "at < $1", cutoffs.health_events).await?;
    Ok(Expired {
        raw_messages,
        documents,
        health_events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_ignores_case_and_keeps_the_rest() {
        let pairs = vec![
            (
                "anna@acme.example".to_string(),
                "x@erased.invalid".to_string(),
            ),
            ("Anna Berg".to_string(), "erased contact 1".to_string()),
        ];
        assert_eq!(
            replace_all(
                "Call with ANNA BERG <Anna@Acme.example>, anna berg.",
                &pairs
            ),
            "Call with erased contact 1 <x@erased.invalid>, erased contact 1."
        );
        assert_eq!(replace_all("nothing here", &pairs), "nothing here");
    }
}
