//! The chart of the weekly digest: hours per engagement over the last weeks, drawn as a PNG for
//! the HTML part ([`png`]) and written as a table for the plain part ([`text`]).
//!
//! Pure: it takes the numbers and returns bytes or text, and does no I/O at run time. The font
//! (DejaVu Sans, `assets/fonts/`, with its license) is compiled into the binary and registered
//! with plotters once, so the chart draws the same on a machine with no fonts installed.
//!
//! Both outputs read the numbers the same way: each series is cut or padded with zeros to the
//! number of weeks, and negative minutes count as zero.

use std::sync::OnceLock;

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::domain::Locale;
use crate::format::hours_minutes;

/// Hours of one engagement, one value per week, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Series {
    pub label: String,
    pub minutes: Vec<i64>,
}

/// What the chart shows: the week labels ("KW 45"/"wk 45"), oldest first, and one series per
/// engagement (each with weeks.len() values).
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

/// Width and height of the PNG in pixels.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 320;

/// DejaVu Sans 2.37; the license is `assets/fonts/LICENSE`.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family every text style here (and plotters' defaults) asks for.
const FAMILY: &str = "sans-serif";

/// Paul Tol's "muted" scheme (nine colours chosen to stay apart for the common kinds of colour
/// blindness) and black. Series past the tenth take the colours again; their markers (circle,
/// triangle, square, cycling by three) keep the first thirty apart.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x33, 0x22, 0x88), // indigo
    RGBColor(0xCC, 0x66, 0x77), // rose
    RGBColor(0x11, 0x77, 0x33), // green
    RGBColor(0x88, 0xCC, 0xEE), // cyan
    RGBColor(0x88, 0x22, 0x55), // wine
    RGBColor(0x44, 0xAA, 0x99), // teal
    RGBColor(0x99, 0x99, 0x33), // olive
    RGBColor(0xAA, 0x44, 0x99), // purple
    RGBColor(0xDD, 0xCC, 0x77), // sand
    RGBColor(0x00, 0x00, 0x00), // black
];

/// The right-hand column that holds the legend.
const LEGEND_WIDTH: u32 = 170;
/// One legend entry's height in pixels.
const LEGEND_ROW: i32 = 18;
/// At most this many week labels under the x axis; more weeks show every n-th label.
const MAX_X_LABELS: usize = 10;
/// Labels in the text table are cut to this many characters.
const TEXT_LABEL_WIDTH: usize = 16;
/// Week labels in the text table are cut to this many characters.
const TEXT_WEEK_WIDTH: usize = 8;
/// The longest bar after a row of the text table.
const TEXT_BAR_WIDTH: i128 = 10;

/// The chart as a PNG, about 640x320 px: grouped bars or lines per engagement over the weeks,
/// y axis in hours, a legend with the labels, readable colours (a fixed palette of ~10 colours that
/// also works for colour-blind readers; more series than colours: cycle). `title` drawn on top.
/// An empty chart (no series, or all zero) still draws axes and the title.
///
/// Lines with markers rather than bars: eight weeks of ten engagements would be eighty bars a few
/// pixels wide, while ten lines stay readable and show the trend of each engagement.
pub fn png(chart: &Chart, title: &str, locale: Locale) -> Result<Vec<u8>, ChartError> {
    register_font()?;
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, chart, title, locale).map_err(|e| ChartError::Draw(e.to_string()))?;
        root.present()
            .map_err(|e| ChartError::Draw(e.to_string()))?;
    }
    // Adaptive filtering makes the PNG about 40% smaller than plotters' or image's defaults.
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Default, FilterType::Adaptive)
        .write_image(&rgb, WIDTH, HEIGHT, image::ColorType::Rgb8)
        .map_err(|e| ChartError::Draw(format!("encoding the PNG: {e}")))?;
    Ok(bytes)
}

