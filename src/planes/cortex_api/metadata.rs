//! Tenant metadata: the schema fixed at `tenants/create` (`tenant_metadata_schema`, a list of
//! `CustomPropertyDefinition`s) and the check every upload's `tenant_metadata` passes.
//! `document_metadata` is free-form and never checked, as the docs say.

use serde_json::{json, Map, Value};

/// Keys the service keeps for itself (the docs' list), refused as schema field names.
const RESERVED: &[&str] = &[
    "source_id",
    "source_title",
    "source_url",
    "source_type",
    "source_collection",
    "source_owner",
    "source_collaborator",
    "source_upload_time",
    "source_last_updated_time",
    "chunk_id",
    "chunk_uuid",
    "chunk_content",
    "document_metadata",
    "base_metadata",
    "layout",
    "description",
];

const TYPES: &[&str] = &[
    "BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR", "JSON", "ARRAY",
];

/// Longest VARCHAR when a field names no `max_length` (Milvus' default ceiling).
const DEFAULT_MAX_LENGTH: u64 = 65_535;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub name: String,
    pub data_type: String,
    pub max_length: u64,
    pub nullable: bool,
    /// The definition as the client sent it, kept for listings.
    pub definition: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Schema {
    pub fields: Vec<Field>,
}

impl Schema {
    /// The schema of `tenants/create`; `Err` is the sentence for `VALIDATION_ERROR`. Accepts the
    /// SDK's `name`/`data_type` and the older docs' `key`/`type`.
    pub(crate) fn parse(defs: Vec<Value>) -> Result<Schema, String> {
        let mut fields: Vec<Field> = Vec::new();
        for (i, def) in defs.into_iter().enumerate() {
            let obj = def
                .as_object()
                .ok_or_else(|| format!("tenant_metadata_schema[{i}] must be an object"))?;
            let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
            let name = text("name")
                .or_else(|| text("key"))
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("tenant_metadata_schema[{i}] needs a name"))?;
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                || name.as_bytes()[0].is_ascii_digit()
            {
                return Err(format!(
                    "tenant_metadata_schema field '{name}' must be letters, digits and '_', not starting with a digit"
                ));
            }
            if RESERVED.contains(&name.as_str()) {
                return Err(format!(
                    "tenant_metadata_schema field '{name}' is a reserved key"
                ));
            }
            if fields.iter().any(|f| f.name == name) {
                return Err(format!("tenant_metadata_schema names '{name}' twice"));
            }
            let data_type = text("data_type")
                .or_else(|| text("type"))
                .unwrap_or_else(|| "VARCHAR".into())
                .to_ascii_uppercase();
            if !TYPES.contains(&data_type.as_str()) {
                return Err(format!(
                    "tenant_metadata_schema field '{name}' has data_type '{data_type}'; use one of {}",
                    TYPES.join(", ")
                ));
            }
            let max_length = match obj.get("max_length") {
                None | Some(Value::Null) => DEFAULT_MAX_LENGTH,
                Some(v) => v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                    format!("tenant_metadata_schema field '{name}': max_length must be a positive integer")
                })?,
            };
            let nullable = obj.get("nullable").and_then(Value::as_bool).unwrap_or(true);
            fields.push(Field {
                name,
                data_type,
                max_length,
                nullable,
                definition: Value::Object(obj.clone()),
            });
        }
        Ok(Schema { fields })
    }

    pub(crate) fn from_json(text: &str) -> Schema {
        let defs: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
        Schema::parse(defs).unwrap_or_default()
    }

    pub(crate) fn to_json(&self) -> String {
        Value::Array(self.fields.iter().map(|f| f.definition.clone()).collect()).to_string()
    }

    /// Checks a source's `tenant_metadata` against the schema; `Err` is the sentence for
    /// `VALIDATION_ERROR`.
    pub(crate) fn check(&self, metadata: &Map<String, Value>) -> Result<(), String> {
        for (key, value) in metadata {
            let Some(field) = self.fields.iter().find(|f| &f.name == key) else {
                let known: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
                return Err(if known.is_empty() {
                    format!("tenant_metadata field '{key}' is not in the tenant's schema, which has no fields")
                } else {
                    format!(
                        "tenant_metadata field '{key}' is not in the tenant's schema (fields: {})",
                        known.join(", ")
                    )
                });
            };
            field.check(value)?;
        }
        Ok(())
    }
}

impl Field {
    fn check(&self, value: &Value) -> Result<(), String> {
        let ok = match (self.data_type.as_str(), value) {
            (_, Value::Null) => self.nullable,
            ("VARCHAR", Value::String(s)) => {
                if s.chars().count() as u64 > self.max_length {
                    return Err(format!(
                        "tenant_metadata field '{}' is longer than its max_length {}",
                        self.name, self.max_length
                    ));
                }
                true
            }
            ("BOOL", Value::Bool(_)) => true,
            ("INT8" | "INT16" | "INT32" | "INT64", Value::Number(n)) => n.is_i64() || n.is_u64(),
            ("FLOAT" | "DOUBLE", Value::Number(_)) => true,
            ("ARRAY", Value::Array(_)) => true,
            ("JSON", _) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "tenant_metadata field '{}' must be {}, not {}",
                self.name,
                self.data_type,
                json_kind(value)
            ))
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A metadata value given as an object or as a JSON string holding one (the SDK's
/// `MemoryItem.tenant_metadata` is a string, `file_metadata[].metadata` an object); `Err` names
/// the field.
pub(crate) fn object(field: &str, v: Option<&Value>) -> Result<Map<String, Value>, String> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(format!("{field} must be a JSON object")),
        },
        Some(_) => Err(format!("{field} must be a JSON object")),
    }
}

/// A stored metadata text back as a JSON object.
pub(crate) fn stored(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::parse(vec![
            json!({"name": "department", "data_type": "VARCHAR", "max_length": 8}),
            json!({"key": "priority", "type": "INT64"}),
        ])
        .unwrap()
    }

    #[test]
    fn uploads_must_match_the_schema() {
        let s = schema();
        let ok: Map<String, Value> =
            serde_json::from_value(json!({"department": "ops", "priority": 2})).unwrap();
        assert!(s.check(&ok).is_ok());
        let unknown: Map<String, Value> =
            serde_json::from_value(json!({"colour": "blue"})).unwrap();
        assert!(s
            .check(&unknown)
            .unwrap_err()
            .contains("fields: department, priority"));
        let long: Map<String, Value> =
            serde_json::from_value(json!({"department": "engineering"})).unwrap();
        assert!(s.check(&long).unwrap_err().contains("max_length 8"));
        let wrong: Map<String, Value> =
            serde_json::from_value(json!({"priority": "high"})).unwrap();
        assert!(s
            .check(&wrong)
            .unwrap_err()
            .contains("must be INT64, not a string"));
    }

    #[test]
    fn bad_schemas_are_refused() {
        assert!(Schema::parse(vec![json!({"name": "chunk_id"})]).is_err());
        assert!(Schema::parse(vec![json!({"name": "a"}), json!({"name": "a"})]).is_err());
        assert!(Schema::parse(vec![json!({"name": "a", "data_type": "TEXT"})]).is_err());
        assert!(Schema::parse(vec![json!("a")]).is_err());
    }

    #[test]
    fn metadata_may_come_as_a_json_string() {
        assert_eq!(object("m", Some(&json!("{\"a\":1}"))).unwrap()["a"], 1);
        assert!(object("m", Some(&json!("[1]"))).is_err());
        assert!(object("m", None).unwrap().is_empty());
    }
}
