//! Regressions of the hostile-input campaign (issue 8): isolation between tools and
//! organizations, money bounds, worker deaths, limits, MCP auth on every method, error wording,
//! protocol edges and a full state store.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

/// One worker per runtime, so consecutive runs of different tools share a worker process.
const ONE_WORKER: &str = "[executor]\nworkers = 1\n";

fn as_other(emu: &Emu, tool: &str, event: &str) -> Reply {
    emu.post(
        &format!("/api/v1/functions/{tool}/invoke"),
        Some(OTHER_KEY),
        &format!("{{\"event\": {event}}}"),
    )
}

fn owned_by(dir: &std::path::Path, name: &str, file: &str, source: &str, manifest: &str) {
    write_tool(dir, name, file, source, &format!("timeout = 5\n{manifest}"));
}

/// The campaign's spy (organization `other`) and victim (organization `acme`, with a secret),
/// in each runtime.
fn spy_and_victim(dir: &std::path::Path) {
    owned_by(
        dir,
        "spy-py",
        "cortexone_function.py",
        "import json, builtins\ndef cortexone_handler(e, c):\n    if not hasattr(builtins, \"_s\"):\n        builtins._s = []\n        o = json.loads\n        json.loads = lambda s, *a, **k: (builtins._s.append(s), o(s, *a, **k))[1]\n    return {\"statusCode\": 200, \"body\": {\"seen\": builtins._s[-3:], \"mark\": getattr(builtins, \"mark\", None)}}\n",
        "organization = \"other\"\n",
    );
    owned_by(
        dir,
        "victim-py",
        "cortexone_function.py",
        "import json, os, builtins\ndef cortexone_handler(e, c):\n    builtins.mark = 'victim was here'\n    json.loads(json.dumps(dict(os.environ)))\n    return {\"statusCode\": 200, \"body\": {\"ok\": True}}\n",
        "secrets = [\"API_TOKEN\"]\n",
    );
    owned_by(
        dir,
        "spy-js",
        "cortexone_function.js",
        "function cortexone_handler(e, c) {\n  if (!globalThis._s) { globalThis._s = []; var o = JSON.parse; JSON.parse = function (s) { globalThis._s.push(s); return o(s); }; }\n  return { statusCode: 200, body: { seen: globalThis._s.slice(-3), mark: globalThis.mark || null } };\n}\n",
        "organization = \"other\"\n",
    );
    owned_by(
        dir,
        "victim-js",
        "cortexone_function.js",
        "function cortexone_handler(e, c) {\n  globalThis.mark = 'victim was here';\n  JSON.parse(JSON.stringify(process.env));\n  return { statusCode: 200, body: { ok: true } };\n}\n",
        "secrets = [\"API_TOKEN\"]\n",
    );
    owned_by(
        dir,
        "spy-lua",
        "cortexone_function.lua",
        "local json = require(\"json\")\nfunction cortexone_handler(e, c)\n  if not _G._s then _G._s = {}; local o = json.decode; json.decode = function(s) table.insert(_G._s, s); return o(s) end end\n  return {statusCode = 200, body = {seen = #_G._s, mark = _G.mark or \"none\"}}\nend\n",
        "organization = \"other\"\n",
    );
    owned_by(
        dir,
        "victim-lua",
        "cortexone_function.lua",
        "local json = require(\"json\")\nfunction cortexone_handler(e, c)\n  _G.mark = 'victim was here'\n  json.decode(json.encode(process.env))\n  return {statusCode = 200, body = {ok = true}}\nend\n",
        "secrets = [\"API_TOKEN\"]\n",
    );
}

#[test]
fn no_run_sees_what_a_run_of_another_tool_or_organization_did() {
    let dir = tempfile::tempdir().unwrap();
    spy_and_victim(dir.path());
    let emu = Emu::start_with(dir.path(), &config_text(ONE_WORKER));
    for lang in ["py", "js", "lua"] {
        let spy = format!("spy-{lang}");
        let victim = format!("victim-{lang}");
        assert_eq!(as_other(&emu, &spy, "{}").status, 200, "{spy}");
        let v = emu.invoke(&victim, "{}");
        assert_eq!(v.inner(), json!({"ok": true}), "{victim}: {}", v.body);
        let after = as_other(&emu, &spy, "{}");
        assert!(
            !after.body.contains("s3cr3t"),
            "{spy} read the victim's secret: {}",
            after.body
        );
        assert!(
            !after.body.contains("victim was here"),
            "{spy} saw the victim's builtins: {}",
            after.body
        );
    }
}

