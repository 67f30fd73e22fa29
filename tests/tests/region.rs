//! A 3-node region on loopback: real `meridian serve --config` processes with their own data
//! directories and peer listeners. Any node serves any request; SIGKILL of the leader loses no
//! acknowledged write and writes resume within 3 s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use meridian_tests::*;

/// Longest wait for the first election of a fresh region.
const FIRST_LEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// The bound on failover: SIGKILL of the leader to the first acknowledged write.
const FAILOVER_MAX: Duration = Duration::from_secs(3);

async fn get_v(c: &Client, table: &str, pk: &str, consistent: bool) -> Option<String> {
    let r = c
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(consistent)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem {pk}: {e:?}"));
    r.item().and_then(|i| get_s(i, "v")).map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_serves_every_request() {
    let region = Cluster::start(3).await;
    region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();

    // CreateTable via node 1, PutItem via node 2, consistent GetItem via node 3.
    create_simple_table(&c[0], "region").await;
    c[1].put_item()
        .table_name("region")
        .item("pk", s("a"))
        .item("v", s("from-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_v(&c[2], "region", "a", true).await.as_deref(),
        Some("from-2")
    );

    // Every node's writes are visible, consistently, on every node at once.
    for (i, writer) in c.iter().enumerate() {
        let pk = format!("k{i}");
        writer
            .put_item()
            .table_name("region")
            .item("pk", s(&pk))
            .item("v", s(&format!("v{i}")))
            .send()
            .await
            .unwrap();
        for reader in &c {
            assert_eq!(
                get_v(reader, "region", &pk, true).await,
                Some(format!("v{i}"))
            );
        }
    }
    // A conditional write forwarded from a follower still evaluates its condition.
    let e = c[2]
        .put_item()
        .table_name("region")
        .item("pk", s("a"))
        .item("v", s("again"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e), "ConditionalCheckFailedException");

    // Eventually consistent reads are local: they converge.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_v(&c[1], "region", "k2", false).await.as_deref() != Some("v2") {
        assert!(Instant::now() < deadline, "node 2 never saw k2");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Scan through a follower sees everything.
    let scanned = c[2]
        .scan()
        .table_name("region")
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.count(), 4);
    // DescribeTable / ListTables on every node.
    for client in &c {
        let tables = client.list_tables().send().await.unwrap();
        assert_eq!(tables.table_names(), ["region"]);
    }

    // The peer listener refuses requests without the cluster secret.
    let port = region.nodes[0].peer_port;
    assert_eq!(peer_get(port, "/admin/status", None).await.unwrap().0, 401);
    assert_eq!(
        peer_get(port, "/admin/status", Some("wrong-secret-wrong-secret"))
            .await
            .unwrap()
            .0,
        403
    );
    let status = region.status(0).await.unwrap();
    assert_eq!(status.get("voters").map(String::as_str), Some("1,2,3"));
    let (code, metrics) = peer_get(port, "/metrics", Some(REGION_SECRET))
        .await
        .unwrap();
    assert_eq!(code, 200);
    assert!(
        metrics.contains("meridian_raft_applied_index{node=\"1\",region=\"us-east-1\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("meridian_raft_is_leader"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_sigkill_loses_no_acknowledged_write() {
    const WRITERS: usize = 6;
    const ACKED_BEFORE_KILL: usize = 300;
    const WRITE_AFTER_KILL: Duration = Duration::from_secs(4);

    let mut region = Cluster::start(3).await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let clients: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    create_simple_table(&clients[leader], "failover").await;

    let dead: Arc<Vec<AtomicBool>> = Arc::new((0..3).map(|_| AtomicBool::new(false)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (clients, dead, stop, acked, failures) = (
            clients.clone(),
            dead.clone(),
            stop.clone(),
            acked.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // Round-robin over the nodes that are up: leader and followers alike.
                let node = (w + i) % clients.len();
                if dead[node].load(Ordering::Relaxed) {
                    continue;
                }
                let pk = format!("w{w}-{i}");
                let put = clients[node]
                    .put_item()
                    .table_name("failover")
                    .item("pk", s(&pk))
                    .item("v", s(&pk))
                    .send()
                    .await;
                match put {
                    Ok(_) => acked.lock().unwrap().push((pk, Instant::now())),
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL {
        assert!(Instant::now() < deadline, "writes too slow before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dead[leader].store(true, Ordering::Relaxed);
    region.kill(leader);
    let killed = Instant::now();
    tokio::time::sleep(WRITE_AFTER_KILL).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let acked = acked.lock().unwrap().clone();
    let first_after = acked
        .iter()
        .filter(|(_, at)| *at > killed)
        .map(|(_, at)| *at - killed)
        .min()
        .expect("no write was acknowledged after the leader was killed");
    eprintln!(
        "failover: leader n{} killed; first acknowledged write after {first_after:?}; \
         {} acknowledged, {} failed",
        leader + 1,
        acked.len(),
        failures.load(Ordering::Relaxed)
    );
    assert!(
        first_after < FAILOVER_MAX,
        "writes resumed only after {first_after:?}"
    );

    // Every acknowledged write is readable, consistently, from every survivor.
    let expected: HashMap<String, String> =
        acked.iter().map(|(k, _)| (k.clone(), k.clone())).collect();
    for (i, client) in clients.iter().enumerate() {
        if i == leader {
            continue;
        }
        let missing = missing(client, &expected).await;
        assert!(missing.is_empty(), "node {} lost {missing:?}", i + 1);
    }

    // The killed node restarts, rejoins and catches up.
    region.restart(leader).await;
    let back = region.nodes[leader].client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let missing = missing(&back, &expected).await;
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "restarted node never caught up: {} missing",
            missing.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_added_to_a_loaded_region_converges() {
    // Snapshot every 50 entries and keep 5 behind it: the log is compacted while loading, so
    // the new node can only catch up by snapshot plus log.
    let mut region = Cluster::start_with(
        3,
        "\n[raft]\nsnapshot_logs_since_last = 50\nmax_in_snapshot_log_to_keep = 5\n",
    )
    .await;
    region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    create_simple_table(&c[0], "failover").await;
    let mut expected = HashMap::new();
    for i in 0..300 {
        let pk = format!("k{i}");
        c[i % 3]
            .put_item()
            .table_name("failover")
            .item("pk", s(&pk))
            .item("v", s(&pk))
            .send()
            .await
            .unwrap();
        expected.insert(pk.clone(), pk);
    }
    for i in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = region.status(i).await.unwrap();
            if status.get("purged_index").map(String::as_str) != Some("none") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} never compacted its log"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let four = region.start_extra_node().await;
    let n1 = region.nodes[0].config.display().to_string();
    let (ok, out) = Cluster::run_cli(&[
        "member".into(),
        "add".into(),
        "--config".into(),
        n1.clone(),
        "--id".into(),
        region.nodes[four].id.to_string(),
        "--api-addr".into(),
        format!("127.0.0.1:{}", region.nodes[four].api_port),
        "--peer-addr".into(),
        format!("127.0.0.1:{}", region.nodes[four].peer_port),
    ])
    .await;
    assert!(ok, "meridian member add failed: {out}");
    assert!(out.contains("voters now 1,2,3,4"), "{out}");
    // Identical contents on every node, the new one included (consistent full scans).
    for node in &region.nodes {
        let missing = missing(&node.client(), &expected).await;
        assert!(missing.is_empty(), "node {} misses {missing:?}", node.id);
    }
    let status = region.status(four).await.unwrap();
    assert_ne!(
        status.get("snapshot_index").map(String::as_str),
        Some("none")
    );
    // The new node serves writes too.
    region.nodes[four]
        .client()
        .put_item()
        .table_name("failover")
        .item("pk", s("from-4"))
        .send()
        .await
        .unwrap();
    // `meridian status` shows every member of n1's config with its role.
    let (ok, out) = Cluster::run_cli(&["status".into(), "--config".into(), n1.clone()]).await;
    assert!(ok, "{out}");
    assert!(out.contains("Leader") && out.contains("Follower"), "{out}");
    assert!(out.contains("1,2,3,4"), "{out}");
    // Remove node 4 again.
    let (ok, out) = Cluster::run_cli(&[
        "member".into(),
        "remove".into(),
        "--config".into(),
        n1,
        "--id".into(),
        region.nodes[four].id.to_string(),
    ])
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("voters now 1,2,3"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_follower_catches_up_and_a_restarted_region_keeps_everything() {
    let mut region = Cluster::start(3).await;
    let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let follower = (leader + 1) % 3;
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    create_simple_table(&c[leader], "failover").await;
    let mut expected = HashMap::new();
    let put = |client: &Client, pk: String| {
        let client = client.clone();
        async move {
            client
                .put_item()
                .table_name("failover")
                .item("pk", s(&pk))
                .item("v", s(&pk))
                .send()
                .await
                .unwrap();
        }
    };
    for i in 0..100 {
        let pk = format!("before-{i}");
        put(&c[i % 3], pk.clone()).await;
        expected.insert(pk.clone(), pk);
    }
    // SIGSTOP a follower: the other two are a majority and keep serving.
    region.signal(follower, "STOP");
    for i in 0..200 {
        let pk = format!("paused-{i}");
        let node = [leader, 3 - leader - follower][i % 2];
        put(&c[node], pk.clone()).await;
        expected.insert(pk.clone(), pk);
    }
    region.signal(follower, "CONT");
    let missing_now = missing(&c[follower], &expected).await;
    assert!(
        missing_now.is_empty(),
        "paused follower misses {missing_now:?}"
    );

    // SIGKILL the whole region, restart it: nothing acknowledged is lost.
    for i in 0..3 {
        region.kill(i);
    }
    for i in 0..3 {
        region.restart(i).await;
    }
    region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    for (i, client) in c.iter().enumerate() {
        let missing_now = missing(client, &expected).await;
        assert!(
            missing_now.is_empty(),
            "node {} lost {missing_now:?}",
            i + 1
        );
    }
}

/// A paused (SIGSTOP) leader is as good as partitioned away: the other two elect a new
/// leader and keep acknowledging writes; when the old leader wakes up it must not answer a
/// consistent read with old data, and it serves again as a follower.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_is_replaced_and_serves_no_stale_consistent_read() {
    let region = Cluster::start(3).await;
    let old = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
    let c: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
    create_simple_table(&c[old], "failover").await;
    c[old]
        .put_item()
        .table_name("failover")
        .item("pk", s("x"))
        .item("v", s("1"))
        .send()
        .await
        .unwrap();
    region.signal(old, "STOP");
    let paused = Instant::now();
    let survivor = (old + 1) % 3;
    // Writes through a survivor resume once the others elect a new leader.
    let resumed = loop {
        let put = c[survivor]
            .put_item()
            .table_name("failover")
            .item("pk", s("x"))
            .item("v", s("2"))
            .send()
            .await;
        if put.is_ok() {
            break paused.elapsed();
        }
        assert!(
            paused.elapsed() < Duration::from_secs(10),
            "writes never resumed"
        );
    };
    eprintln!(
        "paused leader n{}: writes resumed after {resumed:?}",
        old + 1
    );
    assert!(
        resumed < FAILOVER_MAX,
        "writes resumed only after {resumed:?}"
    );
    let new = region.wait_leader(Duration::from_secs(10)).await;
    assert_ne!(new, old);
    region.signal(old, "CONT");
    // The old leader's consistent read sees the new value (it learns of the new term, or
    // fails retryably; it never answers "1").
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = c[old]
            .get_item()
            .table_name("failover")
            .key("pk", s("x"))
            .consistent_read(true)
            .send()
            .await;
        match r {
            Ok(r) => {
                let v = r.item().and_then(|i| get_s(i, "v")).map(str::to_owned);
                assert_eq!(v.as_deref(), Some("2"), "stale consistent read");
                break;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "old leader never served: {e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // And it accepts writes again (forwarded to the new leader).
    c[old]
        .put_item()
        .table_name("failover")
        .item("pk", s("y"))
        .send()
        .await
        .unwrap();
}

/// Keys of `expected` that a consistent scan through `c` does not return with their value.
/// (Retries a scan that fails: a restarted node may not know the leader yet.)
async fn missing(c: &Client, expected: &HashMap<String, String>) -> Vec<String> {
    let mut found: HashMap<String, String> = HashMap::new();
    let mut start = None;
    loop {
        let mut attempt = 0;
        let page = loop {
            attempt += 1;
            match c
                .scan()
                .table_name("failover")
                .consistent_read(true)
                .set_exclusive_start_key(start.clone())
                .send()
                .await
            {
                Ok(page) => break page,
                Err(e) if attempt < 50 => {
                    eprintln!("scan retry: {}", error_code(&e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("Scan: {e:?}"),
            }
        };
        for it in page.items() {
            found.insert(
                get_s(it, "pk").unwrap().to_owned(),
                get_s(it, "v").unwrap_or_default().to_owned(),
            );
        }
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    let mut missing: Vec<String> = expected
        .iter()
        .filter(|(k, v)| found.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    missing.sort();
    missing
}

/// Failover figures: SIGKILL of the leader to the first acknowledged write, over 10 fresh
/// regions. Run with
/// `cargo test -p meridian-tests --test e2e region::failover_trials -- --ignored --nocapture`
/// (use a release binary through `MERIDIAN_BIN` for representative figures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: about a minute"]
async fn failover_trials() {
    const TRIALS: usize = 10;
    const WRITERS: usize = 4;
    let mut times = Vec::new();
    for trial in 0..TRIALS {
        let mut region = Cluster::start(3).await;
        let leader = region.wait_leader(FIRST_LEADER_TIMEOUT).await;
        let clients: Vec<Client> = region.nodes.iter().map(RegionNode::client).collect();
        create_simple_table(&clients[leader], "failover").await;
        let dead = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (clients, dead, stop, acked) =
                (clients.clone(), dead.clone(), stop.clone(), acked.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let node = (w + i) % clients.len();
                    if node == leader && dead.load(Ordering::Relaxed) {
                        continue;
                    }
                    let pk = format!("t{trial}-w{w}-{i}");
                    let put = clients[node]
                        .put_item()
                        .table_name("failover")
                        .item("pk", s(&pk))
                        .send()
                        .await;
                    match put {
                        Ok(_) => acked.lock().unwrap().push(Instant::now()),
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            }));
        }
        while acked.lock().unwrap().len() < 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        dead.store(true, Ordering::Relaxed);
        region.kill(leader);
        let killed = Instant::now();
        let deadline = killed + Duration::from_secs(15);
        let resumed = loop {
            let first = acked
                .lock()
                .unwrap()
                .iter()
                .find(|at| **at > killed)
                .copied();
            if let Some(at) = first {
                break at - killed;
            }
            assert!(Instant::now() < deadline, "writes never resumed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        eprintln!("trial {trial}: {resumed:?}");
        times.push(resumed);
    }
    times.sort();
    eprintln!(
        "failover over {TRIALS} trials: min {:?} median {:?} max {:?}",
        times[0],
        times[TRIALS / 2],
        times[TRIALS - 1]
    );
}
