//! Reading a client's answers to a feedback survey out of the text of their reply: which
//! question got which value, which answers could not be read, which questions went unanswered.
//! Pure: the text and the questionnaire in, [`Parsed`] out; no I/O, no panics, linear in the
//! length of the text.
//!
//! Clients answer in two ways, in German or English, and may mix them:
//! - **numbered**, in the new text: `1: 4`, `2) 5/5`, `Frage 3: ja`, `Q3 - yes`, `#1 4`, also
//!   several on one line (`1: 4 2: 5`);
//! - **inline**, under the quoted question: the survey quoted with `>` (any depth), and each
//!   answer typed on the lines under its question. A quoted line is question N when it starts
//!   with `N.`/`N)` or holds the beginning of question N's text in either language; a question
//!   wrapped over several quoted lines is followed through them. A question copied into the new
//!   text without `>` is read the same way.
//!
//! For one question a numbered answer wins over an inline one, and within each way the first
//! answer given wins, valid or not. Empty answers (nothing, or only punctuation such as `...`)
//! count as not given.
//!
//! What the client wrote now is decided by [`crate::reply::extract`] alone: this module has no
//! quote, attribution or signature rules of its own. It matches the lines `extract` kept with the
//! lines of the reply (they are lines of the reply, in order), which tells it which kept line
//! sits under which quoted question.
//!
//! A text answer runs over the lines under it, blank lines included, until the next numbered
//! answer, a quoted line, or anything `extract` removed (a signature, an attribution, the end of
//! the new text); a trailing sign-off ("Viele Grüße" + a name) is dropped from it. A scale or
//! yes/no answer is one line: the rest of its numbered line, or the first line under its quoted
//! question.

use std::borrow::Cow;

use serde::Serialize;

use super::{Question, QuestionKind};
use crate::reply;
use crate::reply::languages;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Scale(i64),
    YesNo(bool),
    Text(String),
}

/// One question's answer, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// 1-based question number.
    pub number: usize,
    /// The question's key, so the answer can be stored without the questionnaire at hand.
    pub key: String,
    pub value: Value,
}

/// An answer that was given but could not be read (out of range, not yes/no).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalid {
    /// 1-based question number.
    pub number: usize,
    pub key: String,
    /// What the client wrote, trimmed, at most [`MAX_INVALID_CHARS`] characters: the flow
    /// quotes it back.
    pub text: String,
    /// Why it could not be read, in English, e.g. "not between 1 and 5".
    pub reason: String,
}

/// Everything read from one reply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Parsed {
    /// In question order, at most one per question (the first given wins).
    pub answers: Vec<Answer>,
    /// In question order, at most one per question; these questions are in `missing` too.
    pub invalid: Vec<Invalid>,
    /// Numbers of the questions with no (valid) answer, ascending.
    pub missing: Vec<usize>,
}

/// How many characters of the beginning of a question's text identify it in a quote or a copy.
const KEY_CHARS: usize = 25;

/// How many characters of a quoted line are compared with the questions: a question with its
/// number fits easily; this bounds the work on a pathological line.
const MAX_QUOTED_CHARS: usize = 500;

/// The fewest bytes of a copied question a line must spell to be taken for its wrapped rest,
/// so that a short answer ("5", "sehr") is never taken for the end of the question.
const MIN_WRAP_BYTES: usize = 8;

/// The longest [`Invalid::text`], in characters.
const MAX_INVALID_CHARS: usize = 200;

/// Reads the answers to `questions` out of `text`.
///
/// `text`: the whole plain-text body of the reply, LF line ends, quotes (`> `) included.
pub fn parse(text: &str, questions: &[Question]) -> Parsed {
    let new_text = reply::extract(text);
    let mut reader = Reader::new(questions);
    for line in lines(text, &new_text) {
        reader.line(line);
    }
    reader.finish()
}

/// yes/no at the start of `text`: "yes", "Yes, please", "ja gerne", "Ja!", "j", "y", "nein",
/// "no thanks", "n", "nope", "definitely not" in German and English, and the plain yes and no
/// of every language of [`languages::LANGUAGES`] ("oui", "sì", "tak", "kyllä", "да", "não",
/// "hayır"). `None` when unclear: "jein", "yes/no", "ja oder nein", "oui ou non", "n/a", "no
/// idea", "no lo sé", "vielleicht", "5/5", "", and a word that is also a common word of
/// another language followed by more words ("Da wir ...", "Si vous ...").
pub fn yes_no(text: &str) -> Option<bool> {
    let text = text.trim_start_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '*' | '_' | '-' | '–' | '"' | '\'' | '(' | '[' | '„' | '“'
            )
    });
    let spans = first_words(text, 6);
    if spans.first().is_none_or(|&(start, _)| start != 0) {
        return None;
    }
    let words: Vec<String> = spans
        .iter()
        .map(|&(start, end)| canonical(&text[start..end]))
        .collect();
    let (reading, len) = phrase_at(text, &spans, &words, 0)?;
    let answer = reading != Reading::No;
    let end = spans[len - 1].1;
    let after = &text[end..];
    if len == 1 && words[0].chars().count() == 1 {
        // "y", "n", "j": only as a word of their own ("n/a", "j/n" are not answers).
        let clean = match after.chars().next() {
            None => true,
            Some(c) => c.is_whitespace() || matches!(c, '!' | ',') || after == ".",
        };
        if !clean {
            return None;
        }
    }
    if len == 1 && languages::all(|l| l.alone).any(|w| w == words[0]) {
        // "da", "si", "nu": also common words of other languages ("Da wir ...", "Si vous
        // ..."): an answer only when no further word follows on its line.
        let rest = after.split('\n').next().unwrap_or_default();
        if rest.chars().any(char::is_alphanumeric)
            && !rest
                .trim_start()
                .starts_with([',', '!', '.', '-', '–', ';', '/'])
        {
            return None;
        }
    }
    let next = words.get(len).map(String::as_str);
    // "yes/no", "ja / nein", "yes and no", "ja oder nein", "oui ou non": both, so neither.
    let opposite_at = if after.trim_start().starts_with('/') {
        Some(len)
    } else if next.is_some_and(|w| languages::all(|l| l.or).any(|o| o == w)) {
        Some(len + 1)
    } else {
        None
    };
    if let Some(at) = opposite_at
        && phrase_at(text, &spans, &words, at).is_some_and(|(r, _)| (r != Reading::No) != answer)
    {
        return None;
    }
    match (reading, next) {
        (Reading::No, Some(w))
            if len == 1
                && ((words[0] == "no" && NOT_ANSWERS.contains(&w))
                    || languages::all(|l| l.unsure).any(|u| u == w)) =>
        {
            None
        }
        (Reading::YesUnlessNot, Some("not" | "nicht")) => Some(false),
        _ => Some(answer),
    }
}

/// How a yes/no phrase answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Yes,
    /// Yes, unless "not"/"nicht" follows: "definitely not", "natürlich nicht".
    YesUnlessNot,
    No,
}

/// The phrases that answer yes or no, lower-case, as words.
const PHRASES: &[(&[&str], Reading)] = &[
    (&["yes"], Reading::Yes),
    (&["ja"], Reading::Yes),
    (&["y"], Reading::Yes),
    (&["j"], Reading::Yes),
    (&["yeah"], Reading::Yes),
    (&["yep"], Reading::Yes),
    (&["yup"], Reading::Yes),
    (&["jep"], Reading::Yes),
    (&["jap"], Reading::Yes),
    (&["jo"], Reading::Yes),
    (&["jawohl"], Reading::Yes),
    (&["eher", "ja"], Reading::Yes),
    (&["sure"], Reading::YesUnlessNot),
    (&["absolutely"], Reading::YesUnlessNot),
    (&["definitely"], Reading::YesUnlessNot),
    (&["certainly"], Reading::YesUnlessNot),
    (&["of", "course"], Reading::YesUnlessNot),
    (&["natürlich"], Reading::YesUnlessNot),
    (&["klar"], Reading::YesUnlessNot),
    (&["na", "klar"], Reading::YesUnlessNot),
    (&["gerne"], Reading::YesUnlessNot),
    (&["gern"], Reading::YesUnlessNot),
    (&["sehr", "gerne"], Reading::YesUnlessNot),
    (&["unbedingt"], Reading::YesUnlessNot),
    (&["selbstverständlich"], Reading::YesUnlessNot),
    (&["auf", "jeden", "fall"], Reading::YesUnlessNot),
    (&["no"], Reading::No),
    (&["nein"], Reading::No),
    (&["n"], Reading::No),
    (&["nope"], Reading::No),
    (&["nah"], Reading::No),
    (&["nee"], Reading::No),
    (&["nö"], Reading::No),
    (&["noe"], Reading::No),
    (&["keinesfalls"], Reading::No),
    (&["auf", "keinen", "fall"], Reading::No),
    (&["not", "really"], Reading::No),
    (&["eher", "nicht"], Reading::No),
    (&["eher", "nein"], Reading::No),
    (&["lieber", "nicht"], Reading::No),
];

/// Words after "no" that make it no answer to the question: "no idea", "no comment" (and, for
/// the no of every language, its row's `unsure`: "no lo sé", "nie wiem").
const NOT_ANSWERS: &[&str] = &[
    "idea",
    "clue",
    "opinion",
    "comment",
    "comments",
    "preference",
    "answer",
    "problem",
    "problems",
    "worries",
    "change",
    "changes",
    "difference",
];

/// The longest phrase that starts at word `at`, and how many words it takes. The words of a
/// phrase may only be separated by whitespace ("of course", not "of, course").
fn phrase_at(
    text: &str,
    spans: &[(usize, usize)],
    words: &[String],
    at: usize,
) -> Option<(Reading, usize)> {
    let mut best: Option<(Reading, usize)> = None;
    for &(phrase, reading) in PHRASES {
        let len = phrase.len();
        let Some(candidate) = words.get(at..at + len) else {
            continue;
        };
        let same = phrase.iter().zip(candidate).all(|(p, w)| *p == w.as_str());
        let joined = || {
            spans
                .get(at..at + len)
                .is_some_and(|s| s.windows(2).all(|w| text[w[0].1..w[1].0].trim().is_empty()))
        };
        if same && best.is_none_or(|(_, l)| len > l) && joined() {
            best = Some((reading, len));
        }
    }
    // The plain yes and no of every language of the table, one word each.
    if best.is_none()
        && let Some(word) = words.get(at)
    {
        let word = word.as_str();
        if languages::all(|l| l.yes).any(|w| w == word) {
            best = Some((Reading::Yes, 1));
        } else if languages::all(|l| l.no).any(|w| w == word) {
            best = Some((Reading::No, 1));
        }
    }
    best
}

