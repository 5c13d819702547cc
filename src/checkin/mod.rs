//! Check-ins: the assistant's side of the feedback. Weekly in the trial and monthly after
//! (`[schedule] checkin_trial`, `checkin_after_trial`), the assistant is asked how the work
//! goes (1-5), whether anything blocks them or they have open questions (yes/no, and what),
//! and what they would improve in the client's processes. A check-in is a survey of kind
//! `checkin` (same table, answers, reply paths, reminder and thanks as the client's), so this
//! module holds only what differs: the questions and how an answer is read ([`Reading`],
//! pure), and the flow ([`flow`]) that asks, thanks and alerts the operator.

pub mod flow;

use crate::domain::{Question, QuestionKind};
use crate::survey::answers::{Answer, Parsed, Value};

/// The keys of the check-in's questions, in their order.
pub const GOING: &str = "going";
pub const BLOCKED: &str = "blocked";
pub const BLOCKER: &str = "blocker";
pub const IDEAS: &str = "ideas";

/// The questions of a check-in about the work for `client_name`.
pub fn questions(client_name: &str) -> Vec<Question> {
    vec![
        Question::new(
            GOING,
            QuestionKind::Scale,
            &format!("Wie läuft die Arbeit für {client_name}? (1 = schlecht, 5 = sehr gut)"),
            &format!("How is your work for {client_name} going? (1 = badly, 5 = very well)"),
        ),
        Question::new(
            BLOCKED,
            QuestionKind::YesNo,
            "Blockiert Sie gerade etwas, oder haben Sie offene Fragen? (ja/nein)",
            "Is anything blocking you, or do you have open questions? (yes/no)",
        ),
        Question::new(
            BLOCKER,
            QuestionKind::Text,
            "Wenn ja: Was blockiert Sie, oder was möchten Sie fragen?",
            "If yes: what is blocking you, or what would you like to ask?",
        ),
        Question::new(
            IDEAS,
            QuestionKind::Text,
            &format!(
                "Was würden Sie an den Abläufen bei {client_name} verbessern? (Ihr Blick von außen)"
            ),
            &format!("What would you improve in {client_name}'s processes? (your outside view)"),
        ),
    ]
}

/// What a check-in's answers say, by key (whatever their numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reading {
    pub score: Option<i64>,
    pub blocked: Option<bool>,
    pub blocker: Option<String>,
    pub ideas: Option<String>,
}

impl Reading {
    /// Reads the answers given as (key, value).
    pub fn of<'a>(answers: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Self {
        let mut out = Self::default();
        for (key, value) in answers {
            match (key, value) {
                (GOING, Value::Scale(n)) => out.score = Some(*n),
                (BLOCKED, Value::YesNo(b)) => out.blocked = Some(*b),
                (BLOCKER, Value::Text(t)) if !t.trim().is_empty() => {
                    out.blocker = Some(t.trim().to_string())
                }
                (IDEAS, Value::Text(t)) if !t.trim().is_empty() => {
                    out.ideas = Some(t.trim().to_string())
                }
                _ => {}
            }
        }
        out
    }

    /// A blocker or open question: "yes" to the blocker question, or its text given without
    /// a "no".
    pub fn is_blocked(&self) -> bool {
        match self.blocked {
            Some(b) => b,
            None => self.blocker.is_some(),
        }
    }

    /// A score at or under the alert threshold (`[surveys] alert_threshold`, as the client's).
    pub fn is_low(&self, threshold: i64) -> bool {
        self.score.is_some_and(|s| s <= threshold)
    }
}

/// The most lines [`with_text_after_yes`] looks at, and the most characters it keeps.
const MAX_LINES: usize = 200;
const MAX_CHARS: usize = 2_000;

