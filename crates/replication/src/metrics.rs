//! Replication figures per region pair, for `/metrics` (Prometheus) and the status page.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds (ms) of the replication latency histogram's buckets.
const LATENCY_BUCKETS_MS: [u64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 60_000,
];

const PAIR: &[&str] = &["source", "destination"];

const fn family(
    name: &'static str,
    help: &'static str,
    kind: metrics::Kind,
    labels: &'static [&'static str],
) -> metrics::FamilySpec {
    metrics::FamilySpec {
        name,
        help,
        kind,
        labels,
    }
}

/// The replicator's families (sampled at scrape time; see `Replicator::register_metrics`).
pub(crate) const FAMILIES: &[metrics::FamilySpec] = &[
    family(
        "meridian_replication_batches_total",
        "Replication batches sent.",
        metrics::Kind::Counter,
        PAIR,
    ),
    family(
        "meridian_replication_changes_sent_total",
        "Item changes sent to other regions.",
        metrics::Kind::Counter,
        PAIR,
    ),
    family(
        "meridian_replication_retries_total",
        "Failed replication attempts, retried with backoff.",
        metrics::Kind::Counter,
        PAIR,
    ),
    family(
        "meridian_replication_pending",
        "Change-log records not yet acknowledged by the destination.",
        metrics::Kind::Gauge,
        PAIR,
    ),
    family(
        "meridian_replication_conflicts_total",
        "Remote writes that lost to a newer local version.",
        metrics::Kind::Counter,
        PAIR,
    ),
    family(
        "meridian_replication_applied_total",
        "Remote writes applied.",
        metrics::Kind::Counter,
        PAIR,
    ),
    family(
        "meridian_replication_lag_seconds",
        "Age of the oldest change not yet confirmed by the destination.",
        metrics::Kind::Gauge,
        PAIR,
    ),
    family(
        "meridian_replication_latency_seconds",
        "ReplicationLatency: from a write's timestamp to its apply in the destination.",
        metrics::Kind::Histogram,
        PAIR,
    ),
    family(
        "meridian_replica_differing_buckets",
        "Hash buckets that differed between this replica and another at the last anti-entropy comparison (0: identical).",
        metrics::Kind::Gauge,
        &["table", "replica"],
    ),
    family(
        "meridian_anti_entropy_rounds_total",
        "Anti-entropy rounds run.",
        metrics::Kind::Counter,
        &[],
    ),
    family(
        "meridian_anti_entropy_buckets_repaired_total",
        "Hash buckets repaired by anti-entropy.",
        metrics::Kind::Counter,
        &[],
    ),
    family(
        "meridian_tombstones_held",
        "Tombstones kept until every replica region is past them.",
        metrics::Kind::Gauge,
        &["table"],
    ),
];

/// Figures for one direction between two regions.
#[derive(Debug, Clone, Default)]
pub struct PairFigures {
    /// Batches sent (sender side).
    pub batches: u64,
    /// Item changes sent (sender side).
    pub changes_sent: u64,
    /// Failed attempts that will be retried (sender side).
    pub retries: u64,
    /// Change-log records not yet acknowledged by the destination (sender side).
    pub pending: u64,
    /// Remote changes that lost to a newer local version (receiver side).
    pub conflicts: u64,
    /// Remote changes applied (receiver side).
    pub applied: u64,
    /// Latency histogram (receiver side): counts per bucket of [`LATENCY_BUCKETS_MS`], plus
    /// overflow, the sum and the count.
    latency_counts: [u64; LATENCY_BUCKETS_MS.len() + 1],
    latency_sum_ms: u64,
    latency_count: u64,
    /// The latest observed latency, ms.
    pub last_latency_ms: u64,
    /// Sender side: how long the oldest change-log record not yet confirmed by the
    /// destination has waited, ms (0: nothing pending).
    pub lag_ms: u64,
}

impl PairFigures {
    fn observe_latency(&mut self, ms: u64) {
        let index = LATENCY_BUCKETS_MS
            .iter()
            .position(|&b| ms <= b)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        self.latency_counts[index] += 1;
        self.latency_sum_ms += ms;
        self.latency_count += 1;
        self.last_latency_ms = ms;
    }
}

/// Figures keyed by (source region, destination region).
#[derive(Debug, Default)]
pub struct Metrics {
    pairs: Mutex<BTreeMap<(String, String), PairFigures>>,
    /// Anti-entropy rounds and buckets repaired.
    anti_entropy: Mutex<(u64, u64)>,
    /// The last comparison of each (table, replica region): buckets that differed (0: the
    /// replicas were identical) and when, in Unix ms.
    comparisons: Mutex<BTreeMap<(String, String), (usize, i64)>>,
}

