//! Pre-vote: a node campaigns only after a majority agrees that the leader is gone.
//!
//! openraft 0.9 has no pre-vote: a follower whose election timer fires raises its term even
//! when it cannot reach anyone, and when it comes back (a healed partition, a resumed
//! SIGSTOP) its higher term deposes the healthy leader, stopping every write for a second or
//! more. It also waits twice the longest election timeout after losing to a longer log.
//!
//! So a multi-node group turns openraft's own election timer off (`RuntimeConfig::elect`) and
//! this module decides when to campaign:
//!
//! - every peer records when it last accepted AppendEntries from a leader
//!   ([`LeaderContact`], touched by the peer listener);
//! - a voter that has heard nothing for the leader lease (openraft's: the longest election
//!   timeout) plus a random delay asks every other voter `/raft/pre-vote`: "would you vote for
//!   me?". A peer says yes only if it is not the leader, has itself heard nothing from a leader
//!   for the lease (so its real vote will not be refused either), and the candidate's log is
//!   at least as long as its own;
//! - with a majority of yes (itself included) it triggers a real election
//!   (`Trigger::elect`); otherwise its term stays as it is. A failed attempt waits a new random
//!   delay before the next.
//!
//! Nothing here decides safety: the real vote still checks terms and logs. It only keeps
//! nodes that cannot win from disturbing those that can.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::ServerState;
use serde::{Deserialize, Serialize};

use crate::group::RegionGroup;
use crate::wire::paths;

/// How often the guard looks at the group's state.
const GUARD_TICK_MS: u64 = 10;
/// Waited beyond the leader lease before campaigning: heartbeats reach the peers at slightly
/// different times, and a peer whose lease has not quite run out refuses the real vote.
const LEASE_MARGIN_MS: u64 = 150;

/// When this node last accepted AppendEntries from a leader (ms since `epoch`; 0: never).
#[derive(Debug)]
pub(crate) struct LeaderContact {
    epoch: Instant,
    last_ms: AtomicU64,
    /// When this node last granted a pre-vote (ms since `epoch`; 0: never): it then leaves
    /// the campaign to that candidate for a while, so two nodes rarely split the vote.
    granted_ms: AtomicU64,
}

impl LeaderContact {
    pub(crate) fn new() -> LeaderContact {
        LeaderContact {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            granted_ms: AtomicU64::new(0),
        }
    }

    /// A leader's AppendEntries was accepted now.
    pub(crate) fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms.max(1), Ordering::Relaxed);
    }

    /// This node granted a pre-vote now.
    fn granted(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.granted_ms.fetch_max(ms.max(1), Ordering::Relaxed);
    }

    /// How long ago this node last granted a pre-vote (None: never).
    fn since_granted(&self) -> Option<Duration> {
        match self.granted_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms)),
            ),
        }
    }

    /// How long ago a leader was last heard (None: never since start).
    pub(crate) fn since(&self) -> Option<Duration> {
        match self.last_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms)),
            ),
        }
    }
}

/// "Would you vote for me?"
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PreVoteRequest {
    pub(crate) candidate: u64,
    /// The index of the candidate's last log entry.
    pub(crate) last_log_index: Option<u64>,
}

/// The answer to a [`PreVoteRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PreVoteResponse {
    pub(crate) granted: bool,
}

impl RegionGroup {
    /// Answers a peer's pre-vote.
    pub(crate) fn pre_vote_local(&self, request: &PreVoteRequest) -> PreVoteResponse {
        let m = self.raft().metrics().borrow().clone();
        let lease = Duration::from_millis(self.settings.election_timeout_max_ms);
        let leader_alive = m.state == ServerState::Leader
            || self
                .leader_contact
                .since()
                .is_some_and(|since| since < lease);
        let log_ok = request.last_log_index >= m.last_log_index;
        let granted = !leader_alive && log_ok;
        if granted {
            self.leader_contact.granted();
        }
        tracing::debug!(
            candidate = request.candidate,
            granted,
            leader_alive,
            log_ok,
            "pre-vote"
        );
        PreVoteResponse { granted }
    }

    /// Campaigns when a majority agrees the leader is gone (see the module docs). Runs until the
    /// group shuts down.
    pub(crate) async fn guard_elections(self) {
        let lease_ms = self.settings.election_timeout_max_ms + LEASE_MARGIN_MS;
        let spread_ms = self
            .settings
            .election_timeout_max_ms
            .saturating_sub(self.settings.election_timeout_min_ms)
            .max(1);
        let started = Instant::now();
        let mut wait = Duration::from_millis(lease_ms + fastrand::u64(0..=spread_ms));
        let mut last_attempt: Option<Instant> = None;
        let mut metrics = self.raft().metrics();
        loop {
            tokio::time::sleep(Duration::from_millis(GUARD_TICK_MS)).await;
            let m = metrics.borrow_and_update().clone();
            if m.state == ServerState::Shutdown {
                return;
            }
            let voter = m
                .membership_config
                .membership()
                .voter_ids()
                .any(|id| id == self.node_id());
            if m.state == ServerState::Leader || !voter {
                continue;
            }
            let silent = self
                .leader_contact
                .since()
                .unwrap_or_else(|| started.elapsed());
            let since_attempt = last_attempt.map_or(Duration::MAX, |t| t.elapsed());
            let backing_another = self
                .leader_contact
                .since_granted()
                .is_some_and(|since| since < Duration::from_millis(spread_ms));
            if silent < wait || since_attempt < wait || backing_another {
                continue;
            }
            last_attempt = Some(Instant::now());
            wait = Duration::from_millis(lease_ms + fastrand::u64(0..=spread_ms));
            let voters: Vec<u64> = m
                .membership_config
                .membership()
                .voter_ids()
                .filter(|id| *id != self.node_id())
                .collect();
            let request = PreVoteRequest {
                candidate: self.node_id(),
                last_log_index: m.last_log_index,
            };
            let granted = 1 + self.ask_pre_vote(&voters, &request).await;
            let total = voters.len() + 1;
            let majority = total / 2 + 1;
            if granted >= majority {
                tracing::info!(
                    node_id = self.node_id(),
                    granted,
                    silent_ms = silent.as_millis() as u64,
                    "pre-vote won; campaigning"
                );
                if self.raft().trigger().elect().await.is_err() {
                    return;
                }
            } else {
                tracing::debug!(granted, majority, "pre-vote lost; not campaigning");
            }
        }
    }

    /// How many of `voters` grant the pre-vote (unanswered ones count as no).
    async fn ask_pre_vote(&self, voters: &[u64], request: &PreVoteRequest) -> usize {
        let timeout = Duration::from_millis(self.settings.heartbeat_interval_ms * 3);
        let calls = voters.iter().filter_map(|&id| {
            let addr = self.peer_addr_of(id)?;
            let request = request.clone();
            let peers = self.peers.clone();
            Some(async move {
                peers
                    .call_member::<_, PreVoteResponse>(
                        id,
                        &addr,
                        paths::PRE_VOTE,
                        &request,
                        timeout,
                    )
                    .await
                    .is_ok_and(|r| r.granted)
            })
        });
        futures::future::join_all(calls)
            .await
            .into_iter()
            .filter(|granted| *granted)
            .count()
    }
}

/// Shared by the group and its peer listener.
pub(crate) type SharedContact = Arc<LeaderContact>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_contact_is_never_until_touched() {
        let contact = LeaderContact::new();
        assert_eq!(contact.since(), None);
        std::thread::sleep(Duration::from_millis(5));
        contact.touch();
        assert!(contact
            .since()
            .is_some_and(|d| d < Duration::from_millis(50)));
    }
}
