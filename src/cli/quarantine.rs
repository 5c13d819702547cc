//! `tandem quarantine list|show|release`: mail from unknown senders and unreadable mail,
//! which nobody answered; `release` hands a message back to the reader (after the sender was
//! added as a person, say).

use clap::Subcommand;

use crate::config::Config;
use crate::domain::Disposition;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List quarantined messages not yet released.
    List {
        /// Released ones too.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one quarantined message: why, and its text.
    Show {
        /// The message's id (see `tandem quarantine list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Hand a quarantined message back to the reader, which reads it afresh (add its sender
    /// as an assistant or contact first).
    Release {
        /// The message's id (see `tandem quarantine list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let disposition = Disposition::Quarantine;
    match command {
        Command::List { all, json } => super::filed::list(&config, disposition, all, json).await,
        Command::Show { id, json } => super::filed::show(&config, disposition, id, json).await,
        Command::Release { id } => super::filed::handle(&config, disposition, id).await,
    }
}
