//! Links the `tandem` binary with packed relative relocations (`-z pack-relative-relocs`,
//! DT_RELR: GNU ld 2.38 and glibc 2.36 on, as Debian 12 ships them). The binary is
//! position-independent, and without packing every pointer in its read-only data (about
//! 47,000: vtables, string slices, panic locations) costs a 24-byte relocation entry that the
//! loader reads at each start: a megabyte of the idle daemon's resident memory (issue 12's
//! idle-RSS goal). Packed, they are 22 kB. Only the binaries are linked this way, and only
//! where the linker knows the option (elsewhere the binary is linked as before).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
