//! Replies to the schedule's mail, end to end on the embedded defaults: survey answers
//! (numbered and inline), the trial review (yes and no) and agreement reminders (signed, and
//! with the PDF), each matched by each of the three correlation paths alone (In-Reply-To, the
//! subject's token, the plus-address), with their effects: stored answers, thanks, the
//! operator's alert within one pass, the engagement's status, received agreements.

use chrono::{TimeZone as _, Utc};
use mail_parser::MessageParser;

use crate::helpers::{TestApp, describe, spawn_app};

/// How a reply finds the mail it answers; each test uses one alone.
#[derive(Debug, Clone, Copy)]
pub enum Path {
    InReplyTo,
    Subject,
    PlusAddress,
}

pub const PATHS: [Path; 3] = [Path::InReplyTo, Path::Subject, Path::PlusAddress];

/// A mail tandem sent, as its recipient's client shows it.
pub struct SentMail {
    pub message_id: String,
    pub token: String,
    /// Without the token.
    pub subject: String,
    pub text: String,
}

/// The newest outbox row of `kind`, read back from the message tandem writes.
pub async fn sent_mail(t: &TestApp, kind: &str) -> SentMail {
    let (raw, token): (Vec<u8>, Option<String>) =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
                "SELECT r.raw, o.token FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
                 WHERE o.kind = $1 ORDER BY o.id DESC LIMIT 1",
            )
            .bind(kind)
            .fetch_one(c)
            .await
        })
        .unwrap_or_else(|e| panic!("no {kind} mail was queued: {e}"));
    let token = token.expect("the mail expects an answer");
    // A receipt is stored as a draft: read as the message it becomes when it is sent.
    let raw = tandem::outbound::draft::write_out(&raw, &t.app.templates).unwrap();
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    SentMail {
        message_id: format!("<{}>", m.message_id().unwrap()),
        subject: m
            .subject()
            .unwrap()
            .replace(&format!(" [#{token}]"), "")
            .to_string(),
        text: m.body_text(0).unwrap().replace("\r\n", "\n"),
        token,
    }
}

/// A reply from `from` to `sent` carrying only `path`, with `body` above the quoted original.
pub fn reply(from: &str, sent: &SentMail, path: Path, id: &str, body: &str) -> Vec<u8> {
    let quoted: String = sent.text.lines().map(|l| format!("> {l}\r\n")).collect();
    let (to, subject, threading) = match path {
        Path::InReplyTo => (
            "team@example.org".to_string(),
            format!("Re: {}", sent.subject),
            format!("In-Reply-To: {0}\r\nReferences: {0}\r\n", sent.message_id),
        ),
        Path::Subject => (
            "team@example.org".to_string(),
            format!("Re: {} [#{}]", sent.subject, sent.token),
            String::new(),
        ),
        Path::PlusAddress => (
            format!("team+{}@example.org", sent.token),
            format!("Re: {}", sent.subject),
            String::new(),
        ),
    };
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Fri, 04 Dec 2026 12:00:00 +0100\r\n{threading}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\nAm 04.12.2026 um 10:00 schrieb Example Agency:\r\n{quoted}"
    )
    .into_bytes()
}

async fn engagement() -> TestApp {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    t.app.outbox().drain().await.unwrap();
    t
}

async fn kinds_queued(t: &TestApp) -> Vec<String> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT kind FROM outbox ORDER BY id")
            .fetch_all(c)
            .await
    })
    .unwrap()
}

async fn answers(t: &TestApp) -> Vec<(String, String)> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as("SELECT key, value FROM survey_answer ORDER BY number")
            .fetch_all(c)
            .await
    })
    .unwrap()
}

/// Delivers `raw`, whose Message-ID is `<id>`, as `file` and reads it: it must be read as a
/// reply (`what` names the case in the failure).
async fn read_reply(t: &TestApp, file: &str, raw: &[u8], id: &str, what: &str) {
    t.deliver(file, raw);
    t.app.reader().drain().await.unwrap();
    let (classification, reason) = reason_of(t, &format!("<{id}>")).await;
    assert_eq!(classification, "reply", "{what}: {reason}");
}

async fn reason_of(t: &TestApp, message_id: &str) -> (String, String) {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as("SELECT classification, reason FROM inbound_message WHERE message_id = $1")
            .bind(message_id)
            .fetch_one(c)
            .await
    })
    .unwrap()
}

