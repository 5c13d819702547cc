//! Amounts as people write them: money and hours with up to two decimals.

use super::ParseError;

/// `45`, `45.5`, `45,50` -> hundredths. Used for money (cents) and for hours (hundredths).
pub fn parse_hundredths(value: &str, what: &str) -> Result<i64, ParseError> {
    let bad = || {
        ParseError::new(format!(
            "{what} '{value}' is not a number such as 45 or 45.50"
        ))
    };
    let text = value.trim().replace(',', ".");
    if text.starts_with('-') {
        return Err(ParseError::new(format!(
            "{what} '{value}' is negative: give 0 or more, such as 45 or 45.50"
        )));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 2 {
        return Err(bad());
    }
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(bad)
}
