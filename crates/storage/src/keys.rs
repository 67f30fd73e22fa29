//! Order-preserving key encoding: byte order of encoded keys is DynamoDB's key order.
//!
//! An item key is `table id (16 bytes) ‖ partition component ‖ sort component`:
//!
//! - the **partition component** is a type tag, then the value's bytes with every `0x00`
//!   escaped as `0x00 0xFF`, then the terminator `0x00 0x00`. Escaping makes it
//!   self-delimiting (no partition's encoding is a prefix of another's), so the items of one
//!   partition are contiguous and a partition's keys sort by their sort component;
//! - the **sort component** is a type tag, then the raw bytes of an S or B value (they are the
//!   last component, so need no terminator: `"ab" > "a"` as bytes, and `begins_with` is a plain
//!   byte-prefix range) or the number's order-preserving encoding (`Number::encode_ordered`,
//!   already self-delimiting). A table without a sort key has no sort component.
//!
//! DynamoDB orders S and B by unsigned bytes (S by its UTF-8 bytes) and N by numeric value.
//! Only S, N and B are key types; callers validate keys before encoding. Any other variant is
//! encoded as its tag alone, which never equals a valid key's encoding.

use std::ops::Bound;

use model::AttributeValue;
use uuid::Uuid;

/// Length of the table-id prefix of every item key.
pub const TABLE_ID_BYTES: usize = 16;

const TAG_S: u8 = 0x01;
const TAG_N: u8 = 0x02;
const TAG_B: u8 = 0x03;
const TAG_NOT_A_KEY_TYPE: u8 = 0xFE;

const ESCAPE: u8 = 0x00;
const ESCAPED_ZERO: u8 = 0xFF;
const TERMINATOR: [u8; 2] = [0x00, 0x00];

/// The prefix shared by every item key of a table.
pub fn table_prefix(table_id: &Uuid) -> Vec<u8> {
    table_id.as_bytes().to_vec()
}

/// Appends the self-delimiting encoding of a partition key value.
pub fn encode_partition_component(out: &mut Vec<u8>, value: &AttributeValue) {
    let mut raw = Vec::new();
    let tag = encode_raw(&mut raw, value);
    out.push(tag);
    for &byte in &raw {
        out.push(byte);
        if byte == ESCAPE {
            out.push(ESCAPED_ZERO);
        }
    }
    out.extend_from_slice(&TERMINATOR);
}

/// Appends the encoding of a sort key value (the last component of a key; not delimited).
pub fn encode_sort_component(out: &mut Vec<u8>, value: &AttributeValue) {
    let mut raw = Vec::new();
    let tag = encode_raw(&mut raw, value);
    out.push(tag);
    out.extend_from_slice(&raw);
}

/// The tag of a value and its order-preserving bytes (before any escaping).
fn encode_raw(out: &mut Vec<u8>, value: &AttributeValue) -> u8 {
    match value {
        AttributeValue::S(s) => {
            out.extend_from_slice(s.as_bytes());
            TAG_S
        }
        AttributeValue::N(n) => {
            n.encode_ordered(out);
            TAG_N
        }
        AttributeValue::B(b) => {
            out.extend_from_slice(b);
            TAG_B
        }
        _ => TAG_NOT_A_KEY_TYPE,
    }
}

/// The prefix of every item of one partition of a table; a Query scans this range.
pub fn partition_prefix(table_id: &Uuid, partition: &AttributeValue) -> Vec<u8> {
    let mut out = table_prefix(table_id);
    encode_partition_component(&mut out, partition);
    out
}

/// The storage key of an item. `sort` is `None` exactly when the table has no sort key.
pub fn encode_item_key(
    table_id: &Uuid,
    partition: &AttributeValue,
    sort: Option<&AttributeValue>,
) -> Vec<u8> {
    let mut out = partition_prefix(table_id, partition);
    if let Some(sort) = sort {
        encode_sort_component(&mut out, sort);
    }
    out
}

/// The key of the item with this sort key value: the bound to use for `=`, `<`, `<=`, `>`,
/// `>=` and `BETWEEN` conditions on the sort key (the sort component is the key's end, so the
/// item with sort key `v` has exactly this key).
pub fn sort_key_bound(
    table_id: &Uuid,
    partition: &AttributeValue,
    sort: &AttributeValue,
) -> Vec<u8> {
    encode_item_key(table_id, partition, Some(sort))
}

/// The key range of the items of a partition whose S or B sort key begins with `prefix`.
pub fn begins_with_range(
    table_id: &Uuid,
    partition: &AttributeValue,
    prefix: &AttributeValue,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    prefix_range(&sort_key_bound(table_id, partition, prefix))
}

/// The key range of the items of one partition.
pub fn partition_range(
    table_id: &Uuid,
    partition: &AttributeValue,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    prefix_range(&partition_prefix(table_id, partition))
}

/// The range of every byte string that starts with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let upper = match prefix_successor(prefix) {
        Some(next) => Bound::Excluded(next),
        None => Bound::Unbounded,
    };
    (Bound::Included(prefix.to_vec()), upper)
}

/// The smallest byte string greater than every string that starts with `prefix`, or `None`
/// if there is none (the prefix is empty or all `0xFF`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < 0xFF {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

/// Whether `key` lies within `(lower, upper)`.
pub fn in_range(key: &[u8], lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let above = match lower {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(u) => key <= u.as_slice(),
        Bound::Excluded(u) => key < u.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
