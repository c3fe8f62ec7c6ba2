//! The Cortex API plane (`cortex-api` profile) through HTTP, as a client uses it: every A row
//! reached the way a client reaches it (or forced by fault injection where the docs say
//! "inject"), status, content type and body checked byte for byte; and the working service
//! behind it: uploads in several formats, processing states on the test clock, full-text and
//! hybrid recall, QnA, memories, raw embeddings, fetch and delete, the plane's own port.
//!
//! Tests share one emulator, each in tenants of its own; tests that inject faults or need other
//! limits use emulators of their own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use crate::common::*;

struct Res {
    status: u16,
    content_type: String,
    body: String,
}

impl Res {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn send(req: reqwest::blocking::RequestBuilder) -> Res {
    let resp = req.send().expect("request");
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Res {
        status: resp.status().as_u16(),
        content_type,
        body: resp.text().unwrap(),
    }
}

/// A JSON call to `{base}/cortex-api{path}` with `Authorization: Bearer <key>`.
fn api(emu: &Emu, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> Res {
    api_at(&format!("{}/cortex-api", emu.base), method, path, key, body)
}

fn api_at(base: &str, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> Res {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client().request(method, format!("{base}{path}"));
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    send(req)
}

/// One part of a multipart form: a field (`filename` None) or a file.
struct Part<'a> {
    name: &'a str,
    filename: Option<&'a str>,
    content_type: Option<&'a str>,
    data: Vec<u8>,
}

fn field<'a>(name: &'a str, value: &str) -> Part<'a> {
    Part {
        name,
        filename: None,
        content_type: None,
        data: value.as_bytes().to_vec(),
    }
}

fn file<'a>(filename: &'a str, content_type: &'a str, data: &[u8]) -> Part<'a> {
    Part {
        name: "files",
        filename: Some(filename),
        content_type: Some(content_type),
        data: data.to_vec(),
    }
}

/// `multipart/form-data` written out by hand, as httpx sends it (the test client has no
/// multipart feature, and the bytes on the wire are the point).
fn upload(emu: &Emu, key: &str, parts: &[Part<'_>]) -> Res {
    let boundary = "cortexemutestboundary7f3a";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match p.filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{f}\"\r\nContent-Type: {}\r\n\r\n",
                    p.name,
                    p.content_type.unwrap_or("application/octet-stream")
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", p.name).as_bytes(),
            ),
        }
        body.extend_from_slice(&p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    send(
        client()
            .post(format!(
                "{}/cortex-api/ingestion/upload_knowledge",
                emu.base
            ))
            .header("Authorization", format!("Bearer {key}"))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body),
    )
}

/// The exact bytes of a `detail` error, as FastAPI renders it (compact).
fn detail(code: &str, message: &str) -> String {
    json!({"detail": {"success": false, "message": message, "error_code": code}}).to_string()
}

#[track_caller]
fn assert_detail(r: &Res, status: u16, code: &str, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.content_type, "application/json", "{}", r.body);
    assert_eq!(r.body, detail(code, message));
}

fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{name}_{}", N.fetch_add(1, Ordering::SeqCst))
}

fn shared_plane() -> &'static Emu {
    static EMU: OnceLock<(tempfile::TempDir, Emu)> = OnceLock::new();
    &EMU.get_or_init(|| emulator("")).1
}

fn emulator(extra: &str) -> (tempfile::TempDir, Emu) {
    let functions = tempfile::tempdir().unwrap();
    let emu = Emu::start_with(functions.path(), &config_text(extra));
    (functions, emu)
}

/// A new tenant of acme's (KEY) with an optional metadata schema.
fn new_tenant(emu: &Emu, name: &str, extra: Value) -> String {
    let id = unique(name);
    let mut body = json!({"tenant_id": id});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = api(emu, "POST", "/tenants/create", Some(KEY), Some(body));
    assert_eq!(r.status, 200, "{}", r.body);
    id
}

fn embeddings_tenant(emu: &Emu, dim: usize) -> String {
    new_tenant(
        emu,
        "emb",
        json!({"is_embeddings_tenant": true, "embeddings_dimension": dim}),
    )
}

