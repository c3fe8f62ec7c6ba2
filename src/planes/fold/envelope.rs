//! The plane's error envelope, `{"error", "code", "details", "hint"}` (a JavaScript service:
//! `JSON.stringify`, compact), from the catalogue's F rows. A row answered naturally may carry
//! `details` saying what exactly was wrong; the same row forced by fault injection has `null`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::catalogue::rows;
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub(crate) struct FoldError {
    pub id: &'static str,
    pub details: Value,
}

impl FoldError {
    pub(crate) fn new(id: &'static str) -> FoldError {
        FoldError {
            id,
            details: Value::Null,
        }
    }

    pub(crate) fn details(id: &'static str, details: Value) -> FoldError {
        FoldError { id, details }
    }

    /// `VALIDATION_ERROR` naming the field and what is wrong with it.
    pub(crate) fn field(field: &str, message: impl Into<String>) -> FoldError {
        FoldError::details(
            "F-validation",
            json!({"field": field, "message": message.into()}),
        )
    }
}

impl From<StoreError> for FoldError {
    fn from(e: StoreError) -> FoldError {
        tracing::error!("fold store failure: {e}");
        // **choice**: the plane documents no 500; a store failure is the deploy or dispatch
        // failure the client would see, with the reason in `details`.
        FoldError::details(
            "F-deploy",
            json!({"message": "the emulator's state could not be read or written"}),
        )
    }
}

impl FoldError {
    /// The error's JSON body.
    pub(crate) fn body(&self) -> Value {
        let row = rows::row(self.id).expect("the plane names catalogue rows only");
        json!({
            "error": row.text,
            "code": row.code,
            "details": self.details,
            "hint": rows::fold_hint(row.id),
        })
    }
}

impl IntoResponse for FoldError {
    fn into_response(self) -> Response {
        let row = rows::row(self.id).expect("the plane names catalogue rows only");
        (
            StatusCode::from_u16(row.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, "application/json")],
            self.body().to_string(),
        )
            .into_response()
    }
}

/// Any path the plane does not serve (**choice**: `NOT_FOUND` is a documented resource code
/// without a catalogue row, so the closest row, `FUNCTION_NOT_FOUND`, with the path in details).
pub(crate) async fn not_found(uri: axum::http::Uri) -> FoldError {
    FoldError::details("F-function", json!({"path": uri.path()}))
}
