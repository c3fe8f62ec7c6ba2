//! Tool folders: `<functions>/<folder>/cortexone_function.{py,js,lua}` plus an optional
//! `tool.toml`. A folder that is not a valid tool is reported and skipped; the others load.
//! `domain::reload` hot-reloads folders as they change.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest single file copied into a bundle.
const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// Largest bundle (all files of one tool).
const MAX_BUNDLE_BYTES: u64 = 20 * 1024 * 1024;
pub const MAX_TIMEOUT_SECS: f64 = 300.0;
pub const MAX_MEMORY_MB: u32 = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Python,
    Javascript,
    Lua,
}

impl Runtime {
    pub const ALL: [Runtime; 3] = [Runtime::Python, Runtime::Javascript, Runtime::Lua];

    /// The platform's runtime id.
    pub fn id(self) -> &'static str {
        match self {
            Runtime::Python => "python:3.13",
            Runtime::Javascript => "javascript",
            Runtime::Lua => "lua",
        }
    }

    pub fn entry_file(self) -> &'static str {
        match self {
            Runtime::Python => "cortexone_function.py",
            Runtime::Javascript => "cortexone_function.js",
            Runtime::Lua => "cortexone_function.lua",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::Javascript => "javascript",
            Runtime::Lua => "lua",
        }
    }

    /// Whether its workers keep one warm interpreter and so fork a child per isolation key
    /// (Python); JavaScript and Lua build a fresh VM for every run instead.
    pub fn forks_per_tenant(self) -> bool {
        self == Runtime::Python
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ToolKind {
    #[default]
    Function,
    Mcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Private,
    Public,
}

/// `tool.toml`, every key optional.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ToolToml {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<ToolKind>,
    pub organization: Option<String>,
    pub visibility: Option<Visibility>,
    pub timeout: Option<f64>,
    pub memory: Option<u32>,
    pub price_per_run: Option<toml::Value>,
    pub http: Option<bool>,
    /// The runtime, when the handler file alone does not say it: `python:cpython` runs a
    /// Python tool in the machine's CPython (for packages with native code).
    pub runtime: Option<String>,
    pub secrets: Option<Vec<String>>,
    pub description: Option<String>,
    /// The event's JSON Schema, for the marketplace's `get_tool_schema`: a table, or the name
    /// of a JSON file in the tool's folder.
    pub input_schema: Option<toml::Value>,
}

/// A tool's code and data files, content-addressed. Immutable once built: a new revision is a new
/// bundle, so runs in flight keep the one they started with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub hash: String,
    pub files: BTreeMap<String, String>,
}

impl Bundle {
    pub fn new(files: BTreeMap<String, String>) -> Self {
        let mut h = Sha256::new();
        for (path, content) in &files {
            h.update((path.len() as u64).to_le_bytes());
            h.update(path.as_bytes());
            h.update((content.len() as u64).to_le_bytes());
            h.update(content.as_bytes());
        }
        let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self { hash, files }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub id: String,
    pub name: String,
    pub folder: PathBuf,
    pub runtime: Runtime,
    pub kind: ToolKind,
    /// Organization slug.
    pub organization: String,
    pub visibility: Visibility,
    pub timeout_ms: u64,
    pub memory_mb: u32,
    pub price_per_run: Option<Decimal>,
    pub http: bool,
    /// `runtime = "python:cpython"`: runs in the machine's CPython instead of RustPython.
    pub cpython: bool,
    pub secrets: Vec<String>,
    pub description: String,
    /// Declared in tool.toml (`input_schema`); otherwise the marketplace infers one.
    pub input_schema: Option<serde_json::Value>,
    pub bundle: Arc<Bundle>,
}

/// A folder that could not be loaded, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LoadProblem {
    pub folder: String,
    pub message: String,
}

/// What loading needs from the configuration.
#[derive(Debug, Clone)]
pub struct LoadDefaults {
    pub organization: String,
}

/// Loads one tool folder.
/// The one rule, for `serve`, hot reload and `test`: a folder is a tool when it holds a handler
/// file (`cortexone_function.py`, `.js` or `.lua`). Other folders (`lib/`, `shared/`, assets)
/// are not tools and are neither served nor reported.
pub fn is_tool_folder(folder: &Path) -> bool {
    Runtime::ALL
        .iter()
        .any(|r| folder.join(r.entry_file()).is_file())
}

