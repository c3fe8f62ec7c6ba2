//! The admin API (`/_emulator/v1/`) and the CLI over it: keys, wallet, activations.

use std::io::{BufRead, BufReader};
use std::process::Command;

use crate::common::*;
use serde_json::json;

#[test]
fn every_admin_route_refuses_a_missing_or_wrong_token() {
    let emu = shared();
    let routes = [
        ("GET", "/tools"),
        ("POST", "/tools/py-hello/publish"),
        ("GET", "/organizations"),
        ("POST", "/organizations"),
        ("GET", "/organizations/acme/keys"),
        ("POST", "/organizations/acme/keys"),
        ("DELETE", "/keys/some-id"),
        ("GET", "/organizations/acme/wallet"),
        ("POST", "/organizations/acme/wallet/topup"),
        ("POST", "/organizations/acme/wallet/grant"),
        ("GET", "/organizations/acme/wallet/ledger"),
        ("GET", "/activations"),
        ("GET", "/activations/some-id"),
        ("GET", "/activations/stream"),
    ];
    for (method, path) in routes {
        for token in [None, Some("wrong"), Some(KEY)] {
            let (status, body) = emu.admin(method, path, Some(json!({})), token);
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains("admin token"),
                "{body}"
            );
        }
    }
}

#[test]
fn keys_are_created_once_listed_by_prefix_and_revoked_at_once() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let (status, created) = emu.admin(
        "POST",
        "/organizations/acme/keys",
        Some(json!({"name": "ci", "expires": "2099-01-01"})),
        Some(ADMIN),
    );
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("RIV_") && key.len() == 36, "{key}");
    let r = emu.post(
        "/api/v1/functions/py-hello/invoke",
        Some(&key),
        r#"{"event": {}}"#,
    );
    assert_eq!(r.status, 200);

    let (_, listed) = emu.admin("GET", "/organizations/acme/keys", None, Some(ADMIN));
    let ci = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ci")
        .unwrap()
        .clone();
    assert_eq!(ci["prefix"], json!(&key[..8]));
    assert_eq!(ci["use_count"], 1);
    assert!(ci["expires_at"].as_str().unwrap().starts_with("2099-01-02"));
    assert!(
        !listed.to_string().contains(&key),
        "the key itself is never listed"
    );

    let (status, _) = emu.admin(
        "DELETE",
        &format!("/keys/{}", ci["id"].as_str().unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200);
    let r = emu.post(
        "/api/v1/functions/py-hello/invoke",
        Some(&key),
        r#"{"event": {}}"#,
    );
    assert_eq!(r.status, 401, "G401-invalid for a revoked key");
    assert_eq!(emu.admin("DELETE", "/keys/nope", None, Some(ADMIN)).0, 404);
    assert_eq!(
        emu.admin(
            "POST",
            "/organizations/nope/keys",
            Some(json!({"name": "x"})),
            Some(ADMIN)
        )
        .0,
        404
    );
    assert_eq!(
        emu.admin(
            "POST",
            "/organizations/acme/keys",
            Some(json!({"name": "x", "expires": "soon"})),
            Some(ADMIN)
        )
        .0,
        400
    );
}

