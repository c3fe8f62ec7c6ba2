//! The frame every plane uses for testing (issue 9): fault injection by each scope, the test
//! clock, reset, export/import, and the embeddable emulator through the public API only.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::common::*;

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .arg("--config")
        .arg(dir.join("emulator.toml"))
        .arg("--state")
        .arg(dir.join("state.db"))
        .args(args)
        .output()
        .expect("run cortex-emu")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn add_fault(emu: &Emu, fault: Value) -> Value {
    let (status, body) = emu.admin("POST", "/faults", Some(fault), Some(ADMIN));
    assert_eq!(status, 201, "{body}");
    body
}

const G402: &str = r#"{"statusCode": 402, "body": "{\"error\": \"Insufficient wallet balance - execution blocked before running\"}"}"#;

#[test]
fn a_fault_scoped_to_a_tool_hits_that_tool_only_and_is_recorded_as_injected() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    add_fault(&emu, json!({"response": "G402", "tool": "py-hello"}));
    let hit = emu.invoke("py-hello", "{}");
    assert_eq!((hit.status, hit.body.as_str()), (402, G402));
    assert_eq!(emu.invoke("js-hello", "{}").status, 200);
    // The injected answer is an activation of the tool, marked as injected and not charged.
    let id = hit
        .activation_id
        .expect("injected answers carry an activation id");
    let (status, a) = emu.admin("GET", &format!("/activations/{id}"), None, Some(ADMIN));
    assert_eq!(status, 200);
    assert_eq!(
        (&a["injected"], &a["statusCode"], &a["cost"]),
        (&json!(true), &json!(402), &json!("0")),
        "{a}"
    );
    // A real run is not marked.
    let real = emu.invoke("js-hello", "{}").activation_id.unwrap();
    let (_, a) = emu.admin("GET", &format!("/activations/{real}"), None, Some(ADMIN));
    assert_eq!(a["injected"], json!(false));
}

#[test]
fn a_fault_scoped_to_an_organization_spares_the_others() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    add_fault(
        &emu,
        json!({"response": "G404-function", "organization": "other"}),
    );
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    let r = emu.post(
        "/api/v1/functions/py-hello/invoke",
        Some(OTHER_KEY),
        r#"{"event": {}}"#,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            404,
            r#"{"statusCode": 404, "body": "{\"error\": \"Function ID or version does not exist\"}"}"#
        )
    );
}

