//! Versioned migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! Written by hand: the whole mechanism is "run the SQL whose index is above user_version in one
//! transaction", which is shorter than a dependency's setup.

use rusqlite::Connection;

/// The migration that rebuilds `activations` keyed by sequence number.
const REKEY_ACTIVATIONS: usize = 12;

const MIGRATIONS: &[&str] = &[
    // 1: organizations, keys, wallet ledger, tools, versions, activations.
    r#"
    CREATE TABLE organizations (
        id          TEXT PRIMARY KEY,
        slug        TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id          TEXT PRIMARY KEY,
        org_id      TEXT NOT NULL REFERENCES organizations(id),
        name        TEXT NOT NULL,
        prefix      TEXT NOT NULL,
        hash        TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        expires_at  TEXT,
        use_count   INTEGER NOT NULL DEFAULT 0,
        last_used_at TEXT,
        revoked_at  TEXT
    );
    -- Every debit and credit is a row; a balance is the sum of its organization's rows.
    -- Amounts are integer micro-credits (1e-6), so sums are exact.
    CREATE TABLE ledger (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        org_id        TEXT NOT NULL REFERENCES organizations(id),
        amount_micros INTEGER NOT NULL,
        label         TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'completed',
        activation_id TEXT,
        created_at    TEXT NOT NULL
    );
    CREATE INDEX ledger_org ON ledger(org_id, id);
    CREATE TABLE tools (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        org_slug    TEXT NOT NULL,
        runtime     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE versions (
        tool_id     TEXT NOT NULL,
        version     TEXT NOT NULL,
        major       INTEGER NOT NULL,
        minor       INTEGER NOT NULL,
        patch       INTEGER NOT NULL,
        visibility  TEXT NOT NULL,
        code_hash   TEXT NOT NULL,
        files       TEXT NOT NULL,
        settings    TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (tool_id, version)
    );
    CREATE TABLE activations (
        id            TEXT PRIMARY KEY,
        seq           INTEGER NOT NULL,
        org_id        TEXT NOT NULL,
        tool_id       TEXT NOT NULL,
        version       TEXT NOT NULL,
        code_hash     TEXT NOT NULL,
        runtime       TEXT NOT NULL,
        status        TEXT NOT NULL,
        status_code   INTEGER NOT NULL,
        duration_ms   REAL NOT NULL,
        cost_micros   INTEGER NOT NULL,
        event         TEXT NOT NULL,
        response      TEXT NOT NULL,
        logs          TEXT NOT NULL,
        error         TEXT,
        started_at    TEXT NOT NULL,
        finished_at   TEXT NOT NULL
    );
    CREATE INDEX activations_seq ON activations(seq);
    CREATE INDEX activations_tool ON activations(tool_id, seq);
    "#,
    // 2: a scratch table for the write probe that tells when a full disk has room again.
    r#"
    CREATE TABLE write_probe (data BLOB NOT NULL);
    "#,
    // 3: activations answered by fault injection rather than by the handler.
    r#"
    ALTER TABLE activations ADD COLUMN injected INTEGER NOT NULL DEFAULT 0;
    "#,
    // 4: requests the gateway refused before running anything (the request log's other half).
    r#"
    CREATE TABLE refusals (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        at            TEXT NOT NULL,
        route         TEXT NOT NULL,
        tool_id       TEXT NOT NULL,
        org_id        TEXT,
        status_code   INTEGER NOT NULL,
        response_id   TEXT NOT NULL,
        reason        TEXT NOT NULL
    );
    "#,
    // 5: the identity plane: users, sessions, refresh tokens, roles, permissions, assignments.
    super::identity::MIGRATION,
    // 6: the Cortex API plane: tenants, sub-tenants, sources, chunks (FTS5), raw embeddings.
    super::cortex_api::MIGRATION,
    // 7: the fold deploy plane: role tokens, functions and their versions.
    super::fold::MIGRATION,
    // 8: the fold plane's activations and plans.
    super::fold_runs::MIGRATION,
    // 9: bindings organizations defined through the fold plane's API.
    super::fold_bindings::MIGRATION,
    // 10: the outbound HTTP requests of each run.
    "ALTER TABLE activations ADD COLUMN exchanges TEXT NOT NULL DEFAULT '[]';",
    // 11: which activation a replay replayed.
    "ALTER TABLE activations ADD COLUMN replay_of TEXT;",
    // 12: activations keyed by their sequence number, with ids that decode to it
    // (`activation_ids`); the ids recorded before are kept findable in `legacy_activation_ids`.
    // Sequence numbers are renumbered in their order: two processes could share one before.
    r#"
    CREATE TABLE activations_by_seq (
        seq           INTEGER PRIMARY KEY,
        id            TEXT NOT NULL,
        org_id        TEXT NOT NULL,
        tool_id       TEXT NOT NULL,
        version       TEXT NOT NULL,
        code_hash     TEXT NOT NULL,
        runtime       TEXT NOT NULL,
        status        TEXT NOT NULL,
        status_code   INTEGER NOT NULL,
        duration_ms   REAL NOT NULL,
        cost_micros   INTEGER NOT NULL,
        event         TEXT NOT NULL,
        response      TEXT NOT NULL,
        logs          TEXT NOT NULL,
        error         TEXT,
        started_at    TEXT NOT NULL,
        finished_at   TEXT NOT NULL,
        injected      INTEGER NOT NULL DEFAULT 0,
        exchanges     TEXT NOT NULL DEFAULT '[]',
        replay_of     TEXT
    );
    INSERT INTO activations_by_seq
        SELECT ROW_NUMBER() OVER (ORDER BY seq, rowid), id, org_id, tool_id, version, code_hash,
               runtime, status, status_code, duration_ms, cost_micros, event, response, logs,
               error, started_at, finished_at, injected, exchanges, replay_of
        FROM activations;
    CREATE TABLE legacy_activation_ids (
        id   TEXT PRIMARY KEY,
        seq  INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO legacy_activation_ids SELECT id, seq FROM activations_by_seq;
    DROP TABLE activations;
    ALTER TABLE activations_by_seq RENAME TO activations;
    CREATE INDEX activations_tool ON activations(tool_id, seq);
    CREATE TABLE activation_ids (
        key       BLOB NOT NULL,
        next_seq  INTEGER NOT NULL
    );
    INSERT INTO activation_ids SELECT randomblob(32), COALESCE(MAX(seq), 0) + 1 FROM activations;
    "#,
];

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    migrate_up_to(conn, MIGRATIONS.len())
}

/// Applies the migrations up to number `last` (a test builds an older state with it).
pub(super) fn migrate_up_to(conn: &mut Connection, last: usize) -> rusqlite::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(last).skip(current) {
        if i + 1 == REKEY_ACTIVATIONS {
            // About 6 µs a row: a large state takes seconds, once.
            let rows: i64 = conn.query_row("SELECT COUNT(*) FROM activations", [], |r| r.get(0))?;
            if rows >= 50_000 {
                eprintln!("upgrading the state: {rows} activations are rekeyed by their number (once; about {} s)", rows / 160_000 + 1);
            }
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
