//! The HTTP/1.1 front door: one hyper connection task per client, keep-alive, a bounded body,
//! DynamoDB's headers on every response, and graceful shutdown that lets requests in flight
//! finish (up to a bound) while idle connections close at once.
//!
//! Bounded against slow and stalled clients ([`ServeOptions`]): at most `max_connections`
//! open connections (a new one beyond that gets a 503 ServiceUnavailable and is closed, so
//! the node keeps file descriptors for its log and snapshots), a deadline on each body, and
//! an idle limit per connection.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONNECTION, CONTENT_ENCODING,
    CONTENT_LENGTH, CONTENT_TYPE, HOST, SERVER,
};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument as _;

use model::limits::REQUEST_BODY_BYTES_MAX;

use crate::chaos;
use crate::compression::{self, Coding};
use crate::console;
use crate::cors;
use crate::error::ApiError;
use crate::health::HEALTH_PATH;
use crate::metering::{ErrorCode, Metered};
use crate::operation::Operation;
use crate::options::{is_loopback_host, secret_matches, ServeOptions, ADMIN_SECRET_HEADER};
use crate::request::{decode, execute, RequestContext};
use crate::sigv4::{self, credential_region};
use crate::streams::{self, StreamOperation};
use crate::ttl::{self, TTL_SWEEP_PATH};
use crate::Region;

/// How long a client may take to send a request's headers (the default idle limit).
pub const HEADER_READ_TIMEOUT_MS: u64 = crate::options::CONNECTION_IDLE_TIMEOUT_MS_DEFAULT;
/// How long shutdown waits for requests in flight before giving up on them.
pub const SHUTDOWN_DRAIN_TIMEOUT_MS: u64 = 10_000;
/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
pub const ACCEPT_ERROR_BACKOFF_MS: u64 = 50;
/// At most one "connection limit reached" warning per this many ms.
const LIMIT_WARNING_INTERVAL_MS: u64 = 10_000;

const JSON_1_0: HeaderValue = HeaderValue::from_static("application/x-amz-json-1.0");
const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const X_AMZ_CRC32: HeaderName = HeaderName::from_static("x-amz-crc32");
const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
/// DynamoDB's `Server` header value.
const SERVER_NAME: HeaderValue = HeaderValue::from_static("Server");

/// Serves the DynamoDB API on `listener` until `shutdown` completes, then stops accepting,
/// asks every connection to close after its current request, and waits for them (at most
/// [`SHUTDOWN_DRAIN_TIMEOUT_MS`]). Default limits ([`ServeOptions::for_addr`]), no admin
/// secret.
pub async fn serve<F>(
    listener: TcpListener,
    region: Arc<dyn Region>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    serve_routed(listener, vec![region], shutdown).await
}

/// Like [`serve`], for several regions on one listener (`meridian dev`'s shared port): each
/// request goes to the region named in its SigV4 credential scope, or to the first region
/// when it names none of them.
pub async fn serve_routed<F>(
    listener: TcpListener,
    regions: Vec<Arc<dyn Region>>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let options = match listener.local_addr() {
        Ok(addr) => ServeOptions::for_addr(addr),
        Err(_) => ServeOptions::default(),
    };
    serve_with(listener, regions, options, shutdown).await
}

/// Like [`serve_routed`], with the listener's limits and rules given.
pub async fn serve_with<F>(
    listener: TcpListener,
    regions: Vec<Arc<dyn Region>>,
    options: ServeOptions,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let options = Arc::new(options);
    let connections = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let mut last_limit_warning: Option<std::time::Instant> = None;
    let regions: Arc<[Arc<dyn Region>]> = regions.into();
    let Some(first) = regions.first() else {
        return Err(std::io::Error::other(
            "serve_routed needs at least one region",
        ));
    };
    let first = Arc::clone(first);
    let region_name = first.region_name().to_owned();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(
            %addr,
            region = %region_name,
            routed = regions.len() > 1,
            max_connections = options.max_connections,
            "api listening"
        );
    }
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, _peer) = match accepted {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(ACCEPT_ERROR_BACKOFF_MS)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            let now = std::time::Instant::now();
            let warn = last_limit_warning.is_none_or(|at| {
                now.duration_since(at) >= Duration::from_millis(LIMIT_WARNING_INTERVAL_MS)
            });
            if warn {
                last_limit_warning = Some(now);
                tracing::warn!(
                    max_connections = options.max_connections,
                    "api connection limit reached: new connections get 503 and are closed"
                );
            }
            refuse(&stream);
            continue;
        };
        // Small request/response exchanges: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let router = Router {
            regions: Arc::clone(&regions),
            default: Arc::clone(&first),
            options: Arc::clone(&options),
        };
        let stop = stop_rx.clone();
        tokio::spawn(serve_connection(stream, router, stop, permit));
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(
        Duration::from_millis(SHUTDOWN_DRAIN_TIMEOUT_MS),
        stop_tx.closed(),
    )
    .await;
    if drained.is_err() {
        tracing::warn!("api shutdown: connections still open after the drain timeout");
    }
    Ok(())
}

