//! One node: its store, its region's Raft group with the table engine as state machine, and the
//! DynamoDB API in front of them.

use std::sync::Arc;

use anyhow::Context as _;

use crate::config::NodeConfig;

/// The table engine as the Raft group's state machine.
#[derive(Debug)]
struct TableLogic {
    engine: table::Engine,
    /// Woken after every apply, so shipping to other regions starts at once.
    replicator: Option<replication::Replicator>,
}

impl raft::StateMachineLogic for TableLogic {
    fn apply(
        &self,
        view: &mut storage::ApplyView<'_>,
        payload: &[u8],
        wall_ms: i64,
    ) -> Result<Vec<u8>, storage::StorageError> {
        let outcome = self
            .engine
            .apply_payload(view, payload, wall_ms)
            .map_err(|e| match e {
                table::TableError::Storage(e) => e,
                other => storage::StorageError::Encoding(other.to_string()),
            })?;
        if let Some(replicator) = &self.replicator {
            replicator.notify_applied();
        }
        Ok(outcome)
    }
}

/// The region as the API sees it: propose through Raft, read from the local store.
#[derive(Debug)]
struct RegionHandle {
    group: raft::RegionGroup,
    store: storage::Store,
    region: String,
    /// The system clock plus this node's chaos skew.
    clock: chaos::ChaosClock,
    replicator: Option<replication::Replicator>,
    chaos: chaos::NodeChaos,
    /// What the web console may see from here (the lab, in `meridian dev`).
    console: crate::console_status::ConsoleScope,
}

impl api::Region for RegionHandle {
    fn propose(&self, payload: Vec<u8>) -> api::BoxFuture<'_, Result<Vec<u8>, api::ApiError>> {
        Box::pin(async move { self.group.write(payload).await.map_err(unavailable) })
    }

    fn linearize(&self) -> api::BoxFuture<'_, Result<(), api::ApiError>> {
        Box::pin(async move { self.group.ensure_linearizable().await.map_err(unavailable) })
    }

    fn store(&self) -> &storage::Store {
        &self.store
    }

    fn region_name(&self) -> &str {
        &self.region
    }

    fn clock(&self) -> &dyn model::Clock {
        &self.clock
    }

    fn is_leader(&self) -> bool {
        self.group.is_leader()
    }

    fn replication(&self) -> Option<&replication::Replicator> {
        self.replicator.as_ref()
    }

    fn chaos(&self) -> Option<&chaos::NodeChaos> {
        Some(&self.chaos)
    }

    fn health(&self) -> api::Health {
        let health = self.group.health();
        api::Health {
            raft_running: health.raft_running,
            leader: health.leader,
            role: format!("{:?}", health.role),
            storage_writable: health.storage_writable,
            failure: health.failure,
        }
    }

    fn cluster_status(&self) -> api::BoxFuture<'_, Option<api::ClusterStatus>> {
        Box::pin(async move {
            let me = crate::console_status::RunningNode {
                group: self.group.clone(),
                replicator: self.replicator.clone(),
            };
            let now_ms = model::Clock::now_ms(&self.clock);
            Some(self.console.status(&me, &self.chaos.chaos, now_ms).await)
        })
    }

    fn chaos_topology(&self) -> Option<chaos::Topology> {
        Some(self.console.topology(&self.store))
    }
}

impl replication::LocalRegion for RegionHandle {
    fn propose(&self, payload: Vec<u8>) -> replication::BoxFuture<'_, Result<Vec<u8>, String>> {
        Box::pin(async move { self.group.write(payload).await.map_err(|e| e.to_string()) })
    }

    fn store(&self) -> &storage::Store {
        &self.store
    }

    fn is_leader(&self) -> bool {
        self.group.is_leader()
    }

    fn now_ms(&self) -> i64 {
        model::Clock::now_ms(&self.clock)
    }
}

