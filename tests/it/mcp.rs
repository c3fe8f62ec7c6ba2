//! MCP tools at `/mcp/{tool}` (Streamable HTTP, JSON responses) and every M* row of
//! RESPONSES.md; MCP tools through the invoke route answer like any tool.

use crate::common::*;
use serde_json::{json, Value};

struct Rpc {
    status: u16,
    session: Option<String>,
    body: Value,
}

fn rpc(emu: &Emu, tool: &str, body: &str, session: Option<&str>) -> Rpc {
    let mut req = client()
        .post(format!("{}/mcp/{tool}", emu.base))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(s) = session {
        req = req.header("Mcp-Session-Id", s);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let session = resp
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().unwrap();
    Rpc {
        status,
        session,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn samples_emu() -> Emu {
    Emu::start_with(&samples(), &config_text(""))
}

#[test]
fn a_session_initializes_lists_and_calls_in_every_runtime() {
    let emu = samples_emu();
    for tool in ["mcp-python", "mcp-javascript", "mcp-lua"] {
        let init = rpc(
            &emu,
            tool,
            r#"{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}"#,
            None,
        );
        assert_eq!(init.status, 200, "{tool}: {}", init.body);
        let sid = init.session.expect("Mcp-Session-Id on initialize");
        assert_eq!(
            init.body["result"]["serverInfo"]["name"], "greeter",
            "{tool}"
        );
        let note = rpc(
            &emu,
            tool,
            r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#,
            Some(&sid),
        );
        assert_eq!(note.status, 202);
        let list = rpc(
            &emu,
            tool,
            r#"{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}"#,
            Some(&sid),
        );
        assert_eq!(list.body["result"]["tools"][0]["name"], "greet", "{tool}");
        let call = rpc(
            &emu,
            tool,
            r#"{"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": {"name": "greet", "arguments": {"name": "Ada"}}}"#,
            Some(&sid),
        );
        assert_eq!(
            call.body,
            json!({"jsonrpc": "2.0", "id": "c", "result": {"content": [{"type": "text", "text": "Hello, Ada!"}], "isError": false}}),
            "{tool}"
        );
    }
}

/// RESPONSES.md row M-parse.
#[test]
fn m_parse_error() {
    let emu = samples_emu();
    let r = rpc(&emu, "mcp-python", "{not json", None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}})
    );
}

/// RESPONSES.md row M-invalid.
#[test]
fn m_invalid_request() {
    let emu = samples_emu();
    for body in [
        r#"{"jsonrpc": "1.0", "id": 7, "method": "tools/list"}"#,
        r#"{"id": 7, "method": "tools/list"}"#,
    ] {
        let r = rpc(&emu, "mcp-lua", body, None);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body,
            json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32600, "message": "Invalid request"}})
        );
    }
}

/// RESPONSES.md row M-method.
#[test]
fn m_method_not_found() {
    let emu = samples_emu();
    let r = rpc(
        &emu,
        "mcp-javascript",
        r#"{"jsonrpc": "2.0", "id": 3, "method": "prompts/list"}"#,
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "Method not found: prompts/list"}})
    );
}

/// RESPONSES.md row M-params.
#[test]
fn m_invalid_params() {
    let emu = samples_emu();
    let r = rpc(
        &emu,
        "mcp-python",
        r#"{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "greet", "arguments": {}}}"#,
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -32602, "message": "Invalid params"}})
    );
}

/// RESPONSES.md row M-internal.
#[test]
fn m_internal_error_when_the_handler_fails() {
    let dir = tempfile::tempdir().unwrap();
    write_tool(
        dir.path(),
        "broken-mcp",
        "cortexone_function.py",
        "def cortexone_handler(event, context):\n    return 1 / 0\n",
        "type = \"mcp\"\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let r = rpc(
        &emu,
        "broken-mcp",
        r#"{"jsonrpc": "2.0", "id": 5, "method": "tools/list"}"#,
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"jsonrpc": "2.0", "id": 5, "error": {"code": -32603, "message": "Internal error: Runtime error: division by zero"}})
    );
}

