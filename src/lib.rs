//! tandem: a mail daemon for agencies that place freelance virtual assistants with clients.
//!
//! The library holds everything; `main.rs` only parses the command line, reads the config,
//! sets up the log ([`logging::init`]) and calls [`cli::run`].
//! See ARCHITECTURE.md for the map.
#![forbid(unsafe_code)]

pub mod agreements;
pub mod app;
pub mod calls;
pub mod checkin;
pub mod cli;
pub mod clock;
pub mod compose;
pub mod config;
pub mod digest;
pub mod domain;
pub mod error;
pub mod format;
pub mod import;
pub mod inbound;
pub mod logging;
pub mod metrics;
pub mod onboarding;
pub mod outbound;
pub mod privacy;
pub mod recipients;
pub mod redact;
pub mod reply;
pub mod runtime;
pub mod schedule;
pub mod store;
pub mod survey;
pub mod talks;
pub mod tasks;
pub mod templates;
pub mod timelog;
pub mod timesheet;
pub mod tls;
