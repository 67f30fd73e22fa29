//! Workloads: what the clients do, on which topology, and how the run's final state is read
//! back after heal.

pub mod cross_region;
pub mod register;
pub mod set;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
};
use aws_sdk_dynamodb::Client;
use serde::Serialize;

use crate::client::as_i64;
use crate::db::Db;

/// How long table setup may take (a fresh region elects its first leader meanwhile).
const SETUP_TIMEOUT_MS: u64 = 60_000;
/// How long final reads may keep retrying after heal.
pub const FINAL_READ_TIMEOUT_MS: u64 = 60_000;

/// The workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Register per key in one 3-node region: ConsistentRead GetItem, PutItem, conditional
    /// UpdateItem compare-and-set.
    Register,
    /// Append-only number sets in one 3-node region (UpdateItem ADD).
    Set,
    /// Three single-node regions writing the same keys of a global table, and distinct items.
    CrossRegion,
}

impl Workload {
    /// Every workload.
    pub const ALL: [Workload; 3] = [Workload::Register, Workload::Set, Workload::CrossRegion];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::Set => "set",
            Workload::CrossRegion => "cross-region",
        }
    }

    /// The table the workload uses.
    pub fn table(self) -> &'static str {
        match self {
            Workload::Register => "jepsen_register",
            Workload::Set => "jepsen_set",
            Workload::CrossRegion => "jepsen_global",
        }
    }

    /// True if the workload runs on several regions.
    pub fn multi_region(self) -> bool {
        self == Workload::CrossRegion
    }

    /// Starts the workload's topology, writing configs under `out`.
    pub async fn start_db(self, out: &std::path::Path) -> anyhow::Result<Db> {
        if self.multi_region() {
            Db::regions(&cross_region::REGIONS, out).await
        } else {
            Db::region(register::REGION, 3, out).await
        }
    }
}

/// A client bound to one node.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub region: String,
    /// Index of the node in [`Db::nodes`].
    pub node: usize,
    pub client: Client,
}

/// A client per node of `db`.
pub fn endpoints(db: &Db) -> Vec<Endpoint> {
    db.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| Endpoint {
            region: n.region.clone(),
            node: i,
            client: crate::client::client(&n.url(), &n.region),
        })
        .collect()
}

/// Creates `table` (key `pk`, string) through `client`, retrying while the region elects a
/// leader; `replicas` (comma-separated regions) makes it global. Waits until it is ACTIVE.
pub async fn create_table(
    client: &Client,
    table: &str,
    replicas: Option<&str>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_millis(SETUP_TIMEOUT_MS);
    loop {
        let mut req = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()?,
            );
        if let Some(replicas) = replicas {
            req = req.tags(
                Tag::builder()
                    .key("meridian:replicas")
                    .value(replicas)
                    .build()?,
            );
        }
        match req.send().await {
            Ok(_) => break,
            Err(e) => {
                let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e);
                if code == Some("ResourceInUseException") {
                    break;
                }
                anyhow::ensure!(Instant::now() < deadline, "creating {table}: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    wait_active(client, table, deadline).await
}

/// Waits until `table` is ACTIVE (and all its replicas are) as seen through `client`.
pub async fn wait_active(client: &Client, table: &str, deadline: Instant) -> anyhow::Result<()> {
    loop {
        if let Ok(d) = client.describe_table().table_name(table).send().await {
            if let Some(t) = d.table() {
                let active = t.table_status().map(|s| s.as_str()) == Some("ACTIVE")
                    && t.replicas()
                        .iter()
                        .all(|r| r.replica_status().map(|s| s.as_str()) == Some("ACTIVE"));
                if active {
                    return Ok(());
                }
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "{table} not ACTIVE in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every item of `table` by consistent scan, as `pk → v` (v: the number attribute `v`).
pub async fn scan_values(
    client: &Client,
    table: &str,
) -> anyhow::Result<HashMap<String, Option<i64>>> {
    let mut out = HashMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await?;
        for item in page.items() {
            if let Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) = item.get("pk") {
                out.insert(pk.clone(), as_i64(item.get("v")));
            }
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    Ok(out)
}
