//! Replies as each mail client writes them, in plain text (and HTML-only ones as mail-parser
//! turns them into text), the lines that must never be cut, and properties over any input.

use proptest::prelude::*;

use super::*;

/// Extracts `body` and checks both the text and the reason, printing the body when either is
/// wrong.
#[track_caller]
fn check(body: &str, text: &str, cut: Option<Cut>) {
    let got = extract_with_reason(body);
    assert_eq!(
        (got.text.as_str(), got.cut.as_ref().map(|c| c.kind)),
        (text, cut),
        "\n--- body ---\n{body}\n--- kept ---\n{}\n",
        got.text
    );
}

// ---------------------------------------------------------------- top-posted replies, per client

#[test]
fn gmail_en() {
    let body = "\
Thanks, that works for us.

Best,
Anna

On Mon, 23 Nov 2026 at 10:02, tandem <team@agency.example> wrote:

> Hello Anna,
>
> how was the first week with Maria?
>
> 1. How satisfied are you overall? (1-5)
> 2. How is communication? (1-5)
>
> --
> tandem for Example Agency
";
    check(
        body,
        "Thanks, that works for us.\n\nBest,\nAnna",
        Some(Cut::Attribution),
    );
}

#[test]
fn gmail_en_us_with_a_nested_quote() {
    let body = "\
Yes, please go ahead.

On Mon, Nov 23, 2026 at 10:02 AM tandem <team@agency.example> wrote:

> Hi Anna,
>
> On Fri, Nov 20, 2026 at 9:00 AM Anna Berg <anna@acme.example> wrote:
>
>> Can Maria start on Monday?
>>
";
    check(body, "Yes, please go ahead.", Some(Cut::Attribution));
}

#[test]
fn gmail_de() {
    let body = "\
1: 4
2: 5
3: ja
4: Alles bestens, danke!

Am Mo., 23. Nov. 2026 um 10:02 Uhr schrieb tandem <team@agency.example>:

> Hallo Anna,
>
> wie zufrieden sind Sie?
> 1. Zufriedenheit (1-5)
";
    check(
        body,
        "1: 4\n2: 5\n3: ja\n4: Alles bestens, danke!",
        Some(Cut::Attribution),
    );
}

#[test]
fn gmail_wrapped_attributions() {
    let two = "\
Sounds good.

On Mon, 23 Nov 2026 at 10:02, Anna Berg <
anna@acme.example> wrote:

> Hello
";
    check(two, "Sounds good.", Some(Cut::Attribution));
    let three = "\
Sounds good.

On Mon, 23 Nov 2026 at 10:02, Anna Berg
<anna@acme.example>
wrote:
> Hello
";
    check(three, "Sounds good.", Some(Cut::Attribution));
    let de = "\
Passt.

Am Mo., 23. Nov. 2026 um 10:02 Uhr schrieb Anna Berg <
anna@acme.example>:

> Hallo
";
    check(de, "Passt.", Some(Cut::Attribution));
    // Wrapped, and nothing marked with `>` below (as from an HTML part): still the end.
    let unmarked = "\
Passt.
Am 23.11.2026 um 10:02 schrieb Anna Berg
<anna@acme.example>:
Hallo Maria,
wie war die Woche?
";
    check(unmarked, "Passt.", Some(Cut::Attribution));
}

#[test]
fn outlook_desktop_en() {
    let body = "\
Hi,

yes, please continue with Maria after the trial.

Kind regards
Anna Berg
Head of Operations | Acme GmbH

From: tandem <team@agency.example>
Sent: Monday, November 23, 2026 10:02 AM
To: Anna Berg <anna@acme.example>
Cc: Maria Schulz <maria@va.example>
Subject: Trial review: Maria Schulz

Hello Anna,

Maria's trial ends on 30 November. Should the collaboration continue?
";
    check(
        body,
        "Hi,\n\nyes, please continue with Maria after the trial.\n\nKind regards\nAnna Berg\nHead of Operations | Acme GmbH",
        Some(Cut::HeaderBlock),
    );
}

#[test]
fn outlook_desktop_de() {
    let body = "\
Hallo,

ja, gerne weiter so.

Viele Grüße
Anna Berg

Von: tandem <team@agency.example> 
Gesendet: Montag, 23. November 2026 10:02
An: Anna Berg <anna@acme.example>
Betreff: Probezeit: Maria Schulz

Hallo Anna,
";
    check(
        body,
        "Hallo,\n\nja, gerne weiter so.\n\nViele Grüße\nAnna Berg",
        Some(Cut::HeaderBlock),
    );
}

#[test]
fn outlook_with_the_underscore_line() {
    let en = "\
Looks good, thanks!

Anna
________________________________
From: tandem <team@agency.example>
Sent: Monday, November 23, 2026 10:02
To: Anna Berg <anna@acme.example>
Subject: Feedback on the first week

Hello Anna,
";
    check(en, "Looks good, thanks!\n\nAnna", Some(Cut::HeaderBlock));
    let de = "\
Unterschrieben, liegt im Anhang.

________________________________

Von: tandem <team@agency.example>
Gesendet: Montag, 23. November 2026 10:02
An: Anna Berg <anna@acme.example>
Betreff: AV-Vertrag
";
    check(
        de,
        "Unterschrieben, liegt im Anhang.",
        Some(Cut::HeaderBlock),
    );
}

#[test]
fn outlook_original_message() {
    let en = "\
Signed, see attached.

-----Original Message-----
From: tandem [mailto:team@agency.example] 
Sent: Monday, November 23, 2026 10:02 AM
To: Anna Berg
Subject: NDA
";
    check(en, "Signed, see attached.", Some(Cut::OriginalMessage));
    let de = "\
Erledigt.

-----Ursprüngliche Nachricht-----
Von: tandem <team@agency.example> 
Gesendet: Montag, 23. November 2026 10:02
";
    check(de, "Erledigt.", Some(Cut::OriginalMessage));
    let spaced = "Done.\n\n----- Original Message -----\nFrom: \"tandem\" <team@agency.example>\n";
    check(spaced, "Done.", Some(Cut::OriginalMessage));
}

