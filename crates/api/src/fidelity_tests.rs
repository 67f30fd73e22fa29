//! Request validation as DynamoDB orders and words it, checked at the decode layer.

use crate::{decode_request, ApiError};

fn message(op: &str, body: &str) -> String {
    match decode_request(op, body.as_bytes()) {
        Err(ApiError::Validation(m)) => m,
        other => panic!("{op} {body}: expected a validation error, got {other:?}"),
    }
}

#[test]
fn t10_missing_request_items_is_null_not_empty() {
    assert_eq!(
        message("BatchWriteItem", "{}"),
        "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(
        message("BatchWriteItem", r#"{"RequestItems": {}}"#),
        "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
}

#[test]
fn t10_constraint_violations_before_return_values_rule() {
    assert_eq!(
        message(
            "PutItem",
            r#"{"Item": {"pk": {"S": "a"}}, "ReturnValues": "ALL_NEW"}"#
        ),
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(
        message(
            "DeleteItem",
            r#"{"TableName": "tbl", "Key": {"pk": {"S": "a"}}, "ReturnValues": "UPDATED_OLD"}"#
        ),
        "ReturnValues can only be ALL_OLD or NONE"
    );
}

#[test]
fn t10_table_arns_decode_to_names() {
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Music";
    for (op, body) in [
        ("DescribeTable", format!(r#"{{"TableName": "{arn}"}}"#)),
        (
            "GetItem",
            format!(r#"{{"TableName": "{arn}", "Key": {{"pk": {{"S": "a"}}}}}}"#),
        ),
        ("Scan", format!(r#"{{"TableName": "{arn}"}}"#)),
        (
            "BatchGetItem",
            format!(r#"{{"RequestItems": {{"{arn}": {{"Keys": [{{"pk": {{"S": "a"}}}}]}}}}}}"#),
        ),
        (
            "TransactGetItems",
            format!(
                r#"{{"TransactItems": [{{"Get": {{"TableName": "{arn}", "Key": {{"pk": {{"S": "a"}}}}}}}}]}}"#
            ),
        ),
    ] {
        let decoded = decode_request(op, body.as_bytes()).unwrap_or_else(|e| panic!("{op}: {e:?}"));
        assert!(
            format!("{decoded:?}").contains("\"Music\""),
            "{op}: {decoded:?}"
        );
    }
}