/// The same numbers as plain text for the text part of the mail: a table, one row per series,
/// one column per week, hours and minutes (`10:15`, as every duration tandem shows),
/// right-aligned, a header row with the week labels, and a small bar of '#' after each row
/// showing its total relative to the largest total (max 10 characters). Lines at most ~100 characters for 8 weeks;
/// long labels are cut with "…". Deterministic (golden tests compare it).
///
/// A column "Summe"/"Total" before the bar gives each row's total. Every line ends with a
/// newline and none with a space.
pub fn text(chart: &Chart, locale: Locale) -> String {
    let weeks = chart.weeks.len();
    let header: Vec<String> = chart
        .weeks
        .iter()
        .map(|week| cut(week, TEXT_WEEK_WIDTH))
        .chain([words(locale).total.to_string()])
        .collect();
    let rows: Vec<(String, Vec<String>, i128)> = chart
        .series
        .iter()
        .map(|series| {
            let minutes: Vec<i64> = week_minutes(series, weeks).collect();
            let total: i128 = minutes.iter().map(|&m| i128::from(m)).sum();
            let cells = minutes
                .iter()
                .map(|&m| hours_minutes(m))
                .chain([hours_minutes(total)])
                .collect();
            (cut(&series.label, TEXT_LABEL_WIDTH), cells, total)
        })
        .collect();

    let label_width = rows
        .iter()
        .map(|(label, ..)| width(label))
        .max()
        .unwrap_or(0);
    let column_widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|(_, cells, _)| width(&cells[column]))
                .chain([width(&header[column])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let largest = rows.iter().map(|&(.., total)| total).max().unwrap_or(0);

    let line = |label: &str, cells: &[String], bar: usize| {
        let mut line = pad_right(label, label_width);
        for (cell, &column_width) in cells.iter().zip(&column_widths) {
            line.push_str("  ");
            line.push_str(&pad_left(cell, column_width));
        }
        if bar > 0 {
            line.push(' ');
            line.push_str(&"#".repeat(bar));
        }
        let mut line = line.trim_end().to_string();
        line.push('\n');
        line
    };

    let mut out = line("", &header, 0);
    if rows.is_empty() {
        out.push_str(words(locale).no_hours);
        out.push('\n');
    }
    for (label, cells, total) in &rows {
        out.push_str(&line(label, cells, bar_length(*total, largest)));
    }
    out
}

/// The words the chart and the table use.
struct Words {
    hours: &'static str,
    total: &'static str,
    no_hours: &'static str,
    more: &'static str,
}

fn words(locale: Locale) -> Words {
    match locale {
        Locale::De => Words {
            hours: "Stunden",
            total: "Summe",
            no_hours: "Keine Stunden in diesen Wochen.",
            more: "weitere",
        },
        Locale::En => Words {
            hours: "Hours",
            total: "Total",
            no_hours: "No hours in these weeks.",
            more: "more",
        },
    }
}

/// Registers the compiled-in font with plotters, once for the process.
fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if registered {
        Ok(())
    } else {
        Err(ChartError::Draw(
            "the compiled-in font could not be read".into(),
        ))
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    title: &str,
    locale: Locale,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let title_style = TextStyle::from((FAMILY, 16).into_font()).color(&BLACK);
    let title = fit(root, title, &title_style, WIDTH as i32 - 16)?;
    let body = root.titled(&title, title_style)?;
    let (plot, legend) = body.split_horizontally(WIDTH - LEGEND_WIDTH);

    // One slot per week; a chart without weeks still gets one, so the axes draw.
    let weeks = chart.weeks.len().max(1);
    let hours: Vec<Vec<f64>> = chart
        .series
        .iter()
        .map(|series| {
            week_minutes(series, chart.weeks.len())
                .map(|m| m as f64 / 60.0)
                .collect()
        })
        .collect();
    let highest = hours.iter().flatten().copied().fold(0.0, f64::max);
    let top = if highest > 0.0 { highest * 1.1 } else { 5.0 };

    // Week `i` sits at x = i. Plotters picks round ticks (every week, or every 2nd, 5th, ...
    // when there are more than ten); only a tick on a week gets that week's label.
    let mut area = ChartBuilder::on(&plot)
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5..weeks as f64 - 0.5, 0f64..top)?;

    let week_label = |x: &f64| {
        let week = x.round();
        if (x - week).abs() < 1e-6 && week >= 0.0 {
            chart
                .weeks
                .get(week as usize)
                .map(|week| cut(week, TEXT_WEEK_WIDTH))
        } else {
            None
        }
        .unwrap_or_default()
    };
    let hour_label = |hours: &f64| format_axis(*hours);
    area.configure_mesh()
        .disable_x_mesh()
        .x_labels(weeks.min(MAX_X_LABELS))
        .y_labels(6)
        .max_light_lines(0)
        .x_label_formatter(&week_label)
        .y_label_formatter(&hour_label)
        .y_desc(words(locale).hours)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 12))
        .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
        .draw()?;

    for (index, values) in hours.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(week, &h)| (week as f64, h))
            .collect();
        area.draw_series(LineSeries::new(
            points.iter().copied(),
            colour.stroke_width(2),
        ))?;
        for point in points {
            marker(area.plotting_area(), point, index, colour)?;
        }
    }

    draw_legend(&legend, chart, locale)
}