#[test]
fn outlook_web_en_with_app_line() {
    let body = "\
1: 5
2: 4

Get Outlook for iOS<https://aka.ms/o0ukef>
________________________________
From: tandem <team@agency.example>
Sent: Monday, November 23, 2026 10:02:13 AM
To: Anna Berg <anna@acme.example>
Subject: How is it going?
";
    check(body, "1: 5\n2: 4", Some(Cut::MobileSignature));
}

#[test]
fn apple_mail() {
    let quoted = "\
Sounds good.

Anna

> On 23 Nov 2026, at 10:02, tandem <team@agency.example> wrote:
> 
> Hello Anna,
";
    check(quoted, "Sounds good.\n\nAnna", Some(Cut::QuoteMarker));
    let unquoted = "\
Sounds good.

On Nov 23, 2026, at 10:02, Anna <a@b.example> wrote:

> Hello
";
    check(unquoted, "Sounds good.", Some(Cut::Attribution));
    let forwarded = "\
FYI

Begin forwarded message:

From: Anna Berg <anna@acme.example>
Subject: Invoices
Date: 23 November 2026 at 10:02:00 CET
To: Maria <maria@va.example>
";
    check(forwarded, "FYI", Some(Cut::OriginalMessage));
}

#[test]
fn ios_mail() {
    let en = "\
Yes, continue!

Sent from my iPhone

> On 23 Nov 2026, at 10:02, tandem <team@agency.example> wrote:
> 
> Should the collaboration continue?
";
    check(en, "Yes, continue!", Some(Cut::MobileSignature));
    let de = "\
Ja, passt.

Von meinem iPhone gesendet

> Am 23.11.2026 um 10:02 schrieb tandem <team@agency.example>:
> 
> Hallo Anna,
";
    check(de, "Ja, passt.", Some(Cut::MobileSignature));
    check(
        "Ok\n\nGesendet von meinem iPad\n",
        "Ok",
        Some(Cut::MobileSignature),
    );
}

#[test]
fn thunderbird_en() {
    let body = "\
Hi,

the contract is signed.

Anna

On 23.11.26 10:02, tandem wrote:
> Hello Anna,
> please sign the contract.
";
    check(
        body,
        "Hi,\n\nthe contract is signed.\n\nAnna",
        Some(Cut::Attribution),
    );
    let date_line_above = "\
Signed.

On 23.11.26 10:02,
Anna Berg wrote:
> Hello Anna,
";
    check(date_line_above, "Signed.", Some(Cut::Attribution));
    let initial = "Ok\nOn 23.11.26 10:02, I. Berg wrote:\nHello";
    check(initial, "Ok", Some(Cut::Attribution));
    let named = "\
Signed.

Anna Berg wrote:
> Hello Anna,
";
    check(named, "Signed.", Some(Cut::Attribution));
    let with_signature = "\
Signed.

-- 
Anna Berg | Acme GmbH
+49 30 1234567
https://acme.example

On 23.11.26 10:02, tandem wrote:
> Hello Anna,
";
    check(with_signature, "Signed.", Some(Cut::Signature));
}

#[test]
fn thunderbird_de() {
    let body = "\
Hallo,

anbei der unterschriebene Vertrag.

Am 23.11.26 um 10:02 schrieb tandem:
> Hallo Anna,
";
    check(
        body,
        "Hallo,\n\nanbei der unterschriebene Vertrag.",
        Some(Cut::Attribution),
    );
    let name_first = "\
Unterschrieben.

tandem <team@agency.example> schrieb am 23.11.2026 um 10:02:
> Hallo Anna,
";
    check(name_first, "Unterschrieben.", Some(Cut::Attribution));
    let forwarded = "\
Zur Info.

-------- Weitergeleitete Nachricht --------
Betreff: 	Rechnung
Datum: 	Mon, 23 Nov 2026 10:02:00 +0100
Von: 	Anna Berg <anna@acme.example>
An: 	Maria <maria@va.example>
";
    check(forwarded, "Zur Info.", Some(Cut::OriginalMessage));
}

#[test]
fn gmx_and_web_de() {
    let webmail = "\
Hallo,

anbei die Stunden:
23.11. 2,5h Buchhaltung

Viele Grüße
Maria
 
 

Gesendet: Montag, 23. November 2026 um 10:02 Uhr
Von: \"tandem\" <team@agency.example>
An: \"Maria Schulz\" <maria@gmx.example>
Betreff: Stunden diese Woche
Hallo Maria,
";
    check(
        webmail,
        "Hallo,\n\nanbei die Stunden:\n23.11. 2,5h Buchhaltung\n\nViele Grüße\nMaria",
        Some(Cut::HeaderBlock),
    );
    let gmx_app = "\
Ja, gerne.

Gesendet mit der GMX Mail App

Am 23.11.26, 10:02 schrieb tandem <team@agency.example>:
> Hallo
";
    check(gmx_app, "Ja, gerne.", Some(Cut::MobileSignature));
    let webde_app = "Passt\nGesendet mit der WEB.DE Mail App\n";
    check(webde_app, "Passt", Some(Cut::MobileSignature));
    let android = "\
Erledigt

-- 
Diese Nachricht wurde von meinem Android-Mobiltelefon mit GMX Mail gesendet.
";
    check(android, "Erledigt", Some(Cut::Signature));
    check(
        "Erledigt\nDiese Nachricht wurde von meinem Android-Mobiltelefon mit GMX Mail gesendet.",
        "Erledigt",
        Some(Cut::MobileSignature),
    );
}

