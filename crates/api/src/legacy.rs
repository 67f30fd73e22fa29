//! The legacy (pre-expression) parameters: `Expected` with `ConditionalOperator`,
//! `AttributeUpdates`, `KeyConditions`, `QueryFilter`/`ScanFilter` and `AttributesToGet`,
//! translated by `expr::legacy` into the same trees the expressions produce.

use serde_json::Value;

use expr::{Condition, KeyPredicate, Path, UpdateExpr};

use crate::error::ApiError;

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// `Expected` (with `ConditionalOperator`) as a condition.
pub(crate) fn expected(
    expected: Option<&Value>,
    conditional_operator: Option<&str>,
) -> Result<Option<Condition>, ApiError> {
    match present(expected) {
        None => Ok(None),
        Some(e) => Ok(expr::legacy::expected_to_condition(
            e,
            conditional_operator,
        )?),
    }
}

/// Which legacy filter member a filter came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterMember {
    /// Query's `QueryFilter`.
    Query,
    /// Scan's `ScanFilter`.
    Scan,
}

/// `QueryFilter` or `ScanFilter` (with `ConditionalOperator`) as a condition.
pub(crate) fn filter(
    member: FilterMember,
    filter: Option<&Value>,
    conditional_operator: Option<&str>,
) -> Result<Option<Condition>, ApiError> {
    let Some(filter) = present(filter) else {
        return Ok(None);
    };
    Ok(match member {
        FilterMember::Query => expr::legacy::filter_to_condition(filter, conditional_operator)?,
        FilterMember::Scan => expr::legacy::scan_filter_to_condition(filter, conditional_operator)?,
    })
}

/// `AttributeUpdates` as an update.
pub(crate) fn attribute_updates(updates: Option<&Value>) -> Result<Option<UpdateExpr>, ApiError> {
    present(updates)
        .map(expr::legacy::attribute_updates_to_update)
        .transpose()
        .map_err(ApiError::from)
}

/// `KeyConditions` as key predicates.
pub(crate) fn key_conditions(conditions: &Value) -> Result<Vec<KeyPredicate>, ApiError> {
    Ok(expr::legacy::key_conditions_to_predicates(conditions)?)
}

/// `AttributesToGet` as a projection.
pub(crate) fn attributes_to_get(attributes: Option<&Value>) -> Result<Option<Vec<Path>>, ApiError> {
    present(attributes)
        .map(expr::legacy::attributes_to_get_to_projection)
        .transpose()
        .map_err(ApiError::from)
}
