//! The fold plane's dev loop: the folder `[fold] dir` is deployed at start and on every save,
//! with the tools' hot reload, so the dev loop is the same on both planes.
//!
//! Layout: `<dir>/<organization slug>/<function name>/index.js`, optionally with a `fold.toml`
//! beside it: `bindings = ["key-value:user-store", "database:orders"]`.
//!
//! A save is seen through [`watch_folders`], which yields the *top-level* folder a burst of
//! events touched: here an organization folder. So the whole organization folder is rescanned
//! ([`scan_org`]), and a function is deployed only when its code (the sha256 hex the deploy
//! route stores) or its bindings differ from the version in force: saving one file deploys
//! just that function, and everything else in the folder is left as it is. A deploy from here
//! is checked exactly as `POST /deploy` checks one; a broken save deploys nothing, and the
//! version in force keeps serving.
//!
//! The folder is the source of truth of the dev loop: a function rolled back through the API
//! is deployed again from its folder the next time its organization folder is rescanned (or
//! the emulator starts) if its code differs from the rolled-back version.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::bindings;
use super::code;
use super::envelope::FoldError;
use super::functions::{valid_name, MAX_CODE_BYTES};
use crate::domain::app::App;
use crate::domain::reload::{watch_folders, WatchHandle};
use crate::store::fold::FoldVersion;
use crate::store::StoreError;

/// A function's module, in its folder.
const ENTRY: &str = "index.js";
/// A function's optional settings, beside its module.
const MANIFEST: &str = "fold.toml";

/// What a scan did with one function folder (or with an organization folder it skipped).
/// `label` is `organization/function`, or the folder's name for a skipped organization folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A new version is in force; `what` says what differed from the previous one.
    Deployed {
        label: String,
        version: i64,
        what: String,
    },
    /// Code and bindings are those of the version in force: nothing deployed.
    Unchanged { label: String, version: i64 },
    /// Nothing deployed; `in_force` is the version that keeps serving, if there is one.
    /// `message` starts with the file it is about (`index.js:4:7: ...`) when there is one.
    Problem {
        label: String,
        message: String,
        in_force: Option<i64>,
    },
    /// Not a function folder the plane can deploy (unknown organization, invalid name).
    Skipped { label: String, reason: String },
}

/// `fold.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FoldToml {
    #[serde(default)]
    bindings: Vec<String>,
}

/// Deploys every function under `[fold] dir` now, then watches it; None when no dir is set.
pub(crate) async fn start(app: Arc<App>) -> Option<notify::Result<WatchHandle>> {
    let dir = app.config.fold.dir.clone()?;
    if !dir.is_dir() {
        // **choice**: nothing is created (a mistyped path would become an empty folder that
        // silently deploys nothing) and nothing is watched (notify cannot watch a missing path,
        // and watching its parent would take every sibling's events). The warning is printed
        // here, once; the error returned is notify's PathNotFound, so the caller need not
        // print another.
        if !app.quiet {
            let what = if dir.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            eprintln!(
                "warning: fold dir {} {what}; no functions are deployed from it\n  hint: create it and restart, or fix [fold] dir in emulator.toml",
                dir.display()
            );
        }
        return Some(Err(notify::Error::path_not_found().add_path(dir)));
    }
    // Watching starts before the first scan, so a save made during it is not missed: it is
    // rescanned after (and found unchanged if the scan already deployed it).
    let watching = watch_folders(&dir);
    let mut terminal = Terminal::default();
    let (mut in_force, mut deployed) = (0, 0);
    for org_folder in org_folders(&dir) {
        let began = Instant::now();
        let outcomes = scan_org(&app, &org_folder).await;
        for o in &outcomes {
            match o {
                Outcome::Deployed { .. } => {
                    in_force += 1;
                    deployed += 1;
                }
                Outcome::Unchanged { .. } => in_force += 1,
                Outcome::Problem {
                    in_force: Some(_), ..
                } => in_force += 1,
                _ => {}
            }
        }
        terminal.say(&app, &outcomes, began);
    }
    app.say(&format!(
        "fold: {} in force from {} ({deployed} deployed now)",
        crate::domain::terminal::count(in_force, "function"),
        dir.display()
    ));
    let (handle, mut settled) = match watching {
        Ok(w) => w,
        Err(e) => return Some(Err(e)),
    };
    tokio::spawn(async move {
        while let Some((org_folder, first_event)) = settled.recv().await {
            let outcomes = scan_org(&app, &org_folder).await;
            terminal.say(&app, &outcomes, first_event);
        }
    });
    Some(Ok(handle))
}

