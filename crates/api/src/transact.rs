//! TransactWriteItems and TransactGetItems: validated per action, then proposed as one command
//! so they apply atomically and serialize with every other write of the region.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use model::limits::{CLIENT_REQUEST_TOKEN_LEN_MAX, TRANSACT_ACTIONS_MAX, TRANSACT_SIZE_BYTES_MAX};
use model::size::item_size;
use model::{Item, WireItem};
use table::{Command, ItemGet, ItemWrite, Outcome, ReturnValues, TransactWrite, WriteKind};

use crate::batch::{check_distinct_targets, has_duplicates};
use crate::capacity::{CapacityMode, Consumed, PerTable};
use crate::error::ApiError;
use crate::exprs::{Binder, Names};
use crate::request::{json_body, propose};
use crate::validate::Violations;
use crate::wire::{self, parse_body, required_item};
use crate::Region;

const ONE_ITEM: &str = "Transaction request cannot include multiple operations on one item";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactWriteWire {
    transact_items: Option<Vec<TransactWriteItemWire>>,
    return_consumed_capacity: Option<String>,
    return_item_collection_metrics: Option<String>,
    client_request_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactWriteItemWire {
    condition_check: Option<ActionWire>,
    put: Option<ActionWire>,
    delete: Option<ActionWire>,
    update: Option<ActionWire>,
}

/// The members of any one transaction action (each kind uses a subset).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ActionWire {
    table_name: Option<String>,
    key: Option<Value>,
    item: Option<Value>,
    update_expression: Option<String>,
    condition_expression: Option<String>,
    expression_attribute_names: Option<Names>,
    expression_attribute_values: Option<Value>,
    return_values_on_condition_check_failure: Option<String>,
    projection_expression: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ActionKind {
    ConditionCheck,
    Put,
    Delete,
    Update,
}

impl ActionKind {
    fn member(self) -> &'static str {
        match self {
            ActionKind::ConditionCheck => "conditionCheck",
            ActionKind::Put => "put",
            ActionKind::Delete => "delete",
            ActionKind::Update => "update",
        }
    }
}

/// A validated TransactWriteItems.
#[derive(Debug)]
pub struct TransactWriteRequest {
    token: Option<(String, u64)>,
    actions: Vec<ItemWrite>,
    capacity: CapacityMode,
    /// ReturnItemCollectionMetrics = SIZE.
    collection_metrics: bool,
}

/// FNV-1a over the request body: the digest that ties a ClientRequestToken to the request it
/// was first used with (a retry sends the same bytes).
pub(crate) fn request_digest(body: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    body.iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// Decodes and validates TransactWriteItems.
pub(crate) fn decode_write(body: &[u8]) -> Result<TransactWriteRequest, ApiError> {
    let wire: TransactWriteWire = parse_body(body)?;
    let mut v = Violations::new();
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    let collection_metrics = wire::return_item_collection_metrics(
        &mut v,
        wire.return_item_collection_metrics.as_deref(),
    );
    if let Some(token) = &wire.client_request_token {
        v.length(
            "clientRequestToken",
            token,
            token.chars().count(),
            1,
            CLIENT_REQUEST_TOKEN_LEN_MAX,
        );
    }
    let items = checked_items(&mut v, wire.transact_items);
    let mut chosen = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let options = [
            (ActionKind::ConditionCheck, item.condition_check),
            (ActionKind::Put, item.put),
            (ActionKind::Delete, item.delete),
            (ActionKind::Update, item.update),
        ];
        let mut present = options.into_iter().filter_map(|(k, a)| a.map(|a| (k, a)));
        match (present.next(), present.next()) {
            (Some(action), None) => chosen.push((i, action)),
            _ => {
                return Err(ApiError::validation(
                    "TransactItems can only contain one of Check, Put, Update or Delete",
                ))
            }
        }
    }
    let mut actions = Vec::with_capacity(chosen.len());
    for (i, (kind, action)) in chosen {
        actions.push(decode_action(&mut v, i, kind, action)?);
    }
    v.finish()?;
    let size: usize = actions.iter().map(action_size).sum();
    if size > TRANSACT_SIZE_BYTES_MAX {
        return Err(ApiError::validation(
            "Transaction request size exceeds the maximum of 4 MB",
        ));
    }
    Ok(TransactWriteRequest {
        token: wire
            .client_request_token
            .map(|token| (token, request_digest(body))),
        actions,
        capacity,
        collection_metrics,
    })
}

