//! Secondary index definitions at the front door: GlobalSecondaryIndexes and
//! LocalSecondaryIndexes of CreateTable and GlobalSecondaryIndexUpdates of UpdateTable, with
//! DynamoDB's validation and messages (UpdateTable's actions in `index_updates`).
//! `index_views` describes indexes and checks reads; `backfill` fills indexes added to a
//! loaded table.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use model::limits::{
    GLOBAL_INDEXES_MAX, INDEX_NAME_LEN_MAX, INDEX_NAME_LEN_MIN, KEY_ATTRIBUTE_NAME_BYTES_MAX,
    LOCAL_INDEXES_MAX, PROJECTED_ATTRIBUTES_MAX,
};
use model::{
    BillingMode, IndexMeta, IndexStatus, KeyAttribute, KeySchema, ProjectionType,
    ProvisionedThroughput, ScalarType,
};

use crate::error::ApiError;
use crate::validate::Violations;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IndexWire {
    index_name: Option<String>,
    key_schema: Option<Vec<KeyElementWire>>,
    projection: Option<ProjectionWire>,
    provisioned_throughput: Option<ThroughputWire>,
    /// Global secondary indexes only (ignored on a local one, which has none).
    warm_throughput: Option<crate::tables::WarmThroughputWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyElementWire {
    attribute_name: Option<String>,
    key_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionWire {
    projection_type: Option<String>,
    non_key_attributes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ThroughputWire {
    pub(crate) read_capacity_units: Option<i64>,
    pub(crate) write_capacity_units: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct IndexSpec {
    pub(crate) name: String,
    /// (attribute, is_range) in the order given.
    pub(crate) keys: Vec<(String, bool)>,
    pub(crate) projection: ProjectionType,
    pub(crate) non_key_attributes: Option<Vec<String>>,
    throughput: Option<(u64, u64)>,
    throughput_given: bool,
    /// WarmThroughput (reads, writes per second), checked for shape.
    pub(crate) warm: Option<crate::tables::WarmRequest>,
    /// Projection given without a ProjectionType: refused after the shape checks, as
    /// DynamoDB does.
    projection_type_missing: bool,
}

/// CreateTable's index members, shape-checked.
#[derive(Debug, Default)]
pub struct CreateIndexes {
    global: Option<Vec<IndexSpec>>,
    local: Option<Vec<IndexSpec>>,
}

impl CreateIndexes {
    /// Whether the request declares any index (DynamoDB then words the attribute definition
    /// checks differently).
    pub(crate) fn any(&self) -> bool {
        self.global.is_some() || self.local.is_some()
    }

    /// The global secondary indexes' requested WarmThroughput, by index name.
    pub(crate) fn global_warm(&self) -> Vec<(String, crate::tables::WarmRequest)> {
        self.global
            .iter()
            .flatten()
            .filter_map(|spec| Some((spec.name.clone(), spec.warm?)))
            .collect()
    }
}

pub(crate) fn from_value<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, ApiError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ApiError::Serialization("Start of structure or map found where not expected".into())
    })
}

pub(crate) fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

/// `max_keys`: the most KeySchema elements the index may have (8 for a global index, whose
/// key may have several attributes, 2 for a local one).
pub(crate) fn spec(
    v: &mut Violations,
    field: &str,
    wire: &IndexWire,
    max_keys: usize,
) -> Option<IndexSpec> {
    let name = v.required(&format!("{field}.indexName"), &wire.index_name);
    if let Some(name) = name {
        v.length(
            &format!("{field}.indexName"),
            name,
            name.len(),
            INDEX_NAME_LEN_MIN,
            INDEX_NAME_LEN_MAX,
        );
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            v.push(
                format_args!("'{name}'"),
                &format!("{field}.indexName"),
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            );
        }
    }
    let mut keys = Vec::new();
    match &wire.key_schema {
        None => v.null(&format!("{field}.keySchema")),
        Some(elements) => {
            let shown: Vec<&str> = elements
                .iter()
                .map(|e| e.attribute_name.as_deref().unwrap_or(""))
                .collect();
            v.length(
                &format!("{field}.keySchema"),
                crate::wire::shown(&shown),
                elements.len(),
                1,
                max_keys,
            );
            for (i, e) in elements.iter().enumerate() {
                let f = format!("{field}.keySchema.{}.member", i + 1);
                let name = v.required(&format!("{f}.attributeName"), &e.attribute_name);
                if let Some(name) = name {
                    v.length(
                        &format!("{f}.attributeName"),
                        name,
                        name.len(),
                        1,
                        KEY_ATTRIBUTE_NAME_BYTES_MAX,
                    );
                }
                let key_type = match &e.key_type {
                    None => {
                        v.null(&format!("{f}.keyType"));
                        None
                    }
                    Some(t) => v.enumeration(
                        &format!("{f}.keyType"),
                        Some(t),
                        &[("HASH", false), ("RANGE", true)],
                        "HASH, RANGE",
                    ),
                };
                if let (Some(name), Some(is_range)) = (name, key_type) {
                    keys.push((name.clone(), is_range));
                }
            }
        }
    }
    let projection = match &wire.projection {
        None => {
            v.null(&format!("{field}.projection"));
            None
        }
        Some(p) => {
            if let Some(attrs) = &p.non_key_attributes {
                v.length(
                    &format!("{field}.projection.nonKeyAttributes"),
                    crate::wire::shown(attrs),
                    attrs.len(),
                    1,
                    20,
                );
            }
            Some(p)
        }
    };
    let projection_type = projection.and_then(|p| {
        v.enumeration(
            &format!("{field}.projection.projectionType"),
            p.projection_type.as_deref(),
            &[
                ("ALL", ProjectionType::All),
                ("KEYS_ONLY", ProjectionType::KeysOnly),
                ("INCLUDE", ProjectionType::Include),
            ],
            "ALL, INCLUDE, KEYS_ONLY",
        )
    });
    let throughput = wire.provisioned_throughput.as_ref().map(|t| {
        let mut unit = |member: &str, value: Option<i64>| {
            let f = format!("{field}.provisionedThroughput.{member}");
            match value {
                None => {
                    v.null(&f);
                    None
                }
                Some(value) => {
                    v.at_least(&f, value, 1);
                    u64::try_from(value).ok().filter(|u| *u >= 1)
                }
            }
        };
        let r = unit("readCapacityUnits", t.read_capacity_units);
        let w = unit("writeCapacityUnits", t.write_capacity_units);
        r.zip(w)
    });
    let warm = wire
        .warm_throughput
        .as_ref()
        .map(|w| w.check(v, &format!("{field}.warmThroughput")));
    let name = name?.clone();
    let projection = projection?;
    let projection_type_missing = projection.projection_type.is_none();
    if projection_type.is_none() && !projection_type_missing {
        return None;
    }
    Some(IndexSpec {
        name,
        keys,
        projection: projection_type.unwrap_or(ProjectionType::All),
        non_key_attributes: projection.non_key_attributes.clone(),
        throughput: throughput.flatten(),
        throughput_given: wire.provisioned_throughput.is_some(),
        warm,
        projection_type_missing,
    })
}

