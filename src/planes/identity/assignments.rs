//! `/role-assignments`: a role given to a user, optionally only within an organization and
//! optionally until `expiresAt` (read against the test clock: an expired assignment grants
//! nothing and no longer keeps its role from being deleted).
//!
//! **choice**: an ORGANIZATION-scoped role must be assigned with an `organizationId`; a
//! TENANT (or PLATFORM) role assigned with one grants its permissions within that
//! organization only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::access::{Caller, Reach};
use super::input::{finish, page_json, path_uuid, stamp, Body, Fields, Params};
use super::problem::Problem;
use super::views;
use crate::domain::app::App;
use crate::store::identity::{AssignmentQuery, IdentityRefusal, NewAssignment};

/// `POST /role-assignments` `{userId, roleId, organizationId?, expiresAt?}` → 201.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response, Problem> {
    caller.reach("role-assignments:create")?;
    let now = app.clock.now();
    let mut f = Fields::new(&body);
    let user_id = f.required_uuid("userId");
    let role_id = f.required_uuid("roleId");
    let organization_id = f.optional_uuid("organizationId").flatten();
    let expires_at = f.optional_instant("expiresAt");
    if expires_at.is_some_and(|t| t <= now) {
        f.error("expiresAt", "expiresAt must be in the future");
    }
    f.finish()?;
    let (Some(user_id), Some(role_id)) = (user_id, role_id) else {
        return Err(Problem::new("P-internal"));
    };
    caller.require("role-assignments:create", organization_id.as_deref())?;
    let tenant = caller.tenant().to_string();
    if app
        .store
        .identity_user(&user_id, Some(&tenant))
        .await?
        .is_none()
    {
        return Err(Problem::not_found());
    }
    let role = app
        .store
        .identity_role(&tenant, &role_id)
        .await?
        .ok_or_else(Problem::not_found)?;
    if let Some(o) = &organization_id {
        if app.store.identity_org(&tenant, o).await?.is_none() {
            return Err(Problem::not_found());
        }
    }
    if role.scope_level == "ORGANIZATION" && organization_id.is_none() {
        return Err(Problem::invalid_field(
            "organizationId",
            "organizationId is required for a role of scope ORGANIZATION",
        ));
    }
    let new = NewAssignment {
        tenant,
        user_id,
        role_id,
        organization_id,
        expires_at: expires_at.map(stamp),
        now: stamp(now),
    };
    match app.store.identity_create_assignment(new).await? {
        Ok(a) => Ok((StatusCode::CREATED, Json(views::assignment(&a))).into_response()),
        Err(IdentityRefusal::AlreadyAssigned) => Err(Problem::conflict(
            "This role is already assigned to the user",
        )),
        Err(_) => Err(Problem::new("P-internal")),
    }
}

/// `GET /role-assignments?userId&roleId&organizationId&page&limit`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    params: Params,
) -> Result<Response, Problem> {
    let within = match caller.reach("role-assignments:read")? {
        Reach::Tenant => None,
        Reach::Organizations(orgs) => Some(orgs),
    };
    let mut errors = Vec::new();
    let paging = params.paging(&mut errors);
    let user_id = params.uuid("userId", &mut errors);
    let role_id = params.uuid("roleId", &mut errors);
    let organization_id = params.uuid("organizationId", &mut errors);
    finish(errors)?;
    let page = app
        .store
        .identity_assignments(AssignmentQuery {
            tenant: caller.tenant().to_string(),
            within,
            user_id,
            role_id,
            organization_id,
            page: paging.page,
            limit: paging.limit,
        })
        .await?;
    let items = page.items.iter().map(views::assignment).collect();
    Ok(Json(page_json(items, page.total, paging)).into_response())
}

/// `GET /role-assignments/{id}`.
pub(crate) async fn read(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.reach("role-assignments:read")?;
    let id = path_uuid(&id)?;
    let a = app
        .store
        .identity_assignment(caller.tenant(), &id)
        .await?
        .ok_or_else(Problem::not_found)?;
    caller.require("role-assignments:read", a.organization_id.as_deref())?;
    Ok(Json(views::assignment(&a)).into_response())
}

/// `DELETE /role-assignments/{id}` → 204.
pub(crate) async fn remove(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.reach("role-assignments:delete")?;
    let id = path_uuid(&id)?;
    let a = app
        .store
        .identity_assignment(caller.tenant(), &id)
        .await?
        .ok_or_else(Problem::not_found)?;
    caller.require("role-assignments:delete", a.organization_id.as_deref())?;
    if !app
        .store
        .identity_delete_assignment(caller.tenant(), &id)
        .await?
    {
        return Err(Problem::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
