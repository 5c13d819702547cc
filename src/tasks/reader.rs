//! The reader: fetch a batch, and for each message record its row and its effects (the
//! route's flow: stored rows and queued replies) in one transaction keyed by its Message-ID,
//! then move it on the server. A crash before the commit leaves the message to be read again;
//! a crash after it leaves a row, so the message read again is only moved. Nothing is lost and
//! nothing is done twice.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::Notify;

use super::route::{self, Route};
use super::{Event, Health, Shutdown, wait_for_event};
use crate::clock::Clock;
use crate::compose::{Composer, MailError};
use crate::config::Config;
use crate::domain::{Classification, Disposition};
use crate::inbound::classify::Decision;
use crate::inbound::message::{Incoming, Received};
use crate::inbound::{Fetched, InboundError, Mailbox};
use crate::store::{self, Pool, StoreError};
use crate::timelog;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Mailbox(#[from] InboundError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// The task that reads the mailbox.
#[derive(Debug, Clone)]
pub struct Reader {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    /// Where mail is read from.
    pub mailbox: Arc<dyn Mailbox>,
    /// What the flows answer with.
    pub compose: Composer,
    /// For routing (the agency's address, the agreements' names), the survey alert threshold
    /// and `[inbound]`'s batch size and poll interval.
    pub config: Arc<Config>,
    /// Rung after a commit that queued mail, so it goes out at once.
    pub wake: Arc<Notify>,
    pub health: Health,
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Messages fetched.
    pub read: usize,
    /// Messages recorded for the first time.
    pub recorded: usize,
    /// Messages whose row existed already (seen before; only moved now).
    pub duplicates: usize,
    /// Messages moved out of the inbox.
    pub settled: usize,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Recorded(Decision),
    Duplicate(Disposition),
}

impl Reader {
    /// Records one message and applies its route. The row is written first, so the transaction
    /// holds the write lock while it reads; the row, the flow's rows and its outbox rows commit
    /// together, or not at all.
    pub async fn record(&self, incoming: &Incoming, source: &str) -> Result<Outcome, ReadError> {
        let now = self.clock.now();
        let mut tx = store::begin(&self.pool).await?;
        let row = store::inbound::NewInbound {
            dedupe_key: &incoming.dedupe_key,
            message_id: incoming.message_id.as_deref(),
            source,
            from_addr: incoming
                .from
                .as_ref()
                .map(|f| f.as_str())
                .or(incoming.from_raw.as_deref()),
            subject: incoming.subject.as_deref(),
            sent_at: incoming.date,
            // Provisional; set below once the route is known, in the same transaction.
            classification: Classification::Unrecognised,
            reason: "being read",
            disposition: Disposition::Attention,
            size_bytes: incoming.size,
        };
        let Some(id) = store::inbound::record(&mut tx, &row, now).await? else {
            store::rollback(tx).await?;
            let mut conn = store::acquire(&self.pool).await?;
            let disposition = store::inbound::disposition_of(&mut conn, &incoming.dedupe_key)
                .await?
                .unwrap_or(Disposition::Attention);
            return Ok(Outcome::Duplicate(disposition));
        };
        let route = route::route(&mut tx, &self.config, incoming, now).await?;
        let received = Received { id, incoming, now };
        let compose = &self.compose;
        match &route {
            Route::File(_) => {}
            Route::Hours(_, plan) => timelog::flow::apply(&mut tx, compose, plan, received).await?,
            Route::Cancel {
                assistant,
                submission_id,
                corrections,
                ..
            } => {
                timelog::flow::cancel(&mut tx, compose, assistant, *submission_id, received)
                    .await?;
                if let Some(plan) = corrections {
                    timelog::flow::apply(&mut tx, compose, plan, received).await?;
                }
            }
            Route::Survey { survey, parsed, .. } => {
                crate::survey::flow::store_answers(
                    &mut tx,
                    compose,
                    self.config.surveys.alert_threshold,
                    survey,
                    parsed,
                    received,
                )
                .await?
            }
            Route::TrialReview {
                survey,
                go_on,
                comments,
                ..
            } => {
                crate::survey::flow::decide_trial(
                    &mut tx, compose, survey, *go_on, comments, received,
                )
                .await?
            }
            Route::Agreements {
                engagement_id,
                party,
                kinds,
                ..
            } => {
                crate::agreements::receive(
                    &mut tx,
                    compose,
                    *engagement_id,
                    *party,
                    kinds,
                    received,
                )
                .await?
            }
        }
        let decision = route.decision().clone();
        store::inbound::set_outcome(
            &mut tx,
            id,
            decision.classification,
            &decision.reason,
            decision.disposition,
        )
        .await?;
        store::commit(tx).await?;
        if !matches!(route, Route::File(_)) {
            self.wake.notify_one();
        }
        Ok(Outcome::Recorded(decision))
    }

    /// Records one message; returns the folder it belongs in.
    async fn handle(
        &self,
        fetched: &Fetched,
        report: &mut Report,
    ) -> Result<Disposition, ReadError> {
        let incoming = Incoming::parse(&fetched.raw);
        let source = format!("{}: {}", self.mailbox.describe(), fetched.id);
        Ok(match self.record(&incoming, &source).await? {
            Outcome::Recorded(decision) => {
                report.recorded += 1;
                tracing::info!(
                    message_id = incoming.dedupe_key,
                    from = incoming.from_raw.as_deref().unwrap_or("-"),
                    classification = decision.classification.as_str(),
                    reason = decision.reason,
                    "recorded"
                );
                decision.disposition
            }
            Outcome::Duplicate(disposition) => {
                report.duplicates += 1;
                tracing::info!(
                    message_id = incoming.dedupe_key,
                    "seen before; moving it only"
                );
                disposition
            }
        })
    }

    /// Reads one batch from the mailbox: records every message (each in its own transaction),
    /// then moves them all (one command per folder on an IMAP server).
    pub async fn step(&self) -> Result<Report, ReadError> {
        let batch = self.mailbox.fetch(self.config.inbound.batch_size).await?;
        let mut report = Report {
            read: batch.len(),
            ..Report::default()
        };
        let mut settle = Vec::with_capacity(batch.len());
        for fetched in &batch {
            let disposition = self.handle(fetched, &mut report).await?;
            settle.push((fetched.id.clone(), disposition));
        }
        match self.mailbox.settle_many(&settle).await {
            Ok(()) => report.settled = settle.len(),
            Err(e) => {
                // The rows are committed; the messages stay and are moved on a later step.
                let error = format!("{:#}", anyhow::Error::from(e));
                tracing::error!(%error, "could not move recorded messages");
                self.health.record_failure("inbound", &error).await;
                return Ok(report);
            }
        }
        self.health.record_ok("inbound").await?;
        Ok(report)
    }

    /// Reads until the inbox is empty (or nothing more can be moved); returns the sum of the steps.
    pub async fn drain(&self) -> Result<Report, ReadError> {
        let mut total = Report::default();
        loop {
            let report = self.step().await?;
            total.read += report.read;
            total.recorded += report.recorded;
            total.duplicates += report.duplicates;
            total.settled += report.settled;
            if report.read == 0 || report.settled == 0 {
                return Ok(total);
            }
        }
    }

    /// The reader loop: drain the inbox, wait `poll_interval` (or for shutdown), again. Errors are
    /// logged with their chain and recorded in the health table; the loop goes on.
    pub async fn run(&self, mut shutdown: Shutdown) {
        let poll = self.config.inbound.poll_interval;
        let mut failures = 0u32;
        loop {
            let wait = match self.drain().await.context("reading the mailbox") {
                Ok(report) => {
                    failures = 0;
                    if report.read > 0 {
                        tracing::debug!(?report, "mailbox read");
                    }
                    poll
                }
                Err(e) => {
                    failures += 1;
                    let error = format!("{e:#}");
                    tracing::error!(%error, failures, "reading the mailbox failed; retrying");
                    self.health.record_failure("inbound", &error).await;
                    reconnect_delay(poll, failures)
                }
            };
            // Until new mail may be there (IMAP IDLE) or the wait is over, or shutdown.
            let waited = tokio::select! {
                biased;
                () = shutdown.wait() => return,
                waited = self.mailbox.wait(wait) => waited,
            };
            if let Err(e) = waited {
                let error = format!("{:#}", anyhow::Error::from(e));
                tracing::warn!(%error, "waiting for new mail failed; reading again");
                self.health.record_failure("inbound", &error).await;
                // Do not spin when the server is down: the next read fails and backs off.
                if wait_for_event(Duration::from_secs(1), None, &mut shutdown).await
                    == Event::Shutdown
                {
                    return;
                }
            }
        }
    }
}

/// How long to wait after `failures` failed steps in a row: the poll interval doubled per
/// failure, at most five minutes, with a random ±20 % so that several daemons (or a server's
/// many clients) do not come back in step.
pub fn reconnect_delay(poll: Duration, failures: u32) -> Duration {
    let base = poll
        .checked_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)))
        .unwrap_or(Duration::MAX)
        .min(Duration::from_secs(300));
    let jitter = (uuid::Uuid::new_v4().as_u128() % 401) as f64 / 1000.0 - 0.2;
    base.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_exponentially_with_jitter() {
        let poll = Duration::from_secs(5);
        for (failures, base) in [(1, 5.0), (2, 10.0), (3, 20.0), (7, 300.0), (40, 300.0)] {
            let d = reconnect_delay(poll, failures).as_secs_f64();
            assert!((base * 0.8..=base * 1.2).contains(&d), "{failures}: {d}");
        }
    }
}
