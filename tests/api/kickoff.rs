//! The kickoff call (issue 18, KO): the invitation to every client contact and the assistant,
//! each in their language, once, with an `.ics` that the `icalendar` crate's parser reads
//! (organiser, attendees, the zone's VTIMEZONE, the agenda); a new time as an update (same
//! UID, higher SEQUENCE); a decline by a calendar program's iTIP reply (found by its UID alone)
//! and one in words (by the reply token) each alerting the operator; an acceptance recorded
//! without an alert; `engagement add --kickoff` and `engagement show` through the binary.

use chrono::{TimeZone as _, Utc};
use icalendar::{Component as _, DatePerhapsTime};
use mail_parser::{MessageParser, MimeHeaders as _};

use crate::helpers::{TestApp, describe, spawn_app};
use crate::replies::{Path, SentMail, reply};

/// Sam (English, Lisbon) for Acme (German, Berlin; Anna and Ben), welcome mails sent.
async fn engagement() -> (TestApp, i64) {
    let t = spawn_app().await;
    t.add_people().await;
    let id = t.start_engagement().await.engagement_id;
    t.app.outbox().drain().await.unwrap();
    (t, id)
}

fn berlin() -> tandem::domain::TimeZone {
    tandem::domain::TimeZone::parse("Europe/Berlin").unwrap()
}

/// The kickoff mails sent, by recipient, parsed.
fn kickoffs(t: &TestApp, skip: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for file in t.sent_files() {
        let raw = std::fs::read(&file).unwrap();
        let m = MessageParser::default().parse(&raw).unwrap();
        if m.subject().unwrap_or_default().contains("Kickoff") {
            let to = m
                .to()
                .unwrap()
                .first()
                .unwrap()
                .address()
                .unwrap()
                .to_string();
            out.push((to, raw.clone()));
        }
    }
    out.split_off(skip.min(out.len()))
}

/// The `invite.ics` of a mail, and its `text/calendar` alternative (which must be the same).
fn calendar_of(raw: &[u8]) -> String {
    let m = MessageParser::default().parse(raw).unwrap();
    let attachment = m
        .attachments()
        .find(|a| a.attachment_name() == Some("invite.ics"))
        .expect("an invite.ics attachment");
    let ct = attachment.content_type().unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype(), ct.attribute("method")),
        ("text", Some("calendar"), Some("REQUEST"))
    );
    let ics = String::from_utf8(attachment.contents().to_vec()).unwrap();
    let alternative = m
        .parts
        .iter()
        .find(|p| {
            p.content_type()
                .is_some_and(|c| c.subtype() == Some("calendar") && p.attachment_name().is_none())
        })
        .expect("a text/calendar alternative");
    assert_eq!(
        String::from_utf8_lossy(alternative.contents()).replace("\r\n", "\n"),
        ics.replace("\r\n", "\n")
    );
    ics
}

/// What the `icalendar` crate reads from an invitation.
struct Read {
    method: String,
    tzid: String,
    observances: Vec<String>,
    uid: String,
    sequence: u32,
    start: (String, String),
    summary: String,
    description: String,
    organizer: String,
    attendees: Vec<(String, String, String)>,
}

