//! Reading requests the way the official SDK sends them: JSON bodies with `null` for unset
//! optional fields, query strings where a list is the key repeated (`file_ids=a&file_ids=b`,
//! httpx's encoding), and ids checked before anything is looked up.

use axum::body::Bytes;
use axum::http::Uri;
use serde::de::DeserializeOwned;

use super::envelope::ApiError;

/// The query string of a request, keys in order, repeated keys kept.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn of(uri: &Uri) -> Params {
        let q = uri.query().unwrap_or("");
        Params(
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`; an empty value counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn require(&self, key: &str) -> Result<&str, ApiError> {
        self.get(key)
            .ok_or_else(|| ApiError::params(format!("{key} is required")))
    }

    /// Every value of `key`, each also split on commas (a client that joins a list by hand).
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_string))
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        self.get(key).map(|v| parse_bool(key, v)).transpose()
    }
}

/// `true`/`false` as a form or query value (also `1`/`0`, as pydantic accepts).
pub(crate) fn parse_bool(key: &str, v: &str) -> Result<bool, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ApiError::params(format!(
            "{key} must be true or false, not '{v}'"
        ))),
    }
}

/// A JSON body into `T`; what serde says is wrong goes into the A400 message.
pub(crate) fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::params("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::params(format!("body: {e}")))
}

/// Tenant and sub-tenant ids: letters, digits, `_` and `-`, 1 to 64 characters (**choice**:
/// the docs' examples are `user_12345` and `engineering`, and name spaces and over 64
/// characters as invalid).
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(crate) fn tenant_id(id: &str) -> Result<&str, ApiError> {
    if valid_id(id) {
        Ok(id)
    } else {
        Err(ApiError::with(
            "A-tenant-id",
            format!("Invalid tenant id '{id}': use 1-64 letters, digits, '_' or '-'"),
        ))
    }
}

pub(crate) fn sub_tenant_id(id: &str) -> Result<&str, ApiError> {
    if valid_id(id) {
        Ok(id)
    } else {
        Err(ApiError::with(
            "A-sub-id",
            format!("Invalid sub-tenant id '{id}': use 1-64 letters, digits, '_' or '-'"),
        ))
    }
}

/// A result limit: absent is `default`; 0 or over 100 is `INVALID_SEARCH_PARAMETERS`.
pub(crate) fn search_limit(
    name: &str,
    value: Option<i64>,
    default: usize,
) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::search(format!(
            "{name} must be between 1 and 100, not {n}"
        ))),
    }
}

/// A source or memory id given by a client: non-empty, at most 256 characters, no control
/// characters (**choice**).
pub(crate) fn source_id(id: &str) -> Result<&str, ApiError> {
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        Err(ApiError::params(format!(
            "source id '{id}' must be 1-256 characters without control characters"
        )))
    } else {
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_comma_joined_query_values_are_lists() {
        let uri: Uri = "/x?file_ids=a&file_ids=b%2Cc&tenant_id=t&empty="
            .parse()
            .unwrap();
        let p = Params::of(&uri);
        assert_eq!(p.all("file_ids"), ["a", "b", "c"]);
        assert_eq!(p.get("tenant_id"), Some("t"));
        assert_eq!(p.get("empty"), None);
        assert!(p.require("missing").is_err());
    }

    #[test]
    fn ids_are_checked() {
        assert!(tenant_id("acme_docs-1").is_ok());
        assert!(tenant_id("has space").is_err());
        assert!(tenant_id(&"x".repeat(65)).is_err());
        assert!(sub_tenant_id("").is_err());
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_search_errors() {
        assert_eq!(search_limit("limit", None, 10).unwrap(), 10);
        assert_eq!(search_limit("limit", Some(100), 10).unwrap(), 100);
        assert_eq!(
            search_limit("limit", Some(0), 10).unwrap_err().id,
            "A-search-params"
        );
        assert_eq!(
            search_limit("limit", Some(101), 10).unwrap_err().id,
            "A-search-params"
        );
    }
}
