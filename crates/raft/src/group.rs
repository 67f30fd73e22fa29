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
use crate::network::NoPeersFactory;
use crate::proposer::{self, Proposal};
use crate::state_machine::{StateMachine, StateMachineLogic};
use crate::types::{PeerNode, TypeConfig};

/// How a region group runs. `Default` suits a single-node group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftSettings {
    /// Names the cluster in logs and (later) in peer RPCs.
    pub cluster_name: String,
    /// This node's addresses, recorded in the membership.
    pub node: PeerNode,
    /// The other voters of the initial membership (empty: a single-node group). Multi-node
    /// groups need the peer network, which is not built yet.
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
    /// How long `start` waits for this node to become leader.
    pub leader_wait_timeout_ms: u64,
    /// Upper bound on one `write` (commit + apply); past it the outcome is unknown.
    pub write_timeout_ms: u64,
    /// Upper bound on one `ensure_linearizable`.
    pub read_timeout_ms: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            cluster_name: "meridian".into(),
            node: PeerNode::default(),
            peers: BTreeMap::new(),
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            snapshot_logs_since_last: 5000,
            max_in_snapshot_log_to_keep: 1000,
            leader_wait_timeout_ms: 10_000,
            write_timeout_ms: 10_000,
            read_timeout_ms: 5_000,
        }
    }
}

impl RaftSettings {
    fn openraft_config(&self) -> Result<Config, RaftError> {
        let config = Config {
            cluster_name: self.cluster_name.clone(),
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            heartbeat_interval: self.heartbeat_interval_ms,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_logs_since_last),
            max_in_snapshot_log_to_keep: self.max_in_snapshot_log_to_keep,
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
}

/// One region's Raft group, running on this node.
#[derive(Clone)]
pub struct RegionGroup {
    node_id: u64,
    raft: Raft<TypeConfig>,
    proposals: tokio::sync::mpsc::Sender<Proposal>,
    flusher: Option<Flusher>,
    settings: Arc<RaftSettings>,
    startup: Duration,
}

impl fmt::Debug for RegionGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegionGroup")
            .field("node_id", &self.node_id)
            .field("startup", &self.startup)
            .finish_non_exhaustive()
    }
}

impl RegionGroup {
    /// Starts the group on `store`. A single-member group is initialized on its first start;
    /// returns once this node is leader (a single node elects itself at once, on first start
    /// and on restart).
    pub async fn start(
        node_id: u64,
        store: Store,
        logic: Arc<dyn StateMachineLogic>,
        settings: RaftSettings,
    ) -> Result<RegionGroup, RaftError> {
        let started = Instant::now();
        if !settings.peers.is_empty() {
            return Err(RaftError::Config(
                "multi-node region groups need the peer network, which is not built yet".into(),
            ));
        }
        let config = Arc::new(settings.openraft_config()?);
        let flusher = if store.is_in_memory() {
            None
        } else {
            Some(Flusher::start(store.clone()).map_err(|e| RaftError::Fatal(e.to_string()))?)
        };
        let log_store = LogStore::new(store.clone(), flusher.clone());
        let state_machine =
            StateMachine::open(store, logic).map_err(|e| RaftError::Fatal(e.to_string()))?;
        let raft = Raft::new(node_id, config, NoPeersFactory, log_store, state_machine)
            .await
            .map_err(from_fatal)?;
        let group = RegionGroup {
            node_id,
            proposals: proposer::spawn(raft.clone()),
            raft,
            flusher,
            settings: Arc::new(settings),
            startup: Duration::ZERO,
        };
        group.initialize_if_new().await?;
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

    /// Proposes `payload`; returns the state machine's response once it is committed (durable
    /// on a majority) and applied on this node. Concurrent writes are batched into one log
    /// entry, so they share one flush.
    pub async fn write(&self, payload: Vec<u8>) -> Result<Vec<u8>, RaftError> {
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

    /// Returns once a read of the local state reflects every write committed before this call
    /// (leader confirmed by a quorum, state machine caught up): then read `Store` directly.
    pub async fn ensure_linearizable(&self) -> Result<(), RaftError> {
        let timeout = Duration::from_millis(self.settings.read_timeout_ms);
        match tokio::time::timeout(timeout, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(from_read_error(e)),
            Err(_) => Err(RaftError::Unavailable(format!(
                "leadership not confirmed within {} ms",
                self.settings.read_timeout_ms
            ))),
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
