//! The run journal against real SQLite files: what a crash leaves in it is recorded once at
//! the next open, a damaged tail is skipped, and a second process on the same state records
//! directly.

use super::*;

pub(super) fn activation(id: &str) -> Activation {
    Activation {
        id: id.into(),
        org_id: "org-1".into(),
        tool_id: "hello".into(),
        version: "draft".into(),
        code_hash: "h".repeat(64),
        runtime: "lua".into(),
        status: "success".into(),
        status_code: 200,
        duration_ms: 0.5,
        cost_micros: 7,
        event: "{}".into(),
        response: "{\"statusCode\": 200}".into(),
        logs: String::new(),
        error: None,
        started_at: "2026-12-03T12:00:00.000Z".into(),
        finished_at: format!("2026-12-03T12:00:0{}.000Z", id.len() % 10),
        injected: false,
        exchanges: "[]".into(),
        replay_of: None,
    }
}

/// A store at `path` with one organization and one key.
/// Activations a read through the store sees (it folds the journal in first).
async fn recorded(store: &Store) -> i64 {
    store
        .call(|c| {
            c.query_row("SELECT COUNT(*) FROM activations", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .await
        .unwrap()
}

pub(super) fn open(path: &Path) -> Arc<Store> {
    let store = Store::open(Some(path), None, Default::default()).unwrap();
    store
        .call_blocking(|c| {
            c.execute_batch(
                "INSERT OR IGNORE INTO organizations (id, slug, name, created_at)
                    VALUES ('org-1', 'acme', 'Acme', 't');
                 INSERT OR IGNORE INTO api_keys (id, org_id, name, prefix, hash, created_at)
                    VALUES ('key-1', 'org-1', 'k', 'RIV_', 'hash', 't');",
            )
        })
        .unwrap();
    store
}

fn counts(path: &Path) -> (i64, i64, i64) {
    let c = Connection::open(path).unwrap();
    let one = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    (
        one("SELECT COUNT(*) FROM activations"),
        one("SELECT COUNT(*) FROM ledger WHERE label = 'Execution'"),
        one("SELECT use_count FROM api_keys WHERE id = 'key-1'"),
    )
}

pub(super) fn line(run: &journal::JournaledRun) -> String {
    serde_json::to_string(run).unwrap() + "\n"
}

#[tokio::test]
async fn a_journaled_run_is_seen_by_the_next_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state.db"));
    for i in 0..20 {
        store
            .record_run(activation(&format!("a{i}")), Some("key-1".into()))
            .await
            .unwrap();
    }
    // No waiting: a read folds the journal in before it runs.
    let seen = store
        .activations(admin::ActivationFilter {
            tool: None,
            version: None,
            status: None,
            since: None,
            limit: Some(100),
            organization: None,
        })
        .await
        .unwrap();
    assert_eq!(seen.len(), 20);
    assert_eq!(seen[0].id, "a19", "newest first, in the order recorded");
    assert_eq!(store.balance_micros("org-1"), -140);
    store.close();
    assert_eq!(counts(&dir.path().join("state.db")), (20, 20, 20));
}

#[test]
fn runs_a_crash_left_in_the_journal_are_recorded_once_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = open(&db);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(store.record_run(activation("first"), Some("key-1".into())))
        .unwrap();
    store.close();
    drop(store);
    assert_eq!(counts(&db), (1, 1, 1));

    // As a crash between SQLite's commit and the journal's emptying leaves it: "first" again,
    // then a run only the journal has, then half a line (the machine lost power mid-write).
    let again = journal::JournaledRun {
        seq: 1,
        coded: false,
        activation: activation("first"),
        key_id: Some("key-1".into()),
    };
    let only_here = journal::JournaledRun {
        seq: 2,
        coded: false,
        activation: activation("second"),
        key_id: Some("key-1".into()),
    };
    let torn = line(&journal::JournaledRun {
        seq: 3,
        coded: false,
        activation: activation("torn"),
        key_id: None,
    });
    std::fs::write(
        dir.path().join("state.db-runs.1"),
        line(&again) + &line(&only_here) + &torn[..torn.len() / 2],
    )
    .unwrap();

    let store = open(&db);
    assert_eq!(
        counts(&db),
        (2, 2, 2),
        "each run once, with one debit and one key use"
    );
    assert_eq!(store.balance_micros("org-1"), -14);
    for f in ["state.db-runs.0", "state.db-runs.1"] {
        assert_eq!(
            std::fs::metadata(dir.path().join(f)).unwrap().len(),
            0,
            "{f}"
        );
    }
    // Numbering goes on after the journal's runs (from this process's block).
    rt.block_on(store.record_run(activation("third"), None))
        .unwrap();
    store.close();
    let c = Connection::open(&db).unwrap();
    let seq: i64 = c
        .query_row("SELECT seq FROM activations WHERE id = 'third'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(seq > 2, "{seq}");
}

#[test]
fn the_journal_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state.db"));
    for f in ["state.db-runs.0", "state.db-runs.1"] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    store.close();
}

#[tokio::test]
async fn a_second_store_on_the_same_state_records_each_run_before_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let owner = open(&db);
    let second = open(&db);
    second
        .record_run(activation("from-the-cli"), Some("key-1".into()))
        .await
        .unwrap();
    // Committed to SQLite before record_run answered: another connection sees it at once.
    assert_eq!(counts(&db), (1, 1, 1));
    owner
        .record_run(activation("from-the-server"), Some("key-1".into()))
        .await
        .unwrap();
    owner.close();
    second.close();
    assert_eq!(counts(&db), (2, 2, 2));
}

#[test]
fn a_run_sqlite_refuses_is_set_aside_and_the_others_are_recorded_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    open(&db).close();
    // A run of an organization a reset deleted while it ran: its debit breaks a foreign key.
    let mut ghost = activation("ghost");
    ghost.org_id = "org-gone".into();
    let lines = line(&journal::JournaledRun {
        seq: 1,
        coded: false,
        activation: ghost,
        key_id: None,
    }) + &line(&journal::JournaledRun {
        seq: 2,
        coded: false,
        activation: activation("kept"),
        key_id: Some("key-1".into()),
    });
    std::fs::write(dir.path().join("state.db-runs.0"), lines).unwrap();
    let store = open(&db);
    store.close();
    assert_eq!(counts(&db), (1, 1, 1));
    let rejected = std::fs::read_to_string(dir.path().join("state.db-runs.rejected")).unwrap();
    assert!(rejected.contains("\"id\":\"ghost\""), "{rejected}");
    assert!(!rejected.contains("\"id\":\"kept\""), "{rejected}");
}

#[tokio::test]
async fn a_run_recorded_after_close_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state.db"));
    store.close();
    let late = store.record_run(activation("late"), None).await;
    assert!(matches!(late, Err(StoreError::Closed)), "{late:?}");
}

#[tokio::test]
async fn runs_the_database_cannot_take_yet_stay_journaled_until_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = open(&db);
    // Another program holds SQLite's write lock past the store's 5 s busy timeout.
    let other = Connection::open(&db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    store
        .record_run(activation("waiting"), Some("key-1".into()))
        .await
        .unwrap();
    // This read makes the writer fold first; the fold meets the lock and keeps the run.
    let stale = recorded(&store).await;
    assert_eq!(stale, 0);
    other.execute_batch("ROLLBACK").unwrap();
    let seen = recorded(&store).await;
    assert_eq!(
        seen, 1,
        "the run was kept and folded in once the lock was gone"
    );
    store.close();
    assert_eq!(counts(&db), (1, 1, 1));
}
