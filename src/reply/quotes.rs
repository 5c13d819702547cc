//! Where a quoted original begins: `>` lines, attribution lines ("On ... wrote:", "Am ... schrieb
//! ...:", "Le ... a écrit :", or only a date and an address above a quote), the separators of
//! Outlook, Gmail and Thunderbird ("-----Original Message-----", "-----Message d'origine-----"),
//! and header blocks ("From: / Sent: / To: / Subject:", "De : / Envoyé :"). The words of the
//! languages are [`languages::LANGUAGES`]'s; the English and German attributions are read here by
//! their structure, since time logs and answers are written in those languages and hold lines that
//! look like them ("Am 23.11.2026 schrieb ich:").
//!
//! An attribution that HTML conversion glued onto the end of a line of text is looked for where
//! "On " or "Am " begins, or where a sentence ends with no space after it ("Merci !Le ... a écrit
//! :"); elsewhere such a line is kept whole (the quote under it is still removed).
//!
//! Each test looks at one line (or the two or three lines of a wrapped attribution, or the run of a
//! header block) and is bounded in the work it does, so classifying a message stays linear.

use std::sync::OnceLock;

use super::languages::{self, Language, fold, has_phrase};
use super::text::{first_word, has_date_or_time, has_first_person, is_pronoun, last_word};

/// The longest attribution considered, in bytes: a date, a name and an address fit easily;
/// a paragraph of prose that happens to end in "wrote:" does not.
const MAX_ATTRIBUTION: usize = 300;

/// Whether a line is quoted: its first non-space character is `>` (any depth: `>>`, `> >`).
pub(super) fn is_quote(content: &str) -> bool {
    content.starts_with('>')
}

/// The longest separator phrase or forward intro compared, in bytes.
const MAX_SEPARATOR: usize = 120;

/// "-----Original Message-----", "---------- Forwarded message ---------", "-----Message
/// d'origine-----", "Begin forwarded message:", "Début du message réexpédié :" and the like,
/// in every language of [`languages::LANGUAGES`].
pub(super) fn is_separator(content: &str) -> bool {
    if content.starts_with("--") {
        let inner = content.trim_matches(|c: char| c == '-' || c.is_whitespace());
        return fold(inner, MAX_SEPARATOR)
            .is_some_and(|inner| languages::all(|l| l.separators).any(|p| inner == p));
    }
    let Some(intro) = content.strip_suffix(':') else {
        return false;
    };
    fold(intro.trim_end(), MAX_SEPARATOR)
        .is_some_and(|intro| languages::all(|l| l.forward_intros).any(|p| intro == p))
}

/// Outlook's line of underscores above a header block. It only counts before one.
pub(super) fn is_underscore_line(content: &str) -> bool {
    content.len() >= 10 && content.bytes().all(|b| b == b'_')
}

// What a header line contributes to a block, as bits.
/// "From:"/"Von:" with a value that can be a sender (not "Von: 9:00").
const FROM: u8 = 1;
/// ... whose value carries an address.
const FROM_ADDRESS: u8 = 2;
/// "Sent:"/"Gesendet:"/"Date:"/"Datum:" with a digit in the value.
const DATE: u8 = 4;
/// "Subject:"/"Betreff:".
const SUBJECT: u8 = 8;
/// "To:"/"An:"/"Cc:" and the rest: part of a block, never evidence of one.
const OTHER: u8 = 16;

/// What a "From:" or "Von:" value contributes: a sender starts with a name, a quote or an
/// address, never with a digit.
fn sender_bits(value: &str) -> u8 {
    match value.chars().next() {
        Some(c) if !c.is_ascii_digit() => FROM | if value.contains('@') { FROM_ADDRESS } else { 0 },
        _ => 0,
    }
}

/// How far into a line its header name's colon may be, in bytes ("Отправлено:" is 20,
/// "Másolatot kap:" 15).
const MAX_HEADER_NAME: usize = 40;

