//! Global tables: UpdateTable's `ReplicaUpdates` (version 2019.11.21), the 2017.11.29
//! operations (CreateGlobalTable, UpdateGlobalTable, DescribeGlobalTable, ListGlobalTables),
//! dev mode's global-by-default tables, and the `Replicas` of a TableDescription. The work is
//! the replicator's; this module speaks DynamoDB to it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use model::{ReplicaStatus, TableMeta};
use replication::{ControlError, Replicator, GLOBAL_TABLE_VERSION};

use crate::describe::epoch_seconds;
use crate::error::{ApiError, GlobalTableError};
use crate::request::json_body;
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

/// The legacy global tables version.
pub const LEGACY_GLOBAL_TABLE_VERSION: &str = "2017.11.29";

/// A tag that keeps a table created in dev mode local to its region.
pub const LOCAL_TABLE_TAG: &str = "meridian:global";

/// A tag on CreateTable naming the regions (comma-separated) the new table replicates to:
/// CreateTable has no replica parameter of its own.
pub const REPLICAS_TAG: &str = "meridian:replicas";

/// One entry of `ReplicaUpdates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaUpdate {
    Create(String),
    Delete(String),
}

fn replicator(region: &dyn Region) -> Result<&Replicator, ApiError> {
    region.replication().ok_or_else(|| {
        ApiError::validation(
            "Global tables need a multi-region deployment: start Meridian with `meridian dev --regions us-east-1,eu-west-1` or configure [replication] with the other regions",
        )
    })
}

fn control_error(e: ControlError) -> ApiError {
    match e {
        ControlError::Validation(m) => ApiError::Validation(m),
        ControlError::NotFound(m) => ApiError::ResourceNotFound(m),
        ControlError::Unavailable(m) => ApiError::Unavailable(m),
    }
}

/// Parses `ReplicaUpdates` (UpdateTable's, or UpdateGlobalTable's: both use
/// `{"Create": {"RegionName": ..}}` and `{"Delete": {"RegionName": ..}}`).
pub(crate) fn decode_replica_updates(value: &Value) -> Result<Vec<ReplicaUpdate>, ApiError> {
    let Some(list) = value.as_array() else {
        return Err(ApiError::Serialization(
            "ReplicaUpdates must be a list".into(),
        ));
    };
    if list.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value '[]' at 'replicaUpdates' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let region_of = |action: &Value| -> Result<String, ApiError> {
            action
                .get("RegionName")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| ApiError::validation("One or more parameter values were invalid: RegionName is required for a replica update"))
        };
        let create = entry.get("Create").filter(|v| !v.is_null());
        let delete = entry.get("Delete").filter(|v| !v.is_null());
        let update = entry.get("Update").filter(|v| !v.is_null());
        match (create, delete, update) {
            (Some(action), None, None) => out.push(ReplicaUpdate::Create(region_of(action)?)),
            (None, Some(action), None) => out.push(ReplicaUpdate::Delete(region_of(action)?)),
            (None, None, Some(_)) => {
                return Err(ApiError::validation(
                    "Meridian does not support replica Update actions yet (replicas share the table's settings)",
                ))
            }
            _ => {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: exactly one of Create, Update or Delete must be given in each replica update",
                ))
            }
        }
    }
    Ok(out)
}

/// Applies replica updates to `table` and returns the table as it now is.
pub(crate) async fn apply_replica_updates(
    region: &dyn Region,
    table: &str,
    updates: &[ReplicaUpdate],
    version: &str,
) -> Result<TableMeta, ApiError> {
    let replicator = replicator(region)?;
    let creates: Vec<String> = updates
        .iter()
        .filter_map(|u| match u {
            ReplicaUpdate::Create(r) => Some(r.clone()),
            ReplicaUpdate::Delete(_) => None,
        })
        .collect();
    let deletes: Vec<String> = updates
        .iter()
        .filter_map(|u| match u {
            ReplicaUpdate::Delete(r) => Some(r.clone()),
            ReplicaUpdate::Create(_) => None,
        })
        .collect();
    let mut meta = None;
    if !creates.is_empty() {
        meta = Some(
            replicator
                .add_replicas(table, &creates, version)
                .await
                .map_err(control_error)?,
        );
    }
    if !deletes.is_empty() {
        meta = Some(
            replicator
                .remove_replicas(table, &deletes)
                .await
                .map_err(control_error)?,
        );
    }
    meta.ok_or_else(|| ApiError::validation("ReplicaUpdates is empty"))
}

