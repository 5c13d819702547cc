//! Why a message was filed, in the digest's language. tandem records each reason in English
//! (the audit trail, `tandem parse`, the logs); the digest translates it through this table:
//! each known shape of reason (`unknown sender {}`) has its German sentence with the same
//! places. Reasons are joined by `; ` (a filing reason, then the sender check's verdict), and
//! each part is translated on its own. Pure; a reason is read up to [`MAX_REASON`] bytes (its
//! parts hold what senders wrote, such as addresses), so the work per reason is bounded.

use crate::domain::Locale;

/// English shape and German sentence: `{}` in the English marks a value, which the German
/// takes in order as `{0}`, `{1}`, ... A value at the end of a shape runs to the next `; `
/// or the end of the reason. Longer, more specific shapes come before shorter ones.
const TABLE: &[(&str, &str)] = &[
    (
        "from assistant {}; not a message tandem answers, so it is for a person",
        "von der Assistenz {0}; keine Nachricht, die tandem beantwortet, also für eine Person",
    ),
    (
        "from {} (client '{}'); not a message tandem answers, so it is for a person",
        "von {0} (Kunde „{1}“); keine Nachricht, die tandem beantwortet, also für eine Person",
    ),
    ("unknown sender {}", "unbekannter Absender {0}"),
    (
        "unreadable: not an email message",
        "unlesbar: keine E-Mail-Nachricht",
    ),
    (
        "unreadable: handling it failed {} times: {}",
        "unlesbar: die Verarbeitung ist {0}-mal gescheitert: {1}",
    ),
    ("unreadable: {}", "unlesbar: {0}"),
    (
        "the sender '{}' is not a valid address",
        "der Absender „{0}“ ist keine gültige Adresse",
    ),
    (
        "the message has no sender",
        "die Nachricht hat keinen Absender",
    ),
    (
        "sent from tandem's own address",
        "von tandems eigener Adresse gesendet",
    ),
    ("auto-generated: {}", "automatisch erzeugt: {0}"),
    (
        "not read: too large: {} bytes, over the limit of {}",
        "nicht gelesen: zu groß ({0} Bytes, die Grenze ist {1})",
    ),
    (
        "not read: it may carry up to {} messages inside it, over the {} read whole",
        "nicht gelesen: sie kann bis zu {0} Nachrichten in sich tragen, mehr als die {1}, die \
         ganz gelesen werden",
    ),
    (
        "not read: it splits header parameters into {} pieces, over the {} read whole",
        "nicht gelesen: sie teilt Kopfzeilen-Parameter in {0} Stücke, mehr als die {1}, die \
         ganz gelesen werden",
    ),
    (
        "not read: could not be read: {}",
        "nicht gelesen: konnte nicht gelesen werden: {0}",
    ),
    ("not read: {}", "nicht gelesen: {0}"),
    (
        "a reply to tandem's {} mail to {}, but from {}: not trusted, for a person",
        "eine Antwort auf tandems Mail ({0}) an {1}, aber von {2}: nicht vertrauenswürdig, \
         für eine Person",
    ),
    (
        "a cancel for another assistant's hours: not trusted, for a person",
        "ein Storno für die Stunden einer anderen Assistenz: nicht vertrauenswürdig, für eine \
         Person",
    ),
    (
        "a cancel for a receipt that logged nothing: for a person",
        "ein Storno für eine Bestätigung, die nichts erfasst hat: für eine Person",
    ),
    (
        "a reply to tandem's {} mail",
        "eine Antwort auf tandems Mail ({0})",
    ),
    (
        "sender not authenticated: {} (handled: the sender is marked unauthenticated-ok)",
        "Absender nicht bestätigt: {0} (verarbeitet: der Absender ist als \
         unauthenticated-ok markiert)",
    ),
    (
        "sender not authenticated: {}",
        "Absender nicht bestätigt: {0}",
    ),
    (
        "cancel reply to the receipt of submission {}",
        "Storno-Antwort auf die Bestätigung der Meldung {0}",
    ),
    (
        "with corrections: {} accepted, {} rejected",
        "mit Korrekturen: {0} angenommen, {1} abgelehnt",
    ),
    ("refused, billed: {}", "abgelehnt, abgerechnet: {0}"),
    (
        "its corrections not logged",
        "die Korrekturen nicht erfasst",
    ),
    (
        "also for a person: “{}” and {} more",
        "auch für eine Person: „{0}“ und {1} weitere",
    ),
    ("also for a person: “{}”", "auch für eine Person: „{0}“"),
    (
        "time log: {} entries accepted, {} lines rejected",
        "Stundenmeldung: {0} Einträge angenommen, {1} Zeilen abgelehnt",
    ),
    (
        "time log: {} entry accepted, {} lines rejected",
        "Stundenmeldung: {0} Eintrag angenommen, {1} Zeilen abgelehnt",
    ),
    (
        "time log: {} entries accepted, {} line rejected",
        "Stundenmeldung: {0} Einträge angenommen, {1} Zeile abgelehnt",
    ),
    (
        "time log: {} entry accepted, {} line rejected",
        "Stundenmeldung: {0} Eintrag angenommen, {1} Zeile abgelehnt",
    ),
    (
        "trial review answered: go on (the engagement becomes active)",
        "Probezeit-Rückmeldung beantwortet: weitermachen (der Einsatz wird aktiv)",
    ),
    (
        "trial review answered: do not go on (the operator is told)",
        "Probezeit-Rückmeldung beantwortet: nicht weitermachen (die Agentur wird informiert)",
    ),
    ("survey {} answered: {}", "Umfrage {0} beantwortet: {1}"),
    (
        "agreement received for the operator to confirm: {}",
        "Vereinbarung zur Bestätigung durch die Agentur eingegangen: {0}",
    ),
    (
        "agreements received for the operator to confirm: {}",
        "Vereinbarungen zur Bestätigung durch die Agentur eingegangen: {0}",
    ),
];

