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
        return reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no tool with id {id:?}")}),
        );
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
        .map(|t| {
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
        })
        .collect();
    let problems = state.registry.problems();
    reply(
        StatusCode::OK,
        json!({"tools": tools, "problems": problems}),
    )
}
