//! Table operations: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable, and the
//! account-level DescribeEndpoints and DescribeLimits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use model::limits::{KEY_ATTRIBUTE_NAME_BYTES_MAX, LIST_TABLES_LIMIT_MAX};
use model::{
    BillingMode, KeyAttribute, KeySchema, ProvisionedThroughput, ScalarType, TableMeta, TableStatus,
};
use table::{Command, Outcome};

use crate::describe::TableDescription;
use crate::error::ApiError;
use crate::request::{json_body, propose};
use crate::tags::{decode_tags, TagWire};
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

/// Table classes DynamoDB offers (metadata only in Meridian).
pub(crate) const TABLE_CLASSES: &[(&str, &str)] = &[
    ("STANDARD", "STANDARD"),
    ("STANDARD_INFREQUENT_ACCESS", "STANDARD_INFREQUENT_ACCESS"),
];
pub(crate) const TABLE_CLASSES_SHOWN: &str = "STANDARD, STANDARD_INFREQUENT_ACCESS";
pub(crate) const BILLING_MODES: &[(&str, BillingMode)] = &[
    ("PROVISIONED", BillingMode::Provisioned),
    ("PAY_PER_REQUEST", BillingMode::PayPerRequest),
];
pub(crate) const BILLING_MODES_SHOWN: &str = "PROVISIONED, PAY_PER_REQUEST";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTableWire {
    table_name: Option<String>,
    attribute_definitions: Option<Vec<AttributeDefinitionWire>>,
    key_schema: Option<Vec<KeySchemaElementWire>>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<ThroughputWire>,
    tags: Option<Vec<TagWire>>,
    deletion_protection_enabled: Option<bool>,
    table_class: Option<String>,
    global_secondary_indexes: Option<Value>,
    local_secondary_indexes: Option<Value>,
    stream_specification: Option<StreamSpecificationWire>,
    warm_throughput: Option<WarmThroughputWire>,
}

/// A requested WarmThroughput, checked for shape: (ReadUnitsPerSecond, WriteUnitsPerSecond),
/// each if given.
pub(crate) type WarmRequest = (Option<u64>, Option<u64>);

/// A requested WarmThroughput (CreateTable, UpdateTable).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WarmThroughputWire {
    read_units_per_second: Option<i64>,
    write_units_per_second: Option<i64>,
}

impl WarmThroughputWire {
    /// Checks the members (at least 1 each) of the WarmThroughput at `field`
    /// (`warmThroughput`, or an index's). Returns the requested (reads, writes) per second.
    pub(crate) fn check(&self, v: &mut Violations, field: &str) -> WarmRequest {
        let mut unit = |field: &str, value: Option<i64>| {
            let value = value?;
            v.at_least(field, value, 1);
            u64::try_from(value).ok().filter(|u| *u >= 1)
        };
        let read = unit(
            &format!("{field}.readUnitsPerSecond"),
            self.read_units_per_second,
        );
        let write = unit(
            &format!("{field}.writeUnitsPerSecond"),
            self.write_units_per_second,
        );
        (read, write)
    }

    /// The stored form of checked (reads, writes): 0 for a member not given.
    pub(crate) fn units(requested: WarmRequest) -> table::WarmUnits {
        table::WarmUnits {
            read: requested.0.unwrap_or(0),
            write: requested.1.unwrap_or(0),
        }
    }

