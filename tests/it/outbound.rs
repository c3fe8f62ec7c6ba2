//! Issue 14: the standard library's network modules import, and outbound HTTP answers from
//! cassettes (replay), from a real server while saving cassettes (record), and fails clearly on a
//! request nothing answers, in Python, JavaScript and Lua, with every exchange on the activation.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

use serde_json::{json, Value};

use crate::common::*;

const HTTP_TOML: &str = "timeout = 5\nmemory = 128\nhttp = true\nsecrets = [\"API_KEY\"]\n";
const SECRET: &str = "sk-live-abcdef123456";

fn secrets_config(mode: &str) -> String {
    // The extra text lands inside the shared config's `[secrets]` table.
    config_text(&format!(
        "API_KEY = \"{SECRET}\"\n\n[network]\nmode = \"{mode}\"\n"
    ))
}

/// The same call in the three runtimes: GET `event.url` with the secret as a bearer token.
fn callers(dir: &Path) {
    write_tool(
        dir,
        "call-py",
        "cortexone_function.py",
        "import os, json, urllib.request\n\
         def cortexone_handler(event, context):\n\
         \x20   req = urllib.request.Request(event['url'], headers={'Authorization': 'Bearer ' + os.environ['API_KEY']})\n\
         \x20   with urllib.request.urlopen(req) as r:\n\
         \x20       return {'statusCode': 200, 'body': {'status': r.status, 'data': json.loads(r.read())}}\n",
        HTTP_TOML,
    );
    write_tool(
        dir,
        "call-js",
        "cortexone_function.js",
        "function cortexone_handler(event, context) {\n\
         \x20 const r = fetch(event.url, { headers: { Authorization: 'Bearer ' + process.env.API_KEY } });\n\
         \x20 return { statusCode: 200, body: { status: r.status, ok: r.ok, type: r.headers.get('content-type'), data: r.json() } };\n\
         }\n",
        HTTP_TOML,
    );
    write_tool(
        dir,
        "call-lua",
        "cortexone_function.lua",
        "function cortexone_handler(event, context)\n\
         \x20 local r = fetch(event.url, { headers = { Accept = 'application/json' } })\n\
         \x20 return { statusCode = 200, body = { status = r.status, data = r:json() } }\n\
         end\n",
        HTTP_TOML,
    );
}

/// A one-route HTTP server on a free port: answers every request with `{"n": <count>}` and
/// reports what it was sent.
fn test_server() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = tx.send(head);
            let payload = format!("{{\"n\": {n}, \"echo\": \"{SECRET}\"}}");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nset-cookie: session=abc\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{payload}",
                payload.len()
            );
        }
    });
    (base, rx)
}

