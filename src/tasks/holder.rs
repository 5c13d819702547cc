//! Who holds the outbox rows this process sends. [`Holder`] is this process's identity in the
//! `outbox_holder` table (a random id, the host, the PID space, the pid and when that pid
//! started) with its heartbeat; [`Holder::forget_the_gone`] looks up the processes of the
//! other holders of the same PID space, forgets those that no longer exist and vouches for
//! the others. A row in `sending` whose holder is
//! forgotten, or silent for [`SILENT`], is claimed at once instead of after its lease: a
//! `run --once` right after a `kill -9` sends what the killed daemon was sending.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::WriteTurns;
use crate::store::{self, Pool, StoreError};

/// How often a process that sends refreshes its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// A holder without a heartbeat for this long counts as gone. Twelve heartbeats. A holder of
/// the same PID space is looked up by its pid instead, and vouched for while it lives; one on
/// another host or in another PID namespace whose database writes stall longer than this may
/// see a message it sent taken up again.
pub const SILENT: Duration = Duration::from_secs(60);

/// Holder rows silent this long are removed (one is added per process start).
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// This process as the holder of what it claims.
#[derive(Debug)]
pub struct Holder {
    record: store::outbox::Holder,
    /// When the heartbeat was last written (on the injected clock).
    last_beat: Mutex<Option<DateTime<Utc>>>,
    /// The process's turns at the write lock: a heartbeat waits its turn like the reader's
    /// transactions and the outbox's marks, instead of polling in SQLite's busy handler for as
    /// long as the reader keeps the lock busy (a second and more while a backlog is read).
    turns: WriteTurns,
}

