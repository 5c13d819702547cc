//! The scheduler: one loop that wakes at the next due time, asks the injected clock what is
//! due, and does it. It starts trials on their start date (in the client's time zone) and
//! sends what the schedule's plan says is due for every engagement: surveys and their
//! reminders, the trial review, agreement reminders and their escalation, hours nudges, and
//! the operator's weekly digest. Each send is written to the outbox under its natural key in
//! one transaction, so a restart, a catch-up after downtime or a second daemon never sends it
//! twice. Also [`preview`], which asks the same plan what is to come.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;

use super::{Event, Health, Shutdown, wait_for_event};
use crate::clock::Clock;
use crate::compose::{Composer, MailError};
use crate::config::Config;
use crate::digest::figures::Week;
use crate::domain::{EngagementStatus, Party};
use crate::error::error_chain;
use crate::recipients::{People, operator};
use crate::schedule::plan::{self, Facts, Kind, Planned};
use crate::schedule::{cadence, start_of_day};
use crate::store::{self, Conn, Pool, StoreError};

/// The longest the scheduler sleeps, so work queued by another process (a CLI command) is
/// picked up within this time.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How far ahead each step plans: far enough to always see the next monthly send.
const HORIZON_DAYS: i64 = 70;

/// What one step did, and when the next is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Engagements whose trial began in this step.
    pub trials_started: Vec<i64>,
    /// Natural keys of the mail queued in this step.
    pub queued: Vec<String>,
    /// When something is next due, if anything is.
    pub next_due: Option<DateTime<Utc>>,
}

