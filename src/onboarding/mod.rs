//! Starting an engagement: the engagement, its required agreements and the welcome mails to
//! every client contact and to the assistant, all in one transaction. `lifecycle.rs`: what
//! the operator changes after (terms, pause, resume, activate) and its end, with a closing
//! mail.

pub mod lifecycle;

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::Serialize;

use crate::compose::{AgencyView, Composer};
use crate::domain::{ClientTag, EmailAddress, EngagementStatus, Locale};
use crate::format::{format_date, format_hours, format_money};
use crate::outbound::{self, AutoSubmitted, OutboundError};
use crate::recipients::Recipient;
use crate::store::engagements::NewEngagement;
use crate::store::people::{Assistant, Client};
use crate::store::{self, Conn, StoreError};
use crate::templates::TemplateError;

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Outbound(#[from] OutboundError),
}

/// When the trial ends: on a date, after some weeks, or after the configured default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialEnd {
    On(NaiveDate),
    AfterWeeks(u32),
    Default,
}

#[derive(Debug, Clone)]
pub struct EngagementRequest {
    pub assistant: EmailAddress,
    pub client: ClientTag,
    pub start: NaiveDate,
    pub trial: TrialEnd,
    pub hourly_rate_cents: Option<i64>,
    pub budget_minutes: Option<i64>,
    /// The engagement has been running since `start` and is entered late (an agency moving to
    /// tandem): it is entered as active, without a trial and without welcome mails, and its
    /// start may lie further back than [`START_WITHIN`].
    pub running: bool,
}

/// The last day of a trial of `weeks` weeks that begins on `start` (a trial from a Tuesday
/// ends on a Monday).
fn last_day_after(start: NaiveDate, weeks: u32) -> NaiveDate {
    start + Duration::weeks(weeks.into()) - Duration::days(1)
}

/// How far ahead an engagement may start: further is most likely a typing error (`2062`), and
/// would plan mail for years ahead.
pub const START_AHEAD: Months = Months::new(12);

/// How far back an engagement may start: further is most likely a typing error (`1999`).
pub const START_BACK: Months = Months::new(120);

/// An engagement that began further back than this has been running: a trial and a welcome
/// announcing it are long over, so it is entered as with `--running`.
pub const RUNNING_AFTER: Months = Months::new(12);

/// Whether the engagement is entered as running: asked for, or begun before
/// [`RUNNING_AFTER`].
fn is_running(request: &EngagementRequest, today: NaiveDate) -> bool {
    request.running
        || today
            .checked_sub_months(RUNNING_AFTER)
            .is_some_and(|since| request.start < since)
}

/// Refuses a start further back than [`START_BACK`], or further ahead than [`START_AHEAD`]
/// (after today for a running engagement).
fn check_start(start: NaiveDate, today: NaiveDate, running: bool) -> Result<(), OnboardingError> {
    let earliest = today
        .checked_sub_months(START_BACK)
        .unwrap_or(NaiveDate::MIN);
    if start < earliest {
        return Err(OnboardingError::Invalid(format!(
            "the start {start} is more than ten years ago (today is {today}; the earliest start \
             is {earliest}): check the date"
        )));
    }
    if running && start > today {
        return Err(OnboardingError::Invalid(format!(
            "an engagement running since {start} cannot start after today ({today}); for an \
             engagement yet to begin, leave out --running"
        )));
    }
    let latest = today
        .checked_add_months(START_AHEAD)
        .unwrap_or(NaiveDate::MAX);
    if start > latest {
        return Err(OnboardingError::Invalid(format!(
            "the start {start} is more than a year ahead (today is {today}; the latest start is \
             {latest}): check the date"
        )));
    }
    Ok(())
}

/// The most hours a monthly budget can hold: a month of 31 days, around the clock.
pub const BUDGET_MAX_MINUTES: i64 = 31 * 24 * 60;

