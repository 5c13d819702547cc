//! The mail composer: the compiled templates and the agency's settings, which turn a
//! [`Recipient`], a template name and a context into an [`Outgoing`] mail. Flows write mail only
//! through a [`Composer`]; they never see the config file or the template registry.

use std::sync::Arc;

use serde::Serialize;

use crate::config::{Agency, AgreementKind};
use crate::domain::Locale;
use crate::inbound::message::Incoming;
use crate::outbound::{AutoSubmitted, OutboundError, Outgoing};
use crate::recipients::Recipient;
use crate::store::StoreError;
use crate::templates::{Rendered, TemplateError, Templates};

/// Templates and the agency's settings, shared by every flow of the process.
#[derive(Debug, Clone)]
pub struct Composer {
    /// Compiled and checked at start-up.
    templates: Arc<Templates>,
    /// Who every mail is from, who the operator is, and their language and zone.
    agency: Agency,
    /// The agreements the agency requires (`[[agreements]]`): their names in each language.
    agreements: Vec<AgreementKind>,
}

impl Composer {
    pub fn new(templates: Arc<Templates>, agency: Agency, agreements: Vec<AgreementKind>) -> Self {
        Self {
            templates,
            agency,
            agreements,
        }
    }

    /// The agency's settings (`[agency]` of the config).
    pub fn agency(&self) -> &Agency {
        &self.agency
    }

    /// `agency` in every template's context.
    pub fn agency_view(&self) -> AgencyView {
        AgencyView::new(&self.agency)
    }

    /// The operator: the agency's address, language and zone.
    pub fn operator(&self) -> Recipient {
        crate::recipients::operator(&self.agency)
    }

    /// The agreements every engagement requires, as configured.
    pub fn agreements(&self) -> &[AgreementKind] {
        &self.agreements
    }

    /// What agreement `kind` is called in `locale` (the kind itself when it is not configured).
    pub fn agreement_name(&self, kind: &str, locale: Locale) -> String {
        self.agreements
            .iter()
            .find(|k| k.kind == kind)
            .map(|k| k.name(locale).to_string())
            .unwrap_or_else(|| kind.to_string())
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Renders template `name` in `locale`.
    fn render(
        &self,
        locale: Locale,
        name: &str,
        context: &impl Serialize,
    ) -> Result<Rendered, TemplateError> {
        self.templates.render(locale, name, context)
    }

    /// A mail from the agency to `to`, in their language: template `name` rendered with
    /// `context`.
    pub fn mail(
        &self,
        to: &Recipient,
        name: &str,
        context: &impl Serialize,
        auto_submitted: AutoSubmitted,
    ) -> Result<Outgoing, TemplateError> {
        let rendered = self.render(to.locale, name, context)?;
        Ok(self.wrap(to, rendered, auto_submitted))
    }

    /// An already rendered mail from the agency to `to`.
    pub fn wrap(
        &self,
        to: &Recipient,
        rendered: Rendered,
        auto_submitted: AutoSubmitted,
    ) -> Outgoing {
        Outgoing::new(
            &self.agency.from,
            vec![to.mailbox.clone()],
            rendered,
            to.locale,
            auto_submitted,
        )
    }

    /// An answer to `incoming`: auto-replied, threaded under it.
    pub fn answer(
        &self,
        to: &Recipient,
        name: &str,
        context: &impl Serialize,
        incoming: &Incoming,
    ) -> Result<Outgoing, TemplateError> {
        let mail = self.mail(to, name, context, AutoSubmitted::Replied)?;
        Ok(threaded_under(mail, incoming))
    }

    /// [`Composer::answer`] as a draft (`outbound::draft`): the mail's head with its subject
    /// rendered, and the context it is rendered with when it is sent.
    pub fn answer_draft(
        &self,
        to: &Recipient,
        name: &str,
        context: &impl Serialize,
        incoming: &Incoming,
    ) -> Result<(Outgoing, serde_json::Value), TemplateError> {
        let context = serde_json::to_value(context).map_err(|e| TemplateError::Render {
            name: name.to_string(),
            locale: to.locale,
            message: e.to_string(),
        })?;
        let (subject, context) = self.templates.render_subject(to.locale, name, context)?;
        let rendered = Rendered {
            subject,
            text: String::new(),
            html: String::new(),
        };
        let mail = self.wrap(to, rendered, AutoSubmitted::Replied);
        Ok((threaded_under(mail, incoming), context))
    }
}

/// `mail` threaded under `incoming`, when it has a Message-ID.
fn threaded_under(mail: Outgoing, incoming: &Incoming) -> Outgoing {
    match &incoming.message_id {
        Some(parent) => mail.in_reply_to(parent, &incoming.references),
        None => mail,
    }
}

/// `agency` in every template's context.
#[derive(Debug, Clone, Serialize)]
pub struct AgencyView {
    pub name: String,
    pub email: String,
    pub operator_email: String,
}

impl AgencyView {
    pub fn new(agency: &Agency) -> Self {
        Self {
            name: agency.name.clone(),
            email: agency.from.email.to_string(),
            operator_email: agency.operator_email.to_string(),
        }
    }
}

/// Why a mail of a flow could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Outbound(#[from] OutboundError),
}
