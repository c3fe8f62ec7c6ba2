//! The `cortex-emu` command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::registry::Runtime;
use crate::server::ServeOptions;

#[derive(Parser, Debug)]
#[command(
    name = "cortex-emu",
    version,
    about = "Local emulator of the CortexOne / Rival tool platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, which runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the emulator (the default).
    Serve(ServeArgs),
    /// Internal: a worker process that runs handlers for the server.
    #[command(name = "__worker", hide = true)]
    Worker { runtime: String },
}

#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
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

impl From<ServeArgs> for ServeOptions {
    fn from(a: ServeArgs) -> Self {
        ServeOptions {
            config: a.config,
            functions: a.functions,
            host: a.host,
            port: a.port,
            state: a.state,
            in_memory: a.in_memory,
        }
    }
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Worker { runtime }) => match Runtime::from_name(&runtime) {
            Some(r) => crate::executor::worker::worker_main(r),
            None => {
                eprintln!("unknown runtime {runtime:?}");
                2
            }
        },
        Some(Command::Serve(args)) => run_serve(args),
        None => run_serve(cli.serve),
    }
}

fn run_serve(args: ServeArgs) -> i32 {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CORTEX_EMU_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(crate::server::serve(args.into())) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
