//! Drafts: a mail queued with what writes it (its template's name, the context, its headers),
//! rendered and built when it is sent, not when it is queued. The reader queues a receipt for
//! every time log it records; as a draft, the receipt's text and HTML are rendered and its
//! message built by the outbox worker when it claims the receipt, and the reader's transaction
//! stores a kilobyte or two of context instead of a ten-kilobyte message.
//!
//! A draft is stored where a built message is (`outbox_raw.raw`), after [`MAGIC`]: a message
//! built by [`message::build`] starts with a header's name, never with a NUL byte. Everything
//! that reads a stored message to send or show it goes through [`write_out`].

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OutboundError;
use super::message::{self, AutoSubmitted, Outgoing};
use crate::domain::{EmailAddress, Locale, Mailbox};
use crate::templates::{Rendered, Templates};

/// A mailbox as a draft keeps it: its name and address apart, so that a name with quotes or
/// angle brackets comes back as it was (a `Mailbox` is kept as one string, `Name <address>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Address {
    name: Option<String>,
    email: EmailAddress,
}

impl From<&Mailbox> for Address {
    fn from(mailbox: &Mailbox) -> Self {
        Address {
            name: mailbox.name.clone(),
            email: mailbox.email.clone(),
        }
    }
}

impl From<Address> for Mailbox {
    fn from(address: Address) -> Self {
        Mailbox {
            name: address.name,
            email: address.email,
        }
    }
}

/// What a stored draft starts with.
pub const MAGIC: &[u8] = b"\0tandem draft 1\n";

/// A mail of the catalogue with its context, and the headers it goes out with; its text and
/// HTML are rendered by [`write_out`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Draft {
    /// The mail of the catalogue (`hours_receipt`).
    template: String,
    context: serde_json::Value,
    /// When it was queued: its `Date`.
    at: DateTime<Utc>,
    message_id: String,
    from: Address,
    to: Vec<Address>,
    reply_to: Option<Address>,
    /// As rendered when it was queued, with its token.
    subject: String,
    locale: Locale,
    replied: bool,
    in_reply_to: Option<String>,
    references: Vec<String>,
    token: Option<String>,
}

impl Draft {
    /// The draft of `mail` (its head: no text or HTML yet), template `name` with `context`,
    /// queued at `at`. A mail with images, attachments or an invitation is no draft (`None`):
    /// only what a template renders is left for later.
    pub fn of(
        mail: &Outgoing,
        name: &str,
        context: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Option<Draft> {
        if !mail.inline.is_empty() || !mail.attachments.is_empty() || mail.calendar.is_some() {
            return None;
        }
        Some(Draft {
            template: name.to_string(),
            context,
            at,
            message_id: mail.message_id.clone(),
            from: Address::from(&mail.from),
            to: mail.to.iter().map(Address::from).collect(),
            reply_to: mail.reply_to.as_ref().map(Address::from),
            subject: mail.subject.clone(),
            locale: mail.locale,
            replied: mail.auto_submitted == AutoSubmitted::Replied,
            in_reply_to: mail.in_reply_to.clone(),
            references: mail.references.clone(),
            token: mail.token.clone(),
        })
    }

    /// When it was queued.
    pub fn queued_at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The stored form: [`MAGIC`], then the draft as JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        // A draft's fields are strings, numbers and JSON: nothing that fails to serialize.
        serde_json::to_writer(&mut bytes, self).expect("a draft serializes");
        bytes
    }

    /// The mail rendered with `templates`, and its `Date`.
    fn render(self, templates: &Templates) -> Result<(Outgoing, DateTime<Utc>), OutboundError> {
        let Rendered { text, html, .. } = templates
            .render_body(self.locale, &self.template, self.context)
            .map_err(|e| OutboundError::Build(e.to_string()))?;
        let auto_submitted = match self.replied {
            true => AutoSubmitted::Replied,
            false => AutoSubmitted::Generated,
        };
        let mail = Outgoing {
            message_id: self.message_id,
            from: self.from.into(),
            to: self.to.into_iter().map(Mailbox::from).collect(),
            reply_to: self.reply_to.map(Mailbox::from),
            subject: self.subject,
            text,
            html,
            locale: self.locale,
            auto_submitted,
            in_reply_to: self.in_reply_to,
            references: self.references,
            token: self.token,
            inline: Vec::new(),
            attachments: Vec::new(),
            calendar: None,
        };
        Ok((mail, self.at))
    }
}

