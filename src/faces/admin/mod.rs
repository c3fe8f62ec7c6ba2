//! The emulator's own admin API under `/_emulator/v1/`: one route table ([`ROUTES`]) builds
//! the router and the OpenAPI document; [`auth::require_admin`] guards every route.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

pub mod auth;
pub mod control;

use auth::{body, reply, JsonBody};

use crate::domain::app::App;
use crate::domain::publishing::{publish, Bump, PublishError};
use crate::registry::Visibility;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub bump: Bump,
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// `POST /_emulator/v1/tools/{id}/publish` `{"bump": "patch"|"minor"|"major", "visibility"?}`.
pub async fn publish_tool(
    State(state): State<Arc<App>>,
    Path(id): Path<String>,
    body: Result<Json<PublishRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.body_text()})),
    };
    let Some(tool) = state.registry.get(&id) else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no tool with id {id:?}")}),
        );
    };
    match publish(&state, &tool, req.bump, req.visibility).await {
        Ok(p) => {
            crate::domain::terminal::reload_line(&format!(
                "published {}@{} ({} test cases passed)",
                p.tool, p.version, p.cases_passed
            ));
            reply(
                StatusCode::CREATED,
                serde_json::to_value(p).expect("serializable"),
            )
        }
        Err(PublishError::Failing(failed)) => {
            let failures: Vec<_> = failed
                .iter()
                .map(|o| json!({"case": o.case, "diff": o.diff}))
                .collect();
            reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": format!("publishing refused: {} test case(s) fail", failures.len()), "failures": failures}),
            )
        }
        Err(e @ (PublishError::NoTestCases | PublishError::BadTestCase(_))) => reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": e.to_string(), "failures": []}),
        ),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
    }
}

/// `GET /_emulator/v1/tools`: every tool with its draft hash and published versions.
pub async fn list_tools(State(state): State<Arc<App>>) -> Response {
    let tools: Vec<_> = state
        .registry
        .list()
        .iter()
        .map(|t| {
            let versions: Vec<_> = state
                .store
                .published(&t.id)
                .iter()
                .map(|v| json!({"version": v.version, "code_hash": v.bundle.hash, "visibility": v.visibility, "created_at": v.created_at}))
                .collect();
            json!({
                "id": t.id, "name": t.name, "runtime": t.runtime.id(), "type": t.kind, "organization": t.organization,
                "visibility": t.visibility, "draft_code_hash": t.bundle.hash, "versions": versions,
            })
        })
        .collect();
    let problems = state.registry.problems();
    reply(
        StatusCode::OK,
        json!({"tools": tools, "problems": problems}),
    )
}

/// The JSON view of an activation; `full` adds the event, response and logs.
pub fn activation_json(state: &App, a: &crate::store::Activation, full: bool) -> serde_json::Value {
    let mut v = json!({
        "id": a.id,
        "organization": state.store.org(&a.org_id).map(|o| o.slug).unwrap_or_default(),
        "tool": a.tool_id,
        "version": a.version,
        "code_hash": a.code_hash,
        "runtime": a.runtime,
        "status": a.status,
        "statusCode": a.status_code,
        "duration_ms": (a.duration_ms * 1000.0).round() / 1000.0,
        "cost": crate::store::format_micros(a.cost_micros),
        "started_at": a.started_at,
        "finished_at": a.finished_at,
        "injected": a.injected,
    });
    if full {
        let parse = |s: &str| {
            serde_json::from_str::<serde_json::Value>(s)
                .unwrap_or(serde_json::Value::String(s.to_string()))
        };
        v["event"] = parse(&a.event);
        v["response"] = parse(&a.response);
        v["logs"] = json!(a.logs);
        v["error"] = json!(a.error);
    }
    v
}

fn org_or_404(state: &App, slug: &str) -> Result<crate::store::Organization, Box<Response>> {
    state.store.org_by_slug(slug).ok_or_else(|| {
        Box::new(reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no organization {slug:?}")}),
        ))
    })
}

