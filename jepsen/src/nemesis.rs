//! Nemeses: faults injected on a seeded schedule (healthy, fault, healthy, ...), each healed at
//! the end of its window and everything healed at the end of the run. `kill` and `pause` are
//! signals to the processes; the others go through `meridian chaos` against a node's config
//! (which fans out to every node of its `[cluster]` and `[replication]` sections).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;

use crate::db::Db;
use crate::rng::Rng;

/// Longest wait for one `meridian chaos` call.
const CHAOS_TIMEOUT_MS: u64 = 20_000;
/// A fault also carries a duration (its window plus this) so that the server heals it itself
/// should the harness die before its explicit clear.
const SELF_HEAL_MARGIN_S: u64 = 30;
/// Clock skew applied by `clock-skew`, either way.
pub const SKEW_MS: i64 = 5_000;

/// The nemeses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Nemesis {
    /// No faults (a baseline).
    None,
    /// SIGKILL a node (the leader half the time), restart it after the window.
    Kill,
    /// SIGSTOP a node (the leader half the time), SIGCONT after the window.
    Pause,
    /// Cut one node off from its region's peers (`meridian chaos partition-node`).
    PartitionNode,
    /// Cut one region off from the others (`meridian chaos partition-region`).
    PartitionRegion,
    /// Skew a node's or region's clock by ±5 s (`meridian chaos clock-skew`).
    ClockSkew,
    /// Pause the global table's replication (`meridian chaos pause-replication`).
    PauseReplication,
}

impl Nemesis {
    /// Every nemesis but `none`.
    pub const ALL: [Nemesis; 6] = [
        Nemesis::Kill,
        Nemesis::Pause,
        Nemesis::PartitionNode,
        Nemesis::PartitionRegion,
        Nemesis::ClockSkew,
        Nemesis::PauseReplication,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Nemesis::None => "none",
            Nemesis::Kill => "kill",
            Nemesis::Pause => "pause",
            Nemesis::PartitionNode => "partition-node",
            Nemesis::PartitionRegion => "partition-region",
            Nemesis::ClockSkew => "clock-skew",
            Nemesis::PauseReplication => "pause-replication",
        }
    }

    /// True if the nemesis goes through `meridian chaos`.
    pub fn uses_chaos(self) -> bool {
        matches!(
            self,
            Nemesis::PartitionNode
                | Nemesis::PartitionRegion
                | Nemesis::ClockSkew
                | Nemesis::PauseReplication
        )
    }

    /// True if the nemesis makes sense on a single-region (`multi_region` false) or a
    /// multi-region topology.
    pub fn fits(self, multi_region: bool) -> bool {
        match self {
            Nemesis::PartitionNode => !multi_region,
            Nemesis::PartitionRegion | Nemesis::PauseReplication => multi_region,
            _ => true,
        }
    }
}

/// What undoes a fault.
#[derive(Debug, Clone)]
enum Heal {
    Restart(usize),
    Continue(usize),
    ChaosClear,
    Nothing,
}

/// One line of the nemesis log.
#[derive(Debug, Clone, Serialize)]
pub struct NemesisEvent {
    /// Nanoseconds since the run started (the history's clock).
    pub at_ns: u64,
    /// "start" or "heal".
    pub event: &'static str,
    pub nemesis: &'static str,
    pub detail: String,
    pub ok: bool,
}

/// The schedule: healthy `healthy`, fault `fault`, ... until `deadline`.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub healthy: Duration,
    pub fault: Duration,
}

