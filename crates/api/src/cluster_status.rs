//! What the web console shows about the deployment: regions, their nodes and Raft roles, the
//! cross-region replication figures per region pair, tombstones held and the active chaos
//! faults. The server crate fills it ([`crate::Region::cluster_status`]); the API listener
//! answers it as JSON on [`STATUS_PATH`].

use serde::{Deserialize, Serialize};

/// The console's status endpoint on the API listener.
pub const STATUS_PATH: &str = "/_meridian/status";

/// The deployment as the serving process sees it: in `meridian dev` every region of the lab,
/// on a separate-process node its own region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The region this listener serves by default (unsigned requests go there).
    pub serving_region: String,
    /// When the figures were read, Unix ms (the serving node's clock).
    pub now_ms: i64,
    /// Every region this process knows the nodes of.
    pub regions: Vec<RegionStatus>,
    /// Cross-region replication, one entry per (source, destination) pair seen.
    pub pairs: Vec<PairStatus>,
    /// Tombstones of global tables kept until every replica region is past them.
    pub tombstones: Vec<TombstonesHeld>,
    /// The active chaos faults of this process.
    pub faults: Vec<chaos::FaultView>,
}

/// One region and its Raft group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionStatus {
    pub name: String,
    /// The leader the region's nodes report (the highest term's).
    pub leader: Option<u64>,
    /// The highest Raft term any of its nodes reports.
    pub term: Option<u64>,
    pub nodes: Vec<NodeStatus>,
}

/// One node of a region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub id: u64,
    pub role: NodeRole,
    /// The Raft term it is in (None when it could not be asked).
    pub term: Option<u64>,
    /// The leader it knows of.
    pub leader: Option<u64>,
    /// Its DynamoDB API address.
    pub api_addr: Option<String>,
    pub last_log_index: Option<u64>,
    pub applied_index: Option<u64>,
}

/// A node's Raft role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    Leader,
    Follower,
    Candidate,
    Learner,
    /// Its Raft core has shut down, or (in `meridian dev`) the lab stopped it.
    Stopped,
    /// It did not answer.
    #[default]
    Unknown,
}

/// Replication from one region to another.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairStatus {
    pub source: String,
    pub destination: String,
    /// How long the oldest change not yet confirmed by the destination has waited (sender
    /// side, from the source's leader; 0 when caught up).
    pub lag_ms: u64,
    /// Change-log records not yet confirmed by the destination (sender side).
    pub pending: u64,
    /// Remote changes that lost to a newer version at the destination (receiver side).
    pub conflicts: u64,
    /// Changes sent so far (sender side).
    pub sent: u64,
    /// Remote changes applied at the destination (receiver side).
    pub applied: u64,
}

/// Tombstones one region holds for one global table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TombstonesHeld {
    pub region: String,
    pub table: String,
    pub held: u64,
}

impl ClusterStatus {
    /// What a region that reports nothing more shows: itself, as one node, from its health.
    pub fn from_health(region: &str, health: &crate::Health, now_ms: i64) -> ClusterStatus {
        let role = match health.role.as_str() {
            _ if !health.raft_running => NodeRole::Stopped,
            "Leader" => NodeRole::Leader,
            "Follower" => NodeRole::Follower,
            "Candidate" => NodeRole::Candidate,
            "Learner" => NodeRole::Learner,
            _ => NodeRole::Unknown,
        };
        let id = health
            .leader
            .filter(|_| role == NodeRole::Leader)
            .unwrap_or(0);
        ClusterStatus {
            serving_region: region.to_owned(),
            now_ms,
            regions: vec![RegionStatus {
                name: region.to_owned(),
                leader: health.leader,
                term: None,
                nodes: vec![NodeStatus {
                    id,
                    role,
                    leader: health.leader,
                    ..NodeStatus::default()
                }],
            }],
            ..ClusterStatus::default()
        }
    }
}