impl Holder {
    /// A new identity for this process (nothing is written until the first heartbeat), which
    /// writes in the `turns` of the process's other writers.
    pub fn this_process(now: DateTime<Utc>, turns: WriteTurns) -> Self {
        let pid = std::process::id();
        Self {
            record: store::outbox::Holder {
                id: uuid::Uuid::new_v4().simple().to_string(),
                host: read_trimmed("/proc/sys/kernel/hostname")
                    .or_else(|| std::env::var("HOSTNAME").ok())
                    .unwrap_or_else(|| "unknown".into()),
                pid_space: pid_space(),
                pid: i64::from(pid),
                pid_started: process_started(pid).flatten(),
                started_at: now,
            },
            last_beat: Mutex::new(None),
            turns,
        }
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// What the `outbox_holder` table says of this process.
    pub fn record(&self) -> &store::outbox::Holder {
        &self.record
    }

    /// Writes the heartbeat (registering this holder the first time).
    pub async fn beat(&self, pool: &Pool, now: DateTime<Utc>) -> Result<(), StoreError> {
        let _turn = self.turns.take().await;
        let mut conn = store::acquire(pool).await?;
        store::outbox::heartbeat(&mut conn, &self.record, now).await?;
        *self.last_beat.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        Ok(())
    }

    /// Forgets this holder in the table (a daemon that stops), so what it leaves in `sending`
    /// is taken up at once; a later claim registers it again.
    pub async fn leave(&self, conn: &mut store::Conn) -> Result<(), StoreError> {
        store::outbox::forget_holder(conn, &self.record.id).await?;
        *self.last_beat.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    /// Writes the heartbeat unless it was written less than [`HEARTBEAT`] ago: before a claim,
    /// so no row is claimed by a holder others would think gone.
    pub async fn beat_if_due(&self, pool: &Pool, now: DateTime<Utc>) -> Result<(), StoreError> {
        let last = *self.last_beat.lock().unwrap_or_else(|e| e.into_inner());
        let fresh =
            last.is_some_and(|at| (now - at).to_std().is_ok_and(|since| since < HEARTBEAT / 2));
        if fresh {
            return Ok(());
        }
        self.beat(pool, now).await
    }

    /// Heartbeats every [`HEARTBEAT`] until dropped (run beside the sends); a failed one is
    /// logged and tried again at the next.
    pub async fn keep_beating(&self, pool: &Pool, clock: &dyn crate::clock::Clock) {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            if let Err(e) = self.beat(pool, clock.now()).await {
                let error = format!("{:#}", anyhow::Error::from(e));
                tracing::warn!(%error, "could not refresh the outbox heartbeat");
            }
        }
    }

    /// The moment before which a heartbeat is too old: its holder counts as gone.
    pub fn silent_before(now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(SILENT).unwrap_or_default()
    }

    /// Forgets every other holder of this PID space whose process no longer exists (or whose
    /// pid is now another process's), refreshes the heartbeat of those whose process lives
    /// (when it is half [`SILENT`] old), and forgets holders silent for a day. Returns the ids
    /// forgotten as gone. Where the PID space is unknown, only the heartbeat tells. On `conn`,
    /// in the caller's turn at the write lock (the outbox's first claim of a drain).
    pub async fn forget_the_gone(
        &self,
        conn: &mut store::Conn,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let forget_before = now - chrono::Duration::from_std(FORGET_AFTER).unwrap_or_default();
        store::outbox::forget_silent_holders(conn, forget_before).await?;
        let Some(space) = &self.record.pid_space else {
            return Ok(Vec::new());
        };
        let mut gone = Vec::new();
        let stalling = now - chrono::Duration::from_std(SILENT / 2).unwrap_or_default();
        for other in store::outbox::holders_in(conn, space).await? {
            if other.id == self.record.id {
                continue;
            }
            if !is_gone(&other) {
                store::outbox::vouch_for_holder(conn, &other.id, now, stalling).await?;
            } else {
                store::outbox::forget_holder(conn, &other.id).await?;
                tracing::info!(
                    holder = %other.id, pid = other.pid, host = %other.host,
                    "an outbox holder's process is gone; what it was sending is taken up now"
                );
                gone.push(other.id);
            }
        }
        Ok(gone)
    }
}

/// Whether `holder`, a holder of this process's PID space, is a process that no longer exists:
/// its pid is free, a zombie, or another process's (started at another time).
fn is_gone(holder: &store::outbox::Holder) -> bool {
    let Ok(pid) = u32::try_from(holder.pid) else {
        return true;
    };
    match process_started(pid) {
        None => true,
        Some(started) => match (started, holder.pid_started) {
            (Some(now), Some(then)) => now != then,
            // Unknown start times: the pid is taken, so it may be the holder.
            _ => false,
        },
    }
}

/// The kernel boot and PID namespace this process's pid means something in (Linux: the boot
/// id and the namespace's inode); `None` elsewhere.
fn pid_space() -> Option<String> {
    let boot = read_trimmed("/proc/sys/kernel/random/boot_id")?;
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{boot} {}", namespace.display()))
}

/// `None` when there is no live process `pid` (none, or a zombie); else when it started, in
/// ticks since boot, where that can be read.
fn process_started(pid: u32) -> Option<Option<i64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE ... STARTTIME ...": COMM may hold anything, so fields count from the
    // last ')'. STATE is field 3, STARTTIME field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    Some(fields.nth(18).and_then(|f| f.parse().ok()))
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_free_pid_is_gone() {
        let me = Holder::this_process(DateTime::UNIX_EPOCH, WriteTurns::default());
        assert!(me.record.pid_space.is_some(), "Linux has /proc");
        assert!(me.record.pid_started.is_some());
        assert!(!is_gone(&me.record));
        // The same pid started at another time is another process.
        let reused = store::outbox::Holder {
            pid_started: me.record.pid_started.map(|t| t + 1),
            ..me.record.clone()
        };
        assert!(is_gone(&reused));
        // A child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = store::outbox::Holder {
            pid: i64::from(pid),
            ..me.record.clone()
        };
        assert!(is_gone(&dead));
    }

    #[test]
    fn a_zombie_is_gone() {
        assert!(pid_space().is_some(), "Linux has /proc");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: a zombie once it has exited.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while process_started(pid).is_some() {
            assert!(std::time::Instant::now() < deadline, "{pid} never ended");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            std::fs::metadata(format!("/proc/{pid}")).is_ok(),
            "a zombie"
        );
        child.wait().unwrap();
    }
}
