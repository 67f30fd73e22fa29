//! DynamoDB's legacy conditional parameters, translated into the trees the expression parsers
//! produce, so that the rest of Meridian handles one form only.
//!
//! | legacy parameter | becomes |
//! |---|---|
//! | `Expected` + `ConditionalOperator` | [`Condition`] (like `ConditionExpression`) |
//! | `QueryFilter` / `ScanFilter` + `ConditionalOperator` | [`Condition`] (like `FilterExpression`) |
//! | `KeyConditions` | [`KeyPredicate`]s (like `KeyConditionExpression`) |
//! | `AttributeUpdates` | [`UpdateExpr`] (like `UpdateExpression`) |
//! | `AttributesToGet` | projection paths (like `ProjectionExpression`) |
//!
//! Attribute names in legacy parameters are literal top-level names: no placeholders, no
//! document paths, no reserved words. A JSON shape that cannot be the parameter is a
//! `SerializationException`; a well-formed but invalid one a `ValidationException`, with
//! DynamoDB's messages.

use std::cmp::Ordering;

use model::AttributeValue;
use serde_json::{Map, Value as Json};

use crate::ast::{
    AddAction, Comparator, Condition, DeleteAction, Operand, SetAction, SetOperand, SetValue,
    UpdateExpr,
};
use crate::error::ExprError;
use crate::eval::compare_values;
use crate::key_condition::{KeyOp, KeyPredicate};
use crate::path::Path;

/// The legacy comparison operators.
const OPERATORS: [&str; 13] = [
    "EQ",
    "NE",
    "IN",
    "LE",
    "LT",
    "GE",
    "GT",
    "BETWEEN",
    "NOT_NULL",
    "NULL",
    "CONTAINS",
    "NOT_CONTAINS",
    "BEGINS_WITH",
];

fn invalid(detail: impl std::fmt::Display) -> ExprError {
    ExprError::validation(format!(
        "One or more parameter values were invalid: {detail}"
    ))
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "list",
        Json::Object(_) => "structure",
    }
}

fn expect_object<'a>(json: &'a Json, what: &str) -> Result<&'a Map<String, Json>, ExprError> {
    json.as_object().ok_or_else(|| {
        ExprError::serialization(format!(
            "Unexpected {} where a map was expected for {what}",
            json_kind(json)
        ))
    })
}

fn optional_str<'a>(
    object: &'a Map<String, Json>,
    field: &str,
) -> Result<Option<&'a str>, ExprError> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(ExprError::serialization(format!(
            "Unexpected {} where a string was expected for {field}",
            json_kind(other)
        ))),
    }
}

fn optional_value(
    object: &Map<String, Json>,
    field: &str,
) -> Result<Option<AttributeValue>, ExprError> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(json) => Ok(Some(AttributeValue::from_json(json)?)),
    }
}

fn optional_list(
    object: &Map<String, Json>,
    field: &str,
) -> Result<Option<Vec<AttributeValue>>, ExprError> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(items)) => items
            .iter()
            .map(|j| AttributeValue::from_json(j).map_err(ExprError::from))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(ExprError::serialization(format!(
            "Unexpected {} where a list was expected for {field}",
            json_kind(other)
        ))),
    }
}

fn enum_error(value: &str, at: &str, set: &str) -> ExprError {
    ExprError::validation(format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{set}]"
    ))
}

fn comparison_operator<'a>(
    object: &'a Map<String, Json>,
    at: &str,
) -> Result<Option<&'a str>, ExprError> {
    let op = optional_str(object, "ComparisonOperator")?;
    if let Some(op) = op {
        if !OPERATORS.contains(&op) {
            return Err(enum_error(
                op,
                &format!("{at}.member.comparisonOperator"),
                "IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS",
            ));
        }
    }
    Ok(op)
}

/// Whether `count` values suit `op`.
fn arity_ok(op: &str, count: usize) -> bool {
    match op {
        "NULL" | "NOT_NULL" => count == 0,
        "IN" => count >= 1,
        "BETWEEN" => count == 2,
        _ => count == 1,
    }
}

fn arity_error(op: &str) -> ExprError {
    invalid(format!(
        "Invalid number of argument(s) for the {op} ComparisonOperator"
    ))
}

fn check_same_type(values: &[AttributeValue]) -> Result<(), ExprError> {
    if let Some(first) = values.first() {
        if values.iter().any(|v| v.type_name() != first.type_name()) {
            return Err(invalid(
                "AttributeValues inside AttributeValueList must be of same type",
            ));
        }
    }
    Ok(())
}

