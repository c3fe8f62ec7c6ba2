//! `cortex-emu activations | logs | keys | wallet`: the admin API of the running emulator, as
//! human tables (or `--json` for scripts).

use std::io::{BufRead, BufReader, Write};

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::config::{load_config, Config, ServeOptions};

/// The running emulator's base URL: from its runtime file beside the state (whatever port it
/// chose, `--port 0` included), else the configured address.
pub fn server_url(config: &Config) -> String {
    crate::domain::running::find(config)
        .map(|r| r.url)
        .unwrap_or_else(|| format!("http://{}:{}", config.server.host, config.server.port))
}

/// The admin token: configured, else the one the server wrote beside the state.
pub fn admin_token(config: &Config) -> Option<String> {
    config
        .server
        .admin_token
        .clone()
        .or_else(|| std::fs::read_to_string(config.admin_token_path()).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The running emulator's admin API.
pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
    /// The organization commands act on when none is named.
    pub default_org: String,
}

impl AdminClient {
    pub fn new(opts: &ServeOptions) -> anyhow::Result<Self> {
        let config = load_config(opts)?;
        let token = admin_token(&config)
            .context("no admin token: start the emulator once (it writes one beside the state file) or set [server] admin_token")?;
        Ok(AdminClient {
            base: format!("{}/_emulator/v1", server_url(&config)),
            token,
            http: reqwest::blocking::Client::builder().timeout(None).build()?,
            default_org: config.organizations[0].slug.clone(),
        })
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> anyhow::Result<Value> {
        let resp = req.bearer_auth(&self.token).send().map_err(|e| {
            anyhow::anyhow!(
                "no emulator answers at {} ({e}); start it with `cortex-emu` or pass --port",
                self.base
            )
        })?;
        let status = resp.status();
        let v: Value = resp.json().unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{}", v["error"].as_str().unwrap_or(status.as_str()));
        }
        Ok(v)
    }

    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    pub fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
    }

    pub fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.delete(format!("{}{path}", self.base)))
    }

    /// Calls `each` with every activation the live tail delivers, until the stream ends.
    pub fn follow(&self, mut each: impl FnMut(&Value) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let resp = self
            .http
            .get(format!("{}/activations/stream", self.base))
            .bearer_auth(&self.token)
            .send()
            .with_context(|| format!("no emulator answers at {}", self.base))?;
        for line in BufReader::new(resp).lines() {
            let line = line?;
            if let Some(data) = line.strip_prefix("data:") {
                let v: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                each(&v)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Prints rows as a table with a header, columns padded to their widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

pub(crate) fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn activation_row(a: &Value) -> Vec<String> {
    vec![
        s(&a["started_at"]),
        s(&a["id"]),
        format!("{}@{}", s(&a["tool"]), s(&a["version"])),
        s(&a["status"]),
        s(&a["statusCode"]),
        format!("{:.1}", a["duration_ms"].as_f64().unwrap_or(0.0)),
        s(&a["cost"]),
    ]
}

const ACTIVATION_HEADER: [&str; 7] = [
    "STARTED",
    "ID",
    "TOOL@VERSION",
    "STATUS",
    "CODE",
    "MS",
    "COST",
];

#[allow(clippy::too_many_arguments)]
pub fn activations(
    opts: &ServeOptions,
    tool: Option<String>,
    version: Option<String>,
    status: Option<String>,
    since: Option<String>,
    limit: u32,
    follow: bool,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let mut query = vec![format!("limit={limit}")];
    for (k, v) in [
        ("tool", &tool),
        ("version", &version),
        ("status", &status),
        ("since", &since),
    ] {
        if let Some(v) = v {
            query.push(format!("{k}={}", urlencode(v)));
        }
    }
    let v = c.get(&format!("/activations?{}", query.join("&")))?;
    let list = v["activations"].as_array().cloned().unwrap_or_default();
    if as_json && !follow {
        return print_json(&json!(list)).map(|()| 0);
    }
    if as_json {
        for a in list.iter().rev() {
            println!("{a}");
        }
    } else {
        let rows: Vec<_> = list.iter().rev().map(activation_row).collect();
        table(&ACTIVATION_HEADER, &rows);
    }
    if follow {
        c.follow(|a| {
            let matches = tool.as_ref().is_none_or(|t| a["tool"] == json!(t))
                && status.as_ref().is_none_or(|st| a["status"] == json!(st));
            if matches {
                if as_json {
                    println!("{a}");
                } else {
                    println!("{}", activation_row(a).join("  "));
                }
                std::io::stdout().flush()?;
            }
            Ok(())
        })?;
    }
    Ok(0)
}

pub fn logs(opts: &ServeOptions, id: &str, as_json: bool) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let a = c.get(&format!("/activations/{}", urlencode(id)))?;
    if as_json {
        return print_json(&a).map(|()| 0);
    }
    println!(
        "{} {}@{} {} {} {:.1} ms cost {}",
        s(&a["started_at"]),
        s(&a["tool"]),
        s(&a["version"]),
        s(&a["status"]),
        s(&a["statusCode"]),
        a["duration_ms"].as_f64().unwrap_or(0.0),
        s(&a["cost"])
    );
    println!("event:    {}", a["event"]);
    println!("response: {}", a["response"]);
    if let Some(e) = a["error"].as_str() {
        // The whole error: a traceback's first line says nothing.
        let mut lines = e.lines();
        println!("error:    {}", lines.next().unwrap_or(""));
        for line in lines {
            println!("          {line}");
        }
    }
    println!("logs:");
    for line in a["logs"].as_str().unwrap_or("").lines() {
        println!("    {line}");
    }
    Ok(0)
}

/// `cortex-emu replay ID [--same-version]`: the replay's envelope, then what changed.
pub fn replay(
    opts: &ServeOptions,
    id: &str,
    same_version: bool,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let both = c.post(
        &format!("/activations/{}/replay", urlencode(id)),
        serde_json::json!({ "same_version": same_version }),
    )?;
    if as_json {
        return print_json(&both).map(|()| 0);
    }
    let (a, b) = (&both["original"], &both["replay"]);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    println!(
        "replayed {} as {} ({}@{}, code {} → {})",
        s(&a["id"]),
        s(&b["id"]),
        s(&b["tool"]),
        s(&b["version"]),
        s(&a["code_hash"]).chars().take(12).collect::<String>(),
        s(&b["code_hash"]).chars().take(12).collect::<String>()
    );
    let (was, now) = (text(&a["response_text"]), text(&b["response_text"]));
    println!("response: {now}");
    if was == now {
        println!(
            "same response as the original ({} → {})",
            s(&a["status"]),
            s(&b["status"])
        );
    } else {
        println!("the response changed:");
        println!("- {was}");
        println!("+ {now}");
    }
    Ok(0)
}

pub fn keys_create(
    opts: &ServeOptions,
    org: Option<String>,
    name: &str,
    expires: Option<String>,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.post(
        &format!("/organizations/{org}/keys"),
        json!({"name": name, "expires": expires}),
    )?;
    if as_json {
        return print_json(&v).map(|()| 0);
    }
    let expiry = if v["expires_at"].is_null() {
        String::new()
    } else {
        format!(", expires {}", show_expiry(&v["expires_at"]))
    };
    println!(
        "created key {:?} for {org} (id {}{expiry}); it is shown only now:\n{}",
        name,
        s(&v["id"]),
        s(&v["key"])
    );
    Ok(0)
}

pub fn keys_list(opts: &ServeOptions, org: Option<String>, as_json: bool) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.get(&format!("/organizations/{org}/keys"))?;
    let keys = v["keys"].as_array().cloned().unwrap_or_default();
    if as_json {
        return print_json(&json!(keys)).map(|()| 0);
    }
    let rows: Vec<_> = keys
        .iter()
        .map(|k| {
            vec![
                s(&k["id"]),
                s(&k["name"]),
                format!("{}...", s(&k["prefix"])),
                s(&k["use_count"]),
                show_expiry(&k["expires_at"]),
                s(&k["state"]),
            ]
        })
        .collect();
    table(&["ID", "NAME", "PREFIX", "USES", "EXPIRES", "STATE"], &rows);
    Ok(0)
}

/// Revokes the one key `wanted` names: its id, a unique prefix of the id, its name, or the
/// prefix `keys list` shows (with or without the trailing `...`).
pub fn keys_revoke(opts: &ServeOptions, org: Option<String>, wanted: &str) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.get(&format!("/organizations/{org}/keys"))?;
    let keys = v["keys"].as_array().cloned().unwrap_or_default();
    let shown = wanted.trim_end_matches("...");
    let exact: Vec<&Value> = keys
        .iter()
        .filter(|k| k["id"] == json!(wanted) || k["name"] == json!(wanted))
        .collect();
    let matches = if exact.is_empty() {
        keys.iter()
            .filter(|k| {
                !shown.is_empty()
                    && (s(&k["id"]).starts_with(shown) || s(&k["prefix"]).starts_with(shown))
            })
            .collect()
    } else {
        exact
    };
    let key = match matches.as_slice() {
        [one] => *one,
        [] => anyhow::bail!(
            "no key of {org} is called or starts with {wanted:?}\n  hint: `cortex-emu keys list{}` shows them",
            if org == c.default_org { String::new() } else { format!(" --org {org}") }
        ),
        many => anyhow::bail!(
            "{wanted:?} names {} keys of {org} ({}): give the id",
            many.len(),
            many.iter()
                .map(|k| format!("{} {}", s(&k["id"]), s(&k["name"])))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let id = s(&key["id"]);
    c.delete(&format!("/keys/{}", urlencode(&id)))?;
    println!("revoked key {:?} ({id})", s(&key["name"]));
    Ok(0)
}

/// An expiry as a person reads it: a key made with `--expires 2027-06-30` is stored as the
/// instant it stops working (`2027-07-01T00:00:00+00:00`) and shown as the last day it works.
fn show_expiry(v: &Value) -> String {
    let Some(text) = v.as_str() else {
        return "never".into();
    };
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) if t.time() == chrono::NaiveTime::MIN && t.offset().local_minus_utc() == 0 => t
            .date_naive()
            .pred_opt()
            .map(|d| format!("{d} (end of day UTC)"))
            .unwrap_or_else(|| text.to_string()),
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => text.to_string(),
    }
}

