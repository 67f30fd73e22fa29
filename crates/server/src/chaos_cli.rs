//! `meridian chaos`: builds a fault from the command line and installs it on every node of a
//! deployment (from a node's config file) or on `meridian dev`'s lab.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};

use chaos::{AddFault, AdminAnswer, ClearFaults, Direction, Fault, FaultView, InjectedError};

use crate::chaos_admin::{call, CallError, LAB_CHAOS_PREFIX, LAB_NODES_PREFIX, PEER_CHAOS_PREFIX};
use crate::cli::{ChaosAction, ChaosArgs, ServeArgs};
use crate::config::NodeConfig;
use crate::lab::{lab_file_path, LabFile};

/// Where the command goes.
enum Target {
    /// Every node's peer listener, with the cluster secret.
    Nodes { peers: Vec<String>, secret: String },
    /// The lab listener of `meridian dev`.
    Lab { addr: String, secret: String },
}

fn target(args: &ChaosArgs) -> anyhow::Result<Target> {
    if let Some(config) = &args.config {
        let node = NodeConfig::resolve(&ServeArgs {
            config: Some(config.clone()),
            ..ServeArgs::default()
        })?;
        let cluster = node
            .cluster
            .with_context(|| format!("{} has no [cluster] section", config.display()))?;
        let mut peers: Vec<String> = cluster
            .members
            .values()
            .map(|(_, peer)| peer.to_string())
            .collect();
        if let Some(replication) = &node.replication {
            for remote in replication.remotes.values() {
                peers.extend(remote.iter().cloned());
            }
        }
        peers.dedup();
        return Ok(Target::Nodes {
            peers,
            secret: cluster.secret,
        });
    }
    let path = args
        .lab
        .clone()
        .unwrap_or_else(|| lab_file_path(args.lab_of));
    let lab = LabFile::load(&path)?;
    Ok(Target::Lab {
        addr: lab.lab_addr,
        secret: lab.secret,
    })
}

