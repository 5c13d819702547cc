//! Building an outgoing RFC 5322 message: multipart/alternative (plain text and HTML), with a
//! stable Message-ID on the agency's domain, Date, From, To, threading headers, the recipient's
//! Content-Language and `Auto-Submitted`.

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox as LettreMailbox, MultiPart, SinglePart};

use super::OutboundError;
use crate::domain::{EmailAddress, Locale, Mailbox};
use crate::templates::Rendered;

/// RFC 3834: how a message came to be sent. Every mail tandem writes is one or the other, so
/// that well-behaved autoresponders never answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSubmitted {
    /// Sent on a schedule or on an operator's action.
    Generated,
    /// Sent in answer to a message tandem read.
    Replied,
}

impl AutoSubmitted {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoSubmitted::Generated => "auto-generated",
            AutoSubmitted::Replied => "auto-replied",
        }
    }
}

/// A mail ready to be built: addresses, rendered parts and headers.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message_id: String,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub locale: Locale,
    pub auto_submitted: AutoSubmitted,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// For mail that expects an answer: the token a reply is matched by (see [`Outgoing::expecting_reply`]).
    pub token: Option<String>,
    /// Images the HTML part shows inline (`<img src="cid:ID">`).
    pub inline: Vec<Inline>,
}

/// An image carried inside the message and shown by the HTML part as `cid:CONTENT_ID`.
#[derive(Debug, Clone)]
pub struct Inline {
    /// Without angle brackets: `chart@tandem`.
    pub content_id: String,
    /// `image/png`.
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Outgoing {
    /// A new mail from the agency to `to`, with a fresh Message-ID.
    pub fn new(
        from: &Mailbox,
        to: Vec<Mailbox>,
        rendered: Rendered,
        locale: Locale,
        auto_submitted: AutoSubmitted,
    ) -> Self {
        Self {
            message_id: new_message_id(&from.email),
            from: from.clone(),
            to,
            reply_to: None,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            locale,
            auto_submitted,
            in_reply_to: None,
            references: Vec::new(),
            token: None,
            inline: Vec::new(),
        }
    }

    /// Marks the mail as one that expects an answer: a random token goes into its Message-ID,
    /// its Reply-To plus-address (`team+TOKEN@...`) and its subject (`[#TOKEN]`), since each
    /// of the three is lost by some mail client, and a reply found by any one is matched.
    pub fn expecting_reply(mut self) -> Self {
        let token = new_token();
        let (local, domain) = self.from.email.as_str().split_once('@').unwrap_or_default();
        self.message_id = format!("<{token}@{domain}>");
        self.reply_to = EmailAddress::parse(&format!("{local}+{token}@{domain}"))
            .ok()
            .map(|email| Mailbox {
                name: self.from.name.clone(),
                email,
            });
        self.subject = format!("{} [#{token}]", self.subject);
        self.token = Some(token);
        self
    }

    /// Threads the mail under `parent` (its Message-ID and References).
    pub fn in_reply_to(mut self, parent_id: &str, parent_references: &[String]) -> Self {
        self.in_reply_to = Some(parent_id.to_string());
        self.references = parent_references.to_vec();
        self.references.push(parent_id.to_string());
        self
    }
}

/// 100 random bits in lower-case base 36 (20 characters): letters and digits only, so it
/// survives plus-addresses (which some servers lower-case) and subject lines.
pub fn new_token() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut bits = uuid::Uuid::new_v4().as_u128() >> 28;
    let mut token = String::with_capacity(20);
    for _ in 0..20 {
        token.push(char::from(ALPHABET[(bits % 36) as usize]));
        bits /= 36;
    }
    token
}

/// Finds tokens in text: `[#TOKEN]` in a subject, `local+TOKEN@` in an address.
pub fn tokens_in(text: &str) -> Vec<String> {
    let is_token = |t: &str| {
        t.len() == 20
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    };
    let mut found = Vec::new();
    for (i, _) in text.match_indices("[#") {
        if let Some(end) = text[i + 2..].find(']') {
            let t = text[i + 2..i + 2 + end].trim().to_ascii_lowercase();
            if is_token(&t) {
                found.push(t);
            }
        }
    }
    for (i, _) in text.match_indices('+') {
        if let Some(end) = text[i + 1..].find('@') {
            let t = text[i + 1..i + 1 + end].to_ascii_lowercase();
            if is_token(&t) {
                found.push(t);
            }
        }
    }
    found
}

/// `<random@agency-domain>`: 122 random bits, so it is unique and cannot be guessed.
pub fn new_message_id(from: &EmailAddress) -> String {
    format!("<{}@{}>", uuid::Uuid::new_v4().simple(), from.domain())
}

fn mailbox(m: &Mailbox) -> Result<LettreMailbox, OutboundError> {
    let address = m
        .email
        .as_str()
        .parse()
        .map_err(|e| OutboundError::Build(format!("address {}: {e}", m.email)))?;
    Ok(LettreMailbox::new(m.name.clone(), address))
}