fn check_between_order(op: &str, values: &[AttributeValue]) -> Result<(), ExprError> {
    if let (true, [low, high]) = (op == "BETWEEN", values) {
        if compare_values(low, high) == Some(Ordering::Greater) {
            return Err(ExprError::validation(
                "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
            ));
        }
    }
    Ok(())
}

/// The value types each operator accepts in filters and key conditions.
fn check_filter_types(op: &str, values: &[AttributeValue]) -> Result<(), ExprError> {
    let allowed: &[&str] = match op {
        "EQ" | "NE" => &["S", "N", "B", "SS", "NS", "BS"],
        "BEGINS_WITH" => &["S", "B"],
        "NULL" | "NOT_NULL" => return Ok(()),
        _ => &["S", "N", "B"],
    };
    for v in values {
        if !allowed.contains(&v.type_name()) {
            return Err(invalid(format!(
                "ComparisonOperator {op} is not valid for {} AttributeValue type",
                v.type_name()
            )));
        }
    }
    Ok(())
}

/// The condition one comparison operator builds on one top-level attribute.
fn comparison(attribute: &str, op: &str, mut values: Vec<AttributeValue>) -> Condition {
    let path = Path::attribute(attribute);
    let operand = Operand::Path(path.clone());
    let first = || {
        values
            .first()
            .cloned()
            .map_or(Operand::Value(AttributeValue::Null), Operand::Value)
    };
    let compare = |op: Comparator, right: Operand| Condition::Compare {
        op,
        left: Operand::Path(Path::attribute(attribute)),
        right,
    };
    match op {
        "EQ" => compare(Comparator::Eq, first()),
        "NE" => compare(Comparator::Ne, first()),
        "LE" => compare(Comparator::Le, first()),
        "LT" => compare(Comparator::Lt, first()),
        "GE" => compare(Comparator::Ge, first()),
        "GT" => compare(Comparator::Gt, first()),
        "NOT_NULL" => Condition::AttributeExists(path),
        "NULL" => Condition::AttributeNotExists(path),
        "CONTAINS" => Condition::Contains {
            operand,
            element: first(),
        },
        "NOT_CONTAINS" => Condition::Not(Box::new(Condition::Contains {
            operand,
            element: first(),
        })),
        "BEGINS_WITH" => Condition::BeginsWith {
            operand,
            prefix: first(),
        },
        "IN" => Condition::In {
            operand,
            list: values.drain(..).map(Operand::Value).collect(),
        },
        _ => {
            let high = values
                .pop()
                .map_or(Operand::Value(AttributeValue::Null), Operand::Value);
            let low = values
                .pop()
                .map_or(Operand::Value(AttributeValue::Null), Operand::Value);
            Condition::Between { operand, low, high }
        }
    }
}

fn conditional_operator(op: Option<&str>) -> Result<bool, ExprError> {
    match op {
        None | Some("AND") => Ok(true),
        Some("OR") => Ok(false),
        Some(other) => Err(enum_error(other, "conditionalOperator", "OR, AND")),
    }
}

fn combine(conditions: Vec<Condition>, and: bool) -> Option<Condition> {
    conditions.into_iter().reduce(|a, b| {
        if and {
            Condition::And(Box::new(a), Box::new(b))
        } else {
            Condition::Or(Box::new(a), Box::new(b))
        }
    })
}

