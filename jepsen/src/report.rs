//! The markdown report: one row per run, then the details of every failure.

use std::fmt::Write as _;

use crate::run::RunResult;

/// Renders `results` (with the command line that produced them) as markdown.
pub fn markdown(results: &[RunResult], command: &str) -> String {
    let mut sorted: Vec<&RunResult> = results.iter().collect();
    sorted.sort_by_key(|r| (r.workload, r.nemesis, r.run));
    let results = sorted;
    let mut out = String::new();
    let passed = results.iter().filter(|r| r.passed()).count();
    let _ = writeln!(out, "# Meridian jepsen report\n");
    let _ = writeln!(out, "Command: `{command}`\n");
    let _ = writeln!(
        out,
        "{passed} of {} runs passed every checker.\n",
        results.len()
    );
    let _ = writeln!(
        out,
        "| workload | nemesis | run | seed | s | ok | fail | info | ok/s | faults | linearizability | lost acked writes | convergence | verdict |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in &results {
        let lin = r
            .linearizability
            .as_ref()
            .map_or("n/a".to_owned(), |l| l.verdict());
        let lost = r
            .lost
            .as_ref()
            .map_or("n/a (see linearizability)".to_owned(), |l| {
                if l.passed() {
                    format!("0 of {}", l.acknowledged)
                } else {
                    format!(
                        "**{} of {}** (unexpected {}, unread {}, disagreeing {}, deleted but back {})",
                        l.lost.len(),
                        l.acknowledged,
                        l.unexpected.len(),
                        l.unread.len(),
                        l.disagreements.len(),
                        l.resurrected.len()
                    )
                }
            });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {:.1} | {}/{} | {} | {} | {} | {} |",
            r.workload,
            r.nemesis,
            r.run,
            r.seed,
            r.duration_s,
            r.ok,
            r.fail,
            r.info,
            r.throughput,
            r.faults.0,
            r.faults.1,
            lin,
            lost,
            r.convergence.verdict(),
            if r.passed() { "pass" } else { "**FAIL**" }
        );
    }
    let failures: Vec<&RunResult> = results.iter().copied().filter(|r| !r.passed()).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\n## Failures\n");
        for r in failures {
            let _ = writeln!(
                out,
                "- {} / {} run {} (seed {}, history in `{}`):",
                r.workload,
                r.nemesis,
                r.run,
                r.seed,
                r.dir.display()
            );
            for e in &r.errors {
                let _ = writeln!(out, "  - harness: {e}");
            }
            for e in &r.nemesis_errors {
                let _ = writeln!(out, "  - nemesis: {e}");
            }
            if let Some(l) = &r.linearizability {
                for (key, v) in &l.violations {
                    let _ = writeln!(out, "  - key {key}: {v:?}");
                }
            }
            if let Some(l) = &r.lost {
                if !l.passed() {
                    let _ = writeln!(
                        out,
                        "  - lost {:?}; unexpected {:?}; unread {:?}; disagreeing {:?}; deleted but back {:?}",
                        l.lost.iter().take(10).collect::<Vec<_>>(),
                        l.unexpected.iter().take(10).collect::<Vec<_>>(),
                        l.unread,
                        l.disagreements.iter().take(10).collect::<Vec<_>>(),
                        l.resurrected.iter().take(10).collect::<Vec<_>>()
                    );
                }
            }
            if !r.convergence.converged {
                let _ = writeln!(out, "  - {}", r.convergence.verdict());
            }
        }
    }
    out
}
