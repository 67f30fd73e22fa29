//! Meridian's region group, and the only crate that uses openraft: the group's type config
//! (opaque byte payloads, `u64` node ids, [`PeerNode`] addresses), the Raft log store and
//! state machine over `storage` (group-committed durable log appends, one atomic commit per
//! apply batch, snapshots through export/import), and [`RegionGroup`], the handle the rest of
//! the node uses to write, to read linearizably and to watch leadership.
//!
//! It must not depend on table semantics (the [`StateMachineLogic`] supplies them), on
//! hyper-level API types, or on sled; no openraft type appears in its public API.

mod admin;
mod compaction;
mod error;
mod flusher;
mod group;
mod health;
mod log_store;
mod network;
mod peer_server;
mod prevote;
mod proposer;
mod state_machine;
mod types;
mod wire;

#[cfg(test)]
mod compaction_tests;
#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod health_tests;
#[cfg(test)]
mod suite_tests;

pub use admin::{fetch_status, request_membership_change, MembershipChange, MEMBERSHIP_TIMEOUT_MS};
pub use compaction::{LOG_BYTES_KEPT_AFTER_SNAPSHOT_MAX, SNAPSHOT_LOG_BYTES_SINCE_LAST_DEFAULT};
pub use error::RaftError;
pub use flusher::{LOG_FLUSH_ATTEMPTS_MAX, LOG_FLUSH_FAILPOINT_ENV};
pub use group::{
    ExtensionFuture, GroupMetrics, PeerExtension, RaftSettings, RegionGroup, Role, SharedClock,
    CLUSTER_SECRET_HEADER, EXTENSION_PATH_PREFIX, LEADER_WAIT_MS,
};
pub use health::GroupHealth;
pub use state_machine::StateMachineLogic;
pub use types::PeerNode;
