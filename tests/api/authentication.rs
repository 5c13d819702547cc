//! Sender authentication over a real Dovecot (PRODUCT.md, "Sender authentication"): with
//! `policy = "require"`, a forged `From:` logs nothing, gets no answer and lands in Attention
//! with the reason; the same mail with the trusted server's `dmarc=pass` is logged and
//! answered; a survey answer with a seen token and a forged `From:` stores nothing; an
//! assistant marked `--unauthenticated-ok` is logged without a header. With `report`, mail is
//! handled as before and the digest lists what came in unauthenticated.

use crate::helpers::{TestApp, describe, message, spawn_app_with};
use crate::replies::{Path, reply, sent_mail};
use crate::servers::{Account, Dovecot, Tls};

const TRUSTED: &str = "mx.agency.example";

/// An app reading `account` on the shared Dovecot with `policy`, trusting [`TRUSTED`].
async fn app(dovecot: &Dovecot, account: &Account, policy: &str) -> TestApp {
    spawn_app_with(|dir, text| {
        let text = dovecot.tandem_config(dir, &text, account, Tls::Starttls);
        let edited = text
            .replace(
                "\npolicy = \"off\"\n",
                &format!("\npolicy = \"{policy}\"\n"),
            )
            .replace(
                "\nauthserv_id = []\n",
                &format!("\nauthserv_id = [\"{TRUSTED}\"]\n"),
            );
        assert!(
            edited.contains(&format!("policy = \"{policy}\"")),
            "{edited}"
        );
        edited
    })
    .await
}

const HOURS: &str =
    "Hi Anna,\n\nhere are my hours:\n\n2026-11-23 2.5h Invoices and reminders\n\nThanks!\nSam";

/// The header the agency's server writes, then its `Received:`.
fn trusted(results: &str) -> String {
    format!(
        "Authentication-Results: {TRUSTED}; {results}\r\n\
         Received: from mail.va.example by {TRUSTED} (Postfix); Thu, 26 Nov 2026 09:30:01 +0100\r\n"
    )
}

async fn count(t: &TestApp, sql: &str) -> i64 {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(c)
            .await
    })
    .unwrap()
}

async fn row(t: &TestApp, message_id: &str) -> (String, String, Option<String>, Option<String>) {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as(
            "SELECT disposition, reason, auth_verdict, authentication FROM inbound_message \
         WHERE message_id = $1",
        )
        .bind(message_id)
        .fetch_one(c)
        .await
    })
    .unwrap_or_else(|e| panic!("{message_id} was not recorded: {e}"))
}

