//! `tandem init` and `tandem run`.

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

pub async fn run(config: Config, once: bool) -> anyhow::Result<()> {
    let app = create_app(config).await?;
    if once {
        app.run_once().await?;
        println!("one pass done");
        return Ok(());
    }
    println!("tandem is running (database {})", app.config.database.url);
    where_mail_goes(&app);
    // The handlers are in place before the promise is printed: a Ctrl-C that comes early
    // stops the daemon cleanly instead of killing it.
    let shutdown = shutdown_signal()?;
    println!(
        "Ctrl-C stops it. It stops within {} s; a second Ctrl-C stops it at once.",
        app.stop_bound().as_secs()
    );
    std::sync::Arc::new(app).run(shutdown).await
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM from now on; the future completes on the first.
/// A second one ends the process at once (exit status 128 + the signal's number), whatever
/// is in flight: rows being sent stay in `sending`, and the next start takes them up.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context as _;
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
