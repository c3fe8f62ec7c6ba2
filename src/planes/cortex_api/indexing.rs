//! Turning a document or a memory into what the store keeps: its tenant metadata checked
//! against the schema, its text cut into chunks with stable ids (`<source_id>_<n>`), each chunk
//! embedded locally, and the instant it becomes searchable.
//!
//! Processing is synchronous; what a client sees move is the status, read from the emulator's
//! clock: `queued` for the first half of `[planes.cortex_api] processing_delay_ms`, then
//! `processing`, then `completed` (**choice**: no background task, so moving the test clock
//! finishes processing at once and nothing is left half-done on a crash).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::envelope::ApiError;
use super::metadata::Schema;
use super::text::{chunk, embed};
use crate::domain::app::App;
use crate::store::cortex_api::{Kind, NewChunk, NewSource, Source, Tenant};

/// A document or memory as the request gave it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Document {
    pub id: String,
    pub kind: Kind,
    pub title: Option<String>,
    pub source_type: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub timestamp: Option<String>,
    pub note: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub original: Option<Vec<u8>>,
    pub text: String,
    /// Byte offsets in `text` where each page starts (PDFs).
    pub pages: Vec<usize>,
    pub tenant_metadata: Map<String, Value>,
    pub document_metadata: Map<String, Value>,
}

/// The stored form of `doc` in `tenant`/`sub`; `VALIDATION_ERROR` when its tenant metadata
/// does not fit the schema.
pub(crate) fn prepare(
    app: &App,
    tenant: &Tenant,
    sub: &str,
    doc: Document,
) -> Result<NewSource, ApiError> {
    Schema::from_json(&tenant.metadata_schema)
        .check(&doc.tenant_metadata)
        .map_err(ApiError::validation)?;
    let settings = &app.config.planes.cortex_api;
    let now = app.clock.now();
    let ready = now + chrono::Duration::milliseconds(settings.processing_delay_ms as i64);
    let pieces = chunk::chunk(&doc.text, &doc.pages, settings.chunk_chars);
    let chunks = pieces
        .into_iter()
        .map(|c| NewChunk {
            uuid: format!("{}_{}", doc.id, c.index),
            index: c.index,
            start: c.start,
            page: c.page,
            embedding: embed::to_blob(&embed::embed(&c.content)),
            content: c.content,
        })
        .collect();
    Ok(NewSource {
        tenant_id: tenant.id.clone(),
        sub_tenant_id: sub.to_string(),
        id: doc.id,
        kind: doc.kind,
        title: doc.title,
        source_type: doc.source_type,
        description: doc.description,
        url: doc.url,
        timestamp: doc.timestamp,
        note: doc.note,
        filename: doc.filename,
        content_type: doc.content_type,
        original: doc.original,
        text: doc.text,
        tenant_metadata: Value::Object(doc.tenant_metadata).to_string(),
        document_metadata: Value::Object(doc.document_metadata).to_string(),
        uploaded_at: stamp(now),
        ready_at: stamp(ready),
        chunks,
    })
}

pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The documented processing state of a source at the emulator's `now`.
pub(crate) fn status(app: &App, source: &Source) -> &'static str {
    let now = app.clock.rfc3339();
    if now >= source.ready_at {
        return "completed";
    }
    let half = halfway(&source.uploaded_at, &source.ready_at);
    if half.is_some_and(|h| now >= h) {
        "processing"
    } else {
        "queued"
    }
}

fn halfway(from: &str, to: &str) -> Option<String> {
    let a = DateTime::parse_from_rfc3339(from).ok()?;
    let b = DateTime::parse_from_rfc3339(to).ok()?;
    Some(stamp((a + (b - a) / 2).with_timezone(&Utc)))
}

/// A new source id when the client gives none.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
