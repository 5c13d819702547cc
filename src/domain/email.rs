//! Email addresses, mailboxes (`Name <address>`) and client contacts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// An email address in the form `local@domain`, domain lower-cased. The local part keeps its
/// case (RFC 5321 leaves it to the receiving server), but comparisons in tandem are done on the
/// lower-cased form, since no real mailbox provider distinguishes case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Words of the characters an address may have before '@', joined by single dots (RFC 5322's
/// dot-atom; beyond ASCII too, as RFC 6531 allows).
fn dot_atom(local: &str) -> bool {
    !local.is_empty()
        && local.chars().all(|c| {
            c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
        })
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        let bad = |why: &str| ParseError::new(format!("'{input}' is not an email address: {why}"));
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.len() > 254 {
            return Err(bad("it is longer than 254 characters"));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| bad("it has no '@'"))?;
        // A quoted part before '@' that needs no quotes (`"mia"@va.example`) is the same
        // address without them (RFC 5321, 4.1.2), and is kept so, to be found as that one.
        let local = match local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
            Some(unquoted) if dot_atom(unquoted) => unquoted,
            _ => local,
        };
        if local.is_empty() || local.len() > 64 {
            return Err(bad("the part before '@' must have 1 to 64 characters"));
        }
        if !dot_atom(local) {
            return Err(bad(
                "the part before '@' has characters an address cannot have",
            ));
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain_ok {
            return Err(bad("the domain after '@' is not a valid host name"));
        }
        if labels.len() < 2 && domain != "localhost" {
            return Err(bad("the domain after '@' has no dot (e.g. example.org)"));
        }
        Ok(Self(format!("{}@{domain}", local.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@` (lower-cased, as the whole address is).
    pub fn local(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }

    /// The domain part, used for the right-hand side of Message-IDs.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.0
    }
}

/// An address with an optional display name: `Anna Berg <anna@acme.example>` or a bare address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: EmailAddress,
}

impl Mailbox {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        match (s.rfind('<'), s.ends_with('>')) {
            (Some(open), true) => {
                let name = s[..open].trim().trim_matches('"').trim();
                let email = EmailAddress::parse(&s[open + 1..s.len() - 1])?;
                Ok(Self {
                    name: (!name.is_empty()).then(|| name.to_string()),
                    email,
                })
            }
            (None, false) => Ok(Self {
                name: None,
                email: EmailAddress::parse(s)?,
            }),
            _ => Err(ParseError::new(format!(
                "'{input}' is not a mailbox: write 'Name <address>' or just the address"
            ))),
        }
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => write!(f, "{}", self.email),
        }
    }
}

impl TryFrom<String> for Mailbox {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Mailbox> for String {
    fn from(m: Mailbox) -> Self {
        m.to_string()
    }
}

/// A client's contact person as given on the command line:
/// `Name <address>`, optionally followed by `| role | reachability`,
/// e.g. `Anna Berg <anna@acme.example> | Managing director | Mon-Thu 9-13`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub name: String,
    pub email: EmailAddress,
    pub role: Option<String>,
    pub reachability: Option<String>,
}

impl Contact {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let mut parts = input.split('|').map(str::trim);
        let mailbox = Mailbox::parse(parts.next().unwrap_or_default())?;
        let name = mailbox.name.ok_or_else(|| {
            ParseError::new(format!(
                "contact '{input}' has no name: write 'Name <address>' (then optionally '| role | reachability')"
            ))
        })?;
        let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
        let role = non_empty(parts.next());
        let reachability = non_empty(parts.next());
        if parts.next().is_some() {
            return Err(ParseError::new(format!(
                "contact '{input}' has too many '|' parts: write 'Name <address> | role | reachability'"
            )));
        }
        Ok(Self {
            name,
            email: mailbox.email,
            role,
            reachability,
        })
    }
}

/// Who an address belongs to, as far as tandem knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Person {
    Assistant {
        id: i64,
        name: String,
    },
    Contact {
        client_id: i64,
        client_tag: String,
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_validated_and_normalised() {
        assert_eq!(
            EmailAddress::parse(" Anna.Berg@ACME.Example ")
                .unwrap()
                .as_str(),
            "anna.berg@acme.example"
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@acme.de",
            "an na@acme.de",
            "anna@acme",
            "a..b@x.de",
            "anna@-x.de",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(EmailAddress::parse("team+token@localhost").is_ok());
    }

    #[test]
    fn a_quoted_local_part_that_needs_no_quotes_is_the_address_without_them() {
        for quoted in [
            "\"Sam\"@VA.example",
            "\"sam\"@va.example",
            "Sam Lee <\"sam\"@va.example>",
        ] {
            let address = match quoted.contains('<') {
                true => Mailbox::parse(quoted).unwrap().email,
                false => EmailAddress::parse(quoted).unwrap(),
            };
            assert_eq!(address.as_str(), "sam@va.example", "{quoted}");
        }
        // Quotes that carry what a bare address cannot: refused, as before.
        for quoted in [
            "\"sam lee\"@va.example",
            "\"\"@va.example",
            "\"a..b\"@va.example",
        ] {
            assert!(EmailAddress::parse(quoted).is_err(), "{quoted}");
        }
    }

    #[test]
    fn mailboxes_with_and_without_names() {
        let m = Mailbox::parse("\"Anna Berg\" <anna@acme.example>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Anna Berg"));
        assert_eq!(m.to_string(), "Anna Berg <anna@acme.example>");
        assert_eq!(Mailbox::parse("anna@acme.example").unwrap().name, None);
        assert!(Mailbox::parse("Anna <anna@acme.example").is_err());
    }

    #[test]
    fn contacts_with_role_and_reachability() {
        let c = Contact::parse("Anna Berg <anna@acme.example> | CEO | Mon-Thu 9-13").unwrap();
        assert_eq!(c.role.as_deref(), Some("CEO"));
        assert_eq!(c.reachability.as_deref(), Some("Mon-Thu 9-13"));
        let c = Contact::parse("Anna Berg <anna@acme.example>").unwrap();
        assert_eq!((c.role, c.reachability), (None, None));
        assert!(Contact::parse("anna@acme.example").is_err());
        assert!(Contact::parse("A <a@b.de> | x | y | z").is_err());
    }
}
