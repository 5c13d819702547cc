use chrono::Datelike;
use mail_parser::MessageParser;

use crate::helpers::{TestApp, describe, message, spawn_app, spawn_app_with};

/// Reads the newest `.eml` in the outbox folder.
fn last_sent(t: &TestApp) -> (String, String, Vec<u8>) {
    let path = t.sent_files().pop().expect("nothing was sent");
    let raw = std::fs::read(&path).unwrap();
    let m = MessageParser::default().parse(&raw).unwrap();
    let subject = m.subject().unwrap().to_string();
    let text = m.body_text(0).unwrap().replace("\r\n", "\n");
    (subject, text, raw)
}

/// Sam's time log `body` under the Message-ID `<ID@va.example>`, read and answered: the
/// receipt's text.
async fn sam_logs(t: &TestApp, id: &str, body: &str) -> String {
    let from = "Sam Lee <sam@va.example>";
    let mail = message(from, &format!("<{id}@va.example>"), "Hours", "", body);
    t.deliver(&format!("{id}.hours"), &mail);
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    last_sent(t).1
}

/// Acceptance: an assistant's mail yields stored entries and a receipt; a `cancel` reply to the
/// receipt voids them; the month's CSV export matches what is logged.
#[tokio::test]
async fn hours_by_mail_receipt_cancel_and_export() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
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

    // A void by the operator: refused while November is locked (billed), done once it is
    // unlocked.
    // Entry 1 was voided by the cancel already: a second void is a no-op that says so, as
    // `hours lock` of a locked month is.
    let void = t.tandem(&["hours", "void", "1"]);
    assert!(void.status.success(), "{}", describe(&void));
    assert_eq!(
        String::from_utf8_lossy(&void.stdout),
        "time entry 1 was void already\n"
    );
    let first_logged = t
        .scalar("SELECT MIN(id) FROM time_entry WHERE status = 'logged'")
        .await
        .to_string();
    let void = t.tandem(&["hours", "void", &first_logged]);
    assert_refused(
        &void,
        &format!(
            "time entry {first_logged} is dated 2026-11-23, and 2026-11 is locked (billed): \
             unlock it first with `tandem hours unlock --month 2026-11`"
        ),
    );
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 2);
    let unlock = t.tandem(&["hours", "unlock", "--month", "2026-11"]);
    assert!(unlock.status.success(), "{}", describe(&unlock));
    let void = t.tandem(&["hours", "void", &first_logged]);
    assert!(void.status.success(), "{}", describe(&void));
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 1);

    // The operator's void undone (`hours restore`): refused while November is locked again,
    // done once it is unlocked, refused for an entry that counts and for one that is not.
    let lock = t.tandem(&["hours", "lock", "--month", "2026-11"]);
    assert!(lock.status.success(), "{}", describe(&lock));
    let restore = t.tandem(&["hours", "restore", &first_logged]);
    assert_refused(
        &restore,
        &format!(
            "time entry {first_logged} is dated 2026-11-23, and 2026-11 is locked (billed): \
             unlock it first with `tandem hours unlock --month 2026-11`"
        ),
    );
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 1);
    let unlock = t.tandem(&["hours", "unlock", "--month", "2026-11"]);
    assert!(unlock.status.success(), "{}", describe(&unlock));
    let restore = t.tandem(&["hours", "restore", &first_logged]);
    assert!(restore.status.success(), "{}", describe(&restore));
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 2);
    let again = t.tandem(&["hours", "restore", &first_logged]);
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        format!("time entry {first_logged} is not void: it counts already\n")
    );
    let missing = t.tandem(&["hours", "restore", "999"]);
    assert_refused(&missing, "there is no time entry 999");
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 2);
}

/// The command failed, said `expected` on stderr and nothing on stdout.
fn assert_refused(output: &std::process::Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains(expected) && output.stdout.is_empty(),
        "expected a refusal saying {expected:?}\n{}",
        describe(output)
    );
}

/// A receipt's `cancel` reply (`body`) for Sam's mail `hours_id`, answering the receipt in
/// `sent`.
fn cancel_reply(
    sent: &(String, String, Vec<u8>),
    hours_id: &str,
    cancel_id: &str,
    body: &str,
) -> Vec<u8> {
    let (subject, _, raw) = sent;
    let receipt = MessageParser::default().parse(raw).unwrap();
    let receipt_id = receipt.message_id().unwrap();
    message(
        "Sam Lee <sam@va.example>",
        cancel_id,
        &format!("Re: {subject}"),
        &format!("In-Reply-To: <{receipt_id}>\r\nReferences: {hours_id} <{receipt_id}>\r\n"),
        body,
    )
}

