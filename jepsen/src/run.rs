//! One run: start the topology, create the table, run the clients and the nemesis for the
//! run's duration, heal, wait for convergence, read the final state, check, save.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::checker::convergence::{self, ConvergenceReport, Sample};
use crate::checker::linearizable::CONDITIONAL_CHECK_FAILED;
use crate::checker::linearizable::{self, LinearizabilityReport};
use crate::checker::lost::{self, LostReport};
use crate::history::{self, Completion, Invocation, Outcome, Recorder};
use crate::nemesis::{self, Nemesis, NemesisEvent, Schedule};
use crate::rng::Rng;
use crate::workload::{self, cross_region, register, set, Endpoint, Workload};

/// Clients per node.
pub const CLIENTS_PER_NODE: usize = 2;
/// Longest wait for every replica's scan to agree after heal.
pub const CONVERGENCE_TIMEOUT_MS: u64 = 90_000;
/// A client's pause after an operation that failed for a reason other than its condition.
const ERROR_BACKOFF_MS: u64 = 100;
/// Pause between convergence samples.
const SAMPLE_INTERVAL_MS: u64 = 250;

/// What every client of a run shares.
#[derive(Debug, Clone)]
pub struct Shared {
    pub rec: Recorder,
    pub deadline: Instant,
    pub seed: u64,
    /// Number of clients (a process id moves on by this much after an `Info`).
    pub clients: usize,
    pub table: &'static str,
    /// See [`RunConfig::deletes`].
    pub deletes: bool,
    values: Arc<AtomicI64>,
    ops: Arc<AtomicU64>,
}

impl Shared {
    /// A value no other write of the run uses.
    pub fn next_value(&self) -> i64 {
        self.values.fetch_add(1, Ordering::Relaxed)
    }

    /// Records `done` for `inv`, then backs off briefly if the node did not answer normally
    /// (a client bound to a dead node would otherwise spin on refused connections). Returns
    /// true if the outcome was `Info` (the process must move on).
    pub async fn finish(&self, inv: Invocation, start_ns: u64, done: Completion) -> bool {
        let outcome = done.outcome;
        let rejected = done.error.as_deref() == Some(CONDITIONAL_CHECK_FAILED);
        self.rec.record(inv, start_ns, done);
        if outcome != Outcome::Ok && !rejected {
            tokio::time::sleep(Duration::from_millis(ERROR_BACKOFF_MS)).await;
        }
        outcome == Outcome::Info
    }

    /// Counts an operation; returns how many came before it.
    pub fn next_op(&self) -> u64 {
        self.ops.fetch_add(1, Ordering::Relaxed)
    }
}

/// One run's parameters.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub workload: Workload,
    pub nemesis: Nemesis,
    pub run: usize,
    pub seed: u64,
    pub duration: Duration,
    pub schedule: Schedule,
    /// The parent output directory; the run writes into `<out>/<workload>-<nemesis>-<run>`.
    pub out: PathBuf,
    /// Cross-region: also delete distinct items through another region (and check that no
    /// acknowledged delete comes back).
    pub deletes: bool,
}

/// One run's results.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub workload: &'static str,
    pub nemesis: &'static str,
    pub run: usize,
    pub seed: u64,
    pub duration_s: f64,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    /// Acknowledged operations per second.
    pub throughput: f64,
    pub linearizability: Option<LinearizabilityReport>,
    pub lost: Option<LostReport>,
    pub convergence: ConvergenceReport,
    /// Faults injected successfully / attempted.
    pub faults: (usize, usize),
    pub nemesis_errors: Vec<String>,
    /// Errors of the harness itself (setup, final reads).
    pub errors: Vec<String>,
    pub dir: PathBuf,
}

impl RunResult {
    /// True when every checker passed and the harness ran to the end.
    pub fn passed(&self) -> bool {
        self.errors.is_empty()
            && self.linearizability.as_ref().is_none_or(|l| l.passed())
            && self.lost.as_ref().is_none_or(|l| l.passed())
            && self.convergence.converged
            && self.nemesis_errors.is_empty()
    }
}

