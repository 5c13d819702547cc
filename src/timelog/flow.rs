//! The time-log flow: from an assistant's message to stored entries and a receipt.
//!
//! [`plan`] reads (the assistant's engagements, locked months, the day's totals) and decides
//! every line; it writes nothing, so `tandem parse` shows exactly what the daemon would do.
//! [`apply`] stores the plan and queues the receipt in the caller's transaction. What `plan`
//! reads is kept in [`Lookups`] for the rest of that transaction.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::grammar::{self, Context, Line};
use crate::compose::{AgencyView, Composer, MailError};
use crate::domain::Locale;
use crate::format::{format_date, format_day, format_day_month, format_duration, hours_minutes};
use crate::inbound::message::{Incoming, Received};
use crate::outbound;
use crate::recipients::Recipient;
use crate::store::engagements::Engagement;
use crate::store::people::Assistant;
use crate::store::{self, Conn, StoreError};

/// An entry that will be stored.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub line: usize,
    #[serde(skip)]
    pub text: String,
    pub date: NaiveDate,
    pub minutes: u32,
    /// The client's tag.
    pub client: String,
    pub description: String,
    #[serde(skip)]
    pub engagement_id: i64,
    #[serde(skip)]
    pub client_name: String,
}

/// Why a line was not logged: the grammar's reasons and the flow's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Grammar(grammar::Reason),
    /// The tag names no client of this assistant.
    UnknownTag {
        tag: String,
        known: Vec<String>,
    },
    /// Several engagements and no tag on the line or in the subject.
    MissingTag {
        known: Vec<String>,
    },
    /// The line names two or more of the assistant's clients: whose hours they are is not
    /// for tandem to guess.
    TwoClients {
        tags: Vec<String>,
    },
    /// A line without a tag, under a subject that names two or more of the clients.
    SubjectTwoClients {
        tags: Vec<String>,
    },
    /// The message's text ends at `[limits] text_bytes`: what came after was not read.
    TextCut,
    /// The month is locked (billed).
    Locked {
        month: String,
    },
    /// Dated before the engagement started: not work for that client (yet).
    BeforeStart {
        start: NaiveDate,
        client_name: String,
    },
    /// With this line the day would have more than 24 hours.
    DayOver24h {
        date: NaiveDate,
        minutes: i64,
    },
    /// The client approved the engagement's timesheet of the month (`YYYY-MM`) on `on`.
    Approved {
        month: String,
        client_name: String,
        on: NaiveDate,
    },
}