fn http_of(emu: &Emu, reply: &Reply) -> Value {
    let (status, a) = emu.admin(
        "GET",
        &format!("/activations/{}", reply.activation_id.as_ref().unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{a}");
    a["http"].clone()
}

#[test]
fn python_network_modules_import_as_in_production() {
    let dir = tempfile::tempdir().unwrap();
    py(
        dir.path(),
        "imports",
        "import socket, ssl, select, http.client, urllib.request, tempfile, shutil, subprocess, asyncio, unittest\n\
         def cortexone_handler(event, context):\n\
         \x20   return {'statusCode': 200, 'body': {'https': hasattr(http.client, 'HTTPSConnection'), 'family': int(socket.AF_INET)}}\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let r = emu.invoke("imports", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.inner(), json!({"https": true, "family": 2}));
}

#[test]
fn replay_answers_every_runtime_from_a_hand_written_cassette_and_lists_the_exchange() {
    let dir = tempfile::tempdir().unwrap();
    callers(dir.path());
    let mock = json!({
        "request": {"method": "GET", "url": "https://api.example.com/v1/items?page=1"},
        "response": {"status": 200, "json": {"items": [1, 2]}},
    });
    for tool in ["call-py", "call-js", "call-lua"] {
        let http = dir.path().join(tool).join("http");
        std::fs::create_dir_all(&http).unwrap();
        std::fs::write(http.join("items.json"), mock.to_string()).unwrap();
    }
    let emu = Emu::start_with(dir.path(), &secrets_config("replay"));
    let event = r#"{"url": "https://api.example.com/v1/items?page=1"}"#;
    let py = emu.invoke("call-py", event);
    assert_eq!(py.status, 200, "{}", py.body);
    assert_eq!(
        py.inner(),
        json!({"status": 200, "data": {"items": [1, 2]}})
    );
    let js = emu.invoke("call-js", event);
    assert_eq!(
        js.inner(),
        json!({"status": 200, "ok": true, "type": "application/json", "data": {"items": [1, 2]}})
    );
    let lua = emu.invoke("call-lua", event);
    assert_eq!(
        lua.inner(),
        json!({"status": 200, "data": {"items": [1, 2]}}),
        "{}",
        lua.body
    );
    let listed = http_of(&emu, &js);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["method"], "GET");
    assert_eq!(listed[0]["url"], "https://api.example.com/v1/items?page=1");
    assert_eq!(listed[0]["status"], 200);
    assert_eq!(listed[0]["source"], "cassette");
    assert!(listed[0]["duration_ms"].as_f64().is_some());
}

#[test]
fn an_unmatched_request_in_replay_fails_naming_the_method_the_url_and_how_to_record() {
    let dir = tempfile::tempdir().unwrap();
    callers(dir.path());
    let emu = Emu::start_with(dir.path(), &secrets_config("replay"));
    let event = r#"{"url": "https://api.example.com/missing"}"#;
    for tool in ["call-py", "call-js", "call-lua"] {
        let r = emu.invoke(tool, event);
        assert_eq!(r.status, 200, "{}", r.body);
        let env: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(env["statusCode"], 500, "{tool}: {}", r.body);
        let text = env["body"].as_str().unwrap();
        assert!(
            text.contains("no cassette for GET https://api.example.com/missing")
                && text.contains("CORTEX_EMU_HTTP_MODE=record"),
            "{tool}: {text}"
        );
        let listed = http_of(&emu, &r);
        assert_eq!(listed[0]["source"], "refused", "{listed}");
        assert_eq!(listed[0]["status"], Value::Null);
    }
}

#[test]
fn record_calls_the_real_server_and_saves_scrubbed_cassettes_that_replay_answers() {
    let dir = tempfile::tempdir().unwrap();
    callers(dir.path());
    let (base, sent) = test_server();
    let url = format!("{base}/v1/data?key={SECRET}");
    let event = json!({ "url": url }).to_string();
    {
        let emu = Emu::start_with(dir.path(), &secrets_config("record"));
        // The banner says the network is live and recorded.
        emu.wait_for("outbound HTTP: record (3 tools with http = true: the real network, every exchange saved to their http/ cassettes)");
        for tool in ["call-py", "call-js"] {
            let r = emu.invoke(tool, &event);
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.inner()["data"]["echo"], SECRET, "{tool}: {}", r.body);
            let head = sent.recv().unwrap();
            assert!(head.contains(&format!("Bearer {SECRET}")), "{head}");
            let listed = http_of(&emu, &r);
            assert_eq!(listed[0]["source"], "recorded", "{listed}");
            assert_eq!(
                listed[0]["url"],
                format!("{base}/v1/data?key=[secret:API_KEY]")
            );
        }
    }
    for tool in ["call-py", "call-js"] {
        let folder = dir.path().join(tool).join("http");
        let files: Vec<_> = std::fs::read_dir(&folder).unwrap().flatten().collect();
        assert_eq!(files.len(), 1, "{tool}");
        let text = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(
            !text.contains(SECRET),
            "{tool}: the secret is in the cassette:\n{text}"
        );
        let cassette: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            cassette["request"]["headers"]["authorization"],
            "[scrubbed]"
        );
        assert_eq!(cassette["response"]["headers"]["set-cookie"], "[scrubbed]");
        let body = cassette["response"]["body"].as_str().unwrap();
        assert!(
            body.ends_with(", \"echo\": \"[secret:API_KEY]\"}"),
            "{body}"
        );
    }
    // Replay, with the server's answers from the cassettes (the scrubbed secret stays scrubbed).
    let emu = Emu::start_with(dir.path(), &secrets_config("replay"));
    let r = emu.invoke("call-js", &event);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.inner()["data"]["echo"], "[secret:API_KEY]");
    assert!(sent.try_recv().is_err(), "replay reached the server");
}

#[test]
fn a_tool_without_http_true_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    js(
        dir.path(),
        "offline",
        "function cortexone_handler(e) { const r = fetch('https://api.example.com/'); return { statusCode: 200, body: r.status }; }",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let r = emu.invoke("offline", "{}");
    let env: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(env["statusCode"], 500);
    assert!(
        env["body"]
            .as_str()
            .unwrap()
            .contains("outbound HTTP is off for this tool (GET https://api.example.com/): set http = true in its tool.toml"),
        "{}",
        r.body
    );
}

