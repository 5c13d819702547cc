//! Who tandem writes to about an engagement, with the language and time zone of each: the
//! client's first contact person (surveys, reviews, reminders), the assistant, the operator.
//! What they are written is the composer's (`compose`).

use crate::config::Agency;
use crate::domain::{EmailAddress, Locale, Mailbox, TimeZone};
use crate::inbound::message::Incoming;
use crate::store::engagements::Engagement;
use crate::store::people::{Assistant, Client, ContactRow};
use crate::store::{self, Conn, StoreError};

/// One recipient, ready for a mail.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub name: String,
    pub mailbox: Mailbox,
    pub locale: Locale,
    pub zone: TimeZone,
}

impl Recipient {
    pub fn new(name: &str, email: EmailAddress, locale: Locale, zone: TimeZone) -> Self {
        Self {
            name: name.to_string(),
            mailbox: Mailbox {
                name: Some(name.to_string()),
                email,
            },
            locale,
            zone,
        }
    }

    /// A contact person of `client`, in the client's language and zone.
    pub fn contact(client: &Client, contact: &ContactRow) -> Result<Self, StoreError> {
        let email = EmailAddress::parse(&contact.email).map_err(corrupt)?;
        Ok(Self::new(
            &contact.name,
            email,
            client.locale,
            client.timezone,
        ))
    }

    /// The assistant, at their first address.
    pub fn assistant(assistant: &Assistant) -> Result<Self, StoreError> {
        let email = EmailAddress::parse(assistant.primary_email()).map_err(corrupt)?;
        Ok(Self::new(
            &assistant.name,
            email,
            assistant.locale,
            assistant.timezone,
        ))
    }

    /// This recipient at the address `incoming` came from (a contact may answer from another
    /// address than the one written to): the answer goes where the reply came from.
    pub fn answering(mut self, incoming: &Incoming) -> Self {
        if let Some(from) = &incoming.from {
            self.mailbox.email = from.clone();
        }
        self
    }
}

/// The people of one engagement.
#[derive(Debug, Clone)]
pub struct People {
    pub engagement: Engagement,
    pub assistant: Assistant,
    pub client: Client,
}

fn corrupt(e: crate::domain::ParseError) -> StoreError {
    StoreError::Corrupt(e.0)
}

impl People {
    pub async fn load(conn: &mut Conn, engagement_id: i64) -> Result<Self, StoreError> {
        let engagement = store::engagements::get(conn, engagement_id).await?;
        let assistant = store::people::assistant(conn, engagement.assistant_id).await?;
        let client = store::people::client(conn, engagement.client_id).await?;
        Ok(Self {
            engagement,
            assistant,
            client,
        })
    }

    /// The client's first contact person: the one surveys and reminders go to.
    pub fn client_contact(&self) -> Result<Recipient, StoreError> {
        let contact = self.client.contacts.first().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "client '{}' has no contact person",
                self.client.tag
            ))
        })?;
        Recipient::contact(&self.client, contact)
    }

    pub fn assistant(&self) -> Result<Recipient, StoreError> {
        Recipient::assistant(&self.assistant)
    }
}

/// The operator: the agency's address, language and zone.
pub fn operator(agency: &Agency) -> Recipient {
    Recipient::new(
        &agency.name,
        agency.operator_email.clone(),
        agency.default_locale,
        agency.timezone,
    )
}
