//! Table metadata and per-table statistics as stored in the state machine.

use serde::{Deserialize, Serialize};

use model::TableMeta;
use storage::{ApplyView, Space, Store};

use crate::command::{decode_versioned, encode_versioned};
use crate::error::TableError;

/// ItemCount and TableSizeBytes, maintained by every applied write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStats {
    pub item_count: u64,
    pub size_bytes: u64,
}

fn stats_key(meta: &TableMeta) -> Vec<u8> {
    let mut key = b"stats/".to_vec();
    key.extend_from_slice(meta.id.as_bytes());
    key
}

/// The table named `name`, if it exists.
pub fn load_table(store: &Store, name: &str) -> Result<Option<TableMeta>, TableError> {
    match store.get(Space::Tables, name.as_bytes())? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

/// Every table name, in order.
pub fn list_tables(store: &Store) -> Result<Vec<String>, TableError> {
    let mut names = Vec::new();
    for entry in store.scan_prefix(Space::Tables, b"") {
        let (key, _) = entry?;
        names.push(String::from_utf8_lossy(&key).into_owned());
    }
    Ok(names)
}

/// The live statistics of a table.
pub fn table_stats(store: &Store, meta: &TableMeta) -> Result<TableStats, TableError> {
    match store.get(Space::Meta, &stats_key(meta))? {
        Some(bytes) => decode_versioned(&bytes),
        None => Ok(TableStats::default()),
    }
}

/// The statistics of a table as of the pending writes.
pub(crate) fn view_stats(view: &ApplyView<'_>, meta: &TableMeta) -> Result<TableStats, TableError> {
    match view.get(Space::Meta, &stats_key(meta))? {
        Some(bytes) => decode_versioned(&bytes),
        None => Ok(TableStats::default()),
    }
}

pub(crate) fn view_table(
    view: &mut ApplyView<'_>,
    name: &str,
) -> Result<Option<TableMeta>, TableError> {
    match view.get(Space::Tables, name.as_bytes())? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn put_table(view: &mut ApplyView<'_>, meta: &TableMeta) -> Result<(), TableError> {
    view.put(
        Space::Tables,
        meta.name.as_bytes().to_vec(),
        encode_versioned(meta)?,
    );
    Ok(())
}

pub(crate) fn drop_table(view: &mut ApplyView<'_>, meta: &TableMeta) -> Result<(), TableError> {
    view.delete(Space::Tables, meta.name.as_bytes().to_vec());
    view.delete(Space::Meta, stats_key(meta));
    let prefix = storage::keys::table_prefix(&meta.id);
    view.delete_prefix(Space::Items, &prefix)?;
    view.delete_prefix(Space::Tombstones, &prefix)?;
    view.delete_prefix(Space::Changes, meta.id.as_bytes())?;
    for index in meta.indexes() {
        crate::indexes::drop_index(view, index)?;
    }
    crate::indexes::drop_collections(view, meta)?;
    crate::backup::forget_table(view, meta)?;
    crate::warm::drop_table(view, meta);
    Ok(())
}

/// Adds `count_delta` items and `size_delta` bytes to a table's statistics.
pub(crate) fn adjust_stats(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
    count_delta: i64,
    size_delta: i64,
) -> Result<(), TableError> {
    if count_delta == 0 && size_delta == 0 {
        return Ok(());
    }
    let key = stats_key(meta);
    let mut stats: TableStats = match view.get(Space::Meta, &key)? {
        Some(bytes) => decode_versioned(&bytes)?,
        None => TableStats::default(),
    };
    stats.item_count = stats.item_count.saturating_add_signed(count_delta);
    stats.size_bytes = stats.size_bytes.saturating_add_signed(size_delta);
    view.put(Space::Meta, key, encode_versioned(&stats)?);
    Ok(())
}
