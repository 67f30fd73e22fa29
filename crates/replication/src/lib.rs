//! Meridian's cross-region replicator: global tables between regions, asynchronous,
//! last-writer-wins.
//!
//! - **Shipping**: on the region leader, one task per destination region tails each global
//!   table's change log (`table::changes`) from the destination's durable cursor and sends the
//!   records that originated here, in bounded batches, to any node of the destination. The
//!   destination proposes the batch through its own Raft group (`table::Command::Replicate`:
//!   each item applied only if its version is newer) and answers after commit; the sender then
//!   proposes the cursor's advance (`Command::AckReplication`) through its own group, so the
//!   cursor survives restarts and leader changes. Sending is at-least-once, applying is
//!   idempotent. Failures back off exponentially with jitter.
//! - **Replica sets**: adding a replica creates the table in the new region, tells every
//!   replica to ship to it, and backfills it with every item (with its version) while writes
//!   continue; removing one stops shipping and deletes the removed region's copy.
//! - **Anti-entropy**: periodically each leader compares every global table's digest with each
//!   replica's and re-sends the items of the buckets that differ.
//! - **Metrics**: per region pair, replication latency, pending records, batches, retries and
//!   conflicts resolved.
//!
//! It depends on `model`, `storage` and `table`; it does not know openraft (the server gives it
//! a [`LocalRegion`]) nor the DynamoDB API (the API calls [`Replicator`]'s control methods).

mod client;
pub mod digest;
mod metrics;
mod region;
mod replicator;
pub mod wire;

pub use client::{CallError, RegionClient};
pub use metrics::{Metrics, PairFigures};
pub use region::{BoxFuture, LocalRegion};
pub use replicator::{ControlError, ReplicationSettings, Replicator, GLOBAL_TABLE_VERSION};