impl Reason {
    pub fn describe(&self, locale: Locale) -> String {
        // Months are kept as `YYYY-MM` (several joined by ", "), told by name.
        let month_names = |months: &str| {
            months
                .split(", ")
                .map(|m| crate::timesheet::month_label(m, locale))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let tags = |known: &[String]| {
            known
                .iter()
                .map(|t| format!("#{t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (self, locale) {
            (Reason::Grammar(reason), _) => reason.describe(locale),
            (Reason::UnknownTag { tag, known }, Locale::En) => {
                format!("#{tag} is not one of your clients ({}).", tags(known))
            }
            (Reason::UnknownTag { tag, known }, Locale::De) => {
                format!("#{tag} ist keiner Ihrer Kunden ({}).", tags(known))
            }
            (Reason::MissingTag { known }, Locale::En) => format!(
                "You work for several clients: add the client's tag ({}) to the line or the subject.",
                tags(known)
            ),
            (Reason::MissingTag { known }, Locale::De) => format!(
                "Sie arbeiten für mehrere Kunden: Bitte das Kürzel des Kunden ({}) in die Zeile oder den Betreff schreiben.",
                tags(known)
            ),
            (Reason::TwoClients { tags: named }, Locale::En) => format!(
                "This line names several of your clients ({}): hours go to one client a line.",
                tags(named)
            ),
            (Reason::TwoClients { tags: named }, Locale::De) => format!(
                "Diese Zeile nennt mehrere Ihrer Kunden ({}): Stunden gehören je Zeile zu einem Kunden.",
                tags(named)
            ),
            (Reason::SubjectTwoClients { tags: named }, Locale::En) => format!(
                "The subject names several of your clients ({}): add the client's tag to the line.",
                tags(named)
            ),
            (Reason::SubjectTwoClients { tags: named }, Locale::De) => format!(
                "Der Betreff nennt mehrere Ihrer Kunden ({}): Bitte das Kürzel des Kunden in die Zeile schreiben.",
                tags(named)
            ),
            (Reason::TextCut, Locale::En) => "The message is longer than tandem reads: \
                 nothing after this point was read. Send those lines again in a new message."
                .to_string(),
            (Reason::TextCut, Locale::De) => "Die Nachricht ist länger, als tandem liest: \
                 Alles nach dieser Stelle wurde nicht gelesen. Bitte senden Sie diese Zeilen in \
                 einer neuen Nachricht."
                .to_string(),
            (Reason::Locked { month }, Locale::En) => format!(
                "{} has been billed and is closed; ask the agency to correct it.",
                month_names(month)
            ),
            (Reason::Locked { month }, Locale::De) => format!(
                "{} ist bereits abgerechnet und geschlossen; bitte wenden Sie sich an die Agentur.",
                month_names(month)
            ),
            (Reason::BeforeStart { start, client_name }, Locale::En) => format!(
                "The work for {client_name} starts on {}: this line is dated before that.",
                format_date(*start, locale)
            ),
            (Reason::BeforeStart { start, client_name }, Locale::De) => format!(
                "Die Zusammenarbeit mit {client_name} beginnt am {}: Diese Zeile liegt davor.",
                format_date(*start, locale)
            ),
            (Reason::DayOver24h { date, minutes }, Locale::En) => format!(
                "With this line, {} would have {} logged: more than 24 hours.",
                format_date(*date, locale),
                format_duration(*minutes)
            ),
            (Reason::DayOver24h { date, minutes }, Locale::De) => format!(
                "Mit dieser Zeile hätte der {} {} erfasst, mehr als 24 Stunden.",
                format_date(*date, locale),
                format_duration(*minutes)
            ),
            (
                Reason::Approved {
                    month,
                    client_name,
                    on,
                },
                Locale::En,
            ) => format!(
                "{client_name} approved the timesheet of {} on {}, so it is closed; \
                 ask the agency to correct it.",
                month_names(month),
                format_date(*on, locale)
            ),
            (
                Reason::Approved {
                    month,
                    client_name,
                    on,
                },
                Locale::De,
            ) => format!(
                "{client_name} hat den Stundennachweis für {} am {} freigegeben, er ist \
                 damit geschlossen; bitte wenden Sie sich an die Agentur.",
                month_names(month),
                format_date(*on, locale)
            ),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Reason::Grammar(reason) => reason.code(),
            Reason::UnknownTag { .. } => "unknown_tag",
            Reason::MissingTag { .. } => "missing_tag",
            Reason::TwoClients { .. } => "two_clients",
            Reason::SubjectTwoClients { .. } => "subject_two_clients",
            Reason::TextCut => "text_cut",
            Reason::Locked { .. } => "locked",
            Reason::BeforeStart { .. } => "before_start",
            Reason::DayOver24h { .. } => "day_over_24h",
            Reason::Approved { .. } => "approved",
        }
    }
}

/// A line that was not logged, with why and how to write it.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub line: usize,
    pub text: String,
    /// A stable code (`no_date`, `unknown_tag`, ...).
    pub reason: String,
    /// The reason in the assistant's language.
    pub message: String,
    /// The line as it would be accepted.
    pub example: String,
    #[serde(skip)]
    pub detail: Reason,
}

/// What tandem will do with an assistant's message.
#[derive(Debug, Clone)]
pub struct Plan {
    pub assistant: Assistant,
    pub context: Context,
    pub engagements: Vec<Engagement>,
    pub accepted: Vec<Accepted>,
    pub rejected: Vec<Rejection>,
    /// The lines that are no time log and ask something of a person
    /// ([`grammar::asks_a_person`]): a question, a request for time off.
    pub for_a_person: Vec<String>,
}

impl Plan {
    /// Whether the message holds any time-log line (accepted or not): then it is `hours`.
    pub fn is_time_log(&self) -> bool {
        !self.accepted.is_empty() || !self.rejected.is_empty()
    }

    /// Tells, after the lines of `text`, that the message went on past what was read
    /// (`Incoming::text_cut`): a time log cut there may have had more lines.
    pub fn note_text_cut(&mut self, text: &str) {
        let detail = Reason::TextCut;
        self.rejected.push(Rejection {
            line: text.lines().count() + 1,
            text: "…".into(),
            reason: detail.code().to_string(),
            message: detail.describe(self.assistant.locale),
            example: String::new(),
            detail,
        });
    }
}

/// The day the message was sent, in the assistant's zone; a message dated in the future (a
/// wrong clock) counts as sent now.
pub fn message_day(
    sent: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    assistant: &Assistant,
) -> NaiveDate {
    let sent = sent.map_or(now, |s| s.min(now));
    sent.with_timezone(&assistant.timezone.0).date_naive()
}

/// `text` without the words that are one of `tags` (`#Acme,` for `acme`).
fn without_tags(text: &str, tags: &[&String]) -> String {
    text.split_whitespace()
        .filter(|word| !word_tag(word).is_some_and(|t| tags.contains(&&t)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `description` with its word that is the tag `client` (the first) in place of the tag
/// `other`, spelt as in `text`, the line (`#Urgent`).
fn swap_tag(description: &str, client: &str, other: &str, text: &str) -> String {
    let spelt = text
        .split_whitespace()
        .find(|word| word_tag(word).as_deref() == Some(other))
        .map_or_else(|| format!("#{other}"), str::to_string);
    let mut swapped = false;
    description
        .split_whitespace()
        .map(|word| {
            if !swapped && word_tag(word).as_deref() == Some(client) {
                swapped = true;
                spelt.as_str()
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tag a whitespace-separated word is (`#Acme,` is `acme`), lower-case; `None` for a word
/// that is none.
fn word_tag(word: &str) -> Option<String> {
    let tag = word
        .strip_prefix('#')?
        .trim_start_matches('#')
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    (!tag.is_empty()).then_some(tag)
}

/// `#tag` words in a subject, lower-case (reply tokens in `[#...]` are not tags).
pub fn subject_tags(subject: &str) -> Vec<String> {
    subject.split_whitespace().filter_map(word_tag).collect()
}

/// What [`plan`] read from the database, kept for the messages after it in one transaction of
/// the reader (which holds the write lock, so only its own messages change these meanwhile):
/// an assistant's engagements, whether a month is locked or an engagement's month approved, the
/// minutes stored for an assistant's day; and what [`apply`] read: the minutes of an
/// engagement's week, for the receipt's totals. Whoever holds one keeps it true:
/// [`Lookups::logged`] after the entries of a plan are stored (`apply` does), and a fresh one
/// after anything else changed hours, engagements or locks (a voided submission, a trial
/// decided, a timesheet answered, a savepoint undone).
#[derive(Debug, Default)]
pub struct Lookups {
    engagements: std::collections::HashMap<i64, Vec<Engagement>>,
    locked: std::collections::HashMap<(i32, u32), bool>,
    /// Minutes stored (not void) per assistant and day.
    stored: std::collections::HashMap<(i64, NaiveDate), i64>,
    /// Minutes stored (not void) per engagement and week (its Monday). Read once, not at
    /// every receipt: an assistant who logs a month in many mails would otherwise have every
    /// entry of the month summed again for each.
    weeks: std::collections::HashMap<(i64, NaiveDate), i64>,
    /// The day the client approved an engagement's month (`2026-11`), if it did.
    approvals: std::collections::HashMap<(i64, String), Option<NaiveDate>>,
}

impl Lookups {
    async fn engagements(
        &mut self,
        conn: &mut Conn,
        assistant_id: i64,
    ) -> Result<Vec<Engagement>, StoreError> {
        if let Some(found) = self.engagements.get(&assistant_id) {
            return Ok(found.clone());
        }
        let found = store::engagements::open_for_assistant(conn, assistant_id).await?;
        self.engagements.insert(assistant_id, found.clone());
        Ok(found)
    }

    async fn is_locked(&mut self, conn: &mut Conn, day: NaiveDate) -> Result<bool, StoreError> {
        let month = (day.year(), day.month());
        if let Some(locked) = self.locked.get(&month) {
            return Ok(*locked);
        }
        let locked = store::timelog::is_locked(conn, day).await?;
        self.locked.insert(month, locked);
        Ok(locked)
    }

    async fn approved(
        &mut self,
        conn: &mut Conn,
        engagement_id: i64,
        month: &str,
    ) -> Result<Option<NaiveDate>, StoreError> {
        let key = (engagement_id, month.to_string());
        if let Some(approved) = self.approvals.get(&key) {
            return Ok(*approved);
        }
        let approved = store::timesheets::approved(conn, engagement_id, month)
            .await?
            .map(|(at, _)| at.date_naive());
        self.approvals.insert(key, approved);
        Ok(approved)
    }

    /// The minutes an assistant has stored on `day`. At the first day of a month asked for,
    /// every day of that month is read, in one statement: a month logged in many mails asks
    /// for many of its days.
    async fn stored_minutes(
        &mut self,
        conn: &mut Conn,
        assistant_id: i64,
        day: NaiveDate,
    ) -> Result<i64, StoreError> {
        if let Some(minutes) = self.stored.get(&(assistant_id, day)) {
            return Ok(*minutes);
        }
        let first = day.with_day(1).unwrap_or(day);
        let last = first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|next| next.pred_opt())
            .unwrap_or(day);
        let days =
            store::timelog::minutes_of_assistant_per_day(conn, assistant_id, first, last).await?;
        for date in first.iter_days().take_while(|date| *date <= last) {
            self.stored.insert((assistant_id, date), 0);
        }
        for (date, minutes) in days {
            self.stored.insert((assistant_id, date), minutes);
        }
        Ok(self.stored.get(&(assistant_id, day)).copied().unwrap_or(0))
    }

    /// Reads the minutes stored in each of `weeks` (Mondays) for each of `engagements`, those
    /// not kept yet, in one query; [`Lookups::week`] then tells them.
    async fn read_weeks(
        &mut self,
        conn: &mut Conn,
        engagements: &[i64],
        weeks: &[NaiveDate],
    ) -> Result<(), StoreError> {
        let missing: Vec<i64> = engagements
            .iter()
            .copied()
            .filter(|id| weeks.iter().any(|m| !self.weeks.contains_key(&(*id, *m))))
            .collect();
        if let (false, Some(first), Some(last)) =
            (missing.is_empty(), weeks.iter().min(), weeks.iter().max())
        {
            let days =
                store::timelog::minutes_per_day(conn, &missing, *first, *last + Duration::days(6))
                    .await?;
            for id in &missing {
                for monday in weeks {
                    let minutes = days
                        .iter()
                        .filter(|(e, day, _)| e == id && monday_of(*day) == *monday)
                        .map(|(_, _, minutes)| minutes)
                        .sum();
                    self.weeks.insert((*id, *monday), minutes);
                }
            }
        }
        Ok(())
    }

    /// The minutes stored in the week of `monday` for `engagement`, as read by
    /// [`Lookups::read_weeks`] and grown by [`Lookups::logged`].
    fn week(&self, engagement: i64, monday: NaiveDate) -> i64 {
        self.weeks.get(&(engagement, monday)).copied().unwrap_or(0)
    }

    /// The entries `plan` accepted are stored now: the days and weeks it counted grow by them.
    pub fn logged(&mut self, plan: &Plan) {
        for entry in &plan.accepted {
            let minutes = i64::from(entry.minutes);
            if let Some(day) = self.stored.get_mut(&(plan.assistant.id, entry.date)) {
                *day += minutes;
            }
            let week = (entry.engagement_id, monday_of(entry.date));
            if let Some(week) = self.weeks.get_mut(&week) {
                *week += minutes;
            }
        }
    }
}

/// Decides every line of `text` (the new text of the message). Reads, never writes; what it
/// reads comes from `lookups` where they hold it.
pub async fn plan(
    conn: &mut Conn,
    lookups: &mut Lookups,
    assistant: Assistant,
    text: &str,
    subject: Option<&str>,
    sent: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Plan, StoreError> {
    let context = Context {
        today: message_day(sent, now, &assistant),
        locale: assistant.locale,
        day_first: true,
    };
    let engagements = lookups.engagements(conn, assistant.id).await?;
    let known: Vec<String> = engagements.iter().map(|e| e.client_tag.clone()).collect();
    // The clients the subject names; one is the tag of the lines without their own.
    let mut subject_named: Vec<String> = Vec::new();
    for tag in subject.map(subject_tags).unwrap_or_default() {
        if known.contains(&tag) && !subject_named.contains(&tag) {
            subject_named.push(tag);
        }
    }
    let subject_tag = match subject_named.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };

    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    // Minutes per day: what is stored plus what this message adds.
    let mut day_totals: std::collections::HashMap<NaiveDate, i64> = Default::default();
    let reject = |line: usize, text: String, detail: Reason, example: String| Rejection {
        line,
        message: detail.describe(assistant.locale),
        reason: detail.code().to_string(),
        text,
        example,
        detail,
    };
    for parsed in grammar::parse(text, &context) {
        let entry = match parsed {
            Line::Entry(entry) => entry,
            Line::Rejected(r) => {
                let example = r.corrected_example(&context);
                rejected.push(reject(
                    r.line,
                    r.text.clone(),
                    Reason::Grammar(r.reason.clone()),
                    example,
                ));
                continue;
            }
        };
        // A tag that names no client stays in the description wherever it stands: where it
        // is the line's first and a later one names a client, that one is the line's client.
        let mut entry = entry;
        if let Some(first) = entry.client.as_ref().filter(|t| !known.contains(t))
            && let [client] = entry
                .other_tags
                .iter()
                .filter(|t| known.contains(t))
                .collect::<Vec<_>>()[..]
        {
            entry.description = swap_tag(&entry.description, client, first, &entry.text);
            let client = client.clone();
            let first = entry.client.replace(client.clone());
            entry.other_tags.retain(|t| *t != client);
            entry.other_tags.extend(first);
        }
        let example_with_tag = |tag: &str| format!("{} #{tag}", entry.text);
        let named: Vec<&String> = entry
            .client
            .iter()
            .chain(&entry.other_tags)
            .filter(|t| known.contains(t))
            .collect();
        if named.len() > 1 {
            let example = without_tags(&entry.text, &named[1..]);
            let reason = Reason::TwoClients {
                tags: named.into_iter().cloned().collect(),
            };
            rejected.push(reject(entry.line, entry.text.clone(), reason, example));
            continue;
        }
        let engagement = match (&entry.client, &subject_tag) {
            (Some(tag), _) => match engagements.iter().find(|e| &e.client_tag == tag) {
                Some(e) => e,
                None => {
                    let example = known
                        .first()
                        .map(|t| entry.text.replace(&format!("#{tag}"), &format!("#{t}")))
                        .unwrap_or_else(|| entry.text.clone());
                    let reason = Reason::UnknownTag {
                        tag: tag.clone(),
                        known: known.clone(),
                    };
                    rejected.push(reject(entry.line, entry.text.clone(), reason, example));
                    continue;
                }
            },
            (None, Some(tag)) => engagements
                .iter()
                .find(|e| &e.client_tag == tag)
                .expect("subject tag is known"),
            (None, None) if engagements.len() == 1 => &engagements[0],
            (None, None) if subject_named.len() > 1 => {
                let example = example_with_tag(&subject_named[0]);
                let reason = Reason::SubjectTwoClients {
                    tags: subject_named.clone(),
                };
                rejected.push(reject(entry.line, entry.text.clone(), reason, example));
                continue;
            }
            (None, None) => {
                let example = known
                    .first()
                    .map(|t| example_with_tag(t))
                    .unwrap_or_else(|| entry.text.clone());
                let reason = Reason::MissingTag {
                    known: known.clone(),
                };
                rejected.push(reject(entry.line, entry.text.clone(), reason, example));
                continue;
            }
        };
        // Like a date in the future, a date before the engagement began is no day of its work.
        if entry.date < engagement.start_date {
            let reason = Reason::BeforeStart {
                start: engagement.start_date,
                client_name: engagement.client_name.clone(),
            };
            let example = entry.text.clone();
            rejected.push(reject(entry.line, entry.text.clone(), reason, example));
            continue;
        }
        if lookups.is_locked(conn, entry.date).await? {
            let month = entry.date.format("%Y-%m").to_string();
            let example = entry.text.clone();
            rejected.push(reject(
                entry.line,
                entry.text.clone(),
                Reason::Locked { month },
                example,
            ));
            continue;
        }
        // A month the client approved is closed for the engagement, like a locked month.
        let month = crate::schedule::cadence::month(entry.date);
        if let Some(on) = lookups.approved(conn, engagement.id, &month).await? {
            let example = entry.text.clone();
            let reason = Reason::Approved {
                month,
                client_name: engagement.client_name.clone(),
                on,
            };
            rejected.push(reject(entry.line, entry.text.clone(), reason, example));
            continue;
        }
        let total = match day_totals.get(&entry.date) {
            Some(total) => *total,
            None => {
                lookups
                    .stored_minutes(conn, assistant.id, entry.date)
                    .await?
            }
        };
        let with_this = total + i64::from(entry.minutes);
        if with_this > 24 * 60 {
            let example = entry.text.clone();
            let reason = Reason::DayOver24h {
                date: entry.date,
                minutes: with_this,
            };
            rejected.push(reject(entry.line, entry.text.clone(), reason, example));
            day_totals.insert(entry.date, total);
            continue;
        }
        day_totals.insert(entry.date, with_this);
        accepted.push(Accepted {
            line: entry.line,
            text: entry.text,
            date: entry.date,
            minutes: entry.minutes,
            client: engagement.client_tag.clone(),
            description: entry.description,
            engagement_id: engagement.id,
            client_name: engagement.client_name.clone(),
        });
    }
    // The lines read as entries or rejected; of the others, those that ask a person. A line
    // rejected as time off may be a request too.
    let time_off = |r: &&Rejection| r.detail == Reason::Grammar(grammar::Reason::TimeOff);
    let read: std::collections::HashSet<usize> = accepted
        .iter()
        .map(|a| a.line)
        .chain(rejected.iter().map(|r| r.line))
        .collect();
    let asked: std::collections::HashSet<usize> =
        rejected.iter().filter(time_off).map(|r| r.line).collect();
    // The closing greeting and the signature under it ("Viele Grüße\nLena\nFragen? Rufen Sie
    // an: ..."), which every mail of an assistant repeats, say nothing to a person; a
    // postscript after them, and what follows it, does.
    let lines: Vec<&str> = text.lines().collect();
    let postscript = lines
        .iter()
        .position(|line| is_postscript(line))
        .unwrap_or(lines.len());
    let signed_off =
        crate::survey::answers::sign_off_at(&lines[..postscript]).unwrap_or(postscript);
    let for_a_person = lines
        .iter()
        .enumerate()
        .filter(|(index, _)| *index < signed_off || *index >= postscript)
        .filter(|(index, line)| {
            asked.contains(&(index + 1))
                || (!read.contains(&(index + 1)) && grammar::asks_a_person(line))
        })
        .map(|(_, line)| line.trim().to_string())
        .collect();
    Ok(Plan {
        assistant,
        context,
        engagements,
        accepted,
        rejected,
        for_a_person,
    })
}

/// Whether a line is a postscript ("PS: ...", "P.S. ...", "PPS ..."), which a writer adds
/// after the closing greeting to say something more.
fn is_postscript(line: &str) -> bool {
    let start = line.trim_start();
    ["ps:", "ps.", "ps ", "p.s.", "p. s.", "pps"]
        .iter()
        .any(|form| crate::reply::starts_with_ci(start, form))
}

#[derive(Debug, Serialize)]
struct EntryView {
    day: String,
    duration: String,
    client: String,
    client_name: String,
    description: String,
}

#[derive(Debug, Serialize)]
struct TotalView {
    week: String,
    client: String,
    client_name: String,
    duration: String,
}

#[derive(Debug, Serialize)]
struct RejectedView {
    line: String,
    reason: String,
    example: String,
}

#[derive(Debug, Serialize)]
struct ReceiptContext {
    agency: AgencyView,
    assistant_name: String,
    original_subject: String,
    /// The first [`RECEIPT_LINES`] entries logged, and how many more there are.
    accepted: Vec<EntryView>,
    accepted_more: usize,
    totals: Vec<TotalView>,
    /// The first [`RECEIPT_LINES`] lines rejected, and how many more there are.
    rejected: Vec<RejectedView>,
    rejected_more: usize,
    show_help: bool,
    help_examples: Vec<String>,
    several_clients: bool,
    tags: Vec<String>,
    /// The message also asked something of a person (a question, time off): it went to one.
    passed_on: bool,
}

/// The most entries, and the most rejected lines, a receipt lists one by one; the rest it
/// counts. A rejected line takes some 850 bytes of a receipt: a 2 MB time log of them was
/// answered with 50 MB.
const RECEIPT_LINES: usize = 200;

#[derive(Debug, Serialize)]
struct CancelledContext {
    agency: AgencyView,
    assistant_name: String,
    original_subject: String,
    voided: Vec<EntryView>,
    already_void: bool,
    /// Why nothing was cancelled (a locked month), or empty.
    refused: String,
    /// The reply carried corrected hours: logged with a receipt of their own, or, where the
    /// cancel is refused, not logged either.
    corrected: bool,
    /// The reply also asked something of a person, and went to one.
    passed_on: bool,
}

pub(crate) fn week_label(monday: NaiveDate, locale: Locale) -> String {
    let sunday = monday + Duration::days(6);
    let week = monday.iso_week().week();
    let span = |d: NaiveDate| match locale {
        Locale::De => format!("{}.{}.", d.day(), d.month()),
        Locale::En => format_day_month(d, Locale::En),
    };
    match locale {
        Locale::De => format!("KW {week}, {}–{}", span(monday), span(sunday)),
        Locale::En => format!("week {week}, {}–{}", span(monday), span(sunday)),
    }
}

fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

fn help_examples(today: NaiveDate, locale: Locale, tag: Option<&str>) -> Vec<String> {
    let tag = tag.map(|t| format!(" #{t}")).unwrap_or_default();
    match locale {
        Locale::De => vec![
            format!("{today} 2,5h{tag} Posteingang und Kalender"),
            format!("gestern 1:30{tag} Recherche Reiseangebote"),
            format!("Mo 45min{tag} Telefonate"),
        ],
        Locale::En => vec![
            format!("{today} 2.5h{tag} inbox and calendar"),
            format!("yesterday 1:30{tag} travel research"),
            format!("Mon 45min{tag} calls"),
        ],
    }
}

/// The assistant, answered at the address the mail came from when it is one of theirs.
fn assistant_answered(assistant: &Assistant, incoming: &Incoming) -> Result<Recipient, StoreError> {
    let to = Recipient::assistant(assistant)?;
    Ok(match &incoming.from {
        Some(from) if assistant.emails.iter().any(|e| e == from.as_str()) => to.answering(incoming),
        _ => to,
    })
}

/// Stores the plan's entries and queues the receipt, in the caller's transaction.
pub async fn apply(
    tx: &mut Conn,
    compose: &Composer,
    lookups: &mut Lookups,
    plan: &Plan,
    budget_alert_client: bool,
    received: Received<'_>,
) -> Result<(), MailError> {
    let Received {
        id: inbound_id,
        incoming,
        now,
    } = received;
    let locale = plan.assistant.locale;
    let several = plan.engagements.len() > 1;
    // By date, then in the order of the lines: a receipt reads as a week, however the
    // assistant wrote it.
    let entry_views = |entries: &[Accepted]| -> Vec<EntryView> {
        let mut entries: Vec<&Accepted> = entries.iter().collect();
        entries.sort_by_key(|a| (a.date, a.line));
        entries
            .into_iter()
            .map(|a| EntryView {
                day: format_day(a.date, locale),
                duration: format_duration(i64::from(a.minutes)),
                client: a.client.clone(),
                client_name: a.client_name.clone(),
                description: a.description.clone(),
            })
            .collect()
    };
    // The weeks the accepted entries fall in, or this week.
    let mut weeks: Vec<NaiveDate> = plan.accepted.iter().map(|a| monday_of(a.date)).collect();
    if weeks.is_empty() {
        weeks.push(monday_of(plan.context.today));
    }
    weeks.sort();
    weeks.dedup();

    let to = assistant_answered(&plan.assistant, incoming)?;
    let subject = incoming.subject.clone().unwrap_or_default();
    let original_subject = strip_reply_prefixes(&subject);
    // Entries are stored before the totals are read, so the totals include them.
    let entries: Vec<store::timelog::NewEntry<'_>> = plan
        .accepted
        .iter()
        .map(|a| store::timelog::NewEntry {
            engagement_id: a.engagement_id,
            work_date: a.date,
            minutes: a.minutes,
            description: &a.description,
            line_no: a.line,
            line_text: &a.text,
        })
        .collect();
    let mut totals = Vec::new();
    // The weeks' totals as stored before this plan's entries: read before they are written, so
    // that the read need not write first the rows the transaction keeps to write later.
    let ids: Vec<i64> = plan.engagements.iter().map(|e| e.id).collect();
    lookups.read_weeks(tx, &ids, &weeks).await?;
    // The receipt's Message-ID, which a `cancel` reply names, goes with the submission's row.
    let token = outbound::message::new_token();
    let receipt_id = outbound::message::token_message_id(&compose.agency().from.email, &token);
    let submission = if entries.is_empty() {
        None
    } else {
        Some(
            store::timelog::insert_submission(
                tx,
                inbound_id,
                plan.assistant.id,
                &entries,
                Some(&receipt_id),
                now,
            )
            .await?,
        )
    };
    // The weeks' totals grow by the entries just stored.
    lookups.logged(plan);
    for monday in &weeks {
        for engagement in &plan.engagements {
            let minutes = lookups.week(engagement.id, *monday);
            if minutes > 0 || (plan.engagements.len() == 1) {
                totals.push(TotalView {
                    week: week_label(*monday, locale),
                    client: engagement.client_tag.clone(),
                    client_name: engagement.client_name.clone(),
                    duration: format_duration(minutes),
                });
            }
        }
    }
    let context = ReceiptContext {
        agency: compose.agency_view(),
        assistant_name: plan.assistant.name.clone(),
        original_subject,
        accepted: entry_views(&plan.accepted[..plan.accepted.len().min(RECEIPT_LINES)]),
        accepted_more: plan.accepted.len().saturating_sub(RECEIPT_LINES),
        totals,
        rejected_more: plan.rejected.len().saturating_sub(RECEIPT_LINES),
        rejected: plan
            .rejected
            .iter()
            .take(RECEIPT_LINES)
            .map(|r| RejectedView {
                line: r.text.clone(),
                reason: r.message.clone(),
                example: r.example.clone(),
            })
            .collect(),
        show_help: plan.accepted.is_empty(),
        help_examples: help_examples(
            plan.context.today,
            locale,
            several.then(|| plan.engagements[0].client_tag.as_str()),
        ),
        several_clients: several,
        tags: plan
            .engagements
            .iter()
            .map(|e| e.client_tag.clone())
            .collect(),
        passed_on: !plan.for_a_person.is_empty(),
    };
    // A draft: its text and HTML are rendered when it is sent, not in the reader's transaction.
    let (mail, context) = compose.answer_draft(&to, "hours_receipt", &context, incoming)?;
    let mail = mail.expecting_reply_with(token);
    debug_assert!(submission.is_none() || mail.message_id == receipt_id);
    let draft = outbound::draft::Draft::of(&mail, "hours_receipt", context, now)
        .expect("a receipt has no images or attachments");
    // Keyed by the message it answers, recorded in this transaction: a new key.
    outbound::enqueue_draft(
        tx,
        &format!("receipt:{inbound_id}"),
        "receipt",
        &mail,
        &draft,
    )
    .await?;
    budget_alerts(tx, compose, plan, budget_alert_client, now).await
}

/// The shares of an engagement's monthly budget, in percent, whose reaching is told once per
/// engagement and month each.
pub const BUDGET_THRESHOLDS: [i64; 2] = [80, 100];

#[derive(Debug, Serialize)]
struct BudgetContext {
    agency: AgencyView,
    recipient_name: String,
    engagement_id: i64,
    assistant_name: String,
    client_name: String,
    client_tag: String,
    month: String,
    percent: i64,
    budget: String,
    logged: String,
    /// What is left of the budget, or nothing once it is used up.
    left: Option<String>,
    over: bool,
}

/// Tells the operator (and, with `client`, the client's contact) when the entries just stored
/// brought an engagement's hours in a month to a share of its budget
/// ([`BUDGET_THRESHOLDS`]): once per engagement, month and threshold, by the outbox's natural
/// key; a threshold passed after a higher one was told is not told.
async fn budget_alerts(
    tx: &mut Conn,
    compose: &Composer,
    plan: &Plan,
    client: bool,
    now: DateTime<Utc>,
) -> Result<(), MailError> {
    let mut months: Vec<(i64, NaiveDate)> = plan
        .accepted
        .iter()
        .filter_map(|a| Some((a.engagement_id, a.date.with_day(1)?)))
        .collect();
    months.sort();
    months.dedup();
    for (engagement_id, first) in months {
        let Some(engagement) = plan.engagements.iter().find(|e| e.id == engagement_id) else {
            continue;
        };
        let Some(budget) = engagement.budget_minutes.filter(|b| *b > 0) else {
            continue;
        };
        let last = first
            .checked_add_months(chrono::Months::new(1))
            .map_or(first, |next| next - Duration::days(1));
        let minutes: i64 = store::timelog::minutes_per_day(tx, &[engagement_id], first, last)
            .await?
            .iter()
            .map(|(_, _, m)| m)
            .sum();
        let Some(&percent) = BUDGET_THRESHOLDS
            .iter()
            .rev()
            .find(|p| minutes * 100 >= *p * budget)
        else {
            continue;
        };
        let month = first.format("%Y-%m").to_string();
        let key = |who: &str, p: i64| format!("{who}:{engagement_id}:{month}:{p}");
        let mut told = false;
        for p in BUDGET_THRESHOLDS.iter().filter(|p| **p >= percent) {
            told |= store::outbox::is_queued(tx, &key("budget_alert", *p)).await?;
        }
        if told {
            continue;
        }
        let mut recipients = vec![("budget_alert", compose.operator())];
        if client {
            let people = crate::recipients::People::load(tx, engagement_id).await?;
            recipients.push(("budget_alert_client", people.client_contact()?));
        }
        for (kind, to) in recipients {
            let context = BudgetContext {
                agency: compose.agency_view(),
                recipient_name: to.name.clone(),
                engagement_id,
                assistant_name: engagement.assistant_name.clone(),
                client_name: engagement.client_name.clone(),
                client_tag: engagement.client_tag.clone(),
                month: crate::format::format_month(first.year(), first.month(), to.locale),
                percent,
                // `h:mm`: the templates say "hours" / "Stunden" themselves.
                budget: hours_minutes(budget),
                logged: hours_minutes(minutes),
                left: (minutes < budget).then(|| hours_minutes(budget - minutes)),
                over: minutes > budget,
            };
            let mail = compose.mail(&to, kind, &context, outbound::AutoSubmitted::Generated)?;
            if outbound::enqueue(
                tx,
                &key(kind, percent),
                kind,
                Some(engagement_id),
                &mail,
                now,
            )
            .await?
            {
                tracing::info!(
                    engagement = engagement_id,
                    month,
                    percent,
                    to = kind,
                    "budget threshold reached"
                );
            }
        }
    }
    Ok(())
}

/// `Re: AW: Fwd: Hours` -> `Hours`; a reply token (`[#0123456789abcdefghij]`, lower- or
/// upper-case) an earlier receipt added is dropped as well. Linear in the length of `subject`:
/// each prefix is compared on the few bytes it takes, and the tokens go in one pass.
pub fn strip_reply_prefixes(subject: &str) -> String {
    const PREFIXES: [&str; 6] = ["re:", "aw:", "wg:", "fw:", "fwd:", "antw:"];
    let mut s = subject.trim();
    while let Some(prefix) = PREFIXES.iter().find(|p| crate::reply::starts_with_ci(s, p)) {
        // The prefix matched ASCII bytes, so its length is a char boundary.
        s = s[prefix.len()..].trim_start();
    }
    // Drop a reply token the subject carries from an earlier receipt: `[#` + 20 letters or
    // digits, all lower-case or all upper-case, + `]`.
    let is_token = |t: &[u8]| {
        t.len() == 20
            && (t
                .iter()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
                || t.iter()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
    };
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("[#") {
        let after = &rest.as_bytes()[at + 2..];
        if after.get(20) == Some(&b']') && is_token(&after[..20]) {
            out.push_str(&rest[..at]);
            rest = &rest[at + 23..];
        } else {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// Whether the new text of a reply asks to cancel: `cancel`, `storno`, `stornieren` alone or
/// in a short line at the top ("Storno bitte", "please cancel this"), possibly followed by
/// an explanation or corrected lines.
pub fn is_cancel(text: &str) -> bool {
    let words = |line: &str| -> Vec<String> {
        line.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let asks = |words: &[String]| {
        words.iter().any(|w| {
            [
                "cancel",
                "storno",
                "stornieren",
                "stornierung",
                "annullieren",
            ]
            .contains(&w.as_str())
        })
    };
    let all = words(text);
    if !all.is_empty() && all.len() <= 8 && asks(&all) {
        return true;
    }
    // The first line with words: short, and asking.
    text.lines()
        .map(words)
        .find(|w| !w.is_empty())
        .is_some_and(|first| first.len() <= 4 && asks(&first))
}

/// The months (`YYYY-MM`) of `days` that are locked, each once, in order.
async fn locked_months(
    conn: &mut Conn,
    days: impl IntoIterator<Item = NaiveDate>,
) -> Result<Vec<String>, StoreError> {
    let mut months: Vec<String> = days
        .into_iter()
        .map(|d| d.format("%Y-%m").to_string())
        .collect();
    months.sort();
    months.dedup();
    let mut locked = Vec::new();
    for month in months {
        if store::timelog::is_month_locked(conn, &month).await? {
            locked.push(month);
        }
    }
    Ok(locked)
}

/// The entries of a submission that count (`logged`), and the locked (billed) months among
/// their days, which refuse a `cancel` of it.
async fn logged_and_locked(
    conn: &mut Conn,
    submission_id: i64,
) -> Result<(Vec<store::timelog::EntryRow>, Vec<String>), StoreError> {
    let entries: Vec<_> = store::timelog::entries_of_submission(conn, submission_id)
        .await?
        .into_iter()
        .filter(|e| e.status == "logged")
        .collect();
    let locked = locked_months(conn, entries.iter().map(|e| e.work_date)).await?;
    Ok((entries, locked))
}

/// The locked (billed) months (`YYYY-MM`) that refuse a `cancel` of submission
/// `submission_id` (see [`cancel`]); empty: it may be cancelled.
pub async fn cancel_refused_by(
    conn: &mut Conn,
    submission_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(logged_and_locked(conn, submission_id).await?.1)
}

/// What a `cancel` reply asks, as its route found it.
#[derive(Debug, Clone, Copy)]
pub struct Cancelled {
    /// The submission it names.
    pub submission_id: i64,
    /// The reply carries corrected hours (logged by the caller as a submission of their own,
    /// with its receipt, unless the cancel is refused), which the answer names instead of
    /// asking for them.
    pub corrected: bool,
    /// The reply also asks something of a person (a question, time off), and went to one.
    pub passed_on: bool,
}

/// Voids the submission a `cancel` reply names and queues the confirmation. A submission with
/// hours in a locked (billed) month is not voided: the answer says why and who can correct it,
/// as a receipt does for a line in such a month. Returns how many entries were voided.
pub async fn cancel(
    tx: &mut Conn,
    compose: &Composer,
    assistant: &Assistant,
    cancelled: Cancelled,
    received: Received<'_>,
) -> Result<u64, MailError> {
    let Cancelled {
        submission_id,
        corrected,
        passed_on,
    } = cancelled;
    let Received { incoming, now, .. } = received;
    let locale = assistant.locale;
    let (entries, locked) = logged_and_locked(tx, submission_id).await?;
    let refused = if locked.is_empty() {
        String::new()
    } else {
        Reason::Locked {
            month: locked.join(", "),
        }
        .describe(locale)
    };
    let voided = if refused.is_empty() {
        store::timelog::void_submission(tx, submission_id, now).await?
    } else {
        0
    };
    let context = CancelledContext {
        agency: compose.agency_view(),
        assistant_name: assistant.name.clone(),
        original_subject: strip_reply_prefixes(incoming.subject.as_deref().unwrap_or_default()),
        voided: entries
            .iter()
            .filter(|_| refused.is_empty())
            .map(|e| EntryView {
                day: format_day(e.work_date, locale),
                duration: format_duration(e.minutes),
                client: e.client.clone(),
                client_name: e.client_name.clone(),
                description: e.description.clone(),
            })
            .collect(),
        already_void: refused.is_empty() && voided == 0,
        refused,
        corrected,
        passed_on,
    };
    let to = assistant_answered(assistant, incoming)?;
    let mail = compose.answer(&to, "hours_cancelled", &context, incoming)?;
    let key = format!("cancelled:{}", incoming.dedupe_key);
    outbound::enqueue(tx, &key, "cancelled", None, &mail, now).await?;
    Ok(voided)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postscript_is_told_by_its_first_letters() {
        for line in [
            "PS: Kommt ihr?",
            "P.S. one more thing",
            "  ps noch was",
            "PPS: und",
            "P. S. x",
        ] {
            assert!(is_postscript(line), "{line}");
        }
        for line in ["Psst", "Post folgt", "Projektstand?", "", "Mit PS: nein"] {
            assert!(!is_postscript(line), "{line}");
        }
    }

    #[test]
    fn cancel_words() {
        for yes in [
            "cancel",
            "Cancel!",
            "Storno bitte",
            "please cancel this submission",
            "STORNIEREN",
        ] {
            assert!(is_cancel(yes), "{yes}");
        }
        assert!(is_cancel(
            "Storno\n\nDa habe ich mich beim Kunden vertan, schicke es gleich neu.\n\nViele Grüße\nLena"
        ));
        assert!(is_cancel(
            "storno bitte\n25.11. 1h #acme Präsentation überarbeitet"
        ));
        for no in [
            "",
            "2026-11-23 2h cancel subscription research for client",
            "Thanks!",
            "I will not cancel the meeting on Monday because the client asked me to keep it",
            "Hi,\nI had to cancel the call with Ben today, so only 1h inbox.",
        ] {
            assert!(!is_cancel(no), "{no}");
        }
    }

    #[test]
    fn subjects() {
        assert_eq!(
            strip_reply_prefixes("Re: AW: Hours [#0123456789abcdefghij]"),
            "Hours"
        );
        assert_eq!(
            subject_tags("Stunden #Globex KW 48, #acme."),
            ["globex", "acme"]
        );
        assert!(subject_tags("Re: Hours [#0123456789abcdefghij]").is_empty());
    }

    #[test]
    fn reply_prefixes_and_tokens_in_any_number() {
        let token = "0123456789abcdefghij";
        let upper = token.to_uppercase();
        assert_eq!(
            strip_reply_prefixes(&format!(
                " RE: aW:FWD: antw: Wg: fw:  Hours [#{upper}] KW 48 [#{token}]"
            )),
            "Hours  KW 48"
        );
        // Only whole tokens in one case go; a padded one stays, like any other text.
        let kept = format!("[#0123456789ABCDEFghij] [# {token}] [#{token}x] Ré: x");
        assert_eq!(strip_reply_prefixes(&kept), kept);
        assert_eq!(strip_reply_prefixes("re:re:"), "");
        // Prefixes by the hundred thousand, tokens by the ten thousand, 1 MB of markers. As this
        // once was (lower-casing the rest of the subject for each prefix, searching the rest for
        // each marker, replacing through all of it for each token found), these take from
        // seconds to many minutes here.
        let many = format!("{}Hours", "re: ".repeat(100_000));
        assert_eq!(strip_reply_prefixes(&many), "Hours");
        let many = format!("{}Hours", "Re:".repeat(350_000));
        assert_eq!(strip_reply_prefixes(&many), "Hours");
        let tokens = format!("Hours {}", format!("[#{token}]").repeat(50_000));
        assert_eq!(strip_reply_prefixes(&tokens), "Hours");
        let padded = format!("Hours {}", format!("[# {token}]").repeat(50_000));
        assert_eq!(strip_reply_prefixes(&padded), padded);
        for marker in ["+", "[#", "[# "] {
            let text = marker.repeat((1 << 20) / marker.len());
            assert_eq!(strip_reply_prefixes(&text), text.trim(), "{marker}");
        }
    }

    #[test]
    fn before_the_start_in_both_languages() {
        let reason = Reason::BeforeStart {
            start: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            client_name: "Acme GmbH".into(),
        };
        assert_eq!(reason.code(), "before_start");
        assert_eq!(
            reason.describe(Locale::En),
            "The work for Acme GmbH starts on 23 November 2026: this line is dated before that."
        );
        assert_eq!(
            reason.describe(Locale::De),
            "Die Zusammenarbeit mit Acme GmbH beginnt am 23. November 2026: Diese Zeile liegt davor."
        );
    }

    #[test]
    fn week_labels() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(week_label(monday, Locale::De), "KW 48, 23.11.–29.11.");
        assert_eq!(week_label(monday, Locale::En), "week 48, 23 Nov–29 Nov");
        assert_eq!(
            monday_of(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()),
            monday
        );
    }
}
