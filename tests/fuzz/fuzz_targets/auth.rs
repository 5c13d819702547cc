//! The `Authentication-Results` parser never panics and keeps within its bounds; the verdict
//! over any headers never passes a message with several `From:` addresses, nor one whose
//! trusted headers say nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::inbound::auth::{self, MAX_PROPERTIES, MAX_RESULTS, RawHeader, Verdict};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = auth::parse(text) {
        assert!(parsed.results.len() <= MAX_RESULTS, "{parsed:?}");
        assert!(
            parsed
                .results
                .iter()
                .all(|r| r.properties.len() <= MAX_PROPERTIES),
            "{parsed:?}"
        );
    }
    // The input as a message's headers, one per line, the first one's id trusted.
    let headers: Vec<RawHeader> = text
        .split('\n')
        .take(auth::MAX_HEADERS)
        .enumerate()
        .map(|(position, value)| RawHeader {
            position,
            value: value.to_string(),
        })
        .collect();
    let trusted = vec!["mx.agency.example".to_string()];
    let one = auth::verdict(&headers, 1, Some("sam@va.example"), &trusted);
    if one.verdict == Verdict::Pass {
        assert!(text.to_ascii_lowercase().contains("pass"), "{one:?}");
    }
    let several = auth::verdict(&headers, 2, Some("sam@va.example"), &trusted);
    assert_eq!(several.verdict, Verdict::Fail, "{several:?}");
    let none = auth::verdict(&headers, 1, Some("sam@va.example"), &[]);
    assert_eq!(none.verdict, Verdict::Fail, "nothing trusted: {none:?}");
});
