//! A region group: one Raft group whose state machine is the region's tables.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::InitializeError;
use openraft::{Config, Raft, ServerState, SnapshotPolicy};
use storage::Store;

use crate::error::{from_fatal, from_read_error, RaftError};
use crate::flusher::Flusher;
use crate::log_store::LogStore;
use crate::network::{CallError, PeerClient, PeerNetworkFactory};
use crate::proposer::{self, Proposal};
use crate::state_machine::{StateMachine, StateMachineLogic};
use crate::types::{PeerNode, TypeConfig};
use crate::wire::{paths, MAX_PAYLOAD_ENTRIES};

/// How a region group runs. `Default` suits a single-node group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftSettings {
    /// Names the cluster in logs.
    pub cluster_name: String,
    /// The shared secret every peer request carries (and every peer listener checks). Empty
    /// for a single-node group, which has no peer listener.
    pub cluster_secret: String,
    /// This node's addresses, recorded in the membership.
    pub node: PeerNode,
    /// The other voters of the initial membership (empty: a single-node group). The member
    /// with the lowest id initializes the group on its first start.
    pub peers: BTreeMap<u64, PeerNode>,
    /// Lower bound of the randomized election timeout.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout.
    pub election_timeout_max_ms: u64,
    /// Leader heartbeat interval.
    pub heartbeat_interval_ms: u64,
    /// Build a snapshot after this many entries have been applied since the last one.
    pub snapshot_logs_since_last: u64,
    /// Entries kept in the log after a snapshot, for followers that are slightly behind.
    pub max_in_snapshot_log_to_keep: u64,
    /// Also build a snapshot (and purge the log behind it) once this many bytes of entries
    /// have been appended since the last such snapshot; 0: by entries only. See
    /// `compaction.rs` for the resulting bound on the log.
    pub snapshot_log_bytes_since_last: u64,
    /// Timeout of one InstallSnapshot chunk.
    pub install_snapshot_timeout_ms: u64,
    /// How long `start` waits for this node to become leader (single-node groups only: a
    /// multi-node group's `start` returns at once and elects in the background).
    pub leader_wait_timeout_ms: u64,
    /// Upper bound on one `write` (commit + apply); past it the outcome is unknown.
    pub write_timeout_ms: u64,
    /// Upper bound on one `ensure_linearizable`.
    pub read_timeout_ms: u64,
    /// The wall clock the leader stamps on every entry it proposes.
    pub clock: SharedClock,
    /// Chaos faults that cut this node off from its region's peers (none: never cut).
    pub chaos: Option<chaos::NodeChaos>,
}

/// A shared wall clock (compared by identity, so settings stay comparable).
#[derive(Debug, Clone)]
pub struct SharedClock(pub std::sync::Arc<dyn model::Clock>);

impl SharedClock {
    /// The clock's reading, in Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        SharedClock(std::sync::Arc::new(model::SystemClock))
    }
}

impl PartialEq for SharedClock {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedClock {}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            cluster_name: "meridian".into(),
            cluster_secret: String::new(),
            node: PeerNode::default(),
            peers: BTreeMap::new(),
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            snapshot_logs_since_last: crate::compaction::SNAPSHOT_LOGS_SINCE_LAST_DEFAULT,
            max_in_snapshot_log_to_keep: 1000,
            snapshot_log_bytes_since_last: crate::compaction::SNAPSHOT_LOG_BYTES_SINCE_LAST_DEFAULT,
            install_snapshot_timeout_ms: 3_000,
            leader_wait_timeout_ms: 10_000,
            write_timeout_ms: 10_000,
            read_timeout_ms: 5_000,
            clock: SharedClock::default(),
            chaos: None,
        }
    }
}

impl RaftSettings {
    /// Timings for a multi-node group on a shared, possibly loaded machine: a heartbeat (which
    /// is also openraft's AppendEntries timeout) long enough for a debug build under load, and
    /// an election timeout that still lets a new leader take over well within 3 s. (A
    /// follower campaigns only after the leader lease, which openraft 0.9 sets to the maximum
    /// election timeout, plus a random election timeout: 1.2 to 1.6 s of silence here.)
    pub fn multi_node_timings(self) -> RaftSettings {
        RaftSettings {
            election_timeout_min_ms: 400,
            election_timeout_max_ms: 800,
            heartbeat_interval_ms: 100,
            ..self
        }
    }

