//! Reading one raw message into what tandem needs of it. Pure: bytes in, values out.

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::EmailAddress;
use crate::reply::languages;

/// A message as the reader recorded it: its `inbound_message` row, what was read from it, and
/// the one "now" of its handling. What the flows that answer a message are given.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The `inbound_message` row.
    pub id: i64,
    pub incoming: &'a Incoming,
    pub now: DateTime<Utc>,
}

/// How much of a message is read: anyone can write to the inbox (`[limits]` of the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// How much of the subject is kept (bytes, cut at a character boundary).
    pub subject_bytes: usize,
    /// How many `In-Reply-To` and `References` ids are kept: the newest.
    pub references: usize,
    /// How deep HTML quotes are marked.
    pub html_depth: usize,
    /// The most text taken from the body (bytes).
    pub text_bytes: usize,
    /// The most attachment bytes kept; only PDFs are kept at all (a signed agreement).
    pub attachment_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        let html = super::html::HtmlLimits::default();
        Self {
            subject_bytes: 1000,
            references: 100,
            html_depth: html.max_depth,
            text_bytes: html.max_output_bytes,
            attachment_bytes: 25 * 1024 * 1024,
        }
    }
}

/// The most recipient addresses kept (a reply token rides in one of them).
pub const MAX_RECIPIENTS: usize = 1000;

/// What tandem reads from a message.
#[derive(Debug, Clone, Serialize)]
pub struct Incoming {
    /// The key that makes processing exactly-once: the Message-ID, or `sha256:HEX` of the
    /// raw bytes when there is none.
    pub dedupe_key: String,
    /// The Message-ID in angle brackets, as tandem writes its own.
    pub message_id: Option<String>,
    /// The sender's address, when it is one.
    pub from: Option<EmailAddress>,
    /// The sender as written, also when it is not a valid address.
    pub from_raw: Option<String>,
    pub subject: Option<String>,
    pub date: Option<DateTime<Utc>>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Why the message is auto-generated (RFC 3834 and the common conventions), if it is.
    pub auto_generated: Option<String>,
    /// Every address the message was sent to (To, Cc, Delivered-To, X-Original-To), lower-case:
    /// a reply token may ride in a plus-address.
    pub recipients: Vec<String>,
    /// The message's text: the plain part, or the HTML part turned into text.
    pub text: String,
    /// `text` was longer than `[limits] text_bytes` and ends before the line the limit fell
    /// in: what came after was not read. The receipt says so.
    pub text_cut: bool,
    /// What the sender wrote now: `text` without quotes, attributions and signatures.
    pub new_text: String,
    /// What ended the new text (or was the first thing taken out of it), and the line it was
    /// read from; `None` when `new_text` is all of `text`.
    pub cut: Option<crate::reply::CutAt>,
    /// Files attached to it (a signed agreement comes back as a PDF). Only PDFs keep their
    /// bytes, up to `ReadLimits::attachment_bytes` in all.
    pub attachments: Vec<Attachment>,
    /// The first `text/calendar` part (a calendar program's answer to an invitation), at most
    /// [`MAX_CALENDAR_BYTES`] of it; read by `calls::ics::read_reply`.
    #[serde(skip)]
    pub calendar: Option<String>,
    /// `sha256:HEX` of what the message says (sender, subject, date, text, attachments), not
    /// of its trace headers: a second copy has the same, another message reusing a
    /// Message-ID has not.
    #[serde(skip)]
    pub content_hash: String,
    /// The `Authentication-Results` headers, topmost first (at most
    /// [`super::auth::MAX_HEADERS`]), for the sender's verdict ([`super::auth::verdict`]).
    #[serde(skip)]
    pub authentication_results: Vec<super::auth::RawHeader>,
    /// How many `From:` addresses the message names, in all its `From:` headers: with several
    /// the sender is never authenticated.
    #[serde(skip)]
    pub from_count: usize,
    /// Whether the bytes could be read as a message at all.
    pub readable: bool,
    pub size: usize,
}

/// A file attached to a message.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    /// The name the sender gave it, or `attachment` when there is none.
    pub filename: String,
    /// `application/pdf`, lower-case.
    pub content_type: String,
    pub size: usize,
    #[serde(skip)]
    pub data: Vec<u8>,
}

impl Attachment {
    pub fn is_pdf(&self) -> bool {
        self.content_type == "application/pdf"
            || self.filename.to_ascii_lowercase().ends_with(".pdf")
    }
}

fn attachments(message: &mail_parser::Message<'_>, budget: usize) -> Vec<Attachment> {
    let mut left = budget;
    message
        .attachments()
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            let contents = part.contents();
            let mut attachment = Attachment {
                filename: part
                    .attachment_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| "attachment".into()),
                content_type,
                size: contents.len(),
                data: Vec::new(),
            };
            if attachment.is_pdf() && contents.len() <= left {
                left -= contents.len();
                attachment.data = contents.to_vec();
            }
            attachment
        })
        .collect()
}

/// The most bytes of a calendar part read; the rest is ignored.
pub const MAX_CALENDAR_BYTES: usize = 64 * 1024;

