//! `tandem init` and `tandem run`.

use anyhow::Context as _;

use super::create_app;
use crate::config::{Config, InboundBackend, OutboundBackend};

fn where_mail_goes(app: &crate::app::App) {
    let config = &app.config;
    match config.inbound.backend {
        InboundBackend::Maildir => println!(
            "mail in:  drop messages into {}/new",
            config.inbound.maildir.clone().unwrap_or_default().display()
        ),
        InboundBackend::Imap => println!("mail in:  {}", app.mailbox.describe()),
    }
    match config.outbound.backend {
        OutboundBackend::File => println!(
            "mail out: written as .eml files to {}",
            config.outbound.dir.clone().unwrap_or_default().display()
        ),
        OutboundBackend::Smtp => println!("mail out: {}", app.transport.describe()),
    }
}

pub async fn init(config: Config) -> anyhow::Result<()> {
    let app = create_app(config).await?;
    println!("database: {}", app.config.database.url);
    where_mail_goes(&app);
    Ok(())
}

pub async fn run(config: Config, path: &std::path::Path, once: bool) -> anyhow::Result<()> {
    let app = create_app(config).await?;
    if once {
        let pass = app.run_once().await?;
        println!(
            "one pass done: {} message(s) read ({} new, {} seen before, {} to try again), {} \
             scheduled mail(s) queued, {} mail(s) sent ({})",
            pass.read,
            pass.recorded,
            pass.duplicates,
            pass.failed,
            pass.scheduled,
            pass.sent,
            app.transport.describe()
        );
        return Ok(());
    }
    println!("tandem is running (database {})", app.config.database.url);
    where_mail_goes(&app);
    // The handlers are in place before the promise is printed: a Ctrl-C that comes early
    // stops the daemon cleanly instead of killing it.
    let shutdown = shutdown_signal()?;
    let http = match app.config.http.listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("could not listen on [http] listen = \"{address}\""))?;
            println!("health:   http://{address}/healthz and /metrics");
            Some(listener)
        }
        None => None,
    };
    let service = crate::app::Service {
        http,
        reloads: reload_signal(path)?,
        systemd: true,
    };
    println!(
        "Ctrl-C stops it. It stops within {} s; a second Ctrl-C stops it at once.",
        app.stop_bound().as_secs()
    );
    std::sync::Arc::new(app).serve(shutdown, service).await
}

/// On each SIGHUP, reads the config at `path` again (with its environment overrides) and
/// hands it on when it is valid; an invalid one is logged with the reason and the running
/// config stays in force.
#[cfg(unix)]
fn reload_signal(
    path: &std::path::Path,
) -> anyhow::Result<Option<tokio::sync::mpsc::Receiver<Config>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let path = path.to_path_buf();
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!(config = %path.display(), "SIGHUP: reading the config again");
            match Config::load(&path) {
                Ok(config) => {
                    if tx.send(config).await.is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!(
                    error = format!("{:#}", anyhow::Error::from(e)),
                    "config reload refused; the running config stays in force"
                ),
            }
        }
    });
    Ok(Some(rx))
}

#[cfg(not(unix))]
fn reload_signal(
    _path: &std::path::Path,
) -> anyhow::Result<Option<tokio::sync::mpsc::Receiver<Config>>> {
    Ok(None)
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM from now on; the future completes on the first.
/// A second one ends the process at once (exit status 128 + the signal's number), whatever
/// is in flight: rows being sent stay in `sending`, and the next start takes them up.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let (first, asked) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut next = async || {
            tokio::select! {
                _ = interrupt.recv() => ("SIGINT", 2),
                _ = terminate.recv() => ("SIGTERM", 15),
            }
        };
        let (name, _) = next().await;
        tracing::info!(
            signal = name,
            "asked to stop; Ctrl-C or SIGTERM again stops at once"
        );
        let _ = first.send(());
        let (name, number) = next().await;
        tracing::error!(
            signal = name,
            "asked again: exiting now; messages being sent are left in sending and sent by the next start"
        );
        std::process::exit(128 + number);
    });
    Ok(async move {
        let _ = asked.await;
    })
}

/// Listens for Ctrl-C; the future completes on it, and a second one ends the process at once.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let (first, asked) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            // Never stop then: dropping `first` would read as a Ctrl-C.
            std::future::pending::<()>().await;
        }
        tracing::info!("asked to stop; Ctrl-C again stops at once");
        let _ = first.send(());
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::error!(
                "asked again: exiting now; messages being sent are left in sending and sent by the next start"
            );
            std::process::exit(130);
        }
    });
    Ok(async move {
        let _ = asked.await;
    })
}
