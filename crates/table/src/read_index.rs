//! Query and Scan with IndexName: range reads over an index's entries (see `indexes` for their
//! layout), with DynamoDB's rules for what an index read may ask for. A local secondary index
//! fetches attributes it does not project from the table, as DynamoDB does; a global one
//! returns only what it projects.

use std::ops::Bound;

use expr::{KeyOp, Path};
use model::size::item_size;
use model::{AttributeValue, IndexMeta, Item, ProjectionType, ScalarType, TableMeta};
use storage::{Space, Store};

use crate::error::{Rejection, TableError};
use crate::indexes::{decode_entry, entry_key, entry_key_item, partition_prefix, projects};
use crate::key::{decode_item, key_of_item};
use crate::multi_key::item_partition_prefix;
use crate::read::{
    compare_scalar, page_of, scalar_text, segment_of, type_mismatch, PageOutput, QueryInput,
    ReadResult, ScanInput, Select,
};

/// How a read finds its index, or the rejection DynamoDB gives.
fn resolve<'a>(meta: &'a TableMeta, name: &str) -> Result<&'a IndexMeta, Rejection> {
    let index = meta.index(name).ok_or_else(|| {
        Rejection::validation(format!(
            "The table does not have the specified index: {name}"
        ))
    })?;
    if index.backfilling {
        return Err(Rejection::validation(format!(
            "Cannot read from backfilling global secondary index: {name}"
        )));
    }
    Ok(index)
}

fn is_local(meta: &TableMeta, index: &IndexMeta) -> bool {
    meta.local_indexes.iter().any(|i| i.id == index.id)
}

/// Whether each entry must be completed from the table: a local index read that asks for
/// attributes the index does not hold. For a global index such a Select is refused.
fn needs_table(
    meta: &TableMeta,
    index: &IndexMeta,
    select: Select,
    projection: Option<&[Path]>,
) -> Result<bool, Rejection> {
    let wants_more = match select {
        Select::AllAttributes => index.projection != ProjectionType::All,
        Select::SpecificAttributes => projection.is_some_and(|paths| {
            paths
                .iter()
                .any(|p| p.top().is_some_and(|name| !projects(meta, index, name)))
        }),
        Select::Count | Select::AllProjectedAttributes => false,
    };
    if !wants_more {
        return Ok(false);
    }
    if is_local(meta, index) {
        return Ok(true);
    }
    if select == Select::AllAttributes {
        return Err(Rejection::validation(format!(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
            index.name
        )));
    }
    // A projection naming attributes a global index lacks returns what the index has.
    Ok(false)
}

/// How an index read gets its items.
struct Plan {
    /// Complete each entry from the table.
    fetch: bool,
    /// The projection to apply when items are fetched only to evaluate the filter: what the
    /// index projects, so the answer is what an index read returns.
    projection: Option<Vec<Path>>,
}

/// A local index read whose filter names attributes the index does not hold fetches them from
/// the table, as DynamoDB does, but still answers with the projected attributes only.
fn plan(
    meta: &TableMeta,
    index: &IndexMeta,
    select: Select,
    projection: Option<&[Path]>,
    filter: Option<&expr::Condition>,
) -> Result<Plan, Rejection> {
    let for_output = needs_table(meta, index, select, projection)?;
    let for_filter = is_local(meta, index)
        && filter.is_some_and(|f| {
            f.paths()
                .iter()
                .any(|p| p.top().is_some_and(|name| !projects(meta, index, name)))
        });
    let projection = (for_filter && !for_output && select == Select::AllProjectedAttributes)
        .then(|| projected_paths(meta, index));
    Ok(Plan {
        fetch: for_output || for_filter,
        projection,
    })
}

/// The attributes an index holds (never called for ALL, which holds everything).
fn projected_paths(meta: &TableMeta, index: &IndexMeta) -> Vec<Path> {
    let mut names: Vec<&str> = meta
        .key_schema
        .attributes()
        .chain(index.key_schema.attributes())
        .map(|a| a.name.as_str())
        .collect();
    if index.projection == ProjectionType::Include {
        names.extend(index.non_key_attributes.iter().map(String::as_str));
    }
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(Path::attribute).collect()
}

