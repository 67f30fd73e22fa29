//! The store behaves like a `BTreeMap` per space, across commits and reopen, on both backends
//! (sled and in-memory); commits and imports are atomic; the Raft log API; what a durable
//! flush costs.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::ops::Bound;
use std::time::Instant;

use common::{contents, open, Backend, Model, BACKENDS, CACHE_BYTES};
use meridian_storage::{ApplyView, Space, StorageError, Store, WriteSet};
use proptest::prelude::*;

fn commit(store: &Store, f: impl FnOnce(&mut ApplyView<'_>)) {
    let mut ws = WriteSet::new();
    f(&mut ApplyView::new(store, &mut ws));
    store.commit(ws).unwrap();
}

#[test]
fn t10_reads_ranges_and_overlay() {
    for backend in BACKENDS {
        reads_ranges_and_overlay(&open(backend).store);
    }
}

fn reads_ranges_and_overlay(store: &Store) {
    let store = store.clone();
    commit(&store, |v| {
        for k in [b"a1", b"a2", b"a3", b"b1"] {
            v.put(Space::Items, k.to_vec(), k.to_vec());
        }
        v.put(Space::Meta, b"a1".to_vec(), b"meta".to_vec());
    });
    let keys =
        |it: meridian_storage::RangeIter| -> Vec<Vec<u8>> { it.map(|e| e.unwrap().0).collect() };
    assert_eq!(
        keys(store.scan_prefix(Space::Items, b"a")),
        vec![b"a1".to_vec(), b"a2".to_vec(), b"a3".to_vec()]
    );
    assert_eq!(
        keys(store.range(
            Space::Items,
            Bound::Excluded(b"a1".to_vec()),
            Bound::Included(b"b1".to_vec()),
            true
        )),
        vec![b"b1".to_vec(), b"a3".to_vec(), b"a2".to_vec()]
    );
    // Inverted and empty ranges yield nothing rather than panicking.
    for (lo, hi) in [
        (
            Bound::Included(b"b".to_vec()),
            Bound::Included(b"a".to_vec()),
        ),
        (
            Bound::Excluded(b"a2".to_vec()),
            Bound::Excluded(b"a2".to_vec()),
        ),
        (
            Bound::Included(b"a2".to_vec()),
            Bound::Excluded(b"a2".to_vec()),
        ),
    ] {
        assert_eq!(
            keys(store.range(Space::Items, lo.clone(), hi.clone(), false)).len(),
            0
        );
        assert_eq!(keys(store.range(Space::Items, lo, hi, true)).len(), 0);
    }
    // Spaces are separate.
    assert_eq!(
        store.get(Space::Meta, b"a1").unwrap(),
        Some(b"meta".to_vec())
    );
    assert_eq!(store.get(Space::Tables, b"a1").unwrap(), None);

    // The overlay: later writes see earlier ones; delete_prefix covers both layers.
    let mut ws = WriteSet::new();
    let mut view = ApplyView::new(&store, &mut ws);
    view.put(Space::Items, b"a0".to_vec(), b"new".to_vec());
    view.delete(Space::Items, b"a2".to_vec());
    assert_eq!(
        view.get(Space::Items, b"a0").unwrap(),
        Some(b"new".to_vec())
    );
    assert_eq!(view.get(Space::Items, b"a2").unwrap(), None);
    assert_eq!(view.get(Space::Items, b"a3").unwrap(), Some(b"a3".to_vec()));
    let scanned: Vec<_> = view.scan_prefix(Space::Items, b"a").unwrap();
    assert_eq!(
        scanned.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        vec![b"a0".to_vec(), b"a1".to_vec(), b"a3".to_vec()]
    );
    assert_eq!(view.delete_prefix(Space::Items, b"a").unwrap(), 3);
    assert!(view.scan_prefix(Space::Items, b"a").unwrap().is_empty());
    // Nothing is visible outside the view before the commit.
    assert_eq!(
        store.get(Space::Items, b"a1").unwrap(),
        Some(b"a1".to_vec())
    );
    store.commit(ws).unwrap();
    assert_eq!(
        keys(store.scan_prefix(Space::Items, b"")),
        vec![b"b1".to_vec()]
    );
}

#[derive(Debug, Clone)]
enum Op {
    Put(Space, Vec<u8>, Vec<u8>),
    Delete(Space, Vec<u8>),
    DeletePrefix(Space, Vec<u8>),
    Commit,
    Reopen,
}

fn arb_space() -> impl Strategy<Value = Space> {
    prop_oneof![Just(Space::Items), Just(Space::Meta), Just(Space::SmMeta)]
}

fn arb_key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..4, 0..3)
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (arb_space(), arb_key(), proptest::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(s, k, v)| Op::Put(s, k, v)),
        3 => (arb_space(), arb_key()).prop_map(|(s, k)| Op::Delete(s, k)),
        1 => (arb_space(), proptest::collection::vec(0u8..4, 0..2))
            .prop_map(|(s, p)| Op::DeletePrefix(s, p)),
        3 => Just(Op::Commit),
        1 => Just(Op::Reopen),
    ]
}