/// Checks a CreateTable's `meridian:replicas` tag before the table is created.
pub(crate) fn check_replicas_tag(
    region: &dyn Region,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let Some(list) = tags.get(REPLICAS_TAG) else {
        return Ok(());
    };
    let replicator = replicator(region)?;
    for named in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        if !replicator.knows(named) {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: tag {REPLICAS_TAG} names region {named}, which is not one of this deployment's regions ({})",
                replicator.regions().join(", ")
            )));
        }
    }
    Ok(())
}

/// Dev mode: makes a newly created table global across every region, unless its tags say
/// `meridian:global` = `false`.
pub(crate) async fn auto_global(
    region: &dyn Region,
    meta: TableMeta,
) -> Result<TableMeta, ApiError> {
    let Some(replicator) = region.replication() else {
        return Ok(meta);
    };
    if let Some(list) = meta.tags.get(REPLICAS_TAG) {
        let named: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty() && *r != region.region_name())
            .map(str::to_owned)
            .collect();
        if named.is_empty() {
            return Ok(meta);
        }
        return replicator
            .add_replicas(&meta.name, &named, GLOBAL_TABLE_VERSION)
            .await
            .map_err(control_error);
    }
    let opted_out = meta
        .tags
        .get(LOCAL_TABLE_TAG)
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    if !replicator.auto_global() || opted_out {
        return Ok(meta);
    }
    let others: Vec<String> = replicator
        .regions()
        .into_iter()
        .filter(|r| r != region.region_name())
        .collect();
    if others.is_empty() {
        return Ok(meta);
    }
    replicator
        .add_replicas(&meta.name, &others, GLOBAL_TABLE_VERSION)
        .await
        .map_err(control_error)
}

/// After DeleteTable of a global table's replica: the other replicas stop shipping here.
pub(crate) fn announce_deletion(region: &dyn Region, meta: &TableMeta) {
    if let Some(replicator) = region.replication() {
        if meta.is_global() {
            replicator.leave(meta);
        }
    }
}

/// One replica in a TableDescription or a GlobalTableDescription.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReplicaDescription {
    region_name: String,
    replica_status: &'static str,
}

