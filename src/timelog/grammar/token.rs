//! The tokenizer: one line of text cut into numbers, words, tags and single symbols, each with
//! its byte span, so matchers can look at structure ("23" "." "11" ".") while the description
//! is cut out of the user's own text.
//!
//! Whitespace is not a token; instead each token records whether whitespace (or the line start)
//! comes right before it, because `1h30` and `1h 30` or `23.11.` and `23. 11.` mean different
//! things.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A run of ASCII digits.
    Num,
    /// A run of letters (any script).
    Word,
    /// `#` followed by a tag-like name with at least one letter; the text includes the `#`.
    Tag,
    /// A whole whitespace-separated word that is a URL or an address: never looked inside, so
    /// `https://x.example/2026/11/23` is not a date.
    Opaque,
    /// Any other single character.
    Sym(char),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    /// Byte offsets into the line.
    pub start: usize,
    pub end: usize,
    /// Whitespace or the start of the line comes right before this token.
    pub spaced: bool,
}

/// Cuts a line into tokens. Works on char boundaries only, so any input is safe.
pub(super) fn tokenize(line: &str) -> Vec<Token<'_>> {
    // About a token for every three bytes of a line of prose, so seldom grown; no more than a
    // usual line's ahead of what a long one turns out to hold.
    let mut tokens = Vec::with_capacity((line.len() / 3 + 1).min(64));
    for (start, word) in words(line) {
        if is_opaque(word) {
            tokens.push(Token {
                kind: Kind::Opaque,
                text: word,
                start,
                end: start + word.len(),
                spaced: true,
            });
        } else {
            split_word(word, start, &mut tokens);
        }
    }
    tokens
}

/// The whitespace-separated words of a line with their byte offsets.
fn words(line: &str) -> impl Iterator<Item = (usize, &str)> {
    line.split_whitespace()
        .map(move |word| (word.as_ptr() as usize - line.as_ptr() as usize, word))
}

/// URLs and mail addresses carry digits and dots that are not dates or durations.
fn is_opaque(word: &str) -> bool {
    let www = word
        .get(..4)
        .is_some_and(|start| start.eq_ignore_ascii_case("www."));
    word.contains("://") || www || word.contains('@')
}

fn split_word<'a>(word: &'a str, offset: usize, tokens: &mut Vec<Token<'a>>) {
    let mut rest = word;
    let mut at = 0;
    while let Some(c) = rest.chars().next() {
        let (kind, len) = if c.is_ascii_digit() {
            (Kind::Num, prefix_len(rest, |c| c.is_ascii_digit()))
        } else if c.is_alphabetic() {
            (Kind::Word, prefix_len(rest, char::is_alphabetic))
        } else if let Some(len) = tag_len(rest) {
            (Kind::Tag, len)
        } else {
            (Kind::Sym(c), c.len_utf8())
        };
        tokens.push(Token {
            kind,
            text: &rest[..len],
            start: offset + at,
            end: offset + at + len,
            spaced: at == 0,
        });
        at += len;
        rest = &rest[len..];
    }
}

/// Byte length of the longest prefix whose chars all satisfy `keep`.
fn prefix_len(s: &str, keep: impl Fn(char) -> bool) -> usize {
    s.char_indices()
        .find(|&(_, c)| !keep(c))
        .map_or(s.len(), |(i, _)| i)
}

