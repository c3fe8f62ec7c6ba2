//! Runs handlers in pools of worker processes (one pool per runtime), off the async runtime.
//!
//! A worker is this same binary started as `cortex-emu __worker <runtime>` with an empty
//! environment. The server enforces each run's deadline by killing the worker, which stops
//! every kind of runaway (loops in native code included) and gives the CPU back at once; a crash
//! inside an interpreter (native stack overflow, aborts, memory limit) costs one run, never the
//! server. Workers are replaced in the background so the next request finds a warm one.

pub mod alloc;
pub mod entry;
pub(crate) mod fork;
mod in_process;
pub(crate) mod pages;
/// The wire protocol between the server and its workers (a leaf: runtimes use it too).
pub(crate) use crate::protocol;
pub mod worker;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use crate::catalogue::handler;
use crate::registry::{Bundle, Runtime};
use protocol::{RunResult, RunStatus, WireJob, WireReply};

/// How the server starts workers.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The `cortex-emu` binary (it serves `__worker`); defaults to the running executable.
    pub program: PathBuf,
    /// Workers per runtime.
    pub workers: usize,
    /// `[python] cpython`: the CPython for `runtime = "python:cpython"` tools (else found on
    /// first use, see [`crate::runtime::cpython::find`]).
    pub cpython: Option<PathBuf>,
    /// Lua in the server process, on threads of its own (the default), or in worker processes.
    pub lua_in_process: bool,
}

impl ExecutorOptions {
    /// `CORTEX_EMU_WORKER_BIN`, else the running executable (the `cortex-emu` binary itself;
    /// an embedding crate names the binary through [`crate::EmulatorBuilder::worker_program`]).
    pub fn new(workers: usize) -> Self {
        let program = std::env::var_os("CORTEX_EMU_WORKER_BIN")
            .map(PathBuf::from)
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| PathBuf::from("cortex-emu"));
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            program,
            workers: if workers == 0 { cores.max(2) } else { workers },
            cpython: None,
            lua_in_process: true,
        }
    }
}

pub struct Executor {
    pools: HashMap<Runtime, Arc<Pool>>,
    /// The pool of CPython workers, made on first use; `Err` says why there is none.
    cpython: tokio::sync::OnceCell<Result<Arc<Pool>, String>>,
    /// Lua's threads when it runs in process ([`in_process`]).
    lua: Option<in_process::LuaThreads>,
    options: ExecutorOptions,
    /// Whether a run has answered yet (start-up checks wait for the first one, see
    /// [`Executor::first_answer`]).
    answered: tokio::sync::watch::Sender<bool>,
    finished: std::sync::atomic::AtomicU64,
    /// Code (per runtime and interpreter) that a run has already run to a normal end: checking
    /// it again is needless, and for Python would take the warm child of a tool that serves
    /// (start-up checks begin after the first answer, see [`Executor::first_answer`]).
    compiled: Mutex<HashSet<u64>>,
}

/// How many revisions [`Executor::compiled`] remembers before it starts again.
const COMPILED_KEPT: usize = 4096;

/// The runtime, interpreter and code hash of a job, hashed (nothing to allocate per run; a
/// collision, 1 in 2^64, would skip one check, never a run).
fn compiled_key(runtime: Runtime, job: &WireJob) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (runtime.name(), job.cpython.is_some(), &job.code_hash).hash(&mut h);
    h.finish()
}

struct Pool {
    runtime: Runtime,
    program: PathBuf,
    /// After `__worker`: the runtime's name, and for CPython the interpreter.
    worker_args: Vec<std::ffi::OsString>,
    slots: Semaphore,
    capacity: usize,
    idle: Mutex<Vec<Worker>>,
    /// Process ids of this pool's live workers (busy or idle).
    live: Mutex<HashSet<u32>>,
}