fn store_error(e: crate::store::StoreError) -> Response {
    match e {
        crate::store::StoreError::Invalid(m) => reply(StatusCode::BAD_REQUEST, json!({"error": m})),
        // The store's own failure, not the client's: 500, with the cause in the server's log.
        other => {
            tracing::error!("admin API: {other}");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": format!("internal error: {other}")}),
            )
        }
    }
}

macro_rules! guard {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

/// `GET /_emulator/v1/organizations`
pub async fn list_orgs(State(state): State<Arc<App>>) -> Response {
    let orgs: Vec<_> = state
        .store
        .organizations()
        .into_iter()
        .map(|o| json!({"id": o.id, "slug": o.slug, "name": o.name, "balance": crate::store::format_micros(state.store.balance_micros(&o.id))}))
        .collect();
    reply(StatusCode::OK, json!({"organizations": orgs}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    slug: String,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /_emulator/v1/organizations` `{"slug", "name"?}`: granted the welcome credits.
pub async fn create_org(State(state): State<Arc<App>>, b: JsonBody<NewOrg>) -> Response {
    let req = guard!(body(b));
    if !crate::config::valid_slug(&req.slug) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "slug: use lowercase letters, digits and hyphens, 1-63 characters"}),
        );
    }
    if state.store.org_by_slug(&req.slug).is_some() {
        return reply(
            StatusCode::CONFLICT,
            json!({"error": format!("organization {:?} already exists", req.slug)}),
        );
    }
    let welcome = crate::store::to_micros(state.config.billing.welcome_credits);
    match state
        .store
        .create_org(&req.slug, req.name.as_deref().unwrap_or(&req.slug), welcome)
        .await
    {
        Ok(o) => reply(
            StatusCode::CREATED,
            json!({"id": o.id, "slug": o.slug, "name": o.name, "balance": crate::store::format_micros(welcome)}),
        ),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/organizations/{slug}/keys`
pub async fn list_keys(State(state): State<Arc<App>>, Path(slug): Path<String>) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    match state.store.list_keys(Some(org.id)).await {
        Ok(keys) => reply(StatusCode::OK, json!({"keys": keys})),
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    #[serde(default)]
    expires: Option<String>,
}

/// `POST /_emulator/v1/organizations/{slug}/keys` `{"name", "expires"?}`: the key is in this
/// answer only; the store keeps its hash.
pub async fn create_key(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    b: JsonBody<NewKey>,
) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    let req = guard!(body(b));
    if req.name.trim().is_empty() {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "name must not be empty"}),
        );
    }
    match state
        .store
        .create_key(&org.id, req.name.trim(), req.expires.as_deref())
        .await
    {
        Ok((info, key)) => {
            let mut v = serde_json::to_value(info).expect("serializable");
            v["key"] = json!(key);
            reply(StatusCode::CREATED, v)
        }
        Err(e) => store_error(e),
    }
}

