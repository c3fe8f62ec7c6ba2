//! `/users`: create (an administrator's action, unlike self-registration), list, get, update,
//! delete, suspend and reactivate, all within the caller's tenant. Another tenant's user is
//! `not-found`, exactly like an unknown id.
//!
//! Every route checks its permission before it reads the body, so a caller who may not act
//! learns nothing from validation.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::access::{Caller, Reach};
use super::auth::EMAIL_TAKEN;
use super::input::{finish, page_json, path_uuid, Body, Fields, Params};
use super::policy::{check_password, hash_password};
use super::problem::Problem;
use super::views;
use crate::domain::app::App;
use crate::store::identity::{
    IdentityRefusal, IdentityUser, NewUser, UserChanges, UserQuery, ACTIVE, SUSPENDED,
};

/// An organization id the tenant has, or not-found.
async fn organization_of_tenant(app: &App, tenant: &str, id: &str) -> Result<(), Problem> {
    match app.store.identity_org(tenant, id).await? {
        Some(_) => Ok(()),
        None => Err(Problem::not_found()),
    }
}

/// The user a path names in the caller's tenant (not-found for another tenant's).
async fn user_in_tenant(app: &App, caller: &Caller, id: &str) -> Result<IdentityUser, Problem> {
    let id = path_uuid(id)?;
    app.store
        .identity_user(&id, Some(caller.tenant()))
        .await?
        .ok_or_else(Problem::not_found)
}

/// `POST /users` `{email, password, firstName, lastName, organizationId?}` → 201.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response, Problem> {
    caller.reach("users:create")?;
    let mut f = Fields::new(&body);
    let email = f.email("email");
    let password = f.password("password");
    let first_name = f.name("firstName", "First name");
    let last_name = f.name("lastName", "Last name");
    let organization_id = f.optional_uuid("organizationId").flatten();
    f.finish()?;
    let (Some(email), Some(password), Some(first_name), Some(last_name)) =
        (email, password, first_name, last_name)
    else {
        return Err(Problem::new("P-internal"));
    };
    caller.require("users:create", organization_id.as_deref())?;
    if let Some(o) = &organization_id {
        organization_of_tenant(&app, caller.tenant(), o).await?;
    }
    check_password(&password)?;
    if app.store.identity_email_taken(&email).await? {
        return Err(Problem::conflict(EMAIL_TAKEN));
    }
    let new = NewUser {
        tenant: caller.tenant().to_string(),
        organization_id,
        email,
        password_hash: hash_password(password).await?,
        first_name,
        last_name,
        bootstrap: false,
        now: app.clock.rfc3339(),
    };
    match app.store.identity_create_user(new).await? {
        Ok(u) => Ok((StatusCode::CREATED, Json(views::user(&u))).into_response()),
        Err(IdentityRefusal::EmailTaken) => Err(Problem::conflict(EMAIL_TAKEN)),
        Err(_) => Err(Problem::new("P-internal")),
    }
}

/// `GET /users?page&limit&search&status&organizationId` → one page of the tenant's users (of
/// the caller's organizations, when that is as far as the caller's permission reaches).
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    params: Params,
) -> Result<Response, Problem> {
    let within = match caller.reach("users:read")? {
        Reach::Tenant => None,
        Reach::Organizations(orgs) => Some(orgs),
    };
    let mut errors = Vec::new();
    let paging = params.paging(&mut errors);
    let organization_id = params.uuid("organizationId", &mut errors);
    let status = params.get("status").map(str::to_uppercase);
    if status
        .as_deref()
        .is_some_and(|s| s != ACTIVE && s != SUSPENDED)
    {
        errors.push(super::problem::FieldError {
            field: "status".into(),
            message: format!("status must be one of {ACTIVE}, {SUSPENDED}"),
        });
    }
    finish(errors)?;
    let page = app
        .store
        .identity_users(UserQuery {
            tenant: caller.tenant().to_string(),
            within,
            organization_id,
            status,
            search: params.get("search").map(str::to_string),
            page: paging.page,
            limit: paging.limit,
        })
        .await?;
    let items = page.items.iter().map(views::user).collect();
    Ok(Json(page_json(items, page.total, paging)).into_response())
}

/// `GET /users/{id}`.
pub(crate) async fn read(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.reach("users:read")?;
    let user = user_in_tenant(&app, &caller, &id).await?;
    caller.require("users:read", user.organization_id.as_deref())?;
    Ok(Json(views::user(&user)).into_response())
}

/// `PATCH` (or `PUT`) `/users/{id}` `{email?, firstName?, lastName?, organizationId?}`: the
/// fields sent change, the others stay. Status changes through suspend and reactivate.
pub(crate) async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, Problem> {
    caller.reach("users:update")?;
    let user = user_in_tenant(&app, &caller, &id).await?;
    caller.require("users:update", user.organization_id.as_deref())?;
    let mut f = Fields::new(&body);
    let changes = UserChanges {
        email: if f.has("email") {
            f.email("email")
        } else {
            None
        },
        first_name: if f.has("firstName") {
            f.name("firstName", "First name")
        } else {
            None
        },
        last_name: if f.has("lastName") {
            f.name("lastName", "Last name")
        } else {
            None
        },
        organization_id: f.optional_uuid("organizationId"),
    };
    f.finish()?;
    if let Some(Some(o)) = &changes.organization_id {
        // Moving a user needs the permission where it goes too.
        caller.require("users:update", Some(o))?;
        organization_of_tenant(&app, caller.tenant(), o).await?;
    }
    if matches!(changes.organization_id, Some(None)) {
        // Taking a user out of its organization leaves it to tenant-wide administrators.
        caller.require("users:update", None)?;
    }
    match app
        .store
        .identity_update_user(caller.tenant(), &user.id, changes, app.clock.rfc3339())
        .await?
    {
        Ok(u) => Ok(Json(views::user(&u)).into_response()),
        Err(IdentityRefusal::EmailTaken) => Err(Problem::conflict(EMAIL_TAKEN)),
        Err(_) => Err(Problem::not_found()),
    }
}

/// `DELETE /users/{id}` → 204.
pub(crate) async fn remove(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.reach("users:delete")?;
    let user = user_in_tenant(&app, &caller, &id).await?;
    caller.require("users:delete", user.organization_id.as_deref())?;
    if !app
        .store
        .identity_delete_user(caller.tenant(), &user.id)
        .await?
    {
        return Err(Problem::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_status(
    app: &App,
    caller: &Caller,
    id: &str,
    status: &'static str,
) -> Result<Response, Problem> {
    caller.reach("users:suspend")?;
    let user = user_in_tenant(app, caller, id).await?;
    caller.require("users:suspend", user.organization_id.as_deref())?;
    app.store
        .identity_set_status(&user.id, Some(caller.tenant()), status, app.clock.rfc3339())
        .await?
        .map(|u| Json(views::user(&u)).into_response())
        .ok_or_else(Problem::not_found)
}

/// `POST /users/{id}/suspend` → the user, now `SUSPENDED`: its logins, refreshes and tokens
/// answer `account-suspended`.
pub(crate) async fn suspend(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    set_status(&app, &caller, &id, SUSPENDED).await
}

/// `POST /users/{id}/reactivate` → the user, `ACTIVE` again.
pub(crate) async fn reactivate(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    set_status(&app, &caller, &id, ACTIVE).await
}
