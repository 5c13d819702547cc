//! Check-ins to the assistant (issue 18, part CI), through the daemon on a moved clock: weekly
//! in the trial and monthly after, as the preview says; answered by reply, numbered and
//! inline, in part and with the reminder; a blocker and a low score alerting the operator
//! with the assistant's words; the ideas and the latest score in the digest; `survey list`
//! and `schedule preview` showing them.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use mail_parser::MessageParser;

use crate::helpers::{TestApp, describe, spawn_app};
use crate::replies::{Path, SentMail, reply, sent_mail};

pub async fn engagement() -> TestApp {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    t.app.outbox().drain().await.unwrap();
    t
}

pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// One pass of the daemon at `at`.
pub async fn pass_at(t: &TestApp, at: DateTime<Utc>) {
    t.clock.set(at);
    t.app.run_once().await.unwrap();
}

/// The first check-in (Thursday 3 Dec 2026, 10:00 in Lisbon), as Sam got it.
pub async fn first_checkin(t: &TestApp) -> SentMail {
    pass_at(t, utc(2026, 12, 3, 10, 30)).await;
    sent_mail(t, "checkin").await
}

/// The text part of the newest outbox mail of `kind`, with its recipient and subject.
pub async fn newest(t: &TestApp, kind: &str) -> (String, String, String) {
    let raw: Vec<u8> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = $1 ORDER BY o.id DESC LIMIT 1",
        )
        .bind(kind)
        .fetch_one(c)
        .await
    })
    .unwrap_or_else(|e| panic!("no {kind} mail was queued: {e}"));
    let m = MessageParser::default().parse(&raw).unwrap();
    (
        m.to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string(),
        m.subject().unwrap().to_string(),
        m.body_text(0).unwrap().replace("\r\n", "\n"),
    )
}

pub async fn count(t: &TestApp, kind: &str) -> i64 {
    t.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = '{kind}'"
    ))
    .await
}

async fn answers(t: &TestApp) -> Vec<(String, String)> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as(
            "SELECT a.key, a.value FROM survey_answer a JOIN survey s ON s.id = a.survey_id \
             WHERE s.kind = 'checkin' ORDER BY a.number",
        )
        .fetch_all(c)
        .await
    })
    .unwrap()
}

/// Local times (Lisbon) of the outbox rows of `kind`.
async fn sent_local(t: &TestApp, kind: &str) -> Vec<String> {
    let rows: Vec<DateTime<Utc>> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_scalar("SELECT created_at FROM outbox WHERE kind = $1 ORDER BY created_at")
                .bind(kind)
                .fetch_all(c)
                .await
        })
        .unwrap();
    rows.into_iter()
        .map(|at| {
            at.with_timezone(&chrono_tz::Europe::Lisbon)
                .format("%Y-%m-%d %a %H:%M")
                .to_string()
        })
        .collect()
}

/// The check-ins of Sam at Acme (trial 1-28 Dec 2026): Thursdays 10:00 in Lisbon in the
/// trial, the first Thursday of each month after it.
const CHECKINS: [&str; 7] = [
    "2026-12-03 Thu 10:00",
    "2026-12-10 Thu 10:00",
    "2026-12-17 Thu 10:00",
    "2026-12-24 Thu 10:00",
    "2027-01-07 Thu 10:00",
    "2027-02-04 Thu 10:00",
    "2027-03-04 Thu 10:00",
];

