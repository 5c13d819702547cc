//! The time-log grammar: the text of an hours mail in, one [`Line`] per line that is an entry or
//! an attempt at one out. Pure: the day the message was sent comes in through [`Context`].
//!
//! Each line is cut into tokens (`token`), searched for dates (`date`), durations (`duration`)
//! and a `#tag`, and the readings that fit best are chosen (`line`). This module then walks the
//! lines in order, because a line that is only a date ("Monday, 23 Nov") gives its date to the
//! lines under it, and decides what is an entry, what is rejected and what is just prose.
//!
//! Prose must stay silent: a mail whose only "time log" is a greeting or a sick note must not be
//! answered as if it were one. So a line is rejected only when it clearly tries to be an entry;
//! lines that might be an entry or might be prose ("gestern Buchhaltung vorbereitet") are
//! rejected only in a mail that has clear entries or rejections as well.

mod date;
mod duration;
mod line;
mod reason;
mod token;

use chrono::NaiveDate;
use serde::Serialize;

pub use duration::{DurationForm, format_duration, parse_duration};

use crate::domain::Locale;
use date::Certainty;
use duration::{Shape, Strength};
use line::{Analysis, DatePart, Parts};

/// What the parser knows besides the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The day the message was sent, in the assistant's time zone: "today", and the latest date
    /// an entry may have.
    pub today: NaiveDate,
    /// The assistant's language (affects nothing but may be used for ambiguous words); both
    /// German and English words are always accepted.
    pub locale: Locale,
    /// Whether `23/11`-style numeric dates put the day first (true for de and en; a future
    /// en-US would say false).
    pub day_first: bool,
}

impl Context {
    /// The context for a message sent on `today` by an assistant writing `locale`; both shipped
    /// locales put the day first.
    pub fn new(today: NaiveDate, locale: Locale) -> Self {
        Self {
            today,
            locale,
            day_first: true,
        }
    }
}

/// One accepted time-log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based line number in the text.
    pub line: usize,
    /// The trimmed source line.
    pub text: String,
    pub date: NaiveDate,
    pub minutes: u32,
    /// The client tag without `#`, lower-case; the flow checks that it exists.
    pub client: Option<String>,
    /// The line's other tags, each once (`#globex #acme`: `acme`): two that both name the
    /// assistant's clients leave the flow no client to choose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_tags: Vec<String>,
    /// The user's words without the date, duration and tag.
    pub description: String,
}

/// A line that tries to be an entry but cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// 1-based line number in the text.
    pub line: usize,
    /// The trimmed source line.
    pub text: String,
    pub reason: Reason,
}

/// Why a line was rejected. Tags, locked months and day totals are checked by the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// A duration and a description, but no date, and no date line above it.
    NoDate,
    /// A date and a description, but no duration.
    NoDuration,
    /// After the day the message was sent.
    FutureDate { date: NaiveDate },
    /// More than 24 hours on one line.
    TooLong { minutes: u32 },
    /// A date that does not exist, as written (`31.02.`).
    InvalidDate { text: String },
    /// A duration of nothing (`0h`).
    ZeroDuration,
    /// A duration with a minus (`2026-12-01 -5h`): hours are taken back by cancelling their
    /// submission, not by logging less.
    NegativeDuration,
    /// Two durations on one line (`2h Telefonate, danach 1h Mails`): logging the first would
    /// lose the second, and adding them up would be a guess.
    TwoDurations,
    /// Several days on one line (`23.11.-25.11. je 2h`): an entry is one day's.
    SeveralDays,
    /// A sentence about time off with a day and a time in it (`ich brauche am Montag 2 Stunden
    /// frei`): not hours worked.
    TimeOff,
    /// A range of durations (`2-3 Stunden`, `1-2h`): it was logged as a span of clock times,
    /// an hour, whatever the assistant meant.
    DurationRange,
}

impl Reason {
    /// The stable code of the reason, as serialised (`no_date`, `future_date`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NoDate => "no_date",
            Reason::NoDuration => "no_duration",
            Reason::FutureDate { .. } => "future_date",
            Reason::TooLong { .. } => "too_long",
            Reason::InvalidDate { .. } => "invalid_date",
            Reason::ZeroDuration => "zero_duration",
            Reason::NegativeDuration => "negative_duration",
            Reason::TwoDurations => "two_durations",
            Reason::DurationRange => "duration_range",
            Reason::SeveralDays => "several_days",
            Reason::TimeOff => "time_off",
        }
    }
}

