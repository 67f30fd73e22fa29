//! Command-line parsing, including DynamoDB Local's single-dash spellings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Meridian: a DynamoDB-compatible store with real multi-region replication.
#[derive(Debug, Parser)]
#[command(name = "meridian", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands; with none, `meridian` serves.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the DynamoDB API (the default).
    Serve(ServeArgs),
    /// Drive a DynamoDB endpoint with PutItem, GetItem and Query (and a stream consumer) and
    /// report throughput and latency.
    Bench(bench::BenchArgs),
    /// Show every member of a region: role, term, last log index, applied index, lag.
    Status(StatusArgs),
    /// Add or remove a member of a region's Raft group.
    #[command(subcommand)]
    Member(MemberCommand),
    /// A multi-region lab in one process: one API port per region, global tables by default.
    Dev(DevArgs),
}

/// `meridian dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// The regions, comma-separated; the first one is also served on the shared port.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "us-east-1,eu-west-1,ap-southeast-1"
    )]
    pub regions: Vec<String>,
    /// The first region's API port, which is also the shared port (routing by the region in
    /// each request's SigV4 credential scope); region N listens on port + N. 0 picks free
    /// ports.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Nodes in each region's Raft group (1, 3 or 5).
    #[arg(long = "nodes-per-region", default_value_t = 1)]
    pub nodes_per_region: u64,
    /// Keep everything in memory.
    #[arg(long = "in-memory", alias = "inMemory")]
    pub in_memory: bool,
    /// Where the data goes (one directory per region and node); default ./meridian-data/dev.
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// Period of anti-entropy rounds, ms (0: off).
    #[arg(long = "anti-entropy-ms", default_value_t = 10_000)]
    pub anti_entropy_ms: u64,
    /// Tables are created in one region only, unless made global with UpdateTable.
    #[arg(long = "no-auto-global")]
    pub no_auto_global: bool,
}

/// `meridian status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The config file of any member: its `[cluster]` names the members and the secret.
    #[arg(long)]
    pub config: PathBuf,
}

/// `meridian member ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum MemberCommand {
    /// Add a node (started first with its own config): it joins as a learner, catches up
    /// (snapshot plus log), then becomes a voter.
    Add(MemberAddArgs),
    /// Remove a member from the group (then stop its process; never restart it with the same
    /// id and an empty data directory).
    Remove(MemberRemoveArgs),
}

/// `meridian member add`.
#[derive(Debug, Clone, Args)]
pub struct MemberAddArgs {
    /// The config file of any current member (the request goes to its peer listener).
    #[arg(long)]
    pub config: PathBuf,
    /// The new member's id.
    #[arg(long)]
    pub id: u64,
    /// The new member's API address, e.g. 127.0.0.1:8104.
    #[arg(long = "api-addr")]
    pub api_addr: std::net::SocketAddr,
    /// The new member's peer address, e.g. 127.0.0.1:9104.
    #[arg(long = "peer-addr")]
    pub peer_addr: std::net::SocketAddr,
}

/// `meridian member remove`.
#[derive(Debug, Clone, Args)]
pub struct MemberRemoveArgs {
    /// The config file of any current member.
    #[arg(long)]
    pub config: PathBuf,
    /// The id of the member to remove.
    #[arg(long)]
    pub id: u64,
}

/// How to serve.
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Port of the DynamoDB API (0 picks a free one). Default 8000.
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on. Default 127.0.0.1.
    #[arg(long)]
    pub host: Option<String>,
    /// Where the data lives. Default ./meridian-data.
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory; nothing survives a restart.
    #[arg(long = "in-memory")]
    pub in_memory: bool,
    /// The region this node serves. Default us-east-1.
    #[arg(long)]
    pub region: Option<String>,
    /// A TOML configuration file (see config/).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Milliseconds between two sweeps for expired (TTL) items on the region leader; 0 turns
    /// the periodic sweep off. Default 5000.
    #[arg(long = "ttl-sweep-interval-ms")]
    pub ttl_sweep_interval_ms: Option<u64>,
    /// Accepted for DynamoDB Local compatibility: the single region is always shared by every
    /// credential and region name.
    #[arg(long = "shared-db")]
    pub shared_db: bool,
    /// Accepted for DynamoDB Local compatibility and ignored.
    #[arg(long = "cors", hide = true)]
    pub cors: Option<String>,
    /// Accepted for DynamoDB Local compatibility and ignored.
    #[arg(long = "delay-transient-statuses", hide = true)]
    pub delay_transient_statuses: bool,
    /// Accepted for DynamoDB Local compatibility and ignored.
    #[arg(long = "optimize-db-before-startup", hide = true)]
    pub optimize_db_before_startup: bool,
}

/// Rewrites DynamoDB Local's single-dash flags into Meridian's.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|arg| {
            let mapped = match arg.as_str() {
                "-port" => "--port",
                "-inMemory" => "--in-memory",
                "-dbPath" => "--data-dir",
                "-sharedDb" => "--shared-db",
                "-cors" => "--cors",
                "-delayTransientStatuses" => "--delay-transient-statuses",
                "-optimizeDbBeforeStartup" => "--optimize-db-before-startup",
                _ => return arg,
            };
            mapped.to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let args = normalize_args(args.iter().map(|s| s.to_string()));
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn t10_dynamodb_local_aliases() {
        let cli = parse(&["meridian", "-port", "8001", "-inMemory", "-sharedDb"]);
        assert_eq!(cli.serve.port, Some(8001));
        assert!(cli.serve.in_memory);
        assert!(cli.serve.shared_db);
        let cli = parse(&["meridian", "-dbPath", "/tmp/x"]);
        assert_eq!(cli.serve.data_dir, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn t10_no_arguments_serves_defaults() {
        let cli = parse(&["meridian"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.port, None);
    }
}
