//! The apply path: a write overlay that several log entries share before one atomic commit.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use crate::error::StorageError;
use crate::keys::{in_range, prefix_range};
use crate::store::{KeyValue, Space, Store};

/// Pending writes: `Some(value)` puts, `None` deletes. Committed with [`Store::commit`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteSet {
    ops: BTreeMap<(Space, Vec<u8>), Option<Vec<u8>>>,
}

impl WriteSet {
    /// An empty write set.
    pub fn new() -> Self {
        WriteSet::default()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// How many keys are pending.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Records a put.
    pub fn put(&mut self, space: Space, key: Vec<u8>, value: Vec<u8>) {
        self.ops.insert((space, key), Some(value));
    }

    /// Records a delete.
    pub fn delete(&mut self, space: Space, key: Vec<u8>) {
        self.ops.insert((space, key), None);
    }

    /// The pending write of `key`: `None` if untouched, `Some(None)` if deleted.
    pub fn pending(&self, space: Space, key: &[u8]) -> Option<Option<&[u8]>> {
        self.ops.get(&(space, key.to_vec())).map(|v| v.as_deref())
    }

    /// The pending writes of one space within `(lower, upper)`, in key order.
    fn pending_range<'s>(
        &'s self,
        space: Space,
        lower: &'s Bound<Vec<u8>>,
        upper: &'s Bound<Vec<u8>>,
    ) -> impl Iterator<Item = (&'s [u8], Option<&'s [u8]>)> + 's {
        let start = match lower {
            Bound::Included(l) => Bound::Included((space, l.clone())),
            Bound::Excluded(l) => Bound::Excluded((space, l.clone())),
            Bound::Unbounded => Bound::Included((space, Vec::new())),
        };
        self.ops
            .range((start, Bound::Unbounded))
            .take_while(move |((s, k), _)| *s == space && in_range(k, &Bound::Unbounded, upper))
            .map(|((_, k), v)| (k.as_slice(), v.as_deref()))
    }

    /// Whether any pending write is in `space`.
    pub(crate) fn touches(&self, space: Space) -> bool {
        self.ops
            .range((space, Vec::new())..)
            .next()
            .is_some_and(|((s, _), _)| *s == space)
    }

    pub(crate) fn into_ops(self) -> impl Iterator<Item = ((Space, Vec<u8>), Option<Vec<u8>>)> {
        self.ops.into_iter()
    }
}

/// The state machine's view while applying: reads see the pending writes first, then the
/// committed store. Writes go to the overlay only, until the caller commits the write set.
#[derive(Debug)]
pub struct ApplyView<'a> {
    store: &'a Store,
    writes: &'a mut WriteSet,
}

impl<'a> ApplyView<'a> {
    /// A view of `store` with `writes` on top.
    pub fn new(store: &'a Store, writes: &'a mut WriteSet) -> Self {
        ApplyView { store, writes }
    }

    /// The value of `key` as of the pending writes.
    pub fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.writes.pending(space, key) {
            Some(pending) => Ok(pending.map(<[u8]>::to_vec)),
            None => self.store.get(space, key),
        }
    }

    /// Puts `value` under `key`.
    pub fn put(&mut self, space: Space, key: Vec<u8>, value: Vec<u8>) {
        self.writes.put(space, key, value);
    }

    /// Deletes `key` (a no-op if absent).
    pub fn delete(&mut self, space: Space, key: Vec<u8>) {
        self.writes.delete(space, key);
    }

    /// Deletes every key under `prefix`, committed or pending; returns how many existed.
    pub fn delete_prefix(&mut self, space: Space, prefix: &[u8]) -> Result<usize, StorageError> {
        let existing = self.scan_prefix(space, prefix)?;
        let count = existing.len();
        for (key, _) in existing {
            self.writes.delete(space, key);
        }
        // Pending deletes under the prefix already hide their keys; nothing else to do.
        Ok(count)
    }

    /// Every entry under `prefix` as of the pending writes, in key order.
    pub fn scan_prefix(&self, space: Space, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        let (lower, upper) = prefix_range(prefix);
        self.range(space, lower, upper, None)
    }

    /// Up to `limit` entries in `(lower, upper)` as of the pending writes, ascending.
    pub fn range(
        &self,
        space: Space,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        limit: Option<usize>,
    ) -> Result<Vec<KeyValue>, StorageError> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let mut committed = self
            .store
            .range(space, lower.clone(), upper.clone(), false)
            .peekable();
        let mut pending = self.writes.pending_range(space, &lower, &upper).peekable();
        while out.len() < limit {
            let order = match (committed.peek(), pending.peek()) {
                (None, None) => break,
                (Some(Err(_)), _) => match committed.next() {
                    Some(Err(e)) => return Err(e),
                    _ => continue,
                },
                (Some(Ok(_)), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(Ok((ck, _))), Some((pk, _))) => ck.as_slice().cmp(pk),
            };
            if order == Ordering::Less {
                if let Some(entry) = committed.next() {
                    out.push(entry?);
                }
                continue;
            }
            if order == Ordering::Equal {
                // The overlay shadows the committed value.
                committed.next();
            }
            if let Some((key, Some(value))) = pending.next() {
                out.push((key.to_vec(), value.to_vec()));
            }
        }
        Ok(out)
    }
}
