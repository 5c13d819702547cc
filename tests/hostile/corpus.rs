//! The hostile corpus: mail anyone can send to the agency's inbox, built to break a mail
//! daemon (deep HTML, megabyte headers, a 30 MB attachment, broken MIME, garbage). It is
//! generated, deterministically, so no megabytes are committed: `cases(from, to, seed)` builds
//! every case (about 43 MiB in all), `case(name, ...)` one of them.
//!
//! Included by `tests/api` and by `cargo bench --bench hostile` through
//! `#[path = "../hostile/corpus.rs"] mod corpus;`. Standard library only: the base64 encoder,
//! the header folding, the gzip writer and the pseudo-random generator are written here.

/// One hostile message.
pub struct Case {
    /// Short and unique; the `NAME` in its Message-ID `<hostile-NAME@SEED.example>`.
    pub name: &'static str,
    /// What is hostile about it, in words (for a report or a failing test).
    pub what: &'static str,
    /// The message as it arrives, CRLF line ends.
    pub raw: Vec<u8>,
}

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// RFC 5322 2.1.1: a line is at most 998 bytes, without its CRLF.
const LINE_MAX: usize = 998;
/// The width bodies are wrapped at where a case is not about long lines.
const BODY_WIDTH: usize = 76;
const DATE: &str = "Thu, 26 Nov 2026 10:00:00 +0000";

/// `deep_blockquote`: the nesting that blew up the HTML conversion.
pub const DEEP_BLOCKQUOTES: usize = 16_000;
/// `deep_blockquote_1mb`: the same, about 1 MiB of it.
pub const DEEP_BLOCKQUOTES_1MB: usize = 64_000;
pub const REFERENCES: usize = 50_000;
/// `attachment_30mb`: the base64 text of the attachment, as it travels (decoded, about 22 MiB).
pub const ATTACHMENT_BASE64_BYTES: usize = 30 * MIB;
pub const NESTED_MULTIPARTS: usize = 1_000;
pub const LONG_LINE_BYTES: usize = 5 * MIB;
/// `zip_bomb`: what its gzip expands to.
pub const BOMB_BYTES: usize = 100 * MIB;
/// CRC-32 of `BOMB_BYTES` zeros, as gzip's trailer wants it. Recompute with
/// `head -c 104857600 /dev/zero | gzip -c | tail -c 8 | od -An -tx4` (the first word).
const BOMB_CRC32: u32 = 0x4b28_2398;
/// `recipients_10k`: addresses in `To:` and as many in `Cc:` (10,000 in all).
pub const RECIPIENTS_EACH: usize = 5_000;
pub const FROM_ADDRESSES: usize = 1_000;
pub const DUPLICATES: usize = 500;

/// Every case, in the order `cases` builds them.
pub const NAMES: &[&str] = &[
    "deep_blockquote",
    "deep_blockquote_1mb",
    "subject_plus_1mb",
    "subject_bracket_1mb",
    "subject_re_prefixes",
    "subject_unfolded_1mb",
    "references_50k",
    "attachment_30mb",
    "nested_multipart_1000",
    "boundary_never_closed",
    "bad_charset",
    "bad_transfer_encoding",
    "nul_bytes",
    "line_5mb",
    "zip_bomb",
    "recipients_10k",
    "from_1000",
    "malformed_headers",
    "duplicated_headers",
    "empty",
    "headers_only",
    "binary_garbage",
];

/// Every hostile case, each a complete RFC 5322 message (CRLF line ends) from `from` to `to`,
/// with a unique Message-ID `<hostile-NAME@SEED.example>` unless the case is about
/// Message-IDs (`duplicated_headers` has two) or is no message at all (`empty`,
/// `binary_garbage`).
pub fn cases(from: &str, to: &str, seed: &str) -> Vec<Case> {
    NAMES
        .iter()
        .map(|name| case(name, from, to, seed).expect("every name in NAMES builds"))
        .collect()
}

pub fn total_bytes(cases: &[Case]) -> usize {
    cases.iter().map(|c| c.raw.len()).sum()
}

