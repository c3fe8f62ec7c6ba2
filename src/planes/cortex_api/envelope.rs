//! The plane's error envelope: `{"detail": {"success": false, "message", "error_code"}}` built
//! from the catalogue's A rows, so a natural answer and the same row forced by fault injection
//! are the same bytes. FastAPI renders it compact, with raw UTF-8 (`rows::render_text`).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::catalogue::rows;
use crate::store::StoreError;

/// An A row about to be sent, with the sentence that replaces the row's message when the
/// request gives a more precise one.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub id: &'static str,
    pub message: Option<String>,
}

impl ApiError {
    pub(crate) fn new(id: &'static str) -> ApiError {
        ApiError { id, message: None }
    }

    pub(crate) fn with(id: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            id,
            message: Some(message.into()),
        }
    }

    /// A400 with what was wrong after the documented text.
    pub(crate) fn params(why: impl std::fmt::Display) -> ApiError {
        ApiError::with("A400", format!("Invalid request parameters: {why}"))
    }

    /// A422 (`VALIDATION_ERROR`) with what was wrong after the documented text.
    pub(crate) fn validation(why: impl std::fmt::Display) -> ApiError {
        ApiError::with("A422", format!("Validation failed: {why}"))
    }

    /// `INVALID_SEARCH_PARAMETERS` with what was wrong.
    pub(crate) fn search(why: impl std::fmt::Display) -> ApiError {
        ApiError::with(
            "A-search-params",
            format!("Invalid search parameters: {why}"),
        )
    }
}

/// A store that cannot answer is the documented A500.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!("cortex-api store failure: {e}");
        ApiError::new("A500")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let row = rows::row(self.id).expect("the plane names catalogue rows only");
        let text = self.message.as_deref().unwrap_or(row.text);
        (
            StatusCode::from_u16(row.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, rows::content_type(row.family))],
            rows::render_text(row, "", text),
        )
            .into_response()
    }
}

/// Any path the plane does not serve: the documented generic 404.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new("A404")
}

/// A known path with the wrong method: no catalogue row, so the bytes Starlette itself sends
/// (the service is a FastAPI app).
pub(crate) async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"detail":"Method Not Allowed"}"#,
    )
        .into_response()
}
