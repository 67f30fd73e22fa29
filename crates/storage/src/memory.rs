//! The in-memory backend behind `Store::open(None, ..)`: one ordered map per [`Space`], the
//! Raft log and the Raft metadata, each behind its own lock. Nothing is written anywhere, so
//! a throwaway store (tests, `--in-memory`) costs no log writes, checksums or page cache.
//!
//! Locking rules, which keep it deadlock-free and hold times short:
//! - a reader takes one read lock at a time and never across a call back into its caller
//!   (range iterators fetch small chunks and release the lock between chunks);
//! - a commit or import takes the write locks of every space it touches up front, in
//!   [`Space`] order, applies everything, then releases them all; replaced values are freed
//!   after the locks are released.
//!
//! A poisoned lock (a panic while holding it) is reported as a [`StorageError`]: the map it
//! guards may be half-updated, and every storage error is fatal to the node.
//!
//! The spaces are persistent ordered maps (`imbl::OrdMap`): cloning one is O(1) and shares
//! its nodes, so a Raft snapshot takes a point-in-time copy of every space without holding up
//! apply (copying a BTreeMap of a million items paused every write for a second or more),
//! and encodes it later, off the state machine's task. A write to a node still shared with a
//! snapshot copies that node first.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::apply::WriteSet;
use crate::error::StorageError;
use crate::store::{range_is_empty, KeyValue, Space};

/// One space's entries.
pub(crate) type Map = imbl::OrdMap<Vec<u8>, Vec<u8>>;

/// Entries a range iterator fetches under its first read lock: small, because many ranges
/// stop after a few entries (a query with `Limit`, a peek for the last evaluated key).
const CHUNK_FIRST: usize = 8;
/// The chunk size doubles after each full chunk, up to this.
const CHUNK_MAX: usize = 64;

/// The in-memory database. (No `Debug`: it would print every entry.)
#[derive(Default)]
pub(crate) struct MemoryBackend {
    /// Indexed by [`Space::index`].
    spaces: [RwLock<Map>; crate::store::SPACE_COUNT],
    raft_log: RwLock<BTreeMap<u64, Vec<u8>>>,
    raft_meta: RwLock<HashMap<String, Vec<u8>>>,
    /// Approximate bytes of keys and values held, for `size_on_disk`.
    held: AtomicI64,
    /// The part of `held` in the Raft log and the Raft metadata (snapshots included).
    raft_held: AtomicI64,
}

fn poisoned() -> StorageError {
    StorageError::Engine("in-memory store lock poisoned by an earlier panic".into())
}

fn read<T>(lock: &RwLock<T>) -> Result<RwLockReadGuard<'_, T>, StorageError> {
    lock.read().map_err(|_| poisoned())
}

fn write<T>(lock: &RwLock<T>) -> Result<RwLockWriteGuard<'_, T>, StorageError> {
    lock.write().map_err(|_| poisoned())
}

fn size(key_len: usize, value: &[u8]) -> i64 {
    i64::try_from(key_len + value.len()).unwrap_or(i64::MAX)
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    bound.as_ref().map(Vec::as_slice)
}

impl MemoryBackend {
    fn space(&self, space: Space) -> &RwLock<Map> {
        &self.spaces[space.index()]
    }

    fn account(&self, delta: i64) {
        self.held.fetch_add(delta, Ordering::Relaxed);
    }

    /// Accounts bytes of the Raft log or metadata.
    fn account_raft(&self, delta: i64) {
        self.account(delta);
        self.raft_held.fetch_add(delta, Ordering::Relaxed);
    }

    /// Approximate bytes of the state machine's spaces (what a snapshot encodes).
    pub(crate) fn state_bytes_held(&self) -> u64 {
        let state = self.held.load(Ordering::Relaxed) - self.raft_held.load(Ordering::Relaxed);
        u64::try_from(state).unwrap_or(0)
    }

    /// Approximate bytes of keys and values held (the Raft log and metadata included).
    pub(crate) fn bytes_held(&self) -> u64 {
        u64::try_from(self.held.load(Ordering::Relaxed)).unwrap_or(0)
    }

