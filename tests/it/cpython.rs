//! Issue 14: `runtime = "python:cpython"` runs a tool in the machine's CPython 3.13, for
//! packages with native code, with the envelope, limits, environment, isolation and outbound
//! HTTP of the RustPython runtime. Tests that need CPython 3.13 skip with a visible reason on a
//! machine without one.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::common::*;

const CPYTHON_TOML: &str = "runtime = \"python:cpython\"\ntimeout = 20\nmemory = 256\n";

/// `cortex-emu deps <tool>` on `functions`; `None` (after saying why) when this machine has no
/// CPython 3.13 or cannot reach the package index.
fn deps(functions: &Path, tool: &str) -> Option<std::process::Output> {
    let out = Command::new(binary())
        .args(["--in-memory", "--functions"])
        .arg(functions)
        .args(["deps", tool])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("no CPython 3.13 on this machine") {
        eprintln!("SKIPPED: this machine has no CPython 3.13:\n{err}");
        return None;
    }
    if !out.status.success()
        && (err.contains("NewConnectionError")
            || err.contains("Temporary failure in name resolution"))
    {
        eprintln!("SKIPPED: the package index is not reachable here:\n{err}");
        return None;
    }
    Some(out)
}

fn envelope(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).expect("envelope is JSON")
}

/// Whether the emulator found a CPython 3.13 for `tool` (else the test says so and skips).
fn cpython_found(emu: &Emu, tool: &str) -> bool {
    let r = emu.invoke(tool, "{}");
    if r.body.contains("no CPython 3.13 on this machine") {
        eprintln!("SKIPPED: this machine has no CPython 3.13: {}", r.body);
        return false;
    }
    true
}

#[test]
fn cpython_runs_a_tool_that_imports_a_package_with_native_code() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "stats",
        "cortexone_function.py",
        "import os, sys\nimport numpy as np\nimport helper\nruns = 0\n\
         def cortexone_handler(event, context):\n\
         \x20   global runs\n\
         \x20   runs += 1\n\
         \x20   print('numpy', np.__version__)\n\
         \x20   a = np.arange(event['n'])\n\
         \x20   return {'statusCode': 200, 'body': {'sum': int(a.sum()), 'mean': float(a.mean()),\n\
         \x20       'implementation': sys.implementation.name, 'version': sys.version_info[:2],\n\
         \x20       'env': dict(os.environ), 'runs': runs, 'helper': helper.SCALE,\n\
         \x20       'function_id': context.function_id}}\n",
        &format!("{CPYTHON_TOML}secrets = [\"API_KEY\"]\n"),
    );
    std::fs::write(functions.path().join("stats/helper.py"), "SCALE = 3\n").unwrap();
    std::fs::write(
        functions.path().join("stats/requirements.txt"),
        "numpy==2.1.3\n",
    )
    .unwrap();
    let Some(out) = deps(functions.path(), "stats") else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(".packages-cpython"), "{stdout}");
    assert!(functions
        .path()
        .join("stats/.packages-cpython/numpy")
        .is_dir());
    // Native packages are not copied into the bundle (RustPython could not use them).
    assert!(!functions.path().join("stats/.packages").exists());

    let emu = Emu::start_with(
        functions.path(),
        &config_text("API_KEY = \"sk-cpython-1234\"\n"),
    );
    for _ in 0..2 {
        let r = emu.invoke("stats", r#"{"n": 101}"#);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.inner(),
            json!({"sum": 5050, "mean": 50.0, "implementation": "cpython", "version": [3, 13],
                   "env": {"API_KEY": "sk-cpython-1234"}, "runs": 1, "helper": 3,
                   "function_id": "stats"})
        );
        // What it printed is in the activation's logs, as for every runtime.
        let activation = emu.admin(
            "GET",
            &format!("/activations/{}", r.activation_id.as_deref().unwrap()),
            None,
            Some(ADMIN),
        );
        assert!(
            activation.1["logs"]
                .as_str()
                .unwrap()
                .contains("numpy 2.1.3"),
            "{}",
            activation.1
        );
    }
}

