//! A three-member group in one process over the real peer transport on loopback: election,
//! writes and linearizable reads through any member, the cluster secret, and leader loss.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use storage::{ApplyView, Space, Store};

use crate::network::{CallError, PeerClient};
use crate::wire::paths;
use crate::{PeerNode, RaftError, RaftSettings, RegionGroup, StateMachineLogic};

/// Puts each payload into `Space::Items` under itself and answers with its length.
struct EchoLogic;

impl StateMachineLogic for EchoLogic {
    fn apply(
        &self,
        view: &mut ApplyView<'_>,
        payload: &[u8],
    ) -> Result<Vec<u8>, storage::StorageError> {
        view.put(Space::Items, payload.to_vec(), payload.to_vec());
        Ok((payload.len() as u64).to_be_bytes().to_vec())
    }
}

const SECRET: &str = "test-secret-0123456789";

struct Member {
    group: RegionGroup,
    store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn start_region(n: u64) -> BTreeMap<u64, Member> {
    if let Ok(filter) = std::env::var("MERIDIAN_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let mut listeners = BTreeMap::new();
    let mut nodes = BTreeMap::new();
    for id in 1..=n {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        nodes.insert(
            id,
            PeerNode {
                api_addr: String::new(),
                peer_addr: addr,
            },
        );
        listeners.insert(id, listener);
    }
    let mut members = BTreeMap::new();
    for (id, listener) in listeners {
        let store = Store::open(None, 8 << 20).unwrap();
        let mut peers = nodes.clone();
        let node = peers.remove(&id).unwrap();
        let settings = RaftSettings {
            cluster_secret: SECRET.into(),
            node,
            peers,
            ..RaftSettings::default()
        }
        .multi_node_timings();
        let group = RegionGroup::start(id, store.clone(), Arc::new(EchoLogic), settings)
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = group.clone();
        tokio::spawn(async move {
            serving
                .serve_peers(listener, async {
                    let _ = rx.await;
                })
                .await;
        });
        members.insert(
            id,
            Member {
                group,
                store,
                stop: Some(tx),
            },
        );
    }
    members
}

async fn wait_leader(members: &BTreeMap<u64, Member>, except: Option<u64>) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for (id, m) in members {
            if Some(*id) != except && m.group.is_leader() {
                return *id;
            }
        }
        assert!(Instant::now() < deadline, "no leader elected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_three_members_write_and_read_through_any_member() {
    let members = start_region(3).await;
    let leader = wait_leader(&members, None).await;
    for (id, m) in &members {
        let key = format!("k{id}").into_bytes();
        let answer = m.group.write(key.clone()).await.unwrap();
        assert_eq!(answer, (key.len() as u64).to_be_bytes().to_vec());
        // Linearizable on every member, whoever proposed.
        for other in members.values() {
            other.group.ensure_linearizable().await.unwrap();
            assert_eq!(
                other.store.get(Space::Items, &key).unwrap(),
                Some(key.clone())
            );
        }
    }
    let status = members[&leader].group.metrics();
    assert_eq!(status.voters, vec![1, 2, 3]);
    assert!(status.to_string().contains("role=Leader"));
    for m in members.values() {
        m.group.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_peer_requests_without_the_secret_are_refused() {
    let members = start_region(3).await;
    let addr = members[&1].group.settings.node.peer_addr.clone();
    let t = Duration::from_secs(5);
    let wrong = PeerClient::new("not-the-secret");
    let e = wrong
        .call::<_, Result<Vec<u8>, RaftError>>(&addr, paths::WRITE, &b"x".to_vec(), t)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Failed { reason, .. } if reason.contains("403")),
        "{e}"
    );
    // No header at all: 401.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = http::Request::post(format!("http://{addr}{}", paths::VOTE))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
    // A member that is not listening is unreachable, not a hang.
    let gone = PeerClient::new(SECRET);
    let e = gone
        .call::<_, Result<Vec<u8>, RaftError>>("127.0.0.1:9", paths::WRITE, &Vec::<u8>::new(), t)
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Unreachable { .. }), "{e}");
    for m in members.values() {
        m.group.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_writes_resume_after_the_leader_stops() {
    let mut members = start_region(3).await;
    let leader = wait_leader(&members, None).await;
    let follower = *members.keys().find(|id| **id != leader).unwrap();
    members[&follower]
        .group
        .write(b"before".to_vec())
        .await
        .unwrap();
    let old = members.get_mut(&leader).unwrap();
    old.group.shutdown().await;
    if let Some(stop) = old.stop.take() {
        let _ = stop.send(());
    }
    let stopped = Instant::now();
    let new_leader = wait_leader(&members, Some(leader)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match members[&follower].group.write(b"after".to_vec()).await {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "writes did not resume: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("leader {leader} -> {new_leader} in {:?}", stopped.elapsed());
    for (id, m) in &members {
        if *id == leader {
            continue;
        }
        m.group.ensure_linearizable().await.unwrap();
        assert_eq!(
            m.store.get(Space::Items, b"before").unwrap(),
            Some(b"before".to_vec())
        );
        assert_eq!(
            m.store.get(Space::Items, b"after").unwrap(),
            Some(b"after".to_vec())
        );
    }
    for m in members.values() {
        m.group.shutdown().await;
    }
}
