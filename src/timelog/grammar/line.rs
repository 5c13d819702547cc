//! One line: the scan that finds dates, durations and tags among its tokens, and the choice of
//! which of them the line means; what is left is the description.
//!
//! The scan is greedy from left to right, longest match first, so `23 Nov` beats the number `23`
//! and `09:00-11:30` beats `09:00`. The choice then prefers the clearest reading: a duration
//! with a unit over a bare number, and a bare number only where timesheets put it (right after
//! the date, or at the end), so "10 Rechnungen" in a description stays in the description.

use super::date::{self, Certainty, DateMatch, DateSpec};
use super::duration::{self, DurationMatch, Shape, Strength};
use super::token::{Kind, Lower, Token, Tokens, tokenize};
use crate::domain::ClientTag;

/// Words that may stand next to a date on a line that is only a date: `Datum: 23.11.`,
/// `Montag, den 23.11.`, `Hours for Monday:`.
const LABELS: [&str; 16] = [
    "datum", "date", "tag", "day", "am", "on", "den", "der", "the", "for", "für", "vom", "hours",
    "stunden", "my", "meine",
];

/// First words of a line that sums up others.
const TOTALS: [&str; 8] = [
    "total",
    "totals",
    "sum",
    "gesamt",
    "insgesamt",
    "summe",
    "zusammen",
    "gesamtzeit",
];

/// Characters that separate the parts of a line and are dropped at the description's edges.
const SEPARATORS: [char; 14] = [
    '-', '–', '—', ':', '|', ',', ';', '•', '*', '·', '/', '=', '>', '~',
];

/// A word without surrounding punctuation: `Datum:` is `Datum`.
fn bare_word(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphabetic())
}

/// `word`, lower-cased, is one of `list`. Compared char by char, not lower-cased into a new
/// string: this runs for the words of every line of every mail.
fn lower_is_one_of(word: &str, list: &[&str]) -> bool {
    list.iter()
        .any(|w| word.chars().flat_map(char::to_lowercase).eq(w.chars()))
}

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    Tag(String),
    Date(DateMatch),
    Duration(DurationMatch),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    /// Token range.
    start: usize,
    end: usize,
    what: What,
}

/// A tokenized line and everything that could be a date, a duration or a tag in it.
pub(super) struct Analysis<'a> {
    line: &'a str,
    tokens: Vec<Token<'a>>,
    found: Vec<Found>,
    /// Tokens of a list number at the start (`1)`, `2.`): punctuation, not words.
    marker: usize,
}

/// The date the line names, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DatePart {
    pub spec: DateSpec,
    pub certainty: Certainty,
    /// The date as the user wrote it, for `InvalidDate`.
    pub text: String,
    /// Nothing but labels and punctuation before it.
    pub at_start: bool,
}

/// The duration the line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DurationPart {
    pub minutes: u32,
    pub strength: Strength,
    pub shape: Shape,
    /// As the user wrote it, for the corrected example.
    pub text: String,
    pub at_start: bool,
    pub at_end: bool,
    /// Written with a minus glued to it after other words of the line (`2026-12-01 -5h`):
    /// hours taken back, which a time log cannot do. At the start of a line (`-5h inbox`) the
    /// dash is a list's bullet.
    pub negative: bool,
}

/// What a line says once its readings are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Parts {
    pub date: Option<DatePart>,
    pub duration: Option<DurationPart>,
    /// Lower-case, without `#`.
    pub tag: Option<String>,
    /// The other tags on the line, each once, in their order (what `tag` is not).
    pub other_tags: Vec<String>,
    /// The user's words without the date, duration and tag, and without separators at the edges.
    pub description: String,
    /// The line asks something: never an entry.
    pub question: bool,
    /// The line has nothing but a date, labels and maybe a tag: it starts a date block.
    pub date_only: bool,
    /// The line ends with `:`, like a heading over a list.
    pub heading: bool,
    /// How many things on the line read as dates (two are a span like "01.12.-05.12.").
    pub dates: usize,
    /// A sum of other lines (`Total: 7.5h`, `Summe 12 Std`), which must not be counted again.
    pub total: bool,
    /// Another duration with a unit or a span of clock times beside the one chosen
    /// (`2h Telefonate, danach 1h Mails`): which of them, or their sum, the line means is a guess.
    pub more_durations: bool,
    /// The date is one end of several days (`23.11.-25.11.`, `23.11. bis 25.11.`,
    /// `23.11. und 25.11. je 2h`): an entry is one day's.
    pub several_days: bool,
    /// The description speaks of time off (`frei`, `krank`, `Arzt...`, `Urlaub...`, `off`,
    /// `sick`, `doctor`, ...).
    pub time_off: bool,
}

