//! What every admin route shares: the admin-token layer (one check for the whole API, not a
//! prologue per handler) and the JSON error replies.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::domain::app::App;

pub(crate) fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    crate::faces::reply::json_response(status, body.to_string())
}

/// Refuses every admin request without the admin token, before any handler or body parsing.
pub async fn require_admin(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::domain::admission::bearer_token);
    if given == Some(app.admin_token.as_str()) {
        next.run(req).await
    } else {
        reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "admin token required: send Authorization: Bearer <token> (printed at start, or [server] admin_token)"}),
        )
    }
}

/// A JSON request body, read whatever the `Content-Type` says: `curl -d '{...}'` sends
/// `application/x-www-form-urlencoded`, and an API people drive from a terminal should take it
/// (axum's `Json` refuses such a request with 415). The body is still judged as JSON.
pub(crate) struct JsonBody<T>(Result<T, String>);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let parsed = match axum::body::Bytes::from_request(req, state).await {
            Err(e) => Err(e.body_text()),
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("the request body is not the JSON this route takes: {e}")),
        };
        Ok(JsonBody(parsed))
    }
}

/// A JSON body, or the 400 that says what is wrong with it.
pub(crate) fn body<T>(b: JsonBody<T>) -> Result<T, Box<Response>> {
    b.0.map_err(|e| Box::new(reply(StatusCode::BAD_REQUEST, json!({"error": e}))))
}

/// [`body`], where an empty body means the defaults (`curl -X POST` without `-d`).
pub(crate) fn body_or_default<T: Default>(b: JsonBody<T>) -> Result<T, Box<Response>> {
    match b.0 {
        Err(e) if e.contains("EOF while parsing a value at line 1 column 0") => Ok(T::default()),
        other => body(JsonBody(other)),
    }
}

pub(crate) fn org_or_404(
    state: &App,
    slug: &str,
) -> Result<crate::store::Organization, Box<Response>> {
    state.store.org_by_slug(slug).ok_or_else(|| {
        Box::new(reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no organization {slug:?}")}),
        ))
    })
}

pub(crate) fn store_error(e: crate::store::StoreError) -> Response {
    match e {
        crate::store::StoreError::Invalid(m) => reply(StatusCode::BAD_REQUEST, json!({"error": m})),
        // The store's own failure, not the client's: 500, with the cause in the server's log.
        other => {
            tracing::error!("admin API: {other}");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": format!("internal error: {other}")}),
            )
        }
    }
}
