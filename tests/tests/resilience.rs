//! Issue 10: a node never wedges. A stalled-body flood at the file-descriptor limit, forced
//! log flush failures (transient: recovered; hard: the process exits for its supervisor),
//! the truthful health check, CORS, the Host check and the admin secret.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use meridian_tests::aws_sdk_dynamodb::Client;
use meridian_tests::*;

/// Sends one raw HTTP/1.1 request (closing the connection) and returns (status, head, body).
fn raw(port: u16, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn get(port: u16, path: &str) -> (u16, String, String) {
    raw(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    )
}

async fn put(client: &Client, table: &str, pk: &str) -> Result<(), String> {
    client
        .put_item()
        .table_name(table)
        .item("pk", s(pk))
        .item("v", s("x"))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| error_code(&e))
}

#[tokio::test]
async fn t90_issue_10_stalled_body_flood_at_the_fd_limit() {
    eprintln!("--- a durable node under `ulimit -n 256`, bodies due within 2 s");
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = [
        "--port",
        "0",
        "--data-dir",
        &dir.path().display().to_string(),
        "--body-read-timeout-ms",
        "2000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let launch = Launch {
        fd_limit: Some(256),
        ..Launch::default()
    };
    let server = tokio::task::spawn_blocking(move || Server::spawn_launched(&args, &launch))
        .await
        .unwrap()
        .unwrap();
    let port = server.port();
    let c = server.client();
    create_simple_table(&c, "flood").await;
    put(&c, "flood", "before").await.unwrap();

    eprintln!("--- 400 connections send headers, then stall their bodies");
    const FLOOD_CONNECTIONS: usize = 400;
    let flood: Vec<TcpStream> = tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        for _ in 0..FLOOD_CONNECTIONS {
            let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let _ = stream.write_all(
                format!(
                    "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                     X-Amz-Target: DynamoDB_20120810.PutItem\r\n\
                     Content-Type: application/x-amz-json-1.0\r\nContent-Length: 100000\r\n\r\n{{"
                )
                .as_bytes(),
            );
            held.push(stream);
        }
        held
    })
    .await
    .unwrap();
    assert!(
        flood.len() > 256,
        "the flood opened {} connections",
        flood.len()
    );

    eprintln!("--- during the flood: a pooled connection keeps working");
    for i in 0..10 {
        put(&c, "flood", &format!("pooled-{i}")).await.unwrap();
    }

    eprintln!("--- during the flood: new connections get through once stalled bodies time out");
    let started = Instant::now();
    let mut during = 0;
    while started.elapsed() < Duration::from_secs(20) && during < 20 {
        // A new client each time: a new connection, competing with the flood for a slot.
        let fresh = client_for(server.url());
        if put(&fresh, "flood", &format!("during-{during}"))
            .await
            .is_ok()
        {
            during += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        during,
        20,
        "writes during the flood; stderr:\n{}",
        server.stderr_tail()
    );

    eprintln!("--- a stalled connection was answered at the body deadline and closed");
    let mut first = flood.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = first.read_to_string(&mut answer);
    assert!(
        answer.contains("SerializationException") && answer.contains("not received within"),
        "{answer}"
    );

    eprintln!("--- after the flood: the node serves writes and reads");
    let c = client_for(server.url());
    for i in 0..50 {
        put(&c, "flood", &format!("after-{i}")).await.unwrap();
    }
    let got = c
        .get_item()
        .table_name("flood")
        .key("pk", s("after-49"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some());
    let (status, _, body) = get(port, "/_meridian/health");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"raftRunning\":true"), "{body}");
    assert!(
        server
            .stderr_tail()
            .contains("api connection limit reached"),
        "{}",
        server.stderr_tail()
    );
}