/// One case by name (see `NAMES`), or `None` for an unknown name.
pub fn case(name: &str, from: &str, to: &str, seed: &str) -> Option<Case> {
    let name = *NAMES.iter().find(|n| **n == name)?;
    let c = Ctx {
        name,
        from,
        to,
        seed,
    };
    let (what, raw) = match name {
        "deep_blockquote" => (
            "text/html only: 16,000 nested <blockquote>, a line of text, then 16,000 <br> (the known memory blow-up)",
            deep_blockquote(&c, DEEP_BLOCKQUOTES),
        ),
        "deep_blockquote_1mb" => (
            "text/html only: 64,000 nested <blockquote>, a line of text, then 64,000 <br>, about 1 MiB",
            deep_blockquote(&c, DEEP_BLOCKQUOTES_1MB),
        ),
        "subject_plus_1mb" => (
            "a 1 MiB Subject of '+', folded every 998 bytes",
            c.text_mail(&vec![b'+'; MIB]),
        ),
        "subject_bracket_1mb" => (
            "a 1 MiB Subject of '[#', folded every 998 bytes",
            c.text_mail(&b"[#".repeat(MIB / 2)),
        ),
        "subject_re_prefixes" => (
            "a Subject of 'Re: ' repeated 100,000 times (400 KiB), folded",
            c.text_mail(&[b"Re: ".repeat(100 * KIB).as_slice(), b"hours"].concat()),
        ),
        "subject_unfolded_1mb" => ("a 1 MiB Subject of '+' on one line, unfolded", {
            let mut subject = b"Subject: ".to_vec();
            subject.resize(subject.len() + MIB, b'+');
            c.mail()
                .line(&subject)
                .body("text/plain; charset=utf-8", TEXT)
        }),
        "references_50k" => (
            "50,000 Message-IDs in References: and the same in In-Reply-To:, folded",
            references(&c),
        ),
        "attachment_30mb" => (
            "a 30 MiB base64 application/pdf attachment (about 22 MiB decoded)",
            attachment(&c),
        ),
        "nested_multipart_1000" => (
            "1,000 levels of multipart/mixed nested in each other, text at the bottom",
            nested_multipart(&c),
        ),
        "boundary_never_closed" => (
            "multipart/mixed (and an alternative inside) whose boundaries never close; parts run to the end",
            boundary_never_closed(&c),
        ),
        "bad_charset" => (
            "charsets that do not exist (x-nonsense) or are obscure (utf-7, broken), in parts and encoded words",
            bad_charset(&c),
        ),
        "bad_transfer_encoding" => (
            "Content-Transfer-Encoding: x-bogus, broken base64, broken quoted-printable (=ZZ, '=' at the end)",
            bad_transfer_encoding(&c),
        ),
        "nul_bytes" => (
            "NUL bytes in Subject, in a header name, in the From name and in the body",
            nul_bytes(&c),
        ),
        "line_5mb" => (
            "text/plain body of one 5 MiB line",
            c.mail().header("Subject", b"hostile: one long line").body(
                "text/plain; charset=utf-8",
                &[
                    &repeat_to(
                        b"All work and no play makes Jack a dull boy. ",
                        LONG_LINE_BYTES,
                    ),
                    b"\r\n".as_slice(),
                ]
                .concat(),
            ),
        ),
        "zip_bomb" => (
            "a gzip attachment (dynamic-Huffman DEFLATE written here) of 100 MiB of zeros, about 100 KiB",
            zip_bomb(&c),
        ),
        "recipients_10k" => (
            "10,000 recipients: 5,000 addresses in To: and 5,000 in Cc:, folded",
            recipients(&c),
        ),
        "from_1000" => (
            "a From: of 1,000 addresses (the sender's first)",
            from_1000(&c),
        ),
        "malformed_headers" => (
            "continuation lines before any header, lines without a colon, a 10 KiB header name, an empty name",
            malformed_headers(&c),
        ),
        "duplicated_headers" => (
            "500 Subject: and 500 From: headers, two different Message-ID: headers",
            duplicated_headers(&c),
        ),
        "empty" => ("zero bytes", Vec::new()),
        "headers_only" => (
            "headers and no body, not even the blank line",
            c.mail()
                .header("Subject", b"hostile: headers only")
                .header("Content-Type", b"text/plain; charset=utf-8")
                .0,
        ),
        "binary_garbage" => (
            "1 MiB of pseudo-random bytes, no message at all",
            Rng::new(seed, name).bytes(MIB),
        ),
        _ => unreachable!("{name} is in NAMES but builds nothing"),
    };
    Some(Case { name, what, raw })
}