/// Translates `Expected` (with `ConditionalOperator`, default `AND`) into a condition; `None`
/// when `Expected` has no entries.
pub fn expected_to_condition(
    expected: &Json,
    conditional: Option<&str>,
) -> Result<Option<Condition>, ExprError> {
    let and = conditional_operator(conditional)?;
    let entries = expect_object(expected, "Expected")?;
    let mut conditions = Vec::with_capacity(entries.len());
    for (attribute, spec) in entries {
        let spec = expect_object(spec, "ExpectedAttributeValue")?;
        let value = optional_value(spec, "Value")?;
        let list = optional_list(spec, "AttributeValueList")?;
        let exists = match spec.get("Exists") {
            None | Some(Json::Null) => None,
            Some(Json::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(ExprError::serialization(format!(
                    "Unexpected {} where a boolean was expected for Exists",
                    json_kind(other)
                )))
            }
        };
        if list.is_some() && value.is_some() {
            return Err(invalid(format!(
                "Value and AttributeValueList cannot be used together for Attribute: {attribute}"
            )));
        }
        let op = comparison_operator(spec, &format!("expected.{attribute}"))?;
        if let Some(op) = op {
            if exists.is_some() {
                return Err(invalid(format!(
                    "Exists and ComparisonOperator cannot be used together for Attribute: {attribute}"
                )));
            }
            if op != "NULL" && op != "NOT_NULL" && list.is_none() && value.is_none() {
                return Err(invalid(format!(
                    "Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {attribute}"
                )));
            }
            let values = match (list, value) {
                (Some(list), _) => list,
                (None, Some(v)) => vec![v],
                (None, None) => Vec::new(),
            };
            if !arity_ok(op, values.len()) {
                return Err(arity_error(op));
            }
            check_same_type(&values)?;
            check_between_order(op, &values)?;
            conditions.push(comparison(attribute, op, values));
        } else if list.is_some() {
            return Err(invalid(format!(
                "AttributeValueList can only be used with a ComparisonOperator for Attribute: {attribute}"
            )));
        } else {
            match (exists, value) {
                (None | Some(true), Some(v)) => {
                    conditions.push(comparison(attribute, "EQ", vec![v]));
                }
                (None, None) => {
                    return Err(invalid(format!(
                        "Value must be provided when Exists is null for Attribute: {attribute}"
                    )))
                }
                (Some(true), None) => {
                    return Err(invalid(format!(
                        "Value must be provided when Exists is true for Attribute: {attribute}"
                    )))
                }
                (Some(false), Some(_)) => {
                    return Err(invalid(format!(
                        "Value cannot be used when Exists is false for Attribute: {attribute}"
                    )))
                }
                (Some(false), None) => {
                    conditions.push(Condition::AttributeNotExists(Path::attribute(attribute)))
                }
            }
        }
    }
    Ok(combine(conditions, and))
}

/// One `{ComparisonOperator, AttributeValueList}` of a filter or key condition, validated.
fn filter_entry(spec: &Json, at: &str) -> Result<(String, Vec<AttributeValue>), ExprError> {
    let spec = expect_object(spec, "Condition")?;
    let values = optional_list(spec, "AttributeValueList")?.unwrap_or_default();
    let Some(op) = comparison_operator(spec, at)? else {
        return Err(ExprError::validation(format!(
            "1 validation error detected: Value null at '{at}.member.comparisonOperator' failed to satisfy constraint: Member must not be null"
        )));
    };
    if !arity_ok(op, values.len()) {
        return Err(arity_error(op));
    }
    check_same_type(&values)?;
    check_filter_types(op, &values)?;
    check_between_order(op, &values)?;
    Ok((op.to_owned(), values))
}

/// Translates `QueryFilter` (with `ConditionalOperator`, default `AND`) into a condition;
/// `None` when the filter has no entries.
pub fn filter_to_condition(
    filter: &Json,
    conditional: Option<&str>,
) -> Result<Option<Condition>, ExprError> {
    translate_filter("QueryFilter", filter, conditional)
}

/// [`filter_to_condition`] for Scan's `ScanFilter` (messages name `scanFilter`).
pub fn scan_filter_to_condition(
    filter: &Json,
    conditional: Option<&str>,
) -> Result<Option<Condition>, ExprError> {
    translate_filter("ScanFilter", filter, conditional)
}

fn translate_filter(
    parameter: &str,
    filter: &Json,
    conditional: Option<&str>,
) -> Result<Option<Condition>, ExprError> {
    let and = conditional_operator(conditional)?;
    let entries = expect_object(filter, parameter)?;
    let field = if parameter == "ScanFilter" {
        "scanFilter"
    } else {
        "queryFilter"
    };
    let mut conditions = Vec::with_capacity(entries.len());
    for (attribute, spec) in entries {
        let (op, values) = filter_entry(spec, &format!("{field}.{attribute}"))?;
        conditions.push(comparison(attribute, &op, values));
    }
    Ok(combine(conditions, and))
}

