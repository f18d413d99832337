//! Keeps `EXAMPLES.md` in step with the doc examples of the core, the store and the transport
//! layer, and holds those examples to one rule: an example that uses only names the stack
//! crates re-export is written with the stack crate's paths (`use pinterest_oauth_ureq::…`),
//! so that it compiles for an app whose one dependency is that crate. Its home crate compiles
//! it through one hidden alias line (`# use pinterest_oauth_core as pinterest_oauth_ureq;`),
//! which `EXAMPLES.md` leaves out: there it compiles against the real stack crate.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crates whose items the stack crates re-export.
const HOMES: [&str; 3] = ["oauth-core", "token-store", "transport"];
/// Their names in paths.
const HOME_PATHS: [&str; 3] = [
    "pinterest_oauth_core",
    "pinterest_oauth_store",
    "pinterest_oauth_transport",
];
/// The stack crates.
const STACKS: [&str; 2] = ["pinterest_oauth_ureq", "pinterest_oauth_hyper"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The names the stack crates re-export from each home crate (by its path): the transport
/// layer's prelude.
fn reexported() -> Vec<(&'static str, BTreeSet<String>)> {
    let prelude =
        std::fs::read_to_string(workspace().join("crates/transport/src/prelude.rs")).unwrap();
    let mut homes: Vec<(&'static str, BTreeSet<String>)> =
        HOME_PATHS.iter().map(|h| (*h, BTreeSet::new())).collect();
    for statement in prelude.split("pub use ").skip(1) {
        let statement = statement.split(';').next().unwrap_or("");
        if statement.contains(" as ") {
            continue;
        }
        let home = match statement.split("::").next().unwrap_or("").trim() {
            "crate" => "pinterest_oauth_transport",
            other => HOME_PATHS
                .iter()
                .copied()
                .find(|h| *h == other)
                .unwrap_or(""),
        };
        let list = match statement.split_once('{') {
            Some((_, list)) => list.trim_end_matches(|c: char| c == '}' || c.is_whitespace()),
            None => statement.rsplit("::").next().unwrap_or(""),
        };
        let Some((_, names)) = homes.iter_mut().find(|(h, _)| *h == home) else {
            continue;
        };
        for name in list.split(',') {
            let name = name.trim().rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                names.insert(name.to_owned());
            }
        }
    }
    homes
}

/// One doc example.
struct Example {
    file: String,
    line: usize,
    fence: String,
    lines: Vec<String>,
}

impl Example {
    /// Whether a line is hidden from the reader (rustdoc's `# `).
    fn hidden(line: &str) -> bool {
        line == "#" || line.starts_with("# ")
    }

    fn visible(&self) -> impl Iterator<Item = &String> {
        self.lines.iter().filter(|l| !Self::hidden(l))
    }

    /// The hidden line that lets the home crate compile a stack-crate example.
    fn is_alias(line: &str) -> bool {
        Self::hidden(line)
            && STACKS.iter().any(|s| {
                line.contains(&format!(" as {s};")) || line.starts_with(&format!("# mod {s} "))
            })
    }

    fn uses_stack(&self) -> bool {
        self.visible().any(|l| STACKS.iter().any(|s| l.contains(s)))
    }
}

/// Every Rust doc example in `dir` (not `text`, `ignore` or `compile_fail` ones).
fn examples(dir: &Path, out: &mut Vec<Example>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            examples(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path
            .strip_prefix(workspace())
            .unwrap()
            .display()
            .to_string();
        let mut open: Option<Example> = None;
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            let Some(doc) = trimmed
                .strip_prefix("///")
                .or_else(|| trimmed.strip_prefix("//!"))
            else {
                continue;
            };
            let doc = doc.strip_prefix(' ').unwrap_or(doc);
            if let Some(fence) = doc.trim_start().strip_prefix("```") {
                match open.take() {
                    Some(example) => {
                        let skip = ["text", "ignore", "compile_fail", "toml", "sh", "json"]
                            .iter()
                            .any(|s| example.fence.split(',').any(|f| f.trim() == *s));
                        if !skip {
                            out.push(example);
                        }
                    }
                    None => {
                        open = Some(Example {
                            file: file.clone(),
                            line: i + 1,
                            fence: fence.trim().to_owned(),
                            lines: Vec::new(),
                        })
                    }
                }
            } else if let Some(example) = open.as_mut() {
                example.lines.push(doc.to_owned());
            }
        }
    }
}

