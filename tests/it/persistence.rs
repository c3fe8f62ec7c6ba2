//! State lives in SQLite: activations, the ledger and keys survive a hard kill; seeding is
//! idempotent; keys are stored as hashes only.

use crate::common::*;

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn activations_ledger_and_keys_survive_kill_9() {
    let functions = fixtures_dir();
    let state = tempfile::tempdir().unwrap();
    let config = config_text("");
    let mut emu = Emu::start_in(state.path(), functions.path(), &config);
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = emu.invoke("lua-hello", &format!("{{\"name\": \"n{i}\"}}"));
        assert_eq!(r.status, 200);
        ids.push(r.activation_id.clone().expect("activation id header"));
    }
    emu.kill_hard();
    drop(emu);
    // Runs acknowledged in the last few milliseconds may be only in the run journal beside
    // state.db; the next start records them before it serves.
    let journal = state.path().join("state.db-runs.0");
    assert!(journal.exists(), "the run journal is beside the state");
    let mut emu = Emu::start_in(state.path(), functions.path(), &config);
    emu.kill_hard();
    drop(emu);

    let db = state.path().join("state.db");
    for id in &ids {
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM activations WHERE id = '{id}'")
            ),
            1,
            "{id}"
        );
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM ledger WHERE label = 'Execution'"),
        5
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM api_keys"), 4);
    assert_eq!(
        count(
            &db,
            "SELECT use_count FROM api_keys WHERE name = 'test' AND prefix = 'RIV_test'"
        ),
        5
    );
    // Only hashes are stored.
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM api_keys WHERE hash LIKE '%{KEY}%' OR prefix = '{KEY}'")
        ),
        0
    );
    let welcome_before = count(
        &db,
        "SELECT COUNT(*) FROM ledger WHERE label = 'Welcome Credits'",
    );

    // Restart on the same state: nothing is seeded twice, and the recorded runs are still there.
    let emu = Emu::start_in(state.path(), functions.path(), &config);
    assert_eq!(emu.invoke("py-hello", "{}").status, 200);
    // Folds the run journal into state.db before the emulator goes.
    let (status, _) = emu.admin("GET", "/activations?limit=1", None, Some(ADMIN));
    assert_eq!(status, 200);
    drop(emu);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM ledger WHERE label = 'Welcome Credits'"
        ),
        welcome_before
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM activations"), 6);
}

#[test]
fn a_run_is_debited_compute_plus_fee_and_rejections_are_free() {
    let functions = fixtures_dir();
    let state = tempfile::tempdir().unwrap();
    let emu = Emu::start_in(state.path(), functions.path(), &config_text(""));
    // Rejected: unknown tool, bad JSON, bad key. None is charged or recorded.
    emu.invoke("nope", "{}");
    emu.post("/api/v1/functions/py-hello/invoke", Some(KEY), "{");
    emu.post(
        "/api/v1/functions/py-hello/invoke",
        Some("RIV_wrong_key"),
        "{\"event\": {}}",
    );
    let r = emu.invoke("py-div", "{}");
    assert_eq!(r.status, 200);
    // A read through the emulator folds the run journal into state.db first.
    let (status, _) = emu.admin("GET", "/activations?limit=1", None, Some(ADMIN));
    assert_eq!(status, 200);
    let db = state.path().join("state.db");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM activations"), 1);
    let (status, cost, hash): (String, i64, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT status, cost_micros, code_hash FROM activations",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(status, "error");
    assert!(cost >= 0);
    assert_eq!(hash.len(), 64);
    assert_eq!(
        count(
            &db,
            "SELECT -SUM(amount_micros) FROM ledger WHERE label = 'Execution'"
        ),
        cost
    );
    let logs: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT logs FROM activations", [], |r| r.get(0))
        .unwrap();
    assert!(logs.contains("ZeroDivisionError"), "{logs}");
}

#[test]
fn bad_configuration_stops_the_emulator_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("emulator.toml"),
        "[server]\nport = 0\nhots = \"x\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(binary())
        .arg("--config")
        .arg(dir.path().join("emulator.toml"))
        .arg("--in-memory")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("emulator.toml:3:1: unknown field `hots`"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}
