//! The `stream` cell: PutItem writers and one consumer tailing the table's DynamoDB stream.
//!
//! Each writer sends PutItems of fresh keys back to back on its own connection and notes when
//! it sent each one. The consumer starts from a LATEST iterator taken before the writers
//! start and calls GetRecords in a loop (again at once after a page with records, after
//! [`EMPTY_POLL_PAUSE_MS`] after an empty one). For every record it finds the write's send
//! time: the cell's latency is send → record returned, i.e. how soon a write is readable
//! from the stream, including the write itself. Records that never arrive within
//! [`DRAIN_TIMEOUT_MS`] of the last write count as errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::connection::{Connection, Target};
use crate::requests::Plan;
use crate::worker::CellOutcome;
use crate::Op;

/// Pause of the consumer after an empty GetRecords page.
pub(crate) const EMPTY_POLL_PAUSE_MS: u64 = 2;
/// How long the consumer keeps reading after the writers stop.
const DRAIN_TIMEOUT_MS: u64 = 5_000;
/// Records asked for per GetRecords (DynamoDB Streams' maximum).
const GET_RECORDS_LIMIT: usize = 1000;
/// Prefix of the Streams API's targets.
const STREAMS: &str = "DynamoDBStreams_20120810.";

/// Send times of writes not yet seen on the stream, by partition key.
type Pending = Arc<Mutex<HashMap<String, Instant>>>;

fn parse(reply: &crate::connection::Reply, what: &str) -> anyhow::Result<Value> {
    anyhow::ensure!(
        reply.status == 200,
        "{what} failed: HTTP {} {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    serde_json::from_slice(&reply.body).with_context(|| format!("{what}: reply is not JSON"))
}

/// Creates `<table>-stream` with a NEW_IMAGE stream (or enables one on it) and returns the
/// stream's ARN.
async fn stream_table(conn: &mut Connection, plan: &Plan) -> anyhow::Result<String> {
    let table = format!("{}-stream", plan.table);
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
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"},
    });
    let reply = conn
        .call("CreateTable", Bytes::from(body.to_string()))
        .await?;
    if reply.status == 200 {
        let value = parse(&reply, "CreateTable")?;
        if let Some(arn) = value["TableDescription"]["LatestStreamArn"].as_str() {
            return Ok(arn.to_owned());
        }
    }
    let described = conn
        .call(
            "DescribeTable",
            Bytes::from(json!({"TableName": table}).to_string()),
        )
        .await?;
    let value = parse(&described, "DescribeTable")?;
    if value["Table"]["StreamSpecification"]["StreamEnabled"] == true {
        if let Some(arn) = value["Table"]["LatestStreamArn"].as_str() {
            return Ok(arn.to_owned());
        }
    }
    let body = json!({
        "TableName": table,
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"},
    });
    let updated = parse(
        &conn
            .call("UpdateTable", Bytes::from(body.to_string()))
            .await?,
        "UpdateTable",
    )?;
    updated["TableDescription"]["LatestStreamArn"]
        .as_str()
        .map(str::to_owned)
        .context("UpdateTable returned no LatestStreamArn")
}

/// A LATEST iterator on the (first) shard of `arn`.
async fn latest_iterator(conn: &mut Connection, arn: &str) -> anyhow::Result<String> {
    let described = parse(
        &conn
            .call_target(
                &format!("{STREAMS}DescribeStream"),
                Bytes::from(json!({"StreamArn": arn}).to_string()),
            )
            .await?,
        "DescribeStream",
    )?;
    let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .context("the stream has no shard")?
        .to_owned();
    let body = json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"});
    let reply = conn
        .call_target(
            &format!("{STREAMS}GetShardIterator"),
            Bytes::from(body.to_string()),
        )
        .await?;
    parse(&reply, "GetShardIterator")?["ShardIterator"]
        .as_str()
        .map(str::to_owned)
        .context("no ShardIterator")
}

