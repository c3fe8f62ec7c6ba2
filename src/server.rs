//! Start-up, the router, the ready line and shutdown.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use crate::config::{Config, KeyConfig, OrganizationConfig};
use crate::executor::{Executor, ExecutorOptions};
use crate::registry::{LoadDefaults, Registry, Tool};
use crate::responses::Catalogue;
use crate::store::{self, Activation, KeyRecord, Store};

/// The organization and key used when `emulator.toml` configures none.
pub const DEFAULT_ORG: &str = "dev";
pub const DEFAULT_KEY: &str = "RIV_dev_local_key_0000";

/// Command-line overrides of the configuration.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub config: Option<PathBuf>,
    pub functions: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub state: Option<PathBuf>,
    pub in_memory: bool,
}

pub struct AppState {
    pub config: Config,
    pub registry: Arc<Registry>,
    pub store: Arc<Store>,
    pub executor: Arc<Executor>,
    pub catalogue: Catalogue,
    pub secrets: BTreeMap<String, String>,
    pub inflight: InFlight,
    pub started: Instant,
    pub functions_dir: PathBuf,
    pub defaults: LoadDefaults,
    pub admin_token: String,
    /// Every recorded activation, for the live tail.
    pub activity: tokio::sync::broadcast::Sender<Arc<Activation>>,
    pub mcp_sessions: crate::mcp::Sessions,
}

/// Where the generated admin token is kept for the CLI (beside the state file).
pub fn admin_token_path(config: &Config, opts: &ServeOptions) -> PathBuf {
    let state = opts
        .state
        .clone()
        .unwrap_or_else(|| config.resolve(&config.state.path));
    state.with_file_name("admin-token")
}

/// The admin token: configured, else the one written by an earlier start, else a new one.
fn admin_token(config: &Config, opts: &ServeOptions) -> String {
    if let Some(t) = &config.server.admin_token {
        return t.clone();
    }
    let path = admin_token_path(config, opts);
    if !opts.in_memory {
        if let Ok(t) = std::fs::read_to_string(&path) {
            if !t.trim().is_empty() {
                return t.trim().to_string();
            }
        }
    }
    let token = format!("cemu_admin_{}", uuid::Uuid::new_v4().simple());
    if !opts.in_memory {
        use std::os::unix::fs::OpenOptionsExt;
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, token.as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "warning: cannot save the admin token to {}: {e}",
                path.display()
            );
        }
    }
    token
}

/// Runs under way, so a forced shutdown can record them as interrupted.
#[derive(Default)]
pub struct InFlight {
    runs: Mutex<HashMap<String, (Activation, String)>>,
}

pub struct InFlightGuard<'a> {
    owner: &'a InFlight,
    id: String,
}

impl InFlight {
    #[allow(clippy::too_many_arguments)]
    pub fn begin(
        &self,
        id: &str,
        key: &KeyRecord,
        tool: &Tool,
        version: &str,
        code_hash: &str,
        event: &Value,
        started_at: &str,
    ) -> InFlightGuard<'_> {
        let a = Activation {
            id: id.to_string(),
            org_id: key.org_id.clone(),
            tool_id: tool.id.clone(),
            version: version.to_string(),
            code_hash: code_hash.to_string(),
            runtime: tool.runtime.id().to_string(),
            status: "interrupted".into(),
            status_code: 500,
            duration_ms: 0.0,
            cost_micros: 0,
            event: serde_json::to_string(event).unwrap_or_default(),
            response: String::new(),
            logs: "[cortex-emu] the emulator shut down while this run was in flight\n".into(),
            error: Some("interrupted by shutdown".into()),
            started_at: started_at.to_string(),
            finished_at: String::new(),
        };
        self.runs
            .lock()
            .unwrap()
            .insert(id.to_string(), (a, key.id.clone()));
        InFlightGuard {
            owner: self,
            id: id.to_string(),
        }
    }

    fn drain(&self) -> Vec<(Activation, String)> {
        self.runs.lock().unwrap().drain().map(|(_, v)| v).collect()
    }
}

