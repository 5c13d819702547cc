//! The outbox worker: claims due rows (as many at once as it may send at once), delivers
//! them, records the outcomes. [`OutboxWorker::step`] is one such turn for one row and returns
//! what happened, so tests drive it directly; [`OutboxWorker::run`] drains the due rows until
//! shutdown, sleeping until the next row is due or something new is queued. Claims name this
//! process's [`Holder`], whose heartbeat runs while it sends; rows of a holder that is gone are
//! taken up at once. On shutdown no new send starts, and the ones in flight end by their own
//! deadline.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::holder::Holder;
use super::watchdog::Beat;
use super::{Event, Health, Shutdown, WriteTurns, wait_for_event};
use crate::clock::Clock;
use crate::config::Outbound;
use crate::metrics::{Metrics, SendFailure};
use crate::outbound::{Envelope, SendError, Transport, draft};
use crate::store::journal::Journal;
use crate::store::{self, Pool, StoreError};
use crate::templates::Templates;

/// The task that delivers queued mail.
#[derive(Debug, Clone)]
pub struct OutboxWorker {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    /// Where mail is delivered.
    pub transport: Arc<dyn Transport>,
    /// What drafts are written out with (`outbound::draft`), when they are claimed.
    pub templates: Arc<Templates>,
    /// The lease, the attempts and the backoff (`[outbound]`).
    pub settings: Outbound,
    /// How long to sleep when nothing is due and nothing is queued (`[inbound] poll_interval`).
    pub idle: Duration,
    /// Rung when this process queues mail, so it is sent without waiting for a poll.
    pub wake: Arc<Notify>,
    pub health: Health,
    /// Who this process is in the claims it makes (one per `App`, shared by its workers).
    pub holder: Arc<Holder>,
    /// Taken for each claim and mark on SQLite, in turn with the reader.
    pub turns: WriteTurns,
    /// Where sends are recorded on SQLite without waiting for the reader's write lock (see
    /// `store::journal`); `None` on PostgreSQL and in memory.
    pub journal: Option<Arc<Journal>>,
    /// Where a SQLite file's claimed messages are read, after the claim's turn (see
    /// `store::outbox::Messages`); `None` on PostgreSQL and in memory (read in the claim).
    pub messages: Option<Arc<store::outbox::Messages>>,
    /// Counts mails sent and failed sends.
    pub metrics: Metrics,
    /// Beaten before every send and wait, for the systemd watchdog.
    pub beat: Beat,
}

/// What one turn of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing was due.
    Idle,
    Sent {
        id: i64,
    },
    /// A temporary failure; the row is due again at `at`.
    Retrying {
        id: i64,
        at: DateTime<Utc>,
        error: String,
    },
    /// A permanent failure, or the last allowed attempt failed.
    Failed {
        id: i64,
        error: String,
    },
}

/// The stored message `raw` written out, if it is a draft that can be.
fn write_out_one(raw: &mut Vec<u8>, templates: &Templates) {
    if let Ok(Cow::Owned(built)) = draft::write_out(raw, templates) {
        *raw = built;
    }
}

/// Does `work` on at most `most` of `slots`, each the next one that no one took (`next`, shared
/// by all who work on them); returns whether none is left.
fn take_next(
    slots: &[std::sync::Mutex<Vec<u8>>],
    next: &AtomicUsize,
    most: usize,
    work: impl Fn(&mut Vec<u8>),
) -> bool {
    for _ in 0..most {
        let Some(slot) = slots.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return true;
        };
        work(&mut slot.lock().unwrap_or_else(|e| e.into_inner()));
    }
    next.load(Ordering::Relaxed) >= slots.len()
}

/// The delay before retry number `attempt` (1 = the first retry): `base` doubled each time,
/// never more than `max`.
pub fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// How long after a send ends the worker waits for the other sends in flight to end too, so
/// that their outcomes are recorded in one statement and their places claimed again in one:
/// each statement that writes is a commit (115 µs a claim or a mark on SQLite, measured),
/// while a send to a server nearby takes a fraction of a millisecond. A send that takes
/// longer does not hold the others' records back for more than this.
const GATHER: Duration = Duration::from_millis(5);

