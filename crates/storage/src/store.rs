//! The store: a fixed set of keyspaces in one backend (a sled database, or ordered maps in
//! memory), and the committed-read API.

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
use crate::keys::prefix_range;
use crate::memory::{MemoryBackend, MemoryRange};

/// Version of the on-disk layout (tree names, key encodings). Written at creation, checked
/// at every open.
pub const STORE_FORMAT_VERSION: u8 = 2;

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
    /// Secondary index entries, keyed by index id, index key and table key.
    Indexes,
    /// The change log: one record per applied item change, keyed by table id and sequence
    /// number; the source of Streams and of cross-region replication.
    Changes,
    /// Versions of deleted items of global tables, kept until every replica has them.
    Tombstones,
}

/// How many spaces there are.
pub(crate) const SPACE_COUNT: usize = 8;

impl Space {
    /// Every space, in tree order.
    pub const ALL: [Space; SPACE_COUNT] = [
        Space::Items,
        Space::Tables,
        Space::Meta,
        Space::Tokens,
        Space::SmMeta,
        Space::Indexes,
        Space::Changes,
        Space::Tombstones,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            Space::Items => 0,
            Space::Tables => 1,
            Space::Meta => 2,
            Space::Tokens => 3,
            Space::SmMeta => 4,
            Space::Indexes => 5,
            Space::Changes => 6,
            Space::Tombstones => 7,
        }
    }

    fn tree_name(self) -> &'static str {
        match self {
            Space::Items => "sm.items",
            Space::Tables => "sm.tables",
            Space::Meta => "sm.meta",
            Space::Tokens => "sm.tokens",
            Space::SmMeta => "sm.sm_meta",
            Space::Indexes => "sm.indexes",
            Space::Changes => "sm.changes",
            Space::Tombstones => "sm.tombstones",
        }
    }
}

/// A handle to the node's database. Cheap to clone; all clones share one backend.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) backend: Backend,
    path: Option<PathBuf>,
}

/// The engine behind a [`Store`].
pub(crate) enum Backend {
    /// A sled database on disk.
    Sled(SledBackend),
    /// Ordered maps in memory: nothing is written anywhere.
    Memory(Arc<MemoryBackend>),
}

pub(crate) struct SledBackend {
    pub(crate) db: sled::Db,
    /// Indexed by [`Space::index`].
    spaces: [sled::Tree; SPACE_COUNT],
    pub(crate) raft_log: sled::Tree,
    pub(crate) raft_meta: sled::Tree,
    /// Filler writes that make sled start a new segment (see [`SledBackend::roll_segment`]).
    scratch: sled::Tree,
    disk: DiskSync,
}

/// sled 0.34's segment size (its default, which Meridian keeps).
const SLED_SEGMENT_BYTES: usize = 512 * 1024;
/// One filler value: under sled's inline threshold (a quarter segment), so it goes into the
/// segment itself rather than into a blob file.
const SEGMENT_ROLL_VALUE_BYTES: usize = SLED_SEGMENT_BYTES / 4 - 4096;
/// Filler writes per roll: more than one segment's worth.
const SEGMENT_ROLL_WRITES: usize = 5;

impl SledBackend {
    fn open(path: &Path, cache_capacity_bytes: u64) -> Result<SledBackend, StorageError> {
        let config = sled::Config::new()
            .mode(sled::Mode::LowSpace)
            .cache_capacity(cache_capacity_bytes)
            .path(path);
        let db = open_waiting_for_lock(&config)?;
        let open_tree = |name: &str| db.open_tree(name).map_err(from_sled);
        let spaces = [
            open_tree(Space::Items.tree_name())?,
            open_tree(Space::Tables.tree_name())?,
            open_tree(Space::Meta.tree_name())?,
            open_tree(Space::Tokens.tree_name())?,
            open_tree(Space::SmMeta.tree_name())?,
            open_tree(Space::Indexes.tree_name())?,
            open_tree(Space::Changes.tree_name())?,
            open_tree(Space::Tombstones.tree_name())?,
        ];
        let raft_log = open_tree("raft.log")?;
        let raft_meta = open_tree("raft.meta")?;
        let scratch = open_tree("scratch")?;
        check_format(&db)?;
        db.flush().map_err(from_sled)?;
        let disk = DiskSync::open(path)?;
        Ok(SledBackend {
            db,
            spaces,
            raft_log,
            raft_meta,
            scratch,
            disk,
        })
    }

    /// Makes sled move to a new segment. sled 0.34 stores values over a quarter segment
    /// (large log entries, snapshots, big items' tree nodes) as blob files, and deletes a
    /// replaced blob only when the segment that recorded the replacement is sealed. With a
    /// few huge writes and little else that can take arbitrarily long: measured, 240 MiB of
    /// 4 MiB entries left 981 MB of dead blobs behind a 32 MiB log. Called after the log is
    /// purged, so that what the purge freed really leaves the disk.
    pub(crate) fn roll_segment(&self) -> Result<(), StorageError> {
        let filler = vec![0u8; SEGMENT_ROLL_VALUE_BYTES];
        for i in 0..SEGMENT_ROLL_WRITES {
            self.scratch
                .insert([u8::try_from(i).unwrap_or(0)], filler.as_slice())
                .map_err(from_sled)?;
        }
        self.scratch.clear().map_err(from_sled)?;
        Ok(())
    }

