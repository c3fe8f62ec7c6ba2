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

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{any, get, post};
use axum::Router;

use crate::domain::app::App;

/// Every route of the plane, relative to its base URL.
pub(crate) fn router() -> Router<Arc<App>> {
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
}

async fn run(
    State(app): State<Arc<App>>,
    Path((tenant, name)): Path<(String, String)>,
) -> envelope::FoldError {
    functions::dispatch(&app, &tenant, &name).await
}

async fn run_nested(
    State(app): State<Arc<App>>,
    Path((tenant, name, _rest)): Path<(String, String, String)>,
) -> envelope::FoldError {
    functions::dispatch(&app, &tenant, &name).await
}
