//! The replicator of one node: shipping loops, backfill and anti-entropy on the region
//! leader, the receiving side of the cross-region protocol on every node, and the control
//! operations the global-tables API calls.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use model::limits::{REPLICATION_BATCH_BYTES_MAX, REPLICATION_BATCH_CHANGES_MAX};
use model::size::item_size;
use model::{Replica, ReplicaStatus, TableMeta, TableStatus};
use storage::Space;
use table::{Command, Outcome, RemoteBatch, RemoteChange, ReplicaSet, ReplicateResult};

use crate::client::RegionClient;
use crate::digest::{bucket_of, table_digest, Digest};
use crate::metrics::{Metrics, PairFigures};
use crate::region::LocalRegion;
use crate::wire::{self, paths, EnsureTable};

mod control;
mod maintain;
mod receive;
mod ship;

/// The global tables version Meridian implements for UpdateTable's ReplicaUpdates.
pub const GLOBAL_TABLE_VERSION: &str = "2019.11.21";

/// How the replicator runs.
#[derive(Debug, Clone)]
pub struct ReplicationSettings {
    /// This region's name.
    pub region: String,
    /// The other regions: name → peer addresses of their nodes.
    pub remotes: BTreeMap<String, Vec<String>>,
    /// The cluster secret every cross-region request carries.
    pub secret: String,
    /// Deadline of one cross-region call.
    pub request_timeout_ms: u64,
    /// First retry delay after a failure; doubles (with jitter) up to `backoff_max_ms`.
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    /// Period of anti-entropy rounds (0: never).
    pub anti_entropy_interval_ms: u64,
    /// Dev mode: every table created becomes global across all configured regions.
    pub auto_global: bool,
    /// This node's chaos state: paused tables, cut or slow links between regions.
    pub chaos: chaos::NodeChaos,
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        ReplicationSettings {
            region: String::new(),
            remotes: BTreeMap::new(),
            secret: String::new(),
            request_timeout_ms: 5_000,
            backoff_min_ms: 50,
            backoff_max_ms: 5_000,
            anti_entropy_interval_ms: 30_000,
            auto_global: false,
            chaos: chaos::NodeChaos::quiet("", 0),
        }
    }
}

/// Why a control operation (adding or removing replicas) was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ControlError {
    /// The request is invalid (unknown region, already a replica, ...).
    #[error("{0}")]
    Validation(String),
    /// No such table.
    #[error("{0}")]
    NotFound(String),
    /// The region could not commit the change now; retry.
    #[error("{0}")]
    Unavailable(String),
}

/// What [`paths::APPLY`] carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ApplyRequest {
    batch: RemoteBatch,
    /// Live changes from the change log (counted in latency), as opposed to backfill and
    /// anti-entropy copies of older versions.
    live: bool,
}

/// A node's replicator. Cheap to clone.
#[derive(Clone)]
pub struct Replicator {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ReplicationSettings,
    client: RegionClient,
    metrics: Metrics,
    region: OnceLock<Weak<dyn LocalRegion>>,
    /// Bumped after every applied entry, to wake the shipping loops.
    changed: watch::Sender<u64>,
    stopped: watch::Sender<bool>,
    /// Backfills under way: (table, destination).
    backfills: Mutex<BTreeSet<(String, String)>>,
    /// Records not yet acknowledged, per (destination, table).
    pending: Mutex<BTreeMap<(String, String), u64>>,
    /// The last change-log record each destination has confirmed, per (destination, table
    /// id), ahead of the durable cursor while its acknowledgement commits.
    delivered: Mutex<BTreeMap<(String, uuid::Uuid), u64>>,
    /// Per (destination, table id): the origin watermark the destination has reached (every
    /// local write up to it delivered), the watermark last told to it, and when.
    watermarks: Mutex<BTreeMap<(String, uuid::Uuid), WatermarkState>>,
}

