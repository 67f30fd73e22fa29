//! Meridian's fault-testing harness in Jepsen's shape: real `meridian serve --config`
//! processes on loopback, clients using the AWS SDK for Rust driven by a seeded generator,
//! recorded histories, nemeses (SIGKILL, SIGSTOP, and `meridian chaos` for partitions, clock
//! skew and replication pauses) and checkers that can fail (linearizability per key, no lost
//! acknowledged writes, convergence after heal).
//!
//! It talks to Meridian only as a user does (the SDK, the `meridian` CLI, the peer status
//! page): it must not depend on any Meridian crate, only on the end-to-end harness
//! `meridian-tests`.

pub mod checker;
pub mod client;
pub mod db;
pub mod history;
pub mod nemesis;
pub mod report;
pub mod rng;
pub mod run;
pub mod workload;

use nemesis::Nemesis;
use workload::Workload;

/// The (workload, nemesis) pairs `--workload W --nemesis N` names; `all` on either side takes
/// every one that fits (partition-node only on one region, partition-region and
/// pause-replication only across regions).
pub fn plan(workload: &str, nemesis: &str) -> anyhow::Result<Vec<(Workload, Nemesis)>> {
    use clap::ValueEnum as _;
    let workloads: Vec<Workload> = if workload == "all" {
        Workload::ALL.to_vec()
    } else {
        vec![Workload::from_str(workload, true).map_err(|e| anyhow::anyhow!("--workload: {e}"))?]
    };
    let nemeses: Vec<Nemesis> = if nemesis == "all" {
        Nemesis::ALL.to_vec()
    } else {
        vec![Nemesis::from_str(nemesis, true).map_err(|e| anyhow::anyhow!("--nemesis: {e}"))?]
    };
    let pairs: Vec<(Workload, Nemesis)> = workloads
        .iter()
        .flat_map(|w| nemeses.iter().map(move |n| (*w, *n)))
        .filter(|(w, n)| n.fits(w.multi_region()))
        .collect();
    anyhow::ensure!(
        !pairs.is_empty(),
        "nemesis {nemesis} does not fit workload {workload}"
    );
    Ok(pairs)
}

/// Applies every checker that fits a saved history's operations (registers: linearizability;
/// sets: lost adds; cross-region: lost and foreign values); returns a summary and whether
/// every one passed.
pub fn check_saved(ops: &[history::Op]) -> (String, bool) {
    use history::OpKind;
    let mut lines = Vec::new();
    let mut passed = true;
    if ops
        .iter()
        .any(|o| matches!(o.kind, OpKind::Read | OpKind::Cas))
    {
        let r = checker::linearizable::check(ops);
        passed &= r.passed();
        lines.push(format!(
            "linearizability: {} {:?}",
            r.verdict(),
            r.violations
        ));
    }
    if ops.iter().any(|o| o.kind == OpKind::Add) {
        let r = checker::lost::check_sets(ops);
        passed &= r.passed();
        lines.push(format!("sets: {r:?}"));
    } else if ops
        .iter()
        .any(|o| o.kind == OpKind::FinalRead && o.key.starts_with(checker::lost::UNIQUE_KEY_PREFIX))
    {
        let r = checker::lost::check_cross_region(ops);
        passed &= r.passed();
        lines.push(format!("cross-region: {r:?}"));
    }
    lines.push(if passed { "pass".into() } else { "FAIL".into() });
    (lines.join("\n"), passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_pairs_only_where_the_nemesis_fits() {
        let pairs = plan("all", "all").expect("plan");
        assert_eq!(pairs.len(), 13);
        assert!(pairs.contains(&(Workload::Register, Nemesis::PartitionNode)));
        assert!(!pairs.contains(&(Workload::Register, Nemesis::PauseReplication)));
        assert!(!pairs.contains(&(Workload::CrossRegion, Nemesis::PartitionNode)));
        assert_eq!(
            plan("set", "kill").expect("plan"),
            vec![(Workload::Set, Nemesis::Kill)]
        );
        assert!(plan("register", "partition-region").is_err());
        assert!(plan("bank", "kill").is_err());
    }
}
