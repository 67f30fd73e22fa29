//! openraft's storage compliance suite against the sled-backed log store and state machine.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use storage::{ApplyView, Space, Store};

use crate::flusher::Flusher;
use crate::log_store::LogStore;
use crate::state_machine::{StateMachine, StateMachineLogic};
use crate::types::{StorageError, TypeConfig};

/// Puts each payload into `Space::Items` under itself and answers with its length.
struct EchoLogic;

impl StateMachineLogic for EchoLogic {
    fn apply(
        &self,
        view: &mut ApplyView<'_>,
        payload: &[u8],
        _wall_ms: i64,
    ) -> Result<Vec<u8>, storage::StorageError> {
        view.put(Space::Items, payload.to_vec(), payload.to_vec());
        Ok((payload.len() as u64).to_be_bytes().to_vec())
    }
}

/// Builds an on-disk store (so the flusher path is exercised) in a temp dir.
struct DiskBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for DiskBuilder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(Some(dir.path()), 8 << 20).expect("open store");
        let flusher = Flusher::start(store.clone()).expect("flusher");
        let log = LogStore::new(store.clone(), Some(flusher));
        let sm = StateMachine::open(store, Arc::new(EchoLogic)).expect("state machine");
        Ok((dir, log, sm))
    }
}

/// The same over an in-memory store (no flusher).
struct MemoryBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine> for MemoryBuilder {
    async fn build(&self) -> Result<((), LogStore, StateMachine), StorageError> {
        let store = Store::open(None, 8 << 20).expect("open store");
        let log = LogStore::new(store.clone(), None);
        let sm = StateMachine::open(store, Arc::new(EchoLogic)).expect("state machine");
        Ok(((), log, sm))
    }
}

#[test]
fn t20_openraft_storage_suite_on_disk() {
    Suite::test_all(DiskBuilder).expect("suite");
}

#[test]
fn t20_openraft_storage_suite_in_memory() {
    Suite::test_all(MemoryBuilder).expect("suite");
}
