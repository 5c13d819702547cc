//! The process's runtime: tokio, kept to one CPU when the database is SQLite.
//!
//! tandem's work is a conversation: each statement goes to the database driver's thread (the
//! SQLite driver runs every connection on a thread of its own) and the answer comes back, a
//! few per mail. When the two threads sit on different CPUs, each hand-over wakes an idle
//! CPU; on a virtual machine that costs tens of microseconds, far more than the statement.
//! Measured on the 2-vCPU machine of issue 12: a `SELECT 1` took 56 µs across CPUs and
//! 6 µs on one, and `run --once` on 2,000 time logs took 2.3 s and 2.1 s of CPU on two CPUs,
//! 1.5 s and 1.3 s of CPU on one. A daemon that reads a few hundred mails a day has no use
//! for the second CPU, and the mail goes out sooner without it.
//!
//! So, on SQLite, [`build`] keeps the process on the CPU it started on, among those it may use
//! (systemd's `CPUAffinity=`, `taskset`), before any thread is started: every thread after
//! it, the runtime's, the drivers' and the blocking pool's, inherits that. Where the system
//! refuses (not Linux, or a sandbox that forbids it), the process runs on every CPU it may,
//! as before. On PostgreSQL the driver runs on the runtime itself and every statement is a
//! round trip to the server's process anyway: one CPU gained nothing there (the same 2,000
//! mails took as long), and several daemons on one database were slower with it, so a
//! PostgreSQL daemon keeps every CPU.
//!
//! Two kinds of work are the exception on SQLite, CPU work that needs no database: talking
//! SMTP (each session's lines, escaping the message, the system calls) and parsing the mail
//! read. Where the process may use another CPU, [`build`] starts a second, one-thread runtime
//! there ([`second`]), all of whose threads (its worker and its blocking pool's) are kept to
//! that CPU: the outbox worker runs its sends on it and the reader parses its batches on it,
//! so mail goes out, and a batch is parsed, while the first CPU records what was read.

use std::io;

use crate::store::Backend;

