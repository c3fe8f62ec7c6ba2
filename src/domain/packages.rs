//! A Python tool's packages: `requirements.txt` installed into the tool's `.packages/` folder,
//! which the bundle carries and the sandbox imports from (after the tool's own modules). Done by
//! `cortex-emu deps <tool>`, and by the dev loop when a tool loads with requirements its
//! packages were not installed from (`requirements.txt`, and `requests` when the code imports
//! it, as production preinstalls it).
//!
//! pip does the work (the machine's `python3 -m pip`, or `CORTEX_EMU_PIP`): no Rust crate
//! resolves and installs Python distributions. It is asked for pure-Python wheels only
//! (`--platform any --implementation py --only-binary=:all:`), since RustPython cannot load
//! native extensions; a requirement that has none fails here with the package named, not at
//! import time in a run. A tool with `runtime = "python:cpython"` gets its packages from that
//! CPython's own pip instead, native wheels included, in `.packages-cpython/` (not bundled).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::registry::{CPYTHON_PACKAGES_DIR, PACKAGES_DIR};
/// The stamp in [`PACKAGES`]: the hash of the `requirements.txt` it was installed from.
const STAMP: &str = ".requirements.sha256";

/// The hash of a `requirements.txt`'s text.
pub fn requirements_hash(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// What a tool needs installed: its `requirements.txt`, plus `requests` when its code imports
/// it without listing it (**choice**: production preinstalls `requests`, so real tools never
/// list it; here it is installed with the tool's own packages). `None`: nothing to install.
pub fn requirements(folder: &Path) -> Option<String> {
    static NAME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static IMPORT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let mut text = std::fs::read_to_string(folder.join("requirements.txt")).unwrap_or_default();
    let name =
        NAME.get_or_init(|| regex::Regex::new(r"(?im)^\s*requests\s*(?:[\[<>=~!;#]|$)").unwrap());
    if !name.is_match(&text) {
        let import = IMPORT.get_or_init(|| {
            regex::Regex::new(r"(?m)^\s*(?:import\s+requests\b|from\s+requests\b)").unwrap()
        });
        let imports = std::fs::read_dir(folder)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "py"))
            .any(|p| std::fs::read_to_string(p).is_ok_and(|code| import.is_match(&code)));
        if imports {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("requests  # preinstalled on the platform\n");
        }
    }
    (!text.trim().is_empty()).then_some(text)
}

/// The folder a tool's packages go in: by the runtime its tool.toml declares.
pub fn packages_dir(folder: &Path) -> PathBuf {
    folder.join(if crate::registry::declares_cpython(folder) {
        CPYTHON_PACKAGES_DIR
    } else {
        PACKAGES_DIR
    })
}

/// Whether the tool's packages are missing or were installed from other requirements.
pub fn stale(folder: &Path) -> bool {
    let Some(text) = requirements(folder) else {
        return false;
    };
    std::fs::read_to_string(packages_dir(folder).join(STAMP))
        .map(|s| s.trim() != requirements_hash(&text))
        .unwrap_or(true)
}

/// Installs `folder/requirements.txt` into `folder/.packages` (or `.packages-cpython`), showing
/// pip's progress; the old packages stay until the new set is complete. `cpython` is the
/// configured interpreter (`[python] cpython`) for a CPython tool.
pub fn install(folder: &Path, cpython: Option<&Path>) -> Result<usize, String> {
    let native = crate::registry::declares_cpython(folder);
    let target = packages_dir(folder);
    let listed = folder.join("requirements.txt");
    let text = requirements(folder).ok_or_else(|| {
        format!(
            "{} does not exist (a Python tool lists its packages in requirements.txt, one per line)",
            listed.display()
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
    // pip reads the requirements from a file: the effective ones, beside the staging folder.
    let requirements = staging.with_extension("txt");
    std::fs::write(&requirements, &text).map_err(|e| format!("{}: {e}", requirements.display()))?;
    let pip = if native {
        crate::runtime::cpython::find(cpython)
            .map_err(|e| {
                format!(
                    "{} has runtime = \"python:cpython\", but {e}",
                    folder.display()
                )
            })?
            .path
            .to_string_lossy()
            .into_owned()
    } else {
        std::env::var("CORTEX_EMU_PIP").unwrap_or_else(|_| "python3".into())
    };
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
    .arg(&staging);
    if native {
        // CPython's own pip picks the wheels for that interpreter, native code included.
        cmd.args(["--root-user-action", "ignore", "-r"]);
    } else {
        cmd.args([
            "--platform",
            "any",
            "--implementation",
            "py",
            "--python-version",
            "3.13",
            "--only-binary=:all:",
            "-r",
        ]);
    }
    cmd.arg(&requirements);
    let what: Vec<&str> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    eprintln!(
        "installing {} into {} ({})",
        what.join(", "),
        target.display(),
        if native {
            "CPython's pip, native code included"
        } else {
            "pure-Python wheels only"
        }
    );
    // pip's progress goes to stderr: stdout is the command's answer (`invoke` prints the
    // envelope there).
    let status = cmd
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status();
    let _ = std::fs::remove_file(&requirements);
    let status = status
        .map_err(|e| format!("could not run {pip} -m pip: {e} (set CORTEX_EMU_PIP to a pip)"))?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        if native {
            return Err(format!(
                "pip could not install the packages of {}: see its message above",
                listed.display()
            ));
        }
        return Err(format!(
            "pip could not install the packages of {}: a requirement above has no pure-Python \
             wheel (it needs native code, which RustPython cannot load: numpy, pandas, \
             pydantic-core, ...; runtime = \"python:cpython\" in tool.toml runs the tool in \
             CPython, which can) or does not exist",
            listed.display()
        ));
    }
    std::fs::write(staging.join(STAMP), requirements_hash(&text) + "\n")
        .map_err(|e| format!("{}: {e}", staging.display()))?;
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
