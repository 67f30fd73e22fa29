//! Key condition expressions of Query: at most two predicates joined by `AND`, each on a
//! top-level attribute. Which predicate is on the partition key and which on the sort key is
//! the caller's decision, as only it knows the key schema.

use model::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::ast::{Comparator, Condition, Operand};
use crate::error::ExprError;
use crate::path::Path;

/// The most conditions a key condition may have: one per attribute of the largest key, a
/// global secondary index's multi-attribute key of four partition and four sort attributes.
/// A single-attribute key allows two, which Query checks against the schema.
pub const KEY_CONDITIONS_MAX: usize = 8;

/// The test a key predicate applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyOp {
    /// `key = v`.
    Eq(AttributeValue),
    /// `key < v`.
    Lt(AttributeValue),
    /// `key <= v`.
    Le(AttributeValue),
    /// `key > v`.
    Gt(AttributeValue),
    /// `key >= v`.
    Ge(AttributeValue),
    /// `key BETWEEN lo AND hi` (inclusive).
    Between(AttributeValue, AttributeValue),
    /// `begins_with(key, prefix)`.
    BeginsWith(AttributeValue),
}

/// One predicate of a key condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPredicate {
    /// The (top-level) key attribute.
    pub attribute: String,
    /// Its test.
    pub op: KeyOp,
}

impl KeyPredicate {
    /// Whether `value` satisfies the predicate.
    pub fn matches(&self, value: &AttributeValue) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let cmp = |v: &AttributeValue| crate::eval::compare_values(value, v);
        match &self.op {
            KeyOp::Eq(v) => crate::eval::values_equal(value, v),
            KeyOp::Lt(v) => cmp(v) == Some(Less),
            KeyOp::Le(v) => matches!(cmp(v), Some(Less | Equal)),
            KeyOp::Gt(v) => cmp(v) == Some(Greater),
            KeyOp::Ge(v) => matches!(cmp(v), Some(Greater | Equal)),
            KeyOp::Between(lo, hi) => {
                matches!(cmp(lo), Some(Greater | Equal)) && matches!(cmp(hi), Some(Less | Equal))
            }
            KeyOp::BeginsWith(prefix) => crate::eval::begins_with(value, prefix),
        }
    }
}

fn invalid_operator(name: &str) -> ExprError {
    ExprError::validation(format!(
        "Invalid operator used in KeyConditionExpression: {name}"
    ))
}

fn nested_operations() -> ExprError {
    ExprError::validation("KeyConditionExpressions cannot contain nested operations")
}

fn multiple_names() -> ExprError {
    ExprError::validation(
        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
    )
}

/// The first operator DynamoDB does not allow in a key condition, in pre-order.
fn find_invalid_operator(cond: &Condition) -> Option<&'static str> {
    match cond {
        Condition::Or(..) => Some("OR"),
        Condition::Not(_) => Some("NOT"),
        Condition::In { .. } => Some("IN"),
        Condition::Compare {
            op: Comparator::Ne, ..
        } => Some("<>"),
        Condition::AttributeExists(_) => Some("attribute_exists"),
        Condition::AttributeNotExists(_) => Some("attribute_not_exists"),
        Condition::AttributeType { .. } => Some("attribute_type"),
        Condition::Contains { .. } => Some("contains"),
        Condition::And(a, b) => find_invalid_operator(a).or_else(|| find_invalid_operator(b)),
        Condition::Compare { .. } | Condition::Between { .. } | Condition::BeginsWith { .. } => {
            None
        }
    }
}

fn flatten<'a>(cond: &'a Condition, out: &mut Vec<&'a Condition>) {
    // Iterative over the left spine, which is where AND chains grow.
    let mut stack = vec![cond];
    while let Some(c) = stack.pop() {
        match c {
            Condition::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            other => out.push(other),
        }
    }
}

