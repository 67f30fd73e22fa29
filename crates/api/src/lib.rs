//! Meridian's DynamoDB front door: an HTTP/1.1 server on hyper that routes `X-Amz-Target`
//! into an exhaustive [`Operation`] enum, decodes and validates each request into a
//! [`Request`] (pure, fuzzable), runs it against a [`Region`], and answers with DynamoDB's
//! JSON shapes and its error catalog ([`ApiError`]).
//!
//! Depends on `model`, `expr`, `table` and `storage` (for the store handle only). It must not
//! depend on openraft or sled: writes go through the [`Region`] trait, which the server crate
//! implements over the region's Raft group.

mod account;
mod backfill;
mod backups;
mod batch;
mod capacity;
mod chaos;
mod cluster_status;
mod compression;
mod console;
mod cors;
mod describe;
mod error;
mod exports;
mod exprs;
mod global;
mod health;
mod index_updates;
mod index_views;
mod indexes;
mod items;
mod legacy;
mod local;
mod metering;
mod multi_key;
mod operation;
mod options;
mod partiql;
mod query;
mod region;
mod request;
mod server;
mod sigv4;
mod stream_records;
mod streams;
mod table_update;
mod tables;
mod tags;
mod transact;
mod ttl;
mod validate;
mod wire;

#[cfg(test)]
mod console_tests;
#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod fidelity_tests;
#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod index_api_tests;
#[cfg(test)]
mod legacy_tests;
#[cfg(test)]
mod streams_tests;
#[cfg(test)]
mod table_ops_tests;
#[cfg(test)]
mod tests;

pub use backfill::run_backfill;
pub use capacity::{CapacityMode, Consumed};
pub use chaos::CHAOS_HEADER;
pub use cluster_status::{
    ClusterStatus, NodeRole, NodeStatus, PairStatus, RegionStatus, TombstonesHeld, STATUS_PATH,
};
pub use console::{CHAOS_PATH_PREFIX, CONSOLE_HEADER, CONSOLE_PATH};
pub use error::{ApiError, AuthFailure, CatalogEntry, Throttled, ThrottlingReason};
pub use health::{Health, HEALTH_PATH};
pub use local::LocalRegion;
pub use operation::{Operation, TARGET_PREFIX};
pub use options::{
    is_loopback_host, CorsOrigins, ServeOptions, ADMIN_SECRET_HEADER, BODY_READ_TIMEOUT_MS_DEFAULT,
    CONNECTION_IDLE_TIMEOUT_MS_DEFAULT, MAX_CONNECTIONS_DEFAULT, MAX_HEADER_BYTES_DEFAULT,
};
pub use region::{BoxFuture, Region};
pub use request::{decode, decode_request, execute, Request, RequestContext};
pub use server::{
    serve, serve_routed, serve_with, ACCEPT_ERROR_BACKOFF_MS, HEADER_READ_TIMEOUT_MS,
    SHUTDOWN_DRAIN_TIMEOUT_MS,
};
pub use sigv4::{credential_region, AccessKeyError, AccessKeys};
pub use streams::{StreamOperation, STREAMS_TARGET_PREFIX};
pub use ttl::{sweep as sweep_ttl, SweepReport, TTL_SWEEP_PATH};
