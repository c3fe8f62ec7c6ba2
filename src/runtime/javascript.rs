//! JavaScript on Boa: a fresh context per run (the platform promises a fresh VM), synchronous only
//! (no timers; a returned Promise is an error), `console.*` captured, `process.env` = the attached
//! secrets. Error types and messages are reported the way V8 words them where they differ.

use std::cell::RefCell;
use std::time::Instant;

use boa_engine::property::Attribute;
use boa_engine::value::JsVariant;
use boa_engine::{
    js_string, Context, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue,
    NativeFunction, Source,
};
use serde_json::{Map, Number, Value};

use super::js_errors::{Failure, LOGS};
use super::{finished, normalize, ConvertError, Engine, Files, MAX_DEPTH};
use crate::catalogue::handler::script;
use crate::jsonfmt::{self, Style};
use crate::protocol::{push_log, RunResult, WireJob};

const ENTRY: &str = "cortexone_function.js";
/// Recursive JS calls allowed; Boa's default (512) is far below V8's, and crashes past the native
/// stack are contained by the worker process anyway.
const RECURSION_LIMIT: usize = 10_000;

thread_local! {
    /// `Object.keys` of the context about to run, taken before any handler code: a handler that
    /// rebinds `Object` or `Object.keys` (as V8 allows) cannot change how the host serializes.
    static OBJECT_KEYS: RefCell<Option<JsObject>> = const { RefCell::new(None) };
}

/// Keeps the next run's context ready: it is built after a run has answered, off the request
/// path, so every run still gets a VM no earlier run has touched.
/// Only the kind of context the last run used is kept ready (a tool's, or a fold function's
/// with the Workers prelude already evaluated): each build resets `OBJECT_KEYS` to its own
/// context, so two ready contexts would leave one of them with the other's `Object.keys`.
pub struct JavaScriptEngine {
    next: Option<Context>,
    next_fold: Option<super::workers_module::Ready>,
    last_was_fold: bool,
}

impl JavaScriptEngine {
    pub fn new() -> Self {
        JavaScriptEngine {
            next: base_context().ok(),
            next_fold: None,
            last_was_fold: false,
        }
    }
}

/// A fresh context with the parts of the platform's globals that do not depend on the run.
///
/// The last run's context is garbage by now, but Boa's collector would only find that out in
/// the middle of this build (its first collection starts at 1 MB), tracing the half-built
/// context twice while `OBJECT_KEYS` (and `SHIM_FETCH`) still held the old realm alive. Collecting first, with
/// nothing live, is a sweep of the old context and nothing more (issue 15: the collector was a
/// third of the JavaScript worker's CPU; see BENCHMARKS.md).
fn base_context() -> JsResult<Context> {
    OBJECT_KEYS.with(|k| *k.borrow_mut() = None);
    SHIM_FETCH.with(|f| *f.borrow_mut() = None);
    boa_engine::gc::force_collect();
    let mut ctx = Context::default();
    ctx.runtime_limits_mut()
        .set_recursion_limit(RECURSION_LIMIT);
    install_console(&mut ctx)?;
    install_fetch(&mut ctx)?;
    let keys = ctx
        .intrinsics()
        .constructors()
        .object()
        .constructor()
        .get(js_string!("keys"), &mut ctx)?
        .as_object()
        .ok_or_else(|| JsNativeError::typ().with_message("Object.keys is missing"))?;
    OBJECT_KEYS.with(|k| *k.borrow_mut() = Some(keys));
    Ok(ctx)
}

impl Default for JavaScriptEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for JavaScriptEngine {
    fn prepare(&mut self) {
        if self.last_was_fold {
            self.next = None;
            if self.next_fold.is_none() {
                self.next_fold = base_context().and_then(super::workers_module::ready).ok();
            }
        } else {
            self.next_fold = None;
            if self.next.is_none() {
                self.next = base_context().ok();
            }
        }
    }