/// Runs `nemesis` on `db` until `deadline`, then heals everything. `now_ns` is the history's
/// clock. Returns the log.
pub async fn run(
    nemesis: Nemesis,
    db: &mut Db,
    table: &str,
    schedule: Schedule,
    deadline: Instant,
    rng: &mut Rng,
    now_ns: &(dyn Fn() -> u64 + Send + Sync),
) -> Vec<NemesisEvent> {
    let mut log = Vec::new();
    loop {
        if Instant::now() + schedule.healthy >= deadline {
            break;
        }
        tokio::time::sleep(schedule.healthy).await;
        if nemesis == Nemesis::None {
            continue;
        }
        let window = schedule
            .fault
            .min(deadline.saturating_duration_since(Instant::now()));
        let (heal, detail, ok) = match inject(nemesis, db, table, window, rng).await {
            Ok((heal, detail)) => (heal, detail, true),
            Err(e) => (Heal::Nothing, format!("{e:#}"), false),
        };
        log.push(NemesisEvent {
            at_ns: now_ns(),
            event: "start",
            nemesis: nemesis.name(),
            detail,
            ok,
        });
        tokio::time::sleep(window).await;
        let healed = heal_one(&heal, db).await;
        log.push(NemesisEvent {
            at_ns: now_ns(),
            event: "heal",
            nemesis: nemesis.name(),
            detail: format!("{heal:?}"),
            ok: healed.is_ok(),
        });
    }
    let healed = heal_all(nemesis, db).await;
    log.push(NemesisEvent {
        at_ns: now_ns(),
        event: "heal",
        nemesis: nemesis.name(),
        detail: match &healed {
            Ok(()) => "everything".into(),
            Err(e) => format!("everything: {e:#}"),
        },
        ok: healed.is_ok(),
    });
    log
}

/// A node to hit: the leader of a random region half the time, else any node of it.
async fn pick_node(db: &Db, rng: &mut Rng) -> usize {
    let region = db.regions[rng.below(db.regions.len() as u64) as usize].clone();
    let nodes = db.nodes_of(&region);
    if rng.chance(0.5) {
        if let Some(leader) = db.leader_of(&region).await {
            return leader;
        }
    }
    nodes[rng.below(nodes.len() as u64) as usize]
}

fn iso_seconds(d: Duration) -> String {
    format!("PT{}S", d.as_secs() + SELF_HEAL_MARGIN_S)
}

async fn inject(
    nemesis: Nemesis,
    db: &mut Db,
    table: &str,
    window: Duration,
    rng: &mut Rng,
) -> anyhow::Result<(Heal, String)> {
    let config = db.any_config().display().to_string();
    let duration = iso_seconds(window);
    match nemesis {
        Nemesis::None => Ok((Heal::Nothing, "none".into())),
        Nemesis::Kill => {
            let i = pick_node(db, rng).await;
            let role = leader_label(db, i).await;
            db.kill(i);
            Ok((
                Heal::Restart(i),
                format!("SIGKILL {}{role}", node_name(db, i)),
            ))
        }
        Nemesis::Pause => {
            let i = pick_node(db, rng).await;
            let role = leader_label(db, i).await;
            db.signal(i, "STOP")?;
            Ok((
                Heal::Continue(i),
                format!("SIGSTOP {}{role}", node_name(db, i)),
            ))
        }
        Nemesis::PartitionNode => {
            let i = pick_node(db, rng).await;
            let role = leader_label(db, i).await;
            let node = &db.nodes[i];
            let args = vec![
                "partition-node".to_owned(),
                "--config".into(),
                config,
                "--region".into(),
                node.region.clone(),
                "--node".into(),
                node.id.to_string(),
                "--duration".into(),
                duration,
            ];
            chaos(&args).await?;
            Ok((
                Heal::ChaosClear,
                format!("partition {}{role}", node_name(db, i)),
            ))
        }
        Nemesis::PartitionRegion => {
            let region = db.regions[rng.below(db.regions.len() as u64) as usize].clone();
            let direction = ["both", "both", "outbound", "inbound"][rng.below(4) as usize];
            let args = vec![
                "partition-region".to_owned(),
                "--config".into(),
                config,
                "--region".into(),
                region.clone(),
                "--direction".into(),
                direction.into(),
                "--duration".into(),
                duration,
            ];
            chaos(&args).await?;
            Ok((
                Heal::ChaosClear,
                format!("partition {region} ({direction})"),
            ))
        }
        Nemesis::ClockSkew => {
            let offset = if rng.chance(0.5) { SKEW_MS } else { -SKEW_MS };
            let mut args = vec!["clock-skew".to_owned(), "--config".into(), config];
            let detail = if db.regions.len() > 1 {
                let region = db.regions[rng.below(db.regions.len() as u64) as usize].clone();
                args.extend(["--region".into(), region.clone()]);
                format!("skew {region} by {offset} ms")
            } else {
                let i = pick_node(db, rng).await;
                let node = &db.nodes[i];
                args.extend([
                    "--region".into(),
                    node.region.clone(),
                    "--node".into(),
                    node.id.to_string(),
                ]);
                format!("skew {} by {offset} ms", node_name(db, i))
            };
            args.extend([
                format!("--offset-ms={offset}"),
                "--duration".into(),
                duration,
            ]);
            chaos(&args).await?;
            Ok((Heal::ChaosClear, detail))
        }
        Nemesis::PauseReplication => {
            let mut args = vec![
                "pause-replication".to_owned(),
                "--config".into(),
                config,
                "--table".into(),
                table.to_owned(),
                "--duration".into(),
                duration,
            ];
            let detail = if rng.chance(0.5) {
                let source = db.regions[rng.below(db.regions.len() as u64) as usize].clone();
                args.extend(["--source".into(), source.clone()]);
                format!("pause replication of {table} from {source}")
            } else {
                format!("pause replication of {table} (all directions)")
            };
            chaos(&args).await?;
            Ok((Heal::ChaosClear, detail))
        }
    }
}

