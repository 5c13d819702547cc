//! The survey answer parser never panics, answers only the questions it was asked, at most
//! once each, and reads a trailing sign-off off free text without adding to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::survey::{answers, default_questions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let questions = default_questions();
    let count = questions.len();
    let parsed = answers::parse(text, &questions);
    let answered: Vec<usize> = parsed.answers.iter().map(|a| a.number).collect();
    assert!(
        answered.iter().all(|n| (1..=count).contains(n)),
        "{parsed:?}"
    );
    assert!(answered.windows(2).all(|w| w[0] < w[1]), "{parsed:?}");
    assert!(parsed.missing.windows(2).all(|w| w[0] < w[1]), "{parsed:?}");
    assert_eq!(answered.len() + parsed.missing.len(), count, "{parsed:?}");
    assert!(
        parsed
            .invalid
            .iter()
            .all(|i| parsed.missing.contains(&i.number)),
        "{parsed:?}"
    );
    let _ = answers::yes_no(text);
    let rest = answers::without_sign_off(text);
    assert!(rest.len() <= text.len(), "{rest:?}");
});
