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
    /// GlobalSecondaryIndexes, in creation order.
    pub global_indexes: Vec<IndexMeta>,
    /// LocalSecondaryIndexes (fixed at CreateTable).
    pub local_indexes: Vec<IndexMeta>,
    /// The stream: its specification while enabled, and the last label once disabled (so
    /// LatestStreamArn stays readable, as in DynamoDB).
    pub stream: Option<StreamSpec>,
    /// Time to live.
    pub ttl: Option<TtlSpec>,
    /// The regions holding a replica of this table, this one included; empty for a table
    /// that is not global.
    pub replicas: Vec<Replica>,
    /// The global tables version ("2019.11.21" or "2017.11.29") once the table is global.
    pub global_table_version: Option<String>,
}

/// ProjectionType of a secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectionType {
    KeysOnly,
    Include,
    All,
}

impl ProjectionType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
            ProjectionType::All => "ALL",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "KEYS_ONLY" => Some(ProjectionType::KeysOnly),
            "INCLUDE" => Some(ProjectionType::Include),
            "ALL" => Some(ProjectionType::All),
            _ => None,
        }
    }
}

/// IndexStatus of a global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexStatus {
    Creating,
    Active,
    Deleting,
}

impl IndexStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexStatus::Creating => "CREATING",
            IndexStatus::Active => "ACTIVE",
            IndexStatus::Deleting => "DELETING",
        }
    }
}

/// One secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub name: String,
    /// Prefix of the index's entries in storage, so a re-created index never sees a dropped
    /// one's entries.
    pub id: uuid::Uuid,
    pub key_schema: KeySchema,
    pub projection: ProjectionType,
    /// NonKeyAttributes of an INCLUDE projection.
    pub non_key_attributes: Vec<String>,
    pub status: IndexStatus,
    /// Whether existing items are still being copied into it.
    pub backfilling: bool,
    /// A GSI's provisioned throughput (None for an LSI or an on-demand table).
    pub provisioned: Option<ProvisionedThroughput>,
}

impl IndexMeta {
    /// The index's ARN within table `table`.
    pub fn arn(&self, table: &TableMeta) -> String {
        format!("{}/index/{}", table.arn(), self.name)
    }
}

/// StreamViewType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamViewType {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamViewType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamViewType::KeysOnly => "KEYS_ONLY",
            StreamViewType::NewImage => "NEW_IMAGE",
            StreamViewType::OldImage => "OLD_IMAGE",
            StreamViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "KEYS_ONLY" => Some(StreamViewType::KeysOnly),
            "NEW_IMAGE" => Some(StreamViewType::NewImage),
            "OLD_IMAGE" => Some(StreamViewType::OldImage),
            "NEW_AND_OLD_IMAGES" => Some(StreamViewType::NewAndOldImages),
            _ => None,
        }
    }
}

/// A table's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSpec {
    pub enabled: bool,
    pub view_type: StreamViewType,
    /// StreamLabel: the creation time as DynamoDB formats it (`2026-11-21T23:47:50.123`).
    pub label: String,
    /// Unix ms when the stream was enabled.
    pub created_ms: i64,
    /// The first change-log sequence number of this stream: a re-enabled stream (a new label)
    /// starts after the records of the one before.
    pub start_seq: u64,
    /// The last sequence number of this stream once it is disabled (its shard is closed).
    pub end_seq: Option<u64>,
    /// Unix ms when it was disabled.
    pub disabled_ms: Option<i64>,
    /// Earlier streams of the table, disabled less than the retention period ago: still
    /// readable by their ARNs, as in DynamoDB (each has an empty `previous`).
    pub previous: Vec<StreamSpec>,
}

impl StreamSpec {
    /// A stream enabled at `created_ms` whose first record will be `start_seq`.
    pub fn new(view_type: StreamViewType, created_ms: i64, start_seq: u64) -> StreamSpec {
        StreamSpec {
            enabled: true,
            view_type,
            label: stream_label(created_ms),
            created_ms,
            start_seq,
            end_seq: None,
            disabled_ms: None,
            previous: Vec::new(),
        }
    }

    /// This stream and the earlier ones still kept, newest first.
    pub fn all(&self) -> impl Iterator<Item = &StreamSpec> {
        std::iter::once(self).chain(self.previous.iter().rev())
    }
}

/// A StreamLabel as DynamoDB writes it: the creation time in UTC, `2026-11-21T23:47:50.123`.
pub fn stream_label(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A table's time-to-live setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtlSpec {
    pub attribute: String,
    pub enabled: bool,
}

/// ReplicaStatus of one replica of a global table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaStatus {
    Creating,
    Active,
    Deleting,
}

impl ReplicaStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaStatus::Creating => "CREATING",
            ReplicaStatus::Active => "ACTIVE",
            ReplicaStatus::Deleting => "DELETING",
        }
    }
}

/// One replica of a global table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub region: String,
    pub status: ReplicaStatus,
}

impl TableMeta {
    /// The table's ARN.
    pub fn arn(&self) -> String {
        table_arn(&self.region, &self.name)
    }

    /// Whether the table has replicas in other regions.
    pub fn is_global(&self) -> bool {
        self.replicas.iter().any(|r| r.region != self.region)
    }

    /// Whether the stream is enabled.
    pub fn stream_enabled(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.enabled)
    }

    /// Whether applied writes must be recorded in the change log: for the stream, or for
    /// shipping to other regions.
    pub fn records_changes(&self) -> bool {
        self.stream_enabled() || self.is_global()
    }

    /// The other regions this table replicates to.
    pub fn replica_destinations(&self) -> impl Iterator<Item = &str> {
        self.replicas
            .iter()
            .filter(move |r| r.region != self.region)
            .map(|r| r.region.as_str())
    }

    /// A secondary index (global or local) by name.
    pub fn index(&self, name: &str) -> Option<&IndexMeta> {
        self.global_indexes
            .iter()
            .chain(&self.local_indexes)
            .find(|i| i.name == name)
    }

    /// Every secondary index, global then local.
    pub fn indexes(&self) -> impl Iterator<Item = &IndexMeta> {
        self.global_indexes.iter().chain(&self.local_indexes)
    }

    /// The stream's ARN, if the table has (or had) a stream.
    pub fn stream_arn(&self) -> Option<String> {
        self.stream.as_ref().map(|s| self.arn_of_stream(s))
    }

    /// The ARN of one of the table's streams (the current one or an earlier one).
    pub fn arn_of_stream(&self, stream: &StreamSpec) -> String {
        format!("{}/stream/{}", self.arn(), stream.label)
    }
}

/// The ARN of table `name` in `region`.
pub fn table_arn(region: &str, name: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_stream_label_is_utc_with_millis() {
        assert_eq!(stream_label(0), "1970-01-01T00:00:00.000");
        // 2024-02-29T12:34:56.789Z
        assert_eq!(stream_label(1_709_210_096_789), "2024-02-29T12:34:56.789");
        assert_eq!(stream_label(1_700_000_000_000), "2023-11-14T22:13:20.000");
    }
}