#[tokio::test]
async fn require_over_imap_forged_hours_surveys_and_exceptions() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = app(dovecot, &account, "require").await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.run_once().await.unwrap();
    let receipts = "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'";
    let entries = "SELECT COUNT(*) FROM time_entry";

    // 1. A forged From: with the server's verdict against it, and one with no header at all,
    // and one whose only dmarc=pass was written by the sender below the server's Received:.
    let forged = [
        (
            "<forged1@evil.example>",
            trusted(
                "dkim=fail header.d=va.example; spf=softfail smtp.mailfrom=sam@va.example; dmarc=none header.from=va.example",
            ),
        ),
        ("<forged2@evil.example>", String::new()),
        (
            "<forged3@evil.example>",
            format!(
                "{}Authentication-Results: {TRUSTED}; dmarc=pass header.from=va.example\r\n",
                trusted(
                    "dkim=none; spf=fail smtp.mailfrom=sam@va.example; dmarc=fail header.from=va.example"
                )
            ),
        ),
    ];
    for (id, headers) in &forged {
        let raw = message("Sam Lee <sam@va.example>", id, "Hours", headers, HOURS);
        dovecot.append(&account, &raw).await;
    }
    t.app.run_once().await.unwrap();
    assert_eq!(count(&t, entries).await, 0, "a forged sender logs nothing");
    assert_eq!(count(&t, receipts).await, 0, "and gets no receipt");
    assert!(dovecot.list(&account, "INBOX").await.is_empty());
    assert_eq!(dovecot.list(&account, "Attention").await.len(), 3);
    let (disposition, reason, verdict, json) = row(&t, "<forged1@evil.example>").await;
    assert_eq!(disposition, "attention");
    assert_eq!(
        reason,
        "sender not authenticated: dkim=fail spf=softfail dmarc=none"
    );
    assert_eq!(verdict.as_deref(), Some("fail"));
    assert!(json.unwrap().contains("dkim=fail header.d=va.example"));
    let (_, reason, ..) = row(&t, "<forged2@evil.example>").await;
    assert_eq!(
        reason,
        "sender not authenticated: no Authentication-Results from a trusted server"
    );
    let (_, reason, ..) = row(&t, "<forged3@evil.example>").await;
    assert_eq!(
        reason,
        "sender not authenticated: dkim=none spf=fail dmarc=fail"
    );
    let sent_before = t.sent_files().len();

    // 2. The same mail with the trusted server's dmarc=pass is logged and answered.
    let genuine = message(
        "Sam Lee <sam@va.example>",
        "<genuine@va.example>",
        "Hours",
        &trusted(
            "dkim=pass header.d=va.example; spf=pass smtp.mailfrom=sam@va.example; dmarc=pass header.from=va.example",
        ),
        HOURS,
    );
    dovecot.append(&account, &genuine).await;
    t.app.run_once().await.unwrap();
    assert_eq!(count(&t, entries).await, 1);
    assert_eq!(count(&t, receipts).await, 1);
    assert_eq!(
        t.sent_files().len(),
        sent_before + 1,
        "the receipt went out"
    );
    let (disposition, _, verdict, json) = row(&t, "<genuine@va.example>").await;
    assert_eq!(disposition, "processed");
    assert_eq!(verdict.as_deref(), Some("pass"));
    let json: serde_json::Value = serde_json::from_str(&json.unwrap()).unwrap();
    assert_eq!(json["method"], "dmarc");
    assert_eq!(json["domain"], "va.example");

    // `tandem parse --json` shows the verdict.
    let file = t.dir.path().join("genuine.eml");
    std::fs::write(&file, &genuine).unwrap();
    let parsed = t.tandem(&["parse", "--json", file.to_str().unwrap()]);
    assert!(parsed.status.success(), "{}", describe(&parsed));
    let parsed: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    assert_eq!(parsed["authentication"]["verdict"], "pass", "{parsed}");
    assert_eq!(parsed["authentication"]["method"], "dmarc");
    assert_eq!(
        parsed["authentication"]["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // 3. A survey answer with the seen token and a forged From: stores nothing.
    t.app.send_survey_now(1).await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let survey = sent_mail(&t, "survey").await;
    let sent_before = t.sent_files().len();
    for (n, path) in [Path::InReplyTo, Path::Subject, Path::PlusAddress]
        .into_iter()
        .enumerate()
    {
        let answer = reply(
            "Anna Berg <anna@acme.example>",
            &survey,
            path,
            &format!("forged-answer{n}@evil.example"),
            "1: 1\r\n2: 1\r\n3: nein\r\n4: Bitte beenden.",
        );
        dovecot.append(&account, &answer).await;
    }
    t.app.run_once().await.unwrap();
    assert_eq!(count(&t, "SELECT COUNT(*) FROM survey_answer").await, 0);
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'score_alert'").await,
        0
    );
    assert_eq!(t.sent_files().len(), sent_before, "no thanks, no alert");
    let (disposition, reason, ..) = row(&t, "<forged-answer0@evil.example>").await;
    assert_eq!(disposition, "attention");
    assert!(reason.starts_with("sender not authenticated: "), "{reason}");

    // 4. Sam marked --unauthenticated-ok: logged without a header, the reason says so.
    let edited = t.tandem(&["assistant", "edit", "1", "--unauthenticated-ok"]);
    assert!(edited.status.success(), "{}", describe(&edited));
    let listed = t.tandem(&["assistant", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["unauthenticated_ok"], true);
    let unsigned = message(
        "Sam Lee <sam@va.example>",
        "<unsigned@va.example>",
        "Hours",
        "",
        "2026-11-24 1h inbox zero",
    );
    dovecot.append(&account, &unsigned).await;
    t.app.run_once().await.unwrap();
    assert_eq!(count(&t, entries).await, 2);
    assert_eq!(count(&t, receipts).await, 2);
    let (disposition, reason, verdict, _) = row(&t, "<unsigned@va.example>").await;
    assert_eq!(disposition, "processed");
    assert_eq!(verdict.as_deref(), Some("fail"));
    assert!(reason.contains("marked unauthenticated-ok"), "{reason}");

    // And back: without the mark the same kind of mail goes to a person again.
    let edited = t.tandem(&["assistant", "edit", "1", "--unauthenticated-ok=false"]);
    assert!(edited.status.success(), "{}", describe(&edited));
    let unsigned = message(
        "Sam Lee <sam@va.example>",
        "<unsigned2@va.example>",
        "Hours",
        "",
        "2026-11-25 1h inbox zero",
    );
    dovecot.append(&account, &unsigned).await;
    t.app.run_once().await.unwrap();
    assert_eq!(count(&t, entries).await, 2);
    assert_eq!(row(&t, "<unsigned2@va.example>").await.0, "attention");
}

/// A client contact marked on `client edit` answers a survey without a header.
#[tokio::test]
async fn a_contact_marked_unauthenticated_ok_answers_a_survey() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = app(dovecot, &account, "require").await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    let edited = t.tandem(&[
        "client",
        "edit",
        "acme",
        "--unauthenticated-ok",
        "anna@acme.example",
    ]);
    assert!(edited.status.success(), "{}", describe(&edited));
    let listed = t.tandem(&["client", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("anna@acme.example> (unauthenticated ok)"),
        "{}",
        describe(&listed)
    );
    t.app.send_survey_now(1).await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let survey = sent_mail(&t, "survey").await;
    let answer = reply(
        "Anna Berg <anna@acme.example>",
        &survey,
        Path::InReplyTo,
        "anna-answer@acme.example",
        "1: 4\r\n2: 5\r\n3: ja\r\n4: Gut.",
    );
    dovecot.append(&account, &answer).await;
    t.app.run_once().await.unwrap();
    assert_eq!(count(&t, "SELECT COUNT(*) FROM survey_answer").await, 4);
    // Ben is not marked: his address is refused by edit only if it is no contact.
    let wrong = t.tandem(&[
        "client",
        "edit",
        "acme",
        "--unauthenticated-ok",
        "nobody@acme.example",
    ]);
    assert!(!wrong.status.success(), "{}", describe(&wrong));
}

/// With `report`: handled as before (logged and answered), the verdict stored, and the digest
/// lists the unauthenticated submission.
#[tokio::test]
async fn report_handles_and_the_digest_lists_unauthenticated_submissions() {
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let t = app(dovecot, &account, "report").await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.run_once().await.unwrap();
    let forged = message(
        "Sam Lee <sam@va.example>",
        "<reported@evil.example>",
        "Hours from nowhere",
        &trusted(
            "dkim=none; spf=softfail smtp.mailfrom=sam@va.example; dmarc=none header.from=va.example",
        ),
        HOURS,
    );
    let genuine = message(
        "Sam Lee <sam@va.example>",
        "<genuine-report@va.example>",
        "Hours signed",
        &trusted("dmarc=pass header.from=va.example"),
        "2026-11-24 1h inbox zero",
    );
    dovecot.append(&account, &forged).await;
    dovecot.append(&account, &genuine).await;
    t.app.run_once().await.unwrap();
    assert_eq!(count(&t, "SELECT COUNT(*) FROM time_entry").await, 2);
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'").await,
        2
    );
    let (disposition, reason, verdict, _) = row(&t, "<reported@evil.example>").await;
    assert_eq!(disposition, "processed");
    assert_eq!(verdict.as_deref(), Some("fail"));
    assert!(
        reason.ends_with("; sender not authenticated: dkim=none spf=softfail dmarc=none"),
        "{reason}"
    );
    let digest = t.tandem(&[
        "digest",
        "--preview",
        "--format",
        "text",
        "--week",
        "2026-W48",
    ]);
    assert!(digest.status.success(), "{}", describe(&digest));
    let text = String::from_utf8_lossy(&digest.stdout);
    let section = text
        .split("Ohne bestätigten Absender verarbeitet")
        .nth(1)
        .unwrap_or_else(|| panic!("no section for unauthenticated mail:\n{text}"));
    let section = section.split("\n\n\n").next().unwrap_or(section);
    assert!(section.contains("Hours from nowhere"), "{text}");
    assert!(!section.contains("Hours signed"), "{text}");
}