#[test]
fn a_drained_balance_blocks_runs_until_a_top_up_and_the_ledger_shows_each_step() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    let (status, org) = emu.admin(
        "POST",
        "/organizations",
        Some(json!({"slug": "tiny"})),
        Some(ADMIN),
    );
    assert_eq!(status, 201, "{org}");
    assert_eq!(org["balance"], "10");
    assert_eq!(
        emu.admin(
            "POST",
            "/organizations",
            Some(json!({"slug": "tiny"})),
            Some(ADMIN)
        )
        .0,
        409
    );
    let (_, created) = emu.admin(
        "POST",
        "/organizations/tiny/keys",
        Some(json!({"name": "k"})),
        Some(ADMIN),
    );
    let key = created["key"].as_str().unwrap().to_string();
    // `pricey` is private to acme; a public tool that costs a fee drains tiny quickly.
    std::fs::create_dir_all(functions.path().join("fee-public")).unwrap();
    std::fs::write(
        functions.path().join("fee-public/cortexone_function.lua"),
        "function cortexone_handler(e, c) return {statusCode = 200, body = {}} end\n",
    )
    .unwrap();
    std::fs::write(
        functions.path().join("fee-public/tool.toml"),
        "visibility = \"public\"\nprice_per_run = 4\n",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !emu.output.lock().unwrap().contains("reloaded fee-public") {
        assert!(
            std::time::Instant::now() < deadline,
            "fee-public never loaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let call = || {
        emu.post(
            "/api/v1/functions/fee-public/invoke",
            Some(&key),
            r#"{"event": {}}"#,
        )
    };
    assert_eq!(call().status, 200); // 10 -> ~6
    assert_eq!(call().status, 200); // ~6 -> ~2
    let r = call(); // 2 < 4 + compute
    assert_eq!(r.status, 402);
    assert_eq!(
        r.body,
        r#"{"statusCode": 402, "body": "{\"error\": \"Insufficient wallet balance - execution blocked before running\"}"}"#
    );
    let (status, topped) = emu.admin(
        "POST",
        "/organizations/tiny/wallet/topup",
        Some(json!({"amount": "5"})),
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{topped}");
    assert_eq!(call().status, 200);
    assert_eq!(
        emu.admin(
            "POST",
            "/organizations/tiny/wallet/topup",
            Some(json!({"amount": "-1"})),
            Some(ADMIN)
        )
        .0,
        400
    );
    let (_, ledger) = emu.admin(
        "GET",
        "/organizations/tiny/wallet/ledger",
        None,
        Some(ADMIN),
    );
    let labels: Vec<_> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        labels,
        [
            "Execution",
            "Wallet Recharge",
            "Execution",
            "Execution",
            "Welcome Credits"
        ]
    );
    let (_, wallet) = emu.admin("GET", "/organizations/tiny/wallet", None, Some(ADMIN));
    let balance: f64 = wallet["balance"].as_str().unwrap().parse().unwrap();
    assert!(balance > 2.9 && balance < 3.0, "{wallet}");
}

#[test]
fn activations_are_listed_filtered_fetched_and_tailed() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    // Subscribe before the run so the tail must deliver it.
    let resp = client()
        .get(format!("{}/_emulator/v1/activations/stream", emu.base))
        .header("Authorization", format!("Bearer {ADMIN}"))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let first = emu.invoke("py-print", r#"{"n": 1}"#);
    let second = emu.invoke("py-div", "{}");
    let mut lines = BufReader::new(resp).lines();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let line = lines.next().expect("stream open").unwrap();
        if let Some(data) = line.strip_prefix("data:") {
            let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
            seen.push(v["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        seen,
        [
            first.activation_id.clone().unwrap(),
            second.activation_id.clone().unwrap()
        ]
    );

    let (_, list) = emu.admin("GET", "/activations", None, Some(ADMIN));
    let ids: Vec<_> = list["activations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            second.activation_id.clone().unwrap(),
            first.activation_id.clone().unwrap()
        ],
        "newest first"
    );
    let (_, errors) = emu.admin(
        "GET",
        "/activations?status=error&tool=py-div&limit=5",
        None,
        Some(ADMIN),
    );
    assert_eq!(errors["activations"].as_array().unwrap().len(), 1);
    let (_, none) = emu.admin("GET", "/activations?tool=py-hello", None, Some(ADMIN));
    assert_eq!(none["activations"], json!([]));
    assert_eq!(
        emu.admin("GET", "/activations?limit=x", None, Some(ADMIN))
            .0,
        400
    );

    let (status, one) = emu.admin(
        "GET",
        &format!("/activations/{}", first.activation_id.unwrap()),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200);
    assert_eq!(one["event"], json!({"n": 1}));
    assert_eq!(one["response"], json!({"statusCode": 200, "body": "{}"}));
    assert!(one["logs"].as_str().unwrap().contains("hello from python"));
    assert_eq!(one["status"], "success");
    assert!(one["cost"].as_str().is_some());
    assert_eq!(
        emu.admin("GET", "/activations/nope", None, Some(ADMIN)).0,
        404
    );
}

#[test]
fn cli_keys_wallet_activations_and_logs() {
    let functions = fixtures_dir();
    let state = tempfile::tempdir().unwrap();
    let emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    let port = emu.base.rsplit(':').next().unwrap().to_string();
    let config = state.path().join("emulator.toml");
    let run = |args: &[&str]| {
        let mut all = vec!["--config", config.to_str().unwrap(), "--port", &port];
        all.extend_from_slice(args);
        let out = Command::new(binary()).args(&all).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let created: serde_json::Value =
        serde_json::from_str(&run(&["keys", "create", "laptop", "--json"])).unwrap();
    let key = created["key"].as_str().unwrap();
    let r = emu.post(
        "/api/v1/functions/lua-hello/invoke",
        Some(key),
        r#"{"event": {"name": "Cli"}}"#,
    );
    assert_eq!(r.status, 200);
    let table = run(&["keys", "list"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("laptop") && table.contains(&format!("{}...", &key[..8])),
        "{table}"
    );
    assert!(run(&["wallet", "balance"]).starts_with("acme: "));
    assert!(run(&["wallet", "topup", "2.50"]).contains("+2.5 (Wallet Recharge)"));
    let ledger = run(&["wallet", "ledger"]);
    assert!(
        ledger.contains("Wallet Recharge") && ledger.contains("Welcome Credits"),
        "{ledger}"
    );
    let acts = run(&["activations", "--tool", "lua-hello"]);
    assert!(
        acts.contains("lua-hello@draft") && acts.contains("success"),
        "{acts}"
    );
    let logs = run(&["logs", r.activation_id.as_deref().unwrap()]);
    assert!(
        logs.contains("\"name\":\"Cli\"") || logs.contains("\"name\": \"Cli\""),
        "{logs}"
    );
    let revoked = run(&["keys", "revoke", created["id"].as_str().unwrap()]);
    assert!(revoked.starts_with("revoked"));
    assert_eq!(
        emu.post(
            "/api/v1/functions/lua-hello/invoke",
            Some(key),
            r#"{"event": {}}"#
        )
        .status,
        401
    );
}

#[test]
fn the_openapi_document_lists_every_admin_route_and_each_is_served() {
    let emu = shared();
    let doc: serde_json::Value = client()
        .get(format!("{}/_emulator/openapi.json", emu.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "duplicate operationId"
            );
            assert!(op["responses"].as_object().unwrap().contains_key("401"));
            // Every documented operation exists: without the token it answers 401, not 404/405.
            let concrete = path
                .replace("{slug}", "acme")
                .replace("{id}", "x")
                .trim_start_matches("/_emulator/v1")
                .to_string();
            let (status, _) = emu.admin(&method.to_uppercase(), &concrete, Some(json!({})), None);
            assert_eq!(status, 401, "{method} {path}");
        }
    }
    assert_eq!(operations, 39);
    for p in [
        "/_emulator/v1/activations",
        "/_emulator/v1/organizations/{slug}/keys",
        "/_emulator/v1/tools/{id}/publish",
        "/_emulator/v1/activations/stream",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    // Request bodies are the schemas of the types the handlers deserialize (utoipa): the wallet
    // credit takes `label` too, and `[[faults]]` fields are all there.
    let body = |path: &str| {
        paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"].clone()
    };
    let credit = body("/_emulator/v1/organizations/{slug}/wallet/topup");
    assert!(credit["properties"].get("label").is_some(), "{credit}");
    assert_eq!(credit["required"], json!(["amount"]));
    let fault = body("/_emulator/v1/faults");
    for field in [
        "response",
        "route",
        "tool",
        "organization",
        "times",
        "probability",
        "latency_ms",
    ] {
        assert!(fault["properties"].get(field).is_some(), "{field}: {fault}");
    }
    let publish = body("/_emulator/v1/tools/{id}/publish");
    assert_eq!(
        publish["properties"]["bump"]["$ref"],
        json!("#/components/schemas/Bump")
    );
    assert_eq!(
        doc["components"]["schemas"]["Bump"]["enum"],
        json!(["patch", "minor", "major"]),
        "{publish}"
    );
}
