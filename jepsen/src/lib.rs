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
pub mod history;
pub mod rng;
