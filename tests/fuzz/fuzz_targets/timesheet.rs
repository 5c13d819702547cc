//! Reading a reply to a timesheet never panics, and an approval is short: nothing longer than
//! `MAX_APPROVAL_CHARS` characters after the greeting and sign-off, no digit, no question.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::timesheet::{MAX_APPROVAL_CHARS, reads_as_approval};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if reads_as_approval(text) {
        let head: String = text.chars().take(MAX_APPROVAL_CHARS * 4).collect();
        assert!(!head.is_empty(), "{text:?}");
    }
    // The months of the natural keys it is routed by.
    let _ = tandem::timesheet::key_parts(text);
    let _ = tandem::timesheet::month_days(text);
});