/// Acceptance 3 and 4: numbered survey answers, matched by each path alone, are stored; the
/// client is thanked in the same thread; a low score reaches the operator within one pass.
#[tokio::test]
async fn numbered_survey_answers_by_each_path_and_a_low_score_alert() {
    for (n, path) in PATHS.into_iter().enumerate() {
        let t = engagement().await;
        t.app.send_survey_now(1).await.unwrap();
        t.app.outbox().drain().await.unwrap();
        let survey = sent_mail(&t, "survey").await;
        assert!(survey.text.contains("1. Wie zufrieden"), "{}", survey.text);
        let id = format!("answer{n}@acme.example");
        t.deliver(
            "answer.eml",
            &reply(
                "Anna Berg <anna@acme.example>",
                &survey,
                path,
                &id,
                "Hallo,\r\n\r\n1: 2\r\n2) 4/5\r\nQ3 - ja\r\n4: Die Antworten kommen oft spät.\r\n\r\nViele Grüße\r\nAnna",
            ),
        );
        let before = t.sent_files().len();
        // One pass of the daemon: read, schedule, send.
        t.app.run_once().await.unwrap();
        let (classification, reason) = reason_of(&t, &format!("<{id}>")).await;
        assert_eq!(classification, "reply", "{path:?}: {reason}");
        assert_eq!(
            answers(&t).await,
            [
                ("satisfaction".to_string(), "2".to_string()),
                ("communication".to_string(), "4".to_string()),
                ("continue".to_string(), "true".to_string()),
                (
                    "comments".to_string(),
                    "\"Die Antworten kommen oft spät.\"".to_string()
                ),
            ],
            "{path:?}"
        );
        let kinds = kinds_queued(&t).await;
        assert!(
            kinds.ends_with(&["survey_thanks".into(), "score_alert".into()]),
            "{kinds:?}"
        );
        assert_eq!(
            t.sent_files().len(),
            before + 2,
            "thanks and alert sent in the pass"
        );
        let alert = std::fs::read(t.sent_files().last().unwrap()).unwrap();
        let alert = MessageParser::default().parse(&alert).unwrap();
        assert_eq!(
            alert.to().unwrap().first().unwrap().address(),
            Some("operator@example.org")
        );
        let thanks = sent_mail_raw(&t, "survey_thanks").await;
        assert_eq!(
            thanks.in_reply_to().as_text(),
            Some(id.as_str()),
            "the thanks is threaded under the answer"
        );
        let shown = t.tandem(&["survey", "show", "1", "--json"]);
        assert!(shown.status.success(), "{}", describe(&shown));
        let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(shown["answers"][0]["value"], 2);
        assert!(shown["answered_at"].is_string());
    }
}

async fn sent_mail_raw(t: &TestApp, kind: &str) -> mail_parser::Message<'static> {
    let raw: Vec<u8> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = $1 ORDER BY o.id DESC LIMIT 1",
        )
        .bind(kind)
        .fetch_one(c)
        .await
    })
    .unwrap();
    MessageParser::default().parse(&raw).unwrap().into_owned()
}

