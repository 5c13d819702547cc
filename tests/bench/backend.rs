//! Which database the benchmarks that take one run on: by default SQLite and then PostgreSQL in
//! one invocation, or the one `TANDEM_BENCH_DATABASE` (`sqlite`, `postgres`; `both` is the
//! default) names. PostgreSQL is the private server of `tests/api/servers.rs` (started on first
//! use, stopped by its watchdog when the benchmark ends), with a fresh database for every
//! measurement. A benchmark that includes this file includes `servers.rs` as `mod servers`.

use std::path::Path;

use tandem::store::Backend;

use crate::servers::Postgres;

/// The backends this run measures, in order.
pub fn chosen() -> Vec<Backend> {
    match std::env::var("TANDEM_BENCH_DATABASE").as_deref() {
        Err(_) | Ok("") | Ok("both") => vec![Backend::Sqlite, Backend::Postgres],
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        Ok(other) => panic!("TANDEM_BENCH_DATABASE={other}: give sqlite, postgres or both"),
    }
}

/// The label printed before a backend's figures.
pub fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

/// A fresh, empty database: a file in `dir`, or a new database on the private PostgreSQL. Its
/// URL.
pub fn fresh(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/tandem.db", dir.display()),
        Backend::Postgres => Postgres::shared().create_database(),
    }
}

/// A config's text with its database moved to `url`.
pub fn with_url(text: &str, url: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with("url = ") && (l.contains("sqlite:") || l.contains("postgres")))
        .expect("the config names its database");
    text.replace(line, &format!("url = \"{url}\""))
}
