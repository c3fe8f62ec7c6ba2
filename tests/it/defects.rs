//! Regression tests for the defects found while trying the frame (issue 9, item 11).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::*;

#[test]
fn relative_functions_and_config_paths_reload_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub/tools")).unwrap();
    py(
        &dir.path().join("sub/tools"),
        "h",
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": {\"v\": 1}}\n",
    );
    std::fs::write(dir.path().join("sub/emulator.toml"), config_text("")).unwrap();
    let mut cmd = Command::new(binary());
    cmd.current_dir(dir.path()).args([
        "--config",
        "sub/emulator.toml",
        "--functions",
        "sub/tools",
        "--in-memory",
    ]);
    let emu = Emu::spawn(cmd);
    let invoke = || {
        let r = emu.invoke("h", "{}");
        (r.status, r.body)
    };
    assert_eq!(invoke().1, r#"{"statusCode": 200, "body": "{\"v\": 1}"}"#);
    std::fs::write(
        dir.path().join("sub/tools/h/cortexone_function.py"),
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": {\"v\": 2}}\n",
    )
    .unwrap();
    let out = emu.wait_for("reloaded h");
    assert!(!out.contains("already used"), "{out}");
    assert_eq!(invoke().1, r#"{"statusCode": 200, "body": "{\"v\": 2}"}"#);
    std::fs::remove_dir_all(dir.path().join("sub/tools/h")).unwrap();
    emu.wait_for("removed h");
    assert_eq!(invoke().0, 404);
}

#[test]
fn rebinding_object_does_not_crash_the_javascript_worker() {
    let dir = tempfile::tempdir().unwrap();
    js(
        dir.path(),
        "js-object-null",
        "function cortexone_handler(event, context) {\n  Object = null;\n  console.log('still here', {a: 1});\n  return { statusCode: 200, body: { ok: true } };\n}\n",
    );
    js(
        dir.path(),
        "js-keys-replaced",
        "function cortexone_handler(event, context) {\n  Object.keys = function () { return 5; };\n  return { statusCode: 200, body: { kept: 'all keys' } };\n}\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    let r = emu.invoke("js-object-null", "{}");
    assert_eq!(r.body, r#"{"statusCode": 200, "body": "{\"ok\": true}"}"#);
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{}", r.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(a["logs"], json!("still here {\"a\":1}\n"));
    let r = emu.invoke("js-keys-replaced", "{}");
    assert_eq!(
        r.body,
        r#"{"statusCode": 200, "body": "{\"kept\": \"all keys\"}"}"#
    );
}

#[test]
fn javascript_errors_read_as_v8_words_them() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "js-null-read",
            "  const x = null;\n  return x.y;",
            "TypeError",
            "Cannot read properties of null (reading 'y')",
        ),
        (
            "js-undefined-set",
            "  let o;\n  o.z = 1;\n  return o;",
            "TypeError",
            "Cannot set properties of undefined (setting 'z')",
        ),
        (
            "js-const",
            "  const k = 1;\n  k = 2;\n  return k;",
            "TypeError",
            "Assignment to constant variable.",
        ),
        (
            "js-not-fn",
            "  const o = {};\n  return o.f();",
            "TypeError",
            "o.f is not a function",
        ),
        (
            "js-undefined-name",
            "  return missing + 1;",
            "ReferenceError",
            "missing is not defined",
        ),
        (
            "js-array-length",
            "  return new Array(-1);",
            "RangeError",
            "Invalid array length",
        ),
    ];
    for (name, body, ..) in &cases {
        js(
            dir.path(),
            name,
            &format!("function cortexone_handler(event, context) {{\n{body}\n}}\n"),
        );
    }
    let emu = Emu::start_with(dir.path(), &config_text(""));
    for (name, _, kind, details) in cases {
        let r = emu.invoke(name, "{}");
        assert_eq!(
            r.inner(),
            json!({"error": "Script execution failed", "type": kind, "details": details}),
            "{name}"
        );
    }
}

