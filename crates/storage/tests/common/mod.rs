//! Opening a store on either backend, for tests that must hold for both.

#![allow(dead_code, reason = "each test file uses a different part")]
#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::ops::Bound;

use meridian_storage::{Space, Store};

pub const CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// Which engine a test store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `Store::open(None, ..)`.
    Memory,
    /// sled in a temporary directory.
    Sled,
}

pub const BACKENDS: [Backend; 2] = [Backend::Memory, Backend::Sled];

/// A store and, for sled, the directory that must outlive it.
#[derive(Debug)]
pub struct Opened {
    pub store: Store,
    pub dir: Option<tempfile::TempDir>,
}

pub fn open(backend: Backend) -> Opened {
    match backend {
        Backend::Memory => {
            let store = Store::open(None, CACHE_BYTES).unwrap();
            assert!(store.is_in_memory());
            Opened { store, dir: None }
        }
        Backend::Sled => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
            assert!(!store.is_in_memory());
            Opened {
                store,
                dir: Some(dir),
            }
        }
    }
}

pub type Model = BTreeMap<(Space, Vec<u8>), Vec<u8>>;

/// Every committed entry of every space.
pub fn contents(store: &Store) -> Model {
    let mut out = Model::new();
    for space in Space::ALL {
        for entry in store.range(space, Bound::Unbounded, Bound::Unbounded, false) {
            let (k, v) = entry.unwrap();
            out.insert((space, k), v);
        }
    }
    out
}
