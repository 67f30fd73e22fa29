//! Metrics a scraper takes unchanged (issue 12): `GET /metrics` on the API port of a single
//! node and of a `meridian dev` lab, in the Prometheus text format, clean under
//! `promtool check metrics`, and scraped by a real Prometheus server with no setup.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use meridian_tests::{client_in_region, create_simple_table, free_port, Server, REGION};

/// A GET on loopback: (status, headers lower-cased, body).
async fn get(port: u16, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("answer within 10 s")
        .expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// The exposition at `port`, checked to be served with the Prometheus text content type.
async fn scrape(port: u16) -> String {
    let (status, head, body) = get(port, "/metrics").await;
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "not the Prometheus text format: {head}"
    );
    body
}

/// `promtool check metrics` on `text`: no parse errors and no lint problems.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's `prometheus` package; `make test` installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics: {said}\n--- text:\n{text}"
    );
    assert!(said.trim().is_empty(), "promtool found problems: {said}");
}

/// The value of the series `name{labels…}` whose line contains every one of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn t10_a_single_node_serves_request_raft_and_storage_metrics_that_promtool_accepts() {
    let server = Server::start().await;
    let client = server.client();
    create_simple_table(&client, "metered").await;
    for i in 0..3 {
        client
            .put_item()
            .table_name("metered")
            .item("pk", AttributeValue::S(format!("k{i}")))
            .item("v", AttributeValue::S("x".repeat(1500)))
            .send()
            .await
            .expect("put");
    }
    client
        .get_item()
        .table_name("metered")
        .key("pk", AttributeValue::S("k1".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    // A rejected request: counted under its __type.
    let bad = client
        .get_item()
        .table_name("metered")
        .key("nope", AttributeValue::S("k1".into()))
        .send()
        .await;
    assert!(bad.is_err());

    let text = scrape(server.port()).await;
    promtool_check(&text);
    let put = [
        "operation=\"PutItem\"",
        "table=\"metered\"",
        &format!("region=\"{REGION}\""),
    ];
    assert_eq!(
        value(&text, "meridian_requests_total", &put),
        Some(3.0),
        "{text}"
    );
    // 1,500-byte items cost 2 write units each.
    assert_eq!(
        value(&text, "meridian_consumed_write_capacity_units_total", &put),
        Some(6.0),
        "{text}"
    );
    // A strongly consistent read of a 1.5 KB item: 1 read unit.
    assert_eq!(
        value(
            &text,
            "meridian_consumed_read_capacity_units_total",
            &["operation=\"GetItem\"", "table=\"metered\""]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "meridian_request_errors_total",
            &["operation=\"GetItem\"", "error=\"ValidationException\""]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "meridian_request_duration_seconds_count",
            &["operation=\"PutItem\""]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "meridian_raft_is_leader", &["node=\"1\""]),
        Some(1.0)
    );
    assert!(value(&text, "meridian_raft_term", &[]).is_some_and(|t| t >= 1.0));
    assert_eq!(value(&text, "meridian_tables", &[]), Some(1.0), "{text}");
    assert_eq!(value(&text, "meridian_storage_in_memory", &[]), Some(1.0));
    assert!(
        value(
            &text,
            "meridian_chaos_faults_active",
            &["kind=\"inject-error\""]
        ) == Some(0.0)
    );
    assert!(!text.contains("_ms"), "units are seconds, not ms: {text}");
}

/// A `meridian dev` lab of two regions.
fn dev_lab() -> Server {
    let args: Vec<String> = [
        "dev",
        "--in-memory",
        "--port",
        "0",
        "--regions",
        "us-east-1,eu-west-1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    Server::spawn(&args).expect("starting meridian dev")
}

#[tokio::test]
async fn t10_a_dev_lab_serves_every_region_replication_and_chaos_on_its_shared_port() {
    let lab = dev_lab();
    let east = client_in_region(lab.url(), "us-east-1");
    let west = client_in_region(lab.url(), "eu-west-1");
    create_simple_table(&east, "everywhere").await;
    east.put_item()
        .table_name("everywhere")
        .item("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .expect("put");
    // Wait for the write to reach the other region, so the pair's figures exist.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = west
            .get_item()
            .table_name("everywhere")
            .key("pk", AttributeValue::S("a".into()))
            .send()
            .await;
        if got.is_ok_and(|g| g.item.is_some()) {
            break;
        }
        assert!(Instant::now() < deadline, "the write never replicated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = scrape(lab.port()).await;
    promtool_check(&text);
    for region in ["us-east-1", "eu-west-1"] {
        assert!(
            value(
                &text,
                "meridian_raft_is_leader",
                &[&format!("region=\"{region}\"")]
            ) == Some(1.0),
            "{region}: {text}"
        );
    }
    // The sender's figures, as the us-east-1 node reports them (the receiver reports the
    // same pair's applied and conflict counts under its own region label).
    let pair = [
        "source=\"us-east-1\"",
        "destination=\"eu-west-1\"",
        "region=\"us-east-1\"",
    ];
    assert!(
        value(&text, "meridian_replication_changes_sent_total", &pair).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(value(&text, "meridian_replication_lag_seconds", &pair).is_some());
    assert!(value(&text, "meridian_replication_pending", &pair).is_some());
    assert!(
        text.contains("# TYPE meridian_replication_latency_seconds histogram"),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "meridian_requests_total",
            &["operation=\"PutItem\"", "region=\"us-east-1\""]
        ),
        Some(1.0)
    );
    assert!(text.contains("meridian_chaos_faults_active{kind=\"pause-replication\"} 0"));
}

/// A Prometheus server (Debian's `prometheus`) started with a scrape config naming `targets`.
struct Prometheus {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(targets: &[(&str, u16)]) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config =
            String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
        for (job, port) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            ));
        }
        let path = dir.path().join("prometheus.yml");
        std::fs::write(&path, config).expect("write the config");
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian's `prometheus` package; `make test` installs it)");
        Prometheus {
            child,
            port,
            _dir: dir,
        }
    }

    /// The result vector of an instant query (empty while Prometheus is starting).
    async fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let encoded: String = expr
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let (status, _, body) = match tokio::time::timeout(
            Duration::from_secs(5),
            get_maybe(self.port, &format!("/api/v1/query?query={encoded}")),
        )
        .await
        {
            Ok(Some(answer)) => answer,
            _ => return Vec::new(),
        };
        if status != 200 {
            return Vec::new();
        }
        let body = dechunk(&body);
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default()
    }
}