/// A word as the phrases spell it: lower-case, drawn-out letters shortened ("Jaaa" is "ja",
/// "yesss" is "yes", "neiiin" is "nein").
fn canonical(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    // How many characters `out` holds (counted, not recounted for each one).
    let mut count = 0usize;
    for c in word.chars().flat_map(char::to_lowercase) {
        if matches!(c, 'a' | 's' | 'i' | 'o') && out.ends_with(c) && count >= 2 {
            continue;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// The byte ranges of the first `max` words of `text` (runs of letters and digits).
fn first_words(text: &str, max: usize) -> Vec<(usize, usize)> {
    let mut words = Vec::with_capacity(max);
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            words.push((s, i));
            if words.len() == max {
                return words;
            }
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
}

// ------------------------------------------------------------------------ lines of the reply

/// A line of the reply, as the answers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line<'a> {
    /// A `>` line, without its markers and surrounding whitespace.
    Quoted(&'a str),
    /// A line [`reply::extract`] kept, as it kept it (where it cut off a marker glued onto the
    /// end, only the beginning).
    Kept(&'a str),
    /// Any other line: removed by `extract` (an attribution, a signature, what follows the end
    /// of the new text). A blank one separates nothing.
    Removed { blank: bool },
}

/// The lines of `text`, each marked by whether `extract` kept it in `new_text`. The lines of
/// `new_text` are lines of `text` in order, so each is matched with the first line of `text`
/// (after the one matched before) that it can be: one pass over both.
fn lines<'a>(text: &'a str, new_text: &str) -> impl Iterator<Item = Line<'a>> {
    // Each kept line with whether it is blank, decided once: a kept line is compared with every
    // line of `text` up to its own, so nothing about it may be worked out again each time.
    let mut kept = (!new_text.is_empty())
        .then(|| new_text.split('\n'))
        .into_iter()
        .flatten()
        .map(|k| (k, content(k).is_empty()))
        .peekable();
    text.split('\n').map(move |raw| {
        let line = raw.trim_end_matches('\r');
        let c = content(line);
        if c.starts_with('>') {
            return Line::Quoted(content(
                c.trim_start_matches(|ch: char| ch == '>' || ch.is_whitespace()),
            ));
        }
        match kept.peek().and_then(|&(k, blank)| as_kept(line, k, blank)) {
            Some(line) => {
                kept.next();
                Line::Kept(line)
            }
            None => Line::Removed {
                blank: c.is_empty(),
            },
        }
    })
}

/// `line` as `extract` kept it, if `kept` (`blank`: only whitespace) is that line: the same line
/// or, where `extract` cut off a marker glued onto it, its beginning. Blank lines match any
/// blank line. At most as much work as `line` is long.
fn as_kept<'a>(line: &'a str, kept: &str, blank: bool) -> Option<&'a str> {
    if blank {
        return content(line).is_empty().then_some(line);
    }
    line.starts_with(kept).then(|| &line[..kept.len()])
}

/// A line without its surrounding whitespace (NBSP from HTML included) or byte-order mark, as
/// `extract` sees it.
fn content(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

// ------------------------------------------------------------------------------- the reader

/// Where an answer was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Numbered,
    Inline,
}

/// A question's text as it is recognised in a quote or a copy.
struct Known {
    /// Normalised ([`normalize`]).
    text: String,
    /// The length in bytes of its beginning that identifies it ([`KEY_CHARS`]).
    key: usize,
}

/// Where a question copied into the new text has got to, when it goes on over the next line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wrap {
    /// Which of the question's texts (0: German, 1: English).
    lang: usize,
    /// How many bytes of that normalised text the lines so far spelled.
    at: usize,
}

/// The answer being read.
struct Open<'a> {
    /// The question, 0-based.
    index: usize,
    source: Source,
    /// Whether the question takes free text: then every line is part of the answer, else only
    /// the first.
    text: bool,
    /// The answer's lines so far, trimmed; blank ones ("") only after the first.
    lines: Vec<&'a str>,
    /// Set while a copied question may go on over the next line.
    wrap: Option<Wrap>,
}

impl<'a> Open<'a> {
    fn new(index: usize, source: Source, text: bool) -> Self {
        Self {
            index,
            source,
            text,
            lines: Vec::new(),
            wrap: None,
        }
    }

    fn answered(&self) -> bool {
        !self.lines.is_empty()
    }

    fn push(&mut self, line: &'a str) {
        let wanted = if line.is_empty() {
            self.text && self.answered()
        } else {
            self.text || !self.answered()
        };
        if wanted {
            self.lines.push(line);
        }
    }
}

/// One pass over the lines of a reply, collecting the first numbered and the first inline answer
/// to each question as written.
struct Reader<'a, 'q> {
    questions: &'q [Question],
    /// Each question's German and English text, to recognise it quoted or copied.
    known: Vec<[Known; 2]>,
    /// The first numbered answer to each question, as written.
    numbered: Vec<Option<Cow<'a, str>>>,
    /// The first inline answer to each question, as written.
    inline: Vec<Option<Cow<'a, str>>>,
    open: Option<Open<'a>>,
}

impl<'a, 'q> Reader<'a, 'q> {
    fn new(questions: &'q [Question]) -> Self {
        let known = |text: &str| {
            let text = normalize(text, usize::MAX);
            let key = text
                .char_indices()
                .nth(KEY_CHARS)
                .map_or(text.len(), |(i, _)| i);
            Known { text, key }
        };
        Self {
            questions,
            known: questions
                .iter()
                .map(|q| [known(&q.de), known(&q.en)])
                .collect(),
            numbered: vec![None; questions.len()],
            inline: vec![None; questions.len()],
            open: None,
        }
    }

    fn is_text(&self, index: usize) -> bool {
        self.questions
            .get(index)
            .is_some_and(|q| q.kind == QuestionKind::Text)
    }

    fn line(&mut self, line: Line<'a>) {
        match line {
            Line::Quoted(line) => self.quoted(line),
            Line::Kept(line) => self.kept(content(line)),
            Line::Removed { blank: true } => {}
            Line::Removed { blank: false } => self.close(),
        }
    }

    /// A quoted line opens the question it quotes. Otherwise it ends the answer being read,
    /// unless no answer has been typed under an inline question yet and the line is blank or
    /// the wrapped rest of the question.
    fn quoted(&mut self, line: &str) {
        if let Some(index) = self.quoted_question(line) {
            self.close();
            self.open = Some(Open::new(index, Source::Inline, self.is_text(index)));
            return;
        }
        let goes_on = self.open.as_ref().is_some_and(|open| {
            open.source == Source::Inline
                && !open.answered()
                && (line.is_empty() || self.wraps(open.index, line))
        });
        if !goes_on {
            self.close();
        }
    }

    /// A kept line, trimmed: the rest of a copied question, a copied question, numbered
    /// answers, or part of the answer being read.
    fn kept(&mut self, line: &'a str) {
        if line.is_empty() {
            if let Some(open) = &mut self.open {
                open.push(line);
            }
            return;
        }
        if let Some(open) = &mut self.open
            && let Some(wrap) = open.wrap.take()
            && let Some(known) = self.known.get(open.index).and_then(|k| k.get(wrap.lang))
        {
            let rest = known.text.get(wrap.at..).unwrap_or("").trim_start();
            let at = known.text.len() - rest.len();
            match spell(line, rest) {
                Spelled::All { end } => {
                    open.push(answer_after(&line[end..]));
                    return;
                }
                Spelled::Part {
                    matched,
                    line_done: true,
                } if matched >= MIN_WRAP_BYTES => {
                    open.wrap = Some(Wrap {
                        lang: wrap.lang,
                        at: at + matched,
                    });
                    return;
                }
                Spelled::Part { .. } => {}
            }
        }
        if let Some((index, rest, wrap)) = self.copied_question(line) {
            self.close();
            let mut open = Open::new(index, Source::Inline, self.is_text(index));
            open.wrap = wrap;
            open.push(rest);
            self.open = Some(open);
            return;
        }
        if self.numbered(line) {
            return;
        }
        if let Some(open) = &mut self.open {
            open.push(line);
        }
    }

    /// Reads the numbered answers `line` starts with; false when it is none.
    fn numbered(&mut self, line: &'a str) -> bool {
        let count = self.questions.len();
        let Some(first) = numbered(line, count) else {
            return false;
        };
        if !self.accepts(&first) {
            return false;
        }
        self.close();
        let mut next = Some(first);
        while let Some(answer) = next {
            if self.is_text(answer.index) {
                let mut open = Open::new(answer.index, Source::Numbered, true);
                open.push(answer.value);
                self.open = Some(open);
                return true;
            }
            let (value, rest) = split_next(answer.value, answer.index, count);
            if let Some(slot) = self.numbered.get_mut(answer.index) {
                give(slot, Cow::Borrowed(value));
            }
            next = rest;
        }
        true
    }

    /// Whether a line that looks numbered is a numbered answer, where it stands.
    fn accepts(&self, answer: &Numbered) -> bool {
        let Some(question) = self.questions.get(answer.index) else {
            return false;
        };
        let reads = reads(question, answer.value);
        // "2 5" is an answer, "2 Wochen Urlaub" and "4 Dinge noch" are not.
        let clear = answer.strong() || (reads && question.kind != QuestionKind::Text);
        match &self.open {
            // "4: ..." under quoted question 4 is the numbered answer; a second "4)" in a
            // numbered text answer is part of it.
            Some(open) if open.text && open.index == answer.index => {
                open.source == Source::Inline && clear
            }
            // A list in a text answer ("1) schneller antworten") stays part of it.
            Some(open) if open.text => clear && reads,
            // "4 - super" under quoted question 2 is its answer, "3: ja" is not.
            Some(open)
                if open.source == Source::Inline
                    && !open.answered()
                    && open.index != answer.index =>
            {
                answer.firm()
            }
            _ => clear,
        }
    }

