//! Tombstones: the versions of deleted items of global tables, kept under the item's storage
//! key in [`Space::Tombstones`] so that a late or repeated remote write older than the delete
//! cannot bring the item back. A tombstone is collected once it is causally stable across the
//! table's replica regions (see `watermark`).

use serde::{Deserialize, Serialize};

use model::{TableMeta, Version};
use storage::{ApplyView, Space, Store};

use crate::command::{decode_versioned, encode_versioned};
use crate::error::TableError;

/// A deleted item's version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub version: Version,
    /// The deleted item's key attributes.
    pub keys: model::Item,
}

pub(crate) fn put(
    view: &mut ApplyView<'_>,
    storage_key: &[u8],
    version: &Version,
    keys: &model::Item,
) -> Result<(), TableError> {
    let tombstone = Tombstone {
        version: version.clone(),
        keys: keys.clone(),
    };
    view.put(
        Space::Tombstones,
        storage_key.to_vec(),
        encode_versioned(&tombstone)?,
    );
    Ok(())
}

pub(crate) fn get(
    view: &mut ApplyView<'_>,
    storage_key: &[u8],
) -> Result<Option<Tombstone>, TableError> {
    match view.get(Space::Tombstones, storage_key)? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn remove(view: &mut ApplyView<'_>, storage_key: &[u8]) {
    view.delete(Space::Tombstones, storage_key.to_vec());
}

/// Every tombstone of a table: (storage key, tombstone).
pub fn table_tombstones(
    store: &Store,
    meta: &TableMeta,
) -> Result<Vec<(Vec<u8>, Tombstone)>, TableError> {
    let mut out = Vec::new();
    for entry in store.scan_prefix(Space::Tombstones, &storage::keys::table_prefix(&meta.id)) {
        let (key, bytes) = entry?;
        out.push((key, decode_versioned(&bytes)?));
    }
    Ok(out)
}