    pub(crate) fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(read(self.space(space))?.get(key).cloned())
    }

    /// Applies every write of `writes` while holding the write locks of all the spaces it
    /// touches, so a reader sees either none of it or all of it, key by key.
    pub(crate) fn commit(&self, writes: WriteSet) -> Result<(), StorageError> {
        let mut guards: [Option<RwLockWriteGuard<'_, Map>>; crate::store::SPACE_COUNT] =
            Default::default();
        // Space::ALL is in index order: the fixed lock order.
        for space in Space::ALL {
            if writes.touches(space) {
                guards[space.index()] = Some(write(self.space(space))?);
            }
        }
        let mut replaced = Vec::new();
        let mut delta = 0i64;
        for ((space, key), value) in writes.into_ops() {
            let Some(map) = guards[space.index()].as_mut() else {
                return Err(StorageError::Engine(format!(
                    "write set touches {space:?} after the locks were taken"
                )));
            };
            match value {
                Some(value) => {
                    delta += size(key.len(), &value);
                    let key_len = key.len();
                    if let Some(old) = map.insert(key, value) {
                        delta -= size(key_len, &old);
                        replaced.push(old);
                    }
                }
                None => {
                    if let Some((key, old)) = map.remove_with_key(key.as_slice()) {
                        delta -= size(key.len(), &old);
                        replaced.push(old);
                    }
                }
            }
        }
        drop(guards);
        self.account(delta);
        drop(replaced);
        Ok(())
    }

    /// A point-in-time copy of every space, cheap (each map is shared, not copied): the read
    /// locks of all spaces are held together, so no commit is half in it.
    pub(crate) fn snapshot_spaces(&self) -> Result<[Map; crate::store::SPACE_COUNT], StorageError> {
        let mut guards = Vec::with_capacity(Space::ALL.len());
        for space in Space::ALL {
            guards.push(read(self.space(space))?);
        }
        let mut maps: [Map; crate::store::SPACE_COUNT] = Default::default();
        for (space, guard) in Space::ALL.iter().zip(&guards) {
            maps[space.index()] = (**guard).clone();
        }
        Ok(maps)
    }

    /// Every entry of `space`, in key order. Holds the space's read lock while it copies.
    pub(crate) fn export_space(&self, space: Space) -> Result<Vec<KeyValue>, StorageError> {
        Ok(read(self.space(space))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Replaces every space with `spaces` (spaces not listed become empty), atomically with
    /// respect to readers. The new maps are built before any lock is taken.
    pub(crate) fn import(&self, spaces: Vec<(Space, Vec<KeyValue>)>) -> Result<(), StorageError> {
        let mut new: [Map; crate::store::SPACE_COUNT] = Default::default();
        for (space, entries) in spaces {
            // A later entry for the same key wins, as in the sled backend.
            new[space.index()].extend(entries);
        }
        let new_bytes: i64 = new
            .iter()
            .flat_map(|m| m.iter())
            .map(|(k, v)| size(k.len(), v))
            .sum();
        let mut guards = Vec::with_capacity(Space::ALL.len());
        for space in Space::ALL {
            guards.push(write(self.space(space))?);
        }
        let mut old_bytes = 0i64;
        for (guard, map) in guards.iter_mut().zip(new.iter_mut()) {
            std::mem::swap(&mut **guard, map);
            old_bytes += map.iter().map(|(k, v)| size(k.len(), v)).sum::<i64>();
        }
        drop(guards);
        self.account(new_bytes - old_bytes);
        // `new` now holds the old contents; they are freed here, outside the locks.
        drop(new);
        Ok(())
    }

    pub(crate) fn append_log(
        &self,
        entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
    ) -> Result<(), StorageError> {
        // Collected first so that the caller's iterator never runs under the lock.
        let entries: Vec<(u64, Vec<u8>)> = entries.into_iter().collect();
        let mut replaced = Vec::new();
        let mut delta = 0i64;
        {
            let mut log = write(&self.raft_log)?;
            for (index, bytes) in entries {
                delta += size(8, &bytes);
                if let Some(old) = log.insert(index, bytes) {
                    delta -= size(8, &old);
                    replaced.push(old);
                }
            }
        }
        self.account_raft(delta);
        Ok(())
    }

    pub(crate) fn log_range(
        &self,
        range: impl RangeBounds<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let (lower, upper) = (range.start_bound().cloned(), range.end_bound().cloned());
        let empty = match (lower, upper) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u) | Bound::Included(u)) => {
                l >= u
            }
            _ => false,
        };
        if empty {
            return Ok(Vec::new());
        }
        Ok(read(&self.raft_log)?
            .range((lower, upper))
            .map(|(i, v)| (*i, v.clone()))
            .collect())
    }

    pub(crate) fn last_log(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        Ok(read(&self.raft_log)?
            .last_key_value()
            .map(|(i, v)| (*i, v.clone())))
    }

    pub(crate) fn first_log(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        Ok(read(&self.raft_log)?
            .first_key_value()
            .map(|(i, v)| (*i, v.clone())))
    }

    /// Deletes every entry with index `>= from`.
    pub(crate) fn truncate_log(&self, from: u64) -> Result<(), StorageError> {
        let removed = write(&self.raft_log)?.split_off(&from);
        self.account_removed_log(&removed);
        Ok(())
    }

    /// Deletes every entry with index `<= upto`.
    pub(crate) fn purge_log(&self, upto: u64) -> Result<(), StorageError> {
        let removed = {
            let mut log = write(&self.raft_log)?;
            match upto.checked_add(1) {
                Some(first_kept) => {
                    let kept = log.split_off(&first_kept);
                    std::mem::replace(&mut *log, kept)
                }
                None => std::mem::take(&mut *log),
            }
        };
        self.account_removed_log(&removed);
        Ok(())
    }

    fn account_removed_log(&self, removed: &BTreeMap<u64, Vec<u8>>) {
        self.account_raft(-removed.values().map(|v| size(8, v)).sum::<i64>());
    }

    pub(crate) fn put_raft_meta(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        let delta = size(key.len(), &value);
        let old = write(&self.raft_meta)?.insert(key.to_owned(), value);
        self.account_raft(delta - old.map_or(0, |old| size(key.len(), &old)));
        Ok(())
    }

    pub(crate) fn get_raft_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(read(&self.raft_meta)?.get(key).cloned())
    }

    pub(crate) fn delete_raft_meta(&self, key: &str) -> Result<(), StorageError> {
        let old = write(&self.raft_meta)?.remove(key);
        self.account_raft(-old.map_or(0, |old| size(key.len(), &old)));
        Ok(())
    }
}