#[test]
fn forwarded_messages() {
    let gmail = "\
Please log these for me.

---------- Forwarded message ---------
From: Anna Berg <anna@acme.example>
Date: Mon, 23 Nov 2026 at 10:02
Subject: Hours
To: <maria@va.example>
";
    check(
        gmail,
        "Please log these for me.",
        Some(Cut::OriginalMessage),
    );
    let gmail_de = "Bitte ansehen\n\n---------- Weitergeleitete Nachricht ---------\nVon: Anna\n";
    check(gmail_de, "Bitte ansehen", Some(Cut::OriginalMessage));
}

// ------------------------------------------------------------------------------ inline replies

#[test]
fn answers_written_between_quoted_questions() {
    let body = "\
On Mon, 23 Nov 2026 at 10:02, tandem <team@agency.example> wrote:
> 1. How satisfied are you overall? (1-5)

4

> 2. How is communication? (1-5)

5

> 3. Should the collaboration go on as it is? (yes/no)
yes
> 4. Comments

Great start, thanks.

> Example Agency
";
    check(
        body,
        "4\n\n5\n\nyes\n\nGreat start, thanks.",
        Some(Cut::QuoteMarker),
    );
}

#[test]
fn inline_answers_under_a_greeting_and_above_a_signature() {
    let body = "\
Hallo, Antworten unten.

Am 23.11.2026 um 10:02 schrieb tandem <team@agency.example>:
> 1. Zufriedenheit (1-5)
4
> 2. Kommunikation (1-5)
5

Viele Grüße
Anna

-- 
Anna Berg
Acme GmbH
";
    check(
        body,
        "Hallo, Antworten unten.\n\n4\n5\n\nViele Grüße\nAnna",
        Some(Cut::Signature),
    );
}

#[test]
fn bottom_posted_reply() {
    let body = "\
Anna Berg wrote:
> Can you log yesterday's hours?

Done: 2,5h Buchhaltung.
";
    check(body, "Done: 2,5h Buchhaltung.", Some(Cut::Attribution));
    let deep = ">> old\n> > older\n>>> oldest\nnew\n> newer quote";
    check(deep, "new", Some(Cut::QuoteMarker));
}

#[test]
fn inline_reply_ended_by_an_outlook_block() {
    let body = "\
> 1. Zufriedenheit
4

Von: tandem <team@agency.example>
Gesendet: Montag, 23. November 2026 10:02
An: Anna
Betreff: Umfrage
> 2. Kommunikation
5
";
    check(body, "4", Some(Cut::HeaderBlock));
}

// ----------------------------------------------------------------------- HTML-only messages

/// Texts exactly as mail-parser 0.11's `body_text(0)` turns HTML-only replies into text:
/// `<div>`s run together, `<br>` and `</p>` end lines, `&nbsp;` becomes U+00A0.
#[test]
fn html_only_gmail_attribution_without_markers() {
    let text = "Thanks, looks good!\nAnna\nOn Mon, 23 Nov 2026 at 10:02, tandem <team@agency.example> wrote:\nHello Anna,\n\nhow was the week?\n";
    check(text, "Thanks, looks good!\nAnna", Some(Cut::Attribution));
}

#[test]
fn html_only_outlook_desktop() {
    let text = "Hallo,\n1: 4\n\u{a0}\nVon:tandem <team@agency.example>\nGesendet:Montag, 23. November 2026 10:02\nAn:Anna Berg <anna@acme.example>\nBetreff: Feedback\n\u{a0}\nHallo Anna,\n";
    check(text, "Hallo,\n1: 4", Some(Cut::HeaderBlock));
}

#[test]
fn html_only_outlook_web_glues_the_sender_onto_the_text() {
    let text = "1: 4 2: 5 From: tandem <team@agency.example>\n Sent:Monday, November 23, 2026 10:02\n To:Anna Berg <anna@acme.example>\n Subject: Feedback\u{a0} Hello Anna,\n1. How satisfied are you?\n";
    check(text, "1: 4 2: 5", Some(Cut::HeaderBlock));
}

#[test]
fn html_only_apple_glues_the_app_line_onto_the_text() {
    let text = "Passt, danke!Von meinem iPhone gesendet\nAm 23.11.2026 um 10:02 schrieb tandem <team@agency.example>:\n\nHallo Anna,\nwie war die Woche?";
    check(text, "Passt, danke!", Some(Cut::MobileSignature));
}

#[test]
fn html_only_gmx_glues_the_date_line_onto_the_text() {
    let text = "Hallo,anbei die Stunden.\u{a0} Gesendet:\u{a0}Montag, 23. November 2026 um 10:02 Uhr\n Von:\u{a0}\"tandem\" <team@agency.example>\n An:\u{a0}\"Maria\" <maria@gmx.example>\n Betreff:\u{a0}Stunden Hallo Maria,";
    check(text, "Hallo,anbei die Stunden.", Some(Cut::HeaderBlock));
}

#[test]
fn html_only_thunderbird_and_yahoo() {
    let thunderbird = "Signed, thanks.\n\nOn 23.11.26 10:02, tandem wrote:\nHello Anna,\nplease sign. -- Anna Berg";
    check(thunderbird, "Signed, thanks.", Some(Cut::Attribution));
    let yahoo = "Thanks!\nAnnaOn Monday, November 23, 2026, 10:02:00 AM GMT+1, tandem <team@agency.example> wrote:\n\nHello Anna";
    check(yahoo, "Thanks!\nAnna", Some(Cut::Attribution));
}

#[test]
fn html_only_glued_attribution() {
    let text = "Thanks!On Monday, November 23, 2026, 10:02:00 AM GMT+1, Anna Berg <anna@acme.example> wrote:\nHello,\nhow was the week?";
    check(text, "Thanks!", Some(Cut::Attribution));
}

