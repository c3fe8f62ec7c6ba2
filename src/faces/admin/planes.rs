//! The control planes' data at a glance, for the operator and the dashboard: Cortex API
//! tenants and their documents, fold functions and activations, identity roles, across every
//! organization (a plane's own API shows one organization, with that plane's credentials).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::auth::{reply, store_error};
use crate::domain::app::App;

fn limit(q: &HashMap<String, String>) -> Result<u32, Box<Response>> {
    match q.get("limit") {
        None => Ok(100),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                Box::new(reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("limit {l:?} must be a whole number from 1 to 1000")}),
                ))
            }),
    }
}

/// `GET /_emulator/v1/cortex-api/tenants`
pub async fn cortex_tenants(State(app): State<Arc<App>>) -> Response {
    match app.store.overview_cortex_tenants().await {
        Ok(t) => reply(StatusCode::OK, json!({"tenants": t})),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/cortex-api/tenants/{id}/documents?limit=`
pub async fn cortex_documents(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = guard!(limit(&q));
    match app.store.cortex_tenant(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return reply(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no Cortex API tenant {id:?}")}),
            )
        }
        Err(e) => return store_error(e),
    }
    match app.store.overview_cortex_documents(&id, limit).await {
        Ok(d) => reply(StatusCode::OK, json!({"documents": d})),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/fold/functions`
pub async fn fold_functions(State(app): State<Arc<App>>) -> Response {
    match app.store.overview_fold_functions().await {
        Ok(f) => reply(StatusCode::OK, json!({"functions": f})),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/fold/activations?limit=`
pub async fn fold_activations(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = guard!(limit(&q));
    match app.store.overview_fold_activations(limit).await {
        Ok(a) => reply(StatusCode::OK, json!({"activations": a})),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/identity/roles`
pub async fn identity_roles(State(app): State<Arc<App>>) -> Response {
    match app.store.overview_identity_roles().await {
        Ok(r) => reply(StatusCode::OK, json!({"roles": r})),
        Err(e) => store_error(e),
    }
}
