//! The handler contract per language (PLATFORM.md §2.1–§2.3): documented examples, environment,
//! sandbox, isolation between runs, captured output and error wording.

use crate::common::*;
use serde_json::json;

#[test]
fn documented_sum_and_mean_in_three_languages() {
    let r = shared().invoke("py-sum", r#"{"numbers": [1, 2, 3, 4]}"#);
    assert_eq!(
        r.body,
        r#"{"statusCode": 200, "body": "{\"sum\": 10, \"mean\": 2.5}"}"#
    );
    let r = shared().invoke("js-sum", r#"{"numbers": [1, 2, 3, 4]}"#);
    assert_eq!(
        r.body,
        r#"{"statusCode": 200, "body": "{\"sum\": 10, \"mean\": 2.5, \"half\": 5}"}"#
    );
    // Lua numbers with integral values encode as integers (10/2 gives 5, not 5.0); keys sorted.
    let r = shared().invoke("lua-sum", r#"{"numbers": [1, 2, 3, 4]}"#);
    assert_eq!(
        r.inner(),
        json!({"count": 4, "half": 5, "mean": 2.5, "sum": 10})
    );
    assert!(r.body.contains(r#"\"half\": 5,"#), "{}", r.body);
}

#[test]
fn lua_json_module_decodes_and_encodes() {
    let r = shared().invoke(
        "lua-json",
        r#"{"payload": "{\"items\": [\"a\", \"b\", \"c\"]}"}"#,
    );
    assert_eq!(
        r.inner(),
        json!({"encoded": "{\"a\":[1,2],\"b\":1}", "first": "a", "n": 3})
    );
}

#[test]
fn secrets_are_the_whole_environment() {
    let r = shared().invoke("py-env", "{}");
    assert_eq!(
        r.inner(),
        json!({"keys": ["API_TOKEN"], "token": "s3cr3t", "path": null, "leak": null})
    );
    let r = shared().invoke("js-env", "{}");
    assert_eq!(
        r.inner(),
        json!({"keys": ["API_TOKEN"], "token": "s3cr3t", "path": true, "ctx": 0})
    );
    let r = shared().invoke("lua-env", "{}");
    assert_eq!(
        r.inner(),
        json!({"keys": ["API_TOKEN"], "token": "s3cr3t", "path": true})
    );
}

#[test]
fn unattached_secrets_are_not_visible() {
    // py-hello attaches nothing; its environment is empty even though GREETING is configured.
    let r = shared().invoke("py-env", "{}");
    assert!(!r.body.contains("Hello"));
}

#[test]
fn python_context_carries_execution_metadata() {
    let r = shared().invoke("py-context", "{}");
    assert_eq!(
        r.inner(),
        json!({"function_id": "py-context", "version": "draft", "org": "acme", "has_id": true, "remaining": true})
    );
}

#[test]
fn python_stdlib_modules_import() {
    let r = shared().invoke("py-stdlib", "{}");
    assert_eq!(
        r.inner(),
        json!({"sha": "ba7816bf", "b64": "aGk=", "q": "a%20b", "uuid_len": 36, "sqrt": 4.0, "year": 2024, "re": "cxt", "rand": true, "count": 2})
    );
}

#[test]
fn python_multi_module_tool_and_data_files() {
    let emu = Emu::start_with(&samples(), &config_text(""));
    let r = emu.invoke(
        "stats-python",
        r#"{"numbers": [1, 2, 3, 4], "unit": "eur"}"#,
    );
    assert_eq!(
        r.inner(),
        json!({"sum": 10, "mean": 2.5, "count": 4, "unit": "EUR"})
    );
    let r = emu.invoke("greet-secret-python", r#"{"name": "Ada"}"#);
    assert_eq!(r.inner(), json!({"message": "Hello, Ada!"}));
    let r = emu.invoke("json-lua", r#"{"payload": "{\"numbers\": [1, 2, 3]}"}"#);
    assert_eq!(
        r.inner(),
        json!({"count": 3, "encoded": "{\"sum\":6}", "mean": 2, "sum": 6})
    );
}

#[test]
fn python_files_are_the_tools_own() {
    let r = shared().invoke("py-files", "{}");
    assert_eq!(
        r.inner(),
        json!({"text": "from a data file", "escaped": false, "exists": true})
    );
}

#[test]
fn python_sandbox_has_no_host_access() {
    let r = shared().invoke("py-sandbox", "{}");
    let v = r.inner();
    assert_eq!(v["system"], "PermissionError", "{v}");
    assert_eq!(v["remove"], "PermissionError", "{v}");
    assert_eq!(v["subprocess"], "blocked", "{v}");
    // `socket` imports (issue 14), but a raw socket is refused: only HTTP goes out, and only
    // through the network mode.
    assert_eq!(v["socket"], "blocked", "{v}");
}

#[test]
fn lua_sandbox_matches_the_platform_table() {
    let r = shared().invoke("lua-sandbox", "{}");
    assert_eq!(
        r.inner(),
        json!({"io": true, "package": true, "load": true, "loadstring": true, "dofile": true, "loadfile": true,
               "execute": true, "getenv": true, "time": true, "require_os": false, "require_err": true})
    );
}

#[test]
fn module_state_never_leaks_between_runs() {
    for tool in ["py-state", "js-state"] {
        for _ in 0..3 {
            let r = shared().invoke(tool, "{}");
            let v = r.inner();
            assert_eq!(v["count"], 1, "{tool}: {v}");
        }
    }
}

#[test]
fn python_error_wording() {
    let r = shared().invoke("py-keyerror", "{}");
    assert_eq!(
        r.body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Runtime error: 'missing'\"}"}"#
    );
    let r = shared().invoke("py-syntax", "{}");
    assert_eq!(r.status, 200);
    let v = r.inner();
    assert!(
        v["error"].as_str().unwrap().starts_with("Runtime error: "),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("line 1"), "{v}");
    let r = shared().invoke("py-noentry", "{}");
    assert_eq!(
        r.body,
        r#"{"statusCode": 500, "body": "{\"error\": \"Runtime error: module 'cortexone_function' has no attribute 'cortexone_handler'\"}"}"#
    );
}

#[test]
fn javascript_error_wording() {
    let r = shared().invoke("js-throw", "{}");
    assert_eq!(
        r.inner(),
        json!({"error": "Script execution failed", "type": "MyError", "details": "custom failure"})
    );
    let r = shared().invoke("js-typeerror", "{}");
    assert_eq!(r.inner()["type"], "TypeError");
    let r = shared().invoke("js-syntax", "{}");
    assert_eq!(r.inner()["type"], "SyntaxError");
    let r = shared().invoke("js-timer", "{}");
    assert_eq!(
        r.inner(),
        json!({"error": "Script execution failed", "type": "ReferenceError", "details": "setTimeout is not defined"})
    );
    for tool in ["js-promise", "js-async"] {
        let v = shared().invoke(tool, "{}").inner();
        assert_eq!(v["type"], "TypeError", "{tool}");
        assert!(
            v["details"].as_str().unwrap().contains("synchronously"),
            "{tool}: {v}"
        );
    }
}

#[test]
fn lua_error_wording() {
    let r = shared().invoke("lua-error", "{}");
    assert_eq!(
        r.inner(),
        json!({"error": "Script execution failed", "type": "RuntimeError", "details": "boom"})
    );
    let r = shared().invoke("lua-syntax", "{}");
    assert_eq!(r.status, 200);
    assert_eq!(r.inner()["error"], "Script execution failed");
}

#[test]
fn handler_output_is_printed_under_the_run_line() {
    for tool in ["py-print", "js-console", "lua-print"] {
        assert_eq!(shared().invoke(tool, "{}").status, 200);
    }
    // The run lines are printed before each answer leaves; the test reads them from a pipe.
    let out = shared().wait_for("    hello from lua\t1\ttrue");
    assert!(out.contains("    hello from python"), "{out}");
    assert!(out.contains("    hello from js 42 {\"a\":1}"), "{out}");
    assert!(out.contains("    oops"), "{out}");
    assert!(out.contains("    hello from lua\t1\ttrue"), "{out}");
}
