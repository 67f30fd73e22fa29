//! The parsed forms of condition (and filter) expressions and update expressions, with every
//! `#name` and `:value` placeholder already substituted. They derive serde so that a write
//! command can carry them inside a Raft log entry.

use model::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::path::Path;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparator {
    /// The operator as written in expressions.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> Comparator {
        match self {
            Comparator::Eq => Comparator::Eq,
            Comparator::Ne => Comparator::Ne,
            Comparator::Lt => Comparator::Gt,
            Comparator::Le => Comparator::Ge,
            Comparator::Gt => Comparator::Lt,
            Comparator::Ge => Comparator::Le,
        }
    }
}

/// An operand of a condition: a document path, a constant, or `size(…)` of one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operand {
    /// The value at a document path (absent if the item has none there).
    Path(Path),
    /// A constant (an expression attribute value).
    Value(AttributeValue),
    /// `size(operand)`: a number, absent if the operand is absent or has no size.
    Size(Box<Operand>),
}

/// A condition or filter expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// `left op right`.
    Compare {
        /// The comparison.
        op: Comparator,
        /// Left operand.
        left: Operand,
        /// Right operand.
        right: Operand,
    },
    /// `operand BETWEEN low AND high`.
    Between {
        /// The tested operand.
        operand: Operand,
        /// Inclusive lower bound.
        low: Operand,
        /// Inclusive upper bound.
        high: Operand,
    },
    /// `operand IN (list…)`.
    In {
        /// The tested operand.
        operand: Operand,
        /// The candidates (1 to 100).
        list: Vec<Operand>,
    },
    /// `attribute_exists(path)`.
    AttributeExists(Path),
    /// `attribute_not_exists(path)`.
    AttributeNotExists(Path),
    /// `attribute_type(operand, type)`; `type` is one of `S`, `SS`, `N`, `NS`, `B`, `BS`,
    /// `BOOL`, `NULL`, `L`, `M`.
    AttributeType {
        /// The tested operand.
        operand: Operand,
        /// The type name (a string).
        type_name: Operand,
    },
    /// `begins_with(operand, prefix)`, on strings and binaries.
    BeginsWith {
        /// The tested operand.
        operand: Operand,
        /// The prefix.
        prefix: Operand,
    },
    /// `contains(operand, element)`: substring, set member or list element.
    Contains {
        /// The string, set or list.
        operand: Operand,
        /// What it must contain.
        element: Operand,
    },
    /// `NOT condition`.
    Not(Box<Condition>),
    /// `left AND right`.
    And(Box<Condition>, Box<Condition>),
    /// `left OR right`.
    Or(Box<Condition>, Box<Condition>),
}

/// An update expression: its four clauses, each action in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateExpr {
    /// `SET path = value, …`
    pub set: Vec<SetAction>,
    /// `REMOVE path, …`
    pub remove: Vec<Path>,
    /// `ADD path value, …`: number addition or set union.
    pub add: Vec<AddAction>,
    /// `DELETE path value, …`: set difference.
    pub delete: Vec<DeleteAction>,
}

/// One `path = value` of a SET clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAction {
    /// What is written.
    pub path: Path,
    /// What is written there.
    pub value: SetValue,
}

/// The right-hand side of a SET action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetValue {
    /// A single operand.
    Operand(SetOperand),
    /// `a + b` (numbers).
    Plus(SetOperand, SetOperand),
    /// `a - b` (numbers).
    Minus(SetOperand, SetOperand),
}

/// An operand of a SET value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetOperand {
    /// The value at a path of the item before the update.
    Path(Path),
    /// A constant.
    Value(AttributeValue),
    /// `if_not_exists(path, operand)`.
    IfNotExists(Path, Box<SetOperand>),
    /// `list_append(a, b)`: the elements of `a`, then those of `b`.
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

/// One `path value` of an ADD clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddAction {
    /// What is added to (created if absent).
    pub path: Path,
    /// A number or a set.
    pub value: AttributeValue,
}

/// One `path value` of a DELETE clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteAction {
    /// The set deleted from.
    pub path: Path,
    /// The set of elements to remove.
    pub value: AttributeValue,
}

impl UpdateExpr {
    /// Every path the update writes (SET, REMOVE, ADD, DELETE, in that order): for
    /// `UPDATED_OLD`/`UPDATED_NEW`, and for the caller's check that no key attribute changes.
    pub fn targets(&self) -> Vec<Path> {
        let mut out = Vec::new();
        out.extend(self.set.iter().map(|a| a.path.clone()));
        out.extend(self.remove.iter().cloned());
        out.extend(self.add.iter().map(|a| a.path.clone()));
        out.extend(self.delete.iter().map(|a| a.path.clone()));
        out
    }

    /// Whether every action only takes something away (REMOVE, DELETE): DynamoDB does not
    /// create a missing item for such an update.
    pub fn only_removes(&self) -> bool {
        !self.is_empty() && self.set.is_empty() && self.add.is_empty()
    }

    /// Whether the expression has no action at all (never true for a parsed expression).
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.remove.is_empty()
            && self.add.is_empty()
            && self.delete.is_empty()
    }
}

impl Operand {
    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Operand::Path(p) => out.push(p),
            Operand::Value(_) => {}
            Operand::Size(inner) => inner.collect_paths(out),
        }
    }
}

impl Condition {
    /// Every document path the condition reads, in the order written.
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Condition::Compare { left, right, .. } => {
                left.collect_paths(out);
                right.collect_paths(out);
            }
            Condition::Between { operand, low, high } => {
                for o in [operand, low, high] {
                    o.collect_paths(out);
                }
            }
            Condition::In { operand, list } => {
                operand.collect_paths(out);
                for o in list {
                    o.collect_paths(out);
                }
            }
            Condition::AttributeExists(p) | Condition::AttributeNotExists(p) => out.push(p),
            Condition::AttributeType { operand, type_name } => {
                operand.collect_paths(out);
                type_name.collect_paths(out);
            }
            Condition::BeginsWith { operand, prefix } => {
                operand.collect_paths(out);
                prefix.collect_paths(out);
            }
            Condition::Contains { operand, element } => {
                operand.collect_paths(out);
                element.collect_paths(out);
            }
            Condition::Not(inner) => inner.collect_paths(out),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
        }
    }
}
