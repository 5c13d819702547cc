//! iCalendar (RFC 5545) for the calls, pure: [`invitation`] writes an iTIP request (RFC 5546,
//! `METHOD:REQUEST`) with a VTIMEZONE of the call's zone, and [`read_reply`] reads an invitee's
//! answer (`METHOD:REPLY`, the `PARTSTAT` of an `ATTENDEE`) in one bounded pass, since anyone
//! can write to the inbox.
//!
//! Written by hand rather than with the `icalendar` crate: that crate gives every component a
//! `DTSTAMP` and a `UID` of its own (a VTIMEZONE must carry neither) and reads the wall clock for
//! them. The tests read what this writes with the crate's parser, as a calendar program would.

use chrono::{DateTime, Duration, NaiveDateTime, Offset as _, TimeZone as _, Utc};
use chrono_tz::{OffsetName as _, Tz};

/// A person on the invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub name: String,
    pub email: String,
}

/// What an invitation says.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    /// The event's UID: the same across updates, so a calendar replaces the event.
    pub uid: &'a str,
    /// 0 for the first invitation, one more for each update.
    pub sequence: i64,
    /// When this version was written (DTSTAMP).
    pub stamp: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub minutes: i64,
    /// The zone the call was set in: DTSTART and DTEND are its local times, with its VTIMEZONE.
    pub zone: Tz,
    pub organizer: &'a Invitee,
    pub attendees: &'a [Invitee],
    pub summary: &'a str,
    /// The agenda, as plain text.
    pub description: &'a str,
}

/// A content line is folded after this many octets (RFC 5545, 3.1).
const FOLD_AT: usize = 75;

