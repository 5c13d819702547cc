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
use crate::metrics::Metrics;
use crate::onboarding::{self, EngagementRequest, OnboardingError, Started};
use crate::outbound::Transport;
use crate::outbound::file::FileTransport;
use crate::outbound::smtp::SmtpTransport;
use crate::privacy;
use crate::store::{self, Pool, StoreError};
use crate::tasks::holder::Holder;
use crate::tasks::http::Observer;
use crate::tasks::outbox::OutboxWorker;
use crate::tasks::reader::Reader;
use crate::tasks::scheduler::Scheduler;
use crate::tasks::watchdog::{self, Beats, Notice, Watchdog};
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

/// The connections of the daemon's pool: the config's, else the backend's default.
pub fn max_connections(database: &crate::config::Database) -> u32 {
    database
        .max_connections
        .unwrap_or_else(|| store::default_connections(&database.url))
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
    /// The reader's write transactions: on SQLite a connection of their own
    /// ([`Pool::of_one`]), beside `pool`'s `max_connections`.
    reading: Pool,
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
    /// Where the outbox records its sends on SQLite (see `store::journal`).
    journal: Option<Arc<store::journal::Journal>>,
    /// Where the outbox reads its claimed messages on SQLite (see `store::outbox::Messages`).
    messages: Option<Arc<store::outbox::Messages>>,
    /// What the tasks count for `/metrics`; kept across a reload.
    pub metrics: Metrics,
    /// The tasks' signs of life for the systemd watchdog; kept across a reload.
    pub beats: Beats,
}

/// What `tandem run` adds to the tasks (all off for [`App::run`]).
#[derive(Debug, Default)]
pub struct Service {
    /// The bound listener of `[http] listen`: `/healthz` and `/metrics` are served on it.
    pub http: Option<tokio::net::TcpListener>,
    /// Configs to reload (read and validated by the caller on SIGHUP).
    pub reloads: Option<tokio::sync::mpsc::Receiver<Config>>,
    /// Tell systemd (`NOTIFY_SOCKET`) when ready, reloading and stopping, and ping its
    /// watchdog (`WATCHDOG_USEC`) while every task beats.
    pub systemd: bool,
}

/// What one pass of `run --once` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Messages read from the mailbox.
    pub read: usize,
    /// Of those, recorded for the first time.
    pub recorded: usize,
    /// Of those, seen before (only moved).
    pub duplicates: usize,
    /// Of those, left for another try.
    pub failed: usize,
    /// Scheduled mails queued.
    pub scheduled: usize,
    /// Mails sent (answers, scheduled mail and what was queued before).
    pub sent: usize,
}

