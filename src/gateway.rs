//! The execution gateway (PLATFORM.md §2): `POST /api/v1/functions/{id}[/{version}]/invoke`.
//! Checks run in the platform's order (key → balance → function → version) before any code runs;
//! a rejected request is not charged and runs nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::executor::protocol::{RunContext, RunResult, RunStatus, WireJob};
use crate::registry::{Bundle, Tool, Visibility};
use crate::responses::{envelope, GatewayError};
use crate::server::AppState;
use crate::store::{self, Activation, KeyRecord};

/// Which code a request runs.
pub enum Target {
    Draft,
    Published {
        version: String,
        bundle: Arc<Bundle>,
    },
}

/// `1.0`, `1.0.0` and `v1.0.0` name the same version; `draft` names the working copy.
pub enum VersionSpec {
    Latest,
    Draft,
    Number(String),
}

pub fn parse_version(raw: Option<&str>) -> Option<VersionSpec> {
    let Some(raw) = raw else {
        return Some(VersionSpec::Latest);
    };
    let v = raw.trim();
    if v.eq_ignore_ascii_case("draft") {
        return Some(VersionSpec::Draft);
    }
    if v.eq_ignore_ascii_case("latest") {
        return Some(VersionSpec::Latest);
    }
    let digits = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let parts: Vec<&str> = digits.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut nums = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        nums[i] = p.parse().ok()?;
    }
    Some(VersionSpec::Number(format!(
        "{}.{}.{}",
        nums[0], nums[1], nums[2]
    )))
}

