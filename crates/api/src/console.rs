//! The web console on the API listener: a single page (HTML, JavaScript and CSS embedded in
//! the binary, no third-party assets, so it works offline) at [`CONSOLE_PATH`], and the two
//! endpoints only it uses: the cluster status ([`STATUS_PATH`]) and the chaos controls
//! ([`CHAOS_PATH_PREFIX`]`{list,add,clear}`, the same JSON and the same answers as the lab
//! listener's `/admin/chaos/*`). Tables and items go through the DynamoDB API itself.
//!
//! Who may use it: the console answers only on a loopback listener (where the Host check
//! already refuses DNS-rebound names) unless the operator opted in
//! ([`ServeOptions::console_bind_any`]); elsewhere every console path is a 404. The status and
//! chaos endpoints also need the [`CONSOLE_HEADER`] request header: a page on another site
//! cannot add it without a CORS preflight, and preflights of console paths are refused, so
//! only the console's own (same-origin) page can call them.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;

use chaos::{AdminAnswer, AdminError};

use crate::cluster_status::{ClusterStatus, STATUS_PATH};
use crate::options::ServeOptions;
use crate::Region;

/// Where the console is served on the API listener.
pub const CONSOLE_PATH: &str = "/console";
/// The console's chaos controls: `list`, `add` and `clear` under this prefix.
pub const CHAOS_PATH_PREFIX: &str = "/_meridian/chaos/";
/// The header the console's own calls carry (any value; the page sends `1`).
pub const CONSOLE_HEADER: &str = "x-meridian-console";
/// The largest body a console call may send.
pub const CONSOLE_BODY_BYTES_MAX: usize = 64 * 1024;

const INDEX_HTML: &str = include_str!("../console/index.html");
const CONSOLE_JS: &str = include_str!("../console/console.js");
const CONSOLE_CSS: &str = include_str!("../console/console.css");
const FAVICON_SVG: &str = include_str!("../console/favicon.svg");

/// Everything the page loads comes from this listener; it may not be framed.
const CONTENT_SECURITY_POLICY: HeaderValue = HeaderValue::from_static(
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
);

/// Whether `path` belongs to the console (the page, its assets, its endpoints).
pub(crate) fn is_console_path(path: &str) -> bool {
    path == CONSOLE_PATH
        || path.starts_with("/console/")
        || path == STATUS_PATH
        || path.starts_with(CHAOS_PATH_PREFIX)
}

/// An embedded asset of the page.
fn asset(path: &str) -> Option<(&'static str, &'static str)> {
    let name = path
        .strip_prefix(CONSOLE_PATH)
        .map(|rest| rest.trim_start_matches('/'))?;
    Some(match name {
        "" | "index.html" => (INDEX_HTML, "text/html; charset=utf-8"),
        "console.js" => (CONSOLE_JS, "text/javascript; charset=utf-8"),
        "console.css" => (CONSOLE_CSS, "text/css; charset=utf-8"),
        "favicon.svg" => (FAVICON_SVG, "image/svg+xml"),
        _ => return None,
    })
}

