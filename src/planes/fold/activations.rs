//! Activations (one per dispatch): `GET /activations?function_id=&status=&limit=` (default 50,
//! max 100), `GET /activations/{id}` (request, response, logs, subrequests), replay of one or
//! up to 50 (`POST /activations/{id}/replay`, `POST /activations/bulk-replay`), `GET /logs`,
//! `GET /subrequests`, and the Pro plan's `POST /functions/{id}/diagnose`.
//!
//! A replay sends the recorded request again to the version in force now and records a new
//! activation whose `replay_of` names the original.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::{self, Action};
use super::dispatch;
use super::envelope::FoldError;
use crate::domain::app::App;
use crate::protocol::FoldRequest;
use crate::store::fold::FoldToken;
use crate::store::fold_runs::{ActivationQuery, FoldActivation};

const STATUSES: &[&str] = &["success", "error", "timeout"];
const MAX_BULK: usize = 50;

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// `limit` from the query: `default` when absent, refused outside `1..=max`.
fn limit(pairs: &[(String, String)], default: usize, max: usize) -> Result<usize, FoldError> {
    match pairs.iter().find(|(k, _)| k == "limit") {
        None => Ok(default),
        Some((_, v)) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(FoldError::field(
                "limit",
                format!("{v:?} must be a whole number from 1 to {max}"),
            )),
        },
    }
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.clone())
}

/// The list entry, in the docs' shape.
fn summary(app: &App, a: &FoldActivation) -> Value {
    json!({
        "id": a.id,
        "function_id": a.function_id,
        "tenant_id": app.store.org(&a.org_id).map(|o| o.slug).unwrap_or_default(),
        "status": a.status,
        "duration_ms": a.duration_ms,
        "error_message": a.error_message,
        "triggered_at": a.triggered_at,
        "response_status": a.response_status,
    })
}

/// The detail: the summary plus what ran and what came out.
fn detail(app: &App, a: &FoldActivation) -> Value {
    let mut v = summary(app, a);
    v["function_name"] = json!(a.function_name);
    v["version"] = json!(a.version);
    v["request"] = a.request.clone();
    v["response"] = a.response.clone();
    v["logs"] = json!(a.logs);
    v["subrequests"] = a.subrequests.clone();
    v["replay_of"] = json!(a.replay_of);
    v
}

fn query(pairs: &[(String, String)], default_limit: usize) -> Result<ActivationQuery, FoldError> {
    let status = param(pairs, "status");
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(FoldError::field(
                "status",
                format!("{s:?} is not one of {}", STATUSES.join(", ")),
            ));
        }
    }
    Ok(ActivationQuery {
        function_id: param(pairs, "function_id"),
        status,
        since: param(pairs, "since"),
        limit: limit(pairs, default_limit, 100)?,
    })
}

/// `GET /activations`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let q = query(&query_pairs(&uri), 50)?;
    let rows = app.store.fold_activations(&token.org_id, q).await?;
    let items: Vec<Value> = rows.iter().map(|a| summary(&app, a)).collect();
    Ok(Json(json!({ "activations": items })))
}

async fn owned(app: &App, token: &FoldToken, id: &str) -> Result<FoldActivation, FoldError> {
    app.store
        .fold_activation(id)
        .await?
        .filter(|a| a.org_id == token.org_id)
        // **choice**: the docs name no activation error; an unknown id is the resource's
        // closest row, with the id in details.
        .ok_or_else(|| FoldError::details("F-function", json!({"activation_id": id})))
}

/// `GET /activations/{id}`.
pub(crate) async fn read(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let a = owned(&app, &token, &id).await?;
    Ok(Json(detail(&app, &a)))
}

/// Runs `original`'s request again against its function's version in force.
async fn replay_one(app: &App, original: &FoldActivation) -> Result<FoldActivation, FoldError> {
    let org = app
        .store
        .org(&original.org_id)
        .ok_or_else(|| FoldError::details("F-tenant", json!({"activation_id": original.id})))?;
    let function = app
        .store
        .fold_function(&original.function_id)
        .await?
        .ok_or_else(|| {
            FoldError::details(
                "F-function",
                json!({"function_id": original.function_id, "message": "the function was deleted"}),
            )
        })?;
    let request: FoldRequest = serde_json::from_value(original.request.clone())
        .map_err(|_| FoldError::field("activation", "its request could not be read back"))?;
    super::plans::check_cap(app, &org).await?;
    let ran =
        dispatch::run_function(app, &org, &function, request, Some(original.id.clone())).await?;
    Ok(ran.activation)
}

/// `POST /activations/{id}/replay`: the new activation.
pub(crate) async fn replay(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Deploy).await?;
    let original = owned(&app, &token, &id).await?;
    let new = replay_one(&app, &original).await?;
    Ok(Json(detail(&app, &new)))
}

#[derive(Deserialize)]
struct BulkBody {
    activation_ids: Option<Value>,
}

