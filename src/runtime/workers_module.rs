//! Fold functions on Boa: a Workers-style ES module (`export default { async fetch(request,
//! env, ctx) }`) run in the same fresh context per request as a JavaScript tool, with the
//! `Request` / `Response` / `Headers` / `URL` globals of `workers_prelude.js` and the bindings
//! of `fold_bindings` in `env`.
//!
//! Promises settle by draining Boa's job queue: the platform runs no timers, so a handler's
//! promise either settles once the queue is empty or never will, and the latter is an error
//! rather than a hang (a loop inside a job is stopped by the worker's deadline like any other).

use std::cell::RefCell;
use std::time::Instant;

use boa_engine::builtins::promise::PromiseState;
use boa_engine::module::Module;
use boa_engine::object::builtins::JsFunction;
use boa_engine::{
    js_string, Context, JsError, JsNativeError, JsResult, JsString, JsValue, NativeFunction, Source,
};
use serde_json::json;

use super::fold_bindings::Bindings;
use super::js_errors::{failure_in, Failure, LOGS};
use super::Files;
use crate::catalogue::handler::script;
use crate::protocol::{push_log, FoldCall, FoldResponse, RunResult, RunStatus, WireJob};

/// The module's file in a fold bundle.
pub const FOLD_ENTRY: &str = "index.js";
const PRELUDE: &str = include_str!("workers_prelude.js");

fn failure(e: JsError, ctx: &mut Context, source: &str) -> Failure {
    failure_in(e, ctx, source, FOLD_ENTRY)
}

thread_local! {
    /// The bindings of the run in progress, reached by the `__cortexBinding` native.
    static BINDINGS: RefCell<Option<Bindings>> = const { RefCell::new(None) };
}

/// The host hooks the prelude defines, captured before any function code runs, so a module
/// that overwrites the globals cannot change how the host builds requests or reads responses.
struct Hooks {
    request: JsFunction,
    env: JsFunction,
    ctx: JsFunction,
    settle: JsFunction,
}

/// A fresh context with the prelude evaluated and its hooks captured: built off the request
/// path (see `JavaScriptEngine::prepare`), since the prelude is most of a small function's cost.
pub(super) struct Ready {
    ctx: Context,
    hooks: Hooks,
}

pub(super) fn ready(mut ctx: Context) -> JsResult<Ready> {
    let hooks = install(&mut ctx)?;
    Ok(Ready { ctx, hooks })
}

pub(super) fn run(
    context: JsResult<Ready>,
    files: &Files,
    job: &WireJob,
    call: &FoldCall,
    started: Instant,
) -> RunResult {
    BINDINGS.with(|b| *b.borrow_mut() = Some(Bindings::new(call.bindings.clone())));
    let outcome = match context {
        Ok(ready) => run_module(ready, files, job, call),
        Err(e) => Err(Failure {
            kind: "Error".into(),
            details: "the JavaScript runtime failed to start".into(),
            full: e.to_string(),
        }),
    };
    // Connections close with the run: the next run (maybe another function) starts clean.
    BINDINGS.with(|b| *b.borrow_mut() = None);
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut logs = LOGS.with(|l| std::mem::take(&mut l.borrow_mut().0));
    match outcome {
        Ok(response) => RunResult {
            status: RunStatus::Success,
            status_code: response.status as i64,
            body: Some(serde_json::to_string(&response).expect("responses serialize")),
            logs,
            error: None,
            duration_ms,
            exchanges: Vec::new(),
        },
        Err(f) => {
            push_log(&mut logs, &format!("{}\n", f.full), job.log_limit);
            let mut r = RunResult::failed(script(&f.kind, &f.details), f.full, logs);
            r.duration_ms = duration_ms;
            r
        }
    }
}

