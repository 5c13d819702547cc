//! A private Postfix `smtp-sink` for tests: a real SMTP server on a free loopback port that
//! writes every message it accepts to a file. Faults are its own options (`-r` 4xx, `-f` 5xx,
//! `-M` stop after N messages). A test that needs it and cannot start it fails, loudly.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::servers::free_port;

pub struct SmtpSink {
    /// Where accepted messages land, one file each.
    dir: TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl SmtpSink {
    /// Starts a sink; `options` are smtp-sink's own (e.g. `["-r", "RCPT"]`).
    pub fn start(options: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // smtp-sink drops to `nobody`, who must be able to write here.
        Command::new("chmod")
            .args(["0777", dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        let mut sink = Self {
            dir,
            port: free_port(),
            child: None,
        };
        sink.run(options);
        sink
    }

    fn run(&mut self, options: &[&str]) {
        let template = format!("{}/%Y%m%d%H%M%S.", self.dir.path().display());
        let child = Command::new("smtp-sink")
            .args(["-u", "nobody", "-d", &template])
            .args(options)
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("256")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start smtp-sink ({e}); install Postfix (see README.md's test command)"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                self.child
                    .as_mut()
                    .unwrap()
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("smtp-sink exited ({status}) on port {}: {err}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "smtp-sink did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it (connections are refused until it is started again).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, keeping what it received, with new options.
    pub fn restart(&mut self, options: &[&str]) {
        self.stop();
        self.run(options);
    }

    /// The messages received so far (each as smtp-sink wrote it: its own `X-` headers and a
    /// `Received:` line, then the message unchanged).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }

    /// How many messages it has received so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path()).unwrap().count()
    }

    /// How often each Message-ID (`<...>`) arrived.
    pub fn arrivals(&self) -> std::collections::HashMap<String, usize> {
        let mut arrived = std::collections::HashMap::new();
        for raw in self.messages() {
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            *arrived
                .entry(format!("<{}>", m.message_id().unwrap()))
                .or_default() += 1;
        }
        arrived
    }

    /// The config lines that point tandem at this sink: `backend = "smtp"` and an
    /// `[outbound.smtp]` table before `[engagements]`.
    pub fn config(&self, shipped: &str) -> String {
        let edited = shipped.replace("backend = \"file\"", "backend = \"smtp\"").replace(
            "[engagements]",
            &format!(
                "[outbound.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\ntimeout = \"10s\"\nsend_timeout = \"10s\"\n\n[engagements]",
                self.port
            ),
        );
        // Whole lines: the shipped config names both in a comment.
        assert!(
            edited.lines().any(|l| l == "[outbound.smtp]")
                && edited.lines().any(|l| l == "backend = \"smtp\""),
            "the shipped config changed; SmtpSink::config cannot edit it:\n{shipped}"
        );
        edited
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
