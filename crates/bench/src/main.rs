//! `meridian-bench`: the bench without the server binary (same flags as `meridian bench`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "meridian-bench",
    about = "Load a DynamoDB-compatible endpoint and report throughput and latency"
)]
struct Cli {
    #[command(flatten)]
    args: meridian_bench::BenchArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meridian_bench::run(Cli::parse().args).await
}
