//! Every row of the response catalogue (`RESPONSES.md`) as data, and one renderer per envelope
//! family, so each plane and the fault injector produce the same bytes for the same row id.
//!
//! Texts in `code spans` in RESPONSES.md are copied verbatim. Where a cell is empty or only
//! describes the message, the sentence here is the emulator's **choice** (listed in the README
//! under "Fidelity notes").

use serde_json::{json, Value};

use crate::jsonfmt::{self, Style};

/// The envelope a row is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Execution gateway rejections: `{"statusCode": N, "body": "<string>"}`, HTTP N.
    Gateway,
    /// Handler outcomes: the same envelope, always HTTP 200.
    Handler,
    /// JSON-RPC 2.0 errors, always HTTP 200.
    Mcp,
    /// cortex-api `detail` envelope.
    CortexApi,
    /// fold `{"error", "code", "details", "hint"}`.
    Fold,
    /// RFC 7807 problem+json.
    Problem,
}

/// One catalogue row.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Stable id, e.g. `G402`, `H500-js`, `M-parse`, `A-tenant-exists`, `F-rate`, `P-locked`.
    pub id: &'static str,
    /// HTTP status (Handler and Mcp rows: 200).
    pub status: u16,
    pub family: Family,
    /// cortex-api `error_code`, fold `code`, problem slug, MCP code as text; `""` for G*/H*.
    pub code: &'static str,
    /// Problem rows: `title`; `""` otherwise.
    pub title: &'static str,
    /// Gateway: decoded body; handler: the example body; MCP: `error.message`; cortex-api:
    /// `message`; fold: `error`; problem: `detail`.
    pub text: &'static str,
    /// The `rival` profile's wording of a gateway row, when it differs.
    pub rival_text: Option<&'static str>,
    /// The trigger column says only "inject": no local behaviour produces the row.
    pub inject_only: bool,
}

/// Base of the problem `type` URI; the row's slug is appended.
pub const PROBLEM_TYPE_BASE: &str = "https://api.cortex.purplelab.ai/errors/";

/// **choice**: `retryAfter` of P-rate when the caller has no figure of its own. The docs show
/// only `<n>`; one minute is the usual login-throttle window and is shorter than the 15-minute
/// lockout, so a client that waits it out is not locked. Must match the number in P-rate's text.
pub const PROBLEM_RETRY_AFTER_SECS: u64 = 60;

const fn g(id: &'static str, status: u16, text: &'static str, rival: Option<&'static str>) -> Row {
    Row {
        id,
        status,
        family: Family::Gateway,
        code: "",
        title: "",
        text,
        rival_text: rival,
        inject_only: false,
    }
}
const fn h(id: &'static str, text: &'static str) -> Row {
    Row {
        id,
        status: 200,
        family: Family::Handler,
        code: "",
        title: "",
        text,
        rival_text: None,
        inject_only: false,
    }
}
const fn m(id: &'static str, code: &'static str, text: &'static str) -> Row {
    Row {
        id,
        status: 200,
        family: Family::Mcp,
        code,
        title: "",
        text,
        rival_text: None,
        inject_only: false,
    }
}
const fn a(
    id: &'static str,
    status: u16,
    code: &'static str,
    text: &'static str,
    inject_only: bool,
) -> Row {
    Row {
        id,
        status,
        family: Family::CortexApi,
        code,
        title: "",
        text,
        rival_text: None,
        inject_only,
    }
}
const fn f(
    id: &'static str,
    status: u16,
    code: &'static str,
    text: &'static str,
    inject_only: bool,
) -> Row {
    Row {
        id,
        status,
        family: Family::Fold,
        code,
        title: "",
        text,
        rival_text: None,
        inject_only,
    }
}
const fn p(
    id: &'static str,
    status: u16,
    slug: &'static str,
    title: &'static str,
    detail: &'static str,
    inject_only: bool,
) -> Row {
    Row {
        id,
        status,
        family: Family::Problem,
        code: slug,
        title,
        text: detail,
        rival_text: None,
        inject_only,
    }
}

const UNAUTHORIZED: &str = r#"{"error": "Missing or invalid API key in the Authorization header"}"#;
const NOT_FOUND: &str = r#"{"error": "Function ID or version does not exist"}"#;
const NOT_FOUND_RIVAL: &str = r#"{"error": "Tool or version does not exist"}"#;

