//! Unit tests of the whole crate, grouped by expression kind.

use std::collections::BTreeMap;

use model::{AttributeValue, Item, Number};

use crate::Bindings;

mod condition;
mod key_condition;
mod legacy;
mod projection;
mod roundtrip;
mod update;

/// A string value.
pub(crate) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// A number value.
pub(crate) fn n(v: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(v).expect("test number"))
}

/// Bindings from `("#x", "name")` and `(":v", value)` pairs.
pub(crate) fn bind(names: &[(&str, &str)], values: &[(&str, AttributeValue)]) -> Bindings {
    Bindings::new(
        names
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// An item from DynamoDB JSON.
pub(crate) fn item(json: serde_json::Value) -> Item {
    model::item_from_json(&json).expect("test item")
}

/// A map value from pairs.
pub(crate) fn m(pairs: &[(&str, AttributeValue)]) -> AttributeValue {
    AttributeValue::M(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}
