//! The weekly digest on a seeded database: every figure checked against the data it was seeded
//! with, the rendering in both languages (text and HTML) against golden files, the mail with
//! its chart inline, `digest --preview` and `--send`.

use chrono::{DateTime, NaiveDate, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use tandem::digest::{self, ChartSrc, figures::Week};
use tandem::domain::{ClientTag, Contact, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::people::{self, NewAssistant, NewClient};

use crate::helpers::{TestApp, assert_golden, describe, spawn_app};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The week reported on: 30 Nov to 6 Dec 2026. The digest is made on Monday 7 Dec, 08:00 in
/// Berlin.
pub const WEEK: &str = "2026-W49";

fn now() -> DateTime<Utc> {
    at("2026-12-07T07:00:00Z")
}

async fn add_engagement(
    t: &TestApp,
    assistant: &str,
    client: &str,
    start: &str,
    weeks: u32,
    budget_hours: Option<i64>,
    created: &str,
) -> i64 {
    t.clock.set(at(created));
    t.app
        .start_engagement(&EngagementRequest {
            assistant: EmailAddress::parse(assistant).unwrap(),
            client: ClientTag::parse(client).unwrap(),
            start: day(start),
            trial: TrialEnd::AfterWeeks(weeks),
            hourly_rate_cents: Some(4500),
            budget_minutes: budget_hours.map(|h| h * 60),
            running: false,
        })
        .await
        .unwrap()
        .engagement_id
}

async fn log(t: &TestApp, assistant_id: i64, entries: &[(i64, &str, u32)]) {
    let mut tx = t.app.pool.begin().await.unwrap();
    let key = format!("seed-hours-{}", uuid_like(entries));
    let inbound: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
        "INSERT INTO inbound_message (dedupe_key, source, classification, reason, disposition, \
         size_bytes, received_at) VALUES ($1, 'seed', 'hours', 'seeded', 'processed', 0, $2) RETURNING id",
    )
    .bind(key)
    .bind(now())
    .fetch_one(c)
    .await)
    .unwrap();
    let new: Vec<tandem::store::timelog::NewEntry<'_>> = entries
        .iter()
        .enumerate()
        .map(
            |(i, (engagement, date, minutes))| tandem::store::timelog::NewEntry {
                engagement_id: *engagement,
                work_date: day(date),
                minutes: *minutes,
                description: "work",
                line_no: i + 1,
                line_text: "work",
            },
        )
        .collect();
    tandem::store::timelog::insert_submission(&mut tx, inbound, assistant_id, &new, None, now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn uuid_like(entries: &[(i64, &str, u32)]) -> String {
    entries
        .iter()
        .map(|(e, d, m)| format!("{e}{d}{m}"))
        .collect::<Vec<_>>()
        .join("-")
}

async fn sql(t: &TestApp, statement: &str) {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| sqlx::query(
        sqlx::AssertSqlSafe(statement.to_string())
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
}

/// Three engagements and one of each thing that needs a person:
/// - 1 Sam at Acme (active since its trial ended 29 Nov; 20 h budget): 2:00 h on Mon 30 Nov
///   and 10:30 h on Wed 2 Dec (12:30 h this week, 10:30 h in December), 10:00 h last week,
///   3:00 h in each of the six weeks before; the data-processing agreement unsigned, the rest
///   signed; surveys of weeks 47 (4, 3) and 48 (2, 4); Sam works only for Acme (self-employment
///   risk).
/// - 2 Lena at Acme (trial from 1 Dec to 14 Dec, everything pending, one survey unanswered):
///   5:00 h on 3 Dec.
/// - 3 Lena at Globex (active, all signed): 20:00 h in October, nothing this week.
/// - a quarantined mail, an unreadable one, one for a person, a failed send, and an error of
///   the outbox worker, all in the week.
pub async fn seed(t: &TestApp) {
    let created = "2026-10-01T08:00:00Z";
    t.clock.set(at(created));
    let mut tx = t.app.pool.begin().await.unwrap();
    for (name, email, zone, locale) in [
        ("Sam Lee", "sam@va.example", "Europe/Lisbon", Locale::En),
        ("Lena Vogel", "lena@va.example", "Europe/Berlin", Locale::De),
    ] {
        people::insert_assistant(
            &mut tx,
            &NewAssistant {
                name: name.into(),
                emails: vec![EmailAddress::parse(email).unwrap()],
                timezone: TimeZone::parse(zone).unwrap(),
                locale,
            },
            at(created),
        )
        .await
        .unwrap();
    }
    for (name, tag, locale, contact) in [
        (
            "Acme GmbH",
            "acme",
            Locale::De,
            "Anna Berg <anna@acme.example>",
        ),
        (
            "Globex Ltd",
            "globex",
            Locale::En,
            "Grace Hill <grace@globex.example>",
        ),
    ] {
        people::insert_client(
            &mut tx,
            &NewClient {
                name: name.into(),
                tag: ClientTag::parse(tag).unwrap(),
                timezone: TimeZone::parse("Europe/Berlin").unwrap(),
                locale,
                contacts: vec![Contact::parse(contact).unwrap()],
            },
            at(created),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let sam_acme = add_engagement(
        t,
        "sam@va.example",
        "acme",
        "2026-11-02",
        4,
        Some(20),
        created,
    )
    .await;
    let lena_acme = add_engagement(
        t,
        "lena@va.example",
        "acme",
        "2026-12-01",
        2,
        None,
        "2026-11-30T09:00:00Z",
    )
    .await;
    let lena_globex = add_engagement(
        t,
        "lena@va.example",
        "globex",
        "2026-10-01",
        4,
        None,
        created,
    )
    .await;
    assert_eq!((sam_acme, lena_acme, lena_globex), (1, 2, 3));
    sql(
        t,
        "UPDATE engagement SET status = 'active' WHERE id IN (1, 3)",
    )
    .await;
    sql(t, "UPDATE engagement SET status = 'trial' WHERE id = 2").await;
    sql(
        t,
        "UPDATE agreement SET status = 'signed' WHERE engagement_id IN (1, 3) AND kind <> 'dpa'",
    )
    .await;
    sql(
        t,
        "UPDATE agreement SET status = 'signed' WHERE engagement_id = 3",
    )
    .await;

    let mut sam = vec![
        (1, "2026-11-30", 120),
        (1, "2026-12-02", 630),
        (1, "2026-11-24", 600),
    ];
    for monday in [
        "2026-10-12",
        "2026-10-19",
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
    ] {
        sam.push((1, monday, 180));
    }
    log(t, 1, &sam).await;
    log(
        t,
        2,
        &[
            (2, "2026-12-03", 300),
            (3, "2026-10-05", 600),
            (3, "2026-10-06", 600),
        ],
    )
    .await;

    // Surveys of engagement 1: weeks 47 and 48, answered; engagement 2: one unanswered.
    let questions = serde_json::to_string(&tandem::survey::default_questions()).unwrap();
    for (engagement, period, sent, answered, answers) in [
        (
            1,
            "2026-W47",
            "2026-11-20T09:00:00Z",
            Some("2026-11-21T10:00:00Z"),
            vec![("satisfaction", 1, "4"), ("communication", 2, "3")],
        ),
        (
            1,
            "2026-W48",
            "2026-11-27T09:00:00Z",
            Some("2026-12-01T10:00:00Z"),
            vec![("satisfaction", 1, "2"), ("communication", 2, "4")],
        ),
        (2, "2026-W49", "2026-12-04T09:00:00Z", None, vec![]),
    ] {
        let mut tx = t.app.pool.begin().await.unwrap();
        let id = tandem::store::surveys::insert(
            &mut tx,
            &tandem::store::surveys::NewSurvey {
                engagement_id: engagement,
                kind: "feedback",
                period,
                questions: &questions,
                recipient: "anna@acme.example",
                locale: "de",
                message_id: &format!("<{period}-{engagement}@example.org>"),
            },
            at(sent),
        )
        .await
        .unwrap()
        .unwrap();
        let inbound: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
            "INSERT INTO inbound_message (dedupe_key, source, classification, reason, disposition, \
             size_bytes, received_at) VALUES ($1, 'seed', 'reply', 'seeded', 'processed', 0, $2) RETURNING id",
        )
        .bind(format!("seed-answer-{id}"))
        .bind(at(sent))
        .fetch_one(c)
        .await)
        .unwrap();
        for (key, number, value) in answers {
            tandem::store::surveys::store_answer(
                &mut tx,
                id,
                number,
                key,
                value,
                inbound,
                at(answered.unwrap()),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    // Mail in the week: quarantined, unreadable, for a person.
    for (key, from, subject, reason, disposition, received) in [
        (
            "<q@spam.example>",
            Some("stranger@spam.example"),
            Some("Win big"),
            "unknown sender stranger@spam.example",
            "quarantine",
            "2026-12-03T13:02:00Z",
        ),
        (
            "sha256:00",
            None,
            None,
            "unreadable: not an email message",
            "quarantine",
            "2026-12-03T13:05:00Z",
        ),
        (
            "<k@acme.example>",
            Some("anna@acme.example"),
            Some("Kickoff?"),
            "from Anna Berg (client 'acme'); not a message tandem answers, so it is for a person",
            "attention",
            "2026-12-02T08:12:00Z",
        ),
        (
            "<old@spam.example>",
            Some("old@spam.example"),
            Some("Last week"),
            "unknown sender old@spam.example",
            "quarantine",
            "2026-11-25T08:00:00Z",
        ),
    ] {
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| sqlx::query(
            "INSERT INTO inbound_message (dedupe_key, from_addr, subject, source, classification, reason, \
             disposition, size_bytes, received_at) VALUES ($1, $2, $3, 'seed', 'unrecognised', $4, $5, 10, $6)",
        )
        .bind(key)
        .bind(from)
        .bind(subject)
        .bind(reason)
        .bind(disposition)
        .bind(at(received))
        .execute(c)
        .await.map(|r| r.rows_affected()))
        .unwrap();
    }
    sql(
        t,
        "UPDATE outbox SET state = 'failed', last_error = 'permanent failure: 550 no such user', \
         sent_at = NULL WHERE id = 1",
    )
    .await;
    sql(t, "UPDATE outbox SET state = 'sent' WHERE id <> 1").await;
    let mut conn = t.app.pool.acquire().await.unwrap();
    for component in ["inbound", "outbound", "scheduler"] {
        tandem::store::health::record_ok(&mut conn, component, at("2026-12-07T06:59:00Z"))
            .await
            .unwrap();
    }
    tandem::store::health::record_error(
        &mut conn,
        "outbound",
        "temporary failure: connection refused",
        at("2026-12-05T10:00:00Z"),
    )
    .await
    .unwrap();
    t.clock.set(now());
}

/// The digest of `week` in `locale`, rendered now, its chart by `cid:`.
async fn week_in(t: &TestApp, week: Week, locale: Locale) -> digest::Digest {
    let mut conn = t.app.pool.acquire().await.unwrap();
    digest::render(
        &mut conn,
        &t.app.config,
        &t.app.templates,
        week,
        locale,
        now(),
        ChartSrc::Cid,
    )
    .await
    .unwrap()
}

/// Acceptance 1: every figure of the seeded week, checked against what was seeded.
#[tokio::test]
async fn the_figures_are_the_data() {
    let t = spawn_app().await;
    seed(&t).await;
    let mut conn = t.app.pool.acquire().await.unwrap();
    let week = Week::parse(WEEK).unwrap();
    assert_eq!(digest::week_reported(now(), &t.app.config), week);
    let f = tandem::digest::figures::read(&mut conn, &t.app.config, week, now())
        .await
        .unwrap();
    let e1 = f.engagement(1).unwrap();
    assert_eq!(
        (e1.this_week, e1.last_week, e1.month_to_date),
        (750, 600, 630)
    );
    assert_eq!(e1.weekly, [180, 180, 180, 180, 180, 180, 600, 750]);
    assert_eq!(
        e1.scores
            .iter()
            .map(|s| (s.key.as_str(), s.value, s.previous))
            .collect::<Vec<_>>(),
        [("satisfaction", 2, Some(4)), ("communication", 4, Some(3))]
    );
    assert_eq!(e1.scores_period.as_deref(), Some("2026-W48"));
    // Created on 1 October: unsigned when the first reminder was due (8 October), so overdue
    // rather than merely pending.
    assert!(e1.pending_agreements.is_empty());
    assert_eq!(e1.overdue_agreements, ["dpa"]);
    assert_eq!((e1.unanswered_surveys, e1.trial_ends), (0, None));
    let e2 = f.engagement(2).unwrap();
    assert_eq!(
        (e2.this_week, e2.last_week, e2.month_to_date),
        (300, 0, 300)
    );
    // Created on 30 November: the first reminder is due on 7 December at 10:00, after this
    // digest, so pending, not overdue (though the engagement started on 1 December).
    assert_eq!(e2.pending_agreements.len(), 5);
    assert!(e2.overdue_agreements.is_empty());
    assert_eq!(e2.unanswered_surveys, 1);
    assert_eq!(e2.trial_ends, Some(day("2026-12-14")));
    let e3 = f.engagement(3).unwrap();
    assert_eq!((e3.this_week, e3.month_to_date), (0, 0));
    assert!(e3.pending_agreements.is_empty());

    let low: Vec<(i64, &str, i64)> = f
        .low_scores
        .iter()
        .map(|l| (l.engagement_id, l.key.as_str(), l.value))
        .collect();
    assert_eq!(low, [(1, "satisfaction", 2)]);
    assert_eq!(f.quarantined.len(), 1, "last week's is not this week's");
    assert_eq!(
        f.quarantined[0].from_addr.as_deref(),
        Some("stranger@spam.example")
    );
    assert_eq!(f.unparseable.len(), 1);
    assert_eq!(f.for_a_person.len(), 1);
    assert_eq!(f.failed_sends.len(), 1);
    assert_eq!(f.failed_sends[0].0, 1);
    // Engagement 1 logged 12:30 h with its DPA unsigned; engagement 2 logged 5:00 h with it
    // pending too.
    assert_eq!(f.hours_without_dpa, [(1, 750), (2, 300)]);
    let risk: Vec<(&str, &str, i64)> = f
        .dependence
        .iter()
        .map(|d| {
            (
                d.assistant_name.as_str(),
                d.client_name.as_str(),
                d.share_per_mille,
            )
        })
        .collect();
    // Sam: all with Acme. Lena: 20 h of 25 h with Globex, 80 %: not over five sixths.
    assert_eq!(risk, [("Sam Lee", "Acme GmbH", 1000)]);
    assert_eq!(f.no_hours, [3]);
    let health: Vec<(&str, i64)> = f
        .health
        .iter()
        .map(|h| (h.component.as_str(), h.errors_since_last_digest))
        .collect();
    assert_eq!(health, [("inbound", 0), ("outbound", 1), ("scheduler", 0)]);
    assert!(f.needs_attention());
}

/// An agreement sent back (received, for the operator to confirm) is listed to confirm, not
/// as waiting for a signature or overdue; a DPA received but not confirmed still counts as
/// unsigned beside the hours logged.
#[tokio::test]
async fn a_received_agreement_is_to_confirm_not_overdue() {
    let t = spawn_app().await;
    seed(&t).await;
    t.execute(
        "UPDATE agreement SET status = 'received' \
         WHERE (engagement_id = 1 AND kind = 'dpa') OR (engagement_id = 2 AND kind = 'nda')",
    )
    .await;
    let week = Week::parse(WEEK).unwrap();
    let mut conn = t.app.pool.acquire().await.unwrap();
    let f = tandem::digest::figures::read(&mut conn, &t.app.config, week, now())
        .await
        .unwrap();
    let e1 = f.engagement(1).unwrap();
    assert!(e1.overdue_agreements.is_empty() && e1.pending_agreements.is_empty());
    assert_eq!(e1.received_agreements, ["dpa"]);
    let e2 = f.engagement(2).unwrap();
    assert_eq!(e2.pending_agreements.len(), 4);
    assert!(!e2.pending_agreements.contains(&"nda".to_string()));
    assert_eq!(e2.received_agreements, ["nda"]);
    assert_eq!(f.hours_without_dpa, [(1, 750), (2, 300)]);
    drop(conn);
    let d = week_in(&t, week, Locale::En).await;
    let text = &d.rendered.text;
    assert!(
        text.contains("  To confirm:          Data processing agreement (Art. 28 GDPR)\n"),
        "{text}"
    );
    assert!(!text.contains("OVERDUE"), "{text}");
}

/// Acceptance 1: the digest in both languages, text and HTML, against golden files; the
/// numbers of the figures appear in it.
#[tokio::test]
async fn the_digest_renders_in_both_languages() {
    let t = spawn_app().await;
    seed(&t).await;
    let week = Week::parse(WEEK).unwrap();
    for locale in [Locale::De, Locale::En] {
        let d = week_in(&t, week, locale).await;
        let text = &d.rendered.text;
        for figure in [
            "12:30 h",
            "10:00 h",
            "10:30 h",
            "20:00 h",
            "5:00 h",
            "stranger@spam.example",
            "550 no such user",
            "Kickoff?",
        ] {
            assert!(
                text.contains(figure),
                "{locale}: {figure} missing from\n{text}"
            );
        }
        assert!(text.contains("100 %"), "Sam's share of hours with Acme");
        assert!(d.rendered.html.contains("cid:chart@tandem"));
        assert!(d.png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_golden(&format!("digest.{locale}.subject"), &d.rendered.subject);
        assert_golden(&format!("digest.{locale}.txt"), text);
        assert_golden(&format!("digest.{locale}.html"), &d.rendered.html);
    }
}

/// Anyone can write to the inbox: 60 strangers' mails in the week are listed 50, and the
/// rest counted with the command that lists them all, in both parts.
#[tokio::test]
async fn the_digest_lists_fifty_filed_mails_of_a_kind_and_counts_the_rest() {
    let t = spawn_app().await;
    seed(&t).await;
    for n in 0..60 {
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| sqlx::query(
            "INSERT INTO inbound_message (dedupe_key, from_addr, subject, source, \
             classification, reason, disposition, size_bytes, received_at) \
             VALUES ($1, $2, 'Win', 'seed', 'unrecognised', 'unknown sender', 'quarantine', 10, $3)",
        )
        .bind(format!("<flood{n}@spam.example>"))
        .bind(format!("flood{n}@spam.example"))
        .bind(at("2026-12-04T10:00:00Z"))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    let d = week_in(&t, Week::parse(WEEK).unwrap(), Locale::En).await;
    // The seed's one stranger and 49 of the 60; 11 counted.
    let text = &d.rendered.text;
    assert_eq!(text.matches(", from flood").count(), 49, "{text}");
    assert!(text.contains(", from stranger@spam.example"), "{text}");
    assert!(
        text.contains("… and 11 more: tandem quarantine list"),
        "{text}"
    );
    assert!(
        d.rendered.html.contains("… and 11 more:"),
        "{}",
        d.rendered.html
    );
}

/// The mail: to the operator, HTML and text, the chart inline (`cid:`), auto-generated; and
/// `digest --preview` and `--send` from the command line.
#[tokio::test]
async fn the_digest_mail_and_the_commands() {
    let t = spawn_app().await;
    seed(&t).await;
    let week = Week::parse(WEEK).unwrap();
    assert!(t.app.send_digest(week, "digest:test").await.unwrap());
    assert!(
        !t.app.send_digest(week, "digest:test").await.unwrap(),
        "once per key"
    );
    let raw: Vec<u8> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id WHERE o.kind = 'digest'")
            .fetch_one(c)
            .await
    })
    .unwrap();
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("operator@example.org")
    );
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    assert_eq!((m.text_body_count(), m.html_body_count()), (1, 1));
    let image = m
        .attachments()
        .find(|a| a.content_type().is_some_and(|c| c.subtype() == Some("png")))
        .expect("the chart travels in the mail");
    assert_eq!(image.content_id(), Some("chart@tandem"));
    assert!(image.contents().starts_with(b"\x89PNG"));
    assert!(m.body_html(0).unwrap().contains("cid:chart@tandem"));

    let preview = t.tandem(&["digest", "--preview", "--week", WEEK]);
    assert!(preview.status.success(), "{}", describe(&preview));
    let text = String::from_utf8_lossy(&preview.stdout);
    assert!(text.contains("12:30 h") && text.contains("KW 49"), "{text}");
    let html = t.tandem(&["digest", "--preview", "--format", "html", "--week", WEEK]);
    assert!(String::from_utf8_lossy(&html.stdout).contains("data:image/png;base64,"));
    let bad = t.tandem(&["digest", "--preview", "--week", "49"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-Www"));
    let rows_before = t.count("outbox").await;
    let sent = t.tandem(&["digest", "--send", "--week", WEEK]);
    assert!(sent.status.success(), "{}", describe(&sent));
    assert_eq!(t.count("outbox").await, rows_before + 1);
}
