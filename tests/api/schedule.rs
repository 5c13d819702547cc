//! The schedule over months on the injected clock: what `schedule preview` promises is what
//! the daemon sends, at the expected local times across a DST change, once, whether the daemon
//! restarts at every step, catches up after downtime or runs twice on one database.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use tandem::app::App;

use crate::helpers::{TestApp, spawn_app};

/// 2027-05-31 23:00 UTC: six months after the engagement starts.
fn six_months_later() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 5, 31, 23, 0, 0).unwrap()
}

/// A scheduled mail as it went out: kind, recipient, and the local time in the recipient's zone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Sent {
    local: String,
    kind: String,
    recipient: String,
}

fn zone_of(recipient: &str) -> Tz {
    match recipient {
        "sam@va.example" => chrono_tz::Europe::Lisbon,
        _ => chrono_tz::Europe::Berlin,
    }
}

/// Every scheduled mail of the engagement in the outbox (the welcome mails are not the
/// schedule's; the operator's weekly digest is checked on its own).
async fn scheduled_sends(t: &TestApp) -> Vec<Sent> {
    let rows: Vec<(String, String, DateTime<Utc>)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
        "SELECT kind, recipient, created_at FROM outbox WHERE kind NOT IN ('welcome', 'digest') \
         ORDER BY created_at, id",
    )
    .fetch_all(c)
    .await
        })
        .unwrap();
    let mut sends: Vec<Sent> = rows
        .into_iter()
        .map(|(kind, recipient, at)| Sent {
            local: at
                .with_timezone(&zone_of(&recipient))
                .format("%Y-%m-%d %a %H:%M")
                .to_string(),
            kind,
            recipient,
        })
        .collect();
    sends.sort();
    sends
}

fn sent(local: &str, kind: &str, recipient: &str) -> Sent {
    Sent {
        local: local.into(),
        kind: kind.into(),
        recipient: recipient.into(),
    }
}

