//! The digest's figures for one ISO week, read from the store in a fixed number of grouped
//! queries (not one per engagement): per engagement, what needs a person, and the daemon's
//! health. Numbers stay numbers (minutes, counts) here; `digest::render` writes them out.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::Serialize;

use crate::config::Config;
use crate::domain::{EngagementStatus, QuestionKind};
use crate::schedule::cadence::local_to_utc;
use crate::store::{self, Conn, StoreError, engagements::Engagement};
use crate::survey::answers::Value;
use crate::survey::flow::value_from_json;

/// How many weeks the chart shows.
pub const CHART_WEEKS: usize = 8;
/// A trial ending within this many days is "ending soon".
pub const TRIAL_SOON_DAYS: i64 = 14;
/// More than this share of an assistant's hours over 12 months with one client is a risk of
/// false self-employment.
pub const DEPENDENCE: (i64, i64) = (5, 6);

/// An ISO week, the period of one digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Week {
    pub year: i32,
    pub number: u32,
    pub monday: NaiveDate,
}

impl Week {
    pub fn of(day: NaiveDate) -> Self {
        let iso = day.iso_week();
        Self {
            year: iso.year(),
            number: iso.week(),
            monday: day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        }
    }

    /// `2026-W49`.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, week) = text.trim().split_once("-W")?;
        let monday =
            NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, Weekday::Mon)?;
        Some(Self::of(monday))
    }

    pub fn sunday(&self) -> NaiveDate {
        self.monday + Duration::days(6)
    }

    pub fn key(&self) -> String {
        format!("{}-W{:02}", self.year, self.number)
    }

    pub fn previous(&self) -> Self {
        Self::of(self.monday - Duration::days(7))
    }
}

/// A survey score and how it moved since the survey before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    pub key: String,
    pub value: i64,
    pub previous: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EngagementFigures {
    pub engagement: Engagement,
    pub this_week: i64,
    pub last_week: i64,
    pub month_to_date: i64,
    /// Minutes per week of the chart, oldest first.
    pub weekly: Vec<i64>,
    pub scores: Vec<Score>,
    /// The period of the survey the scores come from.
    pub scores_period: Option<String>,
    /// Kinds still waiting for a signature (pending) and not yet overdue.
    pub pending_agreements: Vec<String>,
    /// Kinds still waiting for a signature when the first reminder was due (`[schedule]
    /// agreement_reminders` from the engagement's creation): late, not just new.
    pub overdue_agreements: Vec<String>,
    /// Kinds sent back (a reply that says signed, or a PDF) and waiting for the operator to
    /// confirm them (`tandem agreement sign`): the signers did their part, so they are
    /// neither pending nor overdue.
    pub received_agreements: Vec<String>,
    pub unanswered_surveys: i64,
    /// The trial's last day, when it is within [`TRIAL_SOON_DAYS`] and the trial still runs.
    pub trial_ends: Option<NaiveDate>,
    /// The assistant's latest answered check-in: its period and what it says.
    pub checkin: Option<(String, crate::checkin::Reading)>,
}

/// A check-in's id, period and answers (key, value).
type LatestCheckin = (i64, String, Vec<(String, Value)>);

#[derive(Debug, Clone, Serialize)]
pub struct LowScore {
    pub engagement_id: i64,
    pub key: String,
    pub value: i64,
    pub answered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependence {
    pub assistant_id: i64,
    pub assistant_name: String,
    pub client_name: String,
    /// Per mille of the assistant's hours over the trailing 12 months.
    pub share_per_mille: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthFigures {
    pub component: String,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub errors_since_last_digest: i64,
    pub last_error: Option<String>,
}

/// Everything the digest of one week says.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub week: Week,
    /// The Mondays of the chart's weeks, oldest first.
    pub chart_weeks: Vec<NaiveDate>,
    pub engagements: Vec<EngagementFigures>,
    pub low_scores: Vec<LowScore>,
    pub quarantined: Vec<store::digest::FiledRow>,
    pub unparseable: Vec<store::digest::FiledRow>,
    pub for_a_person: Vec<store::digest::FiledRow>,
    /// Hours and answers handled although their sender was not authenticated.
    pub unauthenticated: Vec<store::digest::FiledRow>,
    pub failed_sends: Vec<(i64, String, String, Option<String>)>,
    /// Engagements with hours this week while their data-processing agreement is unsigned.
    pub hours_without_dpa: Vec<(i64, i64)>,
    pub dependence: Vec<Dependence>,
    /// Engagements in their trial or active with nothing logged this week.
    pub no_hours: Vec<i64>,
    pub health: Vec<HealthFigures>,
    /// Monthly timesheets disputed, or unanswered past their reminder.
    pub timesheets: Vec<store::timesheets::Timesheet>,
}

impl Figures {
    pub fn engagement(&self, id: i64) -> Option<&EngagementFigures> {
        self.engagements.iter().find(|e| e.engagement.id == id)
    }

