//! `Store::range` and `scan_prefix` on both backends: every combination of bounds, forward
//! and reverse, across the in-memory iterator's chunk boundaries, and while commits run.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{open, BACKENDS};
use meridian_storage::keys::in_range;
use meridian_storage::{Space, Store, WriteSet};
use proptest::prelude::*;

type Entries = BTreeMap<Vec<u8>, Vec<u8>>;

fn fill(store: &Store, space: Space, entries: &Entries) {
    let mut ws = WriteSet::new();
    for (k, v) in entries {
        ws.put(space, k.clone(), v.clone());
    }
    store.commit(ws).unwrap();
}

fn collect(
    store: &Store,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
    rev: bool,
) -> Vec<Vec<u8>> {
    store
        .range(Space::Items, lower.clone(), upper.clone(), rev)
        .map(|e| e.unwrap().0)
        .collect()
}

fn expected(
    entries: &Entries,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
    rev: bool,
) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = entries
        .keys()
        .filter(|k| in_range(k, lower, upper))
        .cloned()
        .collect();
    if rev {
        keys.reverse();
    }
    keys
}

fn key(i: u32) -> Vec<u8> {
    i.to_be_bytes()[2..].to_vec()
}

fn bound(kind: usize, k: Vec<u8>) -> Bound<Vec<u8>> {
    match kind {
        0 => Bound::Included(k),
        1 => Bound::Excluded(k),
        _ => Bound::Unbounded,
    }
}

/// Ranges whose lengths sit on and around the chunk boundaries (8, 8+16, 8+16+32, then every
/// 64), with every kind of bound at each end, both directions.
#[test]
fn t10_every_bound_kind_across_chunk_boundaries() {
    let n = 300u32;
    let entries: Entries = (0..n).map(|i| (key(i), i.to_le_bytes().to_vec())).collect();
    let lengths = [
        0, 1, 2, 7, 8, 9, 23, 24, 25, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 183,
        184, 185, 247, 248, 249, 299, 300,
    ];
    for backend in BACKENDS {
        let opened = open(backend);
        let store = &opened.store;
        fill(store, Space::Items, &entries);
        // Another space's keys must never leak into the range.
        fill(store, Space::Meta, &entries);
        for start in [0u32, 1, 37] {
            for len in lengths {
                let end = (start + len).min(n + 2);
                for lo_kind in 0..3 {
                    for hi_kind in 0..3 {
                        let lower = bound(lo_kind, key(start));
                        let upper = bound(hi_kind, key(end));
                        for rev in [false, true] {
                            assert_eq!(
                                collect(store, &lower, &upper, rev),
                                expected(&entries, &lower, &upper, rev),
                                "{backend:?} {lower:?}..{upper:?} rev={rev}"
                            );
                        }
                    }
                }
            }
        }
        // Bounds between stored keys, and outside them.
        for (lower, upper) in [
            (
                Bound::Excluded(vec![0, 5, 0]),
                Bound::Included(vec![0, 200, 0]),
            ),
            (Bound::Included(vec![]), Bound::Excluded(vec![0xFF])),
            (Bound::Excluded(vec![0xFF]), Bound::Unbounded),
            (Bound::Unbounded, Bound::Excluded(vec![])),
            (Bound::Unbounded, Bound::Included(vec![])),
        ] {
            for rev in [false, true] {
                assert_eq!(
                    collect(store, &lower, &upper, rev),
                    expected(&entries, &lower, &upper, rev),
                    "{backend:?} {lower:?}..{upper:?} rev={rev}"
                );
            }
        }
        // An exhausted iterator stays exhausted.
        let mut iter = store.range(Space::Items, bound(0, key(10)), bound(0, key(11)), true);
        assert_eq!(iter.by_ref().count(), 2);
        assert!(iter.next().is_none());
        assert!(iter.next().is_none());
    }
}

#[test]
fn t20_scan_prefix_across_chunks() {
    let mut entries = Entries::new();
    for first in [0x00u8, 0x01, 0x7F, 0xFE, 0xFF] {
        for i in 0..150u32 {
            let mut k = vec![first];
            k.extend(key(i));
            entries.insert(k, vec![first]);
        }
        entries.insert(vec![first], vec![]);
    }
    entries.insert(vec![0xFF, 0xFF, 0xFF, 0xFF], vec![]);
    for backend in BACKENDS {
        let opened = open(backend);
        let store = &opened.store;
        fill(store, Space::Items, &entries);
        for prefix in [
            vec![],
            vec![0x00],
            vec![0x01, 0x00],
            vec![0x7F, 0x00, 0x40],
            vec![0xFF],
            vec![0xFF, 0xFF],
            vec![0x80],
        ] {
            let got: Vec<Vec<u8>> = store
                .scan_prefix(Space::Items, &prefix)
                .map(|e| e.unwrap().0)
                .collect();
            let want: Vec<Vec<u8>> = entries
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            assert_eq!(got, want, "{backend:?} prefix {prefix:?}");
        }
    }
}

