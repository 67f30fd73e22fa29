//! The legacy (pre-expression) parameters: `Expected` with `ConditionalOperator`,
//! `AttributeUpdates`, `KeyConditions`, `QueryFilter`/`ScanFilter` and `AttributesToGet`,
//! translated by `expr::legacy` into the same trees the expressions produce.

use serde_json::Value;

use expr::{Condition, KeyPredicate, Path, UpdateExpr};

use crate::error::ApiError;

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn not_yet(member: &str) -> ApiError {
    ApiError::Validation(format!(
        "Meridian does not support the legacy parameter {member} yet; use expressions"
    ))
}

/// `Expected` (with `ConditionalOperator`, `true` for OR) as a condition.
pub(crate) fn expected(
    expected: Option<&Value>,
    _or: Option<bool>,
) -> Result<Option<Condition>, ApiError> {
    match present(expected) {
        None => Ok(None),
        Some(_) => Err(not_yet("Expected")),
    }
}

/// `QueryFilter` or `ScanFilter` (with `ConditionalOperator`) as a condition.
pub(crate) fn filter(
    member: &str,
    filter: Option<&Value>,
    _or: Option<bool>,
) -> Result<Option<Condition>, ApiError> {
    match present(filter) {
        None => Ok(None),
        Some(_) => Err(not_yet(member)),
    }
}

/// `AttributeUpdates` as an update.
pub(crate) fn attribute_updates(updates: Option<&Value>) -> Result<Option<UpdateExpr>, ApiError> {
    match present(updates) {
        None => Ok(None),
        Some(_) => Err(not_yet("AttributeUpdates")),
    }
}

/// `KeyConditions` as key predicates.
pub(crate) fn key_conditions(_conditions: &Value) -> Result<Vec<KeyPredicate>, ApiError> {
    Err(not_yet("KeyConditions"))
}

/// `AttributesToGet` as a projection.
pub(crate) fn attributes_to_get(attributes: Option<&Value>) -> Result<Option<Vec<Path>>, ApiError> {
    match present(attributes) {
        None => Ok(None),
        Some(_) => Err(not_yet("AttributesToGet")),
    }
}