/// The bits of a line that starts with a header name of any language of [`languages::LANGUAGES`]
/// and a colon, 0 for any other line. Bold markers (`*From:*`), a space before the colon (`De :`)
/// and a missing space after it (`Von:tandem`, as HTML conversion leaves it) are accepted.
fn header_bits(content: &str) -> u8 {
    let content = content.trim_start_matches('*');
    let Some(colon) = content
        .bytes()
        .take(MAX_HEADER_NAME)
        .position(|b| b == b':')
    else {
        return 0;
    };
    let name = content[..colon].trim_end_matches('*').trim();
    // No header name has a digit or starts with anything but a letter (a test holds the table
    // to it): time-log lines ("Mo 9:00-12:00") and quoted lines end here, without folding.
    if !name.chars().next().is_some_and(char::is_alphabetic)
        || name.bytes().any(|b| b.is_ascii_digit())
    {
        return 0;
    }
    let Some(key) = fold(name, MAX_HEADER_NAME) else {
        return 0;
    };
    let value = content[colon + 1..].trim_start_matches('*').trim();
    let is =
        |field: fn(&Language) -> &'static [&'static str]| languages::all(field).any(|n| key == n);
    if is(|l| l.from) {
        sender_bits(value)
    } else if is(|l| l.sent) {
        if value.bytes().any(|b| b.is_ascii_digit()) {
            DATE
        } else {
            0
        }
    } else if is(|l| l.subject) {
        SUBJECT
    } else if is(|l| l.to) {
        OTHER
    } else {
        0
    }
}

/// Whether consecutive header lines with these bits make a block. Real blocks (Outlook, OWA,
/// GMX, Gmail's and Apple's forwards) always have a sender and a date or subject; the extra
/// condition (an address, or a date in three lines or more) keeps a time log written as
/// "Von: ... / Betreff: ..." from being taken for one.
fn is_block(bits: u8, lines: usize) -> bool {
    lines >= 2
        && bits & FROM != 0
        && bits & (DATE | SUBJECT) != 0
        && (bits & FROM_ADDRESS != 0 || (bits & DATE != 0 && lines >= 3))
}

/// The header lines of a message, with for each line the run of header lines it starts.
pub(super) struct Headers {
    /// What each line contributes (0: not a header line).
    bits: Vec<u8>,
    /// How many header lines follow each other from this line on.
    run: Vec<usize>,
    /// The bits of that run together.
    mask: Vec<u8>,
}

impl Headers {
    pub(super) fn new(contents: &[&str]) -> Self {
        let bits: Vec<u8> = contents.iter().map(|c| header_bits(c)).collect();
        let n = bits.len();
        let (mut run, mut mask) = (vec![0; n], vec![0; n]);
        for i in (0..n).rev() {
            if bits[i] != 0 {
                let (next_run, next_mask) = if i + 1 < n {
                    (run[i + 1], mask[i + 1])
                } else {
                    (0, 0)
                };
                run[i] = 1 + next_run;
                mask[i] = bits[i] | next_mask;
            }
        }
        Self { bits, run, mask }
    }

    /// Whether a header block starts at line `i`.
    pub(super) fn block_at(&self, i: usize) -> bool {
        self.bits.get(i).is_some_and(|&b| b != 0) && is_block(self.mask[i], self.run[i])
    }

    /// Whether line `i`, which has a header line glued onto its end (whose bits are `glued`),
    /// starts a header block together with the header lines that follow it.
    pub(super) fn glued_block_at(&self, i: usize, glued: u8) -> bool {
        self.bits.get(i) == Some(&0)
            && self.bits.get(i + 1).is_some_and(|&b| b != 0)
            && is_block(self.mask[i + 1] | glued, self.run[i + 1] + 1)
    }
}

/// How much of the end of a line is searched for a glued header line: a sender or a date
/// fits easily.
const GLUED_HEADER_TAIL: usize = 512;

