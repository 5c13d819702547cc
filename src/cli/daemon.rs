//! `tandem init` and `tandem run`.

use super::open_app;
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
    let app = open_app(config).await?;
    println!("database: {}", app.config.database.url);
    where_mail_goes(&app);
    Ok(())
}

pub async fn run(config: Config, once: bool) -> anyhow::Result<()> {
    let app = open_app(config).await?;
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
    println!("Ctrl-C stops it.");
    std::sync::Arc::new(app).run(shutdown).await
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM from now on; the future completes on either.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context as _;
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Listens for Ctrl-C; the future completes on it.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    })
}
