//! ExportTableToPointInTime, DescribeExport, ListExports, ImportTable, DescribeImport and
//! ListImports, with S3 mapped to a local directory.
//!
//! A bucket is the directory `<export root>/exports/<bucket>`, an object key a path below it.
//! The export root is `MERIDIAN_EXPORT_ROOT` if set, else the node's data directory (the
//! parent of its store), else `<temp dir>/meridian`. An export writes what DynamoDB writes:
//! `<prefix>/AWSDynamoDB/<export id>/` with `_started`, `data/<uuid>.json.gz` (DYNAMODB_JSON
//! lines), `manifest-files.json` and `manifest-summary.json`. An import reads every object
//! under its key prefix (DYNAMODB_JSON or CSV, GZIP or NONE), skipping an export's own
//! manifest and marker files.
//!
//! The job records go through the log (`table::transfer`); the files are written or read by
//! the node that accepted the request, before it answers (with the IN_PROGRESS description,
//! as DynamoDB answers), so DescribeExport/DescribeImport show COMPLETED (or FAILED) from then
//! on.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use model::{Item, ScalarType, TableMeta, WireItem};
use table::backup::{BackupCommand, BackupFault, BackupOutcome};
use table::transfer::{ExportRecord, ImportRecord, JobResult, JobStatus, S3Location};
use table::{Command, ItemWrite, Outcome, ReturnValues, WriteKind};

use crate::backups::{ms_of, table_of};
use crate::describe::epoch_seconds;
use crate::error::ApiError;
use crate::operation::Operation;
use crate::request::{json_body, propose};
use crate::validate::Violations;
use crate::wire::parse_body;
use crate::Region;

/// Overrides where buckets live.
pub const EXPORT_ROOT_ENV: &str = "MERIDIAN_EXPORT_ROOT";
/// Items per export data file.
const EXPORT_FILE_ITEMS_MAX: usize = 10_000;
/// Items per import batch proposed through the log.
const IMPORT_BATCH_ITEMS_MAX: usize = 100;
/// ListExports' MaxResults and ListImports' PageSize bounds.
const LIST_JOBS_MAX: i64 = 25;
/// The file names an export writes beside its data, skipped by an import.
const EXPORT_METADATA_FILES: &[&str] = &[
    "_started",
    "manifest-summary.json",
    "manifest-files.json",
    "manifest-summary.checksum",
    "manifest-files.checksum",
];

/// A decoded export or import request.
#[derive(Debug)]
pub enum TransferRequest {
    Export(ExportRecord),
    DescribeExport { arn: String },
    ListExports(ListJobs),
    Import(Box<ImportJob>),
    DescribeImport { arn: String },
    ListImports(ListJobs),
}

/// A validated ImportTable; the table is defined when it runs.
#[derive(Debug)]
pub struct ImportJob {
    params: crate::tables::CreateTable,
    location: S3Location,
    input_format: String,
    compression: String,
    csv_delimiter: Option<String>,
    csv_header: Option<Vec<String>>,
    client_token: Option<String>,
}

