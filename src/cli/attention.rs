//! `tandem attention list|show|done`: mail from known people that tandem does not understand
//! (a question, a sick note), for a person to read and deal with.

use clap::Subcommand;

use crate::config::Config;
use crate::domain::Disposition;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List messages for a person not yet done.
    List {
        /// Done ones too.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one message for a person: who wrote, why it is here, and its text.
    Show {
        /// The message's id (see `tandem attention list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Mark a message dealt with; it moves to the processed folder.
    Done {
        /// The message's id (see `tandem attention list`).
        #[arg(value_parser = crate::cli::id)]
        id: i64,
    },
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let disposition = Disposition::Attention;
    match command {
        Command::List { all, json } => super::filed::list(&config, disposition, all, json).await,
        Command::Show { id, json } => super::filed::show(&config, disposition, id, json).await,
        Command::Done { id } => super::filed::handle(&config, disposition, id).await,
    }
}