impl InFlightGuard<'_> {
    pub fn finish(self) {}
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.owner.runs.lock().unwrap().remove(&self.id);
    }
}

/// Reads the configuration: `--config`, else `./emulator.toml` when present, else defaults.
pub fn load_config(opts: &ServeOptions) -> anyhow::Result<Config> {
    let path = match &opts.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from("emulator.toml")).filter(|p| p.is_file()),
    };
    let mut config = Config::load(path.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(h) = &opts.host {
        config.server.host = h.clone();
    }
    if let Some(p) = opts.port {
        config.server.port = p;
    }
    if config.organizations.is_empty() {
        config.organizations.push(OrganizationConfig {
            slug: DEFAULT_ORG.into(),
            name: Some("Local development".into()),
            balance: None,
            keys: vec![KeyConfig {
                name: "dev".into(),
                key: DEFAULT_KEY.into(),
                expires: None,
            }],
        });
    }
    Ok(config)
}

/// Everything a running emulator holds, built from the configuration.
pub fn build_state(config: Config, opts: &ServeOptions) -> anyhow::Result<Arc<AppState>> {
    let functions_dir = match &opts.functions {
        Some(d) => d.clone(),
        None => config.resolve(&config.functions.dir),
    };
    let store = if opts.in_memory {
        Store::open(None)?
    } else {
        let path = match &opts.state {
            Some(p) => p.clone(),
            None => config.resolve(&config.state.path),
        };
        Store::open(Some(&path))
            .with_context(|| format!("cannot open the state database {}", path.display()))?
    };
    store.seed(&config, &config.organizations.clone())?;
    if let Some(mb) = config.state.max_size_mb {
        store.limit_size(mb.saturating_mul(1024 * 1024))?;
    }
    let defaults = LoadDefaults {
        organization: config.organizations[0].slug.clone(),
    };
    let registry = Arc::new(Registry::scan(&functions_dir, &defaults));
    if !functions_dir.is_dir() && std::fs::create_dir_all(&functions_dir).is_ok() {
        eprintln!(
            "note: created the empty functions folder {}; tools added there are picked up",
            functions_dir.display()
        );
    }
    let (secrets, missing) = config.secret_values();
    for m in missing {
        eprintln!("warning: secret {m} has no value; tools that attach it will not see it");
    }
    let executor = Executor::new(ExecutorOptions::new(config.executor.workers));
    let admin_token = admin_token(&config, opts);
    let catalogue = Catalogue {
        wording: config.profile.wording,
        overrides: config.responses.clone(),
    };
    Ok(Arc::new(AppState {
        config,
        registry,
        store,
        executor,
        catalogue,
        secrets,
        inflight: InFlight::default(),
        started: Instant::now(),
        functions_dir,
        defaults,
        admin_token,
        activity: tokio::sync::broadcast::channel(1024).0,
        mcp_sessions: Default::default(),
    }))
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/api/v1/functions/{function_id}/invoke",
            post(crate::gateway::invoke_latest),
        )
        .route(
            "/api/v1/functions/{function_id}/{version}/invoke",
            post(crate::gateway::invoke_version),
        )
        .route_service(
            "/api/v1/marketplace/mcp",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    crate::marketplace::require_key,
                ))
                .service(crate::marketplace::service(state.clone())),
        )
        .route("/_emulator/health", get(health))
        .route(
            "/mcp/{tool_id}",
            post(crate::mcp::post)
                .get(crate::mcp::get)
                .delete(crate::mcp::delete),
        )
        .route("/_emulator/openapi.json", get(crate::admin::openapi))
        .merge(crate::admin::router())
        .fallback(crate::gateway::not_found)
        .method_not_allowed_fallback(crate::gateway::method_not_allowed)
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_secs(state.config.server.read_timeout_secs.max(1)),
        ))
        .with_state(state)
}

