//! The reply extractor never panics, and keeps only lines it was given, in order: each kept
//! line is a line of the input or, where a marker was glued onto the end of a line of new
//! text ("Thanks!Von: Anna ..."), the beginning of one (as `reply::extract` documents). The
//! cut it names is bounded and comes from the input. Seeding the corpus with the `.eml` files
//! of `tests/fixtures/replies-i18n` starts it from the language table's words.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let extracted = tandem::reply::extract_with_reason(text);
        if let Some(cut) = &extracted.cut {
            assert!(cut.line.len() <= tandem::reply::MAX_CUT_LINE, "{cut:?}");
            // Each piece of the cut's line (its lines joined by a space, or none after a "<")
            // is in the input.
            assert!(
                cut.line.split([' ', '<']).all(|piece| text.contains(piece)),
                "invented cut {cut:?}"
            );
        }
        let new = extracted.text;
        let mut given = text.lines().map(str::trim_end);
        for line in new.lines().map(str::trim_end) {
            assert!(
                given.any(|g| g == line || (!line.is_empty() && g.starts_with(line))),
                "invented line {line:?}"
            );
        }
    }
    // Whole messages, too: MIME parsing and extraction together.
    let _ = tandem::inbound::message::Incoming::parse(data);
});
