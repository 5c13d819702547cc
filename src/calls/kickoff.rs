//! The kickoff call (a flow): [`invite`] stores its time and queues the invitation to every
//! client contact and to the assistant, each in their language, with the welcome mail's
//! agenda and the `.ics` (a new time sends an update: the same UID, a higher SEQUENCE);
//! [`answer`] records an invitee's answer and, for a decline, alerts the operator at once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ics::{self, Invitee, PartStat};
use crate::compose::{AgencyView, Composer, MailError};
use crate::domain::{EngagementStatus, Locale, TimeZone};
use crate::format::{format_date, format_hours, format_money};
use crate::inbound::message::Received;
use crate::outbound::Attachment;
use crate::outbound::{self, AutoSubmitted};
use crate::recipients::Recipient;
use crate::store::{self, Conn, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KickoffError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Onboarding(#[from] crate::onboarding::OnboardingError),
}

impl From<crate::templates::TemplateError> for KickoffError {
    fn from(e: crate::templates::TemplateError) -> Self {
        KickoffError::Mail(e.into())
    }
}

impl From<outbound::OutboundError> for KickoffError {
    fn from(e: outbound::OutboundError) -> Self {
        KickoffError::Mail(e.into())
    }
}

/// The outbox kind of an invitation; a reply to one is read as an answer to it.
pub const KIND: &str = "kickoff";

/// What [`invite`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invited {
    pub engagement_id: i64,
    /// 0 for the first invitation, one more for each update.
    pub sequence: i64,
    pub starts_at: DateTime<Utc>,
    /// Invitations queued (one per client contact, one to the assistant).
    pub mails: usize,
}

/// A call further back than this is most likely a typing error.
const PAST_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// Sets the kickoff call of `engagement_id` to `starts_at` (given in `zone`, `minutes` long)
/// and queues an invitation to every client contact and the assistant, each under the natural
/// key `kickoff:ENGAGEMENT:SEQUENCE:ADDRESS`, in the caller's transaction. A call set before
/// is moved: the update carries the same UID and the next SEQUENCE.
pub async fn invite(
    tx: &mut Conn,
    compose: &Composer,
    engagement_id: i64,
    starts_at: DateTime<Utc>,
    zone: TimeZone,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<Invited, KickoffError> {
    let engagement = store::engagements::get(tx, engagement_id).await?;
    if engagement.status == EngagementStatus::Ended {
        return Err(KickoffError::Invalid(format!(
            "engagement {engagement_id} has ended: no kickoff call"
        )));
    }
    if starts_at + PAST_GRACE < now {
        return Err(KickoffError::Invalid(format!(
            "the kickoff call at {} is in the past (now {}): check the day and time",
            starts_at.with_timezone(&zone.0).format("%Y-%m-%d %H:%M %Z"),
            now.with_timezone(&zone.0).format("%Y-%m-%d %H:%M %Z"),
        )));
    }
    if !(1..=24 * 60).contains(&minutes) {
        return Err(KickoffError::Invalid(format!(
            "a call of {minutes} minutes: give between 1 and 1440"
        )));
    }
    let domain = compose.agency().from.email.domain().to_string();
    let new_uid = format!(
        "kickoff-{engagement_id}-{}@{domain}",
        uuid::Uuid::new_v4().simple()
    );
    let call =
        store::calls::set_kickoff(tx, engagement_id, starts_at, zone, minutes, &new_uid, now)
            .await?;
    let client = store::people::client(tx, engagement.client_id).await?;
    let assistant = store::people::assistant(tx, engagement.assistant_id).await?;

    let mut recipients = Vec::new();
    for contact in &client.contacts {
        recipients.push((Recipient::contact(&client, contact)?, true));
    }
    recipients.push((Recipient::assistant(&assistant)?, false));
    let attendees: Vec<Invitee> = recipients
        .iter()
        .map(|(r, _)| Invitee {
            name: r.name.clone(),
            email: r.mailbox.email.to_string(),
        })
        .collect();
    let agency = compose.agency();
    let organizer = Invitee {
        name: agency.name.clone(),
        email: agency.from.email.to_string(),
    };

    let mut mails = 0;
    for (to, for_client) in &recipients {
        let context = InvitationContext {
            agency: compose.agency_view(),
            recipient_name: to.name.clone(),
            for_client: *for_client,
            update: call.sequence > 0,
            assistant_name: assistant.name.clone(),
            client_name: client.name.clone(),
            when: when_text(call.starts_at, zone, to.locale),
            minutes: call.minutes,
            zone: zone.to_string(),
            invitees: recipients.iter().map(|(r, _)| r.name.clone()).collect(),
            engagement: TermsView {
                hourly_rate: engagement
                    .hourly_rate_cents
                    .filter(|_| *for_client)
                    .map(|c| format_money(c, to.locale, compose.agency().currency)),
                budget_hours: engagement
                    .budget_minutes
                    .map(|m| format_hours(m, to.locale)),
            },
        };
        let mut mail = compose
            .mail(to, "kickoff", &context, AutoSubmitted::Generated)?
            .expecting_reply();
        // The calendar shows the subject without the reply token, and the agenda.
        let summary = mail
            .subject
            .rsplit_once(" [#")
            .map_or(mail.subject.as_str(), |(s, _)| s)
            .to_string();
        let calendar = ics::invitation(&ics::Invitation {
            uid: &call.uid,
            sequence: call.sequence,
            stamp: now,
            start: call.starts_at,
            minutes: call.minutes,
            zone: zone.0,
            organizer: &organizer,
            attendees: &attendees,
            summary: &summary,
            description: &mail.text,
        });
        mail.calendar = Some(calendar.clone());
        mail.attachments.push(Attachment {
            filename: "invite.ics".into(),
            content_type: "text/calendar; charset=utf-8; method=REQUEST".into(),
            bytes: calendar.into_bytes(),
        });
        let key = format!(
            "{KIND}:{engagement_id}:{}:{}",
            call.sequence, to.mailbox.email
        );
        if outbound::enqueue(tx, &key, KIND, Some(engagement_id), &mail, now).await? {
            mails += 1;
        }
    }
    tracing::info!(
        engagement = engagement_id,
        sequence = call.sequence,
        mails,
        "kickoff call invitations queued"
    );
    Ok(Invited {
        engagement_id,
        sequence: call.sequence,
        starts_at: call.starts_at,
        mails,
    })
}

/// `Donnerstag, 3. Dezember 2026, 10:00 (Europe/Berlin)` / `Thursday, 3 December 2026, 10:00
/// (Europe/Berlin)`: the call in its own zone, which the calendar converts.
fn when_text(at: DateTime<Utc>, zone: TimeZone, locale: Locale) -> String {
    use chrono::Datelike as _;
    const DE: [&str; 7] = [
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ];
    const EN: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let local = at.with_timezone(&zone.0);
    let day = local.date_naive();
    let weekday = day.weekday().num_days_from_monday() as usize;
    let name = match locale {
        Locale::De => DE[weekday],
        Locale::En => EN[weekday],
    };
    format!(
        "{name}, {}, {} ({zone})",
        format_date(day, locale),
        local.format("%H:%M")
    )
}

/// The variables of the `kickoff` mail.
#[derive(Debug, Clone, Serialize)]
struct InvitationContext {
    agency: AgencyView,
    recipient_name: String,
    /// To a client contact (else to the assistant): the rate is on the client's agenda only.
    for_client: bool,
    /// A new time for a call invited to before.
    update: bool,
    assistant_name: String,
    client_name: String,
    when: String,
    minutes: i64,
    zone: String,
    invitees: Vec<String>,
    /// The conditions on the agenda (the shared `_agenda` partial reads these).
    engagement: TermsView,
}

#[derive(Debug, Clone, Serialize)]
struct TermsView {
    hourly_rate: Option<String>,
    budget_hours: Option<String>,
}

/// Who answered an invitation, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub engagement_id: i64,
    /// The invitation answered (its SEQUENCE).
    pub sequence: i64,
    /// `contact:ID` or `assistant:ID`.
    pub invitee: String,
    pub partstat: PartStat,
    /// Read from a calendar program's reply (else from the words of a reply).
    pub by_calendar: bool,
    /// An answer to the call's current time (else to a time it has been moved from: recorded,
    /// no alert).
    pub current: bool,
    /// Who answered, as the operator reads it: `Anna Berg <anna@acme.example>`.
    pub who: String,
}