async fn health(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> axum::response::Response {
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "tools": state.registry.list().len(),
        "uptime_ms": state.started.elapsed().as_millis() as u64,
        "workers": state.executor.worker_pids(),
        "problems": state.registry.problems(),
    });
    crate::responses::json_response(axum::http::StatusCode::OK, body.to_string())
}

fn banner(state: &AppState, addr: SocketAddr, startup: Duration) -> String {
    let tools = state.registry.list();
    let mut s = format!(
        "cortex-emu {} ready on http://{addr} ({} tools, profile {:?}, {:.0} ms)\n",
        env!("CARGO_PKG_VERSION"),
        tools.len(),
        state.config.profile.wording,
        startup.as_secs_f64() * 1000.0
    )
    .replace("Cortexone", "cortexone")
    .replace("Rival", "rival");
    for t in &tools {
        let version = state
            .store
            .published(&t.id)
            .first()
            .map(|p| p.version.clone())
            .unwrap_or_else(|| "draft".into());
        s.push_str(&format!(
            "  tool {:<24} id {:<24} {:<12} {}\n",
            t.name,
            t.id,
            t.runtime.id(),
            version
        ));
    }
    for p in state.registry.problems() {
        s.push_str(&format!("  skipped folder {}: {}\n", p.folder, p.message));
    }
    if let Some(org) = state.config.organizations.first() {
        if let Some(k) = org.keys.first() {
            s.push_str(&format!("  dev key ({}): {}\n", org.slug, k.key));
        }
    }
    s.push_str(&format!("  admin token: {}\n", state.admin_token));
    s
}

/// Runs the emulator until Ctrl-C or SIGTERM.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let config = load_config(&opts)?;
    let state = build_state(config, &opts)?;
    let addr: SocketAddr = format!("{}:{}", state.config.server.host, state.config.server.port)
        .parse()
        .with_context(|| {
            format!(
                "{}:{} is not an address to listen on",
                state.config.server.host, state.config.server.port
            )
        })?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another emulator running? try --port 0)")
    })?;
    let addr = listener.local_addr()?;
    let runtimes: std::collections::HashSet<_> =
        state.registry.list().iter().map(|t| t.runtime).collect();
    state.executor.prewarm(runtimes);
    for t in state.registry.list() {
        if state.store.org_by_slug(&t.organization).is_none() {
            eprintln!("warning: tool {} belongs to organization {:?}, which emulator.toml does not define", t.id, t.organization);
        }
        let _ = state.store.upsert_tool(&t).await;
    }
    let _watch = match crate::registry::watch::spawn(
        state.clone(),
        state.functions_dir.clone(),
        state.defaults.clone(),
    ) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!(
                "warning: hot reload is off: cannot watch {}: {e}",
                state.functions_dir.display()
            );
            None
        }
    };
    print!("{}", banner(&state, addr, t0.elapsed()));
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    let read_timeout = Duration::from_secs(state.config.server.read_timeout_secs.max(1));
    let server = tokio::spawn(crate::connections::serve(
        listener,
        app,
        read_timeout,
        async {
            let _ = stop_rx.await;
        },
    ));
    shutdown_signal().await;
    eprintln!("cortex-emu: shutting down; waiting for runs in flight (Ctrl-C again to stop now)");
    let _ = stop_tx.send(());
    tokio::select! {
        _ = server => {}
        _ = shutdown_signal() => {}
        _ = tokio::time::sleep(Duration::from_secs(30)) => {}
    }
    for (a, key_id) in state.inflight.drain() {
        let mut a = a;
        a.finished_at = store::now_rfc3339();
        let _ = state.store.record_run(a, Some(key_id)).await;
    }
    state.store.close();
    Ok(())
}

/// Ctrl-C, SIGTERM, or (with `CORTEX_EMU_STDIN_LIFELINE=1`, for harnesses that embed the
/// emulator as a child process) the end of standard input.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    let lifeline = async {
        if std::env::var_os("CORTEX_EMU_STDIN_LIFELINE").is_some() {
            use tokio::io::AsyncReadExt;
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 64];
            while let Ok(n) = stdin.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
        _ = lifeline => {}
    }
}
