//! The identity plane (`problem` profile) through HTTP, as a client uses it: every P row
//! reached the way a client reaches it, with status, content type and body checked byte for
//! byte; and the happy paths (register → login → me → refresh → logout, users, roles,
//! assignments, the plane's own port, tokens across a restart, the `users` CLI).
//!
//! Tests that move the clock or inject faults start an emulator of their own; the others share
//! one, each in a tenant (an organization) of its own, so their first users are the tenants'
//! administrators and no test sees another's users.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::*;

const PASSWORD: &str = "Str0ngPass";
const PROBLEM: &str = "application/problem+json";

struct Res {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: String,
}

impl Res {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn call(emu: &Emu, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Res {
    call_url(&format!("{}{path}", emu.base), method, token, body)
}

fn call_url(url: &str, method: &str, token: Option<&str>, body: Option<&Value>) -> Res {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client().request(method, url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().expect("request");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (content_type, retry_after) = (
        header("content-type").unwrap_or_default(),
        header("retry-after"),
    );
    Res {
        status: resp.status().as_u16(),
        content_type,
        retry_after,
        body: resp.text().unwrap(),
    }
}

/// The exact bytes of a problem answer.
fn problem(slug: &str, title: &str, status: u16, detail: &str, instance: &str) -> String {
    format!(
        r#"{{"type":"https://api.cortex.purplelab.ai/errors/{slug}","title":"{title}","status":{status},"detail":"{detail}","instance":"{instance}"}}"#
    )
}

#[track_caller]
fn assert_problem(r: &Res, status: u16, body: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.content_type, PROBLEM, "{}", r.body);
    assert_eq!(r.body, body);
}

fn unique(prefix: &str) -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

fn new_email() -> String {
    format!("{}@example.com", unique("user"))
}

/// An emulator with no tools (the plane needs none), and the folder it watches.
fn emulator(extra: &str) -> (tempfile::TempDir, Emu) {
    let functions = tempfile::tempdir().unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(extra));
    (functions, emu)
}

fn shared_plane() -> &'static Emu {
    static EMU: OnceLock<(tempfile::TempDir, Emu)> = OnceLock::new();
    &EMU.get_or_init(|| emulator("")).1
}

/// A new tenant: an emulator organization made through the admin API.
fn new_tenant(emu: &Emu) -> String {
    let slug = unique("t");
    let (status, body) = emu.admin(
        "POST",
        "/organizations",
        Some(json!({"slug": slug})),
        Some(ADMIN),
    );
    assert_eq!(status, 201, "{body}");
    slug
}

struct Session {
    token: String,
    refresh: String,
    user: Value,
    email: String,
}

impl Session {
    fn id(&self) -> &str {
        self.user["id"].as_str().unwrap()
    }
}

fn session_of(r: &Res, email: &str) -> Session {
    let v = r.json();
    Session {
        token: v["accessToken"].as_str().unwrap().to_string(),
        refresh: v["refreshToken"].as_str().unwrap().to_string(),
        user: v["user"].clone(),
        email: email.to_string(),
    }
}

