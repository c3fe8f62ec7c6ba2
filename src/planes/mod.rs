//! The control planes (PLATFORM.md §7): each a small service of its own with its own error
//! envelope, sharing the emulator's store and clock, mounted under its prefix on the main port
//! (`/identity`, `/cortex-api`, `/fold`) and, when `[planes.*] port` is set, at the root of a port of its own.
//!
//! Top layer, beside `faces`: planes speak HTTP and call the domain and the store.

use axum::http::{header, HeaderMap, Uri};

pub(crate) mod cortex_api;
pub(crate) mod fold;
pub(crate) mod identity;

/// A plane's base URL as the client reached it (`http://host/<prefix>` on the main port, or the
/// plane's own port), from the Host header and the original path minus the route's own part.
pub(crate) fn base_url(headers: &HeaderMap, original: &Uri, route: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let prefix = original.path().strip_suffix(route).unwrap_or("");
    format!("http://{host}{prefix}")
}