/// Answers a request for a console path (see [`is_console_path`]). No CORS headers are ever
/// added: only the console's own origin may read these answers.
pub(crate) async fn handle(
    request: http::Request<Incoming>,
    region: &dyn Region,
    options: &ServeOptions,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if !options.console_enabled() {
        return json_error(&AdminError::no_such_path(path), StatusCode::NOT_FOUND);
    }
    if parts.method == Method::OPTIONS {
        let error = AdminError {
            status: 403,
            type_name: "AccessDeniedException".into(),
            message: "the console's endpoints answer only the console's own page".into(),
        };
        return json_error(&error, StatusCode::FORBIDDEN);
    }
    if !path.starts_with("/_meridian/") {
        return match (&parts.method, asset(path)) {
            (&Method::GET | &Method::HEAD, Some((text, content_type))) => page(text, content_type),
            (_, Some(_)) => json_error(
                &AdminError::validation("use GET for the console's pages"),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (_, None) => json_error(&AdminError::no_such_path(path), StatusCode::NOT_FOUND),
        };
    }
    if !parts.headers.contains_key(CONSOLE_HEADER) {
        let error = AdminError {
            status: 403,
            type_name: "com.amazonaws.dynamodb.v20120810#MissingAuthenticationTokenException"
                .into(),
            message: format!("console calls need the {CONSOLE_HEADER} header"),
        };
        return json_error(&error, StatusCode::FORBIDDEN);
    }
    if path == STATUS_PATH {
        if parts.method != Method::GET && parts.method != Method::POST {
            return json_error(
                &AdminError::validation("use GET"),
                StatusCode::METHOD_NOT_ALLOWED,
            );
        }
        return json(StatusCode::OK, &status(region).await);
    }
    let action = path.strip_prefix(CHAOS_PATH_PREFIX).unwrap_or_default();
    let body = match parts.method {
        Method::POST => match read_body(body, options).await {
            Ok(body) => body,
            Err(error) => return json_error(&error, StatusCode::BAD_REQUEST),
        },
        Method::GET if action == "list" => Bytes::new(),
        _ => {
            return json_error(
                &AdminError::validation("use POST (GET only lists)"),
                StatusCode::METHOD_NOT_ALLOWED,
            )
        }
    };
    match chaos_call(region, action, &body) {
        Ok(answer) => json(StatusCode::OK, &answer),
        Err(error) => {
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
            json_error(&error, status)
        }
    }
}

/// The deployment's status: what the region reports, or (a region that reports nothing
/// more) itself from its health check.
pub(crate) async fn status(region: &dyn Region) -> ClusterStatus {
    if let Some(status) = region.cluster_status().await {
        return status;
    }
    let now_ms = region.clock().now_ms();
    let mut status = ClusterStatus::from_health(region.region_name(), &region.health(), now_ms);
    if let Some(node) = region.chaos() {
        status.faults = node.chaos.list();
    }
    status
}

/// Serves `list`, `add` or `clear` against the serving process's chaos state, validated
/// against what the region says faults may name.
pub(crate) fn chaos_call(
    region: &dyn Region,
    action: &str,
    body: &[u8],
) -> Result<AdminAnswer, AdminError> {
    let (Some(node), Some(topology)) = (region.chaos(), region.chaos_topology()) else {
        return Err(AdminError::validation(
            "this listener has no chaos controls",
        ));
    };
    if !matches!(action, "list" | "add" | "clear") {
        return Err(AdminError::no_such_path(&format!(
            "{CHAOS_PATH_PREFIX}{action}"
        )));
    }
    let answer = chaos::admin(&node.chaos, &topology, action, body)?;
    match &answer {
        AdminAnswer::Faults(list) if action == "add" => {
            for view in &list.faults {
                tracing::info!(id = %view.id, kind = %view.kind, duration = ?view.duration, "chaos fault installed from the console");
            }
        }
        AdminAnswer::Cleared { cleared } => {
            tracing::info!(cleared, "chaos faults cleared from the console");
        }
        _ => {}
    }
    Ok(answer)
}

/// Reads a console call's body: bounded in size and in time.
async fn read_body(body: Incoming, options: &ServeOptions) -> Result<Bytes, AdminError> {
    let deadline = Duration::from_millis(options.body_read_timeout_ms);
    match tokio::time::timeout(
        deadline,
        Limited::new(body, CONSOLE_BODY_BYTES_MAX).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(AdminError::validation(format!(
            "the request body could not be read (at most {CONSOLE_BODY_BYTES_MAX} bytes)"
        ))),
        Err(_) => Err(AdminError::validation(format!(
            "the request body was not received within {} ms",
            options.body_read_timeout_ms
        ))),
    }
}

fn page(text: &'static str, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("content-security-policy", CONTENT_SECURITY_POLICY);
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => respond_json(status, body),
        Err(e) => json_error(
            &AdminError {
                status: 500,
                type_name: "com.amazonaws.dynamodb.v20120810#InternalServerError".into(),
                message: format!("the answer could not be encoded: {e}"),
            },
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}

fn json_error(error: &AdminError, status: StatusCode) -> Response<Full<Bytes>> {
    respond_json(status, error.body())
}

fn respond_json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}
