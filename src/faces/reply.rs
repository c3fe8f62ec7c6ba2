//! Turning the catalogue's bytes into HTTP responses (only faces know HTTP).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::catalogue::{Catalogue, GatewayError};

pub fn json_response(http: StatusCode, text: String) -> Response {
    (
        http,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

/// A gateway rejection in the platform's envelope.
pub fn reject(catalogue: &Catalogue, err: GatewayError) -> Response {
    json_response(err.status(), catalogue.envelope(err))
}

/// A JSON error body `{"error": "<message>"}` in the platform's style.
pub fn error(http: StatusCode, message: &str) -> Response {
    json_response(
        http,
        format!("{{\"error\": {}}}", crate::jsonfmt::python_string(message)),
    )
}

/// Adds the id of the activation a response belongs to.
pub fn with_activation_id(mut response: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        response
            .headers_mut()
            .insert("x-cortex-emu-activation-id", v);
    }
    response
}
