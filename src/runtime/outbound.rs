//! Outbound HTTP of a run, in the worker: the one door every runtime's `fetch` (JavaScript, Lua)
//! and Python's sockets (`urllib.request`, `http.client`) go through, so the network mode, the
//! cassettes and the activation's list of exchanges are the same for all of them.
//!
//! Modes (PLATFORM.md §2.1, README "Outbound HTTP"): `replay` answers from the tool's cassettes
//! (`<tool>/http/*.json`) and nothing else; `live` uses the real network; `record` uses it and
//! saves every exchange as a cassette, scrubbed of the run's secrets and of credential headers.
//! A tool without `http = true` may not call out at all.
//!
//! A cassette (recorded or hand-written as a mock):
//! `{"request": {"method", "url", "headers", "body"}, "response": {"status", "statusText",
//! "headers", "body"}}`; a mock may give `"json": <value>` instead of `"body"`. A request matches
//! a cassette on method and URL (after scrubbing, so a secret in the URL matches its
//! placeholder); among several, the one whose request body is the same wins, else the first by
//! file name.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::protocol::{Exchange, Network, NetworkMode, WireJob};

/// A request as a runtime hands it over.
#[derive(Debug, Clone, Deserialize)]
pub struct OutRequest {
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

/// The answer a runtime gets back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutResponse {
    pub status: u16,
    #[serde(rename = "statusText")]
    pub status_text: String,
    /// Lowercase names, in the order they came.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub url: String,
}

struct Run {
    network: Option<Network>,
    /// The run's secrets, longest value first, for scrubbing.
    secrets: Vec<(String, String)>,
    deadline: Instant,
    exchanges: Vec<Exchange>,
    /// The tool's cassettes, read on the run's first replayed request (a run with several
    /// requests reads the folder once; the next run sees any cassette saved since).
    cassettes: Option<Rc<Cassettes>>,
}

type Cassettes = Vec<(PathBuf, Cassette)>;

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

/// A run starts: its network policy, its secrets and its deadline.
pub fn begin(job: &WireJob) {
    let mut secrets: Vec<(String, String)> = job
        .env
        .iter()
        .filter(|(_, v)| v.len() >= 4)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    secrets.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    RUN.with(|r| {
        *r.borrow_mut() = Some(Run {
            network: job.network.clone(),
            secrets,
            deadline: Instant::now() + Duration::from_millis(job.timeout_ms.max(1)),
            exchanges: Vec::new(),
            cassettes: None,
        })
    });
}

/// The run ended: the exchanges it made, in order.
pub fn finish() -> Vec<Exchange> {
    RUN.with(|r| r.borrow_mut().take())
        .map(|run| run.exchanges)
        .unwrap_or_default()
}

/// One request from a handler. `Err` is the message the runtime raises.
pub fn fetch(request: OutRequest) -> Result<OutResponse, String> {
    let started = Instant::now();
    let taken = RUN.with(|r| {
        r.borrow()
            .as_ref()
            .map(|run| (run.network.clone(), run.secrets.clone(), run.deadline))
    });
    let Some((network, secrets, deadline)) = taken else {
        return Err("outbound HTTP is only available while a handler runs".into());
    };
    let method = request.method.to_ascii_uppercase();
    let (outcome, source) = match &network {
        None => (
            Err(format!(
                "outbound HTTP is off for this tool ({method} {}): set http = true in its tool.toml",
                request.url
            )),
            "refused",
        ),
        Some(net) => match net.mode {
            NetworkMode::Replay => (replay(net, &request, &method, &secrets), "cassette"),
            NetworkMode::Live => (live(&request, &method, deadline), "live"),
            NetworkMode::Record => {
                let answer = live(&request, &method, deadline).and_then(|response| {
                    record(net, &request, &method, &response, &secrets)?;
                    Ok(response)
                });
                (answer, "recorded")
            }
        },
    };
    let exchange = Exchange {
        method: method.clone(),
        url: scrub(&request.url, &secrets),
        status: outcome.as_ref().ok().map(|r| r.status),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        source: if outcome.is_ok() { source } else { "refused" }.to_string(),
        error: outcome.as_ref().err().cloned(),
    };
    RUN.with(|r| {
        if let Some(run) = r.borrow_mut().as_mut() {
            run.exchanges.push(exchange);
        }
    });
    outcome
}