/// Answers a connection over the limit with a 503 ServiceUnavailable (if the socket takes it
/// at once; nothing is read and nothing waits) and closes it.
fn refuse(stream: &tokio::net::TcpStream) {
    let error =
        ApiError::Unavailable("The server has too many open connections; retry the request".into());
    let body = error.body();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nserver: Server\r\n\
         content-type: application/x-amz-json-1.0\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&body);
    let _ = stream.try_write(&bytes);
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut stop: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let idle_timeout = Duration::from_millis(router.options.idle_timeout_ms);
    let max_buf_size = router.options.max_header_bytes.max(8192);
    let service = service_fn(move |request: http::Request<Incoming>| {
        let region = router.route(&request);
        let options = Arc::clone(&router.options);
        let accepted = compression::response_coding(
            request
                .headers()
                .get(ACCEPT_ENCODING)
                .map(HeaderValue::as_bytes),
        );
        async move {
            let response = handle(request, &*region, &options).await;
            Ok::<_, Infallible>(finish(response, accepted).await)
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        // Also the idle limit: hyper runs this timer from the end of one exchange until the
        // next request's headers are in.
        .header_read_timeout(idle_timeout)
        // Bounds the request line plus headers: hyper answers 431 (414 for an overlong URI)
        // and closes instead of buffering more.
        .max_buf_size(max_buf_size)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                break;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    // `stop` drops here, which is how `serve` counts open connections; `permit` frees a
    // connection slot.
    drop(permit);
}

/// The regions a listener serves.
struct Router {
    regions: Arc<[Arc<dyn Region>]>,
    default: Arc<dyn Region>,
    options: Arc<ServeOptions>,
}

impl Router {
    /// The region a request is for: the one its SigV4 credential scope names, else the
    /// default.
    fn route(&self, request: &http::Request<Incoming>) -> Arc<dyn Region> {
        if self.regions.len() == 1 {
            return Arc::clone(&self.default);
        }
        let signed = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(credential_region);
        let chosen = signed.and_then(|name| self.regions.iter().find(|r| r.region_name() == name));
        Arc::clone(chosen.unwrap_or(&self.default))
    }
}

/// Answers one HTTP request: the Host check, then CORS headers when a browser asks.
async fn handle(
    request: http::Request<Incoming>,
    region: &dyn Region,
    options: &ServeOptions,
) -> Response<Full<Bytes>> {
    if options.loopback_hosts_only {
        let host = request.headers().get(HOST).and_then(|v| v.to_str().ok());
        // HTTP/1.1 requires Host; a request without one cannot come from a browser.
        if host.is_some_and(|host| !is_loopback_host(host)) {
            let error = ApiError::MissingAuthenticationToken(
                "The Host header names no loopback address; this endpoint only answers \
                 requests for localhost, 127.0.0.1 or [::1]"
                    .into(),
            );
            return error_response(&error, "");
        }
    }
    if console::is_console_path(request.uri().path()) {
        return console::handle(request, region, options).await;
    }
    if request.method() == Method::OPTIONS {
        return cors::preflight(request.headers(), &options.cors);
    }
    let request_headers = request.headers().clone();
    let metered = (request.method() == Method::POST)
        .then_some(options.metrics.as_ref())
        .flatten()
        .map(|m| {
            (
                m,
                operation_label(request.uri().path(), &request_headers),
                Instant::now(),
            )
        });
    let mut response = answer(request, region, options).await;
    if let Some((metrics, operation, started)) = metered {
        let done = response.extensions().get::<Metered>();
        metrics.api().record(&metrics::RequestRecord {
            region: region.region_name(),
            operation,
            table: done.map_or("", |m| m.table.as_str()),
            error: response.extensions().get::<ErrorCode>().map(|e| e.0),
            seconds: started.elapsed().as_secs_f64(),
            read_units: done.map_or(0.0, |m| m.read),
            write_units: done.map_or(0.0, |m| m.write),
        });
    }
    if request_headers.contains_key(http::header::ORIGIN) {
        cors::allow(&request_headers, &options.cors, response.headers_mut());
    }
    response
}

/// Answers a GET: the health check, `/` (which says healthy only when it is), else 404.
fn answer_get(path: &str, region: &dyn Region, request_id: &str) -> Response<Full<Bytes>> {
    let health = region.health();
    let status = if health.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let (status, body, content_type) = match path {
        HEALTH_PATH => (
            status,
            health.body(region.region_name()),
            "application/json",
        ),
        "/" if health.is_healthy() => (
            status,
            format!("healthy: meridian {}", region.region_name()).into_bytes(),
            "text/plain",
        ),
        "/" => (
            status,
            format!("unavailable: meridian {}", region.region_name()).into_bytes(),
            "text/plain",
        ),
        _ => (StatusCode::NOT_FOUND, b"not found".to_vec(), "text/plain"),
    };
    let mut response = respond(status, body, request_id);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Answers one DynamoDB (or health) request.
async fn answer(
    request: http::Request<Incoming>,
    region: &dyn Region,
    options: &ServeOptions,
) -> Response<Full<Bytes>> {
    let mut id_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let request_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_buf);
    let (parts, body) = request.into_parts();
    if parts.method == Method::GET {
        if let (metrics::METRICS_PATH, Some(metrics)) = (parts.uri.path(), &options.metrics) {
            let mut response = respond(StatusCode::OK, metrics.render().into_bytes(), request_id);
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            return response;
        }
        return answer_get(parts.uri.path(), region, request_id);
    }
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let route = (parts.method == Method::POST)
        .then(|| Route::of(parts.uri.path(), &parts.headers))
        .flatten();
    let Some(route) = route else {
        return error_response(&ApiError::UnknownOperation, request_id);
    };
    if matches!(route, Route::SweepTtl) {
        let given = parts
            .headers
            .get(ADMIN_SECRET_HEADER)
            .map(HeaderValue::as_bytes);
        let allowed = match (&options.admin_secret, given) {
            (Some(secret), Some(given)) => secret_matches(secret.as_bytes(), given),
            _ => false,
        };
        if !allowed {
            let error = ApiError::MissingAuthenticationToken(format!(
                "Admin calls need the admin secret in the {ADMIN_SECRET_HEADER} header"
            ));
            return error_response(&error, request_id);
        }
    }
    let signature = match (&options.auth, route) {
        (Some(keys), Route::DynamoDb(_) | Route::Streams(_)) => {
            match sigv4::check_headers(keys, &parts.headers, sigv4::now_secs()) {
                Ok(pending) => Some(pending),
                Err(error) => return error_response(&error, request_id),
            }
        }
        _ => None,
    };
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    let ctx = RequestContext {
        request_id,
        signed_region: header(AUTHORIZATION).and_then(credential_region),
        host: header(HOST),
    };
    let span = tracing::info_span!(
        "request",
        request_id,
        operation = route.name(),
        signed_region = ctx.signed_region,
    );
    async move {
        let declared = header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > REQUEST_BODY_BYTES_MAX as u64) {
            return error_response(&ApiError::RequestTooLarge, request_id);
        }
        let deadline = Duration::from_millis(options.body_read_timeout_ms);
        let read = tokio::time::timeout(
            deadline,
            Limited::new(body, REQUEST_BODY_BYTES_MAX).collect(),
        );
        let Ok(read) = read.await else {
            // A stalled body: answer and close the connection, freeing its slot.
            let error = ApiError::Serialization(format!(
                "The request body was not received within {} ms",
                options.body_read_timeout_ms
            ));
            let mut response = error_response(&error, request_id);
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return response;
        };
        let body = match read {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                let too_large = error.is::<http_body_util::LengthLimitError>();
                let error = if too_large {
                    ApiError::RequestTooLarge
                } else {
                    ApiError::Serialization("The request body could not be read".into())
                };
                return error_response(&error, request_id);
            }
        };
        // The signature covers the body as sent; decompression comes after.
        if let Some(signature) = &signature {
            if let Err(error) = signature.verify(method, uri, headers, &body) {
                return error_response(&error, request_id);
            }
        }
        let body = match inflate_body(headers, body) {
            Ok(body) => body,
            Err(error) => return error_response(&error, request_id),
        };
        let injected = match route {
            Route::DynamoDb(operation) => chaos::inject(region, operation, &body).await,
            _ => None,
        };
        if let Some((fault, Some(error))) = &injected {
            let mut response = error_response(error, request_id);
            response
                .headers_mut()
                .insert(chaos::CHAOS_HEADER, chaos::header_value(fault));
            return response;
        }
        let run = async {
            match route {
                Route::DynamoDb(operation) => match decode(operation, &body) {
                    Ok(request) => execute(region, &ctx, request).await,
                    Err(error) => Err(error),
                },
                Route::Streams(operation) => streams::run(region, operation, &body).await,
                Route::SweepTtl => ttl::sweep_now(region).await,
            }
        };
        let (result, metered) = if options.metrics.is_some() {
            let (result, read, write) = crate::capacity::metered(run).await;
            let table = crate::metering::table_label(&body);
            (result, Some(Metered { table, read, write }))
        } else {
            (run.await, None)
        };
        let mut response = match result {
            Ok(body) => respond(StatusCode::OK, body, request_id),
            Err(error) => error_response(&error, request_id),
        };
        if let Some(metered) = metered {
            response.extensions_mut().insert(metered);
        }
        if let Some((fault, None)) = &injected {
            response
                .headers_mut()
                .insert(chaos::CHAOS_HEADER, chaos::header_value(fault));
        }
        response
    }
    .instrument(span)
    .await
}

