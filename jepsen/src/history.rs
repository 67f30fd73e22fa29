//! Histories: every client operation with its invoke and completion times, process, kind, key,
//! value and outcome, saved as JSON lines in the run's output directory.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Acknowledged: it took effect (a write) or returned this value (a read).
    Ok,
    /// Known not to have taken effect (ConditionalCheckFailed, another 4xx, connection refused).
    Fail,
    /// Unknown (timeout, 5xx, connection reset): a write may or may not have happened, at any
    /// time after its invocation.
    Info,
}

/// What an operation does. Registers and sets hold numbers in attribute `v` / `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    /// ConsistentRead GetItem of the register; `value` is what it returned (None: no item).
    Read,
    /// PutItem of the register with `value`.
    Write,
    /// UpdateItem `SET v = :new` if `v = :old`: `expected` → `value`.
    Cas,
    /// UpdateItem `ADD s :elem` (number set) of element `value`.
    Add,
    /// The final consistent read of a set after heal: `values` holds the elements.
    ReadSet,
    /// The final read of a key in `region` after convergence (`value`; None: absent).
    FinalRead,
    /// DeleteItem of a distinct item, issued in a region that has seen the item (so the delete
    /// is causally after its write and must win everywhere, for good).
    Delete,
}

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history (unique within a run).
    pub index: usize,
    /// The logical client; a client whose operation ended `Info` continues as a new process.
    pub process: u64,
    pub kind: OpKind,
    pub key: String,
    /// Written, expected-to-become, added or read value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    /// The compare-and-set's expected old value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<i64>,
    /// A set read's elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<i64>>,
    /// The region the client talked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The node (index within its region) the client talked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<usize>,
    pub outcome: Outcome,
    /// Nanoseconds since the run started.
    pub invoke_ns: u64,
    /// Nanoseconds since the run started; for `Info`, when the client gave up (the operation
    /// may still take effect later).
    pub complete_ns: u64,
    /// The error's code or description, for Fail and Info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Op {
    /// A read-only operation (no effect whatever its outcome).
    pub fn is_read(&self) -> bool {
        matches!(
            self.kind,
            OpKind::Read | OpKind::ReadSet | OpKind::FinalRead
        )
    }
}

/// The invocation of an operation, before its outcome is known.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub process: u64,
    pub kind: OpKind,
    pub key: String,
    pub value: Option<i64>,
    pub expected: Option<i64>,
    pub region: Option<String>,
    pub node: Option<usize>,
}

/// What the client saw.
#[derive(Debug, Clone)]
pub struct Completion {
    pub outcome: Outcome,
    /// A read's value (replaces the invocation's).
    pub read: Option<Option<i64>>,
    pub values: Option<Vec<i64>>,
    pub error: Option<String>,
}

impl Completion {
    /// Acknowledged, no value.
    pub fn ok() -> Completion {
        Completion {
            outcome: Outcome::Ok,
            read: None,
            values: None,
            error: None,
        }
    }

    /// Acknowledged read of `value`.
    pub fn read(value: Option<i64>) -> Completion {
        Completion {
            read: Some(value),
            ..Completion::ok()
        }
    }

    /// Not acknowledged, with the error's description.
    pub fn failed(outcome: Outcome, error: String) -> Completion {
        Completion {
            outcome,
            read: None,
            values: None,
            error: Some(error),
        }
    }
}

/// A thread-safe recorder shared by every client of a run.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            ops: Arc::default(),
        }
    }

    /// Nanoseconds since the run started.
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Records an operation invoked at `invoke_ns` that completed now.
    pub fn record(&self, inv: Invocation, invoke_ns: u64, done: Completion) {
        let complete_ns = self.now_ns();
        let mut ops = self.ops.lock().expect("history lock");
        let index = ops.len();
        let value = match done.read {
            Some(read) => read,
            None => inv.value,
        };
        ops.push(Op {
            index,
            process: inv.process,
            kind: inv.kind,
            key: inv.key,
            value,
            expected: inv.expected,
            values: done.values,
            region: inv.region,
            node: inv.node,
            outcome: done.outcome,
            invoke_ns,
            complete_ns,
            error: done.error,
        });
    }

    /// The history so far, ordered by completion.
    pub fn ops(&self) -> Vec<Op> {
        self.ops.lock().expect("history lock").clone()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

/// Writes `ops` to `path` as JSON lines.
pub fn save(path: &Path, ops: &[Op]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for op in ops {
        serde_json::to_writer(&mut out, op)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Reads a history saved by [`save`].
pub fn load(path: &Path) -> anyhow::Result<Vec<Op>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Ok(serde_json::from_str(l)?))
        .collect()
}

/// Counts of (ok, fail, info) operations, final reads excluded.
pub fn outcome_counts(ops: &[Op]) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for op in ops
        .iter()
        .filter(|o| !matches!(o.kind, OpKind::ReadSet | OpKind::FinalRead))
    {
        match op.outcome {
            Outcome::Ok => counts.0 += 1,
            Outcome::Fail => counts.1 += 1,
            Outcome::Info => counts.2 += 1,
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_round_trips_through_json_lines() {
        let rec = Recorder::new();
        let inv = Invocation {
            process: 3,
            kind: OpKind::Cas,
            key: "k1".into(),
            value: Some(5),
            expected: Some(4),
            region: Some("us-east-1".into()),
            node: Some(2),
        };
        rec.record(inv.clone(), 10, Completion::ok());
        rec.record(inv, 12, Completion::failed(Outcome::Info, "timeout".into()));
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("history.jsonl");
        save(&path, &rec.ops()).expect("save");
        let back = load(&path).expect("load");
        assert_eq!(back, rec.ops());
        assert_eq!(outcome_counts(&back), (1, 0, 1));
        assert!(std::fs::read_to_string(&path)
            .expect("read")
            .contains("\"outcome\":\"info\""));
    }
}