/// A short body for cases whose hostility is elsewhere.
const TEXT: &[u8] = b"Hello,\r\n\r\n2026-11-25 1h filing\r\n\r\nAnna\r\n";

/// What every case shares.
struct Ctx<'a> {
    name: &'static str,
    from: &'a str,
    to: &'a str,
    seed: &'a str,
}

impl Ctx<'_> {
    fn message_id(&self) -> String {
        format!("<hostile-{}@{}.example>", self.name, self.seed)
    }

    /// From, To, Date, Message-ID, MIME-Version; the caller adds the Subject.
    fn mail(&self) -> Mail {
        self.mail_as(self.from.as_bytes(), self.to.as_bytes())
    }

    fn mail_as(&self, from: &[u8], to: &[u8]) -> Mail {
        Mail(Vec::new())
            .header("From", from)
            .header("To", to)
            .header("Date", DATE.as_bytes())
            .header("Message-ID", self.message_id().as_bytes())
            .header("MIME-Version", b"1.0")
    }

    /// A short text/plain mail with this (folded) subject.
    fn text_mail(&self, subject: &[u8]) -> Vec<u8> {
        self.mail()
            .header("Subject", subject)
            .body("text/plain; charset=utf-8", TEXT)
    }

    /// `PREFIX-N@SEED.example`: an address of the sender's making, unique in the case.
    fn address(&self, prefix: &str, n: usize) -> String {
        format!("{prefix}-{n}@{}.example", self.seed)
    }
}

/// A message being written, header by header.
struct Mail(Vec<u8>);

impl Mail {
    /// `Name: value`, folded (see `fold`).
    fn header(mut self, name: &str, value: &[u8]) -> Self {
        fold(&mut self.0, name, value);
        self
    }

    /// A line written as is, CRLF added.
    fn line(mut self, line: &[u8]) -> Self {
        self.0.extend_from_slice(line);
        self.0.extend_from_slice(b"\r\n");
        self
    }

    /// The Content-Type, the blank line and the body.
    fn body(self, content_type: &str, body: &[u8]) -> Vec<u8> {
        let mut raw = self.header("Content-Type", content_type.as_bytes()).0;
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(body);
        raw
    }
}

