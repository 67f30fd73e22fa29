//! Raw Raft log and Raft metadata storage, in either backend. The entries are opaque bytes: the raft crate owns
//! their encoding. Log keys are big-endian indexes, so key order is index order.

use std::ops::{Bound, RangeBounds};

use crate::error::{from_sled, StorageError};
use crate::store::{Backend, SledBackend, Store};

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn decode_index(key: &[u8]) -> Result<u64, StorageError> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| StorageError::Corrupted(format!("raft log key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

fn map_bound(bound: Bound<&u64>) -> Bound<[u8; 8]> {
    match bound {
        Bound::Included(i) => Bound::Included(index_key(*i)),
        Bound::Excluded(i) => Bound::Excluded(index_key(*i)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Store {
    /// Writes log entries `(index, bytes)` as one atomic batch. Not durable until
    /// [`Store::flush`].
    pub fn append_log(
        &self,
        entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
    ) -> Result<(), StorageError> {
        let s = match &self.inner.backend {
            Backend::Sled(s) => s,
            Backend::Memory(m) => return m.append_log(entries),
        };
        let mut batch = sled::Batch::default();
        for (index, bytes) in entries {
            batch.insert(&index_key(index), bytes);
        }
        s.raft_log.apply_batch(batch).map_err(from_sled)
    }

    /// The log entries with indexes in `range`, ascending.
    pub fn log_range(
        &self,
        range: impl RangeBounds<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let s = match &self.inner.backend {
            Backend::Sled(s) => s,
            Backend::Memory(m) => return m.log_range(range),
        };
        let lower = map_bound(range.start_bound());
        let upper = map_bound(range.end_bound());
        let empty = match (range.start_bound(), range.end_bound()) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u) | Bound::Included(u)) => {
                l >= u
            }
            _ => false,
        };
        if empty {
            return Ok(Vec::new());
        }
        s.raft_log
            .range((lower, upper))
            .map(|entry| {
                let (k, v) = entry.map_err(from_sled)?;
                Ok((decode_index(&k)?, v.to_vec()))
            })
            .collect()
    }

    /// The entry with the highest index.
    pub fn last_log(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        let s = match &self.inner.backend {
            Backend::Sled(s) => s,
            Backend::Memory(m) => return m.last_log(),
        };
        match s.raft_log.last().map_err(from_sled)? {
            Some((k, v)) => Ok(Some((decode_index(&k)?, v.to_vec()))),
            None => Ok(None),
        }
    }

    /// The entry with the lowest index.
    pub fn first_log(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        let s = match &self.inner.backend {
            Backend::Sled(s) => s,
            Backend::Memory(m) => return m.first_log(),
        };
        match s.raft_log.first().map_err(from_sled)? {
            Some((k, v)) => Ok(Some((decode_index(&k)?, v.to_vec()))),
            None => Ok(None),
        }
    }

    /// Deletes every entry with index `>= from` (conflicting entries), as one batch.
    pub fn truncate_log(&self, from: u64) -> Result<(), StorageError> {
        match &self.inner.backend {
            Backend::Sled(s) => {
                remove_log_range(s, (Bound::Included(index_key(from)), Bound::Unbounded))
            }
            Backend::Memory(m) => m.truncate_log(from),
        }
    }

    /// Deletes every entry with index `<= upto` (covered by a snapshot), as one batch, and
    /// lets sled reclaim their space (see `SledBackend::roll_segment`).
    pub fn purge_log(&self, upto: u64) -> Result<(), StorageError> {
        match &self.inner.backend {
            Backend::Sled(s) => {
                remove_log_range(s, (Bound::Unbounded, Bound::Included(index_key(upto))))?;
                s.roll_segment()
            }
            Backend::Memory(m) => m.purge_log(upto),
        }
    }

    /// Stores a Raft metadata value (vote, committed log id, last purged log id, …). Not
    /// durable until [`Store::flush`].
    pub fn put_raft_meta(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        match &self.inner.backend {
            Backend::Sled(s) => {
                s.raft_meta
                    .insert(key.as_bytes(), value)
                    .map_err(from_sled)?;
                Ok(())
            }
            Backend::Memory(m) => m.put_raft_meta(key, value),
        }
    }

    /// A Raft metadata value.
    pub fn get_raft_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match &self.inner.backend {
            Backend::Sled(s) => Ok(s
                .raft_meta
                .get(key.as_bytes())
                .map_err(from_sled)?
                .map(|v| v.to_vec())),
            Backend::Memory(m) => m.get_raft_meta(key),
        }
    }

    /// Removes a Raft metadata value.
    pub fn delete_raft_meta(&self, key: &str) -> Result<(), StorageError> {
        match &self.inner.backend {
            Backend::Sled(s) => {
                s.raft_meta.remove(key.as_bytes()).map_err(from_sled)?;
                Ok(())
            }
            Backend::Memory(m) => m.delete_raft_meta(key),
        }
    }
}

fn remove_log_range(
    s: &SledBackend,
    range: (Bound<[u8; 8]>, Bound<[u8; 8]>),
) -> Result<(), StorageError> {
    let mut batch = sled::Batch::default();
    for key in s.raft_log.range(range).keys() {
        batch.remove(key.map_err(from_sled)?);
    }
    s.raft_log.apply_batch(batch).map_err(from_sled)
}
