//! `cortex-emu fault | clock | reset | export`: test control of the running emulator, through
//! its admin API.

use std::path::Path;

use serde_json::{json, Value};

use super::admin::AdminClient;
use super::{ClockAction, FaultAction};
use crate::config::ServeOptions;

fn print_fault(f: &Value) {
    let scope: Vec<String> = [
        "route",
        "tool",
        "organization",
        "times",
        "probability",
        "latency_ms",
    ]
    .iter()
    .filter(|k| !f[**k].is_null())
    .map(|k| format!("{k}={}", f[*k].to_string().trim_matches('"')))
    .collect();
    println!(
        "{:<10} {:<20} {} (hits {})",
        f["id"].as_str().unwrap_or("?"),
        f["response"].as_str().unwrap_or("(latency only)"),
        if scope.is_empty() {
            "every request".to_string()
        } else {
            scope.join(" ")
        },
        f["hits"]
    );
}

pub fn fault(opts: &ServeOptions, action: FaultAction) -> anyhow::Result<i32> {
    let admin = AdminClient::new(opts)?;
    match action {
        FaultAction::Add {
            response,
            route,
            tool,
            org,
            times,
            probability,
            latency_ms,
            json,
        } => {
            let body = json!({
                "response": response, "route": route, "tool": tool, "organization": org,
                "times": times, "probability": probability, "latency_ms": latency_ms,
            });
            // Unset options are left out rather than sent as null.
            let body: serde_json::Map<String, Value> = body
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let f = admin.post("/faults", Value::Object(body))?;
            if json.on {
                println!("{f}");
            } else {
                print_fault(&f);
            }
        }
        FaultAction::List { json } => {
            let v = admin.get("/faults")?;
            if json.on {
                println!("{v}");
            } else {
                let faults = v["faults"].as_array().cloned().unwrap_or_default();
                if faults.is_empty() {
                    println!("no faults");
                }
                faults.iter().for_each(print_fault);
            }
        }
        FaultAction::Rm { id } => {
            admin.delete(&format!("/faults/{id}"))?;
            println!("removed {id}");
        }
        FaultAction::Clear => {
            let v = admin.delete("/faults")?;
            println!("removed {} fault(s)", v["deleted"]);
        }
    }
    Ok(0)
}

pub fn clock(opts: &ServeOptions, action: ClockAction) -> anyhow::Result<i32> {
    let admin = AdminClient::new(opts)?;
    let v = match action {
        ClockAction::Show => admin.get("/clock")?,
        ClockAction::Advance { span } => {
            // Checked here too, so a typo is explained before anything is sent.
            crate::clock::parse_span(&span).map_err(|e| anyhow::anyhow!(e))?;
            admin.post("/clock", json!({"advance": span}))?
        }
        ClockAction::Set { instant } => admin.post("/clock", json!({"set": instant}))?,
        ClockAction::Real => admin.post("/clock", json!({"real": true}))?,
    };
    println!(
        "{}{}",
        v["now"].as_str().unwrap_or("?"),
        if v["moved"] == json!(true) {
            " (test clock)"
        } else {
            ""
        }
    );
    Ok(0)
}

pub fn reset(opts: &ServeOptions) -> anyhow::Result<i32> {
    AdminClient::new(opts)?.post("/reset", json!({}))?;
    println!("reset to the state emulator.toml seeds");
    Ok(0)
}

pub fn export(opts: &ServeOptions, dir: &Path) -> anyhow::Result<i32> {
    // The server resolves the folder, so it is made absolute here, against the caller's cwd.
    let absolute = std::env::current_dir()?.join(dir);
    let v = AdminClient::new(opts)?.post("/export", json!({"dir": absolute}))?;
    println!(
        "exported to {}; load it with: cortex-emu serve --import {}",
        v["file"].as_str().unwrap_or("?"),
        dir.display()
    );
    Ok(0)
}
