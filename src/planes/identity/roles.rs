//! `/roles` and `/permissions`: roles are named sets of permissions (`{resource, action}`,
//! written `users:create`) with a scope level. The system roles TENANT_ADMIN (every
//! permission) and ORG_ADMIN (`users:*` within one organization) are shared by all tenants
//! and immutable; a tenant's own roles are its alone.
//!
//! **choice**: `parentId` is kept and returned, but a role does not inherit its parent's
//! permissions (the docs name the field, not a meaning); a role that is a parent cannot be
//! deleted.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::access::Caller;
use super::input::{finish, page_json, path_uuid, Body, Fields, Params};
use super::problem::{FieldError, Problem};
use super::views;
use crate::domain::app::App;
use crate::store::identity::{
    IdentityPermission, IdentityRefusal, NewRole, RoleChanges, RoleQuery,
};

pub(crate) const SCOPE_LEVELS: [&str; 3] = ["PLATFORM", "TENANT", "ORGANIZATION"];

const NAME_TAKEN: &str = "A role with this name already exists";
/// **choice**: the detail of `forbidden` for a change to a system role.
const SYSTEM_ROLE: &str = "System roles cannot be modified";

/// **choice**: at most this many characters of description.
const MAX_DESCRIPTION: usize = 500;

/// `GET /permissions`: the catalogue roles are made of.
pub(crate) async fn permissions(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Response, Problem> {
    caller.require_tenant("roles:read")?;
    let all = app.store.identity_permissions().await?;
    let data: Vec<Value> = all.iter().map(views::permission).collect();
    Ok(Json(json!({"data": data})).into_response())
}

/// A scope level, upper-cased, or a field error.
fn scope_level(f: &mut Fields<'_>, value: Option<String>) -> Option<String> {
    let v = value?.to_uppercase();
    if SCOPE_LEVELS.contains(&v.as_str()) {
        Some(v)
    } else {
        f.error(
            "scopeLevel",
            format!("scopeLevel must be one of {}", SCOPE_LEVELS.join(", ")),
        );
        None
    }
}

/// The permission ids a `permissions` array names: items are `{"resource", "action"}` objects
/// or `"resource:action"` strings, each of the catalogue.
fn permission_ids(f: &mut Fields<'_>, catalogue: &[IdentityPermission]) -> Option<Vec<String>> {
    let raw = f.raw("permissions")?;
    let Value::Array(items) = raw else {
        f.error("permissions", "permissions must be an array");
        return None;
    };
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let pair = match item {
            Value::String(s) => s
                .split_once(':')
                .map(|(r, a)| (r.to_string(), a.to_string())),
            Value::Object(o) => match (o.get("resource"), o.get("action")) {
                (Some(Value::String(r)), Some(Value::String(a))) => Some((r.clone(), a.clone())),
                _ => None,
            },
            _ => None,
        };
        let field = format!("permissions[{i}]");
        match pair {
            None => bad.push(FieldError {
                field,
                message: "A permission is {\"resource\", \"action\"} or \"resource:action\"".into(),
            }),
            Some((resource, action)) => match catalogue
                .iter()
                .find(|p| p.resource == resource && p.action == action)
            {
                Some(p) => {
                    if !ids.contains(&p.id) {
                        ids.push(p.id.clone());
                    }
                }
                None => bad.push(FieldError {
                    field,
                    message: format!("Unknown permission {resource}:{action}"),
                }),
            },
        }
    }
    let ok = bad.is_empty();
    f.errors.extend(bad);
    ok.then_some(ids)
}

fn description(f: &mut Fields<'_>) -> Option<Option<String>> {
    let d = f.optional("description", "Description")?;
    if d.as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        f.error(
            "description",
            format!("Description must be at most {MAX_DESCRIPTION} characters"),
        );
        return None;
    }
    Some(d.filter(|d| !d.is_empty()))
}

/// A parent the tenant can see, or not-found.
async fn check_parent(app: &App, caller: &Caller, parent: Option<&str>) -> Result<(), Problem> {
    if let Some(p) = parent {
        if app.store.identity_role(caller.tenant(), p).await?.is_none() {
            return Err(Problem::not_found());
        }
    }
    Ok(())
}

fn refusal(r: IdentityRefusal) -> Problem {
    match r {
        IdentityRefusal::NameTaken => Problem::conflict(NAME_TAKEN),
        IdentityRefusal::System => Problem::new("P-forbidden").detail(SYSTEM_ROLE),
        IdentityRefusal::Assigned => Problem::new("P-in-use"),
        IdentityRefusal::Parent => Problem::new("P-in-use")
            .detail("Cannot delete role: other roles name it as their parent"),
        IdentityRefusal::NotFound => Problem::not_found(),
        IdentityRefusal::EmailTaken | IdentityRefusal::AlreadyAssigned => {
            Problem::new("P-internal")
        }
    }
}

