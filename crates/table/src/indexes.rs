//! Secondary indexes: entries kept in [`storage::Space::Indexes`], maintained in the same
//! write set as the item they index, so a table and its indexes never disagree, even after a
//! crash.
//!
//! An entry's key is `index id (16 bytes) ‖ P(index partition) ‖ [P(index sort)] ‖
//! P(table partition) ‖ [S(table sort)]`, where `P` is the self-delimiting (escaped and
//! terminated) component of `storage::keys` and `S` the plain sort component. Escaping
//! preserves byte order, so entries sort by index partition, then index sort key (DynamoDB's
//! order), then table key, which keeps items with equal index keys distinct and in a stable
//! order. A multi-attribute GSI key has one `P` component per partition attribute, then
//! one per sort attribute (`multi_key`); one of each is this layout. Its value is the
//! projected item (format version byte + bincode of the `Item`).
//!
//! Items whose index key attributes are missing are not in the index (sparse indexes); items
//! with a key attribute of the wrong type never get that far: `check` rejects the write.

use std::borrow::Cow;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use model::limits::ITEM_COLLECTION_BYTES_MAX;
use model::size::item_size;
use model::{AttributeValue, IndexMeta, IndexStatus, Item, ProjectionType, TableMeta};
use storage::{ApplyView, Space, Store};

use crate::catalog::{put_table, view_table};
use crate::command::{decode_versioned, encode_versioned, Outcome};
use crate::error::{Rejection, TableError};

/// ItemCount and IndexSizeBytes of one index, maintained by every applied write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    pub item_count: u64,
    pub size_bytes: u64,
}

fn stats_key(index: &IndexMeta) -> Vec<u8> {
    let mut key = b"istats/".to_vec();
    key.extend_from_slice(index.id.as_bytes());
    key
}

/// The live statistics of an index.
pub fn index_stats(store: &Store, index: &IndexMeta) -> Result<IndexStats, TableError> {
    match store.get(Space::Meta, &stats_key(index))? {
        Some(bytes) => decode_versioned(&bytes),
        None => Ok(IndexStats::default()),
    }
}

fn adjust_index_stats(
    view: &mut ApplyView<'_>,
    index: &IndexMeta,
    count_delta: i64,
    size_delta: i64,
) -> Result<(), TableError> {
    if count_delta == 0 && size_delta == 0 {
        return Ok(());
    }
    let key = stats_key(index);
    let mut stats: IndexStats = match view.get(Space::Meta, &key)? {
        Some(bytes) => decode_versioned(&bytes)?,
        None => IndexStats::default(),
    };
    stats.item_count = stats.item_count.saturating_add_signed(count_delta);
    stats.size_bytes = stats.size_bytes.saturating_add_signed(size_delta);
    view.put(Space::Meta, key, encode_versioned(&stats)?);
    Ok(())
}

/// The prefix of an index's entries whose index partition key is `partition`.
pub fn partition_prefix(index: &IndexMeta, partition: &AttributeValue) -> Vec<u8> {
    let mut out = index.id.as_bytes().to_vec();
    storage::keys::encode_partition_component(&mut out, partition);
    out
}

/// The prefix of an index's entries with index partition `partition` and index sort key
/// `sort` (the index must have a sort key). Entries with that exact sort key extend it; the
/// escaped (unterminated) form of an S or B prefix is a byte prefix of every longer value.
pub fn sort_prefix(
    index: &IndexMeta,
    partition: &AttributeValue,
    sort: &AttributeValue,
) -> Vec<u8> {
    let mut out = partition_prefix(index, partition);
    storage::keys::encode_partition_component(&mut out, sort);
    out
}

/// Like [`sort_prefix`] without the terminator: the prefix shared by every entry whose S or
/// B index sort key begins with `prefix`.
pub fn begins_with_prefix(
    index: &IndexMeta,
    partition: &AttributeValue,
    prefix: &AttributeValue,
) -> Vec<u8> {
    let mut out = sort_prefix(index, partition, prefix);
    out.truncate(out.len() - 2);
    out
}

