//! Reading and removing what was uploaded: `list/data` (documents or memories, paged and
//! filtered), `fetch/content` (the text, the original bytes, or a presigned link),
//! `knowledge/delete_knowledge` and `list/graph_relations_by_id`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::access;
use super::envelope::ApiError;
use super::indexing;
use super::ingestion::file_not_found;
use super::input;
use super::links;
use super::metadata::stored;
use super::text::extract::Format;
use super::views;
use crate::domain::app::App;
use crate::store::cortex_api::{Kind, Source};

type Answer = Result<Json<Value>, ApiError>;

#[derive(Deserialize, Default)]
struct Filters {
    #[serde(default)]
    tenant_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    document_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    source_fields: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct ListData {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    source_ids: Option<Vec<String>>,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    page_size: Option<i64>,
    #[serde(default)]
    filters: Option<Filters>,
    #[serde(default)]
    include_fields: Option<Vec<String>>,
}

/// `POST /list/data`: `kind` `knowledge` (default) answers a `SourceListResponse`, `memories` a
/// `ListUserMemoriesResponse`.
pub(crate) async fn list(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: ListData = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(&app, &tenant, req.sub_tenant_id.as_deref()).await?;
    let kind = match req.kind.as_deref() {
        None | Some("knowledge") => Kind::Knowledge,
        Some("memories") => Kind::Memory,
        Some(other) => {
            return Err(ApiError::params(format!(
                "kind must be knowledge or memories, not '{other}'"
            )))
        }
    };
    let page = req.page.unwrap_or(1);
    let page_size = req.page_size.unwrap_or(50);
    if page < 1 {
        return Err(ApiError::params("page starts at 1"));
    }
    if !(1..=100).contains(&page_size) {
        return Err(ApiError::params("page_size must be between 1 and 100"));
    }
    if req.source_ids.as_ref().is_some_and(|ids| ids.len() > 100) {
        return Err(ApiError::params("source_ids takes at most 100 ids"));
    }
    let all = app.store.cortex_sources(&tenant.id, &sub, kind).await?;
    let filters = req.filters.unwrap_or_default();
    let matching: Vec<&Source> = all
        .iter()
        .filter(|s| {
            req.source_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&s.id))
        })
        .filter(|s| filters.accept(s))
        .collect();
    let total = matching.len();
    let (page, page_size) = (page as usize, page_size as usize);
    let shown = matching.iter().skip((page - 1) * page_size).take(page_size);
    let pagination = views::pagination(page, page_size, total);
    Ok(Json(match kind {
        Kind::Knowledge => json!({
            "success": true,
            "message": format!("Found {total} sources"),
            "sources": shown
                .map(|s| views::source_model(s, indexing::status(&app, s), req.include_fields.as_deref()))
                .collect::<Vec<_>>(),
            "total": total,
            "pagination": pagination,
        }),
        Kind::Memory => json!({
            "success": true,
            "user_memories": shown
                .map(|s| json!({"memory_id": s.id, "memory_content": s.text}))
                .collect::<Vec<_>>(),
            "total": total,
            "pagination": pagination,
        }),
    }))
}

impl Filters {
    /// Every given pair must match (AND), as the `ContentFilter` model documents.
    fn accept(&self, s: &Source) -> bool {
        let all_in = |want: &Option<Map<String, Value>>, have: &Value| {
            want.as_ref()
                .is_none_or(|w| w.iter().all(|(k, v)| have.get(k) == Some(v)))
        };
        let fields = json!({
            "title": s.title, "type": s.source_type, "description": s.description,
            "url": s.url, "timestamp": s.timestamp,
        });
        all_in(&self.tenant_metadata, &stored(&s.tenant_metadata))
            && all_in(&self.document_metadata, &stored(&s.document_metadata))
            && all_in(&self.source_fields, &fields)
    }
}

#[derive(Deserialize)]
struct FetchContent {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    source_id: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    expiry_seconds: Option<i64>,
}

