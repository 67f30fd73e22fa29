//! The chaos lab, driven as a user drives it: `meridian chaos` against a `meridian dev` lab
//! (pause replication, skew a clock, inject API errors, kill and restart a region, bad input)
//! and against separate processes through their config files (partition a node of a 3-node
//! region, cut a region off), with the AWS SDK for Rust as the client.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];
/// Longest wait for replicas to converge once a fault has healed.
const CONVERGE: Duration = Duration::from_secs(45);

/// A `meridian dev` lab of three in-memory regions on free ports.
struct DevLab {
    server: Server,
    /// The first port, which names the lab file `meridian chaos --lab-of` reads.
    port: u16,
}

#[derive(serde::Deserialize)]
struct LabFile {
    secret: String,
    lab_addr: String,
    regions: Vec<LabFileRegion>,
}

#[derive(serde::Deserialize)]
struct LabFileRegion {
    name: String,
    nodes: Vec<(u64, String, String)>,
}

impl DevLab {
    fn start(regions: &[&str]) -> DevLab {
        let joined = regions.join(",");
        let args: Vec<String> = [
            "dev",
            "--in-memory",
            "--port",
            "0",
            "--anti-entropy-ms",
            "2000",
            "--regions",
            joined.as_str(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let server = Server::spawn(&args).expect("starting meridian dev");
        let port = server.port();
        DevLab { server, port }
    }

    fn client(&self, region: usize) -> Client {
        client_in_region(self.server.url(), REGIONS[region])
    }

    fn lab_file(&self) -> LabFile {
        let path: PathBuf = std::env::temp_dir().join(format!("meridian-dev-{}.json", self.port));
        let text = std::fs::read_to_string(&path).expect("lab file");
        serde_json::from_str(&text).expect("lab file json")
    }

    /// `meridian chaos <args> --lab-of <port>`.
    async fn chaos(&self, args: &[&str]) -> (bool, String) {
        let mut all: Vec<String> = vec!["chaos".into()];
        all.extend(args.iter().map(|s| (*s).to_owned()));
        all.push("--lab-of".into());
        all.push(self.port.to_string());
        Cluster::run_cli(&all).await
    }

    async fn chaos_ok(&self, args: &[&str]) -> String {
        let (ok, out) = self.chaos(args).await;
        assert!(ok, "meridian chaos {args:?} failed: {out}");
        out
    }

    async fn status(&self) -> String {
        let (ok, out) =
            Cluster::run_cli(&["status".into(), "--lab-of".into(), self.port.to_string()]).await;
        assert!(ok, "{out}");
        out
    }
}

/// Waits until `table` exists (ACTIVE) in every region of the lab.
async fn wait_everywhere(lab: &DevLab, table: &str) {
    wait_everywhere_of(lab, table, REGIONS.len()).await;
}

/// Waits until `table` exists in the lab's first `regions` regions.
async fn wait_everywhere_of(lab: &DevLab, table: &str, regions: usize) {
    for i in 0..regions {
        let c = lab.client(i);
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.describe_table().table_name(table).send().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "{table} never reached region {i}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A raw HTTP POST; returns (status, headers, body).
async fn http_post(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_lowercase(), body.to_owned())
}

/// The numbers `key=N` takes in the lines of `text` that contain `needle`.
fn figures(text: &str, needle: &str, key: &str) -> Vec<u64> {
    text.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")))
                .and_then(|v| v.parse().ok())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_pause_replication_queues_writes_then_converges_with_conflicts_resolved() {
    tracing_phase("--- a dev lab and a global table");
    let lab = DevLab::start(&REGIONS);
    let east = lab.client(0);
    let west = lab.client(1);
    let south = lab.client(2);
    create_simple_table(&east, "orders").await;
    wait_everywhere(&lab, "orders").await;

    tracing_phase("--- pause it, by ARN, for a few seconds, as the fault service would");
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/orders";
    let out = lab
        .chaos_ok(&["pause-replication", "--table", arn, "--duration", "PT6S"])
        .await;
    assert!(out.contains("installed"), "{out}");
    let listed = lab.chaos_ok(&["list"]).await;
    assert!(listed.contains("pause-replication"), "{listed}");

    tracing_phase("--- writes in two regions are accepted and queue up");
    for i in 0..5 {
        put_v(&east, "orders", &format!("east-{i}"), "e").await;
    }
    put_v(&east, "orders", "both", "from-east").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    put_v(&west, "orders", "both", "from-west").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        get_v(&south, "orders", "east-0").await,
        None,
        "shipped while paused"
    );
    assert_eq!(
        get_v(&west, "orders", "east-0").await,
        None,
        "shipped while paused"
    );
    let status = lab.status().await;
    let pending = figures(&status, "replication us-east-1->eu-west-1", "pending");
    assert!(
        pending.iter().any(|&p| p >= 6),
        "pending {pending:?}\n{status}"
    );
    let lag = figures(&status, "replication us-east-1->eu-west-1", "lag_ms");
    assert!(lag.iter().any(|&l| l >= 1000), "lag {lag:?}\n{status}");
    assert!(status.contains("kind=pause-replication"), "{status}");

    tracing_phase("--- it heals itself; every region converges, the later write wins");
    let items = wait_converged(
        &[east.clone(), west.clone(), south.clone()],
        "orders",
        CONVERGE,
    )
    .await;
    assert_eq!(items.len(), 6, "{items:?}");
    for c in [&east, &west, &south] {
        assert_eq!(
            get_v(c, "orders", "both").await.as_deref(),
            Some("from-west")
        );
    }
    let listed = lab.chaos_ok(&["list"]).await;
    assert!(listed.contains("no active faults"), "{listed}");
    let status = lab.status().await;
    let conflicts = figures(&status, "replication us-east-1->eu-west-1", "conflicts");
    assert!(
        conflicts.iter().any(|&c| c >= 1),
        "conflicts {conflicts:?}\n{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_a_skewed_clock_decides_last_writer_wins() {
    let lab = DevLab::start(&REGIONS);
    let east = lab.client(0);
    let west = lab.client(1);
    create_simple_table(&east, "skewed").await;
    wait_everywhere(&lab, "skewed").await;
    tracing_phase("--- us-east-1 runs an hour fast; concurrent writes (replication paused)");
    lab.chaos_ok(&[
        "clock-skew",
        "--region",
        "us-east-1",
        "--offset-ms",
        "3600000",
    ])
    .await;
    lab.chaos_ok(&[
        "pause-replication",
        "--table",
        "skewed",
        "--duration",
        "PT3S",
    ])
    .await;
    put_v(&east, "skewed", "k", "east-first").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    put_v(&west, "skewed", "k", "west-later").await;
    tracing_phase("--- after the pause, its earlier write wins everywhere: LWW by skewed time");
    for c in [&east, &west, &lab.client(2)] {
        wait_value(c, "skewed", "k", Some("east-first"), CONVERGE).await;
    }
    tracing_phase("--- a write made after seeing the skewed one still wins (the HLC)");
    put_v(&west, "skewed", "k", "west-after-seeing").await;
    for c in [&east, &west, &lab.client(2)] {
        wait_value(c, "skewed", "k", Some("west-after-seeing"), CONVERGE).await;
    }
    let (ok, out) = lab
        .chaos(&["clock-skew", "--region", "us-east-1", "--offset-ms", "0"])
        .await;
    assert!(!ok && out.contains("must not be 0"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_injected_errors_exercise_sdk_retries() {
    let lab = DevLab::start(&["us-east-1"]);
    let east = lab.client(0);
    create_simple_table(&east, "throttled").await;
    tracing_phase("--- a client without retries sees the throttling error, with its reasons");
    lab.chaos_ok(&[
        "inject-error",
        "--error",
        "ProvisionedThroughputExceededException",
        "--operation",
        "PutItem",
        "--table",
        "throttled",
        "--count",
        "2",
        "--id",
        "throttle-puts",
    ])
    .await;
    let err = east
        .put_item()
        .table_name("throttled")
        .item("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "ProvisionedThroughputExceededException");
    let SdkError::ServiceError(service) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        service.raw().headers().get("x-meridian-chaos"),
        Some("throttle-puts")
    );
    let aws_sdk_dynamodb::operation::put_item::PutItemError::ProvisionedThroughputExceededException(
        throttled,
    ) = service.err()
    else {
        panic!("{err:?}")
    };
    let reasons = throttled.throttling_reasons();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(
        reasons[0].reason(),
        Some("TableWriteProvisionedThroughputExceeded")
    );
    tracing_phase("--- other operations and tables are untouched");
    create_simple_table(&east, "other").await;
    east.put_item()
        .table_name("other")
        .item("pk", s("a"))
        .send()
        .await
        .expect("another table");
    east.get_item()
        .table_name("throttled")
        .key("pk", s("a"))
        .send()
        .await
        .expect("another operation");
    tracing_phase("--- a retrying client gets through once the count is spent");
    let retrying = Client::from_conf(
        east.config()
            .to_builder()
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(10)),
            )
            .build(),
    );
    retrying
        .put_item()
        .table_name("throttled")
        .item("pk", s("b"))
        .send()
        .await
        .expect("retried past one injected error");
    assert!(lab.chaos_ok(&["list"]).await.contains("no active faults"));

    tracing_phase("--- a 500 at a rate, and a delay only, with the header only when it fired");
    lab.chaos_ok(&[
        "inject-error",
        "--error",
        "InternalServerError",
        "--operation",
        "GetItem",
    ])
    .await;
    let err = east
        .get_item()
        .table_name("other")
        .key("pk", s("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "InternalServerError");
    lab.chaos_ok(&["clear"]).await;
    lab.chaos_ok(&["inject-error", "--operation", "Scan", "--delay-ms", "400"])
        .await;
    let addr = lab.server.url().trim_start_matches("http://").to_owned();
    let scan = r#"{"TableName":"other"}"#;
    let target = [("x-amz-target", "DynamoDB_20120810.Scan")];
    let started = Instant::now();
    let (status, head, _) = http_post(&addr, "/", &target, scan).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(head.contains("x-meridian-chaos:"), "{head}");
    let get = [("x-amz-target", "DynamoDB_20120810.GetItem")];
    let (status, head, _) = http_post(
        &addr,
        "/",
        &get,
        r#"{"TableName":"other","Key":{"pk":{"S":"a"}}}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!head.contains("x-meridian-chaos"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_slow_and_lossy_links_between_regions() {
    let lab = DevLab::start(&["us-east-1", "eu-west-1"]);
    let east = lab.client(0);
    let west = lab.client(1);
    create_simple_table(&east, "slow").await;
    wait_everywhere_of(&lab, "slow", 2).await;
    tracing_phase("--- 800 ms on the east->west link: replication takes at least that");
    lab.chaos_ok(&[
        "delay",
        "--from",
        "us-east-1",
        "--to",
        "eu-west-1",
        "--latency-ms",
        "800",
        "--jitter-ms",
        "100",
    ])
    .await;
    let started = Instant::now();
    put_v(&east, "slow", "k", "1").await;
    wait_value(&west, "slow", "k", Some("1"), CONVERGE).await;
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    let status = lab.status().await;
    let latency = figures(
        &status,
        "replication us-east-1->eu-west-1",
        "latency_last_ms",
    );
    assert!(latency.iter().any(|&ms| ms >= 800), "{latency:?}\n{status}");
    tracing_phase(
        "--- the other direction is untouched; a link that drops everything delivers nothing",
    );
    lab.chaos_ok(&["clear"]).await;
    lab.chaos_ok(&["delay", "--from", "us-east-1", "--drop", "1"])
        .await;
    put_v(&east, "slow", "lost", "1").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(get_v(&west, "slow", "lost").await, None);
    let status = lab.status().await;
    let retries = figures(&status, "replication us-east-1->eu-west-1", "retries");
    assert!(retries.iter().any(|&n| n >= 1), "{retries:?}\n{status}");
    lab.chaos_ok(&["clear"]).await;
    wait_value(&west, "slow", "lost", Some("1"), CONVERGE).await;
}

/// Issue 13: region A deletes an item while an older write of it from region C is still on
/// its way to A (C cannot reach A; B and the other direction work). The delete must win
/// everywhere, for good, and the tombstones must still be collected once every region is past
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t90_issue_13_an_acknowledged_delete_never_comes_back() {
    let lab = DevLab::start(&REGIONS);
    let (a, b, c) = (lab.client(0), lab.client(1), lab.client(2));
    create_simple_table(&a, "deletes").await;
    wait_everywhere(&lab, "deletes").await;
    put_v(&a, "deletes", "k", "first").await;
    for client in [&a, &b, &c] {
        wait_value(client, "deletes", "k", Some("first"), CONVERGE).await;
    }
    tracing_phase("--- C cannot reach A; C writes k, which reaches B only");
    lab.chaos_ok(&[
        "delay",
        "--from",
        "ap-southeast-1",
        "--to",
        "us-east-1",
        "--drop",
        "1",
        "--id",
        "c-to-a",
    ])
    .await;
    put_v(&c, "deletes", "k", "older-from-c").await;
    wait_value(&b, "deletes", "k", Some("older-from-c"), CONVERGE).await;
    tracing_phase("--- A deletes k (later): B and C apply the delete and acknowledge it");
    tokio::time::sleep(Duration::from_millis(20)).await;
    a.delete_item()
        .table_name("deletes")
        .key("pk", s("k"))
        .send()
        .await
        .expect("delete");
    for client in [&b, &c] {
        wait_value(client, "deletes", "k", None, CONVERGE).await;
    }
    // Long enough for every acknowledgement, trim and anti-entropy round to happen.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = lab.status().await;
    assert!(
        status.contains("tombstones table=deletes held=1"),
        "{status}"
    );
    tracing_phase("--- heal: C's older write reaches A and must lose to the delete");
    lab.chaos_ok(&["clear"]).await;
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        for (i, client) in [&a, &b, &c].into_iter().enumerate() {
            assert_eq!(
                get_v(client, "deletes", "k").await,
                None,
                "the deleted item came back in region {i}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tracing_phase("--- every region is past the delete: its tombstones are collected");
    let deadline = Instant::now() + CONVERGE;
    loop {
        let status = lab.status().await;
        let held = figures(&status, "tombstones table=deletes", "held");
        if held.len() == 3 && held.iter().all(|&n| n == 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tombstones never collected: {held:?}\n{status}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for client in [&a, &b, &c] {
        assert_eq!(get_v(client, "deletes", "k").await, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_kill_and_restart_a_region_of_the_lab() {
    let lab = DevLab::start(&REGIONS);
    let file = lab.lab_file();
    let west_url = format!("http://{}", file.regions[1].nodes[0].1);
    assert_eq!(file.regions[1].name, "eu-west-1");
    let east = lab.client(0);
    create_simple_table(&east, "failover").await;
    wait_everywhere(&lab, "failover").await;
    tracing_phase("--- eu-west-1 goes down: its port refuses connections");
    let out = lab.chaos_ok(&["kill", "--region", "eu-west-1"]).await;
    assert!(out.contains("eu-west-1 node 1"), "{out}");
    let west_direct = client_in_region(&west_url, "eu-west-1");
    let err = west_direct.list_tables().send().await.unwrap_err();
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
    put_v(&east, "failover", "while-down", "1").await;
    tracing_phase("--- it comes back on its storage and catches up");
    lab.chaos_ok(&["restart", "--region", "eu-west-1"]).await;
    wait_value(&west_direct, "failover", "while-down", Some("1"), CONVERGE).await;
    put_v(&west_direct, "failover", "after", "2").await;
    wait_value(&east, "failover", "after", Some("2"), CONVERGE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_bad_chaos_input_is_a_clear_400() {
    let lab = DevLab::start(&["us-east-1", "eu-west-1"]);
    create_simple_table(&lab.client(0), "real").await;
    for (args, expected) in [
        (
            vec![
                "pause-replication",
                "--table",
                "ghost",
                "--duration",
                "PT1M",
            ],
            "ResourceNotFoundException: Requested resource not found: Table: ghost not found",
        ),
        (
            vec!["pause-replication", "--table", "real", "--duration", "PT5X"],
            "ValidationException: invalid duration \"PT5X\"",
        ),
        (
            vec!["partition-region", "--region", "mars-north-1"],
            "ValidationException: unknown region \"mars-north-1\"",
        ),
        (
            vec![
                "partition-region",
                "--region",
                "us-east-1",
                "--direction",
                "sideways",
            ],
            "use both, outbound or inbound",
        ),
        (
            vec!["partition-node", "--region", "us-east-1", "--node", "7"],
            "region us-east-1 has no node 7",
        ),
        (
            vec!["delay", "--drop", "2"],
            "drop_probability must be between 0 and 1",
        ),
        (
            vec!["inject-error", "--error", "TeapotException"],
            "use one of",
        ),
        (
            vec![
                "inject-error",
                "--error",
                "ThrottlingException",
                "--operation",
                "Frobnicate",
            ],
            "unknown operation",
        ),
        (vec!["clear", "--id", "nope"], "no active fault has the id"),
        (vec!["kill", "--region", "mars-north-1"], "unknown region"),
    ] {
        let (ok, out) = lab.chaos(&args).await;
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(out.contains(expected), "{args:?}: {out}");
        assert!(!out.contains("panicked"), "{out}");
    }
    let file = lab.lab_file();
    tracing_phase("--- the API port's admin calls take the lab secret too");
    let api = lab.server.url().trim_start_matches("http://").to_owned();
    let admin = [("x-meridian-admin-secret", file.secret.as_str())];
    let (status, _, body) = http_post(&api, "/_meridian/ttl/sweep", &admin, "").await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = http_post(&api, "/_meridian/ttl/sweep", &[], "").await;
    assert_ne!(status, 200);
    tracing_phase("--- the lab listener answers DynamoDB-shaped 400s and wants the secret");
    let secret = [("x-meridian-cluster-secret", file.secret.as_str())];
    let (status, _, body) =
        http_post(&file.lab_addr, "/admin/chaos/add", &secret, "{not json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("ValidationException"), "{body}");
    let (status, _, body) = http_post(
        &file.lab_addr,
        "/admin/chaos/add",
        &secret,
        r#"{"fault":{"kind":"meteor-strike"}}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = http_post(&file.lab_addr, "/admin/chaos/list", &[], "{}").await;
    assert_eq!(status, 403);
    let (status, _, _) = http_post(&file.lab_addr, "/admin/nothing", &secret, "{}").await;
    assert_eq!(status, 404);
    assert!(lab.chaos_ok(&["list"]).await.contains("no active faults"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_partition_the_leader_of_a_three_node_region() {
    let mut region = Cluster::start(3).await;
    let leader = region.wait_leader(Duration::from_secs(20)).await;
    let config = region.nodes[0].config.display().to_string();
    let c = region.nodes[(leader + 1) % 3].client();
    create_simple_table(&c, "split").await;
    put_v(&c, "split", "before", "1").await;
    tracing_phase("--- cut the leader off from its peers; the other two elect a new one");
    let leader_id = region.nodes[leader].id.to_string();
    let (ok, out) = Cluster::run_cli(&[
        "chaos".into(),
        "partition-node".into(),
        "--config".into(),
        config.clone(),
        "--region".into(),
        REGION.into(),
        "--node".into(),
        leader_id.clone(),
        "--duration".into(),
        "PT30S".into(),
    ])
    .await;
    assert!(ok && out.contains("installed on 3 of 3 nodes"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let attempt = c
            .put_item()
            .table_name("split")
            .item("pk", s("during"))
            .item("v", s("2"))
            .send()
            .await;
        if attempt.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no write during the partition: {attempt:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = region.status((leader + 1) % 3).await.expect("status");
    assert_ne!(status.get("leader"), Some(&leader_id), "{status:?}");
    let (code, metrics) = peer_get(region.nodes[0].peer_port, "/metrics", Some(REGION_SECRET))
        .await
        .expect("metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("meridian_chaos_faults_active{kind=\"partition-node\"} 1"),
        "{metrics}"
    );
    let (ok, out) = Cluster::run_cli(&[
        "chaos".into(),
        "list".into(),
        "--config".into(),
        config.clone(),
    ])
    .await;
    assert!(ok && out.contains("partition-node"), "{out}");
    tracing_phase("--- heal: the old leader catches up");
    let (ok, out) =
        Cluster::run_cli(&["chaos".into(), "clear".into(), "--config".into(), config]).await;
    assert!(ok, "{out}");
    let old = region.nodes[leader].client();
    wait_value(&old, "split", "during", Some("2"), CONVERGE).await;
    region.kill(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_cut_a_region_off_between_processes() {
    let lab = Lab::start(&REGIONS[..2]).await;
    let a = lab.client(0);
    let b = lab.client(1);
    a.create_table()
        .table_name("cut")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(attr_def(
            "pk",
            aws_sdk_dynamodb::types::ScalarAttributeType::S,
        ))
        .key_schema(key_elem("pk", aws_sdk_dynamodb::types::KeyType::Hash))
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("meridian:replicas")
                .value(REGIONS[1])
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create global table");
    put_v(&a, "cut", "first", "1").await;
    wait_value(&b, "cut", "first", Some("1"), CONVERGE).await;
    let config = lab.regions[0].config.display().to_string();
    let (ok, out) = Cluster::run_cli(&[
        "chaos".into(),
        "partition-region".into(),
        "--config".into(),
        config.clone(),
        "--region".into(),
        REGIONS[0].into(),
        "--duration".into(),
        "PT4S".into(),
    ])
    .await;
    assert!(ok && out.contains("installed on 2 of 2 nodes"), "{out}");
    put_v(&a, "cut", "during", "a").await;
    put_v(&b, "cut", "during-b", "b").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        get_v(&b, "cut", "during").await,
        None,
        "crossed the partition"
    );
    assert_eq!(
        get_v(&a, "cut", "during-b").await,
        None,
        "crossed the partition"
    );
    let status = lab.status(0).await;
    assert!(status.contains("kind=partition-region"), "{status}");
    wait_converged(&[a.clone(), b.clone()], "cut", CONVERGE).await;
    assert_eq!(get_v(&b, "cut", "during").await.as_deref(), Some("a"));
    let (ok, out) =
        Cluster::run_cli(&["chaos".into(), "list".into(), "--config".into(), config]).await;
    assert!(ok && out.contains("no active faults"), "{out}");
}

/// Announces a phase of a test (shown with --nocapture).
fn tracing_phase(phase: &str) {
    eprintln!("{phase}");
}
