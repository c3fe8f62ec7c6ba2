//! The marketplace MCP gateway (`/api/v1/marketplace/mcp`, rmcp's Streamable HTTP server):
//! initialize, tools/list, the four tools, auth, and a balance drained through `invoke_tool`.

use crate::common::*;
use serde_json::{json, Value};

/// One JSON-RPC exchange; the answer may come as JSON or as an SSE stream.
fn call(emu: &Emu, key: &str, session: Option<&str>, body: Value) -> (u16, Option<String>, Value) {
    let mut req = client()
        .post(format!("{}/api/v1/marketplace/mcp", emu.base))
        .header("Authorization", key)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(s) = session {
        req = req
            .header("Mcp-Session-Id", s)
            .header("Mcp-Protocol-Version", "2025-06-18");
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let sid = resp
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().unwrap();
    let value = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .next_back()
        .or_else(|| serde_json::from_str(&text).ok())
        .unwrap_or(Value::String(text));
    (status, sid, value)
}

fn session(emu: &Emu, key: &str) -> String {
    let (status, sid, init) = call(
        emu,
        key,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}),
    );
    assert_eq!(status, 200, "{init}");
    assert_eq!(
        init["result"]["serverInfo"]["name"],
        "cortex-emu marketplace"
    );
    let sid = sid.expect("session id");
    let (status, _, _) = call(
        emu,
        key,
        Some(&sid),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(status, 202);
    sid
}

fn tool(emu: &Emu, key: &str, sid: &str, name: &str, args: Value) -> Value {
    let (_, _, v) = call(
        emu,
        key,
        Some(sid),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": args}}),
    );
    v
}

fn text_of(v: &Value) -> Value {
    serde_json::from_str(v["result"]["content"][0]["text"].as_str().unwrap_or("null")).unwrap()
}

#[test]
fn lists_searches_describes_invokes_and_checks_balance() {
    let emu = Emu::start_with(&samples(), &config_text(""));
    let sid = session(&emu, KEY);
    let (_, _, list) = call(
        &emu,
        KEY,
        Some(&sid),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    let names: Vec<_> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "search_tools",
            "get_tool_schema",
            "invoke_tool",
            "check_balance"
        ]
    );

    let found = text_of(&tool(
        &emu,
        KEY,
        &sid,
        "search_tools",
        json!({"query": "hello", "limit": 10}),
    ));
    let ids: Vec<_> = found["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&"hello-python".to_string()) && ids.contains(&"hello-lua".to_string()),
        "{found}"
    );

    let described = text_of(&tool(
        &emu,
        KEY,
        &sid,
        "get_tool_schema",
        json!({"tool_id": "hello-python"}),
    ));
    assert_eq!(described["example"], json!({"event": {"name": "Ada"}}));
    assert_eq!(
        described["input_schema"],
        json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})
    );

    let ran = text_of(&tool(
        &emu,
        KEY,
        &sid,
        "invoke_tool",
        json!({"tool_id": "hello-lua", "event": {"name": "Mcp"}}),
    ));
    assert_eq!(ran["statusCode"], 200);
    assert_eq!(ran["body"], "{\"message\": \"Hello, Mcp!\"}");
    assert_eq!(ran["activation_id"].as_str().unwrap().len(), 36);

    let balance = text_of(&tool(&emu, KEY, &sid, "check_balance", json!({})));
    assert_eq!(balance["organization"], "acme");

    // Errors: bad params and unknown tools are JSON-RPC errors with HTTP 200.
    let bad = tool(&emu, KEY, &sid, "search_tools", json!({"limit": 0}));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let unknown = tool(
        &emu,
        KEY,
        &sid,
        "invoke_tool",
        json!({"tool_id": "nope", "event": {}}),
    );
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
}

#[test]
fn private_tools_of_other_organizations_are_invisible() {
    let emu = Emu::start_with(&samples(), &config_text(""));
    let sid = session(&emu, OTHER_KEY);
    let found = text_of(&tool(
        &emu,
        OTHER_KEY,
        &sid,
        "search_tools",
        json!({"query": ""}),
    ));
    let ids: Vec<_> = found["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        ["hello-python"],
        "only the public sample is visible to another organization"
    );
}

#[test]
fn auth_is_the_raw_key_or_bearer_as_on_every_mcp_endpoint() {
    let emu = Emu::start_with(&samples(), &config_text(""));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
    let (status, _, body) = call(&emu, "RIV_unknown", None, init.clone());
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"statusCode": 401, "body": "{\"error\": \"Missing or invalid API key in the Authorization header\"}"})
    );
    // MCP clients send `Bearer <key>`; `/mcp/{tool}` takes it, and so does the marketplace.
    let sid = session(&emu, &format!("Bearer {KEY}"));
    let balance = text_of(&tool(
        &emu,
        &format!("Bearer {KEY}"),
        &sid,
        "check_balance",
        json!({}),
    ));
    assert_eq!(balance["organization"], "acme", "{balance}");
}