/// Writes `Name: value` CRLF, folded so no line passes `LINE_MAX`: before the last space that
/// fits (the space starts the continuation line, so unfolding restores the value), or, in a
/// value with no space to fold at, by inserting CRLF and a space (which unfolding cannot
/// remove: valid-ish, as a mailer would do it).
fn fold(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    let mut line_start = out.len() - name.len() - 2;
    let mut rest = value;
    loop {
        let room = LINE_MAX - (out.len() - line_start);
        if rest.len() <= room {
            out.extend_from_slice(rest);
            break;
        }
        let space = rest[..=room].iter().rposition(|&b| b == b' ');
        let cut = space.filter(|&i| i > 0).unwrap_or(room);
        out.extend_from_slice(&rest[..cut]);
        out.extend_from_slice(b"\r\n");
        line_start = out.len();
        rest = &rest[cut..];
        if rest[0] != b' ' {
            out.push(b' ');
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// `count` copies of `unit`, as many to a line as fit in `BODY_WIDTH`, each line ending CRLF.
fn repeated(unit: &[u8], count: usize) -> Vec<u8> {
    let per_line = (BODY_WIDTH / unit.len()).max(1);
    let mut out = Vec::with_capacity(count * unit.len() + count / per_line * 2 + 2);
    for i in 0..count {
        out.extend_from_slice(unit);
        if (i + 1) % per_line == 0 || i + 1 == count {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// `unit` repeated (and cut) to exactly `len` bytes.
fn repeat_to(unit: &[u8], len: usize) -> Vec<u8> {
    let mut out = unit.repeat(len / unit.len() + 1);
    out.truncate(len);
    out
}

/// `--boundary`, the part's headers, a blank line and its body (which should end in CRLF).
fn part(out: &mut Vec<u8>, boundary: &str, headers: &str, body: &[u8]) {
    out.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
    out.extend_from_slice(body);
}

fn close(out: &mut Vec<u8>, boundary: &str) {
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
}

/// Each `<br>` ends a line quoted `depth` times: a converter that writes the quote markers of
/// every line holds `depth` squared of them (16,000: 512 MB; 64,000: 8 GB).
fn deep_blockquote(c: &Ctx, depth: usize) -> Vec<u8> {
    let body = [
        b"<html><body>\r\n".as_slice(),
        &repeated(b"<blockquote>", depth),
        b"The deepest quote.\r\n",
        &repeated(b"<br>", depth),
        b"</body></html>\r\n",
    ]
    .concat();
    c.mail()
        .header("Subject", b"hostile: deep blockquote")
        .body("text/html; charset=utf-8", &body)
}

fn references(c: &Ctx) -> Vec<u8> {
    let ids: Vec<String> = (0..REFERENCES)
        .map(|i| format!("<{}>", c.address("ref", i)))
        .collect();
    let ids = ids.join(" ");
    c.mail()
        .header("Subject", b"Re: hostile: a long thread")
        .header("In-Reply-To", ids.as_bytes())
        .header("References", ids.as_bytes())
        .body("text/plain; charset=utf-8", TEXT)
}

/// A PDF-looking attachment, encoded: the header line, then one block of 64 pseudo-random
/// lines repeated up to `ATTACHMENT_BASE64_BYTES`, then the trailer. Each 57 bytes encode to one
/// 76-character line, so the lines encoded apart decode as one file. Cheap: one block is
/// encoded, the rest is copied.
fn attachment(c: &Ctx) -> Vec<u8> {
    const B: &str = "hostile-attachment";
    let mut pdf_head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 0 >>\nstream\n".to_vec();
    pdf_head.resize(57, b' ');
    let block = base64_lines(&Rng::new(c.seed, c.name).bytes(64 * 57));
    let trailer = base64_lines(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    let mut encoded = base64_lines(&pdf_head);
    while encoded.len() + trailer.len() < ATTACHMENT_BASE64_BYTES {
        encoded.extend_from_slice(&block);
    }
    encoded.extend_from_slice(&trailer);

    let mut body = Vec::with_capacity(encoded.len() + 1024);
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=utf-8",
        b"The signed agreement is attached.\r\n",
    );
    part(
        &mut body,
        B,
        "Content-Type: application/pdf; name=\"agreement.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"agreement.pdf\"\r\n\
         Content-Transfer-Encoding: base64",
        &encoded,
    );
    close(&mut body, B);
    c.mail()
        .header("Subject", b"hostile: the signed agreement")
        .body(&format!("multipart/mixed; boundary=\"{B}\""), &body)
}

fn nested_multipart(c: &Ctx) -> Vec<u8> {
    // Boundaries of one width, so none is the start of another ("nest-1" of "nest-10").
    let boundary = |level: usize| format!("nest-{level:04}");
    let mut body = Vec::new();
    for level in 0..NESTED_MULTIPARTS {
        let bottom = level + 1 == NESTED_MULTIPARTS;
        let (headers, content): (String, &[u8]) = if bottom {
            (
                "Content-Type: text/plain; charset=utf-8".into(),
                b"The bottom, 1,000 levels down.\r\n",
            )
        } else {
            let inner = boundary(level + 1);
            (
                format!("Content-Type: multipart/mixed; boundary=\"{inner}\""),
                b"",
            )
        };
        part(&mut body, &boundary(level), &headers, content);
    }
    for level in (0..NESTED_MULTIPARTS).rev() {
        close(&mut body, &boundary(level));
    }
    c.mail()
        .header("Subject", b"hostile: nested multipart")
        .body(
            &format!("multipart/mixed; boundary=\"{}\"", boundary(0)),
            &body,
        )
}

fn boundary_never_closed(c: &Ctx) -> Vec<u8> {
    let mut body = b"This is a multi-part message in MIME format.\r\n".to_vec();
    part(
        &mut body,
        "open",
        "Content-Type: text/plain; charset=utf-8",
        b"The first part, ended by the next delimiter.\r\n",
    );
    part(
        &mut body,
        "open",
        "Content-Type: multipart/alternative; boundary=\"inner\"",
        b"",
    );
    part(
        &mut body,
        "inner",
        "Content-Type: text/plain; charset=utf-8",
        b"Text inside a part that is never closed.\r\n",
    );
    let mut tail = Vec::new();
    for i in 0..2_000 {
        tail.extend_from_slice(
            format!("<p>Line {i}: this part runs to the end; no boundary closes it.</p>\r\n")
                .as_bytes(),
        );
    }
    part(
        &mut body,
        "inner",
        "Content-Type: text/html; charset=utf-8",
        &tail,
    );
    c.mail()
        .header("Subject", b"hostile: boundary never closed")
        .body("multipart/mixed; boundary=\"open\"", &body)
}

fn bad_charset(c: &Ctx) -> Vec<u8> {
    const B: &str = "charsets";
    let mut body = Vec::new();
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=x-nonsense\r\nContent-Transfer-Encoding: 8bit",
        b"Gr\xfc\xdfe aus \xff\xfe\x80\x81 nowhere.\r\n2026-11-25 1h filing\r\n",
    );
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=utf-7",
        b"Hi Mom -+Jjo--! +AGEAYgBj-\r\nBroken: +ZZZ +\xff- +- +AGE\r\n",
    );
    part(
        &mut body,
        B,
        "Content-Type: text/html; charset=\"\"",
        b"<p>An empty charset and bad UTF-8: \xc3\x28 \xa0\xa1 \xed\xa0\x80</p>\r\n",
    );
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=utf-8; charset=x-second-one",
        b"Two charsets declared.\r\n",
    );
    close(&mut body, B);
    c.mail()
        .header(
            "Subject",
            b"=?x-nonsense?B?SGVsbG8=?= =?utf-7?Q?+AGEAYgBj-?= =?utf-8?B?broken base64?=",
        )
        .body(&format!("multipart/mixed; boundary=\"{B}\""), &body)
}

fn bad_transfer_encoding(c: &Ctx) -> Vec<u8> {
    const B: &str = "encodings";
    let mut body = Vec::new();
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: x-bogus",
        b"Encoded in a way nobody knows.\r\n",
    );
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
        b"SGVsbG8gd29ybGQ\r\n!!!! not base64 at all ****\r\nSGVsbG8=extra=\r\n====\r\nQQ\r\n",
    );
    part(
        &mut body,
        B,
        "Content-Type: application/pdf; name=\"broken.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"broken.pdf\"\r\n\
         Content-Transfer-Encoding: base64",
        b"JVBERi0xLjQK%%%%====AAAA=B\r\n\xff\xfe\r\n",
    );
    // The last part's body ends in '=' right before the closing delimiter.
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
        b"Soft=\r\nbreak, bad escapes: =ZZ =G1 =\xff =4, a lone = sign\r\n=\r\nand it ends with =",
    );
    body.extend_from_slice(b"\r\n");
    close(&mut body, B);
    c.mail()
        .header("Subject", b"hostile: bad transfer encodings")
        .body(&format!("multipart/mixed; boundary=\"{B}\""), &body)
}

