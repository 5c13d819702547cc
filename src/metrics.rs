//! The daemon's counters for Prometheus (`GET /metrics`): what the tasks did since this
//! process started (messages read, mails sent, send failures, quarantined messages, IMAP
//! reconnects, scheduler passes), and the gauges read from the database when scraped (outbox
//! depth, the oldest due message, the last mailbox check, the pool). One [`Metrics`] per
//! process, shared by every task (clones share the counters) and kept across a config reload.
//!
//! It does no I/O: the tasks count here after their work commits, and the HTTP endpoint
//! (`tasks/http.rs`) renders it. Label values come from closed sets (classifications,
//! outcomes, outbox kinds and states, [`QuarantineReason`]), never from what a sender wrote,
//! so the number of series is bounded.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::{Classification, Disposition};

type Labels = Vec<(&'static str, String)>;
type Seconds = Gauge<f64, AtomicU64>;

/// Why a message went to the quarantine, as a label: a small closed set, read from the
/// reader's reason (which is free text for the operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineReason {
    /// From an address tandem does not know.
    UnknownSender,
    /// No sender, or one that is not an address.
    NoSender,
    /// Over the size limit, or not readable past its header.
    NotRead,
    /// Not a mail message, or its handling failed `[limits] attempts` times.
    Unreadable,
    Other,
}

impl QuarantineReason {
    /// The category of a quarantine `reason` as the reader and `classify` word it.
    pub fn of(reason: &str) -> Self {
        if reason.starts_with("unknown sender") {
            Self::UnknownSender
        } else if reason.starts_with("not read") {
            Self::NotRead
        } else if reason.starts_with("unreadable") {
            Self::Unreadable
        } else if reason.starts_with("the sender")
            || reason.starts_with("the message has no sender")
        {
            Self::NoSender
        } else {
            Self::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownSender => "unknown_sender",
            Self::NoSender => "no_sender",
            Self::NotRead => "not_read",
            Self::Unreadable => "unreadable",
            Self::Other => "other",
        }
    }
}

/// Whether a failed send will be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    Temporary,
    Permanent,
}

/// The facts read from the database for a scrape (see `tasks::status`).
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// Outbox rows per state.
    pub outbox: Vec<(String, i64)>,
    /// How long the oldest due message has waited, in seconds (0 when none is due).
    pub oldest_due_seconds: f64,
    /// Seconds since each component last worked (`None`: never).
    pub since_ok: Vec<(String, Option<f64>)>,
    /// Whether each component is healthy by `/healthz`'s rules.
    pub healthy: Vec<(String, bool)>,
    /// The database pool: connections open, of them idle, and the most it opens.
    pub pool_size: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
}

