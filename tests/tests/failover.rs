//! Failover in a 3-node region under faults, as issue 14 measures it: how long writes stop
//! when the leader is killed, paused or cut off, and whether healing a cut-off or paused
//! follower stops writes at all (pre-vote keeps it from deposing the leader).
//!
//! `t20_a_returning_follower_does_not_depose_the_leader` is a check in the normal suite; the
//! measurement over many trials is ignored by default:
//! `cargo test -p meridian-tests --test e2e failover::failover_figures -- --ignored --nocapture`
//! (`FAILOVER_TRIALS`, default 20, sets the trials per fault).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use meridian_tests::*;

const FIRST_LEADER_TIMEOUT: Duration = Duration::from_secs(60);
/// A fault on a follower lasts this long before it heals.
const FOLLOWER_FAULT: Duration = Duration::from_millis(3_000);
/// After a heal, writes are watched this long for a stall.
const WATCH_AFTER_HEAL: Duration = Duration::from_millis(3_000);
const WRITERS: usize = 4;
/// After a leader fault, writes are watched this long (the outage must end within it).
const LEADER_WATCH: Duration = Duration::from_millis(5_000);

/// Writers that PutItem through the nodes `allowed` says are usable, recording each
/// acknowledgement's time.
struct Load {
    acks: Arc<Mutex<Vec<Instant>>>,
    /// Bit i set: node i is not to be used.
    avoid: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(clients: &[Client]) -> Load {
        let acks = Arc::new(Mutex::new(Vec::new()));
        let avoid = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (clients, acks, avoid, stop) =
                (clients.to_vec(), acks.clone(), avoid.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let node = (w + i) % clients.len();
                    if avoid.load(Ordering::Relaxed) & (1 << node) != 0 {
                        continue;
                    }
                    let put = clients[node]
                        .put_item()
                        .table_name("failover")
                        .item("pk", s(&format!("w{w}-{i}")))
                        .send()
                        .await;
                    match put {
                        Ok(_) => acks.lock().unwrap().push(Instant::now()),
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            }));
        }
        Load {
            acks,
            avoid,
            stop,
            tasks,
        }
    }

    fn avoid(&self, node: Option<usize>) {
        self.avoid
            .store(node.map_or(0, |n| 1 << n), Ordering::Relaxed);
    }

    /// The longest gap between acknowledgements in [from, to].
    fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        let acks = self.acks.lock().unwrap();
        let mut last = from;
        let mut longest = Duration::ZERO;
        for at in acks.iter().filter(|at| **at > from && **at <= to) {
            longest = longest.max(*at - last);
            last = *at;
        }
        longest.max(to.saturating_duration_since(last))
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn chaos(region: &Cluster, args: &[&str]) {
    let mut all: Vec<String> = vec!["chaos".into()];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    all.push("--config".into());
    all.push(region.nodes[0].config.display().to_string());
    let (ok, out) = Cluster::run_cli(&all).await;
    assert!(ok, "meridian chaos {args:?}: {out}");
}

async fn isolate(region: &Cluster, node: usize) {
    let id = region.nodes[node].id.to_string();
    chaos(
        region,
        &["partition-node", "--region", REGION, "--node", &id],
    )
    .await;
}