/// The sender and date header names as HTML conversion glues them onto the end of the text
/// above a block, capitalised as mail clients write them ("From:", "Von:", "De :",
/// "Gesendet:"), in every language of [`languages::LANGUAGES`]. Outlook on the web puts the sender
/// first, GMX the date.
fn glued_header_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let capitalised = |name: &str| {
            let mut chars = name.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        };
        languages::all(|l| l.from)
            .chain(languages::all(|l| l.sent))
            .flat_map(|name| {
                let name = capitalised(name);
                [
                    format!("{name}:"),
                    format!("{name} :"),
                    format!("{name}\u{a0}:"),
                ]
            })
            .collect()
    })
}

/// The first header line of a block glued onto the end of a line of text ("1: 4 2: 5 From:
/// tandem <team@agency.example>", "anbei die Stunden. Gesendet: Montag, 23. November 2026"):
/// where it starts and its bits. Only the last [`GLUED_HEADER_TAIL`] bytes are searched.
pub(super) fn glued_header(line: &str) -> Option<(usize, u8)> {
    let mut start = line.len().saturating_sub(GLUED_HEADER_TAIL);
    while !line.is_char_boundary(start) {
        start += 1;
    }
    let tail = &line[start..];
    // Every header name ends in a colon: most lines have none, and need no more looking.
    if !tail.contains(':') {
        return None;
    }
    // Every name ends in the colon, so each of its places ends at one of the tail's colons:
    // compared there, no searcher is set up for each name (they were most of a parse).
    let names = glued_header_names();
    let at = start
        + tail
            .match_indices(':')
            .flat_map(|(colon, _)| {
                let through = &tail[..=colon];
                names
                    .iter()
                    .filter(move |name| through.ends_with(name.as_str()))
                    .map(move |name| through.len() - name.len())
            })
            .max()?;
    if line[..at]
        .trim_matches(|c: char| c == '*' || c.is_whitespace())
        .is_empty()
    {
        return None;
    }
    let bits = header_bits(&line[at..]);
    (bits != 0).then_some((at, bits))
}

/// How sure an attribution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attribution {
    /// Dated, with a verb ("On <date>, Anna wrote:", "Le <date>, Anna a écrit :"), over `span`
    /// lines: it introduces a quote whether or not `>` marks follow.
    Dated { span: usize },
    /// A date or time and an address or a name, ending in a colon, in any language or none
    /// ("03.03.2026, 09.12, "Anna" <a@b>:"), over `span` lines: an attribution only when a
    /// `>` quote or a header block follows.
    Addressed { span: usize },
    /// Only a name ("Anna Berg wrote:", "Anna Berg a écrit :"): an attribution only when a
    /// `>` quote follows.
    Named,
}

/// "On <date> ... wrote:" (Gmail, Apple, Thunderbird), "<name> wrote on <date>:",
/// "Am <date> ... schrieb <name>:" (Gmail, Apple, Thunderbird, GMX) and "<name> schrieb am
/// <date>:" (Thunderbird), on one string of at most [`MAX_ATTRIBUTION`] bytes.
pub(super) fn is_dated_attribution(text: &str) -> bool {
    let t = text.trim();
    if t.len() > MAX_ATTRIBUTION || !t.ends_with(':') || !has_date_or_time(t) || has_first_person(t)
    {
        return false;
    }
    let body = &t[..t.len() - 1];
    if let Some(before) = t.strip_prefix("On ").and_then(|r| r.strip_suffix("wrote:")) {
        return !last_word(before).is_some_and(is_pronoun);
    }
    if let Some(at) = t.find(" wrote on ") {
        return last_word(&t[..at]).is_some_and(|w| !is_pronoun(w));
    }
    if t.starts_with("Am ")
        && let Some(at) = body.find(" schrieb ")
    {
        let name = &body[at + " schrieb ".len()..];
        return first_word(name).is_some_and(|w| !is_pronoun(w));
    }
    if let Some(at) = t.find(" schrieb am ") {
        let name = t[..at].trim();
        return name.len() <= 120 && first_word(name).is_some_and(|w| !is_pronoun(w));
    }
    // Gmail's German Android app: "Am Mi., 25. Nov. 2026, 18:06 hat Anna <a@b> geschrieben:".
    if t.starts_with("Am ")
        && body.ends_with(" geschrieben")
        && let Some(at) = body.find(" hat ")
    {
        let name = &body[at + " hat ".len()..];
        return first_word(name).is_some_and(|w| !is_pronoun(w));
    }
    is_worded_attribution(t)
}