/// What a POST asks for.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// A `DynamoDB_20120810` operation.
    DynamoDb(Operation),
    /// A `DynamoDBStreams_20120810` operation.
    Streams(StreamOperation),
    /// The admin call that runs a TTL sweep now.
    SweepTtl,
}

impl Route {
    /// What a POST to `path` with these headers asks for: the TTL sweep by its path, else the
    /// operation its `X-Amz-Target` names; `None` for anything else.
    fn of(path: &str, headers: &http::HeaderMap) -> Option<Route> {
        if path == TTL_SWEEP_PATH {
            return Some(Route::SweepTtl);
        }
        let target = headers.get(X_AMZ_TARGET)?.to_str().ok()?;
        Operation::from_target(target)
            .map(Route::DynamoDb)
            .or_else(|| StreamOperation::from_target(target).map(Route::Streams))
    }

    fn name(self) -> &'static str {
        match self {
            Route::DynamoDb(op) => op.name(),
            Route::Streams(op) => op.name(),
            Route::SweepTtl => "SweepTtl",
        }
    }
}

/// The request body with its `Content-Encoding` undone (see [`compression`]).
fn inflate_body(headers: &http::HeaderMap, body: Bytes) -> Result<Bytes, ApiError> {
    let coding =
        compression::request_coding(headers.get(CONTENT_ENCODING).map(HeaderValue::as_bytes))?;
    match coding {
        None => Ok(body),
        Some(coding) => {
            compression::inflate(coding, &body, REQUEST_BODY_BYTES_MAX).map(Bytes::from)
        }
    }
}

