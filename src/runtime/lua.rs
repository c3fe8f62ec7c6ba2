//! Lua 5.1 (vendored, through mlua) in the platform's sandbox: `json` preloaded, `process.env`,
//! `os.time` only, no `io`, `package`, `load*`, `dofile`; `print` captured. A fresh VM per run
//! (about 0.1 ms), so nothing survives from one run to the next.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value as LuaValue};
use serde_json::{Map, Number, Value};

use super::{finished, normalize, ConvertError, Engine, Files, MAX_DEPTH};
use crate::catalogue::handler::script;
use crate::jsonfmt::{self, Style};
use crate::protocol::{push_log, RunResult, WireJob};

const CHUNK: &str = "cortexone_function.lua";

/// Keeps the next run's VM ready: it is built after a run has answered, off the request path, so
/// every run still gets a VM no earlier run has touched.
pub struct LuaEngine {
    next: Option<Lua>,
}

impl LuaEngine {
    pub fn new() -> Self {
        LuaEngine {
            next: base_vm().ok(),
        }
    }
}

impl Default for LuaEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for LuaEngine {
    fn prepare(&mut self) {
        if self.next.is_none() {
            self.next = base_vm().ok();
        }
    }

    fn check(&mut self, files: &Files) -> Result<(), String> {
        let source = files.get(CHUNK).map(String::as_str).unwrap_or("");
        let lua = Lua::new_with(StdLib::NONE, LuaOptions::default()).map_err(|e| e.to_string())?;
        if let Err(e) = lua
            .load(source)
            .set_name(format!("@{CHUNK}"))
            .into_function()
        {
            return Err(error_text(&e));
        }
        if !super::mentions_entry_point(source) {
            return Err(format!(
                "{CHUNK}: no global function cortexone_handler(event, context)"
            ));
        }
        Ok(())
    }

    fn run(&mut self, files: &Files, job: &WireJob) -> RunResult {
        self.run_until(files, job, None)
    }
}