#[test]
fn a_public_tool_called_by_two_organizations_keeps_their_runs_apart() {
    let dir = tempfile::tempdir().unwrap();
    owned_by(
        dir.path(),
        "shared-py",
        "cortexone_function.py",
        "import builtins\ndef cortexone_handler(e, c):\n    seen = getattr(builtins, 'callers', [])\n    builtins.callers = seen + [e['who']]\n    return {\"statusCode\": 200, \"body\": {\"callers\": builtins.callers}}\n",
        "organization = \"other\"\nvisibility = \"public\"\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(ONE_WORKER));
    let first = as_other(&emu, "shared-py", r#"{"who": "other"}"#);
    assert_eq!(first.inner(), json!({"callers": ["other"]}));
    // Within one organization, tool and revision a warm interpreter keeps what the handler
    // changed outside its own modules, as a warm container does (README, Fidelity notes).
    let again = as_other(&emu, "shared-py", r#"{"who": "other"}"#);
    assert_eq!(again.inner(), json!({"callers": ["other", "other"]}));
    // Another organization's run of the same tool starts from a clean interpreter.
    let acme = emu.invoke("shared-py", r#"{"who": "acme"}"#);
    assert_eq!(acme.inner(), json!({"callers": ["acme"]}), "{}", acme.body);
}

#[test]
fn money_is_bounded_and_checked_and_the_state_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let config = config_text("");
    let mut emu = Emu::start_in(dir.path(), functions.path(), &config);
    let wallet = |emu: &Emu| {
        emu.admin("GET", "/organizations/acme/wallet", None, Some(ADMIN))
            .1
    };
    let before = wallet(&emu);
    let cases = [
        (
            "topup",
            json!("9223372036854"),
            "amount must not exceed 1000000000 credits",
        ),
        (
            "topup",
            json!("99999999999999999999999999"),
            "amount must not exceed 1000000000 credits",
        ),
        (
            "grant",
            json!("79228162514264337593543950335"),
            "amount must not exceed 1000000000 credits",
        ),
        (
            "topup",
            json!("0.0000001"),
            "amount has more than 6 decimal places (the smallest unit is 0.000001)",
        ),
        (
            "topup",
            json!("-1"),
            "amount must be a positive decimal, e.g. \"10.00\"",
        ),
        (
            "topup",
            json!(1e300),
            "amount must be a positive decimal, e.g. \"10.00\"",
        ),
    ];
    for (route, amount, error) in cases {
        let (status, body) = emu.admin(
            "POST",
            &format!("/organizations/acme/wallet/{route}"),
            Some(json!({ "amount": amount })),
            Some(ADMIN),
        );
        assert_eq!(
            (status, body),
            (400, json!({ "error": error })),
            "{route} {amount}"
        );
    }
    // Up to the largest balance, then no further.
    for _ in 0..999 {
        let (status, _) = emu.admin(
            "POST",
            "/organizations/acme/wallet/topup",
            Some(json!({"amount": "1000000000"})),
            Some(ADMIN),
        );
        assert_eq!(status, 200);
    }
    let (status, body) = emu.admin(
        "POST",
        "/organizations/acme/wallet/topup",
        Some(json!({"amount": "1000000000"})),
        Some(ADMIN),
    );
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "the balance would exceed the maximum of 1000000000000 credits"})
        )
    );
    let full = wallet(&emu);
    assert_eq!(full["balance"], "999000001000");
    assert_ne!(full, before);
    // Runs still work, and the ledger reads back after a restart.
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    emu.kill_hard();
    let emu = Emu::start_in(dir.path(), functions.path(), &config);
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    let reopened: f64 = wallet(&emu)["balance"].as_str().unwrap().parse().unwrap();
    assert!(reopened > 999_000_000_000.0, "{reopened}");
}

fn worker_pid(emu: &Emu, runtime: &str) -> u64 {
    emu.health()["workers"][runtime][0]
        .as_u64()
        .unwrap_or_else(|| panic!("no {runtime} worker in {}", emu.health()))
}