/// Like [`get`], but `None` while nothing listens.
async fn get_maybe(port: u16, path: &str) -> Option<(u16, String, String)> {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    Some(get(port, path).await)
}

/// Undoes `Transfer-Encoding: chunked` if the body is chunked (Prometheus' API may chunk).
fn dechunk(body: &str) -> String {
    if body.trim_start().starts_with('{') {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

#[tokio::test]
async fn t10_a_prometheus_server_scrapes_a_single_node_and_a_dev_lab_with_no_setup() {
    let single = Server::start().await;
    let lab = dev_lab();
    let client = single.client();
    create_simple_table(&client, "scraped").await;
    client
        .put_item()
        .table_name("scraped")
        .item("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .expect("put");
    let prometheus = Prometheus::start(&[("single", single.port()), ("lab", lab.port())]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = prometheus.query("up == 1").await;
        let jobs: Vec<&str> = up
            .iter()
            .filter_map(|r| r["metric"]["job"].as_str())
            .collect();
        let requests = prometheus
            .query(
                "meridian_requests_total{job=\"single\",operation=\"PutItem\",table=\"scraped\"}",
            )
            .await;
        let lab_raft = prometheus
            .query("meridian_raft_is_leader{job=\"lab\"} == 1")
            .await;
        if jobs.contains(&"single")
            && jobs.contains(&"lab")
            && !requests.is_empty()
            && lab_raft.len() == 2
        {
            assert_eq!(requests[0]["value"][1].as_str(), Some("1"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape both targets within 60 s (up: {jobs:?}, requests: {requests:?}, lab leaders: {lab_raft:?})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