/// The text of the first `text/calendar` part, inline or attached, cut to
/// [`MAX_CALENDAR_BYTES`].
fn calendar_part(message: &mail_parser::Message<'_>) -> Option<String> {
    let part = message.parts.iter().find(|part| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("text")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
        })
    })?;
    let bytes = part.contents();
    let bytes = &bytes[..bytes.len().min(MAX_CALENDAR_BYTES)];
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The newest `keep` of `ids` (the parent comes last in `References`).
fn newest(mut ids: Vec<String>, keep: usize) -> Vec<String> {
    if ids.len() > keep {
        ids.drain(..ids.len() - keep);
    }
    ids
}

/// How much of the start of a subject, and of each first line of the text, is compared with
/// the autoresponders' words, in bytes.
const AUTO_REPLY_PREFIX: usize = 200;

/// The autoresponder's marker a subject begins with, if it does in any language of
/// [`crate::reply::languages::LANGUAGES`]: a marker followed by a colon, as the responder puts
/// it before the original subject ("Automatische Antwort: ...", "Réponse automatique : ...").
/// A person writing "Out of office next week" is not a machine, nor is one replying to an
/// autoresponder ("AW: Automatische Antwort: ..." begins with their own prefix).
fn auto_reply_subject(subject: &str) -> Option<&'static str> {
    let folded = languages::fold(
        prefix(subject.trim(), AUTO_REPLY_PREFIX),
        AUTO_REPLY_PREFIX * 2,
    )?;
    languages::all(|l| l.auto_subjects).find(|marker| {
        folded
            .strip_prefix(marker)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

/// The autoresponder's statement one of the first lines of `new_text` begins with, if one does
/// ("Dies ist eine automatische Antwort.", "Ceci est une réponse automatique."): no person
/// writes that of their own mail, whatever the subject says.
fn auto_reply_statement(new_text: &str) -> Option<&'static str> {
    new_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(AUTO_REPLY_LINES)
        .find_map(|line| {
            let folded = languages::fold(
                prefix(line.trim(), AUTO_REPLY_PREFIX),
                AUTO_REPLY_PREFIX * 2,
            )?;
            languages::all(|l| l.auto_statements).find(|s| folded.starts_with(*s))
        })
}

/// How many of the first non-blank lines of the new text may carry an autoresponder's
/// statement (a greeting may come first: "Guten Tag,", "Hello,").
const AUTO_REPLY_LINES: usize = 3;

/// The start of `s`, at most `max` bytes, at a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn bracketed(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(id) => vec![bracketed(id)],
        mail_parser::HeaderValue::TextList(list) => list.iter().map(|id| bracketed(id)).collect(),
        _ => Vec::new(),
    }
}

fn raw_header(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
}

/// Why this message was sent by a machine rather than a person, if it was.
fn auto_generated(message: &mail_parser::Message<'_>, from: Option<&str>) -> Option<String> {
    if let Some(value) = raw_header(message, "Auto-Submitted") {
        let kind = value.split(';').next().unwrap_or_default().trim();
        if kind != "no" {
            return Some(format!("Auto-Submitted: {kind}"));
        }
    }
    if let Some(value) = raw_header(message, "Precedence")
        && ["bulk", "list", "junk", "auto_reply"].contains(&value.as_str())
    {
        return Some(format!("Precedence: {value}"));
    }
    if message.header_raw("List-Id").is_some() {
        return Some("mailing list (List-Id)".into());
    }
    for header in ["X-Autoreply", "X-Autorespond", "X-Autoresponder"] {
        if message.header_raw(header).is_some() {
            return Some(format!("autoresponder ({header})"));
        }
    }
    if raw_header(message, "Return-Path").as_deref() == Some("<>") {
        return Some("null return path".into());
    }
    let daemon = |addr: &str| {
        let local = addr
            .split('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        ["mailer-daemon", "postmaster", "mail-daemon"].contains(&local.as_str())
    };
    if let Some(addr) = message.return_address().filter(|a| daemon(a)) {
        return Some(format!("bounce ({addr})"));
    }
    if let Some(addr) = from.filter(|a| daemon(a)) {
        return Some(format!("bounce ({addr})"));
    }
    if let Some(ct) = message.content_type()
        && ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        let report = ct
            .attribute("report-type")
            .unwrap_or("report")
            .to_ascii_lowercase();
        return Some(format!("delivery or read report ({report})"));
    }
    if let Some(marker) = auto_reply_subject(message.subject().unwrap_or_default()) {
        return Some(format!("out-of-office reply (subject \"{marker}: …\")"));
    }
    None
}

/// The most messages one message may carry inside it (`message/rfc822` and `message/global`
/// parts, a digest's parts) to be read whole: mail-parser keeps each as a message of its own,
/// about 1.5 kB each, so 300,000 nested in a 9 MB mail took 440 MB. A forwarded mail or a
/// digest carries a few; the count is of words a time log may hold too ("digest"), so the
/// bound is far above any real mail's.
pub const MAX_NESTED_MESSAGES: usize = 1000;

/// The most pieces of split header parameters (RFC 2231: `filename*0*=...; filename*1*=...`)
/// one message may have to be read whole: mail-parser joins each piece to the value so far,
/// copying it again, so 800,000 pieces in 24 MB took two and a half minutes. A long file name
/// comes in a few.
pub const MAX_PARAMETER_PIECES: usize = 1000;

