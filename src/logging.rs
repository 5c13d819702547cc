//! The log: tracing's events to stderr, as text or JSON (`[log] format`), filtered by
//! `TANDEM_LOG` (tracing's `EnvFilter` syntax: `debug`, `tandem=debug,sqlx=warn`). Without it
//! the daemon (`run`) logs `info` and above and every other command only warnings and errors,
//! so that a command's own output is not interleaved with the log. Text is coloured only when
//! stderr is a terminal and `NO_COLOR` is unset or empty (no-color.org). With
//! `[log] redact_addresses = true` every address in a line is written as a short stable hash
//! ([`crate::redact`]).

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// The variable whose value is the log filter.
pub const FILTER_VAR: &str = "TANDEM_LOG";

/// The level logged when `TANDEM_LOG` is unset: `info` for the daemon, `warn` for the rest.
pub fn default_level(daemon: bool) -> &'static str {
    if daemon { "info" } else { "warn" }
}

/// Whether text is coloured: stderr is a terminal and `no_color` (the value of `NO_COLOR`) is
/// unset or empty.
pub fn colour(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

/// Sets up the log once for the process. `config` is `None` when the command reads no
/// config (`db copy`) or the config could not be read (its error is printed as the
/// command's). A `TANDEM_LOG` that does not parse is said once on stderr, and the default
/// used.
pub fn init(config: Option<&LogConfig>, daemon: bool) {
    let default = default_level(daemon);
    let filter = match std::env::var(FILTER_VAR) {
        Ok(value) if !value.trim().is_empty() => match EnvFilter::try_new(&value) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!(
                    "warning: {FILTER_VAR}='{value}' is not a log filter ({e}); logging {default} and above"
                );
                EnvFilter::new(default)
            }
        },
        _ => EnvFilter::new(default),
    };
    let format = config.map(|c| c.format).unwrap_or_default();
    // With `redact_addresses`, every line passes through `redact` on its way to stderr.
    let redact = config.is_some_and(|c| c.redact_addresses);
    let writer = move || -> Box<dyn std::io::Write> {
        if redact {
            Box::new(crate::redact::Redacting::new(std::io::stderr()))
        } else {
            Box::new(std::io::stderr())
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // `try_init`: a second set-up in one process (a test) keeps the first.
    let _ = match format {
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
        LogFormat::Text => {
            let no_color = std::env::var("NO_COLOR").ok();
            builder
                .with_ansi(colour(std::io::stderr().is_terminal(), no_color.as_deref()))
                .try_init()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("")));
        assert!(!colour(true, Some("1")));
        assert!(!colour(false, None));
        assert_eq!(default_level(true), "info");
        assert_eq!(default_level(false), "warn");
    }
}
