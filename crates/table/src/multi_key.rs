//! Index keys made of several attributes (a global secondary index's multi-attribute key: up
//! to four partition and four sort key attributes), and Query's key conditions on them.
//!
//! **Encoding.** An index entry's key is `index id ‖ P(p1) ‖ … ‖ P(pn) ‖ P(s1) ‖ … ‖ P(sm) ‖
//! P(table partition) ‖ [S(table sort)]`, where `P` is the self-delimiting component of
//! `storage::keys` (type tag, bytes with `0x00` escaped as `0x00 0xFF`, terminator `0x00
//! 0x00`). Each `P` preserves its type's order (S and B by unsigned bytes, N numerically
//! through `Number::encode_ordered`) and no component's encoding is a proper prefix of
//! another's, so comparing two concatenations compares the first differing attribute: entries
//! sort by the partition attributes, then lexicographically by the sort attributes in KeySchema
//! order, then by table key. A single-attribute key (n = 1, m ≤ 1) is the special case, byte
//! for byte the layout indexes always had, so existing entries read unchanged.
//!
//! **Queries.** Equality on every partition attribute and on a prefix of the sort attributes
//! fixes a key prefix; a range condition on the next sort attribute bounds the next component
//! within it, exactly as a single sort key's condition does (`read_index::query`).

use expr::{KeyOp, KeyPredicate};
use model::{AttributeValue, IndexMeta, Item, KeyAttribute, KeySchema};

use crate::error::Rejection;
use crate::read::type_mismatch;

/// The index key values of `item` in KeySchema order, or None when one is missing or has the
/// wrong type: such an item is not in the index.
pub(crate) fn key_values<'a>(
    schema: &KeySchema,
    item: &'a Item,
) -> Option<Vec<&'a AttributeValue>> {
    schema
        .attributes()
        .map(|a| item.get(&a.name).filter(|v| a.scalar.matches(v)))
        .collect()
}

/// Appends the composite encoding of `values`, one self-delimiting component each.
pub fn encode_composite<'a>(
    out: &mut Vec<u8>,
    values: impl IntoIterator<Item = &'a AttributeValue>,
) {
    for value in values {
        storage::keys::encode_partition_component(out, value);
    }
}

/// The prefix of an index's entries with these values of its leading key attributes (all
/// partition attributes, optionally followed by leading sort attributes).
pub fn composite_prefix<'a>(
    index: &IndexMeta,
    values: impl IntoIterator<Item = &'a AttributeValue>,
) -> Vec<u8> {
    let mut out = index.id.as_bytes().to_vec();
    encode_composite(&mut out, values);
    out
}

/// The encoded index partition of `item` (what Scan's segments hash), if it has every
/// partition attribute. For a single-attribute key this is `indexes::partition_prefix`.
pub fn item_partition_prefix(index: &IndexMeta, item: &Item) -> Option<Vec<u8>> {
    let values: Option<Vec<&AttributeValue>> = index
        .key_schema
        .partition_attributes()
        .map(|a| item.get(&a.name))
        .collect();
    Some(composite_prefix(index, values?))
}

/// A Query's key conditions on a multi-attribute key, checked.
#[derive(Debug)]
pub(crate) struct Conditions<'a> {
    /// The value of every partition attribute, in order.
    pub partition: Vec<AttributeValue>,
    /// Equality values of the leading sort attributes, in order.
    pub sort_eq: Vec<AttributeValue>,
    /// The condition on the sort attribute after them, if any, with that attribute.
    pub range: Option<(&'a KeyOp, &'a KeyAttribute)>,
}

impl Conditions<'_> {
    /// The key prefix the equality conditions fix.
    pub fn prefix(&self, index: &IndexMeta) -> Vec<u8> {
        composite_prefix(index, self.partition.iter().chain(&self.sort_eq))
    }

    /// Checks an ExclusiveStartKey (already known to hold every key attribute with its type)
    /// against the conditions.
    pub fn check_start(&self, schema: &KeySchema, start: &Item) -> Result<(), Rejection> {
        let sorts: Vec<&KeyAttribute> = schema.sort_attributes().collect();
        let eq_fits = sorts
            .iter()
            .zip(&self.sort_eq)
            .all(|(a, v)| start.get(&a.name) == Some(v));
        let range_fits = self.range.is_none_or(|(op, attr)| {
            start.get(&attr.name).is_some_and(|v| {
                KeyPredicate {
                    attribute: attr.name.clone(),
                    op: op.clone(),
                }
                .matches(v)
            })
        });
        if !eq_fits || !range_fits {
            return Err(Rejection::validation(
                "The provided starting key does not match the range key predicate",
            ));
        }
        let same_partition = schema
            .partition_attributes()
            .zip(&self.partition)
            .all(|(a, v)| start.get(&a.name) == Some(v));
        if !same_partition {
            return Err(Rejection::validation(
                "The provided starting key is outside query boundaries based on provided conditions",
            ));
        }
        Ok(())
    }
}