/// What one line of the text turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Line {
    Entry(Entry),
    Rejected(Rejected),
}

/// Parses every line; prose lines ("Hi Anna,", "Thanks!", "Viele Grüße", "Meeting notes
/// below") are neither entries nor rejections and are left out. Never panics.
pub fn parse(text: &str, ctx: &Context) -> Vec<Line> {
    let mut walker = Walker::new(ctx);
    for (index, raw) in text.lines().enumerate() {
        walker.line(index + 1, raw);
    }
    walker.finish()
}

/// Whether a line that is no entry asks something of a person: a question ("Kann ich am
/// Freitag frei haben?"; a `?` that ends a word, not one in a link, and not a pleasantry such as
/// "how are you?"), or a note of time off ("Ich bin ab Montag krankgeschrieben.", "I'm taking
/// a day off on Friday"). In a time log such a line would otherwise reach no one: the mail is
/// answered and filed.
pub fn asks_a_person(line: &str) -> bool {
    line::asks_a_question(line) || line::notes_time_off(line)
}

/// A line that looks like an item of a list: indented, bulleted or numbered (`1)`, `2.`).
fn is_list_item(raw: &str) -> bool {
    let numbered = raw
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix([')', '.'])
        .is_some_and(|rest| rest.starts_with(char::is_whitespace));
    raw.starts_with(char::is_whitespace)
        || raw.starts_with(['-', '*', '•', '–', '·'])
        || (numbered && raw.starts_with(|c: char| c.is_ascii_digit()))
}

/// The longest a single line may be.
const DAY: u32 = 24 * 60;

/// A date line and the lines under it that borrow its date.
struct Block {
    id: usize,
    date: Result<NaiveDate, Reason>,
    tag: Option<String>,
    /// Opened by a dated line with words of its own ("23.11. Projekt Umzug"), which may just as
    /// well be an entry that lacks its duration: only list items right under it borrow its date,
    /// and the first line that does not ends it.
    loose: bool,
}

/// A line's outcome while the walk is not finished.
enum Slot {
    /// Final.
    Sure(Line),
    /// Reported only if the text has at least one sure line: see the module doc.
    Weak(Rejected),
    /// A dated line without a duration that opened a block: nothing if lines under it borrowed
    /// its date, else its rejection (`true`: sure).
    Header {
        block: usize,
        rejection: Option<(Rejected, bool)>,
    },
}

struct Walker<'c> {
    ctx: &'c Context,
    slots: Vec<Slot>,
    block: Option<Block>,
    /// Lines that borrowed each block's date, by block id.
    borrowed: Vec<usize>,
    /// The previous line was blank: a block ends at a blank line followed by non-entry text.
    after_blank: bool,
}

impl<'c> Walker<'c> {
    fn new(ctx: &'c Context) -> Self {
        Self {
            ctx,
            slots: Vec::new(),
            block: None,
            borrowed: Vec::new(),
            after_blank: false,
        }
    }

    fn line(&mut self, number: usize, raw: &str) {
        let text = raw.trim();
        if text.is_empty() {
            self.after_blank = true;
            return;
        }
        let after_blank = std::mem::take(&mut self.after_blank);
        let open = self
            .block
            .as_ref()
            .filter(|block| !block.loose || is_list_item(raw))
            .map(|block| block.id);
        let parts = Analysis::new(text, self.ctx.day_first).resolve(open.is_some());
        let before = self.block.as_ref().map(|block| block.id);
        let borrowed = self.classify(number, text, &parts, open, after_blank);
        // A loose block ends at the first line under it that does not borrow its date.
        if let Some(block) = &self.block
            && block.loose
            && !borrowed
            && before == Some(block.id)
        {
            self.block = None;
        }
    }

