//! API keys: `/organizations/{slug}/keys`, `/keys/{id}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::{body, org_or_404, reply, store_error, JsonBody};
use crate::domain::app::App;

/// `GET /_emulator/v1/organizations/{slug}/keys`
pub async fn list_keys(State(state): State<Arc<App>>, Path(slug): Path<String>) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    match state.store.list_keys(Some(org.id)).await {
        Ok(keys) => {
            // `state` as the gateway judges the key now (on the emulator's clock).
            let now = state.clock.now();
            let keys: Vec<_> = keys
                .into_iter()
                .map(|k| {
                    let expired = k
                        .expires_at
                        .as_deref()
                        .and_then(crate::clock::parse_instant)
                        .is_some_and(|e| e <= now);
                    let key_state = match (k.revoked, expired) {
                        (true, _) => "revoked",
                        (false, true) => "expired",
                        (false, false) => "active",
                    };
                    let mut v = json!(k);
                    v["state"] = json!(key_state);
                    v
                })
                .collect();
            reply(StatusCode::OK, json!({"keys": keys}))
        }
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    #[serde(default)]
    expires: Option<String>,
}

/// `POST /_emulator/v1/organizations/{slug}/keys` `{"name", "expires"?}`: the key is in this
/// answer only; the store keeps its hash.
pub async fn create_key(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    b: JsonBody<NewKey>,
) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    let req = guard!(body(b));
    if req.name.trim().is_empty() {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "name must not be empty"}),
        );
    }
    match state
        .store
        .create_key(&org.id, req.name.trim(), req.expires.as_deref())
        .await
    {
        Ok((info, key)) => {
            let mut v = serde_json::to_value(info).expect("serializable");
            v["key"] = json!(key);
            reply(StatusCode::CREATED, v)
        }
        Err(e) => store_error(e),
    }
}

/// `DELETE /_emulator/v1/keys/{id}`: revoked at once.
pub async fn revoke_key(State(state): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let known = state
        .store
        .list_keys(None)
        .await
        .map(|ks| ks.into_iter().any(|k| k.id == id))
        .unwrap_or(false);
    if !known {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no key {id:?}")}),
        );
    }
    match state.store.revoke_key(&id).await {
        Ok(_) => reply(StatusCode::OK, json!({"id": id, "revoked": true})),
        Err(e) => store_error(e),
    }
}
