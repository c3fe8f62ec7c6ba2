//! Issue 10, the rest of the dev loop: one case or a watched suite, activations saved as cases,
//! the refused half of the request log, output kept when a run is killed, unworkable tool.toml
//! settings, keys by name, MCP papercuts and the small things users notice. All through the
//! binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::*;

fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A client command against the emulator whose config and state are in `state` (it finds the
/// server through the runtime file beside the state).
fn client_cmd(state: &Path, args: &[&str]) -> (i32, String, String) {
    let config = state.join("emulator.toml");
    let db = state.join("state.db");
    let mut all = vec![
        "--config",
        config.to_str().unwrap(),
        "--state",
        db.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(&all, state)
}

/// A Lua tool `echo` with two cases, `a` and `b`.
fn echo_tool(functions: &Path) {
    lua(
        functions,
        "echo",
        "function cortexone_handler(event, context)\n  return {statusCode = 200, body = {said = event.say}}\nend\n",
    );
    let tests = functions.join("echo/tests");
    std::fs::create_dir_all(&tests).unwrap();
    for name in ["a", "b"] {
        std::fs::write(
            tests.join(format!("{name}.json")),
            format!(r#"{{"event": {{"say": "{name}"}}, "expect": {{"statusCode": 200, "body": {{"said": "{name}"}}}}}}"#),
        )
        .unwrap();
    }
}

#[test]
fn test_runs_one_case_and_names_the_cases_when_it_is_missing() {
    let functions = tempfile::tempdir().unwrap();
    echo_tool(functions.path());
    let f = functions.path().to_str().unwrap();
    let (code, out, _) = run(
        &["--in-memory", "--functions", f, "test", "echo/a"],
        functions.path(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("PASS echo/a") && !out.contains("echo/b"),
        "{out}"
    );
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    let (code, _, err) = run(
        &["--in-memory", "--functions", f, "test", "echo/zz"],
        functions.path(),
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("echo has no test case \"zz\"") && err.contains("its cases are: a, b"),
        "{err}"
    );
}

#[test]
fn test_watch_reruns_a_tool_when_it_is_saved() {
    let functions = tempfile::tempdir().unwrap();
    echo_tool(functions.path());
    let mut child = Command::new(binary())
        .args(["--in-memory", "--functions"])
        .arg(functions.path())
        .args(["test", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_until = |wanted: &str| -> String {
        let mut seen = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(wanted) {
                return seen;
            }
        }
        panic!("no {wanted:?} before the output ended:\n{seen}");
    };
    let first = next_until("watching");
    assert!(first.contains("2 passed, 0 failed"), "{first}");
    // A save that breaks one case re-runs the tool's cases.
    std::fs::write(
        functions.path().join("echo/cortexone_function.lua"),
        "function cortexone_handler(event, context)\n  return {statusCode = 200, body = {said = \"a\"}}\nend\n",
    )
    .unwrap();
    let rerun = next_until("passed, ");
    assert!(
        rerun.contains("PASS echo/a") && rerun.contains("FAIL echo/b"),
        "{rerun}"
    );
    assert!(
        rerun.contains("body.said: expected \"b\", got \"a\""),
        "{rerun}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn an_activation_saved_as_a_case_passes_and_is_not_overwritten() {
    let state = tempfile::tempdir().unwrap();
    let functions = tempfile::tempdir().unwrap();
    echo_tool(functions.path());
    let emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    let id = emu
        .invoke("echo", r#"{"say": "saved"}"#)
        .activation_id
        .unwrap();
    let (code, out, err) = client_cmd(
        state.path(),
        &["activations", "save", &id[..8], "--as", "from-run"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cortex-emu test echo/from-run"), "{out}");
    let case: Value = serde_json::from_str(
        &std::fs::read_to_string(functions.path().join("echo/tests/from-run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(case["event"], json!({"say": "saved"}));
    assert_eq!(
        case["expect"],
        json!({"statusCode": 200, "body": {"said": "saved"}})
    );
    let f = functions.path().to_str().unwrap();
    let (code, out, _) = run(
        &["--in-memory", "--functions", f, "test", "echo/from-run"],
        state.path(),
    );
    assert_eq!(code, 0, "{out}");
    // The same name again is refused unless --force.
    let (code, _, err) = client_cmd(
        state.path(),
        &["activations", "save", &id, "--as", "from-run"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    let (code, _, err) = client_cmd(
        state.path(),
        &["activations", "save", &id, "--as", "../escape"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("cannot name a test case"), "{err}");
}

#[test]
fn refused_requests_are_kept_in_the_request_log_not_billed() {
    let state = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    assert_eq!(
        emu.post(
            "/api/v1/functions/py-hello/invoke",
            None,
            r#"{"event": {}}"#
        )
        .status,
        401
    );
    assert_eq!(
        emu.post("/api/v1/functions/py-hello/invoke", Some(KEY), "{not json")
            .status,
        400
    );
    assert_eq!(
        emu.post(
            "/api/v1/functions/py-hello/invoke",
            Some(BROKE_KEY),
            r#"{"event": {}}"#
        )
        .status,
        402
    );
    // The log is written behind the answer: its terminal line comes after the write was queued.
    emu.wait_for("402 py-hello");
    let refusals = || {
        let (status, v) = emu.admin("GET", "/refusals?tool=py-hello", None, Some(ADMIN));
        assert_eq!(status, 200);
        v["refusals"].as_array().unwrap().clone()
    };
    let mut list = refusals();
    for _ in 0..500 {
        if list.len() == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        list = refusals();
    }
    let rows: Vec<(Value, Value, Value)> = list
        .iter()
        .map(|r| {
            (
                r["statusCode"].clone(),
                r["response"].clone(),
                r["organization"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!(402), json!("G402"), json!("broke")),
            (json!(400), json!("G400-json"), json!("acme")),
            (json!(401), json!("G401-invalid"), Value::Null),
        ]
    );
    // Not activations: nothing ran, nothing was charged.
    let (_, acts) = emu.admin("GET", "/activations?tool=py-hello", None, Some(ADMIN));
    assert_eq!(acts["activations"], json!([]));
    let (code, out, _) = client_cmd(state.path(), &["refusals"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("G402") && out.contains("balance cannot cover the run"),
        "{out}"
    );
}

#[test]
fn output_printed_before_a_timeout_is_kept_in_every_runtime() {
    let functions = tempfile::tempdir().unwrap();
    // Each spins only when asked, so a first run warms its worker (a cold interpreter on a
    // busy machine must not eat the whole timeout before the handler prints).
    let toml = "timeout = 1\n";
    write_tool(
        functions.path(),
        "spin-py",
        "cortexone_function.py",
        "def cortexone_handler(event, context):\n    if not event.get('spin'):\n        return {'statusCode': 200}\n    print('starting loop')\n    while True:\n        pass\n",
        toml,
    );
    write_tool(
        functions.path(),
        "spin-js",
        "cortexone_function.js",
        "function cortexone_handler(event, context) {\n  if (!event.spin) return {statusCode: 200};\n  console.log('starting loop');\n  while (true) {}\n}\n",
        toml,
    );
    write_tool(
        functions.path(),
        "spin-lua",
        "cortexone_function.lua",
        "function cortexone_handler(event, context)\n  if not event.spin then return {statusCode = 200} end\n  print('starting loop')\n  while true do end\nend\n",
        toml,
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    for tool in ["spin-py", "spin-js", "spin-lua"] {
        assert_eq!(emu.invoke(tool, "{}").status, 200);
        let r = emu.invoke(tool, r#"{"spin": true}"#);
        assert_eq!(r.status, 408, "{tool}: {}", r.body);
        let id = r.activation_id.unwrap();
        let (_, a) = emu.admin("GET", &format!("/activations/{id}"), None, Some(ADMIN));
        let logs = a["logs"].as_str().unwrap();
        assert!(
            logs.starts_with("starting loop\n") && logs.contains("stopped after its timeout"),
            "{tool}: {logs:?}"
        );
        // The next run of the tool starts with an empty tap: nothing of this run shows there.
    }
    let r = emu.invoke("spin-lua", r#"{"spin": true}"#);
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{}", r.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(
        a["logs"].as_str().unwrap().matches("starting loop").count(),
        1
    );
}

#[test]
fn unworkable_tool_settings_are_warned_with_file_line_and_hint() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "odd",
        "cortexone_function.lua",
        "function cortexone_handler() return {statusCode = 200, body = 'ok'} end\n",
        "name = \"Odd\"\norganization = \"nobody\"\nsecrets = [\"NOPE\"]\nhttp = true\n",
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let out = emu.wait_for("ready on");
    let out = if out.contains("is not defined in emulator.toml") {
        out
    } else {
        emu.wait_for("is not defined in emulator.toml")
    };
    assert!(
        out.contains("warning in odd/tool.toml:2: organization = \"nobody\" is not an organization of this emulator"),
        "{out}"
    );
    assert!(out.contains("hint: use one of acme, broke, other"), "{out}");
    assert!(
        out.contains("warning in odd/tool.toml:3: secret \"NOPE\" is not defined in emulator.toml"),
        "{out}"
    );
    // `http = true` works since issue 14 (outbound HTTP with a network mode): no warning.
    assert!(!out.contains("tool.toml:4"), "{out}");
    // `cortex-emu test` shows them too.
    let (_, stdout, _) = run(
        &[
            "--in-memory",
            "--functions",
            functions.path().to_str().unwrap(),
            "test",
            "--allow-empty",
        ],
        functions.path(),
    );
    assert!(
        stdout.contains("warning in odd/tool.toml:2: organization"),
        "{stdout}"
    );
}

#[test]
fn keys_are_revoked_by_name_and_expiry_reads_as_the_last_day() {
    let state = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let _emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    let c = |args: &[&str]| client_cmd(state.path(), args);
    let (code, out, err) = c(&["keys", "create", "laptop", "--expires", "2027-06-30"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("expires 2027-06-30 (end of day UTC)"), "{out}");
    let (_, list, _) = c(&["keys", "list"]);
    assert!(list.contains("2027-06-30 (end of day UTC)"), "{list}");
    let (code, _, err) = c(&["keys", "revoke", "nobody"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no key of acme is called or starts with \"nobody\""),
        "{err}"
    );
    let (code, out, err) = c(&["keys", "revoke", "laptop"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("revoked key \"laptop\""), "{out}");
    let (_, list, _) = c(&["keys", "list"]);
    let laptop = list.lines().find(|l| l.contains("laptop")).unwrap();
    assert!(laptop.ends_with("revoked"), "{list}");
}

#[test]
fn the_admin_api_takes_json_sent_as_a_form_by_curl_d() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let resp = client()
        .post(format!(
            "{}/_emulator/v1/organizations/acme/wallet/topup",
            emu.base
        ))
        .bearer_auth(ADMIN)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(r#"{"amount": "2.5"}"#)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().unwrap();
    assert_eq!(v["credited"], "2.5");
    // Still judged as JSON.
    let resp = client()
        .post(format!(
            "{}/_emulator/v1/organizations/acme/wallet/topup",
            emu.base
        ))
        .bearer_auth(ADMIN)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("amount=2.5")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("not the JSON this route takes"),
        "{v}"
    );
}

#[test]
fn a_saved_env_file_reaches_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let functions = dir.path().join("tools");
    std::fs::create_dir_all(&functions).unwrap();
    write_tool(
        &functions,
        "greet",
        "cortexone_function.py",
        "import os\ndef cortexone_handler(event, context):\n    return {'statusCode': 200, 'body': {'g': os.environ.get('WORD', '')}}\n",
        "secrets = [\"WORD\"]\n",
    );
    std::fs::write(dir.path().join(".env"), "CORTEX_WORD=first\n").unwrap();
    let emu = Emu::start_in(
        dir.path(),
        &functions,
        &config_text("WORD = { env = \"CORTEX_WORD\" }\n"),
    );
    assert_eq!(emu.invoke("greet", "{}").inner(), json!({"g": "first"}));
    std::fs::write(dir.path().join(".env"), "CORTEX_WORD=second\n").unwrap();
    let out = emu.wait_for("WORD changed");
    assert!(
        !out.contains("second"),
        "the value must not be printed:\n{out}"
    );
    assert_eq!(emu.invoke("greet", "{}").inner(), json!({"g": "second"}));
}

#[test]
fn invoke_takes_a_gateway_request_body_as_the_event_and_says_so() {
    let functions = tempfile::tempdir().unwrap();
    echo_tool(functions.path());
    let event = functions.path().join("body.json");
    std::fs::write(&event, r#"{"event": {"say": "wrapped"}}"#).unwrap();
    let (code, out, err) = run(
        &[
            "--in-memory",
            "--functions",
            functions.path().to_str().unwrap(),
            "invoke",
            "echo",
            "--event",
            event.to_str().unwrap(),
        ],
        functions.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#"\"said\": \"wrapped\""#), "{out}");
    assert!(
        err.contains("note: the file is a gateway request body"),
        "{err}"
    );
}

#[test]
fn small_things_users_notice() {
    let scratch = tempfile::tempdir().unwrap();
    // A missing functions folder: one note, not also a read error.
    let missing = scratch.path().join("new-tools");
    let mut emu = Emu::spawn({
        let mut c = Command::new(binary());
        c.current_dir(scratch.path())
            .args(["--in-memory", "--port", "0", "--functions"])
            .arg(&missing);
        c
    });
    let out = emu.wait_for("ready on");
    assert!(out.contains("created the empty functions folder"), "{out}");
    assert!(!out.contains("No such file"), "{out}");
    emu.kill_hard();

    // Port errors say what a port is.
    let (code, _, err) = run(&["--port", "99999", "reset"], scratch.path());
    assert_eq!(code, 2);
    assert!(err.contains("give a number from 1 to 65535, or 0"), "{err}");
    assert!(!err.contains("u16"), "{err}");

    // Server options are listed where they apply, and every argument has help.
    let (_, help, _) = run(&["keys", "list", "--help"], scratch.path());
    assert!(
        !help.contains("--port") && !help.contains("--in-memory"),
        "{help}"
    );
    assert!(
        help.contains("--org <SLUG>") && help.contains("The organization's slug"),
        "{help}"
    );
    assert!(help.contains("Print JSON for scripts"), "{help}");
    let (_, help, _) = run(&["serve", "--help"], scratch.path());
    assert!(
        help.contains("--port") && help.contains("--in-memory"),
        "{help}"
    );
    let (_, help, _) = run(&["wallet", "--help"], scratch.path());
    assert!(
        help.contains("balance  Print the balance")
            && help.contains("ledger   List ledger entries"),
        "{help}"
    );
    let (_, help, _) = run(&["invoke", "--help"], scratch.path());
    assert!(help.contains("<TOOL>  The tool id"), "{help}");

    // Shell completions.
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, _) = run(&["completions", shell], scratch.path());
        assert_eq!(code, 0);
        assert!(
            script.contains("cortex-emu") && script.contains("activations"),
            "{shell}"
        );
    }

    // JUnit of an empty run has no negative time.
    let empty = scratch.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let junit = scratch.path().join("junit.xml");
    let (code, _, _) = run(
        &[
            "--in-memory",
            "--functions",
            empty.to_str().unwrap(),
            "test",
            "--allow-empty",
            "--junit",
            junit.to_str().unwrap(),
        ],
        scratch.path(),
    );
    assert_eq!(code, 0);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("time=\"0.000\"") && !xml.contains("-0"),
        "{xml}"
    );
}

#[test]
fn the_banner_aligns_long_names_and_run_lines_name_the_tool_by_id() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "a",
        "cortexone_function.lua",
        "function cortexone_handler() return {statusCode = 200, body = 'ok'} end\n",
        "name = \"A tool with a display name much longer than twenty-four characters\"\n",
    );
    lua(
        functions.path(),
        "b-tool-with-a-long-id-beyond-the-old-columns",
        "function cortexone_handler() return {statusCode = 200, body = 'ok'} end\n",
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let out = emu.wait_for("admin token");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("  tool ")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    let col = |l: &str| l.find(" id ").unwrap();
    assert_eq!(col(rows[0]), col(rows[1]), "{out}");
    let runtime_col = |l: &str| l.find("lua").unwrap();
    assert_eq!(runtime_col(rows[0]), runtime_col(rows[1]), "{out}");
    emu.invoke("a", "{}");
    let out = emu.wait_for("a@draft");
    assert!(!out.contains("twenty-four characters@"), "{out}");
}

#[test]
fn python_errors_read_as_cpython_and_point_at_the_users_files() {
    let functions = tempfile::tempdir().unwrap();
    py(
        functions.path(),
        "colon",
        "def cortexone_handler(event, context)\n    return {'statusCode': 200}\n",
    );
    py(
        functions.path(),
        "deep",
        "def helper():\n    return 1 / 0\n\n\ndef cortexone_handler(event, context):\n    return helper()\n",
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    emu.wait_for("error in colon/cortexone_function.py:1: SyntaxError: expected ':'");
    let r = emu.invoke("deep", "{}");
    // The envelope keeps the platform's words.
    assert_eq!(
        r.inner(),
        json!({"error": "Runtime error: division by zero"})
    );
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{}", r.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    let error = a["error"].as_str().unwrap();
    let local = functions.path().join("deep/cortexone_function.py");
    assert_eq!(
        error,
        format!(
            "Traceback (most recent call last):\n  File \"{p}\", line 6, in cortexone_handler\n    return helper()\n  File \"{p}\", line 2, in helper\n    return 1 / 0\n           ~~^~~\nZeroDivisionError: division by zero\n",
            p = local.display()
        ),
        "{error}"
    );
    let logs = a["logs"].as_str().unwrap();
    assert!(
        !logs.contains("harness") && !logs.contains("/var/task"),
        "{logs}"
    );
}

#[test]
fn mcp_tools_answer_json_rpc_without_a_status_code_warning() {
    let emu = Emu::start_with(&samples(), &config_text(""));
    let r = emu.invoke(
        "mcp-python",
        r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{}", r.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(a["logs"], "", "{a}");
    // A function tool that returns a bare value still gets the warning.
    let functions = tempfile::tempdir().unwrap();
    lua(
        functions.path(),
        "bare",
        "function cortexone_handler() return {ok = true} end\n",
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let r = emu.invoke("bare", "{}");
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{}", r.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    assert!(
        a["logs"].as_str().unwrap().contains("without statusCode"),
        "{a}"
    );
}
