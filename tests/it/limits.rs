//! Runaway handlers: infinite loops, deep recursion, native stack overflows, deep and cyclic
//! return values and memory bombs end as a 500 or 408, and the very next request succeeds.

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::json;

fn assert_next_request_succeeds(emu: &Emu) {
    for tool in ["py-hello", "js-hello", "lua-hello"] {
        let r = emu.invoke(tool, r#"{"name": "Ada"}"#);
        assert_eq!(
            r.body, r#"{"statusCode": 200, "body": "{\"message\": \"Hello, Ada!\"}"}"#,
            "{tool} after a failure"
        );
    }
}

fn worker_pids(emu: &Emu) -> Vec<u64> {
    let h = emu.health();
    h["workers"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|pids| pids.as_array().unwrap().iter().map(|p| p.as_u64().unwrap()))
        .collect()
}

/// Workers that left the pool during a run are gone (or zombies waiting to be reaped): none is
/// still burning CPU on a stopped run.
fn assert_gone(before: &[u64], after: &[u64]) {
    for pid in before.iter().filter(|p| !after.contains(p)) {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            assert!(
                state == "Z" || state == "X",
                "worker {pid} is still alive in state {state}"
            );
        }
    }
}

#[test]
fn infinite_loops_end_as_408_in_every_language() {
    let dir = fixtures_dir();
    let emu = Emu::start_with(dir.path(), &config_text(""));
    for tool in [
        "py-loop",
        "py-loop-except",
        "py-native-loop",
        "js-loop",
        "js-native-loop",
        "lua-loop",
        "lua-pcall-loop",
    ] {
        let before = worker_pids(&emu);
        let started = Instant::now();
        let r = emu.invoke(tool, "{}");
        let took = started.elapsed();
        assert_eq!(r.status, 408, "{tool}: {}", r.body);
        assert!(
            took < Duration::from_secs(3),
            "{tool} took {took:?} with a 2 s timeout"
        );
        assert_gone(&before, &worker_pids(&emu));
        assert_next_request_succeeds(&emu);
    }
}

#[test]
fn deep_recursion_is_a_runtime_error() {
    let r = shared().invoke("py-recursion", "{}");
    assert_eq!(r.status, 200);
    let v = r.inner();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("Runtime error: maximum recursion depth exceeded"),
        "{v}"
    );
    let r = shared().invoke("js-recursion", "{}");
    assert_eq!(
        r.inner(),
        json!({"error": "Script execution failed", "type": "RangeError", "details": "Maximum call stack size exceeded"})
    );
    let r = shared().invoke("lua-recursion", "{}");
    let v = r.inner();
    assert_eq!(v["type"], "RuntimeError");
    assert!(
        v["details"].as_str().unwrap().contains("stack overflow"),
        "{v}"
    );
    assert_next_request_succeeds(shared());
}

#[test]
fn native_stack_overflow_is_contained() {
    // Deep recursion through a native builtin (`map`) is stopped by Boa's stack limit.
    let r = shared().invoke("js-native-recursion", "{}");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.inner(),
        json!({"error": "Script execution failed", "type": "RangeError", "details": "Maximum call stack size exceeded"})
    );
    assert_next_request_succeeds(shared());
    // Boa's JSON.stringify recurses natively with no limit: on deep data the worker process
    // overflows its stack and dies. The run is reported in V8's words; the server carries on.
    let r = shared().invoke("js-deep-stringify", "{}");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.inner(),
        json!({"error": "Script execution failed", "type": "RangeError", "details": "Maximum call stack size exceeded"})
    );
    // The run's line (with the worker's end under it) reaches the terminal shortly after.
    shared().wait_for("javascript worker process killed by signal");
    assert_next_request_succeeds(shared());
}

