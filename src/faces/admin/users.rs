//! The identity plane's users, for the operator: `/identity/users` (list, all tenants or
//! `?tenant=`), and unlock, suspend, reactivate by id. What a tenant administrator does
//! through the plane itself, without needing to be one.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::auth::{reply, store_error};
use crate::domain::app::App;
use crate::store::identity::{IdentityUser, ACTIVE, SUSPENDED};

fn user_json(app: &App, u: &IdentityUser, failures: u32) -> Value {
    let now = app.clock.now();
    let locked = u
        .locked_until
        .as_deref()
        .and_then(crate::clock::parse_instant)
        .is_some_and(|until| until > now);
    let mut v = json!(u);
    v["locked"] = json!(locked);
    v["failed_logins"] = json!(failures);
    v
}

fn no_user(id: &str) -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no identity user {id:?}")}),
    )
}

/// `GET /_emulator/v1/identity/users?tenant=SLUG`
pub async fn list_users(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tenant = q.get("tenant").filter(|t| !t.is_empty()).cloned();
    if let Some(t) = &tenant {
        if app.store.org_by_slug(t).is_none() {
            return reply(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no organization {t:?}")}),
            );
        }
    }
    let users = match app.store.identity_all_users(tenant).await {
        Ok(u) => u,
        Err(e) => return store_error(e),
    };
    let mut out = Vec::with_capacity(users.len());
    for u in &users {
        let failures = match app.store.identity_failure_count(&u.id).await {
            Ok(n) => n,
            Err(e) => return store_error(e),
        };
        out.push(user_json(&app, u, failures));
    }
    reply(StatusCode::OK, json!({"users": out}))
}

/// `POST /_emulator/v1/identity/users/{id}/unlock`: forgets the failed logins and the lock.
pub async fn unlock_user(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.identity_clear_failures(&id).await {
        Ok(true) => match app.store.identity_user(&id, None).await {
            Ok(Some(u)) => {
                app.say(&format!("identity user {} unlocked", u.email));
                reply(StatusCode::OK, user_json(&app, &u, 0))
            }
            Ok(None) => no_user(&id),
            Err(e) => store_error(e),
        },
        Ok(false) => no_user(&id),
        Err(e) => store_error(e),
    }
}

async fn set_status(app: &App, id: &str, status: &'static str, verb: &str) -> Response {
    match app
        .store
        .identity_set_status(id, None, status, app.clock.rfc3339())
        .await
    {
        Ok(Some(u)) => {
            app.say(&format!("identity user {} {verb}", u.email));
            let failures = app.store.identity_failure_count(&u.id).await.unwrap_or(0);
            reply(StatusCode::OK, user_json(app, &u, failures))
        }
        Ok(None) => no_user(id),
        Err(e) => store_error(e),
    }
}

/// `POST /_emulator/v1/identity/users/{id}/suspend`: logins, refreshes and tokens of the user
/// answer `account-suspended` from the next request on.
pub async fn suspend_user(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    set_status(&app, &id, SUSPENDED, "suspended").await
}

/// `POST /_emulator/v1/identity/users/{id}/reactivate`
pub async fn reactivate_user(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    set_status(&app, &id, ACTIVE, "reactivated").await
}
