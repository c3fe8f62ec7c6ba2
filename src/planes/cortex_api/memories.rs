//! User memories: `memories/add_memory` and `memories/delete_memory` (listing is `list/data`
//! with `kind=memories`, search is `recall/recall_preferences`). A memory is a source of its
//! own kind, chunked and embedded like a document, so every search path treats it the same.
//! Each sub-tenant (a user, in the docs' B2C reading) holds at most
//! `[planes.cortex_api] memory_quota` memories.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::access;
use super::envelope::ApiError;
use super::indexing::{self, Document};
use super::input;
use super::metadata;
use crate::domain::app::App;
use crate::store::cortex_api::{Inserted, Kind};

type Answer = Result<Json<Value>, ApiError>;

#[derive(Deserialize)]
struct Pair {
    user: String,
    assistant: String,
}

#[derive(Deserialize)]
struct MemoryItem {
    #[serde(default)]
    source_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    user_assistant_pairs: Option<Vec<Pair>>,
    #[serde(default)]
    is_markdown: Option<bool>,
    #[serde(default)]
    infer: Option<bool>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    tenant_metadata: Option<Value>,
    #[serde(default)]
    document_metadata: Option<Value>,
}

#[derive(Deserialize)]
struct AddMemory {
    memories: Vec<MemoryItem>,
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    #[serde(default)]
    upsert: Option<bool>,
}

/// `POST /memories/add_memory`: all items or none.
pub(crate) async fn add(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: AddMemory = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_write(req.sub_tenant_id.as_deref())?;
    if req.memories.is_empty() {
        return Err(ApiError::params("memories must hold at least one item"));
    }
    let mut prepared = Vec::with_capacity(req.memories.len());
    let mut results = Vec::with_capacity(req.memories.len());
    for (i, item) in req.memories.into_iter().enumerate() {
        let infer = item.infer.unwrap_or(false);
        let doc = memory_document(i, item)?;
        results.push(json!({
            "source_id": doc.id, "title": doc.title, "status": "queued", "infer": infer, "error": null,
        }));
        prepared.push(indexing::prepare(&app, &tenant, &sub, doc)?);
    }
    let quota = app.config.planes.cortex_api.memory_quota;
    let held = app
        .store
        .cortex_count_sources(&tenant.id, &sub, Kind::Memory)
        .await?;
    if held + prepared.len() as u64 > quota {
        return Err(ApiError::with(
            "A-memory-limit",
            format!(
                "Memory limit exceeded: sub-tenant '{sub}' holds {held} of {quota} memories ([planes.cortex_api] memory_quota)"
            ),
        ));
    }
    let ids: Vec<String> = prepared.iter().map(|s| s.id.clone()).collect();
    let upsert = req.upsert.unwrap_or(false);
    let outcome = app.store.cortex_insert_sources(prepared, upsert).await?;
    if let Some(i) = outcome.iter().position(|o| *o == Inserted::Exists) {
        return Err(ApiError::with(
            "A409",
            format!(
                "Resource already exists: memory '{}'; pass upsert=true to replace it",
                ids[i]
            ),
        ));
    }
    let n = results.len();
    Ok(Json(json!({
        "success": true,
        "message": format!("{n} memor{} queued for processing", if n == 1 { "y" } else { "ies" }),
        "results": results,
        "success_count": n,
        "failed_count": 0,
    })))
}

/// A memory's text: its `text`, or its conversation as `User:` / `Assistant:` lines.
fn memory_document(i: usize, item: MemoryItem) -> Result<Document, ApiError> {
    let mut text = item.text.unwrap_or_default();
    if let Some(pairs) = item.user_assistant_pairs.filter(|p| !p.is_empty()) {
        let user = item.user_name.as_deref().unwrap_or("User");
        for p in pairs {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("{user}: {}\nAssistant: {}", p.user, p.assistant));
        }
    }
    if text.trim().is_empty() {
        return Err(ApiError::with(
            "A-memory-format",
            format!("Invalid memory format: memories[{i}] needs text or user_assistant_pairs"),
        ));
    }
    let id = match item.source_id.filter(|s| !s.is_empty()) {
        Some(id) => input::source_id(&id)?.to_string(),
        None => indexing::new_id(),
    };
    let meta = |field: &str, v: Option<&Value>| {
        metadata::object(field, v).map_err(|why| {
            ApiError::with(
                "A-memory-format",
                format!("Invalid memory format: memories[{i}].{why}"),
            )
        })
    };
    Ok(Document {
        id,
        kind: Kind::Memory,
        title: item.title,
        source_type: Some(
            if item.is_markdown.unwrap_or(false) {
                "markdown"
            } else {
                "memory"
            }
            .into(),
        ),
        content_type: Some("text/plain".into()),
        tenant_metadata: meta("tenant_metadata", item.tenant_metadata.as_ref())?,
        document_metadata: meta("document_metadata", item.document_metadata.as_ref())?,
        text,
        ..Default::default()
    })
}

/// `DELETE /memories/delete_memory?tenant_id=&memory_id=&sub_tenant_id=`.
pub(crate) async fn delete(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Answer {
    let (params, tenant) = access::by_query(&app, &headers, &uri).await?;
    let sub = access::sub_for_read(&app, &tenant, params.get("sub_tenant_id")).await?;
    let id = params.require("memory_id")?;
    let outcome = app
        .store
        .cortex_delete_sources(&tenant.id, &sub, Kind::Memory, vec![id.to_string()])
        .await?;
    if !outcome.iter().any(|(_, deleted)| *deleted) {
        return Err(memory_not_found(id));
    }
    Ok(Json(json!({"success": true, "user_memory_deleted": true})))
}

pub(crate) fn memory_not_found(id: &str) -> ApiError {
    ApiError::with("A-memory-missing", format!("Memory '{id}' not found"))
}
