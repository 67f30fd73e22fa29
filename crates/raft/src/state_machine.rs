//! The state machine: applies committed entries through the [`StateMachineLogic`] into one
//! shared write set per `apply` call, committed atomically with the applied log id and
//! membership; snapshots are `storage`'s export/import.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};
use storage::{ApplyView, Space, Store, WriteSet};

use crate::types::{
    decode, encode, Entry, LogId, Response, SnapshotMeta, StorageError, StoredMembership,
    TypeConfig,
};

/// The table semantics the region group replicates, seen from Raft as a deterministic function
/// of the current state and an opaque payload.
///
/// Obligations:
/// - deterministic: the same state and payload give the same writes and response on every
///   node (no clocks, randomness or local configuration);
/// - expected rejections (a failed condition, a validation error found at apply time) are part
///   of the response bytes, not errors;
/// - a `StorageError` is fatal: the node stops rather than diverge;
/// - all writes go through `view`; they are committed with the rest of the `apply` batch.
pub trait StateMachineLogic: Send + Sync + 'static {
    /// Applies one committed payload and returns the response for the client that proposed it.
    fn apply(
        &self,
        view: &mut ApplyView<'_>,
        payload: &[u8],
        wall_ms: i64,
    ) -> Result<Vec<u8>, storage::StorageError>;
}

/// Keys in [`Space::SmMeta`].
const APPLIED_KEY: &[u8] = b"applied";
const MEMBERSHIP_KEY: &[u8] = b"membership";
/// Raft meta key of the current snapshot.
const SNAPSHOT_KEY: &str = "snapshot";

/// A snapshot as persisted under [`SNAPSHOT_KEY`] (after the format version byte).
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    /// `Store::export_state` bytes.
    data: Vec<u8>,
}

/// The borrowed form of [`StoredSnapshot`], for writing without copying the data (bincode
/// encodes a slice and a vector alike).
#[derive(Serialize)]
struct StoredSnapshotRef<'a> {
    meta: &'a SnapshotMeta,
    data: &'a [u8],
}

/// Distinguishes snapshots built at the same log id.
static SNAPSHOT_SEQ: AtomicU64 = AtomicU64::new(0);

pub(crate) struct StateMachine {
    store: Store,
    logic: Arc<dyn StateMachineLogic>,
    applied: Option<LogId>,
    membership: StoredMembership,
}

impl std::fmt::Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine")
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

fn sm_read(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::read_state_machine(&storage::StorageError::Corrupted(e.to_string())).into()
}

impl StateMachine {
    /// Loads the applied log id and membership from [`Space::SmMeta`].
    pub(crate) fn open(
        store: Store,
        logic: Arc<dyn StateMachineLogic>,
    ) -> Result<Self, storage::StorageError> {
        let mut sm = StateMachine {
            store,
            logic,
            applied: None,
            membership: StoredMembership::default(),
        };
        sm.reload()?;
        Ok(sm)
    }

    fn reload(&mut self) -> Result<(), storage::StorageError> {
        let corrupted = |what: &str, e: crate::types::CodecError| {
            storage::StorageError::Corrupted(format!("state machine {what}: {e}"))
        };
        self.applied = match self.store.get(Space::SmMeta, APPLIED_KEY)? {
            Some(bytes) => decode(&bytes).map_err(|e| corrupted("applied log id", e))?,
            None => None,
        };
        self.membership = match self.store.get(Space::SmMeta, MEMBERSHIP_KEY)? {
            Some(bytes) => decode(&bytes).map_err(|e| corrupted("membership", e))?,
            None => StoredMembership::default(),
        };
        Ok(())
    }

    fn read_snapshot(&self) -> Result<Option<StoredSnapshot>, StorageError> {
        let Some(bytes) = self
            .store
            .get_raft_meta(SNAPSHOT_KEY)
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?
        else {
            return Ok(None);
        };
        decode(&bytes).map(Some).map_err(sm_read)
    }
}

