//! On-demand backups, restores and the point-in-time recovery setting, applied through the
//! region's log so that every node holds the same backups and they survive restarts.
//!
//! A backup is a consistent copy of a table's items taken at the log position of its
//! `CreateBackup` command: every stored item value is copied, unchanged, under the backup's
//! own data id in [`Space::Items`] (`data id ‖ the item key after the table id`), and the
//! record (source table definition, counts, time) is kept under `backup/<arn>` in
//! [`Space::Meta`]. A restore creates a new table in one command: it writes each item of the
//! backup (or of the point-in-time reconstruction, `pitr`) through `engine::write_state`, so
//! indexes and statistics are built in the same write set, and records a `RestoreSummary`.

use serde::{Deserialize, Serialize};

use model::{Item, TableMeta, Version};
use storage::{ApplyView, Space, Store};

use crate::catalog::{put_table, view_stats, view_table};
use crate::command::{decode_versioned, encode_versioned, Outcome};
use crate::engine::{tick, write_state, StateChange};
use crate::error::{Rejection, TableError};
use crate::key::decode_item;
use crate::pitr::{self, Cut, PitrState};
use crate::transfer::{self, ExportRecord, ImportRecord, JobResult, JobStatus};

/// The backup and restore exceptions, beyond the generic ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupFault {
    BackupNotFound,
    BackupInUse,
    TableNotFound,
    TableAlreadyExists,
    TableInUse,
    PointInTimeRecoveryUnavailable,
    InvalidRestoreTime,
    ContinuousBackupsUnavailable,
    ExportNotFound,
    ImportNotFound,
    InvalidExportTime,
    ExportConflict,
    ImportConflict,
}

impl BackupFault {
    /// The exception's name (`BackupNotFoundException`).
    pub fn exception(self) -> &'static str {
        match self {
            BackupFault::BackupNotFound => "BackupNotFoundException",
            BackupFault::BackupInUse => "BackupInUseException",
            BackupFault::TableNotFound => "TableNotFoundException",
            BackupFault::TableAlreadyExists => "TableAlreadyExistsException",
            BackupFault::TableInUse => "TableInUseException",
            BackupFault::PointInTimeRecoveryUnavailable => {
                "PointInTimeRecoveryUnavailableException"
            }
            BackupFault::InvalidRestoreTime => "InvalidRestoreTimeException",
            BackupFault::ContinuousBackupsUnavailable => "ContinuousBackupsUnavailableException",
            BackupFault::ExportNotFound => "ExportNotFoundException",
            BackupFault::ImportNotFound => "ImportNotFoundException",
            BackupFault::InvalidExportTime => "InvalidExportTimeException",
            BackupFault::ExportConflict => "ExportConflictException",
            BackupFault::ImportConflict => "ImportConflictException",
        }
    }
}

/// BackupStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupStatus {
    Creating,
    Available,
    Deleted,
}

impl BackupStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Creating => "CREATING",
            BackupStatus::Available => "AVAILABLE",
            BackupStatus::Deleted => "DELETED",
        }
    }
}

/// One on-demand backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRecord {
    pub arn: String,
    pub name: String,
    /// The prefix of the backup's copy of the items in [`Space::Items`].
    pub data_id: uuid::Uuid,
    /// The source table's definition when the backup was taken.
    pub source: TableMeta,
    pub item_count: u64,
    pub size_bytes: u64,
    pub created_ms: i64,
    pub status: BackupStatus,
}

/// RestoreSummary of a restored table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    pub source_backup_arn: Option<String>,
    pub source_table_arn: Option<String>,
    pub restore_ms: i64,
    pub in_progress: bool,
}

/// The backup, restore, PITR, export and import commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BackupCommand {
    /// CreateBackup: copies the table's items now.
    Create {
        table: String,
        name: String,
        arn: String,
        data_id: uuid::Uuid,
    },
    /// DeleteBackup.
    Delete { arn: String },
    /// RestoreTableFromBackup into `target` (complete: new id, indexes, billing).
    RestoreFromBackup { arn: String, target: TableMeta },
    /// RestoreTableToPointInTime; `time_ms` None is the latest restorable time.
    RestoreToTime {
        source: String,
        target: TableMeta,
        time_ms: Option<i64>,
    },
    /// UpdateContinuousBackups.
    SetPitr {
        table: String,
        enabled: bool,
        recovery_days: u32,
    },
    /// ExportTableToPointInTime accepted: the record, IN_PROGRESS.
    StartExport(ExportRecord),
    /// An export's files are written (or it failed).
    FinishExport { arn: String, result: JobResult },
    /// ImportTable accepted: creates the table and the record, IN_PROGRESS.
    StartImport(ImportRecord),
    /// An import's items are in (or it failed).
    FinishImport { arn: String, result: JobResult },
}

