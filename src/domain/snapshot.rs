//! Saving the whole state for a later `serve --import DIR` (as Firebase's emulators do).

use std::path::{Path, PathBuf};

use crate::store::{Store, EXPORT_FILE};

/// Writes the state into `dir` (created when missing). The copy is written beside the target
/// and renamed over it, so an earlier export in `dir` is never left half replaced.
pub async fn export(store: &Store, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let file = dir.join(EXPORT_FILE);
    let partial = dir.join(format!("{EXPORT_FILE}.partial"));
    let _ = std::fs::remove_file(&partial);
    store
        .export(partial.clone())
        .await
        .map_err(|e| format!("cannot export to {}: {e}", dir.display()))?;
    std::fs::rename(&partial, &file)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let meta = serde_json::json!({
        "format": "cortex-emu export",
        "emulator": env!("CARGO_PKG_VERSION"),
        "exported_at": store.clock().rfc3339(),
        "file": EXPORT_FILE,
    });
    std::fs::write(dir.join("export.json"), format!("{meta:#}\n"))
        .map_err(|e| format!("cannot write {}: {e}", dir.join("export.json").display()))?;
    Ok(file)
}