    fn openraft_config(&self) -> Result<Config, RaftError> {
        let config = Config {
            cluster_name: self.cluster_name.clone(),
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            heartbeat_interval: self.heartbeat_interval_ms,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_logs_since_last),
            max_in_snapshot_log_to_keep: self.max_in_snapshot_log_to_keep,
            install_snapshot_timeout: self.install_snapshot_timeout_ms,
            max_payload_entries: MAX_PAYLOAD_ENTRIES,
            snapshot_max_chunk_size: 1024 * 1024,
            ..Config::default()
        };
        config
            .validate()
            .map_err(|e| RaftError::Config(e.to_string()))
    }
}

/// A node's role in its group, from the latest metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepts writes.
    Leader,
    /// Campaigning.
    Candidate,
    /// A voter following a leader.
    Follower,
    /// A non-voting member catching up.
    Learner,
    /// Stopped.
    Shutdown,
}

/// A snapshot of the group's state for metrics and routing. Not linearizable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetrics {
    /// This node.
    pub node_id: u64,
    /// This node's role.
    pub role: Role,
    /// The leader this node knows of.
    pub current_leader: Option<u64>,
    /// The current Raft term.
    pub term: u64,
    /// Index of the last entry in this node's log.
    pub last_log_index: Option<u64>,
    /// Index of the last entry applied to the state machine.
    pub last_applied_index: Option<u64>,
    /// Index up to which the latest snapshot covers the log.
    pub snapshot_index: Option<u64>,
    /// Index up to which the log has been purged.
    pub purged_index: Option<u64>,
    /// Durable log flushes done so far (0 in memory): fewer than writes means group commit.
    pub log_flushes: u64,
    /// The voters of the current membership.
    pub voters: Vec<u64>,
    /// On the leader: each member's highest log index known to be replicated to it.
    pub replication: BTreeMap<u64, Option<u64>>,
}

/// How long a write or read waits for a leader (an election, a refused connection to a dead
/// leader) before it fails `Unavailable`.
pub const LEADER_WAIT_MS: u64 = 3_000;
/// Pause between attempts while waiting for a leader.
const RETRY_PAUSE_MS: u64 = 25;

/// A forwarded request that got no answer. A timed-out or broken forwarded write may still
/// be applied: like a local timeout, the outcome is unknown, and the client retries.
fn forward_error(leader: u64, e: CallError) -> RaftError {
    RaftError::Unavailable(format!("forwarding to leader {leader}: {e}"))
}

impl fmt::Display for GroupMetrics {
    /// `key=value` lines, as the peer listener's status page shows them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: Option<u64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
        writeln!(f, "node_id={}", self.node_id)?;
        writeln!(f, "role={:?}", self.role)?;
        writeln!(f, "leader={}", opt(self.current_leader))?;
        writeln!(f, "term={}", self.term)?;
        writeln!(f, "last_log_index={}", opt(self.last_log_index))?;
        writeln!(f, "applied_index={}", opt(self.last_applied_index))?;
        writeln!(f, "snapshot_index={}", opt(self.snapshot_index))?;
        writeln!(f, "purged_index={}", opt(self.purged_index))?;
        let voters: Vec<String> = self.voters.iter().map(u64::to_string).collect();
        writeln!(f, "voters={}", voters.join(","))?;
        for (id, matched) in &self.replication {
            writeln!(f, "replication.{id}.matched_index={}", opt(*matched))?;
        }
        writeln!(f, "log_flushes={}", self.log_flushes)
    }
}