/// How many tokens before a duration a word of detail may stand (`davon ca. 45 min`).
const DETAIL_REACH: usize = 3;

/// Words after which a shorter duration is a part of the line's, not another task's:
/// `2h Buchhaltung, davon 45 min Telefonat`, `3h Messe inkl. 30 min Pause`.
/// (Not `inc`, a company's `Inc`: `3h Meeting Foo Inc, then 1h emails`.)
const DETAIL_WORDS: [&str; 8] = [
    "davon",
    "inkl",
    "inklusive",
    "einschließlich",
    "darin",
    "incl",
    "including",
    "thereof",
];

/// Words of time off: a sentence with one of them and a day and a time is a note for a person
/// (`ich brauche am Montag 2 Stunden frei für einen Arzttermin`), not hours worked.
const TIME_OFF: &[&str] = &[
    "frei", "abwesend", "feiertag", "off", "sick", "ill", "doctor", "doctors", "dentist",
    "vacation", "holiday", "holidays", "leave", "absent",
];

/// Beginnings of German words of time off (`Arzttermin`, `krankgeschrieben`, `Urlaubstag`).
const TIME_OFF_STEMS: &[&str] = &["krank", "arzt", "zahnarzt", "kinderarzt", "urlaub"];

/// The words of `text` (runs of letters and digits), lower-cased.
fn lower_words(text: &str) -> impl Iterator<Item = Lower<'_>> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(Lower::of)
}

/// Whether `word` (lower-case) begins with one of [`TIME_OFF_STEMS`].
fn has_time_off_stem(word: &str) -> bool {
    TIME_OFF_STEMS.iter().any(|s| word.starts_with(s))
}

/// Whether `description` has a word of time off.
pub(super) fn speaks_of_time_off(description: &str) -> bool {
    lower_words(description)
        .any(|w| TIME_OFF.contains(&w.as_str()) || has_time_off_stem(w.as_str()))
}

/// Words that tell of time off wherever they stand in a note (not `off`, `leave` or `frei`,
/// which are as often about other things: [`OFF_PAIRS`]; nor `erreichbar`, which signatures
/// say: "Erreichbar Mo-Fr 9-17 Uhr").
const OFF_WORDS: &[&str] = &[
    "sick",
    "ill",
    "doctor",
    "doctors",
    "dentist",
    "vacation",
    "holiday",
    "holidays",
    "absent",
    "unavailable",
    "pto",
    "ooo",
    "abwesend",
    "abwesenheit",
    "feiertag",
    "verreist",
    "elternzeit",
];

/// Two words in a row that tell of time off.
const OFF_PAIRS: &[(&str, &str)] = &[
    ("day", "off"),
    ("days", "off"),
    ("time", "off"),
    ("off", "work"),
    ("am", "off"),
    ("m", "off"),
    ("be", "off"),
    ("of", "office"),
    ("on", "leave"),
    ("frei", "haben"),
    ("frei", "nehmen"),
    ("frei", "machen"),
    ("frei", "genommen"),
    ("frei", "gemacht"),
];

/// Whether a note (a line that is no entry) tells of time off: a word of [`OFF_WORDS`], a
/// beginning of [`TIME_OFF_STEMS`] or a pair of [`OFF_PAIRS`].
pub(super) fn notes_time_off(line: &str) -> bool {
    let mut before = Lower::of("");
    for word in lower_words(line) {
        let (w, b) = (word.as_str(), before.as_str());
        // "Happy holidays!", "Enjoy the holidays": a greeting of the season.
        let greeting = matches!(w, "holiday" | "holidays")
            && matches!(b, "happy" | "the" | "nice" | "merry" | "great");
        if (OFF_WORDS.contains(&w) && !greeting)
            || has_time_off_stem(w)
            || OFF_PAIRS.contains(&(b, w))
        {
            return true;
        }
        before = word;
    }
    false
}

/// Questions that are greetings or invitations, not asked of a person (lower-case, `'` for
/// `’`).
const PLEASANTRIES: &[&str] = &[
    "how are you",
    "how are you doing",
    "how's it going",
    "how are things",
    "wie geht's",
    "wie gehts",
    "wie geht es dir",
    "wie geht es ihnen",
    "wie geht es euch",
    "alles gut",
    "alles gut bei dir",
    "alles gut bei euch",
    "alles gut bei ihnen",
    "alles klar",
    "wie war dein wochenende",
    "wie war euer wochenende",
    "wie war ihr wochenende",
    "wie war das wochenende",
    "how was your weekend",
    "how was the weekend",
    "did you have a nice weekend",
    "hattest du ein schönes wochenende",
    // Invitations, as closings and signatures put them: "Questions? Just reply."
    "questions",
    "any questions",
    "fragen",
    "noch fragen",
];

