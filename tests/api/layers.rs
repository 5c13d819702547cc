//! The layering rules of ARCHITECTURE.md, checked on the crate's own source.
//!
//! The compiler accepts any `use crate::...`, so these rules would erode one convenient import
//! at a time. This module reads every file under `src/` as text, resolves each `crate::` and
//! `super::` path (in `use` items, groups included, and inline in code) to the module it names,
//! and fails when:
//!
//! 1. a module other than the CLI imports `app`, the composition root: it knows every part, so
//!    a part that imports it can no longer be built or tested alone;
//! 2. modules import each other, directly or round a loop (unless they share one folder whose
//!    module file explains why in a `//!` line containing "import each other");
//! 3. the database (`sqlx`, `Sqlite...`) is named outside `src/store/`;
//! 4. a pure module ([`PURE`]) imports an impure one, or names I/O or the clock.
//!
//! The reader is plain text matching: it skips comments, `tests.rs` files and everything from a
//! `#[cfg(test)]` line on (tests sit at the bottom; a `#[cfg(test)] mod tests;` pair is skipped
//! alone), and does not expand macros. The `checker` tests run it on in-memory trees, so a reader
//! that stops finding things fails instead of passing quietly. `TANDEM_SRC` points it elsewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

/// The pure modules: values in, values out, no I/O and no clock, so tests run them on plain
/// values. `x::*` is `x` and every module below it. ARCHITECTURE.md lists the same (under
/// Invariants): change both together.
const PURE: &[&str] = &[
    "domain::*",
    "reply::*",
    "timelog::grammar::*",
    "survey",
    "survey::answers",
    "schedule",
    "schedule::cadence",
    "schedule::holidays",
    "schedule::plan",
    "schedule::talks",
    "checkin",
    "digest::chart",
    "digest::reasons",
    "inbound::message",
    "inbound::html",
    "inbound::classify",
    "inbound::auth",
    "format",
    "error",
    "redact",
    "calls",
    "calls::ics",
    "timesheet",
];

/// What a pure module must not name (but for a type it declares itself, like the time-log
/// grammar's own `struct Clock`).
const IO_WORDS: &str =
    "tokio sqlx std::fs std::net std::process lettre async_imap Clock SystemClock";

/// What only `src/store/` may name.
const SQL_WORDS: &str = "sqlx SqliteConnection SqlitePool Sqlite";

#[test]
fn only_the_cli_imports_the_root() {
    let why = "Only `cli` (and `main`) may import `app`, the composition root: pass a part what it \
               needs (the pool, the clock, the templates) instead of the whole `App`.";
    check(root_imports(source()), why);
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let why = "Modules must not import each other, directly or round a loop: move what both need \
               into a third module, or pass it in. A loop inside one folder is allowed when the \
               folder's module file says why, in a `//!` line containing \"import each other\".";
    check(cycles(source()), why);
}

#[test]
fn no_sqlx_outside_the_store() {
    let why = "Only `src/store/` knows the database: give the store a function that takes and \
               returns plain values (or a type of its own) instead of naming sqlx here.";
    check(sql_outside_store(source()), why);
}

#[test]
fn pure_modules_do_no_io() {
    let why = "Pure modules (PURE in tests/api/layers.rs, and ARCHITECTURE.md) may import only \
               pure modules and name no I/O (tokio, sqlx, std::fs/net/process, lettre, \
               async_imap) and no Clock: the caller reads, and passes values (and \"now\") in.";
    check(impure(source()), why);
}

#[test]
fn the_whole_source_is_read() {
    let imports = imports(source());
    let edges = BTreeSet::from_iter(imports.iter().map(|i| (&i.from, &i.to))).len();
    let (modules, root) = (modules(source()).len(), src_root());
    let read = format!("read {modules} modules and {edges} import edges from {root}");
    assert!(
        modules > 50 && edges > 100,
        "{read}; expected over 50 and 100"
    );
}

/// A source file: its path under `src/` (with `/`), and its text.
struct File {
    path: String,
    text: String,
}

/// A `crate::` or `super::` path in a file, resolved to the module it names.
struct Import {
    /// `src/FILE:LINE`.
    at: String,
    from: String,
    to: String,
    /// The line, trimmed, without its comment.
    code: String,
}

/// The paths found in a file, each with the offset of its last segment.
type Found = Vec<(Vec<String>, usize)>;