fn missed(name: &str) -> Rejection {
    Rejection::validation(format!("Query condition missed key schema element: {name}"))
}

fn not_supported() -> Rejection {
    Rejection::validation("Query key condition not supported")
}

fn op_values(op: &KeyOp) -> Vec<&AttributeValue> {
    match op {
        KeyOp::Between(low, high) => vec![low, high],
        KeyOp::Eq(v)
        | KeyOp::Lt(v)
        | KeyOp::Le(v)
        | KeyOp::Gt(v)
        | KeyOp::Ge(v)
        | KeyOp::BeginsWith(v) => {
            vec![v]
        }
    }
}

/// Checks a Query's key conditions against a multi-attribute key, DynamoDB's rules: equality
/// on every partition attribute; on the sort attributes, left to right, equality on a prefix
/// optionally followed by one condition (`<`, `<=`, `>`, `>=`, BETWEEN, begins_with) on the
/// next attribute, and nothing after it. A filter may not name a key attribute of the index.
pub(crate) fn key_conditions<'a>(
    schema: &'a KeySchema,
    predicates: &'a [KeyPredicate],
    filter: Option<&expr::Condition>,
) -> Result<Conditions<'a>, Rejection> {
    let partitions: Vec<&KeyAttribute> = schema.partition_attributes().collect();
    let sorts: Vec<&'a KeyAttribute> = schema.sort_attributes().collect();
    let mut partition: Vec<Option<&AttributeValue>> = vec![None; partitions.len()];
    let mut sort: Vec<Option<&'a KeyOp>> = vec![None; sorts.len()];
    let mut unknown = false;
    for predicate in predicates {
        if let Some(i) = partitions
            .iter()
            .position(|a| a.name == predicate.attribute)
        {
            let KeyOp::Eq(value) = &predicate.op else {
                return Err(not_supported());
            };
            if !partitions[i].scalar.matches(value) {
                return Err(type_mismatch());
            }
            crate::key::check_key_size(value, false)?;
            partition[i] = Some(value);
        } else if let Some(j) = sorts.iter().position(|a| a.name == predicate.attribute) {
            for value in op_values(&predicate.op) {
                crate::key::check_key_size(value, true)?;
            }
            sort[j] = Some(&predicate.op);
        } else {
            unknown = true;
        }
    }
    if let Some(i) = partition.iter().position(Option::is_none) {
        return Err(missed(&partitions[i].name));
    }
    // Sort conditions must cover a prefix of the sort attributes: name the first one skipped.
    let used = sort
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |last| last + 1);
    if let Some(gap) = sort[..used].iter().position(Option::is_none) {
        return Err(missed(&sorts[gap].name));
    }
    if unknown {
        let name = sorts
            .get(used)
            .map_or(partitions[0].name.as_str(), |a| a.name.as_str());
        return Err(missed(name));
    }
    // Only the last sort condition may be something other than equality.
    if sort[..used.saturating_sub(1)]
        .iter()
        .any(|op| !matches!(op, Some(KeyOp::Eq(_))))
    {
        return Err(not_supported());
    }
    // The equality prefix goes into the key prefix; the last condition, unless it is an
    // equality too, bounds the next component (`read_index::query` checks it as it would a
    // single sort key's).
    let mut sort_eq = Vec::with_capacity(used);
    let mut range = None;
    for (j, op) in sort[..used].iter().flatten().enumerate() {
        match op {
            KeyOp::Eq(v) if sorts[j].scalar.matches(v) => sort_eq.push(v.clone()),
            KeyOp::Eq(_) => return Err(type_mismatch()),
            _ => range = Some((*op, sorts[j])),
        }
    }
    if let Some(filter) = filter {
        let key_path = filter
            .paths()
            .into_iter()
            .find_map(|p| p.top().filter(|name| schema.is_key_attribute(name)));
        if let Some(name) = key_path {
            return Err(Rejection::validation(format!(
                "Filter Expression can only contain non-primary key attributes: Primary key attribute: {name}"
            )));
        }
    }
    Ok(Conditions {
        partition: partition.into_iter().flatten().cloned().collect(),
        sort_eq,
        range,
    })
}
