//! Assistants, clients and their contacts.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Conn, StoreError, parse_column};
use super::{on, on_unkept};
pub use crate::domain::Person;
use crate::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};

#[derive(Debug, Clone)]
pub struct NewAssistant {
    pub name: String,
    pub emails: Vec<EmailAddress>,
    pub timezone: TimeZone,
    pub locale: Locale,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assistant {
    pub id: i64,
    pub name: String,
    /// The first is where tandem writes to; all are recognised as the assistant's.
    pub emails: Vec<String>,
    pub timezone: TimeZone,
    pub locale: Locale,
    pub created_at: DateTime<Utc>,
    /// Marked by the operator: mail from this assistant is handled although the sender is not
    /// authenticated (a provider that signs nothing).
    pub unauthenticated_ok: bool,
}

impl Assistant {
    pub fn primary_email(&self) -> &str {
        self.emails.first().map(String::as_str).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub tag: ClientTag,
    pub timezone: TimeZone,
    pub locale: Locale,
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub id: i64,
    pub tag: String,
    pub name: String,
    pub timezone: TimeZone,
    pub locale: Locale,
    pub contacts: Vec<ContactRow>,
    pub created_at: DateTime<Utc>,
    /// The client's own region of public holidays (`DE-NW`), which the send window of mail to
    /// its contacts skips instead of the agency's; `None`: the agency's (`[schedule] holidays`).
    pub holidays: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ContactRow {
    pub name: String,
    pub email: String,
    pub role: Option<String>,
    pub reachability: Option<String>,
    /// Marked by the operator: handled although the sender is not authenticated.
    pub unauthenticated_ok: bool,
}

async fn ensure_address_is_free(conn: &mut Conn, email: &EmailAddress) -> Result<(), StoreError> {
    match find_person(conn, email).await? {
        None => Ok(()),
        Some(Person::Assistant { id, name }) => Err(StoreError::Conflict(format!(
            "the address {email} already belongs to assistant {id} ({name})"
        ))),
        Some(Person::Contact {
            client_tag, name, ..
        }) => Err(StoreError::Conflict(format!(
            "the address {email} already belongs to {name}, a contact of client '{client_tag}'"
        ))),
    }
}

pub async fn insert_assistant(
    conn: &mut Conn,
    new: &NewAssistant,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    for email in &new.emails {
        ensure_address_is_free(conn, email).await?;
    }
    let id: i64 = on!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO assistant (name, timezone, locale, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&new.name)
    .bind(new.timezone.name())
    .bind(new.locale.as_str())
    .bind(now)
    .fetch_one(c)
    .await
    })?;
    for (position, email) in new.emails.iter().enumerate() {
        let inserted = on!(conn, |c| sqlx::query(
            "INSERT INTO assistant_email (email, assistant_id, position) VALUES ($1, $2, $3) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(email.as_str())
        .bind(id)
        .bind(position as i64)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "the address {email} is given twice"
            )));
        }
    }
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct AssistantRow {
    id: i64,
    name: String,
    timezone: String,
    locale: String,
    created_at: DateTime<Utc>,
    unauthenticated_ok: bool,
}

async fn complete_assistant(conn: &mut Conn, row: AssistantRow) -> Result<Assistant, StoreError> {
    let emails = on_unkept!(conn, |c| sqlx::query_scalar(
        "SELECT email FROM assistant_email WHERE assistant_id = $1 ORDER BY position",
    )
    .bind(row.id)
    .fetch_all(c)
    .await)?;
    Ok(Assistant {
        id: row.id,
        name: row.name,
        emails,
        timezone: parse_column(&row.timezone, "time zone")?,
        locale: parse_column(&row.locale, "locale")?,
        created_at: row.created_at,
        unauthenticated_ok: row.unauthenticated_ok,
    })
}