pub fn refusals(
    opts: &ServeOptions,
    tool: Option<String>,
    limit: u32,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let mut query = vec![format!("limit={limit}")];
    if let Some(t) = &tool {
        query.push(format!("tool={}", urlencode(t)));
    }
    let v = c.get(&format!("/refusals?{}", query.join("&")))?;
    let list = v["refusals"].as_array().cloned().unwrap_or_default();
    if as_json {
        return print_json(&json!(list)).map(|()| 0);
    }
    let rows: Vec<_> = list
        .iter()
        .rev()
        .map(|r| {
            vec![
                s(&r["at"]),
                s(&r["tool"]),
                s(&r["organization"]),
                s(&r["statusCode"]),
                s(&r["response"]),
                s(&r["reason"]),
            ]
        })
        .collect();
    table(&["AT", "TOOL", "ORG", "CODE", "ROW", "WHY"], &rows);
    Ok(0)
}

/// `activations save ID --as NAME`: the activation's event, with its answer as the expectation,
/// written to `<tool folder>/tests/NAME.json`.
pub fn save_case(opts: &ServeOptions, id: &str, name: &str, force: bool) -> anyhow::Result<i32> {
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        anyhow::bail!(
            "{name:?} cannot name a test case\n  hint: use letters, digits, '-', '_' and '.' (it becomes tests/{{name}}.json)"
        );
    }
    let c = AdminClient::new(opts)?;
    let a = c.get(&format!("/activations/{}", urlencode(id)))?;
    let tool = s(&a["tool"]);
    let tools = c.get("/tools")?;
    let folder = tools["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["id"] == json!(tool))
        .and_then(|t| t["folder"].as_str())
        .map(std::path::PathBuf::from)
        .with_context(|| {
            format!("the tool {tool:?} of that activation is no longer in the functions folder")
        })?;
    let response = &a["response"];
    let status_code = response["statusCode"].clone();
    // The body as the envelope carries it (a JSON string) is saved as the JSON it holds, so the
    // case reads naturally; `cortex-emu test` compares a string body as JSON either way.
    let body = match &response["body"] {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::String(text.clone())),
        other => other.clone(),
    };
    if status_code.is_null() {
        anyhow::bail!(
            "activation {} has no response to expect (status {})",
            s(&a["id"]),
            s(&a["status"])
        );
    }
    let case = json!({
        "description": format!("saved from activation {}", s(&a["id"])),
        "event": a["event"],
        "expect": {"statusCode": status_code, "body": body},
    });
    let dir = folder.join("tests");
    let path = dir.join(format!("{name}.json"));
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists\n  hint: pick another name, or pass --force to replace it",
            path.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&path, format!("{}\n", serde_json::to_string_pretty(&case)?))
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "saved {} as {}; run it: cortex-emu test {tool}/{name}",
        s(&a["id"]),
        path.display()
    );
    Ok(0)
}

