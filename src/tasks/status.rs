//! What `tandem status` prints and `/healthz` answers: whether mail in, mail out and the
//! scheduler each worked within the time the config makes them expect, read from the
//! `health` table the tasks write (so it is the same whether or not the daemon runs, and
//! whichever of several daemons did the work), with the outbox's depth and the daemons'
//! heartbeats (`outbox_holder`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::holder::SILENT;
use crate::config::Thresholds;
use crate::store::{self, Conn, StoreError};

/// The parts whose health is judged, in the order they are shown.
pub const PARTS: [&str; 3] = ["inbound", "outbound", "scheduler"];

/// Everything `status` shows, as of `now`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub now: DateTime<Utc>,
    /// Every part healthy.
    pub healthy: bool,
    pub parts: Vec<Part>,
    pub outbox: Outbox,
    /// The daemons registered in the database, newest heartbeat first.
    pub daemons: Vec<Daemon>,
    pub thresholds: Thresholds,
}

/// One part's health.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    pub name: &'static str,
    pub healthy: bool,
    /// Why it is not healthy, in words; `None` when it is.
    pub problem: Option<String>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub seconds_since_ok: Option<i64>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Errors recorded in all.
    pub errors: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outbox {
    /// Rows per state.
    pub states: Vec<(String, i64)>,
    /// When the longest-waiting due message became due.
    pub oldest_due_at: Option<DateTime<Utc>>,
    pub oldest_due_seconds: i64,
}

/// A daemon as `outbox_holder` records it.
#[derive(Debug, Clone, Serialize)]
pub struct Daemon {
    pub host: String,
    pub pid: i64,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Its heartbeat is recent (within `SILENT`, 60 s): it runs.
    pub running: bool,
}

/// Reads the facts from the database and judges them by `thresholds`.
pub async fn read(
    conn: &mut Conn,
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> Result<Status, StoreError> {
    let recorded = store::health::all(conn).await?;
    let states = store::outbox::depth(conn).await?;
    let oldest_due_at = store::outbox::oldest_due(conn, now).await?;
    let holders = store::outbox::holders(conn).await?;
    let outbox = Outbox {
        states,
        oldest_due_at,
        oldest_due_seconds: oldest_due_at.map_or(0, |at| (now - at).num_seconds().max(0)),
    };
    let silent = chrono::Duration::from_std(SILENT).unwrap_or_default();
    let daemons = holders
        .into_iter()
        .map(|r| Daemon {
            host: r.holder.host,
            pid: r.holder.pid,
            started_at: r.holder.started_at,
            heartbeat_at: r.heartbeat_at,
            running: now - r.heartbeat_at <= silent,
        })
        .collect();
    let parts: Vec<Part> = PARTS
        .iter()
        .map(|name| {
            let row = recorded.iter().find(|h| h.component == *name);
            judge(name, row, &outbox, thresholds, now)
        })
        .collect();
    Ok(Status {
        now,
        healthy: parts.iter().all(|p| p.healthy),
        parts,
        outbox,
        daemons,
        thresholds,
    })
}

/// One part's verdict: mail in and the scheduler by the time since they last worked, mail
/// out by how long the oldest due message has waited (a quiet outbox has nothing to send).
fn judge(
    name: &'static str,
    row: Option<&store::health::Health>,
    outbox: &Outbox,
    t: Thresholds,
    now: DateTime<Utc>,
) -> Part {
    let last_ok_at = row.and_then(|r| r.last_ok_at);
    let since = last_ok_at.map(|at| (now - at).num_seconds().max(0));
    let stale = |limit: std::time::Duration| match since {
        None => Some("has never worked".to_string()),
        Some(s) if s as u64 > limit.as_secs() => Some(format!(
            "last worked {s} s ago, longer than the {} s it may",
            limit.as_secs()
        )),
        Some(_) => None,
    };
    let problem = match name {
        "outbound" => (outbox.oldest_due_seconds as u64 > t.outbound.as_secs()).then(|| {
            format!(
                "a message has been due for {} s, longer than the {} s it may",
                outbox.oldest_due_seconds,
                t.outbound.as_secs()
            )
        }),
        "inbound" => stale(t.inbound),
        _ => stale(t.scheduler),
    };
    Part {
        name,
        healthy: problem.is_none(),
        problem,
        last_ok_at,
        seconds_since_ok: since,
        last_error_at: row.and_then(|r| r.last_error_at),
        last_error: row.and_then(|r| r.last_error.clone()),
        errors: row.map_or(0, |r| r.error_count),
    }
}

impl Status {
    /// The gauges `/metrics` shows from these facts.
    pub fn gauges(&self, pool: (u32, u32, u32)) -> crate::metrics::Gauges {
        crate::metrics::Gauges {
            outbox: self.outbox.states.clone(),
            oldest_due_seconds: self.outbox.oldest_due_seconds as f64,
            since_ok: self
                .parts
                .iter()
                .map(|p| (p.name.to_string(), p.seconds_since_ok.map(|s| s as f64)))
                .collect(),
            healthy: self
                .parts
                .iter()
                .map(|p| (p.name.to_string(), p.healthy))
                .collect(),
            pool_size: pool.0,
            pool_idle: pool.1,
            pool_max: pool.2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn thresholds() -> Thresholds {
        Thresholds {
            inbound: Duration::from_secs(60),
            outbound: Duration::from_secs(900),
            scheduler: Duration::from_secs(300),
        }
    }

    #[test]
    fn a_part_is_down_once_it_has_not_worked_for_its_threshold() {
        let now = DateTime::UNIX_EPOCH + chrono::Duration::hours(1);
        let row = |ago: i64| store::health::Health {
            component: "inbound".into(),
            last_ok_at: Some(now - chrono::Duration::seconds(ago)),
            last_error_at: None,
            last_error: None,
            error_count: 0,
        };
        let outbox = Outbox::default();
        assert!(judge("inbound", Some(&row(60)), &outbox, thresholds(), now).healthy);
        let down = judge("inbound", Some(&row(61)), &outbox, thresholds(), now);
        assert!(!down.healthy);
        assert!(down.problem.unwrap().contains("61 s ago"));
        assert!(!judge("scheduler", None, &outbox, thresholds(), now).healthy);
        // Mail out is judged by what waits, not by when it last sent.
        assert!(judge("outbound", None, &outbox, thresholds(), now).healthy);
        let waiting = Outbox {
            oldest_due_seconds: 901,
            ..Outbox::default()
        };
        assert!(!judge("outbound", None, &waiting, thresholds(), now).healthy);
    }
}
