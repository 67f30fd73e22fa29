//! Primary keys of items: extracting them from items and request keys, validating them against
//! a table's key schema with DynamoDB's messages, and their storage keys.

use model::limits::{PARTITION_KEY_BYTES_MAX, SORT_KEY_BYTES_MAX};
use model::{AttributeValue, Item, KeySchema, TableMeta};

use crate::error::Rejection;

/// An item's primary key values.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryKey {
    pub partition: AttributeValue,
    pub sort: Option<AttributeValue>,
}

impl PrimaryKey {
    /// The key from its values in schema order (partition, then sort).
    fn from_values(values: Vec<AttributeValue>) -> PrimaryKey {
        let mut values = values.into_iter();
        PrimaryKey {
            partition: values.next().unwrap_or(AttributeValue::Null),
            sort: values.next(),
        }
    }

    /// The storage key of this item in `meta`'s table.
    pub fn storage_key(&self, meta: &TableMeta) -> Vec<u8> {
        storage::keys::encode_item_key(&meta.id, &self.partition, self.sort.as_ref())
    }
}

fn key_value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        other => model::size::value_size(other),
    }
}

fn check_value(schema_name: &str, value: &AttributeValue, is_sort: bool) -> Result<(), Rejection> {
    let empty = match value {
        AttributeValue::S(s) => s.is_empty(),
        AttributeValue::B(b) => b.is_empty(),
        _ => false,
    };
    if empty {
        let kind = if matches!(value, AttributeValue::S(_)) {
            "string"
        } else {
            "binary"
        };
        return Err(Rejection::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {schema_name}"
        )));
    }
    check_key_size(value, is_sort)
}

/// Refuses a key value larger than DynamoDB allows (2048 bytes for a partition key, 1024 for
/// a sort key), with its messages. Also used on the values of Query's key conditions.
pub(crate) fn check_key_size(value: &AttributeValue, is_sort: bool) -> Result<(), Rejection> {
    let size = key_value_size(value);
    if !is_sort && size > PARTITION_KEY_BYTES_MAX {
        return Err(Rejection::validation(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if is_sort && size > SORT_KEY_BYTES_MAX {
        return Err(Rejection::validation(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ));
    }
    Ok(())
}

/// The key of an item being put (PutItem, Put actions): every key attribute must be present
/// with the declared type.
pub fn key_of_item(schema: &KeySchema, item: &Item) -> Result<PrimaryKey, Rejection> {
    let mut values = Vec::with_capacity(2);
    for (i, attr) in schema.attributes().enumerate() {
        let Some(value) = item.get(&attr.name) else {
            return Err(Rejection::validation(format!(
                "One or more parameter values were invalid: Missing the key {} in the item",
                attr.name
            )));
        };
        if !attr.scalar.matches(value) {
            return Err(Rejection::validation(format!(
                "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
                attr.name,
                attr.scalar.as_str(),
                value.type_name()
            )));
        }
        check_value(&attr.name, value, i == 1)?;
        values.push(value.clone());
    }
    Ok(PrimaryKey::from_values(values))
}

/// A request's `Key`: exactly the key attributes, with the declared types.
pub fn key_of_request(schema: &KeySchema, key: &Item) -> Result<PrimaryKey, Rejection> {
    let mismatch = || Rejection::validation("The provided key element does not match the schema");
    if key.len() != schema.attributes().count() {
        return Err(mismatch());
    }
    let mut values = Vec::with_capacity(2);
    for (i, attr) in schema.attributes().enumerate() {
        let value = key.get(&attr.name).ok_or_else(mismatch)?;
        if !attr.scalar.matches(value) {
            return Err(mismatch());
        }
        check_value(&attr.name, value, i == 1)?;
        values.push(value.clone());
    }
    Ok(PrimaryKey::from_values(values))
}

/// The key attributes of `item`, as LastEvaluatedKey and similar report them.
pub fn key_item(schema: &KeySchema, item: &Item) -> Item {
    schema
        .attributes()
        .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
        .collect()
}

/// An item as stored, with the version of the write that produced it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredItem {
    pub version: model::Version,
    pub item: Item,
}

/// The borrowed form of [`StoredItem`], for encoding without copies (bincode encodes both
/// alike).
#[derive(serde::Serialize)]
struct StoredItemRef<'a> {
    version: &'a model::Version,
    item: &'a Item,
}

/// Item values as stored: a format version byte, then bincode of [`StoredItem`].
pub(crate) fn encode_item(
    item: &Item,
    version: &model::Version,
) -> Result<Vec<u8>, crate::error::TableError> {
    crate::command::encode_versioned(&StoredItemRef { version, item })
}

/// Decodes a stored item, without its version.
pub(crate) fn decode_item(bytes: &[u8]) -> Result<Item, crate::error::TableError> {
    decode_stored(bytes).map(|stored| stored.item)
}

/// Decodes a stored item with its version.
pub fn decode_stored(bytes: &[u8]) -> Result<StoredItem, crate::error::TableError> {
    crate::command::decode_versioned(bytes)
}
