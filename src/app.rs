//! The composition root: [`App`] builds every part of tandem from the config (the pool, the
//! compiled templates and the composer, the mailbox and the transport, the clock) and hands
//! each task and flow the few of them it uses. Only the command line (`cli/`) imports this
//! module; nothing it builds knows it. [`App::run`] starts the reader, the outbox worker and
//! the scheduler as tasks and stops them all, within a bound, when the shutdown future given to
//! it completes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::compose::{Composer, MailError};
use crate::config::{Config, InboundBackend, OutboundBackend};
use crate::digest::figures::Week;
use crate::domain::Party;
use crate::inbound::imap::{Folders, ImapMailbox};
use crate::inbound::maildir::Maildir;
use crate::inbound::{InboundError, Mailbox};
use crate::onboarding::{self, EngagementRequest, OnboardingError, Started};
use crate::outbound::Transport;
use crate::outbound::file::FileTransport;
use crate::outbound::smtp::SmtpTransport;
use crate::store::{self, Pool, StoreError};
use crate::tasks::holder::Holder;
use crate::tasks::outbox::OutboxWorker;
use crate::tasks::reader::Reader;
use crate::tasks::scheduler::Scheduler;
use crate::tasks::{Health, WriteTurns, shutdown_channel};
use crate::templates::{TemplateError, Templates};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error("could not prepare the mailbox")]
    Mailbox(#[from] InboundError),
    #[error("could not set up SMTP: {0}")]
    Smtp(String),
    #[error("could not create the outbox folder '{0}'")]
    Outbox(std::path::PathBuf, #[source] std::io::Error),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Opens the configured database, with its password read now from where the config says.
pub async fn open_database(
    database: &crate::config::Database,
    max_connections: u32,
    mode: store::Open,
) -> Result<Pool, AppError> {
    let password = database.password()?;
    let at = store::Location {
        url: &database.url,
        password: password.as_ref().map(|p| p.expose()),
    };
    Ok(store::connect(at, max_connections, mode).await?)
}

/// Everything tandem is made of, built once from the config. Tasks and flows get their parts
/// from here ([`App::reader`], [`App::outbox`], [`App::scheduler`], [`App::composer`]); none of
/// them holds the whole.
#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub pool: Pool,
    /// Compiled and checked at start-up.
    pub templates: Arc<Templates>,
    /// Every "now" in tandem comes from here.
    pub clock: Arc<dyn Clock>,
    /// Where outgoing mail is delivered.
    pub transport: Arc<dyn Transport>,
    /// Where incoming mail is read.
    pub mailbox: Arc<dyn Mailbox>,
    /// Rung when this process queues mail, so the worker sends it without waiting for a poll.
    pub outbox_wake: Arc<Notify>,
    /// Shared by the tasks: failures kept while the database refuses writes are written by
    /// whichever task next gets through.
    health: Health,
    /// Who this process is in the outbox rows it claims.
    pub holder: Arc<Holder>,
    /// The reader's and the outbox's turns at the write lock.
    write_turns: WriteTurns,
}

impl App {
    /// Opens (and creates, and migrates) the database, compiles and checks the templates, and
    /// creates the mailbox folders.
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, AppError> {
        let templates = Templates::load(&config.templates.dir)?;
        let pool = open_database(
            &config.database,
            config.database.max_connections,
            store::Open::Create,
        )
        .await?;
        let mailbox = mailbox(&config)?;
        // A local Maildir that cannot be made is a setup error; a mail server that is down now
        // is not: the reader connects when it can, and the health table shows the failure.
        if let Err(e) = mailbox.prepare().await {
            if config.inbound.backend == InboundBackend::Maildir {
                return Err(e.into());
            }
            let error = format!("{:#}", anyhow::Error::from(e));
            tracing::warn!(%error, "the mailbox cannot be prepared now; the reader will retry");
            let mut conn = store::acquire(&pool).await?;
            store::health::record_error(&mut conn, "inbound", &error, clock.now()).await?;
        }
        match (&config.outbound.backend, &config.outbound.dir) {
            (OutboundBackend::File, Some(dir)) => {
                std::fs::create_dir_all(dir).map_err(|e| AppError::Outbox(dir.clone(), e))?
            }
            (OutboundBackend::File, None) | (OutboundBackend::Smtp, _) => {}
        }
        Ok(Self {
            health: Health::new(pool.clone(), clock.clone()),
            transport: transport(&config)?,
            mailbox,
            pool,
            templates: Arc::new(templates),
            holder: Arc::new(Holder::this_process(clock.now())),
            write_turns: WriteTurns::default(),
            clock,
            config: Arc::new(config),
            outbox_wake: Arc::new(Notify::new()),
        })
    }

    /// The templates and the agency's settings, for the flows.
    pub fn composer(&self) -> Composer {
        Composer::new(
            self.templates.clone(),
            self.config.agency.clone(),
            self.config.agreements.clone(),
        )
    }

    fn health(&self) -> Health {
        self.health.clone()
    }

    /// The task that reads the mailbox.
    pub fn reader(&self) -> Reader {
        Reader {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            mailbox: self.mailbox.clone(),
            compose: self.composer(),
            config: self.config.clone(),
            wake: self.outbox_wake.clone(),
            health: self.health(),
            turns: self.write_turns.clone(),
        }
    }

    /// The task that delivers the outbox.
    pub fn outbox(&self) -> OutboxWorker {
        OutboxWorker {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            transport: self.transport.clone(),
            settings: self.config.outbound.clone(),
            idle: self.config.inbound.poll_interval,
            wake: self.outbox_wake.clone(),
            health: self.health(),
            holder: self.holder.clone(),
            turns: self.write_turns.clone(),
        }
    }

    /// The task that sends what the schedule says is due.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            compose: self.composer(),
            config: self.config.clone(),
            wake: self.outbox_wake.clone(),
            health: self.health(),
        }
    }

    /// Runs `script` in a transaction for a CLI command, with the composer and one `now`;
    /// commits and wakes the outbox when it succeeds. `immediate` takes the write lock at once
    /// (for scripts that read, then number what they write).
    async fn in_transaction<T, E: From<StoreError>>(
        &self,
        immediate: bool,
        script: impl AsyncFnOnce(&mut store::Conn, &Composer, DateTime<Utc>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = match immediate {
            true => store::begin_immediate(&self.pool).await?,
            false => store::begin(&self.pool).await?,
        };
        let done = script(&mut tx, &self.composer(), self.clock.now()).await?;
        store::commit(tx).await?;
        self.outbox_wake.notify_one();
        Ok(done)
    }

    /// `tandem engagement add`: the engagement, its agreements and the welcome mails.
    pub async fn start_engagement(
        &self,
        request: &EngagementRequest,
    ) -> Result<Started, OnboardingError> {
        let weeks = self.config.engagements.default_trial_weeks;
        self.in_transaction(false, async |tx, compose, now| {
            onboarding::start(tx, compose, weeks, request, now).await
        })
        .await
    }

    /// `tandem engagement end`: the engagement ended on `last_day` (default today), with the
    /// closing mails unless `[engagements] closing_mail` is off.
    pub async fn end_engagement(
        &self,
        id: i64,
        last_day: Option<chrono::NaiveDate>,
    ) -> Result<onboarding::lifecycle::Ended, OnboardingError> {
        let closing_mail = self.config.engagements.closing_mail;
        self.in_transaction(false, async |tx, compose, now| {
            onboarding::lifecycle::end(tx, compose, closing_mail, id, last_day, now).await
        })
        .await
    }

    /// `tandem import`: everything `plan` holds, in one transaction, committed only when
    /// every row went in and `dry_run` is off (a dry run goes through every check the
    /// database makes, then rolls back).
    pub async fn import(
        &self,
        plan: &crate::import::Plan,
        dry_run: bool,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<crate::import::Imported, crate::import::ImportError> {
        let weeks = self.config.engagements.default_trial_weeks;
        let mut tx = store::begin_immediate(&self.pool).await?;
        let done = crate::import::apply(
            &mut tx,
            &self.composer(),
            weeks,
            plan,
            self.clock.now(),
            progress,
        )
        .await;
        match done {
            Ok(done) if !dry_run => {
                store::commit(tx).await?;
                self.outbox_wake.notify_one();
                Ok(done)
            }
            other => {
                store::rollback(tx).await?;
                other
            }
        }
    }

    /// `tandem survey send`: a survey now, outside the cadence. Returns the survey's id.
    pub async fn send_survey_now(&self, engagement_id: i64) -> Result<i64, MailError> {
        let questions = &self.config.surveys.questions;
        self.in_transaction(true, async |tx, compose, now| {
            crate::survey::flow::send_now(tx, compose, questions, engagement_id, now).await
        })
        .await
    }

    /// `tandem agreement remind`: a reminder now to every party with an agreement pending.
    /// Returns the parties reminded.
    pub async fn remind_agreements_now(&self, engagement_id: i64) -> Result<Vec<Party>, MailError> {
        self.in_transaction(true, async |tx, compose, now| {
            crate::agreements::remind_now(tx, compose, engagement_id, now).await
        })
        .await
    }

    /// `tandem digest --send`: queues the digest of `week` under `key`; `false` when it was
    /// queued before.
    pub async fn send_digest(&self, week: Week, key: &str) -> Result<bool, MailError> {
        self.scheduler().send_digest(week, key).await
    }

    /// One pass of everything: read the whole inbox and run the scheduler once, while the
    /// outbox sends what they queue as they commit it; returns once all that is due is sent.
    /// For `tandem run --once` and for tests.
    pub async fn run_once(&self) -> anyhow::Result<()> {
        let queued_all = std::sync::atomic::AtomicBool::new(false);
        let reading = async {
            let read = async {
                self.reader().drain().await?;
                let scheduler = self.scheduler();
                // A start like the daemon's: the config may have changed since the last one.
                scheduler.wake_all().await?;
                scheduler.step().await?;
                anyhow::Ok(())
            }
            .await;
            queued_all.store(true, std::sync::atomic::Ordering::SeqCst);
            self.outbox_wake.notify_one();
            read
        };
        let sending = async {
            let outbox = self.outbox();
            loop {
                // Read before the drain: the drain after the last queueing is a whole one.
                let last = queued_all.load(std::sync::atomic::Ordering::SeqCst);
                outbox.drain().await?;
                if last {
                    return anyhow::Ok(());
                }
                self.outbox_wake.notified().await;
            }
        };
        let (read, sent) = tokio::join!(reading, sending);
        read.and(sent)
    }

    /// The daemon. When `shutdown` completes, every task is asked to stop: the reader and the
    /// scheduler get [`STOP_GRACE`] to end their current step, the outbox worker starts no new
    /// send and gets its sends' deadline (`send_timeout`) plus [`STOP_GRACE`]. A task still
    /// running then is abandoned (dropped mid-step: nothing it had not committed is kept, and a
    /// send cut off is left in `sending` for the next start, which takes it up at once since
    /// this process is gone). Returns within [`App::stop_bound`] of the signal.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (trigger, signal) = shutdown_channel();
        let tasks = [
            ("reader", {
                let (reader, signal) = (self.reader(), signal.clone());
                tokio::spawn(async move { reader.run(signal).await })
            }),
            ("outbox", {
                let (outbox, signal) = (self.outbox(), signal.clone());
                tokio::spawn(async move { outbox.run(signal).await })
            }),
            ("scheduler", {
                let (scheduler, signal) = (self.scheduler(), signal.clone());
                tokio::spawn(async move { scheduler.run(signal).await })
            }),
        ];
        shutdown.await;
        let asked = tokio::time::Instant::now();
        tracing::info!(
            "shutting down: no new send starts; a send in flight gets up to {} s, then is left \
             for the next start; stopped within {} s",
            self.send_deadline().as_secs(),
            self.stop_bound().as_secs()
        );
        let _ = trigger.send(true);
        let mut failed = Vec::new();
        let mut abandoned = Vec::new();
        for (name, mut task) in tasks {
            let allowed = match name {
                "outbox" => self.send_deadline() + STOP_GRACE,
                _ => STOP_GRACE,
            };
            match tokio::time::timeout_at(asked + allowed, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(task = name, error = %e, "task ended abnormally");
                    failed.push(name);
                }
                Err(_) => {
                    task.abort();
                    let _ = task.await;
                    tracing::warn!(
                        task = name,
                        seconds = allowed.as_secs(),
                        "task did not stop in time; abandoned in the middle of its step"
                    );
                    abandoned.push(name);
                }
            }
        }
        // What is left to do (a query, closing the database) has the last STOP_GRACE.
        let end = asked + self.stop_bound();
        self.leave_outbox(abandoned.contains(&"outbox"), end).await;
        if tokio::time::timeout_at(end, self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("the database did not close in time; leaving it to the exit");
        }
        if failed.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("tasks ended abnormally: {}", failed.join(", "))
        }
    }

    /// The longest a send may take: `[outbound.smtp] send_timeout` (a file is written at once).
    fn send_deadline(&self) -> Duration {
        match (&self.config.outbound.backend, &self.config.outbound.smtp) {
            (OutboundBackend::Smtp, Some(smtp)) => smtp.send_timeout,
            _ => Duration::ZERO,
        }
    }

    /// How long [`App::run`] takes at most from the shutdown signal: the send deadline plus
    /// [`STOP_GRACE`] for the tasks, plus [`STOP_GRACE`] to note what is left and close the
    /// database.
    pub fn stop_bound(&self) -> Duration {
        self.send_deadline() + 2 * STOP_GRACE
    }

    /// Logs what this process leaves in `sending` (when the outbox worker was abandoned), and
    /// forgets this process as a holder, so that the next start, here or elsewhere, takes
    /// those rows up at once.
    async fn leave_outbox(&self, abandoned: bool, by: tokio::time::Instant) {
        let left = async {
            let mut conn = store::acquire(&self.pool).await?;
            let held = store::outbox::held_by(&mut conn, self.holder.id()).await?;
            self.holder.leave(&mut conn).await?;
            Ok::<_, StoreError>(held)
        };
        match tokio::time::timeout_at(by, left).await {
            Ok(Ok(held)) => {
                for (id, to) in &held {
                    tracing::warn!(
                        id,
                        %to,
                        "left in sending, cut off mid-send: the next start sends it again (it may have arrived)"
                    );
                }
                if abandoned && held.is_empty() {
                    tracing::info!("the outbox worker was cut off, but held no message");
                }
            }
            Ok(Err(e)) => tracing::warn!(
                error = format!("{:#}", anyhow::Error::from(e)),
                "could not list what the outbox leaves in sending"
            ),
            Err(_) => tracing::warn!("could not list what the outbox leaves in sending in time"),
        }
    }
}

