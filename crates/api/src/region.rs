//! What the API needs from the region it serves: a way to propose commands through the
//! region's Raft group, a linearizable-read barrier, the local store for reads, and the
//! region's name and clock. The server crate implements it over `raft::RegionGroup`, so this
//! crate does not depend on openraft.

use std::future::Future;
use std::pin::Pin;

use crate::error::ApiError;

/// A boxed, sendable future, so [`Region`] stays usable as `Arc<dyn Region>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The region an API listener serves.
///
/// Obligations of an implementation:
/// - `propose` returns only after the command is committed and applied, with the applied
///   `table::Outcome` encoded by `Outcome::encode`; not-leader, lost quorum or shutdown map to
///   [`ApiError::Unavailable`] (or [`ApiError::Internal`]), both of which SDKs retry.
/// - `linearize` returns once every write acknowledged before it was called is visible in
///   `store()` on this node (a read-index barrier), for ConsistentRead.
/// - `store` is the node's local replica; the API reads it synchronously.
pub trait Region: Send + Sync {
    /// Proposes an encoded `table::Command`; returns the encoded `table::Outcome`.
    fn propose(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<Vec<u8>, ApiError>>;

    /// Waits until local reads are linearizable.
    fn linearize(&self) -> BoxFuture<'_, Result<(), ApiError>>;

    /// The local replica's store, for reads.
    fn store(&self) -> &storage::Store;

    /// The region's name (`us-east-1`), used in ARNs.
    fn region_name(&self) -> &str;

    /// The clock table timestamps come from.
    fn clock(&self) -> &dyn model::Clock;

    /// Whether this node leads its region now: background work that proposes commands
    /// (replication, TTL sweeps, index backfills) runs only on the leader.
    fn is_leader(&self) -> bool {
        true
    }

    /// The cross-region replicator, when the region belongs to a multi-region deployment.
    fn replication(&self) -> Option<&replication::Replicator> {
        None
    }

    /// This node's chaos state, whose `inject-error` faults the API applies.
    fn chaos(&self) -> Option<&chaos::NodeChaos> {
        None
    }

    /// Whether this node can serve now (Raft core running, leader known, storage writable),
    /// for the health check. The default assumes it can.
    fn health(&self) -> crate::health::Health {
        crate::health::Health::assumed()
    }

    /// The deployment as this process sees it, for the web console (regions, nodes and
    /// roles, replication per region pair, tombstones, faults). `None`: the console shows this
    /// region alone, from [`Region::health`].
    fn cluster_status(&self) -> BoxFuture<'_, Option<crate::ClusterStatus>> {
        Box::pin(async { None })
    }

    /// What a chaos fault added from the web console may name (regions, nodes, tables), for
    /// validation; faults act on [`Region::chaos`]'s state. `None`: no chaos controls here.
    fn chaos_topology(&self) -> Option<chaos::Topology> {
        None
    }
}