fn action_size(action: &ItemWrite) -> usize {
    match &action.kind {
        WriteKind::Put { item } => item_size(item),
        WriteKind::Update { key, .. }
        | WriteKind::Delete { key }
        | WriteKind::ConditionCheck { key } => item_size(key),
    }
}

fn decode_action(
    v: &mut Violations,
    index: usize,
    kind: ActionKind,
    a: ActionWire,
) -> Result<ItemWrite, ApiError> {
    let field = format!("transactItems.{}.member.{}", index + 1, kind.member());
    let table = v.table_name(&format!("{field}.tableName"), a.table_name.as_deref());
    let target = match kind {
        ActionKind::Put => required_item(v, &format!("{field}.item"), a.item.as_ref())?,
        _ => required_item(v, &format!("{field}.key"), a.key.as_ref())?,
    };
    if kind == ActionKind::ConditionCheck && a.condition_expression.is_none() {
        v.null(&format!("{field}.conditionExpression"));
    }
    if kind == ActionKind::Update && a.update_expression.is_none() {
        v.null(&format!("{field}.updateExpression"));
    }
    let return_old =
        wire::return_old_on_failure(v, a.return_values_on_condition_check_failure.as_deref());
    let update_text = a
        .update_expression
        .as_deref()
        .filter(|_| kind == ActionKind::Update);
    let binder = Binder::new(
        a.expression_attribute_names,
        a.expression_attribute_values.as_ref(),
        a.condition_expression.is_some() || update_text.is_some(),
    )?;
    let condition = binder.condition(a.condition_expression.as_deref())?;
    let kind = match kind {
        ActionKind::Put => WriteKind::Put { item: target },
        ActionKind::Delete => WriteKind::Delete { key: target },
        ActionKind::ConditionCheck => WriteKind::ConditionCheck { key: target },
        ActionKind::Update => WriteKind::Update {
            key: target,
            update: binder.update(update_text)?,
        },
    };
    binder.finish()?;
    Ok(ItemWrite {
        table,
        kind,
        condition,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: return_old,
    })
}