/// Kills a process and waits until the kernel has ended it: gone, or a zombie whose threads have
/// all exited (only then are its pipes closed and can it be reaped).
fn kill_and_wait(pid: u64) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .unwrap()
                    .trim_start()
                    .starts_with('Z')
                    && std::fs::read_dir(format!("/proc/{pid}/task"))
                        .map(|d| d.count() <= 1)
                        .unwrap_or(true) =>
            {
                return
            }
            Ok(_) => std::thread::yield_now(),
        }
    }
}

#[test]
fn a_worker_killed_while_idle_costs_nothing_and_the_next_run_succeeds() {
    let functions = fixtures_dir();
    // Lua in worker processes too (it runs in the server's own threads by default).
    let emu = Emu::start_with(
        functions.path(),
        &config_text(&format!("{ONE_WORKER}lua = \"process\"\n")),
    );
    for (tool, runtime) in [
        ("py-hello", "python"),
        ("js-hello", "javascript"),
        ("lua-hello", "lua"),
    ] {
        assert_eq!(emu.invoke(tool, "{}").status, 200);
        kill_and_wait(worker_pid(&emu, runtime));
        let r = emu.invoke(tool, r#"{"name": "Ada"}"#);
        assert_eq!(
            r.body, r#"{"statusCode": 200, "body": "{\"message\": \"Hello, Ada!\"}"}"#,
            "{tool} after its idle worker was killed"
        );
        let (_, list) = emu.admin(
            "GET",
            &format!("/activations?tool={tool}"),
            None,
            Some(ADMIN),
        );
        let statuses: Vec<&str> = list["activations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["success", "success"], "{tool}");
    }
}

#[test]
fn python_logs_and_responses_are_capped_and_the_activation_says_so() {
    let dir = tempfile::tempdir().unwrap();
    owned_by(
        dir.path(),
        "py-flood",
        "cortexone_function.py",
        "import sys\ndef cortexone_handler(e, c):\n    sys.stdout.write('z' * 50 * 1024 * 1024)\n    print('after')\n    return {\"statusCode\": 200, \"body\": {}}\n",
        "memory = 512\n",
    );
    owned_by(
        dir.path(),
        "py-huge",
        "cortexone_function.py",
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": 'x' * (7 * 1024 * 1024)}\n",
        "memory = 512\n",
    );
    owned_by(
        dir.path(),
        "js-huge",
        "cortexone_function.js",
        "function cortexone_handler(e, c) {\n  return { statusCode: 200, body: 'x'.repeat(7 * 1024 * 1024) };\n}\n",
        "memory = 512\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let flood = emu.invoke("py-flood", "{}");
    assert_eq!(flood.body, r#"{"statusCode": 200, "body": "{}"}"#);
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{}", flood.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    let logs = a["logs"].as_str().unwrap();
    assert!(
        logs.len() <= 65_536 + 64,
        "{} bytes of logs kept",
        logs.len()
    );
    assert!(
        logs.ends_with("[cortex-emu: output truncated]\n"),
        "{}",
        &logs[logs.len() - 80..]
    );

    let huge = emu.invoke("py-huge", "{}");
    assert_eq!(
        huge.body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Runtime error: the response body is 7340032 bytes, over the limit of 6291456 bytes\"}"}"#
    );
    let js = emu.invoke("js-huge", "{}");
    assert_eq!(
        js.body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Script execution failed\", \"type\": \"RangeError\", \"details\": \"the response body is 7340032 bytes, over the limit of 6291456 bytes\"}"}"#
    );
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{}", huge.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(a["status"], "error");
    assert!(a["logs"]
        .as_str()
        .unwrap()
        .contains("over the limit of 6291456 bytes"));
}

#[test]
fn python_memory_stays_flat_over_many_runs() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(ONE_WORKER));
    let rss_of_python_workers = |emu: &Emu| -> u64 {
        // The pool's worker and the child it forked for the tool.
        let pid = worker_pid(emu, "python");
        let mut pids = vec![pid];
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
            let children = std::fs::read_to_string(task.unwrap().path().join("children")).unwrap();
            pids.extend(
                children
                    .split_whitespace()
                    .map(|p| p.parse::<u64>().unwrap()),
            );
        }
        pids.iter()
            .map(|p| {
                let status =
                    std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .sum()
    };
    for _ in 0..200 {
        assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    }
    let warm = rss_of_python_workers(&emu);
    for _ in 0..2000 {
        assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    }
    let after = rss_of_python_workers(&emu);
    // Before the fix a run kept its module namespace: ~9 MB per 2 000 runs of this tool.
    assert!(
        after < warm + 3 * 1024,
        "Python workers grew from {warm} kB to {after} kB over 2 000 runs"
    );
}

fn mcp_request(
    emu: &Emu,
    method: &str,
    tool: &str,
    key: Option<&str>,
    session: &str,
) -> (u16, String) {
    let url = format!("{}/mcp/{tool}", emu.base);
    let mut req = match method {
        "GET" => client().get(url),
        "DELETE" => client().delete(url),
        _ => unreachable!(),
    };
    if let Some(k) = key {
        req = req.header("Authorization", k);
    }
    let resp = req
        .header("Mcp-Session-Id", session)
        .header("Accept", "text/event-stream")
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    // An open event stream is not read to its end.
    let body = if status == 200 && method == "GET" {
        String::new()
    } else {
        resp.text().unwrap()
    };
    (status, body)
}

#[test]
fn mcp_stream_and_session_end_check_the_key_and_the_tool() {
    let emu = Emu::start_with(&samples(), &config_text(""));
    let sid = client()
        .post(format!("{}/mcp/mcp-python", emu.base))
        .header("Authorization", KEY)
        .body(r#"{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}"#)
        .send()
        .unwrap()
        .headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let unauthorized = r#"{"statusCode": 401, "body": "{\"error\": \"Missing or invalid API key in the Authorization header\"}"}"#;
    let not_found =
        r#"{"statusCode": 404, "body": "{\"error\": \"Function ID or version does not exist\"}"}"#;
    let unknown = r#"{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Invalid request: unknown or expired Mcp-Session-Id"}}"#;
    for method in ["GET", "DELETE"] {
        assert_eq!(
            mcp_request(&emu, method, "mcp-python", None, &sid),
            (401, unauthorized.to_string()),
            "{method} without a key"
        );
        assert_eq!(
            mcp_request(&emu, method, "mcp-python", Some(OTHER_KEY), &sid),
            (404, not_found.to_string()),
            "{method} with another organization's key"
        );
        assert_eq!(
            mcp_request(&emu, method, "mcp-javascript", Some(KEY), &sid),
            (404, unknown.to_string()),
            "{method} with a session of another tool"
        );
    }
    assert_eq!(
        mcp_request(&emu, "GET", "mcp-python", Some(KEY), &sid).0,
        200
    );
    assert_eq!(
        mcp_request(&emu, "DELETE", "mcp-python", Some(KEY), &sid),
        (200, String::new())
    );
    assert_eq!(
        mcp_request(&emu, "DELETE", "mcp-python", Some(KEY), &sid),
        (404, unknown.to_string()),
        "DELETE of an ended session"
    );
}

#[test]
fn python_errors_are_reported_as_the_handler_made_them() {
    let dir = tempfile::tempdir().unwrap();
    owned_by(
        dir.path(),
        "py-deep-limit",
        "cortexone_function.py",
        "import sys\nsys.setrecursionlimit(100000)\ndef f(n):\n    return f(n + 1) + 1\ndef cortexone_handler(e, c):\n    return f(0)\n",
        "",
    );
    owned_by(
        dir.path(),
        "py-bad-str",
        "cortexone_function.py",
        "class Odd(Exception):\n    def __str__(self):\n        raise ValueError('no')\ndef cortexone_handler(e, c):\n    raise Odd()\n",
        "",
    );
    owned_by(
        dir.path(),
        "py-big-status",
        "cortexone_function.py",
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 10**30, \"body\": {}}\n",
        "",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let deep = emu.invoke("py-deep-limit", "{}");
    assert_eq!(deep.status, 200);
    let body = deep.inner();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with("Runtime error: maximum recursion depth exceeded"),
        "{error}"
    );
    assert_eq!(
        emu.invoke("py-bad-str", "{}").body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Runtime error: <exception str() failed>\"}"}"#
    );
    assert_eq!(
        emu.invoke("py-big-status", "{}").body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Runtime error: statusCode 1000000000000000000000000000000 does not fit in a 64-bit integer\"}"}"#
    );
}

