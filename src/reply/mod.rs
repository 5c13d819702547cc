//! The new text of a reply: what the sender wrote now, without the quoted original, attribution
//! lines, forwarded headers and signatures. Pure: text in, text out; it never does I/O.
//!
//! It reads the text that [`crate::inbound::message::Incoming`] gives (the plain part, or the
//! HTML part turned into text; LF line ends) in two passes:
//! 1. every line is classified on its own, with a bounded look at its neighbours ([`Mark`]):
//!    `>` quotes ([`quotes`]), attributions, separators, header blocks, signature delimiters and
//!    app lines ([`signature`]);
//! 2. one pass from the top keeps the new text. `>` lines are dropped wherever they are, so a
//!    reply written between the quoted lines keeps the writer's lines; an attribution directly
//!    above a `>` quote is dropped with it; anything else that starts an original or a signature
//!    ends the new text.
//!
//! Both passes are linear in the length of the text.

pub mod languages;
mod quotes;
mod signature;
mod text;

#[cfg(test)]
mod tests;

use serde::Serialize;

use quotes::{Attribution, Headers};
use text::content;
pub(crate) use text::starts_with_ci;

/// What ended the new text, or was the first thing taken out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cut {
    /// A line quoted with `>`.
    QuoteMarker,
    /// "On ... wrote:", "Am ... schrieb ...:", "Le ... a écrit :", "Anna Berg wrote:" above a
    /// quote, "03.03.2026, 09.12, "Anna" <a@b>:" above a quote or a header block.
    Attribution,
    /// "-----Original Message-----", "---------- Forwarded message ---------", "-----Message
    /// d'origine-----" and the like.
    OriginalMessage,
    /// A "From:/Sent:/To:/Subject:" block in any language ("Von:/Gesendet:", "De :/Envoyé :"),
    /// with Outlook's line of underscores above it.
    HeaderBlock,
    /// The "-- " delimiter and the few lines after it.
    Signature,
    /// "Sent from my iPhone", "Gesendet mit der GMX Mail App" and the like.
    MobileSignature,
}

/// The most bytes of a line [`CutAt::line`] shows.
pub const MAX_CUT_LINE: usize = 300;

/// What was cut and the line it was read from, so an operator can see why the new text ends
/// where it does (`tandem parse --json`: `"cut": {"kind": "attribution", "line": "Le 3 mars
/// 2026 à 10:00, Anna <a@b> a écrit :"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CutAt {
    pub kind: Cut,
    /// The line, trimmed, at most [`MAX_CUT_LINE`] bytes (cut at a character boundary); an
    /// attribution wrapped over several lines is shown on one, its lines joined by a space
    /// (none after a "<" that an address was broken after); a
    /// marker glued onto a line of text is shown from where it starts.
    pub line: String,
}

/// The new text of a message, and why it is shorter than the message, if it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// What the sender wrote now; "" when nothing is left.
    pub text: String,
    /// The first thing removed after the last line kept (what ended the new text); when the
    /// text ends with a kept line, the first thing removed anywhere; `None` when nothing was.
    pub cut: Option<CutAt>,
}

/// The new text of a message: what the sender wrote now, without the quoted original,
/// attribution lines, forwarded headers and signatures. Pure; never panics; never returns more
/// than it was given. When nothing is left (e.g. the whole message was a quote), returns "".
///
/// Every line of the result is a line of the input, in order, except where HTML conversion glued
/// an attribution, a header block or an app line onto the end of a line of new text: that line
/// is kept up to where the glued part starts.
pub fn extract(text: &str) -> String {
    extract_with_reason(text).text
}

