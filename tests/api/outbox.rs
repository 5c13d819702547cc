use chrono::Duration;
use tandem::store;
use tandem::tasks::outbox::Step;

use crate::helpers::{describe, spawn_app, spawn_sqlite_app};

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
    assert_eq!(t.app.outbox().drain().await.unwrap(), 1);
    assert_eq!(t.sent_files().len(), 1);
    assert!(
        t.sent_files()[0]
            .to_string_lossy()
            .contains(&format!("{id:06}-")),
        "{:?}",
        t.sent_files()
    );

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

/// A worker of this process that died mid-send leaves its row claimed; once the lease runs
/// out another takes it.
#[tokio::test]
async fn a_row_held_by_a_dead_worker_is_taken_over_after_its_lease() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    let now = t.clock_now();
    let mut conn = t.app.pool.acquire().await.unwrap();
    let claimed = store::outbox::claim_due(
        &mut conn,
        now,
        now + Duration::minutes(5),
        t.app.holder.id(),
        now - Duration::minutes(1),
    )
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

/// Mail goes out several at a time, to one person too, but the confirmation of a `cancel` is
/// not claimed while the receipt it follows is unsent.
#[tokio::test]
async fn a_mail_continuing_a_thread_waits_for_its_unsent_predecessor_and_nothing_else_does() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    let hours = |id: &str, extra: &str, body: &str| {
        crate::helpers::message("Sam Lee <sam@va.example>", id, "Hours", extra, body)
    };
    t.deliver(
        "1.hours",
        &hours("<h1@va.example>", "", "2026-11-23 2h invoices"),
    );
    t.app.reader().drain().await.unwrap();
    let rows = |t: &crate::helpers::TestApp| {
        let pool = t.app.pool.clone();
        async move {
            let mut conn = store::acquire(&pool).await.unwrap();
            store::outbox::list(&mut conn).await.unwrap()
        }
    };
    let receipt = rows(&t)
        .await
        .into_iter()
        .find(|r| r.state == "queued")
        .expect("the receipt is queued");

    // Sam cancels it before it went out, and sends another day's hours.
    let cancel_headers = format!(
        "In-Reply-To: {id}\r\nReferences: <h1@va.example> {id}\r\n",
        id = receipt.message_id
    );
    t.deliver(
        "2.cancel",
        &crate::helpers::message(
            "Sam Lee <sam@va.example>",
            "<c1@va.example>",
            "Re: Hours",
            &cancel_headers,
            "cancel",
        ),
    );
    t.deliver(
        "3.hours",
        &hours("<h2@va.example>", "", "2026-11-24 1h calls"),
    );
    t.app.reader().drain().await.unwrap();
    let queued: Vec<_> = rows(&t)
        .await
        .into_iter()
        .filter(|r| r.state == "queued")
        .collect();
    assert_eq!(queued.len(), 3, "{queued:?}");

    let now = t.clock_now();
    let lease = now + Duration::minutes(5);
    let mut conn = store::acquire(&t.app.pool).await.unwrap();
    let mut claim = async || {
        store::outbox::claim_due(&mut conn, now, lease, "test", now)
            .await
            .unwrap()
            .map(|c| c.id)
    };
    let first = claim().await;
    assert_eq!(first, Some(receipt.id), "the oldest first");
    let second = claim().await.expect("other mail to Sam is not held back");
    assert_ne!(second, receipt.id);
    let kinds: Vec<_> = rows(&t)
        .await
        .into_iter()
        .filter(|r| r.id == second || r.state == "queued")
        .map(|r| (r.id == second, r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (false, "cancelled".to_string()),
            (true, "receipt".to_string())
        ],
        "the second receipt goes while the first is being sent; the confirmation waits"
    );
    assert_eq!(
        claim().await,
        None,
        "the confirmation waits for its receipt"
    );

    // Once the receipt is recorded as sent, the confirmation is claimed.
    let claimed = store::outbox::Claimed {
        id: receipt.id,
        message_id: receipt.message_id.clone(),
        kind: String::new(),
        recipient: receipt.recipient.clone(),
        raw: Vec::new(),
        attempts: 1,
        lease_until: lease,
        holder: "test".into(),
    };
    assert!(
        store::outbox::mark_sent(&mut conn, &claimed, now)
            .await
            .unwrap()
    );
    let third = store::outbox::claim_due(&mut conn, now, lease, "test", now)
        .await
        .unwrap()
        .expect("the confirmation is due once its receipt went");
    let confirmation = rows(&t)
        .await
        .into_iter()
        .find(|r| r.id == third.id)
        .unwrap();
    assert_eq!(confirmation.kind, "cancelled");
}