#[test]
fn a_store_failure_reaches_admin_clients_as_500_with_the_cause_logged() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let small = config_text("").replace("[billing]", "[state]\nmax_size_mb = 1\n\n[billing]");
    let emu = Emu::start_in(dir.path(), functions.path(), &small);
    let big_event = json!({ "pad": "x".repeat(60_000) }).to_string();
    for _ in 0..100 {
        if emu.invoke("py-hello", &big_event).status != 200 {
            break;
        }
    }
    // The database is full: creating an organization fails in SQLite, not in the request.
    let (status, body) = emu.admin(
        "POST",
        "/organizations",
        Some(json!({"slug": "late", "name": "x".repeat(200_000)})),
        Some(ADMIN),
    );
    assert_eq!(status, 500, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("internal error:"),
        "{body}"
    );
    emu.wait_for("admin API:");
    // A client mistake is still a 400.
    let (status, _) = emu.admin(
        "POST",
        "/organizations",
        Some(json!({"slug": "Bad Slug"})),
        Some(ADMIN),
    );
    assert_eq!(status, 400);
}

#[test]
fn publish_goes_through_the_running_server_on_any_port() {
    let dir = tempfile::tempdir().unwrap();
    let functions = tempfile::tempdir().unwrap();
    py(
        functions.path(),
        "pub-me",
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": {\"v\": 1}}\n",
    );
    std::fs::create_dir_all(functions.path().join("pub-me/tests")).unwrap();
    std::fs::write(
        functions.path().join("pub-me/tests/v.json"),
        r#"{"event": {}, "expect": {"statusCode": 200, "body": {"v": 1}}}"#,
    )
    .unwrap();
    // `--port 0` in the config: the CLI cannot guess the port, it reads server.json.
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    let out = Command::new(binary())
        .arg("--config")
        .arg(dir.path().join("emulator.toml"))
        .arg("--state")
        .arg(dir.path().join("state.db"))
        .arg("--functions")
        .arg(functions.path())
        .args(["publish", "pub-me", "--bump", "patch"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("published pub-me@1.0.0"));
    // The server knows the version at once: its caches were not bypassed.
    let r = emu.post(
        "/api/v1/functions/pub-me/1.0.0/invoke",
        Some(KEY),
        r#"{"event": {}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The server wrote its runtime file; a killed server leaves a stale one, which is ignored.
    let running: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("server.json")).unwrap())
            .unwrap();
    assert_eq!(running["url"], json!(emu.base));
}

