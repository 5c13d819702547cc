//! What every benchmark starts from: the shipped config, with everything it writes (database,
//! Maildir, outbox) moved under a folder of the benchmark's, and the checkout's templates.

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The text of `config/tandem.toml` with its `var/` paths under `dir`.
pub fn shipped_in(dir: &std::path::Path) -> String {
    std::fs::read_to_string(format!("{MANIFEST_DIR}/config/tandem.toml"))
        .unwrap()
        .replace("\"sqlite://var/", &format!("\"sqlite://{}/", dir.display()))
        .replace("\"var/", &format!("\"{}/", dir.display()))
        .replace(
            "dir = \"templates\"",
            &format!("dir = \"{MANIFEST_DIR}/templates\""),
        )
}