/// Runs `ops` against `backend` and a `BTreeMap` model. Reopening the in-memory store keeps
/// a clone of the handle (its contents live as long as one handle does).
fn run_model(backend: Backend, ops: &[Op]) -> Result<(), TestCaseError> {
    let opened = open(backend);
    let mut store = opened.store;
    let mut committed = Model::new();
    let mut pending = committed.clone();
    let mut ws = WriteSet::new();
    for op in ops.iter().cloned() {
        match op {
            Op::Put(s, k, v) => {
                ApplyView::new(&store, &mut ws).put(s, k.clone(), v.clone());
                pending.insert((s, k), v);
            }
            Op::Delete(s, k) => {
                ApplyView::new(&store, &mut ws).delete(s, k.clone());
                pending.remove(&(s, k));
            }
            Op::DeletePrefix(s, p) => {
                let n = ApplyView::new(&store, &mut ws)
                    .delete_prefix(s, &p)
                    .unwrap();
                let before = pending.len();
                pending.retain(|(space, k), _| !(*space == s && k.starts_with(&p)));
                prop_assert_eq!(n, before - pending.len());
            }
            Op::Commit => {
                store.commit(std::mem::take(&mut ws)).unwrap();
                committed = pending.clone();
            }
            Op::Reopen => {
                // Uncommitted writes are lost with the write set.
                ws = WriteSet::new();
                pending = committed.clone();
                store = match &opened.dir {
                    Some(dir) => {
                        drop(store);
                        Store::open(Some(dir.path()), CACHE_BYTES).unwrap()
                    }
                    None => store.clone(),
                };
            }
        }
        prop_assert_eq!(&contents(&store), &committed, "{:?}", backend);
        let view = ApplyView::new(&store, &mut ws);
        for space in [Space::Items, Space::Meta, Space::SmMeta] {
            let seen = view.scan_prefix(space, b"").unwrap();
            let expected: Vec<_> = pending
                .iter()
                .filter(|((s, _), _)| *s == space)
                .map(|((_, k), v)| (k.clone(), v.clone()))
                .collect();
            prop_assert_eq!(seen, expected, "{:?}", backend);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Committed state equals a BTreeMap model, before and after reopening; the overlay view
    /// equals the model with the pending writes applied. Both backends run the same ops.
    #[test]
    fn p20_store_behaves_like_a_btreemap_across_reopen(ops in proptest::collection::vec(arb_op(), 1..60)) {
        for backend in BACKENDS {
            run_model(backend, &ops)?;
        }
    }
}

#[test]
fn t30_export_import_replaces_every_space() {
    for from in BACKENDS {
        for to in BACKENDS {
            export_import_replaces_every_space(from, to);
        }
    }
}

fn export_import_replaces_every_space(from: Backend, to: Backend) {
    let source = open(from);
    let source = &source.store;
    commit(source, |v| {
        for space in Space::ALL {
            v.put(space, b"k".to_vec(), format!("{space:?}").into_bytes());
        }
        v.put(Space::Items, b"\x00".to_vec(), vec![0; 1000]);
    });
    let export = source.export_state().unwrap();
    assert_eq!(export[0], meridian_storage::EXPORT_FORMAT_VERSION);

    let target = open(to);
    let target = &target.store;
    commit(target, |v| {
        v.put(Space::Items, b"old".to_vec(), b"gone".to_vec());
        v.put(Space::Tokens, b"old".to_vec(), b"gone".to_vec());
    });
    target.log_range(..).unwrap();
    target.append_log([(1, b"entry".to_vec())]).unwrap();
    target.import_state(&export).unwrap();
    assert_eq!(contents(target), contents(source), "{from:?} -> {to:?}");
    // The Raft log is not part of the state.
    assert_eq!(target.log_range(..).unwrap().len(), 1);
    // Both backends export the same bytes for the same state.
    assert_eq!(target.export_state().unwrap(), export);

    let mut bad = export.clone();
    bad[0] = 99;
    assert!(matches!(
        target.import_state(&bad),
        Err(StorageError::UnsupportedVersion { found: 99, .. })
    ));
    assert!(target.import_state(&[]).is_err());
    assert_eq!(contents(target), contents(source));
}

#[test]
fn t40_raft_log_and_meta() {
    for backend in BACKENDS {
        let opened = open(backend);
        let store = opened.store;
        assert_eq!(store.last_log().unwrap(), None);
        assert_eq!(store.first_log().unwrap(), None);
        store
            .append_log((1..=300u64).map(|i| (i, i.to_le_bytes().to_vec())))
            .unwrap();
        store.flush().unwrap();
        assert_eq!(store.last_log().unwrap().unwrap().0, 300);
        // Index order is numeric order, across byte boundaries (255 → 256).
        let got: Vec<u64> = store
            .log_range(254..258)
            .unwrap()
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(got, vec![254, 255, 256, 257]);
        assert!(store.log_range(5..5).unwrap().is_empty());
        assert!(store
            .log_range((Bound::Included(6), Bound::Included(5)))
            .unwrap()
            .is_empty());
        assert_eq!(store.log_range(300..).unwrap().len(), 1);
        store.truncate_log(201).unwrap();
        store.purge_log(100).unwrap();
        assert_eq!(store.first_log().unwrap().unwrap().0, 101);
        assert_eq!(store.last_log().unwrap().unwrap().0, 200);
        assert_eq!(store.log_range(..).unwrap().len(), 100);
        // Appending over existing indexes replaces them.
        store.append_log([(200, b"again".to_vec())]).unwrap();
        assert_eq!(store.last_log().unwrap().unwrap().1, b"again".to_vec());
        store.put_raft_meta("vote", b"v1".to_vec()).unwrap();
        store.flush().unwrap();
        assert!(store.size_on_disk().unwrap() > 0, "{backend:?}");

        let store = match &opened.dir {
            Some(dir) => {
                drop(store);
                Store::open(Some(dir.path()), CACHE_BYTES).unwrap()
            }
            None => store,
        };
        assert_eq!(store.get_raft_meta("vote").unwrap(), Some(b"v1".to_vec()));
        assert_eq!(
            store.log_range(..=101).unwrap(),
            vec![(101, 101u64.to_le_bytes().to_vec())]
        );
        store.delete_raft_meta("vote").unwrap();
        assert_eq!(store.get_raft_meta("vote").unwrap(), None);
        store.purge_log(u64::MAX).unwrap();
        assert_eq!(store.first_log().unwrap(), None);
        assert!(store.log_range(..).unwrap().is_empty());
    }
}

/// The in-memory store's size tracks what it holds: it grows with writes and returns to zero
/// when everything is deleted.
#[test]
fn t45_in_memory_size_tracks_contents() {
    let store = Store::open(None, CACHE_BYTES).unwrap();
    assert_eq!(store.size_on_disk().unwrap(), 0);
    commit(&store, |v| {
        v.put(Space::Items, b"key".to_vec(), vec![1; 100]);
        v.put(Space::Meta, b"m".to_vec(), vec![1; 10]);
    });
    assert_eq!(store.size_on_disk().unwrap(), 3 + 100 + 1 + 10);
    commit(&store, |v| {
        v.put(Space::Items, b"key".to_vec(), vec![1; 50])
    });
    assert_eq!(store.size_on_disk().unwrap(), 3 + 50 + 1 + 10);
    store.append_log([(1, vec![0; 20])]).unwrap();
    store.put_raft_meta("vote", vec![0; 4]).unwrap();
    assert_eq!(store.size_on_disk().unwrap(), 64 + 28 + 8);
    let export = store.export_state().unwrap();
    store.import_state(&export).unwrap();
    assert_eq!(store.size_on_disk().unwrap(), 64 + 28 + 8);
    commit(&store, |v| {
        v.delete(Space::Items, b"key".to_vec());
        v.delete(Space::Meta, b"m".to_vec());
        v.delete(Space::Meta, b"absent".to_vec());
    });
    store.truncate_log(0).unwrap();
    store.delete_raft_meta("vote").unwrap();
    assert_eq!(store.size_on_disk().unwrap(), 0);
}

/// Environment variable that turns `t50_child_writer` into the writer of the crash test.
const CHILD_DIR_ENV: &str = "MERIDIAN_STORAGE_CRASH_DIR";

/// Not a test of its own: the child process of `t50_commit_is_crash_atomic`. Commits, in a
/// loop, one write set that sets the same counter in three spaces.
#[test]
#[ignore]
fn t50_child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let store = Store::open(Some(std::path::Path::new(&dir)), CACHE_BYTES).unwrap();
    for i in 0u64.. {
        commit(&store, |v| {
            for space in [Space::Items, Space::Meta, Space::Tokens] {
                v.put(space, b"counter".to_vec(), i.to_be_bytes().to_vec());
                v.put(space, i.to_be_bytes().to_vec(), vec![7; 64]);
            }
        });
        if i % 50 == 0 {
            store.flush().unwrap();
            if i == 50 {
                println!("ready");
            }
        }
    }
}

/// SIGKILLs a process that commits multi-space write sets, then checks that every space holds
/// the same counter: no commit was torn.
#[test]
fn t50_commit_is_crash_atomic() {
    let exe = std::env::current_exe().unwrap();
    for round in 0..3u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "t50_child_writer",
                "--ignored",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400 + 150 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
        let counters: Vec<_> = [Space::Items, Space::Meta, Space::Tokens]
            .iter()
            .map(|s| store.get(*s, b"counter").unwrap())
            .collect();
        println!("round {round}: recovered counter {:?}", counters[0]);
        assert!(counters.iter().all(|c| *c == counters[0]), "{counters:?}");
        assert!(counters[0].is_some(), "the writer never flushed");
    }
}

/// Prints what one flush + fdatasync costs on this machine, for a small write.
#[test]
fn t90_flush_sync_cost() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
    let rounds = 100u64;
    let start = Instant::now();
    for i in 0..rounds {
        store.append_log([(i, vec![1; 200])]).unwrap();
        store.flush().unwrap();
    }
    let per = start.elapsed() / rounds as u32;
    println!("append + flush + fdatasync: {per:?} each over {rounds} rounds");
}
