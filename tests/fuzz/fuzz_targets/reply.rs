//! The reply extractor never panics, and keeps only lines it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let new = tandem::reply::extract(text);
        let lines: std::collections::HashSet<&str> = text.lines().map(str::trim_end).collect();
        for line in new.lines() {
            assert!(lines.contains(line.trim_end()), "invented line {line:?}");
        }
    }
    // Whole messages, too: MIME parsing and extraction together.
    let _ = tandem::inbound::message::Incoming::parse(data);
});
