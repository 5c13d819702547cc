//! Building an outgoing RFC 5322 message: multipart/alternative (plain text and HTML), with a
//! stable Message-ID on the agency's domain, Date, From, To, threading headers, the recipient's
//! Content-Language and `Auto-Submitted`.

use std::io::Write as _;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{
    Attachment as LettreAttachment, Body, Mailbox as LettreMailbox, MultiPart, SinglePart,
};

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
    /// Files attached to the mail (`invite.ics`), after its text and HTML.
    pub attachments: Vec<Attachment>,
    /// An iCalendar object sent as a third alternative of the body (`text/calendar;
    /// method=...`, RFC 6047), where Outlook looks for an invitation.
    pub calendar: Option<String>,
}

/// A file attached to a mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// The name it is shown and saved under.
    pub filename: String,
    /// With its parameters: `text/calendar; charset=utf-8; method=REQUEST`.
    pub content_type: String,
    pub bytes: Vec<u8>,
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

/// The longest Message-ID a mail is threaded under (RFC 5322 sets none; real ones are under
/// 100 bytes).
pub const MAX_THREAD_ID: usize = 250;

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
            attachments: Vec::new(),
            calendar: None,
        }
    }

    /// Marks the mail as one that expects an answer: a random token goes into its Message-ID,
    /// its Reply-To plus-address (`team+TOKEN@...`) and its subject (`[#TOKEN]`), since each
    /// of the three is lost by some mail client, and a reply found by any one is matched.
    pub fn expecting_reply(self) -> Self {
        self.expecting_reply_with(new_token())
    }

    /// [`Outgoing::expecting_reply`] with a token made beforehand, so that its Message-ID
    /// ([`token_message_id`]) can be stored before the mail is written.
    pub fn expecting_reply_with(mut self, token: String) -> Self {
        let (local, domain) = (self.from.email.local(), self.from.email.domain());
        self.message_id = token_message_id(&self.from.email, &token);
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

    /// Threads the mail under `parent` (its Message-ID and References). Ids longer than
    /// [`MAX_THREAD_ID`] are left out: a sender's 1 MB Message-ID came back in a receipt's
    /// `In-Reply-To` and `References`, a header line far over the 998 bytes SMTP takes.
    pub fn in_reply_to(mut self, parent_id: &str, parent_references: &[String]) -> Self {
        let fits = |id: &&String| id.len() <= MAX_THREAD_ID;
        self.in_reply_to = Some(parent_id.to_string()).filter(|id| fits(&id));
        self.references = parent_references.iter().filter(fits).cloned().collect();
        self.references.extend(self.in_reply_to.clone());
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

/// The most tokens [`tokens_in`] returns: a subject or an address carries one or two, and a
/// stranger's subject may repeat one a million times.
pub const MAX_TOKENS: usize = 16;

/// The most whitespace characters [`tokens_in`] reads on either side of a token inside
/// `[# ... ]`: enough for a folded or hand-edited subject, and it bounds the look past each `[#`.
pub const MAX_TOKEN_PADDING: usize = 4;

/// Finds tokens in text: `[#TOKEN]` in a subject (whitespace inside the brackets allowed, at
/// most [`MAX_TOKEN_PADDING`] characters each side), `local+TOKEN@` in an address. Letters
/// are read without case; tokens come back lower-case, the bracketed ones first, each kind in
/// the order found, at most [`MAX_TOKENS`]. Linear in the length of `text`: after each `[#` or
/// `+` it reads at most a token and its padding, never on to the next `]` or `@`.
pub fn tokens_in(text: &str) -> Vec<String> {
    /// A token's length in characters (see [`new_token`]).
    const TOKEN_LEN: usize = 20;

    /// The token `s` starts with, lower-case, and what follows it.
    fn token_at(s: &str) -> Option<(String, &str)> {
        let head = s.as_bytes().get(..TOKEN_LEN)?;
        // All ASCII, so `TOKEN_LEN` is a char boundary.
        head.iter()
            .all(u8::is_ascii_alphanumeric)
            .then(|| (s[..TOKEN_LEN].to_ascii_lowercase(), &s[TOKEN_LEN..]))
    }

    /// `s` after its leading whitespace; `None` if that is longer than the padding allowed.
    fn skip_padding(s: &str) -> Option<&str> {
        for (n, (i, c)) in s.char_indices().enumerate() {
            if !c.is_whitespace() {
                return Some(&s[i..]);
            }
            if n == MAX_TOKEN_PADDING {
                return None;
            }
        }
        Some("")
    }

    let mut found = Vec::new();
    for (i, _) in text.match_indices("[#") {
        if found.len() == MAX_TOKENS {
            return found;
        }
        // `[#`, padding, a token, padding, `]`.
        if let Some((token, rest)) = skip_padding(&text[i + 2..]).and_then(token_at)
            && skip_padding(rest).is_some_and(|r| r.starts_with(']'))
        {
            found.push(token);
        }
    }
    for (i, _) in text.match_indices('+') {
        if found.len() == MAX_TOKENS {
            break;
        }
        if let Some((token, rest)) = token_at(&text[i + 1..])
            && rest.starts_with('@')
        {
            found.push(token);
        }
    }
    found
}

/// `<random@agency-domain>`: 122 random bits, so it is unique and cannot be guessed.
/// The Message-ID of a mail from `from` that expects a reply under `token`.
pub fn token_message_id(from: &EmailAddress, token: &str) -> String {
    format!("<{token}@{}>", from.domain())
}

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
    let body = if let Some(calendar) = &mail.calendar {
        // RFC 6047: the calendar object as the last alternative, its method named.
        let method = calendar_method(calendar);
        let content_type =
            ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                .map_err(|e| OutboundError::Build(format!("text/calendar: {e}")))?;
        MultiPart::alternative()
            .singlepart(SinglePart::plain(crlf(&mail.text)))
            .singlepart(SinglePart::html(html_body(&mail.html)))
            .singlepart(
                SinglePart::builder()
                    .header(content_type)
                    .body(calendar.clone()),
            )
    } else if mail.inline.is_empty() {
        MultiPart::alternative_plain_html(crlf(&mail.text), html_body(&mail.html))
    } else {
        // The HTML and its images travel together in multipart/related.
        let mut related = MultiPart::related().singlepart(SinglePart::html(html_body(&mail.html)));
        for image in &mail.inline {
            let content_type = ContentType::parse(&image.content_type)
                .map_err(|e| OutboundError::Build(format!("{}: {e}", image.content_type)))?;
            related = related.singlepart(
                LettreAttachment::new_inline(image.content_id.clone())
                    .body(image.data.clone(), content_type),
            );
        }
        MultiPart::alternative()
            .singlepart(SinglePart::plain(crlf(&mail.text)))
            .multipart(related)
    };
    let body = if mail.attachments.is_empty() {
        body
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for file in &mail.attachments {
            let content_type = ContentType::parse(&file.content_type)
                .map_err(|e| OutboundError::Build(format!("{}: {e}", file.content_type)))?;
            mixed = mixed.singlepart(
                LettreAttachment::new(file.filename.clone()).body(file.bytes.clone(), content_type),
            );
        }
        mixed
    };
    let message = builder
        .multipart(body)
        .map_err(|e| OutboundError::Build(e.to_string()))?;
    Ok(message.formatted())
}

/// `text` with CRLF line endings, as a message's body has them. lettre makes them too, but by
/// inserting each missing `\r` in place, moving the rest of the text every time: quadratic in
/// the lines, and a third of the time a receipt took to build.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut rest = text;
    while let Some(at) = rest.find('\n') {
        let line = &rest[..at];
        out.push_str(line);
        if !line.ends_with('\r') {
            out.push('\r');
        }
        out.push('\n');
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// The body of an HTML part: 7bit where [`html_as_7bit`] can make it so, else (with CRLF line
/// endings) as lettre chooses: 7bit only for ASCII in lines shorter than 76 octets, else
/// quoted-printable or base64.
fn html_body(html: &str) -> Body {
    match html_as_7bit(html) {
        Some(bytes) => Body::dangerous_pre_encoded(bytes, ContentTransferEncoding::SevenBit),
        None => Body::new(crlf(html)),
    }
}

/// The longest line 7bit allows, in octets without the CRLF (RFC 5322, 2.1.1).
const LONGEST_7BIT_LINE: usize = 998;

/// `html` as a 7bit body: CRLF line endings, and each character beyond ASCII as a numeric
/// character reference (`“` as `&#8220;`), which an HTML reader takes for the character
/// itself. Quoted-printable spent more on the HTML than anything else in building a receipt
/// (and made it longer: every `=` of an attribute is `=3D` in it). `None` where that cannot be
/// done: a line longer than 7bit allows, a NUL or lone CR, or a character beyond ASCII inside
/// a `<style>` or `<script>` element, whose text is not HTML (a reference there would show as
/// typed). An ASCII `<style>`, as the layouts' style for Outlook, is passed as it is.
fn html_as_7bit(html: &str) -> Option<Vec<u8>> {
    let bytes = html.as_bytes();
    if !raw_text_is_ascii(bytes) {
        return None;
    }
    let mut out = Vec::with_capacity(html.len() + html.len() / 16);
    let mut at = 0;
    loop {
        // One line: up to its end (or a NUL or CR, which end the attempt).
        let end = memchr::memchr3(b'\n', b'\r', 0, &bytes[at..]).map_or(bytes.len(), |i| at + i);
        let line_start = out.len();
        let line = &html[at..end];
        if line.is_ascii() {
            out.extend_from_slice(line.as_bytes());
        } else {
            for c in line.chars() {
                match u8::try_from(c) {
                    Ok(b) if b.is_ascii() => out.push(b),
                    _ => write!(out, "&#{};", u32::from(c)).ok()?,
                }
            }
        }
        if out.len() - line_start > LONGEST_7BIT_LINE {
            return None;
        }
        at = end;
        match bytes.get(at) {
            None => return Some(out),
            Some(b'\n') => at += 1,
            Some(b'\r') if bytes.get(at + 1) == Some(&b'\n') => at += 2,
            Some(_) => return None,
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Whether the text of every `<style>` and `<script>` element of `html` (up to its end tag, or
/// the end of `html`) is ASCII. One pass: an element's text is not searched for another.
fn raw_text_is_ascii(bytes: &[u8]) -> bool {
    // `<style`, `<script`, not `<strong`: the name ends where a tag's name ends.
    let named = |at: usize, name: &str| {
        let end = at + name.len();
        bytes
            .get(at..end)
            .is_some_and(|b| b.eq_ignore_ascii_case(name.as_bytes()))
            && bytes
                .get(end)
                .is_none_or(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
    };
    let mut from = 0;
    for at in memchr::memchr_iter(b'<', bytes) {
        // Only a `<` before an `s` may open either: most of the tags are passed over at once.
        if at < from || !matches!(bytes.get(at + 1), Some(b's' | b'S')) {
            continue;
        }
        let Some(name) = ["style", "script"]
            .into_iter()
            .find(|name| named(at + 1, name))
        else {
            continue;
        };
        let end = memchr::memchr_iter(b'<', &bytes[at + 1..])
            .map(|i| at + 1 + i)
            .find(|&i| bytes.get(i + 1) == Some(&b'/') && named(i + 2, name))
            .unwrap_or(bytes.len());
        if !bytes[at..end].is_ascii() {
            return false;
        }
        from = end;
    }
    true
}

/// The `METHOD` of an iCalendar object (`REQUEST` if it names none or an odd one).
fn calendar_method(calendar: &str) -> &str {
    calendar
        .lines()
        .find_map(|l| l.strip_prefix("METHOD:"))
        .map(str::trim)
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-'))
        .unwrap_or("REQUEST")
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
    fn a_mail_is_not_threaded_under_a_huge_message_id() {
        let from = Mailbox::parse("Example Agency <team@example.org>").unwrap();
        let to = vec![Mailbox::parse("sam@va.example").unwrap()];
        let rendered = Rendered {
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        };
        let mail = || {
            Outgoing::new(
                &from,
                to.clone(),
                rendered.clone(),
                Locale::En,
                AutoSubmitted::Replied,
            )
        };
        let huge = format!("<{}@x.example>", "a".repeat(1_000_000));
        let refs = vec!["<a@x.example>".to_string(), huge.clone()];
        let threaded = mail().in_reply_to("<p@x.example>", &refs);
        assert_eq!(threaded.in_reply_to.as_deref(), Some("<p@x.example>"));
        assert_eq!(threaded.references, ["<a@x.example>", "<p@x.example>"]);
        let under_huge = mail().in_reply_to(&huge, &refs);
        assert_eq!(under_huge.in_reply_to, None);
        assert_eq!(under_huge.references, ["<a@x.example>"]);
        let raw = build(&under_huge, Utc::now()).unwrap();
        assert!(raw.len() < 10_000, "{}", raw.len());
    }

    #[test]
    fn tokens_are_read_only_where_they_stand() {
        let token = "0123456789abcdefghij";
        let upper = token.to_uppercase();
        // Padding inside the brackets, up to the cap, in any case; a plus-address after them.
        let text = format!(
            "Re: [# {upper}\u{a0}] [#{}{token}] x+{upper}@example.org",
            " ".repeat(MAX_TOKEN_PADDING)
        );
        assert_eq!(tokens_in(&text), [token, token, token]);
        // One space over the cap, a token too long or too short, a gap before the `@`.
        for text in [
            format!("[#{}{token}]", " ".repeat(MAX_TOKEN_PADDING + 1)),
            format!("[#{token}{}]", " ".repeat(MAX_TOKEN_PADDING + 1)),
            format!("[#{token}k] [#{}] +{token}k@x +{token} @x", &token[1..]),
            format!("[#{token}"),
            format!("+{token}"),
            format!("[#{}]", "ä".repeat(10)),
        ] {
            assert!(tokens_in(&text).is_empty(), "{text}");
        }
    }

    #[test]
    fn tokens_in_a_huge_subject_are_capped() {
        let token = "0123456789abcdefghij";
        let repeated = format!("[#{token}] a+{token}@b ").repeat(100_000);
        assert_eq!(tokens_in(&repeated), vec![token; MAX_TOKENS]);
        // Bracketed ones first, then the addresses, to the cap.
        let few = format!("x+{token}@b ").repeat(20) + &format!("[#{token}]");
        assert_eq!(tokens_in(&few).len(), MAX_TOKENS);
        // 1 MB of markers with nothing after them. Reading on to the end of the text after
        // each marker (as this once did) takes half a minute here; a bounded look, milliseconds.
        for marker in ["+", "[#", "[# "] {
            let text = marker.repeat((1 << 20) / marker.len());
            assert!(tokens_in(&text).is_empty(), "{marker}");
            assert!(tokens_in(&format!("{text}]@")).is_empty(), "{marker}");
        }
    }

    #[test]
    fn line_endings_become_crlf_once() {
        for (text, expected) in [
            ("", ""),
            ("one line", "one line"),
            ("\n", "\r\n"),
            ("a\nb\r\nc\n", "a\r\nb\r\nc\r\n"),
            ("\n\nä\r\r\n", "\r\n\r\nä\r\r\n"),
            ("lone\rcr", "lone\rcr"),
        ] {
            assert_eq!(crlf(text), expected, "{text:?}");
        }
        // The body lettre makes of the text is the same either way.
        let from = Mailbox::parse("team@example.org").unwrap();
        let to = vec![Mailbox::parse("sam@va.example").unwrap()];
        let line = "a line long enough to be wrapped as quoted-printable, with an ä ".repeat(3);
        let mail = |text: String| {
            let rendered = Rendered {
                subject: "s".into(),
                text: text.clone(),
                html: format!("<p>{text}</p>"),
            };
            let mut mail = Outgoing::new(
                &from,
                to.clone(),
                rendered,
                Locale::En,
                AutoSubmitted::Replied,
            );
            mail.message_id = "<fixed@example.org>".into();
            let raw = build(&mail, DateTime::UNIX_EPOCH).unwrap();
            // The MIME boundaries are random.
            let boundary = |raw: &[u8]| {
                let raw = String::from_utf8_lossy(raw).into_owned();
                let at = raw.find("boundary=\"").unwrap() + 10;
                raw[at..at + raw[at..].find('"').unwrap()].to_string()
            };
            let b = boundary(&raw);
            String::from_utf8(raw).unwrap().replace(&b, "BOUNDARY")
        };
        let lf = mail(format!("{line}\n{line}\n\nend\n"));
        assert_eq!(lf, mail(format!("{line}\r\n{line}\r\n\r\nend\r\n")));
        assert!(lf.contains("=\r\n"), "{lf}");
        assert!(!lf.replace("\r\n", "").contains('\n'), "{lf}");
    }

    #[test]
    fn html_goes_as_7bit_with_references_where_it_can() {
        let seven = |html: &str| html_as_7bit(html).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            seven("<p>“cancel” für 📬</p>\n<p x=\"1\">\r\nend\n").as_deref(),
            Some("<p>&#8220;cancel&#8221; f&#252;r &#128236;</p>\r\n<p x=\"1\">\r\nend\r\n")
        );
        assert_eq!(seven("").as_deref(), Some(""));
        assert_eq!(
            seven("<strong>s</strong><scripted>").as_deref(),
            Some("<strong>s</strong><scripted>")
        );
        let longest = format!("<p>{}</p>", "ä".repeat(LONGEST_7BIT_LINE / 6 - 1));
        let line = seven(&format!("{longest}\n{longest}")).unwrap();
        assert!(
            line.split("\r\n")
                .all(|l| l.len() <= LONGEST_7BIT_LINE && l.len() > 990)
        );
        // What 7bit cannot carry, or where a reference would not be read as one.
        for html in [
            format!("{longest}ä"),
            "a\rb".into(),
            "a\0b".into(),
            "<STYLE>p::before { content: \"“\" }</STYLE>".into(),
            "<p>x</p><Script>ä".into(),
            "<style>a{}</style><style media=\"x\">p::after { content: \"ä\" }</style>".into(),
        ] {
            assert_eq!(seven(&html), None, "{html}");
        }
        // An ASCII style or script is passed as it is, and what follows its end is HTML.
        assert_eq!(
            seven("<!--[if mso]><style>td { color:red }</style><![endif]--><p>ä</p><script>1</SCRIPT>ä")
                .as_deref(),
            Some("<!--[if mso]><style>td { color:red }</style><![endif]--><p>&#228;</p><script>1</SCRIPT>&#228;")
        );
    }

    #[test]
    fn a_built_message_reads_back_with_every_header() {
        let from = Mailbox::parse("Example Agency <team@example.org>").unwrap();
        let to = vec![Mailbox::parse("Anna Bäcker <anna@acme.example>").unwrap()];
        let rendered = Rendered {
            subject: "Willkommen bei Ihrer Assistenz – Übersicht".into(),
            text: "Hallo Anna,\nschön, dass es losgeht.\n".into(),
            html: "<p>Hallo Anna,</p>\n<p>schön, dass es losgeht.</p>".into(),
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
        // The HTML part is 7bit, its ö a character reference.
        assert_eq!(
            parsed.body_html(0).unwrap(),
            "<p>Hallo Anna,</p>\r\n<p>sch&#246;n, dass es losgeht.</p>"
        );
        let html_part = parsed.html_part(0).unwrap();
        use mail_parser::MimeHeaders as _;
        assert_eq!(html_part.content_transfer_encoding(), Some("7bit"));
    }

    #[test]
    fn attachments_and_a_calendar_part_travel_with_the_text() {
        let from = Mailbox::parse("Example Agency <team@example.org>").unwrap();
        let to = vec![Mailbox::parse("anna@acme.example").unwrap()];
        let rendered = Rendered {
            subject: "Kickoff".into(),
            text: "Agenda\n".into(),
            html: "<p>Agenda</p>".into(),
        };
        let mut mail = Outgoing::new(&from, to, rendered, Locale::En, AutoSubmitted::Generated);
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n";
        mail.calendar = Some(ics.into());
        mail.attachments.push(Attachment {
            filename: "invite.ics".into(),
            content_type: "text/calendar; charset=utf-8; method=REQUEST".into(),
            bytes: ics.as_bytes().to_vec(),
        });
        let date = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .to_utc();
        let raw = build(&mail, date).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.body_text(0).unwrap().trim_end(), "Agenda");
        use mail_parser::MimeHeaders as _;
        let attachment = parsed
            .attachments()
            .find(|a| a.attachment_name() == Some("invite.ics"))
            .expect("the attachment");
        assert_eq!(attachment.contents(), ics.as_bytes());
        let calendar_parts = parsed
            .parts
            .iter()
            .filter(|p| {
                p.content_type().is_some_and(|c| {
                    c.subtype() == Some("calendar") && c.attribute("method") == Some("REQUEST")
                })
            })
            .count();
        assert_eq!(calendar_parts, 2, "the alternative and the attachment");
        // Without either, the message is multipart/alternative as before.
        mail.calendar = None;
        mail.attachments.clear();
        let plain = String::from_utf8(build(&mail, date).unwrap()).unwrap();
        assert!(plain.contains("multipart/alternative") && !plain.contains("multipart/mixed"));
    }
}
