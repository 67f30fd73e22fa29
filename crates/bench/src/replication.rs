//! Replication latency: PutItem at a steady rate in one region while one poller per other
//! region Queries for the new items, recording per item the time from sending the write to
//! the item being readable there. Reported per replica region as p50/p99/max, with the write
//! rate actually sustained.
//!
//! The table (`pk` S, `sk` S) must be global across the regions, as `meridian dev` makes every
//! table; each run writes a fresh partition `run-<n>` with sort keys `000000000`, `000000001`,
//! ... so a poller finds new items with one Query per round.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use serde_json::json;

use crate::connection::{Connection, Target};

/// Longest a poller keeps looking for missing items after the writes end.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for the table to appear in every replica region.
const REPLICA_WAIT: Duration = Duration::from_secs(30);
/// Most items one run records (bounds memory at the highest rates).
const ITEMS_MAX: usize = 2_000_000;

/// One replica region's figures for one run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicaLatency {
    pub endpoint: String,
    pub seen: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One run at one target rate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicationRun {
    /// Writes/s asked for (0: as fast as the writers go).
    pub target_rate: u64,
    /// Writes/s acknowledged.
    pub sustained_rate: f64,
    pub written: usize,
    pub replicas: Vec<ReplicaLatency>,
}

fn nanos_since(start: Instant) -> u64 {
    start.elapsed().as_nanos() as u64
}

/// Runs one measurement per rate.
pub async fn run(
    endpoint: &str,
    replicas: &[String],
    rates: &[u64],
    table: &str,
    duration: Duration,
    writers: usize,
) -> anyhow::Result<Vec<ReplicationRun>> {
    let writer = Target::parse(endpoint)?;
    crate::setup::create_table(&writer, table, Duration::from_secs(60)).await?;
    let replica_targets: Vec<Target> = replicas
        .iter()
        .map(|r| Target::parse(r))
        .collect::<anyhow::Result<_>>()?;
    for target in &replica_targets {
        wait_for_table(target, table).await?;
    }
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut runs = Vec::new();
    for (n, &rate) in rates.iter().enumerate() {
        let partition = format!("run-{tag}-{n}");
        let run = Run {
            partition: &partition,
            rate,
            duration,
            writers: writers.max(1),
        };
        runs.push(one_run(&writer, &replica_targets, replicas, table, run).await?);
    }
    Ok(runs)
}