/// The result of work on the blocking pool; its panic is the caller's.
fn joined<T>(
    done: Result<Result<T, TemplateError>, tokio::task::JoinError>,
) -> Result<T, TemplateError> {
    match done {
        Ok(done) => done,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

impl App {
    /// Opens (and creates, and migrates) the database, compiles and checks the templates, and
    /// creates the mailbox folders.
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, AppError> {
        // The templates are read while the database opens and the mailbox is prepared, which
        // mostly wait for the file system and the mail server, and checked after: on the
        // blocking pool of the runtime for CPU work, so on another CPU where the process is
        // kept to one (see `runtime`). The check, most of a start's CPU, is skipped where this
        // build checked these very templates before (`template_check`, by
        // `Templates::digest`).
        let dir = config.templates.dir.clone();
        let reading =
            crate::runtime::for_cpu_work().spawn_blocking(move || Templates::read_catalogue(&dir));
        let metrics = Metrics::new();
        let mailbox = mailbox(&config, &metrics)?;
        // The mailbox is prepared (for IMAP: connected, logged in, its folders made) while the
        // database opens: both mostly wait, for the mail server and for the file system.
        let (pool, prepared) = tokio::join!(
            open_database(
                &config.database,
                max_connections(&config.database),
                store::Open::Create,
            ),
            mailbox.prepare()
        );
        let pool = pool?;
        let templates = joined(reading.await)?;
        let checked_before = store::health::templates_checked(
            &mut *store::acquire(&pool).await?,
            templates.digest(),
        )
        .await?;
        let checking = crate::runtime::for_cpu_work().spawn_blocking(move || {
            if !checked_before {
                templates.check(&crate::templates::samples()?)?;
            }
            Ok::<_, TemplateError>(templates)
        });
        // A local Maildir that cannot be made is a setup error; a mail server that is down now
        // is not: the reader connects when it can, and the health table shows the failure.
        if let Err(e) = prepared {
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
        let templates = joined(checking.await)?;
        if !checked_before {
            let mut conn = store::acquire(&pool).await?;
            let recorded =
                store::health::record_templates_checked(&mut conn, templates.digest(), clock.now())
                    .await;
            if let Err(e) = recorded {
                let error = format!("{:#}", anyhow::Error::from(e));
                tracing::warn!(%error, "the templates' check could not be recorded; the next start checks them again");
            }
        }
        let write_turns = WriteTurns::default();
        let journal = store::journal::Journal::beside(&pool).map(Arc::new);
        let messages = store::outbox::Messages::beside(&pool).map(Arc::new);
        Ok(Self {
            health: Health::new(pool.clone(), clock.clone()),
            reading: pool.of_one(),
            transport: transport(&config)?,
            mailbox,
            pool,
            templates: Arc::new(templates),
            holder: Arc::new(Holder::this_process(clock.now(), write_turns.clone())),
            write_turns,
            journal,
            messages,
            clock,
            config: Arc::new(config),
            outbox_wake: Arc::new(Notify::new()),
            metrics,
            beats: Beats::default(),
        })
    }

    /// This app with `config` in force (a reload): the templates, the mailbox and the
    /// transport are built anew from it; the database, this process's holder, the counters
    /// and the watchdog's beats are kept. The database and `[http]` are not reloaded: a
    /// change to them is logged as needing a restart. An error (a template that does not
    /// compile, a Maildir that cannot be made) refuses the whole config.
    pub async fn reloaded(&self, config: Config) -> Result<Self, AppError> {
        let templates = Templates::load(&config.templates.dir)?;
        let mailbox = mailbox(&config, &self.metrics)?;
        if let Err(e) = mailbox.prepare().await {
            if config.inbound.backend == InboundBackend::Maildir {
                return Err(e.into());
            }
            let error = format!("{:#}", anyhow::Error::from(e));
            tracing::warn!(%error, "the mailbox cannot be prepared now; the reader will retry");
        }
        if let (OutboundBackend::File, Some(dir)) = (&config.outbound.backend, &config.outbound.dir)
        {
            std::fs::create_dir_all(dir).map_err(|e| AppError::Outbox(dir.clone(), e))?;
        }
        let transport = transport(&config)?;
        let old = &self.config;
        let database_changed = old.database.url != config.database.url
            || max_connections(&old.database) != max_connections(&config.database)
            || old.database.password_env != config.database.password_env
            || old.database.password_file != config.database.password_file;
        if database_changed {
            tracing::warn!(
                "[database] changed: it takes effect at the next restart; the running database stays"
            );
        }
        if old.http.listen != config.http.listen {
            tracing::warn!(
                "[http] listen changed: it takes effect at the next restart; the running endpoint stays"
            );
        }
        let mut config = config;
        config.database = old.database.clone();
        config.http = old.http.clone();
        Ok(Self {
            config: Arc::new(config),
            pool: self.pool.clone(),
            reading: self.reading.clone(),
            templates: Arc::new(templates),
            clock: self.clock.clone(),
            transport,
            mailbox,
            outbox_wake: self.outbox_wake.clone(),
            health: self.health.clone(),
            holder: self.holder.clone(),
            write_turns: self.write_turns.clone(),
            journal: self.journal.clone(),
            messages: self.messages.clone(),
            metrics: self.metrics.clone(),
            beats: self.beats.clone(),
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

    /// The task that applies `[retention]` once a day.
    pub fn retention(&self) -> crate::tasks::retention::Retention {
        crate::tasks::retention::Retention {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            mailbox: self.mailbox.clone(),
            config: self.config.clone(),
            health: self.health(),
        }
    }

    /// The task that reads the mailbox.
    pub fn reader(&self) -> Reader {
        Reader {
            pool: self.pool.clone(),
            slices: self.reading.clone(),
            clock: self.clock.clone(),
            mailbox: self.mailbox.clone(),
            compose: self.composer(),
            config: self.config.clone(),
            wake: self.outbox_wake.clone(),
            health: self.health(),
            turns: self.write_turns.clone(),
            metrics: self.metrics.clone(),
            beat: self.beats.reader.clone(),
        }
    }

    /// The task that delivers the outbox.
    pub fn outbox(&self) -> OutboxWorker {
        OutboxWorker {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            transport: self.transport.clone(),
            templates: self.templates.clone(),
            settings: self.config.outbound.clone(),
            idle: self.config.inbound.poll_interval,
            wake: self.outbox_wake.clone(),
            health: self.health(),
            holder: self.holder.clone(),
            turns: self.write_turns.clone(),
            journal: self.journal.clone(),
            messages: self.messages.clone(),
            metrics: self.metrics.clone(),
            beat: self.beats.outbox.clone(),
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
            metrics: self.metrics.clone(),
            beat: self.beats.scheduler.clone(),
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

    /// `tandem engagement add --kickoff`: the engagement, its agreements, the welcome mails and
    /// the kickoff call's invitations, in one transaction.
    pub async fn start_engagement_with_kickoff(
        &self,
        request: &EngagementRequest,
        starts_at: DateTime<Utc>,
        zone: crate::domain::TimeZone,
    ) -> Result<(Started, crate::calls::kickoff::Invited), crate::calls::kickoff::KickoffError>
    {
        let weeks = self.config.engagements.default_trial_weeks;
        let minutes = self.config.engagements.kickoff_minutes.into();
        self.in_transaction(false, async |tx, compose, now| {
            let started = onboarding::start(tx, compose, weeks, request, now).await?;
            let invited = crate::calls::kickoff::invite(
                tx,
                compose,
                started.engagement_id,
                starts_at,
                zone,
                minutes,
                now,
            )
            .await?;
            Ok((started, invited))
        })
        .await
    }

    /// `tandem engagement kickoff ID --at ...`: sets (or moves) the kickoff call and queues the
    /// invitations (an update after the first: the same UID, a higher SEQUENCE).
    pub async fn kickoff(
        &self,
        engagement_id: i64,
        starts_at: DateTime<Utc>,
        zone: crate::domain::TimeZone,
    ) -> Result<crate::calls::kickoff::Invited, crate::calls::kickoff::KickoffError> {
        let minutes = self.config.engagements.kickoff_minutes.into();
        self.in_transaction(true, async |tx, compose, now| {
            crate::calls::kickoff::invite(tx, compose, engagement_id, starts_at, zone, minutes, now)
                .await
        })
        .await
    }

    /// Where the file transport writes its `.eml` files, if it is the transport.
    fn delivered_dir(&self) -> Option<&std::path::Path> {
        match self.config.outbound.backend {
            crate::config::OutboundBackend::File => self.config.outbound.dir.as_deref(),
            crate::config::OutboundBackend::Smtp => None,
        }
    }

    /// `tandem privacy export`: everything stored about a person, into `dir`.
    pub async fn export_person(
        &self,
        subject: &store::privacy::Subject,
        dir: &std::path::Path,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<privacy::Exported, privacy::PrivacyError> {
        let mut conn = store::acquire(&self.pool).await?;
        let now = self.clock.now();
        let sources = privacy::MailSources {
            mailbox: self.mailbox.as_ref(),
            delivered: self.delivered_dir(),
            templates: &self.templates,
        };
        privacy::export(&mut conn, sources, subject, dir, now, progress).await
    }

    /// `tandem privacy erase`: the person's rows in one transaction, then the mail that names
    /// them, then the database file scrubbed. Returns what went, what stayed, and whether the
    /// scrub was complete.
    pub async fn erase_person(
        &self,
        subject: &store::privacy::Subject,
        keep_billing: bool,
    ) -> Result<(store::privacy::Erased, (usize, usize), bool), privacy::PrivacyError> {
        let mut tx = store::begin_immediate(&self.pool).await?;
        let erased = privacy::erase_rows(&mut tx, subject, keep_billing).await?;
        store::commit(tx).await?;
        let mail =
            privacy::erase_mail(self.mailbox.as_ref(), self.delivered_dir(), subject).await?;
        let scrubbed = store::scrub(&self.pool).await?;
        Ok((erased, mail, scrubbed))
    }

    /// `tandem privacy purge` and the daemon's daily pass: `[retention]` applied now (with
    /// `dry_run`, only counted).
    pub async fn purge(&self, dry_run: bool) -> Result<privacy::Purged, privacy::PrivacyError> {
        self.retention().purge(dry_run).await
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

    /// `tandem survey send`: the current period's survey now, in place of the scheduled one.
    /// Returns the survey's id.
    pub async fn send_survey_now(&self, engagement_id: i64) -> Result<i64, MailError> {
        let questions = &self.config.surveys.questions;
        let schedule = &self.config.schedule;
        self.in_transaction(true, async |tx, compose, now| {
            crate::survey::flow::send_now(tx, compose, questions, schedule, engagement_id, now)
                .await
        })
        .await
    }

    /// `tandem timesheet send`: the engagement's timesheet of `month` now (again, unless it
    /// is approved).
    pub async fn send_timesheet_now(
        &self,
        engagement_id: i64,
        month: &str,
    ) -> Result<crate::timesheet::flow::Sent, MailError> {
        self.in_transaction(true, async |tx, compose, now| {
            let people = crate::recipients::People::load(tx, engagement_id).await?;
            crate::timesheet::flow::send(tx, compose, &people, month, true, now).await
        })
        .await
    }

    /// `tandem timesheet approve`: the operator records the client's approval of `month`;
    /// `false` when it was approved before.
    pub async fn approve_timesheet(
        &self,
        engagement_id: i64,
        month: &str,
    ) -> Result<bool, StoreError> {
        let lock = self.config.timesheet.lock_on_approval;
        self.in_transaction(true, async |tx, _, now| {
            let people = crate::recipients::People::load(tx, engagement_id).await?;
            crate::timesheet::flow::approve_by_operator(tx, &people, month, lock, now).await
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
    /// outbox sends what they queue as they commit it; returns once all that is due is sent,
    /// and retention has run if it was due.
    /// For `tandem run --once` and for tests.
    pub async fn run_once(&self) -> anyhow::Result<Pass> {
        let queued_all = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reading = async {
            let read = async {
                let report = self.reader().drain().await?;
                let scheduler = self.scheduler();
                // A start like the daemon's: the config may have changed since the last one.
                scheduler.wake_all().await?;
                let step = scheduler.step().await?;
                anyhow::Ok((report, step.queued.len()))
            }
            .await;
            queued_all.store(true, std::sync::atomic::Ordering::SeqCst);
            self.outbox_wake.notify_one();
            read
        };
        // The sends are a task of their own, as the daemon's outbox worker is: polled in one
        // future with the reader, they went on only when the reader awaited something, and it
        // works for a while between its awaits (`run --once` of 2,000 time logs took 0.414 s
        // against 0.389 s, the last receipts going out long after the last mail was read).
        let outbox = self.outbox();
        let wake = Arc::clone(&self.outbox_wake);
        let all_queued = Arc::clone(&queued_all);
        let sending = tokio::spawn(async move {
            let mut sent = 0;
            loop {
                // Read before the drain: the drain after the last queueing is a whole one.
                let last = all_queued.load(std::sync::atomic::Ordering::SeqCst);
                sent += outbox.drain().await?;
                if last {
                    return anyhow::Ok(sent);
                }
                wake.notified().await;
            }
        });
        let (read, sent) = tokio::join!(reading, sending);
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let ((report, scheduled), sent) = (read?, sent?);
        // Retention too, when a day has passed since it last ran (a `run --once` from cron
        // keeps it as the daemon does).
        self.retention().step().await?;
        Ok(Pass {
            read: report.read,
            recorded: report.recorded,
            duplicates: report.duplicates,
            failed: report.failed,
            scheduled,
            sent,
        })
    }

    /// The daemon. When `shutdown` completes, every task is asked to stop: the reader and the
    /// scheduler get [`STOP_GRACE`] to end their current step, the outbox worker starts no new
    /// send and gets its sends' deadline (`send_timeout`) plus [`STOP_GRACE`]. A task still
    /// running then is abandoned (dropped mid-step: nothing it had not committed is kept, and a
    /// send cut off is left in `sending` for the next start, which takes it up at once since
    /// this process is gone). Returns within [`App::stop_bound`] of the signal.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        self.serve(shutdown, Service::default()).await
    }

    /// [`App::run`] with what `tandem run` adds ([`Service`]): the HTTP endpoint, config
    /// reloads and systemd's notifications. A reload stops the tasks as a shutdown does (within
    /// [`App::stop_bound`]) and starts them again on the new config; a config
    /// [`App::reloaded`] refuses is logged with the reason, and the tasks go on on the old one.
    /// The endpoint, the watchdog and the daemon's heartbeat (its `outbox_holder` row, which
    /// `tandem status` reads) run across reloads, until shutdown.
    pub async fn serve(
        self: Arc<Self>,
        shutdown: impl Future<Output = ()>,
        mut service: Service,
    ) -> anyhow::Result<()> {
        let mut app = self;
        let (stop_extras, extras_signal) = shutdown_channel();
        let observer = Arc::new(Observer::new(
            app.pool.clone(),
            app.clock.clone(),
            app.metrics.clone(),
            app.config.thresholds(),
        ));
        let mut extras = tokio::task::JoinSet::new();
        if let Some(listener) = service.http.take() {
            extras.spawn(crate::tasks::http::serve(
                listener,
                observer.clone(),
                extras_signal.clone(),
            ));
        }
        if service.systemd
            && let Some(dog) = Watchdog::from_env(app.beats.clone())
        {
            let signal = extras_signal.clone();
            extras.spawn(async move { dog.run(signal).await });
        }
        {
            let (holder, pool, clock) = (app.holder.clone(), app.pool.clone(), app.clock.clone());
            let mut signal = extras_signal.clone();
            extras.spawn(async move {
                if let Err(e) = holder.beat(&pool, clock.now()).await {
                    let error = format!("{:#}", anyhow::Error::from(e));
                    tracing::warn!(%error, "could not write the daemon's heartbeat");
                }
                tokio::select! {
                    () = signal.wait() => {}
                    () = holder.keep_beating(&pool, clock.as_ref()) => {}
                }
            });
        }
        let mut reloads = service.reloads.take();
        tokio::pin!(shutdown);
        loop {
            let (trigger, signal) = shutdown_channel();
            app.beats.start();
            let tasks = app.spawn_tasks(signal);
            if service.systemd {
                watchdog::notify(Notice::Ready);
            }
            // Until shutdown, or a config that can be put in force.
            let next = loop {
                let config = tokio::select! {
                    () = &mut shutdown => break None,
                    Some(config) = next_reload(&mut reloads) => config,
                };
                match app.reloaded(config).await {
                    Ok(next) => break Some(next),
                    Err(e) => tracing::error!(
                        error = format!("{:#}", anyhow::Error::from(e)),
                        "config reload refused; the running config stays in force"
                    ),
                }
            };
            let Some(next) = next else {
                if service.systemd {
                    watchdog::notify(Notice::Stopping);
                }
                return app.stop(tasks, trigger, Some((stop_extras, extras))).await;
            };
            if service.systemd {
                watchdog::notify(Notice::Reloading);
            }
            tracing::info!(
                "reloading the config: the tasks stop (within {} s) and start again on it",
                app.stop_bound().as_secs()
            );
            let (failed, _) = app.stop_tasks(tasks, trigger).await;
            if !failed.is_empty() {
                tracing::error!(
                    tasks = failed.join(", "),
                    "tasks ended abnormally before the reload"
                );
            }
            app = Arc::new(next);
            observer.set_thresholds(app.config.thresholds());
            tracing::info!(
                "config reloaded: templates, mail in and out, the schedule, limits and health \
                 thresholds are the new ones; [database] and [http] need a restart"
            );
        }
    }

    /// Spawns the reader, the outbox worker and the scheduler, each stopped by `signal`.
    fn spawn_tasks(
        &self,
        signal: crate::tasks::Shutdown,
    ) -> Vec<(&'static str, tokio::task::JoinHandle<()>)> {
        vec![
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
            ("retention", {
                let (retention, signal) = (self.retention(), signal.clone());
                tokio::spawn(async move { retention.run(signal).await })
            }),
        ]
    }

    /// Asks the tasks to stop and waits for each within its bound (see [`App::run`]); returns
    /// those that ended abnormally and those abandoned.
    async fn stop_tasks(
        &self,
        tasks: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
        trigger: tokio::sync::watch::Sender<bool>,
    ) -> (Vec<&'static str>, Vec<&'static str>) {
        let asked = tokio::time::Instant::now();
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
        (failed, abandoned)
    }

    /// The end of [`App::serve`]: the tasks stopped, then the endpoint, the watchdog and the
    /// heartbeat, what the outbox leaves noted, the database closed.
    async fn stop(
        &self,
        tasks: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
        trigger: tokio::sync::watch::Sender<bool>,
        extras: Option<(tokio::sync::watch::Sender<bool>, tokio::task::JoinSet<()>)>,
    ) -> anyhow::Result<()> {
        let asked = tokio::time::Instant::now();
        tracing::info!(
            "shutting down: no new send starts; a send in flight gets up to {} s, then is left \
             for the next start; stopped within {} s",
            self.send_deadline().as_secs(),
            self.stop_bound().as_secs()
        );
        let (failed, abandoned) = self.stop_tasks(tasks, trigger).await;
        if let Some((stop, mut extras)) = extras {
            let _ = stop.send(true);
            if tokio::time::timeout(STOP_GRACE, async {
                while extras.join_next().await.is_some() {}
            })
            .await
            .is_err()
            {
                extras.abort_all();
            }
        }
        // What is left to do (a query, closing the database) has the last STOP_GRACE.
        let end = asked + self.stop_bound();
        self.leave_outbox(abandoned.contains(&"outbox"), end).await;
        let closed = async { tokio::join!(self.pool.close(), self.reading.close()) };
        if tokio::time::timeout_at(end, closed).await.is_err() {
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

/// The next config to reload, or never when there is no channel (or it closed).
async fn next_reload(reloads: &mut Option<tokio::sync::mpsc::Receiver<Config>>) -> Option<Config> {
    match reloads {
        Some(rx) => match rx.recv().await {
            Some(config) => Some(config),
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// The mailbox the config names (nothing is connected yet); an IMAP one counts its reconnects
/// in `metrics`.
pub fn mailbox(config: &Config, metrics: &Metrics) -> Result<Arc<dyn Mailbox>, AppError> {
    let folders = Folders {
        processed: config.inbound.processed_folder.clone(),
        attention: config.inbound.attention_folder.clone(),
        quarantine: config.inbound.quarantine_folder.clone(),
    };
    Ok(match (config.inbound.backend, &config.inbound.imap) {
        (InboundBackend::Imap, Some(imap)) => {
            Arc::new(ImapMailbox::new(imap, folders)?.counting(metrics.clone()))
        }
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
