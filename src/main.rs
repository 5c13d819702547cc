//! The `tandem` binary: parse the command line, read the config, set up logging, hand over to
//! the library.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tandem::cli::Cli::parse();
    let config = cli.load_config();
    // Before any thread: every thread of the process inherits the CPU (see `runtime`).
    let database = config
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .map(|c| c.database.url.as_str());
    let (runtime, one_cpu) = match tandem::runtime::build(database) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli, config, one_cpu))
}

async fn run(
    cli: tandem::cli::Cli,
    config: Option<Result<tandem::config::Config, tandem::config::ConfigError>>,
    one_cpu: bool,
) -> std::process::ExitCode {
    let log = config
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .map(|c| &c.log);
    tandem::logging::init(log, cli.is_daemon());
    tracing::debug!(one_cpu, "runtime started");
    match tandem::cli::run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", tandem::error::error_chain(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
