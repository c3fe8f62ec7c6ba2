//! The plane's MCP endpoint, `/mcp` relative to its base (`/fold/mcp` on the main port): the
//! docs' tools over the MCP Streamable HTTP transport (POST for calls, GET for the SSE stream),
//! served by the official Rust SDK (`rmcp`) like the marketplace gateway, for tokens with the
//! `admin` role only.
//!
//! The tools are thin translators onto the plane's own HTTP routes: each call is sent, with the
//! caller's `Authorization` header, through [`super::router`] in process, so every rule,
//! validation and error of the plane applies unchanged. A 2xx answer is the tool's result; any
//! other is a tool error (`isError: true`) whose text is the plane's
//! `{"error", "code", "details", "hint"}` body. What MCP itself refuses (an unknown tool, an
//! argument missing, of the wrong type or unknown, a `limit` out of range) is a JSON-RPC
//! invalid-params error naming the argument. `search_tools` and `get_tool_info` answer from
//! [`crate::domain::directory`], like the marketplace gateway's `search_tools` and
//! `get_tool_schema`. Left out, since they make no sense offline: `deploy_from_description`,
//! `create_tool`, `store_memory`, `search_memory`.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler};
use serde_json::{json, Value};
use tower::ServiceExt as _;

use super::access::{self, Action};
use super::envelope::FoldError;
use crate::domain::app::App;
use crate::domain::directory;

/// The path of the endpoint relative to the plane's base.
const PATH: &str = "/mcp";

/// `get_activation_logs`' `limit` (the docs: default 10, max 100; the route's own default is 50).
const LOG_LIMIT: (u64, u64) = (10, 100);
/// `search_tools`' `limit` (the docs: default 25, max 100).
const SEARCH_LIMIT: (u64, u64) = (25, 100);

const INSTRUCTIONS: &str = "The local emulator (cortex-emu) of the fold deploy plane. Deploy, \
list, roll back and delete your organization's functions, read their activation logs and \
diagnoses, and search the emulator's tool registry. Every function tool calls the plane's own \
HTTP route with your token, so the plane's rules and errors apply unchanged: a refusal comes back \
as a tool error whose text is the plane's {\"error\", \"code\", \"details\", \"hint\"} JSON. \
Deployed functions run at http://{organization}.localhost:{port}/{name}.";

/// The plane's `/mcp` route, merged into [`super::router`]: the admin check first, then the MCP
/// service (every method: POST calls, GET streams, DELETE ends a session).
pub(crate) fn router(app: Arc<App>) -> Router<Arc<App>> {
    Router::new().route_service(
        PATH,
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                app.clone(),
                require_admin,
            ))
            .service(service(app)),
    )
}

