//! `POST /api-keys/create_api_key`: a new key of the caller's organization, usable on every
//! surface of the emulator (this plane, the gateway, MCP), stored as a hash like every key.
//! **choice**: `prefix` does not change the key's form (`RIV_` and 32 characters, as every
//! emulator key); `scopes` and `env` are echoed back and not enforced.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::access;
use super::envelope::ApiError;
use super::input;
use crate::domain::app::App;

#[derive(Deserialize, Default)]
struct CreateKey {
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    env: Option<String>,
}

pub(crate) async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let key = access::caller(&app, &headers)?;
    // The SDK sends no body at all when every argument is left out.
    let req: CreateKey = if body.iter().all(u8::is_ascii_whitespace) {
        CreateKey::default()
    } else {
        input::json(&body)?
    };
    let owner = req
        .owner
        .filter(|o| !o.trim().is_empty())
        .unwrap_or_else(|| "cortex-api".into());
    let (info, full) = app
        .store
        .create_key(&key.org_id, owner.trim(), None)
        .await?;
    Ok(Json(json!({
        "api_key_id": info.id,
        "owner": owner,
        "scopes": req.scopes.unwrap_or_default(),
        "env": req.env.unwrap_or_else(|| "local".into()),
        "full_api_key": full,
        "created_at": info.created_at,
    })))
}
