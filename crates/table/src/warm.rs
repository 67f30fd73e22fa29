//! Warm throughput: the ReadUnitsPerSecond / WriteUnitsPerSecond a table (and each of its
//! global secondary indexes) was raised to with CreateTable or UpdateTable's WarmThroughput.
//!
//! `TableMeta` is bincode-encoded without per-field versioning (in the store, the Raft log and
//! replication messages), so the setting is a side record instead: [`WarmRecord`] under
//! `warm/ ‖ table id` in [`Space::Meta`], set by [`Command::SetWarmThroughput`] and dropped
//! with the table (an index's entry with the index). It is per region, as in DynamoDB: the
//! command is never replicated. What DescribeTable reports is the larger of DynamoDB's
//! default (which depends on the billing mode and the provisioned units, and is computed by
//! the API layer) and this record; warm throughput is only ever raised.
//!
//! [`Command::SetWarmThroughput`]: crate::Command::SetWarmThroughput

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use model::TableMeta;
use storage::{ApplyView, Space, Store};

use crate::catalog::{put_table, view_table};
use crate::command::{decode_versioned, encode_versioned, Outcome};
use crate::error::{Rejection, TableError};

/// Units per second a table or index was raised to; 0: never set for that dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmUnits {
    pub read: u64,
    pub write: u64,
}

impl WarmUnits {
    /// Each dimension the larger of the two.
    pub fn max(self, other: WarmUnits) -> WarmUnits {
        WarmUnits {
            read: self.read.max(other.read),
            write: self.write.max(other.write),
        }
    }
}

/// A table's stored warm throughput (absent: nothing ever set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmRecord {
    pub table: WarmUnits,
    /// Per global secondary index name.
    pub indexes: BTreeMap<String, WarmUnits>,
}

impl WarmRecord {
    /// The units set for the global secondary index `name` (zeros if none).
    pub fn index(&self, name: &str) -> WarmUnits {
        self.indexes.get(name).copied().unwrap_or_default()
    }

    /// Raises the record by `update` (what applying it does, the indexes' existence aside).
    pub fn raise(&mut self, update: &WarmUpdate) {
        if let Some(units) = update.units {
            self.table = self.table.max(units);
        }
        for (name, units) in &update.indexes {
            let entry = self.indexes.entry(name.clone()).or_default();
            *entry = entry.max(*units);
        }
    }
}

/// [`Command::SetWarmThroughput`](crate::Command::SetWarmThroughput): raises a table's and/or
/// some of its global secondary indexes' warm throughput (a 0 member leaves that dimension
/// as it is; a lower value than the stored one never lowers it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmUpdate {
    pub table: String,
    /// The table's own warm throughput, if requested.
    pub units: Option<WarmUnits>,
    /// Global secondary indexes' (name, warm throughput).
    pub indexes: Vec<(String, WarmUnits)>,
}

impl WarmUpdate {
    /// Whether it raises anything at all (nothing to propose otherwise).
    pub fn is_empty(&self) -> bool {
        self.units.is_none() && self.indexes.is_empty()
    }
}

fn record_key(table: &uuid::Uuid) -> Vec<u8> {
    let mut key = b"warm/".to_vec();
    key.extend_from_slice(table.as_bytes());
    key
}

/// The warm throughput stored for a table on the local replica.
pub fn warm_record(store: &Store, table: &TableMeta) -> Result<WarmRecord, TableError> {
    match store.get(Space::Meta, &record_key(&table.id))? {
        Some(bytes) => decode_versioned(&bytes),
        None => Ok(WarmRecord::default()),
    }
}

fn view_record(view: &ApplyView<'_>, table: &uuid::Uuid) -> Result<WarmRecord, TableError> {
    match view.get(Space::Meta, &record_key(table))? {
        Some(bytes) => decode_versioned(&bytes),
        None => Ok(WarmRecord::default()),
    }
}

fn store_record(
    view: &mut ApplyView<'_>,
    table: &uuid::Uuid,
    record: &WarmRecord,
) -> Result<(), TableError> {
    if *record == WarmRecord::default() {
        view.delete(Space::Meta, record_key(table));
    } else {
        view.put(Space::Meta, record_key(table), encode_versioned(record)?);
    }
    Ok(())
}

/// Applies a [`WarmUpdate`]: every named index must exist; nothing changes otherwise.
pub(crate) fn set(view: &mut ApplyView<'_>, update: &WarmUpdate) -> Result<Outcome, TableError> {
    let Some(meta) = view_table(view, &update.table)? else {
        return Ok(Outcome::Rejected(Rejection::table_not_found(&update.table)));
    };
    if let Some((name, _)) = update
        .indexes
        .iter()
        .find(|(name, _)| !meta.global_indexes.iter().any(|i| i.name == *name))
    {
        return Ok(Outcome::Rejected(Rejection::ResourceNotFound(format!(
            "Requested resource not found: Index: {name} not found for table {}",
            meta.name
        ))));
    }
    let mut record = view_record(view, &meta.id)?;
    record.raise(update);
    store_record(view, &meta.id, &record)?;
    // Rewritten unchanged so the outcome is the table as of this entry, like other commands.
    put_table(view, &meta)?;
    Ok(Outcome::Table(meta))
}

/// Forgets a deleted global secondary index's warm throughput (a new index of the same name
/// starts from the default).
pub(crate) fn drop_index(
    view: &mut ApplyView<'_>,
    table: &TableMeta,
    index: &str,
) -> Result<(), TableError> {
    let mut record = view_record(view, &table.id)?;
    if record.indexes.remove(index).is_some() {
        store_record(view, &table.id, &record)?;
    }
    Ok(())
}

/// Drops a table's warm throughput (DeleteTable).
pub(crate) fn drop_table(view: &mut ApplyView<'_>, table: &TableMeta) {
    view.delete(Space::Meta, record_key(&table.id));
}