    /// Decides one line; `open`: the block whose date a dateless line would borrow. Returns
    /// whether the line borrowed it.
    fn classify(
        &mut self,
        number: usize,
        text: &str,
        parts: &Parts,
        open: Option<usize>,
        after_blank: bool,
    ) -> bool {
        if parts.question || (parts.total && parts.duration.is_some()) {
            self.prose(after_blank);
            return false;
        }
        match (&parts.date, &parts.duration, &self.block) {
            // "ich war gestern 2h beim Arzt und konnte nicht arbeiten.", "I need 2 hours off
            // on Monday.": a sentence that mentions a day and a time, with words before both,
            // is a note for a person, not an entry.
            (Some(date), Some(duration), _)
                if !date.at_start && !duration.at_start && parts.ends_sentence() =>
            {
                self.prose(after_blank)
            }
            // So is one that speaks of time off without its full stop ("ich brauche am Montag
            // 2 Stunden frei für einen Arzttermin"): in a mail of entries its receipt says it
            // was not logged, in case it was work after all (`Urlaubsvertretung`).
            (Some(date), Some(duration), _)
                if !date.at_start && !duration.at_start && parts.time_off =>
            {
                self.reject(number, text, Reason::TimeOff, false);
                self.prose(after_blank)
            }
            (Some(date), Some(duration), _) => {
                let resolved = self.date_result(date);
                let line = self.entry(number, text, resolved, duration.minutes, parts, None);
                // `morgen 2h Termine` is tomorrow's work, rejected as in the future. But
                // `morgen 9-11 Arzttermin` or `Termin morgen 10:30` is as likely a note about
                // tomorrow as an entry: rejected only in a mail with clear entries.
                let ahead = matches!(date.spec, date::DateSpec::DaysAhead(_));
                let clear = date.at_start && duration.shape == Shape::Units;
                match line {
                    Line::Rejected(rejected) if ahead && !clear => {
                        self.slots.push(Slot::Weak(rejected))
                    }
                    line => self.slots.push(Slot::Sure(line)),
                }
            }
            (None, Some(duration), Some(block)) if open == Some(block.id) => {
                let (date, tag) = (block.date.clone(), block.tag.clone());
                self.borrowed[block.id] += 1;
                let line = self.entry(number, text, date, duration.minutes, parts, tag);
                self.slots.push(Slot::Sure(line));
                return true;
            }
            (None, Some(_), _) => self.without_date(number, text, parts, after_blank),
            (Some(date), None, _) => self.without_duration(number, text, date, parts, after_blank),
            (None, None, _) => self.prose(after_blank),
        }
        false
    }

    /// Prose after a blank line ends the block.
    fn prose(&mut self, after_blank: bool) {
        if after_blank {
            self.block = None;
        }
    }

    /// A duration without a date: rejected when the duration stands where entries put it. A
    /// time or a span of time without a date (`Erreichbar: 9-13 Uhr`, `Termin: 10:30`) is as
    /// likely prose, so it is rejected only in a mail with clear entries.
    fn without_date(&mut self, number: usize, text: &str, parts: &Parts, after_blank: bool) {
        let Some(duration) = &parts.duration else {
            return;
        };
        let edge = duration.at_start || duration.at_end;
        let clock = matches!(duration.shape, Shape::Colon | Shape::Range);
        // "Von 9 bis 12 Uhr war ich beim Arzt, danach:" introduces what follows.
        let heading = text.trim_end().ends_with(':');
        let sure = match duration.strength {
            _ if parts.words() > 12 => None,
            _ if clock && heading => None,
            Strength::Strong if edge => Some(!clock),
            Strength::Medium if duration.at_start => Some(true),
            Strength::Strong if parts.words() <= 6 => Some(false),
            Strength::Medium if duration.at_end => Some(false),
            _ => None,
        };
        match sure {
            Some(sure) => self.reject(number, text, Reason::NoDate, sure),
            None => self.prose(after_blank),
        }
    }

    /// A date without a duration: a date line (or a heading) opens a block; a short line that
    /// starts with its date opens one too and is rejected if nothing comes under it; a dated
    /// line that reads like a plan or a sentence is prose.
    fn without_duration(
        &mut self,
        number: usize,
        text: &str,
        date: &DatePart,
        parts: &Parts,
        after_blank: bool,
    ) {
        let resolved = self.date_result(date);
        let certain = date.certainty != Certainty::Uncertain;
        if parts.date_only || (parts.heading && certain && parts.dates == 1) {
            return self.open_block(resolved, parts, false, None);
        }
        if parts.dates > 1 || parts.words() > 12 || !date.at_start {
            return self.prose(after_blank);
        }
        // "Wed calendar cleanup": a word-like weekday opens only a short line, and its
        // rejection counts only in a mail with clear entries (see `open_block`).
        let first_word_then_comma = text
            .split_whitespace()
            .next()
            .is_some_and(|w| w.ends_with(','));
        let heading = text.trim_end().ends_with(':');
        if !certain
            && (parts.words() > 6 || parts.ends_sentence() || first_word_then_comma || heading)
        {
            return self.prose(after_blank);
        }
        // Nobody logs work ahead: a future date without a duration is a plan ("30.11. Urlaub").
        // "Mi frei", "Fr krank": a day off, not hours that lack their duration (whose example
        // would log hours for it); in a mail of entries its receipt says it was not logged.
        let time_off = parts.time_off && resolved.is_ok();
        let rejection = match &resolved {
            Err(Reason::FutureDate { .. }) => None,
            Err(reason) => Some(reason.clone()),
            Ok(_) if time_off => Some(Reason::TimeOff),
            Ok(_) => Some(Reason::NoDuration),
        }
        .map(|reason| Rejected {
            line: number,
            text: text.to_string(),
            reason,
        });
        let explicit = date.certainty == Certainty::Explicit && !time_off;
        match rejection {
            rejection if parts.words() <= 6 && !parts.ends_sentence() => {
                self.open_block(resolved, parts, true, rejection.map(|r| (r, explicit)))
            }
            Some(rejected) if explicit => self.slots.push(Slot::Sure(Line::Rejected(rejected))),
            Some(rejected) if time_off => {
                self.slots.push(Slot::Weak(rejected));
                self.prose(after_blank);
            }
            _ => self.prose(after_blank),
        }
    }