/// The legend: a short line with the series' marker and its label, one row each, as many rows as
/// fit; the rest are counted in a last row ("+ 3 more").
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    locale: Locale,
) -> DrawResult<DB> {
    let style = TextStyle::from((FAMILY, 12).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (_, height) = area.dim_in_pixel();
    let fits = ((height as i32 - LEGEND_ROW) / LEGEND_ROW).max(1) as usize;
    let count = chart.series.len();
    let shown = if count > fits { fits - 1 } else { count };
    let text_x = 32;
    for (index, series) in chart.series.iter().take(shown).enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let y = LEGEND_ROW + index as i32 * LEGEND_ROW;
        area.draw(&PathElement::new(
            vec![(4, y), (26, y)],
            colour.stroke_width(2),
        ))?;
        marker(area, (15, y), index, colour)?;
        let label = fit(
            area,
            &series.label,
            &style,
            LEGEND_WIDTH as i32 - text_x - 6,
        )?;
        area.draw(&Text::new(label, (text_x, y), &style))?;
    }
    if shown < count {
        let y = LEGEND_ROW + shown as i32 * LEGEND_ROW;
        let more = format!("+ {} {}", count - shown, words(locale).more);
        area.draw(&Text::new(more, (text_x, y), &style))?;
    }
    Ok(())
}

/// The marker of the series at `index`: a circle, a triangle or a square, in its colour.
fn marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    index: usize,
    colour: RGBColor,
) -> DrawResult<DB> {
    let style = colour.filled();
    match index % 3 {
        0 => area.draw(&(EmptyElement::at(at) + Circle::new((0, 0), 4, style))),
        1 => area.draw(&(EmptyElement::at(at) + TriangleMarker::new((0, 0), 5, style))),
        _ => area.draw(&(EmptyElement::at(at) + Rectangle::new([(-4, -4), (4, 4)], style))),
    }
}

/// `text` cut to at most `max_px` pixels wide in `style`, ending in "…" when cut.
fn fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max_px: i32,
) -> Result<String, DrawingAreaErrorKind<DB::ErrorType>> {
    let text = clean(text);
    // No label worth reading is longer than this; it keeps the measuring below short.
    let mut chars: Vec<char> = text.chars().take(80).collect();
    let mut cut = chars.len() < text.chars().count();
    loop {
        let mut candidate: String = chars.iter().collect();
        if cut {
            candidate.truncate(candidate.trim_end().len());
            candidate.push('…');
        }
        let (w, _) = area.estimate_text_size(&candidate, style)?;
        if w as i32 <= max_px || chars.is_empty() {
            return Ok(candidate);
        }
        chars.pop();
        cut = true;
    }
}

/// Minutes of a series for `weeks` weeks: cut or padded with zeros, negative minutes as zero.
fn week_minutes(series: &Series, weeks: usize) -> impl Iterator<Item = i64> + '_ {
    series
        .minutes
        .iter()
        .map(|&m| m.max(0))
        .chain(std::iter::repeat(0))
        .take(weeks)
}

/// A y-axis label in hours and minutes (`2:30`), rounded to the minute.
fn format_axis(hours: f64) -> String {
    let minutes = (hours * 60.0).round().max(0.0) as i128;
    hours_minutes(minutes)
}

/// The row's bar: its share of the largest total in at most 10 '#', at least one for any hours.
fn bar_length(total: i128, largest: i128) -> usize {
    if total <= 0 || largest <= 0 {
        return 0;
    }
    let length = (total * TEXT_BAR_WIDTH + largest / 2) / largest;
    length.clamp(1, TEXT_BAR_WIDTH) as usize
}

/// `text` on one line: control characters (tabs, newlines) become spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// `text` cleaned and cut to `max` characters, the last of them "…" when cut.
pub(super) fn cut(text: &str, max: usize) -> String {
    let text = clean(text);
    if text.chars().count() <= max {
        return text;
    }
    let mut kept: String = text.chars().take(max.saturating_sub(1)).collect();
    kept.truncate(kept.trim_end().len());
    kept.push('…');
    kept
}

