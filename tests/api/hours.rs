use mail_parser::MessageParser;

use crate::helpers::{describe, message, spawn_app};

/// Reads the newest `.eml` in the outbox folder.
fn last_sent(t: &crate::helpers::TestApp) -> (String, String, Vec<u8>) {
    let path = t.sent_files().pop().expect("nothing was sent");
    let raw = std::fs::read(&path).unwrap();
    let m = MessageParser::default().parse(&raw).unwrap();
    let subject = m.subject().unwrap().to_string();
    let text = m.body_text(0).unwrap().replace("\r\n", "\n");
    (subject, text, raw)
}

/// Acceptance: an assistant's mail yields stored entries and a receipt; a `cancel` reply to the
/// receipt voids them; the month's CSV export matches what is logged.
#[tokio::test]
async fn hours_by_mail_receipt_cancel_and_export() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    t.app.outbox().drain().await.unwrap();
    let welcome_mails = t.sent_files().len();

    // Thursday 26 Nov 2026, 09:30 in Lisbon.
    let hours = message(
        "Sam Lee <sam@va.example>",
        "<h1@va.example>",
        "Hours",
        "",
        "Hi Anna,\n\nhere are my hours:\n\n2026-11-23 2.5h Invoices and reminders\nyesterday 1:30 calendar cleanup\n\
         Tue inbox zero\n\nThanks!\nSam",
    );
    t.deliver("1.hours", &hours);
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();

    let listed = t.tandem(&["hours", "list", "--json"]);
    assert!(listed.status.success(), "{}", describe(&listed));
    let entries: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let summary: Vec<(String, i64, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["work_date"].as_str().unwrap().to_string(),
                e["minutes"].as_i64().unwrap(),
                e["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "2026-11-23".to_string(),
                150,
                "Invoices and reminders".to_string()
            ),
            ("2026-11-25".to_string(), 90, "calendar cleanup".to_string()),
        ]
    );

    // The receipt: threaded under Sam's mail, with the entries, the week's total and the
    // rejected line with its reason.
    assert_eq!(t.sent_files().len(), welcome_mails + 1);
    let (subject, text, raw) = last_sent(&t);
    let receipt = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(receipt.in_reply_to().as_text(), Some("h1@va.example"));
    assert_eq!(
        receipt.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert!(subject.starts_with("Re: Hours [#"), "{subject}");
    assert!(
        text.contains("Invoices and reminders") && text.contains("2:30 h"),
        "{text}"
    );
    assert!(text.contains("4:00 h"), "the week's total:\n{text}");
    assert!(
        text.contains("Tue inbox zero"),
        "the rejected line:\n{text}"
    );
    let receipt_id = receipt.message_id().unwrap().to_string();

    // Sam replies "cancel" from his phone, quoting the receipt.
    let cancel = message(
        "Sam Lee <sam@va.example>",
        "<c1@va.example>",
        &format!("Re: {subject}"),
        &format!("In-Reply-To: <{receipt_id}>\r\nReferences: <h1@va.example> <{receipt_id}>\r\n"),
        &format!(
            "cancel\n\nSent from my iPhone\n\n> {}",
            text.replace('\n', "\n> ")
        ),
    );
    t.deliver("2.cancel", &cancel);
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let listed = t.tandem(&["hours", "list", "--json"]);
    let entries: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        entries,
        serde_json::json!([]),
        "the cancelled entries no longer count"
    );
    let (_, text, raw) = last_sent(&t);
    let confirmation = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(confirmation.in_reply_to().as_text(), Some("c1@va.example"));
    assert!(
        text.contains("Invoices and reminders"),
        "the confirmation lists what was voided:\n{text}"
    );

    // Corrected hours; the export of November holds exactly them.
    let corrected = message(
        "Sam Lee <sam.lee@gmail.example>",
        "<h2@va.example>",
        "Hours (corrected)",
        "",
        "23.11. 2,5 Std. Invoices, \"urgent\" ones\n25.11. 1h15m calendar cleanup",
    );
    t.deliver("3.hours", &corrected);
    t.app.reader().drain().await.unwrap();
    let export = t.tandem(&["hours", "export", "--month", "2026-11"]);
    assert!(export.status.success(), "{}", describe(&export));
    assert_eq!(
        String::from_utf8(export.stdout).unwrap(),
        "date,assistant,client,minutes,hours,description,rate,amount\n\
         2026-11-23,Sam Lee,acme,150,2.50,\"Invoices, \"\"urgent\"\" ones\",45.00,112.50\n\
         2026-11-25,Sam Lee,acme,75,1.25,calendar cleanup,45.00,56.25\n"
    );
    let december = t.tandem(&["hours", "export", "--month", "2026-12"]);
    assert_eq!(
        String::from_utf8(december.stdout).unwrap(),
        "date,assistant,client,minutes,hours,description,rate,amount\n"
    );

    // The operator locks November: later hours for it are rejected with the reason.
    let lock = t.tandem(&["hours", "lock", "--month", "2026-11"]);
    assert!(lock.status.success(), "{}", describe(&lock));
    t.deliver(
        "4.late",
        &message(
            "sam@va.example",
            "<h3@va.example>",
            "late",
            "",
            "24.11. 1h calls",
        ),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let (_, text, _) = last_sent(&t);
    assert!(
        text.contains("24.11. 1h calls") && text.contains("2026-11"),
        "{text}"
    );
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 2);

    // A void by the operator.
    let void = t.tandem(&["hours", "void", "1"]);
    assert!(
        !void.status.success(),
        "entry 1 was voided by the cancel already"
    );
    let first_logged: i64 = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT MIN(id) FROM time_entry WHERE status = 'logged'")
            .fetch_one(c)
            .await
    })
    .unwrap();
    let void = t.tandem(&["hours", "void", &first_logged.to_string()]);
    assert!(void.status.success(), "{}", describe(&void));
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 1);
}

/// Mail from an assistant that holds no time log (a sick note) is for a person: no receipt.
#[tokio::test]
async fn a_note_without_hours_goes_to_a_person() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    t.app.outbox().drain().await.unwrap();
    let before = t.sent_files().len();
    t.deliver(
        "1.sick",
        &message(
            "sam@va.example",
            "<s1@va.example>",
            "sick",
            "",
            "Hi, I am sick today and will not work.\nSam",
        ),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    assert_eq!(t.sent_files().len(), before);
    assert_eq!(t.mailbox_files(), [".Attention/new/1.sick"]);
}
