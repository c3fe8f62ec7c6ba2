//! The `cortex-emu` command line.

pub mod admin;
pub mod bench;
pub mod control;
pub mod devloop;
pub mod junit;
pub mod scaffold;

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
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Run the tools' test cases (tests/*.json) in process, without a server.
    Test {
        /// Tool ids to test (default: every tool).
        tools: Vec<String>,
        /// Also write the results as JUnit XML to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Pass when no test case ran (by default zero cases is a failure).
        #[arg(long)]
        allow_empty: bool,
    },
    /// Run a tool once and print the exact envelope the gateway would return (logs on stderr).
    Invoke {
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
        tool: String,
        #[arg(long, value_enum)]
        bump: Bump,
        #[arg(long, value_enum)]
        visibility: Option<VisibilityArg>,
    },
    /// Create a tool folder that passes `cortex-emu test` out of the box.
    Init {
        name: String,
        #[arg(long, value_enum)]
        runtime: RuntimeArg,
        /// An MCP tool (JSON-RPC in, JSON-RPC out) instead of a function.
        #[arg(long)]
        mcp: bool,
    },
    /// List activations (newest last), optionally following new ones live.
    Activations {
        #[arg(long)]
        tool: Option<String>,
        #[arg(long)]
        version: Option<String>,
        /// success, error, timeout or interrupted.
        #[arg(long)]
        status: Option<String>,
        /// RFC 3339 timestamp: only activations that started at or after it.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Keep printing activations as they are recorded.
        #[arg(long)]
        follow: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show one activation: event, response, cost and the handler's output.
    Logs {
        activation: String,
        #[arg(long)]
        json: bool,
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
    /// Measure latency, throughput, hot reload, startup and memory; write BENCHMARKS.md.
    Bench {
        /// Where to write the report.
        #[arg(long, default_value = "BENCHMARKS.md")]
        output: PathBuf,
    },
    /// Internal: a worker process that runs handlers for the server.
    #[command(name = "__worker", hide = true)]
    Worker { runtime: String },
}

#[derive(Subcommand, Debug)]
pub enum KeysAction {
    /// Create a key (shown once).
    Create {
        name: String,
        #[arg(long)]
        org: Option<String>,
        /// YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        expires: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List keys with prefix, uses, expiry and state.
    List {
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id (effective immediately).
    Revoke { id: String },
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
        #[arg(long)]
        json: bool,
    },
    /// List the faults in force.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove one fault by id.
    Rm { id: String },
    /// Remove every fault.
    Clear,
}

#[derive(Subcommand, Debug)]
pub enum ClockAction {
    /// Print the emulator's time.
    Show,
    /// Move the clock forward by a span (90s, 15m, 2h, 1d, 1h30m).
    Advance { span: String },
    /// Make the clock read an instant (RFC 3339 or YYYY-MM-DD); time runs on from there.
    Set { instant: String },
    /// Back to the machine's time.
    Real,
}

#[derive(Subcommand, Debug)]
pub enum WalletAction {
    Balance {
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add credits (ledger label `Wallet Recharge`).
    Topup {
        amount: String,
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Ledger {
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
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

#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Configuration file (default: ./emulator.toml when present, else built-in defaults).
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Folder of tool folders (overrides [functions] dir).
    #[arg(long, value_name = "DIR", global = true)]
    pub functions: Option<PathBuf>,
    /// Address to listen on (overrides [server] host).
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one (overrides [server] port).
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// SQLite state file (overrides [state] path).
    #[arg(long, value_name = "PATH", global = true, conflicts_with = "in_memory")]
    pub state: Option<PathBuf>,
    /// Keep state in memory only (nothing is written to disk).
    #[arg(long, global = true)]
    pub in_memory: bool,
}

impl From<CommonArgs> for ServeOptions {
    fn from(a: CommonArgs) -> Self {
        ServeOptions {
            config: a.config,
            functions: a.functions,
            host: a.host,
            port: a.port,
            state: a.state,
            in_memory: a.in_memory,
            ..ServeOptions::default()
        }
    }
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
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
        Some(Command::Worker { runtime }) => match Runtime::from_name(&runtime) {
            Some(r) => crate::executor::entry::worker_main(r),
            None => {
                eprintln!("unknown runtime {runtime:?}");
                2
            }
        },
        Some(Command::Init { name, runtime, mcp }) => init(&opts, &name, runtime, mcp),
        None => with_runtime(|| async { crate::server::serve(opts).await.map(|()| 0) }),
        Some(Command::Serve { import }) => {
            opts.import = import;
            with_runtime(|| async { crate::server::serve(opts).await.map(|()| 0) })
        }
        Some(Command::Fault { action }) => report_piped(|| control::fault(&opts, action)),
        Some(Command::Clock { action }) => report_piped(|| control::clock(&opts, action)),
        Some(Command::Reset) => report_piped(|| control::reset(&opts)),
        Some(Command::Export { dir }) => report_piped(|| control::export(&opts, &dir)),
        Some(Command::Activations {
            tool,
            version,
            status,
            since,
            limit,
            follow,
            json,
        }) => report_piped(|| {
            admin::activations(&opts, tool, version, status, since, limit, follow, json)
        }),
        Some(Command::Logs { activation, json }) => {
            report_piped(|| admin::logs(&opts, &activation, json))
        }
        Some(Command::Keys { action }) => report_piped(|| match action {
            KeysAction::Create {
                name,
                org,
                expires,
                json,
            } => admin::keys_create(&opts, org, &name, expires, json),
            KeysAction::List { org, json } => admin::keys_list(&opts, org, json),
            KeysAction::Revoke { id } => admin::keys_revoke(&opts, &id),
        }),
        Some(Command::Wallet { action }) => report_piped(|| match action {
            WalletAction::Balance { org, json } => admin::wallet_balance(&opts, org, json),
            WalletAction::Topup { amount, org, json } => {
                admin::wallet_topup(&opts, org, &amount, json)
            }
            WalletAction::Ledger { org, limit, json } => {
                admin::wallet_ledger(&opts, org, limit, json)
            }
        }),
        Some(Command::Bench { output }) => with_runtime(|| bench::run(output)),
        Some(Command::Test {
            tools,
            junit,
            allow_empty,
        }) => with_runtime(|| devloop::test(opts, tools, junit, allow_empty)),
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