    pub fn needs_attention(&self) -> bool {
        !(self.low_scores.is_empty()
            && self.quarantined.is_empty()
            && self.unparseable.is_empty()
            && self.for_a_person.is_empty()
            && self.unauthenticated.is_empty()
            && self.failed_sends.is_empty()
            && self.hours_without_dpa.is_empty()
            && self.dependence.is_empty()
            && self.no_hours.is_empty()
            && self.timesheets.is_empty())
    }
}

/// A survey's place among the engagement's: newest first.
type SurveyOrder = (i64, std::cmp::Reverse<DateTime<Utc>>, i64);
/// A survey's period and its scale answers.
type SurveyScores = (String, Vec<(String, i64)>);

/// Reasons `classify` gives mail it could not read at all.
fn unreadable(reason: &str) -> bool {
    reason.starts_with("unreadable")
        || reason.contains("has no sender")
        || reason.contains("not a valid address")
}

/// Reads the figures of `week` as of `now`.
pub async fn read(
    conn: &mut Conn,
    config: &Config,
    week: Week,
    now: DateTime<Utc>,
) -> Result<Figures, StoreError> {
    let zone = config.agency.timezone.0;
    let start = local_to_utc(week.monday.and_time(chrono::NaiveTime::MIN), zone);
    let end = local_to_utc(
        (week.monday + Duration::days(7)).and_time(chrono::NaiveTime::MIN),
        zone,
    );
    let chart_weeks: Vec<NaiveDate> = (0..CHART_WEEKS as i64)
        .rev()
        .map(|i| week.monday - Duration::weeks(i))
        .collect();
    let month_start = week.sunday().with_day(1).unwrap_or(week.monday);
    let first_day = chart_weeks[0].min(month_start);

    let engagements: Vec<Engagement> = store::engagements::list(conn)
        .await?
        .into_iter()
        .filter(|e| e.status != EngagementStatus::Ended || e.ended_at.is_some_and(|at| at >= start))
        .collect();

    // Minutes per engagement and day over the chart's weeks and the month.
    let mut days: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
    for (engagement, day, minutes) in
        store::digest::minutes_by_day(conn, first_day, week.sunday()).await?
    {
        days.entry(engagement).or_default().push((day, minutes));
    }
    let sum = |id: i64, from: NaiveDate, to: NaiveDate| -> i64 {
        days.get(&id).map_or(0, |d| {
            d.iter()
                .filter(|(day, _)| *day >= from && *day <= to)
                .map(|(_, m)| m)
                .sum()
        })
    };

    let mut agreements: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (engagement, kind, status) in store::digest::open_agreements(conn).await? {
        agreements
            .entry(engagement)
            .or_default()
            .push((kind, status));
    }

    // The newest two answered feedback surveys per engagement, for scores and their trend.
    let answers = store::digest::feedback_answers(conn, start - Duration::days(180)).await?;
    let scale_keys: Vec<&str> = config
        .surveys
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Scale)
        .map(|q| q.key.as_str())
        .collect();
    let mut by_survey: BTreeMap<SurveyOrder, SurveyScores> = BTreeMap::new();
    let mut low_scores = Vec::new();
    let threshold = config.surveys.alert_threshold;
    for a in answers.iter().filter(|a| a.answered_at < end) {
        let Ok(value) = a.value.parse::<i64>() else {
            continue;
        };
        if !scale_keys.contains(&a.key.as_str()) {
            continue;
        }
        by_survey
            .entry((a.engagement_id, std::cmp::Reverse(a.sent_at), a.survey_id))
            .or_insert_with(|| (a.period.clone(), Vec::new()))
            .1
            .push((a.key.clone(), value));
        if value <= threshold && a.answered_at >= start {
            low_scores.push(LowScore {
                engagement_id: a.engagement_id,
                key: a.key.clone(),
                value,
                answered_at: a.answered_at,
            });
        }
    }
    low_scores.sort_by_key(|l| (l.answered_at, l.engagement_id));
    let mut surveys_of: HashMap<i64, Vec<&SurveyScores>> = HashMap::new();
    for ((engagement, ..), survey) in &by_survey {
        surveys_of.entry(*engagement).or_default().push(survey);
    }

