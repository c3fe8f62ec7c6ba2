//! Python on RustPython with its frozen standard library. One warm interpreter per worker process
//! (a fresh one costs ~20 ms plus ~20 ms of imports and leaks memory): every run gets a fresh
//! module namespace and re-executes the tool's own modules, so module-level state never carries
//! over. The harness (`python_prelude.py`) does the per-run work in Python; values cross into Rust
//! only as JSON text that Python's own `json` produced (never `py_serde` on handler values, which
//! crashes on cyclic or deep data).

use rustpython_vm::builtins::PyStr;
use rustpython_vm::function::FuncArgs;
use rustpython_vm::{AsObject, Interpreter, PyObjectRef, PyResult, VirtualMachine};
use serde::Deserialize;

use super::{Engine, Files};
use crate::protocol::{RunResult, RunStatus, WireJob};

const PRELUDE: &str = include_str!("python_prelude.py");
/// What the RustPython and CPython harnesses share (context, logs, envelope, tracebacks).
const COMMON: &str = include_str!("python_common.py");
/// `_socket`, `select` and `ssl` over [`super::outbound`] (virtual HTTP connections).
const NETWORK: &str = include_str!("python_network.py");

pub struct PythonEngine {
    interp: Interpreter,
    harness: Result<Harness, String>,
}

struct Harness {
    warm_up: PyObjectRef,
    run: PyObjectRef,
    compile: PyObjectRef,
    has: PyObjectRef,
    check: PyObjectRef,
}

/// What a harness's run returns (as JSON), for RustPython and CPython alike.
#[derive(Deserialize)]
pub(crate) struct HarnessOut {
    status_code: i64,
    body: Option<String>,
    logs: String,
    error: Option<String>,
    failed: bool,
    duration_ms: f64,
}

impl HarnessOut {
    pub(crate) fn into_result(self) -> RunResult {
        RunResult {
            status: if self.failed || self.status_code >= 500 {
                RunStatus::Error
            } else {
                RunStatus::Success
            },
            status_code: self.status_code,
            body: self.body,
            logs: self.logs,
            error: self.error,
            duration_ms: self.duration_ms,
            exchanges: Vec::new(),
        }
    }
}

fn urandom(n: usize, vm: &VirtualMachine) -> PyObjectRef {
    use rand::RngCore;
    let mut buf = vec![0u8; n.min(1 << 20)];
    rand::rng().fill_bytes(&mut buf);
    vm.ctx.new_bytes(buf).into()
}

fn exception_text(vm: &VirtualMachine, e: rustpython_vm::builtins::PyBaseExceptionRef) -> String {
    let mut s = String::new();
    let _ = vm.write_exception(&mut s, &e);
    s
}

impl PythonEngine {
    pub fn new() -> Self {
        let mut settings = rustpython_vm::Settings::default();
        settings.import_site = false;
        settings.install_signal_handlers = false;
        let builder = Interpreter::builder(settings);
        let defs = rustpython_stdlib::stdlib_module_defs(&builder.ctx);
        let interp = builder
            .add_native_modules(&defs)
            .add_frozen_modules(rustpython_pylib::FROZEN_STDLIB)
            .build();
        let harness = interp.enter(|vm| -> Result<Harness, String> {
            let scope = vm.new_scope_with_builtins();
            let rb = vm.new_function("urandom", urandom);
            scope
                .globals
                .set_item("_host_random_bytes", rb.into(), vm)
                .map_err(|e| exception_text(vm, e))?;
            let tap = vm.new_function("tap", |text: rustpython_vm::builtins::PyStrRef| {
                super::tap::write(&text.to_string_lossy());
            });
            scope
                .globals
                .set_item("_host_tap", tap.into(), vm)
                .map_err(|e| exception_text(vm, e))?;
            // The prelude first: it makes `io` importable, which the common part imports.
            vm.run_string(scope.clone(), PRELUDE, "<cortex-emu harness>".to_owned())
                .map_err(|e| exception_text(vm, e))?;
            vm.run_string(scope.clone(), COMMON, "<cortex-emu harness>".to_owned())
                .map_err(|e| exception_text(vm, e))?;
            let fetch = vm.new_function("fetch", |request: rustpython_vm::builtins::PyStrRef| {
                super::outbound::fetch_json(&request.to_string_lossy())
            });
            scope
                .globals
                .set_item("_host_fetch", fetch.into(), vm)
                .map_err(|e| exception_text(vm, e))?;
            vm.run_string(scope.clone(), NETWORK, "<cortex-emu network>".to_owned())
                .map_err(|e| exception_text(vm, e))?;
            let get = |name: &str| -> Result<PyObjectRef, String> {
                scope
                    .globals
                    .get_item(name, vm)
                    .map_err(|e| exception_text(vm, e))
            };
            Ok(Harness {
                warm_up: get("_cortex_warm_up")?,
                run: get("_cortex_run")?,
                compile: get("_compile_bundle")?,
                has: get("_has")?,
                check: get("_cortex_check")?,
            })
        });
        if let Err(e) = &harness {
            eprintln!("cortex-emu: the Python harness failed to start:\n{e}");
        }
        PythonEngine { interp, harness }
    }
}

