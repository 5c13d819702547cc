//! The handlebars registry: every mail tandem writes is three templates per locale under
//! `templates/<locale>/` (`NAME.subject.hbs`, `NAME.txt.hbs`, `NAME.html.hbs`), plus partials
//! whose names start with `_` (`_layout.html.hbs`, the digest's sections). All are read and
//! compiled once, in strict mode, and rendered against samples of each mail's context at
//! start-up, so a missing template or an unknown variable stops the daemon then, not at 3 a.m.
//!
//! A mail's HTML is rendered on its own, then put where the locale's layout has
//! `{{> @partial-block}}`. Rendered inside the layout's block, as the templates once were
//! (`{{#> en/layout}}...{{/en/layout}}`), each value a mail looks up is a copy: handlebars
//! gives a partial a copy of the context and reads it by value, so an `{{#each}}` copies its
//! list, every row, and every field it prints. That was most of a receipt's rendering, the
//! reader's largest piece of work after parsing. The layout is rendered with the mail in
//! its place ([`layout_around`]), not called as a partial, which copies the whole context
//! once more. A mail's HTML that still calls its layout itself is left as it is.
//!
//! Only the partials stay compiled after that check: a mail's templates are compiled again
//! from their sources, kept in memory as read at start-up, the first time the mail is
//! written, and kept from then on. A start whose templates were checked before compiles no
//! partial either: each is compiled with the first template that calls it (the digest's
//! sections were most of a start's compiling, a quarter of `run --once` on an empty inbox).
//! Compiled, the 162 templates took about 1.5 MB, more than half of an idle daemon's heap
//! (issue 12's idle-RSS goal); their sources take 260 kB as read and are kept deflated
//! ([`Kept`]: 90 kB), and a daemon writes a few kinds of mail most days
//! (receipts) and others once a week (the digest) or never.
//!
//! The [`CATALOGUE`] of mails lives beside the templates: `templates/samples/NAME.json` holds
//! the sample contexts of mail `NAME` (every variable the flow that writes it passes, and each
//! optional one both set and unset). The samples are compiled in, so a template folder
//! configured elsewhere is checked against what this build's flows pass, and the registry
//! knows every mail without knowing the flows.