/// Issue 16, item 3: a billed month stays as billed. `hours lock` takes only a month that has
/// ended, `hours void` and a `cancel` reply change nothing in a locked month (the reply is
/// answered with the reason), and `hours unlock` reopens it.
#[tokio::test]
async fn a_locked_month_stays_as_billed_until_it_is_unlocked() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    t.deliver(
        "1.hours",
        &message(
            "Sam Lee <sam@va.example>",
            "<h1@va.example>",
            "Hours",
            "",
            "2026-11-23 2h invoices\n2026-11-24 1h calls",
        ),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let receipt = last_sent(&t);
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 2);

    // The binary runs on the wall clock: a month that has not ended is refused, whichever it
    // is (the next month never has; the 31st century will not have).
    let today = chrono::Utc::now().date_naive();
    let next_month = today
        .with_day(1)
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap()
        .format("%Y-%m")
        .to_string();
    for month in [next_month.as_str(), "2999-12"] {
        let lock = t.tandem(&["hours", "lock", "--month", month]);
        assert_refused(&lock, &format!("{month} has not ended yet"));
    }
    assert_eq!(t.count("locked_month").await, 0);
    let unlock = t.tandem(&["hours", "unlock", "--month", "2026-11"]);
    assert!(unlock.status.success(), "{}", describe(&unlock));
    assert_eq!(
        String::from_utf8_lossy(&unlock.stdout),
        "2026-11 was not locked (no month is locked)\n"
    );

    let lock = t.tandem(&["hours", "lock", "--month", "2026-11"]);
    assert!(lock.status.success(), "{}", describe(&lock));
    let lock = t.tandem(&["hours", "lock", "--month", "2026-10"]);
    assert!(lock.status.success(), "{}", describe(&lock));

    // Sam's `storno` voids nothing, and his answer says why.
    let before = t.sent_files().len();
    t.deliver(
        "2.cancel",
        &cancel_reply(&receipt, "<h1@va.example>", "<c1@va.example>", "storno"),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 2);
    assert_eq!(t.count("submission WHERE status = 'logged'").await, 1);
    assert_eq!(t.sent_files().len(), before + 1);
    let (_, text, raw) = last_sent(&t);
    let answer = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(answer.in_reply_to().as_text(), Some("c1@va.example"));
    assert!(
        text.contains(
            "Nothing was cancelled: November 2026 has been billed and is closed; ask the agency to \
             correct it."
        ) && text.contains("Your hours stay logged as they were."),
        "{text}"
    );
    assert!(!text.contains("Send the corrected hours"), "{text}");

    // The operator's void is refused too; unlocked, the month can be corrected again.
    let unlock = t.tandem(&["hours", "unlock", "--month", "2026-09"]);
    assert!(unlock.status.success(), "{}", describe(&unlock));
    assert_eq!(
        String::from_utf8_lossy(&unlock.stdout),
        "2026-09 was not locked (locked: 2026-10, 2026-11)\n"
    );
    let unlock = t.tandem(&["hours", "unlock", "--month", "2026-11"]);
    assert!(unlock.status.success(), "{}", describe(&unlock));
    assert_eq!(
        String::from_utf8_lossy(&unlock.stdout),
        "2026-11 is unlocked: hours can be logged and voided in it again\n"
    );
    assert_eq!(t.count("locked_month").await, 1);
    t.deliver(
        "3.cancel",
        &cancel_reply(&receipt, "<h1@va.example>", "<c2@va.example>", "storno"),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 0);
    let (_, text, _) = last_sent(&t);
    assert!(text.contains("Cancelled as you asked"), "{text}");
}

