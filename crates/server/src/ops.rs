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

/// Prints, per region, one line per member (role, leader, term, last log index, applied
/// index, and how far its applied index is behind the leader's last log index), then the
/// leader's cross-region replication figures and the active chaos faults. With a config file:
/// that node's region; without: every region of the `meridian dev` lab.
pub async fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let (regions, secret) = match &args.config {
        Some(config) => {
            let cluster = cluster_of(config)?;
            let members: Vec<(u64, String)> = cluster
                .members
                .iter()
                .map(|(id, (_api, peer))| (*id, peer.to_string()))
                .collect();
            (vec![(String::new(), members)], cluster.secret)
        }
        None => {
            let lab = crate::chaos_cli::lab_for_status(args.lab_of)?;
            let regions = lab
                .regions
                .into_iter()
                .map(|r| {
                    let members = r
                        .nodes
                        .into_iter()
                        .map(|(id, _, peer)| (id, peer))
                        .collect();
                    (r.name, members)
                })
                .collect();
            (regions, lab.secret)
        }
    };
    let mut chaos_lines: Vec<String> = Vec::new();
    for (name, members) in regions {
        if !name.is_empty() {
            println!("region {name}");
        }
        let lines = region_status(&members, &secret).await;
        for line in lines {
            if line.starts_with("chaos ") {
                // In `meridian dev` every node shares one chaos state: show each fault once.
                let id = line.split_whitespace().nth(1).map(str::to_owned);
                if !chaos_lines
                    .iter()
                    .any(|l: &String| l.split_whitespace().nth(1).map(str::to_owned) == id)
                {
                    chaos_lines.push(line);
                }
            } else {
                println!("{line}");
            }
        }
        println!();
    }
    if chaos_lines.is_empty() {
        println!("chaos: no active faults");
    } else {
        println!("chaos faults (meridian chaos list / clear):");
        for line in chaos_lines {
            println!("  {line}");
        }
    }
    Ok(())
}

/// The status lines of one region's members, then its leader's replication figures; chaos
/// lines are returned as they come (`chaos ...`), for the caller to merge.
async fn region_status(members: &[(u64, String)], secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rows = Vec::new();
    let mut replication = Vec::new();
    let mut chaos = Vec::new();
    for (id, peer) in members {
        let answer = raft::fetch_status(peer, secret).await;
        if let Ok(text) = &answer {
            // The leader ships: its replication lines are the ones that count.
            if parse_status(text).get("role").map(String::as_str) == Some("Leader") {
                replication = text
                    .lines()
                    .filter(|l| {
                        l.starts_with("replication ")
                            || l.starts_with("anti_entropy ")
                            || l.starts_with("tombstones ")
                    })
                    .map(str::to_owned)
                    .collect();
            }
            for line in text.lines().filter(|l| l.starts_with("chaos ")) {
                if !chaos.iter().any(|c: &String| c == line) {
                    chaos.push(line.to_owned());
                }
            }
        }
        rows.push((*id, peer.clone(), answer.map(|t| parse_status(&t))));
    }
    let leader_last: Option<u64> = rows.iter().find_map(|(_, _, r)| {
        let s = r.as_ref().ok()?;
        (s.get("role")?.as_str() == "Leader")
            .then(|| s.get("last_log_index")?.parse().ok())
            .flatten()
    });
    out.push(format!(
        "{:<4} {:<20} {:<10} {:<7} {:<6} {:<9} {:<8} {:<5} voters",
        "id", "peer", "role", "leader", "term", "last_log", "applied", "lag"
    ));
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
                out.push(format!(
                    "{:<4} {:<20} {:<10} {:<7} {:<6} {:<9} {:<8} {:<5} {}",
                    id,
                    peer,
                    get("role"),
                    get("leader"),
                    get("term"),
                    get("last_log_index"),
                    get("applied_index"),
                    lag,
                    get("voters")
                ));
            }
            Err(e) => out.push(format!("{id:<4} {peer:<20} unreachable: {e}")),
        }
    }
    if !replication.is_empty() {
        out.push(String::new());
        out.push(
            "cross-region replication (from the leader; latency as measured on arrival):".into(),
        );
        for line in replication {
            out.push(format!("  {line}"));
        }
    }
    out.extend(chaos);
    out
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