    // The assistant's latest answered check-in per engagement (newest first in the rows).
    let mut checkins: HashMap<i64, LatestCheckin> = HashMap::new();
    for a in store::surveys::checkin_answers(conn, start - Duration::days(180)).await? {
        let latest = checkins
            .entry(a.engagement_id)
            .or_insert_with(|| (a.survey_id, a.period.clone(), Vec::new()));
        if latest.0 == a.survey_id {
            latest.2.push((a.key, value_from_json(&a.value)));
        }
    }

    let unanswered: HashMap<i64, i64> =
        store::digest::unanswered_surveys(conn, start - Duration::days(60), end.min(now))
            .await?
            .into_iter()
            .collect();

    let today = now.with_timezone(&zone).date_naive().min(week.sunday());
    let mut figures = Vec::new();
    let mut hours_without_dpa = Vec::new();
    let mut no_hours = Vec::new();
    for e in engagements {
        let id = e.id;
        let this_week = sum(id, week.monday, week.sunday());
        let mine = agreements.get(&id).cloned().unwrap_or_default();
        let with_status = |wanted: &str| -> Vec<String> {
            mine.iter()
                .filter(|(_, status)| status == wanted)
                .map(|(kind, _)| kind.clone())
                .collect()
        };
        let (unsigned, received) = (with_status("pending"), with_status("received"));
        // Overdue: still unsigned when the first reminder was due (the reminders' cadence
        // from the engagement's creation, as the scheduler plans them); before that an
        // agreement is pending, however early the engagement started.
        let anchor = e.created_at.with_timezone(&zone).naive_local();
        let first_reminder = config
            .schedule
            .agreement_reminders
            .next_after(anchor, anchor);
        let overdue = now.with_timezone(&zone).naive_local() >= first_reminder;
        // A DPA received but not confirmed is not signed yet either.
        if this_week > 0 && unsigned.iter().chain(&received).any(|k| k == "dpa") {
            hours_without_dpa.push((id, this_week));
        }
        let (overdue_agreements, pending_agreements) = match overdue {
            true => (unsigned, Vec::new()),
            false => (Vec::new(), unsigned),
        };
        let working = matches!(e.status, EngagementStatus::Trial | EngagementStatus::Active);
        if this_week == 0 && working && e.start_date <= week.sunday() {
            no_hours.push(id);
        }
        let (scores, scores_period) = match surveys_of.get(&id).map(Vec::as_slice) {
            Some([latest, rest @ ..]) => {
                let previous = rest.first();
                let scores = latest
                    .1
                    .iter()
                    .map(|(key, value)| Score {
                        key: key.clone(),
                        value: *value,
                        previous: previous
                            .and_then(|p| p.1.iter().find(|(k, _)| k == key).map(|(_, v)| *v)),
                    })
                    .collect();
                (scores, Some(latest.0.clone()))
            }
            _ => (Vec::new(), None),
        };
        let in_trial = matches!(
            e.status,
            EngagementStatus::Onboarding | EngagementStatus::Trial
        );
        let trial_ends = (in_trial
            && e.trial_end >= today
            && (e.trial_end - today).num_days() <= TRIAL_SOON_DAYS)
            .then_some(e.trial_end);
        figures.push(EngagementFigures {
            this_week,
            last_week: sum(
                id,
                week.monday - Duration::days(7),
                week.monday - Duration::days(1),
            ),
            month_to_date: sum(id, month_start, week.sunday()),
            weekly: chart_weeks
                .iter()
                .map(|m| sum(id, *m, *m + Duration::days(6)))
                .collect(),
            scores,
            scores_period,
            overdue_agreements,
            pending_agreements,
            received_agreements: received,
            unanswered_surveys: unanswered.get(&id).copied().unwrap_or(0),
            trial_ends,
            checkin: checkins.get(&id).map(|(_, period, answers)| {
                let reading =
                    crate::checkin::Reading::of(answers.iter().map(|(k, v)| (k.as_str(), v)));
                (period.clone(), reading)
            }),
            engagement: e,
        });
    }