fn run_module(
    ready: Ready,
    files: &Files,
    job: &WireJob,
    call: &FoldCall,
) -> Result<FoldResponse, Failure> {
    let source = files.get(FOLD_ENTRY).map(String::as_str).unwrap_or("");
    let Ready {
        ctx: mut fresh,
        hooks,
    } = ready;
    let ctx = &mut fresh;

    let module = Module::parse(
        Source::from_bytes(source).with_path(std::path::Path::new(FOLD_ENTRY)),
        None,
        ctx,
    )
    .map_err(|e| failure(e, ctx, source))?;
    let loaded = module.load_link_evaluate(ctx);
    ctx.run_jobs().map_err(|e| failure(e, ctx, source))?;
    match loaded.state() {
        PromiseState::Rejected(e) => return Err(failure(JsError::from_opaque(e), ctx, source)),
        PromiseState::Pending => {
            return Err(type_error(
                "the module's top level never finished (it awaits something that never settles)",
            ))
        }
        PromiseState::Fulfilled(_) => {}
    }
    let exported = module
        .namespace(ctx)
        .get(js_string!("default"), ctx)
        .map_err(|e| failure(e, ctx, source))?;
    let Some(handler) = exported.as_object() else {
        return Err(type_error(
            "the module has no default export: write export default { async fetch(request, env, ctx) { ... } }",
        ));
    };
    let fetch = handler
        .get(js_string!("fetch"), ctx)
        .map_err(|e| failure(e, ctx, source))?;
    let Some(fetch) = fetch.as_object().filter(|f| f.is_callable()) else {
        return Err(type_error(
            "the default export has no fetch(request, env, ctx) handler",
        ));
    };

    let request_json = JsString::from(job.event.to_string().as_str());
    let request = hooks
        .request
        .call(&JsValue::undefined(), &[request_json.into()], ctx)
        .map_err(|e| failure(e, ctx, source))?;
    let bindings = json!(call
        .bindings
        .iter()
        .map(|b| json!({"kind": b.kind, "name": b.name}))
        .collect::<Vec<_>>());
    let env = hooks
        .env
        .call(
            &JsValue::undefined(),
            &[JsString::from(bindings.to_string().as_str()).into()],
            ctx,
        )
        .map_err(|e| failure(e, ctx, source))?;
    let fctx = hooks
        .ctx
        .call(&JsValue::undefined(), &[], ctx)
        .map_err(|e| failure(e, ctx, source))?;
    let returned = fetch
        .call(&handler.clone().into(), &[request, env, fctx], ctx)
        .map_err(|e| failure(e, ctx, source))?;
    let settled = hooks
        .settle
        .call(&JsValue::undefined(), &[returned], ctx)
        .map_err(|e| failure(e, ctx, source))?;
    // Runs the handler's awaits and then what it handed to ctx.waitUntil.
    ctx.run_jobs().map_err(|e| failure(e, ctx, source))?;
    let promise = settled
        .as_promise()
        .ok_or_else(|| type_error("the host could not read the handler's result"))?;
    match promise.state() {
        PromiseState::Fulfilled(v) => {
            let text = v
                .as_string()
                .map(|s| s.to_std_string_escaped())
                .ok_or_else(|| type_error("the host could not read the handler's Response"))?;
            serde_json::from_str(&text)
                .map_err(|e| type_error(&format!("the handler's Response could not be read: {e}")))
        }
        PromiseState::Rejected(e) => Err(failure(JsError::from_opaque(e), ctx, source)),
        PromiseState::Pending => Err(type_error(
            "fetch() returned a Promise that never settled (the platform runs no timers: nothing can resolve it later)",
        )),
    }
}

fn type_error(message: &str) -> Failure {
    Failure {
        kind: "TypeError".into(),
        details: message.into(),
        full: format!("TypeError: {message}"),
    }
}

/// Evaluates the prelude, installs the bindings native, and captures the host hooks.
fn install(ctx: &mut Context) -> JsResult<Hooks> {
    ctx.eval(Source::from_bytes(PRELUDE).with_path(std::path::Path::new("workers_prelude.js")))?;
    ctx.register_global_callable(
        js_string!("__cortexBinding"),
        3,
        NativeFunction::from_fn_ptr(binding_call),
    )?;
    let hook = |name: &str, ctx: &mut Context| -> JsResult<JsFunction> {
        let value = ctx.global_object().get(JsString::from(name), ctx)?;
        value
            .as_object()
            .and_then(|o| JsFunction::from_object(o.clone()))
            .ok_or_else(|| {
                JsNativeError::typ()
                    .with_message(format!("the workers prelude does not define {name}"))
                    .into()
            })
    };
    let respond = hook("__cortexRespond", ctx)?;
    let settle = ctx.eval(Source::from_bytes(
        "(respond) => (value) => Promise.resolve(value).then(respond)",
    ))?;
    let settle = settle
        .as_object()
        .and_then(|o| JsFunction::from_object(o.clone()))
        .ok_or_else(|| JsNativeError::typ().with_message("settle is not a function"))?
        .call(&JsValue::undefined(), &[respond.into()], ctx)?;
    Ok(Hooks {
        request: hook("__cortexRequest", ctx)?,
        env: hook("__cortexEnv", ctx)?,
        ctx: hook("__cortexCtx", ctx)?,
        settle: settle
            .as_object()
            .and_then(|o| JsFunction::from_object(o.clone()))
            .ok_or_else(|| JsNativeError::typ().with_message("settle is not a function"))?,
    })
}

/// `__cortexBinding(name, op, argsJson)` → `{"ok": value}` or `{"error": message}` as JSON.
fn binding_call(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let text = |i: usize, ctx: &mut Context| -> JsResult<String> {
        Ok(args
            .get(i)
            .cloned()
            .unwrap_or_default()
            .to_string(ctx)?
            .to_std_string_escaped())
    };
    let name = text(0, ctx)?;
    let op = text(1, ctx)?;
    let raw = text(2, ctx)?;
    let reply = match serde_json::from_str::<serde_json::Value>(&raw) {
        Err(e) => json!({"error": format!("binding arguments are not JSON: {e}")}),
        Ok(arguments) => BINDINGS.with(|b| match b.borrow_mut().as_mut() {
            None => json!({"error": "bindings are only reachable while a request runs"}),
            Some(bindings) => match bindings.call(&name, &op, &arguments) {
                Ok(v) => json!({ "ok": v }),
                Err(e) => json!({ "error": e }),
            },
        }),
    };
    Ok(JsString::from(reply.to_string().as_str()).into())
}