fn src_root() -> String {
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    std::env::var("TANDEM_SRC").unwrap_or(here.to_string())
}

/// The crate's source, read once for all the tests.
fn source() -> &'static [File] {
    static FILES: OnceLock<Vec<File>> = OnceLock::new();
    FILES.get_or_init(|| read_tree(Path::new(&src_root())))
}

/// Every `.rs` file under `root`, sorted by path.
fn read_tree(root: &Path) -> Vec<File> {
    let (mut files, mut dirs) = (Vec::new(), vec![root.to_path_buf()]);
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        for entry in entries {
            let file = entry.expect("a directory entry").path();
            if file.is_dir() {
                dirs.push(file);
            } else if file.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&file).expect("a readable source file");
                let relative = file.strip_prefix(root).expect("a file under the root");
                let path = relative.to_string_lossy().replace('\\', "/");
                files.push(File { path, text });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// The module a file is: `a/b.rs` and `a/b/mod.rs` are `a::b`, `main.rs` is `main`, `lib.rs`
/// the crate root (`""`). `None` for test files (`tests.rs`).
fn module_of(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".rs")?;
    let stem = stem.strip_suffix("/mod").unwrap_or(stem);
    match stem {
        "lib" => Some(String::new()),
        _ if stem == "tests" || stem.ends_with("/tests") => None,
        _ => Some(stem.replace('/', "::")),
    }
}

/// Every module of the tree but the crate root.
fn modules(files: &[File]) -> BTreeSet<String> {
    let all = files.iter().filter_map(|f| module_of(&f.path));
    all.filter(|m| !m.is_empty()).collect()
}

fn parent(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(parent, _)| parent)
}

/// `module` is `root` or below it.
fn is_under(module: &str, root: &str) -> bool {
    module == root || module.starts_with(&format!("{root}::"))
}

fn is_pure(module: &str) -> bool {
    PURE.iter().any(|p| match p.strip_suffix("::*") {
        Some(root) => is_under(module, root),
        None => module == *p,
    })
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `line` names `word`, with no identifier character either side.
fn has_word(line: &str, word: &str) -> bool {
    let b = line.as_bytes();
    line.match_indices(word).any(|(i, _)| {
        (i == 0 || !is_ident(b[i - 1])) && b.get(i + word.len()).is_none_or(|&c| !is_ident(c))
    })
}

/// The code of a file, one entry per line (index = line - 1), without comments and without test
/// code: from the first `#[cfg(test)]` line on, but for a `#[cfg(test)] mod tests;` pair.
fn code_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(|l| strip_comment(l).to_string()).collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "#[cfg(test)]" {
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            if !(next.starts_with("mod ") && next.ends_with(';')) {
                lines.truncate(i);
            } else {
                lines[i].clear();
                lines[i + 1].clear();
            }
        }
        i += 1;
    }
    lines
}

/// `line` without its `//` comment; a `//` inside `"..."` on the line is not one (nor a `"`
/// in `'"'`). Raw strings and strings over several lines are not followed.
fn strip_comment(line: &str) -> &str {
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = in_string,
            '"' if line[..i].ends_with('\'') && line[i + 1..].starts_with('\'') => {}
            '"' => in_string = !in_string,
            '/' if !in_string && line[i + 1..].starts_with('/') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The paths in `code` that start with `crate::` or `super::`, with `{...}` groups expanded
/// (`self` in a group is the group's prefix).
fn paths(code: &[u8]) -> Found {
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let boundary = i == 0 || !is_ident(code[i - 1]) && code[i - 1] != b'$';
        let starts = code[i..].starts_with(b"crate::") || code[i..].starts_with(b"super::");
        i = if boundary && starts {
            path_tree(code, i, vec![], &mut found)
        } else {
            i + 1
        };
    }
    found
}

