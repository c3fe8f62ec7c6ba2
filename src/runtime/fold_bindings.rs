//! A fold function's bindings, in the worker: key-value (Cloudflare KV's `get` / `put` /
//! `delete` / `list`) and database (D1's prepared statements, `exec`, `batch`), each a SQLite
//! file of its own that the server names in the job. One file per organization and binding is
//! what keeps one organization's data out of another's reach, and SQLite is what makes it
//! persistent; several workers may hold the same file, so files are opened in WAL mode with a
//! busy timeout. Connections are opened on first use and closed with the run.
//!
//! The JavaScript side (`workers_prelude.js`) calls one native with `(name, op, args)`; every
//! answer is JSON, and an `Err` is the message its promise rejects with.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use crate::protocol::FoldBinding;

/// Cloudflare KV's key and value limits.
const MAX_KEY_BYTES: usize = 512;
const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
/// Rows one query may return, so a worker's memory stays bounded.
const MAX_ROWS: usize = 100_000;

pub(crate) struct Bindings {
    list: Vec<FoldBinding>,
    open: HashMap<String, Connection>,
}

impl Bindings {
    pub(crate) fn new(list: Vec<FoldBinding>) -> Bindings {
        Bindings {
            list,
            open: HashMap::new(),
        }
    }

    /// Runs one operation; `Err` is the message the JavaScript promise rejects with.
    pub(crate) fn call(&mut self, name: &str, op: &str, args: &Value) -> Result<Value, String> {
        let binding = self
            .list
            .iter()
            .find(|b| b.name == name)
            .cloned()
            .ok_or_else(|| format!("binding \"{name}\" is not bound to this function"))?;
        if !self.open.contains_key(name) {
            let conn = open(&binding)?;
            self.open.insert(name.to_string(), conn);
        }
        let conn = self.open.get_mut(name).expect("opened above");
        match binding.kind.as_str() {
            "key-value" => kv(conn, op, args),
            "database" => db(conn, op, args),
            other => Err(format!("binding \"{name}\" has an unknown kind {other:?}")),
        }
    }
}

fn open(b: &FoldBinding) -> Result<Connection, String> {
    let path = std::path::Path::new(&b.path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("binding \"{}\" cannot be opened: {e}", b.name))?;
    }
    let fail = |e: rusqlite::Error| format!("binding \"{}\" cannot be opened: {e}", b.name);
    let conn = Connection::open(path).map_err(fail)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(fail)?;
    if b.kind == "key-value" {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL)",
        )
        .map_err(fail)?;
    } else {
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(fail)?;
    }
    Ok(conn)
}

fn str_arg<'a>(args: &'a Value, name: &str) -> Result<&'a str, String> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name} must be a string"))
}

fn check_key(key: &str, op: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(format!(
            "KV {op} failed: 400 Invalid key: key must not be empty."
        ));
    }
    if key == "." || key == ".." {
        return Err(format!("KV {op} failed: 400 Invalid key: \"{key}\""));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "KV {op} failed: 414 UTF-8 encoded length of {} exceeds key length limit of {MAX_KEY_BYTES}.",
            key.len()
        ));
    }
    Ok(())
}

fn kv(conn: &mut Connection, op: &str, args: &Value) -> Result<Value, String> {
    let sql_err = |e: rusqlite::Error| format!("KV {} failed: {e}", op.to_uppercase());
    match op {
        "get" => {
            let key = str_arg(args, "key")?;
            check_key(key, "GET")?;
            let v: Option<String> = conn
                .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
                .map_err(sql_err)?;
            Ok(v.map(Value::String).unwrap_or(Value::Null))
        }
        "put" => {
            let key = str_arg(args, "key")?;
            check_key(key, "PUT")?;
            let value = str_arg(args, "value")?;
            if value.len() > MAX_VALUE_BYTES {
                return Err(format!(
                    "KV PUT failed: 413 Value length of {} exceeds limit of {MAX_VALUE_BYTES}.",
                    value.len()
                ));
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                rusqlite::params![key, value, now],
            )
            .map_err(sql_err)?;
            Ok(Value::Null)
        }
        "delete" => {
            let key = str_arg(args, "key")?;
            check_key(key, "DELETE")?;
            conn.execute("DELETE FROM kv WHERE key = ?1", [key])
                .map_err(sql_err)?;
            Ok(Value::Null)
        }
        "list" => kv_list(conn, args).map_err(|e| format!("KV LIST failed: {e}")),
        other => Err(format!("key-value bindings have no operation {other:?}")),
    }
}

