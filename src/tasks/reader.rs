//! The reader: fetch a batch, parse it, and record every message with its effects (the
//! route's flow: stored rows and queued replies) in few transactions, keyed by its Message-ID;
//! then move the batch on the server. A message whose handling fails is undone alone: its
//! transaction's slice is undone and done again with a savepoint per message. A crash before
//! the commit leaves the batch to be read again; a crash after it leaves the rows, so the
//! messages read again are only moved. Nothing is lost and nothing is done twice.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::route::{self, Route};
use super::watchdog::Beat;
use super::{Event, Health, Shutdown, WriteTurns, wait_for_event};
use crate::clock::Clock;
use crate::compose::{Composer, MailError};
use crate::config::{Config, Limits};
use crate::domain::{Classification, Disposition};
use crate::inbound::classify::Decision;
use crate::inbound::message::{Incoming, ReadLimits, Received};
use crate::inbound::{Batch, Fetched, InboundError, Mailbox};
use crate::metrics::Metrics;
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
    #[error("reading a batch failed: {0}")]
    Parse(String),
}

/// The task that reads the mailbox.
#[derive(Debug, Clone)]
pub struct Reader {
    pub pool: Pool,
    /// Where its write transactions are opened: on SQLite a connection of their own, so
    /// that each statement is prepared once ([`Pool::of_one`]).
    pub slices: Pool,
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
    /// Taken for each write transaction, in turn with the outbox's claims and marks.
    pub turns: WriteTurns,
    /// Counts what was recorded, once it is committed.
    pub metrics: Metrics,
    /// Beaten at every step and before every wait, for the systemd watchdog.
    pub beat: Beat,
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
    /// Messages whose handling failed this time; they stay and are tried again, until
    /// `[limits] attempts` makes them quarantined.
    pub failed: usize,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Recorded(Decision),
    Duplicate(Disposition),
}

/// Whether a message was recorded before.
enum Known {
    /// Not yet: record it under `key`. `reused` when its Message-ID belongs to an earlier,
    /// different message, so `key` is made from its content.
    New { key: String, reused: bool },
    /// A copy of a recorded message: only move it where the first went.
    Copy(Disposition),
}

/// A message whose handling failed: the key its tries are counted under, what was read of it
/// (nothing when even reading it failed), and why.
#[derive(Clone)]
struct Failed {
    key: String,
    incoming: Option<Incoming>,
    error: String,
}

/// How long the reader holds the write lock at most before it commits what the batch recorded
/// so far, gives the outbox's waiting claims and marks their turn ([`WriteTurns`]), and goes on
/// in a new transaction: a mail sent but not yet marked is sent again should the daemon die.
const WRITE_SLICE: Duration = Duration::from_millis(100);

/// The size of a drain's first batch; each next one is twice the one before, up to
/// `[inbound] batch_size`. Nothing else is done while the first batch is fetched and read;
/// each later one is fetched and read while the one before it is recorded, which takes longer
/// than fetching and reading a batch of twice its size. Toward the drain's end, where the
/// mailbox counts what is left, a batch takes half of it but not fewer than this
/// ([`Batch::tail`]): the move of a batch twice its size overlaps its recording, and the last
/// move, which nothing overlaps, is a small one.
const FIRST_BATCH: usize = 32;

/// What the reader keeps for one write transaction of a batch.
///
/// A slice is first done without savepoints: one round trip less per message, and on
/// PostgreSQL no subtransactions (past 64 in one transaction, every row the transaction wrote is
/// looked up in `pg_subtrans`). When a message's handling fails, the slice is rolled back and
/// done again `careful`ly, a savepoint per message, so that the message is undone alone.
#[derive(Debug, Default)]
struct Slice {
    /// Whether each message has a savepoint of its own (the slice is done again after a failure).
    careful: bool,
    /// The keys of the messages recorded, whose failed tries are forgotten at the commit.
    recorded: HashSet<String>,
    /// Whether mail was queued: the outbox is woken at the commit (on SQLite also at the
    /// first, so that its claim waits for the turn).
    queued: bool,
    /// Who routing looked up (valid while the transaction holds the write lock).
    people: route::People,
    /// The batch's keys that had no row when the transaction began: a message under one of
    /// them, unless recorded since, is new without asking the database.
    unrecorded: HashSet<String>,
    /// What became of each message, logged and counted in the metrics at the commit.
    done: Vec<Done>,
    /// Whether a message's savepoint is open (the next message's releases it, the commit
    /// ends it).
    savepoint: bool,
}