/// Reads what the plan needs to know about one engagement.
pub async fn facts(
    conn: &mut Conn,
    config: &Config,
    engagement: store::engagements::Engagement,
) -> Result<Facts, StoreError> {
    let assistant = store::people::assistant(conn, engagement.assistant_id).await?;
    let agreements = store::engagements::agreements(conn, engagement.id).await?;
    let sent = store::outbox::keys_of_engagement(conn, engagement.id).await?;
    let surveys = store::surveys::facts(conn, engagement.id).await?;
    let days_with_hours = store::timelog::days_with_hours(conn, engagement.id).await?;
    let weeks_with_hours: HashSet<String> = days_with_hours
        .iter()
        .copied()
        .map(cadence::iso_week)
        .collect();
    let client_holidays = match store::people::client_holidays(conn, engagement.client_id).await? {
        Some(region) => Some(crate::store::parse_column(&region, "holiday region")?),
        None => None,
    };
    let months_with_hours: HashSet<String> =
        days_with_hours.into_iter().map(cadence::month).collect();
    let timesheets = store::timesheets::facts(conn, engagement.id).await?;
    Ok(Facts {
        engagement,
        assistant_timezone: assistant.timezone,
        operator_timezone: config.agency.timezone,
        agreements,
        sent,
        surveys,
        weeks_with_hours,
        client_holidays,
        months_with_hours,
        timesheets,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not queue {key}")]
    Send {
        key: String,
        #[source]
        source: MailError,
    },
}

/// The task that sends what the schedule says is due.
#[derive(Debug, Clone)]
pub struct Scheduler {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    /// What the flows write.
    pub compose: Composer,
    /// `[schedule]`, `[surveys]` (the questions), `[digest]` and the agency's zone.
    pub config: Arc<Config>,
    /// Rung after a step that queued mail, so it goes out at once.
    pub wake: Arc<Notify>,
    pub health: Health,
    /// Times each pass.
    pub metrics: crate::metrics::Metrics,
    /// Beaten before every pass and wait, for the systemd watchdog.
    pub beat: super::watchdog::Beat,
}

impl Scheduler {
    /// Writes one planned send, in one transaction that begins by taking the write lock (so two
    /// daemons queue it once, and neither fails on a stale read). Returns whether it was queued.
    pub async fn send(&self, planned: &Planned) -> Result<bool, MailError> {
        let now = self.clock.now();
        let compose = &self.compose;
        let mut tx = store::begin_immediate(&self.pool).await?;
        let people = People::load(&mut tx, planned.engagement_id).await?;
        let key = planned.key.as_str();
        let queued = match &planned.kind {
            Kind::Survey { period, trial } => {
                let occasion = crate::survey::flow::Occasion::Feedback {
                    period: period.clone(),
                    trial: *trial,
                };
                let questions = &self.config.surveys.questions;
                crate::survey::flow::send(&mut tx, compose, questions, &people, &occasion, key, now)
                    .await?
                    .is_some()
            }
            Kind::SurveyReminder { period } => {
                crate::survey::flow::remind(&mut tx, compose, &people, period, key, now).await?
            }
            Kind::TrialReview => {
                crate::survey::flow::send_trial_review(&mut tx, compose, &people, key, now)
                    .await?
                    .is_some()
            }
            Kind::TrialSilent => {
                let answered = store::surveys::facts(&mut tx, people.engagement.id)
                    .await?
                    .iter()
                    .any(|s| s.kind == "trial_review" && s.answered_at.is_some());
                !answered
                    && crate::survey::flow::alert_trial(
                        &mut tx, compose, &people, false, "", key, now,
                    )
                    .await?
            }
            Kind::AgreementReminder { party, number } => {
                crate::agreements::remind(&mut tx, compose, &people, *party, *number, key, now)
                    .await?
            }
            Kind::AgreementEscalation => {
                let reminders = self.config.schedule.agreement_escalate_after;
                crate::agreements::escalate(&mut tx, compose, &people, reminders, key, now).await?
            }
            Kind::HoursNudge { week } => {
                crate::timelog::nudge::nudge(&mut tx, compose, &people, week, key, now).await?
            }
            Kind::Checkin { period, trial } => {
                crate::checkin::flow::send(&mut tx, compose, &people, period, *trial, key, now)
                    .await?
                    .is_some()
            }
            Kind::CheckinReminder { period } => {
                crate::checkin::flow::remind(&mut tx, compose, &people, period, key, now).await?
            }
            Kind::FeedbackTalk { party, period } => {
                crate::talks::propose(&mut tx, compose, &people, *party, period, key, now).await?
            }
            Kind::Timesheet { month } => matches!(
                crate::timesheet::flow::send(&mut tx, compose, &people, month, false, now).await?,
                crate::timesheet::flow::Sent::Queued { .. }
            ),
            Kind::TimesheetReminder { month } => {
                crate::timesheet::flow::remind(&mut tx, compose, &people, month, key, now).await?
            }
        };
        store::commit(tx).await?;
        Ok(queued)
    }

    /// Starts the trials that begin now, and queues every send that is due; returns when
    /// something is next due. One send that fails does not hold up the others; the step reports
    /// the first failure after trying them all.
    pub async fn step(&self) -> Result<Step, ScheduleError> {
        let now = self.clock.now();
        let config = &self.config;
        let mut conn = store::acquire(&self.pool).await?;
        let mut trials_started = Vec::new();
        let mut queued = Vec::new();
        let mut next_due: Option<DateTime<Utc>> = None;
        let mut soonest = |due: DateTime<Utc>| {
            next_due = Some(next_due.map_or(due, |n: DateTime<Utc>| n.min(due)));
        };
        for engagement in
            store::engagements::in_status(&mut conn, EngagementStatus::Onboarding).await?
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
                soonest(begins);
            }
        }
        let until = now + chrono::Duration::days(HORIZON_DAYS);
        let mut failed: Option<ScheduleError> = None;
        // Only the engagements whose wake-up has come, or whose facts changed, are planned.
        let mut wakes = Vec::new();
        for (id, changed) in store::engagements::to_plan(&mut conn, now).await? {
            let engagement = store::engagements::get(&mut conn, id).await?;
            let mut changed = changed;
            // A second round plans again from what the first one queued (a survey sent
            // now has its reminder reckoned from now), so the wake-up stored is exact.
            for round in 0..2 {
                let facts = facts(&mut conn, config, engagement.clone()).await?;
                let planned = plan::plan(&facts, &config.schedule, until);
                let mut wake = plan::next_due(&planned, &facts.sent, now).unwrap_or(until);
                let mut queued_here = false;
                for due in plan::due_now(&planned, &facts.sent, now) {
                    // Caught up outside the send window (the daemon was down): at the next
                    // opening.
                    let open = due.goes_out(&config.schedule.send_window, now);
                    if open > now {
                        wake = wake.min(open);
                        continue;
                    }
                    match self.send(due).await {
                        Ok(true) => {
                            tracing::info!(key = due.key, "scheduled mail queued");
                            queued.push(due.key.clone());
                            queued_here = true;
                        }
                        // Queued by another daemon meanwhile (its row woke the engagement
                        // again), or no longer wanted by what is stored: a change to that
                        // wakes the engagement.
                        Ok(false) => {}
                        // One engagement's trouble does not hold up the others; the step
                        // reports it.
                        Err(source) => {
                            let error = ScheduleError::Send {
                                key: due.key.clone(),
                                source,
                            };
                            tracing::error!(
                                error = error_chain(&error),
                                "a scheduled mail could not be queued"
                            );
                            failed.get_or_insert(error);
                            wake = wake.min(now + MAX_SLEEP);
                        }
                    }
                }
                if queued_here && round == 0 {
                    changed = store::engagements::facts_changed(&mut conn, id).await?;
                    continue;
                }
                wakes.push((id, wake, changed));
                soonest(wake);
                break;
            }
        }
        store::engagements::set_wakes(&self.pool, &wakes).await?;
        // And the wake-ups of the engagements this pass did not plan. One changed meanwhile
        // (its wake-up cleared) is planned by the next pass, at most `MAX_SLEEP` away.
        if let Some(wake) = store::engagements::next_wake(&mut conn, now).await? {
            soonest(wake);
        }
        match digest_due(&mut conn, config, now).await? {
            (Some((week, key)), next) => {
                match self.send_digest(week, &key).await {
                    Ok(true) => {
                        tracing::info!(key, "weekly digest queued");
                        queued.push(key);
                    }
                    Ok(false) => {}
                    Err(source) => {
                        let error = ScheduleError::Send { key, source };
                        tracing::error!(
                            error = error_chain(&error),
                            "the digest could not be queued"
                        );
                        failed.get_or_insert(error);
                    }
                }
                soonest(next);
            }
            (None, next) => soonest(next),
        }
        if !queued.is_empty() {
            self.wake.notify_one();
        }
        if let Some(error) = failed {
            return Err(error);
        }
        drop(conn);
        self.health.record_ok("scheduler").await?;
        Ok(Step {
            trials_started,
            queued,
            next_due,
        })
    }

    /// Plans every engagement at the next step, whatever its wake-up: at start-up, since the
    /// config's cadences, send window and zones, which no trigger sees, may have changed.
    pub async fn wake_all(&self) -> Result<(), StoreError> {
        let mut conn = store::acquire(&self.pool).await?;
        store::engagements::wake_all(&mut conn).await
    }

    /// Queues the digest of `week` under `key`, rendered before the write transaction that queues
    /// it; `false` when it was queued before. Wakes the outbox.
    pub async fn send_digest(&self, week: Week, key: &str) -> Result<bool, MailError> {
        let now = self.clock.now();
        let mut conn = store::acquire(&self.pool).await?;
        let mail = crate::digest::mail(&mut conn, &self.compose, &self.config, week, now).await?;
        drop(conn);
        let mut tx = store::begin_immediate(&self.pool).await?;
        let queued = crate::digest::queue(&mut tx, key, &mail, now).await?;
        store::commit(tx).await?;
        self.wake.notify_one();
        Ok(queued)
    }

    /// The scheduler loop: every engagement woken, then a step, then sleep until the next due time (at most a minute, so work
    /// another process queued is seen), or shutdown.
    pub async fn run(&self, mut shutdown: Shutdown) {
        // Every engagement is planned by the first step that gets through (see `wake_all`).
        let mut woken = false;
        loop {
            self.beat.working();
            let started = std::time::Instant::now();
            let step = async {
                if !woken {
                    self.wake_all().await?;
                    woken = true;
                }
                self.step().await
            };
            let wait = match step.await.context("scheduler") {
                Ok(step) => {
                    self.metrics.scheduler_pass(started.elapsed());
                    step.next_due
                        .map(|due| (due - self.clock.now()).to_std().unwrap_or_default())
                        .unwrap_or(MAX_SLEEP)
                        .min(MAX_SLEEP)
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::error!(%error, "scheduler step failed; retrying");
                    self.health.record_failure("scheduler", &error).await;
                    MAX_SLEEP
                }
            };
            self.beat.waiting(wait);
            if wait_for_event(wait, None, &mut shutdown).await == Event::Shutdown {
                self.beat.ended();
                return;
            }
        }
    }
}

