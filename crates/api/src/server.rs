//! The HTTP/1.1 front door: one hyper connection task per client, keep-alive, a bounded body,
//! DynamoDB's headers on every response, and graceful shutdown that lets requests in flight
//! finish (up to a bound) while idle connections close at once.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN,
};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument as _;

use model::limits::REQUEST_BODY_BYTES_MAX;

use crate::chaos;
use crate::cors;
use crate::error::ApiError;
use crate::operation::Operation;
use crate::request::{decode, execute, RequestContext};
use crate::sigv4::credential_region;
use crate::streams::{self, StreamOperation};
use crate::ttl::{self, TTL_SWEEP_PATH};
use crate::Region;

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT_MS: u64 = 30_000;
/// How long shutdown waits for requests in flight before giving up on them.
pub const SHUTDOWN_DRAIN_TIMEOUT_MS: u64 = 10_000;
/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
pub const ACCEPT_ERROR_BACKOFF_MS: u64 = 50;

const JSON_1_0: HeaderValue = HeaderValue::from_static("application/x-amz-json-1.0");
const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const X_AMZ_CRC32: HeaderName = HeaderName::from_static("x-amz-crc32");
const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// Serves the DynamoDB API on `listener` until `shutdown` completes, then stops accepting,
/// asks every connection to close after its current request, and waits for them (at most
/// [`SHUTDOWN_DRAIN_TIMEOUT_MS`]).
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
        tracing::info!(%addr, region = %region_name, routed = regions.len() > 1, "api listening");
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
        // Small request/response exchanges: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let router = Router {
            regions: Arc::clone(&regions),
            default: Arc::clone(&first),
        };
        let stop = stop_rx.clone();
        tokio::spawn(serve_connection(stream, router, stop));
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

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let service = service_fn(move |request: http::Request<Incoming>| {
        let region = router.route(&request);
        async move { Ok::<_, Infallible>(handle(request, &*region).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(HEADER_READ_TIMEOUT_MS))
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
    // `stop` drops here, which is how `serve` counts open connections.
}

/// The regions a listener serves.
struct Router {
    regions: Arc<[Arc<dyn Region>]>,
    default: Arc<dyn Region>,
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

/// Answers one HTTP request, with CORS headers when a browser asks.
async fn handle(request: http::Request<Incoming>, region: &dyn Region) -> Response<Full<Bytes>> {
    if request.method() == Method::OPTIONS {
        return cors::preflight(request.headers());
    }
    let cross_origin = request.headers().contains_key(ORIGIN);
    let mut response = answer(request, region).await;
    if cross_origin {
        cors::allow(response.headers_mut());
    }
    response
}

/// Answers one DynamoDB (or health) request.
async fn answer(request: http::Request<Incoming>, region: &dyn Region) -> Response<Full<Bytes>> {
    let mut id_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let request_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_buf);
    let (parts, body) = request.into_parts();
    if parts.method == Method::GET {
        let text = format!("healthy: meridian {}", region.region_name());
        let mut response = respond(StatusCode::OK, text.into_bytes(), request_id);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return response;
    }
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let route = if parts.method != Method::POST {
        None
    } else if parts.uri.path() == TTL_SWEEP_PATH {
        Some(Route::SweepTtl)
    } else {
        header(X_AMZ_TARGET).and_then(|target| {
            Operation::from_target(target)
                .map(Route::DynamoDb)
                .or_else(|| StreamOperation::from_target(target).map(Route::Streams))
        })
    };
    let Some(route) = route else {
        return error_response(&ApiError::UnknownOperation, request_id);
    };
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
        let body = match Limited::new(body, REQUEST_BODY_BYTES_MAX).collect().await {
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
        let result = match route {
            Route::DynamoDb(operation) => match decode(operation, &body) {
                Ok(request) => execute(region, &ctx, request).await,
                Err(error) => Err(error),
            },
            Route::Streams(operation) => streams::run(region, operation, &body).await,
            Route::SweepTtl => ttl::sweep_now(region).await,
        };
        let mut response = match result {
            Ok(body) => respond(StatusCode::OK, body, request_id),
            Err(error) => error_response(&error, request_id),
        };
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
    fn name(self) -> &'static str {
        match self {
            Route::DynamoDb(op) => op.name(),
            Route::Streams(op) => op.name(),
            Route::SweepTtl => "SweepTtl",
        }
    }
}

fn error_response(error: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let entry = error.catalog();
    if entry.status.is_server_error() {
        tracing::error!(code = entry.code(), %error, "request failed");
    } else {
        tracing::debug!(code = entry.code(), %error, "request rejected");
    }
    respond(entry.status, error.body(), request_id)
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
