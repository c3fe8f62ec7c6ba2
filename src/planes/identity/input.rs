//! Reading requests: JSON bodies, query strings, path ids and timestamps, each refused in the
//! plane's own words (P-validation, P-uuid) rather than axum's plain-text rejections.
//!
//! Bodies are read as JSON objects, not into typed structs, so that one answer can list every
//! bad field instead of the first one serde trips over.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::problem::{FieldError, Problem};

/// The instant as the store keeps it (and compares it): RFC 3339 UTC with milliseconds.
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A request body that is a JSON object (an empty body reads as `{}`, so a bare POST is told
/// which fields it lacks).
pub(crate) struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| Problem::invalid_field("body", "Request body could not be read"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            _ => Err(Problem::invalid_field(
                "body",
                "Request body must be a JSON object",
            )),
        }
    }
}

/// The query string as name → value (the last of repeated names wins).
pub(crate) struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|_| Problem::invalid_field("query", "The query string is malformed"))
    }
}

/// A page request: `page` from 1, `limit` from 1 to [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub page: u32,
    pub limit: u32,
}

/// **choice**: 20 items a page unless `limit` says otherwise, at most 100.
pub(crate) const DEFAULT_LIMIT: u32 = 20;
pub(crate) const MAX_LIMIT: u32 = 100;

impl Params {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `page` and `limit`, with the errors of both (and of any other field checked with
    /// `errors`) reported together.
    pub(crate) fn paging(&self, errors: &mut Vec<FieldError>) -> Paging {
        let mut number = |name: &str, default: u32, max: u32, message: &str| match self.get(name) {
            None => default,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    errors.push(FieldError {
                        field: name.to_string(),
                        message: message.to_string(),
                    });
                    default
                }
            },
        };
        let page = number("page", 1, u32::MAX, "page must be a positive integer");
        let limit = number(
            "limit",
            DEFAULT_LIMIT,
            MAX_LIMIT,
            "limit must be an integer from 1 to 100",
        );
        Paging { page, limit }
    }

    /// An optional id filter (`userId=...`): a malformed one is a field error.
    pub(crate) fn uuid(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        let v = self.get(name)?;
        match canonical_uuid(v) {
            Some(id) => Some(id),
            None => {
                errors.push(FieldError {
                    field: name.to_string(),
                    message: format!("{name} must be a valid UUID"),
                });
                None
            }
        }
    }
}

/// The `{"data", "pagination"}` envelope of every list.
pub(crate) fn page_json(items: Vec<Value>, total: u64, paging: Paging) -> Value {
    let total_pages = total.div_ceil(u64::from(paging.limit));
    serde_json::json!({
        "data": items,
        "pagination": {
            "total": total,
            "page": paging.page,
            "limit": paging.limit,
            "totalPages": total_pages,
        },
    })
}

/// A UUID in its usual form (8-4-4-4-12 hex digits), lower-cased; `None` otherwise. The other
/// forms `uuid` accepts (braces, `urn:`, no hyphens) are refused: no client sends them.
pub(crate) fn canonical_uuid(s: &str) -> Option<String> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(s).ok().map(|u| u.to_string())
}

/// A path id, or P-invalid-uuid.
pub(crate) fn path_uuid(s: &str) -> Result<String, Problem> {
    canonical_uuid(s).ok_or_else(|| Problem::new("P-uuid"))
}

/// Collects the errors of a body's fields, so that one answer lists them all.
pub(crate) struct Fields<'a> {
    body: &'a Map<String, Value>,
    pub errors: Vec<FieldError>,
}

/// **choice**: names and other short texts are at most this many characters.
pub(crate) const MAX_TEXT: usize = 100;