pub fn load_tool(folder: &Path, defaults: &LoadDefaults) -> Result<Tool, String> {
    let folder_name = folder
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("folder name is not valid UTF-8")?
        .to_string();
    let runtimes: Vec<Runtime> = Runtime::ALL
        .into_iter()
        .filter(|r| folder.join(r.entry_file()).is_file())
        .collect();
    let runtime = match runtimes.as_slice() {
        [r] => *r,
        [] => {
            return Err(
                "no cortexone_function.py, cortexone_function.js or cortexone_function.lua".into(),
            )
        }
        _ => return Err("more than one cortexone_function.* file: keep exactly one".into()),
    };
    let manifest_path = folder.join("tool.toml");
    let manifest: ToolToml = if manifest_path.is_file() {
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| format!("tool.toml: cannot read: {e}"))?;
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            format!("tool.toml:{line}: {}", e.message().trim())
        })?
    } else {
        ToolToml::default()
    };
    let id = manifest.id.clone().unwrap_or_else(|| folder_name.clone());
    if id.is_empty()
        || id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "tool.toml: id {id:?} is not valid (letters, digits, '-', '_' and '.', at most 128)"
        ));
    }
    let timeout = manifest.timeout.unwrap_or(MAX_TIMEOUT_SECS);
    if !(timeout > 0.0 && timeout <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "tool.toml: timeout = {timeout} must be above 0 and at most 300 (seconds)"
        ));
    }
    let memory = manifest.memory.unwrap_or(MAX_MEMORY_MB);
    if !(16..=MAX_MEMORY_MB).contains(&memory) {
        return Err(format!(
            "tool.toml: memory = {memory} must be between 16 and 512 (MB)"
        ));
    }
    let price_per_run = match &manifest.price_per_run {
        None => None,
        Some(v) => {
            let text = match v {
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => format!("{f}"),
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let d: Decimal = text.trim().parse().map_err(|_| {
                format!("tool.toml: price_per_run = {text} is not a decimal amount")
            })?;
            if d.is_sign_negative() {
                return Err("tool.toml: price_per_run must not be negative".into());
            }
            if !crate::money::within_bounds(d) {
                return Err(format!(
                    "tool.toml: price_per_run = {text} is out of range (at most {} credits)",
                    crate::money::MAX_AMOUNT_CREDITS
                ));
            }
            Some(d)
        }
    };
    let input_schema = match &manifest.input_schema {
        None => None,
        Some(v) => Some(read_input_schema(folder, v, &text_of(&manifest_path))?),
    };
    let cpython = declared_engine(runtime, manifest.runtime.as_deref())?;
    let bundle = read_bundle(folder, runtime)?;
    Ok(Tool {
        name: manifest.name.clone().unwrap_or_else(|| folder_name.clone()),
        id,
        folder: folder.to_path_buf(),
        runtime,
        kind: manifest.kind.unwrap_or_default(),
        organization: manifest
            .organization
            .clone()
            .unwrap_or_else(|| defaults.organization.clone()),
        visibility: manifest.visibility.unwrap_or_default(),
        timeout_ms: (timeout * 1000.0).round() as u64,
        memory_mb: memory,
        price_per_run,
        http: manifest.http.unwrap_or(false),
        cpython,
        secrets: manifest.secrets.clone().unwrap_or_default(),
        description: manifest.description.clone().unwrap_or_default(),
        input_schema,
        bundle: Arc::new(bundle),
    })
}

impl Tool {
    /// The runtime as the emulator shows it: the platform's id, or `python:cpython`.
    pub fn runtime_id(&self) -> &'static str {
        if self.cpython {
            CPYTHON_RUNTIME
        } else {
            self.runtime.id()
        }
    }
}

/// The value of `runtime = "python:cpython"`.
pub const CPYTHON_RUNTIME: &str = "python:cpython";

/// Whether tool.toml's `runtime` asks for CPython; `Err` when it names another runtime than
/// the handler file's.
fn declared_engine(runtime: Runtime, declared: Option<&str>) -> Result<bool, String> {
    let Some(declared) = declared else {
        return Ok(false);
    };
    let valid: &[&str] = match runtime {
        Runtime::Python => &["python", "python:3.13", CPYTHON_RUNTIME],
        Runtime::Javascript => &["javascript", "nodejs"],
        Runtime::Lua => &["lua"],
    };
    if valid.contains(&declared) {
        return Ok(declared == CPYTHON_RUNTIME);
    }
    Err(format!(
        "tool.toml: runtime = {declared:?} does not match {}: use {}",
        runtime.entry_file(),
        valid
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(" or ")
    ))
}