impl Slice {
    /// Whether a message under `key` is surely not recorded yet.
    fn surely_new(&self, key: &str) -> bool {
        self.unrecorded.contains(key) && !self.recorded.contains(key)
    }

    /// Notes which of the batch's keys have no row, and reads the mail its messages name, as
    /// the transaction `tx` sees them.
    async fn look_up(&mut self, tx: &mut store::Conn, batch: &BatchKeys) -> Result<(), StoreError> {
        let found = store::inbound::recorded_keys(tx, &batch.keys).await?;
        self.unrecorded = batch
            .keys
            .iter()
            .filter(|key| !found.contains(*key))
            .cloned()
            .collect();
        self.people.read_named(tx, &batch.names).await
    }
}

/// What each write transaction of a batch looks up at once for the messages it may record
/// (the batch's from the slice's first on): their keys (which have rows) and what they name
/// ([`route::reply_names`]: which mail they answer).
struct BatchKeys {
    keys: Vec<String>,
    names: Vec<(Vec<String>, Vec<String>)>,
}

impl BatchKeys {
    fn of(batch: &[Read]) -> Self {
        let read = || batch.iter().filter_map(|read| read.read.as_ref().ok());
        BatchKeys {
            keys: read()
                .map(|(incoming, _)| incoming.dedupe_key.clone())
                .collect(),
            names: read()
                .map(|(incoming, _)| route::reply_names(incoming))
                .collect(),
        }
    }
}

/// What became of a message in a slice, logged and counted at its commit (not before: a
/// slice may be undone and done again).
#[derive(Debug)]
enum Done {
    Recorded {
        key: String,
        from: Option<String>,
        decision: Decision,
    },
    /// Recorded as unreadable after its failed tries (logged when its last try failed).
    Quarantined(Decision),
    Copy(String),
}

impl Done {
    /// Logs it; returns what it was decided to be, for the metrics.
    fn log(&self) -> Option<&Decision> {
        match self {
            Done::Recorded {
                key,
                from,
                decision,
            } => {
                tracing::info!(
                    message_id = key,
                    from = from.as_deref().unwrap_or("-"),
                    classification = decision.classification.as_str(),
                    reason = decision.reason,
                    "recorded"
                );
                Some(decision)
            }
            Done::Quarantined(decision) => Some(decision),
            Done::Copy(key) => {
                tracing::info!(message_id = key, "seen before; moving it only");
                None
            }
        }
    }
}

/// What became of a message in a slice.
enum Handled {
    /// Recorded now or before: it belongs in this folder.
    Settle(Disposition),
    /// Its handling failed (undone alone, in a careful slice).
    Failed(Box<Failed>),
    /// Its handling failed in a slice without savepoints: the slice is to be done again.
    Redo,
}

/// Where a slice began in the batch, and what was counted then: what its redo starts from.
struct SliceStart {
    index: usize,
    report: Report,
    settled: usize,
    failures: usize,
}

/// What recording a batch left to do: move its messages (`settle`), note its failures.
struct Recorded {
    report: Report,
    settle: Vec<(String, Disposition)>,
    failures: Vec<String>,
}

/// A recorded batch after its move: `error` when the move failed.
struct Moved {
    report: Report,
    failures: Vec<String>,
    error: Option<String>,
}

/// Adds a batch's report to the drain's.
fn add(total: &mut Report, report: &Report) {
    total.read += report.read;
    total.recorded += report.recorded;
    total.duplicates += report.duplicates;
    total.settled += report.settled;
    total.failed += report.failed;
}

/// A fetched message as read (on the blocking thread), before it is recorded.
struct Read {
    id: String,
    source: String,
    /// What was read, and the decision when it is only to be filed (`Some`: a message not
    /// read past its header); or why reading failed.
    read: Result<(Incoming, Option<Decision>), Failed>,
}