fn read(ics: &str) -> Read {
    let unfolded = icalendar::parser::unfold(ics);
    let parsed = icalendar::parser::read_calendar(&unfolded).expect("the .ics parses");
    let method = parsed
        .properties
        .iter()
        .find(|p| p.name == "METHOD")
        .map(|p| p.val.to_string())
        .unwrap_or_default();
    let tz = parsed
        .components
        .iter()
        .find(|c| c.name == "VTIMEZONE")
        .expect("a VTIMEZONE");
    let tzid = tz.find_prop("TZID").unwrap().val.to_string();
    let observances = tz.components.iter().map(|c| c.name.to_string()).collect();
    let raw_event = parsed
        .components
        .iter()
        .find(|c| c.name == "VEVENT")
        .unwrap();
    let organizer = raw_event.find_prop("ORGANIZER").unwrap().val.to_string();
    let attendees = raw_event
        .properties
        .iter()
        .filter(|p| p.name == "ATTENDEE")
        .map(|p| {
            let param = |k: &str| {
                p.params
                    .iter()
                    .find(|x| x.key == k)
                    .and_then(|x| x.val.as_ref())
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            };
            (p.val.to_string(), param("CN"), param("RSVP"))
        })
        .collect();
    let calendar: icalendar::Calendar = parsed.clone().into();
    let event = calendar.events().next().expect("a VEVENT");
    let start = match event.get_start() {
        Some(DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
            date_time,
            tzid,
        })) => (date_time.to_string(), tzid),
        other => panic!("DTSTART with a TZID, not {other:?}"),
    };
    Read {
        method,
        tzid,
        observances,
        uid: event.get_uid().unwrap().to_string(),
        sequence: event.get_sequence().unwrap(),
        start,
        summary: event.get_summary().unwrap().to_string(),
        description: event.get_description().unwrap().to_string(),
        organizer,
        attendees,
    }
}

/// Acceptance: the invitation reaches each invitee through the daemon, once, in their
/// language, with an `.ics` that a calendar parser reads with the organiser, every attendee,
/// the zone and the agenda; a new time is an update of the same event.
#[tokio::test]
async fn the_invitation_reaches_each_invitee_once_with_a_calendar_that_parses() {
    let (t, id) = engagement().await;
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    let invited = t.app.kickoff(id, at, berlin()).await.unwrap();
    assert_eq!((invited.sequence, invited.mails), (0, 3));
    t.app.run_once().await.unwrap();
    t.app.run_once().await.unwrap();
    let mails = kickoffs(&t, 0);
    let mut to: Vec<&str> = mails.iter().map(|(to, _)| to.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        ["anna@acme.example", "ben@acme.example", "sam@va.example"],
        "one each, once"
    );
    let mut uids = Vec::new();
    for (to, raw) in &mails {
        let m = MessageParser::default().parse(raw).unwrap();
        let subject = m.subject().unwrap();
        let text = m.body_text(0).unwrap();
        let r = read(&calendar_of(raw));
        assert_eq!(r.method, "REQUEST");
        assert_eq!(r.tzid, "Europe/Berlin");
        assert!(r.observances.contains(&"STANDARD".to_string()));
        assert!(r.observances.contains(&"DAYLIGHT".to_string()));
        assert_eq!(
            r.start,
            (
                "2026-12-03 10:00:00".to_string(),
                "Europe/Berlin".to_string()
            )
        );
        assert_eq!(r.sequence, 0);
        assert_eq!(r.organizer, "mailto:team@example.org");
        let mut attendees: Vec<_> = r.attendees.iter().map(|a| a.0.as_str()).collect();
        attendees.sort();
        assert_eq!(
            attendees,
            [
                "mailto:anna@acme.example",
                "mailto:ben@acme.example",
                "mailto:sam@va.example"
            ]
        );
        assert!(r.attendees.iter().all(|a| a.2 == "TRUE"), "RSVP=TRUE");
        assert!(r.attendees.iter().any(|a| a.1 == "Anna Berg"));
        assert!(
            !r.summary.contains("[#"),
            "the token stays out of the calendar"
        );
        if to.ends_with("acme.example") {
            assert!(
                subject.starts_with("Kickoff-Gespräch Acme GmbH / Sam Lee"),
                "{subject}"
            );
            assert!(text.contains("Donnerstag, 3. Dezember 2026, 10:00 (Europe/Berlin)"));
            for agenda in [
                "Aufgaben und Umfang der Zusammenarbeit",
                "Stundensatz: 45,00 €",
                "Reaktionszeiten",
                "Übergabe von Daten und Passwörtern",
            ] {
                assert!(text.contains(agenda), "{to}: {agenda}\n{text}");
                assert!(r.description.contains(agenda), "{to}: {agenda} in the .ics");
            }
        } else {
            assert!(
                subject.starts_with("Kickoff call Acme GmbH / Sam Lee"),
                "{subject}"
            );
            assert!(text.contains("Thursday, 3 December 2026, 10:00 (Europe/Berlin)"));
            assert!(r.description.contains("handing over data and passwords"));
            assert!(!text.contains("Hourly rate"), "the rate is for the client");
        }
        uids.push(r.uid);
    }
    uids.dedup();
    assert_eq!(uids.len(), 1, "one event for everyone");

    // A new time: an update of the same event to everyone.
    let moved = Utc.with_ymd_and_hms(2026, 12, 4, 13, 30, 0).unwrap();
    let invited = t.app.kickoff(id, moved, berlin()).await.unwrap();
    assert_eq!((invited.sequence, invited.mails), (1, 3));
    t.app.run_once().await.unwrap();
    let updates = kickoffs(&t, 3);
    assert_eq!(updates.len(), 3);
    for (_, raw) in &updates {
        let r = read(&calendar_of(raw));
        assert_eq!((r.uid.as_str(), r.sequence), (uids[0].as_str(), 1));
        assert_eq!(r.start.0, "2026-12-04 14:30:00");
    }
    let shown = t.tandem(&["engagement", "show", &id.to_string()]);
    assert!(shown.status.success(), "{}", describe(&shown));
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("kickoff:    2026-12-04 14:30 Europe/Berlin (60 min), moved 1 time(s)"),
        "{shown}"
    );

    // Declining the time the call was moved from is recorded and alerts no one; declining
    // the new one does.
    for (sequence, id) in [(0, "old@acme.example"), (1, "new@acme.example")] {
        let invitation = invitation_of(&t, "anna@acme.example", Some(sequence)).await;
        t.deliver(
            &format!("{sequence}.eml"),
            &reply(
                "Anna Berg <anna@acme.example>",
                &invitation,
                Path::InReplyTo,
                id,
                "Der Termin passt leider nicht.",
            ),
        );
        t.app.run_once().await.unwrap();
        let alerts = t
            .scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'kickoff_declined'")
            .await;
        assert_eq!(alerts, sequence, "after the answer to SEQUENCE {sequence}");
    }
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM kickoff_response WHERE partstat = 'declined'")
            .await,
        2
    );
}