/// `#acme`, `#acme-gmbh_2`: a `#` and ASCII letters, digits, `-` and `_`, starting with a letter
/// or digit, not ending in `-` or `_`, with at least one letter (so `#2` stays an issue number).
fn tag_len(s: &str) -> Option<usize> {
    let name = s.strip_prefix('#')?;
    let len = prefix_len(name, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let name = name[..len].trim_end_matches(['-', '_']);
    let ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().any(|c| c.is_ascii_alphabetic());
    ok.then_some(1 + name.len())
}

/// Read access to a line's tokens by index, with the small questions every matcher asks.
/// Every accessor returns `None`/`false` past the end, so matchers never index out of bounds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tokens<'t, 'a>(pub &'t [Token<'a>]);

impl<'a> Tokens<'_, 'a> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, i: usize) -> Option<&Token<'a>> {
        self.0.get(i)
    }

    /// The digits of a number token of `min..=max` digits.
    pub fn num(&self, i: usize, min: usize, max: usize) -> Option<&'a str> {
        self.get(i)
            .filter(|t| t.kind == Kind::Num && (min..=max).contains(&t.text.len()))
            .map(|t| t.text)
    }

    /// A word token, lower-cased.
    pub fn word(&self, i: usize) -> Option<Lower<'a>> {
        self.get(i)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| Lower::of(t.text))
    }

    /// The raw text of a word token (case kept).
    pub fn raw_word(&self, i: usize) -> Option<&'a str> {
        self.get(i).filter(|t| t.kind == Kind::Word).map(|t| t.text)
    }

    pub fn is_sym(&self, i: usize, c: char) -> bool {
        self.get(i).is_some_and(|t| t.kind == Kind::Sym(c))
    }

    pub fn is_sym_in(&self, i: usize, set: &[char]) -> bool {
        set.iter().any(|&c| self.is_sym(i, c))
    }

    /// Token `i` exists and touches the one before it.
    pub fn glued(&self, i: usize) -> bool {
        self.get(i).is_some_and(|t| !t.spaced)
    }

    /// Whether a match may begin at token `i`: not in the middle of a number or a word
    /// (`ab12`, `+49`, `12:1.5`), but after a space or an opening bracket, quote or bullet.
    pub fn starts_word(&self, i: usize) -> bool {
        let Some(tok) = self.get(i) else {
            return false;
        };
        if i == 0 || tok.spaced {
            return true;
        }
        match self.0[i - 1].kind {
            Kind::Sym(c) if BLOCKS_START.contains(&c) => false,
            Kind::Sym(c) if JOINERS.contains(&c) => {
                // `inbox:1.5h` starts a duration, `12:1.5` does not.
                i < 2 || self.0[i - 1].spaced || self.0[i - 2].kind != Kind::Num
            }
            Kind::Sym(_) => true,
            _ => false,
        }
    }

    /// Whether a match may end right before token `end`: the next token is not glued on as
    /// more of the same number or word (`2x`, `50%`, `1.5.2026`).
    pub fn ends_word(&self, end: usize) -> bool {
        let Some(next) = self.get(end) else {
            return true;
        };
        if next.spaced {
            return true;
        }
        match next.kind {
            Kind::Num | Kind::Word => false,
            Kind::Sym(c) if BLOCKS_END.contains(&c) => false,
            Kind::Sym(c) if JOINERS.contains(&c) || c == '.' => {
                !(self.glued(end + 1) && self.get(end + 1).is_some_and(|t| t.kind == Kind::Num))
            }
            _ => true,
        }
    }

    /// The line's text from the start of token `from` to the end of token `to - 1`.
    pub fn span_text(&self, line: &'a str, from: usize, to: usize) -> &'a str {
        match (self.get(from), to.checked_sub(1).and_then(|i| self.get(i))) {
            (Some(a), Some(b)) if a.start <= b.end => &line[a.start..b.end],
            _ => "",
        }
    }
}

/// Symbols that join parts of one number-like thing: `1:30`, `2,5`, `23/11`, `9-11`.
const JOINERS: [char; 6] = [':', ',', '/', '-', '–', '—'];
/// Symbols after which no match starts: a phone number `+49`, an issue `#12`, `50 %`...
const BLOCKS_START: [char; 10] = ['+', '#', '@', '_', '&', '$', '€', '%', '.', '\\'];
/// Symbols before which no match ends: `50%`, `2€`, `3°`, `2+`, `2×3`. (Not `*`: `**23.11.**`
/// is Markdown bold.)
const BLOCKS_END: [char; 7] = ['%', '€', '$', '°', '+', '×', '='];

/// A word lower-cased for comparing with the grammar's keywords (months, weekdays, `uhr`,
/// `bis`, ...), without a string of its own: the grammar asks this of most words of every
/// line of every mail. A word longer than [`Lower::MAX`] bytes is kept as it is, since no
/// keyword is that long.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lower<'a> {
    Short { bytes: [u8; Lower::MAX], len: usize },
    Long(&'a str),
}

impl<'a> Lower<'a> {
    /// Longer than any keyword, lower-cased (`übermorgen` is 11 bytes).
    pub const MAX: usize = 24;

