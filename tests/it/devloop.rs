//! The dev loop: hot reload through the real watcher, versions and publishing, `cortex-emu test`,
//! `invoke` and `init` as processes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::json;

/// Waits (polling the emulator's output) until `pattern` has appeared `count` times.
fn wait_for_lines(emu: &Emu, pattern: &str, count: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = emu.output.lock().unwrap().clone();
        if out.matches(pattern).count() >= count {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {count} x {pattern:?} in:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn message(emu: &Emu, tool: &str) -> serde_json::Value {
    emu.invoke(tool, "{}").inner()["message"].clone()
}

fn lua_tool(dir: &Path, name: &str, message: &str) {
    write_tool(
        dir,
        name,
        "cortexone_function.lua",
        &format!("function cortexone_handler(event, context)\n  return {{statusCode = 200, body = {{message = \"{message}\"}}}}\nend\n"),
        "",
    );
}

fn py_tool(dir: &Path, name: &str, message: &str) {
    write_tool(
        dir,
        name,
        "cortexone_function.py",
        &format!("def cortexone_handler(event, context):\n    return {{\"statusCode\": 200, \"body\": {{\"message\": \"{message}\"}}}}\n"),
        "",
    );
}

#[test]
fn hot_reload_edit_break_fix_rename_delete_create() {
    let dir = tempfile::tempdir().unwrap();
    py_tool(dir.path(), "greeter", "v1");
    lua_tool(dir.path(), "other", "o1");
    let emu = Emu::start_with(dir.path(), &config_text(""));
    assert_eq!(message(&emu, "greeter"), "v1");

    // Edit → new code served.
    py_tool(dir.path(), "greeter", "v2");
    wait_for_lines(&emu, "reloaded greeter (cortexone_function.py changed)", 1);
    assert_eq!(message(&emu, "greeter"), "v2");

    // Syntax error → the previous revision keeps serving; the error is printed with file and line
    // and recorded.
    std::fs::write(
        dir.path().join("greeter/cortexone_function.py"),
        "def cortexone_handler(event, context)\n    return 1\n",
    )
    .unwrap();
    let out = wait_for_lines(&emu, "error in greeter/cortexone_function.py:1:", 1);
    assert!(out.contains("the previous revision keeps serving"), "{out}");
    assert_eq!(message(&emu, "greeter"), "v2");
    let problems = emu.health()["problems"].clone();
    assert_eq!(problems[0]["folder"], "greeter", "{problems}");

    // Fix → picked up on the next save.
    py_tool(dir.path(), "greeter", "v3");
    wait_for_lines(&emu, "reloaded greeter", 2);
    assert_eq!(message(&emu, "greeter"), "v3");
    assert_eq!(emu.health()["problems"], json!([]));

    // An editor that saves by writing a temp file and renaming it over: exactly one reload.
    let tmp = dir.path().join("greeter/.cortexone_function.py.swp");
    std::fs::write(&tmp, "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {\"message\": \"v4\"}}\n").unwrap();
    std::fs::rename(&tmp, dir.path().join("greeter/cortexone_function.py")).unwrap();
    // Truncate-then-write of the other tool: also one reload.
    let lua_file = dir.path().join("other/cortexone_function.lua");
    std::fs::write(&lua_file, "").unwrap();
    std::fs::write(&lua_file, "function cortexone_handler(event, context)\n  return {statusCode = 200, body = {message = \"o2\"}}\nend\n").unwrap();
    wait_for_lines(&emu, "reloaded greeter", 3);
    wait_for_lines(&emu, "reloaded other", 1);
    assert_eq!(message(&emu, "greeter"), "v4");
    assert_eq!(message(&emu, "other"), "o2");
    // A marker reload proves the watcher moved on; only then are the counts final.
    lua_tool(dir.path(), "marker", "m");
    let out = wait_for_lines(&emu, "reloaded marker (new tool)", 1);
    assert_eq!(out.matches("reloaded greeter").count(), 3, "{out}");
    assert_eq!(out.matches("reloaded other").count(), 1, "{out}");
    assert_eq!(message(&emu, "marker"), "m");

    // Delete → 404.
    std::fs::remove_dir_all(dir.path().join("other")).unwrap();
    wait_for_lines(&emu, "removed other", 1);
    assert_eq!(emu.invoke("other", "{}").status, 404);
}

#[test]
fn hot_reload_a_hundred_files_is_one_reload_per_tool() {
    let dir = tempfile::tempdir().unwrap();
    for t in ["a", "b", "c", "d"] {
        lua_tool(dir.path(), t, "before");
    }
    let emu = Emu::start_with(dir.path(), &config_text(""));
    // Like a `git checkout`: 100 files written at once across four tools.
    for t in ["a", "b", "c", "d"] {
        lua_tool(dir.path(), t, "after");
        std::fs::create_dir_all(dir.path().join(t).join("data")).unwrap();
        for i in 0..24 {
            std::fs::write(
                dir.path().join(t).join(format!("data/f{i}.txt")),
                format!("{t}{i}"),
            )
            .unwrap();
        }
    }
    for t in ["a", "b", "c", "d"] {
        wait_for_lines(&emu, &format!("reloaded {t} "), 1);
    }
    lua_tool(dir.path(), "marker", "m");
    let out = wait_for_lines(&emu, "reloaded marker", 1);
    for t in ["a", "b", "c", "d"] {
        assert_eq!(
            out.matches(&format!("reloaded {t} ")).count(),
            1,
            "{t}: {out}"
        );
        assert_eq!(message(&emu, t), "after");
    }
}

fn cli(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run cortex-emu")
}

#[test]
fn publish_versions_and_spellings() {
    let functions = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    lua_tool(functions.path(), "verse", "one");
    let emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    let config = state.path().join("emulator.toml");
    let port = emu.base.rsplit(':').next().unwrap().to_string();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "--config",
            config.to_str().unwrap(),
            "--port",
            &port,
            "--functions",
            functions.path().to_str().unwrap(),
            "--state",
        ];
        let st = state.path().join("state.db");
        let st = Box::leak(st.to_string_lossy().to_string().into_boxed_str());
        v.push(st);
        v.extend_from_slice(extra);
        v.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        cli(&a, state.path())
    };

    // Refused without test cases.
    let out = run(&["publish", "verse", "--bump", "patch"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at least one test case"),
        "{out:?}"
    );

    // Refused with a failing case, which is listed.
    std::fs::create_dir_all(functions.path().join("verse/tests")).unwrap();
    std::fs::write(
        functions.path().join("verse/tests/msg.json"),
        r#"{"event": {}, "expect": {"statusCode": 200, "body": {"message": "uno"}}}"#,
    )
    .unwrap();
    let out = run(&["publish", "verse", "--bump", "patch"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("msg") && err.contains(r#"body.message: expected "uno", got "one""#),
        "{err}"
    );

    // Passing → 1.0.0 through the running emulator's admin API.
    std::fs::write(
        functions.path().join("verse/tests/msg.json"),
        r#"{"event": {}, "expect": {"statusCode": 200, "body": {"message": "one"}}}"#,
    )
    .unwrap();
    let out = run(&["publish", "verse", "--bump", "minor"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("published verse@1.0.0"),
        "{out:?}"
    );

    // Edit the draft: the published version keeps its own code.
    lua_tool(functions.path(), "verse", "two");
    wait_for_lines(&emu, "reloaded verse", 1);
    let at = |v: &str| {
        emu.post(
            &format!("/api/v1/functions/verse/{v}/invoke"),
            Some(KEY),
            r#"{"event": {}}"#,
        )
    };
    for spelling in ["1.0", "1.0.0", "v1.0.0"] {
        assert_eq!(at(spelling).inner()["message"], "one", "{spelling}");
    }
    assert_eq!(at("draft").inner()["message"], "two");
    assert_eq!(
        message(&emu, "verse"),
        "one",
        "no version = latest published"
    );
    assert_eq!(at("2.0").status, 404);
    assert_eq!(
        at("2.0").body,
        r#"{"statusCode": 404, "body": "{\"error\": \"Function ID or version does not exist\"}"}"#
    );

    // A second publish bumps from the latest.
    std::fs::write(
        functions.path().join("verse/tests/msg.json"),
        r#"{"event": {}, "expect": {"statusCode": 200, "body": {"message": "two"}}}"#,
    )
    .unwrap();
    let out = run(&["publish", "verse", "--bump", "patch"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("published verse@1.0.1"),
        "{out:?}"
    );
    assert_eq!(message(&emu, "verse"), "two");
    assert_eq!(at("1.0").inner()["message"], "one");
    // The activation stores the revision's code hash.
    let hash = emu.invoke("verse", "{}");
    assert!(hash.activation_id.is_some());
}

#[test]
fn test_command_passes_on_samples_and_fails_with_a_diff() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("emulator.toml"), config_text("")).unwrap();
    let junit = scratch.path().join("junit.xml");
    let out = cli(
        &[
            "--config",
            "emulator.toml",
            "--functions",
            samples().to_str().unwrap(),
            "test",
            "--junit",
            junit.to_str().unwrap(),
        ],
        scratch.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .ends_with(" passed, 0 failed"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("failures"), Some("0"));
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert!(suites.len() >= 9);
    for s in &suites {
        assert_eq!(s.tag_name().name(), "testsuite");
        for c in s.children().filter(|n| n.is_element()) {
            assert_eq!(c.tag_name().name(), "testcase");
            assert!(
                c.attribute("name").is_some()
                    && c.attribute("classname").is_some()
                    && c.attribute("time").is_some()
            );
        }
    }

    // A deliberately broken copy fails, with a readable diff and JUnit failures.
    let broken = tempfile::tempdir().unwrap();
    lua_tool(broken.path(), "hello", "Hello, Bob!");
    std::fs::create_dir_all(broken.path().join("hello/tests")).unwrap();
    std::fs::write(
        broken.path().join("hello/tests/ada.json"),
        r#"{"event": {"name": "Ada"}, "expect": {"statusCode": 200, "body": {"message": "Hello, Ada!"}}}"#,
    )
    .unwrap();
    let out = cli(
        &[
            "--config",
            "emulator.toml",
            "--functions",
            broken.path().to_str().unwrap(),
            "test",
            "--junit",
            junit.to_str().unwrap(),
        ],
        scratch.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("FAIL hello/ada"), "{stdout}");
    assert!(
        stdout.contains(r#"body.message: expected "Hello, Ada!", got "Hello, Bob!""#),
        "{stdout}"
    );
    assert!(
        stdout.lines().last().unwrap() == "0 passed, 1 failed",
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("1"));
    assert!(doc.descendants().any(|n| n.has_tag_name("failure")));
}

#[test]
fn invoke_prints_the_envelope_and_logs() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("emulator.toml"), config_text("")).unwrap();
    std::fs::write(scratch.path().join("event.json"), r#"{"name": "Ada"}"#).unwrap();
    let functions = fixtures_dir();
    let out = cli(
        &[
            "--config",
            "emulator.toml",
            "--functions",
            functions.path().to_str().unwrap(),
            "--in-memory",
            "invoke",
            "py-print",
            "--event",
            "event.json",
        ],
        scratch.path(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"statusCode\": 200, \"body\": \"{}\"}\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("hello from python"));
    let out = cli(
        &[
            "--config",
            "emulator.toml",
            "--functions",
            functions.path().to_str().unwrap(),
            "--in-memory",
            "invoke",
            "lua-hello",
            "--event",
            "event.json",
        ],
        scratch.path(),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"statusCode\": 200, \"body\": \"{\\\"message\\\": \\\"Hello, Ada!\\\"}\"}\n"
    );
}

#[test]
fn init_scaffolds_tools_that_pass_their_tests() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("emulator.toml"), config_text("")).unwrap();
    let functions = scratch.path().join("tools");
    std::fs::create_dir_all(&functions).unwrap();
    let f = functions.to_str().unwrap();
    for (name, runtime, mcp) in [
        ("py-fn", "python", false),
        ("js-fn", "javascript", false),
        ("lua-fn", "lua", false),
        ("py-mcp", "python", true),
        ("js-mcp", "javascript", true),
        ("lua-mcp", "lua", true),
    ] {
        let mut args = vec![
            "--config",
            "emulator.toml",
            "--functions",
            f,
            "init",
            name,
            "--runtime",
            runtime,
        ];
        if mcp {
            args.push("--mcp");
        }
        let out = cli(&args, scratch.path());
        assert!(out.status.success(), "{name}: {out:?}");
    }
    // A second init of the same name is refused.
    let out = cli(
        &[
            "--config",
            "emulator.toml",
            "--functions",
            f,
            "init",
            "py-fn",
            "--runtime",
            "python",
        ],
        scratch.path(),
    );
    assert!(!out.status.success());
    let out = cli(
        &["--config", "emulator.toml", "--functions", f, "test"],
        scratch.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.lines().last().unwrap(), "6 passed, 0 failed");
}
