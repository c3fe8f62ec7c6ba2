//! Running an admitted request: the job for the worker, the platform's envelope, the activation
//! and its debit. Recording happens before the caller is answered: nothing acknowledged is lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::Value;

use crate::catalogue::{envelope, Catalogue, GatewayError};
use crate::domain::app::App;
use crate::domain::billing::{compute_micros, fee_micros};
use crate::domain::versions::Target;
use crate::protocol::{Network, NetworkMode, RunContext, RunResult, RunStatus, WireJob};
use crate::registry::{Bundle, Tool};
use crate::store::{Activation, KeyRecord, StoreError};

/// A finished run (recorded, unless it ran locally).
pub struct Executed {
    pub result: RunResult,
    pub http: StatusCode,
    /// The envelope the gateway answers with.
    pub text: String,
    pub activation_id: String,
    pub recorded: Result<(), StoreError>,
}

/// Who pays for and sees a run.
#[derive(Clone)]
pub(crate) enum Payer {
    /// A key's organization: charged and recorded.
    Key { key: KeyRecord, org_slug: String },
    /// The tool's own organization, from the command line or a test case: not charged and not
    /// recorded.
    Local,
}

/// Runs `tool` at `target`. The run is a task of its own: a client that disconnects does not
/// cancel it, so it finishes, is recorded and keeps its warm worker, as a run on the platform
/// would.
pub(crate) async fn execute(
    app: &Arc<App>,
    tool: &Arc<Tool>,
    target: Target,
    event: Value,
    payer: Payer,
    replay_of: Option<String>,
) -> Executed {
    let (app, tool) = (app.clone(), tool.clone());
    let run =
        tokio::spawn(
            async move { execute_here(&app, &tool, target, event, payer, replay_of).await },
        );
    match run.await {
        Ok(done) => done,
        // Only a panic inside the run ends up here; the server keeps serving.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn execute_here(
    app: &Arc<App>,
    tool: &Arc<Tool>,
    target: Target,
    event: Value,
    payer: Payer,
    replay_of: Option<String>,
) -> Executed {
    let (version, bundle) = target.code(tool);
    let activation_id = app.store.new_activation_id();
    let (key, org_slug) = match &payer {
        Payer::Key { key, org_slug } => (Some(key), org_slug.as_str()),
        Payer::Local => (None, tool.organization.as_str()),
    };
    let recording = key.is_some() && app.config.state.record_activations;
    if recording && app.store.unwritable() && !app.store.probe_writable().await {
        return refused(&app.catalogue, GatewayError::StateUnwritable, activation_id);
    }
    let job = job_for(
        tool,
        &version,
        &bundle,
        event.clone(),
        &activation_id,
        org_slug,
        &app.secrets.read().unwrap().clone(),
        app.config.executor.log_limit_bytes,
        app.config.network.mode,
    );
    let started_at = app.clock.rfc3339();
    let draft = |status: &str, error: Option<String>| Activation {
        id: activation_id.clone(),
        org_id: key.map(|k| k.org_id.clone()).unwrap_or_default(),
        tool_id: tool.id.clone(),
        version: version.clone(),
        code_hash: bundle.hash.clone(),
        runtime: tool.runtime_id().to_string(),
        status: status.to_string(),
        status_code: 500,
        duration_ms: 0.0,
        cost_micros: 0,
        event: serde_json::to_string(&event).unwrap_or_default(),
        response: String::new(),
        logs: String::new(),
        error,
        started_at: started_at.clone(),
        finished_at: String::new(),
        injected: false,
        exchanges: "[]".into(),
        replay_of: replay_of.clone(),
    };
    let guard = key.map(|k| {
        let mut interrupted = draft("interrupted", Some("interrupted by shutdown".into()));
        interrupted.logs =
            "[cortex-emu] the emulator shut down while this run was in flight\n".into();
        app.inflight.begin(interrupted, &k.id)
    });
    let wall = Instant::now();
    let mut result = app.executor.run(tool.runtime, job, bundle.clone()).await;
    // Tracebacks in the logs and the activation's error point at the user's files where they
    // are on this machine; the envelope keeps the platform's wording (`/var/task/...`).
    if tool.runtime == crate::registry::Runtime::Python {
        let local = format!("\"{}/", tool.folder.display());
        result.logs = result.logs.replace("\"/var/task/", &local);
        if let Some(e) = &mut result.error {
            *e = e.replace("\"/var/task/", &local);
        }
    }
    // An MCP tool answers with a bare JSON-RPC object by design: the missing-statusCode warning
    // is for function tools only.
    if tool.kind == crate::registry::ToolKind::Mcp {
        result.logs = result.logs.replace(crate::runtime::NO_STATUS_WARNING, "");
    }
    let wall_ms = wall.elapsed().as_secs_f64() * 1000.0;

    let (mut http, code, body) = outcome(&app.catalogue, &result);
    let mut text = envelope(code, body.as_deref());
    let duration_ms = if result.status == RunStatus::Timeout {
        wall_ms
    } else {
        result.duration_ms
    };
    let activation = Activation {
        status: match result.status {
            RunStatus::Success => "success",
            RunStatus::Error => "error",
            RunStatus::Timeout => "timeout",
        }
        .to_string(),
        status_code: result.status_code,
        duration_ms,
        cost_micros: compute_micros(&app.config, duration_ms) + fee_micros(&app.config, tool),
        response: text.clone(),
        logs: result.logs.clone(),
        error: result.error.clone(),
        finished_at: app.clock.rfc3339(),
        exchanges: serde_json::to_string(&result.exchanges).unwrap_or_else(|_| "[]".into()),
        ..draft("", None)
    };
    if key.is_some() && !app.quiet {
        // Local runs (`cortex-emu invoke`, test cases) print their own output.
        crate::domain::terminal::run_line(&activation);
    }
    let recorded = match key {
        None => Ok(()),
        Some(_) if !recording => {
            app.store
                .debit_in_memory(&activation.org_id, activation.cost_micros);
            Ok(())
        }
        Some(k) => record(app, activation, &k.id, guard).await,
    };
    if recorded.is_err() {
        // Nothing acknowledged is lost: a run the store could not keep is not answered as a
        // success; the client reads that it was not recorded (and not charged).
        let failed = refused(
            &app.catalogue,
            GatewayError::NotRecorded,
            activation_id.clone(),
        );
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

/// Records a finished run. It leaves the in-flight list in the same step as its record is
/// queued, so a forced shutdown records either the run or its interruption, never both.
async fn record(
    app: &App,
    activation: Activation,
    key_id: &str,
    guard: Option<crate::domain::inflight::InFlightGuard<'_>>,
) -> Result<(), StoreError> {
    // A copy for the live view only while someone watches (it is ~15 strings per run).
    let live = (app.activity.receiver_count() > 0).then(|| Arc::new(activation.clone()));
    let queued = app.store.record_run(activation, Some(key_id.to_string()));
    if let Some(g) = guard {
        g.finish();
    }
    let r = queued.await;
    if let (Ok(()), Some(live)) = (&r, live) {
        let _ = app.activity.send(live);
    }
    r
}

/// A run refused or voided by the emulator itself (its state cannot be written).
pub(crate) fn refused(catalogue: &Catalogue, err: GatewayError, activation_id: String) -> Executed {
    let body = catalogue.body(err);
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
pub(crate) fn job_for(
    tool: &Tool,
    version: &str,
    bundle: &Bundle,
    event: Value,
    activation_id: &str,
    org_slug: &str,
    secrets: &BTreeMap<String, String>,
    log_limit: usize,
    network: NetworkMode,
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
        fold: None,
        // Cassettes live beside the code, in `<tool>/http/` (not part of the bundle).
        network: tool.http.then(|| Network {
            mode: network,
            cassettes: tool.folder.join("http").to_string_lossy().into_owned(),
        }),
        cpython: tool.cpython.then(|| crate::protocol::CpythonRun {
            packages: tool
                .folder
                .join(crate::registry::CPYTHON_PACKAGES_DIR)
                .to_string_lossy()
                .into_owned(),
        }),
    }
}

/// What the platform answers for a run: HTTP status, the envelope's `statusCode` and `body`.
pub(crate) fn outcome(
    catalogue: &Catalogue,
    result: &RunResult,
) -> (StatusCode, i64, Option<String>) {
    if result.status == RunStatus::Timeout {
        let err = GatewayError::Timeout;
        return (err.status(), 408, Some(catalogue.body(err)));
    }
    (StatusCode::OK, result.status_code, result.body.clone())
}