    // Dependence on one client over the trailing 12 months.
    let year_ago = week.sunday() - Duration::days(365);
    let mut per_assistant: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for (assistant, client, minutes) in
        store::digest::minutes_by_assistant_and_client(conn, year_ago, week.sunday()).await?
    {
        per_assistant
            .entry(assistant)
            .or_default()
            .push((client, minutes));
    }
    let mut dependence = Vec::new();
    for (assistant, clients) in &per_assistant {
        let total: i64 = clients.iter().map(|(_, m)| m).sum();
        for (client, minutes) in clients {
            if total > 0 && minutes * DEPENDENCE.1 > total * DEPENDENCE.0 {
                let name = |id: i64| {
                    figures
                        .iter()
                        .find(|f| {
                            f.engagement.assistant_id == *assistant && f.engagement.client_id == id
                        })
                        .map(|f| {
                            (
                                f.engagement.assistant_name.clone(),
                                f.engagement.client_name.clone(),
                            )
                        })
                };
                let (assistant_name, client_name) = match name(*client) {
                    Some(names) => names,
                    None => {
                        let a = store::people::assistant(conn, *assistant).await?;
                        let c = store::people::client(conn, *client).await?;
                        (a.name, c.name)
                    }
                };
                dependence.push(Dependence {
                    assistant_id: *assistant,
                    assistant_name,
                    client_name,
                    share_per_mille: minutes * 1000 / total,
                });
            }
        }
    }
    dependence.sort_by(|a, b| a.assistant_name.cmp(&b.assistant_name));

    let mut quarantined = Vec::new();
    let mut unparseable = Vec::new();
    let mut for_a_person = Vec::new();
    let mut unauthenticated = Vec::new();
    for row in store::digest::filed_for_a_person(conn, start, end).await? {
        match (row.disposition.as_str(), unreadable(&row.reason)) {
            ("quarantine", true) => unparseable.push(row),
            ("quarantine", false) => quarantined.push(row),
            ("processed", _) => unauthenticated.push(row),
            _ => for_a_person.push(row),
        }
    }

    let since = store::digest::last_digest(conn, now)
        .await?
        .unwrap_or(start);
    let errors: HashMap<String, i64> = store::health::errors_since(conn, since)
        .await?
        .into_iter()
        .collect();
    let recorded = store::health::all(conn).await?;
    let health = ["inbound", "outbound", "scheduler"]
        .into_iter()
        .map(|component| {
            let row = recorded.iter().find(|h| h.component == component);
            HealthFigures {
                component: component.to_string(),
                last_ok_at: row.and_then(|h| h.last_ok_at),
                errors_since_last_digest: errors.get(component).copied().unwrap_or(0),
                last_error: row
                    .filter(|h| h.last_error_at.is_some_and(|at| at > since))
                    .and_then(|h| h.last_error.clone()),
            }
        })
        .collect();

    Ok(Figures {
        week,
        chart_weeks,
        engagements: figures,
        low_scores,
        quarantined,
        unparseable,
        for_a_person,
        unauthenticated,
        failed_sends: store::digest::failed_sends(conn).await?,
        hours_without_dpa,
        dependence,
        no_hours,
        health,
        timesheets: store::timesheets::open(
            conn,
            now - Duration::days(i64::from(config.timesheet.reminder_days.max(1))),
        )
        .await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks() {
        let w = Week::parse("2026-W53").unwrap();
        assert_eq!(w.monday, NaiveDate::from_ymd_opt(2026, 12, 28).unwrap());
        assert_eq!(w.sunday(), NaiveDate::from_ymd_opt(2027, 1, 3).unwrap());
        assert_eq!(w.key(), "2026-W53");
        assert_eq!(Week::of(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()), w);
        assert_eq!(w.previous().key(), "2026-W52");
        assert!(Week::parse("2026-W54").is_none());
    }
}