fn nul_bytes(c: &Ctx) -> Vec<u8> {
    let from = format!("\"Anna\0Nul\" <{}>", c.from);
    let mut body = b"Hello\0world\r\n2026-11-25 1h\0 filing\r\n".to_vec();
    body.resize(body.len() + 1_000, 0);
    body.extend_from_slice(b"\r\nAnna\r\n");
    c.mail_as(from.as_bytes(), c.to.as_bytes())
        .line(b"Subject: nul\0in the\0subject")
        .line(b"X-Nul\0Name: \0\0\0")
        .body("text/plain; charset=utf-8", &body)
}

/// A gzip of `BOMB_BYTES` zeros in one dynamic-Huffman DEFLATE block (RFC 1951 3.2.7): the
/// literal/length code has three symbols (a zero byte, end of block, length 258) and the
/// distance code one (distance 1), so each further 258 zeros cost two bits.
fn gzip_of_zeros() -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(1, 1); // BFINAL
    bits.put(2, 2); // BTYPE: dynamic Huffman
    bits.put(286 - 257, 5); // HLIT: literal/length codes up to 285
    bits.put(0, 5); // HDIST: one distance code (the count less one)
    bits.put(18 - 4, 4); // HCLEN: code length codes sent, in the order below
    // The code length code, in RFC order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1:
    // 18 (a run of zeros) gets 1 bit, lengths 1 and 2 get 2 bits each.
    for len in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        bits.put(len, 3);
    }
    // Canonical codes: 18 = 0, 1 = 10, 2 = 11.
    let length_one = |b: &mut Bits| b.code(0b10, 2);
    let length_two = |b: &mut Bits| b.code(0b11, 2);
    let zeros = |b: &mut Bits, n: u32| {
        b.code(0, 1);
        b.put(n - 11, 7);
    };
    length_two(&mut bits); // symbol 0, the zero byte
    zeros(&mut bits, 138); // 1..=138
    zeros(&mut bits, 117); // 139..=255
    length_two(&mut bits); // 256, end of block
    zeros(&mut bits, 28); // 257..=284
    length_one(&mut bits); // 285, length 258
    length_one(&mut bits); // distance code 0, distance 1
    // Canonical literal/length codes: 285 = 0, zero byte = 10, end of block = 11.
    bits.code(0b10, 2);
    let mut left = BOMB_BYTES - 1;
    while left >= 258 {
        bits.put(0, 2); // length 258, distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0b10, 2);
    }
    bits.code(0b11, 2);

    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    gz.extend_from_slice(&bits.finish());
    gz.extend_from_slice(&BOMB_CRC32.to_le_bytes());
    gz.extend_from_slice(&(BOMB_BYTES as u32).to_le_bytes());
    gz
}