/// The same, end to end through the message reader (whose HTML conversion keeps lines and
/// marks `<blockquote>` with `>`), so a change in the conversion shows here.
#[test]
fn html_only_messages_through_the_reader() {
    use crate::inbound::message::Incoming;
    let mail = |html: &str| {
        let raw = format!(
            "From: Anna <anna@acme.example>\r\nSubject: Re: x\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n{html}\r\n"
        );
        extract(&Incoming::parse(raw.as_bytes()).text)
    };
    let gmail = r#"<div dir="ltr"><div>Thanks, looks good!</div><div><br></div><div>Anna</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 23 Nov 2026 at 10:02, tandem &lt;<a href="mailto:team@agency.example">team@agency.example</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex"><div>Hello Anna,<br><br>how was the week?<br></div></blockquote></div>"#;
    assert_eq!(mail(gmail), "Thanks, looks good!\n\nAnna");
    let outlook = r#"<html><body lang="DE"><div class="WordSection1"><p class="MsoNormal">Hallo,<o:p></o:p></p><p class="MsoNormal">1: 4<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class="MsoNormal"><b>Von:</b> tandem &lt;team@agency.example&gt; <br><b>Gesendet:</b> Montag, 23. November 2026 10:02<br><b>An:</b> Anna Berg &lt;anna@acme.example&gt;<br><b>Betreff:</b> Feedback<o:p></o:p></p></div></div><p class="MsoNormal">Hallo Anna,<o:p></o:p></p></div></body></html>"#;
    assert_eq!(mail(outlook), "Hallo,\n1: 4");
    let owa = "<div>\r\n1: 4</div>\r\n<div>\r\n2: 5</div>\r\n<div id=\"appendonsend\"></div>\r\n<hr style=\"display:inline-block;width:98%\" tabindex=\"-1\">\r\n<div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\"><b>From:</b> tandem &lt;team@agency.example&gt;<br>\r\n<b>Sent:</b> Monday, November 23, 2026 10:02<br>\r\n<b>To:</b> Anna Berg &lt;anna@acme.example&gt;<br>\r\n<b>Subject:</b> Feedback</font>\r\n<div>&nbsp;</div>\r\n</div>\r\n<div><p>Hello Anna,</p></div>";
    assert_eq!(mail(owa), "1: 4\n2: 5");
    let gmx = "<div><div>Hallo,</div><div>anbei die Stunden.</div><div>&nbsp;</div><div>\r\n<div name=\"quote\">\r\n<div><b>Gesendet:</b>&nbsp;Montag, 23. November 2026 um 10:02 Uhr<br/>\r\n<b>Von:</b>&nbsp;&quot;tandem&quot; &lt;team@agency.example&gt;<br/>\r\n<b>An:</b>&nbsp;&quot;Maria&quot; &lt;maria@gmx.example&gt;<br/>\r\n<b>Betreff:</b>&nbsp;Stunden</div>\r\n<div name=\"quoted-content\">Hallo Maria,</div></div></div></div>";
    assert_eq!(mail(gmx), "Hallo,\nanbei die Stunden.");
}

// ---------------------------------------------------------------- never over-strip

/// Lines a person writes that look a little like markers. Each one, and all of them together,
/// are kept as they are.
const TRAPS: &[&str] = &[
    "Kalender -- Termine geklärt",
    "1h --- calls",
    "Note: 2h inbox",
    "23.11.: 2h",
    "Wichtig: bitte zurückrufen",
    "Von 9 bis 12 gearbeitet",
    "From 9 to 12",
    "he said > 5 hours",
    "5 > 3 hours, so I stopped",
    "- 1.5h inbox",
    "- 30 min calls",
    "23.11. 1:30 Kalenderpflege",
    "2026-11-23 2.5h #acme Invoices and reminders",
    "Monday, 23 Nov",
    "I wrote: 2 reports",
    "On Monday I wrote:",
    "On 23.11.2026 at 10:00 I wrote:",
    "Am 23.11.2026 schrieb ich:",
    "Von: Montag bis Freitag erreichbar",
    "Subject: the invoices",
    "Name: ___ (bitte ausfüllen)",
    "Sent the invoices to Anna",
    "Gesendet habe ich die Rechnungen",
    "Original message attached as PDF",
    "Von: 9:00",
    "Bis: 12:00",
    "Ich bin von meinem Handy aus erreichbar",
    "Grüße 👋 aus Köln — Jörg",
];

#[test]
fn lines_that_only_look_like_markers_are_kept() {
    for trap in TRAPS {
        check(trap, trap, None);
        // Also above a real quote, which is still cut.
        let body =
            format!("{trap}\n\nOn Mon, 23 Nov 2026 at 10:02, Anna <a@b.example> wrote:\n> hi\n");
        check(&body, trap, Some(Cut::Attribution));
    }
    let all = TRAPS.join("\n");
    check(&all, &all, None);
}

#[test]
fn a_time_log_written_like_a_form_is_kept() {
    let body = "Datum: 23.11.2026\nVon: 9:00\nBis: 12:00\nTätigkeit: Buchhaltung";
    check(body, body, None);
}

#[test]
fn a_time_log_with_a_date_line_is_kept() {
    let body = "Monday, 23 Nov\n- 1.5h inbox\n- 30 min calls\n\nyesterday 1h15m inbox zero\n";
    check(body, body.trim_end(), None);
}

#[test]
fn a_single_header_like_line_is_not_a_block() {
    let body = "Hallo,\n\nVon: Montag bis Freitag erreichbar\nBis bald\n";
    check(body, body.trim_end(), None);
    let body = "Subject: the invoices\nAll sent.\n";
    check(body, body.trim_end(), None);
    let lonely_underscores = "Notes\n______________________________\nmore notes";
    check(lonely_underscores, lonely_underscores, None);
}

#[test]
fn a_dashed_line_followed_by_a_long_text_is_not_a_signature() {
    let lines: Vec<String> = (1..=12).map(|d| format!("{d}.11. 1h inbox")).collect();
    let body = format!("Hours:\n--\n{}", lines.join("\n"));
    check(&body, &body, None);
}