/// Every row of RESPONSES.md, in file order.
pub const ROWS: &[Row] = &[
    // --- execution gateway: texts are the emulator's choice, taken from the docs' cause column
    // with ` - ` (the newer page's dash) in place of ` — `.
    g(
        "G400-json",
        400,
        r#"{"error": "Malformed request body - invalid JSON"}"#,
        None,
    ),
    g(
        "G400-event",
        400,
        r#"{"error": "Malformed request body - missing event field"}"#,
        None,
    ),
    g("G401-missing", 401, UNAUTHORIZED, None),
    g("G401-invalid", 401, UNAUTHORIZED, None),
    g(
        "G401-bearer",
        401,
        r#"{"error": "Missing or invalid API key in the Authorization header", "hint": "Pass key as Authorization: <key> - no Bearer prefix"}"#,
        None,
    ),
    g(
        "G402",
        402,
        r#"{"error": "Insufficient wallet balance - execution blocked before running"}"#,
        Some(r#"{"error": "Run Balance is empty - execution blocked before running"}"#),
    ),
    g("G404-function", 404, NOT_FOUND, Some(NOT_FOUND_RIVAL)),
    g("G404-version", 404, NOT_FOUND, Some(NOT_FOUND_RIVAL)),
    g(
        "G408",
        408,
        r#"{"error": "Your handler exceeded its configured timeout limit"}"#,
        None,
    ),
    // --- handler outcomes: documented examples, exact (the envelope's statusCode is in
    // `envelope_status`).
    h("H200", r#"{"ok": true}"#),
    h("H4xx", r#"{"error": "id is required"}"#),
    h("H500-py", r#"{"error": "Runtime error: division by zero"}"#),
    h(
        "H500-js",
        r#"{"error": "Script execution failed", "type": "ReferenceError", "details": "foo is not defined"}"#,
    ),
    h(
        "H500-lua",
        r#"{"error": "Script execution failed", "type": "RuntimeError", "details": "attempt to index a nil value"}"#,
    ),
    // The body is JSON null, not a string; `render` special-cases this row.
    h("H500-null", "null"),
    // --- MCP: M-method shows the documented example; callers put the real method in with
    // `render_text` / `mcp_value`.
    m("M-parse", "-32700", "Parse error"),
    m("M-invalid", "-32600", "Invalid request"),
    m("M-method", "-32601", "Method not found: prompts/list"),
    m("M-params", "-32602", "Invalid params"),
    m("M-internal", "-32603", "Internal error"),
    // --- cortex-api: the generic table is documented; the endpoint codes' messages are ours.
    a(
        "A400",
        400,
        "INVALID_PARAMETERS",
        "Invalid request parameters",
        false,
    ),
    a(
        "A401",
        401,
        "UNAUTHORIZED",
        "Authentication required",
        false,
    ),
    a("A403", 403, "FORBIDDEN", "Access denied", false),
    a("A404", 404, "NOT_FOUND", "Resource not found", false),
    a("A409", 409, "CONFLICT", "Resource already exists", false),
    a("A422", 422, "VALIDATION_ERROR", "Validation failed", false),
    // Trigger "store failure (inject)": a real store failure also produces it, so not inject-only.
    a(
        "A500",
        500,
        "INTERNAL_ERROR",
        "Internal server error",
        false,
    ),
    a(
        "A-tenant-exists",
        409,
        "TENANT_ALREADY_EXISTS",
        "Tenant id already in use",
        false,
    ),
    a(
        "A-tenant-missing",
        404,
        "TENANT_NOT_FOUND",
        "Tenant not found",
        false,
    ),
    a(
        "A-tenant-id",
        400,
        "INVALID_TENANT_ID",
        "Invalid tenant id format",
        false,
    ),
    a(
        "A-sub-default",
        400,
        "CANNOT_DELETE_DEFAULT_SUB_TENANT",
        "The DEFAULT sub-tenant cannot be deleted",
        false,
    ),
    a(
        "A-sub-missing",
        404,
        "SUB_TENANT_NOT_FOUND",
        "Sub-tenant not found",
        false,
    ),
    a(
        "A-sub-id",
        400,
        "INVALID_SUB_TENANT_ID",
        "Invalid sub-tenant id format",
        false,
    ),
    a(
        "A-file-missing",
        404,
        "FILE_NOT_FOUND",
        "File not found",
        false,
    ),
    a(
        "A-file-format",
        400,
        "INVALID_FILE_FORMAT",
        "File format not supported",
        false,
    ),
    a(
        "A-file-large",
        400,
        "FILE_TOO_LARGE",
        "File exceeds the maximum upload size",
        false,
    ),
    a(
        "A-processing",
        500,
        "PROCESSING_FAILED",
        "File processing failed",
        true,
    ),
    a(
        "A-search-params",
        400,
        "INVALID_SEARCH_PARAMETERS",
        "Invalid search parameters",
        false,
    ),
    a(
        "A-search-timeout",
        500,
        "SEARCH_TIMEOUT",
        "Search timed out",
        true,
    ),
    a(
        "A-no-results",
        404,
        "NO_RESULTS_FOUND",
        "No results found",
        true,
    ),
    // RESPONSES.md says "inject" for the memory and embedding rows; the plane also reaches
    // them the natural way (unknown memory, the quota, an empty memory, unknown embeddings, a
    // wrong dimension), so they are not inject-only.
    a(
        "A-memory-missing",
        404,
        "MEMORY_NOT_FOUND",
        "Memory not found",
        false,
    ),
    a(
        "A-memory-limit",
        422,
        "MEMORY_LIMIT_EXCEEDED",
        "Memory limit exceeded",
        false,
    ),
    a(
        "A-memory-format",
        422,
        "INVALID_MEMORY_FORMAT",
        "Invalid memory format",
        false,
    ),
    a(
        "A-emb-missing",
        404,
        "EMBEDDINGS_NOT_FOUND",
        "Embeddings not found",
        false,
    ),
    a(
        "A-emb-format",
        422,
        "INVALID_EMBEDDING_FORMAT",
        "Invalid embedding format",
        false,
    ),
    a(
        "A-emb-failed",
        500,
        "EMBEDDING_GENERATION_FAILED",
        "Embedding generation failed",
        true,
    ),
    // --- fold: the docs give codes only ("Short message"); every `error` sentence is ours.
    f(
        "F-validation",
        400,
        "VALIDATION_ERROR",
        "Request validation failed",
        false,
    ),
    f(
        "F-tenant",
        404,
        "TENANT_NOT_FOUND",
        "Organization not found",
        false,
    ),
    f(
        "F-function",
        404,
        "FUNCTION_NOT_FOUND",
        "Function not found",
        false,
    ),
    f(
        "F-binding-missing",
        400,
        "BINDING_NOT_FOUND",
        "Binding not found",
        false,
    ),
    f(
        "F-binding-denied",
        403,
        "BINDING_NOT_ALLOWED",
        "Binding not allowed for this organization",
        false,
    ),
    f(
        "F-code",
        400,
        "CODE_INVALID",
        "Function code is invalid",
        false,
    ),
    f("F-deploy", 502, "DEPLOY_FAILED", "Deploy failed", true),
    f(
        "F-rollback",
        502,
        "ROLLBACK_FAILED",
        "Rollback failed",
        true,
    ),
    f(
        "F-version",
        404,
        "VERSION_NOT_FOUND",
        "Version not found",
        false,
    ),
    f("F-rate", 429, "RATE_LIMITED", "Too many requests", false),
    f(
        "F-dispatch",
        502,
        "DISPATCH_FAILED",
        "Dispatch failed",
        false,
    ),
    f(
        "F-dispatch-config",
        501,
        "DISPATCH_NOT_CONFIGURED",
        "Dispatch is not configured",
        true,
    ),
    f(
        "F-usage",
        429,
        "USAGE_LIMIT_EXCEEDED",
        "Monthly usage limit of the Free plan reached",
        false,
    ),
    f(
        "F-pro",
        403,
        "PRO_PLAN_REQUIRED",
        "This feature requires the Pro plan",
        false,
    ),
    f(
        "F-downgrade",
        409,
        "DOWNGRADE_BLOCKED",
        "Downgrade blocked: current usage exceeds the Free plan limits",
        false,
    ),
    f(
        "F-forbidden",
        403,
        "FORBIDDEN",
        "Your role does not allow this action",
        false,
    ),
    f(
        "F-auth-required",
        401,
        "AUTH_REQUIRED",
        "Authentication required",
        false,
    ),
    f(
        "F-auth-invalid",
        401,
        "AUTH_INVALID",
        "Invalid or expired token",
        false,
    ),
    // --- problem: details are documented; "e.g." cells use the example, placeholders the
    // documented instance (`users:create`) or our default (`PROBLEM_RETRY_AFTER_SECS`).
    p(
        "P-credentials",
        401,
        "invalid-credentials",
        "Invalid Credentials",
        "The email or password provided is incorrect",
        false,
    ),
    // RESPONSES.md's text; the login page adds ". Try again in 15 minutes." (callers may append).
    p(
        "P-locked",
        403,
        "account-locked",
        "Account Locked",
        "Account is temporarily locked due to too many failed login attempts",
        false,
    ),
    p(
        "P-suspended",
        403,
        "account-suspended",
        "Account Suspended",
        "This account has been suspended",
        false,
    ),
    p(
        "P-invalid-token",
        401,
        "invalid-token",
        "Invalid Token",
        "The access token is invalid or has expired",
        false,
    ),
    p(
        "P-expired",
        401,
        "token-expired",
        "Token Expired",
        "The access token has expired. Please refresh your token.",
        false,
    ),
    p(
        "P-validation",
        400,
        "validation-error",
        "Validation Error",
        "One or more fields failed validation",
        false,
    ),
    p(
        "P-uuid",
        400,
        "invalid-uuid",
        "Invalid UUID",
        "The provided ID is not a valid UUID",
        false,
    ),
    p(
        "P-password",
        400,
        "password-policy",
        "Password Policy Violation",
        "Password must contain at least one uppercase letter",
        false,
    ),
    p(
        "P-unauthorized",
        401,
        "unauthorized",
        "Unauthorized",
        "Authentication is required to access this resource",
        false,
    ),
    p(
        "P-forbidden",
        403,
        "forbidden",
        "Forbidden",
        "You do not have permission to perform this action",
        false,
    ),
    p(
        "P-permission",
        403,
        "insufficient-permissions",
        "Insufficient Permissions",
        "Required permission: users:create",
        false,
    ),
    p(
        "P-not-found",
        404,
        "not-found",
        "Not Found",
        "The requested resource was not found",
        false,
    ),
    p(
        "P-conflict",
        409,
        "conflict",
        "Conflict",
        "A user with this email already exists",
        false,
    ),
    p(
        "P-in-use",
        409,
        "resource-in-use",
        "Resource In Use",
        "Cannot delete role: it has active assignments",
        false,
    ),
    p(
        "P-rate",
        429,
        "rate-limit-exceeded",
        "Too Many Requests",
        "Rate limit exceeded. Try again in 60 seconds.",
        false,
    ),
    p(
        "P-internal",
        500,
        "internal-error",
        "Internal Server Error",
        "An unexpected error occurred",
        true,
    ),
    // "inject, or while shutting down": a natural trigger exists, so not inject-only.
    p(
        "P-unavailable",
        503,
        "service-unavailable",
        "Service Unavailable",
        "The service is temporarily unavailable",
        false,
    ),
];

/// The row with this id.
pub fn row(id: &str) -> Option<&'static Row> {
    ROWS.iter().find(|r| r.id == id)
}

/// The Content-Type of a family's bodies.
pub fn content_type(family: Family) -> &'static str {
    match family {
        Family::Problem => "application/problem+json",
        _ => "application/json",
    }
}

/// The `statusCode` inside the envelope of a gateway or handler row (the HTTP status of
/// handler rows is always 200; the envelope carries what the handler returned).
pub fn envelope_status(row: &Row) -> u16 {
    match (row.family, row.id) {
        (Family::Handler, "H200") => 200,
        (Family::Handler, "H4xx") => 400,
        (Family::Handler, _) => 500,
        _ => row.status,
    }
}

/// **choice**: fold's `hint` per row. Only rows whose remedy does not depend on the request get
/// one; the others send `null` (the docs call the hint "Optional suggestion").
pub fn fold_hint(id: &str) -> Option<&'static str> {
    match id {
        "F-rate" => Some("Wait until RateLimit-Reset seconds have passed"),
        "F-usage" => Some("Upgrade to the Pro plan or wait for the monthly reset"),
        "F-pro" => Some("Upgrade to the Pro plan to use this feature"),
        "F-binding-missing" => Some("Define the binding under /bindings before deploying"),
        "F-binding-denied" => Some("Add the binding to the organization's allowed bindings"),
        "F-auth-required" => Some("Send Authorization: Bearer <token>"),
        _ => None,
    }
}

/// The body bytes of a row rendered in its family's envelope. `instance` is the request path
/// (problem rows only; others ignore it). `rival` picks the rival wording for gateway rows.
pub fn render(row: &Row, instance: &str, rival: bool) -> String {
    let text = match row.rival_text {
        Some(r) if rival => r,
        _ => row.text,
    };
    render_text(row, instance, text)
}

/// Like [`render`], with `text` in place of the row's text: a filled-in detail
/// (`Method not found: tools/x`, `Invalid params: name is required`), a handler's real body, or
/// an `emulator.toml` override. Its meaning per family is that of [`Row::text`].
pub fn render_text(row: &Row, instance: &str, text: &str) -> String {
    match row.family {
        // Python json.dumps style (`", "` / `": "`, ensure_ascii), like the documented bodies.
        // The body is a JSON *string* holding the decoded text.
        Family::Gateway | Family::Handler => {
            let status = envelope_status(row);
            if row.id == "H500-null" {
                format!("{{\"statusCode\": {status}, \"body\": null}}")
            } else {
                format!(
                    "{{\"statusCode\": {status}, \"body\": {}}}",
                    jsonfmt::python_string(text)
                )
            }
        }
        // Python separators, as every MCP reply of the project (`rpc_error` + Style::Python).
        Family::Mcp => jsonfmt::to_string(&mcp_value(row, Value::Null, text), Style::Python),
        // FastAPI's JSONResponse renders `json.dumps(..., ensure_ascii=False,
        // separators=(",", ":"))`: compact with raw UTF-8, which is exactly serde_json's output.
        Family::CortexApi => json!({
            "detail": {"success": false, "message": text, "error_code": row.code}
        })
        .to_string(),
        // JSON.stringify (a JavaScript service): compact, raw UTF-8, insertion order. `details`
        // is `null`, not `{}`: the troubleshooting page (the source of the codes) and PLATFORM.md
        // both show null; only the error-reference page shows `{}`.
        Family::Fold => json!({
            "error": text,
            "code": row.code,
            "details": null,
            "hint": fold_hint(row.id),
        })
        .to_string(),
        // **choice**: compact (the docs don't name the stack; their spaced example reads as
        // prettified); key order type, title, status, detail, instance as in that example.
        Family::Problem => problem_value(row, instance, text).to_string(),
    }
}

/// The JSON-RPC error object of an MCP row, for callers that have the request's `id`.
/// Serialize with `jsonfmt::to_string(.., Style::Python)`.
pub fn mcp_value(row: &Row, id: Value, message: &str) -> Value {
    let code: i64 = row.code.parse().unwrap_or(-32603);
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// The problem object of a problem row, for callers that add their own members (e.g. fill
/// `errors` with `{"field", "message"}` items, or set `retryAfter`) before `to_string()`.
/// **choice**: P-validation carries `"errors": []` and P-rate `"retryAfter": 60` by default, so an
/// injected row has the members the docs name.
pub fn problem_value(row: &Row, instance: &str, detail: &str) -> Value {
    let mut v = json!({
        "type": format!("{PROBLEM_TYPE_BASE}{}", row.code),
        "title": row.title,
        "status": row.status,
        "detail": detail,
        "instance": instance,
    });
    if let Value::Object(map) = &mut v {
        match row.id {
            "P-validation" => {
                map.insert("errors".to_string(), json!([]));
            }
            "P-rate" => {
                map.insert("retryAfter".to_string(), json!(PROBLEM_RETRY_AFTER_SECS));
            }
            _ => {}
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_families_match_prefixes() {
        let mut seen = HashSet::new();
        for r in ROWS {
            assert!(seen.insert(r.id), "duplicate id {}", r.id);
            let expected = match r.id.as_bytes()[0] {
                b'G' => Family::Gateway,
                b'H' => Family::Handler,
                b'M' => Family::Mcp,
                b'A' => Family::CortexApi,
                b'F' => Family::Fold,
                b'P' => Family::Problem,
                _ => panic!("unknown prefix {}", r.id),
            };
            assert_eq!(r.family, expected, "{}", r.id);
            if matches!(r.family, Family::Handler | Family::Mcp) {
                assert_eq!(r.status, 200, "{}", r.id);
            }
            assert_eq!(r.family == Family::Problem, !r.title.is_empty(), "{}", r.id);
            assert_eq!(
                matches!(r.family, Family::Gateway | Family::Handler),
                r.code.is_empty(),
                "{}",
                r.id
            );
            assert!(!r.text.is_empty(), "{}", r.id);
        }
        // 9 G + 6 H + 5 M + 26 A + 18 F + 17 P rows in RESPONSES.md.
        assert_eq!(ROWS.len(), 81);
    }

    #[test]
    fn every_row_renders_valid_json() {
        for r in ROWS {
            let out = render(r, "/x", false);
            let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{}: {e}", r.id));
            if let Some(Value::String(body)) = v.get("body") {
                serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{}: {e}", r.id));
            }
        }
    }

    #[test]
    fn gateway_g402_both_wordings() {
        let r = row("G402").unwrap();
        assert_eq!(
            render(r, "", false),
            r#"{"statusCode": 402, "body": "{\"error\": \"Insufficient wallet balance - execution blocked before running\"}"}"#
        );
        assert_eq!(
            render(r, "", true),
            r#"{"statusCode": 402, "body": "{\"error\": \"Run Balance is empty - execution blocked before running\"}"}"#
        );
        // A row without a rival wording keeps its text.
        assert_eq!(
            render(row("G408").unwrap(), "", true),
            render(row("G408").unwrap(), "", false)
        );
    }

    #[test]
    fn bearer_hint_and_handler_rows() {
        assert_eq!(
            render(row("G401-bearer").unwrap(), "", false),
            r#"{"statusCode": 401, "body": "{\"error\": \"Missing or invalid API key in the Authorization header\", \"hint\": \"Pass key as Authorization: <key> - no Bearer prefix\"}"}"#
        );
        assert_eq!(
            render(row("H4xx").unwrap(), "", false),
            r#"{"statusCode": 400, "body": "{\"error\": \"id is required\"}"}"#
        );
        assert_eq!(
            render(row("H500-null").unwrap(), "", false),
            r#"{"statusCode": 500, "body": null}"#
        );
    }

    #[test]
    fn mcp_row() {
        assert_eq!(
            render(row("M-parse").unwrap(), "", false),
            r#"{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}"#
        );
        assert_eq!(
            render_text(row("M-method").unwrap(), "", "Method not found: tools/x"),
            r#"{"jsonrpc": "2.0", "id": null, "error": {"code": -32601, "message": "Method not found: tools/x"}}"#
        );
    }

    #[test]
    fn cortex_api_row() {
        assert_eq!(
            render(row("A-tenant-exists").unwrap(), "/tenants/create", false),
            r#"{"detail":{"success":false,"message":"Tenant id already in use","error_code":"TENANT_ALREADY_EXISTS"}}"#
        );
    }

    #[test]
    fn fold_rows() {
        assert_eq!(
            render(row("F-rate").unwrap(), "/deploy", false),
            r#"{"error":"Too many requests","code":"RATE_LIMITED","details":null,"hint":"Wait until RateLimit-Reset seconds have passed"}"#
        );
        assert_eq!(
            render(row("F-function").unwrap(), "", false),
            r#"{"error":"Function not found","code":"FUNCTION_NOT_FOUND","details":null,"hint":null}"#
        );
    }

    #[test]
    fn problem_rows() {
        assert_eq!(
            render(row("P-locked").unwrap(), "/auth/login", false),
            r#"{"type":"https://api.cortex.purplelab.ai/errors/account-locked","title":"Account Locked","status":403,"detail":"Account is temporarily locked due to too many failed login attempts","instance":"/auth/login"}"#
        );
        assert_eq!(
            render(row("P-validation").unwrap(), "/auth/register", false),
            r#"{"type":"https://api.cortex.purplelab.ai/errors/validation-error","title":"Validation Error","status":400,"detail":"One or more fields failed validation","instance":"/auth/register","errors":[]}"#
        );
        let rate = row("P-rate").unwrap();
        assert_eq!(
            rate.text,
            format!("Rate limit exceeded. Try again in {PROBLEM_RETRY_AFTER_SECS} seconds.")
        );
        assert!(render(rate, "/auth/login", false)
            .ends_with(r#""instance":"/auth/login","retryAfter":60}"#));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(Family::Problem), "application/problem+json");
        for fam in [
            Family::Gateway,
            Family::Handler,
            Family::Mcp,
            Family::CortexApi,
            Family::Fold,
        ] {
            assert_eq!(content_type(fam), "application/json");
        }
    }

    #[test]
    fn inject_only_rows() {
        let ids: Vec<&str> = ROWS
            .iter()
            .filter(|r| r.inject_only)
            .map(|r| r.id)
            .collect();
        // 14 rows say only "inject"; the Cortex API plane reaches 5 of them naturally, the fold
        // plane 1 (a function that throws or times out is DISPATCH_FAILED).
        assert_eq!(ids.len(), 8, "{ids:?}");
        assert!(!row("F-dispatch").unwrap().inject_only);
        assert!(!row("A500").unwrap().inject_only);
        assert!(!row("A-emb-format").unwrap().inject_only);
        assert!(!row("P-unavailable").unwrap().inject_only);
        assert!(row("F-dispatch-config").unwrap().inject_only);
    }
}
