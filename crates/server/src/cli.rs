//! Command-line parsing, including DynamoDB Local's single-dash spellings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Meridian: a DynamoDB-compatible store with real multi-region replication.
#[derive(Debug, Parser)]
#[command(
    name = "meridian",
    version,
    args_conflicts_with_subcommands = true,
    after_help = DYNAMODB_LOCAL_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The DynamoDB Local spellings `meridian` accepts, listed under `--help` / `-help`.
const DYNAMODB_LOCAL_HELP: &str = "\
DynamoDB Local flags (accepted as DynamoDB Local spells them):
  -port <PORT>               same as --port
  -inMemory                  same as --in-memory
  -dbPath <DIR>              same as --data-dir (not together with -inMemory)
  -sharedDb                  same as --shared-db (one database for every credential and region)
  -cors <ORIGINS>            same as --cors
  -delayTransientStatuses    accepted and ignored
  -optimizeDbBeforeStartup   accepted and ignored
  -disableTelemetry          accepted; Meridian sends no telemetry
  -version                   same as --version
  -help                      same as --help";

/// What DynamoDB Local prints (then exits non-zero) when given both -dbPath and -inMemory.
pub const DB_PATH_WITH_IN_MEMORY: &str = "You can't specify both -dbPath and -inMemory at once.";

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
    /// Break things on purpose: pause replication, partition regions or nodes, slow links,
    /// skew clocks, inject API errors, kill and restart lab nodes. Against `meridian dev` by
    /// default, or every node of a deployment with --config.
    Chaos(ChaosArgs),
}

/// `meridian chaos`.
#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// The config file of any node: the command goes to every node its `[cluster]` and
    /// `[replication]` sections name. Without it, the command goes to `meridian dev`'s lab.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// The lab file of `meridian dev` (default: the one of the lab whose first port is
    /// --lab-of).
    #[arg(long, global = true)]
    pub lab: Option<PathBuf>,
    /// The first API port of the `meridian dev` lab to talk to.
    #[arg(long = "lab-of", global = true, default_value_t = 8000)]
    pub lab_of: u16,
    /// How long the fault lasts, ISO-8601 (PT30S, PT2M, PT1H); default: until cleared.
    #[arg(long, global = true)]
    pub duration: Option<String>,
    /// The fault's id (default: a new one); with `clear`, the fault to remove.
    #[arg(long, global = true)]
    pub id: Option<String>,
    #[command(subcommand)]
    pub action: ChaosAction,
}

