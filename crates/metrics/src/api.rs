//! The API's request families: requests, errors by `__type`, latency and consumed capacity,
//! per region, operation and table.

use prometheus::core::Collector;
use prometheus::{CounterVec, HistogramOpts, HistogramVec, IntCounterVec, Opts};

/// Upper bounds (seconds) of the request latency histogram.
const LATENCY_BUCKETS_SECONDS: [f64; 15] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// One answered request, as the API server saw it.
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord<'a> {
    /// The region that answered (`us-east-1`).
    pub region: &'a str,
    /// The operation (`PutItem`), or the name of the admin route.
    pub operation: &'a str,
    /// The table it named; empty when it named none or several.
    pub table: &'a str,
    /// The short `__type` of the error it got (`ValidationException`), if it failed.
    pub error: Option<&'a str>,
    /// From the request's arrival to its answer.
    pub seconds: f64,
    /// Read capacity units it consumed.
    pub read_units: f64,
    /// Write capacity units it consumed.
    pub write_units: f64,
}

/// The request families; cheap to clone (the clones share the series).
#[derive(Debug, Clone)]
pub struct ApiMetrics {
    requests: IntCounterVec,
    errors: IntCounterVec,
    latency: HistogramVec,
    read_units: CounterVec,
    write_units: CounterVec,
}

impl ApiMetrics {
    pub(crate) fn new() -> ApiMetrics {
        // Fixed, valid names and label sets: construction cannot fail.
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter")
        };
        let units = |name: &str, help: &str| {
            CounterVec::new(Opts::new(name, help), &["region", "operation", "table"])
                .expect("valid counter")
        };
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "meridian_request_duration_seconds",
                "Time from a request's arrival to its answer, by operation.",
            )
            .buckets(LATENCY_BUCKETS_SECONDS.to_vec()),
            &["region", "operation"],
        )
        .expect("valid histogram");
        ApiMetrics {
            requests: counter(
                "meridian_requests_total",
                "DynamoDB API requests answered, by operation and table.",
                &["region", "operation", "table"],
            ),
            errors: counter(
                "meridian_request_errors_total",
                "DynamoDB API requests answered with an error, by operation, table and the error's __type.",
                &["region", "operation", "table", "error"],
            ),
            latency,
            read_units: units(
                "meridian_consumed_read_capacity_units_total",
                "Read capacity units consumed, computed as DynamoDB bills them, by operation and table.",
            ),
            write_units: units(
                "meridian_consumed_write_capacity_units_total",
                "Write capacity units consumed, computed as DynamoDB bills them, by operation and table.",
            ),
        }
    }

    pub(crate) fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.errors.clone()),
            Box::new(self.latency.clone()),
            Box::new(self.read_units.clone()),
            Box::new(self.write_units.clone()),
        ]
    }

    /// Counts one answered request.
    pub fn record(&self, r: &RequestRecord<'_>) {
        let labels = [r.region, r.operation, r.table];
        if let Ok(c) = self.requests.get_metric_with_label_values(&labels) {
            c.inc();
        }
        if let Some(error) = r.error {
            let labels = [r.region, r.operation, r.table, error];
            if let Ok(c) = self.errors.get_metric_with_label_values(&labels) {
                c.inc();
            }
        }
        if let Ok(h) = self
            .latency
            .get_metric_with_label_values(&[r.region, r.operation])
        {
            h.observe(r.seconds);
        }
        if r.read_units > 0.0 {
            if let Ok(c) = self.read_units.get_metric_with_label_values(&labels) {
                c.inc_by(r.read_units);
            }
        }
        if r.write_units > 0.0 {
            if let Ok(c) = self.write_units.get_metric_with_label_values(&labels) {
                c.inc_by(r.write_units);
            }
        }
    }
}
