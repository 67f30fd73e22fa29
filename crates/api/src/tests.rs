//! Operations end to end through `decode_request` and `execute`, over a [`LocalRegion`].

use std::sync::Arc;

use serde_json::{json, Value};

use crate::{decode_request, execute, ApiError, LocalRegion, RequestContext};

pub(crate) fn region() -> LocalRegion {
    let store = storage::Store::open(None, 16 * 1024 * 1024).unwrap();
    LocalRegion::new(store, "us-east-1", Arc::new(model::SystemClock))
}

pub(crate) async fn call(region: &LocalRegion, op: &str, body: Value) -> Result<Value, ApiError> {
    let bytes = serde_json::to_vec(&body).unwrap();
    let request = decode_request(op, &bytes)?;
    let ctx = RequestContext {
        request_id: "test",
        signed_region: None,
        host: Some("localhost:8000"),
    };
    let out = execute(region, &ctx, request).await?;
    Ok(serde_json::from_slice(&out).unwrap())
}

pub(crate) async fn ok(region: &LocalRegion, op: &str, body: Value) -> Value {
    match call(region, op, body.clone()).await {
        Ok(v) => v,
        Err(e) => panic!("{op} {body}: {e:?}"),
    }
}

pub(crate) async fn err(region: &LocalRegion, op: &str, body: Value) -> ApiError {
    match call(region, op, body.clone()).await {
        Ok(v) => panic!("{op} {body}: expected an error, got {v}"),
        Err(e) => e,
    }
}

async fn music(region: &LocalRegion) {
    ok(
        region,
        "CreateTable",
        json!({
            "TableName": "Music",
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
    .await;
}

fn item(pk: &str, sk: u32, v: &str) -> Value {
    json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}, "v": {"S": v}})
}

