//! The fold deploy plane (`fold` profile) through HTTP: tokens and roles, deploy with versions,
//! rollback, listing, deletion, and each F row reached the way a client reaches it (or forced
//! by fault injection for the rows no local condition produces yet), status and body byte for
//! byte, the rate-limit headers included.

use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use crate::common::*;

const ADMIN_TOKEN: &str = "fold_test_admin_1";
const DEPLOYER: &str = "fold_test_deployer_1";
const VIEWER: &str = "fold_test_viewer_1";
const EXPIRING: &str = "fold_test_expiring_1";
const WORKER: &str = "export default {\n  async fetch(request, env, ctx) {\n    return new Response('hello');\n  }\n};\n";

fn extra() -> String {
    format!(
        r#"
[fold]
bindings = ["key-value:user-store", "database:orders", "key-value:audit"]

[[organizations]]
slug = "foldco"
allowed_bindings = ["key-value:user-store", "database:orders"]

[[organizations.fold_tokens]]
name = "admin"
token = "{ADMIN_TOKEN}"
role = "admin"

[[organizations.fold_tokens]]
name = "ci"
token = "{DEPLOYER}"
role = "deployer"

[[organizations.fold_tokens]]
name = "reader"
token = "{VIEWER}"
role = "viewer"

[[organizations.fold_tokens]]
name = "temp"
token = "{EXPIRING}"
role = "admin"
expires = "2030-01-01"
"#
    )
}

struct Res {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Res {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn call(emu: &Emu, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Res {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client().request(method, format!("{}/fold{path}", emu.base));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().expect("request");
    Res {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().unwrap(),
    }
}

/// The exact bytes of a fold error.
fn fold(error: &str, code: &str, details: Value, hint: Option<&str>) -> String {
    json!({"error": error, "code": code, "details": details, "hint": hint}).to_string()
}

#[track_caller]
fn assert_fold(r: &Res, status: u16, body: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/json",
        "{}",
        r.body
    );
    assert_eq!(r.body, body);
}

fn emulator() -> (tempfile::TempDir, Emu) {
    let functions = tempfile::tempdir().unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(&extra()));
    (functions, emu)
}

fn shared_plane() -> &'static Emu {
    static EMU: OnceLock<(tempfile::TempDir, Emu)> = OnceLock::new();
    &EMU.get_or_init(emulator).1
}