/// The node's endpoints on the peer listener: the replicator's and the chaos controls.
#[derive(Debug)]
struct NodeEndpoints {
    replicator: Option<replication::Replicator>,
    chaos: chaos::NodeChaos,
    store: storage::Store,
    /// This region's members (for validating faults).
    members: Vec<u64>,
    /// The other regions.
    remotes: Vec<String>,
}

impl raft::PeerExtension for NodeEndpoints {
    fn handle(&self, path: String, body: bytes::Bytes) -> raft::ExtensionFuture<'_> {
        Box::pin(async move {
            if let Some(action) = path.strip_prefix(crate::chaos_admin::PEER_CHAOS_PREFIX) {
                let topology = crate::chaos_admin::node_topology(
                    &self.chaos.region,
                    self.members.iter().copied(),
                    self.remotes.iter().cloned(),
                    &self.store,
                );
                return crate::chaos_admin::handle(&self.chaos.chaos, &topology, action, &body)
                    .map(|answer| serde_json::to_vec(&answer).unwrap_or_default())
                    .map_err(|e| (e.status, String::from_utf8_lossy(&e.body()).into_owned()));
            }
            match &self.replicator {
                Some(replicator) => replicator.handle(&path, body).await,
                None => Err((404, "no such peer endpoint".to_owned())),
            }
        })
    }

    fn status(&self) -> String {
        let mut text = self
            .replicator
            .as_ref()
            .map(|r| r.status())
            .unwrap_or_default();
        text.push_str(&self.chaos.chaos.status());
        text
    }
}

/// Raft failures reach clients as retryable errors; the detail stays in the log.
fn unavailable(e: raft::RaftError) -> api::ApiError {
    tracing::warn!(error = %e, "raft unavailable");
    api::ApiError::Unavailable("The service is temporarily unavailable; retry the request".into())
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    region: Arc<RegionHandle>,
    /// Stops the peer listener (multi-node regions only).
    peer_stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    peer_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The TTL sweeper (None when its interval is 0).
    sweeper: std::sync::Mutex<Option<crate::sweeper::Sweeper>>,
    /// The leader-only backfill of newly added secondary indexes.
    backfill_task: tokio::task::JoinHandle<()>,
    /// The process's metrics registry.
    metrics: metrics::Metrics,
    /// This node's collectors in it (Raft, storage, replication), gone with the node.
    _collectors: Vec<metrics::Registration>,
}

impl Node {
    /// Opens storage and starts (or rejoins) the region's group, with a chaos state of its
    /// own (faults arrive through its peer listener).
    /// Its metrics, chaos's included, go to a registry of its own ([`Node::metrics`]).
    pub async fn start(config: &NodeConfig) -> anyhow::Result<Node> {
        let chaos = chaos::Chaos::new();
        let registry = metrics::Metrics::new();
        let chaos_metrics = chaos
            .register_metrics(&registry)
            .context("cannot register the chaos metrics")?;
        let mut node = Node::start_with(config, chaos, None, &registry).await?;
        node._collectors.push(chaos_metrics);
        Ok(node)
    }