/// What the shipping loop knows about one (destination, table)'s watermarks.
#[derive(Debug, Clone, Default)]
struct WatermarkState {
    origin: model::Timestamp,
    told: Option<table::watermark::PeerWatermark>,
    told_at: Option<Instant>,
}

impl std::fmt::Debug for Replicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicator")
            .field("region", &self.inner.settings.region)
            .field("remotes", &self.inner.client)
            .finish_non_exhaustive()
    }
}

/// A failure of one step, retried with backoff.
type StepResult<T> = Result<T, String>;

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Replicator {
    /// A replicator for `settings`; it does nothing until [`Replicator::start`].
    pub fn new(settings: ReplicationSettings) -> Replicator {
        let client = RegionClient::new(
            &settings.remotes,
            &settings.secret,
            Duration::from_millis(settings.request_timeout_ms),
            settings.chaos.clone(),
        );
        Replicator {
            inner: Arc::new(Inner {
                settings,
                client,
                metrics: Metrics::default(),
                region: OnceLock::new(),
                changed: watch::channel(0).0,
                stopped: watch::channel(false).0,
                backfills: Mutex::new(BTreeSet::new()),
                pending: Mutex::new(BTreeMap::new()),
                delivered: Mutex::new(BTreeMap::new()),
                watermarks: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Attaches the local region and starts the shipping loops (one per remote region) and the
    /// maintenance loop (backfills, anti-entropy). They do work only while this node leads.
    pub fn start(&self, region: Weak<dyn LocalRegion>) {
        if self.inner.region.set(region).is_err() {
            return;
        }
        for destination in self.inner.client.regions() {
            let this = self.clone();
            let destination = destination.to_owned();
            tokio::spawn(async move { this.ship_loop(destination).await });
        }
        let this = self.clone();
        tokio::spawn(async move { this.maintenance_loop().await });
    }

    /// Stops every loop.
    pub fn stop(&self) {
        self.inner.stopped.send_replace(true);
    }

    /// Wakes the shipping loops: call after every applied log entry.
    pub fn notify_applied(&self) {
        self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// This region's name.
    pub fn region_name(&self) -> &str {
        &self.inner.settings.region
    }

    /// Every region of the cluster, this one included, sorted.
    pub fn regions(&self) -> Vec<String> {
        let mut all: BTreeSet<String> = self.inner.client.regions().map(str::to_owned).collect();
        all.insert(self.inner.settings.region.clone());
        all.into_iter().collect()
    }

    /// Whether `region` is this one or a configured remote.
    pub fn knows(&self, region: &str) -> bool {
        region == self.inner.settings.region || self.inner.client.knows(region)
    }

    /// Dev mode: whether new tables become global across every region.
    pub fn auto_global(&self) -> bool {
        self.inner.settings.auto_global
    }

    /// The replication figures.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Adds this replicator's families (per region pair: pending, lag, conflicts, latency;
    /// anti-entropy; tombstones held) to `registry`, labelled with this `region` and `node`,
    /// until the registration is dropped.
    pub fn register_metrics(
        &self,
        registry: &metrics::Metrics,
        node: u64,
    ) -> Result<metrics::Registration, metrics::MetricsError> {
        let this = self.clone();
        let node = node.to_string();
        let collector = metrics::Sampled::new(
            crate::metrics::FAMILIES,
            &[("region", &self.inner.settings.region), ("node", &node)],
            move |sample| {
                this.refresh_pending();
                this.inner.metrics.sample(sample);
                for (table, n) in this.tombstones_held() {
                    sample.set("meridian_tombstones_held", &[&table], n as f64);
                }
            },
        )?;
        registry.register(collector)
    }

    /// Status-page lines.
    pub fn status(&self) -> String {
        self.refresh_pending();
        let mut text = self.inner.metrics.status();
        for (table, n) in self.tombstones_held() {
            text.push_str(&format!("tombstones table={table} held={n}\n"));
        }
        text
    }

    /// Every region pair's figures, with pending counts refreshed (for the web console).
    pub fn figures(&self) -> BTreeMap<(String, String), PairFigures> {
        self.refresh_pending();
        self.inner.metrics.snapshot()
    }

    /// Tombstones held per global table (a scan: for status pages and scrapes only).
    pub fn tombstones_held(&self) -> Vec<(String, usize)> {
        let Some(region) = self.local() else {
            return Vec::new();
        };
        let store = region.store();
        let mut out = Vec::new();
        for name in table::list_tables(store).unwrap_or_default() {
            if let Ok(Some(meta)) = table::load_table(store, &name) {
                if meta.is_global() {
                    let n = table::watermark::tombstone_count(store, &meta).unwrap_or(0);
                    out.push((meta.name.clone(), n));
                }
            }
        }
        out
    }

    fn refresh_pending(&self) {
        let pending = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut per_destination: BTreeMap<&str, u64> = BTreeMap::new();
        for ((destination, _), n) in pending.iter() {
            *per_destination.entry(destination).or_default() += n;
        }
        for (destination, n) in per_destination {
            self.inner
                .metrics
                .update(&self.inner.settings.region, destination, |p| p.pending = n);
        }
    }

    fn local(&self) -> Option<Arc<dyn LocalRegion>> {
        self.inner.region.get().and_then(Weak::upgrade)
    }

    fn stopped(&self) -> bool {
        *self.inner.stopped.borrow()
    }

    fn me(&self) -> &str {
        &self.inner.settings.region
    }

    /// Whether a chaos fault pauses shipping `table` from here to `destination`.
    fn paused(&self, table: &str, destination: &str) -> bool {
        self.inner
            .settings
            .chaos
            .chaos
            .replication_paused(table, self.me(), destination)
    }
}

/// The least time between two watermark reports to one destination for one table.
const WATERMARK_INTERVAL_MS: u64 = 500;
/// How long an idle shipping loop waits for news before looking again.
const IDLE_POLL_MS: u64 = 250;
/// Period of the maintenance loop (backfills start, anti-entropy checks its interval).
const MAINTENANCE_PERIOD_MS: u64 = 500;
/// Tries of a background control call (telling replicas about a removal).
const CONTROL_RETRIES_MAX: usize = 40;

async fn propose(region: &dyn LocalRegion, command: &Command) -> StepResult<Outcome> {
    let payload = command.encode().map_err(text)?;
    let bytes = region.propose(payload).await?;
    Outcome::decode(&bytes).map_err(text)
}

fn expect_table(outcome: Outcome) -> StepResult<TableMeta> {
    match outcome {
        Outcome::Table(meta) => Ok(meta),
        Outcome::Rejected(rejection) => Err(format!("{rejection:?}")),
        other => Err(format!("unexpected outcome {other:?}")),
    }
}

/// Jittered exponential backoff.
struct Backoff {
    min: u64,
    max: u64,
    current: u64,
}

impl Backoff {
    fn new(settings: &ReplicationSettings) -> Backoff {
        Backoff {
            min: settings.backoff_min_ms.max(1),
            max: settings.backoff_max_ms.max(settings.backoff_min_ms.max(1)),
            current: settings.backoff_min_ms.max(1),
        }
    }

    fn reset(&mut self) {
        self.current = self.min;
    }

    /// The next delay: uniformly random in [current/2, current], then the base doubles.
    fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = base / 2;
        let jitter = (uuid::Uuid::new_v4().as_u128() as u64) % (base - half + 1);
        Duration::from_millis(half + jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let settings = ReplicationSettings {
            backoff_min_ms: 100,
            backoff_max_ms: 1_000,
            ..ReplicationSettings::default()
        };
        let mut backoff = Backoff::new(&settings);
        let delays: Vec<u64> = (0..8)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert!((50..=100).contains(&delays[0]), "{delays:?}");
        assert!((100..=200).contains(&delays[1]), "{delays:?}");
        assert!(
            delays[6..].iter().all(|d| (500..=1_000).contains(d)),
            "{delays:?}"
        );
        backoff.reset();
        assert!(backoff.next_delay().as_millis() <= 100);
    }
}
