//! The error catalog: every error the API answers with, mapped in one exhaustive match to
//! DynamoDB's `__type`, HTTP status and message. Internal details never reach the client; they
//! are logged by the server instead.

use std::borrow::Cow;

use http::StatusCode;
use serde::Serialize;

use model::{Item, ValueError, ValueErrorKind, WireItem};
use table::{CancellationReason, Rejection, TableError};

use crate::operation::Operation;

/// Builds a `__type` in the namespace of DynamoDB's own exceptions, at compile time.
macro_rules! concat_type {
    ($name:literal) => {
        concat!("com.amazonaws.dynamodb.v20120810#", $name)
    };
}

/// An error response, as DynamoDB would give it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// ValidationException: the request is well formed but breaks a rule.
    #[error("{0}")]
    Validation(String),
    /// A known DynamoDB operation Meridian does not implement (a ValidationException, which
    /// every SDK surfaces without retrying).
    #[error("Meridian does not support {} yet", .0.name())]
    Unsupported(Operation),
    /// SerializationException: the body is not JSON, or a member has the wrong JSON type.
    #[error("{0}")]
    Serialization(String),
    /// UnknownOperationException: the `X-Amz-Target` names no DynamoDB operation.
    #[error("unknown operation")]
    UnknownOperation,
    /// The request body exceeds `model::limits::REQUEST_BODY_BYTES_MAX`.
    #[error("request entity too large")]
    RequestTooLarge,
    /// ResourceNotFoundException.
    #[error("{0}")]
    ResourceNotFound(String),
    /// ResourceInUseException.
    #[error("{0}")]
    ResourceInUse(String),
    /// ConditionalCheckFailedException, with the old item when ALL_OLD was asked for.
    #[error("The conditional request failed")]
    ConditionalCheckFailed {
        /// The item as it was, for ReturnValuesOnConditionCheckFailure = ALL_OLD.
        item: Option<Item>,
    },
    /// TransactionCanceledException with one reason per action.
    #[error("{}", cancellation_message(.0))]
    TransactionCanceled(Vec<CancellationReason>),
    /// TransactionConflictException.
    #[error("{0}")]
    TransactionConflict(String),
    /// TransactionInProgressException.
    #[error("{0}")]
    TransactionInProgress(String),
    /// IdempotentParameterMismatchException.
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    /// LimitExceededException.
    #[error("{0}")]
    LimitExceeded(String),
    /// ProvisionedThroughputExceededException (fault injection; Meridian does not throttle).
    #[error("{0}")]
    ProvisionedThroughputExceeded(Throttled),
    /// RequestLimitExceeded (fault injection).
    #[error("{0}")]
    RequestLimitExceeded(Throttled),
    /// ThrottlingException (fault injection).
    #[error("{0}")]
    Throttling(Throttled),
    /// ItemCollectionSizeLimitExceededException.
    #[error("{0}")]
    ItemCollectionSizeLimitExceeded(String),
    /// MissingAuthenticationTokenException, for when signatures are checked.
    #[error("{0}")]
    MissingAuthenticationToken(String),
    /// A request that fails SigV4 verification (`--require-auth`): the four exceptions
    /// DynamoDB answers with, all HTTP 400.
    #[error("{1}")]
    Auth(AuthFailure, String),
    /// InternalServerError (500, retried by SDKs). The detail is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
    /// ServiceUnavailable (503, retried by SDKs): no leader, no quorum, shutting down.
    #[error("{0}")]
    Unavailable(String),
    /// ExpiredIteratorException (DynamoDB Streams): a shard iterator older than 15 minutes.
    #[error("{0}")]
    ExpiredIterator(String),
    /// TrimmedDataAccessException (DynamoDB Streams): the position has been trimmed.
    #[error("{0}")]
    TrimmedDataAccess(String),
    /// The global-tables (2017.11.29) exceptions.
    #[error("{1}")]
    GlobalTable(GlobalTableError, String),
    /// The backup, restore, export and import exceptions (`table::backup::BackupFault`).
    #[error("{1}")]
    Backup(table::backup::BackupFault, String),
    /// DuplicateItemException: a PartiQL INSERT of a key that exists.
    #[error("{0}")]
    DuplicateItem(String),
}

