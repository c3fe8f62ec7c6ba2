//! The composition root: every face mounted on one router, the ready banner, and serving until
//! shutdown (the CLI's `serve`, and [`crate::Emulator`] for embedding).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::routing::{get, post};
use axum::Router;

use crate::config::{load_config, ServeOptions};
use crate::domain::app::{App, BuildOptions};
use crate::faces;

pub fn router(app: Arc<App>) -> Router {
    let sessions = Arc::new(faces::mcp::Sessions::default());
    faces::mcp::follow_reloads(&app, &sessions);
    Router::new()
        .route(
            "/api/v1/functions/{function_id}/invoke",
            post(faces::gateway::invoke_latest),
        )
        .route(
            "/api/v1/functions/{function_id}/{version}/invoke",
            post(faces::gateway::invoke_version),
        )
        .route_service(
            "/api/v1/marketplace/mcp",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    app.clone(),
                    faces::marketplace::require_key,
                ))
                .service(faces::marketplace::service(app.clone())),
        )
        .route("/_emulator/health", get(health))
        .route(
            "/mcp/{tool_id}",
            post(faces::mcp::post)
                .get(faces::mcp::get)
                .delete(faces::mcp::delete),
        )
        .route("/_emulator/openapi.json", get(faces::admin::openapi))
        .route("/_emulator/ui", get(faces::ui::to_index))
        .route("/_emulator/ui/", get(faces::ui::index))
        .route("/_emulator/ui/app.js", get(faces::ui::script))
        .route("/_emulator/ui/app.css", get(faces::ui::style))
        .merge(faces::admin::router(app.clone()))
        .nest("/identity", crate::planes::identity::router())
        .nest("/cortex-api", crate::planes::cortex_api::router(&app))
        .nest("/fold", crate::planes::fold::router(&app))
        .fallback(faces::gateway::not_found)
        .method_not_allowed_fallback(faces::gateway::method_not_allowed)
        .layer(axum::Extension(sessions))
        // `{tenant}.localhost` is the fold plane's dispatch by host, whatever the path.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::planes::fold::by_host,
        ))
        // Every route, planes included, passes the one fault check.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            faces::faults::inject,
        ))
        .layer(loopback_cors())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_secs(app.config.server.read_timeout_secs.max(1)),
        ))
        .with_state(app)
}

/// A plane served at the root of a port of its own: the same fault check, CORS and tracing as
/// on the main port.
fn plane_router(app: Arc<App>, plane: Router<Arc<App>>) -> Router {
    plane
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            faces::faults::inject,
        ))
        .layer(loopback_cors())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}

/// Binds the planes' own ports (`[planes.*] port`), before the banner, so a taken port is a
/// start-up error that names the setting.
async fn bind_planes(
    app: &Arc<App>,
) -> anyhow::Result<Vec<(&'static str, tokio::net::TcpListener, Router)>> {
    let mut out = Vec::new();
    let planes = [
        (
            "identity",
            "[planes.identity] port",
            app.config.planes.identity.port,
            crate::planes::identity::router(),
        ),
        (
            "cortex-api",
            "[planes.cortex_api] port",
            app.config.planes.cortex_api.port,
            crate::planes::cortex_api::router(app),
        ),
        (
            "fold",
            "[planes.fold] port",
            app.config.planes.fold.port,
            crate::planes::fold::router(app),
        ),
    ];
    for (name, setting, port, routes) in planes {
        let Some(port) = port else { continue };
        let host = &app.config.server.host;
        let addr: SocketAddr = format!("{host}:{port}")
            .parse()
            .with_context(|| format!("{host}:{port} is not an address to listen on"))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for the {name} plane ({setting})"))?;
        out.push((name, listener, plane_router(app.clone(), routes)));
    }
    Ok(out)
}

/// CORS for pages served from this machine (a local frontend on any port): preflights from
/// `http://localhost:*`, `http://127.0.0.1:*` and `http://[::1]:*` are answered; other origins
/// get no CORS headers, so a page elsewhere cannot drive the emulator from a browser.
fn loopback_cors() -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|origin, _| {
            let o = origin.as_bytes();
            ["http://localhost", "http://127.0.0.1", "http://[::1]"]
                .iter()
                .any(|host| {
                    o.strip_prefix(host.as_bytes())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b":"))
                })
        }))
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers(Any)
}

async fn health(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
) -> axum::response::Response {
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "tools": app.registry.list().len(),
        "uptime_ms": app.started.elapsed().as_millis() as u64,
        "workers": app.executor.worker_pids(),
        "runs_in_flight": app.inflight.len(),
        "problems": app.registry.problems(),
    });
    faces::reply::json_response(axum::http::StatusCode::OK, body.to_string())
}

