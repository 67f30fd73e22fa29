//! The store: one sled database with a fixed set of trees, and the committed-read API.

use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::apply::WriteSet;
use crate::durable::DiskSync;
use crate::error::{from_sled, StorageError};

/// Version of the on-disk layout (tree names, key encodings). Written at creation, checked
/// at every open.
pub const STORE_FORMAT_VERSION: u8 = 1;

/// Key of the format marker in sled's default tree.
const FORMAT_KEY: &[u8] = b"meridian.format";

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The state machine's keyspaces. Each is its own tree; one commit may span all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Space {
    /// Table items, keyed by [`crate::keys::encode_item_key`].
    Items,
    /// Table metadata.
    Tables,
    /// Per-table counters and other bookkeeping.
    Meta,
    /// Transaction idempotency tokens.
    Tokens,
    /// The Raft state machine's own state: last applied log id and membership.
    SmMeta,
}

impl Space {
    /// Every space, in tree order.
    pub const ALL: [Space; 5] = [
        Space::Items,
        Space::Tables,
        Space::Meta,
        Space::Tokens,
        Space::SmMeta,
    ];

    fn index(self) -> usize {
        match self {
            Space::Items => 0,
            Space::Tables => 1,
            Space::Meta => 2,
            Space::Tokens => 3,
            Space::SmMeta => 4,
        }
    }

    fn tree_name(self) -> &'static str {
        match self {
            Space::Items => "sm.items",
            Space::Tables => "sm.tables",
            Space::Meta => "sm.meta",
            Space::Tokens => "sm.tokens",
            Space::SmMeta => "sm.sm_meta",
        }
    }
}

/// A handle to the node's database. Cheap to clone; all clones share one sled instance.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: sled::Db,
    /// Indexed by [`Space::index`].
    spaces: [sled::Tree; 5],
    pub(crate) raft_log: sled::Tree,
    pub(crate) raft_meta: sled::Tree,
    /// `None` in in-memory mode, where flushes are skipped.
    disk: Option<DiskSync>,
    path: Option<PathBuf>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the database under `path`; `None` opens a temporary in-memory store
    /// that is deleted when the last handle is dropped. `cache_capacity_bytes` bounds sled's
    /// page cache (its default is ~1 GiB, and RSS runs several times the setting).
    pub fn open(path: Option<&Path>, cache_capacity_bytes: u64) -> Result<Store, StorageError> {
        let config = sled::Config::new()
            .mode(sled::Mode::LowSpace)
            .cache_capacity(cache_capacity_bytes);
        let config = match path {
            Some(p) => config.path(p),
            // Nothing is flushed in memory mode: no background flusher either.
            None => config.temporary(true).flush_every_ms(None),
        };
        let db = open_waiting_for_lock(&config)?;
        let open_tree = |name: &str| db.open_tree(name).map_err(from_sled);
        let spaces = [
            open_tree(Space::Items.tree_name())?,
            open_tree(Space::Tables.tree_name())?,
            open_tree(Space::Meta.tree_name())?,
            open_tree(Space::Tokens.tree_name())?,
            open_tree(Space::SmMeta.tree_name())?,
        ];
        let raft_log = open_tree("raft.log")?;
        let raft_meta = open_tree("raft.meta")?;
        check_format(&db)?;
        let disk = match path {
            Some(p) => {
                db.flush().map_err(from_sled)?;
                Some(DiskSync::open(p)?)
            }
            None => None,
        };
        tracing::debug!(path = ?path, cache_capacity_bytes, "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                spaces,
                raft_log,
                raft_meta,
                disk,
                path: path.map(Path::to_path_buf),
            }),
        })
    }

    /// Whether this store keeps nothing on disk.
    pub fn is_in_memory(&self) -> bool {
        self.inner.disk.is_none()
    }

    pub(crate) fn tree(&self, space: Space) -> &sled::Tree {
        &self.inner.spaces[space.index()]
    }

    /// The committed value of `key`.
    pub fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .tree(space)
            .get(key)
            .map_err(from_sled)?
            .map(|v| v.to_vec()))
    }

    /// A lazy iterator over committed entries in `(lower, upper)`, ascending or (with
    /// `reverse`) descending. Not a point-in-time snapshot: it may observe commits made while
    /// it runs.
    pub fn range(
        &self,
        space: Space,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
    ) -> RangeIter {
        if range_is_empty(&lower, &upper) {
            return RangeIter {
                iter: None,
                reverse,
            };
        }
        RangeIter {
            iter: Some(self.tree(space).range((lower, upper))),
            reverse,
        }
    }

    /// A lazy ascending iterator over the committed entries whose key starts with `prefix`.
    pub fn scan_prefix(&self, space: Space, prefix: &[u8]) -> RangeIter {
        RangeIter {
            iter: Some(self.tree(space).scan_prefix(prefix)),
            reverse: false,
        }
    }

    /// Applies a write set atomically across spaces: after a crash either all of it or none of
    /// it is there. Does not flush: the Raft log is the durable record, and apply is replayed.
    pub fn commit(&self, writes: WriteSet) -> Result<(), StorageError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut batches: Vec<(Space, sled::Batch)> = Vec::new();
        for ((space, key), value) in writes.into_ops() {
            if batches.last().map(|(s, _)| *s) != Some(space) {
                batches.push((space, sled::Batch::default()));
            }
            if let Some((_, batch)) = batches.last_mut() {
                match value {
                    Some(v) => batch.insert(key, v),
                    None => batch.remove(key),
                }
            }
        }
        self.apply_batches(&batches)
    }

    /// Applies per-space batches in one multi-tree transaction. The batches are computed by
    /// the caller because sled may run the closure more than once.
    pub(crate) fn apply_batches(
        &self,
        batches: &[(Space, sled::Batch)],
    ) -> Result<(), StorageError> {
        let trees: Vec<sled::Tree> = batches.iter().map(|(s, _)| self.tree(*s).clone()).collect();
        trees
            .as_slice()
            .transaction(|views| {
                for (view, (_, batch)) in views.iter().zip(batches) {
                    view.apply_batch(batch)?;
                }
                Ok::<(), ConflictableTransactionError<StorageError>>(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => from_sled(e),
            })
    }

    /// Flushes everything written so far to disk and fdatasyncs it, so it survives power
    /// loss. Blocking (about a millisecond or more): never call it on an async worker thread;
    /// use `spawn_blocking` or a dedicated thread. A no-op in in-memory mode.
    pub fn flush(&self) -> Result<(), StorageError> {
        if let Some(disk) = &self.inner.disk {
            self.inner.db.flush().map_err(from_sled)?;
            disk.sync()?;
        }
        Ok(())
    }

    /// Bytes the database occupies on disk, for metrics.
    pub fn size_on_disk(&self) -> Result<u64, StorageError> {
        self.inner.db.size_on_disk().map_err(from_sled)
    }
}

