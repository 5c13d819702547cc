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

mod quotes;
mod signature;
mod text;

#[cfg(test)]
mod tests;

use serde::Serialize;

use quotes::{Attribution, Headers};
use text::content;

/// What ended the new text, or was the first thing taken out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cut {
    /// A line quoted with `>`.
    QuoteMarker,
    /// "On ... wrote:", "Am ... schrieb ...:", "Anna Berg wrote:" above a quote.
    Attribution,
    /// "-----Original Message-----", "---------- Forwarded message ---------" and the like.
    OriginalMessage,
    /// A "From:/Sent:/To:/Subject:" or "Von:/Gesendet:/An:/Betreff:" block, with Outlook's line
    /// of underscores above it.
    HeaderBlock,
    /// The "-- " delimiter and the few lines after it.
    Signature,
    /// "Sent from my iPhone", "Gesendet mit der GMX Mail App" and the like.
    MobileSignature,
}

/// The new text of a message, and why it is shorter than the message, if it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// What the sender wrote now; "" when nothing is left.
    pub text: String,
    /// The first thing removed after the last line kept (what ended the new text); when the
    /// text ends with a kept line, the first thing removed anywhere; `None` when nothing was.
    pub cut: Option<Cut>,
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
            Mark::Quote => kept.remove(Cut::QuoteMarker),
            Mark::Intro { span } => {
                kept.remove(Cut::Attribution);
                i += span;
                continue;
            }
            Mark::Start(cut) => {
                kept.remove(cut);
                break;
            }
            Mark::Glued { at, cut, end } => {
                let before =
                    lines[i][..at].trim_end_matches(|c: char| c == '*' || c.is_whitespace());
                if !before.is_empty() {
                    kept.line(before);
                }
                kept.remove(cut);
                if end {
                    break;
                }
            }
            Mark::Delimiter if signature_follows(&marks, i) => {
                kept.remove(Cut::Signature);
                break;
            }
            Mark::Delimiter => kept.line(lines[i]),
        }
        i += 1;
    }
    kept.finish()
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
    /// The start of an original, a forward or an app line: the new text ends here.
    Start(Cut),
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
                return Mark::Start(Cut::OriginalMessage);
            }
            if signature::is_app_line(c) {
                return Mark::Start(Cut::MobileSignature);
            }
            if headers.block_at(i)
                || (quotes::is_underscore_line(c) && headers.block_at(next[i + 1]))
            {
                return Mark::Start(Cut::HeaderBlock);
            }
            match quotes::attribution_at(contents, i) {
                Some(Attribution::Dated { span }) if quote_at(i + span) => Mark::Intro { span },
                Some(Attribution::Dated { .. }) => Mark::Start(Cut::Attribution),
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
            Mark::Quote | Mark::Intro { .. } | Mark::Start(_) | Mark::Glued { .. } => break,
        }
    }
    true
}

/// The lines kept so far, and what was removed.
#[derive(Default)]
struct Kept<'a> {
    lines: Vec<&'a str>,
    /// The first thing removed.
    first: Option<Cut>,
    /// The first thing removed since the last non-blank line kept.
    since_kept: Option<Cut>,
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

    fn remove(&mut self, cut: Cut) {
        self.first.get_or_insert(cut);
        self.since_kept.get_or_insert(cut);
        self.gap = true;
    }

    fn finish(self) -> Extracted {
        let blank = |l: &&str| content(l).is_empty();
        let start = self.lines.iter().position(|l| !blank(l));
        let text = match start {
            Some(start) => {
                let end = self.lines.iter().rposition(|l| !blank(l)).unwrap_or(start);
                self.lines[start..=end].join("\n")
            }
            None => String::new(),
        };
        Extracted {
            text,
            cut: self.since_kept.or(self.first),
        }
    }
}
