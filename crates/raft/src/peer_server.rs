//! The peer listener: serves openraft's RPCs (AppendEntries, Vote, InstallSnapshot), writes and
//! read-index requests forwarded by followers, and a plain-text status page. Every request must
//! carry the cluster secret: without the header it is refused with 401, with a wrong one 403.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, VoteRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::admin::MembershipChange;
use crate::group::RegionGroup;
use crate::types::TypeConfig;
use crate::wire::{self, paths, secret_matches, MAX_BODY_BYTES, SECRET_HEADER};

/// Longest wait for a request's headers on an open peer connection.
const HEADER_READ_TIMEOUT_MS: u64 = 30_000;
/// Pause after a failed accept (e.g. out of file descriptors).
const ACCEPT_ERROR_BACKOFF_MS: u64 = 50;
/// Open peer connections at most (members, forwarding followers, operators): beyond it a new
/// connection is closed at once, so that a flood cannot take the descriptors the log needs.
pub(crate) const PEER_CONNECTIONS_MAX: usize = 256;
/// How long a peer may take to send a request body (a 1 MiB snapshot chunk, a batch of
/// entries) once its headers arrived.
const PEER_BODY_READ_TIMEOUT_MS: u64 = 60_000;
/// The health check's path; the only one served without the cluster secret.
pub(crate) const HEALTH_PATH: &str = "/health";

/// Serves the peer protocol on `listener` until `shutdown` completes.
pub(crate) async fn serve<F>(group: RegionGroup, listener: tokio::net::TcpListener, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    tokio::pin!(shutdown);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, node_id = group.node_id(), "peer listener");
    }
    let connections = std::sync::Arc::new(tokio::sync::Semaphore::new(PEER_CONNECTIONS_MAX));
    // Open connections close when the listener stops: a pooled keep-alive connection must not
    // outlive its node and answer for it after a restart on the same port.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "peer accept failed");
                tokio::time::sleep(Duration::from_millis(ACCEPT_ERROR_BACKOFF_MS)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!(
                max = PEER_CONNECTIONS_MAX,
                "peer connection limit reached: closing a new connection"
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let group = group.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request: http::Request<Incoming>| {
                let group = group.clone();
                async move { Ok::<_, Infallible>(handle(&group, request).await) }
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
                            tracing::debug!(%error, "peer connection ended with an error");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    let _ = stop_tx.send(true);
}

/// `GET /health`: 200 when the Raft core runs, a leader is known and the log flushes, else
/// 503; `key=value` lines either way. No secret needed: it reveals nothing but health.
fn health(group: &RegionGroup) -> http::Response<Full<Bytes>> {
    let h = group.health();
    let status = if h.is_healthy() {
        http::StatusCode::OK
    } else {
        http::StatusCode::SERVICE_UNAVAILABLE
    };
    let leader = h
        .leader
        .map_or_else(|| "none".to_owned(), |l| l.to_string());
    plain(
        status,
        format!(
            "healthy={}\nraft_running={}\nrole={:?}\nleader={leader}\nstorage_writable={}\n",
            h.is_healthy(),
            h.raft_running,
            h.role,
            h.storage_writable
        ),
    )
}

fn plain(status: http::StatusCode, text: impl Into<String>) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(text.into())));
    *response.status_mut() = status;
    response
}

