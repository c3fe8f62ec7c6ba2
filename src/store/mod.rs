//! SQLite state: organizations, API keys (hashes only), the wallet ledger, tools, versions and
//! activations. Writes are group-committed on one connection ([`commit`]); a finished run is
//! answered once it is in the run journal ([`journal`]), which the writer folds into SQLite before
//! any read, so nothing acknowledged is lost and every read sees every acknowledged run.

mod activation_ids;
#[cfg(test)]
mod activation_ids_tests;
pub mod admin;
mod commit;
pub mod cortex_api;
pub mod fold;
pub mod fold_bindings;
pub mod fold_runs;
pub mod identity;
mod journal;
#[cfg(test)]
mod journal_tests;
pub mod overview;
pub mod refusals;
mod schema;
pub mod windows;

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::Config;
use crate::registry::Visibility;

/// The file an export folder holds: a complete SQLite copy of the state.
pub const EXPORT_FILE: &str = "state.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database writer has stopped")]
    Closed,
    /// The request was refused for a reason its sender can fix (a client error).
    #[error("{0}")]
    Invalid(String),
    /// A statement failed on the writer thread (the emulator's fault, not the caller's).
    #[error("{0}")]
    Failed(String),
}

type AnyBox = Box<dyn Any + Send>;
type Work = Box<dyn FnOnce(&Connection) -> rusqlite::Result<AnyBox> + Send>;

type Reply = Box<dyn FnOnce(Result<AnyBox, String>) + Send>;

struct Command {
    work: Work,
    reply: Reply,
    /// Small and on a run's path: the run's own task may commit it ([`commit::Committer`]).
    inline: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Organization {
    pub id: String,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// Everything recorded about one run (PLATFORM.md §5). Fields missing from a journal line
/// written by an older version take their defaults.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Activation {
    pub id: String,
    pub org_id: String,
    pub tool_id: String,
    pub version: String,
    pub code_hash: String,
    pub runtime: String,
    /// `success`, `error`, `timeout` or `interrupted`.
    pub status: String,
    pub status_code: i64,
    pub duration_ms: f64,
    pub cost_micros: i64,
    pub event: String,
    pub response: String,
    pub logs: String,
    pub error: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    /// Answered by fault injection: the handler did not run.
    pub injected: bool,
    /// The outbound HTTP requests the run made, a JSON array of [`crate::protocol::Exchange`].
    pub exchanges: String,
    /// The activation this run replayed (`POST /activations/{id}/replay`).
    pub replay_of: Option<String>,
}

pub struct Store {
    committer: Arc<commit::Committer>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Key hash → key. Every change goes through this process, so the cache is the truth.
    keys: RwLock<HashMap<String, KeyRecord>>,
    /// Organization id → balance in micro-credits, derived from the ledger at open.
    balances: Mutex<HashMap<String, i64>>,
    orgs: RwLock<HashMap<String, Organization>>,
    /// Tool id → published versions, newest first. Versions are immutable, so caching is safe.
    published: RwLock<HashMap<String, Vec<Arc<PublishedVersion>>>>,
    /// Sequence numbers and the ids that encode them ([`activation_ids`]).
    ids: Arc<activation_ids::ActivationIds>,
    /// Serializes credits (see `credit`).
    credit_lock: tokio::sync::Mutex<()>,
    /// Set by the writer when a write failed for want of space; cleared by a write probe.
    unwritable: Arc<std::sync::atomic::AtomicBool>,
    /// The emulator's clock: timestamps and key expiry read it.
    clock: Arc<Clock>,
    /// Raw embeddings decoded for search (see `cortex_api::RawCache`).
    raw_cache: cortex_api::RawCache,
    /// Rate-limit windows shared by every mount of a plane.
    pub windows: windows::FixedWindows,
}

/// A new secret: `prefix` and 32 random letters and digits (keys `RIV_`, fold tokens `fold_`).
pub fn new_secret(prefix: &str) -> String {
    use rand::Rng;
    let secret: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("{prefix}{secret}")
}

pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub use crate::clock::parse_expiry;

pub use crate::money::{format_micros, to_micros};

/// Creates the state file readable by its owner only (it holds key hashes, events and logs), or
/// narrows an existing one to that. SQLite gives its `-wal` and `-shm` files the same mode.
fn private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let denied =
        |e: std::io::Error| StoreError::Invalid(format!("cannot open {}: {e}", path.display()));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(denied)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(denied)?;
        }
    }
    Ok(())
}

