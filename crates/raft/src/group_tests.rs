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
        _wall_ms: i64,
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
    start_region_with(n, |s| s).await
}

async fn start_member(
    id: u64,
    peers: BTreeMap<u64, PeerNode>,
    node: PeerNode,
    listener: tokio::net::TcpListener,
    tune: fn(RaftSettings) -> RaftSettings,
) -> Member {
    let store = Store::open(None, 8 << 20).unwrap();
    let settings = tune(
        RaftSettings {
            cluster_secret: SECRET.into(),
            node,
            peers,
            ..RaftSettings::default()
        }
        .multi_node_timings(),
    );
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
    Member {
        group,
        store,
        stop: Some(tx),
    }
}

async fn start_region_with(
    n: u64,
    tune: fn(RaftSettings) -> RaftSettings,
) -> BTreeMap<u64, Member> {
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
        let mut peers = nodes.clone();
        let node = peers.remove(&id).unwrap();
        members.insert(id, start_member(id, peers, node, listener, tune).await);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_a_new_member_catches_up_by_snapshot_then_a_member_is_removed() {
    // Snapshot often and keep little log, so the new member cannot catch up from the log.
    fn tune(s: RaftSettings) -> RaftSettings {
        RaftSettings {
            snapshot_logs_since_last: 20,
            max_in_snapshot_log_to_keep: 2,
            ..s
        }
    }
    let mut members = start_region_with(3, tune).await;
    wait_leader(&members, None).await;
    for i in 0..120u32 {
        members[&(u64::from(i) % 3 + 1)]
            .group
            .write(format!("key-{i}").into_bytes())
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while members
        .values()
        .any(|m| m.group.metrics().purged_index.is_none())
    {
        assert!(Instant::now() < deadline, "the log was never purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Member 4 starts knowing the others; it is not the lowest id, so it waits to be added.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node4 = PeerNode {
        api_addr: String::new(),
        peer_addr: listener.local_addr().unwrap().to_string(),
    };
    let peers: BTreeMap<u64, PeerNode> = members
        .iter()
        .map(|(id, m)| (*id, m.group.settings.node.clone()))
        .collect();
    let four = start_member(4, peers, node4.clone(), listener, tune).await;
    members.insert(4, four);
    // Asked through a follower (forwarded to the leader), over the client function.
    let leader = wait_leader(&members, None).await;
    let follower = *members
        .keys()
        .find(|id| **id != leader && **id != 4)
        .unwrap();
    let addr = members[&follower].group.settings.node.peer_addr.clone();
    let voters = crate::request_membership_change(
        &addr,
        SECRET,
        &crate::MembershipChange::Add { id: 4, node: node4 },
    )
    .await
    .unwrap();
    assert_eq!(voters, vec![1, 2, 3, 4]);
    members[&4].group.ensure_linearizable().await.unwrap();
    for i in 0..120u32 {
        let key = format!("key-{i}").into_bytes();
        assert_eq!(
            members[&4].store.get(Space::Items, &key).unwrap(),
            Some(key)
        );
    }
    assert!(members[&4].group.metrics().snapshot_index.is_some());
    let status = crate::fetch_status(&addr, SECRET).await.unwrap();
    assert!(status.contains("voters=1,2,3,4"), "{status}");

    // Remove a follower that is not 4; the group keeps serving with three voters.
    let removed = *members
        .keys()
        .find(|id| **id != leader && **id != 4)
        .unwrap();
    let voters = members[&4]
        .group
        .change_membership(crate::MembershipChange::Remove { id: removed })
        .await
        .unwrap();
    assert!(
        !voters.contains(&removed) && voters.len() == 3,
        "{voters:?}"
    );
    members[&4]
        .group
        .write(b"after-remove".to_vec())
        .await
        .unwrap();
    for m in members.values() {
        m.group.shutdown().await;
    }
}