fn header(name: &'static str, value: String) -> Result<HeaderValue, OutboundError> {
    let name = HeaderName::new_from_ascii(name.to_string())
        .map_err(|e| OutboundError::Build(format!("header {name}: {e}")))?;
    Ok(HeaderValue::new(name, value))
}

/// The complete message as bytes, dated `date`.
pub fn build(mail: &Outgoing, date: DateTime<Utc>) -> Result<Vec<u8>, OutboundError> {
    if mail.to.is_empty() {
        return Err(OutboundError::Build("the message has no recipient".into()));
    }
    let mut builder = lettre::Message::builder()
        .message_id(Some(mail.message_id.clone()))
        .date(date.into())
        .from(mailbox(&mail.from)?)
        .subject(mail.subject.clone())
        .raw_header(header(
            "Auto-Submitted",
            mail.auto_submitted.as_str().into(),
        )?)
        .raw_header(header("Content-Language", mail.locale.as_str().into())?);
    for to in &mail.to {
        builder = builder.to(mailbox(to)?);
    }
    if let Some(reply_to) = &mail.reply_to {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    if let Some(parent) = &mail.in_reply_to {
        builder = builder.in_reply_to(parent.clone());
    }
    if !mail.references.is_empty() {
        builder = builder.references(mail.references.join(" "));
    }
    let body = if mail.inline.is_empty() {
        MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone())
    } else {
        // The HTML and its images travel together in multipart/related.
        let mut related = MultiPart::related().singlepart(SinglePart::html(mail.html.clone()));
        for image in &mail.inline {
            let content_type = ContentType::parse(&image.content_type)
                .map_err(|e| OutboundError::Build(format!("{}: {e}", image.content_type)))?;
            related = related.singlepart(
                Attachment::new_inline(image.content_id.clone())
                    .body(image.data.clone(), content_type),
            );
        }
        MultiPart::alternative()
            .singlepart(SinglePart::plain(mail.text.clone()))
            .multipart(related)
    };
    let message = builder
        .multipart(body)
        .map_err(|e| OutboundError::Build(e.to_string()))?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_travel_three_ways_and_are_found_again() {
        let from = Mailbox::parse("Example Agency <team@example.org>").unwrap();
        let to = vec![Mailbox::parse("sam@va.example").unwrap()];
        let rendered = Rendered {
            subject: "Hours logged".into(),
            text: "t".into(),
            html: "h".into(),
        };
        let mail = Outgoing::new(&from, to, rendered, Locale::En, AutoSubmitted::Replied)
            .expecting_reply();
        let token = mail.token.clone().unwrap();
        assert_eq!(token.len(), 20);
        assert_eq!(mail.message_id, format!("<{token}@example.org>"));
        assert_eq!(mail.subject, format!("Hours logged [#{token}]"));
        let reply_to = mail.reply_to.as_ref().unwrap().email.to_string();
        assert_eq!(reply_to, format!("team+{token}@example.org"));
        assert_eq!(
            tokens_in(&format!("Re: AW: {}", mail.subject.to_uppercase())),
            std::slice::from_ref(&token)
        );
        assert_eq!(tokens_in(&reply_to), [token]);
        assert!(tokens_in("Re: [#short] a+b@c.de").is_empty());
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn a_built_message_reads_back_with_every_header() {
        let from = Mailbox::parse("Example Agency <team@example.org>").unwrap();
        let to = vec![Mailbox::parse("Anna Bäcker <anna@acme.example>").unwrap()];
        let rendered = Rendered {
            subject: "Willkommen bei Ihrer Assistenz – Übersicht".into(),
            text: "Hallo Anna,\nschön, dass es losgeht.\n".into(),
            html: "<p>Hallo Anna,</p>".into(),
        };
        let mut mail = Outgoing::new(&from, to, rendered, Locale::De, AutoSubmitted::Generated);
        mail.in_reply_to = Some("<parent@x.example>".into());
        mail.references = vec!["<root@x.example>".into(), "<parent@x.example>".into()];
        let date = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .to_utc();
        let raw = build(&mail, date).unwrap();

        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.message_id().map(|id| format!("<{id}>")),
            Some(mail.message_id.clone())
        );
        assert!(mail.message_id.ends_with("@example.org>"));
        assert_eq!(
            parsed.subject(),
            Some("Willkommen bei Ihrer Assistenz – Übersicht")
        );
        assert_eq!(
            parsed.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        assert_eq!(
            parsed.header_raw("Content-Language").map(str::trim),
            Some("de")
        );
        assert_eq!(parsed.date().unwrap().to_timestamp(), date.timestamp());
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Anna Bäcker"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("parent@x.example"));
        assert_eq!(parsed.text_body_count(), 1);
        assert_eq!(parsed.html_body_count(), 1);
        // Lines travel with CRLF endings, as SMTP requires.
        assert_eq!(
            parsed.body_text(0).unwrap(),
            "Hallo Anna,\r\nschön, dass es losgeht.\r\n"
        );
    }
}
