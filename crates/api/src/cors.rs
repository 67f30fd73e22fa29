//! CORS, as DynamoDB Local answers it: browser apps that call the local endpoint with the
//! JavaScript SDK send a preflight `OPTIONS` and need `Access-Control-Allow-*` headers on
//! every answer. By default any origin may (DynamoDB Local's `-cors *`); `-cors` with a list
//! of origins limits it to those, and other origins get no CORS headers at all.

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ORIGIN, VARY,
};
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::options::CorsOrigins;

/// How long a browser may cache a preflight answer (DynamoDB Local's value).
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 172_800;

const METHODS: HeaderValue = HeaderValue::from_static("GET, POST, OPTIONS");
const EXPOSED: HeaderValue = HeaderValue::from_static("x-amzn-RequestId, x-amz-crc32, x-amz-id-2");
const DEFAULT_HEADERS: HeaderValue = HeaderValue::from_static(
    "content-type, x-amz-target, x-amz-date, x-amz-user-agent, x-amz-security-token, \
     x-amz-content-sha256, authorization, amz-sdk-invocation-id, amz-sdk-request",
);
const ORIGIN_VARY: HeaderValue = HeaderValue::from_static("Origin");

/// The `Access-Control-Allow-Origin` value for this request, if its origin is allowed.
fn allowed_origin(request: &HeaderMap, origins: &CorsOrigins) -> Option<HeaderValue> {
    let origin = request.get(ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = match (origins, origin) {
        (CorsOrigins::Any, _) => Some("*".to_owned()),
        (list, Some(origin)) => list.allow(origin),
        (CorsOrigins::List(_), None) => None,
    }?;
    HeaderValue::from_str(&allowed).ok()
}

/// The answer to a preflight `OPTIONS` request: 200 with the CORS headers when the origin is
/// allowed, 403 without them when it is not.
pub fn preflight(request: &HeaderMap, origins: &CorsOrigins) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    let Some(origin) = allowed_origin(request, origins) else {
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    };
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if matches!(origins, CorsOrigins::List(_)) {
        headers.insert(VARY, ORIGIN_VARY);
    }
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

/// Adds the headers a browser needs to read a cross-origin answer, if the request's origin
/// is allowed.
pub fn allow(request: &HeaderMap, origins: &CorsOrigins, headers: &mut HeaderMap) {
    if let Some(origin) = allowed_origin(request, origins) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
        if matches!(origins, CorsOrigins::List(_)) {
            headers.insert(VARY, ORIGIN_VARY);
        }
    }
}