use std::collections::{HashMap, HashSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use handlebars::Handlebars;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::Locale;

/// Every mail tandem writes, with its sample contexts (a JSON array) from `templates/samples/`.
pub const CATALOGUE: &[(&str, &str)] = &[
    (
        "agreement_escalation",
        include_str!("../templates/samples/agreement_escalation.json"),
    ),
    (
        "agreement_received",
        include_str!("../templates/samples/agreement_received.json"),
    ),
    (
        "agreement_reminder",
        include_str!("../templates/samples/agreement_reminder.json"),
    ),
    (
        "budget_alert",
        include_str!("../templates/samples/budget_alert.json"),
    ),
    (
        "budget_alert_client",
        include_str!("../templates/samples/budget_alert_client.json"),
    ),
    ("checkin", include_str!("../templates/samples/checkin.json")),
    (
        "checkin_alert",
        include_str!("../templates/samples/checkin_alert.json"),
    ),
    (
        "checkin_thanks",
        include_str!("../templates/samples/checkin_thanks.json"),
    ),
    ("closing", include_str!("../templates/samples/closing.json")),
    ("digest", include_str!("../templates/samples/digest.json")),
    (
        "feedback_talk",
        include_str!("../templates/samples/feedback_talk.json"),
    ),
    (
        "hours_cancelled",
        include_str!("../templates/samples/hours_cancelled.json"),
    ),
    (
        "hours_nudge",
        include_str!("../templates/samples/hours_nudge.json"),
    ),
    (
        "hours_receipt",
        include_str!("../templates/samples/hours_receipt.json"),
    ),
    ("kickoff", include_str!("../templates/samples/kickoff.json")),
    (
        "kickoff_declined",
        include_str!("../templates/samples/kickoff_declined.json"),
    ),
    (
        "score_alert",
        include_str!("../templates/samples/score_alert.json"),
    ),
    ("survey", include_str!("../templates/samples/survey.json")),
    (
        "survey_thanks",
        include_str!("../templates/samples/survey_thanks.json"),
    ),
    (
        "timesheet",
        include_str!("../templates/samples/timesheet.json"),
    ),
    (
        "timesheet_dispute",
        include_str!("../templates/samples/timesheet_dispute.json"),
    ),
    (
        "timesheet_thanks",
        include_str!("../templates/samples/timesheet_thanks.json"),
    ),
    (
        "trial_alert",
        include_str!("../templates/samples/trial_alert.json"),
    ),
    (
        "trial_review",
        include_str!("../templates/samples/trial_review.json"),
    ),
    (
        "trial_review_thanks",
        include_str!("../templates/samples/trial_review_thanks.json"),
    ),
    (
        "welcome_assistant",
        include_str!("../templates/samples/welcome_assistant.json"),
    ),
    (
        "welcome_client",
        include_str!("../templates/samples/welcome_client.json"),
    ),
];

/// The catalogue's samples, each paired with its mail's name.
pub fn samples() -> Result<Vec<(&'static str, serde_json::Value)>, TemplateError> {
    let mut all = Vec::new();
    for (name, json) in CATALOGUE {
        let samples: Vec<serde_json::Value> =
            serde_json::from_str(json).map_err(|e| TemplateError::Sample {
                name: name.to_string(),
                message: e.to_string(),
            })?;
        all.extend(samples.into_iter().map(|sample| (*name, sample)));
    }
    Ok(all)
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the samples of template '{name}' are not a JSON array of contexts: {message}")]
    Sample { name: String, message: String },
    #[error("template folder '{0}' could not be read")]
    Folder(PathBuf, #[source] std::io::Error),
    #[error("template '{0}' is missing")]
    Missing(PathBuf),
    #[error("template '{0}' could not be read")]
    Read(PathBuf, #[source] std::io::Error),
    #[error("template '{path}' does not compile: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("template '{name}' ({locale}) could not be rendered: {message}")]
    Render {
        name: String,
        locale: Locale,
        message: String,
    },
}

/// One part of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    const ALL: [Part; 3] = [Part::Subject, Part::Text, Part::Html];

    fn extension(self) -> &'static str {
        match self {
            Part::Subject => "subject.hbs",
            Part::Text => "txt.hbs",
            Part::Html => "html.hbs",
        }
    }
}

/// A mail rendered in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The checked templates: the registries, and in `sources` every template's text as checked
/// at start-up.
pub struct Templates {
    dir: PathBuf,
    registries: RwLock<Registries>,
    sources: HashMap<String, Kept>,
    /// The partials (`_NAME.html.hbs` under `(true, "LOCALE/NAME")`, `_NAME.txt.hbs` under
    /// `(false, ...)`), compiled when a template that calls them is first compiled: most
    /// mails call none, and the digest's sections were most of what a start compiled.
    partials: HashMap<(bool, String), Partial>,
    /// The HTML templates that call their locale's layout themselves, as they were once
    /// written: rendered as they are, not put in the layout a second time.
    in_own_layout: HashSet<String>,
    /// See [`Templates::digest`].
    digest: String,
}

/// A partial's source, and its file for an error.
struct Partial {
    path: PathBuf,
    source: Kept,
}

/// A template's text kept to be compiled later, deflated: the texts of mails that are written
/// once a week or never are most of what an idle daemon would hold of them.
struct Kept(Box<[u8]>);

impl Kept {
    fn new(text: &str) -> Kept {
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing into a `Vec` does not fail.
        deflate
            .write_all(text.as_bytes())
            .expect("deflating into memory");
        Kept(
            deflate
                .finish()
                .expect("deflating into memory")
                .into_boxed_slice(),
        )
    }

    /// The text as it was read.
    fn text(&self) -> String {
        let mut text = String::new();
        // Deflated by `new` from a `str`: it inflates, and to UTF-8.
        flate2::read::DeflateDecoder::new(&self.0[..])
            .read_to_string(&mut text)
            .expect("a text deflated by Kept::new");
        text
    }
}

/// The partials that `source` calls by name (`{{> NAME}}`, `{{#> NAME}}`, with `~` and
/// spaces where handlebars allows them), `@partial-block` left out; `None` when it calls one
/// by an expression (`{{> (lookup ...)}}`), whose name is known only as it renders. A call
/// inside a comment counts too: compiling a partial that is not needed does no harm.
fn partials_called(source: &str) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    for (at, _) in source.match_indices("{{") {
        let rest = source[at + 2..].trim_start_matches('~').trim_start();
        let rest = rest.strip_prefix('#').map_or(rest, str::trim_start);
        let Some(rest) = rest.strip_prefix('>') else {
            continue;
        };
        let rest = rest.trim_start();
        let name = if let Some(quoted) = rest.strip_prefix('[') {
            quoted.split(']').next()
        } else if let Some(quoted) = rest.strip_prefix('\'') {
            quoted.split('\'').next()
        } else {
            rest.split(|c: char| !(c.is_alphanumeric() || "-_@/.".contains(c)))
                .next()
        };
        match name {
            None | Some("") => return None,
            Some(name) if name.starts_with('@') => {}
            Some(name) => names.push(name),
        }
    }
    Some(names)
}

