use chrono::Duration;
use tandem::store;
use tandem::tasks::outbox::Step;

use crate::helpers::{describe, spawn_app};

/// The outbox folder replaced by a file: every delivery fails for real, temporarily.
#[tokio::test]
async fn temporary_failures_are_retried_with_backoff_then_marked_failed_and_can_be_retried() {
    let t = spawn_app().await;
    t.add_people().await;
    std::fs::remove_dir_all(t.outbox_dir()).unwrap();
    std::fs::write(t.outbox_dir(), b"in the way").unwrap();
    t.start_engagement().await;

    // The first message: retried after 30 s, 60 s, 120 s, ... (the shipped retry_base).
    let Step::Retrying { id, at, error } = t.app.outbox().step().await.unwrap() else {
        panic!("the first attempt should fail temporarily");
    };
    assert!(
        error.contains("could not create the outbox folder"),
        "{error}"
    );
    assert_eq!(at - t.clock_now(), Duration::seconds(30));
    // The other two fail as well; then nothing is due until the clock moves.
    assert!(matches!(
        t.app.outbox().step().await.unwrap(),
        Step::Retrying { .. }
    ));
    assert!(matches!(
        t.app.outbox().step().await.unwrap(),
        Step::Retrying { .. }
    ));
    assert_eq!(t.app.outbox().step().await.unwrap(), Step::Idle);

    let mut delays = Vec::new();
    let last = loop {
        t.clock.advance(Duration::hours(7));
        match t.app.outbox().step().await.unwrap() {
            Step::Retrying { id: again, at, .. } if again == id => {
                delays.push((at - t.clock_now()).num_seconds())
            }
            Step::Failed { id: again, error } if again == id => break error,
            other => panic!("unexpected {other:?}"),
        }
        // Let the other two messages use up their attempts as well.
        while !matches!(t.app.outbox().step().await.unwrap(), Step::Idle) {}
    };
    assert_eq!(
        delays,
        [60, 120, 240, 480, 960, 1920],
        "doubling from 30 s, 8 attempts in all"
    );
    assert!(last.contains("could not create the outbox folder"));
    // The other two make their last attempt.
    t.clock.advance(Duration::hours(7));
    while !matches!(t.app.outbox().step().await.unwrap(), Step::Idle) {}

    let listed = t.tandem(&["outbox", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{}", describe(&listed));
    assert_eq!(text.matches("failed").count(), 3, "{text}");
    assert!(
        text.contains("could not create the outbox folder"),
        "{text}"
    );

    // The operator clears the way and retries one.
    std::fs::remove_file(t.outbox_dir()).unwrap();
    let retried = t.tandem(&["outbox", "retry", &id.to_string()]);
    assert!(retried.status.success(), "{}", describe(&retried));
    assert_eq!(t.app.outbox().step().await.unwrap(), Step::Sent { id });
    assert_eq!(t.sent_files().len(), 1);

    let again = t.tandem(&["outbox", "retry", &id.to_string()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("only failed messages can be retried"));

    let mut conn = t.app.pool.acquire().await.unwrap();
    let health = store::health::all(&mut conn).await.unwrap();
    let outbound = health.iter().find(|h| h.component == "outbound").unwrap();
    assert!(
        outbound.error_count >= 24 && outbound.last_ok_at.is_some(),
        "{outbound:?}"
    );
}

/// A worker that died mid-send leaves its row claimed; once the lease runs out another takes it.
#[tokio::test]
async fn a_row_held_by_a_dead_worker_is_taken_over_after_its_lease() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    let now = t.clock_now();
    let mut conn = t.app.pool.acquire().await.unwrap();
    let claimed = store::outbox::claim_due(&mut conn, now, now + Duration::minutes(5))
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    // The other two are sent; the claimed one waits for its lease.
    assert_eq!(t.app.outbox().drain().await.unwrap(), 2);
    t.clock.advance(Duration::minutes(6));
    assert_eq!(
        t.app.outbox().step().await.unwrap(),
        Step::Sent { id: claimed.id }
    );
    assert_eq!(t.sent_files().len(), 3);
}
