//! Meridian's metrics: one [`Metrics`] registry per process, on the `prometheus` crate, which
//! the API port and every peer listener serve at `/metrics` in the Prometheus text format.
//!
//! Two kinds of families live in it:
//! - the API's request families ([`ApiMetrics`]), counted as requests are answered;
//! - figures a layer already keeps (Raft, storage, replication, chaos), read at scrape time
//!   by a [`Sampled`] collector the layer registers, so the hot paths pay nothing extra.
//!
//! Node-scoped collectors carry the constant labels `region` and `node`, so the nodes of a
//! `meridian dev` lab, which share one process and one registry, stay apart.

mod api;
mod sampled;

use std::fmt;

pub use api::{ApiMetrics, RequestRecord};
pub use prometheus;
pub use sampled::{FamilySpec, Kind, Sample, Sampled};

/// The path metrics are served at, on the API port and on the peer listener.
pub const METRICS_PATH: &str = "/metrics";

/// The content type of the exposition (the Prometheus text format, version 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What can go wrong registering a collector.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The registry refused the collector (a duplicate series, an invalid name).
    #[error("cannot register metrics: {0}")]
    Register(#[from] prometheus::Error),
}

/// The process's registry. Cheap to clone (the clones share it).
#[derive(Clone)]
pub struct Metrics {
    registry: prometheus::Registry,
    api: ApiMetrics,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry holding the API's request families and `meridian_build_info`.
    pub fn new() -> Metrics {
        let registry = prometheus::Registry::new();
        let api = ApiMetrics::new();
        for collector in api.collectors() {
            // The names are fixed and distinct: registering them in a fresh registry
            // cannot fail.
            if let Err(e) = registry.register(collector) {
                debug_assert!(false, "api metrics: {e}");
            }
        }
        let info = prometheus::IntGauge::with_opts(
            prometheus::Opts::new(
                "meridian_build_info",
                "Always 1; the labels name the running Meridian version.",
            )
            .const_label("version", env!("CARGO_PKG_VERSION")),
        );
        if let Ok(info) = info {
            info.set(1);
            let _ = registry.register(Box::new(info));
        }
        Metrics { registry, api }
    }

    /// The API's request families.
    pub fn api(&self) -> &ApiMetrics {
        &self.api
    }

    /// Adds a collector until the returned [`Registration`] is dropped (a node that stops,
    /// as `meridian dev`'s `kill` does, takes its series with it).
    pub fn register<C>(&self, collector: C) -> Result<Registration, MetricsError>
    where
        C: prometheus::core::Collector + Clone + 'static,
    {
        self.registry.register(Box::new(collector.clone()))?;
        Ok(Registration {
            registry: self.registry.clone(),
            collector: Some(Box::new(collector)),
        })
    }

    /// The exposition: every family, sorted by name, in the text format.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        let mut out = String::new();
        if let Err(e) = prometheus::TextEncoder::new().encode_utf8(&families, &mut out) {
            // Only a malformed family fails to encode; say so in the exposition itself.
            out.push_str(&format!("# meridian: metrics could not be encoded: {e}\n"));
        }
        out
    }
}

/// A collector's place in the registry; dropping it unregisters the collector.
pub struct Registration {
    registry: prometheus::Registry,
    collector: Option<Box<dyn prometheus::core::Collector>>,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").finish_non_exhaustive()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(collector) = self.collector.take() {
            let _ = self.registry.unregister(collector);
        }
    }
}

#[cfg(test)]
mod tests;
