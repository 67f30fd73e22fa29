//! Export and import job records (ExportTableToPointInTime, ImportTable), kept in the state
//! machine so every node of the region describes and lists the same jobs.
//!
//! The data itself moves outside the log: the node that accepted the request writes the
//! export's files from its replica (as of the record's cut) or reads the import's files and
//! proposes their items in batches; the records only go from IN_PROGRESS to COMPLETED or
//! FAILED through the log.

use serde::{Deserialize, Serialize};

use model::TableMeta;
use storage::{ApplyView, Space, Store};

use crate::command::{decode_versioned, encode_versioned};
use crate::error::TableError;

/// ExportStatus / ImportStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    InProgress,
    Completed,
    Failed,
}

impl JobStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
        }
    }
}

/// Where a job's files are: DynamoDB's S3 location, mapped to a local directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: Option<String>,
    pub owner: Option<String>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    pub status: JobStatus,
    /// FailureCode and FailureMessage of a failed job.
    pub failure: Option<(String, String)>,
    pub item_count: u64,
    pub size_bytes: u64,
    /// Import only: items that could not be imported.
    pub error_count: u64,
    /// Import only: items read from the files.
    pub processed_count: u64,
    /// Export only: the manifest-summary.json key (relative to the bucket).
    pub manifest_key: Option<String>,
}

/// One ExportTableToPointInTime job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub arn: String,
    pub table_arn: String,
    pub table_id: uuid::Uuid,
    pub table_name: String,
    /// The ExportTime asked for (None: the time the export was accepted).
    pub export_time_ms: Option<i64>,
    pub location: S3Location,
    pub sse_algorithm: Option<String>,
    pub kms_key_id: Option<String>,
    pub format: String,
    pub client_token: Option<String>,
    /// Set at apply: when the job started and the history position the export reads.
    pub start_ms: i64,
    pub cut_seq: u64,
    pub end_ms: Option<i64>,
    pub result: Option<JobResult>,
}

impl ExportRecord {
    /// The job's status.
    pub fn status(&self) -> JobStatus {
        self.result
            .as_ref()
            .map_or(JobStatus::InProgress, |r| r.status)
    }

    /// The ExportId: the last component of the ARN.
    pub fn export_id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or_default()
    }
}

/// One ImportTable job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub arn: String,
    /// The table it creates, as created.
    pub table: TableMeta,
    pub location: S3Location,
    pub input_format: String,
    pub compression: String,
    /// CSV Delimiter and HeaderList.
    pub csv_delimiter: Option<String>,
    pub csv_header: Option<Vec<String>>,
    pub client_token: Option<String>,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub result: Option<JobResult>,
}

impl ImportRecord {
    /// The job's status.
    pub fn status(&self) -> JobStatus {
        self.result
            .as_ref()
            .map_or(JobStatus::InProgress, |r| r.status)
    }
}

fn export_key(arn: &str) -> Vec<u8> {
    let mut key = b"export/".to_vec();
    key.extend_from_slice(arn.as_bytes());
    key
}

fn import_key(arn: &str) -> Vec<u8> {
    let mut key = b"import/".to_vec();
    key.extend_from_slice(arn.as_bytes());
    key
}

/// An export job by ARN.
pub fn load_export(store: &Store, arn: &str) -> Result<Option<ExportRecord>, TableError> {
    match store.get(Space::Meta, &export_key(arn))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

/// Every export job, by ARN.
pub fn list_exports(store: &Store) -> Result<Vec<ExportRecord>, TableError> {
    let mut out = Vec::new();
    for entry in store.scan_prefix(Space::Meta, b"export/") {
        out.push(decode_versioned(&entry?.1)?);
    }
    Ok(out)
}

/// An import job by ARN.
pub fn load_import(store: &Store, arn: &str) -> Result<Option<ImportRecord>, TableError> {
    match store.get(Space::Meta, &import_key(arn))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

/// Every import job, by ARN.
pub fn list_imports(store: &Store) -> Result<Vec<ImportRecord>, TableError> {
    let mut out = Vec::new();
    for entry in store.scan_prefix(Space::Meta, b"import/") {
        out.push(decode_versioned(&entry?.1)?);
    }
    Ok(out)
}

pub(crate) fn view_export(
    view: &ApplyView<'_>,
    arn: &str,
) -> Result<Option<ExportRecord>, TableError> {
    match view.get(Space::Meta, &export_key(arn))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn put_export(
    view: &mut ApplyView<'_>,
    record: &ExportRecord,
) -> Result<(), TableError> {
    view.put(
        Space::Meta,
        export_key(&record.arn),
        encode_versioned(record)?,
    );
    Ok(())
}

pub(crate) fn view_import(
    view: &ApplyView<'_>,
    arn: &str,
) -> Result<Option<ImportRecord>, TableError> {
    match view.get(Space::Meta, &import_key(arn))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn put_import(
    view: &mut ApplyView<'_>,
    record: &ImportRecord,
) -> Result<(), TableError> {
    view.put(
        Space::Meta,
        import_key(&record.arn),
        encode_versioned(record)?,
    );
    Ok(())
}