/// Refuses a negative rate, and a monthly budget of no hours or of more than a month has.
pub fn check_terms(
    rate_cents: Option<i64>,
    budget_minutes: Option<i64>,
) -> Result<(), OnboardingError> {
    if rate_cents.is_some_and(|r| r < 0) {
        return Err(OnboardingError::Invalid(
            "the hourly rate cannot be negative".into(),
        ));
    }
    if budget_minutes.is_some_and(|b| b <= 0) {
        return Err(OnboardingError::Invalid(
            "the monthly budget must be more than zero hours".into(),
        ));
    }
    if let Some(b) = budget_minutes.filter(|b| *b > BUDGET_MAX_MINUTES) {
        return Err(OnboardingError::Invalid(format!(
            "a monthly budget of {} hours is more than a month has ({} hours): check the number",
            b / 60,
            BUDGET_MAX_MINUTES / 60
        )));
    }
    Ok(())
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Started {
    pub engagement_id: i64,
    pub agreements: usize,
    /// Welcome mails queued (one per client contact, one to the assistant).
    pub welcome_mails: usize,
    /// Entered as running: active, with no trial and no welcome mails.
    pub running: bool,
}

/// Creates the engagement with its agreements and queues the welcome mails, in the caller's
/// transaction. `default_trial_weeks` is `[engagements] default_trial_weeks`.
pub async fn start(
    tx: &mut Conn,
    compose: &Composer,
    default_trial_weeks: u32,
    request: &EngagementRequest,
    now: DateTime<Utc>,
) -> Result<Started, OnboardingError> {
    let running = is_running(request, now.date_naive());
    let trial_end = match request.trial {
        TrialEnd::On(date) => date,
        TrialEnd::AfterWeeks(0) => {
            return Err(OnboardingError::Invalid(
                "the trial must last at least one week".into(),
            ));
        }
        TrialEnd::AfterWeeks(weeks) => last_day_after(request.start, weeks),
        TrialEnd::Default => last_day_after(request.start, default_trial_weeks),
    };
    if trial_end < request.start {
        return Err(OnboardingError::Invalid(format!(
            "the trial end {trial_end} is before the start {}",
            request.start
        )));
    }
    // As `--trial-weeks 0` is refused, so is a trial of less than a week given by its end.
    let shortest = last_day_after(request.start, 1);
    if !running && trial_end < shortest {
        return Err(OnboardingError::Invalid(format!(
            "the trial must last at least one week: from {} it ends on {shortest} at the \
             earliest, not {trial_end}",
            request.start
        )));
    }
    // No trial for a running engagement: the stored trial ends on its first day.
    let trial_end = if running { request.start } else { trial_end };
    check_terms(request.hourly_rate_cents, request.budget_minutes)?;

    let assistant = store::people::assistant_by_email(tx, &request.assistant).await?;
    let client = store::people::client_by_tag(tx, &request.client).await?;
    let open = store::engagements::open_for_assistant(tx, assistant.id).await?;
    if let Some(existing) = open.iter().find(|e| e.client_id == client.id) {
        return Err(OnboardingError::Invalid(format!(
            "{} already works for '{}' in engagement {} ({}); end it first",
            assistant.name, client.tag, existing.id, existing.status
        )));
    }
    // Last, so that every other mistake is named as itself whatever the day.
    check_start(request.start, now.date_naive(), running)?;
    let agreements: Vec<_> = compose
        .agreements()
        .iter()
        .map(|a| (a.kind.clone(), a.signers))
        .collect();
    let new = NewEngagement {
        assistant_id: assistant.id,
        client_id: client.id,
        start_date: request.start,
        trial_end,
        hourly_rate_cents: request.hourly_rate_cents,
        budget_minutes: request.budget_minutes,
    };
    let id = store::engagements::insert(tx, &new, &agreements, now).await?;
    let engagement = store::engagements::get(tx, id).await?;
    debug_assert_eq!(engagement.status, EngagementStatus::Onboarding);
    if running {
        store::engagements::transition(
            tx,
            id,
            EngagementStatus::Onboarding,
            EngagementStatus::Active,
        )
        .await?;
        tracing::info!(
            engagement = id,
            assistant = assistant.name,
            client = client.tag,
            since = %request.start,
            "running engagement entered"
        );
        return Ok(Started {
            engagement_id: id,
            agreements: agreements.len(),
            welcome_mails: 0,
            running,
        });
    }

    let several_clients = !open.is_empty();
    let mut recipients = Vec::new();
    for contact in &client.contacts {
        recipients.push((Recipient::contact(&client, contact)?, "welcome_client"));
    }
    recipients.push((Recipient::assistant(&assistant)?, "welcome_assistant"));

    let mut welcome_mails = 0;
    for (to, template) in recipients {
        let context = WelcomeContext::new(
            compose,
            &assistant,
            &client,
            &engagement,
            &to,
            several_clients,
        );
        let key = format!("welcome:{id}:{}", to.mailbox.email);
        let mail = compose.mail(&to, template, &context, AutoSubmitted::Generated)?;
        if outbound::enqueue(tx, &key, "welcome", Some(id), &mail, now).await? {
            welcome_mails += 1;
        }
    }
    tracing::info!(
        engagement = id,
        assistant = assistant.name,
        client = client.tag,
        welcome_mails,
        "engagement started"
    );
    Ok(Started {
        engagement_id: id,
        agreements: agreements.len(),
        welcome_mails,
        running,
    })
}

/// The variables of the welcome templates. Dates and amounts are formatted for the reader.
#[derive(Debug, Clone, Serialize)]
pub struct WelcomeContext {
    agency: AgencyView,
    recipient_name: String,
    assistant: AssistantView,
    client: ClientView,
    contacts: Vec<ContactView>,
    engagement: EngagementView,
    agreements: Vec<AgreementView>,
    hours_address: String,
    hours_example: Vec<String>,
    several_clients: bool,
}

#[derive(Debug, Clone, Serialize)]
struct AssistantView {
    name: String,
    email: String,
    timezone: String,
}

#[derive(Debug, Clone, Serialize)]
struct ClientView {
    name: String,
    tag: String,
}

#[derive(Debug, Clone, Serialize)]
struct ContactView {
    name: String,
    email: String,
    role: Option<String>,
    reachability: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct EngagementView {
    id: i64,
    start_date: String,
    trial_end: String,
    trial_weeks: i64,
    hourly_rate: Option<String>,
    budget_hours: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct AgreementView {
    name: String,
    client_signs: bool,
    assistant_signs: bool,
}

impl WelcomeContext {
    fn new(
        compose: &Composer,
        assistant: &Assistant,
        client: &Client,
        engagement: &store::engagements::Engagement,
        to: &Recipient,
        several_clients: bool,
    ) -> Self {
        let locale = to.locale;
        let tag = if several_clients {
            format!(" #{}", client.tag)
        } else {
            String::new()
        };
        let hours_example = match locale {
            Locale::De => vec![
                format!(
                    "{} 2,5h{tag} Posteingang und Kalender",
                    engagement.start_date
                ),
                format!("gestern 1:30{tag} Recherche Reiseangebote"),
            ],
            Locale::En => vec![
                format!("{} 2.5h{tag} inbox and calendar", engagement.start_date),
                format!("yesterday 1:30{tag} travel research"),
            ],
        };
        Self {
            agency: compose.agency_view(),
            recipient_name: to.name.clone(),
            assistant: AssistantView {
                name: assistant.name.clone(),
                email: assistant.primary_email().to_string(),
                timezone: assistant.timezone.to_string(),
            },
            client: ClientView {
                name: client.name.clone(),
                tag: client.tag.clone(),
            },
            contacts: client
                .contacts
                .iter()
                .map(|c| ContactView {
                    name: c.name.clone(),
                    email: c.email.clone(),
                    role: c.role.clone(),
                    reachability: c.reachability.clone(),
                })
                .collect(),
            engagement: EngagementView {
                id: engagement.id,
                start_date: format_date(engagement.start_date, locale),
                trial_end: format_date(engagement.trial_end, locale),
                // Both days count: 1 Dec to 28 Dec is four weeks.
                trial_weeks: ((engagement.trial_end - engagement.start_date).num_days() + 7) / 7,
                hourly_rate: engagement
                    .hourly_rate_cents
                    .map(|c| format_money(c, locale, compose.agency().currency)),
                budget_hours: engagement.budget_minutes.map(|m| format_hours(m, locale)),
            },
            agreements: compose
                .agreements()
                .iter()
                .map(|a| AgreementView {
                    name: a.name(locale).to_string(),
                    client_signs: a.signers.includes_client(),
                    assistant_signs: a.signers.includes_assistant(),
                })
                .collect(),
            hours_address: compose.agency().from.email.to_string(),
            hours_example,
            several_clients,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_start_within_ten_years_back_and_one_ahead() {
        let today = ymd(2026, 12, 2);
        for ok in [ymd(2016, 12, 2), ymd(2025, 1, 26), today, ymd(2027, 12, 2)] {
            assert!(check_start(ok, today, false).is_ok(), "{ok}");
        }
        let err = check_start(ymd(1999, 1, 4), today, false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the start 1999-01-04 is more than ten years ago (today is 2026-12-02; the earliest \
             start is 2016-12-02): check the date"
        );
        assert!(check_start(ymd(2016, 12, 1), today, true).is_err());
        let err = check_start(ymd(2062, 1, 1), today, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than a year ahead"), "{err}");
        assert!(check_start(NaiveDate::MIN, NaiveDate::MIN, false).is_ok());
    }

    #[test]
    fn a_running_engagement_began_before_today() {
        let today = ymd(2026, 12, 2);
        for ok in [ymd(2016, 12, 2), ymd(2025, 1, 26), today] {
            assert!(check_start(ok, today, true).is_ok(), "{ok}");
        }
        let err = check_start(ymd(2026, 12, 3), today, true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "an engagement running since 2026-12-03 cannot start after today (2026-12-02); for \
             an engagement yet to begin, leave out --running"
        );
    }

    #[test]
    fn an_engagement_begun_over_a_year_ago_is_running() {
        let today = ymd(2026, 12, 2);
        let request = |start, running| EngagementRequest {
            assistant: EmailAddress::parse("sam@va.example").unwrap(),
            client: ClientTag::parse("acme").unwrap(),
            start,
            trial: TrialEnd::Default,
            hourly_rate_cents: None,
            budget_minutes: None,
            running,
        };
        assert!(is_running(&request(ymd(2025, 12, 1), false), today));
        assert!(!is_running(&request(ymd(2025, 12, 2), false), today));
        assert!(is_running(&request(ymd(2026, 11, 2), true), today));
        assert!(!is_running(&request(ymd(2026, 11, 2), false), today));
    }
}
