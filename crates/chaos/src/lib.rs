//! Meridian's chaos lab: faults a user injects on purpose to watch a multi-region deployment
//! misbehave and recover.
//!
//! A [`Chaos`] holds the active faults of one node (or, in `meridian dev`, of every node of the
//! process), each with an optional expiry after which it heals itself. The layers ask it
//! typed questions at their seams, always with the asking node's identity:
//!
//! - the replicator: is replication of this table from here to there paused
//!   ([`Chaos::replication_paused`]); what happens to a call from this region to that one
//!   ([`Chaos::region_link`]: open, cut, delayed, dropped);
//! - the Raft peer network: may this node talk to that peer of its region
//!   ([`Chaos::node_link`]);
//! - the clock that stamps HLC versions ([`ChaosClock`]): the system clock plus the skew of this
//!   region or node;
//! - the DynamoDB API: should this request fail with an injected error, or wait
//!   ([`Chaos::api_fault`]).
//!
//! Every fault is evaluated by the sender of a message, so a fault installed on every node
//! (the CLI fans it out) cuts both directions without the receiver's help.
//!
//! Pure apart from reading the system clock: no I/O, no async. It depends only on `model`; it
//! must not depend on storage, Raft, the replicator or the API, which all depend on it.

mod admin;
mod clock;
mod duration;
mod fault;
mod metrics;
mod state;

pub use admin::{
    decode, handle as admin, AddFault, AdminAnswer, AdminError, ClearFaults, FaultList, LabAction,
};
pub use clock::ChaosClock;
pub use duration::{format_iso8601, parse_iso8601, DURATION_MS_MAX};
pub use fault::{table_name, Direction, Fault, FaultKind, InjectedError, Topology};
pub use state::{ApiFault, Chaos, ChaosError, FaultView, LinkEffect, NodeChaos};