    /// Opens storage (or reuses `store`, as `meridian dev` does when it restarts a node it
    /// stopped) and starts (or rejoins) the region's group, subject to `chaos`, reporting
    /// its metrics into `registry` (labelled with its region and node id).
    pub async fn start_with(
        config: &NodeConfig,
        chaos: std::sync::Arc<chaos::Chaos>,
        store: Option<storage::Store>,
        registry: &metrics::Metrics,
    ) -> anyhow::Result<Node> {
        let store = match (store, &config.data_dir) {
            (Some(store), _) => store,
            (None, Some(dir)) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                storage::Store::open(Some(&dir.join("sled")), config.cache_bytes)
                    .context("cannot open storage")?
            }
            (None, None) => {
                storage::Store::open(None, config.cache_bytes).context("cannot open storage")?
            }
        };
        let node_chaos = chaos::NodeChaos::new(chaos, config.region.clone(), config.node_id);
        let clock = chaos::ChaosClock::new(node_chaos.clone());
        let replicator = match (&config.replication, &config.cluster) {
            (Some(replication), Some(cluster)) => Some(replication::Replicator::new(
                replication::ReplicationSettings {
                    region: config.region.clone(),
                    remotes: replication.remotes.clone(),
                    secret: cluster.secret.clone(),
                    anti_entropy_interval_ms: replication.anti_entropy_interval_ms,
                    auto_global: replication.auto_global,
                    chaos: node_chaos.clone(),
                    ..replication::ReplicationSettings::default()
                },
            )),
            _ => None,
        };
        let logic = Arc::new(TableLogic {
            engine: table::Engine::new(config.region.clone()),
            replicator: replicator.clone(),
        });
        let mut settings = raft::RaftSettings {
            node: raft::PeerNode {
                api_addr: config.api_addr.to_string(),
                peer_addr: String::new(),
            },
            clock: raft::SharedClock(Arc::new(clock.clone())),
            chaos: Some(node_chaos.clone()),
            ..raft::RaftSettings::default()
        };
        if let Some(n) = config.raft.snapshot_logs_since_last {
            settings.snapshot_logs_since_last = n;
        }
        if let Some(n) = config.raft.max_in_snapshot_log_to_keep {
            settings.max_in_snapshot_log_to_keep = n;
        }
        // Bound before the group starts, so a taken port fails the start at once.
        let mut peer_listener = None;
        if let Some(cluster) = &config.cluster {
            let listener = tokio::net::TcpListener::bind(cluster.peer_addr)
                .await
                .with_context(|| format!("cannot listen on {} (peers)", cluster.peer_addr))?;
            settings.node.peer_addr = listener.local_addr()?.to_string();
            settings.cluster_name = cluster.name.clone();
            settings.cluster_secret = cluster.secret.clone();
            settings.peers = cluster
                .members
                .iter()
                .filter(|(id, _)| **id != config.node_id)
                .map(|(id, (api, peer))| {
                    let node = raft::PeerNode {
                        api_addr: api.to_string(),
                        peer_addr: peer.to_string(),
                    };
                    (*id, node)
                })
                .collect();
            settings = settings.multi_node_timings();
            peer_listener = Some(listener);
        }
        let group = raft::RegionGroup::start(config.node_id, store.clone(), logic, settings)
            .await
            .context("cannot start the region's raft group")?;
        if let Some(cluster) = &config.cluster {
            group.set_peer_extension(Arc::new(NodeEndpoints {
                replicator: replicator.clone(),
                chaos: node_chaos.clone(),
                store: store.clone(),
                members: cluster.members.keys().copied().collect(),
                remotes: config
                    .replication
                    .as_ref()
                    .map(|r| r.remotes.keys().cloned().collect())
                    .unwrap_or_default(),
            }));
        }
        let (mut peer_stop, mut peer_task) = (None, None);
        if let Some(listener) = peer_listener {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let serving = group.clone();
            peer_task = Some(tokio::spawn(async move {
                serving
                    .serve_peers(listener, async {
                        let _ = stopped.await;
                    })
                    .await;
            }));
            peer_stop = Some(stop);
        }
        let region = Arc::new(RegionHandle {
            group,
            store,
            region: config.region.clone(),
            clock,
            replicator: replicator.clone(),
            chaos: node_chaos,
            console: crate::console_status::ConsoleScope::new(config),
        });
        if let Some(replicator) = &replicator {
            let local: Arc<dyn replication::LocalRegion> = region.clone();
            replicator.start(Arc::downgrade(&local));
        }
        let collectors = register_node_metrics(registry, &region, config)
            .context("cannot register the node's metrics")?;
        let sweeper = crate::sweeper::Sweeper::start(region.clone(), config.ttl_sweep_interval_ms);
        let backfill_task = tokio::spawn(api::run_backfill(region.clone()));
        Ok(Node {
            region,
            peer_stop: std::sync::Mutex::new(peer_stop),
            peer_task: std::sync::Mutex::new(peer_task),
            sweeper: std::sync::Mutex::new(sweeper),
            backfill_task,
            metrics: registry.clone(),
            _collectors: collectors,
        })
    }

    /// The registry this node reports into (the API port serves it at `/metrics`).
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    /// The region as the API serves it.
    pub fn api_region(&self) -> Arc<dyn api::Region> {
        self.region.clone()
    }

    /// The parts of the node the web console reads (for `meridian dev`'s lab directory).
    pub fn running(&self) -> crate::console_status::RunningNode {
        crate::console_status::RunningNode {
            group: self.region.group.clone(),
            replicator: self.region.replicator.clone(),
        }
    }

    /// Makes this node's console answer for the whole `meridian dev` lab.
    pub fn join_lab(&self, lab: &Arc<crate::console_status::LabDirectory>) {
        self.region.console.join_lab(lab);
    }

    /// The node's store (kept by `meridian dev` to restart a stopped node on it).
    pub fn store(&self) -> storage::Store {
        self.region.store.clone()
    }

    /// Stops the group and the peer listener, and flushes storage.
    pub async fn shutdown(&self) {
        let sweeper = self.sweeper.lock().ok().and_then(|mut s| s.take());
        if let Some(sweeper) = sweeper {
            sweeper.stop().await;
        }
        if let Some(replicator) = &self.region.replicator {
            replicator.stop();
        }
        self.backfill_task.abort();
        self.region.group.shutdown().await;
        let stop = self.peer_stop.lock().ok().and_then(|mut s| s.take());
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let task = self.peer_task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        if let Err(e) = self.region.store.flush() {
            tracing::error!(error = %e, "flush on shutdown failed");
        }
    }
}

