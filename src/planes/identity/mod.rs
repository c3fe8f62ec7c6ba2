//! The identity plane (the `problem` profile): users in tenants, tokens, lockout, roles and
//! permissions, with RFC 7807 problem+json errors (the catalogue's P rows).
//!
//! Tenants are the emulator's organizations (same slugs); inside a tenant are organizations and
//! users. Mounted at `/identity` on the main port and, with `[planes.identity] port`, at the
//! root of its own port, so client code that takes a base URL runs unchanged.
//!
//! Map: `problem` (the envelope, and the layer that writes it with `instance` = the path the
//! client sent), `input` (bodies, queries, ids), `policy` (password rules, hashing), `tokens`
//! (JWT access tokens, rotating refresh tokens), `limits` (lockout, login rate limit),
//! `plane` (per-router state), `access` (the caller and its permissions), `views` (JSON), and
//! one module per resource: `auth`, `users`, `organizations`, `roles`, `assignments`.
//! Storage is `crate::store::identity`; `internal-error` and `service-unavailable` come from
//! the global fault middleware like every other injected row.

mod access;
mod assignments;
mod auth;
mod input;
mod limits;
mod organizations;
mod plane;
mod policy;
mod problem;
mod roles;
mod tokens;
mod users;
mod views;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use crate::domain::app::App;

/// Every route of the plane, relative to its base URL. Each call makes a new plane state
/// (login limiter, key cache), so each mount has its own.
pub(crate) fn router() -> Router<Arc<App>> {
    let plane = Arc::new(plane::Plane::default());
    Router::new()
        .route("/health", get(health))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/users", post(users::create).get(users::list))
        .route(
            "/users/{id}",
            get(users::read)
                .patch(users::update)
                .put(users::update)
                .delete(users::remove),
        )
        .route("/users/{id}/suspend", post(users::suspend))
        .route("/users/{id}/reactivate", post(users::reactivate))
        .route(
            "/organizations",
            post(organizations::create).get(organizations::list),
        )
        .route("/organizations/{id}", get(organizations::read))
        .route("/permissions", get(roles::permissions))
        .route("/roles", post(roles::create).get(roles::list))
        .route(
            "/roles/{id}",
            get(roles::read)
                .patch(roles::update)
                .put(roles::update)
                .delete(roles::remove),
        )
        .route(
            "/role-assignments",
            post(assignments::create).get(assignments::list),
        )
        .route(
            "/role-assignments/{id}",
            get(assignments::read).delete(assignments::remove),
        )
        .fallback(problem::not_found)
        .layer(axum::middleware::from_fn(problem::finish))
        .layer(Extension(plane))
}

/// `GET /health`: the documented answer of the service this plane stands in for.
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "service": "cortex-core", "version": "0.1.0"}))
}
