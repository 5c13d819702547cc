//! What the schedule sends for one engagement: every planned mail with its natural key, when it
//! is due (inside the send window, in the recipient's time zone) and to whom. Pure: computed
//! from [`Facts`] the scheduler reads from the store and from the config; the scheduler and
//! `tandem schedule preview` both ask it, so the preview is what the daemon will do.
//!
//! Each mail belongs to a series (the weekly surveys, one party's agreement reminders, ...).
//! When the daemon was down, only the latest due mail of a series is sent on catch-up, never a
//! flood of stale ones ([`due_now`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Serialize;

use super::ScheduleConfig;
use super::cadence::{Cadence, SendWindow, iso_week, local_to_utc, month, to_local};
use super::holidays::Region;
use crate::domain::{
    Agreement, Engagement, EngagementStatus, Party, SurveyFact, TimeZone, TimesheetFact,
};

/// What a planned mail is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A feedback survey for a period (`2026-W49` in the trial, `2027-01` after).
    Survey { period: String, trial: bool },
    /// The one reminder of an unanswered survey.
    SurveyReminder { period: String },
    /// Asking the client whether to go on after the trial.
    TrialReview,
    /// Telling the operator the client did not answer the trial review.
    TrialSilent,
    /// Reminder `number` (1-based) of the agreements `party` still has to sign.
    AgreementReminder { party: Party, number: u32 },
    /// Telling the operator the agreements are unsigned after every reminder.
    AgreementEscalation,
    /// Reminding the assistant who has logged nothing this week.
    HoursNudge { week: String },
    /// A check-in to the assistant for a period (as a survey's).
    Checkin { period: String, trial: bool },
    /// The one reminder of an unanswered check-in.
    CheckinReminder { period: String },
    /// Proposing a feedback talk to `party` (the client's contacts, or the assistant).
    FeedbackTalk { party: Party, period: String },
    /// The monthly timesheet of `month` (`2026-11`) to the client's billing contact.
    Timesheet { month: String },
    /// The one reminder of an unanswered timesheet.
    TimesheetReminder { month: String },
}

impl Kind {
    /// The outbox `kind` of the mail.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Survey { .. } => "survey",
            Kind::SurveyReminder { .. } => "survey_reminder",
            Kind::TrialReview => "trial_review",
            Kind::TrialSilent => "trial_alert",
            Kind::AgreementReminder { .. } => "agreement_reminder",
            Kind::AgreementEscalation => "agreement_escalation",
            Kind::HoursNudge { .. } => "hours_nudge",
            Kind::Checkin { .. } => "checkin",
            Kind::CheckinReminder { .. } => "checkin_reminder",
            Kind::FeedbackTalk { .. } => "feedback_talk",
            Kind::Timesheet { .. } => "timesheet",
            Kind::TimesheetReminder { .. } => "timesheet_reminder",
        }
    }
}

/// One mail the schedule will send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// The natural key of its outbox row: a second copy cannot be queued.
    pub key: String,
    #[serde(flatten)]
    pub kind: Kind,
    pub engagement_id: i64,
    pub party: Party,
    /// When it goes out (inside the send window of the recipient).
    pub due: DateTime<Utc>,
    /// The recipient's zone, in which `due` is shown.
    #[serde(skip)]
    pub zone: TimeZone,
    /// What must still be true then for it to go ("if unanswered"), in words.
    pub condition: Option<&'static str>,
    /// Mails of one series replace each other on catch-up: only the latest due one is sent.
    #[serde(skip)]
    series: String,
    /// After this it is not worth sending any more.
    #[serde(skip)]
    stale_after: Option<DateTime<Utc>>,
    /// Depends on a mail that has not gone out yet (a reminder of a survey still to be sent):
    /// shown in the preview, but sent only once its time is reckoned from the real one.
    #[serde(skip)]
    hypothetical: bool,
    /// Whose public holidays shut the window of this mail: the client's own region for mail
    /// to its contacts (`client add --holidays`), else the agency's (`[schedule] holidays`).
    #[serde(skip)]
    pub holidays: Option<Region>,
}