/// How many columns `text` takes in the table (one per character).
fn width(text: &str) -> usize {
    text.chars().count()
}

fn pad_left(text: &str, width: usize) -> String {
    format!("{text:>width$}")
}

fn pad_right(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn series(label: &str, minutes: &[i64]) -> Series {
        Series {
            label: label.to_string(),
            minutes: minutes.to_vec(),
        }
    }

    fn weeks(prefix: &str, first: u32, count: u32) -> Vec<String> {
        (first..first + count)
            .map(|w| format!("{prefix} {w}"))
            .collect()
    }

    fn eight_weeks() -> Chart {
        Chart {
            weeks: weeks("KW", 45, 8),
            series: vec![
                series("Acme GmbH", &[600, 540, 0, 720, 615, 600, 480, 630]),
                series(
                    "Müller & Söhne Handelsgesellschaft",
                    &[90, 120, 45, 0, 60, 30, 120, 75],
                ),
                series("Zeta", &[0, 0, 0, 0, 0, 0, 0, 20]),
            ],
        }
    }

    fn decode(bytes: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .expect("the PNG decodes")
            .to_rgb8()
    }

    /// How many distinct colours the picture has: a drawn chart has many (text is antialiased).
    fn colours(picture: &image::RgbImage) -> usize {
        let mut seen: Vec<[u8; 3]> = picture.pixels().map(|p| p.0).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    #[test]
    fn png_is_a_png_of_the_promised_size_with_something_drawn() {
        let bytes = png(&eight_weeks(), "Stunden je Einsatz", Locale::De).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        let picture = decode(&bytes);
        assert_eq!(picture.dimensions(), (WIDTH, HEIGHT));
        assert!(colours(&picture) > 20, "only {} colours", colours(&picture));
        // Every series' colour appears, so its line was drawn.
        for colour in &PALETTE[..3] {
            let [r, g, b] = [colour.0, colour.1, colour.2];
            assert!(
                picture.pixels().any(|p| p.0 == [r, g, b]),
                "no pixel of {colour:?}"
            );
        }
    }

    #[test]
    fn png_is_the_same_for_the_same_input() {
        let chart = eight_weeks();
        let first = png(&chart, "Hours per engagement", Locale::En).unwrap();
        let second = png(&chart, "Hours per engagement", Locale::En).unwrap();
        assert!(first == second, "two renderings of one chart differ");
        let other = png(&chart, "Hours per engagement", Locale::De).unwrap();
        assert!(first != other, "the locale changes the axis");
    }

    #[test]
    fn an_empty_chart_still_draws_the_axes_and_the_title() {
        let no_series = Chart {
            weeks: weeks("wk", 45, 8),
            series: vec![],
        };
        let all_zero = Chart {
            weeks: weeks("wk", 45, 8),
            series: vec![series("Acme", &[0; 8])],
        };
        let nothing = Chart {
            weeks: vec![],
            series: vec![],
        };
        for chart in [no_series, all_zero, nothing] {
            let picture = decode(&png(&chart, "Hours per engagement", Locale::En).unwrap());
            assert_eq!(picture.dimensions(), (WIDTH, HEIGHT));
            // Title and axis labels are antialiased text: many shades of grey.
            assert!(
                colours(&picture) > 10,
                "{chart:?} drew {} colours",
                colours(&picture)
            );
            // The title's row (the top 24 pixels) is not blank.
            let title_row = (0..WIDTH).flat_map(|x| (0..24).map(move |y| (x, y)));
            let inked = title_row
                .filter(|&(x, y)| picture.get_pixel(x, y).0 != [255, 255, 255])
                .count();
            assert!(inked > 50, "{chart:?}: the title is missing");
        }
    }

    #[test]
    fn png_survives_odd_input() {
        let chart = Chart {
            weeks: weeks("KW", 1, 3),
            series: vec![
                series("too short", &[60]),
                series("too long", &[60, 120, 180, 240, 300, 360]),
                series("negative", &[-600, i64::MIN, 30]),
                series("huge", &[i64::MAX, i64::MAX, i64::MAX]),
                series("", &[]),
                series(&"x".repeat(10_000), &[1, 2, 3]),
                series("tab\tand\nnewline", &[5, 5, 5]),
            ],
        };
        png(&chart, &"a very long title ".repeat(50), Locale::De).unwrap();
        let many = Chart {
            weeks: weeks("KW", 1, 60),
            series: (0..40)
                .map(|i| series(&format!("E{i}"), &[i * 60; 60]))
                .collect(),
        };
        let picture = decode(&png(&many, "", Locale::En).unwrap());
        assert_eq!(picture.dimensions(), (WIDTH, HEIGHT));
    }

    #[test]
    fn text_in_german() {
        let expected = "\
\u{20}                KW 45  KW 46  KW 47  KW 48  KW 49  KW 50  KW 51  KW 52  Summe
Acme GmbH        10:00   9:00   0:00  12:00  10:15  10:00   8:00  10:30  69:45 ##########
Müller & Söhne…   1:30   2:00   0:45   0:00   1:00   0:30   2:00   1:15   9:00 #
Zeta              0:00   0:00   0:00   0:00   0:00   0:00   0:00   0:20   0:20 #
";
        assert_eq!(text(&eight_weeks(), Locale::De), expected);
    }

    #[test]
    fn text_in_english() {
        let mut chart = eight_weeks();
        chart.weeks = weeks("wk", 45, 8);
        let table = text(&chart, Locale::En);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "                 wk 45  wk 46  wk 47  wk 48  wk 49  wk 50  wk 51  wk 52  Total"
        );
        assert_eq!(
            lines[1],
            "Acme GmbH        10:00   9:00   0:00  12:00  10:15  10:00   8:00  10:30  69:45 ##########"
        );
        assert!(
            lines[2].starts_with("Müller & Söhne…   1:30   2:00"),
            "{}",
            lines[2]
        );
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn text_lines_stay_short_for_eight_weeks() {
        let mut chart = eight_weeks();
        chart
            .series
            .push(series(&"Very long engagement name ".repeat(5), &[6000; 8]));
        for locale in Locale::ALL {
            for line in text(&chart, locale).lines() {
                assert!(line.chars().count() <= 100, "{line:?}");
                assert_eq!(line, line.trim_end());
            }
        }
    }

    #[test]
    fn text_of_an_empty_chart_says_so() {
        let chart = Chart {
            weeks: weeks("KW", 45, 2),
            series: vec![],
        };
        assert_eq!(
            text(&chart, Locale::De),
            "  KW 45  KW 46  Summe\nKeine Stunden in diesen Wochen.\n"
        );
    }

    #[test]
    fn text_reads_the_numbers_as_png_does() {
        let chart = Chart {
            weeks: weeks("wk", 1, 3),
            series: vec![series("short", &[60]), series("odd", &[-60, 90, 120, 9999])],
        };
        assert_eq!(
            text(&chart, Locale::En),
            "\
\u{20}      wk 1  wk 2  wk 3  Total
short  1:00  0:00  0:00   1:00 ###
odd    0:00  1:30  2:00   3:30 ##########
"
        );
    }

    #[test]
    fn cut_and_bar() {
        assert_eq!(cut("short", 16), "short");
        assert_eq!(cut("exactly sixteen!", 16), "exactly sixteen!");
        assert_eq!(cut("a label that is too long", 16), "a label that is…");
        assert_eq!(cut("line\nbreak", 16), "line break");
        assert_eq!(bar_length(0, 100), 0);
        assert_eq!(bar_length(1, 1_000_000), 1);
        assert_eq!(bar_length(100, 100), 10);
        assert_eq!(bar_length(50, 100), 5);
        assert_eq!(format_axis(2.5), "2:30");
        assert_eq!(format_axis(-0.0001), "0:00");
    }

    fn arbitrary_chart() -> impl Strategy<Value = Chart> {
        let minutes = prop_oneof![
            8 => 0i64..3000,
            1 => any::<i64>(),
            1 => Just(0i64),
        ];
        let series = ("\\PC{0,40}", proptest::collection::vec(minutes, 0..12))
            .prop_map(|(label, minutes)| Series { label, minutes });
        (
            proptest::collection::vec("\\PC{0,12}", 0..12),
            proptest::collection::vec(series, 0..14),
        )
            .prop_map(|(weeks, series)| Chart { weeks, series })
    }

    proptest! {
        // Each case draws a PNG (a few tens of milliseconds in a debug build).
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn neither_panics_on_any_chart(chart in arbitrary_chart(), title in "\\PC{0,60}") {
            for locale in Locale::ALL {
                let table = text(&chart, locale);
                prop_assert_eq!(table.lines().count(), 1 + chart.series.len().max(1));
                let bytes = png(&chart, &title, locale).unwrap();
                prop_assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
            }
        }
    }
}