/// Issue 16, item 4: hours dated before the engagement's start are rejected in the receipt
/// with the reason, as a future date is, and so are never exported.
#[tokio::test]
async fn hours_before_the_engagement_started_are_rejected_with_the_reason() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    let text = sam_logs(
        &t,
        "h1",
        "2026-11-20 3h onboarding prep\n2026-11-23 2h invoices",
    )
    .await;
    assert!(
        text.contains("“2026-11-20 3h onboarding prep”")
            && text.contains(
                "The work for Acme GmbH starts on 23 November 2026: this line is dated before \
                 that."
            ),
        "{text}"
    );
    let export = t.tandem(&["hours", "export", "--month", "2026-11"]);
    assert!(export.status.success(), "{}", describe(&export));
    assert_eq!(
        String::from_utf8(export.stdout).unwrap(),
        "date,assistant,client,minutes,hours,description,rate,amount\n\
         2026-11-23,Sam Lee,acme,120,2.00,invoices,45.00,90.00\n"
    );
    let row = t
        .scalar("SELECT COUNT(*) FROM inbound_message WHERE reason LIKE '%1 entry accepted, 1 line rejected'")
        .await;
    assert_eq!(row, 1, "the audit trail counts the rejected line");
}

/// Issue 16, item 5: `morgen 2h Termine` is tomorrow's work, rejected as in the future and
/// not offered with today's date; `26h` is more than a day, not 26 minutes.
#[tokio::test]
async fn tomorrow_and_a_line_over_a_day_are_rejected_without_a_misleading_example() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    // Thursday 26 Nov 2026 in Lisbon.
    let text = sam_logs(
        &t,
        "h1",
        "2026-11-23 1h calls\nmorgen 2h Termine\ntomorrow 1h prep\nyesterday 26h trade fair",
    )
    .await;
    for expected in [
        "“morgen 2h Termine”\n    27 November 2026 is in the future.\n    Write it like this: 2026-11-27 2h Termine",
        "“tomorrow 1h prep”\n    27 November 2026 is in the future.\n    Write it like this: 2026-11-27 1h prep",
        "“yesterday 26h trade fair”\n    26 hours on one line are more than 24 hours.\n    Write it like this: 2026-11-25 1.5h trade fair",
    ] {
        assert!(text.contains(expected), "{expected}\n---\n{text}");
    }
    assert!(!text.contains("26 min"), "{text}");
    assert!(!text.contains("2026-11-26 2h"), "{text}");
    assert_eq!(t.count("time_entry").await, 1);
}

/// A time log longer than `[limits] text_bytes` is read up to the line the limit falls in: the
/// lines before are logged, the cut line is not read as something else (`12h` as `1`), and the
/// receipt says that what came after was not read.
#[tokio::test]
async fn a_time_log_cut_at_the_text_limit_says_so_in_its_receipt() {
    let t = spawn_app_with(|_, text| text.replace("text_bytes = 1048576", "text_bytes = 40")).await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    let body = "2026-11-23 1h calls\n2026-11-24 12h trade fair\n2026-11-25 1h prep";
    let text = sam_logs(&t, "cut", body).await;
    assert_eq!(t.count("time_entry").await, 1);
    assert!(
        text.contains(
            "“…”\n    The message is longer than tandem reads: nothing after this point was read."
        ),
        "{text}"
    );
    assert!(!text.contains("Write it like this: \n"), "{text}");
}

/// A `cancel` reply that carries the corrected hours, cut at `[limits] text_bytes`: the
/// corrections' receipt says that nothing after the cut was read, as a time log's does, and the
/// line the cut fell in (`12h`, which would read as `1`) is not logged.
#[tokio::test]
async fn a_cancel_whose_corrections_are_cut_at_the_text_limit_says_so() {
    let t = spawn_app_with(|_, text| text.replace("text_bytes = 1048576", "text_bytes = 40")).await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    sam_logs(&t, "h1", "2026-11-23 1h calls").await;
    let receipt = last_sent(&t);
    let before = t.sent_files().len();
    let body = "storno\n2026-11-23 2h calls\n2026-11-24 12h trade fair\n2026-11-25 1h prep";
    let reply = cancel_reply(&receipt, "<h1@va.example>", "<c1@va.example>", body);
    t.deliver("2.cancel", &reply);
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let logged: Vec<i64> = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT minutes FROM time_entry WHERE status = 'logged'")
            .fetch_all(c)
            .await
    })
    .unwrap();
    assert_eq!(
        logged,
        vec![120],
        "the first hours voided, the correction's 2h logged"
    );
    let texts: Vec<String> = t.sent_files()[before..]
        .iter()
        .map(|path| {
            let raw = std::fs::read(path).unwrap();
            let m = MessageParser::default().parse(&raw).unwrap();
            m.body_text(0).unwrap().replace("\r\n", "\n")
        })
        .collect();
    assert_eq!(
        texts.len(),
        2,
        "the cancel's confirmation and the corrections' receipt"
    );
    let cut =
        "“…”\n    The message is longer than tandem reads: nothing after this point was read.";
    assert_eq!(
        texts.iter().filter(|text| text.contains(cut)).count(),
        1,
        "{texts:#?}"
    );
    // The confirmation names the corrections it came with instead of asking for them.
    let confirmation = texts
        .iter()
        .find(|text| text.contains("Cancelled as you asked"));
    assert!(
        confirmation.is_some_and(|text| text.contains(
            "The corrected hours in your reply are logged as a new submission; its\nreceipt follows."
        ) && !text.contains("Send the corrected hours")),
        "{texts:#?}"
    );
}

