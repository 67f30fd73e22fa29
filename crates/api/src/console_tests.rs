//! The web console's paths on a real listener: who may load the page and call its endpoints
//! (loopback or the opt-in, the console header, refused preflights), the status fallback, and
//! the chaos controls' answers and errors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::local::LocalRegion;
use crate::region::BoxFuture;
use crate::{ApiError, Region, ServeOptions};

/// A local region with a chaos state and a topology, as the server's regions have.
struct ChaosRegion {
    inner: LocalRegion,
    chaos: chaos::NodeChaos,
}

impl Region for ChaosRegion {
    fn propose(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<Vec<u8>, ApiError>> {
        self.inner.propose(payload)
    }
    fn linearize(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        self.inner.linearize()
    }
    fn store(&self) -> &storage::Store {
        self.inner.store()
    }
    fn region_name(&self) -> &str {
        self.inner.region_name()
    }
    fn clock(&self) -> &dyn model::Clock {
        self.inner.clock()
    }
    fn chaos(&self) -> Option<&chaos::NodeChaos> {
        Some(&self.chaos)
    }
    fn chaos_topology(&self) -> Option<chaos::Topology> {
        let mut regions = BTreeMap::new();
        regions.insert("us-east-1".to_owned(), Some(BTreeSet::from([1])));
        regions.insert("eu-west-1".to_owned(), None);
        Some(chaos::Topology {
            regions,
            tables: BTreeSet::from(["orders".to_owned()]),
            operations: BTreeSet::from(["PutItem".to_owned()]),
        })
    }
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Serves `region` with `options` on a loopback port; returns the address.
async fn start(region: Arc<dyn Region>, options: impl FnOnce(&mut ServeOptions)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut serve_options = ServeOptions::for_addr(addr);
    options(&mut serve_options);
    tokio::spawn(crate::serve_with(
        listener,
        vec![region],
        serve_options,
        std::future::pending(),
    ));
    addr.to_string()
}

/// One request on a fresh connection (`Connection: close`), read to the end.
async fn exchange(addr: &str, method: &str, path: &str, headers: &[&str], body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(bytes[..end].to_vec()).unwrap();
    Reply {
        status: head[9..12].parse().unwrap(),
        head,
        body: bytes[end + 4..].to_vec(),
    }
}

const CONSOLE: &str = "x-meridian-console: 1";

fn local() -> Arc<dyn Region> {
    Arc::new(crate::tests::region())
}

fn with_chaos() -> Arc<dyn Region> {
    Arc::new(ChaosRegion {
        inner: crate::tests::region(),
        chaos: chaos::NodeChaos::new(chaos::Chaos::new(), "us-east-1", 1),
    })
}

#[tokio::test]
async fn t10_page_and_assets_are_served_on_loopback() {
    let addr = start(local(), |_| {}).await;
    let page = exchange(&addr, "GET", "/console", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("/console/console.js"));
    for (path, kind) in [
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let asset = exchange(&addr, "GET", path, &[], "").await;
        assert_eq!(asset.status, 200, "{path}");
        assert!(asset.header("content-type").unwrap().starts_with(kind));
    }
    let missing = exchange(&addr, "GET", "/console/nope.js", &[], "").await;
    assert_eq!(missing.status, 404);
    let posted = exchange(&addr, "POST", "/console", &[], "").await;
    assert_eq!(posted.status, 405);
    assert!(posted.json()["__type"].is_string());
}

#[tokio::test]
async fn t10_a_non_loopback_listener_without_the_opt_in_has_no_console() {
    let addr = start(local(), |o| o.loopback_hosts_only = false).await;
    for (method, path) in [
        ("GET", "/console"),
        ("GET", "/_meridian/status"),
        ("POST", "/_meridian/chaos/list"),
    ] {
        let reply = exchange(&addr, method, path, &[CONSOLE], "").await;
        assert_eq!(reply.status, 404, "{method} {path}");
    }
    let opted_in = start(local(), |o| {
        o.loopback_hosts_only = false;
        o.console_bind_any = true;
    })
    .await;
    assert_eq!(
        exchange(&opted_in, "GET", "/console", &[], "").await.status,
        200
    );
}

#[tokio::test]
async fn t10_endpoints_need_the_console_header_and_refuse_preflights() {
    let addr = start(with_chaos(), |_| {}).await;
    let bare = exchange(&addr, "GET", "/_meridian/status", &[], "").await;
    assert_eq!(bare.status, 403);
    assert!(bare.json()["__type"]
        .as_str()
        .unwrap()
        .ends_with("MissingAuthenticationTokenException"));
    let bare = exchange(&addr, "POST", "/_meridian/chaos/clear", &[], "{}").await;
    assert_eq!(bare.status, 403);
    let preflight = exchange(
        &addr,
        "OPTIONS",
        "/_meridian/chaos/add",
        &[
            "Origin: https://evil.example",
            "Access-Control-Request-Method: POST",
            "Access-Control-Request-Headers: x-meridian-console",
        ],
        "",
    )
    .await;
    assert_eq!(preflight.status, 403);
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    // A cross-origin answer carries no CORS headers either.
    let read = exchange(
        &addr,
        "GET",
        "/_meridian/status",
        &[CONSOLE, "Origin: https://evil.example"],
        "",
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn t10_status_falls_back_to_the_region_itself() {
    let addr = start(local(), |_| {}).await;
    let reply = exchange(&addr, "GET", "/_meridian/status", &[CONSOLE], "").await;
    assert_eq!(reply.status, 200);
    let status = reply.json();
    assert_eq!(status["serving_region"], "us-east-1");
    assert_eq!(status["regions"][0]["name"], "us-east-1");
    assert_eq!(status["regions"][0]["nodes"][0]["role"], "leader");
    assert_eq!(status["pairs"], Value::Array(vec![]));
    let wrong = exchange(&addr, "DELETE", "/_meridian/status", &[CONSOLE], "").await;
    assert_eq!(wrong.status, 405);
}

#[tokio::test]
async fn t10_chaos_controls_answer_like_the_lab() {
    let addr = start(with_chaos(), |_| {}).await;
    let add = |body: &'static str| {
        let addr = addr.clone();
        async move { exchange(&addr, "POST", "/_meridian/chaos/add", &[CONSOLE], body).await }
    };
    let added = add(
        r#"{"id":"p1","duration":"PT5M","fault":{"kind":"pause-replication","table":"orders","source":"us-east-1","destination":"eu-west-1"}}"#,
    )
    .await;
    assert_eq!(
        added.status,
        200,
        "{}",
        String::from_utf8_lossy(&added.body)
    );
    assert_eq!(added.json()["faults"][0]["id"], "p1");
    let listed = exchange(&addr, "GET", "/_meridian/chaos/list", &[CONSOLE], "").await;
    let faults = listed.json()["faults"].clone();
    assert_eq!(faults[0]["kind"], "pause-replication");
    assert!(faults[0]["remaining_ms"].as_u64().unwrap() > 0);
    let status = exchange(&addr, "GET", "/_meridian/status", &[CONSOLE], "").await;
    assert_eq!(status.json()["faults"][0]["id"], "p1");
    // Bad input: DynamoDB-shaped 400s.
    for (body, kind) in [
        ("not json", "ValidationException"),
        (r#"{"fault":{"kind":"nope"}}"#, "ValidationException"),
        (
            r#"{"fault":{"kind":"partition-region","region":"mars-1"}}"#,
            "ValidationException",
        ),
        (
            r#"{"fault":{"kind":"pause-replication","table":"ghost"}}"#,
            "ResourceNotFoundException",
        ),
        (
            r#"{"duration":"soon","fault":{"kind":"partition-region","region":"eu-west-1"}}"#,
            "ValidationException",
        ),
    ] {
        let reply = add(body).await;
        assert_eq!(reply.status, 400, "{body}");
        let error = reply.json();
        assert!(
            error["__type"].as_str().unwrap().ends_with(kind),
            "{body}: {error}"
        );
        assert!(error["message"].is_string());
    }
    let missing = exchange(
        &addr,
        "POST",
        "/_meridian/chaos/clear",
        &[CONSOLE],
        r#"{"id":"ghost"}"#,
    )
    .await;
    assert_eq!(missing.status, 400);
    let cleared = exchange(&addr, "POST", "/_meridian/chaos/clear", &[CONSOLE], "").await;
    assert_eq!(cleared.json()["cleared"], 1);
    let unknown = exchange(&addr, "POST", "/_meridian/chaos/explode", &[CONSOLE], "").await;
    assert_eq!(unknown.status, 404);
    let get_add = exchange(&addr, "GET", "/_meridian/chaos/add", &[CONSOLE], "").await;
    assert_eq!(get_add.status, 405);
    let too_big = "x".repeat(crate::console::CONSOLE_BODY_BYTES_MAX + 1);
    let reply = exchange(&addr, "POST", "/_meridian/chaos/add", &[CONSOLE], &too_big).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn t10_a_region_without_chaos_says_so() {
    let addr = start(local(), |_| {}).await;
    let reply = exchange(&addr, "POST", "/_meridian/chaos/list", &[CONSOLE], "").await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("no chaos controls"));
}
