//! Feedback talks (issue 18, part CI): at the trial's end and then every 13 weeks, a review
//! call is proposed to the client's contacts (one mail to them all) and to the assistant, in
//! their languages, with an agenda from the client's real survey answers and the assistant's real
//! check-in; once per period, across restarts; listed by the preview.

use crate::checkin::{count, engagement, first_checkin, newest, pass_at, utc};
use crate::helpers::TestApp;
use crate::replies::{Path, reply, sent_mail};

/// Every feedback-talk mail: (natural key, recipient), in order.
async fn talks(t: &TestApp) -> Vec<(String, String)> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as(
            "SELECT natural_key, recipient FROM outbox WHERE kind = 'feedback_talk' ORDER BY id",
        )
        .fetch_all(c)
        .await
    })
    .unwrap()
}

/// The text part of the feedback-talk mail to `address`.
async fn talk_to(t: &TestApp, address: &str) -> String {
    let raw: Vec<u8> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = 'feedback_talk' AND o.recipient LIKE $1 ORDER BY o.id DESC LIMIT 1",
        )
        .bind(format!("%{address}%"))
        .fetch_one(c)
        .await
    })
    .unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    m.body_text(0).unwrap().replace("\r\n", "\n")
}

#[tokio::test]
async fn the_talk_carries_both_sides_and_goes_once_per_period() {
    let t = engagement().await;
    // Sam's check-in and Anna's survey, answered for real.
    let checkin = first_checkin(&t).await;
    t.deliver(
        "checkin.eml",
        &reply(
            "Sam Lee <sam@va.example>",
            &checkin,
            Path::InReplyTo,
            "sam-answer@va.example",
            "1: 4\r\n2: yes\r\n3: Who approves travel bookings?\r\n\
             4: A shared calendar for the whole team.",
        ),
    );
    pass_at(&t, utc(2026, 12, 3, 12, 0)).await;
    pass_at(&t, utc(2026, 12, 4, 10, 0)).await;
    let survey = sent_mail(&t, "survey").await;
    t.deliver(
        "survey.eml",
        &reply(
            "Anna Berg <anna@acme.example>",
            &survey,
            Path::Subject,
            "anna-answer@acme.example",
            "1: 5\r\n2: 4\r\n3: ja\r\n4: Sehr zuverlässig, gern mehr Stunden.",
        ),
    );
    pass_at(&t, utc(2026, 12, 4, 11, 0)).await;
    assert!(talks(&t).await.is_empty());

    // The preview promises the talk at the trial's end (Monday 28 Dec) to both sides.
    let mut conn = t.app.pool.acquire().await.unwrap();
    let preview = tandem::tasks::scheduler::preview(
        &mut conn,
        &t.app.config,
        Some(1),
        t.clock_now(),
        utc(2027, 4, 30, 0, 0),
    )
    .await
    .unwrap();
    drop(conn);
    let planned: Vec<(String, String)> = preview
        .iter()
        .filter(|p| p.kind == "feedback_talk")
        .map(|p| (p.key.clone(), p.local.clone()))
        .collect();
    assert_eq!(
        planned,
        [
            (
                "feedback_talk:1:client:trial-end".to_string(),
                "2026-12-28 10:00".to_string()
            ),
            (
                "feedback_talk:1:assistant:trial-end".to_string(),
                "2026-12-28 10:00".to_string()
            ),
            (
                "feedback_talk:1:client:2027-03-29".to_string(),
                "2027-03-29 10:00".to_string()
            ),
            (
                "feedback_talk:1:assistant:2027-03-29".to_string(),
                "2027-03-29 10:00".to_string()
            ),
        ]
    );

    // At the trial's end: one mail to each contact and one to Sam, each once, though the
    // daemon passes again and restarts.
    pass_at(&t, utc(2026, 12, 28, 10, 30)).await;
    t.app.run_once().await.unwrap();
    t.restart().await.run_once().await.unwrap();
    let sent = talks(&t).await;
    assert_eq!(
        sent,
        [
            (
                "feedback_talk:1:client:trial-end".to_string(),
                "anna@acme.example, ben@acme.example".to_string()
            ),
            (
                "feedback_talk:1:assistant:trial-end".to_string(),
                "sam@va.example".to_string()
            ),
        ],
        "{sent:?}"
    );
    let anna = talk_to(&t, "anna@acme.example").await;
    assert!(
        anna.contains("die Probezeit endet am 28. Dezember 2026"),
        "{anna}"
    );
    assert!(anna.contains("TAGESORDNUNG"), "{anna}");
    assert!(
        anna.contains("„Sehr zuverlässig, gern mehr Stunden.“"),
        "{anna}"
    );
    assert!(anna.contains("5 von 5"), "{anna}");
    assert!(anna.contains("Wie es läuft: 4 von 5"), "{anna}");
    assert!(anna.contains("Who approves travel bookings?"), "{anna}");
    assert!(
        anna.contains("A shared calendar for the whole team."),
        "{anna}"
    );
    let sam = talk_to(&t, "sam@va.example").await;
    assert!(sam.contains("AGENDA"), "{sam}");
    assert!(
        sam.contains("The trial phase ends on 28 December 2026"),
        "{sam}"
    );
    assert!(
        sam.contains("\"Sehr zuverlässig, gern mehr Stunden.\""),
        "{sam}"
    );
    assert!(sam.contains("How it goes: 4 of 5"), "{sam}");
    assert!(
        sam.contains("A shared calendar for the whole team."),
        "{sam}"
    );
    let (_, subject, _) = newest(&t, "feedback_talk").await;
    assert!(subject.contains("The trial ends"), "{subject}");

    // A quarter later, the next one; still one per period and recipient.
    pass_at(&t, utc(2027, 3, 29, 10, 30)).await;
    t.restart().await.run_once().await.unwrap();
    assert_eq!(count(&t, "feedback_talk").await, 4);
    let keys: Vec<String> = talks(&t).await.into_iter().map(|(k, _)| k).collect();
    assert!(keys.contains(&"feedback_talk:1:client:2027-03-29".to_string()));
    assert!(keys.contains(&"feedback_talk:1:assistant:2027-03-29".to_string()));
    let sam = talk_to(&t, "sam@va.example").await;
    assert!(sam.contains("It is time for a short review call"), "{sam}");
}
