//! Test control under `/_emulator/v1/` (admin token): faults, the test clock, reset, export and
//! the response catalogue. What CI needs to drive the emulator into any state.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::{body, reply, JsonBody};
use crate::config::FaultConfig;
use crate::domain::app::App;

/// `GET /_emulator/v1/faults`.
pub async fn list_faults(State(app): State<Arc<App>>) -> Response {
    reply(StatusCode::OK, json!({"faults": app.faults.list()}))
}

/// `POST /_emulator/v1/faults` with the fields of a `[[faults]]` entry.
pub async fn add_fault(State(app): State<Arc<App>>, b: JsonBody<FaultConfig>) -> Response {
    let spec = match body(b) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match app.faults.add(spec) {
        Ok(f) => {
            app.say(&format!("fault {} added", f.id));
            reply(StatusCode::CREATED, json!(f))
        }
        Err(e) => reply(StatusCode::BAD_REQUEST, json!({"error": e})),
    }
}

/// `DELETE /_emulator/v1/faults/{id}`.
pub async fn delete_fault(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    if app.faults.remove(&id) {
        reply(StatusCode::OK, json!({"deleted": id}))
    } else {
        reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no fault {id:?} (used-up faults are removed)")}),
        )
    }
}

/// `DELETE /_emulator/v1/faults`: every fault.
pub async fn clear_faults(State(app): State<Arc<App>>) -> Response {
    let n = app.faults.list().len();
    app.faults.clear();
    reply(StatusCode::OK, json!({"deleted": n}))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// A span: `15m`, `90s`, `1h30m`, `2d`.
    #[serde(default)]
    pub advance: Option<String>,
    /// An instant: RFC 3339 or `YYYY-MM-DD`.
    #[serde(default)]
    pub set: Option<String>,
    /// `true`: back to the machine's time.
    #[serde(default)]
    pub real: Option<bool>,
}

fn clock_json(app: &App) -> serde_json::Value {
    json!({"now": app.clock.rfc3339(), "moved": app.clock.is_moved()})
}

/// `GET /_emulator/v1/clock`.
pub async fn get_clock(State(app): State<Arc<App>>) -> Response {
    reply(StatusCode::OK, clock_json(&app))
}

/// `POST /_emulator/v1/clock` with one of `advance`, `set`, `real`.
pub async fn move_clock(State(app): State<Arc<App>>, b: JsonBody<ClockRequest>) -> Response {
    let req = match body(b) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let bad = |m: String| reply(StatusCode::BAD_REQUEST, json!({"error": m}));
    match (req.advance, req.set, req.real) {
        (Some(span), None, None) => match crate::clock::parse_span(&span) {
            Ok(d) => app.clock.advance(d),
            Err(e) => return bad(e),
        },
        (None, Some(at), None) => match crate::clock::parse_instant(&at) {
            Some(t) => app.clock.set(t),
            None => {
                return bad(format!(
                    "{at:?} is not an instant\n  hint: write RFC 3339 (2027-01-01T00:00:00Z) or YYYY-MM-DD"
                ))
            }
        },
        (None, None, Some(true)) => app.clock.real(),
        _ => {
            return bad(
                "send exactly one of {\"advance\": \"15m\"}, {\"set\": \"2027-01-01T00:00:00Z\"} or {\"real\": true}".into(),
            )
        }
    }
    reply(StatusCode::OK, clock_json(&app))
}

/// `POST /_emulator/v1/reset`: back to the state `emulator.toml` seeds.
pub async fn reset(State(app): State<Arc<App>>) -> Response {
    match app.reset().await {
        Ok(()) => {
            app.say("state reset to what emulator.toml seeds");
            reply(StatusCode::OK, json!({"reset": true}))
        }
        Err(e) => {
            tracing::error!("reset failed: {e:#}");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": format!("reset failed: {e:#}")}),
            )
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The folder to write (created when missing; an earlier export in it is replaced).
    pub dir: String,
}

/// `POST /_emulator/v1/export` `{"dir": "..."}`: the whole state, for `serve --import DIR`.
pub async fn export(State(app): State<Arc<App>>, b: JsonBody<ExportRequest>) -> Response {
    let req = match body(b) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match crate::domain::snapshot::export(&app.store, std::path::Path::new(&req.dir)).await {
        Ok(file) => reply(
            StatusCode::OK,
            json!({"dir": req.dir, "file": file.display().to_string()}),
        ),
        Err(e) => reply(StatusCode::BAD_REQUEST, json!({"error": e})),
    }
}

/// `GET /_emulator/v1/catalogue`: every row of the response catalogue, for fault authors.
pub async fn catalogue() -> Response {
    let rows: Vec<_> = crate::catalogue::rows::ROWS
        .iter()
        .map(|r| {
            json!({"id": r.id, "status": r.status, "family": format!("{:?}", r.family), "code": r.code,
                   "inject_only": r.inject_only})
        })
        .collect();
    reply(StatusCode::OK, json!({"rows": rows}))
}
