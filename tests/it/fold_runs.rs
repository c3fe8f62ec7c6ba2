//! Fold functions running for real: dispatch by path and by host, the Workers globals, a throw
//! and a timeout as `DISPATCH_FAILED` with the error on the activation, activations, replay and
//! bulk replay, logs, usage, plans (Free cap, Pro, downgrade, diagnose), and key-value and
//! database bindings that keep their data across a restart.

use serde_json::{json, Value};

use crate::common::*;

const ADMIN_TOKEN: &str = "fold_runs_admin_1";
const BILLING: &str = "fold_runs_billing_1";

fn extra(fold: &str) -> String {
    format!(
        r#"
[fold]
bindings = ["key-value:user-store", "database:orders"]
{fold}

[[organizations]]
slug = "runco"
allowed_bindings = ["key-value:user-store", "database:orders"]

[[organizations.fold_tokens]]
name = "admin"
token = "{ADMIN_TOKEN}"
role = "admin"

[[organizations.fold_tokens]]
name = "money"
token = "{BILLING}"
role = "billing-admin"
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
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

fn send(req: reqwest::blocking::RequestBuilder) -> Res {
    let resp = req.send().expect("request");
    Res {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().unwrap(),
    }
}

fn api(emu: &Emu, method: &str, path: &str, token: &str, body: Option<Value>) -> Res {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client()
        .request(method, format!("{}/fold{path}", emu.base))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    send(req)
}

fn deploy(emu: &Emu, name: &str, code: &str, bindings: &[&str]) -> Value {
    let r = api(
        emu,
        "POST",
        "/deploy",
        ADMIN_TOKEN,
        Some(json!({"name": name, "code": code, "intent": {"bindings": bindings}})),
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
    r.json()
}

fn fold(error: &str, code: &str, details: Value, hint: Option<&str>) -> String {
    json!({"error": error, "code": code, "details": details, "hint": hint}).to_string()
}

fn start(fold_settings: &str) -> (tempfile::TempDir, Emu) {
    let functions = tempfile::tempdir().unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(&extra(fold_settings)));
    (functions, emu)
}

const ECHO: &str = r#"
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json() : null;
    console.log("echo", request.method, url.pathname);
    return Response.json({
      method: request.method,
      path: url.pathname,
      who: url.searchParams.get("who"),
      agent: request.headers.get("x-agent"),
      body,
    }, { status: 201, headers: { "x-made-by": "echo" } });
  }
};
"#;

