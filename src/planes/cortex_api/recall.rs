//! Search: `recall/boolean_recall` (full text on SQLite FTS5, ranked by bm25, with the
//! documented `or` / `and` / `phrase` operators), `recall/full_recall` and
//! `recall/recall_preferences` (hybrid: bm25 and the local embedding, weighted by `alpha`), and
//! `recall/qna` (an extractive answer from the best chunks, offline).
//!
//! Hybrid ranking (**choice**): the candidates are the best keyword matches of any query word
//! (prefix match, at least 200 or ten times `max_results`), topped up by a scan of the
//! sub-tenant when that finds fewer than asked; each scores `alpha · cosine + (1 − alpha) ·
//! bm25 / best bm25`, so `alpha = 1` ranks by meaning alone and `alpha = 0` by keywords alone.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::access;
use super::envelope::ApiError;
use super::input;
use super::metadata::{stored, Schema};
use super::text::{answer, embed};
use super::views;
use crate::domain::app::App;
use crate::store::cortex_api::{ChunkHit, Kind, Scope, Tenant};

type Answer = Result<Json<Value>, ApiError>;

/// Results when a request names no `max_results` (**choice**).
const DEFAULT_RESULTS: usize = 10;
/// `alpha` when a request names none, or says `"auto"` (**choice**: an even blend).
const DEFAULT_ALPHA: f64 = 0.5;
/// Chunks scanned for meaning when keywords find too few (**choice**).
const SCAN_LIMIT: usize = 2000;

#[derive(Deserialize)]
struct RecallBody {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    query: String,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    alpha: Option<Value>,
    #[serde(default)]
    recency_bias: Option<f64>,
    #[serde(default)]
    metadata_filters: Option<Map<String, Value>>,
}

/// `POST /recall/full_recall`: documents.
pub(crate) async fn full_recall(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    hybrid_route(&app, &headers, &body, Kind::Knowledge).await
}

/// `POST /recall/recall_preferences`: the same search over memories.
pub(crate) async fn recall_preferences(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    hybrid_route(&app, &headers, &body, Kind::Memory).await
}

async fn hybrid_route(app: &App, headers: &HeaderMap, body: &Bytes, kind: Kind) -> Answer {
    let key = access::caller(app, headers)?;
    let req: RecallBody = input::json(body)?;
    let tenant = access::tenant(app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(app, &tenant, req.sub_tenant_id.as_deref()).await?;
    let limit = input::search_limit("max_results", req.max_results, DEFAULT_RESULTS)?;
    let alpha = alpha(req.alpha.as_ref())?;
    let recency = match req.recency_bias {
        None => 0.0,
        Some(r) if (0.0..=1.0).contains(&r) => r,
        Some(r) => {
            return Err(ApiError::search(format!(
                "recency_bias must be between 0 and 1, not {r}"
            )))
        }
    };
    let filters = metadata_filters(&tenant, req.metadata_filters)?;
    let scope = scope(app, &tenant, &sub, kind);
    let ranked = hybrid(app, scope, &req.query, limit, alpha, recency, &filters).await?;
    Ok(Json(retrieval(&ranked)))
}

/// `alpha`: a number from 0 to 1, or `"auto"`.
fn alpha(v: Option<&Value>) -> Result<f64, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(DEFAULT_ALPHA),
        Some(Value::String(s)) if s == "auto" => Ok(DEFAULT_ALPHA),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(a) if (0.0..=1.0).contains(&a) => Ok(a),
            _ => Err(ApiError::search(format!(
                "alpha must be between 0 and 1, not {n}"
            ))),
        },
        Some(Value::String(s)) => match s.parse::<f64>() {
            Ok(a) if (0.0..=1.0).contains(&a) => Ok(a),
            _ => Err(ApiError::search(format!(
                "alpha must be between 0 and 1 or \"auto\", not '{s}'"
            ))),
        },
        Some(other) => Err(ApiError::search(format!(
            "alpha must be a number or \"auto\", not {other}"
        ))),
    }
}

