//! Bindings an organization's admins defined through the fold plane's API (`POST /bindings`).
//! A binding defined here belongs to that organization: it is defined and allowed for it alone.
//! Bindings from `emulator.toml` (`[fold] bindings`, `allowed_bindings`) are not stored: the
//! config is read again on every start.

use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError};

/// Migration 9.
pub const MIGRATION: &str = r#"
    CREATE TABLE fold_bindings (
        org_id      TEXT NOT NULL,
        binding     TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (org_id, binding)
    );
"#;

pub const WIPE_SQL: &str = "DELETE FROM fold_bindings;";

/// One binding an organization defined, `TYPE:name`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DefinedBinding {
    pub binding: String,
    pub created_at: String,
}

impl Store {
    /// The bindings the organization defined, by name.
    pub async fn fold_bindings(&self, org_id: &str) -> Result<Vec<DefinedBinding>, StoreError> {
        let org = org_id.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT binding, created_at FROM fold_bindings WHERE org_id = ?1 ORDER BY binding",
            )?;
            let rows = stmt.query_map([org], |r| {
                Ok(DefinedBinding {
                    binding: r.get(0)?,
                    created_at: r.get(1)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Defines `binding` for the organization; `None` when it already was (nothing changes).
    pub async fn fold_define_binding(
        &self,
        org_id: &str,
        binding: &str,
    ) -> Result<Option<DefinedBinding>, StoreError> {
        let (org, binding) = (org_id.to_string(), binding.to_string());
        let now = self.clock.rfc3339();
        self.call(move |c| {
            let added = c.execute(
                "INSERT OR IGNORE INTO fold_bindings (org_id, binding, created_at) VALUES (?1, ?2, ?3)",
                params![org, binding, now],
            )?;
            Ok((added == 1).then_some(DefinedBinding {
                binding,
                created_at: now,
            }))
        })
        .await
    }

    /// Removes the organization's definition of `binding`; false when it had none.
    pub async fn fold_remove_binding(
        &self,
        org_id: &str,
        binding: &str,
    ) -> Result<bool, StoreError> {
        let (org, binding) = (org_id.to_string(), binding.to_string());
        self.call(move |c| {
            c.execute(
                "DELETE FROM fold_bindings WHERE org_id = ?1 AND binding = ?2",
                params![org, binding],
            )
            .map(|n| n == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_binding_is_defined_once_per_organization_and_removed() {
        let store = Store::open(None, None, Default::default()).unwrap();
        let first = store
            .fold_define_binding("o", "key-value:kv")
            .await
            .unwrap();
        assert!(first.is_some());
        assert_eq!(
            store
                .fold_define_binding("o", "key-value:kv")
                .await
                .unwrap(),
            None
        );
        assert!(store.fold_bindings("p").await.unwrap().is_empty());
        assert_eq!(
            store.fold_bindings("o").await.unwrap(),
            vec![first.unwrap()]
        );
        assert!(store
            .fold_remove_binding("o", "key-value:kv")
            .await
            .unwrap());
        assert!(!store
            .fold_remove_binding("o", "key-value:kv")
            .await
            .unwrap());
    }
}
