//! The workers of one (operation, concurrency) cell.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::connection::{Connection, Target};
use crate::requests::{KeyPicker, Plan};
use crate::Op;

/// Pause before reconnecting after a transport error, so a dead endpoint is not spun on.
const RECONNECT_PAUSE_MS: u64 = 10;

/// What the workers of one cell measured.
#[derive(Debug, Default)]
pub(crate) struct CellOutcome {
    /// Latency of every successful (HTTP 200) request, in microseconds, sorted.
    pub(crate) latencies_us: Vec<u32>,
    /// Non-200 replies plus transport errors.
    pub(crate) errors: u64,
    /// Wall time from the first worker's start to the last worker's end.
    pub(crate) elapsed: Duration,
}

/// Runs `connections` workers of `op` for `duration` and merges what they measured.
pub(crate) async fn run_cell(
    target: &Target,
    plan: &Plan,
    op: Op,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<CellOutcome> {
    // Connect everyone first so that connection set-up is not part of the measurement.
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(Connection::open(target).await?);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for (id, conn) in opened.into_iter().enumerate() {
        let target = target.clone();
        let plan = plan.clone();
        tasks.push(tokio::spawn(worker(id, conn, target, plan, op, deadline)));
    }
    let mut outcome = CellOutcome::default();
    for task in tasks {
        let (latencies, errors) = task.await.context("bench worker panicked")?;
        outcome.latencies_us.extend(latencies);
        outcome.errors += errors;
    }
    outcome.elapsed = started.elapsed();
    outcome.latencies_us.sort_unstable();
    Ok(outcome)
}

/// One worker: requests back to back on its own connection until `deadline`.
async fn worker(
    id: usize,
    conn: Connection,
    target: Target,
    plan: Plan,
    op: Op,
    deadline: Instant,
) -> (Vec<u32>, u64) {
    let mut conn = Some(conn);
    let mut picker = KeyPicker::new(id as u64 + 1);
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut n = 0u64;
    while Instant::now() < deadline {
        let mut current = match conn.take() {
            Some(c) => c,
            None => match Connection::open(&target).await {
                Ok(c) => c,
                Err(_) => {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(RECONNECT_PAUSE_MS)).await;
                    continue;
                }
            },
        };
        let (operation, body) = plan.request(op, id, n, picker.next());
        n += 1;
        let sent = Instant::now();
        match current.call(operation, body).await {
            Ok(reply) => {
                if reply.status == 200 {
                    let micros = sent.elapsed().as_micros();
                    latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                } else {
                    errors += 1;
                }
                conn = Some(current);
            }
            Err(_) => {
                // The connection is unusable after a transport error; open a new one.
                errors += 1;
            }
        }
    }
    (latencies, errors)
}