/// How many rows the worker claims ahead of its free places when sends are recorded in a
/// journal: a claim needs the write lock, which on SQLite the reader holds for slices of 100 ms,
/// so each claim takes what the sends of a slice or two use up (the reader records about 300
/// mails a slice). Rows claimed ahead wait in memory, with their messages (a receipt is
/// about 7 kB).
const AHEAD: usize = 512;

/// How many rows the worker claims ahead of its free places where sends are not recorded in a
/// journal (PostgreSQL): a claim there waits for no slice of the reader, but each is a round
/// trip and a write of its rows; claiming as many rows as there were free places, 2,000
/// receipts took 500 claims. Fewer than [`AHEAD`]: daemons sharing the database each claim
/// their share.
const AHEAD_UNJOURNALED: usize = 32;

/// How many drafts a claim writes out before it lets other tasks run (about 2 ms of work).
const WRITTEN_OUT_AT_ONCE: usize = 16;

/// A send slower than this makes the worker claim no more than its free places, so that rows
/// claimed ahead do not wait for slow sends until their lease runs out.
const SLOW: Duration = Duration::from_secs(1);

/// A claimed row and how its send ended.
type Sent = (store::outbox::Claimed, Result<(), SendError>);

/// What a claim ends with.
type ClaimResult = Result<Vec<store::outbox::Claimed>, StoreError>;

impl OutboxWorker {
    /// Claims and delivers one due message. The database connection is not held during the
    /// send; every mark of the outcome names the claim, so a worker whose lease ran out changes
    /// nothing that another has done.
    pub async fn step(&self) -> Result<Step, StoreError> {
        let Some(row) = self.claim(1, false).await?.pop() else {
            return Ok(Step::Idle);
        };
        let (sent, _) = send(self.transport.as_ref(), &self.templates, row).await;
        let step = self.settle(vec![sent]).await?.remove(0);
        self.fold_journal().await;
        Ok(step)
    }