/// Answers written under the quoted questions, partly: the missing one is named in the thanks.
#[tokio::test]
async fn inline_partial_answers_name_what_is_missing() {
    for (n, path) in PATHS.into_iter().enumerate() {
        let t = engagement().await;
        t.app.send_survey_now(1).await.unwrap();
        let survey = sent_mail(&t, "survey").await;
        // Anna answers between the quoted lines; question 2 she leaves out.
        let mut body = String::from("Hallo,\r\n\r\n");
        for line in survey.text.lines() {
            body.push_str(&format!("> {line}\r\n"));
            if line.starts_with("1. ") {
                body.push_str("5\r\n");
            } else if line.starts_with("3. ") {
                body.push_str("Ja\r\n");
            } else if line.starts_with("4. ") {
                body.push_str("Weiter so!\r\n");
            }
        }
        let id = format!("inline{n}@acme.example");
        let mut raw = reply("Anna Berg <anna@acme.example>", &survey, path, &id, "");
        // Replace the quoted original with the interleaved one.
        let cut = String::from_utf8(raw.clone()).unwrap();
        let head = cut.split("\r\n\r\n").next().unwrap();
        raw = format!("{head}\r\n\r\n{body}").into_bytes();
        read_reply(&t, "inline.eml", &raw, &id, &format!("{path:?}")).await;
        assert_eq!(
            answers(&t).await,
            [
                ("satisfaction".to_string(), "5".to_string()),
                ("continue".to_string(), "true".to_string()),
                ("comments".to_string(), "\"Weiter so!\"".to_string()),
            ],
            "{path:?}"
        );
        let thanks = sent_mail_raw(&t, "survey_thanks").await;
        let text = thanks.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(
            text.contains("2. Wie gut klappt die Kommunikation"),
            "{text}"
        );
        assert!(!kinds_queued(&t).await.contains(&"score_alert".to_string()));

        // The thanks asks for the missing answer by reply: Anna answers it (by the same path
        // alone), low. It is stored with the others, and the operator is alerted at once.
        let thanks = sent_mail(&t, "survey_thanks").await;
        let id = format!("missing{n}@acme.example");
        let raw = reply("Anna Berg <anna@acme.example>", &thanks, path, &id, "2: 1");
        read_reply(&t, "missing.eml", &raw, &id, &format!("{path:?}")).await;
        assert_eq!(
            answers(&t).await,
            [
                ("satisfaction".to_string(), "5".to_string()),
                ("communication".to_string(), "1".to_string()),
                ("continue".to_string(), "true".to_string()),
                ("comments".to_string(), "\"Weiter so!\"".to_string()),
            ],
            "{path:?}"
        );
        assert!(kinds_queued(&t).await.contains(&"score_alert".to_string()));
        // The alert lists every answer so far, the first reply's comment too.
        let alert = sent_mail_raw(&t, "score_alert").await;
        let text = alert.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(text.contains("Weiter so!"), "{text}");
    }
}

/// A "no" to whether the collaboration should go on as it is (the shipped `continue`, with
/// `alert_on_no`) alerts the operator at once, as a low score does (a "yes" alerts no one:
/// `numbered_survey_answers_by_each_path_and_a_low_score_alert`).
#[tokio::test]
async fn a_no_to_going_on_as_it_is_alerts_the_operator_at_once() {
    let t = survey_answered(
        "go-on@acme.example",
        "Hallo,\r\n\r\n1: 4\r\n2: 5\r\n3: nein",
    )
    .await;
    assert!(kinds_queued(&t).await.contains(&"score_alert".to_string()));
    let alert = sent_mail_raw(&t, "score_alert").await;
    let text = alert.body_text(0).unwrap().replace("\r\n", "\n");
    // The "no" alone is listed, without a scale's top; the scores above the threshold not.
    let listed = text.split("\n\n").nth(2).unwrap_or_default();
    assert!(
        listed
            .contains("3. Soll die Zusammenarbeit so weitergehen wie bisher? (ja/nein)\n    nein"),
        "{text}"
    );
    assert!(
        !listed.contains("1. ") && !listed.contains(" von "),
        "{text}"
    );
}

/// The engagement's first survey, answered by Anna's reply (`In-Reply-To`) with `body`.
async fn survey_answered(id: &str, body: &str) -> TestApp {
    let t = engagement().await;
    t.app.send_survey_now(1).await.unwrap();
    let survey = sent_mail(&t, "survey").await;
    let raw = reply(
        "Anna Berg <anna@acme.example>",
        &survey,
        Path::InReplyTo,
        id,
        body,
    );
    read_reply(&t, &format!("{id}.eml"), &raw, id, id).await;
    t
}

/// Answers that cannot be used (a 7 on a scale of 5, a word for a number) are named once, with
/// why, and the thanks asks for each question once, not for those as missing too.
#[tokio::test]
async fn unusable_answers_are_asked_for_once() {
    let body = "Hallo,\r\n\r\n1: 7\r\n2: gut\r\n3: ja\r\n\r\nAnna";
    let t = survey_answered("unusable@acme.example", body).await;
    let thanks = sent_mail(&t, "survey_thanks").await;
    for (number, times) in [(1, 1), (2, 1), (3, 0), (4, 1)] {
        let asked = thanks
            .text
            .lines()
            .filter(|l| l.trim() == format!("{number}: ..."))
            .count();
        assert_eq!(asked, times, "question {number} in:\n{}", thanks.text);
    }
    let named = |number: usize| {
        thanks
            .text
            .lines()
            .filter(|l| l.starts_with(&format!("{number}. ")))
            .count()
    };
    assert_eq!((named(1), named(2), named(4)), (1, 1, 1), "{}", thanks.text);
}

