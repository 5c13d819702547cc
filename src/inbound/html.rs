//! HTML-only mail turned into the text a person sees: block elements end lines, list items
//! become `- ` bullets (so a date line with a list under it reads as one), quoted blocks
//! (`<blockquote>`) get `> ` markers (so the reply extractor drops them), and entities are
//! decoded. Pure.

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

pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut line = String::new();
    let mut quote_depth = 0usize;
    let mut hidden: Option<String> = None;
    let mut rest = html;

    let end_line = |out: &mut String, line: &mut String, depth: usize| {
        let text = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() || !out.ends_with("\n\n") {
            for _ in 0..depth {
                out.push_str("> ");
            }
            out.push_str(&text);
            out.push('\n');
        }
        line.clear();
    };

    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            if hidden.is_none() {
                line.push_str(&decode_entities(rest));
            }
            break;
        };
        if hidden.is_none() {
            line.push_str(&decode_entities(&rest[..open]));
        }
        rest = &rest[open..];
        // A '<' that starts no tag ("a < b") is text, as browsers read it.
        if !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') {
            if hidden.is_none() {
                line.push('<');
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
        if !BLOCKS.contains(&name.as_str()) {
            continue;
        }
        if !line.trim().is_empty() || name == "br" {
            end_line(&mut out, &mut line, quote_depth);
        }
        match (name.as_str(), closing) {
            ("blockquote", false) => quote_depth += 1,
            ("blockquote", true) => quote_depth = quote_depth.saturating_sub(1),
            ("li", false) => line.push_str("- "),
            _ => {}
        }
    }
    if !line.trim().is_empty() {
        end_line(&mut out, &mut line, quote_depth);
    }
    // At most one blank line in a row, none at the ends.
    let mut text = String::with_capacity(out.len());
    let mut blank = 0;
    for l in out.lines() {
        let l = l.trim_end();
        if l.is_empty() || l.chars().all(|c| c == '>' || c == ' ') {
            blank += 1;
            if blank > 1 || text.is_empty() {
                continue;
            }
            text.push('\n');
        } else {
            blank = 0;
            text.push_str(l);
            text.push('\n');
        }
    }
    text.trim().to_string()
}

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
        let end = rest[1..]
            .find(|c: char| c == ';' || c == '&' || c.is_whitespace())
            .map(|i| i + 1);
        let decoded = end
            .filter(|&e| rest[e..].starts_with(';') && e <= 10)
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
    fn odd_input_does_not_break_it() {
        assert_eq!(html_to_text(""), "");
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(html_to_text("<p>unclosed <b"), "unclosed");
        assert_eq!(
            decode_entities("&#x1F600; &bogus; &#999999999; & done"),
            "😀 &bogus; &#999999999; & done"
        );
    }
}