/// The storage key of `item`'s entry in `index`, if it belongs there.
pub fn entry_key(meta: &TableMeta, index: &IndexMeta, item: &Item) -> Option<Vec<u8>> {
    // Every index key attribute in KeySchema order (see `multi_key` for why this is the
    // single-attribute layout when there is one partition and at most one sort attribute).
    let values = crate::multi_key::key_values(&index.key_schema, item)?;
    let mut out = crate::multi_key::composite_prefix(index, values);
    let table_partition = item.get(&meta.key_schema.partition.name)?;
    storage::keys::encode_partition_component(&mut out, table_partition);
    if let Some(attr) = &meta.key_schema.sort {
        storage::keys::encode_sort_component(&mut out, item.get(&attr.name)?);
    }
    Some(out)
}

/// Whether `name` is projected into `index` (key attributes always are).
pub fn projects(meta: &TableMeta, index: &IndexMeta, name: &str) -> bool {
    match index.projection {
        ProjectionType::All => true,
        ProjectionType::KeysOnly | ProjectionType::Include => {
            meta.key_schema.is_key_attribute(name)
                || index.key_schema.is_key_attribute(name)
                || (index.projection == ProjectionType::Include
                    && index.non_key_attributes.iter().any(|a| a == name))
        }
    }
}

/// The attributes of `item` that `index` holds.
pub fn project(meta: &TableMeta, index: &IndexMeta, item: &Item) -> Item {
    if index.projection == ProjectionType::All {
        return item.clone();
    }
    item.iter()
        .filter(|(name, _)| projects(meta, index, name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// [`project`] without a copy when the index holds every attribute.
fn projected<'a>(meta: &TableMeta, index: &IndexMeta, item: &'a Item) -> Cow<'a, Item> {
    match index.projection {
        ProjectionType::All => Cow::Borrowed(item),
        _ => Cow::Owned(project(meta, index, item)),
    }
}

/// The table key and index key attributes of an entry: a LastEvaluatedKey on an index.
pub fn entry_key_item(meta: &TableMeta, index: &IndexMeta, entry: &Item) -> Item {
    meta.key_schema
        .attributes()
        .chain(index.key_schema.attributes())
        .filter_map(|a| entry.get(&a.name).map(|v| (a.name.clone(), v.clone())))
        .collect()
}

/// The bytes an index entry counts for in IndexSizeBytes.
fn entry_size(entry: &Item) -> i64 {
    item_size(entry) as i64
}

/// Rejects a new item whose index key attributes have the wrong type or are empty, with
/// DynamoDB's messages.
pub(crate) fn check(meta: &TableMeta, item: &Item) -> Result<(), Rejection> {
    for index in meta.indexes() {
        for attr in index.key_schema.attributes() {
            let Some(value) = item.get(&attr.name) else {
                continue;
            };
            if !attr.scalar.matches(value) {
                return Err(Rejection::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                    attr.name,
                    attr.scalar.as_str(),
                    value.type_name(),
                    index.name
                )));
            }
            let empty = match value {
                AttributeValue::S(s) => s.is_empty(),
                AttributeValue::B(b) => b.is_empty(),
                _ => false,
            };
            let is_sort = index
                .key_schema
                .sort
                .as_ref()
                .is_some_and(|s| s.name == attr.name);
            let len = match value {
                AttributeValue::S(s) => s.len(),
                AttributeValue::B(b) => b.len(),
                _ => 0,
            };
            if !is_sort && len > model::limits::PARTITION_KEY_BYTES_MAX {
                return Err(Rejection::validation(format!(
                    "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes IndexName: {}",
                    index.name
                )));
            }
            if is_sort && len > model::limits::SORT_KEY_BYTES_MAX {
                return Err(Rejection::validation(format!(
                    "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes IndexName: {}",
                    index.name
                )));
            }
            if empty {
                let kind = if matches!(value, AttributeValue::S(_)) {
                    "string"
                } else {
                    "binary"
                };
                return Err(Rejection::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {kind} value. IndexName: {}, IndexKey: {}",
                    index.name, attr.name
                )));
            }
        }
    }
    Ok(())
}

