//! Liveness for systemd: every long-lived task beats a [`Beat`] as it goes (at each step, and
//! before each wait, saying how long the wait may last), and [`Watchdog::run`] sends
//! `WATCHDOG=1` to the service manager only while every task has beaten within its allowance.
//! A loop stuck in a step (an await that never returns, a blocking call that never ends) stops
//! the pings, and systemd restarts the daemon after `WatchdogSec`. `READY=1` is sent once the
//! tasks run, `RELOADING=1`/`READY=1` around a config reload, `STOPPING=1` at shutdown.
//!
//! The datagrams go to `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace),
//! written here in a few lines over a non-blocking `UnixDatagram`: a socket whose queue is
//! full drops the message instead of blocking a runtime thread (the `sd-notify` crate sends
//! on a blocking socket). Without that variable (not under systemd) nothing is sent. The
//! interval is systemd's `WATCHDOG_USEC` (for this pid, when `WATCHDOG_PID` names one).

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
        self.working_at(self.elapsed_ms());
    }

    fn working_at(&self, ms: u64) {
        self.0.at.store(ms, Ordering::Relaxed);
        self.0.allowed.store(0, Ordering::Relaxed);
    }

    /// The task begins a wait of at most `wait` (a poll interval, an IDLE): it may be silent
    /// that long, plus the interval.
    pub fn waiting(&self, wait: Duration) {
        self.waiting_at(self.elapsed_ms(), wait);
    }

    fn waiting_at(&self, ms: u64, wait: Duration) {
        self.0.at.store(ms, Ordering::Relaxed);
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
        self.overdue_at(self.elapsed_ms(), interval)
    }

    fn overdue_at(&self, now_ms: u64, interval: Duration) -> bool {
        let allowed = self.0.allowed.load(Ordering::Relaxed);
        if allowed == u64::MAX {
            return false;
        }
        let at = self.0.at.load(Ordering::Relaxed);
        let limit = at
            .saturating_add(allowed)
            .saturating_add(interval.as_millis() as u64);
        now_ms > limit
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
    Watchdog,
}

impl Notice {
    fn text(self) -> String {
        match self {
            Notice::Ready => "READY=1".into(),
            // systemd 253's reload protocol wants the monotonic time with it; older ones
            // ignore the field.
            Notice::Reloading => format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()),
            Notice::Stopping => "STOPPING=1".into(),
            Notice::Watchdog => "WATCHDOG=1".into(),
        }
    }
}

/// CLOCK_MONOTONIC in microseconds, as systemd reads it (from `/proc/uptime`, which counts
/// the same clock but for suspend; close enough for a reload stamp, and no `unsafe`).
fn monotonic_usec() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0, |s| (s * 1e6) as u64)
}

/// Sends `notice` to systemd, when it listens (`NOTIFY_SOCKET`); a failure is logged.
pub fn notify(notice: Notice) {
    if let Err(e) = send(&notice.text()) {
        tracing::warn!(error = %e, ?notice, "could not notify systemd");
    }
}

/// One datagram to `NOTIFY_SOCKET`, never blocking; `Ok` when there is no such variable.
fn send(text: &str) -> std::io::Result<()> {
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let socket = UnixDatagram::unbound()?;
    socket.set_nonblocking(true)?;
    let bytes = target.as_encoded_bytes();
    let address = match bytes.strip_prefix(b"@") {
        #[cfg(target_os = "linux")]
        Some(name) => {
            use std::os::linux::net::SocketAddrExt as _;
            SocketAddr::from_abstract_name(name)?
        }
        #[cfg(not(target_os = "linux"))]
        Some(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "abstract sockets are Linux's",
            ));
        }
        None => SocketAddr::from_pathname(std::path::Path::new(&target))?,
    };
    let sent = socket.send_to_addr(text.as_bytes(), &address)?;
    if sent != text.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            "the notification was cut short",
        ));
    }
    Ok(())
}

/// systemd's watchdog interval for this process: `WATCHDOG_USEC`, unless `WATCHDOG_PID`
/// names another process.
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.trim().parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec))
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
        watchdog_interval().map(|interval| Self { beats, interval })
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
                if let Err(e) = send(&Notice::Watchdog.text()) {
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

    #[test]
    fn notices_are_systemds_words() {
        assert_eq!(Notice::Ready.text(), "READY=1");
        assert_eq!(Notice::Watchdog.text(), "WATCHDOG=1");
        assert_eq!(Notice::Stopping.text(), "STOPPING=1");
        assert!(
            Notice::Reloading
                .text()
                .starts_with("RELOADING=1\nMONOTONIC_USEC=")
        );
    }

    #[test]
    fn a_task_is_overdue_once_silent_past_its_wait_and_the_interval() {
        let beat = Beat::new("reader");
        let interval = Duration::from_secs(10);
        beat.working_at(1_000);
        assert!(!beat.overdue_at(11_000, interval));
        assert!(beat.overdue_at(11_001, interval));
        beat.waiting_at(20_000, Duration::from_secs(60));
        assert!(
            !beat.overdue_at(89_000, interval),
            "a long wait is not a hang"
        );
        assert!(beat.overdue_at(90_001, interval));
        beat.ended();
        assert!(!beat.overdue_at(u64::MAX / 2, interval));
        beat.working_at(100_000);
        assert!(
            !beat.overdue_at(100_000, interval),
            "working again after it ended"
        );
    }
}
