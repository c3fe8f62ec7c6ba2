//! The official Rust MCP client (`rmcp`) against a sample MCP tool at `/mcp/{tool}` and against
//! the marketplace gateway: initialize, tools/list, tools/call, and errors.

use std::collections::HashMap;

use rmcp::model::{CallToolRequestParams, ContentBlock};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::json;

use crate::common::*;

fn config(url: String, authorization: &str) -> StreamableHttpClientTransportConfig {
    let mut headers = HashMap::new();
    headers.insert(
        axum::http::HeaderName::from_static("authorization"),
        axum::http::HeaderValue::from_str(authorization).unwrap(),
    );
    StreamableHttpClientTransportConfig::with_uri(url).custom_headers(headers)
}

fn text(c: &ContentBlock) -> String {
    serde_json::to_value(c).unwrap()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn args(v: serde_json::Value) -> rmcp::model::JsonObject {
    v.as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_client_talks_to_an_mcp_tool() {
    let emu = tokio::task::spawn_blocking(|| Emu::start_with(&samples(), &config_text("")))
        .await
        .unwrap();
    for tool in ["mcp-python", "mcp-javascript", "mcp-lua"] {
        let client = ()
            .serve(StreamableHttpClientTransport::from_config(config(
                format!("{}/mcp/{tool}", emu.base),
                &format!("Bearer {KEY}"),
            )))
            .await
            .expect("initialize");
        let info = client.peer_info().expect("server info");
        assert_eq!(
            info.server_info.as_ref().map(|i| i.name.as_str()),
            Some("greeter"),
            "{tool}"
        );
        let tools = client.list_all_tools().await.expect("tools/list");
        assert_eq!(
            tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
            ["greet"],
            "{tool}"
        );
        let r = client
            .call_tool(
                CallToolRequestParams::new("greet").with_arguments(args(json!({"name": "Ada"}))),
            )
            .await
            .expect("tools/call");
        assert_eq!(text(&r.content[0]), "Hello, Ada!", "{tool}");
        // M-params comes back as a JSON-RPC error.
        let err = client
            .call_tool(CallToolRequestParams::new("greet").with_arguments(args(json!({"name": 1}))))
            .await
            .expect_err("invalid params");
        assert!(
            err.to_string().contains("-32602") || err.to_string().contains("Invalid params"),
            "{err}"
        );
        client.cancel().await.unwrap();
    }
    tokio::task::spawn_blocking(move || drop(emu))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_client_talks_to_the_marketplace() {
    let emu = tokio::task::spawn_blocking(|| Emu::start_with(&samples(), &config_text("")))
        .await
        .unwrap();
    let client = ()
        .serve(StreamableHttpClientTransport::from_config(config(
            format!("{}/api/v1/marketplace/mcp", emu.base),
            KEY,
        )))
        .await
        .expect("initialize");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(
        tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
        [
            "search_tools",
            "get_tool_schema",
            "invoke_tool",
            "check_balance"
        ]
    );
    let r = client
        .call_tool(
            CallToolRequestParams::new("invoke_tool").with_arguments(args(
                json!({"tool_id": "hello-js", "event": {"name": "Rust"}}),
            )),
        )
        .await
        .expect("invoke_tool");
    let v: serde_json::Value = serde_json::from_str(&text(&r.content[0])).unwrap();
    assert_eq!(v["body"], "{\"message\": \"Hello, Rust!\"}");
    let err = client
        .call_tool(CallToolRequestParams::new("get_tool_schema").with_arguments(args(json!({}))))
        .await
        .expect_err("missing tool_id");
    assert!(err.to_string().contains("tool_id"), "{err}");
    client.cancel().await.unwrap();
    tokio::task::spawn_blocking(move || drop(emu))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_client_sees_m_method_and_m_internal() {
    let dir = tempfile::tempdir().unwrap();
    let samples = samples();
    for t in ["mcp-lua"] {
        let from = samples.join(t);
        let to = dir.path().join(t);
        std::fs::create_dir_all(to.join("tests")).unwrap();
        for f in ["cortexone_function.lua", "tool.toml"] {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
    write_tool(dir.path(), "broken-mcp", "cortexone_function.js", "function cortexone_handler(event, context) {\n  if (event.method === 'initialize') return {jsonrpc: '2.0', id: event.id, result: {protocolVersion: '2025-06-18', capabilities: {tools: {}}, serverInfo: {name: 'b', version: '1'}}};\n  throw new TypeError('boom');\n}\n", "type = \"mcp\"\n");
    let path = dir.path().to_path_buf();
    let emu = tokio::task::spawn_blocking(move || Emu::start_with(&path, &config_text("")))
        .await
        .unwrap();
    // M-method: prompts/list is not implemented by the sample.
    let client = ()
        .serve(StreamableHttpClientTransport::from_config(config(
            format!("{}/mcp/mcp-lua", emu.base),
            &format!("Bearer {KEY}"),
        )))
        .await
        .unwrap();
    let err = client.list_prompts(None).await.expect_err("prompts/list");
    let text = format!("{err:?}");
    assert!(
        text.contains("-32601") || text.contains("METHOD_NOT_FOUND"),
        "{text}"
    );
    assert!(text.contains("Method not found: prompts/list"), "{text}");
    client.cancel().await.unwrap();
    // M-internal: the handler throws.
    let client = ()
        .serve(StreamableHttpClientTransport::from_config(config(
            format!("{}/mcp/broken-mcp", emu.base),
            &format!("Bearer {KEY}"),
        )))
        .await
        .unwrap();
    let err = client
        .list_all_tools()
        .await
        .expect_err("tools/list on a failing handler");
    let text = format!("{err:?}");
    assert!(text.contains("Internal error: boom"), "{text}");
    client.cancel().await.unwrap();
    tokio::task::spawn_blocking(move || drop(emu))
        .await
        .unwrap();
}
