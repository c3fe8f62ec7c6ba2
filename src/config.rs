//! `emulator.toml`: every key optional, unknown keys and bad values refused with file, line and a
//! hint (the emulator refuses to start rather than guess).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::catalogue::Wording;

/// The organization and key used when `emulator.toml` configures none.
pub const DEFAULT_ORG: &str = "dev";
pub const DEFAULT_KEY: &str = "RIV_dev_local_key_0000";

/// Every environment variable the emulator itself reads (handlers see none of them, only their
/// attached secrets). `[secrets]` entries name further variables of the user's choosing.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "CORTEX_EMU_LOG",
        "tracing filter for the server's log (e.g. `debug`, `cortex_emu=trace`)",
    ),
    (
        "CORTEX_EMU_WORKER_BIN",
        "the `cortex-emu` binary that worker processes run (default: the running executable; \
         set it when embedding the emulator in another crate's tests)",
    ),
    (
        "CORTEX_EMU_STDIN_LIFELINE",
        "when set, the server also stops when its standard input closes (for harnesses that run \
         it as a child process)",
    ),
    (
        HTTP_MODE_ENV,
        "outbound HTTP of tools with `http = true`: `replay` (from cassettes), `record` or \
         `live` (overrides [network] mode)",
    ),
    (
        "CORTEX_EMU_PIP",
        "the pip that installs Python tools' requirements.txt (default: `python3 -m pip`)",
    ),
    (
        "CORTEX_EMU_CPYTHON",
        "the CPython for `runtime = \"python:cpython\"` tools when [python] cpython is unset (default: a CPython 3.13 on PATH or in pyenv)",
    ),
    ("NO_COLOR", "no colour in terminal output (no-color.org)"),
];

/// Command-line overrides of the configuration, applied once by [`load_config`].
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub config: Option<PathBuf>,
    pub functions: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub state: Option<PathBuf>,
    pub in_memory: bool,
    /// `serve --import DIR`.
    pub import: Option<PathBuf>,
    /// Do not read `./emulator.toml` when `config` is unset (the library's defaults).
    pub ignore_working_dir_config: bool,
}

/// Reads the configuration (`--config`, else `./emulator.toml` when present, else defaults),
/// applies the command-line overrides and resolves every path to an absolute one, once: nothing
/// later depends on the working directory.
/// The variable that overrides `[network] mode`.
pub const HTTP_MODE_ENV: &str = "CORTEX_EMU_HTTP_MODE";

pub fn load_config(opts: &ServeOptions) -> Result<Config, ConfigError> {
    let path = match &opts.config {
        Some(p) => Some(p.clone()),
        None if opts.ignore_working_dir_config => None,
        None => Some(PathBuf::from("emulator.toml")).filter(|p| p.is_file()),
    };
    let mut config = Config::load(path.as_deref())?;
    if let Some(h) = &opts.host {
        config.server.host = h.clone();
    }
    if let Some(p) = opts.port {
        config.server.port = p;
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    // Command-line paths are relative to the working directory, config paths to the config.
    config.functions.dir = match &opts.functions {
        Some(d) => absolute(&cwd.join(d)),
        None => absolute(&config.resolve(&config.functions.dir)),
    };
    config.state.path = match &opts.state {
        Some(p) => absolute(&cwd.join(p)),
        None => absolute(&config.resolve(&config.state.path)),
    };
    config.fold.dir = config
        .fold
        .dir
        .as_ref()
        .map(|d| absolute(&config.resolve(d)));
    config.state.in_memory |= opts.in_memory;
    if let Some(mode) = std::env::var_os(HTTP_MODE_ENV).filter(|v| !v.is_empty()) {
        let mode = mode.to_string_lossy();
        config.network.mode = match mode.as_ref() {
            "live" => crate::protocol::NetworkMode::Live,
            "record" => crate::protocol::NetworkMode::Record,
            "replay" => crate::protocol::NetworkMode::Replay,
            other => {
                return Err(ConfigError(format!(
                "{HTTP_MODE_ENV}={other:?} is not a network mode\n  hint: live, record or replay"
            )))
            }
        };
    }
    config.state.import = opts.import.as_ref().map(|d| absolute(&cwd.join(d)));
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
            fold_tokens: Vec::new(),
            allowed_bindings: Vec::new(),
            fold_plan: None,
        });
    }
    Ok(config)
}

