//! MCP tools served over the MCP Streamable HTTP transport at `/mcp/{tool id}`, so an MCP client
//! connects to a tool under development directly.
//!
//! The tool's handler *is* the JSON-RPC server (PLATFORM.md §6): this module only carries the
//! transport — sessions (`Mcp-Session-Id`, kept across hot reloads), notifications (202), the
//! JSON-RPC envelope errors the handler never sees (M-parse, M-invalid) and handler failures
//! (M-internal). Requests are answered with `application/json` bodies, which the transport
//! allows; `GET` with a session opens the server-to-client SSE stream that carries
//! `notifications/tools/list_changed` when a save changes the tool's list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::catalogue::GatewayError;
use crate::domain::admission::{self, authenticate, find_tool, Caller, KeyStyle, RunRequest};
use crate::domain::app::App;
use crate::domain::events::ToolEvent;
use crate::faces::reply::{reject, with_activation_id};
use crate::registry::{Tool, ToolKind};
use crate::store::KeyRecord;

/// The MCP face's own state, handed to its handlers as an extension.
pub type Shared = axum::Extension<Arc<Sessions>>;

const SESSION: &str = "mcp-session-id";

/// Sessions handed out by `initialize`, the last `tools/list` answer seen per tool, and the
/// channel that carries `notifications/tools/list_changed` to open GET streams.
pub struct Sessions {
    /// Session id → (tool id, organization id) it was opened for.
    ids: Mutex<HashMap<String, (String, String)>>,
    lists: Mutex<std::collections::HashMap<String, Value>>,
    changed: tokio::sync::broadcast::Sender<String>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            ids: Mutex::default(),
            lists: Mutex::default(),
            changed: tokio::sync::broadcast::channel(64).0,
        }
    }
}

