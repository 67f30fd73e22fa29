//! Applying an update expression to an item, with DynamoDB's semantics and run-time errors.
//!
//! Every SET operand is evaluated against the item as it was before the update, as DynamoDB
//! does (`SET a = b, b = a` swaps). Removals (REMOVE, and DELETE of a set's last elements)
//! happen last and from the highest list index down, so that every list index in the
//! expression refers to the list as it was.

use model::{AttributeValue, Item};

use crate::ast::{SetOperand, SetValue, UpdateExpr};
use crate::error::{runtime, ExprError};
use crate::path::{Path, PathElement};

fn eval_operand(operand: &SetOperand, item: &Item) -> Result<AttributeValue, ExprError> {
    match operand {
        SetOperand::Path(path) => path
            .get(item)
            .cloned()
            .ok_or_else(runtime::missing_attribute),
        SetOperand::Value(value) => Ok(value.clone()),
        SetOperand::IfNotExists(path, fallback) => match path.get(item) {
            Some(value) => Ok(value.clone()),
            None => eval_operand(fallback, item),
        },
        SetOperand::ListAppend(a, b) => {
            let a = eval_operand(a, item)?;
            let b = eval_operand(b, item)?;
            match (a, b) {
                (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                    a.extend(b);
                    Ok(AttributeValue::L(a))
                }
                _ => Err(runtime::incorrect_type()),
            }
        }
    }
}

fn eval_value(value: &SetValue, item: &Item) -> Result<AttributeValue, ExprError> {
    let (a, b, plus) = match value {
        SetValue::Operand(operand) => return eval_operand(operand, item),
        SetValue::Plus(a, b) => (a, b, true),
        SetValue::Minus(a, b) => (a, b, false),
    };
    let (AttributeValue::N(a), AttributeValue::N(b)) =
        (eval_operand(a, item)?, eval_operand(b, item)?)
    else {
        return Err(runtime::incorrect_type());
    };
    let result = if plus { a.add(&b) } else { a.sub(&b) };
    result
        .map(AttributeValue::N)
        .map_err(|e| ExprError::validation(e.to_string()))
}

fn step_mut<'a>(
    value: &'a mut AttributeValue,
    element: &PathElement,
) -> Option<&'a mut AttributeValue> {
    match (value, element) {
        (AttributeValue::M(map), PathElement::Attribute(name)) => map.get_mut(name),
        (AttributeValue::L(list), PathElement::Index(i)) => list.get_mut(*i),
        _ => None,
    }
}

/// The container holding the path's last element, or the invalid-path error.
fn parent_mut<'a>(item: &'a mut Item, path: &Path) -> Result<&'a mut AttributeValue, ExprError> {
    let elements = path.elements();
    let Some((PathElement::Attribute(first), rest)) = elements.split_first() else {
        return Err(runtime::invalid_path());
    };
    let Some((_, middle)) = rest.split_last() else {
        return Err(runtime::invalid_path());
    };
    let mut current = item.get_mut(first).ok_or_else(runtime::invalid_path)?;
    for element in middle {
        current = step_mut(current, element).ok_or_else(runtime::invalid_path)?;
    }
    Ok(current)
}

/// Writes `value` at `path`; past the end of a list, appends.
fn set_path(item: &mut Item, path: &Path, value: AttributeValue) -> Result<(), ExprError> {
    match path.elements() {
        [PathElement::Attribute(name)] => {
            item.insert(name.clone(), value);
            Ok(())
        }
        [.., last] => match (parent_mut(item, path)?, last) {
            (AttributeValue::M(map), PathElement::Attribute(name)) => {
                map.insert(name.clone(), value);
                Ok(())
            }
            (AttributeValue::L(list), PathElement::Index(i)) => {
                match list.get_mut(*i) {
                    Some(slot) => *slot = value,
                    None => list.push(value),
                }
                Ok(())
            }
            _ => Err(runtime::invalid_path()),
        },
        [] => Err(runtime::invalid_path()),
    }
}