/// `POST /activations/bulk-replay {"activation_ids": [..]}` (at most 50): one entry per id, in
/// order, each the new activation or the error that id met.
pub(crate) async fn bulk_replay(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Deploy).await?;
    let req: BulkBody = serde_json::from_slice(&body)
        .map_err(|e| FoldError::field("body", format!("not a JSON object: {e}")))?;
    let ids: Vec<String> = match req.activation_ids {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(FoldError::field(
                    "activation_ids",
                    format!("{other} is not an activation id"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(FoldError::field("activation_ids", "must be an array")),
        None => return Err(FoldError::field("activation_ids", "is required")),
    };
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(FoldError::field(
            "activation_ids",
            format!("has {} ids; send 1 to {MAX_BULK}", ids.len()),
        ));
    }
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let outcome = match owned(&app, &token, &id).await {
            Ok(original) => replay_one(&app, &original).await,
            Err(e) => Err(e),
        };
        results.push(match outcome {
            Ok(new) => json!({"activation_id": id, "replay": summary(&app, &new)}),
            Err(e) => json!({"activation_id": id, "error": e.body()}),
        });
    }
    Ok(Json(json!({ "results": results })))
}

/// `GET /logs?function_id=&limit=` (default 50, max 100): what runs printed, newest first.
pub(crate) async fn logs(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let q = query(&query_pairs(&uri), 50)?;
    let rows = app.store.fold_activations(&token.org_id, q).await?;
    let items: Vec<Value> = rows
        .iter()
        .filter(|a| !a.logs.is_empty())
        .map(|a| {
            json!({
                "activation_id": a.id,
                "function_id": a.function_id,
                "triggered_at": a.triggered_at,
                "status": a.status,
                "logs": a.logs,
            })
        })
        .collect();
    Ok(Json(json!({ "logs": items })))
}

/// `GET /subrequests?function_id=&since=&limit=` (default 50, max 200): the outbound requests
/// functions made, newest first.
pub(crate) async fn subrequests(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let pairs = query_pairs(&uri);
    let max = limit(&pairs, 50, 200)?;
    let q = ActivationQuery {
        function_id: param(&pairs, "function_id"),
        status: None,
        since: param(&pairs, "since"),
        limit: 100,
    };
    let rows = app.store.fold_activations(&token.org_id, q).await?;
    let items: Vec<Value> = rows
        .iter()
        .flat_map(|a| {
            a.subrequests
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |mut s| {
                    s["activation_id"] = json!(a.id);
                    s["function_id"] = json!(a.function_id);
                    s
                })
        })
        .take(max)
        .collect();
    Ok(Json(json!({ "subrequests": items })))
}

/// A hint for a recorded error, from what the message says.
fn hint_for(error: &str) -> &'static str {
    let rules: &[(&str, &str)] = &[
        ("did not return a Response", "return new Response(body, init) (or a Promise of one) from fetch()"),
        ("no default export", "export the handler: export default { async fetch(request, env, ctx) { ... } }"),
        ("no fetch(request, env, ctx)", "give the default export a fetch(request, env, ctx) method"),
        ("never settled", "the platform runs no timers: await only promises that work does settle (bindings, fetch)"),
        ("is not defined", "a name is used before it is declared or is misspelled; globals are Request, Response, Headers, URL, URLSearchParams, TextEncoder, TextDecoder, atob, btoa, crypto"),
        ("D1_ERROR", "a SQL statement failed: check the table exists (create it with env.DB.exec) and the parameter count"),
        ("KV PUT failed", "key-value keys are 1-512 bytes and values at most 25 MiB"),
        ("is not bound", "add the binding to the deploy's intent.bindings and to the organization's allowed_bindings"),
        ("time limit", "the function ran past its time limit: look for a loop that never ends"),
        ("Cannot read properties of undefined", "a value was undefined: check request.json() fields and binding results for null"),
    ];
    rules
        .iter()
        .find(|(needle, _)| error.contains(needle))
        .map(|(_, hint)| *hint)
        .unwrap_or("read the activation's logs for the stack; replay it after a fix with POST /activations/{id}/replay")
}

/// `POST /functions/{id}/diagnose` (Pro): the function's recent failed activations with a hint
/// each. **choice**: the platform's diagnosis is AI-written; offline it is a rule per message.
pub(crate) async fn diagnose(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let function = app
        .store
        .fold_function(&id)
        .await?
        .filter(|f| f.org_id == token.org_id)
        .ok_or_else(|| FoldError::details("F-function", json!({"function_id": id})))?;
    super::plans::require_pro(&app, &token.org_id, "diagnose").await?;
    let mut failed = Vec::new();
    for status in ["error", "timeout"] {
        let q = ActivationQuery {
            function_id: Some(function.id.clone()),
            status: Some(status.into()),
            since: None,
            limit: 10,
        };
        failed.extend(app.store.fold_activations(&token.org_id, q).await?);
    }
    failed.sort_by(|a, b| b.triggered_at.cmp(&a.triggered_at));
    failed.truncate(10);
    let findings: Vec<Value> = failed
        .iter()
        .map(|a| {
            let error = a.error_message.clone().unwrap_or_default();
            json!({
                "activation_id": a.id,
                "triggered_at": a.triggered_at,
                "version": a.version,
                "error_message": error,
                "hint": hint_for(&error),
            })
        })
        .collect();
    Ok(Json(json!({
        "function_id": function.id,
        "version": function.version,
        "healthy": findings.is_empty(),
        "findings": findings,
    })))
}
