//! The JSON shapes of the SDK's response models (`SourceModel`, `VectorStoreChunk`,
//! `SourceInfo`, `PaginationMeta`), built in one place so every route answers the same fields.

use serde_json::{json, Value};

use super::metadata::stored;
use crate::store::cortex_api::{ChunkHit, Source};

/// `SourceModel`. With `include` (the request's `include_fields`), only those fields are
/// filled; ids are always present.
pub(crate) fn source_model(s: &Source, status: &str, include: Option<&[String]>) -> Value {
    let wanted = |f: &str| include.is_none_or(|fields| fields.iter().any(|x| x == f));
    let pick = |f: &str, v: Value| if wanted(f) { v } else { Value::Null };
    json!({
        "id": s.id,
        "tenant_id": s.tenant_id,
        "sub_tenant_id": s.sub_tenant_id,
        "title": pick("title", json!(s.title)),
        "type": pick("type", json!(s.source_type)),
        "description": pick("description", json!(s.description)),
        "note": pick("note", json!(s.note)),
        "url": pick("url", json!(s.url)),
        "timestamp": pick("timestamp", json!(s.timestamp.as_deref().unwrap_or(&s.uploaded_at))),
        "content": pick("content", json!({"text": s.text})),
        "tenant_metadata": pick("tenant_metadata", stored(&s.tenant_metadata)),
        "document_metadata": pick("document_metadata", stored(&s.document_metadata)),
        "meta": {
            "filename": s.filename,
            "content_type": s.content_type,
            "size_bytes": s.size_bytes,
            "uploaded_at": s.uploaded_at,
            "status": status,
        },
        "attachments": pick("attachments", json!([])),
        "relations": Value::Null,
    })
}

/// `SourceInfo`: the deduplicated sources of a result list.
pub(crate) fn source_info(s: &Source) -> Value {
    json!({
        "id": s.id,
        "title": s.title,
        "type": s.source_type,
        "description": s.description,
        "url": s.url,
        "timestamp": s.timestamp.as_deref().unwrap_or(&s.uploaded_at),
        "tenant_metadata": stored(&s.tenant_metadata),
        "document_metadata": stored(&s.document_metadata),
    })
}

/// `VectorStoreChunk`. `layout` is the stringified dict the SDK documents (offsets, and the
/// page for PDFs).
pub(crate) fn chunk(hit: &ChunkHit, score: f64) -> Value {
    let mut layout = json!({"offsets": {"document_level_start_index": hit.start}});
    if let Some(page) = hit.page {
        layout["page"] = json!(page);
    }
    json!({
        "chunk_uuid": hit.uuid,
        "source_id": hit.source.id,
        "chunk_content": hit.content,
        "source_type": hit.source.source_type,
        "source_upload_time": hit.source.uploaded_at,
        "source_title": hit.source.title,
        "source_last_updated_time": hit.source.uploaded_at,
        "layout": layout.to_string(),
        "relevancy_score": round(score),
        "document_metadata": stored(&hit.source.document_metadata),
        "tenant_metadata": stored(&hit.source.tenant_metadata),
        "extra_context_ids": null,
    })
}

/// Scores to 6 decimals, so a result list reads the same on every machine.
pub(crate) fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `PaginationMeta`.
pub(crate) fn pagination(page: usize, page_size: usize, total: usize) -> Value {
    let total_pages = total.div_ceil(page_size.max(1));
    json!({
        "page": page,
        "page_size": page_size,
        "total": total,
        "total_pages": total_pages,
        "has_next": page < total_pages,
        "has_previous": page > 1,
    })
}

/// The empty graph every result carries: the emulator builds no knowledge graph (**choice**).
pub(crate) fn empty_graph() -> Value {
    json!({"query_paths": [], "chunk_relations": [], "chunk_id_to_group_ids": {}})
}
