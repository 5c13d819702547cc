//! The golden corpus of `Authentication-Results` headers under `tests/fixtures/auth`: what real
//! receivers write (Gmail, Microsoft 365, GMX, WEB.DE, mailbox.org, Fastmail, Postfix with
//! OpenDKIM and OpenDMARC, rspamd), forged headers above and below the trusted one, several
//! `From:`, none at all, an unaligned DKIM pass. Each `NAME.eml` is read as the reader reads it
//! and judged against the `trust` of its `NAME.json`; the verdict must equal the file's
//! `authentication`. A mismatch writes `NAME.json.actual`; `TANDEM_BLESS=1` rewrites the files.

use std::path::Path;

use tandem::inbound::auth;
use tandem::inbound::message::Incoming;

#[test]
fn every_fixture_gets_its_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "eml").then_some(path)
        })
        .collect();
    names.sort();
    let bless = std::env::var_os("TANDEM_BLESS").is_some();
    let mut failed = Vec::new();
    for eml in &names {
        let json_path = eml.with_extension("json");
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        let trust: Vec<String> = serde_json::from_value(expected["trust"].clone()).unwrap();
        let incoming = Incoming::parse(&std::fs::read(eml).unwrap());
        let verdict = auth::verdict(
            &incoming.authentication_results,
            incoming.from_count,
            incoming.from.as_ref().map(|f| f.as_str()),
            &trust,
        );
        let actual = serde_json::json!({ "trust": trust, "authentication": verdict });
        if bless {
            std::fs::write(
                &json_path,
                serde_json::to_string_pretty(&actual).unwrap() + "\n",
            )
            .unwrap();
        } else if actual != expected {
            let out = json_path.with_extension("json.actual");
            std::fs::write(&out, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
            failed.push(format!("{} (actual in {})", eml.display(), out.display()));
        }
    }
    assert!(
        names.len() >= 19,
        "the corpus was read: {} files",
        names.len()
    );
    assert!(failed.is_empty(), "verdicts differ:\n{}", failed.join("\n"));
}