/// `text` as an iCalendar TEXT value: backslash, semicolon, comma and newlines escaped; other
/// control characters dropped.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.replace("\r\n", "\n").chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value, always quoted: without the characters a quoted value cannot hold.
fn param_value(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Appends one content line, folded at [`FOLD_AT`] octets (never inside a character), ending
/// in CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > FOLD_AT {
            out.push_str("\r\n ");
            // The leading space counts towards the next line's octets.
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local_stamp(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// `+0100`, `-0330`.
fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
}

/// The offset of `zone` at a Unix time.
fn offset_at(zone: Tz, seconds: i64) -> Option<i32> {
    let at = DateTime::from_timestamp(seconds, 0)?;
    Some(
        zone.offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The instants in [`from`, `to`) at which `zone` changes its offset: each day compared with
/// the next, the change found to the second by bisection.
fn transitions(zone: Tz, from: i64, to: i64) -> Vec<i64> {
    const DAY: i64 = 86_400;
    let mut out = Vec::new();
    let mut lo = from;
    while lo < to {
        let hi = (lo + DAY).min(to);
        if let (Some(a), Some(b)) = (offset_at(zone, lo), offset_at(zone, hi))
            && a != b
        {
            let (mut l, mut h) = (lo, hi);
            while h - l > 1 {
                let mid = l + (h - l) / 2;
                if offset_at(zone, mid) == Some(a) {
                    l = mid;
                } else {
                    h = mid;
                }
            }
            out.push(h);
        }
        lo = hi;
    }
    out
}

/// The VTIMEZONE of `zone` around `at`: every offset change from the year before to the year
/// after, each as a STANDARD or DAYLIGHT observance of its own (no RRULE, so a rule that
/// changes cannot be misstated); a zone without changes gets one STANDARD observance.
fn vtimezone(out: &mut String, zone: Tz, at: DateTime<Utc>) {
    use chrono::Datelike as _;
    let year = at.year();
    let bound = |y: i32| {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp()
            })
            .unwrap_or_else(|| at.timestamp())
    };
    push_line(out, "BEGIN:VTIMEZONE");
    push_line(out, &format!("TZID:{}", zone.name()));
    let changes = transitions(zone, bound(year - 1), bound(year + 2));
    if changes.is_empty() {
        let offset = offset_text(offset_at(zone, at.timestamp()).unwrap_or_default());
        let name = zone.offset_from_utc_datetime(&at.naive_utc());
        push_line(out, "BEGIN:STANDARD");
        push_line(out, "DTSTART:19700101T000000");
        push_line(out, &format!("TZOFFSETFROM:{offset}"));
        push_line(out, &format!("TZOFFSETTO:{offset}"));
        if let Some(abbreviation) = name.abbreviation() {
            push_line(out, &format!("TZNAME:{}", escape_text(abbreviation)));
        }
        push_line(out, "END:STANDARD");
    }
    for change in changes {
        let (Some(from), Some(to), Some(instant)) = (
            offset_at(zone, change - 1),
            offset_at(zone, change),
            DateTime::from_timestamp(change, 0),
        ) else {
            continue;
        };
        let after = zone.offset_from_utc_datetime(&instant.naive_utc());
        use chrono_tz::OffsetComponents as _;
        let kind = if after.dst_offset().is_zero() {
            "STANDARD"
        } else {
            "DAYLIGHT"
        };
        // The onset in the local time before the change (RFC 5545, 3.6.5).
        let onset = instant.naive_utc() + Duration::seconds(from.into());
        push_line(out, &format!("BEGIN:{kind}"));
        push_line(out, &format!("DTSTART:{}", local_stamp(onset)));
        push_line(out, &format!("TZOFFSETFROM:{}", offset_text(from)));
        push_line(out, &format!("TZOFFSETTO:{}", offset_text(to)));
        if let Some(abbreviation) = after.abbreviation() {
            push_line(out, &format!("TZNAME:{}", escape_text(abbreviation)));
        }
        push_line(out, &format!("END:{kind}"));
    }
    push_line(out, "END:VTIMEZONE");
}

/// The invitation as an iCalendar object (CRLF line ends, folded), `METHOD:REQUEST`.
pub fn invitation(i: &Invitation<'_>) -> String {
    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCALENDAR");
    push_line(&mut out, "PRODID:-//tandem//kickoff call//EN");
    push_line(&mut out, "VERSION:2.0");
    push_line(&mut out, "CALSCALE:GREGORIAN");
    push_line(&mut out, "METHOD:REQUEST");
    vtimezone(&mut out, i.zone, i.start);
    let zone = i.zone.name();
    let end = i.start + Duration::minutes(i.minutes);
    let local = |t: DateTime<Utc>| local_stamp(t.with_timezone(&i.zone).naive_local());
    push_line(&mut out, "BEGIN:VEVENT");
    push_line(&mut out, &format!("UID:{}", escape_text(i.uid)));
    push_line(&mut out, &format!("SEQUENCE:{}", i.sequence));
    push_line(&mut out, &format!("DTSTAMP:{}", utc_stamp(i.stamp)));
    push_line(&mut out, &format!("DTSTART;TZID={zone}:{}", local(i.start)));
    push_line(&mut out, &format!("DTEND;TZID={zone}:{}", local(end)));
    push_line(&mut out, &format!("SUMMARY:{}", escape_text(i.summary)));
    push_line(
        &mut out,
        &format!("DESCRIPTION:{}", escape_text(i.description)),
    );
    push_line(
        &mut out,
        &format!(
            "ORGANIZER;CN={}:mailto:{}",
            param_value(&i.organizer.name),
            i.organizer.email
        ),
    );
    for a in i.attendees {
        push_line(
            &mut out,
            &format!(
                "ATTENDEE;CN={};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;\
                 RSVP=TRUE:mailto:{}",
                param_value(&a.name),
                a.email
            ),
        );
    }
    push_line(&mut out, "STATUS:CONFIRMED");
    push_line(&mut out, "TRANSP:OPAQUE");
    push_line(&mut out, "END:VEVENT");
    push_line(&mut out, "END:VCALENDAR");
    out
}

/// An invitee's answer, as `PARTSTAT` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStat {
    Accepted,
    Declined,
    Tentative,
}