impl LuaEngine {
    /// A run; with a `deadline`, an instruction hook stops it there (status `Timeout`), for
    /// Lua run inside the server where no process can be killed.
    pub fn run_until(
        &mut self,
        files: &Files,
        job: &WireJob,
        deadline: Option<Instant>,
    ) -> RunResult {
        let logs = Arc::new(Mutex::new(String::new()));
        let started = Instant::now();
        let vm = self.next.take().map(Ok).unwrap_or_else(base_vm);
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let outcome = match vm {
            Ok(lua) => match deadline.map(|d| stop_at(&lua, d, stopped.clone())) {
                Some(Err(e)) => Err(Failure::runtime(error_text(&e))),
                _ => run_once(lua, files, job, logs.clone()),
            },
            Err(e) => Err(Failure::runtime(error_text(&e))),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut logs = std::mem::take(&mut *logs.lock().unwrap());
        if stopped.load(std::sync::atomic::Ordering::Relaxed) {
            let mut r = RunResult::failed(String::new(), "timeout".into(), logs);
            r.status = crate::protocol::RunStatus::Timeout;
            r.duration_ms = duration_ms;
            return r;
        }
        match outcome {
            Ok(n) => finished(n, logs, duration_ms, job.log_limit),
            Err(Failure {
                kind,
                details,
                full,
            }) => {
                push_log(&mut logs, &format!("{full}\n"), job.log_limit);
                let mut r = RunResult::failed(script(kind, &details), full, logs);
                r.duration_ms = duration_ms;
                r
            }
        }
    }
}

/// Instructions between two looks at the clock: ~10 µs of Lua, so the stop comes within
/// microseconds of the deadline at a cost too small to measure.
const HOOK_EVERY: u32 = 10_000;

/// Makes the VM raise an error once `deadline` has passed, and on every look after (so a
/// `pcall` that swallows one does not keep the run alive).
fn stop_at(
    lua: &Lua,
    deadline: Instant,
    stopped: Arc<std::sync::atomic::AtomicBool>,
) -> mlua::Result<()> {
    // Global: a hook set on the main thread alone would not follow the run into coroutines.
    lua.set_global_hook(
        mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |_, _| {
            if Instant::now() >= deadline {
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(mlua::Error::runtime("the run passed its timeout"));
            }
            Ok(mlua::VmState::Continue)
        },
    )
}

struct Failure {
    kind: &'static str,
    details: String,
    full: String,
}

impl Failure {
    fn runtime(full: String) -> Self {
        Failure {
            kind: "RuntimeError",
            details: clean_message(&full),
            full,
        }
    }
}

fn run_once(
    lua: Lua,
    files: &Files,
    job: &WireJob,
    logs: Arc<Mutex<String>>,
) -> Result<super::Normalized, Failure> {
    let source = files.get(CHUNK).cloned().unwrap_or_default();
    let limit = job.memory_mb as usize * 1024 * 1024;
    for_this_run(&lua, job, logs, limit).map_err(|e| Failure::runtime(error_text(&e)))?;
    if let Err(e) = lua.load(&source).set_name(format!("@{CHUNK}")).exec() {
        let full = error_text(&e);
        return Err(match e {
            mlua::Error::SyntaxError { .. } => Failure {
                kind: "SyntaxError",
                details: clean_message(&full),
                full,
            },
            _ => Failure::runtime(full),
        });
    }
    let handler: LuaValue = lua
        .globals()
        .get("cortexone_handler")
        .map_err(|e| Failure::runtime(error_text(&e)))?;
    let LuaValue::Function(handler) = handler else {
        return Err(Failure::runtime(format!(
            "{CHUNK}: attempt to call a nil value (global 'cortexone_handler')"
        )));
    };
    let event = to_lua(&lua, &job.event).map_err(|e| Failure::runtime(error_text(&e)))?;
    let context = lua
        .create_table()
        .map_err(|e| Failure::runtime(error_text(&e)))?;
    let returned: MultiValue = handler
        .call((event, context))
        .map_err(|e| Failure::runtime(error_text(&e)))?;
    let first = returned.into_iter().next().unwrap_or(LuaValue::Nil);
    let value = match first {
        LuaValue::Nil => None,
        v => Some(
            from_lua(&v, 0, &mut Vec::new()).map_err(|e| Failure::runtime(convert_message(e)))?,
        ),
    };
    normalize(value).map_err(Failure::runtime)
}

fn convert_message(e: ConvertError) -> String {
    match e {
        ConvertError::TooDeep => {
            format!("cannot encode the returned value: nested deeper than {MAX_DEPTH} levels")
        }
        ConvertError::Cycle => "cannot encode the returned value: recursive table detected".into(),
        ConvertError::Unsupported(t) => {
            format!("cannot encode the returned value: unsupported type {t}")
        }
    }
}

/// A VM with the platform's globals and nothing else (the parts that do not depend on the run).
fn base_vm() -> mlua::Result<Lua> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS,
        LuaOptions::default(),
    )?;
    let g = lua.globals();
    for name in [
        "dofile",
        "loadfile",
        "load",
        "loadstring",
        "module",
        "require",
        "package",
        "io",
        "debug",
    ] {
        g.set(name, LuaValue::Nil)?;
    }
    // `os` keeps only `time`.
    let os_full: Table = g.get("os")?;
    let os = lua.create_table()?;
    os.set("time", os_full.get::<Function>("time")?)?;
    g.set("os", os)?;

    let json = json_module(&lua)?;
    g.set("json", json.clone())?;
    g.set("fetch", fetch_function(&lua, json.clone())?)?;
    g.set(
        "require",
        lua.create_function(move |_, name: String| {
            if name == "json" {
                Ok(json.clone())
            } else {
                Err(mlua::Error::runtime(format!(
                    "module '{name}' not found: require is disabled in the sandbox (only \"json\" is available)"
                )))
            }
        })?,
    )?;
    Ok(lua)
}

/// The platform's synchronous `fetch(url, {method, headers, body})` (PLATFORM.md §2.1) over
/// the host's [`super::outbound`]: a table `{status, statusText, ok, headers, body, url}` with
/// `text()` and `json()` methods. A body given as a table is sent as JSON.
fn fetch_function(lua: &Lua, json: Table) -> mlua::Result<Function> {
    lua.create_function(move |lua, (url, opts): (String, Option<Table>)| {
        let mut request = super::outbound::OutRequest {
            method: "GET".into(),
            url,
            headers: Vec::new(),
            body: None,
        };
        if let Some(opts) = opts {
            if let Some(m) = opts.get::<Option<String>>("method")? {
                request.method = m;
            }
            if let Some(h) = opts.get::<Option<Table>>("headers")? {
                for pair in h.pairs::<String, String>() {
                    request.headers.push(pair?);
                }
            }
            request.body = match opts.get::<LuaValue>("body")? {
                LuaValue::Nil => None,
                LuaValue::String(s) => Some(s.to_str()?.to_string()),
                LuaValue::Table(t) => {
                    let encode: Function = json.get("encode")?;
                    Some(encode.call::<String>(t)?)
                }
                other => Some(other.to_string()?),
            };
        }
        let response = super::outbound::fetch(request).map_err(mlua::Error::runtime)?;
        let t = lua.create_table()?;
        t.set("status", response.status)?;
        t.set("statusText", response.status_text)?;
        t.set("ok", (200..300).contains(&response.status))?;
        let headers = lua.create_table()?;
        for (k, v) in response.headers {
            let joined = match headers.get::<Option<String>>(k.as_str())? {
                Some(before) => format!("{before}, {v}"),
                None => v,
            };
            headers.set(k, joined)?;
        }
        t.set("headers", headers)?;
        t.set("body", response.body.clone())?;
        t.set("url", response.url)?;
        let body = response.body.clone();
        t.set(
            "text",
            lua.create_function(move |_, _: LuaValue| Ok(body.clone()))?,
        )?;
        let decode: Function = json.get("decode")?;
        let body = response.body;
        t.set(
            "json",
            lua.create_function(move |_, _: LuaValue| decode.call::<LuaValue>(body.clone()))?,
        )?;
        Ok(t)
    })
}