/// ListExports or ListImports.
#[derive(Debug)]
pub struct ListJobs {
    table_arn: Option<String>,
    limit: usize,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    table_arn: Option<String>,
    export_time: Option<f64>,
    client_token: Option<String>,
    s3_bucket: Option<String>,
    s3_bucket_owner: Option<String>,
    s3_prefix: Option<String>,
    s3_sse_algorithm: Option<String>,
    s3_sse_kms_key_id: Option<String>,
    export_format: Option<String>,
    export_type: Option<String>,
    export_arn: Option<String>,
    import_arn: Option<String>,
    max_results: Option<i64>,
    page_size: Option<i64>,
    next_token: Option<String>,
    s3_bucket_source: Option<BucketSourceWire>,
    input_format: Option<String>,
    input_format_options: Option<FormatOptionsWire>,
    input_compression_type: Option<String>,
    table_creation_parameters: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BucketSourceWire {
    s3_bucket: Option<String>,
    s3_bucket_owner: Option<String>,
    s3_key_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FormatOptionsWire {
    csv: Option<CsvWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CsvWire {
    delimiter: Option<String>,
    header_list: Option<Vec<String>>,
}

/// Decodes one of the export and import operations.
pub(crate) fn decode(op: Operation, body: &[u8]) -> Result<TransferRequest, ApiError> {
    let wire: Wire = parse_body(body)?;
    let mut v = Violations::new();
    let request = match op {
        Operation::ExportTableToPointInTime => {
            let table_arn = v.required("tableArn", &wire.table_arn).cloned();
            let table_name = table_of(&mut v, "tableArn", table_arn.as_deref());
            let bucket = v.required("s3Bucket", &wire.s3_bucket).cloned();
            let format = v
                .enumeration(
                    "exportFormat",
                    wire.export_format.as_deref(),
                    &[("DYNAMODB_JSON", "DYNAMODB_JSON"), ("ION", "ION")],
                    "DYNAMODB_JSON, ION",
                )
                .unwrap_or("DYNAMODB_JSON");
            let export_type = v
                .enumeration(
                    "exportType",
                    wire.export_type.as_deref(),
                    &[
                        ("FULL_EXPORT", "FULL_EXPORT"),
                        ("INCREMENTAL_EXPORT", "INCREMENTAL_EXPORT"),
                    ],
                    "FULL_EXPORT, INCREMENTAL_EXPORT",
                )
                .unwrap_or("FULL_EXPORT");
            let sse = v.enumeration(
                "s3SseAlgorithm",
                wire.s3_sse_algorithm.as_deref(),
                &[("AES256", "AES256"), ("KMS", "KMS")],
                "AES256, KMS",
            );
            std::mem::replace(&mut v, Violations::new()).finish()?;
            if format != "DYNAMODB_JSON" || export_type != "FULL_EXPORT" {
                return Err(ApiError::validation(
                    "Meridian exports only ExportFormat DYNAMODB_JSON with ExportType FULL_EXPORT",
                ));
            }
            let bucket = bucket.unwrap_or_default();
            check_bucket(&bucket)?;
            TransferRequest::Export(ExportRecord {
                arn: String::new(),
                table_arn: table_arn.unwrap_or_default(),
                table_id: uuid::Uuid::nil(),
                table_name,
                export_time_ms: wire.export_time.map(ms_of),
                location: S3Location {
                    bucket,
                    prefix: wire.s3_prefix.filter(|p| !p.is_empty()),
                    owner: wire.s3_bucket_owner,
                },
                sse_algorithm: sse.map(str::to_owned),
                kms_key_id: wire.s3_sse_kms_key_id,
                format: format.to_owned(),
                client_token: wire.client_token,
                start_ms: 0,
                cut_seq: 0,
                end_ms: None,
                result: None,
            })
        }
        Operation::DescribeExport => TransferRequest::DescribeExport {
            arn: v
                .required("exportArn", &wire.export_arn)
                .cloned()
                .unwrap_or_default(),
        },
        Operation::DescribeImport => TransferRequest::DescribeImport {
            arn: v
                .required("importArn", &wire.import_arn)
                .cloned()
                .unwrap_or_default(),
        },
        Operation::ListExports | Operation::ListImports => {
            let (field, limit) = if op == Operation::ListExports {
                ("maxResults", wire.max_results)
            } else {
                ("pageSize", wire.page_size)
            };
            if let Some(limit) = limit {
                v.at_least(field, limit, 1);
                v.at_most(field, limit, LIST_JOBS_MAX);
            }
            let list = ListJobs {
                table_arn: wire.table_arn,
                limit: usize::try_from(limit.unwrap_or(LIST_JOBS_MAX)).unwrap_or(25),
                next_token: wire.next_token,
            };
            if op == Operation::ListExports {
                TransferRequest::ListExports(list)
            } else {
                TransferRequest::ListImports(list)
            }
        }
        Operation::ImportTable => {
            let source = v.required("s3BucketSource", &wire.s3_bucket_source);
            let bucket =
                source.and_then(|s| v.required("s3BucketSource.s3Bucket", &s.s3_bucket).cloned());
            let format = v.required("inputFormat", &wire.input_format).and_then(|f| {
                v.enumeration(
                    "inputFormat",
                    Some(f),
                    &[
                        ("DYNAMODB_JSON", "DYNAMODB_JSON"),
                        ("ION", "ION"),
                        ("CSV", "CSV"),
                    ],
                    "DYNAMODB_JSON, ION, CSV",
                )
            });
            let compression = v
                .enumeration(
                    "inputCompressionType",
                    wire.input_compression_type.as_deref(),
                    &[("GZIP", "GZIP"), ("ZSTD", "ZSTD"), ("NONE", "NONE")],
                    "GZIP, ZSTD, NONE",
                )
                .unwrap_or("NONE");
            let params = v
                .required("tableCreationParameters", &wire.table_creation_parameters)
                .cloned();
            std::mem::replace(&mut v, Violations::new()).finish()?;
            let (Some(bucket), Some(format), Some(params)) = (bucket, format, params) else {
                return Err(ApiError::validation("Missing required parameters"));
            };
            if format == "ION" || compression == "ZSTD" {
                return Err(ApiError::validation(
                    "Meridian imports InputFormat DYNAMODB_JSON or CSV with InputCompressionType GZIP or NONE",
                ));
            }
            check_bucket(&bucket)?;
            let params = crate::tables::decode_create(
                &serde_json::to_vec(&params).map_err(ApiError::internal)?,
            )?;
            let csv = wire.input_format_options.and_then(|o| o.csv);
            let csv_delimiter = csv.as_ref().and_then(|c| c.delimiter.clone());
            if let Some(d) = &csv_delimiter {
                if d.chars().count() != 1 {
                    return Err(ApiError::validation(
                        "InputFormatOptions.Csv.Delimiter must be a single character",
                    ));
                }
            }
            TransferRequest::Import(Box::new(ImportJob {
                params,
                location: S3Location {
                    bucket,
                    prefix: source.and_then(|s| s.s3_key_prefix.clone()),
                    owner: source.and_then(|s| s.s3_bucket_owner.clone()),
                },
                input_format: format.to_owned(),
                compression: compression.to_owned(),
                csv_delimiter,
                csv_header: csv.and_then(|c| c.header_list),
                client_token: wire.client_token,
            }))
        }
        other => return Err(ApiError::Unsupported(other)),
    };
    v.finish()?;
    Ok(request)
}

/// S3 bucket names: 3–63 characters of lowercase letters, digits, dots and hyphens (which also
/// keeps the mapped directory inside the export root).
fn check_bucket(bucket: &str) -> Result<(), ApiError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && !bucket.starts_with('.')
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Invalid S3 bucket name: {bucket}"
        )))
    }
}