impl Planned {
    /// When it actually goes out, seen at `now`: at its due time, or, when that has passed
    /// (the daemon was down, or it waited for the window), at once if the send window is open
    /// now in the recipient's zone, else at its next opening.
    pub fn goes_out(&self, window: &SendWindow, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.due > now {
            true => self.due,
            false => window
                .clone()
                .with_holidays(self.holidays)
                .next_open(now, self.zone.0),
        }
    }
}

/// What the schedule needs to know about one engagement, read from the store.
#[derive(Debug, Clone)]
pub struct Facts {
    pub engagement: Engagement,
    pub assistant_timezone: TimeZone,
    pub operator_timezone: TimeZone,
    pub agreements: Vec<Agreement>,
    /// Natural keys of the engagement's mail already queued, with when.
    pub sent: HashMap<String, DateTime<Utc>>,
    pub surveys: Vec<SurveyFact>,
    /// ISO weeks (`2026-W49`) in which hours were logged for the engagement.
    pub weeks_with_hours: HashSet<String>,
    /// The client's own region of public holidays, if it has one: the window of mail to its
    /// contacts skips these instead of the agency's.
    pub client_holidays: Option<Region>,
    /// Months (`2026-11`) in which hours were logged for the engagement.
    pub months_with_hours: HashSet<String>,
    /// The engagement's timesheets that went out (or were approved by the operator).
    pub timesheets: Vec<TimesheetFact>,
}

/// The period a survey of `cadence` on `date` is for, the last part of its natural key: the
/// ISO week of a weekly survey (`2026-W49`), the month of a monthly one (`2027-01`), else the
/// day (`2026-12-03`), so that no two surveys of a cadence share a period.
pub fn period_of(cadence: &Cadence, date: NaiveDate) -> String {
    match cadence {
        Cadence::Weekly { days, .. } if days.iter().count() == 1 => iso_week(date),
        Cadence::MonthlyWeekday { .. } | Cadence::MonthlyDay { .. } => month(date),
        Cadence::Weekly { .. } | Cadence::Every { .. } => date.format("%Y-%m-%d").to_string(),
    }
}

fn end_of_day(date: NaiveDate) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default())
}

fn start_of(date: NaiveDate) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN)
}

/// One series of questionnaires with reminders (see [`Planner::questionnaires`]).
struct Series<'c> {
    /// The `survey.kind` its questionnaires are stored as (`feedback`, `checkin`).
    stored: &'static str,
    /// The outbox kind of its mail and the first part of the keys (`survey`, `checkin`); the
    /// reminders' are the same with `_reminder`.
    name: &'static str,
    party: Party,
    /// Its cadence in the trial and after it; `None`: none then.
    trial: Option<&'c Cadence>,
    after: Option<&'c Cadence>,
    reminder_days: u32,
    ask: fn(String, bool) -> Kind,
    remind: fn(String) -> Kind,
    /// The reminder's condition, in words.
    unanswered: &'static str,
}

struct Planner<'a> {
    facts: &'a Facts,
    config: &'a ScheduleConfig,
    window: &'a SendWindow,
    /// The window of mail to the client's contacts: `window` shut on the client's own
    /// holidays where it has a region of its own.
    client_window: SendWindow,
    until: DateTime<Utc>,
    out: Vec<Planned>,
}

