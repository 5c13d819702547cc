//! Small text tests the detectors share. Mail clients write their markers with a fixed
//! capitalisation, so these comparisons fold ASCII case only (the words of
//! [`super::languages`] are compared folded by `languages::fold`); a byte offset these functions
//! return is always a char boundary, because a needle's first byte starts a character and
//! non-ASCII bytes only match themselves.

/// A line without its surrounding whitespace (NBSP from HTML included) or byte-order mark.
pub(super) fn content(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Whether `s` starts with `prefix`, ASCII letters compared without case. When `prefix` is
/// ASCII and it does, `prefix.len()` is a char boundary of `s`.
pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether `s` ends with `suffix`, ASCII letters compared without case.
pub(super) fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The first word of `s`, without the punctuation that clings to words.
pub(super) fn first_word(s: &str) -> Option<&str> {
    s.split_whitespace().next().map(strip_punctuation)
}

/// The last word of `s`, without the punctuation that clings to words.
pub(super) fn last_word(s: &str) -> Option<&str> {
    s.split_whitespace().next_back().map(strip_punctuation)
}

fn strip_punctuation(word: &str) -> &str {
    word.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '.' | '"' | '\'' | '(' | ')'))
}

/// The people who write "I wrote:" or "ich schrieb:" in their own text; a quote is introduced by
/// someone's name instead.
pub(super) fn is_pronoun(word: &str) -> bool {
    const PRONOUNS: &[&str] = &[
        "i", "me", "we", "us", "you", "he", "she", "they", "ich", "mir", "wir", "uns", "du", "er",
        "sie", "ihr", "man", "es",
    ];
    PRONOUNS.iter().any(|p| word.eq_ignore_ascii_case(p))
}

/// Whether `s` has a word only its writer uses of themselves ("I", "wir"): never part of the
/// name in an attribution.
pub(super) fn has_first_person(s: &str) -> bool {
    // Only commas and colons come off: "I." is an initial.
    s.split_whitespace()
        .map(|w| w.trim_matches([',', ';', ':']))
        .any(|w| {
            w == "I"
                || ["we", "ich", "wir"]
                    .iter()
                    .any(|p| w.eq_ignore_ascii_case(p))
        })
}

/// Whether `s` names a moment as attribution lines do: a clock time (`10:02`), a four-digit
/// year (`2026`) or a date with a year (`23.11.26`, `23/11/2026`). A bare `23.11.` is not
/// enough: time logs are full of those.
pub(super) fn has_date_or_time(s: &str) -> bool {
    let bytes = s.as_bytes();
    // Maximal runs of ASCII digits, as (start, end) byte offsets.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    let len = |(start, end): (usize, usize)| end - start;
    // `b` follows `a` after exactly one separator byte from `separators`.
    let joined = |a: (usize, usize), b: (usize, usize), separators: &[u8]| {
        b.0 == a.1 + 1 && separators.contains(&bytes[a.1])
    };
    runs.iter().enumerate().any(|(k, &run)| {
        let year = len(run) == 4
            && (bytes[run.0..].starts_with(b"19") || bytes[run.0..].starts_with(b"20"));
        let next = runs.get(k + 1).copied();
        let time = next
            .is_some_and(|m| (1..=2).contains(&len(run)) && len(m) == 2 && joined(run, m, b":"));
        let date = match (next, runs.get(k + 2).copied()) {
            (Some(month), Some(y)) => {
                (1..=2).contains(&len(run))
                    && (1..=2).contains(&len(month))
                    && matches!(len(y), 2 | 4)
                    && joined(run, month, b"./-")
                    && joined(month, y, b"./-")
            }
            _ => false,
        };
        year || time || date
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_as_attributions_write_them() {
        for s in [
            "On Mon, 23 Nov 2026 at 10:02",
            "On 23/11/2026",
            "Am 23.11.26 um 10:02",
            "Am 23.11.2026 schrieb Anna:",
            "On Nov 23, 2026, at 10:02",
            "9:15",
        ] {
            assert!(has_date_or_time(s), "{s}");
        }
        for s in [
            "23.11.",
            "Monday, 23 Nov",
            "2h inbox",
            "1.5h",
            "3000 words",
            "",
            "12:3",
        ] {
            assert!(!has_date_or_time(s), "{s}");
        }
    }

    #[test]
    fn case_folding_is_ascii_only_and_safe_on_short_strings() {
        assert!(starts_with_ci("SENT from my iPhone", "sent from"));
        assert!(ends_with_ci(
            "Passt!Von meinem iPhone gesendet",
            "VON MEINEM IPHONE GESENDET"
        ));
        assert!(!ends_with_ci("ab", "abc"));
        assert!(!starts_with_ci("", "a"));
        assert_eq!(content("\u{feff}  > hi \u{a0}\r"), "> hi");
    }

    #[test]
    fn words_lose_clinging_punctuation() {
        assert_eq!(first_word("  Ich, Anna"), Some("Ich"));
        assert_eq!(last_word("On 23.11.2026, I"), Some("I"));
        assert_eq!(last_word("   "), None);
        assert!(is_pronoun("Ich") && is_pronoun("WE") && !is_pronoun("Anna"));
    }
}
