//! UpdateTable's GlobalSecondaryIndexUpdates: Create (then backfilled by the leader), Delete
//! and Update, with DynamoDB's rules: one index created or deleted at a time, AttributeDefinitions
//! for the new index's keys, throughput by billing mode.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use model::limits::{GLOBAL_INDEXES_MAX, PROJECTED_ATTRIBUTES_MAX};
use model::{BillingMode, IndexMeta, ProjectionType, ScalarType, TableMeta};
use table::Command;

use crate::error::ApiError;
use crate::indexes::{
    from_value, invalid, meta_of, present, projected_count, projection_checks, spec,
    throughput_checks, IndexSpec, IndexWire, ThroughputWire,
};
use crate::request::propose;
use crate::tables::WarmThroughputWire;
use crate::validate::Violations;
use crate::Region;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinitionWire {
    attribute_name: Option<String>,
    attribute_type: Option<String>,
}

/// One index definition, shape-checked; its keys are resolved against the attribute
/// definitions later.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexUpdateWire {
    create: Option<IndexWire>,
    delete: Option<IndexNameWire>,
    update: Option<IndexUpdateThroughputWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexNameWire {
    index_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexUpdateThroughputWire {
    index_name: Option<String>,
    provisioned_throughput: Option<ThroughputWire>,
    warm_throughput: Option<crate::tables::WarmThroughputWire>,
}

/// One GlobalSecondaryIndexUpdates action.
#[derive(Debug)]
pub(crate) enum IndexUpdate {
    Create(IndexSpec),
    Delete(String),
    /// New provisioned (read, write) units and WarmThroughput (reads, writes per second).
    Update(
        String,
        Option<(u64, u64)>,
        Option<crate::tables::WarmRequest>,
    ),
}

/// UpdateTable's GlobalSecondaryIndexUpdates and AttributeDefinitions, shape-checked.
#[derive(Debug, Default)]
pub struct UpdateIndexes {
    updates: Vec<IndexUpdate>,
    definitions: Vec<(String, ScalarType)>,
}

impl UpdateIndexes {
    /// Whether there is anything to do.
    pub(crate) fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// The WarmThroughput the Create and Update actions ask for, by index name, checked as
    /// DynamoDB does: at least one member, and an existing index's never lowered below what
    /// it reports now (its default raised by `record`). An Update of an unknown index is left
    /// to [`run_updates`], which refuses it.
    pub(crate) fn warm(
        &self,
        current: &TableMeta,
        record: &table::WarmRecord,
    ) -> Result<Vec<(String, table::WarmUnits)>, ApiError> {
        let mut out = Vec::new();
        for update in &self.updates {
            let (name, requested, now) = match update {
                IndexUpdate::Create(spec) => match spec.warm {
                    Some(w) => (&spec.name, w, (0, 0)),
                    None => continue,
                },
                IndexUpdate::Update(name, _, Some(w)) => {
                    let Some(index) = current.global_indexes.iter().find(|i| i.name == *name)
                    else {
                        continue;
                    };
                    let now = crate::describe::WarmThroughput::of_index(current, index)
                        .raised(record.index(name))
                        .units();
                    (name, *w, now)
                }
                IndexUpdate::Update(..) | IndexUpdate::Delete(_) => continue,
            };
            WarmThroughputWire::check_against(requested, now)?;
            out.push((name.clone(), WarmThroughputWire::units(requested)));
        }
        Ok(out)
    }
}

/// Decodes UpdateTable's GlobalSecondaryIndexUpdates (and the AttributeDefinitions a Create
/// needs).
pub(crate) fn decode_updates(
    updates: Option<&Value>,
    definitions: Option<&Value>,
) -> Result<UpdateIndexes, ApiError> {
    let Some(updates) = present(updates) else {
        return Ok(UpdateIndexes::default());
    };
    let wires: Vec<IndexUpdateWire> = from_value(updates)?;
    let mut v = Violations::new();
    let mut out = Vec::new();
    for (i, wire) in wires.iter().enumerate() {
        let field = format!("globalSecondaryIndexUpdates.{}.member", i + 1);
        let actions = usize::from(wire.create.is_some())
            + usize::from(wire.delete.is_some())
            + usize::from(wire.update.is_some());
        if actions == 0 {
            v.finish()?;
            return Err(invalid(
                "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null",
            ));
        }
        if actions > 1 {
            v.finish()?;
            return Err(invalid(
                "Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object",
            ));
        }
        if let Some(create) = &wire.create {
            if let Some(spec) = spec(
                &mut v,
                &format!("{field}.create"),
                create,
                crate::multi_key::GSI_KEY_SCHEMA_MAX,
            ) {
                out.push(IndexUpdate::Create(spec));
            }
        }
        if let Some(delete) = &wire.delete {
            if let Some(name) = v.required(&format!("{field}.delete.indexName"), &delete.index_name)
            {
                out.push(IndexUpdate::Delete(name.clone()));
            }
        }
        if let Some(update) = &wire.update {
            let name = v.required(&format!("{field}.update.indexName"), &update.index_name);
            let throughput = update.provisioned_throughput.as_ref().and_then(|t| {
                let r = t.read_capacity_units?;
                let w = t.write_capacity_units?;
                v.at_least(
                    &format!("{field}.update.provisionedThroughput.readCapacityUnits"),
                    r,
                    1,
                );
                v.at_least(
                    &format!("{field}.update.provisionedThroughput.writeCapacityUnits"),
                    w,
                    1,
                );
                Some((u64::try_from(r).ok()?, u64::try_from(w).ok()?))
            });
            let warm = update
                .warm_throughput
                .as_ref()
                .map(|w| w.check(&mut v, &format!("{field}.update.warmThroughput")));
            if let Some(name) = name {
                out.push(IndexUpdate::Update(name.clone(), throughput, warm));
            }
        }
    }
    let mut defs = Vec::new();
    if let Some(value) = present(definitions) {
        let wires: Vec<AttributeDefinitionWire> = from_value(value)?;
        for (i, d) in wires.iter().enumerate() {
            let f = format!("attributeDefinitions.{}.member", i + 1);
            let name = v.required(&format!("{f}.attributeName"), &d.attribute_name);
            let scalar = match &d.attribute_type {
                None => {
                    v.null(&format!("{f}.attributeType"));
                    None
                }
                Some(t) => v.enumeration(
                    &format!("{f}.attributeType"),
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
                defs.push((name.clone(), scalar));
            }
        }
    }
    v.finish()?;
    if out.is_empty() {
        return Err(invalid("List of GlobalSecondaryIndexUpdates is empty"));
    }
    let mut named = BTreeSet::new();
    for u in &out {
        let name = match u {
            IndexUpdate::Create(s) => &s.name,
            IndexUpdate::Delete(n) | IndexUpdate::Update(n, ..) => n,
        };
        if !named.insert(name.clone()) {
            return Err(invalid(format_args!(
                "Only one global secondary index update per index is allowed simultaneously. Index: {name}"
            )));
        }
    }
    Ok(UpdateIndexes {
        updates: out,
        definitions: defs,
    })
}

fn online_index_limit() -> ApiError {
    ApiError::LimitExceeded(
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table".into(),
    )
}

/// Runs UpdateTable's index actions against the table as it is now; answers the table after
/// the last one.
pub(crate) async fn run_updates(
    region: &dyn Region,
    current: &TableMeta,
    req: &UpdateIndexes,
) -> Result<TableMeta, ApiError> {
    let creates_or_deletes = req
        .updates
        .iter()
        .filter(|u| !matches!(u, IndexUpdate::Update(..)))
        .count();
    if creates_or_deletes > 1 {
        return Err(online_index_limit());
    }
    let mut meta = current.clone();
    for update in &req.updates {
        let command = match update {
            IndexUpdate::Create(spec) => create_command(current, spec, &req.definitions)?,
            IndexUpdate::Delete(name) => {
                check_existing(current, name, "delete")?;
                // An index still backfilling may itself be deleted (as in DynamoDB); another
                // one may not be deleted meanwhile.
                if current
                    .global_indexes
                    .iter()
                    .any(|i| i.backfilling && i.name != *name)
                {
                    return Err(online_index_limit());
                }
                Command::DeleteIndex {
                    table: current.name.clone(),
                    index: name.clone(),
                }
            }
            IndexUpdate::Update(name, throughput, warm) => {
                check_existing(current, name, "update")?;
                let provisioned = match (current.billing_mode, throughput) {
                    (BillingMode::PayPerRequest, Some(_)) => {
                        return Err(invalid(format_args!(
                            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
                        )))
                    }
                    (BillingMode::PayPerRequest, None) => continue,
                    // Only WarmThroughput: set with the table's other warm throughput.
                    (BillingMode::Provisioned, None) if warm.is_some() => continue,
                    (BillingMode::Provisioned, None) => {
                        return Err(invalid(format_args!(
                            "Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: {name}"
                        )))
                    }
                    (BillingMode::Provisioned, Some(p)) => *p,
                };
                Command::UpdateIndex {
                    table: current.name.clone(),
                    index: name.clone(),
                    provisioned,
                    now_ms: region.clock().now_ms(),
                }
            }
        };
        meta = crate::tables::expect_table(propose(region, &command).await?)?;
        // Every replica of a global table has the same indexes.
        let definition = matches!(
            command,
            Command::CreateIndex { .. } | Command::DeleteIndex { .. }
        );
        if let Some(replicator) = region
            .replication()
            .filter(|_| definition && meta.is_global())
        {
            replicator.propagate_definition(&meta, &command);
        }
    }
    Ok(meta)
}

fn check_existing(meta: &TableMeta, name: &str, verb: &str) -> Result<(), ApiError> {
    if meta.global_indexes.iter().any(|i| i.name == name) {
        return Ok(());
    }
    if meta.local_indexes.iter().any(|i| i.name == name) {
        return Err(ApiError::Validation(format!(
            "Cannot {verb} an index that is not a GlobalSecondaryIndex: {name}"
        )));
    }
    Err(ApiError::ResourceNotFound(format!(
        "Requested resource not found: Index: {name} not found for table {}",
        meta.name
    )))
}

fn create_command(
    meta: &TableMeta,
    spec: &IndexSpec,
    given: &[(String, ScalarType)],
) -> Result<Command, ApiError> {
    if meta.index(&spec.name).is_some() {
        return Err(ApiError::validation(
            "Attempting to create an index which already exists",
        ));
    }
    if meta.global_indexes.iter().any(|i| i.backfilling) {
        return Err(online_index_limit());
    }
    if meta.global_indexes.len() >= GLOBAL_INDEXES_MAX {
        return Err(ApiError::LimitExceeded(format!(
            "Subscriber limit exceeded: The maximum number of global secondary indexes per table is {GLOBAL_INDEXES_MAX}"
        )));
    }
    // The new index's key attributes must be defined, in the request or (for the table's own
    // key attributes) already; a definition that contradicts the table's own is refused.
    let mut known: Vec<(String, ScalarType)> = given.to_vec();
    for (name, scalar) in &meta.attribute_definitions {
        if !known.iter().any(|(n, _)| n == name) {
            known.push((name.clone(), *scalar));
        }
    }
    for (name, _) in &spec.keys {
        if !known.iter().any(|(n, _)| n == name) {
            return Err(invalid(format_args!(
                "AttributeDefinitions is not specified for index: {}",
                spec.name
            )));
        }
    }
    for (name, scalar) in given {
        if let Some((_, existing)) = meta.attribute_definitions.iter().find(|(n, _)| n == name) {
            if existing != scalar {
                return Err(invalid(format_args!(
                    "Cannot change the type of attribute {name} from {} to {}",
                    existing.as_str(),
                    scalar.as_str()
                )));
            }
        }
    }
    let keys = crate::multi_key::global_key_schema(spec, &known)?;
    projection_checks(spec)?;
    let existing: Vec<&IndexMeta> = meta.indexes().collect();
    let new_count = spec
        .non_key_attributes
        .as_ref()
        .filter(|_| spec.projection == ProjectionType::Include)
        .map_or(0, Vec::len);
    if projected_count(&existing) + new_count > PROJECTED_ATTRIBUTES_MAX {
        return Err(ApiError::LimitExceeded(format!(
            "Number of projected attributes in all indexes exceeds limit of {PROJECTED_ATTRIBUTES_MAX}"
        )));
    }
    let provisioned = throughput_checks(spec, meta.billing_mode, false)?;
    let definitions: Vec<(String, ScalarType)> = keys
        .attributes()
        .map(|a| (a.name.clone(), a.scalar))
        .collect();
    Ok(Command::CreateIndex {
        table: meta.name.clone(),
        index: crate::indexes::with_fresh_id(meta_of(spec, keys, provisioned)),
        attribute_definitions: definitions,
    })
}
