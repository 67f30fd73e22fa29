//! Operator actions over the peer protocol: membership changes (add a node as a learner, then
//! promote it to voter; remove a node) and status. A member that is not the leader forwards a
//! membership change to the leader. The client functions here are what `meridian status` and
//! `meridian member` use.

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::ChangeMembers;
use serde::{Deserialize, Serialize};

use crate::error::{from_write_error, RaftError};
use crate::group::RegionGroup;
use crate::network::{CallError, PeerClient};
use crate::types::PeerNode;
use crate::wire::paths;

/// Longest a membership change may take: adding a node waits until it has caught up (a
/// snapshot plus the log), then for two joint-consensus commits.
pub const MEMBERSHIP_TIMEOUT_MS: u64 = 120_000;
/// Longest a status request may take.
const STATUS_TIMEOUT_MS: u64 = 3_000;

/// A membership change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Add `id` as a learner, wait until it has caught up, then make it a voter.
    Add {
        /// The new member's id (unused so far in this group).
        id: u64,
        /// Its listeners.
        node: PeerNode,
    },
    /// Remove `id` from the voters and from the membership.
    Remove {
        /// The member to remove.
        id: u64,
    },
}

impl RegionGroup {
    /// Applies `change` on the leader (forwarded there from any other member). Returns the
    /// voters afterwards.
    pub async fn change_membership(&self, change: MembershipChange) -> Result<Vec<u64>, RaftError> {
        match self.current_leader() {
            Some(leader) if leader == self.node_id() => self.change_membership_local(change).await,
            Some(leader) => {
                let addr = self.peer_addr_of(leader).ok_or_else(|| {
                    RaftError::Unavailable(format!("leader {leader} has no address"))
                })?;
                self.peers
                    .call::<_, Result<Vec<u64>, RaftError>>(
                        &addr,
                        paths::MEMBERSHIP,
                        &change,
                        Duration::from_millis(MEMBERSHIP_TIMEOUT_MS),
                    )
                    .await
                    .map_err(|e| RaftError::Unavailable(e.to_string()))?
            }
            None => Err(RaftError::NotLeader { leader: None }),
        }
    }

    pub(crate) async fn change_membership_local(
        &self,
        change: MembershipChange,
    ) -> Result<Vec<u64>, RaftError> {
        let raft = self.raft();
        let work = async {
            match change {
                MembershipChange::Add { id, node } => {
                    // Blocking: returns once the learner has caught up with the leader.
                    raft.add_learner(id, node, true)
                        .await
                        .map_err(from_write_error)?;
                    raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
                        .await
                        .map_err(from_write_error)?;
                }
                MembershipChange::Remove { id } => {
                    raft.change_membership(
                        ChangeMembers::RemoveVoters(BTreeSet::from([id])),
                        false,
                    )
                    .await
                    .map_err(from_write_error)?;
                }
            }
            Ok::<_, RaftError>(())
        };
        match tokio::time::timeout(Duration::from_millis(MEMBERSHIP_TIMEOUT_MS), work).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(RaftError::Unavailable(format!(
                    "membership change not done within {MEMBERSHIP_TIMEOUT_MS} ms; \
                     check `meridian status` (a joint configuration may need finishing)"
                )))
            }
        }
        Ok(self.metrics().voters)
    }
}

/// A connection failure, for the CLI's report.
fn call_error(e: CallError) -> RaftError {
    RaftError::Unavailable(e.to_string())
}

/// The status page (`key=value` lines) of the member whose peer listener is `peer_addr`.
pub async fn fetch_status(peer_addr: &str, secret: &str) -> Result<String, RaftError> {
    PeerClient::new(secret)
        .call::<_, String>(
            peer_addr,
            paths::STATUS,
            &(),
            Duration::from_millis(STATUS_TIMEOUT_MS),
        )
        .await
        .map_err(call_error)
}

/// Asks the member at `peer_addr` to apply `change` (it forwards to the leader). Returns the
/// voters afterwards.
pub async fn request_membership_change(
    peer_addr: &str,
    secret: &str,
    change: &MembershipChange,
) -> Result<Vec<u64>, RaftError> {
    PeerClient::new(secret)
        .call::<_, Result<Vec<u64>, RaftError>>(
            peer_addr,
            paths::MEMBERSHIP,
            change,
            Duration::from_millis(MEMBERSHIP_TIMEOUT_MS + 5_000),
        )
        .await
        .map_err(call_error)?
}