pub async fn assistant(conn: &mut Conn, id: i64) -> Result<Assistant, StoreError> {
    let row: AssistantRow = on_unkept!(conn, |c| sqlx::query_as(
        "SELECT id, name, timezone, locale, created_at, unauthenticated_ok FROM assistant WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or_else(|| StoreError::NotFound(format!("there is no assistant {id}")))?;
    complete_assistant(conn, row).await
}

pub async fn assistant_by_email(
    conn: &mut Conn,
    email: &EmailAddress,
) -> Result<Assistant, StoreError> {
    let id: Option<i64> = on!(conn, |c| sqlx::query_scalar(
        "SELECT assistant_id FROM assistant_email WHERE email = $1"
    )
    .bind(email.as_str())
    .fetch_optional(c)
    .await)?;
    match id {
        Some(id) => assistant(conn, id).await,
        None => Err(StoreError::NotFound(format!(
            "no assistant has the address {email} (see `tandem assistant list`)"
        ))),
    }
}

pub async fn list_assistants(conn: &mut Conn) -> Result<Vec<Assistant>, StoreError> {
    let rows: Vec<AssistantRow> = on!(conn, |c| {
        sqlx::query_as("SELECT id, name, timezone, locale, created_at, unauthenticated_ok FROM assistant ORDER BY id")
            .fetch_all(c)
            .await
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(complete_assistant(conn, row).await?);
    }
    Ok(out)
}

pub async fn insert_client(
    conn: &mut Conn,
    new: &NewClient,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id: Option<i64> = on!(conn, |c| {
        sqlx::query_scalar(
        "INSERT INTO client (tag, name, timezone, locale, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tag) DO NOTHING RETURNING id",
    )
    .bind(new.tag.as_str())
    .bind(&new.name)
    .bind(new.timezone.name())
    .bind(new.locale.as_str())
    .bind(now)
    .fetch_optional(c)
    .await
    })?;
    let id = id.ok_or_else(|| {
        StoreError::Conflict(format!(
            "a client with the tag '{}' exists already; choose another tag",
            new.tag
        ))
    })?;
    for (position, contact) in new.contacts.iter().enumerate() {
        insert_contact(conn, id, position as i64, contact).await?;
    }
    Ok(id)
}

/// Adds one contact to client `id` at `position`, refusing an address another person has.
async fn insert_contact(
    conn: &mut Conn,
    id: i64,
    position: i64,
    contact: &Contact,
) -> Result<(), StoreError> {
    {
        // One address, one person: mail from an address two clients share could be
        // attributed to either of them.
        match find_person(conn, &contact.email).await? {
            Some(Person::Assistant { id, name }) => {
                return Err(StoreError::Conflict(format!(
                    "the address {} belongs to assistant {id} ({name}) and cannot be a client \
                     contact",
                    contact.email
                )));
            }
            Some(Person::Contact { client_id, .. }) if client_id == id => {
                return Err(StoreError::Conflict(format!(
                    "the contact address {} is given twice",
                    contact.email
                )));
            }
            Some(Person::Contact {
                client_tag, name, ..
            }) => {
                return Err(StoreError::Conflict(format!(
                    "the address {} already belongs to {name}, a contact of client \
                     '{client_tag}': one address can be the contact of one client only, so \
                     that its mail goes to the right one",
                    contact.email
                )));
            }
            None => {}
        }
        let inserted = on!(conn, |c| sqlx::query(
            "INSERT INTO contact (client_id, position, name, email, role, reachability) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id, email) DO NOTHING",
        )
        .bind(id)
        .bind(position)
        .bind(&contact.name)
        .bind(contact.email.as_str())
        .bind(&contact.role)
        .bind(&contact.reachability)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "the contact address {} is given twice",
                contact.email
            )));
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: i64,
    tag: String,
    name: String,
    timezone: String,
    locale: String,
    created_at: DateTime<Utc>,
    holidays: Option<String>,
}

async fn complete_client(conn: &mut Conn, row: ClientRow) -> Result<Client, StoreError> {
    let contacts = on!(conn, |c| {
        sqlx::query_as(
        "SELECT name, email, role, reachability, unauthenticated_ok FROM contact WHERE client_id = $1 ORDER BY position",
    )
    .bind(row.id)
    .fetch_all(c)
    .await
    })?;
    Ok(Client {
        id: row.id,
        tag: row.tag,
        name: row.name,
        timezone: parse_column(&row.timezone, "time zone")?,
        locale: parse_column(&row.locale, "locale")?,
        contacts,
        created_at: row.created_at,
        holidays: row.holidays,
    })
}

pub async fn client(conn: &mut Conn, id: i64) -> Result<Client, StoreError> {
    let row: ClientRow = on!(conn, |c| {
        sqlx::query_as(
        "SELECT id, tag, name, timezone, locale, created_at, holidays FROM client WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await
    })?
    .ok_or_else(|| StoreError::NotFound(format!("there is no client {id}")))?;
    complete_client(conn, row).await
}

pub async fn client_by_tag(conn: &mut Conn, tag: &ClientTag) -> Result<Client, StoreError> {
    let row: ClientRow = on!(conn, |c| {
        sqlx::query_as(
        "SELECT id, tag, name, timezone, locale, created_at, holidays FROM client WHERE tag = $1",
    )
    .bind(tag.as_str())
    .fetch_optional(c)
    .await
    })?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "unknown client tag '{tag}' (see `tandem client list`)"
        ))
    })?;
    complete_client(conn, row).await
}

