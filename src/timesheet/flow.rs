//! The timesheet's flow: sending a month's timesheet to the client's billing contact (by the
//! schedule or the operator), its one reminder, the operator's approval, and the client's
//! answer (an approval is recorded and, with `lock_on_approval`, locks the month for the
//! engagement; anything else marks the month disputed and alerts the operator at once with
//! the client's words). Transaction scripts: the caller owns the transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{amount, month_days, month_label};
use crate::compose::{AgencyView, Composer, MailError};
use crate::domain::TimesheetLine;
use crate::format::hours_minutes;
use crate::format::{format_date, format_day, format_money};
use crate::inbound::message::Received;
use crate::outbound::{self, Attachment, AutoSubmitted};
use crate::recipients::{People, Recipient};
use crate::store::timesheets::{self, Approval};
use crate::store::{Conn, StoreError};

/// The role of the contact timesheets go to; without one, the client's first contact.
pub const BILLING_ROLE: &str = "billing";

/// Who gets the engagement's timesheets: the contact with the role `billing`, else the first.
pub fn billing_contact(people: &People) -> Result<Recipient, StoreError> {
    match people.client.contacts.iter().find(|c| {
        c.role
            .as_deref()
            .is_some_and(|r| r.trim().eq_ignore_ascii_case(BILLING_ROLE))
    }) {
        Some(contact) => Recipient::contact(&people.client, contact),
        None => people.client_contact(),
    }
}

/// A month of an engagement's hours, as the timesheet shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Sheet {
    pub engagement_id: i64,
    pub month: String,
    #[serde(skip)]
    pub lines: Vec<TimesheetLine>,
    pub minutes: i64,
    pub amount_cents: Option<i64>,
    pub hourly_rate_cents: Option<i64>,
}

/// Reads the engagement's month; `None` when `month` is not `YYYY-MM`.
pub async fn sheet(
    conn: &mut Conn,
    people: &People,
    month: &str,
) -> Result<Option<Sheet>, StoreError> {
    let Some((first, last)) = month_days(month) else {
        return Ok(None);
    };
    let e = &people.engagement;
    let lines = timesheets::lines(conn, e.id, first, last).await?;
    let minutes = lines.iter().map(|l| l.minutes).sum();
    Ok(Some(Sheet {
        engagement_id: e.id,
        month: month.to_string(),
        lines,
        minutes,
        amount_cents: amount(minutes, e.hourly_rate_cents),
        hourly_rate_cents: e.hourly_rate_cents,
    }))
}

#[derive(Debug, Serialize)]
struct EntryView {
    date: String,
    hours: String,
    description: String,
}

#[derive(Debug, Serialize)]
struct TimesheetContext {
    agency: AgencyView,
    recipient_name: String,
    client_name: String,
    assistant_name: String,
    month: String,
    entries: Vec<EntryView>,
    total: String,
    amount: Option<String>,
    rate: Option<String>,
    attachment: String,
    reminder: bool,
}

/// What [`send`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Queued under this natural key; `sends` is 1 for the first.
    Queued { key: String, sends: i64 },
    /// The month has no hours: nothing is sent.
    NoHours,
    /// The client (or the operator) approved the month already, at this time.
    Approved(DateTime<Utc>),
    /// Sent before (the schedule sends a month once; the operator resends with `again`).
    Before,
}

/// The timesheet mail of `sheet` to the billing contact, with the CSV.
fn mail(
    compose: &Composer,
    people: &People,
    sheet: &Sheet,
    to: &Recipient,
    reminder: bool,
) -> Result<outbound::Outgoing, MailError> {
    let locale = to.locale;
    let attachment = format!("timesheet-{}-{}.csv", people.client.tag, sheet.month);
    let context = TimesheetContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        client_name: people.client.name.clone(),
        assistant_name: people.assistant.name.clone(),
        month: month_label(&sheet.month, locale),
        entries: sheet
            .lines
            .iter()
            .map(|l| EntryView {
                date: format_day(l.date, locale),
                hours: hours_minutes(l.minutes),
                description: l.description.clone(),
            })
            .collect(),
        total: hours_minutes(sheet.minutes),
        amount: sheet
            .amount_cents
            .map(|c| format_money(c, locale, compose.agency().currency)),
        rate: sheet
            .hourly_rate_cents
            .map(|c| format_money(c, locale, compose.agency().currency)),
        attachment: attachment.clone(),
        reminder,
    };
    let data = super::csv(&sheet.lines, sheet.hourly_rate_cents)
        .map_err(|e| outbound::OutboundError::Build(format!("the timesheet's CSV: {e}")))?;
    let mut mail = compose
        .mail(to, "timesheet", &context, AutoSubmitted::Generated)?
        .expecting_reply();
    mail.attachments.push(Attachment {
        filename: attachment,
        content_type: "text/csv; charset=utf-8".into(),
        bytes: data,
    });
    Ok(mail)
}

