//! The weekly digest: the operator's one page. [`figures`] reads the week's numbers, [`chart`]
//! draws the hours of the last weeks (PNG for the HTML part, a table for the text part), and
//! this module writes them out in the operator's language and queues the mail (the chart
//! inline as `cid:`), once per week under the key `digest:YYYY-Www`.

pub mod chart;
pub mod figures;
pub mod reasons;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::compose::{AgencyView, Composer, MailError};
use crate::config::Config;
use crate::domain::{EngagementStatus, Locale};
use crate::format::{format_date, format_day_month, format_duration};
use crate::outbound::{self, AutoSubmitted, Inline, Outgoing};
use crate::store::{Conn, StoreError};
use crate::templates::{Rendered, Templates};
use figures::{Figures, Week};

/// The Content-ID of the chart in the mail.
pub const CHART_CID: &str = "chart@tandem";
/// The chart shows the engagements with the most hours, at most this many.
pub const CHART_SERIES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
}

impl From<DigestError> for MailError {
    fn from(e: DigestError) -> Self {
        match e {
            DigestError::Store(e) => MailError::Store(e),
            DigestError::Template(e) => MailError::Template(e),
            DigestError::Chart(e) => MailError::Store(StoreError::Corrupt(e.to_string())),
        }
    }
}

/// The week a digest sent at `at` reports on: the ISO week of the day before, in the agency's
/// zone (a Monday digest reports the week that just ended; a Friday one its own week).
pub fn week_reported(at: DateTime<Utc>, config: &Config) -> Week {
    let local = at.with_timezone(&config.agency.timezone.0).date_naive();
    Week::of(local - Duration::days(1))
}

/// The natural key of the scheduled digest of `week`: one per week.
pub fn key(week: &Week) -> String {
    format!("digest:{}", week.key())
}

/// How the HTML part refers to the chart: `cid:` in mail, or the PNG itself in a preview that
/// a browser opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartSrc {
    Cid,
    DataUri,
}

/// A rendered digest.
#[derive(Debug, Clone)]
pub struct Digest {
    pub figures: Figures,
    pub rendered: Rendered,
    pub png: Vec<u8>,
}

/// `KW 49, 30.11.–06.12.2026` / `week 49, 30 Nov–6 Dec 2026`; a week across new year gives
/// both years (`KW 53, 28.12.2026–03.01.2027`).
fn week_label(week: &Week, locale: Locale) -> String {
    let (from, to) = (week.monday, week.sunday());
    let from_year = match chrono::Datelike::year(&from) == chrono::Datelike::year(&to) {
        true => String::new(),
        false => match locale {
            Locale::De => from.format("%Y").to_string(),
            Locale::En => from.format(" %Y").to_string(),
        },
    };
    match locale {
        Locale::De => format!(
            "KW {}, {}{from_year}–{}{}",
            week.number,
            format_day_month(from, locale),
            format_day_month(to, locale),
            to.format("%Y")
        ),
        Locale::En => format!(
            "week {}, {}{from_year}–{} {}",
            week.number,
            format_day_month(from, locale),
            format_day_month(to, locale),
            to.format("%Y")
        ),
    }
}

fn short_week(monday: chrono::NaiveDate, locale: Locale) -> String {
    let week = chrono::Datelike::iso_week(&monday).week();
    match locale {
        Locale::De => format!("KW {week}"),
        Locale::En => format!("wk {week}"),
    }
}

fn status_label(status: EngagementStatus, locale: Locale) -> &'static str {
    match (status, locale) {
        (EngagementStatus::Onboarding, Locale::De) => "Einarbeitung",
        (EngagementStatus::Onboarding, Locale::En) => "onboarding",
        (EngagementStatus::Trial, Locale::De) => "Probezeit",
        (EngagementStatus::Trial, Locale::En) => "trial",
        (EngagementStatus::Active, Locale::De) => "aktiv",
        (EngagementStatus::Active, Locale::En) => "active",
        (EngagementStatus::Paused, Locale::De) => "pausiert",
        (EngagementStatus::Paused, Locale::En) => "paused",
        (EngagementStatus::Ended, Locale::De) => "beendet",
        (EngagementStatus::Ended, Locale::En) => "ended",
    }
}