#[test]
fn a_function_answers_by_path_and_by_host_with_the_request_it_was_sent() {
    let (_f, emu) = start("");
    deploy(&emu, "echo", ECHO, &[]);
    let by_path = send(
        client()
            .post(format!("{}/fold/run/runco/echo/deeper?who=ada", emu.base))
            .header("x-agent", "test")
            .header("content-type", "application/json")
            .body(r#"{"n":1}"#),
    );
    assert_eq!(by_path.status, 201, "{}", by_path.body);
    assert_eq!(
        by_path.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(by_path.header("x-made-by").as_deref(), Some("echo"));
    assert_eq!(
        by_path.json(),
        json!({"method": "POST", "path": "/fold/run/runco/echo/deeper", "who": "ada", "agent": "test", "body": {"n": 1}})
    );
    assert!(by_path
        .header("x-fold-activation-id")
        .unwrap()
        .starts_with("act_"));
    assert_eq!(by_path.header("ratelimit-limit").as_deref(), Some("100"));

    let port = emu.base.rsplit(':').next().unwrap().to_string();
    let by_host = send(
        client()
            .get(format!("{}/echo?who=bob", emu.base))
            .header("Host", format!("runco.localhost:{port}")),
    );
    assert_eq!(by_host.status, 201, "{}", by_host.body);
    assert_eq!(
        by_host.json(),
        json!({"method": "GET", "path": "/echo", "who": "bob", "agent": null, "body": null})
    );
    let unknown = send(
        client()
            .get(format!("{}/nothing", emu.base))
            .header("Host", format!("runco.localhost:{port}")),
    );
    assert_eq!(
        unknown.body,
        fold(
            "Function not found",
            "FUNCTION_NOT_FOUND",
            json!({"tenant": "runco", "name": "nothing"}),
            None
        )
    );
    let no_tenant = send(
        client()
            .get(format!("{}/echo", emu.base))
            .header("Host", format!("nobody.localhost:{port}")),
    );
    assert_eq!(
        no_tenant.body,
        fold(
            "Organization not found",
            "TENANT_NOT_FOUND",
            json!({"tenant": "nobody"}),
            None
        )
    );
    // Other hosts still reach the emulator's own routes.
    let health = send(client().get(format!("{}/_emulator/health", emu.base)));
    assert_eq!(health.status, 200);
}

#[test]
fn a_throw_and_a_timeout_are_dispatch_failed_with_the_error_on_the_activation() {
    let (_f, emu) = start("timeout_secs = 1");
    deploy(
        &emu,
        "boom",
        "export default { async fetch() { console.log('about to fail'); throw new Error('boom'); } };",
        &[],
    );
    deploy(
        &emu,
        "spin",
        "export default { fetch() { while (true) {} } };",
        &[],
    );
    deploy(
        &emu,
        "plain",
        "export default { fetch() { return 'not a response'; } };",
        &[],
    );
    let r = send(client().get(format!("{}/fold/run/runco/boom", emu.base)));
    let id = r.header("x-fold-activation-id").unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(
        r.body,
        fold(
            "Dispatch failed",
            "DISPATCH_FAILED",
            json!({"activation_id": id, "status": "error", "message": "Error: boom"}),
            None
        )
    );
    let a = api(
        &emu,
        "GET",
        &format!("/activations/{id}"),
        ADMIN_TOKEN,
        None,
    )
    .json();
    assert_eq!(a["status"], "error");
    assert_eq!(a["error_message"], "Error: boom");
    assert!(a["logs"].as_str().unwrap().contains("about to fail"), "{a}");

    let t = send(client().get(format!("{}/fold/run/runco/spin", emu.base)));
    assert_eq!(t.status, 502, "{}", t.body);
    assert_eq!(t.json()["details"]["status"], "timeout");
    assert_eq!(t.json()["code"], "DISPATCH_FAILED");

    let p = send(client().get(format!("{}/fold/run/runco/plain", emu.base)));
    assert_eq!(p.status, 502);
    assert_eq!(
        p.json()["details"]["message"],
        "TypeError: The handler did not return a Response: fetch() must return a Response or a Promise of one"
    );
    let errors = api(
        &emu,
        "GET",
        "/activations?status=timeout",
        ADMIN_TOKEN,
        None,
    )
    .json();
    assert_eq!(
        errors["activations"].as_array().unwrap().len(),
        1,
        "{errors}"
    );
}

#[test]
fn activations_are_listed_read_replayed_against_the_new_version_and_bulk_replayed() {
    let (_f, emu) = start("");
    let f = deploy(
        &emu,
        "greet",
        "export default { async fetch(req) { const n = new URL(req.url).searchParams.get('n'); console.log('v1', n); return new Response('v1 ' + n); } };",
        &[],
    );
    let id = f["function_id"].as_str().unwrap().to_string();
    let first = send(client().get(format!("{}/fold/run/runco/greet?n=1", emu.base)));
    assert_eq!(first.body, "v1 1");
    let act = first.header("x-fold-activation-id").unwrap();

    let list = api(
        &emu,
        "GET",
        &format!("/activations?function_id={id}&status=success&limit=5"),
        ADMIN_TOKEN,
        None,
    )
    .json();
    let items = list["activations"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let keys: Vec<&str> = items[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "function_id",
            "tenant_id",
            "status",
            "duration_ms",
            "error_message",
            "triggered_at",
            "response_status"
        ]
    );
    assert_eq!(items[0]["tenant_id"], "runco");
    assert_eq!(items[0]["response_status"], 200);

    let detail = api(
        &emu,
        "GET",
        &format!("/activations/{act}"),
        ADMIN_TOKEN,
        None,
    )
    .json();
    assert_eq!(detail["request"]["method"], "GET");
    assert_eq!(detail["response"]["body"], "v1 1");
    assert_eq!(detail["logs"], "v1 1\n");
    assert_eq!(detail["version"], 1);

    deploy(
        &emu,
        "greet",
        "export default { async fetch(req) { const n = new URL(req.url).searchParams.get('n'); return new Response('v2 ' + n); } };",
        &[],
    );
    let replay = api(
        &emu,
        "POST",
        &format!("/activations/{act}/replay"),
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(replay.status, 200, "{}", replay.body);
    let replay = replay.json();
    assert_eq!(replay["replay_of"], act.as_str());
    assert_eq!(replay["version"], 2);
    assert_eq!(replay["response"]["body"], "v2 1");

    let bulk = api(
        &emu,
        "POST",
        "/activations/bulk-replay",
        ADMIN_TOKEN,
        Some(json!({"activation_ids": [act, "act_missing"]})),
    )
    .json();
    let results = bulk["results"].as_array().unwrap();
    assert_eq!(results[0]["replay"]["status"], "success");
    assert_eq!(results[1]["error"]["code"], "FUNCTION_NOT_FOUND");
    let too_many: Vec<String> = (0..51).map(|i| format!("act_{i}")).collect();
    let refused = api(
        &emu,
        "POST",
        "/activations/bulk-replay",
        ADMIN_TOKEN,
        Some(json!({"activation_ids": too_many})),
    );
    assert_eq!(
        refused.body,
        fold(
            "Request validation failed",
            "VALIDATION_ERROR",
            json!({"field": "activation_ids", "message": "has 51 ids; send 1 to 50"}),
            None
        )
    );
    let bad_limit = api(&emu, "GET", "/activations?limit=101", ADMIN_TOKEN, None);
    assert_eq!(bad_limit.status, 400, "{}", bad_limit.body);

    let logs = api(
        &emu,
        "GET",
        &format!("/logs?function_id={id}"),
        ADMIN_TOKEN,
        None,
    )
    .json();
    assert_eq!(logs["logs"].as_array().unwrap().len(), 1, "{logs}");
    let usage = api(&emu, "GET", "/usage/7", ADMIN_TOKEN, None).json();
    assert_eq!(
        usage["total_runs"], 3,
        "first run, replay, bulk replay: {usage}"
    );
    assert_eq!(usage["usage"].as_array().unwrap().len(), 1);
    let subrequests = api(&emu, "GET", "/subrequests", ADMIN_TOKEN, None).json();
    assert_eq!(subrequests, json!({"subrequests": []}));
}

#[test]
fn the_free_cap_pro_plan_downgrade_and_diagnose_follow_the_plan() {
    let (_f, emu) = start("free_monthly_runs = 2");
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"set": "2031-03-10T12:00:00Z"})),
        Some(ADMIN),
    );
    let f = deploy(
        &emu,
        "count",
        "export default { fetch() { return new Response('ok'); } };",
        &[],
    );
    let id = f["function_id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let r = send(client().get(format!("{}/fold/run/runco/count", emu.base)));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let capped = send(client().get(format!("{}/fold/run/runco/count", emu.base)));
    assert_eq!(capped.status, 429);
    assert_eq!(
        capped.body,
        fold(
            "Monthly usage limit of the Free plan reached",
            "USAGE_LIMIT_EXCEEDED",
            json!({"plan": "free", "runs_this_month": 2, "monthly_limit": 2, "month_started_at": "2031-03-01T00:00:00.000Z"}),
            Some("Upgrade to the Pro plan or wait for the monthly reset")
        )
    );
    let diagnose = api(
        &emu,
        "POST",
        &format!("/functions/{id}/diagnose"),
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(diagnose.status, 403);
    assert_eq!(
        diagnose.body,
        fold(
            "This feature requires the Pro plan",
            "PRO_PLAN_REQUIRED",
            json!({"feature": "diagnose", "plan": "free"}),
            Some("Upgrade to the Pro plan to use this feature")
        )
    );
    // A viewer-like role cannot change the plan; billing-admin can.
    let up = api(
        &emu,
        "PUT",
        "/billing/plan",
        BILLING,
        Some(json!({"plan": "pro"})),
    );
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.json()["plan"], "pro");
    let r = send(client().get(format!("{}/fold/run/runco/count", emu.base)));
    assert_eq!(r.status, 200, "Pro's cap is soft: {}", r.body);
    let diagnosed = api(
        &emu,
        "POST",
        &format!("/functions/{id}/diagnose"),
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(diagnosed.json()["healthy"], true, "{}", diagnosed.body);
    let down = api(
        &emu,
        "PUT",
        "/billing/plan",
        BILLING,
        Some(json!({"plan": "free"})),
    );
    assert_eq!(down.status, 409);
    assert_eq!(
        down.body,
        fold(
            "Downgrade blocked: current usage exceeds the Free plan limits",
            "DOWNGRADE_BLOCKED",
            json!({"runs_this_month": 3, "free_monthly_limit": 2}),
            None
        )
    );
    // A new month on the clock: the downgrade goes through and Free runs again.
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"set": "2031-04-01T00:00:01Z"})),
        Some(ADMIN),
    );
    let down = api(
        &emu,
        "PUT",
        "/billing/plan",
        BILLING,
        Some(json!({"plan": "free"})),
    );
    assert_eq!(down.status, 200, "{}", down.body);
    let r = send(client().get(format!("{}/fold/run/runco/count", emu.base)));
    assert_eq!(r.status, 200, "{}", r.body);
}

