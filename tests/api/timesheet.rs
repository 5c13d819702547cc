//! The monthly timesheet (issue 18, part TS), through the daemon's tasks on a moved clock: it
//! goes out on the first working day (after a holiday when the 1st is one) to the billing
//! contact with its CSV, once across restarts and two daemons; an approval by each of the three
//! reply paths is recorded (and locks the month); a dispute alerts the operator with the
//! client's words; silence gets one reminder, then the digest lists the month; late hours for
//! an approved month are refused in the receipt; and the operator's commands.

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders as _};

use crate::helpers::{TestApp, cli_hours_day, describe, spawn_app, spawn_app_with};
use crate::replies::{PATHS, Path, reply, sent_mail};

fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().unwrap()
}

/// A time log from Sam, sent at `date` (RFC 2822).
fn hours(n: u32, date: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Sam Lee <sam@va.example>\r\nTo: Example Agency <team@example.org>\r\n\
         Subject: Stunden\r\nMessage-ID: <ts-hours{n}@va.example>\r\nDate: {date}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Sam for Acme from 23 Nov 2026 (45 an hour), Ben Roth the billing contact, and four hours
/// logged in November.
async fn with_november(t: &TestApp) {
    t.add_people().await;
    t.execute("UPDATE contact SET role = 'billing' WHERE email = 'ben@acme.example'")
        .await;
    t.start_engagement_for_hours().await;
    t.deliver(
        "h1.eml",
        &hours(
            1,
            "Thu, 26 Nov 2026 09:30:00 +0100",
            "24.11.2026 1:30 Kalenderpflege\r\n23.11.2026 2.5h Rechnungen, Mahnungen",
        ),
    );
    t.app.reader().drain().await.unwrap();
    assert_eq!(t.count("time_entry").await, 2);
    t.app.outbox().drain().await.unwrap();
}

/// The timesheet mails queued, as `natural_key recipient`.
async fn timesheets_queued(t: &TestApp) -> Vec<String> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT natural_key || ' ' || recipient FROM outbox \
             WHERE kind LIKE 'timesheet%' ORDER BY id",
        )
        .fetch_all(c)
        .await
    })
    .unwrap()
}

/// One scheduler step at `now` (and the outbox drained).
async fn step_at(t: &TestApp, now: &str) -> Vec<String> {
    t.clock.set(at(now));
    let step = t.app.scheduler().step().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    step.queued
}

async fn status(t: &TestApp) -> (String, Option<i64>, Option<i64>, Option<String>) {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as(
            "SELECT status, approved_minutes, approved_cents, answered_by FROM timesheet \
             WHERE engagement_id = 1 AND month = '2026-11'",
        )
        .fetch_one(c)
        .await
    })
    .unwrap()
}