#[tokio::test]
async fn t10_table_lifecycle() {
    tracing::info!("--- create, describe, list, delete");
    let r = region();
    let created = ok(
        &r,
        "CreateTable",
        json!({
            "TableName": "Music",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
            "Tags": [{"Key": "team", "Value": "a"}]
        }),
    )
    .await;
    let d = &created["TableDescription"];
    assert_eq!(d["TableStatus"], "ACTIVE");
    assert_eq!(d["ProvisionedThroughput"]["ReadCapacityUnits"], 5);
    assert!(d.get("BillingModeSummary").is_none(), "{d}");
    assert!(d["CreationDateTime"].as_f64().unwrap() > 1.6e9);
    assert_eq!(
        d["TableArn"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/Music"
    );

    let e = err(
        &r,
        "CreateTable",
        json!({
            "TableName": "Music",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await;
    assert_eq!(e.catalog().code(), "ResourceInUseException");

    let described = ok(&r, "DescribeTable", json!({"TableName": "Music"})).await;
    assert_eq!(described["Table"]["ItemCount"], 0);
    assert_eq!(described["Table"]["KeySchema"][0]["KeyType"], "HASH");

    let tags = ok(
        &r,
        "ListTagsOfResource",
        json!({"ResourceArn": "arn:aws:dynamodb:us-east-1:000000000000:table/Music"}),
    )
    .await;
    assert_eq!(tags, json!({"Tags": [{"Key": "team", "Value": "a"}]}));

    for name in ["Alpha", "Zeta"] {
        ok(
            &r,
            "CreateTable",
            json!({
                "TableName": name,
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
        )
        .await;
    }
    let page = ok(&r, "ListTables", json!({"Limit": 2})).await;
    assert_eq!(
        page,
        json!({"TableNames": ["Alpha", "Music"], "LastEvaluatedTableName": "Music"})
    );
    let page = ok(
        &r,
        "ListTables",
        json!({"Limit": 2, "ExclusiveStartTableName": "Music"}),
    )
    .await;
    assert_eq!(page, json!({"TableNames": ["Zeta"]}));

    let deleted = ok(&r, "DeleteTable", json!({"TableName": "Music"})).await;
    assert_eq!(deleted["TableDescription"]["TableStatus"], "DELETING");
    let e = err(&r, "DescribeTable", json!({"TableName": "Music"})).await;
    assert_eq!(e.catalog().code(), "ResourceNotFoundException");
}

#[tokio::test]
async fn t10_create_table_validation() {
    let r = region();
    let cases = [
        (
            json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
        (
            json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}),
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ),
        (
            json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                   "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ),
        (
            json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "RANGE"}], "BillingMode": "PAY_PER_REQUEST"}),
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "X"}],
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
            "1 validation error detected: Value 'X' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
        ),
        (
            json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], AttributeDefinitions: [a]",
        ),
        (
            json!({"TableName": "t!", "BillingMode": "PAY_PER_REQUEST"}),
            "4 validation errors detected: Value 't!' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 't!' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null; Value null at 'keySchema' failed to satisfy constraint: Member must not be null",
        ),
    ];
    for (body, message) in cases {
        match err(&r, "CreateTable", body).await {
            ApiError::Validation(m) => assert_eq!(m, message),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn t10_item_round_trip() {
    let r = region();
    music(&r).await;
    tracing::info!("--- put, get with projection and capacity");
    let put = ok(
        &r,
        "PutItem",
        json!({"TableName": "Music", "Item": item("a", 1, "x"), "ReturnConsumedCapacity": "TOTAL"}),
    )
    .await;
    assert_eq!(
        put,
        json!({"ConsumedCapacity": {"TableName": "Music", "CapacityUnits": 1.0}})
    );
    let got = ok(
        &r,
        "GetItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
    )
    .await;
    assert_eq!(got, json!({"Item": item("a", 1, "x")}));
    let got = ok(
        &r,
        "GetItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"},
               "ConsistentRead": true, "ReturnConsumedCapacity": "INDEXES"}),
    )
    .await;
    assert_eq!(
        got,
        json!({"Item": {"v": {"S": "x"}},
               "ConsumedCapacity": {"TableName": "Music", "CapacityUnits": 1.0, "ReadCapacityUnits": 1.0,
                                    "Table": {"CapacityUnits": 1.0, "ReadCapacityUnits": 1.0}}})
    );
    let missing = ok(
        &r,
        "GetItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}}),
    )
    .await;
    assert_eq!(missing, json!({}));

    tracing::info!("--- update with ReturnValues");
    let updated = ok(
        &r,
        "UpdateItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "SET v = :v, n = :n", "ConditionExpression": "attribute_exists(pk)",
               "ExpressionAttributeValues": {":v": {"S": "y"}, ":n": {"N": "5"}},
               "ReturnValues": "UPDATED_NEW"}),
    )
    .await;
    assert_eq!(
        updated,
        json!({"Attributes": {"v": {"S": "y"}, "n": {"N": "5"}}})
    );

    tracing::info!("--- a failed condition returns the old item when asked");
    let e = err(
        &r,
        "PutItem",
        json!({"TableName": "Music", "Item": item("a", 1, "z"), "ConditionExpression": "attribute_not_exists(pk)",
               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    )
    .await;
    match &e {
        ApiError::ConditionalCheckFailed { item: Some(old) } => {
            assert_eq!(old.get("v"), Some(&model::AttributeValue::S("y".into())));
        }
        other => panic!("{other:?}"),
    }

    tracing::info!("--- delete with ALL_OLD");
    let deleted = ok(
        &r,
        "DeleteItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ReturnValues": "ALL_OLD"}),
    )
    .await;
    assert_eq!(deleted["Attributes"]["v"], json!({"S": "y"}));
    let e = err(
        &r,
        "PutItem",
        json!({"TableName": "Music", "Item": item("a", 1, "x"), "ReturnValues": "ALL_NEW"}),
    )
    .await;
    assert_eq!(e.to_string(), "ReturnValues can only be ALL_OLD or NONE");
    let e = err(
        &r,
        "GetItem",
        json!({"TableName": "Nope", "Key": {"pk": {"S": "b"}}}),
    )
    .await;
    assert_eq!(e.catalog().code(), "ResourceNotFoundException");
}