impl PartStat {
    pub fn as_str(self) -> &'static str {
        match self {
            PartStat::Accepted => "accepted",
            PartStat::Declined => "declined",
            PartStat::Tentative => "tentative",
        }
    }
}

/// What a calendar program's reply says (RFC 5546 REPLY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The event's UID.
    pub uid: String,
    pub sequence: Option<i64>,
    /// Each answering attendee's address (lower-case) and answer, at most [`MAX_ATTENDEES`].
    pub attendees: Vec<(String, PartStat)>,
}

pub use crate::inbound::message::MAX_CALENDAR_BYTES;
/// The most content lines read.
pub const MAX_LINES: usize = 2_000;
/// The most attendees taken from a reply (a reply names the one who answers).
pub const MAX_ATTENDEES: usize = 16;

/// Splits a content line into its name, its parameters and its value: one pass, quotes
/// respected (a `:` or `;` inside a quoted parameter value does not count).
fn split_line(line: &str) -> (&str, Vec<(&str, &str)>, &str) {
    let mut in_quotes = false;
    let mut params = Vec::new();
    let mut name_end = None;
    let mut param_start = 0;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' | ':' if !in_quotes => {
                match name_end {
                    None => name_end = Some(i),
                    Some(_) => {
                        let param = &line[param_start..i];
                        let (k, v) = param.split_once('=').unwrap_or((param, ""));
                        if params.len() < 32 {
                            params.push((k, v.trim_matches('"')));
                        }
                    }
                }
                param_start = i + 1;
                if c == ':' {
                    let name = &line[..name_end.unwrap_or(i)];
                    return (name, params, &line[i + 1..]);
                }
            }
            _ => {}
        }
    }
    (line, params, "")
}