struct Worker {
    child: Child,
    /// Kept apart from `child`: tokio forgets the id once the process has been reaped.
    pid: Option<u32>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Code hashes this worker holds.
    known: HashSet<String>,
    /// The tail of the worker's stderr, for crash reports.
    stderr_tail: Arc<Mutex<String>>,
    /// The isolation key of the last job it ran ([`WireJob::tenant`]).
    tenant: Option<String>,
    /// What the current run has printed so far (see [`crate::runtime::tap`]): read when the
    /// worker has to be killed or dies, so that output is not lost with it.
    tap: Option<std::fs::File>,
}

impl Worker {
    /// The run's output so far, read from the tap (empty without one).
    fn printed(&self, limit: usize) -> String {
        self.tap
            .as_ref()
            .map(|t| crate::runtime::tap::read(t, limit))
            .unwrap_or_default()
    }
}

/// `result`'s logs with what the run printed before it was stopped in front.
fn with_printed(mut result: RunResult, printed: String) -> RunResult {
    if !printed.is_empty() {
        let mut logs = printed;
        if !logs.ends_with('\n') {
            logs.push('\n');
        }
        logs.push_str(&result.logs);
        result.logs = logs;
    }
    result
}

impl Executor {
    pub fn new(options: ExecutorOptions) -> Arc<Self> {
        let pools = Runtime::ALL
            .into_iter()
            .map(|r| (r, Arc::new(Pool::new(&options, r, vec![r.name().into()]))))
            .collect();
        Arc::new(Executor {
            pools,
            cpython: tokio::sync::OnceCell::new(),
            lua: options
                .lua_in_process
                .then(|| in_process::LuaThreads::new(options.workers)),
            options,
            answered: tokio::sync::watch::Sender::new(false),
            finished: Default::default(),
            compiled: Mutex::default(),
        })
    }

