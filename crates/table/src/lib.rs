//! DynamoDB semantics on one replica, synchronous and deterministic: applying write commands
//! (conditional put/update/delete, batches, transactions, table metadata) into a storage write
//! set with typed outcomes, and serving Get/Query/Scan with projection, filters and pagination.
//!
//! Depends on `model`, `expr` and `storage` only. It must not depend on openraft, hyper or
//! anything async: the `raft` crate drives it, the `api` crate calls its reads.

pub mod backup;
pub mod catalog;
pub mod changes;
pub mod command;
pub mod engine;
pub mod error;
pub mod indexes;
pub mod key;
pub mod multi_key;
pub mod pitr;
pub mod read;
mod read_index;
mod replica;
pub mod stream;
pub mod tombstone;
pub mod transfer;
pub mod ttl;
pub mod warm;
pub mod watermark;

pub use catalog::{list_tables, load_table, table_stats, TableStats};
pub use changes::{read_changes, replication_cursor, ChangeRecord};
pub use command::{
    Command, ExpireBatch, ItemGet, ItemWrite, Outcome, RemoteBatch, RemoteChange, ReplicaSet,
    ReplicateResult, ReplicationAck, ReturnValues, StreamUpdate, TableUpdate, TransactWrite,
    TtlUpdate, WriteKind, WriteResult,
};
pub use engine::Engine;
pub use error::{CancellationReason, Rejection, TableError};
pub use indexes::{index_stats, IndexStats};
pub use key::{decode_stored, StoredItem};
pub use read::{get_item, query, scan, GetOutput, PageOutput, QueryInput, ScanInput, Select};
pub use warm::{warm_record, WarmRecord, WarmUnits, WarmUpdate};

#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod multi_key_tests;
#[cfg(test)]
mod replica_tests;
#[cfg(test)]
mod stream_ttl_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod warm_tests;
