//! The Cortex API plane's tables: tenants (owned by the emulator organization whose key created
//! them), their sub-tenants, sources (uploaded documents and memories) cut into chunks with a
//! full-text index (SQLite FTS5, bm25) and a stored embedding each, and raw embeddings that
//! clients insert themselves.
//!
//! Only storage lives here: what a chunk is, how an embedding is computed and how results are
//! ranked are the plane's. Instants are RFC 3339 UTC strings with milliseconds, passed in by the
//! caller from the emulator's clock (they compare in time order as text).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::{Store, StoreError};

/// Migration 6. Chunks keep an integer id so the FTS5 index can use it as its rowid
/// (external-content table, kept in step by triggers); every child row cascades from its
/// sub-tenant, and sub-tenants from their tenant, so deleting a tenant is one statement.
pub const MIGRATION: &str = r#"
    CREATE TABLE cortex_tenants (
        id                    TEXT PRIMARY KEY,
        org_id                TEXT NOT NULL,
        is_embeddings         INTEGER NOT NULL DEFAULT 0,
        embeddings_dimension  INTEGER,
        metadata_schema       TEXT NOT NULL DEFAULT '[]',
        created_at            TEXT NOT NULL
    );
    CREATE TABLE cortex_sub_tenants (
        tenant_id   TEXT NOT NULL REFERENCES cortex_tenants(id) ON DELETE CASCADE,
        id          TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE TABLE cortex_sources (
        seq                INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id          TEXT NOT NULL,
        sub_tenant_id      TEXT NOT NULL,
        id                 TEXT NOT NULL,
        kind               TEXT NOT NULL,
        title              TEXT,
        type               TEXT,
        description        TEXT,
        url                TEXT,
        timestamp          TEXT,
        note               TEXT,
        filename           TEXT,
        content_type       TEXT,
        size_bytes         INTEGER NOT NULL DEFAULT 0,
        original           BLOB,
        text               TEXT NOT NULL,
        tenant_metadata    TEXT NOT NULL DEFAULT '{}',
        document_metadata  TEXT NOT NULL DEFAULT '{}',
        uploaded_at        TEXT NOT NULL,
        ready_at           TEXT NOT NULL,
        UNIQUE (tenant_id, sub_tenant_id, id),
        FOREIGN KEY (tenant_id, sub_tenant_id)
            REFERENCES cortex_sub_tenants(tenant_id, id) ON DELETE CASCADE
    );
    CREATE TABLE cortex_chunks (
        id             INTEGER PRIMARY KEY,
        source_seq     INTEGER NOT NULL REFERENCES cortex_sources(seq) ON DELETE CASCADE,
        tenant_id      TEXT NOT NULL,
        sub_tenant_id  TEXT NOT NULL,
        kind           TEXT NOT NULL,
        chunk_uuid     TEXT NOT NULL,
        idx            INTEGER NOT NULL,
        start          INTEGER NOT NULL,
        page           INTEGER,
        content        TEXT NOT NULL,
        embedding      BLOB NOT NULL
    );
    CREATE INDEX cortex_chunks_source ON cortex_chunks(source_seq);
    CREATE INDEX cortex_chunks_scope ON cortex_chunks(tenant_id, sub_tenant_id, kind);
    CREATE VIRTUAL TABLE cortex_chunks_fts USING fts5(
        content, content='cortex_chunks', content_rowid='id'
    );
    CREATE TRIGGER cortex_chunks_ai AFTER INSERT ON cortex_chunks BEGIN
        INSERT INTO cortex_chunks_fts(rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER cortex_chunks_ad AFTER DELETE ON cortex_chunks BEGIN
        INSERT INTO cortex_chunks_fts(cortex_chunks_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
    END;
    CREATE TABLE cortex_raw_embeddings (
        tenant_id      TEXT NOT NULL,
        sub_tenant_id  TEXT NOT NULL,
        chunk_id       TEXT NOT NULL,
        source_id      TEXT NOT NULL,
        metadata       TEXT NOT NULL DEFAULT '{}',
        embedding      BLOB NOT NULL,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (tenant_id, sub_tenant_id, chunk_id),
        FOREIGN KEY (tenant_id, sub_tenant_id)
            REFERENCES cortex_sub_tenants(tenant_id, id) ON DELETE CASCADE
    );
    CREATE INDEX cortex_raw_embeddings_source
        ON cortex_raw_embeddings(tenant_id, sub_tenant_id, source_id);
"#;

/// What `reset` removes of this plane (the chunk trigger keeps the FTS index in step).
pub const WIPE_SQL: &str = "
    DELETE FROM cortex_raw_embeddings;
    DELETE FROM cortex_chunks;
    DELETE FROM cortex_sources;
    DELETE FROM cortex_sub_tenants;
    DELETE FROM cortex_tenants;
";

/// The sub-tenant every tenant has from its creation, used when a request names none.
pub const DEFAULT_SUB_TENANT: &str = "DEFAULT";

/// `kind` of a source: an uploaded document or app source, or a user memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Knowledge,
    Memory,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Knowledge => "knowledge",
            Kind::Memory => "memory",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub org_id: String,
    pub is_embeddings: bool,
    pub embeddings_dimension: Option<usize>,
    /// The `tenant_metadata_schema` given at creation, as JSON text.
    pub metadata_schema: String,
    pub created_at: String,
}

/// A source about to be stored, with its chunks.
#[derive(Debug, Clone, Default)]
pub struct NewSource {
    pub tenant_id: String,
    pub sub_tenant_id: String,
    pub id: String,
    pub kind: Kind,
    pub title: Option<String>,
    pub source_type: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub timestamp: Option<String>,
    pub note: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub original: Option<Vec<u8>>,
    pub text: String,
    pub tenant_metadata: String,
    pub document_metadata: String,
    pub uploaded_at: String,
    pub ready_at: String,
    pub chunks: Vec<NewChunk>,
}

#[derive(Debug, Clone)]
pub struct NewChunk {
    pub uuid: String,
    pub index: usize,
    pub start: usize,
    pub page: Option<usize>,
    pub content: String,
    pub embedding: Vec<u8>,
}

/// A stored source (without its original bytes; see [`Store::cortex_original`]).
#[derive(Debug, Clone)]
pub struct Source {
    pub tenant_id: String,
    pub sub_tenant_id: String,
    pub id: String,
    pub title: Option<String>,
    pub source_type: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub timestamp: Option<String>,
    pub note: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: i64,
    pub text: String,
    pub tenant_metadata: String,
    pub document_metadata: String,
    pub uploaded_at: String,
    pub ready_at: String,
}

const SOURCE_COLUMNS: &str = "s.tenant_id, s.sub_tenant_id, s.id, s.title, s.type, s.description,
    s.url, s.timestamp, s.note, s.filename, s.content_type, s.size_bytes, s.text,
    s.tenant_metadata, s.document_metadata, s.uploaded_at, s.ready_at";

fn source_row(r: &Row<'_>) -> rusqlite::Result<Source> {
    Ok(Source {
        tenant_id: r.get(0)?,
        sub_tenant_id: r.get(1)?,
        id: r.get(2)?,
        title: r.get(3)?,
        source_type: r.get(4)?,
        description: r.get(5)?,
        url: r.get(6)?,
        timestamp: r.get(7)?,
        note: r.get(8)?,
        filename: r.get(9)?,
        content_type: r.get(10)?,
        size_bytes: r.get(11)?,
        text: r.get(12)?,
        tenant_metadata: r.get(13)?,
        document_metadata: r.get(14)?,
        uploaded_at: r.get(15)?,
        ready_at: r.get(16)?,
    })
}

/// A chunk found by a search, with the source fields a result carries.
#[derive(Debug, Clone)]
pub struct ChunkHit {
    pub rowid: i64,
    pub uuid: String,
    pub start: i64,
    pub page: Option<i64>,
    pub content: String,
    pub embedding: Vec<u8>,
    /// bm25 of the keyword search (lower is better, as SQLite reports it); 0 when not searched.
    pub bm25: f64,
    pub source: Source,
}

/// Where a search looks: one tenant and sub-tenant, one kind, only chunks ready at `now`.
#[derive(Debug, Clone)]
pub struct Scope {
    pub tenant_id: String,
    pub sub_tenant_id: String,
    pub kind: Kind,
    pub now: String,
}

/// What inserting a source did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    Replaced,
    /// The id is taken and `upsert` was not asked for.
    Exists,
}

/// One raw embedding row.
#[derive(Debug, Clone)]
pub struct RawEmbedding {
    pub chunk_id: String,
    pub source_id: String,
    pub metadata: String,
    pub embedding: Vec<u8>,
}

/// The raw embeddings of one sub-tenant decoded for search: a flat row-major matrix of
/// little-endian f32s as stored, their norms, and each row's ids and parsed metadata.
#[derive(Debug, Default)]
pub struct RawSet {
    pub dim: usize,
    pub vectors: Vec<f32>,
    pub norms: Vec<f32>,
    pub chunk_ids: Vec<String>,
    pub source_ids: Vec<String>,
    pub metadata: Vec<serde_json::Value>,
}

impl RawSet {
    pub fn len(&self) -> usize {
        self.chunk_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chunk_ids.is_empty()
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    fn push(&mut self, r: RawEmbedding) {
        let v: Vec<f32> = r
            .embedding
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if self.is_empty() {
            self.dim = v.len();
        }
        if v.len() != self.dim {
            return;
        }
        self.norms.push(v.iter().map(|x| x * x).sum::<f32>().sqrt());
        self.vectors.extend_from_slice(&v);
        self.chunk_ids.push(r.chunk_id);
        self.source_ids.push(r.source_id);
        self.metadata
            .push(serde_json::from_str(&r.metadata).unwrap_or(serde_json::Value::Null));
    }
}

/// Decoded raw embeddings per (tenant, sub-tenant), so a search scans memory instead of reading
/// and decoding every blob (at 100 000 vectors of 384 dimensions that read alone was ~0.3 s).
/// Any raw-embedding write empties it; a load that raced a write is not kept (`generation`).
#[derive(Debug, Default)]
pub struct RawCache {
    sets: Mutex<HashMap<(String, String), Arc<RawSet>>>,
    generation: AtomicU64,
}

impl RawCache {
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.sets.lock().unwrap().clear();
    }
}

/// Which raw embeddings a filter or delete names.
#[derive(Debug, Clone, Default)]
pub struct RawSelector {
    pub source_id: Option<String>,
    pub chunk_ids: Vec<String>,
}

fn tenant_row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        org_id: r.get(1)?,
        is_embeddings: r.get::<_, i64>(2)? != 0,
        embeddings_dimension: r.get::<_, Option<i64>>(3)?.map(|d| d as usize),
        metadata_schema: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn ensure_sub_tenant(c: &Connection, tenant: &str, sub: &str, now: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO cortex_sub_tenants (tenant_id, id, created_at) VALUES (?1, ?2, ?3)",
        params![tenant, sub, now],
    )?;
    Ok(())
}

