//! Table metadata as the state machine stores it. Every field is decided before the command is
//! proposed (ids, timestamps), so applying it is deterministic on every replica.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::key::{KeySchema, ScalarType};

/// The account id Meridian reports in ARNs.
pub const ACCOUNT_ID: &str = "000000000000";

/// BillingMode, as DynamoDB names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// Provisioned capacity, kept as metadata (Meridian does not throttle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedThroughput {
    pub read_capacity_units: u64,
    pub write_capacity_units: u64,
    /// Unix ms of the last increase, if any.
    pub last_increase_ms: Option<i64>,
    /// Unix ms of the last decrease, if any.
    pub last_decrease_ms: Option<i64>,
    pub decreases_today: u64,
}

/// TableStatus. Meridian's table operations complete when they commit, so tables are ACTIVE
/// as soon as they exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableStatus {
    Active,
    Deleting,
}

impl TableStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TableStatus::Active => "ACTIVE",
            TableStatus::Deleting => "DELETING",
        }
    }
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    /// TableId; also the prefix of the table's items in storage, so a re-created table never
    /// sees a dropped table's items.
    pub id: uuid::Uuid,
    pub region: String,
    pub key_schema: KeySchema,
    /// AttributeDefinitions in the order the client gave them.
    pub attribute_definitions: Vec<(String, ScalarType)>,
    pub billing_mode: BillingMode,
    /// Unix ms when the billing mode was last set to PAY_PER_REQUEST.
    pub billing_mode_updated_ms: Option<i64>,
    pub provisioned: ProvisionedThroughput,
    pub tags: BTreeMap<String, String>,
    pub deletion_protection: bool,
    pub table_class: String,
    pub created_ms: i64,
    pub status: TableStatus,
}

impl TableMeta {
    /// The table's ARN.
    pub fn arn(&self) -> String {
        table_arn(&self.region, &self.name)
    }
}

/// The ARN of table `name` in `region`.
pub fn table_arn(region: &str, name: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}")
}