/// Sends the engagement's timesheet of `month` to the billing contact, expecting an answer.
/// `again`: the operator's send, which goes out again unless the month is approved (a
/// disputed month, corrected, is asked again); otherwise a month is sent once, under
/// `timesheet:ENG:MONTH`.
pub async fn send(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    month: &str,
    again: bool,
    now: DateTime<Utc>,
) -> Result<Sent, MailError> {
    let e = &people.engagement;
    if let Some(stored) = timesheets::get(tx, e.id, month).await? {
        if stored.status == "approved" {
            return Ok(Sent::Approved(stored.answered_at.unwrap_or(stored.sent_at)));
        }
        if !again {
            return Ok(Sent::Before);
        }
    }
    let Some(sheet) = sheet(tx, people, month).await? else {
        return Ok(Sent::NoHours);
    };
    if sheet.lines.is_empty() {
        return Ok(Sent::NoHours);
    }
    let to = billing_contact(people)?;
    let sends = timesheets::record_sent(
        tx,
        &timesheets::Sent {
            engagement_id: e.id,
            month,
            minutes: sheet.minutes,
            amount_cents: sheet.amount_cents,
            recipient: to.mailbox.email.as_str(),
        },
        now,
    )
    .await?;
    let key = super::key(e.id, month, sends);
    let mail = mail(compose, people, &sheet, &to, false)?;
    if !outbound::enqueue(tx, &key, "timesheet", Some(e.id), &mail, now).await? {
        // Queued by another daemon under this key: it recorded the send too; this
        // transaction's row is the same one (the write lock), so nothing else to undo.
        return Ok(Sent::Before);
    }
    tracing::info!(engagement = e.id, month, sends, "timesheet queued");
    Ok(Sent::Queued { key, sends })
}

/// The one reminder of an unanswered timesheet, under `key`; `false` when it is answered.
pub async fn remind(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    month: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let e = &people.engagement;
    let Some(stored) = timesheets::get(tx, e.id, month).await? else {
        return Ok(false);
    };
    if stored.status != "sent" {
        return Ok(false);
    }
    let Some(sheet) = sheet(tx, people, month).await? else {
        return Ok(false);
    };
    let to = billing_contact(people)?;
    let mail = mail(compose, people, &sheet, &to, true)?;
    Ok(outbound::enqueue(tx, key, "timesheet_reminder", Some(e.id), &mail, now).await?)
}

/// The operator's approval (`tandem timesheet approve`): the month's totals as they stand,
/// approved by `operator`; `false` when it was approved before. A month never sent gets its
/// row here.
pub async fn approve_by_operator(
    tx: &mut Conn,
    people: &People,
    month: &str,
    lock: bool,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(sheet) = sheet(tx, people, month).await? else {
        return Ok(false);
    };
    timesheets::approve(
        tx,
        &Approval {
            engagement_id: people.engagement.id,
            month,
            by: "operator",
            minutes: sheet.minutes,
            amount_cents: sheet.amount_cents,
            inbound_id: None,
            lock,
        },
        now,
    )
    .await
}

#[derive(Debug, Serialize)]
struct ThanksContext {
    agency: AgencyView,
    recipient_name: String,
    assistant_name: String,
    month: String,
    total: String,
    amount: Option<String>,
    approved: bool,
}

