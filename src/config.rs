//! Settings: `config/tandem.toml`, overridden by `TANDEM_SECTION__KEY` environment variables,
//! checked once at start. A wrong value is refused with a message that names its key; nothing
//! else in tandem re-validates configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::domain::{
    Currency, EmailAddress, Locale, Mailbox, Question, QuestionKind, Signer, TimeZone,
};
pub use crate::schedule::ScheduleConfig;
use crate::schedule::cadence::Cadence;

/// The file read when neither `--config` nor `TANDEM_CONFIG` names another.
pub const DEFAULT_PATH: &str = "config/tandem.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file '{0}' does not exist (give another with --config or TANDEM_CONFIG)")]
    Missing(PathBuf),
    /// The file is not TOML. The reason is kept as text, said once (figment's error would
    /// repeat itself as its own source).
    #[error("config file '{path}' could not be read: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config key '{key}' is invalid: {reason}")]
    Invalid { key: String, reason: String },
    #[error("config key '{0}' is missing")]
    MissingKey(String),
    /// A `TANDEM_<SECTION>__<KEY>` override is wrong: named by the variable, since the file
    /// may be right.
    #[error("environment variable {var} (config key '{key}') is invalid: {reason}")]
    Environment {
        var: String,
        key: String,
        reason: String,
    },
}

impl ConfigError {
    /// The same error named by the environment variable that set `key`, if one did.
    fn named_by_environment(self, vars: &[String]) -> Self {
        let (key, reason) = match &self {
            ConfigError::Invalid { key, reason } => (key.clone(), reason.clone()),
            ConfigError::MissingKey(_) | ConfigError::Read { .. } => return self,
            ConfigError::Missing(_) | ConfigError::Environment { .. } => return self,
        };
        // `inbound.imap.host`: the variable of the key, or of a table above it that a
        // variable set whole.
        let mut parts: Vec<&str> = key.split('.').collect();
        while parts.len() >= 2 {
            let var = format!("TANDEM_{}", parts.join("__")).to_ascii_uppercase();
            if let Some(found) = vars.iter().find(|v| v.to_ascii_uppercase() == var) {
                return ConfigError::Environment {
                    var: found.clone(),
                    key,
                    reason,
                };
            }
            parts.pop();
        }
        self
    }
}

/// What serde calls a type, in the words of a person writing a config file.
fn plain_type(expected: &str) -> String {
    let trimmed = expected.trim_start_matches("a ").trim_start_matches("an ");
    match trimmed {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, not negative".into(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "bool" | "boolean" => "true or false".into(),
        "char" => "a single character".into(),
        "str" | "string" | "String" => "a string".into(),
        "sequence" | "Vec" => "a list".into(),
        "map" => "a table".into(),
        _ if trimmed.starts_with("struct ") => "a table".into(),
        _ if trimmed.starts_with("enum ") => "one of the listed values".into(),
        _ => expected.to_string(),
    }
}

/// One clean sentence for what figment found wrong, without Rust's names for types.
fn plain_reason(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        Kind::Message(text) => text.clone(),
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("found {actual}, expected {}", plain_type(expected))
        }
        Kind::InvalidLength(n, expected) => format!("found {n} items, expected {expected}"),
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value `{found}`, expected one of {}",
                list(expected)
            )
        }
        Kind::UnknownField(found, []) => format!("unknown key `{found}`"),
        Kind::UnknownField(found, expected) => {
            format!("unknown key `{found}` (known: {})", list(expected))
        }
        Kind::MissingField(name) => format!("missing key `{name}`"),
        Kind::DuplicateField(name) => format!("key `{name}` is given twice"),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "the number is too large".into(),
        Kind::Unsupported(actual) => format!("{actual} is not allowed here"),
        Kind::UnsupportedKey(actual, _) => format!("{actual} cannot be a key"),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub agency: Agency,
    pub database: Database,
    pub inbound: Inbound,
    pub outbound: Outbound,
    #[serde(default)]
    pub engagements: EngagementDefaults,
    #[serde(default)]
    pub templates: TemplatesConfig,
    /// The agreements each new engagement needs, in the order they are listed to people.
    pub agreements: Vec<AgreementKind>,
    /// When scheduled mail goes out: the send window and every cadence.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// The feedback questionnaire and its alert threshold.
    #[serde(default)]
    pub surveys: SurveysConfig,
    /// The operator's weekly digest.
    #[serde(default)]
    pub digest: DigestConfig,
    /// How much of what a sender controls is read: anyone can write to the inbox.
    #[serde(default)]
    pub limits: Limits,
    /// How long what names people is kept (GDPR Art. 5): `tandem privacy purge`, and the
    /// daemon once a day.
    #[serde(default)]
    pub retention: Retention,
    /// The HTTP endpoint for monitoring (`/healthz`, `/metrics`); off unless `listen` is set.
    #[serde(default)]
    pub http: Http,
    /// How long each part may go without working before it counts as down (`/healthz`,
    /// `tandem status`).
    #[serde(default)]
    pub health: HealthConfig,
    /// How tandem logs (to stderr).
    #[serde(default)]
    pub log: LogConfig,
    /// The monthly timesheet to the client's billing contact (issue 18).
    #[serde(default)]
    pub timesheet: crate::schedule::timesheets::TimesheetConfig,
}