/// Translates `KeyConditions` into key predicates (one or two, on top-level attributes; the
/// caller matches them to the key schema).
pub fn key_conditions_to_predicates(key_conditions: &Json) -> Result<Vec<KeyPredicate>, ExprError> {
    let entries = expect_object(key_conditions, "KeyConditions")?;
    let mut predicates = Vec::with_capacity(entries.len());
    for (attribute, spec) in entries {
        let (op, mut values) = filter_entry(spec, &format!("keyConditions.{attribute}"))?;
        let mut one = || values.pop().unwrap_or(AttributeValue::Null);
        let op = match op.as_str() {
            "EQ" => KeyOp::Eq(one()),
            "LE" => KeyOp::Le(one()),
            "LT" => KeyOp::Lt(one()),
            "GE" => KeyOp::Ge(one()),
            "GT" => KeyOp::Gt(one()),
            "BEGINS_WITH" => KeyOp::BeginsWith(one()),
            "BETWEEN" => {
                let high = one();
                let low = one();
                KeyOp::Between(low, high)
            }
            _ => {
                return Err(ExprError::validation(
                    "Attempted conditional constraint is not an indexable operation",
                ))
            }
        };
        predicates.push(KeyPredicate {
            attribute: attribute.clone(),
            op,
        });
    }
    if predicates.is_empty() || predicates.len() > crate::key_condition::KEY_CONDITIONS_MAX {
        return Err(ExprError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    Ok(predicates)
}

/// Translates `AttributeUpdates` into an update: `PUT` (the default) is SET, `DELETE` without
/// a value is REMOVE and with a set is DELETE, `ADD` of a number or set is ADD and `ADD` of a
/// list appends to the list (creating it if absent).
pub fn attribute_updates_to_update(attribute_updates: &Json) -> Result<UpdateExpr, ExprError> {
    let entries = expect_object(attribute_updates, "AttributeUpdates")?;
    let mut update = UpdateExpr::default();
    for (attribute, spec) in entries {
        let spec = expect_object(spec, "AttributeValueUpdate")?;
        let value = optional_value(spec, "Value")?;
        let action = optional_str(spec, "Action")?.unwrap_or("PUT");
        if !matches!(action, "PUT" | "ADD" | "DELETE") {
            return Err(enum_error(
                action,
                &format!("attributeUpdates.{attribute}.member.action"),
                "ADD, PUT, DELETE",
            ));
        }
        let path = Path::attribute(attribute.clone());
        let Some(value) = value else {
            if action != "DELETE" {
                return Err(invalid(
                    "Only DELETE action is allowed when no attribute value is specified",
                ));
            }
            update.remove.push(path);
            continue;
        };
        match action {
            "PUT" => update.set.push(SetAction {
                path,
                value: SetValue::Operand(SetOperand::Value(value)),
            }),
            "DELETE" => {
                if !matches!(
                    value,
                    AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
                ) {
                    return Err(invalid(format!(
                        "DELETE action with value is not supported for the type {}",
                        value.type_name()
                    )));
                }
                update.delete.push(DeleteAction { path, value });
            }
            _ => match value {
                AttributeValue::L(_) => update.set.push(SetAction {
                    path: path.clone(),
                    value: SetValue::Operand(SetOperand::ListAppend(
                        Box::new(SetOperand::IfNotExists(
                            path,
                            Box::new(SetOperand::Value(AttributeValue::L(Vec::new()))),
                        )),
                        Box::new(SetOperand::Value(value)),
                    )),
                }),
                AttributeValue::N(_)
                | AttributeValue::Ss(_)
                | AttributeValue::Ns(_)
                | AttributeValue::Bs(_) => update.add.push(AddAction { path, value }),
                other => {
                    return Err(invalid(format!(
                        "ADD action is not supported for the type {}",
                        other.type_name()
                    )))
                }
            },
        }
    }
    Ok(update)
}

/// Translates `AttributesToGet` into projection paths (top-level attributes).
pub fn attributes_to_get_to_projection(attributes: &Json) -> Result<Vec<Path>, ExprError> {
    let Json::Array(names) = attributes else {
        return Err(ExprError::serialization(format!(
            "Unexpected {} where a list was expected for AttributesToGet",
            json_kind(attributes)
        )));
    };
    if names.is_empty() {
        return Err(ExprError::validation(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut paths: Vec<Path> = Vec::with_capacity(names.len());
    for name in names {
        let Json::String(name) = name else {
            return Err(ExprError::serialization(format!(
                "Unexpected {} where a string was expected for AttributesToGet",
                json_kind(name)
            )));
        };
        let path = Path::attribute(name.clone());
        if paths.contains(&path) {
            return Err(invalid(format!(
                "Duplicate value in attribute name: {name}"
            )));
        }
        paths.push(path);
    }
    Ok(paths)
}