#[test]
fn sessions_transport_and_access() {
    let emu = samples_emu();
    let r = rpc(
        &emu,
        "mcp-python",
        r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#,
        Some("not-a-session"),
    );
    assert_eq!(r.status, 404);
    // Without a key: 401, as on POST. With a key but no session: 405 with a JSON-RPC body.
    let get = client()
        .get(format!("{}/mcp/mcp-python", emu.base))
        .send()
        .unwrap();
    assert_eq!(get.status().as_u16(), 401);
    let get = client()
        .get(format!("{}/mcp/mcp-python", emu.base))
        .header("Authorization", KEY)
        .send()
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(get.headers()["allow"], "GET, POST, DELETE");
    assert_eq!(
        get.text().unwrap(),
        r#"{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Method not allowed: GET opens the event stream of a session; send Mcp-Session-Id from initialize"}}"#
    );
    let init = rpc(
        &emu,
        "mcp-lua",
        r#"{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}"#,
        None,
    );
    let sid = init.session.unwrap();
    let del = client()
        .delete(format!("{}/mcp/mcp-lua", emu.base))
        .header("Authorization", KEY)
        .header("Mcp-Session-Id", &sid)
        .send()
        .unwrap();
    assert_eq!(del.status().as_u16(), 200);
    assert_eq!(
        rpc(
            &emu,
            "mcp-lua",
            r#"{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}"#,
            Some(&sid)
        )
        .status,
        404
    );
    // A function tool is not an MCP server; unknown keys are refused like on the gateway.
    assert_eq!(
        rpc(
            &emu,
            "hello-python",
            r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#,
            None
        )
        .status,
        404
    );
    let anon = client()
        .post(format!("{}/mcp/mcp-lua", emu.base))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(anon.status().as_u16(), 401);
}

#[test]
fn mcp_tools_answer_like_any_tool_on_the_invoke_route() {
    let emu = samples_emu();
    let r = emu.invoke(
        "mcp-lua",
        r#"{"jsonrpc": "2.0", "id": 9, "method": "prompts/list"}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        r#"{"statusCode": 200, "body": "{\"error\": {\"code\": -32601, \"message\": \"Method not found: prompts/list\"}, \"id\": 9, \"jsonrpc\": \"2.0\"}"}"#
    );
}

fn mcp_tool_source(tools: &[&str]) -> String {
    let list: Vec<String> = tools
        .iter()
        .map(|t| format!("{{\"name\": \"{t}\", \"inputSchema\": {{\"type\": \"object\"}}}}"))
        .collect();
    format!(
        "def cortexone_handler(event, context):\n    if event.get('method') == 'initialize':\n        return {{'jsonrpc': '2.0', 'id': event.get('id'), 'result': {{'protocolVersion': '2025-06-18', 'capabilities': {{'tools': {{'listChanged': True}}}}, 'serverInfo': {{'name': 'live', 'version': '1'}}}}}}\n    return {{'jsonrpc': '2.0', 'id': event.get('id'), 'result': {{'tools': [{}]}}}}\n",
        list.join(", ")
    )
}

#[test]
fn hot_reload_keeps_the_session_and_announces_a_changed_tool_list() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    write_tool(
        dir.path(),
        "live",
        "cortexone_function.py",
        &mcp_tool_source(&["one"]),
        "type = \"mcp\"\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let init = rpc(
        &emu,
        "live",
        r#"{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}"#,
        None,
    );
    let sid = init.session.unwrap();
    let list = rpc(
        &emu,
        "live",
        r#"{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}"#,
        Some(&sid),
    );
    assert_eq!(list.body["result"]["tools"].as_array().unwrap().len(), 1);

    let stream = client()
        .get(format!("{}/mcp/live", emu.base))
        .header("Authorization", KEY)
        .header("Mcp-Session-Id", &sid)
        .header("Accept", "text/event-stream")
        .send()
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(data) = line.strip_prefix("data:") {
                let _ = tx.send(data.trim().to_string());
            }
        }
    });
    // A save that adds a tool: the open stream hears about it.
    write_tool(
        dir.path(),
        "live",
        "cortexone_function.py",
        &mcp_tool_source(&["one", "two"]),
        "",
    );
    let note = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("list_changed notification");
    assert_eq!(
        serde_json::from_str::<Value>(&note).unwrap(),
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
    // The session survived the reload.
    let list = rpc(
        &emu,
        "live",
        r#"{"jsonrpc": "2.0", "id": 3, "method": "tools/list"}"#,
        Some(&sid),
    );
    assert_eq!(list.status, 200);
    assert_eq!(list.body["result"]["tools"].as_array().unwrap().len(), 2);
}
