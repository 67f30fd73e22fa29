//! Secondary indexes as clients see them: their DescribeTable form with statistics, the
//! ConsistentRead rule of Query and Scan with IndexName, and ItemCollectionMetrics.

use serde::Serialize;
use serde_json::Value;

use model::{BillingMode, IndexMeta, IndexStatus, Item, ProjectionType, TableMeta};

use crate::error::ApiError;
use crate::Region;

/// Query and Scan on an index: ConsistentRead is refused on a global one, as DynamoDB does
/// (the remaining checks run in `table::read`). Answers whether the index read is global
/// (None: no index, or none by that name), for ConsumedCapacity.
pub(crate) fn check_read(
    region: &dyn Region,
    table: &str,
    index: Option<&str>,
    consistent: bool,
) -> Result<Option<bool>, ApiError> {
    let Some(index) = index else {
        return Ok(None);
    };
    // A missing table or index is reported by the read itself, with DynamoDB's message.
    let Ok(meta) = crate::tables::load(region, table) else {
        return Ok(None);
    };
    let global = meta.global_indexes.iter().any(|i| i.name == index);
    if global && consistent {
        return Err(ApiError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    Ok(meta.index(index).map(|_| global))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyElement<'a> {
    attribute_name: &'a str,
    key_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionOut<'a> {
    projection_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    non_key_attributes: Option<&'a [String]>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ThroughputOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    last_increase_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_decrease_date_time: Option<f64>,
    number_of_decreases_today: u64,
    read_capacity_units: u64,
    write_capacity_units: u64,
}

/// One index in a TableDescription.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IndexDescription<'a> {
    index_name: &'a str,
    key_schema: Vec<KeyElement<'a>>,
    projection: ProjectionOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backfilling: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provisioned_throughput: Option<ThroughputOut>,
    index_size_bytes: u64,
    item_count: u64,
    index_arn: String,
    /// Global indexes only.
    #[serde(skip_serializing_if = "Option::is_none")]
    warm_throughput: Option<crate::describe::WarmThroughput>,
}

/// Describes a table's global and local indexes, with statistics from `stats`.
pub(crate) fn describe<'a>(
    meta: &'a TableMeta,
    stats: &dyn Fn(&IndexMeta) -> (u64, u64),
) -> (Vec<IndexDescription<'a>>, Vec<IndexDescription<'a>>) {
    let one = |index: &'a IndexMeta, global: bool| {
        let (item_count, size_bytes) = stats(index);
        let on_demand = meta.billing_mode == BillingMode::PayPerRequest;
        IndexDescription {
            index_name: &index.name,
            key_schema: index
                .key_schema
                .elements()
                .map(|(a, is_range)| KeyElement {
                    attribute_name: &a.name,
                    key_type: if is_range { "RANGE" } else { "HASH" },
                })
                .collect(),
            projection: ProjectionOut {
                projection_type: index.projection.as_str(),
                non_key_attributes: (index.projection == ProjectionType::Include)
                    .then_some(index.non_key_attributes.as_slice()),
            },
            index_status: global.then_some(index.status.as_str()),
            backfilling: (global && index.status == IndexStatus::Creating)
                .then_some(index.backfilling),
            provisioned_throughput: global.then(|| {
                let p = index.provisioned.filter(|_| !on_demand);
                ThroughputOut {
                    last_increase_date_time: p
                        .and_then(|p| p.last_increase_ms)
                        .map(crate::describe::epoch_seconds),
                    last_decrease_date_time: p
                        .and_then(|p| p.last_decrease_ms)
                        .map(crate::describe::epoch_seconds),
                    number_of_decreases_today: p.map_or(0, |p| p.decreases_today),
                    read_capacity_units: p.map_or(0, |p| p.read_capacity_units),
                    write_capacity_units: p.map_or(0, |p| p.write_capacity_units),
                }
            }),
            index_size_bytes: size_bytes,
            item_count,
            index_arn: index.arn(meta),
            warm_throughput: global.then(|| crate::describe::WarmThroughput::of_index(meta, index)),
        }
    };
    (
        meta.global_indexes.iter().map(|i| one(i, true)).collect(),
        meta.local_indexes.iter().map(|i| one(i, false)).collect(),
    )
}

/// Raises each global index's WarmThroughput to what was set for it.
pub(crate) fn raise_warm(indexes: &mut [IndexDescription<'_>], record: &table::WarmRecord) {
    for index in indexes {
        let set = record.index(index.index_name);
        index.warm_throughput = index.warm_throughput.map(|w| w.raised(set));
    }
}

/// The statistics of an index in the local replica (zeros if they cannot be read).
pub(crate) fn stats_of(store: &storage::Store) -> impl Fn(&IndexMeta) -> (u64, u64) + '_ {
    move |index| {
        table::index_stats(store, index)
            .map(|s| (s.item_count, s.size_bytes))
            .unwrap_or_default()
    }
}

/// ItemCollectionMetrics of a write to a table with local secondary indexes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CollectionMetrics {
    item_collection_key: Value,
    #[serde(rename = "SizeEstimateRangeGB")]
    size_estimate_range_gb: [f64; 2],
}

/// ItemCollectionMetrics of a BatchWriteItem or TransactWriteItems: per table (as the request
/// named it), one entry per item collection written, for tables with local secondary
/// indexes. `targets` is (table, name as given, item or key written) per write.
pub(crate) fn collection_metrics_by_table(
    region: &dyn Region,
    targets: &[(String, String, Item)],
) -> Result<std::collections::BTreeMap<String, Vec<CollectionMetrics>>, ApiError> {
    let mut out: std::collections::BTreeMap<String, Vec<CollectionMetrics>> = Default::default();
    for (table, shown, key) in targets {
        let Some(metrics) = collection_metrics(region, table, key)? else {
            continue;
        };
        let list = out.entry(shown.clone()).or_default();
        if !list
            .iter()
            .any(|m| m.item_collection_key == metrics.item_collection_key)
        {
            list.push(metrics);
        }
    }
    Ok(out)
}

/// The ItemCollectionMetrics of the item collection holding `key` (the written item's key),
/// if the table has local secondary indexes.
pub(crate) fn collection_metrics(
    region: &dyn Region,
    table: &str,
    key: &Item,
) -> Result<Option<CollectionMetrics>, ApiError> {
    let meta = crate::tables::load(region, table)?;
    if meta.local_indexes.is_empty() {
        return Ok(None);
    }
    let partition_name = &meta.key_schema.partition.name;
    let Some(partition) = key.get(partition_name) else {
        return Ok(None);
    };
    let bytes = table::indexes::collection_size(region.store(), &meta, partition)?;
    let gb = bytes as f64 / (1024.0 * 1024.0 * 1024.0);
    // DynamoDB reports a range around its estimate; the lower bound is the estimate rounded
    // down to a whole GB and the upper one that plus one GB.
    let low = gb.floor();
    Ok(Some(CollectionMetrics {
        item_collection_key: serde_json::to_value(model::WireItem(
            &std::iter::once((partition_name.clone(), partition.clone())).collect(),
        ))
        .map_err(ApiError::internal)?,
        size_estimate_range_gb: [low, low + 1.0],
    }))
}