/// The trial review: yes makes the engagement active, no alerts the operator.
#[tokio::test]
async fn trial_review_yes_and_no_by_each_path() {
    for (n, path) in PATHS.into_iter().enumerate() {
        for (answer, status, alerted) in [
            ("Ja, sehr gerne! Wir sind sehr zufrieden.", "active", false),
            (
                "Nein, leider passt es nicht.\r\nDie Zeiten sind zu knapp.",
                "trial",
                true,
            ),
        ] {
            let t = engagement().await;
            // Wednesday 23 Dec 2026, 10:00 in Berlin: the review goes out.
            t.clock
                .set(Utc.with_ymd_and_hms(2026, 12, 23, 9, 0, 0).unwrap());
            t.app.scheduler().step().await.unwrap();
            let review = sent_mail(&t, "trial_review").await;
            let id = format!("trial{n}{alerted}@acme.example");
            t.deliver(
                "trial.eml",
                &reply("Anna Berg <anna@acme.example>", &review, path, &id, answer),
            );
            t.app.reader().drain().await.unwrap();
            let (classification, reason) = reason_of(&t, &format!("<{id}>")).await;
            assert_eq!(classification, "reply", "{path:?}: {reason}");
            let got: String = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
                sqlx::query_scalar("SELECT status FROM engagement WHERE id = 1")
                    .fetch_one(c)
                    .await
            })
            .unwrap();
            assert_eq!(got, status, "{path:?} {answer}");
            let kinds = kinds_queued(&t).await;
            assert_eq!(
                kinds.contains(&"trial_alert".to_string()),
                alerted,
                "{kinds:?}"
            );
            assert!(kinds.contains(&"trial_review_thanks".to_string()));
            if alerted {
                let alert = sent_mail_raw(&t, "trial_alert").await;
                let text = alert.body_text(0).unwrap().to_string();
                assert!(text.contains("Die Zeiten sind zu knapp."), "{text}");
                // No second alert for silence after the trial's end.
                t.clock
                    .set(Utc.with_ymd_and_hms(2026, 12, 29, 12, 0, 0).unwrap());
                t.app.scheduler().step().await.unwrap();
                let alerts = kinds_queued(&t)
                    .await
                    .iter()
                    .filter(|k| *k == "trial_alert")
                    .count();
                assert_eq!(alerts, 1);
            }
        }
    }
}

