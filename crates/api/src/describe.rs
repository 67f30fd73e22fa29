//! The TableDescription structure shared by CreateTable, DescribeTable, UpdateTable and
//! DeleteTable responses, serialized straight from [`TableMeta`].

use serde::Serialize;

use model::{BillingMode, TableMeta, TableStatus};

/// A table as DynamoDB describes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TableDescription<'a> {
    attribute_definitions: Vec<AttributeDefinition<'a>>,
    table_name: &'a str,
    key_schema: Vec<KeySchemaElement<'a>>,
    table_status: &'static str,
    creation_date_time: f64,
    provisioned_throughput: Throughput,
    table_size_bytes: u64,
    item_count: u64,
    table_arn: String,
    table_id: String,
    /// Absent for a table that has always been PROVISIONED, as in DynamoDB.
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_mode_summary: Option<BillingModeSummary>,
    deletion_protection_enabled: bool,
    table_class_summary: TableClassSummary<'a>,
    /// Present while the stream is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_specification: Option<StreamSpecification>,
    /// The current or last stream, kept after it is disabled, as in DynamoDB.
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_stream_label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_stream_arn: Option<String>,
    /// The other regions' replicas of a global table.
    #[serde(skip_serializing_if = "Option::is_none")]
    replicas: Option<Vec<crate::global::ReplicaDescription>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    global_table_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    global_secondary_indexes: Vec<crate::index_views::IndexDescription<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    local_secondary_indexes: Vec<crate::index_views::IndexDescription<'a>>,
    /// Present on a table created by a restore.
    #[serde(skip_serializing_if = "Option::is_none")]
    restore_summary: Option<crate::backups::RestoreSummaryWire>,
    warm_throughput: WarmThroughput,
}

/// DynamoDB's warm throughput of a new on-demand table (and of a new on-demand GSI): the
/// read units per second it serves at once.
pub(crate) const ON_DEMAND_WARM_READ_UNITS: u64 = 12_000;
/// The write units per second of [`ON_DEMAND_WARM_READ_UNITS`]' table.
pub(crate) const ON_DEMAND_WARM_WRITE_UNITS: u64 = 4_000;

/// WarmThroughput of a table or a global secondary index, as DescribeTable reports it: for
/// on-demand, DynamoDB's starting values (12,000 reads and 4,000 writes per second); for
/// provisioned capacity, the provisioned units (DynamoDB raises warm throughput to the
/// highest throughput provisioned). Meridian does not throttle, so these are what clients
/// and tools such as Terraform read, not a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WarmThroughput {
    read_units_per_second: u64,
    write_units_per_second: u64,
    status: &'static str,
}

impl WarmThroughput {
    /// The warm throughput of a table or index in `billing` mode with these provisioned
    /// units, in `status`.
    pub(crate) fn of(billing: BillingMode, read: u64, write: u64, status: &'static str) -> Self {
        let (read, write) = match billing {
            BillingMode::PayPerRequest => (ON_DEMAND_WARM_READ_UNITS, ON_DEMAND_WARM_WRITE_UNITS),
            BillingMode::Provisioned => (read.max(1), write.max(1)),
        };
        WarmThroughput {
            read_units_per_second: read,
            write_units_per_second: write,
            status,
        }
    }

    /// (ReadUnitsPerSecond, WriteUnitsPerSecond).
    pub(crate) fn units(&self) -> (u64, u64) {
        (self.read_units_per_second, self.write_units_per_second)
    }

    /// Raised to what CreateTable or UpdateTable set (each dimension the larger of the
    /// default and the stored value), as DynamoDB reports it.
    pub(crate) fn raised(self, set: table::WarmUnits) -> Self {
        WarmThroughput {
            read_units_per_second: self.read_units_per_second.max(set.read),
            write_units_per_second: self.write_units_per_second.max(set.write),
            status: self.status,
        }
    }

    /// The default warm throughput of a table (before anything is set).
    pub(crate) fn of_table(meta: &TableMeta) -> Self {
        let p = &meta.provisioned;
        WarmThroughput::of(
            meta.billing_mode,
            p.read_capacity_units,
            p.write_capacity_units,
            meta.status.as_str(),
        )
    }

    /// The default warm throughput of one of a table's global secondary indexes.
    pub(crate) fn of_index(meta: &TableMeta, index: &model::IndexMeta) -> Self {
        let p = index.provisioned;
        WarmThroughput::of(
            meta.billing_mode,
            p.map_or(0, |p| p.read_capacity_units),
            p.map_or(0, |p| p.write_capacity_units),
            index.status.as_str(),
        )
    }
}