/// Whether `line` asks a question: a `?` that ends a word (not one inside a link), whose
/// clause (from the last `.`, `!`, `?`, `,`, `;` or `:` before it) is no pleasantry.
pub(super) fn asks_a_question(line: &str) -> bool {
    line.match_indices('?').any(|(at, _)| {
        let ends_word = line[at + 1..].chars().next().is_none_or(|c| {
            c.is_whitespace() || matches!(c, '?' | '!' | ')' | '"' | '“' | '”' | '»' | '\'')
        });
        ends_word && {
            let clause = line[..at]
                .rsplit(['.', '!', '?', ',', ';', ':'])
                .next()
                .unwrap_or_default();
            !clause.trim().is_empty() && !is_pleasantry(clause)
        }
    })
}

/// Whether `clause` (without its `?`) is one of [`PLEASANTRIES`], whatever its case, spaces
/// and apostrophes; a name after it is allowed ("how are you Anna").
fn is_pleasantry(clause: &str) -> bool {
    // No pleasantry is longer than six words, and a name: a long clause is not looked at
    // whole.
    let words: Vec<String> = clause
        .split_whitespace()
        .take(8)
        .map(|w| w.replace('’', "'").to_lowercase())
        .collect();
    PLEASANTRIES.iter().any(|p| {
        let said = p.split(' ').count();
        (said..=said + 1).contains(&words.len())
            && words.iter().zip(p.split(' ')).all(|(w, s)| w == s)
    })
}

impl Parts {
    /// Words in the description.
    pub fn words(&self) -> usize {
        self.description.split_whitespace().count()
    }

    /// The description ends like a sentence, so the line is more likely prose than an entry.
    pub fn ends_sentence(&self) -> bool {
        self.description.ends_with(['.', '!', '?'])
    }
}

impl<'a> Analysis<'a> {
    pub fn new(line: &'a str, day_first: bool) -> Self {
        let tokens = tokenize(line);
        let mut found = scan(Tokens(&tokens), day_first);
        let marker = list_number(Tokens(&tokens), &mut found);
        Self {
            line,
            tokens,
            found,
            marker,
        }
    }

    /// Chooses the date, duration and tag. `in_block`: a date block is open, so a lone `23.11`
    /// is more likely 23.11 hours under it than a date.
    pub fn resolve(&self, in_block: bool) -> Parts {
        let tag = self.first(|w| matches!(w, What::Tag(_)));
        let tag_name = tag.and_then(|f| match &self.found[f].what {
            What::Tag(name) => Some(name.as_str()),
            _ => None,
        });
        let date = self.choose_date(in_block);
        let duration = self.choose_duration(date, tag);
        let used = [date, duration, tag];
        let covered = |k: usize| {
            used.iter()
                .flatten()
                .any(|&f| (self.found[f].start..self.found[f].end).contains(&k))
        };
        let description = self.description(|k| k >= self.marker && !covered(k));
        let words = |from: usize, to: usize, ignore_labels: bool| {
            (from..to)
                .any(|k| !covered(k) && self.is_wordish(k) && !(ignore_labels && self.is_label(k)))
        };
        let date_only = description
            .split_whitespace()
            .all(|w| lower_is_one_of(bare_word(w), &LABELS));
        Parts {
            date: date.and_then(|f| self.date_part(f, words(0, self.found[f].start, true))),
            duration: duration.map(|f| {
                let found = &self.found[f];
                DurationPart {
                    minutes: self.minutes_of(f),
                    strength: self.strength_of(f),
                    shape: match &found.what {
                        What::Duration(d) => d.shape,
                        _ => Shape::Bare,
                    },
                    text: self.text(found.start, found.end).to_string(),
                    at_start: !words(0, found.start, false),
                    at_end: !words(found.end, self.tokens.len(), false),
                    negative: self.minus_before(found.start),
                }
            }),
            tag: tag_name.map(str::to_string),
            other_tags: self.other_tags(tag_name),
            question: self.line.trim_end().ends_with('?'),
            date_only,
            heading: self.line.trim_end().ends_with(':'),
            total: description
                .split_whitespace()
                .next()
                .is_some_and(|w| lower_is_one_of(bare_word(w), &TOTALS)),
            dates: self
                .found
                .iter()
                .enumerate()
                .filter(|&(i, f)| matches!(f.what, What::Date(_)) && Some(i) != duration)
                .count(),
            more_durations: self.more_durations(duration, [date, duration, tag]),
            several_days: date.is_some_and(|d| self.several_days(d, [date, duration, tag])),
            time_off: speaks_of_time_off(&description),
            description,
        }
    }

