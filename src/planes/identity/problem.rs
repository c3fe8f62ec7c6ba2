//! The plane's error envelope: RFC 7807 problem+json built from the catalogue's P rows, so an
//! answer here and the same row forced by fault injection are the same bytes.
//!
//! A handler (or an extractor) returns a [`Problem`] without knowing the request path; the
//! [`finish`] layer, which saw the request, writes the body with `instance` = the path the
//! client sent (`/identity/auth/login` on the main port, `/auth/login` on the plane's own).

use axum::extract::{OriginalUri, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::catalogue::rows::{self, Family};

/// One `{"field", "message"}` item of a validation error.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub field: String,
    pub message: String,
}

/// A P row about to be sent, with what the request fills in.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// The catalogue row id (`P-locked`, `P-validation` ...).
    pub id: &'static str,
    /// Replaces the row's `detail` (rows whose text is an example or a placeholder).
    pub detail: Option<String>,
    /// `errors` of P-validation.
    pub errors: Vec<FieldError>,
    /// `retryAfter` (and the `Retry-After` header) of P-rate, in seconds.
    pub retry_after: Option<u64>,
}

impl Problem {
    pub(crate) fn new(id: &'static str) -> Problem {
        Problem {
            id,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn not_found() -> Problem {
        Problem::new("P-not-found")
    }

    pub(crate) fn conflict(detail: &str) -> Problem {
        Problem::new("P-conflict").detail(detail)
    }

    /// P-validation listing every bad field.
    pub(crate) fn invalid(errors: Vec<FieldError>) -> Problem {
        Problem {
            errors,
            ..Problem::new("P-validation")
        }
    }

    /// P-validation about one field.
    pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> Problem {
        Problem::invalid(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    /// P-rate: the detail names the same number as `retryAfter` and `Retry-After`.
    pub(crate) fn rate_limited(retry_after: u64) -> Problem {
        Problem {
            retry_after: Some(retry_after),
            ..Problem::new("P-rate").detail(format!(
                "Rate limit exceeded. Try again in {retry_after} seconds."
            ))
        }
    }

    /// The response for a request to `instance`.
    pub(crate) fn render(&self, instance: &str) -> Response {
        // Every id used here is a P row; should one ever be missing, the answer is still a
        // problem (P-internal) rather than a panic.
        let row = rows::row(self.id)
            .filter(|r| r.family == Family::Problem)
            .or_else(|| rows::row("P-internal"));
        let Some(row) = row else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let mut body =
            rows::problem_value(row, instance, self.detail.as_deref().unwrap_or(row.text));
        if let Value::Object(map) = &mut body {
            // Replacing a key of problem_value keeps its place (serde_json preserve_order).
            if row.id == "P-validation" {
                map.insert("errors".into(), json!(self.errors));
            }
            if let (Some(n), "P-rate") = (self.retry_after, row.id) {
                map.insert("retryAfter".into(), json!(n));
            }
        }
        let status = StatusCode::from_u16(row.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, rows::content_type(row.family))],
            body.to_string(),
        )
            .into_response();
        if row.id == "P-rate" {
            let n = self.retry_after.unwrap_or(rows::PROBLEM_RETRY_AFTER_SECS);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(n));
        }
        response
    }
}

/// Carries a problem from a handler to [`finish`] inside the response.
#[derive(Debug, Clone)]
struct Pending(Problem);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        // The status is set already so that a response that somehow skips `finish` is still
        // the right kind of failure.
        let status = rows::row(self.id)
            .and_then(|r| StatusCode::from_u16(r.status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(Pending(self));
        response
    }
}

/// The store failed: the emulator's fault, answered with P-internal (cause in the log).
impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Problem {
        tracing::error!("identity plane: {e}");
        Problem::new("P-internal")
    }
}

/// The layer that writes pending problems with the request's path as `instance`.
pub(crate) async fn finish(req: Request, next: Next) -> Response {
    let instance = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let mut response = next.run(req).await;
    match response.extensions_mut().remove::<Pending>() {
        Some(Pending(problem)) => problem.render(&instance),
        None => response,
    }
}

/// Paths the plane does not serve.
pub(crate) async fn not_found() -> Problem {
    Problem::not_found()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn bodies_match_the_catalogue() {
        for row in rows::ROWS.iter().filter(|r| r.family == Family::Problem) {
            let r = Problem::new(row.id).render("/auth/x");
            assert_eq!(r.status().as_u16(), row.status);
            assert_eq!(
                r.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
            assert_eq!(
                body_of(r).await,
                rows::render(row, "/auth/x", false),
                "{}",
                row.id
            );
        }
    }

    #[tokio::test]
    async fn filled_in_members() {
        let r = Problem::invalid_field("email", "Email is required").render("/auth/register");
        assert_eq!(
            body_of(r).await,
            r#"{"type":"https://api.cortex.purplelab.ai/errors/validation-error","title":"Validation Error","status":400,"detail":"One or more fields failed validation","instance":"/auth/register","errors":[{"field":"email","message":"Email is required"}]}"#
        );
        let r = Problem::rate_limited(6).render("/auth/login");
        assert_eq!(r.headers()[header::RETRY_AFTER], "6");
        assert!(body_of(r)
            .await
            .ends_with(r#""detail":"Rate limit exceeded. Try again in 6 seconds.","instance":"/auth/login","retryAfter":6}"#));
    }
}