/// The group's families, sampled from openraft's metrics at each scrape.
const FAMILIES: &[metrics::FamilySpec] = &[
    gauge("meridian_raft_is_leader", "1 if this node is the leader."),
    gauge("meridian_raft_term", "The current Raft term."),
    gauge(
        "meridian_raft_leader_id",
        "The node this node follows as leader (0: none known).",
    ),
    gauge(
        "meridian_raft_last_log_index",
        "Index of the last entry in this node's log.",
    ),
    gauge(
        "meridian_raft_applied_index",
        "Index of the last entry applied to the state machine.",
    ),
    gauge(
        "meridian_raft_snapshot_index",
        "Index covered by the latest snapshot.",
    ),
    gauge(
        "meridian_raft_purged_index",
        "Index up to which the log has been purged.",
    ),
    gauge("meridian_raft_voters", "Voters in the current membership."),
    metrics::FamilySpec {
        name: "meridian_raft_log_flushes_total",
        help: "Durable log flushes (group commits).",
        kind: metrics::Kind::Counter,
        labels: &[],
    },
    metrics::FamilySpec {
        name: "meridian_raft_replication_lag_entries",
        help: "Entries the leader has that a member has not confirmed (leader only).",
        kind: metrics::Kind::Gauge,
        labels: &["target"],
    },
];

const fn gauge(name: &'static str, help: &'static str) -> metrics::FamilySpec {
    metrics::FamilySpec {
        name,
        help,
        kind: metrics::Kind::Gauge,
        labels: &[],
    }
}

impl GroupMetrics {
    /// Sets this node's series of [`FAMILIES`].
    fn sample(&self, sample: &metrics::Sample<'_>) {
        let some = |name: &str, value: Option<u64>| {
            if let Some(v) = value {
                sample.set(name, &[], v as f64);
            }
        };
        some(
            "meridian_raft_is_leader",
            Some(u64::from(self.role == Role::Leader)),
        );
        some("meridian_raft_term", Some(self.term));
        some(
            "meridian_raft_leader_id",
            Some(self.current_leader.unwrap_or(0)),
        );
        some("meridian_raft_last_log_index", self.last_log_index);
        some("meridian_raft_applied_index", self.last_applied_index);
        some("meridian_raft_snapshot_index", self.snapshot_index);
        some("meridian_raft_purged_index", self.purged_index);
        some("meridian_raft_voters", Some(self.voters.len() as u64));
        some("meridian_raft_log_flushes_total", Some(self.log_flushes));
        let last = self.last_log_index.unwrap_or(0);
        for (target, matched) in &self.replication {
            let lag = last.saturating_sub(matched.unwrap_or(0));
            sample.set(
                "meridian_raft_replication_lag_entries",
                &[&target.to_string()],
                lag as f64,
            );
        }
    }
}

/// One region's Raft group, running on this node.
#[derive(Clone)]
pub struct RegionGroup {
    node_id: u64,
    raft: Raft<TypeConfig>,
    proposals: tokio::sync::mpsc::Sender<Proposal>,
    pub(crate) peers: PeerClient,
    flusher: Option<Flusher>,
    pub(crate) settings: Arc<RaftSettings>,
    startup: Duration,
    extension: Arc<std::sync::OnceLock<Arc<dyn PeerExtension>>>,
    /// The process's metrics, served on the peer listener's `/metrics`.
    registry: Arc<std::sync::OnceLock<metrics::Metrics>>,
    /// Sizes of the log's entries (compaction by bytes, health).
    pub(crate) log_bytes: Arc<crate::compaction::LogBytes>,
    /// When a leader was last heard (pre-vote).
    pub(crate) leader_contact: crate::prevote::SharedContact,
}

/// Endpoints served on the peer listener beside the Raft protocol (cross-region replication),
/// behind the same cluster secret.
pub trait PeerExtension: Send + Sync + 'static {
    /// Serves a POST to `path` (which starts with [`EXTENSION_PATH_PREFIX`]) with its body.
    /// An `Err` is an HTTP status and a plain-text reason.
    fn handle(&self, path: String, body: bytes::Bytes) -> ExtensionFuture<'_>;

    /// `key=value` lines appended to the status page.
    fn status(&self) -> String;
}

/// What [`PeerExtension::handle`] returns: the answer's bytes, or an HTTP status and reason.
pub type ExtensionFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<u8>, (u16, String)>> + Send + 'a>,
>;

/// Peer paths that go to the [`PeerExtension`].
pub const EXTENSION_PATH_PREFIX: &str = "/ext/";

/// The header that carries the cluster secret on every peer request.
pub const CLUSTER_SECRET_HEADER: &str = crate::wire::SECRET_HEADER;