/// Listens to hot reload: each new revision of an MCP tool is asked for its tool list (off the
/// request path) and, when the list differs from the last one seen, every open stream of that
/// tool is told. Sessions survive the reload.
pub fn follow_reloads(app: &Arc<App>, sessions: &Arc<Sessions>) {
    let mut events = app.tool_events.subscribe();
    let (app, sessions) = (app.clone(), sessions.clone());
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ToolEvent::Reloaded(t)) if t.kind == ToolKind::Mcp => {
                    announce_if_list_changed(&app, &sessions, &t).await;
                }
                Ok(ToolEvent::Removed(id)) => {
                    sessions.lists.lock().unwrap().remove(&id);
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

async fn announce_if_list_changed(app: &Arc<App>, sessions: &Sessions, tool: &Arc<Tool>) {
    let request = json!({"jsonrpc": "2.0", "id": "cortex-emu-reload", "method": "tools/list"});
    let mut ask = RunRequest::new(Caller::Local, tool.id.clone(), request);
    ask.code = Some(tool.bundle.clone());
    let Ok(done) = admission::run(app, ask).await else {
        return;
    };
    let list = done
        .result
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .map(|v| v["result"]["tools"].clone())
        .unwrap_or(Value::Null);
    let previous = sessions
        .lists
        .lock()
        .unwrap()
        .insert(tool.id.clone(), list.clone());
    if previous.is_some_and(|p| p != list) {
        let _ = sessions.changed.send(tool.id.clone());
        app.say(&format!(
            "{}: tools/list changed, notified MCP clients",
            tool.id
        ));
    }
}

/// Remembers the list a client was given, so a later reload can tell whether it changed.
fn remember_list(sessions: &Sessions, tool_id: &str, reply: &Value) {
    if let Some(tools) = reply.get("result").and_then(|r| r.get("tools")) {
        sessions
            .lists
            .lock()
            .unwrap()
            .insert(tool_id.to_string(), tools.clone());
    }
}

/// A JSON-RPC error object as the M* rows of RESPONSES.md shape it.
pub fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn json_reply(status: StatusCode, v: &Value) -> Response {
    crate::faces::reply::json_response(
        status,
        crate::jsonfmt::to_string(v, crate::jsonfmt::Style::Python),
    )
}

type Admitted = (KeyRecord, Arc<Tool>);

/// Every method on `/mcp/{tool}` checks the key and the tool's visibility first, as the gateway
/// does: a session id alone opens nothing. MCP clients usually send `Bearer <key>`, which is
/// accepted here.
fn admit(app: &App, tool_id: &str, headers: &HeaderMap) -> Result<Admitted, Box<Response>> {
    let authorization = crate::faces::gateway::authorization(headers);
    let found = authenticate(app, authorization, KeyStyle::RawOrBearer).and_then(|key| {
        let tool = find_tool(app, &key, tool_id, Some(ToolKind::Mcp))?;
        Ok((key, tool))
    });
    found.map_err(|e| {
        // A Bearer prefix is fine here, so every key failure reads as an unknown key.
        let e = match e {
            GatewayError::BearerPrefix => GatewayError::Unauthorized,
            e => e,
        };
        Box::new(reject(&app.catalogue, e))
    })
}

/// Whether session `sid` was opened on this tool by this key's organization.
fn owns_session(sessions: &Sessions, sid: &str, tool: &Tool, key: &KeyRecord) -> bool {
    sessions
        .ids
        .lock()
        .unwrap()
        .get(sid)
        .is_some_and(|(t, o)| *t == tool.id && *o == key.org_id)
}

fn unknown_session() -> Response {
    json_reply(
        StatusCode::NOT_FOUND,
        &rpc_error(
            Value::Null,
            -32600,
            "Invalid request: unknown or expired Mcp-Session-Id",
        ),
    )
}

/// `POST /mcp/{tool}`: one JSON-RPC message.
pub async fn post(
    State(state): State<Arc<App>>,
    axum::Extension(sessions): Shared,
    Path(tool_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (key, tool) = match admit(&state, &tool_id, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if let Some(sid) = headers.get(SESSION).and_then(|v| v.to_str().ok()) {
        if !owns_session(&sessions, sid, &tool, &key) {
            return unknown_session();
        }
    }
    let limit = state.config.server.max_body_bytes;
    let bytes: Bytes = match crate::faces::gateway::read_body(body, limit).await {
        Ok(b) => b,
        Err(GatewayError::InvalidJson) => {
            return json_reply(
                StatusCode::OK,
                &rpc_error(Value::Null, -32700, "Parse error"),
            )
        }
        Err(e) => return reject(&state.catalogue, e),
    };
    // M-parse: not JSON at all.
    let Ok(message) = serde_json::from_slice::<Value>(&bytes) else {
        return json_reply(
            StatusCode::OK,
            &rpc_error(Value::Null, -32700, "Parse error"),
        );
    };
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    // M-invalid: not a JSON-RPC 2.0 request object.
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_string);
    if !message.is_object() || message.get("jsonrpc") != Some(&json!("2.0")) || method.is_none() {
        // A JSON-RPC response or error sent by the client (to a server request) is acknowledged.
        if message.get("jsonrpc") == Some(&json!("2.0"))
            && (message.get("result").is_some() || message.get("error").is_some())
        {
            return StatusCode::ACCEPTED.into_response();
        }
        return json_reply(StatusCode::OK, &rpc_error(id, -32600, "Invalid request"));
    }
    // Notifications get no answer.
    if message.get("id").is_none() {
        return StatusCode::ACCEPTED.into_response();
    }
    let mut request = RunRequest::new(Caller::Key(key.clone()), tool.id.clone(), message);
    request.kind = Some(ToolKind::Mcp);
    let done = match admission::run(&state, request).await {
        Ok(done) => done,
        Err(e) => return reject(&state.catalogue, e),
    };
    let reply = match (
        done.result.status_code,
        done.result
            .body
            .as_deref()
            .map(serde_json::from_str::<Value>),
    ) {
        (200, Some(Ok(v))) if v.get("jsonrpc").is_some() => v,
        _ => {
            // M-internal: the handler failed (or answered something that is not JSON-RPC).
            let detail = done
                .result
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .and_then(|b| {
                    b.get("details")
                        .or_else(|| b.get("error"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| {
                    format!(
                        "the handler answered statusCode {}",
                        done.result.status_code
                    )
                });
            rpc_error(id, -32603, &format!("Internal error: {detail}"))
        }
    };
    if method.as_deref() == Some("tools/list") {
        remember_list(&sessions, &tool.id, &reply);
    }
    let mut response = json_reply(StatusCode::OK, &reply);
    if method.as_deref() == Some("initialize") && reply.get("result").is_some() {
        let sid = uuid::Uuid::new_v4().simple().to_string();
        sessions
            .ids
            .lock()
            .unwrap()
            .insert(sid.clone(), (tool.id.clone(), key.org_id.clone()));
        if let Ok(v) = HeaderValue::from_str(&sid) {
            response.headers_mut().insert(SESSION, v);
        }
    }
    with_activation_id(response, &done.activation_id)
}

/// `GET /mcp/{tool}` with a session: the server-to-client stream (Server-Sent Events), which
/// carries `notifications/tools/list_changed` when a hot reload changes the tool's list.
pub async fn get(
    State(state): State<Arc<App>>,
    axum::Extension(sessions): Shared,
    Path(tool_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures_util::StreamExt;
    let (key, tool) = match admit(&state, &tool_id, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match headers.get(SESSION).and_then(|v| v.to_str().ok()) {
        None => {
            let mut r = json_reply(
                StatusCode::METHOD_NOT_ALLOWED,
                &rpc_error(
                    Value::Null,
                    -32600,
                    "Method not allowed: GET opens the event stream of a session; send Mcp-Session-Id from initialize",
                ),
            );
            r.headers_mut().insert(
                axum::http::header::ALLOW,
                HeaderValue::from_static("GET, POST, DELETE"),
            );
            return r;
        }
        Some(sid) if !owns_session(&sessions, sid, &tool, &key) => return unknown_session(),
        Some(_) => {}
    }
    let rx = sessions.changed.subscribe();
    let events = futures_util::stream::unfold((rx, tool_id), |(mut rx, tool_id)| async move {
        loop {
            match rx.recv().await {
                Ok(id) if id == tool_id => {
                    let note =
                        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
                    let event = Event::default().event("message").data(note.to_string());
                    return Some((Ok::<_, std::convert::Infallible>(event), (rx, tool_id)));
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let hello =
        futures_util::stream::once(async { Ok(Event::default().comment("cortex-emu mcp stream")) });
    Sse::new(hello.chain(events))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `DELETE /mcp/{tool}`: ends a session (the key and tool are checked as for POST).
pub async fn delete(
    State(state): State<Arc<App>>,
    axum::Extension(sessions): Shared,
    Path(tool_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (key, tool) = match admit(&state, &tool_id, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match headers.get(SESSION).and_then(|v| v.to_str().ok()) {
        Some(sid) if owns_session(&sessions, sid, &tool, &key) => {
            sessions.ids.lock().unwrap().remove(sid);
            StatusCode::OK.into_response()
        }
        _ => unknown_session(),
    }
}