/// What `meridian chaos` does.
#[derive(Debug, Clone, Subcommand)]
pub enum ChaosAction {
    /// Stop replicating a global table (all directions, or one source and/or destination),
    /// like aws:dynamodb:global-table-pause-replication; writes queue up until it heals.
    PauseReplication {
        /// The table's name or ARN.
        #[arg(long)]
        table: String,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        destination: Option<String>,
    },
    /// Cut a region off from the other regions.
    PartitionRegion {
        #[arg(long)]
        region: String,
        /// both, outbound (it cannot send) or inbound (it receives nothing).
        #[arg(long, default_value = "both")]
        direction: String,
    },
    /// Cut one node off from its region's other nodes.
    PartitionNode {
        #[arg(long)]
        region: String,
        #[arg(long)]
        node: u64,
    },
    /// Add latency, jitter and loss to cross-region links.
    Delay {
        /// Only calls from this region (default: any).
        #[arg(long)]
        from: Option<String>,
        /// Only calls to this region (default: any).
        #[arg(long)]
        to: Option<String>,
        #[arg(long = "latency-ms", default_value_t = 0)]
        latency_ms: u64,
        #[arg(long = "jitter-ms", default_value_t = 0)]
        jitter_ms: u64,
        /// Probability (0 to 1) that a call is lost.
        #[arg(long = "drop", default_value_t = 0.0)]
        drop_probability: f64,
    },
    /// Skew the clock that stamps versions in a region (or on one node).
    ClockSkew {
        #[arg(long)]
        region: String,
        #[arg(long)]
        node: Option<u64>,
        /// Milliseconds ahead (negative: behind).
        #[arg(long = "offset-ms", allow_hyphen_values = true)]
        offset_ms: i64,
    },
    /// Answer API requests with a DynamoDB error (or a delay).
    InjectError {
        /// ProvisionedThroughputExceededException, ThrottlingException,
        /// RequestLimitExceeded, InternalServerError or ServiceUnavailable; none: delay only.
        #[arg(long)]
        error: Option<String>,
        /// Only this operation (e.g. PutItem).
        #[arg(long)]
        operation: Option<String>,
        /// Only requests naming this table.
        #[arg(long)]
        table: Option<String>,
        /// The fraction of matching requests (0 to 1]; default all.
        #[arg(long)]
        rate: Option<f64>,
        /// Fire at most this many times (per node).
        #[arg(long)]
        count: Option<u64>,
        /// Wait this long before answering.
        #[arg(long = "delay-ms", default_value_t = 0)]
        delay_ms: u64,
    },
    /// `meridian dev` only: stop a node (or every node of a region): its ports refuse
    /// connections until it is restarted.
    Kill {
        #[arg(long)]
        region: String,
        #[arg(long)]
        node: Option<u64>,
    },
    /// `meridian dev` only: restart stopped nodes on their storage.
    Restart {
        #[arg(long)]
        region: String,
        #[arg(long)]
        node: Option<u64>,
    },
    /// List the active faults.
    List,
    /// Remove one fault (--id) or every fault.
    Clear,
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
    /// The lab control port (`meridian chaos` talks to it). Default: --port + 900.
    #[arg(long = "lab-port")]
    pub lab_port: Option<u16>,
    /// Serve the web console (`/console`) even when --host is not a loopback address.
    #[arg(long = "console-bind-any")]
    pub console_bind_any: bool,
    /// Verify AWS Signature Version 4 on every DynamoDB and Streams request, on every API
    /// port of the lab (the shared port included): only requests signed with an --auth-key
    /// are answered. Default: off (any credentials are accepted).
    #[arg(long = "require-auth")]
    pub require_auth: bool,
    /// An access key requests may be signed with, as ACCESS_KEY_ID:SECRET_ACCESS_KEY
    /// (repeatable).
    #[arg(long = "auth-key", value_name = "AKID:SECRET")]
    pub auth_keys: Vec<String>,
}

/// `meridian status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The config file of any member: its `[cluster]` names the members and the secret.
    /// Without it, the `meridian dev` lab (see --lab-of).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The first API port of the `meridian dev` lab to show.
    #[arg(long = "lab-of", default_value_t = 8000)]
    pub lab_of: u16,
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
    /// Browser origins allowed to read answers (CORS), comma-separated, or `*` (the default,
    /// as DynamoDB Local).
    #[arg(long = "cors")]
    pub cors: Option<String>,
    /// Open API connections at most (default 512, and never more than the file-descriptor
    /// limit minus a reserve for the log and snapshots); beyond it a connection gets a 503.
    #[arg(long = "max-connections")]
    pub max_connections: Option<usize>,
    /// Milliseconds a client may take to send a request body. Default 10000.
    #[arg(long = "body-read-timeout-ms")]
    pub body_read_timeout_ms: Option<u64>,
    /// Milliseconds an API connection may stay idle (or take to send headers). Default 30000.
    #[arg(long = "idle-timeout-ms")]
    pub idle_timeout_ms: Option<u64>,
    /// The secret admin calls (`POST /_meridian/ttl/sweep`) carry in the
    /// `x-meridian-admin-secret` header. Default: `MERIDIAN_ADMIN_SECRET`, the config's
    /// `[api] admin_secret`, the cluster secret, or one generated at start (logged).
    #[arg(long = "admin-secret")]
    pub admin_secret: Option<String>,
    /// Serve the web console (`/console`) even when the API listens on a non-loopback
    /// address (anyone who can reach the port can then use it). Default: loopback only.
    #[arg(long = "console-bind-any")]
    pub console_bind_any: bool,
    /// Verify AWS Signature Version 4 on every DynamoDB and Streams request: only requests
    /// signed with a configured access key (--auth-key, `[[auth.keys]]`) are answered.
    /// Default: off (any credentials are accepted, as DynamoDB Local does).
    #[arg(long = "require-auth")]
    pub require_auth: bool,
    /// An access key requests may be signed with, as ACCESS_KEY_ID:SECRET_ACCESS_KEY
    /// (repeatable; adds to the config's `[[auth.keys]]`).
    #[arg(long = "auth-key", value_name = "AKID:SECRET")]
    pub auth_keys: Vec<String>,
    /// Accepted for DynamoDB Local compatibility (`-disableTelemetry`): Meridian sends no
    /// telemetry.
    #[arg(long = "disable-telemetry", hide = true)]
    pub disable_telemetry: bool,
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
                "-disableTelemetry" => "--disable-telemetry",
                "-version" => "--version",
                "-help" => "--help",
                _ => return arg,
            };
            mapped.to_owned()
        })
        .collect()
}