#[test]
fn out_of_range_status_codes_fail_the_run_in_js_and_lua() {
    let dir = tempfile::tempdir().unwrap();
    owned_by(
        dir.path(),
        "js-big-status",
        "cortexone_function.js",
        "function cortexone_handler(e, c) {\n  return { statusCode: 1e300, body: {} };\n}\n",
        "",
    );
    owned_by(
        dir.path(),
        "lua-big-status",
        "cortexone_function.lua",
        "function cortexone_handler(e, c)\n  return {statusCode = 1e300, body = {}}\nend\n",
        "",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    assert_eq!(
        emu.invoke("js-big-status", "{}").body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Script execution failed\", \"type\": \"TypeError\", \"details\": \"statusCode 1e+300 does not fit in a 64-bit integer\"}"}"#
    );
    assert_eq!(
        emu.invoke("lua-big-status", "{}").body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Script execution failed\", \"type\": \"RuntimeError\", \"details\": \"statusCode 1e+300 does not fit in a 64-bit integer\"}"}"#
    );
}

/// Sends raw bytes and returns everything the server answers before it closes.
fn raw_exchange(emu: &Emu, request: &[u8], then_close_writes: bool) -> String {
    let addr = emu.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(request).unwrap();
    if then_close_writes {
        stream.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn protocol_edges_answer_with_json_and_slow_clients_are_cut_off() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(
        functions.path(),
        &config_text("").replace("[server]\n", "[server]\nread_timeout_secs = 1\n"),
    );
    // A known route with the wrong method: 405 with a JSON body and the Allow header.
    let resp = client()
        .get(format!("{}/api/v1/functions/py-hello/invoke", emu.base))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    assert_eq!(
        resp.text().unwrap(),
        r#"{"error": "Method GET is not allowed on /api/v1/functions/py-hello/invoke"}"#
    );
    // A body the client cut short is malformed, not too large.
    let cut = raw_exchange(
        &emu,
        format!("POST /api/v1/functions/py-hello/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: {KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"event\": ").as_bytes(),
        true,
    );
    assert!(cut.starts_with("HTTP/1.1 400"), "{cut}");
    assert!(
        cut.contains("Malformed request body - invalid JSON"),
        "{cut}"
    );
    // Headers that never finish: the server closes the connection after its read timeout.
    let slow = raw_exchange(
        &emu,
        b"POST /api/v1/functions/py-hello/invoke HTTP/1.1\r\nHost: x\r\n",
        false,
    );
    assert!(!slow.contains("200 OK"), "{slow}");
    // A body that stops arriving: cut off too, and the server still answers others.
    let stalled = raw_exchange(
        &emu,
        format!("POST /api/v1/functions/py-hello/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: {KEY}\r\nContent-Length: 100\r\n\r\n{{").as_bytes(),
        false,
    );
    assert!(stalled.starts_with("HTTP/1.1 400"), "{stalled}");
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    // The admin API takes the Bearer scheme in any case.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let resp = client()
            .get(format!("{}/_emulator/v1/organizations", emu.base))
            .header("Authorization", format!("{scheme} {ADMIN}"))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{scheme}");
    }
}

