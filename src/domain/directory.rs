//! The tool directory a caller sees: every organization's public tools and its own, searched by
//! words and described with an input schema and an example event. The marketplace MCP gateway's
//! `search_tools` / `get_tool_schema` and the fold plane's `search_tools` / `get_tool_info` both
//! answer from here, so the two agree on what is visible and how a tool is described.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::domain::app::App;
use crate::domain::versions::visible_to;
use crate::registry::Tool;

/// The tools an organization (by slug) may see, in registry order.
pub fn visible(app: &App, slug: &str) -> Vec<Arc<Tool>> {
    app.registry
        .list()
        .into_iter()
        .filter(|t| visible_to(&app.store, t, slug))
        .collect()
}

/// One visible tool by id.
pub fn find(app: &App, slug: &str, id: &str) -> Option<Arc<Tool>> {
    visible(app, slug).into_iter().find(|t| t.id == id)
}

/// A tool's summary: id, name, description, runtime, kind, owner, visibility and the newest
/// published version (`draft` when none is).
pub fn describe(app: &App, t: &Tool) -> Value {
    json!({
        "id": t.id, "name": t.name, "description": t.description, "runtime": t.runtime.id(), "type": t.kind,
        "organization": t.organization, "visibility": t.visibility,
        "latest_version": app.store.published(&t.id).first().map(|v| v.version.clone()).unwrap_or_else(|| "draft".into()),
    })
}

/// The visible tools whose id, name or description contains `query` (case-insensitive; empty
/// matches every tool), at most `limit`, as `{"tools": [summary...]}`.
pub fn search(app: &App, slug: &str, query: &str, limit: usize) -> Value {
    let query = query.to_lowercase();
    let hits: Vec<Value> = visible(app, slug)
        .iter()
        .filter(|t| {
            query.is_empty()
                || t.id.to_lowercase().contains(&query)
                || t.name.to_lowercase().contains(&query)
                || t.description.to_lowercase().contains(&query)
        })
        .take(limit)
        .map(|t| describe(app, t))
        .collect();
    json!({ "tools": hits })
}

/// A tool's summary with its `input_schema` and an `example` (`{"event": ...}` or null).
///
/// The declared schema wins; else it is inferred from every case that expects success, and the
/// example is the richest such event.
pub fn info(app: &App, t: &Tool) -> Value {
    let cases = crate::domain::cases::load_cases(&t.folder).unwrap_or_default();
    let events: Vec<Value> = cases
        .iter()
        .filter(|c| {
            c.case
                .expect
                .status_code
                .is_none_or(|s| (200..300).contains(&s))
        })
        .map(|c| c.case.event.clone())
        .collect();
    let example = events
        .iter()
        .max_by_key(|e| e.as_object().map(|o| o.len()).unwrap_or(0))
        .cloned();
    let input_schema = t.input_schema.clone().unwrap_or_else(|| {
        if events.is_empty() {
            json!({"type": "object"})
        } else {
            infer_from_examples(&events)
        }
    });
    let mut v = describe(app, t);
    v["input_schema"] = input_schema;
    v["example"] = example.map(|e| json!({"event": e})).unwrap_or(Value::Null);
    v
}

/// A JSON Schema of the shape several example events share: every key any of them has is a
/// property, and the keys all of them have are required.
fn infer_from_examples(events: &[Value]) -> Value {
    let objects: Vec<&Map<String, Value>> = events.iter().filter_map(Value::as_object).collect();
    if objects.len() < events.len() {
        return infer_schema(&events[0]);
    }
    let mut props = Map::new();
    for o in &objects {
        for (k, v) in *o {
            props.entry(k.clone()).or_insert_with(|| infer_schema(v));
        }
    }
    let required: Vec<&String> = props
        .keys()
        .filter(|k| objects.iter().all(|o| o.contains_key(*k)))
        .collect();
    let mut schema = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// A JSON Schema of an example value's shape.
fn infer_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let props: Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), infer_schema(v)))
                .collect();
            json!({"type": "object", "properties": props})
        }
        Value::Array(a) => {
            json!({"type": "array", "items": a.first().map(infer_schema).unwrap_or(json!({}))})
        }
        Value::String(_) => json!({"type": "string"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Null => json!({"type": "null"}),
    }
}

#[cfg(test)]
mod tests {
    use super::infer_from_examples;
    use serde_json::json;

    #[test]
    fn keys_every_example_has_are_required_and_the_rest_optional() {
        let s = infer_from_examples(&[json!({"a": 1, "b": "x"}), json!({"a": 2.5})]);
        assert_eq!(
            s,
            json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a"]})
        );
    }
}