fn score_label(key: &str, locale: Locale) -> String {
    match (key, locale) {
        ("satisfaction", Locale::De) => "Zufriedenheit".into(),
        ("satisfaction", Locale::En) => "Satisfaction".into(),
        ("communication", Locale::De) => "Kommunikation".into(),
        ("communication", Locale::En) => "Communication".into(),
        _ => key.to_string(),
    }
}

fn component_label(component: &str, locale: Locale) -> String {
    match (component, locale) {
        ("inbound", Locale::De) => "Posteingang".into(),
        ("inbound", Locale::En) => "mail in".into(),
        ("outbound", Locale::De) => "Postausgang".into(),
        ("outbound", Locale::En) => "mail out".into(),
        ("scheduler", Locale::De) => "Zeitplan".into(),
        ("scheduler", Locale::En) => "scheduler".into(),
        _ => component.to_string(),
    }
}

#[derive(Debug, Serialize)]
struct ScoreView {
    label: String,
    value: String,
    trend: &'static str,
}

#[derive(Debug, Serialize)]
struct EngagementView {
    id: i64,
    assistant_name: String,
    client_name: String,
    client_tag: String,
    status: &'static str,
    this_week: String,
    last_week: String,
    month_to_date: String,
    budget: Option<String>,
    budget_percent: Option<i64>,
    over_budget: bool,
    scores: Vec<ScoreView>,
    scores_period: Option<String>,
    pending_agreements: Vec<String>,
    overdue_agreements: Vec<String>,
    received_agreements: Vec<String>,
    unanswered_surveys: i64,
    trial_ends: Option<String>,
    trial_days_left: Option<i64>,
    /// The assistant's latest check-in: its period, score, blocker and ideas.
    checkin: Option<CheckinView>,
}

#[derive(Debug, Serialize)]
struct CheckinView {
    period: String,
    score: Option<i64>,
    blocked: bool,
    blocker: String,
    ideas: String,
}

#[derive(Debug, Serialize)]
struct LowView {
    engagement: String,
    question: String,
    value: String,
    date: String,
}

#[derive(Debug, Serialize)]
struct FiledView {
    from: String,
    subject: String,
    reason: String,
    received: String,
}

impl FiledView {
    /// A filed mail as the digest lists it, `received` when. A sender writes the address and
    /// the subject, and the reason may quote them: each is cut ([`MAX_FIELD`]), where one 200 kB
    /// address made the digest 200 kB larger.
    fn of(row: &crate::store::digest::FiledRow, received: String, locale: Locale) -> Self {
        FiledView {
            from: chart::cut(row.from_addr.as_deref().unwrap_or("-"), MAX_FIELD),
            subject: chart::cut(row.subject.as_deref().unwrap_or("-"), MAX_FIELD),
            reason: chart::cut(&reasons::translate(&row.reason, locale), 2 * MAX_FIELD),
            received,
        }
    }
}

#[derive(Debug, Serialize)]
struct FailedView {
    id: i64,
    to: String,
    subject: String,
    error: String,
}

#[derive(Debug, Serialize)]
struct HoursView {
    engagement: String,
    hours: String,
}

#[derive(Debug, Serialize)]
struct DependenceView {
    assistant: String,
    client: String,
    share: String,
}

#[derive(Debug, Serialize)]
struct NoHoursView {
    assistant: String,
    client: String,
}

#[derive(Debug, Serialize)]
struct TimesheetView {
    engagement: String,
    engagement_id: i64,
    month: String,
    month_key: String,
    disputed: bool,
    sent: String,
    words: String,
}

#[derive(Debug, Serialize)]
struct HealthView {
    component: String,
    last_ok: Option<String>,
    errors: i64,
    last_error: Option<String>,
}