fn node_name(db: &Db, i: usize) -> String {
    format!("{}/n{}", db.nodes[i].region, db.nodes[i].id)
}

async fn leader_label(db: &Db, i: usize) -> String {
    let region = &db.nodes[i].region;
    if db.nodes_of(region).len() < 2 {
        return String::new();
    }
    match db.leader_of(region).await {
        Some(l) if l == i => " (leader)".into(),
        Some(l) => format!(" (follower; leader n{})", db.nodes[l].id),
        None => " (no leader known)".into(),
    }
}

async fn heal_one(heal: &Heal, db: &mut Db) -> anyhow::Result<()> {
    match heal {
        Heal::Restart(i) => db.start(*i).await,
        Heal::Continue(i) => db.signal(*i, "CONT"),
        Heal::ChaosClear => chaos_clear(db).await,
        Heal::Nothing => Ok(()),
    }
}

/// Restarts and continues every node, and clears every chaos fault.
pub async fn heal_all(nemesis: Nemesis, db: &mut Db) -> anyhow::Result<()> {
    db.heal_processes().await?;
    if nemesis.uses_chaos() {
        chaos_clear(db).await?;
    }
    Ok(())
}

async fn chaos_clear(db: &Db) -> anyhow::Result<()> {
    let config = db.any_config().display().to_string();
    let mut last = None;
    for _ in 0..3 {
        match chaos(&["clear".to_owned(), "--config".into(), config.clone()]).await {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("chaos clear failed")))
}

/// The `meridian` binary the run spawns.
pub fn meridian_bin() -> anyhow::Result<PathBuf> {
    meridian_tests::binary_path()
}

/// Runs `meridian chaos <args>`; an error carries its stderr.
pub async fn chaos(args: &[String]) -> anyhow::Result<String> {
    let bin = meridian_bin()?;
    let out = tokio::time::timeout(
        Duration::from_millis(CHAOS_TIMEOUT_MS),
        tokio::process::Command::new(bin)
            .arg("chaos")
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("meridian chaos timed out")??;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    anyhow::ensure!(
        out.status.success(),
        "meridian chaos {} failed ({}): {}",
        args.first().map(String::as_str).unwrap_or(""),
        out.status,
        stderr.lines().last().unwrap_or("")
    );
    Ok(stdout)
}

/// True if this `meridian` has the chaos CLI.
pub async fn chaos_available() -> bool {
    chaos(&["--help".to_owned()]).await.is_ok()
}
