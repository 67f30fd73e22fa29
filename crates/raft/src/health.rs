//! The truth about a group, for health checks and for the process supervisor: is the Raft
//! core running, is there a leader, could the log be flushed lately.

use openraft::ServerState;

use crate::group::{RegionGroup, Role};

/// A region group's health, as this node sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupHealth {
    /// The Raft core is running (it stops for good on a storage error or a panic).
    pub raft_running: bool,
    /// Why the core stopped, if it did.
    pub failure: Option<String>,
    /// This node's role.
    pub role: Role,
    /// The leader this node knows of.
    pub leader: Option<u64>,
    /// The latest log flush succeeded (always true in memory).
    pub storage_writable: bool,
    /// Bytes of entries in the Raft log (those appended since this process started).
    pub log_bytes: u64,
}

impl GroupHealth {
    /// Healthy: running, a leader known, storage writable.
    pub fn is_healthy(&self) -> bool {
        self.raft_running && self.leader.is_some() && self.storage_writable
    }
}

impl RegionGroup {
    /// The group's health now.
    pub fn health(&self) -> GroupHealth {
        let metrics = self.raft().metrics();
        let m = metrics.borrow();
        let failure = m.running_state.as_ref().err().map(ToString::to_string);
        let role = match m.state {
            ServerState::Leader => Role::Leader,
            ServerState::Candidate => Role::Candidate,
            ServerState::Follower => Role::Follower,
            ServerState::Learner => Role::Learner,
            ServerState::Shutdown => Role::Shutdown,
        };
        GroupHealth {
            raft_running: failure.is_none() && role != Role::Shutdown,
            failure,
            role,
            leader: m.current_leader,
            storage_writable: self.flusher().is_none_or(|f| f.last_flush_ok()),
            log_bytes: self.log_bytes.log_bytes(),
        }
    }

    /// Completes when the Raft core has stopped (a fatal storage error, a panic, or a
    /// shutdown), with the reason. A node whose core stopped can only answer 503s: the binary
    /// exits on this so that a supervisor restarts it.
    pub async fn stopped(&self) -> String {
        let mut metrics = self.raft().metrics();
        loop {
            {
                let m = metrics.borrow_and_update();
                if let Err(fatal) = &m.running_state {
                    return fatal.to_string();
                }
                if m.state == ServerState::Shutdown {
                    return "the raft core shut down".into();
                }
            }
            if metrics.changed().await.is_err() {
                return "the raft core ended".into();
            }
        }
    }
}