/// Refuses requests before they reach the MCP service unless they carry a token with the `admin`
/// role, in the plane's envelope: `AUTH_REQUIRED`, `AUTH_INVALID` (unknown, revoked, expired,
/// not `Bearer`), `FORBIDDEN` (another role).
///
/// A session's `DELETE` is answered 200 rather than rmcp's 202, like the marketplace gateway:
/// the MCP Python SDK treats anything but 200 or 204 as a failed termination.
async fn require_admin(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    // Split, so no borrow of the request (its body is not `Sync`) is held across the check.
    let (parts, body) = req.into_parts();
    let closing = parts.method == Method::DELETE;
    if let Err(e) = access::caller(&app, &parts.headers, Action::Admin).await {
        return e.into_response();
    }
    let mut response = next.run(axum::http::Request::from_parts(parts, body)).await;
    if closing && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

/// The MCP handler of one session.
#[derive(Clone)]
pub(crate) struct Fold {
    app: Arc<App>,
    /// The plane's router the tools call, built on the first call (it cannot be built with this
    /// service: the plane's router contains this endpoint) and shared by every session.
    plane: Arc<OnceLock<Router>>,
}

/// The tower service of the endpoint, without the admin check (see [`router`]).
pub(crate) fn service(app: Arc<App>) -> StreamableHttpService<Fold, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default();
    // Bound to loopback by default; a configured host is accepted too.
    config.allowed_hosts.push(app.config.server.host.clone());
    config.json_response = false;
    // rmcp's default (4 MB) is under the plane's 5 MB module limit: take what the plane's routes
    // take, so an oversized module gets the plane's own VALIDATION_ERROR.
    config.max_request_body_bytes = super::MAX_DISPATCH_BODY;
    let plane = Arc::new(OnceLock::new());
    StreamableHttpService::new(
        move || {
            Ok(Fold {
                app: app.clone(),
                plane: plane.clone(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// What a tool call takes from the HTTP request that carried it.
struct Caller {
    /// `Authorization` (the plane checks it again on every route) and `Host` (the plane's URLs).
    headers: HeaderMap,
    /// The plane's base path as the client reached it (`/fold`, or empty on the plane's own
    /// port), so URLs the plane writes from the request path (`activations_url`) are right.
    prefix: String,
}

fn caller_of(ctx: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
    let parts = ctx
        .extensions
        .get::<axum::http::request::Parts>()
        .ok_or_else(|| {
            ErrorData::invalid_request("Missing or invalid token in the Authorization header", None)
        })?;
    let mut headers = HeaderMap::new();
    for name in [header::AUTHORIZATION, header::HOST] {
        if let Some(v) = parts.headers.get(&name) {
            headers.insert(name, v.clone());
        }
    }
    let inner = parts.uri.path();
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map(|o| o.0.path().to_string())
        .unwrap_or_else(|| inner.to_string());
    let prefix = original.strip_suffix(inner).unwrap_or("").to_string();
    Ok(Caller { headers, prefix })
}

fn schema(v: Value) -> Arc<JsonObject> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

fn text(s: impl Into<String>) -> Vec<ContentBlock> {
    vec![ContentBlock::text(s)]
}

/// A refusal of the plane as a tool error: its JSON body, compact like the plane's.
fn plane_error(e: &FoldError) -> CallToolResult {
    CallToolResult::error(text(e.body().to_string()))
}

/// An MCP invalid-params error naming the argument.
fn invalid(argument: &str, message: String) -> ErrorData {
    ErrorData::invalid_params(
        format!("Invalid params: {message}"),
        Some(json!({"argument": argument})),
    )
}

/// A path segment, percent-encoded (everything but RFC 3986's unreserved characters), so an id
/// with `/`, `?` or `%` stays one segment; the plane's `Path` extractor decodes it.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The arguments of one call, checked against the tool's input schema's property names.
struct Args<'a> {
    map: Option<&'a JsonObject>,
}

impl<'a> Args<'a> {
    /// Refuses an argument the tool's schema does not name (its `additionalProperties: false`).
    fn of(tool: &Tool, given: Option<&'a JsonObject>) -> Result<Args<'a>, ErrorData> {
        let known = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object);
        if let Some(map) = given {
            for k in map.keys() {
                if !known.is_some_and(|p| p.contains_key(k)) {
                    let names: Vec<&str> = known
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let takes = if names.is_empty() {
                        "takes no arguments".to_string()
                    } else {
                        format!("takes {}", names.join(", "))
                    };
                    return Err(invalid(
                        k,
                        format!("{} has no argument {k:?} (it {takes})", tool.name),
                    ));
                }
            }
        }
        Ok(Args { map: given })
    }

    /// An argument; `null` counts as absent.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map?.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<String, ErrorData> {
        match self.get(name) {
            None => Err(invalid(name, format!("{name} is required"))),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(name, format!("{name} must be a string"))),
        }
    }

    /// A required id: a non-empty string (an empty one would name another route).
    fn id(&self, name: &str) -> Result<String, ErrorData> {
        let s = self.string(name)?;
        if s.is_empty() {
            return Err(invalid(name, format!("{name} must not be empty")));
        }
        Ok(s)
    }

    fn optional_string(&self, name: &str) -> Result<Option<String>, ErrorData> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(name, format!("{name} must be a string"))),
        }
    }

    fn integer(&self, name: &str) -> Result<i64, ErrorData> {
        match self.get(name) {
            None => Err(invalid(name, format!("{name} is required"))),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| invalid(name, format!("{name} must be an integer"))),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, ErrorData> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(invalid(name, format!("{name}[{i}] must be a string"))),
                })
                .collect(),
            Some(_) => Err(invalid(name, format!("{name} must be an array of strings"))),
        }
    }

    /// `limit`: `default` when absent; outside `1..=max` it is refused, not clamped
    /// (**choice**: a silently smaller answer would look complete).
    fn limit(&self, (default, max): (u64, u64)) -> Result<u64, ErrorData> {
        match self.get("limit") {
            None => Ok(default),
            Some(v) => match v.as_u64() {
                Some(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(invalid(
                    "limit",
                    format!("limit must be an integer from 1 to {max} (default {default})"),
                )),
            },
        }
    }
}