#[test]
fn deep_and_cyclic_return_values_are_runtime_errors() {
    for tool in [
        "py-deep",
        "py-cycle",
        "js-deep",
        "js-cycle",
        "lua-deep",
        "lua-cycle",
    ] {
        let r = shared().invoke(tool, "{}");
        assert_eq!(r.status, 200, "{tool}");
        let env: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(env["statusCode"], 500, "{tool}: {}", r.body);
    }
    let v = shared().invoke("py-cycle", "{}").inner();
    assert_eq!(
        v,
        json!({"error": "Runtime error: Circular reference detected"})
    );
    let v = shared().invoke("js-cycle", "{}").inner();
    assert_eq!(v["details"], "Converting circular structure to JSON");
    assert_next_request_succeeds(shared());
}

#[test]
fn memory_bombs_are_runtime_errors() {
    let dir = fixtures_dir();
    let emu = Emu::start_with(dir.path(), &config_text(""));
    for tool in [
        "py-membomb",
        "py-memgrow",
        "js-membomb",
        "js-bigalloc",
        "js-memgrow",
        "lua-membomb",
        "lua-memgrow",
    ] {
        let r = emu.invoke(tool, "{}");
        let env: serde_json::Value =
            serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("{tool}: {}", r.body));
        assert!(
            (r.status == 200 && env["statusCode"] == 500) || r.status == 408,
            "{tool}: {} {}",
            r.status,
            r.body
        );
        assert_next_request_succeeds(&emu);
    }
    let v = emu.invoke("lua-membomb", "{}").inner();
    assert_eq!(
        v,
        json!({"error": "Script execution failed", "type": "RuntimeError", "details": "not enough memory"})
    );
    let v = emu.invoke("py-memgrow", "{}").inner();
    assert!(v["error"].as_str().unwrap().contains("memory"), "{v}");
}

/// Issue 15: Lua runs on the server's own threads, so a runaway loop there must neither stop the
/// server nor hold up other runs: a hello answers while the loop is still spinning, and the loop
/// still ends as 408.
#[test]
fn a_spinning_lua_run_in_process_does_not_hold_up_other_runs() {
    let dir = fixtures_dir();
    let emu = Emu::start_with(dir.path(), &config_text(""));
    assert!(
        emu.health()["workers"]["lua"]
            .as_array()
            .unwrap()
            .is_empty(),
        "Lua runs in process by default: {}",
        emu.health()
    );
    let base = emu.base.clone();
    let spinner = std::thread::spawn(move || {
        client()
            .post(format!("{base}/api/v1/functions/lua-loop/invoke"))
            .header("Authorization", KEY)
            .body(r#"{"event": {}}"#)
            .send()
            .unwrap()
            .status()
            .as_u16()
    });
    // Wait until the loop is running (no sleep: the in-flight count says so).
    while emu.health()["runs_in_flight"] != 1 {
        std::thread::yield_now();
    }
    for tool in ["lua-hello", "lua-membomb", "lua-recursion"] {
        let r = emu.invoke(tool, "{}");
        assert_eq!(r.status, 200, "{tool}: {}", r.body);
    }
    assert!(
        !spinner.is_finished(),
        "the other runs answered while the loop was still spinning"
    );
    assert_eq!(spinner.join().unwrap(), 408);
    assert_next_request_succeeds(&emu);
}

/// The deadline follows a run into coroutines (a hook set on the main Lua thread alone did not).
#[test]
fn a_lua_loop_inside_a_coroutine_ends_as_408() {
    let dir = fixtures_dir();
    write_tool(
        dir.path(),
        "lua-coroutine-loop",
        "cortexone_function.lua",
        "function cortexone_handler(event, context)\n  coroutine.wrap(function() while true do end end)()\n  return {statusCode = 200, body = 'never'}\nend\n",
        "timeout = 1\n",
    );
    // One slot: a loop still spinning after its 408 would hold it, and the next Lua run wait.
    let emu = Emu::start_with(dir.path(), &config_text("\n[executor]\nworkers = 1\n"));
    let r = emu.invoke("lua-coroutine-loop", "{}");
    assert_eq!(r.status, 408, "{}", r.body);
    assert_next_request_succeeds(&emu);
}
