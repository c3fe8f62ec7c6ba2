//! The Cortex API plane (the `cortex-api` profile): tenants and sub-tenants, document upload
//! with text extraction and chunking, full-text and hybrid recall, extractive QnA, user
//! memories and raw embeddings, with the `{"detail": {...}}` errors of the catalogue's A rows.
//!
//! Routes are the ones the official Python SDK (`usecortex-ai` 0.5.x) calls, relative to its
//! `base_url`: `http://127.0.0.1:8787/cortex-api` on the main port, or the root of
//! `[planes.cortex_api] port`. Tenants belong to the emulator organization whose key created
//! them.
//!
//! Map: `envelope` (the error body), `input` (queries, bodies, ids), `access` (the caller, its
//! tenants and sub-tenants), `metadata` (the tenant schema), `indexing` (document → chunks →
//! embeddings, processing status), `text` (extraction, chunking, embedding, answers, filter
//! expressions: pure functions), `views` (the SDK's models), `links` (presigned URLs), and one
//! module per resource: `tenants`, `ingestion`, `knowledge`, `recall`, `memories`,
//! `embeddings`, `keys`. Storage is `crate::store::cortex_api`; the inject-only rows come from
//! the global fault middleware.

mod access;
mod embeddings;
mod envelope;
mod indexing;
mod ingestion;
mod input;
mod keys;
mod knowledge;
mod links;
mod memories;
mod metadata;
mod recall;
mod tenants;
pub(crate) mod text;
mod views;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::domain::app::App;

/// Every route of the plane, relative to its base URL.
pub(crate) fn router(app: &App) -> Router<Arc<App>> {
    // Room for a few files at the upload limit in one request; each file is checked on its own.
    let upload_mb = app.config.planes.cortex_api.max_upload_mb as usize;
    let body_limit = (upload_mb * 4 + 1) * 1024 * 1024;
    Router::new()
        .route("/tenants/create", post(tenants::create))
        .route("/tenants/delete", delete(tenants::delete))
        .route("/tenants/infra/status", get(tenants::infra_status))
        .route("/tenants/monitor", get(tenants::monitor))
        .route("/tenants/sub_tenant_ids", get(tenants::sub_tenant_ids))
        .route("/tenants/sub_tenant", delete(tenants::delete_sub_tenant))
        .route("/ingestion/upload_knowledge", post(ingestion::upload))
        .route("/ingestion/verify_processing", post(ingestion::verify))
        .route("/list/data", post(knowledge::list))
        .route(
            "/list/graph_relations_by_id",
            get(knowledge::graph_relations),
        )
        .route("/fetch/content", post(knowledge::fetch))
        .route("/fetch/file/{token}", get(knowledge::presigned))
        .route("/knowledge/delete_knowledge", post(knowledge::delete))
        .route("/recall/full_recall", post(recall::full_recall))
        .route("/recall/boolean_recall", post(recall::boolean_recall))
        .route("/recall/qna", post(recall::qna))
        .route(
            "/recall/recall_preferences",
            post(recall::recall_preferences),
        )
        .route("/memories/add_memory", post(memories::add))
        .route("/memories/delete_memory", delete(memories::delete))
        .route(
            "/embeddings/insert_raw_embeddings",
            post(embeddings::insert),
        )
        .route(
            "/embeddings/search_raw_embeddings",
            post(embeddings::search),
        )
        .route(
            "/embeddings/filter_raw_embeddings",
            post(embeddings::filter_route),
        )
        .route(
            "/embeddings/delete_raw_embeddings",
            delete(embeddings::delete),
        )
        .route("/api-keys/create_api_key", post(keys::create))
        .fallback(envelope::not_found)
        .method_not_allowed_fallback(envelope::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
}
