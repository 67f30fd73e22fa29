//! Linearizability of a register per key: the Wing–Gong–Lowe search as porcupine does it
//! (a doubly linked list of call and return events, lifting each operation out when it is
//! linearized, backtracking on a return that nothing linearized), with a cache of the
//! (linearized set, state) pairs already explored, so the search is polynomial in practice.
//!
//! Operations that ended `Info` may have taken effect at any time after their invocation, or
//! never: their return is at infinity, so the search can linearize them last, where they
//! change nothing anyone observed. `Fail` writes never happened and are left out, except a
//! compare-and-set rejected by its condition, which still says the register did not hold the
//! expected value at some point in its interval. Reads that did not return a value constrain
//! nothing and are left out.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::history::{Op, OpKind, Outcome};

/// Search steps allowed per key before the verdict is "unknown" rather than a hang.
pub const SEARCH_STEPS_MAX: u64 = 20_000_000;

/// One register operation as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read that returned this (None: no item).
    Read(Option<i64>),
    /// A write of this value.
    Write(i64),
    /// A compare-and-set that succeeded.
    Cas { expected: i64, new: i64 },
    /// A compare-and-set its condition rejected: the register did not hold `expected`.
    CasRejected { expected: i64 },
    /// A compare-and-set with an unknown outcome: applies if the register holds `expected`.
    CasMaybe { expected: i64, new: i64 },
}

impl RegisterOp {
    /// The register's next state, or None if the operation cannot happen in `state`.
    fn step(self, state: Option<i64>) -> Option<Option<i64>> {
        match self {
            RegisterOp::Read(v) => (state == v).then_some(state),
            RegisterOp::Write(v) => Some(Some(v)),
            RegisterOp::Cas { expected, new } => (state == Some(expected)).then_some(Some(new)),
            RegisterOp::CasRejected { expected } => (state != Some(expected)).then_some(state),
            RegisterOp::CasMaybe { expected, new } => Some(if state == Some(expected) {
                Some(new)
            } else {
                state
            }),
        }
    }
}

/// An operation with its real-time interval; `ret` None is "never returned" (infinity).
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    /// Index in the original history, for reports.
    pub index: usize,
    pub call: u64,
    pub ret: Option<u64>,
    pub op: RegisterOp,
}

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum KeyVerdict {
    Linearizable,
    /// No linearization exists; names the history index of an operation that could not be
    /// placed at the deepest point the search reached.
    NotLinearizable {
        stuck_at: usize,
        linearized: usize,
    },
    /// The search gave up after [`SEARCH_STEPS_MAX`] steps.
    Unknown,
}

/// Checks one key's operations (the initial state is "no item").
pub fn check_register(ops: &[Timed], steps_max: u64) -> KeyVerdict {
    // Nodes: 0 is the head sentinel; then a call and a return node per operation.
    const NIL: usize = usize::MAX;
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call, false, i));
        events.push((op.ret.unwrap_or(u64::MAX), true, i));
    }
    // By time; at equal times calls first (they overlap: the more permissive reading).
    events.sort_by_key(|&(t, is_ret, i)| (t, is_ret, i));
    let n = events.len() + 1;
    let mut next = vec![NIL; n];
    let mut prev = vec![NIL; n];
    let mut is_call = vec![false; n];
    let mut op_of = vec![0usize; n];
    let mut ret_node = vec![0usize; ops.len()];
    for (pos, &(_, is_ret, i)) in events.iter().enumerate() {
        let node = pos + 1;
        is_call[node] = !is_ret;
        op_of[node] = i;
        if is_ret {
            ret_node[i] = node;
        }
        prev[node] = pos;
        next[pos] = node;
    }
    let words = ops.len().div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut count = 0usize;
    let mut state: Option<i64> = None;
    let mut cache: HashSet<(Vec<u64>, Option<i64>)> = HashSet::new();
    let mut stack: Vec<(usize, Option<i64>)> = Vec::new();
    let mut deepest = (0usize, 0usize);
    let mut steps = 0u64;
    let mut entry = next[0];
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        next[prev[x]] = next[x];
        if next[x] != NIL {
            prev[next[x]] = prev[x];
        }
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        next[prev[x]] = x;
        if next[x] != NIL {
            prev[next[x]] = x;
        }
    };
    while next[0] != NIL {
        steps += 1;
        if steps > steps_max {
            return KeyVerdict::Unknown;
        }
        if entry != NIL && is_call[entry] {
            let i = op_of[entry];
            if let Some(new_state) = ops[i].op.step(state) {
                let mut candidate = linearized.clone();
                candidate[i / 64] |= 1 << (i % 64);
                if cache.insert((candidate.clone(), new_state)) {
                    stack.push((entry, state));
                    state = new_state;
                    linearized = candidate;
                    count += 1;
                    unlink(&mut next, &mut prev, entry);
                    unlink(&mut next, &mut prev, ret_node[i]);
                    entry = next[0];
                    continue;
                }
            }
            entry = next[entry];
        } else {
            // A return whose operation nothing could linearize before it: backtrack.
            if entry != NIL && count >= deepest.0 {
                deepest = (count, ops[op_of[entry]].index);
            }
            let Some((call, old_state)) = stack.pop() else {
                return KeyVerdict::NotLinearizable {
                    stuck_at: deepest.1,
                    linearized: deepest.0,
                };
            };
            let i = op_of[call];
            relink(&mut next, &mut prev, ret_node[i]);
            relink(&mut next, &mut prev, call);
            linearized[i / 64] &= !(1 << (i % 64));
            count -= 1;
            state = old_state;
            entry = next[call];
        }
    }
    KeyVerdict::Linearizable
}