/// Decoded entries of an index range, completed from the table when `fetch` is set.
fn entries<'a>(
    store: &'a Store,
    meta: &'a TableMeta,
    iter: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), storage::StorageError>> + 'a,
    fetch: bool,
) -> impl Iterator<Item = Result<(Item, usize), TableError>> + 'a {
    iter.map(move |entry| {
        let (_, bytes) = entry?;
        let item = decode_entry(&bytes)?;
        let size = item_size(&item);
        if !fetch {
            return Ok((item, size));
        }
        let Ok(key) = key_of_item(&meta.key_schema, &item) else {
            return Ok((item, size));
        };
        match store.get(Space::Items, &key.storage_key(meta))? {
            Some(bytes) => {
                let full = decode_item(&bytes)?;
                let full_size = item_size(&full);
                Ok((full, size + full_size))
            }
            None => Ok((item, size)),
        }
    })
}

fn invalid_start_key() -> Rejection {
    Rejection::validation(
        "The provided starting key is invalid: The provided key element does not match the schema",
    )
}

/// The storage key of an ExclusiveStartKey on an index: it must hold the table key and the
/// index key, with their types.
fn start_key(meta: &TableMeta, index: &IndexMeta, start: &Item) -> Result<Vec<u8>, Rejection> {
    let expected = entry_key_item(meta, index, start);
    if expected.len() != start.len() || key_of_item(&meta.key_schema, start).is_err() {
        return Err(invalid_start_key());
    }
    entry_key(meta, index, start).ok_or_else(invalid_start_key)
}

fn successor(key: Vec<u8>) -> Bound<Vec<u8>> {
    match storage::keys::prefix_successor(&key) {
        Some(next) => Bound::Excluded(next),
        None => Bound::Unbounded,
    }
}