#[test]
fn signature_delimiter_with_or_without_its_space() {
    check("Done.\n-- \nAnna", "Done.", Some(Cut::Signature));
    check(
        "Done.\n--\nAnna\nAcme GmbH\n",
        "Done.",
        Some(Cut::Signature),
    );
    check("Done.\n--", "Done.", Some(Cut::Signature));
}

// ---------------------------------------------------------------------------- robustness

#[test]
fn nothing_left() {
    check("", "", None);
    check("\n\n  \n", "", None);
    check("> all\n> quoted\n", "", Some(Cut::QuoteMarker));
    check(
        "On Mon, 23 Nov 2026 at 10:02, Anna <a@b> wrote:\n> hi",
        "",
        Some(Cut::Attribution),
    );
    check("-- \nAnna", "", Some(Cut::Signature));
    check("Sent from my iPhone", "", Some(Cut::MobileSignature));
}

#[test]
fn stray_carriage_returns_and_unicode() {
    check(
        "Grüße aus Köln 🎉\r\n\r\nAm 23.11.2026 um 10:02 schrieb Jörg Müller <jörg@bäcker.example>:\r\n> Hallo\r",
        "Grüße aus Köln 🎉",
        Some(Cut::Attribution),
    );
    check("ok\r\r\n-- \r\nAnna\r", "ok", Some(Cut::Signature));
    check("\u{feff}> quoted\nnew", "new", Some(Cut::QuoteMarker));
}

#[test]
fn very_long_input_stays_fast() {
    let long_line = "ä".repeat(1 << 20);
    assert_eq!(extract(&long_line), long_line);
    let glue = format!(
        "{}On Mon, 23 Nov 2026 at 10:02, Anna wrote:",
        "On ".repeat(100_000)
    );
    assert!(extract(&glue).len() < glue.len());
    let many = "On 23.11.2026 at 10:00 Anna and\nAm 23.11.2026 Von: x\n--\n\n".repeat(50_000);
    let started = std::time::Instant::now();
    let _ = extract(&many);
    let headers = "From: a@b\nSubject: c\n".repeat(100_000);
    assert_eq!(extract(&headers), "");
    // Generous: a quadratic pass would take minutes here.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn a_long_blank_line_before_many_quotes_is_looked_at_once() {
    // Each blank line after a removed quote asked whether the kept text already ends blank by
    // looking at the last kept line again: a 1 MB blank line then 4,000 quotes took two
    // minutes in a debug build. Now it is remembered.
    let mut text = format!("Hello\n{}\n", " ".repeat(1 << 20));
    text.push_str(&"> q\n\n".repeat(4_000));
    text.push_str("bye");
    let out = extract(&text);
    assert!(
        out.starts_with("Hello") && out.ends_with("bye"),
        "{}",
        out.len()
    );
    assert!(out.len() < text.len());
}

#[test]
fn a_header_glued_onto_text_keeps_the_text_before_it() {
    // Found by the fuzz target: the kept line is the start of an input line.
    assert_eq!(extract("JVon:@\nDate:8"), "J");
}

// ---------------------------------------------------------------------------- properties

/// Whether the lines of `out` are, in order, lines of `input` (without a trailing `\r`), each
/// whole or, where a marker was glued on, a beginning of one.
fn lines_are_from(input: &str, out: &str) -> bool {
    if out.is_empty() {
        return true;
    }
    let mut source = input.split('\n').map(|l| l.trim_end_matches('\r'));
    out.split('\n').all(|line| {
        source
            .by_ref()
            .any(|s| s == line || (!line.is_empty() && s.starts_with(line)))
    })
}

/// `input` as [`extract`] returns it when it removes nothing: without `\r` at line ends and
/// without blank lines around it.
fn untouched(input: &str) -> String {
    let lines: Vec<&str> = input
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    let blank = |l: &&str| super::text::content(l).is_empty();
    match (
        lines.iter().position(|l| !blank(l)),
        lines.iter().rposition(|l| !blank(l)),
    ) {
        (Some(start), Some(end)) => lines[start..=end].join("\n"),
        _ => String::new(),
    }
}

/// Pieces that make realistic and unrealistic mail when strung together.
fn line_strategy() -> impl Strategy<Value = String> {
    let pieces: Vec<&'static str> = [
        "> quoted",
        ">",
        "  >> deep",
        "On Mon, 23 Nov 2026 at 10:02, Anna <a@b> wrote:",
        "On Mon, 23 Nov 2026 at 10:02, Anna <",
        "a@b> wrote:",
        "Am 23.11.2026 um 10:02 schrieb Anna:",
        "Anna schrieb am 23.11.2026 um 10:02:",
        "Anna Berg wrote:",
        "-----Original Message-----",
        "________________________________",
        "From: Anna <a@b>",
        "Von:Anna",
        "Sent: Monday, 23 November 2026",
        "Betreff: x",
        "To: x",
        "-- ",
        "--",
        "Sent from my iPhone",
        "ok.Von meinem iPhone gesendet",
        "x From: a@b",
        "y.On 23.11.26 10:02, A wrote:",
        "",
        " ",
        "\r",
        "Danke!",
        "4",
        "ü🎉",
    ]
    .to_vec();
    prop_oneof![
        4 => proptest::sample::select(pieces).prop_map(str::to_string),
        1 => proptest::sample::select(TRAPS.to_vec()).prop_map(str::to_string),
        1 => ".{0,40}",
    ]
}

