//! Reads on one replica: GetItem, Query and Scan with key conditions, filters, projections,
//! Limit, ExclusiveStartKey and the 1 MB page limit.

use std::ops::Bound;

use expr::{Condition, KeyOp, KeyPredicate, Path};
use model::limits::PAGE_SIZE_BYTES_MAX;
use model::size::item_size;
use model::{AttributeValue, Item, KeySchema, ScalarType, TableMeta};
use storage::{Space, Store};

use crate::catalog::load_table;
use crate::command::ItemGet;
use crate::error::{Rejection, TableError};
use crate::key::{decode_item, key_item, key_of_request};

/// Select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Select {
    #[default]
    AllAttributes,
    SpecificAttributes,
    Count,
    /// ALL_PROJECTED_ATTRIBUTES: the default when reading an index.
    AllProjectedAttributes,
}

/// GetItem's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct GetOutput {
    /// The item, projected.
    pub item: Option<Item>,
    /// The full item's size, for capacity units.
    pub size: usize,
}

/// A Query.
#[derive(Debug, Clone)]
pub struct QueryInput {
    pub table: String,
    pub key_conditions: Vec<KeyPredicate>,
    pub filter: Option<Condition>,
    pub projection: Option<Vec<Path>>,
    pub select: Select,
    pub limit: Option<usize>,
    pub exclusive_start_key: Option<Item>,
    pub forward: bool,
    /// IndexName: query this secondary index instead of the table.
    pub index: Option<String>,
}

/// A Scan (or one segment of a parallel scan).
#[derive(Debug, Clone)]
pub struct ScanInput {
    pub table: String,
    pub filter: Option<Condition>,
    pub projection: Option<Vec<Path>>,
    pub select: Select,
    pub limit: Option<usize>,
    pub exclusive_start_key: Option<Item>,
    /// (Segment, TotalSegments).
    pub segment: Option<(u32, u32)>,
    /// IndexName: scan this secondary index instead of the table.
    pub index: Option<String>,
}

/// One page of a Query or Scan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageOutput {
    /// Matching items, projected (empty for Select COUNT).
    pub items: Vec<Item>,
    pub count: usize,
    pub scanned_count: usize,
    pub last_evaluated_key: Option<Item>,
    /// Bytes read, for capacity units.
    pub scanned_bytes: usize,
}

pub(crate) type ReadResult<T> = Result<Result<T, Rejection>, TableError>;

pub(crate) fn table_or_reject(store: &Store, name: &str) -> ReadResult<TableMeta> {
    Ok(load_table(store, name)?
        .ok_or_else(|| Rejection::ResourceNotFound("Requested resource not found".into())))
}

/// GetItem.
pub fn get_item(store: &Store, get: &ItemGet) -> ReadResult<GetOutput> {
    let meta = match table_or_reject(store, &get.table)? {
        Ok(meta) => meta,
        Err(r) => return Ok(Err(r)),
    };
    let key = match key_of_request(&meta.key_schema, &get.key) {
        Ok(key) => key,
        Err(r) => return Ok(Err(r)),
    };
    let Some(bytes) = store.get(Space::Items, &key.storage_key(&meta))? else {
        return Ok(Ok(GetOutput {
            item: None,
            size: 0,
        }));
    };
    let item = decode_item(&bytes)?;
    let size = item_size(&item);
    let item = match &get.projection {
        Some(paths) => expr::project(&item, paths),
        None => item,
    };
    Ok(Ok(GetOutput {
        item: Some(item),
        size,
    }))
}

/// The smallest byte string greater than every string that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    storage::keys::prefix_range(prefix).1
}

pub(crate) fn type_mismatch() -> Rejection {
    Rejection::validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
}

