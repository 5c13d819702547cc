//! `tandem completions SHELL`: the shell's completion script, generated from the command
//! definitions (so it never falls behind them), to stdout.

use clap::CommandFactory as _;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut out = super::stdout();
    clap_complete::generate(args.shell, &mut command, "tandem", &mut out);
    std::io::Write::flush(&mut out)?;
    Ok(())
}