/// Whether the tool in `folder` declares `runtime = "python:cpython"` (for the package
/// installer, which works on folders).
pub fn declares_cpython(folder: &Path) -> bool {
    std::fs::read_to_string(folder.join("tool.toml"))
        .ok()
        .and_then(|t| toml::from_str::<ToolToml>(&t).ok())
        .and_then(|m| m.runtime)
        .is_some_and(|r| r == CPYTHON_RUNTIME)
}

fn text_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `input_schema = { type = "object", ... }` or `input_schema = "schema.json"`, as JSON.
fn read_input_schema(
    folder: &Path,
    value: &toml::Value,
    manifest: &str,
) -> Result<serde_json::Value, String> {
    let line = manifest
        .lines()
        .position(|l| l.trim_start().starts_with("input_schema"))
        .map(|i| i + 1)
        .unwrap_or(1);
    let schema = match value {
        toml::Value::String(file) => {
            let path = folder.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!("tool.toml:{line}: input_schema = {file:?}: cannot read it: {e}")
            })?;
            serde_json::from_str(&text)
                .map_err(|e| format!("{file}:{}: input_schema is not valid JSON: {e}", e.line()))?
        }
        other => serde_json::to_value(other).map_err(|e| format!("tool.toml:{line}: {e}"))?,
    };
    if !schema.is_object() {
        return Err(format!(
            "tool.toml:{line}: input_schema must be a JSON Schema object (a table, or a .json file holding one)"
        ));
    }
    Ok(schema)
}

/// Files a tool may ship (PLATFORM.md §2.1): code of its runtime plus data files.
/// The folder of a Python tool's installed packages (`cortex-emu deps`), carried in its bundle
/// and imported from after the tool's own modules.
pub const PACKAGES_DIR: &str = ".packages";
/// The folder of a `runtime = "python:cpython"` tool's packages, installed by CPython's pip
/// (native code included). Not bundled: CPython imports it from the tool folder.
pub const CPYTHON_PACKAGES_DIR: &str = ".packages-cpython";
const PACKAGES_PREFIX: &str = ".packages/";

/// The files of an installed package a run may need: its modules and the data packages read
/// (certificates, JSON tables, text).
fn package_file(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(ext, "py" | "pem" | "json" | "txt")
}

fn bundled(path: &str, runtime: Runtime) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let code = match runtime {
        Runtime::Python => "py",
        Runtime::Javascript => "js",
        Runtime::Lua => "lua",
    };
    ext == code || matches!(ext, "csv" | "md" | "txt" | "json" | "yaml" | "yml")
}

fn read_bundle(folder: &Path, runtime: Runtime) -> Result<Bundle, String> {
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(folder)
                .expect("walked below the folder")
                .to_string_lossy()
                .replace('\\', "/");
            let name = entry.file_name().to_string_lossy().to_string();
            let packages = runtime == Runtime::Python && rel == PACKAGES_DIR;
            if (name.starts_with('.') && !packages)
                || name == "__pycache__"
                || name == "node_modules"
                || name.ends_with(".dist-info")
            {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                // Test cases and cassettes are not part of the code.
                if rel != "tests" && rel != "http" {
                    stack.push(path);
                }
                continue;
            }
            let installed = rel.starts_with(PACKAGES_PREFIX);
            if !meta.is_file() || !(bundled(&rel, runtime) || installed && package_file(&rel)) {
                continue;
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(format!(
                    "{rel}: {} bytes is over the 5 MB file limit",
                    meta.len()
                ));
            }
            total += meta.len();
            if total > MAX_BUNDLE_BYTES {
                return Err("the tool's files add up to more than 20 MB".into());
            }
            let bytes = std::fs::read(&path).map_err(|e| format!("{rel}: {e}"))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{rel}: not UTF-8 text"))?;
            files.insert(rel, text);
        }
    }
    Ok(Bundle::new(files))
}