/// "Anna Berg wrote:", "Anna Berg <anna@acme.example> schrieb:" (Thunderbird without a date),
/// "Anna Berg a écrit :", "Anna Berg napisał(a):" (Thunderbird in other languages), "Quoting
/// Anna Berg <anna@acme.example>:" / "Zitat von ...:" (Horde).
fn is_named_attribution(t: &str) -> bool {
    if t.len() > 150 {
        return false;
    }
    if (t.starts_with("Quoting ") || t.starts_with("Zitat von ")) && t.ends_with(':') {
        return t.contains('@');
    }
    let name = t
        .strip_suffix("wrote:")
        .or_else(|| t.strip_suffix("schrieb:"))
        .map(str::to_string)
        .or_else(|| named_in_table(t));
    let Some(name) = name else {
        return false;
    };
    let name = name.trim();
    let words = name.split_whitespace().count();
    (1..=8).contains(&words)
        && !first_word(name).is_some_and(is_pronoun)
        && !last_word(name).is_some_and(is_pronoun)
        && !has_table_first_person(name)
}

/// What precedes a verb of [`languages::LANGUAGES`] that ends `t` (before the colon, and a "(a)"
/// for "napisał(a)"), if one does.
fn named_in_table(t: &str) -> Option<String> {
    let body = t.strip_suffix(':')?.trim_end();
    let body = body.strip_suffix("(a)").unwrap_or(body).trim_end();
    let folded = fold(body, 150)?;
    languages::all(|l| l.wrote).find_map(|verb| {
        let before = folded.strip_suffix(verb)?;
        (before.is_empty() || before.ends_with(' ')).then(|| before.to_string())
    })
}

/// Whether `t` has a word its writer uses of themselves in a language of [`languages::LANGUAGES`]:
/// the first word in any case ("Ik schreef ..."), the others as written, lower-case (so "Ben" is a
/// name, "ben" a pronoun).
fn has_table_first_person(t: &str) -> bool {
    t.split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '.' | '"' | '(' | ')')))
        .enumerate()
        .any(|(k, w)| {
            let lower;
            let w = if k == 0 {
                lower = w.to_lowercase();
                lower.as_str()
            } else {
                w
            };
            languages::all(|l| l.first_person).any(|p| p == w)
        })
}

/// A dated attribution in a language of [`languages::LANGUAGES`] by its verb, wherever the verb
/// stands: "Le 3 mars 2026 à 10:00, Anna <a@b> a écrit :", "Op di 3 mrt 2026 om 10:00 schreef Anna
/// <a@b>:", "Anna <a@b> ezt írta (időpont: 2026. márc. 3., K, 10:00):". `t` ends in a colon and has
/// a date or time; a name or an address must be there too.
fn is_worded_attribution(t: &str) -> bool {
    if has_table_first_person(t) || !has_name_or_address(t) {
        return false;
    }
    let Some(folded) = fold(t, 2 * MAX_ATTRIBUTION) else {
        return false;
    };
    languages::all(|l| l.wrote).any(|verb| has_phrase(&folded, verb))
}

/// Whether `t` names someone: an address, or a capitalised word after its first.
fn has_name_or_address(t: &str) -> bool {
    t.contains('@')
        || t.split_whitespace().skip(1).any(|w| {
            w.trim_start_matches(['"', '(', '\'', '«'])
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
        })
}

