//! `tandem init` and `tandem run`.

use std::sync::Arc;

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
    println!("Ctrl-C stops it.");
    Arc::new(app).run(shutdown_signal()).await
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
