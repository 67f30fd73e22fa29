//! Checkers: pure functions over histories (and, for convergence, over scan samples). Each
//! can fail, and each has unit tests that plant a violation and assert it is caught.

pub mod convergence;
pub mod linearizable;
pub mod lost;

#[cfg(test)]
pub(crate) mod test_support {
    use crate::history::{Op, OpKind, Outcome};

    /// A history entry for checker tests.
    pub fn op(
        index: usize,
        key: &str,
        kind: OpKind,
        value: Option<i64>,
        outcome: Outcome,
        invoke_ns: u64,
        complete_ns: u64,
    ) -> Op {
        Op {
            index,
            process: index as u64,
            kind,
            key: key.to_owned(),
            value,
            expected: None,
            values: None,
            region: None,
            node: None,
            outcome,
            invoke_ns,
            complete_ns,
            error: None,
        }
    }
}
