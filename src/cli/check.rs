//! `tandem check`: config, templates, database and mail transports, each ok or failed, and
//! whether the daemon could write where it has to (the SQLite file and its folder, the Maildir).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::Config;
use crate::domain::Disposition;
use crate::inbound::maildir::Maildir;
use crate::store;
use crate::templates::Templates;

pub async fn run(config: Config, path: &Path) -> anyhow::Result<()> {
    let mut failed = 0;
    let mut report = |what: &str, result: Result<String, String>| match result {
        Ok(detail) => println!("ok      {what}: {detail}"),
        Err(error) => {
            failed += 1;
            println!("FAILED  {what}: {error}");
        }
    };
    let chain = |e: anyhow::Error| format!("{e:#}");

    report("config", Ok(path.display().to_string()));

    let templates = Templates::load(&config.templates.dir)
        .map(|t| format!("{} (de, en)", t.dir().display()))
        .map_err(|e| chain(e.into()));
    report("templates", templates);

    // Read-only, so a check changes nothing: a missing, foreign or out-of-date database is
    // named by the open; whether the daemon could write is tried beside it.
    let database = async {
        let pool = crate::app::open_database(&config.database, 1, store::Open::ReadOnly).await?;
        let file = pool.file();
        pool.close().await;
        if let Some(file) = file {
            writable_file(&file)?;
            for suffix in ["-wal", "-shm"] {
                let mut beside = file.clone().into_os_string();
                beside.push(suffix);
                let beside = PathBuf::from(beside);
                if beside.exists() {
                    writable_file(&beside)?;
                }
            }
            // SQLite creates its journal files beside the database.
            if let Some(dir) = file.parent() {
                writable_folder(dir)?;
            }
        }
        Ok(config.database.url.clone())
    };
    report("database", database.await.map_err(chain));

    let inbound = async {
        let mailbox = crate::app::mailbox(&config, &crate::metrics::Metrics::new())?;
        let seen = mailbox.check().await?;
        if config.inbound.backend == crate::config::InboundBackend::Maildir {
            // The reader moves every message into a subfolder; tmp/ is where a probe file
            // disturbs no reader (a file in new/ or cur/ would be read as mail).
            let maildir = Maildir::new(
                config.inbound.maildir.clone().unwrap_or_default(),
                &config.inbound.processed_folder,
                &config.inbound.attention_folder,
                &config.inbound.quarantine_folder,
            );
            writable_folder(&maildir.root().join("tmp"))?;
            for disposition in [
                Disposition::Processed,
                Disposition::Attention,
                Disposition::Quarantine,
            ] {
                writable_folder(&maildir.folder(disposition).join("tmp"))?;
            }
        }
        anyhow::Ok(seen)
    };
    report("mail in", inbound.await.map_err(chain));

    let auth = &config.inbound.authentication;
    if config.inbound.backend == crate::config::InboundBackend::Imap
        && auth.policy == crate::config::AuthPolicy::Off
    {
        // A warning, not a failure: the daemon runs, but anyone who knows an address can
        // log hours and answer for a client under it.
        println!(
            "WARNING sender authentication: [inbound.authentication] policy is \"off\" for an IMAP \
             mailbox: a forged From: is believed; set policy = \"require\" and authserv_id to \
             your receiving server (see README, \"Sender authentication\")"
        );
    } else {
        println!(
            "ok      sender authentication: policy \"{}\"{}",
            auth.policy.as_str(),
            if auth.authserv_id.is_empty() {
                String::new()
            } else {
                format!(", trusting {}", auth.authserv_id.join(", "))
            }
        );
    }

    let outbound = match crate::app::transport(&config) {
        Ok(transport) => transport
            .check()
            .await
            .map(|()| transport.describe())
            .map_err(|e| e.to_string()),
        Err(e) => Err(chain(e.into())),
    };
    report("mail out", outbound);

    // The endpoint: only whether it is on and where; a port in use is found by `run`.
    match config.http.listen {
        None => println!("ok      http: off ([http] listen not set)"),
        Some(address) if address.ip().is_loopback() => {
            println!("ok      http: /healthz and /metrics on {address}")
        }
        // A warning, not a failure: behind a firewall or a proxy that may be meant.
        Some(address) => println!(
            "WARNING http: /healthz and /metrics on {address}, not a loopback address: anyone \
             who reaches it reads the daemon's health and counts; prefer 127.0.0.1 and a proxy"
        ),
    }

    anyhow::ensure!(failed == 0, "{failed} check(s) failed");
    Ok(())
}

/// Creates and removes a file in `dir`: whether tandem can write there (permissions, a
/// read-only filesystem, a full disk of inodes).
fn writable_folder(dir: &Path) -> anyhow::Result<()> {
    let probe = dir.join(format!(".tandem-check-{}", std::process::id()));
    std::fs::File::create(&probe)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    std::fs::remove_file(&probe)
        .with_context(|| format!("cannot remove a file from {}", dir.display()))
}

/// Opens `file` for writing, changing nothing in it.
fn writable_file(file: &Path) -> anyhow::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .map(drop)
        .with_context(|| format!("cannot write to {}", file.display()))
}