async fn wait_for_table(target: &Target, table: &str) -> anyhow::Result<()> {
    let mut conn = Connection::open(target).await?;
    let deadline = Instant::now() + REPLICA_WAIT;
    loop {
        let reply = conn
            .call(
                "DescribeTable",
                Bytes::from(json!({"TableName": table}).to_string()),
            )
            .await?;
        if reply.status == 200 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "table {table} did not appear at {}: make it global (meridian dev does) first",
            target.authority
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One run's parameters.
struct Run<'a> {
    partition: &'a str,
    rate: u64,
    duration: Duration,
    writers: usize,
}

async fn one_run(
    writer: &Target,
    replicas: &[Target],
    names: &[String],
    table: &str,
    run: Run<'_>,
) -> anyhow::Result<ReplicationRun> {
    let Run {
        partition,
        rate,
        duration,
        writers: writer_count,
    } = run;
    let capacity = if rate == 0 {
        ITEMS_MAX
    } else {
        ((rate as f64 * duration.as_secs_f64()) as usize + 1).min(ITEMS_MAX)
    };
    // Send time of item i, in ns since `start` (+1, so 0 means "not sent").
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..capacity).map(|_| AtomicU64::new(0)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let end = start + duration;
    let mut writers = Vec::new();
    for _ in 0..writer_count {
        let mut conn = Connection::open(writer).await?;
        let (sent, next, acked) = (sent.clone(), next.clone(), acked.clone());
        let (table, partition) = (table.to_owned(), partition.to_owned());
        writers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= capacity {
                    return Ok::<_, anyhow::Error>(());
                }
                if rate > 0 {
                    let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                if Instant::now() >= end {
                    return Ok(());
                }
                sent[i].store(nanos_since(start) + 1, Ordering::Relaxed);
                let body = json!({
                    "TableName": table,
                    "Item": {"pk": {"S": partition}, "sk": {"S": format!("{i:09}")}, "v": {"S": "x"}},
                });
                let reply = conn.call("PutItem", Bytes::from(body.to_string())).await?;
                anyhow::ensure!(reply.status == 200, "PutItem: HTTP {} {}", reply.status, String::from_utf8_lossy(&reply.body));
                acked.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut pollers = Vec::new();
    for target in replicas {
        let conn = Connection::open(target).await?;
        let sent = sent.clone();
        let (table, partition) = (table.to_owned(), partition.to_owned());
        let writes_done = acked.clone();
        pollers.push(tokio::spawn(poll(
            conn,
            table,
            partition,
            sent,
            start,
            end,
            writes_done,
        )));
    }
    for w in writers {
        w.await.context("writer task")??;
    }
    let elapsed = start.elapsed().min(duration).as_secs_f64();
    let written = acked.load(Ordering::Relaxed);
    let mut out = Vec::new();
    for (poller, name) in pollers.into_iter().zip(names) {
        let mut latencies = poller.await.context("poller task")??;
        latencies.sort_unstable();
        let pick = |q: f64| -> f64 {
            if latencies.is_empty() {
                return f64::NAN;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i] as f64 / 1e6
        };
        out.push(ReplicaLatency {
            endpoint: name.clone(),
            seen: latencies.len(),
            p50_ms: pick(0.50),
            p99_ms: pick(0.99),
            max_ms: latencies.last().map_or(f64::NAN, |&l| l as f64 / 1e6),
        });
    }
    Ok(ReplicationRun {
        target_rate: rate,
        sustained_rate: written as f64 / elapsed,
        written,
        replicas: out,
    })
}

/// Queries the partition until every written item has been seen (or the drain timeout);
/// returns the latencies (ns) of the items seen.
async fn poll(
    mut conn: Connection,
    table: String,
    partition: String,
    sent: Arc<Vec<AtomicU64>>,
    start: Instant,
    end: Instant,
    acked: Arc<AtomicUsize>,
) -> anyhow::Result<Vec<u64>> {
    let mut seen = BTreeSet::new();
    let mut latencies = Vec::new();
    // Every item below the watermark has been seen.
    let mut watermark = 0usize;
    loop {
        let body = json!({
            "TableName": table,
            "KeyConditionExpression": "pk = :p AND sk >= :s",
            "ExpressionAttributeValues": {":p": {"S": partition}, ":s": {"S": format!("{watermark:09}")}},
            "ProjectionExpression": "sk",
        });
        let reply = conn.call("Query", Bytes::from(body.to_string())).await?;
        let now = nanos_since(start);
        anyhow::ensure!(
            reply.status == 200,
            "Query: HTTP {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        let value: serde_json::Value = serde_json::from_slice(&reply.body)?;
        for item in value["Items"].as_array().into_iter().flatten() {
            let Some(i) = item["sk"]["S"]
                .as_str()
                .and_then(|s| s.parse::<usize>().ok())
            else {
                continue;
            };
            if seen.insert(i) {
                let at = sent.get(i).map_or(0, |s| s.load(Ordering::Relaxed));
                if at > 0 {
                    latencies.push(now.saturating_sub(at - 1));
                }
            }
        }
        while seen.remove(&watermark) {
            watermark += 1;
        }
        let writing = Instant::now() < end;
        if !writing && watermark >= acked.load(Ordering::Relaxed) {
            break;
        }
        if !writing && Instant::now() > end + DRAIN_TIMEOUT {
            break;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    Ok(latencies)
}

/// The runs as a text table.
pub fn to_table(runs: &[ReplicationRun]) -> String {
    let mut out = String::from("target/s  sustained/s  replica                          seen     p50 ms   p99 ms   max ms\n");
    for run in runs {
        for r in &run.replicas {
            out.push_str(&format!(
                "{:>8}  {:>11.0}  {:<30}  {:>6}  {:>7.1}  {:>7.1}  {:>7.1}\n",
                if run.target_rate == 0 {
                    "max".to_owned()
                } else {
                    run.target_rate.to_string()
                },
                run.sustained_rate,
                r.endpoint,
                r.seen,
                r.p50_ms,
                r.p99_ms,
                r.max_ms
            ));
        }
    }
    out
}
