//! Meridian's load generator for DynamoDB-compatible endpoints.
//!
//! It owns the `meridian bench` command: N concurrent workers, each on its own keep-alive
//! HTTP/1.1 connection, send hand-built DynamoDB JSON requests (PutItem, GetItem, Query; or
//! PutItems with a DynamoDB Streams consumer tailing the table, for `stream`) for a fixed
//! duration, and the run is reported as requests/s and latency percentiles per
//! operation and concurrency. It talks raw hyper rather than an AWS SDK so that the figures
//! measure the server, not client-side signing and serialisation.
//!
//! It must not depend on any other Meridian crate: it is a client of the wire protocol only,
//! so it can be pointed at any peer (dynalite, DynamoDB Local, Meridian itself) unchanged.
//! It also serves a bare hyper endpoint with a fixed JSON body, the reference figure for
//! what the HTTP stack alone costs on this machine.

mod bare;
mod connection;
mod replication;
mod report;
mod requests;
mod setup;
mod stream;
mod worker;

use std::time::Duration;

use anyhow::Context as _;

pub use report::RunResult;

/// The operations the bench can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// PutItem of a fresh key with a value of `--value-bytes`.
    Put,
    /// GetItem of a random pre-loaded key.
    Get,
    /// Query of one random pre-loaded partition (10 items).
    Query,
    /// PutItem of a fresh key on a second table with two global secondary indexes (one ALL,
    /// one KEYS_ONLY) whose keys every item has: index maintenance, next to `put-unindexed`.
    PutIndexed,
    /// The same items as `put-indexed` (index key attributes included) on the main table,
    /// which has no index: the baseline `put-indexed` is compared with.
    PutUnindexed,
    /// PutItem writers (one per connection) while one consumer tails the table's stream with
    /// GetRecords; latency is from sending the PutItem to GetRecords returning its record.
    Stream,
}

impl Op {
    /// The lowercase name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Query => "query",
            Op::PutIndexed => "put-indexed",
            Op::PutUnindexed => "put-unindexed",
            Op::Stream => "stream",
        }
    }
}

/// Flags of `meridian bench` (and of the stand-alone `meridian-bench` binary).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Endpoint to load, `http://host:port` (plain HTTP only).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub endpoint: String,

    /// Operations to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "put,get,query"
    )]
    pub ops: Vec<Op>,

    /// Concurrency levels to run each operation at, comma-separated; one connection per worker.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub connections: Vec<usize>,

    /// How long each (operation, concurrency) cell runs.
    #[arg(long, default_value_t = 5)]
    pub duration_secs: u64,

    /// Size of the value attribute written by puts and pre-loaded for gets and queries.
    #[arg(long, default_value_t = 100)]
    pub value_bytes: usize,

    /// Table to create (if absent) and use.
    #[arg(long, default_value = "bench")]
    pub table: String,

    /// Name of the system under test, printed in every row (e.g. `meridian-durable`).
    #[arg(long)]
    pub label: Option<String>,

    /// Print one JSON document instead of the text table.
    #[arg(long)]
    pub json: bool,

    /// Items pre-loaded for `get`; `query` always pre-loads 100 partitions of 10 items.
    #[arg(long, default_value_t = 1000)]
    pub preload_items: usize,

    /// Skip table creation and pre-loading (for endpoints that are not DynamoDB, such as the
    /// bare reference server).
    #[arg(long)]
    pub no_setup: bool,

    /// Instead of benchmarking, serve the bare hyper reference endpoint on this port
    /// (0 picks a free one) until interrupted.
    #[arg(long, value_name = "PORT")]
    pub bare_server_port: Option<u16>,

    /// Instead of the operation cells, measure replication latency: PutItem at a steady rate
    /// on `--endpoint` and time each item until it is readable at each of these endpoints
    /// (other regions of a global table; `meridian dev` makes every table global).
    #[arg(long, value_delimiter = ',')]
    pub replica_endpoints: Vec<String>,

    /// Write rates (items/s) of the replication runs, comma-separated; 0 writes as fast as
    /// the writers go. The writers are the largest of `--connections`.
    #[arg(long, value_delimiter = ',', default_value = "1000,0")]
    pub replication_rates: Vec<u64>,
}

/// Longest a run waits for the table to become ACTIVE.
const TABLE_ACTIVE_TIMEOUT_MS: u64 = 60_000;

/// Runs the benchmark described by `args` (or the bare server, with `--bare-server-port`)
/// and prints the report to stdout.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(port) = args.bare_server_port {
        return bare::serve(port).await;
    }
    if !args.replica_endpoints.is_empty() {
        let runs = replication::run(
            &args.endpoint,
            &args.replica_endpoints,
            &args.replication_rates,
            &args.table,
            Duration::from_secs(args.duration_secs),
            args.connections.iter().copied().max().unwrap_or(16),
        )
        .await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&runs)?);
        } else {
            print!("{}", replication::to_table(&runs));
        }
        return Ok(());
    }
    let results = run_cells(&args).await?;
    if args.json {
        println!("{}", report::to_json(&args, &results)?);
    } else {
        print!("{}", report::to_table(&results));
    }
    Ok(())
}

/// [`run`] on a runtime of its own, for callers that are not async.
pub fn run_blocking(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the bench runtime")?;
    runtime.block_on(run(args))
}

/// Runs every (operation, concurrency) cell and returns one result per cell, in order.
pub async fn run_cells(args: &BenchArgs) -> anyhow::Result<Vec<RunResult>> {
    anyhow::ensure!(!args.ops.is_empty(), "--ops is empty");
    anyhow::ensure!(
        args.connections.iter().all(|c| *c > 0),
        "--connections must all be positive"
    );
    anyhow::ensure!(args.duration_secs > 0, "--duration-secs must be positive");
    let target = connection::Target::parse(&args.endpoint)?;
    let plan = requests::Plan::new(&args.table, args.value_bytes, args.preload_items);
    if !args.no_setup {
        setup::create_table(
            &target,
            &args.table,
            Duration::from_millis(TABLE_ACTIVE_TIMEOUT_MS),
        )
        .await?;
        if args.ops.contains(&Op::PutIndexed) {
            setup::create_indexed_table(
                &target,
                &plan.indexed_table,
                Duration::from_millis(TABLE_ACTIVE_TIMEOUT_MS),
            )
            .await?;
        }
        setup::preload(&target, &plan, &args.ops).await?;
    }
    let mut results = Vec::new();
    for &op in &args.ops {
        for &connections in &args.connections {
            if op == Op::Stream {
                let cell = stream::run_cell(
                    &target,
                    &plan,
                    connections,
                    Duration::from_secs(args.duration_secs),
                )
                .await?;
                results.push(RunResult::from_cell(
                    args.label.clone(),
                    op,
                    connections,
                    cell,
                ));
                continue;
            }
            let cell = worker::run_cell(
                &target,
                &plan,
                op,
                connections,
                Duration::from_secs(args.duration_secs),
            )
            .await?;
            results.push(RunResult::from_cell(
                args.label.clone(),
                op,
                connections,
                cell,
            ));
        }
    }
    Ok(results)
}