/// A bit stream as DEFLATE packs it: from the least significant bit of each byte.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    len: u32,
}

impl Bits {
    /// `n` bits of `value`, least significant first (header fields and extra bits).
    fn put(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.len;
        self.len += n;
        while self.len >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.len -= 8;
        }
    }

    /// A Huffman code of `n` bits, most significant first (RFC 1951 3.1.1).
    fn code(&mut self, code: u32, n: u32) {
        for i in (0..n).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

fn zip_bomb(c: &Ctx) -> Vec<u8> {
    const B: &str = "bomb";
    let mut body = Vec::new();
    part(
        &mut body,
        B,
        "Content-Type: text/plain; charset=utf-8",
        b"The logs you asked for.\r\n",
    );
    part(
        &mut body,
        B,
        "Content-Type: application/gzip; name=\"logs.gz\"\r\n\
         Content-Disposition: attachment; filename=\"logs.gz\"\r\n\
         Content-Transfer-Encoding: base64",
        &base64_lines(&gzip_of_zeros()),
    );
    close(&mut body, B);
    c.mail()
        .header("Subject", b"hostile: logs")
        .body(&format!("multipart/mixed; boundary=\"{B}\""), &body)
}

fn recipients(c: &Ctx) -> Vec<u8> {
    let list = |first: &str, prefix: &str| {
        let mut all = vec![first.to_string()];
        all.extend((1..RECIPIENTS_EACH).map(|i| c.address(prefix, i)));
        all.join(", ")
    };
    let to = list(c.to, "to");
    let cc = list(&c.address("cc", 0), "cc");
    c.mail_as(c.from.as_bytes(), to.as_bytes())
        .header("Cc", cc.as_bytes())
        .header("Subject", b"hostile: everyone")
        .body("text/plain; charset=utf-8", TEXT)
}

fn from_1000(c: &Ctx) -> Vec<u8> {
    let mut all = vec![c.from.to_string()];
    all.extend((1..FROM_ADDRESSES).map(|i| format!("\"Sender {i}\" <{}>", c.address("sender", i))));
    c.mail_as(all.join(", ").as_bytes(), c.to.as_bytes())
        .header("Subject", b"hostile: a thousand senders")
        .body("text/plain; charset=utf-8", TEXT)
}

fn malformed_headers(c: &Ctx) -> Vec<u8> {
    let mut long_name = b"X-".to_vec();
    long_name.resize(10 * KIB, b'A');
    long_name.extend_from_slice(b": a header name of 10 KiB");
    let mut mail = Mail(Vec::new())
        .line(b" a continuation line before any header")
        .line(b"\tand another, with a tab");
    mail.0
        .extend(c.mail().header("Subject", b"hostile: malformed headers").0);
    mail.line(b"This line has no colon")
        .line(&long_name)
        .line(b": a value with no name")
        .line(b"X-Space Before Colon : value")
        .line(b"Subject")
        .body("text/plain; charset=utf-8", TEXT)
}

fn duplicated_headers(c: &Ctx) -> Vec<u8> {
    let mut mail = Mail(Vec::new());
    for i in 0..DUPLICATES {
        let from = if i == 0 {
            c.from.to_string()
        } else {
            c.address("from", i)
        };
        mail = mail
            .header("Subject", format!("hostile: subject {i}").as_bytes())
            .header("From", from.as_bytes());
    }
    let second_id = format!("<hostile-{}-2@{}.example>", c.name, c.seed);
    mail.header("To", c.to.as_bytes())
        .header("Date", DATE.as_bytes())
        .header("Message-ID", c.message_id().as_bytes())
        .header("Message-ID", second_id.as_bytes())
        .header("MIME-Version", b"1.0")
        .body("text/plain; charset=utf-8", TEXT)
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 (RFC 2045 6.8) in lines of 76 characters (57 bytes), each ending CRLF.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(57) * 78);
    for line in data.chunks(57) {
        for group in line.chunks(3) {
            let byte = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
            let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
            let chars = [18, 12, 6, 0].map(|shift| BASE64[((n >> shift) & 63) as usize]);
            out.extend_from_slice(&chars[..group.len() + 1]);
            out.extend_from_slice(&b"=="[..3 - group.len()]);
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// xorshift64*, seeded from the seed and the case: the same bytes for the same arguments, and
/// different bytes (so a different SHA-256 dedupe key) for another seed.
struct Rng(u64);

impl Rng {
    fn new(seed: &str, name: &str) -> Self {
        // FNV-1a over "SEED/NAME".
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in seed.as_bytes().iter().chain(b"/").chain(name.as_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Rng(h | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(name: &str) -> Case {
        case(name, "anna@acme.example", "team@agency.example", "s1").unwrap()
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| w == &needle)
            .count()
    }

    /// The header section: everything before the first blank line.
    fn head(raw: &[u8]) -> &[u8] {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n");
        &raw[..end.map_or(raw.len(), |e| e + 2)]
    }

    #[test]
    fn every_case_is_built_named_and_sized() {
        let all = cases("anna@acme.example", "team@agency.example", "s1");
        assert_eq!(all.len(), NAMES.len());
        let mut names: Vec<_> = all.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "names are unique");
        for c in &all {
            assert_eq!(c.raw.is_empty(), c.name == "empty", "{}", c.name);
            assert!(!c.what.is_empty());
        }
        let total = total_bytes(&all);
        assert!((40 * MIB..46 * MIB).contains(&total), "total {total}");
        assert!(case("no_such_case", "a@b.example", "c@d.example", "s").is_none());
    }

    #[test]
    fn messages_carry_their_own_message_id_and_crlf() {
        for &name in NAMES {
            if ["empty", "binary_garbage"].contains(&name) {
                continue;
            }
            let c = get(name);
            let id = format!("Message-ID: <hostile-{name}@s1.example>\r\n");
            assert_eq!(count(head(&c.raw), id.as_bytes()), 1, "{name}");
            let bare_lf = c
                .raw
                .iter()
                .enumerate()
                .any(|(i, &b)| b == b'\n' && (i == 0 || c.raw[i - 1] != b'\r'));
            assert!(!bare_lf, "{name} has a bare LF");
        }
        assert_eq!(count(&get("duplicated_headers").raw, b"Message-ID:"), 2);
    }

    #[test]
    fn folded_headers_keep_lines_short() {
        for name in [
            "subject_plus_1mb",
            "subject_bracket_1mb",
            "subject_re_prefixes",
        ] {
            let c = get(name);
            let longest = head(&c.raw).split(|&b| b == b'\n').map(<[u8]>::len).max();
            assert!(longest.unwrap() <= LINE_MAX + 1, "{name}");
            assert!(c.raw.len() > 400 * KIB, "{name}");
        }
        let refs = get("references_50k");
        assert!(
            head(&refs.raw)
                .split(|&b| b == b'\n')
                .all(|l| l.len() <= LINE_MAX + 1)
        );
        assert_eq!(count(&refs.raw, b"<ref-"), 2 * REFERENCES);
        let unfolded = get("subject_unfolded_1mb");
        assert!(unfolded.raw.split(|&b| b == b'\n').any(|l| l.len() > MIB));
    }

    #[test]
    fn sizes_are_as_stated() {
        let deep = get("deep_blockquote");
        assert_eq!(count(&deep.raw, b"<blockquote>"), DEEP_BLOCKQUOTES);
        assert_eq!(count(&deep.raw, b"<br>"), DEEP_BLOCKQUOTES);
        let deep_1mb = get("deep_blockquote_1mb").raw.len();
        assert!(
            (MIB * 9 / 10..MIB * 11 / 10).contains(&deep_1mb),
            "{deep_1mb}"
        );
        let attachment = get("attachment_30mb").raw.len();
        assert!(
            (30 * MIB..30 * MIB + 8 * KIB).contains(&attachment),
            "{attachment}"
        );
        let line = get("line_5mb");
        assert!(
            line.raw
                .split(|&b| b == b'\n')
                .any(|l| l.len() > LONG_LINE_BYTES)
        );
        let nested = get("nested_multipart_1000").raw;
        assert_eq!(count(&nested, b"multipart/mixed"), NESTED_MULTIPARTS);
        let everyone = get("recipients_10k").raw;
        // The first To is `to`, the rest are `to-N@SEED`; every Cc is `cc-N@SEED`.
        assert_eq!(count(&everyone, b" to-"), RECIPIENTS_EACH - 1);
        assert_eq!(count(&everyone, b" cc-"), RECIPIENTS_EACH);
        assert_eq!(count(&get("from_1000").raw, b"@"), FROM_ADDRESSES + 2);
        let dup = get("duplicated_headers").raw;
        assert_eq!(count(&dup, b"\r\nSubject: "), DUPLICATES - 1);
        assert_eq!(get("binary_garbage").raw.len(), MIB);
        assert_ne!(
            get("binary_garbage").raw,
            case("binary_garbage", "a@b.example", "c@d.example", "s2")
                .unwrap()
                .raw
        );
    }

    #[test]
    fn the_bomb_is_a_small_gzip_of_a_large_file() {
        let gz = gzip_of_zeros();
        assert_eq!(gz[..3], [0x1f, 0x8b, 8]);
        assert!((90 * KIB..120 * KIB).contains(&gz.len()), "{}", gz.len());
        assert_eq!(gz[gz.len() - 4..], (BOMB_BYTES as u32).to_le_bytes());
    }

    #[test]
    fn base64_is_rfc_2045() {
        assert_eq!(base64_lines(b"Man"), b"TWFu\r\n");
        assert_eq!(base64_lines(b"Ma"), b"TWE=\r\n");
        assert_eq!(base64_lines(b"M"), b"TQ==\r\n");
        let long = base64_lines(&[0xff; 58]);
        assert_eq!(long.len(), 78 + 6);
        assert!(long.starts_with(&[b'/'; 76]));
    }

    #[test]
    fn folding_prefers_spaces_and_unfolds_back() {
        let value = "word ".repeat(500);
        let mut out = Vec::new();
        fold(&mut out, "Subject", value.trim_end().as_bytes());
        let unfolded = String::from_utf8(out).unwrap().replace("\r\n ", " ");
        assert_eq!(unfolded, format!("Subject: {}\r\n", value.trim_end()));
    }
}