/// Acceptance: on the first working day (Tuesday 1 Dec 2026, 10:00 in Berlin), once, whether
/// the daemon restarts or two run at once; to the billing contact, in German, with every
/// entry in date order, the total in h:mm, the amount and the CSV.
#[tokio::test]
async fn goes_out_on_the_first_working_day_once_with_its_csv() {
    let t = spawn_app().await;
    with_november(&t).await;
    assert!(
        step_at(&t, "2026-11-30T12:00:00Z")
            .await
            .iter()
            .all(|k| !k.starts_with("timesheet"))
    );
    assert!(
        step_at(&t, "2026-12-01T08:59:00Z")
            .await
            .iter()
            .all(|k| !k.starts_with("timesheet"))
    );
    // 10:00 in Berlin: a restarted daemon and a second one beside it.
    t.clock.set(at("2026-12-01T09:00:00Z"));
    let (one, two) = (t.restart().await, t.restart().await);
    let (s1, s2) = (one.scheduler(), two.scheduler());
    let (a, b) = tokio::join!(s1.step(), s2.step());
    let queued: Vec<String> = a
        .unwrap()
        .queued
        .into_iter()
        .chain(b.unwrap().queued)
        .collect();
    assert!(
        queued.contains(&"timesheet:1:2026-11".to_string()),
        "{queued:?}"
    );
    one.outbox().drain().await.unwrap();
    for now in ["2026-12-01T09:05:00Z", "2026-12-02T09:00:00Z"] {
        t.clock.set(at(now));
        let again = t.restart().await.scheduler().step().await.unwrap().queued;
        assert!(
            again.iter().all(|k| !k.starts_with("timesheet")),
            "{again:?}"
        );
    }
    assert_eq!(
        timesheets_queued(&t).await,
        ["timesheet:1:2026-11 ben@acme.example"]
    );

    let (raw,): (Vec<u8>,) = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as(
            "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = 'timesheet'",
        )
        .fetch_one(c)
        .await
    })
    .unwrap();
    let m = MessageParser::default().parse(&raw).unwrap();
    let subject = m.subject().unwrap();
    assert!(
        subject.starts_with("Stundennachweis November 2026"),
        "{subject}"
    );
    assert!(subject.contains("[#"), "it expects an answer: {subject}");
    let text = m.body_text(0).unwrap();
    let (first, second) = (
        text.find("Mo. 23.11.").expect("the 23rd"),
        text.find("Di. 24.11.").expect("the 24th"),
    );
    assert!(first < second, "entries in date order:\n{text}");
    assert!(text.contains("2:30 Std.  Rechnungen, Mahnungen"), "{text}");
    assert!(text.contains("Summe:   4:00 Std."), "{text}");
    assert!(text.contains("Betrag:  180,00 €"), "{text}");
    assert_eq!(m.attachment_count(), 1);
    let csv = m.attachment(0).unwrap();
    assert_eq!(csv.attachment_name(), Some("timesheet-acme-2026-11.csv"));
    assert_eq!(
        String::from_utf8_lossy(csv.contents()),
        "date,hours,minutes,description,amount\n\
         2026-11-23,2:30,150,\"Rechnungen, Mahnungen\",112.50\n\
         2026-11-24,1:30,90,Kalenderpflege,67.50\n\
         total,4:00,240,,180.00\n"
    );
}

/// Acceptance: New Year's Day is a Friday, so December's timesheet goes out on Monday
/// 4 January 2027 with `[schedule] holidays`; the preview says so beforehand.
#[tokio::test]
async fn after_a_holiday_when_the_first_is_one() {
    let t =
        spawn_app_with(|_, text| text.replace("# holidays = \"DE-BY\"", "holidays = \"DE-BY\""))
            .await;
    t.add_people().await;
    t.start_engagement().await;
    t.clock.set(at("2026-12-04T12:00:00Z"));
    t.deliver(
        "h1.eml",
        &hours(1, "Fri, 04 Dec 2026 12:00:00 +0100", "03.12.2026 2h Ablage"),
    );
    t.app.reader().drain().await.unwrap();
    let mut conn = t.app.pool.acquire().await.unwrap();
    let preview = tandem::tasks::scheduler::preview(
        &mut conn,
        &t.app.config,
        Some(1),
        t.clock_now(),
        at("2027-01-31T00:00:00Z"),
    )
    .await
    .unwrap();
    drop(conn);
    let sheet = preview
        .iter()
        .find(|p| p.kind == "timesheet")
        .expect("the preview shows the timesheet");
    assert_eq!(sheet.key, "timesheet:1:2026-12");
    assert_eq!(sheet.local, "2027-01-04 10:00");
    assert_eq!(sheet.recipient, "Anna Berg <anna@acme.example>");
    assert!(
        preview.iter().any(|p| p.kind == "timesheet_reminder"),
        "and its reminder, if unanswered"
    );
    assert!(
        step_at(&t, "2027-01-01T09:00:00Z")
            .await
            .iter()
            .all(|k| !k.starts_with("timesheet"))
    );
    assert_eq!(
        step_at(&t, "2027-01-04T09:00:00Z")
            .await
            .into_iter()
            .filter(|k| k.starts_with("timesheet"))
            .collect::<Vec<_>>(),
        ["timesheet:1:2026-12"]
    );
}

