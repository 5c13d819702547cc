//! Sender authentication (PRODUCT.md, "Sender authentication"): reading the
//! `Authentication-Results` headers (RFC 8601) that the agency's own receiving server added, and
//! deciding whether the `From:` sender is authenticated. Pure: header values in, a verdict out.
//!
//! Hand-written rather than Stalwart's `mail-auth`: tandem needs only the header, and the crate
//! brings its own DNS resolver and crypto stack; DKIM is not verified in-process.
//!
//! Which headers count: the topmost header whose authserv-id is trusted, and the trusted ones
//! directly below it (no other header between: a server's filters add theirs together, as
//! OpenDKIM and OpenDMARC do). A method is read from the first of those headers that reports
//! it, so a header a sender wrote further down can add nothing the server reported, and one
//! lower in the message, under the server's `Received:`, is never read (RFC 8601 section 5).
//!
//! The sender is authenticated when DMARC passes for the `From:` domain, or DKIM passes for a
//! signing domain aligned with it, or SPF passes for an aligned `smtp.mailfrom`. Alignment is
//! relaxed without a public suffix list: the domains are equal or one is a subdomain of the
//! other (the organisation signing for its subdomain, or the reverse); two sibling subdomains
//! count as unaligned, which errs on the side of attention. A message with several `From:`
//! addresses is never authenticated.
//!
//! Bounds: every header is read in one pass over at most [`MAX_HEADER_BYTES`], at most
//! [`MAX_RESULTS`] results per header and [`MAX_HEADERS`] headers; comments nest to any depth
//! with a counter, never recursion.

use serde::Serialize;

/// The most `Authentication-Results` headers kept of a message, from the top (the trusted ones
/// are at the top).
pub const MAX_HEADERS: usize = 32;
/// The most bytes of one header read; the rest is ignored.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most method results read of one header.
pub const MAX_RESULTS: usize = 64;
/// The most properties kept of one result.
pub const MAX_PROPERTIES: usize = 16;

/// One `Authentication-Results` header of a message, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawHeader {
    /// Its place among all the message's header fields (0 is the topmost): trusted headers
    /// count only when adjacent.
    pub position: usize,
    /// The value after the colon, unfolded lines kept as written.
    pub value: String,
}

/// One method's result in a header: `dkim=pass header.d=example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodResult {
    /// `dkim`, `spf`, `dmarc`, ... lower-case, without a version.
    pub method: String,
    /// `pass`, `fail`, `softfail`, `none`, ... lower-case.
    pub result: String,
    /// `reason=`, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `header.d`, `smtp.mailfrom`, ... (the name lower-case) with their values.
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One header, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// The authserv-id, lower-case; empty when the header has none (Microsoft 365 writes its
    /// results that way).
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// Whether the sender is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// The verdict on a message's sender and what it rests on: stored with the inbound row and
/// shown by `tandem parse --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authentication {
    pub verdict: Verdict,
    /// The method that decided (`dmarc`, `dkim`, `spf`), when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The domain it passed for, or the `From:` domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// In words: `dmarc=pass header.from=example.com`, or what failed
    /// (`dkim=fail spf=softfail dmarc=none`, `several From: addresses`).
    pub reason: String,
    /// The trusted headers it read, as written.
    pub results: Vec<String>,
}