/// How long tandem keeps what it no longer needs. Each period is a duration (`"90d"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// The raw message of mail sent (or given up), and the copies of read mail in the
    /// processed folder, after this long.
    #[serde(with = "humantime_serde")]
    pub raw_messages: Duration,
    /// Agreement documents, this long after their engagement ended.
    #[serde(with = "humantime_serde")]
    pub documents: Duration,
    /// The log of failures (`health_event`), after this long.
    #[serde(with = "humantime_serde")]
    pub health_events: Duration,
    /// Mail in the quarantine folder, after this long.
    #[serde(with = "humantime_serde")]
    pub quarantine: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            raw_messages: Duration::from_secs(90 * DAY),
            documents: Duration::from_secs(365 * DAY),
            health_events: Duration::from_secs(90 * DAY),
            quarantine: Duration::from_secs(90 * DAY),
        }
    }
}

/// `[http]`: where `/healthz` and `/metrics` are served.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// The address and port to listen on (`127.0.0.1:9187`); no endpoint when absent.
    pub listen: Option<std::net::SocketAddr>,
}

/// `[health]`: when a part counts as down. Each is optional; the defaults follow from the
/// rest of the config ([`HealthConfig::thresholds`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Mail in is down when no mailbox check succeeded for this long. Default: twice
    /// `poll_interval` (the longest the reader waits between checks, IDLE or not) plus a
    /// minute.
    #[serde(default, with = "humantime_serde")]
    pub inbound_after: Option<Duration>,
    /// Mail out is down when a message has been due for sending for this long. Default 15m.
    #[serde(default, with = "humantime_serde")]
    pub outbound_after: Option<Duration>,
    /// The scheduler is down when no pass succeeded for this long. Default 5m (a pass runs
    /// at least every minute).
    #[serde(default, with = "humantime_serde")]
    pub scheduler_after: Option<Duration>,
}

/// The thresholds in force, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Thresholds {
    #[serde(with = "humantime_serde")]
    pub inbound: Duration,
    #[serde(with = "humantime_serde")]
    pub outbound: Duration,
    #[serde(with = "humantime_serde")]
    pub scheduler: Duration,
}

impl Config {
    /// `[health]` with its defaults filled in from the rest of the config.
    pub fn thresholds(&self) -> Thresholds {
        // The reader checks the mailbox at least every poll interval (an IDLE lasts at most
        // that long too).
        let wait = self.inbound.poll_interval;
        let h = &self.health;
        Thresholds {
            inbound: h
                .inbound_after
                .unwrap_or(2 * wait + Duration::from_secs(60)),
            outbound: h.outbound_after.unwrap_or(Duration::from_secs(15 * 60)),
            scheduler: h.scheduler_after.unwrap_or(Duration::from_secs(5 * 60)),
        }
    }
}

/// `[log]`: how the log is written. The filter (how much) is `TANDEM_LOG`'s, an environment
/// variable, so that it can be raised for one command without touching the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (one line per event; coloured only on a terminal, and never with `NO_COLOR`) or
    /// `json` (one object per line, for log collectors).
    #[serde(default)]
    pub format: LogFormat,
    /// Write each address in the log as a short stable hash (`[addr:1a2b3c4d]`) instead.
    #[serde(default)]
    pub redact_addresses: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Bounds on what tandem reads of a message, since anyone can write to the inbox: a message