/// Where buckets live for this node.
pub(crate) fn export_root(region: &dyn Region) -> PathBuf {
    if let Some(root) = std::env::var_os(EXPORT_ROOT_ENV) {
        return PathBuf::from(root);
    }
    match region.store().path().and_then(Path::parent) {
        Some(data_dir) => data_dir.to_path_buf(),
        None => std::env::temp_dir().join("meridian"),
    }
}

/// A key prefix as a relative path with no `..` or absolute components.
fn safe_relative(prefix: &str) -> Result<PathBuf, ApiError> {
    let mut out = PathBuf::new();
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." || part.contains('\\') {
            return Err(ApiError::validation(format!("Invalid S3 prefix: {prefix}")));
        }
        out.push(part);
    }
    Ok(out)
}

/// Runs an export or import request.
pub(crate) async fn execute(
    region: &dyn Region,
    req: TransferRequest,
) -> Result<Vec<u8>, ApiError> {
    match req {
        TransferRequest::Export(record) => export(region, record).await,
        TransferRequest::DescribeExport { arn } => {
            let record = table::transfer::load_export(region.store(), &arn)?.ok_or_else(|| {
                ApiError::Backup(
                    BackupFault::ExportNotFound,
                    format!("Export not found: {arn}"),
                )
            })?;
            json_body(&json!({ "ExportDescription": export_description(&record) }))
        }
        TransferRequest::DescribeImport { arn } => {
            let record = table::transfer::load_import(region.store(), &arn)?.ok_or_else(|| {
                ApiError::Backup(
                    BackupFault::ImportNotFound,
                    format!("Import not found: {arn}"),
                )
            })?;
            json_body(&json!({ "ImportTableDescription": import_description(&record) }))
        }
        TransferRequest::ListExports(list) => {
            let records = table::transfer::list_exports(region.store())?;
            let (page, next) = paginate(
                records
                    .iter()
                    .filter(|r| list.table_arn.as_ref().is_none_or(|t| &r.table_arn == t))
                    .map(|r| (r.arn.as_str(), r))
                    .collect(),
                &list,
            );
            let summaries: Vec<Value> = page
                .iter()
                .map(|r| {
                    json!({
                        "ExportArn": r.arn,
                        "ExportStatus": r.status().as_str(),
                        "ExportType": "FULL_EXPORT",
                    })
                })
                .collect();
            json_body(&with_token(json!({ "ExportSummaries": summaries }), next))
        }
        TransferRequest::ListImports(list) => {
            let records = table::transfer::list_imports(region.store())?;
            let (page, next) = paginate(
                records
                    .iter()
                    .filter(|r| list.table_arn.as_ref().is_none_or(|t| &r.table.arn() == t))
                    .map(|r| (r.arn.as_str(), r))
                    .collect(),
                &list,
            );
            let summaries: Vec<Value> = page
                .iter()
                .map(|r| {
                    let mut s = json!({
                        "ImportArn": r.arn,
                        "ImportStatus": r.status().as_str(),
                        "TableArn": r.table.arn(),
                        "S3BucketSource": bucket_source(&r.location),
                        "InputFormat": r.input_format,
                        "StartTime": epoch_seconds(r.start_ms),
                    });
                    if let Some(end) = r.end_ms {
                        s["EndTime"] = json!(epoch_seconds(end));
                    }
                    s
                })
                .collect();
            json_body(&with_token(json!({ "ImportSummaryList": summaries }), next))
        }
        TransferRequest::Import(record) => import(region, *record).await,
    }
}

