//! What the replicator needs from the region it runs in. The server implements it over the
//! region's Raft group, so this crate does not depend on openraft.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The local region.
///
/// - `propose` returns only after the command is committed and applied in this region, with
///   the encoded `table::Outcome`; a follower forwards to its leader.
/// - `store` is this node's replica, read directly.
pub trait LocalRegion: Send + Sync {
    /// Proposes an encoded `table::Command`; returns the encoded `table::Outcome`.
    fn propose(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<Vec<u8>, String>>;

    /// This node's replica.
    fn store(&self) -> &storage::Store;

    /// Whether this node leads the region now (shipping runs only there).
    fn is_leader(&self) -> bool;

    /// The region's wall clock, Unix ms.
    fn now_ms(&self) -> i64;
}