/// `path` made absolute and without `.`/`..` parts (through symlinks when it exists, so paths
/// that notify reports compare equal to it).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    // A missing leaf under an existing folder: canonicalize the folder so both agree.
    match (
        out.parent().and_then(|p| p.canonicalize().ok()),
        out.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => out,
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub functions: FunctionsConfig,
    pub state: StateConfig,
    pub profile: ProfileConfig,
    pub billing: BillingConfig,
    pub executor: ExecutorConfig,
    pub organizations: Vec<OrganizationConfig>,
    pub secrets: BTreeMap<String, SecretSource>,
    /// Catalogue row id (e.g. `G402`) → decoded body text replacing the default.
    pub responses: BTreeMap<String, String>,
    /// Faults injected from the start (PLATFORM.md §8).
    pub faults: Vec<FaultConfig>,
    /// The control planes' own ports (each is always mounted under its prefix on the main port).
    pub planes: PlanesConfig,
    pub fold: FoldConfig,
    /// `[network]`: how tools with `http = true` reach the network.
    pub network: NetworkConfig,
    /// `[python]`: the CPython that tools with `runtime = "python:cpython"` run in.
    pub python: PythonConfig,
    /// Where the file was read from; relative paths in it resolve against its folder.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[network]`: outbound HTTP of tools with `http = true` (README "Outbound HTTP").
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// `replay` (the default: answered from `<tool>/http/*.json` only), `record` (the real
    /// network, every exchange saved there) or `live` (the real network, nothing saved).
    /// `CORTEX_EMU_HTTP_MODE` overrides it.
    pub mode: crate::protocol::NetworkMode,
}

/// `[python]` (README "Packages").
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PythonConfig {
    /// The CPython interpreter for `runtime = "python:cpython"` tools. Unset: `CORTEX_EMU_CPYTHON`,
    /// else a CPython 3.13 found on this machine (`python3.13` on PATH, pyenv's versions).
    pub cpython: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PlanesConfig {
    pub identity: PlaneConfig,
    pub cortex_api: CortexApiConfig,
    pub fold: PlaneConfig,
}

/// `[planes.cortex_api]`: the knowledge service's own port and the limits a client meets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CortexApiConfig {
    /// Also serve the plane at the root of this port.
    pub port: Option<u16>,
    /// Largest file accepted by `ingestion/upload_knowledge`, in MB (`FILE_TOO_LARGE` above it).
    pub max_upload_mb: u64,
    /// How long an upload stays `queued` then `processing` before it is `completed`, on the
    /// emulator's clock (0 = at once), so a client's polling loop runs for real.
    pub processing_delay_ms: u64,
    /// Memories kept per tenant and sub-tenant (user) before `MEMORY_LIMIT_EXCEEDED`.
    pub memory_quota: u64,
    /// Longest chunk, in characters.
    pub chunk_chars: usize,
}

