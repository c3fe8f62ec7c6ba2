//! Tenants and sub-tenants: `tenants/create` (with its `DEFAULT` sub-tenant and a metadata
//! schema fixed for good), `tenants/delete`, `tenants/infra/status`, `tenants/monitor`,
//! `tenants/sub_tenant_ids`, and the emulator's `tenants/sub_tenant` delete.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::access;
use super::envelope::ApiError;
use super::input::{self, Params};
use super::metadata::Schema;
use super::text::embed;
use crate::domain::app::App;
use crate::store::cortex_api::{Tenant, DEFAULT_SUB_TENANT};

type Answer = Result<Json<Value>, ApiError>;

#[derive(Deserialize)]
struct CreateTenant {
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    is_embeddings_tenant: Option<bool>,
    #[serde(default)]
    embeddings_dimension: Option<i64>,
    #[serde(default)]
    tenant_metadata_schema: Option<Vec<Value>>,
}

/// Largest raw-embedding dimension accepted (**choice**: Milvus' own limit is 32 768; no model
/// the docs name goes past 4 096).
const MAX_DIMENSION: i64 = 4096;

/// `POST /tenants/create`: the id from the body, else from the query (the docs' older form),
/// else generated. Ready at once, so `infra/status` is green on the first poll.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: CreateTenant = if body.iter().all(u8::is_ascii_whitespace) {
        CreateTenant {
            tenant_id: None,
            is_embeddings_tenant: None,
            embeddings_dimension: None,
            tenant_metadata_schema: None,
        }
    } else {
        input::json(&body)?
    };
    let id = match req
        .tenant_id
        .filter(|t| !t.is_empty())
        .or_else(|| Params::of(&uri).get("tenant_id").map(str::to_string))
    {
        Some(id) => input::tenant_id(&id)?.to_string(),
        None => format!("tenant_{}", uuid::Uuid::new_v4().simple()),
    };
    let is_embeddings = req.is_embeddings_tenant.unwrap_or(false);
    let dimension = match (is_embeddings, req.embeddings_dimension) {
        (_, Some(d)) if !(1..=MAX_DIMENSION).contains(&d) => {
            return Err(ApiError::validation(format!(
                "embeddings_dimension must be between 1 and {MAX_DIMENSION}, not {d}"
            )))
        }
        (true, None) => {
            return Err(ApiError::validation(
                "embeddings_dimension is required when is_embeddings_tenant is true",
            ))
        }
        (_, d) => d.map(|d| d as usize),
    };
    let schema = Schema::parse(req.tenant_metadata_schema.unwrap_or_default())
        .map_err(ApiError::validation)?;
    let tenant = Tenant {
        id: id.clone(),
        org_id: key.org_id.clone(),
        is_embeddings,
        embeddings_dimension: dimension,
        metadata_schema: schema.to_json(),
        created_at: app.clock.rfc3339(),
    };
    if !app.store.cortex_create_tenant(tenant).await? {
        return Err(ApiError::with(
            "A-tenant-exists",
            format!("Tenant '{id}' already exists"),
        ));
    }
    Ok(Json(json!({
        "status": "accepted",
        "tenant_id": id,
        "message": format!("Tenant '{id}' created with its DEFAULT sub-tenant"),
    })))
}

/// `DELETE /tenants/delete?tenant_id=`: the tenant and everything in it.
pub(crate) async fn delete(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Answer {
    let (_, tenant) = access::by_query(&app, &headers, &uri).await?;
    app.store.cortex_delete_tenant(&tenant.id).await?;
    Ok(Json(json!({
        "tenant_id": tenant.id,
        "status": "deleted",
        "message": format!("Tenant '{}' and all its data were deleted", tenant.id),
    })))
}

/// `GET /tenants/infra/status?tenant_id=`: everything is local, so always up.
pub(crate) async fn infra_status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Answer {
    let (_, tenant) = access::by_query(&app, &headers, &uri).await?;
    let org = app
        .store
        .org(&tenant.org_id)
        .map(|o| o.slug)
        .unwrap_or_default();
    Ok(Json(json!({
        "tenant_id": tenant.id,
        "org_id": org,
        "infra": {
            "scheduler_status": true,
            "graph_status": true,
            "vectorstore_status": [true, true],
        },
        "message": "Infrastructure is ready",
    })))
}

/// `GET /tenants/monitor?tenant_id=`: chunk counts of the knowledge and memory collections (the
/// raw embeddings and their dimension for an embeddings tenant).
pub(crate) async fn monitor(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Answer {
    let (_, tenant) = access::by_query(&app, &headers, &uri).await?;
    let (knowledge, memories) = app.store.cortex_chunk_counts(&tenant.id).await?;
    let normal = if tenant.is_embeddings {
        json!({
            "row_count": app.store.cortex_raw_count(&tenant.id).await?,
            "dimensions": tenant.embeddings_dimension.unwrap_or(0),
        })
    } else {
        json!({"row_count": knowledge, "dimensions": embed::DIM})
    };
    Ok(Json(json!({
        "tenant_id": tenant.id,
        "normal_collection": normal,
        "memory_collection": {"row_count": memories, "dimensions": embed::DIM},
        "message": "Tenant statistics",
    })))
}

/// `GET /tenants/sub_tenant_ids?tenant_id=`: `DEFAULT` first, then in order of first use.
pub(crate) async fn sub_tenant_ids(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Answer {
    let (_, tenant) = access::by_query(&app, &headers, &uri).await?;
    let ids = app.store.cortex_sub_tenants(&tenant.id).await?;
    let message = match ids.len() {
        1 => "Found 1 sub-tenant".to_string(),
        n => format!("Found {n} sub-tenants"),
    };
    Ok(Json(json!({"sub_tenant_ids": ids, "message": message})))
}

/// `DELETE /tenants/sub_tenant?tenant_id=&sub_tenant_id=` (**choice**: the SDK has no route for
/// it; the docs name the errors `CANNOT_DELETE_DEFAULT_SUB_TENANT` and `SUB_TENANT_NOT_FOUND`).
pub(crate) async fn delete_sub_tenant(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Answer {
    let (params, tenant) = access::by_query(&app, &headers, &uri).await?;
    let sub = input::sub_tenant_id(params.require("sub_tenant_id")?)?.to_string();
    if sub == DEFAULT_SUB_TENANT {
        return Err(ApiError::new("A-sub-default"));
    }
    if !app.store.cortex_delete_sub_tenant(&tenant.id, &sub).await? {
        return Err(ApiError::with(
            "A-sub-missing",
            format!("Sub-tenant '{sub}' not found in tenant '{}'", tenant.id),
        ));
    }
    Ok(Json(json!({
        "tenant_id": tenant.id,
        "sub_tenant_id": sub,
        "status": "deleted",
        "message": format!("Sub-tenant '{sub}' and its data were deleted"),
    })))
}
