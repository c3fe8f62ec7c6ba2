//! Running a deployed function: `/fold/run/{tenant}/{name}` and `{tenant}.localhost/{name}`.
//! The version in force runs on the JavaScript worker pool as a Workers-style module with its
//! bindings; every run is an activation, committed before the answer leaves. A function that
//! throws or times out answers `DISPATCH_FAILED` with the activation id, and the error is on
//! the activation. The Free plan's monthly cap is checked before anything runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::envelope::FoldError;
use crate::domain::app::App;
use crate::protocol::{
    FoldBinding, FoldCall, FoldRequest, FoldResponse, Network, RunContext, RunResult, RunStatus,
    WireJob,
};
use crate::registry::{Bundle, Runtime};
use crate::store::fold::FoldFunction;
use crate::store::fold_runs::FoldActivation;
use crate::store::Organization as Org;

/// The header naming the activation of a dispatch (**choice**: the docs name none).
pub(crate) const ACTIVATION_HEADER: &str = "x-fold-activation-id";

/// The request as the function will see it.
pub(crate) fn request_of(
    method: &Method,
    url: String,
    headers: &HeaderMap,
    body: &[u8],
) -> FoldRequest {
    FoldRequest {
        method: method.as_str().to_string(),
        url,
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: (!body.is_empty()).then(|| String::from_utf8_lossy(body).into_owned()),
    }
}

/// What one run produced, already recorded.
pub(crate) struct Ran {
    pub activation: FoldActivation,
    pub response: Option<FoldResponse>,
}

/// Runs `org`'s function `name` with `request`: the lookups, the plan's cap, the run and its
/// activation. `replay_of` links a replay to the activation it repeats.
pub(crate) async fn dispatch(
    app: &App,
    org: &Org,
    name: &str,
    request: FoldRequest,
    replay_of: Option<String>,
) -> Result<Ran, FoldError> {
    let function = app
        .store
        .fold_function_by_name(&org.id, name)
        .await?
        .ok_or_else(|| {
            FoldError::details("F-function", json!({"tenant": org.slug, "name": name}))
        })?;
    super::plans::check_cap(app, org).await?;
    run_function(app, org, &function, request, replay_of).await
}

/// Runs the version in force of `function` and records the activation.
pub(crate) async fn run_function(
    app: &App,
    org: &Org,
    function: &FoldFunction,
    request: FoldRequest,
    replay_of: Option<String>,
) -> Result<Ran, FoldError> {
    let version = app
        .store
        .fold_version(&function.id, function.version)
        .await?
        .ok_or_else(|| {
            FoldError::details(
                "F-version",
                json!({"function_id": function.id, "version": function.version}),
            )
        })?;
    let mut files = BTreeMap::new();
    files.insert(crate::runtime::FOLD_ENTRY.to_string(), version.code.clone());
    let bundle = Arc::new(Bundle::new(files));
    let activation_id = format!("act_{}", uuid::Uuid::new_v4().simple());
    let bindings = version
        .bindings
        .iter()
        .filter_map(|b| binding(app, &org.slug, b))
        .collect();
    let job = WireJob {
        code_hash: bundle.hash.clone(),
        files: None,
        event: serde_json::to_value(&request).unwrap_or(Value::Null),
        context: RunContext {
            function_id: function.id.clone(),
            version: version.version.to_string(),
            activation_id: activation_id.clone(),
            organization: org.slug.clone(),
        },
        env: Default::default(),
        timeout_ms: (app.config.fold.timeout_secs * 1000.0).round() as u64,
        memory_mb: crate::registry::MAX_MEMORY_MB,
        http: true,
        log_limit: app.config.executor.log_limit_bytes,
        check: false,
        fold: Some(FoldCall { bindings }),
        // Workers call out with `fetch`, in the emulator's network mode (as tools do).
        network: Some(Network {
            mode: app.config.network.mode,
            cassettes: cassettes_dir(app, &org.slug, &function.name)
                .to_string_lossy()
                .into_owned(),
        }),
        cpython: None,
    };
    let triggered_at = app.clock.rfc3339();
    let result = app.executor.run(Runtime::Javascript, job, bundle).await;
    let (status, response, error) = outcome(&result);
    let activation = FoldActivation {
        id: activation_id,
        org_id: org.id.clone(),
        function_id: function.id.clone(),
        function_name: function.name.clone(),
        version: version.version,
        status: status.into(),
        duration_ms: (result.duration_ms * 1000.0).round() / 1000.0,
        error_message: error,
        triggered_at: triggered_at.clone(),
        response_status: response.as_ref().map(|r| r.status as i64),
        request: serde_json::to_value(&request).unwrap_or(Value::Null),
        response: response
            .as_ref()
            .and_then(|r| serde_json::to_value(r).ok())
            .unwrap_or(Value::Null),
        logs: result.logs.clone(),
        subrequests: subrequests(&result.exchanges, &triggered_at),
        replay_of,
    };
    app.store.fold_record(activation.clone()).await?;
    if !app.quiet {
        let outcome = match activation.response_status {
            Some(code) => code.to_string(),
            None => status.to_string(),
        };
        crate::domain::terminal::fold_run_line(
            &activation.triggered_at,
            &format!("{}/{}", org.slug, function.name),
            version.version,
            &outcome,
            activation.response_status.is_none(),
            result.duration_ms,
            &activation.logs,
        );
    }
    Ok(Ran {
        activation,
        response,
    })
}