/// The weekly digest: the week and natural key of the latest due one when it has not been
/// queued yet, and when the next one is due. None is due before the agency's first
/// engagement was added: there is nothing to report on then.
async fn digest_due(
    conn: &mut Conn,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<(Option<(Week, String)>, DateTime<Utc>), StoreError> {
    let zone = config.agency.timezone.0;
    let local_now = cadence::to_local(now, zone);
    let cadence = &config.digest.at;
    let next = cadence::local_to_utc(cadence.next_after(local_now, local_now), zone);
    let Some(first) = store::engagements::first_added(conn).await? else {
        return Ok((None, next));
    };
    // The latest occurrence at or before now: the last of the past eight days'.
    let week_ago = local_now - chrono::Duration::days(8);
    let Some(latest) = cadence
        .between(week_ago, week_ago, local_now)
        .last()
        .map(|l| cadence::local_to_utc(*l, zone))
        .filter(|at| *at > first)
    else {
        return Ok((None, next));
    };
    let week = crate::digest::week_reported(latest, config);
    let key = crate::digest::key(&week);
    let queued = store::outbox::is_queued(conn, &key).await?;
    Ok(((!queued).then_some((week, key)), next))
}

/// One line of `tandem schedule preview`.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// None for the operator's weekly digest, which is about every engagement.
    pub engagement_id: Option<i64>,
    pub client: Option<String>,
    pub key: String,
    pub kind: &'static str,
    /// When it goes out, in UTC.
    pub due: DateTime<Utc>,
    /// The same in the recipient's time zone, `2026-12-04 10:00`.
    pub local: String,
    pub timezone: String,
    pub party: Party,
    pub recipient: String,
    pub condition: Option<&'static str>,
}