/// Acceptance: "passt" by each reply path records the approval (who, the totals); with
/// `lock_on_approval` the month is locked for the engagement; hours logged later for it are
/// refused in the receipt with the reason.
#[tokio::test]
async fn an_approval_by_each_reply_path_closes_the_month() {
    for path in PATHS {
        let t = spawn_app_with(|_, text| {
            text.replace("lock_on_approval = false", "lock_on_approval = true")
        })
        .await;
        with_november(&t).await;
        step_at(&t, "2026-12-01T09:00:00Z").await;
        let sent = sent_mail(&t, "timesheet").await;
        t.clock.set(at("2026-12-02T10:00:00Z"));
        t.deliver(
            "r.eml",
            &reply(
                "Ben Roth <ben@acme.example>",
                &sent,
                path,
                "ok1@acme.example",
                "Hallo zusammen,\r\n\r\npasst so, danke!\r\n\r\nViele Grüße\r\nBen",
            ),
        );
        t.app.reader().drain().await.unwrap();
        assert_eq!(
            status(&t).await,
            (
                "approved".to_string(),
                Some(240),
                Some(18000),
                Some("ben@acme.example".to_string())
            ),
            "{path:?}"
        );
        assert_eq!(
            thanks(&t).await,
            ["ben@acme.example Stundennachweis November 2026 freigegeben, vielen Dank"],
            "{path:?}"
        );
        let locked: bool = t
            .scalar("SELECT COUNT(*) FROM timesheet WHERE locked")
            .await
            == 1;
        assert!(locked, "{path:?}");
        // No reminder for an approved month.
        let later = step_at(&t, "2026-12-08T09:00:00Z").await;
        assert!(
            later.iter().all(|k| !k.starts_with("timesheet")),
            "{later:?}"
        );

        // Late hours for November are refused; December's are logged.
        t.deliver(
            "late.eml",
            &hours(
                2,
                "Tue, 08 Dec 2026 10:00:00 +0100",
                "30.11.2026 1h Nachtrag\r\n07.12.2026 1h Ablage",
            ),
        );
        t.app.reader().drain().await.unwrap();
        assert_eq!(t.count("time_entry").await, 3, "{path:?}");
        let receipt = sent_mail(&t, "receipt").await;
        assert!(
            receipt
                .text
                .contains("Acme GmbH approved the timesheet of November 2026"),
            "{}",
            receipt.text
        );
        // Locked: an entry of November cannot be voided.
        let mut conn = t.app.pool.acquire().await.unwrap();
        let refused = tandem::store::timelog::void_entry(&mut conn, 1, t.clock_now()).await;
        assert!(
            refused.unwrap_err().to_string().contains("which locked it"),
            "{path:?}"
        );
    }
}