/// Why `raw` would cost too much to read whole, if it would ([`MAX_NESTED_MESSAGES`],
/// [`MAX_PARAMETER_PIECES`]): such a message is read from its header only (`tasks::reader`),
/// and [`mentions`] looks at its bytes only. Linear in `raw`.
pub fn too_costly(raw: &[u8]) -> Option<String> {
    let nested = nested_messages(raw);
    if nested > MAX_NESTED_MESSAGES {
        return Some(format!(
            "it may carry up to {nested} messages inside it, over the {MAX_NESTED_MESSAGES} read whole"
        ));
    }
    let pieces = parameter_pieces(raw);
    (pieces > MAX_PARAMETER_PIECES).then(|| {
        format!(
            "it splits header parameters into {pieces} pieces, over the {MAX_PARAMETER_PIECES} read whole"
        )
    })
}

/// How many messages `raw` may carry inside it, at most: each one needs `rfc822`, `global` or
/// `digest` in a `Content-Type` (a type's name is never encoded), so the count of those words
/// in any case, anywhere, bounds it.
fn nested_messages(raw: &[u8]) -> usize {
    const WORDS: [&[u8]; 3] = [b"rfc822", b"global", b"digest"];
    let starts_a_word = |i: usize| {
        WORDS.iter().any(|w| {
            raw.get(i..i + w.len())
                .is_some_and(|at| at.eq_ignore_ascii_case(w))
        })
    };
    // Each first letter in either case, found by `memchr` (a byte at a time was as costly as
    // the message's SHA-256).
    memchr::memchr3_iter(b'r', b'g', b'd', raw)
        .chain(memchr::memchr3_iter(b'R', b'G', b'D', raw))
        .filter(|&i| starts_a_word(i))
        .count()
}

/// How many pieces of split parameters `raw` may have, at most: `*`, digits, then `=` or
/// `*=`, anywhere. Linear: a run of digits follows one `*` at most.
fn parameter_pieces(raw: &[u8]) -> usize {
    memchr::memchr_iter(b'*', raw)
        .filter(|&i| {
            let rest = &raw[i + 1..];
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let after = &rest[digits..];
            digits > 0 && (after.starts_with(b"=") || after.starts_with(b"*="))
        })
        .count()
}

/// The parser of inbound mail: each header read as `MessageParser::default()` reads it, but
/// `Received`, kept as its raw text. Nothing reads a `Received` header's parts, and parsing
/// them was a tenth of the time a time log of the pipeline benchmark took to read (two such
/// headers a mail, as delivered).
fn parser() -> &'static MessageParser {
    use mail_parser::HeaderName as H;
    static PARSER: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
        let text = [
            H::Subject,
            H::Comments,
            H::ContentDescription,
            H::ContentLocation,
            H::ContentTransferEncoding,
        ];
        let addresses = [
            H::From,
            H::To,
            H::Cc,
            H::Bcc,
            H::ReplyTo,
            H::Sender,
            H::ResentTo,
            H::ResentFrom,
            H::ResentBcc,
            H::ResentCc,
            H::ResentSender,
            H::ListArchive,
            H::ListHelp,
            H::ListId,
            H::ListOwner,
            H::ListPost,
            H::ListSubscribe,
            H::ListUnsubscribe,
        ];
        let ids = [
            H::MessageId,
            H::References,
            H::InReplyTo,
            H::ReturnPath,
            H::ContentId,
            H::ResentMessageId,
        ];
        let mut parser = MessageParser::new()
            .header_date(H::Date)
            .header_date(H::ResentDate)
            .header_comma_separated(H::Keywords)
            .header_comma_separated(H::ContentLanguage)
            .header_content_type(H::ContentType)
            .header_content_type(H::ContentDisposition)
            // The rest (`Received`, `MIME-Version`, any other) raw.
            .default_header_raw();
        for name in text {
            parser = parser.header_text(name);
        }
        for name in addresses {
            parser = parser.header_address(name);
        }
        for name in ids {
            parser = parser.header_id(name);
        }
        parser
    });
    &PARSER
}

/// How deep messages nested in a message (`message/rfc822` parts, a digest's parts) are kept;
/// those below are dropped unread. A mail forwarded as an attachment nests one or two deep.
const MAX_NESTED: usize = 16;

/// A parsed message whose nested messages go [`MAX_NESTED`] deep at most, and whose drop
/// does not recurse. mail-parser parses any depth without recursing, but its tree is dropped
/// (and walked) by recursion: a sender's 23,000 nested `message/rfc822` parts (690 kB)
/// overflowed a thread's stack and killed the daemon at every start.
struct Shallow<'x>(mail_parser::Message<'x>);

impl<'x> Shallow<'x> {
    fn new(mut message: mail_parser::Message<'x>) -> Self {
        let mut cut = Vec::new();
        cut_nested(&mut message, 0, &mut cut);
        drop_flat(cut);
        Self(message)
    }
}

impl Drop for Shallow<'_> {
    fn drop(&mut self) {
        drop_flat(vec![std::mem::take(&mut self.0)]);
    }
}

/// Takes the messages nested below `depth + 1` out of `message` into `cut` (recursing
/// [`MAX_NESTED`] deep at most).
fn cut_nested<'x>(
    message: &mut mail_parser::Message<'x>,
    depth: usize,
    cut: &mut Vec<mail_parser::Message<'x>>,
) {
    for part in &mut message.parts {
        if !matches!(part.body, mail_parser::PartType::Message(_)) {
            continue;
        }
        if depth + 1 >= MAX_NESTED {
            if let mail_parser::PartType::Message(inner) = std::mem::take(&mut part.body) {
                cut.push(inner);
            }
        } else if let mail_parser::PartType::Message(inner) = &mut part.body {
            cut_nested(inner, depth + 1, cut);
        }
    }
}