/// The exceptions of the 2017.11.29 global-tables operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalTableError {
    GlobalTableAlreadyExists,
    GlobalTableNotFound,
    ReplicaAlreadyExists,
    ReplicaNotFound,
    TableNotFound,
}

/// Why a request's signature was refused (see `crate::sigv4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    MissingAuthenticationToken,
    /// An `Authorization` header that lacks a part, or no request date.
    IncompleteSignature,
    /// An access key that is not configured.
    UnrecognizedClient,
    /// A signature that does not match, or a request time outside the 15-minute window.
    InvalidSignature,
}

/// Where an error sits in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The full `__type` value.
    pub type_name: &'static str,
    /// The HTTP status.
    pub status: StatusCode,
}

impl CatalogEntry {
    /// The short exception name (what SDKs match on): the part after `#`.
    pub fn code(&self) -> &'static str {
        self.type_name
            .rsplit_once('#')
            .map_or(self.type_name, |(_, name)| name)
    }
}

const fn entry(type_name: &'static str, status: StatusCode) -> CatalogEntry {
    CatalogEntry { type_name, status }
}

impl ApiError {
    /// The `__type` and HTTP status of this error: the one place the catalog is written.
    pub fn catalog(&self) -> CatalogEntry {
        use ApiError as E;
        const BAD: StatusCode = StatusCode::BAD_REQUEST;
        match self {
            E::Validation(_) | E::Unsupported(_) => entry(concat_type!("ValidationException"), BAD),
            E::Serialization(_) => entry(concat_type!("SerializationException"), BAD),
            E::UnknownOperation => entry(concat_type!("UnknownOperationException"), BAD),
            E::RequestTooLarge => entry(
                concat_type!("RequestEntityTooLargeException"),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            E::ResourceNotFound(_) => entry(concat_type!("ResourceNotFoundException"), BAD),
            E::ResourceInUse(_) => entry(concat_type!("ResourceInUseException"), BAD),
            E::ConditionalCheckFailed { .. } => {
                entry(concat_type!("ConditionalCheckFailedException"), BAD)
            }
            E::TransactionCanceled(_) => entry(concat_type!("TransactionCanceledException"), BAD),
            E::TransactionConflict(_) => entry(concat_type!("TransactionConflictException"), BAD),
            E::TransactionInProgress(_) => {
                entry(concat_type!("TransactionInProgressException"), BAD)
            }
            E::IdempotentParameterMismatch(_) => {
                entry(concat_type!("IdempotentParameterMismatchException"), BAD)
            }
            E::LimitExceeded(_) => entry(concat_type!("LimitExceededException"), BAD),
            E::ProvisionedThroughputExceeded(_) => {
                entry(concat_type!("ProvisionedThroughputExceededException"), BAD)
            }
            E::RequestLimitExceeded(_) => entry(concat_type!("RequestLimitExceeded"), BAD),
            E::Throttling(_) => entry(concat_type!("ThrottlingException"), BAD),
            E::ItemCollectionSizeLimitExceeded(_) => entry(
                concat_type!("ItemCollectionSizeLimitExceededException"),
                BAD,
            ),
            E::MissingAuthenticationToken(_) => entry(
                concat_type!("MissingAuthenticationTokenException"),
                StatusCode::FORBIDDEN,
            ),
            // DynamoDB answers these from its front end, in the Coral namespace.
            E::Auth(kind, _) => entry(
                match kind {
                    AuthFailure::MissingAuthenticationToken => {
                        "com.amazon.coral.service#MissingAuthenticationTokenException"
                    }
                    AuthFailure::IncompleteSignature => {
                        "com.amazon.coral.service#IncompleteSignatureException"
                    }
                    AuthFailure::UnrecognizedClient => {
                        "com.amazon.coral.service#UnrecognizedClientException"
                    }
                    AuthFailure::InvalidSignature => {
                        "com.amazon.coral.service#InvalidSignatureException"
                    }
                },
                BAD,
            ),
            E::Internal(_) => entry(
                concat_type!("InternalServerError"),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            E::Unavailable(_) => entry(
                concat_type!("ServiceUnavailable"),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            // DynamoDB Streams answers in DynamoDB's namespace too; SDKs match the part after
            // the `#` either way.
            E::ExpiredIterator(_) => entry(concat_type!("ExpiredIteratorException"), BAD),
            E::TrimmedDataAccess(_) => entry(concat_type!("TrimmedDataAccessException"), BAD),
            E::GlobalTable(kind, _) => {
                use GlobalTableError as G;
                let type_name = match kind {
                    G::GlobalTableAlreadyExists => {
                        concat_type!("GlobalTableAlreadyExistsException")
                    }
                    G::GlobalTableNotFound => concat_type!("GlobalTableNotFoundException"),
                    G::ReplicaAlreadyExists => concat_type!("ReplicaAlreadyExistsException"),
                    G::ReplicaNotFound => concat_type!("ReplicaNotFoundException"),
                    G::TableNotFound => concat_type!("TableNotFoundException"),
                };
                entry(type_name, BAD)
            }
            E::Backup(fault, _) => entry(backup_type(*fault), BAD),
            E::DuplicateItem(_) => entry(concat_type!("DuplicateItemException"), BAD),
        }
    }

    /// The message the client sees.
    pub fn client_message(&self) -> Cow<'_, str> {
        match self {
            ApiError::Internal(_) => Cow::Borrowed("Internal server error"),
            ApiError::UnknownOperation => Cow::Borrowed("Unknown operation"),
            ApiError::RequestTooLarge => Cow::Borrowed("Request entity too large"),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// The JSON body of the error response.
    pub fn body(&self) -> Vec<u8> {
        let entry = self.catalog();
        let message = self.client_message();
        let body = ErrorBody {
            type_name: entry.type_name,
            message: Some(&*message),
            item: match self {
                ApiError::ConditionalCheckFailed { item: Some(item) } => Some(WireItem(item)),
                _ => None,
            },
            reasons: match self {
                ApiError::TransactionCanceled(reasons) => {
                    Some(reasons.iter().map(ReasonWire).collect())
                }
                _ => None,
            },
            throttling_reasons: match self {
                ApiError::ProvisionedThroughputExceeded(t)
                | ApiError::RequestLimitExceeded(t)
                | ApiError::Throttling(t)
                    if !t.reasons.is_empty() =>
                {
                    Some(&t.reasons)
                }
                _ => None,
            },
        };
        // Serializing borrowed strings and items into a Vec cannot fail.
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// A ValidationException.
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::Validation(message.into())
    }

    /// An InternalServerError carrying a detail for the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }
}

/// The `__type` of a backup exception.
fn backup_type(fault: table::backup::BackupFault) -> &'static str {
    use table::backup::BackupFault as B;
    match fault {
        B::BackupNotFound => concat_type!("BackupNotFoundException"),
        B::BackupInUse => concat_type!("BackupInUseException"),
        B::TableNotFound => concat_type!("TableNotFoundException"),
        B::TableAlreadyExists => concat_type!("TableAlreadyExistsException"),
        B::TableInUse => concat_type!("TableInUseException"),
        B::PointInTimeRecoveryUnavailable => {
            concat_type!("PointInTimeRecoveryUnavailableException")
        }
        B::InvalidRestoreTime => concat_type!("InvalidRestoreTimeException"),
        B::ContinuousBackupsUnavailable => concat_type!("ContinuousBackupsUnavailableException"),
        B::ExportNotFound => concat_type!("ExportNotFoundException"),
        B::ImportNotFound => concat_type!("ImportNotFoundException"),
        B::InvalidExportTime => concat_type!("InvalidExportTimeException"),
        B::ExportConflict => concat_type!("ExportConflictException"),
        B::ImportConflict => concat_type!("ImportConflictException"),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    type_name: &'a str,
    #[serde(rename = "message", skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(rename = "Item", skip_serializing_if = "Option::is_none")]
    item: Option<WireItem<'a>>,
    #[serde(
        rename = "CancellationReasons",
        skip_serializing_if = "Option::is_none"
    )]
    reasons: Option<Vec<ReasonWire<'a>>>,
    #[serde(rename = "ThrottlingReasons", skip_serializing_if = "Option::is_none")]
    throttling_reasons: Option<&'a Vec<ThrottlingReason>>,
}

/// The detail of a throttling error: its message and DynamoDB's `ThrottlingReasons`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    pub message: String,
    pub reasons: Vec<ThrottlingReason>,
}

impl Throttled {
    /// A throttling error with no reasons.
    pub fn new(message: impl Into<String>) -> Throttled {
        Throttled {
            message: message.into(),
            reasons: Vec::new(),
        }
    }
}

impl std::fmt::Display for Throttled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a request was throttled (`TableWriteProvisionedThroughputExceeded`, ...) and the ARN of
/// the resource, as DynamoDB's `ThrottlingReason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThrottlingReason {
    pub reason: String,
    pub resource: String,
}