/// A `cancel` with corrected hours for a submission in a billed month is refused whole: the
/// corrections (here a day of an open month, which a time log would log) are not logged beside
/// the hours that stay, and the answer and the audit trail say so.
#[tokio::test]
async fn a_refused_cancel_logs_none_of_its_corrections() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_from(chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap())
        .await;
    t.app.outbox().drain().await.unwrap();
    sam_logs(&t, "h1", "2026-10-30 1h calls").await;
    let receipt = last_sent(&t);
    let lock = t.tandem(&["hours", "lock", "--month", "2026-10"]);
    assert!(lock.status.success(), "{}", describe(&lock));
    let before = t.sent_files().len();
    let body = "storno\n2026-11-24 2h calls";
    let reply = cancel_reply(&receipt, "<h1@va.example>", "<c1@va.example>", body);
    t.deliver("2.cancel", &reply);
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    assert_eq!(t.count("time_entry").await, 1);
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 1);
    assert_eq!(
        t.sent_files().len(),
        before + 1,
        "the refusal, and no receipt"
    );
    let text = last_sent(&t).1;
    assert!(
        text.contains("Nothing was cancelled: October 2026 has been billed")
            && text.contains("The corrected hours in your reply were not logged either."),
        "{text}"
    );
    let refused = "reason LIKE '%; refused, billed: 2026-10; its corrections not logged'";
    assert_eq!(
        t.count(&format!("inbound_message WHERE {refused}")).await,
        1
    );
}

/// A receipt lists 200 entries and 200 rejected lines at most, and counts the rest: a time log
/// of thousands of lines was answered with a receipt of tens of megabytes. All are logged.
#[tokio::test]
async fn a_receipt_lists_the_first_lines_and_counts_the_rest() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    let mut body = String::new();
    for n in 0..250 {
        body.push_str(&format!(
            "2026-11-23 1min task {n}\n2026-11-24 25h fair {n}\n"
        ));
    }
    t.deliver(
        "1.hours",
        &message(
            "Sam Lee <sam@va.example>",
            "<many@va.example>",
            "Hours",
            "",
            &body,
        ),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    assert_eq!(t.count("time_entry").await, 250);
    let (_, text, raw) = last_sent(&t);
    assert_eq!(text.matches("    task ").count(), 200, "{text}");
    assert!(
        text.contains("… and 50 more entries, all logged."),
        "{text}"
    );
    assert_eq!(text.matches("“2026-11-24 25h fair ").count(), 200, "{text}");
    assert!(
        text.contains("… and 50 more lines that could not be logged."),
        "{text}"
    );
    assert!(raw.len() < 600_000, "{} bytes", raw.len());
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

/// A time log that also asks something (a question, time off) is logged and answered, and goes
/// to a person too: its receipt says so, the message waits in the attention folder, and the
/// reason quotes the line. A greeting or a signature is no reason to.
#[tokio::test]
async fn a_time_log_that_also_asks_something_goes_to_a_person_too() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    let body = "Hallo Anna,\n2026-11-23 2h Buchhaltung\nKann ich am Freitag frei haben?\n\
                Ich bin ab 7.12. im Urlaub.\nViele Grüße\nSam";
    let text = sam_logs(&t, "ask", body).await;
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 1);
    assert!(
        text.contains("went to\na person at Example Agency."),
        "{text}"
    );
    assert_eq!(t.mailbox_files(), [".Attention/new/ask.hours"]);
    let reason = "reason = 'time log: 1 entry accepted, 0 lines rejected; also for a person: \
                  “Kann ich am Freitag frei haben?” and 1 more'";
    assert_eq!(
        t.count(&format!(
            "inbound_message WHERE disposition = 'attention' AND {reason}"
        ))
        .await,
        1
    );
    let listed = t.tandem(&["attention", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("Kann ich am Freitag frei haben?"),
        "{}",
        describe(&listed)
    );

    // Hours with a greeting and a signature only: answered and processed, as before.
    let text = sam_logs(&t, "plain", "Hallo Anna,\n2026-11-24 1h Mails\nDanke!\nSam").await;
    assert!(!text.contains("a person at"), "{text}");
    assert_eq!(
        t.count("inbound_message WHERE disposition = 'processed'")
            .await,
        1
    );

    // A `cancel` that asks something: the hours are voided, and a person sees the question.
    let receipt = last_sent(&t);
    let body = "storno\nKann ich die richtigen Stunden erst morgen schicken?";
    let reply = cancel_reply(&receipt, "<plain@va.example>", "<c1@va.example>", body);
    t.deliver("c1.cancel", &reply);
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 1);
    let text = last_sent(&t).1;
    assert!(
        text.contains("Cancelled as you asked") && text.contains("went to\na person at"),
        "{text}"
    );
    let asked = "reason LIKE 'cancel reply to the receipt of submission %; also for a person: \
                 “Kann ich die richtigen Stunden erst morgen schicken?”'";
    assert_eq!(
        t.count(&format!(
            "inbound_message WHERE disposition = 'attention' AND {asked}"
        ))
        .await,
        1
    );

    // A sentence about time off beside hours is rejected as not logged, and a person sees it.
    let text = sam_logs(
        &t,
        "off",
        "2026-11-25 1h Mails\nich brauche am Freitag 2 Stunden frei",
    )
    .await;
    assert!(text.contains("went to\na person at"), "{text}");
    let off = "reason = 'time log: 1 entry accepted, 1 line rejected; also for a person: \
               “ich brauche am Freitag 2 Stunden frei”'";
    assert_eq!(
        t.count(&format!(
            "inbound_message WHERE disposition = 'attention' AND {off}"
        ))
        .await,
        1
    );
}