/// One page of jobs (sorted by ARN) after `next_token` (the last ARN of the previous page).
fn paginate<'a, T>(
    mut jobs: Vec<(&'a str, &'a T)>,
    list: &ListJobs,
) -> (Vec<&'a T>, Option<String>) {
    jobs.sort_by(|a, b| a.0.cmp(b.0));
    let start = list
        .next_token
        .as_deref()
        .map_or(0, |t| jobs.partition_point(|(arn, _)| *arn <= t));
    let rest = &jobs[start.min(jobs.len())..];
    let page: Vec<_> = rest.iter().take(list.limit).collect();
    let next = (rest.len() > page.len())
        .then(|| page.last().map(|(arn, _)| (*arn).to_owned()))
        .flatten();
    (page.into_iter().map(|(_, r)| *r).collect(), next)
}

fn with_token(mut body: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        body["NextToken"] = json!(next);
    }
    body
}

fn job_arn(table_arn: &str, kind: &str, now_ms: i64) -> String {
    format!(
        "{table_arn}/{kind}/{:014}-{}",
        now_ms.max(0),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

async fn export(region: &dyn Region, mut record: ExportRecord) -> Result<Vec<u8>, ApiError> {
    let meta = crate::backups::load_table(region, &record.table_name)?;
    let now_ms = region.clock().now_ms();
    record.table_arn = meta.arn();
    record.table_id = meta.id;
    record.arn = job_arn(&record.table_arn, "export", now_ms);
    let started =
        match propose(region, &Command::Backup(BackupCommand::StartExport(record))).await? {
            Outcome::Backup(BackupOutcome::Export(record)) => record,
            other => return Err(ApiError::internal(format_args!("unexpected {other:?}"))),
        };
    // Every write up to the start is applied here; later ones are undone from the history.
    region.linearize().await?;
    let result = match table::pitr::items_as_of(
        region.store(),
        &meta,
        table::backup::export_cut(&started),
    ) {
        Ok(items) => {
            let root = export_root(region);
            let record = started.clone();
            let end_ms = region.clock().now_ms();
            tokio::task::spawn_blocking(move || write_export(&root, &record, &items, end_ms))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
                .unwrap_or_else(|e| failed("S3WriteFailed", e.to_string()))
        }
        Err(e) => failed("InternalError", e.to_string()),
    };
    let finish = BackupCommand::FinishExport {
        arn: started.arn.clone(),
        result,
    };
    propose(region, &Command::Backup(finish)).await?;
    json_body(&json!({ "ExportDescription": export_description(&started) }))
}

fn failed(code: &str, message: String) -> JobResult {
    JobResult {
        status: JobStatus::Failed,
        failure: Some((code.to_owned(), message)),
        item_count: 0,
        size_bytes: 0,
        error_count: 0,
        processed_count: 0,
        manifest_key: None,
    }
}

/// Writes an export's files; answers its result.
fn write_export(
    root: &Path,
    record: &ExportRecord,
    items: &[(Vec<u8>, Item)],
    end_ms: i64,
) -> std::io::Result<JobResult> {
    let bad = |e: ApiError| std::io::Error::other(e.to_string());
    let key_prefix = match &record.location.prefix {
        Some(p) => format!(
            "{}/AWSDynamoDB/{}",
            p.trim_end_matches('/'),
            record.export_id()
        ),
        None => format!("AWSDynamoDB/{}", record.export_id()),
    };
    let bucket_dir = root.join("exports").join(&record.location.bucket);
    let dir = bucket_dir.join(safe_relative(&key_prefix).map_err(bad)?);
    std::fs::create_dir_all(dir.join("data"))?;
    std::fs::write(dir.join("_started"), b"")?;
    let mut manifest_files = String::new();
    let mut billed = 0u64;
    let chunks: Vec<&[(Vec<u8>, Item)]> = if items.is_empty() {
        vec![&[]]
    } else {
        items.chunks(EXPORT_FILE_ITEMS_MAX).collect()
    };
    for chunk in chunks {
        let name = format!("{}.json.gz", uuid::Uuid::new_v4().simple());
        let file = std::fs::File::create(dir.join("data").join(&name))?;
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        for (_, item) in chunk {
            let line = serde_json::to_vec(&json!({ "Item": WireItem(item) }))
                .map_err(std::io::Error::other)?;
            billed += model::size::item_size(item) as u64;
            gz.write_all(&line)?;
            gz.write_all(b"\n")?;
        }
        gz.finish()?.sync_all()?;
        manifest_files.push_str(
            &json!({
                "itemCount": chunk.len(),
                "dataFileS3Key": format!("{key_prefix}/data/{name}"),
            })
            .to_string(),
        );
        manifest_files.push('\n');
    }
    std::fs::write(dir.join("manifest-files.json"), manifest_files)?;
    let summary = json!({
        "version": "2020-06-30",
        "exportArn": record.arn,
        "startTime": iso8601(record.start_ms),
        "endTime": iso8601(end_ms),
        "tableArn": record.table_arn,
        "tableId": record.table_id.to_string(),
        "exportTime": iso8601(record.export_time_ms.unwrap_or(record.start_ms)),
        "s3Bucket": record.location.bucket,
        "s3Prefix": record.location.prefix,
        "s3SseAlgorithm": record.sse_algorithm.as_deref().unwrap_or("AES256"),
        "s3SseKmsKeyId": record.kms_key_id,
        "manifestFilesS3Key": format!("{key_prefix}/manifest-files.json"),
        "billedSizeBytes": billed,
        "itemCount": items.len(),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    });
    std::fs::write(dir.join("manifest-summary.json"), summary.to_string())?;
    Ok(JobResult {
        status: JobStatus::Completed,
        failure: None,
        item_count: items.len() as u64,
        size_bytes: billed,
        error_count: 0,
        processed_count: items.len() as u64,
        manifest_key: Some(format!("{key_prefix}/manifest-summary.json")),
    })
}

/// `2020-11-04T07:28:34.028Z`.
fn iso8601(ms: i64) -> String {
    format!("{}Z", model::table::stream_label(ms))
}

fn export_description(r: &ExportRecord) -> Value {
    let mut d = json!({
        "ExportArn": r.arn,
        "ExportStatus": r.status().as_str(),
        "StartTime": epoch_seconds(r.start_ms),
        "TableArn": r.table_arn,
        "TableId": r.table_id.to_string(),
        "ExportTime": epoch_seconds(r.export_time_ms.unwrap_or(r.start_ms)),
        "S3Bucket": r.location.bucket,
        "S3SseAlgorithm": r.sse_algorithm.as_deref().unwrap_or("AES256"),
        "ExportFormat": r.format,
        "ExportType": "FULL_EXPORT",
    });
    let optional = [
        ("S3Prefix", r.location.prefix.clone()),
        ("S3BucketOwner", r.location.owner.clone()),
        ("S3SseKmsKeyId", r.kms_key_id.clone()),
        ("ClientToken", r.client_token.clone()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            d[name] = json!(value);
        }
    }
    if let Some(end) = r.end_ms {
        d["EndTime"] = json!(epoch_seconds(end));
    }
    if let Some(result) = &r.result {
        d["ItemCount"] = json!(result.item_count);
        d["BilledSizeBytes"] = json!(result.size_bytes);
        if let Some(key) = &result.manifest_key {
            d["ExportManifest"] = json!(key);
        }
        if let Some((code, message)) = &result.failure {
            d["FailureCode"] = json!(code);
            d["FailureMessage"] = json!(message);
        }
    }
    d
}

fn bucket_source(location: &S3Location) -> Value {
    let mut s = json!({ "S3Bucket": location.bucket });
    if let Some(prefix) = &location.prefix {
        s["S3KeyPrefix"] = json!(prefix);
    }
    if let Some(owner) = &location.owner {
        s["S3BucketOwner"] = json!(owner);
    }
    s
}

fn import_description(r: &ImportRecord) -> Value {
    let table = serde_json::to_value(crate::describe::TableDescription::new(&r.table, 0, 0))
        .unwrap_or(Value::Null);
    let mut params = json!({
        "TableName": r.table.name,
        "AttributeDefinitions": table["AttributeDefinitions"],
        "KeySchema": table["KeySchema"],
        "BillingMode": r.table.billing_mode.as_str(),
    });
    if r.table.billing_mode == model::BillingMode::Provisioned {
        params["ProvisionedThroughput"] = json!({
            "ReadCapacityUnits": r.table.provisioned.read_capacity_units,
            "WriteCapacityUnits": r.table.provisioned.write_capacity_units,
        });
    }
    if let Some(gsis) = table.get("GlobalSecondaryIndexes") {
        params["GlobalSecondaryIndexes"] = gsis.clone();
    }
    let mut d = json!({
        "ImportArn": r.arn,
        "ImportStatus": r.status().as_str(),
        "TableArn": r.table.arn(),
        "TableId": r.table.id.to_string(),
        "S3BucketSource": bucket_source(&r.location),
        "InputFormat": r.input_format,
        "InputCompressionType": r.compression,
        "TableCreationParameters": params,
        "StartTime": epoch_seconds(r.start_ms),
        "ProcessedSizeBytes": 0,
        "ProcessedItemCount": 0,
        "ImportedItemCount": 0,
        "ErrorCount": 0,
    });
    if let Some(token) = &r.client_token {
        d["ClientToken"] = json!(token);
    }
    if r.csv_delimiter.is_some() || r.csv_header.is_some() {
        let mut csv = json!({});
        if let Some(delimiter) = &r.csv_delimiter {
            csv["Delimiter"] = json!(delimiter);
        }
        if let Some(header) = &r.csv_header {
            csv["HeaderList"] = json!(header);
        }
        d["InputFormatOptions"] = json!({ "Csv": csv });
    }
    if let Some(end) = r.end_ms {
        d["EndTime"] = json!(epoch_seconds(end));
    }
    if let Some(result) = &r.result {
        d["ProcessedSizeBytes"] = json!(result.size_bytes);
        d["ProcessedItemCount"] = json!(result.processed_count);
        d["ImportedItemCount"] = json!(result.item_count);
        d["ErrorCount"] = json!(result.error_count);
        if let Some((code, message)) = &result.failure {
            d["FailureCode"] = json!(code);
            d["FailureMessage"] = json!(message);
        }
    }
    d
}

async fn import(region: &dyn Region, job: ImportJob) -> Result<Vec<u8>, ApiError> {
    let meta = crate::tables::new_meta(region, job.params);
    if table::load_table(region.store(), &meta.name)?.is_some() {
        return Err(ApiError::ResourceInUse(format!(
            "Table already exists: {}",
            meta.name
        )));
    }
    let now_ms = region.clock().now_ms();
    let record = ImportRecord {
        arn: job_arn(&meta.arn(), "import", now_ms),
        table: meta,
        location: job.location,
        input_format: job.input_format,
        compression: job.compression,
        csv_delimiter: job.csv_delimiter,
        csv_header: job.csv_header,
        client_token: job.client_token,
        start_ms: now_ms,
        end_ms: None,
        result: None,
    };
    let started =
        match propose(region, &Command::Backup(BackupCommand::StartImport(record))).await? {
            Outcome::Backup(BackupOutcome::Import(record)) => record,
            other => return Err(ApiError::internal(format_args!("unexpected {other:?}"))),
        };
    let root = export_root(region);
    let job = started.clone();
    let parsed = tokio::task::spawn_blocking(move || read_import(&root, &job))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    let result = match parsed {
        Ok(parsed) => {
            let mut imported = 0u64;
            let mut errors = parsed.errors;
            for batch in parsed.items.chunks(IMPORT_BATCH_ITEMS_MAX) {
                let (ok, bad) = put_batch(region, &started.table.name, batch).await?;
                imported += ok;
                errors += bad;
            }
            JobResult {
                status: JobStatus::Completed,
                failure: None,
                item_count: imported,
                size_bytes: parsed.bytes,
                error_count: errors,
                processed_count: parsed.items.len() as u64 + parsed.errors,
                manifest_key: None,
            }
        }
        Err(e) => failed("S3ReadFailed", e.to_string()),
    };
    let failed_import = result.status == JobStatus::Failed;
    let finish = BackupCommand::FinishImport {
        arn: started.arn.clone(),
        result,
    };
    propose(region, &Command::Backup(finish)).await?;
    if failed_import {
        // A failed import leaves no table behind, as in DynamoDB.
        let drop = Command::DeleteTable {
            name: started.table.name.clone(),
        };
        propose(region, &drop).await?;
    }
    json_body(&json!({ "ImportTableDescription": import_description(&started) }))
}

/// Puts a batch of items; a batch refused as a whole (an item an index refuses) is retried
/// one item at a time. Answers (imported, errors).
async fn put_batch(
    region: &dyn Region,
    table: &str,
    items: &[Item],
) -> Result<(u64, u64), ApiError> {
    let write = |item: &Item| ItemWrite {
        table: table.to_owned(),
        kind: WriteKind::Put { item: item.clone() },
        condition: None,
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    };
    let batch = Command::BatchWrite(items.iter().map(write).collect());
    match propose(region, &batch).await {
        Ok(_) => return Ok((items.len() as u64, 0)),
        Err(ApiError::Validation(_) | ApiError::ItemCollectionSizeLimitExceeded(_)) => {}
        Err(other) => return Err(other),
    }
    let (mut ok, mut bad) = (0, 0);
    for item in items {
        match propose(region, &Command::Write(write(item))).await {
            Ok(_) => ok += 1,
            Err(ApiError::Validation(_) | ApiError::ItemCollectionSizeLimitExceeded(_)) => bad += 1,
            Err(other) => return Err(other),
        }
    }
    Ok((ok, bad))
}

/// What an import read from its files.
struct Parsed {
    items: Vec<Item>,
    /// Lines that were not items of the table.
    errors: u64,
    /// Bytes read (after decompression).
    bytes: u64,
}

impl Parsed {
    /// Keeps `item` if it is an item of the table, else counts an error.
    fn push(&mut self, job: &ImportRecord, item: Option<Item>) {
        match item.filter(|i| table::key::key_of_item(&job.table.key_schema, i).is_ok()) {
            Some(item) => self.items.push(item),
            None => self.errors += 1,
        }
    }
}

/// Reads one CSV object (RFC 4180, through the `csv` crate: quoted fields may hold the
/// delimiter, quotes and line breaks); its first record names the columns unless the import
/// gave a header.
fn read_csv(reader: impl Read, job: &ImportRecord, parsed: &mut Parsed) -> std::io::Result<()> {
    let delimiter = job
        .csv_delimiter
        .as_deref()
        .and_then(|d| d.bytes().next())
        .unwrap_or(b',');
    let mut records = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut header = job.csv_header.clone();
    let mut record = csv::StringRecord::new();
    loop {
        let before = records.position().byte();
        match records.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(std::io::Error::other(e)),
        }
        parsed.bytes += records.position().byte() - before;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        match &header {
            None => header = Some(fields),
            Some(names) => {
                let item = csv_item(&job.table, names, fields);
                parsed.push(job, item);
            }
        }
    }
}

/// Reads every object under the import's prefix.
fn read_import(root: &Path, job: &ImportRecord) -> std::io::Result<Parsed> {
    let bucket_dir = root.join("exports").join(&job.location.bucket);
    if !bucket_dir.is_dir() {
        return Err(std::io::Error::other(format!(
            "The specified bucket does not exist: {}",
            job.location.bucket
        )));
    }
    let prefix = job.location.prefix.clone().unwrap_or_default();
    let mut files = Vec::new();
    collect_files(&bucket_dir, &bucket_dir, &prefix, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(std::io::Error::other(format!(
            "No objects found under s3://{}/{prefix}",
            job.location.bucket
        )));
    }
    let mut parsed = Parsed {
        items: Vec::new(),
        errors: 0,
        bytes: 0,
    };
    for file in files {
        let raw = std::fs::File::open(&file)?;
        let reader: Box<dyn Read> = if job.compression == "GZIP" {
            Box::new(flate2::read::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        if job.input_format == "CSV" {
            read_csv(reader, job, &mut parsed)?;
            continue;
        }
        for line in BufReader::new(reader).lines() {
            let line = line?;
            parsed.bytes += line.len() as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            parsed.push(job, json_item(&line));
        }
    }
    Ok(parsed)
}

fn collect_files(
    base: &Path,
    dir: &Path,
    prefix: &str,
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(base, &path, prefix, out)?;
            continue;
        }
        let key = path
            .strip_prefix(base)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if key.starts_with(prefix) && !EXPORT_METADATA_FILES.contains(&name.as_str()) {
            out.push(path);
        }
    }
    Ok(())
}

/// One DYNAMODB_JSON line: `{"Item": {...}}`.
fn json_item(line: &str) -> Option<Item> {
    let value: Value = serde_json::from_str(line).ok()?;
    model::item_from_json(value.get("Item")?).ok()
}

/// A CSV row as an item: key attributes typed by their definitions, the others strings, empty
/// fields left out (DynamoDB's CSV import rules).
fn csv_item(meta: &TableMeta, names: &[String], fields: Vec<String>) -> Option<Item> {
    let mut item = Item::new();
    for (name, value) in names.iter().zip(fields) {
        if value.is_empty() {
            continue;
        }
        let scalar = meta
            .attribute_definitions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t);
        let json = match scalar {
            Some(ScalarType::N) => json!({ "N": value }),
            Some(ScalarType::B) => json!({ "B": value }),
            _ => json!({ "S": value }),
        };
        let attribute = model::item_from_json(&json!({ name.as_str(): json })).ok()?;
        item.extend(attribute);
    }
    Some(item)
}