/// The run's own parts: memory limit, environment, captured `print`.
fn for_this_run(
    lua: &Lua,
    job: &WireJob,
    logs: Arc<Mutex<String>>,
    memory_limit: usize,
) -> mlua::Result<()> {
    lua.set_memory_limit(memory_limit)?;
    let g = lua.globals();
    // `string.rep` of an absurd size fails as a memory error instead of wrapping around (Lua 5.1
    // converts the count to a C int).
    let string: Table = g.get("string")?;
    let rep: Function = string.get("rep")?;
    let guarded = lua.create_function(move |_, (s, n): (mlua::LuaString, f64)| {
        let total = (s.as_bytes().len() as f64) * n.max(0.0);
        if total > memory_limit as f64 || n > i32::MAX as f64 {
            return Err(mlua::Error::runtime("not enough memory"));
        }
        rep.call::<mlua::LuaString>((s, n))
    })?;
    string.set("rep", guarded)?;

    let env = lua.create_table()?;
    for (k, v) in &job.env {
        env.set(k.as_str(), v.as_str())?;
    }
    let process = lua.create_table()?;
    process.set("env", env)?;
    g.set("process", process)?;

    let tostring: Function = g.get("tostring")?;
    let limit = job.log_limit;
    g.set(
        "print",
        lua.create_function(move |_, args: MultiValue| {
            let mut line = String::new();
            for (i, a) in args.into_iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                line.push_str(&tostring.call::<String>(a)?);
            }
            line.push('\n');
            super::tap::write(&line);
            push_log(&mut logs.lock().unwrap(), &line, limit);
            Ok(())
        })?,
    )?;
    Ok(())
}

fn json_module(lua: &Lua) -> mlua::Result<Table> {
    let json = lua.create_table()?;
    json.set(
        "encode",
        lua.create_function(|_, v: LuaValue| {
            let value = from_lua(&v, 0, &mut Vec::new()).map_err(|e| {
                mlua::Error::runtime(convert_message(e).replace("the returned value", "value"))
            })?;
            Ok(jsonfmt::to_string(&value, Style::Go))
        })?,
    )?;
    json.set(
        "decode",
        lua.create_function(|lua, text: mlua::LuaString| {
            let value: Value = serde_json::from_slice(&text.as_bytes())
                .map_err(|e| mlua::Error::runtime(format!("json.decode: {e}")))?;
            to_lua(lua, &value)
        })?,
    )?;
    Ok(json)
}

