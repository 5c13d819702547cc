//! Real mail servers for the tests, private to the test run: `Dovecot` (IMAP on loopback, plain
//! and STARTTLS on one port, implicit TLS on another, a self-signed certificate, passwd-file
//! users, Maildir owned by nobody).
//!
//! Starting Dovecot takes about a second and stopping it 2.5 s, so tests share one server
//! (`Dovecot::shared()`) and each takes a user of its own (`add_user`); a test that stops the
//! server (an outage) starts a private one (`Dovecot::start()`). A test that needs a server
//! never skips: when Dovecot cannot start, it fails with Dovecot's log.
//!
//! `Postgres`: one PostgreSQL per test run (`Postgres::shared()`), in a temporary folder, on a
//! free loopback port, trusting every connection; each test takes a fresh database of its own
//! (`create_database`, which returns its URL). As root its programs run as the `postgres` user,
//! since the server refuses root. A watchdog stops it and removes its folder when the test
//! process ends. When PostgreSQL is not installed, a test that needs it fails, saying so.

use std::net::TcpListener;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_imap::Client;
use futures_util::TryStreamExt as _;
use tempfile::TempDir;
use tokio::net::TcpStream;

const DOVECOT: &str = "/usr/sbin/dovecot";
/// nobody:nogroup, who owns the mail: Dovecot drops privileges to it.
const MAIL_UID: u32 = 65534;

/// A private Dovecot, stopped when dropped (and, should the test process die first, by a
/// watchdog that outlives it).
pub struct Dovecot {
    /// Config, certificate, users, logs, state and mail; removed on drop.
    dir: TempDir,
    conf: PathBuf,
    /// Plain IMAP, which offers STARTTLS.
    pub imap_port: u16,
    /// IMAP over implicit TLS.
    pub imaps_port: u16,
    users: AtomicUsize,
}

/// A mailbox user of a Dovecot.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
}

/// A message in a folder, as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub message_id: String,
    pub seen: bool,
}

/// How tandem is to connect to a `Dovecot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain IMAP to 127.0.0.1.
    None,
    /// STARTTLS to `localhost` on the plain port, trusting the server's certificate.
    Starttls,
    /// TLS from the first byte to `localhost` on the IMAPS port, trusting the certificate.
    Implicit,
}

/// Where `Dovecot::tandem_config` puts the IMAP password, in the app's folder.
pub fn password_file(dir: &Path) -> PathBuf {
    dir.join("imap-password")
}

impl Dovecot {
    /// tandem's config text (as `spawn_app_with` passes it) turned to read `account`'s INBOX
    /// on this server: `backend = "imap"`, an `[inbound.imap]` table, a password file in
    /// `dir`, and a poll interval of one second so an outage is over quickly.
    pub fn tandem_config(&self, dir: &Path, text: &str, account: &Account, tls: Tls) -> String {
        std::fs::write(password_file(dir), format!("{}\n", account.password)).unwrap();
        let port = match tls {
            Tls::Implicit => self.imaps_port,
            Tls::None | Tls::Starttls => self.imap_port,
        };
        let table = self.login_table("inbound.imap", port, tls, account, &password_file(dir));
        let edited = text
            .replace("backend = \"maildir\"", "backend = \"imap\"")
            .replace("poll_interval = \"5s\"", "poll_interval = \"1s\"")
            .replace("\n[outbound]", &format!("\n{table}\n[outbound]"));
        // Whole lines: the shipped config names both in a comment.
        assert!(
            edited.lines().any(|l| l == "[inbound.imap]")
                && edited.lines().any(|l| l == "backend = \"imap\""),
            "the shipped config changed; tandem_config cannot edit it:\n{text}"
        );
        edited
    }

    /// The `[SECTION]` table of tandem's config that logs in to this server as `account` on
    /// `port` with `tls`: the host the certificate names where TLS is used, the password in
    /// `password`, a timeout of 10 s, and `ca_file` trusting the run's certificate.
    pub fn login_table(
        &self,
        section: &str,
        port: u16,
        tls: Tls,
        account: &Account,
        password: &Path,
    ) -> String {
        let (host, mode) = match tls {
            Tls::None => ("127.0.0.1", "none"),
            Tls::Starttls => ("localhost", "starttls"),
            Tls::Implicit => ("localhost", "implicit"),
        };
        let mut table = format!(
            "[{section}]\nhost = \"{host}\"\nport = {port}\ntls = \"{mode}\"\n\
             username = \"{}\"\npassword_file = \"{}\"\ntimeout = \"10s\"\n",
            account.user,
            password.display()
        );
        if tls != Tls::None {
            table.push_str(&format!("ca_file = \"{}\"\n", self.certificate().display()));
        }
        table
    }