/// Answers the client's reply: the approval confirmed, or the note passed on.
fn thank(
    compose: &Composer,
    people: &People,
    stored: &timesheets::Timesheet,
    approved: bool,
    incoming: &crate::inbound::message::Incoming,
) -> Result<outbound::Outgoing, MailError> {
    let to = billing_contact(people)?.answering(incoming);
    let context = ThanksContext {
        agency: compose.agency_view(),
        recipient_name: to.name.clone(),
        assistant_name: people.assistant.name.clone(),
        month: month_label(&stored.month, to.locale),
        total: hours_minutes(stored.minutes),
        amount: stored
            .amount_cents
            .map(|c| format_money(c, to.locale, compose.agency().currency)),
        approved,
    };
    Ok(compose.answer(&to, "timesheet_thanks", &context, incoming)?)
}

#[derive(Debug, Serialize)]
struct DisputeContext {
    agency: AgencyView,
    engagement_id: i64,
    client_name: String,
    client_tag: String,
    assistant_name: String,
    month: String,
    month_key: String,
    from: String,
    words: String,
    total: String,
    amount: Option<String>,
    sent: String,
}

/// The client's reply to the timesheet of `month`: an approval ([`super::reads_as_approval`])
/// is recorded (the totals of the sheet they answered) and, with `lock`, locks the month for
/// the engagement; anything else marks the month disputed (unless it is approved: an approval
/// stands until the operator changes it) and alerts the operator at once with the words.
pub async fn receive(
    tx: &mut Conn,
    compose: &Composer,
    engagement_id: i64,
    month: &str,
    approves: bool,
    lock: bool,
    received: Received<'_>,
) -> Result<(), MailError> {
    let Received {
        id: inbound_id,
        incoming,
        now,
    } = received;
    let by = incoming
        .from
        .as_ref()
        .map(|f| f.to_string())
        .unwrap_or_default();
    let Some(stored) = timesheets::get(tx, engagement_id, month).await? else {
        return Ok(());
    };
    if approves {
        let approved = timesheets::approve(
            tx,
            &Approval {
                engagement_id,
                month,
                by: &by,
                minutes: stored.minutes,
                amount_cents: stored.amount_cents,
                inbound_id: Some(inbound_id),
                lock,
            },
            now,
        )
        .await?;
        tracing::info!(
            engagement = engagement_id,
            month,
            approved,
            "timesheet approved"
        );
        if approved {
            let people = People::load(tx, engagement_id).await?;
            let mail = thank(compose, &people, &stored, true, incoming)?;
            outbound::enqueue(
                tx,
                &format!("timesheet_thanks:{inbound_id}"),
                "timesheet_thanks",
                Some(engagement_id),
                &mail,
                now,
            )
            .await?;
        }
        return Ok(());
    }
    let words = crate::survey::answers::without_sign_off(&incoming.new_text);
    let marked =
        timesheets::dispute(tx, engagement_id, month, &by, &words, inbound_id, now).await?;
    tracing::info!(
        engagement = engagement_id,
        month,
        marked,
        "timesheet disputed"
    );
    let people = People::load(tx, engagement_id).await?;
    let to = compose.operator();
    let context = DisputeContext {
        agency: compose.agency_view(),
        engagement_id,
        client_name: people.client.name.clone(),
        client_tag: people.client.tag.clone(),
        assistant_name: people.assistant.name.clone(),
        month: month_label(month, to.locale),
        month_key: month.to_string(),
        from: by,
        words,
        total: hours_minutes(stored.minutes),
        amount: stored
            .amount_cents
            .map(|c| format_money(c, to.locale, compose.agency().currency)),
        sent: format_date(stored.sent_at.date_naive(), to.locale),
    };
    let mail = compose.mail(&to, "timesheet_dispute", &context, AutoSubmitted::Generated)?;
    outbound::enqueue(
        tx,
        &format!("timesheet_dispute:{inbound_id}"),
        "timesheet_dispute",
        Some(engagement_id),
        &mail,
        now,
    )
    .await?;
    let thanks = thank(compose, &people, &stored, false, incoming)?;
    outbound::enqueue(
        tx,
        &format!("timesheet_thanks:{inbound_id}"),
        "timesheet_thanks",
        Some(engagement_id),
        &thanks,
        now,
    )
    .await?;
    Ok(())
}
