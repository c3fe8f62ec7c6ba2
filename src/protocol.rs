//! Messages between the server and its worker processes: one JSON document per line over the
//! worker's stdin and stdout.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Execution metadata handed to the handler (PLATFORM.md §2.1 `context`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunContext {
    pub function_id: String,
    pub version: String,
    pub activation_id: String,
    pub organization: String,
}

/// One run, as the worker receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireJob {
    pub code_hash: String,
    /// The tool's files; sent only when the worker does not hold this code hash yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    pub event: Value,
    pub context: RunContext,
    /// The attached secrets: the handler's whole environment.
    pub env: BTreeMap<String, String>,
    pub timeout_ms: u64,
    pub memory_mb: u32,
    pub http: bool,
    pub log_limit: usize,
    /// Only compile the code and look for the entry point; do not run it (hot reload uses this
    /// to keep a broken save from replacing a working revision).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check: bool,
    /// Set for a fold function: the code is a Workers-style module whose `fetch` handler gets
    /// `event` as its request (see [`FoldRequest`]) and these bindings in its `env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<FoldCall>,
    /// How outbound HTTP is answered; `None` when the tool may not call out (`http = false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Set for a tool with `runtime = "python:cpython"`: it runs in the machine's CPython.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpython: Option<CpythonRun>,
}

/// What a CPython run needs beyond a RustPython one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CpythonRun {
    /// Absolute path of the tool's installed packages (`<tool>/.packages-cpython`; it may not
    /// exist).
    pub packages: String,
}

/// What an outbound request of a run may reach, and where its cassettes are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Network {
    pub mode: NetworkMode,
    /// Absolute path of the tool's cassette folder (`<tool>/http`).
    pub cassettes: String,
}

/// The three ways outbound HTTP is answered (README "Outbound HTTP").
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The real network.
    Live,
    /// The real network, and every exchange saved as a cassette.
    Record,
    /// Only the cassettes answer (the default: offline and in CI).
    #[default]
    Replay,
}

impl NetworkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Live => "live",
            NetworkMode::Record => "record",
            NetworkMode::Replay => "replay",
        }
    }
}

/// One outbound request a run made, as its activation lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    /// The response's status; `None` when no response came (refused, unmatched, failed).
    pub status: Option<u16>,
    pub duration_ms: f64,
    /// `live`, `recorded` (live and saved), `cassette` (replayed) or `refused`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a fold run needs beyond a tool run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FoldCall {
    pub bindings: Vec<FoldBinding>,
}

/// One binding a fold run may use: a SQLite file the worker opens itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FoldBinding {
    /// `key-value` or `database`.
    pub kind: String,
    pub name: String,
    /// Absolute path of the binding's SQLite file.
    pub path: String,
}

/// The request a fold function's `fetch` receives, as the job's `event`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FoldRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
}

/// The Response a fold function resolved to, as the run result's `body` (a JSON document).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FoldResponse {
    pub status: u16,
    #[serde(default, rename = "statusText")]
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
}

impl WireJob {
    /// The isolation key of a run: runs with different keys never share an interpreter
    /// (organization, tool and code revision; checks, which run no handler code, share one).
    pub fn tenant(&self) -> String {
        tenant_key(&self.context, &self.code_hash, self.check)
    }
}

/// The isolation key from the fields that make it (see [`WireJob::tenant`]).
pub fn tenant_key(context: &RunContext, code_hash: &str, check: bool) -> String {
    if check {
        return "\u{0}check".to_string();
    }
    format!(
        "{}\u{1f}{}\u{1f}{}",
        context.organization, context.function_id, code_hash
    )
}

/// How a run ended, as far as the handler is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The handler returned.
    Success,
    /// It raised, could not be loaded, or its result could not be converted.
    Error,
    /// It ran past its timeout.
    Timeout,
}

/// The worker's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireReply {
    /// The worker no longer holds the code for that hash: send the job again with its files.
    NeedCode,
    Done(RunResult),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub status: RunStatus,
    pub status_code: i64,
    /// The envelope's `body`: a JSON string, a raw string the handler returned, or null.
    pub body: Option<String>,
    /// Captured `print` / `console.log` output, truncated at the log limit.
    pub logs: String,
    /// The full error (with position) for the activation log.
    pub error: Option<String>,
    /// Handler time measured inside the worker, in milliseconds.
    pub duration_ms: f64,
    /// The outbound requests the run made, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
}

impl RunResult {
    /// The answer to a successful `check` job.
    pub fn checked() -> Self {
        RunResult {
            status: RunStatus::Success,
            status_code: 200,
            body: None,
            logs: String::new(),
            error: None,
            duration_ms: 0.0,
            exchanges: Vec::new(),
        }
    }

    pub fn failed(body: String, error: String, logs: String) -> Self {
        RunResult {
            status: RunStatus::Error,
            status_code: 500,
            body: Some(body),
            logs,
            error: Some(error),
            duration_ms: 0.0,
            exchanges: Vec::new(),
        }
    }
}

/// Appends to a log buffer without passing `limit` bytes (cut on a char boundary, with a marker).
pub fn push_log(buf: &mut String, text: &str, limit: usize) {
    const MARK: &str = "\n[cortex-emu: output truncated]\n";
    if buf.len() >= limit {
        return;
    }
    let room = limit - buf.len();
    if text.len() <= room {
        buf.push_str(text);
    } else {
        let mut cut = room;
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        buf.push_str(&text[..cut]);
        buf.push_str(MARK);
    }
}