/// Claims one row as `holder` (registered with a heartbeat at `now`), as another process would.
async fn claim_as(t: &crate::helpers::TestApp, holder: &store::outbox::Holder) -> i64 {
    let now = t.clock_now();
    let mut conn = t.app.pool.acquire().await.unwrap();
    store::outbox::heartbeat(&mut conn, holder, now)
        .await
        .unwrap();
    store::outbox::claim_due(
        &mut conn,
        now,
        now + Duration::minutes(5),
        &holder.id,
        now - Duration::minutes(1),
    )
    .await
    .unwrap()
    .unwrap()
    .id
}

/// Claims up to `limit` due rows as this process (its heartbeat first), as its worker would.
pub(crate) async fn claim_as_this_process(
    t: &crate::helpers::TestApp,
    limit: usize,
) -> Vec<store::outbox::Claimed> {
    let now = t.clock_now();
    let mut conn = t.app.pool.acquire().await.unwrap();
    store::outbox::heartbeat(&mut conn, t.app.holder.record(), now)
        .await
        .unwrap();
    store::outbox::claim_many(
        &mut conn,
        now,
        now + Duration::minutes(5),
        t.app.holder.id(),
        now - Duration::minutes(1),
        limit,
        true,
    )
    .await
    .unwrap()
}

/// A holder of this machine whose process has ended.
fn dead_holder(t: &crate::helpers::TestApp) -> store::outbox::Holder {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    store::outbox::Holder {
        id: "dead".into(),
        pid: i64::from(pid),
        ..t.app.holder.record().clone()
    }
}

/// The claim [`claim_as`] made of row `id` for `holder`, as its worker holds it (its lease
/// and holder; the message is not needed to mark it).
fn claim_of(t: &crate::helpers::TestApp, id: i64, holder: &str) -> store::outbox::Claimed {
    store::outbox::Claimed {
        id,
        message_id: String::new(),
        kind: String::new(),
        recipient: String::new(),
        raw: Vec::new(),
        attempts: 1,
        lease_until: t.clock_now() + Duration::minutes(5),
        holder: holder.into(),
    }
}

async fn state_and_holder(t: &crate::helpers::TestApp, id: i64) -> (String, Option<String>) {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as("SELECT state, holder FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(c)
            .await
    })
    .unwrap()
}

/// A row held by another process that beats (on another host: only its heartbeat tells) is
/// left alone while it beats, and taken up once it has been silent for a minute, long before
/// its lease runs out.
#[tokio::test]
async fn a_row_held_by_a_live_process_is_left_alone_until_its_heartbeat_stops() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    let other = store::outbox::Holder {
        id: "other-host".into(),
        host: "elsewhere".into(),
        pid_space: Some("another boot pid:[1]".into()),
        ..t.app.holder.record().clone()
    };
    let held = claim_as(&t, &other).await;
    assert_eq!(t.app.outbox().drain().await.unwrap(), 2);
    // It beats again 50 s later; 50 s after that it is still alive.
    t.clock.advance(Duration::seconds(50));
    let mut conn = t.app.pool.acquire().await.unwrap();
    store::outbox::heartbeat(&mut conn, &other, t.clock_now())
        .await
        .unwrap();
    drop(conn);
    t.clock.advance(Duration::seconds(50));
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
    assert_eq!(
        state_and_holder(&t, held).await,
        ("sending".into(), Some("other-host".into()))
    );
    // Silent for more than a minute (its lease has minutes to go): taken up.
    t.clock.advance(Duration::seconds(11));
    assert_eq!(
        t.app.outbox().step().await.unwrap(),
        Step::Sent { id: held }
    );
    assert_eq!(t.sent_files().len(), 3);
}