/// The register operations of one key, as the model sees them (see the module doc).
pub fn register_ops(ops: &[&Op]) -> Vec<Timed> {
    let mut out = Vec::new();
    for op in ops {
        let ret = match op.outcome {
            Outcome::Info => None,
            _ => Some(op.complete_ns),
        };
        let model = match (op.kind, op.outcome) {
            (OpKind::Read | OpKind::FinalRead, Outcome::Ok) => Some(RegisterOp::Read(op.value)),
            (OpKind::Write, Outcome::Ok | Outcome::Info) => op.value.map(RegisterOp::Write),
            (OpKind::Cas, Outcome::Ok) => match (op.expected, op.value) {
                (Some(expected), Some(new)) => Some(RegisterOp::Cas { expected, new }),
                _ => None,
            },
            (OpKind::Cas, Outcome::Info) => match (op.expected, op.value) {
                (Some(expected), Some(new)) => Some(RegisterOp::CasMaybe { expected, new }),
                _ => None,
            },
            (OpKind::Cas, Outcome::Fail)
                if op.error.as_deref() == Some(CONDITIONAL_CHECK_FAILED) =>
            {
                op.expected
                    .map(|expected| RegisterOp::CasRejected { expected })
            }
            _ => None,
        };
        if let Some(model) = model {
            out.push(Timed {
                index: op.index,
                call: op.invoke_ns,
                ret,
                op: model,
            });
        }
    }
    out
}

/// The error code of a rejected condition, as the client records it.
pub const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

/// The verdict over every key of a register history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinearizabilityReport {
    pub keys: usize,
    pub operations: usize,
    /// (key, verdict) of every key that is not linearizable.
    pub violations: Vec<(String, KeyVerdict)>,
    /// Keys whose search gave up.
    pub unknown: Vec<String>,
}

impl LinearizabilityReport {
    /// "valid", "INVALID (n keys)" or "unknown (n keys)".
    pub fn verdict(&self) -> String {
        if !self.violations.is_empty() {
            format!("INVALID ({} of {} keys)", self.violations.len(), self.keys)
        } else if !self.unknown.is_empty() {
            format!("unknown ({} of {} keys)", self.unknown.len(), self.keys)
        } else {
            format!("valid ({} keys)", self.keys)
        }
    }

