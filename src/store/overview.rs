//! Read-only overviews of the control planes' data for the operator (the admin API and the
//! dashboard): what each plane holds, across organizations, without a plane's own credentials.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ToSql};
use serde_json::{Map, Value};

use super::{Store, StoreError};

/// Rows of `sql` as JSON objects keyed by column name.
fn rows(c: &Connection, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = c.prepare_cached(sql)?;
    let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let mut out = Vec::new();
    let mut q = stmt.query(params)?;
    while let Some(r) = q.next()? {
        let mut m = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::from(format!("({} bytes)", b.len())),
            };
            m.insert(name.clone(), v);
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}

impl Store {
    /// Cortex API tenants with their organization, sub-tenants and how much they hold.
    pub async fn overview_cortex_tenants(&self) -> Result<Vec<Value>, StoreError> {
        self.call(|c| {
            rows(
                c,
                "SELECT t.id, o.slug AS organization, t.is_embeddings, t.embeddings_dimension,
                        t.created_at,
                        (SELECT group_concat(s.id, ',') FROM cortex_sub_tenants s WHERE s.tenant_id = t.id) AS sub_tenants,
                        (SELECT count(*) FROM cortex_sources s WHERE s.tenant_id = t.id AND s.kind = 'knowledge') AS documents,
                        (SELECT count(*) FROM cortex_sources s WHERE s.tenant_id = t.id AND s.kind = 'memories') AS memories
                 FROM cortex_tenants t LEFT JOIN organizations o ON o.id = t.org_id
                 ORDER BY t.created_at, t.id",
                &[],
            )
        })
        .await
    }

    /// A Cortex API tenant's sources (documents and memories), newest first.
    pub async fn overview_cortex_documents(
        &self,
        tenant: &str,
        limit: u32,
    ) -> Result<Vec<Value>, StoreError> {
        let tenant = tenant.to_string();
        self.call(move |c| {
            rows(
                c,
                "SELECT id, sub_tenant_id AS sub_tenant, kind, title, filename, content_type,
                        size_bytes, uploaded_at, ready_at
                 FROM cortex_sources WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT ?2",
                &[&tenant, &limit],
            )
        })
        .await
    }

    /// Fold functions of every organization with their current version.
    pub async fn overview_fold_functions(&self) -> Result<Vec<Value>, StoreError> {
        self.call(|c| {
            rows(
                c,
                "SELECT f.id, o.slug AS organization, f.name, f.version, f.created_at, f.updated_at,
                        (SELECT count(*) FROM fold_versions v WHERE v.function_id = f.id) AS versions
                 FROM fold_functions f LEFT JOIN organizations o ON o.id = f.org_id
                 ORDER BY o.slug, f.name",
                &[],
            )
        })
        .await
    }

    /// The newest fold activations of every organization.
    pub async fn overview_fold_activations(&self, limit: u32) -> Result<Vec<Value>, StoreError> {
        self.call(move |c| {
            rows(
                c,
                "SELECT a.id, o.slug AS organization, a.function_name AS function, a.version,
                        a.status, a.response_status, a.duration_ms, a.error_message, a.triggered_at,
                        a.replay_of
                 FROM fold_activations a LEFT JOIN organizations o ON o.id = a.org_id
                 ORDER BY a.triggered_at DESC LIMIT ?1",
                &[&limit],
            )
        })
        .await
    }

    /// Identity roles of every tenant (system roles included) with their permissions and how
    /// many assignments they have.
    pub async fn overview_identity_roles(&self) -> Result<Vec<Value>, StoreError> {
        self.call(|c| {
            rows(
                c,
                "SELECT r.id, r.tenant, r.name, r.description, r.scope_level, r.is_system,
                        (SELECT group_concat(x.resource || ':' || x.action, ',') FROM identity_role_permissions p
                          JOIN identity_permissions x ON x.id = p.permission_id WHERE p.role_id = r.id) AS permissions,
                        (SELECT count(*) FROM identity_role_assignments a WHERE a.role_id = r.id) AS assignments
                 FROM identity_roles r ORDER BY r.tenant IS NOT NULL, r.tenant, r.name",
                &[],
            )
        })
        .await
    }
}