struct ReasonWire<'a>(&'a CancellationReason);

impl Serialize for ReasonWire<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("Code", &r.code)?;
        if let Some(message) = &r.message {
            map.serialize_entry("Message", message)?;
        }
        if let Some(item) = &r.item {
            map.serialize_entry("Item", &WireItem(item))?;
        }
        map.end()
    }
}

fn cancellation_message(reasons: &[CancellationReason]) -> String {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
    format!(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        codes.join(", ")
    )
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Validation(m) => ApiError::Validation(m),
            Rejection::ResourceNotFound(m) => ApiError::ResourceNotFound(m),
            Rejection::ResourceInUse(m) => ApiError::ResourceInUse(m),
            Rejection::ConditionalCheckFailed { item } => ApiError::ConditionalCheckFailed { item },
            Rejection::TransactionCanceled(reasons) => ApiError::TransactionCanceled(reasons),
            Rejection::IdempotentParameterMismatch(m) => ApiError::IdempotentParameterMismatch(m),
            Rejection::LimitExceeded(m) => ApiError::LimitExceeded(m),
            Rejection::ItemCollectionSizeLimitExceeded(m) => {
                ApiError::ItemCollectionSizeLimitExceeded(m)
            }
            Rejection::Backup(fault, m) => ApiError::Backup(fault, m),
        }
    }
}

