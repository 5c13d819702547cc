//! Benchmark: how fast tandem reads time logs, on the golden corpus (`tests/fixtures/hours`).
//! Reports lines per second through the time-log grammar, and messages per second through the
//! whole pure path (MIME parsing, reply extraction, grammar). Run: `cargo bench --bench timelog`.
//! It prints figures; it asserts nothing.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tandem::domain::Locale;
use tandem::inbound::message::Incoming;
use tandem::timelog::grammar::{self, Context};

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hours");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Runs `work` repeatedly for at least `budget`; returns runs and the time taken.
fn measure(budget: Duration, mut work: impl FnMut()) -> (u64, Duration) {
    let start = Instant::now();
    let mut runs = 0;
    while start.elapsed() < budget {
        work();
        runs += 1;
    }
    (runs, start.elapsed())
}

fn main() {
    let messages = corpus();
    assert!(!messages.is_empty(), "the corpus is empty");
    let ctx = Context {
        today: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        locale: Locale::De,
        day_first: true,
    };
    let texts: Vec<String> = messages
        .iter()
        .map(|raw| Incoming::parse(raw).new_text)
        .collect();
    let lines: usize = texts.iter().map(|t| t.lines().count()).sum();
    let budget = Duration::from_secs(3);

    let (runs, took) = measure(budget, || {
        for text in &texts {
            black_box(grammar::parse(black_box(text), &ctx));
        }
    });
    let per_second = (runs as f64 * lines as f64) / took.as_secs_f64();
    println!("time-log grammar: {lines} lines per pass, {per_second:.0} lines/s");

    let (runs, took) = measure(budget, || {
        for raw in &messages {
            let incoming = Incoming::parse(black_box(raw));
            black_box(grammar::parse(&incoming.new_text, &ctx));
        }
    });
    let per_second = (runs as f64 * messages.len() as f64) / took.as_secs_f64();
    println!(
        "MIME + reply extraction + grammar: {} messages per pass, {per_second:.0} messages/s",
        messages.len()
    );
}
