//! `cortex-emu test`, `invoke` and `publish`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use crate::config::{load_config, ServeOptions};
use crate::domain::admission::{run, Caller, RunRequest};
use crate::domain::app::{App, BuildOptions};
use crate::domain::cases::{load_cases, run_case, CaseOutcome};
use crate::domain::publishing::{publish as publish_tool, Bump, PublishError};
use crate::registry::Visibility;

/// The emulator's state without a server (test runs use a throwaway in-memory store).
fn offline(opts: &ServeOptions, in_memory: bool) -> anyhow::Result<Arc<App>> {
    let mut opts = opts.clone();
    opts.in_memory |= in_memory;
    let config = load_config(&opts)?;
    install_stale_packages(&config.functions.dir, config.cpython_path().as_deref());
    App::build(config, &BuildOptions::default())
}

/// Installs the packages of every Python tool whose `requirements.txt` changed since (or was
/// never) installed, as the dev loop does on load, so `test` and `invoke` run with them.
fn install_stale_packages(functions: &std::path::Path, cpython: Option<&std::path::Path>) {
    let Ok(entries) = std::fs::read_dir(functions) else {
        return;
    };
    let mut folders: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    folders.sort();
    let defaults = crate::registry::LoadDefaults {
        organization: crate::config::DEFAULT_ORG.into(),
    };
    for folder in folders {
        // A folder that does not load (a bad tool.toml) gets its load error, not an install
        // with the wrong pip first.
        if folder.join("cortexone_function.py").is_file()
            && crate::domain::packages::stale(&folder)
            && crate::registry::load_tool(&folder, &defaults).is_ok()
        {
            if let Err(e) = crate::domain::packages::install(&folder, cpython) {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// What `cortex-emu test` was asked to run: a tool id, or `TOOL/CASE` for one case.
#[derive(Debug, Clone, PartialEq)]
struct Selector {
    tool: String,
    case: Option<String>,
}

impl Selector {
    fn parse(text: &str) -> Selector {
        match text.split_once('/') {
            Some((tool, case)) if !case.is_empty() => Selector {
                tool: tool.to_string(),
                case: Some(case.trim_end_matches(".json").to_string()),
            },
            Some((tool, _)) => Selector {
                tool: tool.to_string(),
                case: None,
            },
            None => Selector {
                tool: text.to_string(),
                case: None,
            },
        }
    }
}

/// Runs the selected test cases (every tool's when none is selected); with `watch`, keeps
/// running and re-runs a tool's cases each time its folder is saved. Exit code 1 on any
/// failure (of the last run, when watching).
pub async fn test(
    opts: ServeOptions,
    only: Vec<String>,
    watch: bool,
    junit: Option<PathBuf>,
    allow_empty: bool,
) -> anyhow::Result<i32> {
    // A harness must not pass by mistake: a missing folder is an error, never created here.
    let dir = load_config(&opts)?.functions.dir;
    if !dir.is_dir() {
        anyhow::bail!(
            "the functions folder {} does not exist\n  hint: pass --functions DIR, or set [functions] dir in emulator.toml",
            dir.display()
        );
    }
    let state = offline(&opts, true)?;
    let selectors: Vec<Selector> = only.iter().map(|s| Selector::parse(s)).collect();
    for sel in &selectors {
        let Some(tool) = state.registry.get(&sel.tool) else {
            return Err(unknown_tool(&state, &sel.tool));
        };
        if let Some(case) = &sel.case {
            let cases =
                load_cases(&tool.folder).map_err(|e| anyhow::anyhow!("{}: {e}", tool.id))?;
            if !cases.iter().any(|c| &c.name == case) {
                let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
                anyhow::bail!(
                    "{} has no test case {case:?} (tests/{case}.json)\n  hint: its cases are: {}",
                    tool.id,
                    if names.is_empty() {
                        "(none)".to_string()
                    } else {
                        names.join(", ")
                    }
                );
            }
        }
    }
    let code = suite(&state, &selectors, junit.as_deref(), allow_empty, true).await?;
    if !watch {
        return Ok(code);
    }
    watch_and_rerun(state, selectors, allow_empty, code).await
}

/// `test --watch`: after the first run, each saved tool folder is reloaded (as `serve` would,
/// with the same messages) and its selected cases run again. Ends on Ctrl-C.
async fn watch_and_rerun(
    state: Arc<App>,
    selectors: Vec<Selector>,
    allow_empty: bool,
    mut code: i32,
) -> anyhow::Result<i32> {
    let dir = state.config.functions.dir.clone();
    let (_handle, mut settled) = crate::domain::reload::watch_folders(&dir)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    println!("watching {} for changes (Ctrl-C to stop)", dir.display());
    std::io::stdout().flush()?;
    loop {
        let (folder, first) = tokio::select! {
            next = settled.recv() => match next {
                Some(n) => n,
                None => return Ok(code),
            },
            _ = tokio::signal::ctrl_c() => return Ok(code),
        };
        let previous = state.registry.for_folder(&folder);
        crate::domain::reload::reload(&state, &folder, &state.defaults, first).await;
        let tool_id = state
            .registry
            .for_folder(&folder)
            .or(previous)
            .map(|t| t.id.clone());
        let Some(tool_id) = tool_id else { continue };
        let rerun: Vec<Selector> = if selectors.is_empty() {
            vec![Selector {
                tool: tool_id,
                case: None,
            }]
        } else {
            selectors
                .iter()
                .filter(|s| s.tool == tool_id)
                .cloned()
                .collect()
        };
        if rerun.is_empty() {
            continue;
        }
        code = suite(&state, &rerun, None, allow_empty, false).await?;
        std::io::stdout().flush()?;
    }
}

/// Runs the cases `selectors` pick (all when empty) in parallel; prints a diff per failure and
/// the closing line `N passed, N failed`. `whole` also reports folders that failed to load
/// although no selector names them (the first run of a whole suite).
async fn suite(
    state: &Arc<App>,
    selectors: &[Selector],
    junit: Option<&std::path::Path>,
    allow_empty: bool,
    whole: bool,
) -> anyhow::Result<i32> {
    let picked = |tool: &str| selectors.is_empty() || selectors.iter().any(|s| s.tool == tool);
    let case_picked = |tool: &str, case: &str| {
        selectors.is_empty()
            || selectors
                .iter()
                .any(|s| s.tool == tool && s.case.as_deref().is_none_or(|c| c == case))
    };
    let tools: Vec<_> = state
        .registry
        .list()
        .into_iter()
        .filter(|t| picked(&t.id))
        .collect();
    // Folders that cannot be loaded: every one on a whole run, else those of the picked tools.
    let mut problems: Vec<(String, String)> = state
        .registry
        .problems()
        .into_iter()
        .filter(|p| {
            (whole && selectors.is_empty())
                || tools
                    .iter()
                    .any(|t| crate::registry::folder_label(&t.folder) == p.folder)
        })
        .map(|p| (p.folder, p.message))
        .collect();
    let mut warnings = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut without_cases = Vec::new();
    for tool in tools {
        if problems
            .iter()
            .any(|(f, _)| *f == crate::registry::folder_label(&tool.folder))
        {
            continue;
        }
        for w in crate::domain::settings::warnings(state, &tool) {
            warnings.push(format!(
                "{}/{w}",
                crate::registry::folder_label(&tool.folder)
            ));
        }
        let cases = match load_cases(&tool.folder) {
            Ok(c) => c,
            Err(e) => {
                problems.push((tool.id.clone(), e));
                continue;
            }
        };
        if cases.is_empty() {
            // No case would reveal code that does not compile or lacks its handler: check it.
            if let Err(problem) = state
                .executor
                .check(tool.runtime, tool.cpython, tool.bundle.clone())
                .await
            {
                problems.push((tool.id.clone(), problem));
                continue;
            }
            without_cases.push(tool.id.clone());
        }
        for case in cases.into_iter().filter(|c| case_picked(&tool.id, &c.name)) {
            let state = state.clone();
            let tool = tool.clone();
            tasks.spawn(async move {
                let code = tool.bundle.clone();
                run_case(&state, &tool, code, &case).await
            });
        }
    }
    let mut outcomes: Vec<CaseOutcome> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.context("a test task panicked")?);
    }
    outcomes.sort_by(|a, b| (&a.tool, &a.case).cmp(&(&b.tool, &b.case)));
    let mut out = std::io::stdout().lock();
    for w in &warnings {
        writeln!(out, "warning in {w}")?;
    }
    for o in &outcomes {
        let ms = o.duration.as_secs_f64() * 1000.0;
        if o.passed {
            writeln!(out, "PASS {}/{} ({ms:.1} ms)", o.tool, o.case)?;
        } else {
            writeln!(out, "FAIL {}/{} ({ms:.1} ms)", o.tool, o.case)?;
            for d in &o.diff {
                writeln!(out, "    {d}")?;
            }
            for line in o.logs.lines().take(20) {
                writeln!(out, "    | {line}")?;
            }
        }
    }
    for (folder, message) in &problems {
        writeln!(out, "FAIL {folder} (cannot be loaded)")?;
        for line in message.lines() {
            writeln!(out, "    {line}")?;
        }
    }
    for id in &without_cases {
        writeln!(out, "note: {id} has no test cases (add tests/<name>.json)")?;
    }
    if let Some(path) = junit {
        std::fs::write(path, super::junit::render(&outcomes, &problems))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed = outcomes.len() - passed + problems.len();
    writeln!(out, "{passed} passed, {failed} failed")?;
    if outcomes.is_empty() && problems.is_empty() && !allow_empty {
        writeln!(
            out,
            "error: no test cases ran in {}\n  hint: add <tool>/tests/<name>.json, or pass --allow-empty",
            state.config.functions.dir.display()
        )?;
        return Ok(1);
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Runs a tool once, as the gateway would (no key, no charge, nothing recorded).
pub async fn invoke(
    opts: ServeOptions,
    tool: String,
    version: Option<String>,
    event: Option<String>,
) -> anyhow::Result<i32> {
    let text = match event.as_deref() {
        None => "{}".to_string(),
        Some("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
    };
    let mut event: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("the event is not valid JSON: {e}"))?;
    // A file written for the gateway (`curl -d @file`) wraps the event as `{"event": ...}`;
    // the same file means the same event here, and the note says what was done.
    if let Some(inner) = event
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("event"))
    {
        eprintln!(
            "note: the file is a gateway request body ({{\"event\": ...}}); running its event"
        );
        event = inner.clone();
    }
    let state = offline(&opts, false)?;
    let Some(t) = state.registry.get(&tool) else {
        return Err(unknown_tool(&state, &tool));
    };
    let mut request = RunRequest::new(Caller::Local, t.id.clone(), event);
    request.version = version.clone();
    let done = run(&state, request)
        .await
        .map_err(|_| anyhow::anyhow!("{tool} has no version {:?}", version.unwrap_or_default()))?;
    eprint!("{}", done.result.logs);
    println!("{}", done.text);
    state.store.close();
    Ok(0)
}

/// Publishes through the running emulator's admin API when one answers, else directly.
pub async fn publish(
    opts: ServeOptions,
    tool: String,
    bump: Bump,
    visibility: Option<Visibility>,
) -> anyhow::Result<i32> {
    let config = load_config(&opts)?;
    let token = super::admin::admin_token(&config);
    let running = crate::domain::running::find(&config);
    let url = format!(
        "{}/_emulator/v1/tools/{tool}/publish",
        super::admin::server_url(&config)
    );
    let body = serde_json::json!({"bump": bump, "visibility": visibility});
    if let Some(token) = token {
        let sent = tokio::task::spawn_blocking(move || {
            reqwest::blocking::Client::new()
                .post(&url)
                .bearer_auth(token)
                .json(&body)
                .timeout(std::time::Duration::from_secs(600))
                .send()
                .and_then(|r| Ok((r.status().as_u16(), r.text()?)))
        })
        .await?;
        if let Ok((status, text)) = sent {
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
            return Ok(match status {
                201 => {
                    println!(
                        "published {}@{} (code {}, {} passed)",
                        v["tool"].as_str().unwrap_or(&tool),
                        v["version"].as_str().unwrap_or("?"),
                        &v["code_hash"].as_str().unwrap_or("")
                            [..12.min(v["code_hash"].as_str().unwrap_or("").len())],
                        crate::domain::terminal::count(
                            v["cases_passed"].as_u64().unwrap_or(0) as usize,
                            "test case"
                        )
                    );
                    0
                }
                _ => {
                    eprintln!("error: {}", v["error"].as_str().unwrap_or(&text));
                    if let Some(fails) = v["failures"].as_array() {
                        for f in fails {
                            eprintln!("  {}:", f["case"].as_str().unwrap_or("?"));
                            for d in f["diff"].as_array().into_iter().flatten() {
                                eprintln!("    {}", d.as_str().unwrap_or(""));
                            }
                        }
                    }
                    1
                }
            });
        }
    }
    // A live server holds this state: writing the file behind it would leave its caches stale.
    if let Some(r) = running {
        anyhow::bail!(
            "the emulator running as pid {} holds {}, but its admin API at {} did not take the publish\n  hint: check that it is healthy (or stop it) and try again",
            r.pid,
            config.state.path.display(),
            r.url
        );
    }
    // No emulator is running: publish into the state file directly.
    let state = offline(&opts, false)?;
    let Some(t) = state.registry.get(&tool) else {
        return Err(unknown_tool(&state, &tool));
    };
    let result = publish_tool(&state, &t, bump, visibility).await;
    state.store.close();
    match result {
        Ok(p) => {
            println!(
                "published {}@{} (code {}, {} passed)",
                p.tool,
                p.version,
                &p.code_hash[..12],
                crate::domain::terminal::count(p.cases_passed, "test case")
            );
            Ok(0)
        }
        Err(e @ PublishError::Failing(_))
        | Err(e @ PublishError::NoTestCases)
        | Err(e @ PublishError::BadTestCase(_)) => {
            eprintln!("error: {e}");
            Ok(1)
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// No tool has that id: say why when a folder of that name failed to load (a bad `tool.toml`
/// would otherwise read as a typo in the id).
fn unknown_tool(state: &App, id: &str) -> anyhow::Error {
    let dir = &state.config.functions.dir;
    let problem = state.registry.problems().into_iter().find(|p| {
        std::path::Path::new(&p.folder)
            .file_name()
            .is_some_and(|n| n == id)
    });
    match problem {
        Some(p) => anyhow::anyhow!(
            "tool {id:?} in {} did not load: {}",
            dir.display(),
            p.message
        ),
        None => anyhow::anyhow!("no tool with id {id:?} in {}", dir.display()),
    }
}
