//! `meridian dev`'s lab: the nodes of every region in this process, the chaos state they
//! share, and the lab listener that `meridian chaos` talks to (the chaos controls, plus
//! stopping and restarting nodes: a stopped node's API and peer ports refuse connections
//! until it is restarted on the same storage).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Mutex};

use chaos::{AdminAnswer, AdminError, Chaos, LabAction, Topology};

use crate::chaos_admin::{self, ADMIN_BODY_BYTES_MAX, LAB_CHAOS_PREFIX, LAB_NODES_PREFIX};
use crate::config::NodeConfig;
use crate::console_status::{LabDirectory, LabMember};
use crate::node::Node;

/// How long a lab client may take to send its request's headers.
const LAB_HEADER_READ_TIMEOUT_MS: u64 = 10_000;

/// What `meridian dev` writes for `meridian chaos` and `meridian status` to find the lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabFile {
    /// The cluster secret of every region (admin calls carry it).
    pub secret: String,
    /// The lab listener.
    pub lab_addr: String,
    pub regions: Vec<LabFileRegion>,
}

/// One region of a [`LabFile`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabFileRegion {
    pub name: String,
    /// (node id, API address, peer address).
    pub nodes: Vec<(u64, String, String)>,
}

/// Where the lab whose first port is `port` writes its lab file.
pub fn lab_file_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("meridian-dev-{port}.json"))
}

impl LabFile {
    /// Reads a lab file.
    pub fn load(path: &Path) -> anyhow::Result<LabFile> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {} (is `meridian dev` running? pass --config for separate processes)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a lab file", path.display()))
    }
}

/// One node of the lab and its API listener.
struct Slot {
    config: NodeConfig,
    store: storage::Store,
    node: Option<Node>,
    /// Stops the API listener.
    api_stop: Option<watch::Sender<bool>>,
    /// Whether this node's listener is the shared port.
    shared: bool,
    /// Serve the web console even on a non-loopback address (`--console-bind-any`).
    console_bind_any: bool,
    /// The access keys SigV4 signatures are verified against (`--require-auth`); None: off.
    auth: Option<Arc<api::AccessKeys>>,
    /// The lab's metrics registry, served on every API port's `/metrics`.
    metrics: metrics::Metrics,
}

/// The running lab.
pub struct Lab {
    slots: Mutex<Vec<Slot>>,
    chaos: Arc<Chaos>,
    regions: Vec<String>,
    /// Every node, for the web console (which answers for the whole lab on every port).
    directory: Arc<LabDirectory>,
    /// Every node's metrics and the chaos state's, in one registry.
    metrics: metrics::Metrics,
    _chaos_metrics: metrics::Registration,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("regions", &self.regions)
            .finish_non_exhaustive()
    }
}

impl Lab {
    /// Starts every node of `configs` (in order) under one chaos state; the first node of the
    /// first region also serves the shared port. `console_bind_any` serves the web console
    /// even on a non-loopback address; with `auth`, every API port verifies SigV4
    /// signatures against those keys.
    pub async fn start(
        configs: Vec<NodeConfig>,
        regions: Vec<String>,
        console_bind_any: bool,
        auth: Option<Arc<api::AccessKeys>>,
    ) -> anyhow::Result<Lab> {
        let chaos = Chaos::new();
        let directory = LabDirectory::new();
        let registry = metrics::Metrics::new();
        let chaos_metrics = chaos
            .register_metrics(&registry)
            .context("cannot register the chaos metrics")?;
        let mut slots = Vec::new();
        for config in configs {
            let node = Node::start_with(&config, chaos.clone(), None, &registry)
                .await
                .with_context(|| {
                    format!("cannot start {} node {}", config.region, config.node_id)
                })?;
            node.join_lab(&directory);
            let shared = config.node_id == 1 && Some(&config.region) == regions.first();
            slots.push(Slot {
                store: node.store(),
                config,
                node: Some(node),
                api_stop: None,
                shared,
                console_bind_any,
                auth: auth.clone(),
                metrics: registry.clone(),
            });
        }
        let lab = Lab {
            slots: Mutex::new(slots),
            chaos,
            regions,
            directory,
            metrics: registry,
            _chaos_metrics: chaos_metrics,
        };
        {
            let mut slots = lab.slots.lock().await;
            for i in 0..slots.len() {
                serve_api(&mut slots, i).await?;
            }
            publish(&lab.directory, &slots);
        }
        Ok(lab)
    }