/// Acceptance: anything but an approval marks the month disputed and alerts the operator at
/// once with the client's words (a reply to the reminder, by its subject's token); nothing
/// else changes. Unanswered and disputed months are in the digest.
#[tokio::test]
async fn silence_gets_one_reminder_and_a_dispute_reaches_the_operator() {
    let t = spawn_app().await;
    with_november(&t).await;
    step_at(&t, "2026-12-01T09:00:00Z").await;
    // Five days later is a Sunday: the reminder goes on Monday, at the window's opening.
    assert!(
        step_at(&t, "2026-12-06T12:00:00Z")
            .await
            .iter()
            .all(|k| !k.starts_with("timesheet"))
    );
    let queued = step_at(&t, "2026-12-07T07:00:00Z").await;
    assert!(
        queued.contains(&"timesheet_reminder:1:2026-11".to_string()),
        "{queued:?}"
    );
    assert!(
        step_at(&t, "2026-12-10T07:00:00Z")
            .await
            .iter()
            .all(|k| !k.starts_with("timesheet"))
    );
    assert_eq!(timesheets_queued(&t).await.len(), 2, "one reminder only");

    // Unanswered after the reminder: in the digest.
    let digest = |t: &TestApp| {
        let (app, now) = (t.app.clone(), t.clock_now());
        async move {
            let mut conn = app.pool.acquire().await.unwrap();
            let week = tandem::digest::week_reported(now, &app.config);
            tandem::digest::mail(&mut conn, &app.composer(), &app.config, week, now)
                .await
                .unwrap()
                .text
        }
    };
    let text = digest(&t).await;
    assert!(
        text.contains("Nicht freigegebene Stundennachweise"),
        "{text}"
    );
    assert!(
        text.contains("November 2026 (versandt 1. Dezember 2026): unbeantwortet"),
        "{text}"
    );

    let reminder = sent_mail(&t, "timesheet_reminder").await;
    assert!(reminder.subject.starts_with("Erinnerung: Stundennachweis"));
    t.deliver(
        "r.eml",
        &reply(
            "Ben Roth <ben@acme.example>",
            &reminder,
            Path::Subject,
            "no1@acme.example",
            "Der 12.11. stimmt nicht, da war Sam krank.",
        ),
    );
    t.app.reader().drain().await.unwrap();
    let (state, approved, _, by) = status(&t).await;
    assert_eq!((state.as_str(), approved), ("disputed", None));
    assert_eq!(by.as_deref(), Some("ben@acme.example"));
    assert_eq!(t.count("time_entry").await, 2, "nothing else changes");
    assert_eq!(
        thanks(&t).await,
        ["ben@acme.example Ihre Rückmeldung zum Stundennachweis November 2026"]
    );
    let alert = sent_mail_any(&t, "timesheet_dispute").await;
    assert!(
        alert.contains("Der 12.11. stimmt nicht, da war Sam krank."),
        "{alert}"
    );
    assert!(alert.contains("tandem timesheet show 1 2026-11"), "{alert}");
    let text = digest(&t).await;
    assert!(
        text.contains("beanstandet: „Der 12.11. stimmt nicht, da war Sam krank.“"),
        "{text}"
    );

    // The billing contact's data: their timesheet in an export, their address gone after an
    // erase.
    let out_dir = t.dir.path().join("export");
    let out = t.tandem(&[
        "privacy",
        "export",
        "ben@acme.example",
        "--to",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let data = std::fs::read_to_string(out_dir.join("data.json")).unwrap();
    assert!(data.contains("\"timesheet\""), "{data}");
    let out = t.tandem(&["privacy", "erase", "ben@acme.example", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    let named = t
        .scalar(
            "SELECT COUNT(*) FROM timesheet WHERE recipient LIKE '%ben@%' \
             OR answered_by LIKE '%ben@%'",
        )
        .await;
    assert_eq!(named, 0);
}

/// The answers to the client's replies, as `recipient subject`.
async fn thanks(t: &TestApp) -> Vec<String> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT recipient || ' ' || subject FROM outbox \
             WHERE kind = 'timesheet_thanks' ORDER BY id",
        )
        .fetch_all(c)
        .await
    })
    .unwrap()
}

/// The text of the newest mail of `kind` (one that expects no answer).
async fn sent_mail_any(t: &TestApp, kind: &str) -> String {
    let (raw, recipient): (Vec<u8>, String) =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
                "SELECT r.raw, o.recipient FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
                 WHERE o.kind = $1 ORDER BY o.id DESC LIMIT 1",
            )
            .bind(kind)
            .fetch_one(c)
            .await
        })
        .unwrap_or_else(|e| panic!("no {kind} mail was queued: {e}"));
    assert_eq!(recipient, "operator@example.org");
    let m = MessageParser::default().parse(&raw).unwrap();
    m.body_text(0).unwrap().replace("\r\n", "\n")
}