    pub fn of(word: &'a str) -> Lower<'a> {
        let mut bytes = [0u8; Lower::MAX];
        // Most words are ASCII: lower-cased a byte at a time (char by char, this was a sixth of
        // the grammar's time).
        if word.is_ascii() {
            let Some(room) = bytes.get_mut(..word.len()) else {
                return Lower::Long(word);
            };
            room.copy_from_slice(word.as_bytes());
            room.make_ascii_lowercase();
            return Lower::Short {
                bytes,
                len: word.len(),
            };
        }
        let mut len = 0;
        for c in word.chars().flat_map(char::to_lowercase) {
            let Some(room) = bytes.get_mut(len..len + c.len_utf8()) else {
                return Lower::Long(word);
            };
            len += c.encode_utf8(room).len();
        }
        Lower::Short { bytes, len }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Whole chars were written, so the bytes are UTF-8.
            Lower::Short { bytes, len } => std::str::from_utf8(&bytes[..*len]).unwrap_or_default(),
            Lower::Long(word) => word,
        }
    }
}

impl std::ops::Deref for Lower<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<(Kind, &str, bool)> {
        tokenize(line)
            .into_iter()
            .map(|t| (t.kind, t.text, t.spaced))
            .collect()
    }

    #[test]
    fn numbers_words_and_symbols_with_spacing() {
        assert_eq!(
            kinds("1h30 Std."),
            vec![
                (Kind::Num, "1", true),
                (Kind::Word, "h", false),
                (Kind::Num, "30", false),
                (Kind::Word, "Std", true),
                (Kind::Sym('.'), ".", false),
            ]
        );
    }

    #[test]
    fn tags_need_a_letter_and_drop_trailing_dashes() {
        assert_eq!(kinds("#acme-gmbh_2-")[0], (Kind::Tag, "#acme-gmbh_2", true));
        assert_eq!(kinds("#12")[0], (Kind::Sym('#'), "#", true));
        assert_eq!(kinds("#")[0], (Kind::Sym('#'), "#", true));
    }

    #[test]
    fn urls_and_addresses_are_opaque() {
        assert_eq!(
            kinds("see https://x.example/2026/11/23 anna@x.example"),
            vec![
                (Kind::Word, "see", true),
                (Kind::Opaque, "https://x.example/2026/11/23", true),
                (Kind::Opaque, "anna@x.example", true),
            ]
        );
    }

    #[test]
    fn spans_fall_on_char_boundaries() {
        let line = "  Grüße\u{a0}– 2h ✓ 😀1";
        for t in tokenize(line) {
            assert_eq!(&line[t.start..t.end], t.text);
        }
    }

    #[test]
    fn word_boundaries() {
        let toks = tokenize("+49 ab12 (2h) inbox:1.5h 12:1.5 50%");
        let t = Tokens(&toks);
        let at = |text: &str| toks.iter().position(|x| x.text == text).unwrap();
        assert!(!t.starts_word(at("49")));
        assert!(!t.starts_word(at("12")));
        assert!(t.starts_word(at("2")));
        assert!(t.ends_word(at("2") + 2));
        assert!(t.starts_word(at("inbox") + 2));
        assert!(!t.ends_word(at("50") + 1));
    }

    #[test]
    fn words_are_lower_cased_as_strings_are_and_long_ones_kept() {
        for word in [
            "Montag",
            "ÜBERMORGEN",
            "März",
            "İstanbul",
            "uhr",
            "ǅemal",
            "",
        ] {
            assert_eq!(Lower::of(word).as_str(), word.to_lowercase(), "{word}");
        }
        let long = "Donaudampfschifffahrtsgesellschaft";
        assert!(long.len() > Lower::MAX);
        assert_eq!(Lower::of(long).as_str(), long);
        // The boundary: a word whose lower case fills the buffer, and one a byte over.
        let full = "Ä".repeat(Lower::MAX / 2);
        assert_eq!(Lower::of(&full).as_str(), full.to_lowercase());
        let over = format!("{full}x");
        assert_eq!(Lower::of(&over).as_str(), over);
        // The same for ASCII, which is lower-cased a byte at a time.
        let full = "MoNtAg".repeat(Lower::MAX / 6);
        assert_eq!(full.len(), Lower::MAX);
        assert_eq!(Lower::of(&full).as_str(), full.to_lowercase());
        let over = format!("{full}X");
        assert_eq!(Lower::of(&over).as_str(), over);
    }

    #[test]
    fn www_in_any_case_is_opaque() {
        assert_eq!(kinds("WWW.x.example/2026")[0].0, Kind::Opaque);
        assert_eq!(kinds("Www.x.example")[0].0, Kind::Opaque);
        assert_eq!(kinds("ww.1")[0].0, Kind::Word);
    }
}
