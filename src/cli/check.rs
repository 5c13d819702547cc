//! `tandem check`: config, templates, database and mail transports, each ok or failed.

use std::path::Path;

use crate::config::Config;
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

    let database = async {
        let pool = crate::app::open_database(&config.database, 1, store::Open::ReadOnly).await?;
        let current = store::schema_is_current(&pool).await?;
        anyhow::ensure!(current, "the schema is not current: run `tandem init`");
        Ok(config.database.url.clone())
    };
    report("database", database.await.map_err(chain));

    let inbound = match crate::app::mailbox(&config) {
        Ok(mailbox) => mailbox.check().await.map_err(|e| chain(e.into())),
        Err(e) => Err(chain(e.into())),
    };
    report("mail in", inbound);

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

    anyhow::ensure!(failed == 0, "{failed} check(s) failed");
    Ok(())
}