/// The invitation to `to`, as its recipient's mail client shows it (for [`reply`]).
async fn invitation_to(t: &TestApp, to: &str) -> SentMail {
    invitation_of(t, to, None).await
}

/// The invitation to `to` of SEQUENCE `sequence` (the newest when `None`).
async fn invitation_of(t: &TestApp, to: &str, sequence: Option<i64>) -> SentMail {
    let key = match sequence {
        Some(n) => format!("kickoff:%:{n}:{to}"),
        None => "kickoff:%".to_string(),
    };
    let (raw, token): (Vec<u8>, Option<String>) =
        tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
            sqlx::query_as(
                "SELECT r.raw, o.token FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
                 WHERE o.kind = 'kickoff' AND o.recipient = $1 AND o.natural_key LIKE $2 \
                 ORDER BY o.id DESC LIMIT 1",
            )
            .bind(to)
            .bind(&key)
            .fetch_one(c)
            .await
        })
        .unwrap();
    let token = token.unwrap();
    let m = MessageParser::default().parse(&raw).unwrap();
    SentMail {
        message_id: format!("<{}>", m.message_id().unwrap()),
        subject: m.subject().unwrap().replace(&format!(" [#{token}]"), ""),
        text: m.body_text(0).unwrap().replace("\r\n", "\n"),
        token,
    }
}