#[test]
fn piping_activations_into_head_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    for _ in 0..30 {
        assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    }
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(dir.path().join("emulator.toml"))
        .arg("--state")
        .arg(dir.path().join("state.db"))
        .args(["activations", "--limit", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (as `head -1` would be): the rest goes to a closed pipe.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
    assert!(!first.is_empty());
}

#[test]
fn a_forced_shutdown_records_a_run_in_flight_once() {
    let dir = tempfile::tempdir().unwrap();
    let functions = tempfile::tempdir().unwrap();
    py(
        functions.path(),
        "py-slow",
        "import time\ndef cortexone_handler(e, c):\n    time.sleep(3)\n    return {\"statusCode\": 200, \"body\": {}}\n",
    );
    let mut emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    let base = emu.base.clone();
    let run = std::thread::spawn(move || {
        client()
            .post(format!("{base}/api/v1/functions/py-slow/invoke"))
            .header("Authorization", KEY)
            .body(r#"{"event": {}}"#)
            .send()
            .map(|r| r.status().as_u16())
    });
    // Health counts the runs in flight: wait until this one is.
    let mut in_flight = false;
    for _ in 0..600 {
        if emu.health()["runs_in_flight"] == json!(1) {
            in_flight = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(in_flight, "the run never started");
    let pid = emu.pid();
    // SIGTERM twice: the second stops at once, with the run still going.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    emu.wait_for("shutting down");
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    emu.wait_exit();
    let _ = run.join();
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let rows: Vec<(String, String)> = db
        .prepare("SELECT id, status FROM activations")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let debits: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM ledger WHERE activation_id = ?1",
            [&rows[0].0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(debits, 1);
}

// Issue 10: the offline CI harness must not pass by mistake.

/// Issue 14: with `CORTEX_EMU_STDIN_LIFELINE=1` and standard input still open, SIGTERM printed
/// "shutting down" and the process never exited (the stdin read held tokio's blocking pool).
#[test]
fn sigterm_stops_an_idle_emulator_whose_stdin_lifeline_is_still_open() {
    let functions = tempfile::tempdir().unwrap();
    let mut emu = Emu::start_with(functions.path(), &config_text(""));
    unsafe {
        libc::kill(emu.pid() as i32, libc::SIGTERM);
    }
    emu.wait_for("shutting down");
    let status = emu.wait_exit();
    assert!(status.success(), "{status:?}");
}

fn test_cmd(functions: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(binary())
        .args(["--in-memory", "--functions"])
        .arg(functions)
        .arg("test")
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn test_fails_on_a_broken_tool_without_cases_and_ignores_folders_without_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    js(
        dir.path(),
        "broken",
        "function cortexone_handler(event, context) {\n  return {;\n}\n",
    );
    py(
        dir.path(),
        "no-handler",
        "def something_else():\n    return 1\n",
    );
    py(
        dir.path(),
        "fine",
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": {}}\n",
    );
    std::fs::create_dir_all(dir.path().join("fine/tests")).unwrap();
    std::fs::write(
        dir.path().join("fine/tests/ok.json"),
        r#"{"event": {}, "expect": {"statusCode": 200}}"#,
    )
    .unwrap();
    // A helper folder is not a tool: it neither fails the suite nor is served.
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/util.py"), "X = 1\n").unwrap();
    let out = test_cmd(dir.path(), &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL broken (cannot be loaded)"), "{text}");
    assert!(
        text.contains("FAIL no-handler (cannot be loaded)"),
        "{text}"
    );
    assert!(text.contains("PASS fine/ok"), "{text}");
    assert!(!text.contains("lib"), "{text}");
    assert!(text.contains("1 passed, 2 failed"), "{text}");
}

#[test]
fn test_with_no_cases_or_no_folder_fails_unless_allowed() {
    let empty = tempfile::tempdir().unwrap();
    let out = test_cmd(empty.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no test cases ran"));
    assert_eq!(
        test_cmd(empty.path(), &["--allow-empty"]).status.code(),
        Some(0)
    );
    let missing = empty.path().join("nope");
    let out = test_cmd(&missing, &["--allow-empty"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(!missing.exists(), "test must not create the folder");
}

#[test]
fn a_tool_broken_at_start_is_reported_in_the_log_and_health() {
    let dir = tempfile::tempdir().unwrap();
    js(
        dir.path(),
        "js-broken",
        "function cortexone_handler(event, context) {\n  return {;\n}\n",
    );
    py(
        dir.path(),
        "py-fine",
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": {}}\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    emu.wait_for("error in js-broken");
    let problems = emu.health()["problems"].clone();
    assert_eq!(problems.as_array().map(Vec::len), Some(1), "{problems}");
    assert_eq!(problems[0]["folder"], json!("js-broken"));
    // A save that fixes it says so and clears the problem.
    js(
        dir.path(),
        "js-broken",
        "function cortexone_handler(event, context) {\n  return {statusCode: 200, body: {}};\n}\n",
    );
    emu.wait_for("reloaded js-broken");
    assert_eq!(emu.health()["problems"], json!([]));
    assert_eq!(emu.invoke("py-fine", "{}").status, 200);
}

/// Issue 15: a request sent as soon as the emulator is ready is answered by the worker started
/// for it; the start-up checks wait for that answer instead of taking the worker first, which
/// made the request start a second Python interpreter (+44 MB that stayed, and a slower answer).
#[test]
fn start_up_checks_let_the_first_request_have_the_warm_worker() {
    let dir = tempfile::tempdir().unwrap();
    py(
        dir.path(),
        "py-fine",
        "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": {}}\n",
    );
    py(
        dir.path(),
        "py-broken",
        "def cortexone_handler(e, c)\n    return 1\n",
    );
    let emu = Emu::start_with(dir.path(), &config_text(""));
    assert_eq!(emu.invoke("py-fine", "{}").status, 200);
    // The checks ran after the answer, on the same worker.
    emu.wait_for("error in py-broken");
    let python = emu.health()["workers"]["python"].clone();
    assert_eq!(python.as_array().map(Vec::len), Some(1), "{python}");
}

#[test]
fn a_save_that_restores_the_serving_content_says_the_error_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let good = "def cortexone_handler(e, c):\n    return {\"statusCode\": 200, \"body\": {}}\n";
    py(dir.path(), "py-edit", good);
    let emu = Emu::start_with(dir.path(), &config_text(""));
    py(
        dir.path(),
        "py-edit",
        "def cortexone_handler(e, c)\n    return 1\n",
    );
    emu.wait_for("error in py-edit");
    py(dir.path(), "py-edit", good);
    emu.wait_for("fixed py-edit");
    assert_eq!(emu.health()["problems"], json!([]));
}

#[test]
fn keys_show_expired_and_bad_activation_filters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    // EXPIRED_KEY expired in 2020: listed as expired, not active.
    let (_, keys) = emu.admin("GET", "/organizations/acme/keys", None, Some(ADMIN));
    let states: Vec<(String, String)> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap().into(),
                k["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        states.contains(&("old".into(), "expired".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("test".into(), "active".into())),
        "{states:?}"
    );
    let (status, body) = emu.admin("GET", "/activations?status=failed", None, Some(ADMIN));
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("success, error, timeout, interrupted"));
    let (status, _) = emu.admin("GET", "/activations?since=yesterday", None, Some(ADMIN));
    assert_eq!(status, 400);
    let (status, _) = emu.admin(
        "GET",
        "/activations?since=2020-01-01&status=success",
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200);
    let out = Command::new(binary())
        .arg("--config")
        .arg(dir.path().join("emulator.toml"))
        .arg("--state")
        .arg(dir.path().join("state.db"))
        .args(["activations", "--status", "failed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not one of"));
}

#[test]
fn cors_preflights_from_a_local_frontend_are_answered() {
    let emu = shared();
    let preflight = |origin: &str| {
        client()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/v1/functions/py-hello/invoke", emu.base),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
            .unwrap()
    };
    let local = preflight("http://localhost:5173");
    assert_eq!(local.status(), 200);
    assert_eq!(
        local.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let elsewhere = preflight("https://evil.example");
    assert!(!elsewhere
        .headers()
        .contains_key("access-control-allow-origin"));
}

#[test]
fn refused_requests_leave_a_line_on_the_terminal() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let r = emu.post(
        "/api/v1/functions/py-hello/invoke",
        None,
        r#"{"event": {}}"#,
    );
    assert_eq!(r.status, 401);
    emu.wait_for("401 py-hello: missing, unknown, revoked or expired key (G401-invalid)");
    let r = emu.post(
        "/api/v1/functions/nope/invoke",
        Some(KEY),
        r#"{"event": {}}"#,
    );
    assert_eq!(r.status, 404);
    emu.wait_for("404 nope: no such tool for this key's organization (G404-function)");
}

#[test]
fn logs_take_a_unique_id_prefix_and_show_the_whole_error() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    let id = emu.invoke("py-div", "{}").activation_id.unwrap();
    let logs = |arg: &str| {
        Command::new(binary())
            .arg("--config")
            .arg(dir.path().join("emulator.toml"))
            .arg("--state")
            .arg(dir.path().join("state.db"))
            .args(["logs", arg])
            .output()
            .unwrap()
    };
    let out = logs(&id[..8]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("py-div@draft"), "{text}");
    assert!(text.contains("ZeroDivisionError"), "{text}");
    let (status, _) = emu.admin("GET", "/activations/zz", None, Some(ADMIN));
    assert_eq!(status, 404);
    let (status, _) = emu.admin("GET", "/activations/%25", None, Some(ADMIN));
    assert_eq!(status, 404);
}

/// `cortex-emu invoke` on a folder whose `tool.toml` is wrong says why it did not load, instead
/// of "no tool with id", which reads as a typo.
#[test]
fn invoking_a_tool_that_did_not_load_says_why() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "heavy",
        "cortexone_function.py",
        "def cortexone_handler(e, c):\n    return {'statusCode': 200, 'body': 1}\n",
        "memory = 1024\n",
    );
    let out = Command::new(binary())
        .args(["--in-memory", "--functions"])
        .arg(functions.path())
        .args(["invoke", "heavy"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tool \"heavy\" in ")
            && err
                .contains("did not load: tool.toml: memory = 1024 must be between 16 and 512 (MB)"),
        "{err}"
    );
}
