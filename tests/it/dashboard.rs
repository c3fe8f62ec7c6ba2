//! Issue 16: the dashboard's page and the admin routes it stands on (a tool's detail, invoke as
//! the client sees it, test cases, replay), over HTTP and the CLI. `.ci/run` drives the page
//! itself in Chromium (tests/interop/dashboard.py).

use std::process::Command;

use serde_json::{json, Value};

use crate::common::*;

fn greeter(dir: &std::path::Path, greeting: &str) {
    lua(
        dir,
        "greeter",
        &format!(
            "function cortexone_handler(event, context)\n  return {{statusCode = 200, body = {{message = '{greeting}, ' .. event.name}}}}\nend\n"
        ),
    );
}

#[test]
fn the_dashboard_is_served_without_a_token_and_the_banner_links_it() {
    let emu = shared();
    let page = client()
        .get(format!("{}/_emulator/ui/", emu.base))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().unwrap();
    assert!(
        html.contains("app.js") && html.contains("app.css"),
        "{html}"
    );
    for (asset, kind) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
    ] {
        let r = client()
            .get(format!("{}/_emulator/ui/{asset}", emu.base))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert_eq!(r.headers()["content-type"], kind, "{asset}");
    }
    let bare = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/_emulator/ui", emu.base))
        .send()
        .unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/_emulator/ui/");
    let banner = emu.output.lock().unwrap().clone();
    assert!(
        banner.contains(&format!(
            "dashboard: {}/_emulator/ui/#token={ADMIN}",
            emu.base
        )),
        "{banner}"
    );
}

#[test]
fn a_tool_page_shows_its_cases_invokes_as_the_client_and_runs_its_tests() {
    let emu = shared();
    let (status, tool) = emu.admin("GET", "/tools/lua-hello", None, Some(ADMIN));
    assert_eq!(status, 200, "{tool}");
    assert_eq!(tool["tool"]["runtime"], "lua");
    assert_eq!(tool["problem"], Value::Null);
    let (status, missing) = emu.admin("GET", "/tools/nope", None, Some(ADMIN));
    assert_eq!(
        (status, missing),
        (404, json!({"error": "no tool with id \"nope\""}))
    );

    let (status, done) = emu.admin(
        "POST",
        "/tools/lua-hello/invoke",
        Some(json!({"event": {"name": "Page"}})),
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], 200);
    assert_eq!(
        done["body"],
        r#"{"statusCode": 200, "body": "{\"message\": \"Hello, Page!\"}"}"#
    );
    let id = done["activation_id"].as_str().unwrap();
    let (_, a) = emu.admin("GET", &format!("/activations/{id}"), None, Some(ADMIN));
    assert_eq!(a["event"], json!({"name": "Page"}));
    assert_eq!(a["organization"], "acme");

    // A version that does not exist answers as the invoke route does.
    let (_, v) = emu.admin(
        "POST",
        "/tools/lua-hello/invoke",
        Some(json!({"event": {}, "version": "9.9.9"})),
        Some(ADMIN),
    );
    assert_eq!(v["status"], 404, "{v}");
    // Without the token, nothing.
    let (status, _) = emu.admin(
        "POST",
        "/tools/lua-hello/invoke",
        Some(json!({"event": {}})),
        None,
    );
    assert_eq!(status, 401);
}

#[test]
fn the_dashboards_invoke_answers_with_an_injected_fault_like_the_invoke_route() {
    let functions = tempfile::tempdir().unwrap();
    greeter(functions.path(), "Hi");
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let (status, fault) = emu.admin(
        "POST",
        "/faults",
        Some(json!({"response": "G402", "tool": "greeter", "times": 1})),
        Some(ADMIN),
    );
    assert_eq!(status, 201, "{fault}");
    let invoke = || {
        emu.admin(
            "POST",
            "/tools/greeter/invoke",
            Some(json!({"event": {"name": "Ada"}})),
            Some(ADMIN),
        )
        .1
    };
    let forced = invoke();
    assert_eq!(forced["status"], 402, "{forced}");
    assert!(forced["fault"].is_string(), "{forced}");
    let injected = forced["activation_id"].as_str().unwrap().to_string();
    let (_, a) = emu.admin(
        "GET",
        &format!("/activations/{injected}"),
        None,
        Some(ADMIN),
    );
    assert_eq!(a["injected"], true);
    // The fault was for one request.
    assert_eq!(invoke()["status"], 200);
    // An injected answer ran nothing: there is nothing to replay.
    let (status, refused) = emu.admin(
        "POST",
        &format!("/activations/{injected}/replay"),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"]
        .as_str()
        .unwrap()
        .contains("fault injection"));
}