/// A row held by a process of this machine that no longer exists is sent at once, though its
/// holder's heartbeat is fresh and its lease has minutes to go; the dead holder's claim can
/// mark nothing afterwards.
#[tokio::test]
async fn a_row_held_by_a_process_that_no_longer_exists_is_sent_at_once() {
    let t = spawn_app().await;
    assert_holders_looked_up(&t);
    t.add_people().await;
    t.start_engagement().await;
    let dead = dead_holder(&t);
    let held = claim_as(&t, &dead).await;
    let claim = claim_of(&t, held, &dead.id);

    assert_eq!(t.app.outbox().drain().await.unwrap(), 3);
    assert_eq!(t.sent_files().len(), 3);
    assert_eq!(t.count("outbox_holder WHERE id = 'dead'").await, 0);
    let mut conn = t.app.pool.acquire().await.unwrap();
    assert!(
        !store::outbox::mark_failed(&mut conn, &claim, "late")
            .await
            .unwrap()
    );
    assert_eq!(state_and_holder(&t, held).await, ("sent".into(), None));
    let attempts: i64 = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1")
            .bind(held)
            .fetch_one(c)
            .await
    })
    .unwrap();
    assert_eq!(attempts, 2);
}

/// A process of this machine that still lives keeps its row though its heartbeat stalls (its
/// database writes blocked, say): its pid vouches for it, until its lease runs out.
#[tokio::test]
async fn a_live_process_whose_heartbeat_stalls_keeps_its_row_until_the_lease() {
    let t = spawn_app().await;
    assert_holders_looked_up(&t);
    t.add_people().await;
    t.start_engagement().await;
    // Another holder in this very process (alive, whatever the clock says).
    let stalled = store::outbox::Holder {
        id: "stalled".into(),
        ..t.app.holder.record().clone()
    };
    let held = claim_as(&t, &stalled).await;
    t.clock.advance(Duration::minutes(2));
    assert_eq!(t.app.outbox().drain().await.unwrap(), 2);
    assert_eq!(
        state_and_holder(&t, held).await,
        ("sending".into(), Some("stalled".into()))
    );
    t.clock.advance(Duration::minutes(4));
    assert_eq!(t.app.outbox().drain().await.unwrap(), 1);
    assert_eq!(state_and_holder(&t, held).await, ("sent".into(), None));
}

/// A mail queued under a key already used writes nothing, and the next mail after it is
/// written whole, with its own message (the row and its message go in as one command).
#[tokio::test]
async fn a_key_queued_twice_writes_once_and_the_next_mail_keeps_its_own_message() {
    use tandem::domain::{Locale, Mailbox};
    use tandem::outbound::{self, AutoSubmitted, Outgoing};
    use tandem::templates::Rendered;

    let t = spawn_app().await;
    let from = t.app.config.agency.from.clone();
    let mail = |i: usize| {
        let rendered = Rendered {
            subject: format!("Test {i}"),
            text: format!("Message {i}\n"),
            html: format!("<p>Message {i}</p>"),
        };
        let to = Mailbox::parse(&format!("Person {i} <p{i}@example.net>")).unwrap();
        Outgoing::new(
            &from,
            vec![to],
            rendered,
            Locale::En,
            AutoSubmitted::Generated,
        )
    };
    let (first, again, next) = (mail(1), mail(2), mail(3));
    let mut tx = t.app.pool.begin().await.unwrap();
    let now = t.clock_now();
    for (key, mail, written) in [
        ("k1", &first, true),
        ("k1", &again, false),
        ("k2", &next, true),
    ] {
        let queued = outbound::enqueue(&mut tx, key, "test", None, mail, now)
            .await
            .unwrap();
        assert_eq!(queued, written, "{key}: {}", mail.subject);
    }
    tx.commit().await.unwrap();

    assert_eq!(t.app.outbox().drain().await.unwrap(), 2);
    let mut sent: Vec<(String, String)> = t
        .sent_files()
        .iter()
        .map(|path| {
            let raw = std::fs::read(path).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let id = m.message_id().unwrap().to_string();
            (format!("<{id}>"), m.subject().unwrap().to_string())
        })
        .collect();
    sent.sort();
    let mut expected = vec![
        (first.message_id.clone(), first.subject.clone()),
        (next.message_id.clone(), next.subject.clone()),
    ];
    expected.sort();
    assert_eq!(sent, expected, "each row sends its own message, once");
}