/// "2: ja, mir fehlt der Zugang zum CRM": the yes/no question answered with its text on the
/// same line. When the answers have a yes to the blocker question but no blocker text, the
/// text after the yes on question 2's numbered line (`2:`, `2)`, `2.`, `2 -`) becomes the
/// blocker's answer, and question 3 is no longer missing. One pass over the first
/// [`MAX_LINES`] lines of the new text.
pub fn with_text_after_yes(mut parsed: Parsed, new_text: &str) -> Parsed {
    let said_yes = parsed
        .answers
        .iter()
        .any(|a| a.key == BLOCKED && a.value == Value::YesNo(true));
    if !said_yes || parsed.answers.iter().any(|a| a.key == BLOCKER) {
        return parsed;
    }
    let Some(text) = new_text.lines().take(MAX_LINES).find_map(text_after_yes) else {
        return parsed;
    };
    let at = parsed
        .answers
        .iter()
        .position(|a| a.number > 3)
        .unwrap_or(parsed.answers.len());
    parsed.answers.insert(
        at,
        Answer {
            number: 3,
            key: BLOCKER.into(),
            value: Value::Text(text),
        },
    );
    parsed.missing.retain(|n| *n != 3);
    parsed.invalid.retain(|i| i.number != 3);
    parsed
}

/// The text after "yes" on a line that answers question 2 by number.
fn text_after_yes(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('2')?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix([':', ')', '.', '-', '–'])?.trim_start();
    if crate::survey::answers::yes_no(rest) != Some(true) {
        return None;
    }
    let (_, after) = rest.split_once([',', ';', ':', '-', '–', '.', '!'])?;
    let after = after.trim_matches(|c: char| c.is_whitespace() || c == '-' || c == '–');
    if after.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
        return None;
    }
    Some(after.chars().take(MAX_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(pairs: &[(&str, Value)]) -> Reading {
        Reading::of(pairs.iter().map(|(k, v)| (*k, v)))
    }

    #[test]
    fn a_yes_or_a_text_without_a_no_is_a_blocker() {
        assert!(reading(&[(BLOCKED, Value::YesNo(true))]).is_blocked());
        assert!(reading(&[(BLOCKER, Value::Text("CRM access".into()))]).is_blocked());
        assert!(
            !reading(&[
                (BLOCKED, Value::YesNo(false)),
                (BLOCKER, Value::Text("none".into()))
            ])
            .is_blocked()
        );
        assert!(!reading(&[(BLOCKER, Value::Text("  ".into()))]).is_blocked());
        assert!(!reading(&[]).is_blocked());
    }

    #[test]
    fn the_text_after_a_yes_is_the_blocker() {
        let q = questions("Acme");
        for (text, blocker) in [
            (
                "2: ja, mir fehlt der Zugang zum CRM",
                Some("mir fehlt der Zugang zum CRM"),
            ),
            (
                "2) yes - who approves travel?",
                Some("who approves travel?"),
            ),
            ("2: yes", None),
            ("2: yes!", None),
            ("2: no, all fine", None),
            (
                "2: ja, wer gibt Reisen frei?\n3: Das Budget",
                Some("Das Budget"),
            ),
        ] {
            let parsed = with_text_after_yes(crate::survey::answers::parse(text, &q), text);
            let got = parsed.answers.iter().find_map(|a| match &a.value {
                Value::Text(t) if a.key == BLOCKER => Some(t.as_str()),
                _ => None,
            });
            assert_eq!(got, blocker, "{text}");
            assert_eq!(parsed.missing.contains(&3), got.is_none(), "{text}");
        }
    }

    #[test]
    fn the_threshold_is_inclusive() {
        assert!(reading(&[(GOING, Value::Scale(2))]).is_low(2));
        assert!(!reading(&[(GOING, Value::Scale(3))]).is_low(2));
        assert!(!reading(&[]).is_low(2));
    }

    #[test]
    fn the_questions_name_the_client_and_take_the_right_kinds() {
        let q = questions("Acme GmbH");
        let kinds: Vec<_> = q.iter().map(|q| (q.key.as_str(), q.kind)).collect();
        assert_eq!(
            kinds,
            [
                (GOING, QuestionKind::Scale),
                (BLOCKED, QuestionKind::YesNo),
                (BLOCKER, QuestionKind::Text),
                (IDEAS, QuestionKind::Text)
            ]
        );
        assert!(q[3].en.contains("Acme GmbH's processes"));
    }
}