fn insert_source(c: &Connection, s: &NewSource, upsert: bool) -> rusqlite::Result<Inserted> {
    let existing: Option<i64> = c
        .query_row(
            "SELECT seq FROM cortex_sources WHERE tenant_id = ?1 AND sub_tenant_id = ?2 AND id = ?3",
            params![s.tenant_id, s.sub_tenant_id, s.id],
            |r| r.get(0),
        )
        .optional()?;
    let outcome = match existing {
        Some(_) if !upsert => return Ok(Inserted::Exists),
        Some(seq) => {
            c.execute("DELETE FROM cortex_sources WHERE seq = ?1", [seq])?;
            Inserted::Replaced
        }
        None => Inserted::New,
    };
    ensure_sub_tenant(c, &s.tenant_id, &s.sub_tenant_id, &s.uploaded_at)?;
    let kind = s.kind;
    c.execute(
        "INSERT INTO cortex_sources (tenant_id, sub_tenant_id, id, kind, title, type, description,
            url, timestamp, note, filename, content_type, size_bytes, original, text,
            tenant_metadata, document_metadata, uploaded_at, ready_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        params![
            s.tenant_id,
            s.sub_tenant_id,
            s.id,
            kind.as_str(),
            s.title,
            s.source_type,
            s.description,
            s.url,
            s.timestamp,
            s.note,
            s.filename,
            s.content_type,
            s.original.as_ref().map_or(s.text.len(), Vec::len) as i64,
            s.original,
            s.text,
            s.tenant_metadata,
            s.document_metadata,
            s.uploaded_at,
            s.ready_at,
        ],
    )?;
    let seq = c.last_insert_rowid();
    let mut stmt = c.prepare_cached(
        "INSERT INTO cortex_chunks (source_seq, tenant_id, sub_tenant_id, kind, chunk_uuid, idx,
            start, page, content, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for ch in &s.chunks {
        stmt.execute(params![
            seq,
            s.tenant_id,
            s.sub_tenant_id,
            kind.as_str(),
            ch.uuid,
            ch.index as i64,
            ch.start as i64,
            ch.page.map(|p| p as i64),
            ch.content,
            ch.embedding,
        ])?;
    }
    Ok(outcome)
}

fn chunk_hits(
    c: &Connection,
    sql: &str,
    args: Vec<rusqlite::types::Value>,
) -> rusqlite::Result<Vec<ChunkHit>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok(ChunkHit {
            rowid: r.get(0)?,
            uuid: r.get(1)?,
            start: r.get(3)?,
            page: r.get(4)?,
            content: r.get(5)?,
            embedding: r.get(6)?,
            bm25: r.get(7)?,
            source: Source {
                tenant_id: r.get(8)?,
                sub_tenant_id: r.get(9)?,
                id: r.get(10)?,
                title: r.get(11)?,
                source_type: r.get(12)?,
                description: r.get(13)?,
                url: r.get(14)?,
                timestamp: r.get(15)?,
                note: r.get(16)?,
                filename: r.get(17)?,
                content_type: r.get(18)?,
                size_bytes: r.get(19)?,
                text: String::new(),
                tenant_metadata: r.get(20)?,
                document_metadata: r.get(21)?,
                uploaded_at: r.get(22)?,
                ready_at: r.get(23)?,
            },
        })
    })?;
    rows.collect()
}