/// How long `open` waits for the database's file lock to be released.
const OPEN_LOCK_WAIT_MS_MAX: u64 = 3000;
const OPEN_LOCK_RETRY_MS: u64 = 10;

/// Opens the database, retrying while its file lock is held. After the last handle of a
/// previous open in this process is dropped, sled's background threads can keep the locked
/// file open for a moment, so an immediate reopen (a restart in tests, or a process that
/// reopens its store) would otherwise fail spuriously.
fn open_waiting_for_lock(config: &sled::Config) -> Result<sled::Db, StorageError> {
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_millis(OPEN_LOCK_WAIT_MS_MAX);
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                // sled reports a held lock only through the message text.
                if e.to_string().starts_with("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(OPEN_LOCK_RETRY_MS));
            }
            Err(e) => return Err(from_sled(e)),
        }
    }
}

/// Writes the format marker into a new database, or checks it in an existing one.
fn check_format(db: &sled::Db) -> Result<(), StorageError> {
    match db.get(FORMAT_KEY).map_err(from_sled)? {
        Some(v) if v.as_ref() == [STORE_FORMAT_VERSION] => Ok(()),
        Some(v) => Err(StorageError::UnsupportedVersion {
            what: "store",
            found: v.first().copied().unwrap_or(0),
            expected: STORE_FORMAT_VERSION,
        }),
        None => {
            db.insert(FORMAT_KEY, &[STORE_FORMAT_VERSION])
                .map_err(from_sled)?;
            Ok(())
        }
    }
}

/// Whether no key can satisfy both bounds (sled must not be asked for such a range).
fn range_is_empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

/// A lazy iterator over committed entries, from [`Store::range`] or [`Store::scan_prefix`].
pub struct RangeIter {
    iter: Option<sled::Iter>,
    reverse: bool,
}

impl fmt::Debug for RangeIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeIter")
            .field("reverse", &self.reverse)
            .finish_non_exhaustive()
    }
}

impl Iterator for RangeIter {
    type Item = Result<KeyValue, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let iter = self.iter.as_mut()?;
        let next = if self.reverse {
            iter.next_back()
        } else {
            iter.next()
        };
        Some(
            next?
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(from_sled),
        )
    }
}
