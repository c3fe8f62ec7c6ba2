//! `cortex-emu fold-tokens create | list`: the fold deploy plane's role tokens on the running
//! emulator, through its admin API (`/_emulator/v1/organizations/{slug}/fold-tokens`).

use serde_json::{json, Value};

use super::admin::{print_json, s as text, table as print_table, AdminClient};
use crate::config::ServeOptions;

pub fn create(
    opts: &ServeOptions,
    org: Option<String>,
    name: &str,
    role: &str,
    expires: Option<String>,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.post(
        &format!("/organizations/{org}/fold-tokens"),
        json!({"name": name, "role": role, "expires": expires}),
    )?;
    if as_json {
        return print_json(&v).map(|()| 0);
    }
    let expiry = match v["expires_at"].as_str() {
        Some(e) => format!(", expires {e}"),
        None => String::new(),
    };
    println!(
        "created fold token {name:?} ({role}) for {org} (id {}{expiry}); it is shown only now:\n{}",
        text(&v["id"]),
        text(&v["token"])
    );
    Ok(0)
}

pub fn list(opts: &ServeOptions, org: Option<String>, as_json: bool) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let org = org.unwrap_or_else(|| c.default_org.clone());
    let v = c.get(&format!("/organizations/{org}/fold-tokens"))?;
    let tokens: Vec<Value> = v["tokens"].as_array().cloned().unwrap_or_default();
    if as_json {
        return print_json(&json!(tokens)).map(|()| 0);
    }
    if tokens.is_empty() {
        println!("{org} has no fold tokens\n  hint: cortex-emu fold-tokens create NAME --role deployer --org {org}");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                text(&t["name"]),
                text(&t["role"]),
                format!("{}...", text(&t["prefix"])),
                text(&t["expires_at"]),
                text(&t["created_at"]),
            ]
        })
        .collect();
    print_table(&["NAME", "ROLE", "PREFIX", "EXPIRES", "CREATED"], &rows);
    Ok(0)
}