proptest! {
    #[test]
    fn never_panics_and_only_returns_what_it_was_given(input in any::<String>()) {
        let out = extract(&input);
        prop_assert!(out.len() <= input.len());
        prop_assert!(lines_are_from(&input, &out), "{input:?} -> {out:?}");
        prop_assert_eq!(out.trim_matches('\n'), out.as_str());
    }

    #[test]
    fn mail_shaped_input_gives_a_trimmed_subset(
        lines in proptest::collection::vec(line_strategy(), 0..40),
        crlf in any::<bool>(),
    ) {
        let input = lines.join(if crlf { "\r\n" } else { "\n" });
        let got = extract_with_reason(&input);
        let out = &got.text;
        prop_assert!(out.len() <= input.len());
        prop_assert!(lines_are_from(&input, out), "{input:?} -> {out:?}");
        prop_assert!(out.lines().next().is_none_or(|l| !l.trim().is_empty()), "{out:?}");
        prop_assert!(out.lines().last().is_none_or(|l| !l.trim().is_empty()), "{out:?}");
        prop_assert!(!out.lines().any(|l| l.trim_start().starts_with('>')), "{out:?}");
        if got.cut.is_none() {
            prop_assert_eq!(out, &untouched(&input));
        }
    }

    #[test]
    fn trap_lines_survive_any_order(order in Just(TRAPS.to_vec()).prop_shuffle()) {
        let input = order.join("\n");
        prop_assert_eq!(extract(&input), input);
    }
}

// ---------------------------------------------------------------------------- other languages

/// (attribution as the language's clients write it above a `>` quote)
const ATTRIBUTIONS: &[&str] = &[
    "Le mar. 3 mars 2026 à 10:00, Anna Berg <anna@acme.example> a écrit :",
    "Le 3 mars 2026 à 10:00, Anna Berg <anna@acme.example> a\u{a0}écrit\u{a0}:",
    "Le 03/03/2026 à 10:00, Anna Berg a écrit :",
    "Il giorno mar 3 mar 2026 alle ore 10:00 Anna Berg <anna@acme.example> ha scritto:",
    "In data 3 marzo 2026 10:00:12, Anna Berg <anna@acme.example> ha scritto:",
    "Il 03/03/2026 10:00, Anna Berg ha scritto:",
    "El mar, 3 mar 2026 a las 10:00, Anna Berg (<anna@acme.example>) escribió:",
    "El 3/3/26 a las 10:00, Anna Berg escribió:",
    "Em ter., 3 de mar. de 2026 às 10:00, Anna Berg <anna@acme.example> escreveu:",
    "Op di 3 mrt 2026 om 10:00 schreef Anna Berg <anna@acme.example>:",
    "Op 3 mrt. 2026 om 10:00 heeft Anna Berg <anna@acme.example> het volgende geschreven:",
    "W dniu 3.03.2026 o 10:00, Anna Berg pisze:",
    "wt., 3 mar 2026 o 10:00 Anna Berg <anna@acme.example> napisał(a):",
    "Den tis 3 mars 2026 kl 10:00 skrev Anna Berg <anna@acme.example>:",
    "Den 3. mar. 2026 kl. 10.00 skrev Anna Berg <anna@acme.example>:",
    "tir. 3. mar. 2026 kl. 10:00 skrev Anna Berg <anna@acme.example>:",
    "ti 3. maalisk. 2026 klo 10.00 Anna Berg <anna@acme.example> kirjoitti:",
    "03.03.2026 10:00, Анна Берг пишет:",
    "3 марта 2026 г., в 10:00, пользователь Anna Berg <anna@acme.example> написал:",
    "вт, 3 мар. 2026 г. в 10:00, Anna Berg <anna@acme.example>:",
    "Dne út 3. 3. 2026 10:00 Anna Berg <anna@acme.example> napsal(a):",
    "Anna Berg <anna@acme.example> ezt írta (időpont: 2026. márc. 3., K, 10:00):",
    "Anna Berg <anna@acme.example>, 3 Mar 2026 Sal, 10:00 tarihinde şunu yazdı:",
    "Στις Τρί 3 Μαρ 2026 στις 10:00, ο/η Anna Berg <anna@acme.example> έγραψε:",
    "În mar., 3 mar. 2026 la 10:00, Anna Berg <anna@acme.example> a scris:",
    "03.03.2026, 09.12, \"Anna Berg\" <anna@acme.example>:",
];

#[test]
fn attributions_in_every_language_above_a_quote() {
    for attribution in ATTRIBUTIONS {
        let body = format!("Merci, c'est noté.\n\n{attribution}\n\n> Hallo Anna,\n> wie geht's?\n");
        let got = extract_with_reason(&body);
        assert_eq!(got.text, "Merci, c'est noté.", "{attribution}");
        let cut = got.cut.expect(attribution);
        assert_eq!(
            (cut.kind, cut.line.as_str()),
            (Cut::Attribution, attribution.trim()),
            "{attribution}"
        );
    }
}

#[test]
fn attributions_by_their_verb_end_the_text_without_a_quote() {
    // HTML-only mail: the original follows without `>` marks.
    for attribution in ATTRIBUTIONS
        .iter()
        .filter(|a| !a.starts_with("вт") && !a.starts_with("03.03.2026, 09.12"))
    {
        let body = format!("Oui.\n\n{attribution}\nBonjour Anna,\nle texte d'origine.\n");
        check(&body, "Oui.", Some(Cut::Attribution));
    }
    // Without a verb, only what follows makes it an attribution.
    let body = "Ok.\n\n03.03.2026, 09.12, \"Anna Berg\" <anna@acme.example>:\nplain text\n";
    check(body, body.trim(), None);
}

#[test]
fn an_attribution_glued_onto_the_text_in_another_language() {
    check(
        "Oui, merci !Le ven. 4 déc. 2026 à 10:00, Example Agency <team@example.org> a écrit :\n> Bonjour\n",
        "Oui, merci !",
        Some(Cut::Attribution),
    );
}

