//! Python on the machine's CPython 3.13, for tools with `runtime = "python:cpython"` (packages
//! with native code: numpy, pandas, pydantic-core). The worker process (this engine) starts
//! CPython running `cpython_driver.py` and talks to it over two pipes; the driver runs the
//! handler with the same harness as RustPython's (`python_common.py`), so the envelope, logs
//! and tracebacks are built the same way.
//!
//! Isolation is by process: one CPython serves one isolation key (organization, tool, code
//! revision) and is replaced when the key changes. Limits: the deadline kills the worker's
//! process group, CPython included; memory is capped by an address-space limit the driver sets
//! around each run; the handler's environment is the attached secrets alone. Outbound HTTP
//! goes through the sandbox's virtual sockets to [`super::outbound`] in this process, so the
//! network modes and cassettes are the other runtimes'. Unlike RustPython, CPython can read
//! host files (a Fidelity note in the README).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

use super::{Engine, Files};
use crate::protocol::{RunResult, WireJob};

const COMMON: &str = include_str!("python_common.py");
const DRIVER: &str = include_str!("cpython_driver.py");
const NETWORK: &str = include_str!("python_network.py");

/// The bootstrap given to `-c`: runs the harness file under the harness's own name, so its
/// frames are left out of tracebacks as RustPython's are.
const BOOTSTRAP: &str = "import sys\nwith open(sys.argv[1], encoding='utf-8') as f:\n    s = f.read()\nexec(compile(s, '<cortex-emu harness>', 'exec'), {'__name__': '__cortex_emu__'})\n";

pub struct CpythonEngine {
    interpreter: PathBuf,
    /// This worker's folder of code revisions (one sub-folder per code hash) and the harness.
    root: PathBuf,
    written: HashSet<String>,
    child: Option<Driver>,
}