const STORE: &str = r#"
export default {
  async fetch(request, env) {
    await env.ORDERS.exec("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)");
    if (request.method === "POST") {
      const { item } = await request.json();
      const seen = Number(await env.USER_STORE.get("count") ?? "0") + 1;
      await env["user-store"].put("count", String(seen));
      await env.ORDERS.prepare("INSERT INTO orders (item) VALUES (?1)").bind(item).run();
      return Response.json({ seen });
    }
    const { results } = await env.ORDERS.prepare("SELECT id, item FROM orders ORDER BY id").all();
    const listed = await env.USER_STORE.list({ prefix: "co" });
    return Response.json({
      count: await env.USER_STORE.get("count", "json"),
      keys: listed.keys.map(k => k.name),
      orders: results,
      first: await env.ORDERS.prepare("SELECT item FROM orders WHERE id = ?").bind(1).first("item"),
    });
  }
};
"#;

#[test]
fn key_value_and_database_bindings_keep_their_data_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let functions = tempfile::tempdir().unwrap();
    let config = config_text(&extra(""));
    let emu = Emu::start_in(dir.path(), functions.path(), &config);
    deploy(
        &emu,
        "store",
        STORE,
        &["key-value:user-store", "database:orders"],
    );
    for item in ["tea", "cake"] {
        let r = send(
            client()
                .post(format!("{}/fold/run/runco/store", emu.base))
                .body(json!({ "item": item }).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    drop(emu);
    let emu = Emu::start_in(dir.path(), functions.path(), &config);
    let r = send(client().get(format!("{}/fold/run/runco/store", emu.base)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"count": 2, "keys": ["count"], "orders": [{"id": 1, "item": "tea"}, {"id": 2, "item": "cake"}], "first": "tea"})
    );
    // A SQL error is the function's to catch; uncaught it is the activation's error.
    deploy(
        &emu,
        "badsql",
        "export default { async fetch(r, env) { await env.ORDERS.prepare('SELECT * FROM nowhere').all(); return new Response('x'); } };",
        &["database:orders"],
    );
    let bad = send(client().get(format!("{}/fold/run/runco/badsql", emu.base)));
    assert_eq!(bad.status, 502);
    assert_eq!(
        bad.json()["details"]["message"],
        "Error: D1_ERROR: no such table: nowhere: SQLITE_ERROR"
    );
    // A binding the version was not deployed with is not in env.
    deploy(
        &emu,
        "unbound",
        "export default { async fetch(r, env) { return Response.json(Object.keys(env)); } };",
        &[],
    );
    let unbound = send(client().get(format!("{}/fold/run/runco/unbound", emu.base)));
    assert_eq!(unbound.json(), json!([]));
}

#[test]
fn admins_define_bindings_through_the_api_and_functions_use_them() {
    let (_f, emu) = start("");
    let listed = api(&emu, "GET", "/bindings", BILLING, None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.json()["bindings"][0],
        json!({"binding": "key-value:user-store", "type": "key-value", "name": "user-store", "source": "emulator.toml", "allowed": true, "created_at": null})
    );
    // Only admins define bindings.
    let body = json!({"type": "key-value", "name": "sessions"});
    let refused = api(&emu, "POST", "/bindings", BILLING, Some(body.clone()));
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.body,
        fold(
            "Your role does not allow this action",
            "FORBIDDEN",
            json!({"role": "billing-admin", "message": "defining bindings needs the admin role, not billing-admin"}),
            None
        )
    );
    // Undefined, a deploy naming it is BINDING_NOT_FOUND; defined, it deploys and runs.
    let code = "export default { async fetch(r, env) { await env.SESSIONS.put('k', 'v'); return new Response(await env.SESSIONS.get('k')); } };";
    let missing = api(
        &emu,
        "POST",
        "/deploy",
        ADMIN_TOKEN,
        Some(json!({"name": "sess", "code": code, "intent": {"bindings": ["key-value:sessions"]}})),
    );
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["code"], "BINDING_NOT_FOUND");
    let created = api(&emu, "POST", "/bindings", ADMIN_TOKEN, Some(body.clone()));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["source"], "api");
    let again = api(&emu, "POST", "/bindings", ADMIN_TOKEN, Some(body));
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["created_at"], created.json()["created_at"]);
    deploy(&emu, "sess", code, &["key-value:sessions"]);
    let ran = send(client().get(format!("{}/fold/run/runco/sess", emu.base)));
    assert_eq!((ran.status, ran.body.as_str()), (200, "v"));
    let bad = api(
        &emu,
        "POST",
        "/bindings",
        ADMIN_TOKEN,
        Some(json!({"binding": "queue:jobs"})),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["details"]["field"], "binding");
    // A binding from emulator.toml is not removed through the API; the API's own is.
    let config_one = api(
        &emu,
        "DELETE",
        "/bindings/key-value:user-store",
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(config_one.status, 400, "{}", config_one.body);
    let removed = api(
        &emu,
        "DELETE",
        "/bindings/key-value:sessions",
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(
        removed.body,
        r#"{"binding":"key-value:sessions","deleted":true}"#
    );
    let gone = api(
        &emu,
        "DELETE",
        "/bindings/key-value:sessions",
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(
        (gone.status, gone.body),
        (
            400,
            fold(
                "Binding not found",
                "BINDING_NOT_FOUND",
                json!({"binding": "key-value:sessions"}),
                Some("Define the binding under /bindings before deploying")
            )
        )
    );
}

/// Issue 14 for the deploy plane: a function's `fetch` is answered in the network mode (here
/// `replay`, from a cassette beside the state) and listed as a subrequest.
#[test]
fn fetch_in_a_function_is_answered_from_a_cassette_and_listed_as_a_subrequest() {
    let dir = tempfile::tempdir().unwrap();
    let functions = tempfile::tempdir().unwrap();
    let cassettes = dir.path().join("fold-http/runco/caller");
    std::fs::create_dir_all(&cassettes).unwrap();
    std::fs::write(
        cassettes.join("items.json"),
        json!({
            "request": {"method": "GET", "url": "https://api.example.com/v1/items?page=1"},
            "response": {"status": 200, "json": {"items": [1, 2]}},
        })
        .to_string(),
    )
    .unwrap();
    let emu = Emu::start_in(dir.path(), functions.path(), &config_text(&extra("")));
    let code = "export default {\n  async fetch(request, env) {\n    const r = await fetch('https://api.example.com/v1/items?page=1', { headers: { accept: 'application/json' } });\n    const data = await r.json();\n    return Response.json({ status: r.status, ok: r.ok, data, type: r.headers.get('content-type') });\n  }\n};\n";
    let deployed = deploy(&emu, "caller", code, &[]);
    let r = send(client().get(format!("{}/fold/run/runco/caller", emu.base)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"status": 200, "ok": true, "data": {"items": [1, 2]}, "type": "application/json"})
    );
    let listed = api(
        &emu,
        "GET",
        &format!(
            "/subrequests?function_id={}",
            deployed["function_id"].as_str().unwrap()
        ),
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    let s = &listed.json()["subrequests"][0];
    assert_eq!(s["destination_host"], "api.example.com", "{s}");
    assert_eq!(s["destination_path"], "/v1/items");
    assert_eq!(s["method"], "GET");
    assert_eq!(s["status"], 200);
    assert_eq!(s["source"], "cassette");
    // Nothing answers another URL: the function's error says how to record it.
    let other = "export default { async fetch() { await fetch('https://api.example.com/nope'); return new Response('x'); } };";
    deploy(&emu, "stray", other, &[]);
    let bad = send(client().get(format!("{}/fold/run/runco/stray", emu.base)));
    assert_eq!(bad.status, 502, "{}", bad.body);
    let message = bad.json()["details"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(
            "TypeError: fetch failed: no cassette for GET https://api.example.com/nope"
        ),
        "{message}"
    );
}

#[test]
fn the_dev_loop_folder_deploys_at_start_and_on_every_save() {
    let functions = tempfile::tempdir().unwrap();
    let fold_dir = tempfile::tempdir().unwrap();
    let hello = fold_dir.path().join("runco").join("hello");
    std::fs::create_dir_all(&hello).unwrap();
    let module = |word: &str| {
        format!("export default {{ fetch() {{ return new Response('{word}'); }} }};\n")
    };
    std::fs::write(hello.join("index.js"), module("first")).unwrap();
    let settings = format!("dir = {:?}", fold_dir.path().to_str().unwrap());
    let emu = Emu::start_with(functions.path(), &config_text(&extra(&settings)));
    let get = || send(client().get(format!("{}/fold/run/runco/hello", emu.base)));
    assert_eq!(get().body, "first", "deployed before the first request");

    std::fs::write(hello.join("index.js"), module("second")).unwrap();
    emu.wait_for("fold: deployed runco/hello v2");
    assert_eq!(get().body, "second");

    // A broken save keeps the version in force and says where the problem is.
    std::fs::write(hello.join("index.js"), "export default {\n  fetch() {\n").unwrap();
    let out = emu.wait_for("(v2 stays in force)");
    assert!(out.contains("runco/hello/index.js:"), "{out}");
    assert_eq!(get().body, "second");
    let versions = api(&emu, "GET", "/functions", ADMIN_TOKEN, None).json();
    assert_eq!(versions["functions"][0]["version"], 2, "{versions}");
}

#[test]
fn the_plane_answers_at_the_root_of_its_own_port_sharing_one_rate_limit() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let functions = tempfile::tempdir().unwrap();
    let config = config_text(&extra("rate_limit_per_minute = 3"))
        + &format!("\n[planes.fold]\nport = {port}\n");
    let emu = Emu::start_with(functions.path(), &config);
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"set": "2031-01-01T00:00:05Z"})),
        Some(ADMIN),
    );
    let own = format!("http://127.0.0.1:{port}");
    let r = send(
        client()
            .post(format!("{own}/deploy"))
            .header("Authorization", format!("Bearer {ADMIN_TOKEN}"))
            .body(json!({"name": "hi", "code": "export default { fetch() { return new Response('hi'); } };"}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let on_own = send(client().get(format!("{own}/run/runco/hi")));
    assert_eq!(on_own.body, "hi");
    assert_eq!(on_own.header("ratelimit-remaining").as_deref(), Some("2"));
    let on_main = send(client().get(format!("{}/fold/run/runco/hi", emu.base)));
    assert_eq!(on_main.header("ratelimit-remaining").as_deref(), Some("1"));
}

mod mcp {
    use std::collections::HashMap;

    use rmcp::model::{CallToolRequestParams, CallToolResult};
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::ServiceExt;
    use serde_json::{json, Value};

    use super::*;

    fn config(url: String, token: &str) -> StreamableHttpClientTransportConfig {
        let mut headers = HashMap::new();
        headers.insert(
            axum::http::HeaderName::from_static("authorization"),
            axum::http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        StreamableHttpClientTransportConfig::with_uri(url).custom_headers(headers)
    }

    fn body(r: &CallToolResult) -> Value {
        let c = serde_json::to_value(&r.content[0]).unwrap();
        serde_json::from_str(c["text"].as_str().unwrap()).unwrap()
    }

    fn call(name: &str, args: Value) -> CallToolRequestParams {
        serde_json::from_value(json!({"name": name, "arguments": args})).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_plane_mcp_endpoint_deploys_lists_reads_logs_and_rolls_back_for_admins_only() {
        let (_f, emu) = tokio::task::spawn_blocking(|| start("")).await.unwrap();
        let url = format!("{}/fold/mcp", emu.base);
        let client = ()
            .serve(StreamableHttpClientTransport::from_config(config(
                url.clone(),
                ADMIN_TOKEN,
            )))
            .await
            .expect("initialize");
        let mut names: Vec<String> = client
            .list_all_tools()
            .await
            .expect("tools/list")
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "delete_function",
                "deploy_function",
                "diagnose_error",
                "get_activation_logs",
                "get_tool_info",
                "list_functions",
                "rollback_function",
                "search_tools"
            ]
        );
        let deployed = client
            .call_tool(call(
                "deploy_function",
                json!({"name": "via-mcp", "code": "export default { fetch() { console.log('mcp run'); return new Response('from mcp'); } };"}),
            ))
            .await
            .unwrap();
        assert_ne!(deployed.is_error, Some(true), "{deployed:?}");
        let id = body(&deployed)["function_id"].as_str().unwrap().to_string();
        let base = emu.base.clone();
        let ran = tokio::task::spawn_blocking(move || {
            send(client_blocking().get(format!("{base}/fold/run/runco/via-mcp"))).body
        })
        .await
        .unwrap();
        assert_eq!(ran, "from mcp");
        let logs = client
            .call_tool(call("get_activation_logs", json!({"function_id": id})))
            .await
            .unwrap();
        let acts = body(&logs);
        assert_eq!(acts["activations"][0]["status"], "success", "{acts}");
        let listed = client
            .call_tool(call("list_functions", json!({})))
            .await
            .unwrap();
        assert_eq!(body(&listed)["functions"][0]["name"], "via-mcp");
        let missing = client
            .call_tool(call(
                "rollback_function",
                json!({"function_id": id, "version": 9}),
            ))
            .await
            .unwrap();
        assert_eq!(missing.is_error, Some(true));
        assert_eq!(body(&missing)["code"], "VERSION_NOT_FOUND");
        let gone = client
            .call_tool(call("delete_function", json!({"function_id": id})))
            .await
            .unwrap();
        assert_eq!(body(&gone)["deleted"], true);
        client.cancel().await.ok();

        // A role other than admin is refused before MCP, in the plane's envelope.
        let refused = tokio::task::spawn_blocking(move || {
            send(
                client_blocking()
                    .post(url)
                    .header("Authorization", format!("Bearer {BILLING}"))
                    .header("Accept", "application/json, text/event-stream")
                    .header("Content-Type", "application/json")
                    .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#),
            )
        })
        .await
        .unwrap();
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.json()["code"], "FORBIDDEN");
    }

    fn client_blocking() -> &'static reqwest::blocking::Client {
        client()
    }
}