/// The preview lists the check-ins (and their reminders) that the daemon then sends, weekly in
/// the trial and monthly after, each once though the daemon restarts at every step.
#[tokio::test]
async fn checkins_go_weekly_in_the_trial_and_monthly_after() {
    let t = engagement().await;
    let until = utc(2027, 3, 31, 23, 0);
    let mut conn = t.app.pool.acquire().await.unwrap();
    let preview =
        tandem::tasks::scheduler::preview(&mut conn, &t.app.config, Some(1), t.clock_now(), until)
            .await
            .unwrap();
    drop(conn);
    let planned: Vec<String> = preview
        .iter()
        .filter(|p| p.kind == "checkin")
        .map(|p| {
            assert_eq!(p.recipient, "Sam Lee <sam@va.example>");
            p.due
                .with_timezone(&chrono_tz::Europe::Lisbon)
                .format("%Y-%m-%d %a %H:%M")
                .to_string()
        })
        .collect();
    assert_eq!(planned, CHECKINS);
    let reminders: Vec<&str> = preview
        .iter()
        .filter(|p| p.kind == "checkin_reminder")
        .map(|p| p.local.as_str())
        .collect();
    assert_eq!(reminders.len(), 7, "{reminders:?}");
    // Three days after a Thursday is a Sunday: the reminder waits for Monday's window.
    assert_eq!(reminders[0], "2026-12-07 08:00");
    assert!(
        preview.iter().any(|p| p.kind == "checkin_reminder"
            && p.condition == Some("if the check-in is unanswered"))
    );

    // The daemon, restarted at every tenth wake-up.
    let mut now = t.clock_now();
    let mut steps = 0;
    let mut app = t.app.clone();
    while now < until {
        if steps % 10 == 9 {
            app = t.restart().await;
        }
        let step = app.scheduler().step().await.unwrap();
        app.outbox().drain().await.unwrap();
        let next_day = (now + Duration::days(1))
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        now = step.next_due.map_or(next_day, |d| d.min(next_day));
        t.clock.set(now);
        steps += 1;
        assert!(steps < 1000);
    }
    assert_eq!(sent_local(&t, "checkin").await, CHECKINS);
    assert_eq!(count(&t, "checkin_reminder").await, 7);
    let (to, subject, text) = newest(&t, "checkin").await;
    assert_eq!(to, "sam@va.example");
    assert!(
        subject.contains("Acme GmbH") && subject.contains("March 2027"),
        "{subject}"
    );
    assert!(
        text.contains("1. How is your work for Acme GmbH going?"),
        "{text}"
    );
    assert!(
        text.contains("4. What would you improve in Acme GmbH's processes?"),
        "{text}"
    );
    // `survey list` shows them, of their own kind.
    let list = t.tandem(&["survey", "list", "--json"]);
    assert!(list.status.success(), "{}", describe(&list));
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let checkins = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "checkin" && s["recipient"] == "sam@va.example")
        .count();
    assert_eq!(checkins, 7);
}

/// Numbered answers with a blocker: stored, Sam is thanked in the thread, and the operator is
/// alerted at once with Sam's words; the digest lists the score and the ideas.
#[tokio::test]
async fn a_numbered_answer_with_a_blocker_alerts_the_operator_and_reaches_the_digest() {
    let t = engagement().await;
    let checkin = first_checkin(&t).await;
    let id = "checkin1@va.example";
    t.deliver(
        "answer.eml",
        &reply(
            "Sam Lee <sam@va.example>",
            &checkin,
            Path::InReplyTo,
            id,
            "Hi,\r\n\r\n1: 4\r\n2: yes\r\n3: I still have no access to the CRM.\r\n\
             4: One shared inbox for invoices would save hours.\r\n\r\nBest\r\nSam",
        ),
    );
    let before = t.sent_files().len();
    pass_at(&t, utc(2026, 12, 3, 12, 0)).await;
    assert_eq!(
        answers(&t).await,
        [
            ("going".to_string(), "4".to_string()),
            ("blocked".to_string(), "true".to_string()),
            (
                "blocker".to_string(),
                "\"I still have no access to the CRM.\"".to_string()
            ),
            (
                "ideas".to_string(),
                "\"One shared inbox for invoices would save hours.\"".to_string()
            ),
        ]
    );
    assert_eq!(t.sent_files().len(), before + 2, "thanks and alert sent");
    let (to, _, thanks) = newest(&t, "checkin_thanks").await;
    assert_eq!(to, "sam@va.example");
    assert!(thanks.contains("get in touch with you soon"), "{thanks}");
    let (to, subject, alert) = newest(&t, "checkin_alert").await;
    assert_eq!(to, "operator@example.org");
    assert!(
        subject.starts_with("Blockade: Sam Lee bei Acme GmbH"),
        "{subject}"
    );
    assert!(
        alert.contains("I still have no access to the CRM."),
        "{alert}"
    );
    assert!(alert.contains("One shared inbox for invoices"), "{alert}");
    assert!(!alert.contains("niedrige Bewertung"), "{alert}");
    let reason: String = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT reason FROM inbound_message WHERE message_id = $1")
            .bind(format!("<{id}>"))
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert!(
        reason.starts_with("check-in 1 answered: 4 of 4"),
        "{reason}"
    );

    // Monday's digest (08:00 in Berlin) has Sam's side beside Acme's scores.
    pass_at(&t, utc(2026, 12, 7, 7, 30)).await;
    let (_, _, digest) = newest(&t, "digest").await;
    assert!(
        digest.contains("Check-in Assistenz:  4 (KW 49), BLOCKIERT: I still have no access"),
        "{digest}"
    );
    assert!(
        digest.contains("Ideen der Assistenz: One shared inbox for invoices would save hours."),
        "{digest}"
    );
}

