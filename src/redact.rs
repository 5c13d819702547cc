//! Addresses out of the log (`[log] redact_addresses = true`): each address in a log line is
//! written as a short stable hash, `[addr:1a2b3c4d]` (the first 8 hex digits of the SHA-256 of
//! the address in lower case), so the lines of one person still go together without naming
//! them. One pass over the line; anything with an `@` between a local part and a dotted domain
//! counts as an address (Message-IDs included: some mail programs put an address in them).

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// The stable short name of `address` in a redacted log.
pub fn hashed(address: &str) -> String {
    let digest = Sha256::digest(address.to_lowercase().as_bytes());
    format!(
        "[addr:{:02x}{:02x}{:02x}{:02x}]",
        digest[0], digest[1], digest[2], digest[3]
    )
}

fn local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b)
}

fn domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// `line` with every address replaced by [`hashed`]; borrowed when there is none.
pub fn redact(line: &str) -> Cow<'_, str> {
    let bytes = line.as_bytes();
    if !bytes.contains(&b'@') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    // Bytes before `done` are in `out` already.
    let mut done = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'@' {
            i += 1;
            continue;
        }
        let mut start = i;
        while start > done && local_char(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = i + 1;
        while end < bytes.len() && domain_char(bytes[end]) {
            end += 1;
        }
        // A domain does not end in a dot or a dash (the end of a sentence).
        while end > i + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let domain = &line[i + 1..end];
        if start < i && domain.contains('.') && !domain.starts_with('.') {
            out.push_str(&line[done..start]);
            out.push_str(&hashed(&line[start..end]));
            done = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&line[done..]);
    Cow::Owned(out)
}

/// A writer that redacts what passes through it, line by line (a line is written whole
/// by the log; a part line is kept until its end comes).
#[derive(Debug)]
pub struct Redacting<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: std::io::Write> Redacting<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(newline) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=newline).collect();
            let text = String::from_utf8_lossy(&line);
            self.inner.write_all(redact(&text).as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            let text = String::from_utf8_lossy(&rest);
            self.inner.write_all(redact(&text).as_bytes())?;
        }
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_stable_hashes() {
        let line = "recorded from=\"Anna Berg <Anna@Acme.example>\" to anna@acme.example.";
        let out = redact(line);
        let h = hashed("anna@acme.example");
        assert_eq!(out, format!("recorded from=\"Anna Berg <{h}>\" to {h}."));
        assert_eq!(h.len(), "[addr:12345678]".len());
        assert_eq!(
            redact("no address @ all, a@b, @x.y"),
            "no address @ all, a@b, @x.y"
        );
        assert!(matches!(redact("nothing"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_long_line_of_at_signs_is_read_once() {
        let line = "a@".repeat(100_000);
        assert_eq!(redact(&line).len(), line.len());
        let line = format!("{}x.y", "a".repeat(100_000) + "@");
        assert_eq!(redact(&line), hashed(&line));
    }

    #[test]
    fn the_writer_redacts_whole_lines() {
        use std::io::Write as _;
        let mut out = Vec::new();
        {
            let mut w = Redacting::new(&mut out);
            w.write_all(b"to sam@va.").unwrap();
            w.write_all(b"example done\nnext\n").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("to {} done\nnext\n", hashed("sam@va.example"))
        );
    }
}