/// A Query's checked key conditions: a single-attribute key's partition value and sort key
/// condition, or a multi-attribute key's.
enum Conditions<'a> {
    Single(AttributeValue, Option<&'a KeyOp>),
    Multi(crate::multi_key::Conditions<'a>),
}

/// Query on an index.
pub(crate) fn query(
    store: &Store,
    meta: &TableMeta,
    name: &str,
    input: &QueryInput,
) -> ReadResult<PageOutput> {
    let index = match resolve(meta, name) {
        Ok(index) => index,
        Err(r) => return Ok(Err(r)),
    };
    let schema = &index.key_schema;
    let conditions = if schema.is_multi_attribute() {
        crate::multi_key::key_conditions(schema, &input.key_conditions, input.filter.as_ref())
            .map(Conditions::Multi)
    } else {
        crate::read::key_conditions(schema, input).map(|(p, s)| Conditions::Single(p, s))
    };
    let conditions = match conditions {
        Ok(conditions) => conditions,
        Err(r) => return Ok(Err(r)),
    };
    let plan = match plan(
        meta,
        index,
        input.select,
        input.projection.as_deref(),
        input.filter.as_ref(),
    ) {
        Ok(plan) => plan,
        Err(r) => return Ok(Err(r)),
    };
    // The prefix the equality conditions fix, and the condition on the next sort attribute.
    let (prefix, range) = match &conditions {
        Conditions::Single(partition, sort) => (
            partition_prefix(index, partition),
            sort.zip(schema.sort.as_ref()),
        ),
        Conditions::Multi(c) => (c.prefix(index), c.range),
    };
    let mut lower = Bound::Included(prefix.clone());
    let mut upper = successor(prefix.clone());
    if let Some((op, sort_attr)) = range {
        let scalar = sort_attr.scalar;
        let check = |v: &AttributeValue| scalar.matches(v);
        let at = |v: &AttributeValue| {
            let mut key = prefix.clone();
            storage::keys::encode_partition_component(&mut key, v);
            key
        };
        match op {
            KeyOp::Eq(v) if check(v) => {
                lower = Bound::Included(at(v));
                upper = successor(at(v));
            }
            KeyOp::Lt(v) if check(v) => upper = Bound::Excluded(at(v)),
            KeyOp::Le(v) if check(v) => upper = successor(at(v)),
            KeyOp::Gt(v) if check(v) => {
                lower = match successor(at(v)) {
                    Bound::Excluded(next) => Bound::Included(next),
                    other => other,
                }
            }
            KeyOp::Ge(v) if check(v) => lower = Bound::Included(at(v)),
            KeyOp::Between(lo, hi) if check(lo) && check(hi) => {
                if compare_scalar(lo, hi) == std::cmp::Ordering::Greater {
                    return Ok(Err(Rejection::validation(format!(
                        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{{}:{}}}, upper bound operand: AttributeValue: {{{}:{}}}",
                        lo.type_name(), scalar_text(lo), hi.type_name(), scalar_text(hi)
                    ))));
                }
                lower = Bound::Included(at(lo));
                upper = successor(at(hi));
            }
            KeyOp::BeginsWith(v) if check(v) => {
                if scalar == ScalarType::N {
                    return Ok(Err(Rejection::validation(
                        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                    )));
                }
                // The escaped, unterminated value: a byte prefix of every longer one.
                let mut p = at(v);
                p.truncate(p.len() - 2);
                lower = Bound::Included(p.clone());
                upper = successor(p);
            }
            _ => return Ok(Err(type_mismatch())),
        }
    }
    if let Some(start) = &input.exclusive_start_key {
        let key = match start_key(meta, index, start) {
            Ok(key) => key,
            Err(r) => return Ok(Err(r)),
        };
        let fits = match &conditions {
            Conditions::Single(partition, sort) => {
                crate::read::check_start_in_query(schema, partition, *sort, start)
            }
            Conditions::Multi(c) => c.check_start(schema, start),
        };
        if let Err(r) = fits {
            return Ok(Err(r));
        }
        if input.forward {
            lower = Bound::Excluded(key);
        } else {
            upper = Bound::Excluded(key);
        }
    }
    let iter = store.range(Space::Indexes, lower, upper, !input.forward);
    page_of(
        entries(store, meta, iter, plan.fetch),
        input.filter.as_ref(),
        plan.projection.as_deref().or(input.projection.as_deref()),
        input.select,
        input.limit,
        |_| true,
        |item: &Item| entry_key_item(meta, index, item),
    )
}

/// Scan of an index.
pub(crate) fn scan(
    store: &Store,
    meta: &TableMeta,
    name: &str,
    input: &ScanInput,
) -> ReadResult<PageOutput> {
    let index = match resolve(meta, name) {
        Ok(index) => index,
        Err(r) => return Ok(Err(r)),
    };
    let plan = match plan(
        meta,
        index,
        input.select,
        input.projection.as_deref(),
        input.filter.as_ref(),
    ) {
        Ok(plan) => plan,
        Err(r) => return Ok(Err(r)),
    };
    let prefix = index.id.as_bytes().to_vec();
    let mut lower = Bound::Included(prefix.clone());
    if let Some(start) = &input.exclusive_start_key {
        match start_key(meta, index, start) {
            Ok(key) => lower = Bound::Excluded(key),
            Err(r) => return Ok(Err(r)),
        }
        if let (Some(segment), Some(prefix)) = (input.segment, item_partition_prefix(index, start))
        {
            if let Err(r) = crate::read::check_start_in_segment(&prefix, segment) {
                return Ok(Err(r));
            }
        }
    }
    let iter = store.range(Space::Indexes, lower, successor(prefix), false);
    let in_segment = move |item: &Item| match (input.segment, item_partition_prefix(index, item)) {
        (Some((segment, total)), Some(prefix)) => segment_of(&prefix, total) == segment,
        _ => true,
    };
    page_of(
        entries(store, meta, iter, plan.fetch),
        input.filter.as_ref(),
        plan.projection.as_deref().or(input.projection.as_deref()),
        input.select,
        input.limit,
        in_segment,
        |item: &Item| entry_key_item(meta, index, item),
    )
}
