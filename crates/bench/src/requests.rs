//! The request bodies the bench sends, built by hand as DynamoDB JSON.

use bytes::Bytes;
use serde_json::json;

use crate::Op;

/// Partitions pre-loaded for `query`.
pub(crate) const QUERY_PARTITIONS: usize = 100;
/// Items in each pre-loaded query partition (and the Query `Limit`).
pub(crate) const QUERY_PARTITION_ITEMS: usize = 10;
/// Distinct keys a put worker cycles through, so a long run does not grow the table without
/// bound.
const PUT_KEYS_PER_WORKER: u64 = 100_000;

/// Table name, value and key space shared by setup and the workers.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) table: String,
    /// The table with two global secondary indexes that `put-indexed` writes to.
    pub(crate) indexed_table: String,
    pub(crate) value: String,
    pub(crate) get_items: usize,
}

impl Plan {
    pub(crate) fn new(table: &str, value_bytes: usize, get_items: usize) -> Plan {
        Plan {
            table: table.to_owned(),
            indexed_table: format!("{table}-gsi2"),
            value: "x".repeat(value_bytes),
            get_items: get_items.max(1),
        }
    }

    /// The item pre-loaded for gets under index `i`.
    pub(crate) fn get_item(&self, i: usize) -> serde_json::Value {
        json!({"pk": {"S": format!("g{i}")}, "sk": {"S": "0"}, "v": {"S": self.value}})
    }

    /// Item `k` of query partition `p`.
    pub(crate) fn query_item(&self, p: usize, k: usize) -> serde_json::Value {
        json!({"pk": {"S": format!("q{p}")}, "sk": {"S": format!("{k:03}")}, "v": {"S": self.value}})
    }

    /// The DynamoDB operation name and body of request number `n` of worker `worker`;
    /// `random` picks the key for reads.
    pub(crate) fn request(
        &self,
        op: Op,
        worker: usize,
        n: u64,
        random: u64,
    ) -> (&'static str, Bytes) {
        let body = match op {
            Op::Put => json!({
                "TableName": self.table,
                "Item": {
                    "pk": {"S": format!("p{worker}-{}", n % PUT_KEYS_PER_WORKER)},
                    "sk": {"S": "0"},
                    "v": {"S": self.value},
                },
            }),
            Op::Get => json!({
                "TableName": self.table,
                "Key": {
                    "pk": {"S": format!("g{}", random % self.get_items as u64)},
                    "sk": {"S": "0"},
                },
            }),
            Op::PutIndexed | Op::PutUnindexed => json!({
                "TableName": if op == Op::PutIndexed { &self.indexed_table } else { &self.table },
                "Item": {
                    "pk": {"S": format!("p{worker}-{}", n % PUT_KEYS_PER_WORKER)},
                    "sk": {"S": "0"},
                    "v": {"S": self.value},
                    "g1pk": {"S": format!("t{}", n % 100)},
                    "g1sk": {"S": format!("{worker}-{n}")},
                    "g2pk": {"S": format!("w{worker}")},
                },
            }),
            Op::Stream => json!({
                "TableName": format!("{}-stream", self.table),
                "Item": {
                    "pk": {"S": format!("s{worker}-{n}")},
                    "sk": {"S": "0"},
                    "v": {"S": self.value},
                },
            }),
            Op::Query => json!({
                "TableName": self.table,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {
                    ":p": {"S": format!("q{}", random % QUERY_PARTITIONS as u64)},
                },
                "Limit": QUERY_PARTITION_ITEMS,
            }),
        };
        let operation = match op {
            Op::Put | Op::Stream | Op::PutIndexed | Op::PutUnindexed => "PutItem",
            Op::Get => "GetItem",
            Op::Query => "Query",
        };
        (operation, Bytes::from(body.to_string()))
    }
}

/// A small xorshift generator: reproducible per worker, no dependency, good enough to spread
/// reads over the key space.
#[derive(Debug, Clone)]
pub(crate) struct KeyPicker(u64);

impl KeyPicker {
    pub(crate) fn new(seed: u64) -> KeyPicker {
        KeyPicker(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