/// Every send the schedule will make up to `until` (what is due now included), as if nobody
/// answers, signs or logs hours meanwhile. Reads only.
pub async fn preview(
    conn: &mut Conn,
    config: &Config,
    engagement_id: Option<i64>,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Preview>, StoreError> {
    let mut out = Vec::new();
    for engagement in store::engagements::scheduled(conn).await? {
        if engagement_id.is_some_and(|id| id != engagement.id) {
            continue;
        }
        let people = People::load(conn, engagement.id).await?;
        let facts = facts(conn, config, engagement).await?;
        let planned = plan::plan(&facts, &config.schedule, until);
        for p in plan::upcoming(&planned, &facts.sent, now) {
            let due = p.goes_out(&config.schedule.send_window, now);
            let recipient = match p.party {
                // A feedback talk goes to all of the client's contacts in one mail.
                Party::Client if matches!(p.kind, Kind::FeedbackTalk { .. }) => people
                    .client
                    .contacts
                    .iter()
                    .map(|c| {
                        crate::recipients::Recipient::contact(&people.client, c)
                            .map(|r| r.mailbox.to_string())
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", "),
                // Timesheets go to the billing contact.
                Party::Client
                    if matches!(
                        p.kind,
                        Kind::Timesheet { .. } | Kind::TimesheetReminder { .. }
                    ) =>
                {
                    crate::timesheet::flow::billing_contact(&people)?
                        .mailbox
                        .to_string()
                }
                Party::Client => people.client_contact()?.mailbox.to_string(),
                Party::Assistant => people.assistant()?.mailbox.to_string(),
                Party::Operator => operator(&config.agency).mailbox.to_string(),
            };
            out.push(Preview {
                engagement_id: Some(p.engagement_id),
                client: Some(people.client.tag.clone()),
                key: p.key.clone(),
                kind: p.kind.name(),
                due,
                local: cadence::to_local(due, p.zone.0)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                timezone: p.zone.to_string(),
                party: p.party,
                recipient,
                condition: p.condition,
            });
        }
    }
    if engagement_id.is_none() {
        out.extend(digest_preview(conn, config, now, until).await?);
    }
    out.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.key.cmp(&b.key)));
    Ok(out)
}

/// The weekly digests to come up to `until` (none before the first engagement).
async fn digest_preview(
    conn: &mut Conn,
    config: &Config,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Preview>, StoreError> {
    let Some(first) = store::engagements::first_added(conn).await? else {
        return Ok(Vec::new());
    };
    let zone = config.agency.timezone.0;
    let (from, to) = (cadence::to_local(now, zone), cadence::to_local(until, zone));
    let op = operator(&config.agency);
    Ok(config
        .digest
        .at
        .between(from, from, to)
        .into_iter()
        .map(|local| cadence::local_to_utc(local, zone))
        .filter(|due| *due > first)
        .map(|due| {
            let week = crate::digest::week_reported(due, config);
            Preview {
                engagement_id: None,
                client: None,
                key: crate::digest::key(&week),
                kind: "digest",
                due,
                local: cadence::to_local(due, zone)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                timezone: config.agency.timezone.to_string(),
                party: Party::Operator,
                recipient: op.mailbox.to_string(),
                condition: None,
            }
        })
        .collect())
}