/// Reads the path or `{...}` group at `i`, below `path`, into `found`; returns where it ends.
fn path_tree(code: &[u8], mut i: usize, mut path: Vec<String>, found: &mut Found) -> usize {
    let space = |i: usize| {
        i + code[i..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count()
    };
    let ident = |i: usize| i + code[i..].iter().take_while(|&&c| is_ident(c)).count();
    loop {
        i = space(i);
        if code.get(i) == Some(&b'{') {
            i += 1;
            loop {
                i = space(i);
                match code.get(i) {
                    Some(b',') => i += 1,
                    Some(b'}') => return i + 1,
                    None => return i,
                    Some(_) => match path_tree(code, i, path.clone(), found) {
                        end if end > i => i = end,
                        _ => return i,
                    },
                }
            }
        }
        let start = i;
        i = ident(i);
        match String::from_utf8_lossy(&code[start..i]) {
            segment if segment == "self" || segment.is_empty() => {}
            segment => path.push(segment.into_owned()),
        }
        if !code[i..].starts_with(b"::") {
            found.push((path, start));
            if code[space(i)..].starts_with(b"as ") {
                i = ident(space(space(i) + 3)); // `Name as Alias`: the alias is no path
            }
            return i.max(start + 1);
        }
        i += 2;
    }
}

/// The module `path` names from module `from`: the longest existing module its segments start
/// with, counted from the root for `crate::` and from the parent for each `super::`. `None` for
/// `from` itself and for the crate root.
fn resolve(from: &str, path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    let mut segments: Vec<&str> = from.split("::").collect();
    for segment in path {
        match segment.as_str() {
            "crate" => segments.clear(),
            "super" => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut prefixes = (1..=segments.len()).rev().map(|n| segments[..n].join("::"));
    let to = prefixes.find(|m| modules.contains(m))?;
    (to != from).then_some(to)
}

/// Every import in the tree, once per file, line and module imported.
fn imports(files: &[File]) -> Vec<Import> {
    let modules = modules(files);
    let mut found = Vec::new();
    for file in files {
        let Some(from) = module_of(&file.path).filter(|m| !m.is_empty()) else {
            continue;
        };
        let lines = code_lines(&file.text);
        let text = lines.join("\n");
        let mut seen = BTreeSet::new();
        for (path, offset) in paths(text.as_bytes()) {
            let line = text[..offset].matches('\n').count() + 1;
            let Some(to) = resolve(&from, &path, &modules) else {
                continue;
            };
            if seen.insert((line, to.clone())) {
                let (at, code) = (format!("src/{}:{line}", file.path), lines[line - 1].trim());
                let (from, code) = (from.clone(), code.to_string());
                found.push(Import { at, from, to, code });
            }
        }
    }
    found
}

/// Rule 1: `file:line: code` for every import of `app` from outside `cli` and `main`.
fn root_imports(files: &[File]) -> Vec<String> {
    let outside = |i: &Import| !is_under(&i.from, "cli") && i.from != "main";
    let wrong = imports(files)
        .into_iter()
        .filter(|i| is_under(&i.to, "app") && outside(i));
    wrong.map(|i| format!("{}: {}", i.at, i.code)).collect()
}

/// Rule 2: every loop of imports that is not explained, with the imports that make it.
fn cycles(files: &[File]) -> Vec<String> {
    let imports = imports(files);
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in &imports {
        graph.entry(&i.from).or_default().insert(&i.to);
    }
    let mut problems = Vec::new();
    for modules in components(&graph) {
        let folder = folder_of(&modules);
        if folder.is_some_and(|folder| explains(files, folder)) {
            continue;
        }
        let (n, names) = (modules.len(), modules.join(", "));
        let mut report = format!("{n} modules import each other: {names}");
        if let Some(folder) = folder.map(|f| f.replace("::", "/")) {
            report += &format!("\n    (all in src/{folder}/, whose module file does not say why)");
        }
        let mut edges: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for i in &imports {
            if modules.contains(&i.from.as_str()) && modules.contains(&i.to.as_str()) {
                edges.entry((&i.from, &i.to)).or_default().push(&i.at);
            }
        }
        for ((from, to), at) in edges {
            report += &format!("\n    {from} -> {to} ({})", at.join(", "));
        }
        problems.push(report);
    }
    problems
}

/// The strongly connected components of more than one module: modules that reach each other.
fn components<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    let reach = |start: &'a str| {
        let (mut seen, mut stack) = (BTreeSet::new(), vec![start]);
        while let Some(module) = stack.pop() {
            for &next in graph.get(module).into_iter().flatten() {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&str, BTreeSet<&str>> = graph.keys().map(|&m| (m, reach(m))).collect();
    let mut found: Vec<Vec<&str>> = Vec::new();
    for (&module, reached) in &reaches {
        if reached.contains(module) && !found.iter().any(|c| c.contains(&module)) {
            let back = |m: &&str| reaches.get(m).is_some_and(|r| r.contains(module));
            found.push(reached.iter().copied().filter(back).collect());
        }
    }
    found
}

/// The folder (a module, not the root) that holds every module of `component`, if one does.
fn folder_of<'a>(component: &[&'a str]) -> Option<&'a str> {
    let holds = |f: &str| component.iter().all(|&m| m == f || parent(m) == f);
    let mut candidates = component.iter().flat_map(|&m| [m, parent(m)]);
    candidates.find(|&f| !f.is_empty() && holds(f))
}

/// The module file of `folder` says, in a `//!` line, why its modules import each other.
fn explains(files: &[File], folder: &str) -> bool {
    let says = |l: &str| l.trim_start().starts_with("//!") && l.contains("import each other");
    let mut module_files = files
        .iter()
        .filter(|f| module_of(&f.path).as_deref() == Some(folder));
    module_files.any(|f| f.text.lines().any(says))
}

/// `file:line names WORDS: code` for each line of the modules `which` accepts that names one of
/// `words` (but for a type the file declares itself).
fn naming(files: &[File], which: impl Fn(&str) -> bool, words: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chosen = files
        .iter()
        .filter(|f| module_of(&f.path).is_some_and(|m| which(&m)));
    for file in chosen {
        let code = code_lines(&file.text);
        let declared = |w: &str| {
            let kinds = ["struct", "enum", "trait", "type"];
            code.iter()
                .any(|l| kinds.iter().any(|k| has_word(l, &format!("{k} {w}"))))
        };
        for (n, line) in code.iter().enumerate() {
            let named = words
                .split(' ')
                .filter(|w| has_word(line, w) && !declared(w));
            let named = named.collect::<Vec<_>>().join(", ");
            if !named.is_empty() {
                let at = format!("src/{}:{}", file.path, n + 1);
                found.push(format!("{at} names {named}: {}", line.trim()));
            }
        }
    }
    found
}

/// Rule 3.
fn sql_outside_store(files: &[File]) -> Vec<String> {
    naming(files, |m| !is_under(m, "store"), SQL_WORDS)
}

/// Rule 4: the impure imports of pure modules, then the I/O they name.
fn impure(files: &[File]) -> Vec<String> {
    let wrong = imports(files)
        .into_iter()
        .filter(|i| is_pure(&i.from) && !is_pure(&i.to));
    let describe =
        |Import { at, to, code, .. }| format!("{at} imports {to}, which is not pure: {code}");
    let mut problems: Vec<String> = wrong.map(describe).collect();
    problems.extend(naming(files, is_pure, IO_WORDS));
    problems
}

/// Fails with every problem, one a line, then what the rule is for.
fn check(problems: Vec<String>, why: &str) {
    let (n, list) = (problems.len(), problems.join("\n  "));
    assert!(problems.is_empty(), "{n} problem(s):\n  {list}\n\n{why}\n");
}

/// The checker on small in-memory trees: each rule reports a seeded violation and accepts the
/// clean variant.
mod checker {
    use super::*;

    /// Fake files, each after a `== PATH` line; lines are trimmed.
    fn tree(spec: &str) -> Vec<File> {
        let mut files: Vec<File> = Vec::new();
        for line in spec.lines().map(str::trim) {
            match (line.strip_prefix("== "), files.last_mut()) {
                (Some(path), _) => files.push(File {
                    path: path.into(),
                    text: String::new(),
                }),
                (None, Some(file)) => file.text += &format!("{line}\n"),
                (None, None) => {}
            }
        }
        files
    }

    /// Every import as `from -> to (file:line)`.
    fn edges(spec: &str) -> Vec<String> {
        let edge = |i: Import| format!("{} -> {} ({})", i.from, i.to, i.at);
        imports(&tree(spec)).into_iter().map(edge).collect()
    }

    #[test]
    fn only_the_cli_may_import_the_root() {
        let clean = "== app.rs\n== cli/mod.rs\nuse crate::app::App;\n== main.rs\nuse tandem::app;";
        assert_eq!(root_imports(&tree(clean)), Vec::<String>::new());
        let seeded = tree("== app.rs\n== store/mod.rs\nfn f(app: &crate::app::App) {}");
        assert_eq!(
            root_imports(&seeded),
            ["src/store/mod.rs:1: fn f(app: &crate::app::App) {}"]
        );
    }

    #[test]
    fn nested_groups_over_several_lines_are_read() {
        let edges = edges(
            "== m.rs
            use crate::{
                a::{B, c},
                d, d::e::{self as f, G},
            };
            == a/mod.rs
            == a/c.rs
            == d.rs
            == d/e.rs",
        );
        let m = |to: &str, line: u8| format!("m -> {to} (src/m.rs:{line})");
        assert_eq!(edges, [m("a", 2), m("a::c", 2), m("d", 3), m("d::e", 3)]);
    }

    #[test]
    fn super_is_the_parent_module() {
        let edges = edges(
            "== x/mod.rs
            use super::y::Z;
            fn f() { super::w::g() }
            == x/y.rs
            use super::{Thing, z::Other};
            use super::super::w;
            == x/z.rs
            == y.rs
            == w.rs",
        );
        let (x, y) = ("src/x/mod.rs", "src/x/y.rs");
        let expected = [
            format!("x -> y ({x}:1)"),
            format!("x -> w ({x}:2)"),
            format!("x::y -> x ({y}:1)"),
            format!("x::y -> x::z ({y}:1)"),
            format!("x::y -> w ({y}:2)"),
        ];
        assert_eq!(edges, expected);
    }

    #[test]
    fn test_code_and_comments_are_skipped() {
        let edges = edges(
            r#"== reply/mod.rs
            #[cfg(test)]
            mod tests;
            //! crate::store
            let url = "http://x"; // crate::store
            let quote = '"'; // crate::store
            use crate::format::f;
            #[cfg(test)]
            mod tests {
                use crate::store::Y;
            }
            == reply/tests.rs
            use crate::store::Z;
            == store/mod.rs
            == format.rs"#,
        );
        assert_eq!(edges, ["reply -> format (src/reply/mod.rs:6)"]);
    }

    #[test]
    fn a_loop_across_folders_is_reported() {
        let files = tree("== a/mod.rs\nuse crate::b::B;\n== b/mod.rs\n\nuse crate::a::A;");
        let expected = "2 modules import each other: a, b
    a -> b (src/a/mod.rs:1)
    b -> a (src/b/mod.rs:2)";
        assert_eq!(cycles(&files), [expected]);
    }

    #[test]
    fn a_loop_inside_one_folder_needs_its_explanation() {
        // `src/r/mod.rs` with `src/r/q.rs`, and the 2018 layout `src/t/g.rs` with `src/t/g/q.rs`.
        for (folder, module_file, child) in
            [("r", "r/mod.rs", "r/q.rs"), ("t::g", "t/g.rs", "t/g/q.rs")]
        {
            let looping = |doc: &str| {
                let parent =
                    format!("== {module_file}\n{doc}\nfn f() {{ crate::{folder}::q::g() }}");
                tree(&format!("{parent}\n== {child}\nuse super::Y;"))
            };
            assert_eq!(
                cycles(&looping("//! Some module.")).len(),
                1,
                "{module_file}"
            );
            let explained = looping("//! It and q import each other: q needs Y.");
            assert_eq!(cycles(&explained), Vec::<String>::new());
        }
    }

    #[test]
    fn sqlx_is_named_only_in_the_store() {
        let files = tree(
            "== store/mod.rs
            use sqlx::SqlitePool;
            == cli/mod.rs
            fn f(c: &mut sqlx::SqliteConnection) {}
            let sqlxy = 1; // sqlx",
        );
        let expected = "src/cli/mod.rs:1 names sqlx, SqliteConnection: \
                        fn f(c: &mut sqlx::SqliteConnection) {}";
        assert_eq!(sql_outside_store(&files), [expected]);
    }

    #[test]
    fn pure_modules_import_pure_modules_and_do_no_io() {
        let clean = tree(
            "== schedule/plan.rs
            use super::cadence::Cadence;
            fn f(l: crate::domain::Locale) {}
            struct Clock; // its own, not the crate's
            == schedule/cadence.rs
            == domain/mod.rs
            == store/mod.rs
            async fn f() { tokio::task::yield_now().await }",
        );
        assert_eq!(impure(&clean), Vec::<String>::new());
        let seeded = tree(
            "== schedule/plan.rs
            use crate::store::Facts;
            async fn f(c: &dyn Clock) { tokio::time::sleep(d).await }
            == store/mod.rs",
        );
        let expected = [
            "src/schedule/plan.rs:1 imports store, which is not pure: use crate::store::Facts;",
            "src/schedule/plan.rs:2 names tokio, Clock: \
             async fn f(c: &dyn Clock) { tokio::time::sleep(d).await }",
        ];
        assert_eq!(impure(&seeded), expected);
    }
}
