//! Injected API faults (the chaos lab): a request that meets an `inject-error` fault waits its
//! delay and answers with the chosen DynamoDB error (throttling errors carry
//! `ThrottlingReasons`), so that SDK retry paths can be exercised. Every answer a fault touched
//! carries the header [`CHAOS_HEADER`] naming the fault; no other answer does.

use http::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use chaos::InjectedError;

use crate::error::{ApiError, Throttled, ThrottlingReason};
use crate::operation::Operation;

/// Names the chaos fault that acted on a request (delay or error).
pub const CHAOS_HEADER: HeaderName = HeaderName::from_static("x-meridian-chaos");

/// The table a request names, when a table filter needs it (batch and transaction operations
/// name none and match only faults without a table).
pub(crate) fn table_of(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Named {
        #[serde(rename = "TableName")]
        table_name: Option<String>,
    }
    let named: Named = serde_json::from_slice(body).ok()?;
    named.table_name.map(|t| chaos::table_name(&t).to_owned())
}

/// Whether an operation reads (for the `Read`/`Write` part of a throttling reason).
fn reads(operation: Operation) -> bool {
    let name = operation.name();
    [
        "Get",
        "Query",
        "Scan",
        "BatchGet",
        "TransactGet",
        "Describe",
        "List",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

/// The error an injected fault answers with.
pub(crate) fn injected_error(
    error: InjectedError,
    operation: Operation,
    region: &str,
    table: Option<&str>,
) -> ApiError {
    let access = if reads(operation) { "Read" } else { "Write" };
    let throttled = |limit: &str, message: &str| {
        let reasons = table
            .map(|t| {
                vec![ThrottlingReason {
                    reason: format!("Table{access}{limit}"),
                    resource: model::table::table_arn(region, t),
                }]
            })
            .unwrap_or_default();
        Throttled {
            message: message.to_owned(),
            reasons,
        }
    };
    match error {
        InjectedError::ProvisionedThroughputExceededException => {
            ApiError::ProvisionedThroughputExceeded(throttled(
                "ProvisionedThroughputExceeded",
                "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            ))
        }
        InjectedError::ThrottlingException => ApiError::Throttling(throttled(
            "MaxOnDemandThroughputExceeded",
            "Throughput exceeds the current throughput limit for your table. (injected by a Meridian chaos fault)",
        )),
        InjectedError::RequestLimitExceeded => ApiError::RequestLimitExceeded(throttled(
            "AccountLimitExceeded",
            "Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
        )),
        InjectedError::InternalServerError => {
            ApiError::internal("injected by a Meridian chaos fault")
        }
        InjectedError::ServiceUnavailable => ApiError::Unavailable(
            "The service is temporarily unavailable (injected by a Meridian chaos fault)".into(),
        ),
    }
}

/// Applies the `inject-error` fault (if any) that meets this request: waits its delay, then
/// returns the fault's id and the error to answer with (`None`: answer normally).
pub(crate) async fn inject(
    region: &dyn crate::Region,
    operation: Operation,
    body: &[u8],
) -> Option<(String, Option<ApiError>)> {
    let node = region.chaos()?;
    if node.chaos.is_quiet() {
        return None;
    }
    let table = table_of(body);
    let fault = node.chaos.api_fault(operation.name(), table.as_deref())?;
    if fault.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms)).await;
    }
    let error = fault
        .error
        .map(|e| injected_error(e, operation, region.region_name(), table.as_deref()));
    Some((fault.fault, error))
}

/// The header value for fault `id`.
pub(crate) fn header_value(id: &str) -> HeaderValue {
    HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("fault"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn t10_throttling_errors_carry_reasons() {
        let e = injected_error(
            InjectedError::ProvisionedThroughputExceededException,
            Operation::PutItem,
            "eu-west-1",
            Some("orders"),
        );
        let body: Value = serde_json::from_slice(&e.body()).expect("json");
        assert_eq!(
            body["__type"],
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
        );
        assert_eq!(
            body["ThrottlingReasons"][0]["reason"],
            "TableWriteProvisionedThroughputExceeded"
        );
        assert_eq!(
            body["ThrottlingReasons"][0]["resource"],
            "arn:aws:dynamodb:eu-west-1:000000000000:table/orders"
        );
        let e = injected_error(
            InjectedError::ThrottlingException,
            Operation::GetItem,
            "a",
            None,
        );
        let body: Value = serde_json::from_slice(&e.body()).expect("json");
        assert_eq!(
            body["__type"],
            "com.amazonaws.dynamodb.v20120810#ThrottlingException"
        );
        assert!(body.get("ThrottlingReasons").is_none());
        let e = injected_error(
            InjectedError::InternalServerError,
            Operation::Query,
            "a",
            None,
        );
        assert_eq!(e.catalog().status.as_u16(), 500);
    }

    #[test]
    fn t10_table_names_are_read_from_the_body() {
        assert_eq!(
            table_of(br#"{"TableName":"t","Item":{}}"#).as_deref(),
            Some("t")
        );
        assert_eq!(
            table_of(br#"{"TableName":"arn:aws:dynamodb:a:1:table/t"}"#).as_deref(),
            Some("t")
        );
        assert_eq!(table_of(br#"{"RequestItems":{}}"#), None);
        assert_eq!(table_of(b"not json"), None);
    }
}
