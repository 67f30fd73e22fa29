//! The start banner, as DynamoDB Local prints one: where the API, the console, the metrics
//! and the health check are, and how the node stores and shares its data. It goes to stdout
//! before the `Meridian ready on` line that launchers wait for.

use std::io::Write;
use std::net::SocketAddr;

use crate::config::{ApiConfig, NodeConfig};

/// The banner of `meridian serve`.
pub fn serve(
    out: &mut impl Write,
    node: &NodeConfig,
    api: &ApiConfig,
    addr: SocketAddr,
) -> std::io::Result<()> {
    let base = format!("http://{addr}");
    writeln!(
        out,
        "Meridian {} (DynamoDB-compatible)",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(out, "  Port:     {}", addr.port())?;
    let storage = match &node.data_dir {
        Some(dir) => format!("on disk in {}", dir.display()),
        None => "in memory".to_owned(),
    };
    writeln!(out, "  Storage:  {storage}")?;
    let shape = match &node.cluster {
        Some(cluster) => format!(
            "node {} of {} (peer listener {})",
            node.node_id,
            cluster.members.len(),
            cluster.peer_addr
        ),
        None => "single node".to_owned(),
    };
    writeln!(out, "  Region:   {} ({shape})", node.region)?;
    if let Some(replication) = &node.replication {
        let others: Vec<&str> = replication.remotes.keys().map(String::as_str).collect();
        writeln!(out, "  Replicas: {}", others.join(", "))?;
    }
    writeln!(out, "  CORS:     {}", api.cors)?;
    urls(out, &base, addr.ip().is_loopback() || api.console_bind_any)
}

/// The console, metrics and health lines for the API port at `base`.
pub fn urls(out: &mut impl Write, base: &str, console: bool) -> std::io::Result<()> {
    if console {
        writeln!(out, "  Console:  {base}{}", api::CONSOLE_PATH)?;
    } else {
        writeln!(
            out,
            "  Console:  off (not on loopback; --console-bind-any serves it)"
        )?;
    }
    writeln!(out, "  Metrics:  {base}{}", metrics::METRICS_PATH)?;
    writeln!(out, "  Health:   {base}{}", api::HEALTH_PATH)
}
