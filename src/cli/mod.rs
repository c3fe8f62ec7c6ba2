//! The `cortex-emu` command line.

pub mod admin;
pub mod bench;
mod bench_cortex;
pub mod control;
pub mod devloop;
mod fold_tokens;
pub mod junit;
pub mod scaffold;
pub mod users;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::ServeOptions;
use crate::domain::publishing::Bump;
use crate::registry::{Runtime, Visibility};

#[derive(Parser, Debug)]
#[command(
    name = "cortex-emu",
    version,
    about = "Local emulator of the CortexOne / Rival tool platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options shared by every command (`serve` runs when no command is given).
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the emulator (the default).
    Serve {
        /// Start from a state saved by `cortex-emu export DIR` (it replaces the current state).
        #[arg(long, value_name = "DIR")]
        import: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Force catalogue responses or add latency on the running emulator (PLATFORM.md §8).
    Fault {
        #[command(subcommand)]
        action: FaultAction,
    },
    /// Read or move the running emulator's test clock.
    Clock {
        #[command(subcommand)]
        action: ClockAction,
    },
    /// Return the running emulator to the state emulator.toml seeds.
    Reset,
    /// Save the running emulator's whole state into DIR (load it with `serve --import DIR`).
    Export {
        /// The folder to write (created if missing; an earlier export there is replaced).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Run the tools' test cases (tests/*.json) in process, without a server.
    Test {
        /// What to test: a tool id, or TOOL/CASE for one case (default: every tool).
        #[arg(value_name = "TOOL[/CASE]")]
        tools: Vec<String>,
        /// Keep running: re-run a tool's cases each time a file in its folder is saved.
        #[arg(long)]
        watch: bool,
        /// Also write the results as JUnit XML to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Pass when no test case ran (by default zero cases is a failure).
        #[arg(long)]
        allow_empty: bool,
    },
    /// Run a tool once and print the exact envelope the gateway would return (logs on stderr).
    Invoke {
        /// The tool id (its folder name unless tool.toml sets `id`).
        #[arg(value_name = "TOOL")]
        tool: String,
        /// Version to run (`1.0`, `v1.0.0`, `draft`; default: latest published, else draft).
        #[arg(long)]
        version: Option<String>,
        /// The event: a JSON file, or `-` for standard input (default: `{}`).
        #[arg(long, value_name = "FILE|-")]
        event: Option<String>,
    },
    /// Publish a tool's draft as a new immutable version (its test cases must all pass).
    Publish {
        /// The tool id whose draft to publish.
        #[arg(value_name = "TOOL")]
        tool: String,
        /// Which part of the version to raise (major.minor).
        #[arg(long, value_enum)]
        bump: Bump,
        /// Who may run the new version (default: as the tool's last version, else private).
        #[arg(long, value_enum)]
        visibility: Option<VisibilityArg>,
    },
    /// Install a Python tool's requirements.txt into its .packages/ folder (pure-Python), or .packages-cpython/ for runtime = "python:cpython"
    Deps {
        /// The tool id (or folder name) whose requirements.txt to install.
        #[arg(value_name = "TOOL")]
        tool: String,
    },
    /// Create a tool folder that passes `cortex-emu test` out of the box.
    Init {
        /// The new tool's folder name (and id).
        name: String,
        /// The language of the handler.
        #[arg(long, value_enum)]
        runtime: RuntimeArg,
        /// An MCP tool (JSON-RPC in, JSON-RPC out) instead of a function.
        #[arg(long)]
        mcp: bool,
    },
    /// List activations (newest last), optionally following new ones live.
    Activations {
        /// Only this tool's activations.
        #[arg(long, value_name = "TOOL")]
        tool: Option<String>,
        /// Only this version's (`1.0`, `draft`).
        #[arg(long)]
        version: Option<String>,
        /// success, error, timeout or interrupted.
        #[arg(long)]
        status: Option<String>,
        /// RFC 3339 timestamp: only activations that started at or after it.
        #[arg(long)]
        since: Option<String>,
        /// How many to list (the newest).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Keep printing activations as they are recorded.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        json: JsonArg,
        #[command(subcommand)]
        action: Option<ActivationsAction>,
    },
    /// List requests refused before anything ran (bad key, balance, body, unknown tool).
    ///
    /// They are not activations and cost nothing; newest last.
    Refusals {
        /// Only requests for this tool id.
        #[arg(long, value_name = "TOOL")]
        tool: Option<String>,
        /// How many to list (the newest).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Show one activation: event, response, cost and the handler's output.
    Logs {
        /// The activation id, or a unique prefix of it.
        #[arg(value_name = "ID")]
        activation: String,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Run an activation's event again on the running emulator (the tool's current draft, or
    /// the same version) and show both responses with their differences.
    Replay {
        /// The activation id, or a unique prefix of it.
        #[arg(value_name = "ID")]
        activation: String,
        /// Run the version the original ran (its exact code) instead of the current draft.
        #[arg(long)]
        same_version: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Manage API keys (of the default organization unless --org).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// The run balance and its ledger (of the default organization unless --org).
    Wallet {
        #[command(subcommand)]
        action: WalletAction,
    },
    /// Role tokens of the fold deploy plane (of the default organization unless --org).
    FoldTokens {
        #[command(subcommand)]
        action: FoldTokensAction,
    },
    /// Users of the identity plane: list, unlock, suspend, reactivate.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Print a completion script for a shell (e.g. `cortex-emu completions bash > /etc/bash_completion.d/cortex-emu`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Measure latency, throughput, hot reload, startup and memory; write BENCHMARKS.md.
    Bench {
        /// Where to write the report.
        #[arg(long, default_value = "BENCHMARKS.md")]
        output: PathBuf,
        /// Measure a control plane instead of the gateway (its section of the report is
        /// replaced; the rest is kept).
        #[arg(long, value_enum)]
        plane: Option<BenchPlane>,
    },
    /// Internal: a worker process that runs handlers for the server.
    #[command(name = "__worker", hide = true)]
    Worker {
        runtime: String,
        /// For `python:cpython`: the interpreter.
        interpreter: Option<std::path::PathBuf>,
    },
}

/// The planes `cortex-emu bench --plane` measures.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BenchPlane {
    /// Recall at 10 000 and 100 000 chunks, raw embedding search at 100 000 vectors.
    CortexApi,
}

#[derive(Subcommand, Debug)]
pub enum KeysAction {
    /// Create a key (shown once).
    Create {
        /// A name to tell the key by (shown in `keys list`; `keys revoke` takes it too).
        name: String,
        #[command(flatten)]
        org: OrgArg,
        /// Last day it works (YYYY-MM-DD, through the end of that day UTC), or an RFC 3339 instant.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        json: JsonArg,
    },
    /// List keys with prefix, uses, expiry and state.
    List {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Revoke a key (effective immediately).
    Revoke {
        /// The key's id, a unique prefix of it, its name, or its shown prefix (RIV_ab12...).
        #[arg(value_name = "KEY")]
        key: String,
        #[command(flatten)]
        org: OrgArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum FoldTokensAction {
    /// Create a fold token (shown once).
    Create {
        /// A name to tell the token by.
        name: String,
        /// What it may do: admin, deployer, viewer or billing-admin.
        #[arg(long, default_value = "deployer", value_parser = clap::builder::PossibleValuesParser::new(crate::config::FOLD_ROLES))]
        role: String,
        #[command(flatten)]
        org: OrgArg,
        /// Last day it works (YYYY-MM-DD, through the end of that day UTC), or an RFC 3339 instant.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        json: JsonArg,
    },
    /// List fold tokens with role, prefix and expiry.
    List {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        json: JsonArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum FaultAction {
    /// Add a fault: answer matching requests with catalogue row RESPONSE (e.g. G402, F-deploy).
    Add {
        /// The catalogue row id; omit with --latency-ms to only slow requests down.
        response: Option<String>,
        /// Only requests whose path starts with this (e.g. /api/v1/functions/).
        #[arg(long)]
        route: Option<String>,
        /// Only requests for this tool id.
        #[arg(long)]
        tool: Option<String>,
        /// Only requests whose key belongs to this organization (slug).
        #[arg(long)]
        org: Option<String>,
        /// Only the next N matching requests.
        #[arg(long)]
        times: Option<u64>,
        /// Chance a matching request is hit (above 0, at most 1).
        #[arg(long)]
        probability: Option<f64>,
        /// Delay added to matching requests, in milliseconds.
        #[arg(long)]
        latency_ms: Option<u64>,
        #[command(flatten)]
        json: JsonArg,
    },
    /// List the faults in force.
    List {
        #[command(flatten)]
        json: JsonArg,
    },
    /// Remove one fault by id.
    Rm {
        /// The fault's id (from `fault add` or `fault list`).
        id: String,
    },
    /// Remove every fault.
    Clear,
}

#[derive(Subcommand, Debug)]
pub enum ClockAction {
    /// Print the emulator's time.
    Show,
    /// Move the clock forward by a span.
    Advance {
        /// How far: 90s, 15m, 2h, 1d, 1h30m.
        span: String,
    },
    /// Make the clock read an instant; time runs on from there.
    Set {
        /// RFC 3339 (2027-01-01T09:00:00Z) or YYYY-MM-DD (midnight UTC).
        instant: String,
    },
    /// Back to the machine's time.
    Real,
}

#[derive(Subcommand, Debug)]
pub enum WalletAction {
    /// Print the balance.
    Balance {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Add credits (ledger label `Wallet Recharge`).
    Topup {
        /// Credits to add, in dollars with up to 6 decimals (e.g. 5, 0.25).
        amount: String,
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// List ledger entries (charges and top-ups), newest first.
    Ledger {
        #[command(flatten)]
        org: OrgArg,
        /// How many entries to list.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        json: JsonArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersAction {
    /// List users with tenant, status, lock and failed logins.
    List {
        /// Only this tenant's users (an organization slug).
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Forget a user's failed logins and lift its lock.
    Unlock {
        /// The user's id or email.
        #[arg(value_name = "USER")]
        user: String,
    },
    /// Suspend a user: logins, refreshes and tokens answer account-suspended.
    Suspend {
        /// The user's id or email.
        #[arg(value_name = "USER")]
        user: String,
    },
    /// Reactivate a suspended user.
    Reactivate {
        /// The user's id or email.
        #[arg(value_name = "USER")]
        user: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ActivationsAction {
    /// Turn an activation into a test case: its event, and its response as the expectation.
    Save {
        /// The activation id, or a unique prefix of it.
        #[arg(value_name = "ID")]
        activation: String,
        /// The case name: written to <tool>/tests/NAME.json.
        #[arg(long = "as", value_name = "NAME")]
        name: String,
        /// Replace a case of that name.
        #[arg(long)]
        force: bool,
    },
}

/// `--org`, shared by the commands that act on one organization.
#[derive(Args, Debug, Clone)]
pub struct OrgArg {
    /// The organization's slug (default: the first in emulator.toml).
    #[arg(long = "org", value_name = "SLUG")]
    pub slug: Option<String>,
}

/// `--json`, shared by the commands that print a table or a summary.
#[derive(Args, Debug, Clone, Copy)]
pub struct JsonArg {
    /// Print JSON for scripts instead of a table.
    #[arg(long = "json")]
    pub on: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum RuntimeArg {
    Python,
    Javascript,
    Lua,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum VisibilityArg {
    Private,
    Public,
}

impl From<VisibilityArg> for Visibility {
    fn from(v: VisibilityArg) -> Self {
        match v {
            VisibilityArg::Private => Visibility::Private,
            VisibilityArg::Public => Visibility::Public,
        }
    }
}

/// Options every command reads: where the configuration, the tools and the state are.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Configuration file (default: ./emulator.toml when present, else built-in defaults).
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Folder of tool folders (overrides [functions] dir).
    #[arg(long, value_name = "DIR", global = true)]
    pub functions: Option<PathBuf>,
    /// SQLite state file (overrides [state] path).
    #[arg(long, value_name = "PATH", global = true)]
    pub state: Option<PathBuf>,
    /// Options of the server (given before any command, they also tell the client commands
    /// which emulator to talk to).
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Options of the server: only `serve` (and the bare command, which serves) lists them.
#[derive(Args, Debug, Clone, Default)]
pub struct ServerArgs {
    /// Address to listen on (overrides [server] host).
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on, 1-65535, or 0 for a free one (overrides [server] port).
    #[arg(long, value_parser = parse_port)]
    pub port: Option<u16>,
    /// Keep state in memory only (nothing is written to disk).
    #[arg(long, conflicts_with = "state")]
    pub in_memory: bool,
}

fn parse_port(s: &str) -> Result<u16, String> {
    s.trim().parse::<u16>().map_err(|_| {
        format!("{s:?} is not a port: give a number from 1 to 65535, or 0 to pick a free one")
    })
}

impl From<CommonArgs> for ServeOptions {
    fn from(a: CommonArgs) -> Self {
        ServeOptions {
            config: a.config,
            functions: a.functions,
            host: a.server.host,
            port: a.server.port,
            state: a.state,
            in_memory: a.server.in_memory,
            ..ServeOptions::default()
        }
    }
}

impl ServerArgs {
    /// Options given after `serve` win over those given before it.
    fn apply(self, opts: &mut ServeOptions) {
        opts.host = self.host.or(opts.host.take());
        opts.port = self.port.or(opts.port);
        opts.in_memory |= self.in_memory;
    }
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let code = run_command();
    // Lines queued for the terminal are written before the process exits.
    crate::domain::terminal::flush();
    code
}

fn run_command() -> i32 {
    use clap::{CommandFactory, FromArgMatches};
    // `--help` ends with the environment variables the emulator reads (one list, in config).
    let env_help: String = std::iter::once("Environment:".to_string())
        .chain(
            crate::config::ENVIRONMENT
                .iter()
                .map(|(name, what)| format!("  {name:<26} {what}")),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let matches = Cli::command().after_help(env_help).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let mut opts: ServeOptions = cli.common.into();
    match cli.command {
        Some(Command::Worker {
            runtime,
            interpreter,
        }) if runtime == crate::executor::CPYTHON_WORKER => {
            crate::executor::entry::worker_main(Runtime::Python, interpreter)
        }
        Some(Command::Worker { runtime, .. }) => match Runtime::from_name(&runtime) {
            Some(r) => crate::executor::entry::worker_main(r, None),
            None => {
                eprintln!("unknown runtime {runtime:?}");
                2
            }
        },
        Some(Command::Init { name, runtime, mcp }) => init(&opts, &name, runtime, mcp),
        Some(Command::Deps { tool }) => deps_command(&opts, &tool),
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "cortex-emu", &mut std::io::stdout());
            0
        }
        None => with_runtime(|| async { crate::server::serve(opts).await.map(|()| 0) }),
        Some(Command::Serve { import, server }) => {
            opts.import = import;
            server.apply(&mut opts);
            with_runtime(|| async { crate::server::serve(opts).await.map(|()| 0) })
        }
        Some(Command::Fault { action }) => report_piped(|| control::fault(&opts, action)),
        Some(Command::Clock { action }) => report_piped(|| control::clock(&opts, action)),
        Some(Command::Reset) => report_piped(|| control::reset(&opts)),
        Some(Command::Export { dir }) => report_piped(|| control::export(&opts, &dir)),
        Some(Command::Activations {
            action:
                Some(ActivationsAction::Save {
                    activation,
                    name,
                    force,
                }),
            ..
        }) => report_piped(|| admin::save_case(&opts, &activation, &name, force)),
        Some(Command::Activations {
            tool,
            version,
            status,
            since,
            limit,
            follow,
            json,
            action: None,
        }) => report_piped(|| {
            admin::activations(&opts, tool, version, status, since, limit, follow, json.on)
        }),
        Some(Command::Refusals { tool, limit, json }) => {
            report_piped(|| admin::refusals(&opts, tool, limit, json.on))
        }
        Some(Command::Replay {
            activation,
            same_version,
            json,
        }) => report_piped(|| admin::replay(&opts, &activation, same_version, json.on)),
        Some(Command::Logs { activation, json }) => {
            report_piped(|| admin::logs(&opts, &activation, json.on))
        }
        Some(Command::Keys { action }) => report_piped(|| match action {
            KeysAction::Create {
                name,
                org,
                expires,
                json,
            } => admin::keys_create(&opts, org.slug, &name, expires, json.on),
            KeysAction::List { org, json } => admin::keys_list(&opts, org.slug, json.on),
            KeysAction::Revoke { key, org } => admin::keys_revoke(&opts, org.slug, &key),
        }),
        Some(Command::Wallet { action }) => report_piped(|| match action {
            WalletAction::Balance { org, json } => admin::wallet_balance(&opts, org.slug, json.on),
            WalletAction::Topup { amount, org, json } => {
                admin::wallet_topup(&opts, org.slug, &amount, json.on)
            }
            WalletAction::Ledger { org, limit, json } => {
                admin::wallet_ledger(&opts, org.slug, limit, json.on)
            }
        }),
        Some(Command::FoldTokens { action }) => report_piped(|| match action {
            FoldTokensAction::Create {
                name,
                role,
                org,
                expires,
                json,
            } => fold_tokens::create(&opts, org.slug, &name, &role, expires, json.on),
            FoldTokensAction::List { org, json } => fold_tokens::list(&opts, org.slug, json.on),
        }),
        Some(Command::Users { action }) => report_piped(|| match action {
            UsersAction::List { tenant, json } => users::users_list(&opts, tenant, json.on),
            UsersAction::Unlock { user } => users::users_unlock(&opts, &user),
            UsersAction::Suspend { user } => users::users_suspend(&opts, &user),
            UsersAction::Reactivate { user } => users::users_reactivate(&opts, &user),
        }),
        Some(Command::Bench { output, plane }) => match plane {
            None => with_runtime(|| bench::run(output)),
            Some(BenchPlane::CortexApi) => with_runtime(|| bench_cortex::run(output)),
        },
        Some(Command::Test {
            tools,
            watch,
            junit,
            allow_empty,
        }) => with_runtime(|| devloop::test(opts, tools, watch, junit, allow_empty)),
        Some(Command::Invoke {
            tool,
            version,
            event,
        }) => with_runtime(|| devloop::invoke(opts, tool, version, event)),
        Some(Command::Publish {
            tool,
            bump,
            visibility,
        }) => with_runtime(|| devloop::publish(opts, tool, bump, visibility.map(Into::into))),
    }
}

fn with_runtime<F, Fut>(f: F) -> i32
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i32>>,
{
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CORTEX_EMU_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal (not in CI logs or files), and never with NO_COLOR.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(f());
    // Blocking reads (the stdin lifeline) cannot be cancelled: do not wait for them to end.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Exit code of a command whose output is often piped (`cortex-emu activations | head`). Rust
/// ignores SIGPIPE, so printing to a closed pipe would panic; these commands take the default
/// action instead and end quietly, as Unix tools do. (Never for `serve`: a worker's closed pipe
/// must not kill the server.)
fn report_piped(r: impl FnOnce() -> anyhow::Result<i32>) -> i32 {
    // SAFETY: restoring the default disposition of one signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    report(r())
}

/// Exit code of a synchronous command; errors go to stderr.
fn report(r: anyhow::Result<i32>) -> i32 {
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn deps_command(opts: &ServeOptions, tool: &str) -> i32 {
    let (functions, cpython) = match crate::config::load_config(opts) {
        Ok(c) => (c.functions.dir.clone(), c.cpython_path()),
        Err(e) => {
            eprintln!("error: {e:#}");
            return 1;
        }
    };
    // By folder name first (a tool that does not load yet still has one), else by id.
    let by_name = functions.join(tool);
    let folder = if by_name.is_dir() {
        Some(by_name)
    } else {
        let defaults = crate::registry::LoadDefaults {
            organization: crate::config::DEFAULT_ORG.into(),
        };
        crate::registry::Registry::scan(&functions, &defaults)
            .get(tool)
            .map(|t| t.folder.clone())
    };
    let Some(folder) = folder else {
        eprintln!("error: no tool {tool:?} in {}", functions.display());
        return 1;
    };
    match crate::domain::packages::install(&folder, cpython.as_deref()) {
        Ok(n) => {
            println!(
                "installed {n} Python modules into {}; the tool imports them on its next run",
                crate::domain::packages::packages_dir(&folder).display()
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn init(opts: &ServeOptions, name: &str, runtime: RuntimeArg, mcp: bool) -> i32 {
    let functions = match crate::config::load_config(opts) {
        Ok(c) => c.functions.dir,
        Err(e) => {
            eprintln!("error: {e:#}");
            return 1;
        }
    };
    let runtime = match runtime {
        RuntimeArg::Python => Runtime::Python,
        RuntimeArg::Javascript => Runtime::Javascript,
        RuntimeArg::Lua => Runtime::Lua,
    };
    match scaffold::init(&functions, name, runtime, mcp) {
        Ok(folder) => {
            println!(
                "created {} ({}{}); try: cortex-emu test {name}",
                folder.display(),
                runtime.id(),
                if mcp { ", mcp" } else { "" }
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
