//! Who tandem writes to about an engagement, with the language and time zone of each: the
//! client's first contact person (surveys, reviews, reminders), the assistant, the operator.

use sqlx::SqliteConnection;

use crate::config::Config;
use crate::domain::{EmailAddress, Locale, Mailbox, TimeZone};
use crate::inbound::message::Incoming;
use crate::store::engagements::Engagement;
use crate::store::people::{Assistant, Client};
use crate::store::{self, StoreError};

/// One recipient, ready for a mail.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub name: String,
    pub mailbox: Mailbox,
    pub locale: Locale,
    pub zone: TimeZone,
}

impl Recipient {
    /// This recipient at the address `incoming` came from (a contact may answer from another
    /// address than the one written to): the answer goes where the reply came from.
    pub fn answering(mut self, incoming: &Incoming) -> Self {
        if let Some(from) = &incoming.from {
            self.mailbox.email = from.clone();
        }
        self
    }

    /// An answer to `incoming`: auto-replied, threaded under it.
    pub fn answer(
        &self,
        app: &crate::app::App,
        rendered: crate::templates::Rendered,
        incoming: &Incoming,
    ) -> crate::outbound::Outgoing {
        let mail = self.mail(app, rendered, crate::outbound::AutoSubmitted::Replied);
        match &incoming.message_id {
            Some(parent) => mail.in_reply_to(parent, &incoming.references),
            None => mail,
        }
    }

    /// A mail from the agency to this recipient, in their language.
    pub fn mail(
        &self,
        app: &crate::app::App,
        rendered: crate::templates::Rendered,
        auto_submitted: crate::outbound::AutoSubmitted,
    ) -> crate::outbound::Outgoing {
        crate::outbound::Outgoing::new(
            &app.config.agency.from,
            vec![self.mailbox.clone()],
            rendered,
            self.locale,
            auto_submitted,
        )
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
    pub async fn load(conn: &mut SqliteConnection, engagement_id: i64) -> Result<Self, StoreError> {
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
        Ok(Recipient {
            name: contact.name.clone(),
            mailbox: Mailbox {
                name: Some(contact.name.clone()),
                email: EmailAddress::parse(&contact.email).map_err(corrupt)?,
            },
            locale: self.client.locale,
            zone: self.client.timezone,
        })
    }

    pub fn assistant(&self) -> Result<Recipient, StoreError> {
        Ok(Recipient {
            name: self.assistant.name.clone(),
            mailbox: Mailbox {
                name: Some(self.assistant.name.clone()),
                email: EmailAddress::parse(self.assistant.primary_email()).map_err(corrupt)?,
            },
            locale: self.assistant.locale,
            zone: self.assistant.timezone,
        })
    }
}

/// The operator: the agency's address, language and zone.
pub fn operator(config: &Config) -> Recipient {
    Recipient {
        name: config.agency.name.clone(),
        mailbox: Mailbox {
            name: Some(config.agency.name.clone()),
            email: config.agency.operator_email.clone(),
        },
        locale: config.agency.default_locale,
        zone: config.agency.timezone,
    }
}

/// `agency` in every template's context.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgencyView {
    pub name: String,
    pub email: String,
    pub operator_email: String,
}

impl AgencyView {
    pub fn new(config: &Config) -> Self {
        Self {
            name: config.agency.name.clone(),
            email: config.agency.from.email.to_string(),
            operator_email: config.agency.operator_email.to_string(),
        }
    }

    /// The sample every template is checked against.
    pub fn sample() -> serde_json::Value {
        serde_json::json!({ "name": "Example Agency", "email": "team@example.org", "operator_email": "operator@example.org" })
    }
}

/// Why a mail of a flow could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
    #[error(transparent)]
    Outbound(#[from] crate::outbound::OutboundError),
}

impl From<sqlx::Error> for MailError {
    fn from(e: sqlx::Error) -> Self {
        MailError::Store(e.into())
    }
}