fn binary<T: Serialize>(value: &T) -> http::Response<Full<Bytes>> {
    match wire::encode(value) {
        Ok(bytes) => http::Response::new(Full::new(Bytes::from(bytes))),
        Err(e) => plain(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, http::Response<Full<Bytes>>> {
    wire::decode(body).map_err(|e| plain(http::StatusCode::BAD_REQUEST, e.to_string()))
}

async fn handle(
    group: &RegionGroup,
    request: http::Request<Incoming>,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    if parts.method == http::Method::GET && parts.uri.path() == HEALTH_PATH {
        return health(group);
    }
    // The secret header, or (for Prometheus scrapers) `Authorization: Bearer <secret>`.
    let given = parts
        .headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .or_else(|| {
            parts
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        });
    match given {
        None => {
            return plain(
                http::StatusCode::UNAUTHORIZED,
                "the cluster secret header is missing",
            )
        }
        Some(given) if !secret_matches(group.cluster_secret().as_bytes(), given) => {
            return plain(http::StatusCode::FORBIDDEN, "wrong cluster secret")
        }
        Some(_) => {}
    }
    if parts.method == http::Method::GET {
        return match parts.uri.path() {
            paths::STATUS => plain(http::StatusCode::OK, group.status_text()),
            paths::METRICS => plain(http::StatusCode::OK, group.prometheus_text()),
            _ => plain(http::StatusCode::NOT_FOUND, "no such peer endpoint"),
        };
    }
    if parts.method != http::Method::POST {
        return plain(http::StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    let deadline = Duration::from_millis(PEER_BODY_READ_TIMEOUT_MS);
    let read = tokio::time::timeout(
        deadline,
        Limited::new(body, MAX_BODY_BYTES as usize).collect(),
    );
    let body = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) => return plain(http::StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        Err(_) => {
            let mut response = plain(
                http::StatusCode::REQUEST_TIMEOUT,
                "body not received in time",
            );
            response.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            return response;
        }
    };
    let path = parts.uri.path();
    if path.starts_with(crate::group::EXTENSION_PATH_PREFIX) {
        let Some(ext) = group.peer_extension() else {
            return plain(http::StatusCode::NOT_FOUND, "no such peer endpoint");
        };
        return match ext.handle(path.to_owned(), body).await {
            Ok(bytes) => http::Response::new(Full::new(Bytes::from(bytes))),
            Err((status, reason)) => plain(
                http::StatusCode::from_u16(status)
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
                reason,
            ),
        };
    }
    let raft = group.raft();
    match parts.uri.path() {
        paths::APPEND => match decode_body::<AppendEntriesRequest<TypeConfig>>(&body) {
            Ok(rpc) => {
                let answer = raft.append_entries(rpc).await;
                // Accepted from a leader at least as new as ours: the leader is alive.
                if matches!(
                    answer,
                    Ok(AppendEntriesResponse::Success
                        | AppendEntriesResponse::PartialSuccess(_)
                        | AppendEntriesResponse::Conflict)
                ) {
                    group.leader_contact.touch();
                }
                binary(&answer)
            }
            Err(response) => response,
        },
        paths::PRE_VOTE => match decode_body::<crate::prevote::PreVoteRequest>(&body) {
            Ok(request) => binary(&group.pre_vote_local(&request)),
            Err(response) => response,
        },
        paths::VOTE => match decode_body::<VoteRequest<u64>>(&body) {
            Ok(rpc) => binary(&raft.vote(rpc).await),
            Err(response) => response,
        },
        paths::SNAPSHOT => match decode_body::<InstallSnapshotRequest<TypeConfig>>(&body) {
            Ok(rpc) => binary(&raft.install_snapshot(rpc).await),
            Err(response) => response,
        },
        paths::WRITE => match decode_body::<Vec<u8>>(&body) {
            Ok(payload) => binary(&group.write_local(payload).await),
            Err(response) => response,
        },
        paths::READ_INDEX => match decode_body::<()>(&body) {
            Ok(()) => binary(&group.read_index_local().await),
            Err(response) => response,
        },
        paths::STATUS => match decode_body::<()>(&body) {
            Ok(()) => binary(&group.status_text()),
            Err(response) => response,
        },
        paths::MEMBERSHIP => match decode_body::<MembershipChange>(&body) {
            Ok(change) => binary(&group.change_membership(change).await),
            Err(response) => response,
        },
        _ => plain(http::StatusCode::NOT_FOUND, "no such peer endpoint"),
    }
}
