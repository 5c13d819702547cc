//! An engagement after its start, as the operator changes it: its terms (`edit`), its status
//! (`pause`, `resume`, `activate`) and its end, with a closing mail to the client's contacts
//! and the assistant. Each takes the caller's transaction and checks what `start` checks, so
//! a change refused changes nothing.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::OnboardingError;
use crate::compose::{AgencyView, Composer};
use crate::domain::{Engagement, EngagementStatus};
use crate::format::format_date;
use crate::outbound::{self, AutoSubmitted};
use crate::recipients::Recipient;
use crate::schedule::start_of_day;
use crate::store::engagements::{self, TermsChange};
use crate::store::{self, Conn};

/// The engagement, refused when it has ended: an ended engagement is a record.
async fn open(tx: &mut Conn, id: i64) -> Result<Engagement, OnboardingError> {
    let engagement = engagements::get(tx, id).await?;
    if engagement.status == EngagementStatus::Ended {
        return Err(OnboardingError::Invalid(format!(
            "engagement {id} has ended; an ended engagement is not changed"
        )));
    }
    Ok(engagement)
}

/// Changes the rate, the monthly budget or the trial end, checked as `engagement add` checks
/// them; a new trial end only while the trial is still to come or running (or paused).
pub async fn edit(tx: &mut Conn, id: i64, change: &TermsChange) -> Result<(), OnboardingError> {
    let engagement = open(tx, id).await?;
    super::check_terms(
        change.hourly_rate_cents.flatten(),
        change.budget_minutes.flatten(),
    )?;
    if let Some(trial_end) = change.trial_end {
        if engagement.status == EngagementStatus::Active {
            return Err(OnboardingError::Invalid(format!(
                "engagement {id} is active: its trial is over, so its end cannot move"
            )));
        }
        if trial_end < engagement.start_date {
            return Err(OnboardingError::Invalid(format!(
                "the trial end {trial_end} is before the start {}",
                engagement.start_date
            )));
        }
    }
    engagements::update_terms(tx, id, change).await?;
    Ok(())
}

/// Pauses an engagement: the schedule sends it nothing until it is resumed.
pub async fn pause(tx: &mut Conn, id: i64) -> Result<(), OnboardingError> {
    let engagement = open(tx, id).await?;
    if engagement.status == EngagementStatus::Paused {
        return Err(OnboardingError::Invalid(format!(
            "engagement {id} is paused already"
        )));
    }
    move_status(tx, &engagement, EngagementStatus::Paused).await
}

/// Resumes a paused engagement in the status its dates give (see [`resumed_status`]).
/// Returns that status.
pub async fn resume(
    tx: &mut Conn,
    id: i64,
    now: DateTime<Utc>,
) -> Result<EngagementStatus, OnboardingError> {
    let engagement = open(tx, id).await?;
    if engagement.status != EngagementStatus::Paused {
        return Err(OnboardingError::Invalid(format!(
            "engagement {id} is not paused (it is {})",
            engagement.status
        )));
    }
    let today = now
        .with_timezone(&engagement.client_timezone.0)
        .date_naive();
    let to = resumed_status(&engagement, today);
    move_status(tx, &engagement, to).await?;
    Ok(to)
}

/// Makes an engagement active at once (the operator decides the trial went well, or it needs
/// none).
pub async fn activate(tx: &mut Conn, id: i64) -> Result<(), OnboardingError> {
    let engagement = open(tx, id).await?;
    if engagement.status == EngagementStatus::Active {
        return Err(OnboardingError::Invalid(format!(
            "engagement {id} is active already"
        )));
    }
    move_status(tx, &engagement, EngagementStatus::Active).await
}

async fn move_status(
    tx: &mut Conn,
    engagement: &Engagement,
    to: EngagementStatus,
) -> Result<(), OnboardingError> {
    if !engagements::transition(tx, engagement.id, engagement.status, to).await? {
        return Err(OnboardingError::Invalid(format!(
            "engagement {} changed meanwhile; try again",
            engagement.id
        )));
    }
    tracing::info!(engagement = engagement.id, from = %engagement.status, to = %to, "status changed");
    Ok(())
}

/// Where a paused engagement goes on `today` (the client's day): `onboarding` before its
/// start, `trial` up to its trial end, `active` after. An engagement resumed after its trial
/// end is active; to resume its trial, move the trial end first (`engagement edit
/// --trial-end`).
pub fn resumed_status(engagement: &Engagement, today: NaiveDate) -> EngagementStatus {
    if today < engagement.start_date {
        EngagementStatus::Onboarding
    } else if today <= engagement.trial_end && engagement.trial_end > engagement.start_date {
        EngagementStatus::Trial
    } else {
        EngagementStatus::Active
    }
}

/// What [`end`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ended {
    pub engagement_id: i64,
    pub last_day: NaiveDate,
    /// Closing mails queued (one per client contact, one to the assistant).
    pub closing_mails: usize,
}