    /// The server the tests of this run share. Never stopped by a test; the watchdog stops it
    /// when the test process ends.
    pub fn shared() -> &'static Dovecot {
        static SHARED: OnceLock<Dovecot> = OnceLock::new();
        SHARED.get_or_init(Dovecot::start)
    }

    /// Starts a private Dovecot on free loopback ports.
    pub fn start() -> Dovecot {
        Dovecot::start_with("")
    }

    /// Starts a private Dovecot with `extra` appended to its config (settings of its own).
    pub fn start_with(extra: &str) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Dovecot's processes run as nobody and dovenull: they must pass through.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["run", "state", "log", "tls", "mail", "users"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        chown(root.join("mail"), Some(MAIL_UID), Some(MAIL_UID)).unwrap();
        make_certificate(&root.join("tls"));
        let (imap_port, imaps_port) = (free_port(), free_port());
        let conf = root.join("dovecot.conf");
        std::fs::write(&conf, config(root, imap_port, imaps_port) + extra).unwrap();
        let dovecot = Dovecot {
            conf,
            imap_port,
            imaps_port,
            users: AtomicUsize::new(0),
            dir,
        };
        dovecot.watchdog();
        dovecot.start_again();
        dovecot
    }

    /// Starts the stopped server again, on the same ports and mail.
    pub fn start_again(&self) {
        let (status, said) = self.dovecot(&[]);
        if !status.success() {
            panic!(
                "dovecot did not start: {status}\n{said}\nlog:\n{}",
                self.log()
            );
        }
        // It binds its listeners before it returns; still, do not race its first accept.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.imap_port)).is_err() {
            if Instant::now() > deadline {
                panic!(
                    "dovecot does not accept connections on {}\nlog:\n{}",
                    self.imap_port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and ends its sessions: every client sees BYE and a closed connection.
    pub fn stop(&self) {
        let (status, said) = self.dovecot(&["stop"]);
        assert!(
            status.success(),
            "dovecot stop failed: {status}\n{said}\nlog:\n{}",
            self.log()
        );
        self.end_sessions();
    }

    fn end_sessions(&self) {
        // The master leaves running `imap` processes behind (measured: an IDLE session got
        // its BYE some 9 s later, and one that woke meanwhile went on serving): end them,
        // found by this instance's name in their process titles.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = self.processes();
            if left.is_empty() {
                return;
            }
            let signal = if Instant::now() < deadline {
                "-TERM"
            } else {
                "-KILL"
            };
            for pid in &left {
                let _ = Command::new("kill")
                    .arg(signal)
                    .arg(pid.to_string())
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pids of this instance's processes (titled `dovecot-INSTANCE/SERVICE`).
    fn processes(&self) -> Vec<u32> {
        let title = format!("{}/", self.instance());
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
                && cmdline.starts_with(title.as_bytes())
            {
                pids.push(pid);
            }
        }
        pids
    }

    /// The pids of this instance's processes of one service (`submission`, `imap`, ...), whose
    /// title is `dovecot-INSTANCE/SERVICE` exactly. Such a service serves one client a process
    /// (Dovecot's default `client_limit = 1`): a process for each session.
    pub fn service_processes(&self, service: &str) -> Vec<u32> {
        let title = format!("{}/{service}\0", self.instance());
        self.processes()
            .into_iter()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| cmdline.starts_with(title.as_bytes()))
            })
            .collect()
    }

    fn instance(&self) -> String {
        format!("dovecot-tandem-test-{}", self.imap_port)
    }

    /// Runs `dovecot -c CONF ARGS` and returns what it said. Its output goes to a file, not a
    /// pipe: the daemon it leaves behind would hold a pipe open, and reading it never end.
    fn dovecot(&self, args: &[&str]) -> (std::process::ExitStatus, String) {
        let said = self.dir.path().join("log/command.out");
        let file = std::fs::File::create(&said).unwrap();
        let status = Command::new(DOVECOT)
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status();
        let status = match status {
            Ok(status) => status,
            Err(e) => panic!("cannot run {DOVECOT} (is dovecot-imapd installed?): {e}"),
        };
        (status, std::fs::read_to_string(&said).unwrap_or_default())
    }

    /// Dovecot's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/dovecot.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// The self-signed certificate the server presents (for `ca_file`).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    /// A new user with a random password, in a passwd-file of its own.
    pub fn add_user(&self) -> Account {
        let n = self.users.fetch_add(1, Ordering::SeqCst);
        let account = Account {
            user: format!("user{n}"),
            password: uuid::Uuid::new_v4().simple().to_string(),
        };
        std::fs::write(
            self.dir.path().join("users").join(&account.user),
            format!("{}:{{PLAIN}}{}::::::\n", account.user, account.password),
        )
        .unwrap();
        account
    }

    /// The user's Maildir (the INBOX; folders are `.NAME` inside).
    pub fn maildir(&self, account: &Account) -> PathBuf {
        self.dir
            .path()
            .join("mail")
            .join(&account.user)
            .join("Maildir")
    }

    /// Delivers into the INBOX by writing the file into `Maildir/new/`, as an MTA would: works
    /// while the server is down.
    pub fn deliver(&self, account: &Account, raw: &[u8]) {
        static DELIVERED: AtomicUsize = AtomicUsize::new(0);
        let maildir = self.maildir(account);
        for dir in [
            maildir.parent().unwrap().to_path_buf(),
            maildir.clone(),
            maildir.join("tmp"),
            maildir.join("new"),
            maildir.join("cur"),
        ] {
            if !dir.exists() {
                std::fs::create_dir(&dir).unwrap();
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
                chown(&dir, Some(MAIL_UID), Some(MAIL_UID)).unwrap();
            }
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let name = format!(
            "{secs}.M{}P{}.tandem-test",
            DELIVERED.fetch_add(1, Ordering::SeqCst),
            std::process::id()
        );
        let tmp = maildir.join("tmp").join(&name);
        std::fs::write(&tmp, raw).unwrap();
        chown(&tmp, Some(MAIL_UID), Some(MAIL_UID)).unwrap();
        std::fs::rename(&tmp, maildir.join("new").join(&name)).unwrap();
    }

    /// Logs in over plain IMAP (the server must be running).
    pub async fn session(&self, account: &Account) -> async_imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .unwrap();
        let mut client = Client::new(tcp);
        client.read_response().await.unwrap().expect("a greeting");
        match client.login(&account.user, &account.password).await {
            Ok(session) => session,
            Err((e, _)) => panic!(
                "login of {} failed: {e}\nlog:\n{}",
                account.user,
                self.log()
            ),
        }
    }

    /// Delivers into the INBOX with IMAP APPEND.
    pub async fn append(&self, account: &Account, raw: &[u8]) {
        let mut session = self.session(account).await;
        session.append("INBOX", None, None, raw).await.unwrap();
        session.logout().await.unwrap();
    }

    /// The messages in a folder (`INBOX`, `Processed`, ...), sorted by Message-ID; empty when
    /// the folder does not exist.
    pub async fn list(&self, account: &Account, folder: &str) -> Vec<Listed> {
        let mut session = self.session(account).await;
        let mut listed = Vec::new();
        if let Ok(mailbox) = session.examine(folder).await
            && mailbox.exists > 0
        {
            let fetches: Vec<_> = session
                .fetch("1:*", "(FLAGS BODY.PEEK[HEADER])")
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            for fetch in fetches {
                let header = String::from_utf8_lossy(fetch.header().unwrap_or_default());
                let message_id = header
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("message-id")
                            .then(|| value.trim().to_string())
                    })
                    .unwrap_or_default();
                let seen = fetch
                    .flags()
                    .any(|f| matches!(f, async_imap::types::Flag::Seen));
                listed.push(Listed { message_id, seen });
            }
        }
        session.logout().await.unwrap();
        listed.sort_by(|a, b| a.message_id.cmp(&b.message_id));
        listed
    }

    /// Runs `sh -c` in the background, detached from the test's output, that stops this
    /// Dovecot and removes its folder once the test process is gone: a shared server is never
    /// dropped, and a test process may die before its drops run.
    fn watchdog(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             if [ -e '{dir}/run/master.pid' ]; then {DOVECOT} -c '{conf}' stop; fi; rm -rf '{dir}'",
            pid = std::process::id(),
            dir = self.dir.path().display(),
            conf = self.conf.display(),
        );
        watch(&script);
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if self.dir.path().join("run/master.pid").exists() {
            let (status, said) = self.dovecot(&["stop"]);
            if !status.success() {
                eprintln!("dovecot stop failed: {status}\n{said}");
            }
        }
        self.end_sessions();
    }
}

