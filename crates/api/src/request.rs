//! Decoding a request body into a validated [`Request`] (pure, no I/O: the fuzz target's entry
//! point) and running it against a [`Region`].

use serde::Serialize;

use table::{Command, Outcome};

use crate::error::ApiError;
use crate::items::WriteOp;
use crate::operation::Operation;
use crate::partiql;
use crate::{
    account, batch, global, items, query, table_update, tables, tags, transact, ttl, Region,
};

/// What the server knows about a request besides its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext<'a> {
    /// The `x-amzn-RequestId` of the response.
    pub request_id: &'a str,
    /// The region of the SigV4 credential scope, when the request was signed.
    pub signed_region: Option<&'a str>,
    /// The `Host` header, for DescribeEndpoints.
    pub host: Option<&'a str>,
}

/// A decoded and validated request of a supported operation.
#[derive(Debug)]
pub enum Request {
    /// CreateTable.
    CreateTable(tables::CreateTable),
    /// DescribeTable.
    DescribeTable(tables::TableRef),
    /// DeleteTable.
    DeleteTable(tables::TableRef),
    /// ListTables.
    ListTables(tables::ListTables),
    /// UpdateTable.
    UpdateTable(table_update::UpdateTable),
    /// TagResource.
    TagResource(tags::TagResource),
    /// UntagResource.
    UntagResource(tags::UntagResource),
    /// ListTagsOfResource.
    ListTagsOfResource(tags::ListTags),
    /// DescribeEndpoints.
    DescribeEndpoints,
    /// DescribeLimits.
    DescribeLimits,
    /// PutItem.
    PutItem(items::WriteRequest),
    /// UpdateItem.
    UpdateItem(items::WriteRequest),
    /// DeleteItem.
    DeleteItem(items::WriteRequest),
    /// GetItem.
    GetItem(items::GetRequest),
    /// Query.
    Query(query::QueryRequest),
    /// Scan.
    Scan(query::ScanRequest),
    /// BatchGetItem.
    BatchGetItem(batch::BatchGetRequest),
    /// BatchWriteItem.
    BatchWriteItem(batch::BatchWriteRequest),
    /// TransactWriteItems.
    TransactWriteItems(transact::TransactWriteRequest),
    /// TransactGetItems.
    TransactGetItems(transact::TransactGetRequest),
    /// UpdateTimeToLive.
    UpdateTimeToLive(ttl::UpdateTtl),
    /// DescribeTimeToLive.
    DescribeTimeToLive(tables::TableRef),
    CreateGlobalTable(global::CreateGlobalTable),
    UpdateGlobalTable(global::UpdateGlobalTable),
    DescribeGlobalTable(global::GlobalTableRef),
    ListGlobalTables(global::ListGlobalTables),
    /// ExecuteStatement (PartiQL).
    ExecuteStatement(partiql::ExecuteStatementRequest),
    /// BatchExecuteStatement (PartiQL).
    BatchExecuteStatement(partiql::BatchExecuteRequest),
    /// ExecuteTransaction (PartiQL).
    ExecuteTransaction(partiql::ExecuteTransactionRequest),
    /// CreateBackup, DescribeBackup, ListBackups, DeleteBackup, the restores and the
    /// continuous-backups operations.
    Backup(crate::backups::BackupRequest),
    /// ExportTableToPointInTime, ImportTable and their Describe/List operations.
    Transfer(crate::exports::TransferRequest),
}

/// Decodes the body of operation `op_name` (`GetItem`): JSON shape, validation, expressions.
/// Pure: no I/O, no clock, so the fuzz target can call it with arbitrary input.
pub fn decode_request(op_name: &str, body: &[u8]) -> Result<Request, ApiError> {
    let op = Operation::from_name(op_name).ok_or(ApiError::UnknownOperation)?;
    decode(op, body)
}