/// `POST /fetch/content`: `mode` `content` (default), `url` or `both`. Text formats come back
/// in `content`; binary ones (PDF) in `content_base64`.
pub(crate) async fn fetch(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    body: Bytes,
) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: FetchContent = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(&app, &tenant, req.sub_tenant_id.as_deref()).await?;
    let (with_content, with_url) = match req.mode.as_deref().unwrap_or("content") {
        "content" => (true, false),
        "url" => (false, true),
        "both" => (true, true),
        other => {
            return Err(ApiError::params(format!(
                "mode must be content, url or both, not '{other}'"
            )))
        }
    };
    let source = one_source(&app, &tenant.id, &sub, &req.source_id).await?;
    let binary = Format::detect("", source.content_type.as_deref()).is_some_and(Format::is_binary);
    let (mut content, mut content_base64) = (Value::Null, Value::Null);
    if with_content {
        let original = app
            .store
            .cortex_original(&tenant.id, &sub, &source.id)
            .await?;
        match (binary, original) {
            (true, Some(bytes)) => {
                content_base64 = json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            (_, Some(bytes)) => content = json!(String::from_utf8_lossy(&bytes)),
            (_, None) => content = json!(source.text),
        }
    }
    let presigned = if with_url {
        let expiry = req.expiry_seconds.unwrap_or(3600);
        if !(1..=7 * 24 * 3600).contains(&expiry) {
            return Err(ApiError::params(
                "expiry_seconds must be between 1 and 604800",
            ));
        }
        let link = links::sign(&app, &tenant.id, &sub, &source.id, expiry);
        json!(format!(
            "{}{link}",
            crate::planes::base_url(&headers, &original, "/fetch/content")
        ))
    } else {
        Value::Null
    };
    Ok(Json(json!({
        "success": true,
        "source_id": source.id,
        "content": content,
        "content_base64": content_base64,
        "presigned_url": presigned,
        "content_type": source.content_type.as_deref().unwrap_or("text/plain"),
        "size_bytes": source.size_bytes,
        "message": "Content fetched",
        "error": null,
    })))
}

/// `GET /fetch/file/{token}`: a presigned link's bytes, no key needed until it expires.
pub(crate) async fn presigned(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let Some(target) = links::verify(&app, &token) else {
        return ApiError::with("A-file-missing", "File link is invalid or has expired")
            .into_response();
    };
    let found = app
        .store
        .cortex_sources_by_id(
            &target.tenant,
            Some(&target.sub),
            vec![target.source.clone()],
        )
        .await;
    let original = app
        .store
        .cortex_original(&target.tenant, &target.sub, &target.source)
        .await;
    match (found, original) {
        (Ok(found), Ok(original)) => match found.into_iter().next() {
            Some(s) => {
                let bytes = original.unwrap_or_else(|| s.text.clone().into_bytes());
                let content_type = s.content_type.unwrap_or_else(|| "text/plain".into());
                ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
            }
            None => file_not_found(&target.source).into_response(),
        },
        (Err(e), _) | (_, Err(e)) => ApiError::from(e).into_response(),
    }
}

async fn one_source(app: &App, tenant: &str, sub: &str, id: &str) -> Result<Source, ApiError> {
    app.store
        .cortex_sources_by_id(tenant, Some(sub), vec![id.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| file_not_found(id))
}

#[derive(Deserialize)]
struct DeleteKnowledge {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    ids: Vec<String>,
}

/// `POST /knowledge/delete_knowledge`: per-id results; `FILE_NOT_FOUND` when none existed.
pub(crate) async fn delete(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: DeleteKnowledge = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(&app, &tenant, req.sub_tenant_id.as_deref()).await?;
    if req.ids.is_empty() {
        return Err(ApiError::params("ids must name at least one source"));
    }
    let outcome = app
        .store
        .cortex_delete_sources(&tenant.id, &sub, Kind::Knowledge, req.ids.clone())
        .await?;
    let deleted = outcome.iter().filter(|(_, d)| *d).count();
    if deleted == 0 {
        return Err(match req.ids.as_slice() {
            [one] => file_not_found(one),
            _ => ApiError::with("A-file-missing", "None of the files were found"),
        });
    }
    let results: Vec<Value> = outcome
        .iter()
        .map(|(id, d)| {
            json!({"id": id, "deleted": d, "error": if *d { Value::Null } else { json!("not found") }})
        })
        .collect();
    Ok(Json(json!({
        "success": true,
        "message": format!("Deleted {deleted} of {} sources", req.ids.len()),
        "results": results,
        "deleted_count": deleted,
    })))
}

/// `GET /list/graph_relations_by_id`: the emulator builds no knowledge graph, so a known source
/// has no relations (**choice**); an unknown one is `FILE_NOT_FOUND` (`MEMORY_NOT_FOUND` with
/// `is_memory=true`).
pub(crate) async fn graph_relations(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    uri: Uri,
) -> Answer {
    let (params, tenant) = access::by_query(&app, &headers, &uri).await?;
    let sub = access::sub_for_read(&app, &tenant, params.get("sub_tenant_id")).await?;
    let source_id = params.require("source_id")?;
    let is_memory = params.flag("is_memory")?.unwrap_or(false);
    let found = app
        .store
        .cortex_sources_by_id(&tenant.id, Some(&sub), vec![source_id.to_string()])
        .await?;
    if found.is_empty() {
        return Err(if is_memory {
            super::memories::memory_not_found(source_id)
        } else {
            file_not_found(source_id)
        });
    }
    Ok(Json(json!({
        "relations": [],
        "success": true,
        "message": "No relations: the emulator builds no knowledge graph",
    })))
}