fn encoding_error(e: crate::types::CodecError) -> storage::StorageError {
    storage::StorageError::Encoding(e.to_string())
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut writes = WriteSet::new();
        let mut responses = Vec::new();
        let mut applied = self.applied;
        let mut membership = None;
        for entry in entries {
            let log_id = entry.log_id;
            match entry.payload {
                EntryPayload::Blank => responses.push(Response::default()),
                EntryPayload::Normal(request) => {
                    let mut view = ApplyView::new(&self.store, &mut writes);
                    let mut out = Vec::with_capacity(request.payloads.len());
                    for payload in &request.payloads {
                        let response = self
                            .logic
                            .apply(&mut view, payload, request.wall_ms)
                            .map_err(|e| StorageIOError::apply(log_id, &e))?;
                        out.push(response);
                    }
                    responses.push(Response(out));
                }
                EntryPayload::Membership(m) => {
                    membership = Some(StoredMembership::new(Some(log_id), m));
                    responses.push(Response::default());
                }
            }
            applied = Some(log_id);
        }
        let to_apply_error = |e: storage::StorageError| -> StorageError {
            match applied {
                Some(id) => StorageIOError::apply(id, &e).into(),
                None => StorageIOError::write_state_machine(&e).into(),
            }
        };
        writes.put(
            Space::SmMeta,
            APPLIED_KEY.to_vec(),
            encode(&applied).map_err(|e| to_apply_error(encoding_error(e)))?,
        );
        if let Some(m) = &membership {
            writes.put(
                Space::SmMeta,
                MEMBERSHIP_KEY.to_vec(),
                encode(m).map_err(|e| to_apply_error(encoding_error(e)))?,
            );
        }
        self.store.commit(writes).map_err(to_apply_error)?;
        self.applied = applied;
        if let Some(m) = membership {
            self.membership = m;
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        // Copied here, on the state machine's task, so that no apply runs during the copy
        // (sled iterators are not point-in-time; in memory the copy is O(1), see
        // `storage::StateSnapshot`). The builder encodes it on a blocking thread and persists
        // it, while apply goes on.
        let state = self.store.state_snapshot();
        let seq = SNAPSHOT_SEQ.fetch_add(1, Ordering::Relaxed);
        let snapshot_id = match &self.applied {
            Some(id) => format!("{}-{}-{seq}", id.leader_id, id.index),
            None => format!("none-{seq}"),
        };
        SnapshotBuilder {
            store: self.store.clone(),
            meta: SnapshotMeta {
                last_log_id: self.applied,
                last_membership: self.membership.clone(),
                snapshot_id,
            },
            state: Some(state),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let signature = Some(meta.signature());
        let write_err = |e: &storage::StorageError| {
            StorageError::from(StorageIOError::write_snapshot(signature.clone(), e))
        };
        let data = snapshot.into_inner();
        // One transaction replaces every space, the applied log id and membership included.
        self.store.import_state(&data).map_err(|e| write_err(&e))?;
        self.reload().map_err(|e| write_err(&e))?;
        if self.applied != meta.last_log_id {
            let e = storage::StorageError::Corrupted(format!(
                "snapshot data applied up to {:?} but its meta says {:?}",
                self.applied, meta.last_log_id
            ));
            return Err(write_err(&e));
        }
        let stored = encode(&StoredSnapshotRef { meta, data: &data })
            .map_err(|e| write_err(&encoding_error(e)))?;
        self.store
            .put_raft_meta(SNAPSHOT_KEY, stored)
            .map_err(|e| write_err(&e))?;
        // Durable before openraft acknowledges it and purges the log it replaces.
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| write_err(&storage::StorageError::Engine(e.to_string())))?
            .map_err(|e| write_err(&e))?;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(self.read_snapshot()?.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}

/// Encodes and persists a snapshot whose state was copied in `get_snapshot_builder`.
#[derive(Debug)]
pub(crate) struct SnapshotBuilder {
    store: Store,
    meta: SnapshotMeta,
    /// Taken by the first `build_snapshot`.
    state: Option<Result<storage::StateSnapshot, storage::StorageError>>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let signature = Some(self.meta.signature());
        let err = |e: &storage::StorageError| {
            StorageError::from(StorageIOError::new(
                ErrorSubject::Snapshot(signature.clone()),
                ErrorVerb::Write,
                e,
            ))
        };
        let state = self
            .state
            .take()
            .unwrap_or_else(|| {
                Err(storage::StorageError::Engine(
                    "snapshot builder used twice".into(),
                ))
            })
            .map_err(|e| err(&e))?;
        let meta = self.meta.clone();
        // Encoding is CPU-bound and proportional to the state: off the async workers.
        let encoded = tokio::task::spawn_blocking(move || {
            let data = state.encode()?;
            let stored = encode(&StoredSnapshotRef {
                meta: &meta,
                data: &data,
            })
            .map_err(encoding_error)?;
            Ok::<_, storage::StorageError>((data, stored))
        })
        .await
        .map_err(|e| err(&storage::StorageError::Engine(e.to_string())))?;
        let (data, stored) = encoded.map_err(|e| err(&e))?;
        self.store
            .put_raft_meta(SNAPSHOT_KEY, stored)
            .map_err(|e| err(&e))?;
        tracing::info!(snapshot_id = %self.meta.snapshot_id, bytes = data.len(), "snapshot built");
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