pub fn with_pdf(raw: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let head = head.replace(
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: multipart/mixed; boundary=\"b1\"",
    );
    format!(
        "{head}\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--b1\r\n\
         Content-Type: application/pdf; name=\"avv-unterschrieben.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"avv-unterschrieben.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// A reply to an agreement reminder: "signed" sets the side's agreements `received`; a PDF
/// is kept with the agreement it names; the operator confirms with `agreement sign`.
#[tokio::test]
async fn agreement_replies_by_each_path() {
    for (n, path) in PATHS.into_iter().enumerate() {
        let t = engagement().await;
        t.app.remind_agreements_now(1).await.unwrap();
        let reminder = sent_mail(&t, "agreement_reminder").await;
        // The newest reminder is the assistant's; take the client's.
        let raw: Vec<u8> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_scalar(
                "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = 'agreement_reminder' AND o.recipient = 'anna@acme.example'",
            )
            .fetch_one(c)
            .await
        })
        .unwrap();
        let m = MessageParser::default().parse(&raw).unwrap();
        let token = tandem::outbound::tokens_in(m.subject().unwrap())
            .pop()
            .unwrap();
        let to_anna = SentMail {
            message_id: format!("<{}>", m.message_id().unwrap()),
            subject: m.subject().unwrap().replace(&format!(" [#{token}]"), ""),
            text: m.body_text(0).unwrap().to_string(),
            token,
        };
        assert_ne!(to_anna.token, reminder.token);

        // With the PDF of the data-processing agreement.
        let id = format!("pdf{n}@acme.example");
        let raw = with_pdf(reply(
            "Anna Berg <anna@acme.example>",
            &to_anna,
            path,
            &id,
            "Guten Tag,\r\nanbei der unterschriebene Auftragsverarbeitungsvertrag (AVV).\r\n\r\nAnna Berg",
        ));
        t.deliver("pdf.eml", &raw);
        t.app.reader().drain().await.unwrap();
        let (classification, reason) = reason_of(&t, &format!("<{id}>")).await;
        assert_eq!(classification, "reply", "{path:?}: {reason}");
        let listed = t.tandem(&["agreement", "list", "--engagement", "1", "--json"]);
        let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        let state = |kind: &str| {
            listed
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["kind"] == kind)
                .map(|a| {
                    (
                        a["status"].as_str().unwrap().to_string(),
                        a["documents"].as_i64().unwrap(),
                    )
                })
                .unwrap()
        };
        assert_eq!(
            state("dpa"),
            ("received".to_string(), 1),
            "{path:?}: {reason}"
        );
        assert_eq!(state("contract"), ("pending".to_string(), 0));

        // "Alles unterschrieben" without naming one: every agreement of the client's side.
        let id = format!("signed{n}@acme.example");
        t.deliver(
            "signed.eml",
            &reply(
                "Anna Berg <anna@acme.example>",
                &to_anna,
                path,
                &id,
                "Alles unterschrieben, danke!",
            ),
        );
        t.app.reader().drain().await.unwrap();
        let listed = t.tandem(&["agreement", "list", "--pending", "--json"]);
        let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        let statuses: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["received"; 5], "{listed}");
        let thanks = kinds_queued(&t)
            .await
            .iter()
            .filter(|k| *k == "agreement_received")
            .count();
        assert_eq!(thanks, 2);
        // What both sign is still owed by Sam: only he is reminded now.
        let reminded = t.app.remind_agreements_now(1).await.unwrap();
        assert_eq!(reminded, [tandem::domain::Party::Assistant]);
        // The operator confirms.
        let signed = t.tandem(&["agreement", "sign", "1", "dpa", "--date", "2026-11-26"]);
        assert!(signed.status.success(), "{}", describe(&signed));
    }
}

/// A token carried by someone the mail was not sent to is not trusted: the message goes to a
/// person and changes nothing.
#[tokio::test]
async fn a_token_from_another_sender_is_not_trusted() {
    for (n, path) in PATHS.into_iter().enumerate() {
        let t = engagement().await;
        t.app.send_survey_now(1).await.unwrap();
        let survey = sent_mail(&t, "survey").await;
        for (i, from) in ["Ben Roth <ben@acme.example>", "Mallory <m@evil.example>"]
            .into_iter()
            .enumerate()
        {
            let id = format!("untrusted{n}{i}@x.example");
            t.deliver(
                &format!("{i}.eml"),
                &reply(from, &survey, path, &id, "1: 1\r\n2: 1"),
            );
            t.app.reader().drain().await.unwrap();
            let (classification, reason) = reason_of(&t, &format!("<{id}>")).await;
            assert_eq!(classification, "unrecognised", "{path:?}");
            assert!(reason.contains("not trusted"), "{reason}");
        }
        assert!(answers(&t).await.is_empty());
        assert!(!kinds_queued(&t).await.contains(&"score_alert".to_string()));
        let files = t.mailbox_files();
        assert_eq!(
            files
                .iter()
                .filter(|f| f.starts_with(".Attention/"))
                .count(),
            2,
            "{files:?}"
        );
    }
}