/// Refuses what DynamoDB Local refuses before anything is parsed: `-dbPath` together with
/// `-inMemory` (either may be spelled Meridian's way when the other is DynamoDB Local's).
pub fn dynamodb_local_conflict(args: &[String]) -> Option<&'static str> {
    let has = |names: &[&str]| args.iter().any(|a| names.contains(&a.as_str()));
    let conflict = (has(&["-dbPath"]) && has(&["-inMemory", "--in-memory"]))
        || (has(&["-inMemory"]) && has(&["--data-dir"]));
    conflict.then_some(DB_PATH_WITH_IN_MEMORY)
}

/// Parses the process's arguments; exits 1 with DynamoDB Local's message on the conflicts
/// it refuses, and as clap does on errors, `--help` and `--version`.
pub fn parse() -> Cli {
    let args: Vec<String> = std::env::args().collect();
    if let Some(message) = dynamodb_local_conflict(&args) {
        eprintln!("{message}");
        std::process::exit(1);
    }
    Cli::parse_from(normalize_args(args))
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
    fn t10_dynamodb_local_launcher_flags() {
        let cli = parse(&["meridian", "-inMemory", "-disableTelemetry", "-sharedDb"]);
        assert!(cli.serve.disable_telemetry && cli.serve.in_memory);
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            dynamodb_local_conflict(&args(&["meridian", "-dbPath", "/x", "-inMemory"])),
            Some(DB_PATH_WITH_IN_MEMORY)
        );
        assert!(
            dynamodb_local_conflict(&args(&["meridian", "-inMemory", "--data-dir", "x"])).is_some()
        );
        assert!(dynamodb_local_conflict(&args(&["meridian", "-dbPath", "/x"])).is_none());
        for flag in ["-version", "-help"] {
            let normalized = normalize_args(args(&["meridian", flag]));
            let err = Cli::try_parse_from(normalized).unwrap_err();
            assert_eq!(err.exit_code(), 0, "{flag}");
        }
        let help = Cli::try_parse_from(["meridian", "--help"])
            .unwrap_err()
            .to_string();
        for flag in [
            "-disableTelemetry",
            "-dbPath",
            "-inMemory",
            "--require-auth",
            "--auth-key",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
        let cli = parse(&[
            "meridian",
            "--require-auth",
            "--auth-key",
            "AK:sec",
            "--auth-key",
            "B:c",
        ]);
        assert!(cli.serve.require_auth);
        assert_eq!(cli.serve.auth_keys, vec!["AK:sec", "B:c"]);
    }

    #[test]
    fn t10_no_arguments_serves_defaults() {
        let cli = parse(&["meridian"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.port, None);
    }
}