/// Keys in byte order from after the cursor (the last key returned, hex-encoded).
fn kv_list(conn: &mut Connection, args: &Value) -> Result<Value, String> {
    let prefix = args.get("prefix").and_then(Value::as_str).unwrap_or("");
    let limit = match args.get("limit") {
        None | Some(Value::Null) => 1000,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=1000).contains(&n) => n as usize,
            _ => return Err(format!("400 Invalid limit {v}: use 1 to 1000.")),
        },
    };
    let after = match args.get("cursor").and_then(Value::as_str) {
        None | Some("") => None,
        Some(c) => Some(hex_decode(c).ok_or_else(|| "400 Invalid cursor.".to_string())?),
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT key FROM kv WHERE substr(key, 1, length(?1)) = ?1 AND (?2 IS NULL OR key > ?2)
             ORDER BY key LIMIT ?3",
        )
        .map_err(|e| e.to_string())?;
    let mut keys: Vec<String> = stmt
        .query_map(rusqlite::params![prefix, after, limit as i64 + 1], |r| {
            r.get(0)
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let complete = keys.len() <= limit;
    keys.truncate(limit);
    let mut out = json!({
        "keys": keys.iter().map(|k| json!({"name": k})).collect::<Vec<_>>(),
        "list_complete": complete,
    });
    if !complete {
        if let Some(last) = keys.last() {
            out["cursor"] = json!(hex_encode(last));
        }
    }
    Ok(out)
}

fn hex_encode(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// D1's error shape: `D1_ERROR: <message>: SQLITE_<CODE>`.
fn d1_error(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let code = match f.code {
                rusqlite::ErrorCode::ConstraintViolation => "SQLITE_CONSTRAINT",
                rusqlite::ErrorCode::DatabaseBusy => "SQLITE_BUSY",
                rusqlite::ErrorCode::ReadOnly => "SQLITE_READONLY",
                rusqlite::ErrorCode::TooBig => "SQLITE_TOOBIG",
                rusqlite::ErrorCode::AuthorizationForStatementDenied => "SQLITE_AUTH",
                _ => "SQLITE_ERROR",
            };
            let text = msg.clone().unwrap_or_else(|| f.to_string());
            format!("D1_ERROR: {text}: {code}")
        }
        other => format!("D1_ERROR: {other}: SQLITE_ERROR"),
    }
}

fn to_sql(v: &Value) -> Result<Sql, String> {
    Ok(match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Sql::Text(s.clone()),
        Value::Array(items) if items.iter().all(|i| i.as_u64().is_some_and(|b| b < 256)) => {
            Sql::Blob(
                items
                    .iter()
                    .map(|i| i.as_u64().unwrap_or(0) as u8)
                    .collect(),
            )
        }
        other => {
            return Err(format!(
                "D1_TYPE_ERROR: Type 'object' not supported for value '{other}'"
            ))
        }
    })
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => json!(b),
    }
}

/// **choice**: a statement that could open another file (ATTACH, DETACH, or a VACUUM INTO) is
/// refused, so a function reaches only its own binding's file. The first keyword decides.
fn refuse_other_files(sql: &str) -> Result<(), String> {
    let trimmed = strip_comments(sql).to_ascii_uppercase();
    let first = trimmed.split_whitespace().next().unwrap_or("");
    if matches!(first, "ATTACH" | "DETACH") || (first == "VACUUM" && trimmed.contains(" INTO ")) {
        return Err("D1_ERROR: not authorized: SQLITE_AUTH".into());
    }
    Ok(())
}

fn strip_comments(sql: &str) -> String {
    let mut out = String::new();
    for line in sql.lines() {
        let line = line.split("--").next().unwrap_or("");
        out.push_str(line);
        out.push(' ');
    }
    out
}

/// The statements of `sql`, split by SQLite itself (`Connection::prepare` reads one statement
/// and leaves the tail), each checked before anything runs.
fn statements(sql: &str) -> Vec<String> {
    sql.split(';')
        .map(str::trim)
        .filter(|s| !strip_comments(s).trim().is_empty())
        .map(str::to_string)
        .collect()
}

struct Ran {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
    changes: u64,
    last_row_id: i64,
}