#[test]
fn closing_a_session_answers_200_as_the_sdks_expect() {
    let emu = Emu::start_with(&samples(), &config_text(""));
    let sid = session(&emu, KEY);
    let resp = client()
        .delete(format!("{}/api/v1/marketplace/mcp", emu.base))
        .header("Authorization", KEY)
        .header("Mcp-Session-Id", &sid)
        .header("Mcp-Protocol-Version", "2025-06-18")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The session is gone.
    let (status, _, _) = call(
        &emu,
        KEY,
        Some(&sid),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    );
    assert_eq!(status, 404);
}

#[test]
fn a_declared_input_schema_wins_over_the_inferred_one() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "declared",
        "cortexone_function.lua",
        "function cortexone_handler(e) return {statusCode = 200, body = e} end\n",
        "visibility = \"public\"\n[input_schema]\ntype = \"object\"\nrequired = [\"city\"]\nproperties.city = { type = \"string\", description = \"Where\" }\n",
    );
    write_tool(
        functions.path(),
        "inferred",
        "cortexone_function.lua",
        "function cortexone_handler(e) return {statusCode = 200, body = e} end\n",
        "",
    );
    let tests = functions.path().join("inferred/tests");
    std::fs::create_dir_all(&tests).unwrap();
    // Alphabetically first is a failing case with no fields: it must not be the example.
    std::fs::write(
        tests.join("a-empty.json"),
        r#"{"event": {}, "expect": {"statusCode": 400}}"#,
    )
    .unwrap();
    std::fs::write(
        tests.join("b-full.json"),
        r#"{"event": {"city": "Oslo", "days": 3}, "expect": {"statusCode": 200}}"#,
    )
    .unwrap();
    std::fs::write(
        tests.join("c-short.json"),
        r#"{"event": {"city": "Rome"}, "expect": {"statusCode": 200}}"#,
    )
    .unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let sid = session(&emu, KEY);
    let declared = text_of(&tool(
        &emu,
        KEY,
        &sid,
        "get_tool_schema",
        json!({"tool_id": "declared"}),
    ));
    assert_eq!(
        declared["input_schema"],
        json!({"type": "object", "required": ["city"], "properties": {"city": {"type": "string", "description": "Where"}}})
    );
    let inferred = text_of(&tool(
        &emu,
        KEY,
        &sid,
        "get_tool_schema",
        json!({"tool_id": "inferred"}),
    ));
    assert_eq!(
        inferred["input_schema"],
        json!({"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]})
    );
    assert_eq!(
        inferred["example"],
        json!({"event": {"city": "Oslo", "days": 3}})
    );
}

#[test]
fn a_balance_drained_through_invoke_tool_blocks_both_routes_until_a_top_up() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "fee",
        "cortexone_function.lua",
        "function cortexone_handler(e, c) return {statusCode = 200, body = {}} end\n",
        "visibility = \"public\"\nprice_per_run = 6\n",
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let (_, org) = emu.admin(
        "POST",
        "/organizations",
        Some(json!({"slug": "drain"})),
        Some(ADMIN),
    );
    assert_eq!(org["balance"], "10");
    let (_, k) = emu.admin(
        "POST",
        "/organizations/drain/keys",
        Some(json!({"name": "k"})),
        Some(ADMIN),
    );
    let key = k["key"].as_str().unwrap().to_string();
    let sid = session(&emu, &key);
    let first = tool(
        &emu,
        &key,
        &sid,
        "invoke_tool",
        json!({"tool_id": "fee", "event": {}}),
    );
    assert_eq!(text_of(&first)["statusCode"], 200);
    // 10 - 6 leaves about 4: less than the fee.
    let blocked = tool(
        &emu,
        &key,
        &sid,
        "invoke_tool",
        json!({"tool_id": "fee", "event": {}}),
    );
    assert_eq!(blocked["error"]["code"], -32603, "{blocked}");
    assert!(
        blocked["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Insufficient wallet balance"),
        "{blocked}"
    );
    let r = emu.post(
        "/api/v1/functions/fee/invoke",
        Some(&key),
        r#"{"event": {}}"#,
    );
    assert_eq!(r.status, 402);
    emu.admin(
        "POST",
        "/organizations/drain/wallet/topup",
        Some(json!({"amount": "10"})),
        Some(ADMIN),
    );
    let again = tool(
        &emu,
        &key,
        &sid,
        "invoke_tool",
        json!({"tool_id": "fee", "event": {}}),
    );
    assert_eq!(text_of(&again)["statusCode"], 200, "{again}");
    let (_, ledger) = emu.admin(
        "GET",
        "/organizations/drain/wallet/ledger",
        None,
        Some(ADMIN),
    );
    let labels: Vec<_> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        labels,
        [
            "Execution",
            "Wallet Recharge",
            "Execution",
            "Welcome Credits"
        ]
    );
}
