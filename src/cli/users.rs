//! `cortex-emu users list | unlock | suspend | reactivate`: the identity plane's users on the
//! running emulator, through its admin API. A user is named by id or by email.

use serde_json::{json, Value};

use super::admin::{s as text, table as print_table, urlencode as query_value, AdminClient};
use crate::config::ServeOptions;

fn state_of(u: &Value) -> String {
    if u["locked"] == json!(true) {
        format!(
            "{} (locked until {})",
            text(&u["status"]),
            text(&u["locked_until"])
        )
    } else {
        text(&u["status"])
    }
}

fn list(c: &AdminClient, tenant: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let path = match tenant {
        Some(t) => format!("/identity/users?tenant={}", query_value(t)),
        None => "/identity/users".to_string(),
    };
    let v = c.get(&path)?;
    Ok(v["users"].as_array().cloned().unwrap_or_default())
}

/// A query value, percent-encoded (slugs need none, but a typo with `&` should not surprise).
/// The one user `wanted` names: its id, or its email in any case.
fn find(c: &AdminClient, wanted: &str) -> anyhow::Result<Value> {
    let users = list(c, None)?;
    let w = wanted.trim().to_lowercase();
    users
        .into_iter()
        .find(|u| text(&u["id"]) == w || text(&u["email"]).to_lowercase() == w)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no identity user has the id or email {wanted:?}\n  hint: `cortex-emu users list` shows them"
            )
        })
}

pub fn users_list(
    opts: &ServeOptions,
    tenant: Option<String>,
    as_json: bool,
) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let users = list(&c, tenant.as_deref())?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(0);
    }
    let rows: Vec<_> = users
        .iter()
        .map(|u| {
            vec![
                text(&u["id"]),
                text(&u["tenant"]),
                text(&u["email"]),
                format!("{} {}", text(&u["first_name"]), text(&u["last_name"])),
                state_of(u),
                text(&u["failed_logins"]),
            ]
        })
        .collect();
    print_table(
        &["ID", "TENANT", "EMAIL", "NAME", "STATUS", "FAILURES"],
        &rows,
    );
    Ok(0)
}

fn act(opts: &ServeOptions, wanted: &str, action: &str, done: &str) -> anyhow::Result<i32> {
    let c = AdminClient::new(opts)?;
    let user = find(&c, wanted)?;
    let id = text(&user["id"]);
    let v = c.post(&format!("/identity/users/{id}/{action}"), json!({}))?;
    println!("{done} {} ({id}), now {}", text(&v["email"]), state_of(&v));
    Ok(0)
}

/// Forgets a user's failed logins and lifts its lock.
pub fn users_unlock(opts: &ServeOptions, user: &str) -> anyhow::Result<i32> {
    act(opts, user, "unlock", "unlocked")
}

pub fn users_suspend(opts: &ServeOptions, user: &str) -> anyhow::Result<i32> {
    act(opts, user, "suspend", "suspended")
}

pub fn users_reactivate(opts: &ServeOptions, user: &str) -> anyhow::Result<i32> {
    act(opts, user, "reactivate", "reactivated")
}
