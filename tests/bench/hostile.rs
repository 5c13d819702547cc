//! Benchmark: what the daemon does with one hostile message before any database write,
//! `Incoming::parse` then `classify`, for each case of the hostile corpus
//! (`tests/hostile/corpus.rs`). Per case: the time (median of 3 runs); the floor, a plain scan
//! of the same bytes (counting '\n') measured in the same process, and the ratio to it; and the
//! extra peak memory over what the process held once the input was built.
//!
//! Each case runs in a process of its own (this binary again, `--case NAME`), so its peak is
//! its own and a case that hangs or blows up is reported, not the end of the bench: it is
//! killed after `BUDGET`, and an allocation past `MEMORY_CAP_KIB` of address space fails.
//!
//! Run: `cargo bench --bench hostile [NAME...]` (a name part picks cases). Prints figures;
//! asserts nothing.

#[path = "../hostile/corpus.rs"]
#[allow(dead_code)]
mod corpus;

#[path = "rss.rs"]
mod rss;
use rss::peak_rss_kib;
use std::hint::black_box;
use std::io::Read;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tandem::domain::EmailAddress;
use tandem::inbound::classify::classify;
use tandem::inbound::message::Incoming;

const FROM: &str = "stranger@hostile.example";
const AGENCY: &str = "team@agency.example";
const SEED: &str = "bench";
const RUNS: usize = 3;
/// How long one case may take, its input, floor and runs included, before it is killed.
const BUDGET: Duration = Duration::from_secs(60);
/// The address space one case may take (`ulimit -v`), so a blow-up fails an allocation
/// instead of emptying the machine's memory.
const MEMORY_CAP_KIB: u64 = 4 << 20;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [flag, name] if flag == "--case" => child(name),
        picks => parent(picks),
    }
}

/// Measures one case and prints `INPUT_BYTES TIME_NS FLOOR_NS EXTRA_KIB PEAK_RESET DECISION`.
fn child(name: &str) {
    let raw = corpus::case(name, FROM, AGENCY, SEED)
        .unwrap_or_else(|| panic!("no hostile case {name}"))
        .raw;
    let agency = EmailAddress::parse(AGENCY).expect("the agency's address parses");
    let floor = median(|| black_box(&raw).iter().filter(|&&b| b == b'\n').count());
    // Linux resets the peak (VmHWM) to the current resident size on this write; where it
    // cannot, the baseline still holds the peak of building the input, and the extra is low.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let baseline = peak_rss_kib();
    let mut decision = String::new();
    let time = median(|| {
        let incoming = Incoming::parse(black_box(&raw));
        let d = classify(&incoming, &agency, None);
        decision = format!("{}/{}", d.classification.as_str(), d.disposition.as_str());
    });
    let extra = peak_rss_kib().saturating_sub(baseline);
    println!(
        "{} {} {} {extra} {} {decision}",
        raw.len(),
        time.as_nanos(),
        floor.as_nanos(),
        u8::from(reset)
    );
}

/// The median time of `RUNS` calls.
fn median<T>(mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[RUNS / 2]
}

fn parent(picks: &[String]) {
    let exe = std::env::current_exe().expect("the bench's own path");
    let names = corpus::NAMES
        .iter()
        .filter(|n| picks.is_empty() || picks.iter().any(|p| n.contains(p.as_str())));
    println!(
        "hostile corpus: parse + classify per message, median of {RUNS} runs, each case in its \
         own process (budget {} s, {} of address space)\n",
        BUDGET.as_secs(),
        size(MEMORY_CAP_KIB as usize * 1024)
    );
    println!(
        "{:<22} {:>10} {:>14} {:>10} {:>9} {:>11}  decision",
        "case", "input", "parse+classify", "floor", "ratio", "extra peak"
    );
    let mut unreset = false;
    for name in names {
        match run(&exe, name) {
            Ok(fields) => {
                let [input, time, floor, extra, reset, decision] = fields.as_slice() else {
                    println!("{name:<22} unexpected output: {}", fields.join(" "));
                    continue;
                };
                let num = |s: &String| s.parse::<u64>().unwrap_or(0);
                let (time, floor) = (num(time), num(floor));
                let ratio = match floor {
                    0 => "-".to_string(),
                    f => format!("{:.0}x", time as f64 / f as f64),
                };
                unreset |= reset == "0";
                println!(
                    "{name:<22} {:>10} {:>14} {:>10} {ratio:>9} {:>11}  {decision}",
                    size(num(input) as usize),
                    duration(time),
                    duration(floor),
                    size(num(extra) as usize * 1024),
                );
            }
            Err(why) => println!("{name:<22} BLEW UP: {why}"),
        }
    }
    if unreset {
        println!(
            "\n(the peak could not be reset: extra peaks count from building the input's own peak, so may be low)"
        );
    }
}

/// Runs one case in a child process; its output line's fields, or why there is none.
fn run(exe: &std::path::Path, name: &str) -> Result<Vec<String>, String> {
    let mut child = Command::new("sh")
        .args(["-c", r#"ulimit -v "$1" && exec "$0" --case "$2""#])
        .arg(exe)
        .arg(MEMORY_CAP_KIB.to_string())
        .arg(name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_BACKTRACE", "1")
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > BUDGET => {
                // `exec` made the shell the case's process: this kills the case.
                let over = format!("over the {} s budget", BUDGET.as_secs());
                return Err(match child.kill().and_then(|()| child.wait()) {
                    Ok(_) => format!("{over}: killed"),
                    Err(e) => format!("{over}, and could not be killed: {e}"),
                });
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("could not wait for it: {e}")),
        }
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if !status.success() {
        let how = match status.signal() {
            Some(signal) => format!("killed by signal {signal}"),
            None => status.to_string(),
        };
        let secs = start.elapsed().as_secs_f64();
        return Err(format!("{how} after {secs:.1} s: {}", failure(&err)));
    }
    Ok(out.split_whitespace().map(str::to_string).collect())
}

/// What a failed case said: the first lines of its panic or allocation failure (cut short: a
/// panic may quote a megabyte of input) and the first frame of tandem's in its backtrace.
fn failure(stderr: &str) -> String {
    let mut lines = stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut said: String = lines.next().unwrap_or("no message").into();
    if said.ends_with(':') {
        said = format!("{said} {}", lines.next().unwrap_or(""));
    }
    let said: String = said.chars().take(160).collect();
    let frame = stderr.lines().map(str::trim).find_map(|l| {
        let (_, function) = l.split_once(": tandem::")?;
        Some(format!(" (in tandem::{function})"))
    });
    format!("{said}{}", frame.unwrap_or_default())
}

/// Reads a child's pipe to the end on a thread, so a child that writes much never blocks.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes); // a broken pipe leaves what was read
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

fn size(bytes: usize) -> String {
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", b / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", b / 1_048_576.0),
        _ => format!("{:.2} GiB", b / 1_073_741_824.0),
    }
}

fn duration(nanos: u64) -> String {
    let n = nanos as f64;
    match nanos {
        0..1_000 => format!("{nanos} ns"),
        1_000..1_000_000 => format!("{:.1} µs", n / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", n / 1e6),
        _ => format!("{:.2} s", n / 1e9),
    }
}
