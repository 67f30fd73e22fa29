//! Key schemas: which attributes form an item's primary key, and their scalar types.

use serde::{Deserialize, Serialize};

#[path = "key_serde.rs"]
mod key_serde;

use crate::value::AttributeValue;

/// The three types a key attribute may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "S" => Some(ScalarType::S),
            "N" => Some(ScalarType::N),
            "B" => Some(ScalarType::B),
            _ => None,
        }
    }

    /// Whether `value` is of this type.
    pub fn matches(self, value: &AttributeValue) -> bool {
        matches!(
            (self, value),
            (ScalarType::S, AttributeValue::S(_))
                | (ScalarType::N, AttributeValue::N(_))
                | (ScalarType::B, AttributeValue::B(_))
        )
    }
}

/// One key attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    pub name: String,
    pub scalar: ScalarType,
}

/// A table's (or index's) primary key.
///
/// A global secondary index may have a multi-attribute key: up to four partition key
/// attributes (`partition`, then `partition_rest`) and up to four sort key attributes
/// (`sort`, then `sort_rest`), in KeySchema order. Tables and local indexes have one of each
/// at most, so their `*_rest` are empty. Its stored form is in `key_serde`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
    /// Further partition key attributes of a multi-attribute key, in order.
    pub partition_rest: Vec<KeyAttribute>,
    /// Further sort key attributes of a multi-attribute key, in order (only with `sort`).
    pub sort_rest: Vec<KeyAttribute>,
}

impl KeySchema {
    /// A single-attribute key: one partition key attribute and at most one sort key attribute.
    pub fn new(partition: KeyAttribute, sort: Option<KeyAttribute>) -> KeySchema {
        KeySchema {
            partition,
            sort,
            partition_rest: Vec::new(),
            sort_rest: Vec::new(),
        }
    }

    /// A key from its partition and sort key attributes in order; None unless there is at
    /// least one partition attribute.
    pub fn from_parts(partition: Vec<KeyAttribute>, sort: Vec<KeyAttribute>) -> Option<KeySchema> {
        let mut partition = partition.into_iter();
        let mut sort = sort.into_iter();
        Some(KeySchema {
            partition: partition.next()?,
            sort: sort.next(),
            partition_rest: partition.collect(),
            sort_rest: sort.collect(),
        })
    }

    /// The key attributes in KeySchema order: the partition attributes, then the sort ones.
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        self.partition_attributes().chain(self.sort_attributes())
    }

    /// The partition key attributes, in order.
    pub fn partition_attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.partition).chain(self.partition_rest.iter())
    }

    /// The sort key attributes, in order.
    pub fn sort_attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        self.sort.iter().chain(self.sort_rest.iter())
    }

    /// Each key attribute in KeySchema order with whether it is a sort (RANGE) attribute.
    pub fn elements(&self) -> impl Iterator<Item = (&KeyAttribute, bool)> {
        self.partition_attributes()
            .map(|a| (a, false))
            .chain(self.sort_attributes().map(|a| (a, true)))
    }

    /// Whether the key has more than one partition or more than one sort attribute.
    pub fn is_multi_attribute(&self) -> bool {
        !self.partition_rest.is_empty() || !self.sort_rest.is_empty()
    }

    /// Whether `name` is one of the key attributes.
    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }
}