/// The warm throughput stored for a table in the local replica.
pub(crate) fn warm_record(
    region: &dyn crate::Region,
    meta: &TableMeta,
) -> Result<table::WarmRecord, crate::error::ApiError> {
    Ok(table::warm_record(region.store(), meta)?)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct StreamSpecification {
    stream_enabled: bool,
    stream_view_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinition<'a> {
    attribute_name: &'a str,
    attribute_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeySchemaElement<'a> {
    attribute_name: &'a str,
    key_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Throughput {
    #[serde(skip_serializing_if = "Option::is_none")]
    last_increase_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_decrease_date_time: Option<f64>,
    number_of_decreases_today: u64,
    read_capacity_units: u64,
    write_capacity_units: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct BillingModeSummary {
    billing_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_to_pay_per_request_date_time: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct TableClassSummary<'a> {
    table_class: &'a str,
}

/// Epoch milliseconds as the epoch seconds (with fraction) DynamoDB's JSON uses for dates.
pub(crate) fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl<'a> TableDescription<'a> {
    /// Describes `meta` with the given statistics.
    pub(crate) fn new(meta: &'a TableMeta, item_count: u64, size_bytes: u64) -> Self {
        let on_demand = meta.billing_mode == BillingMode::PayPerRequest;
        let p = &meta.provisioned;
        let (global_secondary_indexes, local_secondary_indexes) =
            crate::index_views::describe(meta, &|_| (0, 0));
        TableDescription {
            attribute_definitions: meta
                .attribute_definitions
                .iter()
                .map(|(name, scalar)| AttributeDefinition {
                    attribute_name: name,
                    attribute_type: scalar.as_str(),
                })
                .collect(),
            table_name: &meta.name,
            key_schema: meta
                .key_schema
                .attributes()
                .enumerate()
                .map(|(i, a)| KeySchemaElement {
                    attribute_name: &a.name,
                    key_type: if i == 0 { "HASH" } else { "RANGE" },
                })
                .collect(),
            table_status: meta.status.as_str(),
            creation_date_time: epoch_seconds(meta.created_ms),
            provisioned_throughput: Throughput {
                last_increase_date_time: p.last_increase_ms.map(epoch_seconds),
                last_decrease_date_time: p.last_decrease_ms.map(epoch_seconds),
                number_of_decreases_today: p.decreases_today,
                // On-demand tables report 0/0, as DynamoDB does.
                read_capacity_units: if on_demand { 0 } else { p.read_capacity_units },
                write_capacity_units: if on_demand { 0 } else { p.write_capacity_units },
            },
            table_size_bytes: size_bytes,
            item_count,
            table_arn: meta.arn(),
            table_id: meta.id.to_string(),
            // LastUpdateToPayPerRequestDateTime stays after a switch back to PROVISIONED:
            // it is when PAY_PER_REQUEST was last set.
            billing_mode_summary: (on_demand || meta.billing_mode_updated_ms.is_some()).then(
                || BillingModeSummary {
                    billing_mode: meta.billing_mode.as_str(),
                    last_update_to_pay_per_request_date_time: meta
                        .billing_mode_updated_ms
                        .map(epoch_seconds),
                },
            ),
            deletion_protection_enabled: meta.deletion_protection,
            table_class_summary: TableClassSummary {
                table_class: &meta.table_class,
            },
            stream_specification: meta.stream.as_ref().filter(|s| s.enabled).map(|s| {
                StreamSpecification {
                    stream_enabled: true,
                    stream_view_type: s.view_type.as_str(),
                }
            }),
            latest_stream_label: meta.stream.as_ref().map(|s| s.label.as_str()),
            latest_stream_arn: meta.stream_arn(),
            replicas: crate::global::replica_descriptions(meta),
            global_table_version: meta
                .global_table_version
                .as_deref()
                .filter(|_| meta.is_global()),
            global_secondary_indexes,
            local_secondary_indexes,
            restore_summary: None,
            warm_throughput: WarmThroughput::of_table(meta),
        }
    }

    /// Raises the table's and its global secondary indexes' WarmThroughput to what was set
    /// (`table::warm`). Call after [`TableDescription::with_indexes`], which rebuilds them.
    pub(crate) fn with_warm(mut self, record: &table::WarmRecord) -> Self {
        self.warm_throughput = self.warm_throughput.raised(record.table);
        crate::index_views::raise_warm(&mut self.global_secondary_indexes, record);
        self
    }

    /// Adds the RestoreSummary of a restored table.
    pub(crate) fn with_restore(mut self, summary: Option<&table::backup::RestoreSummary>) -> Self {
        self.restore_summary = summary.map(crate::backups::RestoreSummaryWire::of);
        self
    }

    /// Overrides the status with a name `TableStatus` does not have (a restore answers
    /// CREATING).
    pub(crate) fn with_status_name(mut self, status: &'static str) -> Self {
        self.table_status = status;
        self.warm_throughput.status = status;
        self
    }

    /// Reports each secondary index with its (ItemCount, IndexSizeBytes).
    pub(crate) fn with_indexes(
        mut self,
        meta: &'a TableMeta,
        stats: &dyn Fn(&model::IndexMeta) -> (u64, u64),
    ) -> Self {
        (self.global_secondary_indexes, self.local_secondary_indexes) =
            crate::index_views::describe(meta, stats);
        self
    }

    /// Overrides the status (DeleteTable answers with DELETING).
    pub(crate) fn with_status(mut self, status: TableStatus) -> Self {
        self.table_status = status.as_str();
        self.warm_throughput.status = status.as_str();
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use model::{KeyAttribute, KeySchema, ProvisionedThroughput, ScalarType};
    use serde_json::json;

    pub(crate) fn sample_meta() -> TableMeta {
        TableMeta {
            name: "Music".into(),
            id: uuid::Uuid::nil(),
            region: "us-east-1".into(),
            key_schema: KeySchema {
                partition_rest: Vec::new(),
                sort_rest: Vec::new(),
                partition: KeyAttribute {
                    name: "pk".into(),
                    scalar: ScalarType::S,
                },
                sort: Some(KeyAttribute {
                    name: "sk".into(),
                    scalar: ScalarType::N,
                }),
            },
            attribute_definitions: vec![("pk".into(), ScalarType::S), ("sk".into(), ScalarType::N)],
            billing_mode: BillingMode::PayPerRequest,
            billing_mode_updated_ms: Some(1_700_000_000_500),
            provisioned: ProvisionedThroughput {
                read_capacity_units: 0,
                write_capacity_units: 0,
                last_increase_ms: None,
                last_decrease_ms: None,
                decreases_today: 0,
            },
            tags: Default::default(),
            deletion_protection: false,
            table_class: "STANDARD".into(),
            created_ms: 1_700_000_000_250,
            status: TableStatus::Active,
            global_indexes: Vec::new(),
            local_indexes: Vec::new(),
            stream: None,
            ttl: None,
            replicas: Vec::new(),
            global_table_version: None,
        }
    }

    #[test]
    fn t10_description_shape() {
        let meta = sample_meta();
        let value = serde_json::to_value(TableDescription::new(&meta, 3, 120)).unwrap();
        assert_eq!(
            value,
            json!({
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"}
                ],
                "TableName": "Music",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"}
                ],
                "TableStatus": "ACTIVE",
                "CreationDateTime": 1_700_000_000.25,
                "ProvisionedThroughput": {
                    "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0
                },
                "TableSizeBytes": 120,
                "ItemCount": 3,
                "TableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/Music",
                "TableId": "00000000-0000-0000-0000-000000000000",
                "BillingModeSummary": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "LastUpdateToPayPerRequestDateTime": 1_700_000_000.5
                },
                "DeletionProtectionEnabled": false,
                "TableClassSummary": {"TableClass": "STANDARD"},
                "WarmThroughput": {
                    "ReadUnitsPerSecond": 12_000, "WriteUnitsPerSecond": 4_000, "Status": "ACTIVE"
                }
            })
        );
    }

    #[test]
    fn t10_warm_throughput_follows_billing_mode() {
        let mut meta = sample_meta();
        meta.billing_mode = BillingMode::Provisioned;
        meta.provisioned.read_capacity_units = 7;
        meta.provisioned.write_capacity_units = 3;
        let value = serde_json::to_value(TableDescription::new(&meta, 0, 0)).unwrap();
        assert_eq!(
            value["WarmThroughput"],
            json!({"ReadUnitsPerSecond": 7, "WriteUnitsPerSecond": 3, "Status": "ACTIVE"})
        );
        let deleting = TableDescription::new(&meta, 0, 0).with_status(TableStatus::Deleting);
        let value = serde_json::to_value(deleting).unwrap();
        assert_eq!(value["WarmThroughput"]["Status"], "DELETING");
    }

    #[test]
    fn t10_billing_mode_summary_only_once_on_demand() {
        let mut meta = sample_meta();
        meta.billing_mode = BillingMode::Provisioned;
        meta.billing_mode_updated_ms = None;
        meta.provisioned.read_capacity_units = 5;
        meta.provisioned.write_capacity_units = 5;
        let value = serde_json::to_value(TableDescription::new(&meta, 0, 0)).unwrap();
        assert!(value.get("BillingModeSummary").is_none(), "{value}");
        assert_eq!(value["ProvisionedThroughput"]["ReadCapacityUnits"], 5);

        // Switched from on-demand back to provisioned: the summary says so, with the time
        // PAY_PER_REQUEST was last set.
        meta.billing_mode_updated_ms = Some(1_700_000_000_500);
        let value = serde_json::to_value(TableDescription::new(&meta, 0, 0)).unwrap();
        assert_eq!(
            value["BillingModeSummary"],
            json!({"BillingMode": "PROVISIONED", "LastUpdateToPayPerRequestDateTime": 1_700_000_000.5})
        );
    }
}
