//! What the web console asks a node (`api::Region::cluster_status` and `chaos_topology`): the
//! deployment as this process sees it. A node of `meridian dev` answers for the whole lab,
//! from the [`LabDirectory`] every node of the process shares; a separate-process node answers
//! for its own region, asking its region's other members over their peer listeners.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use api::{ClusterStatus, NodeRole, NodeStatus, PairStatus, RegionStatus, TombstonesHeld};

use crate::config::NodeConfig;

/// One node's replication figures, per (source, destination) region pair.
type PairFigures = BTreeMap<(String, String), replication::PairFigures>;

/// How long the console's status waits for another member's status page.
pub const MEMBER_STATUS_TIMEOUT_MS: u64 = 1_000;

/// A running node's parts the console reads.
#[derive(Debug, Clone)]
pub struct RunningNode {
    pub group: raft::RegionGroup,
    pub replicator: Option<replication::Replicator>,
}

/// One node of the lab, running or stopped.
#[derive(Debug, Clone)]
pub struct LabMember {
    pub region: String,
    pub node_id: u64,
    pub api_addr: SocketAddr,
    pub store: storage::Store,
    /// `None`: the lab stopped it (`/admin/lab/kill`).
    pub running: Option<RunningNode>,
}

/// Every node of a `meridian dev` process, in region order; the lab republishes it whenever
/// it starts or stops a node.
#[derive(Debug, Default)]
pub struct LabDirectory {
    members: Mutex<Vec<LabMember>>,
}

impl LabDirectory {
    /// An empty directory.
    pub fn new() -> Arc<LabDirectory> {
        Arc::new(LabDirectory::default())
    }

    /// Replaces the members.
    pub fn publish(&self, members: Vec<LabMember>) {
        *self.members.lock().unwrap_or_else(|p| p.into_inner()) = members;
    }

