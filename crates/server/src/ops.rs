//! Operator subcommands that talk to a running region over its peer listeners:
//! `meridian status` and `meridian member add|remove`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;

use crate::cli::{MemberCommand, ServeArgs, StatusArgs};
use crate::config::{ClusterConfig, NodeConfig};

fn cluster_of(config: &Path) -> anyhow::Result<ClusterConfig> {
    let args = ServeArgs {
        config: Some(config.to_owned()),
        ..ServeArgs::default()
    };
    NodeConfig::resolve(&args)?
        .cluster
        .with_context(|| format!("{} has no [cluster] section", config.display()))
}

fn parse_status(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Prints one line per member of the config's cluster (and any other voter the members
/// report): role, leader, term, last log index, applied index, and how far its applied index
/// is behind the leader's last log index.
pub async fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let cluster = cluster_of(&args.config)?;
    let mut rows = Vec::new();
    let mut replication = Vec::new();
    for (id, (_api, peer)) in &cluster.members {
        let answer = raft::fetch_status(&peer.to_string(), &cluster.secret).await;
        if let Ok(text) = &answer {
            // The leader ships: its replication lines are the ones that count.
            if parse_status(text).get("role").map(String::as_str) == Some("Leader") {
                replication = text
                    .lines()
                    .filter(|l| l.starts_with("replication ") || l.starts_with("anti_entropy "))
                    .map(str::to_owned)
                    .collect();
            }
        }
        rows.push((*id, *peer, answer.map(|t| parse_status(&t))));
    }
    let leader_last: Option<u64> = rows.iter().find_map(|(_, _, r)| {
        let s = r.as_ref().ok()?;
        (s.get("role")?.as_str() == "Leader")
            .then(|| s.get("last_log_index")?.parse().ok())
            .flatten()
    });
    println!(
        "{:<4} {:<20} {:<10} {:<7} {:<6} {:<9} {:<8} {:<5} voters",
        "id", "peer", "role", "leader", "term", "last_log", "applied", "lag"
    );
    for (id, peer, row) in rows {
        match row {
            Ok(s) => {
                let get = |k: &str| s.get(k).cloned().unwrap_or_else(|| "-".into());
                let lag = match (
                    leader_last,
                    s.get("applied_index").and_then(|v| v.parse::<u64>().ok()),
                ) {
                    (Some(l), Some(a)) => l.saturating_sub(a).to_string(),
                    _ => "-".into(),
                };
                println!(
                    "{:<4} {:<20} {:<10} {:<7} {:<6} {:<9} {:<8} {:<5} {}",
                    id,
                    peer.to_string(),
                    get("role"),
                    get("leader"),
                    get("term"),
                    get("last_log_index"),
                    get("applied_index"),
                    lag,
                    get("voters")
                );
            }
            Err(e) => println!("{id:<4} {:<20} unreachable: {e}", peer.to_string()),
        }
    }
    if !replication.is_empty() {
        println!("\ncross-region replication (from the leader; latency as measured on arrival):");
        for line in replication {
            println!("  {line}");
        }
    }
    Ok(())
}

/// Sends a membership change to the first member that answers (it forwards to the leader).
pub async fn member(command: &MemberCommand) -> anyhow::Result<()> {
    let (config, change) = match command {
        MemberCommand::Add(a) => (
            &a.config,
            raft::MembershipChange::Add {
                id: a.id,
                node: raft::PeerNode {
                    api_addr: a.api_addr.to_string(),
                    peer_addr: a.peer_addr.to_string(),
                },
            },
        ),
        MemberCommand::Remove(r) => (&r.config, raft::MembershipChange::Remove { id: r.id }),
    };
    let cluster = cluster_of(config)?;
    let mut last_error = None;
    for (_api, peer) in cluster.members.values() {
        match raft::request_membership_change(&peer.to_string(), &cluster.secret, &change).await {
            Ok(voters) => {
                let voters: Vec<String> = voters.iter().map(u64::to_string).collect();
                println!("done; voters now {}", voters.join(","));
                return Ok(());
            }
            Err(e @ raft::RaftError::Unavailable(_)) if e.to_string().contains("unreachable") => {
                last_error = Some(e);
            }
            Err(e) => return Err(e).context("membership change failed"),
        }
    }
    match last_error {
        Some(e) => Err(e).context("no member answered"),
        None => anyhow::bail!("the config lists no members"),
    }
}
