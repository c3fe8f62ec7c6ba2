//! What both JavaScript modes share (tools' `cortexone_handler` and fold's Workers modules):
//! the captured console output of the run, and how a thrown value becomes the documented
//! `type` / `details` pair with V8's wording.

use std::cell::RefCell;

use boa_engine::{js_string, Context, JsError, JsNativeErrorKind};

thread_local! {
    /// The run's `console.*` output and the log limit it is cut at.
    pub(super) static LOGS: RefCell<(String, usize)> = const { RefCell::new((String::new(), 0)) };
}

pub(super) struct Failure {
    pub kind: String,
    pub details: String,
    pub full: String,
}

/// Turns a thrown value into the documented `type` / `details` pair.
pub(super) fn failure_in(e: JsError, ctx: &mut Context, source: &str, file: &str) -> Failure {
    // An object thrown by JS (`throw new TypeError(...)`, a subclass, or a plain object with name
    // and message) reports its own `name` and `message`, as V8 does.
    if let Some(value) = e.as_opaque() {
        if let Some(obj) = value.as_object() {
            let name = obj
                .get(js_string!("name"), ctx)
                .ok()
                .and_then(|v| v.as_string())
                .map(|s| s.to_std_string_escaped());
            let message = obj
                .get(js_string!("message"), ctx)
                .ok()
                .and_then(|v| v.as_string())
                .map(|s| s.to_std_string_escaped());
            if name.is_some() || message.is_some() {
                let kind = name.unwrap_or_else(|| "Error".into());
                // A value the handler threw keeps its own text.
                let details = message.unwrap_or_default();
                let full = format!("{kind}: {details}\n{e}");
                return Failure {
                    kind,
                    details,
                    full,
                };
            }
        }
        let text = value
            .to_string(ctx)
            .map(|s| s.to_std_string_escaped())
            .unwrap_or_else(|_| "uncaught exception".into());
        return Failure {
            kind: "Error".into(),
            details: text.clone(),
            full: format!("Uncaught {text}"),
        };
    }
    match e.try_native(ctx) {
        Ok(native) => {
            let kind = match native.kind() {
                JsNativeErrorKind::Aggregate(_) => "AggregateError",
                JsNativeErrorKind::Error => "Error",
                JsNativeErrorKind::Eval => "EvalError",
                JsNativeErrorKind::Range => "RangeError",
                JsNativeErrorKind::Reference => "ReferenceError",
                JsNativeErrorKind::Syntax => "SyntaxError",
                JsNativeErrorKind::Type => "TypeError",
                JsNativeErrorKind::Uri => "URIError",
                _ => "Error",
            }
            .to_string();
            let at = super::v8_wording::error_position(&e.to_string(), file);
            let details = super::v8_wording::to_v8_in(&kind, native.message(), source, at);
            Failure {
                full: format!("{kind}: {details}\n{e}"),
                kind,
                details,
            }
        }
        Err(_) => {
            // Engine errors: Boa's recursion and stack limits are V8's stack overflow.
            let text = e.to_string();
            if text.contains("recursive calls") || text.contains("stack size") {
                Failure {
                    kind: "RangeError".into(),
                    details: "Maximum call stack size exceeded".into(),
                    full: format!("RangeError: Maximum call stack size exceeded ({text})"),
                }
            } else {
                Failure {
                    kind: "Error".into(),
                    details: text.clone(),
                    full: text,
                }
            }
        }
    }
}