/// `fetch` for runtimes that speak JSON text: the request as JSON in, `{"ok": response}` or
/// `{"error": message}` out.
pub fn fetch_json(request: &str) -> String {
    let answer = match serde_json::from_str::<OutRequest>(request) {
        Err(e) => Err(format!("fetch: bad request: {e}")),
        Ok(r) => fetch(r),
    };
    match answer {
        Ok(response) => json!({ "ok": response }).to_string(),
        Err(e) => json!({ "error": e }).to_string(),
    }
}

/// Replaces every secret value of the run by `[secret:NAME]`.
fn scrub(text: &str, secrets: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in secrets {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &format!("[secret:{name}]"));
        }
    }
    out
}

/// Headers whose values are credentials, whatever they hold.
fn credential(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("token")
        || n.contains("secret")
}

/// One client per worker process, built on the first live request (a blocking client starts a
/// runtime thread of its own, too costly per request); each request gets the run's time left.
fn client() -> Result<&'static reqwest::blocking::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::blocking::Client::builder()
                // The handler's own HTTP library follows redirects (or not) as in production.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("outbound HTTP could not start: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn live(request: &OutRequest, method: &str, deadline: Instant) -> Result<OutResponse, String> {
    let verb = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("{method:?} is not an HTTP method"))?;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("the run's time is up".into());
    }
    let mut builder = client()?.request(verb, &request.url).timeout(left);
    for (name, value) in &request.headers {
        // **choice**: no compressed answers, so cassettes stay readable text (the host does
        // not decompress).
        if name.eq_ignore_ascii_case("accept-encoding") {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder
        .send()
        .map_err(|e| format!("{method} {}: {}", request.url, error_chain(&e)))?;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let url = response.url().to_string();
    let bytes = response
        .bytes()
        .map_err(|e| format!("{method} {}: {}", request.url, error_chain(&e)))?;
    Ok(OutResponse {
        status: status.as_u16(),
        status_text: status.canonical_reason().unwrap_or("").to_string(),
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        url,
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[derive(Deserialize)]
struct Cassette {
    request: CassetteRequest,
    response: CassetteResponse,
}

#[derive(Deserialize)]
struct CassetteRequest {
    #[serde(default = "get")]
    method: String,
    url: String,
    #[serde(default)]
    body: Option<String>,
}

#[derive(Deserialize)]
struct CassetteResponse {
    #[serde(default = "ok_status")]
    status: u16,
    #[serde(default, rename = "statusText")]
    status_text: Option<String>,
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    json: Option<Value>,
}

fn ok_status() -> u16 {
    200
}

/// The cassettes of a folder, by file name; a file that is not a cassette is an error naming it.
fn cassettes(dir: &Path) -> Result<Cassettes, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| format!("cassette {}: {e}", p.display()))?;
            let c: Cassette = serde_json::from_str(&text)
                .map_err(|e| format!("cassette {} is not a cassette: {e}", p.display()))?;
            Ok((p, c))
        })
        .collect()
}