    /// Refuses a request for less than the table's warm throughput now (DynamoDB only
    /// raises warm throughput) or for no value at all.
    pub(crate) fn check_against(
        requested: WarmRequest,
        current: (u64, u64),
    ) -> Result<(), ApiError> {
        if requested == (None, None) {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: WarmThroughput must specify \
                 ReadUnitsPerSecond, WriteUnitsPerSecond or both",
            ));
        }
        let lower = |asked: Option<u64>, now: u64| asked.is_some_and(|a| a < now);
        if lower(requested.0, current.0) || lower(requested.1, current.1) {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: WarmThroughput cannot be lower \
                 than the current warm throughput ({} ReadUnitsPerSecond, {} \
                 WriteUnitsPerSecond)",
                current.0, current.1
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinitionWire {
    attribute_name: Option<String>,
    attribute_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeySchemaElementWire {
    attribute_name: Option<String>,
    key_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ThroughputWire {
    read_capacity_units: Option<i64>,
    write_capacity_units: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StreamSpecificationWire {
    pub(crate) stream_enabled: Option<bool>,
    pub(crate) stream_view_type: Option<String>,
}

/// A validated CreateTable; ids and timestamps are chosen when it runs.
#[derive(Debug)]
pub struct CreateTable {
    name: String,
    key_schema: KeySchema,
    attribute_definitions: Vec<(String, ScalarType)>,
    billing_mode: BillingMode,
    provisioned: (u64, u64),
    tags: BTreeMap<String, String>,
    deletion_protection: bool,
    table_class: String,
    global_indexes: Vec<model::IndexMeta>,
    local_indexes: Vec<model::IndexMeta>,
    /// The view type of the stream to create with the table.
    stream: Option<model::StreamViewType>,
    /// WarmThroughput of the table and of its global secondary indexes (by name).
    warm: Option<table::WarmUnits>,
    index_warm: Vec<(String, table::WarmUnits)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Hash,
    Range,
}

/// Decodes and validates CreateTable.
pub(crate) fn decode_create(body: &[u8]) -> Result<CreateTable, ApiError> {
    let wire: CreateTableWire = parse_body(body)?;
    let mut v = Violations::new();
    let name = v.table_name("tableName", wire.table_name.as_deref());
    let mut definitions = Vec::new();
    match &wire.attribute_definitions {
        None => v.null("attributeDefinitions"),
        Some(defs) => {
            for (i, d) in defs.iter().enumerate() {
                let field = format!("attributeDefinitions.{}.member", i + 1);
                let name =
                    attribute_name(&mut v, &format!("{field}.attributeName"), &d.attribute_name);
                let scalar = match &d.attribute_type {
                    None => {
                        v.null(&format!("{field}.attributeType"));
                        None
                    }
                    Some(t) => v.enumeration(
                        &format!("{field}.attributeType"),
                        Some(t),
                        &[
                            ("B", ScalarType::B),
                            ("N", ScalarType::N),
                            ("S", ScalarType::S),
                        ],
                        "B, N, S",
                    ),
                };
                if let (Some(name), Some(scalar)) = (name, scalar) {
                    definitions.push((name, scalar));
                }
            }
        }
    }
    let mut keys = Vec::new();
    match &wire.key_schema {
        None => v.null("keySchema"),
        Some(elements) => {
            v.length(
                "keySchema",
                crate::wire::shown(&key_schema_names(elements)),
                elements.len(),
                1,
                2,
            );
            for (i, e) in elements.iter().enumerate() {
                let field = format!("keySchema.{}.member", i + 1);
                let name =
                    attribute_name(&mut v, &format!("{field}.attributeName"), &e.attribute_name);
                let key_type = match &e.key_type {
                    None => {
                        v.null(&format!("{field}.keyType"));
                        None
                    }
                    Some(t) => v.enumeration(
                        &format!("{field}.keyType"),
                        Some(t),
                        &[("HASH", KeyType::Hash), ("RANGE", KeyType::Range)],
                        "HASH, RANGE",
                    ),
                };
                if let (Some(name), Some(key_type)) = (name, key_type) {
                    keys.push((name, key_type));
                }
            }
        }
    }
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
    let table_class = v
        .enumeration(
            "tableClass",
            wire.table_class.as_deref(),
            TABLE_CLASSES,
            TABLE_CLASSES_SHOWN,
        )
        .unwrap_or("STANDARD");
    let tags = decode_tags(&mut v, wire.tags.as_deref().unwrap_or_default())?;
    let indexes = crate::indexes::decode_create(
        &mut v,
        wire.global_secondary_indexes.as_ref(),
        wire.local_secondary_indexes.as_ref(),
    )?;
    let warm = wire
        .warm_throughput
        .as_ref()
        .map(|w| w.check(&mut v, "warmThroughput"));
    v.finish()?;
    // Any value of at least 1 raises a new table's (or index's) warm throughput; none is
    // lower. What is reported is the larger of DynamoDB's default and the value set.
    if let Some(warm) = warm {
        WarmThroughputWire::check_against(warm, (0, 0))?;
    }
    let mut index_warm = Vec::new();
    for (index, requested) in indexes.global_warm() {
        WarmThroughputWire::check_against(requested, (0, 0))?;
        index_warm.push((index, WarmThroughputWire::units(requested)));
    }

    let stream = crate::streams::stream_spec(wire.stream_specification.as_ref())?.flatten();
    let key_schema = key_schema(&keys, &definitions, indexes.any())?;
    let billing_mode = billing_mode.unwrap_or(BillingMode::Provisioned);
    let provisioned = billing_throughput(billing_mode, throughput)?;
    let (global_indexes, local_indexes) =
        crate::indexes::build_create(&indexes, &key_schema, &definitions, billing_mode)?;
    Ok(CreateTable {
        name,
        key_schema,
        attribute_definitions: definitions,
        billing_mode,
        provisioned,
        tags,
        deletion_protection: wire.deletion_protection_enabled.unwrap_or(false),
        table_class: table_class.to_owned(),
        global_indexes,
        local_indexes,
        stream,
        warm: warm.map(WarmThroughputWire::units),
        index_warm,
    })
}

fn key_schema_names(elements: &[KeySchemaElementWire]) -> Vec<&str> {
    elements
        .iter()
        .map(|e| e.attribute_name.as_deref().unwrap_or(""))
        .collect()
}

fn attribute_name(v: &mut Violations, field: &str, name: &Option<String>) -> Option<String> {
    let name = v.required(field, name)?;
    v.length(field, name, name.len(), 1, KEY_ATTRIBUTE_NAME_BYTES_MAX);
    Some(name.clone())
}

/// Checks a ProvisionedThroughput's members; `None` members stay `None`.
pub(crate) fn throughput(v: &mut Violations, t: &ThroughputWire) -> (Option<u64>, Option<u64>) {
    let mut unit = |field: &str, value: Option<i64>| {
        let value = value?;
        v.at_least(field, value, 1);
        u64::try_from(value).ok().filter(|u| *u >= 1)
    };
    (
        unit(
            "provisionedThroughput.readCapacityUnits",
            t.read_capacity_units,
        ),
        unit(
            "provisionedThroughput.writeCapacityUnits",
            t.write_capacity_units,
        ),
    )
}

/// DynamoDB's rules tying BillingMode to ProvisionedThroughput at creation.
fn billing_throughput(
    mode: BillingMode,
    throughput: Option<(Option<u64>, Option<u64>)>,
) -> Result<(u64, u64), ApiError> {
    match (mode, throughput) {
        (BillingMode::Provisioned, Some((Some(r), Some(w)))) => Ok((r, w)),
        (BillingMode::Provisioned, _) => Err(ApiError::validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        (BillingMode::PayPerRequest, None) => Ok((0, 0)),
        (BillingMode::PayPerRequest, Some(_)) => Err(ApiError::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
    }
}

/// Checks KeySchema against AttributeDefinitions, with DynamoDB's messages.
fn key_schema(
    keys: &[(String, KeyType)],
    definitions: &[(String, ScalarType)],
    has_indexes: bool,
) -> Result<KeySchema, ApiError> {
    let invalid = |m: &str| Err(ApiError::validation(m));
    let Some((hash_name, hash_type)) = keys.first() else {
        return invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
    };
    if *hash_type != KeyType::Hash {
        return invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
    }
    let range = keys.get(1);
    if let Some((range_name, range_type)) = range {
        if *range_type != KeyType::Range {
            return invalid(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            );
        }
        if range_name == hash_name {
            return invalid(
                "Invalid KeySchema: Both the Hash Key and the Range Key element in the KeySchema have the same name",
            );
        }
    }
    let mut seen: Vec<&str> = definitions.iter().map(|(n, _)| n.as_str()).collect();
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return invalid(
            "One or more parameter values were invalid: Duplicate AttributeName in AttributeDefinitions",
        );
    }
    let lookup = |name: &str| definitions.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
    let key_names: Vec<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
    let (Some(hash_scalar), range_scalar) = (lookup(hash_name), range.map(|(n, _)| lookup(n)))
    else {
        return Err(undefined_keys(&key_names, definitions));
    };
    if range_scalar == Some(None) {
        return Err(undefined_keys(&key_names, definitions));
    }
    // With indexes, unused definitions are reported once the indexes' keys are known.
    if definitions.len() != keys.len() && !has_indexes {
        return invalid(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        );
    }
    Ok(KeySchema {
        partition_rest: Vec::new(),
        sort_rest: Vec::new(),
        partition: KeyAttribute {
            name: hash_name.clone(),
            scalar: hash_scalar,
        },
        sort: range
            .zip(range_scalar.flatten())
            .map(|((name, _), scalar)| KeyAttribute {
                name: name.clone(),
                scalar,
            }),
    })
}

fn undefined_keys(keys: &[&str], definitions: &[(String, ScalarType)]) -> ApiError {
    let defined: Vec<&str> = definitions.iter().map(|(n, _)| n.as_str()).collect();
    ApiError::Validation(format!(
        "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
        keys.join(", "),
        defined.join(", ")
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TableDescriptionOutput<'a> {
    pub(crate) table_description: TableDescription<'a>,
}

/// Runs CreateTable: chooses the table id and creation time, then proposes it.
pub(crate) async fn create(region: &dyn Region, req: CreateTable) -> Result<Vec<u8>, ApiError> {
    crate::global::check_replicas_tag(region, &req.tags)?;
    let warm = table::WarmUpdate {
        table: req.name.clone(),
        units: req.warm,
        indexes: req.index_warm.clone(),
    };
    let meta = new_meta(region, req);
    let mut meta = expect_table(propose(region, &Command::CreateTable(meta)).await?)?;
    // `Command::CreateTable` carries a bare `TableMeta`, which cannot take the warm throughput
    // without changing its encoded shape: it is set by the next entry. A crash in between
    // leaves the table with the default warm throughput, which a repeated UpdateTable raises.
    if !warm.is_empty() {
        meta = expect_table(propose(region, &Command::SetWarmThroughput(warm.clone())).await?)?;
    }
    let meta = crate::global::auto_global(region, meta).await?;
    let mut record = table::WarmRecord::default();
    record.raise(&warm);
    json_body(&TableDescriptionOutput {
        table_description: TableDescription::new(&meta, 0, 0).with_warm(&record),
    })
}

/// The new table a validated CreateTable (or ImportTable's TableCreationParameters) defines,
/// with a fresh id and this region's clock.
pub(crate) fn new_meta(region: &dyn Region, req: CreateTable) -> TableMeta {
    let now_ms = region.clock().now_ms();
    let on_demand = req.billing_mode == BillingMode::PayPerRequest;
    TableMeta {
        name: req.name,
        id: uuid::Uuid::new_v4(),
        region: region.region_name().to_owned(),
        key_schema: req.key_schema,
        attribute_definitions: req.attribute_definitions,
        billing_mode: req.billing_mode,
        billing_mode_updated_ms: on_demand.then_some(now_ms),
        provisioned: ProvisionedThroughput {
            read_capacity_units: req.provisioned.0,
            write_capacity_units: req.provisioned.1,
            last_increase_ms: None,
            last_decrease_ms: None,
            decreases_today: 0,
        },
        tags: req.tags,
        deletion_protection: req.deletion_protection,
        table_class: req.table_class,
        created_ms: now_ms,
        status: TableStatus::Active,
        global_indexes: fresh_ids(req.global_indexes),
        local_indexes: fresh_ids(req.local_indexes),
        stream: req
            .stream
            .map(|view_type| table::stream::initial_stream(view_type, now_ms)),
        ttl: None,
        replicas: Vec::new(),
        global_table_version: None,
    }
}

fn fresh_ids(indexes: Vec<model::IndexMeta>) -> Vec<model::IndexMeta> {
    indexes
        .into_iter()
        .map(crate::indexes::with_fresh_id)
        .collect()
}

pub(crate) fn expect_table(outcome: Outcome) -> Result<TableMeta, ApiError> {
    match outcome {
        Outcome::Table(meta) => Ok(meta),
        other => Err(ApiError::internal(format_args!(
            "unexpected outcome {other:?}"
        ))),
    }
}

/// A request naming one table (DescribeTable, DeleteTable).
#[derive(Debug)]
pub struct TableRef {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableRefWire {
    table_name: Option<String>,
}

impl TableRef {
    /// The table's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// Decodes DescribeTable or DeleteTable.
pub(crate) fn decode_table_ref(body: &[u8]) -> Result<TableRef, ApiError> {
    let wire: TableRefWire = parse_body(body)?;
    let name = crate::validate::table_name("tableName", wire.table_name.as_deref())?;
    Ok(TableRef { name })
}

/// The ResourceNotFoundException for a missing table.
pub(crate) fn table_not_found(name: &str) -> ApiError {
    ApiError::ResourceNotFound(format!(
        "Requested resource not found: Table: {name} not found"
    ))
}

/// Loads a table's metadata from the local replica, or ResourceNotFound.
pub(crate) fn load(region: &dyn Region, name: &str) -> Result<TableMeta, ApiError> {
    table::load_table(region.store(), name)?.ok_or_else(|| table_not_found(name))
}

/// Runs DescribeTable.
pub(crate) fn describe(region: &dyn Region, req: &TableRef) -> Result<Vec<u8>, ApiError> {
    let meta = load(region, &req.name)?;
    let stats = table::table_stats(region.store(), &meta)?;
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        table: TableDescription<'a>,
    }
    json_body(&Output {
        table: TableDescription::new(&meta, stats.item_count, stats.size_bytes)
            .with_indexes(&meta, &crate::index_views::stats_of(region.store()))
            .with_warm(&crate::describe::warm_record(region, &meta)?)
            .with_restore(table::backup::restore_summary(region.store(), &meta)?.as_ref()),
    })
}

/// Runs DeleteTable.
pub(crate) async fn delete(region: &dyn Region, req: TableRef) -> Result<Vec<u8>, ApiError> {
    let command = Command::DeleteTable { name: req.name };
    let meta = expect_table(propose(region, &command).await?)?;
    crate::global::announce_deletion(region, &meta);
    json_body(&TableDescriptionOutput {
        table_description: TableDescription::new(&meta, 0, 0).with_status(TableStatus::Deleting),
    })
}

/// A validated ListTables.
#[derive(Debug)]
pub struct ListTables {
    limit: usize,
    exclusive_start: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTablesWire {
    limit: Option<i64>,
    exclusive_start_table_name: Option<String>,
}

/// Decodes ListTables.
pub(crate) fn decode_list(body: &[u8]) -> Result<ListTables, ApiError> {
    let wire: ListTablesWire = parse_body(body)?;
    let mut v = Violations::new();
    let max = LIST_TABLES_LIMIT_MAX as i64;
    if let Some(limit) = wire.limit {
        v.at_least("limit", limit, 1);
        v.at_most("limit", limit, max);
    }
    if let Some(start) = &wire.exclusive_start_table_name {
        v.plain_table_name("exclusiveStartTableName", start);
    }
    v.finish()?;
    Ok(ListTables {
        limit: usize::try_from(wire.limit.unwrap_or(max)).unwrap_or(LIST_TABLES_LIMIT_MAX),
        exclusive_start: wire.exclusive_start_table_name,
    })
}

/// Runs ListTables over the local catalog (sorted by name).
pub(crate) fn list(region: &dyn Region, req: &ListTables) -> Result<Vec<u8>, ApiError> {
    let names = table::list_tables(region.store())?;
    let start = match &req.exclusive_start {
        Some(s) => names.partition_point(|n| n.as_str() <= s.as_str()),
        None => 0,
    };
    let rest = &names[start..];
    let page = &rest[..rest.len().min(req.limit)];
    let more = rest.len() > page.len();
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        table_names: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        last_evaluated_table_name: Option<&'a String>,
    }
    json_body(&Output {
        table_names: page,
        last_evaluated_table_name: if more { page.last() } else { None },
    })
}