/// What the shipped defaults promise for Sam at Acme (added Thu 26 Nov 2026 10:00 UTC, trial
/// 1-28 Dec 2026) until the end of May 2027, when nobody answers, signs or logs hours: weekly
/// surveys on Fridays in the trial and monthly ones on first Mondays after, each with one
/// reminder three days later; the trial review five days before the end and the operator's
/// alert after it; three agreement reminders a week apart to each side, then the operator; an
/// hours nudge every Friday at 15:00 in Lisbon. Every time is local: Berlin and Lisbon move to
/// summer time on 28 March 2027 and the local times do not move.
fn expected() -> Vec<Sent> {
    let anna = "anna@acme.example";
    let sam = "sam@va.example";
    let operator = "operator@example.org";
    let mut all = vec![
        sent("2026-12-03 Thu 11:00", "agreement_reminder", anna),
        sent("2026-12-03 Thu 10:00", "agreement_reminder", sam),
        sent("2026-12-04 Fri 10:00", "survey", anna),
        sent("2026-12-07 Mon 10:00", "survey_reminder", anna),
        sent("2026-12-10 Thu 11:00", "agreement_reminder", anna),
        sent("2026-12-10 Thu 10:00", "agreement_reminder", sam),
        sent("2026-12-11 Fri 10:00", "survey", anna),
        sent("2026-12-14 Mon 10:00", "survey_reminder", anna),
        sent("2026-12-17 Thu 11:00", "agreement_reminder", anna),
        sent("2026-12-17 Thu 10:00", "agreement_reminder", sam),
        sent("2026-12-18 Fri 10:00", "survey", anna),
        sent("2026-12-21 Mon 10:00", "survey_reminder", anna),
        sent("2026-12-23 Wed 10:00", "trial_review", anna),
        sent("2026-12-24 Thu 11:00", "agreement_escalation", operator),
        sent("2026-12-25 Fri 10:00", "survey", anna),
        sent("2026-12-28 Mon 10:00", "survey_reminder", anna),
        sent("2026-12-29 Tue 10:00", "trial_alert", operator),
        sent("2027-01-04 Mon 10:00", "survey", anna),
        sent("2027-01-07 Thu 10:00", "survey_reminder", anna),
        sent("2027-02-01 Mon 10:00", "survey", anna),
        sent("2027-02-04 Thu 10:00", "survey_reminder", anna),
        sent("2027-03-01 Mon 10:00", "survey", anna),
        sent("2027-03-04 Thu 10:00", "survey_reminder", anna),
        sent("2027-04-05 Mon 10:00", "survey", anna),
        sent("2027-04-08 Thu 10:00", "survey_reminder", anna),
        sent("2027-05-03 Mon 10:00", "survey", anna),
        sent("2027-05-06 Thu 10:00", "survey_reminder", anna),
    ];
    // The assistant's check-ins: Thursdays in the trial, first Thursdays after, each with its
    // reminder three days later (a Sunday: Monday's window); the feedback talks at the trial's
    // end and 13 weeks later, to both contacts in one mail and to Sam.
    let both = "anna@acme.example, ben@acme.example";
    all.extend([
        sent("2026-12-03 Thu 10:00", "checkin", sam),
        sent("2026-12-07 Mon 08:00", "checkin_reminder", sam),
        sent("2026-12-10 Thu 10:00", "checkin", sam),
        sent("2026-12-14 Mon 08:00", "checkin_reminder", sam),
        sent("2026-12-17 Thu 10:00", "checkin", sam),
        sent("2026-12-21 Mon 08:00", "checkin_reminder", sam),
        sent("2026-12-24 Thu 10:00", "checkin", sam),
        sent("2026-12-28 Mon 08:00", "checkin_reminder", sam),
        sent("2027-01-07 Thu 10:00", "checkin", sam),
        sent("2027-01-11 Mon 08:00", "checkin_reminder", sam),
        sent("2027-02-04 Thu 10:00", "checkin", sam),
        sent("2027-02-08 Mon 08:00", "checkin_reminder", sam),
        sent("2027-03-04 Thu 10:00", "checkin", sam),
        sent("2027-03-08 Mon 08:00", "checkin_reminder", sam),
        sent("2027-04-01 Thu 10:00", "checkin", sam),
        sent("2027-04-05 Mon 08:00", "checkin_reminder", sam),
        sent("2027-05-06 Thu 10:00", "checkin", sam),
        sent("2027-05-10 Mon 08:00", "checkin_reminder", sam),
        sent("2026-12-28 Mon 10:00", "feedback_talk", both),
        sent("2026-12-28 Mon 10:00", "feedback_talk", sam),
        sent("2027-03-29 Mon 10:00", "feedback_talk", both),
        sent("2027-03-29 Mon 10:00", "feedback_talk", sam),
    ]);
    // Every Friday from 4 Dec 2026 to 28 May 2027 at 15:00 in Lisbon.
    let mut friday = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    while friday <= NaiveDate::from_ymd_opt(2027, 5, 28).unwrap() {
        all.push(sent(
            &format!("{} 15:00", friday.format("%Y-%m-%d %a")),
            "hours_nudge",
            sam,
        ));
        friday += Duration::days(7);
    }
    all.sort();
    all
}

