//! BatchGetItem and BatchWriteItem.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use model::limits::{BATCH_GET_KEYS_MAX, BATCH_GET_RESPONSE_BYTES_MAX, BATCH_WRITE_REQUESTS_MAX};
use model::size::item_size;
use model::{item_from_json, Item, KeySchema};
use table::{Command, ItemGet, ItemWrite, Outcome, ReturnValues, WriteKind};

use crate::capacity::{CapacityMode, Consumed, PerTable};
use crate::error::ApiError;
use crate::exprs::Names;
use crate::items::read_projection;
use crate::request::{json_body, propose};
use crate::tables::load;
use crate::validate::Violations;
use crate::wire::{self, parse_body, shown, ItemList};
use crate::Region;

const DUPLICATE_KEYS: &str = "Provided list of item keys contains duplicates";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGetWire {
    request_items: Option<BTreeMap<String, KeysAndAttributesWire>>,
    return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeysAndAttributesWire {
    keys: Option<Vec<Value>>,
    attributes_to_get: Option<Value>,
    consistent_read: Option<bool>,
    projection_expression: Option<String>,
    expression_attribute_names: Option<Names>,
}

/// One table's part of a BatchGetItem.
#[derive(Debug)]
struct GetTable {
    /// The RequestItems key as given (a name or a table ARN): what the response is keyed by.
    name: String,
    /// The table's name.
    table: String,
    keys: Vec<Item>,
    projection: Option<Vec<expr::Path>>,
    consistent: bool,
    /// The members to echo back in UnprocessedKeys.
    projection_expression: Option<String>,
    names: Option<Names>,
    attributes_to_get: Option<Value>,
}

/// A validated BatchGetItem.
#[derive(Debug)]
pub struct BatchGetRequest {
    tables: Vec<GetTable>,
    capacity: CapacityMode,
}

/// Decodes and validates BatchGetItem.
pub(crate) fn decode_get(body: &[u8]) -> Result<BatchGetRequest, ApiError> {
    let wire: BatchGetWire = parse_body(body)?;
    let mut v = Violations::new();
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    let Some(request_items) = wire.request_items else {
        v.null("requestItems");
        v.finish()?;
        return Err(ApiError::validation("RequestItems must not be null"));
    };
    if request_items.is_empty() {
        v.length("requestItems", "{}", 0, 1, usize::MAX);
    }
    let mut resolved = Vec::with_capacity(request_items.len());
    for (name, entry) in &request_items {
        resolved.push(v.table_name("requestItems.tableName", Some(name)));
        match &entry.keys {
            None => v.null(&format!("requestItems.{name}.member.keys")),
            Some(keys) => v.length(
                &format!("requestItems.{name}.member.keys"),
                shown(keys),
                keys.len(),
                1,
                BATCH_GET_KEYS_MAX,
            ),
        }
    }
    v.finish()?;
    let total: usize = request_items
        .values()
        .map(|e| e.keys.as_ref().map_or(0, Vec::len))
        .sum();
    if total > BATCH_GET_KEYS_MAX {
        return Err(ApiError::validation(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    let mut tables = Vec::with_capacity(request_items.len());
    for ((name, entry), table) in request_items.into_iter().zip(resolved) {
        let mut keys = Vec::new();
        for key in entry.keys.unwrap_or_default() {
            keys.push(item_from_json(&key)?);
        }
        if has_duplicates(&keys) {
            return Err(ApiError::validation(DUPLICATE_KEYS));
        }
        let projection = read_projection(
            entry.projection_expression.as_deref(),
            entry.expression_attribute_names.clone(),
            entry.attributes_to_get.as_ref(),
        )?;
        tables.push(GetTable {
            name,
            table,
            keys,
            projection,
            consistent: entry.consistent_read.unwrap_or(false),
            projection_expression: entry.projection_expression,
            names: entry.expression_attribute_names,
            attributes_to_get: entry.attributes_to_get,
        });
    }
    Ok(BatchGetRequest { tables, capacity })
}

/// Whether two of `values` are equal. Attribute values have no total order or hash, and the
/// lists are bounded (100 keys at most), so pairwise comparison is fine.
pub(crate) fn has_duplicates<T: PartialEq>(values: &[T]) -> bool {
    values
        .iter()
        .enumerate()
        .any(|(i, a)| values[i + 1..].iter().any(|b| a == b))
}

/// What one table contributed to a BatchGetItem response.
struct GetResult<'a> {
    table: &'a GetTable,
    items: Vec<Item>,
    /// Keys not read because the response reached its size limit.
    unprocessed: &'a [Item],
}

struct Responses<'a>(&'a [GetResult<'a>]);

impl Serialize for Responses<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for r in self.0 {
            map.serialize_entry(&r.table.name, &ItemList(&r.items))?;
        }
        map.end()
    }
}

struct Unprocessed<'a>(&'a [GetResult<'a>]);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeysAndAttributesOut<'a> {
    keys: ItemList<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projection_expression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression_attribute_names: Option<&'a Names>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes_to_get: Option<&'a Value>,
    consistent_read: bool,
}

impl Serialize for Unprocessed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for r in self.0.iter().filter(|r| !r.unprocessed.is_empty()) {
            let t = r.table;
            map.serialize_entry(
                &t.name,
                &KeysAndAttributesOut {
                    keys: ItemList(r.unprocessed),
                    projection_expression: t.projection_expression.as_deref(),
                    expression_attribute_names: t.names.as_ref(),
                    attributes_to_get: t.attributes_to_get.as_ref(),
                    consistent_read: t.consistent,
                },
            )?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGetOutput<'a> {
    responses: Responses<'a>,
    unprocessed_keys: Unprocessed<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumed_capacity: Option<Vec<Consumed>>,
}

/// Runs BatchGetItem: reads every key from the local replica until the response reaches
/// `BATCH_GET_RESPONSE_BYTES_MAX`; the rest is returned in UnprocessedKeys.
pub(crate) async fn get(region: &dyn Region, req: BatchGetRequest) -> Result<Vec<u8>, ApiError> {
    if req.tables.iter().any(|t| t.consistent) {
        region.linearize().await?;
    }
    let mut consumed = PerTable::default();
    let mut results = Vec::with_capacity(req.tables.len());
    let mut response_bytes = 0usize;
    for t in &req.tables {
        let mut get = ItemGet {
            table: t.table.clone(),
            key: Item::new(),
            projection: t.projection.clone(),
        };
        let mut items = Vec::new();
        let mut done = 0;
        for key in &t.keys {
            if response_bytes >= BATCH_GET_RESPONSE_BYTES_MAX {
                break;
            }
            get.key.clone_from(key);
            let out = table::get_item(region.store(), &get)??;
            if req.capacity.computed() {
                consumed
                    .entry(&t.name, req.capacity)
                    .add_read(out.size, t.consistent, false);
            }
            if let Some(item) = out.item {
                response_bytes += item_size(&item);
                items.push(item);
            }
            done += 1;
        }
        results.push(GetResult {
            table: t,
            items,
            unprocessed: &t.keys[done..],
        });
    }
    json_body(&BatchGetOutput {
        responses: Responses(&results),
        unprocessed_keys: Unprocessed(&results),
        consumed_capacity: req.capacity.report_all(consumed),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchWriteWire {
    request_items: Option<BTreeMap<String, Vec<WriteRequestWire>>>,
    return_consumed_capacity: Option<String>,
    return_item_collection_metrics: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteRequestWire {
    put_request: Option<PutRequestWire>,
    delete_request: Option<DeleteRequestWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRequestWire {
    item: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteRequestWire {
    key: Option<Value>,
}

/// A validated BatchWriteItem.
#[derive(Debug)]
pub struct BatchWriteRequest {
    writes: Vec<ItemWrite>,
    /// Each write's RequestItems key as given (a name or a table ARN), for ConsumedCapacity.
    shown: Vec<String>,
    capacity: CapacityMode,
    /// ReturnItemCollectionMetrics = SIZE.
    collection_metrics: bool,
}

/// Decodes and validates BatchWriteItem.
pub(crate) fn decode_write(body: &[u8]) -> Result<BatchWriteRequest, ApiError> {
    let wire: BatchWriteWire = parse_body(body)?;
    let mut v = Violations::new();
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    let collection_metrics = wire::return_item_collection_metrics(
        &mut v,
        wire.return_item_collection_metrics.as_deref(),
    );
    let request_items = match wire.request_items {
        None => {
            v.null("requestItems");
            BTreeMap::new()
        }
        Some(items) => {
            if items.is_empty() {
                v.length("requestItems", "{}", 0, 1, usize::MAX);
            }
            items
        }
    };
    let mut resolved = Vec::with_capacity(request_items.len());
    for (name, list) in &request_items {
        resolved.push(v.table_name("requestItems.tableName", Some(name)));
        if list.is_empty() || list.len() > BATCH_WRITE_REQUESTS_MAX {
            v.push(
                format_args!("'{name}'"),
                "requestItems",
                format_args!(
                    "Map value must satisfy constraint: [Member must have length less than or equal to {BATCH_WRITE_REQUESTS_MAX}, Member must have length greater than or equal to 1]"
                ),
            );
        }
    }
    v.finish()?;
    let total: usize = request_items.values().map(Vec::len).sum();
    if total > BATCH_WRITE_REQUESTS_MAX {
        return Err(ApiError::validation(
            "Too many items requested for the BatchWriteItem call",
        ));
    }
    let mut writes = Vec::with_capacity(total);
    let mut shown_names = Vec::with_capacity(total);
    for ((name, list), table) in request_items.into_iter().zip(resolved) {
        for request in list {
            let kind = match (request.put_request, request.delete_request) {
                (Some(put), None) => WriteKind::Put {
                    item: member_item(put.item.as_ref(), "Item")?,
                },
                (None, Some(delete)) => WriteKind::Delete {
                    key: member_item(delete.key.as_ref(), "Key")?,
                },
                _ => return Err(ApiError::validation(
                    "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest",
                )),
            };
            writes.push(ItemWrite {
                table: table.clone(),
                kind,
                condition: None,
                return_values: ReturnValues::None,
                return_old_on_condition_failure: false,
            });
            shown_names.push(name.clone());
        }
    }
    Ok(BatchWriteRequest {
        writes,
        shown: shown_names,
        capacity,
        collection_metrics,
    })
}

fn member_item(json: Option<&Value>, member: &str) -> Result<Item, ApiError> {
    match json {
        Some(json) if !json.is_null() => Ok(item_from_json(json)?),
        _ => Err(ApiError::Validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            member.to_ascii_lowercase()
        ))),
    }
}

/// The item or key a write names.
pub(crate) fn target_item(kind: &WriteKind) -> &Item {
    match kind {
        WriteKind::Put { item } => item,
        WriteKind::Update { key, .. }
        | WriteKind::Delete { key }
        | WriteKind::ConditionCheck { key } => key,
    }
}

/// The primary key of a write's target, per the table's schema (`None` if the item lacks a
/// key attribute; the table layer then rejects the write with DynamoDB's message).
pub(crate) fn target_key(schema: &KeySchema, kind: &WriteKind) -> Option<Item> {
    let source = match kind {
        WriteKind::Put { item } => item,
        WriteKind::Update { key, .. }
        | WriteKind::Delete { key }
        | WriteKind::ConditionCheck { key } => key,
    };
    let mut key = Item::new();
    for attribute in schema.attributes() {
        let value = source.get(&attribute.name)?;
        key.insert(attribute.name.clone(), value.clone());
    }
    Some(key)
}

/// Checks that no two writes target the same item; loads each table once (which also reports
/// a missing table before anything is proposed).
pub(crate) fn check_distinct_targets(
    region: &dyn Region,
    writes: &[ItemWrite],
    error: &str,
) -> Result<(), ApiError> {
    let mut schemas: BTreeMap<&str, KeySchema> = BTreeMap::new();
    let mut targets: Vec<(&str, Item)> = Vec::with_capacity(writes.len());
    for w in writes {
        if !schemas.contains_key(w.table.as_str()) {
            schemas.insert(&w.table, load(region, &w.table)?.key_schema);
        }
        if let Some(schema) = schemas.get(w.table.as_str()) {
            if let Some(key) = target_key(schema, &w.kind) {
                targets.push((&w.table, key));
            }
        }
    }
    if has_duplicates(&targets) {
        return Err(ApiError::validation(error));
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchWriteOutput {
    unprocessed_items: EmptyMap,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumed_capacity: Option<Vec<Consumed>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    item_collection_metrics: BTreeMap<String, Vec<crate::index_views::CollectionMetrics>>,
}

struct EmptyMap;

impl Serialize for EmptyMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

/// Runs BatchWriteItem as one proposal. Meridian never defers writes, so UnprocessedItems is
/// always empty; a request the table rejects fails the whole batch, as in DynamoDB.
pub(crate) async fn write(
    region: &dyn Region,
    req: BatchWriteRequest,
) -> Result<Vec<u8>, ApiError> {
    check_distinct_targets(region, &req.writes, DUPLICATE_KEYS)?;
    let targets: Vec<(String, String, Item)> = if req.collection_metrics {
        req.writes
            .iter()
            .zip(&req.shown)
            .map(|(w, shown)| (w.table.clone(), shown.clone(), target_item(&w.kind).clone()))
            .collect()
    } else {
        Vec::new()
    };
    let tables = req.shown;
    let results = match propose(region, &Command::BatchWrite(req.writes)).await? {
        Outcome::BatchWrite(results) => results,
        other => {
            return Err(ApiError::internal(format_args!(
                "unexpected outcome {other:?}"
            )))
        }
    };
    let mut consumed = PerTable::default();
    for (table, result) in tables.iter().zip(results) {
        let result = result?;
        if req.capacity.computed() {
            consumed
                .entry(table, req.capacity)
                .add_write(result.old_size, result.new_size, false);
        }
    }
    let item_collection_metrics =
        crate::index_views::collection_metrics_by_table(region, &targets)?;
    json_body(&BatchWriteOutput {
        unprocessed_items: EmptyMap,
        consumed_capacity: req.capacity.report_all(consumed),
        item_collection_metrics,
    })
}