/// Runs TransactWriteItems.
pub(crate) async fn write(
    region: &dyn Region,
    req: TransactWriteRequest,
) -> Result<Vec<u8>, ApiError> {
    check_distinct_targets(region, &req.actions, ONE_ITEM)?;
    let targets: Vec<(String, String, model::Item)> = if req.collection_metrics {
        req.actions
            .iter()
            .filter(|a| !matches!(a.kind, WriteKind::ConditionCheck { .. }))
            .map(|a| {
                let item = crate::batch::target_item(&a.kind).clone();
                (a.table.clone(), a.table.clone(), item)
            })
            .collect()
    } else {
        Vec::new()
    };
    let shape: Vec<(String, bool)> = req
        .actions
        .iter()
        .map(|a| {
            let check = matches!(a.kind, WriteKind::ConditionCheck { .. });
            (a.table.clone(), check)
        })
        .collect();
    let command = Command::TransactWrite(TransactWrite {
        token: req.token,
        now_ms: region.clock().now_ms(),
        actions: req.actions,
    });
    let results = match propose(region, &command).await? {
        Outcome::TransactWrite(results) => results,
        other => {
            return Err(ApiError::internal(format_args!(
                "unexpected outcome {other:?}"
            )))
        }
    };
    let mut consumed = PerTable::default();
    if req.capacity.computed() {
        for ((table, check), r) in shape.iter().zip(&results) {
            let entry = consumed.entry(table, req.capacity);
            if *check {
                entry.add_read(r.old_size, true, true);
            } else {
                entry.add_write(r.old_size, r.new_size, true);
            }
        }
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        #[serde(skip_serializing_if = "Option::is_none")]
        consumed_capacity: Option<Vec<Consumed>>,
        #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        item_collection_metrics:
            std::collections::BTreeMap<String, Vec<crate::index_views::CollectionMetrics>>,
    }
    json_body(&Output {
        consumed_capacity: req.capacity.report_all(consumed),
        item_collection_metrics: crate::index_views::collection_metrics_by_table(region, &targets)?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactGetWire {
    transact_items: Option<Vec<TransactGetItemWire>>,
    return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransactGetItemWire {
    get: Option<ActionWire>,
}

/// A validated TransactGetItems.
#[derive(Debug)]
pub struct TransactGetRequest {
    gets: Vec<ItemGet>,
    capacity: CapacityMode,
}

/// TransactItems, checked for presence and count (the list is empty if it was missing).
fn checked_items<T>(v: &mut Violations, items: Option<Vec<T>>) -> Vec<T> {
    v.required_list("transactItems", items, TRANSACT_ACTIONS_MAX)
}

/// Decodes and validates TransactGetItems.
pub(crate) fn decode_get(body: &[u8]) -> Result<TransactGetRequest, ApiError> {
    let wire: TransactGetWire = parse_body(body)?;
    let mut v = Violations::new();
    let capacity = CapacityMode::parse(&mut v, wire.return_consumed_capacity.as_deref());
    let items = checked_items(&mut v, wire.transact_items);
    let mut gets = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let field = format!("transactItems.{}.member.get", i + 1);
        let Some(get) = item.get else {
            v.null(&field);
            continue;
        };
        let table = v.table_name(&format!("{field}.tableName"), get.table_name.as_deref());
        let key = required_item(&mut v, &format!("{field}.key"), get.key.as_ref())?;
        let projection = crate::items::read_projection(
            get.projection_expression.as_deref(),
            get.expression_attribute_names,
            None,
        )?;
        gets.push(ItemGet {
            table,
            key,
            projection,
        });
    }
    v.finish()?;
    let targets: Vec<(&str, &Item)> = gets.iter().map(|g| (g.table.as_str(), &g.key)).collect();
    if has_duplicates(&targets) {
        return Err(ApiError::validation(ONE_ITEM));
    }
    Ok(TransactGetRequest { gets, capacity })
}

struct ItemResponse<'a>(Option<&'a Item>);

impl Serialize for ItemResponse<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(item) = self.0 {
            map.serialize_entry("Item", &WireItem(item))?;
        }
        map.end()
    }
}

/// Runs TransactGetItems.
pub(crate) async fn get(region: &dyn Region, req: TransactGetRequest) -> Result<Vec<u8>, ApiError> {
    let tables: Vec<String> = req.gets.iter().map(|g| g.table.clone()).collect();
    let results = match propose(region, &Command::TransactGet(req.gets)).await? {
        Outcome::TransactGet(results) => results,
        other => {
            return Err(ApiError::internal(format_args!(
                "unexpected outcome {other:?}"
            )))
        }
    };
    let mut consumed = PerTable::default();
    if req.capacity.computed() {
        for (table, (_, size)) in tables.iter().zip(&results) {
            consumed
                .entry(table, req.capacity)
                .add_read(*size, true, true);
        }
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        responses: Vec<ItemResponse<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        consumed_capacity: Option<Vec<Consumed>>,
    }
    json_body(&Output {
        responses: results
            .iter()
            .map(|(item, _)| ItemResponse(item.as_ref()))
            .collect(),
        consumed_capacity: req.capacity.report_all(consumed),
    })
}
