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
