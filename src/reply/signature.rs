//! Signatures: the RFC 3676 delimiter ("-- ") and the lines mail apps add ("Sent from my iPhone",
//! "Gesendet mit der GMX Mail App", "Envoyé de mon iPhone"), in every language of
//! [`LANGUAGES`].

use std::sync::OnceLock;

use super::languages::{self, DEVICES, LANGUAGES, fold};
use super::text::{ends_with_ci, starts_with_ci};

/// The most lines a signature has after its delimiter. A "--" line followed by more text is a
/// separator someone typed, not a signature.
pub(super) const MAX_SIGNATURE_LINES: usize = 10;

/// The RFC 3676 delimiter "-- ". Its trailing space is often lost (HTML conversion, editors),
/// so a bare "--" counts too; "---", "—" or "-- Anna" do not.
pub(super) fn is_delimiter(content: &str) -> bool {
    content == "--"
}

/// German app lines that put the verb last: "Von meinem iPhone gesendet",
/// "Von Outlook für iOS gesendet".
const APP_LINE_STARTS_VERB_LAST: &[&str] = &["von meinem ", "von outlook für "];

/// A line without the link Outlook's apps append ("Get Outlook for iOS<https://aka.ms/o0ukef>")
/// and without closing punctuation.
fn without_link(line: &str) -> &str {
    let line = line.trim_end();
    let line = match line.rfind('<') {
        Some(at) if line.ends_with('>') => &line[..at],
        _ => line,
    };
    line.trim_end_matches(|c: char| c == '.' || c == '!' || c.is_whitespace())
}

/// The longest app line, in bytes.
const MAX_APP_LINE: usize = 100;

/// Whether a whole line is one a mail app adds. Short, no colon, no comma: "Sent from my iPhone"
/// is, "Sent from my laptop: 2h, invoices" is not. In the languages whose starts are short
/// ("Lähetetty ", "Inviato da "), the line must name a device or an app as well.
pub(super) fn is_app_line(content: &str) -> bool {
    let t = without_link(content);
    if t.len() > MAX_APP_LINE || t.contains([':', ',']) || t.split_whitespace().count() > 12 {
        return false;
    }
    if APP_LINE_STARTS_VERB_LAST
        .iter()
        .any(|p| starts_with_ci(t, p))
        && ends_with_ci(t, "gesendet")
    {
        return true;
    }
    let Some(folded) = fold(t, MAX_APP_LINE * 2) else {
        return false;
    };
    LANGUAGES.iter().any(|l| {
        let matches = l.app_starts.iter().any(|p| folded.starts_with(p))
            || l.app_ends.iter().any(|p| folded.ends_with(p));
        matches && (!l.app_needs_device || DEVICES.iter().any(|d| folded.contains(d)))
    })
}

/// The exact app lines looked for at the end of a line of text, where HTML conversion glues
/// them ("Passt, danke!Von meinem iPhone gesendet"): every language's `app_lines`.
fn glued_app_lines() -> &'static [&'static str] {
    static LINES: OnceLock<Vec<&'static str>> = OnceLock::new();
    LINES.get_or_init(|| languages::all(|l| l.app_lines).collect())
}

/// Where an app line glued onto the end of a line of text starts, if one is.
pub(super) fn glued_app_line(line: &str) -> Option<usize> {
    let t = without_link(line);
    let mut at = glued_app_lines()
        .iter()
        .filter(|p| ends_with_ci(t, p))
        .map(|p| t.len() - p.len())
        .min();
    if ends_with_ci(t, "gesendet")
        && let Some(start) = t.find("Diese Nachricht wurde von meinem")
    {
        at = Some(at.map_or(start, |a| a.min(start)));
    }
    at.filter(|&at| !t[..at].trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_lines() {
        for line in [
            "Sent from my iPhone",
            "Sent from my iPad",
            "Sent from my Android",
            "Sent from my Samsung Galaxy smartphone.",
            "Sent from Outlook",
            "Get Outlook for iOS<https://aka.ms/o0ukef>",
            "Get Outlook for Android",
            "Sent from Mail for Windows",
            "Gesendet von meinem iPhone",
            "Von meinem iPhone gesendet",
            "Von Outlook für iOS gesendet",
            "Gesendet von meinem Samsung Galaxy Smartphone.",
            "Gesendet mit der GMX Mail App",
            "Gesendet mit der WEB.DE Mail App",
            "Diese Nachricht wurde von meinem Android-Mobiltelefon mit GMX Mail gesendet.",
            "Diese Nachricht wurde von meinem Android Mobiltelefon mit WEB.DE Mail gesendet.",
        ] {
            assert!(is_app_line(line), "{line}");
        }
        for line in [
            "Sent from my laptop: 2h, invoices",
            "Von meinem Kollegen habe ich die Unterlagen",
            "Gesendet: Montag, 23. November 2026",
            "Sent the invoices",
            "sent from my",
        ] {
            assert!(!is_app_line(line), "{line}");
        }
    }

    #[test]
    fn glued_app_lines() {
        assert_eq!(
            glued_app_line("Passt, danke!Von meinem iPhone gesendet"),
            Some(13)
        );
        assert_eq!(glued_app_line("Ok. Sent from my iPhone"), Some(4));
        assert_eq!(
            glued_app_line(
                "Ja Diese Nachricht wurde von meinem Android-Mobiltelefon mit GMX Mail gesendet."
            ),
            Some(3)
        );
        assert_eq!(glued_app_line("Sent from my iPhone"), None);
        assert_eq!(glued_app_line("Thanks"), None);
    }

    #[test]
    fn delimiter() {
        assert!(is_delimiter("--"));
        assert!(!is_delimiter("---"));
        assert!(!is_delimiter("-- Anna"));
        assert!(!is_delimiter("Kalender -- Termine geklärt"));
    }
}
