//! A Python tool's packages: `requirements.txt` installed into the tool's `.packages/` folder,
//! which the bundle carries and the sandbox imports from (after the tool's own modules). Done by
//! `cortex-emu deps <tool>`, and by the dev loop when a tool loads with a `requirements.txt`
//! its packages were not installed from.
//!
//! pip does the work (the machine's `python3 -m pip`, or `CORTEX_EMU_PIP`): no Rust crate
//! resolves and installs Python distributions. It is asked for pure-Python wheels only
//! (`--platform any --implementation py --only-binary=:all:`), since RustPython cannot load
//! native extensions; a requirement that has none fails here with the package named, not at
//! import time in a run.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::registry::PACKAGES_DIR as PACKAGES;
/// The stamp in [`PACKAGES`]: the hash of the `requirements.txt` it was installed from.
const STAMP: &str = ".requirements.sha256";

/// The hash of a `requirements.txt`'s text.
pub fn requirements_hash(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// Whether the tool's packages are missing or were installed from another `requirements.txt`.
pub fn stale(folder: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(folder.join("requirements.txt")) else {
        return false;
    };
    std::fs::read_to_string(folder.join(PACKAGES).join(STAMP))
        .map(|s| s.trim() != requirements_hash(&text))
        .unwrap_or(true)
}

/// Installs `folder/requirements.txt` into `folder/.packages`, showing pip's progress; the old
/// packages stay until the new set is complete.
pub fn install(folder: &Path) -> Result<usize, String> {
    let requirements = folder.join("requirements.txt");
    let text = std::fs::read_to_string(&requirements).map_err(|e| {
        format!(
            "{}: {e} (a Python tool lists its packages in requirements.txt, one per line)",
            requirements.display()
        )
    })?;
    // Staged beside the tool folders under a hidden name, so a failed install changes nothing the
    // watcher reloads (and cannot start itself again).
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = folder
        .parent()
        .unwrap_or(folder)
        .join(format!(".cortex-emu-packages-{name}"));
    let _ = std::fs::remove_dir_all(&staging);
    let pip = std::env::var("CORTEX_EMU_PIP").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(&pip);
    if !pip.ends_with("pip") && !pip.ends_with("pip3") {
        cmd.args(["-m", "pip"]);
    }
    cmd.args([
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--retries",
        "1",
        "--target",
    ])
    .arg(&staging)
    .args([
        "--platform",
        "any",
        "--implementation",
        "py",
        "--python-version",
        "3.13",
        "--only-binary=:all:",
        "-r",
    ])
    .arg(&requirements);
    eprintln!(
        "installing {} into {} (pure-Python wheels only)",
        requirements.display(),
        folder.join(PACKAGES).display()
    );
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {pip} -m pip: {e} (set CORTEX_EMU_PIP to a pip)"))?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(format!(
            "pip could not install {}: a requirement above has no pure-Python wheel (it needs \
             native code, which RustPython cannot load: numpy, pandas, pydantic-core, ...) or \
             does not exist",
            requirements.display()
        ));
    }
    std::fs::write(staging.join(STAMP), requirements_hash(&text) + "\n")
        .map_err(|e| format!("{}: {e}", staging.display()))?;
    let target = folder.join(PACKAGES);
    let _ = std::fs::remove_dir_all(&target);
    std::fs::rename(&staging, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    Ok(count_py(&target))
}

fn count_py(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "py") {
                n += 1;
            }
        }
    }
    n
}