/// Uploads one text file and returns its source id.
fn upload_text(emu: &Emu, tenant: &str, name: &str, text: &str) -> String {
    let r = upload(
        emu,
        KEY,
        &[
            field("tenant_id", tenant),
            file(name, "text/plain", text.as_bytes()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["results"][0]["source_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A minimal one-page PDF with `text` in Helvetica, with a correct xref table.
fn pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn recall(emu: &Emu, route: &str, body: Value) -> Res {
    api(
        emu,
        "POST",
        &format!("/recall/{route}"),
        Some(KEY),
        Some(body),
    )
}

// ---------------------------------------------------------------- generic rows

#[test]
fn a400_a_missing_parameter_is_named() {
    let emu = shared_plane();
    let r = api(emu, "GET", "/tenants/monitor", Some(KEY), None);
    assert_detail(
        &r,
        400,
        "INVALID_PARAMETERS",
        "Invalid request parameters: tenant_id is required",
    );
    // Malformed JSON is the same row, with serde's reason.
    let r = send(
        client()
            .post(format!("{}/cortex-api/recall/full_recall", emu.base))
            .header("Authorization", format!("Bearer {KEY}"))
            .header("Content-Type", "application/json")
            .body("{not json"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["detail"]["error_code"], "INVALID_PARAMETERS");
}

#[test]
fn a401_without_a_bearer_key() {
    let emu = shared_plane();
    let body = detail("UNAUTHORIZED", "Authentication required");
    let r = api(emu, "GET", "/tenants/monitor?tenant_id=x", None, None);
    assert_detail(&r, 401, "UNAUTHORIZED", "Authentication required");
    let r = api(
        emu,
        "GET",
        "/tenants/monitor?tenant_id=x",
        Some("RIV_not_a_key_at_all"),
        None,
    );
    assert_eq!(r.body, body);
    // The raw key without the scheme is refused, as HTTPBearer refuses it.
    let r = send(
        client()
            .get(format!(
                "{}/cortex-api/tenants/monitor?tenant_id=x",
                emu.base
            ))
            .header("Authorization", KEY),
    );
    assert_eq!((r.status, r.body), (401, body));
}

#[test]
fn a403_another_organizations_tenant() {
    let emu = shared_plane();
    let t = new_tenant(emu, "owned", json!({}));
    let r = api(
        emu,
        "GET",
        &format!("/tenants/infra/status?tenant_id={t}"),
        Some(OTHER_KEY),
        None,
    );
    assert_detail(&r, 403, "FORBIDDEN", "Access denied");
    // The owner still reads it.
    let r = api(
        emu,
        "GET",
        &format!("/tenants/infra/status?tenant_id={t}"),
        Some(KEY),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["infra"]["scheduler_status"], true);
    assert_eq!(r.json()["org_id"], "acme");
}

#[test]
fn a404_unknown_route_and_405_wrong_method() {
    let emu = shared_plane();
    let r = api(emu, "GET", "/no/such/route", Some(KEY), None);
    assert_detail(&r, 404, "NOT_FOUND", "Resource not found");
    let r = api(emu, "GET", "/tenants/create", Some(KEY), None);
    assert_eq!(
        (r.status, r.body.as_str()),
        (405, r#"{"detail":"Method Not Allowed"}"#)
    );
}

#[test]
fn a409_a_source_id_in_use_without_upsert() {
    let emu = shared_plane();
    let t = new_tenant(emu, "dup", json!({}));
    let parts = |text: &str| {
        vec![
            field("tenant_id", &t),
            field("file_metadata", r#"[{"file_id": "f1"}]"#),
            file("a.txt", "text/plain", text.as_bytes()),
        ]
    };
    assert_eq!(upload(emu, KEY, &parts("first")).status, 200);
    let r = upload(emu, KEY, &parts("second"));
    assert_detail(
        &r,
        409,
        "CONFLICT",
        "Resource already exists: source 'f1'; pass upsert=true to replace it",
    );
    let mut again = parts("second version");
    again.push(field("upsert", "true"));
    assert_eq!(upload(emu, KEY, &again).status, 200);
    let r = api(
        emu,
        "POST",
        "/fetch/content",
        Some(KEY),
        Some(json!({"tenant_id": t, "source_id": "f1"})),
    );
    assert_eq!(r.json()["content"], "second version");
}

#[test]
fn a422_a_bad_schema_and_metadata_outside_it() {
    let emu = shared_plane();
    let r = api(
        emu,
        "POST",
        "/tenants/create",
        Some(KEY),
        Some(
            json!({"tenant_id": unique("bad_schema"), "tenant_metadata_schema": [{"name": "chunk_id"}]}),
        ),
    );
    assert_detail(
        &r,
        422,
        "VALIDATION_ERROR",
        "Validation failed: tenant_metadata_schema field 'chunk_id' is a reserved key",
    );
    let t = new_tenant(
        emu,
        "schema",
        json!({"tenant_metadata_schema": [{"name": "department", "data_type": "VARCHAR", "max_length": 16}]}),
    );
    let r = upload(
        emu,
        KEY,
        &[
            field("tenant_id", &t),
            field("file_metadata", r#"[{"metadata": {"colour": "blue"}}]"#),
            file("a.txt", "text/plain", b"text"),
        ],
    );
    assert_detail(
        &r,
        422,
        "VALIDATION_ERROR",
        "Validation failed: tenant_metadata field 'colour' is not in the tenant's schema (fields: department)",
    );
    // Nothing of the refused upload was stored.
    let listed = api(
        emu,
        "POST",
        "/list/data",
        Some(KEY),
        Some(json!({"tenant_id": t})),
    )
    .json();
    assert_eq!(listed["total"], 0, "{listed}");
}

// ---------------------------------------------------------------- tenants and sub-tenants

#[test]
fn a_tenant_exists_on_a_second_create() {
    let emu = shared_plane();
    let t = new_tenant(emu, "twice", json!({}));
    let r = api(
        emu,
        "POST",
        "/tenants/create",
        Some(KEY),
        Some(json!({"tenant_id": t})),
    );
    assert_detail(
        &r,
        409,
        "TENANT_ALREADY_EXISTS",
        &format!("Tenant '{t}' already exists"),
    );
}

#[test]
fn a_tenant_missing_on_any_route() {
    let emu = shared_plane();
    let r = api(
        emu,
        "GET",
        "/tenants/monitor?tenant_id=nobody_here",
        Some(KEY),
        None,
    );
    assert_detail(
        &r,
        404,
        "TENANT_NOT_FOUND",
        "Tenant 'nobody_here' not found",
    );
    let r = recall(
        emu,
        "full_recall",
        json!({"tenant_id": "nobody_here", "query": "x"}),
    );
    assert_detail(
        &r,
        404,
        "TENANT_NOT_FOUND",
        "Tenant 'nobody_here' not found",
    );
}

#[test]
fn a_tenant_id_with_a_space_or_too_long() {
    let emu = shared_plane();
    let msg = |id: &str| format!("Invalid tenant id '{id}': use 1-64 letters, digits, '_' or '-'");
    let r = api(
        emu,
        "POST",
        "/tenants/create",
        Some(KEY),
        Some(json!({"tenant_id": "has space"})),
    );
    assert_detail(&r, 400, "INVALID_TENANT_ID", &msg("has space"));
    let long = "t".repeat(65);
    let r = api(
        emu,
        "GET",
        &format!("/tenants/monitor?tenant_id={long}"),
        Some(KEY),
        None,
    );
    assert_detail(&r, 400, "INVALID_TENANT_ID", &msg(&long));
}

#[test]
fn a_sub_default_cannot_be_deleted() {
    let emu = shared_plane();
    let t = new_tenant(emu, "subs", json!({}));
    let path = format!("/tenants/sub_tenant?tenant_id={t}&sub_tenant_id=DEFAULT");
    let r = api(emu, "DELETE", &path, Some(KEY), None);
    assert_detail(
        &r,
        400,
        "CANNOT_DELETE_DEFAULT_SUB_TENANT",
        "The DEFAULT sub-tenant cannot be deleted",
    );
}

#[test]
fn a_sub_missing_for_reads_and_deletes_and_sub_tenants_appear_on_first_use() {
    let emu = shared_plane();
    let t = new_tenant(emu, "subs", json!({}));
    let r = api(
        emu,
        "POST",
        "/list/data",
        Some(KEY),
        Some(json!({"tenant_id": t, "sub_tenant_id": "team_a"})),
    );
    let msg = format!("Sub-tenant 'team_a' not found in tenant '{t}'");
    assert_detail(&r, 404, "SUB_TENANT_NOT_FOUND", &msg);
    let path = format!("/tenants/sub_tenant?tenant_id={t}&sub_tenant_id=team_a");
    assert_detail(
        &api(emu, "DELETE", &path, Some(KEY), None),
        404,
        "SUB_TENANT_NOT_FOUND",
        &msg,
    );
    // A write creates it.
    let r = upload(
        emu,
        KEY,
        &[
            field("tenant_id", &t),
            field("sub_tenant_id", "team_a"),
            file("a.md", "text/markdown", b"# A\n\nalpha"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = api(
        emu,
        "GET",
        &format!("/tenants/sub_tenant_ids?tenant_id={t}"),
        Some(KEY),
        None,
    )
    .json();
    assert_eq!(ids["sub_tenant_ids"], json!(["DEFAULT", "team_a"]), "{ids}");
    let r = api(emu, "DELETE", &path, Some(KEY), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = api(
        emu,
        "GET",
        &format!("/tenants/sub_tenant_ids?tenant_id={t}"),
        Some(KEY),
        None,
    )
    .json();
    assert_eq!(ids["sub_tenant_ids"], json!(["DEFAULT"]));
}

#[test]
fn a_sub_id_with_bad_characters() {
    let emu = shared_plane();
    let t = new_tenant(emu, "subs", json!({}));
    let r = upload(
        emu,
        KEY,
        &[
            field("tenant_id", &t),
            field("sub_tenant_id", "no/slashes"),
            file("a.txt", "text/plain", b"x"),
        ],
    );
    assert_detail(
        &r,
        400,
        "INVALID_SUB_TENANT_ID",
        "Invalid sub-tenant id 'no/slashes': use 1-64 letters, digits, '_' or '-'",
    );
}

#[test]
fn tenant_lifecycle_create_monitor_delete() {
    let emu = shared_plane();
    let t = new_tenant(emu, "life", json!({}));
    upload_text(emu, &t, "a.txt", "one paragraph");
    let m = api(
        emu,
        "GET",
        &format!("/tenants/monitor?tenant_id={t}"),
        Some(KEY),
        None,
    )
    .json();
    assert_eq!(m["normal_collection"]["row_count"], 1, "{m}");
    assert_eq!(m["memory_collection"]["row_count"], 0, "{m}");
    let r = api(
        emu,
        "DELETE",
        &format!("/tenants/delete?tenant_id={t}"),
        Some(KEY),
        None,
    );
    assert_eq!(r.json()["status"], "deleted", "{}", r.body);
    let r = api(
        emu,
        "GET",
        &format!("/tenants/monitor?tenant_id={t}"),
        Some(KEY),
        None,
    );
    assert_eq!(r.status, 404);
    // The id is free again.
    let r = api(
        emu,
        "POST",
        "/tenants/create",
        Some(KEY),
        Some(json!({"tenant_id": t})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

// ---------------------------------------------------------------- files

#[test]
fn a_file_missing_on_verify_fetch_and_delete() {
    let emu = shared_plane();
    let t = new_tenant(emu, "files", json!({}));
    let r = api(
        emu,
        "POST",
        &format!("/ingestion/verify_processing?tenant_id={t}&file_ids=ghost"),
        Some(KEY),
        None,
    );
    assert_detail(&r, 404, "FILE_NOT_FOUND", "File 'ghost' not found");
    let r = api(
        emu,
        "POST",
        "/fetch/content",
        Some(KEY),
        Some(json!({"tenant_id": t, "source_id": "ghost"})),
    );
    assert_detail(&r, 404, "FILE_NOT_FOUND", "File 'ghost' not found");
    let r = api(
        emu,
        "POST",
        "/knowledge/delete_knowledge",
        Some(KEY),
        Some(json!({"tenant_id": t, "ids": ["ghost"]})),
    );
    assert_detail(&r, 404, "FILE_NOT_FOUND", "File 'ghost' not found");
}

#[test]
fn a_file_format_for_an_image() {
    let emu = shared_plane();
    let t = new_tenant(emu, "files", json!({}));
    let r = upload(
        emu,
        KEY,
        &[
            field("tenant_id", &t),
            file("photo.png", "image/png", b"\x89PNG\r\n"),
        ],
    );
    assert_detail(
        &r,
        400,
        "INVALID_FILE_FORMAT",
        "'photo.png' is not a supported file format (supported: txt, md, html, json, csv, pdf)",
    );
}

#[test]
fn a_file_large_and_a_memory_limit_from_the_configured_limits() {
    let (_dir, emu) = emulator("\n[planes.cortex_api]\nmax_upload_mb = 1\nmemory_quota = 2\n");
    let t = new_tenant(&emu, "limits", json!({}));
    let big = vec![b'a'; 1024 * 1024 + 1];
    let r = upload(
        &emu,
        KEY,
        &[field("tenant_id", &t), file("big.txt", "text/plain", &big)],
    );
    assert_detail(
        &r,
        400,
        "FILE_TOO_LARGE",
        "big.txt is larger than the 1 MB upload limit ([planes.cortex_api] max_upload_mb)",
    );
    // A-memory-limit: two memories fit, the third does not.
    let add = |id: &str| {
        api(
            &emu,
            "POST",
            "/memories/add_memory",
            Some(KEY),
            Some(
                json!({"tenant_id": t, "sub_tenant_id": "user_1", "memories": [{"source_id": id, "text": "likes tea"}]}),
            ),
        )
    };
    assert_eq!(add("m1").status, 200);
    assert_eq!(add("m2").status, 200);
    assert_detail(
        &add("m3"),
        422,
        "MEMORY_LIMIT_EXCEEDED",
        "Memory limit exceeded: sub-tenant 'user_1' holds 2 of 2 memories ([planes.cortex_api] memory_quota)",
    );
}

#[test]
fn uploads_in_six_formats_are_extracted_chunked_and_found() {
    let emu = shared_plane();
    let t = new_tenant(emu, "formats", json!({}));
    let html = b"<html><body><h1>Shipping</h1><p>Parcels leave from Antwerp every Tuesday.</p></body></html>";
    let csv = b"city,role\nGhent,headquarters\nLiege,warehouse\n";
    let json_doc = br#"{"office": {"city": "Bruges", "floors": 3}}"#;
    let r = upload(
        emu,
        KEY,
        &[
            field("tenant_id", &t),
            file(
                "notes.txt",
                "text/plain",
                b"The emulator's warehouse is in Rotterdam.",
            ),
            file(
                "guide.md",
                "text/markdown",
                b"# Billing\n\nInvoices are paid within 30 days.",
            ),
            file(
                "report.pdf",
                "application/pdf",
                &pdf("Quarterly revenue grew by twelve percent"),
            ),
            file("page.html", "text/html", html),
            file("sites.csv", "text/csv", csv),
            file("office.json", "application/json", json_doc),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["success_count"], 6, "{v}");
    let ids: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x["status"], "queued");
            x["source_id"].as_str().unwrap().to_string()
        })
        .collect();
    let q: String = ids.iter().map(|i| format!("&file_ids={i}")).collect();
    let s = api(
        emu,
        "POST",
        &format!("/ingestion/verify_processing?tenant_id={t}{q}"),
        Some(KEY),
        None,
    )
    .json();
    for st in s["statuses"].as_array().unwrap() {
        assert_eq!(st["indexing_status"], "completed", "{s}");
    }
    let find = |query: &str| {
        let r = recall(
            emu,
            "boolean_recall",
            json!({"tenant_id": t, "query": query, "max_results": 1}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        (
            v["chunks"][0]["source_id"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            v["chunks"][0]["chunk_content"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    assert_eq!(find("rotterdam").0, ids[0]);
    assert_eq!(find("invoices").0, ids[1]);
    let (src, content) = find("twelve percent");
    assert_eq!(src, ids[2], "{content}");
    assert!(content.contains("Quarterly revenue grew"), "{content}");
    assert_eq!(find("antwerp").0, ids[3]);
    let (src, content) = find("liege");
    assert_eq!(src, ids[4]);
    assert!(
        content.contains("city: Liege, role: warehouse"),
        "{content}"
    );
    let (src, content) = find("bruges");
    assert_eq!(src, ids[5]);
    assert!(content.contains("office.city: Bruges"), "{content}");
    // The PDF's original bytes come back base64, text files as text.
    let f = api(
        emu,
        "POST",
        "/fetch/content",
        Some(KEY),
        Some(json!({"tenant_id": t, "source_id": ids[2]})),
    )
    .json();
    assert_eq!(f["content_type"], "application/pdf");
    assert!(
        f["content_base64"].as_str().unwrap().starts_with("JVBERi"),
        "{f}"
    );
    let f = api(
        emu,
        "POST",
        "/fetch/content",
        Some(KEY),
        Some(json!({"tenant_id": t, "source_id": ids[0], "mode": "both"})),
    )
    .json();
    assert_eq!(f["content"], "The emulator's warehouse is in Rotterdam.");
    // The presigned link serves the bytes without a key.
    let link = f["presigned_url"].as_str().unwrap();
    let r = send(client().get(link));
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "The emulator's warehouse is in Rotterdam.")
    );
}

#[test]
fn processing_moves_through_its_states_on_the_test_clock() {
    let (_dir, emu) = emulator("\n[planes.cortex_api]\nprocessing_delay_ms = 60000\n");
    let t = new_tenant(&emu, "slow", json!({}));
    let id = upload_text(&emu, &t, "a.txt", "lighthouse keeper");
    let state = || {
        api(
            &emu,
            "POST",
            &format!("/ingestion/verify_processing?tenant_id={t}&file_id={id}"),
            Some(KEY),
            None,
        )
        .json()["statuses"][0]["indexing_status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let found = || {
        recall(
            &emu,
            "boolean_recall",
            json!({"tenant_id": t, "query": "lighthouse"}),
        )
        .json()["chunks"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(state(), "queued");
    assert_eq!(found(), 0, "not searchable before it is processed");
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"advance": "31s"})),
        Some(ADMIN),
    );
    assert_eq!(state(), "processing");
    emu.admin(
        "POST",
        "/clock",
        Some(json!({"advance": "30s"})),
        Some(ADMIN),
    );
    assert_eq!(state(), "completed");
    assert_eq!(found(), 1);
}

// ---------------------------------------------------------------- recall

#[test]
fn a_search_params_for_limits_outside_one_to_a_hundred() {
    let emu = shared_plane();
    let t = new_tenant(emu, "search", json!({}));
    for n in [0, 101] {
        let r = recall(
            emu,
            "full_recall",
            json!({"tenant_id": t, "query": "x", "max_results": n}),
        );
        assert_detail(
            &r,
            400,
            "INVALID_SEARCH_PARAMETERS",
            &format!("Invalid search parameters: max_results must be between 1 and 100, not {n}"),
        );
    }
    let r = recall(
        emu,
        "boolean_recall",
        json!({"tenant_id": t, "query": "x", "operator": "xor"}),
    );
    assert_detail(
        &r,
        400,
        "INVALID_SEARCH_PARAMETERS",
        "Invalid search parameters: operator must be or, and or phrase, not 'xor'",
    );
}

#[test]
fn full_recall_blends_meaning_and_keywords_and_qna_answers_from_the_best_chunk() {
    let emu = shared_plane();
    let t = new_tenant(
        emu,
        "recall",
        json!({"tenant_metadata_schema": [{"name": "department", "data_type": "VARCHAR"}]}),
    );
    let r = upload(
        emu,
        KEY,
        &[
            field("tenant_id", &t),
            field(
                "file_metadata",
                r#"[{"metadata": {"department": "ops"}}, {"metadata": {"department": "finance"}}]"#,
            ),
            file(
                "ops.txt",
                "text/plain",
                b"The warehouse is in Rotterdam. It opens at six.",
            ),
            file(
                "fin.txt",
                "text/plain",
                b"Invoices are paid within 30 days of receipt.",
            ),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<String> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["source_id"].as_str().unwrap().to_string())
        .collect();
    let v = recall(
        emu,
        "full_recall",
        json!({"tenant_id": t, "query": "where is the warehouse", "max_results": 2}),
    )
    .json();
    assert_eq!(v["chunks"][0]["source_id"], ids[0].as_str(), "{v}");
    assert_eq!(v["sources"][0]["id"], ids[0].as_str());
    assert_eq!(v["sources"][0]["tenant_metadata"]["department"], "ops");
    assert!(v["chunks"][0]["relevancy_score"].as_f64().unwrap() > 0.0);
    let layout: Value = serde_json::from_str(v["chunks"][0]["layout"].as_str().unwrap()).unwrap();
    assert_eq!(layout["offsets"]["document_level_start_index"], 0);
    // A prefix of a word still matches ("invoic" → "invoices"); filters narrow by metadata.
    let v = recall(
        emu,
        "full_recall",
        json!({"tenant_id": t, "query": "invoic", "metadata_filters": {"department": "finance"}}),
    )
    .json();
    assert_eq!(v["chunks"][0]["source_id"], ids[1].as_str(), "{v}");
    let v = recall(
        emu,
        "full_recall",
        json!({"tenant_id": t, "query": "invoic", "metadata_filters": {"department": "ops"}}),
    )
    .json();
    assert!(
        v["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["source_id"] != ids[1].as_str()),
        "{v}"
    );
    // Operators of boolean recall.
    let count = |q: &str, op: &str| {
        recall(
            emu,
            "boolean_recall",
            json!({"tenant_id": t, "query": q, "operator": op}),
        )
        .json()["chunks"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count("warehouse invoices", "or"), 2);
    assert_eq!(count("warehouse invoices", "and"), 0);
    assert_eq!(count("paid within", "phrase"), 1);
    assert_eq!(count("within paid", "phrase"), 0);
    let v = recall(
        emu,
        "qna",
        json!({"tenant_id": t, "question": "Where is the warehouse?"}),
    )
    .json();
    assert_eq!(v["answer"], "The warehouse is in Rotterdam.", "{v}");
    assert_eq!(v["model_used"], "cortex-emu-extractive");
}

// ---------------------------------------------------------------- memories

#[test]
fn a_memory_missing_on_delete_and_memories_are_listed_and_recalled() {
    let emu = shared_plane();
    let t = new_tenant(emu, "mem", json!({}));
    let r = api(
        emu,
        "POST",
        "/memories/add_memory",
        Some(KEY),
        Some(
            json!({"tenant_id": t, "sub_tenant_id": "user_1", "memories": [
                {"source_id": "pref-1", "text": "The user prefers window seats on flights."},
                {"source_id": "chat-1", "user_assistant_pairs": [{"user": "I am vegetarian", "assistant": "Noted."}]}
            ]}),
        ),
    );
    assert_eq!(r.json()["success_count"], 2, "{}", r.body);
    let list = api(
        emu,
        "POST",
        "/list/data",
        Some(KEY),
        Some(json!({"tenant_id": t, "sub_tenant_id": "user_1", "kind": "memories"})),
    )
    .json();
    assert_eq!(list["user_memories"][0]["memory_id"], "pref-1", "{list}");
    assert_eq!(
        list["user_memories"][1]["memory_content"],
        "User: I am vegetarian\nAssistant: Noted."
    );
    assert_eq!(list["pagination"]["total"], 2);
    let v = recall(
        emu,
        "recall_preferences",
        json!({"tenant_id": t, "sub_tenant_id": "user_1", "query": "seat preference"}),
    )
    .json();
    assert!(
        v["chunks"][0]["chunk_content"]
            .as_str()
            .unwrap()
            .contains("window seats"),
        "{v}"
    );
    let path =
        format!("/memories/delete_memory?tenant_id={t}&sub_tenant_id=user_1&memory_id=pref-1");
    let r = api(emu, "DELETE", &path, Some(KEY), None);
    assert_eq!(r.body, r#"{"success":true,"user_memory_deleted":true}"#);
    assert_detail(
        &api(emu, "DELETE", &path, Some(KEY), None),
        404,
        "MEMORY_NOT_FOUND",
        "Memory 'pref-1' not found",
    );
}

#[test]
fn a_memory_format_without_text_or_pairs() {
    let emu = shared_plane();
    let t = new_tenant(emu, "mem", json!({}));
    let r = api(
        emu,
        "POST",
        "/memories/add_memory",
        Some(KEY),
        Some(json!({"tenant_id": t, "memories": [{"title": "empty"}]})),
    );
    assert_detail(
        &r,
        422,
        "INVALID_MEMORY_FORMAT",
        "Invalid memory format: memories[0] needs text or user_assistant_pairs",
    );
}

// ---------------------------------------------------------------- raw embeddings

fn insert_vectors(emu: &Emu, t: &str, docs: Value) -> Res {
    api(
        emu,
        "POST",
        "/embeddings/insert_raw_embeddings",
        Some(KEY),
        Some(json!({"tenant_id": t, "embeddings": docs})),
    )
}

#[test]
fn a_emb_format_for_a_wrong_dimension() {
    let emu = shared_plane();
    let t = embeddings_tenant(emu, 4);
    let r = insert_vectors(
        emu,
        &t,
        json!([{"source_id": "d", "embeddings": [{"chunk_id": "c", "embedding": [1, 0, 0]}]}]),
    );
    assert_detail(
        &r,
        422,
        "INVALID_EMBEDDING_FORMAT",
        "Invalid embedding format: chunk 'c' has 3 dimensions; this tenant's embeddings have 4",
    );
}

#[test]
fn a_emb_missing_and_raw_embeddings_insert_search_filter_delete() {
    let emu = shared_plane();
    let t = embeddings_tenant(emu, 4);
    let r = insert_vectors(
        emu,
        &t,
        json!([
            {"source_id": "doc-a", "metadata": {"color": "red", "n": 1}, "embeddings": [
                {"chunk_id": "a1", "embedding": [1, 0, 0, 0]}, {"chunk_id": "a2", "embedding": [0.9, 0.1, 0, 0]}]},
            {"source_id": "doc-b", "metadata": {"color": "blue", "n": 2}, "embeddings": [
                {"chunk_id": "b1", "embedding": [0, 1, 0, 0]}]}
        ]),
    );
    assert_eq!(
        r.body,
        r#"{"insert_count":3,"ids":["a1","a2","b1"],"success":true,"error":null}"#
    );
    let search = |extra: Value| {
        let mut body =
            json!({"tenant_id": t, "sub_tenant_id": "DEFAULT", "query_embedding": [1, 0, 0, 0]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        api(
            emu,
            "POST",
            "/embeddings/search_raw_embeddings",
            Some(KEY),
            Some(body),
        )
    };
    let v = search(json!({"limit": 2})).json();
    assert_eq!(v[0]["embedding"]["chunk_id"], "a1", "{v}");
    assert_eq!(v[0]["score"], 1.0);
    assert_eq!(v[0]["distance"], 0.0);
    assert_eq!(v[1]["embedding"]["chunk_id"], "a2");
    let v = search(json!({"filter_expr": "color == \"blue\" or n > 5"})).json();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["embedding"]["chunk_id"], "b1");
    let v = search(json!({"limit": 1, "output_fields": ["embedding"]})).json();
    assert_eq!(v[0]["embedding"]["embedding"], json!([1.0, 0.0, 0.0, 0.0]));
    let r = search(json!({"filter_expr": "color =="}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.json()["detail"]["error_code"],
        "INVALID_SEARCH_PARAMETERS"
    );
    assert_detail(
        &search(json!({"limit": 0})),
        400,
        "INVALID_SEARCH_PARAMETERS",
        "Invalid search parameters: limit must be between 1 and 100, not 0",
    );
    let f = api(
        emu,
        "POST",
        "/embeddings/filter_raw_embeddings",
        Some(KEY),
        Some(json!({"tenant_id": t, "sub_tenant_id": "DEFAULT", "source_id": "doc-a"})),
    )
    .json();
    assert_eq!(f.as_array().unwrap().len(), 2, "{f}");
    // Taken chunk ids need upsert.
    let r = insert_vectors(
        emu,
        &t,
        json!([{"source_id": "doc-a", "embeddings": [{"chunk_id": "a1", "embedding": [0, 0, 1, 0]}]}]),
    );
    assert_detail(
        &r,
        409,
        "CONFLICT",
        "Resource already exists: chunk 'a1'; pass upsert=true to replace it",
    );
    let path = format!(
        "/embeddings/delete_raw_embeddings?tenant_id={t}&sub_tenant_id=DEFAULT&source_id=doc-a"
    );
    let r = api(emu, "DELETE", &path, Some(KEY), None);
    assert_eq!(r.body, r#"{"delete_count":2,"success":true,"error":null}"#);
    assert_detail(
        &api(emu, "DELETE", &path, Some(KEY), None),
        404,
        "EMBEDDINGS_NOT_FOUND",
        "Embeddings not found for that source_id or chunk_ids",
    );
}

// ---------------------------------------------------------------- injected rows

/// One emulator for the injected rows, one test at a time (faults are global).
fn faulty() -> std::sync::MutexGuard<'static, (tempfile::TempDir, Emu)> {
    static EMU: OnceLock<Mutex<(tempfile::TempDir, Emu)>> = OnceLock::new();
    EMU.get_or_init(|| Mutex::new(emulator("")))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Forces `row` once on requests under `route`, calls it, and checks the answer is the row.
fn injected(row: &str, route: &str, status: u16, code: &str, message: &str) {
    let guard = faulty();
    let emu = &guard.1;
    let t = new_tenant(emu, "inject", json!({}));
    let (s, v) = emu.admin(
        "POST",
        "/faults",
        Some(json!({"response": row, "route": format!("/cortex-api{route}"), "times": 1})),
        Some(ADMIN),
    );
    assert_eq!(s, 201, "{v}");
    let call = || match route {
        "/ingestion" => upload(
            emu,
            KEY,
            &[field("tenant_id", &t), file("a.txt", "text/plain", b"x")],
        ),
        "/embeddings" => api(
            emu,
            "POST",
            "/embeddings/insert_raw_embeddings",
            Some(KEY),
            Some(json!({"tenant_id": t, "embeddings": []})),
        ),
        _ => recall(
            emu,
            "full_recall",
            json!({"tenant_id": t, "query": "anything"}),
        ),
    };
    assert_detail(&call(), status, code, message);
    // `times: 1`: the next request is answered by the plane itself.
    assert_ne!(call().body, detail(code, message));
}

#[test]
fn a500_injected() {
    injected(
        "A500",
        "/recall",
        500,
        "INTERNAL_ERROR",
        "Internal server error",
    );
}

#[test]
fn a_processing_injected() {
    injected(
        "A-processing",
        "/ingestion",
        500,
        "PROCESSING_FAILED",
        "File processing failed",
    );
}

#[test]
fn a_search_timeout_injected() {
    injected(
        "A-search-timeout",
        "/recall",
        500,
        "SEARCH_TIMEOUT",
        "Search timed out",
    );
}

#[test]
fn a_no_results_injected() {
    injected(
        "A-no-results",
        "/recall",
        404,
        "NO_RESULTS_FOUND",
        "No results found",
    );
}

#[test]
fn a_emb_failed_injected() {
    injected(
        "A-emb-failed",
        "/embeddings",
        500,
        "EMBEDDING_GENERATION_FAILED",
        "Embedding generation failed",
    );
}

// ---------------------------------------------------------------- the plane's own port and keys

#[test]
fn the_plane_answers_at_the_root_of_its_own_port_and_mints_keys() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_dir, emu) = emulator(&format!("\n[planes.cortex_api]\nport = {port}\n"));
    let base = format!("http://127.0.0.1:{port}");
    let r = api_at(
        &base,
        "POST",
        "/tenants/create",
        Some(KEY),
        Some(json!({"tenant_id": "own_port"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The same tenant is seen under /cortex-api on the main port.
    let r = api(
        &emu,
        "GET",
        "/tenants/sub_tenant_ids?tenant_id=own_port",
        Some(KEY),
        None,
    );
    assert_eq!(r.json()["sub_tenant_ids"], json!(["DEFAULT"]));
    let k = api_at(
        &base,
        "POST",
        "/api-keys/create_api_key",
        Some(KEY),
        Some(json!({"owner": "ci"})),
    )
    .json();
    let new_key = k["full_api_key"].as_str().unwrap();
    assert_eq!(k["owner"], "ci");
    let r = api_at(
        &base,
        "GET",
        "/tenants/monitor?tenant_id=own_port",
        Some(new_key),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_detail(
        &api_at(&base, "GET", "/nope", Some(KEY), None),
        404,
        "NOT_FOUND",
        "Resource not found",
    );
}

/// Issue 16: the operator sees every organization's tenants and documents in the admin API
/// (the dashboard's planes page), and identity's roles.
#[test]
fn the_admin_api_lists_tenants_documents_and_identity_roles() {
    let emu = shared_plane();
    let tenant = new_tenant(emu, "overview", json!({}));
    let source = upload_text(emu, &tenant, "notes.txt", "The warehouse is in Rotterdam.");
    let (status, all) = emu.admin("GET", "/cortex-api/tenants", None, Some(ADMIN));
    assert_eq!(status, 200, "{all}");
    let t = all["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == tenant.as_str())
        .unwrap_or_else(|| panic!("{all}"))
        .clone();
    assert_eq!(
        (t["organization"].clone(), t["documents"].clone()),
        (json!("acme"), json!(1))
    );
    let (status, docs) = emu.admin(
        "GET",
        &format!("/cortex-api/tenants/{tenant}/documents"),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 200, "{docs}");
    assert_eq!(docs["documents"][0]["id"], source.as_str());
    assert_eq!(docs["documents"][0]["filename"], "notes.txt");
    let (status, _) = emu.admin(
        "GET",
        "/cortex-api/tenants/ghost/documents",
        None,
        Some(ADMIN),
    );
    assert_eq!(status, 404);
    let (status, roles) = emu.admin("GET", "/identity/roles", None, Some(ADMIN));
    assert_eq!(status, 200, "{roles}");
    let admin_role = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "TENANT_ADMIN")
        .unwrap_or_else(|| panic!("{roles}"))
        .clone();
    assert!(
        admin_role["permissions"]
            .as_str()
            .unwrap()
            .contains("users:create"),
        "{admin_role}"
    );
}
