//! Functions: `POST /deploy` (every deploy a new version), `POST /rollback`, `GET /functions`,
//! `GET /functions/{id}`, `DELETE /functions/{id}`, and the dispatch route's lookups.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::access::{self, Action};
use super::code;
use super::envelope::FoldError;
use crate::domain::app::App;
use crate::store::fold::{FoldFunction, FoldToken};

/// Largest module accepted (the docs' limit).
pub(crate) const MAX_CODE_BYTES: usize = 5 * 1024 * 1024;

#[derive(Deserialize)]
struct Intent {
    #[serde(default)]
    bindings: Vec<String>,
}

#[derive(Deserialize)]
struct DeployBody {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    intent: Option<Intent>,
}

/// Lowercase letters, digits and hyphens, 1-63 characters, starting with a letter or digit.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, FoldError> {
    serde_json::from_slice(body)
        .map_err(|e| FoldError::field("body", format!("not a JSON object: {e}")))
}

/// `POST /deploy` `{"name", "code", "intent": {"bindings": ["TYPE:name"]}}`.
pub(crate) async fn deploy(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    body: Bytes,
) -> Result<Response, FoldError> {
    let token = access::caller(&app, &headers, Action::Deploy).await?;
    let req: DeployBody = json_body(&body)?;
    let name = match req.name {
        Some(Value::String(n)) if valid_name(&n) => n,
        Some(Value::String(n)) => {
            return Err(FoldError::field(
                "name",
                format!("{n:?} must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit"),
            ))
        }
        Some(_) => return Err(FoldError::field("name", "must be a string")),
        None => return Err(FoldError::field("name", "is required")),
    };
    let code = match req.code {
        Some(Value::String(c)) if !c.trim().is_empty() => c,
        Some(Value::String(_)) | None => return Err(FoldError::field("code", "is required")),
        Some(_) => return Err(FoldError::field("code", "must be a string")),
    };
    if code.len() > MAX_CODE_BYTES {
        return Err(FoldError::field(
            "code",
            format!(
                "is {} bytes; the limit is 5 MB ({MAX_CODE_BYTES} bytes)",
                code.len()
            ),
        ));
    }
    let bindings = req.intent.map(|i| i.bindings).unwrap_or_default();
    super::bindings::check(&app, &token.org_id, &bindings).await?;
    code::check(&code).map_err(|d| FoldError::details("F-code", d))?;
    let hash = format!("{:x}", Sha256::digest(code.as_bytes()));
    let deployed = app
        .store
        .fold_deploy(&token.org_id, &name, code, bindings, hash)
        .await?;
    let status = if deployed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let f = &deployed.function;
    let body = json!({
        "function_id": f.id,
        "url": function_url(&app, &headers, f),
        "version": f.version,
        "status": "deployed",
        "activations_url": format!("{}/activations?function_id={}", crate::planes::base_url(&headers, &original, "/deploy"), f.id),
        "deployed_at": f.updated_at,
    });
    Ok((status, Json(body)).into_response())
}

/// Where a function is dispatched by host: `http://{organization}.localhost:{port}/{name}`.
fn function_url(app: &App, headers: &HeaderMap, f: &FoldFunction) -> String {
    let org = app.store.org(&f.org_id).map(|o| o.slug).unwrap_or_default();
    let port = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| app.config.server.port.to_string());
    format!("http://{org}.localhost:{port}/{}", f.name)
}

fn function_json(app: &App, headers: &HeaderMap, f: &FoldFunction) -> Value {
    json!({
        "function_id": f.id,
        "name": f.name,
        "version": f.version,
        "url": function_url(app, headers, f),
        "created_at": f.created_at,
        "updated_at": f.updated_at,
    })
}

/// `GET /functions`: the caller organization's functions, by name.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let functions = app.store.fold_functions(&token.org_id).await?;
    let items: Vec<Value> = functions
        .iter()
        .map(|f| function_json(&app, &headers, f))
        .collect();
    Ok(Json(json!({"functions": items})))
}

/// The caller's function `id`; another organization's is `FUNCTION_NOT_FOUND` too.
async fn owned(app: &App, token: &FoldToken, id: &str) -> Result<FoldFunction, FoldError> {
    app.store
        .fold_function(id)
        .await?
        .filter(|f| f.org_id == token.org_id)
        .ok_or_else(|| FoldError::details("F-function", json!({"function_id": id})))
}

/// `GET /functions/{id}`: the function and every version, newest first.
pub(crate) async fn read(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let f = owned(&app, &token, &id).await?;
    let versions = app.store.fold_versions(&f.id).await?;
    let mut v = function_json(&app, &headers, &f);
    v["versions"] = json!(versions);
    Ok(Json(v))
}

/// `DELETE /functions/{id}`: the function and its versions.
pub(crate) async fn delete(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Deploy).await?;
    let f = owned(&app, &token, &id).await?;
    app.store.fold_delete_function(&f.id).await?;
    Ok(Json(json!({"function_id": f.id, "deleted": true})))
}

/// `GET /functions/{id}/code?version=N`: a version's module source (the one in force when no
/// version is named), so a developer can see exactly what runs.
pub(crate) async fn source(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let f = owned(&app, &token, &id).await?;
    let version = match uri
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "version"))
    {
        Some((_, v)) => v
            .parse::<i64>()
            .map_err(|_| FoldError::field("version", format!("{v:?} is not a version number")))?,
        None => f.version,
    };
    let v = app
        .store
        .fold_version(&f.id, version)
        .await?
        .ok_or_else(|| {
            FoldError::details(
                "F-version",
                json!({"function_id": f.id, "version": version}),
            )
        })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/javascript; charset=utf-8",
        )],
        v.code,
    )
        .into_response())
}

#[derive(Deserialize)]
struct RollbackBody {
    #[serde(default)]
    function_id: Option<String>,
    #[serde(default)]
    version: Option<i64>,
}

/// `POST /rollback` `{"function_id", "version"}`: that version is in force again.
pub(crate) async fn rollback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Deploy).await?;
    let req: RollbackBody = json_body(&body)?;
    let id = req
        .function_id
        .ok_or_else(|| FoldError::field("function_id", "is required"))?;
    let version = req
        .version
        .ok_or_else(|| FoldError::field("version", "is required"))?;
    let f = owned(&app, &token, &id).await?;
    if app.store.fold_version(&f.id, version).await?.is_none() {
        return Err(FoldError::details(
            "F-version",
            json!({"function_id": f.id, "version": version}),
        ));
    }
    app.store.fold_set_version(&f.id, version).await?;
    Ok(Json(json!({
        "function_id": f.id,
        "version": version,
        "status": "rolled_back",
        "rolled_back_at": app.clock.rfc3339(),
    })))
}