    /// The question a quoted line asks: `N.`/`N)` at its start, or the beginning of a
    /// question's text anywhere in it (where several questions begin alike, the one it spells
    /// furthest).
    fn quoted_question(&self, line: &str) -> Option<usize> {
        let digits = leading_digits(line);
        if (1..=3).contains(&digits)
            && let Some(after) = line[digits..].strip_prefix(['.', ')'])
            && (after.is_empty() || after.starts_with(char::is_whitespace))
            && let Ok(number) = line[..digits].parse::<usize>()
            && (1..=self.questions.len()).contains(&number)
        {
            return Some(number - 1);
        }
        let line = normalize(line, MAX_QUOTED_CHARS);
        let mut best: Option<(usize, usize)> = None;
        for (index, known) in self.known.iter().enumerate() {
            for known in known {
                let key = &known.text[..known.key];
                if key.is_empty() {
                    continue;
                }
                if let Some(at) = line.find(key) {
                    let score = common_prefix(&line[at..], &known.text);
                    if best.is_none_or(|(_, s)| score > s) {
                        best = Some((index, score));
                    }
                }
            }
        }
        best.map(|(index, _)| index)
    }

    /// Whether a quoted line is part of question `index`'s text: the rest of it, wrapped.
    fn wraps(&self, index: usize, line: &str) -> bool {
        let line = normalize(line, MAX_QUOTED_CHARS);
        self.known
            .get(index)
            .is_some_and(|k| k.iter().any(|k| k.text.contains(&line)))
    }

    /// A question copied into the new text (after an optional number): the question, the
    /// answer written after it on the same line, and where it goes on if the line ends within
    /// the question's text.
    fn copied_question(&self, line: &'a str) -> Option<(usize, &'a str, Option<Wrap>)> {
        let body = numbered(line, self.questions.len()).map_or(line, |n| n.value);
        // (question, score, answer on the line, wrap)
        let mut best: Option<(usize, usize, &'a str, Option<Wrap>)> = None;
        for (index, known) in self.known.iter().enumerate() {
            for (lang, known) in known.iter().enumerate() {
                if known.text.is_empty() {
                    continue;
                }
                let found = match spell(body, &known.text) {
                    Spelled::All { end } => (usize::MAX, answer_after(&body[end..]), None),
                    Spelled::Part { matched, line_done } if matched >= known.key => {
                        let wrap = line_done.then_some(Wrap { lang, at: matched });
                        (matched, "", wrap)
                    }
                    Spelled::Part { .. } => continue,
                };
                if best.is_none_or(|(_, score, ..)| found.0 > score) {
                    best = Some((index, found.0, found.1, found.2));
                }
            }
        }
        best.map(|(index, _, rest, wrap)| (index, rest, wrap))
    }

    /// Ends the answer being read and keeps it if it is the first of its kind for its question.
    fn close(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let value = if open.text {
            text_value(open.lines, open.source == Source::Numbered)
        } else {
            open.lines.first().map(|l| Cow::Borrowed(*l))
        };
        let slots = match open.source {
            Source::Numbered => &mut self.numbered,
            Source::Inline => &mut self.inline,
        };
        if let Some(value) = value
            && let Some(slot) = slots.get_mut(open.index)
        {
            give(slot, value);
        }
    }

    fn finish(mut self) -> Parsed {
        self.close();
        let mut parsed = Parsed::default();
        for (i, question) in self.questions.iter().enumerate() {
            let number = i + 1;
            let given = self
                .numbered
                .get_mut(i)
                .and_then(Option::take)
                .or_else(|| self.inline.get_mut(i).and_then(Option::take));
            match given.map(|v| (read(question, &v), v)) {
                Some((Ok(value), _)) => parsed.answers.push(Answer {
                    number,
                    key: question.key.clone(),
                    value,
                }),
                Some((Err(reason), text)) => {
                    parsed.invalid.push(Invalid {
                        number,
                        key: question.key.clone(),
                        text: shorten(text.trim(), MAX_INVALID_CHARS),
                        reason,
                    });
                    parsed.missing.push(number);
                }
                None => parsed.missing.push(number),
            }
        }
        parsed
    }
}

/// Keeps `value` in `slot` unless the slot holds an earlier answer or the value is empty.
fn give<'a>(slot: &mut Option<Cow<'a, str>>, value: Cow<'a, str>) {
    if slot.is_none() && !is_blank(&value) {
        *slot = Some(value);
    }
}

/// Whether an answer says nothing: empty, or only punctuation ("...", "-", "?").
fn is_blank(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_whitespace() || c.is_ascii_punctuation() || matches!(c, '…' | '–' | '—'))
}

/// What comes after a copied question on its line: the answer, without the ": " or " - " that
/// leads to it.
fn answer_after(rest: &str) -> &str {
    rest.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, ':' | '-' | '–' | '=' | '>' | '→')
    })
}

// ---------------------------------------------------------------------------- numbered lines

/// The punctuation that may stand between a question number and its answer.
const SEPARATORS: &[char] = &[':', ')', '.', '-', '–', '—', '=', ']'];

/// The words and marks that may stand before a question number ("Frage 2", "Q3", "#1").
/// Longer ones first, so "question" is not read as "q".
const LABELS: &[&str] = &[
    "question", "frage", "answer", "antwort", "nr.", "nr", "no.", "q", "#",
];

/// A line that starts like a numbered answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Numbered<'a> {
    /// The question, 0-based.
    index: usize,
    /// The rest of the line, trimmed.
    value: &'a str,
    /// Whether a label ("Q", "Frage", "#") came before the number.
    label: bool,
    /// The punctuation after the number, if any (else only whitespace).
    separator: Option<char>,
}

impl Numbered<'_> {
    /// Whether it reads as a numbered answer even where a value would not fit: anything but a
    /// bare number and a space ("2 Wochen").
    fn strong(&self) -> bool {
        self.label || self.separator.is_some()
    }

    /// Whether it reads as a numbered answer even under another quoted question, where
    /// "4 - super" or "5) gut" is that question's answer: a label, `:` or `=`.
    fn firm(&self) -> bool {
        self.label || matches!(self.separator, Some(':' | '='))
    }
}

/// `line` (trimmed) read as a numbered answer to one of `count` questions: an optional bullet
/// and label, a number of 1-3 digits, a separator (punctuation or whitespace), the value. A
/// number with no question is no answer; neither is "1.5", "1-4", "4/5", "1st", "4" alone, or
/// "4." or "4)" alone (an inline answer, more likely).
fn numbered(line: &str, count: usize) -> Option<Numbered<'_>> {
    let mut s = line;
    if let Some(rest) = s.strip_prefix(['-', '*', '•', '–'])
        && rest.starts_with(char::is_whitespace)
    {
        s = rest.trim_start();
    }
    s = s.trim_start_matches('*');
    let (s, label) = match strip_label(s) {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let digits = leading_digits(s);
    if !(1..=3).contains(&digits) {
        return None;
    }
    let number: usize = s[..digits].parse().ok()?;
    let rest = &s[digits..];
    let mut ahead = rest.chars();
    if let (Some('.' | ',' | '-' | '–' | '/'), Some(next)) = (ahead.next(), ahead.next())
        && next.is_ascii_digit()
    {
        return None;
    }
    let spaced = rest.trim_start();
    let separator = spaced.chars().next().filter(|c| SEPARATORS.contains(c));
    let after = match separator {
        Some(c) => {
            let after = &spaced[c.len_utf8()..];
            after.strip_prefix(SEPARATORS).unwrap_or(after)
        }
        None if spaced.len() < rest.len() => spaced,
        None => return None,
    };
    let value = after.trim_start_matches('*').trim();
    if value.is_empty() && !label && !matches!(separator, Some(':' | '=')) {
        return None;
    }
    if number == 0 || number > count {
        return None;
    }
    Some(Numbered {
        index: number - 1,
        value,
        label,
        separator,
    })
}

/// `s` after a label and the space and `#` that may follow it, if it starts with one followed
/// by a digit.
fn strip_label(s: &str) -> Option<&str> {
    LABELS.iter().find_map(|label| {
        if !reply::starts_with_ci(s, label) {
            return None;
        }
        let rest = s[label.len()..].trim_start();
        let rest = rest.strip_prefix('#').unwrap_or(rest).trim_start();
        rest.starts_with(|c: char| c.is_ascii_digit())
            .then_some(rest)
    })
}

/// A scale or yes/no value up to the next numbered answer on the same line ("1: 4 2: 5"), and
/// that answer. Only a label, `:`, `)` or `=` starts one there, for another question.
fn split_next(value: &str, index: usize, count: usize) -> (&str, Option<Numbered<'_>>) {
    let mut word_start = false;
    for (i, c) in value.char_indices() {
        if word_start
            && (c.is_ascii_digit() || matches!(c, '#' | 'q' | 'Q' | 'f' | 'F'))
            && let Some(next) = numbered(&value[i..], count)
            && next.index != index
            && !next.value.is_empty()
            && (next.label || matches!(next.separator, Some(':' | ')' | '=')))
        {
            let head =
                value[..i].trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
            return (head, Some(next));
        }
        word_start = c.is_whitespace() || c == ',' || c == ';';
    }
    (value, None)
}

/// How many ASCII digits `s` starts with, counting at most 4.
fn leading_digits(s: &str) -> usize {
    s.bytes().take(4).take_while(u8::is_ascii_digit).count()
}

// ----------------------------------------------------------------------------------- values

/// Why a scale answer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unreadable {
    /// It does not start with a number ("gut", "sehr gut, 4").
    NotANumber,
    /// "4,5", "4.5".
    NotWhole,
    /// "4-5".
    NotOne,
    OutOfRange,
}