/// Dovecot's SMTP submission service and its login process (Debian's `dovecot-submissiond`).
const SUBMISSION: [&str; 2] = [
    "/usr/lib/dovecot/submission",
    "/usr/lib/dovecot/submission-login",
];

/// A private Dovecot that also takes mail by SMTP submission, the TLS server of the SMTP
/// tests (smtp-sink has no TLS): STARTTLS on one port and implicit TLS on another, with its
/// IMAP certificate; AUTH PLAIN and LOGIN for the same users as IMAP (`add_user`); PIPELINING.
/// It relays each mail it accepts to a plain SMTP server on loopback (an `SmtpSink`), and
/// answers DATA only once that server has. Its log has every SMTP command it reads and every
/// answer it sends (`log_debug = category=smtp-server`), which `logins` and `pipelined` read.
pub struct Submission {
    pub dovecot: Dovecot,
    /// Submission, which offers STARTTLS.
    pub port: u16,
    /// Submission over implicit TLS (`submissions`).
    pub tls_port: u16,
}

impl Submission {
    /// Starts a private Dovecot with submission on free loopback ports, relaying to
    /// 127.0.0.1:`relay_port`. Panics, saying what to install, when Dovecot's submission
    /// service is not installed.
    pub fn start(relay_port: u16) -> Submission {
        for program in SUBMISSION {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: install Debian's dovecot-submissiond \
                 (`bash .ci/test` installs it when missing)"
            );
        }
        let (port, tls_port) = (free_port(), free_port());
        let dovecot = Dovecot::start_with(&format!(
            r#"
# SMTP submission (Submission::start), relaying every mail to 127.0.0.1:{relay_port}.
protocols = imap submission
hostname  = localhost
submission_relay_host = 127.0.0.1
submission_relay_port = {relay_port}
# Every command read and every answer sent, for Submission::pipelined.
log_debug = category=smtp-server

service submission-login {{
  inet_listener submission {{
    address = 127.0.0.1
    port    = {port}
  }}
  inet_listener submissions {{
    address = 127.0.0.1
    port    = {tls_port}
    ssl     = yes
  }}
}}
"#
        ));
        Submission {
            dovecot,
            port,
            tls_port,
        }
    }

    /// tandem's config text (as `spawn_app_with` passes it) turned to send through this
    /// server as `account`: `backend = "smtp"` and an `[outbound.smtp]` table, the password
    /// in a file in `dir`, the certificate trusted with `ca_file`.
    pub fn tandem_config(&self, dir: &Path, text: &str, account: &Account, tls: Tls) -> String {
        let password = dir.join("smtp-password");
        std::fs::write(&password, format!("{}\n", account.password)).unwrap();
        let port = match tls {
            Tls::Implicit => self.tls_port,
            Tls::None | Tls::Starttls => self.port,
        };
        let table = self
            .dovecot
            .login_table("outbound.smtp", port, tls, account, &password)
            + "send_timeout = \"10s\"\n";
        let edited = text
            .replace("backend = \"file\"", "backend = \"smtp\"")
            .replace("\n[engagements]", &format!("\n{table}\n[engagements]"));
        // Whole lines: the shipped config names both in a comment.
        assert!(
            edited.lines().any(|l| l == "[outbound.smtp]")
                && edited.lines().any(|l| l == "backend = \"smtp\""),
            "the shipped config changed; Submission::tandem_config cannot edit it:\n{text}"
        );
        edited
    }

    /// Waits (up to 10 s) until the log says that `n` mails were relayed, so that what was
    /// logged before them is in the file too (Dovecot's log process writes it a little
    /// after); panics with the log when they are not.
    pub fn wait_for_relayed(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.dovecot.log();
            let relayed = log.matches("Successfully relayed message").count();
            if relayed >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{relayed} mails relayed, not {n}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log lines of `account`'s logins, one a session (each says `TLS` when the session
    /// was protected).
    pub fn logins(&self, account: &Account) -> Vec<String> {
        let user = format!("submission-login: Info: Login: user=<{}>,", account.user);
        self.dovecot
            .log()
            .lines()
            .filter(|line| line.contains(&user))
            .map(str::to_string)
            .collect()
    }

    /// How many mails came pipelined: their `DATA` read before the answer to their `MAIL
    /// FROM` was sent. A client that waits for each answer cannot do that: the server answers
    /// `MAIL FROM` only once the relay has, and reads what the client sent meanwhile first.
    pub fn pipelined(&self) -> usize {
        let mut waiting = std::collections::HashSet::new();
        let mut pipelined = 0;
        for line in self.dovecot.log().lines() {
            // `... smtp-server: conn 127.0.0.1:PORT [N]: WHAT`, one client connection each.
            let Some((_, rest)) = line.split_once("smtp-server: conn ") else {
                continue;
            };
            let Some((conn, what)) = rest.split_once("]: ") else {
                continue;
            };
            if what.starts_with("Received new command: MAIL ") {
                waiting.insert(conn.to_string());
            } else if what.starts_with("Received new command: DATA") && waiting.contains(conn) {
                pipelined += 1;
            } else if what.starts_with("command MAIL: ") && what.contains(" reply: Sent: ") {
                waiting.remove(conn);
            }
        }
        pipelined
    }
}

