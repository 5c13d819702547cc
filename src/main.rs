//! The `tandem` binary: parse the command line, read the config, set up logging, hand over to
//! the library.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tandem::cli::Cli::parse();
    let config = cli.load_config();
    let loaded = config.as_ref().and_then(|c| c.as_ref().ok());
    // The log starts no thread, so it is set up before the runtime is built.
    tandem::logging::init(loaded.map(|c| &c.log), cli.is_daemon());
    // Before any thread: every thread of the process inherits the CPU (see `runtime`).
    let (runtime, one_cpu) = match tandem::runtime::build(loaded.map(|c| c.database.url.as_str())) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::debug!(one_cpu, "runtime started");
    match runtime.block_on(tandem::cli::run(cli, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", tandem::error::error_chain(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
