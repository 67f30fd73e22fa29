//! Meridian's storage layer, and the only crate that uses sled: one database per node with a
//! fixed set of trees (the state machine's [`Space`]s, the Raft log and Raft metadata), the
//! order-preserving key encoding ([`keys`]), atomic multi-space commits of a [`WriteSet`], raw
//! Raft log storage with power-loss durable flushes, and export/import of the whole state.
//!
//! [`Store::open`] with a path opens a sled database. Without one (the server's
//! `--in-memory` mode, like DynamoDB Local's `-inMemory`, and tests) it opens an in-memory
//! backend instead: one ordered map per space plus the Raft log and metadata, behind locks,
//! with the same API and the same atomicity of commits for readers, but nothing written
//! anywhere and nothing kept after the last handle is dropped. sled's temporary mode still
//! writes its whole log to a file, which is pure cost for a throwaway store.
//!
//! It must not depend on openraft, hyper or table semantics, and no sled type appears in its
//! public API: values are plain bytes and errors are [`StorageError`], so the engine can be
//! replaced behind this API.

mod apply;
mod durable;
mod error;
pub mod keys;
mod log;
mod memory;
mod snapshot;
mod store;

pub use apply::{ApplyView, WriteSet};
pub use error::StorageError;
pub use snapshot::{StateSnapshot, EXPORT_FORMAT_VERSION};
pub use store::{KeyValue, RangeIter, Space, Store, STORE_FORMAT_VERSION};
