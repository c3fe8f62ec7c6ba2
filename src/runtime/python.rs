//! Python on RustPython with its frozen standard library. One warm interpreter per worker process
//! (a fresh one costs ~20 ms plus ~20 ms of imports and leaks memory): every run gets a fresh
//! module namespace and re-executes the tool's own modules, so module-level state never carries
//! over. The harness (`python_prelude.py`) does the per-run work in Python; the event goes in as
//! Python objects and a handler's plain result comes out as JSON text, both built in Rust by
//! [`super::python_values`] (bounded, and never on anything but plain data: `py_serde` on handler
//! values crashes on cyclic or deep data).

use rustpython_vm::builtins::{PyFloat, PyInt, PyStr, PyTuple};
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
/// The common part's `json.dumps`, replaced by one that writes plain data in Rust.
const PLAIN_DUMPS: &str = "def _json_dumps(value, _plain=_host_plain_json, _dumps=json.dumps):
    text = _plain(value)
    return _dumps(value) if text is None else text
";

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
            // The host's functions first, then the harness's parts in order: the prelude makes
            // `io` importable, which the common part imports; the plain-JSON `dumps` replaces the
            // common part's; the network part replaces `_socket`, `select` and `ssl`.
            let host = [
                ("_host_random_bytes", vm.new_function("urandom", urandom)),
                (
                    "_host_tap",
                    vm.new_function("tap", |text: rustpython_vm::builtins::PyStrRef| {
                        super::tap::write(&text.to_string_lossy());
                    }),
                ),
                (
                    "_host_plain_json",
                    vm.new_function("plain_json", |value: PyObjectRef, vm: &VirtualMachine| {
                        super::python_values::plain_json(&value, vm)
                    }),
                ),
                (
                    "_host_fetch",
                    vm.new_function("fetch", |request: rustpython_vm::builtins::PyStrRef| {
                        super::outbound::fetch_json(&request.to_string_lossy())
                    }),
                ),
            ];
            for (name, f) in host {
                scope
                    .globals
                    .set_item(name, f.into(), vm)
                    .map_err(|e| exception_text(vm, e))?;
            }
            for (source, name) in [
                (PRELUDE, "<cortex-emu harness>"),
                (COMMON, "<cortex-emu harness>"),
                (PLAIN_DUMPS, "<cortex-emu harness>"),
                (NETWORK, "<cortex-emu network>"),
            ] {
                vm.run_string(scope.clone(), source, name.to_owned())
                    .map_err(|e| exception_text(vm, e))?;
            }
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

/// `_cortex_run`'s tuple: (status, body, logs, error, failed, duration_ms).
fn harness_out(out: &PyObjectRef, vm: &VirtualMachine) -> Result<HarnessOut, String> {
    let parts = out
        .downcast_ref::<PyTuple>()
        .filter(|t| t.len() == 6)
        .ok_or("the harness did not return its 6-tuple")?;
    let text = |o: &PyObjectRef| -> Result<Option<String>, String> {
        if vm.is_none(o) {
            return Ok(None);
        }
        o.downcast_ref::<PyStr>()
            .map(|s| Some(s.to_string_lossy().into_owned()))
            .ok_or_else(|| "the harness returned a non-string".to_string())
    };
    Ok(HarnessOut {
        status_code: parts[0]
            .downcast_ref::<PyInt>()
            .ok_or("the harness returned a non-integer status")?
            .try_to_primitive::<i64>(vm)
            .map_err(|e| exception_text(vm, e))?,
        body: text(&parts[1])?,
        logs: text(&parts[2])?.unwrap_or_default(),
        error: text(&parts[3])?,
        failed: parts[4].is(&vm.ctx.true_value),
        duration_ms: parts[5]
            .downcast_ref::<PyFloat>()
            .map(|f| f.to_f64())
            .unwrap_or(0.0),
    })
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
        let out = self.interp.enter(|vm| -> Result<HarnessOut, String> {
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
            let meta = vm.ctx.new_dict();
            let c = &job.context;
            for (k, v) in [
                ("function_id", &c.function_id),
                ("version", &c.version),
                ("activation_id", &c.activation_id),
                ("organization", &c.organization),
            ] {
                meta.set_item(k, vm.ctx.new_str(v.as_str()).into(), vm)
                    .map_err(|e| exception_text(vm, e))?;
            }
            let env = vm.ctx.new_dict();
            for (k, v) in &job.env {
                env.set_item(k.as_str(), vm.ctx.new_str(v.as_str()).into(), vm)
                    .map_err(|e| exception_text(vm, e))?;
            }
            let args = vec![
                hash,
                super::python_values::to_python(&job.event, vm),
                meta.into(),
                env.into(),
                vm.ctx.new_int(job.timeout_ms).into(),
                vm.ctx.new_int(job.log_limit).into(),
            ];
            let out = call(&harness.run, args, vm).map_err(|e| exception_text(vm, e))?;
            harness_out(&out, vm)
        });
        match out {
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