impl Unreadable {
    fn reason(self, min: i64, max: i64) -> String {
        match self {
            Self::NotANumber => format!("not a number between {min} and {max}"),
            Self::NotWhole => format!("not a whole number between {min} and {max}"),
            Self::NotOne => format!("not a single number between {min} and {max}"),
            Self::OutOfRange => format!("not between {min} and {max}"),
        }
    }
}

/// A scale answer: the number it starts with ("4", "5/5", "4 von 5", "4 - ganz gut", "**4**"),
/// which must be in `min..=max`. A number later in the text does not count: "sehr gut, 4" is
/// not read as 4, since "in 2 Wochen" must not be read as 2.
fn scale(value: &str, min: i64, max: i64) -> Result<i64, Unreadable> {
    let t = value.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '*' | '_' | '(' | '[' | '"' | '\'' | '„' | '“')
    });
    let (negative, t) = match t.strip_prefix(['-', '−']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => (true, rest),
        _ => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(Unreadable::NotANumber);
    }
    let mut after = t[digits..].chars();
    match (after.next(), after.next()) {
        (Some('.' | ','), Some(d)) if d.is_ascii_digit() => return Err(Unreadable::NotWhole),
        (Some('-' | '–'), Some(d)) if d.is_ascii_digit() => return Err(Unreadable::NotOne),
        (Some(c), _) if c.is_alphanumeric() => return Err(Unreadable::NotANumber),
        _ => {}
    }
    let n: i64 = t[..digits].parse().map_err(|_| Unreadable::OutOfRange)?;
    let n = if negative { -n } else { n };
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(Unreadable::OutOfRange)
    }
}

/// Whether `value` is an attempt at answering `question`: a number for a scale (in range or
/// not), yes or no, any text.
fn reads(question: &Question, value: &str) -> bool {
    match question.kind {
        QuestionKind::Scale => !matches!(
            scale(value, question.min, question.max),
            Err(Unreadable::NotANumber)
        ),
        QuestionKind::YesNo => yes_no(value).is_some(),
        QuestionKind::Text => !is_blank(value),
    }
}

/// An answer as written, read for its question.
fn read(question: &Question, value: &str) -> Result<Value, String> {
    match question.kind {
        QuestionKind::Scale => scale(value, question.min, question.max)
            .map(Value::Scale)
            .map_err(|e| e.reason(question.min, question.max)),
        QuestionKind::YesNo => yes_no(value)
            .map(Value::YesNo)
            .ok_or_else(|| "not yes or no".to_string()),
        QuestionKind::Text => Ok(Value::Text(value.trim().to_string())),
    }
}

/// A text answer from its lines (trimmed, blank ones ""): without trailing blank lines or a
/// sign-off, runs of blank lines as one, joined with "\n". The first line of a numbered answer
/// is what was written after the number and is never taken for a sign-off.
fn text_value(mut lines: Vec<&str>, keep_first: bool) -> Option<Cow<'_, str>> {
    trim_blank_end(&mut lines);
    strip_sign_off(&mut lines, usize::from(keep_first));
    match lines.as_slice() {
        [] => None,
        [line] => Some(Cow::Borrowed(*line)),
        _ => {
            let mut out = String::new();
            for (i, line) in lines.iter().enumerate() {
                if line.is_empty() && lines.get(i.wrapping_sub(1)).is_some_and(|l| l.is_empty()) {
                    continue;
                }
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(line);
            }
            Some(Cow::Owned(out))
        }
    }
}

fn trim_blank_end(lines: &mut Vec<&str>) {
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
}

/// `text` cut to at most `max` characters, with "…" where it was cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

// -------------------------------------------------------------------------------- sign-offs

/// The words closing greetings are made of, lower-case.
const SIGN_OFF_WORDS: &[&str] = &[
    "viele",
    "liebe",
    "lieben",
    "beste",
    "besten",
    "herzliche",
    "herzlichen",
    "schöne",
    "schönen",
    "freundliche",
    "freundlichen",
    "sonnige",
    "mit",
    "und",
    "and",
    "vielen",
    "many",
    "so",
    "much",
    "again",
    "nochmals",
    "schon",
    "mal",
    "im",
    "voraus",
    "you",
    "kind",
    "kindest",
    "warm",
    "warmest",
    "all",
    "the",
    "yours",
];

/// The words of which a closing greeting has at least one, lower-case.
const SIGN_OFF_ANCHORS: &[&str] = &[
    "grüße",
    "grüßen",
    "grüsse",
    "grüssen",
    "gruesse",
    "gruß",
    "gruss",
    "grüßle",
    "lg",
    "vg",
    "mfg",
    "bg",
    "danke",
    "dank",
    "thanks",
    "thank",
    "thx",
    "regards",
    "wishes",
    "cheers",
    "ciao",
    "tschüss",
    "tschüs",
    "servus",
    "bye",
    "greetings",
    "sincerely",
    "best",
    "bald",
    "bis",
];

/// The most non-blank lines a signature block under a greeting may have.
const MAX_SIGNATURE_LINES: usize = 8;

/// The longest line of a signature block, in characters: longer ones are sentences.
const MAX_SIGNATURE_LINE_CHARS: usize = 70;

/// The index of the line from which `lines` (a text's lines) are its closing greeting and the
/// signature block under it, as [`without_sign_off`] finds them (blank lines before it
/// included); `None` where it has none.
pub fn sign_off_at(lines: &[&str]) -> Option<usize> {
    let mut lines: Vec<&str> = lines.iter().map(|line| line.trim_end()).collect();
    trim_blank_end(&mut lines);
    let before = lines.len();
    strip_sign_off(&mut lines, 0);
    (lines.len() < before).then_some(lines.len())
}

/// Free text without its closing greeting and signature block ("Kind regards,\nGina\n..."),
/// trimmed: for comments read outside a questionnaire (the trial review's first-line answer).
pub fn without_sign_off(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    trim_blank_end(&mut lines);
    strip_sign_off(&mut lines, 0);
    lines.join("\n").trim().to_string()
}

/// Drops a closing greeting from the end of a text answer: one of its last three lines that is
/// a greeting ("Viele Grüße", "Thanks!", "Best, Anna"), with at most two lines after it that
/// look like a name or a company. Lines before `keep` are never dropped.
fn strip_sign_off(lines: &mut Vec<&str>, keep: usize) {
    // A greeting followed by a signature block without `-- ` (name, role, address, phone):
    // at most `MAX_SIGNATURE_LINES` short lines that are not sentences, blank lines aside.
    // `block`: where the longest such block at the end starts. Found once from the end, so that
    // each line is looked at once however many lines look like greetings.
    let mut block = lines.len();
    let mut filled = 0;
    while let Some(&line) = block.checked_sub(1).and_then(|i| lines.get(i)) {
        let l = line.trim();
        if !l.is_empty() {
            let short = l.chars().nth(MAX_SIGNATURE_LINE_CHARS).is_none();
            if filled == MAX_SIGNATURE_LINES || !short || is_sentence(l) {
                break;
            }
            filled += 1;
        }
        block -= 1;
    }
    // The first greeting whose following lines are all in the block: the one just before it
    // or one inside it.
    if let Some(at) =
        (keep.max(block.saturating_sub(1))..lines.len()).find(|&i| is_sign_off(lines[i]))
    {
        lines.truncate(at);
        trim_blank_end(lines);
        return;
    }
    // A name alone on the last line, set off by a blank line ("...\n\nGina").
    if let [.., before, blank, last] = lines[..]
        && lines.len() >= keep.max(1) + 2
        && !before.trim().is_empty()
        && blank.trim().is_empty()
        && is_name(last)
        && last.split_whitespace().count() <= 3
    {
        lines.truncate(lines.len() - 2);
        trim_blank_end(lines);
        return;
    }
    let filled: Vec<usize> = (0..lines.len())
        .rev()
        .filter(|&i| !lines[i].is_empty())
        .take(3)
        .collect();
    for &at in filled.iter().rev() {
        if at < keep {
            continue;
        }
        let after = &lines[at + 1..];
        let names = after.iter().filter(|l| !l.is_empty()).count();
        if is_sign_off(lines[at]) && names <= 2 && after.iter().all(|l| l.is_empty() || is_name(l))
        {
            lines.truncate(at);
            trim_blank_end(lines);
            return;
        }
    }
}

/// Whether a line of a signature block ends like a sentence: in "!" or "?", or in "." after a
/// word that is no abbreviation. Company forms end in a dot ("Duna Kft.", "Vltava s.r.o.",
/// "Wisła sp. z o.o.", "Boğaz A.Ş."): a word with a dot inside, or of at most three letters
/// beginning with a capital, is an abbreviation.
fn is_sentence(line: &str) -> bool {
    if line.ends_with(['!', '?']) {
        return true;
    }
    let Some(rest) = line.strip_suffix('.') else {
        return false;
    };
    let word = rest.rsplit(char::is_whitespace).next().unwrap_or_default();
    let abbreviation = word.contains('.')
        || (word.chars().count() <= 3 && word.chars().next().is_some_and(char::is_uppercase));
    !abbreviation
}

/// Whether a line is a closing greeting, with perhaps a name after a comma ("LG, Anna") or a
/// place ("Liebe Grüße aus Köln").
fn is_sign_off(line: &str) -> bool {
    if line.len() > 80 {
        return false;
    }
    let (head, tail) = match line.split_once(',') {
        Some((head, tail)) => (head, tail.trim()),
        None => (line, ""),
    };
    if !tail.is_empty() && !is_name(tail) {
        return false;
    }
    // The closing greetings of the other languages, whole: "Cordialement", "Met vriendelijke
    // groet", "С уважением".
    let closing = head.trim().trim_end_matches(['.', '!', ',']);
    if languages::fold(closing, 80).is_some_and(|c| languages::all(|l| l.closings).any(|w| w == c))
    {
        return true;
    }
    let mut anchored = false;
    for word in head
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        if anchored && matches!(word.as_str(), "aus" | "from") {
            return true;
        }
        if SIGN_OFF_ANCHORS.contains(&word.as_str()) {
            anchored = true;
        } else if !SIGN_OFF_WORDS.contains(&word.as_str()) {
            return false;
        }
    }
    anchored
}

