//! The iTIP reply reader (`calls::ics::read_reply`) and the reading of an answer in words
//! (`calls::answer_in_words`) never panic on any text and keep within their bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::calls::{self, ics};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(reply) = ics::read_reply(&text) {
        assert!(reply.attendees.len() <= ics::MAX_ATTENDEES, "{reply:?}");
        assert!(reply.uid.len() <= text.len());
    }
    let _ = calls::answer_in_words(&text);
});
