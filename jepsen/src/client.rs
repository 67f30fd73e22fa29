//! SDK clients with short timeouts, and the mapping of SDK errors to outcomes.

use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::history::{Completion, Outcome};

/// Longest one operation may take before it is recorded as `Info`. Longer than a leader
/// election plus the server's own waits (3 s for a leader, 5 s for a consistent read), so a
/// healthy but recovering region answers.
pub const OPERATION_TIMEOUT_MS: u64 = 6_000;
/// Connect timeout: a refused or unreachable node is known not to have seen the request.
pub const CONNECT_TIMEOUT_MS: u64 = 1_000;

/// A client for `url` signing for `region`, with retries off (every attempt is an operation
/// of the history).
pub fn client(url: &str, region: &str) -> Client {
    let base = meridian_tests::client_in_region(url, region);
    let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .operation_timeout(Duration::from_millis(OPERATION_TIMEOUT_MS))
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .build();
    Client::from_conf(base.config().to_builder().timeout_config(timeouts).build())
}

/// The completion of an operation that failed with `err` (see [`classify`]).
pub fn failure<E>(err: &SdkError<E, HttpResponse>) -> Completion
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    let (outcome, message) = classify(err);
    Completion::failed(outcome, message)
}

/// The outcome an SDK error means, and a short description: a 4xx (including
/// ConditionalCheckFailed) and a refused connection are `Fail` (known not applied); a 5xx, a
/// timeout or a broken connection are `Info`.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> (Outcome, String)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("unknown").to_owned();
            if status >= 500 {
                (Outcome::Info, format!("{code} ({status})"))
            } else {
                (Outcome::Fail, code)
            }
        }
        SdkError::ConstructionFailure(_) => (Outcome::Fail, "construction failure".into()),
        SdkError::TimeoutError(_) => (Outcome::Info, "timeout".into()),
        SdkError::DispatchFailure(d) => {
            let text = format!("{d:?}");
            if text.contains("ConnectionRefused") || text.contains("Connection refused") {
                (Outcome::Fail, "connection refused".into())
            } else if d.is_timeout() {
                (Outcome::Info, "connect timeout".into())
            } else {
                (Outcome::Info, "dispatch failure".into())
            }
        }
        _ => (Outcome::Info, "response error".into()),
    }
}

/// A number attribute.
pub fn num(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute.
pub fn text(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// The integer held by a number attribute.
pub fn as_i64(v: Option<&AttributeValue>) -> Option<i64> {
    match v {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

/// The integers of a number-set attribute (empty if absent).
pub fn as_set(v: Option<&AttributeValue>) -> Vec<i64> {
    match v {
        Some(AttributeValue::Ns(ns)) => ns.iter().filter_map(|n| n.parse().ok()).collect(),
        _ => Vec::new(),
    }
}