/// Decodes the body of a known operation.
pub fn decode(op: Operation, body: &[u8]) -> Result<Request, ApiError> {
    use Operation as O;
    Ok(match op {
        O::CreateTable => Request::CreateTable(tables::decode_create(body)?),
        O::DescribeTable => Request::DescribeTable(tables::decode_table_ref(body)?),
        O::DeleteTable => Request::DeleteTable(tables::decode_table_ref(body)?),
        O::ListTables => Request::ListTables(tables::decode_list(body)?),
        O::UpdateTable => Request::UpdateTable(table_update::decode_update(body)?),
        O::TagResource => Request::TagResource(tags::decode_tag(body)?),
        O::UntagResource => Request::UntagResource(tags::decode_untag(body)?),
        O::ListTagsOfResource => Request::ListTagsOfResource(tags::decode_list_tags(body)?),
        O::DescribeEndpoints => {
            crate::wire::parse_body::<serde::de::IgnoredAny>(body)?;
            Request::DescribeEndpoints
        }
        O::DescribeLimits => {
            crate::wire::parse_body::<serde::de::IgnoredAny>(body)?;
            Request::DescribeLimits
        }
        O::PutItem => Request::PutItem(items::decode_write(WriteOp::Put, body)?),
        O::UpdateItem => Request::UpdateItem(items::decode_write(WriteOp::Update, body)?),
        O::DeleteItem => Request::DeleteItem(items::decode_write(WriteOp::Delete, body)?),
        O::GetItem => Request::GetItem(items::decode_get(body)?),
        O::Query => Request::Query(query::decode_query(body)?),
        O::Scan => Request::Scan(query::decode_scan(body)?),
        O::BatchGetItem => Request::BatchGetItem(batch::decode_get(body)?),
        O::BatchWriteItem => Request::BatchWriteItem(batch::decode_write(body)?),
        O::TransactWriteItems => Request::TransactWriteItems(transact::decode_write(body)?),
        O::TransactGetItems => Request::TransactGetItems(transact::decode_get(body)?),
        O::UpdateTimeToLive => Request::UpdateTimeToLive(ttl::decode_update(body)?),
        O::DescribeTimeToLive => Request::DescribeTimeToLive(tables::decode_table_ref(body)?),
        O::CreateGlobalTable => Request::CreateGlobalTable(global::decode_create_global(body)?),
        O::UpdateGlobalTable => Request::UpdateGlobalTable(global::decode_update_global(body)?),
        O::DescribeGlobalTable => {
            Request::DescribeGlobalTable(global::decode_describe_global(body)?)
        }
        O::ListGlobalTables => Request::ListGlobalTables(global::decode_list_global(body)?),
        O::ExecuteStatement => Request::ExecuteStatement(partiql::decode_execute(body)?),
        O::BatchExecuteStatement => Request::BatchExecuteStatement(partiql::decode_batch(body)?),
        O::ExecuteTransaction => Request::ExecuteTransaction(partiql::decode_transaction(body)?),
        O::CreateBackup
        | O::DeleteBackup
        | O::DescribeBackup
        | O::DescribeContinuousBackups
        | O::ListBackups
        | O::RestoreTableFromBackup
        | O::RestoreTableToPointInTime
        | O::UpdateContinuousBackups => Request::Backup(crate::backups::decode(op, body)?),
        O::DescribeExport
        | O::DescribeImport
        | O::ExportTableToPointInTime
        | O::ImportTable
        | O::ListExports
        | O::ListImports => Request::Transfer(crate::exports::decode(op, body)?),
        O::DeleteResourcePolicy
        | O::DescribeContributorInsights
        | O::DescribeGlobalTableSettings
        | O::DescribeKinesisStreamingDestination
        | O::DescribeTableReplicaAutoScaling
        | O::DisableKinesisStreamingDestination
        | O::EnableKinesisStreamingDestination
        | O::GetResourcePolicy
        | O::ListContributorInsights
        | O::PutResourcePolicy
        | O::UpdateContributorInsights
        | O::UpdateGlobalTableSettings
        | O::UpdateKinesisStreamingDestination
        | O::UpdateTableReplicaAutoScaling => return Err(ApiError::Unsupported(op)),
    })
}

/// Runs a decoded request; returns the JSON body of the 200 response.
pub async fn execute(
    region: &dyn Region,
    ctx: &RequestContext<'_>,
    request: Request,
) -> Result<Vec<u8>, ApiError> {
    match request {
        Request::CreateTable(r) => tables::create(region, r).await,
        Request::DescribeTable(r) => tables::describe(region, &r),
        Request::CreateGlobalTable(r) => global::create_global(region, r).await,
        Request::UpdateGlobalTable(r) => global::update_global(region, r).await,
        Request::DescribeGlobalTable(r) => global::describe_global(region, &r),
        Request::ListGlobalTables(r) => global::list_global(region, &r),
        Request::DeleteTable(r) => tables::delete(region, r).await,
        Request::ListTables(r) => tables::list(region, &r),
        Request::UpdateTable(r) => table_update::update(region, r).await,
        Request::TagResource(r) => tags::tag(region, r).await,
        Request::UntagResource(r) => tags::untag(region, r).await,
        Request::ListTagsOfResource(r) => tags::list_tags(region, &r),
        Request::DescribeEndpoints => account::describe_endpoints(ctx),
        Request::DescribeLimits => account::describe_limits(),
        Request::PutItem(r) | Request::UpdateItem(r) | Request::DeleteItem(r) => {
            items::write(region, r).await
        }
        Request::GetItem(r) => items::get(region, &r).await,
        Request::Query(r) => query::query(region, r).await,
        Request::Scan(r) => query::scan(region, r).await,
        Request::BatchGetItem(r) => batch::get(region, r).await,
        Request::BatchWriteItem(r) => batch::write(region, r).await,
        Request::TransactWriteItems(r) => transact::write(region, r).await,
        Request::TransactGetItems(r) => transact::get(region, r).await,
        Request::ExecuteStatement(r) => partiql::execute(region, r).await,
        Request::BatchExecuteStatement(r) => partiql::batch_execute(region, r).await,
        Request::ExecuteTransaction(r) => partiql::execute_transaction(region, r).await,
        Request::UpdateTimeToLive(r) => ttl::update(region, r).await,
        Request::DescribeTimeToLive(r) => ttl::describe(region, r.name()),
        Request::Backup(r) => crate::backups::execute(region, r).await,
        Request::Transfer(r) => crate::exports::execute(region, r).await,
    }
}

/// Serializes a response body.
pub(crate) fn json_body<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(256);
    serde_json::to_writer(&mut out, value).map_err(ApiError::internal)?;
    Ok(out)
}

/// Proposes a command through the region's log and decodes its outcome; a rejection becomes
/// the matching client error.
pub(crate) async fn propose(region: &dyn Region, command: &Command) -> Result<Outcome, ApiError> {
    let payload = command.encode()?;
    let reply = region.propose(payload).await?;
    match Outcome::decode(&reply)? {
        Outcome::Rejected(rejection) => Err(rejection.into()),
        outcome => Ok(outcome),
    }
}
