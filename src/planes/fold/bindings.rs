//! Bindings: `GET /bindings`, `POST /bindings` and `DELETE /bindings/{TYPE:name}`, and the
//! deploy-time check that every binding a function names exists and is allowed.
//!
//! A binding exists when `emulator.toml` defines it (`[fold] bindings`, allowed per
//! organization by `allowed_bindings`) or when an admin of the organization defined it through
//! the API (**choice**: such a binding belongs to that organization, defined and allowed for it
//! alone, like the docs' per-workspace bindings). Its data lives in a file per organization and
//! binding, which removing the definition keeps: defining it again brings the data back.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::{self, Action};
use super::envelope::FoldError;
use crate::config::valid_binding;
use crate::domain::app::App;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefineBody {
    #[serde(default)]
    binding: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// The organization's `allowed_bindings` in `emulator.toml`.
fn allowed_in_config(app: &App, org_id: &str) -> Vec<String> {
    let slug = app.store.org(org_id).map(|o| o.slug).unwrap_or_default();
    app.config
        .organizations
        .iter()
        .find(|o| o.slug == slug)
        .map(|o| o.allowed_bindings.clone())
        .unwrap_or_default()
}

/// Each binding must exist and be allowed for the organization.
pub(crate) async fn check(app: &App, org_id: &str, bindings: &[String]) -> Result<(), FoldError> {
    if bindings.is_empty() {
        return Ok(());
    }
    let own: Vec<String> = app
        .store
        .fold_bindings(org_id)
        .await?
        .into_iter()
        .map(|b| b.binding)
        .collect();
    let allowed = allowed_in_config(app, org_id);
    for b in bindings {
        if !valid_binding(b) {
            return Err(FoldError::field(
                "intent.bindings",
                format!("{b:?} is not TYPE:name (key-value:<name> or database:<name>)"),
            ));
        }
        if own.contains(b) {
            continue;
        }
        if !app.config.fold.bindings.contains(b) {
            return Err(FoldError::details(
                "F-binding-missing",
                json!({"binding": b}),
            ));
        }
        if !allowed.contains(b) {
            let org = app.store.org(org_id).map(|o| o.slug).unwrap_or_default();
            return Err(FoldError::details(
                "F-binding-denied",
                json!({"binding": b, "organization": org}),
            ));
        }
    }
    Ok(())
}

fn entry(binding: &str, source: &str, allowed: bool, created_at: Option<&str>) -> Value {
    let (kind, name) = binding.split_once(':').unwrap_or((binding, ""));
    json!({
        "binding": binding,
        "type": kind,
        "name": name,
        "source": source,
        "allowed": allowed,
        "created_at": created_at,
    })
}

/// `GET /bindings`: every binding the caller's organization can see, `emulator.toml`'s first
/// (with whether the organization may use each), then its own, by name.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let own = app.store.fold_bindings(&token.org_id).await?;
    let allowed = allowed_in_config(&app, &token.org_id);
    let mut items: Vec<Value> = app
        .config
        .fold
        .bindings
        .iter()
        .filter(|b| !own.iter().any(|o| &o.binding == *b))
        .map(|b| entry(b, "emulator.toml", allowed.contains(b), None))
        .collect();
    items.extend(
        own.iter()
            .map(|o| entry(&o.binding, "api", true, Some(&o.created_at))),
    );
    Ok(Json(json!({ "bindings": items })))
}

/// `POST /bindings` `{"type": "key-value", "name": "user-store"}` (or `{"binding":
/// "key-value:user-store"}`), admin role: 201 with the binding, 200 when it was already defined.
pub(crate) async fn define(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FoldError> {
    let token = access::caller(&app, &headers, Action::Bindings).await?;
    let req: DefineBody = serde_json::from_slice(&body)
        .map_err(|e| FoldError::field("body", format!("not a JSON object: {e}")))?;
    let binding = match (req.binding, req.kind, req.name) {
        (Some(b), None, None) => b,
        (None, Some(kind), Some(name)) => format!("{kind}:{name}"),
        (None, None, None) => {
            return Err(FoldError::field(
                "type",
                "is required, with name: {\"type\": \"key-value\", \"name\": \"user-store\"}",
            ))
        }
        (None, Some(_), None) => return Err(FoldError::field("name", "is required")),
        (None, None, Some(_)) => return Err(FoldError::field("type", "is required")),
        (Some(_), _, _) => {
            return Err(FoldError::field(
                "binding",
                "give either binding (\"TYPE:name\") or type and name, not both",
            ))
        }
    };
    if !valid_binding(&binding) {
        return Err(FoldError::field(
            "binding",
            format!("{binding:?} is not TYPE:name: the type is key-value or database, the name 1-63 lowercase letters, digits or hyphens, starting with a letter or digit"),
        ));
    }
    let created = app
        .store
        .fold_define_binding(&token.org_id, &binding)
        .await?;
    Ok(match created {
        Some(b) => (
            StatusCode::CREATED,
            Json(entry(&b.binding, "api", true, Some(&b.created_at))),
        )
            .into_response(),
        None => {
            let own = app.store.fold_bindings(&token.org_id).await?;
            let at = own
                .iter()
                .find(|o| o.binding == binding)
                .map(|o| o.created_at.clone());
            Json(entry(&binding, "api", true, at.as_deref())).into_response()
        }
    })
}

/// `DELETE /bindings/{TYPE:name}`, admin role: removes the organization's own definition.
/// Functions already deployed with it keep their versions; a new deploy naming it is refused.
pub(crate) async fn remove(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(binding): Path<String>,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Bindings).await?;
    if app
        .store
        .fold_remove_binding(&token.org_id, &binding)
        .await?
    {
        return Ok(Json(json!({"binding": binding, "deleted": true})));
    }
    if app.config.fold.bindings.contains(&binding) {
        return Err(FoldError::field(
            "binding",
            format!("{binding:?} is defined in emulator.toml ([fold] bindings): remove it there"),
        ));
    }
    Err(FoldError::details(
        "F-binding-missing",
        json!({"binding": binding}),
    ))
}
