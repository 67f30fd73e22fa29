//! The legacy parameters end to end.

use serde_json::json;

use crate::tests::{call, region};
use crate::ApiError;

#[tokio::test]
async fn t10_legacy_parameters() {
    let r = region();
    call(
        &r,
        "CreateTable",
        json!({
            "TableName": "Legacy",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await
    .unwrap();

    tracing::info!("--- Expected guards a put");
    let put = json!({"TableName": "Legacy", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}},
                     "Expected": {"pk": {"Exists": false}}});
    call(&r, "PutItem", put.clone()).await.unwrap();
    let e = call(&r, "PutItem", put).await.unwrap_err();
    assert_eq!(e, ApiError::ConditionalCheckFailed { item: None });
    call(
        &r,
        "PutItem",
        json!({"TableName": "Legacy", "Item": {"pk": {"S": "a"}, "sk": {"N": "2"}, "v": {"S": "y"}}}),
    )
    .await
    .unwrap();

    tracing::info!("--- AttributeUpdates and AttributesToGet");
    call(
        &r,
        "UpdateItem",
        json!({"TableName": "Legacy", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "AttributeUpdates": {"n": {"Action": "ADD", "Value": {"N": "3"}}}}),
    )
    .await
    .unwrap();
    let got = call(
        &r,
        "GetItem",
        json!({"TableName": "Legacy", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "AttributesToGet": ["n"]}),
    )
    .await
    .unwrap();
    assert_eq!(got, json!({"Item": {"n": {"N": "3"}}}));

    tracing::info!("--- KeyConditions, QueryFilter, ScanFilter with OR");
    let page = call(
        &r,
        "Query",
        json!({"TableName": "Legacy",
               "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
               "QueryFilter": {"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "y"}]}}}),
    )
    .await
    .unwrap();
    assert_eq!(page["Count"], 1);
    assert_eq!(page["ScannedCount"], 2);
    let page = call(
        &r,
        "Scan",
        json!({"TableName": "Legacy", "ConditionalOperator": "OR",
               "ScanFilter": {"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "y"}]},
                              "n": {"ComparisonOperator": "NOT_NULL"}}}),
    )
    .await
    .unwrap();
    assert_eq!(page["Count"], 2);

    tracing::info!("--- mixing legacy and expression parameters");
    let e = call(
        &r,
        "Query",
        json!({"TableName": "Legacy",
               "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
               "FilterExpression": "v = :v", "ExpressionAttributeValues": {":v": {"S": "y"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {FilterExpression}"
    );
}
