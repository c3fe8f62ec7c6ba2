//! `/organizations`: the organizations inside a tenant (tenants → organizations → users).
//! Users and role assignments may name one; an ORG_ADMIN assignment reaches its users.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::access::Caller;
use super::input::{finish, page_json, path_uuid, Body, Fields, Params};
use super::problem::Problem;
use super::views;
use crate::domain::app::App;

/// `POST /organizations` `{name}` → 201.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response, Problem> {
    caller.require_tenant("organizations:create")?;
    let mut f = Fields::new(&body);
    let name = f.name("name", "Name");
    f.finish()?;
    let Some(name) = name else {
        return Err(Problem::new("P-internal"));
    };
    match app
        .store
        .identity_create_org(caller.tenant(), &name, app.clock.rfc3339())
        .await?
    {
        Ok(o) => Ok((StatusCode::CREATED, Json(views::organization(&o))).into_response()),
        Err(_) => Err(Problem::conflict(
            "An organization with this name already exists",
        )),
    }
}

/// `GET /organizations?page&limit`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    params: Params,
) -> Result<Response, Problem> {
    caller.require_tenant("organizations:read")?;
    let mut errors = Vec::new();
    let paging = params.paging(&mut errors);
    finish(errors)?;
    let page = app
        .store
        .identity_orgs(caller.tenant(), paging.page, paging.limit)
        .await?;
    let items = page.items.iter().map(views::organization).collect();
    Ok(Json(page_json(items, page.total, paging)).into_response())
}

/// `GET /organizations/{id}`.
pub(crate) async fn read(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require_tenant("organizations:read")?;
    let id = path_uuid(&id)?;
    let org = app
        .store
        .identity_org(caller.tenant(), &id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(Json(views::organization(&org)).into_response())
}
