//! The marketplace MCP gateway at `POST /api/v1/marketplace/mcp` (PLATFORM.md §6): four tools
//! over the MCP Streamable HTTP transport, served by the official Rust SDK (`rmcp`), with the
//! gateway's raw-key auth. Visible tools: every organization's public tools and the caller's own.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler};
use serde_json::{json, Value};

use crate::catalogue::GatewayError;
use crate::domain::admission::{self, authenticate, Caller, KeyStyle, RunRequest};
use crate::domain::app::App;
use crate::domain::directory;
use crate::domain::versions::resolve;
use crate::faces::reply::reject;
use crate::registry::Tool as EmuTool;
use crate::store::KeyRecord;

#[derive(Clone)]
pub struct Marketplace {
    state: Arc<App>,
}

/// Refuses requests without a valid key before they reach the MCP service (the gateway's 401
/// rows). Like `/mcp/{tool}`, it takes the raw key and `Bearer <key>`, which MCP clients send
/// (**choice**: one rule for both MCP endpoints).
///
/// A session's `DELETE` is answered 200 rather than rmcp's 202: the MCP Python SDK treats
/// anything but 200 or 204 as a failed termination and logs `Session termination failed: 202`
/// on every disconnect.
pub async fn require_key(State(state): State<Arc<App>>, req: Request, next: Next) -> Response {
    let header = crate::faces::gateway::authorization(req.headers());
    let closing = req.method() == axum::http::Method::DELETE;
    match authenticate(&state, header, KeyStyle::RawOrBearer) {
        Ok(_) => {
            let mut response = next.run(req).await;
            if closing && response.status() == axum::http::StatusCode::ACCEPTED {
                *response.status_mut() = axum::http::StatusCode::OK;
            }
            response
        }
        Err(e) => reject(&state.catalogue, e),
    }
}

