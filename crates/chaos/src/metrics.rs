//! Chaos metrics, through `prometheus-client`: faults active and firings, per kind.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::fault::FaultKind;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

fn label(kind: FaultKind) -> KindLabel {
    KindLabel {
        kind: kind.name().to_owned(),
    }
}

/// Counters kept between scrapes.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    fired: Family<KindLabel, Counter>,
}

impl Metrics {
    pub(crate) fn fired(&self, kind: FaultKind) {
        self.fired.get_or_create(&label(kind)).inc();
    }

    /// Prometheus text (the OpenMetrics `# EOF` trailer left off, so that it can be joined
    /// with other families), with `active[i]` faults of kind `FaultKind::ALL[i]`.
    pub(crate) fn render(&self, active: &[i64; FaultKind::ALL.len()]) -> String {
        let gauge: Family<KindLabel, Gauge> = Family::default();
        for (kind, n) in FaultKind::ALL.iter().zip(active) {
            gauge.get_or_create(&label(*kind)).set(*n);
            // Every kind appears, so a dashboard sees 0 rather than nothing.
            let _ = self.fired.get_or_create(&label(*kind));
        }
        let mut registry = Registry::default();
        registry.register(
            "meridian_chaos_faults_active",
            "Chaos faults active now, by kind",
            gauge,
        );
        registry.register(
            "meridian_chaos_fired",
            "Times a chaos fault acted on a request, a message or a shipping round, by kind",
            self.fired.clone(),
        );
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            return String::new();
        }
        out.lines()
            .filter(|l| *l != "# EOF")
            .map(|l| format!("{l}\n"))
            .collect()
    }
}
