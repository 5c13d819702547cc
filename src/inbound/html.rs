//! HTML-only mail turned into the text a person sees: block elements end lines, list items
//! become `- ` bullets (so a date line with a list under it reads as one), quoted blocks
//! (`<blockquote>`) get `> ` markers (so the reply extractor drops them), and entities are
//! decoded. Pure.
//!
//! The sender chooses every byte, so the work is bounded ([`HtmlLimits`]): one pass over the
//! input, quotes at most [`MAX_QUOTE_DEPTH`] deep, at most [`MAX_TEXT_BYTES`] of text.

/// Elements after which a line ends.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "table",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "dd",
    "dt",
];

/// Elements whose content is never shown.
const HIDDEN: &[&str] = &["head", "style", "script", "title", "template"];

/// The deepest `<blockquote>` nesting that gets its own `> ` marker; deeper quotes are written at
/// this depth. Mail clients nest one level per reply, so real threads stay well below it.
pub const MAX_QUOTE_DEPTH: usize = 8;

/// The most text [`html_to_text`] writes by default, in bytes; what would follow is dropped.
/// Far more than anyone types into a reply, and it bounds the memory one message can take.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// How far [`html_to_text`] goes, so that a stranger's HTML cannot make it allocate or work
/// more than in proportion to its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtmlLimits {
    /// Quotes nested deeper than this are written at this depth ([`MAX_QUOTE_DEPTH`]).
    pub max_depth: usize,
    /// The longest text returned, in bytes ([`MAX_TEXT_BYTES`]); cut at a character boundary.
    pub max_output_bytes: usize,
}

impl Default for HtmlLimits {
    fn default() -> Self {
        Self {
            max_depth: MAX_QUOTE_DEPTH,
            max_output_bytes: MAX_TEXT_BYTES,
        }
    }
}

/// The text of `html`: one line per block, `> ` per quote level (at most `limits.max_depth`),
/// at most one blank line in a row and none at the ends, at most `limits.max_output_bytes`
/// long. One pass over the input: linear in its length, however deep or many the tags.
pub fn html_to_text(html: &str, limits: &HtmlLimits) -> String {
    html_to_text_cut(html, limits).0
}

/// [`html_to_text`], and whether the text reached `limits.max_output_bytes` and was cut there;
/// then the line the cut fell in is left out whole (a cut `12h` must not read as `1`).
pub fn html_to_text_cut(html: &str, limits: &HtmlLimits) -> (String, bool) {
    let mut text = Text::new(html.len() / 2, limits);
    // The line being read, and whether it holds anything but whitespace.
    let mut line = String::new();
    let mut line_has_text = false;
    // How deep the `<blockquote>`s are nested where the reading is; written at most
    // `limits.max_depth` deep.
    let mut quote_depth = 0usize;
    let mut hidden: Option<String> = None;
    let mut rest = html;

    let push = |line: &mut String, has_text: &mut bool, s: &str| {
        *has_text = *has_text || s.contains(|c: char| !c.is_whitespace());
        line.push_str(s);
    };

    while !rest.is_empty() && !text.full {
        let Some(open) = rest.find('<') else {
            if hidden.is_none() {
                push(&mut line, &mut line_has_text, &decode_entities(rest));
            }
            break;
        };
        if hidden.is_none() {
            push(
                &mut line,
                &mut line_has_text,
                &decode_entities(&rest[..open]),
            );
        }
        rest = &rest[open..];
        // A '<' that starts no tag ("a < b") is text, as browsers read it.
        if !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') {
            if hidden.is_none() {
                push(&mut line, &mut line_has_text, "<");
            }
            rest = &rest[1..];
            continue;
        }
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(h) = &hidden {
            if closing && *h == name {
                hidden = None;
            }
            continue;
        }
        if HIDDEN.contains(&name.as_str()) && !closing && !tag.ends_with('/') {
            hidden = Some(name);
            continue;
        }
        // A table's cells stand apart on their row's line: `<td>23.11.</td><td>2,5</td>` reads
        // `23.11. 2,5`, as a person sees it (a time log pasted from a spreadsheet).
        if matches!(name.as_str(), "td" | "th") {
            if line_has_text && !closing {
                push(&mut line, &mut line_has_text, " ");
            }
            continue;
        }
        if !BLOCKS.contains(&name.as_str()) {
            continue;
        }
        if line_has_text || name == "br" {
            text.line(&line, quote_depth);
            line.clear();
            line_has_text = false;
        }
        match (name.as_str(), closing) {
            ("blockquote", false) => quote_depth += 1,
            ("blockquote", true) => quote_depth = quote_depth.saturating_sub(1),
            ("li", false) => push(&mut line, &mut line_has_text, "- "),
            _ => {}
        }
    }
    if line_has_text {
        text.line(&line, quote_depth);
    }
    text.finish()
}

