//! UpdateTable, tags and deletion protection end to end.

use serde_json::json;

use crate::tests::{call, region};

#[tokio::test]
async fn t10_update_tags_and_protection() {
    let r = region();
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Prot";
    call(
        &r,
        "CreateTable",
        json!({
            "TableName": "Prot",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "DeletionProtectionEnabled": true
        }),
    )
    .await
    .unwrap();

    tracing::info!("--- deletion protection refuses DeleteTable");
    let e = call(&r, "DeleteTable", json!({"TableName": "Prot"}))
        .await
        .unwrap_err();
    assert_eq!(e.catalog().code(), "ValidationException");

    tracing::info!("--- UpdateTable: switch to provisioned, drop protection");
    let e = call(
        &r,
        "UpdateTable",
        json!({"TableName": "Prot", "BillingMode": "PROVISIONED"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED"
    );
    let e = call(&r, "UpdateTable", json!({"TableName": "Prot"}))
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("At least one of"), "{e}");
    let updated = call(
        &r,
        "UpdateTable",
        json!({"TableName": "Prot", "BillingMode": "PROVISIONED", "DeletionProtectionEnabled": false,
               "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 2}}),
    )
    .await
    .unwrap();
    let d = &updated["TableDescription"];
    assert_eq!(d["BillingModeSummary"]["BillingMode"], "PROVISIONED");
    assert_eq!(d["ProvisionedThroughput"]["ReadCapacityUnits"], 7);
    assert_eq!(d["DeletionProtectionEnabled"], false);

    tracing::info!("--- tags by ARN");
    call(
        &r,
        "TagResource",
        json!({"ResourceArn": arn, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}),
    )
    .await
    .unwrap();
    call(
        &r,
        "UntagResource",
        json!({"ResourceArn": arn, "TagKeys": ["a"]}),
    )
    .await
    .unwrap();
    let tags = call(&r, "ListTagsOfResource", json!({"ResourceArn": arn}))
        .await
        .unwrap();
    assert_eq!(tags, json!({"Tags": [{"Key": "b", "Value": "2"}]}));
    let e = call(&r, "ListTagsOfResource", json!({"ResourceArn": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid TableArn: Invalid ResourceArn provided as input nope"
    );
    let e = call(
        &r,
        "ListTagsOfResource",
        json!({"ResourceArn": "arn:aws:dynamodb:eu-west-1:000000000000:table/Prot"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.catalog().code(), "ResourceNotFoundException");

    call(&r, "DeleteTable", json!({"TableName": "Prot"}))
        .await
        .unwrap();
}