/// `metadata_filters`: exact matches on tenant metadata fields of the schema.
fn metadata_filters(
    tenant: &Tenant,
    filters: Option<Map<String, Value>>,
) -> Result<Map<String, Value>, ApiError> {
    let filters = filters.unwrap_or_default();
    let schema = Schema::from_json(&tenant.metadata_schema);
    for key in filters.keys() {
        if !schema.fields.iter().any(|f| &f.name == key) {
            return Err(ApiError::search(format!(
                "metadata_filters key '{key}' is not a field of the tenant's metadata schema"
            )));
        }
    }
    Ok(filters)
}

fn scope(app: &App, tenant: &Tenant, sub: &str, kind: Kind) -> Scope {
    Scope {
        tenant_id: tenant.id.clone(),
        sub_tenant_id: sub.to_string(),
        kind,
        now: app.clock.rfc3339(),
    }
}

/// One ranked chunk.
struct Ranked {
    hit: ChunkHit,
    score: f64,
}

async fn hybrid(
    app: &App,
    scope: Scope,
    query: &str,
    limit: usize,
    alpha: f64,
    recency_bias: f64,
    filters: &Map<String, Value>,
) -> Result<Vec<Ranked>, ApiError> {
    let words = embed::tokens(query);
    if words.is_empty() {
        return Err(ApiError::search("query has no words to search for"));
    }
    let any_word = words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let want = (limit * 10).max(200);
    let mut hits = app
        .store
        .cortex_search_text(scope.clone(), any_word, want)
        .await?;
    if hits.len() < limit {
        let seen: HashSet<i64> = hits.iter().map(|h| h.rowid).collect();
        let scanned = app.store.cortex_scope_chunks(scope, SCAN_LIMIT).await?;
        hits.extend(scanned.into_iter().filter(|h| !seen.contains(&h.rowid)));
    }
    hits.retain(|h| {
        let meta = stored(&h.source.tenant_metadata);
        filters.iter().all(|(k, v)| meta.get(k) == Some(v))
    });
    let q = embed::embed(query);
    let best_keyword = hits.iter().map(|h| -h.bm25).fold(0.0_f64, f64::max);
    let newest = hits
        .iter()
        .map(|h| h.source.uploaded_at.as_str())
        .max()
        .map(str::to_string);
    let mut ranked: Vec<Ranked> = hits
        .into_iter()
        .map(|hit| {
            let dense = embed::cosine(&q, &embed::from_blob(&hit.embedding)).max(0.0) as f64;
            let sparse = if best_keyword > 0.0 {
                -hit.bm25 / best_keyword
            } else {
                0.0
            };
            let mut score = alpha * dense + (1.0 - alpha) * sparse;
            if recency_bias > 0.0 && newest.as_deref() != Some(hit.source.uploaded_at.as_str()) {
                score *= 1.0 - recency_bias / 2.0;
            }
            Ranked { hit, score }
        })
        .filter(|r| r.score > 0.0)
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.hit.rowid.cmp(&b.hit.rowid))
    });
    ranked.truncate(limit);
    Ok(ranked)
}

/// `RetrievalResult`: chunks best first and their sources, each once, in the same order.
fn retrieval(ranked: &[Ranked]) -> Value {
    let chunks: Vec<Value> = ranked
        .iter()
        .map(|r| views::chunk(&r.hit, r.score))
        .collect();
    let mut seen = HashSet::new();
    let sources: Vec<Value> = ranked
        .iter()
        .filter(|r| seen.insert(r.hit.source.id.clone()))
        .map(|r| views::source_info(&r.hit.source))
        .collect();
    json!({
        "chunks": chunks,
        "sources": sources,
        "graph_context": views::empty_graph(),
        "additional_context": {},
    })
}

#[derive(Deserialize)]
struct BooleanBody {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    query: String,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    search_mode: Option<String>,
}