fn register(emu: &Emu, tenant: &str) -> Session {
    let email = new_email();
    let r = call(
        emu,
        "POST",
        "/identity/auth/register",
        None,
        Some(
            &json!({"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace", "tenantId": tenant}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    session_of(&r, &email)
}

fn login(emu: &Emu, email: &str, password: &str) -> Res {
    call(
        emu,
        "POST",
        "/identity/auth/login",
        None,
        Some(&json!({"email": email, "password": password})),
    )
}

/// A user made by a tenant administrator, and the user's own session.
fn create_user(emu: &Emu, admin: &Session, organization: Option<&str>) -> Session {
    let email = new_email();
    let mut body =
        json!({"email": email, "password": PASSWORD, "firstName": "Grace", "lastName": "Hopper"});
    if let Some(o) = organization {
        body["organizationId"] = json!(o);
    }
    let r = call(
        emu,
        "POST",
        "/identity/users",
        Some(&admin.token),
        Some(&body),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = login(emu, &email, PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    session_of(&r, &email)
}

fn advance(emu: &Emu, span: &str) {
    let (status, body) = emu.admin(
        "POST",
        "/clock",
        Some(json!({"advance": span})),
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{body}");
}

fn create_role(emu: &Emu, admin: &Session, name: &str, permissions: Value) -> Value {
    let r = call(
        emu,
        "POST",
        "/identity/roles",
        Some(&admin.token),
        Some(
            &json!({"name": name, "description": "test role", "scopeLevel": "TENANT", "permissions": permissions}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn assign(emu: &Emu, admin: &Session, user: &str, role: &str, organization: Option<&str>) -> Value {
    let r = call(
        emu,
        "POST",
        "/identity/role-assignments",
        Some(&admin.token),
        Some(&json!({"userId": user, "roleId": role, "organizationId": organization})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

// --- happy paths ---------------------------------------------------------------------------

#[test]
fn health_answers_as_documented() {
    let r = call(shared_plane(), "GET", "/identity/health", None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(
        r.body,
        r#"{"status":"ok","service":"cortex-core","version":"0.1.0"}"#
    );
}

#[test]
fn register_login_me_refresh_rotation_and_logout() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let ada = register(emu, &tenant);
    assert_eq!(ada.token.split('.').count(), 3, "a JWT");
    assert!(ada.refresh.starts_with("rt_"));
    let u = &ada.user;
    assert_eq!(u["id"].as_str().unwrap().len(), 36);
    assert_eq!(u["email"], json!(ada.email));
    assert_eq!(
        (u["firstName"].clone(), u["lastName"].clone()),
        (json!("Ada"), json!("Lovelace"))
    );
    assert_eq!(u["tenantId"], json!(tenant));
    assert_eq!(u["status"], json!("ACTIVE"));
    assert!(u["createdAt"].as_str().unwrap().ends_with('Z'));

    // Login takes the email in any case and opens another session.
    let r = login(emu, &ada.email.to_uppercase(), PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type, "application/json");
    let second = session_of(&r, &ada.email);
    assert_eq!(second.user["id"], ada.user["id"]);

    let r = call(emu, "GET", "/identity/auth/me", Some(&second.token), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), ada.user);

    // Rotation: the refresh token works once; the new pair works.
    let r = call(
        emu,
        "POST",
        "/identity/auth/refresh",
        None,
        Some(&json!({"refreshToken": second.refresh})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let third = session_of(&r, &ada.email);
    assert_ne!(third.refresh, second.refresh);
    let again = call(
        emu,
        "POST",
        "/identity/auth/refresh",
        None,
        Some(&json!({"refreshToken": second.refresh})),
    );
    // P-invalid-token: a used refresh token is refused.
    assert_problem(
        &again,
        401,
        &problem(
            "invalid-token",
            "Invalid Token",
            401,
            "The access token is invalid or has expired",
            "/identity/auth/refresh",
        ),
    );
    assert_eq!(
        call(emu, "GET", "/identity/auth/me", Some(&third.token), None).status,
        200
    );

    // Logout ends the session: its access and refresh tokens stop working, others do not.
    let r = call(
        emu,
        "POST",
        "/identity/auth/logout",
        Some(&third.token),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.body, "");
    let r = call(emu, "GET", "/identity/auth/me", Some(&third.token), None);
    assert_problem(
        &r,
        401,
        &problem(
            "invalid-token",
            "Invalid Token",
            401,
            "The access token is invalid or has expired",
            "/identity/auth/me",
        ),
    );
    let r = call(
        emu,
        "POST",
        "/identity/auth/refresh",
        None,
        Some(&json!({"refreshToken": third.refresh})),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        call(emu, "GET", "/identity/auth/me", Some(&ada.token), None).status,
        200
    );
}

#[test]
fn users_are_created_listed_in_pages_updated_and_deleted() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let admin = register(emu, &tenant);
    let made: Vec<Session> = (0..4).map(|_| create_user(emu, &admin, None)).collect();
    let r = call(
        emu,
        "GET",
        "/identity/users?page=2&limit=2",
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(
        v["pagination"],
        json!({"total": 5, "page": 2, "limit": 2, "totalPages": 3})
    );
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [made[1].id(), made[2].id()], "oldest first");
    let r = call(
        emu,
        "GET",
        "/identity/users?search=HOPPER&limit=100",
        Some(&admin.token),
        None,
    );
    assert_eq!(r.json()["pagination"]["total"], 4);

    // P-validation on a query: the bad parameter is named; `instance` is the path alone.
    let r = call(
        emu,
        "GET",
        "/identity/users?limit=500",
        Some(&admin.token),
        None,
    );
    assert_problem(
        &r,
        400,
        r#"{"type":"https://api.cortex.purplelab.ai/errors/validation-error","title":"Validation Error","status":400,"detail":"One or more fields failed validation","instance":"/identity/users","errors":[{"field":"limit","message":"limit must be an integer from 1 to 100"}]}"#,
    );

    let path = format!("/identity/users/{}", made[0].id());
    let r = call(
        emu,
        "PATCH",
        &path,
        Some(&admin.token),
        Some(&json!({"firstName": "Amazing"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["firstName"], "Amazing");
    assert_eq!(r.json()["lastName"], "Hopper");
    let r = call(emu, "GET", &path, Some(&admin.token), None);
    assert_eq!(r.json()["firstName"], "Amazing");
    let r = call(emu, "DELETE", &path, Some(&admin.token), None);
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let r = call(emu, "GET", &path, Some(&admin.token), None);
    assert_problem(
        &r,
        404,
        &problem(
            "not-found",
            "Not Found",
            404,
            "The requested resource was not found",
            &path,
        ),
    );
    // The deleted user's token names no one any more.
    assert_eq!(
        call(emu, "GET", "/identity/auth/me", Some(&made[0].token), None).status,
        401
    );
}

#[test]
fn roles_permissions_and_assignments() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let admin = register(emu, &tenant);
    let user = create_user(emu, &admin, None);

    let r = call(
        emu,
        "GET",
        "/identity/permissions",
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let perms = r.json()["data"].as_array().unwrap().clone();
    assert!(perms
        .iter()
        .any(|p| p["resource"] == "users" && p["action"] == "create"));

    let r = call(emu, "GET", "/identity/roles", Some(&admin.token), None);
    let roles = r.json();
    let names: Vec<&str> = roles["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ORG_ADMIN", "TENANT_ADMIN"],
        "system roles, by name"
    );
    let tenant_admin = roles["data"][1].clone();
    assert_eq!(tenant_admin["isSystem"], true);
    assert_eq!(tenant_admin["scopeLevel"], "TENANT");
    assert_eq!(
        tenant_admin["permissions"].as_array().unwrap().len(),
        perms.len()
    );

    // System roles are immutable.
    let path = format!("/identity/roles/{}", tenant_admin["id"].as_str().unwrap());
    let r = call(
        emu,
        "PATCH",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "MINE"})),
    );
    assert_problem(
        &r,
        403,
        &problem(
            "forbidden",
            "Forbidden",
            403,
            "System roles cannot be modified",
            &path,
        ),
    );

    let role = create_role(
        emu,
        &admin,
        "support",
        json!(["users:read", {"resource": "users", "action": "update"}]),
    );
    assert_eq!(role["isSystem"], false);
    assert_eq!(role["scopeLevel"], "TENANT");
    let held: Vec<String> = role["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p["resource"].as_str().unwrap(),
                p["action"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(held, ["users:read", "users:update"]);
    let role_path = format!("/identity/roles/{}", role["id"].as_str().unwrap());
    let r = call(emu, "GET", &role_path, Some(&admin.token), None);
    assert_eq!(r.json(), role);
    let r = call(
        emu,
        "PATCH",
        &role_path,
        Some(&admin.token),
        Some(&json!({"permissions": ["users:read"]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["permissions"].as_array().unwrap().len(), 1);
    // P-conflict for a role name in use.
    let r = call(
        emu,
        "POST",
        "/identity/roles",
        Some(&admin.token),
        Some(&json!({"name": "Support", "scopeLevel": "TENANT"})),
    );
    assert_problem(
        &r,
        409,
        &problem(
            "conflict",
            "Conflict",
            409,
            "A role with this name already exists",
            "/identity/roles",
        ),
    );
    // Unknown permissions and scope levels are field errors.
    let r = call(
        emu,
        "POST",
        "/identity/roles",
        Some(&admin.token),
        Some(&json!({"name": "x", "scopeLevel": "GALAXY", "permissions": ["users:fly"]})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["errors"],
        json!([
            {"field": "scopeLevel", "message": "scopeLevel must be one of PLATFORM, TENANT, ORGANIZATION"},
            {"field": "permissions[0]", "message": "Unknown permission users:fly"},
        ])
    );

    let a = assign(emu, &admin, user.id(), role["id"].as_str().unwrap(), None);
    assert_eq!(a["userId"], json!(user.id()));
    assert_eq!(a["expiresAt"], Value::Null);
    let r = call(
        emu,
        "GET",
        &format!("/identity/role-assignments?userId={}", user.id()),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"], json!([a]));
    assert_eq!(
        r.json()["pagination"],
        json!({"total": 1, "page": 1, "limit": 20, "totalPages": 1})
    );
    // The role takes effect on the user's next request.
    assert_eq!(
        call(emu, "GET", "/identity/users", Some(&user.token), None).status,
        200
    );
    let a_path = format!("/identity/role-assignments/{}", a["id"].as_str().unwrap());
    let r = call(emu, "DELETE", &a_path, Some(&admin.token), None);
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let r = call(emu, "GET", &a_path, Some(&admin.token), None);
    assert_problem(
        &r,
        404,
        &problem(
            "not-found",
            "Not Found",
            404,
            "The requested resource was not found",
            &a_path,
        ),
    );
    let r = call(emu, "DELETE", &role_path, Some(&admin.token), None);
    assert_eq!((r.status, r.body.as_str()), (204, ""));
}

#[test]
fn an_org_admin_reaches_the_users_of_its_organization_only() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let admin = register(emu, &tenant);
    let r = call(
        emu,
        "POST",
        "/identity/organizations",
        Some(&admin.token),
        Some(&json!({"name": "Research"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let org = r.json()["id"].as_str().unwrap().to_string();
    let member = create_user(emu, &admin, Some(&org));
    assert_eq!(member.user["organizationId"], json!(org));
    let outsider = create_user(emu, &admin, None);
    let lead = create_user(emu, &admin, None);
    let r = call(
        emu,
        "GET",
        "/identity/roles?search=org_admin",
        Some(&admin.token),
        None,
    );
    let org_admin = r.json()["data"][0]["id"].as_str().unwrap().to_string();
    // An ORGANIZATION role needs an organization.
    let r = call(
        emu,
        "POST",
        "/identity/role-assignments",
        Some(&admin.token),
        Some(&json!({"userId": lead.id(), "roleId": org_admin})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assign(emu, &admin, lead.id(), &org_admin, Some(&org));

    let r = call(
        emu,
        "GET",
        &format!("/identity/users/{}", member.id()),
        Some(&lead.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let path = format!("/identity/users/{}", outsider.id());
    let r = call(emu, "GET", &path, Some(&lead.token), None);
    assert_problem(
        &r,
        403,
        &problem(
            "insufficient-permissions",
            "Insufficient Permissions",
            403,
            "Required permission: users:read",
            &path,
        ),
    );
    let r = call(emu, "GET", "/identity/users", Some(&lead.token), None);
    let listed: Vec<Value> = r.json()["data"].as_array().unwrap().clone();
    assert_eq!(listed, std::slice::from_ref(&member.user));
}

#[test]
fn the_plane_has_a_port_of_its_own_when_configured() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_dir, emu) = emulator(&format!("\n[planes.identity]\nport = {port}\n"));
    let base = format!("http://127.0.0.1:{port}");
    let r = call_url(&format!("{base}/health"), "GET", None, None);
    assert_eq!(
        r.body,
        r#"{"status":"ok","service":"cortex-core","version":"0.1.0"}"#
    );
    let tenant = new_tenant(&emu);
    let ada = register(&emu, &tenant);
    // One plane behind both doors: a token from one works at the other.
    let r = call_url(&format!("{base}/auth/me"), "GET", Some(&ada.token), None);
    assert_eq!(r.status, 200, "{}", r.body);
    // P-credentials at the root of the plane's port: `instance` is the path sent there.
    let r = call_url(
        &format!("{base}/auth/login"),
        "POST",
        None,
        Some(&json!({"email": ada.email, "password": "Wr0ngPassword"})),
    );
    assert_problem(
        &r,
        401,
        &problem(
            "invalid-credentials",
            "Invalid Credentials",
            401,
            "The email or password provided is incorrect",
            "/auth/login",
        ),
    );
}

#[test]
fn tokens_and_users_survive_a_restart() {
    let functions = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    let tenant = new_tenant(&emu);
    let ada = register(&emu, &tenant);
    emu.kill_hard();
    drop(emu);
    let emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    let r = call(&emu, "GET", "/identity/auth/me", Some(&ada.token), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(login(&emu, &ada.email, PASSWORD).status, 200);
}

// --- every P row -------------------------------------------------------------------------

/// P-credentials: a wrong password, and an unknown email, answer alike.
#[test]
fn wrong_password_or_unknown_email_is_invalid_credentials() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let ada = register(emu, &tenant);
    let expected = problem(
        "invalid-credentials",
        "Invalid Credentials",
        401,
        "The email or password provided is incorrect",
        "/identity/auth/login",
    );
    assert_problem(&login(emu, &ada.email, "Wr0ngPassword"), 401, &expected);
    assert_problem(&login(emu, &new_email(), PASSWORD), 401, &expected);
}

/// P-locked: five failures lock the account for 15 minutes, even for the right password;
/// the lock ends by the clock or by the operator (`users unlock`).
#[test]
fn five_failed_logins_lock_the_account_for_fifteen_minutes() {
    let (_dir, emu) = emulator("");
    let tenant = new_tenant(&emu);
    let ada = register(&emu, &tenant);
    let wrong = problem(
        "invalid-credentials",
        "Invalid Credentials",
        401,
        "The email or password provided is incorrect",
        "/identity/auth/login",
    );
    for _ in 0..5 {
        assert_problem(&login(&emu, &ada.email, "Wr0ngPassword"), 401, &wrong);
    }
    let locked = problem(
        "account-locked",
        "Account Locked",
        403,
        "Account is temporarily locked due to too many failed login attempts",
        "/identity/auth/login",
    );
    assert_problem(&login(&emu, &ada.email, PASSWORD), 403, &locked);
    advance(&emu, "14m");
    assert_problem(&login(&emu, &ada.email, PASSWORD), 403, &locked);
    advance(&emu, "1m");
    let r = login(&emu, &ada.email, PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    // A new session: the first one's access token has expired meanwhile.
    let ada = session_of(&r, &ada.email);

    // The operator lifts a lock through the admin API.
    let bob = create_user(&emu, &ada, None);
    for _ in 0..5 {
        login(&emu, &bob.email, "Wr0ngPassword");
    }
    assert_problem(&login(&emu, &bob.email, PASSWORD), 403, &locked);
    let (status, listed) = emu.admin(
        "GET",
        &format!("/identity/users?tenant={tenant}"),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{listed}");
    let row = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == json!(bob.id()))
        .cloned()
        .unwrap();
    assert_eq!(
        (row["locked"].clone(), row["failed_logins"].clone()),
        (json!(true), json!(5))
    );
    let (status, body) = emu.admin(
        "POST",
        &format!("/identity/users/{}/unlock", bob.id()),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["locked"], false);
    assert_eq!(login(&emu, &bob.email, PASSWORD).status, 200);
}

/// P-suspended: a suspended user cannot log in, refresh, or use a token it still holds.
#[test]
fn a_suspended_user_is_refused_everywhere_until_reactivated() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let admin = register(emu, &tenant);
    let sue = create_user(emu, &admin, None);
    let r = call(
        emu,
        "POST",
        &format!("/identity/users/{}/suspend", sue.id()),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "SUSPENDED");
    let suspended = |instance: &str| {
        problem(
            "account-suspended",
            "Account Suspended",
            403,
            "This account has been suspended",
            instance,
        )
    };
    assert_problem(
        &login(emu, &sue.email, PASSWORD),
        403,
        &suspended("/identity/auth/login"),
    );
    let r = call(emu, "GET", "/identity/auth/me", Some(&sue.token), None);
    assert_problem(&r, 403, &suspended("/identity/auth/me"));
    let r = call(
        emu,
        "POST",
        "/identity/auth/refresh",
        None,
        Some(&json!({"refreshToken": sue.refresh})),
    );
    assert_problem(&r, 403, &suspended("/identity/auth/refresh"));
    let r = call(
        emu,
        "POST",
        &format!("/identity/users/{}/reactivate", sue.id()),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.json()["status"], "ACTIVE");
    assert_eq!(login(emu, &sue.email, PASSWORD).status, 200);
    // The refresh token was not used up by the refused attempt.
    let r = call(
        emu,
        "POST",
        "/identity/auth/refresh",
        None,
        Some(&json!({"refreshToken": sue.refresh})),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // The operator's way: the admin API.
    let (status, body) = emu.admin(
        "POST",
        &format!("/identity/users/{}/suspend", sue.id()),
        None,
        Some(ADMIN),
    );
    assert_eq!((status, body["status"].clone()), (200, json!("SUSPENDED")));
    assert_problem(
        &login(emu, &sue.email, PASSWORD),
        403,
        &suspended("/identity/auth/login"),
    );
    let (status, _) = emu.admin(
        "POST",
        &format!("/identity/users/{}/reactivate", sue.id()),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200);
    assert_eq!(login(emu, &sue.email, PASSWORD).status, 200);
}

/// P-invalid-token: a tampered token, and one signed by someone else.
#[test]
fn tampered_and_foreign_tokens_are_invalid() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let ada = register(emu, &tenant);
    let expected = problem(
        "invalid-token",
        "Invalid Token",
        401,
        "The access token is invalid or has expired",
        "/identity/auth/me",
    );
    // One character in the middle of the signature changed.
    let mut bytes = ada.token.clone().into_bytes();
    let i = ada.token.rfind('.').unwrap() + 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_problem(
        &call(emu, "GET", "/identity/auth/me", Some(&tampered), None),
        401,
        &expected,
    );
    // jwt.io's example token: well formed, HS256, signed with "your-256-bit-secret".
    let foreign = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    assert_problem(
        &call(emu, "GET", "/identity/auth/me", Some(foreign), None),
        401,
        &expected,
    );
    assert_problem(
        &call(emu, "GET", "/identity/auth/me", Some("not-a-jwt"), None),
        401,
        &expected,
    );
}

/// P-expired: an access token past its 15 minutes on the test clock; refreshing still works.
#[test]
fn access_tokens_expire_after_fifteen_minutes() {
    let (_dir, emu) = emulator("");
    let tenant = new_tenant(&emu);
    let ada = register(&emu, &tenant);
    advance(&emu, "14m");
    assert_eq!(
        call(&emu, "GET", "/identity/auth/me", Some(&ada.token), None).status,
        200
    );
    advance(&emu, "2m");
    let r = call(&emu, "GET", "/identity/auth/me", Some(&ada.token), None);
    assert_problem(
        &r,
        401,
        &problem(
            "token-expired",
            "Token Expired",
            401,
            "The access token has expired. Please refresh your token.",
            "/identity/auth/me",
        ),
    );
    let r = call(
        &emu,
        "POST",
        "/identity/auth/refresh",
        None,
        Some(&json!({"refreshToken": ada.refresh})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = session_of(&r, &ada.email);
    assert_eq!(
        call(&emu, "GET", "/identity/auth/me", Some(&fresh.token), None).status,
        200
    );
}

/// P-validation: every bad field of a register body is listed, in the body's field order.
#[test]
fn a_bad_register_body_lists_every_bad_field() {
    let emu = shared_plane();
    let r = call(
        emu,
        "POST",
        "/identity/auth/register",
        None,
        Some(
            &json!({"email": "not-an-email", "password": "", "firstName": "", "tenantId": "no-such-tenant"}),
        ),
    );
    assert_problem(
        &r,
        400,
        r#"{"type":"https://api.cortex.purplelab.ai/errors/validation-error","title":"Validation Error","status":400,"detail":"One or more fields failed validation","instance":"/identity/auth/register","errors":[{"field":"email","message":"Email must be a valid email address"},{"field":"password","message":"Password is required"},{"field":"firstName","message":"First name is required"},{"field":"lastName","message":"Last name is required"},{"field":"tenantId","message":"Tenant not found"}]}"#,
    );
    // A body that is not a JSON object at all.
    let r = call_url(
        &format!("{}/identity/auth/login", emu.base),
        "POST",
        None,
        Some(&json!([1])),
    );
    assert_problem(
        &r,
        400,
        r#"{"type":"https://api.cortex.purplelab.ai/errors/validation-error","title":"Validation Error","status":400,"detail":"One or more fields failed validation","instance":"/identity/auth/login","errors":[{"field":"body","message":"Request body must be a JSON object"}]}"#,
    );
}

/// P-uuid: a malformed id in a path.
#[test]
fn a_malformed_id_in_a_path_is_an_invalid_uuid() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let admin = register(emu, &tenant);
    for path in [
        "/identity/users/not-a-uuid",
        "/identity/roles/123",
        "/identity/role-assignments/xyz",
    ] {
        let r = call(emu, "GET", path, Some(&admin.token), None);
        assert_problem(
            &r,
            400,
            &problem(
                "invalid-uuid",
                "Invalid UUID",
                400,
                "The provided ID is not a valid UUID",
                path,
            ),
        );
    }
}

/// P-password: the first rule a weak password breaks.
#[test]
fn a_weak_password_names_the_first_rule_it_breaks() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let attempt = |password: &str| {
        call(
            emu,
            "POST",
            "/identity/auth/register",
            None,
            Some(
                &json!({"email": new_email(), "password": password, "firstName": "A", "lastName": "B", "tenantId": tenant}),
            ),
        )
    };
    let policy = |detail: &str| {
        problem(
            "password-policy",
            "Password Policy Violation",
            400,
            detail,
            "/identity/auth/register",
        )
    };
    assert_problem(
        &attempt("weakpass1"),
        400,
        &policy("Password must contain at least one uppercase letter"),
    );
    assert_problem(
        &attempt("Sh0rt"),
        400,
        &policy("Password must be at least 8 characters long"),
    );
    assert_problem(
        &attempt("NOLOWER1"),
        400,
        &policy("Password must contain at least one lowercase letter"),
    );
    assert_problem(
        &attempt("NoDigitsHere"),
        400,
        &policy("Password must contain at least one number"),
    );
}

/// P-unauthorized: no token (or no bearer token) on a protected route.
#[test]
fn no_token_is_unauthorized() {
    let emu = shared_plane();
    let expected = problem(
        "unauthorized",
        "Unauthorized",
        401,
        "Authentication is required to access this resource",
        "/identity/auth/me",
    );
    assert_problem(
        &call(emu, "GET", "/identity/auth/me", None, None),
        401,
        &expected,
    );
    let r = client()
        .get(format!("{}/identity/auth/me", emu.base))
        .header("Authorization", "Basic YWRhOnB3")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.text().unwrap(), expected);
}

/// P-forbidden: a user with no role may not act at all.
#[test]
fn a_user_without_a_role_is_forbidden() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let _admin = register(emu, &tenant);
    let nobody = register(emu, &tenant);
    let r = call(emu, "GET", "/identity/users", Some(&nobody.token), None);
    assert_problem(
        &r,
        403,
        &problem(
            "forbidden",
            "Forbidden",
            403,
            "You do not have permission to perform this action",
            "/identity/users",
        ),
    );
    // Their own profile needs no permission.
    assert_eq!(
        call(emu, "GET", "/identity/auth/me", Some(&nobody.token), None).status,
        200
    );
}

/// P-permission: a role without the permission a route needs names it.
#[test]
fn a_role_without_the_permission_names_it() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let admin = register(emu, &tenant);
    let viewer = register(emu, &tenant);
    let role = create_role(
        emu,
        &admin,
        "viewer",
        json!([{"resource": "users", "action": "read"}]),
    );
    assign(emu, &admin, viewer.id(), role["id"].as_str().unwrap(), None);
    assert_eq!(
        call(emu, "GET", "/identity/users", Some(&viewer.token), None).status,
        200
    );
    let r = call(
        emu,
        "POST",
        "/identity/users",
        Some(&viewer.token),
        Some(
            &json!({"email": new_email(), "password": PASSWORD, "firstName": "A", "lastName": "B"}),
        ),
    );
    assert_problem(
        &r,
        403,
        &problem(
            "insufficient-permissions",
            "Insufficient Permissions",
            403,
            "Required permission: users:create",
            "/identity/users",
        ),
    );
}

/// P-not-found: an unknown id, another tenant's user, and a path the plane does not serve.
#[test]
fn unknown_ids_and_other_tenants_resources_are_not_found() {
    let emu = shared_plane();
    let (one, two) = (new_tenant(emu), new_tenant(emu));
    let admin_one = register(emu, &one);
    let admin_two = register(emu, &two);
    let not_found = |path: &str| {
        problem(
            "not-found",
            "Not Found",
            404,
            "The requested resource was not found",
            path,
        )
    };
    let path = "/identity/users/6f9619ff-8b86-4011-b42d-00c04fc964ff";
    assert_problem(
        &call(emu, "GET", path, Some(&admin_one.token), None),
        404,
        &not_found(path),
    );
    let path = format!("/identity/users/{}", admin_one.id());
    assert_problem(
        &call(emu, "GET", &path, Some(&admin_two.token), None),
        404,
        &not_found(&path),
    );
    assert_problem(
        &call(emu, "DELETE", &path, Some(&admin_two.token), None),
        404,
        &not_found(&path),
    );
    assert_eq!(
        call(emu, "GET", &path, Some(&admin_one.token), None).status,
        200
    );
    let path = "/identity/no-such-route";
    assert_problem(&call(emu, "GET", path, None, None), 404, &not_found(path));
}

/// P-conflict: an email that is already registered (in any case).
#[test]
fn a_duplicate_email_is_a_conflict() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let ada = register(emu, &tenant);
    let r = call(
        emu,
        "POST",
        "/identity/auth/register",
        None,
        Some(
            &json!({"email": ada.email.to_uppercase(), "password": PASSWORD, "firstName": "A", "lastName": "B", "tenantId": tenant}),
        ),
    );
    assert_problem(
        &r,
        409,
        &problem(
            "conflict",
            "Conflict",
            409,
            "A user with this email already exists",
            "/identity/auth/register",
        ),
    );
}

/// P-in-use: a role still assigned cannot be deleted; once unassigned it can.
#[test]
fn a_role_still_assigned_is_in_use() {
    let emu = shared_plane();
    let tenant = new_tenant(emu);
    let admin = register(emu, &tenant);
    let user = create_user(emu, &admin, None);
    let role = create_role(emu, &admin, "auditor", json!(["users:read"]));
    let a = assign(emu, &admin, user.id(), role["id"].as_str().unwrap(), None);
    let path = format!("/identity/roles/{}", role["id"].as_str().unwrap());
    let r = call(emu, "DELETE", &path, Some(&admin.token), None);
    assert_problem(
        &r,
        409,
        &problem(
            "resource-in-use",
            "Resource In Use",
            409,
            "Cannot delete role: it has active assignments",
            &path,
        ),
    );
    let r = call(
        emu,
        "DELETE",
        &format!("/identity/role-assignments/{}", a["id"].as_str().unwrap()),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        call(emu, "DELETE", &path, Some(&admin.token), None).status,
        204
    );
}

/// P-rate: a login flood; `retryAfter`, the detail and `Retry-After` name the same number, and
/// waiting that long on the test clock lets the next attempt through.
#[test]
fn a_login_flood_is_rate_limited() {
    let (_dir, emu) = emulator("");
    let email = new_email();
    for _ in 0..10 {
        assert_eq!(login(&emu, &email, PASSWORD).status, 401);
    }
    let r = login(&emu, &email, PASSWORD);
    assert_eq!(r.status, 429, "{}", r.body);
    let n = r.json()["retryAfter"].as_u64().unwrap();
    assert!((1..=6).contains(&n), "{n}");
    assert_eq!(r.retry_after.as_deref(), Some(n.to_string().as_str()));
    assert_problem(
        &r,
        429,
        &format!(
            r#"{{"type":"https://api.cortex.purplelab.ai/errors/rate-limit-exceeded","title":"Too Many Requests","status":429,"detail":"Rate limit exceeded. Try again in {n} seconds.","instance":"/identity/auth/login","retryAfter":{n}}}"#
        ),
    );
    advance(&emu, &format!("{n}s"));
    assert_eq!(login(&emu, &email, PASSWORD).status, 401);
}

/// P-internal and P-unavailable: forced through fault injection on the plane's routes.
#[test]
fn internal_and_unavailable_are_injected_on_the_plane() {
    let (_dir, emu) = emulator("");
    for (id, path, method, status, body) in [
        (
            "P-internal",
            "/identity/auth/login",
            "POST",
            500,
            problem(
                "internal-error",
                "Internal Server Error",
                500,
                "An unexpected error occurred",
                "/identity/auth/login",
            ),
        ),
        (
            "P-unavailable",
            "/identity/health",
            "GET",
            503,
            problem(
                "service-unavailable",
                "Service Unavailable",
                503,
                "The service is temporarily unavailable",
                "/identity/health",
            ),
        ),
    ] {
        let (s, f) = emu.admin(
            "POST",
            "/faults",
            Some(json!({"response": id, "route": path, "times": 1})),
            Some(ADMIN),
        );
        assert_eq!(s, 201, "{f}");
        let body_sent = (method == "POST").then(|| json!({}));
        let r = call(&emu, method, path, None, body_sent.as_ref());
        assert_problem(&r, status, &body);
    }
    // Used up: the plane answers for itself again.
    assert_eq!(
        call(&emu, "GET", "/identity/health", None, None).status,
        200
    );
}

// --- the operator's command line ------------------------------------------------------------

#[test]
fn cli_lists_suspends_unlocks_and_reactivates_users() {
    let functions = tempfile::tempdir().unwrap();
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
    let tenant = new_tenant(&emu);
    let ada = register(&emu, &tenant);
    let table = run(&["users", "list", "--tenant", &tenant]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(&ada.email) && table.contains("ACTIVE"),
        "{table}"
    );

    assert!(run(&["users", "suspend", &ada.email]).starts_with("suspended"));
    assert_eq!(login(&emu, &ada.email, PASSWORD).status, 403);
    assert!(run(&["users", "reactivate", ada.id()]).starts_with("reactivated"));
    for _ in 0..5 {
        login(&emu, &ada.email, "Wr0ngPassword");
    }
    assert_eq!(login(&emu, &ada.email, PASSWORD).status, 403, "locked");
    let listed: Value = serde_json::from_str(&run(&["users", "list", "--json"])).unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == json!(ada.email))
        .cloned()
        .unwrap();
    assert_eq!(row["locked"], true);
    assert!(run(&["users", "unlock", &ada.email]).starts_with("unlocked"));
    assert_eq!(login(&emu, &ada.email, PASSWORD).status, 200);
}
