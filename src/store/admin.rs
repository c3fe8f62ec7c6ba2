//! Store operations behind the admin API: organizations, keys, wallet, activation queries.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{hash_key, parse_expiry, Activation, KeyRecord, Organization, Store, StoreError};

/// A key as listed (never the key itself).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub organization: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub use_count: i64,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    pub id: i64,
    pub amount: String,
    pub label: String,
    pub status: String,
    pub activation_id: Option<String>,
    pub created_at: String,
}

/// Filters of the activation list (all optional).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ActivationFilter {
    pub tool: Option<String>,
    pub version: Option<String>,
    pub status: Option<String>,
    /// RFC 3339; activations that started at or after it.
    pub since: Option<String>,
    pub limit: Option<u32>,
    pub organization: Option<String>,
}

fn activation_from(r: &Row<'_>) -> rusqlite::Result<Activation> {
    Ok(Activation {
        id: r.get(0)?,
        org_id: r.get(1)?,
        tool_id: r.get(2)?,
        version: r.get(3)?,
        code_hash: r.get(4)?,
        runtime: r.get(5)?,
        status: r.get(6)?,
        status_code: r.get(7)?,
        duration_ms: r.get(8)?,
        cost_micros: r.get(9)?,
        event: r.get(10)?,
        response: r.get(11)?,
        logs: r.get(12)?,
        error: r.get(13)?,
        started_at: r.get(14)?,
        finished_at: r.get(15)?,
        injected: r.get(16)?,
        exchanges: r.get(17)?,
        replay_of: r.get(18)?,
    })
}

const ACTIVATION_COLUMNS: &str =
    "id, org_id, tool_id, version, code_hash, runtime, status, status_code, duration_ms,
     cost_micros, event, response, logs, error, started_at, finished_at, injected, exchanges, replay_of";

impl Store {
    pub fn organizations(&self) -> Vec<Organization> {
        let mut v: Vec<_> = self.orgs.read().unwrap().values().cloned().collect();
        v.sort_by(|a, b| a.slug.cmp(&b.slug));
        v
    }

    /// Creates an organization with `opening` micro-credits of welcome credits.
    pub async fn create_org(
        &self,
        slug: &str,
        name: &str,
        opening: i64,
    ) -> Result<Organization, StoreError> {
        if self.org_by_slug(slug).is_some() {
            return Err(StoreError::Invalid(format!(
                "organization {slug:?} already exists"
            )));
        }
        let org = Organization {
            id: uuid::Uuid::new_v4().to_string(),
            slug: slug.to_string(),
            name: name.to_string(),
        };
        let o = org.clone();
        let now = self.clock.rfc3339();
        self.call(move |c| {
            c.execute(
                "INSERT INTO organizations (id, slug, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![o.id, o.slug, o.name, now],
            )?;
            c.execute(
                "INSERT INTO ledger (org_id, amount_micros, label, created_at) VALUES (?1, ?2, 'Welcome Credits', ?3)",
                params![o.id, opening, now],
            )?;
            Ok(())
        })
        .await?;
        self.orgs
            .write()
            .unwrap()
            .insert(org.id.clone(), org.clone());
        *self
            .balances
            .lock()
            .unwrap()
            .entry(org.id.clone())
            .or_default() += opening;
        Ok(org)
    }

