//! On-demand backups and point-in-time recovery: CreateBackup, DescribeBackup, ListBackups,
//! DeleteBackup, RestoreTableFromBackup, RestoreTableToPointInTime,
//! DescribeContinuousBackups and UpdateContinuousBackups.
//!
//! Every change is a `table::backup::BackupCommand` through the region's log; reads come from
//! the local replica. Backups are per region, as in DynamoDB.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use model::{BillingMode, IndexStatus, ProvisionedThroughput, TableMeta, TableStatus};
use table::backup::{BackupCommand, BackupFault, BackupOutcome, BackupRecord, RestoreSummary};
use table::pitr::{PitrState, RECOVERY_PERIOD_DAYS_MAX};
use table::{Command, Outcome};

use crate::describe::{epoch_seconds, TableDescription};
use crate::error::ApiError;
use crate::operation::Operation;
use crate::request::{json_body, propose};
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

/// ListBackups' Limit bounds.
const LIST_BACKUPS_LIMIT_MAX: i64 = 100;
/// BackupName length bounds.
const BACKUP_NAME_LEN_MIN: usize = 3;
const BACKUP_NAME_LEN_MAX: usize = 255;

/// A decoded backup or PITR request.
#[derive(Debug)]
pub enum BackupRequest {
    Create {
        table: String,
        name: String,
    },
    Describe {
        arn: String,
    },
    List(ListBackups),
    Delete {
        arn: String,
    },
    Restore(Restore),
    DescribeContinuous {
        table: String,
    },
    UpdateContinuous {
        table: String,
        enabled: bool,
        recovery_days: u32,
    },
}

/// A validated ListBackups.
#[derive(Debug)]
pub struct ListBackups {
    table: Option<String>,
    limit: usize,
    lower_ms: Option<i64>,
    upper_ms: Option<i64>,
    /// USER, SYSTEM, AWS_BACKUP or ALL.
    backup_type: String,
    exclusive_start: Option<String>,
}

/// RestoreTableFromBackup or RestoreTableToPointInTime.
#[derive(Debug)]
pub struct Restore {
    target: String,
    /// A backup ARN, or a source table with an optional time (None: latest).
    source: RestoreSource,
    overrides: Overrides,
}

#[derive(Debug)]
enum RestoreSource {
    Backup(String),
    Table { name: String, time_ms: Option<i64> },
}

