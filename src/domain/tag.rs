//! A client's short tag (`acme`), which assistants write on time-log lines (`#acme`).

use std::fmt;

use serde::Serialize;

use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct ClientTag(String);

impl ClientTag {
    /// Lower-case letters, digits, `-` and `_`, starting with a letter or digit, at most 32
    /// characters; a leading `#` is accepted and dropped, since that is how people write it.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim().trim_start_matches('#').to_lowercase();
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new(format!(
                "'{input}' is not a client tag: use 1 to 32 letters, digits, '-' or '_', e.g. 'acme'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ClientTag> for String {
    fn from(t: ClientTag) -> Self {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(ClientTag::parse("#ACME").unwrap().as_str(), "acme");
        assert_eq!(
            ClientTag::parse("acme-gmbh_2").unwrap().as_str(),
            "acme-gmbh_2"
        );
        for bad in ["", "#", "-acme", "ac me", "acmé", &"a".repeat(33)] {
            assert!(ClientTag::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