async fn spawn_with_failpoint(dir: &std::path::Path, failpoint: &str) -> Server {
    let args: Vec<String> = ["--port", "0", "--data-dir", &dir.display().to_string()]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let launch = Launch {
        env: vec![("MERIDIAN_FAILPOINT_LOG_FLUSH".into(), failpoint.into())],
        ..Launch::default()
    };
    tokio::task::spawn_blocking(move || Server::spawn_launched(&args, &launch))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn t90_issue_10_transient_flush_failures_recover() {
    eprintln!("--- five flushes fail with EMFILE after the first 30");
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_with_failpoint(dir.path(), "exhausted:30:5").await;
    let c = server.client();
    create_simple_table(&c, "flushes").await;
    for i in 0..60 {
        put(&c, "flushes", &format!("k{i}")).await.unwrap();
    }
    let (status, _, body) = get(server.port(), "/_meridian/health");
    assert_eq!(status, 200, "{body}");
    assert!(
        server.stderr_tail().contains("raft log flush recovered"),
        "{}",
        server.stderr_tail()
    );
}

#[tokio::test]
async fn t90_issue_10_a_failed_log_flush_exits_the_process() {
    eprintln!("--- every flush after the first 30 fails with EIO");
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_with_failpoint(dir.path(), "io:30:0").await;
    let c = server.client();
    create_simple_table(&c, "flushes").await;
    let mut acknowledged = Vec::new();
    for i in 0..200 {
        let pk = format!("k{i}");
        match put(&c, "flushes", &pk).await {
            Ok(()) => acknowledged.push(pk),
            Err(_) => break,
        }
    }
    assert!(acknowledged.len() < 200, "writes kept succeeding");

    eprintln!("--- the process exits non-zero with one clear line");
    let status = server.wait_exit(Duration::from_secs(15)).unwrap();
    let status = status.unwrap_or_else(|| panic!("still running; {}", server.stderr_tail()));
    assert_eq!(status.code(), Some(70), "{}", server.stderr_tail());
    assert!(
        server
            .stderr_tail()
            .contains("the raft core stopped: exiting so that a supervisor restarts the node"),
        "{}",
        server.stderr_tail()
    );

    eprintln!("--- restarted (as a supervisor would), every acknowledged write is there");
    drop(server);
    let server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    for pk in &acknowledged {
        let got = c
            .get_item()
            .table_name("flushes")
            .key("pk", s(pk))
            .send()
            .await
            .unwrap();
        assert!(got.item().is_some(), "{pk} lost");
    }
}

#[tokio::test]
async fn t10_health_metrics_cors_host_and_admin_secret() {
    let server = Server::start_with(Storage::InMemory, &["--cors", "http://app.test:3000"])
        .await
        .unwrap();
    let port = server.port();

    eprintln!("--- health tells the truth; /metrics is not a health answer");
    let (status, head, body) = get(port, "/_meridian/health");
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("application/json"), "{head}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["raftRunning"], true);
    assert_eq!(health["storageWritable"], true);
    assert_eq!(health["leader"], 1);
    let (status, _, body) = get(port, "/");
    assert_eq!(status, 200);
    assert!(body.starts_with("healthy"), "{body}");
    // `/metrics` is real metrics (issue 12), never a "healthy" text.
    let (status, _, body) = get(port, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("# TYPE meridian_build_info gauge"), "{body}");
    assert!(!body.contains("healthy"), "{body}");
    let (status, _, body) = get(port, "/nothing-here");
    assert_eq!(status, 404, "{body}");

    eprintln!("--- CORS: only the listed origin");
    let preflight = |origin: &str| {
        raw(
            port,
            &format!(
                "OPTIONS / HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: {origin}\r\n\
                 Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    let (status, head, _) = preflight("http://app.test:3000");
    assert_eq!(status, 200);
    assert!(
        head.contains("access-control-allow-origin: http://app.test:3000"),
        "{head}"
    );
    let (status, head, _) = preflight("http://evil.test");
    assert_eq!(status, 403);
    assert!(!head.contains("access-control-allow-origin"), "{head}");

    eprintln!("--- the Host header must name loopback (no DNS rebinding)");
    let (status, _, body) = raw(
        port,
        "GET /_meridian/health HTTP/1.1\r\nHost: rebound.evil.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("MissingAuthenticationToken"), "{body}");
    for host in ["localhost:1", "[::1]:8000", "127.0.0.1"] {
        let (status, _, body) = raw(
            port,
            &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(status, 200, "{host}: {body}");
    }

    eprintln!("--- the TTL sweep needs the admin secret");
    let sweep = |secret: Option<&str>| {
        let header = secret
            .map(|s| format!("x-meridian-admin-secret: {s}\r\n"))
            .unwrap_or_default();
        raw(
            port,
            &format!(
                "POST /_meridian/ttl/sweep HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{header}\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert_eq!(sweep(None).0, 403);
    assert_eq!(sweep(Some("wrong")).0, 403);
    assert_eq!(sweep(Some(TEST_ADMIN_SECRET)).0, 200);
}

#[tokio::test]
async fn t10_issue_10_connection_cap_and_idle_limit() {
    let server = Server::start_with(
        Storage::InMemory,
        &["--max-connections", "2", "--idle-timeout-ms", "500"],
    )
    .await
    .unwrap();
    let port = server.port();
    eprintln!("--- two idle connections take both slots: a third gets a 503 and is closed");
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let (status, _, body) = get(port, "/_meridian/health");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("ServiceUnavailable"), "{body}");

    eprintln!("--- the idle limit closes them, which frees the slots");
    let started = Instant::now();
    for mut stream in held {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 16];
        // A closed connection reads as end of file.
        assert_eq!(stream.read(&mut buf).unwrap_or(0), 0);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let (status, _, body) = get(port, "/_meridian/health");
    assert_eq!(status, 200, "{body}");
}