/// The text being written, a line at a time: blank lines (empty, or only `>` and spaces) are
/// collapsed to one and left out at the start, and nothing goes past the byte limit.
struct Text {
    out: String,
    /// Whether a blank line is due before the next line with text.
    blank: bool,
    max_depth: usize,
    max_bytes: usize,
    /// Set when the limit was reached: nothing more is written, and reading can stop.
    full: bool,
    /// The limit fell inside a line, not at its end: that line is left out.
    in_line: bool,
}

impl Text {
    fn new(capacity: usize, limits: &HtmlLimits) -> Self {
        Self {
            out: String::with_capacity(capacity.min(limits.max_output_bytes)),
            blank: false,
            max_depth: limits.max_depth,
            max_bytes: limits.max_output_bytes,
            full: false,
            in_line: false,
        }
    }

    /// Ends a line: its words joined by single spaces, after `> ` per quote level.
    fn line(&mut self, line: &str, depth: usize) {
        let mut words = line.split_whitespace().peekable();
        // A line of only `>` and whitespace reads as a blank one.
        if line
            .split_whitespace()
            .all(|w| w.bytes().all(|b| b == b'>'))
        {
            self.blank = !self.out.is_empty();
            return;
        }
        if std::mem::take(&mut self.blank) {
            self.write("\n");
        }
        for _ in 0..depth.min(self.max_depth) {
            if self.full {
                return;
            }
            self.write("> ");
        }
        while let Some(word) = words.next() {
            self.write(word);
            if words.peek().is_some() {
                self.write(" ");
            }
        }
        self.write("\n");
    }

    /// Appends `s`, or as much of it as fits (to a character boundary).
    fn write(&mut self, s: &str) {
        if self.full {
            return;
        }
        let room = self.max_bytes - self.out.len();
        if s.len() <= room {
            self.out.push_str(s);
            return;
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.out.push_str(&s[..end]);
        self.full = true;
        self.in_line = s != "\n";
    }

    /// The text, and whether it was cut: then without the line the cut fell in, if it fell in
    /// one.
    fn finish(self) -> (String, bool) {
        let mut out = self.out;
        if self.in_line {
            to_whole_lines(&mut out);
        }
        let end = out.trim_end().len();
        out.truncate(end);
        (out, self.full)
    }
}

/// `text` without what follows its last line end: a text cut at a limit loses the line the
/// cut fell in, whose end was not read (a cut `12h` must not read as `1`).
pub(super) fn to_whole_lines(text: &mut String) {
    text.truncate(text.rfind('\n').map_or(0, |at| at + 1));
}

/// How far after its `&` an entity's `;` may stand: names of up to 9 bytes (`&#1114111;`,
/// `&hellip;`); anything longer is text.
const MAX_ENTITY_CHARS: usize = 10;

/// `&amp;`, `&nbsp;`, `&#228;`, `&#xE4;` and the named entities German and English mail uses.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // An entity's name is short: look at most that far for its end, not on to the next
        // `;` however far away it is.
        let end = rest[1..]
            .char_indices()
            .take(MAX_ENTITY_CHARS)
            .find(|&(_, c)| c == ';' || c == '&' || c.is_whitespace())
            .map(|(i, _)| i + 1);
        let decoded = end
            .filter(|&e| rest[e..].starts_with(';') && e <= MAX_ENTITY_CHARS)
            .and_then(|e| entity(&rest[1..e]).map(|c| (c, e + 1)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).map(|c| if c == '\u{a0}' { ' ' } else { c });
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "euro" => '€',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "bdquo" => '„',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "middot" => '·',
        "bull" => '•',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "copy" => '©',
        "frac12" => '½',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the default limits, which the tests before the limits were written against.
    fn html_to_text(html: &str) -> String {
        super::html_to_text(html, &HtmlLimits::default())
    }

    #[test]
    fn blocks_lists_quotes_and_entities() {
        let html = "<html><head><style>p{color:red}</style></head><body>\
            <div>Hallo,</div><div><br></div><div>Montag, 23.11.</div>\
            <ul><li>1,5&nbsp;Std <b>#acme</b> Posteingang</li><li>30 min Telefonate</li></ul>\
            <p>Gr&uuml;&szlig;e &amp; Dank<br>Lena</p>\
            <div class=\"gmail_quote\">Am 23.11.2026 schrieb Anna:<blockquote>alt<br>\
            <blockquote>&auml;lter</blockquote></blockquote></div><!-- <p>hidden</p> --></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hallo,\n\nMontag, 23.11.\n- 1,5 Std #acme Posteingang\n- 30 min Telefonate\n\
             Grüße & Dank\nLena\nAm 23.11.2026 schrieb Anna:\n> alt\n> > älter"
        );
    }

    #[test]
    fn a_tables_cells_stand_apart_on_its_rows_lines() {
        let html = "<table><tr><th>Datum</th><th>Stunden</th><th>T&auml;tigkeit</th></tr>\
            <tr><td>23.11.2026</td><td>2,5</td><td><b>Buchhaltung</b></td></tr>\
            <tr>\n<td>24.11.2026</td>\n<td>1:30</td>\n<td></td><td>Telefonate</td></tr></table>";
        assert_eq!(
            html_to_text(html),
            "Datum Stunden Tätigkeit\n23.11.2026 2,5 Buchhaltung\n24.11.2026 1:30 Telefonate"
        );
    }