#[tokio::test]
async fn t10_item_request_validation() {
    let r = region();
    let e = err(
        &r,
        "PutItem",
        json!({"TableName": "Music", "Item": {"pk": {"S": "a"}}, "ExpressionAttributeValues": {":v": {"S": "x"}}}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "ExpressionAttributeValues can only be specified when using expressions"
    );
    let e = err(
        &r,
        "UpdateItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET a = :a",
               "ExpressionAttributeValues": {":a": {"S": "x"}, ":b": {"S": "y"}}}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}"
    );
    let e = err(
        &r,
        "GetItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}}, "AttributesToGet": ["a"], "ProjectionExpression": "a"}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
    );
    let e = err(
        &r,
        "GetItem",
        json!({"TableName": "Music", "Key": {"pk": {"Q": "a"}}}),
    )
    .await;
    assert_eq!(e.catalog().code(), "SerializationException");
    let e = err(&r, "GetItem", json!({"TableName": 5})).await;
    assert_eq!(e.catalog().code(), "SerializationException");
    let e = err(&r, "GetItem", json!({})).await;
    assert_eq!(e.catalog().code(), "ValidationException");
    let e = err(&r, "DescribeKinesisStreamingDestination", json!({})).await;
    assert_eq!(
        e.to_string(),
        "Meridian does not support DescribeKinesisStreamingDestination yet"
    );
    assert_eq!(e.catalog().code(), "ValidationException");
    let e = err(&r, "Frobnicate", json!({})).await;
    assert_eq!(e, ApiError::UnknownOperation);
}

#[tokio::test]
async fn t10_query_and_scan() {
    let r = region();
    music(&r).await;
    for sk in 0..5 {
        ok(
            &r,
            "PutItem",
            json!({"TableName": "Music", "Item": item("a", sk, "x")}),
        )
        .await;
    }
    ok(
        &r,
        "PutItem",
        json!({"TableName": "Music", "Item": item("b", 0, "y")}),
    )
    .await;
    let page = ok(
        &r,
        "Query",
        json!({"TableName": "Music", "KeyConditionExpression": "pk = :p AND sk >= :s",
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"N": "1"}}, "Limit": 2,
               "ScanIndexForward": false, "ReturnConsumedCapacity": "TOTAL"}),
    )
    .await;
    assert_eq!(page["Count"], 2);
    assert_eq!(page["Items"][0]["sk"], json!({"N": "4"}));
    assert_eq!(
        page["LastEvaluatedKey"],
        json!({"pk": {"S": "a"}, "sk": {"N": "3"}})
    );
    assert_eq!(page["ConsumedCapacity"]["CapacityUnits"], 0.5);
    let count = ok(
        &r,
        "Query",
        json!({"TableName": "Music", "KeyConditionExpression": "pk = :p", "Select": "COUNT",
               "FilterExpression": "v <> :s",
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"S": "x"}}}),
    )
    .await;
    assert_eq!(count, json!({"Count": 0, "ScannedCount": 5}));
    let scan = ok(
        &r,
        "Scan",
        json!({"TableName": "Music", "ProjectionExpression": "pk", "Segment": 0, "TotalSegments": 1}),
    )
    .await;
    assert_eq!(scan["Count"], 6);
    assert_eq!(scan["Items"][0], json!({"pk": {"S": "a"}}));

    let e = err(&r, "Scan", json!({"TableName": "Music", "Segment": 1})).await;
    assert_eq!(
        e.to_string(),
        "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"
    );
    let e = err(
        &r,
        "Scan",
        json!({"TableName": "Music", "Segment": 2, "TotalSegments": 2}),
    )
    .await;
    assert!(e
        .to_string()
        .starts_with("The Segment parameter is zero-based"));
    let e = err(&r, "Query", json!({"TableName": "Music", "Limit": 0})).await;
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    let e = err(&r, "Query", json!({"TableName": "Music"})).await;
    assert_eq!(
        e.to_string(),
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
    );
}