/// A date or time and an address (or a quoted or two-word capitalised name) ending in a
/// colon, in no particular language: "03.03.2026, 09.12, "Anna" <a@b>:", "вт, 3 мар. 2026
/// г. в 10:00, Anna <a@b>:". Only an attribution when a quote or a header block follows,
/// which the caller checks.
fn is_addressed_attribution(t: &str) -> bool {
    if t.len() > MAX_ATTRIBUTION
        || !t.ends_with(':')
        || !has_date_or_time(t)
        || has_first_person(t)
        || has_table_first_person(t)
    {
        return false;
    }
    if t.contains('@') {
        return true;
    }
    // "..., "Anna Berg":" or "..., Anna Berg:": the name is what precedes the colon.
    let before = t[..t.len() - 1].trim_end();
    if before.ends_with('"') || before.ends_with('»') {
        return true;
    }
    let words: Vec<&str> = before.split_whitespace().rev().take(2).collect();
    words.len() == 2
        && words.iter().all(|w| {
            let mut chars = w.chars();
            chars.next().is_some_and(char::is_uppercase)
                && chars.all(|c| c.is_alphabetic() || matches!(c, '-' | '.' | '\''))
        })
}

/// `start..start + len` as one string, when those lines can be an attribution at all: none blank
/// or quoted, the last ending in a colon, not too long together.
fn window(contents: &[&str], start: usize, len: usize) -> Option<String> {
    let lines = contents.get(start..start + len)?;
    if lines.iter().any(|l| l.is_empty() || is_quote(l)) || !lines.last()?.ends_with(':') {
        return None;
    }
    if lines.iter().map(|l| l.len() + 1).sum::<usize>() > MAX_ATTRIBUTION + 1 {
        return None;
    }
    Some(lines.join(" "))
}

fn dated_window(contents: &[&str], start: usize, len: usize) -> bool {
    window(contents, start, len).is_some_and(|t| is_dated_attribution(&t))
}

fn addressed_window(contents: &[&str], start: usize, len: usize) -> bool {
    window(contents, start, len).is_some_and(|t| is_addressed_attribution(&t))
}

/// The attribution starting at line `i`, on its own line or wrapped over two or three.
pub(super) fn attribution_at(contents: &[&str], i: usize) -> Option<Attribution> {
    // A wrapped match that only borrowed a line of text above the attribution belongs to the
    // next line: "Thanks!" + "Anna schrieb am 23.11.2026 um 10:02:".
    let borrowed = |test: fn(&[&str], usize, usize) -> bool, span: usize| {
        (1..span).any(|shorter| test(contents, i + 1, shorter))
    };
    for span in 1..=3 {
        if dated_window(contents, i, span) {
            // A line of text with an attribution glued onto its end is the glued kind: its
            // text is kept ("Merci !Le ... a écrit :" reads as an attribution by its verb).
            if span == 1 && glued_attribution(contents[i]).is_some() {
                return None;
            }
            return (!borrowed(dated_window, span)).then_some(Attribution::Dated { span });
        }
    }
    for span in 1..=3 {
        if addressed_window(contents, i, span) {
            return (!borrowed(addressed_window, span)).then_some(Attribution::Addressed { span });
        }
    }
    is_named_attribution(contents.get(i)?).then_some(Attribution::Named)
}

