//! Issue 10: the peer listener's health check tells the truth, without the cluster secret.

use std::sync::Arc;

use storage::{ApplyView, Store};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{RaftSettings, RegionGroup, StateMachineLogic};

struct NoLogic;

impl StateMachineLogic for NoLogic {
    fn apply(
        &self,
        _view: &mut ApplyView<'_>,
        _payload: &[u8],
        _wall_ms: i64,
    ) -> Result<Vec<u8>, storage::StorageError> {
        Ok(Vec::new())
    }
}

async fn get_health(addr: std::net::SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer
}

#[tokio::test]
async fn t10_issue_10_peer_health_tells_the_truth() {
    let store = Store::open(None, 8 << 20).expect("store");
    let group = RegionGroup::start(1, store, Arc::new(NoLogic), RaftSettings::default())
        .await
        .expect("start");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serving = group.clone();
    tokio::spawn(async move {
        serving
            .serve_peers(listener, std::future::pending::<()>())
            .await;
    });
    tracing::info!("--- a running leader: 200");
    let answer = get_health(addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("raft_running=true"), "{answer}");
    assert!(answer.contains("leader=1"), "{answer}");
    assert!(group.health().is_healthy());

    tracing::info!("--- the core stopped: 503, and stopped() completes");
    group.shutdown().await;
    let answer = get_health(addr).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("raft_running=false"), "{answer}");
    let reason = tokio::time::timeout(std::time::Duration::from_secs(5), group.stopped())
        .await
        .expect("stopped() completes once the core is down");
    assert!(!reason.is_empty());
}
