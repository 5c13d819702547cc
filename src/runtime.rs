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

use std::io;

use crate::store::Backend;

/// A multi-thread tokio runtime with I/O and time; for a SQLite `database` URL (the config's
/// `[database] url`), on one CPU (so with one worker: tokio counts the CPUs the process may
/// use). Returns the runtime and whether it is kept to one CPU.
pub fn build(database: Option<&str>) -> io::Result<(tokio::runtime::Runtime, bool)> {
    let pinned =
        database.is_some_and(|url| Backend::of_url(url) != Backend::Postgres) && keep_to_this_cpu();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok((runtime, pinned))
}

/// Restricts the calling thread, and every thread it starts after, to the CPU it runs on.
#[cfg(target_os = "linux")]
fn keep_to_this_cpu() -> bool {
    use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
    let cpu = sched_getcpu();
    let Ok(allowed) = sched_getaffinity(None) else {
        return false;
    };
    if !allowed.is_set(cpu) {
        return false;
    }
    let mut one = CpuSet::new();
    one.set(cpu);
    sched_setaffinity(None, &one).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn keep_to_this_cpu() -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_and_its_threads_stay_on_one_cpu() {
        // On a thread of its own, so the test harness's other threads are not restricted.
        std::thread::spawn(|| {
            let (runtime, pinned) = build(Some("sqlite://var/tandem.db")).unwrap();
            assert!(pinned, "this Linux refused sched_setaffinity");
            let (worker, blocking) = runtime.block_on(async {
                let affinity = || rustix::thread::sched_getaffinity(None).unwrap().count();
                let worker = tokio::spawn(async move { affinity() }).await.unwrap();
                let blocking = tokio::task::spawn_blocking(affinity).await.unwrap();
                (worker, blocking)
            });
            assert_eq!(worker, 1, "the runtime's worker runs on one CPU");
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
