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
               "KeyConditionExpression": "pk = :p",
               "FilterExpression": "v = :v", "ExpressionAttributeValues": {":v": {"S": "y"}, ":p": {"S": "a"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {FilterExpression, KeyConditionExpression}"
    );
}

/// A table `Starts` (pk S, sk N) with a GSI `by-g` (g S, sk N) and an LSI `by-l` (pk, l S),
/// one item per (pk, sk) for pk a/b and sk 1..=3.
async fn start_key_table(r: &crate::LocalRegion) {
    call(
        r,
        "CreateTable",
        json!({
            "TableName": "Starts",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "g", "AttributeType": "S"},
                {"AttributeName": "l", "AttributeType": "S"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [
                {"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}],
            "LocalSecondaryIndexes": [{"IndexName": "by-l", "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await
    .unwrap();
    for pk in ["a", "b"] {
        for sk in 1..=3 {
            call(
                r,
                "PutItem",
                json!({"TableName": "Starts", "Item": {"pk": {"S": pk}, "sk": {"N": sk.to_string()},
                        "g": {"S": pk}, "l": {"S": format!("l{sk}")}}}),
            )
            .await
            .unwrap();
        }
    }
}

fn validation_message(e: ApiError) -> String {
    match e {
        ApiError::Validation(m) => m,
        other => panic!("expected a ValidationException, got {other:?}"),
    }
}

#[tokio::test]
async fn t20_query_start_key_must_lie_within_the_query() {
    let r = region();
    start_key_table(&r).await;
    let query = |extra: serde_json::Value| {
        let r = &r;
        async move {
            let mut body = json!({"TableName": "Starts"});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            call(r, "Query", body).await
        }
    };

    tracing::info!("--- a start key inside the query resumes after it");
    let page = query(
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}},
                            "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
    )
    .await
    .unwrap();
    assert_eq!(page["Count"], 2);

    tracing::info!("--- another partition, no sort key condition");
    let outside =
        "The provided starting key is outside query boundaries based on provided conditions";
    let e = query(
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}},
                         "ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "1"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(validation_message(e), outside);
    let e = query(json!({"KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                         "ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "1"}}}))
    .await
    .unwrap_err();
    assert_eq!(validation_message(e), outside);

    tracing::info!("--- a sort key outside the sort key condition");
    let e = query(json!({"KeyConditionExpression": "pk = :p AND sk > :s",
                         "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"N": "2"}},
                         "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}}}))
    .await
    .unwrap_err();
    assert_eq!(
        validation_message(e),
        "The provided starting key does not match the range key predicate"
    );
    let e = query(json!({"KeyConditionExpression": "pk = :p AND begins_with(l, :l)", "IndexName": "by-l",
                         "ExpressionAttributeValues": {":p": {"S": "a"}, ":l": {"S": "m"}},
                         "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}, "l": {"S": "l1"}}}))
    .await
    .unwrap_err();
    assert_eq!(
        validation_message(e),
        "The provided starting key does not match the range key predicate"
    );

    tracing::info!("--- another partition with a matching sort key");
    let e = query(json!({"KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
                         "ExpressionAttributeValues": {":p": {"S": "a"}, ":lo": {"N": "1"}, ":hi": {"N": "3"}},
                         "ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "2"}}}))
    .await
    .unwrap_err();
    assert_eq!(
        validation_message(e),
        "The query can return at most one row and cannot be restarted"
    );

    tracing::info!("--- the same rules on a global secondary index");
    let e = query(json!({"IndexName": "by-g", "KeyConditionExpression": "g = :g",
                         "ExpressionAttributeValues": {":g": {"S": "a"}},
                         "ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "1"}, "g": {"S": "b"}}}))
    .await
    .unwrap_err();
    assert_eq!(validation_message(e), outside);
    let page = query(json!({"IndexName": "by-g", "KeyConditionExpression": "g = :g",
                            "ExpressionAttributeValues": {":g": {"S": "a"}},
                            "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "a"}}}))
    .await
    .unwrap();
    assert_eq!(page["Count"], 2);

    tracing::info!("--- a start key that does not fit the key schema");
    let e = query(
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}},
                         "ExclusiveStartKey": {"pk": {"S": "a"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        validation_message(e),
        "The provided starting key is invalid: The provided key element does not match the schema"
    );
}

#[tokio::test]
async fn t20_parallel_scan_start_key_must_lie_in_its_segment() {
    let r = region();
    start_key_table(&r).await;
    for index in [None, Some("by-g")] {
        tracing::info!(
            ?index,
            "--- a segment's own LastEvaluatedKey resumes it; another's is refused"
        );
        for segment in 0..2 {
            let mut body =
                json!({"TableName": "Starts", "Segment": segment, "TotalSegments": 2, "Limit": 1});
            if let Some(index) = index {
                body["IndexName"] = json!(index);
            }
            let page = call(&r, "Scan", body.clone()).await.unwrap();
            let Some(last) = page.get("LastEvaluatedKey").cloned() else {
                continue;
            };
            body["ExclusiveStartKey"] = last.clone();
            call(&r, "Scan", body.clone()).await.unwrap();
            body["Segment"] = json!(1 - segment);
            let e = call(&r, "Scan", body).await.unwrap_err();
            assert_eq!(
                validation_message(e),
                format!(
                    "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: {}",
                    1 - segment
                )
            );
        }
    }
}

#[tokio::test]
async fn t30_key_conditions_go_with_filter_and_projection_expressions() {
    let r = region();
    start_key_table(&r).await;
    let page = call(
        &r,
        "Query",
        json!({"TableName": "Starts",
               "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
               "FilterExpression": "l > :l", "ProjectionExpression": "sk",
               "ExpressionAttributeValues": {":l": {"S": "l1"}}}),
    )
    .await
    .unwrap();
    assert_eq!(page["Count"], 2);
    assert_eq!(page["Items"][0], json!({"sk": {"N": "2"}}));

    tracing::info!("--- but not with KeyConditionExpression, nor QueryFilter with expressions");
    let e = call(
        &r,
        "Query",
        json!({"TableName": "Starts",
               "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
               "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        validation_message(e),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"
    );
    let e = call(
        &r,
        "Query",
        json!({"TableName": "Starts",
               "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
               "QueryFilter": {"sk": {"ComparisonOperator": "NOT_NULL"}},
               "ProjectionExpression": "sk"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        validation_message(e),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter} Expression parameters: {ProjectionExpression}"
    );
}

/// The pk numbers a legacy ScanFilter on `v` keeps, over one item per attribute type.
async fn scan_filter_keeps(r: &crate::LocalRegion, op: &str, args: serde_json::Value) -> Vec<u32> {
    let mut body = json!({"TableName": "Types", "ScanFilter": {"v": {"ComparisonOperator": op}}});
    if !args.is_null() {
        body["ScanFilter"]["v"]["AttributeValueList"] = args;
    }
    let page = call(r, "Scan", body)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e:?}"));
    let mut keys: Vec<u32> = page["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pk"]["N"].as_str().unwrap().parse().unwrap())
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn t40_legacy_comparisons_on_every_attribute_type() {
    let r = region();
    call(
        &r,
        "CreateTable",
        json!({"TableName": "Types",
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "N"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
               "BillingMode": "PAY_PER_REQUEST"}),
    )
    .await
    .unwrap();
    let values = [
        json!({"S": "abc"}),
        json!({"N": "5"}),
        json!({"B": "YWJj"}),
        json!({"SS": ["a", "b"]}),
        json!({"NS": ["1", "2"]}),
        json!({"L": [{"S": "a"}, {"N": "1"}]}),
        json!({"M": {"x": {"N": "1"}}}),
        json!({"BOOL": true}),
        json!({"NULL": true}),
    ];
    for (i, v) in values.iter().enumerate() {
        call(
            &r,
            "PutItem",
            json!({"TableName": "Types", "Item": {"pk": {"N": (i + 1).to_string()}, "v": v}}),
        )
        .await
        .unwrap();
    }
    call(
        &r,
        "PutItem",
        json!({"TableName": "Types", "Item": {"pk": {"N": "10"}}}),
    )
    .await
    .unwrap();
    let cases: Vec<(&str, serde_json::Value, Vec<u32>)> = vec![
        ("EQ", json!([{"S": "abc"}]), vec![1]),
        ("EQ", json!([{"N": "5.0"}]), vec![2]),
        ("EQ", json!([{"B": "YWJj"}]), vec![3]),
        ("EQ", json!([{"SS": ["b", "a"]}]), vec![4]),
        ("EQ", json!([{"NS": ["2", "1"]}]), vec![5]),
        ("LT", json!([{"N": "6"}]), vec![2]),
        ("LE", json!([{"N": "5"}]), vec![2]),
        ("GT", json!([{"S": "ab"}]), vec![1]),
        ("GE", json!([{"B": "YWJj"}]), vec![3]),
        ("CONTAINS", json!([{"S": "b"}]), vec![1, 4]),
        ("CONTAINS", json!([{"N": "1"}]), vec![5, 6]),
        ("BEGINS_WITH", json!([{"S": "ab"}]), vec![1]),
        ("BEGINS_WITH", json!([{"B": "YQ=="}]), vec![3]),
        ("IN", json!([{"S": "x"}, {"S": "abc"}]), vec![1]),
        ("IN", json!([{"N": "7"}, {"N": "5"}]), vec![2]),
        ("BETWEEN", json!([{"N": "1"}, {"N": "5"}]), vec![2]),
        ("BETWEEN", json!([{"S": "a"}, {"S": "b"}]), vec![1]),
        ("NULL", serde_json::Value::Null, vec![10]),
        ("NOT_NULL", serde_json::Value::Null, (1..=9).collect()),
    ];
    for (op, args, want) in cases {
        assert_eq!(
            scan_filter_keeps(&r, op, args.clone()).await,
            want,
            "{op} {args}"
        );
    }
    // NE and NOT_CONTAINS keep what EQ and CONTAINS do not match, among the typed items.
    let ne = scan_filter_keeps(&r, "NE", json!([{"S": "abc"}])).await;
    assert!(
        !ne.contains(&1) && (2..=9).all(|k| ne.contains(&k)),
        "{ne:?}"
    );
    let not_contains = scan_filter_keeps(&r, "NOT_CONTAINS", json!([{"S": "b"}])).await;
    assert!(
        !not_contains.contains(&1) && !not_contains.contains(&4),
        "{not_contains:?}"
    );
    assert!(not_contains.contains(&6), "the list holds no \"b\"");
}