/// [`extract`], naming what was cut.
pub fn extract_with_reason(text: &str) -> Extracted {
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let contents: Vec<&str> = lines.iter().map(|l| content(l)).collect();
    let marks = classify(&lines, &contents);
    let mut kept = Kept::default();
    let mut i = 0;
    while i < lines.len() {
        match marks[i] {
            Mark::Blank | Mark::Text => kept.line(lines[i]),
            Mark::Quote => kept.remove(Cut::QuoteMarker, Where::Lines(i, 1)),
            Mark::Intro { span } => {
                kept.remove(Cut::Attribution, Where::Lines(i, span));
                i += span;
                continue;
            }
            Mark::Start(cut, span) => {
                kept.remove(cut, Where::Lines(i, span));
                break;
            }
            Mark::Glued { at, cut, end } => {
                let before =
                    lines[i][..at].trim_end_matches(|c: char| c == '*' || c.is_whitespace());
                if !before.is_empty() {
                    kept.line(before);
                }
                kept.remove(cut, Where::Glued(i, at));
                if end {
                    break;
                }
            }
            Mark::Delimiter if signature_follows(&marks, i) => {
                kept.remove(Cut::Signature, Where::Lines(i, 1));
                break;
            }
            Mark::Delimiter => kept.line(lines[i]),
        }
        i += 1;
    }
    kept.finish(&contents, &lines)
}

/// What a line is, decided before the lines are kept or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Blank,
    Text,
    /// A `>` line: dropped, reading goes on.
    Quote,
    /// An attribution over `span` lines directly above a `>` quote: dropped, reading goes on.
    Intro {
        span: usize,
    },
    /// The start of an original, a forward or an app line, over this many lines: the new text
    /// ends here.
    Start(Cut, usize),
    /// New text up to byte `at`, then a marker that HTML conversion glued on; `end`: the new
    /// text ends here (else it was an attribution above a `>` quote, and reading goes on).
    Glued {
        at: usize,
        cut: Cut,
        end: bool,
    },
    /// "-- ": a signature if few lines follow before the end or a quote.
    Delimiter,
}

fn classify(lines: &[&str], contents: &[&str]) -> Vec<Mark> {
    let n = lines.len();
    let headers = Headers::new(contents);
    // next[i]: the first non-blank line at or after i (n: none).
    let mut next = vec![n; n + 1];
    for i in (0..n).rev() {
        next[i] = if contents[i].is_empty() {
            next[i + 1]
        } else {
            i
        };
    }
    let quote_at = |i: usize| next[i.min(n)] < n && quotes::is_quote(contents[next[i.min(n)]]);
    // A header block at the first non-blank line at or after i.
    let block_at = |i: usize| headers.block_at(next[i.min(n)]);
    // ... or Outlook's line of underscores directly above one.
    let headers_at = |i: usize| {
        let at = next[i.min(n)];
        block_at(at) || (at < n && quotes::is_underscore_line(contents[at]) && block_at(at + 1))
    };
    (0..n)
        .map(|i| {
            let c = contents[i];
            if c.is_empty() {
                return Mark::Blank;
            }
            if quotes::is_quote(c) {
                return Mark::Quote;
            }
            if signature::is_delimiter(c) {
                return Mark::Delimiter;
            }
            if quotes::is_separator(c) {
                return Mark::Start(Cut::OriginalMessage, 1);
            }
            if signature::is_app_line(c) {
                return Mark::Start(Cut::MobileSignature, 1);
            }
            if headers.block_at(i) || (quotes::is_underscore_line(c) && block_at(i + 1)) {
                return Mark::Start(Cut::HeaderBlock, 1);
            }
            match quotes::attribution_at(contents, i) {
                Some(Attribution::Dated { span }) if quote_at(i + span) => Mark::Intro { span },
                Some(Attribution::Dated { span }) => Mark::Start(Cut::Attribution, span),
                Some(Attribution::Addressed { span }) if quote_at(i + span) => Mark::Intro { span },
                Some(Attribution::Addressed { span }) if headers_at(i + span) => {
                    Mark::Start(Cut::Attribution, span)
                }
                Some(Attribution::Named) if quote_at(i + 1) => Mark::Intro { span: 1 },
                _ => glued(lines[i], i, &headers, quote_at(i + 1)).unwrap_or(Mark::Text),
            }
        })
        .collect()
}