/// `success` with the Response, or `error` / `timeout` with the error's first line.
fn outcome(result: &RunResult) -> (&'static str, Option<FoldResponse>, Option<String>) {
    let first_line = |e: &Option<String>| {
        e.as_deref()
            .and_then(|e| e.lines().next())
            .map(str::to_string)
    };
    match result.status {
        RunStatus::Success => match result
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<FoldResponse>(b).ok())
        {
            Some(r) => ("success", Some(r), None),
            None => (
                "error",
                None,
                Some("the function's Response could not be read".into()),
            ),
        },
        RunStatus::Timeout => (
            "timeout",
            None,
            first_line(&result.error)
                .or_else(|| Some("the function ran past its time limit".into())),
        ),
        RunStatus::Error => ("error", None, first_line(&result.error)),
    }
}

/// The HTTP answer of a dispatch: the function's Response, or `DISPATCH_FAILED`.
pub(crate) fn answer(ran: Ran) -> Response {
    let id = ran.activation.id.clone();
    let mut response = match ran.response {
        Some(r) => {
            let mut out = Response::new(Body::from(r.body));
            *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            for (k, v) in r.headers {
                // The server frames the body itself.
                if matches!(
                    k.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                ) {
                    continue;
                }
                if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                    out.headers_mut().append(k, v);
                }
            }
            out
        }
        None => FoldError::details(
            "F-dispatch",
            json!({
                "activation_id": id,
                "status": ran.activation.status,
                "message": ran.activation.error_message,
            }),
        )
        .into_response(),
    };
    if let Ok(v) = HeaderValue::try_from(id) {
        response.headers_mut().insert(ACTIVATION_HEADER, v);
    }
    response
}

/// Where a function's cassettes are: beside its `index.js` when it comes from the dev-loop
/// folder (`<dir>/<org>/<name>/http`), else beside the state (`fold-http/<org>/<name>`).
fn cassettes_dir(app: &App, org: &str, name: &str) -> PathBuf {
    if let Some(dir) = &app.config.fold.dir {
        let folder = dir.join(org).join(name);
        if folder.is_dir() {
            return folder.join("http");
        }
    }
    bindings_dir(app)
        .with_file_name("fold-http")
        .join(org)
        .join(name)
}

/// The run's outbound requests in the docs' subrequest shape (`destination_host`,
/// `destination_path`, `method`, `status`, `duration_ms`, `timestamp`), with where the answer
/// came from and the error of a refused one.
fn subrequests(exchanges: &[crate::protocol::Exchange], at: &str) -> Value {
    let items: Vec<Value> = exchanges
        .iter()
        .map(|x| {
            let url = reqwest::Url::parse(&x.url).ok();
            json!({
                "destination_host": url.as_ref().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default(),
                "destination_path": url.as_ref().map(|u| u.path().to_string()).unwrap_or_default(),
                "method": x.method,
                "status": x.status,
                "duration_ms": (x.duration_ms * 1000.0).round() / 1000.0,
                "timestamp": at,
                "source": x.source,
                "error": x.error,
            })
        })
        .collect();
    Value::Array(items)
}

/// The folder holding the organizations' binding files: beside the state file, or a
/// folder of this process under the system's temporary folder for an in-memory state.
pub(crate) fn bindings_dir(app: &App) -> PathBuf {
    if app.config.state.in_memory {
        std::env::temp_dir().join(format!("cortex-emu-bindings-{}", std::process::id()))
    } else {
        app.config
            .state
            .path
            .parent()
            .map(|p| p.join("fold-bindings"))
            .unwrap_or_else(|| PathBuf::from("fold-bindings"))
    }
}

/// A `TYPE:name` binding of `org` as a worker opens it: its own SQLite file per organization,
/// so no function of one organization can reach another's data.
fn binding(app: &App, org: &str, spec: &str) -> Option<FoldBinding> {
    let (kind, name) = spec.split_once(':')?;
    let path = bindings_dir(app)
        .join(org)
        .join(format!("{kind}-{name}.sqlite"));
    Some(FoldBinding {
        kind: kind.to_string(),
        name: name.to_string(),
        path: path.to_string_lossy().into_owned(),
    })
}