/// On SQLite a send is recorded in the journal beside the database and marked in `outbox`
/// when folded. A process that recorded a send and died before the fold leaves its row in
/// `sending`; the next claim folds first, so the row is marked sent (at the time recorded),
/// not taken up and sent again.
#[tokio::test]
async fn a_send_recorded_in_the_journal_by_a_gone_process_is_marked_not_sent_again() {
    let t = spawn_sqlite_app().await;
    let journal = sqlite_journal(&t);
    assert_holders_looked_up(&t);
    t.add_people().await;
    t.start_engagement().await;
    let dead = dead_holder(&t);
    let held = claim_as(&t, &dead).await;
    let claim = claim_of(&t, held, &dead.id);
    let recorded_at = t.clock_now() - Duration::seconds(7);
    journal.record(&[&claim], recorded_at).await.unwrap();
    assert_eq!(state_and_holder(&t, held).await.0, "sending");

    // The other two are sent; the recorded one is marked, not sent again.
    assert_eq!(t.app.outbox().drain().await.unwrap(), 2);
    assert_eq!(t.sent_files().len(), 2);
    assert_eq!(state_and_holder(&t, held).await, ("sent".into(), None));
    let (attempts, sent_at): (i64, chrono::DateTime<chrono::Utc>) =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as("SELECT attempts, sent_at FROM outbox WHERE id = $1")
                .bind(held)
                .fetch_one(c)
                .await
        })
        .unwrap();
    assert_eq!((attempts, sent_at), (1, recorded_at));
    // The journal is empty: a second fold finds nothing.
    let mut conn = t.app.pool.acquire().await.unwrap();
    let again = journal.fold(&mut conn).await.unwrap();
    assert!(
        again.marked.is_empty() && again.stale.is_empty(),
        "{again:?}"
    );
}

/// Claimed rows that were not sent are given back as they were: queued, due, their attempt
/// taken back, no holder; a claim no longer held gives back nothing.
#[tokio::test]
async fn rows_claimed_and_not_sent_are_given_back_as_they_were() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    let now = t.clock_now();
    let holder = t.app.holder.id();
    let claimed = claim_as_this_process(&t, 3).await;
    assert_eq!(claimed.len(), 3);
    let mut conn = t.app.pool.acquire().await.unwrap();
    let stale = store::outbox::Claimed {
        lease_until: now + Duration::minutes(4),
        ..claimed[2].clone()
    };
    assert_eq!(
        store::outbox::release(&mut conn, &[&stale]).await.unwrap(),
        0,
        "a claim no longer held gives back nothing"
    );
    assert_eq!(
        store::outbox::release(&mut conn, &[&claimed[0], &claimed[1]])
            .await
            .unwrap(),
        2
    );
    drop(conn);
    for row in &claimed[..2] {
        assert_eq!(state_and_holder(&t, row.id).await, ("queued".into(), None));
    }
    let attempts: Vec<i64> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT attempts FROM outbox ORDER BY id")
            .fetch_all(c)
            .await
    })
    .unwrap();
    assert_eq!(attempts, [0, 0, 1]);
    // The two given back go out now; the third stays with its live holder until its lease.
    assert_eq!(t.app.outbox().drain().await.unwrap(), 2);
    assert_eq!(
        state_and_holder(&t, claimed[2].id).await,
        ("sending".into(), Some(holder.to_string()))
    );
}

/// A backup taken while a send is recorded in the journal and not yet marked has the row sent;
/// the database itself keeps the record until its own fold.
#[tokio::test]
async fn a_backup_marks_the_sends_the_journal_holds_and_leaves_them_there() {
    let t = spawn_sqlite_app().await;
    let journal = sqlite_journal(&t);
    t.add_people().await;
    t.start_engagement().await;
    let held = claim_as(&t, t.app.holder.record()).await;
    let claim = claim_of(&t, held, t.app.holder.id());
    journal.record(&[&claim], t.clock_now()).await.unwrap();

    let copy = t.dir.path().join("copy.db");
    store::backup::sqlite_into(&t.app.pool, &copy)
        .await
        .unwrap();
    let copied = store::connect(
        store::Location::url(&format!("sqlite://{}", copy.display())),
        1,
        store::Open::Existing,
    )
    .await
    .unwrap();
    let states: Vec<String> = tandem::store::on!(&mut *copied.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT state FROM outbox ORDER BY id")
            .fetch_all(c)
            .await
    })
    .unwrap();
    assert_eq!(states, ["sent", "queued", "queued"]);
    // The source is as it was, and its own fold marks the row.
    assert_eq!(state_and_holder(&t, held).await.0, "sending");
    let mut conn = t.app.pool.acquire().await.unwrap();
    assert_eq!(journal.fold(&mut conn).await.unwrap().marked, [held]);
    assert_eq!(state_and_holder(&t, held).await, ("sent".into(), None));
}

