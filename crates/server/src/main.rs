//! The `meridian` binary: parses flags and config, opens storage, starts the region's Raft
//! group, serves the DynamoDB API, and shuts down gracefully on SIGINT or SIGTERM.

mod banner;
mod chaos_admin;
mod chaos_cli;
mod cli;
mod config;
mod console_status;
mod dev;
mod lab;
mod logging;
mod node;
mod ops;
mod sweeper;

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;

use crate::cli::{Command, ServeArgs};
use crate::config::{AdminSecretSource, ApiConfig};

/// File descriptors kept out of the API's connection budget: the log, sled's files and blobs,
/// snapshots, the peer listener's connections and outgoing peer calls. A flood of client
/// connections must never take the descriptors a log flush needs.
const FD_RESERVE_COUNT: u64 = 128;
/// The connection budget never goes below this, however low the descriptor limit.
const MAX_CONNECTIONS_MIN: usize = 16;
/// How often the watchdog checks that the Raft core still runs.
const RAFT_WATCHDOG_INTERVAL_MS: u64 = 200;
/// The exit status when the Raft core has stopped (EX_SOFTWARE): a supervisor restarts the
/// node, which recovers from its log, instead of it answering 503 forever.
const EXIT_RAFT_STOPPED: i32 = 70;

/// jemalloc: the request path allocates many small buffers; glibc malloc showed up at ~10% of
/// CPU in PutItem profiles. (mimalloc was as fast but held ~40 MB more at idle.)
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use crate::config::NodeConfig;

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let cli = cli::parse();
    logging::init();
    match cli.command {
        Some(Command::Bench(args)) => runtime()?.block_on(bench::run(args)),
        Some(Command::Serve(args)) => serve(&args, started),
        Some(Command::Status(args)) => runtime()?.block_on(ops::status(&args)),
        Some(Command::Member(command)) => runtime()?.block_on(ops::member(&command)),
        Some(Command::Dev(args)) => runtime()?.block_on(dev::run(&args, started)),
        Some(Command::Chaos(args)) => runtime()?.block_on(chaos_cli::run(&args)),
        None => serve(&cli.serve, started),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

/// Raises the soft limit on open files to the hard limit; returns the soft limit in force.
fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(current), maximum) = (limit.current, limit.maximum) else {
        return None; // unlimited
    };
    let target = maximum.unwrap_or(current);
    if target > current {
        let raised = Rlimit {
            current: Some(target),
            maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return Some(target),
            Err(error) => {
                tracing::warn!(%error, current, target, "cannot raise the open-file limit")
            }
        }
    }
    Some(current)
}

/// The listener's options: the configured limits, with the connection budget kept under the
/// descriptor limit minus [`FD_RESERVE_COUNT`].
fn api_options(api: &ApiConfig, addr: std::net::SocketAddr) -> api::ServeOptions {
    let mut max_connections = api.max_connections;
    if let Some(fds) = raise_fd_limit() {
        let budget = usize::try_from(fds.saturating_sub(FD_RESERVE_COUNT)).unwrap_or(usize::MAX);
        let budget = budget.max(MAX_CONNECTIONS_MIN);
        if budget < max_connections {
            tracing::warn!(
                fd_limit = fds,
                configured = max_connections,
                max_connections = budget,
                "connection limit lowered to keep file descriptors for storage"
            );
            max_connections = budget;
        }
    }
    api::ServeOptions {
        max_connections,
        body_read_timeout_ms: api.body_read_timeout_ms,
        idle_timeout_ms: api.idle_timeout_ms,
        cors: api::CorsOrigins::parse(&api.cors),
        loopback_hosts_only: addr.ip().is_loopback(),
        admin_secret: Some(api.admin_secret.as_str().into()),
        auth: api.auth.clone(),
        max_header_bytes: api::MAX_HEADER_BYTES_DEFAULT,
        console_bind_any: api.console_bind_any,
        metrics: None,
    }
}

/// Completes when the region's Raft core has stopped, with the reason.
async fn raft_stopped(region: std::sync::Arc<dyn api::Region>) -> String {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(RAFT_WATCHDOG_INTERVAL_MS)).await;
        let health = region.health();
        if !health.raft_running {
            return health
                .failure
                .unwrap_or_else(|| "the raft core is not running".into());
        }
    }
}

fn serve(args: &ServeArgs, started: Instant) -> anyhow::Result<()> {
    let config = NodeConfig::resolve(args)?;
    let api_config = ApiConfig::resolve(args, &config)?;
    runtime()?.block_on(async move {
        let node = node::Node::start(&config).await?;
        let listener = tokio::net::TcpListener::bind(config.api_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.api_addr))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() && api_config.auth.is_none() {
            tracing::warn!(
                %addr,
                "the DynamoDB API listens on a non-loopback address: anyone who can reach it \
                 can read and write every table (no request signature is checked; see \
                 --require-auth)"
            );
        }
        if let Some(keys) = &api_config.auth {
            tracing::info!(access_keys = keys.len(), "SigV4 signatures are verified");
        }
        match api_config.admin_secret_source {
            AdminSecretSource::Generated => tracing::warn!(
                admin_secret = %api_config.admin_secret,
                "no admin secret configured (--admin-secret, MERIDIAN_ADMIN_SECRET): \
                 generated one for admin calls"
            ),
            AdminSecretSource::Cluster => {
                tracing::info!("admin calls use the cluster secret");
            }
            AdminSecretSource::Configured => {}
        }
        let mut options = api_options(&api_config, addr);
        options.metrics = Some(node.metrics().clone());
        {
            let mut out = std::io::stdout().lock();
            banner::serve(&mut out, &config, &api_config, addr)?;
            writeln!(out, "Meridian ready on http://{addr}")?;
            out.flush()?;
        }
        tracing::info!(
            region = %config.region,
            data_dir = ?config.data_dir,
            ready_ms = started.elapsed().as_millis() as u64,
            "serving"
        );
        let region = node.api_region();
        let serving = api::serve_with(listener, vec![region.clone()], options, shutdown_signal());
        tokio::select! {
            served = serving => served?,
            reason = raft_stopped(region) => {
                tracing::error!(
                    %reason,
                    exit_status = EXIT_RAFT_STOPPED,
                    "the raft core stopped: exiting so that a supervisor restarts the node"
                );
                std::process::exit(EXIT_RAFT_STOPPED);
            }
        }
        tracing::info!("shutting down");
        node.shutdown().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
