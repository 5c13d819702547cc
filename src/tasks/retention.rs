//! Retention (GDPR Art. 5; `[retention]`): what tandem no longer needs goes once a day, the
//! rows in one transaction, then the mail folders. [`Retention::step`] does it when a day has
//! passed since the last time (the `health` row `retention` says when); `tandem privacy purge`
//! calls [`Retention::purge`] at once.

use std::sync::Arc;
use std::time::Duration;

use super::{Event, Health, Shutdown, wait_for_event};
use crate::clock::Clock;
use crate::config::Config;
use crate::inbound::Mailbox;
use crate::privacy::{self, PrivacyError, Purged};
use crate::store::{self, Pool};

/// How often retention runs.
pub const EVERY: chrono::Duration = chrono::Duration::days(1);

/// How often the task looks whether a day has passed.
const LOOK: Duration = Duration::from_secs(60 * 60);

/// The task that applies `[retention]`.
#[derive(Debug, Clone)]
pub struct Retention {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    pub mailbox: Arc<dyn Mailbox>,
    pub config: Arc<Config>,
    pub health: Health,
}

impl Retention {
    /// Applies `[retention]` now (with `dry_run`, only counts).
    pub async fn purge(&self, dry_run: bool) -> Result<Purged, PrivacyError> {
        let now = self.clock.now();
        let retention = &self.config.retention;
        let mut tx = store::begin_immediate(&self.pool).await?;
        let expired = privacy::purge_rows(&mut tx, retention, now, dry_run).await?;
        store::commit(tx).await?;
        let (processed_mail, quarantined_mail) =
            privacy::purge_mail(self.mailbox.as_ref(), retention, now, dry_run).await?;
        Ok(Purged {
            expired,
            processed_mail,
            quarantined_mail,
        })
    }

    /// Purges when the last purge is a day old or there was none; returns what went then.
    pub async fn step(&self) -> Result<Option<Purged>, PrivacyError> {
        let now = self.clock.now();
        let last = {
            let mut conn = store::acquire(&self.pool).await?;
            store::health::all(&mut conn)
                .await?
                .into_iter()
                .find(|h| h.component == "retention")
                .and_then(|h| h.last_ok_at)
        };
        if last.is_some_and(|at| now - at < EVERY) {
            return Ok(None);
        }
        let purged = self.purge(false).await?;
        self.health.record_ok("retention").await?;
        tracing::info!(
            raw_messages = purged.expired.raw_messages,
            documents = purged.expired.documents,
            health_events = purged.expired.health_events,
            processed_mail = purged.processed_mail,
            quarantined_mail = purged.quarantined_mail,
            "retention applied"
        );
        Ok(Some(purged))
    }

    /// Runs [`Self::step`] every hour until shutdown; a failure is logged and tried again at
    /// the next look.
    pub async fn run(&self, mut shutdown: Shutdown) {
        loop {
            if let Err(e) = self.step().await {
                let error = crate::error::error_chain(&e);
                tracing::error!(%error, "retention failed; trying again in an hour");
                self.health.record_failure("retention", &error).await;
            }
            if let Event::Shutdown = wait_for_event(LOOK, None, &mut shutdown).await {
                return;
            }
        }
    }
}