/// Each organization's balance. SQLite's `SUM` refuses a total past `i64` ("integer
/// overflow"); a ledger written before amounts were bounded can hold one, so such a ledger is
/// summed here in 128 bits and clamped, and the state still opens.
fn ledger_sums(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let fast = conn
        .prepare("SELECT org_id, SUM(amount_micros) FROM ledger GROUP BY org_id")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        });
    match fast {
        Ok(v) => Ok(v),
        Err(_) => {
            let mut totals: HashMap<String, i128> = HashMap::new();
            let mut stmt = conn.prepare("SELECT org_id, amount_micros FROM ledger")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (o, a) = row?;
                *totals.entry(o).or_default() += a as i128;
            }
            Ok(totals
                .into_iter()
                .map(|(o, t)| {
                    let max = crate::money::MAX_BALANCE_MICROS as i128;
                    (o, t.clamp(-max, max) as i64)
                })
                .collect())
        }
    }
}

impl Store {
    /// Opens (creating and migrating) the database at `path`, or an in-memory one; with `import`
    /// (a `state.db` written by [`Store::export`]) its content is replaced first, then migrated
    /// to this version.
    pub fn open(
        path: Option<&Path>,
        import: Option<&Path>,
        clock: Arc<Clock>,
    ) -> Result<Arc<Self>, StoreError> {
        let mut conn = match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                private_file(p)?;
                Connection::open(p)?
            }
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        if let Some(source) = import {
            let from =
                Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(|e| {
                        StoreError::Invalid(format!(
                            "cannot read the export {}: {e}",
                            source.display()
                        ))
                    })?;
            let backup = rusqlite::backup::Backup::new(&from, &mut conn)?;
            backup
                .run_to_completion(1024, Duration::ZERO, None)
                .map_err(|e| {
                    StoreError::Invalid(format!("cannot import {}: {e}", source.display()))
                })?;
            drop(backup);
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        let (journal, mut leftover) = journal::Journal::open(path).map_err(|e| {
            StoreError::Invalid(format!("cannot open the run journal beside the state: {e}"))
        })?;
        // The state's counter can be behind its rows or its journal (a power loss took the
        // WAL's last reservation; a `state.db` restored from a copy): numbers are handed out
        // only past both.
        let journaled = leftover.iter().map(|r| r.seq).max().unwrap_or(0);
        let ids = Arc::new(activation_ids::ActivationIds::open(&conn, journaled)?);
        // A line that says its id encodes its number is believed only if it does under this
        // state's key (journal files left beside a replaced `state.db` hold another key's ids).
        // A run whose id does not encode its number (from the version before such ids) was
        // numbered by a counter that the migration's renumbering may have reused.
        for run in leftover.iter_mut() {
            run.coded = run.coded && ids.codec.decode(&run.activation.id) == Some(run.seq);
            if !run.coded {
                run.seq = ids.take_at_start(&conn)?;
            }
        }
        // Runs acknowledged by a process that ended before folding them in (an import replaces
        // the state they belonged to).
        if !leftover.is_empty() {
            if import.is_some() {
                eprintln!(
                    "warning: the import replaces the state: {} runs its run journal still held were dropped",
                    leftover.len()
                );
            } else if let Err((kept, e)) = commit::fold_runs(&mut conn, leftover, &journal) {
                return Err(StoreError::Invalid(format!(
                    "{} finished runs in the run journal beside the state cannot be written to it ({e}); they stay in the journal for the next start",
                    kept.len()
                )));
            }
        }
        journal.clear().map_err(|e| {
            StoreError::Invalid(format!(
                "cannot empty the run journal beside the state: {e}"
            ))
        })?;

        let unwritable: Arc<std::sync::atomic::AtomicBool> = Arc::default();
        let (committer, writer_loop) = commit::Committer::new(conn, unwritable.clone(), journal);
        let store = Store {
            committer,
            writer: Mutex::new(None),
            keys: RwLock::new(HashMap::new()),
            balances: Mutex::new(HashMap::new()),
            orgs: RwLock::new(HashMap::new()),
            published: RwLock::new(HashMap::new()),
            ids,
            credit_lock: tokio::sync::Mutex::new(()),
            unwritable,
            clock,
            raw_cache: Default::default(),
            windows: Default::default(),
        };
        store.committer.with_conn(|c| store.load_caches(c))?;
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(writer_loop)
            .expect("spawn store writer");
        *store.writer.lock().unwrap() = Some(handle);
        Ok(Arc::new(store))
    }

