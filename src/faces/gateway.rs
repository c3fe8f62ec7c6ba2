//! The execution gateway (PLATFORM.md §2): `POST /api/v1/functions/{id}[/{version}]/invoke`.
//! The face reads the key and the body; the checks and the run are the domain's one admission
//! path.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::catalogue::GatewayError;
use crate::domain::admission::{authenticate, note_refusal, run, Caller, KeyStyle, RunRequest};
use crate::domain::app::App;
use crate::faces::reply::{json_response, reject, with_activation_id};

pub async fn invoke_latest(
    State(app): State<Arc<App>>,
    Path(function_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    invoke(app, function_id, None, headers, body).await
}

pub async fn invoke_version(
    State(app): State<Arc<App>>,
    Path((function_id, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    invoke(app, function_id, Some(version), headers, body).await
}

/// The `Authorization` header's value, if it is text.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

async fn read_event(app: &App, body: Body) -> Result<Value, GatewayError> {
    let bytes: Bytes = read_body(body, app.config.server.max_body_bytes).await?;
    let parsed: Value = serde_json::from_slice(&bytes).map_err(|_| GatewayError::InvalidJson)?;
    match parsed {
        Value::Object(mut map) => map.remove("event").ok_or(GatewayError::MissingEvent),
        _ => Err(GatewayError::MissingEvent),
    }
}

/// Reads a request body up to `limit` bytes. Only a body over the limit is 413; one the client
/// cut short or stopped sending is malformed (G400-json), since it cannot be valid JSON.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let over_limit = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit exceeded");
        if over_limit {
            GatewayError::BodyTooLarge(limit)
        } else {
            GatewayError::InvalidJson
        }
    })
}

/// The invoke route's path for a tool (and version).
pub fn invoke_route(function_id: &str, version: Option<&str>) -> String {
    format!(
        "/api/v1/functions/{function_id}{}/invoke",
        version.map(|v| format!("/{v}")).unwrap_or_default()
    )
}

async fn invoke(
    app: Arc<App>,
    function_id: String,
    version: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A refused request runs nothing and is not billed, but the terminal says why and the
    // request log keeps it.
    let route = invoke_route(&function_id, version.as_deref());
    let refuse = |e: GatewayError, org_id: Option<String>| {
        note_refusal(&app, &route, &function_id, org_id, e);
        reject(&app.catalogue, e)
    };
    let key = match authenticate(&app, authorization(&headers), KeyStyle::Raw) {
        Ok(k) => k,
        Err(e) => return refuse(e, None),
    };
    let org_id = Some(key.org_id.clone());
    // The request body (400) is judged once the caller is known (**choice**).
    let event = match read_event(&app, body).await {
        Ok(ev) => ev,
        Err(e) => return refuse(e, org_id),
    };
    invoke_as(&app, &route, function_id, version, key, event).await
}

/// The gateway's answer to an admitted caller's event: what `invoke` answers once the key and
/// the body are read, and what the dashboard's invoke answers as the tool's organization.
pub async fn invoke_as(
    app: &Arc<App>,
    route: &str,
    function_id: String,
    version: Option<String>,
    key: crate::store::KeyRecord,
    event: Value,
) -> Response {
    let org_id = Some(key.org_id.clone());
    let mut request = RunRequest::new(Caller::Key(key), function_id.clone(), event);
    request.version = version;
    let done = match run(app, request).await {
        Ok(done) => done,
        Err(e) => {
            note_refusal(app, route, &function_id, org_id, e);
            return reject(&app.catalogue, e);
        }
    };
    let mut response = with_activation_id(json_response(done.http, done.text), &done.activation_id);
    if let Err(e) = done.recorded {
        tracing::error!("activation {} was not recorded: {e}", done.activation_id);
        if let Ok(v) = HeaderValue::from_str(&format!("activation not recorded: {e}")) {
            response.headers_mut().insert("x-cortex-emu-warning", v);
        }
    }
    response
}

/// Answers a known route called with a method it does not take with JSON rather than an empty
/// body (axum adds the `Allow` header).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    crate::faces::reply::error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("Method {method} is not allowed on {}", uri.path()),
    )
}

/// Answers routes that do not exist with JSON rather than an empty body.
pub async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    crate::faces::reply::error(
        StatusCode::NOT_FOUND,
        &format!("No route for {method} {}", uri.path()),
    )
}
