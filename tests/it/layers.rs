//! The layering of `src/` (docs/ARCHITECTURE.md): imports run one way, faces → domain → engines
//! → leaves, and no file imports another that imports it back, directly or around a circle.
//! Read from the `crate::` and `super::` paths of every source file (test modules excluded).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer; a module may import only from its own layer or below.
const LAYERS: &[(&str, u8)] = &[
    ("cli", 4),
    ("emulator", 4),
    ("server", 4),
    ("faces", 4),
    ("planes", 4),
    ("domain", 3),
    ("executor", 2),
    ("runtime", 2),
    ("registry", 2),
    ("store", 2),
    ("config", 1),
    ("catalogue", 1),
    ("clock", 1),
    ("jsonfmt", 1),
    ("money", 1),
    ("protocol", 1),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `src/domain/runs.rs` → `["domain", "runs"]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The file that defines the longest prefix of `path` (a module path below the crate root).
fn file_of(path: &[String]) -> Option<PathBuf> {
    for n in (1..=path.len()).rev() {
        let base = path[..n].iter().fold(src(), |p, s| p.join(s));
        for candidate in [base.with_extension("rs"), base.join("mod.rs")] {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The source without `#[cfg(test)]` modules and comments, roughly: enough to read imports.
fn code_of(text: &str) -> String {
    let cut = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..cut]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_path(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let n = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if n == 0 {
            break;
        }
        out.push(rest[..n].to_string());
        rest = &rest[n..];
        match rest.strip_prefix("::") {
            Some(r) if r.starts_with(|c: char| c.is_alphanumeric() || c == '_') => rest = r,
            _ => break,
        }
    }
    out
}

/// Paths named after `prefix::` (braces expanded one level), relative to the crate root.
fn referenced(code: &str, prefix: &str, base: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let needle = format!("{prefix}::");
    let mut at = 0;
    while let Some(i) = code[at..].find(&needle) {
        let start = at + i;
        at = start + needle.len();
        let before = code[..start].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at..];
        let mut heads = Vec::new();
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                heads.push(ident_path(item.trim()));
            }
        } else {
            heads.push(ident_path(rest));
        }
        for h in heads
            .into_iter()
            .filter(|h| !h.is_empty() && h[0] != "self")
        {
            let mut p = base.to_vec();
            p.extend(h);
            found.push(p);
        }
    }
    found
}

fn rank(module: &[String]) -> Option<u8> {
    let top = module.first()?;
    LAYERS.iter().find(|(m, _)| m == top).map(|(_, r)| *r)
}

fn graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in files {
        let module = module_of(&file);
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let mut targets = referenced(&code, "crate", &[]);
        // `super::` in `a/b.rs` (module a::b) names module `a`; in `a/mod.rs`, the parent of `a`.
        if !module.is_empty() {
            targets.extend(referenced(&code, "super", &module[..module.len() - 1]));
        }
        let entry = edges.entry(file.clone()).or_default();
        for t in targets {
            if let Some(target) = file_of(&t) {
                if target != file {
                    entry.insert(target);
                }
            }
        }
    }
    edges
}

fn show(p: &Path) -> String {
    p.strip_prefix(src().parent().unwrap())
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn imports_never_run_up_a_layer() {
    let mut wrong = Vec::new();
    for (from, tos) in graph() {
        let Some(r_from) = rank(&module_of(&from)) else {
            continue;
        };
        for to in tos {
            if let Some(r_to) = rank(&module_of(&to)) {
                if r_to > r_from {
                    wrong.push(format!("{} imports {}", show(&from), show(&to)));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up a layer:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let unknown: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| !m.is_empty() && rank(m).is_none())
        .map(|m| m[0].clone())
        .collect();
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS: {unknown:?}"
    );
}

#[test]
fn no_import_cycles() {
    let edges = graph();
    // Depth-first search; a file met again while still on the path closes a circle.
    fn visit(
        f: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        path: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
        circles: &mut Vec<String>,
    ) {
        if let Some(i) = path.iter().position(|p| p == f) {
            let circle: Vec<String> = path[i..].iter().chain([f]).map(|p| show(p)).collect();
            circles.push(circle.join(" -> "));
            return;
        }
        if !done.insert(f.clone()) {
            return;
        }
        path.push(f.clone());
        for t in edges.get(f).into_iter().flatten() {
            visit(t, edges, path, done, circles);
        }
        path.pop();
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for f in edges.keys() {
        visit(f, &edges, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "import circles:\n  {}",
        circles.join("\n  ")
    );
}