fn arb_key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0xFF), any::<u8>()],
        0..3,
    )
}

fn arb_bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Bound::Unbounded),
        arb_key().prop_map(Bound::Included),
        arb_key().prop_map(Bound::Excluded),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any bounds (inverted and empty ones included), either direction: the keys a `BTreeMap`
    /// model holds in that range, in that order.
    #[test]
    fn p30_any_bounds_match_the_model(
        keys in proptest::collection::btree_set(arb_key(), 0..200),
        lower in arb_bound(),
        upper in arb_bound(),
        rev: bool,
    ) {
        let entries: Entries = keys.into_iter().map(|k| (k.clone(), k)).collect();
        for backend in BACKENDS {
            let opened = open(backend);
            fill(&opened.store, Space::Items, &entries);
            prop_assert_eq!(
                collect(&opened.store, &lower, &upper, rev),
                expected(&entries, &lower, &upper, rev)
            );
        }
    }
}

/// Iterating while another thread commits neither panics nor yields a key twice or out of
/// order, and every key that no commit touched is seen.
#[test]
fn t40_commits_while_iterating() {
    for backend in BACKENDS {
        let opened = open(backend);
        let store = opened.store.clone();
        // Even keys are stable; odd keys come and go.
        let stable: Entries = (0..600u32).step_by(2).map(|i| (key(i), vec![0])).collect();
        fill(&store, Space::Items, &stable);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut round = 0u32;
                // At least one round even if the readers finish first on a loaded machine.
                while round == 0 || !stop.load(Ordering::Relaxed) {
                    let mut ws = WriteSet::new();
                    for i in (1..600u32).step_by(2).skip((round % 7) as usize).step_by(5) {
                        if round.is_multiple_of(2) {
                            ws.put(Space::Items, key(i), vec![1]);
                        } else {
                            ws.delete(Space::Items, key(i));
                        }
                    }
                    ws.put(Space::Meta, b"round".to_vec(), round.to_be_bytes().to_vec());
                    store.commit(ws).unwrap();
                    round += 1;
                }
                round
            })
        };
        for pass in 0..40 {
            let rev = pass % 2 == 1;
            let (lower, upper) = match pass % 4 {
                0 | 1 => (Bound::Unbounded, Bound::Unbounded),
                _ => (Bound::Excluded(key(0)), Bound::Included(key(598))),
            };
            let keys = collect(&store, &lower, &upper, rev);
            for pair in keys.windows(2) {
                assert!(
                    (pair[0] < pair[1]) != rev,
                    "{backend:?}: {:?} then {:?}",
                    pair[0],
                    pair[1]
                );
            }
            assert!(keys.iter().all(|k| in_range(k, &lower, &upper)));
            let seen_stable = keys.iter().filter(|k| stable.contains_key(*k)).count();
            let want_stable = stable
                .keys()
                .filter(|k| in_range(k, &lower, &upper))
                .count();
            assert_eq!(seen_stable, want_stable, "{backend:?} pass {pass}");
        }
        stop.store(true, Ordering::Relaxed);
        let rounds = writer.join().unwrap();
        assert!(rounds > 0);
    }
}

/// A commit touching two spaces is seen whole: a reader that sees round `n` in one space then
/// sees at least `n` in the other.
#[test]
fn t50_multi_space_commit_is_atomic_for_readers() {
    for backend in BACKENDS {
        let opened = open(backend);
        let store = opened.store.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let mut ws = WriteSet::new();
                    for space in [Space::Items, Space::Meta, Space::Tokens] {
                        ws.put(space, b"counter".to_vec(), round.to_be_bytes().to_vec());
                    }
                    store.commit(ws).unwrap();
                }
            })
        };
        let read = |space| -> u64 {
            store
                .get(space, b"counter")
                .unwrap()
                .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()))
        };
        for _ in 0..20_000 {
            let items = read(Space::Items);
            let tokens = read(Space::Tokens);
            assert!(
                tokens >= items,
                "{backend:?}: items {items}, then tokens {tokens}"
            );
            let meta = read(Space::Meta);
            let items_again = read(Space::Items);
            assert!(
                items_again >= meta,
                "{backend:?}: meta {meta}, then items {items_again}"
            );
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
    }
}

/// A range iterator is lazy: it sees what was committed after it was created but before it
/// was first advanced.
#[test]
fn t60_iterators_are_lazy() {
    for backend in BACKENDS {
        let opened = open(backend);
        let store = &opened.store;
        let iter = store.range(Space::Items, Bound::Unbounded, Bound::Unbounded, false);
        let mut ws = WriteSet::new();
        ws.put(Space::Items, b"late".to_vec(), b"v".to_vec());
        store.commit(ws).unwrap();
        let got: Vec<_> = iter.map(|e| e.unwrap()).collect();
        assert_eq!(got, vec![(b"late".to_vec(), b"v".to_vec())], "{backend:?}");
    }
}