impl Reader {
    /// Records one message and applies its route, in a transaction of its own (the step
    /// records a whole batch in one).
    pub async fn record(&self, incoming: &Incoming, source: &str) -> Result<Outcome, ReadError> {
        let turn = self.turns.take().await;
        let mut tx = store::begin_immediate(&self.slices).await?;
        let (outcome, queued) = self
            .record_as(
                &mut tx,
                &mut Slice::default(),
                incoming,
                source,
                None,
                self.clock.now(),
            )
            .await?;
        store::inbound::clear_attempts(&mut tx, &[&incoming.dedupe_key]).await?;
        store::commit(tx).await?;
        drop(turn);
        if let Outcome::Recorded(decision) = &outcome {
            self.count(decision);
        }
        if queued {
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    /// Records one message and applies its route in the transaction `tx` (which holds the
    /// write lock): is it known, what is it, then its row, the flow's rows and its outbox rows
    /// (its failed tries are the caller's to forget). With `decided` (`Some`: a message that is
    /// only recorded and filed, as one over the size limit or one that failed too often) it is
    /// not routed. Also returns whether mail was queued.
    async fn record_as(
        &self,
        tx: &mut store::Conn,
        slice: &mut Slice,
        incoming: &Incoming,
        source: &str,
        decided: Option<Decision>,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, bool), ReadError> {
        let (key, reused) = match known(tx, slice, incoming).await? {
            Known::Copy(disposition) => return Ok((Outcome::Duplicate(disposition), false)),
            Known::New { key, reused } => (key, reused),
        };
        let route = match decided {
            Some(decision) => Route::File(decision),
            None => route::route(tx, &mut slice.people, &self.config, incoming, now).await?,
        };
        let mut decision = route.decision().clone();
        if reused {
            decision.reason.push_str(
                "; its Message-ID was used before by a different message, so it has a row of its own",
            );
        }
        let row = store::inbound::NewInbound {
            dedupe_key: &key,
            message_id: incoming.message_id.as_deref(),
            source,
            from_addr: from_addr(incoming),
            subject: incoming.subject.as_deref(),
            sent_at: incoming.date,
            // Should the flow fail, the savepoint takes the row back with its effects.
            classification: decision.classification,
            reason: &decision.reason,
            disposition: decision.disposition,
            size_bytes: incoming.size,
            content_hash: Some(&incoming.content_hash),
            authentication: decision.authentication.as_ref(),
        };
        let Some(id) = store::inbound::record_new(tx, &row, now).await? else {
            // Recorded under this key since `known` looked (it cannot, under the write lock;
            // kept for a store that allows it).
            let disposition = store::inbound::seen(tx, &key)
                .await?
                .map_or(Disposition::Attention, |seen| seen.disposition);
            return Ok((Outcome::Duplicate(disposition), false));
        };
        let lookups = &mut slice.people.hours;
        self.apply(tx, lookups, &route, Received { id, incoming, now })
            .await?;
        // What planning keeps for the transaction stays true: the entries a time log stored
        // were counted in their days and weeks as they were stored (`timelog::flow::apply`);
        // any other change of hours, engagements or locks starts it afresh.
        match &route {
            Route::File(_) | Route::Hours(..) => {}
            _ => *lookups = Default::default(),
        }
        let queued = !matches!(route, Route::File(_));
        Ok((Outcome::Recorded(decision), queued))
    }

    /// `[engagements] budget_alert_client`: whether clients hear of their budgets too.
    fn budget_alert_client(&self) -> bool {
        self.config.engagements.budget_alert_client
    }

    /// Runs the flow `route` names, in the transaction that records the message.
    async fn apply(
        &self,
        tx: &mut store::Conn,
        lookups: &mut timelog::flow::Lookups,
        route: &Route,
        received: Received<'_>,
    ) -> Result<(), ReadError> {
        let compose = &self.compose;
        match route {
            Route::File(_) => {}
            Route::Hours(_, plan) => {
                let alert_client = self.budget_alert_client();
                timelog::flow::apply(tx, compose, lookups, plan, alert_client, received).await?
            }
            Route::Cancel {
                decision,
                assistant,
                submission_id,
                corrected,
                corrections,
            } => {
                // A cancel that also asks something goes to a person: its answer says so.
                let passed_on = decision.disposition == Disposition::Attention;
                let cancelled = timelog::flow::Cancelled {
                    submission_id: *submission_id,
                    corrected: *corrected,
                    passed_on,
                };
                timelog::flow::cancel(tx, compose, assistant, cancelled, received).await?;
                if let Some(plan) = corrections {
                    // The cancel changed hours: what was kept is read again.
                    *lookups = Default::default();
                    let alert_client = self.budget_alert_client();
                    timelog::flow::apply(tx, compose, lookups, plan, alert_client, received)
                        .await?;
                }
            }
            Route::Survey { survey, parsed, .. } => {
                let threshold = self.config.surveys.alert_threshold;
                crate::survey::flow::store_answers(tx, compose, threshold, survey, parsed, received)
                    .await?
            }
            Route::Checkin { survey, parsed, .. } => {
                let threshold = self.config.surveys.alert_threshold;
                crate::checkin::flow::store_answers(
                    tx, compose, threshold, survey, parsed, received,
                )
                .await?
            }
            Route::TrialReview {
                survey,
                go_on,
                comments,
                ..
            } => {
                crate::survey::flow::decide_trial(tx, compose, survey, *go_on, comments, received)
                    .await?
            }
            Route::Agreements {
                engagement_id,
                party,
                kinds,
                ..
            } => {
                crate::agreements::receive(tx, compose, *engagement_id, *party, kinds, received)
                    .await?
            }
            Route::Kickoff { answer, .. } => {
                crate::calls::kickoff::answer(tx, compose, answer, received).await?
            }
            Route::Timesheet {
                engagement_id,
                month,
                approves,
                ..
            } => {
                let lock = self.config.timesheet.lock_on_approval;
                crate::timesheet::flow::receive(
                    tx,
                    compose,
                    *engagement_id,
                    month,
                    *approves,
                    lock,
                    received,
                )
                .await?
            }
        }
        Ok(())
    }

    /// [`Reader::record_as`] inside a savepoint of the batch's transaction: a message whose
    /// handling fails is undone alone (the inner `Err`). The outer `Err` is the transaction
    /// itself failing (the savepoint could not be opened, kept or undone): the batch stops.
    async fn record_in(
        &self,
        tx: &mut store::Conn,
        slice: &mut Slice,
        incoming: &Incoming,
        source: &str,
        decided: Option<Decision>,
        now: DateTime<Utc>,
    ) -> Result<Result<(Outcome, bool), ReadError>, StoreError> {
        // What it writes is written at once, inside its savepoint.
        let later = tx.writes_later();
        tx.write_later(false).await?;
        store::savepoint(tx, slice.savepoint).await?;
        slice.savepoint = true;
        let recorded = match self
            .record_as(tx, slice, incoming, source, decided, now)
            .await
        {
            Ok(done) => Ok(done),
            Err(e) => {
                store::rollback_savepoint(tx).await?;
                // What the message stored is undone: so is what planning kept of it.
                slice.people.hours = Default::default();
                Err(e)
            }
        };
        tx.write_later(later).await?;
        Ok(recorded)
    }

    /// Records one read message in the batch's transaction: in a savepoint of its own when the
    /// slice is careful, else directly (a failure then asks for the slice to be done again, as
    /// does a failure to write what the slice kept before an unreadable message is counted).
    async fn handle(
        &self,
        tx: &mut store::Conn,
        read: &Read,
        now: DateTime<Utc>,
        report: &mut Report,
        slice: &mut Slice,
    ) -> Result<Handled, StoreError> {
        let (incoming, decided) = match &read.read {
            Ok(read) => read,
            // Its try is counted after what the others kept is written.
            Err(_) if !kept_written(tx, slice).await? => return Ok(Handled::Redo),
            Err(failed) => return Ok(Handled::Failed(Box::new(failed.clone()))),
        };
        let decided = decided.clone();
        let recorded = if slice.careful {
            self.record_in(tx, slice, incoming, &read.source, decided, now)
                .await?
        } else {
            match self
                .record_as(tx, slice, incoming, &read.source, decided, now)
                .await
            {
                Ok(done) => Ok(done),
                Err(e) => {
                    tracing::debug!(
                        message_id = incoming.dedupe_key,
                        error = format!("{:#}", anyhow::Error::from(e)),
                        "handling a message failed; its slice is done again, a savepoint per message"
                    );
                    return Ok(Handled::Redo);
                }
            }
        };
        let (outcome, wake) = match recorded {
            Ok(done) => done,
            Err(e) => {
                return Ok(Handled::Failed(Box::new(Failed {
                    key: incoming.dedupe_key.clone(),
                    error: format!("{:#}", anyhow::Error::from(e)),
                    incoming: Some(incoming.clone()),
                })));
            }
        };
        if wake && !slice.queued && self.pool.one_writer() {
            // The outbox's claim then waits for the write turn from now on, and takes it as
            // soon as this slice commits rather than a slice later (its rows are found then).
            self.wake.notify_one();
        }
        slice.queued |= wake;
        let key = incoming.dedupe_key.clone();
        Ok(Handled::Settle(match outcome {
            Outcome::Recorded(decision) => {
                report.recorded += 1;
                slice.recorded.insert(key.clone());
                let disposition = decision.disposition;
                slice.done.push(Done::Recorded {
                    key,
                    from: incoming.from_raw.clone(),
                    decision,
                });
                disposition
            }
            Outcome::Duplicate(disposition) => {
                report.duplicates += 1;
                slice.done.push(Done::Copy(key));
                disposition
            }
        }))
    }

    /// Counts a failed try of a message, in the batch's transaction. After `[limits] attempts`
    /// tries (across restarts) it is recorded as unreadable, with the error, and belongs in the
    /// quarantine (`Some`); before, it stays in the inbox for another try (`None`). Either way
    /// the rest of the batch goes on. An error here (the database is the trouble) stops the
    /// batch.
    async fn failed(
        &self,
        tx: &mut store::Conn,
        slice: &mut Slice,
        failed: Failed,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Disposition>, ReadError> {
        let Failed {
            key,
            incoming,
            error,
        } = failed;
        let attempts = store::inbound::failed_attempt(tx, &key, &error, now).await?;
        let limit = self.config.limits.attempts;
        tracing::warn!(message_id = key, attempts, limit, %error, "handling a message failed");
        if attempts < limit {
            return Ok(None);
        }
        let mut incoming = incoming.unwrap_or_else(|| Incoming::parse(b""));
        incoming.dedupe_key = key;
        let decision = Decision {
            classification: Classification::Unrecognised,
            disposition: Disposition::Quarantine,
            reason: format!("unreadable: handling it failed {attempts} times: {error}"),
            authentication: None,
        };
        let recorded = self
            .record_in(tx, slice, &incoming, source, Some(decision), now)
            .await??;
        Ok(Some(match recorded.0 {
            Outcome::Recorded(decision) => {
                let disposition = decision.disposition;
                slice.done.push(Done::Quarantined(decision));
                disposition
            }
            Outcome::Duplicate(disposition) => disposition,
        }))
    }

    /// Reads one batch from the mailbox (bounded by `[inbound] batch_size` and
    /// `[limits] batch_bytes`): parses every message on one blocking thread (CPU work a sender
    /// controls, kept off the runtime), records them in one transaction (committed and reopened
    /// every [`WRITE_SLICE`]; see [`Slice`] for its savepoints), then moves them all (one
    /// command per folder on an IMAP server). A message whose handling fails is undone alone,
    /// stays for another try and does not stop the others.
    pub async fn step(&self) -> Result<Report, ReadError> {
        // One process of those sharing the database reads at a time (its turn is let go when
        // this returns, or when the process dies); the others find nothing to do.
        let Some(reading) = store::mailbox_turn(&self.pool).await? else {
            tracing::debug!("another tandem is reading the mailbox");
            return Ok(Report::default());
        };
        let report = self.step_in_turn().await;
        reading.release().await?;
        report
    }

    async fn step_in_turn(&self) -> Result<Report, ReadError> {
        let count = self.config.inbound.batch_size;
        let batch = self.fetch_read((count, 0), &BTreeSet::new()).await?;
        if batch.is_empty() {
            self.health.record_ok("inbound").await?;
            return Ok(Report::default());
        }
        let recorded = self.record_batch(&batch).await?;
        drop(batch);
        let moved = self.move_batch(recorded).await;
        self.note(moved).await
    }

    /// Fetches a batch of at most `count` messages (and [`Batch::tail`]), leaving out the
    /// messages under `skip` (being recorded), and reads it on another CPU where the process is
    /// kept to one (see `runtime`).
    async fn fetch_read(
        &self,
        (count, tail): (usize, usize),
        skip: &BTreeSet<String>,
    ) -> Result<Vec<Read>, ReadError> {
        let limits = &self.config.limits;
        let batch = self
            .mailbox
            .fetch_batch(
                Batch {
                    count,
                    bytes: limits.batch_bytes,
                    message_bytes: limits.message_bytes,
                    tail,
                },
                skip,
            )
            .await?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let describe = self.mailbox.describe();
        let read_limits = read_limits(limits);
        let parse = move || {
            batch
                .into_iter()
                .map(|fetched| read(fetched, &describe, &read_limits))
                .collect::<Vec<_>>()
        };
        crate::runtime::for_cpu_work()
            .spawn_blocking(parse)
            .await
            .map_err(|e| ReadError::Parse(e.to_string()))
    }

    /// Records a batch that was read, in write transactions of at most [`WRITE_SLICE`] each;
    /// returns what is left to do: move the messages, note the failures.
    async fn record_batch(&self, batch: &[Read]) -> Result<Recorded, ReadError> {
        let mut report = Report {
            read: batch.len(),
            ..Report::default()
        };
        let mut settle = Vec::with_capacity(batch.len());
        let mut failures = Vec::new();
        let mut slice = Slice::default();
        let now = self.clock.now();
        let mut turn = self.turns.take().await;
        let mut tx = self.open_slice(&mut slice, batch).await?;
        let mut opened = std::time::Instant::now();
        let start_at =
            |index: usize, report: &Report, settle: &Vec<_>, failures: &Vec<_>| SliceStart {
                index,
                report: report.clone(),
                settled: settle.len(),
                failures: failures.len(),
            };
        let mut start = start_at(0, &report, &settle, &failures);
        let mut index = 0;
        loop {
            let read = batch.get(index);
            let mut redo = false;
            if read.is_none() || opened.elapsed() >= WRITE_SLICE {
                redo = !kept_written(&mut tx, &slice).await?;
                if !redo {
                    if read.is_none() {
                        break;
                    }
                    self.commit_slice(tx, &mut slice).await?;
                    // The outbox's claims and marks waiting meanwhile go first.
                    drop(turn);
                    turn = self.turns.take().await;
                    tx = self.open_slice(&mut slice, &batch[index..]).await?;
                    opened = std::time::Instant::now();
                    start = start_at(index, &report, &settle, &failures);
                }
            }
            if let (false, Some(read)) = (redo, read) {
                match self
                    .handle(&mut tx, read, now, &mut report, &mut slice)
                    .await?
                {
                    Handled::Settle(disposition) => settle.push((read.id.clone(), disposition)),
                    Handled::Redo => redo = true,
                    Handled::Failed(failed) => {
                        failures.push(failed.error.clone());
                        let key = failed.key.clone();
                        match self
                            .failed(&mut tx, &mut slice, *failed, &read.source, now)
                            .await?
                        {
                            Some(disposition) => {
                                report.recorded += 1;
                                slice.recorded.insert(key);
                                settle.push((read.id.clone(), disposition));
                            }
                            None => report.failed += 1,
                        }
                    }
                }
            }
            if redo {
                // Undone whole, and done again from its first message, each in a savepoint.
                // The clock starts again, so the redo gets at least one message done.
                store::rollback(tx).await?;
                slice = Slice {
                    careful: true,
                    ..Slice::default()
                };
                index = start.index;
                tx = self.open_slice(&mut slice, &batch[index..]).await?;
                opened = std::time::Instant::now();
                report = start.report.clone();
                settle.truncate(start.settled);
                failures.truncate(start.failures);
                continue;
            }
            index += 1;
        }
        self.commit_slice(tx, &mut slice).await?;
        Ok(Recorded {
            report,
            settle,
            failures,
        })
    }

    /// Moves the messages of a recorded batch (one command per folder on an IMAP server). It
    /// touches only the mailbox, so it may run while the next batch is recorded.
    async fn move_batch(&self, recorded: Recorded) -> Moved {
        let Recorded {
            mut report,
            settle,
            failures,
        } = recorded;
        let error = match self.mailbox.settle_many(&settle).await {
            Ok(()) => {
                report.settled = settle.len();
                None
            }
            // The rows are committed; the messages stay and are moved on a later step.
            Err(e) => Some(format!("{:#}", anyhow::Error::from(e))),
        };
        Moved {
            report,
            failures,
            error,
        }
    }

    /// Notes a moved batch's failures, and whether the move succeeded, in the health table.
    async fn note(&self, moved: Moved) -> Result<Report, ReadError> {
        for error in &moved.failures {
            self.health.record_failure("inbound", error).await;
        }
        match &moved.error {
            Some(error) => {
                tracing::error!(%error, "could not move recorded messages");
                self.health.record_failure("inbound", error).await;
            }
            None => self.health.record_ok("inbound").await?,
        }
        Ok(moved.report)
    }

    /// Opens a write transaction for `slice`: one without savepoints keeps its rows to write
    /// them together ([`store::Conn::write_later`]). Notes which keys of the batch's messages
    /// from the slice's first on (`rest`) have no row, and reads the mail those name.
    async fn open_slice(&self, slice: &mut Slice, rest: &[Read]) -> Result<store::Tx, StoreError> {
        let mut tx = store::begin_immediate(&self.slices).await?;
        if !slice.careful {
            tx.write_later(true).await?;
        }
        slice.look_up(&mut tx, &BatchKeys::of(rest)).await?;
        Ok(tx)
    }

    /// Commits what the batch recorded so far: forgets the failed tries of the messages it
    /// recorded and wakes the outbox when mail was queued; the slice starts afresh.
    async fn commit_slice(&self, mut tx: store::Tx, slice: &mut Slice) -> Result<(), StoreError> {
        let taken = std::mem::take(slice);
        let keys: Vec<&str> = taken.recorded.iter().map(String::as_str).collect();
        store::inbound::clear_attempts(&mut tx, &keys).await?;
        store::commit(tx).await?;
        if taken.queued {
            self.wake.notify_one();
        }
        for done in &taken.done {
            if let Some(decision) = done.log() {
                self.count(decision);
            }
        }
        Ok(())
    }

    /// Counts a recorded message in the metrics (after its transaction committed).
    fn count(&self, decision: &Decision) {
        self.metrics.message_read(
            decision.classification,
            decision.disposition,
            &decision.reason,
        );
    }

    /// Reads until the inbox is empty (or nothing more can be moved); returns the sum of the steps.
    pub async fn drain(&self) -> Result<Report, ReadError> {
        self.drain_until(|| false).await
    }

    /// [`Reader::drain`], stopping between two batches once `stop` says so (shutdown: a big
    /// inbox is not read to its end first). The mailbox turn is held throughout.
    async fn drain_until(&self, stop: impl Fn() -> bool) -> Result<Report, ReadError> {
        let mut total = Report::default();
        if stop() {
            return Ok(total);
        }
        let Some(reading) = store::mailbox_turn(&self.pool).await? else {
            tracing::debug!("another tandem is reading the mailbox");
            return Ok(total);
        };
        let drained = self.drain_in_turn(&stop, &mut total).await;
        reading.release().await?;
        drained.map(|()| total)
    }

    /// The batches of a drain, in a pipeline: while batch k is recorded (on the database), the
    /// batch before it is moved and batch k + 1 is fetched and read (on the mailbox and another
    /// CPU), leaving out batch k's messages, which are still in the inbox. The drain ends
    /// with a batch that is empty, or after one whose messages could not be moved or all
    /// failed (they would be fetched again at once).
    async fn drain_in_turn(
        &self,
        stop: &impl Fn() -> bool,
        total: &mut Report,
    ) -> Result<(), ReadError> {
        // A batch's IMAP commands each get their own timeout.
        let commands = self
            .config
            .inbound
            .imap
            .as_ref()
            .map_or(Duration::ZERO, |i| 3 * i.timeout);
        self.beat.waiting(commands);
        let full = self.config.inbound.batch_size;
        let mut count = FIRST_BATCH.min(full);
        let mut batch = self
            .fetch_read((count, FIRST_BATCH), &BTreeSet::new())
            .await?;
        if batch.is_empty() {
            self.health.record_ok("inbound").await?;
            return Ok(());
        }
        let mut moving: Option<Recorded> = None;
        loop {
            self.beat.waiting(commands);
            let ids: BTreeSet<String> = batch.iter().map(|read| read.id.clone()).collect();
            count = count.saturating_mul(2).min(full);
            let ahead = async {
                let moved = match moving.take() {
                    Some(recorded) => Some(self.move_batch(recorded).await),
                    None => None,
                };
                let go_on = !stop() && moved.as_ref().is_none_or(|m| m.error.is_none());
                let next = match go_on {
                    true => Some(self.fetch_read((count, FIRST_BATCH), &ids).await),
                    false => None,
                };
                (moved, next)
            };
            let (recorded, (moved, next)) = tokio::join!(self.record_batch(&batch), ahead);
            if let Some(moved) = moved {
                add(total, &self.note(moved).await?);
            }
            let recorded = recorded?;
            let last = recorded.settle.is_empty();
            drop(batch);
            match next {
                Some(Ok(next)) if !next.is_empty() && !last && !stop() => {
                    batch = next;
                    moving = Some(recorded);
                }
                next => {
                    let moved = self.move_batch(recorded).await;
                    add(total, &self.note(moved).await?);
                    return match next {
                        Some(Err(e)) => Err(e),
                        _ => Ok(()),
                    };
                }
            }
        }
    }

    /// The reader loop: drain the inbox, wait `poll_interval` (or for shutdown), again. Errors are
    /// logged with their chain and recorded in the health table; the loop goes on.
    pub async fn run(&self, mut shutdown: Shutdown) {
        let poll = self.config.inbound.poll_interval;
        let mut failures = 0u32;
        loop {
            let drained = self.drain_until(|| shutdown.is_requested()).await;
            let wait = match drained.context("reading the mailbox") {
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
            // Until new mail may be there (IMAP IDLE) or the wait is over, or shutdown. An
            // IDLE may take its commands' timeouts beyond the wait to end.
            let slack = self
                .config
                .inbound
                .imap
                .as_ref()
                .map_or(Duration::ZERO, |i| 2 * i.timeout);
            self.beat.waiting(wait + slack);
            let waited = tokio::select! {
                biased;
                () = shutdown.wait() => {
                    self.beat.ended();
                    return;
                }
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
                    self.beat.ended();
                    return;
                }
            }
        }
    }
}

/// What the reader (and `tandem parse`) reads of a message, from `[limits]`.
pub fn read_limits(limits: &Limits) -> ReadLimits {
    ReadLimits {
        subject_bytes: limits.subject_bytes,
        references: limits.references,
        html_depth: limits.html_depth,
        text_bytes: limits.text_bytes,
        attachment_bytes: limits.attachment_bytes,
    }
}

/// Reads one fetched message: parses it within `limits`. A message whose parse panics fails
/// alone; one only partly fetched (over a size limit), or read from its header only as too
/// costly to read whole, is to be recorded and quarantined.
fn read(mut fetched: Fetched, describe: &str, limits: &ReadLimits) -> Read {
    let source = format!("{describe}: {}", fetched.id);
    let unread_key = format!("unread:{source}");
    let mut raw = std::mem::take(&mut fetched.raw);
    if fetched.unread.is_none()
        && let Some(why) = crate::inbound::message::too_costly(&raw)
    {
        raw.truncate(crate::inbound::header_of(&raw).len());
        fetched.unread = Some(why);
    }
    let parsed = std::panic::catch_unwind(|| Incoming::parse_with(&raw, limits));
    let read = match parsed {
        Err(panic) => Err(Failed {
            key: unread_key,
            incoming: None,
            error: format!("reading the message failed: {}", panic_message(&*panic)),
        }),
        Ok(mut incoming) => {
            let decided = fetched.unread.as_deref().map(|why| {
                // Only the header (or nothing) was read: a key of its own when it has no
                // Message-ID, since its hash covers only what was read.
                if incoming.message_id.is_none() {
                    incoming.dedupe_key = unread_key.clone();
                }
                incoming.size = usize::try_from(fetched.size).unwrap_or(usize::MAX);
                not_read(why)
            });
            Ok((incoming, decided))
        }
    };
    Read {
        id: fetched.id,
        source,
        read,
    }
}

/// The decision for a message read from its header only (over the size limit, or
/// [`crate::inbound::message::too_costly`]): quarantined, saying why.
pub fn not_read(why: &str) -> Decision {
    Decision {
        classification: Classification::Unrecognised,
        disposition: Disposition::Quarantine,
        reason: format!("not read: {why}"),
        authentication: None,
    }
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Whether a message was recorded before: by its key, and, when that is its Message-ID, by its
/// content too, so that another message reusing a known Message-ID is not taken for a copy. A
/// key the slice knows to be new is not asked about.
async fn known(
    conn: &mut store::Conn,
    slice: &Slice,
    incoming: &Incoming,
) -> Result<Known, StoreError> {
    let seen = if slice.surely_new(&incoming.dedupe_key) {
        None
    } else {
        store::inbound::seen(conn, &incoming.dedupe_key).await?
    };
    let Some(seen) = seen else {
        return Ok(Known::New {
            key: incoming.dedupe_key.clone(),
            reused: false,
        });
    };
    // A copy whose text was changed on its way (a footer that a gateway or a forwarding
    // alias added) is the same mail: its sender, subject and `Date:` to the second are the
    // first's. Without a `Date:` only the same content is a copy.
    let resent = incoming.date.is_some()
        && seen.sent_at == incoming.date
        && seen.subject.as_deref() == incoming.subject.as_deref()
        && seen.from_addr.as_deref() == from_addr(incoming);
    if resent
        || seen
            .content_hash
            .as_deref()
            .is_none_or(|hash| hash == incoming.content_hash)
    {
        return Ok(Known::Copy(seen.disposition));
    }
    let key = format!("{} {}", incoming.dedupe_key, incoming.content_hash);
    Ok(match store::inbound::seen(conn, &key).await? {
        Some(seen) => Known::Copy(seen.disposition),
        None => Known::New { key, reused: true },
    })
}

/// The sender a message's row records: its address, else its `From:` as written.
fn from_addr(incoming: &Incoming) -> Option<&str> {
    incoming
        .from
        .as_ref()
        .map(|f| f.as_str())
        .or(incoming.from_raw.as_deref())
}

/// Writes the rows the transaction `tx` of `slice` kept (see [`Slice`]). `false` when one
/// failed in a slice without savepoints: the slice is then done again.
async fn kept_written(tx: &mut store::Conn, slice: &Slice) -> Result<bool, StoreError> {
    match tx.flush().await {
        Ok(()) => Ok(true),
        Err(e) if !slice.careful => {
            tracing::debug!(
                error = format!("{:#}", anyhow::Error::from(e)),
                "writing a slice's rows failed; it is done again, a savepoint per message"
            );
            Ok(false)
        }
        Err(e) => Err(e.into()),
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