    /// The API address of every node: (region, node id, address, shared port).
    pub async fn addresses(&self) -> Vec<(String, u64, SocketAddr, bool)> {
        self.slots
            .lock()
            .await
            .iter()
            .map(|s| {
                (
                    s.config.region.clone(),
                    s.config.node_id,
                    s.config.api_addr,
                    s.shared,
                )
            })
            .collect()
    }

    /// Stops every node.
    pub async fn shutdown(&self) {
        let mut slots = self.slots.lock().await;
        for slot in slots.iter_mut() {
            stop_slot(slot).await;
        }
    }

    fn topology(&self, slots: &[Slot]) -> Topology {
        let mut regions: BTreeMap<String, Option<BTreeSet<u64>>> = BTreeMap::new();
        let mut tables = BTreeSet::new();
        for slot in slots {
            regions
                .entry(slot.config.region.clone())
                .or_insert_with(|| Some(BTreeSet::new()))
                .get_or_insert_with(BTreeSet::new)
                .insert(slot.config.node_id);
            tables.extend(chaos_admin::table_names(&slot.store));
        }
        Topology {
            regions,
            tables,
            operations: chaos_admin::operation_names(),
        }
    }

    /// Serves one lab request (`path` without the host).
    async fn handle(&self, path: &str, body: &[u8]) -> Result<AdminAnswer, AdminError> {
        if let Some(action) = path.strip_prefix(LAB_CHAOS_PREFIX) {
            let topology = self.topology(&self.slots.lock().await);
            return chaos_admin::handle(&self.chaos, &topology, action, body);
        }
        let Some(action) = path.strip_prefix(LAB_NODES_PREFIX) else {
            return Err(AdminError::no_such_path(path));
        };
        let request: LabAction = chaos::decode(body)?;
        let mut slots = self.slots.lock().await;
        if !self.regions.contains(&request.region) {
            return Err(AdminError::validation(format!(
                "unknown region {:?}; the regions are {}",
                request.region,
                self.regions.join(", ")
            )));
        }
        let chosen: Vec<usize> = (0..slots.len())
            .filter(|&i| {
                slots[i].config.region == request.region
                    && request.node.is_none_or(|n| n == slots[i].config.node_id)
            })
            .collect();
        if chosen.is_empty() {
            return Err(AdminError::validation(format!(
                "region {} has no node {}",
                request.region,
                request.node.unwrap_or(0)
            )));
        }
        let mut touched = Vec::new();
        match action {
            "kill" => {
                for &i in &chosen {
                    if slots[i].node.is_some() {
                        stop_slot(&mut slots[i]).await;
                        touched.push(format!(
                            "{} node {}",
                            slots[i].config.region, slots[i].config.node_id
                        ));
                    }
                }
                publish(&self.directory, &slots);
                tracing::warn!(region = %request.region, node = ?request.node, "lab: nodes stopped");
            }
            "restart" => {
                for &i in &chosen {
                    if slots[i].node.is_some() {
                        continue;
                    }
                    let slot = &slots[i];
                    let node = Node::start_with(
                        &slot.config,
                        self.chaos.clone(),
                        Some(slot.store.clone()),
                        &self.metrics,
                    )
                    .await
                    .map_err(|e| AdminError::validation(format!("cannot restart: {e:#}")))?;
                    node.join_lab(&self.directory);
                    slots[i].node = Some(node);
                    serve_api(&mut slots, i)
                        .await
                        .map_err(|e| AdminError::validation(format!("cannot listen: {e:#}")))?;
                    touched.push(format!(
                        "{} node {}",
                        slots[i].config.region, slots[i].config.node_id
                    ));
                }
                // The shared port routes to each region's first node: give it the new ones.
                if let Some(shared) = slots.iter().position(|s| s.shared && s.node.is_some()) {
                    if !chosen.contains(&shared) {
                        if let Some(stop) = slots[shared].api_stop.take() {
                            let _ = stop.send(true);
                        }
                        serve_api(&mut slots, shared)
                            .await
                            .map_err(|e| AdminError::validation(format!("cannot listen: {e:#}")))?;
                    }
                }
                publish(&self.directory, &slots);
                tracing::warn!(region = %request.region, node = ?request.node, "lab: nodes restarted");
            }
            other => return Err(AdminError::no_such_path(other)),
        }
        Ok(AdminAnswer::Nodes { nodes: touched })
    }
}

