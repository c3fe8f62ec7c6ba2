//! The one fault check every route passes through (a middleware on the whole router): a plane
//! mounted later gets fault injection without code of its own. `/_emulator` is never faulted,
//! so a test can always remove what it injected.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::catalogue::rows::{self, Family, Row};
use crate::catalogue::Wording;
use crate::domain::admission::{authenticate, org_slug, KeyStyle};
use crate::domain::app::App;
use crate::domain::faults::Scope;
use crate::store::Activation;

pub async fn inject(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    // Without faults (the usual case) a request pays one lock, not a key lookup.
    if path.starts_with("/_emulator") || app.faults.is_empty() {
        return next.run(req).await;
    }
    let key = authenticate(
        &app,
        crate::faces::gateway::authorization(req.headers()),
        KeyStyle::RawOrBearer,
    )
    .ok();
    match forced(&app, &path, key).await {
        Some(response) => response,
        None => next.run(req).await,
    }
}

/// The fault that answers a request to `path` by `key`, if one matches: its added latency is
/// waited out here, and a forced row is the answer (`None`: the route answers itself). The
/// dashboard's invoke (an admin route) asks this for the gateway route it stands for.
pub async fn forced(
    app: &Arc<App>,
    path: &str,
    key: Option<crate::store::KeyRecord>,
) -> Option<Response> {
    if app.faults.is_empty() {
        return None;
    }
    let tool = tool_of(path);
    let organization = key.as_ref().map(|k| org_slug(app, k));
    let scope = Scope {
        path,
        tool: tool.as_deref(),
        organization: organization.as_deref(),
    };
    let hit = app.faults.take(&scope)?;
    if !hit.latency.is_zero() {
        tokio::time::sleep(hit.latency).await;
    }
    let row = hit.row?;
    let rival = app.catalogue.wording == Wording::Rival;
    let text = rows::render(row, path, rival);
    let mut response = (
        StatusCode::from_u16(row.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(
            axum::http::header::CONTENT_TYPE,
            rows::content_type(row.family),
        )],
        text.clone(),
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&hit.fault_id) {
        headers.insert("x-cortex-emu-fault", v);
    }
    add_row_headers(row, headers);
    // An injected gateway answer for a known tool is an activation, marked as injected, so the
    // activity log shows what the client saw.
    if matches!(row.family, Family::Gateway | Family::Handler) {
        if let (Some(tool), Some(key)) = (tool.and_then(|t| app.registry.get(&t)), key) {
            let id = record_injected(app, &tool, &key, row, text).await;
            response = crate::faces::reply::with_activation_id(response, &id);
        }
    }
    Some(response)
}

/// The tool id a path names, on the routes that name one.
fn tool_of(path: &str) -> Option<String> {
    let rest = path
        .strip_prefix("/api/v1/functions/")
        .or_else(|| path.strip_prefix("/mcp/"))?;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then(|| id.to_string())
}

/// The headers the catalogue names for a row (rate limits, retry hints).
fn add_row_headers(row: &Row, headers: &mut axum::http::HeaderMap) {
    match row.id {
        "F-rate" => {
            headers.insert("ratelimit-limit", HeaderValue::from_static("100"));
            headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
            headers.insert("ratelimit-reset", HeaderValue::from_static("60"));
        }
        "P-rate" => {
            headers.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(rows::PROBLEM_RETRY_AFTER_SECS),
            );
        }
        _ => {}
    }
}

async fn record_injected(
    app: &App,
    tool: &crate::registry::Tool,
    key: &crate::store::KeyRecord,
    row: &Row,
    response: String,
) -> String {
    let now = app.clock.rfc3339();
    let status_code = rows::envelope_status(row) as i64;
    let a = Activation {
        id: app.store.new_activation_id(),
        org_id: key.org_id.clone(),
        tool_id: tool.id.clone(),
        version: "injected".into(),
        code_hash: tool.bundle.hash.clone(),
        runtime: tool.runtime_id().to_string(),
        status: if status_code < 400 {
            "success"
        } else {
            "error"
        }
        .into(),
        status_code,
        duration_ms: 0.0,
        cost_micros: 0,
        event: String::new(),
        response,
        logs: format!("[cortex-emu] answered by fault injection with {}\n", row.id),
        error: Some(format!("injected {}", row.id)),
        started_at: now.clone(),
        finished_at: now,
        injected: true,
        exchanges: "[]".into(),
        replay_of: None,
    };
    let id = a.id.clone();
    let live = Arc::new(a.clone());
    if app.store.record_run(a, Some(key.id.clone())).await.is_ok() {
        let _ = app.activity.send(live);
    }
    id
}