/// `POST /recall/boolean_recall`: words joined by the operator (`or`, the default; `and`;
/// `phrase`, the words in order), ranked by bm25; `relevancy_score` is −bm25.
pub(crate) async fn boolean_recall(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let key = access::caller(&app, &headers)?;
    let req: BooleanBody = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(&app, &tenant, req.sub_tenant_id.as_deref()).await?;
    let limit = input::search_limit("max_results", req.max_results, DEFAULT_RESULTS)?;
    let kind = search_mode(req.search_mode.as_deref())?;
    let words = embed::tokens(&req.query);
    if words.is_empty() {
        return Err(ApiError::search("query has no words to search for"));
    }
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    let expr = match req.operator.as_deref().unwrap_or("or") {
        "or" => quoted.join(" OR "),
        "and" => quoted.join(" AND "),
        "phrase" => format!("\"{}\"", words.join(" ")),
        other => {
            return Err(ApiError::search(format!(
                "operator must be or, and or phrase, not '{other}'"
            )))
        }
    };
    let hits = app
        .store
        .cortex_search_text(scope(&app, &tenant, &sub, kind), expr, limit)
        .await?;
    let ranked: Vec<Ranked> = hits
        .into_iter()
        .map(|hit| Ranked {
            score: -hit.bm25,
            hit,
        })
        .collect();
    Ok(Json(retrieval(&ranked)))
}

fn search_mode(mode: Option<&str>) -> Result<Kind, ApiError> {
    match mode {
        None | Some("sources") => Ok(Kind::Knowledge),
        Some("memories") => Ok(Kind::Memory),
        Some(other) => Err(ApiError::search(format!(
            "search_mode must be sources or memories, not '{other}'"
        ))),
    }
}

#[derive(Deserialize)]
struct QnaBody {
    tenant_id: String,
    #[serde(default)]
    sub_tenant_id: Option<String>,
    question: String,
    #[serde(default)]
    max_chunks: Option<i64>,
    #[serde(default)]
    alpha: Option<Value>,
    #[serde(default)]
    search_mode: Option<String>,
}

/// What `model_used` says: no model runs (**choice**).
const QNA_MODEL: &str = "cortex-emu-extractive";
/// Chunks a QnA reads when the request names no `max_chunks` (**choice**).
const QNA_CHUNKS: usize = 5;

/// `POST /recall/qna`: the hybrid search, then the sentences of the best chunks that share the
/// most words with the question (up to three, in document order).
pub(crate) async fn qna(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Answer {
    let started = Instant::now();
    let key = access::caller(&app, &headers)?;
    let req: QnaBody = input::json(&body)?;
    let tenant = access::tenant(&app, &key, &req.tenant_id).await?;
    let sub = access::sub_for_read(&app, &tenant, req.sub_tenant_id.as_deref()).await?;
    let limit = input::search_limit("max_chunks", req.max_chunks, QNA_CHUNKS)?;
    let alpha = alpha(req.alpha.as_ref())?;
    let kind = search_mode(req.search_mode.as_deref())?;
    let scope = scope(&app, &tenant, &sub, kind);
    let ranked = hybrid(&app, scope, &req.question, limit, alpha, 0.0, &Map::new()).await?;
    let texts: Vec<&str> = ranked.iter().map(|r| r.hit.content.as_str()).collect();
    let answer = answer::extractive_answer(&req.question, &texts, 3)
        .unwrap_or_else(|| "I could not find an answer to that in the knowledge base.".into());
    let chunks: Vec<Value> = ranked
        .iter()
        .map(|r| views::chunk(&r.hit, r.score))
        .collect();
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Json(json!({
        "success": true,
        "answer": answer,
        "chunks": chunks,
        "graph_context": views::empty_graph(),
        "model_used": QNA_MODEL,
        "timing": {"total_ms": views::round(total_ms)},
    })))
}