const HIT_COLUMNS: &str =
    "ch.id, ch.chunk_uuid, ch.idx, ch.start, ch.page, ch.content, ch.embedding";
const HIT_SOURCE_COLUMNS: &str = "s.tenant_id, s.sub_tenant_id, s.id, s.title, s.type,
    s.description, s.url, s.timestamp, s.note, s.filename, s.content_type, s.size_bytes,
    s.tenant_metadata, s.document_metadata, s.uploaded_at, s.ready_at";

impl Store {
    pub async fn cortex_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let id = id.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT id, org_id, is_embeddings, embeddings_dimension, metadata_schema, created_at
                 FROM cortex_tenants WHERE id = ?1",
                [id],
                tenant_row,
            )
            .optional()
        })
        .await
    }

    /// Creates the tenant and its `DEFAULT` sub-tenant; false when the id is taken.
    pub async fn cortex_create_tenant(&self, t: Tenant) -> Result<bool, StoreError> {
        self.call(move |c| {
            let added = c.execute(
                "INSERT OR IGNORE INTO cortex_tenants
                    (id, org_id, is_embeddings, embeddings_dimension, metadata_schema, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    t.id,
                    t.org_id,
                    t.is_embeddings as i64,
                    t.embeddings_dimension.map(|d| d as i64),
                    t.metadata_schema,
                    t.created_at
                ],
            )?;
            if added == 1 {
                ensure_sub_tenant(c, &t.id, DEFAULT_SUB_TENANT, &t.created_at)?;
            }
            Ok(added == 1)
        })
        .await
    }

    /// Deletes a tenant and everything in it.
    pub async fn cortex_delete_tenant(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        let out = self
            .call(move |c| Ok(c.execute("DELETE FROM cortex_tenants WHERE id = ?1", [id])? == 1))
            .await;
        self.raw_cache.invalidate();
        out
    }

    pub async fn cortex_sub_tenants(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        let tenant = tenant.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM cortex_sub_tenants WHERE tenant_id = ?1
                 ORDER BY id != 'DEFAULT', created_at, id",
            )?;
            let rows = stmt.query_map([tenant], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    pub async fn cortex_sub_tenant_exists(
        &self,
        tenant: &str,
        sub: &str,
    ) -> Result<bool, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        self.call(move |c| {
            c.query_row(
                "SELECT 1 FROM cortex_sub_tenants WHERE tenant_id = ?1 AND id = ?2",
                params![tenant, sub],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
        })
        .await
    }

    /// Deletes a sub-tenant and its data; false when there is none (the caller refuses DEFAULT).
    pub async fn cortex_delete_sub_tenant(
        &self,
        tenant: &str,
        sub: &str,
    ) -> Result<bool, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        let out = self
            .call(move |c| {
                Ok(c.execute(
                    "DELETE FROM cortex_sub_tenants WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant, sub],
                )? == 1)
            })
            .await;
        self.raw_cache.invalidate();
        out
    }

    /// Stores sources in one transaction; each answer says what happened to that source.
    pub async fn cortex_insert_sources(
        &self,
        sources: Vec<NewSource>,
        upsert: bool,
    ) -> Result<Vec<Inserted>, StoreError> {
        self.call(move |c| {
            let mut out = Vec::with_capacity(sources.len());
            for s in &sources {
                out.push(insert_source(c, s, upsert)?);
            }
            Ok(out)
        })
        .await
    }

    /// The sources of a tenant (and sub-tenant when given) with these ids, without bodies.
    pub async fn cortex_sources_by_id(
        &self,
        tenant: &str,
        sub: Option<&str>,
        ids: Vec<String>,
    ) -> Result<Vec<Source>, StoreError> {
        let tenant = tenant.to_string();
        let sub = sub.map(str::to_string);
        self.call(move |c| {
            let mut out = Vec::new();
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {SOURCE_COLUMNS} FROM cortex_sources s
                 WHERE s.tenant_id = ?1 AND (?2 IS NULL OR s.sub_tenant_id = ?2) AND s.id = ?3
                 ORDER BY s.seq"
            ))?;
            for id in ids {
                let rows = stmt.query_map(params![tenant, sub, id], source_row)?;
                for r in rows {
                    out.push(r?);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Every source of one kind in a tenant and sub-tenant, oldest first.
    pub async fn cortex_sources(
        &self,
        tenant: &str,
        sub: &str,
        kind: Kind,
    ) -> Result<Vec<Source>, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {SOURCE_COLUMNS} FROM cortex_sources s
                 WHERE s.tenant_id = ?1 AND s.sub_tenant_id = ?2 AND s.kind = ?3 ORDER BY s.seq"
            ))?;
            let rows = stmt.query_map(params![tenant, sub, kind.as_str()], source_row)?;
            rows.collect()
        })
        .await
    }

    /// The bytes a source was uploaded with (None for sources given as text).
    pub async fn cortex_original(
        &self,
        tenant: &str,
        sub: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (tenant, sub, id) = (tenant.to_string(), sub.to_string(), id.to_string());
        self.call(move |c| {
            c.query_row(
                "SELECT original FROM cortex_sources WHERE tenant_id = ?1 AND sub_tenant_id = ?2 AND id = ?3",
                params![tenant, sub, id],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()
            .map(Option::flatten)
        })
        .await
    }

    /// Deletes the sources of one kind with these ids; for each id, whether it existed.
    pub async fn cortex_delete_sources(
        &self,
        tenant: &str,
        sub: &str,
        kind: Kind,
        ids: Vec<String>,
    ) -> Result<Vec<(String, bool)>, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "DELETE FROM cortex_sources
                 WHERE tenant_id = ?1 AND sub_tenant_id = ?2 AND kind = ?3 AND id = ?4",
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let n = stmt.execute(params![tenant, sub, kind.as_str(), id])?;
                out.push((id, n > 0));
            }
            Ok(out)
        })
        .await
    }

    /// How many sources of a kind a sub-tenant holds (the memory quota counts these).
    pub async fn cortex_count_sources(
        &self,
        tenant: &str,
        sub: &str,
        kind: Kind,
    ) -> Result<u64, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        self.call(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM cortex_sources WHERE tenant_id = ?1 AND sub_tenant_id = ?2 AND kind = ?3",
                params![tenant, sub, kind.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
        .await
    }

    /// Chunks of a tenant per kind, across its sub-tenants (the monitor's row counts).
    pub async fn cortex_chunk_counts(&self, tenant: &str) -> Result<(u64, u64), StoreError> {
        let tenant = tenant.to_string();
        self.call(move |c| {
            let count = |kind: Kind| {
                c.query_row(
                    "SELECT COUNT(*) FROM cortex_chunks WHERE tenant_id = ?1 AND kind = ?2",
                    params![tenant, kind.as_str()],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
            };
            Ok((count(Kind::Knowledge)?, count(Kind::Memory)?))
        })
        .await
    }

    /// Raw embeddings of a tenant across its sub-tenants.
    pub async fn cortex_raw_count(&self, tenant: &str) -> Result<u64, StoreError> {
        let tenant = tenant.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM cortex_raw_embeddings WHERE tenant_id = ?1",
                [tenant],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
        .await
    }

    /// Full-text search: the `limit` best chunks for an FTS5 `MATCH` expression, best first,
    /// with their bm25.
    pub async fn cortex_search_text(
        &self,
        scope: Scope,
        match_expr: String,
        limit: usize,
    ) -> Result<Vec<ChunkHit>, StoreError> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {HIT_COLUMNS}, bm25(cortex_chunks_fts), {HIT_SOURCE_COLUMNS}
                 FROM cortex_chunks_fts
                 JOIN cortex_chunks ch ON ch.id = cortex_chunks_fts.rowid
                 JOIN cortex_sources s ON s.seq = ch.source_seq
                 WHERE cortex_chunks_fts MATCH ?1
                   AND ch.tenant_id = ?2 AND ch.sub_tenant_id = ?3 AND ch.kind = ?4
                   AND s.ready_at <= ?5
                 ORDER BY bm25(cortex_chunks_fts), ch.id
                 LIMIT ?6"
            );
            chunk_hits(
                c,
                &sql,
                vec![
                    match_expr.into(),
                    scope.tenant_id.into(),
                    scope.sub_tenant_id.into(),
                    scope.kind.as_str().to_string().into(),
                    scope.now.into(),
                    (limit as i64).into(),
                ],
            )
        })
        .await
    }

    /// Every ready chunk in scope (for a dense scan when the keyword search finds too few).
    pub async fn cortex_scope_chunks(
        &self,
        scope: Scope,
        limit: usize,
    ) -> Result<Vec<ChunkHit>, StoreError> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {HIT_COLUMNS}, 0.0, {HIT_SOURCE_COLUMNS}
                 FROM cortex_chunks ch JOIN cortex_sources s ON s.seq = ch.source_seq
                 WHERE ch.tenant_id = ?1 AND ch.sub_tenant_id = ?2 AND ch.kind = ?3
                   AND s.ready_at <= ?4
                 ORDER BY ch.id LIMIT ?5"
            );
            chunk_hits(
                c,
                &sql,
                vec![
                    scope.tenant_id.into(),
                    scope.sub_tenant_id.into(),
                    scope.kind.as_str().to_string().into(),
                    scope.now.into(),
                    (limit as i64).into(),
                ],
            )
        })
        .await
    }

    /// Stores raw embeddings in one transaction. With `upsert` false a taken chunk id stores
    /// nothing and is returned as `Err(chunk_id)`.
    pub async fn cortex_insert_raw(
        &self,
        tenant: &str,
        sub: &str,
        rows: Vec<RawEmbedding>,
        upsert: bool,
        now: String,
    ) -> Result<Result<usize, String>, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        let out = self
            .call(move |c| {
                if !upsert {
                    let mut stmt = c.prepare_cached(
                        "SELECT 1 FROM cortex_raw_embeddings
                     WHERE tenant_id = ?1 AND sub_tenant_id = ?2 AND chunk_id = ?3",
                    )?;
                    for r in &rows {
                        if stmt.exists(params![tenant, sub, r.chunk_id])? {
                            return Ok(Err(r.chunk_id.clone()));
                        }
                    }
                }
                ensure_sub_tenant(c, &tenant, &sub, &now)?;
                let mut stmt = c.prepare_cached(
                    "INSERT OR REPLACE INTO cortex_raw_embeddings
                    (tenant_id, sub_tenant_id, chunk_id, source_id, metadata, embedding, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for r in &rows {
                    stmt.execute(params![
                        tenant,
                        sub,
                        r.chunk_id,
                        r.source_id,
                        r.metadata,
                        r.embedding,
                        now
                    ])?;
                }
                Ok(Ok(rows.len()))
            })
            .await;
        self.raw_cache.invalidate();
        out
    }

    /// Raw embeddings of a sub-tenant, all or those a selector names, in insertion order.
    pub async fn cortex_raw(
        &self,
        tenant: &str,
        sub: &str,
        selector: Option<RawSelector>,
    ) -> Result<Vec<RawEmbedding>, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT chunk_id, source_id, metadata, embedding FROM cortex_raw_embeddings
                 WHERE tenant_id = ?1 AND sub_tenant_id = ?2 ORDER BY rowid",
            )?;
            let rows = stmt.query_map(params![tenant, sub], |r| {
                Ok(RawEmbedding {
                    chunk_id: r.get(0)?,
                    source_id: r.get(1)?,
                    metadata: r.get(2)?,
                    embedding: r.get(3)?,
                })
            })?;
            let mut out = Vec::new();
            for r in rows {
                let r = r?;
                if selector.as_ref().is_none_or(|s| s.selects(&r)) {
                    out.push(r);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Deletes the raw embeddings a selector names; how many went.
    pub async fn cortex_delete_raw(
        &self,
        tenant: &str,
        sub: &str,
        selector: RawSelector,
    ) -> Result<usize, StoreError> {
        let (tenant, sub) = (tenant.to_string(), sub.to_string());
        let out = self
            .call(move |c| {
                let mut n = 0;
                if let Some(source) = &selector.source_id {
                    if selector.chunk_ids.is_empty() {
                        n += c.execute(
                            "DELETE FROM cortex_raw_embeddings
                         WHERE tenant_id = ?1 AND sub_tenant_id = ?2 AND source_id = ?3",
                            params![tenant, sub, source],
                        )?;
                        return Ok(n);
                    }
                }
                let mut stmt = c.prepare_cached(
                    "DELETE FROM cortex_raw_embeddings
                 WHERE tenant_id = ?1 AND sub_tenant_id = ?2 AND chunk_id = ?3
                   AND (?4 IS NULL OR source_id = ?4)",
                )?;
                for chunk in &selector.chunk_ids {
                    n += stmt.execute(params![tenant, sub, chunk, selector.source_id])?;
                }
                Ok(n)
            })
            .await;
        self.raw_cache.invalidate();
        out
    }

    /// Every raw embedding of a sub-tenant, decoded, from the cache when it holds them.
    pub async fn cortex_raw_set(&self, tenant: &str, sub: &str) -> Result<Arc<RawSet>, StoreError> {
        let key = (tenant.to_string(), sub.to_string());
        if let Some(set) = self.raw_cache.sets.lock().unwrap().get(&key) {
            return Ok(set.clone());
        }
        let generation = self.raw_cache.generation.load(Ordering::SeqCst);
        let mut set = RawSet::default();
        for r in self.cortex_raw(tenant, sub, None).await? {
            set.push(r);
        }
        let set = Arc::new(set);
        let mut sets = self.raw_cache.sets.lock().unwrap();
        if self.raw_cache.generation.load(Ordering::SeqCst) == generation {
            sets.insert(key, set.clone());
        }
        Ok(set)
    }
}

impl RawSelector {
    fn selects(&self, r: &RawEmbedding) -> bool {
        self.source_id.as_ref().is_none_or(|s| *s == r.source_id)
            && (self.chunk_ids.is_empty() || self.chunk_ids.contains(&r.chunk_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    fn source(id: &str, text: &str) -> NewSource {
        NewSource {
            tenant_id: "t".into(),
            sub_tenant_id: DEFAULT_SUB_TENANT.into(),
            id: id.into(),
            text: text.into(),
            tenant_metadata: "{}".into(),
            document_metadata: "{}".into(),
            uploaded_at: "2026-01-01T00:00:00.000Z".into(),
            ready_at: "2026-01-01T00:00:00.000Z".into(),
            chunks: vec![NewChunk {
                uuid: format!("{id}_0"),
                index: 0,
                start: 0,
                page: None,
                content: text.into(),
                embedding: vec![0; 4],
            }],
            ..Default::default()
        }
    }

    fn fts_count(c: &Connection, word: &str) -> i64 {
        c.query_row(
            "SELECT COUNT(*) FROM cortex_chunks_fts WHERE cortex_chunks_fts MATCH ?1",
            [word],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn the_index_follows_inserts_upserts_and_cascading_deletes() {
        let c = conn();
        c.execute(
            "INSERT INTO cortex_tenants (id, org_id, created_at) VALUES ('t', 'o', 'x')",
            [],
        )
        .unwrap();
        ensure_sub_tenant(&c, "t", DEFAULT_SUB_TENANT, "x").unwrap();
        assert_eq!(
            insert_source(&c, &source("a", "rotterdam harbour"), false).unwrap(),
            Inserted::New
        );
        assert_eq!(
            insert_source(&c, &source("a", "other"), false).unwrap(),
            Inserted::Exists
        );
        assert_eq!(fts_count(&c, "rotterdam"), 1);
        assert_eq!(
            insert_source(&c, &source("a", "lisbon port"), true).unwrap(),
            Inserted::Replaced
        );
        assert_eq!(fts_count(&c, "rotterdam"), 0);
        assert_eq!(fts_count(&c, "lisbon"), 1);
        c.execute("DELETE FROM cortex_tenants WHERE id = 't'", [])
            .unwrap();
        assert_eq!(fts_count(&c, "lisbon"), 0);
        let left: i64 = c
            .query_row("SELECT COUNT(*) FROM cortex_sources", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }
}