/// Drops messages without recursing: each one's nested messages are taken out first.
fn drop_flat(mut cut: Vec<mail_parser::Message<'_>>) {
    while let Some(mut message) = cut.pop() {
        for part in &mut message.parts {
            if let mail_parser::PartType::Message(inner) = std::mem::take(&mut part.body) {
                cut.push(inner);
            }
        }
    }
}

/// The longest plain part read as a stub that sends the reader to the HTML.
const STUB_BYTES: usize = 300;

/// Whether a plain part is a stub that points to the HTML beside it ("This message is in HTML
/// format. Please view it in an HTML-capable mail program."): short, and naming HTML.
fn is_html_stub(text: &str) -> bool {
    text.len() <= STUB_BYTES
        && text
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"html"))
}

/// The first text body: the plain part, or, for HTML-only mail and mail whose plain part is
/// blank (some clients send an empty one beside the HTML) or a stub that points to the HTML
/// ([`is_html_stub`]), the HTML turned into text by
/// [`super::html::html_to_text`] (lines and quotes kept, unlike mail-parser's own conversion).
/// Whether the text was cut at `limits.text_bytes` comes with it: then without the line the
/// cut fell in, whose end was not read.
fn body_text(message: &mail_parser::Message<'_>, limits: &ReadLimits) -> (String, bool) {
    let Some(mut part) = message.text_part(0) else {
        return (String::new(), false);
    };
    if let mail_parser::PartType::Text(text) = &part.body
        && (text.trim().is_empty() || is_html_stub(text))
        && let Some(html) = message
            .html_part(0)
            .filter(|html| matches!(html.body, mail_parser::PartType::Html(_)))
    {
        part = html;
    }
    match &part.body {
        mail_parser::PartType::Html(html) => {
            let limits = super::html::HtmlLimits {
                max_depth: limits.html_depth,
                max_output_bytes: limits.text_bytes,
            };
            super::html::html_to_text_cut(html, &limits)
        }
        mail_parser::PartType::Text(text) => {
            let was_cut = text.len() > limits.text_bytes;
            let mut text = cut(text.to_string(), limits.text_bytes);
            if was_cut {
                super::html::to_whole_lines(&mut text);
            }
            let text = text.replace("\r\n", "\n").replace('\r', "\n");
            let flowed = part.content_type().is_some_and(|ct| {
                ct.attribute("format")
                    .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
            });
            let text = if flowed {
                let delsp = part.content_type().is_some_and(|ct| {
                    ct.attribute("delsp")
                        .is_some_and(|d| d.eq_ignore_ascii_case("yes"))
                });
                unflow(&text, delsp)
            } else {
                text
            };
            (text, was_cut)
        }
        _ => (String::new(), false),
    }
}

