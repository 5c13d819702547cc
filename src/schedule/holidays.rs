//! Public holidays of the agency's region (`[schedule] holidays = "DE-BY"`): the send window
//! skips them. Germany (nationwide, or one of its 16 states by ISO 3166-2 code), Austria and
//! Switzerland (the holidays of most cantons). Each holiday is a row of [`HOLIDAYS`]: a fixed
//! day, a day counted from Easter Sunday (the Gregorian computus), or Saxony's Day of Repentance
//! (the Wednesday before 23 November), with the regions that keep it.
//!
//! Left out, as they are not kept region-wide: Assumption Day in Bavaria (only in mainly
//! Catholic municipalities), Corpus Christi in parts of Saxony and Thuringia, and the
//! holidays of single Swiss cantons.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Where the holidays are those of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Germany: the nationwide holidays only.
    De,
    /// A German state, by its ISO 3166-2 code after `DE-`.
    DeState(State),
    At,
    Ch,
}

/// The German states, by their ISO 3166-2 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Bw,
    By,
    Be,
    Bb,
    Hb,
    Hh,
    He,
    Mv,
    Ni,
    Nw,
    Rp,
    Sl,
    Sn,
    St,
    Sh,
    Th,
}

const STATES: [(&str, State); 16] = [
    ("BW", State::Bw),
    ("BY", State::By),
    ("BE", State::Be),
    ("BB", State::Bb),
    ("HB", State::Hb),
    ("HH", State::Hh),
    ("HE", State::He),
    ("MV", State::Mv),
    ("NI", State::Ni),
    ("NW", State::Nw),
    ("RP", State::Rp),
    ("SL", State::Sl),
    ("SN", State::Sn),
    ("ST", State::St),
    ("SH", State::Sh),
    ("TH", State::Th),
];