pub fn wallet_balance(
    opts: &ServeOptions,
    org: Option<String>,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.get(&format!("/organizations/{org}/wallet"))?;
    if as_json {
        return print_json(&v).map(|()| 0);
    }
    println!("{org}: {}", s(&v["balance"]));
    Ok(0)
}

pub fn wallet_topup(
    opts: &ServeOptions,
    org: Option<String>,
    amount: &str,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.post(
        &format!("/organizations/{org}/wallet/topup"),
        json!({"amount": amount}),
    )?;
    if as_json {
        return print_json(&v).map(|()| 0);
    }
    println!(
        "{org}: +{} ({}), balance {}",
        s(&v["credited"]),
        s(&v["label"]),
        s(&v["balance"])
    );
    Ok(0)
}

pub fn wallet_ledger(
    opts: &ServeOptions,
    org: Option<String>,
    limit: u32,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.get(&format!("/organizations/{org}/wallet/ledger?limit={limit}"))?;
    let entries = v["entries"].as_array().cloned().unwrap_or_default();
    if as_json {
        return print_json(&json!(entries)).map(|()| 0);
    }
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            vec![
                s(&e["created_at"]),
                s(&e["label"]),
                s(&e["amount"]),
                s(&e["activation_id"]),
            ]
        })
        .collect();
    table(&["WHEN", "LABEL", "AMOUNT", "ACTIVATION"], &rows);
    Ok(0)
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
