//! CORS, as DynamoDB Local answers it by default: browser apps that call the local endpoint
//! with the JavaScript SDK send a preflight `OPTIONS` and need `Access-Control-Allow-*`
//! headers on every answer.

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS,
};
use http::{Response, StatusCode};
use http_body_util::Full;

/// How long a browser may cache a preflight answer (DynamoDB Local's value).
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 172_800;

const ANY: HeaderValue = HeaderValue::from_static("*");
const METHODS: HeaderValue = HeaderValue::from_static("GET, POST, OPTIONS");
const EXPOSED: HeaderValue = HeaderValue::from_static("x-amzn-RequestId, x-amz-crc32, x-amz-id-2");
const DEFAULT_HEADERS: HeaderValue = HeaderValue::from_static(
    "content-type, x-amz-target, x-amz-date, x-amz-user-agent, x-amz-security-token, \
     x-amz-content-sha256, authorization, amz-sdk-invocation-id, amz-sdk-request",
);

/// The answer to a preflight `OPTIONS` request.
pub fn preflight(request: &HeaderMap) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, METHODS);
    let asked = request.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        asked.unwrap_or(DEFAULT_HEADERS),
    );
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
    );
    response
}

/// Adds the headers a browser needs to read a cross-origin answer.
pub fn allow(headers: &mut HeaderMap) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
}