fn region_or_none(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// The fault an action describes (None: not a fault).
fn fault_of(action: &ChaosAction) -> anyhow::Result<Option<Fault>> {
    let fault = match action.clone() {
        ChaosAction::PauseReplication {
            table,
            source,
            destination,
        } => Fault::PauseReplication {
            table,
            source: region_or_none(source),
            destination: region_or_none(destination),
        },
        ChaosAction::PartitionRegion { region, direction } => {
            let direction: Direction =
                serde_json::from_value(serde_json::Value::String(direction.clone())).map_err(
                    |_| anyhow::anyhow!("--direction {direction:?}: use both, outbound or inbound"),
                )?;
            Fault::PartitionRegion { region, direction }
        }
        ChaosAction::PartitionNode { region, node } => Fault::PartitionNode { region, node },
        ChaosAction::Delay {
            from,
            to,
            latency_ms,
            jitter_ms,
            drop_probability,
        } => Fault::LinkDelay {
            source: region_or_none(from),
            destination: region_or_none(to),
            latency_ms,
            jitter_ms,
            drop_probability,
        },
        ChaosAction::ClockSkew {
            region,
            node,
            offset_ms,
        } => Fault::ClockSkew {
            region,
            node,
            offset_ms,
        },
        ChaosAction::InjectError {
            error,
            operation,
            table,
            rate,
            count,
            delay_ms,
        } => {
            let error = match error {
                None => None,
                Some(name) => Some(InjectedError::from_name(&name).with_context(|| {
                    let names: Vec<&str> = InjectedError::ALL.iter().map(|e| e.name()).collect();
                    format!("--error {name:?}: use one of {}", names.join(", "))
                })?),
            };
            Fault::InjectError {
                operation,
                table,
                error,
                rate,
                count,
                delay_ms,
            }
        }
        ChaosAction::Kill { .. }
        | ChaosAction::Restart { .. }
        | ChaosAction::List
        | ChaosAction::Clear => return Ok(None),
    };
    Ok(Some(fault))
}

fn refused(error: CallError) -> anyhow::Error {
    match error {
        CallError::Refused(e) => {
            let kind = e
                .type_name
                .rsplit('#')
                .next()
                .unwrap_or(&e.type_name)
                .to_owned();
            anyhow::anyhow!("{kind}: {}", e.message)
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs `meridian chaos`.
pub async fn run(args: &ChaosArgs) -> anyhow::Result<()> {
    let target = target(args)?;
    if let Some(fault) = fault_of(&args.action)? {
        let request = AddFault {
            id: Some(
                args.id
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()),
            ),
            duration: args.duration.clone(),
            fault,
        };
        let reached = add(&target, &request).await?;
        let heals = args.duration.as_deref().map_or_else(
            || "until cleared".to_owned(),
            |d| format!("heals after {d}"),
        );
        println!(
            "fault {} installed on {reached}; {heals}",
            request.id.as_deref().unwrap_or_default()
        );
        return Ok(());
    }
    match &args.action {
        ChaosAction::List => print_list(&list(&target).await?),
        ChaosAction::Clear => {
            let request = ClearFaults {
                id: args.id.clone(),
            };
            let cleared = broadcast(&target, "clear", &request).await?;
            println!("cleared {cleared} fault(s)");
        }
        ChaosAction::Kill { region, node } | ChaosAction::Restart { region, node } => {
            let Target::Lab { addr, secret } = &target else {
                bail!("kill and restart work on `meridian dev`; for separate processes stop the process (kill -9 <pid>, or SIGSTOP) and start it again");
            };
            let verb = if matches!(args.action, ChaosAction::Kill { .. }) {
                "kill"
            } else {
                "restart"
            };
            let request = chaos::LabAction {
                region: region.clone(),
                node: *node,
            };
            let path = format!("{LAB_NODES_PREFIX}{verb}");
            match call(addr, &path, Some(secret), &request)
                .await
                .map_err(refused)?
            {
                AdminAnswer::Nodes { nodes } if nodes.is_empty() => {
                    println!("nothing to {verb}: already done")
                }
                AdminAnswer::Nodes { nodes } => println!("{verb}: {}", nodes.join(", ")),
                other => println!("{other:?}"),
            }
        }
        _ => {}
    }
    Ok(())
}

/// Installs a fault everywhere; on a refusal, removes it from the nodes that took it.
async fn add(target: &Target, request: &AddFault) -> anyhow::Result<String> {
    match target {
        Target::Lab { addr, secret } => {
            let path = format!("{LAB_CHAOS_PREFIX}add");
            call(addr, &path, Some(secret), request)
                .await
                .map_err(refused)?;
            Ok("the lab".to_owned())
        }
        Target::Nodes { peers, secret } => {
            let path = format!("{PEER_CHAOS_PREFIX}add");
            let mut took = Vec::new();
            let mut missed = Vec::new();
            for peer in peers {
                match call(peer, &path, Some(secret), request).await {
                    Ok(_) => took.push(peer.clone()),
                    Err(CallError::Unreachable { addr, reason }) => {
                        missed.push(format!("{addr} ({reason})"))
                    }
                    Err(refusal) => {
                        let clear = ClearFaults {
                            id: request.id.clone(),
                        };
                        for peer in &took {
                            let path = format!("{PEER_CHAOS_PREFIX}clear");
                            let _ = call(peer, &path, Some(secret), &clear).await;
                        }
                        return Err(refused(refusal)).context(format!("refused by {peer}"));
                    }
                }
            }
            if took.is_empty() {
                bail!("no node answered: {}", missed.join("; "));
            }
            for miss in &missed {
                eprintln!("warning: not installed on {miss}");
            }
            Ok(format!("{} of {} nodes", took.len(), peers.len()))
        }
    }
}

/// Sends `clear` everywhere; returns the most any node cleared.
async fn broadcast(target: &Target, action: &str, body: &ClearFaults) -> anyhow::Result<usize> {
    let (addrs, prefix, secret) = match target {
        Target::Lab { addr, secret } => (vec![addr.clone()], LAB_CHAOS_PREFIX, secret),
        Target::Nodes { peers, secret } => (peers.clone(), PEER_CHAOS_PREFIX, secret),
    };
    let mut most = 0;
    let mut reached = 0;
    let mut last_error = None;
    for addr in &addrs {
        match call(addr, &format!("{prefix}{action}"), Some(secret), body).await {
            Ok(AdminAnswer::Cleared { cleared }) => {
                reached += 1;
                most = most.max(cleared);
            }
            Ok(_) => reached += 1,
            Err(CallError::Unreachable { addr, reason }) => {
                eprintln!("warning: {addr} did not answer ({reason})")
            }
            Err(refusal) => last_error = Some(refused(refusal)),
        }
    }
    match (reached, last_error) {
        (0, Some(e)) => Err(e),
        (0, None) => bail!("no node answered"),
        _ => Ok(most),
    }
}

/// Every active fault, merged across nodes by id (with the nodes that hold it).
async fn list(target: &Target) -> anyhow::Result<Vec<(FaultView, usize)>> {
    let (addrs, prefix, secret) = match target {
        Target::Lab { addr, secret } => (vec![addr.clone()], LAB_CHAOS_PREFIX, secret),
        Target::Nodes { peers, secret } => (peers.clone(), PEER_CHAOS_PREFIX, secret),
    };
    let mut merged: BTreeMap<String, (FaultView, usize)> = BTreeMap::new();
    let mut reached = 0;
    for addr in &addrs {
        match call(addr, &format!("{prefix}list"), Some(secret), &()).await {
            Ok(AdminAnswer::Faults(list)) => {
                reached += 1;
                for view in list.faults {
                    let entry = merged.entry(view.id.clone()).or_insert((view.clone(), 0));
                    entry.1 += 1;
                    if entry.0.id == view.id && entry.1 > 1 {
                        entry.0.fired += view.fired;
                    }
                }
            }
            Ok(_) => reached += 1,
            Err(e) => eprintln!("warning: {}", refused(e)),
        }
    }
    if reached == 0 {
        bail!("no node answered");
    }
    Ok(merged.into_values().collect())
}

fn print_list(faults: &[(FaultView, usize)]) {
    if faults.is_empty() {
        println!("no active faults");
        return;
    }
    println!(
        "{:<14} {:<18} {:<14} {:<7} {:<6} fault",
        "id", "kind", "remaining", "fired", "nodes"
    );
    for (view, nodes) in faults {
        let remaining = view
            .remaining_ms
            .map_or_else(|| "until-cleared".to_owned(), chaos::format_iso8601);
        println!(
            "{:<14} {:<18} {:<14} {:<7} {:<6} {}",
            view.id,
            view.kind,
            remaining,
            view.fired,
            nodes,
            serde_json::to_string(&view.fault).unwrap_or_default()
        );
    }
}

/// The lab file for `meridian status` without --config.
pub fn lab_for_status(lab_of: u16) -> anyhow::Result<LabFile> {
    LabFile::load(Path::new(&lab_file_path(lab_of)))
}