    fn check(&mut self, files: &Files) -> Result<(), String> {
        let source = files.get(ENTRY).map(String::as_str).unwrap_or("");
        let ctx = &mut Context::default();
        let parsed = boa_engine::Script::parse(
            Source::from_bytes(source).with_path(std::path::Path::new(ENTRY)),
            None,
            ctx,
        );
        if let Err(e) = parsed {
            let text = e.to_string();
            let line = regex::Regex::new(r"line (\d+)")
                .ok()
                .and_then(|re| re.captures(&text).map(|c| c[1].to_string()))
                .unwrap_or_else(|| "1".into());
            return Err(format!("{ENTRY}:{line}: {text}"));
        }
        if !super::mentions_entry_point(source) {
            return Err(format!(
                "{ENTRY}: no function cortexone_handler(event, context)"
            ));
        }
        Ok(())
    }

    fn run(&mut self, files: &Files, job: &WireJob) -> RunResult {
        LOGS.with(|l| *l.borrow_mut() = (String::new(), job.log_limit));
        let started = Instant::now();
        self.last_was_fold = job.fold.is_some();
        if let Some(call) = &job.fold {
            self.next = None;
            let ready = self
                .next_fold
                .take()
                .map(Ok)
                .unwrap_or_else(|| base_context().and_then(super::workers_module::ready));
            return super::workers_module::run(ready, files, job, call, started);
        }
        self.next_fold = None;
        let context = self.next.take().map(Ok).unwrap_or_else(base_context);
        let outcome = match context {
            Ok(ctx) => run_once(ctx, files, job),
            Err(e) => Err(Failure {
                kind: "Error".into(),
                details: "the JavaScript runtime failed to start".into(),
                full: e.to_string(),
            }),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut logs = LOGS.with(|l| std::mem::take(&mut l.borrow_mut().0));
        match outcome {
            Ok(n) => finished(n, logs, duration_ms, job.log_limit),
            Err(f) => {
                push_log(&mut logs, &format!("{}\n", f.full), job.log_limit);
                let mut r = RunResult::failed(script(&f.kind, &f.details), f.full, logs);
                r.duration_ms = duration_ms;
                r
            }
        }
    }
}

fn run_once(
    mut fresh: Context,
    files: &Files,
    job: &WireJob,
) -> Result<super::Normalized, Failure> {
    let source = files.get(ENTRY).map(String::as_str).unwrap_or("");
    let ctx = &mut fresh;
    install_process_env(ctx, job).map_err(|e| failure(e, ctx, source))?;
    ctx.eval(Source::from_bytes(source).with_path(std::path::Path::new(ENTRY)))
        .map_err(|e| failure(e, ctx, source))?;
    let handler = ctx
        .global_object()
        .get(js_string!("cortexone_handler"), ctx)
        .map_err(|e| failure(e, ctx, source))?;
    let Some(handler) = handler.as_object().filter(|o| o.is_callable()) else {
        return Err(Failure {
            kind: "ReferenceError".into(),
            details: "cortexone_handler is not defined".into(),
            full: "ReferenceError: cortexone_handler is not defined (cortexone_function.js must define a global function cortexone_handler(event, context))".into(),
        });
    };
    let event = JsValue::from_json(&job.event, ctx).map_err(|e| failure(e, ctx, source))?;
    let context = JsObject::with_object_proto(ctx.intrinsics());
    let returned = handler
        .call(&JsValue::undefined(), &[event, context.into()], ctx)
        .map_err(|e| failure(e, ctx, source))?;
    if returned.as_promise().is_some() {
        return Err(Failure {
            kind: "TypeError".into(),
            details: "cortexone_handler returned a Promise: the platform runs JavaScript synchronously (no async/await, Promises or setTimeout)".into(),
            full: "TypeError: cortexone_handler returned a Promise; return the result directly".into(),
        });
    }
    let value = if returned.is_undefined() {
        None
    } else {
        let keys = object_keys(ctx).map_err(|e| failure(e, ctx, source))?;
        Some(
            to_json(&returned, ctx, &keys, 0, &mut Vec::new()).map_err(|e| match e {
                Converted::Js(e) => failure(e, ctx, source),
                Converted::Shape(c) => Failure {
                    kind: "TypeError".into(),
                    details: convert_message(&c),
                    full: format!("TypeError: {}", convert_message(&c)),
                },
            })?,
        )
    };
    normalize(value).map_err(|m| Failure {
        kind: "TypeError".into(),
        details: m.clone(),
        full: format!("TypeError: {m}"),
    })
}

fn convert_message(c: &ConvertError) -> String {
    match c {
        ConvertError::TooDeep => {
            format!("cannot serialize the returned value: nested deeper than {MAX_DEPTH} levels")
        }
        ConvertError::Cycle => "Converting circular structure to JSON".into(),
        ConvertError::Unsupported(t) => t.clone(),
    }
}

fn install_process_env(ctx: &mut Context, job: &WireJob) -> JsResult<()> {
    let env = JsObject::with_object_proto(ctx.intrinsics());
    for (k, v) in &job.env {
        env.set(
            JsString::from(k.as_str()),
            JsString::from(v.as_str()),
            false,
            ctx,
        )?;
    }
    let process = JsObject::with_object_proto(ctx.intrinsics());
    process.set(js_string!("env"), env, false, ctx)?;
    ctx.register_global_property(js_string!("process"), process, Attribute::all())
}

/// The platform's synchronous `fetch` (`fetch_shim.js` over the host's [`super::outbound`]).
/// The global is a native function that builds the shim on its first call in a context:
/// evaluating the shim was a sixth of building a fresh context (issue 15), and most tools never
/// call `fetch`.
/// `SHIM_FETCH` is reset by [`base_context`], before the last context is collected.
fn install_fetch(ctx: &mut Context) -> JsResult<()> {
    let fetch = native(ctx, first_fetch, js_string!("fetch"), 2);
    ctx.register_global_property(js_string!("fetch"), fetch, Attribute::all())?;
    Ok(())
}

thread_local! {
    /// The shim's `fetch` of the context being run, once built (reset with each new context,
    /// as [`OBJECT_KEYS`] is).
    static SHIM_FETCH: RefCell<Option<JsObject>> = const { RefCell::new(None) };
}

fn first_fetch(this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let built = SHIM_FETCH.with(|f| f.borrow().clone());
    let fetch = match built {
        Some(f) => f,
        None => {
            let host = native(ctx, host_fetch, js_string!("__cortex_fetch"), 1);
            let make = ctx.eval(Source::from_bytes(FETCH_SHIM))?;
            let fetch = make
                .as_callable()
                .ok_or_else(|| JsNativeError::typ().with_message("the fetch shim is broken"))?
                .call(&JsValue::undefined(), &[host.into()], ctx)?
                .as_object()
                .ok_or_else(|| JsNativeError::typ().with_message("the fetch shim is broken"))?;
            SHIM_FETCH.with(|f| *f.borrow_mut() = Some(fetch.clone()));
            fetch
        }
    };
    fetch.call(this, args, ctx)
}

const FETCH_SHIM: &str = include_str!("fetch_shim.js");

fn host_fetch(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let request = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_string(ctx)?
        .to_std_string_escaped();
    Ok(JsValue::from(JsString::from(
        super::outbound::fetch_json(&request).as_str(),
    )))
}

/// A host function of `ctx`'s realm, with its `name` and `length`.
fn native(
    ctx: &Context,
    f: boa_engine::native_function::NativeFunctionPointer,
    name: JsString,
    length: usize,
) -> boa_engine::object::builtins::JsFunction {
    boa_engine::object::FunctionObjectBuilder::new(ctx.realm(), NativeFunction::from_fn_ptr(f))
        .name(name)
        .length(length)
        .build()
}

fn install_console(ctx: &mut Context) -> JsResult<()> {
    let console = JsObject::with_object_proto(ctx.intrinsics());
    for name in ["log", "info", "warn", "error", "debug"] {
        let f = native(ctx, console_log, JsString::from(name), 0);
        console.set(JsString::from(name), f, false, ctx)?;
    }
    ctx.register_global_property(js_string!("console"), console, Attribute::all())?;
    Ok(())
}

fn console_log(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let keys = object_keys(ctx)?;
    let mut line = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        if let Some(s) = a.as_string() {
            line.push_str(&s.to_std_string_escaped());
        } else if a.is_object() && !a.is_callable() {
            match to_json(a, ctx, &keys, 0, &mut Vec::new()) {
                Ok(v) => line.push_str(&jsonfmt::to_string(&v, Style::Go)),
                Err(_) => line.push_str("[object]"),
            }
        } else {
            line.push_str(&a.to_string(ctx)?.to_std_string_escaped());
        }
    }
    line.push('\n');
    super::tap::write(&line);
    LOGS.with(|l| {
        let mut l = l.borrow_mut();
        let limit = l.1;
        push_log(&mut l.0, &line, limit);
    });
    Ok(JsValue::undefined())
}