/// Deploys what changed in one organization folder, and says what happened per function.
///
/// A removed function folder (or a removed organization folder) deletes nothing: a deployed
/// function is state, like a published tool; delete it through the API.
pub(crate) async fn scan_org(app: &App, org_folder: &Path) -> Vec<Outcome> {
    if !org_folder.is_dir() {
        return Vec::new();
    }
    let slug = name_of(org_folder);
    let Some(org) = app.store.org_by_slug(&slug) else {
        let known: Vec<String> = app
            .store
            .organizations()
            .into_iter()
            .map(|o| o.slug)
            .collect();
        return vec![Outcome::Skipped {
            label: slug,
            reason: format!(
                "not an organization (known: {}); its functions are not deployed",
                known.join(", ")
            ),
        }];
    };
    let folders = match function_folders(org_folder) {
        Ok(f) => f,
        Err(e) => {
            return vec![Outcome::Skipped {
                label: slug,
                reason: format!("cannot list the folder: {e}"),
            }]
        }
    };
    let mut outcomes = Vec::new();
    for folder in folders {
        let name = name_of(&folder);
        let label = format!("{slug}/{name}");
        if !valid_name(&name) {
            outcomes.push(Outcome::Skipped {
                label,
                reason: "not a function name: use 1-63 lowercase letters, digits or hyphens, starting with a letter or digit (not deployed)".into(),
            });
            continue;
        }
        outcomes.push(deploy_folder(app, &org.id, &folder, &name, &label).await);
    }
    outcomes
}

/// Deploys one function folder if its code or bindings differ from the version in force,
/// checked as `POST /deploy` checks a deploy (size, bindings, then the module).
async fn deploy_folder(app: &App, org_id: &str, folder: &Path, name: &str, label: &str) -> Outcome {
    let current = match version_in_force(app, org_id, name).await {
        Ok(v) => v,
        Err(e) => {
            return Outcome::Problem {
                label: label.to_string(),
                message: format!("cannot read the version in force: {e}"),
                in_force: None,
            }
        }
    };
    let in_force = current.as_ref().map(|v| v.version);
    let fail = |message: String| Outcome::Problem {
        label: label.to_string(),
        message,
        in_force,
    };
    let code = match read_code(&folder.join(ENTRY)) {
        Ok(c) => c,
        Err(m) => return fail(m),
    };
    let bindings = match read_manifest(&folder.join(MANIFEST)) {
        Ok(b) => b,
        Err(m) => return fail(m),
    };
    // The hash exactly as the deploy route computes it.
    let hash = format!("{:x}", Sha256::digest(code.as_bytes()));
    let what = match &current {
        None => "new function".to_string(),
        Some(v) => {
            let parts: Vec<&str> = [
                (v.code_hash != hash, "index.js changed"),
                (v.bindings != bindings, "bindings changed"),
            ]
            .into_iter()
            .filter(|(differs, _)| *differs)
            .map(|(_, part)| part)
            .collect();
            if parts.is_empty() {
                return Outcome::Unchanged {
                    label: label.to_string(),
                    version: v.version,
                };
            }
            parts.join(", ")
        }
    };
    if let Err(e) = bindings::check(app, org_id, &bindings).await {
        return fail(format!("{MANIFEST}: {}", binding_problem(&e)));
    }
    // The parser runs on a thread of its own and is waited for: off the async workers.
    let checked = tokio::task::spawn_blocking(move || {
        let result = code::check(&code);
        (code, result)
    })
    .await;
    let code = match checked {
        Ok((code, Ok(()))) => code,
        Ok((_, Err(details))) => return fail(code_problem(&details)),
        Err(e) => return fail(format!("{ENTRY}: the module check failed: {e}")),
    };
    match app
        .store
        .fold_deploy(org_id, name, code, bindings, hash)
        .await
    {
        Ok(deployed) => Outcome::Deployed {
            label: label.to_string(),
            version: deployed.function.version,
            what,
        },
        Err(e) => fail(format!("the deploy could not be stored: {e}")),
    }
}