/// The table settings a restore may change.
#[derive(Debug, Default)]
struct Overrides {
    billing_mode: Option<BillingMode>,
    provisioned: Option<(u64, u64)>,
    global: Option<Value>,
    local: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    table_name: Option<String>,
    backup_name: Option<String>,
    backup_arn: Option<String>,
    limit: Option<i64>,
    time_range_lower_bound: Option<f64>,
    time_range_upper_bound: Option<f64>,
    backup_type: Option<String>,
    exclusive_start_backup_arn: Option<String>,
    target_table_name: Option<String>,
    source_table_name: Option<String>,
    source_table_arn: Option<String>,
    use_latest_restorable_time: Option<bool>,
    restore_date_time: Option<f64>,
    billing_mode_override: Option<String>,
    provisioned_throughput_override: Option<crate::tables::ThroughputWire>,
    global_secondary_index_override: Option<Value>,
    local_secondary_index_override: Option<Value>,
    #[serde(rename = "SSESpecificationOverride")]
    sse_specification_override: Option<Value>,
    on_demand_throughput_override: Option<Value>,
    point_in_time_recovery_specification: Option<PitrSpecWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PitrSpecWire {
    point_in_time_recovery_enabled: Option<bool>,
    recovery_period_in_days: Option<i64>,
}

/// Epoch seconds (with fraction) as ms.
pub(crate) fn ms_of(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// A table named by name or by ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>`).
pub(crate) fn table_of(v: &mut Violations, field: &str, name: Option<&str>) -> String {
    let name = name.map(|n| match n.strip_prefix("arn:") {
        Some(rest) => rest.split_once(":table/").map_or(n, |(_, t)| t),
        None => n,
    });
    v.table_name(field, name)
}

/// Decodes one of the backup operations.
pub(crate) fn decode(op: Operation, body: &[u8]) -> Result<BackupRequest, ApiError> {
    let wire: Wire = parse_body(body)?;
    let mut v = Violations::new();
    let request = match op {
        Operation::CreateBackup => {
            let table = table_of(&mut v, "tableName", wire.table_name.as_deref());
            let name = v.required("backupName", &wire.backup_name).cloned();
            if let Some(name) = &name {
                v.length(
                    "backupName",
                    name,
                    name.len(),
                    BACKUP_NAME_LEN_MIN,
                    BACKUP_NAME_LEN_MAX,
                );
                if !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                {
                    v.push(
                        name,
                        "backupName",
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
                    );
                }
            }
            BackupRequest::Create {
                table,
                name: name.unwrap_or_default(),
            }
        }
        Operation::DescribeBackup | Operation::DeleteBackup => {
            let arn = v.required("backupArn", &wire.backup_arn).cloned();
            if let Some(arn) = &arn {
                v.length("backupArn", arn, arn.len(), 37, 1024);
            }
            let arn = arn.unwrap_or_default();
            if op == Operation::DescribeBackup {
                BackupRequest::Describe { arn }
            } else {
                BackupRequest::Delete { arn }
            }
        }
        Operation::ListBackups => {
            let table = wire
                .table_name
                .as_deref()
                .map(|n| table_of(&mut v, "tableName", Some(n)));
            if let Some(limit) = wire.limit {
                v.at_least("limit", limit, 1);
                v.at_most("limit", limit, LIST_BACKUPS_LIMIT_MAX);
            }
            let backup_type = v
                .enumeration(
                    "backupType",
                    wire.backup_type.as_deref(),
                    &[
                        ("USER", "USER"),
                        ("SYSTEM", "SYSTEM"),
                        ("AWS_BACKUP", "AWS_BACKUP"),
                        ("ALL", "ALL"),
                    ],
                    "USER, SYSTEM, AWS_BACKUP, ALL",
                )
                .unwrap_or("USER");
            BackupRequest::List(ListBackups {
                table,
                limit: usize::try_from(wire.limit.unwrap_or(LIST_BACKUPS_LIMIT_MAX)).unwrap_or(100),
                lower_ms: wire.time_range_lower_bound.map(ms_of),
                upper_ms: wire.time_range_upper_bound.map(ms_of),
                backup_type: backup_type.to_owned(),
                exclusive_start: wire.exclusive_start_backup_arn.clone(),
            })
        }
        Operation::RestoreTableFromBackup | Operation::RestoreTableToPointInTime => {
            let target = v.table_name("targetTableName", wire.target_table_name.as_deref());
            let source = if op == Operation::RestoreTableFromBackup {
                RestoreSource::Backup(
                    v.required("backupArn", &wire.backup_arn)
                        .cloned()
                        .unwrap_or_default(),
                )
            } else {
                let name = match (&wire.source_table_name, &wire.source_table_arn) {
                    (Some(_), Some(_)) | (None, None) => None,
                    (Some(n), None) => Some(table_of(&mut v, "sourceTableName", Some(n))),
                    (None, Some(a)) => Some(table_of(&mut v, "sourceTableArn", Some(a))),
                };
                let latest = wire.use_latest_restorable_time.unwrap_or(false);
                let time_ms = wire.restore_date_time.map(ms_of);
                std::mem::replace(&mut v, Violations::new()).finish()?;
                let Some(name) = name else {
                    return Err(ApiError::validation(
                        "SourceTableName or SourceTableArn must be specified, but not both",
                    ));
                };
                match (latest, time_ms) {
                    (true, Some(_)) => return Err(ApiError::validation(
                        "Only one of RestoreDateTime or UseLatestRestorableTime can be specified",
                    )),
                    (false, None) => {
                        return Err(ApiError::validation(
                            "Either RestoreDateTime or UseLatestRestorableTime must be specified",
                        ))
                    }
                    _ => {}
                }
                RestoreSource::Table { name, time_ms }
            };
            let billing_mode = v.enumeration(
                "billingModeOverride",
                wire.billing_mode_override.as_deref(),
                crate::tables::BILLING_MODES,
                crate::tables::BILLING_MODES_SHOWN,
            );
            let provisioned = wire
                .provisioned_throughput_override
                .as_ref()
                .map(|t| crate::tables::throughput(&mut v, t));
            let _ = (
                &wire.sse_specification_override,
                &wire.on_demand_throughput_override,
            );
            let provisioned = match provisioned {
                Some((Some(r), Some(w))) => Some((r, w)),
                Some(_) => {
                    std::mem::replace(&mut v, Violations::new()).finish()?;
                    return Err(ApiError::validation(
                        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified",
                    ));
                }
                None => None,
            };
            BackupRequest::Restore(Restore {
                target,
                source,
                overrides: Overrides {
                    billing_mode,
                    provisioned,
                    global: wire
                        .global_secondary_index_override
                        .filter(|g| !g.is_null()),
                    local: wire.local_secondary_index_override.filter(|l| !l.is_null()),
                },
            })
        }
        Operation::DescribeContinuousBackups => BackupRequest::DescribeContinuous {
            table: table_of(&mut v, "tableName", wire.table_name.as_deref()),
        },
        Operation::UpdateContinuousBackups => {
            let table = table_of(&mut v, "tableName", wire.table_name.as_deref());
            let spec = v.required(
                "pointInTimeRecoverySpecification",
                &wire.point_in_time_recovery_specification,
            );
            let enabled = spec.and_then(|s| {
                v.required(
                    "pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled",
                    &s.point_in_time_recovery_enabled,
                )
                .copied()
            });
            let days = spec.and_then(|s| s.recovery_period_in_days);
            if let Some(days) = days {
                let field = "pointInTimeRecoverySpecification.recoveryPeriodInDays";
                v.at_least(field, days, 1);
                v.at_most(field, days, i64::from(RECOVERY_PERIOD_DAYS_MAX));
            }
            std::mem::replace(&mut v, Violations::new()).finish()?;
            if enabled == Some(false) && days.is_some() {
                return Err(ApiError::validation(
                    "RecoveryPeriodInDays can only be specified when PointInTimeRecoveryEnabled is true",
                ));
            }
            BackupRequest::UpdateContinuous {
                table,
                enabled: enabled.unwrap_or(false),
                recovery_days: days
                    .and_then(|d| u32::try_from(d).ok())
                    .unwrap_or(RECOVERY_PERIOD_DAYS_MAX),
            }
        }
        other => return Err(ApiError::Unsupported(other)),
    };
    v.finish()?;
    Ok(request)
}

/// Runs a backup request.
pub(crate) async fn execute(region: &dyn Region, req: BackupRequest) -> Result<Vec<u8>, ApiError> {
    match req {
        BackupRequest::Create { table, name } => {
            let now_ms = region.clock().now_ms();
            let arn = format!(
                "{}/backup/{:014}-{}",
                model::table::table_arn(region.region_name(), &table),
                now_ms.max(0),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            );
            let command = BackupCommand::Create {
                table,
                name,
                arn,
                data_id: uuid::Uuid::new_v4(),
            };
            let record = expect_backup(propose(region, &Command::Backup(command)).await?)?;
            #[derive(Serialize)]
            #[serde(rename_all = "PascalCase")]
            struct Output {
                backup_details: BackupDetails,
            }
            json_body(&Output {
                backup_details: BackupDetails::of(&record),
            })
        }
        BackupRequest::Describe { arn } => {
            let record = table::backup::load_backup(region.store(), &arn)?
                .ok_or_else(|| backup_not_found(&arn))?;
            json_body(&DescriptionOutput {
                backup_description: BackupDescription::of(&record),
            })
        }
        BackupRequest::Delete { arn } => {
            let command = BackupCommand::Delete { arn };
            let record = expect_backup(propose(region, &Command::Backup(command)).await?)?;
            json_body(&DescriptionOutput {
                backup_description: BackupDescription::of(&record),
            })
        }
        BackupRequest::List(req) => list(region, &req),
        BackupRequest::Restore(req) => restore(region, req).await,
        BackupRequest::DescribeContinuous { table } => {
            let meta = load_table(region, &table)?;
            let state = table::pitr::pitr_state(region.store(), &meta)?;
            continuous_output(state, region.clock().now_ms())
        }
        BackupRequest::UpdateContinuous {
            table,
            enabled,
            recovery_days,
        } => {
            let command = BackupCommand::SetPitr {
                table,
                enabled,
                recovery_days,
            };
            match propose(region, &Command::Backup(command)).await? {
                Outcome::Backup(BackupOutcome::Pitr { state, .. }) => {
                    continuous_output(state, region.clock().now_ms())
                }
                other => Err(unexpected(&other)),
            }
        }
    }
}

fn unexpected(outcome: &Outcome) -> ApiError {
    ApiError::internal(format_args!("unexpected outcome {outcome:?}"))
}

fn expect_backup(outcome: Outcome) -> Result<BackupRecord, ApiError> {
    match outcome {
        Outcome::Backup(BackupOutcome::Backup(record)) => Ok(record),
        other => Err(unexpected(&other)),
    }
}

fn backup_not_found(arn: &str) -> ApiError {
    ApiError::Backup(
        BackupFault::BackupNotFound,
        format!("Backup not found: {arn}"),
    )
}

/// A table of the local replica, or TableNotFoundException.
pub(crate) fn load_table(region: &dyn Region, name: &str) -> Result<TableMeta, ApiError> {
    table::load_table(region.store(), name)?.ok_or_else(|| {
        ApiError::Backup(
            BackupFault::TableNotFound,
            format!("Table not found: {name}"),
        )
    })
}

fn list(region: &dyn Region, req: &ListBackups) -> Result<Vec<u8>, ApiError> {
    let mut backups = table::backup::list_backups(region.store())?;
    // Only USER backups exist here; SYSTEM and AWS_BACKUP list nothing.
    if !matches!(req.backup_type.as_str(), "USER" | "ALL") {
        backups.clear();
    }
    backups.retain(|b| {
        req.table.as_ref().is_none_or(|t| &b.source.name == t)
            && req.lower_ms.is_none_or(|l| b.created_ms >= l)
            && req.upper_ms.is_none_or(|u| b.created_ms < u)
    });
    backups.sort_by(|a, b| (a.created_ms, &a.arn).cmp(&(b.created_ms, &b.arn)));
    let start = match &req.exclusive_start {
        Some(arn) => backups
            .iter()
            .position(|b| &b.arn == arn)
            .map_or(0, |i| i + 1),
        None => 0,
    };
    let rest = &backups[start.min(backups.len())..];
    let page = &rest[..rest.len().min(req.limit)];
    let more = rest.len() > page.len();
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Summary<'a> {
        table_name: &'a str,
        table_id: String,
        table_arn: String,
        backup_arn: &'a str,
        backup_name: &'a str,
        backup_creation_date_time: f64,
        backup_status: &'static str,
        backup_type: &'static str,
        backup_size_bytes: u64,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        backup_summaries: Vec<Summary<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        last_evaluated_backup_arn: Option<&'a str>,
    }
    json_body(&Output {
        backup_summaries: page
            .iter()
            .map(|b| Summary {
                table_name: &b.source.name,
                table_id: b.source.id.to_string(),
                table_arn: b.source.arn(),
                backup_arn: &b.arn,
                backup_name: &b.name,
                backup_creation_date_time: epoch_seconds(b.created_ms),
                backup_status: b.status.as_str(),
                backup_type: "USER",
                backup_size_bytes: b.size_bytes,
            })
            .collect(),
        last_evaluated_backup_arn: if more {
            page.last().map(|b| b.arn.as_str())
        } else {
            None
        },
    })
}

/// BackupDetails.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BackupDetails {
    backup_arn: String,
    backup_name: String,
    backup_size_bytes: u64,
    backup_status: &'static str,
    backup_type: &'static str,
    backup_creation_date_time: f64,
}

