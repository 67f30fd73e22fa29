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
/// Acknowledged writes to wait for before the kill (bounded by `WRITE_PHASE_MAX_MS`).
const ACKED_BEFORE_KILL: usize = 300;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    create_simple_table(&c, "crash").await;

    // --- write concurrently: puts of fresh keys, and ADDs to one counter
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let counter_acked = Arc::new(AtomicU64::new(0));
    let counter_sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (c, acked, stop) = (c.clone(), acked.clone(), stop.clone());
        let (counter_acked, counter_sent) = (counter_acked.clone(), counter_sent.clone());
        writers.push(tokio::spawn(async move {
            for n in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let result = if w == 0 {
                    counter_sent.fetch_add(1, Ordering::SeqCst);
                    c.update_item()
                        .table_name("crash")
                        .key("pk", s("counter"))
                        .update_expression("ADD hits :one")
                        .expression_attribute_values(":one", ni(1))
                        .send()
                        .await
                        .map(|_| counter_acked.fetch_add(1, Ordering::SeqCst))
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                } else {
                    let (key, value) = (format!("w{w}-{n}"), format!("value-{w}-{n}"));
                    let r = c
                        .put_item()
                        .table_name("crash")
                        .item("pk", s(&key))
                        .item("v", s(&value))
                        .send()
                        .await;
                    match r {
                        Ok(_) => {
                            acked.lock().unwrap().insert(key, value);
                            Ok(())
                        }
                        Err(e) => Err(format!("{e:?}")),
                    }
                };
                if result.is_err() {
                    // The server is gone (or failing): stop this writer.
                    return;
                }
            }
        }));
    }

    let deadline = Instant::now() + Duration::from_millis(WRITE_PHASE_MAX_MS);
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // --- SIGKILL mid-stream, with writers still in flight
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(40), w)
            .await
            .expect("writer stuck")
            .unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let counter_acked = counter_acked.load(Ordering::SeqCst);
    let counter_sent = counter_sent.load(Ordering::SeqCst);
    assert!(
        acked.len() > 10,
        "too few writes acknowledged before the kill to test anything: {}",
        acked.len()
    );

    // --- restart on the same directory and check every acknowledged write
    let server = Server::start_on_dir(dir.path()).await;
    let c = server.client();
    let desc = c.describe_table().table_name("crash").send().await.unwrap();
    assert!(desc.table().is_some());
    let missing = missing_keys(&c, &acked).await;
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost after SIGKILL, e.g. {:?}",
        missing.len(),
        acked.len(),
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
    assert!(
        (counter_acked..=counter_sent).contains(&hits),
        "counter {hits}: acknowledged {counter_acked}, sent {counter_sent}"
    );

    // The restarted server takes writes as usual.
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
