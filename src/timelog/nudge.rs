//! The hours nudge: one reminder to an assistant who has logged nothing for an engagement in
//! the week so far.

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use serde::Serialize;

use super::flow::week_label;
use crate::compose::{AgencyView, Composer, MailError};
use crate::domain::Locale;
use crate::outbound::{self, AutoSubmitted};
use crate::recipients::People;
use crate::store::{self, Conn};

#[derive(Debug, Serialize)]
struct NudgeContext {
    agency: AgencyView,
    assistant_name: String,
    client_name: String,
    client_tag: String,
    week_label: String,
    several_clients: bool,
    examples: Vec<String>,
}

/// The Monday of an ISO week written `2026-W49`.
pub fn monday_of_week(week: &str) -> Option<NaiveDate> {
    let (year, number) = week.split_once("-W")?;
    NaiveDate::from_isoywd_opt(year.parse().ok()?, number.parse().ok()?, Weekday::Mon)
}

/// Queues the nudge for `week` unless hours were logged for the engagement that week by now.
pub async fn nudge(
    tx: &mut Conn,
    compose: &Composer,
    people: &People,
    week: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let Some(monday) = monday_of_week(week) else {
        return Ok(false);
    };
    let logged = store::timelog::minutes_between(
        tx,
        people.engagement.id,
        monday,
        monday + Duration::days(6),
    )
    .await?;
    if logged > 0 {
        return Ok(false);
    }
    let to = people.assistant()?;
    let open = store::engagements::open_for_assistant(tx, people.assistant.id).await?;
    let several = open.len() > 1;
    let tag = if several {
        format!(" #{}", people.client.tag)
    } else {
        String::new()
    };
    let examples = match to.locale {
        Locale::De => vec![
            format!("gestern 2,5h{tag} Posteingang und Kalender"),
            format!("Mo 45min{tag} Telefonate"),
        ],
        Locale::En => vec![
            format!("yesterday 2.5h{tag} inbox and calendar"),
            format!("Mon 45min{tag} calls"),
        ],
    };
    let context = NudgeContext {
        agency: compose.agency_view(),
        assistant_name: people.assistant.name.clone(),
        client_name: people.client.name.clone(),
        client_tag: people.client.tag.clone(),
        week_label: week_label(monday, to.locale),
        several_clients: several,
        examples,
    };
    let mail = compose
        .mail(&to, "hours_nudge", &context, AutoSubmitted::Generated)?
        .expecting_reply();
    Ok(outbound::enqueue(
        tx,
        key,
        "hours_nudge",
        Some(people.engagement.id),
        &mail,
        now,
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_have_mondays() {
        assert_eq!(
            monday_of_week("2026-W49"),
            NaiveDate::from_ymd_opt(2026, 11, 30)
        );
        assert_eq!(
            monday_of_week("2026-W53"),
            NaiveDate::from_ymd_opt(2026, 12, 28)
        );
        assert_eq!(monday_of_week("soon"), None);
    }
}