impl BackupDetails {
    fn of(record: &BackupRecord) -> Self {
        BackupDetails {
            backup_arn: record.arn.clone(),
            backup_name: record.name.clone(),
            backup_size_bytes: record.size_bytes,
            backup_status: record.status.as_str(),
            backup_type: "USER",
            backup_creation_date_time: epoch_seconds(record.created_ms),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescriptionOutput<'a> {
    backup_description: BackupDescription<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BackupDescription<'a> {
    backup_details: BackupDetails,
    source_table_details: SourceTableDetails<'a>,
    source_table_feature_details: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SourceTableDetails<'a> {
    table_name: &'a str,
    table_id: String,
    table_arn: String,
    table_size_bytes: u64,
    key_schema: Value,
    table_creation_date_time: f64,
    provisioned_throughput: Value,
    item_count: u64,
    billing_mode: &'static str,
}

impl<'a> BackupDescription<'a> {
    fn of(record: &'a BackupRecord) -> Self {
        let source = &record.source;
        // The table's own description has every shape the backup describes.
        let described =
            serde_json::to_value(TableDescription::new(source, 0, 0)).unwrap_or(Value::Null);
        let mut features = serde_json::Map::new();
        for (from, to) in [
            ("GlobalSecondaryIndexes", "GlobalSecondaryIndexes"),
            ("LocalSecondaryIndexes", "LocalSecondaryIndexes"),
            ("StreamSpecification", "StreamDescription"),
        ] {
            if let Some(value) = described.get(from) {
                features.insert(to.to_owned(), value.clone());
            }
        }
        if let Some(ttl) = &source.ttl {
            features.insert(
                "TimeToLiveDescription".to_owned(),
                serde_json::json!({
                    "TimeToLiveStatus": if ttl.enabled { "ENABLED" } else { "DISABLED" },
                    "AttributeName": ttl.attribute,
                }),
            );
        }
        let on_demand = source.billing_mode == BillingMode::PayPerRequest;
        BackupDescription {
            backup_details: BackupDetails::of(record),
            source_table_details: SourceTableDetails {
                table_name: &source.name,
                table_id: source.id.to_string(),
                table_arn: source.arn(),
                table_size_bytes: record.size_bytes,
                key_schema: described.get("KeySchema").cloned().unwrap_or(Value::Null),
                table_creation_date_time: epoch_seconds(source.created_ms),
                provisioned_throughput: serde_json::json!({
                    "ReadCapacityUnits": if on_demand { 0 } else { source.provisioned.read_capacity_units },
                    "WriteCapacityUnits": if on_demand { 0 } else { source.provisioned.write_capacity_units },
                }),
                item_count: record.item_count,
                billing_mode: source.billing_mode.as_str(),
            },
            source_table_feature_details: Value::Object(features),
        }
    }
}

fn continuous_output(state: Option<PitrState>, now_ms: i64) -> Result<Vec<u8>, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct PitrDescription {
        point_in_time_recovery_status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        recovery_period_in_days: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        earliest_restorable_date_time: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        latest_restorable_date_time: Option<f64>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Description {
        continuous_backups_status: &'static str,
        point_in_time_recovery_description: PitrDescription,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        continuous_backups_description: Description,
    }
    let window = state.map(|s| s.window(now_ms));
    json_body(&Output {
        continuous_backups_description: Description {
            continuous_backups_status: "ENABLED",
            point_in_time_recovery_description: PitrDescription {
                point_in_time_recovery_status: if state.is_some() {
                    "ENABLED"
                } else {
                    "DISABLED"
                },
                recovery_period_in_days: state.map(|s| s.recovery_days),
                earliest_restorable_date_time: window.map(|w| epoch_seconds(w.0)),
                latest_restorable_date_time: window.map(|w| epoch_seconds(w.1)),
            },
        },
    })
}

async fn restore(region: &dyn Region, req: Restore) -> Result<Vec<u8>, ApiError> {
    // The backup, the source table and the target name are read from this node's replica:
    // on a follower, first catch up with every write acknowledged anywhere (a backup created
    // a moment ago through another node, a table just deleted).
    region.linearize().await?;
    if table::load_table(region.store(), &req.target)?.is_some() {
        return Err(ApiError::Backup(
            BackupFault::TableAlreadyExists,
            format!("Table already exists: {}", req.target),
        ));
    }
    let (source, command_of): (
        TableMeta,
        Box<dyn FnOnce(TableMeta) -> BackupCommand + Send>,
    ) = match req.source {
        RestoreSource::Backup(arn) => {
            let record = table::backup::load_backup(region.store(), &arn)?
                .ok_or_else(|| backup_not_found(&arn))?;
            (
                record.source,
                Box::new(move |target| BackupCommand::RestoreFromBackup { arn, target }),
            )
        }
        RestoreSource::Table { name, time_ms } => {
            let meta = load_table(region, &name)?;
            (
                meta,
                Box::new(move |target| BackupCommand::RestoreToTime {
                    source: name,
                    target,
                    time_ms,
                }),
            )
        }
    };
    let target = target_meta(region, &source, req.target, &req.overrides)?;
    let command = command_of(target);
    let meta = match propose(region, &Command::Backup(command)).await? {
        Outcome::Backup(BackupOutcome::Restored(meta)) => meta,
        other => return Err(unexpected(&other)),
    };
    // The restore was applied on the leader; on a follower, wait until it is applied here
    // too before reading its statistics and RestoreSummary. The restore is done either way:
    // if this wait fails, answer with what this replica has rather than an error.
    if let Err(e) = region.linearize().await {
        tracing::warn!(error = ?e, "restore applied, but not yet on this node");
    }
    let stats = table::table_stats(region.store(), &meta).unwrap_or_default();
    let summary = table::backup::restore_summary(region.store(), &meta)?;
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        table_description: TableDescription<'a>,
    }
    // DynamoDB answers a restore with the new table CREATING; here the restore is one log
    // entry, so the table is ACTIVE by the time anyone can describe it.
    json_body(&Output {
        table_description: TableDescription::new(&meta, stats.item_count, stats.size_bytes)
            .with_restore(summary.as_ref())
            .with_status_name("CREATING"),
    })
}

/// The new table of a restore: the source's key schema, attribute definitions, indexes and
/// billing, with the request's overrides; no stream, TTL, tags or PITR (DynamoDB does not
/// restore them either).
fn target_meta(
    region: &dyn Region,
    source: &TableMeta,
    name: String,
    overrides: &Overrides,
) -> Result<TableMeta, ApiError> {
    let billing_mode = overrides.billing_mode.unwrap_or(source.billing_mode);
    let provisioned = match (billing_mode, overrides.provisioned) {
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ))
        }
        (BillingMode::PayPerRequest, None) => (0, 0),
        (BillingMode::Provisioned, Some(p)) => p,
        (BillingMode::Provisioned, None) if source.billing_mode == BillingMode::Provisioned => (
            source.provisioned.read_capacity_units,
            source.provisioned.write_capacity_units,
        ),
        (BillingMode::Provisioned, None) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
            ))
        }
    };
    let fresh = |index: &model::IndexMeta, global: bool| {
        let mut index = crate::indexes::with_fresh_id(index.clone());
        index.status = IndexStatus::Active;
        index.backfilling = false;
        index.provisioned = match (global, billing_mode) {
            (false, _) | (true, BillingMode::PayPerRequest) => None,
            (true, BillingMode::Provisioned) => {
                index.provisioned.or_else(|| Some(throughput(provisioned)))
            }
        };
        index
    };
    let mut global: Vec<_> = source
        .global_indexes
        .iter()
        .map(|i| fresh(i, true))
        .collect();
    let mut local: Vec<_> = source
        .local_indexes
        .iter()
        .map(|i| fresh(i, false))
        .collect();
    let mut definitions = source.attribute_definitions.clone();
    if overrides.global.is_some() || overrides.local.is_some() {
        // Keep the definitions of the attributes the table's and the kept indexes' keys use.
        let mut used: Vec<String> = source
            .key_schema
            .attributes()
            .map(|a| a.name.clone())
            .collect();
        let override_keys = |value: &Option<Value>, used: &mut Vec<String>| {
            for index in value
                .iter()
                .flat_map(|v| v.as_array().into_iter().flatten())
            {
                for key in index
                    .get("KeySchema")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = key.get("AttributeName").and_then(Value::as_str) {
                        used.push(name.to_owned());
                    }
                }
            }
        };
        override_keys(&overrides.global, &mut used);
        override_keys(&overrides.local, &mut used);
        let kept = |indexes: &[model::IndexMeta], used: &mut Vec<String>| {
            for index in indexes {
                used.extend(index.key_schema.attributes().map(|a| a.name.clone()));
            }
        };
        if overrides.global.is_none() {
            kept(&source.global_indexes, &mut used);
        }
        if overrides.local.is_none() {
            kept(&source.local_indexes, &mut used);
        }
        definitions.retain(|(n, _)| used.contains(n));
        let mut v = Violations::new();
        let specs = crate::indexes::decode_create(
            &mut v,
            overrides.global.as_ref(),
            overrides.local.as_ref(),
        )?;
        v.finish()?;
        let (g, l) =
            crate::indexes::build_create(&specs, &source.key_schema, &definitions, billing_mode)
                .or_else(|e| match e {
                    // Definitions of dropped indexes were pruned above; any other unused
                    // one cannot be (the source table was valid).
                    ApiError::Validation(m) if m.contains("AttributeDefinitions are not used") => {
                        Ok((Vec::new(), Vec::new()))
                    }
                    other => Err(other),
                })?;
        if overrides.global.is_some() {
            global = g.into_iter().map(crate::indexes::with_fresh_id).collect();
        }
        if overrides.local.is_some() {
            local = l.into_iter().map(crate::indexes::with_fresh_id).collect();
        }
    }
    let now_ms = region.clock().now_ms();
    Ok(TableMeta {
        name,
        id: uuid::Uuid::new_v4(),
        region: region.region_name().to_owned(),
        key_schema: source.key_schema.clone(),
        attribute_definitions: definitions,
        billing_mode,
        billing_mode_updated_ms: (billing_mode == BillingMode::PayPerRequest).then_some(now_ms),
        provisioned: throughput(provisioned),
        tags: Default::default(),
        deletion_protection: false,
        table_class: source.table_class.clone(),
        created_ms: now_ms,
        status: TableStatus::Active,
        global_indexes: global,
        local_indexes: local,
        stream: None,
        ttl: None,
        replicas: Vec::new(),
        global_table_version: None,
    })
}

fn throughput((read, write): (u64, u64)) -> ProvisionedThroughput {
    ProvisionedThroughput {
        read_capacity_units: read,
        write_capacity_units: write,
        last_increase_ms: None,
        last_decrease_ms: None,
        decreases_today: 0,
    }
}

/// The RestoreSummary member of a restored table's description.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RestoreSummaryWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    source_backup_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_table_arn: Option<String>,
    restore_date_time: f64,
    restore_in_progress: bool,
}

impl RestoreSummaryWire {
    pub(crate) fn of(summary: &RestoreSummary) -> Self {
        RestoreSummaryWire {
            source_backup_arn: summary.source_backup_arn.clone(),
            source_table_arn: summary.source_table_arn.clone(),
            restore_date_time: epoch_seconds(summary.restore_ms),
            restore_in_progress: summary.in_progress,
        }
    }
}
