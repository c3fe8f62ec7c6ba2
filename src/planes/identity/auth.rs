//! `/auth/*`: register, login, refresh (rotation), logout and me.
//!
//! Login checks, in order: the body, the rate limit, the account (unknown email and wrong
//! password answer alike), the lock (before the password, so a locked account stays locked
//! even for the right one), the password (a wrong one is a recorded failure), suspension.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::access::Caller;
use super::input::{stamp, Body, Fields};
use super::limits::{self, LOCK_AFTER_FAILURES, LOCK_FOR, LOCK_WINDOW};
use super::plane::Plane;
use super::policy::{check_password, hash_password, verify_password};
use super::problem::Problem;
use super::tokens::{new_refresh_token, refresh_hash, REFRESH_TTL};
use super::views;
use crate::domain::app::App;
use crate::store::identity::{IdentityRefusal, IdentityUser, NewUser, Refreshed, SUSPENDED};

pub(crate) const EMAIL_TAKEN: &str = "A user with this email already exists";

/// `{accessToken, refreshToken, user}` for a new session of `user`.
async fn start_session(app: &App, plane: &Plane, user: &IdentityUser) -> Result<Value, Problem> {
    let keys = plane.keys(app).await?;
    let now = app.clock.now();
    let session_id = uuid::Uuid::new_v4().to_string();
    let (refresh, hash) = new_refresh_token();
    app.store
        .identity_start_session(
            &user.id,
            &session_id,
            hash,
            stamp(now + REFRESH_TTL),
            stamp(now),
        )
        .await?;
    let access = keys
        .issue(&user.id, &user.tenant, &session_id, now)
        .ok_or_else(|| Problem::new("P-internal"))?;
    Ok(json!({"accessToken": access, "refreshToken": refresh, "user": views::user(user)}))
}

/// `POST /auth/register` `{email, password, firstName, lastName, tenantId}` → 201. The
/// tenant is an emulator organization (its slug); its first user becomes its TENANT_ADMIN.
pub(crate) async fn register(
    State(app): State<Arc<App>>,
    Extension(plane): Extension<Arc<Plane>>,
    Body(body): Body,
) -> Result<Response, Problem> {
    let mut f = Fields::new(&body);
    let email = f.email("email");
    let password = f.password("password");
    let first_name = f.name("firstName", "First name");
    let last_name = f.name("lastName", "Last name");
    let tenant = f.required("tenantId", "Tenant ID");
    if let Some(t) = &tenant {
        if app.store.org_by_slug(t).is_none() {
            f.error("tenantId", "Tenant not found");
        }
    }
    f.finish()?;
    let (Some(email), Some(password), Some(first_name), Some(last_name), Some(tenant)) =
        (email, password, first_name, last_name, tenant)
    else {
        return Err(Problem::new("P-internal"));
    };
    check_password(&password)?;
    // Cheap check first, so a duplicate is answered without hashing; the insert checks again.
    if app.store.identity_email_taken(&email).await? {
        return Err(Problem::conflict(EMAIL_TAKEN));
    }
    let new = NewUser {
        tenant,
        organization_id: None,
        email,
        password_hash: hash_password(password).await?,
        first_name,
        last_name,
        bootstrap: true,
        now: app.clock.rfc3339(),
    };
    let user = match app.store.identity_create_user(new).await? {
        Ok(u) => u,
        Err(IdentityRefusal::EmailTaken) => return Err(Problem::conflict(EMAIL_TAKEN)),
        Err(_) => return Err(Problem::new("P-internal")),
    };
    let tokens = start_session(&app, &plane, &user).await?;
    Ok((StatusCode::CREATED, Json(tokens)).into_response())
}

/// `POST /auth/login` `{email, password}` → 200 with a new session's tokens.
pub(crate) async fn login(
    State(app): State<Arc<App>>,
    Extension(plane): Extension<Arc<Plane>>,
    Body(body): Body,
) -> Result<Response, Problem> {
    let mut f = Fields::new(&body);
    let email = f.required("email", "Email");
    let password = f.password("password");
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(Problem::new("P-internal"));
    };
    plane
        .logins
        .attempt(&app.clock, &email)
        .map_err(Problem::rate_limited)?;
    let Some((user, hash)) = app.store.identity_credentials(&email).await? else {
        return Err(Problem::new("P-credentials"));
    };
    let now = app.clock.now();
    if limits::is_locked(user.locked_until.as_deref(), now) {
        return Err(Problem::new("P-locked"));
    }
    if !verify_password(password, hash).await {
        // The attempt that reaches the threshold is still answered as a wrong password: the
        // account was not locked when it was made. The next attempt finds the lock.
        app.store
            .identity_login_failed(
                &user.id,
                stamp(now),
                stamp(now - LOCK_WINDOW),
                LOCK_AFTER_FAILURES,
                stamp(now + LOCK_FOR),
            )
            .await?;
        return Err(Problem::new("P-credentials"));
    }
    if user.status == SUSPENDED {
        return Err(Problem::new("P-suspended"));
    }
    app.store.identity_clear_failures(&user.id).await?;
    let tokens = start_session(&app, &plane, &user).await?;
    Ok(Json(tokens).into_response())
}

/// `POST /auth/refresh` `{refreshToken}` → 200 with a new pair; the token sent is used up.
pub(crate) async fn refresh(
    State(app): State<Arc<App>>,
    Extension(plane): Extension<Arc<Plane>>,
    Body(body): Body,
) -> Result<Response, Problem> {
    let mut f = Fields::new(&body);
    let token = f.required("refreshToken", "Refresh token");
    f.finish()?;
    let Some(token) = token else {
        return Err(Problem::new("P-internal"));
    };
    let keys = plane.keys(&app).await?;
    let now = app.clock.now();
    let (next, next_hash) = new_refresh_token();
    let outcome = app
        .store
        .identity_rotate_refresh(
            refresh_hash(&token),
            next_hash,
            stamp(now + REFRESH_TTL),
            stamp(now),
        )
        .await?;
    let (user, session_id) = match outcome {
        Refreshed::Rotated { user, session_id } => (user, session_id),
        Refreshed::Suspended => return Err(Problem::new("P-suspended")),
        Refreshed::Invalid => return Err(Problem::new("P-invalid-token")),
    };
    let access = keys
        .issue(&user.id, &user.tenant, &session_id, now)
        .ok_or_else(|| Problem::new("P-internal"))?;
    Ok(
        Json(json!({"accessToken": access, "refreshToken": next, "user": views::user(&user)}))
            .into_response(),
    )
}

/// `POST /auth/logout` (Bearer) → 204: the session's refresh and access tokens stop working.
pub(crate) async fn logout(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Response, Problem> {
    app.store
        .identity_end_session(&caller.session_id, app.clock.rfc3339())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /auth/me` (Bearer) → the caller.
pub(crate) async fn me(caller: Caller) -> Response {
    Json(views::user(&caller.user)).into_response()
}
