//! Raw embeddings: vectors a client computed itself, stored per tenant and sub-tenant of an
//! embeddings tenant (`is_embeddings_tenant`, with its `embeddings_dimension`), searched by
//! cosine similarity with an optional Milvus-style `filter_expr`, filtered by source or chunk
//! ids, and deleted.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::access;
use super::envelope::ApiError;
use super::input;
use super::metadata::stored;
use super::text::{embed, filter};
use super::views;
use crate::domain::app::App;
use crate::store::cortex_api::{RawEmbedding, RawSelector, Tenant};

type Answer = Result<Json<Value>, ApiError>;

#[derive(Deserialize)]
struct Vector {
    chunk_id: String,
    embedding: Vec<f64>,
}

#[derive(Deserialize)]
struct RawDocument {
    source_id: String,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    embeddings: Vec<Vector>,
}

#[derive(Deserialize)]
struct Insert {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    embeddings: Vec<RawDocument>,
    #[serde(default)]
    upsert: Option<bool>,
}

/// The tenant's dimension; raw embeddings live only in embeddings tenants.
fn dimension(tenant: &Tenant) -> Result<usize, ApiError> {
    match (tenant.is_embeddings, tenant.embeddings_dimension) {
        (true, Some(d)) => Ok(d),
        _ => Err(ApiError::params(format!(
            "tenant '{}' is not an embeddings tenant; create one with is_embeddings_tenant=true and embeddings_dimension",
            tenant.id
        ))),
    }
}

fn check_vector(what: &str, v: &[f64], dim: usize) -> Result<(), ApiError> {
    if v.len() != dim {
        return Err(ApiError::with(
            "A-emb-format",
            format!(
                "Invalid embedding format: {what} has {} dimensions; this tenant's embeddings have {dim}",
                v.len()
            ),
        ));
    }
    if v.iter()
        .any(|x| !x.is_finite() || x.abs() > f32::MAX as f64)
    {
        return Err(ApiError::with(
            "A-emb-format",
            format!(
                "Invalid embedding format: {what} holds a value that is not a finite 32-bit float"
            ),
        ));
    }
    Ok(())
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|x| *x as f32).collect()
}

/// `POST /embeddings/insert_raw_embeddings`: every vector is checked before any is stored.
pub(crate) async fn insert(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: Insert = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_write(req.sub_tenant_id.as_deref())?;
    let dim = dimension(&tenant)?;
    let mut rows = Vec::new();
    for doc in &req.embeddings {
        input::source_id(&doc.source_id)?;
        let metadata = Value::Object(doc.metadata.clone().unwrap_or_default()).to_string();
        for v in &doc.embeddings {
            if v.chunk_id.is_empty() {
                return Err(ApiError::params("every embedding needs a chunk_id"));
            }
            if rows.iter().any(|r: &RawEmbedding| r.chunk_id == v.chunk_id) {
                return Err(ApiError::params(format!(
                    "chunk_id '{}' appears twice in the request",
                    v.chunk_id
                )));
            }
            check_vector(&format!("chunk '{}'", v.chunk_id), &v.embedding, dim)?;
            rows.push(RawEmbedding {
                chunk_id: v.chunk_id.clone(),
                source_id: doc.source_id.clone(),
                metadata: metadata.clone(),
                embedding: embed::to_blob(&to_f32(&v.embedding)),
            });
        }
    }
    if rows.is_empty() {
        return Err(ApiError::params("embeddings must hold at least one vector"));
    }
    let ids: Vec<String> = rows.iter().map(|r| r.chunk_id.clone()).collect();
    let now = app.clock.rfc3339();
    let upsert = req.upsert.unwrap_or(false);
    match app
        .store
        .cortex_insert_raw(&tenant.id, &sub, rows, upsert, now)
        .await?
    {
        Ok(n) => Ok(Json(
            json!({"insert_count": n, "ids": ids, "success": true, "error": null}),
        )),
        Err(taken) => Err(ApiError::with(
            "A409",
            format!("Resource already exists: chunk '{taken}'; pass upsert=true to replace it"),
        )),
    }
}

#[derive(Deserialize)]
struct Search {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    query_embedding: Vec<f64>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    filter_expr: Option<String>,
    #[serde(default)]
    output_fields: Option<Vec<String>>,
}

