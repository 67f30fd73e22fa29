//! The client side of the cross-region protocol: a pooled HTTP/1.1 client that POSTs to any
//! node of a destination region (starting with the last one that answered), with a connect
//! timeout and a per-call deadline. The receiving node proposes through its own Raft group,
//! forwarding to its leader when it is a follower.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::wire::{self, BODY_BYTES_MAX, SECRET_HEADER};

/// Longest wait for a TCP connection to a remote node.
const CONNECT_TIMEOUT_MS: u64 = 500;

/// Why a call to another region failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("region {0} is not configured")]
    UnknownRegion(String),
    #[error("region {region}: no node answered ({reason})")]
    Unreachable { region: String, reason: String },
    #[error("region {region}: {reason}")]
    Failed { region: String, reason: String },
}

/// One remote region: its nodes' peer addresses, and which one answered last.
#[derive(Debug)]
struct Remote {
    peers: Vec<String>,
    preferred: AtomicUsize,
}

/// Calls other regions. Cheap to clone.
#[derive(Clone)]
pub struct RegionClient {
    http: Client<HttpConnector, Full<Bytes>>,
    secret: Arc<str>,
    remotes: Arc<BTreeMap<String, Remote>>,
    timeout: Duration,
    /// Cut, slowed or lossy links between regions (chaos faults), applied by the sender.
    chaos: chaos::NodeChaos,
}

impl std::fmt::Debug for RegionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionClient")
            .field("remotes", &self.remotes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RegionClient {
    /// A client for `remotes` (region → peer addresses of its nodes).
    pub fn new(
        remotes: &BTreeMap<String, Vec<String>>,
        secret: &str,
        timeout: Duration,
        chaos: chaos::NodeChaos,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(CONNECT_TIMEOUT_MS)));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let remotes = remotes
            .iter()
            .map(|(name, peers)| {
                let remote = Remote {
                    peers: peers.clone(),
                    preferred: AtomicUsize::new(0),
                };
                (name.clone(), remote)
            })
            .collect();
        RegionClient {
            http,
            secret: secret.into(),
            remotes: Arc::new(remotes),
            timeout,
            chaos,
        }
    }

    /// Whether `region` is a configured remote region.
    pub fn knows(&self, region: &str) -> bool {
        self.remotes.contains_key(region)
    }

    /// The configured remote regions.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.remotes.keys().map(String::as_str)
    }

    /// POSTs `request` to `path` on a node of `region` and decodes the answer. Nodes are
    /// tried in turn, from the last one that answered; a node that answers with an error
    /// status ends the call (the request reached the region).
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        region: &str,
        path: &str,
        request: &Req,
    ) -> Result<Resp, CallError> {
        let remote = self
            .remotes
            .get(region)
            .ok_or_else(|| CallError::UnknownRegion(region.to_owned()))?;
        match self.chaos.to_region(region) {
            chaos::LinkEffect::Open => {}
            chaos::LinkEffect::Cut { fault } => {
                return Err(CallError::Unreachable {
                    region: region.to_owned(),
                    reason: format!("cut off by chaos fault {fault}"),
                })
            }
            chaos::LinkEffect::Delayed { delay_ms, dropped } => {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                if dropped {
                    return Err(CallError::Unreachable {
                        region: region.to_owned(),
                        reason: "dropped by a chaos link fault".into(),
                    });
                }
            }
        }
        let body = Bytes::from(wire::encode(request).map_err(|e| CallError::Failed {
            region: region.to_owned(),
            reason: e.to_string(),
        })?);
        let count = remote.peers.len();
        let first = remote.preferred.load(Ordering::Relaxed);
        let mut last_error = String::from("no peer addresses");
        for i in 0..count {
            let index = (first + i) % count;
            let addr = &remote.peers[index];
            match self.post(addr, path, body.clone()).await {
                Ok(bytes) => {
                    remote.preferred.store(index, Ordering::Relaxed);
                    return wire::decode(&bytes).map_err(|e| CallError::Failed {
                        region: region.to_owned(),
                        reason: format!("{addr}{path}: {e}"),
                    });
                }
                Err(PostError::Unreachable(reason)) => last_error = format!("{addr}: {reason}"),
                Err(PostError::Failed(reason)) => {
                    return Err(CallError::Failed {
                        region: region.to_owned(),
                        reason: format!("{addr}{path}: {reason}"),
                    })
                }
            }
        }
        Err(CallError::Unreachable {
            region: region.to_owned(),
            reason: last_error,
        })
    }

    async fn post(&self, addr: &str, path: &str, body: Bytes) -> Result<Bytes, PostError> {
        let request = http::Request::post(format!("http://{addr}{path}"))
            .header(SECRET_HEADER, &*self.secret)
            .header(http::header::CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(body))
            .map_err(|e| PostError::Failed(e.to_string()))?;
        let response = match tokio::time::timeout(self.timeout, self.http.request(request)).await {
            Err(_) => return Err(PostError::Unreachable("timed out".into())),
            Ok(Err(e)) if e.is_connect() => return Err(PostError::Unreachable(e.to_string())),
            Ok(Err(e)) => return Err(PostError::Unreachable(e.to_string())),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let collected = tokio::time::timeout(
            self.timeout,
            Limited::new(response.into_body(), BODY_BYTES_MAX as usize).collect(),
        )
        .await
        .map_err(|_| PostError::Unreachable("timed out reading the answer".into()))?
        .map_err(|e| PostError::Unreachable(e.to_string()))?;
        let bytes = collected.to_bytes();
        if !status.is_success() {
            return Err(PostError::Failed(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        Ok(bytes)
    }
}

enum PostError {
    /// Try another node: no connection, or no answer in time.
    Unreachable(String),
    /// The node answered with an error.
    Failed(String),
}
