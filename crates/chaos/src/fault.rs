//! The faults a user can inject, as typed values with their validation.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The longest latency a link fault may add to one cross-region call.
pub const LINK_LATENCY_MS_MAX: u64 = 60_000;
/// The largest clock skew, either way: one day.
pub const CLOCK_SKEW_MS_MAX: i64 = 24 * 60 * 60 * 1000;
/// The longest delay an injected API fault may add before answering.
pub const API_DELAY_MS_MAX: u64 = 60_000;

/// Which way a region partition cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Nothing goes in or out.
    #[default]
    Both,
    /// The region cannot send to the others (its writes stop shipping).
    Outbound,
    /// The others cannot send to the region (their writes stop arriving).
    Inbound,
}

/// A DynamoDB error the API can be made to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InjectedError {
    /// HTTP 400, retried by SDKs, with `ThrottlingReasons`.
    ProvisionedThroughputExceededException,
    /// HTTP 400, retried by SDKs, with `ThrottlingReasons`.
    ThrottlingException,
    /// HTTP 400, retried by SDKs, with `ThrottlingReasons`.
    RequestLimitExceeded,
    /// HTTP 500, retried by SDKs.
    InternalServerError,
    /// HTTP 503, retried by SDKs.
    ServiceUnavailable,
}

impl InjectedError {
    /// Every injectable error, for help texts and validation messages.
    pub const ALL: [InjectedError; 5] = [
        InjectedError::ProvisionedThroughputExceededException,
        InjectedError::ThrottlingException,
        InjectedError::RequestLimitExceeded,
        InjectedError::InternalServerError,
        InjectedError::ServiceUnavailable,
    ];

    /// The DynamoDB name.
    pub fn name(self) -> &'static str {
        match self {
            InjectedError::ProvisionedThroughputExceededException => {
                "ProvisionedThroughputExceededException"
            }
            InjectedError::ThrottlingException => "ThrottlingException",
            InjectedError::RequestLimitExceeded => "RequestLimitExceeded",
            InjectedError::InternalServerError => "InternalServerError",
            InjectedError::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// Parses a DynamoDB error name.
    pub fn from_name(name: &str) -> Option<InjectedError> {
        InjectedError::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// One fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// Replication of `table` stops (every direction, or only from `source`, or only to
    /// `destination`), as `aws:dynamodb:global-table-pause-replication` does; writes are still
    /// accepted and queue up in the change log.
    PauseReplication {
        table: String,
        #[serde(default)]
        source: Option<String>,
        #[serde(default)]
        destination: Option<String>,
    },
    /// `region` is cut off from every other region.
    PartitionRegion {
        region: String,
        #[serde(default)]
        direction: Direction,
    },
    /// Node `node` of `region` is cut off from its region's other nodes (Raft traffic and
    /// forwarded requests, both ways).
    PartitionNode { region: String, node: u64 },
    /// Cross-region calls (from `source`, to `destination`; any when absent) are delayed by
    /// `latency_ms` plus up to `jitter_ms`, and dropped with `drop_probability`.
    LinkDelay {
        #[serde(default)]
        source: Option<String>,
        #[serde(default)]
        destination: Option<String>,
        #[serde(default)]
        latency_ms: u64,
        #[serde(default)]
        jitter_ms: u64,
        #[serde(default)]
        drop_probability: f64,
    },
    /// The clock that stamps versions in `region` (or only on its node `node`) runs
    /// `offset_ms` ahead (or behind, when negative).
    ClockSkew {
        region: String,
        #[serde(default)]
        node: Option<u64>,
        offset_ms: i64,
    },
    /// The DynamoDB API answers `operation` (any when absent) on `table` (any when absent)
    /// with `error` (or, without one, only waits `delay_ms` and answers normally), for a
    /// fraction `rate` of the matching requests (all when absent), at most `count` times.
    InjectError {
        #[serde(default)]
        operation: Option<String>,
        #[serde(default)]
        table: Option<String>,
        #[serde(default)]
        error: Option<InjectedError>,
        #[serde(default)]
        rate: Option<f64>,
        #[serde(default)]
        count: Option<u64>,
        #[serde(default)]
        delay_ms: u64,
    },
}

/// The kind of a fault, as metrics label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    PauseReplication,
    PartitionRegion,
    PartitionNode,
    LinkDelay,
    ClockSkew,
    InjectError,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::PauseReplication,
        FaultKind::PartitionRegion,
        FaultKind::PartitionNode,
        FaultKind::LinkDelay,
        FaultKind::ClockSkew,
        FaultKind::InjectError,
    ];

    /// The kebab-case name used on the wire, in the CLI and as a metrics label.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PauseReplication => "pause-replication",
            FaultKind::PartitionRegion => "partition-region",
            FaultKind::PartitionNode => "partition-node",
            FaultKind::LinkDelay => "link-delay",
            FaultKind::ClockSkew => "clock-skew",
            FaultKind::InjectError => "inject-error",
        }
    }
}

