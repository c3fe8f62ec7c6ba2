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