/// `survey send`, `agreement remind` and `schedule preview` from the command line.
#[tokio::test]
async fn operator_commands() {
    let t = engagement().await;
    let sent = t.tandem(&["survey", "send", "1"]);
    assert!(sent.status.success(), "{}", describe(&sent));
    let listed = t.tandem(&["survey", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let reminded = t.tandem(&["agreement", "remind", "1"]);
    assert!(reminded.status.success(), "{}", describe(&reminded));
    assert!(
        String::from_utf8_lossy(&reminded.stdout).contains("client and the assistant"),
        "{}",
        describe(&reminded)
    );
    let unknown = t.tandem(&["survey", "send", "9"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no engagement 9"));
    let preview = t.tandem(&[
        "schedule",
        "preview",
        "--engagement",
        "1",
        "--until",
        "2099-01-01",
        "--json",
    ]);
    assert!(preview.status.success(), "{}", describe(&preview));
    let rows: serde_json::Value = serde_json::from_slice(&preview.stdout).unwrap();
    let kinds: std::collections::BTreeSet<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains("survey") && kinds.contains("hours_nudge"),
        "{kinds:?}"
    );
    // Without --engagement the operator's weekly digest is listed too.
    let all = t.tandem(&["schedule", "preview", "--until", "2099-01-01", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "digest" && r["engagement_id"].is_null()),
        "{}",
        describe(&all)
    );
    let past = t.tandem(&["schedule", "preview", "--until", "2000-01-01"]);
    assert!(!past.status.success());
}

/// Acceptance 5: the same over a real IMAP mailbox (Dovecot) and SMTP server (smtp-sink): the
/// scheduled survey arrives at the SMTP server, the answer appended over IMAP is read, its
/// low score reaches the operator in the same pass, and a PDF reply to an agreement reminder
/// is kept.
#[tokio::test]
async fn over_imap_and_smtp() {
    use crate::servers::{Dovecot, Tls};
    use crate::sink::SmtpSink;
    let dovecot = Dovecot::shared();
    let account = dovecot.add_user();
    let sink = SmtpSink::start(&[]);
    let t = crate::helpers::spawn_app_with(|dir, text| {
        sink.config(&dovecot.tandem_config(dir, &text, &account, Tls::Starttls))
    })
    .await;
    t.add_people().await;
    t.start_engagement().await;
    // Friday 4 Dec 2026, 10:00 in Berlin: the first survey and the first reminders are due.
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap());
    t.app.run_once().await.unwrap();
    let survey = sent_mail(&t, "survey").await;
    let arrived = |needle: &str| {
        sink.messages()
            .into_iter()
            .filter(|raw| String::from_utf8_lossy(raw).contains(needle))
            .count()
    };
    assert_eq!(arrived(&format!("Message-ID: {}", survey.message_id)), 1);

    let answer = reply(
        "Anna Berg <anna@acme.example>",
        &survey,
        Path::InReplyTo,
        "imap-answer@acme.example",
        "1: 1\r\n2: 2\r\n3: nein\r\n4: Leider gar nicht zufrieden.",
    );
    dovecot.append(&account, &answer).await;
    let reminder: Vec<u8> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = 'agreement_reminder' AND o.recipient = 'anna@acme.example'",
        )
        .fetch_one(c)
        .await
    })
    .unwrap();
    let m = MessageParser::default().parse(&reminder).unwrap();
    let to_anna = SentMail {
        message_id: format!("<{}>", m.message_id().unwrap()),
        subject: m.subject().unwrap().to_string(),
        text: m.body_text(0).unwrap().to_string(),
        token: String::new(),
    };
    let signed = with_pdf(reply(
        "Anna Berg <anna@acme.example>",
        &to_anna,
        Path::InReplyTo,
        "imap-signed@acme.example",
        "Anbei der Auftragsverarbeitungsvertrag, unterschrieben.",
    ));
    dovecot.append(&account, &signed).await;

    t.app.run_once().await.unwrap();
    assert!(dovecot.list(&account, "INBOX").await.is_empty());
    assert_eq!(dovecot.list(&account, "Processed").await.len(), 2);
    assert_eq!(answers(&t).await.len(), 4);
    assert_eq!(
        arrived("In-Reply-To: <imap-answer@acme.example>"),
        1,
        "the thanks"
    );
    let alerts: Vec<String> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT message_id FROM outbox WHERE kind = 'score_alert'")
            .fetch_all(c)
            .await
    })
    .unwrap();
    assert_eq!(alerts.len(), 1, "one low-score alert to the operator");
    assert_eq!(arrived(&format!("Message-ID: {}", alerts[0])), 1);
    let documents: i64 = t.count("agreement_document").await;
    assert_eq!(documents, 1);
    assert_eq!(t.count("document").await, 1, "each PDF is stored once");
    assert_eq!(arrived("In-Reply-To: <imap-signed@acme.example>"), 1);
}
