//! Hot reload: any change under a tool folder produces a new draft revision, checked off to the
//! side and swapped in only for that tool. What changed is announced as a [`ToolEvent`]; the MCP
//! face and the store's tool table subscribe.
//!
//! Events are grouped per tool folder and a folder is reloaded once it has been quiet for
//! [`QUIET`]. A global debouncer would split one tool's burst (an editor's rename dance, a
//! `git checkout` of many files) across windows and reload it twice; a per-folder quiet window is
//! what gives exactly one reload per tool, so it is written here on top of `notify`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::time::Instant;

use crate::domain::app::App;
use crate::domain::events::ToolEvent;
use crate::registry::{folder_label, load_tool, LoadDefaults, Tool};

/// How long a folder must be free of events before it is reloaded.
pub const QUIET: Duration = Duration::from_millis(25);

/// Keeps the watchers alive; dropping it stops watching.
pub struct WatchHandle {
    _watchers: Vec<notify::RecommendedWatcher>,
}

impl WatchHandle {
    /// Keeps another watcher alive as long as this handle.
    pub fn also(&mut self, watcher: notify::RecommendedWatcher) {
        self._watchers.push(watcher);
    }
}

/// Watches the functions folder and reloads tool folders in `app`'s registry as they change.
pub fn spawn(app: Arc<App>) -> notify::Result<WatchHandle> {
    let defaults: LoadDefaults = app.defaults.clone();
    let (handle, mut settled) = watch_folders(&app.config.functions.dir)?;
    tokio::spawn(async move {
        while let Some((folder, first)) = settled.recv().await {
            reload(&app, &folder, &defaults, first).await;
        }
    });
    Ok(handle)
}