/// The tower service mounted at `/api/v1/marketplace/mcp`.
pub fn service(state: Arc<App>) -> StreamableHttpService<Marketplace, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default();
    // Bound to loopback by default; a configured host is accepted too.
    config.allowed_hosts.push(state.config.server.host.clone());
    config.json_response = false;
    StreamableHttpService::new(
        move || {
            Ok(Marketplace {
                state: state.clone(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

fn schema(v: Value) -> Arc<rmcp::model::JsonObject> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

fn text_result(v: &Value) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(crate::jsonfmt::to_string(
        v,
        crate::jsonfmt::Style::Python,
    ))])
}

fn arg_str(args: &Option<rmcp::model::JsonObject>, name: &str) -> Option<String> {
    args.as_ref()?.get(name)?.as_str().map(str::to_string)
}

impl Marketplace {
    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<(KeyRecord, String), ErrorData> {
        let key = ctx
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| {
                let header = crate::faces::gateway::authorization(&p.headers);
                authenticate(&self.state, header, KeyStyle::RawOrBearer).ok()
            })
            .ok_or_else(|| {
                ErrorData::invalid_request(
                    "Missing or invalid API key in the Authorization header",
                    None,
                )
            })?;
        let slug = self
            .state
            .store
            .org(&key.org_id)
            .map(|o| o.slug)
            .unwrap_or_default();
        Ok((key, slug))
    }

    fn find(&self, slug: &str, id: &str) -> Result<Arc<EmuTool>, ErrorData> {
        directory::find(&self.state, slug, id).ok_or_else(|| {
            ErrorData::invalid_params(format!("Invalid params: no tool {id:?}"), None)
        })
    }

    fn search(
        &self,
        slug: &str,
        args: &Option<rmcp::model::JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = arg_str(args, "query").unwrap_or_default().to_lowercase();
        let limit = match args.as_ref().and_then(|a| a.get("limit")) {
            None => 10,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=100) => n as usize,
                _ => {
                    return Err(ErrorData::invalid_params(
                        "Invalid params: limit must be an integer from 1 to 100",
                        None,
                    ))
                }
            },
        };
        Ok(text_result(&directory::search(
            &self.state,
            slug,
            &query,
            limit,
        )))
    }

    fn tool_schema(
        &self,
        slug: &str,
        args: &Option<rmcp::model::JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = arg_str(args, "tool_id").ok_or_else(|| {
            ErrorData::invalid_params("Invalid params: tool_id is required", None)
        })?;
        let t = self.find(slug, &id)?;
        if let Some(v) = arg_str(args, "version") {
            resolve(&self.state.store, &t, Some(&v)).ok_or_else(|| {
                ErrorData::invalid_params(
                    format!("Invalid params: {id} has no version {v:?}"),
                    None,
                )
            })?;
        }
        Ok(text_result(&directory::info(&self.state, &t)))
    }

    async fn invoke(
        &self,
        key: &KeyRecord,
        _slug: &str,
        args: &Option<rmcp::model::JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = arg_str(args, "tool_id").ok_or_else(|| {
            ErrorData::invalid_params("Invalid params: tool_id is required", None)
        })?;
        let event = args
            .as_ref()
            .and_then(|a| a.get("event"))
            .cloned()
            .unwrap_or_else(|| json!({}));
        let state = &self.state;
        let version = arg_str(args, "version");
        let mut request = RunRequest::new(Caller::Key(key.clone()), id.clone(), event);
        request.version = version.clone();
        let done = match admission::run(state, request).await {
            Ok(done) => done,
            Err(GatewayError::UnknownFunction) => {
                return Err(ErrorData::invalid_params(
                    format!("Invalid params: no tool {id:?}"),
                    None,
                ))
            }
            Err(GatewayError::UnknownVersion) => {
                return Err(ErrorData::invalid_params(
                    format!(
                        "Invalid params: {id} has no version {:?}",
                        version.unwrap_or_default()
                    ),
                    None,
                ))
            }
            Err(e) => {
                return Err(ErrorData::internal_error(
                    state.catalogue.body(e),
                    Some(json!({"statusCode": e.status().as_u16()})),
                ))
            }
        };
        let envelope: Value = serde_json::from_str(&done.text).unwrap_or(Value::Null);
        let text = crate::jsonfmt::to_string(
            &json!({"statusCode": envelope["statusCode"], "body": envelope["body"], "activation_id": done.activation_id}),
            crate::jsonfmt::Style::Python,
        );
        // A handler that answered an error status is a tool error, not a protocol error.
        Ok(if done.result.status_code >= 400 {
            CallToolResult::error(vec![ContentBlock::text(text)])
        } else {
            CallToolResult::success(vec![ContentBlock::text(text)])
        })
    }
}

impl ServerHandler for Marketplace {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("cortex-emu marketplace", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = vec![
            Tool::new(
                "search_tools",
                "Search the marketplace: public tools of every organization and your organization's private tools.",
                schema(json!({"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 100}}})),
            ),
            Tool::new(
                "get_tool_schema",
                "A tool's input schema and an example event taken from its test cases.",
                schema(json!({"type": "object", "properties": {"tool_id": {"type": "string"}, "version": {"type": "string"}}, "required": ["tool_id"]})),
            ),
            Tool::new(
                "invoke_tool",
                "Run a tool with an event; billed per run like the invoke route.",
                schema(json!({"type": "object", "properties": {"tool_id": {"type": "string"}, "version": {"type": "string"}, "event": {"type": "object"}}, "required": ["tool_id", "event"]})),
            ),
            Tool::new("check_balance", "Your organization's run balance.", schema(json!({"type": "object", "properties": {}}))),
        ];
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let (key, slug) = self.caller(&context)?;
        let args = request.arguments.clone();
        let result = match request.name.as_ref() {
            "search_tools" => self.search(&slug, &args)?,
            "get_tool_schema" => self.tool_schema(&slug, &args)?,
            "invoke_tool" => self.invoke(&key, &slug, &args).await?,
            "check_balance" => text_result(&json!({
                "organization": slug,
                "balance": crate::store::format_micros(self.state.store.balance_micros(&key.org_id)),
            })),
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