/// Runs `writers` writers and one consumer for `duration`.
pub(crate) async fn run_cell(
    target: &Target,
    plan: &Plan,
    writers: usize,
    duration: Duration,
) -> anyhow::Result<CellOutcome> {
    let mut consumer_conn = Connection::open(target).await?;
    let arn = stream_table(&mut consumer_conn, plan).await?;
    let iterator = latest_iterator(&mut consumer_conn, &arn).await?;
    let pending: Pending = Arc::default();
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));

    let consumer = tokio::spawn(consume(
        consumer_conn,
        iterator,
        Arc::clone(&pending),
        Arc::clone(&writing),
    ));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(writers);
    for id in 0..writers {
        let conn = Connection::open(target).await?;
        let plan = plan.clone();
        let target = target.clone();
        let pending = Arc::clone(&pending);
        tasks.push(tokio::spawn(async move {
            write(id, conn, target, plan, pending, deadline).await
        }));
    }
    let mut errors = 0;
    for task in tasks {
        errors += task.await.context("stream writer panicked")?;
    }
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    let (mut latencies_us, calls_us, consumer_errors) =
        consumer.await.context("stream consumer panicked")??;
    let elapsed = started.elapsed();
    let missing = pending.lock().map(|p| p.len() as u64).unwrap_or(0);
    latencies_us.sort_unstable();
    let mut calls_us = calls_us;
    calls_us.sort_unstable();
    let pct = |v: &[u32], p: usize| {
        if v.is_empty() {
            0
        } else {
            v[((v.len() * p).div_ceil(100)).clamp(1, v.len()) - 1]
        }
    };
    eprintln!(
        "stream: {writers} writer(s): GetRecords calls {} (p50 {} us, p99 {} us, max {} us); records {} ; missing {missing}",
        calls_us.len(),
        pct(&calls_us, 50),
        pct(&calls_us, 99),
        calls_us.last().copied().unwrap_or(0),
        latencies_us.len(),
    );
    Ok(CellOutcome {
        latencies_us,
        errors: errors + consumer_errors + missing,
        elapsed,
    })
}

/// One writer: PutItems back to back until `deadline`; returns its failures.
async fn write(
    id: usize,
    mut conn: Connection,
    target: Target,
    plan: Plan,
    pending: Pending,
    deadline: Instant,
) -> u64 {
    let mut errors = 0;
    let mut n = 0u64;
    while Instant::now() < deadline {
        let (operation, body) = plan.request(Op::Stream, id, n, 0);
        let key = format!("s{id}-{n}");
        n += 1;
        if let Ok(mut p) = pending.lock() {
            p.insert(key.clone(), Instant::now());
        }
        match conn.call(operation, body).await {
            Ok(reply) if reply.status == 200 => {}
            _ => {
                errors += 1;
                if let Ok(mut p) = pending.lock() {
                    p.remove(&key);
                }
                if let Ok(c) = Connection::open(&target).await {
                    conn = c;
                }
            }
        }
    }
    errors
}

/// The consumer: GetRecords until the writers stopped and everything arrived (or the drain
/// timeout). Returns the write → read latencies, each GetRecords call's latency, and errors.
async fn consume(
    mut conn: Connection,
    mut iterator: String,
    pending: Pending,
    writing: Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<(Vec<u32>, Vec<u32>, u64)> {
    let mut latencies = Vec::new();
    let mut calls = Vec::new();
    let mut errors = 0;
    let mut drain_deadline = None;
    loop {
        if !writing.load(std::sync::atomic::Ordering::SeqCst) {
            let deadline = *drain_deadline
                .get_or_insert_with(|| Instant::now() + Duration::from_millis(DRAIN_TIMEOUT_MS));
            let empty = pending.lock().map(|p| p.is_empty()).unwrap_or(true);
            if empty || Instant::now() > deadline {
                break;
            }
        }
        let body = json!({"ShardIterator": iterator, "Limit": GET_RECORDS_LIMIT});
        let sent = Instant::now();
        let reply = conn
            .call_target(
                &format!("{STREAMS}GetRecords"),
                Bytes::from(body.to_string()),
            )
            .await?;
        let arrived = Instant::now();
        calls.push(u32::try_from((arrived - sent).as_micros()).unwrap_or(u32::MAX));
        if reply.status != 200 {
            errors += 1;
            continue;
        }
        let value: Value = serde_json::from_slice(&reply.body)?;
        let records = value["Records"].as_array().cloned().unwrap_or_default();
        for record in &records {
            let Some(pk) = record["dynamodb"]["Keys"]["pk"]["S"].as_str() else {
                continue;
            };
            let sent_at = pending.lock().ok().and_then(|mut p| p.remove(pk));
            if let Some(sent_at) = sent_at {
                let micros = arrived.saturating_duration_since(sent_at).as_micros();
                latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
        }
        iterator = value["NextShardIterator"]
            .as_str()
            .context("the shard was closed while tailing it")?
            .to_owned();
        if records.is_empty() {
            tokio::time::sleep(Duration::from_millis(EMPTY_POLL_PAUSE_MS)).await;
        }
    }
    Ok((latencies, calls, errors))
}
