//! `meridian dev`: several regions in one process, each a Raft group of one or more nodes,
//! joined as global-table replicas of each other. Region N's first node serves the API on
//! port + N; the first region's port is also the shared port, which routes each request by
//! the region in its SigV4 credential scope. Cross-region and Raft traffic go over loopback
//! HTTP exactly as between separate processes.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _};

use crate::cli::DevArgs;
use crate::config::{
    is_region_name, ClusterConfig, NodeConfig, RaftSection, ReplicationConfig, DEFAULT_DATA_DIR,
};
use crate::lab::{lab_file_path, serve_lab, Lab, LabFile, LabFileRegion};

/// The lab control port is the first API port plus this (8900 by default).
const LAB_PORT_OFFSET: u16 = 900;

/// sled cache per node in dev mode (several nodes share the process).
const DEV_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// The addresses of one dev node.
#[derive(Debug, Clone, Copy)]
struct Addrs {
    api: SocketAddr,
    peer: SocketAddr,
}

/// Picks a free port by binding port 0 (the port is released again; a race with another
/// process is possible but harmless for a dev lab).
fn free_port(ip: IpAddr) -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(SocketAddr::new(ip, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Addresses of node `node` (from 1) of region `region` (from 0).
fn addrs(args: &DevArgs, ip: IpAddr, region: usize, node: u64) -> anyhow::Result<Addrs> {
    let derived = |offset: u64| -> anyhow::Result<u16> {
        if args.port == 0 {
            return free_port(ip);
        }
        u16::try_from(u64::from(args.port) + offset)
            .with_context(|| format!("port {} + {offset} is out of range", args.port))
    };
    let region = region as u64;
    let api = if node == 1 {
        derived(region)?
    } else {
        derived(100 + 10 * region + node)?
    };
    let peer = derived(1000 + 10 * region + node)?;
    Ok(Addrs {
        api: SocketAddr::new(ip, api),
        peer: SocketAddr::new(ip, peer),
    })
}

/// Runs the lab until Ctrl-C or SIGTERM.
pub async fn run(args: &DevArgs, started: Instant) -> anyhow::Result<()> {
    let regions: Vec<String> = args.regions.iter().map(|r| r.trim().to_owned()).collect();
    if regions.is_empty() {
        bail!("--regions needs at least one region");
    }
    for (i, r) in regions.iter().enumerate() {
        if !is_region_name(r) {
            bail!("invalid region {r:?}: use letters, digits and dashes");
        }
        if regions[..i].contains(r) {
            bail!("region {r} is listed twice");
        }
    }
    if !matches!(args.nodes_per_region, 1 | 3 | 5) {
        bail!("--nodes-per-region must be 1, 3 or 5");
    }
    let ip: IpAddr = args
        .host
        .parse()
        .with_context(|| format!("invalid --host {}", args.host))?;
    let mut layout: Vec<BTreeMap<u64, Addrs>> = Vec::new();
    for i in 0..regions.len() {
        let mut nodes = BTreeMap::new();
        for node in 1..=args.nodes_per_region {
            nodes.insert(node, addrs(args, ip, i, node)?);
        }
        layout.push(nodes);
    }
    let secret = format!("dev-{}", uuid::Uuid::new_v4().simple());
    let data_root = (!args.in_memory).then(|| {
        args.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR).join("dev"))
    });
    let mut configs = Vec::new();
    for (i, region) in regions.iter().enumerate() {
        let members: BTreeMap<u64, (SocketAddr, SocketAddr)> = layout[i]
            .iter()
            .map(|(id, a)| (*id, (a.api, a.peer)))
            .collect();
        let remotes: BTreeMap<String, Vec<String>> = regions
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, name)| {
                let peers = layout[j].values().map(|a| a.peer.to_string()).collect();
                (name.clone(), peers)
            })
            .collect();
        for (id, a) in &layout[i] {
            let config = NodeConfig {
                node_id: *id,
                region: region.clone(),
                api_addr: a.api,
                data_dir: data_root
                    .as_ref()
                    .map(|root| root.join(region).join(format!("n{id}"))),
                cache_bytes: DEV_CACHE_BYTES,
                cluster: Some(ClusterConfig {
                    name: format!("dev-{region}"),
                    secret: secret.clone(),
                    peer_addr: a.peer,
                    members: members.clone(),
                }),
                raft: RaftSection::default(),
                ttl_sweep_interval_ms: model::limits::TTL_SWEEP_INTERVAL_MS_DEFAULT,
                replication: (regions.len() > 1).then(|| ReplicationConfig {
                    remotes: remotes.clone(),
                    anti_entropy_interval_ms: args.anti_entropy_ms,
                    auto_global: !args.no_auto_global,
                }),
            };
            config.validate()?;
            configs.push(config);
        }
    }
    let auth = crate::config::resolve_dev_auth(args.require_auth, &args.auth_keys)?;
    if let Some(keys) = &auth {
        tracing::info!(
            access_keys = keys.len(),
            "SigV4 signatures are verified on every API port of the lab"
        );
    }
    let lab = Arc::new(Lab::start(configs, regions.clone(), args.console_bind_any, auth).await?);
    let lab_port = match args.lab_port {
        Some(port) => port,
        None if args.port == 0 => 0,
        None => args
            .port
            .checked_add(LAB_PORT_OFFSET)
            .context("--port is too high to derive the lab port; pass --lab-port")?,
    };
    let lab_listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, lab_port))
        .await
        .with_context(|| format!("cannot listen on port {lab_port} (lab control)"))?;
    let lab_addr = lab_listener.local_addr()?;
    let shown = lab.addresses().await;
    let first_port = shown
        .iter()
        .find(|s| s.3)
        .map_or(args.port, |(_, _, addr, _)| addr.port());
    let lab_file = LabFile {
        secret: secret.clone(),
        lab_addr: lab_addr.to_string(),
        regions: regions
            .iter()
            .enumerate()
            .map(|(i, name)| LabFileRegion {
                name: name.clone(),
                nodes: layout[i]
                    .iter()
                    .map(|(id, a)| {
                        let api = shown
                            .iter()
                            .find(|s| &s.0 == name && s.1 == *id)
                            .map_or(a.api, |s| s.2);
                        (*id, api.to_string(), a.peer.to_string())
                    })
                    .collect(),
            })
            .collect(),
    };
    let lab_path = lab_file_path(first_port);
    std::fs::write(&lab_path, serde_json::to_vec_pretty(&lab_file)?)
        .with_context(|| format!("cannot write {}", lab_path.display()))?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let lab_task = tokio::spawn(serve_lab(
        lab.clone(),
        lab_listener,
        secret.clone(),
        async move {
            let _ = stop_rx.changed().await;
        },
    ));
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "Meridian dev: {} region(s), {} node(s) each, {}",
            regions.len(),
            args.nodes_per_region,
            if args.in_memory {
                "in memory"
            } else {
                "on disk"
            }
        )?;
        for (region, node, addr, shared) in &shown {
            let note = if *shared {
                " (shared port: routes by the SigV4 region)"
            } else {
                ""
            };
            let peer = layout[regions.iter().position(|r| r == region).unwrap_or(0)]
                .get(node)
                .map(|a| a.peer.to_string())
                .unwrap_or_default();
            writeln!(
                out,
                "Meridian region {region} node {node} on http://{addr}{note} (peer {peer})"
            )?;
        }
        writeln!(
            out,
            "Meridian lab control on http://{lab_addr} (meridian chaos / meridian status find it through {})",
            lab_path.display()
        )?;
        if let Some((_, _, addr, _)) = shown.iter().find(|s| s.3) {
            writeln!(
                out,
                "Meridian lab secret (x-meridian-admin-secret on the API ports, x-meridian-cluster-secret on the peer ports): {secret} (also in {})",
                lab_path.display()
            )?;
            writeln!(
                out,
                "On the shared port (every region of the lab; `meridian status` for the text view):"
            )?;
            crate::banner::urls(
                &mut out,
                &format!("http://{addr}"),
                addr.ip().is_loopback() || args.console_bind_any,
            )?;
            writeln!(out, "Meridian ready on http://{addr}")?;
        }
        out.flush()?;
    }
    tracing::info!(
        ready_ms = started.elapsed().as_millis() as u64,
        "dev lab serving"
    );
    crate::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = lab_task.await;
    lab.shutdown().await;
    let _ = std::fs::remove_file(&lab_path);
    Ok(())
}
