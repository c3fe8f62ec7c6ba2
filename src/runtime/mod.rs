//! The three language runtimes. Each runs inside a worker process (see `executor`), owns its
//! interpreter, and turns one job into a [`RunResult`] following PLATFORM.md §2.1–§2.3.

pub mod cpython;
pub(crate) mod fold_bindings;
pub mod javascript;
mod js_errors;
pub mod lua;
pub mod outbound;
pub mod python;
mod python_values;
pub mod tap;
pub(crate) mod v8_wording;
mod workers_module;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::jsonfmt::{self, Style};
use crate::protocol::{RunResult, RunStatus, WireJob};

/// A tool's files, shared by every run of the same code hash inside one worker.
pub type Files = Arc<BTreeMap<String, String>>;

/// Deepest value a handler may return (and the Lua `json` module may encode).
pub const MAX_DEPTH: usize = 256;

/// A language runtime living in a worker process.
pub trait Engine {
    /// Runs `job` with the code `files` (whose hash is `job.code_hash`).
    fn run(&mut self, files: &Files, job: &WireJob) -> RunResult;

    /// Compiles the code without running it and checks that it defines the entry point.
    /// `Err` is a message that starts with `file:line:` where the problem has a position.
    fn check(&mut self, files: &Files) -> Result<(), String>;

    /// Called after a run has been answered, off the request path: build what the next run
    /// needs fresh (a new VM), so that cost is not paid by the next request.
    fn prepare(&mut self) {}

    /// Called once, off the request path, when the worker has time: load what later runs will
    /// want (Python's commonly used modules), which start-up skipped so the first answer is fast.
    fn warm_up(&mut self) {}
}

/// Whether `source` defines `cortexone_handler` at all (a static look for JavaScript and Lua,
/// where running top-level code just to check would have side effects).
pub fn mentions_entry_point(source: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(?m)(function\s+cortexone_handler\b|\bcortexone_handler\s*=[^=])")
            .unwrap()
    })
    .is_match(source)
}

/// Why a returned value could not become JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    TooDeep,
    Cycle,
    Unsupported(String),
}

/// What the gateway makes of a handler's return value (PLATFORM.md §2.2), for runtimes whose
/// values were first converted to JSON (JavaScript and Lua).
pub struct Normalized {
    pub status_code: i64,
    pub body: Option<String>,
    pub warning: Option<String>,
}

/// The warning logged when a value without `statusCode` is sent as the body (**choice**).
pub const NO_STATUS_WARNING: &str =
    "[cortex-emu] warning: the handler returned a value without statusCode; it was sent as the body with statusCode 200\n";

/// Applies §2.2 to a returned value. `Err` carries the message of a runtime error.
pub fn normalize(value: Option<Value>) -> Result<Normalized, String> {
    let value = match value {
        None | Some(Value::Null) => {
            return Ok(Normalized {
                status_code: 500,
                body: None,
                warning: None,
            })
        }
        Some(v) => v,
    };
    if let Value::Object(map) = &value {
        if let Some(code) = map.get("statusCode") {
            let status_code = status_code(code)?;
            let body = match map.get("body") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(jsonfmt::to_string(other, Style::Python)),
            };
            return Ok(Normalized {
                status_code,
                body,
                warning: None,
            });
        }
    }
    let body = match &value {
        Value::String(s) => s.clone(),
        other => jsonfmt::to_string(other, Style::Python),
    };
    Ok(Normalized {
        status_code: 200,
        body: Some(body),
        warning: Some(NO_STATUS_WARNING.into()),
    })
}

/// The handler's `statusCode` as an integer. One that is not whole, or does not fit in 64 bits
/// (`1e300`), fails the run rather than becoming some other number.
fn status_code(code: &Value) -> Result<i64, String> {
    if let Some(i) = code.as_i64() {
        return Ok(i);
    }
    let f = code
        .as_f64()
        .filter(|f| f.fract() == 0.0)
        .ok_or_else(|| format!("statusCode must be an integer, got {code}"))?;
    // 2^63 is exactly representable; every whole f64 below it and at or above -2^63 fits.
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        Ok(f as i64)
    } else {
        Err(format!(
            "statusCode {code} does not fit in a 64-bit integer"
        ))
    }
}

/// A successful run's result from a normalized value.
pub fn finished(n: Normalized, mut logs: String, duration_ms: f64, log_limit: usize) -> RunResult {
    if let Some(w) = &n.warning {
        crate::protocol::push_log(&mut logs, w, log_limit);
    }
    RunResult {
        status: if n.status_code >= 500 {
            RunStatus::Error
        } else {
            RunStatus::Success
        },
        status_code: n.status_code,
        body: n.body,
        logs,
        error: None,
        duration_ms,
        exchanges: Vec::new(),
    }
}

/// The engine for a runtime.
pub fn engine_for(runtime: crate::registry::Runtime) -> Box<dyn Engine> {
    match runtime {
        crate::registry::Runtime::Python => Box::new(python::PythonEngine::new()),
        crate::registry::Runtime::Javascript => Box::new(javascript::JavaScriptEngine::new()),
        crate::registry::Runtime::Lua => Box::new(lua::LuaEngine::new()),
    }
}
pub use workers_module::FOLD_ENTRY;
