//! Agreements: reminding the signers of pending ones, telling the operator when reminders did
//! not help, and a reply that says "signed" or carries the PDF (the agreement is `received`,
//! the document kept, for the operator to confirm). [`says_signed`] and [`mentioned`] are pure.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::compose::{AgencyView, Composer, MailError};
use crate::domain::{Agreement, Locale, Party};
use crate::inbound::message::{Attachment, Received};
use crate::outbound::{self, AutoSubmitted};
use crate::recipients::People;
use crate::store::{self, Conn};

/// Whether the new text of a reply says the documents are signed or attached, in German or
/// English, and does not say they are not.
pub fn says_signed(text: &str) -> bool {
    let text = text.to_lowercase();
    const NOT: &[&str] = &[
        "not signed",
        "not yet signed",
        "haven't signed",
        "have not signed",
        "not been signed",
        "nicht unterschrieben",
        "noch nicht unter",
        "nicht unterzeichnet",
        "not yet",
        "noch nicht",
    ];
    if NOT.iter().any(|n| text.contains(n)) {
        return false;
    }
    const YES: &[&str] = &[
        "signed",
        "attached",
        "attachment",
        "enclosed",
        "unterschrieben",
        "unterzeichnet",
        "signiert",
        "anbei",
        "im anhang",
        "angehängt",
        "beigefügt",
    ];
    YES.iter().any(|y| text.contains(y))
}

/// The kinds of `pending` that the text or an attachment's name names (`nda`, "NDA",
/// "Auftragsverarbeitung" for `dpa`, ...). Empty when none is named.
pub fn mentioned(
    text: &str,
    attachments: &[Attachment],
    pending: &[(String, String, String)],
) -> Vec<String> {
    let mut haystack = text.to_lowercase();
    for a in attachments {
        haystack.push(' ');
        haystack.push_str(&a.filename.to_lowercase().replace(['_', '-', '.'], " "));
    }
    let words: Vec<&str> = haystack
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    pending
        .iter()
        .filter(|(kind, de, en)| {
            let kind_words: Vec<String> = kind.split('_').map(str::to_string).collect();
            let by_kind = kind_words.iter().all(|k| words.contains(&k.as_str()));
            // A name is named by its first telling word, or by the abbreviation in brackets.
            const GENERIC: &[&str] = &["agreement", "vereinbarung"];
            let by_name = [de, en].iter().any(|name| {
                let name = name.to_lowercase();
                let abbreviation = name
                    .split_once('(')
                    .and_then(|(_, rest)| rest.split_once(')'))
                    .map(|(inner, _)| inner.to_string());
                let telling = name
                    .split(|c: char| !c.is_alphanumeric())
                    .find(|w| w.chars().count() >= 6 && !GENERIC.contains(w));
                let abbreviated = abbreviation.is_some_and(|a| match a.contains(' ') {
                    true => haystack.contains(&a),
                    false => words.contains(&a.as_str()),
                });
                abbreviated || telling.is_some_and(|w| words.contains(&w))
            });
            by_kind || by_name
        })
        .map(|(kind, ..)| kind.clone())
        .collect()
}

#[derive(Debug, Serialize)]
struct NameView {
    name: String,
}

#[derive(Debug, Serialize)]
struct ReminderContext {
    agency: AgencyView,
    recipient_name: String,
    client_name: String,
    assistant_name: String,
    to_client: bool,
    reminder_number: u32,
    agreements: Vec<NameView>,
}

/// The agreements `party` still has to sign.
pub fn pending_for(agreements: &[Agreement], party: Party) -> Vec<&Agreement> {
    agreements.iter().filter(|a| a.awaits(party)).collect()
}