impl fmt::Debug for RegionGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegionGroup")
            .field("node_id", &self.node_id)
            .field("startup", &self.startup)
            .finish_non_exhaustive()
    }
}

impl RegionGroup {
    /// Starts the group on `store`.
    ///
    /// A single-member group (no `settings.peers`) is initialized on its first start and
    /// `start` returns once this node is leader (a single node elects itself at once, on first
    /// start and on restart).
    ///
    /// A multi-node group is initialized with every member as a voter by its lowest-id member on
    /// that member's first start; the others wait for it to replicate to them. Later starts
    /// rejoin from the persisted state. `start` returns at once: the election runs in the
    /// background once a majority can talk (serve the peer listener with
    /// [`RegionGroup::serve_peers`]), and until then requests fail as unavailable.
    pub async fn start(
        node_id: u64,
        store: Store,
        logic: Arc<dyn StateMachineLogic>,
        settings: RaftSettings,
    ) -> Result<RegionGroup, RaftError> {
        let started = Instant::now();
        let multi_node = !settings.peers.is_empty();
        if multi_node && settings.cluster_secret.is_empty() {
            return Err(RaftError::Config(
                "a multi-node region group needs a cluster secret".into(),
            ));
        }
        if settings.peers.contains_key(&node_id) {
            return Err(RaftError::Config(format!(
                "node {node_id} is listed among its own peers"
            )));
        }
        let mut config = settings.openraft_config()?;
        if store.is_in_memory()
            && settings.snapshot_log_bytes_since_last > 0
            && settings.snapshot_logs_since_last
                == crate::compaction::SNAPSHOT_LOGS_SINCE_LAST_DEFAULT
        {
            // In memory, snapshots are taken by bytes unless an entry count was configured
            // (see `compaction.rs`).
            config.snapshot_policy = SnapshotPolicy::Never;
        }
        let config = Arc::new(config);
        let flusher = if store.is_in_memory() {
            None
        } else {
            Some(Flusher::start(store.clone()).map_err(|e| RaftError::Fatal(e.to_string()))?)
        };
        let log_store = LogStore::new(store.clone(), flusher.clone());
        let log_bytes = log_store.log_bytes();
        let state_machine = StateMachine::open(store.clone(), logic)
            .map_err(|e| RaftError::Fatal(e.to_string()))?;
        let peers = PeerClient::new(&settings.cluster_secret).with_chaos(settings.chaos.clone());
        let network = PeerNetworkFactory::new(peers.clone());
        let raft = Raft::new(node_id, config, network, log_store, state_machine)
            .await
            .map_err(from_fatal)?;
        tokio::spawn(crate::compaction::run(
            raft.clone(),
            log_bytes.clone(),
            settings.snapshot_log_bytes_since_last,
            store.clone(),
        ));
        let group = RegionGroup {
            node_id,
            proposals: proposer::spawn(raft.clone(), settings.clock.clone()),
            raft,
            peers,
            flusher,
            settings: Arc::new(settings),
            startup: Duration::ZERO,
            extension: Arc::new(std::sync::OnceLock::new()),
            registry: Arc::new(std::sync::OnceLock::new()),
            log_bytes,
            leader_contact: Arc::new(crate::prevote::LeaderContact::new()),
        };
        if multi_node {
            // Elections go through pre-vote (`prevote`), never openraft's own timer.
            group.raft.runtime_config().elect(false);
            tokio::spawn(group.clone().guard_elections());
        }
        let lowest = group
            .settings
            .peers
            .keys()
            .next()
            .is_none_or(|&lowest_peer| node_id < lowest_peer);
        if lowest {
            group.initialize_if_new().await?;
        }
        if multi_node {
            tracing::info!(node_id, initializer = lowest, "region group started");
            return Ok(group);
        }
        let timeout = Duration::from_millis(group.settings.leader_wait_timeout_ms);
        group
            .raft
            .wait(Some(timeout))
            .state(ServerState::Leader, "region group start")
            .await
            .map_err(|e| RaftError::Unavailable(format!("no leadership after start: {e}")))?;
        let startup = started.elapsed();
        tracing::info!(
            node_id,
            startup_ms = startup.as_secs_f64() * 1e3,
            "region group leader"
        );
        Ok(RegionGroup { startup, ..group })
    }

