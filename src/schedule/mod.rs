//! The scheduler: one loop that wakes at the next due time, asks the injected clock what is
//! due, and does it. For now it moves engagements from `onboarding` to `trial` on their start
//! date (in the client's time zone); reminders, surveys and the digest join it later, each
//! writing to the outbox under a natural key.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};

use crate::app::{App, Event, Shutdown, wait_for_event};
use crate::domain::{EngagementStatus, TimeZone};
use crate::store::{self, StoreError};

/// The longest the scheduler sleeps, so work queued by another process (a CLI command) is
/// picked up within this time.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// What one step did, and when the next is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Engagements whose trial began in this step.
    pub trials_started: Vec<i64>,
    /// When something is next due, if anything is.
    pub next_due: Option<DateTime<Utc>>,
}

/// The first instant of `date` in `zone` (midnight, or the first valid time after a DST gap).
pub fn start_of_day(date: NaiveDate, zone: TimeZone) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..4)
        .find_map(|h| {
            zone.0
                .from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

pub async fn step(app: &App) -> Result<Step, StoreError> {
    let now = app.clock.now();
    let mut conn = app.pool.acquire().await?;
    let mut trials_started = Vec::new();
    let mut next_due: Option<DateTime<Utc>> = None;
    for engagement in store::engagements::in_status(&mut conn, EngagementStatus::Onboarding).await?
    {
        let begins = start_of_day(engagement.start_date, engagement.client_timezone);
        if begins <= now {
            let moved = store::engagements::transition(
                &mut conn,
                engagement.id,
                EngagementStatus::Onboarding,
                EngagementStatus::Trial,
            )
            .await?;
            if moved {
                tracing::info!(engagement = engagement.id, "trial started");
                trials_started.push(engagement.id);
            }
        } else {
            next_due = Some(next_due.map_or(begins, |n| n.min(begins)));
        }
    }
    store::health::record_ok(&mut conn, "scheduler", now).await?;
    Ok(Step {
        trials_started,
        next_due,
    })
}

pub async fn run(app: &App, mut shutdown: Shutdown) {
    loop {
        let wait = match step(app).await.context("scheduler") {
            Ok(step) => step
                .next_due
                .map(|due| (due - app.clock.now()).to_std().unwrap_or_default())
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP),
            Err(e) => {
                let error = format!("{e:#}");
                tracing::error!(%error, "scheduler step failed; retrying");
                app.record_failure("scheduler", &error).await;
                MAX_SLEEP
            }
        };
        if wait_for_event(wait, None, &mut shutdown).await == Event::Shutdown {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_begin_at_local_midnight() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(
            start_of_day(d, berlin).to_rfc3339(),
            "2026-11-30T23:00:00+00:00"
        );
        // Santiago skips midnight when summer time begins.
        let santiago = TimeZone::parse("America/Santiago").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            start_of_day(d, santiago).to_rfc3339(),
            "2026-09-06T04:00:00+00:00"
        );
    }
}