/// Inline answers under the quoted questions, in part, to the reminder: stored on the
/// check-in, the thanks names what is missing; the rest given later completes it; a 5 and a
/// "no" alert nobody.
#[tokio::test]
async fn inline_partial_answers_to_the_reminder() {
    let t = engagement().await;
    first_checkin(&t).await;
    assert_eq!(count(&t, "checkin_reminder").await, 0);
    // Unanswered by Monday: the one reminder, in the thread.
    pass_at(&t, utc(2026, 12, 7, 8, 30)).await;
    assert_eq!(count(&t, "checkin_reminder").await, 1);
    let reminder = sent_mail(&t, "checkin_reminder").await;
    assert!(
        reminder.subject.starts_with("Friendly reminder:"),
        "{}",
        reminder.subject
    );
    let mut body = String::from("Hi,\r\n\r\n");
    for line in reminder.text.lines() {
        body.push_str(&format!("> {line}\r\n"));
        if line.starts_with("1. ") {
            body.push_str("5\r\n");
        } else if line.starts_with("4. ") {
            body.push_str("Weekly planning call on Mondays.\r\n");
        }
    }
    let raw = reply(
        "Sam Lee <sam@va.example>",
        &reminder,
        Path::Subject,
        "inline@va.example",
        "",
    );
    let head = String::from_utf8(raw).unwrap();
    let head = head.split("\r\n\r\n").next().unwrap().to_string();
    t.deliver("inline.eml", format!("{head}\r\n\r\n{body}").as_bytes());
    pass_at(&t, utc(2026, 12, 7, 9, 0)).await;
    assert_eq!(
        answers(&t).await,
        [
            ("going".to_string(), "5".to_string()),
            (
                "ideas".to_string(),
                "\"Weekly planning call on Mondays.\"".to_string()
            ),
        ]
    );
    let (_, _, thanks) = newest(&t, "checkin_thanks").await;
    assert!(
        thanks.contains("These questions are still without an answer"),
        "{thanks}"
    );
    assert!(thanks.contains("2. Is anything blocking you"), "{thanks}");
    assert!(
        thanks.contains("3. If yes: what is blocking you"),
        "{thanks}"
    );
    assert_eq!(count(&t, "checkin_alert").await, 0);

    // The rest, numbered, by the plus-address alone.
    let checkin = sent_mail(&t, "checkin").await;
    t.deliver(
        "rest.eml",
        &reply(
            "Sam Lee <sam.lee@gmail.example>",
            &checkin,
            Path::PlusAddress,
            "rest@va.example",
            "2: no",
        ),
    );
    pass_at(&t, utc(2026, 12, 7, 9, 30)).await;
    assert_eq!(answers(&t).await.len(), 3);
    assert_eq!(count(&t, "checkin_alert").await, 0);
    assert_eq!(count(&t, "checkin_thanks").await, 2);
    // Answered: no second reminder for it, ever.
    pass_at(&t, utc(2026, 12, 9, 9, 0)).await;
    assert_eq!(count(&t, "checkin_reminder").await, 1);
}