/// A multi-thread tokio runtime with I/O and time; for a SQLite `database` URL (the config's
/// `[database] url`), on one CPU (so with one worker: tokio counts the CPUs the process may
/// use), with a second runtime on another CPU where there is one ([`second`]). Returns the
/// runtime and whether it is kept to one CPU.
pub fn build(database: Option<&str>) -> io::Result<(tokio::runtime::Runtime, bool)> {
    let pinned = database
        .filter(|url| Backend::of_url(url) != Backend::Postgres)
        .and_then(|_| keep_to_this_cpu());
    if let Some(Some(other)) = pinned {
        start_second(other)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok((runtime, pinned.is_some()))
}

/// The runtime for sends and parsing, when [`build`] kept the process to one CPU and found
/// another it may use: a handle to a one-thread runtime on that CPU, whose blocking pool runs
/// there too, for the whole process.
pub fn second() -> Option<tokio::runtime::Handle> {
    SECOND.get().cloned()
}

/// Where CPU work that needs no database is spawned: the [`second`] runtime where there is
/// one, else the caller's own runtime.
pub fn for_cpu_work() -> tokio::runtime::Handle {
    second().unwrap_or_else(tokio::runtime::Handle::current)
}

static SECOND: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();

/// The CPU of the [`second`] runtime.
static SECOND_CPU: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Keeps the calling thread (each thread the [`second`] runtime starts) to that runtime's CPU,
/// where there is one.
fn to_second_cpu() {
    #[cfg(target_os = "linux")]
    if let Some(&cpu) = SECOND_CPU.get() {
        let mut one = rustix::thread::CpuSet::new();
        one.set(cpu);
        let _ = rustix::thread::sched_setaffinity(None, &one);
    }
}

/// Restricts the calling thread, and every thread it starts after, to the CPU it runs on;
/// returns another CPU the process was allowed, if any (`None` when it could not be kept).
#[cfg(target_os = "linux")]
fn keep_to_this_cpu() -> Option<Option<usize>> {
    use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
    let cpu = sched_getcpu();
    let allowed = sched_getaffinity(None).ok()?;
    if !allowed.is_set(cpu) {
        return None;
    }
    let mut one = CpuSet::new();
    one.set(cpu);
    sched_setaffinity(None, &one).ok()?;
    Some((0..CpuSet::MAX_CPU).find(|&other| other != cpu && allowed.is_set(other)))
}

#[cfg(not(target_os = "linux"))]
fn keep_to_this_cpu() -> Option<Option<usize>> {
    None
}

/// Starts the [`second`] runtime on a thread of its own, with every thread it starts kept to
/// `cpu`, unless it runs.
fn start_second(cpu: usize) -> io::Result<()> {
    if SECOND_CPU.set(cpu).is_err() {
        return Ok(());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("tandem-second".into())
        .spawn(move || {
            to_second_cpu();
            let built = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                // The blocking pool's threads are started by whichever thread asks for one,
                // and would inherit its CPU.
                .on_thread_start(to_second_cpu)
                .build();
            match built {
                Ok(runtime) => {
                    let _ = tx.send(Ok(runtime.handle().clone()));
                    // Runs what is spawned on it, for as long as the process lives.
                    runtime.block_on(std::future::pending::<()>());
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })?;
    let handle = rx
        .recv()
        .map_err(|_| io::Error::other("the second runtime did not start"))??;
    let _ = SECOND.set(handle);
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_and_its_threads_stay_on_one_cpu() {
        // On a thread of its own, so the test harness's other threads are not restricted.
        std::thread::spawn(|| {
            // Whether this process may use more than one CPU, asked before `build` keeps it.
            let several = rustix::thread::sched_getaffinity(None).unwrap().count() > 1;
            let (runtime, pinned) = build(Some("sqlite://var/tandem.db")).unwrap();
            assert!(pinned, "this Linux refused sched_setaffinity");
            let (worker, blocking) = runtime.block_on(async {
                let affinity = || rustix::thread::sched_getaffinity(None).unwrap().count();
                let worker = tokio::spawn(async move { affinity() }).await.unwrap();
                let blocking = tokio::task::spawn_blocking(affinity).await.unwrap();
                (worker, blocking)
            });
            assert_eq!(worker, 1, "the runtime's worker runs on one CPU");
            if several {
                let second = second().expect("a second runtime on the other CPU");
                let main = rustix::thread::sched_getcpu();
                let where_ = || {
                    let set = rustix::thread::sched_getaffinity(None).unwrap();
                    (rustix::thread::sched_getcpu(), set.count())
                };
                let (worker, blocking) = runtime.block_on(async {
                    let worker = second.spawn(async move { where_() }).await.unwrap();
                    let blocking = second.spawn_blocking(where_).await.unwrap();
                    (worker, blocking)
                });
                for (what, (cpu, count)) in [("worker", worker), ("blocking thread", blocking)] {
                    assert_eq!(count, 1, "the second runtime's {what} runs on one CPU");
                    assert_ne!(cpu, main, "the second runtime's {what} runs on another CPU");
                }
            }
            assert_eq!(blocking, 1, "a blocking thread runs on one CPU");
            assert_eq!(
                std::thread::available_parallelism().unwrap().get(),
                1,
                "tokio sizes its pool by this"
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_postgresql_daemon_keeps_every_cpu() {
        std::thread::spawn(|| {
            let before = rustix::thread::sched_getaffinity(None).unwrap().count();
            let (_runtime, pinned) = build(Some("postgres://tandem@127.0.0.1/tandem")).unwrap();
            assert!(!pinned);
            let after = rustix::thread::sched_getaffinity(None).unwrap().count();
            assert_eq!(after, before);
        })
        .join()
        .unwrap();
    }
}