/// `cortex-emu deps` installs a pure-Python requirement that the tool then imports; one with
/// native code only is refused, naming why. Needs pip and the package index: without them the
/// test says so and stops (CI has both).
#[test]
fn deps_installs_a_pure_python_requirement_that_the_tool_imports() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "with-six",
        "cortexone_function.py",
        "import six\ndef cortexone_handler(event, context):\n    return {'statusCode': 200, 'body': {'six': six.__version__, 'py3': six.PY3}}\n",
        "timeout = 30\nmemory = 256\n",
    );
    std::fs::write(
        functions.path().join("with-six/requirements.txt"),
        "six==1.16.0\n",
    )
    .unwrap();
    let deps = |tool: &str| {
        std::process::Command::new(binary())
            .args(["--in-memory", "--functions"])
            .arg(functions.path())
            .args(["deps", tool])
            .output()
            .unwrap()
    };
    let out = deps("with-six");
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (err.contains("could not run")
            || err.contains("NewConnectionError")
            || err.contains("Temporary failure in name resolution"))
    {
        eprintln!("SKIPPED: pip or the package index is not reachable here:\n{err}");
        return;
    }
    assert!(out.status.success(), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("installed 1 Python modules into"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let r = emu.invoke("with-six", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.inner(), json!({"six": "1.16.0", "py3": true}));
    drop(emu);

    write_tool(
        functions.path(),
        "with-numpy",
        "cortexone_function.py",
        "import numpy\ndef cortexone_handler(event, context):\n    return {'statusCode': 200, 'body': 1}\n",
        "",
    );
    std::fs::write(
        functions.path().join("with-numpy/requirements.txt"),
        "numpy==2.1.3\n",
    )
    .unwrap();
    let out = deps("with-numpy");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "has no pure-Python wheel (it needs native code, which RustPython cannot load"
        ),
        "{err}"
    );
    assert!(!functions.path().join("with-numpy/.packages").exists());
}

/// The dev loop installs a tool's `requirements.txt` when the tool loads (no `deps` by hand),
/// says so on the terminal, and the tool imports the package.
#[test]
fn the_dev_loop_installs_requirements_when_a_tool_loads() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "auto-six",
        "cortexone_function.py",
        "import six\ndef cortexone_handler(event, context):\n    return {'statusCode': 200, 'body': {'six': six.__version__}}\n",
        "timeout = 30\nmemory = 256\n",
    );
    std::fs::write(
        functions.path().join("auto-six/requirements.txt"),
        "six==1.16.0\n",
    )
    .unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let out = emu.wait_for("auto-six: ");
    let out = if out.contains("installed") || out.contains("pip could not") {
        out
    } else {
        emu.wait_for("Python modules in")
    };
    if out.contains("NewConnectionError") || out.contains("could not run") {
        eprintln!("SKIPPED: pip or the package index is not reachable here:\n{out}");
        return;
    }
    assert!(
        out.contains("auto-six: requirements.txt changed, installing its packages (pip)"),
        "{out}"
    );
    // The installed packages arrive as a save of their own.
    emu.wait_for("reloaded auto-six (packages changed)");
    let r = emu.invoke("auto-six", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.inner(), json!({"six": "1.16.0"}));
}

/// Production preinstalls `requests`: a tool that imports it without a requirements.txt gets it
/// installed when it loads, and it calls out through the network mode like urllib does.
#[test]
fn requests_is_installed_for_a_tool_that_imports_it_and_replays_a_cassette() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "uses-requests",
        "cortexone_function.py",
        "import requests\ndef cortexone_handler(event, context):\n    r = requests.get('https://api.example.com/v1/items?page=1')\n    return {'statusCode': 200, 'body': {'status': r.status_code, 'data': r.json()}}\n",
        "timeout = 30\nmemory = 256\nhttp = true\n",
    );
    let http = functions.path().join("uses-requests/http");
    std::fs::create_dir_all(&http).unwrap();
    std::fs::write(
        http.join("items.json"),
        json!({
            "request": {"method": "GET", "url": "https://api.example.com/v1/items?page=1"},
            "response": {"status": 200, "json": {"items": [1, 2]}},
        })
        .to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(binary())
        .args(["--in-memory", "--functions"])
        .arg(functions.path())
        .args(["invoke", "uses-requests"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if stderr.contains("NewConnectionError") || stderr.contains("could not run") {
        eprintln!("SKIPPED: pip or the package index is not reachable here:\n{stderr}");
        return;
    }
    assert!(stderr.contains("installing requests into "), "{stderr}");
    let envelope: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let body: Value = serde_json::from_str(envelope["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"status": 200, "data": {"items": [1, 2]}}),
        "{stderr}"
    );
}
