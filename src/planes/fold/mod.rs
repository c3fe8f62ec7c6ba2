//! The fold deploy plane (the `fold` profile): role tokens, deploys with versions, rollback,
//! listing and deletion, with the `{"error", "code", "details", "hint"}` errors of the
//! catalogue's F rows. Mounted at `/fold` on the main port.
//!
//! Map: `envelope` (the error body), `access` (tokens, roles, expiry on the test clock),
//! `code` (module checks with Boa's parser, nothing run), `functions` (the routes).
//! Storage is `crate::store::fold`. Not in yet (issue 13): running functions, bindings' data,
//! activations, plans, rate limits, the dev-loop folder and the MCP endpoint.

mod access;
mod code;
mod envelope;
mod functions;
mod limits;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Extension;
use axum::Router;

use crate::domain::app::App;

/// Every route of the plane, relative to its base URL.
pub(crate) fn router() -> Router<Arc<App>> {
    let limits = Arc::new(limits::RateLimits::default());
    Router::new()
        .route("/deploy", post(functions::deploy))
        .route("/rollback", post(functions::rollback))
        .route("/functions", get(functions::list))
        .route(
            "/functions/{id}",
            get(functions::read).delete(functions::delete),
        )
        .route("/functions/{id}/code", get(functions::source))
        .route("/run/{tenant}/{name}", any(run))
        .route("/run/{tenant}/{name}/{*rest}", any(run_nested))
        .fallback(envelope::not_found)
        // Room for a 5 MB module in JSON (escaping can double it); larger is refused by size.
        .layer(DefaultBodyLimit::max(
            functions::MAX_CODE_BYTES * 2 + 64 * 1024,
        ))
        .layer(Extension(limits))
}

async fn run(
    State(app): State<Arc<App>>,
    Extension(limits): Extension<Arc<limits::RateLimits>>,
    Path((tenant, name)): Path<(String, String)>,
) -> Response {
    dispatch(&app, &limits, &tenant, &name).await
}

async fn run_nested(
    State(app): State<Arc<App>>,
    Extension(limits): Extension<Arc<limits::RateLimits>>,
    Path((tenant, name, _rest)): Path<(String, String, String)>,
) -> Response {
    dispatch(&app, &limits, &tenant, &name).await
}

/// A dispatch: counted against the organization's rate limit first (an unknown organization
/// has none), with the limit's headers on whatever answers.
async fn dispatch(app: &App, limits: &limits::RateLimits, tenant: &str, name: &str) -> Response {
    let Some(org) = app.store.org_by_slug(tenant) else {
        return functions::dispatch(app, tenant, name).await.into_response();
    };
    let verdict = limits.check(
        &org.id,
        app.clock.now().timestamp(),
        app.config.fold.rate_limit_per_minute,
    );
    let mut response = if verdict.allowed {
        functions::dispatch(app, tenant, name).await.into_response()
    } else {
        envelope::FoldError::details(
            "F-rate",
            serde_json::json!({"limit": verdict.limit, "window_seconds": 60, "organization": tenant}),
        )
        .into_response()
    };
    verdict.write(response.headers_mut());
    response
}