    fn members(&self) -> Vec<LabMember> {
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What one node knows for the console: its region's members and the other regions, and,
/// in `meridian dev`, the lab.
#[derive(Debug)]
pub struct ConsoleScope {
    region: String,
    node_id: u64,
    /// Every member of the region (this node included): id → (API address, peer address).
    members: BTreeMap<u64, (SocketAddr, Option<SocketAddr>)>,
    secret: Option<String>,
    remotes: Vec<String>,
    lab: OnceLock<Arc<LabDirectory>>,
}

impl ConsoleScope {
    /// The scope of a node started with `config`.
    pub fn new(config: &NodeConfig) -> ConsoleScope {
        let members = match &config.cluster {
            Some(cluster) => cluster
                .members
                .iter()
                .map(|(id, (api, peer))| (*id, (*api, Some(*peer))))
                .collect(),
            None => BTreeMap::from([(config.node_id, (config.api_addr, None))]),
        };
        ConsoleScope {
            region: config.region.clone(),
            node_id: config.node_id,
            members,
            secret: config.cluster.as_ref().map(|c| c.secret.clone()),
            remotes: config
                .replication
                .as_ref()
                .map(|r| r.remotes.keys().cloned().collect())
                .unwrap_or_default(),
            lab: OnceLock::new(),
        }
    }

    /// Makes this node answer for the whole lab.
    pub fn join_lab(&self, lab: &Arc<LabDirectory>) {
        let _ = self.lab.set(Arc::clone(lab));
    }

    /// What chaos faults added through this node's console may name.
    pub fn topology(&self, store: &storage::Store) -> chaos::Topology {
        match self.lab.get() {
            Some(lab) => lab_topology(&lab.members()),
            None => crate::chaos_admin::node_topology(
                &self.region,
                self.members.keys().copied(),
                self.remotes.iter().cloned(),
                store,
            ),
        }
    }

    /// The deployment's status as this node sees it.
    pub async fn status(
        &self,
        me: &RunningNode,
        chaos: &chaos::Chaos,
        now_ms: i64,
    ) -> ClusterStatus {
        let mut status = match self.lab.get() {
            Some(lab) => lab_status(&lab.members()),
            None => self.node_status(me).await,
        };
        status.serving_region = self.region.clone();
        status.now_ms = now_ms;
        status.faults = chaos.list();
        status
    }

    /// This node's region (the other members asked over their peer listeners) and the
    /// replication figures this node holds.
    async fn node_status(&self, me: &RunningNode) -> ClusterStatus {
        let mut asks = tokio::task::JoinSet::new();
        for (id, (_, peer)) in &self.members {
            let (Some(peer), Some(secret)) = (peer, &self.secret) else {
                continue;
            };
            if *id == self.node_id {
                continue;
            }
            let (id, peer, secret) = (*id, peer.to_string(), secret.clone());
            asks.spawn(async move {
                let answer = tokio::time::timeout(
                    Duration::from_millis(MEMBER_STATUS_TIMEOUT_MS),
                    raft::fetch_status(&peer, &secret),
                )
                .await;
                (id, answer.ok().and_then(Result::ok))
            });
        }
        let mut answers: BTreeMap<u64, Option<String>> = BTreeMap::new();
        while let Some(joined) = asks.join_next().await {
            if let Ok((id, text)) = joined {
                answers.insert(id, text);
            }
        }
        let mut nodes = Vec::new();
        for (id, (api, _)) in &self.members {
            let api_addr = (api.port() != 0).then(|| api.to_string());
            let mut node = if *id == self.node_id {
                node_from_metrics(&me.group.metrics())
            } else {
                match answers.get(id).and_then(Option::as_ref) {
                    Some(text) => node_from_status_text(*id, text),
                    None => NodeStatus {
                        id: *id,
                        ..NodeStatus::default()
                    },
                }
            };
            node.api_addr = api_addr;
            nodes.push(node);
        }
        let mut pairs = Vec::new();
        if let Some(replicator) = &me.replicator {
            for ((source, destination), f) in replicator.figures() {
                pairs.push(PairStatus {
                    source,
                    destination,
                    lag_ms: f.lag_ms,
                    pending: f.pending,
                    conflicts: f.conflicts,
                    sent: f.changes_sent,
                    applied: f.applied,
                });
            }
        }
        let tombstones = me
            .replicator
            .as_ref()
            .map(|r| tombstones(&self.region, r))
            .unwrap_or_default();
        ClusterStatus {
            regions: vec![region_status(self.region.clone(), nodes)],
            pairs,
            tombstones,
            ..ClusterStatus::default()
        }
    }
}

/// Every region of the lab, every node, and the replication figures per region pair: the
/// sender's side (lag, pending, sent) from the source region's leader, the receiver's side
/// (conflicts, applied) summed over the destination region's nodes.
fn lab_status(members: &[LabMember]) -> ClusterStatus {
    let mut order: Vec<String> = Vec::new();
    let mut nodes: BTreeMap<String, Vec<NodeStatus>> = BTreeMap::new();
    let mut leaders: BTreeMap<String, &RunningNode> = BTreeMap::new();
    let mut figures: Vec<(String, PairFigures)> = Vec::new();
    let mut replicated = false;
    for member in members {
        if !order.contains(&member.region) {
            order.push(member.region.clone());
        }
        let mut node = match &member.running {
            Some(running) => {
                let metrics = running.group.metrics();
                if metrics.role == raft::Role::Leader {
                    leaders.insert(member.region.clone(), running);
                }
                if let Some(replicator) = &running.replicator {
                    replicated = true;
                    figures.push((member.region.clone(), replicator.figures()));
                }
                node_from_metrics(&metrics)
            }
            None => NodeStatus {
                id: member.node_id,
                role: NodeRole::Stopped,
                ..NodeStatus::default()
            },
        };
        node.api_addr = Some(member.api_addr.to_string());
        nodes.entry(member.region.clone()).or_default().push(node);
    }
    let mut pairs = Vec::new();
    if replicated {
        for source in &order {
            let sender = leaders
                .get(source)
                .and_then(|l| l.replicator.as_ref())
                .map(replication::Replicator::figures)
                .unwrap_or_default();
            for destination in order.iter().filter(|d| *d != source) {
                let key = (source.clone(), destination.clone());
                let sent = sender.get(&key).cloned().unwrap_or_default();
                let (conflicts, applied) = figures
                    .iter()
                    .filter(|(region, _)| region == destination)
                    .filter_map(|(_, f)| f.get(&key))
                    .fold((0, 0), |(c, a), f| (c + f.conflicts, a + f.applied));
                pairs.push(PairStatus {
                    source: source.clone(),
                    destination: destination.clone(),
                    lag_ms: sent.lag_ms,
                    pending: sent.pending,
                    conflicts,
                    sent: sent.changes_sent,
                    applied,
                });
            }
        }
    }
    let tombstones = order
        .iter()
        .filter_map(|region| {
            let replicator = leaders.get(region)?.replicator.as_ref()?;
            Some(tombstones(region, replicator))
        })
        .flatten()
        .collect();
    ClusterStatus {
        regions: order
            .into_iter()
            .map(|name| {
                let nodes = nodes.remove(&name).unwrap_or_default();
                region_status(name, nodes)
            })
            .collect(),
        pairs,
        tombstones,
        ..ClusterStatus::default()
    }
}

/// The lab's regions with their nodes, and the tables of every node.
fn lab_topology(members: &[LabMember]) -> chaos::Topology {
    let mut regions: BTreeMap<String, Option<BTreeSet<u64>>> = BTreeMap::new();
    let mut tables = BTreeSet::new();
    for member in members {
        regions
            .entry(member.region.clone())
            .or_insert_with(|| Some(BTreeSet::new()))
            .get_or_insert_with(BTreeSet::new)
            .insert(member.node_id);
        tables.extend(crate::chaos_admin::table_names(&member.store));
    }
    chaos::Topology {
        regions,
        tables,
        operations: crate::chaos_admin::operation_names(),
    }
}

/// A region's leader and term: the leader reported in the highest term.
fn region_status(name: String, nodes: Vec<NodeStatus>) -> RegionStatus {
    let newest = nodes
        .iter()
        .filter(|n| n.term.is_some())
        .max_by_key(|n| (n.term, n.leader.is_some()));
    RegionStatus {
        name,
        leader: newest.and_then(|n| n.leader),
        term: newest.and_then(|n| n.term),
        nodes,
    }
}

fn tombstones(region: &str, replicator: &replication::Replicator) -> Vec<TombstonesHeld> {
    replicator
        .tombstones_held()
        .into_iter()
        .map(|(table, held)| TombstonesHeld {
            region: region.to_owned(),
            table,
            held: held as u64,
        })
        .collect()
}

fn node_role(role: raft::Role) -> NodeRole {
    match role {
        raft::Role::Leader => NodeRole::Leader,
        raft::Role::Follower => NodeRole::Follower,
        raft::Role::Candidate => NodeRole::Candidate,
        raft::Role::Learner => NodeRole::Learner,
        raft::Role::Shutdown => NodeRole::Stopped,
    }
}

fn node_from_metrics(metrics: &raft::GroupMetrics) -> NodeStatus {
    NodeStatus {
        id: metrics.node_id,
        role: node_role(metrics.role),
        term: Some(metrics.term),
        leader: metrics.current_leader,
        api_addr: None,
        last_log_index: metrics.last_log_index,
        applied_index: metrics.last_applied_index,
    }
}

/// A member's status page (`key=value` lines, see `raft::GroupMetrics`'s `Display`).
fn node_from_status_text(id: u64, text: &str) -> NodeStatus {
    let values: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let number = |key: &str| values.get(key).and_then(|v| v.parse::<u64>().ok());
    let role = match values.get("role").copied() {
        Some("Leader") => NodeRole::Leader,
        Some("Follower") => NodeRole::Follower,
        Some("Candidate") => NodeRole::Candidate,
        Some("Learner") => NodeRole::Learner,
        Some("Shutdown") => NodeRole::Stopped,
        _ => NodeRole::Unknown,
    };
    NodeStatus {
        id,
        role,
        term: number("term"),
        leader: number("leader"),
        api_addr: None,
        last_log_index: number("last_log_index"),
        applied_index: number("applied_index"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_status_text_parses() {
        let text = "node_id=2\nrole=Follower\nleader=1\nterm=7\nlast_log_index=42\n\
                    applied_index=41\nsnapshot_index=none\nvoters=1,2,3\n";
        let node = node_from_status_text(2, text);
        assert_eq!(node.role, NodeRole::Follower);
        assert_eq!(node.leader, Some(1));
        assert_eq!(node.term, Some(7));
        assert_eq!(node.last_log_index, Some(42));
        assert_eq!(node.applied_index, Some(41));
        let node = node_from_status_text(3, "garbage");
        assert_eq!(node.role, NodeRole::Unknown);
        assert_eq!(node.term, None);
    }

    #[test]
    fn t10_region_leader_is_the_newest_terms() {
        let node = |id, term, leader| NodeStatus {
            id,
            term: Some(term),
            leader,
            ..NodeStatus::default()
        };
        let region = region_status(
            "r".into(),
            vec![node(1, 3, Some(1)), node(2, 4, Some(2)), node(3, 4, None)],
        );
        assert_eq!(region.leader, Some(2));
        assert_eq!(region.term, Some(4));
    }
}
