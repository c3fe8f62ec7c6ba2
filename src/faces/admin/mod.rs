//! The emulator's own admin API under `/_emulator/v1/`, one file per resource: one route table
//! ([`ROUTES`]) builds the router and the OpenAPI document, and [`auth::require_admin`] guards
//! every route.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

/// Unwraps a `Result<T, Box<Response>>` or answers with the error response.
macro_rules! guard {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

pub mod activations;
pub mod auth;
pub mod control;
pub mod fold_tokens;
pub mod keys;
pub mod organizations;
pub mod planes;
pub mod tools;
pub mod users;
pub mod wallet;

use activations::{get_activation, list_activations, stream_activations};
use auth::reply;
use keys::{create_key, list_keys, revoke_key};
use organizations::{create_org, list_orgs};
use tools::{list_tools, publish_tool};
use wallet::{grant, ledger, topup, wallet};

use crate::domain::app::App;

/// One admin route: the single table both the router and the OpenAPI document are built from,
/// so the document cannot drift from what is served.
pub struct AdminRoute {
    pub method: &'static str,
    /// Below `/_emulator/v1`.
    pub path: &'static str,
    pub summary: &'static str,
    /// The JSON Schema of the request body, derived from the type the handler deserializes.
    pub body: Option<fn() -> BodySchema>,
    /// Query parameters (name, JSON type).
    pub query: &'static [(&'static str, &'static str)],
    pub ok: u16,
}

/// A request body's schema and the named schemas it refers to (`#/components/schemas/...`).
pub type BodySchema = (serde_json::Value, Vec<(String, serde_json::Value)>);

/// The schema utoipa derives for `T` (from its serde attributes), as JSON.
fn schema_of<T: utoipa::ToSchema>() -> BodySchema {
    let mut named = Vec::new();
    T::schemas(&mut named);
    let named = named
        .into_iter()
        .map(|(name, s)| (name, serde_json::to_value(s).unwrap_or_default()))
        .collect();
    (serde_json::to_value(T::schema()).unwrap_or_default(), named)
}

pub const ROUTES: &[AdminRoute] = &[
    AdminRoute {
        method: "get",
        path: "/faults",
        summary: "Faults in force (PLATFORM.md §8)",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/faults",
        summary: "Inject a fault: a catalogue row and/or latency, scoped by route, tool, organization, times, probability",
        body: Some(schema_of::<crate::config::FaultConfig>),
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "delete",
        path: "/faults",
        summary: "Remove every fault",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "delete",
        path: "/faults/{id}",
        summary: "Remove one fault",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/clock",
        summary: "The emulator's clock",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/clock",
        summary: "Move the test clock: {\"advance\": \"15m\"}, {\"set\": \"2027-01-01T00:00:00Z\"} or {\"real\": true}",
        body: Some(schema_of::<control::ClockRequest>),
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/reset",
        summary: "Return to the state emulator.toml seeds (faults cleared, clock real)",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/export",
        summary: "Write the whole state into a folder, for serve --import",
        body: Some(schema_of::<control::ExportRequest>),
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/catalogue",
        summary: "Every row of the response catalogue",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/tools",
        summary: "Tools with their draft code hash and published versions",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/tools/{id}/publish",
        summary: "Publish the draft as the next version (all test cases must pass)",
        body: Some(schema_of::<tools::PublishRequest>),
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "get",
        path: "/organizations",
        summary: "Organizations and their balances",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations",
        summary: "Create an organization (granted the welcome credits)",
        body: Some(schema_of::<organizations::NewOrg>),
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{slug}/keys",
        summary: "Keys with prefix, uses, expiry and state",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{slug}/keys",
        summary: "Create a key; the key is in this answer only",
        body: Some(schema_of::<keys::NewKey>),
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{slug}/fold-tokens",
        summary: "Fold deploy-plane tokens (role, prefix, expiry; never the token)",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{slug}/fold-tokens",
        summary: "Mint a fold token with a role; the token is in this answer only",
        body: Some(schema_of::<fold_tokens::NewFoldToken>),
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "delete",
        path: "/keys/{id}",
        summary: "Revoke a key, effective on the next request",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{slug}/wallet",
        summary: "Run balance",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{slug}/wallet/topup",
        summary: "Add credits (Wallet Recharge)",
        body: Some(schema_of::<wallet::Credit>),
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{slug}/wallet/grant",
        summary: "Grant credits with a label (default Welcome Credits)",
        body: Some(schema_of::<wallet::Credit>),
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{slug}/wallet/ledger",
        summary: "Ledger entries, newest first",
        body: None,
        query: &[("limit", "integer")],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/activations",
        summary: "Activations, newest first",
        body: None,
        query: &[
            ("tool", "string"),
            ("version", "string"),
            ("status", "string"),
            ("since", "string"),
            ("limit", "integer"),
            ("organization", "string"),
        ],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/activations/stream",
        summary: "Live tail: Server-Sent Events, one `activation` event per recorded run",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/identity/users",
        summary: "Users of the identity plane, all tenants or ?tenant=SLUG, with lock state and failed logins",
        body: None,
        query: &[("tenant", "string")],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/identity/users/{id}/unlock",
        summary: "Forget a user's failed logins and lift its lock",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/identity/users/{id}/suspend",
        summary: "Suspend a user: logins, refreshes and tokens answer account-suspended",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/identity/users/{id}/reactivate",
        summary: "Reactivate a suspended user",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/refusals",
        summary: "Requests the gateway refused before running anything (401, 400, 402, 404, 413), newest first",
        body: None,
        query: &[("tool", "string"), ("limit", "integer")],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/activations/{id}",
        summary: "One activation with event, response, logs and cost",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/activations/{id}/replay",
        summary: "Run an activation's event again (the tool's current draft, or the same version with same_version) and record it as a new activation linked to the original; answers both",
        body: Some(schema_of::<activations::ReplayRequest>),
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/tools/{id}",
        summary: "One tool with its versions, its load problem and its test cases",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/tools/{id}/invoke",
        summary: "Run a tool as its organization exactly as the invoke route would (faults included); answers the client's status and body",
        body: Some(schema_of::<tools::InvokeRequest>),
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/identity/roles",
        summary: "Identity roles of every tenant (system roles too) with their permissions and assignment counts",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/cortex-api/tenants",
        summary: "Cortex API tenants of every organization with sub-tenants, document and memory counts",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/cortex-api/tenants/{id}/documents",
        summary: "A Cortex API tenant's documents and memories, newest first",
        body: None,
        query: &[("limit", "integer")],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/fold/functions",
        summary: "Fold functions of every organization with their current version",
        body: None,
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/fold/activations",
        summary: "The newest fold activations of every organization",
        body: None,
        query: &[("limit", "integer")],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/tools/{id}/test",
        summary: "Run a tool's test cases against its draft (not charged, not recorded)",
        body: None,
        query: &[],
        ok: 200,
    },
];

fn handler_for(method: &str, path: &str) -> axum::routing::MethodRouter<Arc<App>> {
    use axum::routing::{delete, get, post};
    match (method, path) {
        ("get", "/tools") => get(list_tools),
        ("post", "/tools/{id}/publish") => post(publish_tool),
        ("get", "/organizations") => get(list_orgs),
        ("post", "/organizations") => post(create_org),
        ("get", "/organizations/{slug}/keys") => get(list_keys),
        ("post", "/organizations/{slug}/keys") => post(create_key),
        ("get", "/organizations/{slug}/fold-tokens") => get(fold_tokens::list_fold_tokens),
        ("post", "/organizations/{slug}/fold-tokens") => post(fold_tokens::create_fold_token),
        ("delete", "/keys/{id}") => delete(revoke_key),
        ("get", "/organizations/{slug}/wallet") => get(wallet),
        ("post", "/organizations/{slug}/wallet/topup") => post(topup),
        ("post", "/organizations/{slug}/wallet/grant") => post(grant),
        ("get", "/organizations/{slug}/wallet/ledger") => get(ledger),
        ("get", "/activations") => get(list_activations),
        ("get", "/activations/stream") => get(stream_activations),
        ("get", "/activations/{id}") => get(get_activation),
        ("post", "/activations/{id}/replay") => post(activations::replay_activation),
        ("get", "/tools/{id}") => get(tools::get_tool),
        ("post", "/tools/{id}/invoke") => post(tools::invoke_tool),
        ("post", "/tools/{id}/test") => post(tools::test_tool),
        ("get", "/identity/roles") => get(planes::identity_roles),
        ("get", "/cortex-api/tenants") => get(planes::cortex_tenants),
        ("get", "/cortex-api/tenants/{id}/documents") => get(planes::cortex_documents),
        ("get", "/fold/functions") => get(planes::fold_functions),
        ("get", "/fold/activations") => get(planes::fold_activations),
        ("get", "/refusals") => get(activations::list_refusals),
        ("get", "/identity/users") => get(users::list_users),
        ("post", "/identity/users/{id}/unlock") => post(users::unlock_user),
        ("post", "/identity/users/{id}/suspend") => post(users::suspend_user),
        ("post", "/identity/users/{id}/reactivate") => post(users::reactivate_user),
        ("get", "/faults") => get(control::list_faults),
        ("post", "/faults") => post(control::add_fault),
        ("delete", "/faults") => delete(control::clear_faults),
        ("delete", "/faults/{id}") => delete(control::delete_fault),
        ("get", "/clock") => get(control::get_clock),
        ("post", "/clock") => post(control::move_clock),
        ("post", "/reset") => post(control::reset),
        ("post", "/export") => post(control::export),
        ("get", "/catalogue") => get(control::catalogue),
        other => unreachable!("ROUTES lists {other:?} without a handler"),
    }
}

/// The admin routes, from [`ROUTES`].
pub fn router(app: Arc<App>) -> axum::Router<Arc<App>> {
    let mut by_path: std::collections::BTreeMap<&str, axum::routing::MethodRouter<Arc<App>>> =
        Default::default();
    for r in ROUTES {
        let h = handler_for(r.method, r.path);
        let merged = match by_path.remove(r.path) {
            Some(existing) => existing.merge(h),
            None => h,
        };
        by_path.insert(r.path, merged);
    }
    by_path
        .into_iter()
        .fold(axum::Router::new(), |router, (path, h)| {
            router.route(&format!("/_emulator/v1{path}"), h)
        })
        .route_layer(axum::middleware::from_fn_with_state(
            app,
            auth::require_admin,
        ))
}

/// `GET /_emulator/openapi.json`: OpenAPI 3.1, generated from [`ROUTES`].
pub async fn openapi() -> Response {
    let mut paths = serde_json::Map::new();
    let mut components = serde_json::Map::new();
    components.insert(
        "Error".into(),
        json!({"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}),
    );
    for r in ROUTES {
        let mut params: Vec<serde_json::Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(r.query.iter().map(|(name, ty)| json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}})));
        let mut op = json!({
            "operationId": format!("{}{}", r.method, r.path.replace(['/', '{', '}'], "_")),
            "summary": r.summary,
            "parameters": params,
            "security": [{"adminToken": []}],
            "responses": {
                r.ok.to_string(): {"description": "OK", "content": {
                    if r.path.ends_with("/stream") { "text/event-stream" } else { "application/json" }: {"schema": {"type": if r.path.ends_with("/stream") { "string" } else { "object" }}}
                }},
                "400": {"description": "Bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "401": {"description": "Missing or wrong admin token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "404": {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if let Some(schema) = r.body {
            let (body, named) = schema();
            components.extend(named);
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        let entry = paths
            .entry(format!("/_emulator/v1{}", r.path))
            .or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    let doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "cortex-emu admin API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": components,
        },
    });
    reply(StatusCode::OK, doc)
}
