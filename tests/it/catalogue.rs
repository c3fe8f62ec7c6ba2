//! The response catalogue (RESPONSES.md): every row forced through fault injection answers with
//! its status, content type and exact bytes; and every row id is named by a test.

use crate::common::*;

/// (row id, HTTP status, Content-Type, body) for the rows of the three control planes, whose
/// natural triggers come with their planes; here they are forced at `/probe/<id>`.
const INJECTED: &[(&str, u16, &str, &str)] = &[
    (
        "A400",
        400,
        "application/json",
        r#"{"detail":{"success":false,"message":"Invalid request parameters","error_code":"INVALID_PARAMETERS"}}"#,
    ),
    (
        "A401",
        401,
        "application/json",
        r#"{"detail":{"success":false,"message":"Authentication required","error_code":"UNAUTHORIZED"}}"#,
    ),
    (
        "A403",
        403,
        "application/json",
        r#"{"detail":{"success":false,"message":"Access denied","error_code":"FORBIDDEN"}}"#,
    ),
    (
        "A404",
        404,
        "application/json",
        r#"{"detail":{"success":false,"message":"Resource not found","error_code":"NOT_FOUND"}}"#,
    ),
    (
        "A409",
        409,
        "application/json",
        r#"{"detail":{"success":false,"message":"Resource already exists","error_code":"CONFLICT"}}"#,
    ),
    (
        "A422",
        422,
        "application/json",
        r#"{"detail":{"success":false,"message":"Validation failed","error_code":"VALIDATION_ERROR"}}"#,
    ),
    (
        "A500",
        500,
        "application/json",
        r#"{"detail":{"success":false,"message":"Internal server error","error_code":"INTERNAL_ERROR"}}"#,
    ),
    (
        "A-tenant-exists",
        409,
        "application/json",
        r#"{"detail":{"success":false,"message":"Tenant id already in use","error_code":"TENANT_ALREADY_EXISTS"}}"#,
    ),
    (
        "A-tenant-missing",
        404,
        "application/json",
        r#"{"detail":{"success":false,"message":"Tenant not found","error_code":"TENANT_NOT_FOUND"}}"#,
    ),
    (
        "A-tenant-id",
        400,
        "application/json",
        r#"{"detail":{"success":false,"message":"Invalid tenant id format","error_code":"INVALID_TENANT_ID"}}"#,
    ),
    (
        "A-sub-default",
        400,
        "application/json",
        r#"{"detail":{"success":false,"message":"The DEFAULT sub-tenant cannot be deleted","error_code":"CANNOT_DELETE_DEFAULT_SUB_TENANT"}}"#,
    ),
    (
        "A-sub-missing",
        404,
        "application/json",
        r#"{"detail":{"success":false,"message":"Sub-tenant not found","error_code":"SUB_TENANT_NOT_FOUND"}}"#,
    ),
    (
        "A-sub-id",
        400,
        "application/json",
        r#"{"detail":{"success":false,"message":"Invalid sub-tenant id format","error_code":"INVALID_SUB_TENANT_ID"}}"#,
    ),
    (
        "A-file-missing",
        404,
        "application/json",
        r#"{"detail":{"success":false,"message":"File not found","error_code":"FILE_NOT_FOUND"}}"#,
    ),
    (
        "A-file-format",
        400,
        "application/json",
        r#"{"detail":{"success":false,"message":"File format not supported","error_code":"INVALID_FILE_FORMAT"}}"#,
    ),
    (
        "A-file-large",
        400,
        "application/json",
        r#"{"detail":{"success":false,"message":"File exceeds the maximum upload size","error_code":"FILE_TOO_LARGE"}}"#,
    ),
    (
        "A-processing",
        500,
        "application/json",
        r#"{"detail":{"success":false,"message":"File processing failed","error_code":"PROCESSING_FAILED"}}"#,
    ),
    (
        "A-search-params",
        400,
        "application/json",
        r#"{"detail":{"success":false,"message":"Invalid search parameters","error_code":"INVALID_SEARCH_PARAMETERS"}}"#,
    ),
    (
        "A-search-timeout",
        500,
        "application/json",
        r#"{"detail":{"success":false,"message":"Search timed out","error_code":"SEARCH_TIMEOUT"}}"#,
    ),
    (
        "A-no-results",
        404,
        "application/json",
        r#"{"detail":{"success":false,"message":"No results found","error_code":"NO_RESULTS_FOUND"}}"#,
    ),
    (
        "A-memory-missing",
        404,
        "application/json",
        r#"{"detail":{"success":false,"message":"Memory not found","error_code":"MEMORY_NOT_FOUND"}}"#,
    ),
    (
        "A-memory-limit",
        422,
        "application/json",
        r#"{"detail":{"success":false,"message":"Memory limit exceeded","error_code":"MEMORY_LIMIT_EXCEEDED"}}"#,
    ),
    (
        "A-memory-format",
        422,
        "application/json",
        r#"{"detail":{"success":false,"message":"Invalid memory format","error_code":"INVALID_MEMORY_FORMAT"}}"#,
    ),
    (
        "A-emb-missing",
        404,
        "application/json",
        r#"{"detail":{"success":false,"message":"Embeddings not found","error_code":"EMBEDDINGS_NOT_FOUND"}}"#,
    ),
    (
        "A-emb-format",
        422,
        "application/json",
        r#"{"detail":{"success":false,"message":"Invalid embedding format","error_code":"INVALID_EMBEDDING_FORMAT"}}"#,
    ),
    (
        "A-emb-failed",
        500,
        "application/json",
        r#"{"detail":{"success":false,"message":"Embedding generation failed","error_code":"EMBEDDING_GENERATION_FAILED"}}"#,
    ),
    (
        "F-validation",
        400,
        "application/json",
        r#"{"error":"Request validation failed","code":"VALIDATION_ERROR","details":null,"hint":null}"#,
    ),
    (
        "F-tenant",
        404,
        "application/json",
        r#"{"error":"Organization not found","code":"TENANT_NOT_FOUND","details":null,"hint":null}"#,
    ),
    (
        "F-function",
        404,
        "application/json",
        r#"{"error":"Function not found","code":"FUNCTION_NOT_FOUND","details":null,"hint":null}"#,
    ),
    (
        "F-binding-missing",
        400,
        "application/json",
        r#"{"error":"Binding not found","code":"BINDING_NOT_FOUND","details":null,"hint":"Define the binding under /bindings before deploying"}"#,
    ),
    (
        "F-binding-denied",
        403,
        "application/json",
        r#"{"error":"Binding not allowed for this organization","code":"BINDING_NOT_ALLOWED","details":null,"hint":"Add the binding to the organization's allowed bindings"}"#,
    ),
    (
        "F-code",
        400,
        "application/json",
        r#"{"error":"Function code is invalid","code":"CODE_INVALID","details":null,"hint":null}"#,
    ),
    (
        "F-deploy",
        502,
        "application/json",
        r#"{"error":"Deploy failed","code":"DEPLOY_FAILED","details":null,"hint":null}"#,
    ),
    (
        "F-rollback",
        502,
        "application/json",
        r#"{"error":"Rollback failed","code":"ROLLBACK_FAILED","details":null,"hint":null}"#,
    ),
    (
        "F-version",
        404,
        "application/json",
        r#"{"error":"Version not found","code":"VERSION_NOT_FOUND","details":null,"hint":null}"#,
    ),
    (
        "F-rate",
        429,
        "application/json",
        r#"{"error":"Too many requests","code":"RATE_LIMITED","details":null,"hint":"Wait until RateLimit-Reset seconds have passed"}"#,
    ),
    (
        "F-dispatch",
        502,
        "application/json",
        r#"{"error":"Dispatch failed","code":"DISPATCH_FAILED","details":null,"hint":null}"#,
    ),
    (
        "F-dispatch-config",
        501,
        "application/json",
        r#"{"error":"Dispatch is not configured","code":"DISPATCH_NOT_CONFIGURED","details":null,"hint":null}"#,
    ),
    (
        "F-usage",
        429,
        "application/json",
        r#"{"error":"Monthly usage limit of the Free plan reached","code":"USAGE_LIMIT_EXCEEDED","details":null,"hint":"Upgrade to the Pro plan or wait for the monthly reset"}"#,
    ),
    (
        "F-pro",
        403,
        "application/json",
        r#"{"error":"This feature requires the Pro plan","code":"PRO_PLAN_REQUIRED","details":null,"hint":"Upgrade to the Pro plan to use this feature"}"#,
    ),
    (
        "F-downgrade",
        409,
        "application/json",
        r#"{"error":"Downgrade blocked: current usage exceeds the Free plan limits","code":"DOWNGRADE_BLOCKED","details":null,"hint":null}"#,
    ),
    (
        "F-forbidden",
        403,
        "application/json",
        r#"{"error":"Your role does not allow this action","code":"FORBIDDEN","details":null,"hint":null}"#,
    ),
    (
        "F-auth-required",
        401,
        "application/json",
        r#"{"error":"Authentication required","code":"AUTH_REQUIRED","details":null,"hint":"Send Authorization: Bearer <token>"}"#,
    ),
    (
        "F-auth-invalid",
        401,
        "application/json",
        r#"{"error":"Invalid or expired token","code":"AUTH_INVALID","details":null,"hint":null}"#,
    ),
    (
        "P-credentials",
        401,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/invalid-credentials","title":"Invalid Credentials","status":401,"detail":"The email or password provided is incorrect","instance":"/probe/P-credentials"}"#,
    ),
    (
        "P-locked",
        403,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/account-locked","title":"Account Locked","status":403,"detail":"Account is temporarily locked due to too many failed login attempts","instance":"/probe/P-locked"}"#,
    ),
    (
        "P-suspended",
        403,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/account-suspended","title":"Account Suspended","status":403,"detail":"This account has been suspended","instance":"/probe/P-suspended"}"#,
    ),
    (
        "P-invalid-token",
        401,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/invalid-token","title":"Invalid Token","status":401,"detail":"The access token is invalid or has expired","instance":"/probe/P-invalid-token"}"#,
    ),
    (
        "P-expired",
        401,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/token-expired","title":"Token Expired","status":401,"detail":"The access token has expired. Please refresh your token.","instance":"/probe/P-expired"}"#,
    ),
    (
        "P-validation",
        400,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/validation-error","title":"Validation Error","status":400,"detail":"One or more fields failed validation","instance":"/probe/P-validation","errors":[]}"#,
    ),
    (
        "P-uuid",
        400,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/invalid-uuid","title":"Invalid UUID","status":400,"detail":"The provided ID is not a valid UUID","instance":"/probe/P-uuid"}"#,
    ),
    (
        "P-password",
        400,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/password-policy","title":"Password Policy Violation","status":400,"detail":"Password must contain at least one uppercase letter","instance":"/probe/P-password"}"#,
    ),
    (
        "P-unauthorized",
        401,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/unauthorized","title":"Unauthorized","status":401,"detail":"Authentication is required to access this resource","instance":"/probe/P-unauthorized"}"#,
    ),
    (
        "P-forbidden",
        403,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/forbidden","title":"Forbidden","status":403,"detail":"You do not have permission to perform this action","instance":"/probe/P-forbidden"}"#,
    ),
    (
        "P-permission",
        403,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/insufficient-permissions","title":"Insufficient Permissions","status":403,"detail":"Required permission: users:create","instance":"/probe/P-permission"}"#,
    ),
    (
        "P-not-found",
        404,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/not-found","title":"Not Found","status":404,"detail":"The requested resource was not found","instance":"/probe/P-not-found"}"#,
    ),
    (
        "P-conflict",
        409,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/conflict","title":"Conflict","status":409,"detail":"A user with this email already exists","instance":"/probe/P-conflict"}"#,
    ),
    (
        "P-in-use",
        409,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/resource-in-use","title":"Resource In Use","status":409,"detail":"Cannot delete role: it has active assignments","instance":"/probe/P-in-use"}"#,
    ),
    (
        "P-rate",
        429,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/rate-limit-exceeded","title":"Too Many Requests","status":429,"detail":"Rate limit exceeded. Try again in 60 seconds.","instance":"/probe/P-rate","retryAfter":60}"#,
    ),
    (
        "P-internal",
        500,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/internal-error","title":"Internal Server Error","status":500,"detail":"An unexpected error occurred","instance":"/probe/P-internal"}"#,
    ),
    (
        "P-unavailable",
        503,
        "application/problem+json",
        r#"{"type":"https://api.cortex.purplelab.ai/errors/service-unavailable","title":"Service Unavailable","status":503,"detail":"The service is temporarily unavailable","instance":"/probe/P-unavailable"}"#,
    ),
];

