//! What every error boundary shares: writing an error with its causes on one log line.

/// An error with its causes, `a: b: c`, as one line for the log (for an error that is kept,
/// so it cannot be turned into an `anyhow::Error` for `{:#}`).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