/// The HTML registry escapes values; the text one (subjects and plain parts) does not, since
/// there is no markup to protect. Each holds the partials and the templates compiled so far.
struct Registries {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
}

impl Registries {
    /// The registry a part is rendered by.
    fn of(&self, part: Part) -> &Handlebars<'static> {
        if part == Part::Html {
            &self.html
        } else {
            &self.text
        }
    }

    fn of_mut(&mut self, part: Part) -> &mut Handlebars<'static> {
        if part == Part::Html {
            &mut self.html
        } else {
            &mut self.text
        }
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("dir", &self.dir).finish()
    }
}

fn key(locale: Locale, name: &str, part: Part) -> String {
    format!("{locale}/{name}.{}", part.extension())
}

/// The name of the template that puts a rendered HTML part (`body`) in `locale`'s layout (no
/// mail's key has a space).
fn in_layout(locale: Locale) -> String {
    format!("{locale}/layout around a mail")
}

/// Where a layout puts the mail.
const PARTIAL_BLOCK: &str = "{{> @partial-block}}";

/// The source of [`in_layout`] for `locale`, whose layout is `layout`: the layout itself with
/// its one `{{> @partial-block}}` replaced by the rendered mail, where that gives the same
/// output (the tag within a line, or alone on an unindented line, which handlebars drops with
/// its line break); else the layout called as a partial around the mail. Called as a partial,
/// the layout gets a copy of the whole context (`merge_json`), the rendered mail included:
/// a fifth of rendering a receipt.
fn layout_around(locale: Locale, layout: Option<&str>) -> String {
    let as_partial =
        || format!("{{{{#> {locale}/layout}}}}{{{{{{body}}}}}}{{{{/{locale}/layout}}}}");
    // Without a layout, the partial's call says that it is missing.
    let Some(layout) = layout else {
        return as_partial();
    };
    let body = "{{{@root.body}}}";
    let mut found = layout.match_indices(PARTIAL_BLOCK);
    let (Some((at, _)), None) = (found.next(), found.next()) else {
        return as_partial();
    };
    let end = at + PARTIAL_BLOCK.len();
    let line_start = layout[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = layout[end..].find('\n').map_or(layout.len(), |i| end + i);
    let before = &layout[line_start..at];
    let after = &layout[end..line_end];
    let blank = |s: &str| s.trim().is_empty();
    match (blank(before), blank(after)) {
        // Alone on its line, unindented, with a line break after it: the tag, any spaces after
        // it and the line break are the mail.
        (true, true) if before.is_empty() && line_end < layout.len() => {
            format!("{}{body}{}", &layout[..at], &layout[line_end + 1..])
        }
        (true, true) => as_partial(),
        _ => format!("{}{body}{}", &layout[..at], &layout[end..]),
    }
}

impl Templates {
    /// Loads and compiles every mail of the [`CATALOGUE`] for every locale, and renders each
    /// against its samples.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        Self::load_with(dir, &samples()?)
    }

    /// Loads and compiles every mail in `mails` for every locale, then renders each against its
    /// sample context. `mails` pairs a template name with a context holding every variable the
    /// real one will.
    pub fn load_with(
        dir: &Path,
        mails: &[(&str, serde_json::Value)],
    ) -> Result<Self, TemplateError> {
        let templates = Self::read(dir, &mail_names(mails))?;
        templates.check(mails)?;
        Ok(templates)
    }

    /// Reads the templates of every mail of the [`CATALOGUE`], and the partials, which it
    /// compiles: all that rendering needs, unchecked ([`Self::check`]).
    pub fn read_catalogue(dir: &Path) -> Result<Self, TemplateError> {
        let names: Vec<&str> = CATALOGUE.iter().map(|(name, _)| *name).collect();
        Self::read(dir, &names)
    }

    /// Reads the templates of the mails `names`, in every locale, and the partials, which it
    /// compiles (a mail is compiled when it is first written).
    fn read(dir: &Path, names: &[&str]) -> Result<Self, TemplateError> {
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);

        let mut digest = Sha256::new();
        digest.update(env!("TANDEM_BUILD"));
        let mut layouts = HashMap::new();
        let mut partials = HashMap::new();
        for locale in Locale::ALL {
            let folder = dir.join(locale.as_str());
            let entries =
                std::fs::read_dir(&folder).map_err(|e| TemplateError::Folder(folder.clone(), e))?;
            let mut paths = entries
                .map(|entry| entry.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| TemplateError::Folder(folder.clone(), e))?;
            paths.sort();
            for path in paths {
                let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                    continue;
                };
                let Some(partial) = file.strip_prefix('_') else {
                    continue;
                };
                let (is_html, stem) = match partial.strip_suffix(".html.hbs") {
                    Some(stem) => (true, stem),
                    None => match partial.strip_suffix(".txt.hbs") {
                        Some(stem) => (false, stem),
                        None => continue,
                    },
                };
                let source = read(&path)?;
                hash_source(&mut digest, &format!("{locale}/{file}"), &source);
                if file == "_layout.html.hbs" {
                    layouts.insert(locale, source.clone());
                }
                partials.insert(
                    (is_html, format!("{locale}/{stem}")),
                    Partial {
                        path: path.clone(),
                        source: Kept::new(&source),
                    },
                );
            }
        }
        let mut registries = Registries { html, text };
        for locale in Locale::ALL {
            let source = layout_around(locale, layouts.get(&locale).map(String::as_str));
            let syntax = |e: handlebars::TemplateError| TemplateError::Syntax {
                path: dir.join(locale.as_str()).join("_layout.html.hbs"),
                message: e.to_string(),
            };
            registries
                .html
                .register_template_string(&in_layout(locale), &source)
                .map_err(syntax)?;
            compile_partials(
                &partials,
                &mut registries,
                Part::Html,
                partials_called(&source),
            )?;
        }
        let mut sources = HashMap::new();
        let mut in_own_layout = HashSet::new();
        for name in names {
            for locale in Locale::ALL {
                for part in Part::ALL {
                    let key = key(locale, name, part);
                    let source = read(&dir.join(&key))?;
                    hash_source(&mut digest, &key, &source);
                    if part == Part::Html && source.contains(&format!("{locale}/layout")) {
                        in_own_layout.insert(key.clone());
                    }
                    sources.insert(key, Kept::new(&source));
                }
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            registries: RwLock::new(registries),
            sources,
            partials,
            in_own_layout,
            digest: format!("{:x}", digest.finalize()),
        })
    }

    /// Renders each mail of `mails` in every locale against its samples, which compiles it
    /// ([`Self::ensure_compiled`]): a template that does not compile, or names a variable its
    /// mail does not have, is an error. One mail at a time, let go after (compiled again when
    /// it is first written), so the check never holds them all.
    pub fn check(&self, mails: &[(&str, serde_json::Value)]) -> Result<(), TemplateError> {
        // Every partial, called or not, so that none that does not compile waits to be found.
        {
            let mut registries = self.registries.write().unwrap_or_else(|e| e.into_inner());
            for part in [Part::Text, Part::Html] {
                compile_partials(&self.partials, &mut registries, part, None)?;
            }
        }
        for name in mail_names(mails) {
            for (_, sample) in mails.iter().filter(|(n, _)| *n == name) {
                for locale in Locale::ALL {
                    self.render(locale, name, sample)?;
                }
            }
            self.forget(name);
        }
        Ok(())
    }

    /// What [`Self::check`] of the [`CATALOGUE`] decides on: this build (its code and the
    /// samples, `TANDEM_BUILD`), and every template and partial read. A start that finds the
    /// digest checked before has nothing new to check.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Lets go of the compiled templates of mail `name` (its sources are kept).
    fn forget(&self, name: &str) {
        let mut registries = self.registries.write().unwrap_or_else(|e| e.into_inner());
        for locale in Locale::ALL {
            for part in Part::ALL {
                registries
                    .of_mut(part)
                    .unregister_template(&key(locale, name, part));
            }
        }
    }

    /// Compiles the parts under `keys` (in [`Part::ALL`]'s order) from their kept sources
    /// unless they are compiled.
    fn ensure_compiled(&self, keys: &[String; 3]) -> Result<(), TemplateError> {
        let compiled = |registries: &Registries| {
            Part::ALL
                .into_iter()
                .zip(keys)
                .all(|(part, key)| registries.of(part).has_template(key))
        };
        if compiled(&self.registries.read().unwrap_or_else(|e| e.into_inner())) {
            return Ok(());
        }
        let mut registries = self.registries.write().unwrap_or_else(|e| e.into_inner());
        for (part, key) in Part::ALL.into_iter().zip(keys) {
            // Compiled meanwhile, or not a mail of the catalogue (rendering says that it is
            // missing).
            let Some(kept) = self.sources.get(key) else {
                continue;
            };
            if registries.of(part).has_template(key) {
                continue;
            }
            let source = kept.text();
            registries
                .of_mut(part)
                .register_template_string(key, &source)
                .map_err(|e| TemplateError::Syntax {
                    path: self.dir.join(key),
                    message: e.to_string(),
                })?;
            compile_partials(
                &self.partials,
                &mut registries,
                part,
                partials_called(&source),
            )?;
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Renders the mail `name` in `locale`. The subject is folded onto one line.
    pub fn render(
        &self,
        locale: Locale,
        name: &str,
        context: &impl Serialize,
    ) -> Result<Rendered, TemplateError> {
        // The context is made into JSON once for the parts and the layout.
        let context =
            handlebars::Context::wraps(context).map_err(|e| render_failed(name, locale, e))?;
        Ok(self.render_parts(locale, name, context, &Part::ALL)?.0)
    }

    /// The subject of the mail `name` in `locale` alone, as [`Templates::render`] writes it:
    /// what a draft stores (`outbound::draft`), whose text and HTML are rendered when it is
    /// sent. The context, already JSON, is handed back as it was, for the draft: rendering
    /// from a borrowed one would copy it whole first.
    pub fn render_subject(
        &self,
        locale: Locale,
        name: &str,
        context: serde_json::Value,
    ) -> Result<(String, serde_json::Value), TemplateError> {
        let context = handlebars::Context::from(context);
        let (rendered, mut context) = self.render_parts(locale, name, context, &[Part::Subject])?;
        Ok((rendered.subject, std::mem::take(context.data_mut())))
    }

    /// The text and HTML of the mail `name` in `locale`, as [`Templates::render`] writes them,
    /// without the subject (empty): a draft's, whose subject was rendered when it was queued.
    pub fn render_body(
        &self,
        locale: Locale,
        name: &str,
        context: serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        let context = handlebars::Context::from(context);
        let parts = [Part::Text, Part::Html];
        Ok(self.render_parts(locale, name, context, &parts)?.0)
    }

    /// Renders the `parts` of the mail `name` in `locale` (the others are left empty); hands
    /// back the context, with the layout's `body` when the HTML was rendered in it.
    fn render_parts(
        &self,
        locale: Locale,
        name: &str,
        mut context: handlebars::Context,
        parts: &[Part],
    ) -> Result<(Rendered, handlebars::Context), TemplateError> {
        let keys = Part::ALL.map(|part| key(locale, name, part));
        self.ensure_compiled(&keys)?;
        let registries = self.registries.read().unwrap_or_else(|e| e.into_inner());
        let [subject, text, html] = &keys;
        let failed = |e: handlebars::RenderError| render_failed(name, locale, e);
        let render = |part: Part, key: &str, context: &handlebars::Context| {
            if !parts.contains(&part) {
                return Ok(String::new());
            }
            registries
                .of(part)
                .render_with_context(key, context)
                .map_err(failed)
        };
        let subject = render(Part::Subject, subject, &context)?;
        let text = render(Part::Text, text, &context)?;
        let mut body = render(Part::Html, html, &context)?;
        if parts.contains(&Part::Html) && !self.in_own_layout.contains(html) {
            let serde_json::Value::Object(fields) = context.data_mut() else {
                return Err(TemplateError::Render {
                    name: name.to_string(),
                    locale,
                    message: "its context is not a JSON object".into(),
                });
            };
            fields.insert("body".into(), serde_json::Value::String(body));
            body = render(Part::Html, &in_layout(locale), &context)?;
        }
        let rendered = Rendered {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text,
            html: body,
        };
        Ok((rendered, context))
    }
}

/// Compiles, into the registry of `part`, the partials `called` (of [`partials_called`]; all
/// of them for `None`) that are not compiled yet, and those that they call in turn. A name
/// that is no partial of `partials` is left for rendering to report.
fn compile_partials(
    partials: &HashMap<(bool, String), Partial>,
    registries: &mut Registries,
    part: Part,
    called: Option<Vec<&str>>,
) -> Result<(), TemplateError> {
    let is_html = part == Part::Html;
    let registry = registries.of_mut(part);
    let every = || {
        partials
            .keys()
            .filter(|(html, _)| *html == is_html)
            .map(|(_, name)| name.clone())
            .collect::<Vec<_>>()
    };
    let owned = |names: Vec<&str>| names.into_iter().map(str::to_string).collect();
    let mut pending: Vec<String> = called.map(owned).unwrap_or_else(every);
    while let Some(name) = pending.pop() {
        if registry.has_template(&name) {
            continue;
        }
        let Some((key, partial)) = partials.get_key_value(&(is_html, name)) else {
            continue;
        };
        let source = partial.source.text();
        registry
            .register_partial(&key.1, &source)
            .map_err(|e| TemplateError::Syntax {
                path: partial.path.clone(),
                message: e.to_string(),
            })?;
        pending.extend(partials_called(&source).map(owned).unwrap_or_else(every));
    }
    Ok(())
}

fn render_failed(name: &str, locale: Locale, e: handlebars::RenderError) -> TemplateError {
    TemplateError::Render {
        name: name.to_string(),
        locale,
        message: e.to_string(),
    }
}

/// The mails of `mails` (a name with one of its sample contexts), each once, in name order.
fn mail_names<'a>(mails: &[(&'a str, serde_json::Value)]) -> Vec<&'a str> {
    let mut names: Vec<&str> = mails.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Adds a template's name and text to `digest`, each with its length, so that no two sets of