/// Ends an engagement on `last_day` (default: today, in the client's zone), which lies
/// between its start and today (an engagement yet to start is called off, today), and queues a closing mail to each client contact and to the
/// assistant unless `closing_mail` is off. An engagement ends once; its end is the close of
/// its last day (or now, if that is still to come today).
pub async fn end(
    tx: &mut Conn,
    compose: &Composer,
    closing_mail: bool,
    id: i64,
    last_day: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<Ended, OnboardingError> {
    let engagement = engagements::get(tx, id).await?;
    if engagement.status == EngagementStatus::Ended {
        return Err(OnboardingError::Invalid(format!(
            "engagement {id} has ended already"
        )));
    }
    let zone = engagement.client_timezone;
    let today = now.with_timezone(&zone.0).date_naive();
    let last_day = last_day.unwrap_or(today);
    if last_day > today {
        return Err(OnboardingError::Invalid(format!(
            "the last day {last_day} is after today ({today}): end an engagement on its last day \
             or later"
        )));
    }
    // An engagement yet to start is called off: it ends today, before it began.
    let called_off = today < engagement.start_date;
    if called_off && last_day != today {
        return Err(OnboardingError::Invalid(format!(
            "engagement {id} starts on {}, after today ({today}): it can only be called off \
             today (leave out --on)",
            engagement.start_date
        )));
    }
    if !called_off && last_day < engagement.start_date {
        return Err(OnboardingError::Invalid(format!(
            "the last day {last_day} is before the engagement's start {}",
            engagement.start_date
        )));
    }
    let close = start_of_day(last_day + Duration::days(1), zone) - Duration::seconds(1);
    engagements::end(tx, id, close.min(now)).await?;

    let mut closing_mails = 0;
    if closing_mail {
        let assistant = store::people::assistant(tx, engagement.assistant_id).await?;
        let client = store::people::client(tx, engagement.client_id).await?;
        let mut recipients = Vec::new();
        for contact in &client.contacts {
            recipients.push((Recipient::contact(&client, contact)?, false));
        }
        recipients.push((Recipient::assistant(&assistant)?, true));
        for (to, to_assistant) in recipients {
            let context = ClosingContext {
                agency: compose.agency_view(),
                recipient_name: to.name.clone(),
                to_assistant,
                called_off,
                assistant_name: assistant.name.clone(),
                client_name: client.name.clone(),
                start_date: format_date(engagement.start_date, to.locale),
                last_day: format_date(last_day, to.locale),
            };
            let key = format!("closing:{id}:{}", to.mailbox.email);
            let mail = compose.mail(&to, "closing", &context, AutoSubmitted::Generated)?;
            if outbound::enqueue(tx, &key, "closing", Some(id), &mail, now).await? {
                closing_mails += 1;
            }
        }
    }
    tracing::info!(engagement = id, %last_day, closing_mails, "engagement ended");
    Ok(Ended {
        engagement_id: id,
        last_day,
        closing_mails,
    })
}

/// The variables of the closing mail (`templates/*/closing.*.hbs`).
#[derive(Debug, Clone, Serialize)]
struct ClosingContext {
    agency: AgencyView,
    recipient_name: String,
    /// Written to the assistant (else to a client contact).
    to_assistant: bool,
    /// The engagement had not begun: it will not take place.
    called_off: bool,
    assistant_name: String,
    client_name: String,
    start_date: String,
    last_day: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TimeZone;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_paused_engagement_resumes_where_its_dates_are() {
        let engagement = Engagement {
            id: 1,
            assistant_id: 1,
            assistant_name: "Sam".into(),
            client_id: 1,
            client_tag: "acme".into(),
            client_name: "Acme".into(),
            client_timezone: TimeZone::parse("Europe/Berlin").unwrap(),
            start_date: ymd(2026, 12, 1),
            trial_end: ymd(2026, 12, 28),
            status: EngagementStatus::Paused,
            hourly_rate_cents: None,
            budget_minutes: None,
            created_at: DateTime::<Utc>::MIN_UTC,
            ended_at: None,
        };
        let at = |d| resumed_status(&engagement, d);
        assert_eq!(at(ymd(2026, 11, 30)), EngagementStatus::Onboarding);
        assert_eq!(at(ymd(2026, 12, 1)), EngagementStatus::Trial);
        assert_eq!(at(ymd(2026, 12, 28)), EngagementStatus::Trial);
        assert_eq!(at(ymd(2026, 12, 29)), EngagementStatus::Active);
        // A running engagement (its trial ends on its first day) has no trial to resume.
        let running = Engagement {
            trial_end: engagement.start_date,
            ..engagement.clone()
        };
        assert_eq!(
            resumed_status(&running, ymd(2026, 12, 1)),
            EngagementStatus::Active
        );
    }
}
