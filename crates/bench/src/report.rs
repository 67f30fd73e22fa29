//! Turning measurements into the text table and the JSON document.

use std::fmt::Write as _;

use crate::worker::CellOutcome;
use crate::{BenchArgs, Op};

/// The figures of one (operation, concurrency) cell.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunResult {
    /// `--label`, naming the system under test.
    pub label: Option<String>,
    /// The operation driven.
    pub op: Op,
    /// Concurrent workers, one connection each.
    pub connections: usize,
    /// Successful requests.
    pub requests: u64,
    /// Successful requests per second of wall time.
    pub requests_per_sec: f64,
    /// Median latency of successful requests, microseconds.
    pub p50_us: u32,
    /// 99th percentile latency of successful requests, microseconds.
    pub p99_us: u32,
    /// Slowest successful request, microseconds.
    pub max_us: u32,
    /// Failed requests (non-200 or transport error).
    pub errors: u64,
}

impl RunResult {
    pub(crate) fn from_cell(
        label: Option<String>,
        op: Op,
        connections: usize,
        cell: CellOutcome,
    ) -> RunResult {
        let requests = cell.latencies_us.len() as u64;
        let secs = cell.elapsed.as_secs_f64().max(f64::EPSILON);
        RunResult {
            label,
            op,
            connections,
            requests,
            requests_per_sec: requests as f64 / secs,
            p50_us: percentile(&cell.latencies_us, 50),
            p99_us: percentile(&cell.latencies_us, 99),
            max_us: cell.latencies_us.last().copied().unwrap_or(0),
            errors: cell.errors,
        }
    }
}

/// The `pct`th percentile of sorted samples (nearest rank), 0 when there are none.
fn percentile(sorted: &[u32], pct: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The aligned text table, one row per cell.
pub(crate) fn to_table(results: &[RunResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:<13} {:>5} {:>12} {:>9} {:>9} {:>9} {:>7}",
        "label", "op", "conns", "req/s", "p50_us", "p99_us", "max_us", "errors"
    );
    for r in results {
        let _ = writeln!(
            out,
            "{:<20} {:<13} {:>5} {:>12.0} {:>9} {:>9} {:>9} {:>7}",
            r.label.as_deref().unwrap_or("-"),
            r.op.name(),
            r.connections,
            r.requests_per_sec,
            r.p50_us,
            r.p99_us,
            r.max_us,
            r.errors
        );
    }
    out
}

/// One JSON document: the run's parameters and every cell's figures.
pub(crate) fn to_json(args: &BenchArgs, results: &[RunResult]) -> anyhow::Result<String> {
    let document = serde_json::json!({
        "label": args.label,
        "endpoint": args.endpoint,
        "duration_secs": args.duration_secs,
        "value_bytes": args.value_bytes,
        "results": results,
    });
    Ok(serde_json::to_string(&document)?)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentile_uses_nearest_rank() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50), 50);
        assert_eq!(percentile(&samples, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
    }
}
