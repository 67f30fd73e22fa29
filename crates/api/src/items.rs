//! Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use model::WireItem;
use table::{Command, ItemGet, ItemWrite, Outcome, ReturnValues, WriteKind};

use crate::capacity::{CapacityMode, Consumed};
use crate::error::ApiError;
use crate::exprs::{check_not_mixed, Binder, Names};
use crate::legacy;
use crate::request::{json_body, propose};
use crate::validate::Violations;
use crate::wire::{self, parse_body, required_item};
use crate::Region;

/// PutItem, UpdateItem or DeleteItem, ready to propose.
#[derive(Debug)]
pub struct WriteRequest {
    /// The write, with its condition and ReturnValues.
    pub write: ItemWrite,
    /// ReturnConsumedCapacity.
    pub capacity: CapacityMode,
    /// TableName as given (a name or a table ARN), which ConsumedCapacity echoes.
    pub table_shown: String,
    /// ReturnItemCollectionMetrics = SIZE.
    pub collection_metrics: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteWire {
    table_name: Option<String>,
    item: Option<Value>,
    key: Option<Value>,
    update_expression: Option<String>,
    condition_expression: Option<String>,
    expression_attribute_names: Option<Names>,
    expression_attribute_values: Option<Value>,
    return_values: Option<String>,
    return_consumed_capacity: Option<String>,
    return_item_collection_metrics: Option<String>,
    return_values_on_condition_check_failure: Option<String>,
    expected: Option<Value>,
    conditional_operator: Option<String>,
    attribute_updates: Option<Value>,
}

/// Which of the three write operations a body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteOp {
    Put,
    Update,
    Delete,
}

fn present(v: &Option<Value>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_null())
}