impl Planner<'_> {
    fn id(&self) -> i64 {
        self.facts.engagement.id
    }

    fn zone(&self, party: Party) -> TimeZone {
        match party {
            Party::Client => self.facts.engagement.client_timezone,
            Party::Assistant => self.facts.assistant_timezone,
            Party::Operator => self.facts.operator_timezone,
        }
    }

    /// The send window of mail to `party`.
    fn window(&self, party: Party) -> &SendWindow {
        match party {
            Party::Client => &self.client_window,
            Party::Assistant | Party::Operator => self.window,
        }
    }

    /// A local time of `party` as the UTC instant it goes out: moved into the send window.
    fn due(&self, party: Party, local: NaiveDateTime) -> DateTime<Utc> {
        let zone = self.zone(party).0;
        self.window(party)
            .next_open(local_to_utc(local, zone), zone)
    }

    fn until_local(&self, party: Party) -> NaiveDateTime {
        to_local(self.until, self.zone(party).0)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        key: String,
        kind: Kind,
        party: Party,
        due: DateTime<Utc>,
        series: &str,
        condition: Option<&'static str>,
        stale_after: Option<DateTime<Utc>>,
    ) {
        if due > self.until {
            return;
        }
        self.out.push(Planned {
            key,
            kind,
            engagement_id: self.id(),
            party,
            due,
            zone: self.zone(party),
            condition,
            series: series.to_string(),
            stale_after,
            hypothetical: false,
            holidays: self.window(party).holidays(),
        });
    }

    /// Occurrences of `cadence` (local to `party`) from the start of `from` to the end of `to`.
    fn occurrences(
        &self,
        cadence: &Cadence,
        party: Party,
        from: NaiveDate,
        to: Option<NaiveDate>,
    ) -> Vec<NaiveDateTime> {
        let start = start_of(from);
        let mut end = self.until_local(party);
        if let Some(to) = to {
            end = end.min(end_of_day(to));
        }
        if end < start {
            return Vec::new();
        }
        cadence.between(start, start - Duration::seconds(1), end)
    }

    fn surveys(&mut self) {
        let config = self.config;
        self.questionnaires(&Series {
            stored: "feedback",
            name: "survey",
            party: Party::Client,
            trial: Some(&config.survey_trial),
            after: Some(&config.survey_after_trial),
            reminder_days: config.survey_reminder_days,
            ask: |period, trial| Kind::Survey { period, trial },
            remind: |period| Kind::SurveyReminder { period },
            unanswered: "if the survey is unanswered",
        });
    }

    /// A series of questionnaires with one reminder each, weekly in the trial and monthly after
    /// (as configured): the client's feedback surveys, the assistant's check-ins.
    fn questionnaires(&mut self, series: &Series<'_>) {
        let facts = self.facts;
        let e = &facts.engagement;
        let (start, trial_end) = (e.start_date, e.trial_end);
        let party = series.party;
        // (period, due, answered, sent) of every questionnaire of the series, sent or planned.
        let mut surveys: Vec<(String, DateTime<Utc>, bool, bool)> = Vec::new();
        let trial = match series.trial {
            Some(c) => self.occurrences(c, party, start, Some(trial_end)),
            None => Vec::new(),
        };
        let after = match series.after {
            Some(c) => self.occurrences(c, party, trial_end + Duration::days(1), None),
            None => Vec::new(),
        };
        for (local, in_trial) in trial
            .into_iter()
            .map(|l| (l, true))
            .chain(after.into_iter().map(|l| (l, false)))
        {
            let cadence = match in_trial {
                true => series.trial,
                false => series.after,
            };
            let Some(cadence) = cadence else { continue };
            let period = period_of(cadence, local.date());
            let due = self.due(party, local);
            let key = format!("{}:{}:{period}", series.name, self.id());
            self.push(
                key,
                (series.ask)(period.clone(), in_trial),
                party,
                due,
                series.name,
                None,
                None,
            );
            surveys.push((period, due, false, false));
        }
        // Questionnaires that went out are known by when they did, and whether they were
        // answered.
        for fact in facts.surveys.iter().filter(|s| s.kind == series.stored) {
            let answered = fact.answered_at.is_some();
            let survey = (fact.period.clone(), fact.sent_at, answered, true);
            match surveys.iter_mut().find(|(p, ..)| *p == fact.period) {
                Some(s) => *s = survey,
                None => surveys.push(survey),
            }
        }
        surveys.sort_by_key(|(_, due, ..)| *due);
        let days = series.reminder_days;
        if days == 0 {
            return;
        }
        let zone = self.zone(party).0;
        let reminders = format!("{}_reminder", series.name);
        for (i, (period, sent, answered, went_out)) in surveys.iter().enumerate() {
            if *answered {
                continue;
            }
            let local = to_local(*sent, zone) + Duration::days(i64::from(days));
            let due = self.due(party, local);
            // A reminder is pointless once the next questionnaire has gone out.
            if surveys.get(i + 1).is_some_and(|(_, next, ..)| *next <= due) {
                continue;
            }
            let before = self.out.len();
            let key = format!("{reminders}:{}:{period}", self.id());
            self.push(
                key,
                (series.remind)(period.clone()),
                party,
                due,
                &reminders,
                Some(series.unanswered),
                None,
            );
            if !went_out && let Some(p) = self.out.get_mut(before) {
                p.hypothetical = true;
            }
        }
    }

    fn trial_review(&mut self) {
        let facts = self.facts;
        let e = &facts.engagement;
        if !matches!(
            e.status,
            EngagementStatus::Onboarding | EngagementStatus::Trial
        ) {
            return;
        }
        let review = facts.surveys.iter().find(|s| s.kind == "trial_review");
        if review.is_some_and(|r| r.answered_at.is_some()) {
            return;
        }
        let at = self.config.trial_review_time();
        let day = (e.trial_end - Duration::days(i64::from(self.config.trial_review_days_before)))
            .max(e.start_date);
        let trial_over = local_to_utc(
            start_of(e.trial_end + Duration::days(1)),
            e.client_timezone.0,
        );
        let due = self.due(Party::Client, day.and_time(at));
        let key = format!("trial_review:{}", self.id());
        self.push(
            key,
            Kind::TrialReview,
            Party::Client,
            due,
            "trial_review",
            None,
            Some(trial_over),
        );
        let silent = self.due(
            Party::Operator,
            (e.trial_end + Duration::days(1)).and_time(at),
        );
        let key = format!("trial_silent:{}", self.id());
        self.push(
            key,
            Kind::TrialSilent,
            Party::Operator,
            silent,
            "trial_silent",
            Some("if the client has not answered the trial review"),
            None,
        );
    }

    fn agreements(&mut self) {
        let pending = |party: Party| self.facts.agreements.iter().any(|a| a.awaits(party));
        let max = self.config.agreement_escalate_after;
        for party in [Party::Client, Party::Assistant] {
            if !pending(party) {
                continue;
            }
            let zone = self.zone(party).0;
            let anchor = to_local(self.facts.engagement.created_at, zone);
            let mut at = anchor;
            for number in 1..=max {
                at = self.config.agreement_reminders.next_after(anchor, at);
                let due = self.due(party, at);
                if due > self.until {
                    break;
                }
                let key = format!(
                    "agreement_reminder:{}:{}:{number}",
                    self.id(),
                    party.as_str()
                );
                self.push(
                    key,
                    Kind::AgreementReminder { party, number },
                    party,
                    due,
                    &format!("agreement_reminder:{}", party.as_str()),
                    Some("if still unsigned"),
                    None,
                );
            }
        }
        if pending(Party::Client) || pending(Party::Assistant) {
            let zone = self.zone(Party::Operator).0;
            let anchor = to_local(self.facts.engagement.created_at, zone);
            let mut at = anchor;
            for _ in 0..=max {
                at = self.config.agreement_reminders.next_after(anchor, at);
            }
            let due = self.due(Party::Operator, at);
            let key = format!("agreement_escalation:{}", self.id());
            self.push(
                key,
                Kind::AgreementEscalation,
                Party::Operator,
                due,
                "agreement_escalation",
                Some("if still unsigned"),
                None,
            );
        }
    }

    fn nudges(&mut self) {
        let facts = self.facts;
        let e = &facts.engagement;
        let zone = self.zone(Party::Assistant).0;
        // The start date is a day of the client's; the assistant's first day is the one
        // that contains its first hour.
        let first = to_local(
            local_to_utc(start_of(e.start_date), e.client_timezone.0),
            zone,
        );
        for local in self.occurrences(
            &self.config.hours_nudge,
            Party::Assistant,
            first.date(),
            None,
        ) {
            let week = iso_week(local.date());
            if facts.weeks_with_hours.contains(&week) {
                continue;
            }
            let due = self.due(Party::Assistant, local);
            // Once its week is over, a nudge for it is noise.
            let monday = local.date()
                - Duration::days(i64::from(
                    chrono::Datelike::weekday(&local.date()).num_days_from_monday(),
                ));
            let stale = local_to_utc(start_of(monday + Duration::days(7)), zone);
            let key = format!("hours_nudge:{}:{week}", self.id());
            self.push(
                key,
                Kind::HoursNudge { week },
                Party::Assistant,
                due,
                "hours_nudge",
                Some("if nothing is logged for the week by then"),
                Some(stale),
            );
        }
    }

    fn checkins(&mut self) {
        let config = self.config;
        self.questionnaires(&Series {
            stored: "checkin",
            name: "checkin",
            party: Party::Assistant,
            trial: config.checkin_trial.as_ref(),
            after: config.checkin_after_trial.as_ref(),
            reminder_days: config.checkin_reminder_days,
            ask: |period, trial| Kind::Checkin { period, trial },
            remind: |period| Kind::CheckinReminder { period },
            unanswered: "if the check-in is unanswered",
        });
    }

    /// A review call proposed to the client's contacts and to the assistant, each in their
    /// own zone: at the trial's end, then on the cadence.
    fn feedback_talks(&mut self) {
        let trial_end = self.facts.engagement.trial_end;
        for party in [Party::Client, Party::Assistant] {
            let until = self.until_local(party);
            let talks = &self.config.feedback_talks;
            for talk in talks.talks(trial_end, until) {
                let period = match (&talks.then, talk.trial_end) {
                    (Some(cadence), false) => period_of(cadence, talk.at.date()),
                    _ => "trial-end".to_string(),
                };
                let due = self.due(party, talk.at);
                let key = format!("feedback_talk:{}:{}:{}", self.id(), party.as_str(), period);
                self.push(
                    key,
                    Kind::FeedbackTalk { party, period },
                    party,
                    due,
                    &format!("feedback_talk:{}", party.as_str()),
                    None,
                    None,
                );
            }
        }
    }
}