/// A Query's key conditions against `schema` (a table's or an index's): the partition key
/// value and the sort key condition, if any. Also refuses a filter on a key attribute.
pub(crate) fn key_conditions<'a>(
    schema: &KeySchema,
    input: &'a QueryInput,
) -> Result<(AttributeValue, Option<&'a KeyOp>), Rejection> {
    // A single-attribute key takes a partition and a sort condition (multi-attribute keys
    // are `multi_key`'s).
    if input.key_conditions.len() > 2 {
        return Err(Rejection::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    let missed = || {
        Rejection::validation(format!(
            "Query condition missed key schema element: {}",
            schema.partition.name
        ))
    };
    let mut partition = None;
    let mut sort = None;
    for predicate in &input.key_conditions {
        if predicate.attribute == schema.partition.name {
            let KeyOp::Eq(value) = &predicate.op else {
                return Err(Rejection::validation("Query key condition not supported"));
            };
            if !schema.partition.scalar.matches(value) {
                return Err(type_mismatch());
            }
            crate::key::check_key_size(value, false)?;
            partition = Some(value.clone());
        } else if schema
            .sort
            .as_ref()
            .is_some_and(|s| s.name == predicate.attribute)
        {
            let values = match &predicate.op {
                KeyOp::Between(low, high) => vec![low, high],
                KeyOp::Eq(v)
                | KeyOp::Lt(v)
                | KeyOp::Le(v)
                | KeyOp::Gt(v)
                | KeyOp::Ge(v)
                | KeyOp::BeginsWith(v) => vec![v],
            };
            for value in values {
                crate::key::check_key_size(value, true)?;
            }
            sort = Some(&predicate.op);
        } else {
            return Err(missed());
        }
    }
    let partition = partition.ok_or_else(missed)?;
    if let Some(filter) = &input.filter {
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
    Ok((partition, sort))
}

/// Query.
pub fn query(store: &Store, input: &QueryInput) -> ReadResult<PageOutput> {
    let meta = match table_or_reject(store, &input.table)? {
        Ok(meta) => meta,
        Err(r) => return Ok(Err(r)),
    };
    if let Some(index) = &input.index {
        return crate::read_index::query(store, &meta, index, input);
    }
    let schema = &meta.key_schema;
    let (partition, sort) = match key_conditions(schema, input) {
        Ok(parts) => parts,
        Err(r) => return Ok(Err(r)),
    };
    let prefix = storage::keys::partition_prefix(&meta.id, &partition);
    let key_at = |v: &AttributeValue| storage::keys::encode_item_key(&meta.id, &partition, Some(v));
    let mut lower = Bound::Included(prefix.clone());
    let mut upper = prefix_end(&prefix);
    if let (Some(op), Some(sort_attr)) = (sort, schema.sort.as_ref()) {
        let scalar = sort_attr.scalar;
        let check = |v: &AttributeValue| scalar.matches(v);
        match op {
            KeyOp::Eq(v) if check(v) => {
                lower = Bound::Included(key_at(v));
                upper = Bound::Included(key_at(v));
            }
            KeyOp::Lt(v) if check(v) => upper = Bound::Excluded(key_at(v)),
            KeyOp::Le(v) if check(v) => upper = Bound::Included(key_at(v)),
            KeyOp::Gt(v) if check(v) => lower = Bound::Excluded(key_at(v)),
            KeyOp::Ge(v) if check(v) => lower = Bound::Included(key_at(v)),
            KeyOp::Between(lo, hi) if check(lo) && check(hi) => {
                if compare_scalar(lo, hi) == std::cmp::Ordering::Greater {
                    return Ok(Err(Rejection::validation(format!(
                        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{{}:{}}}, upper bound operand: AttributeValue: {{{}:{}}}",
                        lo.type_name(), scalar_text(lo), hi.type_name(), scalar_text(hi)
                    ))));
                }
                lower = Bound::Included(key_at(lo));
                upper = Bound::Included(key_at(hi));
            }
            KeyOp::BeginsWith(v) if check(v) => {
                if scalar == ScalarType::N {
                    return Ok(Err(Rejection::validation(
                        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                    )));
                }
                (lower, upper) = storage::keys::begins_with_range(&meta.id, &partition, v);
            }
            _ => return Ok(Err(type_mismatch())),
        }
    }
    if let Some(start) = &input.exclusive_start_key {
        let key = match key_of_request(schema, start) {
            Ok(key) => key,
            _ => return Ok(Err(Rejection::validation("The provided starting key is invalid: The provided key element does not match the schema"))),
        };
        if let Err(r) = check_start_in_query(schema, &partition, sort, start) {
            return Ok(Err(r));
        }
        let start_key = key.storage_key(&meta);
        if input.forward {
            lower = Bound::Excluded(start_key);
        } else {
            upper = Bound::Excluded(start_key);
        }
    }
    let iter = store.range(Space::Items, lower, upper, !input.forward);
    page(
        &meta,
        iter,
        input.filter.as_ref(),
        input.projection.as_deref(),
        input.select,
        input.limit,
        |_| true,
    )
}

/// Scan.
pub fn scan(store: &Store, input: &ScanInput) -> ReadResult<PageOutput> {
    let meta = match table_or_reject(store, &input.table)? {
        Ok(meta) => meta,
        Err(r) => return Ok(Err(r)),
    };
    if let Some(index) = &input.index {
        return crate::read_index::scan(store, &meta, index, input);
    }
    let prefix = storage::keys::table_prefix(&meta.id);
    let mut lower = Bound::Included(prefix.clone());
    if let Some(start) = &input.exclusive_start_key {
        match key_of_request(&meta.key_schema, start) {
            Ok(key) => {
                if let Some(segment) = input.segment {
                    let prefix = storage::keys::partition_prefix(&meta.id, &key.partition);
                    if let Err(r) = check_start_in_segment(&prefix, segment) {
                        return Ok(Err(r));
                    }
                }
                lower = Bound::Excluded(key.storage_key(&meta));
            }
            Err(_) => {
                return Ok(Err(Rejection::validation(
                    "The provided starting key is invalid: The provided key element does not match the schema",
                )))
            }
        }
    }
    let iter = store.range(Space::Items, lower, prefix_end(&prefix), false);
    let partition_name = meta.key_schema.partition.name.clone();
    let table_id = meta.id;
    let in_segment = move |item: &Item| match (input.segment, item.get(&partition_name)) {
        (Some((segment, total)), Some(pk)) => {
            segment_of(&storage::keys::partition_prefix(&table_id, pk), total) == segment
        }
        _ => true,
    };
    page(
        &meta,
        iter,
        input.filter.as_ref(),
        input.projection.as_deref(),
        input.select,
        input.limit,
        in_segment,
    )
}

/// DynamoDB's refusals of a Query's ExclusiveStartKey (already checked against the key
/// schema) that lies outside what the query reads: a sort key the sort key condition excludes,
/// or another partition.
pub(crate) fn check_start_in_query(
    schema: &KeySchema,
    partition: &AttributeValue,
    sort: Option<&KeyOp>,
    start: &Item,
) -> Result<(), Rejection> {
    let same_partition = start.get(&schema.partition.name) == Some(partition);
    match (sort, schema.sort.as_ref()) {
        (Some(op), Some(sort_attr)) => {
            if start
                .get(&sort_attr.name)
                .is_some_and(|v| !key_op_matches(op, v))
            {
                return Err(Rejection::validation(
                    "The provided starting key does not match the range key predicate",
                ));
            }
            // DynamoDB's wording when the sort key fits but the partition does not.
            if !same_partition {
                return Err(Rejection::validation(
                    "The query can return at most one row and cannot be restarted",
                ));
            }
        }
        _ if !same_partition => return Err(Rejection::validation(
            "The provided starting key is outside query boundaries based on provided conditions",
        )),
        _ => {}
    }
    Ok(())
}

/// Whether a sort key value satisfies a sort key condition (of the same scalar type).
fn key_op_matches(op: &KeyOp, v: &AttributeValue) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let cmp = |bound: &AttributeValue| {
        (std::mem::discriminant(v) == std::mem::discriminant(bound))
            .then(|| compare_scalar(v, bound))
    };
    match op {
        KeyOp::Eq(b) => cmp(b) == Some(Equal),
        KeyOp::Lt(b) => cmp(b) == Some(Less),
        KeyOp::Le(b) => matches!(cmp(b), Some(Less | Equal)),
        KeyOp::Gt(b) => cmp(b) == Some(Greater),
        KeyOp::Ge(b) => matches!(cmp(b), Some(Greater | Equal)),
        KeyOp::Between(lo, hi) => {
            matches!(cmp(lo), Some(Greater | Equal)) && matches!(cmp(hi), Some(Less | Equal))
        }
        KeyOp::BeginsWith(prefix) => match (v, prefix) {
            (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
            (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
            _ => false,
        },
    }
}

/// DynamoDB's refusal of a parallel Scan's ExclusiveStartKey whose partition (given encoded,
/// as `segment_of` takes it) belongs to another segment.
pub(crate) fn check_start_in_segment(
    encoded_partition: &[u8],
    (segment, total): (u32, u32),
) -> Result<(), Rejection> {
    if segment_of(encoded_partition, total) == segment {
        return Ok(());
    }
    Err(Rejection::validation(format!(
        "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: {total} Segment: {segment}"
    )))
}

/// Which of `total` segments a partition belongs to (FNV-1a of its encoded key).
pub(crate) fn segment_of(encoded_partition: &[u8], total: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in encoded_partition {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(total.max(1))) as u32
}

fn page(
    meta: &TableMeta,
    iter: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), storage::StorageError>>,
    filter: Option<&Condition>,
    projection: Option<&[Path]>,
    select: Select,
    limit: Option<usize>,
    in_segment: impl Fn(&Item) -> bool,
) -> ReadResult<PageOutput> {
    let items = iter.map(|entry| {
        let (_, bytes) = entry?;
        let item = decode_item(&bytes)?;
        let size = item_size(&item);
        Ok((item, size))
    });
    page_of(
        items,
        filter,
        projection,
        select,
        limit,
        in_segment,
        |item: &Item| key_item(&meta.key_schema, item),
    )
}

/// One page over already decoded items, each with the bytes it counts as read.
pub(crate) fn page_of(
    items: impl Iterator<Item = Result<(Item, usize), TableError>>,
    filter: Option<&Condition>,
    projection: Option<&[Path]>,
    select: Select,
    limit: Option<usize>,
    in_segment: impl Fn(&Item) -> bool,
    last_key_of: impl Fn(&Item) -> Item,
) -> ReadResult<PageOutput> {
    let mut out = PageOutput::default();
    for entry in items {
        let (item, size) = entry?;
        if !in_segment(&item) {
            continue;
        }
        out.scanned_count += 1;
        out.scanned_bytes += size;
        let matched = match filter {
            Some(condition) => match condition.evaluate(&item) {
                Ok(m) => m,
                Err(e) => return Ok(Err(Rejection::validation(e.to_string()))),
            },
            None => true,
        };
        // Like DynamoDB, a page that stops at Limit or at 1 MB carries a LastEvaluatedKey even
        // when nothing follows; the next page is then empty.
        let full = limit.is_some_and(|l| out.scanned_count >= l)
            || out.scanned_bytes >= PAGE_SIZE_BYTES_MAX;
        let last_key = full.then(|| last_key_of(&item));
        if matched {
            out.count += 1;
            if select != Select::Count {
                out.items.push(match projection {
                    Some(paths) => expr::project(&item, paths),
                    None => item,
                });
            }
        }
        if last_key.is_some() {
            out.last_evaluated_key = last_key;
            break;
        }
    }
    Ok(Ok(out))
}

pub(crate) fn compare_scalar(a: &AttributeValue, b: &AttributeValue) -> std::cmp::Ordering {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => x.as_bytes().cmp(y.as_bytes()),
        (AttributeValue::N(x), AttributeValue::N(y)) => x.cmp(y),
        (AttributeValue::B(x), AttributeValue::B(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    }
}

pub(crate) fn scalar_text(v: &AttributeValue) -> String {
    match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}