    async fn initialize_if_new(&self) -> Result<(), RaftError> {
        if self.raft.is_initialized().await.map_err(from_fatal)? {
            return Ok(());
        }
        let mut members = self.settings.peers.clone();
        members.insert(self.node_id, self.settings.node.clone());
        match self.raft.initialize(members).await {
            Ok(()) => Ok(()),
            // Initialized concurrently (e.g. by a log arriving from a peer): fine.
            Err(openraft::error::RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
            Err(openraft::error::RaftError::APIError(e)) => Err(RaftError::Config(e.to_string())),
            Err(openraft::error::RaftError::Fatal(f)) => Err(from_fatal(f)),
        }
    }

    /// Serves the peer protocol (Raft RPCs, forwarded writes and reads, status) on `listener`
    /// until `shutdown` completes. Every request must carry the cluster secret.
    pub async fn serve_peers<F>(&self, listener: tokio::net::TcpListener, shutdown: F)
    where
        F: std::future::Future<Output = ()> + Send,
    {
        crate::peer_server::serve(self.clone(), listener, shutdown).await;
    }

    /// Installs the extension the peer listener serves (once; later calls are ignored).
    pub fn set_peer_extension(&self, extension: Arc<dyn PeerExtension>) {
        let _ = self.extension.set(extension);
    }

    pub(crate) fn peer_extension(&self) -> Option<&Arc<dyn PeerExtension>> {
        self.extension.get()
    }

    /// The status page: the group's figures, then the extension's.
    pub(crate) fn status_text(&self) -> String {
        let mut text = self.metrics().to_string();
        if let Some(ext) = self.peer_extension() {
            text.push_str(&ext.status());
        }
        text
    }

    /// Adds this node's Raft families to `registry` (labelled `region` and `node`), and
    /// makes the peer listener's `/metrics` serve the whole registry. The group stops
    /// reporting when the registration is dropped.
    pub fn register_metrics(
        &self,
        registry: &metrics::Metrics,
        region: &str,
    ) -> Result<metrics::Registration, metrics::MetricsError> {
        let _ = self.registry.set(registry.clone());
        let group = self.clone();
        let node = self.node_id.to_string();
        let collector = metrics::Sampled::new(
            FAMILIES,
            &[("region", region), ("node", &node)],
            move |sample| group.metrics().sample(sample),
        )?;
        registry.register(collector)
    }

    /// The peer listener's `/metrics`: the process's registry, once one is registered.
    pub(crate) fn prometheus_text(&self) -> String {
        self.registry
            .get()
            .map(metrics::Metrics::render)
            .unwrap_or_default()
    }

    pub(crate) fn flusher(&self) -> Option<&Flusher> {
        self.flusher.as_ref()
    }

    pub(crate) fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    pub(crate) fn cluster_secret(&self) -> &str {
        &self.settings.cluster_secret
    }

    /// The peer listener address of member `id`, from the current membership.
    pub(crate) fn peer_addr_of(&self, id: u64) -> Option<String> {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&id)
            .map(|node| node.peer_addr.clone())
    }

    /// Proposes `payload`; returns the state machine's response once it is committed (durable
    /// on a majority) and applied on the leader. Concurrent writes are batched into one log
    /// entry, so they share one flush.
    ///
    /// In a multi-node group a follower forwards the payload to the leader over the peer
    /// protocol. While no leader is known (an election), or the known one refuses the
    /// connection or turns out not to be leader, the write is retried for up to
    /// [`LEADER_WAIT_MS`]: in those cases it was certainly not proposed. A forwarded write that
    /// times out or breaks is not retried (it may have been applied); it fails `Unavailable`.
    pub async fn write(&self, payload: Vec<u8>) -> Result<Vec<u8>, RaftError> {
        if self.settings.peers.is_empty() {
            return self.write_local(payload).await;
        }
        let deadline = Instant::now() + Duration::from_millis(LEADER_WAIT_MS);
        loop {
            let leader = self.wait_for_leader(deadline).await;
            let outcome = match leader {
                Some(leader) if leader == self.node_id => self.write_local(payload.clone()).await,
                Some(leader) => self.forward_write(leader, payload.clone()).await,
                None => Err(RaftError::NotLeader { leader: None }),
            };
            match outcome {
                Err(RaftError::NotLeader { .. }) if Instant::now() < deadline => {}
                Err(RaftError::NotLeader { .. }) => {
                    return Err(RaftError::Unavailable(format!(
                        "no leader accepted the write within {LEADER_WAIT_MS} ms"
                    )))
                }
                other => return other,
            }
            tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await;
        }
    }

