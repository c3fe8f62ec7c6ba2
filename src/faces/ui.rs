//! The dashboard (issue 16) at `/_emulator/ui/`: one hand-written page and its script and
//! style, embedded in the binary (no build step, nothing fetched). The page itself needs no
//! token; everything it shows comes from the admin API, which does (the page asks for the token,
//! or takes it from the `#token=` the banner's link carries).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/app.css");

/// Where the dashboard is served.
pub const PATH: &str = "/_emulator/ui/";

fn asset(kind: &'static str, text: &'static str) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, kind), (CACHE_CONTROL, "no-cache")],
        text,
    )
        .into_response()
}

pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `/_emulator/ui` without the slash: the page's relative links need it.
pub async fn to_index() -> Response {
    (StatusCode::PERMANENT_REDIRECT, [(LOCATION, PATH)]).into_response()
}