/// What every response gets on its way out: DynamoDB's `Server` header, and compression
/// when the client accepts it (with `x-amz-crc32` recomputed over the compressed bytes, as
/// DynamoDB computes it).
async fn finish(
    mut response: Response<Full<Bytes>>,
    accepted: Option<Coding>,
) -> Response<Full<Bytes>> {
    response.headers_mut().insert(SERVER, SERVER_NAME);
    let Some(coding) = accepted else {
        return response;
    };
    if response.headers().contains_key(CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await;
    let plain = collected.to_bytes();
    if plain.is_empty() {
        return Response::from_parts(parts, Full::new(plain));
    }
    let compressed = compression::compress(coding, &plain);
    if parts.headers.contains_key(X_AMZ_CRC32) {
        parts
            .headers
            .insert(X_AMZ_CRC32, HeaderValue::from(crc32fast::hash(&compressed)));
    }
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static(coding.as_str()));
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Full::new(Bytes::from(compressed)))
}

fn error_response(error: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let entry = error.catalog();
    if entry.status.is_server_error() {
        tracing::error!(code = entry.code(), %error, "request failed");
    } else {
        tracing::debug!(code = entry.code(), %error, "request rejected");
    }
    let mut response = respond(entry.status, error.body(), request_id);
    response.extensions_mut().insert(ErrorCode(entry.code()));
    response
}

/// The `operation` label of a POST: its route's name, or `Unknown`.
fn operation_label(path: &str, headers: &http::HeaderMap) -> &'static str {
    Route::of(path, headers).map_or("Unknown", Route::name)
}

fn respond(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response<Full<Bytes>> {
    let crc = crc32fast::hash(&body);
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, JSON_1_0);
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(X_AMZN_REQUEST_ID, id);
    }
    headers.insert(X_AMZ_CRC32, HeaderValue::from(crc));
    response
}