    /// The CPython pool, found and made on first use.
    async fn cpython_pool(&self) -> Result<Arc<Pool>, String> {
        self.cpython
            .get_or_init(|| async {
                let configured = self.options.cpython.clone();
                let found = tokio::task::spawn_blocking(move || {
                    crate::runtime::cpython::find(configured.as_deref())
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .map_err(|e| format!("this tool has runtime = \"python:cpython\", but {e}"))?;
                tracing::info!("CPython {} at {}", found.version, found.path.display());
                Ok(Arc::new(Pool::new(
                    &self.options,
                    Runtime::Python,
                    vec![CPYTHON_WORKER.into(), found.path.into_os_string()],
                )))
            })
            .await
            .clone()
    }

    /// Starts one worker per listed runtime, so first requests find them warm (the process is
    /// started now; it readies itself in the background).
    pub fn prewarm(&self, runtimes: impl IntoIterator<Item = Runtime>) {
        for r in runtimes {
            if r == Runtime::Lua && self.lua.is_some() {
                continue; // no worker processes: Lua runs in this process
            }
            // Started here, not on a task: a request sent the moment the server is ready must
            // find this worker idle, or it starts a second one.
            self.pools[&r].replenish_now();
        }
    }

    /// Process ids of live workers, per runtime name (for health and tests).
    pub fn worker_pids(&self) -> std::collections::BTreeMap<&'static str, Vec<u32>> {
        self.pools
            .iter()
            .map(|(r, p)| {
                let mut v: Vec<u32> = p.live.lock().unwrap().iter().copied().collect();
                v.sort_unstable();
                (r.name(), v)
            })
            .collect()
    }

    /// Compiles `bundle` in a worker without running it; `Err` says what is wrong and where.
    /// In CPython when `cpython` (a `runtime = "python:cpython"` tool).
    pub async fn check(
        &self,
        runtime: Runtime,
        cpython: bool,
        bundle: Arc<Bundle>,
    ) -> Result<(), String> {
        let job = WireJob {
            code_hash: bundle.hash.clone(),
            files: None,
            event: serde_json::Value::Null,
            context: protocol::RunContext::default(),
            env: Default::default(),
            timeout_ms: 10_000,
            memory_mb: crate::registry::MAX_MEMORY_MB,
            http: false,
            log_limit: 0,
            check: true,
            fold: None,
            network: None,
            cpython: cpython.then(|| protocol::CpythonRun {
                packages: String::new(),
            }),
        };
        // Code that has already run to a normal end compiles and defines its handler.
        if self.compiled_ok(runtime, &job) {
            return Ok(());
        }
        if cpython {
            self.cpython_pool().await?;
        }
        let r = self.run(runtime, job, bundle).await;
        match r.status {
            RunStatus::Success => Ok(()),
            RunStatus::Timeout => Err("checking the code took longer than 10 s".into()),
            RunStatus::Error => Err(r
                .error
                .unwrap_or_else(|| "the code does not compile".into())),
        }
    }

    /// Runs one job; every failure becomes a [`RunResult`].
    pub async fn run(&self, runtime: Runtime, job: WireJob, bundle: Arc<Bundle>) -> RunResult {
        let check = job.check;
        // Only a tool's run proves its handler: a fold function has another entry point.
        let key = (!check && job.fold.is_none()).then(|| compiled_key(runtime, &job));
        let result = self.run_job(runtime, job, bundle).await;
        if let Some(key) = key.filter(|_| result.status == RunStatus::Success) {
            let mut compiled = self.compiled.lock().unwrap();
            if compiled.len() >= COMPILED_KEPT {
                compiled.clear();
            }
            compiled.insert(key);
        }
        self.finished
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !check {
            self.answered
                .send_if_modified(|a| !std::mem::replace(a, true));
        }
        result
    }

    fn compiled_ok(&self, runtime: Runtime, job: &WireJob) -> bool {
        self.compiled
            .lock()
            .unwrap()
            .contains(&compiled_key(runtime, job))
    }

    /// How many jobs (runs and checks) have ended so far: the server reads it to tell when it
    /// has been idle.
    pub fn finished(&self) -> u64 {
        self.finished.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Returns once a run (not a check) has answered, or after `grace`, whichever comes first.
    pub async fn first_answer(&self, grace: Duration) {
        let mut answered = self.answered.subscribe();
        let _ = tokio::time::timeout(grace, answered.wait_for(|a| *a)).await;
    }

    async fn run_job(&self, runtime: Runtime, job: WireJob, bundle: Arc<Bundle>) -> RunResult {
        if job.cpython.is_some() {
            return match self.cpython_pool().await {
                Ok(pool) => pool.run(job, bundle).await,
                Err(problem) => RunResult::failed(
                    failure_body(Runtime::Python, "RuntimeError", &problem),
                    problem.clone(),
                    format!("[cortex-emu] {problem}\n"),
                ),
            };
        }
        if let (Runtime::Lua, Some(threads)) = (runtime, &self.lua) {
            return threads.run(job, bundle).await;
        }
        self.pools[&runtime].run(job, bundle).await
    }
}

/// The worker argument that selects CPython (the interpreter's path follows it).
pub const CPYTHON_WORKER: &str = "python:cpython";

impl Pool {
    fn new(
        options: &ExecutorOptions,
        runtime: Runtime,
        worker_args: Vec<std::ffi::OsString>,
    ) -> Self {
        Pool {
            runtime,
            program: options.program.clone(),
            worker_args,
            slots: Semaphore::new(options.workers),
            capacity: options.workers,
            idle: Mutex::new(Vec::new()),
            live: Mutex::new(HashSet::new()),
        }
    }

    async fn replenish(self: Arc<Self>) {
        self.replenish_now()
    }

    /// Starts a worker (without waiting for it to be ready) when fewer than the pool's capacity
    /// are idle.
    fn replenish_now(&self) {
        if self.idle.lock().unwrap().len() >= self.capacity {
            return;
        }
        match self.spawn() {
            Ok(w) => self.put_back(w),
            Err(e) => tracing::warn!("could not start a {} worker: {e}", self.runtime.name()),
        }
    }

    /// Returns a worker to the idle list. When the list is full, the one that goes is a worker
    /// that never ran, else the one idle longest: the worker that just ran is the warmest.
    fn put_back(&self, w: Worker) {
        let mut idle = self.idle.lock().unwrap();
        let evicted = if idle.len() < self.capacity {
            idle.push(w);
            None
        } else if w.tenant.is_none() {
            Some(w)
        } else {
            let i = idle.iter().position(|x| x.tenant.is_none()).unwrap_or(0);
            let old = idle.remove(i);
            idle.push(w);
            Some(old)
        };
        match evicted {
            None => {}
            Some(mut gone) => {
                self.forget(&gone);
                kill_group(&gone);
                tokio::spawn(async move {
                    let _ = gone.child.kill().await;
                });
            }
        }
    }

    /// An idle worker for a job of `tenant`: for a forking runtime one that already serves that
    /// key, else the one idle longest; for the others the most recently used (warmest). Workers
    /// that died while idle are dropped on the way (and replaced in the background).
    fn take_idle(self: &Arc<Self>, tenant: &str) -> Option<Worker> {
        let mut idle = self.idle.lock().unwrap();
        let before = idle.len();
        let mut i = 0;
        while i < idle.len() {
            if matches!(idle[i].child.try_wait(), Ok(None)) {
                i += 1;
            } else {
                let w = idle.remove(i);
                self.forget(&w);
            }
        }
        if idle.len() < before {
            let pool = self.clone();
            tokio::spawn(async move { pool.replenish().await });
        }
        let pick = if self.runtime.forks_per_tenant() {
            idle.iter()
                .position(|w| w.tenant.as_deref() == Some(tenant))
                .or((!idle.is_empty()).then_some(0))
        } else {
            idle.len().checked_sub(1)
        };
        pick.map(|i| idle.remove(i))
    }

    /// Kills a worker that is no longer trusted, without waiting for it.
    fn discard(&self, mut w: Worker) {
        self.forget(&w);
        kill_group(&w);
        let _ = w.child.start_kill();
    }

    /// The run passed its deadline: the worker and everything it forked are killed and reaped
    /// before answering, so when the 408 leaves, the CPU is idle.
    async fn stop_at_deadline(
        self: &Arc<Self>,
        mut worker: Worker,
        started: Instant,
        job: &WireJob,
    ) -> RunResult {
        self.forget(&worker);
        kill_group(&worker);
        let _ = worker.child.kill().await;
        let pool = self.clone();
        tokio::spawn(async move { pool.replenish().await });
        with_printed(
            timed_out(started.elapsed(), job.timeout_ms),
            worker.printed(job.log_limit),
        )
    }

    fn forget(&self, w: &Worker) {
        if let Some(pid) = w.pid {
            self.live.lock().unwrap().remove(&pid);
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let mut command = Command::new(&self.program);
        command
            .arg("__worker")
            .args(&self.worker_args)
            .env_clear()
            // Its own process group: a timeout kills the worker and anything it forked at once,
            // and a Ctrl-C in the terminal reaches only the server, which shuts down gracefully.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Without a tap (no memfd) runs still work; only output before a kill is lost.
        let tap = crate::runtime::tap::create().ok();
        if let Some(t) = &tap {
            use std::os::fd::AsRawFd;
            let fd = t.as_raw_fd();
            command.env(crate::runtime::tap::TAP_ENV, "1");
            // SAFETY: `install` only calls dup2/fcntl, which are async-signal-safe.
            unsafe {
                command.pre_exec(move || crate::runtime::tap::install(fd));
            }
        }
        let mut child = command.spawn()?;
        if let Some(pid) = child.id() {
            self.live.lock().unwrap().insert(pid);
        }
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout =
            BufReader::with_capacity(64 * 1024, child.stdout.take().expect("piped stdout"));
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = stderr_tail.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut t = tail.lock().unwrap();
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if t.len() > 8192 {
                        let mut cut = t.len() - 4096;
                        while !t.is_char_boundary(cut) {
                            cut += 1;
                        }
                        *t = t[cut..].to_string();
                    }
                }
            });
        }
        Ok(Worker {
            pid: child.id(),
            child,
            stdin,
            stdout,
            known: HashSet::new(),
            stderr_tail,
            tenant: None,
            tap,
        })
    }

    async fn run(self: &Arc<Self>, mut job: WireJob, bundle: Arc<Bundle>) -> RunResult {
        let _permit = self
            .slots
            .acquire()
            .await
            .expect("pool semaphore is never closed");
        let started = Instant::now();
        let timeout = Duration::from_millis(job.timeout_ms);
        let deadline = tokio::time::Instant::now() + timeout;
        let tenant = job.tenant();
        let mut worker = match self.take_idle(&tenant) {
            Some(w) => w,
            None => match self.spawn() {
                Ok(w) => w,
                Err(e) => {
                    return internal_failure(self.runtime, format!("could not start a worker: {e}"))
                }
            },
        };
        if self.runtime.forks_per_tenant() && worker.tenant.as_deref() != Some(tenant.as_str()) {
            // A Python worker serves a new key from a freshly forked child, which holds no code.
            worker.known.clear();
        }
        worker.tenant = Some(tenant);
        let hash = job.code_hash.clone();
        let mut dead_before_run = 0;
        for _attempt in 0..4 {
            job.files = (!worker.known.contains(&hash)).then(|| bundle.files.clone());
            let mut line = serde_json::to_string(&job).expect("jobs serialize");
            line.push('\n');
            let sent = async {
                worker.stdin.write_all(line.as_bytes()).await?;
                worker.stdin.flush().await
            };
            match tokio::time::timeout_at(deadline, sent).await {
                Err(_elapsed) => return self.stop_at_deadline(worker, started, &job).await,
                Ok(Err(_)) if dead_before_run < 2 => {
                    // The worker was already dead (killed while idle): the job never reached
                    // it, so it runs on a fresh worker and nobody is billed for the emulator's loss.
                    dead_before_run += 1;
                    self.discard(worker);
                    worker = match self.spawn() {
                        Ok(w) => w,
                        Err(e) => {
                            return internal_failure(
                                self.runtime,
                                format!("could not start a worker: {e}"),
                            )
                        }
                    };
                    continue;
                }
                Ok(_) => {}
            }
            let exchange = async {
                let mut reply = String::new();
                let n = worker.stdout.read_line(&mut reply).await?;
                Ok::<_, std::io::Error>((n, reply))
            };
            match tokio::time::timeout_at(deadline, exchange).await {
                Err(_elapsed) => return self.stop_at_deadline(worker, started, &job).await,
                Ok(Ok((n, reply))) if n > 0 => match serde_json::from_str::<WireReply>(&reply) {
                    Ok(WireReply::NeedCode) => {
                        worker.known.remove(&hash);
                        continue;
                    }
                    Ok(WireReply::Done(result)) => {
                        worker.known.insert(hash);
                        self.put_back(worker);
                        return result;
                    }
                    Err(e) => {
                        self.discard(worker);
                        return internal_failure(
                            self.runtime,
                            format!("unreadable reply from a worker: {e}"),
                        );
                    }
                },
                Ok(_) => {
                    // EOF or a broken pipe: the worker died during the run.
                    self.forget(&worker);
                    let status = worker.child.wait().await.ok();
                    // Give the stderr reader a moment to collect the last words.
                    tokio::task::yield_now().await;
                    let tail = worker.stderr_tail.lock().unwrap().clone();
                    let pool = self.clone();
                    tokio::spawn(async move { pool.replenish().await });
                    return with_printed(
                        crashed(
                            self.runtime,
                            status,
                            &tail,
                            job.memory_mb,
                            started.elapsed(),
                        ),
                        worker.printed(job.log_limit),
                    );
                }
            }
        }
        internal_failure(
            self.runtime,
            "the worker kept losing the tool's code".into(),
        )
    }
}