/// The version of the organization's function `name` that serves, if it exists.
async fn version_in_force(
    app: &App,
    org_id: &str,
    name: &str,
) -> Result<Option<FoldVersion>, StoreError> {
    let Some(f) = app.store.fold_function_by_name(org_id, name).await? else {
        return Ok(None);
    };
    app.store.fold_version(&f.id, f.version).await
}

/// The module, with the deploy route's checks of the `code` field (size, not empty).
fn read_code(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{ENTRY}: cannot read: {e}"))?;
    if bytes.len() > MAX_CODE_BYTES {
        return Err(format!(
            "{ENTRY}: {} bytes; the limit is 5 MB ({MAX_CODE_BYTES} bytes)",
            bytes.len()
        ));
    }
    let code = String::from_utf8(bytes).map_err(|_| format!("{ENTRY}: not UTF-8 text"))?;
    if code.trim().is_empty() {
        return Err(format!(
            "{ENTRY}: empty; write export default {{ async fetch(request, env, ctx) {{ ... }} }}"
        ));
    }
    Ok(code)
}

/// The bindings `fold.toml` lists; none without the file.
fn read_manifest(path: &Path) -> Result<Vec<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_manifest(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{MANIFEST}: cannot read: {e}")),
    }
}

/// `fold.toml`'s bindings, or `fold.toml:LINE: message` (the style of `tool.toml` problems).
fn parse_manifest(text: &str) -> Result<Vec<String>, String> {
    toml::from_str::<FoldToml>(text)
        .map(|m| m.bindings)
        .map_err(|e| {
            let line = e
                .span()
                .map(|s| {
                    let end = s.start.min(text.len());
                    text.as_bytes()[..end]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count()
                        + 1
                })
                .unwrap_or(1);
            format!("{MANIFEST}:{line}: {}", e.message().trim())
        })
}

/// `CODE_INVALID`'s details as `index.js:LINE:COLUMN: message` (or `index.js: message`).
fn code_problem(details: &serde_json::Value) -> String {
    let message = details["message"]
        .as_str()
        .unwrap_or("the module does not parse");
    match (details["line"].as_u64(), details["column"].as_u64()) {
        (Some(line), Some(column)) => {
            // Boa repeats the place at the end of its message; it is shown once, in front.
            let tail = format!(" at line {line}, col {column}");
            let message = message.strip_suffix(tail.as_str()).unwrap_or(message);
            format!("{ENTRY}:{line}:{column}: {message}")
        }
        _ => format!("{ENTRY}: {message}"),
    }
}

/// What [`bindings::check`] refused, in words for the terminal.
fn binding_problem(e: &FoldError) -> String {
    let binding = e.details["binding"].as_str().unwrap_or_default();
    match e.id {
        "F-binding-missing" => {
            format!("binding {binding:?} is not defined under [fold] bindings in emulator.toml nor through POST /bindings")
        }
        "F-binding-denied" => format!(
            "binding {binding:?} is not in the allowed_bindings of organization {} in emulator.toml",
            e.details["organization"].as_str().unwrap_or_default()
        ),
        _ => match e.details["message"].as_str() {
            Some(m) => m.to_string(),
            None => e.body().to_string(),
        },
    }
}