    /// Whether `f` shares a token with any of `used`.
    fn overlaps(&self, f: usize, used: [Option<usize>; 3]) -> bool {
        let found = &self.found[f];
        used.iter()
            .flatten()
            .any(|&g| found.start < self.found[g].end && self.found[g].start < found.end)
    }

    /// Whether a strong duration (a unit, a span of clock times) stands on the line beside
    /// `chosen`, sharing no token with what the line's parts took. A span of clock times with
    /// its length (`9-12 Uhr (3h)`) is one duration, and durations that add up to the chosen
    /// one are its parts (`1,5h Buchhaltung 1h, Mails 30min`).
    fn more_durations(&self, chosen: Option<usize>, used: [Option<usize>; 3]) -> bool {
        let Some(chosen) = chosen else {
            return false;
        };
        // `9h-12h`, `9:00h-12:00h`, `2h-3h`: a duration glued by a dash before the chosen one
        // is not read as one of its own (`12-3` is no boundary), and the chosen one alone
        // (`12h`) would log the wrong amount, so its tokens are looked at.
        let glued_before =
            self.glued_before(self.found[chosen].start, &['-', '–'], |t| match t.kind {
                Kind::Num => true,
                Kind::Word => lower_is_one_of(t.text, &["h", "std", "min", "m"]),
                _ => false,
            });
        if glued_before {
            return true;
        }
        let minutes = self.minutes_of(chosen);
        let span = matches!(&self.found[chosen].what, What::Duration(d) if d.shape == Shape::Range);
        // `2h Buchhaltung, davon 45 min Telefonat`, `2h Buchhaltung (45 min davon Telefonat)`,
        // `3h Messe inkl. 30 min Pause`: a shorter duration right after a word of detail (at
        // most [`DETAIL_REACH`] tokens before it, after the chosen one), or right before
        // `davon`, is part of it; `3h research including competitors, then 1h emails` is not.
        let chosen_end = self.found[chosen].end;
        let is_detail = |f: usize, of: u32| {
            let found = &self.found[f];
            let from = found.start.saturating_sub(DETAIL_REACH).max(chosen_end);
            let after_word = self.tokens[from..found.start.max(from)]
                .iter()
                .any(|t| t.kind == Kind::Word && lower_is_one_of(t.text, &DETAIL_WORDS));
            let next_word = self.tokens[found.end..]
                .iter()
                .find(|t| t.kind != Kind::Sym(','))
                .is_some_and(|t| {
                    t.kind == Kind::Word && lower_is_one_of(t.text, &["davon", "thereof"])
                });
            of < minutes && (after_word || next_word)
        };
        // The other strong durations: how many, and their sum.
        let (others, parts) = (0..self.found.len())
            .filter(|&f| !self.overlaps(f, used))
            .filter_map(|f| match &self.found[f].what {
                What::Duration(d) if d.strength == Strength::Strong && d.minutes > 0 => {
                    let its_length = d.minutes == minutes && (span != (d.shape == Shape::Range));
                    (!its_length && !is_detail(f, d.minutes)).then_some(d.minutes)
                }
                _ => None,
            })
            .fold((0usize, 0u64), |(n, sum), m| (n + 1, sum + u64::from(m)));
        let breakdown = others > 1 && parts == u64::from(minutes);
        others > 0 && !breakdown
    }

    /// Whether token `start` is glued to one of `joiners` right before it, itself glued to a
    /// token that `before` takes (`9h-` before `12h`, `23.11.-` before `25.11.`).
    fn glued_before(
        &self,
        start: usize,
        joiners: &[char],
        before: impl Fn(&Token) -> bool,
    ) -> bool {
        start >= 2
            && !self.tokens[start].spaced
            && !self.tokens[start - 1].spaced
            && matches!(self.tokens[start - 1].kind, Kind::Sym(c) if joiners.contains(&c))
            && before(&self.tokens[start - 2])
    }

