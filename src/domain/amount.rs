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

/// The agency's currency, an ISO 4217 code (`EUR`, `CHF`, `USD`): three capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    /// `eur` or `EUR`; anything but three letters is refused.
    pub fn parse(code: &str) -> Result<Self, ParseError> {
        let code = code.trim().to_ascii_uppercase();
        match <[u8; 3]>::try_from(code.as_bytes()) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Currency(bytes)),
            _ => Err(ParseError::new(format!(
                "'{code}' is not a currency code: give the three letters of ISO 4217, such as \
                 EUR, CHF or USD"
            ))),
        }
    }

    pub fn code(&self) -> &str {
        // Three ASCII capitals, by construction.
        std::str::from_utf8(&self.0).unwrap_or("EUR")
    }

    /// The sign written with an amount, where one is usual; else the code.
    pub fn symbol(&self) -> &str {
        match &self.0 {
            b"EUR" => "€",
            b"USD" => "$",
            b"GBP" => "£",
            b"JPY" => "¥",
            _ => self.code(),
        }
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::EUR
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Currency::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod currency_tests {
    use super::Currency;

    #[test]
    fn codes_are_three_letters() {
        assert_eq!(Currency::parse("chf").unwrap().code(), "CHF");
        assert_eq!(Currency::parse("EUR").unwrap().symbol(), "€");
        assert_eq!(Currency::parse("CHF").unwrap().symbol(), "CHF");
        for bad in ["", "EU", "EURO", "€", "E1R", "ÄUR"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