/// Records an invitee's answer; a decline of the current time alerts the operator at once
/// (`kickoff_declined:INBOUND`), with the reply's words.
pub async fn answer(
    tx: &mut Conn,
    compose: &Composer,
    answer: &Answer,
    received: Received<'_>,
) -> Result<(), MailError> {
    let now = received.now;
    store::calls::record_response(
        tx,
        answer.engagement_id,
        answer.sequence,
        &answer.invitee,
        answer.partstat.as_str(),
        now,
    )
    .await?;
    if answer.partstat != PartStat::Declined || !answer.current {
        return Ok(());
    }
    let engagement = store::engagements::get(tx, answer.engagement_id).await?;
    let call = store::calls::kickoff(tx, answer.engagement_id).await?;
    let op = compose.operator();
    let incoming = received.incoming;
    let context = DeclinedContext {
        agency: compose.agency_view(),
        who: answer.who.clone(),
        assistant_declined: answer.invitee.starts_with("assistant:"),
        client_name: engagement.client_name.clone(),
        client_tag: engagement.client_tag.clone(),
        assistant_name: engagement.assistant_name.clone(),
        engagement_id: engagement.id,
        when: call
            .map(|c| when_text(c.starts_at, c.timezone, op.locale))
            .unwrap_or_default(),
        by_calendar: answer.by_calendar,
        words: incoming.new_text.trim().to_string(),
    };
    let mail = compose.mail(&op, "kickoff_declined", &context, AutoSubmitted::Generated)?;
    outbound::enqueue(
        tx,
        &format!("kickoff_declined:{}", received.id),
        "kickoff_declined",
        Some(answer.engagement_id),
        &mail,
        now,
    )
    .await?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct DeclinedContext {
    agency: AgencyView,
    /// The sender as they wrote it (`Anna Berg <anna@acme.example>`).
    who: String,
    assistant_declined: bool,
    client_name: String,
    client_tag: String,
    assistant_name: String,
    engagement_id: i64,
    when: String,
    by_calendar: bool,
    /// The new text of the reply (may be empty for a calendar program's reply).
    words: String,
}