/// A lazy range over one space of a [`MemoryBackend`]. It holds no lock between calls: each
/// refill copies the next chunk under a short read lock and narrows the remaining range to
/// what lies beyond the last key fetched. Like a sled iterator it is not a snapshot: it sees
/// commits made while it runs, but never a key twice nor out of order.
pub(crate) struct MemoryRange {
    backend: Arc<MemoryBackend>,
    space: Space,
    /// The part of the range not fetched yet.
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    reverse: bool,
    buffer: std::vec::IntoIter<KeyValue>,
    chunk: usize,
    /// Nothing is left to fetch (the range is exhausted, or an error was returned).
    done: bool,
}

impl MemoryRange {
    pub(crate) fn new(
        backend: Arc<MemoryBackend>,
        space: Space,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Self {
        MemoryRange {
            backend,
            space,
            lower,
            upper,
            reverse,
            buffer: Vec::new().into_iter(),
            chunk: CHUNK_FIRST,
            done: false,
        }
    }

    /// Fetches the next chunk into the buffer.
    fn refill(&mut self) -> Result<(), StorageError> {
        // BTreeMap::range panics on inverted bounds; narrowing can produce them.
        if range_is_empty(&self.lower, &self.upper) {
            self.done = true;
            return Ok(());
        }
        let want = self.chunk;
        let entries: Vec<KeyValue> = {
            let map = read(self.backend.space(self.space))?;
            let range = map.range::<_, [u8]>((as_slice(&self.lower), as_slice(&self.upper)));
            let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
            if self.reverse {
                range.rev().take(want).map(clone).collect()
            } else {
                range.take(want).map(clone).collect()
            }
        };
        match entries.last() {
            Some((last, _)) if entries.len() == want => {
                let resume = Bound::Excluded(last.clone());
                if self.reverse {
                    self.upper = resume;
                } else {
                    self.lower = resume;
                }
                self.chunk = (want * 2).min(CHUNK_MAX);
            }
            // A short chunk: the range held nothing more when it was read.
            _ => self.done = true,
        }
        self.buffer = entries.into_iter();
        Ok(())
    }
}

impl Iterator for MemoryRange {
    type Item = Result<KeyValue, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.buffer.next() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.refill() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}