impl Authentication {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

/// Decides whether the sender of a message is authenticated, from its `From:` addresses (how
/// many there were, and the first one) and its `Authentication-Results` headers in order,
/// trusting only those whose authserv-id is in `trusted` (lower-case compared).
pub fn verdict(
    headers: &[RawHeader],
    from_count: usize,
    from: Option<&str>,
    trusted: &[String],
) -> Authentication {
    let fail = |reason: String, domain: Option<String>, results: Vec<String>| Authentication {
        verdict: Verdict::Fail,
        method: None,
        domain,
        reason,
        results,
    };
    let block = trusted_block(headers, trusted);
    let results: Vec<String> = block
        .iter()
        .map(|(raw, _)| raw.value.trim().to_string())
        .collect();
    let domain = from
        .and_then(|f| f.rsplit_once('@'))
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty());
    if from_count > 1 {
        return fail("several From: addresses".into(), domain, results);
    }
    let Some(domain) = domain else {
        return fail("no From: address".into(), None, results);
    };
    if block.is_empty() {
        return fail(
            "no Authentication-Results from a trusted server".into(),
            Some(domain),
            results,
        );
    }
    // Each method from the first header that reports it.
    let mut seen: Vec<&str> = Vec::new();
    let mut taken: Vec<&MethodResult> = Vec::new();
    for (_, parsed) in &block {
        let fresh: Vec<&MethodResult> = parsed
            .results
            .iter()
            .filter(|r| !seen.contains(&r.method.as_str()))
            .collect();
        for r in &fresh {
            if !seen.contains(&r.method.as_str()) {
                seen.push(r.method.as_str());
            }
        }
        taken.extend(fresh);
    }
    let pass = |method: &str, d: &str, detail: String| Authentication {
        verdict: Verdict::Pass,
        method: Some(method.into()),
        domain: Some(d.to_string()),
        reason: format!("{method}=pass {detail}"),
        results: results.clone(),
    };
    for r in taken
        .iter()
        .filter(|r| r.method == "dmarc" && r.result == "pass")
    {
        match r.property("header.from").map(bare_domain) {
            Some(d) if d == domain => return pass("dmarc", &domain, format!("header.from={d}")),
            Some(_) => {}
            None => return pass("dmarc", &domain, format!("for {domain}")),
        }
    }
    for r in taken
        .iter()
        .filter(|r| r.method == "dkim" && r.result == "pass")
    {
        let signer = r
            .property("header.d")
            .or_else(|| r.property("header.i"))
            .map(bare_domain);
        if let Some(d) = signer.filter(|d| aligned(d, &domain)) {
            return pass("dkim", &d, format!("header.d={d}"));
        }
    }
    for r in taken
        .iter()
        .filter(|r| r.method == "spf" && r.result == "pass")
    {
        let envelope = r.property("smtp.mailfrom").map(bare_domain);
        if let Some(d) = envelope.filter(|d| aligned(d, &domain)) {
            return pass("spf", &d, format!("smtp.mailfrom={d}"));
        }
    }
    let summary = |method: &str| {
        let found: Vec<&MethodResult> = taken
            .iter()
            .copied()
            .filter(|r| r.method == method)
            .collect();
        let result = match found.iter().find(|r| r.result == "pass") {
            // A pass that did not count: for another domain.
            Some(r) => format!(
                "pass ({})",
                r.property("header.d")
                    .or_else(|| r.property("header.i"))
                    .or_else(|| r.property("smtp.mailfrom"))
                    .or_else(|| r.property("header.from"))
                    .map(bare_domain)
                    .map(|d| format!("{d}, not aligned with {domain}"))
                    .unwrap_or_else(|| "no domain".into())
            ),
            None => found
                .first()
                .map(|r| r.result.clone())
                .unwrap_or_else(|| "none".into()),
        };
        format!("{method}={result}")
    };
    fail(
        format!(
            "{} {} {}",
            summary("dkim"),
            summary("spf"),
            summary("dmarc")
        ),
        Some(domain),
        results,
    )
}

/// The trusted headers that count: the topmost with a trusted authserv-id and those directly
/// below it with one. Headers that cannot be read are skipped (and break the block).
fn trusted_block<'h>(headers: &'h [RawHeader], trusted: &[String]) -> Vec<(&'h RawHeader, Parsed)> {
    let is_trusted = |id: &str| trusted.iter().any(|t| t.eq_ignore_ascii_case(id));
    let mut block: Vec<(&RawHeader, Parsed)> = Vec::new();
    for raw in headers.iter().take(MAX_HEADERS) {
        let parsed = parse(&raw.value)
            .ok()
            .filter(|p| is_trusted(&p.authserv_id));
        match (parsed, block.last()) {
            (Some(p), None) => block.push((raw, p)),
            (Some(p), Some((last, _))) if raw.position == last.position + 1 => block.push((raw, p)),
            (_, Some(_)) => break,
            (None, None) => {}
        }
    }
    block
}