/// over a limit is recorded from its headers and quarantined, never held whole in memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest message read (bytes). A larger one is recorded from its headers and
    /// quarantined; over IMAP it is never downloaded (its `RFC822.SIZE` is asked first).
    pub message_bytes: u64,
    /// The message bytes held at once by one batch of the reader; a batch ends early when the
    /// next message would pass it (but always takes one).
    pub batch_bytes: u64,
    /// How much of a subject is examined (for reply tokens, `Re:` prefixes and client tags).
    pub subject_bytes: usize,
    /// How many `References` (and `In-Reply-To`) ids are examined, the newest first.
    pub references: usize,
    /// How deep nested `<blockquote>`s of an HTML-only mail are marked as quotes.
    pub html_depth: usize,
    /// The most text taken from a message's body (bytes); the rest is not read.
    pub text_bytes: usize,
    /// The most attachment bytes kept of one message (only PDFs are kept: a signed agreement).
    pub attachment_bytes: usize,
    /// How often a message whose handling fails is tried (across restarts) before it is
    /// recorded as unreadable and quarantined, so that it never holds up the mail behind it.
    pub attempts: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            message_bytes: 25 * 1024 * 1024,
            batch_bytes: 32 * 1024 * 1024,
            subject_bytes: 1000,
            references: 100,
            html_depth: 8,
            text_bytes: 1024 * 1024,
            attachment_bytes: 25 * 1024 * 1024,
            attempts: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// When the digest goes to the operator, in the agency's time zone. It reports on the week
    /// of the day before (a Monday digest reports the week that ended).
    #[serde(default = "default_digest_at")]
    pub at: Cadence,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            at: default_digest_at(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveysConfig {
    /// A scale answer at or under this alerts the operator at once.
    #[serde(default = "default_alert_threshold")]
    pub alert_threshold: i64,
    /// The questions, numbered in this order in every survey mail.
    #[serde(default = "crate::domain::default_questions")]
    pub questions: Vec<Question>,
}

impl Default for SurveysConfig {
    fn default() -> Self {
        Self {
            alert_threshold: default_alert_threshold(),
            questions: crate::domain::default_questions(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// The agency's name, as it signs its mail.
    pub name: String,
    /// Where alerts, escalations and the weekly digest go.
    pub operator_email: EmailAddress,
    /// The sender of every mail tandem writes; its domain is the right-hand side of Message-IDs.
    pub from: Mailbox,
    /// The operator's time zone, used where no person's own zone applies.
    pub timezone: TimeZone,
    /// The language for people added without `--locale`.
    pub default_locale: Locale,
    /// The currency of rates and amounts, an ISO 4217 code (`EUR`, `CHF`, `USD`); EUR when
    /// not given.
    #[serde(default)]
    pub currency: Currency,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// `sqlite://PATH` (relative paths are relative to the working directory), or
    /// `postgres://USER@HOST:PORT/DATABASE?sslmode=...` (PostgreSQL).
    pub url: String,
    /// Connections in the pool; unset, the store's default for the backend
    /// (`store::default_connections`).
    pub max_connections: Option<u32>,
    /// PostgreSQL: the environment variable holding the password (not the URL, not the config).
    pub password_env: Option<String>,
    /// PostgreSQL: a file holding the password (its first line).
    pub password_file: Option<PathBuf>,
}

impl Database {
    /// The PostgreSQL password, read now from the environment or the file; `None` when neither
    /// is given (the URL's own, `PGPASSWORD` or `PGPASSFILE` then apply).
    pub fn password(&self) -> Result<Option<Secret>, ConfigError> {
        Credentials {
            username: None,
            password_env: self.password_env.clone(),
            password_file: self.password_file.clone(),
        }
        .password("database")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboundBackend {
    Maildir,
    Imap,
}

/// How a connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS (IMAP 143, submission 587); refused if the
    /// server does not offer it.
    Starttls,
    /// No encryption at all: only when the config says so, for a server on the same host.
    None,
}

/// A password that never prints: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where a server's password comes from: an environment variable or a file, never the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The login name; no login is made without it (SMTP only).
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// A file holding the password (its first line).
    pub password_file: Option<PathBuf>,
}

impl Credentials {
    /// The password, read now from the environment or the file.
    pub fn password(&self, key: &str) -> Result<Option<Secret>, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            key: key.to_string(),
            reason,
        };
        match (&self.password_env, &self.password_file) {
            (Some(_), Some(_)) => Err(invalid(
                "give password_env or password_file, not both".into(),
            )),
            (Some(var), None) => std::env::var(var)
                .map(|v| Some(Secret::new(v)))
                .map_err(|_| invalid(format!("the environment variable {var} is not set"))),
            (None, Some(file)) => std::fs::read_to_string(file)
                .map(|v| Some(Secret::new(v.lines().next().unwrap_or_default())))
                .map_err(|e| invalid(format!("'{}' cannot be read: {e}", file.display()))),
            (None, None) => Ok(None),
        }
    }
}

/// An IMAP mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imap {
    pub host: String,
    /// Default: 993 with `tls = "implicit"`, 143 otherwise.
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    pub username: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A PEM file of extra certificates to trust (a private CA or a self-signed server).
    pub ca_file: Option<PathBuf>,
    /// The folder mail arrives in.
    #[serde(default = "default_inbox")]
    pub inbox: String,
    /// Wait for new mail with IDLE where the server offers it (else poll every poll_interval).
    #[serde(default = "default_true")]
    pub idle: bool,
    /// How long one IDLE lasts before it is renewed (servers drop it after 30 minutes).
    #[serde(default = "default_idle_renew", with = "humantime_serde")]
    pub idle_renew: Duration,
    /// How long any one command may take before the connection is given up and reopened.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl Imap {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 993,
            TlsMode::Starttls | TlsMode::None => 143,
        })
    }

    pub fn password(&self) -> Result<Secret, ConfigError> {
        let credentials = Credentials {
            username: Some(self.username.clone()),
            password_env: self.password_env.clone(),
            password_file: self.password_file.clone(),
        };
        credentials
            .password("inbound.imap")?
            .ok_or(ConfigError::Invalid {
                key: "inbound.imap.password_env".into(),
                reason: "IMAP needs a password: set password_env or password_file".into(),
            })
    }
}