/// files hash alike.
fn hash_source(digest: &mut Sha256, name: &str, source: &str) {
    for part in [name, source] {
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part);
    }
}

fn read(path: &Path) -> Result<String, TemplateError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(TemplateError::Missing(path.to_path_buf()))
        }
        Err(e) => Err(TemplateError::Read(path.to_path_buf(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_text_is_the_text_read_and_smaller() {
        let text =
            "{{#each entries}}<td style=\"padding:4px\">{{this.minutes}} Min. – Grüße</td>\n\
                    {{/each}}"
                .repeat(40);
        let kept = Kept::new(&text);
        assert_eq!(kept.text(), text);
        assert!(
            kept.0.len() * 10 < text.len(),
            "{} of {}",
            kept.0.len(),
            text.len()
        );
        assert_eq!(Kept::new("").text(), "");
    }

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for locale in ["de", "en"] {
            std::fs::create_dir_all(dir.path().join(locale)).unwrap();
            for (name, text) in files {
                let text = text.replace("LOCALE", locale);
                std::fs::write(dir.path().join(locale).join(name), text).unwrap();
            }
        }
        dir
    }

    const GOOD: &[(&str, &str)] = &[
        ("_layout.html.hbs", "<html>{{> @partial-block}}</html>"),
        ("hello.subject.hbs", "Hello\n  {{name}}\n"),
        ("hello.txt.hbs", "Hi {{name}} & co"),
        ("hello.html.hbs", "<p>Hi {{name}}</p>"),
    ];

    fn sample() -> Vec<(&'static str, serde_json::Value)> {
        vec![("hello", serde_json::json!({ "name": "<Anna>" }))]
    }

    #[test]
    fn renders_text_unescaped_and_html_escaped() {
        let dir = folder(GOOD);
        let t = Templates::load_with(dir.path(), &sample()).unwrap();
        let r = t.render(Locale::En, "hello", &sample()[0].1).unwrap();
        assert_eq!(r.subject, "Hello <Anna>");
        assert_eq!(r.text, "Hi <Anna> & co");
        assert_eq!(r.html, "<html><p>Hi &lt;Anna&gt;</p></html>");
    }

    #[test]
    fn the_partials_a_template_calls_are_found_however_it_writes_the_call() {
        fn called(source: &str) -> Option<Vec<&str>> {
            let mut names = partials_called(source)?;
            names.sort_unstable();
            Some(names)
        }
        assert_eq!(
            called(
                "{{> en/a}} {{~> en/b x=1 ~}} {{#> en/c}}{{> @partial-block}}{{/en/c}} \
                 {{ >  en/d}} {{~#>en/e}}{{/en/e}} {{> [en/f g]}} {{> 'en/h'}} {{name}} {{{{raw}}}}"
            ),
            Some(vec![
                "en/a", "en/b", "en/c", "en/d", "en/e", "en/f g", "en/h"
            ])
        );
        assert_eq!(called("<p>{{#if x}}>{{/if}} a > b</p>"), Some(vec![]));
        // By an expression: which one is known only while rendering.
        assert_eq!(called("{{> (lookup . 'which')}}"), None);
    }

    #[test]
    fn a_partial_is_compiled_with_the_first_template_that_calls_it_and_all_are_checked() {
        let mut files = GOOD.to_vec();
        files.extend([
            ("_sign.txt.hbs", "-- {{> LOCALE/agency}}"),
            ("_agency.txt.hbs", "the agency"),
            ("_unused.txt.hbs", "{{x}}"),
            ("bye.subject.hbs", "Bye"),
            ("bye.txt.hbs", "Bye {{name}} {{> LOCALE/sign}}"),
            ("bye.html.hbs", "<p>Bye</p>"),
        ]);
        let dir = folder(&files);
        let t = Templates::read(dir.path(), &["hello", "bye"]).unwrap();
        let compiled = |name: &str| t.registries.read().unwrap().text.has_template(name);
        assert!(!compiled("en/sign") && !compiled("en/agency"));
        t.render(Locale::En, "hello", &sample()[0].1).unwrap();
        assert!(!compiled("en/sign"), "hello calls no partial");
        let r = t.render(Locale::En, "bye", &sample()[0].1).unwrap();
        assert_eq!(r.text, "Bye <Anna> -- the agency");
        assert!(compiled("en/sign") && compiled("en/agency") && !compiled("en/unused"));
        assert!(!compiled("de/sign"), "only the locale written");

        // The check compiles every partial, called or not.
        files.push(("_broken.txt.hbs", "{{#if x}}"));
        let dir = folder(&files);
        let t = Templates::read(dir.path(), &["hello", "bye"]).unwrap();
        t.render(Locale::En, "bye", &sample()[0].1).unwrap();
        let err = t.check(&sample()).unwrap_err().to_string();
        assert!(err.contains("_broken.txt.hbs' does not compile"), "{err}");
    }

    #[test]
    fn a_mail_that_calls_its_layout_itself_is_not_put_in_it_twice() {
        let mut own = GOOD.to_vec();
        own[3] = (
            "hello.html.hbs",
            "{{#> LOCALE/layout}}<p>Hi {{name}}</p>{{/LOCALE/layout}}",
        );
        let dir = folder(&own);
        let t = Templates::load_with(dir.path(), &sample()).unwrap();
        for locale in Locale::ALL {
            let r = t.render(locale, "hello", &sample()[0].1).unwrap();
            assert_eq!(r.html, "<html><p>Hi &lt;Anna&gt;</p></html>");
        }
    }

    #[test]
    fn the_digest_is_that_of_every_template_read() {
        let dir = folder(GOOD);
        let digest = || Templates::read(dir.path(), &["hello"]).unwrap().digest;
        let first = digest();
        assert_eq!(digest(), first, "the same files, the same digest");
        let mut seen = vec![first];
        for file in [
            "en/hello.txt.hbs",
            "de/hello.subject.hbs",
            "de/_layout.html.hbs",
        ] {
            let path = dir.path().join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, format!("{text} ")).unwrap();
            let now = digest();
            assert!(!seen.contains(&now), "{file} changed, the digest did not");
            seen.push(now);
        }
    }

    #[test]
    fn a_mail_is_compiled_when_first_written_from_the_checked_source() {
        let dir = folder(GOOD);
        let t = Templates::load_with(dir.path(), &sample()).unwrap();
        let compiled = |t: &Templates| {
            let key = key(Locale::En, "hello", Part::Html);
            t.registries.read().unwrap().html.has_template(&key)
        };
        assert!(!compiled(&t), "the check let go of what it compiled");
        // The file changes after the check: what was checked is what is written.
        std::fs::write(dir.path().join("en/hello.txt.hbs"), "Hi {{#if}}").unwrap();
        let r = t.render(Locale::En, "hello", &sample()[0].1).unwrap();
        assert_eq!(r.text, "Hi <Anna> & co");
        assert!(compiled(&t));
        let again = t.render(Locale::En, "hello", &sample()[0].1).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn a_missing_template_or_variable_fails_at_load() {
        let missing = folder(&GOOD[..3]);
        let err = Templates::load_with(missing.path(), &sample()).unwrap_err();
        assert!(
            matches!(err, TemplateError::Missing(ref p) if p.ends_with("de/hello.html.hbs")),
            "{err}"
        );

        let mut unknown = GOOD.to_vec();
        unknown[2] = ("hello.txt.hbs", "Hi {{nmae}}");
        let dir = folder(&unknown);
        let err = Templates::load_with(dir.path(), &sample())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'hello' (de) could not be rendered") && err.contains("nmae"),
            "{err}"
        );

        let mut broken = GOOD.to_vec();
        broken[2] = ("hello.txt.hbs", "Hi {{#if name}}");
        let dir = folder(&broken);
        let err = Templates::load_with(dir.path(), &sample())
            .unwrap_err()
            .to_string();
        assert!(err.contains("hello.txt.hbs' does not compile"), "{err}");
    }

    #[test]
    fn the_catalogue_is_the_samples_folder() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/samples");
        let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let listed: Vec<String> = CATALOGUE.iter().map(|(n, _)| format!("{n}.json")).collect();
        assert_eq!(listed, on_disk, "CATALOGUE and templates/samples/ differ");
        let samples = samples().unwrap();
        for (name, _) in CATALOGUE {
            assert!(
                samples.iter().any(|(n, _)| n == name),
                "{name} has no sample"
            );
        }
    }

    /// Renders `body` in `layout` both ways: the layout with the mail in it
    /// ([`layout_around`]) and the layout called as a partial around it; returns both and
    /// whether the first was the layout itself.
    fn both_ways(layout: &str) -> (String, String, bool) {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_partial("en/layout", layout).unwrap();
        let inline = layout_around(Locale::En, Some(layout));
        let itself = !inline.contains("{{#> en/layout}}");
        hb.register_template_string("inline", inline).unwrap();
        hb.register_template_string("partial", layout_around(Locale::En, None))
            .unwrap();
        let context = serde_json::json!({ "body": "<p>Hi</p>\n", "agency": "A & B" });
        let render = |name: &str| hb.render(name, &context).unwrap();
        (render("inline"), render("partial"), itself)
    }

    #[test]
    fn the_mail_is_put_in_the_layout_itself_where_that_renders_the_same() {
        for (layout, itself) in [
            ("<html>{{> @partial-block}}</html>", true),
            ("<b>{{agency}}</b>\n{{> @partial-block}}\n</td>\n", true),
            ("<b>{{agency}}</b>\r\n{{> @partial-block}}  \r\n</td>", true),
            ("{{> @partial-block}}\n{{agency}}", true),
            ("{{#with agency}}\n{{> @partial-block}}\n{{/with}}", true),
            // Indented: handlebars indents each line of the mail.
            ("<td>\n  {{> @partial-block}}\n</td>", false),
            // The last line: no line break to drop.
            ("<td>\n{{> @partial-block}}", false),
            ("{{> @partial-block}}{{> @partial-block}}", false),
            ("<td>{{~> @partial-block~}}</td>", false),
        ] {
            let (inline, partial, was_itself) = both_ways(layout);
            assert_eq!(inline, partial, "{layout:?}");
            assert_eq!(was_itself, itself, "{layout:?}");
        }
    }

    #[test]
    fn the_shipped_layouts_hold_every_mail_as_they_would_around_it() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let t = Templates::read_catalogue(&dir).unwrap();
        let around = |locale: Locale| format!("{locale} around, as a partial");
        for locale in Locale::ALL {
            let layout =
                std::fs::read_to_string(dir.join(locale.as_str()).join("_layout.html.hbs"))
                    .unwrap();
            assert!(
                !layout_around(locale, Some(&layout)).contains("@partial-block"),
                "the shipped {locale} layout is not rendered with the mail in it"
            );
            let mut registries = t.registries.write().unwrap();
            let source = layout_around(locale, None);
            registries
                .html
                .register_template_string(&around(locale), &source)
                .unwrap();
            let called = partials_called(&source);
            compile_partials(&t.partials, &mut registries, Part::Html, called).unwrap();
        }
        for (name, sample) in samples().unwrap() {
            for locale in Locale::ALL {
                let rendered = t.render(locale, name, &sample).unwrap();
                let registries = t.registries.read().unwrap();
                let html = key(locale, name, Part::Html);
                let mut context = sample.clone();
                context["body"] = registries.html.render(&html, &sample).unwrap().into();
                let expected = registries.html.render(&around(locale), &context).unwrap();
                assert_eq!(rendered.html, expected, "{name} ({locale})");
            }
        }
    }

    #[test]
    fn the_shipped_templates_render_every_sample() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        Templates::load(&dir).unwrap();
    }
}