/// A port nobody listens on now, and not handed out before in this test run (servers started
/// in parallel must not be given the same one).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Runs the shell `script` beside the test run, in a process group of its own: a Ctrl-C to
/// the test run must not stop the watchdog that cleans up after it.
#[expect(
    clippy::zombie_processes,
    reason = "the watchdog outlives the test process by design; nobody waits for it"
)]
fn watch(script: &str) {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
}

/// A self-signed certificate for localhost and 127.0.0.1. `CA:FALSE`, or rustls refuses it as
/// an end entity.
fn make_certificate(dir: &Path) {
    let output = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args([
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment",
        ])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("openssl must be installed");
    assert!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A complete config: nothing from /etc/dovecot is read.
fn config(root: &Path, imap_port: u16, imaps_port: u16) -> String {
    let dir = root.display();
    format!(
        r#"# A private Dovecot for tandem's tests; everything lives under {dir}.
base_dir      = {dir}/run
state_dir     = {dir}/state
instance_name = tandem-test-{imap_port}
log_path      = {dir}/log/dovecot.log

protocols = imap
listen    = 127.0.0.1

default_login_user    = dovenull
default_internal_user = dovecot
first_valid_uid = 1

ssl          = yes
ssl_cert     = <{dir}/tls/cert.pem
ssl_key      = <{dir}/tls/key.pem
ssl_dh       = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered at once, not after the default 2 s.
auth_failure_delay = 0

passdb {{
  driver = passwd-file
  # One file per user: a user added while the server runs is known at once (a shared file
  # is checked for changes at most once a second).
  args   = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = static
  args   = uid={MAIL_UID} gid={MAIL_UID} home={dir}/mail/%u
}}

mail_location = maildir:~/Maildir
mail_fsync = never

namespace inbox {{
  inbox     = yes
  separator = /
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port    = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port    = {imaps_port}
    ssl     = yes
  }}
}}
"#
    )
}

