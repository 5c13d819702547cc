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
pub mod outbox;
pub mod reader;
pub mod route;
pub mod scheduler;

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

/// Where the tasks note when they last worked and what failed, for the digest and `status`.
#[derive(Debug, Clone)]
pub struct Health {
    pool: Pool,
    clock: Arc<dyn Clock>,
}

impl Health {
    pub fn new(pool: Pool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock }
    }

    /// Notes that `component` just worked.
    pub async fn record_ok(&self, component: &str) -> Result<(), StoreError> {
        let mut conn = store::acquire(&self.pool).await?;
        store::health::record_ok(&mut conn, component, self.clock.now()).await
    }

    /// Notes a failed step in the health table, where the digest reads it. Should even that
    /// fail (the database is the trouble), the log keeps both errors.
    pub async fn record_failure(&self, component: &str, error: &str) {
        let result = match store::acquire(&self.pool).await {
            Ok(mut conn) => {
                store::health::record_error(&mut conn, component, error, self.clock.now()).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::error!(
                component,
                error,
                cause = format!("{:#}", anyhow::Error::from(e)),
                "could not record a failure in the health table"
            );
        }
    }
}