/// `POST /embeddings/search_raw_embeddings`: best cosine first; `score` is the similarity and
/// `distance` is 1 − similarity (**choice**).
pub(crate) async fn search(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: Search = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(&app, &tenant, req.sub_tenant_id.as_deref()).await?;
    let dim = dimension(&tenant)?;
    let limit = input::search_limit("limit", req.limit, 10)?;
    check_vector("query_embedding", &req.query_embedding, dim)?;
    let filter = match req.filter_expr.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(src) => Some(filter::parse(src).map_err(ApiError::search)?),
    };
    let query = to_f32(&req.query_embedding);
    let query_norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
    let set = app.store.cortex_raw_set(&tenant.id, &sub).await?;
    let mut scored: Vec<(f32, usize)> = (0..set.len())
        .filter(|&i| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(&set.source_ids[i], &set.chunk_ids[i], &set.metadata[i]))
        })
        .map(|i| {
            let dot: f32 = set.vector(i).iter().zip(&query).map(|(a, b)| a * b).sum();
            let norms = set.norms[i] * query_norm;
            (if norms > 0.0 { dot / norms } else { 0.0 }, i)
        })
        .collect();
    // Only the best `limit` need ordering: select them first, then sort those.
    let by_score = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if scored.len() > limit {
        scored.select_nth_unstable_by(limit - 1, by_score);
        scored.truncate(limit);
    }
    scored.sort_by(by_score);
    let fields = req.output_fields.as_deref();
    let out: Vec<Value> = scored
        .iter()
        .map(|&(score, i)| {
            let score = views::round(score as f64);
            let row = RawEmbedding {
                chunk_id: set.chunk_ids[i].clone(),
                source_id: set.source_ids[i].clone(),
                metadata: set.metadata[i].to_string(),
                embedding: embed::to_blob(set.vector(i)),
            };
            result(&row, fields, json!(score), json!(views::round(1.0 - score)))
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

/// `RawEmbeddingSearchResult`. The vector itself only when `output_fields` names `embedding`
/// (as Milvus returns only the fields asked for); metadata unless `output_fields` leaves it out.
fn result(r: &RawEmbedding, fields: Option<&[String]>, score: Value, distance: Value) -> Value {
    let asked = |f: &str| fields.is_some_and(|fs| fs.iter().any(|x| x == f));
    let vector: Vec<f64> = if asked("embedding") {
        embed::from_blob(&r.embedding)
            .into_iter()
            .map(|x| x as f64)
            .collect()
    } else {
        Vec::new()
    };
    let metadata = if fields.is_none() || asked("metadata") {
        stored(&r.metadata)
    } else {
        Value::Null
    };
    json!({
        "source_id": r.source_id,
        "embedding": {"chunk_id": r.chunk_id, "embedding": vector},
        "score": score,
        "distance": distance,
        "metadata": metadata,
    })
}

#[derive(Deserialize)]
struct Filter {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    #[serde(default)]
    source_id: Option<String>,
    #[serde(default)]
    chunk_ids: Option<Vec<String>>,
    #[serde(default)]
    output_fields: Option<Vec<String>>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `POST /embeddings/filter_raw_embeddings`: by source and/or chunk ids, in insertion order.
pub(crate) async fn filter_route(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: Filter = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(&app, &tenant, req.sub_tenant_id.as_deref()).await?;
    dimension(&tenant)?;
    let limit = input::search_limit("limit", req.limit, 100)?;
    let selector = RawSelector {
        source_id: req.source_id.filter(|s| !s.is_empty()),
        chunk_ids: req.chunk_ids.unwrap_or_default(),
    };
    let rows = app
        .store
        .cortex_raw(&tenant.id, &sub, Some(selector))
        .await?;
    let fields = req.output_fields.as_deref();
    let out: Vec<Value> = rows
        .iter()
        .take(limit)
        .map(|r| result(r, fields, Value::Null, Value::Null))
        .collect();
    Ok(Json(Value::Array(out)))
}

/// `DELETE /embeddings/delete_raw_embeddings?tenant_id=&sub_tenant_id=&source_id=&chunk_ids=`:
/// `EMBEDDINGS_NOT_FOUND` when nothing matched.
pub(crate) async fn delete(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Answer {
    let (params, tenant) = access::by_query(&app, &headers, &uri).await?;
    let sub = access::sub_for_read(&app, &tenant, params.get("sub_tenant_id")).await?;
    dimension(&tenant)?;
    let selector = RawSelector {
        source_id: params.get("source_id").map(str::to_string),
        chunk_ids: params.all("chunk_ids"),
    };
    if selector.source_id.is_none() && selector.chunk_ids.is_empty() {
        return Err(ApiError::params("give source_id or chunk_ids"));
    }
    let n = app
        .store
        .cortex_delete_raw(&tenant.id, &sub, selector)
        .await?;
    if n == 0 {
        return Err(ApiError::with(
            "A-emb-missing",
            "Embeddings not found for that source_id or chunk_ids",
        ));
    }
    Ok(Json(
        json!({"delete_count": n, "success": true, "error": null}),
    ))
}
