//! Activation ids that decode to their row, against real SQLite files: two processes on one
//! state never hand out the same number, and a state (or a run journal) from before these ids
//! keeps its ids findable, exactly and by prefix.

use super::journal_tests::{activation, line, open};
use super::*;

fn ids_of(found: &[Activation]) -> Vec<&str> {
    found.iter().map(|a| a.id.as_str()).collect()
}

#[tokio::test]
async fn two_stores_on_one_state_hand_out_distinct_ids_and_find_each_others_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (server, cli) = (open(&db), open(&db));
    // More than a block each, taken in turns: both reserve their next blocks as they go.
    let mut ids = Vec::new();
    for i in 0..(activation_ids::BLOCK as usize + 200) {
        let store = if i % 2 == 0 { &server } else { &cli };
        ids.push(store.new_activation_id());
        ids.push(store.new_activation_id());
    }
    let mut seqs: Vec<i64> = ids
        .iter()
        .map(|id| server.ids.codec.decode(id).expect("decodes"))
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), ids.len(), "every number once");

    // One run recorded by each; each store finds both, the exact id and an 8-character prefix.
    let (mine, theirs) = (ids[0].clone(), ids[3].clone());
    server
        .record_run(activation(&mine), Some("key-1".into()))
        .await
        .unwrap();
    cli.record_run(activation(&theirs), Some("key-1".into()))
        .await
        .unwrap();
    for store in [&server, &cli] {
        for id in [&mine, &theirs] {
            let exact = store.activations_by_prefix(id.clone()).await.unwrap();
            assert_eq!(ids_of(&exact), [id.as_str()]);
            let by_prefix = store
                .activations_by_prefix(id[..8].to_uppercase())
                .await
                .unwrap();
            assert_eq!(ids_of(&by_prefix), [id.as_str()]);
        }
    }
    // An id of the right shape that was never recorded, and a prefix of none.
    let unknown = server.new_activation_id();
    assert!(server
        .activations_by_prefix(unknown)
        .await
        .unwrap()
        .is_empty());
    let nothing = server.activations_by_prefix("zz".into()).await.unwrap();
    assert!(nothing.is_empty());
    // The empty prefix matches both: ambiguous, as before.
    assert_eq!(
        server
            .activations_by_prefix(String::new())
            .await
            .unwrap()
            .len(),
        2
    );
    server.close();
    cli.close();
}

/// A state as the version before coded ids wrote it: random ids, and a sequence number that a
/// CLI command and the server both used.
fn state_before_coded_ids(db: &Path, ids: &[&str]) {
    let mut c = Connection::open(db).unwrap();
    schema::migrate_up_to(&mut c, 11).unwrap();
    c.execute_batch(
        "INSERT INTO organizations (id, slug, name, created_at) VALUES ('org-1', 'acme', 'Acme', 't');
         INSERT INTO api_keys (id, org_id, name, prefix, hash, created_at)
            VALUES ('key-1', 'org-1', 'k', 'RIV_', 'hash', 't');",
    )
    .unwrap();
    for (seq, id) in [1, 1, 2].iter().zip(ids) {
        c.execute(
            "INSERT INTO activations (id, seq, org_id, tool_id, version, code_hash, runtime, status,
                status_code, duration_ms, cost_micros, event, response, logs, started_at, finished_at)
             VALUES (?1, ?2, 'org-1', 'hello', 'draft', 'h', 'lua', 'success', 200, 0.5, 7, '{}',
                '{}', '', 't', 't')",
            params![id, seq],
        )
        .unwrap();
    }
}

