//! DynamoDB semantics on one replica, synchronous and deterministic: applying write commands
//! (conditional put/update/delete, batches, transactions, table metadata) into a storage write
//! set with typed outcomes, and serving Get/Query/Scan with projection, filters and pagination.
//!
//! Depends on `model`, `expr` and `storage` only. It must not depend on openraft, hyper or
//! anything async: the `raft` crate drives it, the `api` crate calls its reads.

pub mod catalog;
pub mod command;
pub mod engine;
pub mod error;
pub mod key;
pub mod read;

pub use catalog::{list_tables, load_table, table_stats, TableStats};
pub use command::{
    Command, ItemGet, ItemWrite, Outcome, ReturnValues, TableUpdate, TransactWrite, WriteKind,
    WriteResult,
};
pub use engine::Engine;
pub use error::{CancellationReason, Rejection, TableError};
pub use read::{get_item, query, scan, GetOutput, PageOutput, QueryInput, ScanInput, Select};

#[cfg(test)]
mod tests;
