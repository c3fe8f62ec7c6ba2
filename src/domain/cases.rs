//! Test cases: `<tool>/tests/<name>.json` =
//! `{"event": ..., "expect": {"statusCode": ..., "body": ..., "subset": false, "ignore": [...]}}`.
//!
//! `body` is compared as JSON when both sides are JSON (a string body is parsed first). With
//! `"subset": true` the actual body may hold more keys than expected (recursively). `ignore`
//! lists dotted paths (`id`, `items.0.created_at`) whose values are not compared.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::domain::admission::{run, Caller, RunRequest};
use crate::domain::app::App;
use crate::domain::runs::outcome;
use crate::registry::{Bundle, Tool};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub event: Value,
    pub expect: Expect,
    /// Accepted for the reader of the file; the emulator shows it nowhere yet.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(rename = "statusCode")]
    pub status_code: Option<i64>,
    pub body: Option<Value>,
    #[serde(default)]
    pub subset: bool,
    #[serde(default)]
    pub ignore: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    pub case: CaseFile,
}

/// The test cases of a tool folder, sorted by name. A file that does not parse is an error.
pub fn load_cases(folder: &Path) -> Result<Vec<TestCase>, String> {
    let dir = folder.join("tests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut cases = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("tests/{name}.json: {e}"))?;
        let case: CaseFile = serde_json::from_str(&text)
            .map_err(|e| format!("tests/{name}.json:{}: {e}", e.line()))?;
        cases.push(TestCase { name, case });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub tool: String,
    pub case: String,
    pub passed: bool,
    /// Human-readable differences, one per line (empty when passed).
    pub diff: Vec<String>,
    pub duration: Duration,
    pub logs: String,
}

/// Runs one case against `bundle` (a tool's draft or a version's snapshot), through the same
/// admission path as every other run (as the tool's own organization: not charged, not
/// recorded).
pub async fn run_case(
    app: &Arc<App>,
    tool: &Tool,
    bundle: Arc<Bundle>,
    case: &TestCase,
) -> CaseOutcome {
    let started = Instant::now();
    let mut request = RunRequest::new(Caller::Local, tool.id.clone(), case.case.event.clone());
    request.code = Some(bundle);
    let (status_code, body, logs) = match run(app, request).await {
        Ok(done) => {
            let (_, code, body) = outcome(&app.catalogue, &done.result);
            (code, body, done.result.logs)
        }
        Err(e) => {
            let code = e.status().as_u16() as i64;
            (code, Some(app.catalogue.body(e)), String::new())
        }
    };
    let diff = compare(&case.case.expect, status_code, body.as_deref());
    CaseOutcome {
        tool: tool.id.clone(),
        case: case.name.clone(),
        passed: diff.is_empty(),
        diff,
        duration: started.elapsed(),
        logs,
    }
}

/// The differences between what a case expects and what the tool returned.
pub fn compare(expect: &Expect, status_code: i64, body: Option<&str>) -> Vec<String> {
    let mut diff = Vec::new();
    if let Some(want) = expect.status_code {
        if want != status_code {
            diff.push(format!("statusCode: expected {want}, got {status_code}"));
        }
    }
    if let Some(want) = &expect.body {
        let got: Value = match body {
            None => Value::Null,
            Some(text) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
            }
        };
        // An expected string that holds JSON is compared as JSON too.
        let want = match want {
            Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| want.clone()),
            other => other.clone(),
        };
        let ignore: Vec<Vec<String>> = expect
            .ignore
            .iter()
            .map(|p| p.split('.').map(str::to_string).collect())
            .collect();
        walk(
            &want,
            &got,
            &mut Vec::new(),
            expect.subset,
            &ignore,
            &mut diff,
        );
    }
    diff
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(200).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

fn walk(
    want: &Value,
    got: &Value,
    path: &mut Vec<String>,
    subset: bool,
    ignore: &[Vec<String>],
    diff: &mut Vec<String>,
) {
    if ignore.iter().any(|p| p == path) {
        return;
    }
    let here = if path.is_empty() {
        "body".to_string()
    } else {
        format!("body.{}", path.join("."))
    };
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                path.push(k.clone());
                match g.get(k) {
                    Some(gv) => walk(wv, gv, path, subset, ignore, diff),
                    None if ignore.iter().any(|p| p == path) => {}
                    None => diff.push(format!(
                        "body.{}: expected {}, but the key is missing",
                        path.join("."),
                        show(wv)
                    )),
                }
                path.pop();
            }
            if !subset {
                for (k, gv) in g {
                    if !w.contains_key(k) {
                        path.push(k.clone());
                        if !ignore.iter().any(|p| p == path) {
                            diff.push(format!(
                                "body.{}: unexpected key with value {}",
                                path.join("."),
                                show(gv)
                            ));
                        }
                        path.pop();
                    }
                }
            }
        }
        (Value::Array(w), Value::Array(g))
            if w.len() == g.len() || (subset && g.len() >= w.len()) =>
        {
            for (i, wv) in w.iter().enumerate() {
                path.push(i.to_string());
                walk(wv, &g[i], path, subset, ignore, diff);
                path.pop();
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            diff.push(format!(
                "{here}: expected {} items, got {}: {}",
                w.len(),
                g.len(),
                show(got)
            ));
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (w, g) if w == g => {}
        (w, g) => diff.push(format!("{here}: expected {}, got {}", show(w), show(g))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(body: Value, subset: bool, ignore: &[&str]) -> Expect {
        Expect {
            status_code: Some(200),
            body: Some(body),
            subset,
            ignore: ignore.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn exact_subset_and_ignore() {
        let body = r#"{"id": "x1", "sum": 10, "extra": true}"#;
        assert_eq!(
            compare(&expect(json!({"sum": 10}), true, &[]), 200, Some(body)),
            Vec::<String>::new()
        );
        assert_eq!(
            compare(
                &expect(json!({"sum": 10, "id": "zz"}), false, &["id"]),
                200,
                Some(body)
            ),
            vec!["body.extra: unexpected key with value true".to_string()]
        );
        assert_eq!(
            compare(&expect(json!({"sum": 11}), true, &[]), 201, Some(body)),
            vec![
                "statusCode: expected 200, got 201".to_string(),
                "body.sum: expected 11, got 10".to_string()
            ]
        );
        assert!(compare(
            &expect(json!({"mean": 2.0}), true, &[]),
            200,
            Some(r#"{"mean": 2}"#)
        )
        .is_empty());
    }
}