/// Queues a reminder to `party` of the agreements they still have to sign; `false` when there
/// are none (or it was queued before).
pub async fn remind(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    party: Party,
    number: u32,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let agreements = store::engagements::agreements(tx, people.engagement.id).await?;
    let pending = pending_for(&agreements, party);
    if pending.is_empty() {
        return Ok(false);
    }
    let to = match party {
        Party::Assistant => people.assistant()?,
        _ => people.client_contact()?,
    };
    let context = ReminderContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        client_name: people.client.name.clone(),
        assistant_name: people.assistant.name.clone(),
        to_client: party == Party::Client,
        reminder_number: number,
        agreements: pending
            .iter()
            .map(|a| NameView {
                name: compose.agreement_name(&a.kind, to.locale),
            })
            .collect(),
    };
    let mail = compose
        .mail(
            &to,
            "agreement_reminder",
            &context,
            AutoSubmitted::Generated,
        )?
        .expecting_reply();
    Ok(outbound::enqueue(
        tx,
        key,
        "agreement_reminder",
        Some(people.engagement.id),
        &mail,
        now,
    )
    .await?)
}

#[derive(Debug, Serialize)]
struct EscalationView {
    kind: String,
    name: String,
    signers: String,
}

#[derive(Debug, Serialize)]
struct EscalationContext {
    agency: AgencyView,
    engagement_id: i64,
    client_name: String,
    client_tag: String,
    assistant_name: String,
    reminders: u32,
    agreements: Vec<EscalationView>,
}

/// Tells the operator which agreements are still unsigned after every reminder.
/// `reminders` is how many were sent (`[schedule] agreement_escalate_after`).
pub async fn escalate(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    reminders: u32,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let agreements = store::engagements::agreements(tx, people.engagement.id).await?;
    let to = compose.operator();
    let and = match to.locale {
        Locale::De => "und",
        Locale::En => "and",
    };
    let pending: Vec<EscalationView> = agreements
        .iter()
        .filter(|a| a.awaits(Party::Client) || a.awaits(Party::Assistant))
        .map(|a| EscalationView {
            kind: a.kind.clone(),
            name: compose.agreement_name(&a.kind, to.locale),
            signers: match (a.signers.includes_client(), a.signers.includes_assistant()) {
                (true, true) => format!("{} {and} {}", people.client.name, people.assistant.name),
                (true, false) => people.client.name.clone(),
                _ => people.assistant.name.clone(),
            },
        })
        .collect();
    if pending.is_empty() {
        return Ok(false);
    }
    let context = EscalationContext {
        agency: compose.agency_view(),
        engagement_id: people.engagement.id,
        client_name: people.client.name.clone(),
        client_tag: people.client.tag.clone(),
        assistant_name: people.assistant.name.clone(),
        reminders,
        agreements: pending,
    };
    let mail = compose.mail(
        &to,
        "agreement_escalation",
        &context,
        AutoSubmitted::Generated,
    )?;
    Ok(outbound::enqueue(
        tx,
        key,
        "agreement_escalation",
        Some(people.engagement.id),
        &mail,
        now,
    )
    .await?)
}

#[derive(Debug, Serialize)]
struct FileView {
    filename: String,
}

#[derive(Debug, Serialize)]
struct ReceivedContext {
    agency: AgencyView,
    recipient_name: String,
    agreements: Vec<NameView>,
    attachments: Vec<FileView>,
}

/// A reply to a reminder that says the agreements are signed, or carries them: `kinds` become
/// `received`, the PDFs are kept with each, and the sender is thanked.
pub async fn receive(
    tx: &mut Conn,
    compose: &Composer,
    engagement_id: i64,
    party: Party,
    kinds: &[String],
    received: Received<'_>,
) -> Result<(), MailError> {
    let Received {
        id: inbound_id,
        incoming,
        now,
    } = received;
    let people = People::load(tx, engagement_id).await?;
    let agreements = store::engagements::agreements(tx, engagement_id).await?;
    let pdfs: Vec<&Attachment> = incoming.attachments.iter().filter(|a| a.is_pdf()).collect();
    let to = match party {
        Party::Assistant => people.assistant()?,
        _ => people.client_contact()?,
    }
    .answering(incoming);
    let mut documents = Vec::with_capacity(pdfs.len());
    for pdf in pdfs.iter().filter(|p| !p.data.is_empty()) {
        documents.push(
            store::engagements::add_document(
                tx,
                inbound_id,
                &pdf.filename,
                &pdf.content_type,
                &pdf.data,
                now,
            )
            .await?,
        );
    }
    let mut names = Vec::new();
    for a in agreements.iter().filter(|a| kinds.contains(&a.kind)) {
        store::engagements::mark_received(tx, a.id, party.as_str(), now).await?;
        for document in &documents {
            store::engagements::link_document(tx, a.id, *document).await?;
        }
        names.push(NameView {
            name: compose.agreement_name(&a.kind, to.locale),
        });
    }
    let context = ReceivedContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        agreements: names,
        attachments: pdfs
            .iter()
            .map(|p| FileView {
                filename: p.filename.clone(),
            })
            .collect(),
    };
    let mail = compose.answer(&to, "agreement_received", &context, incoming)?;
    outbound::enqueue(
        tx,
        &format!("agreement_received:{inbound_id}"),
        "agreement_received",
        Some(engagement_id),
        &mail,
        now,
    )
    .await?;
    Ok(())
}