/// A dated attribution glued onto the end of a line of text, as HTML conversion leaves
/// `<div>`-based editors ("Thanks!On Mon, 23 Nov 2026 at 10:02, Anna <a@b> wrote:"): where it
/// starts; in the other languages of the table where a sentence ends with no space after it
/// ("Merci !Le 3 mars 2026 à 10:00, Anna <a@b> a écrit :"). Only the last [`MAX_ATTRIBUTION`]
/// bytes and a few candidates are tried.
pub(super) fn glued_attribution(line: &str) -> Option<usize> {
    let t = line.trim_end();
    if !t.ends_with(':') {
        return None;
    }
    let mut start = t.len().saturating_sub(MAX_ATTRIBUTION);
    while !t.is_char_boundary(start) {
        start += 1;
    }
    let tail = &t[start..];
    let mut candidates: Vec<usize> = ["On ", "Am "]
        .iter()
        .flat_map(|w| tail.match_indices(w).map(|(at, _)| start + at).take(8))
        .collect();
    // In any language: where a sentence of the text ends and the attribution begins with a
    // capital and no space between ("Merci !Le 3 mars 2026 ...", "Grazie.Il giorno ..."); not
    // after a digit ("04.12.2026").
    let (mut before, mut previous) = (None, None);
    for (at, c) in tail.char_indices() {
        if matches!(previous, Some('.' | '!' | '?'))
            && c.is_uppercase()
            && !before.is_some_and(|b: char| b.is_ascii_digit())
        {
            candidates.push(start + at);
            if candidates.len() >= 16 {
                break;
            }
        }
        (before, previous) = (previous, Some(c));
    }
    candidates.sort_unstable();
    candidates
        .into_iter()
        .find(|&at| !t[..at].trim().is_empty() && is_dated_attribution(&t[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_attributions_of_every_client() {
        for line in [
            "On Mon, 23 Nov 2026 at 10:02, Anna Berg <anna@acme.example> wrote:",
            "On Mon, Nov 23, 2026 at 10:02 AM Anna Berg <anna@acme.example> wrote:",
            "On 23/11/2026 10:02, Anna wrote:",
            "On Nov 23, 2026, at 10:02, Anna <a@b> wrote:",
            "On 23.11.26 10:02, Anna Berg wrote:",
            "On Monday, November 23, 2026, 10:02:00 AM GMT+1, Anna Berg <anna@acme.example> wrote:",
            "Anna Berg wrote on 23.11.2026 10:02:",
            "Am 23.11.2026 um 10:02 schrieb Anna Berg <anna@acme.example>:",
            "Am Mo., 23. Nov. 2026 um 10:02 Uhr schrieb Anna Berg <anna@acme.example>:",
            "Am 23.11.26 um 10:02 schrieb Anna Berg:",
            "Am 23.11.2026 schrieb Anna:",
            "Anna Berg <anna@acme.example> schrieb am 23.11.2026 um 10:02:",
            "Am Mi., 25. Nov. 2026, 18:06 hat Example Agency <team@example.org> geschrieben:",
        ] {
            assert!(is_dated_attribution(line), "{line}");
        }
    }

    #[test]
    fn prose_that_looks_like_an_attribution_is_not_one() {
        for line in [
            "I wrote: 2 reports",
            "On Monday I wrote:",
            "On 23.11. I wrote:",
            "On 23.11.2026 at 10:00 I wrote:",
            "Am 23.11.2026 schrieb ich folgende Berichte:",
            "Am 23.11.2026 um 10:00 schrieb mir der Kunde:",
            "Am 23.11.2026 um 10:00 hat ich das geschrieben:",
            "On Mon, 23 Nov 2026 at 10:02, my colleague and I wrote:",
            "Am 23.11. schrieb Anna drei Berichte:",
            "Ich schrieb am 23.11.2026 um 10:00:",
            "On Mon, 23 Nov 2026 at 10:02, Anna wrote: see below",
            "Wichtig: bitte zurückrufen",
        ] {
            assert!(!is_dated_attribution(line), "{line}");
        }
        let long = format!("On 23.11.2026 {} wrote:", "and then ".repeat(40));
        assert!(!is_dated_attribution(&long));
    }

    #[test]
    fn named_attributions_need_a_name() {
        assert!(is_named_attribution("Anna Berg wrote:"));
        assert!(is_named_attribution(
            "Anna Berg <anna@acme.example> schrieb:"
        ));
        assert!(!is_named_attribution("I wrote:"));
        assert!(!is_named_attribution("Like I wrote:"));
        assert!(!is_named_attribution("wrote:"));
        assert!(!is_named_attribution("Ich schrieb:"));
        assert!(is_named_attribution(
            "Zitat von Anna Berg <anna@acme.example>:"
        ));
        assert!(!is_named_attribution("Quoting the client:"));
    }

    #[test]
    fn wrapped_attributions_are_found_at_their_first_line() {
        let lines = [
            "Thanks!",
            "On Mon, 23 Nov 2026 at 10:02, Anna Berg <",
            "anna@acme.example> wrote:",
        ];
        assert_eq!(attribution_at(&lines, 0), None);
        assert_eq!(
            attribution_at(&lines, 1),
            Some(Attribution::Dated { span: 2 })
        );
        let lines = [
            "Danke!",
            "Anna Berg <anna@acme.example> schrieb am",
            "23.11.2026 um 10:02:",
        ];
        assert_eq!(attribution_at(&lines, 0), None);
        assert_eq!(
            attribution_at(&lines, 1),
            Some(Attribution::Dated { span: 2 })
        );
        let lines = [
            "On Mon, 23 Nov 2026 at 10:02, Anna Berg",
            "<anna@acme.example>",
            "wrote:",
        ];
        assert_eq!(
            attribution_at(&lines, 0),
            Some(Attribution::Dated { span: 3 })
        );
        let lines = ["On Mon, 23 Nov 2026 at 10:02, Anna Berg", "", "wrote:"];
        assert_eq!(attribution_at(&lines, 0), None);
    }

    #[test]
    fn glued_attributions_are_found_after_the_text() {
        let line = "Thanks!On Mon, 23 Nov 2026 at 10:02, Anna <anna@acme.example> wrote:";
        assert_eq!(glued_attribution(line), Some(7));
        assert_eq!(
            glued_attribution("Passt.Am 23.11.2026 um 10:02 schrieb Anna:"),
            Some(6)
        );
        assert_eq!(
            glued_attribution("On Mon, 23 Nov 2026 at 10:02, Anna wrote:"),
            None
        );
        assert_eq!(glued_attribution("Thanks! On Monday I wrote:"), None);
        assert_eq!(
            glued_attribution("Merci !Le 3 mars 2026 à 10:00, Anna <a@b> a écrit :"),
            Some(7)
        );
        assert_eq!(
            glued_attribution("Grazie.Il giorno 3 mar 2026 alle ore 10:00 Anna <a@b> ha scritto:"),
            Some(7)
        );
        assert_eq!(
            glued_attribution("Ok.Bis 3.3.2026 um 10:00 alles erledigt:"),
            None
        );
    }

    #[test]
    fn separators() {
        for line in [
            "-----Original Message-----",
            "----- Original Message -----",
            "-----Ursprüngliche Nachricht-----",
            "---------- Forwarded message ---------",
            "---------- Weitergeleitete Nachricht ---------",
            "-------- Forwarded Message --------",
            "-------- Original-Nachricht --------",
            "Begin forwarded message:",
            "Anfang der weitergeleiteten Nachricht:",
        ] {
            assert!(is_separator(line), "{line}");
        }
        for line in [
            "--",
            "---",
            "-- Anna",
            "Original message attached",
            "Kalender -- Termine",
        ] {
            assert!(!is_separator(line), "{line}");
        }
    }

    fn is_header_line(content: &str) -> bool {
        header_bits(content) != 0
    }

    #[test]
    fn header_lines() {
        assert!(is_header_line("From: Anna Berg <anna@acme.example>"));
        assert!(is_header_line("Von:tandem <team@agency.example>"));
        assert!(is_header_line("*From:* Anna Berg"));
        assert!(is_header_line(
            "Gesendet: Montag, 23. November 2026 um 10:02 Uhr"
        ));
        assert!(!is_header_line("Gesendet: gestern"));
        assert!(!is_header_line("Von: 9:00"));
        assert!(!is_header_line("Note: 2h inbox"));
        assert!(!is_header_line("Wichtig: bitte zurückrufen"));
        assert!(is_header_line("SUBJECT: x"));
    }

    #[test]
    fn header_blocks_need_a_sender_and_a_date_or_subject() {
        let block = |lines: &[&str]| Headers::new(lines).block_at(0);
        assert!(block(&["From: anna@acme.example", "Subject: hi"]));
        assert!(block(&[
            "From: Anna Berg",
            "Sent: Monday, 23 Nov 2026",
            "To: Bob"
        ]));
        assert!(block(&[
            "Gesendet: 23.11.2026",
            "Von: \"Anna\" <a@b>",
            "An: x",
            "Betreff: y"
        ]));
        assert!(!block(&["Von: Montag bis Freitag erreichbar"]));
        assert!(!block(&[
            "Von: Montag bis Freitag erreichbar",
            "Subject: the invoices"
        ]));
        assert!(!block(&["Datum: 23.11.2026", "Von: 9:00", "Bis: 12:00"]));
        assert!(!block(&["Subject: the invoices", "To: Anna"]));
        assert!(!block(&["From: anna@acme.example", "", "Subject: hi"]));
    }

    #[test]
    fn glued_header_lines() {
        let line = "1: 4 2: 5 From: tandem <team@agency.example>";
        assert_eq!(glued_header(line), Some((10, FROM | FROM_ADDRESS)));
        let gmx = "anbei die Stunden.\u{a0} Gesendet:\u{a0}Montag, 23. November 2026 um 10:02 Uhr";
        assert_eq!(glued_header(gmx), Some((21, DATE)));
        assert_eq!(glued_header("From: tandem <team@agency.example>"), None);
        assert_eq!(glued_header("Arbeitszeit Von: 9:00"), None);
        assert_eq!(glued_header("Gesendet habe ich es"), None);
        let lines = [
            line,
            " Sent:Monday, November 23, 2026 10:02",
            " To:Anna",
            " Subject: x",
        ];
        let contents: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
        assert!(Headers::new(&contents).glued_block_at(0, FROM | FROM_ADDRESS));
    }

    #[test]
    fn header_names_start_with_a_letter_and_have_no_digit() {
        // `header_bits` turns a line away before folding it when its name could not be one.
        let names = languages::all(|l| l.from)
            .chain(languages::all(|l| l.sent))
            .chain(languages::all(|l| l.subject))
            .chain(languages::all(|l| l.to));
        for name in names {
            assert!(
                name.chars().next().is_some_and(char::is_alphabetic),
                "{name}"
            );
            assert!(!name.bytes().any(|b| b.is_ascii_digit()), "{name}");
        }
        assert_eq!(header_bits("Mo 9:00-12:00 Ablage"), 0);
        assert_eq!(header_bits("> From: anna@acme.example"), 0);
        assert_eq!(header_bits("Von: anna@acme.example"), FROM | FROM_ADDRESS);
    }

    /// Where a glued header starts, as `glued_header` found it before it looked at the colons
    /// only: the last place of each name in the tail, the greatest of them.
    fn glued_start_by_search(line: &str) -> Option<usize> {
        let mut start = line.len().saturating_sub(GLUED_HEADER_TAIL);
        while !line.is_char_boundary(start) {
            start += 1;
        }
        let tail = &line[start..];
        glued_header_names()
            .iter()
            .filter_map(|name| tail.rfind(name.as_str()))
            .max()
            .map(|at| start + at)
    }

    proptest::proptest! {
        #[test]
        fn glued_headers_are_found_where_a_search_finds_them(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "From:", "Von:", "De :", "Gesendet:", "Sent:", "Date\u{a0}:", ":", "::",
                    " ", "\u{a0}", "x", "Anna <a@b>", "9:00", "Montag, 23.", "é", "Отправлено:",
                    "Von", "From", ".", "\n",
                ]),
                0..40,
            ),
            long in 0usize..3,
        ) {
            let mut line = "ä".repeat(long * 200);
            line.extend(pieces);
            let expected = glued_start_by_search(&line).and_then(|at| {
                let bits = header_bits(&line[at..]);
                let glued = !line[..at]
                    .trim_matches(|c: char| c == '*' || c.is_whitespace())
                    .is_empty();
                (glued && bits != 0).then_some((at, bits))
            });
            proptest::prop_assert_eq!(glued_header(&line), expected);
        }
    }
}