/// RFC 3676: a line ending in a space continues on the next line (of the same quote depth);
/// with `delsp=yes` that space is not part of the text. The signature separator `-- ` is not
/// a soft break.
fn unflow(text: &str, delsp: bool) -> String {
    let depth = |line: &str| line.chars().take_while(|&c| c == '>').count();
    let mut out = String::with_capacity(text.len());
    let mut open: Option<usize> = None; // quote depth of a paragraph still being joined
    for line in text.split('\n') {
        let d = depth(line);
        let content = line[d..].strip_prefix(' ').unwrap_or(&line[d..]);
        match open {
            Some(od) if od == d => {}
            Some(_) => {
                out.push('\n');
                out.push_str(&">".repeat(d));
                if d > 0 {
                    out.push(' ');
                }
            }
            None => {
                out.push_str(&">".repeat(d));
                if d > 0 {
                    out.push(' ');
                }
            }
        }
        let soft = content.ends_with(' ') && content != "-- ";
        if soft {
            out.push_str(if delsp {
                &content[..content.len() - 1]
            } else {
                content
            });
            open = Some(d);
        } else {
            out.push_str(content);
            out.push('\n');
            open = None;
        }
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

impl Incoming {
    /// Reads a message within the shipped [`ReadLimits`].
    pub fn parse(raw: &[u8]) -> Self {
        Self::parse_with(raw, &ReadLimits::default())
    }

    /// Reads a message, taking no more of it than `limits` allows.
    pub fn parse_with(raw: &[u8], limits: &ReadLimits) -> Self {
        // The key of a message without a Message-ID (most have one).
        let hash = || format!("sha256:{:x}", Sha256::digest(raw));
        let parsed = parser()
            .parse(raw)
            .filter(|m| !m.headers().is_empty())
            .map(Shallow::new);
        let Some(message) = parsed.as_ref().map(|shallow| &shallow.0) else {
            let hash = hash();
            return Self::without_nul(Self {
                dedupe_key: hash.clone(),
                message_id: None,
                from: None,
                from_raw: None,
                subject: None,
                date: None,
                in_reply_to: Vec::new(),
                references: Vec::new(),
                auto_generated: None,
                recipients: Vec::new(),
                new_text: String::new(),
                cut: None,
                text: cut(
                    String::from_utf8_lossy(&raw[..raw.len().min(limits.text_bytes)]).into_owned(),
                    limits.text_bytes,
                )
                .replace("\r\n", "\n"),
                // Unreadable: quarantined whole, not read for hours.
                text_cut: false,
                attachments: Vec::new(),
                calendar: None,
                content_hash: hash,
                authentication_results: Vec::new(),
                from_count: 0,
                readable: false,
                size: raw.len(),
            });
        };
        let message_id = message
            .message_id()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(bracketed);
        let from_raw = message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string);
        let from = from_raw
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok());
        let from_count = message
            .header_values(mail_parser::HeaderName::From)
            .map(|value| match value {
                mail_parser::HeaderValue::Address(a) => a.iter().count().max(1),
                _ => 1,
            })
            .sum();
        let authentication_results = authentication_results(message);
        let mut recipients: Vec<String> = message
            .to()
            .into_iter()
            .chain(message.cc())
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address())
            .take(MAX_RECIPIENTS)
            .map(str::to_lowercase)
            .collect();
        for header in ["Delivered-To", "X-Original-To"] {
            if let Some(value) = message.header_raw(header) {
                recipients.push(value.trim().trim_matches(['<', '>']).to_lowercase());
            }
        }
        let (text, text_cut) = body_text(message, limits);
        let date = message
            .date()
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
        let subject = message
            .subject()
            .map(|s| cut(s.to_string(), limits.subject_bytes));
        let attachments = attachments(message, limits.attachment_bytes);
        let extracted = crate::reply::extract_with_reason(&text);
        let content_hash = {
            let mut h = Sha256::new();
            for field in [from_raw.as_deref(), subject.as_deref(), Some(&text)] {
                h.update(field.unwrap_or_default().as_bytes());
                h.update([0]);
            }
            h.update(
                date.map(|d| d.timestamp())
                    .unwrap_or_default()
                    .to_be_bytes(),
            );
            for a in &attachments {
                h.update(a.filename.as_bytes());
                h.update([0]);
                h.update((a.size as u64).to_be_bytes());
            }
            format!("sha256:{:x}", h.finalize())
        };
        Self::without_nul(Self {
            dedupe_key: message_id.clone().unwrap_or_else(hash),
            auto_generated: auto_generated(message, from_raw.as_deref()).or_else(|| {
                auto_reply_statement(&extracted.text)
                    .map(|s| format!("out-of-office reply (text \"{s}…\")"))
            }),
            in_reply_to: newest(ids(message.in_reply_to()), limits.references),
            references: newest(ids(message.references()), limits.references),
            subject,
            recipients,
            new_text: extracted.text,
            cut: extracted.cut,
            attachments,
            calendar: calendar_part(message),
            content_hash,
            text,
            text_cut,
            message_id,
            from,
            from_raw,
            date,
            authentication_results,
            from_count,
            readable: true,
            size: raw.len(),
        })
    }

    /// The message with every NUL character in its text replaced by U+FFFD: no mail means one,
    /// and a database text column cannot hold it (PostgreSQL refuses the whole row).
    fn without_nul(mut self) -> Self {
        fn scrub(s: &mut String) {
            if s.contains('\0') {
                *s = s.replace('\0', "\u{FFFD}");
            }
        }
        let Self {
            dedupe_key,
            message_id,
            from_raw,
            subject,
            in_reply_to,
            references,
            auto_generated,
            recipients,
            text,
            new_text,
            cut,
            attachments,
            authentication_results,
            ..
        } = &mut self;
        [dedupe_key, text, new_text]
            .into_iter()
            .chain(
                [message_id, from_raw, subject, auto_generated]
                    .into_iter()
                    .flatten(),
            )
            .chain(in_reply_to.iter_mut())
            .chain(references.iter_mut())
            .chain(recipients.iter_mut())
            .chain(cut.iter_mut().map(|c| &mut c.line))
            .chain(attachments.iter_mut().map(|a| &mut a.filename))
            .chain(authentication_results.iter_mut().map(|h| &mut h.value))
            .for_each(scrub);
        self
    }
}

/// The `Authentication-Results` headers with their places, topmost first, each cut to
/// [`super::auth::MAX_HEADER_BYTES`].
fn authentication_results(message: &mail_parser::Message<'_>) -> Vec<super::auth::RawHeader> {
    message
        .headers()
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            h.name
                .as_str()
                .eq_ignore_ascii_case("Authentication-Results")
        })
        .take(super::auth::MAX_HEADERS)
        .map(|(position, h)| {
            let start = h.offset_start as usize;
            let end = (h.offset_end as usize).min(start + super::auth::MAX_HEADER_BYTES);
            let bytes = message.raw_message.get(start..end).unwrap_or_default();
            super::auth::RawHeader {
                position,
                value: String::from_utf8_lossy(bytes).into_owned(),
            }
        })
        .collect()
}