struct Driver {
    process: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The isolation key it serves; `None` until its first run (checks run no handler code).
    tenant: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl CpythonEngine {
    pub fn new(interpreter: PathBuf) -> Self {
        let base = std::env::temp_dir();
        sweep_dead_roots(&base);
        let root = base.join(format!("cortex-emu-cpython-{}", std::process::id()));
        CpythonEngine {
            interpreter,
            root,
            written: HashSet::new(),
            child: None,
        }
    }

    fn start(&self) -> Result<Driver, String> {
        std::fs::create_dir_all(&self.root).map_err(|e| format!("{}: {e}", self.root.display()))?;
        let harness = self.root.join("harness.py");
        if !harness.is_file() {
            let text = format!("{COMMON}\n{DRIVER}\n_CPYTHON = True\n{NETWORK}\n_serve()\n");
            std::fs::write(&harness, text).map_err(|e| format!("{}: {e}", harness.display()))?;
        }
        let mut command = Command::new(&self.interpreter);
        command
            .arg("-I")
            .arg("-c")
            .arg(BOOTSTRAP)
            .arg(&harness)
            // Nothing of the emulator's environment; one thread per BLAS-style library, as a
            // function sandbox with one vCPU has (read by the library, hidden from the handler).
            .env_clear()
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("OMP_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: prctl in the forked child before exec (async-signal-safe).
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut process = command.spawn().map_err(|e| {
            format!(
                "could not start CPython ({}): {e}",
                self.interpreter.display()
            )
        })?;
        let stdin = process.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(process.stdout.take().expect("piped stdout"));
        Ok(Driver {
            process,
            stdin,
            stdout,
            tenant: None,
        })
    }

    /// The driver for `tenant` (`None`: any, for a check), started or replaced as needed.
    fn driver(&mut self, tenant: Option<&str>) -> Result<&mut Driver, String> {
        // A check reuses only a driver that has run no handler (one that has could have
        // changed `ast` or the builtins the check uses).
        let reusable = match (&self.child, tenant) {
            (Some(d), Some(t)) => d.tenant.as_deref().is_none_or(|held| held == t),
            (Some(d), None) => d.tenant.is_none(),
            (None, _) => false,
        };
        if !reusable {
            self.child = None;
        }
        if self.child.is_none() {
            self.child = Some(self.start()?);
        }
        let d = self.child.as_mut().expect("just started");
        if let Some(t) = tenant {
            d.tenant = Some(t.to_string());
        }
        Ok(d)
    }

    /// The folder holding the code for `tenant` (whose key includes the code hash), written
    /// once per worker: one per isolation key, so a file a run writes there is never seen by
    /// another organization's or tool's runs of the same code.
    fn code_dir(&mut self, tenant: &str, files: &Files) -> Result<PathBuf, String> {
        use sha2::{Digest, Sha256};
        let key = format!("{:x}", Sha256::digest(tenant.as_bytes()));
        let dir = self.root.join(&key[..32]);
        if self.written.contains(&key) {
            return Ok(dir);
        }
        for (rel, text) in files.iter() {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        self.written.insert(key);
        Ok(dir)
    }

    /// Sends `message` and reads replies until one that is not an outbound request. After any
    /// failure the driver is dropped (killed): its next reply could belong to this request.
    fn converse(&mut self, message: &Value) -> Result<Value, String> {
        let answer = self.converse_once(message);
        if answer.is_err() {
            self.child = None;
        }
        answer
    }

    fn converse_once(&mut self, message: &Value) -> Result<Value, String> {
        let d = self.child.as_mut().ok_or("CPython is not running")?;
        send(&mut d.stdin, message)?;
        loop {
            let mut line = String::new();
            let n = d.stdout.read_line(&mut line).map_err(|e| e.to_string())?;
            if n == 0 {
                let status = d.process.wait().ok();
                self.child = None;
                return Err(match status {
                    Some(s) => format!("CPython exited during the run ({s})"),
                    None => "CPython vanished during the run".into(),
                });
            }
            let reply: Value = serde_json::from_str(&line)
                .map_err(|e| format!("unreadable message from CPython: {e}"))?;
            if reply["op"] == "fetch" {
                let request = reply["request"].as_str().unwrap_or("{}");
                let answer = super::outbound::fetch_json(request);
                send(&mut d.stdin, &json!({ "op": "fetched", "answer": answer }))?;
                continue;
            }
            return Ok(reply);
        }
    }
}

fn send(stdin: &mut ChildStdin, message: &Value) -> Result<(), String> {
    let mut line = message.to_string();
    line.push('\n');
    stdin
        .write_all(line.as_bytes())
        .and_then(|_| stdin.flush())
        .map_err(|e| format!("CPython stopped reading: {e}"))
}

fn internal(error: String) -> RunResult {
    RunResult::failed(
        crate::catalogue::handler::python("internal error in the emulator's CPython runtime"),
        error.clone(),
        format!("[cortex-emu] {error}\n"),
    )
}

impl Engine for CpythonEngine {
    fn check(&mut self, files: &Files) -> Result<(), String> {
        self.driver(None)?;
        let reply = self.converse(&json!({ "op": "check", "files": &**files }))?;
        match reply["problem"].as_str() {
            Some("") => Ok(()),
            Some(problem) => Err(problem.to_string()),
            None => Err("CPython did not answer the check".into()),
        }
    }

    fn run(&mut self, files: &Files, job: &WireJob) -> RunResult {
        let tenant = job.tenant();
        if let Err(e) = self.driver(Some(&tenant)) {
            return internal(e);
        }
        let code_dir = match self.code_dir(&tenant, files) {
            Ok(d) => d,
            Err(e) => return internal(format!("could not write the tool's code: {e}")),
        };
        let message = json!({
            "op": "run",
            "code_dir": code_dir,
            "packages": job.cpython.as_ref().map(|c| &c.packages),
            "event": serde_json::to_string(&job.event).unwrap_or_else(|_| "null".into()),
            "meta": serde_json::to_string(&job.context).unwrap_or_else(|_| "{}".into()),
            "env": job.env,
            "timeout_ms": job.timeout_ms,
            "log_limit": job.log_limit,
            "memory_mb": job.memory_mb,
            "tap": super::tap::is_on(),
        });
        match self.converse(&message) {
            Ok(reply) => {
                match serde_json::from_value::<super::python::HarnessOut>(reply["result"].clone()) {
                    Ok(out) => out.into_result(),
                    Err(e) => internal(format!("unreadable result from CPython: {e}")),
                }
            }
            Err(e) => internal(e),
        }
    }
}

impl Drop for CpythonEngine {
    fn drop(&mut self) {
        self.child = None;
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Removes the code folders of workers that are gone (a worker killed at a deadline cannot
/// clean up after itself).
fn sweep_dead_roots(base: &Path) {
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("cortex-emu-cpython-"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only asks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A CPython found for `runtime = "python:cpython"` tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// `3.13.0`, as the interpreter reports it.
    pub version: String,
}

/// The version production runs; another one is used only when named explicitly.
pub const PRODUCTION_VERSION: &str = "3.13";

/// Where a CPython comes from: `configured` (`[python] cpython`), `CORTEX_EMU_CPYTHON`, else the
/// first CPython 3.13 among `python3.13` on PATH and pyenv's installed versions. `Err` says what
/// was looked at, for the load-time message.
pub fn find(configured: Option<&Path>) -> Result<Found, String> {
    let explicit = configured
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CORTEX_EMU_CPYTHON").map(PathBuf::from));
    if let Some(path) = explicit {
        return version_of(&path)
            .map(|version| Found {
                path: path.clone(),
                version,
            })
            .ok_or_else(|| format!("{} is not a working CPython", path.display()));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("python3.13"))
                .collect()
        })
        .unwrap_or_default();
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(versions) = pyenv.map(|p| p.join("versions")) {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&versions)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("3.13"))
            .map(|e| e.path().join("bin").join("python3.13"))
            .collect();
        found.sort();
        candidates.extend(found.into_iter().rev());
    }
    candidates.extend(["/usr/local/bin/python3.13", "/usr/bin/python3.13"].map(PathBuf::from));
    for path in candidates.iter().filter(|p| p.is_file()) {
        if let Some(version) = version_of(path) {
            if version.starts_with(&format!("{PRODUCTION_VERSION}.")) {
                return Ok(Found {
                    path: path.clone(),
                    version,
                });
            }
        }
    }
    Err(format!(
        "no CPython {PRODUCTION_VERSION} on this machine (looked for python3.13 on PATH, in pyenv's \
         versions and in /usr/local/bin and /usr/bin): install it, or name one with \
         [python] cpython = \"/path/to/python3\" in emulator.toml or CORTEX_EMU_CPYTHON"
    ))
}

/// `3.13.0` for a working CPython at `path` (a pyenv shim for a version that is not selected
/// prints an error instead, and does not count).
fn version_of(path: &Path) -> Option<String> {
    let out = Command::new(path)
        .args(["-I", "-c", "import sys, platform; print(platform.python_implementation(), platform.python_version())"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.trim().strip_prefix("CPython ")?;
    (out.status.success() && !version.is_empty()).then(|| version.to_string())
}