/// The key attribute named by a first operand.
fn key_attribute(path: &Path) -> Result<String, ExprError> {
    match (path.is_top_level(), path.top()) {
        (true, Some(name)) => Ok(name.to_owned()),
        _ => Err(ExprError::validation(
            "KeyConditionExpressions cannot have conditions on nested attributes",
        )),
    }
}

/// A second (or third) operand: must be a constant.
fn constant(operand: &Operand) -> Result<AttributeValue, ExprError> {
    match operand {
        Operand::Value(v) => Ok(v.clone()),
        Operand::Path(_) => Err(multiple_names()),
        Operand::Size(_) => Err(nested_operations()),
    }
}

fn first_operand_error(operator: &str) -> ExprError {
    ExprError::validation(format!(
        "Invalid condition in KeyConditionExpression: {operator} operator must have the key attribute as its first operand"
    ))
}

fn predicate(cond: &Condition) -> Result<KeyPredicate, ExprError> {
    match cond {
        Condition::Compare { op, left, right } => {
            let (op, key, value) =
                match (left, right) {
                    (Operand::Size(_), _) => return Err(nested_operations()),
                    (Operand::Value(_), Operand::Path(p)) => (op.flipped(), p, left),
                    (Operand::Value(_), Operand::Size(_)) => return Err(nested_operations()),
                    (Operand::Value(_), Operand::Value(_)) => return Err(ExprError::validation(
                        "Invalid condition in KeyConditionExpression: No key attribute specified",
                    )),
                    (Operand::Path(p), _) => (*op, p, right),
                };
            let attribute = key_attribute(key)?;
            let value = constant(value)?;
            let op = match op {
                Comparator::Eq => KeyOp::Eq(value),
                Comparator::Lt => KeyOp::Lt(value),
                Comparator::Le => KeyOp::Le(value),
                Comparator::Gt => KeyOp::Gt(value),
                Comparator::Ge => KeyOp::Ge(value),
                Comparator::Ne => return Err(invalid_operator("<>")),
            };
            Ok(KeyPredicate { attribute, op })
        }
        Condition::Between { operand, low, high } => {
            let key = match operand {
                Operand::Path(p) => p,
                Operand::Value(_) => return Err(first_operand_error("BETWEEN")),
                Operand::Size(_) => return Err(nested_operations()),
            };
            let attribute = key_attribute(key)?;
            let low = constant(low)?;
            let high = constant(high)?;
            Ok(KeyPredicate {
                attribute,
                op: KeyOp::Between(low, high),
            })
        }
        Condition::BeginsWith { operand, prefix } => {
            let key = match operand {
                Operand::Path(p) => p,
                Operand::Value(_) => return Err(first_operand_error("begins_with")),
                Operand::Size(_) => return Err(nested_operations()),
            };
            let attribute = key_attribute(key)?;
            let prefix = constant(prefix)?;
            Ok(KeyPredicate {
                attribute,
                op: KeyOp::BeginsWith(prefix),
            })
        }
        _ => Err(invalid_operator(
            find_invalid_operator(cond).unwrap_or("unknown"),
        )),
    }
}

/// Turns a parsed key condition into its predicates, with DynamoDB's checks and messages.
pub(crate) fn to_predicates(cond: &Condition) -> Result<Vec<KeyPredicate>, ExprError> {
    if let Some(name) = find_invalid_operator(cond) {
        return Err(invalid_operator(name));
    }
    let mut leaves = Vec::new();
    flatten(cond, &mut leaves);
    let mut predicates: Vec<KeyPredicate> = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        predicates.push(predicate(leaf)?);
    }
    for (i, p) in predicates.iter().enumerate() {
        if predicates[..i].iter().any(|q| q.attribute == p.attribute) {
            return Err(ExprError::validation(
                "KeyConditionExpressions must only contain one condition per key",
            ));
        }
    }
    // How many a key schema allows is the reader's check; none allows more than this.
    if predicates.len() > KEY_CONDITIONS_MAX {
        return Err(ExprError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    Ok(predicates)
}