/// A calendar program's answer, as Outlook and Google send it: to the organiser, no
/// In-Reply-To, the iTIP REPLY as a `text/calendar` part.
fn itip_reply(from: &str, address: &str, uid: &str, partstat: &str, id: &str) -> Vec<u8> {
    let ics = format!(
        "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n\
         METHOD:REPLY\r\nBEGIN:VEVENT\r\nDTSTART:20261203T090000Z\r\nDTEND:20261203T100000Z\r\n\
         DTSTAMP:20261202T120000Z\r\nORGANIZER;CN=Example Agency:mailto:team@example.org\r\n\
         UID:{uid}\r\nATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};\r\n \
         CN={address};X-NUM-GUESTS=0:mailto:{address}\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\n\
         SUMMARY:Kickoff\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    format!(
        "From: {from}\r\nTo: team@example.org\r\nSubject: Abgelehnt: Kickoff-Gespräch\r\n\
         Message-ID: <{id}>\r\nDate: Wed, 02 Dec 2026 12:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{address} hat diese Einladung abgelehnt.\r\n\
         --b\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n{ics}--b--\r\n"
    )
    .into_bytes()
}

async fn responses(t: &TestApp) -> Vec<(String, String)> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_as("SELECT invitee, partstat FROM kickoff_response ORDER BY invitee")
            .fetch_all(c)
            .await
    })
    .unwrap()
}

async fn alerts(t: &TestApp) -> Vec<String> {
    tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar(
            "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.outbox_id = o.id \
             WHERE o.kind = 'kickoff_declined' ORDER BY o.id",
        )
        .fetch_all(c)
        .await
    })
    .unwrap()
    .into_iter()
    .map(|raw: Vec<u8>| {
        let m = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            m.to().unwrap().first().unwrap().address(),
            Some("operator@example.org")
        );
        m.body_text(0).unwrap().replace("\r\n", "\n")
    })
    .collect()
}

/// Acceptance: a decline reaches the operator, by a calendar program's iTIP reply (found by
/// the event's UID alone) and in words (by the reply token); an acceptance is recorded and
/// alerts no one; a stranger's REPLY with the UID changes nothing.
#[tokio::test]
async fn declines_reach_the_operator_and_an_acceptance_is_recorded() {
    let (t, id) = engagement().await;
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    t.app.kickoff(id, at, berlin()).await.unwrap();
    t.app.run_once().await.unwrap();
    let uid: String = tandem::store::on!(&mut *t.app.pool.acquire().await.unwrap(), |c| {
        sqlx::query_scalar("SELECT uid FROM kickoff_call")
            .fetch_one(c)
            .await
    })
    .unwrap();

    // Ben accepts in his calendar: recorded, no alert.
    t.deliver(
        "accept.eml",
        &itip_reply(
            "Ben Roth <ben@acme.example>",
            "ben@acme.example",
            &uid,
            "ACCEPTED",
            "a1@acme.example",
        ),
    );
    // A stranger answering with the UID: not an invitee, nothing recorded.
    t.deliver(
        "stranger.eml",
        &itip_reply(
            "Eve <eve@evil.example>",
            "eve@evil.example",
            &uid,
            "DECLINED",
            "s1@evil.example",
        ),
    );
    t.app.run_once().await.unwrap();
    let ben: i64 = t
        .scalar("SELECT id FROM contact WHERE email = 'ben@acme.example'")
        .await;
    assert_eq!(
        responses(&t).await,
        [(format!("contact:{ben}"), "accepted".into())]
    );
    assert!(alerts(&t).await.is_empty(), "an acceptance alerts no one");

    // Anna declines in her calendar: the operator is told at once.
    t.deliver(
        "decline.eml",
        &itip_reply(
            "Anna Berg <anna@acme.example>",
            "anna@acme.example",
            &uid,
            "DECLINED",
            "d1@acme.example",
        ),
    );
    t.app.run_once().await.unwrap();
    let anna: i64 = t
        .scalar("SELECT id FROM contact WHERE email = 'anna@acme.example'")
        .await;
    assert!(
        responses(&t)
            .await
            .contains(&(format!("contact:{anna}"), "declined".into()))
    );
    let sent = alerts(&t).await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("Anna Berg <anna@acme.example>"),
        "{}",
        sent[0]
    );
    assert!(
        sent[0].contains("in their calendar") || sent[0].contains("im Kalender"),
        "{}",
        sent[0]
    );
    assert!(
        sent[0].contains(&format!("tandem engagement kickoff {id} --at")),
        "{}",
        sent[0]
    );

    // Sam replies in words to his invitation (the token in the subject alone).
    let invitation = invitation_to(&t, "sam@va.example").await;
    t.deliver(
        "words.eml",
        &reply(
            "Sam Lee <sam@va.example>",
            &invitation,
            Path::Subject,
            "w1@va.example",
            "Hi,\r\n\r\nsorry, Thursday morning does not work for me. Could we do Friday?\r\n\r\nSam",
        ),
    );
    t.app.run_once().await.unwrap();
    let sent = alerts(&t).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[1].contains("Thursday morning does not work for me"),
        "{}",
        sent[1]
    );
    assert!(responses(&t).await.contains(&(
        format!("assistant:{}", t.scalar("SELECT id FROM assistant").await),
        "declined".into()
    )));
    // The decline is shown with the call.
    let shown = t.tandem(&["engagement", "show", &id.to_string()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(&format!("contact:{anna} declined")),
        "{shown}"
    );
}