pub async fn list_clients(conn: &mut Conn) -> Result<Vec<Client>, StoreError> {
    let rows: Vec<ClientRow> = on!(conn, |c| sqlx::query_as(
        "SELECT id, tag, name, timezone, locale, created_at, holidays FROM client ORDER BY tag",
    )
    .fetch_all(c)
    .await)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(complete_client(conn, row).await?);
    }
    Ok(out)
}

/// Who writes from this address: an assistant, a client contact, or nobody tandem knows.
pub async fn find_person(
    conn: &mut Conn,
    email: &EmailAddress,
) -> Result<Option<Person>, StoreError> {
    let assistant: Option<(i64, String)> = on_unkept!(conn, |c| sqlx::query_as(
        "SELECT a.id, a.name FROM assistant_email e JOIN assistant a ON a.id = e.assistant_id \
         WHERE e.email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(c)
    .await)?;
    if let Some((id, name)) = assistant {
        return Ok(Some(Person::Assistant { id, name }));
    }
    let contact: Option<(i64, String, String)> = on_unkept!(conn, |c| sqlx::query_as(
        "SELECT c.id, c.tag, k.name FROM contact k JOIN client c ON c.id = k.client_id \
         WHERE k.email = $1 ORDER BY c.id LIMIT 1",
    )
    .bind(email.as_str())
    .fetch_optional(c)
    .await)?;
    Ok(
        contact.map(|(client_id, client_tag, name)| Person::Contact {
            client_id,
            client_tag,
            name,
        }),
    )
}

/// Whether the person writing from `email` is marked as an exception to sender
/// authentication (`--unauthenticated-ok`): an assistant with that address, or a client
/// contact with it.
pub async fn unauthenticated_ok(conn: &mut Conn, email: &EmailAddress) -> Result<bool, StoreError> {
    let marked: Option<i64> = on!(conn, |c| sqlx::query_scalar(
        "SELECT a.id FROM assistant_email e JOIN assistant a ON a.id = e.assistant_id \
         WHERE e.email = $1 AND a.unauthenticated_ok \
         UNION ALL SELECT id FROM contact WHERE email = $1 AND unauthenticated_ok LIMIT 1",
    )
    .bind(email.as_str())
    .fetch_optional(c)
    .await)?;
    Ok(marked.is_some())
}

/// Marks an assistant as an exception to sender authentication, or no longer.
pub async fn set_assistant_unauthenticated_ok(
    conn: &mut Conn,
    id: i64,
    ok: bool,
) -> Result<(), StoreError> {
    let changed = on!(conn, |c| sqlx::query(
        "UPDATE assistant SET unauthenticated_ok = $1 WHERE id = $2"
    )
    .bind(ok)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("there is no assistant {id}")));
    }
    Ok(())
}

/// Marks a client's contact (by address) as an exception to sender authentication, or no
/// longer.
pub async fn set_contact_unauthenticated_ok(
    conn: &mut Conn,
    client_id: i64,
    email: &EmailAddress,
    ok: bool,
) -> Result<(), StoreError> {
    let changed = on!(conn, |c| sqlx::query(
        "UPDATE contact SET unauthenticated_ok = $1 WHERE client_id = $2 AND email = $3",
    )
    .bind(ok)
    .bind(client_id)
    .bind(email.as_str())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!(
            "{email} is not a contact of this client (see `tandem client list`)"
        )));
    }
    Ok(())
}

/// What `assistant edit` and `client edit` change of a person; `None` leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct PersonChange {
    pub name: Option<String>,
    pub timezone: Option<TimeZone>,
    pub locale: Option<Locale>,
}

