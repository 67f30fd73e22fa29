//! The write commands the region's Raft log carries, and their typed outcomes.
//!
//! A command is complete before it is proposed: expressions are parsed and bound, ids and
//! timestamps are chosen by the proposer. Applying it reads only the command and the replica's
//! state, so every replica computes the same outcome.

use serde::{Deserialize, Serialize};

use expr::{Condition, Path, UpdateExpr};
use model::{BillingMode, IndexMeta, Item, ScalarType, TableMeta, Version};

use crate::error::{Rejection, TableError};

/// Format version of an encoded [`Command`] or [`Outcome`]; the first byte of every payload.
pub const COMMAND_FORMAT_VERSION: u8 = 2;

/// One entry of the region's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Create a table; `TableMeta` is complete (id, ARN region, creation time).
    CreateTable(TableMeta),
    DeleteTable {
        name: String,
    },
    UpdateTable(TableUpdate),
    TagResource {
        name: String,
        tags: Vec<(String, String)>,
    },
    UntagResource {
        name: String,
        keys: Vec<String>,
    },
    /// PutItem, UpdateItem or DeleteItem.
    Write(ItemWrite),
    /// BatchWriteItem: each write applied independently, no conditions.
    BatchWrite(Vec<ItemWrite>),
    /// TransactWriteItems: all actions or none.
    TransactWrite(TransactWrite),
    /// TransactGetItems, serialized with the writes so it sees no partial transaction.
    TransactGet(Vec<ItemGet>),
    /// Item versions from another region, each applied only if newer than the local one.
    Replicate(RemoteBatch),
    /// A replica region acknowledged a table's change log up to a sequence number.
    AckReplication(ReplicationAck),
    /// Sets the replica regions of a table (global tables).
    SetReplicas(ReplicaSet),
    /// Trims a table's change log of records every replica has and the stream no longer
    /// keeps.
    TrimChanges {
        table: String,
    },
    /// Enables (with a view type) or disables a table's stream.
    SetStream(StreamUpdate),
    /// UpdateTimeToLive.
    SetTimeToLive(TtlUpdate),
    /// Deletes items whose time to live has passed, as the service (the TTL sweeper).
    ExpireItems(ExpireBatch),
    /// UpdateTable's GlobalSecondaryIndexUpdates Create: adds the index (CREATING,
    /// backfilling) and the attribute definitions its keys need.
    CreateIndex {
        table: String,
        index: IndexMeta,
        attribute_definitions: Vec<(String, ScalarType)>,
    },
    /// UpdateTable's GlobalSecondaryIndexUpdates Delete.
    DeleteIndex {
        table: String,
        index: String,
    },
    /// UpdateTable's GlobalSecondaryIndexUpdates Update: new (read, write) capacity units.
    UpdateIndex {
        table: String,
        index: String,
        provisioned: (u64, u64),
        now_ms: i64,
    },
    /// Copies up to `limit` existing items after the table storage key `after_key` into a
    /// backfilling index; proposed by the region leader's backfill task until it answers
    /// `Outcome::Backfilled { next: None }`, which also marks the index ACTIVE.
    BackfillIndex {
        table: String,
        index: String,
        after_key: Option<Vec<u8>>,
        limit: u32,
    },
    /// A replica region's watermarks for a table, which decide when tombstones may be
    /// collected (`watermark`).
    Watermark(crate::watermark::WatermarkUpdate),
    /// Backups, restores, point-in-time recovery, export and import jobs (`backup`).
    Backup(crate::backup::BackupCommand),
    /// CreateTable's or UpdateTable's WarmThroughput (table and global secondary indexes):
    /// raises the side record `warm` keeps per table. Local to the region (never
    /// replicated). Appended last: bincode enum tags are positional.
    SetWarmThroughput(crate::warm::WarmUpdate),
}

/// UpdateTable's StreamSpecification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamUpdate {
    pub table: String,
    /// The view type of the stream to enable; None disables the current one.
    pub enable: Option<model::StreamViewType>,
    /// When it was proposed: the new stream's creation time and label.
    pub now_ms: i64,
}

/// UpdateTimeToLive's TimeToLiveSpecification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TtlUpdate {
    pub table: String,
    pub attribute: String,
    pub enabled: bool,
}

/// Items the sweeper found expired. Each is deleted only if it is still expired at apply time
/// (by the log entry's clock), so a write that renewed it in between wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpireBatch {
    pub table: String,
    /// The table's id when the sweeper read it, so a re-created table is left alone.
    pub table_id: uuid::Uuid,
    /// Primary keys of the items.
    pub keys: Vec<Item>,
}

/// One item's state in another region, as shipped by its replicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteChange {
    /// The primary key attributes.
    pub keys: Item,
    /// The item, or None for a delete.
    pub item: Option<Item>,
    pub version: Version,
}

/// A batch of remote changes to one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteBatch {
    pub table: String,
    /// The region that sent it.
    pub source: String,
    pub changes: Vec<RemoteChange>,
}