    /// The leader this node knows of, waiting until `deadline` for one to be known.
    async fn wait_for_leader(&self, deadline: Instant) -> Option<u64> {
        if let Some(leader) = self.current_leader() {
            return Some(leader);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        self.raft
            .wait(Some(remaining))
            .metrics(|m| m.current_leader.is_some(), "a known leader")
            .await
            .ok()
            .and_then(|m| m.current_leader)
    }

    /// Proposes `payload` on this node, which must be the leader.
    pub(crate) async fn write_local(&self, payload: Vec<u8>) -> Result<Vec<u8>, RaftError> {
        let timeout = Duration::from_millis(self.settings.write_timeout_ms);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || RaftError::Unavailable("the region group has stopped".into());
        let proposal = Proposal { payload, reply };
        let outcome = tokio::time::timeout(timeout, async {
            self.proposals.send(proposal).await.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        });
        match outcome.await {
            Ok(result) => result,
            Err(_) => Err(RaftError::Unavailable(format!(
                "write not applied within {} ms; it may still be",
                self.settings.write_timeout_ms
            ))),
        }
    }

    /// Forwards a write to `leader`. A refused connection comes back as `NotLeader` (nothing
    /// was sent, so the caller may retry); any other failure as `Unavailable`.
    async fn forward_write(&self, leader: u64, payload: Vec<u8>) -> Result<Vec<u8>, RaftError> {
        let addr = self
            .peer_addr_of(leader)
            .ok_or_else(|| RaftError::Unavailable(format!("leader {leader} has no address")))?;
        let timeout = Duration::from_millis(self.settings.write_timeout_ms);
        let call = self.peers.call_member::<_, Result<Vec<u8>, RaftError>>(
            leader,
            &addr,
            paths::WRITE,
            &payload,
            timeout,
        );
        tokio::select! {
            answer = call => match answer {
                Ok(answer) => answer,
                Err(CallError::Unreachable { .. }) => Err(RaftError::NotLeader { leader: None }),
                Err(e) => Err(forward_error(leader, e)),
            },
            // A leader that stopped answering (paused, partitioned) is replaced by an
            // election; give up then instead of at the write timeout. The write may still be
            // committed (if it reached a majority), so this is not retried here.
            () = self.leader_changed(leader) => Err(RaftError::Unavailable(format!(
                "leader {leader} was replaced while a forwarded write was pending; \
                 its outcome is unknown"
            ))),
        }
    }

    /// Completes once this node no longer names `leader` as the leader (never, while it does).
    async fn leader_changed(&self, leader: u64) {
        let changed = self
            .raft
            .wait(None)
            .metrics(|m| m.current_leader != Some(leader), "leader change")
            .await;
        if changed.is_err() {
            // Shutting down: the forwarded call ends on its own timeout.
            std::future::pending::<()>().await;
        }
    }

    /// Returns once a read of the local state reflects every write committed before this call:
    /// then read `Store` directly. On the leader: openraft's read index (leadership confirmed
    /// by a quorum), then wait for apply. On a follower: ask the leader for its read index over
    /// the peer protocol, then wait until this node has applied up to it. Reads change
    /// nothing, so any failure is retried until the read timeout.
    pub async fn ensure_linearizable(&self) -> Result<(), RaftError> {
        let timeout = Duration::from_millis(self.settings.read_timeout_ms);
        let deadline = Instant::now() + timeout;
        let read_index = loop {
            let attempt = match self.wait_for_leader(deadline).await {
                Some(leader) if leader != self.node_id => self.remote_read_index(leader).await,
                _ => self.read_index_local().await,
            };
            match attempt {
                Ok(index) => break index,
                Err(e @ RaftError::Fatal(_)) => return Err(e),
                Err(e) if self.settings.peers.is_empty() || Instant::now() >= deadline => {
                    return Err(e)
                }
                Err(e) => tracing::debug!(error = %e, "read index: retrying"),
            }
            tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await;
        };
        let Some(index) = read_index else {
            return Ok(());
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        self.raft
            .wait(Some(remaining))
            .applied_index_at_least(Some(index), "linearizable read")
            .await
            .map(|_| ())
            .map_err(|e| {
                RaftError::Unavailable(format!(
                    "not applied up to the read index {index} within {} ms: {e}",
                    self.settings.read_timeout_ms
                ))
            })
    }

    /// The leader's read index: leadership confirmed by a quorum, and the index a
    /// linearizable read must see applied. Fails with `NotLeader` on a follower.
    pub(crate) async fn read_index_local(&self) -> Result<Option<u64>, RaftError> {
        let timeout = Duration::from_millis(self.settings.read_timeout_ms);
        match tokio::time::timeout(timeout, self.raft.get_read_log_id()).await {
            Ok(Ok((read_log_id, _applied))) => Ok(read_log_id.map(|id| id.index)),
            Ok(Err(e)) => Err(from_read_error(e)),
            Err(_) => Err(RaftError::Unavailable(format!(
                "leadership not confirmed within {} ms",
                self.settings.read_timeout_ms
            ))),
        }
    }

    async fn remote_read_index(&self, leader: u64) -> Result<Option<u64>, RaftError> {
        let addr = self
            .peer_addr_of(leader)
            .ok_or_else(|| RaftError::Unavailable(format!("leader {leader} has no address")))?;
        let timeout = Duration::from_millis(self.settings.read_timeout_ms);
        let call = self.peers.call_member::<_, Result<Option<u64>, RaftError>>(
            leader,
            &addr,
            paths::READ_INDEX,
            &(),
            timeout,
        );
        tokio::select! {
            answer = call => answer.map_err(|e| forward_error(leader, e))?,
            () = self.leader_changed(leader) => Err(RaftError::NotLeader { leader: None }),
        }
    }

    /// Whether this node believed itself leader at the latest metrics update. Not a
    /// linearizable check; use [`RegionGroup::ensure_linearizable`] for reads.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.node_id)
    }

    /// The leader this node knows of.
    pub fn current_leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// How long `start` took until this node was leader.
    pub fn startup_duration(&self) -> Duration {
        self.startup
    }

    /// The group's current state as this node sees it.
    pub fn metrics(&self) -> GroupMetrics {
        let m = self.raft.metrics().borrow().clone();
        let role = match m.state {
            ServerState::Leader => Role::Leader,
            ServerState::Candidate => Role::Candidate,
            ServerState::Follower => Role::Follower,
            ServerState::Learner => Role::Learner,
            ServerState::Shutdown => Role::Shutdown,
        };
        GroupMetrics {
            node_id: self.node_id,
            role,
            current_leader: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index,
            last_applied_index: m.last_applied.map(|id| id.index),
            snapshot_index: m.snapshot.map(|id| id.index),
            purged_index: m.purged.map(|id| id.index),
            log_flushes: self.flusher.as_ref().map_or(0, Flusher::flush_count),
            voters: m.membership_config.membership().voter_ids().collect(),
            replication: m
                .replication
                .iter()
                .flat_map(|r| r.iter())
                .map(|(id, matched)| (*id, matched.map(|l| l.index)))
                .collect(),
        }
    }

    /// Asks the group to build a snapshot now (it is built in the background).
    pub async fn trigger_snapshot(&self) -> Result<(), RaftError> {
        self.raft.trigger().snapshot().await.map_err(from_fatal)
    }

    /// Stops Raft, then the log flusher (after it completes pending flushes). Afterwards every
    /// call fails with `Unavailable`.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::error!(error = %e, "raft shutdown failed");
        }
        if let Some(flusher) = self.flusher.clone() {
            if let Err(e) = tokio::task::spawn_blocking(move || flusher.stop_and_join()).await {
                tracing::error!(error = %e, "log flusher shutdown failed");
            }
        }
    }
}