/// A private PostgreSQL, one per test run (`Postgres::shared()`), stopped and removed by a
/// watchdog when the test process ends. Each test takes a database of its own
/// (`create_database`). The server trusts every connection: it listens on 127.0.0.1 only, and
/// on a socket in its own folder.
pub struct Postgres {
    /// The cluster (`data/`), its log, its socket and what its commands said; removed by the
    /// watchdog.
    dir: TempDir,
    /// Where `initdb`, `pg_ctl` and `psql` are.
    bin: PathBuf,
    /// The server's loopback port.
    pub port: u16,
}

/// The role the cluster is made with (its superuser), in every URL.
const PG_USER: &str = "tandem";
/// A role that logs in only over TLS with a password (see [`Postgres::create_secret_database`]).
pub const SECRET_ROLE: &str = "tandem_secret";
pub const SECRET_PASSWORD: &str = "correct horse battery staple";

impl Postgres {
    /// The server the tests of this run share. Never stopped by a test; the watchdog stops it
    /// when the test process ends.
    pub fn shared() -> &'static Postgres {
        static SHARED: OnceLock<Postgres> = OnceLock::new();
        SHARED.get_or_init(Postgres::start)
    }

    /// Makes a cluster in a temporary folder and starts it on a free loopback port. Panics,
    /// with PostgreSQL's log, when it cannot.
    fn start() -> Postgres {
        let bin = postgres_bindir();
        let dir = tempfile::tempdir().unwrap();
        if running_as_root() {
            // The server refuses to run as root: its files belong to `postgres`.
            let owner = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(
                owner.status.success(),
                "cannot hand {} to the postgres user (made by Debian's postgresql package): {}",
                dir.path().display(),
                String::from_utf8_lossy(&owner.stderr)
            );
        }
        let postgres = Postgres {
            dir,
            bin,
            port: free_port(),
        };
        postgres.watchdog();
        let data = postgres.dir.path().join("data");
        let (status, said) = postgres.as_owner(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                PG_USER.as_ref(),
                "--no-sync".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
            ],
        );
        assert!(status.success(), "initdb failed: {status}\n{said}");
        // TLS, and one role that must use it and a password (`SECRET_ROLE`); every other
        // role is trusted on loopback, as initdb wrote.
        let tls = postgres.dir.path().join("tls");
        std::fs::create_dir(&tls).unwrap();
        make_certificate(&tls);
        std::fs::set_permissions(tls.join("key.pem"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        if running_as_root() {
            let owner = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&tls)
                .status()
                .unwrap();
            assert!(owner.success(), "cannot hand {} to postgres", tls.display());
        }
        let hba = data.join("pg_hba.conf");
        let trusted = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(
            &hba,
            format!(
                "hostssl all {SECRET_ROLE} 127.0.0.1/32 scram-sha-256\n\
                 host all {SECRET_ROLE} 127.0.0.1/32 reject\n{trusted}"
            ),
        )
        .unwrap();
        let options = format!(
            "-k {dir} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
             -c ssl=on -c ssl_cert_file={tls}/cert.pem -c ssl_key_file={tls}/key.pem",
            dir = postgres.dir.path().display(),
            port = postgres.port,
            tls = tls.display(),
        );
        let log = postgres.dir.path().join("postgres.log");
        let (status, said) = postgres.as_owner(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        );
        if !status.success() {
            // It may be up after all (a slow start past pg_ctl's wait): do not leave it behind.
            postgres.stop();
            panic!(
                "postgres did not start on 127.0.0.1:{}: {status}\n{said}\nlog:\n{}",
                postgres.port,
                postgres.log()
            );
        }
        postgres
    }

    /// The certificate the server presents (self-signed, for 127.0.0.1 and localhost).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    /// A new, empty database owned by [`SECRET_ROLE`], which may log in only over TLS and with
    /// [`SECRET_PASSWORD`]; its URL, without the password, TLS verified against
    /// [`Postgres::certificate`].
    pub fn create_secret_database(&self) -> String {
        static ROLE: OnceLock<()> = OnceLock::new();
        ROLE.get_or_init(|| {
            self.psql(
                "postgres",
                &format!("CREATE ROLE {SECRET_ROLE} LOGIN PASSWORD '{SECRET_PASSWORD}'"),
            );
        });
        let url = self.create_database();
        let name = url.rsplit('/').next().unwrap();
        self.psql(
            "postgres",
            &format!("ALTER DATABASE {name} OWNER TO {SECRET_ROLE}"),
        );
        format!(
            "postgres://{SECRET_ROLE}@127.0.0.1:{}/{name}?sslmode=verify-full&sslrootcert={}",
            self.port,
            self.certificate().display()
        )
    }

    /// A new, empty database of its own for a test; its URL,
    /// `postgres://tandem@127.0.0.1:PORT/NAME`.
    pub fn create_database(&self) -> String {
        static CREATED: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "tandem_test_{}_{}",
            std::process::id(),
            CREATED.fetch_add(1, Ordering::SeqCst)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        format!("postgres://{PG_USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` with `psql` over TCP as the superuser in `database` (a name, as the last part
    /// of a `create_database` URL) and returns its output, unaligned and without headers
    /// (`-tA`: one row a line, columns split by `|`). Panics with what psql said when it fails.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let psql = self.bin.join("psql");
        let psql = if psql.exists() {
            psql
        } else {
            PathBuf::from("psql")
        };
        let output = Command::new(&psql)
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-tA"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", PG_USER, "-d", database, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); install Debian's postgresql-client (`bash .ci/test` does)",
                    psql.display()
                )
            });
        assert!(
            output.status.success(),
            "psql -d {database} -c {sql:?} failed: {}\n{}\nlog:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// `pg_ctl -m fast -w stop`; whether it stopped is not checked (used where the server may
    /// not be running).
    fn stop(&self) {
        let data = self.dir.path().join("data");
        let _ = self.as_owner(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }

    /// Runs one of PostgreSQL's programs as the owner of the cluster (`postgres` when the tests
    /// run as root, else the current user) and returns what it said. Its output goes to a file,
    /// not a pipe: the server `pg_ctl start` leaves behind could hold a pipe open.
    fn as_owner(
        &self,
        program: &str,
        args: &[&std::ffi::OsStr],
    ) -> (std::process::ExitStatus, String) {
        let said = self.dir.path().join("command.out");
        let file = std::fs::File::create(&said).unwrap();
        let program = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut command = Command::new(runuser());
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let status = command
            .args(args)
            // Its own folder, which the postgres user can enter (root's home it cannot).
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        (status, std::fs::read_to_string(&said).unwrap_or_default())
    }

    /// Runs `sh -c` in the background, detached from the test's output, that stops this
    /// PostgreSQL and removes its folder once the test process is gone (as `Dovecot::watchdog`).
    fn watchdog(&self) {
        let owner = if running_as_root() {
            format!("{} -u postgres -- ", runuser().display())
        } else {
            String::new()
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             if [ -e '{dir}/data/postmaster.pid' ]; then \
             {owner}'{pg_ctl}' -D '{dir}/data' -m fast -w stop; fi; rm -rf '{dir}'",
            pid = std::process::id(),
            dir = self.dir.path().display(),
            pg_ctl = self.bin.join("pg_ctl").display(),
        );
        watch(&script);
    }
}

/// Whether the tests run as root (who owns this process's `/proc` entry).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `runuser`, which is in `/usr/sbin`, often not on a user's PATH.
fn runuser() -> PathBuf {
    ["/usr/sbin/runuser", "/sbin/runuser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("runuser"))
}

/// Where PostgreSQL's server programs are: the highest version under `/usr/lib/postgresql`
/// (Debian keeps them off PATH), else what `pg_config --bindir` says, else the folder of an
/// `initdb` on PATH. Panics, saying what to install, when there is none.
fn postgres_bindir() -> PathBuf {
    let has_server = |dir: &Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_server(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if has_server(&bin) {
            return bin;
        }
    }
    if let Some(bin) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| has_server(dir))
    {
        return bin;
    }
    panic!(
        "PostgreSQL is not installed (no initdb and pg_ctl under /usr/lib/postgresql/*/bin, \
         in `pg_config --bindir` or on PATH): install Debian's `postgresql` package \
         (`bash .ci/test` installs it when missing)"
    );
}

#[test]
fn postgres_starts_and_gives_each_test_a_database() {
    let postgres = Postgres::shared();
    let first = postgres.create_database();
    let second = postgres.create_database();
    assert_ne!(first, second);
    for url in [&first, &second] {
        let prefix = format!("postgres://tandem@127.0.0.1:{}/", postgres.port);
        let name = url
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{url} is not on {prefix}"));
        assert_eq!(
            postgres.psql(name, "SELECT current_database()").trim(),
            name
        );
    }
}
