//! Evaluating conditions over an item, with DynamoDB's semantics: an operand that is absent
//! makes a comparison false (and `<>` true); values of different types are unequal and
//! unordered; only strings, numbers and binaries are ordered.

use std::borrow::Cow;
use std::cmp::Ordering;

use model::{AttributeValue, Item, Number};

use crate::ast::{Comparator, Condition, Operand};
use crate::condition::TYPE_NAMES;
use crate::error::ExprError;

/// Orders two values of the same scalar type (S by bytes, N by value, B by unsigned bytes);
/// `None` for anything else.
pub fn compare_values(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// DynamoDB equality: same type and same value, sets compared as sets.
pub fn values_equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    fn same_set<T: PartialEq>(x: &[T], y: &[T]) -> bool {
        x.len() == y.len() && x.iter().all(|e| y.contains(e))
    }
    match (a, b) {
        (AttributeValue::Ss(x), AttributeValue::Ss(y)) => same_set(x, y),
        (AttributeValue::Ns(x), AttributeValue::Ns(y)) => same_set(x, y),
        (AttributeValue::Bs(x), AttributeValue::Bs(y)) => same_set(x, y),
        (AttributeValue::L(x), AttributeValue::L(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (AttributeValue::M(x), AttributeValue::M(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// What `size()` returns for a value, if it has a size: string length in UTF-8 bytes,
/// binary length, number of set/list elements or map entries.
pub fn value_size(value: &AttributeValue) -> Option<usize> {
    Some(match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(v) => v.len(),
        AttributeValue::Ns(v) => v.len(),
        AttributeValue::Bs(v) => v.len(),
        AttributeValue::L(v) => v.len(),
        AttributeValue::M(m) => m.len(),
        AttributeValue::N(_) | AttributeValue::Bool(_) | AttributeValue::Null => return None,
    })
}

/// The value of an operand in `item`, if it has one.
pub fn resolve<'a>(operand: &'a Operand, item: &'a Item) -> Option<Cow<'a, AttributeValue>> {
    match operand {
        Operand::Path(path) => path.get(item).map(Cow::Borrowed),
        Operand::Value(value) => Some(Cow::Borrowed(value)),
        Operand::Size(inner) => {
            let value = resolve(inner, item)?;
            let size = value_size(&value)?;
            let size = i64::try_from(size).unwrap_or(i64::MAX);
            Some(Cow::Owned(AttributeValue::N(Number::from_i64(size))))
        }
    }
}

fn compare(op: Comparator, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return op == Comparator::Ne;
    };
    match op {
        Comparator::Eq => values_equal(a, b),
        Comparator::Ne => !values_equal(a, b),
        Comparator::Lt => compare_values(a, b) == Some(Ordering::Less),
        Comparator::Le => matches!(compare_values(a, b), Some(Ordering::Less | Ordering::Equal)),
        Comparator::Gt => compare_values(a, b) == Some(Ordering::Greater),
        Comparator::Ge => matches!(
            compare_values(a, b),
            Some(Ordering::Greater | Ordering::Equal)
        ),
    }
}

/// Whether `haystack` contains `needle`: substring, set member or list element.
pub fn contains(haystack: &AttributeValue, needle: &AttributeValue) -> bool {
    match (haystack, needle) {
        (AttributeValue::S(s), AttributeValue::S(sub)) => s.contains(sub.as_str()),
        (AttributeValue::B(b), AttributeValue::B(sub)) => {
            sub.is_empty() || b.windows(sub.len()).any(|w| w == sub.as_slice())
        }
        (AttributeValue::Ss(set), AttributeValue::S(e)) => set.contains(e),
        (AttributeValue::Ns(set), AttributeValue::N(e)) => set.contains(e),
        (AttributeValue::Bs(set), AttributeValue::B(e)) => set.contains(e),
        (AttributeValue::L(list), e) => list.iter().any(|x| values_equal(x, e)),
        _ => false,
    }
}

/// Whether `value` begins with `prefix` (strings and binaries only).
pub fn begins_with(value: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (value, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
        _ => false,
    }
}

impl Condition {
    /// Evaluates the condition against `item` (an empty item when there is none).
    ///
    /// Fails only where DynamoDB fails at run time: an `attribute_type` whose type name,
    /// read from the item, is not a type name.
    pub fn evaluate(&self, item: &Item) -> Result<bool, ExprError> {
        // A condition nests as deep as DynamoDB lets it (300 operators): recursing into it
        // takes a fresh stack segment when this one runs low, whatever thread evaluates it.
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.evaluate_here(item))
    }

    fn evaluate_here(&self, item: &Item) -> Result<bool, ExprError> {
        Ok(match self {
            Condition::Compare { op, left, right } => compare(
                *op,
                resolve(left, item).as_deref(),
                resolve(right, item).as_deref(),
            ),
            Condition::Between { operand, low, high } => {
                let (Some(v), Some(lo), Some(hi)) = (
                    resolve(operand, item),
                    resolve(low, item),
                    resolve(high, item),
                ) else {
                    return Ok(false);
                };
                matches!(
                    compare_values(&v, &lo),
                    Some(Ordering::Greater | Ordering::Equal)
                ) && matches!(
                    compare_values(&v, &hi),
                    Some(Ordering::Less | Ordering::Equal)
                )
            }
            Condition::In { operand, list } => match resolve(operand, item) {
                Some(v) => list.iter().any(|candidate| {
                    resolve(candidate, item).is_some_and(|c| values_equal(&v, &c))
                }),
                None => false,
            },
            Condition::AttributeExists(path) => path.get(item).is_some(),
            Condition::AttributeNotExists(path) => path.get(item).is_none(),
            Condition::AttributeType { operand, type_name } => {
                let Some(type_name) = resolve(type_name, item) else {
                    return Ok(false);
                };
                let AttributeValue::S(type_name) = type_name.as_ref() else {
                    return Ok(false);
                };
                if !TYPE_NAMES.contains(&type_name.as_str()) {
                    return Err(ExprError::validation(format!(
                        "Invalid attribute type name found; type: {type_name}, valid types: {{{}}}",
                        TYPE_NAMES.join(",")
                    )));
                }
                resolve(operand, item).is_some_and(|v| v.type_name() == type_name)
            }
            Condition::BeginsWith { operand, prefix } => {
                match (resolve(operand, item), resolve(prefix, item)) {
                    (Some(v), Some(p)) => begins_with(&v, &p),
                    _ => false,
                }
            }
            Condition::Contains { operand, element } => {
                match (resolve(operand, item), resolve(element, item)) {
                    (Some(v), Some(e)) => contains(&v, &e),
                    _ => false,
                }
            }
            Condition::Not(inner) => !inner.evaluate(item)?,
            Condition::And(a, b) => a.evaluate(item)? && b.evaluate(item)?,
            Condition::Or(a, b) => a.evaluate(item)? || b.evaluate(item)?,
        })
    }
}
