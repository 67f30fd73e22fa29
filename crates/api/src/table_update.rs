//! UpdateTable: billing mode, provisioned throughput, deletion protection and table class.

use serde::Deserialize;
use serde_json::Value;

use model::BillingMode;
use table::{Command, TableUpdate};

use crate::describe::TableDescription;
use crate::error::ApiError;
use crate::request::{json_body, propose};
use crate::tables::{
    expect_table, load, throughput, StreamSpecificationWire, TableDescriptionOutput,
    ThroughputWire, WarmThroughputWire, BILLING_MODES, BILLING_MODES_SHOWN, TABLE_CLASSES,
    TABLE_CLASSES_SHOWN,
};
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateTableWire {
    table_name: Option<String>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<ThroughputWire>,
    deletion_protection_enabled: Option<bool>,
    table_class: Option<String>,
    global_secondary_index_updates: Option<Value>,
    replica_updates: Option<Value>,
    stream_specification: Option<StreamSpecificationWire>,
    #[serde(rename = "SSESpecification")]
    sse_specification: Option<Value>,
    attribute_definitions: Option<Value>,
    warm_throughput: Option<WarmThroughputWire>,
}

/// A validated UpdateTable.
#[derive(Debug)]
pub struct UpdateTable {
    name: String,
    billing_mode: Option<BillingMode>,
    provisioned: Option<(u64, u64)>,
    deletion_protection: Option<bool>,
    table_class: Option<String>,
    indexes: crate::index_updates::UpdateIndexes,
    /// StreamSpecification: enable with a view type, or disable (None).
    stream: Option<Option<model::StreamViewType>>,
    replica_updates: Vec<crate::global::ReplicaUpdate>,
    /// A requested WarmThroughput (reads, writes per second), checked against the table's.
    warm: Option<crate::tables::WarmRequest>,
}

