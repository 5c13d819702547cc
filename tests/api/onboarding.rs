use chrono::NaiveDate;
use mail_parser::{MessageParser, MimeHeaders};
use tandem::domain::{ClientTag, EmailAddress, Locale, TimeZone};
use tandem::onboarding::{EngagementRequest, TrialEnd};
use tandem::store::{self, people};

use crate::helpers::{assert_golden, spawn_app, test_now};

struct Sent {
    to: String,
    subject: String,
    language: String,
    text: String,
    html: String,
}

fn read_sent(path: &std::path::Path) -> Sent {
    let raw = std::fs::read(path).unwrap();
    let m = MessageParser::default().parse(&raw).unwrap();
    let header = |name: &str| {
        m.header_raw(name)
            .unwrap_or_else(|| panic!("{} has no {name} header", path.display()))
            .trim()
            .to_string()
    };
    assert!(
        header("Message-ID").ends_with("@example.org>"),
        "{}",
        header("Message-ID")
    );
    assert_eq!(header("Auto-Submitted"), "auto-generated");
    assert_eq!(m.date().unwrap().to_timestamp(), test_now().timestamp());
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("team@example.org"));
    assert_eq!(from.name(), Some("Example Agency"));
    assert_eq!(m.text_body_count(), 1, "one plain-text part");
    assert_eq!(m.html_body_count(), 1, "one HTML part");
    assert_eq!(
        m.content_type()
            .map(|c| (c.ctype().to_string(), c.subtype().map(str::to_string))),
        Some(("multipart".into(), Some("alternative".into())))
    );
    Sent {
        to: m
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string(),
        subject: m.subject().unwrap().to_string(),
        language: header("Content-Language"),
        text: m.body_text(0).unwrap().replace("\r\n", "\n"),
        html: m.body_html(0).unwrap().replace("\r\n", "\n"),
    }
}

#[tokio::test]
async fn engagement_add_sends_each_recipient_a_welcome_in_their_language() {
    let t = spawn_app().await;
    t.add_people().await;
    let started = t.start_engagement().await;
    assert_eq!(started.welcome_mails, 3);
    assert_eq!(started.agreements, 5);

    let mut conn = t.app.pool.acquire().await.unwrap();
    let agreements = store::engagements::agreements(&mut conn, started.engagement_id)
        .await
        .unwrap();
    let kinds: Vec<_> = agreements
        .iter()
        .map(|a| (a.kind.as_str(), a.status.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("contract", "pending"),
            ("nda", "pending"),
            ("dpa", "pending"),
            ("data_handover", "pending"),
            ("billing", "pending")
        ]
    );

    assert_eq!(t.app.outbox().drain().await.unwrap(), 3);
    let sent: Vec<Sent> = t.sent_files().iter().map(|p| read_sent(p)).collect();
    let summary: Vec<_> = sent
        .iter()
        .map(|s| (s.to.as_str(), s.language.as_str(), s.subject.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "anna@acme.example",
                "de",
                "Willkommen: Sam Lee unterstützt Acme GmbH"
            ),
            (
                "ben@acme.example",
                "de",
                "Willkommen: Sam Lee unterstützt Acme GmbH"
            ),
            ("sam@va.example", "en", "Your new engagement with Acme GmbH"),
        ]
    );
    // Each contact is greeted by name, and every part names the people involved.
    assert!(sent[0].text.contains("Hallo Anna Berg"));
    assert!(sent[1].text.contains("Hallo Ben Roth"));
    for s in &sent {
        for part in [&s.text, &s.html] {
            assert!(part.contains("Sam Lee") && part.contains("Acme GmbH"));
        }
    }
    // Nothing is sent twice: the outbox is empty now.
    assert_eq!(t.app.outbox().drain().await.unwrap(), 0);
    assert_eq!(t.sent_files().len(), 3);
}

