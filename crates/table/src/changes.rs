//! The change log: one record per applied change of an item, in the order the region applied
//! them, for tables that have a stream or replicas in other regions. Streams read it; the
//! replicator ships the records that originated in this region.
//!
//! Records live in [`Space::Changes`] under `table id ‖ sequence number (u64, big-endian)`;
//! sequence numbers start at 1 and are per table. A record is trimmed once every replica
//! region has acknowledged it and it is older than the stream retention.

use serde::{Deserialize, Serialize};

use model::limits::STREAM_RETENTION_MS;
use model::{Item, TableMeta, Version};
use storage::{ApplyView, Space, Store};

use crate::command::{decode_versioned, encode_versioned};
use crate::error::TableError;

/// One applied change of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// Position in the table's change log, from 1.
    pub seq: u64,
    /// The item's primary key attributes.
    pub keys: Item,
    /// The item before the change (None: it did not exist).
    pub old: Option<Item>,
    /// The item after the change (None: it was deleted).
    pub new: Option<Item>,
    /// The version of the new state (of the tombstone, for a delete).
    pub version: Version,
    /// Wall-clock ms of the log entry that applied it (ApproximateCreationDateTime).
    pub applied_ms: i64,
    /// A deletion by the TTL sweeper rather than by a user.
    pub by_service: bool,
}

/// The borrowed form of [`ChangeRecord`], for appending without copying the images (bincode
/// encodes both alike; the fields are in the same order).
#[derive(Serialize)]
pub(crate) struct ChangeRecordRef<'a> {
    pub(crate) seq: u64,
    pub(crate) keys: &'a Item,
    pub(crate) old: Option<&'a Item>,
    pub(crate) new: Option<&'a Item>,
    pub(crate) version: &'a Version,
    pub(crate) applied_ms: i64,
    pub(crate) by_service: bool,
}

fn seq_counter_key(table: &uuid::Uuid) -> Vec<u8> {
    let mut key = b"changeseq/".to_vec();
    key.extend_from_slice(table.as_bytes());
    key
}

/// The storage key of record `seq` of `table`.
pub fn change_key(table: &uuid::Uuid, seq: u64) -> Vec<u8> {
    let mut key = table.as_bytes().to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or_default()
}

/// Appends a record (its `seq` is assigned here) and returns its sequence number.
pub(crate) fn append(
    view: &mut ApplyView<'_>,
    table: &uuid::Uuid,
    mut record: ChangeRecordRef<'_>,
) -> Result<u64, TableError> {
    let counter = seq_counter_key(table);
    let seq = view
        .get(Space::Meta, &counter)?
        .map_or(0, |b| decode_u64(&b))
        + 1;
    view.put(Space::Meta, counter, seq.to_be_bytes().to_vec());
    record.seq = seq;
    view.put(
        Space::Changes,
        change_key(table, seq),
        encode_versioned(&record)?,
    );
    Ok(seq)
}

/// The last sequence number assigned in `table`'s change log (0 if none).
pub fn last_seq(store: &Store, table: &uuid::Uuid) -> Result<u64, TableError> {
    Ok(store
        .get(Space::Meta, &seq_counter_key(table))?
        .map_or(0, |b| decode_u64(&b)))
}

pub(crate) fn view_last_seq(
    view: &mut ApplyView<'_>,
    table: &uuid::Uuid,
) -> Result<u64, TableError> {
    Ok(view
        .get(Space::Meta, &seq_counter_key(table))?
        .map_or(0, |b| decode_u64(&b)))
}

/// Up to `limit` records of `table` with sequence numbers `>= from`, in order.
pub fn read_changes(
    store: &Store,
    table: &uuid::Uuid,
    from: u64,
    limit: usize,
) -> Result<Vec<ChangeRecord>, TableError> {
    let lower = std::ops::Bound::Included(change_key(table, from));
    let upper = std::ops::Bound::Included(change_key(table, u64::MAX));
    let mut out = Vec::new();
    for entry in store.range(Space::Changes, lower, upper, false).take(limit) {
        let (_, bytes) = entry?;
        out.push(decode_versioned(&bytes)?);
    }
    Ok(out)
}

/// The oldest record still kept for `table`, if any.
pub fn first_change(store: &Store, table: &uuid::Uuid) -> Result<Option<ChangeRecord>, TableError> {
    Ok(read_changes(store, table, 0, 1)?.into_iter().next())
}

fn cursor_key(table: &uuid::Uuid, destination: &str) -> Vec<u8> {
    let mut key = b"cursor/".to_vec();
    key.extend_from_slice(table.as_bytes());
    key.extend_from_slice(destination.as_bytes());
    key
}

/// The last sequence number `destination` has acknowledged for `table`, if it is a
/// destination.
pub fn replication_cursor(
    store: &Store,
    table: &uuid::Uuid,
    destination: &str,
) -> Result<Option<u64>, TableError> {
    Ok(store
        .get(Space::Meta, &cursor_key(table, destination))?
        .map(|b| decode_u64(&b)))
}

pub(crate) fn set_cursor(
    view: &mut ApplyView<'_>,
    table: &uuid::Uuid,
    destination: &str,
    seq: u64,
) {
    view.put(
        Space::Meta,
        cursor_key(table, destination),
        seq.to_be_bytes().to_vec(),
    );
}

pub(crate) fn view_cursor(
    view: &mut ApplyView<'_>,
    table: &uuid::Uuid,
    destination: &str,
) -> Result<Option<u64>, TableError> {
    Ok(view
        .get(Space::Meta, &cursor_key(table, destination))?
        .map(|b| decode_u64(&b)))
}

pub(crate) fn delete_cursor(view: &mut ApplyView<'_>, table: &uuid::Uuid, destination: &str) {
    view.delete(Space::Meta, cursor_key(table, destination));
}

/// Most records one trim removes: bounded work per applied command.
const TRIM_RECORDS_MAX: usize = 512;

/// Removes the oldest records of `meta`'s table that every replica region has acknowledged
/// and that are past the stream retention (or all acknowledged ones, without a stream),
/// along with the tombstones they made collectable. Returns how many records it removed.
pub(crate) fn trim(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
    wall_ms: i64,
) -> Result<usize, TableError> {
    let mut acked = view_last_seq(view, &meta.id)?;
    for destination in meta.replica_destinations() {
        acked = acked.min(view_cursor(view, &meta.id, destination)?.unwrap_or(0));
    }
    let lower = std::ops::Bound::Included(change_key(&meta.id, 0));
    let upper = std::ops::Bound::Included(change_key(&meta.id, acked));
    let records = view.range(Space::Changes, lower, upper, Some(TRIM_RECORDS_MAX))?;
    let mut removed = 0;
    for (key, bytes) in records {
        let record: ChangeRecord = decode_versioned(&bytes)?;
        let expired = wall_ms - record.applied_ms >= STREAM_RETENTION_MS;
        // A disabled stream stays readable for the retention period too, as in DynamoDB.
        if meta.stream.is_some() && !expired {
            break;
        }
        view.delete(Space::Changes, key);
        removed += 1;
    }
    Ok(removed)
}