/// The JSON of the draft `stored`; `None` when it is no draft.
pub fn json(stored: &[u8]) -> Option<&[u8]> {
    stored.strip_prefix(MAGIC)
}

/// Every string of the draft `stored` (its headers and the leaves of its context), one a line;
/// `None` when `stored` is no readable draft.
pub fn strings(stored: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json(stored)?).ok()?;
    let mut strings = String::new();
    let mut stack = vec![&value];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::String(s) => {
                strings.push_str(s);
                strings.push('\n');
            }
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(fields) => stack.extend(fields.values()),
            _ => {}
        }
    }
    Some(strings)
}

/// The message `stored` in `outbox_raw`: itself when built, or the draft rendered with
/// `templates` and built.
pub fn write_out<'a>(
    stored: &'a [u8],
    templates: &Templates,
) -> Result<Cow<'a, [u8]>, OutboundError> {
    let Some(json) = json(stored) else {
        return Ok(Cow::Borrowed(stored));
    };
    let draft: Draft = serde_json::from_slice(json)
        .map_err(|e| OutboundError::Build(format!("an unreadable draft: {e}")))?;
    let (mail, at) = draft.render(templates)?;
    Ok(Cow::Owned(message::build(&mail, at)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates::load(std::path::Path::new("templates")).unwrap()
    }

    #[test]
    fn a_draft_written_out_is_the_message_built_when_it_was_queued() {
        let templates = templates();
        let from = Mailbox::parse("Agency <team@agency.example>").unwrap();
        // A name that one string `Name <address>` would not give back as it was.
        let to = Mailbox {
            name: Some("Mia \"Mimi\" <Schneider>".into()),
            email: EmailAddress::parse("mia@va.example").unwrap(),
        };
        let at: DateTime<Utc> = "2026-12-03T09:30:00Z".parse().unwrap();
        let mut drafted = 0;
        for (name, context) in crate::templates::samples().unwrap() {
            for locale in Locale::ALL {
                let thread = |mail: Outgoing| {
                    mail.in_reply_to("<a@b.example>", &[])
                        .expecting_reply_with("tok123".into())
                };
                let rendered = templates.render(locale, name, &context).unwrap();
                let whole = Outgoing::new(
                    &from,
                    vec![to.clone()],
                    rendered,
                    locale,
                    AutoSubmitted::Replied,
                );
                let (subject, handed_back) = templates
                    .render_subject(locale, name, context.clone())
                    .unwrap();
                assert_eq!(handed_back, context, "the context comes back as it went in");
                let rendered = Rendered {
                    subject,
                    text: String::new(),
                    html: String::new(),
                };
                let head = Outgoing::new(
                    &from,
                    vec![to.clone()],
                    rendered,
                    locale,
                    AutoSubmitted::Replied,
                );
                let (whole, head) = (thread(whole), thread(head));
                let draft = Draft::of(&head, name, handed_back, at).unwrap().to_bytes();
                assert!(json(&draft).is_some());
                let built = message::build(&whole, at).unwrap();
                assert!(json(&built).is_none(), "a built message reads as a draft");
                let written = write_out(&draft, &templates).unwrap();
                assert_eq!(
                    one_boundary(&written),
                    one_boundary(&built),
                    "{name} in {locale:?}"
                );
                assert!(matches!(
                    write_out(&built, &templates).unwrap(),
                    Cow::Borrowed(_)
                ));
                drafted += 1;
            }
        }
        assert!(drafted > 50, "only {drafted} samples");
    }

    #[test]
    fn an_unreadable_draft_is_an_error_not_a_message() {
        let mut stored = MAGIC.to_vec();
        stored.extend_from_slice(b"{\"template\": 3");
        let error = write_out(&stored, &templates()).unwrap_err();
        assert!(error.to_string().contains("unreadable draft"), "{error}");
    }

    /// The message with its MIME boundaries (drawn at random at each build) made one.
    fn one_boundary(message: &[u8]) -> String {
        let text = String::from_utf8_lossy(message).into_owned();
        let mut boundaries: Vec<String> = text
            .lines()
            .filter_map(|l| {
                l.split_once("boundary=\"")
                    .map(|(_, b)| b.trim_end_matches('"').to_string())
            })
            .collect();
        boundaries.sort();
        boundaries.dedup();
        boundaries
            .iter()
            .fold(text, |t, b| t.replace(b.as_str(), "BOUNDARY"))
    }
}