/// What the German digest says where no shape is known: the reason as recorded, marked as
/// tandem's own (English) record rather than passed off as German.
const UNKNOWN_DE: &str = "Vermerk (englisch): {0}";

/// The most of a reason that is translated; the rest is cut with "…". Recorded reasons are a
/// line or two.
pub const MAX_REASON: usize = 2000;

/// `reason` in `locale`: English as recorded, German through [`TABLE`].
pub fn translate(reason: &str, locale: Locale) -> String {
    if locale == Locale::En {
        return reason.to_string();
    }
    let mut cut = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let (reason, more) = (&reason[..cut], cut < reason.len());
    let mut out = String::with_capacity(reason.len() + 16);
    let mut rest = reason;
    while !rest.is_empty() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let (said, after) = TABLE
            .iter()
            .find_map(|(english, german)| {
                matches(english, rest).map(|(values, after)| (fill(german, &values), after))
            })
            .unwrap_or_else(|| {
                let end = rest.find("; ").unwrap_or(rest.len());
                (fill(UNKNOWN_DE, &[&rest[..end]]), &rest[end..])
            });
        out.push_str(&said);
        rest = after.strip_prefix("; ").unwrap_or(after);
    }
    if more {
        out.push('…');
    }
    out
}

/// The values of `shape` at the start of `text`, and what follows the match (nothing, or
/// `; ...`); `None` when `text` does not start with this shape.
fn matches<'a>(shape: &str, text: &'a str) -> Option<(Vec<&'a str>, &'a str)> {
    let mut pieces = shape.split("{}");
    let first = pieces.next().unwrap_or_default();
    let mut rest = text.strip_prefix(first)?;
    let mut values = Vec::new();
    let pieces: Vec<&str> = pieces.collect();
    for (i, literal) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        if last && literal.is_empty() {
            // A value at the end runs to the next part of the reason.
            let end = rest.find("; ").unwrap_or(rest.len());
            values.push(&rest[..end]);
            rest = &rest[end..];
        } else {
            let at = rest.find(literal)?;
            values.push(&rest[..at]);
            rest = &rest[at + literal.len()..];
        }
    }
    (rest.is_empty() || rest.starts_with("; ")).then_some((values, rest))
}