    /// The month and day of a date written as one (`23.11.`, `2026-11-23`, `23 Nov`); `None`
    /// for a weekday, `gestern`, or a number that may be hours.
    fn calendar_day(&self, f: usize) -> Option<(u32, u32)> {
        match &self.found[f].what {
            What::Date(d) if d.as_hours.is_none() => match d.spec {
                DateSpec::Full { month, day, .. } | DateSpec::NoYear { month, day } => {
                    Some((month, day))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the date `chosen` is one end of several days: another calendar date right
    /// before or after it, with nothing between them but a dash, a comma, a slash, `&` or
    /// `bis`/`to`/`und`/`and`. A weekday or `gestern` beside a date (`23.11. Montag`) names the
    /// same day again.
    fn several_days(&self, chosen: usize, used: [Option<usize>; 3]) -> bool {
        let Some(day) = self.calendar_day(chosen) else {
            return false;
        };
        let date = &self.found[chosen];
        let joins = |k: usize| {
            let t = &self.tokens[k];
            match t.kind {
                Kind::Sym(c) => matches!(c, '-' | '–' | '—' | ',' | '/' | '&'),
                Kind::Word => {
                    lower_is_one_of(t.text, &["bis", "to", "until", "till", "und", "and"])
                }
                _ => false,
            }
        };
        // `23.11.-25.11.`, `23.-25.11.`, `23.11./24.11.`: a day glued by a dash or a slash
        // before the date is not read as a date of its own (`12-3` is no boundary), so its
        // tokens are looked at.
        let glued_before = self.glued_before(date.start, &['-', '–', '/'], |t| {
            matches!(t.kind, Kind::Num | Kind::Sym('.'))
        });
        glued_before
            || (0..self.found.len()).any(|f| {
                let other = &self.found[f];
                let (from, to) = if other.start >= date.end {
                    (date.end, other.start)
                } else if other.end <= date.start {
                    (other.end, date.start)
                } else {
                    return false;
                };
                self.calendar_day(f)
                    .is_some_and(|other_day| other_day != day)
                    && !self.overlaps(f, used)
                    && to - from <= 2
                    && (from..to).all(joins)
            })
    }

    fn first(&self, pred: impl Fn(&What) -> bool) -> Option<usize> {
        self.found.iter().position(|f| pred(&f.what))
    }

    /// The first clear date; else a `23.11` that could also be hours, read as a date unless a
    /// date block is open and nothing else on the line is a duration. Under an open date block
    /// a `morgen`/`tomorrow` inside the line (`- 1h Termine morgen vorbereitet`) is words: the
    /// line borrows the block's date; at its start (`- morgen 1h Termine`) it is the date.
    fn choose_date(&self, in_block: bool) -> Option<usize> {
        let words_before =
            |f: &Found| (0..f.start).any(|k| self.is_wordish(k) && !self.is_label(k));
        (0..self.found.len())
            .find(|&f| match &self.found[f].what {
                What::Date(d) if d.as_hours.is_none() => {
                    let ahead = matches!(d.spec, DateSpec::DaysAhead(_));
                    !(ahead && in_block && words_before(&self.found[f]))
                }
                _ => false,
            })
            .or_else(|| {
                let has_duration = self.first(|w| matches!(w, What::Duration(_))).is_some();
                self.first(|w| matches!(w, What::Date(d) if d.as_hours.is_some()))
                    .filter(|_| has_duration || !in_block)
            })
    }

    /// The first duration with a unit, colon or clock range; else the first bare number that
    /// stands where a duration would (nothing but the date, tag and punctuation before it, or
    /// nothing after it) and is at most a day.
    fn choose_duration(&self, date: Option<usize>, tag: Option<usize>) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.found.len())
            .filter(|&f| Some(f) != date)
            .filter(|&f| match &self.found[f].what {
                What::Duration(_) => true,
                What::Date(d) => d.as_hours.is_some(),
                What::Tag(_) => false,
            })
            .collect();
        if let Some(&f) = candidates
            .iter()
            .find(|&&f| self.strength_of(f) == Strength::Strong)
        {
            return Some(f);
        }
        let outside = |k: usize, f: usize| {
            let inside = |g: Option<usize>| {
                g.is_some_and(|g| (self.found[g].start..self.found[g].end).contains(&k))
            };
            !inside(date) && !inside(tag) && !inside(Some(f)) && self.is_wordish(k)
        };
        let chosen = candidates.iter().copied().find(|&f| {
            let found = &self.found[f];
            let alone_before = !(0..found.start).any(|k| outside(k, f));
            let alone_after = !(found.end..self.tokens.len()).any(|k| outside(k, f));
            (1..=24 * 60).contains(&self.minutes_of(f)) && (alone_before || alone_after)
        })?;
        // `Today: 6 calls, 2 meetings` counts things; a bare whole number is hours only when it
        // is the only bare number on the line.
        let counts = self.strength_of(chosen) == Strength::Weak && candidates.len() > 1;
        (!counts).then_some(chosen)
    }

    fn minutes_of(&self, f: usize) -> u32 {
        match &self.found[f].what {
            What::Duration(d) => d.minutes,
            What::Date(d) => d.as_hours.unwrap_or(0),
            What::Tag(_) => 0,
        }
    }

    fn strength_of(&self, f: usize) -> Strength {
        match &self.found[f].what {
            What::Duration(d) => d.strength,
            _ => Strength::Medium,
        }
    }

    fn date_part(&self, f: usize, words_before: bool) -> Option<DatePart> {
        let found = &self.found[f];
        let What::Date(d) = &found.what else {
            return None;
        };
        // The date itself, without an `on`/`am` taken in front of it.
        let first = (found.start..found.end)
            .find(|&k| !self.is_label(k) || k + 1 == found.end)
            .unwrap_or(found.start);
        Some(DatePart {
            spec: d.spec,
            certainty: d.certainty,
            text: self.text(first, found.end).to_string(),
            at_start: !words_before,
        })
    }

    /// Token `k` carries meaning in a description (not punctuation, not a list number).
    fn is_wordish(&self, k: usize) -> bool {
        k >= self.marker
            && matches!(
                self.tokens[k].kind,
                Kind::Num | Kind::Word | Kind::Tag | Kind::Opaque
            )
    }

    /// The tags found besides `chosen`, each once.
    fn other_tags(&self, chosen: Option<&str>) -> Vec<String> {
        // A set to keep them once: a line may hold any number of tags.
        let mut seen = std::collections::HashSet::new();
        self.found
            .iter()
            .filter_map(|found| match &found.what {
                What::Tag(name) if Some(name.as_str()) != chosen && seen.insert(name.as_str()) => {
                    Some(name.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// A minus right before token `start`, glued to it, with whitespace before the minus and
    /// words of the line before that.
    fn minus_before(&self, start: usize) -> bool {
        let Some(minus) = start.checked_sub(1) else {
            return false;
        };
        let sign = &self.tokens[minus];
        matches!(sign.kind, Kind::Sym('-' | '\u{2212}'))
            && sign.spaced
            && !self.tokens[start].spaced
            && (0..minus).any(|k| self.is_wordish(k))
    }

    fn is_label(&self, k: usize) -> bool {
        let t = &self.tokens[k];
        t.kind == Kind::Word && lower_is_one_of(t.text, &LABELS)
    }

    fn text(&self, from: usize, to: usize) -> &'a str {
        Tokens(&self.tokens).span_text(self.line, from, to)
    }

    /// The kept tokens, spaced as the user spaced them, then tidied: no separators at the edges,
    /// no empty brackets or doubled separators where a part was taken out.
    fn description(&self, keep: impl Fn(usize) -> bool) -> String {
        let mut out = String::new();
        let mut previous_end = None;
        for (k, token) in self.tokens.iter().enumerate() {
            if !keep(k) {
                continue;
            }
            if let Some(end) = previous_end
                && self.line[end..token.start].contains(char::is_whitespace)
            {
                out.push(' ');
            }
            out.push_str(token.text);
            previous_end = Some(token.end);
        }
        tidy(&out)
    }
}

/// `1)` or `2.` starting a numbered list item: how many tokens it takes (0 if none). The scan
/// read its number as bare hours; that reading is dropped. (`23. Nov` is a date, not a number.)
fn list_number(t: Tokens<'_, '_>, found: &mut Vec<Found>) -> usize {
    let numbered = t.num(0, 1, 2).is_some()
        && t.is_sym_in(1, &[')', '.'])
        && t.glued(1)
        && t.get(2).is_some_and(|tok| tok.spaced);
    if !numbered {
        return 0;
    }
    match found.first() {
        Some(f) if f.start == 0 => {
            let bare = matches!(&f.what, What::Duration(d) if d.shape == Shape::Bare);
            if !(bare && f.end == 1) {
                return 0;
            }
            found.remove(0);
            2
        }
        _ => 2,
    }
}

fn tidy(text: &str) -> String {
    let mut text = text.to_string();
    for empty in ["()", "[]", "{}", "( )", "[ ]"] {
        if text.contains(empty) {
            text = text.replace(empty, " ");
        }
    }
    let is_separator_word = |w: &str| w.chars().all(|c| SEPARATORS.contains(&c));
    let mut words: Vec<&str> = Vec::new();
    for word in text.split_whitespace() {
        let doubled = is_separator_word(word) && words.last().is_some_and(|w| is_separator_word(w));
        if !doubled {
            words.push(word);
        }
    }
    words
        .join(" ")
        .trim_matches(|c: char| SEPARATORS.contains(&c) || c.is_whitespace())
        .to_string()
}

/// Finds, left to right, the longest date, duration or tag at each word start.
fn scan(t: Tokens<'_, '_>, day_first: bool) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        match longest_at(t, i, day_first) {
            Some(mut f) => {
                i = f.end;
                f.start = with_lead_word(t, &f, found.last().map_or(0, |g| g.end));
                found.push(f);
            }
            None => i += 1,
        }
    }
    found
}

fn longest_at(t: Tokens<'_, '_>, i: usize, day_first: bool) -> Option<Found> {
    if !t.starts_word(i) {
        return None;
    }
    let tag = tag_at(t, i).map(|name| Found {
        start: i,
        end: i + 1,
        what: What::Tag(name),
    });
    let dates = date::candidates(t, i, day_first)
        .into_iter()
        .map(|d| Found {
            start: i,
            end: d.end,
            what: What::Date(d),
        });
    let durations = duration::candidates(t, i).into_iter().map(|d| Found {
        start: i,
        end: d.end,
        what: What::Duration(d),
    });
    // On equal length the earlier kind wins: a tag, then a date, then a duration.
    tag.into_iter()
        .chain(dates)
        .chain(durations)
        .filter(|f| f.end > i && t.ends_word(f.end) && !is_clock_time(t, f))
        .fold(None, |best: Option<Found>, f| match best {
            Some(b) if b.end >= f.end => Some(b),
            _ => Some(f),
        })
}

/// Words that make the `10:30` after them a time of day, not a duration.
const CLOCK_WORDS: [&str; 17] = [
    "at", "um", "ab", "bis", "gegen", "by", "until", "till", "from", "von", "seit", "since",
    "around", "before", "after", "vor", "nach",
];

/// `at 10:30`, `um 9:00`: a colon duration that is really a time of day.
fn is_clock_time(t: Tokens<'_, '_>, f: &Found) -> bool {
    let What::Duration(d) = &f.what else {
        return false;
    };
    d.shape == Shape::Colon
        && f.start > 0
        && t.word(f.start - 1)
            .is_some_and(|w| CLOCK_WORDS.contains(&w.as_str()))
}

/// A `#tag` that is a valid client tag, lower-cased without `#`.
fn tag_at(t: Tokens<'_, '_>, i: usize) -> Option<String> {
    let token = t.get(i).filter(|tok| tok.kind == Kind::Tag)?;
    ClientTag::parse(token.text)
        .ok()
        .map(|tag| tag.as_str().to_string())
}

/// `on 2026-11-23`, `am Montag`, `von 9 bis 11`: the little word in front belongs to the date or
/// range, not to the description. Returns the match's new start.
fn with_lead_word(t: Tokens<'_, '_>, f: &Found, free_from: usize) -> usize {
    let leads: &[&str] = match &f.what {
        What::Date(_) => &["on", "am"],
        What::Duration(d) if d.shape == Shape::Range => &["von", "from"],
        _ => return f.start,
    };
    let takes = f.start > free_from
        && t.get(f.start).is_some_and(|tok| tok.spaced)
        && t.word(f.start - 1)
            .is_some_and(|w| leads.contains(&w.as_str()));
    if takes { f.start - 1 } else { f.start }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(line: &str) -> Parts {
        Analysis::new(line, true).resolve(false)
    }

    fn minutes(line: &str) -> Option<u32> {
        parts(line).duration.map(|d| d.minutes)
    }

    #[test]
    fn parts_in_any_order() {
        for line in [
            "2026-11-23 2.5h #acme Invoices and reminders",
            "Invoices and reminders 2.5h on 2026-11-23 #acme",
            "2.5h 2026-11-23 #ACME Invoices and reminders",
            "#acme | 2026-11-23 | 2.5h | Invoices and reminders",
            "- Invoices and reminders: 2.5h, 2026-11-23 #acme",
        ] {
            let p = parts(line);
            assert_eq!(p.description, "Invoices and reminders", "{line}");
            assert_eq!(p.tag.as_deref(), Some("acme"), "{line}");
            assert_eq!(p.duration.as_ref().map(|d| d.minutes), Some(150), "{line}");
            assert_eq!(
                p.date.map(|d| d.spec),
                Some(DateSpec::Full {
                    year: 2026,
                    month: 11,
                    day: 23
                }),
                "{line}"
            );
        }
    }

    #[test]
    fn first_clear_duration_wins_and_numbers_stay_in_the_description() {
        let p = parts("2026-11-23 2h 10 Rechnungen geschrieben");
        assert_eq!(p.duration.unwrap().minutes, 120);
        assert_eq!(p.description, "10 Rechnungen geschrieben");
        let p = parts("2026-11-23 1.5 10 Rechnungen geschrieben");
        assert_eq!(p.duration.unwrap().minutes, 90);
        assert_eq!(p.description, "10 Rechnungen geschrieben");
        let p = parts("2026-11-23 Rechnungen 10 Stück");
        assert_eq!(p.duration, None);
        let p = parts("2026-11-23 2 Rechnungen 1.5h");
        assert_eq!(p.duration.unwrap().minutes, 90);
        assert_eq!(p.description, "2 Rechnungen");
    }

    #[test]
    fn bare_numbers_only_where_durations_stand() {
        assert_eq!(minutes("2026-11-23 1.5 inbox"), Some(90));
        assert_eq!(minutes("- inbox: 1,5"), Some(90));
        assert_eq!(minutes("2026-11-23 2 inbox"), Some(120));
        assert_eq!(minutes("2026-11-23 30 inbox"), None);
        assert_eq!(minutes("Call +49 30 1234567"), None);
        assert_eq!(minutes("Version 2 of the inbox rules"), None);
    }

    #[test]
    fn traps() {
        let p = parts("23.11.");
        assert!(p.date.is_some() && p.duration.is_none() && p.date_only);
        let p = parts("1.5");
        assert!(p.date.is_none());
        assert_eq!(p.duration.unwrap().minutes, 90);
        let p = parts("2026-11-23");
        assert!(p.duration.is_none() && p.date_only);
        for prose in [
            "Hi Anna,",
            "Thanks!",
            "Viele Grüße",
            "Best, Sam",
            "Hier meine Stunden für diese Woche:",
            "Here are my hours:",
            "+49 30 1234567",
            "https://example.com/2026/11/23/report?x=1.5",
            "Sent from my iPhone",
        ] {
            let p = parts(prose);
            assert!(p.date.is_none() && p.duration.is_none(), "{prose}: {p:?}");
        }
    }

    #[test]
    fn undotted_day_month_reads_as_hours_only_when_the_date_is_elsewhere() {
        let p = parts("23.11 Kalenderpflege");
        assert!(p.date.is_some() && p.duration.is_none());
        let p = parts("2026-11-23 1.10 Kalenderpflege");
        assert_eq!(p.duration.unwrap().minutes, 66);
        let p = Analysis::new("- 1.10 Kalenderpflege", true).resolve(true);
        assert!(p.date.is_none());
        assert_eq!(p.duration.unwrap().minutes, 66);
    }

    #[test]
    fn date_lines() {
        for line in [
            "Monday, 23 Nov",
            "Datum: 23.11.",
            "Montag, den 23.11.:",
            "23.11. #acme",
            "**23.11.**",
        ] {
            let p = parts(line);
            assert!(p.date.is_some() && p.duration.is_none(), "{line}");
            assert!(p.date_only, "{line}: {p:?}");
        }
        assert!(!parts("23.11. Kalenderpflege").date_only);
    }

    #[test]
    fn descriptions_keep_the_users_words() {
        assert_eq!(parts("- inbox: 1.5h").description, "inbox");
        assert_eq!(parts("• 30 min calls").description, "calls");
        assert_eq!(parts("inbox (2h) calls").description, "inbox calls");
        assert_eq!(
            parts("2026-11-23 – 2h – Anruf bei Müller").description,
            "Anruf bei Müller"
        );
        assert_eq!(
            parts("Mo von 9 bis 11 Uhr Recherche").description,
            "Recherche"
        );
        assert_eq!(
            parts("gestern 2,5 Std. Buchhaltung vorbereitet.").description,
            "Buchhaltung vorbereitet."
        );
    }

    #[test]
    fn positions_and_shape() {
        let p = parts("Invoices 2.5h");
        let d = p.duration.unwrap();
        assert!(!d.at_start && d.at_end);
        let p = parts("Datum: 23.11. Kalenderpflege");
        assert!(p.date.unwrap().at_start);
        let p = parts("Is 2h on 23.11. ok?");
        assert!(p.question);
        assert_eq!(parts("01.12. bis 05.12. Urlaub").dates, 2);
    }
}