/// JSON → Lua: arrays become 1-based sequences, `null` becomes `nil`.
fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<LuaValue> {
    Ok(match v {
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Number(n) => LuaValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => LuaValue::String(lua.create_string(s)?),
        Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, item) in map {
                t.raw_set(k.as_str(), to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

fn number(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Value::Number(Number::from(f as i64))
    } else {
        Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Lua → JSON, depth-capped and cycle-checked. A table whose keys are exactly 1..n is an array;
/// any other table is an object (number keys written as strings); an empty table is `{}`.
fn from_lua(
    v: &LuaValue,
    depth: usize,
    path: &mut Vec<*const std::ffi::c_void>,
) -> Result<Value, ConvertError> {
    if depth > MAX_DEPTH {
        return Err(ConvertError::TooDeep);
    }
    Ok(match v {
        LuaValue::Nil => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::Number(Number::from(*i)),
        LuaValue::Number(f) => number(*f),
        LuaValue::String(s) => Value::String(s.to_string_lossy()),
        LuaValue::Table(t) => {
            let ptr = t.to_pointer();
            if path.contains(&ptr) {
                return Err(ConvertError::Cycle);
            }
            path.push(ptr);
            let mut entries: Vec<(LuaValue, LuaValue)> = Vec::new();
            for pair in t.clone().pairs::<LuaValue, LuaValue>() {
                entries.push(pair.map_err(|e| ConvertError::Unsupported(e.to_string()))?);
            }
            let n = t.raw_len();
            let out = if n > 0 && entries.len() == n {
                let mut items = Vec::with_capacity(n);
                for i in 1..=n {
                    let item: LuaValue = t
                        .raw_get(i)
                        .map_err(|e| ConvertError::Unsupported(e.to_string()))?;
                    items.push(from_lua(&item, depth + 1, path)?);
                }
                Value::Array(items)
            } else {
                let mut keyed: Vec<(String, Value)> = Vec::with_capacity(entries.len());
                for (k, item) in &entries {
                    let key = match k {
                        LuaValue::String(s) => s.to_string_lossy(),
                        LuaValue::Integer(i) => i.to_string(),
                        LuaValue::Number(f) => match number(*f) {
                            Value::Number(n) => n.to_string(),
                            _ => return Err(ConvertError::Unsupported("number key".into())),
                        },
                        other => {
                            return Err(ConvertError::Unsupported(format!(
                                "{} key",
                                other.type_name()
                            )))
                        }
                    };
                    keyed.push((key, from_lua(item, depth + 1, path)?));
                }
                // GopherLua's encoder goes through a Go map, which Go writes with sorted keys.
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(keyed.into_iter().collect::<Map<String, Value>>())
            };
            path.pop();
            out
        }
        other => return Err(ConvertError::Unsupported(other.type_name().to_string())),
    })
}

/// The message of an mlua error without mlua's decoration (`runtime error: `, the traceback).
fn error_text(e: &mlua::Error) -> String {
    let raw = match e {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::MemoryError(_) => "not enough memory".to_string(),
        mlua::Error::CallbackError { cause, .. } => return error_text(cause),
        other => other.to_string(),
    };
    raw.split("\nstack traceback:")
        .next()
        .unwrap_or("")
        .trim_end()
        .to_string()
}

/// The documented `details`: the message without the `chunk:line:` prefix and without the
/// variable description (`attempt to index global 'x' (a nil value)` in Lua 5.1 wording and
/// `attempt to index a nil value (global 'x')` in 5.4 wording both become
/// `attempt to index a nil value`).
pub fn clean_message(full: &str) -> String {
    static PREFIX: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static VAR51: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static VAR54: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        // `chunk:line: `, or a bare `file.lua: ` (a missing entry point has no line).
        regex::Regex::new(r#"^(?:(?:\[string "[^"]*"\]|[^:\s]+):\d+|[^:\s]+\.lua): "#).unwrap()
    });
    let var51 = VAR51.get_or_init(|| {
        regex::Regex::new(r"attempt to ([a-z ]+?) (?:global|local|field|upvalue|method|constant) '[^']*' \(a (\w+) value\)").unwrap()
    });
    let var54 = VAR54.get_or_init(|| {
        regex::Regex::new(r" \((?:global|local|field|upvalue|method|constant) '[^']*'\)").unwrap()
    });
    let mut msg = full.lines().next().unwrap_or("").to_string();
    while let Some(m) = prefix.find(&msg) {
        msg = msg[m.end()..].to_string();
    }
    let msg = var51.replace_all(&msg, "attempt to $1 a $2 value");
    var54.replace_all(&msg, "").to_string()
}

#[cfg(test)]
mod tests {
    use super::clean_message;

    #[test]
    fn cleans_lua51_and_54_wording() {
        assert_eq!(
            clean_message("cortexone_function.lua:3: attempt to index global 'x' (a nil value)"),
            "attempt to index a nil value"
        );
        assert_eq!(
            clean_message("cortexone_function.lua:3: attempt to index a nil value (field 'x')"),
            "attempt to index a nil value"
        );
        assert_eq!(clean_message("cortexone_function.lua:9: boom"), "boom");
        // Issue 14: a missing handler is reported without a line, and without the chunk too.
        assert_eq!(
            clean_message(
                "cortexone_function.lua: attempt to call a nil value (global 'cortexone_handler')"
            ),
            "attempt to call a nil value"
        );
        assert_eq!(clean_message("boom: not a chunk"), "boom: not a chunk");
        assert_eq!(
            clean_message("cortexone_function.lua:2: attempt to perform arithmetic on local 'a' (a table value)"),
            "attempt to perform arithmetic on a table value"
        );
    }
}
