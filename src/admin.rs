//! The emulator's own admin API under `/_emulator/v1/` (Bearer admin token).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::devloop::publish::{publish, Bump, PublishError};
use crate::registry::Visibility;
use crate::server::AppState;

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    crate::responses::json_response(status, body.to_string())
}

fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if given == Some(state.admin_token.as_str()) {
        Ok(())
    } else {
        Err(Box::new(reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "admin token required: send Authorization: Bearer <token> (printed at start, or [server] admin_token)"}),
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub bump: Bump,
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// `POST /_emulator/v1/tools/{id}/publish` `{"bump": "patch"|"minor"|"major", "visibility"?}`.
pub async fn publish_tool(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PublishRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.body_text()})),
    };
    let Some(tool) = state.registry.get(&id) else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no tool with id {id:?}")}),
        );
    };
    match publish(
        &state.store,
        &state.executor,
        &state.catalogue,
        &state.secrets,
        &tool,
        req.bump,
        req.visibility,
    )
    .await
    {
        Ok(p) => {
            crate::terminal::reload_line(&format!(
                "published {}@{} ({} test cases passed)",
                p.tool, p.version, p.cases_passed
            ));
            reply(
                StatusCode::CREATED,
                serde_json::to_value(p).expect("serializable"),
            )
        }
        Err(PublishError::Failing(failed)) => {
            let failures: Vec<_> = failed
                .iter()
                .map(|o| json!({"case": o.case, "diff": o.diff}))
                .collect();
            reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": format!("publishing refused: {} test case(s) fail", failures.len()), "failures": failures}),
            )
        }
        Err(e @ (PublishError::NoTestCases | PublishError::BadTestCase(_))) => reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": e.to_string(), "failures": []}),
        ),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
    }
}

/// `GET /_emulator/v1/tools`: every tool with its draft hash and published versions.
pub async fn list_tools(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let tools: Vec<_> = state
        .registry
        .list()
        .iter()
        .map(|t| {
            let versions: Vec<_> = state
                .store
                .published(&t.id)
                .iter()
                .map(|v| json!({"version": v.version, "code_hash": v.bundle.hash, "visibility": v.visibility, "created_at": v.created_at}))
                .collect();
            json!({
                "id": t.id, "name": t.name, "runtime": t.runtime.id(), "type": t.kind, "organization": t.organization,
                "visibility": t.visibility, "draft_code_hash": t.bundle.hash, "versions": versions,
            })
        })
        .collect();
    let problems = state.registry.problems();
    reply(
        StatusCode::OK,
        json!({"tools": tools, "problems": problems}),
    )
}
