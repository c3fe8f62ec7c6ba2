//! Lua runs inside the server process, on threads of its own (issue 15): a Lua run costs
//! ~0.05 ms, and the trip through a worker process (two pipe hops and two thread wake-ups)
//! cost three times that. What the process boundary gave, Lua gives by itself: a fresh VM per
//! run, mlua's per-VM memory limit (no global allocator counting), an instruction hook that
//! stops a runaway loop at its deadline, Lua's own stack limits for deep recursion, and errors
//! as values (mlua catches Lua's longjmps). `[executor] lua = "process"` keeps the worker
//! processes for those who want the stronger wall.
//!
//! What a hook cannot stop is one C function running long (a pathological `string.find`
//! pattern): the reply still leaves at the deadline, and that thread finishes its run before
//! it takes another (a Fidelity note in the README).

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::{RunResult, RunStatus, WireJob};
use crate::registry::{Bundle, Runtime};
use crate::runtime::lua::LuaEngine;
use crate::runtime::{Engine, Files};

/// Stack of a Lua thread: Lua-to-Lua calls use none of it, C calls are bounded by Lua's own
/// limit of 200 nested C calls (LUAI_MAXCCALLS), well inside this.
const STACK: usize = 16 << 20;

/// How long a Lua thread that has just finished looks for its next run before it sleeps, and
/// how long a lone run's caller looks for the answer before it parks its tokio worker. Waking a
/// sleeping thread costs tens of microseconds on a VM, twice per run, where a hello run takes
/// ~30 µs (issue 15: most of the p50 at concurrency 1).
const SPIN: Duration = Duration::from_micros(150);

struct Task {
    files: Files,
    job: WireJob,
    reply: tokio::sync::oneshot::Sender<RunResult>,
    /// Held until the run has ended on its thread, not until the caller is answered: a run
    /// still in a long C call after its 408 keeps its slot, so such runs cannot pile up.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// The threads that run Lua: one is taken per run (a new one started when none is idle; the
/// executor's semaphore bounds how many run at once).
pub(crate) struct LuaThreads {
    /// How many Lua runs may be on their threads at once (the pool's worker count).
    slots: Arc<tokio::sync::Semaphore>,
    idle: Arc<Mutex<Vec<mpsc::Sender<Task>>>>,
    /// Code hash → files shared as one `Arc` (the bundle's map is cloned once per revision).
    files: Mutex<std::collections::HashMap<String, Files>>,
    /// Runs between their hand-off and their answer (a caller spins only when it is alone).
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

impl LuaThreads {
    pub(crate) fn new(capacity: usize) -> Self {
        LuaThreads {
            slots: Arc::new(tokio::sync::Semaphore::new(capacity.max(1))),
            idle: Arc::default(),
            files: Mutex::default(),
            in_flight: Arc::default(),
        }
    }

    fn files_of(&self, bundle: &Bundle) -> Files {
        let mut cache = self.files.lock().unwrap();
        if cache.len() > 256 {
            cache.clear();
        }
        cache
            .entry(bundle.hash.clone())
            .or_insert_with(|| Arc::new(bundle.files.clone()))
            .clone()
    }

    fn thread(&self) -> std::io::Result<mpsc::Sender<Task>> {
        if let Some(tx) = self.idle.lock().unwrap().pop() {
            return Ok(tx);
        }
        let (tx, rx) = mpsc::channel::<Task>();
        let idle = self.idle.clone();
        let mine = tx.clone();
        std::thread::Builder::new()
            .name("lua-run".into())
            .stack_size(STACK)
            .spawn(move || {
                let mut engine = LuaEngine::new();
                while let Some(task) = next_task(&rx) {
                    let result = run_one(&mut engine, &task.files, &task.job);
                    let Task { reply, _slot, .. } = task;
                    let _ = reply.send(result);
                    drop(_slot);
                    // The next run's VM is built after this one has answered.
                    engine.prepare();
                    idle.lock().unwrap().push(mine.clone());
                }
            })?;
        Ok(tx)
    }

    /// Runs one Lua job; at the deadline (plus a little, for the hook to fire first) the reply
    /// is a timeout whatever the thread is doing.
    pub(crate) async fn run(&self, job: WireJob, bundle: Arc<Bundle>) -> RunResult {
        let started = Instant::now();
        let timeout_ms = job.timeout_ms;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the Lua semaphore is never closed");
        let (reply, answer) = tokio::sync::oneshot::channel();
        let task = Task {
            files: self.files_of(&bundle),
            job,
            reply,
            _slot: slot,
        };
        let sent = self.thread().map_err(|e| e.to_string()).and_then(|tx| {
            tx.send(task)
                .map_err(|_| "a Lua thread stopped".to_string())
        });
        if let Err(e) = sent {
            return super::internal_failure(Runtime::Lua, format!("could not run Lua: {e}"));
        }
        let mut answer = answer;
        let alone = self.in_flight.fetch_add(1, Ordering::SeqCst) == 0;
        let _counted = Counted(&self.in_flight);
        if alone {
            let until = Instant::now() + SPIN;
            while Instant::now() < until {
                match answer.try_recv() {
                    Ok(result) => return result,
                    Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                        std::thread::yield_now()
                    }
                    Err(tokio::sync::oneshot::error::TryRecvError::Closed) => break,
                }
            }
        }
        let grace = Duration::from_millis(timeout_ms) + Duration::from_millis(50);
        match tokio::time::timeout(grace, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => {
                super::internal_failure(Runtime::Lua, "a Lua thread ended mid-run".into())
            }
            Err(_elapsed) => super::timed_out(started.elapsed(), timeout_ms),
        }
    }
}

/// Counts a run out of [`LuaThreads::in_flight`] however its caller leaves.
struct Counted<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The next task, looked for during [`SPIN`] before sleeping on the channel; `None` when the
/// pool is gone.
fn next_task(rx: &mpsc::Receiver<Task>) -> Option<Task> {
    let until = Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(task) => return Some(task),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if Instant::now() < until => std::thread::yield_now(),
            Err(mpsc::TryRecvError::Empty) => return rx.recv().ok(),
        }
    }
}

/// A run as a worker process would do it: outbound HTTP scoped to the run, the response limit,
/// and a deadline the engine's instruction hook enforces.
fn run_one(engine: &mut LuaEngine, files: &Files, job: &WireJob) -> RunResult {
    crate::runtime::outbound::begin(job);
    let deadline = Instant::now() + Duration::from_millis(job.timeout_ms);
    if job.check {
        return match engine.check(files) {
            Ok(()) => RunResult::checked(),
            Err(problem) => RunResult::failed(String::new(), problem, String::new()),
        };
    }
    let mut result = engine.run_until(files, job, Some(deadline));
    result.exchanges = crate::runtime::outbound::finish();
    if result.status == RunStatus::Timeout {
        let mut stopped = super::with_printed(
            super::timed_out(
                Duration::from_secs_f64(result.duration_ms / 1000.0),
                job.timeout_ms,
            ),
            result.logs,
        );
        stopped.exchanges = result.exchanges;
        return stopped;
    }
    super::worker::cap(Runtime::Lua, result, job.log_limit)
}