/// Whether a whole message names any of `needles` (ignoring case): in its bytes as they are,
/// or decoded (an encoded header, a quoted-printable or base64 text part). Linear in the
/// message for each needle.
pub fn mentions(raw: &[u8], needles: &[String]) -> bool {
    let needles: Vec<String> = needles
        .iter()
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    if needles.is_empty() {
        return false;
    }
    let plain = String::from_utf8_lossy(raw).to_lowercase();
    if needles.iter().any(|n| plain.contains(n.as_str())) {
        return true;
    }
    if too_costly(raw).is_some() {
        return false;
    }
    let Some(shallow) = parser().parse(raw).map(Shallow::new) else {
        return false;
    };
    let message = &shallow.0;
    let mut decoded = String::new();
    decoded.push_str(message.subject().unwrap_or_default());
    for address in [
        message.from(),
        message.to(),
        message.cc(),
        message.reply_to(),
    ]
    .into_iter()
    .flatten()
    {
        for a in address.iter() {
            decoded.push('\n');
            decoded.push_str(a.name().unwrap_or_default());
            decoded.push(' ');
            decoded.push_str(a.address().unwrap_or_default());
        }
    }
    for i in 0..message.text_body_count() {
        decoded.push('\n');
        decoded.push_str(&message.body_text(i).unwrap_or_default());
    }
    for i in 0..message.html_body_count() {
        decoded.push('\n');
        decoded.push_str(&message.body_html(i).unwrap_or_default());
    }
    // Soft line breaks and wrapped lines: a name split over two lines is still found.
    let decoded = decoded.to_lowercase();
    let joined: String = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    needles
        .iter()
        .any(|n| decoded.contains(n.as_str()) || joined.contains(n.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`parser`] reads every header as mail-parser's default does, but `Received`: raw.
    #[test]
    fn the_parser_reads_headers_as_the_default_but_received() {
        let names = [
            "Subject",
            "Comments",
            "Content-Description",
            "Content-Location",
            "Content-Transfer-Encoding",
            "From",
            "To",
            "Cc",
            "Bcc",
            "Reply-To",
            "Sender",
            "Resent-To",
            "Resent-From",
            "Resent-Bcc",
            "Resent-Cc",
            "Resent-Sender",
            "List-Archive",
            "List-Help",
            "List-Id",
            "List-Owner",
            "List-Post",
            "List-Subscribe",
            "List-Unsubscribe",
            "Date",
            "Resent-Date",
            "Message-ID",
            "References",
            "In-Reply-To",
            "Return-Path",
            "Content-ID",
            "Resent-Message-ID",
            "Keywords",
            "Content-Language",
            "MIME-Version",
            "Content-Disposition",
            "X-Other",
            "Received",
        ];
        let value = "=?utf-8?q?Gr=C3=BC=C3=9Fe?= <a@b.example>, c@d.example; \
                     Tue, 1 Jul 2025 10:00:00 +0200";
        let mut raw = String::new();
        for name in names {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n");
        let ours = parser().parse(raw.as_bytes()).unwrap();
        let default = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(ours.headers().len(), names.len() + 1);
        for (a, b) in ours.headers().iter().zip(default.headers()) {
            assert_eq!(a.name, b.name);
            if a.name == mail_parser::HeaderName::Received {
                assert!(matches!(b.value, mail_parser::HeaderValue::Received(_)));
                assert_eq!(a.value, mail_parser::HeaderValue::Text(value.into()));
            } else {
                assert_eq!(a.value, b.value, "{}", a.name.as_str());
            }
        }
        assert_eq!(ours.body_text(0), default.body_text(0));
    }

    /// A message with `depth` `message/rfc822` parts, each inside the one before.
    fn nested(depth: usize) -> Vec<u8> {
        let mut raw = String::from(
            "From: Eve <eve@evil.example>\nTo: team@example.org\nSubject: hi\n\
             Message-ID: <nested@evil.example>\nMIME-Version: 1.0\n\
             Content-Type: message/rfc822\n\n",
        );
        raw.push_str(&"Content-Type: message/rfc822\n\n".repeat(depth));
        raw.push_str("Content-Type: text/plain\n\nhello\n");
        raw.into_bytes()
    }

    /// 50,000 nested messages (1.5 MB) are read, walked and dropped on a thread with the stack
    /// of the reader's blocking threads (2 MiB): the tree is cut at `MAX_NESTED`, and dropped
    /// without recursion. Before, 23,000 overflowed the stack and killed the process.
    #[test]
    fn deeply_nested_messages_do_not_overflow_the_stack() {
        let raw = nested(50_000);
        assert_eq!(nested_messages(&raw), 50_001);
        assert!(too_costly(&raw).is_some());
        let read = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let incoming = Incoming::parse(&raw);
                (incoming.readable, incoming.subject.clone())
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(read, (true, Some("hi".to_string())));
    }

    /// 200,000 pieces of one file name (5.9 MB) took 6.7 s to read whole; such a message is
    /// read from its header, and a file name of a few pieces is read as ever.
    #[test]
    fn split_parameters_are_counted() {
        let pieces = |n: usize| {
            let mut raw = String::from(
                "From: a@b.example\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\
                 Content-Type: application/pdf\nContent-Disposition: attachment",
            );
            for i in 0..n {
                raw.push_str(&format!(";\n filename*{i}*=utf-8''a%41"));
            }
            raw.push_str("\n\nJVBERi0=\n--x--\n");
            raw.into_bytes()
        };
        assert_eq!(parameter_pieces(&pieces(3)), 3);
        assert_eq!(too_costly(&pieces(3)), None);
        let incoming = Incoming::parse(&pieces(3));
        assert_eq!(incoming.attachments[0].filename, "aAaAaA");
        assert_eq!(parameter_pieces(&pieces(2000)), 2000);
        assert!(too_costly(&pieces(2000)).unwrap().contains("2000 pieces"));
        assert_eq!(parameter_pieces(b"2*3 = 6, a*=b, *12x="), 0);
    }

    #[test]
    fn nested_messages_are_bounded_by_their_type_names_in_any_case() {
        assert_eq!(nested_messages(b"Content-Type: text/plain\n\nhello"), 0);
        assert_eq!(nested_messages(&nested(3)), 4);
        assert_eq!(
            nested_messages(b"Content-Type: MESSAGE/RFC822\nmultipart/Digest; Global"),
            3
        );
    }

    proptest::proptest! {
        /// The counts found with `memchr` are those of reading a byte at a time.
        #[test]
        fn the_bounds_count_as_a_byte_at_a_time_would(
            raw in proptest::collection::vec(
                proptest::sample::select(b"rRgGdDfFcC8 2*=019ieSTlObAx-".to_vec()),
                0..400,
            )
        ) {
            const WORDS: [&[u8]; 3] = [b"rfc822", b"global", b"digest"];
            let nested = (0..raw.len())
                .filter(|&i| {
                    WORDS.iter().any(|w| {
                        raw.get(i..i + w.len()).is_some_and(|at| at.eq_ignore_ascii_case(w))
                    })
                })
                .count();
            let pieces = (0..raw.len())
                .filter(|&i| {
                    let digits = raw[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                    let after = &raw[i + 1 + digits..];
                    raw[i] == b'*'
                        && digits > 0
                        && (after.starts_with(b"=") || after.starts_with(b"*="))
                })
                .count();
            proptest::prop_assert_eq!(nested_messages(&raw), nested);
            proptest::prop_assert_eq!(parameter_pieces(&raw), pieces);
        }
    }

    #[test]
    fn the_bounds_count_words_and_pieces_that_come_by_chance() {
        let raw = b"RFC822rfc822 gLoBaL digest*1=*12*=**3=";
        assert_eq!(nested_messages(raw), 4);
        assert_eq!(parameter_pieces(raw), 3);
    }

    fn mail(headers: &str) -> Incoming {
        Incoming::parse(format!("{headers}\r\n\r\nHello\r\n").as_bytes())
    }

    const PERSON: &str = "From: Anna <anna@acme.example>\r\nTo: team@example.org\r\n\
                          Subject: Question\r\nMessage-ID: <abc@acme.example>\r\n\
                          Date: Thu, 26 Nov 2026 10:00:00 +0100";

    #[test]
    fn a_person_s_mail() {
        let m = mail(PERSON);
        assert_eq!(m.message_id.as_deref(), Some("<abc@acme.example>"));
        assert_eq!(m.dedupe_key, "<abc@acme.example>");
        assert_eq!(m.from.unwrap().as_str(), "anna@acme.example");
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-11-26T09:00:00+00:00");
        assert_eq!(m.auto_generated, None);
        assert_eq!(m.text, "Hello\n");
    }

    #[test]
    fn machine_mail_is_recognised() {
        let cases = [
            "Auto-Submitted: auto-replied",
            "Precedence: bulk",
            "List-Id: <news.acme.example>",
            "Return-Path: <>",
            "X-Autoreply: yes",
            "Subject: Automatische Antwort: Ihre Nachricht",
        ];
        for extra in cases {
            let headers = if extra.starts_with("Subject") {
                PERSON.replace("Subject: Question", extra)
            } else {
                format!("{PERSON}\r\n{extra}")
            };
            assert!(
                mail(&headers).auto_generated.is_some(),
                "{extra} is auto-generated"
            );
        }
        assert_eq!(
            mail(&format!("{PERSON}\r\nAuto-Submitted: no")).auto_generated,
            None
        );
        let bounce = PERSON.replace("anna@acme.example", "MAILER-DAEMON@mx.acme.example");
        assert!(mail(&bounce).auto_generated.unwrap().starts_with("bounce"));
        let dsn = format!(
            "{PERSON}\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x"
        );
        assert!(
            mail(&dsn)
                .auto_generated
                .unwrap()
                .contains("delivery-status")
        );
    }

    fn with_subject_and_text(subject: &str, text: &str) -> Incoming {
        let headers = PERSON.replace("Subject: Question", &format!("Subject: {subject}"));
        Incoming::parse(
            format!("{headers}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n")
                .as_bytes(),
        )
    }

    #[test]
    fn a_text_cut_at_its_limit_says_so_and_leaves_out_the_line_the_cut_fell_in() {
        let limits = ReadLimits {
            text_bytes: 33,
            ..ReadLimits::default()
        };
        let body = "2026-11-23 1h inbox\r\n2026-11-23 12h Messe\r\n2026-11-24 1h x\r\n";
        let plain = format!("{PERSON}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}");
        let html = format!(
            "{PERSON}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
             <p>2026-11-23 1h inbox</p><p>2026-11-23 12h Messe</p><p>2026-11-24 1h x</p>\r\n"
        );
        for raw in [plain, html] {
            // The limit falls in "12h": that line is not read as "1".
            let m = Incoming::parse_with(raw.as_bytes(), &limits);
            assert!(m.text_cut, "{raw}");
            assert_eq!(m.text.trim_end(), "2026-11-23 1h inbox", "{raw}");
            let whole = Incoming::parse_with(raw.as_bytes(), &ReadLimits::default());
            assert!(!whole.text_cut, "{raw}");
            assert!(whole.text.trim_end().ends_with("2026-11-24 1h x"), "{raw}");
        }
    }

    #[test]
    fn a_blank_or_stub_plain_part_beside_the_html_gives_way_to_it() {
        let raw = format!(
            "{PERSON}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n \r\n\r\n\
             --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
             <p>2026-11-23 2h Buchhaltung</p><p>2026-11-24 1h Telefonate</p>\r\n--b--\r\n"
        );
        let m = Incoming::parse_with(raw.as_bytes(), &ReadLimits::default());
        assert_eq!(
            m.text.trim_end(),
            "2026-11-23 2h Buchhaltung\n2026-11-24 1h Telefonate"
        );
        // So does a stub that points to the HTML.
        for stub in [
            "This message is in HTML format. Please view it in an HTML-capable mail program.",
            "Diese Nachricht ist im HTML-Format.",
        ] {
            let raw = raw.replace("\r\n \r\n", &format!("\r\n{stub}\r\n"));
            let m = Incoming::parse_with(raw.as_bytes(), &ReadLimits::default());
            assert_eq!(
                m.text.trim_end(),
                "2026-11-23 2h Buchhaltung\n2026-11-24 1h Telefonate",
                "{stub}"
            );
        }
        // A plain part with words is the text, whatever the HTML says.
        let raw = raw.replace("\r\n \r\n", "\r\nSee below\r\n");
        let m = Incoming::parse_with(raw.as_bytes(), &ReadLimits::default());
        assert_eq!(m.text.trim_end(), "See below");
    }

    #[test]
    fn out_of_office_replies_without_headers_in_every_language() {
        for subject in [
            "Abwesenheitsnotiz: Stunden KW 49",
            "Abwesenheitsnotiz : Stunden KW 49",
            "Automatische Antwort: Ihr Feedback [#tok]",
            "Réponse automatique : Votre avis",
            "Risposta automatica: Il tuo parere",
            "Respuesta automática: Su opinión",
            "Resposta automática: A sua opinião",
            "Automatisch antwoord: Uw mening",
            "Autosvar: Din åsikt",
            "Automatyczna odpowiedź: Twoja opinia",
            "Automaattinen vastaus: Palaute",
            "Автоматический ответ: Отзыв",
            "Automatická odpověď: Názor",
            "Automatikus válasz: Vélemény",
            "Otomatik yanıt: Görüş",
            "Out of Office: Your feedback",
        ] {
            let m = with_subject_and_text(subject, "Ich bin bis 15.3. nicht erreichbar.");
            assert!(m.auto_generated.is_some(), "{subject}");
        }
        for (subject, text) in [
            (
                "Abwesenheitsnotiz",
                "Guten Tag,\n\ndies ist eine automatische Antwort. Ich bin bis 15.3. abwesend.",
            ),
            (
                "Re: Votre avis",
                "Ceci est une réponse automatique. Je suis absente.",
            ),
            (
                "Il tuo parere",
                "Questa è una risposta automatica: sono fuori sede.",
            ),
            ("Uw mening", "Dit is een automatisch antwoord."),
        ] {
            let m = with_subject_and_text(subject, text);
            assert!(
                m.auto_generated
                    .as_deref()
                    .is_some_and(|w| w.contains("text")),
                "{subject}: {:?}",
                m.auto_generated
            );
        }
    }

    #[test]
    fn a_person_writing_about_absence_or_answering_an_autoresponder_is_no_machine() {
        for (subject, text) in [
            ("AW: Automatische Antwort: Ihr Feedback", "1: 4\n2: 5"),
            ("Re: Réponse automatique : Votre avis", "Oui, merci."),
            (
                "Abwesenheit nächste Woche",
                "Hallo, ich bin nächste Woche nicht im Büro.",
            ),
            (
                "Abwesenheitsnotiz",
                "Hallo, ich bin ab Montag im Urlaub, hier noch meine Stunden.",
            ),
            (
                "Out of office next week",
                "I am out of the office next week.",
            ),
            (
                "Réponse automatique désactivée",
                "Bonjour, ma réponse automatique est coupée.",
            ),
            (
                "Re: Umfrage",
                "Hallo,\n1: 4\n2: 5\n3: ja\n4: Dies ist eine automatische Antwort? Nein.",
            ),
            (
                "Re: Votre avis",
                "> Ceci est une réponse automatique.\nNon, c'était moi.",
            ),
        ] {
            let m = with_subject_and_text(subject, text);
            assert_eq!(m.auto_generated, None, "{subject}");
        }
    }

    #[test]
    fn mail_without_message_id_is_keyed_by_content() {
        let m = mail("From: anna@acme.example\r\nSubject: hi");
        assert!(m.dedupe_key.starts_with("sha256:"));
        assert_eq!(
            m.dedupe_key,
            mail("From: anna@acme.example\r\nSubject: hi").dedupe_key
        );
    }

    #[test]
    fn format_flowed_paragraphs_are_joined() {
        let text = "Buchhaltung vorbereitet, Belege sortiert und an das \nSteuerbüro geschickt\n-- \nLena\n> quoted \n> on\nnext";
        assert_eq!(
            unflow(text, false),
            "Buchhaltung vorbereitet, Belege sortiert und an das Steuerbüro geschickt\n-- \nLena\n> quoted on\nnext"
        );
        assert_eq!(unflow("ab \ncd", true), "abcd");
    }

    #[test]
    fn garbage_is_unreadable_but_keyed() {
        let m = Incoming::parse(b"");
        assert!(!m.readable);
        assert!(m.dedupe_key.starts_with("sha256:"));
    }
}