/// What a [`BackupCommand`] answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BackupOutcome {
    Backup(BackupRecord),
    /// A restore's new table.
    Restored(TableMeta),
    /// The table and its PITR state after UpdateContinuousBackups.
    Pitr {
        table: TableMeta,
        state: Option<PitrState>,
    },
    Export(ExportRecord),
    Import(ImportRecord),
}

fn backup_key(arn: &str) -> Vec<u8> {
    let mut key = b"backup/".to_vec();
    key.extend_from_slice(arn.as_bytes());
    key
}

fn restore_key(table: &uuid::Uuid) -> Vec<u8> {
    let mut key = b"restore/".to_vec();
    key.extend_from_slice(table.as_bytes());
    key
}

/// A backup by ARN.
pub fn load_backup(store: &Store, arn: &str) -> Result<Option<BackupRecord>, TableError> {
    match store.get(Space::Meta, &backup_key(arn))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

/// Every backup, by ARN.
pub fn list_backups(store: &Store) -> Result<Vec<BackupRecord>, TableError> {
    let mut out = Vec::new();
    for entry in store.scan_prefix(Space::Meta, b"backup/") {
        out.push(decode_versioned(&entry?.1)?);
    }
    Ok(out)
}

/// The RestoreSummary of a table created by a restore.
pub fn restore_summary(
    store: &Store,
    meta: &TableMeta,
) -> Result<Option<RestoreSummary>, TableError> {
    match store.get(Space::Meta, &restore_key(&meta.id))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

fn view_backup(view: &ApplyView<'_>, arn: &str) -> Result<Option<BackupRecord>, TableError> {
    match view.get(Space::Meta, &backup_key(arn))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

fn reject(fault: BackupFault, message: impl Into<String>) -> Outcome {
    Outcome::Rejected(Rejection::Backup(fault, message.into()))
}

fn table_not_found(name: &str) -> Outcome {
    reject(
        BackupFault::TableNotFound,
        format!("Table not found: {name}"),
    )
}

fn backup_not_found(arn: &str) -> Outcome {
    reject(
        BackupFault::BackupNotFound,
        format!("Backup not found: {arn}"),
    )
}

fn table_exists(name: &str) -> Outcome {
    reject(
        BackupFault::TableAlreadyExists,
        format!("Table already exists: {name}"),
    )
}

/// Applies one backup command.
pub(crate) fn apply(
    view: &mut ApplyView<'_>,
    region: &str,
    command: &BackupCommand,
    wall_ms: i64,
) -> Result<Outcome, TableError> {
    match command {
        BackupCommand::Create {
            table,
            name,
            arn,
            data_id,
        } => create(view, table, name, arn, *data_id, wall_ms),
        BackupCommand::Delete { arn } => delete(view, arn),
        BackupCommand::RestoreFromBackup { arn, target } => {
            let Some(backup) = view_backup(view, arn)? else {
                return Ok(backup_not_found(arn));
            };
            if view_table(view, &target.name)?.is_some() {
                return Ok(table_exists(&target.name));
            }
            let items = view
                .scan_prefix(Space::Items, backup.data_id.as_bytes())?
                .into_iter()
                .map(|(key, value)| {
                    let suffix = key
                        .get(storage::keys::TABLE_ID_BYTES..)
                        .unwrap_or_default()
                        .to_vec();
                    Ok((suffix, decode_item(&value)?))
                })
                .collect::<Result<Vec<_>, TableError>>()?;
            let summary = RestoreSummary {
                source_backup_arn: Some(arn.clone()),
                source_table_arn: Some(backup.source.arn()),
                restore_ms: backup.created_ms,
                in_progress: false,
            };
            restore(view, region, target, items, &summary, wall_ms)
        }
        BackupCommand::RestoreToTime {
            source,
            target,
            time_ms,
        } => {
            let Some(meta) = view_table(view, source)? else {
                return Ok(table_not_found(source));
            };
            let Some(state) = pitr::view_state(view, &meta.id)? else {
                return Ok(reject(
                    BackupFault::PointInTimeRecoveryUnavailable,
                    format!("Point in time recovery is not enabled for table '{source}'"),
                ));
            };
            let (earliest, latest) = state.window(wall_ms);
            let cut = match time_ms {
                None => Cut::Seq(state.seq),
                Some(t) if *t < earliest || *t > latest => {
                    return Ok(reject(
                        BackupFault::InvalidRestoreTime,
                        format!(
                            "Restore time must be between {} and {} (EarliestRestorableDateTime and LatestRestorableDateTime)",
                            model::table::stream_label(earliest),
                            model::table::stream_label(latest)
                        ),
                    ))
                }
                Some(t) => Cut::Time(*t),
            };
            if view_table(view, &target.name)?.is_some() {
                return Ok(table_exists(&target.name));
            }
            let items = pitr::view_items_as_of(view, &meta, cut)?;
            let summary = RestoreSummary {
                source_backup_arn: None,
                source_table_arn: Some(meta.arn()),
                restore_ms: time_ms.unwrap_or(latest),
                in_progress: false,
            };
            restore(view, region, target, items, &summary, wall_ms)
        }
        BackupCommand::SetPitr {
            table,
            enabled,
            recovery_days,
        } => {
            let Some(meta) = view_table(view, table)? else {
                return Ok(table_not_found(table));
            };
            let state = pitr::set(view, &meta, *enabled, *recovery_days, wall_ms)?;
            Ok(Outcome::Backup(BackupOutcome::Pitr { table: meta, state }))
        }
        BackupCommand::StartExport(record) => start_export(view, record, wall_ms),
        BackupCommand::FinishExport { arn, result } => {
            let Some(mut record) = transfer::view_export(view, arn)? else {
                return Ok(reject(
                    BackupFault::ExportNotFound,
                    format!("Export not found: {arn}"),
                ));
            };
            if record.status() == JobStatus::InProgress {
                record.result = Some(result.clone());
                record.end_ms = Some(wall_ms);
                transfer::put_export(view, &record)?;
            }
            Ok(Outcome::Backup(BackupOutcome::Export(record)))
        }
        BackupCommand::StartImport(record) => {
            if view_table(view, &record.table.name)?.is_some() {
                return Ok(Outcome::Rejected(Rejection::ResourceInUse(format!(
                    "Table already exists: {}",
                    record.table.name
                ))));
            }
            let mut record = record.clone();
            record.start_ms = wall_ms;
            record.table.created_ms = wall_ms;
            put_table(view, &record.table)?;
            transfer::put_import(view, &record)?;
            Ok(Outcome::Backup(BackupOutcome::Import(record)))
        }
        BackupCommand::FinishImport { arn, result } => {
            let Some(mut record) = transfer::view_import(view, arn)? else {
                return Ok(reject(
                    BackupFault::ImportNotFound,
                    format!("Import not found: {arn}"),
                ));
            };
            if record.status() == JobStatus::InProgress {
                record.result = Some(result.clone());
                record.end_ms = Some(wall_ms);
                transfer::put_import(view, &record)?;
            }
            Ok(Outcome::Backup(BackupOutcome::Import(record)))
        }
    }
}

fn create(
    view: &mut ApplyView<'_>,
    table: &str,
    name: &str,
    arn: &str,
    data_id: uuid::Uuid,
    wall_ms: i64,
) -> Result<Outcome, TableError> {
    let Some(meta) = view_table(view, table)? else {
        return Ok(table_not_found(table));
    };
    if view_backup(view, arn)?.is_some() {
        return Ok(reject(
            BackupFault::BackupInUse,
            format!("Backup already exists: {arn}"),
        ));
    }
    let items = view.scan_prefix(Space::Items, &storage::keys::table_prefix(&meta.id))?;
    for (key, value) in items {
        let mut copy = data_id.as_bytes().to_vec();
        copy.extend_from_slice(key.get(storage::keys::TABLE_ID_BYTES..).unwrap_or_default());
        view.put(Space::Items, copy, value);
    }
    let stats = view_stats(view, &meta)?;
    let record = BackupRecord {
        arn: arn.to_owned(),
        name: name.to_owned(),
        data_id,
        source: meta,
        item_count: stats.item_count,
        size_bytes: stats.size_bytes,
        created_ms: wall_ms,
        status: BackupStatus::Available,
    };
    view.put(Space::Meta, backup_key(arn), encode_versioned(&record)?);
    Ok(Outcome::Backup(BackupOutcome::Backup(record)))
}

fn delete(view: &mut ApplyView<'_>, arn: &str) -> Result<Outcome, TableError> {
    let Some(mut record) = view_backup(view, arn)? else {
        return Ok(backup_not_found(arn));
    };
    view.delete_prefix(Space::Items, record.data_id.as_bytes())?;
    view.delete(Space::Meta, backup_key(arn));
    record.status = BackupStatus::Deleted;
    Ok(Outcome::Backup(BackupOutcome::Backup(record)))
}

/// Creates `target` with `items` (storage keys without table id), indexes and statistics
/// included, and records its RestoreSummary.
fn restore(
    view: &mut ApplyView<'_>,
    region: &str,
    target: &TableMeta,
    items: Vec<(Vec<u8>, Item)>,
    summary: &RestoreSummary,
    wall_ms: i64,
) -> Result<Outcome, TableError> {
    let mut meta = target.clone();
    meta.created_ms = wall_ms;
    put_table(view, &meta)?;
    let version = Version::new(tick(view, wall_ms)?, region.to_owned());
    for (suffix, item) in items {
        let mut storage_key = storage::keys::table_prefix(&meta.id);
        storage_key.extend_from_slice(&suffix);
        write_state(
            view,
            &StateChange {
                meta: &meta,
                storage_key: &storage_key,
                keys: None,
                old: None,
                new: Some(&item),
                version: &version,
                wall_ms,
                by_service: false,
            },
        )?;
    }
    view.put(
        Space::Meta,
        restore_key(&meta.id),
        encode_versioned(summary)?,
    );
    Ok(Outcome::Backup(BackupOutcome::Restored(meta)))
}

fn start_export(
    view: &mut ApplyView<'_>,
    record: &ExportRecord,
    wall_ms: i64,
) -> Result<Outcome, TableError> {
    let Some(meta) = view_table(view, &record.table_name)?.filter(|m| m.id == record.table_id)
    else {
        return Ok(table_not_found(&record.table_arn));
    };
    let Some(state) = pitr::view_state(view, &meta.id)? else {
        return Ok(reject(
            BackupFault::PointInTimeRecoveryUnavailable,
            format!(
                "Point in time recovery is not enabled for table '{}'",
                meta.name
            ),
        ));
    };
    let (earliest, latest) = state.window(wall_ms);
    let cut_seq = match record.export_time_ms {
        None => state.seq,
        Some(t) if t < earliest || t > latest => {
            return Ok(reject(
                BackupFault::InvalidExportTime,
                format!(
                    "Export time must be between {} and {}",
                    model::table::stream_label(earliest),
                    model::table::stream_label(latest)
                ),
            ))
        }
        Some(t) => pitr::seq_at(view, &meta.id, t)?,
    };
    if transfer::view_export(view, &record.arn)?.is_some() {
        return Ok(reject(
            BackupFault::ExportConflict,
            format!("Export already exists: {}", record.arn),
        ));
    }
    let mut record = record.clone();
    record.start_ms = wall_ms;
    record.cut_seq = cut_seq;
    transfer::put_export(view, &record)?;
    Ok(Outcome::Backup(BackupOutcome::Export(record)))
}

/// The history position an export of a table reads (all records up to it kept).
pub fn export_cut(record: &ExportRecord) -> Cut {
    Cut::Seq(record.cut_seq)
}

/// Forgets what backups keep about a dropped table (its RestoreSummary and PITR history);
/// its backups stay, as in DynamoDB.
pub(crate) fn forget_table(view: &mut ApplyView<'_>, meta: &TableMeta) -> Result<(), TableError> {
    view.delete(Space::Meta, restore_key(&meta.id));
    pitr::drop_history(view, meta)
}
