//! Who is calling and what they may touch: `Authorization: Bearer <key>` with the emulator's
//! organization keys (the OpenAPI scheme is `HTTPBearer`), and tenants that belong to the
//! organization whose key created them.

use axum::http::{HeaderMap, Uri};

use super::envelope::ApiError;
use super::input::{self, Params};
use crate::domain::admission::{authenticate, bearer_token, KeyStyle};
use crate::domain::app::App;
use crate::store::cortex_api::{Tenant, DEFAULT_SUB_TENANT};
use crate::store::KeyRecord;

/// The key of a request; `UNAUTHORIZED` without a valid `Bearer` key (a raw key without the
/// scheme is refused too, as HTTPBearer refuses it).
pub(crate) fn caller(app: &App, headers: &HeaderMap) -> Result<KeyRecord, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(|| ApiError::new("A401"))?;
    authenticate(app, Some(token), KeyStyle::Raw).map_err(|_| ApiError::new("A401"))
}

/// The caller's tenant: `INVALID_TENANT_ID`, `TENANT_NOT_FOUND`, or `FORBIDDEN` when another
/// organization owns it.
pub(crate) async fn tenant(app: &App, key: &KeyRecord, id: &str) -> Result<Tenant, ApiError> {
    let id = input::tenant_id(id)?;
    let tenant =
        app.store.cortex_tenant(id).await?.ok_or_else(|| {
            ApiError::with("A-tenant-missing", format!("Tenant '{id}' not found"))
        })?;
    if tenant.org_id != key.org_id {
        return Err(ApiError::new("A403"));
    }
    Ok(tenant)
}

/// The caller's tenant of a request that names it in the query (`?tenant_id=`), and the query.
pub(crate) async fn by_query(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(Params, Tenant), ApiError> {
    let key = caller(app, headers)?;
    let params = Params::of(uri);
    let tenant = tenant(app, &key, params.require("tenant_id")?).await?;
    Ok((params, tenant))
}

/// A sub-tenant named for writing: checked, `DEFAULT` when absent; created on first use by the
/// write itself.
pub(crate) fn sub_for_write(sub: Option<&str>) -> Result<String, ApiError> {
    match sub {
        None | Some("") => Ok(DEFAULT_SUB_TENANT.to_string()),
        Some(s) => input::sub_tenant_id(s).map(str::to_string),
    }
}

/// A sub-tenant named for reading: it must exist (`SUB_TENANT_NOT_FOUND`).
pub(crate) async fn sub_for_read(
    app: &App,
    tenant: &Tenant,
    sub: Option<&str>,
) -> Result<String, ApiError> {
    let sub = sub_for_write(sub)?;
    if app.store.cortex_sub_tenant_exists(&tenant.id, &sub).await? {
        Ok(sub)
    } else {
        Err(ApiError::with(
            "A-sub-missing",
            format!("Sub-tenant '{sub}' not found in tenant '{}'", tenant.id),
        ))
    }
}