/// Issue 16: the operator sees every organization's fold functions and runs in the admin API
/// (the dashboard's planes page), without a fold token.
#[test]
fn the_admin_api_lists_fold_functions_and_activations_of_every_organization() {
    let (_f, emu) = start("");
    deploy(&emu, "listed", ECHO, &[]);
    let r = send(client().get(format!("{}/fold/run/runco/listed/x?who=op", emu.base)));
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, functions) = emu.admin("GET", "/fold/functions", None, Some(crate::common::ADMIN));
    assert_eq!(status, 200, "{functions}");
    let f = functions["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "listed")
        .unwrap_or_else(|| panic!("{functions}"))
        .clone();
    assert_eq!(
        (
            f["organization"].clone(),
            f["version"].clone(),
            f["versions"].clone()
        ),
        (json!("runco"), json!(1), json!(1))
    );
    let (_, runs) = emu.admin(
        "GET",
        "/fold/activations?limit=5",
        None,
        Some(crate::common::ADMIN),
    );
    assert_eq!(runs["activations"][0]["function"], "listed", "{runs}");
    assert_eq!(runs["activations"][0]["status"], "success");
    assert_eq!(runs["activations"][0]["response_status"], 201);
    let (status, bad) = emu.admin(
        "GET",
        "/fold/activations?limit=0",
        None,
        Some(crate::common::ADMIN),
    );
    assert_eq!(status, 400, "{bad}");
}
