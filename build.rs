//! Names this build's code for the start-up check of the templates (`TANDEM_BUILD`, a hash of
//! the sources, the templates' samples and the locked dependencies): a start whose templates
//! were checked before by the same code has nothing new to check (`templates::Templates::digest`).
//!
//! Links the `tandem` binary with packed relative relocations (`-z pack-relative-relocs`,
//! DT_RELR: GNU ld 2.38 and glibc 2.36 on, as Debian 12 ships them). The binary is
//! position-independent, and without packing every pointer in its read-only data (about
//! 47,000: vtables, string slices, panic locations) costs a 24-byte relocation entry that the
//! loader reads at each start: a megabyte of the idle daemon's resident memory (issue 12's
//! idle-RSS goal). Packed, they are 22 kB. Only the binaries are linked this way, and only
//! where the linker knows the option (elsewhere the binary is linked as before).

use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for input in [
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "templates/samples",
        "migrations",
    ] {
        println!("cargo:rerun-if-changed={input}");
        hash_tree(Path::new(input), &mut hasher);
    }
    println!("cargo:rustc-env=TANDEM_BUILD={:016x}", hasher.finish());
    let gnu_linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let linker_packs = std::process::Command::new("ld")
        .arg("--help")
        .output()
        .is_ok_and(|help| String::from_utf8_lossy(&help.stdout).contains("pack-relative-relocs"));
    if gnu_linux && linker_packs {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Hashes `path`, a file or a folder (its files in name order, recursively), names and
/// contents.
fn hash_tree(path: &Path, hasher: &mut impl Hasher) {
    path.to_string_lossy().hash(hasher);
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for entry in entries {
            hash_tree(&entry, hasher);
        }
    } else {
        std::fs::read(path).unwrap_or_default().hash(hasher);
    }
}