    /// Creates a key; returns its record and the key itself (shown once, stored as a hash).
    pub async fn create_key(
        &self,
        org_id: &str,
        name: &str,
        expires: Option<&str>,
    ) -> Result<(KeyInfo, String), StoreError> {
        let expires_at = match expires {
            Some(e) => Some(parse_expiry(e).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "expires {e:?} is not a date (YYYY-MM-DD or RFC 3339)"
                ))
            })?),
            None => None,
        };
        let key = super::new_secret("RIV_");
        let rec = KeyRecord {
            id: uuid::Uuid::new_v4().to_string(),
            org_id: org_id.to_string(),
            name: name.to_string(),
            prefix: key.chars().take(8).collect(),
            expires_at,
            revoked: false,
        };
        let (r, h) = (rec.clone(), hash_key(&key));
        let created_at = self.clock.rfc3339();
        let at = created_at.clone();
        self.call(move |c| {
            c.execute(
                "INSERT INTO api_keys (id, org_id, name, prefix, hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.id, r.org_id, r.name, r.prefix, h, at, r.expires_at.map(|e| e.to_rfc3339())],
            )?;
            Ok(())
        })
        .await?;
        self.keys
            .write()
            .unwrap()
            .insert(hash_key(&key), rec.clone());
        let info = KeyInfo {
            id: rec.id,
            organization: self.org(org_id).map(|o| o.slug).unwrap_or_default(),
            name: rec.name,
            prefix: rec.prefix,
            created_at,
            expires_at: rec.expires_at.map(|e| e.to_rfc3339()),
            use_count: 0,
            last_used_at: None,
            revoked: false,
        };
        Ok((info, key))
    }

    pub async fn list_keys(&self, org_id: Option<String>) -> Result<Vec<KeyInfo>, StoreError> {
        let rows: Vec<(KeyInfo, String)> = self
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT id, name, prefix, created_at, expires_at, use_count, last_used_at, revoked_at IS NOT NULL, org_id
                     FROM api_keys WHERE (?1 IS NULL OR org_id = ?1) ORDER BY created_at, name",
                )?;
                let rows = stmt.query_map([org_id], |r| {
                    Ok((
                        KeyInfo {
                            id: r.get(0)?,
                            organization: String::new(),
                            name: r.get(1)?,
                            prefix: r.get(2)?,
                            created_at: r.get(3)?,
                            expires_at: r.get(4)?,
                            use_count: r.get(5)?,
                            last_used_at: r.get(6)?,
                            revoked: r.get(7)?,
                        },
                        r.get::<_, String>(8)?,
                    ))
                })?;
                rows.collect()
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(mut k, org)| {
                k.organization = self.org(&org).map(|o| o.slug).unwrap_or_default();
                k
            })
            .collect())
    }

    /// Revokes a key; effective for the very next request.
    pub async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        let key_id = id.to_string();
        let now = self.clock.rfc3339();
        let changed: usize = self
            .call(move |c| {
                c.execute(
                    "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![key_id, now],
                )
            })
            .await?;
        for k in self.keys.write().unwrap().values_mut() {
            if k.id == id {
                k.revoked = true;
            }
        }
        Ok(changed > 0)
    }

    /// Adds a ledger entry (positive: a credit) and returns the new balance in micro-credits.
    pub async fn credit(
        &self,
        org_id: &str,
        amount_micros: i64,
        label: &str,
    ) -> Result<i64, StoreError> {
        // One credit at a time, so the bound check below holds when the entry lands (runs only
        // lower a balance meanwhile).
        let _one_at_a_time = self.credit_lock.lock().await;
        crate::money::add_to_balance(self.balance_micros(org_id), amount_micros)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let (o, l) = (org_id.to_string(), label.to_string());
        let now = self.clock.rfc3339();
        self.call(move |c| {
            c.execute(
                "INSERT INTO ledger (org_id, amount_micros, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![o, amount_micros, l, now],
            )?;
            Ok(())
        })
        .await?;
        let mut b = self.balances.lock().unwrap();
        let e = b.entry(org_id.to_string()).or_default();
        *e = e.saturating_add(amount_micros);
        Ok(*e)
    }

    pub async fn ledger(&self, org_id: &str, limit: u32) -> Result<Vec<LedgerEntry>, StoreError> {
        let o = org_id.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, amount_micros, label, status, activation_id, created_at FROM ledger
                 WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![o, limit], |r| {
                Ok(LedgerEntry {
                    id: r.get(0)?,
                    amount: super::format_micros(r.get(1)?),
                    label: r.get(2)?,
                    status: r.get(3)?,
                    activation_id: r.get(4)?,
                    created_at: r.get(5)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Activations newest first.
    pub async fn activations(&self, f: ActivationFilter) -> Result<Vec<Activation>, StoreError> {
        let org_id = f
            .organization
            .as_deref()
            .and_then(|s| self.org_by_slug(s))
            .map(|o| o.id);
        if f.organization.is_some() && org_id.is_none() {
            return Ok(Vec::new());
        }
        let version = f
            .version
            .as_deref()
            .map(|v| match crate::registry::parse_version(Some(v)) {
                Some(crate::registry::VersionSpec::Number(n)) => n,
                _ => v.to_string(),
            });
        self.call(move |c| {
            let sql = format!(
                "SELECT {ACTIVATION_COLUMNS} FROM activations
                 WHERE (?1 IS NULL OR tool_id = ?1) AND (?2 IS NULL OR version = ?2) AND (?3 IS NULL OR status = ?3)
                   AND (?4 IS NULL OR started_at >= ?4) AND (?5 IS NULL OR org_id = ?5)
                 ORDER BY seq DESC LIMIT ?6"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(
                params![f.tool, version, f.status, f.since, org_id, f.limit.unwrap_or(50).min(1000)],
                activation_from,
            )?;
            rows.collect()
        })
        .await
    }

    /// The activations whose id is `id` or starts with it (at most two: enough to tell a unique
    /// prefix from an ambiguous one). An exact id always wins.
    ///
    /// There is no index of ids ([`super::activation_ids`]): an exact id decodes to its row, and
    /// a prefix is matched against the id of every sequence number, read from the smallest
    /// index that holds them (about 0.1 µs a row), and against the legacy ids' own index.
    pub async fn activations_by_prefix(&self, id: String) -> Result<Vec<Activation>, StoreError> {
        let ids = self.ids.clone();
        self.call(move |c| {
            let by_seq = |seq: i64| {
                c.query_row(
                    &format!("SELECT {ACTIVATION_COLUMNS} FROM activations WHERE seq = ?1"),
                    [seq],
                    activation_from,
                )
                .optional()
            };
            let legacy = c
                .query_row(
                    "SELECT seq FROM legacy_activation_ids WHERE id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            for seq in ids.codec.decode(&id).into_iter().chain(legacy) {
                if let Some(a) = by_seq(seq)?.filter(|a| a.id == id) {
                    return Ok(vec![a]);
                }
            }
            // Ids are lower-case hex and hyphens; a prefix matched them as SQL's `LIKE` did,
            // ignoring case.
            let prefix = id.to_ascii_lowercase();
            let mut candidates: Vec<i64> = Vec::new();
            let mut seqs = c.prepare("SELECT seq FROM activations INDEXED BY activations_tool")?;
            for seq in seqs.query_map([], |r| r.get::<_, i64>(0))? {
                let seq = seq?;
                if ids.codec.encode(seq).starts_with(&prefix) {
                    candidates.push(seq);
                }
            }
            let mut legacy = c.prepare(
                "SELECT seq FROM legacy_activation_ids WHERE id >= ?1 AND id < ?1 || '~'",
            )?;
            for seq in legacy.query_map([&prefix], |r| r.get::<_, i64>(0))? {
                candidates.push(seq?);
            }
            candidates.sort_unstable_by(|a, b| b.cmp(a));
            candidates.dedup();
            let mut found = Vec::new();
            for seq in candidates {
                // A legacy row's own number may encode an id with the prefix: its real id decides.
                if let Some(a) =
                    by_seq(seq)?.filter(|a| a.id.to_ascii_lowercase().starts_with(&prefix))
                {
                    found.push(a);
                    if found.len() == 2 {
                        break;
                    }
                }
            }
            Ok(found)
        })
        .await
    }
}