/// Removes what is at `path`, if anything; a missing parent is an invalid path.
fn remove_path(item: &mut Item, path: &Path) -> Result<(), ExprError> {
    match path.elements() {
        [PathElement::Attribute(name)] => {
            item.remove(name);
            Ok(())
        }
        [.., last] => match (parent_mut(item, path)?, last) {
            (AttributeValue::M(map), PathElement::Attribute(name)) => {
                map.remove(name);
                Ok(())
            }
            (AttributeValue::L(list), PathElement::Index(i)) => {
                if *i < list.len() {
                    list.remove(*i);
                }
                Ok(())
            }
            _ => Err(runtime::invalid_path()),
        },
        [] => Err(runtime::invalid_path()),
    }
}

fn union<T: PartialEq + Clone>(mut existing: Vec<T>, added: &[T]) -> Vec<T> {
    for e in added {
        if !existing.contains(e) {
            existing.push(e.clone());
        }
    }
    existing
}

fn difference<T: PartialEq>(existing: &mut Vec<T>, removed: &[T]) {
    existing.retain(|e| !removed.contains(e));
}

impl UpdateExpr {
    /// Applies the update to `item` (an empty item when the key has none). On error the item
    /// may be partly updated; callers apply to a copy.
    pub fn apply(&self, item: &mut Item) -> Result<(), ExprError> {
        let mut values = Vec::with_capacity(self.set.len());
        for action in &self.set {
            values.push(Some(eval_value(&action.value, item)?));
        }
        // In path order, so that several appends past a list's end land in index order.
        let mut order: Vec<usize> = (0..self.set.len()).collect();
        order.sort_by(|&i, &j| self.set[i].path.cmp(&self.set[j].path));
        for i in order {
            let (Some(action), Some(value)) =
                (self.set.get(i), values.get_mut(i).and_then(Option::take))
            else {
                continue;
            };
            set_path(item, &action.path, value)?;
        }
        for action in &self.add {
            let new = match (action.path.get(item), &action.value) {
                (None, value) => value.clone(),
                (Some(AttributeValue::N(a)), AttributeValue::N(b)) => {
                    AttributeValue::N(a.add(b).map_err(|e| ExprError::validation(e.to_string()))?)
                }
                (Some(AttributeValue::Ss(a)), AttributeValue::Ss(b)) => {
                    AttributeValue::Ss(union(a.clone(), b))
                }
                (Some(AttributeValue::Ns(a)), AttributeValue::Ns(b)) => {
                    AttributeValue::Ns(union(a.clone(), b))
                }
                (Some(AttributeValue::Bs(a)), AttributeValue::Bs(b)) => {
                    AttributeValue::Bs(union(a.clone(), b))
                }
                _ => return Err(runtime::incorrect_type()),
            };
            set_path(item, &action.path, new)?;
        }
        // A SET or ADD into a nested path (or of a nested value) can make the attribute
        // deeper than DynamoDB allows.
        let grown = self
            .set
            .iter()
            .map(|a| &a.path)
            .chain(self.add.iter().map(|a| &a.path));
        for path in grown {
            let too_deep = path
                .top()
                .and_then(|name| item.get(name))
                .is_some_and(|value| {
                    model::nesting_depth(value) >= model::limits::NESTING_DEPTH_MAX
                });
            if too_deep {
                return Err(ExprError::validation(model::NESTING_DEPTH_MESSAGE));
            }
        }
        let mut removals: Vec<&Path> = self.remove.iter().collect();
        for action in &self.delete {
            let Some(existing) = action.path.get(item) else {
                if action.path.elements().len() > 1 {
                    parent_mut(item, &action.path)?;
                }
                continue;
            };
            let mut new = existing.clone();
            let empty = match (&mut new, &action.value) {
                (AttributeValue::Ss(a), AttributeValue::Ss(b)) => {
                    difference(a, b);
                    a.is_empty()
                }
                (AttributeValue::Ns(a), AttributeValue::Ns(b)) => {
                    difference(a, b);
                    a.is_empty()
                }
                (AttributeValue::Bs(a), AttributeValue::Bs(b)) => {
                    difference(a, b);
                    a.is_empty()
                }
                _ => return Err(runtime::incorrect_type()),
            };
            if empty {
                removals.push(&action.path);
            } else {
                set_path(item, &action.path, new)?;
            }
        }
        removals.sort();
        for path in removals.into_iter().rev() {
            remove_path(item, path)?;
        }
        Ok(())
    }
}
