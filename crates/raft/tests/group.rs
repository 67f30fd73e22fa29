//! A single-node region group: writes, linearizable reads, restart, snapshots, and the
//! throughput of group commit.

#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use meridian_raft::{RaftError, RaftSettings, RegionGroup, Role, StateMachineLogic};
use storage::{ApplyView, Space, Store};

const CACHE_BYTES: u64 = 16 << 20;
const COUNTER_KEY: &[u8] = b"counter";
/// Start-to-leader is typically 1–10 ms here (a single voter elects itself at once, and is
/// restored as leader on restart); the bound is loose so a loaded CI machine does not flake.
const STARTUP_MS_MAX: u64 = 1000;

/// Stores each payload under itself and answers with a counter of applied payloads. The
/// counter makes later entries of one apply batch depend on earlier ones.
struct CountingLogic;

impl StateMachineLogic for CountingLogic {
    fn apply(
        &self,
        view: &mut ApplyView<'_>,
        payload: &[u8],
        _wall_ms: i64,
    ) -> Result<Vec<u8>, storage::StorageError> {
        let count = match view.get(Space::Meta, COUNTER_KEY)? {
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().unwrap_or([0; 8])),
            None => 0,
        } + 1;
        view.put(
            Space::Meta,
            COUNTER_KEY.to_vec(),
            count.to_be_bytes().to_vec(),
        );
        view.put(Space::Items, payload.to_vec(), payload.to_vec());
        Ok(count.to_be_bytes().to_vec())
    }
}

fn counter(store: &Store) -> u64 {
    store
        .get(Space::Meta, COUNTER_KEY)
        .unwrap()
        .map_or(0, |b| u64::from_be_bytes(b.as_slice().try_into().unwrap()))
}

async fn start(store: &Store, settings: RaftSettings) -> RegionGroup {
    RegionGroup::start(1, store.clone(), Arc::new(CountingLogic), settings)
        .await
        .unwrap()
}

/// Writes `total` distinct payloads from `writers` concurrent tasks; returns the responses.
async fn write_concurrently(
    group: &RegionGroup,
    writers: usize,
    total: usize,
    tag: &str,
) -> Vec<u64> {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let group = group.clone();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (w..total).step_by(writers) {
                let resp = group
                    .write(format!("{tag}-{i:05}").into_bytes())
                    .await
                    .unwrap();
                out.push(u64::from_be_bytes(resp.as_slice().try_into().unwrap()));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_in_memory_write_and_linearizable_read() {
    let store = Store::open(None, CACHE_BYTES).unwrap();
    let group = start(&store, RaftSettings::default()).await;
    println!(
        "in-memory startup to leader: {:?}",
        group.startup_duration()
    );
    assert!(group.is_leader());
    assert_eq!(group.current_leader(), Some(1));
    let resp = group.write(b"a".to_vec()).await.unwrap();
    assert_eq!(resp, 1u64.to_be_bytes().to_vec());
    group.ensure_linearizable().await.unwrap();
    assert_eq!(store.get(Space::Items, b"a").unwrap(), Some(b"a".to_vec()));
    let m = group.metrics();
    assert_eq!(m.role, Role::Leader);
    assert_eq!(m.log_flushes, 0);
    assert!(m.last_log_index >= Some(2), "{m:?}");
    group.shutdown().await;
    assert!(matches!(
        group.write(b"b".to_vec()).await,
        Err(RaftError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_concurrent_writes_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    tracing::info!("--- first start: initialize and elect");
    let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
    let group = start(&store, RaftSettings::default()).await;
    println!("first start to leader: {:?}", group.startup_duration());
    assert!(group.startup_duration() < Duration::from_millis(STARTUP_MS_MAX));

    tracing::info!("--- 1000 writes from 64 tasks");
    let mut responses = write_concurrently(&group, 64, 1000, "w").await;
    responses.sort_unstable();
    assert_eq!(responses, (1..=1000).collect::<Vec<_>>());
    let m = group.metrics();
    println!(
        "1000 writes from 64 tasks used {} log flushes",
        m.log_flushes
    );
    assert!(m.log_flushes < 1000, "{m:?}");
    let term = m.term;
    group.shutdown().await;
    drop(group);
    drop(store);

    tracing::info!("--- restart: state is there, the node re-elects itself");
    let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
    let group = start(&store, RaftSettings::default()).await;
    println!("restart to leader: {:?}", group.startup_duration());
    assert!(group.startup_duration() < Duration::from_millis(STARTUP_MS_MAX));
    group.ensure_linearizable().await.unwrap();
    assert_eq!(counter(&store), 1000);
    let keys: BTreeSet<Vec<u8>> = store
        .scan_prefix(Space::Items, b"w-")
        .map(|e| e.unwrap().0)
        .collect();
    assert_eq!(keys.len(), 1000);
    assert!(group.metrics().term >= term);
    let resp = group.write(b"after".to_vec()).await.unwrap();
    assert_eq!(resp, 1001u64.to_be_bytes().to_vec());
    group.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t40_snapshot_purges_log_and_restart_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let settings = RaftSettings {
        snapshot_logs_since_last: 100,
        max_in_snapshot_log_to_keep: 10,
        ..RaftSettings::default()
    };
    let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
    let group = start(&store, settings.clone()).await;
    // One writer: one log entry per write, so the snapshot threshold is reached.
    write_concurrently(&group, 1, 350, "s").await;
    // Snapshots are built in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = group.metrics();
        if m.snapshot_index >= Some(250) && m.purged_index.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "no snapshot: {m:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = store.first_log().unwrap().unwrap().0;
    assert!(first > 1, "log not purged, first entry {first}");
    group.shutdown().await;
    drop(group);
    drop(store);

    let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
    let group = start(&store, settings).await;
    group.ensure_linearizable().await.unwrap();
    assert_eq!(counter(&store), 350);
    assert!(group.metrics().snapshot_index >= Some(250));
    group.shutdown().await;
}

/// Run with `cargo test -p meridian-raft --release -- --ignored --nocapture t90`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn t90_group_commit_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(Some(dir.path()), CACHE_BYTES).unwrap();
    let group = start(&store, RaftSettings::default()).await;
    for (writers, total) in [(1usize, 500usize), (64, 5000)] {
        let flushes_before = group.metrics().log_flushes;
        let started = Instant::now();
        write_concurrently(&group, writers, total, &format!("t{writers}")).await;
        let elapsed = started.elapsed();
        let flushes = group.metrics().log_flushes - flushes_before;
        println!(
            "{writers:>2} writers: {:>8.0} writes/s ({total} writes in {elapsed:?}, {flushes} flushes)",
            total as f64 / elapsed.as_secs_f64()
        );
    }
    group.shutdown().await;
}