#[test]
fn cpython_tools_share_no_interpreter_and_keep_the_runtime_limits() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "writer",
        "cortexone_function.py",
        "import json\ndef cortexone_handler(event, context):\n    json.LEAK = 'writer'\n    return {'statusCode': 200, 'body': 'set'}\n",
        CPYTHON_TOML,
    );
    write_tool(
        functions.path(),
        "reader",
        "cortexone_function.py",
        "import json\ndef cortexone_handler(event, context):\n    return {'statusCode': 200, 'body': {'leak': getattr(json, 'LEAK', None)}}\n",
        CPYTHON_TOML,
    );
    write_tool(
        functions.path(),
        "spin",
        "cortexone_function.py",
        "def cortexone_handler(event, context):\n    print('spinning')\n    while True:\n        pass\n",
        "runtime = \"python:cpython\"\ntimeout = 1\n",
    );
    write_tool(
        functions.path(),
        "hog",
        "cortexone_function.py",
        "def cortexone_handler(event, context):\n    block = bytearray(600 << 20)\n    return {'statusCode': 200, 'body': len(block)}\n",
        "runtime = \"python:cpython\"\nmemory = 128\n",
    );
    write_tool(
        functions.path(),
        "reads-stdin",
        "cortexone_function.py",
        "import os\ndef cortexone_handler(event, context):\n    try:\n        input()\n    except EOFError:\n        pass\n    os.environ['LEFT_BEHIND'] = 'x'\n    return {'statusCode': 200, 'body': {'env': sorted(os.environ)}}\n",
        CPYTHON_TOML,
    );
    write_tool(
        functions.path(),
        "broken",
        "cortexone_function.py",
        "def cortexone_handler(event, context)\n    return 1\n",
        CPYTHON_TOML,
    );
    let emu = Emu::start_with(functions.path(), &config_text(""));
    if !cpython_found(&emu, "writer") {
        return;
    }
    let r = emu.invoke("reader", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.inner(),
        json!({"leak": null}),
        "another tool's change leaked"
    );

    let r = emu.invoke("spin", "{}");
    assert_eq!(r.status, 408, "{}", r.body);
    let activation = emu.admin(
        "GET",
        &format!("/activations/{}", r.activation_id.as_deref().unwrap()),
        None,
        Some(ADMIN),
    );
    assert!(
        activation.1["logs"].as_str().unwrap().contains("spinning"),
        "what ran before the deadline is kept: {}",
        activation.1
    );

    let r = emu.invoke("hog", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        envelope(&r),
        json!({"statusCode": 500, "body": "{\"error\": \"Runtime error: out of memory: the handler exceeded its memory limit of 128 MB\"}"})
    );

    // A handler reading stdin reads nothing (the worker's messages are elsewhere), and what a
    // run put in its environment is gone by the next run.
    for _ in 0..2 {
        let r = emu.invoke("reads-stdin", "{}");
        assert_eq!(r.inner(), json!({"env": ["LEFT_BEHIND"]}), "{}", r.body);
    }

    // CPython's own parser words the load-time problem.
    let text = emu.wait_for("broken");
    assert!(text.contains("expected ':'"), "{text}");

    // After all that, the runtime still answers.
    let r = emu.invoke("writer", "{}");
    assert_eq!(envelope(&r), json!({"statusCode": 200, "body": "set"}));
}

#[test]
fn a_cpython_tool_calls_out_through_the_cassettes() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "caller",
        "cortexone_function.py",
        "import json, urllib.request\n\
         def cortexone_handler(event, context):\n\
         \x20   with urllib.request.urlopen('https://api.example.com/v1/rates') as r:\n\
         \x20       return {'statusCode': 200, 'body': {'status': r.status, 'data': json.loads(r.read())}}\n",
        &format!("{CPYTHON_TOML}http = true\n"),
    );
    let http = functions.path().join("caller/http");
    std::fs::create_dir_all(&http).unwrap();
    std::fs::write(
        http.join("rates.json"),
        json!({"request": {"method": "GET", "url": "https://api.example.com/v1/rates"},
               "response": {"status": 200, "json": {"eur": 1.1}}})
        .to_string(),
    )
    .unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    if !cpython_found(&emu, "caller") {
        return;
    }
    let r = emu.invoke("caller", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.inner(), json!({"status": 200, "data": {"eur": 1.1}}));
    let activation = emu.admin(
        "GET",
        &format!("/activations/{}", r.activation_id.as_deref().unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(
        activation.1["http"][0]["source"], "cassette",
        "{}",
        activation.1
    );

    std::fs::remove_file(http.join("rates.json")).unwrap();
    let r = emu.invoke("caller", "{}");
    let body = envelope(&r)["body"].as_str().unwrap().to_string();
    assert!(
        body.contains("GET https://api.example.com/v1/rates"),
        "an unmatched request names itself: {body}"
    );
}

#[test]
fn a_cpython_tool_without_a_cpython_is_reported_at_load_and_answers_why() {
    let functions = tempfile::tempdir().unwrap();
    write_tool(
        functions.path(),
        "native",
        "cortexone_function.py",
        "def cortexone_handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n",
        CPYTHON_TOML,
    );
    let emu = Emu::start_with(
        functions.path(),
        &config_text("\n[python]\ncpython = \"/nonexistent/python3.13\"\n"),
    );
    let text = emu.wait_for("is not a working CPython");
    assert!(
        text.contains("runtime = \"python:cpython\"") && text.contains("/nonexistent/python3.13"),
        "{text}"
    );
    let r = emu.invoke("native", "{}");
    assert_eq!(envelope(&r)["statusCode"], 500, "{}", r.body);
    assert!(r.body.contains("is not a working CPython"), "{}", r.body);

    // A runtime that does not match the handler file is a load problem naming the choices.
    write_tool(
        functions.path(),
        "mismatch",
        "cortexone_function.js",
        "function cortexone_handler(e, c) { return {statusCode: 200, body: 'x'}; }\n",
        "runtime = \"python:cpython\"\n",
    );
    let text = emu.wait_for("does not match cortexone_function.js");
    assert!(text.contains("\"javascript\""), "{text}");
}