fn banner(app: &App, addr: SocketAddr, startup: Duration) -> String {
    let tools = app.registry.list();
    let mut s = format!(
        "cortex-emu {} ready on http://{addr} ({}, profile {:?}, {:.0} ms)\n",
        env!("CARGO_PKG_VERSION"),
        crate::domain::terminal::count(tools.len(), "tool"),
        app.config.profile.wording,
        startup.as_secs_f64() * 1000.0
    )
    .replace("Cortexone", "cortexone")
    .replace("Rival", "rival");
    // Columns as wide as their longest entry, so long names neither break nor pad the table.
    let name_width = tools
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    let id_width = tools
        .iter()
        .map(|t| t.id.chars().count())
        .max()
        .unwrap_or(0);
    let runtime_width = tools
        .iter()
        .map(|t| t.runtime_id().len())
        .max()
        .unwrap_or(0);
    for t in &tools {
        let version = app
            .store
            .published(&t.id)
            .first()
            .map(|p| p.version.clone())
            .unwrap_or_else(|| "draft".into());
        s.push_str(&format!(
            "  tool {:<name_width$}  id {:<id_width$}  {:<runtime_width$}  {}\n",
            t.name,
            t.id,
            t.runtime_id(),
            version
        ));
    }
    for p in app.registry.problems() {
        s.push_str(&format!("  skipped folder {}: {}\n", p.folder, p.message));
    }
    if let Some(org) = app.config.organizations.first() {
        if let Some(k) = org.keys.first() {
            s.push_str(&format!("  dev key ({}): {}\n", org.slug, k.key));
        }
    }
    s.push_str(&format!("  admin token: {}\n", app.admin_token));
    s.push_str(&format!(
        "  dashboard: http://{addr}{}#token={}\n",
        crate::faces::ui::PATH,
        app.admin_token
    ));
    s.push_str(&format!(
        "  planes: http://{addr}/identity  http://{addr}/cortex-api  http://{addr}/fold\n"
    ));
    let calling_out = tools.iter().filter(|t| t.http).count();
    if calling_out > 0 {
        let what = match app.config.network.mode {
            crate::protocol::NetworkMode::Replay => "answered from their http/ cassettes",
            crate::protocol::NetworkMode::Record => {
                "the real network, every exchange saved to their http/ cassettes"
            }
            crate::protocol::NetworkMode::Live => "the real network, nothing saved",
        };
        s.push_str(&format!(
            "  outbound HTTP: {} ({calling_out} tool{} with http = true: {what})\n",
            app.config.network.mode.as_str(),
            if calling_out == 1 { "" } else { "s" },
        ));
    }
    s
}

/// Binds the configured address (a clear error when it is taken).
pub async fn bind(app: &App) -> anyhow::Result<tokio::net::TcpListener> {
    let (host, port) = (&app.config.server.host, app.config.server.port);
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .with_context(|| format!("{host}:{port} is not an address to listen on"))?;
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another emulator running? try --port 0)")
    })
}

/// How long without a finished job before the server counts as idle.
const IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Gives back the server's pages of the binary each time it falls idle (issue 15: idle memory):
/// what starting needed (the configuration, migrations, scanning the tools) is never read again,
/// and the code a burst of requests used is mapped back, a minor fault a page, when the next
/// one comes. Runs for as long as the server does.
async fn release_pages_when_idle(app: &App) {
    let mut seen = app.executor.finished();
    let mut released = false;
    loop {
        tokio::time::sleep(IDLE_AFTER).await;
        let now = app.executor.finished();
        if now != seen {
            (seen, released) = (now, false);
        } else if !released {
            released = true;
            let _ = tokio::task::spawn_blocking(crate::executor::pages::release_binary_pages).await;
        }
    }
}

/// Starts what a served emulator runs beside its router: warm workers, the store's tool table
/// and hot reload. The returned watcher stops watching when dropped.
pub fn start_background(app: &Arc<App>, warn: bool) -> Option<crate::domain::reload::WatchHandle> {
    let runtimes: std::collections::HashSet<_> =
        app.registry.list().iter().map(|t| t.runtime).collect();
    app.executor.prewarm(runtimes);
    app.track_tools_in_store();
    let checking = app.clone();
    tokio::spawn(async move {
        crate::domain::reload::check_at_start(&checking).await;
        release_pages_when_idle(&checking).await;
    });
    match crate::domain::reload::spawn(app.clone()) {
        Ok(mut w) => {
            match crate::domain::dotenv::watch(app.clone()) {
                Ok(env) => w.also(env),
                Err(e) => tracing::warn!("the .env file is not watched: {e}"),
            }
            Some(w)
        }
        Err(e) => {
            if warn {
                eprintln!(
                    "warning: hot reload is off: cannot watch {}: {e}",
                    app.config.functions.dir.display()
                );
            }
            None
        }
    }
}

