//! A region of one node without Raft: commands apply directly to a local store, one at a time.
//! For tests, benchmarks of the API layer, and a single-node mode before Raft is wired in. It
//! has none of the durability of a real region: nothing is fsynced.

use std::sync::{Arc, Mutex};

use storage::{ApplyView, Store, WriteSet};
use table::Engine;

use crate::error::ApiError;
use crate::region::{BoxFuture, Region};

/// A [`Region`] that applies each proposal to its own store under a lock.
#[derive(Debug)]
pub struct LocalRegion {
    store: Store,
    name: String,
    clock: Arc<dyn model::Clock>,
    apply_lock: Mutex<()>,
}

impl LocalRegion {
    /// A local region named `name` over `store`.
    pub fn new(store: Store, name: impl Into<String>, clock: Arc<dyn model::Clock>) -> Self {
        LocalRegion {
            store,
            name: name.into(),
            clock,
            apply_lock: Mutex::new(()),
        }
    }

    /// Applies one encoded command and commits its writes; returns the encoded outcome.
    fn apply(&self, payload: &[u8]) -> Result<Vec<u8>, ApiError> {
        // A poisoned lock only means an earlier apply panicked; the store itself is consistent
        // because writes commit atomically after apply.
        let _guard = self
            .apply_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut writes = WriteSet::new();
        let outcome = {
            let mut view = ApplyView::new(&self.store, &mut writes);
            Engine::new(self.name.clone()).apply_payload(&mut view, payload, self.clock.now_ms())?
        };
        self.store.commit(writes).map_err(ApiError::internal)?;
        Ok(outcome)
    }
}

impl Region for LocalRegion {
    fn propose(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<Vec<u8>, ApiError>> {
        Box::pin(async move { self.apply(&payload) })
    }

    fn linearize(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async { Ok(()) })
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn region_name(&self) -> &str {
        &self.name
    }

    fn clock(&self) -> &dyn model::Clock {
        &*self.clock
    }
}