/// Waits until every node agrees on one leader and has applied the leader's log.
async fn settled(region: &Cluster) -> usize {
    let deadline = Instant::now() + FIRST_LEADER_TIMEOUT;
    loop {
        let mut statuses = Vec::new();
        for i in 0..region.nodes.len() {
            statuses.push(region.status(i).await.ok());
        }
        let leaders: Vec<Option<String>> = statuses
            .iter()
            .map(|s| s.as_ref().and_then(|s| s.get("leader").cloned()))
            .collect();
        let applied: Vec<Option<String>> = statuses
            .iter()
            .map(|s| s.as_ref().and_then(|s| s.get("applied_index").cloned()))
            .collect();
        let agreed = leaders.iter().all(|l| l.is_some() && *l == leaders[0]);
        let caught_up = applied.iter().all(|a| a.is_some() && *a == applied[0]);
        if agreed && caught_up {
            let id: u64 = leaders[0].as_deref().unwrap().parse().unwrap();
            return region.nodes.iter().position(|n| n.id == id).unwrap();
        }
        if Instant::now() > deadline {
            let tails: Vec<String> = region
                .nodes
                .iter()
                .map(|n| {
                    n.server
                        .as_ref()
                        .map_or("(not running)".into(), |s| s.stderr_tail())
                })
                .collect();
            panic!("the region never settled: {statuses:?}\nstderr tails: {tails:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// No fault: the longest gap between writes in a quiet window, for comparison.
    Baseline,
    KillLeader,
    PauseLeader,
    IsolateLeader,
    IsolateFollower,
    PauseFollower,
}

/// One trial: for a leader fault, the longest stretch without an acknowledged write after it
/// struck (the outage); for a follower fault, the longest stall of writes after it heals.
async fn trial(region: &mut Cluster, load: &Load, fault: Fault) -> Duration {
    let leader = settled(region).await;
    let follower = (leader + 1) % region.nodes.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    match fault {
        Fault::Baseline => {
            let from = Instant::now();
            tokio::time::sleep(WATCH_AFTER_HEAL).await;
            load.longest_gap(from, from + WATCH_AFTER_HEAL)
        }
        Fault::KillLeader | Fault::PauseLeader | Fault::IsolateLeader => {
            load.avoid(Some(leader));
            let at = Instant::now();
            match fault {
                Fault::KillLeader => region.kill(leader),
                Fault::PauseLeader => region.signal(leader, "STOP"),
                _ => isolate(region, leader).await,
            }
            // Requests already answered may still land just after the fault: the outage
            // is the longest stretch without an acknowledgement once it struck.
            tokio::time::sleep(LEADER_WATCH).await;
            let outage = load.longest_gap(at, at + LEADER_WATCH);
            assert!(outage < LEADER_WATCH, "writes never resumed");
            match fault {
                Fault::KillLeader => region.restart(leader).await,
                Fault::PauseLeader => region.signal(leader, "CONT"),
                _ => chaos(region, &["clear"]).await,
            }
            load.avoid(None);
            outage
        }
        Fault::IsolateFollower | Fault::PauseFollower => {
            load.avoid(Some(follower));
            if matches!(fault, Fault::IsolateFollower) {
                isolate(region, follower).await;
            } else {
                region.signal(follower, "STOP");
            }
            tokio::time::sleep(FOLLOWER_FAULT).await;
            let healed = Instant::now();
            if matches!(fault, Fault::IsolateFollower) {
                chaos(region, &["clear"]).await;
            } else {
                region.signal(follower, "CONT");
            }
            tokio::time::sleep(WATCH_AFTER_HEAL).await;
            load.avoid(None);
            load.longest_gap(healed, healed + WATCH_AFTER_HEAL)
        }
    }
}

async fn region_under_load() -> (Cluster, Load) {
    let region = Cluster::start(3).await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let clients: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    create_simple_table(&clients[leader], "failover").await;
    // A request caught by a fault gives up after a second instead of 30, as a latency-
    // sensitive client would; the writer moves on to another node.
    let clients: Vec<Client> = clients
        .iter()
        .map(|c| {
            let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_millis(1_000))
                .build();
            Client::from_conf(c.config().to_builder().timeout_config(timeouts).build())
        })
        .collect();
    let load = Load::start(&clients);
    (region, load)
}

/// Issue 14: a follower cut off from its peers (and then one paused with SIGSTOP) comes back
/// without deposing the leader: the term does not move and writes never stall for long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_a_returning_follower_does_not_depose_the_leader() {
    let (mut region, load) = region_under_load().await;
    let leader = settled(&region).await;
    let term_before = region.status(leader).await.unwrap()["term"].clone();
    let stall = trial(&mut region, &load, Fault::IsolateFollower).await;
    let stall_paused = trial(&mut region, &load, Fault::PauseFollower).await;
    let now_leader = settled(&region).await;
    let term_after = region.status(now_leader).await.unwrap()["term"].clone();
    load.stop().await;
    assert_eq!(
        now_leader, leader,
        "the returning follower deposed the leader"
    );
    assert_eq!(term_after, term_before, "the term moved");
    // Generous for a loaded 2-core CI machine; the figures are measured below.
    assert!(stall < Duration::from_millis(1_000), "{stall:?}");
    assert!(
        stall_paused < Duration::from_millis(1_000),
        "{stall_paused:?}"
    );
}

/// The figures of issue 14 (see the module docs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: about ten minutes"]
async fn failover_figures() {
    let trials: usize = std::env::var("FAILOVER_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    // FAILOVER_FAULTS=leader measures only the leader faults.
    let leader_only = std::env::var("FAILOVER_FAULTS").is_ok_and(|v| v == "leader");
    let (mut region, load) = region_under_load().await;
    for fault in [
        Fault::Baseline,
        Fault::IsolateFollower,
        Fault::PauseFollower,
        Fault::KillLeader,
        Fault::PauseLeader,
        Fault::IsolateLeader,
    ] {
        if leader_only
            && !matches!(
                fault,
                Fault::KillLeader | Fault::PauseLeader | Fault::IsolateLeader
            )
        {
            continue;
        }
        let mut times = Vec::new();
        for _ in 0..trials {
            times.push(trial(&mut region, &load, fault).await);
        }
        times.sort();
        let ms = |d: Duration| d.as_millis();
        eprintln!(
            "{fault:?}: {trials} trials: min {} ms, median {} ms, p90 {} ms, max {} ms",
            ms(times[0]),
            ms(times[trials / 2]),
            ms(times[trials * 9 / 10]),
            ms(times[trials - 1])
        );
    }
    load.stop().await;
}