/// Changes an assistant's name, time zone or locale.
pub async fn update_assistant(
    conn: &mut Conn,
    id: i64,
    change: &PersonChange,
) -> Result<(), StoreError> {
    let current = assistant(conn, id).await?;
    on!(conn, |c| sqlx::query(
        "UPDATE assistant SET name = $1, timezone = $2, locale = $3 WHERE id = $4"
    )
    .bind(change.name.as_deref().unwrap_or(&current.name))
    .bind(change.timezone.unwrap_or(current.timezone).name())
    .bind(change.locale.unwrap_or(current.locale).as_str())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Gives assistant `id` one more address (after the others), refused when anyone has it.
pub async fn add_assistant_email(
    conn: &mut Conn,
    id: i64,
    email: &EmailAddress,
) -> Result<(), StoreError> {
    assistant(conn, id).await?;
    ensure_address_is_free(conn, email).await?;
    on!(conn, |c| {
        sqlx::query(
        "INSERT INTO assistant_email (email, assistant_id, position) \
         SELECT $1, $2, COALESCE(MAX(position), -1) + 1 FROM assistant_email WHERE assistant_id = $2",
    )
    .bind(email.as_str())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Takes an address from assistant `id`; the last one is kept (tandem must reach them).
pub async fn remove_assistant_email(
    conn: &mut Conn,
    id: i64,
    email: &EmailAddress,
) -> Result<(), StoreError> {
    let current = assistant(conn, id).await?;
    if !current.emails.iter().any(|e| e == email.as_str()) {
        return Err(StoreError::NotFound(format!(
            "{email} is not an address of assistant {id} (theirs: {})",
            current.emails.join(", ")
        )));
    }
    if current.emails.len() == 1 {
        return Err(StoreError::Conflict(format!(
            "{email} is the only address of assistant {id}: add another first"
        )));
    }
    on!(conn, |c| sqlx::query(
        "DELETE FROM assistant_email WHERE assistant_id = $1 AND email = $2"
    )
    .bind(id)
    .bind(email.as_str())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Changes a client's name, time zone or locale.
pub async fn update_client(
    conn: &mut Conn,
    id: i64,
    change: &PersonChange,
) -> Result<(), StoreError> {
    let current = client(conn, id).await?;
    on!(conn, |c| sqlx::query(
        "UPDATE client SET name = $1, timezone = $2, locale = $3 WHERE id = $4"
    )
    .bind(change.name.as_deref().unwrap_or(&current.name))
    .bind(change.timezone.unwrap_or(current.timezone).name())
    .bind(change.locale.unwrap_or(current.locale).as_str())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets client `id`'s own region of public holidays (`DE-NW`, checked by the caller), or
/// clears it (`None`: the agency's apply).
pub async fn set_client_holidays(
    conn: &mut Conn,
    id: i64,
    region: Option<&str>,
) -> Result<(), StoreError> {
    client(conn, id).await?;
    on!(conn, |c| sqlx::query(
        "UPDATE client SET holidays = $1 WHERE id = $2"
    )
    .bind(region)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Client `id`'s own region of public holidays, as stored (`None`: the agency's apply).
pub async fn client_holidays(conn: &mut Conn, id: i64) -> Result<Option<String>, StoreError> {
    let region: Option<Option<String>> = on!(conn, |c| sqlx::query_scalar(
        "SELECT holidays FROM client WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(region.flatten())
}

/// Adds a contact to client `id` (after the others), refused as `client add` refuses it.
pub async fn add_contact(conn: &mut Conn, id: i64, contact: &Contact) -> Result<(), StoreError> {
    client(conn, id).await?;
    let position: i64 = on!(conn, |c| sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), -1) + 1 FROM contact WHERE client_id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await)?;
    insert_contact(conn, id, position, contact).await
}

/// Takes a contact from client `id`; the last one is kept (mail to the client needs one).
pub async fn remove_contact(
    conn: &mut Conn,
    id: i64,
    email: &EmailAddress,
) -> Result<(), StoreError> {
    let current = client(conn, id).await?;
    contact_of(&current, email)?;
    if current.contacts.len() == 1 {
        return Err(StoreError::Conflict(format!(
            "{email} is the only contact of client '{}': add another first",
            current.tag
        )));
    }
    on!(conn, |c| sqlx::query(
        "DELETE FROM contact WHERE client_id = $1 AND email = $2"
    )
    .bind(id)
    .bind(email.as_str())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets the name, role and reachability of the contact of client `id` at `contact.email`.
pub async fn update_contact(conn: &mut Conn, id: i64, contact: &Contact) -> Result<(), StoreError> {
    let current = client(conn, id).await?;
    contact_of(&current, &contact.email)?;
    on!(conn, |c| sqlx::query(
        "UPDATE contact SET name = $1, role = $2, reachability = $3 \
         WHERE client_id = $4 AND email = $5",
    )
    .bind(&contact.name)
    .bind(&contact.role)
    .bind(&contact.reachability)
    .bind(id)
    .bind(contact.email.as_str())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

fn contact_of<'a>(client: &'a Client, email: &EmailAddress) -> Result<&'a ContactRow, StoreError> {
    client
        .contacts
        .iter()
        .find(|k| k.email == email.as_str())
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "{email} is not a contact of client '{}' (theirs: {})",
                client.tag,
                client
                    .contacts
                    .iter()
                    .map(|k| k.email.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}