/// The tools, with their input schemas (whose property names are also the arguments a call may
/// pass).
fn tools() -> Vec<Tool> {
    let function_id = json!({"type": "string", "description": "The function's id (function_id in deploy_function's and list_functions' answers)."});
    vec![
        Tool::new(
            "deploy_function",
            "Deploy a function: a new one, or a new version of the one with that name (the new version is in force at once). Answers function_id, url, version, status, activations_url and deployed_at.",
            schema(json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The function's name: 1-63 lowercase letters, digits or hyphens, starting with a letter or digit."},
                    "code": {"type": "string", "description": "The ES module source, at most 5 MB, with a default export: export default { fetch(request, env) { return new Response('hi'); } };"},
                    "bindings": {"type": "array", "items": {"type": "string"}, "description": "Bindings as TYPE:name (key-value:<name> or database:<name>); each must be defined on the plane and allowed for your organization. Default none."},
                },
                "required": ["name", "code"],
                "additionalProperties": false,
            })),
        )
        .with_annotations(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(false)
                .idempotent(false)
                .open_world(false),
        ),
        Tool::new(
            "list_functions",
            "Your organization's functions, by name, with the version in force and the URL each is dispatched at.",
            schema(json!({"type": "object", "properties": {}, "additionalProperties": false})),
        )
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
        Tool::new(
            "get_activation_logs",
            "A function's recent activations (one per request it served), newest first: status, duration, error message, response status.",
            schema(json!({
                "type": "object",
                "properties": {
                    "function_id": function_id,
                    "status": {"type": "string", "enum": ["success", "error", "timeout"], "description": "Only activations with this outcome."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": LOG_LIMIT.1, "default": LOG_LIMIT.0, "description": "How many activations at most: 1 to 100, default 10."},
                },
                "required": ["function_id"],
                "additionalProperties": false,
            })),
        )
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
        Tool::new(
            "rollback_function",
            "Put an earlier version of a function in force again (later versions are kept).",
            schema(json!({
                "type": "object",
                "properties": {
                    "function_id": function_id,
                    "version": {"type": "integer", "minimum": 1, "description": "The version to put in force (the version numbers deploy_function answered)."},
                },
                "required": ["function_id", "version"],
                "additionalProperties": false,
            })),
        )
        .with_annotations(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(false)
                .idempotent(true)
                .open_world(false),
        ),
        Tool::new(
            "delete_function",
            "Delete a function and every version of it; its URL stops answering.",
            schema(json!({
                "type": "object",
                "properties": {"function_id": function_id},
                "required": ["function_id"],
                "additionalProperties": false,
            })),
        )
        .with_annotations(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(true)
                .idempotent(true)
                .open_world(false),
        ),
        Tool::new(
            "diagnose_error",
            "A function's recent failed activations (errors and timeouts), each with a hint at the likely cause. Pro plan only (PRO_PLAN_REQUIRED on Free).",
            schema(json!({
                "type": "object",
                "properties": {"function_id": function_id},
                "required": ["function_id"],
                "additionalProperties": false,
            })),
        )
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
        Tool::new(
            "search_tools",
            "Search the emulator's tool registry (every organization's public tools and your organization's own) by id, name or description.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to find in a tool's id, name or description (case-insensitive); empty lists every visible tool."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": SEARCH_LIMIT.1, "default": SEARCH_LIMIT.0, "description": "How many tools at most: 1 to 100, default 25."},
                },
                "required": ["query"],
                "additionalProperties": false,
            })),
        )
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
        Tool::new(
            "get_tool_info",
            "A registry tool's description, input schema and an example event taken from its test cases.",
            schema(json!({
                "type": "object",
                "properties": {
                    "tool_id": {"type": "string", "description": "The tool's id, as search_tools answers it."},
                },
                "required": ["tool_id"],
                "additionalProperties": false,
            })),
        )
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
    ]
}

impl Fold {
    fn plane(&self) -> Router {
        self.plane
            .get_or_init(|| super::router(&self.app).with_state(self.app.clone()))
            .clone()
    }

    /// One request to the plane's route `path_and_query` with the caller's headers, its answer
    /// as the tool's result. **choice**: the body is passed through as the plane wrote it
    /// (compact JSON, like the plane's `JSON.stringify`), so a client reads exactly what the
    /// HTTP route answers.
    async fn route(
        &self,
        caller: &Caller,
        method: Method,
        path_and_query: String,
        body: Option<Value>,
    ) -> Result<CallToolResult, ErrorData> {
        let mut headers = caller.headers.clone();
        let body = match body {
            Some(v) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path_and_query.as_str())
            .body(body)
            .map_err(|e| {
                ErrorData::internal_error(format!("could not build {path_and_query}: {e}"), None)
            })?;
        *request.headers_mut() = headers;
        if let Ok(original) = format!("{}{path_and_query}", caller.prefix).parse::<Uri>() {
            request.extensions_mut().insert(OriginalUri(original));
        }
        let response = match self.plane().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| {
                ErrorData::internal_error(format!("could not read the plane's answer: {e}"), None)
            })?;
        let answer = text(String::from_utf8_lossy(&bytes).into_owned());
        Ok(if status.is_success() {
            CallToolResult::success(answer)
        } else {
            CallToolResult::error(answer)
        })
    }

    /// The caller's organization slug for the registry tools, checked like the endpoint.
    async fn org_slug(&self, caller: &Caller) -> Result<String, CallToolResult> {
        match access::caller(&self.app, &caller.headers, Action::Admin).await {
            Ok(t) => Ok(self
                .app
                .store
                .org(&t.org_id)
                .map(|o| o.slug)
                .unwrap_or_default()),
            Err(e) => Err(plane_error(&e)),
        }
    }
}

