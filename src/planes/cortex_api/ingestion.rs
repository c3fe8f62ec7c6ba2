//! `ingestion/upload_knowledge` (multipart: `files`, `file_metadata`, `app_sources`,
//! `tenant_id`, `sub_tenant_id`, `upsert`) and `ingestion/verify_processing`.
//!
//! An upload is all or nothing: every file is checked (format, size, metadata) before any is
//! stored, so a refused request leaves nothing half-indexed.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, Uri};
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Value};

use super::access;
use super::envelope::ApiError;
use super::indexing::{self, Document};
use super::input;
use super::metadata;
use super::text::extract::{self, Format};
use crate::domain::app::App;
use crate::store::cortex_api::{Inserted, Kind};

type Answer = Result<Json<Value>, ApiError>;

/// One file part of the form.
struct FilePart {
    filename: String,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// The form of an upload, read whole.
#[derive(Default)]
struct Form {
    fields: Vec<(String, String)>,
    files: Vec<FilePart>,
}

impl Form {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// `POST /ingestion/upload_knowledge`.
pub(crate) async fn upload(State(app): State<Arc<App>>, req: Request) -> Answer {
    let key = access::caller(&app, req.headers())?;
    let limit = app.config.planes.cortex_api.max_upload_mb * 1024 * 1024;
    let form = read_form(req, limit as usize).await?;
    let tenant_id = form
        .get("tenant_id")
        .ok_or_else(|| ApiError::params("tenant_id is required"))?;
    let tenant = access::tenant(&app, &key, tenant_id).await?;
    let sub = access::sub_for_write(form.get("sub_tenant_id"))?;
    let upsert = form
        .get("upsert")
        .map(|v| input::parse_bool("upsert", v))
        .transpose()?
        .unwrap_or(false);

    let mut documents = files_to_documents(&form)?;
    if let Some(sources) = form.get("app_sources") {
        documents.extend(app_sources(sources)?);
    }
    if documents.is_empty() {
        return Err(ApiError::params("send at least one file or app_sources"));
    }
    let mut prepared = Vec::with_capacity(documents.len());
    for doc in documents {
        prepared.push(indexing::prepare(&app, &tenant, &sub, doc)?);
    }
    let results: Vec<Value> = prepared
        .iter()
        .map(|s| json!({"source_id": s.id, "filename": s.filename, "status": "queued", "error": null}))
        .collect();
    let ids: Vec<String> = prepared.iter().map(|s| s.id.clone()).collect();
    let outcome = app.store.cortex_insert_sources(prepared, upsert).await?;
    if let Some(i) = outcome.iter().position(|o| *o == Inserted::Exists) {
        return Err(ApiError::with(
            "A409",
            format!(
                "Resource already exists: source '{}'; pass upsert=true to replace it",
                ids[i]
            ),
        ));
    }
    let n = results.len();
    Ok(Json(json!({
        "success": true,
        "message": format!("{n} source{} queued for processing", if n == 1 { "" } else { "s" }),
        "results": results,
        "success_count": n,
        "failed_count": 0,
    })))
}

/// Reads the multipart form, refusing any file over `limit` bytes as `FILE_TOO_LARGE`.
async fn read_form(req: Request, limit: usize) -> Result<Form, ApiError> {
    let is_multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::params("send the upload as multipart/form-data"));
    }
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::params(e.body_text()))?;
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e, limit)),
        };
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > limit {
                        return Err(too_large(filename.as_deref().unwrap_or(&name), limit));
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e, limit)),
            }
        }
        match filename {
            Some(filename) => form.files.push(FilePart {
                filename,
                content_type,
                bytes,
            }),
            None => form
                .fields
                .push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
    Ok(form)
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: usize) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        too_large("the upload", limit)
    } else {
        ApiError::params(format!("multipart body: {}", e.body_text()))
    }
}

fn too_large(what: &str, limit: usize) -> ApiError {
    ApiError::with(
        "A-file-large",
        format!(
            "{what} is larger than the {} MB upload limit ([planes.cortex_api] max_upload_mb)",
            limit / (1024 * 1024)
        ),
    )
}

/// Each file with its `file_metadata` entry (`file_id`, `metadata` = tenant metadata,
/// `additional_metadata` = document metadata).
fn files_to_documents(form: &Form) -> Result<Vec<Document>, ApiError> {
    let metas: Vec<Value> = match form.get("file_metadata") {
        None => Vec::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            Ok(obj @ Value::Object(_)) => vec![obj],
            _ => {
                return Err(ApiError::params(
                    "file_metadata must be a JSON array of objects",
                ))
            }
        },
    };
    if !metas.is_empty() && metas.len() != form.files.len() {
        return Err(ApiError::params(format!(
            "file_metadata has {} entries for {} files; give one per file",
            metas.len(),
            form.files.len()
        )));
    }
    let mut out = Vec::with_capacity(form.files.len());
    for (i, file) in form.files.iter().enumerate() {
        let meta = metas.get(i).cloned().unwrap_or(Value::Null);
        out.push(file_document(file, &meta)?);
    }
    Ok(out)
}