/// `DELETE /_emulator/v1/keys/{id}`: revoked at once.
pub async fn revoke_key(State(state): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let known = state
        .store
        .list_keys(None)
        .await
        .map(|ks| ks.into_iter().any(|k| k.id == id))
        .unwrap_or(false);
    if !known {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no key {id:?}")}),
        );
    }
    match state.store.revoke_key(&id).await {
        Ok(_) => reply(StatusCode::OK, json!({"id": id, "revoked": true})),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/organizations/{slug}/wallet`
pub async fn wallet(State(state): State<Arc<App>>, Path(slug): Path<String>) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    reply(
        StatusCode::OK,
        json!({"organization": org.slug, "balance": crate::store::format_micros(state.store.balance_micros(&org.id))}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    amount: serde_json::Value,
    #[serde(default)]
    label: Option<String>,
}

async fn credit(
    state: Arc<App>,
    slug: String,
    b: JsonBody<Credit>,
    default_label: &str,
) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    let req = guard!(body(b));
    let text = match &req.amount {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let micros = match crate::money::parse_credit(&text) {
        Ok(m) => m,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    };
    let label = req.label.unwrap_or_else(|| default_label.to_string());
    match state.store.credit(&org.id, micros, &label).await {
        Ok(balance) => reply(
            StatusCode::OK,
            json!({"organization": org.slug, "credited": crate::money::format_micros(micros), "label": label, "balance": crate::money::format_micros(balance)}),
        ),
        Err(e) => store_error(e),
    }
}

/// `POST /_emulator/v1/organizations/{slug}/wallet/topup` `{"amount"}` (label `Wallet Recharge`).
pub async fn topup(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    b: JsonBody<Credit>,
) -> Response {
    credit(state, slug, b, "Wallet Recharge").await
}

/// `POST /_emulator/v1/organizations/{slug}/wallet/grant` `{"amount", "label"?}` (default
/// `Welcome Credits`).
pub async fn grant(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    b: JsonBody<Credit>,
) -> Response {
    credit(state, slug, b, "Welcome Credits").await
}

#[derive(Deserialize, Default)]
pub struct LimitQuery {
    limit: Option<u32>,
}

/// `GET /_emulator/v1/organizations/{slug}/wallet/ledger?limit=`
pub async fn ledger(
    State(state): State<Arc<App>>,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<LimitQuery>,
) -> Response {
    let org = guard!(org_or_404(&state, &slug));
    match state
        .store
        .ledger(&org.id, q.limit.unwrap_or(100).min(10_000))
        .await
    {
        Ok(entries) => reply(
            StatusCode::OK,
            json!({"organization": org.slug, "entries": entries}),
        ),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/activations?tool=&version=&status=&since=&limit=&organization=`
pub async fn list_activations(
    State(state): State<Arc<App>>,
    q: Result<
        axum::extract::Query<crate::store::admin::ActivationFilter>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let filter = match q {
        Ok(axum::extract::Query(f)) => f,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.body_text()})),
    };
    match state.store.activations(filter).await {
        Ok(list) => {
            let items: Vec<_> = list
                .iter()
                .map(|a| activation_json(&state, a, false))
                .collect();
            reply(StatusCode::OK, json!({"activations": items}))
        }
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/activations/{id}`: with event, response, logs and cost.
pub async fn get_activation(State(state): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match state.store.activation(id.clone()).await {
        Ok(Some(a)) => reply(StatusCode::OK, activation_json(&state, &a, true)),
        Ok(None) => reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no activation {id:?}")}),
        ),
        Err(e) => store_error(e),
    }
}

/// `GET /_emulator/v1/activations/stream`: Server-Sent Events, one `activation` event per run as
/// it is recorded.
pub async fn stream_activations(State(state): State<Arc<App>>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    let rx = state.activity.subscribe();
    let stream = futures_util::stream::unfold((rx, state), |(mut rx, state)| async move {
        loop {
            match rx.recv().await {
                Ok(a) => {
                    let data = activation_json(&state, &a, false).to_string();
                    let event = Event::default()
                        .event("activation")
                        .id(a.id.clone())
                        .data(data);
                    return Some((Ok::<_, std::convert::Infallible>(event), (rx, state)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // A first comment makes the headers go out at once, so a client knows it is subscribed.
    let hello = futures_util::stream::once(async {
        Ok(Event::default().comment("cortex-emu activations"))
    });
    use futures_util::StreamExt;
    Sse::new(hello.chain(stream))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// One admin route: the single table both the router and the OpenAPI document are built from,
/// so the document cannot drift from what is served.
pub struct AdminRoute {
    pub method: &'static str,
    /// Below `/_emulator/v1`.
    pub path: &'static str,
    pub summary: &'static str,
    /// Top-level request body fields (name, JSON type, required).
    pub body: &'static [(&'static str, &'static str, bool)],
    /// Query parameters (name, JSON type).
    pub query: &'static [(&'static str, &'static str)],
    pub ok: u16,
}

pub const ROUTES: &[AdminRoute] = &[
    AdminRoute {
        method: "get",
        path: "/faults",
        summary: "Faults in force (PLATFORM.md §8)",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/faults",
        summary: "Inject a fault: a catalogue row and/or latency, scoped by route, tool, organization, times, probability",
        body: &[
            ("response", "string", false),
            ("route", "string", false),
            ("tool", "string", false),
            ("organization", "string", false),
            ("times", "integer", false),
            ("probability", "number", false),
            ("latency_ms", "integer", false),
        ],
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "delete",
        path: "/faults",
        summary: "Remove every fault",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "delete",
        path: "/faults/{id}",
        summary: "Remove one fault",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/clock",
        summary: "The emulator's clock",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/clock",
        summary: "Move the test clock: {\"advance\": \"15m\"}, {\"set\": \"2027-01-01T00:00:00Z\"} or {\"real\": true}",
        body: &[("advance", "string", false), ("set", "string", false), ("real", "boolean", false)],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/reset",
        summary: "Return to the state emulator.toml seeds (faults cleared, clock real)",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/export",
        summary: "Write the whole state into a folder, for serve --import",
        body: &[("dir", "string", true)],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/catalogue",
        summary: "Every row of the response catalogue",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/tools",
        summary: "Tools with their draft code hash and published versions",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/tools/{id}/publish",
        summary: "Publish the draft as the next version (all test cases must pass)",
        body: &[("bump", "string", true), ("visibility", "string", false)],
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "get",
        path: "/organizations",
        summary: "Organizations and their balances",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations",
        summary: "Create an organization (granted the welcome credits)",
        body: &[("slug", "string", true), ("name", "string", false)],
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{slug}/keys",
        summary: "Keys with prefix, uses, expiry and state",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{slug}/keys",
        summary: "Create a key; the key is in this answer only",
        body: &[("name", "string", true), ("expires", "string", false)],
        query: &[],
        ok: 201,
    },
    AdminRoute {
        method: "delete",
        path: "/keys/{id}",
        summary: "Revoke a key, effective on the next request",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{slug}/wallet",
        summary: "Run balance",
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{slug}/wallet/topup",
        summary: "Add credits (Wallet Recharge)",
        body: &[("amount", "string", true)],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "post",
        path: "/organizations/{slug}/wallet/grant",
        summary: "Grant credits with a label (default Welcome Credits)",
        body: &[("amount", "string", true), ("label", "string", false)],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/organizations/{slug}/wallet/ledger",
        summary: "Ledger entries, newest first",
        body: &[],
        query: &[("limit", "integer")],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/activations",
        summary: "Activations, newest first",
        body: &[],
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
        body: &[],
        query: &[],
        ok: 200,
    },
    AdminRoute {
        method: "get",
        path: "/activations/{id}",
        summary: "One activation with event, response, logs and cost",
        body: &[],
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
        ("delete", "/keys/{id}") => delete(revoke_key),
        ("get", "/organizations/{slug}/wallet") => get(wallet),
        ("post", "/organizations/{slug}/wallet/topup") => post(topup),
        ("post", "/organizations/{slug}/wallet/grant") => post(grant),
        ("get", "/organizations/{slug}/wallet/ledger") => get(ledger),
        ("get", "/activations") => get(list_activations),
        ("get", "/activations/stream") => get(stream_activations),
        ("get", "/activations/{id}") => get(get_activation),
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
        if !r.body.is_empty() {
            let props: serde_json::Map<String, serde_json::Value> = r
                .body
                .iter()
                .map(|(n, t, _)| (n.to_string(), json!({"type": t})))
                .collect();
            let required: Vec<&str> = r
                .body
                .iter()
                .filter(|(_, _, req)| *req)
                .map(|(n, _, _)| *n)
                .collect();
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": props, "required": required}}}});
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
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}},
        },
    });
    reply(StatusCode::OK, doc)
}