/// A low score (at or under `[surveys] alert_threshold`) alerts the operator, with no
/// blocker.
#[tokio::test]
async fn a_low_score_alerts_the_operator() {
    let t = engagement().await;
    let checkin = first_checkin(&t).await;
    t.deliver(
        "low.eml",
        &reply(
            "Sam Lee <sam@va.example>",
            &checkin,
            Path::Subject,
            "low@va.example",
            "1: 2\r\n2: nein\r\n4: Fewer last-minute changes.",
        ),
    );
    pass_at(&t, utc(2026, 12, 3, 12, 0)).await;
    assert_eq!(count(&t, "checkin_alert").await, 1);
    let (to, subject, alert) = newest(&t, "checkin_alert").await;
    assert_eq!(to, "operator@example.org");
    assert!(
        subject.starts_with("Niedrige Check-in-Bewertung"),
        "{subject}"
    );
    assert!(alert.contains("Wie es läuft: 2 von 5"), "{alert}");
    assert!(alert.contains("Fewer last-minute changes."), "{alert}");
    assert!(!alert.contains("WAS BLOCKIERT"), "{alert}");
    let (_, _, thanks) = newest(&t, "checkin_thanks").await;
    assert!(!thanks.contains("get in touch with you soon"), "{thanks}");
}

/// `tandem schedule preview` (on the wall clock) names the check-ins and the feedback talks.
#[tokio::test]
async fn the_schedule_preview_shows_checkins() {
    let t = engagement().await;
    let until = (Utc::now() + Duration::days(120))
        .format("%Y-%m-%d")
        .to_string();
    let out = t.tandem(&["schedule", "preview", "--until", &until]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(" checkin ") || l.contains("checkin "))
        .unwrap_or_else(|| panic!("no check-in in\n{text}"));
    assert!(line.contains("Sam Lee <sam@va.example>"), "{line}");
    assert!(line.contains("Europe/Lisbon"), "{line}");
    assert!(text.contains("feedback_talk"), "{text}");
}

/// "2: ja, TEXT": the yes and what blocks, on one line, alert with the text.
#[tokio::test]
async fn a_yes_with_its_text_on_one_line_is_the_blocker() {
    let t = engagement().await;
    let checkin = first_checkin(&t).await;
    t.deliver(
        "yes.eml",
        &reply(
            "Sam Lee <sam@va.example>",
            &checkin,
            Path::PlusAddress,
            "yes@va.example",
            "1: 3\r\n2: ja, wer gibt die Reisebuchungen frei?",
        ),
    );
    pass_at(&t, utc(2026, 12, 3, 12, 0)).await;
    assert_eq!(
        answers(&t).await,
        [
            ("going".to_string(), "3".to_string()),
            ("blocked".to_string(), "true".to_string()),
            (
                "blocker".to_string(),
                "\"wer gibt die Reisebuchungen frei?\"".to_string()
            ),
        ]
    );
    let (_, _, alert) = newest(&t, "checkin_alert").await;
    assert!(
        alert.contains("wer gibt die Reisebuchungen frei?"),
        "{alert}"
    );
    let (_, _, thanks) = newest(&t, "checkin_thanks").await;
    let missing = thanks
        .split("still without an answer")
        .nth(1)
        .unwrap_or_else(|| panic!("{thanks}"));
    assert!(missing.contains("4. What would you improve"), "{thanks}");
    assert!(!missing.contains("3. If yes"), "{thanks}");
}