    pub(crate) fn tree(&self, space: Space) -> &sled::Tree {
        &self.spaces[space.index()]
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

    fn commit(&self, writes: WriteSet) -> Result<(), StorageError> {
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
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("in_memory", &self.is_in_memory())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the sled database under `path`. `None` opens an in-memory store
    /// (ordered maps, nothing written anywhere) whose contents are lost when the last handle
    /// is dropped. `cache_capacity_bytes` bounds sled's page cache (its default is ~1 GiB,
    /// and RSS runs several times the setting); the in-memory store ignores it.
    pub fn open(path: Option<&Path>, cache_capacity_bytes: u64) -> Result<Store, StorageError> {
        let backend = match path {
            Some(p) => Backend::Sled(SledBackend::open(p, cache_capacity_bytes)?),
            None => Backend::Memory(Arc::new(MemoryBackend::default())),
        };
        tracing::debug!(path = ?path, cache_capacity_bytes, "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                path: path.map(Path::to_path_buf),
            }),
        })
    }

    /// The directory of an on-disk store (None in memory).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Whether this store keeps nothing on disk.
    pub fn is_in_memory(&self) -> bool {
        matches!(self.inner.backend, Backend::Memory(_))
    }

    /// The committed value of `key`.
    pub fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match &self.inner.backend {
            Backend::Sled(s) => Ok(s
                .tree(space)
                .get(key)
                .map_err(from_sled)?
                .map(|v| v.to_vec())),
            Backend::Memory(m) => m.get(space, key),
        }
    }

    /// A lazy iterator over committed entries in `(lower, upper)`, ascending or (with
    /// `reverse`) descending. Not a point-in-time snapshot: it may observe commits made while
    /// it runs (but yields each key at most once, in order).
    pub fn range(
        &self,
        space: Space,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
    ) -> RangeIter {
        if range_is_empty(&lower, &upper) {
            return RangeIter {
                inner: RangeInner::Empty,
            };
        }
        let inner = match &self.inner.backend {
            Backend::Sled(s) => RangeInner::Sled {
                iter: s.tree(space).range((lower, upper)),
                reverse,
            },
            Backend::Memory(m) => {
                RangeInner::Memory(MemoryRange::new(m.clone(), space, lower, upper, reverse))
            }
        };
        RangeIter { inner }
    }

    /// A lazy ascending iterator over the committed entries whose key starts with `prefix`.
    pub fn scan_prefix(&self, space: Space, prefix: &[u8]) -> RangeIter {
        match &self.inner.backend {
            Backend::Sled(s) => RangeIter {
                inner: RangeInner::Sled {
                    iter: s.tree(space).scan_prefix(prefix),
                    reverse: false,
                },
            },
            Backend::Memory(_) => {
                let (lower, upper) = prefix_range(prefix);
                self.range(space, lower, upper, false)
            }
        }
    }

    /// Applies a write set atomically across spaces: after a crash either all of it or none of
    /// it is there, and a concurrent reader of any key sees it before or after, never torn.
    /// Does not flush: the Raft log is the durable record, and apply is replayed.
    pub fn commit(&self, writes: WriteSet) -> Result<(), StorageError> {
        if writes.is_empty() {
            return Ok(());
        }
        match &self.inner.backend {
            Backend::Sled(s) => s.commit(writes),
            Backend::Memory(m) => m.commit(writes),
        }
    }

    /// Flushes everything written so far to disk and fdatasyncs it, so it survives power
    /// loss. Blocking (about a millisecond or more): never call it on an async worker thread;
    /// use `spawn_blocking` or a dedicated thread. A no-op in in-memory mode.
    pub fn flush(&self) -> Result<(), StorageError> {
        if let Backend::Sled(s) = &self.inner.backend {
            s.db.flush().map_err(from_sled)?;
            s.disk.sync()?;
        }
        Ok(())
    }

    /// Approximate bytes of the state machine's spaces, in memory (what a snapshot encodes);
    /// `None` for sled.
    pub fn state_bytes(&self) -> Option<u64> {
        match &self.inner.backend {
            Backend::Sled(_) => None,
            Backend::Memory(m) => Some(m.state_bytes_held()),
        }
    }

    /// Bytes the database occupies on disk, for metrics. In memory: the approximate bytes of
    /// keys and values held (the Raft log included), without the maps' own overhead.
    pub fn size_on_disk(&self) -> Result<u64, StorageError> {
        match &self.inner.backend {
            Backend::Sled(s) => s.db.size_on_disk().map_err(from_sled),
            Backend::Memory(m) => Ok(m.bytes_held()),
        }
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

/// Whether no key can satisfy both bounds (neither sled nor `BTreeMap` may be asked for
/// such a range).
pub(crate) fn range_is_empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
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
    inner: RangeInner,
}

enum RangeInner {
    /// The bounds admit no key.
    Empty,
    Sled {
        iter: sled::Iter,
        reverse: bool,
    },
    Memory(MemoryRange),
}

impl fmt::Debug for RangeIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.inner {
            RangeInner::Empty => "empty",
            RangeInner::Sled { .. } => "sled",
            RangeInner::Memory(_) => "memory",
        };
        f.debug_struct("RangeIter")
            .field("backend", &backend)
            .finish_non_exhaustive()
    }
}

impl Iterator for RangeIter {
    type Item = Result<KeyValue, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            RangeInner::Empty => None,
            RangeInner::Sled { iter, reverse } => {
                let next = if *reverse {
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
            RangeInner::Memory(range) => range.next(),
        }
    }
}