/// Decodes UpdateTable.
pub(crate) fn decode_update(body: &[u8]) -> Result<UpdateTable, ApiError> {
    let wire: UpdateTableWire = parse_body(body)?;
    let mut v = Violations::new();
    let name = v.table_name("tableName", wire.table_name.as_deref());
    let billing_mode = v.enumeration(
        "billingMode",
        wire.billing_mode.as_deref(),
        BILLING_MODES,
        BILLING_MODES_SHOWN,
    );
    let throughput = wire
        .provisioned_throughput
        .as_ref()
        .map(|t| throughput(&mut v, t));
    let table_class = v.enumeration(
        "tableClass",
        wire.table_class.as_deref(),
        TABLE_CLASSES,
        TABLE_CLASSES_SHOWN,
    );
    let warm = wire
        .warm_throughput
        .as_ref()
        .map(|w| w.check(&mut v, "warmThroughput"));
    v.finish()?;
    let indexes = crate::index_updates::decode_updates(
        wire.global_secondary_index_updates.as_ref(),
        wire.attribute_definitions.as_ref(),
    )?;
    let replica_updates = match wire.replica_updates.as_ref().filter(|x| !x.is_null()) {
        Some(value) => crate::global::decode_replica_updates(value)?,
        None => Vec::new(),
    };
    let stream = crate::streams::stream_spec(wire.stream_specification.as_ref())?;
    let provisioned = match throughput {
        None => None,
        Some((Some(r), Some(w))) => Some((r, w)),
        Some(_) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified",
            ))
        }
    };
    if billing_mode == Some(BillingMode::PayPerRequest) && provisioned.is_some() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ));
    }
    let nothing = billing_mode.is_none()
        && provisioned.is_none()
        && wire.deletion_protection_enabled.is_none()
        && table_class.is_none()
        && wire.stream_specification.is_none()
        && wire.sse_specification.is_none()
        && replica_updates.is_empty()
        && indexes.is_empty()
        && warm.is_none();
    if nothing {
        return Err(ApiError::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    Ok(UpdateTable {
        name,
        billing_mode,
        provisioned,
        deletion_protection: wire.deletion_protection_enabled,
        table_class: table_class.map(str::to_owned),
        indexes,
        stream,
        replica_updates,
        warm,
    })
}

/// Runs UpdateTable. Billing-mode rules that depend on the table's current mode are checked
/// against the local replica first.
pub(crate) async fn update(region: &dyn Region, req: UpdateTable) -> Result<Vec<u8>, ApiError> {
    let current = load(region, &req.name)?;
    let mut record = crate::describe::warm_record(region, &current)?;
    if let Some(warm) = req.warm {
        let now = crate::describe::WarmThroughput::of_table(&current).raised(record.table);
        WarmThroughputWire::check_against(warm, now.units())?;
    }
    // Warm throughput is set per region (as in DynamoDB, where each replica has its own):
    // proposed here, never replicated.
    let warm = table::WarmUpdate {
        table: current.name.clone(),
        units: req.warm.map(WarmThroughputWire::units),
        indexes: req.indexes.warm(&current, &record)?,
    };
    record.raise(&warm);
    let only_warm = req.warm.is_some()
        && req.billing_mode.is_none()
        && req.provisioned.is_none()
        && req.deletion_protection.is_none()
        && req.table_class.is_none()
        && req.indexes.is_empty()
        && req.stream.is_none()
        && req.replica_updates.is_empty();
    if only_warm {
        // Meridian does not throttle: the value is kept only to be reported.
        let meta = expect_table(propose(region, &Command::SetWarmThroughput(warm)).await?)?;
        let stats = table::table_stats(region.store(), &meta)?;
        return json_body(&TableDescriptionOutput {
            table_description: TableDescription::new(&meta, stats.item_count, stats.size_bytes)
                .with_indexes(&meta, &crate::index_views::stats_of(region.store()))
                .with_warm(&record),
        });
    }
    if !req.replica_updates.is_empty() {
        let others = req.billing_mode.is_some()
            || req.provisioned.is_some()
            || req.deletion_protection.is_some()
            || req.table_class.is_some()
            || req.warm.is_some()
            || !req.indexes.is_empty();
        if others {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: ReplicaUpdates cannot be combined with other table updates in one UpdateTable call",
            ));
        }
        let meta = crate::global::apply_replica_updates(
            region,
            &current.name,
            &req.replica_updates,
            replication::GLOBAL_TABLE_VERSION,
        )
        .await?;
        let stats = table::table_stats(region.store(), &meta)?;
        return json_body(&TableDescriptionOutput {
            table_description: TableDescription::new(&meta, stats.item_count, stats.size_bytes),
        });
    }
    let mode_after = req.billing_mode.unwrap_or(current.billing_mode);
    match mode_after {
        BillingMode::PayPerRequest if req.provisioned.is_some() => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ))
        }
        BillingMode::Provisioned
            if current.billing_mode == BillingMode::PayPerRequest && req.provisioned.is_none() =>
        {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
            ))
        }
        _ => {}
    }
    let stream = req.stream;
    if let Some(enable) = stream {
        // Checked again in apply; checked here first so that a refused stream change does
        // not leave the other changes of the same request applied.
        crate::streams::check_stream_change(&current, enable.is_some())?;
    }
    let table_settings = req.billing_mode.is_some()
        || req.provisioned.is_some()
        || req.deletion_protection.is_some()
        || req.table_class.is_some();
    let name = req.name.clone();
    let mut meta = current.clone();
    if !req.indexes.is_empty() {
        meta = crate::index_updates::run_updates(region, &current, &req.indexes).await?;
    }
    // A request of only stream or index changes proposes no TableUpdate.
    if table_settings || (stream.is_none() && req.indexes.is_empty()) {
        let command = Command::UpdateTable(TableUpdate {
            name: req.name,
            billing_mode: req.billing_mode,
            provisioned: req.provisioned,
            deletion_protection: req.deletion_protection,
            table_class: req.table_class,
            now_ms: region.clock().now_ms(),
        });
        meta = expect_table(propose(region, &command).await?)?;
    }
    if let Some(enable) = stream {
        meta = crate::streams::set_stream(region, name, enable).await?;
    }
    // Last: an index created above exists by now.
    if !warm.is_empty() {
        meta = expect_table(propose(region, &Command::SetWarmThroughput(warm)).await?)?;
    }
    let stats = table::table_stats(region.store(), &meta)?;
    json_body(&TableDescriptionOutput {
        table_description: TableDescription::new(&meta, stats.item_count, stats.size_bytes)
            .with_indexes(&meta, &crate::index_views::stats_of(region.store()))
            .with_warm(&record),
    })
}
