//! The peer network's client side: openraft's `RaftNetworkFactory` over HTTP/1.1 (hyper-util's
//! pooled legacy client, so connections to each peer are reused) with bincode bodies (see
//! `wire`). Every call is bounded by a timeout; a failure to connect is reported to openraft as
//! `Unreachable` (it backs off instead of retrying at once), anything else as a network error.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::{PeerNode, TypeConfig};
use crate::wire::{self, paths, MAX_BODY_BYTES, SECRET_HEADER};

/// Longest wait for a TCP connection to a peer.
const CONNECT_TIMEOUT_MS: u64 = 500;
/// Idle pooled connections are closed after this long.
const POOL_IDLE_TIMEOUT_MS: u64 = 30_000;

/// Why a peer call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CallError {
    /// No connection could be made (refused, no route, connect timeout, no address).
    #[error("peer {addr} unreachable: {reason}")]
    Unreachable { addr: String, reason: String },
    /// No answer within the deadline; the request may or may not have been acted on.
    #[error("peer {addr} did not answer {path} within {ms} ms")]
    Timeout { addr: String, path: String, ms: u64 },
    /// The connection broke, the peer refused the request, or its answer was unreadable.
    #[error("peer {addr} {path}: {reason}")]
    Failed {
        addr: String,
        path: String,
        reason: String,
    },
}

/// A pooled HTTP client for peer calls, carrying the cluster secret. Cheap to clone.
#[derive(Clone)]
pub(crate) struct PeerClient {
    http: Client<HttpConnector, Full<Bytes>>,
    secret: Arc<str>,
    /// Chaos faults that cut this node off from members of its region (checked by the sender,
    /// so a fault installed on every node cuts both directions).
    chaos: Option<chaos::NodeChaos>,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient").finish_non_exhaustive()
    }
}

impl PeerClient {
    pub(crate) fn new(secret: &str) -> PeerClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_millis(CONNECT_TIMEOUT_MS)));
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_millis(POOL_IDLE_TIMEOUT_MS))
            .build(connector);
        PeerClient {
            http,
            secret: Arc::from(secret),
            chaos: None,
        }
    }

    /// The same client, subject to `chaos`'s partitions of this node's region.
    pub(crate) fn with_chaos(self, chaos: Option<chaos::NodeChaos>) -> PeerClient {
        PeerClient { chaos, ..self }
    }

    /// [`PeerClient::call`] to member `target` of this node's region: refused at once, as
    /// unreachable, while a chaos fault cuts the link.
    pub(crate) async fn call_member<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        target: u64,
        addr: &str,
        path: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        if let Some(chaos) = &self.chaos {
            if let chaos::LinkEffect::Cut { fault } = chaos.to_peer(target) {
                return Err(CallError::Unreachable {
                    addr: addr.to_owned(),
                    reason: format!("cut off by chaos fault {fault}"),
                });
            }
        }
        self.call(addr, path, request, timeout).await
    }

    /// POSTs `request` to `path` on the peer listener at `addr` and decodes the answer, all
    /// within `timeout`.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        addr: &str,
        path: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        let failed = |reason: String| CallError::Failed {
            addr: addr.to_owned(),
            path: path.to_owned(),
            reason,
        };
        if addr.is_empty() {
            return Err(CallError::Unreachable {
                addr: String::new(),
                reason: "the peer has no peer address".into(),
            });
        }
        let body = wire::encode(request).map_err(|e| failed(e.to_string()))?;
        let http_request = http::Request::post(format!("http://{addr}{path}"))
            .header(SECRET_HEADER, &*self.secret)
            .header(http::header::CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| failed(e.to_string()))?;
        let exchange = async {
            let response = self.http.request(http_request).await.map_err(|e| {
                if e.is_connect() {
                    CallError::Unreachable {
                        addr: addr.to_owned(),
                        reason: error_chain(&e),
                    }
                } else {
                    failed(error_chain(&e))
                }
            })?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_BODY_BYTES as usize)
                .collect()
                .await
                .map_err(|e| failed(format!("reading the answer: {e}")))?
                .to_bytes();
            if !status.is_success() {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
                return Err(failed(format!("status {status}: {text}")));
            }
            wire::decode::<Resp>(&bytes).map_err(|e| failed(e.to_string()))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Timeout {
                addr: addr.to_owned(),
                path: path.to_owned(),
                ms: timeout.as_millis() as u64,
            }),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Creates a [`PeerConnection`] per replication target; they share one connection pool.
#[derive(Debug, Clone)]
pub(crate) struct PeerNetworkFactory {
    client: PeerClient,
}

impl PeerNetworkFactory {
    pub(crate) fn new(client: PeerClient) -> PeerNetworkFactory {
        PeerNetworkFactory { client }
    }
}

/// openraft's client for one peer.
#[derive(Debug)]
pub(crate) struct PeerConnection {
    client: PeerClient,
    target: u64,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for PeerNetworkFactory {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: u64, node: &PeerNode) -> PeerConnection {
        PeerConnection {
            client: self.client.clone(),
            target,
            addr: node.peer_addr.clone(),
        }
    }
}

impl PeerConnection {
    async fn rpc<Req, Resp, E>(
        &self,
        path: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<u64, PeerNode, RaftError<u64, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let answer = self
            .client
            .call_member::<Req, Result<Resp, RaftError<u64, E>>>(
                self.target,
                &self.addr,
                path,
                request,
                option.hard_ttl(),
            )
            .await;
        match answer {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(remote)) => Err(RPCError::RemoteError(RemoteError::new(self.target, remote))),
            Err(e @ CallError::Unreachable { .. }) => {
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, PeerNode, RaftError<u64>>> {
        self.rpc(paths::APPEND, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, PeerNode, RaftError<u64, InstallSnapshotError>>,
    > {
        self.rpc(paths::SNAPSHOT, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, PeerNode, RaftError<u64>>> {
        self.rpc(paths::VOTE, &rpc, &option).await
    }
}
