//! The `tandem` binary: parse the command line, read the config, set up logging, hand over to
//! the library.
#![forbid(unsafe_code)]

use clap::Parser;

/// jemalloc, not the system's malloc: glibc's malloc and free were a fifth of the CPU that
/// `run --once` of 2,000 time logs used, and with jemalloc it took 7 % less wall time (its
/// settings, and why, are in `.cargo/config.toml`). SQLite's own allocations stay with the
/// system's malloc: routed to jemalloc too, the same run was slower.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