    fn load_caches(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare("SELECT id, slug, name FROM organizations")?;
        let orgs = stmt.query_map([], |r| {
            Ok(Organization {
                id: r.get(0)?,
                slug: r.get(1)?,
                name: r.get(2)?,
            })
        })?;
        let mut map = self.orgs.write().unwrap();
        for o in orgs {
            let o = o?;
            map.insert(o.id.clone(), o);
        }
        let mut stmt = conn.prepare(
            "SELECT hash, id, org_id, name, prefix, expires_at, revoked_at IS NOT NULL FROM api_keys",
        )?;
        let keys = stmt.query_map([], |r| {
            let exp: Option<String> = r.get(5)?;
            Ok((
                r.get::<_, String>(0)?,
                KeyRecord {
                    id: r.get(1)?,
                    org_id: r.get(2)?,
                    name: r.get(3)?,
                    prefix: r.get(4)?,
                    expires_at: exp.as_deref().and_then(parse_expiry),
                    revoked: r.get(6)?,
                },
            ))
        })?;
        let mut kmap = self.keys.write().unwrap();
        for k in keys {
            let (h, k) = k?;
            kmap.insert(h, k);
        }
        let mut bmap = self.balances.lock().unwrap();
        for (o, b) in ledger_sums(conn)? {
            bmap.insert(o, b);
        }
        let mut stmt = conn.prepare(
            "SELECT tool_id, version, files, visibility, created_at FROM versions
             ORDER BY major DESC, minor DESC, patch DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut pmap = self.published.write().unwrap();
        for row in rows {
            let (tool, version, files, visibility, created_at) = row?;
            let files: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&files).unwrap_or_default();
            pmap.entry(tool)
                .or_default()
                .push(Arc::new(PublishedVersion {
                    version,
                    bundle: Arc::new(crate::registry::Bundle::new(files)),
                    visibility: if visibility == "public" {
                        Visibility::Public
                    } else {
                        Visibility::Private
                    },
                    created_at,
                }));
        }
        Ok(())
    }