/// The next midnight (UTC) after `now`: the clock moves at least day by day.
fn next_day(now: DateTime<Utc>) -> DateTime<Utc> {
    (now.date_naive() + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

/// Drives the scheduler and the outbox worker the way the daemon's loop does, from the
/// clock's time to `until`: it wakes when the scheduler says it is next due, and at least once
/// a day. With `restart`, every wake-up is a freshly started daemon on the same database;
/// with `twice`, two daemons on the database take every step at the same time.
async fn run_schedule(t: &TestApp, until: DateTime<Utc>, restart: bool, twice: bool) {
    let mut steps = 0;
    // The second daemon on the same database, running beside the first.
    let other = t.restart().await;
    loop {
        let app: Arc<App> = if restart {
            t.restart().await
        } else {
            t.app.clone()
        };
        let step = if twice {
            let (one, two) = (app.scheduler(), other.scheduler());
            let (a, b) = tokio::join!(one.step(), two.step());
            let (a, b) = (a.unwrap(), b.unwrap());
            let (one, two) = (app.outbox(), other.outbox());
            let (x, y) = tokio::join!(one.drain(), two.drain());
            x.unwrap();
            y.unwrap();
            assert_eq!(a.next_due, b.next_due);
            a
        } else {
            let step = app.scheduler().step().await.unwrap();
            app.outbox().drain().await.unwrap();
            // The same step again changes nothing.
            assert!(app.scheduler().step().await.unwrap().queued.is_empty());
            step
        };
        let now = t.clock_now();
        let wake = step
            .next_due
            .map_or(next_day(now), |due| due.min(next_day(now)));
        assert!(wake > now, "the scheduler must not ask to wake in the past");
        if wake > until {
            return;
        }
        t.clock.set(wake);
        steps += 1;
        assert!(steps < 2000, "the scheduler never settled");
    }
}

async fn engagement() -> TestApp {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    t.app.outbox().drain().await.unwrap();
    t
}

/// Acceptance 1: the preview of a new engagement over six months lists what the defaults
/// promise, and the daemon run over the same months sends exactly that, each at the time the
/// preview gave.
#[tokio::test]
async fn the_preview_is_what_the_daemon_sends() {
    let t = engagement().await;
    let mut conn = t.app.pool.acquire().await.unwrap();
    let preview = tandem::tasks::scheduler::preview(
        &mut conn,
        &t.app.config,
        Some(1),
        t.clock_now(),
        six_months_later(),
    )
    .await
    .unwrap();
    drop(conn);
    let mut promised: Vec<Sent> = preview
        .iter()
        .map(|p| Sent {
            local: p
                .due
                .with_timezone(&zone_of(
                    p.recipient
                        .rsplit('<')
                        .next()
                        .unwrap()
                        .trim_end_matches('>'),
                ))
                .format("%Y-%m-%d %a %H:%M")
                .to_string(),
            kind: p.kind.to_string(),
            recipient: p
                .recipient
                .split(", ")
                .map(|r| r.rsplit('<').next().unwrap().trim_end_matches('>'))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    promised.sort();
    assert_eq!(promised, expected(), "the preview");
    // Every line says when in the recipient's own zone.
    let review = preview.iter().find(|p| p.kind == "trial_review").unwrap();
    assert_eq!(
        (review.local.as_str(), review.timezone.as_str()),
        ("2026-12-23 10:00", "Europe/Berlin")
    );

    run_schedule(&t, six_months_later(), false, false).await;
    assert_eq!(
        scheduled_sends(&t).await,
        expected(),
        "what the daemon sent"
    );
    // Each at the instant the preview gave.
    let keys: Vec<(String, DateTime<Utc>)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
        "SELECT natural_key, created_at FROM outbox WHERE kind NOT IN ('welcome', 'digest') \
         ORDER BY natural_key",
    )
    .fetch_all(c)
    .await
        })
        .unwrap();
    let mut previewed: Vec<(String, DateTime<Utc>)> =
        preview.iter().map(|p| (p.key.clone(), p.due)).collect();
    previewed.sort();
    assert_eq!(keys, previewed);
    // And all of it was delivered, once.
    let rows = t.count("outbox").await as usize;
    assert_eq!(t.sent_files().len(), rows);
    let surveys: i64 = t.count("survey").await;
    assert_eq!(
        surveys,
        4 + 5 + 1 + 4 + 5,
        "weekly, monthly, the trial review; the check-ins, weekly and monthly"
    );
}

/// Acceptance 2: day by day with a daemon restarted at every step, across the DST change of
/// March 2027, exactly the expected sends at the expected local times, no more.
#[tokio::test]
async fn day_by_day_with_a_restart_at_every_step() {
    let t = engagement().await;
    run_schedule(&t, six_months_later(), true, false).await;
    assert_eq!(scheduled_sends(&t).await, expected());
    // Summer time moved the UTC hour, not the local one.
    let utc: Vec<DateTime<Utc>> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| sqlx::query_scalar(
        "SELECT created_at FROM outbox WHERE natural_key IN ('survey:1:2027-03', 'survey:1:2027-04') ORDER BY created_at",
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(
        utc.iter()
            .map(|u| u.format("%H:%M").to_string())
            .collect::<Vec<_>>(),
        ["09:00", "08:00"]
    );
    // The operator's digest: every Monday at 08:00 in Berlin from the first Monday after the
    // engagement was added, once each, reporting the week that ended.
    let digests: Vec<(String, DateTime<Utc>)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
        "SELECT natural_key, created_at FROM outbox WHERE kind = 'digest' ORDER BY created_at",
    )
    .fetch_all(c)
    .await
        })
        .unwrap();
    let mut monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let mut expected = Vec::new();
    while monday <= NaiveDate::from_ymd_opt(2027, 5, 31).unwrap() {
        let reported = (monday - Duration::days(1)).iso_week();
        expected.push((
            format!("digest:{}-W{:02}", reported.year(), reported.week()),
            format!("{} Mon 08:00", monday.format("%Y-%m-%d")),
        ));
        monday += Duration::days(7);
    }
    let got: Vec<(String, String)> = digests
        .into_iter()
        .map(|(key, at)| {
            (
                key,
                at.with_timezone(&chrono_tz::Europe::Berlin)
                    .format("%Y-%m-%d %a %H:%M")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

/// Acceptance 2: two daemons on one database send each message once.
#[tokio::test]
async fn two_daemons_send_each_message_once() {
    let t = engagement().await;
    run_schedule(&t, six_months_later(), false, true).await;
    assert_eq!(scheduled_sends(&t).await, expected());
    let rows = t.count("outbox").await as usize;
    assert_eq!(t.sent_files().len(), rows, "one file per outbox row");
    let sent: i64 = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!(sent as usize, rows);
}

/// After ten days of downtime, each series sends its latest due mail only: no flood of stale
/// surveys and reminders, and the missed trial review is not sent after the trial.
#[tokio::test]
async fn a_catch_up_sends_only_the_latest_of_each_series() {
    let t = engagement().await;
    // Down from before the first send until Monday 11 Jan 2027, 13:00 in Berlin.
    t.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 11, 12, 0, 0).unwrap());
    let step = t.restart().await.scheduler().step().await.unwrap();
    let mut keys = step.queued.clone();
    keys.sort();
    assert_eq!(
        keys,
        [
            "agreement_escalation:1",
            "agreement_reminder:1:assistant:3",
            "agreement_reminder:1:client:3",
            "checkin:1:2027-01",
            "digest:2027-W01",
            "feedback_talk:1:assistant:trial-end",
            "feedback_talk:1:client:trial-end",
            "survey:1:2027-01",
            "trial_silent:1",
        ]
    );
    // The survey's reminder counts from when it really went out.
    let next = t.restart().await.scheduler().step().await.unwrap();
    assert!(next.queued.is_empty());
    let mut conn = t.app.pool.acquire().await.unwrap();
    let preview = tandem::tasks::scheduler::preview(
        &mut conn,
        &t.app.config,
        Some(1),
        t.clock_now(),
        Utc.with_ymd_and_hms(2027, 1, 15, 0, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    let reminder = preview
        .iter()
        .find(|p| p.kind == "survey_reminder")
        .expect("a reminder is planned");
    assert_eq!(reminder.local, "2027-01-14 13:00");
}

/// Signing stops an agreement's reminders at once; when every agreement of a side is signed or
/// waived, that side gets no more reminders, and the operator no escalation.
#[tokio::test]
async fn signing_stops_the_reminders() {
    let t = engagement().await;
    // The first reminders go out on 3 Dec.
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap());
    let first = t.app.scheduler().step().await.unwrap();
    assert!(
        first
            .queued
            .contains(&"agreement_reminder:1:client:1".to_string())
    );
    for (kind, command) in [
        ("contract", "sign"),
        ("nda", "sign"),
        ("dpa", "sign"),
        ("data_handover", "waive"),
        ("billing", "sign"),
    ] {
        let out = t.tandem(&["agreement", command, "1", kind]);
        assert!(out.status.success(), "{}", crate::helpers::describe(&out));
    }
    let again = t.tandem(&["agreement", "sign", "1", "nda"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("signed already"),
        "{}",
        crate::helpers::describe(&again)
    );
    run_schedule(
        &t,
        Utc.with_ymd_and_hms(2027, 1, 31, 0, 0, 0).unwrap(),
        false,
        false,
    )
    .await;
    let kinds: Vec<String> = scheduled_sends(&t)
        .await
        .into_iter()
        .filter(|s| s.kind.starts_with("agreement"))
        .map(|s| format!("{} {}", s.kind, s.recipient))
        .collect();
    assert_eq!(
        kinds,
        // Sam's at 10:00 in Lisbon, Anna's at 11:00 in Berlin, on 3 Dec.
        [
            "agreement_reminder sam@va.example",
            "agreement_reminder anna@acme.example"
        ]
    );
    let listed = t.tandem(&["agreement", "list", "--pending", "--json"]);
    let pending: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 0, "{pending}");
}

/// Hours logged in a week keep that week's nudge away.
#[tokio::test]
async fn hours_logged_keep_the_nudge_away() {
    let t = engagement().await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap());
    let mail = b"From: Sam Lee <sam@va.example>\r\nTo: team@example.org\r\nSubject: Hours\r\n\
                 Message-ID: <h1@va.example>\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\n\r\n\
                 2026-12-01 2h inbox\r\n";
    t.deliver("1.eml", mail);
    t.app.reader().drain().await.unwrap();
    run_schedule(
        &t,
        Utc.with_ymd_and_hms(2026, 12, 13, 0, 0, 0).unwrap(),
        false,
        false,
    )
    .await;
    let nudges: Vec<String> = scheduled_sends(&t)
        .await
        .into_iter()
        .filter(|s| s.kind == "hours_nudge")
        .map(|s| s.local)
        .collect();
    assert_eq!(
        nudges,
        ["2026-12-11 Fri 15:00"],
        "only the week without hours"
    );
}

/// The scheduler plans an engagement only when its wake-up has come or its facts changed; a
/// change to the config's cadences between runs is neither, so every engagement is woken when
/// the scheduler starts (`wake_all`, which `run` and `run --once` do first), and a survey the
/// new cadence makes due before the old wake-up goes out.
#[tokio::test]
async fn a_new_cadence_wakes_every_engagement_at_start() {
    let t = engagement().await;
    let id = t.app.scheduler().step().await.unwrap();
    let id = id.trials_started;
    assert_eq!(id.len(), 0, "the trial starts on 1 December");
    t.clock.set("2026-12-01T12:00:00Z".parse().unwrap());
    let step = t.app.scheduler().step().await.unwrap();
    assert_eq!(step.trials_started.len(), 1);
    let id = step.trials_started[0];
    // Surveys in the trial move from Fridays to Wednesdays; the daemon restarts on Wednesday
    // 2 December at 10:30 in Berlin.
    let text = std::fs::read_to_string(&t.config_path).unwrap();
    assert!(text.contains("survey_trial = \"weekly:fri 10:00\""));
    std::fs::write(
        &t.config_path,
        text.replace(
            "survey_trial = \"weekly:fri 10:00\"",
            "survey_trial = \"weekly:wed 10:00\"",
        ),
    )
    .unwrap();
    t.clock.set("2026-12-02T09:30:00Z".parse().unwrap());
    let app = t.restart().await;
    let survey = format!("survey:{id}:2026-W49");
    // Asleep until the wake-up reckoned from the old cadence: without the start-up's wake-up,
    // the survey would wait.
    let asleep = app.scheduler().step().await.unwrap();
    assert!(asleep.queued.is_empty(), "{:?}", asleep.queued);
    let scheduler = app.scheduler();
    scheduler.wake_all().await.unwrap();
    let woken = scheduler.step().await.unwrap();
    assert_eq!(woken.queued, [survey]);
}

/// `[schedule] holidays`: the preview lists the holidays the window skips.
#[tokio::test]
async fn the_preview_lists_the_holidays_it_skips() {
    let t = crate::helpers::spawn_app_with(|_, text| {
        text.replace("# holidays = \"DE-BY\"", "holidays = \"DE-BY\"")
    })
    .await;
    let next_year = Utc::now().year() + 1;
    let until = format!("{next_year}-12-31");
    let out = t.tandem(&["schedule", "preview", "--until", &until]);
    assert!(out.status.success(), "{}", crate::helpers::describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("no scheduled mail on the holidays of DE-BY:"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{next_year}-12-25 1. Weihnachtstag")),
        "{text}"
    );
    assert!(text.contains(&format!("{next_year}-01-06 Heilige Drei Könige")));
}

/// Issue 18: a client's own holiday region (`client edit --holidays DE-NW`) shuts the window
/// of mail to its contacts on those days, while the assistant's mail keeps the agency's
/// (`DE-BE` here, where Fronleichnam is a working day). Thursday 27 May 2027 is Fronleichnam:
/// the client's survey of that week waits for Friday, the assistant's nudge goes out that day.
#[tokio::test]
async fn a_clients_own_holidays_hold_its_mail_and_not_the_assistants() {
    let t = crate::helpers::spawn_app_with(|_, text| {
        text.replace("# holidays = \"DE-BY\"", "holidays = \"DE-BE\"")
            .replace(
                "survey_trial = \"weekly:fri 10:00\"",
                "survey_trial = \"weekly:thu 10:00\"",
            )
            .replace(
                "hours_nudge = \"weekly:fri 15:00\"",
                "hours_nudge = \"weekly:thu 15:00\"",
            )
    })
    .await;
    t.add_people().await;
    let id = t
        .start_engagement_from(chrono::NaiveDate::from_ymd_opt(2027, 5, 3).unwrap())
        .await
        .engagement_id;
    for bad in ["DE-XX", "Bavaria", ""] {
        let out = t.tandem(&["client", "edit", "acme", "--holidays", bad]);
        assert!(!out.status.success(), "{bad}");
    }
    let out = t.tandem(&["client", "edit", "acme", "--holidays", "de-nw"]);
    assert!(out.status.success(), "{}", crate::helpers::describe(&out));
    let shown = t.tandem(&["client", "show", "acme"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("holidays:   DE-NW"), "{shown}");

    let survey = format!("survey:{id}:2027-W21");
    let nudge = format!("hours_nudge:{id}:2027-W21");
    // Thursday 27 May, 17:30 in Berlin, after the nudge's 15:00 in Lisbon.
    t.clock
        .set(Utc.with_ymd_and_hms(2027, 5, 27, 15, 30, 0).unwrap());
    let app = t.restart().await;
    let preview = tandem::tasks::scheduler::preview(
        &mut app.pool.acquire().await.unwrap(),
        &app.config,
        Some(id),
        t.clock_now(),
        Utc.with_ymd_and_hms(2027, 5, 29, 0, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    let planned = preview
        .iter()
        .find(|p| p.key == survey)
        .expect("the W21 survey");
    assert_eq!(
        planned.local, "2027-05-28 08:00",
        "Fronleichnam skipped for the client"
    );
    let step = app.scheduler().step().await.unwrap();
    assert!(step.queued.contains(&nudge), "{:?}", step.queued);
    assert!(!step.queued.contains(&survey), "{:?}", step.queued);
    // Friday 28 May, 08:30 in Berlin: the client's survey goes.
    t.clock
        .set(Utc.with_ymd_and_hms(2027, 5, 28, 6, 30, 0).unwrap());
    let step = app.scheduler().step().await.unwrap();
    assert!(step.queued.contains(&survey), "{:?}", step.queued);

    // The preview names the client's skipped days beside the agency's.
    let next_year = Utc::now().year() + 1;
    let until = format!("{next_year}-12-31");
    let out = t.tandem(&["schedule", "preview", "--until", &until]);
    assert!(out.status.success(), "{}", crate::helpers::describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("no scheduled mail to the contacts of 'acme' on the holidays of DE-NW:"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{next_year}-11-01 Allerheiligen")),
        "{text}"
    );
    assert!(
        text.contains("no scheduled mail on the holidays of DE-BE:"),
        "{text}"
    );
    // `none` returns the client to the agency's region.
    let out = t.tandem(&["client", "edit", "acme", "--holidays", "none"]);
    assert!(out.status.success(), "{}", crate::helpers::describe(&out));
    let shown = t.tandem(&["client", "show", "acme"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("holidays:   the agency's (DE-BE)"));
}

/// Issue 16, Confusing 4: a survey the operator sends on Wednesday takes the place of that
/// week's scheduled Friday survey (one survey a period), and is the period's survey in the
/// list and the mail alike; a second one in the same period is refused with the reason.
#[tokio::test]
async fn a_manual_survey_takes_the_place_of_the_periods_scheduled_one() {
    let t = engagement().await;
    t.clock.set("2026-12-02T10:00:00Z".parse().unwrap()); // Wednesday of 2026-W49
    let id = t.app.send_survey_now(1).await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let again = t.app.send_survey_now(1).await.unwrap_err().to_string();
    assert!(
        again.contains("the survey of week 49 went out already (survey 1, sent 2026-12-02)"),
        "{again}"
    );
    run_schedule(&t, "2026-12-14T12:00:00Z".parse().unwrap(), false, false).await;

    // (PostgreSQL's ids may skip one: the refused second survey drew one from the sequence.)
    let surveys: Vec<(i64, String)> =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as("SELECT id, period FROM survey WHERE kind = 'feedback' ORDER BY id")
                .fetch_all(c)
                .await
        })
        .unwrap();
    assert_eq!(surveys[0], (id, "2026-W49".to_string()));
    let periods: Vec<&str> = surveys.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(periods, ["2026-W49", "2026-W50"]);
    let subjects: Vec<String> = t
        .sent_files()
        .iter()
        .filter_map(|f| {
            let raw = std::fs::read(f).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw)?;
            let subject = m.subject()?.to_string();
            (subject.contains("Feedback") && !subject.contains("Erinnerung")).then_some(subject)
        })
        .collect();
    assert!(
        subjects.iter().filter(|s| s.contains("(KW 49)")).count() == 1,
        "{subjects:?}"
    );
}