#[test]
fn a_fault_scoped_to_a_route_prefix_and_the_next_n_requests() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    add_fault(
        &emu,
        json!({"response": "G408", "route": "/api/v1/functions/py-hello/", "times": 2}),
    );
    let timeout = r#"{"statusCode": 408, "body": "{\"error\": \"Your handler exceeded its configured timeout limit\"}"}"#;
    assert_eq!(emu.invoke("py-hello", "{}").body, timeout);
    // Another route is outside the prefix.
    assert_eq!(emu.invoke("py-sum", r#"{"numbers": [1]}"#).status, 200);
    assert_eq!(emu.invoke("py-hello", "{}").body, timeout);
    // Two used: the fault is gone and the tool answers itself.
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    let (_, list) = emu.admin("GET", "/faults", None, Some(ADMIN));
    assert_eq!(list["faults"], json!([]));
}

#[test]
fn a_latency_fault_delays_the_real_answer() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let f = add_fault(
        &emu,
        json!({"latency_ms": 300, "tool": "py-hello", "times": 1}),
    );
    assert!(f["id"].as_str().unwrap().starts_with("fault-"), "{f}");
    let t0 = std::time::Instant::now();
    let r = emu.invoke("py-hello", r#"{"name": "Ada"}"#);
    // A lower bound only: the delay was added (a slow machine cannot make this fail).
    assert!(t0.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(r.status, 200);
    assert_eq!(r.inner(), json!({"message": "Hello, Ada!"}));
}

#[test]
fn faults_come_from_emulator_toml_and_the_cli_and_bad_ones_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let config = config_text("\n[[faults]]\nresponse = \"G402\"\ntool = \"js-hello\"\n");
    let emu = Emu::start_in(dir.path(), functions.path(), &config);
    assert_eq!(emu.invoke("js-hello", "{}").body, G402);
    // The CLI finds the server through its runtime file (it listens on an ephemeral port).
    let out = cli(
        dir.path(),
        &["fault", "add", "G402", "--tool", "py-hello", "--times", "2"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("G402"), "{}", stdout(&out));
    assert_eq!(emu.invoke("py-hello", "{}").body, G402);
    assert_eq!(emu.invoke("py-hello", "{}").body, G402);
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    let listed = stdout(&cli(dir.path(), &["fault", "list"]));
    assert!(listed.contains("tool=js-hello"), "{listed}");
    // Mistakes are refused with the reason.
    let (status, body) = emu.admin(
        "POST",
        "/faults",
        Some(json!({"response": "G999"})),
        Some(ADMIN),
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not a catalogue row"),
        "{body}"
    );
    let (status, _) = emu.admin(
        "POST",
        "/faults",
        Some(json!({"response": "G402", "probability": 0})),
        Some(ADMIN),
    );
    assert_eq!(status, 400);
    let bad = cli(dir.path(), &["fault", "add", "NOPE"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a catalogue row"));
    let out = cli(dir.path(), &["fault", "clear"]);
    assert!(out.status.success());
    assert_eq!(emu.invoke("js-hello", "{}").status, 200);
    // A bad [[faults]] entry stops the start with file and reason.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[[faults]]\nresponse = \"G402\"\nroute = \"api\"\n",
    )
    .unwrap();
    let out = Command::new(binary())
        .arg("--config")
        .arg(&broken)
        .args(["--in-memory", "test"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[[faults]] number 1") && err.contains("must start with /"),
        "{err}"
    );
}

#[test]
fn a_key_expires_when_the_test_clock_passes_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let config = config_text("").replace(
        "[[organizations]]\nslug = \"broke\"",
        "[[organizations.keys]]\nname = \"soon\"\nkey = \"RIV_expiring_key_1\"\nexpires = \"2030-01-01\"\n\n[[organizations]]\nslug = \"broke\"",
    );
    let emu = Emu::start_in(dir.path(), functions.path(), &config);
    let run = |key: &str| {
        emu.post(
            "/api/v1/functions/py-hello/invoke",
            Some(key),
            r#"{"event": {}}"#,
        )
    };
    assert_eq!(run("RIV_expiring_key_1").status, 200);
    // A date is valid through its last second: still valid just before midnight.
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"set": "2030-01-01T23:59:00Z"})),
        Some(ADMIN),
    );
    assert_eq!(run("RIV_expiring_key_1").status, 200);
    let (status, now) = emu.admin(
        "POST",
        "/clock",
        Some(json!({"set": "2030-01-02T00:00:01Z"})),
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["moved"], json!(true));
    let expired = run("RIV_expiring_key_1");
    assert_eq!(
        (expired.status, expired.body.as_str()),
        (
            401,
            r#"{"statusCode": 401, "body": "{\"error\": \"Missing or invalid API key in the Authorization header\"}"}"#
        )
    );
    // Activation timestamps read the same clock.
    let id = run(KEY).activation_id.unwrap();
    let (_, a) = emu.admin("GET", &format!("/activations/{id}"), None, Some(ADMIN));
    assert!(
        a["started_at"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-02T00:00:0"),
        "{a}"
    );
    // The CLI moves it too, and `real` brings the key back to life.
    let out = cli(dir.path(), &["clock", "advance", "15m"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).starts_with("2030-01-02T00:15:0"),
        "{}",
        stdout(&out)
    );
    let out = cli(dir.path(), &["clock", "advance", "fortnight"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a span of time"));
    assert!(cli(dir.path(), &["clock", "real"]).status.success());
    assert_eq!(run("RIV_expiring_key_1").status, 200);
    let (status, _) = emu.admin(
        "POST",
        "/clock",
        Some(json!({"advance": "1h", "real": true})),
        Some(ADMIN),
    );
    assert_eq!(status, 400);
}

#[test]
fn reset_returns_to_the_seeded_state() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    let (s, _) = emu.admin(
        "POST",
        "/organizations",
        Some(json!({"slug": "extra"})),
        Some(ADMIN),
    );
    assert_eq!(s, 201);
    let (s, _) = emu.admin(
        "POST",
        "/organizations/acme/wallet/topup",
        Some(json!({"amount": "5"})),
        Some(ADMIN),
    );
    assert_eq!(s, 200);
    add_fault(&emu, json!({"response": "G402"}));
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"advance": "1d"})),
        Some(ADMIN),
    );
    let out = cli(dir.path(), &["reset"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, orgs) = emu.admin("GET", "/organizations", None, Some(ADMIN));
    let slugs: Vec<&str> = orgs["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs.len(), 3, "{orgs}");
    assert!(!slugs.contains(&"extra"));
    let (_, wallet) = emu.admin("GET", "/organizations/acme/wallet", None, Some(ADMIN));
    assert_eq!(wallet["balance"], json!("1000"), "{wallet}");
    let (_, list) = emu.admin("GET", "/activations", None, Some(ADMIN));
    assert_eq!(list["activations"], json!([]));
    let (_, clock) = emu.admin("GET", "/clock", None, Some(ADMIN));
    assert_eq!(clock["moved"], json!(false));
    // Seeded keys work again and faults are gone.
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
}

#[test]
fn export_then_import_restores_the_whole_state() {
    let dir = tempfile::tempdir().unwrap();
    let functions = fixtures_dir();
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(""));
    let id = emu
        .invoke("py-hello", r#"{"name": "Ada"}"#)
        .activation_id
        .unwrap();
    let (s, key) = emu.admin(
        "POST",
        "/organizations/acme/keys",
        Some(json!({"name": "made-at-runtime"})),
        Some(ADMIN),
    );
    assert_eq!(s, 201, "{key}");
    let (_, before) = emu.admin("GET", "/organizations/acme/wallet", None, Some(ADMIN));
    let export = dir.path().join("saved");
    let out = cli(dir.path(), &["export", export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(export.join("state.db").is_file() && export.join("export.json").is_file());
    drop(emu);

    // A fresh, in-memory emulator started from the export has it all.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("emulator.toml"), config_text("")).unwrap();
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(other.path().join("emulator.toml"))
        .arg("--functions")
        .arg(functions.path())
        .args(["--in-memory", "serve", "--import"])
        .arg(&export)
        .env("CORTEX_EMU_STDIN_LIFELINE", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = ready_url(&mut child);
    let get = |path: &str| -> Value {
        client()
            .get(format!("{base}/_emulator/v1{path}"))
            .header("Authorization", format!("Bearer {ADMIN}"))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    assert_eq!(
        get(&format!("/activations/{id}"))["response"]["body"],
        json!("{\"message\": \"Hello, Ada!\"}")
    );
    assert_eq!(
        get("/organizations/acme/wallet")["balance"],
        before["balance"]
    );
    let runtime_key = key["key"].as_str().unwrap();
    let r = client()
        .post(format!("{base}/api/v1/functions/py-hello/invoke"))
        .header("Authorization", runtime_key)
        .body(r#"{"event": {}}"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    // An import from a folder without an export is refused with the reason.
    let out = Command::new(binary())
        .args(["--in-memory", "serve", "--import"])
        .arg(other.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no export"));
}

/// The `http://...` address from a starting emulator's ready line.
fn ready_url(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.contains("ready on http://")))
        .expect("ready line");
    // Keep draining, so the emulator never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = line.split("ready on ").nth(1).unwrap();
    addr.split_whitespace().next().unwrap().to_string()
}

#[test]
fn the_embedded_emulator_runs_tools_through_the_public_api() {
    let functions = fixtures_dir();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let emu = cortex_emu::Emulator::builder()
            .functions(functions.path())
            .in_memory()
            .worker_program(binary())
            .start()
            .await
            .expect("start");
        assert!(emu.url().starts_with("http://127.0.0.1:"));
        let (url, key) = (
            format!("{}/api/v1/functions/py-hello/invoke", emu.url()),
            emu.key().to_string(),
        );
        let reply = tokio::task::spawn_blocking(move || {
            let r = client()
                .post(url)
                .header("Authorization", key)
                .body(r#"{"event": {"name": "Ada"}}"#)
                .send()
                .unwrap();
            (r.status().as_u16(), r.text().unwrap())
        })
        .await
        .unwrap();
        assert_eq!(
            reply,
            (
                200,
                r#"{"statusCode": 200, "body": "{\"message\": \"Hello, Ada!\"}"}"#.to_string()
            )
        );
        assert!(emu.admin_token().starts_with("cemu_admin_"));
        emu.shutdown().await.expect("clean shutdown");
    });
}

#[test]
fn a_caller_supplied_listener_and_shutdown_future() {
    let functions = fixtures_dir();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let emu = cortex_emu::Emulator::builder()
            .functions(functions.path())
            .in_memory()
            .worker_program(binary())
            .listener(listener)
            .shutdown_on(async {
                let _ = stopped.await;
            })
            .start()
            .await
            .unwrap();
        assert_eq!(emu.url(), format!("http://{addr}"));
        let health = format!("{}/_emulator/health", emu.url());
        let up = tokio::task::spawn_blocking(move || client().get(health).send().is_ok())
            .await
            .unwrap();
        assert!(up);
        stop.send(()).unwrap();
        emu.shutdown().await.unwrap();
        // Stopped: the port no longer answers.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    });
}