/// The tools currently served, by id, and the latest problem of each folder that has one.
#[derive(Default)]
pub struct Registry {
    tools: RwLock<HashMap<String, Arc<Tool>>>,
    problems: RwLock<BTreeMap<String, LoadProblem>>,
}

impl Registry {
    /// Scans every folder below `dir`.
    pub fn scan(dir: &Path, defaults: &LoadDefaults) -> Self {
        let registry = Registry::default();
        let mut folders: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect(),
            Err(e) => {
                registry.set_problem(
                    &dir.display().to_string(),
                    format!("cannot read the functions folder: {e}"),
                );
                return registry;
            }
        };
        folders.sort();
        for folder in folders.iter().filter(|f| is_tool_folder(f)) {
            registry.load_folder(folder, defaults);
        }
        registry
    }

    /// Loads one folder; returns the tool, or records the problem.
    pub fn load_folder(&self, folder: &Path, defaults: &LoadDefaults) -> Option<Arc<Tool>> {
        let label = folder_label(folder);
        match load_tool(folder, defaults).and_then(|t| self.install(t)) {
            Ok(tool) => {
                self.clear_problem(&label);
                Some(tool)
            }
            Err(message) => {
                self.set_problem(&label, message);
                None
            }
        }
    }

    /// Serves `tool`, replacing the previous revision of its folder (atomically: a request sees
    /// either the old or the new revision, and runs in flight keep the one they started with).
    pub fn install(&self, tool: Tool) -> Result<Arc<Tool>, String> {
        let mut tools = self.tools.write().unwrap();
        if let Some(existing) = tools.get(&tool.id) {
            if existing.folder != tool.folder {
                return Err(format!(
                    "id {:?} is already used by folder {}",
                    tool.id,
                    existing.folder.display()
                ));
            }
        }
        // The folder's tool may have changed id in tool.toml.
        tools.retain(|id, t| t.folder != tool.folder || *id == tool.id);
        let tool = Arc::new(tool);
        tools.insert(tool.id.clone(), tool.clone());
        Ok(tool)
    }

    /// Stops serving the tool of `folder`; returns it.
    pub fn remove_folder(&self, folder: &Path) -> Option<Arc<Tool>> {
        let mut tools = self.tools.write().unwrap();
        let id = tools
            .iter()
            .find(|(_, t)| t.folder == folder)
            .map(|(id, _)| id.clone())?;
        tools.remove(&id)
    }

    pub fn for_folder(&self, folder: &Path) -> Option<Arc<Tool>> {
        self.tools
            .read()
            .unwrap()
            .values()
            .find(|t| t.folder == folder)
            .cloned()
    }

    pub fn set_problem(&self, folder: &str, message: String) {
        self.problems.write().unwrap().insert(
            folder.to_string(),
            LoadProblem {
                folder: folder.to_string(),
                message,
            },
        );
    }

    pub fn clear_problem(&self, folder: &str) {
        self.problems.write().unwrap().remove(folder);
    }

    pub fn get(&self, id: &str) -> Option<Arc<Tool>> {
        self.tools.read().unwrap().get(id).cloned()
    }

    /// All tools, sorted by id.
    pub fn list(&self) -> Vec<Arc<Tool>> {
        let mut v: Vec<_> = self.tools.read().unwrap().values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub fn problems(&self) -> Vec<LoadProblem> {
        self.problems.read().unwrap().values().cloned().collect()
    }
}

/// The name a folder is reported under.
pub fn folder_label(folder: &Path) -> String {
    folder
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// `1.0`, `1.0.0` and `v1.0.0` name the same version; `draft` names the working copy.
pub enum VersionSpec {
    Latest,
    Draft,
    Number(String),
}

pub fn parse_version(raw: Option<&str>) -> Option<VersionSpec> {
    let Some(raw) = raw else {
        return Some(VersionSpec::Latest);
    };
    let v = raw.trim();
    if v.eq_ignore_ascii_case("draft") {
        return Some(VersionSpec::Draft);
    }
    if v.eq_ignore_ascii_case("latest") {
        return Some(VersionSpec::Latest);
    }
    let digits = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let parts: Vec<&str> = digits.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut nums = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        nums[i] = p.parse().ok()?;
    }
    Some(VersionSpec::Number(format!(
        "{}.{}.{}",
        nums[0], nums[1], nums[2]
    )))
}