impl Metrics {
    /// Updates the figures of `source → destination`.
    pub fn update(&self, source: &str, destination: &str, f: impl FnOnce(&mut PairFigures)) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        f(pairs
            .entry((source.to_owned(), destination.to_owned()))
            .or_default());
    }

    /// Records replication latencies observed on arrival.
    pub fn observe_latencies(&self, source: &str, destination: &str, latencies_ms: &[u64]) {
        self.update(source, destination, |p| {
            for &ms in latencies_ms {
                p.observe_latency(ms);
            }
        });
    }

    /// Records an anti-entropy round that repaired `buckets` buckets.
    pub fn anti_entropy_round(&self, buckets: u64) {
        let mut ae = self.anti_entropy.lock().unwrap_or_else(|p| p.into_inner());
        ae.0 += 1;
        ae.1 += buckets;
    }

    /// Records the outcome of comparing `table` with its replica in `region`.
    pub fn compared(&self, table: &str, region: &str, differing: usize, at_ms: i64) {
        self.comparisons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((table.to_owned(), region.to_owned()), (differing, at_ms));
    }

    /// The last comparison of every (table, replica region): (differing buckets, Unix ms).
    pub fn comparisons(&self) -> BTreeMap<(String, String), (usize, i64)> {
        self.comparisons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A copy of every pair's figures.
    pub fn snapshot(&self) -> BTreeMap<(String, String), PairFigures> {
        self.pairs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets this replicator's series of [`FAMILIES`].
    pub(crate) fn sample(&self, sample: &metrics::Sample<'_>) {
        for ((src, dst), p) in self.snapshot() {
            let pair = [src.as_str(), dst.as_str()];
            sample.set(
                "meridian_replication_batches_total",
                &pair,
                p.batches as f64,
            );
            sample.set(
                "meridian_replication_changes_sent_total",
                &pair,
                p.changes_sent as f64,
            );
            sample.set(
                "meridian_replication_retries_total",
                &pair,
                p.retries as f64,
            );
            sample.set("meridian_replication_pending", &pair, p.pending as f64);
            sample.set(
                "meridian_replication_conflicts_total",
                &pair,
                p.conflicts as f64,
            );
            sample.set(
                "meridian_replication_applied_total",
                &pair,
                p.applied as f64,
            );
            sample.set(
                "meridian_replication_lag_seconds",
                &pair,
                p.lag_ms as f64 / 1000.0,
            );
            if p.latency_count > 0 {
                let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_MS
                    .iter()
                    .zip(p.latency_counts)
                    .map(|(bound, n)| (*bound as f64 / 1000.0, n))
                    .collect();
                sample.histogram(
                    "meridian_replication_latency_seconds",
                    &pair,
                    &buckets,
                    p.latency_count,
                    p.latency_sum_ms as f64 / 1000.0,
                );
            }
        }
        let (rounds, repaired) = *self.anti_entropy.lock().unwrap_or_else(|p| p.into_inner());
        for ((table, region), (differing, _)) in self.comparisons() {
            sample.set(
                "meridian_replica_differing_buckets",
                &[&table, &region],
                differing as f64,
            );
        }
        sample.set("meridian_anti_entropy_rounds_total", &[], rounds as f64);
        sample.set(
            "meridian_anti_entropy_buckets_repaired_total",
            &[],
            repaired as f64,
        );
    }

    /// `key=value` lines for the status page.
    pub fn status(&self) -> String {
        let mut out = String::new();
        for ((src, dst), p) in self.snapshot() {
            let mean = p.latency_sum_ms.checked_div(p.latency_count).unwrap_or(0);
            let _ = writeln!(
                out,
                "replication {src}->{dst} pending={} lag_ms={} batches={} sent={} retries={} applied={} conflicts={} latency_last_ms={} latency_mean_ms={mean}",
                p.pending, p.lag_ms, p.batches, p.changes_sent, p.retries, p.applied, p.conflicts, p.last_latency_ms
            );
        }
        let (rounds, repaired) = *self.anti_entropy.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            out,
            "anti_entropy rounds={rounds} buckets_repaired={repaired}"
        );
        for ((table, region), (differing, at_ms)) in self.comparisons() {
            let verdict = if differing == 0 {
                "identical"
            } else {
                "repaired"
            };
            let _ = writeln!(
                out,
                "anti_entropy table={table} replica={region} {verdict} differing_buckets={differing} compared_at_ms={at_ms}"
            );
        }
        out
    }
}
