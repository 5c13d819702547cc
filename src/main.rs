//! The `tandem` binary: parse the command line, read the config, set up logging, hand over to
//! the library.
#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = tandem::cli::Cli::parse();
    let config = cli.load_config();
    let log = config
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .map(|c| &c.log);
    tandem::logging::init(log, cli.is_daemon());
    match tandem::cli::run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", tandem::error::error_chain(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