    /// This process's turn at the write lock on SQLite, where the reader's slices hold it; none
    /// on PostgreSQL, where a claim or a mark (a statement of its own, on rows the reader does
    /// not write) waits for no transaction.
    async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool.one_writer() {
            true => Some(self.turns.take().await),
            false => None,
        }
    }

    /// Writes the sends the journal recorded into the database, in this process's turn. A
    /// failure (the database refuses writes) is logged and noted in `health`: the records stay
    /// in the journal, and the next claim folds them.
    async fn fold_journal(&self) {
        let Some(journal) = &self.journal else {
            return;
        };
        let folded = {
            let _turn = self.turn().await;
            match store::acquire(&self.pool).await {
                Ok(mut conn) => self.fold(journal, &mut conn).await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = folded {
            let error = format!("{:#}", anyhow::Error::from(e));
            tracing::warn!(%error, "sent messages recorded in the journal could not be marked in the database yet");
            self.health.record_failure("outbound", &error).await;
        }
    }

    /// [`Journal::fold`] on `conn`, noting the records whose claim another worker took.
    async fn fold(&self, journal: &Journal, conn: &mut store::Conn) -> Result<(), StoreError> {
        let folded = journal.fold(conn).await?;
        for id in folded.stale {
            tracing::warn!(
                id,
                "sent, but the lease had run out and another worker took the message"
            );
        }
        Ok(())
    }

    /// Claims up to `limit` due rows in one statement, under this process's holder; with
    /// `forget_gone` (a drain's first claim), forgets the holders whose process is gone first,
    /// in the same turn at the write lock, so their rows are claimed now.
    async fn claim(
        &self,
        limit: usize,
        forget_gone: bool,
    ) -> Result<Vec<store::outbox::Claimed>, StoreError> {
        let now = self.clock.now();
        let lease_until = now + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
        self.holder.beat_if_due(&self.pool, now).await?;
        let mut claimed = {
            let _turn = self.turn().await;
            let mut conn = store::acquire(&self.pool).await?;
            if forget_gone {
                self.holder.forget_the_gone(&mut conn, now).await?;
            }
            // Sends recorded in the journal are marked first: a row that a gone holder sent
            // must not be taken up as unsent.
            if let Some(journal) = &self.journal {
                self.fold(journal, &mut conn).await?;
            }
            let holder = self.holder.id();
            let silent_before = Holder::silent_before(now);
            let with_raw = self.messages.is_none();
            store::outbox::claim_many(
                &mut conn,
                now,
                lease_until,
                holder,
                silent_before,
                limit,
                with_raw,
            )
            .await?
        };
        // The messages are read after the turn, while the reader writes.
        let Some(messages) = self.messages.as_ref().filter(|_| !claimed.is_empty()) else {
            self.write_out(&mut claimed).await;
            return Ok(claimed);
        };
        let ids: Vec<i64> = claimed.iter().map(|row| row.id).collect();
        // On the sends' CPU: the connection is opened by the first read, and its thread runs
        // where the runtime that opened it does (see `runtime`). Not the whole claim: it could
        // open the pool's connections there, which the reader uses on the first CPU.
        let messages = Arc::clone(messages);
        let reading =
            crate::runtime::for_cpu_work().spawn(async move { messages.read(&ids).await });
        let read = match reading.await {
            Ok(read) => read,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is stopping: the rows are given back, unsent.
            Err(_) => {
                self.release(&claimed).await;
                return Ok(Vec::new());
            }
        };
        let mut found = match read {
            Ok(found) => found,
            Err(e) => {
                self.release(&claimed).await;
                return Err(e);
            }
        };
        claimed.retain_mut(|row| match found.remove(&row.id) {
            Some(raw) => {
                row.raw = raw;
                true
            }
            None => {
                tracing::warn!(id = row.id, "claimed, but its message is gone: not sent");
                false
            }
        });
        self.write_out(&mut claimed).await;
        Ok(claimed)
    }

    /// Writes out the drafts among `rows` (`outbound::draft`) on the worker's own CPU and, where
    /// there is one, on the sends' CPU beside it ([`crate::runtime::second`]): each takes the
    /// next draft not yet taken until none is left, so the CPU with more time to spare writes
    /// out more. On SQLite the reader and the database's thread share the worker's CPU, which
    /// had no time to spare while the reader recorded; the sends' CPU was idle a third of that
    /// time. All of them on the sends' CPU was slower (`run --once` of 2,000 time logs took
    /// 0.78 s against 0.72 s): that CPU also parses what the reader fetches and talks SMTP.
    /// Every [`WRITTEN_OUT_AT_ONCE`] drafts this task lets others run. A draft that cannot be
    /// written out is left as it is, for its send to fail.
    async fn write_out(&self, rows: &mut [store::outbox::Claimed]) {
        let slots: Arc<[std::sync::Mutex<Vec<u8>>]> = rows
            .iter_mut()
            .map(|row| std::sync::Mutex::new(std::mem::take(&mut row.raw)))
            .collect();
        let next = Arc::new(AtomicUsize::new(0));
        let beside = crate::runtime::second()
            .filter(|_| rows.len() > WRITTEN_OUT_AT_ONCE)
            .map(|second| {
                let (slots, next) = (Arc::clone(&slots), Arc::clone(&next));
                let templates = Arc::clone(&self.templates);
                second.spawn_blocking(move || {
                    take_next(&slots, &next, usize::MAX, |raw| {
                        write_out_one(raw, &templates)
                    })
                })
            });
        let write = |raw: &mut Vec<u8>| write_out_one(raw, &self.templates);
        while !take_next(&slots, &next, WRITTEN_OUT_AT_ONCE, write) {
            tokio::task::yield_now().await;
        }
        if let Some(beside) = beside
            && let Err(e) = beside.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
        for (row, slot) in rows.iter_mut().zip(slots.iter()) {
            row.raw = std::mem::take(&mut *slot.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// Records how sends ended: the mails sent in one statement (tried until it is recorded),
    /// each failure with its retry or its end. Returns each send's step, in order.
    async fn settle(&self, done: Vec<Sent>) -> Result<Vec<Step>, StoreError> {
        let now = self.clock.now();
        let sent: Vec<_> = done
            .iter()
            .filter(|(_, result)| result.is_ok())
            .map(|(row, _)| row)
            .collect();
        if !sent.is_empty() {
            self.record_sent(&sent, now).await;
        }
        let outbound = &self.settings;
        let mut steps = Vec::with_capacity(done.len());
        for (row, result) in done {
            let (step, held) = match result {
                Ok(()) => {
                    self.metrics.sent(&row.kind);
                    tracing::info!(id = row.id, to = %row.recipient, message_id = %row.message_id, "sent");
                    steps.push(Step::Sent { id: row.id });
                    continue;
                }
                Err(SendError::Temporary(error))
                    if (row.attempts as u32) < outbound.max_attempts =>
                {
                    self.metrics.send_failed(SendFailure::Temporary);
                    let delay =
                        backoff(outbound.retry_base, outbound.retry_max, row.attempts as u32);
                    let at = now + chrono::Duration::from_std(delay).unwrap_or_default();
                    let held = {
                        let _turn = self.turn().await;
                        let mut conn = store::acquire(&self.pool).await?;
                        store::outbox::mark_retry(&mut conn, &row, at, &error).await?
                    };
                    tracing::warn!(id = row.id, to = %row.recipient, attempt = row.attempts, %at, %error, "delivery failed; will retry");
                    (
                        Step::Retrying {
                            id: row.id,
                            at,
                            error,
                        },
                        held,
                    )
                }
                Err(failure @ (SendError::Temporary(_) | SendError::Permanent(_))) => {
                    let (error, kind) = match failure {
                        SendError::Temporary(error) => (error, SendFailure::Temporary),
                        SendError::Permanent(error) => (error, SendFailure::Permanent),
                    };
                    self.metrics.send_failed(kind);
                    let held = {
                        let _turn = self.turn().await;
                        let mut conn = store::acquire(&self.pool).await?;
                        store::outbox::mark_failed(&mut conn, &row, &error).await?
                    };
                    tracing::error!(id = row.id, to = %row.recipient, attempts = row.attempts, %error, "delivery failed for good");
                    (Step::Failed { id: row.id, error }, held)
                }
            };
            if !held {
                tracing::warn!(
                    id = row.id,
                    "the lease ran out during the send and another worker took the message; its outcome stands"
                );
            }
            if let Step::Retrying { error, .. } | Step::Failed { error, .. } = &step {
                self.health.record_failure("outbound", error).await;
            }
            steps.push(step);
        }
        Ok(steps)
    }

    /// Records that claimed messages were sent, in one statement (in the journal where there
    /// is one, else in the database), trying until it is taken: a message sent but not recorded
    /// would be sent again once its lease runs out.
    async fn record_sent(&self, rows: &[&store::outbox::Claimed], now: DateTime<Utc>) {
        let mut pause = Duration::from_millis(50);
        loop {
            let recorded = match &self.journal {
                Some(journal) => journal.record(rows, now).await.map(|()| None),
                None => {
                    let _turn = self.turn().await;
                    match store::acquire(&self.pool).await {
                        Ok(mut conn) => store::outbox::mark_sent_many(&mut conn, rows, now)
                            .await
                            .map(Some),
                        Err(e) => Err(e),
                    }
                }
            };
            match recorded {
                Ok(marked) => {
                    // A journal's records are matched to their claims when folded.
                    let marked = marked.unwrap_or_else(|| rows.iter().map(|row| row.id).collect());
                    for row in rows.iter().filter(|row| !marked.contains(&row.id)) {
                        tracing::warn!(
                            id = row.id,
                            "sent, but the lease had run out and another worker took the message"
                        );
                    }
                    return;
                }
                Err(e) => {
                    let error = format!("{:#}", anyhow::Error::from(e));
                    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
                    tracing::error!(?ids, %error, "sent messages could not be recorded; trying again");
                    self.health.record_failure("outbound", &error).await;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Delivers everything that is due now, up to the transport's `parallel()` sends at once
    /// (a mail that continues a thread after its earlier, unsent mail); returns how many were
    /// sent, and notes in `health` that the outbound side worked when any was.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        self.drain_until(None).await
    }

    /// [`Self::drain`], starting no new send once `shutdown` is asked for. Rows of holders
    /// found gone are forgotten first (so they are claimed now), and the heartbeat runs while
    /// sends are in flight. Each send runs as a task of its own, and so does each claim, so
    /// sends go on while a claim waits for its turn at the database. Where sends are recorded
    /// in a journal, a claim takes up to [`AHEAD`] rows, elsewhere up to [`AHEAD_UNJOURNALED`],
    /// which wait in memory for a free place; after a slow send, as many as there are free
    /// places. The sends that have ended are recorded together. Rows claimed and not started
    /// (their lease would run out during the send, or the worker stops) are given back.
    async fn drain_until(&self, shutdown: Option<&Shutdown>) -> Result<usize, StoreError> {
        let stopping = || shutdown.is_some_and(Shutdown::is_requested);
        let places = self.transport.parallel().max(1);
        // On another CPU where the process is kept to one (see `runtime`).
        let cpu_work = crate::runtime::for_cpu_work();
        let work = async {
            let mut in_flight = tokio::task::JoinSet::new();
            // Claimed, waiting for a free place, in the order claimed.
            let mut ahead = VecDeque::new();
            // The claim waiting for its turn or its answer, and how many rows it asked for.
            let mut claiming: Option<(usize, JoinHandle<ClaimResult>)> = None;
            let mut sent = 0;
            let mut failure = None;
            // Whether a claim may find a row: a claim that found fewer than it asked for says
            // no, until a send ends (a mail may have waited for the one just sent).
            let mut due = true;
            // Whether a send that just ended was slow: then no more rows are claimed than
            // there are places.
            let mut slow = false;
            // The first claim forgets the holders that are gone.
            let mut forget_gone = true;
            loop {
                // A send may take its deadline.
                self.beat.waiting(self.send_deadline());
                let going = failure.is_none() && !stopping();
                let mut unstarted = Vec::new();
                if going {
                    let now = self.clock.now();
                    while in_flight.len() < places {
                        let Some(row) = ahead.pop_front() else {
                            break;
                        };
                        if !self.lease_outlasts_send(&row, now) {
                            unstarted.push(row);
                            continue;
                        }
                        let transport = Arc::clone(&self.transport);
                        let templates = Arc::clone(&self.templates);
                        let sending =
                            async move { send(transport.as_ref(), &templates, row).await };
                        in_flight.spawn_on(sending, &cpu_work);
                    }
                } else {
                    unstarted.extend(ahead.drain(..));
                }
                if !unstarted.is_empty() {
                    self.release(&unstarted).await;
                }
                let ahead_of_places = if self.journal.is_some() {
                    AHEAD
                } else {
                    AHEAD_UNJOURNALED
                };
                let (target, low) = if slow {
                    (places, places)
                } else {
                    let target = ahead_of_places.max(places);
                    (target, target / 2)
                };
                let held = ahead.len() + in_flight.len();
                if going && due && claiming.is_none() && ahead.len() < low && held < target {
                    // Claiming ahead, a power of two: the limit is written into the claim's
                    // text, and a text for each number up to [`AHEAD`] was a statement parsed
                    // afresh at nearly every claim, in the turn the reader waits for.
                    let want = if target > places {
                        1 << (target - held).ilog2()
                    } else {
                        target - held
                    };
                    let worker = self.clone();
                    let forget = std::mem::take(&mut forget_gone);
                    let claim = async move { worker.claim(want, forget).await };
                    claiming = Some((want, tokio::spawn(claim)));
                }
                if claiming.is_none() && in_flight.is_empty() && ahead.is_empty() {
                    break;
                }
                let claim_pending = claiming.is_some();
                tokio::select! {
                    claimed = async { (&mut claiming.as_mut().expect("a claim is pending").1).await },
                        if claim_pending =>
                    {
                        let (asked, _) = claiming.take().expect("a claim is pending");
                        match claimed {
                            Ok(Ok(rows)) => {
                                due = rows.len() == asked;
                                ahead.extend(rows);
                            }
                            Ok(Err(e)) => failure = Some(e),
                            Err(e) => {
                                tracing::error!(error = %e, "a claim ended without an outcome");
                                due = false;
                            }
                        }
                    }
                    Some(first) = in_flight.join_next(), if !in_flight.is_empty() => {
                        // The sends started together end together: those that end within
                        // `GATHER` of the first are recorded with it, in one statement.
                        let mut ended = vec![first];
                        let gathered = tokio::time::Instant::now() + GATHER;
                        while let Ok(Some(next)) =
                            tokio::time::timeout_at(gathered, in_flight.join_next()).await
                        {
                            ended.push(next);
                        }
                        let done: Vec<Sent> = ended
                            .into_iter()
                            .filter_map(|joined| {
                                joined
                                    .inspect_err(|e| {
                                        // The row stays in `sending` until its lease or its
                                        // holder ends.
                                        tracing::error!(error = %e, "a send ended without an outcome");
                                    })
                                    .ok()
                            })
                            .map(|(sent, took)| {
                                slow = took > SLOW;
                                sent
                            })
                            .collect();
                        match self.settle(done).await {
                            Ok(steps) => {
                                sent += steps
                                    .iter()
                                    .filter(|step| matches!(step, Step::Sent { .. }))
                                    .count();
                                due = true;
                            }
                            Err(e) => failure = Some(e),
                        }
                    }
                }
            }
            // The sends recorded in the journal are marked now: what `run --once`, the CLI and
            // the tests read afterwards is the database.
            self.fold_journal().await;
            match failure {
                Some(e) => Err(e),
                None => Ok(sent),
            }
        };
        let beating = self.holder.keep_beating(&self.pool, self.clock.as_ref());
        let sent = tokio::select! {
            sent = work => sent?,
            () = beating => unreachable!("the heartbeat runs until dropped"),
        };
        if sent > 0 {
            self.health.record_ok("outbound").await?;
        }
        Ok(sent)
    }

    /// Whether a claimed row's lease lasts until a send started now must have ended: a row
    /// that waited in memory for a free place is not sent so late that its lease could run
    /// out during the send (another worker could take it and send it too).
    fn lease_outlasts_send(&self, row: &store::outbox::Claimed, now: DateTime<Utc>) -> bool {
        let deadline = chrono::Duration::from_std(self.send_deadline()).unwrap_or_default();
        row.lease_until - now >= deadline
    }

    /// Gives back claimed rows that were not sent (see [`store::outbox::release`]). A failure
    /// is logged: the rows are then taken up when their lease runs out.
    async fn release(&self, rows: &[store::outbox::Claimed]) {
        let released = {
            let _turn = self.turn().await;
            match store::acquire(&self.pool).await {
                Ok(mut conn) => {
                    let rows: Vec<_> = rows.iter().collect();
                    store::outbox::release(&mut conn, &rows).await
                }
                Err(e) => Err(e),
            }
        };
        if let Err(e) = released {
            let error = format!("{:#}", anyhow::Error::from(e));
            let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
            tracing::warn!(?ids, %error, "claimed messages could not be given back; they wait for their lease");
        }
    }

    /// The worker loop: drain, then sleep until the next row is due, something is queued, or
    /// shutdown. A database error is logged with its chain and retried after a pause.
    pub async fn run(&self, mut shutdown: Shutdown) {
        let idle = self.idle;
        loop {
            let wait = match self
                .drain_until(Some(&shutdown))
                .await
                .context("outbox worker")
            {
                Ok(_) => self.next_wait().await.unwrap_or(idle),
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::error!(%error, "outbox worker failed; retrying");
                    self.health.record_failure("outbound", &error).await;
                    idle
                }
            };
            self.beat.waiting(wait);
            match wait_for_event(wait, Some(&self.wake), &mut shutdown).await {
                Event::Shutdown => {
                    self.beat.ended();
                    return;
                }
                Event::Due | Event::Woken => self.beat.working(),
            }
        }
    }

    /// The longest one send may take: `[outbound.smtp] send_timeout` (a file is written at
    /// once).
    fn send_deadline(&self) -> Duration {
        match (&self.settings.backend, &self.settings.smtp) {
            (crate::config::OutboundBackend::Smtp, Some(smtp)) => smtp.send_timeout,
            _ => Duration::ZERO,
        }
    }

    async fn next_wait(&self) -> Option<Duration> {
        let mut conn = store::acquire(&self.pool).await.ok()?;
        let due = store::outbox::next_due(&mut conn).await.ok()??;
        let wait = (due - self.clock.now()).to_std().unwrap_or_default();
        // Wake at least every few minutes: another process may have queued mail meanwhile.
        Some(wait.clamp(Duration::from_millis(10), Duration::from_secs(60)))
    }
}

/// Sends one claimed row (a draft the claim could not write out is written out here, and fails
/// for good when that fails again); returns how it ended and how long it took.
async fn send(
    transport: &dyn Transport,
    templates: &Templates,
    row: store::outbox::Claimed,
) -> (Sent, Duration) {
    let started = std::time::Instant::now();
    let result = match draft::write_out(&row.raw, templates) {
        Ok(raw) => {
            let envelope = Envelope {
                outbox_id: row.id,
                message_id: &row.message_id,
                recipient: &row.recipient,
                raw: &raw,
            };
            transport.send(&envelope).await
        }
        Err(e) => Err(SendError::Permanent(e.to_string())),
    };
    ((row, result), started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(300);
        let delays: Vec<_> = (1..=6).map(|a| backoff(base, max, a).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 300, 300]);
        assert_eq!(backoff(base, max, 200), max);
    }

    #[test]
    fn two_that_take_the_next_slot_each_do_every_slot_once() {
        let slots: Vec<std::sync::Mutex<Vec<u8>>> = (0..1000)
            .map(|_| std::sync::Mutex::new(Vec::new()))
            .collect();
        let next = AtomicUsize::new(0);
        let (mine, theirs) = (AtomicUsize::new(0), AtomicUsize::new(0));
        fn work(who: &AtomicUsize, mark: u8) -> impl Fn(&mut Vec<u8>) + '_ {
            move |raw: &mut Vec<u8>| {
                raw.push(mark);
                who.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::scope(|scope| {
            scope.spawn(|| take_next(&slots, &next, usize::MAX, work(&theirs, b'b')));
            let mut rounds = 0;
            while !take_next(&slots, &next, 16, work(&mine, b'a')) {
                rounds += 1;
                std::thread::yield_now();
            }
            assert!(rounds <= 1000 / 16);
        });
        for slot in &slots {
            let done = slot.lock().unwrap();
            assert!(done[..] == *b"a" || done[..] == *b"b", "{done:?}");
        }
        let (mine, theirs) = (mine.into_inner(), theirs.into_inner());
        assert_eq!(mine + theirs, 1000);
    }
}