/// The other regions' replicas, as TableDescription.Replicas lists them.
pub(crate) fn replica_descriptions(meta: &TableMeta) -> Option<Vec<ReplicaDescription>> {
    let list: Vec<ReplicaDescription> = meta
        .replicas
        .iter()
        .filter(|r| r.region != meta.region)
        .map(|r| ReplicaDescription {
            region_name: r.region.clone(),
            replica_status: r.status.as_str(),
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

// ---------------------------------------------------------------- 2017.11.29

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GlobalTableDescription {
    replication_group: Vec<ReplicaDescription>,
    global_table_arn: String,
    creation_date_time: f64,
    global_table_status: &'static str,
    global_table_name: String,
}

fn global_description(meta: &TableMeta) -> GlobalTableDescription {
    let creating = meta
        .replicas
        .iter()
        .any(|r| r.status == ReplicaStatus::Creating);
    GlobalTableDescription {
        replication_group: meta
            .replicas
            .iter()
            .map(|r| ReplicaDescription {
                region_name: r.region.clone(),
                replica_status: r.status.as_str(),
            })
            .collect(),
        global_table_arn: format!(
            "arn:aws:dynamodb::{}:global-table/{}",
            model::table::ACCOUNT_ID,
            meta.name
        ),
        creation_date_time: epoch_seconds(meta.created_ms),
        global_table_status: if creating { "UPDATING" } else { "ACTIVE" },
        global_table_name: meta.name.clone(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GlobalTableDescriptionOutput {
    global_table_description: GlobalTableDescription,
}

/// A validated CreateGlobalTable.
#[derive(Debug)]
pub struct CreateGlobalTable {
    name: String,
    regions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegionWire {
    region_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateGlobalTableWire {
    global_table_name: Option<String>,
    replication_group: Option<Vec<RegionWire>>,
}

pub(crate) fn decode_create_global(body: &[u8]) -> Result<CreateGlobalTable, ApiError> {
    let wire: CreateGlobalTableWire = parse_body(body)?;
    let mut v = Violations::new();
    let name = v.table_name("globalTableName", wire.global_table_name.as_deref());
    let group = v.required("replicationGroup", &wire.replication_group);
    v.finish()?;
    let mut regions = Vec::new();
    for r in group.into_iter().flatten() {
        match &r.region_name {
            Some(name) if !name.is_empty() => regions.push(name.clone()),
            _ => {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: RegionName is required in ReplicationGroup",
                ))
            }
        }
    }
    Ok(CreateGlobalTable { name, regions })
}

pub(crate) async fn create_global(
    region: &dyn Region,
    req: CreateGlobalTable,
) -> Result<Vec<u8>, ApiError> {
    let replicator = replicator(region)?;
    let Some(meta) = table::load_table(region.store(), &req.name)? else {
        return Err(ApiError::GlobalTable(
            GlobalTableError::TableNotFound,
            format!("Table: {} not found in {}", req.name, region.region_name()),
        ));
    };
    if meta.is_global() {
        return Err(ApiError::GlobalTable(
            GlobalTableError::GlobalTableAlreadyExists,
            format!("Global table with name {} already exists", req.name),
        ));
    }
    for r in &req.regions {
        if !replicator.knows(r) {
            return Err(ApiError::validation(format!(
                "Region {r} is not one of this deployment's regions ({})",
                replicator.regions().join(", ")
            )));
        }
    }
    let others: Vec<String> = req
        .regions
        .iter()
        .filter(|r| *r != region.region_name())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if others.is_empty() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: ReplicationGroup must name at least one region other than this one",
        ));
    }
    let meta = replicator
        .add_replicas(&req.name, &others, LEGACY_GLOBAL_TABLE_VERSION)
        .await
        .map_err(control_error)?;
    json_body(&GlobalTableDescriptionOutput {
        global_table_description: global_description(&meta),
    })
}

/// A validated UpdateGlobalTable.
#[derive(Debug)]
pub struct UpdateGlobalTable {
    name: String,
    updates: Vec<ReplicaUpdate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateGlobalTableWire {
    global_table_name: Option<String>,
    replica_updates: Option<Value>,
}

pub(crate) fn decode_update_global(body: &[u8]) -> Result<UpdateGlobalTable, ApiError> {
    let wire: UpdateGlobalTableWire = parse_body(body)?;
    let mut v = Violations::new();
    let name = v.table_name("globalTableName", wire.global_table_name.as_deref());
    let updates = v.required("replicaUpdates", &wire.replica_updates).cloned();
    v.finish()?;
    let updates = decode_replica_updates(&updates.unwrap_or(Value::Null))?;
    Ok(UpdateGlobalTable { name, updates })
}

fn global_table(region: &dyn Region, name: &str) -> Result<TableMeta, ApiError> {
    match table::load_table(region.store(), name)? {
        Some(meta) if meta.is_global() => Ok(meta),
        _ => Err(ApiError::GlobalTable(
            GlobalTableError::GlobalTableNotFound,
            format!("Global table not found: Global table with name: '{name}' does not exist."),
        )),
    }
}

pub(crate) async fn update_global(
    region: &dyn Region,
    req: UpdateGlobalTable,
) -> Result<Vec<u8>, ApiError> {
    replicator(region)?;
    let meta = global_table(region, &req.name)?;
    for update in &req.updates {
        match update {
            ReplicaUpdate::Create(r) if meta.replicas.iter().any(|x| &x.region == r) => {
                return Err(ApiError::GlobalTable(
                    GlobalTableError::ReplicaAlreadyExists,
                    format!(
                        "Replica already exists in region {r} for global table {}",
                        req.name
                    ),
                ))
            }
            ReplicaUpdate::Delete(r) if !meta.replicas.iter().any(|x| &x.region == r) => {
                return Err(ApiError::GlobalTable(
                    GlobalTableError::ReplicaNotFound,
                    format!(
                        "Replica not found in region {r} for global table {}",
                        req.name
                    ),
                ))
            }
            _ => {}
        }
    }
    let version = meta
        .global_table_version
        .clone()
        .unwrap_or_else(|| LEGACY_GLOBAL_TABLE_VERSION.to_owned());
    let meta = apply_replica_updates(region, &req.name, &req.updates, &version).await?;
    json_body(&GlobalTableDescriptionOutput {
        global_table_description: global_description(&meta),
    })
}

/// DescribeGlobalTable's request.
#[derive(Debug)]
pub struct GlobalTableRef {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GlobalTableRefWire {
    global_table_name: Option<String>,
}

pub(crate) fn decode_describe_global(body: &[u8]) -> Result<GlobalTableRef, ApiError> {
    let wire: GlobalTableRefWire = parse_body(body)?;
    let mut v = Violations::new();
    let name = v.table_name("globalTableName", wire.global_table_name.as_deref());
    v.finish()?;
    Ok(GlobalTableRef { name })
}

pub(crate) fn describe_global(
    region: &dyn Region,
    req: &GlobalTableRef,
) -> Result<Vec<u8>, ApiError> {
    let meta = global_table(region, &req.name)?;
    json_body(&GlobalTableDescriptionOutput {
        global_table_description: global_description(&meta),
    })
}

/// A validated ListGlobalTables.
#[derive(Debug)]
pub struct ListGlobalTables {
    start: Option<String>,
    limit: usize,
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListGlobalTablesWire {
    exclusive_start_global_table_name: Option<String>,
    limit: Option<i64>,
    region_name: Option<String>,
}

/// Most global tables ListGlobalTables returns at once.
const LIST_GLOBAL_TABLES_LIMIT_MAX: i64 = 100;

pub(crate) fn decode_list_global(body: &[u8]) -> Result<ListGlobalTables, ApiError> {
    let wire: ListGlobalTablesWire = parse_body(body)?;
    let mut v = Violations::new();
    if let Some(limit) = wire.limit {
        v.at_least("limit", limit, 1);
    }
    v.finish()?;
    Ok(ListGlobalTables {
        start: wire.exclusive_start_global_table_name,
        limit: wire
            .limit
            .unwrap_or(LIST_GLOBAL_TABLES_LIMIT_MAX)
            .clamp(1, LIST_GLOBAL_TABLES_LIMIT_MAX) as usize,
        region: wire.region_name,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GlobalTableSummary {
    global_table_name: String,
    replication_group: Vec<RegionOnly>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RegionOnly {
    region_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListGlobalTablesOutput {
    global_tables: Vec<GlobalTableSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_global_table_name: Option<String>,
}

pub(crate) fn list_global(
    region: &dyn Region,
    req: &ListGlobalTables,
) -> Result<Vec<u8>, ApiError> {
    let mut tables = Vec::new();
    for name in table::list_tables(region.store())? {
        if req
            .start
            .as_ref()
            .is_some_and(|start| name.as_str() <= start.as_str())
        {
            continue;
        }
        let Some(meta) = table::load_table(region.store(), &name)? else {
            continue;
        };
        if !meta.is_global() {
            continue;
        }
        if let Some(r) = &req.region {
            if !meta.replicas.iter().any(|x| &x.region == r) {
                continue;
            }
        }
        tables.push(meta);
    }
    let more = tables.len() > req.limit;
    tables.truncate(req.limit);
    let last = more
        .then(|| tables.last().map(|m| m.name.clone()))
        .flatten();
    json_body(&ListGlobalTablesOutput {
        global_tables: tables
            .iter()
            .map(|m| GlobalTableSummary {
                global_table_name: m.name.clone(),
                replication_group: m
                    .replicas
                    .iter()
                    .map(|r| RegionOnly {
                        region_name: r.region.clone(),
                    })
                    .collect(),
            })
            .collect(),
        last_evaluated_global_table_name: last,
    })
}