/// `hours restore` is refused when the entry would make the assistant's day longer than 24
/// hours with what was logged since its void (as a new line would be), and changes nothing.
#[tokio::test]
async fn a_restore_that_would_make_a_day_over_24_hours_is_refused() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    let hours = |name: &str, id: &str, line: &str| {
        t.deliver(name, &message("sam@va.example", id, "Hours", "", line));
    };
    hours("1.hours", "<h1@va.example>", "2026-11-24 10h inbox");
    t.app.reader().drain().await.unwrap();
    let first = t
        .scalar("SELECT MIN(id) FROM time_entry WHERE status = 'logged'")
        .await
        .to_string();
    let void = t.tandem(&["hours", "void", &first]);
    assert!(void.status.success(), "{}", describe(&void));
    hours(
        "2.hours",
        "<h2@va.example>",
        "2026-11-24 20h travel planning",
    );
    t.app.reader().drain().await.unwrap();
    assert_eq!(t.count("time_entry WHERE status = 'logged'").await, 1);

    crate::edits::refused(
        &t,
        &["hours", "restore", &first],
        &format!(
            "time entry {first} would make 2026-11-24 a day of 30:00 h with the hours logged \
             since (20:00 h): over 24 hours; void one of those first"
        ),
    );
    assert_eq!(t.count("time_entry WHERE status = 'void'").await, 1);
}

/// Polish, item 16: the receipt lists the accepted entries by date (then in line order),
/// however the assistant wrote them; `tandem parse` keeps the lines' order (how they were
/// read).
#[tokio::test]
async fn the_receipt_lists_entries_by_date() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_for_hours().await;
    t.app.outbox().drain().await.unwrap();
    t.deliver(
        "1.hours",
        &message(
            "sam@va.example",
            "<h1@va.example>",
            "Hours",
            "",
            "2026-11-25 1h third day\n2026-11-23 2h first day\n2026-11-24 30m second day\n\
             2026-11-23 15m first day again",
        ),
    );
    t.app.reader().drain().await.unwrap();
    t.app.outbox().drain().await.unwrap();
    let (_, text, _) = last_sent(&t);
    let at = |what: &str| {
        text.find(what)
            .unwrap_or_else(|| panic!("no '{what}' in:\n{text}"))
    };
    assert!(
        at("first day") < at("first day again")
            && at("first day again") < at("second day")
            && at("second day") < at("third day"),
        "{text}"
    );
}

