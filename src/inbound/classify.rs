//! Deciding what a message is, in PRODUCT.md's order: ignored, reply, hours, unrecognised.
//! Pure: the caller looks the sender up and passes what it found.
//!
//! Replies and time logs are understood by later flows; until a flow claims a message from a
//! known person, it goes to a person (the attention folder), never to an automatic answer.

use crate::domain::{Classification, Disposition, EmailAddress, Person};
use crate::inbound::auth::Authentication;
use crate::inbound::message::Incoming;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub classification: Classification,
    pub disposition: Disposition,
    /// Why, in words for the operator.
    pub reason: String,
    /// The verdict on the sender (`None` when `[inbound.authentication] policy = "off"`).
    pub authentication: Option<Authentication>,
}

pub fn classify(incoming: &Incoming, own: &EmailAddress, sender: Option<&Person>) -> Decision {
    let decide = |classification, disposition, reason: String| Decision {
        classification,
        disposition,
        reason,
        authentication: None,
    };
    if !incoming.readable {
        return decide(
            Classification::Unrecognised,
            Disposition::Quarantine,
            "unreadable: not an email message".into(),
        );
    }
    if let Some(why) = &incoming.auto_generated {
        return decide(
            Classification::Ignored,
            Disposition::Processed,
            format!("auto-generated: {why}"),
        );
    }
    let Some(from) = &incoming.from else {
        let reason = match &incoming.from_raw {
            Some(raw) => format!("the sender '{raw}' is not a valid address"),
            None => "the message has no sender".into(),
        };
        return decide(
            Classification::Unrecognised,
            Disposition::Quarantine,
            reason,
        );
    };
    if is_own(from, own) {
        return decide(
            Classification::Ignored,
            Disposition::Processed,
            "sent from tandem's own address".into(),
        );
    }
    match sender {
        Some(Person::Assistant { name, .. }) => decide(
            Classification::Unrecognised,
            Disposition::Attention,
            format!("from assistant {name}; not a message tandem answers, so it is for a person"),
        ),
        Some(Person::Contact {
            name, client_tag, ..
        }) => decide(
            Classification::Unrecognised,
            Disposition::Attention,
            format!(
                "from {name} (client '{client_tag}'); not a message tandem answers, so it is for a person"
            ),
        ),
        None => decide(
            Classification::Unrecognised,
            Disposition::Quarantine,
            format!("unknown sender {from}"),
        ),
    }
}

/// Whether `from` is tandem's own address `own`, or one of its plus-addresses
/// (`team+TOKEN@...`, the Reply-To of every mail that expects an answer): mail from either is
/// tandem's own, never a person's, and never answered.
fn is_own(from: &EmailAddress, own: &EmailAddress) -> bool {
    from.domain() == own.domain()
        && from
            .local()
            .strip_prefix(own.local())
            .is_some_and(|tag| tag.is_empty() || tag.starts_with('+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> EmailAddress {
        EmailAddress::parse("team@example.org").unwrap()
    }

    fn from(addr: &str, extra: &str) -> Incoming {
        Incoming::parse(
            format!("From: {addr}\r\nMessage-ID: <1@x>\r\nSubject: hi\r\n{extra}\r\nbody\r\n")
                .as_bytes(),
        )
    }

    #[test]
    fn the_order_of_the_contract() {
        let assistant = Person::Assistant {
            id: 1,
            name: "Sam".into(),
        };
        let d = classify(
            &from("sam@va.example", "Auto-Submitted: auto-replied\r\n"),
            &own(),
            Some(&assistant),
        );
        assert_eq!(
            (d.classification, d.disposition),
            (Classification::Ignored, Disposition::Processed)
        );

        let d = classify(&from("team@example.org", ""), &own(), None);
        assert_eq!(d.classification, Classification::Ignored);
        // Its plus-addresses are its own too; a look-alike is not.
        let d = classify(&from("Team+k3x9q2@Example.org", ""), &own(), None);
        assert_eq!(
            (d.classification, d.disposition),
            (Classification::Ignored, Disposition::Processed)
        );
        assert_eq!(d.reason, "sent from tandem's own address");
        for other in [
            "teamx+k3x9q2@example.org",
            "team+k3x9q2@example.com",
            "team-k@example.org",
        ] {
            let d = classify(&from(other, ""), &own(), None);
            assert_eq!(d.classification, Classification::Unrecognised, "{other}");
        }

        let d = classify(&from("sam@va.example", ""), &own(), Some(&assistant));
        assert_eq!(
            (d.classification, d.disposition),
            (Classification::Unrecognised, Disposition::Attention)
        );

        let d = classify(&from("stranger@spam.example", ""), &own(), None);
        assert_eq!(
            (d.classification, d.disposition),
            (Classification::Unrecognised, Disposition::Quarantine)
        );
        assert_eq!(d.reason, "unknown sender stranger@spam.example");

        let d = classify(&from("not an address", ""), &own(), None);
        assert_eq!(d.disposition, Disposition::Quarantine);
    }
}
