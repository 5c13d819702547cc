//! Links the `tandem` binary with packed relative relocations (`-z pack-relative-relocs`,
//! DT_RELR: GNU ld 2.38 and glibc 2.36 on, as Debian 12 ships them). The binary is
//! position-independent, and without packing every pointer in its read-only data (about
//! 47,000: vtables, string slices, panic locations) costs a 24-byte relocation entry that the
//! loader reads at each start: a megabyte of the idle daemon's resident memory (issue 12's
//! idle-RSS goal). Packed, they are a few kilobytes. Only the binaries are linked this way.

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
