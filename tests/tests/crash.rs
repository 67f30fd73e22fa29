//! Durability across process death: acknowledged writes survive SIGKILL, and SIGTERM shuts
//! down cleanly with everything in place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::KeysAndAttributes;
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

/// Concurrent writers hammering the server while it is killed.
const WRITERS: usize = 8;
/// Acknowledged puts to wait for before each kill (bounded by `WRITE_PHASE_MAX_MS`).
const ACKED_BEFORE_KILL: usize = 1000;
/// Write, kill, restart cycles on one data directory.
const KILL_ROUNDS: usize = 3;
/// Longest the write phase runs before the kill, whatever was acknowledged.
const WRITE_PHASE_MAX_MS: u64 = 8_000;

/// Reads back `keys` (pk → expected v) with consistent BatchGetItem and returns the keys that
/// are missing or hold another value.
async fn missing_keys(c: &Client, expected: &HashMap<String, String>) -> Vec<String> {
    let keys: Vec<&String> = expected.keys().collect();
    let mut found: HashMap<String, String> = HashMap::new();
    for chunk in keys.chunks(100) {
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for k in chunk {
            request = request.keys(item(&[("pk", s(k))]));
        }
        let mut pending = Some(request.build().unwrap());
        let mut rounds = 0;
        while let Some(req) = pending.take() {
            rounds += 1;
            assert!(rounds < 50, "BatchGetItem keeps returning UnprocessedKeys");
            let r = c
                .batch_get_item()
                .request_items("crash", req)
                .send()
                .await
                .unwrap();
            for it in r.responses().unwrap().get("crash").into_iter().flatten() {
                found.insert(
                    get_s(it, "pk").unwrap().to_owned(),
                    get_s(it, "v").unwrap_or_default().to_owned(),
                );
            }
            pending = r
                .unprocessed_keys()
                .and_then(|u| u.get("crash"))
                .filter(|k| !k.keys().is_empty())
                .cloned();
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

/// What the writers of every round had acknowledged (and sent) when the server was killed.
#[derive(Debug, Default)]
struct Acknowledged {
    /// pk -> v of every acknowledged PutItem.
    puts: Mutex<HashMap<String, String>>,
    /// ADDs to the counter that were acknowledged.
    counter_acked: AtomicU64,
    /// ADDs to the counter that were sent (acknowledged or not).
    counter_sent: AtomicU64,
}

/// Runs `WRITERS` concurrent writers (one ADDing to a counter, the rest putting fresh keys)
/// against `server` until `ACKED_BEFORE_KILL` more puts are acknowledged, then SIGKILLs the
/// server with the writers still in flight.
async fn write_then_kill(server: &mut Server, round: usize, acked: &Arc<Acknowledged>) {
    let c = server.client();
    let before = acked.puts.lock().unwrap().len();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (c, acked, stop) = (c.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for n in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let ok = if w == 0 {
                    acked.counter_sent.fetch_add(1, Ordering::SeqCst);
                    let r = c
                        .update_item()
                        .table_name("crash")
                        .key("pk", s("counter"))
                        .update_expression("ADD hits :one")
                        .expression_attribute_values(":one", ni(1))
                        .send()
                        .await;
                    if r.is_ok() {
                        acked.counter_acked.fetch_add(1, Ordering::SeqCst);
                    }
                    r.is_ok()
                } else {
                    let (key, value) = (
                        format!("r{round}-w{w}-{n}"),
                        format!("value-{round}-{w}-{n}"),
                    );
                    let r = c
                        .put_item()
                        .table_name("crash")
                        .item("pk", s(&key))
                        .item("v", s(&value))
                        .send()
                        .await;
                    if r.is_ok() {
                        acked.puts.lock().unwrap().insert(key, value);
                    }
                    r.is_ok()
                };
                if !ok {
                    // The server is gone: stop this writer.
                    return;
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_millis(WRITE_PHASE_MAX_MS);
    while acked.puts.lock().unwrap().len() < before + ACKED_BEFORE_KILL && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(40), w)
            .await
            .expect("writer stuck")
            .unwrap();
    }
    let written = acked.puts.lock().unwrap().len() - before;
    assert!(
        written > 10,
        "round {round}: only {written} writes acknowledged before the kill"
    );
}

/// Restarts on `dir` and checks that every write acknowledged so far is there.
async fn restart_and_check(dir: &std::path::Path, acked: &Acknowledged) -> Server {
    let server = Server::start_on_dir(dir).await;
    let c = server.client();
    let desc = c.describe_table().table_name("crash").send().await.unwrap();
    assert!(desc.table().is_some());
    let puts = acked.puts.lock().unwrap().clone();
    let missing = missing_keys(&c, &puts).await;
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost after SIGKILL, e.g. {:?}",
        missing.len(),
        puts.len(),
        &missing[..missing.len().min(10)]
    );
    let counter = c
        .get_item()
        .table_name("crash")
        .key("pk", s("counter"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let hits: u64 = counter
        .item()
        .and_then(|i| get_n(i, "hits"))
        .map(|h| h.parse().unwrap())
        .unwrap_or(0);
    let (lo, hi) = (
        acked.counter_acked.load(Ordering::SeqCst),
        acked.counter_sent.load(Ordering::SeqCst),
    );
    assert!(
        (lo..=hi).contains(&hits),
        "counter {hits}: acknowledged {lo}, sent {hi}"
    );
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on_dir(dir.path()).await;
    create_simple_table(&server.client(), "crash").await;
    let acked = Arc::new(Acknowledged::default());

    // Several rounds: writes after a recovery must be as durable as the first ones.
    for round in 0..KILL_ROUNDS {
        write_then_kill(&mut server, round, &acked).await;
        server = restart_and_check(dir.path(), &acked).await;
    }

    // The restarted server takes writes as usual.
    let c = server.client();
    c.put_item()
        .table_name("crash")
        .item("pk", s("after"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn t20_sigterm_shuts_down_cleanly_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    create_composite_table(&c, "kept").await;
    for i in 0..50 {
        c.put_item()
            .table_name("kept")
            .item("pk", s("p"))
            .item("sk", ni(i))
            .send()
            .await
            .unwrap();
    }
    let status = server.terminate().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");

    let server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    let r = c
        .query()
        .table_name("kept")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(r.count(), 50);
    let listed = c.list_tables().send().await.unwrap();
    assert_eq!(listed.table_names(), ["kept"]);
}

#[tokio::test]
async fn t30_in_memory_starts_empty_each_time() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "tmp").await;
    drop(server);
    let server = Server::start().await;
    let listed = server.client().list_tables().send().await.unwrap();
    assert!(listed.table_names().is_empty());
}

#[tokio::test]
async fn t40_dynamodb_local_flags_are_accepted() {
    // -inMemory and -port as DynamoDB Local spells them.
    let server = Server::spawn(&[
        "-port".into(),
        "0".into(),
        "-inMemory".into(),
        "-sharedDb".into(),
    ])
    .unwrap();
    let c = server.client();
    create_simple_table(&c, "local").await;
    assert_eq!(
        c.list_tables().send().await.unwrap().table_names(),
        ["local"]
    );

    let dir = tempfile::tempdir().unwrap();
    let server = Server::spawn(&[
        "-port".into(),
        "0".into(),
        "-dbPath".into(),
        dir.path().display().to_string(),
    ])
    .unwrap();
    create_simple_table(&server.client(), "ondisk").await;
}
