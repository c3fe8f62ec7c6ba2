//! Tools and publishing: `/tools`, `/tools/{id}/publish`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::{body as json_body, reply, JsonBody};
use crate::domain::app::App;
use crate::domain::publishing::{publish, Bump, PublishError};
use crate::registry::Visibility;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub bump: Bump,
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// `POST /_emulator/v1/tools/{id}/publish` `{"bump": "patch"|"minor"|"major", "visibility"?}`.
pub async fn publish_tool(
    State(state): State<Arc<App>>,
    Path(id): Path<String>,
    body: JsonBody<PublishRequest>,
) -> Response {
    let req = guard!(json_body(body));
    let Some(tool) = state.registry.get(&id) else {
        return no_tool(&id);
    };
    match publish(&state, &tool, req.bump, req.visibility).await {
        Ok(p) => {
            state.say(&format!(
                "published {}@{} ({} passed)",
                p.tool,
                p.version,
                crate::domain::terminal::count(p.cases_passed, "test case")
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
pub async fn list_tools(State(state): State<Arc<App>>) -> Response {
    let tools: Vec<_> = state
        .registry
        .list()
        .iter()
        .map(|t| tool_json(&state, t))
        .collect();
    let problems = state.registry.problems();
    reply(
        StatusCode::OK,
        json!({"tools": tools, "problems": problems}),
    )
}

/// The JSON view of a tool (as `GET /tools` lists it).
fn tool_json(state: &App, t: &crate::registry::Tool) -> serde_json::Value {
    let versions: Vec<_> = state
        .store
        .published(&t.id)
        .iter()
        .map(|v| json!({"version": v.version, "code_hash": v.bundle.hash, "visibility": v.visibility, "created_at": v.created_at}))
        .collect();
    json!({
        "id": t.id, "name": t.name, "folder": t.folder, "runtime": t.runtime_id(), "type": t.kind, "organization": t.organization,
        "visibility": t.visibility, "draft_code_hash": t.bundle.hash, "versions": versions,
    })
}

fn no_tool(id: &str) -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no tool with id {id:?}")}),
    )
}

/// `GET /_emulator/v1/tools/{id}`: the tool, its problem (a broken save) and its test cases.
pub async fn get_tool(State(state): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Some(tool) = state.registry.get(&id) else {
        return no_tool(&id);
    };
    let label = crate::registry::folder_label(&tool.folder);
    let problem = state
        .registry
        .problems()
        .into_iter()
        .find(|p| p.folder == label)
        .map(|p| p.message);
    let (cases, cases_error) = match crate::domain::cases::load_cases(&tool.folder) {
        Ok(cases) => (cases, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let test_cases: Vec<_> = cases
        .iter()
        .map(|c| json!({"name": c.name, "event": c.case.event, "description": c.case.description}))
        .collect();
    reply(
        StatusCode::OK,
        json!({"tool": tool_json(&state, &tool), "problem": problem, "test_cases": test_cases, "test_cases_error": cases_error}),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// The event, as the invoke route's `{"event": ...}` carries it.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// `draft`, `1.0.0`, ...; absent: the latest, as on the invoke route.
    #[serde(default)]
    pub version: Option<String>,
}

/// `POST /_emulator/v1/tools/{id}/invoke {"event", "version"?}`: runs the tool as its own
/// organization (with a key of it) exactly as the invoke route would, faults included, and
/// answers what the client would have seen: `{"status", "body", "activation_id"}`.
pub async fn invoke_tool(
    State(state): State<Arc<App>>,
    Path(id): Path<String>,
    body: JsonBody<InvokeRequest>,
) -> Response {
    let req = guard!(json_body(body));
    let Some(tool) = state.registry.get(&id) else {
        return no_tool(&id);
    };
    let key = state
        .store
        .org_by_slug(&tool.organization)
        .and_then(|o| state.store.active_key_of(&o.id));
    let Some(key) = key else {
        return reply(
            StatusCode::CONFLICT,
            json!({"error": format!("organization {} has no key that works now: create one (cortex-emu keys create NAME --org {})", tool.organization, tool.organization)}),
        );
    };
    let version = req.version.filter(|v| !v.is_empty());
    let route = crate::faces::gateway::invoke_route(&id, version.as_deref());
    let answer = match crate::faces::faults::forced(&state, &route, Some(key.clone())).await {
        Some(forced) => forced,
        None => crate::faces::gateway::invoke_as(&state, &route, id, version, key, req.event).await,
    };
    let status = answer.status().as_u16();
    let activation_id = answer
        .headers()
        .get("x-cortex-emu-activation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let fault = answer
        .headers()
        .get("x-cortex-emu-fault")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    reply(
        StatusCode::OK,
        json!({"status": status, "body": String::from_utf8_lossy(&bytes), "activation_id": activation_id, "fault": fault}),
    )
}

/// `POST /_emulator/v1/tools/{id}/test`: runs the tool's test cases against its draft, as
/// `cortex-emu test` does (not charged, not recorded).
pub async fn test_tool(State(state): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Some(tool) = state.registry.get(&id) else {
        return no_tool(&id);
    };
    let cases = match crate::domain::cases::load_cases(&tool.folder) {
        Ok(c) => c,
        Err(e) => return reply(StatusCode::UNPROCESSABLE_ENTITY, json!({"error": e})),
    };
    let mut results = Vec::new();
    for case in &cases {
        let o = crate::domain::cases::run_case(&state, &tool, tool.bundle.clone(), case).await;
        results.push(json!({
            "name": o.case, "passed": o.passed, "message": o.diff.join("\n"),
            "duration_ms": (o.duration.as_secs_f64() * 1e6).round() / 1000.0, "logs": o.logs,
        }));
    }
    let passed = results.iter().filter(|r| r["passed"] == true).count();
    reply(
        StatusCode::OK,
        json!({"passed": passed, "failed": results.len() - passed, "cases": results}),
    )
}