impl Planner<'_> {
    /// The monthly timesheets: for each month with hours, on the configured working day of
    /// the month after (`[timesheet] working_day`, counted in days the send window opens, so
    /// after a weekend or a holiday when the 1st is one), at `[timesheet] at` in the client's
    /// zone; not worth sending once that month is over too (the operator sends it by hand).
    /// Then the one reminder of each timesheet still unanswered `reminder_days` after it went.
    fn timesheets(&mut self) {
        let config = &self.config.timesheet;
        if !config.enabled {
            return;
        }
        let facts = self.facts;
        let e = &facts.engagement;
        let zone = self.zone(Party::Client).0;
        let Some(mut first) = e.start_date.with_day(1) else {
            return;
        };
        let last = self.until_local(Party::Client).date();
        // (month, when it went or goes, whether it went)
        let mut sheets: Vec<(String, DateTime<Utc>, bool)> = Vec::new();
        while first <= last {
            let Some(next) = first.checked_add_months(chrono::Months::new(1)) else {
                break;
            };
            let month = month(first);
            let sent = facts.timesheets.iter().find(|t| t.month == month);
            if let Some(sent) = sent {
                if sent.status == "sent" {
                    sheets.push((month.clone(), sent.sent_at, true));
                }
            } else if facts.months_with_hours.contains(&month) {
                // The working day of `next`: the n-th day the send window opens on.
                let mut day = next;
                let mut n = 0;
                for _ in 0..62 {
                    if self.window.opens_on(day) {
                        n += 1;
                        if n == config.working_day {
                            break;
                        }
                    }
                    day = day.succ_opt().unwrap_or(day);
                }
                let due = self.due(Party::Client, day.and_time(config.time()));
                let stale = next
                    .checked_add_months(chrono::Months::new(1))
                    .map(|after| local_to_utc(start_of(after), zone));
                let before = self.out.len();
                self.push(
                    format!("timesheet:{}:{month}", self.id()),
                    Kind::Timesheet {
                        month: month.clone(),
                    },
                    Party::Client,
                    due,
                    &format!("timesheet:{month}"),
                    Some("if the month has hours"),
                    stale,
                );
                if self.out.len() > before {
                    sheets.push((month, due, false));
                }
            }
            first = next;
        }
        let days = config.reminder_days;
        if days == 0 {
            return;
        }
        for (month, sent, went_out) in sheets {
            let local = to_local(sent, zone) + Duration::days(i64::from(days));
            let due = self.due(Party::Client, local);
            // A month later a reminder is noise (the digest lists the month by then); this
            // also keeps a reminder setting turned on later from reminding of old months.
            let stale = local_to_utc(local + Duration::days(30), zone);
            let before = self.out.len();
            self.push(
                format!("timesheet_reminder:{}:{month}", self.id()),
                Kind::TimesheetReminder {
                    month: month.clone(),
                },
                Party::Client,
                due,
                &format!("timesheet_reminder:{month}"),
                Some("if the timesheet is unanswered"),
                Some(stale),
            );
            if !went_out && let Some(p) = self.out.get_mut(before) {
                p.hypothetical = true;
            }
        }
    }
}