/// Several time logs read in one batch (one transaction of the reader): each receipt's week
/// totals count the entries of the mails recorded before it in that batch, once.
#[tokio::test]
async fn receipts_of_one_batch_count_the_entries_before_them() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement_from(chrono::NaiveDate::from_ymd_opt(2026, 11, 9).unwrap())
        .await;
    t.app.outbox().drain().await.unwrap();
    let logs = [
        ("<w1@va.example>", "2026-11-23 1h first"),
        ("<w2@va.example>", "2026-11-24 2h second"),
        (
            "<w3@va.example>",
            "2026-11-16 30min earlier\n2026-11-25 1h third",
        ),
    ];
    for (i, (id, lines)) in logs.iter().enumerate() {
        let mail = message(
            "Sam Lee <sam@va.example>",
            id,
            "Hours",
            "",
            &format!("Hi,\n\n{lines}\n\nSam"),
        );
        t.deliver(&format!("{i}.hours"), &mail);
    }
    let read = t.app.reader().drain().await.unwrap();
    assert_eq!(read.recorded, 3, "{read:?}");
    t.app.outbox().drain().await.unwrap();
    let receipt = |id: &str| {
        let id = id.trim_matches(['<', '>']);
        t.sent_files()
            .iter()
            .map(|path| std::fs::read(path).unwrap())
            .find_map(|raw| {
                let m = MessageParser::default().parse(&raw)?;
                (m.in_reply_to().as_text() == Some(id))
                    .then(|| m.body_text(0).unwrap().replace("\r\n", "\n"))
            })
            .unwrap_or_else(|| panic!("no receipt answers {id}"))
    };
    let first = receipt(logs[0].0);
    assert!(
        first.contains("1:00 h") && !first.contains("3:00 h"),
        "{first}"
    );
    let second = receipt(logs[1].0);
    assert!(
        second.contains("3:00 h"),
        "the week: 1 h before, 2 h now:\n{second}"
    );
    let third = receipt(logs[2].0);
    assert!(
        third.contains("4:00 h") && third.contains("0:30 h") && !third.contains("5:00 h"),
        "this week 4 h, the week before 30 min:\n{third}"
    );
}

/// A submission and its entries are written together, the entries under the submission's
/// id: one with more entries than one statement takes (500), one with none, one with two,
/// one after the other in a transaction.
#[tokio::test]
async fn submissions_are_stored_whole_under_their_own_id() {
    use tandem::store::timelog::{NewEntry, insert_submission};

    let t = spawn_app().await;
    t.add_people().await;
    let engagement = t.start_engagement_for_hours().await.engagement_id;
    let assistant = t.scalar("SELECT id FROM assistant").await;
    let now = t.clock_now();
    let mut tx = t.app.pool.begin().await.unwrap();
    let mut ids = Vec::new();
    for (i, count) in [1201_usize, 0, 2].into_iter().enumerate() {
        let inbound: i64 = tandem::store::on!(&mut *tx, |c| sqlx::query_scalar(
            "INSERT INTO inbound_message (dedupe_key, source, classification, reason, \
             disposition, size_bytes, received_at) \
             VALUES ($1, 'seed', 'hours', 'seeded', 'processed', 0, $2) RETURNING id",
        )
        .bind(format!("seed-{i}"))
        .bind(now)
        .fetch_one(c)
        .await)
        .unwrap();
        let texts: Vec<String> = (0..count).map(|n| format!("entry {i}.{n}")).collect();
        let entries: Vec<NewEntry<'_>> = texts
            .iter()
            .enumerate()
            .map(|(n, text)| NewEntry {
                engagement_id: engagement,
                work_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                minutes: 1,
                description: text,
                line_no: n + 1,
                line_text: text,
            })
            .collect();
        let id = insert_submission(&mut tx, inbound, assistant, &entries, None, now)
            .await
            .unwrap();
        ids.push((id, count as i64, i));
    }
    tx.commit().await.unwrap();
    let distinct: std::collections::HashSet<i64> = ids.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(distinct.len(), 3, "{ids:?}");
    for (id, count, i) in ids {
        let stored = t
            .scalar(&format!(
                "SELECT COUNT(*) FROM time_entry WHERE submission_id = {id} \
                 AND description LIKE 'entry {i}.%' AND status = 'logged'"
            ))
            .await;
        assert_eq!(stored, count, "submission {i} (id {id})");
    }
    assert_eq!(t.count("time_entry").await, 1203);
}