/// The folders directly below `dir`, except hidden ones, by name.
fn org_folders(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !name_of(p).starts_with('.'))
        .collect();
    folders.sort();
    folders
}

/// The function folders of an organization folder: those holding an `index.js`, by name.
fn function_folders(org_folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(org_folder)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !name_of(p).starts_with('.') && p.join(ENTRY).is_file())
        .collect();
    folders.sort();
    Ok(folders)
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Prints outcomes in the style of the tools' reload lines. A rescan finds every problem of
/// the organization folder again, so a problem or warning is printed only when it is new for
/// its label; a function that was in error and is now fine is said to be fixed.
#[derive(Default)]
struct Terminal {
    /// Label → the problem or warning line last printed for it.
    shown: HashMap<String, String>,
}

impl Terminal {
    fn say(&mut self, app: &App, outcomes: &[Outcome], since: Instant) {
        for outcome in outcomes {
            match outcome {
                Outcome::Deployed {
                    label,
                    version,
                    what,
                } => {
                    self.shown.remove(label);
                    let ms = since.elapsed().as_secs_f64() * 1000.0;
                    app.say(&format!(
                        "fold: deployed {label} v{version} ({what}) in {ms:.1} ms"
                    ));
                }
                Outcome::Unchanged { label, version } => {
                    if self.shown.remove(label).is_some() {
                        app.say(&format!(
                            "fold: fixed {label}: back to v{version}, the version in force"
                        ));
                    }
                }
                Outcome::Problem {
                    label,
                    message,
                    in_force,
                } => {
                    let tail = match in_force {
                        Some(v) => format!("v{v} stays in force"),
                        None => "not deployed".to_string(),
                    };
                    // As reload's lines: a message that starts with `file:` is a path into
                    // the function's folder.
                    let located = message
                        .split_once(' ')
                        .is_some_and(|(head, _)| head.contains(':') && !head.ends_with("::"));
                    let sep = if located { "/" } else { ": " };
                    self.once(
                        app,
                        label,
                        format!("fold: error in {label}{sep}{message} ({tail})"),
                    );
                }
                Outcome::Skipped { label, reason } => {
                    self.once(app, label, format!("fold: warning in {label}: {reason}"));
                }
            }
        }
    }

    fn once(&mut self, app: &App, label: &str, line: String) {
        if self.shown.get(label) != Some(&line) {
            app.say(&line);
            self.shown.insert(label.to_string(), line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fold_toml_lists_bindings() {
        assert_eq!(
            parse_manifest("bindings = [\"key-value:user-store\", \"database:orders\"]\n"),
            Ok(vec![
                "key-value:user-store".to_string(),
                "database:orders".to_string()
            ])
        );
        assert_eq!(parse_manifest(""), Ok(Vec::new()));
    }

    #[test]
    fn a_bad_fold_toml_names_the_file_and_line() {
        let e = parse_manifest("bindings = []\nroutes = 1\n").unwrap_err();
        assert!(e.starts_with("fold.toml:2: "), "{e}");
        assert!(e.contains("unknown field"), "{e}");
        let e = parse_manifest("bindings = [1]\n").unwrap_err();
        assert!(e.starts_with("fold.toml:1: "), "{e}");
        let e = parse_manifest("\nbindings = [\n").unwrap_err();
        assert!(e.starts_with("fold.toml:"), "{e}");
    }

    #[test]
    fn code_problems_are_located_in_index_js() {
        assert_eq!(
            code_problem(
                &json!({"message": "unexpected token at line 4, col 7", "line": 4, "column": 7})
            ),
            "index.js:4:7: unexpected token"
        );
        assert_eq!(
            code_problem(&json!({"message": "the module has no default export"})),
            "index.js: the module has no default export"
        );
    }
}