/// What a task gets, beyond its sends' deadline, to stop after shutdown is asked for; then it
/// is abandoned.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// The mailbox the config names (nothing is connected yet).
pub fn mailbox(config: &Config) -> Result<Arc<dyn Mailbox>, AppError> {
    let folders = Folders {
        processed: config.inbound.processed_folder.clone(),
        attention: config.inbound.attention_folder.clone(),
        quarantine: config.inbound.quarantine_folder.clone(),
    };
    Ok(match (config.inbound.backend, &config.inbound.imap) {
        (InboundBackend::Imap, Some(imap)) => Arc::new(ImapMailbox::new(imap, folders)?),
        _ => Arc::new(Maildir::new(
            config.inbound.maildir.clone().unwrap_or_default(),
            &folders.processed,
            &folders.attention,
            &folders.quarantine,
        )),
    })
}

/// The transport the config names (nothing is connected yet).
pub fn transport(config: &Config) -> Result<Arc<dyn Transport>, AppError> {
    Ok(match (config.outbound.backend, &config.outbound.smtp) {
        (OutboundBackend::Smtp, Some(smtp)) => {
            Arc::new(SmtpTransport::new(smtp, &config.agency.from.email).map_err(AppError::Smtp)?)
        }
        _ => Arc::new(FileTransport::new(
            config.outbound.dir.clone().unwrap_or_default(),
        )),
    })
}
