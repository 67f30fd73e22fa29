//! `meridian-jepsen`: runs workloads against real `meridian` processes under nemeses, checks
//! the histories, and writes a markdown report. Exits non-zero when any checker fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use meridian_jepsen::nemesis::Schedule;
use meridian_jepsen::run::{run_one, RunConfig};
use meridian_jepsen::{plan, report};

#[derive(Debug, Parser)]
#[command(
    name = "meridian-jepsen",
    about = "Fault runs against real meridian processes"
)]
struct Args {
    /// A nemesis, or `all` (every nemesis that fits the workload).
    #[arg(long, default_value = "all")]
    nemesis: String,
    /// A workload (register, set, cross-region), or `all`.
    #[arg(long, default_value = "all")]
    workload: String,
    /// Seconds of client load per run.
    #[arg(long, default_value_t = 60)]
    duration_s: u64,
    /// Runs per (workload, nemesis) pair.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Cross-region: no deletes (by default clients also delete distinct items through
    /// another region, and a delete that comes back fails the run).
    #[arg(long = "no-deletes")]
    no_deletes: bool,
    /// Seed of the first run (run r uses seed + r).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Healthy seconds before each fault.
    #[arg(long, default_value_t = 10)]
    healthy_s: u64,
    /// Seconds each fault lasts.
    #[arg(long, default_value_t = 10)]
    fault_s: u64,
    /// Directory for histories, nemesis logs, configs and node logs.
    #[arg(long, default_value = "target/jepsen")]
    out: PathBuf,
    /// The markdown report.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Only check a saved history (history.jsonl) with the checkers that fit its operations,
    /// and exit non-zero if one fails.
    #[arg(long, value_name = "HISTORY")]
    check: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("meridian-jepsen: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    if let Some(path) = &args.check {
        let ops = meridian_jepsen::history::load(path)?;
        let (text, passed) = meridian_jepsen::check_saved(&ops);
        println!("{text}");
        return Ok(passed);
    }
    let pairs = plan(&args.workload, &args.nemesis)?;
    std::fs::create_dir_all(&args.out)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let mut results = Vec::new();
    // Runs outer, pairs inner: a long run cut short still covers every pair.
    for r in 0..args.runs {
        for &(workload, nemesis) in &pairs {
            let cfg = RunConfig {
                workload,
                nemesis,
                run: r,
                seed: args.seed + r as u64,
                duration: Duration::from_secs(args.duration_s),
                schedule: Schedule {
                    healthy: Duration::from_secs(args.healthy_s),
                    fault: Duration::from_secs(args.fault_s),
                },
                out: args.out.clone(),
                deletes: !args.no_deletes,
            };
            eprintln!(
                "--- {} / {} run {} (seed {})",
                workload.name(),
                nemesis.name(),
                r,
                cfg.seed
            );
            let result = run_one(&cfg).await?;
            eprintln!("{}", one_line(&result));
            results.push(result);
            if let Some(path) = &args.report {
                std::fs::write(path, report::markdown(&results, &command))?;
            }
        }
    }
    let text = report::markdown(&results, &command);
    match &args.report {
        Some(path) => {
            std::fs::write(path, &text)?;
            eprintln!("report: {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(results.iter().all(|r| r.passed()))
}

fn one_line(r: &meridian_jepsen::run::RunResult) -> String {
    format!(
        "    ok {} fail {} info {} ({:.1} ok/s), faults {}/{}, linearizability {}, lost {}, {} → {}",
        r.ok,
        r.fail,
        r.info,
        r.throughput,
        r.faults.0,
        r.faults.1,
        r.linearizability
            .as_ref()
            .map_or("n/a".into(), |l| l.verdict()),
        r.lost
            .as_ref()
            .map_or("n/a".into(), |l| format!("{}/{}", l.lost.len(), l.acknowledged)),
        r.convergence.verdict(),
        if r.passed() { "pass" } else { "FAIL" }
    )
}