impl FromStr for Region {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let code = input.trim().to_uppercase();
        match code.as_str() {
            "DE" => return Ok(Region::De),
            "AT" => return Ok(Region::At),
            "CH" => return Ok(Region::Ch),
            _ => {}
        }
        code.strip_prefix("DE-")
            .and_then(|state| STATES.iter().find(|(c, _)| *c == state))
            .map(|(_, state)| Region::DeState(*state))
            .ok_or_else(|| {
                format!(
                    "holidays '{input}' is not a region: DE, a German state (DE-BW, DE-BY, DE-BE, \
                     DE-BB, DE-HB, DE-HH, DE-HE, DE-MV, DE-NI, DE-NW, DE-RP, DE-SL, DE-SN, \
                     DE-ST, DE-SH, DE-TH), AT or CH"
                )
            })
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::De => f.write_str("DE"),
            Region::At => f.write_str("AT"),
            Region::Ch => f.write_str("CH"),
            Region::DeState(state) => {
                let code = STATES
                    .iter()
                    .find(|(_, s)| s == state)
                    .map_or("?", |(c, _)| c);
                write!(f, "DE-{code}")
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// When a holiday falls.
#[derive(Debug, Clone, Copy)]
enum Day {
    Fixed(u32, u32),
    /// Days after Easter Sunday (negative: before).
    Easter(i64),
    /// The Wednesday before 23 November.
    Repentance,
}

/// Who keeps a holiday.
#[derive(Debug, Clone, Copy)]
enum Kept {
    /// All of Germany, Austria and Switzerland.
    Everywhere,
    /// All of Germany, and these.
    Germany(&'static [Region]),
    /// Only these.
    Only(&'static [Region]),
}

use Region::{At, Ch};
use State::*;

const fn s(state: State) -> Region {
    Region::DeState(state)
}

/// Every holiday: its German and English name, its day, who keeps it.
const HOLIDAYS: &[(&str, &str, Day, Kept)] = &[
    (
        "Neujahr",
        "New Year's Day",
        Day::Fixed(1, 1),
        Kept::Everywhere,
    ),
    (
        "Heilige Drei Könige",
        "Epiphany",
        Day::Fixed(1, 6),
        Kept::Only(&[s(Bw), s(By), s(St), At]),
    ),
    (
        "Internationaler Frauentag",
        "International Women's Day",
        Day::Fixed(3, 8),
        Kept::Only(&[s(Be), s(Mv)]),
    ),
    (
        "Karfreitag",
        "Good Friday",
        Day::Easter(-2),
        Kept::Germany(&[Ch]),
    ),
    (
        "Ostermontag",
        "Easter Monday",
        Day::Easter(1),
        Kept::Everywhere,
    ),
    (
        "Tag der Arbeit",
        "Labour Day",
        Day::Fixed(5, 1),
        Kept::Germany(&[At]),
    ),
    (
        "Christi Himmelfahrt",
        "Ascension Day",
        Day::Easter(39),
        Kept::Everywhere,
    ),
    (
        "Pfingstmontag",
        "Whit Monday",
        Day::Easter(50),
        Kept::Everywhere,
    ),
    (
        "Fronleichnam",
        "Corpus Christi",
        Day::Easter(60),
        Kept::Only(&[s(Bw), s(By), s(He), s(Nw), s(Rp), s(Sl), At]),
    ),
    (
        "Bundesfeier",
        "Swiss National Day",
        Day::Fixed(8, 1),
        Kept::Only(&[Ch]),
    ),
    (
        "Mariä Himmelfahrt",
        "Assumption Day",
        Day::Fixed(8, 15),
        Kept::Only(&[s(Sl), At]),
    ),
    (
        "Weltkindertag",
        "World Children's Day",
        Day::Fixed(9, 20),
        Kept::Only(&[s(Th)]),
    ),
    (
        "Tag der Deutschen Einheit",
        "German Unity Day",
        Day::Fixed(10, 3),
        Kept::Germany(&[]),
    ),
    (
        "Nationalfeiertag",
        "Austrian National Day",
        Day::Fixed(10, 26),
        Kept::Only(&[At]),
    ),
    (
        "Reformationstag",
        "Reformation Day",
        Day::Fixed(10, 31),
        Kept::Only(&[
            s(Bb),
            s(Hb),
            s(Hh),
            s(Mv),
            s(Ni),
            s(Sn),
            s(St),
            s(Sh),
            s(Th),
        ]),
    ),
    (
        "Allerheiligen",
        "All Saints' Day",
        Day::Fixed(11, 1),
        Kept::Only(&[s(Bw), s(By), s(Nw), s(Rp), s(Sl), At]),
    ),
    (
        "Buß- und Bettag",
        "Day of Repentance and Prayer",
        Day::Repentance,
        Kept::Only(&[s(Sn)]),
    ),
    (
        "Mariä Empfängnis",
        "Immaculate Conception",
        Day::Fixed(12, 8),
        Kept::Only(&[At]),
    ),
    (
        "1. Weihnachtstag",
        "Christmas Day",
        Day::Fixed(12, 25),
        Kept::Everywhere,
    ),
    (
        "2. Weihnachtstag",
        "St Stephen's Day",
        Day::Fixed(12, 26),
        Kept::Everywhere,
    ),
];

/// Easter Sunday of `year` (the anonymous Gregorian algorithm); `None` outside chrono's range.
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

fn date_of(day: Day, year: i32) -> Option<NaiveDate> {
    match day {
        Day::Fixed(month, d) => NaiveDate::from_ymd_opt(year, month, d),
        Day::Easter(offset) => easter(year)?.checked_add_signed(Duration::days(offset)),
        Day::Repentance => {
            let mut d = NaiveDate::from_ymd_opt(year, 11, 22)?;
            while d.weekday() != Weekday::Wed {
                d = d.pred_opt()?;
            }
            Some(d)
        }
    }
}

impl Region {
    fn keeps(self, kept: Kept) -> bool {
        let german = matches!(self, Region::De | Region::DeState(_));
        match kept {
            Kept::Everywhere => true,
            Kept::Germany(also) => german || also.contains(&self),
            Kept::Only(these) => these.contains(&self),
        }
    }

    /// The holiday on `date` here, by its German and English name; `None` on a working day.
    pub fn holiday(self, date: NaiveDate) -> Option<(&'static str, &'static str)> {
        HOLIDAYS
            .iter()
            .filter(|(.., kept)| self.keeps(*kept))
            .find(|(_, _, day, _)| date_of(*day, date.year()) == Some(date))
            .map(|(de, en, ..)| (*de, *en))
    }

    /// Every holiday of `year` here, in date order.
    pub fn holidays(self, year: i32) -> Vec<(NaiveDate, &'static str)> {
        let mut all: Vec<(NaiveDate, &'static str)> = HOLIDAYS
            .iter()
            .filter(|(.., kept)| self.keeps(*kept))
            .filter_map(|(de, _, day, _)| Some((date_of(*day, year)?, *de)))
            .collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_sundays_2026_to_2030() {
        let known = [
            ymd(2026, 4, 5),
            ymd(2027, 3, 28),
            ymd(2028, 4, 16),
            ymd(2029, 4, 1),
            ymd(2030, 4, 21),
        ];
        for day in known {
            assert_eq!(easter(day.year()), Some(day));
        }
        // Far dates of the algorithm's own tables.
        assert_eq!(easter(2000), Some(ymd(2000, 4, 23)));
        assert_eq!(easter(2038), Some(ymd(2038, 4, 25)));
    }

    #[test]
    fn bavaria_2026() {
        let by: Region = "DE-BY".parse().unwrap();
        let days: Vec<NaiveDate> = by.holidays(2026).into_iter().map(|(d, _)| d).collect();
        assert_eq!(
            days,
            [
                ymd(2026, 1, 1),
                ymd(2026, 1, 6),
                ymd(2026, 4, 3),
                ymd(2026, 4, 6),
                ymd(2026, 5, 1),
                ymd(2026, 5, 14),
                ymd(2026, 5, 25),
                ymd(2026, 6, 4),
                ymd(2026, 10, 3),
                ymd(2026, 11, 1),
                ymd(2026, 12, 25),
                ymd(2026, 12, 26),
            ]
        );
    }

    #[test]
    fn each_region_2026_to_2030() {
        // Nationwide German holidays, each year: 9.
        for year in 2026..=2030 {
            assert_eq!(Region::De.holidays(year).len(), 9, "{year}");
        }
        // Saxony's Day of Repentance.
        let sn: Region = "de-sn".parse().unwrap();
        for (year, day) in [(2026, 18), (2027, 17), (2028, 22), (2029, 21), (2030, 20)] {
            assert_eq!(
                sn.holiday(ymd(year, 11, day)),
                Some(("Buß- und Bettag", "Day of Repentance and Prayer"))
            );
        }
        // Corpus Christi in 2027 (Easter 28 March + 60), in Austria and Hesse, not in Berlin.
        let corpus = ymd(2027, 5, 27);
        assert!(Region::At.holiday(corpus).is_some());
        assert!("DE-HE".parse::<Region>().unwrap().holiday(corpus).is_some());
        assert!("DE-BE".parse::<Region>().unwrap().holiday(corpus).is_none());
        // Women's Day in Berlin only; Reformation Day in the north and east.
        assert!(
            "DE-BE"
                .parse::<Region>()
                .unwrap()
                .holiday(ymd(2028, 3, 8))
                .is_some()
        );
        assert!(Region::De.holiday(ymd(2028, 3, 8)).is_none());
        assert!(
            "DE-HH"
                .parse::<Region>()
                .unwrap()
                .holiday(ymd(2029, 10, 31))
                .is_some()
        );
        // Switzerland: 1 August, Good Friday; not 1 May nor 3 October.
        assert!(Region::Ch.holiday(ymd(2030, 8, 1)).is_some());
        assert!(Region::Ch.holiday(ymd(2030, 4, 19)).is_some());
        assert!(Region::Ch.holiday(ymd(2030, 5, 1)).is_none());
        assert!(Region::Ch.holiday(ymd(2030, 10, 3)).is_none());
        // Austria: 8 December and 26 October; not Good Friday.
        assert!(Region::At.holiday(ymd(2029, 12, 8)).is_some());
        assert!(Region::At.holiday(ymd(2029, 10, 26)).is_some());
        assert!(Region::At.holiday(ymd(2029, 3, 30)).is_none());
        // A working day.
        assert!(Region::De.holiday(ymd(2026, 12, 2)).is_none());
    }

    #[test]
    fn regions_parse_and_print() {
        for code in ["DE", "AT", "CH", "DE-BW", "DE-TH", "DE-NW"] {
            assert_eq!(code.parse::<Region>().unwrap().to_string(), code);
        }
        let err = "DE-XX".parse::<Region>().unwrap_err();
        assert!(err.contains("is not a region"), "{err}");
    }
}
