//! What every error boundary shares: writing an error with its causes on one log line.

/// An error with its causes, `a: b: c`, as one line for the log and the console. A cause
/// that its error already says (sqlx's "error returned from database: X" over X, a
/// wrapper that prints its source) is left out, so nothing is said twice.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut last = text.clone();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !said.is_empty() && !last.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        last = said;
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Leaf(String);

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Wrap {
        text: String,
        #[source]
        source: Leaf,
    }

    #[test]
    fn a_cause_already_said_is_said_once() {
        let e = Wrap {
            text: "error returned from database: (code: 8) readonly".into(),
            source: Leaf("(code: 8) readonly".into()),
        };
        assert_eq!(
            error_chain(&e),
            "error returned from database: (code: 8) readonly"
        );
        let e = Wrap {
            text: "could not open".into(),
            source: Leaf("disk full".into()),
        };
        assert_eq!(error_chain(&e), "could not open: disk full");
    }
}