/// The variables of the digest templates.
#[derive(Debug, Serialize)]
struct DigestContext {
    agency: AgencyView,
    week_label: String,
    generated: String,
    engagements: Vec<EngagementView>,
    chart_src: String,
    chart_text: String,
    attention_any: bool,
    low_scores: Vec<LowView>,
    /// Each list of filed mail holds [`MAX_FILED`] at most; `..._more` counts the rest.
    quarantined: Vec<FiledView>,
    quarantined_more: usize,
    unparseable: Vec<FiledView>,
    unparseable_more: usize,
    for_a_person: Vec<FiledView>,
    for_a_person_more: usize,
    unauthenticated: Vec<FiledView>,
    unauthenticated_more: usize,
    failed_sends: Vec<FailedView>,
    hours_without_dpa: Vec<HoursView>,
    self_employment: Vec<DependenceView>,
    no_hours: Vec<NoHoursView>,
    timesheets: Vec<TimesheetView>,
    health_ok: bool,
    health: Vec<HealthView>,
}

fn at(config: &Config, when: DateTime<Utc>, locale: Locale) -> String {
    let local = when.with_timezone(&config.agency.timezone.0);
    format!(
        "{}, {}",
        format_date(local.date_naive(), locale),
        local.format("%H:%M")
    )
}

/// The most filed mails of each kind (quarantined, unreadable, for a person, unauthenticated)
/// the digest lists; it counts the rest and names the command that lists them all. Anyone can
/// write to the inbox: 10,000 strangers' mails made a 25 MB digest, over what mail servers
/// take.
const MAX_FILED: usize = 50;

/// The most characters of a filed mail's sender and subject the digest shows (its reason, twice
/// as many); `tandem quarantine show` has all of them.
const MAX_FIELD: usize = 200;

/// The chart's data: the engagements with the most hours over its weeks.
pub fn chart_of(figures: &Figures, locale: Locale) -> chart::Chart {
    let mut ranked: Vec<_> = figures
        .engagements
        .iter()
        .map(|e| (e.weekly.iter().sum::<i64>(), e))
        .filter(|(total, _)| *total > 0)
        .collect();
    ranked.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.engagement.id.cmp(&b.1.engagement.id))
    });
    chart::Chart {
        weeks: figures
            .chart_weeks
            .iter()
            .map(|m| short_week(*m, locale))
            .collect(),
        series: ranked
            .into_iter()
            .take(CHART_SERIES)
            .map(|(_, e)| chart::Series {
                label: format!(
                    "{} / {}",
                    e.engagement.assistant_name, e.engagement.client_tag
                ),
                minutes: e.weekly.clone(),
            })
            .collect(),
    }
}