    /// `loose`: see [`Block::loose`]; `rejection`: the header's own, if nothing borrows its date.
    fn open_block(
        &mut self,
        date: Result<NaiveDate, Reason>,
        parts: &Parts,
        loose: bool,
        rejection: Option<(Rejected, bool)>,
    ) {
        let id = self.borrowed.len();
        self.borrowed.push(0);
        self.block = Some(Block {
            id,
            date,
            tag: parts.tag.clone(),
            loose,
        });
        self.slots.push(Slot::Header {
            block: id,
            rejection,
        });
    }

    fn reject(&mut self, number: usize, text: &str, reason: Reason, sure: bool) {
        let rejected = Rejected {
            line: number,
            text: text.to_string(),
            reason,
        };
        self.slots.push(if sure {
            Slot::Sure(Line::Rejected(rejected))
        } else {
            Slot::Weak(rejected)
        });
    }

    /// The calendar date of a written date, or why it cannot be used.
    fn date_result(&self, date: &DatePart) -> Result<NaiveDate, Reason> {
        match date::resolve(date.spec, self.ctx.today) {
            None => Err(Reason::InvalidDate {
                text: date.text.clone(),
            }),
            Some(day) if day > self.ctx.today => Err(Reason::FutureDate { date: day }),
            Some(day) => Ok(day),
        }
    }

    /// An entry, or the first reason it cannot be one. The line's own tag wins over the
    /// block's.
    fn entry(
        &self,
        number: usize,
        text: &str,
        date: Result<NaiveDate, Reason>,
        minutes: u32,
        parts: &Parts,
        block_tag: Option<String>,
    ) -> Line {
        let negative = parts.duration.as_ref().is_some_and(|d| d.negative);
        let reason = match date {
            Err(reason) => reason,
            Ok(_) if negative => Reason::NegativeDuration,
            Ok(_) if parts.several_days => Reason::SeveralDays,
            Ok(_) if parts.more_durations => Reason::TwoDurations,
            Ok(_)
                if parts
                    .duration
                    .as_ref()
                    .is_some_and(|d| d.shape == Shape::Estimate) =>
            {
                Reason::DurationRange
            }
            Ok(_) if minutes > DAY => Reason::TooLong { minutes },
            Ok(_) if minutes == 0 => Reason::ZeroDuration,
            Ok(date) => {
                return Line::Entry(Entry {
                    line: number,
                    text: text.to_string(),
                    date,
                    minutes,
                    client: parts.tag.clone().or(block_tag),
                    other_tags: parts.other_tags.clone(),
                    description: parts.description.clone(),
                });
            }
        };
        Line::Rejected(Rejected {
            line: number,
            text: text.to_string(),
            reason,
        })
    }

    fn finish(self) -> Vec<Line> {
        let borrowed = self.borrowed;
        let lines: Vec<(Line, bool)> = self
            .slots
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Sure(line) => Some((line, true)),
                Slot::Weak(rejected) => Some((Line::Rejected(rejected), false)),
                Slot::Header { block, .. } if borrowed[block] > 0 => None,
                Slot::Header { rejection, .. } => {
                    rejection.map(|(rejected, sure)| (Line::Rejected(rejected), sure))
                }
            })
            .collect();
        let is_time_log = lines.iter().any(|(_, sure)| *sure);
        lines
            .into_iter()
            .filter(|(_, sure)| *sure || is_time_log)
            .map(|(line, _)| line)
            .collect()
    }
}

#[cfg(test)]
mod tests;
