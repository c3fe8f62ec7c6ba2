//! The emulator as a library, for another crate's tests:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let emu = cortex_emu::Emulator::builder()
//!     .functions("sample-functions")
//!     .in_memory()
//!     .start()
//!     .await?;
//! let reply = reqwest::Client::new()
//!     .post(format!("{}/api/v1/functions/hello-python/invoke", emu.url()))
//!     .header("Authorization", emu.key())
//!     .body(r#"{"event": {"name": "Ada"}}"#)
//!     .send()
//!     .await?;
//! assert_eq!(reply.status(), 200);
//! emu.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Handlers run in worker processes of the `cortex-emu` binary. In another crate's test binary
//! the running executable is the test harness, so the builder looks for the binary: the
//! [`EmulatorBuilder::worker_program`] given, else `CORTEX_EMU_WORKER_BIN`, else a `cortex-emu`
//! beside the running executable or one folder up (`target/debug/` seen from
//! `target/debug/deps/`), else `cortex-emu` on `PATH` (`cargo install cortex-emu`).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::{load_config, ServeOptions};
use crate::domain::app::{App, BuildOptions};

type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Configures an emulator; see the module documentation.
#[derive(Default)]
pub struct EmulatorBuilder {
    opts: ServeOptions,
    worker_program: Option<PathBuf>,
    listener: Option<tokio::net::TcpListener>,
    shutdown: Option<Shutdown>,
}

/// A running emulator. Dropping it without [`Emulator::shutdown`] stops the server too, but
/// without waiting for runs in flight.
pub struct Emulator {
    url: String,
    key: String,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _watch: Option<crate::domain::reload::WatchHandle>,
    _fold_watch: Option<crate::domain::reload::WatchHandle>,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first configured key of the first organization (the dev key by default).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The admin API's bearer token.
    pub fn admin_token(&self) -> &str {
        &self.app.admin_token
    }

    /// Stops accepting requests, lets runs in flight finish, and closes the state.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.served.take() {
            Some(served) => served.await?,
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl EmulatorBuilder {
    /// The folder of tools (default: the configuration's, `sample-functions`).
    pub fn functions(mut self, dir: impl Into<PathBuf>) -> Self {
        self.opts.functions = Some(dir.into());
        self
    }

    /// An `emulator.toml` to read (default: none; built-in defaults).
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.opts.config = Some(path.into());
        self
    }

    /// Keep the state in memory (nothing is written).
    pub fn in_memory(mut self) -> Self {
        self.opts.in_memory = true;
        self
    }

    /// The SQLite state file (default: the configuration's).
    pub fn state(mut self, path: impl Into<PathBuf>) -> Self {
        self.opts.state = Some(path.into());
        self
    }

    /// The `cortex-emu` binary that worker processes run.
    pub fn worker_program(mut self, path: impl Into<PathBuf>) -> Self {
        self.worker_program = Some(path.into());
        self
    }

    /// Serve on this listener (default: a new one on 127.0.0.1 with an ephemeral port).
    pub fn listener(mut self, listener: tokio::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Stop when `signal` resolves, as well as on [`Emulator::shutdown`].
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Builds the state, binds, and starts serving in the background.
    pub async fn start(self) -> anyhow::Result<Emulator> {
        // Without an explicit config file, the working directory's `emulator.toml` is not read:
        // a library user gets the documented defaults, not whatever lies in their folder.
        let mut opts = self.opts;
        opts.ignore_working_dir_config = opts.config.is_none();
        if self.listener.is_none() && opts.port.is_none() {
            opts.port = Some(0);
        }
        let config = load_config(&opts)?;
        let worker_program = match self.worker_program {
            Some(p) => p,
            None => find_worker_program()?,
        };
        let build = BuildOptions {
            worker_program: Some(worker_program),
            quiet: true,
        };
        let app = App::build(config, &build)?;
        let listener = match self.listener {
            Some(l) => l,
            None => crate::server::bind(&app).await?,
        };
        let url = format!("http://{}", listener.local_addr()?);
        let key = app
            .config
            .organizations
            .first()
            .and_then(|o| o.keys.first())
            .map(|k| k.key.clone())
            .unwrap_or_default();
        let watch = crate::server::start_background(&app, false);
        let fold_watch = crate::server::start_fold_folder(&app, false).await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let extra = self.shutdown;
        let signal = async move {
            match extra {
                Some(extra) => {
                    tokio::select! {
                        _ = stopped => {}
                        _ = extra => {}
                    }
                }
                None => {
                    let _ = stopped.await;
                }
            }
        };
        let served = tokio::spawn(crate::server::run_until(
            app.clone(),
            listener,
            signal,
            std::future::pending::<()>(),
        ));
        Ok(Emulator {
            url,
            key,
            app,
            stop: Some(stop),
            served: Some(served),
            _watch: watch,
            _fold_watch: fold_watch,
        })
    }
}

/// Makes the running executable able to serve as the worker binary: call it first thing in
/// `main`. When the process was started as a worker (`<exe> __worker <runtime>`), it runs the
/// worker and exits; otherwise it returns at once. Such a binary should also install
/// [`crate::executor::alloc::CountingAlloc`] as its global allocator, or per-run memory limits
/// are not enforced.
pub fn run_worker_if_requested() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("__worker") {
        return;
    }
    let name = args.next();
    if name.as_deref() == Some(crate::executor::CPYTHON_WORKER) {
        let Some(interpreter) = args.next() else {
            eprintln!("__worker python:cpython needs the interpreter's path");
            std::process::exit(2)
        };
        crate::executor::entry::worker_main(
            crate::registry::Runtime::Python,
            Some(PathBuf::from(interpreter)),
        )
    }
    let runtime = name.and_then(|r| crate::registry::Runtime::from_name(&r));
    match runtime {
        Some(r) => crate::executor::entry::worker_main(r, None),
        None => {
            eprintln!("__worker needs a runtime: python, javascript or lua");
            std::process::exit(2)
        }
    }
}

/// The `cortex-emu` binary for worker processes (see the module documentation for the order).
fn find_worker_program() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("CORTEX_EMU_WORKER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok();
    if let Some(exe) = &exe {
        if exe.file_stem().is_some_and(|s| s == "cortex-emu") {
            return Ok(exe.clone());
        }
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join("cortex-emu");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("cortex-emu"))
            .find(|p| p.is_file())
    });
    on_path.ok_or_else(|| {
        anyhow::anyhow!(
            "cannot find the cortex-emu binary that runs handlers\n  hint: `cargo install cortex-emu`, set CORTEX_EMU_WORKER_BIN, or call .worker_program(path)"
        )
    })
}