#[test]
fn an_attribution_wrapped_over_lines() {
    check(
        "Grazie!\n\nIl giorno mar 3 mar 2026 alle ore 10:00 Anna Berg <\nanna@acme.example> ha scritto:\n\n> Ciao\n",
        "Grazie!",
        Some(Cut::Attribution),
    );
    let got = extract_with_reason(
        "Dank je.\nOp di 3 mrt 2026 om 10:00 schreef\nAnna Berg\n<anna@acme.example>:\n> hoi\n",
    );
    assert_eq!(got.text, "Dank je.");
    assert_eq!(
        got.cut.unwrap().line,
        "Op di 3 mrt 2026 om 10:00 schreef Anna Berg <anna@acme.example>:"
    );
    // Without a verb, wrapped, above a header block.
    check(
        "Ok.\n\n03.03.2026, 09.12,\n\"Anna Berg\" <anna@acme.example>:\n\nFrom: Anna Berg <anna@acme.example>\nSubject: x\n\nold\n",
        "Ok.",
        Some(Cut::Attribution),
    );
}

#[test]
fn named_attributions_in_other_languages_need_a_quote() {
    for line in [
        "Anna Berg a écrit :",
        "Anna Berg ha scritto:",
        "Anna Berg escribió:",
        "Anna Berg schreef:",
        "Anna Berg napisał(a):",
        "Anna Berg skrev:",
        "Anna Berg kirjoitti:",
        "Анна Берг пишет:",
    ] {
        check(
            &format!("Ja.\n{line}\n> q\n"),
            "Ja.",
            Some(Cut::Attribution),
        );
        check(
            &format!("Ja.\n{line}\nmore"),
            &format!("Ja.\n{line}\nmore"),
            None,
        );
    }
}

#[test]
fn prose_in_other_languages_that_looks_like_an_attribution_is_kept() {
    for line in [
        "Le 3 mars 2026 j'ai écrit :",
        "Op 3 maart 2026 schreef ik:",
        "Den 3 mars 2026 skrev jag till Anna:",
        "3 марта 2026 я написал:",
        "Il 3 marzo 2026 ho scritto:",
        "Anna a écrit le rapport",
        "2026-11-23 2.5h #acme invoices:",
        "23.11.2026 Meeting:",
    ] {
        check(&format!("{line}\n> q\n"), line, Some(Cut::QuoteMarker));
    }
}

#[test]
fn header_blocks_in_every_language() {
    for block in [
        "De : Anna Berg <anna@acme.example>\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : team@example.org\nObjet : Votre avis",
        "Da: Anna Berg <anna@acme.example>\nInviato: martedì 3 marzo 2026 10:00\nA: team@example.org\nOggetto: Il tuo parere",
        "De: Anna Berg <anna@acme.example>\nEnviado el: martes, 3 de marzo de 2026 10:00\nPara: team@example.org\nAsunto: Su opinión",
        "De: Anna Berg <anna@acme.example>\nEnviado: terça-feira, 3 de março de 2026 10:00\nPara: team@example.org\nAssunto: A sua opinião",
        "Van: Anna Berg <anna@acme.example>\nVerzonden: dinsdag 3 maart 2026 10:00\nAan: team@example.org\nOnderwerp: Uw mening",
        "Od: Anna Berg <anna@acme.example>\nWysłano: wtorek, 3 marca 2026 10:00\nDo: team@example.org\nTemat: Twoja opinia",
        "Från: Anna Berg <anna@acme.example>\nSkickat: den 3 mars 2026 10:00\nTill: team@example.org\nÄmne: Din åsikt",
        "Fra: Anna Berg <anna@acme.example>\nSendt: 3. marts 2026 10:00\nTil: team@example.org\nEmne: Din mening",
        "Lähettäjä: Anna Berg <anna@acme.example>\nLähetetty: tiistai 3. maaliskuuta 2026 10.00\nVastaanottaja: team@example.org\nAihe: Palaute",
        "От: Anna Berg <anna@acme.example>\nОтправлено: 3 марта 2026 г. 10:00\nКому: team@example.org\nТема: Отзыв",
        "Od: Anna Berg <anna@acme.example>\nOdesláno: úterý 3. března 2026 10:00\nKomu: team@example.org\nPředmět: Názor",
        "Feladó: Anna Berg <anna@acme.example>\nElküldve: 2026. március 3. 10:00\nCímzett: team@example.org\nTárgy: Vélemény",
        "Kimden: Anna Berg <anna@acme.example>\nGönderildi: 3 Mart 2026 Salı 10:00\nKime: team@example.org\nKonu: Görüş",
    ] {
        let body = format!("Merci.\n\n________________________________\n{block}\n\nBonjour\n");
        let got = extract_with_reason(&body);
        assert_eq!(got.text, "Merci.", "{block}");
        assert_eq!(got.cut.map(|c| c.kind), Some(Cut::HeaderBlock), "{block}");
        let body = format!("Merci.\n\n{block}\n\nBonjour\n");
        check(&body, "Merci.", Some(Cut::HeaderBlock));
    }
}

#[test]
fn separators_in_every_language() {
    for line in [
        "-----Message d'origine-----",
        "-------- Message original --------",
        "-----Messaggio originale-----",
        "-----Mensaje original-----",
        "-----Mensagem original-----",
        "-----Oorspronkelijk bericht-----",
        "-----Wiadomość oryginalna-----",
        "-----Ursprungligt meddelande-----",
        "-----Oprindelig meddelelse-----",
        "-----Opprinnelig melding-----",
        "-----Alkuperäinen viesti-----",
        "-----Исходное сообщение-----",
        "-----Původní zpráva-----",
        "-----Eredeti üzenet-----",
        "---------- Message transféré ---------",
        "Début du message réexpédié :",
        "Inizio messaggio inoltrato:",
    ] {
        let got = extract_with_reason(&format!("Oui.\n\n{line}\nDe : x\nold"));
        assert_eq!(got.text, "Oui.", "{line}");
        let cut = got.cut.unwrap();
        assert_eq!(
            (cut.kind, cut.line.as_str()),
            (Cut::OriginalMessage, line),
            "{line}"
        );
    }
}