/// The operator's commands, on the wall clock: refusals of bad input, show, send, list,
/// approve, and the preview's timesheet line.
#[tokio::test]
async fn the_operator_lists_shows_sends_and_approves() {
    let t = spawn_app().await;
    t.add_engagement_by_cli();
    // Hours of last month, read in this process on the wall clock's day.
    t.clock.set(Utc::now());
    for i in 0..2 {
        let (day, sent) = cli_hours_day(i);
        t.deliver(
            &format!("h{i}.eml"),
            format!(
                "From: Sam Lee <sam@va.example>\r\nTo: team@example.org\r\nSubject: hours\r\n\
                 Message-ID: <cli-ts{i}@va.example>\r\nDate: {sent}\r\n\r\n{day} 1h filing {i}\r\n"
            )
            .as_bytes(),
        );
    }
    t.app.reader().drain().await.unwrap();
    assert_eq!(t.count("time_entry").await, 2);
    let month = crate::helpers::cli_start().format("%Y-%m").to_string();
    let this_month = Utc::now().format("%Y-%m").to_string();

    let out = t.tandem(&["schedule", "preview", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "timesheet")
        .unwrap_or_else(|| panic!("no timesheet in the preview: {rows}"));
    assert_eq!(row["key"], format!("timesheet:1:{month}"));
    assert_eq!(row["recipient"], "Anna Berg <anna@acme.example>");
    let out = t.tandem(&["schedule", "preview"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("timesheet"));

    for (args, says) in [
        (vec!["send", "1", "2026-13"], "is not a month"),
        (vec!["send", "99", &month], "there is no engagement 99"),
        (vec!["send", "1", &this_month], "has not ended yet"),
        (vec!["approve", "1", "1999-01"], "after 1999-01"),
    ] {
        let out = t.tandem(&[&["timesheet"][..], &args].concat());
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(t.count("timesheet").await, 0, "a refusal changes nothing");

    let out = t.tandem(&["timesheet", "show", "1", &month]);
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("status:   unsent"), "{text}");
    assert!(text.contains("filing 1"), "{text}");
    assert!(text.contains("total:    2:00 h"), "{text}");

    let out = t.tandem(&["timesheet", "send", "1", &month]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued"));
    let out = t.tandem(&["timesheet", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["status"], "sent");
    assert_eq!(list[0]["minutes"], 120);
    assert_eq!(list[0]["recipient"], "anna@acme.example");

    let out = t.tandem(&["timesheet", "approve", "1", &month]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = t.tandem(&["timesheet", "show", "1", &month, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["status"], "approved");
    assert_eq!(shown["timesheet"]["answered_by"], "operator");
    assert_eq!(shown["timesheet"]["approved_minutes"], 120);
    let out = t.tandem(&["timesheet", "send", "1", &month]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("was approved on"));
    let out = t.tandem(&["timesheet", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("approved"));
}

/// A month without hours gets no timesheet, and `enabled = false` sends none at all.
#[tokio::test]
async fn no_hours_no_timesheet_and_it_can_be_turned_off() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    let queued = step_at(&t, "2026-12-01T09:00:00Z").await;
    assert!(
        queued.iter().all(|k| !k.starts_with("timesheet")),
        "{queued:?}"
    );
    assert_eq!(t.count("timesheet").await, 0);

    let t = spawn_app_with(|_, text| text.replace("enabled = true", "enabled = false")).await;
    assert!(!t.app.config.schedule.timesheet.enabled);
    with_november(&t).await;
    let queued = step_at(&t, "2026-12-01T09:00:00Z").await;
    assert!(
        queued.iter().all(|k| !k.starts_with("timesheet")),
        "{queued:?}"
    );
}

/// `[timesheet]` is validated at load, naming the key.
#[test]
fn bad_settings_are_refused_with_their_key() {
    let shipped = crate::helpers::shipped_config();
    for (from, to, key) in [
        (
            "working_day = 1",
            "working_day = 0",
            "timesheet.working_day",
        ),
        (
            "working_day = 1",
            "working_day = 16",
            "timesheet.working_day",
        ),
        (
            "reminder_days = 5",
            "reminder_days = 40",
            "timesheet.reminder_days",
        ),
        ("\nat = \"10:00\"", "\nat = \"25:00\"", "timesheet.at"),
        (
            "lock_on_approval = false",
            "lock_on_approval = false\nlock = true",
            "timesheet",
        ),
    ] {
        assert!(shipped.contains(from), "{from}");
        let err = tandem::config::Config::from_toml(&shipped.replacen(from, to, 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{to}: {err}");
    }
}
