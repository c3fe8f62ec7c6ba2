//! Activations: `/activations`, `/activations/{id}`, `/activations/stream`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::auth::{reply, store_error};
use crate::domain::app::App;

/// The JSON view of an activation; `full` adds the event, response and logs.
pub fn activation_json(state: &App, a: &crate::store::Activation, full: bool) -> serde_json::Value {
    let mut v = json!({
        "id": a.id,
        "organization": state.store.org(&a.org_id).map(|o| o.slug).unwrap_or_default(),
        "tool": a.tool_id,
        "version": a.version,
        "code_hash": a.code_hash,
        "runtime": a.runtime,
        "status": a.status,
        "statusCode": a.status_code,
        "duration_ms": (a.duration_ms * 1000.0).round() / 1000.0,
        "cost": crate::store::format_micros(a.cost_micros),
        "started_at": a.started_at,
        "finished_at": a.finished_at,
        "injected": a.injected,
        "replay_of": a.replay_of,
    });
    if full {
        let parse = |s: &str| {
            serde_json::from_str::<serde_json::Value>(s)
                .unwrap_or(serde_json::Value::String(s.to_string()))
        };
        v["event"] = parse(&a.event);
        v["response"] = parse(&a.response);
        // The exact bytes the client got (`response` is parsed, so its spacing is lost).
        v["response_text"] = json!(a.response);
        v["logs"] = json!(a.logs);
        v["error"] = json!(a.error);
        v["http"] = serde_json::from_str(&a.exchanges).unwrap_or_else(|_| json!([]));
    }
    v
}

/// `GET /_emulator/v1/activations?tool=&version=&status=&since=&limit=&organization=`
pub async fn list_activations(
    State(state): State<Arc<App>>,
    q: Result<
        axum::extract::Query<crate::store::admin::ActivationFilter>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let filter = match q {
        Ok(axum::extract::Query(f)) => f,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.body_text()})),
    };
    // A filter that can match nothing is a mistake to explain, not an empty list.
    const STATUSES: [&str; 4] = ["success", "error", "timeout", "interrupted"];
    if let Some(s) = filter.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("status {s:?} is not one of {}", STATUSES.join(", "))}),
        );
    }
    if let Some(since) = filter
        .since
        .as_deref()
        .filter(|s| crate::clock::parse_instant(s).is_none())
    {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("since {since:?} is not an instant: write RFC 3339 (2026-11-22T10:00:00Z) or YYYY-MM-DD")}),
        );
    }
    match state.store.activations(filter).await {
        Ok(list) => {
            let items: Vec<_> = list
                .iter()
                .map(|a| activation_json(&state, a, false))
                .collect();
            reply(StatusCode::OK, json!({"activations": items}))
        }
        Err(e) => store_error(e),
    }
}

#[derive(serde::Deserialize)]
pub struct RefusalFilter {
    tool: Option<String>,
    limit: Option<u32>,
}

/// `GET /_emulator/v1/refusals?tool=&limit=`: the refused half of the request log.
pub async fn list_refusals(
    State(state): State<Arc<App>>,
    q: Result<axum::extract::Query<RefusalFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filter = match q {
        Ok(axum::extract::Query(f)) => f,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.body_text()})),
    };
    match state
        .store
        .refusals(filter.tool, filter.limit.unwrap_or(50))
        .await
    {
        Ok(list) => reply(StatusCode::OK, json!({"refusals": list})),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/activations/{id}`: with event, response, logs and cost.
pub async fn get_activation(State(state): State<Arc<App>>, Path(id): Path<String>) -> Response {
    // A unique prefix of the id will do (as `git` takes short hashes).
    match state.store.activations_by_prefix(id.clone()).await {
        Ok(found) if found.len() == 1 => {
            reply(StatusCode::OK, activation_json(&state, &found[0], true))
        }
        Ok(found) if found.is_empty() => reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no activation {id:?}")}),
        ),
        Ok(_) => reply(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("{id:?} is the start of more than one activation id: give more of it")}),
        ),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/activations/stream`: Server-Sent Events, one `activation` event per run as
/// it is recorded.
pub async fn stream_activations(State(state): State<Arc<App>>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    let rx = state.activity.subscribe();
    let stream = futures_util::stream::unfold((rx, state), |(mut rx, state)| async move {
        loop {
            match rx.recv().await {
                Ok(a) => {
                    let data = activation_json(&state, &a, false).to_string();
                    let event = Event::default()
                        .event("activation")
                        .id(a.id.clone())
                        .data(data);
                    return Some((Ok::<_, std::convert::Infallible>(event), (rx, state)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // A first comment makes the headers go out at once, so a client knows it is subscribed.
    let hello = futures_util::stream::once(async {
        Ok(Event::default().comment("cortex-emu activations"))
    });
    use futures_util::StreamExt;
    Sse::new(hello.chain(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(serde::Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Run the version the original ran (its exact code) instead of the tool's current draft.
    #[serde(default)]
    pub same_version: bool,
}

/// `POST /_emulator/v1/activations/{id}/replay {"same_version"?}` → `{"original", "replay"}`,
/// both in full. The replay is a run like any other (charged, recorded, on the live tail), with
/// `replay_of` naming the original.
pub async fn replay_activation(
    State(state): State<Arc<App>>,
    Path(id): Path<String>,
    body: super::auth::JsonBody<ReplayRequest>,
) -> Response {
    // An empty body is a replay against the current draft.
    let req = guard!(super::auth::body_or_default(body));
    use crate::domain::replay::{replay, ReplayError};
    match replay(&state, &id, req.same_version).await {
        Ok(done) => {
            let replayed = state
                .store
                .activations_by_prefix(done.run.activation_id.clone())
                .await
                .ok()
                .and_then(|mut v| v.pop());
            match replayed {
                Some(r) => reply(
                    StatusCode::OK,
                    json!({"original": activation_json(&state, &done.original, true), "replay": activation_json(&state, &r, true)}),
                ),
                // Not recorded (`[state] record_activations = false`, or the store refused
                // it): what the client got is all there is.
                None => reply(
                    StatusCode::OK,
                    json!({"original": activation_json(&state, &done.original, true), "replay": {
                        "id": done.run.activation_id, "tool": done.original.tool_id, "recorded": false,
                        "statusCode": done.run.result.status_code,
                        "response": serde_json::from_str::<serde_json::Value>(&done.run.text).unwrap_or(json!(done.run.text)),
                        "response_text": done.run.text, "replay_of": done.original.id,
                    }}),
                ),
            }
        }
        Err(e) => {
            let status = match e {
                ReplayError::NotFound(_) => StatusCode::NOT_FOUND,
                ReplayError::Ambiguous(_)
                | ReplayError::Injected(_)
                | ReplayError::ToolGone(_)
                | ReplayError::DraftChanged { .. }
                | ReplayError::NoKey(_)
                | ReplayError::Refused(_) => StatusCode::CONFLICT,
                ReplayError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            reply(status, json!({"error": e.to_string()}))
        }
    }
}
