//! The fold deploy plane's tables: role-carrying bearer tokens of the organizations (stored as
//! hashes), functions and every deployed version of them.
//!
//! Only storage lives here; names, roles and what a deploy checks are the plane's. Instants are
//! RFC 3339 UTC strings with milliseconds from the emulator's clock.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{hash_key, Store, StoreError};

/// Migration 7.
pub const MIGRATION: &str = r#"
    CREATE TABLE fold_tokens (
        id          TEXT PRIMARY KEY,
        org_id      TEXT NOT NULL,
        name        TEXT NOT NULL,
        role        TEXT NOT NULL,
        prefix      TEXT NOT NULL,
        hash        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        expires_at  TEXT,
        revoked     INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE fold_functions (
        id          TEXT PRIMARY KEY,
        org_id      TEXT NOT NULL,
        name        TEXT NOT NULL,
        version     INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        UNIQUE (org_id, name)
    );
    CREATE TABLE fold_versions (
        function_id  TEXT NOT NULL REFERENCES fold_functions(id) ON DELETE CASCADE,
        version      INTEGER NOT NULL,
        code         TEXT NOT NULL,
        bindings     TEXT NOT NULL DEFAULT '[]',
        code_hash    TEXT NOT NULL,
        deployed_at  TEXT NOT NULL,
        PRIMARY KEY (function_id, version)
    );
"#;

pub const WIPE_SQL: &str = "
    DELETE FROM fold_versions;
    DELETE FROM fold_functions;
    DELETE FROM fold_tokens;
";

/// A token as the plane checks it.
#[derive(Debug, Clone, Serialize)]
pub struct FoldToken {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked: bool,
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<FoldToken> {
    Ok(FoldToken {
        id: r.get(0)?,
        org_id: r.get(1)?,
        name: r.get(2)?,
        role: r.get(3)?,
        prefix: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        revoked: r.get::<_, i64>(7)? != 0,
    })
}

const TOKEN_COLUMNS: &str = "id, org_id, name, role, prefix, created_at, expires_at, revoked";

/// A function with its current version.
#[derive(Debug, Clone, Serialize)]
pub struct FoldFunction {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

fn function_row(r: &Row<'_>) -> rusqlite::Result<FoldFunction> {
    Ok(FoldFunction {
        id: r.get(0)?,
        org_id: r.get(1)?,
        name: r.get(2)?,
        version: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

const FUNCTION_COLUMNS: &str = "id, org_id, name, version, created_at, updated_at";

/// One deployed version.
#[derive(Debug, Clone, Serialize)]
pub struct FoldVersion {
    pub function_id: String,
    pub version: i64,
    #[serde(skip)]
    pub code: String,
    pub bindings: Vec<String>,
    pub code_hash: String,
    pub deployed_at: String,
}

/// What a deploy did.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub function: FoldFunction,
    /// A function of that name did not exist before.
    pub created: bool,
}

impl Store {
    /// Stores a token (only its hash) for an organization; `Ok(false)` when the token is taken.
    #[allow(clippy::too_many_arguments)]
    pub async fn fold_add_token(
        &self,
        org_id: &str,
        name: &str,
        role: &str,
        token: &str,
        expires_at: Option<String>,
    ) -> Result<Option<FoldToken>, StoreError> {
        let t = FoldToken {
            id: uuid::Uuid::new_v4().to_string(),
            org_id: org_id.to_string(),
            name: name.to_string(),
            role: role.to_string(),
            prefix: token.chars().take(8).collect(),
            created_at: self.clock.rfc3339(),
            expires_at,
            revoked: false,
        };
        let hash = hash_key(token);
        let row = t.clone();
        let added = self
            .call(move |c| {
                c.execute(
                    "INSERT OR IGNORE INTO fold_tokens (id, org_id, name, role, prefix, hash, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![row.id, row.org_id, row.name, row.role, row.prefix, hash, row.created_at, row.expires_at],
                )
            })
            .await?;
        Ok((added == 1).then_some(t))
    }

    /// The token a bearer value names, whatever its state (the plane checks expiry).
    pub async fn fold_token(&self, token: &str) -> Result<Option<FoldToken>, StoreError> {
        let hash = hash_key(token);
        self.call(move |c| {
            c.query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM fold_tokens WHERE hash = ?1"),
                [hash],
                token_row,
            )
            .optional()
        })
        .await
    }

    pub async fn fold_tokens(&self, org_id: &str) -> Result<Vec<FoldToken>, StoreError> {
        let org = org_id.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM fold_tokens WHERE org_id = ?1 ORDER BY created_at, name"
            ))?;
            let rows = stmt.query_map([org], token_row)?;
            rows.collect()
        })
        .await
    }

    pub async fn fold_function_by_name(
        &self,
        org_id: &str,
        name: &str,
    ) -> Result<Option<FoldFunction>, StoreError> {
        let (org, name) = (org_id.to_string(), name.to_string());
        self.call(move |c| {
            c.query_row(
                &format!(
                    "SELECT {FUNCTION_COLUMNS} FROM fold_functions WHERE org_id = ?1 AND name = ?2"
                ),
                params![org, name],
                function_row,
            )
            .optional()
        })
        .await
    }

    pub async fn fold_function(&self, id: &str) -> Result<Option<FoldFunction>, StoreError> {
        let id = id.to_string();
        self.call(move |c| {
            c.query_row(
                &format!("SELECT {FUNCTION_COLUMNS} FROM fold_functions WHERE id = ?1"),
                [id],
                function_row,
            )
            .optional()
        })
        .await
    }

    pub async fn fold_functions(&self, org_id: &str) -> Result<Vec<FoldFunction>, StoreError> {
        let org = org_id.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {FUNCTION_COLUMNS} FROM fold_functions WHERE org_id = ?1 ORDER BY name"
            ))?;
            let rows = stmt.query_map([org], function_row)?;
            rows.collect()
        })
        .await
    }

    /// Deploys `code` as the next version of the organization's function `name` (creating it).
    pub async fn fold_deploy(
        &self,
        org_id: &str,
        name: &str,
        code: String,
        bindings: Vec<String>,
        code_hash: String,
    ) -> Result<Deployed, StoreError> {
        let (org, name) = (org_id.to_string(), name.to_string());
        let now = self.clock.rfc3339();
        self.call(move |c| {
            let existing: Option<(String, i64)> = c
                .query_row(
                    "SELECT id, (SELECT COALESCE(MAX(version), 0) FROM fold_versions WHERE function_id = f.id)
                     FROM fold_functions f WHERE org_id = ?1 AND name = ?2",
                    params![org, name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let created = existing.is_none();
            let (id, version) = match existing {
                Some((id, latest)) => (id, latest + 1),
                None => {
                    let id = format!("fn_{}", uuid::Uuid::new_v4().simple());
                    c.execute(
                        "INSERT INTO fold_functions (id, org_id, name, version, created_at, updated_at)
                         VALUES (?1, ?2, ?3, 0, ?4, ?4)",
                        params![id, org, name, now],
                    )?;
                    (id, 1)
                }
            };
            let bindings = serde_json::to_string(&bindings).unwrap_or_else(|_| "[]".into());
            c.execute(
                "INSERT INTO fold_versions (function_id, version, code, bindings, code_hash, deployed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, version, code, bindings, code_hash, now],
            )?;
            c.execute(
                "UPDATE fold_functions SET version = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, version, now],
            )?;
            let function = c.query_row(
                &format!("SELECT {FUNCTION_COLUMNS} FROM fold_functions WHERE id = ?1"),
                [&id],
                function_row,
            )?;
            Ok(Deployed { function, created })
        })
        .await
    }

    pub async fn fold_version(
        &self,
        function_id: &str,
        version: i64,
    ) -> Result<Option<FoldVersion>, StoreError> {
        let id = function_id.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT function_id, version, code, bindings, code_hash, deployed_at
                 FROM fold_versions WHERE function_id = ?1 AND version = ?2",
                params![id, version],
                |r| {
                    let bindings: String = r.get(3)?;
                    Ok(FoldVersion {
                        function_id: r.get(0)?,
                        version: r.get(1)?,
                        code: r.get(2)?,
                        bindings: serde_json::from_str(&bindings).unwrap_or_default(),
                        code_hash: r.get(4)?,
                        deployed_at: r.get(5)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    /// Every version of a function, newest first.
    pub async fn fold_versions(&self, function_id: &str) -> Result<Vec<FoldVersion>, StoreError> {
        let id = function_id.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT function_id, version, bindings, code_hash, deployed_at
                 FROM fold_versions WHERE function_id = ?1 ORDER BY version DESC",
            )?;
            let rows = stmt.query_map([id], |r| {
                let bindings: String = r.get(2)?;
                Ok(FoldVersion {
                    function_id: r.get(0)?,
                    version: r.get(1)?,
                    code: String::new(),
                    bindings: serde_json::from_str(&bindings).unwrap_or_default(),
                    code_hash: r.get(3)?,
                    deployed_at: r.get(4)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Makes `version` the one in force.
    pub async fn fold_set_version(
        &self,
        function_id: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let id = function_id.to_string();
        let now = self.clock.rfc3339();
        self.call(move |c| {
            c.execute(
                "UPDATE fold_functions SET version = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, version, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn fold_delete_function(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.call(move |c| Ok(c.execute("DELETE FROM fold_functions WHERE id = ?1", [id])? == 1))
            .await
    }
}