/// What a node knows of the deployment, to refuse faults that name nothing real.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Every region, with its node ids where this node knows them (its own region, or every
    /// region in `meridian dev`).
    pub regions: BTreeMap<String, Option<BTreeSet<u64>>>,
    /// Tables this node (or, in dev mode, any region) holds.
    pub tables: BTreeSet<String>,
    /// The DynamoDB operation names the API serves.
    pub operations: BTreeSet<String>,
}

impl Topology {
    fn region(&self, region: &str) -> Result<(), String> {
        if self.regions.contains_key(region) {
            return Ok(());
        }
        let known: Vec<&str> = self.regions.keys().map(String::as_str).collect();
        Err(format!(
            "unknown region {region:?}; the regions are {}",
            known.join(", ")
        ))
    }

    fn node(&self, region: &str, node: u64) -> Result<(), String> {
        self.region(region)?;
        match self.regions.get(region) {
            Some(Some(nodes)) if !nodes.contains(&node) => {
                let known: Vec<String> = nodes.iter().map(u64::to_string).collect();
                Err(format!(
                    "region {region} has no node {node}; its nodes are {}",
                    known.join(", ")
                ))
            }
            _ => Ok(()),
        }
    }

    fn table(&self, table: &str) -> Result<(), String> {
        if self.tables.contains(table) {
            Ok(())
        } else {
            Err(format!(
                "Requested resource not found: Table: {table} not found"
            ))
        }
    }

    fn optional_region(&self, region: Option<&String>) -> Result<(), String> {
        region.map_or(Ok(()), |r| self.region(r))
    }
}

/// A table name from a name or a table ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>`).
pub fn table_name(name_or_arn: &str) -> &str {
    match name_or_arn.strip_prefix("arn:") {
        Some(rest) => rest.split_once(":table/").map_or(name_or_arn, |(_, name)| {
            name.split('/').next().unwrap_or(name)
        }),
        None => name_or_arn,
    }
}