impl From<TableError> for ApiError {
    fn from(error: TableError) -> Self {
        ApiError::internal(error)
    }
}

impl From<ValueError> for ApiError {
    fn from(error: ValueError) -> Self {
        match error.kind {
            ValueErrorKind::Serialization => ApiError::Serialization(error.message),
            ValueErrorKind::Validation => ApiError::Validation(error.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// One of each variant; `index` fails to compile when a variant is added without a case.
    fn every_variant() -> Vec<ApiError> {
        fn index(e: &ApiError) -> usize {
            match e {
                ApiError::Validation(_) => 0,
                ApiError::Unsupported(_) => 1,
                ApiError::Serialization(_) => 2,
                ApiError::UnknownOperation => 3,
                ApiError::RequestTooLarge => 4,
                ApiError::ResourceNotFound(_) => 5,
                ApiError::ResourceInUse(_) => 6,
                ApiError::ConditionalCheckFailed { .. } => 7,
                ApiError::TransactionCanceled(_) => 8,
                ApiError::TransactionConflict(_) => 9,
                ApiError::TransactionInProgress(_) => 10,
                ApiError::IdempotentParameterMismatch(_) => 11,
                ApiError::LimitExceeded(_) => 12,
                ApiError::ProvisionedThroughputExceeded(_) => 13,
                ApiError::RequestLimitExceeded(_) => 14,
                ApiError::Throttling(_) => 15,
                ApiError::ItemCollectionSizeLimitExceeded(_) => 16,
                ApiError::MissingAuthenticationToken(_) => 17,
                ApiError::Auth(..) => 25,
                ApiError::Internal(_) => 18,
                ApiError::Unavailable(_) => 19,
                ApiError::ExpiredIterator(_) => 20,
                ApiError::TrimmedDataAccess(_) => 21,
                ApiError::GlobalTable(..) => 22,
                ApiError::Backup(..) => 23,
                ApiError::DuplicateItem(_) => 24,
            }
        }
        let m = || "m".to_owned();
        let all = vec![
            ApiError::Validation(m()),
            ApiError::Unsupported(Operation::CreateBackup),
            ApiError::Serialization(m()),
            ApiError::UnknownOperation,
            ApiError::RequestTooLarge,
            ApiError::ResourceNotFound(m()),
            ApiError::ResourceInUse(m()),
            ApiError::ConditionalCheckFailed { item: None },
            ApiError::TransactionCanceled(vec![]),
            ApiError::TransactionConflict(m()),
            ApiError::TransactionInProgress(m()),
            ApiError::IdempotentParameterMismatch(m()),
            ApiError::LimitExceeded(m()),
            ApiError::ProvisionedThroughputExceeded(Throttled::new(m())),
            ApiError::RequestLimitExceeded(Throttled::new(m())),
            ApiError::Throttling(Throttled::new(m())),
            ApiError::ItemCollectionSizeLimitExceeded(m()),
            ApiError::MissingAuthenticationToken(m()),
            ApiError::Internal("secret detail".into()),
            ApiError::Unavailable(m()),
            ApiError::ExpiredIterator(m()),
            ApiError::TrimmedDataAccess(m()),
            ApiError::GlobalTable(GlobalTableError::ReplicaNotFound, m()),
            ApiError::Backup(table::backup::BackupFault::BackupNotFound, m()),
            ApiError::DuplicateItem(m()),
            ApiError::Auth(AuthFailure::InvalidSignature, m()),
        ];
        let mut seen: Vec<usize> = all.iter().map(index).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..all.len()).collect::<Vec<_>>());
        all
    }

    #[test]
    fn t10_catalog_walks_every_variant() {
        for error in every_variant() {
            let entry = error.catalog();
            let body: Value = serde_json::from_slice(&error.body()).unwrap();
            assert_eq!(body["__type"], entry.type_name, "{error:?}");
            assert!(entry.type_name.contains('#'));
            let message = body
                .get("message")
                .or_else(|| body.get("Message"))
                .and_then(Value::as_str)
                .unwrap();
            assert!(!message.is_empty());
            assert!(!message.contains("secret"), "internal detail leaked");
            let server_side = matches!(error, ApiError::Internal(_) | ApiError::Unavailable(_));
            assert_eq!(entry.status.is_server_error(), server_side, "{error:?}");
            assert!(entry.status.is_client_error() || server_side);
            assert!(!entry.code().contains('#'));
        }
    }

    #[test]
    fn t10_known_codes() {
        assert_eq!(
            ApiError::validation("x").catalog().code(),
            "ValidationException"
        );
        assert_eq!(
            ApiError::Unsupported(Operation::ExecuteStatement).to_string(),
            "Meridian does not support ExecuteStatement yet"
        );
        assert_eq!(
            ApiError::internal("x").catalog().type_name,
            "com.amazonaws.dynamodb.v20120810#InternalServerError"
        );
        let body: Value =
            serde_json::from_slice(&ApiError::Serialization("bad".into()).body()).unwrap();
        assert_eq!(body["message"], "bad");
    }

    #[test]
    fn t10_conditional_check_failed_carries_item() {
        let mut item = Item::new();
        item.insert("pk".into(), model::AttributeValue::S("a".into()));
        let body: Value =
            serde_json::from_slice(&ApiError::ConditionalCheckFailed { item: Some(item) }.body())
                .unwrap();
        assert_eq!(
            body,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                "message": "The conditional request failed",
                "Item": {"pk": {"S": "a"}}
            })
        );
    }

    #[test]
    fn t10_transaction_canceled_lists_reasons() {
        let reasons = vec![
            CancellationReason {
                code: "ConditionalCheckFailed".into(),
                message: Some("The conditional request failed".into()),
                item: None,
            },
            CancellationReason {
                code: "None".into(),
                message: None,
                item: None,
            },
        ];
        let body: Value =
            serde_json::from_slice(&ApiError::TransactionCanceled(reasons).body()).unwrap();
        assert_eq!(
            body["message"],
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]"
        );
        assert_eq!(
            body["CancellationReasons"],
            json!([
                {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
                {"Code": "None"}
            ])
        );
    }
}