#[tokio::test]
async fn a_state_and_a_journal_from_before_coded_ids_keep_their_ids_findable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let old: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    state_before_coded_ids(&db, &[&old[0], &old[1], &old[2]]);
    // The old version's journal held one more run: its line has no `coded`.
    let run = journal::JournaledRun {
        seq: 3,
        coded: false,
        activation: activation(&old[3]),
        key_id: Some("key-1".into()),
    };
    let old_line = line(&run).replace("\"coded\":false,", "");
    assert!(!old_line.contains("coded"));
    std::fs::write(dir.path().join("state.db-runs.0"), old_line).unwrap();

    let store = open(&db);
    let new = store.new_activation_id();
    store
        .record_run(activation(&new), Some("key-1".into()))
        .await
        .unwrap();
    for id in old.iter().chain([&new]) {
        let exact = store.activations_by_prefix(id.clone()).await.unwrap();
        assert_eq!(ids_of(&exact), [id.as_str()], "exact {id}");
        let by_prefix = store.activations_by_prefix(id[..13].into()).await.unwrap();
        assert_eq!(ids_of(&by_prefix), [id.as_str()], "prefix {id}");
    }
    // Newest first, the old ones in the order they were numbered.
    let listed = store.activations(Default::default()).await.unwrap();
    let order: Vec<&str> = [&new, &old[3], &old[2], &old[1], &old[0]]
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(ids_of(&listed), order);
    store.close();
    drop(store);

    // The journal's run was folded once, with its debit: opening again changes nothing.
    let store = open(&db);
    assert_eq!(
        store.activations(Default::default()).await.unwrap().len(),
        5
    );
    let debits: i64 = store
        .call(|c| c.query_row("SELECT COUNT(*) FROM ledger", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(debits, 2, "the journal's run and the new one");
    store.close();
}

/// How long the upgrade of a state with 200 000 activations takes (run by hand:
/// `cargo test --lib upgrade_time -- --ignored --nocapture`).
#[test]
#[ignore]
fn upgrade_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    state_before_coded_ids(&db, &[]);
    let mut c = Connection::open(&db).unwrap();
    let tx = c.transaction().unwrap();
    for seq in 1..=200_000i64 {
        tx.execute(
            "INSERT INTO activations (id, seq, org_id, tool_id, version, code_hash, runtime, status,
                status_code, duration_ms, cost_micros, event, response, logs, started_at, finished_at)
             VALUES (?1, ?2, 'org-1', 'hello', 'draft', 'h', 'lua', 'success', 200, 0.5, 7, '{}',
                '{\"statusCode\": 200, \"body\": \"hello\"}', '', 't', 't')",
            params![uuid::Uuid::new_v4().to_string(), seq],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(c);
    let t = std::time::Instant::now();
    let store = open(&db);
    eprintln!("upgrade of 200 000 activations: {:?}", t.elapsed());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = rt.block_on(store.activations(Default::default())).unwrap()[0]
        .id
        .clone();
    let t = std::time::Instant::now();
    let found = rt
        .block_on(store.activations_by_prefix(id[..8].into()))
        .unwrap();
    eprintln!("prefix lookup among 200 000: {:?}", t.elapsed());
    assert_eq!(found.len(), 1);
    let t = std::time::Instant::now();
    rt.block_on(store.activations_by_prefix(id.clone()))
        .unwrap();
    eprintln!("exact legacy lookup: {:?}", t.elapsed());
    store.close();
}

#[tokio::test]
async fn a_counter_behind_its_rows_or_journal_hands_out_no_number_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = open(&db);
    let first = store.new_activation_id();
    store
        .record_run(activation(&first), Some("key-1".into()))
        .await
        .unwrap();
    store.close();
    drop(store);
    // As a power loss that took the WAL's last reservation, or a restored copy, leaves it; and
    // a journaled run numbered past the table.
    rewind_counter(&db);
    let store = open(&db);
    let journaled_seq = store.ids.codec.decode(&store.new_activation_id()).unwrap();
    store.close();
    drop(store);
    rewind_counter(&db);
    let run = journal::JournaledRun {
        seq: journaled_seq,
        coded: true,
        activation: activation(&open_codec(&db).encode(journaled_seq)),
        key_id: Some("key-1".into()),
    };
    std::fs::write(dir.path().join("state.db-runs.0"), line(&run)).unwrap();

    let store = open(&db);
    let next = store.new_activation_id();
    let next_seq = store.ids.codec.decode(&next).unwrap();
    assert!(next_seq > journaled_seq, "{next_seq} after {journaled_seq}");
    store
        .record_run(activation(&next), Some("key-1".into()))
        .await
        .unwrap();
    let listed = store.activations(Default::default()).await.unwrap();
    assert_eq!(listed.len(), 3, "every acknowledged run kept");
    for a in &listed {
        let found = store.activations_by_prefix(a.id.clone()).await.unwrap();
        assert_eq!(ids_of(&found), [a.id.as_str()]);
    }
    store.close();
}

/// Sets the state's counter back to its start.
fn rewind_counter(db: &Path) {
    let c = Connection::open(db).unwrap();
    c.execute("UPDATE activation_ids SET next_seq = 1", [])
        .unwrap();
}

/// The codec of the state at `db`, read as a second process would.
fn open_codec(db: &Path) -> activation_ids::Codec {
    let c = Connection::open(db).unwrap();
    let key: Vec<u8> = c
        .query_row("SELECT key FROM activation_ids", [], |r| r.get(0))
        .unwrap();
    activation_ids::Codec::new(&key)
}