fn unique(name: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "{name}-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

fn deploy(emu: &Emu, token: &str, body: Value) -> Res {
    call(emu, "POST", "/deploy", Some(token), Some(body))
}

#[test]
fn deploy_redeploy_list_read_rollback_and_delete() {
    let emu = shared_plane();
    let name = unique("hello");
    let r = deploy(emu, DEPLOYER, json!({"name": name, "code": WORKER}));
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    let id = v["function_id"].as_str().unwrap().to_string();
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "deployed");
    let port = emu.base.rsplit(':').next().unwrap();
    assert_eq!(v["url"], format!("http://foldco.localhost:{port}/{name}"));
    assert_eq!(
        v["activations_url"],
        format!("{}/fold/activations?function_id={id}", emu.base)
    );
    // A second deploy of the name is an update: 200 and the next version.
    let v2 = WORKER.replace("hello", "hello again");
    let r = deploy(
        emu,
        DEPLOYER,
        json!({"name": name, "code": v2, "intent": {"bindings": ["key-value:user-store"]}}),
    );
    assert_eq!(
        (r.status, r.json()["version"].clone()),
        (200, json!(2)),
        "{}",
        r.body
    );
    let list = call(emu, "GET", "/functions", Some(VIEWER), None).json();
    assert!(
        list["functions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["function_id"] == id.as_str()),
        "{list}"
    );
    let one = call(emu, "GET", &format!("/functions/{id}"), Some(VIEWER), None).json();
    assert_eq!(one["versions"][0]["version"], 2, "{one}");
    assert_eq!(
        one["versions"][0]["bindings"],
        json!(["key-value:user-store"])
    );
    let code = call(
        emu,
        "GET",
        &format!("/functions/{id}/code?version=1"),
        Some(VIEWER),
        None,
    );
    assert_eq!(code.body, WORKER);
    // Rollback makes version 1 the one in force.
    let r = call(
        emu,
        "POST",
        "/rollback",
        Some(DEPLOYER),
        Some(json!({"function_id": id, "version": 1})),
    );
    assert_eq!(r.json()["status"], "rolled_back", "{}", r.body);
    assert_eq!(
        call(
            emu,
            "GET",
            &format!("/functions/{id}/code"),
            Some(VIEWER),
            None
        )
        .body,
        WORKER
    );
    let r = call(
        emu,
        "DELETE",
        &format!("/functions/{id}"),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.json()["deleted"], true, "{}", r.body);
    let r = call(emu, "GET", &format!("/functions/{id}"), Some(VIEWER), None);
    assert_eq!(r.status, 404);
}

#[test]
fn f_validation_for_a_bad_name_or_a_missing_field() {
    let emu = shared_plane();
    let r = deploy(emu, DEPLOYER, json!({"name": "Bad_Name", "code": WORKER}));
    assert_fold(
        &r,
        400,
        &fold(
            "Request validation failed",
            "VALIDATION_ERROR",
            json!({"field": "name", "message": "\"Bad_Name\" must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit"}),
            None,
        ),
    );
    let r = deploy(emu, DEPLOYER, json!({"name": "ok-name"}));
    assert_fold(
        &r,
        400,
        &fold(
            "Request validation failed",
            "VALIDATION_ERROR",
            json!({"field": "code", "message": "is required"}),
            None,
        ),
    );
    let big = format!("export default {{}};//{}", "x".repeat(5 * 1024 * 1024));
    let r = deploy(emu, DEPLOYER, json!({"name": "big", "code": big}));
    assert_eq!(r.status, 400, "{}", &r.body[..200.min(r.body.len())]);
    assert_eq!(r.json()["details"]["field"], "code");
}

#[test]
fn f_code_for_a_parse_error_or_no_default_export() {
    let emu = shared_plane();
    let r = deploy(
        emu,
        DEPLOYER,
        json!({"name": "broken", "code": "export default {\n  fetch( {\n};\n"}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (v["error"].as_str(), v["code"].as_str()),
        (Some("Function code is invalid"), Some("CODE_INVALID"))
    );
    assert!(v["details"]["line"].as_u64().unwrap() >= 2, "{v}");
    let r = deploy(
        emu,
        DEPLOYER,
        json!({"name": "no-default", "code": "export const x = 1;"}),
    );
    assert_fold(
        &r,
        400,
        &fold(
            "Function code is invalid",
            "CODE_INVALID",
            json!({"message": "the module has no default export: write export default { async fetch(request, env, ctx) { ... } }"}),
            None,
        ),
    );
}

#[test]
fn f_binding_missing_and_denied() {
    let emu = shared_plane();
    let r = deploy(
        emu,
        DEPLOYER,
        json!({"name": "b1", "code": WORKER, "intent": {"bindings": ["database:ghost"]}}),
    );
    assert_fold(
        &r,
        400,
        &fold(
            "Binding not found",
            "BINDING_NOT_FOUND",
            json!({"binding": "database:ghost"}),
            Some("Define the binding under /bindings before deploying"),
        ),
    );
    let r = deploy(
        emu,
        DEPLOYER,
        json!({"name": "b2", "code": WORKER, "intent": {"bindings": ["key-value:audit"]}}),
    );
    assert_fold(
        &r,
        403,
        &fold(
            "Binding not allowed for this organization",
            "BINDING_NOT_ALLOWED",
            json!({"binding": "key-value:audit", "organization": "foldco"}),
            Some("Add the binding to the organization's allowed bindings"),
        ),
    );
}

#[test]
fn f_function_f_version_and_f_tenant() {
    let emu = shared_plane();
    let r = call(emu, "DELETE", "/functions/fn_nope", Some(ADMIN_TOKEN), None);
    assert_fold(
        &r,
        404,
        &fold(
            "Function not found",
            "FUNCTION_NOT_FOUND",
            json!({"function_id": "fn_nope"}),
            None,
        ),
    );
    let name = unique("versions");
    let id = deploy(emu, DEPLOYER, json!({"name": name, "code": WORKER})).json()["function_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        emu,
        "POST",
        "/rollback",
        Some(DEPLOYER),
        Some(json!({"function_id": id, "version": 9})),
    );
    assert_fold(
        &r,
        404,
        &fold(
            "Version not found",
            "VERSION_NOT_FOUND",
            json!({"function_id": id, "version": 9}),
            None,
        ),
    );
    let r = call(emu, "GET", "/run/no-such-org/x", None, None);
    assert_fold(
        &r,
        404,
        &fold(
            "Organization not found",
            "TENANT_NOT_FOUND",
            json!({"tenant": "no-such-org"}),
            None,
        ),
    );
    let r = call(emu, "GET", "/run/foldco/no-such-fn", None, None);
    assert_fold(
        &r,
        404,
        &fold(
            "Function not found",
            "FUNCTION_NOT_FOUND",
            json!({"tenant": "foldco", "name": "no-such-fn"}),
            None,
        ),
    );
    // Another organization's token does not see the function.
    let (s, t) = emu.admin(
        "POST",
        "/organizations/other/fold-tokens",
        Some(json!({"name": "o", "role": "admin"})),
        Some(ADMIN),
    );
    assert_eq!(s, 201, "{t}");
    let r = call(
        emu,
        "GET",
        &format!("/functions/{id}"),
        t["token"].as_str(),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn f_auth_required_invalid_expired_and_forbidden() {
    let (_dir, emu) = emulator();
    let r = call(&emu, "GET", "/functions", None, None);
    assert_fold(
        &r,
        401,
        &fold(
            "Authentication required",
            "AUTH_REQUIRED",
            Value::Null,
            Some("Send Authorization: Bearer <token>"),
        ),
    );
    let r = call(&emu, "GET", "/functions", Some("fold_not_a_token"), None);
    assert_fold(
        &r,
        401,
        &fold(
            "Invalid or expired token",
            "AUTH_INVALID",
            Value::Null,
            None,
        ),
    );
    assert_eq!(
        call(&emu, "GET", "/functions", Some(EXPIRING), None).status,
        200
    );
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"set": "2030-01-02T00:00:01Z"})),
        Some(ADMIN),
    );
    let r = call(&emu, "GET", "/functions", Some(EXPIRING), None);
    assert_fold(
        &r,
        401,
        &fold(
            "Invalid or expired token",
            "AUTH_INVALID",
            json!({"message": "the token has expired"}),
            None,
        ),
    );
    let r = deploy(&emu, VIEWER, json!({"name": "nope", "code": WORKER}));
    assert_fold(
        &r,
        403,
        &fold(
            "Your role does not allow this action",
            "FORBIDDEN",
            json!({"role": "viewer", "message": "the viewer role cannot deploy, roll back, delete or replay"}),
            None,
        ),
    );
    // Tokens minted through the admin API carry their role.
    let (s, t) = emu.admin(
        "POST",
        "/organizations/foldco/fold-tokens",
        Some(json!({"name": "bot", "role": "deployer"})),
        Some(ADMIN),
    );
    assert_eq!(s, 201, "{t}");
    assert!(t["token"].as_str().unwrap().starts_with("fold_"));
    let r = deploy(
        &emu,
        t["token"].as_str().unwrap(),
        json!({"name": "minted", "code": WORKER}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let (s, e) = emu.admin(
        "POST",
        "/organizations/foldco/fold-tokens",
        Some(json!({"name": "x", "role": "owner"})),
        Some(ADMIN),
    );
    assert_eq!(s, 400, "{e}");
}

fn faulty() -> std::sync::MutexGuard<'static, (tempfile::TempDir, Emu)> {
    static EMU: OnceLock<Mutex<(tempfile::TempDir, Emu)>> = OnceLock::new();
    EMU.get_or_init(|| Mutex::new(emulator()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Forces `row` once on `/fold{route}` and checks the next request there answers it.
fn injected(
    row: &str,
    route: &str,
    status: u16,
    error: &str,
    code: &str,
    hint: Option<&str>,
) -> Res {
    let guard = faulty();
    let emu = &guard.1;
    let (s, v) = emu.admin(
        "POST",
        "/faults",
        Some(json!({"response": row, "route": format!("/fold{route}"), "times": 1})),
        Some(ADMIN),
    );
    assert_eq!(s, 201, "{v}");
    let r = call(
        emu,
        "POST",
        route,
        Some(ADMIN_TOKEN),
        Some(json!({"name": "x", "code": WORKER})),
    );
    assert_fold(&r, status, &fold(error, code, Value::Null, hint));
    r
}

#[test]
fn f_deploy_injected() {
    injected(
        "F-deploy",
        "/deploy",
        502,
        "Deploy failed",
        "DEPLOY_FAILED",
        None,
    );
}

#[test]
fn f_rollback_injected() {
    injected(
        "F-rollback",
        "/rollback",
        502,
        "Rollback failed",
        "ROLLBACK_FAILED",
        None,
    );
}

#[test]
fn f_dispatch_injected() {
    injected(
        "F-dispatch",
        "/run/foldco/x",
        502,
        "Dispatch failed",
        "DISPATCH_FAILED",
        None,
    );
}

#[test]
fn f_rate_injected_with_its_headers() {
    let r = injected(
        "F-rate",
        "/run/foldco/x",
        429,
        "Too many requests",
        "RATE_LIMITED",
        Some("Wait until RateLimit-Reset seconds have passed"),
    );
    for (h, v) in [
        ("ratelimit-limit", "100"),
        ("ratelimit-remaining", "0"),
        ("ratelimit-reset", "60"),
    ] {
        assert_eq!(r.headers.get(h).unwrap(), v, "{h}");
    }
}

#[test]
fn f_usage_injected() {
    injected(
        "F-usage",
        "/run/foldco/x",
        429,
        "Monthly usage limit of the Free plan reached",
        "USAGE_LIMIT_EXCEEDED",
        Some("Upgrade to the Pro plan or wait for the monthly reset"),
    );
}

#[test]
fn f_pro_injected() {
    injected(
        "F-pro",
        "/deploy",
        403,
        "This feature requires the Pro plan",
        "PRO_PLAN_REQUIRED",
        Some("Upgrade to the Pro plan to use this feature"),
    );
}

#[test]
fn f_downgrade_injected() {
    injected(
        "F-downgrade",
        "/deploy",
        409,
        "Downgrade blocked: current usage exceeds the Free plan limits",
        "DOWNGRADE_BLOCKED",
        None,
    );
}

#[test]
fn functions_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let functions = tempfile::tempdir().unwrap();
    let config = config_text(&extra());
    let emu = Emu::start_in(dir.path(), functions.path(), &config);
    let (s, t) = emu.admin(
        "POST",
        "/organizations/foldco/fold-tokens",
        Some(json!({"name": "kept", "role": "deployer"})),
        Some(ADMIN),
    );
    assert_eq!(s, 201);
    let token = t["token"].as_str().unwrap().to_string();
    let id =
        deploy(&emu, &token, json!({"name": "kept", "code": WORKER})).json()["function_id"].clone();
    drop(emu);
    let emu = Emu::start_in(dir.path(), functions.path(), &config);
    let one = call(
        &emu,
        "GET",
        &format!("/functions/{}", id.as_str().unwrap()),
        Some(&token),
        None,
    );
    assert_eq!(one.json()["version"], 1, "{}", one.body);
}

#[test]
fn f_rate_past_the_limit_with_headers_on_every_dispatch_and_a_new_window_on_the_clock() {
    let functions = tempfile::tempdir().unwrap();
    let config = config_text(&extra()).replace("[fold]\n", "[fold]\nrate_limit_per_minute = 2\n");
    let emu = Emu::start_with(functions.path(), &config);
    // A fixed instant, so the window's reset is known.
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"set": "2031-01-01T00:00:10Z"})),
        Some(ADMIN),
    );
    let header = |r: &Res, h: &str| r.headers.get(h).map(|v| v.to_str().unwrap().to_string());
    let first = call(&emu, "GET", "/run/foldco/anything", None, None);
    assert_eq!(first.status, 404, "{}", first.body);
    assert_eq!(header(&first, "ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(header(&first, "ratelimit-remaining").as_deref(), Some("1"));
    let second = call(&emu, "GET", "/run/foldco/anything", None, None);
    assert_eq!(header(&second, "ratelimit-remaining").as_deref(), Some("0"));
    let third = call(&emu, "GET", "/run/foldco/anything", None, None);
    assert_fold(
        &third,
        429,
        &fold(
            "Too many requests",
            "RATE_LIMITED",
            json!({"limit": 2, "window_seconds": 60, "organization": "foldco"}),
            Some("Wait until RateLimit-Reset seconds have passed"),
        ),
    );
    let reset: i64 = header(&third, "ratelimit-reset").unwrap().parse().unwrap();
    assert!((49..=50).contains(&reset), "{reset}");
    // Another organization has its own window; the next minute starts afresh.
    assert_eq!(
        call(&emu, "GET", "/run/acme/anything", None, None).status,
        404
    );
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"advance": "60s"})),
        Some(ADMIN),
    );
    let again = call(&emu, "GET", "/run/foldco/anything", None, None);
    assert_eq!(
        (
            again.status,
            header(&again, "ratelimit-remaining").as_deref()
        ),
        (404, Some("1"))
    );
}
