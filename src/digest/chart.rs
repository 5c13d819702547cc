//! STUB: the chart (replaced by the real module).
#![allow(dead_code, unused_variables)]
use crate::domain::Locale;
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Series {
    pub label: String,
    pub minutes: Vec<i64>,
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chart {
    pub weeks: Vec<String>,
    pub series: Vec<Series>,
}
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("could not draw the chart: {0}")]
    Draw(String),
}
pub fn png(chart: &Chart, title: &str, locale: Locale) -> Result<Vec<u8>, ChartError> {
    Ok(b"\x89PNG\r\n\x1a\n".to_vec())
}
pub fn text(chart: &Chart, locale: Locale) -> String {
    format!("{chart:?}")
}