/// A marker glued onto the end of a line of new text, the earliest if there are several.
fn glued(line: &str, i: usize, headers: &Headers, quote_follows: bool) -> Option<Mark> {
    let attribution =
        quotes::glued_attribution(line).map(|at| (at, Cut::Attribution, !quote_follows));
    let header = quotes::glued_header(line)
        .filter(|&(_, bits)| headers.glued_block_at(i, bits))
        .map(|(at, _)| (at, Cut::HeaderBlock, true));
    let first = attribution
        .into_iter()
        .chain(header)
        .min_by_key(|&(at, ..)| at);
    // An app line can end the text before either ("Ok!Sent from my iPhoneOn ... wrote:").
    let before = first.map_or(line, |(at, ..)| &line[..at]);
    let app = signature::glued_app_line(before).map(|at| (at, Cut::MobileSignature, true));
    app.or(first)
        .map(|(at, cut, end)| Mark::Glued { at, cut, end })
}

/// Whether the delimiter at line `at` starts a signature: at most
/// [`signature::MAX_SIGNATURE_LINES`] lines follow it before the end or the start of a quote.
fn signature_follows(marks: &[Mark], at: usize) -> bool {
    let mut lines = 0;
    for mark in &marks[at + 1..] {
        match mark {
            Mark::Blank => {}
            Mark::Text | Mark::Delimiter => {
                lines += 1;
                if lines > signature::MAX_SIGNATURE_LINES {
                    return false;
                }
            }
            Mark::Quote | Mark::Intro { .. } | Mark::Start(..) | Mark::Glued { .. } => break,
        }
    }
    true
}

/// Where something removed was read: `span` lines from a line, or a line from a byte on.
#[derive(Debug, Clone, Copy)]
enum Where {
    Lines(usize, usize),
    Glued(usize, usize),
}

/// The lines kept so far, and what was removed.
#[derive(Default)]
struct Kept<'a> {
    lines: Vec<&'a str>,
    /// The first thing removed.
    first: Option<(Cut, Where)>,
    /// The first thing removed since the last non-blank line kept.
    since_kept: Option<(Cut, Where)>,
    /// Whether something was removed since the last non-blank line kept: a blank line then
    /// only separates if the kept text does not already end with one.
    gap: bool,
    /// Whether the last line kept is blank (remembered, not looked at again: a long blank
    /// line followed by many removed ones would make that quadratic).
    last_blank: bool,
}

impl<'a> Kept<'a> {
    fn line(&mut self, line: &'a str) {
        let blank = content(line).is_empty();
        if blank {
            if self.gap && self.last_blank {
                return;
            }
        } else {
            self.since_kept = None;
            self.gap = false;
        }
        self.last_blank = blank;
        self.lines.push(line);
    }

    fn remove(&mut self, cut: Cut, at: Where) {
        self.first.get_or_insert((cut, at));
        self.since_kept.get_or_insert((cut, at));
        self.gap = true;
    }

    fn finish(self, contents: &[&str], lines: &[&str]) -> Extracted {
        let blank = |l: &&str| content(l).is_empty();
        let start = self.lines.iter().position(|l| !blank(l));
        let text = match start {
            Some(start) => {
                let end = self.lines.iter().rposition(|l| !blank(l)).unwrap_or(start);
                self.lines[start..=end].join("\n")
            }
            None => String::new(),
        };
        let cut = self.since_kept.or(self.first).map(|(kind, at)| {
            let line = match at {
                Where::Lines(i, span) => {
                    // At most MAX_CUT_LINE bytes are copied, however long the lines are.
                    let mut line = String::new();
                    for c in contents.iter().skip(i).take(span) {
                        // Lines joined by a space, but an address broken after its "<"
                        // stays whole ("Anna <" + "a@b> wrote:").
                        if !line.is_empty() && !line.ends_with('<') {
                            line.push(' ');
                        }
                        line.push_str(up_to(c, MAX_CUT_LINE + 1 - line.len().min(MAX_CUT_LINE)));
                        if line.len() > MAX_CUT_LINE {
                            break;
                        }
                    }
                    up_to(&line, MAX_CUT_LINE).to_string()
                }
                Where::Glued(i, at) => up_to(content(&lines[i][at..]), MAX_CUT_LINE).to_string(),
            };
            CutAt { kind, line }
        });
        Extracted { text, cut }
    }
}

/// The start of `s`, at most `max` bytes, at a character boundary.
fn up_to(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
