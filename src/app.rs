//! The ready context every part of tandem works with ([`App`]: config, pool, templates,
//! transports, clock), and the daemon: [`App::run`] starts the reader, the outbox worker and
//! the scheduler as tasks and stops them all when the shutdown future given to it completes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::{Config, InboundBackend, OutboundBackend};
use crate::inbound::imap::{Folders, ImapMailbox};
use crate::inbound::maildir::Maildir;
use crate::inbound::{InboundError, Mailbox, reader};
use crate::outbound::file::FileTransport;
use crate::outbound::smtp::SmtpTransport;
use crate::outbound::{Transport, worker};
use crate::schedule;
use crate::store::{self, Pool, StoreError};
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
}

/// Everything a flow needs, built once from the config.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub pool: Pool,
    /// Compiled and checked at start-up.
    pub templates: Templates,
    /// Every "now" in tandem comes from here.
    pub clock: Arc<dyn Clock>,
    /// Where outgoing mail is delivered.
    pub transport: Arc<dyn Transport>,
    /// Where incoming mail is read.
    pub mailbox: Arc<dyn Mailbox>,
    /// Rung when this process queues mail, so the worker sends it without waiting for a poll.
    pub outbox_wake: Arc<Notify>,
}

/// The template names every flow renders, each with a sample of its context.
pub fn template_samples() -> Vec<(&'static str, serde_json::Value)> {
    let mut samples = crate::onboarding::template_samples();
    samples.extend(crate::timelog::flow::template_samples());
    samples.extend(crate::timelog::nudge::template_samples());
    samples.extend(crate::survey::flow::template_samples());
    samples.extend(crate::agreements::template_samples());
    samples.extend(crate::digest::template_samples());
    samples
}

impl App {
    /// Opens (and creates, and migrates) the database, compiles and checks the templates, and
    /// creates the mailbox folders.
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, AppError> {
        let templates = Templates::load(&config.templates.dir, &template_samples())?;
        let pool = store::connect(
            &config.database.url,
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
            let mut conn = pool.acquire().await.map_err(StoreError::from)?;
            store::health::record_error(&mut conn, "inbound", &error, clock.now()).await?;
        }
        match (&config.outbound.backend, &config.outbound.dir) {
            (OutboundBackend::File, Some(dir)) => {
                std::fs::create_dir_all(dir).map_err(|e| AppError::Outbox(dir.clone(), e))?
            }
            (OutboundBackend::File, None) | (OutboundBackend::Smtp, _) => {}
        }
        Ok(Self {
            transport: transport(&config)?,
            mailbox,
            pool,
            templates,
            clock,
            config,
            outbox_wake: Arc::new(Notify::new()),
        })
    }

    /// One pass of everything: read the whole inbox, run the scheduler once, send all that is
    /// due. For `tandem run --once` and for tests.
    pub async fn run_once(&self) -> anyhow::Result<()> {
        reader::drain(self).await?;
        schedule::step(self).await?;
        worker::drain(self).await?;
        Ok(())
    }

    /// Notes a failed step in the health table, where the digest reads it. Should even that
    /// fail (the database is the trouble), the log keeps both errors.
    pub async fn record_failure(&self, component: &str, error: &str) {
        let result = match self.pool.acquire().await {
            Ok(mut conn) => {
                store::health::record_error(&mut conn, component, error, self.clock.now()).await
            }
            Err(e) => Err(e.into()),
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

    /// The daemon. Returns when `shutdown` completes and every task has finished its current
    /// step.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (trigger, signal) = shutdown_channel();
        let tasks = [
            (
                "reader",
                tokio::spawn({
                    let (app, signal) = (self.clone(), signal.clone());
                    async move { reader::run(&app, signal).await }
                }),
            ),
            (
                "outbox",
                tokio::spawn({
                    let (app, signal) = (self.clone(), signal.clone());
                    async move { worker::run(&app, signal).await }
                }),
            ),
            (
                "scheduler",
                tokio::spawn({
                    let (app, signal) = (self.clone(), signal.clone());
                    async move { schedule::run(&app, signal).await }
                }),
            ),
        ];
        shutdown.await;
        tracing::info!("shutting down");
        let _ = trigger.send(true);
        let mut failed = Vec::new();
        for (name, task) in tasks {
            if let Err(e) = task.await {
                tracing::error!(task = name, error = %e, "task ended abnormally");
                failed.push(name);
            }
        }
        self.pool.close().await;
        if failed.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("tasks ended abnormally: {}", failed.join(", "))
        }
    }
}

/// An error with its causes, `a: b: c`, as one line for the log (for an error that is kept,
/// so it cannot be turned into an `anyhow::Error` for `{:#}`).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

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

/// The receiving end of the shutdown signal, one clone per task.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
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