/// Tells the web console which nodes run now, and where.
fn publish(directory: &LabDirectory, slots: &[Slot]) {
    directory.publish(
        slots
            .iter()
            .map(|s| LabMember {
                region: s.config.region.clone(),
                node_id: s.config.node_id,
                api_addr: s.config.api_addr,
                store: s.store.clone(),
                running: s.node.as_ref().map(Node::running),
            })
            .collect(),
    );
}

async fn stop_slot(slot: &mut Slot) {
    if let Some(stop) = slot.api_stop.take() {
        let _ = stop.send(true);
    }
    if let Some(node) = slot.node.take() {
        node.shutdown().await;
    }
}

/// (Re)binds slot `i`'s API listener. The shared port serves every region's first node.
async fn serve_api(slots: &mut [Slot], i: usize) -> anyhow::Result<()> {
    let serving: Vec<Arc<dyn api::Region>> = if slots[i].shared {
        slots
            .iter()
            .filter(|s| s.config.node_id == 1)
            .filter_map(|s| s.node.as_ref().map(Node::api_region))
            .collect()
    } else {
        slots[i].node.iter().map(Node::api_region).collect()
    };
    if serving.is_empty() {
        return Ok(());
    }
    let addr = slots[i].config.api_addr;
    // A listener just stopped may take a moment to release its port.
    let mut tries = 0;
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            Err(e) if tries < 50 => {
                tries += 1;
                tracing::debug!(%addr, error = %e, "api port busy; retrying");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot listen on {addr}")),
        }
    };
    slots[i].config.api_addr = listener.local_addr()?;
    // Admin calls on the API port (the TTL sweep) take the lab's cluster secret, the one
    // `meridian chaos` reads from the lab file.
    let mut options = api::ServeOptions::for_addr(slots[i].config.api_addr);
    options.admin_secret = slots[i]
        .config
        .cluster
        .as_ref()
        .map(|c| c.secret.as_str().into());
    options.console_bind_any = slots[i].console_bind_any;
    options.auth = slots[i].auth.clone();
    options.metrics = Some(slots[i].metrics.clone());
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.changed().await;
        };
        if let Err(error) = api::serve_with(listener, serving, options, shutdown).await {
            tracing::warn!(%error, "lab api listener failed");
        }
    });
    slots[i].api_stop = Some(stop);
    Ok(())
}

/// Serves the lab listener until `shutdown`: every request needs the cluster secret.
pub async fn serve_lab(
    lab: Arc<Lab>,
    listener: tokio::net::TcpListener,
    secret: String,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    let secret: Arc<str> = secret.into();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "lab accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let lab = lab.clone();
        let secret = secret.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: http::Request<Incoming>| {
                let lab = lab.clone();
                let secret = secret.clone();
                async move { Ok::<_, Infallible>(lab_request(&lab, &secret, request).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_millis(LAB_HEADER_READ_TIMEOUT_MS))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn lab_request(
    lab: &Lab,
    secret: &str,
    request: http::Request<Incoming>,
) -> http::Response<Full<Bytes>> {
    let json = |status: u16, body: Vec<u8>| {
        let mut response = http::Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    };
    let (parts, body) = request.into_parts();
    let given = parts
        .headers
        .get(chaos_admin::SECRET_HEADER)
        .map(|v| v.as_bytes());
    if given != Some(secret.as_bytes()) {
        let error = AdminError {
            status: 403,
            type_name: "AccessDeniedException".into(),
            message: "the lab's cluster secret is missing or wrong".into(),
        };
        return json(403, error.body());
    }
    if parts.method != http::Method::POST {
        return json(405, AdminError::validation("use POST").body());
    }
    let body = match Limited::new(body, ADMIN_BODY_BYTES_MAX).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return json(413, AdminError::validation("request too large").body()),
    };
    match lab.handle(parts.uri.path(), &body).await {
        Ok(answer) => json(200, serde_json::to_vec(&answer).unwrap_or_default()),
        Err(error) => json(error.status, error.body()),
    }
}