impl Default for CortexApiConfig {
    fn default() -> Self {
        Self {
            port: None,
            max_upload_mb: 25,
            processing_delay_ms: 0,
            memory_quota: 1000,
            chunk_chars: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PlaneConfig {
    /// Also serve the plane at the root of this port (8091 is the identity service's documented
    /// local default).
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Bearer token of the admin API; generated at start (and written beside the state file)
    /// when unset.
    pub admin_token: Option<String>,
    /// Seconds a client may take to send a request's headers, and to pause inside a request
    /// body, before the connection is closed (slow clients would otherwise hold it for good).
    pub read_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8787,
            max_body_bytes: 6 * 1024 * 1024,
            admin_token: None,
            read_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunctionsConfig {
    pub dir: PathBuf,
}

impl Default for FunctionsConfig {
    fn default() -> Self {
        Self {
            dir: "sample-functions".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    pub path: PathBuf,
    /// Record every run as an activation (and its debit) in SQLite. Off: balances change in
    /// memory only and nothing is written per run (for benchmarks and throwaway load).
    pub record_activations: bool,
    /// Largest size of the state database in MB (none by default). Past it, writes fail as on a
    /// full disk: new runs are refused with 507 until there is room again.
    pub max_size_mb: Option<u64>,
    /// Keep the state in memory only (nothing is written; `--in-memory`).
    pub in_memory: bool,
    /// A folder written by `cortex-emu export` whose state replaces this one at start
    /// (`serve --import DIR`; command line only).
    #[serde(skip)]
    pub import: Option<PathBuf>,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            path: ".cortex-emu/state.db".into(),
            record_activations: true,
            max_size_mb: None,
            in_memory: false,
            import: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileConfig {
    pub wording: Wording,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingConfig {
    /// Credits charged per second of handler time.
    #[serde(deserialize_with = "decimal")]
    pub compute_per_second: Decimal,
    /// Fee per run for tools whose `tool.toml` sets no `price_per_run`.
    #[serde(deserialize_with = "decimal")]
    pub default_price_per_run: Decimal,
    /// Credits granted to an organization the first time it is created.
    #[serde(deserialize_with = "decimal")]
    pub welcome_credits: Decimal,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            compute_per_second: Decimal::new(1, 4),
            default_price_per_run: Decimal::ZERO,
            welcome_credits: Decimal::new(1000, 2),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorConfig {
    /// Worker processes per runtime (0 = one per core).
    pub workers: usize,
    /// Captured handler output kept per activation, in bytes.
    pub log_limit_bytes: usize,
    /// Where Lua runs: `thread` (in the server process, the default) or `process` (worker
    /// processes, as Python and JavaScript do).
    pub lua: LuaIsolation,
}

/// `[executor] lua`.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LuaIsolation {
    #[default]
    Thread,
    Process,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            log_limit_bytes: 64 * 1024,
            lua: LuaIsolation::Thread,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    pub slug: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Opening balance, granted once when the organization is first created (default:
    /// `[billing] welcome_credits`).
    #[serde(default, deserialize_with = "optional_decimal")]
    pub balance: Option<Decimal>,
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Bearer tokens of the fold deploy plane, each with a role.
    #[serde(default)]
    pub fold_tokens: Vec<FoldTokenConfig>,
    /// Fold bindings (`TYPE:name`, defined under `[fold] bindings`) this organization may use.
    #[serde(default)]
    pub allowed_bindings: Vec<String>,
    /// The fold plan the organization starts on, `free` (default) or `pro`.
    #[serde(default)]
    pub fold_plan: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldTokenConfig {
    pub name: String,
    pub token: String,
    /// `admin`, `deployer`, `viewer` or `billing-admin`.
    pub role: String,
    /// `YYYY-MM-DD` or RFC 3339; none = never expires.
    #[serde(default)]
    pub expires: Option<String>,
}

/// The plans of the fold plane.
pub const FOLD_PLANS: &[&str] = &["free", "pro"];

/// The roles of fold tokens.
pub const FOLD_ROLES: &[&str] = &["admin", "deployer", "viewer", "billing-admin"];

/// `[fold]`: the deploy plane's bindings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FoldConfig {
    /// Bindings that exist, as `TYPE:name` (`key-value:user-store`, `database:orders`).
    pub bindings: Vec<String>,
    /// Dispatch requests per organization per minute before `RATE_LIMITED`.
    pub rate_limit_per_minute: u64,
    /// A dev-loop folder, `<dir>/<organization>/<name>/index.js`, deployed on every save.
    pub dir: Option<PathBuf>,
    /// Runs per calendar month (on the emulator's clock) on the Free plan before
    /// `USAGE_LIMIT_EXCEEDED`.
    pub free_monthly_runs: u64,
    /// The Pro plan's soft cap: runs past it are still served, and usage reports them over.
    pub pro_monthly_runs: u64,
    /// A run's time limit in seconds (the tools' limit, 300, unless lowered).
    pub timeout_secs: f64,
}

impl Default for FoldConfig {
    fn default() -> Self {
        Self {
            bindings: Vec::new(),
            rate_limit_per_minute: 100,
            dir: None,
            free_monthly_runs: 100_000,
            pro_monthly_runs: 10_000_000,
            timeout_secs: 300.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub name: String,
    pub key: String,
    /// `YYYY-MM-DD` or RFC 3339; none = never expires.
    #[serde(default)]
    pub expires: Option<String>,
}

/// One injected fault: answer matching requests with a catalogue row, and/or delay them. Every
/// scope given must match; none given matches every request outside `/_emulator`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// The catalogue row to answer with (e.g. `G402`, `F-deploy`); none = only add latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Requests whose path starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Requests for this tool id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Requests whose key belongs to this organization (slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Only the next N matching requests (then the fault is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Chance that a matching request is hit, above 0 and at most 1 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Delay added before the request is answered, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

impl FaultConfig {
    /// Refuses what could never match or is not a catalogue row, with a hint.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(r) = &self.response {
            if crate::catalogue::rows::row(r).is_none() {
                return Err(format!(
                    "response {r:?} is not a catalogue row\n  hint: use an id of RESPONSES.md such as G402, A500, F-deploy or P-unavailable (GET /_emulator/v1/catalogue lists them)"
                ));
            }
        }
        if let Some(route) = &self.route {
            if !route.starts_with('/') {
                return Err(format!(
                    "route {route:?} must start with /\n  hint: a path prefix such as /api/v1/functions/ or /fold"
                ));
            }
        }
        if let Some(p) = self.probability {
            if !(p > 0.0 && p <= 1.0) {
                return Err(format!("probability {p} must be above 0 and at most 1"));
            }
        }
        if self.times == Some(0) {
            return Err(
                "times = 0 would never match\n  hint: leave times out to match every request"
                    .into(),
            );
        }
        if self.response.is_none() && self.latency_ms.is_none() {
            return Err("a fault needs a response, a latency_ms, or both".into());
        }
        Ok(())
    }
}

/// A secret's value: a literal, or read from an environment variable (or the `.env` file beside
/// the config), with an optional default.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretSource {
    Literal(String),
    Env {
        env: String,
        #[serde(default)]
        default: Option<String>,
    },
}

/// A configuration problem, already worded for the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads `path`, or the built-in defaults when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Config {
                base_dir: std::env::current_dir().unwrap_or_default(),
                ..Config::default()
            });
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        let mut config = Self::parse(&text, &path.display().to_string())?;
        let cwd = std::env::current_dir().unwrap_or_default();
        config.base_dir = absolute(&cwd.join(path.parent().unwrap_or(Path::new(""))));
        Ok(config)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError(format!(
                "{origin}:{line}:{col}: {}\n  hint: {}",
                e.message().trim(),
                hint_for(e.message())
            ))
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let bad = |msg: String| Err(ConfigError(format!("{origin}: {msg}")));
        if self.billing.compute_per_second.is_sign_negative()
            || self.billing.default_price_per_run.is_sign_negative()
            || self.billing.welcome_credits.is_sign_negative()
        {
            return bad("[billing] amounts must not be negative".into());
        }
        let mut slugs = std::collections::HashSet::new();
        for org in &self.organizations {
            if !valid_slug(&org.slug) {
                return bad(format!(
                    "[[organizations]] slug {:?} is not valid\n  hint: use lowercase letters, digits and hyphens, 1-63 characters",
                    org.slug
                ));
            }
            if !slugs.insert(org.slug.as_str()) {
                return bad(format!(
                    "[[organizations]] slug {:?} appears twice",
                    org.slug
                ));
            }
            for t in &org.fold_tokens {
                if !FOLD_ROLES.contains(&t.role.as_str()) {
                    return bad(format!(
                        "fold token {:?} of organization {:?} has role {:?}\n  hint: one of {}",
                        t.name,
                        org.slug,
                        t.role,
                        FOLD_ROLES.join(", ")
                    ));
                }
                if t.token.len() < 8 || t.token.chars().any(char::is_whitespace) {
                    return bad(format!(
                        "fold token {:?} of organization {:?} is too short or contains spaces",
                        t.name, org.slug
                    ));
                }
                if t.expires
                    .as_deref()
                    .is_some_and(|e| crate::clock::parse_expiry(e).is_none())
                {
                    return bad(format!(
                        "fold token {:?}: expires is not a date\n  hint: write YYYY-MM-DD or an RFC 3339 timestamp",
                        t.name
                    ));
                }
            }
            if let Some(plan) = org.fold_plan.as_deref().filter(|p| !FOLD_PLANS.contains(p)) {
                return bad(format!(
                    "organization {:?} has fold_plan {plan:?}\n  hint: one of {}",
                    org.slug,
                    FOLD_PLANS.join(", ")
                ));
            }
            for b in &org.allowed_bindings {
                if !valid_binding(b) {
                    return bad(format!(
                        "allowed_bindings entry {b:?} of organization {:?} is not TYPE:name\n  hint: e.g. \"key-value:user-store\" or \"database:orders\"",
                        org.slug
                    ));
                }
            }
            for key in &org.keys {
                if key.key.len() < 8 || key.key.chars().any(char::is_whitespace) {
                    return bad(format!(
                        "key {:?} of organization {:?} is too short or contains spaces\n  hint: keys look like RIV_ followed by at least 4 characters",
                        key.name, org.slug
                    ));
                }
                if let Some(exp) = &key.expires {
                    if crate::clock::parse_expiry(exp).is_none() {
                        return bad(format!(
                            "key {:?}: expires = {exp:?} is not a date\n  hint: write YYYY-MM-DD or an RFC 3339 timestamp",
                            key.name
                        ));
                    }
                }
            }
        }
        if !(self.fold.timeout_secs > 0.0 && self.fold.timeout_secs <= 300.0) {
            return bad(format!(
                "[fold] timeout_secs = {} must be above 0 and at most 300",
                self.fold.timeout_secs
            ));
        }
        for b in &self.fold.bindings {
            if !valid_binding(b) {
                return bad(format!(
                    "[fold] bindings entry {b:?} is not TYPE:name\n  hint: e.g. \"key-value:user-store\" or \"database:orders\""
                ));
            }
        }
        let cortex = &self.planes.cortex_api;
        if cortex.max_upload_mb == 0 || cortex.max_upload_mb > 1024 {
            return bad("[planes.cortex_api] max_upload_mb must be between 1 and 1024".into());
        }
        if cortex.chunk_chars < 50 {
            return bad("[planes.cortex_api] chunk_chars must be at least 50".into());
        }
        for (i, fault) in self.faults.iter().enumerate() {
            if let Err(e) = fault.validate() {
                return bad(format!("[[faults]] number {}: {e}", i + 1));
            }
        }
        for id in self.responses.keys() {
            if !crate::catalogue::OVERRIDABLE.contains(&id.as_str()) {
                return bad(format!(
                    "[responses] {id:?} is not a catalogue row\n  hint: one of {}",
                    crate::catalogue::OVERRIDABLE.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Where the generated admin token is kept for the CLI (beside the state file).
    pub fn admin_token_path(&self) -> PathBuf {
        self.state.path.with_file_name("admin-token")
    }

    /// Resolves a path written in the config against the config's folder.
    /// `[python] cpython`, resolved against the file's folder.
    pub fn cpython_path(&self) -> Option<PathBuf> {
        self.python.cpython.as_deref().map(|p| self.resolve(p))
    }

    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// Secret values, resolved from the environment and the `.env` file beside the config.
    pub fn secret_values(&self) -> (BTreeMap<String, String>, Vec<String>) {
        let dotenv: BTreeMap<String, String> = dotenvy::from_path_iter(self.base_dir.join(".env"))
            .map(|it| it.filter_map(Result::ok).collect())
            .unwrap_or_default();
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, source) in &self.secrets {
            match source {
                SecretSource::Literal(v) => {
                    values.insert(name.clone(), v.clone());
                }
                SecretSource::Env { env, default } => {
                    let found = std::env::var(env).ok().or_else(|| dotenv.get(env).cloned());
                    match found.or_else(|| default.clone()) {
                        Some(v) => {
                            values.insert(name.clone(), v);
                        }
                        None => missing.push(format!("{name} (from ${env})")),
                    }
                }
            }
        }
        (values, missing)
    }
}

/// Money in the config may be written as a number (`0.0001`) or a string (`"0.0001"`); a TOML
/// float is read back through its shortest decimal form, which is the text the user wrote.
fn decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Text(String),
    }
    let text = match Raw::deserialize(d)? {
        Raw::Int(i) => i.to_string(),
        Raw::Float(f) => format!("{f}"),
        Raw::Text(s) => s,
    };
    let d = text
        .trim()
        .parse::<Decimal>()
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a decimal amount")))?;
    if !crate::money::within_bounds(d) {
        return Err(serde::de::Error::custom(format!(
            "{text} is out of range (amounts are at most {} credits)",
            crate::money::MAX_AMOUNT_CREDITS
        )));
    }
    Ok(d)
}

fn optional_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    decimal(d).map(Some)
}

pub fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

fn hint_for(message: &str) -> &'static str {
    if message.contains("unknown field") {
        "remove the key or fix its spelling; emulator.toml in the repository lists every key"
    } else if message.contains("unknown variant") {
        "use one of the values listed above"
    } else if message.contains("invalid type") {
        "check the value's type (quotes make a string; numbers and booleans go bare)"
    } else {
        "see the commented emulator.toml in the repository for the expected shape"
    }
}

/// `TYPE:name` with TYPE `key-value` or `database` and a slug-like name.
pub fn valid_binding(b: &str) -> bool {
    match b.split_once(':') {
        Some(("key-value" | "database", name)) => valid_slug(name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_reports_line_and_hint() {
        let err =
            Config::parse("[server]\nhost = \"127.0.0.1\"\nprot = 1\n", "x.toml").unwrap_err();
        assert!(
            err.0.starts_with("x.toml:3:1: unknown field `prot`"),
            "{}",
            err.0
        );
        assert!(err.0.contains("hint:"));
    }

    #[test]
    fn bad_wording_is_refused() {
        let err = Config::parse("[profile]\nwording = \"aws\"\n", "x.toml").unwrap_err();
        assert!(err.0.contains("x.toml:2:"), "{}", err.0);
    }

    #[test]
    fn decimals_parse_exactly() {
        let c = Config::parse(
            "[billing]\ncompute_per_second = 0.0001\nwelcome_credits = 10.00\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.billing.compute_per_second.to_string(), "0.0001");
        assert_eq!(c.billing.welcome_credits, Decimal::new(10, 0));
    }
}