#[tokio::test]
async fn t10_batches() {
    let r = region();
    music(&r).await;
    let written = ok(
        &r,
        "BatchWriteItem",
        json!({"RequestItems": {"Music": [
            {"PutRequest": {"Item": item("a", 1, "x")}},
            {"PutRequest": {"Item": item("a", 2, "y")}},
            {"DeleteRequest": {"Key": {"pk": {"S": "z"}, "sk": {"N": "0"}}}}
        ]}, "ReturnConsumedCapacity": "TOTAL"}),
    )
    .await;
    assert_eq!(
        written,
        json!({"UnprocessedItems": {}, "ConsumedCapacity": [{"TableName": "Music", "CapacityUnits": 3.0}]})
    );
    let e = err(
        &r,
        "BatchWriteItem",
        json!({"RequestItems": {"Music": [
            {"PutRequest": {"Item": item("a", 1, "x")}},
            {"DeleteRequest": {"Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}
        ]}}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Provided list of item keys contains duplicates"
    );

    let got = ok(
        &r,
        "BatchGetItem",
        json!({"RequestItems": {"Music": {"Keys": [
            {"pk": {"S": "a"}, "sk": {"N": "1"}},
            {"pk": {"S": "a"}, "sk": {"N": "9"}}
        ], "ProjectionExpression": "v"}}}),
    )
    .await;
    assert_eq!(
        got,
        json!({"Responses": {"Music": [{"v": {"S": "x"}}]}, "UnprocessedKeys": {}})
    );
    let e = err(
        &r,
        "BatchGetItem",
        json!({"RequestItems": {"Music": {"Keys": [
            {"pk": {"S": "a"}, "sk": {"N": "1"}},
            {"pk": {"S": "a"}, "sk": {"N": "1"}}
        ]}}}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Provided list of item keys contains duplicates"
    );
    let keys: Vec<Value> = (0..101)
        .map(|i| json!({"pk": {"S": "a"}, "sk": {"N": i.to_string()}}))
        .collect();
    let e = err(
        &r,
        "BatchGetItem",
        json!({"RequestItems": {"Music": {"Keys": keys[..51]}, "Other": {"Keys": keys[51..]}}}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Too many items requested for the BatchGetItem call"
    );
}

#[tokio::test]
async fn t10_transactions() {
    let r = region();
    music(&r).await;
    ok(
        &r,
        "PutItem",
        json!({"TableName": "Music", "Item": item("a", 1, "x")}),
    )
    .await;
    let done = ok(
        &r,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "Music", "Item": item("b", 1, "y")}},
            {"Update": {"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                        "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "w"}}}},
            {"ConditionCheck": {"TableName": "Music", "Key": {"pk": {"S": "c"}, "sk": {"N": "1"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}}
        ], "ReturnConsumedCapacity": "TOTAL", "ClientRequestToken": "tok-1"}),
    )
    .await;
    assert_eq!(
        done,
        json!({"ConsumedCapacity": [{"TableName": "Music", "CapacityUnits": 6.0}]})
    );
    let e = err(
        &r,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "Music", "Item": item("d", 1, "y")}},
            {"ConditionCheck": {"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}}
        ]}),
    )
    .await;
    assert_eq!(e.catalog().code(), "TransactionCanceledException");
    assert!(
        e.to_string().ends_with("[None, ConditionalCheckFailed]"),
        "{e}"
    );
    let e = err(
        &r,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "Music", "Item": item("a", 1, "y")}},
            {"Delete": {"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}
        ]}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Transaction request cannot include multiple operations on one item"
    );
    let got = ok(
        &r,
        "TransactGetItems",
        json!({"TransactItems": [
            {"Get": {"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ProjectionExpression": "v"}},
            {"Get": {"TableName": "Music", "Key": {"pk": {"S": "q"}, "sk": {"N": "1"}}}}
        ]}),
    )
    .await;
    assert_eq!(got, json!({"Responses": [{"Item": {"v": {"S": "w"}}}, {}]}));
}

#[tokio::test]
async fn t10_account_operations() {
    let r = region();
    let endpoints = ok(&r, "DescribeEndpoints", json!({})).await;
    assert_eq!(
        endpoints,
        json!({"Endpoints": [{"Address": "localhost:8000", "CachePeriodInMinutes": 1440}]})
    );
    let limits = ok(&r, "DescribeLimits", json!({})).await;
    assert_eq!(limits["TableMaxReadCapacityUnits"], 40000);
}
