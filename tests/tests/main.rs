//! End-to-end tests: every test spawns the real `meridian` binary (in memory unless it tests
//! durability) and drives it with the AWS SDK for Rust or raw HTTP.
//!
//! All area files are modules of this one test binary so the SDK is linked once. Run one area
//! with e.g. `cargo test -p meridian-tests --test e2e items::`.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a panic is the failure report"
)]

mod backups;
mod batch;
mod chaos;
mod crash;
mod errors;
mod expressions;
mod failover;
mod fidelity;
mod fidelity_two;
mod global;
mod gsi_multi_key;
mod http_fidelity;
mod index_backfill;
mod index_validation;
mod indexes;
mod items;
mod legacy;
mod limits;
mod limits_enforced;
mod metrics;
mod partiql;
mod protocol;
mod query_scan;
mod region;
mod region_features;
mod resilience;
mod stream_global;
mod streams;
mod tables;
mod transactions;
mod ttl;