    /// True unless a violation was found (unknown is not a failure).
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks every key's Read / Write / Cas / FinalRead operations of `history`.
pub fn check(history: &[Op]) -> LinearizabilityReport {
    check_with_budget(history, SEARCH_STEPS_MAX)
}

/// [`check`] with an explicit search budget per key.
pub fn check_with_budget(history: &[Op], steps_max: u64) -> LinearizabilityReport {
    let mut by_key: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in history.iter().filter(|o| {
        matches!(
            o.kind,
            OpKind::Read | OpKind::Write | OpKind::Cas | OpKind::FinalRead
        )
    }) {
        by_key.entry(&op.key).or_default().push(op);
    }
    let mut report = LinearizabilityReport {
        keys: by_key.len(),
        ..Default::default()
    };
    for (key, ops) in by_key {
        let timed = register_ops(&ops);
        report.operations += timed.len();
        match check_register(&timed, steps_max) {
            KeyVerdict::Linearizable => {}
            KeyVerdict::Unknown => report.unknown.push(key.to_owned()),
            v @ KeyVerdict::NotLinearizable { .. } => report.violations.push((key.to_owned(), v)),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::test_support::op;

    fn t(call: u64, ret: Option<u64>, op: RegisterOp) -> Timed {
        Timed {
            index: call as usize,
            call,
            ret,
            op,
        }
    }

    #[test]
    fn sequential_and_concurrent_histories_are_accepted() {
        use RegisterOp::*;
        // w1, then a read of 1 overlapping w2, then a read of 2.
        let ops = [
            t(0, Some(10), Write(1)),
            t(20, Some(40), Write(2)),
            t(25, Some(30), Read(Some(1))),
            t(50, Some(60), Read(Some(2))),
            t(
                61,
                Some(70),
                Cas {
                    expected: 2,
                    new: 3,
                },
            ),
            t(71, Some(80), CasRejected { expected: 2 }),
            t(81, Some(90), Read(Some(3))),
        ];
        assert_eq!(check_register(&ops, 1_000_000), KeyVerdict::Linearizable);
        // A read before any write sees nothing.
        assert_eq!(
            check_register(&[t(0, Some(1), Read(None))], 100),
            KeyVerdict::Linearizable
        );
    }

    #[test]
    fn planted_stale_read_is_caught() {
        use RegisterOp::*;
        // w1 completes, w2 completes, then a read returns 1: stale.
        let ops = [
            t(0, Some(10), Write(1)),
            t(20, Some(30), Write(2)),
            t(40, Some(50), Read(Some(1))),
        ];
        assert!(matches!(
            check_register(&ops, 1_000_000),
            KeyVerdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn planted_lost_acknowledged_write_is_caught() {
        use RegisterOp::*;
        // An acknowledged write, then a read that sees nothing.
        let ops = [t(0, Some(10), Write(7)), t(20, Some(30), Read(None))];
        assert!(matches!(
            check_register(&ops, 1_000),
            KeyVerdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn planted_double_cas_success_is_caught() {
        use RegisterOp::*;
        // Two concurrent CAS 1→2 and 1→3 both succeed: impossible.
        let ops = [
            t(0, Some(5), Write(1)),
            t(
                10,
                Some(30),
                Cas {
                    expected: 1,
                    new: 2,
                },
            ),
            t(
                11,
                Some(31),
                Cas {
                    expected: 1,
                    new: 3,
                },
            ),
        ];
        assert!(matches!(
            check_register(&ops, 1_000_000),
            KeyVerdict::NotLinearizable { .. }
        ));
        // A rejected CAS while the register certainly held the expected value is caught too.
        let ops = [
            t(0, Some(5), Write(1)),
            t(10, Some(20), CasRejected { expected: 1 }),
            t(30, Some(40), Read(Some(1))),
        ];
        assert!(matches!(
            check_register(&ops, 1_000_000),
            KeyVerdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn info_writes_may_or_may_not_happen() {
        use RegisterOp::*;
        // An info write of 2 that some later read sees: fine.
        let seen = [
            t(0, Some(10), Write(1)),
            t(20, None, Write(2)),
            t(100, Some(110), Read(Some(2))),
        ];
        assert_eq!(check_register(&seen, 1_000_000), KeyVerdict::Linearizable);
        // One that never shows: fine too.
        let unseen = [
            t(0, Some(10), Write(1)),
            t(20, None, Write(2)),
            t(100, Some(110), Read(Some(1))),
        ];
        assert_eq!(check_register(&unseen, 1_000_000), KeyVerdict::Linearizable);
        // But it cannot take effect before it was invoked.
        let early = [
            t(0, Some(10), Write(1)),
            t(15, Some(18), Read(Some(2))),
            t(20, None, Write(2)),
        ];
        assert!(matches!(
            check_register(&early, 1_000_000),
            KeyVerdict::NotLinearizable { .. }
        ));
        // Nor flip back and forth: 2 seen, then 1 again without a new write of 1.
        let flip = [
            t(0, Some(10), Write(1)),
            t(20, None, Write(2)),
            t(30, Some(40), Read(Some(2))),
            t(50, Some(60), Read(Some(1))),
        ];
        assert!(matches!(
            check_register(&flip, 1_000_000),
            KeyVerdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn a_blown_budget_is_unknown_not_a_hang() {
        use RegisterOp::*;
        // Many concurrent writes and a read no order explains: the search explores a lot.
        let mut ops: Vec<Timed> = (0..40).map(|i| t(i, Some(1000), Write(i as i64))).collect();
        ops.push(t(2000, Some(2001), Read(Some(999))));
        assert_eq!(check_register(&ops, 50), KeyVerdict::Unknown);
    }

    #[test]
    fn history_level_check_separates_keys_and_uses_outcomes() {
        let ok = vec![
            op(0, "a", OpKind::Write, Some(1), Outcome::Ok, 0, 10),
            op(1, "b", OpKind::Write, Some(2), Outcome::Ok, 0, 10),
            op(2, "a", OpKind::Read, Some(1), Outcome::Ok, 20, 30),
            op(3, "b", OpKind::Read, Some(2), Outcome::Ok, 20, 30),
            // A failed write never happened; a failed read constrains nothing.
            op(4, "a", OpKind::Write, Some(9), Outcome::Fail, 31, 32),
            op(5, "a", OpKind::Read, Some(42), Outcome::Fail, 33, 34),
            op(6, "a", OpKind::FinalRead, Some(1), Outcome::Ok, 40, 50),
        ];
        let report = check(&ok);
        assert!(report.passed(), "{report:?}");
        assert_eq!(report.keys, 2);
        // Plant: key b's final read shows a value nobody wrote.
        let mut bad = ok.clone();
        bad.push(op(7, "b", OpKind::FinalRead, Some(3), Outcome::Ok, 40, 50));
        let report = check(&bad);
        assert!(!report.passed());
        assert_eq!(report.violations.len(), 1);
        assert_eq!(report.violations[0].0, "b");
        assert!(report.verdict().starts_with("INVALID"));
    }
}

#[cfg(test)]
mod generated {
    use super::*;
    use crate::rng::Rng;

    /// A history linearizable by construction: each operation gets an interval and a
    /// linearization point inside it; the model run in point order fixes reads and CAS results.
    fn generate(seed: u64, n: usize) -> Vec<Timed> {
        let mut rng = Rng::new(seed, 0);
        let mut ops: Vec<(u64, Timed)> = (0..n)
            .map(|i| {
                let call = rng.below(10_000);
                let ret = call + 1 + rng.below(400);
                let point = call + rng.below(ret - call);
                let op = match rng.below(3) {
                    0 => RegisterOp::Read(None),
                    1 => RegisterOp::Write(i as i64),
                    _ => RegisterOp::Cas {
                        expected: rng.below(n as u64) as i64,
                        new: i as i64,
                    },
                };
                (
                    point,
                    Timed {
                        index: i,
                        call,
                        ret: Some(ret),
                        op,
                    },
                )
            })
            .collect();
        ops.sort_by_key(|(p, t)| (*p, t.index));
        let mut state = None;
        for (_, t) in &mut ops {
            t.op = match t.op {
                RegisterOp::Read(_) => RegisterOp::Read(state),
                RegisterOp::Write(v) => {
                    state = Some(v);
                    t.op
                }
                RegisterOp::Cas { expected, new } if state == Some(expected) => {
                    state = Some(new);
                    t.op
                }
                RegisterOp::Cas { expected, .. } => RegisterOp::CasRejected { expected },
                other => other,
            };
        }
        ops.into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn generated_linearizable_histories_pass_and_corrupted_reads_fail() {
        for seed in 0..30 {
            let mut ops = generate(seed, 150);
            assert_eq!(
                check_register(&ops, SEARCH_STEPS_MAX),
                KeyVerdict::Linearizable,
                "seed {seed}"
            );
            // Some writes time out: still linearizable.
            for t in ops.iter_mut().filter(|t| t.index % 7 == 0) {
                if matches!(t.op, RegisterOp::Write(_)) {
                    t.ret = None;
                }
            }
            assert_eq!(
                check_register(&ops, SEARCH_STEPS_MAX),
                KeyVerdict::Linearizable,
                "seed {seed} with info writes"
            );
            // Plant a read of a value nobody wrote.
            let read = ops
                .iter_mut()
                .find(|t| matches!(t.op, RegisterOp::Read(Some(_))))
                .expect("a read of a value");
            read.op = RegisterOp::Read(Some(-1));
            assert!(
                matches!(
                    check_register(&ops, SEARCH_STEPS_MAX),
                    KeyVerdict::NotLinearizable { .. }
                ),
                "seed {seed}: planted read not caught"
            );
        }
    }
}
