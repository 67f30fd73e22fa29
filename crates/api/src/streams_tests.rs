//! Streams and TTL over a [`LocalRegion`] with a clock the test moves: 24-hour retention
//! (the sweep trims, TrimmedDataAccessException for trimmed positions), iterator expiry after
//! 15 minutes, and TTL expiry by the clock of the apply.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::streams::{run, StreamOperation};
use crate::tests::call;
use crate::LocalRegion;

#[derive(Debug)]
struct ManualClock(AtomicI64);

impl model::Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

const START_MS: i64 = 1_700_000_000_000;
const HOUR_MS: i64 = 3_600_000;

fn region() -> (LocalRegion, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(AtomicI64::new(START_MS)));
    let store = storage::Store::open(None, 16 * 1024 * 1024).unwrap();
    (LocalRegion::new(store, "us-east-1", clock.clone()), clock)
}

async fn streams(
    region: &LocalRegion,
    op: StreamOperation,
    body: Value,
) -> Result<Value, ApiError> {
    let out = run(region, op, &serde_json::to_vec(&body).unwrap()).await?;
    Ok(serde_json::from_slice(&out).unwrap())
}

async fn put(region: &LocalRegion, pk: &str, expires: Option<i64>) {
    let mut item = json!({"pk": {"S": pk}});
    if let Some(e) = expires {
        item["expires"] = json!({"N": e.to_string()});
    }
    call(
        region,
        "PutItem",
        json!({"TableName": "events", "Item": item}),
    )
    .await
    .unwrap();
}

