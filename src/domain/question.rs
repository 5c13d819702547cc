//! The questionnaire's questions: what each asks, in German and English, and what kind of
//! answer it takes. Read from `[surveys]` of the config; the shipped one is
//! [`default_questions`].

use serde::{Deserialize, Serialize};

use super::Locale;

/// What kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// An integer in `min..=max` (the shipped ones are 1-5).
    Scale,
    /// yes/no, ja/nein, y/n.
    YesNo,
    /// Free text.
    Text,
}

/// One question of the questionnaire, numbered by its position (1-based) in mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// A stable name (`satisfaction`): how answers are stored and shown.
    pub key: String,
    pub kind: QuestionKind,
    /// The range of a `scale` question.
    #[serde(default = "default_min")]
    pub min: i64,
    #[serde(default = "default_max")]
    pub max: i64,
    /// The question in German and in English, as the mail asks it.
    pub de: String,
    pub en: String,
    /// For a `yes_no` question: a "no" alerts the operator at once, as a low score does (the
    /// shipped `continue`: should the collaboration go on as it is). Stored with each survey
    /// sent, so a survey answers to the questionnaire it asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alert_on_no: bool,
}

fn default_min() -> i64 {
    1
}
fn default_max() -> i64 {
    5
}

impl Question {
    pub fn text(&self, locale: Locale) -> &str {
        match locale {
            Locale::De => &self.de,
            Locale::En => &self.en,
        }
    }

    /// A question of any kind with the shipped range, for tests and samples.
    pub fn new(key: &str, kind: QuestionKind, de: &str, en: &str) -> Self {
        Self {
            key: key.into(),
            kind,
            min: default_min(),
            max: default_max(),
            de: de.into(),
            en: en.into(),
            alert_on_no: false,
        }
    }
}

/// The questionnaire PRODUCT.md ships: satisfaction, communication, continue, comments.
pub fn default_questions() -> Vec<Question> {
    vec![
        Question::new(
            "satisfaction",
            QuestionKind::Scale,
            "Wie zufrieden sind Sie insgesamt mit der Arbeit Ihrer Assistenz? (1 = gar nicht, 5 = sehr)",
            "Overall, how satisfied are you with your assistant's work? (1 = not at all, 5 = very)",
        ),
        Question::new(
            "communication",
            QuestionKind::Scale,
            "Wie gut klappt die Kommunikation? (1 = schlecht, 5 = sehr gut)",
            "How well is communication working? (1 = poorly, 5 = very well)",
        ),
        Question {
            alert_on_no: true,
            ..Question::new(
                "continue",
                QuestionKind::YesNo,
                "Soll die Zusammenarbeit so weitergehen wie bisher? (ja/nein)",
                "Should the collaboration go on as it is? (yes/no)",
            )
        },
        Question::new(
            "comments",
            QuestionKind::Text,
            "Möchten Sie uns noch etwas mitteilen?",
            "Anything else you would like to tell us?",
        ),
    ]
}