/// SIGKILL to the worker's process group (the worker and a child it forked).
fn kill_group(w: &Worker) {
    // Only while the worker is unreaped, so its pid (and group id) cannot have been reused.
    if let Some(pid) = w.child.id() {
        // SAFETY: kill(2) on a process group this pool created.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
        }
    }
}

fn timed_out(elapsed: Duration, timeout_ms: u64) -> RunResult {
    RunResult {
        status: RunStatus::Timeout,
        status_code: 408,
        body: None,
        logs: format!(
            "[cortex-emu] the run was stopped after its timeout of {:.3} s\n",
            timeout_ms as f64 / 1000.0
        ),
        error: Some(format!("timeout after {timeout_ms} ms")),
        duration_ms: elapsed.as_secs_f64() * 1000.0,
        exchanges: Vec::new(),
    }
}

pub(crate) fn failure_body(runtime: Runtime, kind: &str, details: &str) -> String {
    match runtime {
        Runtime::Python => handler::python(details),
        Runtime::Javascript | Runtime::Lua => handler::script(kind, details),
    }
}

fn internal_failure(runtime: Runtime, message: String) -> RunResult {
    tracing::error!("{message}");
    RunResult::failed(
        failure_body(runtime, "Error", "internal emulator error"),
        message,
        String::new(),
    )
}