/// The three rows of a started engagement claimed by this process, and the journal beside its
/// SQLite file with each recorded as sent; `None` on PostgreSQL (no journal).
async fn three_recorded(
    t: &crate::helpers::TestApp,
) -> (store::journal::Journal, Vec<store::outbox::Claimed>) {
    let journal = sqlite_journal(t);
    t.add_people().await;
    t.start_engagement().await;
    let claimed = claim_as_this_process(t, 3).await;
    assert_eq!(claimed.len(), 3);
    let claims: Vec<&store::outbox::Claimed> = claimed.iter().collect();
    journal.record(&claims, t.clock_now()).await.unwrap();
    (journal, claimed)
}

/// Linux has `/proc`: a holder's process can be looked up (what the tests of gone holders
/// test).
fn assert_holders_looked_up(t: &crate::helpers::TestApp) {
    assert!(
        t.app.holder.record().pid_space.is_some(),
        "Linux has /proc: a holder's process can be looked up"
    );
}

/// The journal beside the SQLite file of `t` ([`spawn_sqlite_app`]).
fn sqlite_journal(t: &crate::helpers::TestApp) -> store::journal::Journal {
    store::journal::Journal::beside(&t.app.pool).expect("a SQLite file has a journal")
}

/// Each row's state and `sent_at`, by id.
async fn states_and_sent_at(
    t: &crate::helpers::TestApp,
) -> Vec<(i64, String, Option<chrono::DateTime<chrono::Utc>>)> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as("SELECT id, state, sent_at FROM outbox ORDER BY id")
            .fetch_all(c)
            .await
    })
    .unwrap()
}

/// A fold cut off between its two writes (the rows marked, the records not yet forgotten:
/// what `mark_in_copy` leaves on the database itself) is folded again to the same end: the
/// records are forgotten, nothing is marked twice or called stale, each row keeps the time its
/// record says. A record whose claim is no longer the row's changes nothing and is called stale.
#[tokio::test]
async fn a_fold_cut_off_between_its_writes_folds_again_to_the_same_end() {
    let t = spawn_sqlite_app().await;
    let (journal, claimed) = three_recorded(&t).await;
    let recorded_at = t.clock_now();
    // A fourth record names the third row under a lease the row no longer has.
    let taken = store::outbox::Claimed {
        lease_until: claimed[2].lease_until - Duration::minutes(1),
        ..claimed[2].clone()
    };
    journal
        .record(&[&taken], recorded_at - Duration::seconds(3))
        .await
        .unwrap();
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();

    let mut conn = t.app.pool.acquire().await.unwrap();
    let first = journal.mark_in_copy(&mut conn).await.unwrap();
    let mut marked = first.marked.clone();
    marked.sort_unstable();
    assert_eq!(marked, ids, "{first:?}");
    assert_eq!(first.stale, [claimed[2].id], "{first:?}");

    let again = journal.fold(&mut conn).await.unwrap();
    assert!(again.marked.is_empty(), "{again:?}");
    assert_eq!(
        again.stale,
        [claimed[2].id],
        "only the taken claim is stale: {again:?}"
    );
    let last = journal.fold(&mut conn).await.unwrap();
    assert!(
        last.marked.is_empty() && last.stale.is_empty(),
        "the journal is empty: {last:?}"
    );
    drop(conn);
    let rows = states_and_sent_at(&t).await;
    assert_eq!(
        rows,
        ids.iter()
            .map(|&id| (id, "sent".to_string(), Some(recorded_at)))
            .collect::<Vec<_>>()
    );
}