fn specs(
    v: &mut Violations,
    field: &str,
    value: Option<&Value>,
    max_keys: usize,
) -> Result<Option<Vec<IndexSpec>>, ApiError> {
    let Some(value) = present(value) else {
        return Ok(None);
    };
    let wires: Vec<IndexWire> = from_value(value)?;
    let mut out = Vec::with_capacity(wires.len());
    for (i, wire) in wires.iter().enumerate() {
        if let Some(spec) = spec(v, &format!("{field}.{}.member", i + 1), wire, max_keys) {
            out.push(spec);
        }
    }
    Ok(Some(out))
}

/// Decodes CreateTable's GlobalSecondaryIndexes and LocalSecondaryIndexes; shape violations
/// go to `v` with the table's other ones.
pub(crate) fn decode_create(
    v: &mut Violations,
    global: Option<&Value>,
    local: Option<&Value>,
) -> Result<CreateIndexes, ApiError> {
    Ok(CreateIndexes {
        global: specs(
            v,
            "globalSecondaryIndexes",
            global,
            crate::multi_key::GSI_KEY_SCHEMA_MAX,
        )?,
        local: specs(v, "localSecondaryIndexes", local, 2)?,
    })
}

pub(crate) fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::Validation(format!(
        "One or more parameter values were invalid: {message}"
    ))
}