#[test]
fn the_state_file_is_private_and_logs_carry_no_colour_codes_off_a_terminal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    assert_eq!(emu.invoke("py-div", "{}").status, 200);
    for name in ["state.db", "state.db-wal", "state.db-shm"] {
        let path = dir.path().join(name);
        if path.exists() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }
    // A bad request logs a warning line; none of the output has escape codes.
    let _ = emu.admin("GET", "/organizations", None, Some("wrong"));
    let output = emu.wait_for("py-div@draft");
    assert!(!output.contains('\u{1b}'), "{output}");
}

#[test]
fn a_full_state_refuses_runs_with_507_and_never_answers_unrecorded_work_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let small = config_text("").replace("[billing]", "[state]\nmax_size_mb = 1\n\n[billing]");
    let mut emu = Emu::start_in(dir.path(), functions.path(), &small);
    // Below the 64 KiB write probe: once one cannot be recorded, the probe fails too.
    // py-hello ignores `pad`, so an activation holds ~60 KB (the event), not twice that.
    let big_event = json!({ "pad": "x".repeat(60_000) }).to_string();
    let mut answers = Vec::new();
    for _ in 0..100 {
        let r = emu.invoke("py-hello", &big_event);
        let status = r.status;
        answers.push(r);
        if status != 200 {
            break;
        }
    }
    let failed = answers.last().unwrap();
    assert_eq!(
        (failed.status, failed.body.as_str()),
        (
            507,
            r#"{"statusCode": 507, "body": "{\"error\": \"The run finished but the emulator could not record it (database or disk full) - it was not charged; free space and run it again\"}"}"#
        ),
        "after {} runs",
        answers.len()
    );
    // The probe may still find 64 KiB once; filling on, the state soon refuses every run.
    let not_recorded = failed.body.clone();
    let refusal = r#"{"statusCode": 507, "body": "{\"error\": \"The emulator cannot save its state (database or disk full) - runs are refused until it can\"}"}"#;
    let mut recorded = answers.iter().filter(|r| r.status == 200).count();
    let mut refused = false;
    for _ in 0..50 {
        let r = emu.invoke("py-hello", &big_event);
        match r.status {
            200 => recorded += 1,
            507 if r.body == refusal => {
                refused = true;
                break;
            }
            507 => assert_eq!(r.body, not_recorded),
            other => panic!("{other}: {}", r.body),
        }
    }
    assert!(refused, "no refusal after the state filled up");
    assert_eq!(emu.invoke("py-hello", "{}").body, refusal);
    // Every run answered 200 is recorded; nothing else is.
    let (_, list) = emu.admin("GET", "/activations?limit=100", None, Some(ADMIN));
    assert_eq!(list["activations"].as_array().unwrap().len(), recorded);
    // With room again, runs are accepted.
    emu.kill_hard();
    let roomy = config_text("").replace("[billing]", "[state]\nmax_size_mb = 64\n\n[billing]");
    let emu = Emu::start_in(dir.path(), functions.path(), &roomy);
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    let _: Value = emu.health();
}