    /// Runs `f` on the writer thread inside the next group transaction; resolves after commit.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.queue(f, false).await
    }

    /// Queues `f` for the writer now; the returned future resolves after its commit. An
    /// `inline` command (small, on a run's path) is committed by the awaiting task itself when
    /// nobody else is committing; the others by the writer thread.
    fn queue<T, F>(
        &self,
        f: F,
        inline: bool,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + '_
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let work: Work = Box::new(move |c| f(c).map(|v| Box::new(v) as AnyBox));
        let reply: Reply = Box::new(move |r| {
            let _ = tx.send(r);
        });
        let sent = self.committer.push(Command {
            work,
            reply,
            inline,
        });
        if sent.is_ok() && !inline {
            self.committer.signal();
        }
        async move {
            sent?;
            if inline {
                self.committer.lead(true);
            }
            let out = rx.await.map_err(|_| StoreError::Closed)?;
            out.map(|b| *b.downcast::<T>().expect("writer returns the caller's type"))
                .map_err(StoreError::Failed)
        }
    }

    /// Blocking form of [`Store::call`], for start-up and the CLI.
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let work: Work = Box::new(move |c| f(c).map(|v| Box::new(v) as AnyBox));
        let reply: Reply = Box::new(move |r| {
            let _ = tx.send(r);
        });
        self.committer.push(Command {
            work,
            reply,
            inline: false,
        })?;
        self.committer.signal();
        let out = rx.recv().map_err(|_| StoreError::Closed)?;
        out.map(|b| *b.downcast::<T>().expect("writer returns the caller's type"))
            .map_err(StoreError::Failed)
    }

    /// Stops the writer after it has committed everything queued.
    pub fn close(&self) {
        self.committer.close();
        if let Some(h) = self.writer.lock().unwrap().take() {
            let _ = h.join();
        }
    }

    /// Creates the configured organizations and keys that do not exist yet (idempotent).
    pub fn seed(
        &self,
        config: &Config,
        orgs: &[crate::config::OrganizationConfig],
    ) -> Result<(), StoreError> {
        let welcome = to_micros(config.billing.welcome_credits);
        for org in orgs.iter().cloned() {
            let existing = self.org_by_slug(&org.slug);
            let org_id = match existing {
                Some(o) => o.id,
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let opening = org.balance.map(to_micros).unwrap_or(welcome);
                    let rec = Organization {
                        id: id.clone(),
                        slug: org.slug.clone(),
                        name: org.name.clone().unwrap_or_else(|| org.slug.clone()),
                    };
                    let r = rec.clone();
                    let now = self.clock.rfc3339();
                    self.call_blocking(move |c| {
                        c.execute(
                            "INSERT INTO organizations (id, slug, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                            params![r.id, r.slug, r.name, now],
                        )?;
                        c.execute(
                            "INSERT INTO ledger (org_id, amount_micros, label, created_at) VALUES (?1, ?2, 'Welcome Credits', ?3)",
                            params![r.id, opening, now],
                        )?;
                        Ok(())
                    })?;
                    self.orgs.write().unwrap().insert(id.clone(), rec);
                    *self.balances.lock().unwrap().entry(id.clone()).or_default() += opening;
                    id
                }
            };
            for key in org.keys {
                let hash = hash_key(&key.key);
                let expires = key.expires.as_deref().and_then(parse_expiry);
                let prefix: String = key.key.chars().take(8).collect();
                let known = self.keys.read().unwrap().get(&hash).cloned();
                let rec = KeyRecord {
                    id: known
                        .as_ref()
                        .map(|k| k.id.clone())
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                    org_id: org_id.clone(),
                    name: key.name.clone(),
                    prefix: prefix.clone(),
                    expires_at: expires,
                    revoked: known.as_ref().is_some_and(|k| k.revoked),
                };
                let r = rec.clone();
                let h = hash.clone();
                let now = self.clock.rfc3339();
                self.call_blocking(move |c| {
                    c.execute(
                        "INSERT INTO api_keys (id, org_id, name, prefix, hash, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT(hash) DO UPDATE SET org_id = excluded.org_id, name = excluded.name,
                             expires_at = excluded.expires_at",
                        params![r.id, r.org_id, r.name, r.prefix, h, now,
                                r.expires_at.map(|e| e.to_rfc3339())],
                    )?;
                    Ok(())
                })?;
                self.keys.write().unwrap().insert(hash, rec);
            }
            if let Some(plan) = org.fold_plan.clone() {
                let (org_id, now) = (org_id.clone(), self.clock.rfc3339());
                self.call_blocking(move |c| {
                    c.execute(
                        "INSERT INTO fold_plans (org_id, plan, changed_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT(org_id) DO UPDATE SET plan = excluded.plan",
                        params![org_id, plan, now],
                    )?;
                    Ok(())
                })?;
            }
            for t in org.fold_tokens {
                let (hash, id, org_id) = (
                    hash_key(&t.token),
                    uuid::Uuid::new_v4().to_string(),
                    org_id.clone(),
                );
                let prefix: String = t.token.chars().take(8).collect();
                let expires = t
                    .expires
                    .as_deref()
                    .and_then(parse_expiry)
                    .map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                let now = self.clock.rfc3339();
                self.call_blocking(move |c| {
                    c.execute(
                        "INSERT INTO fold_tokens (id, org_id, name, role, prefix, hash, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT(hash) DO UPDATE SET org_id = excluded.org_id, name = excluded.name,
                             role = excluded.role, expires_at = excluded.expires_at",
                        params![id, org_id, t.name, t.role, prefix, hash, now, expires],
                    )?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// The key a raw `Authorization` value names, if it is known, not revoked and not expired.
    pub fn authenticate(&self, raw_key: &str) -> Option<KeyRecord> {
        let keys = self.keys.read().unwrap();
        let k = keys.get(&hash_key(raw_key))?;
        if k.revoked || k.expires_at.is_some_and(|e| e <= self.clock.now()) {
            return None;
        }
        Some(k.clone())
    }

    /// The clock every timestamp and expiry of this state reads.
    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// A key of the organization that works now (the first by name), for runs the admin API
    /// starts on the organization's behalf (the dashboard's invoke, replays).
    pub fn active_key_of(&self, org_id: &str) -> Option<KeyRecord> {
        let now = self.clock.now();
        let keys = self.keys.read().unwrap();
        let mut usable: Vec<&KeyRecord> = keys
            .values()
            .filter(|k| k.org_id == org_id && !k.revoked && k.expires_at.is_none_or(|e| e > now))
            .collect();
        usable.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        usable.first().map(|k| (*k).clone())
    }

    pub fn org(&self, id: &str) -> Option<Organization> {
        self.orgs.read().unwrap().get(id).cloned()
    }

    pub fn org_by_slug(&self, slug: &str) -> Option<Organization> {
        self.orgs
            .read()
            .unwrap()
            .values()
            .find(|o| o.slug == slug)
            .cloned()
    }

    pub fn balance_micros(&self, org_id: &str) -> i64 {
        self.balances
            .lock()
            .unwrap()
            .get(org_id)
            .copied()
            .unwrap_or(0)
    }

    /// Records a finished run: the activation, its debit and the key's use. The record is
    /// journaled before this returns (not when the future is first polled), so a caller can take
    /// the run out of the in-flight list in the same step; the future resolves once the record
    /// is durable (in the run journal, or committed when the journal is off).
    pub fn record_run(
        &self,
        a: Activation,
        key_id: Option<String>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + '_ {
        // An id from `new_activation_id` names its row; any other gets a number of its own and
        // is found through the legacy ids.
        let numbered = match self.ids.codec.decode(&a.id) {
            Some(seq) => Ok((seq, true)),
            None => self.next_seq().map(|seq| (seq, false)),
        };
        let org = a.org_id.clone();
        let cost = a.cost_micros;
        // Journal off: the run is committed on its own task before it is answered.
        let mut direct = None;
        let journaled = match numbered {
            Err(e) => Err(e),
            Ok((seq, coded)) => {
                let run = journal::JournaledRun {
                    seq,
                    coded,
                    activation: a,
                    key_id,
                };
                match self.committer.journal.append(run) {
                    Ok(journal::Appended::Yes { first, eager }) => {
                        if eager {
                            self.committer.wake(commit::Wake::Commands);
                        } else if first {
                            self.committer.wake(commit::Wake::Runs);
                        }
                        Ok(())
                    }
                    Ok(journal::Appended::Closed) => Err(StoreError::Closed),
                    Ok(journal::Appended::Off(run)) => {
                        direct = Some(
                            self.queue(move |c| record_batch(c, std::slice::from_ref(&run)), true),
                        );
                        Ok(())
                    }
                    Err(e) => {
                        if matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)) {
                            self.unwritable
                                .store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(StoreError::Failed(format!(
                            "cannot write the run journal: {e}"
                        )))
                    }
                }
            }
        };
        async move {
            journaled?;
            if let Some(queued) = direct {
                queued.await?;
            }
            let mut balances = self.balances.lock().unwrap();
            let b = balances.entry(org).or_default();
            *b = b.saturating_sub(cost);
            Ok(())
        }
    }

    /// A new activation id: it encodes the activation's sequence number, so its record is
    /// found without an index of ids ([`activation_ids`]). A store that cannot number the run
    /// (it is closing) gives a random id, so the run still answers; its record, if it has one,
    /// meets the same store.
    pub fn new_activation_id(&self) -> String {
        match self.next_seq() {
            Ok(seq) => self.ids.codec.encode(seq),
            Err(_) => uuid::Uuid::new_v4().to_string(),
        }
    }

    /// This process's next sequence number. The spare block is reserved off the run's path
    /// halfway through a block; only when that has not committed by the block's end does the
    /// caller wait for a reservation.
    fn next_seq(&self) -> Result<i64, StoreError> {
        self.ids.next(
            || self.call_blocking(activation_ids::reserve),
            || {
                self.reserve_spare_block();
                Ok(())
            },
        )
    }

    /// Queues the reservation of the next block; it is handed out once committed.
    fn reserve_spare_block(&self) {
        let ids = self.ids.clone();
        let work: Work = Box::new(|c| activation_ids::reserve(c).map(|b| Box::new(b) as AnyBox));
        let reply: Reply = Box::new(move |r| match r {
            Ok(b) => ids.add(*b.downcast().expect("a block")),
            Err(_) => ids.refill_failed(),
        });
        let queued = self.committer.push(Command {
            work,
            reply,
            inline: false,
        });
        if queued.is_ok() {
            self.committer.signal();
        } else {
            self.ids.refill_failed();
        }
    }

    /// Whether a write failed for want of space and no probe has found room since.
    pub fn unwritable(&self) -> bool {
        self.unwritable.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Writes (and removes) 64 KiB, about one large activation; on success the state counts as
    /// writable again. Called only while [`Store::unwritable`], so it costs nothing normally.
    pub async fn probe_writable(&self) -> bool {
        let ok = self
            .call(|c| {
                c.execute(
                    "INSERT INTO write_probe (data) VALUES (zeroblob(65536))",
                    [],
                )?;
                c.execute("DELETE FROM write_probe", [])?;
                Ok(())
            })
            .await
            .is_ok();
        if ok {
            self.unwritable
                .store(false, std::sync::atomic::Ordering::SeqCst);
        }
        ok
    }

    /// Caps the database at `bytes` (`[state] max_size_mb`); writes past it fail as on a full
    /// disk.
    pub fn limit_size(&self, bytes: u64) -> Result<(), StoreError> {
        // Each run's write must meet the cap before its run is answered: no journal.
        self.committer.journal.disable();
        self.call_blocking(move |c| {
            let page: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (bytes as i64 / page.max(512)).max(1);
            c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
        })
    }

    /// Charges a run without recording it (`[state] record_activations = false`).
    pub fn debit_in_memory(&self, org_id: &str, cost_micros: i64) {
        let mut balances = self.balances.lock().unwrap();
        let b = balances.entry(org_id.to_string()).or_default();
        *b = b.saturating_sub(cost_micros);
    }

    /// Keeps the `tools` table in step with the registry (for listing and joins).
    pub async fn upsert_tool(&self, t: &crate::registry::Tool) -> Result<(), StoreError> {
        let (id, name, org, runtime, kind) = (
            t.id.clone(),
            t.name.clone(),
            t.organization.clone(),
            t.runtime_id().to_string(),
            format!("{:?}", t.kind).to_lowercase(),
        );
        let now = self.clock.rfc3339();
        self.call(move |c| {
            c.execute(
                "INSERT INTO tools (id, name, org_slug, runtime, kind, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, org_slug = excluded.org_slug,
                    runtime = excluded.runtime, kind = excluded.kind, updated_at = excluded.updated_at",
                params![id, name, org, runtime, kind, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Records a new immutable version of `tool_id` (the caller chose the number).
    pub async fn insert_version(
        &self,
        tool_id: &str,
        version: &str,
        bundle: Arc<crate::registry::Bundle>,
        visibility: Visibility,
    ) -> Result<(), StoreError> {
        let mut n = [0i64; 3];
        for (i, p) in version.split('.').take(3).enumerate() {
            n[i] = p.parse().unwrap_or(0);
        }
        let files = serde_json::to_string(&bundle.files).expect("files serialize");
        let (t, v, hash) = (
            tool_id.to_string(),
            version.to_string(),
            bundle.hash.clone(),
        );
        let vis = if visibility == Visibility::Public {
            "public"
        } else {
            "private"
        };
        let created_at = self.clock.rfc3339();
        let at = created_at.clone();
        self.call(move |c| {
            c.execute(
                "INSERT INTO versions (tool_id, version, major, minor, patch, visibility, code_hash, files, settings, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '{}', ?9)",
                params![t, v, n[0], n[1], n[2], vis, hash, files, at],
            )?;
            Ok(())
        })
        .await?;
        let mut map = self.published.write().unwrap();
        let list = map.entry(tool_id.to_string()).or_default();
        list.push(Arc::new(PublishedVersion {
            version: version.to_string(),
            bundle,
            visibility,
            created_at,
        }));
        list.sort_by_key(|p| {
            let mut k = [0u64; 3];
            for (i, x) in p.version.split('.').take(3).enumerate() {
                k[i] = x.parse().unwrap_or(0);
            }
            std::cmp::Reverse(k)
        });
        Ok(())
    }

    /// Published versions of a tool, newest first.
    pub fn published(&self, tool_id: &str) -> Vec<Arc<PublishedVersion>> {
        self.published
            .read()
            .unwrap()
            .get(tool_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Writes a consistent copy of the whole state to `dest` (a new SQLite file).
    pub async fn export(&self, dest: std::path::PathBuf) -> Result<(), StoreError> {
        self.call(move |c| {
            let mut to = Connection::open(&dest)?;
            let backup = rusqlite::backup::Backup::new(c, &mut to)?;
            backup.run_to_completion(1024, Duration::ZERO, None)
        })
        .await
    }

    /// Deletes every organization, key, ledger entry, version and activation (the tools table,
    /// which mirrors the folder, stays), so that seeding starts afresh.
    pub async fn wipe(&self) -> Result<(), StoreError> {
        self.call(|c| {
            c.execute_batch(
                "DELETE FROM activations; DELETE FROM legacy_activation_ids; DELETE FROM refusals; DELETE FROM ledger; DELETE FROM api_keys;
                 DELETE FROM versions; DELETE FROM organizations;",
            )?;
            c.execute_batch(identity::WIPE_SQL)?;
            c.execute_batch(cortex_api::WIPE_SQL)?;
            c.execute_batch(fold_runs::WIPE_SQL)?;
            c.execute_batch(fold_bindings::WIPE_SQL)?;
            c.execute_batch(fold::WIPE_SQL)
        })
        .await?;
        self.keys.write().unwrap().clear();
        self.balances.lock().unwrap().clear();
        self.orgs.write().unwrap().clear();
        self.published.write().unwrap().clear();
        self.raw_cache.invalidate();
        Ok(())
    }
}

/// A lock, also after a panic while it was held (the data it guards stays consistent: a
/// transaction that did not commit is rolled back by SQLite).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes finished runs: each activation, its debit and its key's use (one update per key). A
/// run whose activation is already recorded is skipped whole: the journal may hold runs that were
/// committed just before a crash emptied it.
///
/// A run's row is its sequence number. One whose id does not encode it (`!coded`: an id from
/// before [`activation_ids`], or a test's) is also entered in `legacy_activation_ids`, which is
/// where it is found, and where a second copy of it is recognized. Should a number already hold
/// another run (never by design: blocks are reserved in the state), the run takes the next free
/// number and a legacy entry rather than being lost.
fn record_batch(c: &Connection, runs: &[journal::JournaledRun]) -> rusqlite::Result<()> {
    // Cached statements: recording is on every run's way, so SQL is parsed once.
    let mut activation = c.prepare_cached(
        "INSERT OR IGNORE INTO activations (id, seq, org_id, tool_id, version, code_hash, runtime,
            status, status_code, duration_ms, cost_micros, event, response, logs, error, started_at,
            finished_at, injected, exchanges, replay_of)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?;
    let mut debit = c.prepare_cached(
        "INSERT INTO ledger (org_id, amount_micros, label, activation_id, created_at)
         VALUES (?1, ?2, 'Execution', ?3, ?4)",
    )?;
    let mut legacy_known = c.prepare_cached("SELECT 1 FROM legacy_activation_ids WHERE id = ?1")?;
    let mut legacy =
        c.prepare_cached("INSERT INTO legacy_activation_ids (id, seq) VALUES (?1, ?2)")?;
    let mut holder = c.prepare_cached("SELECT id FROM activations WHERE seq = ?1")?;
    let mut uses: HashMap<&str, (i64, &str)> = HashMap::new();
    for r in runs {
        let a = &r.activation;
        if !r.coded && legacy_known.exists([&a.id])? {
            continue;
        }
        let mut seq = r.seq;
        let mut insert = |seq: i64| {
            activation.execute(params![
                a.id,
                seq,
                a.org_id,
                a.tool_id,
                a.version,
                a.code_hash,
                a.runtime,
                a.status,
                a.status_code,
                a.duration_ms,
                a.cost_micros,
                a.event,
                a.response,
                a.logs,
                a.error,
                a.started_at,
                a.finished_at,
                a.injected,
                a.exchanges,
                a.replay_of
            ])
        };
        if insert(seq)? == 0 {
            // Ignored: the number holds this run already (a journal folded twice), or another.
            let held_by: Option<String> = holder.query_row([seq], |row| row.get(0)).optional()?;
            if held_by.is_none_or(|held| held == a.id) || legacy_known.exists([&a.id])? {
                continue;
            }
            seq = c.query_row("SELECT MAX(seq) + 1 FROM activations", [], |row| row.get(0))?;
            insert(seq)?;
        }
        if !r.coded || seq != r.seq {
            legacy.execute(params![a.id, seq])?;
        }
        debit.execute(params![a.org_id, -a.cost_micros, a.id, a.finished_at])?;
        if let Some(k) = &r.key_id {
            let u = uses.entry(k.as_str()).or_insert((0, ""));
            u.0 += 1;
            u.1 = u.1.max(a.finished_at.as_str());
        }
    }
    let mut key = c.prepare_cached(
        "UPDATE api_keys SET use_count = use_count + ?2, last_used_at = ?3 WHERE id = ?1",
    )?;
    for (id, (n, last)) in uses {
        key.execute(params![id, n, last])?;
    }
    Ok(())
}

/// An immutable snapshot of a tool's files (PLATFORM.md §3).
#[derive(Debug, Clone)]
pub struct PublishedVersion {
    /// Normalized `MAJOR.MINOR.PATCH`.
    pub version: String,
    pub bundle: Arc<crate::registry::Bundle>,
    pub visibility: Visibility,
    pub created_at: String,
}

/// Whether a failed write failed for want of space (a full disk, a full `max_page_count`, or
/// the I/O errors a full disk gives).
fn out_of_space(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DiskFull) | Some(rusqlite::ErrorCode::SystemIoFailure)
    )
}