/// `POST /roles` `{name, description?, scopeLevel, parentId?, permissions?}` → 201.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response, Problem> {
    caller.require_tenant("roles:create")?;
    let catalogue = app.store.identity_permissions().await?;
    let mut f = Fields::new(&body);
    let name = f.name("name", "Name");
    let description = description(&mut f).flatten();
    let level = f.required("scopeLevel", "Scope level");
    let level = scope_level(&mut f, level);
    let parent_id = f.optional_uuid("parentId").flatten();
    let permission_ids = permission_ids(&mut f, &catalogue).unwrap_or_default();
    f.finish()?;
    let (Some(name), Some(scope_level)) = (name, level) else {
        return Err(Problem::new("P-internal"));
    };
    check_parent(&app, &caller, parent_id.as_deref()).await?;
    let new = NewRole {
        tenant: caller.tenant().to_string(),
        name,
        description,
        scope_level,
        parent_id,
        permission_ids,
        now: app.clock.rfc3339(),
    };
    match app.store.identity_create_role(new).await? {
        Ok(r) => Ok((StatusCode::CREATED, Json(views::role(&r))).into_response()),
        Err(r) => Err(refusal(r)),
    }
}

/// `GET /roles?page&limit&scopeLevel&search`: system roles first, then the tenant's by name.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    params: Params,
) -> Result<Response, Problem> {
    caller.require_tenant("roles:read")?;
    let mut errors = Vec::new();
    let paging = params.paging(&mut errors);
    let level = params.get("scopeLevel").map(str::to_uppercase);
    if level.as_deref().is_some_and(|l| !SCOPE_LEVELS.contains(&l)) {
        errors.push(FieldError {
            field: "scopeLevel".into(),
            message: format!("scopeLevel must be one of {}", SCOPE_LEVELS.join(", ")),
        });
    }
    finish(errors)?;
    let page = app
        .store
        .identity_roles(RoleQuery {
            tenant: caller.tenant().to_string(),
            scope_level: level,
            search: params.get("search").map(str::to_string),
            page: paging.page,
            limit: paging.limit,
        })
        .await?;
    let items = page.items.iter().map(views::role).collect();
    Ok(Json(page_json(items, page.total, paging)).into_response())
}

/// `GET /roles/{id}` with its permissions.
pub(crate) async fn read(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require_tenant("roles:read")?;
    let id = path_uuid(&id)?;
    let role = app
        .store
        .identity_role(caller.tenant(), &id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(Json(views::role(&role)).into_response())
}

/// `PATCH` (or `PUT`) `/roles/{id}`: the fields sent change; `permissions` replaces the set.
pub(crate) async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, Problem> {
    caller.require_tenant("roles:update")?;
    let id = path_uuid(&id)?;
    let role = app
        .store
        .identity_role(caller.tenant(), &id)
        .await?
        .ok_or_else(Problem::not_found)?;
    if role.is_system {
        return Err(refusal(IdentityRefusal::System));
    }
    let catalogue = app.store.identity_permissions().await?;
    let mut f = Fields::new(&body);
    let name = if f.has("name") {
        f.name("name", "Name")
    } else {
        None
    };
    let description = description(&mut f);
    let level = if f.has("scopeLevel") {
        let v = f.required("scopeLevel", "Scope level");
        scope_level(&mut f, v)
    } else {
        None
    };
    let parent_id = f.optional_uuid("parentId");
    if parent_id
        .as_ref()
        .is_some_and(|p| p.as_deref() == Some(id.as_str()))
    {
        f.error("parentId", "parentId must not name the role itself");
    }
    let permission_ids = permission_ids(&mut f, &catalogue);
    f.finish()?;
    if let Some(p) = &parent_id {
        check_parent(&app, &caller, p.as_deref()).await?;
    }
    let changes = RoleChanges {
        name,
        description,
        scope_level: level,
        parent_id,
        permission_ids,
    };
    match app
        .store
        .identity_update_role(caller.tenant(), &id, changes, app.clock.rfc3339())
        .await?
    {
        Ok(r) => Ok(Json(views::role(&r)).into_response()),
        Err(r) => Err(refusal(r)),
    }
}

/// `DELETE /roles/{id}` → 204, or `resource-in-use` while assignments in force name it.
pub(crate) async fn remove(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require_tenant("roles:delete")?;
    let id = path_uuid(&id)?;
    match app
        .store
        .identity_delete_role(caller.tenant(), &id, app.clock.rfc3339())
        .await?
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(IdentityRefusal::System) => {
            Err(Problem::new("P-forbidden").detail("System roles cannot be deleted"))
        }
        Err(r) => Err(refusal(r)),
    }
}