#[test]
fn app_lines_in_every_language() {
    for line in [
        "Envoyé de mon iPhone",
        "Inviato da iPhone",
        "Inviato dal mio smartphone Samsung Galaxy.",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Verzonden vanaf mijn iPhone",
        "Wysłane z iPhone'a",
        "Wysłane z iPhone’a",
        "Skickat från min iPhone",
        "Sendt fra min iPhone",
        "Lähetetty iPhonesta",
        "Отправлено с iPhone",
        "Odesláno z iPhonu",
        "iPhone-ról küldve",
        "iPhone'umdan gönderildi",
        "Εστάλη από το iPhone μου",
        "Trimis de pe iPhone-ul meu",
        "Obtenir Outlook pour iOS<https://aka.ms/o0ukef>",
    ] {
        check(
            &format!("Oui.\n\n{line}"),
            "Oui.",
            Some(Cut::MobileSignature),
        );
    }
    for line in [
        "Lähetetty laskut asiakkaalle",
        "Inviato da Anna il contratto",
        "Sendt fra kontoret i dag",
    ] {
        check(line, line, None);
    }
    check(
        "Sì, grazie!Inviato da iPhone",
        "Sì, grazie!",
        Some(Cut::MobileSignature),
    );
}

// ------------------------------------------------------------------ adversarial input, new rules

/// Inputs built to make the language rules work hardest, each about `bytes` long: every line a
/// candidate attribution (a date, a verb, an address, a colon) that no quote follows, wrapped
/// windows of three, header names of every language, app-line starts, and one long line full
/// of glued markers.
fn adversarial(bytes: usize) -> Vec<String> {
    let repeat = |unit: &str| unit.repeat(bytes / unit.len() + 1);
    vec![
        repeat("Le 3 mars 2026 à 10:00, Anna <a@b> a écrit et ha scritto et escribió :\n"),
        repeat("03.03.2026, 09.12, \"A\" <a@b>:\nAnna Berg\n<a@b> skrev:\n"),
        repeat("Отправлено: 3 марта 2026\nDe : Anna\nLähettäjä: x\nWysłano: 1\n"),
        repeat("Envoyé de mon iPhone Inviato da iPhone Lähetetty iPhonesta\n"),
        repeat("ü Anna a écrit : De : Von: Envoyé : Sent: 2026 10:00 <a@b> iPhone-ról küldve "),
        repeat("-----Message d'origine-----\n>\n"),
    ]
}

#[test]
fn the_language_rules_stay_linear_on_adversarial_input() {
    // Each detector looks at a bounded piece of a line (MAX_ATTRIBUTION, MAX_HEADER_NAME,
    // GLUED_HEADER_TAIL, MAX_APP_LINE, MAX_SEPARATOR) or a window of at most three lines, and
    // none backtracks, so eight times the input takes about eight times as long; a quadratic
    // rule would take sixty-four times. Timed in this thread's own CPU time (Linux's
    // `/proc/thread-self/schedstat`), not the wall clock, so the other tests and builds on the
    // machine do not count; best of three runs each, and three times linear allowed.
    let cpu = || -> std::time::Duration {
        // The kernel brings a thread's figure up to date when it leaves the CPU: leave it.
        std::thread::sleep(std::time::Duration::from_millis(1));
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
        let ns: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
        std::time::Duration::from_nanos(ns)
    };
    let time = |input: &str| {
        (0..3)
            .map(|_| {
                let started = cpu();
                let out = extract_with_reason(input);
                assert!(out.text.len() <= input.len());
                cpu() - started
            })
            .min()
            .unwrap()
    };
    let small = adversarial(50_000);
    let large = adversarial(400_000);
    for (s, l) in small.iter().zip(&large) {
        let (ts, tl) = (time(s), time(l));
        // The clock works: reading 50 kB takes some time. (Not `tl > ts`: an input whose
        // first lines end the reply, a separator, takes the same time at any length, and
        // the two figures then differ only by noise, either way.)
        assert!(
            ts > std::time::Duration::ZERO && tl > std::time::Duration::ZERO,
            "{ts:?} {tl:?}"
        );
        let ratio = tl.as_secs_f64() / ts.as_secs_f64();
        assert!(
            ratio < 24.0,
            "{:?}...: {ts:?} for {} bytes, {tl:?} for {}",
            &s[..40.min(s.len())],
            s.len(),
            l.len()
        );
        // And in absolute terms: 400 kB in seconds, even in a debug build.
        assert!(tl.as_secs() < 10, "{tl:?}");
    }
}

#[test]
fn the_language_rules_stop_at_their_caps() {
    // An attribution longer than MAX_ATTRIBUTION is none, however it ends.
    let long = format!("Le 3 mars 2026, Anna <a@b> {} a écrit :", "et ".repeat(120));
    check(
        &format!("Oui.\n{long}\nold"),
        &format!("Oui.\n{long}\nold"),
        None,
    );
    // A header name whose colon is past MAX_HEADER_NAME is no header name.
    let far = format!(
        "De{} : Anna <a@b>\nEnvoyé : 3 mars 2026\nObjet : x",
        " ".repeat(50)
    );
    check(&far, &far, None);
    // A glued header further than GLUED_HEADER_TAIL from the end of its line is not looked for.
    let glued = format!(
        "Merci. De : Anna <a@b> {}\nEnvoyé : 3 mars 2026\nObjet : x",
        "x".repeat(600)
    );
    check(&glued, &glued, None);
    let near = "Merci. De : Anna <a@b>\nEnvoyé : 3 mars 2026\nObjet : x";
    check(near, "Merci.", Some(Cut::HeaderBlock));
    // An app line longer than MAX_APP_LINE is text.
    let app = format!("Envoyé de mon iPhone{}", " très".repeat(20));
    check(&app, &app, None);
    // The line a cut names is at most MAX_CUT_LINE bytes.
    let quote = format!("Oui.\n> {}", "é".repeat(1000));
    let cut = extract_with_reason(&quote).cut.unwrap();
    assert!(
        cut.line.len() <= MAX_CUT_LINE && cut.line.starts_with("> é"),
        "{}",
        cut.line.len()
    );
}