    #[test]
    fn odd_input_does_not_break_it() {
        assert_eq!(html_to_text(""), "");
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(html_to_text("<p>unclosed <b"), "unclosed");
        assert_eq!(
            decode_entities("&#x1F600; &bogus; &#999999999; & done"),
            "😀 &bogus; &#999999999; & done"
        );
    }

    #[test]
    fn quotes_deeper_than_the_cap_are_written_at_the_cap() {
        let limits = HtmlLimits::default();
        let html = format!(
            "{}deep{}shallower",
            "<blockquote>".repeat(MAX_QUOTE_DEPTH + 12),
            "</blockquote>".repeat(MAX_QUOTE_DEPTH + 12 - 2),
        );
        let cap = "> ".repeat(MAX_QUOTE_DEPTH);
        assert_eq!(
            super::html_to_text(&html, &limits),
            format!("{cap}deep\n> > shallower")
        );
        let at_cap = format!("{}x", "<blockquote>".repeat(MAX_QUOTE_DEPTH));
        assert_eq!(html_to_text(&at_cap), format!("{cap}x"));
        let shallow = HtmlLimits {
            max_depth: 1,
            ..limits
        };
        assert_eq!(super::html_to_text(&html, &shallow), "> deep\n> shallower");
    }

    #[test]
    fn sixteen_thousand_nested_quotes_and_line_breaks() {
        // The issue's message: 256 KB that once took 512 MB and 1.4 s in a release build
        // (quadratic: every line written at the full depth; about 12 s in a debug build).
        let html = format!("{}{}", "<blockquote>".repeat(16_000), "<br>".repeat(16_000));
        assert_eq!(html.len(), 256_000);
        assert_eq!(html_to_text(&html), "");
        // The same with text on every line: each line at the cap, 18 bytes.
        let html = format!(
            "{}{}",
            "<blockquote>".repeat(16_000),
            "x<br>".repeat(16_000)
        );
        let text = html_to_text(&html);
        let line = format!("{}x", "> ".repeat(MAX_QUOTE_DEPTH));
        assert_eq!(text.lines().count(), 16_000);
        assert!(text.lines().all(|l| l == line));
        assert!(text.len() <= MAX_TEXT_BYTES);
    }

    #[test]
    fn text_past_the_byte_cap_is_dropped() {
        // 1.8 MB of text from 0.7 MB of HTML: cut at the default cap.
        let html = format!(
            "{}{}",
            "<blockquote>".repeat(16_000),
            "x<br>".repeat(100_000)
        );
        let text = html_to_text(&html);
        assert!(text.len() <= MAX_TEXT_BYTES, "{}", text.len());
        assert!(text.len() > MAX_TEXT_BYTES - 20, "{}", text.len());
        assert!(text.starts_with("> > > > > > > > x\n> > > > > > > > x\n"));
        // A small cap: the line it falls in is left out whole (its end was not read).
        let small = |max_output_bytes| HtmlLimits {
            max_output_bytes,
            ..HtmlLimits::default()
        };
        assert_eq!(super::html_to_text("<p>äöü</p><p>b</p>", &small(5)), "");
        assert_eq!(
            super::html_to_text_cut("<p>äöü</p><p>b</p>", &small(5)),
            (String::new(), true)
        );
        assert_eq!(
            super::html_to_text_cut("<p>äöü</p><p>b</p>", &small(6)),
            ("äöü".to_string(), true)
        );
        assert_eq!(super::html_to_text("<p>äöü</p><p>b</p>", &small(7)), "äöü");
        assert_eq!(
            super::html_to_text("<p>äöü</p><p>b</p>", &small(8)),
            "äöü\nb"
        );
        assert_eq!(super::html_to_text("<p>a</p>", &small(0)), "");
        // The cap is on the text, not the HTML: markup and blank lines cost nothing.
        let spaced = format!("<p>a</p>{}<p>b</p>", "<p>&nbsp;</p><br>".repeat(100_000));
        assert_eq!(super::html_to_text(&spaced, &small(4)), "a\n\nb");
    }

    #[test]
    fn whitespace_and_entities_are_read_once() {
        // 1 MB of spaces, then 100,000 block tags: looking at the whole line again for each tag
        // (as this once did) takes minutes here.
        let html = format!("{}{}x", " ".repeat(1 << 20), "<p>".repeat(100_000));
        assert_eq!(html_to_text(&html), "x");
        // Half a megabyte of `&` that start no entity.
        let html = format!("{}&amp;", "&a".repeat(1 << 18));
        assert_eq!(html_to_text(&html), format!("{}&", "&a".repeat(1 << 18)));
        assert_eq!(
            decode_entities("&#1114111; &#11141111;"),
            "\u{10ffff} &#11141111;"
        );
        assert_eq!(decode_entities("&hellip;&ampx;"), "…&ampx;");
    }
}