#[test]
fn every_control_plane_row_can_be_forced_and_reads_byte_for_byte() {
    let functions = fixtures_dir();
    let emu = Emu::start_with(functions.path(), &config_text(""));
    for (id, status, content_type, body) in INJECTED {
        let path = format!("/probe/{id}");
        let (s, f) = emu.admin(
            "POST",
            "/faults",
            Some(serde_json::json!({"response": id, "route": path, "times": 1})),
            Some(ADMIN),
        );
        assert_eq!(s, 201, "{id}: {f}");
        let r = client().get(format!("{}{path}", emu.base)).send().unwrap();
        let headers = r.headers().clone();
        assert_eq!(r.status().as_u16(), *status, "{id}");
        assert_eq!(headers["content-type"], *content_type, "{id}");
        assert_eq!(r.text().unwrap(), *body, "{id}");
        match *id {
            "F-rate" => {
                for h in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
                    assert!(headers.contains_key(h), "F-rate lacks {h}");
                }
            }
            "P-rate" => assert_eq!(headers["retry-after"], "60"),
            _ => {}
        }
    }
}

#[test]
fn every_catalogue_row_is_named_by_a_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let tests: String = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    // A row is named when its id stands as a whole word (`G402` does not name `G402x`).
    let names = |id: &str| {
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-');
        tests.match_indices(id).any(|(i, _)| {
            !word(tests[..i].chars().next_back()) && !word(tests[i + id.len()..].chars().next())
        })
    };
    let unnamed: Vec<&str> = cortex_emu::catalogue::rows::ROWS
        .iter()
        .map(|r| r.id)
        .filter(|id| !names(id))
        .collect();
    assert!(unnamed.is_empty(), "rows no test names: {unnamed:?}");
}