/// Reads an iTIP reply from a `text/calendar` part: its METHOD must be REPLY, and its VEVENT
/// gives the UID, SEQUENCE and the attendees with their PARTSTAT. `None` for anything else.
/// One pass over at most [`MAX_CALENDAR_BYTES`] and [`MAX_LINES`] unfolded lines.
pub fn read_reply(text: &str) -> Option<Reply> {
    let mut end = text.len().min(MAX_CALENDAR_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    // Unfolded lines: a line starting with a space or tab continues the one before.
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => {
                if lines.len() == MAX_LINES {
                    break;
                }
                lines.push(raw.to_string());
            }
        }
    }
    let mut method = None;
    let mut depth_event = false;
    let mut uid = None;
    let mut sequence = None;
    let mut attendees = Vec::new();
    for line in &lines {
        let (name, params, value) = split_line(line);
        match name.to_ascii_uppercase().as_str() {
            "BEGIN" if value.eq_ignore_ascii_case("VEVENT") => depth_event = true,
            "END" if value.eq_ignore_ascii_case("VEVENT") => depth_event = false,
            "METHOD" if !depth_event => method = Some(value.trim().to_ascii_uppercase()),
            "UID" if depth_event && uid.is_none() => uid = Some(value.trim().to_string()),
            "SEQUENCE" if depth_event => sequence = value.trim().parse().ok(),
            "ATTENDEE" if depth_event && attendees.len() < MAX_ATTENDEES => {
                let partstat = params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("PARTSTAT"))
                    .and_then(|(_, v)| match v.to_ascii_uppercase().as_str() {
                        "ACCEPTED" => Some(PartStat::Accepted),
                        "DECLINED" => Some(PartStat::Declined),
                        "TENTATIVE" => Some(PartStat::Tentative),
                        _ => None,
                    });
                let address = value.trim();
                let address = address
                    .get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("mailto:"))
                    .map_or(address, |_| &address[7..]);
                if let Some(partstat) = partstat {
                    attendees.push((address.to_lowercase(), partstat));
                }
            }
            _ => {}
        }
    }
    if method.as_deref() != Some("REPLY") {
        return None;
    }
    Some(Reply {
        uid: uid?,
        sequence,
        attendees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        let organizer = Invitee {
            name: "Example Agency".into(),
            email: "team@example.org".into(),
        };
        let attendees = [
            Invitee {
                name: "Anna \"AB\" Bäcker".into(),
                email: "anna@acme.example".into(),
            },
            Invitee {
                name: "Sam".into(),
                email: "sam@va.example".into(),
            },
        ];
        let start = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        invitation(&Invitation {
            uid: "kickoff-1@example.org",
            sequence: 2,
            stamp: Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
            start,
            minutes: 60,
            zone: chrono_tz::Europe::Berlin,
            organizer: &organizer,
            attendees: &attendees,
            summary: "Kickoff: Sam, Acme; agenda",
            description: &format!(
                "Agenda:\n- scope, expectations; conditions\n{}",
                "ü".repeat(80)
            ),
        })
    }

    #[test]
    fn lines_are_folded_at_75_octets_and_end_in_crlf() {
        let ics = sample();
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line:?}");
            assert!(!line.contains('\n'));
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("DTSTART;TZID=Europe/Berlin:20261203T100000\r\n"));
        assert!(unfolded.contains("DTEND;TZID=Europe/Berlin:20261203T110000\r\n"));
        assert!(unfolded.contains("SUMMARY:Kickoff: Sam\\, Acme\\; agenda\r\n"));
        assert!(
            unfolded.contains("DESCRIPTION:Agenda:\\n- scope\\, expectations\\; conditions\\n")
        );
        assert!(unfolded.contains("ATTENDEE;CN=\"Anna AB Bäcker\";"));
        assert!(unfolded.contains("SEQUENCE:2\r\n"));
        assert!(unfolded.contains("METHOD:REQUEST\r\n"));
    }

    #[test]
    fn the_zone_is_described_by_its_changes() {
        let ics = sample();
        // Berlin: summer time from the last Sunday of March at 02:00, winter from the last
        // Sunday of October at 03:00 (local, before the change).
        assert!(ics.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT"));
        assert!(ics.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD"));
        // A zone without changes has one observance.
        let start = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        let mut out = String::new();
        vtimezone(&mut out, chrono_tz::Asia::Kolkata, start);
        assert!(
            out.contains("TZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530"),
            "{out}"
        );
    }

    #[test]
    fn replies_are_read_with_their_answer() {
        let reply = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:kickoff-1@exa\r\n mple.org\r\nSEQUENCE:1\r\nATTENDEE;CN=\"Roth; Anna: x\";PARTSTAT=DECLINED:MAILTO:Anna@Acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            read_reply(reply),
            Some(Reply {
                uid: "kickoff-1@example.org".into(),
                sequence: Some(1),
                attendees: vec![("anna@acme.example".into(), PartStat::Declined)],
            })
        );
        // A request is not a reply; an unknown PARTSTAT is no answer.
        assert_eq!(read_reply(&sample()), None);
        let odd = reply.replace("DECLINED", "DELEGATED");
        assert!(read_reply(&odd).unwrap().attendees.is_empty());
    }

    #[test]
    fn hostile_calendars_are_read_within_the_caps() {
        // A megabyte of one folded line, of attendees, of quotes: linear, capped.
        let long = format!(
            "METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\n{}",
            " a\r\n".repeat(300_000)
        );
        assert!(read_reply(&long).is_some());
        let many = format!(
            "METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\n{}",
            "ATTENDEE;PARTSTAT=DECLINED:mailto:a@b\r\n".repeat(50_000)
        );
        assert_eq!(read_reply(&many).unwrap().attendees.len(), MAX_ATTENDEES);
        let quotes = format!(
            "METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\nATTENDEE;{}",
            "\";".repeat(500_000)
        );
        assert!(read_reply(&quotes).is_some());
        assert_eq!(read_reply(""), None);
        assert_eq!(read_reply("ü".repeat(40_000).as_str()), None);
    }
}