/// Storage families, sampled at scrape time.
const STORAGE_FAMILIES: &[metrics::FamilySpec] = &[
    metrics::FamilySpec {
        name: "meridian_storage_bytes",
        help: "Bytes the node's database occupies (on disk with --data-dir; in memory, the keys and values held).",
        kind: metrics::Kind::Gauge,
        labels: &[],
    },
    metrics::FamilySpec {
        name: "meridian_storage_in_memory",
        help: "1 if the node keeps its data in memory only.",
        kind: metrics::Kind::Gauge,
        labels: &[],
    },
    metrics::FamilySpec {
        name: "meridian_tables",
        help: "Tables in the region, as this node's replica holds them.",
        kind: metrics::Kind::Gauge,
        labels: &[],
    },
];

/// Registers a node's Raft, storage and replication collectors.
fn register_node_metrics(
    registry: &metrics::Metrics,
    region: &RegionHandle,
    config: &NodeConfig,
) -> Result<Vec<metrics::Registration>, metrics::MetricsError> {
    let mut out = vec![region.group.register_metrics(registry, &config.region)?];
    let store = region.store.clone();
    let node = config.node_id.to_string();
    let storage = metrics::Sampled::new(
        STORAGE_FAMILIES,
        &[("region", &config.region), ("node", &node)],
        move |sample| {
            if let Ok(bytes) = store.size_on_disk() {
                sample.set("meridian_storage_bytes", &[], bytes as f64);
            }
            sample.set(
                "meridian_storage_in_memory",
                &[],
                f64::from(u8::from(store.is_in_memory())),
            );
            if let Ok(tables) = table::list_tables(&store) {
                sample.set("meridian_tables", &[], tables.len() as f64);
            }
        },
    )?;
    out.push(registry.register(storage)?);
    if let Some(replicator) = &region.replicator {
        out.push(replicator.register_metrics(registry, config.node_id)?);
    }
    Ok(out)
}