/// Resolves an index's key schema with DynamoDB's checks, in its order.
pub(crate) fn key_schema(
    spec: &IndexSpec,
    definitions: &[(String, ScalarType)],
) -> Result<KeySchema, ApiError> {
    let names: Vec<&str> = spec.keys.iter().map(|(n, _)| n.as_str()).collect();
    if names.is_empty() {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    let lookup = |name: &str| definitions.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
    if names.iter().any(|n| lookup(n).is_none()) {
        let defined: Vec<&str> = definitions.iter().map(|(n, _)| n.as_str()).collect();
        return Err(invalid(format_args!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            names.join(", "),
            defined.join(", ")
        )));
    }
    if names.len() == 2 && names[0] == names[1] {
        return Err(ApiError::validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ));
    }
    if spec.keys.first().is_some_and(|(_, range)| *range) {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if spec.keys.get(1).is_some_and(|(_, range)| !*range) {
        return Err(ApiError::validation(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ));
    }
    let attr = |name: &str| KeyAttribute {
        name: name.to_owned(),
        scalar: lookup(name).unwrap_or(ScalarType::S),
    };
    Ok(KeySchema {
        partition_rest: Vec::new(),
        sort_rest: Vec::new(),
        partition: attr(names[0]),
        sort: names.get(1).map(|n| attr(n)),
    })
}