/// Rejects a write that would grow an item collection (a partition of a table with local
/// secondary indexes, with its index entries) past [`ITEM_COLLECTION_BYTES_MAX`].
pub(crate) fn check_collection(
    view: &ApplyView<'_>,
    meta: &TableMeta,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<Result<(), Rejection>, TableError> {
    let Some(item) = new.filter(|_| !meta.local_indexes.is_empty()) else {
        return Ok(Ok(()));
    };
    let Some(partition) = item.get(&meta.key_schema.partition.name) else {
        return Ok(Ok(()));
    };
    let entries = |item: Option<&Item>| -> i64 {
        let Some(item) = item else { return 0 };
        let lsi: i64 = meta
            .local_indexes
            .iter()
            .filter(|i| entry_key(meta, i, item).is_some())
            .map(|i| entry_size(&project(meta, i, item)))
            .sum();
        item_size(item) as i64 + lsi
    };
    let growth = entries(new) - entries(old);
    if growth <= 0 {
        return Ok(Ok(()));
    }
    let current = match view.get(Space::Meta, &collection_key(meta, partition))? {
        Some(bytes) => decode_versioned::<u64>(&bytes)?,
        None => 0,
    };
    if current.saturating_add_signed(growth) > ITEM_COLLECTION_BYTES_MAX {
        return Ok(Err(Rejection::ItemCollectionSizeLimitExceeded(
            "Item collection size limit exceeded".into(),
        )));
    }
    Ok(Ok(()))
}

/// Brings every index of `meta`'s table in line with an item changing from `old` to `new`
/// (None: absent), in the same write set as the item.
pub(crate) fn maintain(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<(), TableError> {
    let mut collection_delta = 0i64;
    for index in meta.indexes() {
        if index.status == IndexStatus::Deleting {
            continue;
        }
        let old_key = old.and_then(|item| entry_key(meta, index, item));
        let new_key = new.and_then(|item| entry_key(meta, index, item));
        let old_entry = old
            .filter(|_| old_key.is_some())
            .map(|i| projected(meta, index, i));
        let new_entry = new
            .filter(|_| new_key.is_some())
            .map(|i| projected(meta, index, i));
        if old_key == new_key && old_entry == new_entry {
            continue;
        }
        let mut count_delta = 0i64;
        let mut size_delta = 0i64;
        if let (Some(key), Some(entry)) = (old_key, &old_entry) {
            // While the index is being backfilled the old item may not have its entry yet.
            let present = !index.backfilling || view.get(Space::Indexes, &key)?.is_some();
            if present {
                view.delete(Space::Indexes, key);
                count_delta -= 1;
                size_delta -= entry_size(entry);
            }
        }
        if let (Some(key), Some(entry)) = (new_key, &new_entry) {
            view.put(Space::Indexes, key, encode_versioned(entry.as_ref())?);
            count_delta += 1;
            size_delta += entry_size(entry);
        }
        adjust_index_stats(view, index, count_delta, size_delta)?;
        if meta.local_indexes.iter().any(|l| l.id == index.id) {
            collection_delta += size_delta;
        }
    }
    if !meta.local_indexes.is_empty() {
        let size = |item: Option<&Item>| item.map(item_size).unwrap_or(0) as i64;
        collection_delta += size(new) - size(old);
        if let Some(partition) = new
            .or(old)
            .and_then(|item| item.get(&meta.key_schema.partition.name))
        {
            adjust_collection_size(view, meta, partition, collection_delta)?;
        }
    }
    Ok(())
}

pub(crate) fn collection_key(meta: &TableMeta, partition: &AttributeValue) -> Vec<u8> {
    let mut key = COLLECTION_PREFIX.to_vec();
    key.extend_from_slice(&storage::keys::partition_prefix(&meta.id, partition));
    key
}

/// Prefix in [`Space::Meta`] of the item collection sizes of tables with local indexes.
const COLLECTION_PREFIX: &[u8] = b"coll/";

fn adjust_collection_size(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
    partition: &AttributeValue,
    delta: i64,
) -> Result<(), TableError> {
    if delta == 0 {
        return Ok(());
    }
    let key = collection_key(meta, partition);
    let size: u64 = match view.get(Space::Meta, &key)? {
        Some(bytes) => decode_versioned(&bytes)?,
        None => 0,
    };
    let size = size.saturating_add_signed(delta);
    if size == 0 {
        view.delete(Space::Meta, key);
    } else {
        view.put(Space::Meta, key, encode_versioned(&size)?);
    }
    Ok(())
}

/// The size in bytes of an item collection (a partition's items and their local secondary
/// index entries) of a table with local secondary indexes, for ItemCollectionMetrics.
pub fn collection_size(
    store: &Store,
    meta: &TableMeta,
    partition: &AttributeValue,
) -> Result<u64, TableError> {
    match store.get(Space::Meta, &collection_key(meta, partition))? {
        Some(bytes) => decode_versioned(&bytes),
        None => Ok(0),
    }
}

/// Deletes the item collection sizes of a dropped table.
pub(crate) fn drop_collections(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
) -> Result<(), TableError> {
    let mut prefix = COLLECTION_PREFIX.to_vec();
    prefix.extend_from_slice(&storage::keys::table_prefix(&meta.id));
    view.delete_prefix(Space::Meta, &prefix)?;
    Ok(())
}

/// Deletes every entry and the statistics of an index.
pub(crate) fn drop_index(view: &mut ApplyView<'_>, index: &IndexMeta) -> Result<(), TableError> {
    view.delete_prefix(Space::Indexes, index.id.as_bytes())?;
    view.delete(Space::Meta, stats_key(index));
    Ok(())
}

/// Decodes an entry's value.
pub(crate) fn decode_entry(bytes: &[u8]) -> Result<Item, TableError> {
    decode_versioned(bytes)
}

/// Adds a new global secondary index to a table (UpdateTable Create): CREATING and
/// backfilling until [`backfill`] has copied every existing item.
pub(crate) fn create_index(
    view: &mut ApplyView<'_>,
    table: &str,
    index: &IndexMeta,
    attribute_definitions: &[(String, model::ScalarType)],
) -> Result<Outcome, TableError> {
    let Some(mut meta) = view_table(view, table)? else {
        return Ok(Outcome::Rejected(Rejection::table_not_found(table)));
    };
    if meta.index(&index.name).is_some() {
        return Ok(Outcome::Rejected(Rejection::validation(format!(
            "One or more parameter values were invalid: Index {} already exists",
            index.name
        ))));
    }
    if meta.global_indexes.len() >= model::limits::GLOBAL_INDEXES_MAX {
        return Ok(Outcome::Rejected(Rejection::LimitExceeded(format!(
            "Subscriber limit exceeded: The maximum number of global secondary indexes per table is {}",
            model::limits::GLOBAL_INDEXES_MAX
        ))));
    }
    for (name, scalar) in attribute_definitions {
        match meta.attribute_definitions.iter().find(|(n, _)| n == name) {
            Some((_, existing)) if existing != scalar => {
                return Ok(Outcome::Rejected(Rejection::validation(format!(
                    "One or more parameter values were invalid: Attribute {name} is already defined with type {} and cannot be redefined as {}",
                    existing.as_str(),
                    scalar.as_str()
                ))));
            }
            Some(_) => {}
            None => meta.attribute_definitions.push((name.clone(), *scalar)),
        }
    }
    let mut index = index.clone();
    index.status = IndexStatus::Creating;
    index.backfilling = true;
    meta.global_indexes.push(index);
    put_table(view, &meta)?;
    Ok(Outcome::Table(meta))
}

/// Removes a global secondary index and its entries (UpdateTable Delete).
pub(crate) fn delete_index(
    view: &mut ApplyView<'_>,
    table: &str,
    name: &str,
) -> Result<Outcome, TableError> {
    let Some(mut meta) = view_table(view, table)? else {
        return Ok(Outcome::Rejected(Rejection::table_not_found(table)));
    };
    let Some(position) = meta.global_indexes.iter().position(|i| i.name == name) else {
        return Ok(Outcome::Rejected(Rejection::ResourceNotFound(format!(
            "Requested resource not found: Index: {name} not found for table {table}"
        ))));
    };
    let index = meta.global_indexes.remove(position);
    drop_index(view, &index)?;
    crate::warm::drop_index(view, &meta, &index.name)?;
    // Attribute definitions no longer used by any key are dropped, as DynamoDB does.
    let used = |n: &str| {
        meta.key_schema.is_key_attribute(n)
            || meta.indexes().any(|i| i.key_schema.is_key_attribute(n))
    };
    let kept: Vec<_> = meta
        .attribute_definitions
        .iter()
        .filter(|(n, _)| used(n))
        .cloned()
        .collect();
    meta.attribute_definitions = kept;
    put_table(view, &meta)?;
    let mut shown = meta.clone();
    let mut gone = index;
    gone.status = IndexStatus::Deleting;
    shown.global_indexes.push(gone);
    Ok(Outcome::Table(shown))
}

/// Sets a global secondary index's provisioned throughput (UpdateTable Update).
pub(crate) fn update_index(
    view: &mut ApplyView<'_>,
    table: &str,
    name: &str,
    provisioned: (u64, u64),
    now_ms: i64,
) -> Result<Outcome, TableError> {
    let Some(mut meta) = view_table(view, table)? else {
        return Ok(Outcome::Rejected(Rejection::table_not_found(table)));
    };
    let Some(index) = meta.global_indexes.iter_mut().find(|i| i.name == name) else {
        return Ok(Outcome::Rejected(Rejection::ResourceNotFound(format!(
            "Requested resource not found: Index: {name} not found for table {table}"
        ))));
    };
    let p = index
        .provisioned
        .get_or_insert(model::ProvisionedThroughput {
            read_capacity_units: 0,
            write_capacity_units: 0,
            last_increase_ms: None,
            last_decrease_ms: None,
            decreases_today: 0,
        });
    let (read, write) = provisioned;
    if read > p.read_capacity_units || write > p.write_capacity_units {
        p.last_increase_ms = Some(now_ms);
    }
    if read < p.read_capacity_units || write < p.write_capacity_units {
        p.last_decrease_ms = Some(now_ms);
        p.decreases_today += 1;
    }
    p.read_capacity_units = read;
    p.write_capacity_units = write;
    put_table(view, &meta)?;
    Ok(Outcome::Table(meta))
}

/// Copies up to `limit` items after `after_key` (a table storage key; None: from the start)
/// into a backfilling index. Entries already present were written by later writes and are
/// current, so they are kept; repeating a page is harmless. The last page marks the index
/// ACTIVE. Answers with the key to continue after, or None once done (or if the index is
/// gone or already active).
pub(crate) fn backfill(
    view: &mut ApplyView<'_>,
    table: &str,
    index_name: &str,
    after_key: Option<&[u8]>,
    limit: usize,
) -> Result<Outcome, TableError> {
    let Some(mut meta) = view_table(view, table)? else {
        return Ok(Outcome::Backfilled { next: None });
    };
    let Some(index) = meta
        .global_indexes
        .iter()
        .find(|i| i.name == index_name && i.backfilling)
        .cloned()
    else {
        return Ok(Outcome::Backfilled { next: None });
    };
    let prefix = storage::keys::table_prefix(&meta.id);
    let lower = match after_key {
        Some(key) if key.starts_with(&prefix) => Bound::Excluded(key.to_vec()),
        _ => Bound::Included(prefix.clone()),
    };
    let upper = storage::keys::prefix_range(&prefix).1;
    let page = view.range(Space::Items, lower, upper, Some(limit.max(1)))?;
    let mut count_delta = 0;
    let mut size_delta = 0;
    for (_, bytes) in &page {
        let item = crate::key::decode_item(bytes)?;
        let Some(key) = entry_key(&meta, &index, &item) else {
            continue;
        };
        if view.get(Space::Indexes, &key)?.is_some() {
            continue;
        }
        let entry = project(&meta, &index, &item);
        size_delta += entry_size(&entry);
        count_delta += 1;
        view.put(Space::Indexes, key, encode_versioned(&entry)?);
    }
    adjust_index_stats(view, &index, count_delta, size_delta)?;
    if page.len() >= limit.max(1) {
        let next = page.last().map(|(k, _)| k.clone());
        return Ok(Outcome::Backfilled { next });
    }
    if let Some(i) = meta
        .global_indexes
        .iter_mut()
        .find(|i| i.name == index_name)
    {
        i.backfilling = false;
        i.status = IndexStatus::Active;
    }
    put_table(view, &meta)?;
    Ok(Outcome::Backfilled { next: None })
}
