//! Liveness for systemd: every long-lived task beats a [`Beat`] as it goes (at each step, and
//! before each wait, saying how long the wait may last), and [`Watchdog::run`] sends
//! `WATCHDOG=1` to the service manager only while every task has beaten within its allowance.
//! A loop stuck in a step (an await that never returns, a blocking call that never ends) stops
//! the pings, and systemd restarts the daemon after `WatchdogSec`. `READY=1` is sent once the
//! tasks run, `RELOADING=1`/`READY=1` around a config reload, `STOPPING=1` at shutdown.
//!
//! The datagrams go to `NOTIFY_SOCKET` through the `sd-notify` crate; without that variable
//! (not under systemd) nothing is sent. The interval is systemd's `WATCHDOG_USEC`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::{Event, Shutdown, wait_for_event};

/// One task's last sign of life: when it last beat, and how much longer than the watchdog's
/// interval it may be silent after that (the length of the wait it began). Clones share it.
#[derive(Debug, Clone)]
pub struct Beat(Arc<BeatState>);

#[derive(Debug)]
struct BeatState {
    name: &'static str,
    /// When the process started, the clock the two counters below are read on.
    origin: Instant,
    /// Milliseconds since `origin` of the last beat.
    at: AtomicU64,
    /// Milliseconds of silence allowed after it beyond the interval (a wait's length);
    /// `u64::MAX` once the task has ended.
    allowed: AtomicU64,
}

impl Beat {
    pub fn new(name: &'static str) -> Self {
        Self(Arc::new(BeatState {
            name,
            origin: Instant::now(),
            at: AtomicU64::new(0),
            allowed: AtomicU64::new(0),
        }))
    }

    pub fn name(&self) -> &'static str {
        self.0.name
    }

    fn elapsed_ms(&self) -> u64 {
        self.0.origin.elapsed().as_millis() as u64
    }

    /// The task is working: it must beat again within the watchdog's interval.
    pub fn working(&self) {
        self.0.at.store(self.elapsed_ms(), Ordering::Relaxed);
        self.0.allowed.store(0, Ordering::Relaxed);
    }

    /// The task begins a wait of at most `wait` (a poll interval, an IDLE): it may be silent
    /// that long, plus the interval.
    pub fn waiting(&self, wait: Duration) {
        self.0.at.store(self.elapsed_ms(), Ordering::Relaxed);
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX / 2);
        self.0
            .allowed
            .store(ms.min(u64::MAX / 2), Ordering::Relaxed);
    }

    /// The task has ended (shutdown): it is not waited for any more.
    pub fn ended(&self) {
        self.0.allowed.store(u64::MAX, Ordering::Relaxed);
    }

    /// Whether the task has been silent for longer than its allowance plus `interval`.
    pub fn overdue(&self, interval: Duration) -> bool {
        let allowed = self.0.allowed.load(Ordering::Relaxed);
        if allowed == u64::MAX {
            return false;
        }
        let at = self.0.at.load(Ordering::Relaxed);
        let limit = at
            .saturating_add(allowed)
            .saturating_add(interval.as_millis() as u64);
        self.elapsed_ms() > limit
    }
}

/// The three tasks' beats, made once per process and kept across config reloads.
#[derive(Debug, Clone)]
pub struct Beats {
    pub reader: Beat,
    pub outbox: Beat,
    pub scheduler: Beat,
}

impl Default for Beats {
    fn default() -> Self {
        Self {
            reader: Beat::new("reader"),
            outbox: Beat::new("outbox"),
            scheduler: Beat::new("scheduler"),
        }
    }
}

impl Beats {
    fn all(&self) -> [&Beat; 3] {
        [&self.reader, &self.outbox, &self.scheduler]
    }

    /// The tasks silent for too long.
    pub fn overdue(&self, interval: Duration) -> Vec<&'static str> {
        self.all()
            .into_iter()
            .filter(|b| b.overdue(interval))
            .map(Beat::name)
            .collect()
    }

    /// Every task is working from now (at a start or restart of the tasks).
    pub fn start(&self) {
        for beat in self.all() {
            beat.working();
        }
    }
}

/// A state sent to the service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Ready,
    Reloading,
    Stopping,
}

/// Sends `notice` to systemd, when it is listening (`NOTIFY_SOCKET`); a failure is logged.
pub fn notify(notice: Notice) {
    use sd_notify::NotifyState;
    let state = match notice {
        Notice::Ready => vec![NotifyState::Ready],
        Notice::Reloading => match sd_notify::NotifyState::monotonic_usec_now() {
            Ok(now) => vec![NotifyState::Reloading, now],
            Err(_) => vec![NotifyState::Reloading],
        },
        Notice::Stopping => vec![NotifyState::Stopping],
    };
    if let Err(e) = sd_notify::notify(&state) {
        tracing::warn!(error = %e, ?notice, "could not notify systemd");
    }
}

/// The pinger: every half interval, `WATCHDOG=1` if no task is overdue.
#[derive(Debug, Clone)]
pub struct Watchdog {
    pub beats: Beats,
    /// systemd's `WATCHDOG_USEC`.
    pub interval: Duration,
}

impl Watchdog {
    /// The watchdog systemd asks for (`WATCHDOG_USEC`, for this pid), if any.
    pub fn from_env(beats: Beats) -> Option<Self> {
        sd_notify::watchdog_enabled().map(|interval| Self { beats, interval })
    }

    /// Pings until shutdown. A task overdue is logged once when the pings stop, and again
    /// when they start again.
    pub async fn run(&self, mut shutdown: Shutdown) {
        let mut stopped = false;
        tracing::info!(
            interval_ms = self.interval.as_millis() as u64,
            "systemd watchdog on: pinging while every task beats"
        );
        loop {
            let overdue = self.beats.overdue(self.interval);
            if overdue.is_empty() {
                if stopped {
                    tracing::warn!("every task beats again; watchdog pings resume");
                    stopped = false;
                }
                if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]) {
                    tracing::warn!(error = %e, "could not ping the systemd watchdog");
                }
            } else if !stopped {
                stopped = true;
                tracing::error!(
                    tasks = overdue.join(", "),
                    "a task is stuck: watchdog pings stop, so systemd restarts the daemon"
                );
            }
            if wait_for_event(self.interval / 4, None, &mut shutdown).await == Event::Shutdown {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_is_overdue_once_silent_past_its_wait_and_the_interval() {
        let beat = Beat::new("reader");
        let interval = Duration::from_secs(10);
        beat.working();
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!beat.overdue(interval));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(beat.overdue(interval));
        beat.waiting(Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(65)).await;
        assert!(!beat.overdue(interval), "a long wait is not a hang");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(beat.overdue(interval));
        beat.ended();
        assert!(!beat.overdue(interval));
    }
}