/// Whether a line looks like a name or a company ("Anna", "Anna Berg", "Dr. A. Berg, Acme
/// GmbH"): short, no digits or sentence marks, capitalised words (or one word of letters).
fn is_name(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty()
        || line.len() > 40
        || line.chars().any(|c| {
            c.is_ascii_digit() || matches!(c, '!' | '?' | ':' | ';' | '@' | '/' | '(' | ')')
        })
    {
        return false;
    }
    let words = line.split_whitespace().count();
    if words == 1 {
        return line
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '.' | '\''));
    }
    words <= 4
        && line.split_whitespace().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                || matches!(w, "von" | "van" | "der" | "de" | "zu" | "und" | "and" | "&")
        })
}

// ------------------------------------------------------------------------ comparing question texts

/// `s` as questions are compared: lower-case, curly apostrophes straight, runs of whitespace
/// as one space, trimmed; at most `max` characters of `s` are read.
fn normalize(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max.saturating_mul(2)).min(4096));
    let mut space = false;
    for c in s.chars().take(max) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(fold(c));
    }
    out
}

/// One character as [`normalize`] writes it.
fn fold(c: char) -> std::char::ToLowercase {
    match c {
        '’' | '‘' | '`' | '´' => '\'',
        c => c,
    }
    .to_lowercase()
}

/// How many bytes two normalised texts have in common at their start (a char boundary of
/// both).
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or_else(|| a.len().min(b.len()), |((i, _), _)| i)
}

/// How far a line spells a normalised text from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelled {
    /// All of it, ending at byte `end` of the line.
    All { end: usize },
    /// Its first `matched` bytes; `line_done`: the line ended there (else it went on with
    /// something else).
    Part { matched: usize, line_done: bool },
}

