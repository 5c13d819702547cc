//! Budget alerts (issue 18): when an engagement's hours in a month reach 80 % and 100 % of its
//! budget, the operator is told once per threshold and month; with `budget_alert_client`, the
//! client's contact too. A month that jumps past both thresholds at once is told the higher
//! one only.

use crate::helpers::{TestApp, message, spawn_app, spawn_app_with};

async fn log(t: &TestApp, n: u32, body: &str) {
    t.deliver(
        &format!("hours{n}.eml"),
        &message(
            "Sam Lee <sam@va.example>",
            &format!("<budget{n}@va.example>"),
            "Stunden",
            "",
            body,
        ),
    );
    t.app.reader().drain().await.unwrap();
}

/// The budget mails queued, as `kind natural_key recipient`.
async fn alerts(t: &TestApp) -> Vec<String> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT kind || ' ' || natural_key || ' ' || recipient FROM outbox \
             WHERE kind LIKE 'budget%' ORDER BY id",
        )
        .fetch_all(c)
        .await
    })
    .unwrap()
}

#[tokio::test]
async fn the_operator_hears_of_each_threshold_once_a_month() {
    let t = spawn_app().await;
    t.add_people().await;
    // 20 hours a month.
    t.start_engagement_for_hours().await;
    log(&t, 1, "23.11.2026 8h Ablage\r\n24.11.2026 7:59 Ablage").await;
    assert!(alerts(&t).await.is_empty(), "15:59 of 20:00 is under 80 %");
    log(&t, 2, "25.11.2026 0:01 Ablage").await;
    let first = alerts(&t).await;
    assert_eq!(
        first,
        ["budget_alert budget_alert:1:2026-11:80 operator@example.org"]
    );
    log(&t, 3, "25.11.2026 1h Ablage").await;
    assert_eq!(alerts(&t).await, first, "80 % is told once");
    log(&t, 4, "26.11.2026 4h Ablage").await;
    let both = alerts(&t).await;
    assert_eq!(
        both[1],
        "budget_alert budget_alert:1:2026-11:100 operator@example.org"
    );
    log(&t, 5, "26.11.2026 1h Ablage").await;
    assert_eq!(alerts(&t).await, both, "100 % is told once");
    // What the operator reads.
    t.app.outbox().drain().await.unwrap();
    let text = t
        .sent_files()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .find(|m| m.contains("Budget") && m.contains("100"))
        .expect("the 100 % alert was written");
    assert!(text.contains("Sam Lee"), "{text}");
    // Its figures are h:mm, the unit said once: "20:00 Stunden", not "20:00 h Stunden".
    let body = mail_parser::MessageParser::default()
        .parse(text.as_bytes())
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(body.contains("von 20:00 Stunden im Monat"), "{body}");
    assert!(!body.contains("h Stunden"), "{body}");
}

#[tokio::test]
async fn a_month_past_both_thresholds_at_once_is_told_the_higher_to_both_sides() {
    let t = spawn_app_with(|_, text| {
        text.replace("budget_alert_client = false", "budget_alert_client = true")
    })
    .await;
    assert!(t.app.config.engagements.budget_alert_client);
    t.add_people().await;
    t.start_engagement_for_hours().await;
    log(&t, 1, "23.11.2026 10h Ablage\r\n24.11.2026 11h Ablage").await;
    assert_eq!(
        alerts(&t).await,
        [
            "budget_alert budget_alert:1:2026-11:100 operator@example.org",
            "budget_alert_client budget_alert_client:1:2026-11:100 anna@acme.example",
        ]
    );
    log(&t, 2, "25.11.2026 1h Ablage").await;
    assert_eq!(alerts(&t).await.len(), 2, "80 % is not told after 100 %");
}