/// The counters and gauges, registered once. Clones share them.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    messages_read: Family<Labels, Counter>,
    quarantined: Family<Labels, Counter>,
    sent: Family<Labels, Counter>,
    send_failures: Family<Labels, Counter>,
    imap_reconnects: Counter,
    scheduler_pass: Histogram,
    outbox: Family<Labels, Gauge>,
    oldest_due: Seconds,
    mailbox_check: Seconds,
    since_ok: Family<Labels, Seconds>,
    healthy: Family<Labels, Gauge>,
    pool: Family<Labels, Gauge>,
    /// Scrapes are serialised: the gauges are set and encoded as one.
    render: std::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tandem");
        let messages_read = Family::<Labels, Counter>::default();
        registry.register(
            "messages_read",
            "Messages read and recorded, by classification and outcome (the folder they went to)",
            messages_read.clone(),
        );
        let quarantined = Family::<Labels, Counter>::default();
        registry.register(
            "messages_quarantined",
            "Messages put in the quarantine, by reason",
            quarantined.clone(),
        );
        let sent = Family::<Labels, Counter>::default();
        registry.register(
            "mails_sent",
            "Mails delivered (answers and scheduled mail), by kind",
            sent.clone(),
        );
        let send_failures = Family::<Labels, Counter>::default();
        registry.register(
            "send_failures",
            "Failed sends: temporary (retried) or permanent (given up)",
            send_failures.clone(),
        );
        let imap_reconnects = Counter::default();
        registry.register(
            "imap_reconnects",
            "IMAP connections opened again after the first (the server hung up, or a command failed)",
            imap_reconnects.clone(),
        );
        let scheduler_pass = Histogram::new(exponential_buckets(0.005, 4.0, 8));
        registry.register(
            "scheduler_pass_seconds",
            "How long a scheduler pass took",
            scheduler_pass.clone(),
        );
        let outbox = Family::<Labels, Gauge>::default();
        registry.register("outbox_messages", "Outbox rows by state", outbox.clone());
        let oldest_due = Seconds::default();
        registry.register(
            "outbox_oldest_due_seconds",
            "How long the oldest message due for sending has waited (0 when none is due)",
            oldest_due.clone(),
        );
        let mailbox_check = Seconds::default();
        registry.register(
            "mailbox_check_age_seconds",
            "Seconds since the last successful mailbox check (-1: never)",
            mailbox_check.clone(),
        );
        let since_ok = Family::<Labels, Seconds>::default();
        registry.register(
            "component_ok_age_seconds",
            "Seconds since each component (inbound, outbound, scheduler) last worked (-1: never)",
            since_ok.clone(),
        );
        let healthy = Family::<Labels, Gauge>::default();
        registry.register(
            "component_healthy",
            "1 when the component is healthy by /healthz's rules, else 0",
            healthy.clone(),
        );
        let pool = Family::<Labels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections: in_use, idle, and max (the most it opens)",
            pool.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            messages_read,
            quarantined,
            sent,
            send_failures,
            imap_reconnects,
            scheduler_pass,
            outbox,
            oldest_due,
            mailbox_check,
            since_ok,
            healthy,
            pool,
            render: std::sync::Mutex::new(()),
        }))
    }

    /// A message recorded (its transaction committed).
    pub fn message_read(
        &self,
        classification: Classification,
        disposition: Disposition,
        reason: &str,
    ) {
        self.0
            .messages_read
            .get_or_create(&vec![
                ("classification", classification.as_str().to_string()),
                ("outcome", disposition.as_str().to_string()),
            ])
            .inc();
        if disposition == Disposition::Quarantine {
            self.0
                .quarantined
                .get_or_create(&vec![(
                    "reason",
                    QuarantineReason::of(reason).as_str().to_string(),
                )])
                .inc();
        }
    }

    /// A mail delivered. `kind` is the outbox row's kind, which tandem names (never a sender).
    pub fn sent(&self, kind: &str) {
        self.0
            .sent
            .get_or_create(&vec![("kind", kind.to_string())])
            .inc();
    }

    pub fn send_failed(&self, failure: SendFailure) {
        let label = match failure {
            SendFailure::Temporary => "temporary",
            SendFailure::Permanent => "permanent",
        };
        self.0
            .send_failures
            .get_or_create(&vec![("type", label.to_string())])
            .inc();
    }

    pub fn imap_reconnected(&self) {
        self.0.imap_reconnects.inc();
    }

    pub fn scheduler_pass(&self, took: std::time::Duration) {
        self.0.scheduler_pass.observe(took.as_secs_f64());
    }

    /// The text a scrape gets (OpenMetrics, which Prometheus reads), with the gauges set from
    /// `gauges`.
    pub fn render(&self, gauges: &Gauges) -> String {
        let _one = self.0.render.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &self.0;
        for state in ["queued", "sending", "sent", "failed"] {
            let n = gauges
                .outbox
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            inner
                .outbox
                .get_or_create(&vec![("state", state.to_string())])
                .set(n);
        }
        inner.oldest_due.set(gauges.oldest_due_seconds);
        for (component, since) in &gauges.since_ok {
            let age = since.unwrap_or(-1.0);
            inner
                .since_ok
                .get_or_create(&vec![("component", component.clone())])
                .set(age);
            if component == "inbound" {
                inner.mailbox_check.set(age);
            }
        }
        for (component, healthy) in &gauges.healthy {
            inner
                .healthy
                .get_or_create(&vec![("component", component.clone())])
                .set(i64::from(*healthy));
        }
        let in_use = gauges.pool_size.saturating_sub(gauges.pool_idle);
        for (state, n) in [
            ("in_use", in_use),
            ("idle", gauges.pool_idle),
            ("max", gauges.pool_max),
        ] {
            inner
                .pool
                .get_or_create(&vec![("state", state.to_string())])
                .set(i64::from(n));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &inner.registry);
        text
    }

    /// The value of a counter, for tests: `messages_read` with its labels, and so on.
    pub fn count(&self, family: &str, labels: &[(&'static str, &str)]) -> u64 {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let family = match family {
            "messages_read" => &self.0.messages_read,
            "messages_quarantined" => &self.0.quarantined,
            "mails_sent" => &self.0.sent,
            "send_failures" => &self.0.send_failures,
            "imap_reconnects" => return self.0.imap_reconnects.get(),
            _ => return 0,
        };
        family.get(&labels).map_or(0, |c| c.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_with_their_labels() {
        let m = Metrics::new();
        m.message_read(Classification::Hours, Disposition::Processed, "hours");
        m.message_read(
            Classification::Unrecognised,
            Disposition::Quarantine,
            "unknown sender x@y.example",
        );
        m.sent("hours_receipt");
        m.send_failed(SendFailure::Temporary);
        let text = m.render(&Gauges {
            outbox: vec![("sent".into(), 3)],
            pool_size: 2,
            pool_idle: 1,
            pool_max: 5,
            ..Gauges::default()
        });
        for line in [
            "tandem_messages_read_total{classification=\"hours\",outcome=\"processed\"} 1",
            "tandem_messages_quarantined_total{reason=\"unknown_sender\"} 1",
            "tandem_mails_sent_total{kind=\"hours_receipt\"} 1",
            "tandem_send_failures_total{type=\"temporary\"} 1",
            "tandem_outbox_messages{state=\"sent\"} 3",
            "tandem_outbox_messages{state=\"queued\"} 0",
            "tandem_db_pool_connections{state=\"in_use\"} 1",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        assert_eq!(m.count("mails_sent", &[("kind", "hours_receipt")]), 1);
    }

    #[test]
    fn quarantine_reasons_are_a_closed_set() {
        for (reason, category) in [
            ("unknown sender a@b.example", "unknown_sender"),
            ("not read: over 25 MB", "not_read"),
            ("unreadable: not an email message", "unreadable"),
            ("the message has no sender", "no_sender"),
            ("the sender 'x' is not a valid address", "no_sender"),
            ("whatever else", "other"),
        ] {
            assert_eq!(QuarantineReason::of(reason).as_str(), category);
        }
    }
}
