//! Chaos metrics: faults active and firings, per kind, sampled into the process's registry
//! (`meridian-metrics`) at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Weak;

use metrics::{FamilySpec, Kind, Sampled};

use crate::fault::FaultKind;
use crate::state::Chaos;

const FAMILIES: &[FamilySpec] = &[
    FamilySpec {
        name: "meridian_chaos_faults_active",
        help: "Chaos faults active now, by kind.",
        kind: Kind::Gauge,
        labels: &["kind"],
    },
    FamilySpec {
        name: "meridian_chaos_fired_total",
        help: "Times a chaos fault acted on a request, a message or a shipping round, by kind.",
        kind: Kind::Counter,
        labels: &["kind"],
    },
];

/// Firings per kind, kept between scrapes.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    fired: [AtomicU64; FaultKind::ALL.len()],
}

impl Metrics {
    pub(crate) fn fired(&self, kind: FaultKind) {
        if let Some(i) = FaultKind::ALL.iter().position(|k| *k == kind) {
            self.fired[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn fired_count(&self, i: usize) -> u64 {
        self.fired[i].load(Ordering::Relaxed)
    }
}

/// A collector of `chaos`'s families (every kind appears, so a dashboard sees 0 rather than
/// nothing). It holds the state weakly: once the state is gone it reports nothing.
pub(crate) fn collector(chaos: Weak<Chaos>) -> Result<Sampled, metrics::MetricsError> {
    Sampled::new(FAMILIES, &[], move |sample| {
        let Some(chaos) = chaos.upgrade() else {
            return;
        };
        let mut active = [0u32; FaultKind::ALL.len()];
        for view in chaos.list() {
            if let Some(i) = FaultKind::ALL.iter().position(|k| k.name() == view.kind) {
                active[i] += 1;
            }
        }
        for (i, kind) in FaultKind::ALL.iter().enumerate() {
            sample.set(
                "meridian_chaos_faults_active",
                &[kind.name()],
                f64::from(active[i]),
            );
            sample.set(
                "meridian_chaos_fired_total",
                &[kind.name()],
                chaos.metrics.fired_count(i) as f64,
            );
        }
    })
}
