//! The response catalogue of the whole family (RESPONSES.md): every row as data in [`rows`],
//! and the execution gateway's rejections with the configured wording and overrides. Only
//! status numbers and bytes live here; faces turn them into HTTP responses.

pub mod rows;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Deserialize;

use crate::jsonfmt;

/// Which public wording the gateway uses (PLATFORM.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Wording {
    #[default]
    Cortexone,
    Rival,
}

/// A gateway rejection: one row of RESPONSES.md (plus the emulator's own body-size row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// G400-json
    InvalidJson,
    /// G400-event
    MissingEvent,
    /// G401-missing / G401-invalid
    Unauthorized,
    /// G401-bearer
    BearerPrefix,
    /// G402
    InsufficientBalance,
    /// G404-function
    UnknownFunction,
    /// G404-version
    UnknownVersion,
    /// G408
    Timeout,
    /// Not in the catalogue: a body over `[server] max_body_bytes` (**choice**).
    BodyTooLarge(usize),
    /// Not in the catalogue: the state cannot be written (disk or `[state] max_size_mb` full),
    /// so no run is accepted (**choice**).
    StateUnwritable,
    /// Not in the catalogue: the run finished but could not be recorded, so it was not charged
    /// (**choice**).
    NotRecorded,
}

impl GatewayError {
    /// The catalogue id, the key of `[responses]` overrides in `emulator.toml`.
    /// A few words for the terminal and the request log on why a request was refused.
    pub fn reason(self) -> &'static str {
        match self {
            GatewayError::InvalidJson => "request body is not valid JSON",
            GatewayError::MissingEvent => "request body has no event field",
            GatewayError::Unauthorized => "missing, unknown, revoked or expired key",
            GatewayError::BearerPrefix => "key sent with a Bearer prefix",
            GatewayError::InsufficientBalance => "balance cannot cover the run",
            GatewayError::UnknownFunction => "no such tool for this key's organization",
            GatewayError::UnknownVersion => "no such version",
            GatewayError::Timeout => "timeout",
            GatewayError::BodyTooLarge(_) => "request body too large",
            GatewayError::StateUnwritable | GatewayError::NotRecorded => {
                "the state cannot be written"
            }
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::InvalidJson => "G400-json",
            Self::MissingEvent => "G400-event",
            Self::Unauthorized => "G401-invalid",
            Self::BearerPrefix => "G401-bearer",
            Self::InsufficientBalance => "G402",
            Self::UnknownFunction => "G404-function",
            Self::UnknownVersion => "G404-version",
            Self::Timeout => "G408",
            Self::BodyTooLarge(_) => "G413",
            Self::StateUnwritable => "G507-state",
            Self::NotRecorded => "G507-unrecorded",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidJson | Self::MissingEvent => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::BearerPrefix => StatusCode::UNAUTHORIZED,
            Self::InsufficientBalance => StatusCode::PAYMENT_REQUIRED,
            Self::UnknownFunction | Self::UnknownVersion => StatusCode::NOT_FOUND,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::StateUnwritable | Self::NotRecorded => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    /// The decoded `body` string of the envelope: the catalogue row's text (in the profile's
    /// wording), or the emulator's own text for the rows RESPONSES.md does not have.
    pub fn default_body(self, wording: Wording) -> String {
        if let Some(row) = rows::row(self.id()) {
            return match row.rival_text {
                Some(r) if wording == Wording::Rival => r,
                _ => row.text,
            }
            .to_string();
        }
        let cause = match self {
            Self::StateUnwritable => {
                "The emulator cannot save its state (database or disk full) - runs are refused until it can"
            }
            Self::NotRecorded => {
                "The run finished but the emulator could not record it (database or disk full) - it was not charged; free space and run it again"
            }
            Self::BodyTooLarge(limit) => {
                return format!(
                    "{{\"error\": \"Request body too large - the limit is {limit} bytes\"}}"
                )
            }
            other => unreachable!("{} is a catalogue row", other.id()),
        };
        format!("{{\"error\": {}}}", jsonfmt::python_string(cause))
    }
}

/// Renders gateway errors with the configured wording and `[responses]` overrides.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub wording: Wording,
    /// Row id → decoded body text that replaces the default.
    pub overrides: BTreeMap<String, String>,
}

impl Catalogue {
    pub fn body(&self, err: GatewayError) -> String {
        let id = err.id();
        // G401-missing and G401-invalid share a text; either id overrides both.
        let alias = (err == GatewayError::Unauthorized).then_some("G401-missing");
        self.overrides
            .get(id)
            .or_else(|| alias.and_then(|a| self.overrides.get(a)))
            .cloned()
            .unwrap_or_else(|| err.default_body(self.wording))
    }

    /// The whole envelope of a rejection.
    pub fn envelope(&self, err: GatewayError) -> String {
        envelope(err.status().as_u16() as i64, Some(&self.body(err)))
    }
}

/// The envelope `{"statusCode": N, "body": "<string>" | null}` in the platform's style.
pub fn envelope(status_code: i64, body: Option<&str>) -> String {
    match body {
        Some(b) => format!(
            "{{\"statusCode\": {status_code}, \"body\": {}}}",
            jsonfmt::python_string(b)
        ),
        None => format!("{{\"statusCode\": {status_code}, \"body\": null}}"),
    }
}

/// Bodies of handler failures (H500-py, H500-js, H500-lua), decoded.
pub mod handler {
    use crate::jsonfmt::python_string;

    pub fn python(message: &str) -> String {
        format!(
            "{{\"error\": {}}}",
            python_string(&format!("Runtime error: {message}"))
        )
    }

    /// JavaScript and Lua share the shape; `kind` is the error's type name.
    pub fn script(kind: &str, details: &str) -> String {
        format!(
            "{{\"error\": \"Script execution failed\", \"type\": {}, \"details\": {}}}",
            python_string(kind),
            python_string(details)
        )
    }
}

/// Catalogue ids whose body `emulator.toml` may override.
pub const OVERRIDABLE: &[&str] = &[
    "G400-json",
    "G400-event",
    "G401-missing",
    "G401-invalid",
    "G401-bearer",
    "G402",
    "G404-function",
    "G404-version",
    "G408",
    "G413",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_python_styled() {
        assert_eq!(
            envelope(500, Some(&handler::python("division by zero"))),
            r#"{"statusCode": 500, "body": "{\"error\": \"Runtime error: division by zero\"}"}"#
        );
        assert_eq!(envelope(500, None), r#"{"statusCode": 500, "body": null}"#);
    }

    #[test]
    fn rival_wording() {
        let c = Catalogue {
            wording: Wording::Rival,
            ..Default::default()
        };
        assert_eq!(
            c.body(GatewayError::UnknownFunction),
            r#"{"error": "Tool or version does not exist"}"#
        );
    }
}