fn all_examples() -> Vec<Example> {
    let mut out = Vec::new();
    for home in HOMES {
        examples(&workspace().join("crates").join(home).join("src"), &mut out);
    }
    out
}

/// The names a visible line imports or names from a home crate's path, with that path.
fn home_names(line: &str) -> Vec<(&'static str, String)> {
    let mut names = Vec::new();
    for home in HOME_PATHS {
        for rest in line.split(&format!("{home}::")).skip(1) {
            let rest = rest.trim_start();
            let segment: String = if let Some(list) = rest.strip_prefix('{') {
                list.split('}').next().unwrap_or("").to_owned()
            } else {
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect()
            };
            for name in segment.split(',') {
                // `login::LoginConfig` counts as `login`; `seal::X` as `seal`.
                let first = name.trim().split("::").next().unwrap_or("").trim();
                if !first.is_empty() {
                    names.push((home, first.to_owned()));
                }
            }
        }
    }
    names
}

/// The file `EXAMPLES.md` should hold.
fn generated(examples: &[Example]) -> String {
    let mut out = String::from(
        "Generated by `tests/in_step.rs` from the doc examples of the core, the store and the\n\
         transport layer that are written with a stack crate's paths: each compiles here, where\n\
         the stack crates (and tokio) are the only dependencies. Do not edit: run\n\
         `PINTEREST_OAUTH_BLESS=1 cargo test -p doc-examples`.\n",
    );
    let mut last_file = "";
    for example in examples.iter().filter(|e| e.uses_stack()) {
        if example.file != last_file {
            out.push_str(&format!("\n# `{}`\n", example.file));
            last_file = &example.file;
        }
        let fence = if example.fence.is_empty() {
            "rust".to_owned()
        } else {
            example.fence.clone()
        };
        out.push_str(&format!("\n```{fence}\n"));
        for line in example.lines.iter().filter(|l| !Example::is_alias(l)) {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("```\n");
    }
    out
}

#[test]
fn examples_on_reexported_items_use_the_stack_crates_paths() {
    let homes = reexported();
    let reexports = |home: &str, name: &str| {
        homes
            .iter()
            .any(|(h, names)| *h == home && names.contains(name))
    };
    assert!(reexports("pinterest_oauth_core", "AppId"));
    assert!(reexports("pinterest_oauth_store", "FileStore"));
    assert!(reexports("pinterest_oauth_transport", "login"));
    assert!(
        !reexports("pinterest_oauth_core", "Error"),
        "the prelude's Error is the transport's"
    );
    let examples = all_examples();
    assert!(examples.len() > 50, "{} examples found", examples.len());
    let mut wrong = Vec::new();
    for example in &examples {
        let visible: Vec<(&str, String)> = example.visible().flat_map(|l| home_names(l)).collect();
        if !visible.is_empty() && visible.iter().all(|(h, n)| reexports(h, n)) {
            let shown: Vec<&str> = visible.iter().map(|(_, n)| n.as_str()).collect();
            wrong.push(format!(
                "{}:{}: uses only re-exported names ({}) through their home crate's path: write `use pinterest_oauth_ureq::…` (and the hidden alias line)",
                example.file,
                example.line,
                shown.join(", ")
            ));
        }
        // One written for the stack crate needs nothing else, hidden lines included.
        if example.uses_stack() {
            for line in example.lines.iter().filter(|l| !Example::is_alias(l)) {
                if HOME_PATHS.iter().any(|h| line.contains(h)) {
                    wrong.push(format!(
                        "{}:{}: written for a stack crate, but `{line}` needs another crate",
                        example.file, example.line
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} examples:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn examples_md_is_in_step_with_the_sources() {
    let expected = generated(&all_examples());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("EXAMPLES.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != expected {
        if std::env::var_os("PINTEREST_OAUTH_BLESS").is_some() {
            std::fs::write(&path, &expected).unwrap();
            return;
        }
        panic!(
            "{} is out of date with the doc examples: run `PINTEREST_OAUTH_BLESS=1 cargo test -p doc-examples`",
            path.display()
        );
    }
    assert!(
        expected.matches("```").count() >= 2 * 10,
        "too few examples:\n{expected}"
    );
}
