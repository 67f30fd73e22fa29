//! Logging: `MERIDIAN_LOG` (an `EnvFilter` directive, default `warn`) to stderr, without the
//! errors openraft logs for conditions Meridian expects and handles.
//!
//! openraft 0.9.25 logs at ERROR every failed replication RPC to a member that is down
//! (twice a second per member), every heartbeat that times out while confirming leadership
//! for a ConsistentRead, and every vote request that gets no answer. With one follower down,
//! that is thousands of ERROR lines an hour for a region that is working as designed (the
//! status page and metrics show the member as unreachable). Those call sites are dropped
//! unless `MERIDIAN_LOG` names openraft explicitly.

use tracing::Metadata;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

/// openraft 0.9.25 call sites (file suffix, line) that report expected, handled conditions.
const EXPECTED_OPENRAFT_ERRORS: [(&str, u32); 4] = [
    // replication: "RPCError" (a member is unreachable or slow; retried with backoff).
    ("src/replication/mod.rs", 284),
    // "timeout while confirming leadership for read request" (a quorum still confirmed it).
    ("src/core/raft_core.rs", 383),
    // A vote request that timed out, or failed, during an election.
    ("src/core/raft_core.rs", 1099),
    ("src/core/raft_core.rs", 1112),
];

fn expected_noise(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("openraft")
        && EXPECTED_OPENRAFT_ERRORS.iter().any(|(file, line)| {
            meta.line() == Some(*line) && meta.file().is_some_and(|f| f.ends_with(file))
        })
}

/// Installs the subscriber.
pub fn init() {
    let directive = std::env::var("MERIDIAN_LOG").unwrap_or_default();
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("warn"));
    let filter = if directive.is_empty() {
        EnvFilter::new("warn")
    } else {
        filter
    };
    let keep_all = directive.contains("openraft");
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter)
        .with_filter(filter_fn(move |meta| keep_all || !expected_noise(meta)));
    tracing_subscriber::registry().with(layer).init();
}
