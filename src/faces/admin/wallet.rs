//! The wallet: `/organizations/{slug}/wallet[/topup|/grant|/ledger]`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::{body, org_or_404, reply, store_error, JsonBody};
use crate::domain::app::App;

/// `GET /_emulator/v1/organizations/{slug}/wallet`
pub async fn wallet(State(state): State<Arc<App>>, Path(slug): Path<String>) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    reply(
        StatusCode::OK,
        json!({"organization": org.slug, "balance": crate::store::format_micros(state.store.balance_micros(&org.id))}),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    /// A positive decimal with at most 6 places, as a string (`"10.00"`) or a number.
    #[schema(value_type = String, example = "10.00")]
    amount: serde_json::Value,
    #[serde(default)]
    label: Option<String>,
}

async fn credit(
    state: Arc<App>,
    slug: String,
    b: JsonBody<Credit>,
    default_label: &str,
) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    let req = guard!(body(b));
    let text = match &req.amount {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let micros = match crate::money::parse_credit(&text) {
        Ok(m) => m,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    };
    let label = req.label.unwrap_or_else(|| default_label.to_string());
    match state.store.credit(&org.id, micros, &label).await {
        Ok(balance) => reply(
            StatusCode::OK,
            json!({"organization": org.slug, "credited": crate::money::format_micros(micros), "label": label, "balance": crate::money::format_micros(balance)}),
        ),
        Err(e) => store_error(e),
    }
}

/// `POST /_emulator/v1/organizations/{slug}/wallet/topup` `{"amount"}` (label `Wallet Recharge`).
pub async fn topup(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    b: JsonBody<Credit>,
) -> Response {
    credit(state, slug, b, "Wallet Recharge").await
}

/// `POST /_emulator/v1/organizations/{slug}/wallet/grant` `{"amount", "label"?}` (default
/// `Welcome Credits`).
pub async fn grant(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    b: JsonBody<Credit>,
) -> Response {
    credit(state, slug, b, "Welcome Credits").await
}

#[derive(Deserialize, Default)]
pub struct LimitQuery {
    limit: Option<u32>,
}

/// `GET /_emulator/v1/organizations/{slug}/wallet/ledger?limit=`
pub async fn ledger(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<LimitQuery>,
) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    match state
        .store
        .ledger(&org.id, q.limit.unwrap_or(100).min(10_000))
        .await
    {
        Ok(entries) => reply(
            StatusCode::OK,
            json!({"organization": org.slug, "entries": entries}),
        ),
        Err(e) => store_error(e),
    }
}