/// Every mail the schedule plans for the engagement up to `until`, sent or not, in order of
/// when it is due.
pub fn plan(facts: &Facts, config: &ScheduleConfig, until: DateTime<Utc>) -> Vec<Planned> {
    if matches!(
        facts.engagement.status,
        EngagementStatus::Ended | EngagementStatus::Paused
    ) {
        return Vec::new();
    }
    let mut planner = Planner {
        facts,
        config,
        window: &config.send_window,
        client_window: match facts.client_holidays {
            Some(region) => config.send_window.clone().with_holidays(Some(region)),
            None => config.send_window.clone(),
        },
        until,
        out: Vec::new(),
    };
    planner.surveys();
    planner.trial_review();
    planner.agreements();
    planner.nudges();
    planner.checkins();
    planner.feedback_talks();
    planner.timesheets();
    let mut out = planner.out;
    out.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.key.cmp(&b.key)));
    out
}

/// What to send at `now`: of each series, the latest mail that is due, not sent yet and not
/// stale. An earlier one that was missed (the daemon was down) is left out: it is replaced.
pub fn due_now<'a>(
    planned: &'a [Planned],
    sent: &HashMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<&'a Planned> {
    let mut latest: HashMap<&str, &Planned> = HashMap::new();
    for p in planned.iter().filter(|p| p.due <= now) {
        latest.insert(p.series.as_str(), p);
    }
    let mut due: Vec<&Planned> = latest
        .into_values()
        .filter(|p| !sent.contains_key(&p.key) && !p.hypothetical)
        .filter(|p| p.stale_after.is_none_or(|s| now < s))
        .collect();
    due.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.key.cmp(&b.key)));
    due
}

/// What is still to come after `now`, and what is due now: the preview's list.
pub fn upcoming<'a>(
    planned: &'a [Planned],
    sent: &HashMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<&'a Planned> {
    let mut out = due_now(planned, sent, now);
    out.extend(
        planned
            .iter()
            .filter(|p| p.due > now && !sent.contains_key(&p.key)),
    );
    out
}

/// When the engagement next needs the scheduler.
pub fn next_due(
    planned: &[Planned],
    sent: &HashMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    planned
        .iter()
        .filter(|p| p.due > now && !sent.contains_key(&p.key))
        .map(|p| p.due)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_survey_of_a_cadence_has_a_period_of_its_own() {
        let day = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let period = |c: &str| period_of(&c.parse().unwrap(), day);
        assert_eq!(period("weekly:fri 10:00"), "2026-W53");
        assert_eq!(period("monthly:first mon 10:00"), "2027-01");
        assert_eq!(period("monthly:15 10:00"), "2027-01");
        assert_eq!(period("weekly:mon,fri 10:00"), "2027-01-01");
        assert_eq!(period("every 3d"), "2027-01-01");
    }
}