/// The fold plane's dev-loop folder (`[fold] dir`): deployed now, before the first request,
/// then watched for as long as the returned handle lives.
pub async fn start_fold_folder(
    app: &Arc<App>,
    warn: bool,
) -> Option<crate::domain::reload::WatchHandle> {
    match crate::planes::fold::folder::start(app.clone()).await? {
        Ok(handle) => Some(handle),
        Err(e) => {
            // A missing folder was already reported by the plane, with a hint.
            if warn && !matches!(e.kind, notify::ErrorKind::PathNotFound) {
                eprintln!("warning: the fold dir is not watched: {e}");
            }
            None
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves (mini-redis's `run(listener,
/// shutdown)`), then lets runs in flight finish for up to `grace`, records the ones still
/// running as interrupted, and closes the store.
pub async fn run_until(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let read_timeout = Duration::from_secs(app.config.server.read_timeout_secs.max(1));
    let server = tokio::spawn(faces::connections::serve(
        listener,
        router(app.clone()),
        read_timeout,
        async {
            let _ = stop_rx.await;
        },
    ));
    shutdown.await;
    let _ = stop_tx.send(());
    tokio::select! {
        _ = server => {}
        _ = grace => {}
        _ = tokio::time::sleep(Duration::from_secs(30)) => {}
    }
    for (mut a, key_id) in app.inflight.drain() {
        a.finished_at = app.clock.rfc3339();
        let _ = app.store.record_run(a, Some(key_id)).await;
    }
    app.store.close();
    Ok(())
}

/// Runs the emulator until Ctrl-C or SIGTERM (the CLI's `serve`).
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let config = load_config(&opts)?;
    let app = App::build(config, &BuildOptions::default())?;
    let listener = bind(&app).await?;
    let addr = listener.local_addr()?;
    let planes = bind_planes(&app).await?;
    let _watch = start_background(&app, true);
    let _fold_watch = start_fold_folder(&app, true).await;
    let stops = stop_requests()?;
    print!("{}", banner(&app, addr, t0.elapsed()));
    let (stop_planes, planes_stopped) = tokio::sync::watch::channel(false);
    let read_timeout = Duration::from_secs(app.config.server.read_timeout_secs.max(1));
    for (name, plane_listener, plane) in planes {
        println!(
            "  {name} plane: http://{} (also under /{name})",
            plane_listener.local_addr()?
        );
        let mut stopped = planes_stopped.clone();
        tokio::spawn(faces::connections::serve(
            plane_listener,
            plane,
            read_timeout,
            async move {
                let _ = stopped.changed().await;
            },
        ));
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _runtime_file = crate::domain::running::announce(&app.config, addr);
    let shutdown = {
        let mut requests = stops.clone();
        async move {
            let _ = requests.wait_for(|n| *n >= 1).await;
            let _ = stop_planes.send(true);
            eprintln!(
                "cortex-emu: shutting down; waiting for runs in flight (Ctrl-C again to stop now)"
            );
        }
    };
    let grace = {
        let mut requests = stops;
        async move {
            let _ = requests.wait_for(|n| *n >= 2).await;
        }
    };
    let result = run_until(app, listener, shutdown, grace).await;
    crate::domain::terminal::flush();
    result
}

/// Counts requests to stop from the moment it is called: every Ctrl-C or SIGTERM adds one (the
/// first drains, the second stops at once), and, with `CORTEX_EMU_STDIN_LIFELINE=1` (for
/// harnesses that embed the emulator as a child process), the end of standard input counts as
/// both, since nobody is left to wait for.
///
/// The handlers are installed here, before the ready line, so a signal sent as soon as the
/// banner is out is never lost to the default action, and a second signal sent right after
/// "shutting down" is counted even if nothing polls for it yet. Standard input is read on a
/// plain thread, not tokio's blocking pool, whose shutdown would wait for that read forever.
fn stop_requests() -> std::io::Result<tokio::sync::watch::Receiver<u32>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (count, requests) = tokio::sync::watch::channel(0u32);
    let count = Arc::new(count);
    let signals = count.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = interrupt.recv() => {}
                Some(()) = terminate.recv() => {}
                else => break,
            }
            signals.send_modify(|n| *n += 1);
        }
    });
    if std::env::var_os("CORTEX_EMU_STDIN_LIFELINE").is_some_and(|v| !v.is_empty()) {
        std::thread::spawn(move || {
            use std::io::Read;
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 64];
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            count.send_modify(|n| *n = (*n).max(2));
        });
    }
    Ok(requests)
}
