//! Settings: `config/tandem.toml`, overridden by `TANDEM_SECTION__KEY` environment variables,
//! checked once at start. A wrong value is refused with a message that names its key; nothing
//! else in tandem re-validates configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::domain::{EmailAddress, Locale, Mailbox, Signer, TimeZone};

/// The file read when neither `--config` nor `TANDEM_CONFIG` names another.
pub const DEFAULT_PATH: &str = "config/tandem.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file '{0}' does not exist (give another with --config or TANDEM_CONFIG)")]
    Missing(PathBuf),
    #[error("config file '{path}' could not be read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: Box<figment::Error>,
    },
    #[error("config key '{key}' is invalid: {reason}")]
    Invalid { key: String, reason: String },
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// `sqlite://PATH` (relative paths are relative to the working directory).
    pub url: String,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboundBackend {
    Maildir,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub backend: InboundBackend,
    /// The Maildir read when `backend = "maildir"`; mail arrives in its `new/`.
    pub maildir: Option<PathBuf>,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundBackend {
    File,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    pub backend: OutboundBackend,
    /// The folder `backend = "file"` writes one `.eml` per message into.
    pub dir: Option<PathBuf>,
    /// Attempts before a message that keeps failing temporarily is marked `failed`.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry's delay; each further one doubles it, up to `retry_max`.
    #[serde(default = "default_retry_base", with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(default = "default_retry_max", with = "humantime_serde")]
    pub retry_max: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementDefaults {
    /// Trial length when `engagement add` gives neither `--trial-end` nor `--trial-weeks`.
    #[serde(default = "default_trial_weeks")]
    pub default_trial_weeks: u32,
}

impl Default for EngagementDefaults {
    fn default() -> Self {
        Self {
            default_trial_weeks: default_trial_weeks(),
        }
    }
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

fn default_max_connections() -> u32 {
    5
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
fn default_trial_weeks() -> u32 {
    4
}

impl Config {
    /// Reads the file at `path`, applies `TANDEM_*` overrides from the environment and
    /// validates the result.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        if !path.is_file() {
            return Err(ConfigError::Missing(path.to_path_buf()));
        }
        let env = Env::prefixed("TANDEM_")
            .ignore(&["config", "log", "log_format"])
            .split("__");
        Self::extract(Figment::new().merge(Toml::file(path)).merge(env), path)
    }

    /// Parses configuration from TOML text, with no environment overrides (for tests and tools).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::extract(
            Figment::new().merge(Toml::string(text)),
            Path::new("<string>"),
        )
    }

    fn extract(figment: Figment, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(|e| match e.path.is_empty() {
            false => ConfigError::Invalid {
                key: e.path.join("."),
                reason: e.kind.to_string(),
            },
            true => ConfigError::Read {
                path: path.to_path_buf(),
                source: Box::new(e),
            },
        })?;
        config.validate()?;
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
        if !self.database.url.starts_with("sqlite:") {
            return invalid(
                "database.url",
                "only sqlite:// URLs are supported in this version",
            );
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        match self.inbound.backend {
            InboundBackend::Maildir if self.inbound.maildir.is_none() => {
                return invalid("inbound.maildir", "is required when backend = \"maildir\"");
            }
            InboundBackend::Maildir => {}
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
        match self.outbound.backend {
            OutboundBackend::File if self.outbound.dir.is_none() => {
                return invalid("outbound.dir", "is required when backend = \"file\"");
            }
            OutboundBackend::File => {}
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
    fn the_shipped_config_is_valid() {
        let c = Config::from_toml(SHIPPED).unwrap();
        let kinds: Vec<_> = c.agreements.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["contract", "nda", "dpa", "data_handover", "billing"]
        );
        assert_eq!(c.database.url, "sqlite://var/tandem.db");
    }

    fn with(from: &str, to: &str) -> String {
        assert!(SHIPPED.contains(from), "shipped config lacks {from}");
        SHIPPED.replacen(from, to, 1)
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