async fn iterator(region: &LocalRegion, arn: &str, kind: &str) -> Result<String, ApiError> {
    let described = streams(
        region,
        StreamOperation::DescribeStream,
        json!({"StreamArn": arn}),
    )
    .await
    .unwrap();
    let shard = described["StreamDescription"]["Shards"][0]["ShardId"].clone();
    let out = streams(
        region,
        StreamOperation::GetShardIterator,
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind}),
    )
    .await?;
    Ok(out["ShardIterator"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn t30_retention_trims_and_old_positions_are_refused() {
    let (region, clock) = region();
    let created = call(
        &region,
        "CreateTable",
        json!({
            "TableName": "events",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}
        }),
    )
    .await
    .unwrap();
    let arn = created["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        created["TableDescription"]["StreamSpecification"],
        json!({"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"})
    );
    put(&region, "old", None).await;
    let old_iterator = iterator(&region, &arn, "TRIM_HORIZON").await.unwrap();

    // Iterators expire after 15 minutes.
    clock.0.fetch_add(16 * 60 * 1000, Ordering::SeqCst);
    let e = streams(
        &region,
        StreamOperation::GetRecords,
        json!({"ShardIterator": old_iterator}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ApiError::ExpiredIterator(_)), "{e:?}");
    let old_iterator = iterator(&region, &arn, "TRIM_HORIZON").await.unwrap();

    // 23 hours later a new record; 25 hours after the first, the sweep trims only the first.
    clock.0.fetch_add(23 * HOUR_MS, Ordering::SeqCst);
    put(&region, "new", None).await;
    let report = crate::ttl::sweep(&region).await.unwrap();
    assert_eq!(report.trimmed_tables, 0, "nothing is 24 hours old yet");
    clock.0.fetch_add(2 * HOUR_MS, Ordering::SeqCst);
    let report = crate::ttl::sweep(&region).await.unwrap();
    assert_eq!(report.trimmed_tables, 1);

    let e = streams(
        &region,
        StreamOperation::GetRecords,
        json!({"ShardIterator": old_iterator}),
    )
    .await;
    // The old iterator has also expired by now; a fresh one at the trimmed position is the
    // TrimmedDataAccessException case.
    assert!(matches!(e, Err(ApiError::ExpiredIterator(_))), "{e:?}");
    let described = streams(
        &region,
        StreamOperation::DescribeStream,
        json!({"StreamArn": arn}),
    )
    .await
    .unwrap();
    let shard = described["StreamDescription"]["Shards"][0]["ShardId"].clone();
    assert_eq!(
        described["StreamDescription"]["Shards"][0]["SequenceNumberRange"]
            ["StartingSequenceNumber"],
        "000000000000000000002"
    );
    let e = streams(
        &region,
        StreamOperation::GetShardIterator,
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER",
               "SequenceNumber": "000000000000000000001"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ApiError::TrimmedDataAccess(_)), "{e:?}");

    let horizon = iterator(&region, &arn, "TRIM_HORIZON").await.unwrap();
    let page = streams(
        &region,
        StreamOperation::GetRecords,
        json!({"ShardIterator": horizon}),
    )
    .await
    .unwrap();
    let records = page["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["dynamodb"]["Keys"]["pk"]["S"], "new");
}

#[tokio::test]
async fn t30_ttl_expiry_follows_the_apply_clock() {
    let (region, clock) = region();
    call(
        &region,
        "CreateTable",
        json!({
            "TableName": "events",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await
    .unwrap();
    call(
        &region,
        "UpdateTimeToLive",
        json!({"TableName": "events",
               "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires"}}),
    )
    .await
    .unwrap();
    let now_s = START_MS / 1000;
    put(&region, "a", Some(now_s + 60)).await;
    put(&region, "b", Some(now_s + 120)).await;
    assert_eq!(crate::ttl::sweep(&region).await.unwrap().expired, 0);
    clock.0.fetch_add(90_000, Ordering::SeqCst);
    assert_eq!(crate::ttl::sweep(&region).await.unwrap().expired, 1);
    let scan = call(&region, "Scan", json!({"TableName": "events"}))
        .await
        .unwrap();
    assert_eq!(scan["Count"], 1);
    assert_eq!(scan["Items"][0]["pk"]["S"], "b");
    let described = call(
        &region,
        "DescribeTimeToLive",
        json!({"TableName": "events"}),
    )
    .await
    .unwrap();
    assert_eq!(
        described,
        json!({"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}})
    );
}

#[tokio::test]
async fn t30_a_delete_of_an_absent_item_is_not_streamed() {
    let (region, _clock) = region();
    let created = call(
        &region,
        "CreateTable",
        json!({
            "TableName": "events",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        }),
    )
    .await
    .unwrap();
    let arn = created["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let horizon = iterator(&region, &arn, "TRIM_HORIZON").await.unwrap();
    put(&region, "a", None).await;
    // Another region's delete of an item this one never had: logged, not streamed.
    let mut keys = model::Item::new();
    keys.insert("pk".into(), model::AttributeValue::S("ghost".into()));
    let replicate = table::Command::Replicate(table::RemoteBatch {
        table: "events".into(),
        source: "eu-west-1".into(),
        changes: vec![table::RemoteChange {
            keys,
            item: None,
            version: model::Version::new(model::Timestamp(u64::MAX / 2), "eu-west-1"),
        }],
    });
    crate::request::propose(&region, &replicate).await.unwrap();
    put(&region, "b", None).await;

    let page = streams(
        &region,
        StreamOperation::GetRecords,
        json!({"ShardIterator": horizon}),
    )
    .await
    .unwrap();
    let keys: Vec<&str> = page["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["a", "b"]);
    assert_eq!(
        page["Records"][1]["dynamodb"]["SequenceNumber"], "000000000000000000003",
        "the delete took sequence number 2"
    );
    let next = page["NextShardIterator"].as_str().unwrap();
    let page = streams(
        &region,
        StreamOperation::GetRecords,
        json!({"ShardIterator": next}),
    )
    .await
    .unwrap();
    assert_eq!(page["Records"], json!([]));
}

#[tokio::test]
async fn t20_get_records_pages_stay_within_one_megabyte() {
    let (region, _clock) = region();
    let created = call(
        &region,
        "CreateTable",
        json!({
            "TableName": "events",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}
        }),
    )
    .await
    .unwrap();
    let arn = created["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let big = "x".repeat(350 * 1024);
    for pk in ["a", "b", "c", "d"] {
        call(
            &region,
            "PutItem",
            json!({"TableName": "events", "Item": {"pk": {"S": pk}, "v": {"S": big}}}),
        )
        .await
        .unwrap();
    }
    let mut it = iterator(&region, &arn, "TRIM_HORIZON").await.unwrap();
    let mut pages = Vec::new();
    while pages.iter().sum::<usize>() < 4 {
        let page = streams(
            &region,
            StreamOperation::GetRecords,
            json!({"ShardIterator": it}),
        )
        .await
        .unwrap();
        let records = page["Records"].as_array().unwrap();
        let bytes: u64 = records
            .iter()
            .map(|r| r["dynamodb"]["SizeBytes"].as_u64().unwrap())
            .sum();
        assert!(bytes <= 1024 * 1024, "{bytes}");
        pages.push(records.len());
        it = page["NextShardIterator"].as_str().unwrap().to_owned();
    }
    assert_eq!(pages, vec![2, 2]);
}

async fn stream_table(region: &LocalRegion, name: &str, view: &str) -> String {
    let created = call(
        region,
        "CreateTable",
        json!({
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": view}
        }),
    )
    .await
    .unwrap();
    created["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn all_records(region: &LocalRegion, it: String) -> Vec<Value> {
    let page = streams(
        region,
        StreamOperation::GetRecords,
        json!({"ShardIterator": it}),
    )
    .await
    .unwrap();
    page["Records"].as_array().unwrap().clone()
}

fn validation(e: ApiError) -> String {
    match e {
        ApiError::Validation(m) => m,
        other => panic!("expected a ValidationException, got {other:?}"),
    }
}

#[tokio::test]
async fn t40_writes_that_change_nothing_are_not_streamed() {
    let (region, _clock) = region();
    let arn = stream_table(&region, "events", "NEW_AND_OLD_IMAGES").await;
    let horizon = iterator(&region, &arn, "TRIM_HORIZON").await.unwrap();
    let item = json!({"pk": {"S": "a"}, "n": {"N": "1"}, "ss": {"SS": ["x", "y"]}});
    let key = json!({"pk": {"S": "a"}});
    let ok = |op: &'static str, body: Value| {
        let region = &region;
        async move { call(region, op, body).await.unwrap() }
    };

    tracing::info!("--- writes that leave the item as it was");
    ok("PutItem", json!({"TableName": "events", "Item": item})).await;
    ok("PutItem", json!({"TableName": "events", "Item": item})).await;
    let reordered = json!({"pk": {"S": "a"}, "n": {"N": "1.0"}, "ss": {"SS": ["y", "x"]}});
    ok("PutItem", json!({"TableName": "events", "Item": reordered})).await;
    ok(
        "UpdateItem",
        json!({"TableName": "events", "Key": key, "UpdateExpression": "SET n = :n",
               "ExpressionAttributeValues": {":n": {"N": "1"}}}),
    )
    .await;
    ok(
        "UpdateItem",
        json!({"TableName": "events", "Key": key, "UpdateExpression": "REMOVE absent"}),
    )
    .await;
    ok(
        "DeleteItem",
        json!({"TableName": "events", "Key": {"pk": {"S": "never"}}}),
    )
    .await;
    ok(
        "BatchWriteItem",
        json!({"RequestItems": {"events": [{"PutRequest": {"Item": item}}]}}),
    )
    .await;
    ok(
        "TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": "events", "Item": item}}]}),
    )
    .await;

    tracing::info!("--- writes that change it");
    ok(
        "UpdateItem",
        json!({"TableName": "events", "Key": key, "UpdateExpression": "SET n = :n",
               "ExpressionAttributeValues": {":n": {"N": "2"}}}),
    )
    .await;
    ok("DeleteItem", json!({"TableName": "events", "Key": key})).await;
    ok("DeleteItem", json!({"TableName": "events", "Key": key})).await;
    ok("PutItem", json!({"TableName": "events", "Item": item})).await;

    let records = all_records(&region, horizon).await;
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE", "INSERT"]);
    assert_eq!(records[1]["dynamodb"]["OldImage"]["n"], json!({"N": "1"}));
    assert_eq!(records[1]["dynamodb"]["NewImage"]["n"], json!({"N": "2"}));
    assert!(records[3]["dynamodb"].get("OldImage").is_none());
    let seqs: Vec<&str> = records
        .iter()
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[tokio::test]
async fn t40_list_streams_pages_in_arn_order_from_any_start() {
    let (region, _clock) = region();
    let mut arns = Vec::new();
    for name in ["tbl-c", "tbl-a", "tbl-b"] {
        arns.push(stream_table(&region, name, "KEYS_ONLY").await);
    }
    arns.sort();

    tracing::info!("--- Limit 1 pages through every stream once, in ARN order");
    let mut seen = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut body = json!({"Limit": 1});
        if let Some(s) = &start {
            body["ExclusiveStartStreamArn"] = json!(s);
        }
        let page = streams(&region, StreamOperation::ListStreams, body)
            .await
            .unwrap();
        for s in page["Streams"].as_array().unwrap() {
            seen.push(s["StreamArn"].as_str().unwrap().to_owned());
        }
        match page.get("LastEvaluatedStreamArn") {
            Some(last) => start = Some(last.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, arns);

    tracing::info!("--- a start ARN that names no stream continues after it");
    let between = format!(
        "{}0/stream/2000-01-01T00:00:00.000",
        arns[0].split("/stream/").next().unwrap()
    );
    let page = streams(
        &region,
        StreamOperation::ListStreams,
        json!({"ExclusiveStartStreamArn": between}),
    )
    .await
    .unwrap();
    let listed: Vec<&str> = page["Streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["StreamArn"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [arns[1].as_str(), arns[2].as_str()]);
    assert!(page.get("LastEvaluatedStreamArn").is_none());
    let after_all = format!("{}z", arns[2]);
    let page = streams(
        &region,
        StreamOperation::ListStreams,
        json!({"ExclusiveStartStreamArn": after_all}),
    )
    .await
    .unwrap();
    assert_eq!(page["Streams"], json!([]));

    tracing::info!("--- a malformed start ARN is refused");
    let e = streams(
        &region,
        StreamOperation::ListStreams,
        json!({"ExclusiveStartStreamArn": "bogus"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        validation(e),
        "1 validation error detected: Value 'bogus' at 'exclusiveStartStreamArn' failed to satisfy constraint: Member must have length greater than or equal to 37"
    );
}

#[tokio::test]
async fn t40_describe_stream_start_shard_and_shard_filter() {
    let (region, _clock) = region();
    let arn = stream_table(&region, "events", "KEYS_ONLY").await;
    let described = streams(
        &region,
        StreamOperation::DescribeStream,
        json!({"StreamArn": arn, "Limit": 1}),
    )
    .await
    .unwrap();
    let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(described["StreamDescription"]
        .get("LastEvaluatedShardId")
        .is_none());
    let shards_with = |body: Value| {
        let region = &region;
        async move {
            let out = streams(region, StreamOperation::DescribeStream, body).await?;
            Ok::<Vec<String>, ApiError>(
                out["StreamDescription"]["Shards"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["ShardId"].as_str().unwrap().to_owned())
                    .collect(),
            )
        }
    };

    tracing::info!("--- ExclusiveStartShardId: shards after it, existing or not");
    let before = "shardId-00000000000000000000-00000000";
    let after = "shardId-99999999999999999999-ffffffff";
    assert_eq!(
        shards_with(json!({"StreamArn": arn, "ExclusiveStartShardId": before}))
            .await
            .unwrap(),
        std::slice::from_ref(&shard)
    );
    assert!(
        shards_with(json!({"StreamArn": arn, "ExclusiveStartShardId": shard}))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        shards_with(json!({"StreamArn": arn, "ExclusiveStartShardId": after}))
            .await
            .unwrap()
            .is_empty()
    );

    tracing::info!("--- ShardFilter CHILD_SHARDS: the one shard has no children");
    assert!(shards_with(
        json!({"StreamArn": arn, "ShardFilter": {"Type": "CHILD_SHARDS", "ShardId": shard}})
    )
    .await
    .unwrap()
    .is_empty());
    let e = shards_with(
        json!({"StreamArn": arn, "ShardFilter": {"Type": "CHILD_SHARDS", "ShardId": before}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        ApiError::ResourceNotFound(format!(
            "Requested resource not found: Shard does not exist: {before}"
        ))
    );

    tracing::info!("--- ShardFilter validation");
    let e = shards_with(json!({"StreamArn": arn, "ShardFilter": {"Type": "CHILD_SHARDS"}}))
        .await
        .unwrap_err();
    assert_eq!(
        validation(e),
        "1 validation error detected: Value null at 'shardFilter.shardId' failed to satisfy constraint: Member must not be null"
    );
    let e = shards_with(
        json!({"StreamArn": arn, "ShardFilter": {"Type": "PARENT_SHARDS", "ShardId": "short"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        validation(e),
        "2 validation errors detected: Value 'PARENT_SHARDS' at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum value set: [CHILD_SHARDS]; Value 'short' at 'shardFilter.shardId' failed to satisfy constraint: Member must have length greater than or equal to 28"
    );
    let e = shards_with(json!({"StreamArn": arn, "Limit": 101, "ExclusiveStartShardId": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        validation(e),
        "2 validation errors detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100; Value 'x' at 'exclusiveStartShardId' failed to satisfy constraint: Member must have length greater than or equal to 28"
    );
}

#[tokio::test]
async fn t40_stream_and_shard_errors() {
    let (region, _clock) = region();
    let arn = stream_table(&region, "events", "KEYS_ONLY").await;
    put(&region, "a", None).await;
    let shard = streams(
        &region,
        StreamOperation::DescribeStream,
        json!({"StreamArn": arn}),
    )
    .await
    .unwrap()["StreamDescription"]["Shards"][0]["ShardId"]
        .clone();
    let get_iterator = |body: Value| {
        let region = &region;
        async move { streams(region, StreamOperation::GetShardIterator, body).await }
    };

    tracing::info!("--- member lengths are checked first, all of them together");
    let e = get_iterator(json!({"StreamArn": "short", "ShardId": "x", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "1"}))
        .await
        .unwrap_err();
    assert_eq!(
        validation(e),
        "3 validation errors detected: Value 'short' at 'streamArn' failed to satisfy constraint: Member must have length greater than or equal to 37; Value 'x' at 'shardId' failed to satisfy constraint: Member must have length greater than or equal to 28; Value '1' at 'sequenceNumber' failed to satisfy constraint: Member must have length greater than or equal to 21"
    );
    let e = streams(
        &region,
        StreamOperation::DescribeStream,
        json!({"StreamArn": "short"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        validation(e),
        "1 validation error detected: Value 'short' at 'streamArn' failed to satisfy constraint: Member must have length greater than or equal to 37"
    );

    tracing::info!("--- unknown streams and shards are not found");
    let missing = arn.replace("table/events/", "table/nothere/");
    let e = get_iterator(
        json!({"StreamArn": missing, "ShardId": shard, "ShardIteratorType": "LATEST"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        ApiError::ResourceNotFound(format!(
            "Requested resource not found: Stream: {missing} not found"
        ))
    );
    let other = "shardId-00000000000000000001-00000000";
    let e =
        get_iterator(json!({"StreamArn": arn, "ShardId": other, "ShardIteratorType": "LATEST"}))
            .await
            .unwrap_err();
    assert_eq!(
        e,
        ApiError::ResourceNotFound(format!(
            "Requested resource not found: Shard does not exist: {other}"
        ))
    );

    tracing::info!("--- sequence numbers: required where they apply, refused where not");
    let e = get_iterator(
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ApiError::Validation(_)), "{e:?}");
    let e = get_iterator(
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST",
                               "SequenceNumber": "000000000000000000001"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ApiError::Validation(_)), "{e:?}");
    let e = get_iterator(
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                               "SequenceNumber": "00000000000000000000x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        validation(e),
        "Invalid SequenceNumber: 00000000000000000000x"
    );
    let at = get_iterator(
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                                "SequenceNumber": "000000000000000000001"}),
    )
    .await
    .unwrap();
    let records = all_records(&region, at["ShardIterator"].as_str().unwrap().to_owned()).await;
    assert_eq!(records.len(), 1);
}