/// How far `line`, read as [`normalize`] would write it, spells `norm` from its start. Linear
/// in the shorter of the two.
fn spell(line: &str, norm: &str) -> Spelled {
    let mut want = norm.char_indices().peekable();
    let at = |want: &mut std::iter::Peekable<std::str::CharIndices>| {
        want.peek().map_or(norm.len(), |&(i, _)| i)
    };
    let mut space = false;
    let mut started = false;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            space = started;
            continue;
        }
        if space {
            match want.peek() {
                Some(&(_, ' ')) => {
                    want.next();
                }
                _ => {
                    return Spelled::Part {
                        matched: at(&mut want),
                        line_done: false,
                    };
                }
            }
            space = false;
        }
        started = true;
        for l in fold(c) {
            match want.peek() {
                Some(&(_, w)) if w == l => {
                    want.next();
                }
                _ => {
                    return Spelled::Part {
                        matched: at(&mut want),
                        line_done: false,
                    };
                }
            }
        }
        if want.peek().is_none() {
            return Spelled::All {
                end: i + c.len_utf8(),
            };
        }
    }
    Spelled::Part {
        matched: at(&mut want),
        line_done: true,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::survey::default_questions;

    /// Parses `body` with the shipped questions.
    fn parsed(body: &str) -> Parsed {
        parse(body, &default_questions())
    }

    /// The answers as (number, value), for short assertions.
    fn values(parsed: &Parsed) -> Vec<(usize, Value)> {
        parsed
            .answers
            .iter()
            .map(|a| (a.number, a.value.clone()))
            .collect()
    }

    /// Checks the answers and the missing questions of `body`, printing the body and everything
    /// read when either is wrong.
    #[track_caller]
    fn check(body: &str, want: &[(usize, Value)], missing: &[usize]) {
        let got = parsed(body);
        assert_eq!(
            (values(&got), got.missing.as_slice()),
            (want.to_vec(), missing),
            "\n--- body ---\n{body}\n--- parsed ---\n{got:#?}\n"
        );
    }

    fn scale(n: i64) -> Value {
        Value::Scale(n)
    }
    fn yes(b: bool) -> Value {
        Value::YesNo(b)
    }
    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    /// The survey's question lines as mail writes them, in `locale`.
    fn survey_lines(locale: crate::domain::Locale) -> Vec<String> {
        default_questions()
            .iter()
            .enumerate()
            .map(|(i, q)| format!("{}. {}", i + 1, q.text(locale)))
            .collect()
    }

    // ------------------------------------------------------------------------------ yes/no

    #[test]
    fn yes_in_german_and_english() {
        for t in [
            "yes",
            "Yes, please",
            "ja gerne",
            "Ja!",
            "j",
            "y",
            "JA",
            "Yes.",
            "Ja, unbedingt",
            "Jaaa",
            "yesss!",
            "yep",
            "Yeah, sure",
            "Sure",
            "Auf jeden Fall",
            "of course",
            "Natürlich!",
            "  - ja",
            "**Ja**",
            "Ja, aber bitte mit mehr Updates",
            "Yes, no problem at all",
            "y.",
        ] {
            assert_eq!(yes_no(t), Some(true), "{t}");
        }
    }

    #[test]
    fn no_in_german_and_english() {
        for t in [
            "nein",
            "no thanks",
            "n",
            "nope",
            "Nein, danke.",
            "No.",
            "Nö",
            "NEIN",
            "auf keinen Fall",
            "definitely not",
            "natürlich nicht",
            "eher nicht",
            "not really",
            "nee",
        ] {
            assert_eq!(yes_no(t), Some(false), "{t}");
        }
    }

    #[test]
    fn yes_and_no_in_every_language_of_the_table() {
        for (t, want) in [
            ("oui", true),
            ("Oui, bien sûr.", true),
            ("Non, merci.", false),
            ("Sì, certo", true),
            ("si", true),
            ("Si, grazie!", true),
            ("No, grazie", false),
            ("Sí, por supuesto", true),
            ("Ja, graag", true),
            ("Nee, helaas niet", false),
            ("Tak, oczywiście", true),
            ("Nie, dziękujemy", false),
            ("Ja, absolut", true),
            ("Nej tack", false),
            ("Nei, dessverre", false),
            ("Kyllä, ehdottomasti", true),
            ("Ei, kiitos", false),
            ("Да, конечно", true),
            ("Нет, спасибо", false),
            ("Sim, claro", true),
            ("Não, obrigado", false),
            ("Nao", false),
            ("Ano, určitě", true),
            ("Ne, děkujeme", false),
            ("Igen", true),
            ("Nem.", false),
            ("Evet, devam edelim", true),
            ("Hayır", false),
            ("HAYIR", false),
            ("Ναι", true),
            ("Όχι", false),
            ("Da, mulțumesc", true),
            ("Nu.", false),
        ] {
            assert_eq!(yes_no(t), Some(want), "{t}");
        }
    }

    #[test]
    fn closing_greetings_of_other_languages_end_a_comment() {
        for closing in [
            "Cordialement,",
            "Cordiali saluti",
            "Met vriendelijke groet,",
            "Pozdrawiam",
            "Med vänliga hälsningar",
            "С уважением,",
            "Saygılarımla",
        ] {
            let text = format!("Tout va bien.\n\n{closing}\nMarie Dubois");
            assert_eq!(without_sign_off(&text), "Tout va bien.", "{closing}");
        }
    }

    #[test]
    fn a_company_form_with_a_dot_belongs_to_the_signature() {
        for company in [
            "Duna Kft.",
            "Vltava s.r.o.",
            "Wisła sp. z o.o.",
            "Boğaz A.Ş.",
            "Globex Ltd.",
        ] {
            let text = format!("Alles gut.\n\nViele Grüße\n\nAnna Berg\n{company}\n+49 89 1234");
            assert_eq!(without_sign_off(&text), "Alles gut.", "{company}");
        }
        // A sentence is still one.
        let text = "Alles gut.\n\nViele Grüße, und noch etwas.\nDas war es.";
        assert_eq!(without_sign_off(text), text);
    }

    #[test]
    fn the_sign_off_starts_at_its_greeting_line() {
        let text = "Hallo,\n\n23.11. 2h Buchhaltung\n\nViele Grüße\nLena Vogel\n\
                    Virtuelle Assistenz | Fragen? Rufen Sie an: 0171 2345678\n";
        let lines = |text: &'static str| text.lines().collect::<Vec<_>>();
        // Where the text without it ends: the blank line before the greeting.
        assert_eq!(sign_off_at(&lines(text)), Some(3));
        assert_eq!(text.lines().nth(4), Some("Viele Grüße"));
        assert_eq!(
            sign_off_at(&lines("Hallo,\n\n23.11. 2h Buchhaltung\nKommt ihr morgen?")),
            None
        );
        assert_eq!(sign_off_at(&[]), None);
    }

    #[test]
    fn words_that_are_yes_or_no_only_alone() {
        for t in [
            "Da wir mehr Stunden brauchen, leider nicht",
            "Si vous pouvez, oui",
            "Nu even niet",
            "Ne parliamo lunedì",
            "Nem sempre",
            "oui ou non",
            "sì o no",
            "tak lub nie",
            "no lo sé",
            "Non lo so",
            "Nie wiem",
        ] {
            assert_eq!(yes_no(t), None, "{t}");
        }
        // Another language's "I do not know" does not undo an English no.
        assert_eq!(yes_no("No, so please end it after the trial"), Some(false));
    }

    #[test]
    fn unclear_yes_no_is_none() {
        for t in [
            "jein",
            "",
            "   ",
            "5/5",
            "4",
            "yesterday",
            "Nobody knows",
            "not sure",
            "maybe",
            "vielleicht",
            "yes/no",
            "ja / nein",
            "Ja oder nein?",
            "yes and no",
            "n/a",
            "N/A",
            "j/n",
            "no idea",
            "No comment",
            "keine Ahnung",
            "weiß nicht",
            "🎉",
            "n.a.",
            "Januar",
        ] {
            assert_eq!(yes_no(t), None, "{t}");
        }
    }

    // ----------------------------------------------------------------------------- numbered

    #[test]
    fn every_numbered_form() {
        let cases: &[(&str, usize, Value)] = &[
            ("1: 4", 1, scale(4)),
            ("1:4", 1, scale(4)),
            ("2) 5/5", 2, scale(5)),
            ("Q3 - ja", 3, yes(true)),
            ("q3: yes", 3, yes(true)),
            ("3. nein", 3, yes(false)),
            ("Frage 2: 4", 2, scale(4)),
            ("Question 1 = 5", 1, scale(5)),
            ("#1 4", 1, scale(4)),
            ("1 - 4 (sehr gut)", 1, scale(4)),
            ("2: 4 von 5", 2, scale(4)),
            ("2: 4 out of 5", 2, scale(4)),
            ("1: 4/5", 1, scale(4)),
            ("1: 4 - ganz gut", 1, scale(4)),
            (
                "4: Alles super, weiter so!",
                4,
                text("Alles super, weiter so!"),
            ),
            ("**1.** 4", 1, scale(4)),
            ("- 2: 3", 2, scale(3)),
            ("Frage #2: 3", 2, scale(3)),
            ("Nr. 3: nein", 3, yes(false)),
            ("1.) 5", 1, scale(5)),
            ("2 5", 2, scale(5)),
            ("3 ja", 3, yes(true)),
            ("Antwort 1: 2", 1, scale(2)),
        ];
        for (line, number, value) in cases {
            let got = parsed(line);
            assert_eq!(
                values(&got),
                vec![(*number, value.clone())],
                "{line}: {got:#?}"
            );
            assert!(got.invalid.is_empty(), "{line}: {got:#?}");
        }
    }

    #[test]
    fn numbered_answers_above_a_quoted_survey() {
        let mut body = String::from(
            "Hi,\n\nhere you go:\n1: 4\n2) 5/5\n3: yes\n4: Keep it up!\n\nBest,\nAnna\n\n\
             On Fri, 4 Dec 2026 at 10:00, Example Agency <team+s1@example.org> wrote:\n\n",
        );
        for line in survey_lines(crate::domain::Locale::En) {
            body.push_str(&format!("> {line}\n"));
        }
        body.push_str(">\n> Just reply to this email, e.g.:\n> 1: 4\n> 2: 5\n> 3: yes\n> 4: ...\n");
        check(
            &body,
            &[
                (1, scale(4)),
                (2, scale(5)),
                (3, yes(true)),
                (4, text("Keep it up!")),
            ],
            &[],
        );
    }

    #[test]
    fn numbers_that_are_no_question_and_prose_are_ignored() {
        check("7: 3\n0: 4\n1: 2", &[(1, scale(2))], &[2, 3, 4]);
        check(
            "I have 2 questions: when is the next call?\nAnd 3 more things.",
            &[],
            &[1, 2, 3, 4],
        );
        check("2 Wochen Urlaub, dann geht es weiter.", &[], &[1, 2, 3, 4]);
        check("1.5 hours were missing\n1-4 were fine", &[], &[1, 2, 3, 4]);
        check("4/5 points", &[], &[1, 2, 3, 4]);
        check("1st of all: great", &[], &[1, 2, 3, 4]);
    }

    #[test]
    fn unreadable_answers_are_invalid_with_a_reason() {
        let got = parsed("1: 9\n2: gut\n3: vielleicht\n4: ok");
        let reasons: Vec<(usize, &str, &str)> = got
            .invalid
            .iter()
            .map(|i| (i.number, i.text.as_str(), i.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (1, "9", "not between 1 and 5"),
                (2, "gut", "not a number between 1 and 5"),
                (3, "vielleicht", "not yes or no"),
            ]
        );
        assert_eq!(got.missing, vec![1, 2, 3]);
        assert_eq!(values(&got), vec![(4, text("ok"))]);
        assert_eq!(got.invalid[0].key, "satisfaction");
    }

    #[test]
    fn decimals_ranges_and_negatives_are_invalid() {
        let reason = |body: &str| parsed(body).invalid.first().map(|i| i.reason.clone());
        assert_eq!(
            reason("1: 4,5").as_deref(),
            Some("not a whole number between 1 and 5")
        );
        assert_eq!(
            reason("1: 4.5").as_deref(),
            Some("not a whole number between 1 and 5")
        );
        assert_eq!(
            reason("2: 4-5").as_deref(),
            Some("not a single number between 1 and 5")
        );
        assert_eq!(reason("2: -1").as_deref(), Some("not between 1 and 5"));
        assert_eq!(reason("2: 0").as_deref(), Some("not between 1 and 5"));
        assert_eq!(reason("2: 10/10").as_deref(), Some("not between 1 and 5"));
        assert_eq!(
            reason("2: 99999999999999999999999").as_deref(),
            Some("not between 1 and 5")
        );
        assert_eq!(
            reason("1: sehr gut, 4").as_deref(),
            Some("not a number between 1 and 5")
        );
        assert_eq!(
            reason("1: 4er").as_deref(),
            Some("not a number between 1 and 5")
        );
    }

    #[test]
    fn empty_answers_are_missing_not_invalid() {
        let got = parsed("1:\n2: \n3: ...\n4: -");
        assert_eq!(
            got,
            Parsed {
                missing: vec![1, 2, 3, 4],
                ..Parsed::default()
            }
        );
        let got = parsed("1: 4\n2: ?\n3: …\n4: ...");
        assert_eq!(values(&got), vec![(1, scale(4))]);
        assert!(got.invalid.is_empty());
    }

    #[test]
    fn the_first_answer_given_wins() {
        check(
            "1: 4\n1: 2\n3: ja\n3: nein",
            &[(1, scale(4)), (3, yes(true))],
            &[2, 4],
        );
        // Even an invalid one; an empty one does not count.
        let got = parsed("1: 7\n1: 3\n2:\n2: 5");
        assert_eq!(values(&got), vec![(2, scale(5))]);
        assert_eq!(got.invalid[0].text, "7");
    }

    #[test]
    fn a_text_answer_goes_on_until_the_next_numbered_answer() {
        check(
            "4: Erstens schneller antworten,\nzweitens mehr Updates.\n\nDrittens: danke!\n1: 5",
            &[
                (1, scale(5)),
                (
                    4,
                    text(
                        "Erstens schneller antworten,\nzweitens mehr Updates.\n\nDrittens: danke!",
                    ),
                ),
            ],
            &[2, 3],
        );
        // Runs of blank lines become one, a sign-off goes.
        check(
            "1: 4\n4: Bitte mehr Updates.\n\n\n\nSonst alles gut.\n\nViele Grüße\nAnna",
            &[
                (1, scale(4)),
                (4, text("Bitte mehr Updates.\n\nSonst alles gut.")),
            ],
            &[2, 3],
        );
        // The value may start on the next line.
        check(
            "4:\nAlles bestens.",
            &[(4, text("Alles bestens."))],
            &[1, 2, 3],
        );
    }

    #[test]
    fn a_list_inside_a_text_answer_stays_part_of_it() {
        check(
            "1: 4\n4: Zwei Punkte:\n1) schneller antworten\n2) mehr Updates\n3 Dinge noch",
            &[
                (1, scale(4)),
                (
                    4,
                    text("Zwei Punkte:\n1) schneller antworten\n2) mehr Updates\n3 Dinge noch"),
                ),
            ],
            &[2, 3],
        );
        // A clear answer to another question ends it.
        check(
            "4: Passt.\n2) 5\n3: ja",
            &[(2, scale(5)), (3, yes(true)), (4, text("Passt."))],
            &[1],
        );
    }

    #[test]
    fn several_answers_on_one_line() {
        check(
            "1: 4 2: 5 3: ja 4: passt so",
            &[
                (1, scale(4)),
                (2, scale(5)),
                (3, yes(true)),
                (4, text("passt so")),
            ],
            &[],
        );
        check(
            "1) 4, 2) 5; 3) no",
            &[(1, scale(4)), (2, scale(5)), (3, yes(false))],
            &[4],
        );
        check("Q1 4/5 Q2 3/5", &[(1, scale(4)), (2, scale(3))], &[3, 4]);
        // "von 5" and "out of 5." are no answers to question 5.
        let five: Vec<Question> = default_questions()
            .into_iter()
            .chain([Question::new(
                "extra",
                QuestionKind::Scale,
                "Extra?",
                "Extra?",
            )])
            .collect();
        let got = parse("1: 4 von 5\n2: 3 out of 5.", &five);
        assert_eq!(values(&got), vec![(1, scale(4)), (2, scale(3))]);
    }

    #[test]
    fn signatures_and_app_lines_are_not_part_of_a_text_answer() {
        check(
            "1: 5\n4: Danke für alles!\n-- \nAnna Berg\nAcme GmbH",
            &[(1, scale(5)), (4, text("Danke für alles!"))],
            &[2, 3],
        );
        check(
            "4: Läuft.\n\nSent from my iPhone",
            &[(4, text("Läuft."))],
            &[1, 2, 3],
        );
        // The first line of a numbered text answer is never taken for a sign-off.
        check("4: Danke!", &[(4, text("Danke!"))], &[1, 2, 3]);
    }

    #[test]
    fn crlf_and_a_byte_order_mark() {
        check(
            "\u{feff}1: 4\r\n2: 5\r\n4: Gut so\r\nweiter\r\n",
            &[(1, scale(4)), (2, scale(5)), (4, text("Gut so\nweiter"))],
            &[3],
        );
    }

    #[test]
    fn numbered_lines_in_the_quote_do_not_count() {
        check("Danke!\n\n> 1: 4\n> 2: 5\n> 3: yes", &[], &[1, 2, 3, 4]);
    }

    // ------------------------------------------------------------------------------- inline

    const ANNA_DE: &str = "\
Hallo,

> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz? (1 = gar nicht, 5 = sehr)
4
> 2. Wie gut klappt die Kommunikation? (1 = schlecht, 5 = sehr gut)
5 - super
> 3. Soll die Zusammenarbeit so weitergehen wie bisher? (ja/nein)
Ja
> 4. Möchten Sie uns noch etwas mitteilen?
Bitte etwas schneller bei Rückfragen.

Viele Grüße
Anna
-- 
Anna Berg, Acme GmbH
";

    #[test]
    fn inline_answers_under_the_quoted_questions() {
        check(
            ANNA_DE,
            &[
                (1, scale(4)),
                (2, scale(5)),
                (3, yes(true)),
                (4, text("Bitte etwas schneller bei Rückfragen.")),
            ],
            &[],
        );
    }

    #[test]
    fn inline_in_english_with_an_attribution_and_the_rest_of_the_survey() {
        let body = "\
On Fri, 4 Dec 2026 at 10:00, Example Agency <team+s1@example.org> wrote:
> Hello Anna,
>
> how are we doing? Four short questions:
>
> 1. Overall, how satisfied are you with your assistant's work? (1 = not at all, 5 = very)
3
> 2. How well is communication working? (1 = poorly, 5 = very well)
4 out of 5
> 3. Should the collaboration go on as it is? (yes/no)
Yes, absolutely.
> 4. Anything else you would like to tell us?
More updates on Fridays, please.
Otherwise fine.
>
> Just reply to this email, e.g.:
> 1: 4
> 2: 5
> 3: yes
> 4: ...
>
> Thanks, the team

Thanks,
Anna

Sent from my iPhone
";
        check(
            body,
            &[
                (1, scale(3)),
                (2, scale(4)),
                (3, yes(true)),
                (4, text("More updates on Fridays, please.\nOtherwise fine.")),
            ],
            &[],
        );
    }

    #[test]
    fn nested_quotes_under_a_german_quote_header() {
        let body = "\
Am 04.12.2026 um 10:00 schrieb Example Agency <team+s1@example.org>:
>> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz? (1 = gar nicht, 5 = sehr)
5
> > 2. Wie gut klappt die Kommunikation? (1 = schlecht, 5 = sehr gut)
3 (geht so)
>>> 3. Soll die Zusammenarbeit so weitergehen wie bisher? (ja/nein)
nein danke
>> 4. Möchten Sie uns noch etwas mitteilen?

Gesendet von meinem iPhone
";
        check(body, &[(1, scale(5)), (2, scale(3)), (3, yes(false))], &[4]);
    }

    #[test]
    fn a_question_wrapped_over_two_quoted_lines() {
        let body = "\
> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer
> Assistenz? (1 = gar nicht, 5 = sehr)
4
> 2. How well is communication working? (1 = poorly,
>    5 = very well)
>
2
> 4. Möchten Sie uns noch etwas
> mitteilen?
Nein, alles gut.
";
        check(
            body,
            &[(1, scale(4)), (2, scale(2)), (4, text("Nein, alles gut."))],
            &[3],
        );
    }

    #[test]
    fn a_quoted_question_without_its_number() {
        let body = "\
> wie ZUFRIEDEN sind   Sie insgesamt mit der Arbeit Ihrer Assistenz?
4
> How well is communication working?
5
> **Should the collaboration go on as it is?** (yes/no)
yes
> Anything else you would like to tell us?
No.
";
        check(
            body,
            &[
                (1, scale(4)),
                (2, scale(5)),
                (3, yes(true)),
                (4, text("No.")),
            ],
            &[],
        );
    }

    #[test]
    fn numbered_answers_under_the_quote_are_numbered() {
        let body = "\
> 1. Overall, how satisfied are you with your assistant's work? (1 = not at all, 5 = very)
1: 4
> 2. How well is communication working? (1 = poorly, 5 = very well)
2) 5
3: yes
> 4. Anything else you would like to tell us?
4: Nope, all good.
";
        check(
            body,
            &[
                (1, scale(4)),
                (2, scale(5)),
                (3, yes(true)),
                (4, text("Nope, all good.")),
            ],
            &[],
        );
    }

    #[test]
    fn a_number_under_another_question_is_its_answer() {
        // "4 - super" under question 2 is not question 4's answer.
        let body = "\
> 1. Overall, how satisfied are you with your assistant's work? (1 = not at all, 5 = very)
5.
> 2. How well is communication working? (1 = poorly, 5 = very well)
4 - super
> 3. Should the collaboration go on as it is? (yes/no)
j
";
        check(body, &[(1, scale(5)), (2, scale(4)), (3, yes(true))], &[4]);
    }

    #[test]
    fn numbered_wins_over_inline_for_the_same_question() {
        let body = "\
1: 5
> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz? (1 = gar nicht, 5 = sehr)
3
> 2. Wie gut klappt die Kommunikation? (1 = schlecht, 5 = sehr gut)
4
";
        check(body, &[(1, scale(5)), (2, scale(4))], &[3, 4]);
    }

    #[test]
    fn a_greeting_above_the_first_quote_is_no_answer() {
        let body = "\
Hallo zusammen,

anbei meine Antworten.

> Vielen Dank für Ihre Zeit!
> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz? (1 = gar nicht, 5 = sehr)
";
        check(body, &[], &[1, 2, 3, 4]);
    }

    #[test]
    fn text_after_the_quoted_survey_is_not_an_answer() {
        let mut body = String::new();
        for line in survey_lines(crate::domain::Locale::De) {
            body.push_str(&format!("> {line}\n"));
        }
        body.push_str(">\n> Antworten Sie einfach auf diese E-Mail.\n\nIch melde mich morgen.\n");
        check(&body, &[], &[1, 2, 3, 4]);
    }

    #[test]
    fn a_blank_quoted_line_between_question_and_answer() {
        let body = "> 3. Should the collaboration go on as it is? (yes/no)\n>\n\nYes!\n";
        check(body, &[(3, yes(true))], &[1, 2, 4]);
    }

    #[test]
    fn an_unreadable_inline_answer_is_invalid() {
        let body = "> 1. Overall, how satisfied are you with your assistant's work?\nvery much\n";
        let got = parsed(body);
        assert_eq!(got.invalid.len(), 1, "{got:#?}");
        assert_eq!(got.invalid[0].text, "very much");
        assert_eq!(got.missing, vec![1, 2, 3, 4]);
    }

    #[test]
    fn an_inline_text_answer_over_paragraphs_without_the_sign_off() {
        let body = "\
> 4. Anything else you would like to tell us?
First: thanks.

Second, maybe a call every month?

Best regards,
Anna Berg
";
        check(
            body,
            &[(
                4,
                text("First: thanks.\n\nSecond, maybe a call every month?"),
            )],
            &[1, 2, 3],
        );
        // Only a sign-off under the question is no answer.
        check(
            "> 4. Anything else you would like to tell us?\nCheers,\nAnna",
            &[],
            &[1, 2, 3, 4],
        );
    }

    #[test]
    fn questions_copied_without_quote_marks() {
        let body = "\
1. Overall, how satisfied are you with your assistant's work? (1 = not at all, 5 = very)
4
2. How well is communication working? (1 = poorly, 5 = very well): 5
Should the collaboration go on as it is? (yes/no) -> yes
4. Anything else you would like to tell us?
Keep going.
";
        check(
            body,
            &[
                (1, scale(4)),
                (2, scale(5)),
                (3, yes(true)),
                (4, text("Keep going.")),
            ],
            &[],
        );
        // Wrapped over two lines; an answer of "5" is not taken for the question's end.
        let body = "\
1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer
Assistenz? (1 = gar nicht, 5 = sehr)
4
2. Wie gut klappt die Kommunikation? (1 = schlecht,
5
";
        check(body, &[(1, scale(4)), (2, scale(5))], &[3, 4]);
    }

    #[test]
    fn an_outlook_reply_with_answers_on_top() {
        let body = "\
1: 4
2: 4
3: Ja
4: Nichts weiter.

Mit freundlichen Grüßen
Anna Berg

________________________________
Von: Example Agency <team+s1@example.org>
Gesendet: Freitag, 4. Dezember 2026 10:00
An: Anna Berg <anna@acme.example>
Betreff: Wie läuft es?

1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz? (1 = gar nicht, 5 = sehr)
";
        check(
            body,
            &[
                (1, scale(4)),
                (2, scale(4)),
                (3, yes(true)),
                (4, text("Nichts weiter.")),
            ],
            &[],
        );
    }

    #[test]
    fn custom_ranges_and_an_empty_questionnaire() {
        let questions = vec![Question {
            key: "nps".into(),
            kind: QuestionKind::Scale,
            min: 0,
            max: 10,
            de: "Wie wahrscheinlich empfehlen Sie uns weiter?".into(),
            en: "How likely are you to recommend us?".into(),
            alert_on_no: false,
        }];
        let got = parse("1: 10", &questions);
        assert_eq!(values(&got), vec![(1, scale(10))]);
        let got = parse("1: 0", &questions);
        assert_eq!(values(&got), vec![(1, scale(0))]);
        let got = parse("1: 11", &questions);
        assert_eq!(got.invalid[0].reason, "not between 0 and 10");
        assert_eq!(parse("1: 4\n> 1. x\n5", &[]), Parsed::default());
    }

    #[test]
    fn long_invalid_answers_are_shortened() {
        let body = format!("3: {}", "ä".repeat(1000));
        let got = parsed(&body);
        assert_eq!(got.invalid[0].text.chars().count(), MAX_INVALID_CHARS + 1);
        assert!(got.invalid[0].text.ends_with('…'));
    }

    #[test]
    fn serialises_values_untagged() {
        let got = parsed("1: 4\n3: nein\n4: Danke");
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "answers": [
                    {"number": 1, "key": "satisfaction", "value": 4},
                    {"number": 3, "key": "continue", "value": false},
                    {"number": 4, "key": "comments", "value": "Danke"},
                ],
                "invalid": [],
                "missing": [2],
            })
        );
    }

    #[test]
    fn inline_under_a_wrapped_gmail_attribution_with_a_glued_app_line() {
        let body = "\
On Fri, 4 Dec 2026 at 10:00, Example Agency <
team+s1@example.org> wrote:

> 3. Soll die Zusammenarbeit so weitergehen wie bisher? (ja/nein)
Ja.Von meinem iPhone gesendet
";
        check(body, &[(3, yes(true))], &[1, 2, 4]);
    }

    #[test]
    fn an_answer_with_the_question_on_the_same_quoted_line_is_not_read() {
        // Typed into the quote: it is quoted text, which extract drops.
        let body = "> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz? 4\n";
        check(body, &[], &[1, 2, 3, 4]);
    }

    #[test]
    fn lines_are_marked_as_extract_kept_them() {
        let body = "Hallo,\r\n> 1. Frage\n4\n\n\n>\n\nJa!Sent from my iPhone\n-- \nAnna";
        let new_text = reply::extract(body);
        let got: Vec<Line> = lines(body, &new_text).collect();
        assert_eq!(
            got,
            vec![
                Line::Kept("Hallo,"),
                Line::Quoted("1. Frage"),
                Line::Kept("4"),
                Line::Kept(""),
                Line::Kept(""),
                Line::Quoted(""),
                Line::Removed { blank: true },
                Line::Kept("Ja!"),
                Line::Removed { blank: false },
                Line::Removed { blank: false },
            ],
            "{new_text:?}"
        );
    }

    // ------------------------------------------------------------------------------ helpers

    #[test]
    fn sign_offs() {
        for line in [
            "Viele Grüße",
            "LG, Anna",
            "Best,",
            "Thanks!",
            "Thank you so much",
            "Mit freundlichen Grüßen",
            "Liebe Grüße aus Köln",
            "Danke & VG",
            "Cheers",
            "Best regards, Anna Berg",
        ] {
            assert!(is_sign_off(line), "{line}");
        }
        for line in [
            "Danke für die tolle Arbeit!",
            "Danke, alles super",
            "Best regards to the team",
            "Grüße an Maria bitte",
            "Bitte schneller",
        ] {
            assert!(!is_sign_off(line), "{line}");
        }
        assert!(is_name("Anna") && is_name("anna") && is_name("Anna Berg, Acme GmbH"));
        assert!(!is_name("weiter so") && !is_name("Anna, 0171 123456"));
    }

    #[test]
    fn spelling_a_question() {
        assert_eq!(
            spell("  Wie  GUT klappt", "wie gut"),
            Spelled::All { end: 10 }
        );
        assert_eq!(
            spell("Wie gut", "wie gut klappt"),
            Spelled::Part {
                matched: 7,
                line_done: true
            }
        );
        assert_eq!(
            spell("Wie schlecht", "wie gut"),
            Spelled::Part {
                matched: 4,
                line_done: false
            }
        );
        assert_eq!(
            spell("assistant’s", "assistant's"),
            Spelled::All { end: 13 }
        );
        assert_eq!(normalize("  Ä  b\u{a0}C ", usize::MAX), "ä b c");
        assert_eq!(common_prefix("abc", "abd"), 2);
        assert_eq!(common_prefix("ab", "abc"), 2);
    }

    // --------------------------------------------------------------------------- properties

    #[test]
    fn very_long_input_stays_fast() {
        let started = std::time::Instant::now();
        let questions = default_questions();
        let many_quotes = "> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit\n".repeat(50_000);
        let _ = parse(&many_quotes, &questions);
        let long_text = format!("4: {}", "weiter so\n\n".repeat(50_000));
        assert!(parse(&long_text, &questions).answers.len() == 1);
        let long_line = format!("1: 4 {}", "2 ".repeat(500_000));
        let _ = parse(&long_line, &questions);
        let digits = format!("1: {}", "1: 2: ".repeat(100_000));
        let _ = parse(&digits, &questions);
        let quoted_long = format!("> {}\n4", "wie zufrieden ".repeat(100_000));
        let _ = parse(&quoted_long, &questions);
        let blanks = format!("> 4. Anything else?{}", "\n\n>".repeat(100_000));
        let _ = parse(&blanks, &questions);
        let lines = "1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer\n".repeat(50_000);
        let _ = parse(&lines, &questions);
        let spaced = format!("3: ja{}", " ".repeat(1 << 20));
        assert_eq!(values(&parse(&spaced, &questions)), vec![(3, yes(true))]);
        // Generous: a quadratic pass would take minutes here.
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    #[test]
    fn many_greetings_are_looked_at_once() {
        // 100,000 lines that look like a greeting: checking all the lines after each one again
        // (as this once did) takes minutes here. Only the last greeting with at most
        // `MAX_SIGNATURE_LINES` lines after it goes.
        let n = 100_000;
        let kept = without_sign_off(&"Viele Grüße\n".repeat(n));
        assert_eq!(kept.lines().count(), n - MAX_SIGNATURE_LINES - 1);
        assert!(kept.lines().all(|l| l == "Viele Grüße"));
        // The same inside a numbered text answer, whose first line always stays.
        let got = parsed(&format!("4: x\n{}", "Danke\n".repeat(n)));
        let [answer] = got.answers.as_slice() else {
            panic!("{:?}", got.missing);
        };
        let Value::Text(text) = &answer.value else {
            panic!("{answer:?}");
        };
        assert_eq!(text.lines().count(), 1 + n - MAX_SIGNATURE_LINES - 1);
        // A signature block at the cap goes with its greeting; one line more and it is text.
        let block = "Anna Berg\n".repeat(MAX_SIGNATURE_LINES);
        let at_cap = format!("Danke für alles.\n\nViele Grüße\n{block}");
        assert_eq!(without_sign_off(&at_cap), "Danke für alles.");
        let over = format!("Danke für alles.\n\nViele Grüße\n{block}Acme GmbH");
        assert_eq!(without_sign_off(&over), over);
        let long = "x".repeat(MAX_SIGNATURE_LINE_CHARS);
        let at_cap = format!("Danke für alles.\nViele Grüße\n{long}");
        assert_eq!(without_sign_off(&at_cap), "Danke für alles.");
        let over = format!("Danke für alles.\nViele Grüße\n{long}x");
        assert_eq!(without_sign_off(&over), over);
    }

    #[test]
    fn one_long_word_as_a_yes_no_answer() {
        // Shortening drawn-out letters by counting the word so far again for each letter (as
        // this once did) is quadratic: seconds here on a word of a megabyte.
        let word = format!("{}{}", "b".repeat(1 << 19), "a".repeat(1 << 19));
        assert_eq!(canonical(&word).len(), (1 << 19) + 1);
        assert_eq!(yes_no(&word), None);
        assert_eq!(yes_no(&format!("ye{}!", "s".repeat(1 << 20))), Some(true));
        let got = parsed(&format!("3: {word}"));
        assert_eq!(got.invalid[0].number, 3);
        assert_eq!(got.invalid[0].reason, "not yes or no");
    }

    #[test]
    fn a_long_blank_kept_line_after_many_removed_ones() {
        // Each removed line is compared with the next kept line; when that is a megabyte of
        // spaces, deciding again for each comparison that it is blank (as this once did) takes
        // minutes here.
        let attribution = "On Fri, 4 Dec 2026 at 10:00, Anna <a@b.example> wrote:\n> x\n";
        let body = format!(
            "Hallo\n{}{}\n4: ok",
            attribution.repeat(20_000),
            " ".repeat(1 << 20)
        );
        let new_text = reply::extract(&body);
        assert_eq!(new_text.lines().count(), 3, "{}", &new_text[..100]);
        check(&body, &[(4, text("ok"))], &[1, 2, 3]);
    }

    /// Pieces that make realistic and unrealistic replies when strung together.
    fn line_strategy() -> impl Strategy<Value = String> {
        let pieces: Vec<&'static str> = vec![
            "> 1. Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz?",
            "> Assistenz? (1 = gar nicht, 5 = sehr)",
            ">> 2. How well is communication working?",
            "> 3. Should the collaboration go on as it is? (yes/no)",
            "> Anything else you would like to tell us?",
            "4. Anything else you would like to tell us? ok",
            "1. Overall, how satisfied are you with your",
            "assistant's work? (1 = not at all, 5 = very)",
            ">",
            "",
            " ",
            "1: 4",
            "2) 5/5",
            "Q3 - ja",
            "4: Alles super",
            "1: 4 2: 5 3: ja 4: ",
            "7: 3",
            "4",
            "5 - super",
            "Ja",
            "nein danke",
            "Viele Grüße",
            "Anna",
            "-- ",
            "Sent from my iPhone",
            "Am 04.12.2026 um 10:00 schrieb Example Agency <team@example.org>:",
            "On Fri, 4 Dec 2026 at 10:00, Anna <a@b> wrote:",
            "From: Anna <a@b>",
            "Subject: x",
            "ok.Von meinem iPhone gesendet",
            "ü🎉",
        ];
        prop_oneof![
            4 => proptest::sample::select(pieces).prop_map(str::to_string),
            1 => ".{0,40}",
        ]
    }

    /// What every result must satisfy, whatever the input.
    fn well_formed(got: &Parsed, count: usize) -> Result<(), TestCaseError> {
        let answered: Vec<usize> = got.answers.iter().map(|a| a.number).collect();
        prop_assert!(answered.windows(2).all(|w| w[0] < w[1]), "{got:?}");
        prop_assert!(got.missing.windows(2).all(|w| w[0] < w[1]), "{got:?}");
        prop_assert_eq!(answered.len() + got.missing.len(), count);
        prop_assert!(answered.iter().all(|n| !got.missing.contains(n)));
        prop_assert!(got.invalid.iter().all(|i| got.missing.contains(&i.number)));
        for answer in &got.answers {
            match &answer.value {
                Value::Scale(n) => prop_assert!((1..=5).contains(n)),
                Value::Text(t) => prop_assert!(!t.is_empty() && t.trim() == t),
                Value::YesNo(_) => {}
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(input in any::<String>()) {
            let got = parsed(&input);
            well_formed(&got, 4)?;
        }

        #[test]
        fn mail_shaped_input_gives_well_formed_answers(
            lines in proptest::collection::vec(line_strategy(), 0..40),
            crlf in any::<bool>(),
        ) {
            let input = lines.join(if crlf { "\r\n" } else { "\n" });
            let got = parsed(&input);
            well_formed(&got, 4)?;
        }

        #[test]
        fn yes_no_never_panics(input in any::<String>()) {
            let _ = yes_no(&input);
        }
    }
}
