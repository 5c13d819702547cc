//! `tandem privacy report`: the record of processing activities (GDPR Art. 30) as the config
//! makes it, in Markdown, in German or English, for the agency's paperwork. Everything it says
//! about this installation comes from the config: who is responsible, where data is kept and
//! received from, whom it goes to, how long it is kept.

use crate::config::{Config, InboundBackend, OutboundBackend, TlsMode};
use crate::domain::Locale;

/// A duration as whole days (`90 Tage`, `90 days`).
fn days(d: std::time::Duration, de: bool) -> String {
    let n = d.as_secs() / (24 * 60 * 60);
    match (de, n) {
        (true, 1) => "1 Tag".into(),
        (true, _) => format!("{n} Tage"),
        (false, 1) => "1 day".into(),
        (false, _) => format!("{n} days"),
    }
}

/// A database URL without its password.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

fn tls(mode: TlsMode, de: bool) -> &'static str {
    match (mode, de) {
        (TlsMode::None, true) => "unverschlüsselt (nur für lokale Server)",
        (TlsMode::None, false) => "unencrypted (for local servers only)",
        (_, true) => "TLS-verschlüsselt",
        (_, false) => "TLS-encrypted",
    }
}

/// The record of processing for `config`, in `locale`.
pub fn report(config: &Config, locale: Locale) -> String {
    let de = locale == Locale::De;
    let t = |german: &'static str, english: &'static str| if de { german } else { english };
    let r = &config.retention;
    let agency = &config.agency;
    let mail_in = match config.inbound.backend {
        InboundBackend::Imap => match &config.inbound.imap {
            Some(imap) => format!(
                "IMAP {}:{} ({}), {}",
                imap.host,
                imap.port.map_or_else(|| "-".into(), |p| p.to_string()),
                imap.username,
                tls(imap.tls, de)
            ),
            None => "IMAP".into(),
        },
        InboundBackend::Maildir => format!(
            "Maildir {}",
            config
                .inbound
                .maildir
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        ),
    };
    let mail_out = match config.outbound.backend {
        OutboundBackend::Smtp => match &config.outbound.smtp {
            Some(smtp) => format!(
                "SMTP {}:{}, {}",
                smtp.host,
                smtp.port.map_or_else(|| "-".into(), |p| p.to_string()),
                tls(smtp.tls, de)
            ),
            None => "SMTP".into(),
        },
        OutboundBackend::File => format!(
            "{} {}",
            t("Dateien (.eml) in", ".eml files in"),
            config
                .outbound
                .dir
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        ),
    };
    let agreements: Vec<&str> = config.agreements.iter().map(|a| a.name(locale)).collect();
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "# {}",
        t(
            "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO)",
            "Record of processing activities (GDPR Art. 30)"
        )
    ));
    line(String::new());
    line(format!(
        "{}: **tandem**, {}",
        t("Verarbeitung", "Processing"),
        t(
            "Vermittlung und Begleitung virtueller Assistenzen",
            "placing and supporting virtual assistants"
        )
    ));
    line(String::new());
    line(format!("## 1. {}", t("Verantwortlicher", "Controller")));
    line(format!(
        "{} ({}: {}; {}: {})",
        agency.name,
        t("Absender", "sender"),
        agency.from,
        t("Ansprechpartner", "contact"),
        agency.operator_email
    ));
    line(String::new());
    line(format!("## 2. {}", t("Zwecke", "Purposes")));
    for (german, english) in [
        (
            "Erfassung und Abrechnung der Arbeitszeit der Assistenzen",
            "recording and billing the assistants' working hours",
        ),
        (
            "Begrüßung, Vereinbarungen und ihre Unterschriften",
            "welcome, agreements and their signatures",
        ),
        (
            "Feedback-Umfragen und Entscheidung nach der Probezeit",
            "feedback surveys and the decision after the trial",
        ),
        (
            "Check-ins der Assistenzen und Feedback-Gespräche",
            "the assistants' check-ins and feedback talks",
        ),
        ("Wochenbericht an die Agentur", "the agency's weekly digest"),
    ] {
        line(format!("- {}", t(german, english)));
    }
    line(String::new());
    line(format!(
        "## 3. {}",
        t("Betroffene Personen", "Data subjects")
    ));
    line(format!(
        "- {}",
        t(
            "Virtuelle Assistenzen (freie Mitarbeiter)",
            "virtual assistants (freelancers)"
        )
    ));
    line(format!(
        "- {}",
        t("Ansprechpartner der Kunden", "the clients' contact persons")
    ));
    line(format!(
        "- {}",
        t(
            "Absender, die an die Adresse der Agentur schreiben",
            "anyone writing to the agency's address"
        )
    ));
    line(String::new());
    line(format!(
        "## 4. {}",
        t("Kategorien von Daten", "Categories of data")
    ));
    for (german, english) in [
        (
            "Name, E-Mail-Adressen, Zeitzone, Sprache",
            "name, email addresses, time zone, language",
        ),
        (
            "gemeldete Arbeitszeiten mit Beschreibung, Stundensatz, Budget",
            "logged working hours with descriptions, hourly rate, budget",
        ),
        (
            "Antworten auf Umfragen (Bewertungen, Kommentare)",
            "survey answers (scores, comments)",
        ),
        (
            "Antworten auf Check-ins (Bewertung, Blockaden, Ideen)",
            "check-in answers (score, blockers, ideas)",
        ),
        ("unterschriebene Dokumente", "signed documents"),
        (
            "E-Mails an und von der Agentur (Kopfzeilen, Inhalte)",
            "mail to and from the agency (headers, contents)",
        ),
    ] {
        line(format!("- {}", t(german, english)));
    }
    if !agreements.is_empty() {
        line(format!(
            "- {}: {}",
            t("Vereinbarungen", "agreements"),
            agreements.join(", ")
        ));
    }
    line(String::new());
    line(format!("## 5. {}", t("Empfänger", "Recipients")));
    line(format!(
        "- {}",
        t(
            "die Kunden (Arbeitszeiten ihrer Assistenz, Umfragen), die Assistenzen (Bestätigungen)",
            "the clients (their assistant's hours, surveys), the assistants (receipts)"
        )
    ));
    line(format!("- {}: {mail_out}", t("Postausgang", "Mail out")));
    line(format!("- {}: {mail_in}", t("Posteingang", "Mail in")));
    line(String::new());
    line(format!("## 6. {}", t("Speicherort", "Where it is stored")));
    line(format!(
        "- {}: {}",
        t("Datenbank", "Database"),
        without_password(&config.database.url)
    ));
    line(format!(
        "- {}: {} / {} / {}",
        t("Postfachordner", "Mail folders"),
        config.inbound.processed_folder,
        config.inbound.attention_folder,
        config.inbound.quarantine_folder
    ));
    line(String::new());
    line(format!("## 7. {}", t("Löschfristen", "Retention periods")));
    line(format!(
        "- {}: {}",
        t(
            "Rohfassung gesendeter und verarbeiteter E-Mails",
            "raw copies of mail sent and mail processed"
        ),
        days(r.raw_messages, de)
    ));
    line(format!(
        "- {}: {}",
        t(
            "Dokumente, nach Ende des Einsatzes",
            "documents, after the engagement ended"
        ),
        days(r.documents, de)
    ));
    line(format!(
        "- {}: {}",
        t("Fehlerprotokoll", "failure log"),
        days(r.health_events, de)
    ));
    line(format!(
        "- {}: {}",
        t("Quarantäne-Ordner", "quarantine folder"),
        days(r.quarantine, de)
    ));
    line(format!(
        "- {}",
        t(
            "Arbeitszeiten (Buchungsbelege): 10 Jahre (§147 AO, §257 HGB); nach einer Löschung unter Pseudonym",
            "working hours (booking records): 10 years (§147 AO, §257 HGB); after an erasure under a pseudonym"
        )
    ));
    line(String::new());
    line(format!(
        "## 8. {}",
        t("Rechte der Betroffenen", "Data subjects' rights")
    ));
    line(format!(
        "- {}",
        t(
            "Auskunft: `tandem privacy export PERSON`; Löschung: `tandem privacy erase PERSON`",
            "Access: `tandem privacy export PERSON`; erasure: `tandem privacy erase PERSON`"
        )
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_left_out() {
        assert_eq!(
            without_password("postgres://tandem:s3cret@db.example/tandem"),
            "postgres://tandem@db.example/tandem"
        );
        assert_eq!(
            without_password("sqlite://var/tandem.db"),
            "sqlite://var/tandem.db"
        );
    }
}
