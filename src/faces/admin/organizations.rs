//! Organizations: `/organizations`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::{body, reply, store_error, JsonBody};
use crate::domain::app::App;

/// `GET /_emulator/v1/organizations`
pub async fn list_orgs(State(state): State<Arc<App>>) -> Response {
    let orgs: Vec<_> = state
        .store
        .organizations()
        .into_iter()
        .map(|o| json!({"id": o.id, "slug": o.slug, "name": o.name, "balance": crate::store::format_micros(state.store.balance_micros(&o.id))}))
        .collect();
    reply(StatusCode::OK, json!({"organizations": orgs}))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    slug: String,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /_emulator/v1/organizations` `{"slug", "name"?}`: granted the welcome credits.
pub async fn create_org(State(state): State<Arc<App>>, b: JsonBody<NewOrg>) -> Response {
    let req = guard!(body(b));
    if !crate::config::valid_slug(&req.slug) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "slug: use lowercase letters, digits and hyphens, 1-63 characters"}),
        );
    }
    if state.store.org_by_slug(&req.slug).is_some() {
        return reply(
            StatusCode::CONFLICT,
            json!({"error": format!("organization {:?} already exists", req.slug)}),
        );
    }
    let welcome = crate::store::to_micros(state.config.billing.welcome_credits);
    match state
        .store
        .create_org(&req.slug, req.name.as_deref().unwrap_or(&req.slug), welcome)
        .await
    {
        Ok(o) => reply(
            StatusCode::CREATED,
            json!({"id": o.id, "slug": o.slug, "name": o.name, "balance": crate::store::format_micros(welcome)}),
        ),
        Err(e) => store_error(e),
    }
}
