//! The daemon's long-lived tasks, each a struct holding the few things it uses, with a single
//! `step` that tests drive and a `run(shutdown)` loop: the [`reader::Reader`] (mail in), the
//! [`outbox::OutboxWorker`] (mail out) and the [`scheduler::Scheduler`]. [`route`] is what the
//! reader decides a message is (it reads only, so `tandem parse` shows the same).
//!
//! [`holder`] is this process as the holder of the outbox rows it sends (its heartbeat, and
//! how it tells that another holder is gone).
//!
//! Also what every task shares: the [`Shutdown`] signal, [`wait_for_event`], the one way a task
//! waits, and [`Health`], where a task notes that it worked or failed for the digest.
//! The composition root (`app`) builds the tasks; nothing here knows it.

pub mod holder;
pub mod http;
pub mod outbox;
pub mod reader;
pub mod retention;
pub mod route;
pub mod scheduler;
pub mod status;
pub mod watchdog;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::store::{self, Pool, StoreError};

/// The receiving end of the shutdown signal, one clone per task. A task stops at the end of
/// its current step; the outbox worker starts no new send once it is asked.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Whether shutdown has been asked for, without waiting.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Completes once shutdown has been asked for (or its sender is gone).
    pub async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

pub fn shutdown_channel() -> (watch::Sender<bool>, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (tx, Shutdown(rx))
}

/// What ended a task's wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Its next due time came.
    Due,
    /// Something new arrived for it.
    Woken,
    Shutdown,
}

/// Waits `timeout`, or until `wake` is notified, or until shutdown, whichever is first.
pub async fn wait_for_event(
    timeout: Duration,
    wake: Option<&Notify>,
    shutdown: &mut Shutdown,
) -> Event {
    let woken = async {
        match wake {
            Some(notify) => notify.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = shutdown.wait() => Event::Shutdown,
        () = woken => Event::Woken,
        () = tokio::time::sleep(timeout) => Event::Due,
    }
}

/// Turns at the database's write lock for the writers of this process that take it often: the
/// reader's transactions and the outbox's claims and marks wait for it in order (first come,
/// first served). Left to SQLite's busy handler, which polls (every 100 ms once it has waited a
/// while), a mark could lose the lock for seconds to a reader that takes it back at once after
/// each commit; a mail sent but not marked meanwhile is sent again should the daemon die.
#[derive(Debug, Clone, Default)]
pub struct WriteTurns(Arc<tokio::sync::Mutex<()>>);

impl WriteTurns {
    /// Waits for this writer's turn; it lasts until the guard is dropped.
    pub async fn take(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.lock().await
    }
}

/// Where the tasks note when they last worked and what failed, for the digest and `status`.
///
/// The database is often what fails: locked past the busy timeout, or on a full disk. Then the
/// failure cannot be written either, so it is kept here, in memory, and written (with the time
/// it happened) as soon as the database takes writes again: the outage is in `health_event`
/// afterwards, each failure at its own time. Clones share what is kept.
#[derive(Debug, Clone)]
pub struct Health {
    pool: Pool,
    clock: Arc<dyn Clock>,
    /// Failures not written yet. A tokio mutex, held across the write, so two clones never
    /// write the same failure twice.
    unwritten: Arc<tokio::sync::Mutex<Unwritten>>,
}

/// The failures a refusing database has not taken yet.
#[derive(Debug, Default)]
struct Unwritten {
    failures: Vec<store::health::Failure>,
    /// Failures not kept because [`UNWRITTEN_KEPT`] were waiting already.
    dropped: u64,
}

/// How many failures are kept in memory while the database refuses writes; the rest are
/// counted, and that count written with them.
pub const UNWRITTEN_KEPT: usize = 1000;

impl Health {
    pub fn new(pool: Pool, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            clock,
            unwritten: Arc::default(),
        }
    }

    /// Notes that `component` just worked, after writing any failures kept from an outage.
    pub async fn record_ok(&self, component: &str) -> Result<(), StoreError> {
        self.flush().await?;
        let mut conn = store::acquire(&self.pool).await?;
        store::health::record_ok(&mut conn, component, self.clock.now()).await
    }

    /// Notes a failed step in the health table, where the digest reads it. Should even that
    /// fail (the database is the trouble), the failure is kept in memory and written with the
    /// next one the database takes; the log has it meanwhile.
    pub async fn record_failure(&self, component: &str, error: &str) {
        let failure = store::health::Failure {
            component: component.to_string(),
            error: error.to_string(),
            at: self.clock.now(),
        };
        {
            let mut unwritten = self.unwritten.lock().await;
            if unwritten.failures.len() < UNWRITTEN_KEPT {
                unwritten.failures.push(failure);
            } else {
                unwritten.dropped += 1;
            }
        }
        if let Err(e) = self.flush().await {
            let kept = self.unwritten.lock().await.failures.len();
            tracing::error!(
                component,
                error,
                cause = format!("{:#}", anyhow::Error::from(e)),
                kept,
                "could not record a failure in the health table; kept in memory until the \
                 database takes writes again"
            );
        }
    }

    /// Writes the failures kept in memory, in one transaction; on an error they stay kept.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let mut unwritten = self.unwritten.lock().await;
        if unwritten.failures.is_empty() && unwritten.dropped == 0 {
            return Ok(());
        }
        let mut failures = unwritten.failures.clone();
        if unwritten.dropped > 0 {
            let last = failures.last().cloned();
            if let Some(last) = last {
                failures.push(store::health::Failure {
                    error: format!(
                        "{} more failures while the database refused writes were not kept",
                        unwritten.dropped
                    ),
                    ..last
                });
            }
        }
        let mut tx = store::begin(&self.pool).await?;
        for failure in &failures {
            store::health::record_failure(&mut tx, failure).await?;
        }
        store::commit(tx).await?;
        if failures.len() > 1 {
            tracing::info!(
                written = failures.len(),
                since = %failures[0].at,
                "the database takes writes again; failures kept meanwhile are in the health table"
            );
        }
        *unwritten = Unwritten::default();
        Ok(())
    }
}