/// An SMTP server (submission).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    /// Default: 465 with `tls = "implicit"`, 587 with `starttls`, 25 with `none`.
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A PEM file of extra certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// Connections kept open for reuse.
    #[serde(default = "default_pool")]
    pub pool_size: u32,
    /// For connecting, the greeting, EHLO, STARTTLS and AUTH, each.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// For the whole of one send: a server that stops answering is given up on after this,
    /// and the message is retried later.
    #[serde(default = "default_send_timeout", with = "humantime_serde")]
    pub send_timeout: Duration,
}

impl Smtp {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
            TlsMode::None => 25,
        })
    }

    /// The login, if one is configured.
    pub fn login(&self) -> Result<Option<(String, Secret)>, ConfigError> {
        let credentials = Credentials {
            username: self.username.clone(),
            password_env: self.password_env.clone(),
            password_file: self.password_file.clone(),
        };
        let password = credentials.password("outbound.smtp")?;
        match (&self.username, password) {
            (Some(user), Some(password)) => Ok(Some((user.clone(), password))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::Invalid {
                key: "outbound.smtp.username".into(),
                reason: "give both a username and a password (password_env or password_file), or neither".into(),
            }),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub backend: InboundBackend,
    /// The Maildir read when `backend = "maildir"`; mail arrives in its `new/`.
    pub maildir: Option<PathBuf>,
    /// The mailbox read when `backend = "imap"`.
    pub imap: Option<Imap>,
    /// Where handled mail is moved (a Maildir++ subfolder, `.Processed`).
    #[serde(default = "default_processed")]
    pub processed_folder: String,
    /// Where mail from unknown senders and unreadable mail is moved.
    #[serde(default = "default_quarantine")]
    pub quarantine_folder: String,
    /// Where mail from known people that tandem does not understand is moved, for a person.
    #[serde(default = "default_attention")]
    pub attention_folder: String,
    /// How often the mailbox is looked at.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How many messages are read per step; bounds memory whatever the mailbox size.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Whose word counts for who sent a message (`[inbound.authentication]`).
    #[serde(default)]
    pub authentication: Authentication,
}

/// What tandem does with a sender that is not authenticated (PRODUCT.md, "Sender
/// authentication").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthPolicy {
    /// Not checked (the embedded Maildir default: mail dropped by hand carries no verdict).
    #[default]
    Off,
    /// Checked and stored, mail handled as before; the digest lists what came in
    /// unauthenticated.
    Report,
    /// Mail from an unauthenticated sender changes nothing a person is trusted for: it goes to
    /// the attention folder with the reason and is never answered.
    Require,
}

impl AuthPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthPolicy::Off => "off",
            AuthPolicy::Report => "report",
            AuthPolicy::Require => "require",
        }
    }
}

