//! Creating the bench table and pre-loading the items that gets and queries read.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use serde_json::json;

use crate::connection::{Connection, Target};
use crate::requests::{Plan, QUERY_PARTITIONS, QUERY_PARTITION_ITEMS};
use crate::Op;

/// BatchWriteItem's limit on requests per call.
const BATCH_WRITE_ITEMS_MAX: usize = 25;
/// Connections used to pre-load in parallel.
const PRELOAD_CONNECTIONS: usize = 4;
/// Rounds of re-sending UnprocessedItems before the pre-load gives up.
const UNPROCESSED_RETRIES_MAX: usize = 20;
/// Pause between DescribeTable polls while the table is being created.
const TABLE_POLL_MS: u64 = 50;

/// Creates the table (pk S hash, sk S range); an existing table is fine. Waits until ACTIVE.
pub(crate) async fn create_table(
    target: &Target,
    table: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    // Provisioned rather than on-demand: every local peer accepts it, and none throttles.
    let body = json!({
        "TableName": table,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "ProvisionedThroughput": {"ReadCapacityUnits": 10000, "WriteCapacityUnits": 10000},
    });
    create_and_wait(target, table, body, timeout).await
}

/// Creates `put-indexed`'s table: like the main one, plus GSI `gsi1` (g1pk, g1sk; ALL) and GSI
/// `gsi2` (g2pk; KEYS_ONLY). Waits until it and its indexes are ACTIVE.
pub(crate) async fn create_indexed_table(
    target: &Target,
    table: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let throughput = json!({"ReadCapacityUnits": 10000, "WriteCapacityUnits": 10000});
    let body = json!({
        "TableName": table,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g1pk", "AttributeType": "S"},
            {"AttributeName": "g1sk", "AttributeType": "S"},
            {"AttributeName": "g2pk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "g1pk", "KeyType": "HASH"},
                    {"AttributeName": "g1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": throughput,
            },
            {
                "IndexName": "gsi2",
                "KeySchema": [{"AttributeName": "g2pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": throughput,
            },
        ],
        "ProvisionedThroughput": throughput,
    });
    create_and_wait(target, table, body, timeout).await
}

/// Sends CreateTable (an existing table is fine) and polls until the table and every global
/// secondary index are ACTIVE.
async fn create_and_wait(
    target: &Target,
    table: &str,
    body: serde_json::Value,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut conn = Connection::open(target).await?;
    let reply = conn
        .call("CreateTable", Bytes::from(body.to_string()))
        .await?;
    if reply.status != 200 && reply.error_type().as_deref() != Some("ResourceInUseException") {
        anyhow::bail!(
            "CreateTable {table} failed: HTTP {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
    let deadline = Instant::now() + timeout;
    loop {
        let reply = conn
            .call(
                "DescribeTable",
                Bytes::from(json!({"TableName": table}).to_string()),
            )
            .await?;
        if reply.status == 200 {
            let value: serde_json::Value =
                serde_json::from_slice(&reply.body).context("DescribeTable reply is not JSON")?;
            let indexes_active = value["Table"]["GlobalSecondaryIndexes"]
                .as_array()
                .is_none_or(|all| all.iter().all(|i| i["IndexStatus"] == "ACTIVE"));
            if value["Table"]["TableStatus"] == "ACTIVE" && indexes_active {
                return Ok(());
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "table {table} not ACTIVE after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(TABLE_POLL_MS)).await;
    }
}

/// Writes the items that the chosen read operations need.
pub(crate) async fn preload(target: &Target, plan: &Plan, ops: &[Op]) -> anyhow::Result<()> {
    let mut items = Vec::new();
    if ops.contains(&Op::Get) {
        items.extend((0..plan.get_items).map(|i| plan.get_item(i)));
    }
    if ops.contains(&Op::Query) {
        for p in 0..QUERY_PARTITIONS {
            items.extend((0..QUERY_PARTITION_ITEMS).map(|k| plan.query_item(p, k)));
        }
    }
    if items.is_empty() {
        return Ok(());
    }
    let batches: Vec<Vec<serde_json::Value>> = items
        .chunks(BATCH_WRITE_ITEMS_MAX)
        .map(<[_]>::to_vec)
        .collect();
    let per_connection = batches.len().div_ceil(PRELOAD_CONNECTIONS);
    let mut tasks = Vec::new();
    for share in batches.chunks(per_connection.max(1)) {
        let share = share.to_vec();
        let target = target.clone();
        let table = plan.table.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(&target).await?;
            for batch in share {
                write_batch(&mut conn, &table, batch).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("pre-load task panicked")??;
    }
    Ok(())
}

/// One BatchWriteItem, re-sending UnprocessedItems until none are left.
async fn write_batch(
    conn: &mut Connection,
    table: &str,
    batch: Vec<serde_json::Value>,
) -> anyhow::Result<()> {
    let puts: Vec<serde_json::Value> = batch
        .into_iter()
        .map(|item| json!({"PutRequest": {"Item": item}}))
        .collect();
    let mut request_items = json!({ table: puts });
    for _ in 0..UNPROCESSED_RETRIES_MAX {
        let body = json!({"RequestItems": request_items});
        let reply = conn
            .call("BatchWriteItem", Bytes::from(body.to_string()))
            .await?;
        anyhow::ensure!(
            reply.status == 200,
            "BatchWriteItem failed: HTTP {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        let value: serde_json::Value = serde_json::from_slice(&reply.body)?;
        match value.get("UnprocessedItems") {
            Some(unprocessed) if unprocessed.as_object().is_some_and(|m| !m.is_empty()) => {
                request_items = unprocessed.clone();
                tokio::time::sleep(Duration::from_millis(TABLE_POLL_MS)).await;
            }
            _ => return Ok(()),
        }
    }
    anyhow::bail!(
        "BatchWriteItem still had unprocessed items after {UNPROCESSED_RETRIES_MAX} rounds"
    )
}
