//! Key schemas: which attributes form an item's primary key, and their scalar types.

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
}

impl KeySchema {
    /// The key attributes, partition first.
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.partition).chain(self.sort.iter())
    }

    /// Whether `name` is one of the key attributes.
    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }
}