// Defects of issue 9 fixed alongside: a disconnecting client and the MCP fee check.

#[test]
fn a_client_that_disconnects_mid_run_leaves_the_run_recorded_and_its_worker_warm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    owned_by(
        dir.path(),
        "py-slow",
        "cortexone_function.py",
        "import time\ndef cortexone_handler(e, c):\n    time.sleep(0.5)\n    return {\"statusCode\": 200, \"body\": {\"slept\": True}}\n",
        "",
    );
    let emu = Emu::start_with(dir.path(), &config_text(ONE_WORKER));
    assert_eq!(emu.invoke("py-slow", "{}").status, 200);
    let pid = worker_pid(&emu, "python");
    // Subscribe to the live tail first, so the abandoned run's record is delivered to us.
    let tail = client()
        .get(format!("{}/_emulator/v1/activations/stream", emu.base))
        .header("Authorization", format!("Bearer {ADMIN}"))
        .send()
        .unwrap();
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let gone = impatient
        .post(format!("{}/api/v1/functions/py-slow/invoke", emu.base))
        .header("Authorization", KEY)
        .body(r#"{"event": {}}"#)
        .send();
    assert!(gone.is_err(), "the client should have given up first");
    let mut lines = std::io::BufReader::new(tail).lines();
    let recorded: Value = loop {
        let line = lines.next().expect("tail open").unwrap();
        if let Some(data) = line.strip_prefix("data:") {
            break serde_json::from_str(data.trim()).unwrap();
        }
    };
    assert_eq!(
        (recorded["tool"].as_str(), recorded["status"].as_str()),
        (Some("py-slow"), Some("success"))
    );
    // The worker was not killed, and nothing stale is listed.
    assert_eq!(emu.health()["workers"]["python"], json!([pid]));
    assert_eq!(emu.invoke("py-slow", "{}").inner(), json!({"slept": true}));
}

#[test]
fn an_mcp_tool_whose_fee_the_wallet_cannot_cover_is_refused_with_402_and_nothing_is_charged() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::fs::read_to_string(samples().join("mcp-python/cortexone_function.py")).unwrap();
    write_tool(
        dir.path(),
        "mcp-pricey",
        "cortexone_function.py",
        &source,
        "type = \"mcp\"\nprice_per_run = 5000\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let wallet = || {
        emu.admin("GET", "/organizations/acme/wallet", None, Some(ADMIN))
            .1
    };
    let before = wallet();
    let r = emu.post(
        "/mcp/mcp-pricey",
        Some(KEY),
        r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            402,
            r#"{"statusCode": 402, "body": "{\"error\": \"Insufficient wallet balance - execution blocked before running\"}"}"#
        )
    );
    assert_eq!(wallet(), before);
}