/// Watches `dir` and yields each top-level folder below it once its burst of events has been
/// quiet for [`QUIET`], with the instant of the burst's first event. (`cortex-emu test --watch`
/// uses it too, to re-run a tool's cases after its reload.)
pub fn watch_folders(
    dir: &Path,
) -> notify::Result<(
    WatchHandle,
    tokio::sync::mpsc::UnboundedReceiver<(PathBuf, Instant)>,
)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            for p in event.paths {
                let _ = tx.send(p);
            }
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    let root = dir.canonicalize().unwrap_or(dir.to_path_buf());
    let (out, settled) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        // Folder name → (first event, last event) of the burst under way.
        let mut pending: HashMap<String, (Instant, Instant)> = HashMap::new();
        loop {
            let next = pending.values().map(|(_, last)| *last + QUIET).min();
            tokio::select! {
                received = rx.recv() => {
                    let Some(path) = received else { return };
                    if let Some(name) = folder_of(&root, &path) {
                        let now = Instant::now();
                        pending.entry(name).or_insert((now, now)).1 = now;
                    }
                }
                _ = sleep_until_opt(next), if next.is_some() => {
                    let now = Instant::now();
                    let ready: Vec<String> = pending
                        .iter()
                        .filter(|(_, (_, last))| *last + QUIET <= now)
                        .map(|(n, _)| n.clone())
                        .collect();
                    for name in ready {
                        let (first, _) = pending.remove(&name).expect("listed above");
                        if out.send((root.join(&name), first)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    Ok((
        WatchHandle {
            _watchers: vec![watcher],
        },
        settled,
    ))
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The top-level folder below `root` that `path` belongs to.
fn folder_of(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    (!first.starts_with('.')).then_some(first)
}

/// What differs between two revisions, for the reload line.
fn changes(old: &Tool, new: &Tool) -> String {
    let mut parts = Vec::new();
    let (a, b) = (&old.bundle.files, &new.bundle.files);
    let names: BTreeMap<&String, ()> = a.keys().chain(b.keys()).map(|k| (k, ())).collect();
    let mut packages = false;
    for name in names.keys() {
        if name.starts_with(".packages/") {
            packages |= a.get(*name) != b.get(*name);
            continue;
        }
        match (a.get(*name), b.get(*name)) {
            (Some(x), Some(y)) if x != y => parts.push(format!("{name} changed")),
            (None, Some(_)) => parts.push(format!("{name} added")),
            (Some(_), None) => parts.push(format!("{name} removed")),
            _ => {}
        }
    }
    if packages {
        parts.push("packages changed".into());
    }
    let same_code = Tool {
        bundle: old.bundle.clone(),
        ..new.clone()
    };
    if &same_code != old {
        parts.push("tool.toml changed".into());
    }
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join(", ")
    }
}

/// Reloads one folder: removed → 404; broken → previous revision keeps serving; else swapped in.
pub async fn reload(state: &App, folder: &Path, defaults: &LoadDefaults, first_event: Instant) {
    let label = folder_label(folder);
    let current = state.registry.for_folder(folder);
    // A deleted folder, or one that no longer holds a handler file, serves no tool.
    if !folder.is_dir() || !crate::registry::is_tool_folder(folder) {
        state.registry.clear_problem(&label);
        if let Some(t) = state.registry.remove_folder(folder) {
            state.say(&format!("removed {} (folder {label} deleted)", t.id));
            let _ = state.tool_events.send(ToolEvent::Removed(t.id.clone()));
        }
        return;
    }
    let tool = match load_tool(folder, defaults) {
        Ok(t) => t,
        Err(message) => {
            report_problem(state, &label, &message, current.is_some());
            return;
        }
    };
    if install_packages(state, &tool).await {
        // The new packages arrive as their own save, which reloads the tool with them.
        return;
    }
    if let Some(cur) = &current {
        if **cur == tool {
            // The save restored the content that serves. If an error was shown, say it is gone,
            // unless the serving revision is itself the broken one (found broken at start).
            if state.registry.problems().iter().any(|p| p.folder == label) {
                if let Err(problem) = state
                    .executor
                    .check(tool.runtime, tool.cpython, tool.bundle.clone())
                    .await
                {
                    report_problem(state, &label, &problem, false);
                    return;
                }
                state.say(&format!("fixed {label}: back to the revision that serves"));
            }
            state.registry.clear_problem(&label);
            return;
        }
    }
    if let Err(problem) = state
        .executor
        .check(tool.runtime, tool.cpython, tool.bundle.clone())
        .await
    {
        report_problem(state, &label, &problem, current.is_some());
        return;
    }
    let what = match &current {
        Some(cur) => changes(cur, &tool),
        None => "new tool".into(),
    };
    match state.registry.install(tool) {
        Ok(t) => {
            state.registry.clear_problem(&label);
            let ms = first_event.elapsed().as_secs_f64() * 1000.0;
            state.say(&format!("reloaded {} ({what}) in {ms:.1} ms", t.id));
            crate::domain::settings::announce(state, &t);
            let _ = state.tool_events.send(ToolEvent::Reloaded(t));
        }
        Err(message) => report_problem(state, &label, &message, current.is_some()),
    }
}

/// How long start-up checks wait for the first run to answer before they begin anyway.
const START_CHECK_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Installs a Python tool's `requirements.txt` when its packages were installed from another
/// one (or never), with the progress on the terminal; true when an install succeeded.
async fn install_packages(state: &App, tool: &Tool) -> bool {
    if tool.runtime != crate::registry::Runtime::Python
        || !crate::domain::packages::stale(&tool.folder)
    {
        return false;
    }
    let label = folder_label(&tool.folder);
    state.say(&format!(
        "{label}: requirements.txt changed, installing its packages (pip)"
    ));
    let folder = tool.folder.clone();
    let cpython = state.config.cpython_path();
    let started = Instant::now();
    match tokio::task::spawn_blocking(move || {
        crate::domain::packages::install(&folder, cpython.as_deref())
    })
    .await
    {
        Ok(Ok(n)) => {
            state.say(&format!(
                "{label}: installed {n} Python modules in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            true
        }
        Ok(Err(e)) => {
            state.say(&format!(
                "{label}: {e} (run `cortex-emu deps {label}` to retry)"
            ));
            false
        }
        Err(_) => false,
    }
}

/// Checks every tool found at start the way a reload checks a save, off the start-up path: a
/// tool whose code does not compile or lacks its handler is reported on the terminal and in
/// `/_emulator/health` within moments of the start, not only when it is first invoked. It stays
/// listed, and runs answer with its error, as on the platform.
pub async fn check_at_start(app: &App) {
    // A request sent as soon as the emulator is ready would otherwise find the worker busy with
    // a check and start a second one (for Python, a second interpreter starting beside the
    // first on a 2-core machine): the checks begin once the first run has answered, or after
    // START_CHECK_GRACE without one (issue 15: first 200 after start).
    app.executor.first_answer(START_CHECK_GRACE).await;
    for tool in app.registry.list() {
        install_packages(app, &tool).await;
        crate::domain::settings::announce(app, &tool);
        if let Err(problem) = app
            .executor
            .check(tool.runtime, tool.cpython, tool.bundle.clone())
            .await
        {
            let label = folder_label(&tool.folder);
            app.registry.set_problem(&label, problem.clone());
            announce(
                app,
                &label,
                &problem,
                "its runs answer with this error until it is fixed",
            );
        }
    }
}

fn report_problem(state: &App, label: &str, message: &str, serving: bool) {
    state.registry.set_problem(label, message.to_string());
    let tail = if serving {
        "the previous revision keeps serving"
    } else {
        "not loaded"
    };
    announce(state, label, message, tail);
}

fn announce(state: &App, label: &str, message: &str, tail: &str) {
    // Messages that start with `file:line:` are shown as a path into the tool's folder.
    let located = message
        .split_once(' ')
        .is_some_and(|(head, _)| head.contains(':') && !head.ends_with("::"));
    let sep = if located { "/" } else { ": " };
    state.say(&format!("error in {label}{sep}{message} ({tail})"));
}