/// Whether a worker died of native stack exhaustion: Rust prints "has overflowed its stack" and
/// aborts; a guard-page hit without that message is a SIGSEGV.
fn stack_overflowed(status: Option<std::process::ExitStatus>, stderr_tail: &str) -> bool {
    use std::os::unix::process::ExitStatusExt;
    stderr_tail.contains("has overflowed its stack")
        || status.and_then(|s| s.signal()) == Some(libc::SIGSEGV)
}

/// Describes a worker that died mid-run in the runtime's own words (PLATFORM.md §2.3).
fn crashed(
    runtime: Runtime,
    status: Option<std::process::ExitStatus>,
    stderr_tail: &str,
    memory_mb: u32,
    elapsed: Duration,
) -> RunResult {
    use std::os::unix::process::ExitStatusExt;
    let out_of_memory = status.and_then(|s| s.code()) == Some(alloc::MEMORY_EXIT_CODE);
    let (kind, details) = if out_of_memory {
        match runtime {
            Runtime::Python => (
                "MemoryError",
                format!("out of memory: the handler exceeded its memory limit of {memory_mb} MB"),
            ),
            Runtime::Javascript => (
                "RangeError",
                format!("Out of memory: the handler exceeded its memory limit of {memory_mb} MB"),
            ),
            Runtime::Lua => ("RuntimeError", "not enough memory".to_string()),
        }
    } else if stack_overflowed(status, stderr_tail) {
        // Deep recursion in native code (serializing deeply nested data, say): production's
        // stack-overflow wording.
        match runtime {
            Runtime::Python => (
                "RecursionError",
                "maximum recursion depth exceeded".to_string(),
            ),
            Runtime::Javascript => ("RangeError", "Maximum call stack size exceeded".to_string()),
            Runtime::Lua => ("RuntimeError", "stack overflow".to_string()),
        }
    } else {
        // Anything else is the interpreter failing, which production would not do: say so
        // rather than dress it up as a stack overflow.
        let kind = match runtime {
            Runtime::Python => "SystemError",
            Runtime::Javascript => "Error",
            Runtime::Lua => "RuntimeError",
        };
        let cause = stderr_tail
            .lines()
            .find(|l| l.contains("panicked at") || l.contains("fatal"))
            .map(|l| format!(" ({})", l.trim()))
            .unwrap_or_default();
        (
            kind,
            format!(
                "internal error: the {} interpreter crashed{cause}",
                runtime.name()
            ),
        )
    };
    let how = match status {
        Some(s) if s.signal().is_some() => format!("killed by signal {}", s.signal().unwrap_or(0)),
        Some(s) => format!("exited with code {}", s.code().unwrap_or(-1)),
        None => "vanished".to_string(),
    };
    let tail = stderr_tail.trim();
    let error = format!(
        "the {} worker process {how} during the run ({kind}){}{}",
        runtime.name(),
        if tail.is_empty() {
            ""
        } else {
            "; its last output:\n"
        },
        tail
    );
    let mut r = RunResult::failed(
        failure_body(runtime, kind, &details),
        error.clone(),
        format!("[cortex-emu] {error}\n"),
    );
    r.duration_ms = elapsed.as_secs_f64() * 1000.0;
    r
}