fn file_document(file: &FilePart, meta: &Value) -> Result<Document, ApiError> {
    let format = Format::detect(&file.filename, file.content_type.as_deref()).ok_or_else(|| {
        ApiError::with(
            "A-file-format",
            format!(
                "'{}' is not a supported file format (supported: {})",
                file.filename,
                extract::SUPPORTED
            ),
        )
    })?;
    let extracted = extract::extract(format, &file.bytes)
        .map_err(|why| ApiError::with("A-file-format", format!("'{}': {why}", file.filename)))?;
    let id = match meta.get("file_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => input::source_id(id)?.to_string(),
        _ => indexing::new_id(),
    };
    Ok(Document {
        id,
        kind: Kind::Knowledge,
        title: Some(file.filename.clone()),
        source_type: Some(format.name().into()),
        filename: Some(file.filename.clone()),
        content_type: Some(format.mime().into()),
        original: Some(file.bytes.clone()),
        text: extracted.text,
        pages: extracted.pages,
        tenant_metadata: metadata::object("file_metadata[].metadata", meta.get("metadata"))
            .map_err(ApiError::params)?,
        document_metadata: metadata::object(
            "file_metadata[].additional_metadata",
            meta.get("additional_metadata"),
        )
        .map_err(ApiError::params)?,
        ..Default::default()
    })
}

/// `app_sources`: one source object or an array of them, in the SDK's `SourceModel` shape,
/// with its content as `text`, `markdown`, `html_base64` or `csv_base64`.
fn app_sources(text: &str) -> Result<Vec<Document>, ApiError> {
    let items = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(obj @ Value::Object(_)) => vec![obj],
        _ => {
            return Err(ApiError::params(
                "app_sources must be a JSON object or array",
            ))
        }
    };
    items.iter().map(app_source).collect()
}

fn app_source(v: &Value) -> Result<Document, ApiError> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let content = v.get("content").cloned().unwrap_or(Value::Null);
    let c = |k: &str| content.get(k).and_then(Value::as_str).map(str::to_string);
    let (format, body) = if let Some(t) = c("text") {
        (Format::Text, t.into_bytes())
    } else if let Some(m) = c("markdown") {
        (Format::Markdown, m.into_bytes())
    } else if let Some(h) = c("html_base64") {
        (Format::Html, decode64("content.html_base64", &h)?)
    } else if let Some(csv) = c("csv_base64") {
        (Format::Csv, decode64("content.csv_base64", &csv)?)
    } else {
        return Err(ApiError::params(
            "an app source needs content.text, content.markdown, content.html_base64 or content.csv_base64",
        ));
    };
    let extracted = extract::extract(format, &body).map_err(ApiError::params)?;
    let id = match s("id") {
        Some(id) if !id.is_empty() => input::source_id(&id)?.to_string(),
        _ => indexing::new_id(),
    };
    let meta = |k: &str| metadata::object(k, v.get(k)).map_err(ApiError::params);
    Ok(Document {
        id,
        kind: Kind::Knowledge,
        title: s("title"),
        source_type: s("type").or_else(|| Some("app".into())),
        description: s("description"),
        url: s("url"),
        timestamp: s("timestamp"),
        note: s("note"),
        content_type: Some(format.mime().into()),
        text: extracted.text,
        pages: extracted.pages,
        tenant_metadata: meta("tenant_metadata")?,
        document_metadata: meta("document_metadata")?,
        ..Default::default()
    })
}

fn decode64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| ApiError::params(format!("{field} is not valid base64")))
}

/// `POST /ingestion/verify_processing?file_ids=..&tenant_id=..&sub_tenant_id=..`.
pub(crate) async fn verify(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Answer {
    let (params, tenant) = access::by_query(&app, &headers, &uri).await?;
    let sub = access::sub_for_read(&app, &tenant, params.get("sub_tenant_id")).await?;
    let mut ids = params.all("file_ids");
    ids.extend(params.all("file_id"));
    if ids.is_empty() {
        return Err(ApiError::params("file_ids is required"));
    }
    let found = app
        .store
        .cortex_sources_by_id(&tenant.id, Some(&sub), ids.clone())
        .await?;
    let mut statuses = Vec::with_capacity(ids.len());
    for id in &ids {
        let Some(source) = found.iter().find(|s| &s.id == id) else {
            return Err(file_not_found(id));
        };
        let state = indexing::status(&app, source);
        statuses.push(json!({
            "file_id": id,
            "indexing_status": state,
            "error_code": null,
            "success": true,
            "message": match state {
                "completed" => "Processing completed",
                "processing" => "Processing in progress",
                _ => "Queued for processing",
            },
        }));
    }
    Ok(Json(json!({"statuses": statuses})))
}

pub(crate) fn file_not_found(id: &str) -> ApiError {
    ApiError::with("A-file-missing", format!("File '{id}' not found"))
}
