//! The table layer's errors: expected rejections (typed, deterministic, part of the outcome)
//! apart from failures of the machinery underneath.

use serde::{Deserialize, Serialize};

use model::Item;

/// A request refused by DynamoDB's rules. Computed identically on every replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rejection {
    /// ValidationException.
    Validation(String),
    /// ResourceNotFoundException.
    ResourceNotFound(String),
    /// ResourceInUseException.
    ResourceInUse(String),
    /// ConditionalCheckFailedException, with the old item when ALL_OLD was asked for.
    ConditionalCheckFailed { item: Option<Item> },
    /// TransactionCanceledException with one reason per action.
    TransactionCanceled(Vec<CancellationReason>),
    /// IdempotentParameterMismatchException.
    IdempotentParameterMismatch(String),
    /// LimitExceededException.
    LimitExceeded(String),
    /// ItemCollectionSizeLimitExceededException: the write would grow an item collection of
    /// a table with local secondary indexes past 10 GB.
    ItemCollectionSizeLimitExceeded(String),
    /// A backup, restore, export or import exception (`backup::BackupFault`).
    Backup(crate::backup::BackupFault, String),
}

/// One entry of a TransactionCanceledException's CancellationReasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancellationReason {
    /// `None`, `ConditionalCheckFailed`, `ValidationError`, …
    pub code: String,
    pub message: Option<String>,
    pub item: Option<Item>,
}

/// A failure below the table semantics (storage, encoding). Fatal for a write's apply.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("storage: {0}")]
    Storage(#[from] storage::StorageError),
    #[error("codec: {0}")]
    Codec(String),
}

impl Rejection {
    /// A ValidationException.
    pub fn validation(message: impl Into<String>) -> Self {
        Rejection::Validation(message.into())
    }

    /// A ResourceNotFoundException for a table.
    pub fn table_not_found(name: &str) -> Self {
        Rejection::ResourceNotFound(format!(
            "Requested resource not found: Table: {name} not found"
        ))
    }
}
