//! Feeds arbitrary bodies to every operation's request decoder: it must answer with a value or
//! a DynamoDB-shaped 4xx error, never panic and never claim an internal error.
#![no_main]

use libfuzzer_sys::fuzz_target;

const OPERATIONS: &[&str] = &[
    "CreateTable", "DescribeTable", "ListTables", "UpdateTable", "DeleteTable", "TagResource",
    "UntagResource", "ListTagsOfResource", "DescribeEndpoints", "DescribeLimits", "PutItem",
    "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactWriteItems", "TransactGetItems", "CreateGlobalTable", "UpdateGlobalTable",
    "DescribeGlobalTable", "ListGlobalTables", "UpdateTimeToLive", "DescribeTimeToLive",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let op = OPERATIONS[usize::from(selector) % OPERATIONS.len()];
    if let Err(error) = api::decode_request(op, body) {
        assert!(!error.catalog().status.is_server_error(), "{op}: {error}");
    }
});