/// Two processes folding the same journal at once (two journals opened on one file, two
/// connections): whichever order their statements take, each row is marked by exactly one of
/// them, neither calls a record stale, and the journal ends empty.
#[tokio::test]
async fn two_folds_at_once_mark_each_row_once() {
    let t = spawn_sqlite_app().await;
    let (journal, claimed) = three_recorded(&t).await;
    let other = store::journal::Journal::beside(&t.app.pool).unwrap();
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    for round in 0..20 {
        if round > 0 {
            // The rows back in `sending` under the same claims, recorded again.
            let mut conn = t.app.pool.acquire().await.unwrap();
            for c in &claimed {
                tandem::store::on!(&mut *conn, |c2| {
                    sqlx::query(
                        "UPDATE outbox SET state = 'sending', sent_at = NULL, \
                         lease_until = $1, holder = $2 WHERE id = $3",
                    )
                    .bind(c.lease_until)
                    .bind(&c.holder)
                    .bind(c.id)
                    .execute(c2)
                    .await
                    .map(|done| done.rows_affected())
                })
                .unwrap();
            }
            let claims: Vec<&store::outbox::Claimed> = claimed.iter().collect();
            journal.record(&claims, t.clock_now()).await.unwrap();
        }
        let (mut a, mut b) = (
            t.app.pool.acquire().await.unwrap(),
            t.app.pool.acquire().await.unwrap(),
        );
        let (one, two) = tokio::join!(journal.fold(&mut a), other.fold(&mut b));
        let (one, two) = (one.unwrap(), two.unwrap());
        let mut marked: Vec<i64> = one.marked.iter().chain(&two.marked).copied().collect();
        marked.sort_unstable();
        assert_eq!(marked, ids, "round {round}: {one:?} {two:?}");
        assert!(
            one.stale.is_empty() && two.stale.is_empty(),
            "round {round}: {one:?} {two:?}"
        );
        drop((a, b));
        assert!(
            states_and_sent_at(&t)
                .await
                .iter()
                .all(|(_, s, at)| s == "sent" && at.is_some()),
            "round {round}"
        );
        let mut conn = t.app.pool.acquire().await.unwrap();
        let left = journal.fold(&mut conn).await.unwrap();
        assert!(
            left.marked.is_empty() && left.stale.is_empty(),
            "round {round}: {left:?}"
        );
    }
}

/// A receipt is queued as a draft (its template, context and headers, a kilobyte or two) and
/// written out when it is sent: the message that leaves is a whole one, threaded under the time
/// log. A draft that cannot be written out fails for good, and the receipt beside it still goes.
#[tokio::test]
async fn a_receipt_is_a_draft_until_sent_and_an_unreadable_one_fails_alone() {
    use tandem::outbound::draft::MAGIC;
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    let before = t.sent_files();
    t.deliver("a.mail", &crate::helpers::numbered_time_log(21));
    t.deliver("b.mail", &crate::helpers::numbered_time_log(22));
    t.app.reader().drain().await.unwrap();

    let mut conn = t.app.pool.acquire().await.unwrap();
    let stored: Vec<(i64, Vec<u8>)> = store::on!(&mut *conn, |c| sqlx::query_as(
        "SELECT o.id, r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
         WHERE o.kind = 'receipt' ORDER BY o.id"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(stored.len(), 2);
    for (id, raw) in &stored {
        assert!(raw.starts_with(MAGIC), "receipt {id} is stored built");
        assert!(
            raw.len() < 4_000,
            "receipt {id}'s draft is {} bytes",
            raw.len()
        );
    }
    let spoiled = stored[0].0;
    let mut unreadable = MAGIC.to_vec();
    unreadable.extend_from_slice(b"{\"template\": ");
    store::on!(&mut *conn, |c| sqlx::query(
        "UPDATE outbox_raw SET raw = $1 WHERE outbox_id = $2"
    )
    .bind(&unreadable)
    .bind(spoiled)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    drop(conn);

    assert_eq!(t.app.outbox().drain().await.unwrap(), 1);
    let (state, error): (String, Option<String>) = {
        let mut conn = t.app.pool.acquire().await.unwrap();
        store::on!(&mut *conn, |c| sqlx::query_as(
            "SELECT state, last_error FROM outbox WHERE id = $1"
        )
        .bind(spoiled)
        .fetch_one(c)
        .await)
        .unwrap()
    };
    assert_eq!(state, "failed");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("unreadable draft"),
        "{error:?}"
    );
    let new: Vec<_> = t
        .sent_files()
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let sent = std::fs::read(&new[0]).unwrap();
    let text = String::from_utf8_lossy(&sent);
    assert!(!sent.contains(&0), "a NUL byte went out");
    assert!(text.starts_with(char::is_alphabetic), "{text}");
    for part in [
        "In-Reply-To: <hours22@va.example>",
        "multipart/alternative",
        "text/html",
        "Invoices",
        "Date: ",
    ] {
        assert!(text.contains(part), "no {part:?} in\n{text}");
    }
}
