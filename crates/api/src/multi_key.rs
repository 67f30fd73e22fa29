//! Global secondary indexes with multi-attribute keys: up to four partition key attributes
//! (KeySchema elements of KeyType HASH) and up to four sort key attributes (RANGE), in
//! order, the HASH elements first. A key with one of each at most is checked exactly as
//! before (`indexes::key_schema`); local secondary indexes and tables stay single-attribute.

use model::{KeyAttribute, KeySchema, ScalarType};

use crate::error::ApiError;
use crate::indexes::{invalid, key_schema, IndexSpec};

/// The most partition (and, separately, sort) key attributes a global secondary index has.
pub(crate) const GSI_KEY_ATTRIBUTES_MAX: usize = 4;

/// The most KeySchema elements of a global secondary index (the shape check's bound).
pub(crate) const GSI_KEY_SCHEMA_MAX: usize = 2 * GSI_KEY_ATTRIBUTES_MAX;

/// Resolves a global secondary index's key schema with DynamoDB's checks, in its order: the
/// attributes must be defined, distinct, HASH first and every HASH before every RANGE, at most
/// four of each.
pub(crate) fn global_key_schema(
    spec: &IndexSpec,
    definitions: &[(String, ScalarType)],
) -> Result<KeySchema, ApiError> {
    let hashes = spec.keys.iter().filter(|(_, range)| !range).count();
    let ranges = spec.keys.len() - hashes;
    let single = hashes <= 1 && ranges <= 1;
    if single {
        return key_schema(spec, definitions);
    }
    let lookup = |name: &str| definitions.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
    let names: Vec<&str> = spec.keys.iter().map(|(n, _)| n.as_str()).collect();
    if names.iter().any(|n| lookup(n).is_none()) {
        let defined: Vec<&str> = definitions.iter().map(|(n, _)| n.as_str()).collect();
        return Err(invalid(format_args!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            names.join(", "),
            defined.join(", ")
        )));
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(invalid(format_args!(
                "Duplicate attribute name in KeySchema for index: {}. Attribute: {name}",
                spec.name
            )));
        }
    }
    if spec.keys.first().is_some_and(|(_, range)| *range) {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if spec
        .keys
        .iter()
        .skip_while(|(_, range)| !range)
        .any(|(_, range)| !range)
    {
        return Err(ApiError::validation(
            "Invalid KeySchema: A HASH KeySchemaElement cannot follow a RANGE KeySchemaElement",
        ));
    }
    for (count, kind) in [(hashes, "HASH"), (ranges, "RANGE")] {
        if count > GSI_KEY_ATTRIBUTES_MAX {
            return Err(invalid(format_args!(
                "Number of {kind} KeySchemaElements exceeds the limit of {GSI_KEY_ATTRIBUTES_MAX} for index: {}",
                spec.name
            )));
        }
    }
    let attr = |name: &str| KeyAttribute {
        name: name.to_owned(),
        scalar: lookup(name).unwrap_or(ScalarType::S),
    };
    let part = |want_range: bool| {
        spec.keys
            .iter()
            .filter(|(_, range)| *range == want_range)
            .map(|(n, _)| attr(n))
            .collect::<Vec<_>>()
    };
    KeySchema::from_parts(part(false), part(true)).ok_or_else(|| {
        ApiError::validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    })
}