impl<'a> Fields<'a> {
    pub(crate) fn new(body: &'a Map<String, Value>) -> Fields<'a> {
        Fields {
            body,
            errors: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Whether the body names the field at all (`null` included).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.body.contains_key(name)
    }

    /// A string field, trimmed; missing, `null` or blank is "`label` is required".
    pub(crate) fn required(&mut self, name: &str, label: &str) -> Option<String> {
        match self.body.get(name) {
            None | Some(Value::Null) => {
                self.error(name, format!("{label} is required"));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.error(name, format!("{label} is required"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(_) => {
                self.error(name, format!("{label} must be a string"));
                None
            }
        }
    }

    /// A password: required, taken as sent (spaces are part of it).
    pub(crate) fn password(&mut self, name: &str) -> Option<String> {
        match self.body.get(name) {
            None | Some(Value::Null) => {
                self.error(name, "Password is required");
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.error(name, "Password is required");
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(name, "Password must be a string");
                None
            }
        }
    }

    /// A required name of at most [`MAX_TEXT`] characters.
    pub(crate) fn name(&mut self, name: &str, label: &str) -> Option<String> {
        let v = self.required(name, label)?;
        if v.chars().count() > MAX_TEXT {
            self.error(
                name,
                format!("{label} must be at most {MAX_TEXT} characters"),
            );
            return None;
        }
        Some(v)
    }

    /// A required email address.
    pub(crate) fn email(&mut self, name: &str) -> Option<String> {
        let v = self.required(name, "Email")?;
        if !super::policy::plausible_email(&v) {
            self.error(name, "Email must be a valid email address");
            return None;
        }
        Some(v)
    }

    /// An optional string: `None` when absent, `Some(None)` for `null`.
    pub(crate) fn optional(&mut self, name: &str, label: &str) -> Option<Option<String>> {
        match self.body.get(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.trim().to_string())),
            Some(_) => {
                self.error(name, format!("{label} must be a string"));
                None
            }
        }
    }

    /// An optional id: `None` when absent, `Some(None)` for `null`.
    pub(crate) fn optional_uuid(&mut self, name: &str) -> Option<Option<String>> {
        match self.body.get(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => match canonical_uuid(s.trim()) {
                Some(id) => Some(Some(id)),
                None => {
                    self.error(name, format!("{name} must be a valid UUID"));
                    None
                }
            },
            Some(_) => {
                self.error(name, format!("{name} must be a valid UUID"));
                None
            }
        }
    }

    /// A required id.
    pub(crate) fn required_uuid(&mut self, name: &str) -> Option<String> {
        match self.optional_uuid(name) {
            Some(Some(id)) => Some(id),
            Some(None) => {
                self.error(name, format!("{name} is required"));
                None
            }
            None => {
                if !self.has(name) {
                    self.error(name, format!("{name} is required"));
                }
                None
            }
        }
    }

    /// An optional instant (RFC 3339).
    pub(crate) fn optional_instant(&mut self, name: &str) -> Option<DateTime<Utc>> {
        match self.body.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s.trim()) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    self.error(name, format!("{name} must be an ISO 8601 date-time"));
                    None
                }
            },
            Some(_) => {
                self.error(name, format!("{name} must be an ISO 8601 date-time"));
                None
            }
        }
    }

    /// The field's raw value (for arrays the caller walks itself).
    pub(crate) fn raw(&self, name: &str) -> Option<&'a Value> {
        self.body.get(name)
    }

    /// P-validation with every error collected, or nothing when there is none.
    pub(crate) fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Problem::invalid(self.errors))
        }
    }
}

/// Errors collected outside [`Fields`] (query strings), as a result.
pub(crate) fn finish(errors: Vec<FieldError>) -> Result<(), Problem> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert_eq!(
            canonical_uuid("6F9619FF-8B86-4011-B42D-00C04FC964FF").as_deref(),
            Some("6f9619ff-8b86-4011-b42d-00c04fc964ff")
        );
        assert!(canonical_uuid("6f9619ff8b864011b42d00c04fc964ff").is_none());
        assert!(canonical_uuid("not-a-uuid").is_none());
        assert!(path_uuid("123").is_err());
    }

    #[test]
    fn every_bad_field_is_listed() {
        let body = serde_json::json!({"email": "nope", "firstName": "", "lastName": 3})
            .as_object()
            .cloned()
            .unwrap();
        let mut f = Fields::new(&body);
        f.email("email");
        f.password("password");
        f.name("firstName", "First name");
        f.name("lastName", "Last name");
        let fields: Vec<_> = f.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "firstName", "lastName"]);
    }

    #[test]
    fn pages() {
        let p = Paging { page: 2, limit: 2 };
        assert_eq!(page_json(vec![], 5, p)["pagination"]["totalPages"], 3);
        assert_eq!(page_json(vec![], 0, p)["pagination"]["totalPages"], 0);
    }
}
