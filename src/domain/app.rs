//! The application state: everything a running emulator holds, built once from a resolved
//! configuration. Faces and domain rules read it; engines never see it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use crate::catalogue::Catalogue;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::events::{ToolEvent, ToolEvents};
use crate::domain::faults::Faults;
use crate::domain::inflight::InFlight;
use crate::executor::{Executor, ExecutorOptions};
use crate::registry::{LoadDefaults, Registry};
use crate::store::{Activation, Store};

pub struct App {
    /// Resolved: every path in it is absolute.
    pub config: Config,
    pub registry: Arc<Registry>,
    pub store: Arc<Store>,
    pub executor: Arc<Executor>,
    pub catalogue: Catalogue,
    /// Secret name → value, resolved at start.
    /// Secret values by name, re-read when the `.env` file changes (see [`crate::domain::dotenv`]).
    pub secrets: std::sync::RwLock<Arc<BTreeMap<String, String>>>,
    pub inflight: InFlight,
    pub started: Instant,
    pub defaults: LoadDefaults,
    pub admin_token: String,
    /// Every recorded activation, for the live tail.
    pub activity: tokio::sync::broadcast::Sender<Arc<Activation>>,
    /// What hot reload announces (MCP and the store's tool table listen).
    pub tool_events: ToolEvents,
    pub faults: Faults,
    pub clock: Arc<Clock>,
    /// No run or reload lines on the terminal (an emulator embedded in a test binary).
    pub quiet: bool,
}

/// How [`App::build`] finds the worker binary; `None` is the running executable (or
/// `CORTEX_EMU_WORKER_BIN`).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub worker_program: Option<std::path::PathBuf>,
    /// Print start-up notes and warnings on stderr (the CLI does; an embedding test does not).
    pub quiet: bool,
}

impl App {
    /// Everything a running emulator holds, built from a configuration that
    /// [`crate::config::load_config`] resolved.
    pub fn build(config: Config, options: &BuildOptions) -> anyhow::Result<Arc<App>> {
        let say = |line: String| {
            if !options.quiet {
                eprintln!("{line}");
            }
        };
        let clock = Arc::new(Clock::default());
        let store = open_store(&config, clock.clone())?;
        let functions_dir = config.functions.dir.clone();
        let defaults = LoadDefaults {
            organization: config.organizations[0].slug.clone(),
        };
        // Created before the scan, so a missing folder is one note, not also a read error.
        if !functions_dir.is_dir() && std::fs::create_dir_all(&functions_dir).is_ok() {
            say(format!(
                "note: created the empty functions folder {}; tools added there are picked up",
                functions_dir.display()
            ));
        }
        let registry = Arc::new(Registry::scan(&functions_dir, &defaults));
        let (secrets, missing) = config.secret_values();
        for m in missing {
            say(format!(
                "warning: secret {m} has no value; tools that attach it will not see it"
            ));
        }
        let mut executor_options = ExecutorOptions::new(config.executor.workers);
        executor_options.cpython = config.cpython_path();
        executor_options.lua_in_process =
            config.executor.lua == crate::config::LuaIsolation::Thread;
        if let Some(p) = &options.worker_program {
            executor_options.program = p.clone();
        }
        let executor = Executor::new(executor_options);
        let admin_token = admin_token(&config, &say);
        let catalogue = Catalogue {
            wording: config.profile.wording,
            overrides: config.responses.clone(),
        };
        let faults = Faults::from_config(&config.faults).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Arc::new(App {
            config,
            registry,
            store,
            executor,
            catalogue,
            secrets: std::sync::RwLock::new(Arc::new(secrets)),
            inflight: InFlight::default(),
            started: Instant::now(),
            defaults,
            admin_token,
            activity: tokio::sync::broadcast::channel(1024).0,
            tool_events: crate::domain::events::channel(),
            faults,
            clock,
            quiet: options.quiet,
        }))
    }

    /// One line on the terminal (reloads, publishes, faults), unless quiet.
    pub fn say(&self, line: &str) {
        if !self.quiet {
            crate::domain::terminal::reload_line(line);
        }
    }

    /// Keeps the store's tool table in step with the registry: the tools found at start now,
    /// and every reload from then on (through [`ToolEvent`]s).
    pub fn track_tools_in_store(self: &Arc<Self>) {
        let mut events = self.tool_events.subscribe();
        let app = self.clone();
        tokio::spawn(async move {
            for t in app.registry.list() {
                let _ = app.store.upsert_tool(&t).await;
            }
            loop {
                match events.recv().await {
                    Ok(ToolEvent::Reloaded(t)) => {
                        let _ = app.store.upsert_tool(&t).await;
                    }
                    Ok(ToolEvent::Removed(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    /// Returns the state to what `emulator.toml` seeds: organizations, keys, balances, versions
    /// and activations are wiped and seeded again; faults are cleared and the clock is real.
    pub async fn reset(&self) -> anyhow::Result<()> {
        self.store.wipe().await?;
        let orgs = self.config.organizations.clone();
        let store = self.store.clone();
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || store.seed(&config, &orgs)).await??;
        self.faults.clear();
        self.clock.real();
        Ok(())
    }
}

fn open_store(config: &Config, clock: Arc<Clock>) -> anyhow::Result<Arc<Store>> {
    let import = match &config.state.import {
        Some(dir) => {
            let file = dir.join(crate::store::EXPORT_FILE);
            if !file.is_file() {
                anyhow::bail!(
                    "{} holds no export (no {})\n  hint: write one with `cortex-emu export {}`",
                    dir.display(),
                    crate::store::EXPORT_FILE,
                    dir.display()
                );
            }
            Some(file)
        }
        None => None,
    };
    let path = (!config.state.in_memory).then_some(config.state.path.as_path());
    let store = Store::open(path, import.as_deref(), clock).with_context(|| {
        format!(
            "cannot open the state database {}",
            path.map(|p| p.display().to_string())
                .unwrap_or_else(|| "in memory".into())
        )
    })?;
    store.seed(config, &config.organizations)?;
    if let Some(mb) = config.state.max_size_mb {
        store.limit_size(mb.saturating_mul(1024 * 1024))?;
    }
    Ok(store)
}

/// The admin token: configured, else the one written by an earlier start, else a new one.
fn admin_token(config: &Config, say: &dyn Fn(String)) -> String {
    if let Some(t) = &config.server.admin_token {
        return t.clone();
    }
    let path = config.admin_token_path();
    let persistent = !config.state.in_memory;
    if persistent {
        if let Ok(t) = std::fs::read_to_string(&path) {
            if !t.trim().is_empty() {
                return t.trim().to_string();
            }
        }
    }
    let token = format!("cemu_admin_{}", uuid::Uuid::new_v4().simple());
    if persistent {
        use std::os::unix::fs::OpenOptionsExt;
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, token.as_bytes()));
        if let Err(e) = written {
            say(format!(
                "warning: cannot save the admin token to {}: {e}",
                path.display()
            ));
        }
    }
    token
}