/// The host's own `Object.keys` (see `OBJECT_KEYS`).
fn object_keys(_ctx: &mut Context) -> JsResult<JsObject> {
    OBJECT_KEYS.with(|k| k.borrow().clone()).ok_or_else(|| {
        JsNativeError::typ()
            .with_message("the JavaScript context is not ready")
            .into()
    })
}

enum Converted {
    Js(JsError),
    Shape(ConvertError),
}

impl From<JsError> for Converted {
    fn from(e: JsError) -> Self {
        Converted::Js(e)
    }
}

fn number(f: f64) -> Value {
    if f.is_finite()
        && f.fract() == 0.0
        && f.abs() < 9.007_199_254_740_992e15
        && !(f == 0.0 && f.is_sign_negative())
    {
        Value::Number(Number::from(f as i64))
    } else {
        // JSON.stringify writes NaN and the infinities as null.
        Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// JS → JSON with `JSON.stringify` semantics (`toJSON`, undefined and functions skipped in
/// objects and null in arrays), depth-capped and cycle-checked instead of recursing natively.
fn to_json(
    v: &JsValue,
    ctx: &mut Context,
    keys_fn: &JsObject,
    depth: usize,
    path: &mut Vec<JsObject>,
) -> Result<Value, Converted> {
    if depth > MAX_DEPTH {
        return Err(Converted::Shape(ConvertError::TooDeep));
    }
    Ok(match v.variant() {
        JsVariant::Null | JsVariant::Undefined | JsVariant::Symbol(_) => Value::Null,
        JsVariant::Boolean(b) => Value::Bool(b),
        JsVariant::Integer32(i) => Value::Number(Number::from(i)),
        JsVariant::Float64(f) => number(f),
        JsVariant::String(s) => Value::String(s.to_std_string_escaped()),
        JsVariant::BigInt(_) => {
            return Err(Converted::Shape(ConvertError::Unsupported(
                "Do not know how to serialize a BigInt".into(),
            )))
        }
        JsVariant::Object(obj) => {
            if obj.is_callable() {
                return Ok(Value::Null);
            }
            let to_json_fn = obj.get(js_string!("toJSON"), ctx)?;
            if let Some(f) = to_json_fn.as_object().filter(|f| f.is_callable()) {
                let replaced = f.call(&obj.clone().into(), &[], ctx)?;
                return to_json(&replaced, ctx, keys_fn, depth + 1, path);
            }
            if path.iter().any(|p| JsObject::equals(p, &obj)) {
                return Err(Converted::Shape(ConvertError::Cycle));
            }
            path.push(obj.clone());
            let out = if obj.is_array() {
                let len = obj.get(js_string!("length"), ctx)?.to_length(ctx)?;
                let mut items = Vec::with_capacity(len.min(1 << 16) as usize);
                for i in 0..len {
                    let item = obj.get(i, ctx)?;
                    if item.is_undefined() || item.is_callable() {
                        items.push(Value::Null);
                    } else {
                        items.push(to_json(&item, ctx, keys_fn, depth + 1, path)?);
                    }
                }
                Value::Array(items)
            } else {
                let keys = keys_fn.call(&JsValue::undefined(), &[obj.clone().into()], ctx)?;
                let keys = keys.as_object().ok_or_else(|| {
                    Converted::Js(
                        JsNativeError::typ()
                            .with_message("Object.keys did not return an array")
                            .into(),
                    )
                })?;
                let len = keys.get(js_string!("length"), ctx)?.to_length(ctx)?;
                let mut map = Map::new();
                for i in 0..len {
                    let key = keys.get(i, ctx)?.to_string(ctx)?;
                    let item = obj.get(key.clone(), ctx)?;
                    if item.is_undefined() || item.is_callable() || item.is_symbol() {
                        continue;
                    }
                    map.insert(
                        key.to_std_string_escaped(),
                        to_json(&item, ctx, keys_fn, depth + 1, path)?,
                    );
                }
                Value::Object(map)
            };
            path.pop();
            out
        }
    })
}

/// Turns a thrown value into the documented `type` / `details` pair (positions in the tool's
/// handler file).
fn failure(e: JsError, ctx: &mut Context, source: &str) -> Failure {
    super::js_errors::failure_in(e, ctx, source, ENTRY)
}