#[tokio::test]
async fn a_second_open_engagement_for_the_same_pair_is_refused() {
    let t = spawn_app().await;
    t.add_people().await;
    t.start_engagement().await;
    let request = EngagementRequest {
        assistant: EmailAddress::parse("SAM@va.example").unwrap(),
        client: ClientTag::parse("acme").unwrap(),
        start: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        trial: TrialEnd::AfterWeeks(2),
        hourly_rate_cents: None,
        budget_minutes: None,
        running: false,
    };
    let err = t.app.start_engagement(&request).await.unwrap_err();
    assert!(
        err.to_string().contains("already works for 'acme'"),
        "{err}"
    );
    assert_eq!(t.count("engagement").await, 1);
    assert_eq!(t.count("outbox").await, 3);
}

/// Renders the welcome mails in both languages, for both recipients, and compares every part
/// with `tests/golden/`.
#[tokio::test]
async fn welcome_mails_match_the_golden_files() {
    let t = spawn_app().await;
    t.add_people().await; // Sam (en) for Acme (de)
    // Lena (de) for Globex (en), who also works for Acme: her lines need a tag.
    let now = test_now();
    let mut tx = t.app.pool.begin().await.unwrap();
    people::insert_assistant(
        &mut tx,
        &people::NewAssistant {
            name: "Lena Vogel".into(),
            emails: vec![EmailAddress::parse("lena@va.example").unwrap()],
            timezone: TimeZone::parse("Europe/Berlin").unwrap(),
            locale: Locale::De,
        },
        now,
    )
    .await
    .unwrap();
    people::insert_client(
        &mut tx,
        &people::NewClient {
            name: "Globex Ltd".into(),
            tag: ClientTag::parse("globex").unwrap(),
            timezone: TimeZone::parse("Europe/London").unwrap(),
            locale: Locale::En,
            contacts: vec![
                tandem::domain::Contact::parse(
                    "Grace Hill <grace@globex.example> | COO | weekdays 10-16",
                )
                .unwrap(),
            ],
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    t.start_engagement().await;
    let lena = |client: &str, start: (i32, u32, u32), trial| EngagementRequest {
        assistant: EmailAddress::parse("lena@va.example").unwrap(),
        client: ClientTag::parse(client).unwrap(),
        start: NaiveDate::from_ymd_opt(start.0, start.1, start.2).unwrap(),
        trial,
        hourly_rate_cents: None,
        budget_minutes: None,
        running: false,
    };
    t.app
        .start_engagement(&lena("acme", (2026, 11, 30), TrialEnd::AfterWeeks(1)))
        .await
        .unwrap();
    t.app
        .start_engagement(&lena(
            "globex",
            (2026, 12, 7),
            TrialEnd::On(NaiveDate::from_ymd_opt(2027, 1, 15).unwrap()),
        ))
        .await
        .unwrap();
    t.app.outbox().drain().await.unwrap();

    let sent: Vec<Sent> = t.sent_files().iter().map(|p| read_sent(p)).collect();
    let pick = |to: &str, subject_has: &str| {
        sent.iter()
            .find(|s| s.to == to && s.subject.contains(subject_has))
            .unwrap_or_else(|| panic!("no mail to {to} about {subject_has}"))
    };
    let cases = [
        ("welcome_client.de", pick("anna@acme.example", "Sam Lee")),
        ("welcome_assistant.en", pick("sam@va.example", "Acme")),
        ("welcome_client.en", pick("grace@globex.example", "Lena")),
        ("welcome_assistant.de", pick("lena@va.example", "Globex")),
    ];
    for (name, mail) in cases {
        assert_golden(&format!("{name}.subject"), &format!("{}\n", mail.subject));
        assert_golden(&format!("{name}.txt"), &mail.text);
        assert_golden(&format!("{name}.html"), &mail.html);
    }
    // The one-week trial reads as such, and Lena's second client makes tags necessary.
    let short = pick("lena@va.example", "Acme");
    assert!(short.text.contains("eine Woche"), "{}", short.text);
    assert!(pick("lena@va.example", "Globex").text.contains("#globex"));
}