fn run_statement(conn: &Connection, sql: &str, params: &[Value]) -> Result<Ran, String> {
    refuse_other_files(sql)?;
    if statements(sql).len() > 1 {
        return Err("D1_ERROR: A prepared SQL statement must contain only one statement.".into());
    }
    let params: Vec<Sql> = params.iter().map(to_sql).collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare(sql).map_err(|e| d1_error(&e))?;
    let columns: Vec<String> = stmt.column_names().map(|c| c.to_string()).collect();
    let before = conn.total_changes();
    let mut rows = Vec::new();
    let mut cursor = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(|e| d1_error(&e))?;
    while let Some(row) = cursor.next().map_err(|e| d1_error(&e))? {
        if rows.len() >= MAX_ROWS {
            return Err(format!(
                "D1_ERROR: the query returns more than {MAX_ROWS} rows; add a LIMIT: SQLITE_TOOBIG"
            ));
        }
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(from_sql(row.get_ref(i).map_err(|e| d1_error(&e))?));
        }
        rows.push(values);
    }
    drop(cursor);
    Ok(Ran {
        columns,
        rows,
        changes: conn.total_changes().saturating_sub(before),
        last_row_id: conn.last_insert_rowid(),
    })
}

fn object(columns: &[String], row: Vec<Value>) -> Value {
    let mut m = Map::new();
    for (c, v) in columns.iter().zip(row) {
        m.insert(c.clone(), v);
    }
    Value::Object(m)
}

/// The shape of `all()` and `run()`. `rows_read` is the rows returned and `rows_written` the
/// rows changed: close to D1's meaning without SQLite's internal counters.
fn all_shape(conn: &Connection, ran: Ran, started: Instant) -> Value {
    let size = conn
        .path()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .unwrap_or(0);
    let rows_read = ran.rows.len();
    let results: Vec<Value> = ran
        .rows
        .into_iter()
        .map(|r| object(&ran.columns, r))
        .collect();
    json!({
        "results": results,
        "success": true,
        "meta": {
            "served_by": "cortex-emu",
            "duration": started.elapsed().as_secs_f64() * 1000.0,
            "changes": ran.changes,
            "last_row_id": ran.last_row_id,
            "changed_db": ran.changes > 0,
            "size_after": size,
            "rows_read": rows_read,
            "rows_written": ran.changes,
        }
    })
}

