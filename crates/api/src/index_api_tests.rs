//! Index definitions, descriptions and reads through `decode_request` and `execute`.

use serde_json::json;

use crate::tests::{err, ok, region};
use crate::ApiError;

fn orders_table() -> serde_json::Value {
    json!({
        "TableName": "Orders",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "N"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [{
            "IndexName": "by_status",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
        }],
        "LocalSecondaryIndexes": [{
            "IndexName": "by_day",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "day", "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"}
        }]
    })
}

#[tokio::test]
async fn t10_describe_shows_indexes_with_statistics() {
    let r = region();
    let created = ok(&r, "CreateTable", orders_table()).await;
    assert_eq!(
        created["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"],
        "ACTIVE"
    );
    for (sk, status) in [("a", Some("OPEN")), ("b", Some("OPEN")), ("c", None)] {
        let mut item =
            json!({"pk": {"S": "u1"}, "sk": {"S": sk}, "day": {"N": "3"}, "total": {"N": "9"}});
        if let Some(status) = status {
            item["status"] = json!({"S": status});
        }
        ok(&r, "PutItem", json!({"TableName": "Orders", "Item": item})).await;
    }
    let desc = ok(&r, "DescribeTable", json!({"TableName": "Orders"})).await;
    let gsi = &desc["Table"]["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"], "by_status");
    assert_eq!(gsi["ItemCount"], 2);
    assert_eq!(
        gsi["Projection"],
        json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]})
    );
    assert_eq!(
        gsi["ProvisionedThroughput"],
        json!({"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0})
    );
    assert_eq!(
        gsi["IndexArn"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/Orders/index/by_status"
    );
    assert!(gsi.get("Backfilling").is_none());
    let lsi = &desc["Table"]["LocalSecondaryIndexes"][0];
    assert_eq!(lsi["ItemCount"], 3);
    assert!(lsi.get("IndexStatus").is_none());
    assert!(lsi["IndexSizeBytes"].as_u64().unwrap() > 0);

    // ItemCollectionMetrics on writes to a table with an LSI.
    let put = ok(
        &r,
        "PutItem",
        json!({"TableName": "Orders", "Item": {"pk": {"S": "u1"}, "sk": {"S": "d"}},
               "ReturnItemCollectionMetrics": "SIZE"}),
    )
    .await;
    assert_eq!(
        put["ItemCollectionMetrics"],
        json!({"ItemCollectionKey": {"pk": {"S": "u1"}}, "SizeEstimateRangeGB": [0.0, 1.0]})
    );
}

#[tokio::test]
async fn t20_index_reads() {
    let r = region();
    ok(&r, "CreateTable", orders_table()).await;
    ok(
        &r,
        "PutItem",
        json!({"TableName": "Orders", "Item": {"pk": {"S": "u1"}, "sk": {"S": "a"},
               "status": {"S": "OPEN"}, "total": {"N": "5"}, "note": {"S": "x"}}}),
    )
    .await;
    let q = ok(
        &r,
        "Query",
        json!({"TableName": "Orders", "IndexName": "by_status",
               "KeyConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"},
               "ExpressionAttributeValues": {":s": {"S": "OPEN"}}}),
    )
    .await;
    assert_eq!(
        q["Items"],
        json!([{"pk": {"S": "u1"}, "sk": {"S": "a"}, "status": {"S": "OPEN"}, "total": {"N": "5"}}])
    );
    let q = ok(
        &r,
        "Query",
        json!({"TableName": "Orders", "IndexName": "by_status", "ReturnConsumedCapacity": "INDEXES",
               "KeyConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"},
               "ExpressionAttributeValues": {":s": {"S": "OPEN"}}}),
    )
    .await;
    assert_eq!(
        q["ConsumedCapacity"],
        json!({"TableName": "Orders", "CapacityUnits": 0.5, "ReadCapacityUnits": 0.5,
               "Table": {"CapacityUnits": 0.0},
               "GlobalSecondaryIndexes": {"by_status": {"CapacityUnits": 0.5, "ReadCapacityUnits": 0.5}}})
    );
    let e = err(
        &r,
        "Query",
        json!({"TableName": "Orders", "IndexName": "by_status", "ConsistentRead": true,
               "KeyConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"},
               "ExpressionAttributeValues": {":s": {"S": "OPEN"}}}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Consistent reads are not supported on global secondary indexes"
    );
    // ConsistentRead on an LSI is fine, and ALL_ATTRIBUTES fetches from the table.
    let q = ok(
        &r,
        "Query",
        json!({"TableName": "Orders", "IndexName": "by_day", "ConsistentRead": true,
               "Select": "ALL_ATTRIBUTES", "KeyConditionExpression": "pk = :p",
               "ExpressionAttributeValues": {":p": {"S": "u1"}}}),
    )
    .await;
    assert_eq!(q["Count"], 0, "the item has no day: not in by_day");
    let e = err(
        &r,
        "Scan",
        json!({"TableName": "Orders", "IndexName": "nosuch"}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "The table does not have the specified index: nosuch"
    );
}

#[tokio::test]
async fn t30_update_table_creates_a_backfilling_index() {
    let r = region();
    ok(&r, "CreateTable", orders_table()).await;
    let out = ok(
        &r,
        "UpdateTable",
        json!({"TableName": "Orders",
               "AttributeDefinitions": [{"AttributeName": "total", "AttributeType": "N"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {
                   "IndexName": "by_total",
                   "KeySchema": [{"AttributeName": "total", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"}}}]}),
    )
    .await;
    let gsis = &out["TableDescription"]["GlobalSecondaryIndexes"];
    assert_eq!(gsis[1]["IndexStatus"], "CREATING");
    assert_eq!(gsis[1]["Backfilling"], true);
    // No backfill task runs over a LocalRegion: the index stays unreadable.
    let e = err(
        &r,
        "Query",
        json!({"TableName": "Orders", "IndexName": "by_total",
               "KeyConditionExpression": "#t = :t", "ExpressionAttributeNames": {"#t": "total"},
               "ExpressionAttributeValues": {":t": {"N": "1"}}}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Cannot read from backfilling global secondary index: by_total"
    );
    // Only one index may be created or deleted at a time.
    let e = err(
        &r,
        "UpdateTable",
        json!({"TableName": "Orders",
               "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_status"}}]}),
    )
    .await;
    assert!(matches!(e, ApiError::LimitExceeded(_)), "{e:?}");
    let e = err(
        &r,
        "UpdateTable",
        json!({"TableName": "Orders",
               "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_day"}}]}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Cannot delete an index that is not a GlobalSecondaryIndex: by_day"
    );
    let e = err(
        &r,
        "UpdateTable",
        json!({"TableName": "Orders",
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "x1"}, "Delete": {"IndexName": "x2"}}]}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "One or more parameter values were invalid: Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object"
    );
    // The backfilling index itself may be deleted.
    let out = ok(
        &r,
        "UpdateTable",
        json!({"TableName": "Orders",
               "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_total"}}]}),
    )
    .await;
    assert_eq!(
        out["TableDescription"]["GlobalSecondaryIndexes"][1]["IndexStatus"],
        "DELETING"
    );
    let desc = ok(&r, "DescribeTable", json!({"TableName": "Orders"})).await;
    assert_eq!(
        desc["Table"]["GlobalSecondaryIndexes"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn t40_create_table_index_checks() {
    let r = region();
    let mut body = orders_table();
    body["LocalSecondaryIndexes"][0]["KeySchema"][0]["AttributeName"] = json!("status");
    let e = err(&r, "CreateTable", body).await;
    assert_eq!(
        e.to_string(),
        "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: by_day. index hash key: status, table hash key: pk"
    );
    let mut body = orders_table();
    body["GlobalSecondaryIndexes"][0]["Projection"] =
        json!({"ProjectionType": "ALL", "NonKeyAttributes": ["a"]});
    let e = err(&r, "CreateTable", body).await;
    assert_eq!(
        e.to_string(),
        "One or more parameter values were invalid: ProjectionType is ALL, but NonKeyAttributes is specified"
    );
    let mut body = orders_table();
    body["GlobalSecondaryIndexes"][0]["IndexName"] = json!("x");
    let e = err(&r, "CreateTable", body).await;
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value 'x' at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3"
    );
    let mut body = orders_table();
    body["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] =
        json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
    let e = err(&r, "CreateTable", body).await;
    assert_eq!(
        e.to_string(),
        "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: by_status when BillingMode is PAY_PER_REQUEST"
    );
    let mut body = orders_table();
    body["GlobalSecondaryIndexes"][0]["Projection"] = json!({});
    let e = err(&r, "CreateTable", body).await;
    assert_eq!(
        e.to_string(),
        "One or more parameter values were invalid: Unknown ProjectionType: null"
    );
}

#[tokio::test]
async fn t10_batch_and_transaction_collection_metrics() {
    let r = region();
    ok(&r, "CreateTable", orders_table()).await;
    let put =
        |pk: &str, sk: &str| json!({"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": sk}}}});
    let out = ok(
        &r,
        "BatchWriteItem",
        json!({"RequestItems": {"Orders": [put("u1", "a"), put("u1", "b"), put("u2", "a")]},
               "ReturnItemCollectionMetrics": "SIZE"}),
    )
    .await;
    let metrics = &out["ItemCollectionMetrics"]["Orders"];
    assert_eq!(metrics.as_array().unwrap().len(), 2, "{out}");
    assert_eq!(metrics[1]["ItemCollectionKey"], json!({"pk": {"S": "u2"}}));
    let out = ok(
        &r,
        "TransactWriteItems",
        json!({"TransactItems": [
                  {"Put": {"TableName": "Orders", "Item": {"pk": {"S": "u3"}, "sk": {"S": "a"}}}},
                  {"Delete": {"TableName": "Orders", "Key": {"pk": {"S": "u1"}, "sk": {"S": "a"}}}}],
               "ReturnItemCollectionMetrics": "SIZE"}),
    )
    .await;
    assert_eq!(
        out["ItemCollectionMetrics"]["Orders"],
        json!([
            {"ItemCollectionKey": {"pk": {"S": "u3"}}, "SizeEstimateRangeGB": [0.0, 1.0]},
            {"ItemCollectionKey": {"pk": {"S": "u1"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
        ])
    );
    // Without the member, nothing is returned.
    let out = ok(
        &r,
        "BatchWriteItem",
        json!({"RequestItems": {"Orders": [put("u1", "c")]}}),
    )
    .await;
    assert!(out.get("ItemCollectionMetrics").is_none());
}
