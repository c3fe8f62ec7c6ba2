//! The `.env` file beside `emulator.toml` is watched like the tools: a save re-reads the secret
//! values, and runs from then on see them. The terminal names the secrets whose value changed,
//! never the values.

use std::sync::Arc;

use notify::{RecursiveMode, Watcher};

use crate::domain::app::App;

/// An editor's save is a burst of events; the file is read once they have stopped for this long
/// (as long as hot reload's quiet window).
const QUIET: std::time::Duration = std::time::Duration::from_millis(25);

/// Watches the folder that holds `.env` (the file may not exist yet) and re-reads the secrets
/// on every change to it. Dropping the watcher stops watching.
pub fn watch(app: Arc<App>) -> notify::Result<notify::RecommendedWatcher> {
    let dir = app.config.base_dir.clone();
    let file = dir.join(".env");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            let ours = event
                .paths
                .iter()
                .any(|p| p.file_name() == Some(std::ffi::OsStr::new(".env")));
            if ours && !matches!(event.kind, notify::EventKind::Access(_)) {
                let _ = tx.send(());
            }
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // An editor's save is a burst of events: take them all, then read once.
            tokio::time::sleep(QUIET).await;
            while rx.try_recv().is_ok() {}
            reread(&app, &file);
        }
    });
    Ok(watcher)
}

fn reread(app: &App, file: &std::path::Path) {
    let (fresh, _missing) = app.config.secret_values();
    let mut current = app.secrets.write().unwrap();
    let changed: Vec<&String> = fresh
        .keys()
        .chain(current.keys())
        .filter(|k| fresh.get(*k) != current.get(*k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if changed.is_empty() {
        return;
    }
    let names = changed
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    app.say(&format!(
        "reloaded {}: {} changed (runs from now on see the new value)",
        file.display(),
        names
    ));
    *current = Arc::new(fresh);
}