/// `user@example.com`, `@example.com` or `example.com` -> `example.com`, lower-case.
fn bare_domain(value: &str) -> String {
    let value = value.trim().trim_matches(['<', '>']);
    let domain = value.rsplit_once('@').map_or(value, |(_, d)| d);
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// Relaxed alignment without a public suffix list: equal, or one a subdomain of the other, and
/// the shorter one more than a top-level domain.
fn aligned(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() || !short.contains('.') {
        return false;
    }
    long == short
        || (long.len() > short.len()
            && long.ends_with(short)
            && long.as_bytes()[long.len() - short.len() - 1] == b'.')
}

/// A lexical unit of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom: anything but white space, comments, quotes, `;` and `=`. Dots, slashes and `@`
    /// stay inside (`header.d`, `dkim/1`, `user@example.com`).
    Word(String),
    Quoted(String),
    Semi,
    Equals,
}

/// Splits a header value into tokens in one pass, dropping comments (nested to any depth) and
/// white space. An unterminated comment or quoted string ends the input.
fn tokens(value: &str) -> Vec<Token> {
    let mut value = value;
    if value.len() > MAX_HEADER_BYTES {
        let mut end = MAX_HEADER_BYTES;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value = &value[..end];
    }
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                let mut depth = 1usize;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '"' => {
                flush(&mut word, &mut out);
                let mut quoted = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(c) = chars.next() {
                                quoted.push(c);
                            }
                        }
                        '"' => break,
                        '\r' | '\n' => {}
                        c => quoted.push(c),
                    }
                }
                out.push(Token::Quoted(quoted));
            }
            ';' => {
                flush(&mut word, &mut out);
                out.push(Token::Semi);
            }
            '=' => {
                flush(&mut word, &mut out);
                out.push(Token::Equals);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parses one `Authentication-Results` value (RFC 8601 section 2.2): the authserv-id, an
/// optional version, then `; method=result [reason=...] [ptype.property=value ...]` each, or
/// `; none`. Methods may carry a version (`dkim/1`); unknown properties are kept.
pub fn parse(value: &str) -> Result<Parsed, Malformed> {
    let tokens = tokens(value);
    let mut i = 0;
    let text = |t: &Token| match t {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        _ => None,
    };
    // The authserv-id, unless the header begins with a result (Microsoft 365).
    let authserv_id = match (tokens.first(), tokens.get(1)) {
        (Some(Token::Word(_)), Some(Token::Equals)) => String::new(),
        (Some(t @ (Token::Word(_) | Token::Quoted(_))), _) => {
            i = 1;
            // An optional version: digits.
            if let Some(Token::Word(v)) = tokens.get(1)
                && v.bytes().all(|b| b.is_ascii_digit())
            {
                i = 2;
            }
            text(t).unwrap_or_default().to_ascii_lowercase()
        }
        _ => return Err(Malformed("no authserv-id")),
    };
    let mut results: Vec<MethodResult> = Vec::new();
    // Without an authserv-id the first result has no `;` before it.
    let mut expect_method = authserv_id.is_empty();
    while i < tokens.len() && results.len() < MAX_RESULTS {
        match &tokens[i] {
            Token::Semi => {
                expect_method = true;
                i += 1;
            }
            Token::Word(name) if expect_method => {
                let name = name.to_ascii_lowercase();
                if name == "none" && tokens.get(i + 1) != Some(&Token::Equals) {
                    i += 1;
                    expect_method = false;
                    continue;
                }
                if tokens.get(i + 1) != Some(&Token::Equals) {
                    return Err(Malformed("a method without a result"));
                }
                let Some(result) = tokens.get(i + 2).and_then(text) else {
                    return Err(Malformed("a method without a result"));
                };
                let method = name.split('/').next().unwrap_or_default().to_string();
                results.push(MethodResult {
                    method,
                    result: result.to_ascii_lowercase(),
                    reason: None,
                    properties: Vec::new(),
                });
                expect_method = false;
                i += 3;
            }
            Token::Word(name) => {
                // `reason=value` or `ptype.property=value` of the last result; anything
                // else (a stray word) is skipped.
                let value = match tokens.get(i + 1) {
                    Some(Token::Equals) => tokens.get(i + 2).and_then(text),
                    _ => None,
                };
                let Some(value) = value else {
                    i += 1;
                    continue;
                };
                if let Some(last) = results.last_mut() {
                    let name = name.to_ascii_lowercase();
                    if name == "reason" {
                        last.reason = Some(value);
                    } else if last.properties.len() < MAX_PROPERTIES {
                        last.properties.push((name, value));
                    }
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    Ok(Parsed {
        authserv_id,
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> Vec<RawHeader> {
        values
            .iter()
            .enumerate()
            .map(|(position, v)| RawHeader {
                position,
                value: v.to_string(),
            })
            .collect()
    }

    fn trust(id: &str) -> Vec<String> {
        vec![id.to_string()]
    }

    #[test]
    fn parses_comments_quotes_versions_and_reasons() {
        let p = parse(
            " mx.example.org 1; dkim/1=pass (good (nested) sig) header.d=\"ex\\\"ample.com\" \
             header.s=sel; spf=softfail reason=\"not permitted\" smtp.mailfrom=a@b.example; \
             dmarc=none",
        )
        .unwrap();
        assert_eq!(p.authserv_id, "mx.example.org");
        assert_eq!(p.results.len(), 3);
        assert_eq!(p.results[0].method, "dkim");
        assert_eq!(p.results[0].property("header.d"), Some("ex\"ample.com"));
        assert_eq!(p.results[1].reason.as_deref(), Some("not permitted"));
        assert_eq!(p.results[1].property("smtp.mailfrom"), Some("a@b.example"));
        assert_eq!(p.results[2].result, "none");
        assert_eq!(parse("mx.example.org; none").unwrap().results, vec![]);
        assert!(parse("").is_err());
        assert!(parse("mx; dkim").is_err());
    }

    #[test]
    fn a_header_without_authserv_id() {
        let p =
            parse("spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=a.example; dkim=none").unwrap();
        assert_eq!(p.authserv_id, "");
        assert_eq!(p.results.len(), 2);
    }

    #[test]
    fn alignment_is_relaxed_but_never_a_top_level_domain() {
        assert!(aligned("example.com", "example.com"));
        assert!(aligned("mail.example.com", "example.com"));
        assert!(aligned("example.com", "news.example.com"));
        assert!(!aligned("com", "example.com"));
        assert!(!aligned("badexample.com", "example.com"));
        assert!(!aligned("a.example.com", "b.example.com"));
    }

    #[test]
    fn several_from_addresses_never_pass() {
        let h = headers(&["mx.a; dmarc=pass header.from=a.example"]);
        let v = verdict(&h, 2, Some("x@a.example"), &trust("mx.a"));
        assert_eq!(v.verdict, Verdict::Fail);
        assert_eq!(v.reason, "several From: addresses");
    }

    #[test]
    fn a_forged_header_below_the_trusted_one_adds_nothing() {
        // The server's header, its Received:, then the sender's forgery.
        let h = vec![
            RawHeader {
                position: 0,
                value: "mx.a; dkim=fail header.d=a.example; spf=softfail smtp.mailfrom=a.example; dmarc=fail header.from=a.example".into(),
            },
            RawHeader {
                position: 3,
                value: "mx.a; dmarc=pass header.from=a.example".into(),
            },
        ];
        let v = verdict(&h, 1, Some("x@a.example"), &trust("mx.a"));
        assert_eq!(v.reason, "dkim=fail spf=softfail dmarc=fail");
        assert_eq!(v.results.len(), 1);
        // Adjacent, it still cannot override a method the server reported.
        let h = headers(&[
            "mx.a; dmarc=fail header.from=a.example",
            "mx.a; dmarc=pass header.from=a.example",
        ]);
        assert_eq!(
            verdict(&h, 1, Some("x@a.example"), &trust("mx.a")).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn linear_and_bounded_on_hostile_input() {
        let deep = format!("mx.a; dkim=pass {}", "(".repeat(1_000_000));
        assert!(parse(&deep).unwrap().results.len() == 1);
        let many = format!("mx.a{}", "; dkim=pass header.d=a.example".repeat(100_000));
        let p = parse(&many).unwrap();
        assert!(p.results.len() <= MAX_RESULTS);
        let quote = format!("mx.a; dkim=pass header.d=\"{}", "x".repeat(1_000_000));
        assert!(parse(&quote).is_ok());
        let props = format!("mx.a; dkim=pass{}", " header.d=a".repeat(10_000));
        assert_eq!(
            parse(&props).unwrap().results[0].properties.len(),
            MAX_PROPERTIES
        );
    }
}