fn replay(
    net: &Network,
    request: &OutRequest,
    method: &str,
    secrets: &[(String, String)],
) -> Result<OutResponse, String> {
    let dir = Path::new(&net.cassettes);
    let url = scrub(&request.url, secrets);
    let body = request.body.as_deref().map(|b| scrub(b, secrets));
    let cached = RUN.with(|r| r.borrow().as_ref().and_then(|run| run.cassettes.clone()));
    let all = match cached {
        Some(all) => all,
        None => {
            let all = Rc::new(cassettes(dir)?);
            RUN.with(|r| {
                if let Some(run) = r.borrow_mut().as_mut() {
                    run.cassettes = Some(all.clone());
                }
            });
            all
        }
    };
    let same: Vec<&(PathBuf, Cassette)> = all
        .iter()
        .filter(|(_, c)| c.request.method.eq_ignore_ascii_case(method) && c.request.url == url)
        .collect();
    let chosen = same
        .iter()
        .find(|(_, c)| c.request.body == body)
        .or_else(|| same.first());
    let Some((_, c)) = chosen else {
        return Err(format!(
            "no cassette for {method} {url} in {} (network mode replay): record it with \
             CORTEX_EMU_HTTP_MODE=record (or [network] mode = \"record\") while online, or \
             write a mock there (README \"Outbound HTTP\")",
            dir.display()
        ));
    };
    let r = &c.response;
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            (k.to_ascii_lowercase(), v)
        })
        .collect();
    let body = match (&r.body, &r.json) {
        (Some(b), _) => b.clone(),
        (None, Some(j)) => {
            if !headers.iter().any(|(k, _)| k == "content-type") {
                headers.push(("content-type".into(), "application/json".into()));
            }
            j.to_string()
        }
        (None, None) => String::new(),
    };
    let status_text = r.status_text.clone().unwrap_or_else(|| {
        reqwest::StatusCode::from_u16(r.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("")
            .to_string()
    });
    Ok(OutResponse {
        status: r.status,
        status_text,
        headers,
        body,
        url: request.url.clone(),
    })
}

/// The cassette's file name: method, host and path, and a hash of what is matched on, so a
/// request recorded twice overwrites its own file.
fn cassette_name(method: &str, url: &str, body: Option<&str>) -> String {
    let place: String = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(url)
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let place: String = place.trim_matches('-').chars().take(60).collect();
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(url.as_bytes());
    h.update([0]);
    h.update(body.unwrap_or("").as_bytes());
    let hash: String = h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{place}-{hash}.json", method.to_ascii_lowercase())
}

fn record(
    net: &Network,
    request: &OutRequest,
    method: &str,
    response: &OutResponse,
    secrets: &[(String, String)],
) -> Result<(), String> {
    let scrub_headers = |headers: &[(String, String)]| -> serde_json::Map<String, Value> {
        headers
            .iter()
            .map(|(k, v)| {
                let v = if credential(k) {
                    "[scrubbed]".to_string()
                } else {
                    scrub(v, secrets)
                };
                (k.to_ascii_lowercase(), Value::String(v))
            })
            .collect()
    };
    let url = scrub(&request.url, secrets);
    let body = request.body.as_deref().map(|b| scrub(b, secrets));
    let cassette = json!({
        "request": {
            "method": method,
            "url": url,
            "headers": scrub_headers(&request.headers),
            "body": body,
        },
        "response": {
            "status": response.status,
            "statusText": response.status_text,
            "headers": scrub_headers(&response.headers),
            "body": scrub(&response.body, secrets),
        },
    });
    let dir = Path::new(&net.cassettes);
    std::fs::create_dir_all(dir).map_err(|e| format!("cassette folder {}: {e}", dir.display()))?;
    let path = dir.join(cassette_name(method, &url, body.as_deref()));
    let text = serde_json::to_string_pretty(&cassette).expect("cassettes serialize") + "\n";
    // Written beside and renamed, so a run killed mid-write leaves no half cassette.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("cassette {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_credentials_are_scrubbed() {
        let secrets = vec![("API_KEY".to_string(), "sk-12345".to_string())];
        assert_eq!(
            scrub("https://x.test/?key=sk-12345", &secrets),
            "https://x.test/?key=[secret:API_KEY]"
        );
        assert!(credential("Authorization") && credential("X-Api-Key") && !credential("Accept"));
    }

    #[test]
    fn a_cassette_is_named_after_its_request() {
        assert_eq!(
            cassette_name("GET", "https://api.example.com/v1/items?page=2", None)
                .rsplit_once('-')
                .unwrap()
                .0,
            "get-api-example-com-v1-items"
        );
    }
}