impl Default for PythonEngine {
    fn default() -> Self {
        Self::new()
    }
}

fn call(f: &PyObjectRef, args: Vec<PyObjectRef>, vm: &VirtualMachine) -> PyResult {
    f.call_with_args(FuncArgs::from(args), vm)
}

impl Engine for PythonEngine {
    fn warm_up(&mut self) {
        if let Ok(h) = &self.harness {
            self.interp.enter(|vm| {
                let _ = call(&h.warm_up, Vec::new(), vm);
            });
        }
    }

    fn check(&mut self, files: &Files) -> Result<(), String> {
        let harness = self.harness.as_ref().map_err(Clone::clone)?;
        let out = self.interp.enter(|vm| -> Result<String, String> {
            let dict = vm.ctx.new_dict();
            for (path, text) in files.iter() {
                dict.set_item(path.as_str(), vm.ctx.new_str(text.as_str()).into(), vm)
                    .map_err(|e| exception_text(vm, e))?;
            }
            let out =
                call(&harness.check, vec![dict.into()], vm).map_err(|e| exception_text(vm, e))?;
            Ok(out
                .downcast_ref::<PyStr>()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default())
        })?;
        if out.is_empty() {
            Ok(())
        } else {
            Err(out)
        }
    }

    fn run(&mut self, files: &Files, job: &WireJob) -> RunResult {
        let harness = match &self.harness {
            Ok(h) => h,
            Err(e) => {
                return RunResult::failed(
                    crate::catalogue::handler::python("the Python runtime failed to start"),
                    e.clone(),
                    String::new(),
                )
            }
        };
        let out = self.interp.enter(|vm| -> Result<String, String> {
            let hash: PyObjectRef = vm.ctx.new_str(job.code_hash.as_str()).into();
            let has =
                call(&harness.has, vec![hash.clone()], vm).map_err(|e| exception_text(vm, e))?;
            if !has.is(&vm.ctx.true_value) {
                let dict = vm.ctx.new_dict();
                for (path, text) in files.iter() {
                    dict.set_item(path.as_str(), vm.ctx.new_str(text.as_str()).into(), vm)
                        .map_err(|e| exception_text(vm, e))?;
                }
                call(&harness.compile, vec![hash.clone(), dict.into()], vm)
                    .map_err(|e| exception_text(vm, e))?;
            }
            let event = serde_json::to_string(&job.event).unwrap_or_else(|_| "null".into());
            let meta = serde_json::to_string(&job.context).unwrap_or_else(|_| "{}".into());
            let env = serde_json::to_string(&job.env).unwrap_or_else(|_| "{}".into());
            let args = vec![
                hash,
                vm.ctx.new_str(event).into(),
                vm.ctx.new_str(meta).into(),
                vm.ctx.new_str(env).into(),
                vm.ctx.new_int(job.timeout_ms).into(),
                vm.ctx.new_int(job.log_limit).into(),
            ];
            let out = call(&harness.run, args, vm).map_err(|e| exception_text(vm, e))?;
            let text = out
                .downcast_ref::<PyStr>()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or_else(|| "the harness returned a non-string".to_string())?;
            Ok(text)
        });
        let parsed = out
            .and_then(|text| serde_json::from_str::<HarnessOut>(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(o) => o.into_result(),
            Err(e) => RunResult::failed(
                crate::catalogue::handler::python(
                    "internal error in the emulator's Python harness",
                ),
                e,
                String::new(),
            ),
        }
    }
}