/// `tandem agreement remind ENGAGEMENT`: a reminder now, outside the cadence, to every party
/// with an agreement still pending. Returns the parties reminded. The caller commits (a
/// transaction that took the write lock at once) and wakes the outbox.
pub async fn remind_now(
    tx: &mut Conn,
    compose: &Composer,
    engagement_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Party>, MailError> {
    let people = People::load(tx, engagement_id).await?;
    if people.engagement.status == crate::domain::EngagementStatus::Ended {
        return Err(MailError::Store(store::StoreError::Conflict(format!(
            "engagement {engagement_id} has ended"
        ))));
    }
    let sent = store::outbox::keys_of_engagement(tx, engagement_id).await?;
    let mut reminded = Vec::new();
    for party in [Party::Client, Party::Assistant] {
        let prefix = format!("agreement_reminder:{engagement_id}:{}:", party.as_str());
        let sent_before = sent.keys().filter(|k| k.starts_with(&prefix)).count();
        let manual = sent
            .keys()
            .filter(|k| k.starts_with(&format!("{prefix}manual-")))
            .count();
        let number = sent_before as u32 + 1;
        let key = format!("{prefix}manual-{}", manual + 1);
        if remind(tx, compose, &people, party, number, &key, now).await? {
            reminded.push(party);
        }
    }
    Ok(reminded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_or_not() {
        for yes in [
            "Signed, see attached.",
            "Anbei der unterschriebene Vertrag.",
            "Habe alles unterschrieben.",
            "Please find the NDA attached",
            "Im Anhang der AVV",
        ] {
            assert!(says_signed(yes), "{yes}");
        }
        for no in [
            "I have not signed it yet, one question first",
            "Noch nicht unterschrieben, wir prüfen noch.",
            "Wann können wir telefonieren?",
        ] {
            assert!(!says_signed(no), "{no}");
        }
    }

    #[test]
    fn named_agreements() {
        let pending = vec![
            (
                "nda".to_string(),
                "Vertraulichkeitsvereinbarung (NDA)".to_string(),
                "Non-disclosure agreement (NDA)".to_string(),
            ),
            (
                "dpa".to_string(),
                "Auftragsverarbeitungsvertrag (Art. 28 DSGVO)".to_string(),
                "Data processing agreement (Art. 28 GDPR)".to_string(),
            ),
            (
                "contract".to_string(),
                "Vertrag über freie Mitarbeit".to_string(),
                "Freelance contract".to_string(),
            ),
        ];
        assert_eq!(mentioned("Here is the signed NDA", &[], &pending), ["nda"]);
        assert_eq!(
            mentioned("Anbei der Auftragsverarbeitungsvertrag", &[], &pending),
            ["dpa"]
        );
        let pdf = Attachment {
            filename: "freelance-contract_signed.pdf".into(),
            content_type: "application/pdf".into(),
            size: 3,
            data: vec![1, 2, 3],
        };
        assert_eq!(mentioned("signed", &[pdf], &pending), ["contract"]);
        assert!(mentioned("alles unterschrieben", &[], &pending).is_empty());
    }
}
