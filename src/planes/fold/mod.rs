//! The fold deploy plane (the `fold` profile): role tokens, deploys with versions, rollback,
//! dispatch of Workers-style functions by path and by host, activations and replay, plans and
//! rate limits, with the `{"error", "code", "details", "hint"}` errors of the catalogue's F
//! rows. Mounted at `/fold` on the main port (and at the root of `[planes.fold] port`);
//! `{tenant}.localhost` on the main port dispatches by host.
//!
//! Map: `envelope` (the error body), `access` (tokens, roles, expiry on the test clock),
//! `code` (module checks with Boa's parser, nothing run), `functions` (deploy, rollback,
//! listing), `bindings` (defining them, the deploy check), `dispatch` (running a function, its activation), `activations` (history,
//! replay, logs, diagnose), `plans` (caps, plan changes, usage), `limits` (rate limit),
//! `folder` (the dev-loop folder), `mcp` (the plane's MCP endpoint).
//! Storage is `crate::store::fold`, `crate::store::fold_runs` and `crate::store::fold_bindings`; functions run on the
//! JavaScript worker pool (`crate::runtime::workers_module`).

mod access;
mod activations;
mod bindings;
mod code;
mod dispatch;
mod envelope;
pub(crate) mod folder;
mod functions;
mod limits;
mod mcp;
mod plans;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::json;

use crate::domain::app::App;

/// Largest request body a dispatched function receives (**choice**: the module limit, 5 MB,
/// doubled like the deploy body).
const MAX_DISPATCH_BODY: usize = functions::MAX_CODE_BYTES * 2 + 64 * 1024;

/// Every route of the plane, relative to its base URL.
pub(crate) fn router(app: &Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/deploy", post(functions::deploy))
        .route("/bindings", get(bindings::list).post(bindings::define))
        .route(
            "/bindings/{binding}",
            axum::routing::delete(bindings::remove),
        )
        .route("/rollback", post(functions::rollback))
        .route("/functions", get(functions::list))
        .route(
            "/functions/{id}",
            get(functions::read).delete(functions::delete),
        )
        .route("/functions/{id}/code", get(functions::source))
        .route("/functions/{id}/diagnose", post(activations::diagnose))
        .route("/activations", get(activations::list))
        .route("/activations/bulk-replay", post(activations::bulk_replay))
        .route("/activations/{id}", get(activations::read))
        .route("/activations/{id}/replay", post(activations::replay))
        .route("/logs", get(activations::logs))
        .route("/subrequests", get(activations::subrequests))
        .route("/usage", get(plans::usage))
        .route("/usage/{days}", get(plans::usage))
        .route("/billing/plan", get(plans::read).put(plans::change))
        .route("/run/{tenant}/{name}", any(run))
        .route("/run/{tenant}/{name}/{*rest}", any(run_nested))
        .merge(mcp::router(app.clone()))
        .fallback(envelope::not_found)
        // Room for a 5 MB module in JSON (escaping can double it); larger is refused by size.
        .layer(DefaultBodyLimit::max(MAX_DISPATCH_BODY))
}

async fn run(
    State(app): State<Arc<App>>,
    Path((tenant, name)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let url = format!("http://{}{}", host(&headers), uri);
    serve(&app, &tenant, &name, method, headers, url, body).await
}

async fn run_nested(
    State(app): State<Arc<App>>,
    Path((tenant, name, _rest)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let url = format!("http://{}{}", host(&headers), uri);
    serve(&app, &tenant, &name, method, headers, url, body).await
}

fn host(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
}

/// The tenant a `Host` names when it is `{tenant}.localhost[:port]`.
pub(crate) fn tenant_of_host(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let tenant = name.strip_suffix(".localhost")?;
    (!tenant.is_empty() && !tenant.contains('.')).then_some(tenant)
}

/// Dispatch by host on the main port: every request to `{tenant}.localhost` goes to the
/// tenant's function named by the first path segment; other hosts pass through.
pub(crate) async fn by_host(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some(tenant) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(tenant_of_host)
        .map(str::to_string)
    else {
        return next.run(req).await;
    };
    let name = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let url = format!("http://{}{}", host(req.headers()), req.uri());
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_DISPATCH_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return envelope::FoldError::field(
                "body",
                format!("the request body is over {MAX_DISPATCH_BODY} bytes"),
            )
            .into_response()
        }
    };
    if name.is_empty() {
        return envelope::FoldError::details(
            "F-function",
            json!({"tenant": tenant, "message": "name the function in the path: http://{tenant}.localhost:{port}/{name}"}),
        )
        .into_response();
    }
    serve(&app, &tenant, &name, parts.method, parts.headers, url, body).await
}

/// A dispatch: counted against the organization's rate limit first (an unknown organization
/// has none), with the limit's headers on whatever answers.
async fn serve(
    app: &App,
    tenant: &str,
    name: &str,
    method: Method,
    headers: HeaderMap,
    url: String,
    body: Bytes,
) -> Response {
    let Some(org) = app.store.org_by_slug(tenant) else {
        return envelope::FoldError::details("F-tenant", json!({"tenant": tenant})).into_response();
    };
    let verdict = limits::check(app, &org.id);
    let mut response = if verdict.allowed {
        let request = dispatch::request_of(&method, url, &headers, &body);
        match dispatch::dispatch(app, &org, name, request, None).await {
            Ok(ran) => dispatch::answer(ran),
            Err(e) => e.into_response(),
        }
    } else {
        envelope::FoldError::details(
            "F-rate",
            json!({"limit": verdict.limit, "window_seconds": 60, "organization": tenant}),
        )
        .into_response()
    };
    verdict.write(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::tenant_of_host;

    #[test]
    fn a_tenant_is_read_from_a_localhost_subdomain() {
        assert_eq!(tenant_of_host("acme.localhost:8787"), Some("acme"));
        assert_eq!(tenant_of_host("acme.localhost"), Some("acme"));
        assert_eq!(tenant_of_host("localhost:8787"), None);
        assert_eq!(tenant_of_host("127.0.0.1:8787"), None);
        assert_eq!(tenant_of_host("a.b.localhost"), None);
        assert_eq!(tenant_of_host(".localhost"), None);
    }
}