#[test]
fn test_cases_run_from_the_admin_api_with_their_verdicts() {
    let functions = tempfile::tempdir().unwrap();
    greeter(functions.path(), "Hi");
    let tests = functions.path().join("greeter/tests");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(
        tests.join("good.json"),
        r#"{"event": {"name": "Ada"}, "expect": {"statusCode": 200, "body": {"message": "Hi, Ada"}}}"#,
    )
    .unwrap();
    std::fs::write(
        tests.join("bad.json"),
        r#"{"event": {"name": "Bob"}, "expect": {"statusCode": 200, "body": {"message": "Hello, Bob"}}}"#,
    )
    .unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let (_, detail) = emu.admin("GET", "/tools/greeter", None, Some(ADMIN));
    let names: Vec<&str> = detail["test_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bad", "good"]);
    assert_eq!(detail["test_cases"][1]["event"], json!({"name": "Ada"}));
    let (status, run) = emu.admin("POST", "/tools/greeter/test", None, Some(ADMIN));
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        (run["passed"].clone(), run["failed"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(run["cases"][0]["name"], "bad");
    assert_eq!(run["cases"][0]["passed"], false);
    assert!(
        run["cases"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Hello, Bob"),
        "{run}"
    );
    // Test runs are not activations.
    let (_, list) = emu.admin("GET", "/activations?tool=greeter", None, Some(ADMIN));
    assert_eq!(list["activations"], json!([]));
}

#[test]
fn replay_runs_the_event_against_the_current_draft_or_the_same_version() {
    let functions = tempfile::tempdir().unwrap();
    greeter(functions.path(), "Hi");
    let state = tempfile::tempdir().unwrap();
    let emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    let first = emu.invoke("greeter", r#"{"name": "Ada"}"#);
    assert_eq!(first.inner(), json!({"message": "Hi, Ada"}));
    let original = first.activation_id.clone().unwrap();

    // The same code: the same answer, a new activation that names the original.
    let (status, both) = emu.admin(
        "POST",
        &format!("/activations/{}/replay", &original[..8]),
        Some(json!({"same_version": true})),
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{both}");
    assert_eq!(both["original"]["id"], original.as_str());
    assert_eq!(both["replay"]["replay_of"], original.as_str());
    assert_ne!(both["replay"]["id"], both["original"]["id"]);
    assert_eq!(both["replay"]["response"], both["original"]["response"]);
    assert_eq!(both["replay"]["event"], json!({"name": "Ada"}));

    // Edit the tool; a replay runs the new draft, `same_version` refuses (that code is gone).
    greeter(functions.path(), "Hello");
    emu.wait_for("greeter");
    while emu.invoke("greeter", r#"{"name": "x"}"#).inner() != json!({"message": "Hello, x"}) {
        std::thread::yield_now();
    }
    let (status, both) = emu.admin(
        "POST",
        &format!("/activations/{original}/replay"),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{both}");
    assert_eq!(
        both["replay"]["response"]["body"],
        r#"{"message": "Hello, Ada"}"#
    );
    assert_eq!(
        both["original"]["response"]["body"],
        r#"{"message": "Hi, Ada"}"#
    );
    assert_ne!(both["replay"]["code_hash"], both["original"]["code_hash"]);
    let (status, refused) = emu.admin(
        "POST",
        &format!("/activations/{original}/replay"),
        Some(json!({"same_version": true})),
        Some(ADMIN),
    );
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("has changed since"),
        "{refused}"
    );
    let (status, _) = emu.admin("POST", "/activations/nope/replay", None, Some(ADMIN));
    assert_eq!(status, 404);
    let (status, bad) = emu.admin(
        "POST",
        &format!("/activations/{original}/replay"),
        Some(json!({"same_versoin": true})),
        Some(ADMIN),
    );
    assert_eq!(status, 400, "{bad}");

    // The CLI: the new answer and what changed.
    let port = emu.base.rsplit(':').next().unwrap().to_string();
    let config = state.path().join("emulator.toml");
    let out = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args(["--port", &port, "replay", &original])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("the response changed:"), "{stdout}");
    assert!(
        stdout
            .contains("- {\"statusCode\": 200, \"body\": \"{\\\"message\\\": \\\"Hi, Ada\\\"}\"}"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "+ {\"statusCode\": 200, \"body\": \"{\\\"message\\\": \\\"Hello, Ada\\\"}\"}"
        ),
        "{stdout}"
    );
    let out = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args(["--port", &port, "replay", &original, "--same-version"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has changed since"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_openapi_document_covers_the_dashboards_routes() {
    let doc: Value = client()
        .get(format!("{}/_emulator/openapi.json", shared().base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for (path, method) in [
        ("/_emulator/v1/activations/{id}/replay", "post"),
        ("/_emulator/v1/tools/{id}", "get"),
        ("/_emulator/v1/tools/{id}/invoke", "post"),
        ("/_emulator/v1/tools/{id}/test", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from {}",
            doc["paths"]
        );
    }
    assert!(
        doc["paths"]["/_emulator/v1/tools/{id}/invoke"]["post"]["requestBody"].is_object(),
        "{}",
        doc["paths"]["/_emulator/v1/tools/{id}/invoke"]
    );
}
