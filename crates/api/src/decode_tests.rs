//! The request decoder never panics: arbitrary bytes and arbitrary JSON built from the real
//! member names go through every operation's decoder, which must answer `Ok` or a client
//! error (never an internal one).

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::{decode, decode_request, ApiError, Operation};

const MEMBERS: &[&str] = &[
    "TableName",
    "Key",
    "Item",
    "Keys",
    "RequestItems",
    "TransactItems",
    "Put",
    "Update",
    "Delete",
    "ConditionCheck",
    "Get",
    "PutRequest",
    "DeleteRequest",
    "KeySchema",
    "AttributeDefinitions",
    "AttributeName",
    "AttributeType",
    "KeyType",
    "ProvisionedThroughput",
    "ReadCapacityUnits",
    "WriteCapacityUnits",
    "BillingMode",
    "Limit",
    "Select",
    "Segment",
    "TotalSegments",
    "ExclusiveStartKey",
    "ProjectionExpression",
    "FilterExpression",
    "ConditionExpression",
    "UpdateExpression",
    "KeyConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnValues",
    "ReturnConsumedCapacity",
    "ReturnValuesOnConditionCheckFailure",
    "Tags",
    "Key",
    "Value",
    "ResourceArn",
    "TagKeys",
    "ClientRequestToken",
    "AttributesToGet",
    "Expected",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
    "AttributeUpdates",
    "ConditionalOperator",
    "ConsistentRead",
    "ScanIndexForward",
    "IndexName",
    "ExclusiveStartTableName",
    "DeletionProtectionEnabled",
    "TableClass",
    "StreamSpecification",
    "StreamEnabled",
    "GlobalSecondaryIndexes",
    "S",
    "N",
    "B",
    "SS",
    "NS",
    "BS",
    "M",
    "L",
    "BOOL",
    "NULL",
    "#a",
    ":v",
    "pk",
    "sk",
];

const STRINGS: &[&str] = &[
    "Music",
    "pk",
    "sk",
    "#a",
    ":v",
    "pk = :v",
    "pk = :v AND sk > :v",
    "SET a = :v",
    "attribute_exists(pk)",
    "a, b.c[1]",
    "HASH",
    "RANGE",
    "S",
    "N",
    "B",
    "PAY_PER_REQUEST",
    "PROVISIONED",
    "ALL_OLD",
    "ALL_NEW",
    "UPDATED_NEW",
    "COUNT",
    "SPECIFIC_ATTRIBUTES",
    "TOTAL",
    "INDEXES",
    "NONE",
    "1",
    "-1",
    "1e400",
    "",
    "AQID",
    "arn:aws:dynamodb:us-east-1:000000000000:table/Music",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(101),
            Just(1_000_001),
            any::<i64>()
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        "[a-z:#]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(MEMBERS), inner), 0..6).prop_map(
                |entries| {
                    let map: Map<String, Value> = entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect();
                    Value::Object(map)
                }
            ),
        ]
    })
}

fn check(op: Operation, body: &[u8]) {
    if let Err(error) = decode(op, body) {
        assert!(
            !error.catalog().status.is_server_error(),
            "{op:?} answered a server error for a client's body: {error:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn t30_arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        for op in Operation::ALL {
            check(*op, &body);
        }
    }

    #[test]
    fn t30_arbitrary_json_never_panics(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        for op in Operation::ALL {
            check(*op, &body);
        }
    }

    #[test]
    fn t30_arbitrary_objects_never_panic(
        entries in prop::collection::vec((prop::sample::select(MEMBERS), json_value()), 0..8)
    ) {
        let map: Map<String, Value> = entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let body = serde_json::to_vec(&Value::Object(map)).unwrap();
        for op in Operation::ALL {
            check(*op, &body);
        }
    }
}

#[test]
fn t10_unknown_operation_names() {
    assert_eq!(
        decode_request("NoSuchOperation", b"{}").unwrap_err(),
        ApiError::UnknownOperation
    );
}

#[test]
fn t10_supported_operations_decode_and_the_rest_say_so() {
    for op in Operation::ALL {
        let result = decode(*op, b"{}");
        let unsupported = matches!(&result, Err(ApiError::Unsupported(o)) if o == op);
        assert_eq!(unsupported, !op.is_supported(), "{op:?}: {result:?}");
    }
}