/// `engagement add --kickoff` through the binary: the welcome mails and the invitations in
/// one go; a time in the past or in an unknown zone is refused and changes nothing.
#[tokio::test]
async fn engagement_add_with_a_kickoff_through_the_binary() {
    let t = spawn_app().await;
    t.add_people_by_cli();
    let start = crate::helpers::cli_start().to_string();
    let add = |kickoff: &str| {
        t.tandem(&[
            "engagement",
            "add",
            "--assistant",
            "sam@va.example",
            "--client",
            "acme",
            "--start",
            &start,
            "--kickoff",
            kickoff,
        ])
    };
    for bad in ["2020-01-02 10:00", "2099-01-02 10:00 Mars/Base", "tomorrow"] {
        let out = add(bad);
        assert!(!out.status.success(), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--kickoff")
                || String::from_utf8_lossy(&out.stderr).contains("past"),
            "{}",
            describe(&out)
        );
    }
    assert_eq!(
        t.count("engagement").await,
        0,
        "a refused kickoff adds nothing"
    );
    // A day well ahead of the wall clock the binary runs on.
    let when = (Utc::now() + chrono::Duration::days(20))
        .format("%Y-%m-%d 10:00 America/New_York")
        .to_string();
    let out = add(&when);
    assert!(out.status.success(), "{}", describe(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 invitation(s) queued"), "{said}");
    assert!(said.contains("America/New_York"), "{said}");
    let raw = std::fs::read(
        t.sent_files()
            .into_iter()
            .find(|f| {
                let m = std::fs::read(f).unwrap();
                String::from_utf8_lossy(&m).contains("invite.ics")
            })
            .expect("an invitation was delivered"),
    )
    .unwrap();
    let r = read(&calendar_of(&raw));
    assert_eq!(r.tzid, "America/New_York");
    assert!(r.start.0.ends_with("10:00:00"), "{:?}", r.start);

    // Moved later through `engagement kickoff`: an update; a missing engagement is named.
    let later = (Utc::now() + chrono::Duration::days(21))
        .format("%Y-%m-%d 11:00")
        .to_string();
    // (Not 1 on PostgreSQL, whose identities the refused adds above used up.)
    let id = t.scalar("SELECT id FROM engagement").await.to_string();
    let out = t.tandem(&["engagement", "kickoff", &id, "--at", &later]);
    assert!(out.status.success(), "{}", describe(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("(moved, update 1); 2 invitation(s) queued"),
        "{said}"
    );
    let out = t.tandem(&["engagement", "kickoff", "9999", "--at", &later]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert_eq!(t.count("kickoff_call").await, 1);
    let shown = t.tandem(&["engagement", "show", &id, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["kickoff"]["sequence"], 1);
    assert_eq!(shown["kickoff"]["timezone"], "Europe/Berlin");
}
