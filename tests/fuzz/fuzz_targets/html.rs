//! HTML-only mail turned into text never panics, never writes more than its byte limit, and a
//! smaller limit gives the beginning of the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::inbound::html::{HtmlLimits, decode_entities, html_to_text};

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let limits = HtmlLimits::default();
    let text = html_to_text(html, &limits);
    assert!(text.len() <= limits.max_output_bytes);
    let small = HtmlLimits {
        max_output_bytes: 64,
        ..limits
    };
    let beginning = html_to_text(html, &small);
    assert!(beginning.len() <= small.max_output_bytes);
    assert!(text.starts_with(&beginning), "{beginning:?} / {text:?}");
    // An entity is never shorter than the character it stands for.
    assert!(decode_entities(html).len() <= html.len());
});
