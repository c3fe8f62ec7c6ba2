//! Fold deploy-plane tokens: `/organizations/{slug}/fold-tokens`. A token is shown once, in the
//! answer that creates it; the store keeps its hash.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::{body, org_or_404, reply, store_error, JsonBody};
use crate::domain::app::App;

/// `GET /_emulator/v1/organizations/{slug}/fold-tokens`
pub async fn list_fold_tokens(State(state): State<Arc<App>>, Path(slug): Path<String>) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    match state.store.fold_tokens(&org.id).await {
        Ok(tokens) => reply(StatusCode::OK, json!({"tokens": tokens})),
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFoldToken {
    name: String,
    /// `admin`, `deployer`, `viewer` or `billing-admin`.
    role: String,
    /// `YYYY-MM-DD` (end of that day UTC) or RFC 3339; none = never expires.
    #[serde(default)]
    expires: Option<String>,
}

/// `POST /_emulator/v1/organizations/{slug}/fold-tokens` `{"name", "role", "expires"?}`.
pub async fn create_fold_token(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    b: JsonBody<NewFoldToken>,
) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    let req = guard!(body(b));
    if req.name.trim().is_empty() {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "name must not be empty"}),
        );
    }
    if !crate::config::FOLD_ROLES.contains(&req.role.as_str()) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("role {:?} is not one of {}", req.role, crate::config::FOLD_ROLES.join(", "))}),
        );
    }
    let expires = match req.expires.as_deref() {
        None => None,
        Some(e) => match crate::clock::parse_expiry(e) {
            Some(t) => Some(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            None => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("expires {e:?} is not a date (YYYY-MM-DD or RFC 3339)")}),
                )
            }
        },
    };
    let token = crate::store::new_secret("fold_");
    match state
        .store
        .fold_add_token(&org.id, req.name.trim(), &req.role, &token, expires)
        .await
    {
        Ok(Some(t)) => {
            let mut v = json!(t);
            v["token"] = json!(token);
            reply(StatusCode::CREATED, v)
        }
        Ok(None) => reply(
            StatusCode::CONFLICT,
            json!({"error": "token collision; try again"}),
        ),
        Err(e) => store_error(e),
    }
}