pub async fn invoke_latest(
    State(state): State<Arc<AppState>>,
    Path(function_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    invoke(state, function_id, None, headers, body).await
}

pub async fn invoke_version(
    State(state): State<Arc<AppState>>,
    Path((function_id, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    invoke(state, function_id, Some(version), headers, body).await
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<KeyRecord, GatewayError> {
    let raw = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(GatewayError::Unauthorized)?;
    // The documented common mistake: a `Bearer ` prefix is rejected like a wrong key, with a hint.
    if raw.len() > 7 && raw[..7].eq_ignore_ascii_case("bearer ") {
        return Err(GatewayError::BearerPrefix);
    }
    state
        .store
        .authenticate(raw)
        .ok_or(GatewayError::Unauthorized)
}

async fn read_event(state: &AppState, body: Body) -> Result<Value, GatewayError> {
    let limit = state.config.server.max_body_bytes;
    let bytes: Bytes = read_body(body, limit).await?;
    let parsed: Value = serde_json::from_slice(&bytes).map_err(|_| GatewayError::InvalidJson)?;
    match parsed {
        Value::Object(mut map) => map.remove("event").ok_or(GatewayError::MissingEvent),
        _ => Err(GatewayError::MissingEvent),
    }
}

/// Reads a request body up to `limit` bytes. Only a body over the limit is 413; one the client
/// cut short or stopped sending is malformed (G400-json), since it cannot be valid JSON.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let over_limit = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit exceeded");
        if over_limit {
            GatewayError::BodyTooLarge(limit)
        } else {
            GatewayError::InvalidJson
        }
    })
}

/// The fee a run of `tool` costs on top of compute.
pub fn fee_micros(state: &AppState, tool: &Tool) -> i64 {
    store::to_micros(
        tool.price_per_run
            .unwrap_or(state.config.billing.default_price_per_run),
    )
}

/// Compute cost of a run of `duration_ms`.
pub fn compute_micros(state: &AppState, duration_ms: f64) -> i64 {
    let ms = Decimal::from_f64_retain(duration_ms.max(0.0)).unwrap_or_default();
    state
        .config
        .billing
        .compute_per_second
        .checked_mul(ms)
        .map(|c| store::to_micros(c / Decimal::from(1000)))
        .unwrap_or(crate::money::MAX_BALANCE_MICROS)
}

async fn invoke(
    state: Arc<AppState>,
    function_id: String,
    version: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let reject = |e: GatewayError| state.catalogue.reject(e);

    // 1. Key.
    let key = match authenticate(&state, &headers) {
        Ok(k) => k,
        Err(e) => return reject(e),
    };
    // The request body (400) is judged once the caller is known (**choice**).
    let event = match read_event(&state, body).await {
        Ok(ev) => ev,
        Err(e) => return reject(e),
    };
    // 2. Balance: an empty balance blocks every run, before the tool is even looked up.
    let balance = state.store.balance_micros(&key.org_id);
    if balance <= 0 {
        return reject(GatewayError::InsufficientBalance);
    }
    // 3. Function: unknown ids and other organizations' private tools look the same.
    let org = state.store.org(&key.org_id);
    let org_slug = org.as_ref().map(|o| o.slug.clone()).unwrap_or_default();
    let tool = match state.registry.get(&function_id) {
        Some(t) if visible_to(&state, &t, &org_slug) => t,
        _ => return reject(GatewayError::UnknownFunction),
    };
    // 4. Version.
    let target = match resolve(&state, &tool, version.as_deref()) {
        Some(t) => t,
        None => return reject(GatewayError::UnknownVersion),
    };
    // The price is known only now: the balance must cover the fee plus one millisecond of compute.
    let fee = fee_micros(&state, &tool);
    if balance < fee + compute_micros(&state, 1.0) {
        return reject(GatewayError::InsufficientBalance);
    }
    run_and_record(&state, &tool, target, event, &key, &org_slug).await
}

/// Whether an organization's keys may see and run `tool`: its own tools and public ones.
pub fn visible_to(state: &AppState, tool: &Tool, org_slug: &str) -> bool {
    tool.organization == org_slug || is_public(state, tool)
}

/// Public tools are callable with any organization's key: public in `tool.toml`, or published
/// publicly. The one visibility rule for the gateway, MCP tools and the marketplace.
pub fn is_public(state: &AppState, tool: &Tool) -> bool {
    tool.visibility == Visibility::Public
        || state
            .store
            .published(&tool.id)
            .first()
            .is_some_and(|v| v.visibility == Visibility::Public)
}

/// Finds the code a version string names.
pub fn resolve(state: &AppState, tool: &Tool, version: Option<&str>) -> Option<Target> {
    let published = state.store.published(&tool.id);
    match parse_version(version)? {
        VersionSpec::Draft => Some(Target::Draft),
        VersionSpec::Latest => Some(match published.first() {
            Some(p) => Target::Published {
                version: p.version.clone(),
                bundle: p.bundle.clone(),
            },
            None => Target::Draft,
        }),
        VersionSpec::Number(n) => {
            published
                .iter()
                .find(|p| p.version == n)
                .map(|p| Target::Published {
                    version: p.version.clone(),
                    bundle: p.bundle.clone(),
                })
        }
    }
}

/// Runs a tool, records the activation and its cost, and renders the platform's response.
pub async fn run_and_record(
    state: &Arc<AppState>,
    tool: &Arc<Tool>,
    target: Target,
    event: Value,
    key: &KeyRecord,
    org_slug: &str,
) -> Response {
    let done = execute(state, tool, target, event, key, org_slug).await;
    let mut response = crate::responses::json_response(done.http, done.text);
    if let Ok(v) = HeaderValue::from_str(&done.activation_id) {
        response
            .headers_mut()
            .insert("x-cortex-emu-activation-id", v);
    }
    if let Err(e) = done.recorded {
        tracing::error!("activation {} was not recorded: {e}", done.activation_id);
        if let Ok(v) = HeaderValue::from_str(&format!("activation not recorded: {e}")) {
            response.headers_mut().insert("x-cortex-emu-warning", v);
        }
    }
    response
}

/// A finished, recorded run.
pub struct Executed {
    pub result: RunResult,
    pub http: StatusCode,
    /// The envelope the gateway answers with.
    pub text: String,
    pub activation_id: String,
    pub recorded: Result<(), crate::store::StoreError>,
}

/// Runs a tool, records the activation and its cost (before returning: nothing acknowledged is
/// lost) and renders the platform's envelope. The run is a task of its own: a client that
/// disconnects does not cancel it, so it finishes, is recorded and keeps its warm worker, as a
/// run on the platform would.
pub async fn execute(
    state: &Arc<AppState>,
    tool: &Arc<Tool>,
    target: Target,
    event: Value,
    key: &KeyRecord,
    org_slug: &str,
) -> Executed {
    let (state, tool, key, org) = (
        state.clone(),
        tool.clone(),
        key.clone(),
        org_slug.to_string(),
    );
    let run =
        tokio::spawn(async move { execute_here(&state, &tool, target, event, &key, &org).await });
    match run.await {
        Ok(done) => done,
        // Only a panic inside the run ends up here; the server keeps serving.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn execute_here(
    state: &Arc<AppState>,
    tool: &Arc<Tool>,
    target: Target,
    event: Value,
    key: &KeyRecord,
    org_slug: &str,
) -> Executed {
    let (version, bundle) = match target {
        Target::Draft => ("draft".to_string(), tool.bundle.clone()),
        Target::Published { version, bundle } => (version, bundle),
    };
    let activation_id = uuid::Uuid::new_v4().to_string();
    if state.config.state.record_activations
        && state.store.unwritable()
        && !state.store.probe_writable().await
    {
        return refused(state, GatewayError::StateUnwritable, activation_id);
    }
    let job = job_for(
        tool,
        &version,
        &bundle,
        event.clone(),
        &activation_id,
        org_slug,
        &state.secrets,
        state.config.executor.log_limit_bytes,
    );
    let started_at = store::now_rfc3339();
    let guard = state.inflight.begin(
        &activation_id,
        key,
        tool,
        &version,
        &bundle.hash,
        &event,
        &started_at,
    );
    let wall = Instant::now();
    let mut result = state.executor.run(tool.runtime, job, bundle.clone()).await;
    let wall_ms = wall.elapsed().as_secs_f64() * 1000.0;

    let (mut http, mut text) = render(state, &result);
    let duration_ms = if result.status == RunStatus::Timeout {
        wall_ms
    } else {
        result.duration_ms
    };
    let cost = compute_micros(state, duration_ms) + fee_micros(state, tool);
    let activation = Activation {
        id: activation_id.clone(),
        org_id: key.org_id.clone(),
        tool_id: tool.id.clone(),
        version: version.clone(),
        code_hash: bundle.hash.clone(),
        runtime: tool.runtime.id().to_string(),
        status: match result.status {
            RunStatus::Success => "success",
            RunStatus::Error => "error",
            RunStatus::Timeout => "timeout",
        }
        .to_string(),
        status_code: result.status_code,
        duration_ms,
        cost_micros: cost,
        event: serde_json::to_string(&event).unwrap_or_default(),
        response: text.clone(),
        logs: result.logs.clone(),
        error: result.error.clone(),
        started_at,
        finished_at: store::now_rfc3339(),
    };
    crate::terminal::run_line(&activation, &tool.name);
    let recorded = if state.config.state.record_activations {
        let live = Arc::new(activation.clone());
        let r = state
            .store
            .record_run(activation, Some(key.id.clone()))
            .await;
        if r.is_ok() {
            let _ = state.activity.send(live);
        }
        r
    } else {
        state
            .store
            .debit_in_memory(&activation.org_id, activation.cost_micros);
        Ok(())
    };
    guard.finish();
    if recorded.is_err() {
        // Nothing acknowledged is lost: a run the store could not keep is not answered as a
        // success; the client reads that it was not recorded (and not charged).
        let failed = refused(state, GatewayError::NotRecorded, activation_id.clone());
        (result, http, text) = (failed.result, failed.http, failed.text);
    }
    Executed {
        result,
        http,
        text,
        activation_id,
        recorded,
    }
}

/// A run refused or voided by the emulator itself (its state cannot be written).
fn refused(state: &AppState, err: GatewayError, activation_id: String) -> Executed {
    let body = state.catalogue.body(err);
    let mut result = RunResult::failed(body.clone(), body.clone(), String::new());
    result.status_code = err.status().as_u16() as i64;
    Executed {
        http: err.status(),
        text: envelope(result.status_code, Some(&body)),
        result,
        activation_id,
        recorded: Ok(()),
    }
}

/// The job that runs `tool` at `version` with `event`.
#[allow(clippy::too_many_arguments)]
pub fn job_for(
    tool: &Tool,
    version: &str,
    bundle: &Bundle,
    event: Value,
    activation_id: &str,
    org_slug: &str,
    secrets: &BTreeMap<String, String>,
    log_limit: usize,
) -> WireJob {
    WireJob {
        code_hash: bundle.hash.clone(),
        files: None,
        event,
        context: RunContext {
            function_id: tool.id.clone(),
            version: version.to_string(),
            activation_id: activation_id.to_string(),
            organization: org_slug.to_string(),
        },
        // The attached secrets are the handler's whole environment.
        env: tool
            .secrets
            .iter()
            .filter_map(|n| secrets.get(n).map(|v| (n.clone(), v.clone())))
            .collect(),
        timeout_ms: tool.timeout_ms,
        memory_mb: tool.memory_mb,
        http: tool.http,
        log_limit,
        check: false,
    }
}

/// What the platform answers for a run: HTTP status, the envelope's `statusCode` and `body`.
pub fn outcome(
    catalogue: &crate::responses::Catalogue,
    result: &RunResult,
) -> (StatusCode, i64, Option<String>) {
    if result.status == RunStatus::Timeout {
        let err = GatewayError::Timeout;
        return (err.status(), 408, Some(catalogue.body(err)));
    }
    (StatusCode::OK, result.status_code, result.body.clone())
}

/// The HTTP status and body text for a run's result.
fn render(state: &AppState, result: &RunResult) -> (StatusCode, String) {
    let (http, code, body) = outcome(&state.catalogue, result);
    (http, envelope(code, body.as_deref()))
}

/// Answers a known route called with a method it does not take with JSON rather than an empty
/// body (axum adds the `Allow` header).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let text = format!(
        "{{\"error\": {}}}",
        crate::jsonfmt::python_string(&format!("Method {method} is not allowed on {}", uri.path()))
    );
    crate::responses::json_response(StatusCode::METHOD_NOT_ALLOWED, text)
}

/// Answers routes that do not exist with JSON rather than an empty body.
pub async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let text = format!(
        "{{\"error\": {}}}",
        crate::jsonfmt::python_string(&format!("No route for {method} {}", uri.path()))
    );
    crate::responses::json_response(StatusCode::NOT_FOUND, text)
}
