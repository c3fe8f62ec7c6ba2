//! A running emulator for tests, and the fixture tools they use.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

pub const KEY: &str = "RIV_test_acme_key_1";
pub const BROKE_KEY: &str = "RIV_test_broke_key_1";
pub const OTHER_KEY: &str = "RIV_test_other_key_1";
pub const EXPIRED_KEY: &str = "RIV_test_expired_key_1";
pub const ADMIN: &str = "test-admin-token";

pub struct Emu {
    child: Child,
    _stdin: ChildStdin,
    pub base: String,
    pub output: Arc<Mutex<String>>,
    _temp: Option<tempfile::TempDir>,
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub activation_id: Option<String>,
}

impl Reply {
    /// The envelope's `body` string, decoded as JSON.
    pub fn inner(&self) -> serde_json::Value {
        let env: serde_json::Value = serde_json::from_str(&self.body).expect("envelope is JSON");
        serde_json::from_str(env["body"].as_str().expect("body is a string")).expect("body is JSON")
    }
}

pub fn config_text(extra: &str) -> String {
    format!(
        r#"
[server]
port = 0
admin_token = "{ADMIN}"

[billing]
compute_per_second = 1

[[organizations]]
slug = "acme"
balance = 1000

[[organizations.keys]]
name = "test"
key = "{KEY}"

[[organizations.keys]]
name = "old"
key = "{EXPIRED_KEY}"
expires = "2020-01-01"

[[organizations]]
slug = "broke"
balance = 0

[[organizations.keys]]
name = "test"
key = "{BROKE_KEY}"

[[organizations]]
slug = "other"
balance = 1000

[[organizations.keys]]
name = "test"
key = "{OTHER_KEY}"

[secrets]
GREETING = "Hello"
API_TOKEN = "s3cr3t"
{extra}
"#
    )
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_cortex-emu")
}

impl Emu {
    /// Starts the emulator on `functions` with `config` written into a fresh temp folder.
    pub fn start_with(functions: &Path, config: &str) -> Emu {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_path_buf();
        let mut emu = Self::start_in(&dir, functions, config);
        emu._temp = Some(temp);
        emu
    }

    /// Starts the emulator with its config and state in `dir` (which the caller keeps).
    pub fn start_in(dir: &Path, functions: &Path, config: &str) -> Emu {
        std::fs::write(dir.join("emulator.toml"), config).unwrap();
        let mut cmd = Command::new(binary());
        cmd.arg("--config")
            .arg(dir.join("emulator.toml"))
            .arg("--functions")
            .arg(functions)
            .arg("--state")
            .arg(dir.join("state.db"));
        Self::spawn(cmd)
    }

    /// Starts the emulator from a prepared command (arguments, working directory), waits for
    /// its ready line and collects its output.
    pub fn spawn(mut cmd: Command) -> Emu {
        let mut child = cmd
            .env("CORTEX_EMU_STDIN_LIFELINE", "1")
            .env("EMULATOR_OWN_SECRET", "must-not-leak")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cortex-emu");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = output.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("ready on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap().to_string();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
                let mut o = out.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        });
        let err_out = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut o = err_out.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        });
        let addr = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("emulator did not become ready:\n{}", output.lock().unwrap());
            }
        };
        Emu {
            child,
            _stdin: stdin,
            base: format!("http://{addr}"),
            output,
            _temp: None,
        }
    }

    /// Waits until the emulator's output holds `pattern` (its lines are the synchronisation
    /// point) and returns the output so far. The bound only keeps a broken build from hanging.
    pub fn wait_for(&self, pattern: &str) -> String {
        for _ in 0..6000 {
            let out = self.output.lock().unwrap().clone();
            if out.contains(pattern) {
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no {pattern:?} in:\n{}", self.output.lock().unwrap());
    }

    pub fn post(&self, path: &str, auth: Option<&str>, body: &str) -> Reply {
        let mut req = client()
            .post(format!("{}{}", self.base, path))
            .body(body.to_string());
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req
            .header("Content-Type", "application/json")
            .send()
            .expect("request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let activation_id = resp
            .headers()
            .get("x-cortex-emu-activation-id")
            .map(|v| v.to_str().unwrap().to_string());
        Reply {
            status,
            content_type,
            body: resp.text().unwrap(),
            activation_id,
        }
    }

    /// Invokes `tool` (latest version) with `event` as the acme organization.
    pub fn invoke(&self, tool: &str, event: &str) -> Reply {
        self.post(
            &format!("/api/v1/functions/{tool}/invoke"),
            Some(KEY),
            &format!("{{\"event\": {event}}}"),
        )
    }

    /// An admin API call: (status, JSON body).
    pub fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}/_emulator/v1{path}", self.base);
        let mut req = match method {
            "GET" => client().get(url),
            "POST" => client().post(url),
            "DELETE" => client().delete(url),
            other => panic!("method {other}"),
        };
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().expect("admin request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    pub fn health(&self) -> serde_json::Value {
        let text = client()
            .get(format!("{}/_emulator/health", self.base))
            .send()
            .unwrap()
            .text()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end by itself.
    /// Waits for the emulator to exit and returns how; the bound only keeps a process that
    /// never exits from hanging the suite (it fails the test instead).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        for _ in 0..6000 {
            if let Some(status) = self.child.try_wait().expect("wait for the emulator") {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!(
            "the emulator did not exit:\n{}",
            self.output.lock().unwrap()
        );
    }

    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> &'static reqwest::blocking::Client {
    static C: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    C.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    })
}

