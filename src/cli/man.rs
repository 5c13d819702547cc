//! `tandem man`: the manual page (roff), generated from the command definitions, to stdout;
//! with `--dir`, one page per command (`tandem.1`, `tandem-client.1`, `tandem-client-add.1`,
//! ...) written into a folder.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write a page for every command into this folder instead of tandem's to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let command = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("could not write the pages into {}", dir.display()))?;
            println!("manual pages written to {}", dir.display());
        }
        None => {
            let mut out = super::stdout();
            clap_mangen::Man::new(command).render(&mut out)?;
            std::io::Write::flush(&mut out)?;
        }
    }
    Ok(())
}
