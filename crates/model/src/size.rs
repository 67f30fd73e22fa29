//! Item and attribute sizes, computed as DynamoDB computes them for the 400 KB limit and for
//! capacity units.

use crate::limits::{READ_UNIT_BYTES, WRITE_UNIT_BYTES};
use crate::value::{AttributeValue, Item};

/// Size of one value (without its name).
pub fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.significant_digits().div_ceil(2) + 1,
        AttributeValue::B(b) => b.len(),
        AttributeValue::Bool(_) | AttributeValue::Null => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v
            .iter()
            .map(|n| n.significant_digits().div_ceil(2) + 1)
            .sum(),
        AttributeValue::Bs(v) => v.iter().map(Vec::len).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
    }
}

/// Size of a whole item: every attribute name plus its value.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Read capacity units for reading `bytes` (one item, or one page's total).
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// Write capacity units for writing an item of `bytes`.
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as f64
}