fn params_of(args: &Value) -> Vec<Value> {
    args.get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn db(conn: &mut Connection, op: &str, args: &Value) -> Result<Value, String> {
    let started = Instant::now();
    match op {
        "query" => {
            let sql = str_arg(args, "sql")?;
            let ran = run_statement(conn, sql, &params_of(args))?;
            match args.get("mode").and_then(Value::as_str).unwrap_or("all") {
                "all" | "run" => Ok(all_shape(conn, ran, started)),
                "first" => Ok(ran
                    .rows
                    .into_iter()
                    .next()
                    .map(|r| object(&ran.columns, r))
                    .unwrap_or(Value::Null)),
                "raw" => Ok(json!(ran.rows)),
                "raw_columns" => {
                    let mut out = vec![json!(ran.columns)];
                    out.extend(ran.rows.into_iter().map(Value::from));
                    Ok(Value::Array(out))
                }
                other => Err(format!("unknown query mode {other:?}")),
            }
        }
        "exec" => {
            let sql = str_arg(args, "sql")?;
            let parts = statements(sql);
            for s in &parts {
                refuse_other_files(s)?;
            }
            conn.execute_batch(sql).map_err(|e| d1_error(&e))?;
            Ok(json!({"count": parts.len(), "duration": started.elapsed().as_secs_f64() * 1000.0}))
        }
        "batch" => {
            let list = args
                .get("statements")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if list.is_empty() {
                // **choice**: D1 refuses an empty batch; its wording is not documented.
                return Err("D1_ERROR: No SQL statements detected.: SQLITE_ERROR".into());
            }
            let tx = conn.transaction().map_err(|e| d1_error(&e))?;
            let mut out = Vec::with_capacity(list.len());
            for s in &list {
                let sql = str_arg(s, "sql")?;
                let ran = run_statement(&tx, sql, &params_of(s))?;
                out.push(all_shape(&tx, ran, started));
            }
            tx.commit().map_err(|e| d1_error(&e))?;
            Ok(Value::Array(out))
        }
        other => Err(format!("database bindings have no operation {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "cortex-emu-bindings-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn bindings(d: &std::path::Path) -> Bindings {
        Bindings::new(vec![
            FoldBinding {
                kind: "key-value".into(),
                name: "kv".into(),
                path: d.join("kv.sqlite").to_string_lossy().into_owned(),
            },
            FoldBinding {
                kind: "database".into(),
                name: "db".into(),
                path: d.join("db.sqlite").to_string_lossy().into_owned(),
            },
        ])
    }

    #[test]
    fn a_kv_keeps_values_lists_by_prefix_and_pages_with_its_cursor() {
        let d = dir();
        let mut b = bindings(&d);
        for k in ["a1", "a2", "a3", "b1"] {
            b.call("kv", "put", &json!({"key": k, "value": k.to_uppercase()}))
                .unwrap();
        }
        b.call("kv", "delete", &json!({"key": "a3"})).unwrap();
        let page = b
            .call("kv", "list", &json!({"prefix": "a", "limit": 1}))
            .unwrap();
        assert_eq!(page["keys"], json!([{"name": "a1"}]));
        assert_eq!(page["list_complete"], false);
        let rest = b
            .call(
                "kv",
                "list",
                &json!({"prefix": "a", "cursor": page["cursor"]}),
            )
            .unwrap();
        assert_eq!(
            rest,
            json!({"keys": [{"name": "a2"}], "list_complete": true})
        );
        drop(b);
        let mut again = bindings(&d);
        assert_eq!(
            again.call("kv", "get", &json!({"key": "b1"})).unwrap(),
            "B1"
        );
        assert_eq!(
            again.call("kv", "get", &json!({"key": "a3"})).unwrap(),
            Value::Null
        );
        let long = "k".repeat(600);
        assert_eq!(
            again
                .call("kv", "put", &json!({"key": long, "value": "x"}))
                .unwrap_err(),
            "KV PUT failed: 414 UTF-8 encoded length of 600 exceeds key length limit of 512."
        );
    }

    #[test]
    fn a_database_answers_in_d1_shapes_and_words_errors_as_d1() {
        let d = dir();
        let mut b = bindings(&d);
        let exec = b
            .call(
                "db",
                "exec",
                &json!({"sql": "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE); CREATE INDEX ue ON u(email);"}),
            )
            .unwrap();
        assert_eq!(exec["count"], 2);
        let ins = b
            .call(
                "db",
                "query",
                &json!({"sql": "INSERT INTO u (email) VALUES (?1)", "params": ["a@x"], "mode": "run"}),
            )
            .unwrap();
        assert_eq!(ins["meta"]["changes"], 1);
        assert_eq!(ins["meta"]["last_row_id"], 1);
        let first = b
            .call(
                "db",
                "query",
                &json!({"sql": "SELECT id, email FROM u", "mode": "first"}),
            )
            .unwrap();
        assert_eq!(first, json!({"id": 1, "email": "a@x"}));
        let raw = b
            .call(
                "db",
                "query",
                &json!({"sql": "SELECT id, email FROM u", "mode": "raw_columns"}),
            )
            .unwrap();
        assert_eq!(raw, json!([["id", "email"], [1, "a@x"]]));
        let dup = b
            .call(
                "db",
                "query",
                &json!({"sql": "INSERT INTO u (email) VALUES (?1)", "params": ["a@x"]}),
            )
            .unwrap_err();
        assert_eq!(
            dup,
            "D1_ERROR: UNIQUE constraint failed: u.email: SQLITE_CONSTRAINT"
        );
        assert_eq!(
            b.call("db", "query", &json!({"sql": "SELECT 1; SELECT 2"}))
                .unwrap_err(),
            "D1_ERROR: A prepared SQL statement must contain only one statement."
        );
        assert_eq!(
            b.call(
                "db",
                "query",
                &json!({"sql": "ATTACH DATABASE '/tmp/x.db' AS other"})
            )
            .unwrap_err(),
            "D1_ERROR: not authorized: SQLITE_AUTH"
        );
        // A batch is one transaction: the second statement's failure undoes the first.
        let failed = b.call(
            "db",
            "batch",
            &json!({"statements": [
                {"sql": "INSERT INTO u (email) VALUES ('b@x')"},
                {"sql": "INSERT INTO nowhere VALUES (1)"}
            ]}),
        );
        assert_eq!(
            failed.unwrap_err(),
            "D1_ERROR: no such table: nowhere: SQLITE_ERROR"
        );
        let count = b
            .call(
                "db",
                "query",
                &json!({"sql": "SELECT COUNT(*) AS n FROM u", "mode": "first"}),
            )
            .unwrap();
        assert_eq!(count["n"], 1);
        assert!(b
            .call("nope", "get", &json!({}))
            .unwrap_err()
            .contains("not bound"));
        assert!(b.call("kv", "drop", &json!({})).is_err());
    }
}