/// Runs one (workload, nemesis) pair once.
pub async fn run_one(cfg: &RunConfig) -> anyhow::Result<RunResult> {
    let dir = cfg.out.join(format!(
        "{}-{}-{}",
        cfg.workload.name(),
        cfg.nemesis.name(),
        cfg.run
    ));
    std::fs::create_dir_all(&dir)?;
    let mut db = cfg.workload.start_db(&dir).await?;
    let endpoints = workload::endpoints(&db);
    let table = cfg.workload.table();
    let replicas = cfg
        .workload
        .multi_region()
        .then(|| db.regions[1..].join(","));
    workload::create_table(&endpoints[0].client, table, replicas.as_deref()).await?;
    let setup_deadline = Instant::now() + Duration::from_secs(60);
    for ep in &endpoints[1..] {
        workload::wait_active(&ep.client, table, setup_deadline).await?;
    }

    let clients = endpoints.len() * CLIENTS_PER_NODE;
    let rec = Recorder::new();
    let started = Instant::now();
    let shared = Shared {
        rec: rec.clone(),
        deadline: started + cfg.duration,
        seed: cfg.seed,
        clients,
        table,
        deletes: cfg.deletes,
        values: Arc::new(AtomicI64::new(1)),
        ops: Arc::default(),
    };
    let mut tasks = Vec::new();
    for slot in 0..clients {
        let (eps, sh) = (endpoints.clone(), shared.clone());
        tasks.push(match cfg.workload {
            Workload::Register => tokio::spawn(register::client_loop(slot, eps, sh)),
            Workload::Set => tokio::spawn(set::client_loop(slot, eps, sh)),
            Workload::CrossRegion => tokio::spawn(cross_region::client_loop(slot, eps, sh)),
        });
    }
    let mut rng = Rng::new(cfg.seed, u64::MAX);
    let clock = rec.clone();
    let now_ns = move || clock.now_ns();
    let events: Vec<NemesisEvent> = nemesis::run(
        cfg.nemesis,
        &mut db,
        table,
        cfg.schedule,
        shared.deadline,
        &mut rng,
        &now_ns,
    )
    .await;
    for t in tasks {
        let _ = t.await;
    }
    let workload_s = started.elapsed().as_secs_f64();

    let mut errors = Vec::new();
    let samples = sample_convergence(&endpoints, table).await;
    let conv = convergence::check(&samples);
    match cfg.workload {
        Workload::Register => register::final_reads(&endpoints, &shared).await,
        Workload::Set => set::final_reads(&endpoints, &shared).await,
        Workload::CrossRegion => {
            if let Err(e) = cross_region::final_reads(&endpoints, &shared).await {
                errors.push(format!("final reads: {e:#}"));
            }
        }
    }
    db.shutdown();

    let ops = rec.ops();
    history::save(&dir.join("history.jsonl"), &ops)?;
    save_json_lines(&dir.join("nemesis.jsonl"), &events)?;
    let (ok, fail, info) = history::outcome_counts(&ops);
    let linearizability = (cfg.workload == Workload::Register).then(|| linearizable::check(&ops));
    let lost = match cfg.workload {
        Workload::Register => None,
        Workload::Set => Some(lost::check_sets(&ops)),
        Workload::CrossRegion => Some(lost::check_cross_region(&ops)),
    };
    let starts: Vec<&NemesisEvent> = events.iter().filter(|e| e.event == "start").collect();
    let nemesis_errors = events
        .iter()
        .filter(|e| !e.ok)
        .map(|e| format!("{} {}: {}", e.event, e.nemesis, e.detail))
        .collect();
    let result = RunResult {
        workload: cfg.workload.name(),
        nemesis: cfg.nemesis.name(),
        run: cfg.run,
        seed: cfg.seed,
        duration_s: workload_s,
        ok,
        fail,
        info,
        throughput: ok as f64 / workload_s.max(0.001),
        linearizability,
        lost,
        convergence: conv,
        faults: (starts.iter().filter(|e| e.ok).count(), starts.len()),
        nemesis_errors,
        errors,
        dir: dir.clone(),
    };
    std::fs::write(
        dir.join("result.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    Ok(result)
}

/// Samples every node's consistent full scan until two samples in a row are identical
/// everywhere, or the timeout.
async fn sample_convergence(endpoints: &[Endpoint], table: &str) -> Vec<Sample> {
    let healed = Instant::now();
    let deadline = healed + Duration::from_millis(CONVERGENCE_TIMEOUT_MS);
    let mut samples: Vec<Sample> = Vec::new();
    loop {
        let at_ms = healed.elapsed().as_millis() as u64;
        let mut scans = Vec::new();
        for ep in endpoints {
            scans.push(meridian_tests::scan_all(&ep.client, table).await.ok());
        }
        samples.push(Sample { at_ms, scans });
        let n = samples.len();
        if n >= 2
            && convergence::check(&samples[n - 2..]).converged
            && samples[n - 2].scans == samples[n - 1].scans
        {
            return samples;
        }
        if Instant::now() > deadline {
            return samples;
        }
        tokio::time::sleep(Duration::from_millis(SAMPLE_INTERVAL_MS)).await;
    }
}

fn save_json_lines<T: Serialize>(path: &Path, rows: &[T]) -> anyhow::Result<()> {
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row)?);
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}