pub(crate) fn projection_checks(spec: &IndexSpec) -> Result<(), ApiError> {
    if spec.projection_type_missing {
        return Err(invalid("Unknown ProjectionType: null"));
    }
    match (&spec.non_key_attributes, spec.projection) {
        (None, ProjectionType::Include) => Err(invalid(
            "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        )),
        (Some(_), ProjectionType::All | ProjectionType::KeysOnly) => Err(invalid(format_args!(
            "ProjectionType is {}, but NonKeyAttributes is specified",
            spec.projection.as_str()
        ))),
        (Some(attrs), ProjectionType::Include) => {
            let mut seen = BTreeSet::new();
            for a in attrs {
                if !seen.insert(a) {
                    return Err(invalid(format_args!(
                        "Duplicate element in NonKeyAttributes: {a}"
                    )));
                }
            }
            Ok(())
        }
        (None, _) => Ok(()),
    }
}

pub(crate) fn throughput_checks(
    spec: &IndexSpec,
    billing: BillingMode,
    creating_table: bool,
) -> Result<Option<ProvisionedThroughput>, ApiError> {
    match billing {
        BillingMode::PayPerRequest if spec.throughput_given => Err(invalid(format_args!(
            "ProvisionedThroughput should not be specified for index: {} when BillingMode is PAY_PER_REQUEST",
            spec.name
        ))),
        BillingMode::PayPerRequest => Ok(None),
        BillingMode::Provisioned => match spec.throughput {
            Some((read, write)) => Ok(Some(ProvisionedThroughput {
                read_capacity_units: read,
                write_capacity_units: write,
                last_increase_ms: None,
                last_decrease_ms: None,
                decreases_today: 0,
            })),
            None if creating_table => Err(invalid(format_args!(
                "ProvisionedThroughput is not specified for index: {}",
                spec.name
            ))),
            None => Err(invalid(format_args!(
                "ProvisionedThroughput must be specified for index: {}",
                spec.name
            ))),
        },
    }
}

pub(crate) fn meta_of(
    spec: &IndexSpec,
    key_schema: KeySchema,
    provisioned: Option<ProvisionedThroughput>,
) -> IndexMeta {
    IndexMeta {
        name: spec.name.clone(),
        // Chosen when the request runs (`with_fresh_id`), as table ids are.
        id: uuid::Uuid::nil(),
        key_schema,
        projection: spec.projection,
        non_key_attributes: spec.non_key_attributes.clone().unwrap_or_default(),
        status: IndexStatus::Active,
        backfilling: false,
        provisioned,
    }
}

/// The index with a new storage id: a re-created index never sees a dropped one's entries.
pub(crate) fn with_fresh_id(mut index: IndexMeta) -> IndexMeta {
    index.id = uuid::Uuid::new_v4();
    index
}

pub(crate) fn projected_count(indexes: &[&IndexMeta]) -> usize {
    indexes
        .iter()
        .filter(|i| i.projection == ProjectionType::Include)
        .map(|i| i.non_key_attributes.len())
        .sum()
}

/// Builds a new table's indexes, checking them against its key schema and attribute
/// definitions, which must be exactly the attributes the table's and indexes' keys use.
pub(crate) fn build_create(
    req: &CreateIndexes,
    table_keys: &KeySchema,
    definitions: &[(String, ScalarType)],
    billing: BillingMode,
) -> Result<(Vec<IndexMeta>, Vec<IndexMeta>), ApiError> {
    let mut names = BTreeSet::new();
    let mut local = Vec::new();
    if let Some(specs) = &req.local {
        if specs.is_empty() {
            return Err(invalid("List of LocalSecondaryIndexes is empty"));
        }
        if table_keys.sort.is_none() {
            return Err(invalid(
                "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
            ));
        }
        for spec in specs {
            let keys = key_schema(spec, definitions)?;
            if keys.sort.is_none() {
                return Err(invalid(format_args!(
                    "Index KeySchema does not have a range key for index: {}",
                    spec.name
                )));
            }
            if keys.partition.name != table_keys.partition.name {
                return Err(invalid(format_args!(
                    "Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                    spec.name, keys.partition.name, table_keys.partition.name
                )));
            }
            projection_checks(spec)?;
            if spec.throughput_given {
                return Err(invalid(format_args!(
                    "ProvisionedThroughput should not be specified for index: {}",
                    spec.name
                )));
            }
            if !names.insert(spec.name.clone()) {
                return Err(invalid(format_args!("Duplicate index name: {}", spec.name)));
            }
            local.push(meta_of(spec, keys, None));
        }
        if local.len() > LOCAL_INDEXES_MAX {
            return Err(invalid(format_args!(
                "Number of LocalSecondaryIndexes exceeds per-table limit of {LOCAL_INDEXES_MAX}"
            )));
        }
    }
    let mut global = Vec::new();
    if let Some(specs) = &req.global {
        if specs.is_empty() {
            return Err(invalid("List of GlobalSecondaryIndexes is empty"));
        }
        for spec in specs {
            let keys = crate::multi_key::global_key_schema(spec, definitions)?;
            projection_checks(spec)?;
            if !names.insert(spec.name.clone()) {
                return Err(invalid(format_args!("Duplicate index name: {}", spec.name)));
            }
            let provisioned = throughput_checks(spec, billing, true)?;
            global.push(meta_of(spec, keys, provisioned));
        }
        if global.len() > GLOBAL_INDEXES_MAX {
            return Err(invalid(format_args!(
                "GlobalSecondaryIndex count exceeds the per-table limit of {GLOBAL_INDEXES_MAX}"
            )));
        }
    }
    let all: Vec<&IndexMeta> = global.iter().chain(&local).collect();
    if projected_count(&all) > PROJECTED_ATTRIBUTES_MAX {
        return Err(invalid(format_args!(
            "Number of projected attributes in all indexes exceeds limit of {PROJECTED_ATTRIBUTES_MAX}"
        )));
    }
    let mut used: Vec<&str> = table_keys.attributes().map(|a| a.name.as_str()).collect();
    for index in &all {
        for a in index.key_schema.attributes() {
            if !used.contains(&a.name.as_str()) {
                used.push(&a.name);
            }
        }
    }
    if definitions.len() > used.len() {
        let defined: Vec<&str> = definitions.iter().map(|(n, _)| n.as_str()).collect();
        return Err(invalid(format_args!(
            "Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
            defined.join(", "),
            used.join(", ")
        )));
    }
    Ok((global, local))
}