/// `template` with `{0}`, `{1}`, ... replaced by `values`, in one pass over the template (a
/// value that itself reads `{1}` stays as it is).
fn fill(template: &str, values: &[&str]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let index = after
            .find('}')
            .and_then(|close| after[..close].parse::<usize>().ok().map(|i| (i, close)));
        match index.and_then(|(i, close)| values.get(i).map(|v| (v, close))) {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_reasons_read_in_german() {
        let cases = [
            (
                "unknown sender stranger@spam.example",
                "unbekannter Absender stranger@spam.example",
            ),
            (
                "from Anna Berg (client 'acme'); not a message tandem answers, so it is for a \
                 person",
                "von Anna Berg (Kunde „acme“); keine Nachricht, die tandem beantwortet, also \
                 für eine Person",
            ),
            (
                "from assistant Sam Lee; not a message tandem answers, so it is for a person; \
                 a reply to tandem's survey mail",
                "von der Assistenz Sam Lee; keine Nachricht, die tandem beantwortet, also für \
                 eine Person; eine Antwort auf tandems Mail (survey)",
            ),
            (
                "not read: too large: 30000000 bytes, over the limit of 26214400",
                "nicht gelesen: zu groß (30000000 Bytes, die Grenze ist 26214400)",
            ),
            (
                "not read: it may carry up to 23000 messages inside it, over the 1000 read whole",
                "nicht gelesen: sie kann bis zu 23000 Nachrichten in sich tragen, mehr als die \
                 1000, die ganz gelesen werden",
            ),
            (
                "time log: 2 entries accepted, 1 line rejected; sender not authenticated: \
                 dmarc=fail",
                "Stundenmeldung: 2 Einträge angenommen, 1 Zeile abgelehnt; Absender nicht \
                 bestätigt: dmarc=fail",
            ),
            (
                "cancel reply to the receipt of submission 7; refused, billed: 2026-10, \
                 2026-11; its corrections not logged",
                "Storno-Antwort auf die Bestätigung der Meldung 7; abgelehnt, abgerechnet: \
                 2026-10, 2026-11; die Korrekturen nicht erfasst",
            ),
            (
                "time log: 1 entry accepted, 0 lines rejected; also for a person: “Kann ich \
                 Freitag frei haben?” and 2 more",
                "Stundenmeldung: 1 Eintrag angenommen, 0 Zeilen abgelehnt; auch für eine \
                 Person: „Kann ich Freitag frei haben?“ und 2 weitere",
            ),
            (
                "time log: 2 entries accepted, 0 lines rejected; also for a person: “I'm off \
                 next week”",
                "Stundenmeldung: 2 Einträge angenommen, 0 Zeilen abgelehnt; auch für eine \
                 Person: „I'm off next week“",
            ),
            ("something new", "Vermerk (englisch): something new"),
        ];
        for (english, german) in cases {
            assert_eq!(translate(english, Locale::De), german);
            assert_eq!(translate(english, Locale::En), english);
        }
    }

    #[test]
    fn odd_reasons_do_not_panic_and_stay_linear() {
        for reason in ["", "; ", ";;; ", "from ", "from x (client '", "{0}{1}"] {
            let _ = translate(reason, Locale::De);
        }
        let long = "unknown sender x; ".repeat(10_000);
        let said = translate(&long, Locale::De);
        assert_eq!(
            said.matches("unbekannter Absender").count(),
            MAX_REASON / "unknown sender x; ".len()
        );
        assert!(said.ends_with('…'));
        assert_eq!(
            translate("unknown sender {1}", Locale::De),
            "unbekannter Absender {1}"
        );
    }
}