/// What applying a [`RemoteBatch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReplicateResult {
    /// Changes newer than the local version, now applied.
    pub applied: u64,
    /// Changes older than the local version: conflicts resolved in favour of the local one.
    pub superseded: u64,
    /// Changes already applied (the same version): repeats of at-least-once delivery.
    pub duplicates: u64,
    /// The table does not exist here; nothing was applied.
    pub table_missing: bool,
}

/// A destination's acknowledgement of a table's change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationAck {
    pub table: String,
    pub destination: String,
    /// The last sequence number the destination has committed.
    pub seq: u64,
}

/// The replica regions of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaSet {
    pub table: String,
    /// Every replica region, this one included (empty: no longer global).
    pub replicas: Vec<model::Replica>,
    pub global_table_version: Option<String>,
}

/// UpdateTable's metadata changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableUpdate {
    pub name: String,
    pub billing_mode: Option<BillingMode>,
    /// New (read, write) capacity units.
    pub provisioned: Option<(u64, u64)>,
    pub deletion_protection: Option<bool>,
    pub table_class: Option<String>,
    pub now_ms: i64,
}

/// What the client wants back from a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReturnValues {
    #[default]
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

/// The item-level part of a write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WriteKind {
    Put {
        item: Item,
    },
    Update {
        key: Item,
        update: Option<UpdateExpr>,
    },
    Delete {
        key: Item,
    },
    /// Only evaluates the condition (TransactWriteItems' ConditionCheck).
    ConditionCheck {
        key: Item,
    },
}

/// One conditional write of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemWrite {
    pub table: String,
    pub kind: WriteKind,
    pub condition: Option<Condition>,
    pub return_values: ReturnValues,
    /// ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub return_old_on_condition_failure: bool,
}

/// TransactWriteItems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactWrite {
    /// ClientRequestToken, with a digest of the request it stands for.
    pub token: Option<(String, u64)>,
    pub now_ms: i64,
    pub actions: Vec<ItemWrite>,
}

/// One read of one item by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemGet {
    pub table: String,
    pub key: Item,
    pub projection: Option<Vec<Path>>,
}

/// The result of applying one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// A table command succeeded; the table as it now is (or was, for DeleteTable).
    Table(TableMeta),
    /// A single write succeeded.
    Write(WriteResult),
    /// BatchWriteItem: one result per request, in order (each may be rejected on its own).
    BatchWrite(Vec<Result<WriteResult, Rejection>>),
    /// TransactWriteItems succeeded; one result per action.
    TransactWrite(Vec<WriteResult>),
    /// TransactGetItems; per item, the item (projected) and its full size for capacity.
    TransactGet(Vec<(Option<Item>, usize)>),
    /// A remote batch was applied.
    Replicated(ReplicateResult),
    /// A bookkeeping command was applied.
    Done,
    /// The command was refused; nothing changed.
    Rejected(Rejection),
    /// How many items an [`Command::ExpireItems`] deleted.
    Expired(u64),
    /// A backfill page was copied; where the next one starts (None: the index is complete).
    Backfilled { next: Option<Vec<u8>> },
    /// A backup command was applied.
    Backup(crate::backup::BackupOutcome),
}

/// What one applied write reports back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WriteResult {
    /// Attributes to return, per ReturnValues (None when nothing is to be returned).
    pub attributes: Option<Item>,
    /// Size of the item before the write (0 if absent), for capacity units.
    pub old_size: usize,
    /// Size of the item after the write (0 if absent).
    pub new_size: usize,
}

impl Command {
    /// Encodes with the format version byte first.
    pub fn encode(&self) -> Result<Vec<u8>, TableError> {
        encode_versioned(self)
    }

    /// Decodes a payload written by [`Command::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Command, TableError> {
        decode_versioned(bytes)
    }
}

impl Outcome {
    /// Encodes with the format version byte first.
    pub fn encode(&self) -> Result<Vec<u8>, TableError> {
        encode_versioned(self)
    }

    /// Decodes a payload written by [`Outcome::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Outcome, TableError> {
        decode_versioned(bytes)
    }
}

pub(crate) fn encode_versioned<T: Serialize>(value: &T) -> Result<Vec<u8>, TableError> {
    let mut out = vec![COMMAND_FORMAT_VERSION];
    bincode::serialize_into(&mut out, value).map_err(|e| TableError::Codec(e.to_string()))?;
    Ok(out)
}

pub(crate) fn decode_versioned<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
) -> Result<T, TableError> {
    match bytes.split_first() {
        Some((&COMMAND_FORMAT_VERSION, rest)) => {
            bincode::deserialize(rest).map_err(|e| TableError::Codec(e.to_string()))
        }
        Some((v, _)) => Err(TableError::Codec(format!("unknown format version {v}"))),
        None => Err(TableError::Codec("empty payload".into())),
    }
}