impl ServerHandler for Fold {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("fold", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = caller_of(&context)?;
        let name = request.name.to_string();
        let tool = tools()
            .into_iter()
            .find(|t| *t.name == *name)
            .ok_or_else(|| {
                ErrorData::invalid_params(format!("Invalid params: no tool {name:?}"), None)
            })?;
        let args = Args::of(&tool, request.arguments.as_ref())?;
        let result = match name.as_str() {
            "deploy_function" => {
                let (function, code) = (args.string("name")?, args.string("code")?);
                let bindings = args.strings("bindings")?;
                let body =
                    json!({"name": function, "code": code, "intent": {"bindings": bindings}});
                self.route(&caller, Method::POST, "/deploy".into(), Some(body))
                    .await?
            }
            "list_functions" => {
                self.route(&caller, Method::GET, "/functions".into(), None)
                    .await?
            }
            "get_activation_logs" => {
                let id = args.id("function_id")?;
                let status = args.optional_string("status")?;
                let limit = args.limit(LOG_LIMIT)?;
                // In a block of its own: the serializer is not `Send`, so it must not live
                // across the await.
                let path = {
                    let mut query = form_urlencoded::Serializer::new(String::new());
                    query.append_pair("function_id", &id);
                    if let Some(s) = &status {
                        query.append_pair("status", s);
                    }
                    query.append_pair("limit", &limit.to_string());
                    format!("/activations?{}", query.finish())
                };
                self.route(&caller, Method::GET, path, None).await?
            }
            "rollback_function" => {
                let (id, version) = (args.id("function_id")?, args.integer("version")?);
                let body = json!({"function_id": id, "version": version});
                self.route(&caller, Method::POST, "/rollback".into(), Some(body))
                    .await?
            }
            "delete_function" => {
                let path = format!("/functions/{}", segment(&args.id("function_id")?));
                self.route(&caller, Method::DELETE, path, None).await?
            }
            "diagnose_error" => {
                let path = format!("/functions/{}/diagnose", segment(&args.id("function_id")?));
                self.route(&caller, Method::POST, path, None).await?
            }
            "search_tools" => {
                let query = args.string("query")?;
                let limit = args.limit(SEARCH_LIMIT)?;
                match self.org_slug(&caller).await {
                    Ok(slug) => CallToolResult::success(text(
                        directory::search(&self.app, &slug, &query, limit as usize).to_string(),
                    )),
                    Err(refused) => refused,
                }
            }
            "get_tool_info" => {
                let id = args.id("tool_id")?;
                match self.org_slug(&caller).await {
                    Ok(slug) => {
                        let t = directory::find(&self.app, &slug, &id)
                            .ok_or_else(|| invalid("tool_id", format!("no tool {id:?}")))?;
                        CallToolResult::success(text(directory::info(&self.app, &t).to_string()))
                    }
                    Err(refused) => refused,
                }
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("Invalid params: no tool {other:?}"),
                    None,
                ))
            }
        };
        Ok(result.into())
    }
}

#[cfg(test)]
mod tests {
    use super::{segment, tools};

    #[test]
    fn an_id_stays_one_path_segment() {
        assert_eq!(segment("fn_abc-1.2~x"), "fn_abc-1.2~x");
        assert_eq!(segment("a/b?c%d e"), "a%2Fb%3Fc%25d%20e");
    }

    #[test]
    fn every_schema_is_closed_and_names_its_required_arguments() {
        for t in tools() {
            let s = &t.input_schema;
            assert_eq!(s["additionalProperties"], false, "{}", t.name);
            let props = s["properties"].as_object().unwrap();
            for (name, p) in props {
                assert!(p["description"].is_string(), "{}.{name}", t.name);
            }
            for r in s
                .get("required")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
            {
                assert!(props.contains_key(r.as_str().unwrap()), "{}", t.name);
            }
        }
    }
}
