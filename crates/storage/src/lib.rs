//! Meridian's storage layer, and the only crate that uses sled: one database per node with a
//! fixed set of trees (the state machine's [`Space`]s, the Raft log and Raft metadata), the
//! order-preserving key encoding ([`keys`]), atomic multi-space commits of a [`WriteSet`], raw
//! Raft log storage with power-loss durable flushes, and export/import of the whole state.
//!
//! It must not depend on openraft, hyper or table semantics, and no sled type appears in its
//! public API: values are plain bytes and errors are [`StorageError`], so the engine can be
//! replaced behind this API.

mod apply;
mod durable;
mod error;
pub mod keys;
mod log;
mod snapshot;
mod store;

pub use apply::{ApplyView, WriteSet};
pub use error::StorageError;
pub use snapshot::EXPORT_FORMAT_VERSION;
pub use store::{KeyValue, RangeIter, Space, Store, STORE_FORMAT_VERSION};