impl Fault {
    /// Its kind.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::PauseReplication { .. } => FaultKind::PauseReplication,
            Fault::PartitionRegion { .. } => FaultKind::PartitionRegion,
            Fault::PartitionNode { .. } => FaultKind::PartitionNode,
            Fault::LinkDelay { .. } => FaultKind::LinkDelay,
            Fault::ClockSkew { .. } => FaultKind::ClockSkew,
            Fault::InjectError { .. } => FaultKind::InjectError,
        }
    }

    /// Puts names in their canonical form (a table ARN becomes its name).
    pub fn normalize(&mut self) {
        match self {
            Fault::PauseReplication { table, .. } => *table = table_name(table).to_owned(),
            Fault::InjectError { table: Some(t), .. } => *t = table_name(t).to_owned(),
            _ => {}
        }
    }

    /// Checks the fault against what this node knows; the error is a message for the user.
    pub fn validate(&self, topology: &Topology) -> Result<(), String> {
        match self {
            Fault::PauseReplication {
                table,
                source,
                destination,
            } => {
                topology.table(table)?;
                topology.optional_region(source.as_ref())?;
                topology.optional_region(destination.as_ref())?;
                if source.is_some() && source == destination {
                    return Err("source and destination must be different regions".into());
                }
                Ok(())
            }
            Fault::PartitionRegion { region, .. } => topology.region(region),
            Fault::PartitionNode { region, node } => topology.node(region, *node),
            Fault::LinkDelay {
                source,
                destination,
                latency_ms,
                jitter_ms,
                drop_probability,
            } => {
                topology.optional_region(source.as_ref())?;
                topology.optional_region(destination.as_ref())?;
                if source.is_some() && source == destination {
                    return Err("source and destination must be different regions".into());
                }
                if latency_ms.saturating_add(*jitter_ms) > LINK_LATENCY_MS_MAX {
                    return Err(format!(
                        "latency_ms + jitter_ms must be at most {LINK_LATENCY_MS_MAX}"
                    ));
                }
                if !(0.0..=1.0).contains(drop_probability) {
                    return Err("drop_probability must be between 0 and 1".into());
                }
                if *latency_ms == 0 && *jitter_ms == 0 && *drop_probability == 0.0 {
                    return Err(
                        "a link fault needs latency_ms, jitter_ms or drop_probability".into(),
                    );
                }
                Ok(())
            }
            Fault::ClockSkew {
                region,
                node,
                offset_ms,
            } => {
                match node {
                    Some(node) => topology.node(region, *node)?,
                    None => topology.region(region)?,
                }
                if offset_ms.unsigned_abs() > CLOCK_SKEW_MS_MAX.unsigned_abs() {
                    return Err(format!(
                        "offset_ms must be between -{CLOCK_SKEW_MS_MAX} and {CLOCK_SKEW_MS_MAX}"
                    ));
                }
                if *offset_ms == 0 {
                    return Err("offset_ms must not be 0".into());
                }
                Ok(())
            }
            Fault::InjectError {
                operation,
                table,
                error,
                rate,
                count,
                delay_ms,
            } => {
                if let Some(op) = operation {
                    if !topology.operations.contains(op) {
                        return Err(format!(
                            "unknown operation {op:?}: use a DynamoDB operation name such as PutItem"
                        ));
                    }
                }
                if let Some(table) = table {
                    topology.table(table)?;
                }
                if let Some(rate) = rate {
                    if !(*rate > 0.0 && *rate <= 1.0) {
                        return Err("rate must be greater than 0 and at most 1".into());
                    }
                }
                if *count == Some(0) {
                    return Err("count must be at least 1".into());
                }
                if *delay_ms > API_DELAY_MS_MAX {
                    return Err(format!("delay_ms must be at most {API_DELAY_MS_MAX}"));
                }
                if error.is_none() && *delay_ms == 0 {
                    return Err("an injected fault needs an error or a delay_ms".into());
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        let mut regions = BTreeMap::new();
        regions.insert("us-east-1".to_owned(), Some([1, 2, 3].into()));
        regions.insert("eu-west-1".to_owned(), None);
        Topology {
            regions,
            tables: ["orders".to_owned()].into(),
            operations: ["PutItem".to_owned(), "GetItem".to_owned()].into(),
        }
    }

    fn parse(json: &str) -> Fault {
        let mut fault: Fault = serde_json::from_str(json).expect(json);
        fault.normalize();
        fault
    }

    #[test]
    fn t10_faults_parse_from_json_and_validate() {
        let t = topology();
        for json in [
            r#"{"kind":"pause-replication","table":"arn:aws:dynamodb:us-east-1:000000000000:table/orders"}"#,
            r#"{"kind":"pause-replication","table":"orders","source":"us-east-1","destination":"eu-west-1"}"#,
            r#"{"kind":"partition-region","region":"eu-west-1","direction":"inbound"}"#,
            r#"{"kind":"partition-node","region":"us-east-1","node":2}"#,
            r#"{"kind":"partition-node","region":"eu-west-1","node":7}"#,
            r#"{"kind":"link-delay","latency_ms":200,"jitter_ms":50,"drop_probability":0.1}"#,
            r#"{"kind":"clock-skew","region":"us-east-1","node":1,"offset_ms":-5000}"#,
            r#"{"kind":"inject-error","operation":"PutItem","error":"ThrottlingException","rate":0.5}"#,
            r#"{"kind":"inject-error","table":"orders","delay_ms":300}"#,
        ] {
            assert_eq!(parse(json).validate(&t), Ok(()), "{json}");
        }
        assert_eq!(
            parse(
                r#"{"kind":"pause-replication","table":"arn:aws:dynamodb:us-east-1:000000000000:table/orders"}"#
            ),
            Fault::PauseReplication {
                table: "orders".into(),
                source: None,
                destination: None
            }
        );
    }

    #[test]
    fn t10_bad_faults_are_refused_with_a_reason() {
        let t = topology();
        for (json, expected) in [
            (
                r#"{"kind":"pause-replication","table":"nope"}"#,
                "Table: nope not found",
            ),
            (
                r#"{"kind":"partition-region","region":"mars-1"}"#,
                "unknown region \"mars-1\"",
            ),
            (
                r#"{"kind":"partition-node","region":"us-east-1","node":9}"#,
                "has no node 9",
            ),
            (
                r#"{"kind":"link-delay","latency_ms":0}"#,
                "needs latency_ms",
            ),
            (
                r#"{"kind":"link-delay","drop_probability":1.5}"#,
                "between 0 and 1",
            ),
            (
                r#"{"kind":"link-delay","latency_ms":70000}"#,
                "at most 60000",
            ),
            (
                r#"{"kind":"clock-skew","region":"us-east-1","offset_ms":0}"#,
                "must not be 0",
            ),
            (
                r#"{"kind":"inject-error","operation":"Frobnicate","error":"ThrottlingException"}"#,
                "unknown operation",
            ),
            (
                r#"{"kind":"inject-error","error":"ThrottlingException","rate":0}"#,
                "rate must be",
            ),
            (
                r#"{"kind":"inject-error","error":"ThrottlingException","count":0}"#,
                "count must be",
            ),
            (r#"{"kind":"inject-error"}"#, "needs an error or a delay_ms"),
            (
                r#"{"kind":"pause-replication","table":"orders","source":"eu-west-1","destination":"eu-west-1"}"#,
                "different regions",
            ),
        ] {
            let error = parse(json).validate(&t).expect_err(json);
            assert!(error.contains(expected), "{json}: {error}");
        }
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"meteor"}"#).is_err());
        assert!(serde_json::from_str::<Fault>(
            r#"{"kind":"inject-error","error":"TeapotException"}"#
        )
        .is_err());
    }

    #[test]
    fn t10_table_names_come_out_of_arns() {
        assert_eq!(table_name("orders"), "orders");
        assert_eq!(
            table_name("arn:aws:dynamodb:eu-west-1:123:table/orders"),
            "orders"
        );
        assert_eq!(
            table_name("arn:aws:dynamodb:eu-west-1:123:table/orders/stream/2024"),
            "orders"
        );
    }
}