fn context(
    figures: &Figures,
    config: &Config,
    locale: Locale,
    now: DateTime<Utc>,
    chart_src: String,
    chart_text: String,
) -> DigestContext {
    let today = now.with_timezone(&config.agency.timezone.0).date_naive();
    let names = |id: i64| {
        figures
            .engagement(id)
            .map(|e| {
                format!(
                    "{} / {}",
                    e.engagement.assistant_name, e.engagement.client_name
                )
            })
            .unwrap_or_else(|| format!("#{id}"))
    };
    let agreement = |kind: &String| {
        config
            .agreement(kind)
            .map(|k| k.name(locale).to_string())
            .unwrap_or_else(|| kind.clone())
    };
    let filed = |rows: &[crate::store::digest::FiledRow]| -> Vec<FiledView> {
        rows.iter()
            .take(MAX_FILED)
            .map(|r| FiledView::of(r, at(config, r.received_at, locale), locale))
            .collect()
    };
    let more = |rows: &[crate::store::digest::FiledRow]| rows.len().saturating_sub(MAX_FILED);
    let health: Vec<HealthView> = figures
        .health
        .iter()
        .map(|h| HealthView {
            component: component_label(&h.component, locale),
            last_ok: h.last_ok_at.map(|t| at(config, t, locale)),
            errors: h.errors_since_last_digest,
            last_error: h.last_error.clone(),
        })
        .collect();
    let health_ok = figures.health.iter().all(|h| {
        h.errors_since_last_digest == 0
            && h.last_ok_at.is_some_and(|t| now - t <= Duration::days(1))
    });
    DigestContext {
        agency: AgencyView::new(&config.agency),
        week_label: week_label(&figures.week, locale),
        generated: at(config, now, locale),
        engagements: figures
            .engagements
            .iter()
            .map(|f| {
                let e = &f.engagement;
                let percent = e
                    .budget_minutes
                    .filter(|b| *b > 0)
                    .map(|b| f.month_to_date * 100 / b);
                EngagementView {
                    id: e.id,
                    assistant_name: e.assistant_name.clone(),
                    client_name: e.client_name.clone(),
                    client_tag: e.client_tag.clone(),
                    status: status_label(e.status, locale),
                    this_week: format_duration(f.this_week),
                    last_week: format_duration(f.last_week),
                    month_to_date: format_duration(f.month_to_date),
                    budget: e.budget_minutes.map(format_duration),
                    budget_percent: percent,
                    over_budget: percent.is_some_and(|p| p > 100),
                    scores: f
                        .scores
                        .iter()
                        .map(|s| ScoreView {
                            label: score_label(&s.key, locale),
                            value: s.value.to_string(),
                            trend: match (s.previous, locale) {
                                (None, Locale::De) => "neu",
                                (None, Locale::En) => "new",
                                (Some(p), _) if s.value > p => "↑",
                                (Some(p), _) if s.value < p => "↓",
                                (Some(_), _) => "→",
                            },
                        })
                        .collect(),
                    scores_period: f
                        .scores_period
                        .as_deref()
                        .map(|p| crate::survey::flow::period_label(p, locale)),
                    pending_agreements: f.pending_agreements.iter().map(agreement).collect(),
                    overdue_agreements: f.overdue_agreements.iter().map(agreement).collect(),
                    received_agreements: f.received_agreements.iter().map(agreement).collect(),
                    unanswered_surveys: f.unanswered_surveys,
                    trial_ends: f.trial_ends.map(|d| format_date(d, locale)),
                    trial_days_left: f.trial_ends.map(|d| (d - today).num_days()),
                    checkin: f.checkin.as_ref().map(|(period, r)| CheckinView {
                        period: crate::survey::flow::period_label(period, locale),
                        score: r.score,
                        blocked: r.is_blocked(),
                        blocker: r.blocker.clone().unwrap_or_default(),
                        ideas: r.ideas.clone().unwrap_or_default(),
                    }),
                }
            })
            .collect(),
        chart_src,
        chart_text,
        attention_any: figures.needs_attention(),
        low_scores: figures
            .low_scores
            .iter()
            .map(|l| LowView {
                engagement: names(l.engagement_id),
                question: score_label(&l.key, locale),
                value: l.value.to_string(),
                date: format_date(
                    l.answered_at
                        .with_timezone(&config.agency.timezone.0)
                        .date_naive(),
                    locale,
                ),
            })
            .collect(),
        quarantined: filed(&figures.quarantined),
        quarantined_more: more(&figures.quarantined),
        unparseable: filed(&figures.unparseable),
        unparseable_more: more(&figures.unparseable),
        for_a_person: filed(&figures.for_a_person),
        for_a_person_more: more(&figures.for_a_person),
        unauthenticated: filed(&figures.unauthenticated),
        unauthenticated_more: more(&figures.unauthenticated),
        failed_sends: figures
            .failed_sends
            .iter()
            .map(|(id, to, subject, error)| FailedView {
                id: *id,
                to: to.clone(),
                subject: subject.clone(),
                error: error.clone().unwrap_or_default(),
            })
            .collect(),
        hours_without_dpa: figures
            .hours_without_dpa
            .iter()
            .map(|(id, minutes)| HoursView {
                engagement: names(*id),
                hours: format_duration(*minutes),
            })
            .collect(),
        self_employment: figures
            .dependence
            .iter()
            .map(|d| DependenceView {
                assistant: d.assistant_name.clone(),
                client: d.client_name.clone(),
                share: format!("{} %", (d.share_per_mille + 5) / 10),
            })
            .collect(),
        no_hours: figures
            .no_hours
            .iter()
            .filter_map(|id| figures.engagement(*id))
            .map(|e| NoHoursView {
                assistant: e.engagement.assistant_name.clone(),
                client: e.engagement.client_name.clone(),
            })
            .collect(),
        timesheets: figures
            .timesheets
            .iter()
            .map(|t| TimesheetView {
                engagement: names(t.engagement_id),
                engagement_id: t.engagement_id,
                month: crate::timesheet::month_label(&t.month, locale),
                month_key: t.month.clone(),
                disputed: t.status == "disputed",
                sent: format_date(
                    t.sent_at
                        .with_timezone(&config.agency.timezone.0)
                        .date_naive(),
                    locale,
                ),
                words: t.dispute.clone().unwrap_or_default(),
            })
            .collect(),
        health_ok,
        health,
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads and renders the digest of `week` in `locale`, as of `now`. Reads only.
pub async fn render(
    conn: &mut Conn,
    config: &Config,
    templates: &Templates,
    week: Week,
    locale: Locale,
    now: DateTime<Utc>,
    chart_src: ChartSrc,
) -> Result<Digest, DigestError> {
    let figures = figures::read(conn, config, week, now).await?;
    let chart = chart_of(&figures, locale);
    let title = match locale {
        Locale::De => "Stunden pro Woche",
        Locale::En => "Hours per week",
    };
    let png = chart::png(&chart, title, locale)?;
    let src = match chart_src {
        ChartSrc::Cid => format!("cid:{CHART_CID}"),
        ChartSrc::DataUri => format!("data:image/png;base64,{}", base64(&png)),
    };
    let context = context(
        &figures,
        config,
        locale,
        now,
        src,
        chart::text(&chart, locale),
    );
    let rendered = templates.render(locale, "digest", &context)?;
    Ok(Digest {
        figures,
        rendered,
        png,
    })
}

/// The digest of `week` as of `now`, as a mail to the operator with the chart inline. Reads
/// only, so it is rendered before the write transaction that queues it ([`queue`]).
pub async fn mail(
    conn: &mut Conn,
    compose: &Composer,
    config: &Config,
    week: Week,
    now: DateTime<Utc>,
) -> Result<Outgoing, MailError> {
    let to = compose.operator();
    let digest = render(
        conn,
        config,
        compose.templates(),
        week,
        to.locale,
        now,
        ChartSrc::Cid,
    )
    .await?;
    let mut mail = compose.wrap(&to, digest.rendered, AutoSubmitted::Generated);
    mail.inline.push(Inline {
        content_id: CHART_CID.into(),
        content_type: "image/png".into(),
        data: digest.png,
    });
    Ok(mail)
}

/// Queues a digest `mail` under `key` in the caller's transaction; `false` when it was queued
/// before.
pub async fn queue(
    tx: &mut Conn,
    key: &str,
    mail: &Outgoing,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    Ok(outbound::enqueue(tx, key, "digest", None, mail, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filed_mail_is_listed_cut_to_size() {
        let row = crate::store::digest::FiledRow {
            from_addr: Some(format!("{}@spam.example", "x".repeat(200_000))),
            subject: None,
            reason: format!("unknown sender {}", "y".repeat(200_000)),
            disposition: "quarantine".into(),
            received_at: Utc::now(),
        };
        let view = FiledView::of(&row, "today".into(), Locale::En);
        assert_eq!(view.from.chars().count(), MAX_FIELD);
        assert!(view.from.ends_with('…'));
        assert_eq!(view.subject, "-");
        assert_eq!(view.reason.chars().count(), 2 * MAX_FIELD);
        let short = crate::store::digest::FiledRow {
            from_addr: Some("stranger@spam.example".into()),
            ..row
        };
        assert_eq!(
            FiledView::of(&short, "today".into(), Locale::En).from,
            "stranger@spam.example"
        );
    }

    #[test]
    fn base64_of_bytes() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn a_week_across_new_year_names_both_years() {
        let week = Week::parse("2026-W53").unwrap();
        assert_eq!(week.monday.to_string(), "2026-12-28");
        assert_eq!(
            week_label(&week, Locale::De),
            "KW 53, 28.12.2026–03.01.2027"
        );
        assert_eq!(
            week_label(&week, Locale::En),
            "week 53, 28 Dec 2026–3 Jan 2027"
        );
        let week = Week::parse("2026-W49").unwrap();
        assert_eq!(week_label(&week, Locale::De), "KW 49, 30.11.–06.12.2026");
        assert_eq!(week_label(&week, Locale::En), "week 49, 30 Nov–6 Dec 2026");
    }
}