/// `[inbound.authentication]`: the policy and the receiving servers whose
/// `Authentication-Results` headers are trusted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    #[serde(default)]
    pub policy: AuthPolicy,
    /// The authserv-ids of the agency's own receiving servers, lower-case; `""` stands for a
    /// header without one (Microsoft 365 writes its results that way).
    #[serde(default)]
    pub authserv_id: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundBackend {
    File,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    pub backend: OutboundBackend,
    /// The folder `backend = "file"` writes one `.eml` per message into.
    pub dir: Option<PathBuf>,
    /// The server `backend = "smtp"` delivers through.
    pub smtp: Option<Smtp>,
    /// Attempts before a message that keeps failing temporarily is marked `failed`.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry's delay; each further one doubles it, up to `retry_max`.
    #[serde(default = "default_retry_base", with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(default = "default_retry_max", with = "humantime_serde")]
    pub retry_max: Duration,
    /// How long a worker holds a message it is sending; after that (its process died
    /// mid-send) another worker, or the restarted daemon, takes it over. Longer than any send.
    #[serde(default = "default_lease", with = "humantime_serde")]
    pub lease: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementDefaults {
    /// Trial length when `engagement add` gives neither `--trial-end` nor `--trial-weeks`.
    #[serde(default = "default_trial_weeks")]
    pub default_trial_weeks: u32,
    /// When an engagement's hours in a month reach 80 % and 100 % of its budget, the operator
    /// is told; with this, the client's contact too.
    #[serde(default)]
    pub budget_alert_client: bool,
    /// Whether `engagement end` writes a closing mail to the client's contacts and the
    /// assistant.
    #[serde(default = "default_closing_mail")]
    pub closing_mail: bool,
    /// How long the kickoff call is (`--kickoff`, `engagement kickoff`), in minutes: the
    /// invitation's end.
    #[serde(default = "default_kickoff_minutes")]
    pub kickoff_minutes: u32,
}

impl Default for EngagementDefaults {
    fn default() -> Self {
        Self {
            default_trial_weeks: default_trial_weeks(),
            budget_alert_client: false,
            closing_mail: default_closing_mail(),
            kickoff_minutes: default_kickoff_minutes(),
        }
    }
}

fn default_closing_mail() -> bool {
    true
}

fn default_kickoff_minutes() -> u32 {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesConfig {
    /// The folder holding `de/` and `en/` with the mail templates.
    #[serde(default = "default_templates_dir")]
    pub dir: PathBuf,
}

impl Default for TemplatesConfig {
    fn default() -> Self {
        Self {
            dir: default_templates_dir(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementKind {
    /// The short name used on the command line and in the database (`dpa`).
    pub kind: String,
    /// The document's German name.
    pub de: String,
    /// The document's English name.
    pub en: String,
    /// Who signs it: `client`, `assistant` or `both`.
    pub signers: Signer,
}

impl AgreementKind {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::De => &self.de,
            Locale::En => &self.en,
        }
    }
}

fn default_tls() -> TlsMode {
    TlsMode::Implicit
}
fn default_inbox() -> String {
    "INBOX".into()
}
fn default_true() -> bool {
    true
}
fn default_idle_renew() -> Duration {
    Duration::from_secs(25 * 60)
}
fn default_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_send_timeout() -> Duration {
    Duration::from_secs(120)
}
fn default_pool() -> u32 {
    4
}
fn default_processed() -> String {
    "Processed".into()
}
fn default_quarantine() -> String {
    "Quarantine".into()
}
fn default_attention() -> String {
    "Attention".into()
}
fn default_poll() -> Duration {
    Duration::from_secs(5)
}
fn default_batch() -> usize {
    100
}
fn default_max_attempts() -> u32 {
    8
}
fn default_retry_base() -> Duration {
    Duration::from_secs(30)
}
fn default_retry_max() -> Duration {
    Duration::from_secs(6 * 3600)
}
fn default_templates_dir() -> PathBuf {
    PathBuf::from("templates")
}
fn default_lease() -> Duration {
    Duration::from_secs(300)
}
fn default_trial_weeks() -> u32 {
    4
}
fn default_digest_at() -> Cadence {
    "weekly:mon 08:00"
        .parse()
        .expect("the default cadence parses")
}
fn default_alert_threshold() -> i64 {
    2
}

/// The config's sections, the only names an environment override may start with.
const SECTIONS: [&str; 16] = [
    "http",
    "health",
    "log",
    "agency",
    "database",
    "inbound",
    "outbound",
    "engagements",
    "templates",
    "agreements",
    "schedule",
    "surveys",
    "digest",
    "limits",
    "retention",
    "timesheet",
];

impl Config {
    /// Reads the file at `path`, applies `TANDEM_*` overrides from the environment and
    /// validates the result.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        if !path.is_file() {
            return Err(ConfigError::Missing(path.to_path_buf()));
        }
        // Only `TANDEM_<SECTION>__<KEY>` of a real section is a setting: other `TANDEM_`
        // variables (`TANDEM_CONFIG`, `TANDEM_LOG`, a password named by `password_env`) are not.
        let env = Env::prefixed("TANDEM_")
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                key.split_once("__")
                    .is_some_and(|(section, _)| SECTIONS.contains(&section))
            })
            .split("__");
        let vars: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.to_ascii_uppercase().starts_with("TANDEM_"))
            .collect();
        Self::extract(Figment::new().merge(Toml::file(path)).merge(env), path)
            .map_err(|e| e.named_by_environment(&vars))
    }

    /// Parses configuration from TOML text, with no environment overrides (for tests and tools).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::extract(
            Figment::new().merge(Toml::string(text)),
            Path::new("<string>"),
        )
    }

    fn extract(figment: Figment, path: &Path) -> Result<Self, ConfigError> {
        let mut config: Config = figment.extract().map_err(|e| {
            let key = e.path.join(".");
            match &e.kind {
                figment::error::Kind::MissingField(name) => {
                    ConfigError::MissingKey(match key.is_empty() {
                        true => name.to_string(),
                        false => format!("{key}.{name}"),
                    })
                }
                _ if key.is_empty() => ConfigError::Read {
                    path: path.to_path_buf(),
                    reason: plain_reason(&e.kind),
                },
                kind => ConfigError::Invalid {
                    key,
                    reason: plain_reason(kind),
                },
            }
        })?;
        config.validate()?;
        // The window skips the holidays of `[schedule] holidays`.
        config.schedule.send_window = config
            .schedule
            .send_window
            .clone()
            .with_holidays(config.schedule.holidays);
        // The schedule plans the timesheets too.
        config.schedule.timesheet = config.timesheet.clone();
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| {
            Err(ConfigError::Invalid {
                key: key.to_string(),
                reason: reason.to_string(),
            })
        };
        if self.agency.name.trim().is_empty() {
            return invalid("agency.name", "must not be empty");
        }
        if !(1..=24 * 60).contains(&self.engagements.kickoff_minutes) {
            return invalid(
                "engagements.kickoff_minutes",
                "must be between 1 and 1440 (a call within a day)",
            );
        }
        let url = &self.database.url;
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !url.starts_with("sqlite:") && !postgres {
            return invalid(
                "database.url",
                "give sqlite://PATH or postgres://USER@HOST/DATABASE",
            );
        }
        if !postgres
            && (self.database.password_env.is_some() || self.database.password_file.is_some())
        {
            return invalid(
                "database.password_env",
                "a password is for PostgreSQL; SQLite has none",
            );
        }
        if self.database.max_connections == Some(0) {
            return invalid("database.max_connections", "must be at least 1");
        }
        for (key, value) in [
            ("health.inbound_after", self.health.inbound_after),
            ("health.outbound_after", self.health.outbound_after),
            ("health.scheduler_after", self.health.scheduler_after),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                return invalid(key, "must be more than zero");
            }
        }
        let l = &self.limits;
        for (key, value) in [
            ("limits.message_bytes", l.message_bytes),
            ("limits.batch_bytes", l.batch_bytes),
            ("limits.subject_bytes", l.subject_bytes as u64),
            ("limits.references", l.references as u64),
            ("limits.html_depth", l.html_depth as u64),
            ("limits.text_bytes", l.text_bytes as u64),
            ("limits.attempts", u64::from(l.attempts)),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        match (self.inbound.backend, &self.inbound.imap) {
            (InboundBackend::Maildir, _) if self.inbound.maildir.is_none() => {
                return invalid("inbound.maildir", "is required when backend = \"maildir\"");
            }
            (InboundBackend::Imap, None) => {
                return invalid("inbound.imap", "is required when backend = \"imap\"");
            }
            (InboundBackend::Imap, Some(imap)) => {
                if imap.host.trim().is_empty() {
                    return invalid("inbound.imap.host", "must not be empty");
                }
                imap.password()?;
                if imap.idle_renew.is_zero() || imap.idle_renew > Duration::from_secs(29 * 60) {
                    return invalid(
                        "inbound.imap.idle_renew",
                        "must be more than zero and at most 29 minutes",
                    );
                }
            }
            (InboundBackend::Maildir, _) => {}
        }
        let auth = &self.inbound.authentication;
        if auth.policy != AuthPolicy::Off && auth.authserv_id.is_empty() {
            return invalid(
                "inbound.authentication.authserv_id",
                "must name the receiving server(s) whose Authentication-Results are trusted when policy is not \"off\"",
            );
        }
        for id in &auth.authserv_id {
            let bad = id.len() > 255
                || id
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || ";()\"=".contains(c));
            if bad {
                return invalid(
                    "inbound.authentication.authserv_id",
                    "each must be a host name as the server writes it (no spaces, ';', '(', '\"' or '=')",
                );
            }
        }
        for (key, folder) in [
            ("inbound.processed_folder", &self.inbound.processed_folder),
            ("inbound.quarantine_folder", &self.inbound.quarantine_folder),
            ("inbound.attention_folder", &self.inbound.attention_folder),
        ] {
            let ok = !folder.is_empty()
                && folder
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return invalid(key, "must be a folder name of letters, digits, '-' or '_'");
            }
        }
        if self.inbound.poll_interval.is_zero() {
            return invalid("inbound.poll_interval", "must be more than zero");
        }
        if self.inbound.batch_size == 0 {
            return invalid("inbound.batch_size", "must be at least 1");
        }
        match (self.outbound.backend, &self.outbound.smtp) {
            (OutboundBackend::File, _) if self.outbound.dir.is_none() => {
                return invalid("outbound.dir", "is required when backend = \"file\"");
            }
            (OutboundBackend::Smtp, None) => {
                return invalid("outbound.smtp", "is required when backend = \"smtp\"");
            }
            (OutboundBackend::Smtp, Some(smtp)) => {
                if self.outbound.lease <= smtp.send_timeout || self.outbound.lease <= smtp.timeout {
                    return invalid(
                        "outbound.lease",
                        "must be longer than outbound.smtp.send_timeout and timeout, or a slow send could be taken over and sent twice",
                    );
                }
                if smtp.pool_size == 0 {
                    return invalid("outbound.smtp.pool_size", "must be at least 1");
                }
                if smtp.host.trim().is_empty() {
                    return invalid("outbound.smtp.host", "must not be empty");
                }
                if smtp.pool_size == 0 {
                    return invalid("outbound.smtp.pool_size", "must be at least 1");
                }
                smtp.login()?;
            }
            (OutboundBackend::File, _) => {}
        }
        if self.outbound.max_attempts == 0 {
            return invalid("outbound.max_attempts", "must be at least 1");
        }
        if self.outbound.retry_base.is_zero() || self.outbound.retry_max < self.outbound.retry_base
        {
            return invalid(
                "outbound.retry_base",
                "must be more than zero and not more than outbound.retry_max",
            );
        }
        if self.engagements.default_trial_weeks == 0 {
            return invalid("engagements.default_trial_weeks", "must be at least 1");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, a) in self.agreements.iter().enumerate() {
            let key = format!("agreements[{i}].kind");
            let ok = !a.kind.is_empty()
                && a.kind
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return invalid(&key, "must be lower-case letters, digits or '_'");
            }
            if !seen.insert(a.kind.as_str()) {
                return invalid(&key, &format!("'{}' is listed twice", a.kind));
            }
            if a.de.trim().is_empty() || a.en.trim().is_empty() {
                return invalid(
                    &format!("agreements[{i}]"),
                    "needs both a 'de' and an 'en' name",
                );
            }
        }
        // A threshold outside every scale would alert on every answer, or on none.
        let scales: Vec<_> = self
            .surveys
            .questions
            .iter()
            .filter(|q| q.kind == crate::domain::QuestionKind::Scale)
            .collect();
        let threshold = self.surveys.alert_threshold;
        if !scales.is_empty() && !scales.iter().any(|q| (q.min..q.max).contains(&threshold)) {
            let ranges: Vec<String> = scales
                .iter()
                .map(|q| format!("{}-{}", q.min, q.max))
                .collect();
            return invalid(
                "surveys.alert_threshold",
                &format!(
                    "{threshold} is outside the scales of the questions ({}): a score at or \
                     under it alerts, so it must be at least the lowest and below the highest",
                    ranges.join(", ")
                ),
            );
        }
        if let Some((key, reason)) = self.timesheet.problem() {
            return Err(ConfigError::Invalid {
                key: key.to_string(),
                reason,
            });
        }
        self.validate_schedule()
    }

    fn validate_schedule(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| {
            Err(ConfigError::Invalid {
                key: key.to_string(),
                reason,
            })
        };
        let s = &self.schedule;
        if chrono::NaiveTime::parse_from_str(&s.trial_review_at, "%H:%M").is_err() {
            return invalid(
                "schedule.trial_review_at",
                format!("'{}' is not a time of day such as 10:00", s.trial_review_at),
            );
        }
        if s.agreement_escalate_after == 0 {
            return invalid(
                "schedule.agreement_escalate_after",
                "must be at least 1".into(),
            );
        }
        let questions = &self.surveys.questions;
        if questions.is_empty() {
            return invalid("surveys.questions", "needs at least one question".into());
        }
        let mut keys = std::collections::HashSet::new();
        for (i, q) in questions.iter().enumerate() {
            let key = format!("surveys.questions[{i}]");
            if q.key.is_empty()
                || !q
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return invalid(&key, "key must be lower-case letters, digits or '_'".into());
            }
            if !keys.insert(q.key.as_str()) {
                return invalid(&key, format!("the key '{}' is used twice", q.key));
            }
            if q.de.trim().is_empty() || q.en.trim().is_empty() {
                return invalid(&key, "needs both a 'de' and an 'en' text".into());
            }
            if q.kind == QuestionKind::Scale && q.min >= q.max {
                return invalid(&key, format!("min {} must be below max {}", q.min, q.max));
            }
            if q.alert_on_no && q.kind != QuestionKind::YesNo {
                return invalid(&key, "alert_on_no is for a yes_no question".into());
            }
        }
        Ok(())
    }

    pub fn agreement(&self, kind: &str) -> Option<&AgreementKind> {
        self.agreements.iter().find(|a| a.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../config/tandem.toml");

    #[test]
    fn an_alert_threshold_off_the_scale_is_refused() {
        for bad in ["9", "5", "0"] {
            let text = SHIPPED.replace("alert_threshold = 2", &format!("alert_threshold = {bad}"));
            assert_ne!(text, SHIPPED);
            let err = Config::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains("surveys.alert_threshold"), "{bad}: {err}");
        }
        let text = SHIPPED.replace("alert_threshold = 2", "alert_threshold = 4");
        assert!(Config::from_toml(&text).is_ok());
    }

    #[test]
    fn the_kickoff_lasts_between_a_minute_and_a_day() {
        assert_eq!(
            Config::from_toml(SHIPPED)
                .unwrap()
                .engagements
                .kickoff_minutes,
            60
        );
        for bad in ["0", "1441"] {
            let text = SHIPPED.replace("kickoff_minutes = 60", &format!("kickoff_minutes = {bad}"));
            assert_ne!(text, SHIPPED);
            let err = Config::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains("engagements.kickoff_minutes"), "{bad}: {err}");
        }
        let text = SHIPPED.replace("kickoff_minutes = 60", "kickoff_minutes = 45");
        assert_eq!(
            Config::from_toml(&text)
                .unwrap()
                .engagements
                .kickoff_minutes,
            45
        );
    }

    #[test]
    fn holidays_close_the_send_window() {
        let text = SHIPPED.replace("# holidays = \"DE-BY\"", "holidays = \"de-by\"");
        let config = Config::from_toml(&text).unwrap();
        let region = config.schedule.holidays.unwrap();
        assert_eq!(region.to_string(), "DE-BY");
        assert_eq!(config.schedule.send_window.holidays(), Some(region));
        let text = SHIPPED.replace("# holidays = \"DE-BY\"", "holidays = \"DE-XX\"");
        let err = Config::from_toml(&text).unwrap_err().to_string();
        assert!(
            err.contains("holidays") && err.contains("not a region"),
            "{err}"
        );
        assert_eq!(Config::from_toml(SHIPPED).unwrap().schedule.holidays, None);
    }

    #[test]
    fn the_shipped_config_is_valid() {
        let c = Config::from_toml(SHIPPED).unwrap();
        let kinds: Vec<_> = c.agreements.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["contract", "nda", "dpa", "data_handover", "billing"]
        );
        assert_eq!(c.database.url, "sqlite://var/tandem.db");
        // The shipped questionnaire is the one PRODUCT.md names, and the built-in default.
        assert_eq!(c.surveys.questions, crate::domain::default_questions());
        assert_eq!(c.schedule.survey_trial.to_string(), "weekly:fri 10:00");
        assert_eq!(c.schedule.send_window.to_string(), "mon-fri 08:00-18:00");
    }

    #[test]
    fn schedule_errors_name_the_key() {
        let cases = [
            (
                with(
                    "survey_trial = \"weekly:fri 10:00\"",
                    "survey_trial = \"weekly:fry 10:00\"",
                ),
                "schedule.survey_trial",
            ),
            (
                with(
                    "send_window = \"mon-fri 08:00-18:00\"",
                    "send_window = \"mon-fri 18:00-08:00\"",
                ),
                "schedule.send_window",
            ),
            (
                with("trial_review_at = \"10:00\"", "trial_review_at = \"ten\""),
                "schedule.trial_review_at",
            ),
            (
                with("key = \"communication\"", "key = \"satisfaction\""),
                "surveys.questions[1]",
            ),
            (
                with("kind = \"yes_no\"", "kind = \"stars\""),
                "surveys.questions",
            ),
            (
                with("kind = \"yes_no\"", "kind = \"text\""),
                "surveys.questions[2]",
            ),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains(key), "'{err}' should name {key}");
        }
    }

    fn with(from: &str, to: &str) -> String {
        assert!(SHIPPED.contains(from), "shipped config lacks {from}");
        SHIPPED.replacen(from, to, 1)
    }

    #[test]
    fn sender_authentication_is_validated() {
        let c = Config::from_toml(SHIPPED).unwrap();
        assert_eq!(c.inbound.authentication.policy, AuthPolicy::Off);
        let require = SHIPPED.replace("\npolicy = \"off\"\n", "\npolicy = \"require\"\n");
        let err = Config::from_toml(&require).unwrap_err().to_string();
        assert!(err.contains("inbound.authentication.authserv_id"), "{err}");
        let ok = require.replace(
            "\nauthserv_id = []\n",
            "\nauthserv_id = [\"mx.agency.example\", \"\"]\n",
        );
        let c = Config::from_toml(&ok).unwrap();
        assert_eq!(c.inbound.authentication.policy, AuthPolicy::Require);
        let bad = require.replace(
            "\nauthserv_id = []\n",
            "\nauthserv_id = [\"mx; dmarc=pass\"]\n",
        );
        assert!(Config::from_toml(&bad).is_err());
        let unknown = SHIPPED.replace("\npolicy = \"off\"\n", "\npolicy = \"maybe\"\n");
        assert!(Config::from_toml(&unknown).is_err());
    }

    #[test]
    fn mail_servers_and_their_secrets() {
        let text = SHIPPED
            .replace("backend = \"maildir\"", "backend = \"imap\"")
        .replace(
            "[outbound]",
            "[inbound.imap]\nhost = \"mail.example.org\"\nusername = \"team\"\npassword_env = \"TANDEM_TEST_NO_SUCH_VAR\"\n\n[outbound]",
        );
        let err = Config::from_toml(&text).unwrap_err().to_string();
        assert!(
            err.contains("inbound.imap") && err.contains("TANDEM_TEST_NO_SUCH_VAR is not set"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let text = text.replace(
            "password_env = \"TANDEM_TEST_NO_SUCH_VAR\"",
            &format!("password_file = \"{}\"", file.display()),
        );
        let config = Config::from_toml(&text).unwrap();
        let imap = config.inbound.imap.unwrap();
        assert_eq!((imap.port(), imap.tls), (993, TlsMode::Implicit));
        assert_eq!(imap.password().unwrap().expose(), "s3cret");
        assert_eq!(format!("{:?}", imap.password().unwrap()), "***");
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                with("timezone = \"Europe/Berlin\"", "timezone = \"Mars/Base\""),
                "agency.timezone",
            ),
            (
                with("default_locale = \"de\"", "default_locale = \"fr\""),
                "agency.default_locale",
            ),
            (
                with("backend = \"maildir\"", "backend = \"pop3\""),
                "inbound.backend",
            ),
            (
                with("batch_size = 100", "batch_size = 0"),
                "inbound.batch_size",
            ),
            (with("[agency]", "[agency]\ncolour = \"red\""), "agency"),
            (
                with("signers = \"both\"", "signers = \"everyone\""),
                "agreements",
            ),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains(key), "'{err}' should name {key}");
        }
    }
}