/// Decodes and validates PutItem, UpdateItem or DeleteItem.
pub(crate) fn decode_write(op: WriteOp, body: &[u8]) -> Result<WriteRequest, ApiError> {
    let wire: WriteWire = parse_body(body)?;
    let mut v = Violations::new();
    let table = v.table_name("tableName", wire.table_name.as_deref());
    let target = match op {
        WriteOp::Put => required_item(&mut v, "item", wire.item.as_ref())?,
        WriteOp::Update | WriteOp::Delete => required_item(&mut v, "key", wire.key.as_ref())?,
    };
    let return_values = wire::return_values(&mut v, wire.return_values.as_deref());
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    let collection_metrics = wire::return_item_collection_metrics(
        &mut v,
        wire.return_item_collection_metrics.as_deref(),
    );
    let return_old_on_condition_failure = wire::return_old_on_failure(
        &mut v,
        wire.return_values_on_condition_check_failure.as_deref(),
    );
    wire::conditional_operator(&mut v, wire.conditional_operator.as_deref());
    v.finish()?;
    let return_values = match op {
        WriteOp::Update => return_values,
        WriteOp::Put | WriteOp::Delete => wire::return_values_old_only(return_values)?,
    };

    let is_update = op == WriteOp::Update;
    check_not_mixed(
        &[
            (
                "AttributeUpdates",
                is_update && present(&wire.attribute_updates),
            ),
            ("Expected", present(&wire.expected)),
            ("ConditionalOperator", wire.conditional_operator.is_some()),
        ],
        &[
            (
                "UpdateExpression",
                is_update && wire.update_expression.is_some(),
            ),
            ("ConditionExpression", wire.condition_expression.is_some()),
        ],
    )?;
    let has_expression =
        wire.condition_expression.is_some() || (is_update && wire.update_expression.is_some());
    let binder = Binder::new(
        wire.expression_attribute_names,
        wire.expression_attribute_values.as_ref(),
        has_expression,
    )?;
    let condition = match &wire.condition_expression {
        Some(text) => binder.condition(Some(text))?,
        None => legacy::expected(wire.expected.as_ref(), wire.conditional_operator.as_deref())?,
    };
    let kind = match op {
        WriteOp::Put => WriteKind::Put { item: target },
        WriteOp::Delete => WriteKind::Delete { key: target },
        WriteOp::Update => WriteKind::Update {
            key: target,
            update: match &wire.update_expression {
                Some(text) => binder.update(Some(text))?,
                None => legacy::attribute_updates(wire.attribute_updates.as_ref())?,
            },
        },
    };
    binder.finish()?;
    Ok(WriteRequest {
        table_shown: wire.table_name.unwrap_or_default(),
        write: ItemWrite {
            table,
            kind,
            condition,
            return_values,
            return_old_on_condition_failure,
        },
        capacity,
        collection_metrics,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WriteOutput<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<WireItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumed_capacity: Option<Consumed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_collection_metrics: Option<crate::index_views::CollectionMetrics>,
}

/// Runs a PutItem, UpdateItem or DeleteItem.
pub(crate) async fn write(region: &dyn Region, req: WriteRequest) -> Result<Vec<u8>, ApiError> {
    let wants_old = req.write.return_values != ReturnValues::None;
    let metrics_for = req.collection_metrics.then(|| {
        let key = match &req.write.kind {
            WriteKind::Put { item } => item,
            WriteKind::Update { key, .. }
            | WriteKind::Delete { key }
            | WriteKind::ConditionCheck { key } => key,
        };
        (req.write.table.clone(), key.clone())
    });
    let result = match propose(region, &Command::Write(req.write)).await? {
        Outcome::Write(result) => result,
        other => {
            return Err(ApiError::internal(format_args!(
                "unexpected outcome {other:?}"
            )))
        }
    };
    json_body(&WriteOutput {
        attributes: result
            .attributes
            .as_ref()
            .filter(|_| wants_old)
            .map(WireItem),
        consumed_capacity: req.capacity.report(|| {
            Consumed::new(&req.table_shown, req.capacity)
                .write_item(result.old_size, result.new_size)
        }),
        item_collection_metrics: match metrics_for {
            Some((table, key)) => crate::index_views::collection_metrics(region, &table, &key)?,
            None => None,
        },
    })
}

/// A validated GetItem.
#[derive(Debug)]
pub struct GetRequest {
    /// The read.
    pub get: ItemGet,
    /// ConsistentRead.
    pub consistent: bool,
    /// ReturnConsumedCapacity.
    pub capacity: CapacityMode,
    /// TableName as given (a name or a table ARN), which ConsumedCapacity echoes.
    pub table_shown: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetWire {
    table_name: Option<String>,
    key: Option<Value>,
    projection_expression: Option<String>,
    expression_attribute_names: Option<Names>,
    consistent_read: Option<bool>,
    return_consumed_capacity: Option<String>,
    attributes_to_get: Option<Value>,
}

/// Decodes and validates GetItem.
pub(crate) fn decode_get(body: &[u8]) -> Result<GetRequest, ApiError> {
    let wire: GetWire = parse_body(body)?;
    let mut v = Violations::new();
    let table = v.table_name("tableName", wire.table_name.as_deref());
    let key = required_item(&mut v, "key", wire.key.as_ref())?;
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    v.finish()?;
    let projection = read_projection(
        wire.projection_expression.as_deref(),
        wire.expression_attribute_names,
        wire.attributes_to_get.as_ref(),
    )?;
    Ok(GetRequest {
        table_shown: wire.table_name.unwrap_or_default(),
        get: ItemGet {
            table,
            key,
            projection,
        },
        consistent: wire.consistent_read.unwrap_or(false),
        capacity,
    })
}

/// The projection of a key-value read (GetItem, BatchGetItem's per-table entry): either a
/// ProjectionExpression with its names, or legacy AttributesToGet.
pub(crate) fn read_projection(
    expression: Option<&str>,
    names: Option<Names>,
    attributes_to_get: Option<&Value>,
) -> Result<Option<Vec<expr::Path>>, ApiError> {
    let legacy = attributes_to_get.is_some_and(|v| !v.is_null());
    check_not_mixed(
        &[("AttributesToGet", legacy)],
        &[("ProjectionExpression", expression.is_some())],
    )?;
    let binder = Binder::new(names, None, expression.is_some())?;
    let projection = match expression {
        Some(text) => binder.projection(Some(text))?,
        None => legacy::attributes_to_get(attributes_to_get)?,
    };
    binder.finish()?;
    Ok(projection)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetOutputWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<WireItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumed_capacity: Option<Consumed>,
}

/// Runs GetItem: a linearizable barrier first when ConsistentRead, then a local read.
pub(crate) async fn get(region: &dyn Region, req: &GetRequest) -> Result<Vec<u8>, ApiError> {
    if req.consistent {
        region.linearize().await?;
    }
    let out = table::get_item(region.store(), &req.get)??;
    json_body(&GetOutputWire {
        item: out.item.as_ref().map(WireItem),
        consumed_capacity: req.capacity.report(|| {
            Consumed::new(&req.table_shown, req.capacity).read_item(out.size, req.consistent)
        }),
    })
}
