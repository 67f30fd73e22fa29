//! The short fault run that `make test` includes: a few (workload, nemesis) pairs for 15 s
//! each against real processes, every checker applied. `make jepsen` is the long version.

use std::time::Duration;

use meridian_jepsen::nemesis::{Nemesis, Schedule};
use meridian_jepsen::report;
use meridian_jepsen::run::{run_one, RunConfig};
use meridian_jepsen::workload::Workload;

/// Seconds of load per pair: five pairs stay near 2 minutes with setup and checks.
const SHORT_RUN_S: u64 = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_short_fault_run_passes_every_checker() {
    if let Err(e) = meridian_tests::binary_path() {
        eprintln!("SKIPPED: no meridian binary to run against ({e:#})");
        return;
    }
    let pairs = [
        (Workload::Register, Nemesis::Kill),
        (Workload::Register, Nemesis::PartitionNode),
        (Workload::Set, Nemesis::Pause),
        (Workload::CrossRegion, Nemesis::PartitionRegion),
        (Workload::CrossRegion, Nemesis::PauseReplication),
    ];
    let out = tempfile::Builder::new()
        .prefix("meridian-jepsen-short-")
        .tempdir()
        .expect("output dir");
    let mut results = Vec::new();
    for (i, (workload, nemesis)) in pairs.into_iter().enumerate() {
        announce(&format!("--- {} / {}", workload.name(), nemesis.name()));
        let cfg = RunConfig {
            workload,
            nemesis,
            run: 0,
            seed: 1000 + i as u64,
            duration: Duration::from_secs(SHORT_RUN_S),
            schedule: Schedule {
                healthy: Duration::from_secs(4),
                fault: Duration::from_secs(5),
            },
            out: out.path().to_owned(),
            // The gating run keeps to the checks it always made; `make jepsen` adds the
            // cross-region deletes (issue 13) and their check.
            deletes: false,
        };
        results.push(run_one(&cfg).await.expect("run"));
    }
    let text = report::markdown(&results, "t10_short_fault_run_passes_every_checker");
    println!("{text}");
    if results.iter().any(|r| !r.passed()) {
        // Keep the histories for a look.
        let kept = out.keep();
        panic!("a checker failed; histories in {}\n{text}", kept.display());
    }
    for r in &results {
        assert!(
            r.ok > 0,
            "no acknowledged operation in {}/{}",
            r.workload,
            r.nemesis
        );
        assert_eq!(r.faults.0, r.faults.1, "a fault was not injected");
        assert!(
            r.faults.0 > 0,
            "no fault injected in {}/{}",
            r.workload,
            r.nemesis
        );
    }
}

fn announce(line: &str) {
    eprintln!("{line}");
}