/// Writes a tool folder `name` with `file` = `source` and an optional `tool.toml`.
pub fn write_tool(dir: &Path, name: &str, file: &str, source: &str, toml: &str) {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(file), source).unwrap();
    if !toml.is_empty() {
        std::fs::write(folder.join("tool.toml"), toml).unwrap();
    }
}

pub fn py(dir: &Path, name: &str, source: &str) {
    write_tool(
        dir,
        name,
        "cortexone_function.py",
        source,
        "timeout = 2\nmemory = 128\n",
    );
}

pub fn js(dir: &Path, name: &str, source: &str) {
    write_tool(
        dir,
        name,
        "cortexone_function.js",
        source,
        "timeout = 2\nmemory = 128\n",
    );
}

pub fn lua(dir: &Path, name: &str, source: &str) {
    write_tool(
        dir,
        name,
        "cortexone_function.lua",
        source,
        "timeout = 2\nmemory = 128\n",
    );
}

/// The repository's sample tools.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-functions")
}

/// The fixture tools shared by most tests.
fn fixtures(dir: &Path) {
    // Documented examples (PLATFORM.md §2, RESPONSES.md H rows).
    py(dir, "py-hello", "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {\"message\": \"Hello, \" + event.get(\"name\", \"World\") + \"!\"}}\n");
    py(
        dir,
        "py-div",
        "def cortexone_handler(event, context):\n    return 1 / 0\n",
    );
    py(
        dir,
        "py-none",
        "def cortexone_handler(event, context):\n    return None\n",
    );
    py(dir, "py-validate", "def cortexone_handler(event, context):\n    if not event.get(\"id\"):\n        return {\"statusCode\": 400, \"body\": {\"error\": \"id is required\"}}\n    return {\"statusCode\": 200, \"body\": {\"ok\": True}}\n");
    py(dir, "py-sum", "def cortexone_handler(event, context):\n    n = event[\"numbers\"]\n    return {\"statusCode\": 200, \"body\": {\"sum\": sum(n), \"mean\": sum(n) / len(n)}}\n");
    py(dir, "py-string-body", "import json\ndef cortexone_handler(event, context):\n    return {\"statusCode\": 201, \"body\": json.dumps({\"a\": 1}, separators=(',', ':'))}\n");
    py(dir, "py-unicode", "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {\"text\": \"caf\\u00e9 \\u2603\", \"n\": 1.5e16, \"f\": 0.1}}\n");
    py(dir, "py-nostatus", "def cortexone_handler(event, context):\n    return {\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": {}}\n");
    py(dir, "py-env", "import os\ndef cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {\"keys\": sorted(os.environ.keys()), \"token\": os.environ.get(\"API_TOKEN\"), \"path\": os.environ.get(\"PATH\"), \"leak\": os.getenv(\"EMULATOR_OWN_SECRET\")}}\n");
    write_tool(
        dir,
        "py-env",
        "tool.toml",
        "secrets = [\"API_TOKEN\"]\ntimeout = 2\n",
        "",
    );
    py(dir, "py-context", "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {\"function_id\": context.function_id, \"version\": context.version, \"org\": context.organization, \"has_id\": len(context.activation_id) == 36, \"remaining\": 0 < context.remaining_time_ms() <= 2000}}\n");
    py(dir, "py-state", "counter = []\ndef cortexone_handler(event, context):\n    counter.append(1)\n    return {\"statusCode\": 200, \"body\": {\"count\": len(counter)}}\n");
    py(dir, "py-stdlib", "import json, re, math, datetime, hashlib, base64, random, collections, uuid, urllib.parse, typing\ndef cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {\"sha\": hashlib.sha256(b'abc').hexdigest()[:8], \"b64\": base64.b64encode(b'hi').decode(), \"q\": urllib.parse.quote('a b'), \"uuid_len\": len(str(uuid.uuid4())), \"sqrt\": math.sqrt(16), \"year\": datetime.date(2024, 5, 1).year, \"re\": re.sub('a+', 'x', 'caaat'), \"rand\": 0 <= random.random() < 1, \"count\": collections.Counter('aab')['a']}}\n");
    py(dir, "py-print", "def cortexone_handler(event, context):\n    print('hello from python')\n    return {\"statusCode\": 200, \"body\": {}}\n");
    py(
        dir,
        "py-syntax",
        "def cortexone_handler(event, context)\n    return 1\n",
    );
    py(
        dir,
        "py-noentry",
        "def handler(event, context):\n    return 1\n",
    );
    py(dir, "py-keyerror", "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": event['missing']}\n");
    py(
        dir,
        "py-loop",
        "def cortexone_handler(event, context):\n    while True:\n        pass\n",
    );
    py(dir, "py-loop-except", "def cortexone_handler(event, context):\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n");
    py(dir, "py-native-loop", "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": sum(range(10**12))}\n");
    py(dir, "py-recursion", "def f(n):\n    return f(n + 1) + 1\ndef cortexone_handler(event, context):\n    return f(0)\n");
    py(dir, "py-deep", "def cortexone_handler(event, context):\n    v = []\n    for _ in range(200000):\n        v = [v]\n    return {\"statusCode\": 200, \"body\": v}\n");
    py(dir, "py-cycle", "def cortexone_handler(event, context):\n    a = []\n    a.append(a)\n    return {\"statusCode\": 200, \"body\": a}\n");
    py(dir, "py-membomb", "def cortexone_handler(event, context):\n    s = 'a' * 10**10\n    return {\"statusCode\": 200, \"body\": len(s)}\n");
    // A generous timeout: the memory limit is what must end it, also on a loaded CI machine
    // (128 MB of page faults took more than 2 s there once).
    write_tool(
        dir,
        "py-memgrow",
        "cortexone_function.py",
        "def cortexone_handler(event, context):\n    chunks = []\n    while True:\n        chunks.append('x' * (1 << 20))\n",
        "timeout = 20\nmemory = 128\n",
    );
    py(dir, "py-files", "import os\ndef cortexone_handler(event, context):\n    with open('data/info.txt') as f:\n        text = f.read().strip()\n    try:\n        open('/etc/passwd').read()\n        escaped = True\n    except OSError:\n        escaped = False\n    return {\"statusCode\": 200, \"body\": {\"text\": text, \"escaped\": escaped, \"exists\": os.path.exists('data/info.txt')}}\n");
    std::fs::create_dir_all(dir.join("py-files/data")).unwrap();
    std::fs::write(dir.join("py-files/data/info.txt"), "from a data file\n").unwrap();
    py(dir, "py-sandbox", "import os\ndef cortexone_handler(event, context):\n    out = {}\n    for name in ('system', 'remove'):\n        try:\n            getattr(os, name)('x')\n            out[name] = 'allowed'\n        except Exception as e:\n            out[name] = type(e).__name__\n    try:\n        import subprocess\n        subprocess.run(['true'])\n        out['subprocess'] = 'allowed'\n    except Exception as e:\n        out['subprocess'] = 'blocked'\n    try:\n        import socket\n        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect(('8.8.8.8', 53))\n        out['socket'] = 'allowed'\n    except Exception:\n        out['socket'] = 'blocked'\n    return {\"statusCode\": 200, \"body\": out}\n");

    js(dir, "js-hello", "function cortexone_handler(event, context) {\n  return { statusCode: 200, body: { message: 'Hello, ' + (event.name || 'World') + '!' } };\n}\n");
    js(
        dir,
        "js-ref",
        "function cortexone_handler(event, context) {\n  return foo;\n}\n",
    );
    js(
        dir,
        "js-undef",
        "function cortexone_handler(event, context) {\n  return undefined;\n}\n",
    );
    js(dir, "js-validate", "function cortexone_handler(event, context) {\n  if (!event.id) return { statusCode: 400, body: { error: 'id is required' } };\n  return { statusCode: 200, body: { ok: true } };\n}\n");
    js(dir, "js-sum", "function cortexone_handler(event, context) {\n  var n = event.numbers; var s = n.reduce(function(a, b) { return a + b; }, 0);\n  return { statusCode: 200, body: { sum: s, mean: s / n.length, half: 10 / 2 } };\n}\n");
    js(dir, "js-env", "function cortexone_handler(event, context) {\n  return { statusCode: 200, body: { keys: Object.keys(process.env).sort(), token: process.env.API_TOKEN, path: process.env.PATH === undefined, ctx: Object.keys(context).length } };\n}\n");
    write_tool(
        dir,
        "js-env",
        "tool.toml",
        "secrets = [\"API_TOKEN\"]\ntimeout = 2\n",
        "",
    );
    js(dir, "js-throw", "class MyError extends Error { constructor(m) { super(m); this.name = 'MyError'; } }\nfunction cortexone_handler(event, context) {\n  throw new MyError('custom failure');\n}\n");
    js(
        dir,
        "js-typeerror",
        "function cortexone_handler(event, context) {\n  var x = 5; return x();\n}\n",
    );
    js(dir, "js-promise", "function cortexone_handler(event, context) {\n  return Promise.resolve({ statusCode: 200, body: {} });\n}\n");
    js(dir, "js-async", "async function cortexone_handler(event, context) {\n  return { statusCode: 200, body: {} };\n}\n");
    js(dir, "js-timer", "function cortexone_handler(event, context) {\n  setTimeout(function() {}, 10);\n  return { statusCode: 200, body: {} };\n}\n");
    js(dir, "js-state", "var counter = 0;\nfunction cortexone_handler(event, context) {\n  counter += 1; globalThis.seen = (globalThis.seen || 0) + 1;\n  return { statusCode: 200, body: { count: counter, seen: globalThis.seen } };\n}\n");
    js(dir, "js-console", "function cortexone_handler(event, context) {\n  console.log('hello from js', 42, {a: 1});\n  console.error('oops');\n  return { statusCode: 200, body: {} };\n}\n");
    js(
        dir,
        "js-syntax",
        "function cortexone_handler(event, context) {\n  return {\n}\n",
    );
    js(
        dir,
        "js-loop",
        "function cortexone_handler(event, context) {\n  while (true) {}\n}\n",
    );
    js(dir, "js-native-loop", "function cortexone_handler(event, context) {\n  [1].forEach(function() { while (true) {} });\n}\n");
    js(dir, "js-recursion", "function f(n) { return f(n + 1) + 1; }\nfunction cortexone_handler(event, context) {\n  return f(0);\n}\n");
    js(dir, "js-deep-stringify", "function cortexone_handler(event, context) {\n  var v = []; for (var i = 0; i < 20000; i++) { v = [v]; }\n  return { statusCode: 200, body: JSON.stringify(v).length };\n}\n");
    js(dir, "js-native-recursion", "function f() { return [1].map(f); }\nfunction cortexone_handler(event, context) {\n  return f();\n}\n");
    js(dir, "js-deep", "function cortexone_handler(event, context) {\n  var v = []; for (var i = 0; i < 200000; i++) { v = [v]; }\n  return { statusCode: 200, body: v };\n}\n");
    js(dir, "js-cycle", "function cortexone_handler(event, context) {\n  var a = {}; a.self = a;\n  return { statusCode: 200, body: a };\n}\n");
    js(dir, "js-membomb", "function cortexone_handler(event, context) {\n  var s = 'a'.repeat(1e10);\n  return { statusCode: 200, body: s.length };\n}\n");
    js(dir, "js-bigalloc", "function cortexone_handler(event, context) {\n  var s = 'a'.repeat(2e9);\n  return { statusCode: 200, body: s.length };\n}\n");
    js(dir, "js-memgrow", "function cortexone_handler(event, context) {\n  var a = []; while (true) { a.push('x'.repeat(1024) + a.length); }\n}\n");

    lua(dir, "lua-hello", "function cortexone_handler(event, context)\n  return {statusCode = 200, body = {message = \"Hello, \" .. (event.name or \"World\") .. \"!\"}}\nend\n");
    lua(
        dir,
        "lua-index",
        "function cortexone_handler(event, context)\n  return x.y\nend\n",
    );
    lua(
        dir,
        "lua-field",
        "function cortexone_handler(event, context)\n  return event.nope.deeper\nend\n",
    );
    lua(
        dir,
        "lua-nil",
        "function cortexone_handler(event, context)\n  return nil\nend\n",
    );
    lua(dir, "lua-validate", "function cortexone_handler(event, context)\n  if not event.id then return {statusCode = 400, body = {error = \"id is required\"}} end\n  return {statusCode = 200, body = {ok = true}}\nend\n");
    lua(dir, "lua-sum", "function cortexone_handler(event, context)\n  local s = 0\n  for _, n in ipairs(event.numbers) do s = s + n end\n  return {statusCode = 200, body = {sum = s, mean = s / #event.numbers, half = 10 / 2, count = #event.numbers}}\nend\n");
    lua(dir, "lua-json", "local json = require(\"json\")\nfunction cortexone_handler(event, context)\n  local parsed = json.decode(event.payload)\n  return {statusCode = 200, body = {first = parsed.items[1], n = #parsed.items, encoded = json.encode({b = 1, a = {1, 2}})}}\nend\n");
    lua(dir, "lua-env", "function cortexone_handler(event, context)\n  local keys = {}\n  for k, _ in pairs(process.env) do table.insert(keys, k) end\n  table.sort(keys)\n  return {statusCode = 200, body = {keys = keys, token = process.env.API_TOKEN, path = process.env.PATH == nil}}\nend\n");
    write_tool(
        dir,
        "lua-env",
        "tool.toml",
        "secrets = [\"API_TOKEN\"]\ntimeout = 2\n",
        "",
    );
    lua(dir, "lua-sandbox", "function cortexone_handler(event, context)\n  local ok_req, err_req = pcall(require, \"os\")\n  return {statusCode = 200, body = {io = io == nil, package = package == nil, load = load == nil, loadstring = loadstring == nil, dofile = dofile == nil, loadfile = loadfile == nil, execute = os.execute == nil, getenv = os.getenv == nil, time = type(os.time()) == \"number\", require_os = ok_req, require_err = tostring(err_req):find(\"not found\") ~= nil}}\nend\n");
    lua(dir, "lua-print", "function cortexone_handler(event, context)\n  print(\"hello from lua\", 1, true)\n  return {statusCode = 200, body = {}}\nend\n");
    lua(
        dir,
        "lua-error",
        "function cortexone_handler(event, context)\n  error(\"boom\")\nend\n",
    );
    lua(
        dir,
        "lua-syntax",
        "function cortexone_handler(event, context)\n  return {\nend\n",
    );
    lua(
        dir,
        "lua-loop",
        "function cortexone_handler(event, context)\n  while true do end\nend\n",
    );
    lua(dir, "lua-pcall-loop", "function cortexone_handler(event, context)\n  while true do pcall(function() while true do end end) end\nend\n");
    lua(dir, "lua-recursion", "local function f(n) return f(n + 1) + 1 end\nfunction cortexone_handler(event, context)\n  return f(0)\nend\n");
    lua(dir, "lua-deep", "function cortexone_handler(event, context)\n  local v = {}\n  for i = 1, 200000 do v = {v} end\n  return {statusCode = 200, body = v}\nend\n");
    lua(dir, "lua-cycle", "function cortexone_handler(event, context)\n  local a = {}\n  a.self = a\n  return {statusCode = 200, body = a}\nend\n");
    lua(dir, "lua-membomb", "function cortexone_handler(event, context)\n  local s = string.rep('a', 1e10)\n  return {statusCode = 200, body = #s}\nend\n");
    lua(dir, "lua-memgrow", "function cortexone_handler(event, context)\n  local t = {}\n  local i = 0\n  while true do i = i + 1; t[i] = string.rep('x', 1024) .. i end\nend\n");

    // Ownership and visibility.
    write_tool(
        dir,
        "other-private",
        "cortexone_function.py",
        "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {}}\n",
        "organization = \"other\"\n",
    );
    write_tool(dir, "other-public", "cortexone_function.py", "def cortexone_handler(event, context):\n    return {\"statusCode\": 200, \"body\": {\"public\": True}}\n", "organization = \"other\"\nvisibility = \"public\"\n");
    write_tool(
        dir,
        "pricey",
        "cortexone_function.lua",
        "function cortexone_handler(event, context)\n  return {statusCode = 200, body = {}}\nend\n",
        "price_per_run = 5000\n",
    );
    // Not tools: reported and skipped, the others still load.
    std::fs::create_dir_all(dir.join("not-a-tool")).unwrap();
    std::fs::write(dir.join("not-a-tool/readme.txt"), "nothing here").unwrap();
    write_tool(
        dir,
        "bad-manifest",
        "cortexone_function.lua",
        "function cortexone_handler() return nil end\n",
        "timeout = \"soon\"\n",
    );
}

/// The emulator most tests share (read-mostly; tests that change state start their own).
pub fn shared() -> &'static Emu {
    static EMU: OnceLock<(tempfile::TempDir, Emu)> = OnceLock::new();
    let (_, emu) = EMU.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        fixtures(dir.path());
        let emu = Emu::start_with(dir.path(), &config_text(""));
        (dir, emu)
    });
    emu
}

pub fn fixtures_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    dir
}

#[allow(dead_code)]
pub fn write_stdin(emu: &mut Emu, text: &str) {
    let _ = emu._stdin.write_all(text.as_bytes());
}
