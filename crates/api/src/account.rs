//! Account-level operations: DescribeEndpoints and DescribeLimits.

use serde::Serialize;

use model::limits::{ACCOUNT_READ_CAPACITY_MAX, TABLE_READ_CAPACITY_MAX};

use crate::error::ApiError;
use crate::request::{json_body, RequestContext};

/// Runs DescribeEndpoints: this node is the endpoint, for as long as DynamoDB says.
pub(crate) fn describe_endpoints(ctx: &RequestContext<'_>) -> Result<Vec<u8>, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Endpoint<'a> {
        address: &'a str,
        cache_period_in_minutes: u64,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        endpoints: [Endpoint<'a>; 1],
    }
    json_body(&Output {
        endpoints: [Endpoint {
            address: ctx.host.unwrap_or("localhost"),
            cache_period_in_minutes: 1440,
        }],
    })
}

/// Runs DescribeLimits.
pub(crate) fn describe_limits() -> Result<Vec<u8>, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        account_max_read_capacity_units: u64,
        account_max_write_capacity_units: u64,
        table_max_read_capacity_units: u64,
        table_max_write_capacity_units: u64,
    }
    json_body(&Output {
        account_max_read_capacity_units: ACCOUNT_READ_CAPACITY_MAX,
        account_max_write_capacity_units: ACCOUNT_READ_CAPACITY_MAX,
        table_max_read_capacity_units: TABLE_READ_CAPACITY_MAX,
        table_max_write_capacity_units: TABLE_READ_CAPACITY_MAX,
    })
}
