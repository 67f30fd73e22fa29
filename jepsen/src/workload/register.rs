//! Register per key within one region: ConsistentRead GetItem reads, PutItem writes and
//! conditional UpdateItem compare-and-set (`SET v = :new` if `v = :old`), every write of a
//! value no other write uses, from clients spread over the region's nodes.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::{Endpoint, FINAL_READ_TIMEOUT_MS};
use crate::client::{as_i64, failure, num, text};
use crate::history::{Completion, Invocation, OpKind};
use crate::rng::Rng;
use crate::run::Shared;

/// The region of the single-region workloads.
pub const REGION: &str = "us-east-1";
/// Keys in play at once.
pub const KEYS: u64 = 5;
/// Operations per key before the clients move to fresh keys: bounds each key's history, and
/// so the linearizability search.
pub const OPS_PER_KEY: u64 = 120;

/// One client: `slot` picks its node; it runs until the deadline.
pub async fn client_loop(slot: usize, endpoints: Vec<Endpoint>, shared: Shared) {
    let ep = &endpoints[slot % endpoints.len()];
    let table = shared.table;
    let mut rng = Rng::new(shared.seed, slot as u64 + 1);
    let mut process = slot as u64;
    let mut last_seen: HashMap<String, i64> = HashMap::new();
    while Instant::now() < shared.deadline {
        let n = shared.next_op();
        let key = format!("r{}-{}", n / (KEYS * OPS_PER_KEY), rng.below(KEYS));
        let roll = rng.below(4);
        let mut inv = Invocation {
            process,
            kind: OpKind::Read,
            key: key.clone(),
            value: None,
            expected: None,
            region: Some(ep.region.clone()),
            node: Some(ep.node),
        };
        let start = shared.rec.now_ns();
        let done = match roll {
            0 | 1 => {
                let r = ep
                    .client
                    .get_item()
                    .table_name(table)
                    .key("pk", text(&key))
                    .consistent_read(true)
                    .send()
                    .await;
                match r {
                    Ok(out) => {
                        let v = out.item().and_then(|i| as_i64(i.get("v")));
                        if let Some(v) = v {
                            last_seen.insert(key.clone(), v);
                        }
                        Completion::read(v)
                    }
                    Err(e) => failure(&e),
                }
            }
            2 => {
                let v = shared.next_value();
                inv.kind = OpKind::Write;
                inv.value = Some(v);
                let r = ep
                    .client
                    .put_item()
                    .table_name(table)
                    .item("pk", text(&key))
                    .item("v", num(v))
                    .send()
                    .await;
                match r {
                    Ok(_) => {
                        last_seen.insert(key.clone(), v);
                        Completion::ok()
                    }
                    Err(e) => failure(&e),
                }
            }
            _ => {
                let v = shared.next_value();
                // Expect what this client last saw, so that many CAS succeed.
                let old = last_seen
                    .get(&key)
                    .copied()
                    .unwrap_or_else(|| rng.below(3) as i64);
                inv.kind = OpKind::Cas;
                inv.value = Some(v);
                inv.expected = Some(old);
                let r = ep
                    .client
                    .update_item()
                    .table_name(table)
                    .key("pk", text(&key))
                    .update_expression("SET v = :new")
                    .condition_expression("v = :old")
                    .expression_attribute_values(":new", num(v))
                    .expression_attribute_values(":old", num(old))
                    .send()
                    .await;
                match r {
                    Ok(_) => {
                        last_seen.insert(key.clone(), v);
                        Completion::ok()
                    }
                    Err(e) => failure(&e),
                }
            }
        };
        if shared.finish(inv, start, done).await {
            // Jepsen's rule: a process with an operation in doubt is never reused.
            process += shared.clients as u64;
        }
    }
}

/// After heal: one ConsistentRead of every key the history touched, retried (on every node in
/// turn) until it succeeds, recorded as `FinalRead`.
pub async fn final_reads(endpoints: &[Endpoint], shared: &Shared) {
    let keys: BTreeSet<String> = shared.rec.ops().into_iter().map(|o| o.key).collect();
    let deadline = Instant::now() + Duration::from_millis(FINAL_READ_TIMEOUT_MS);
    for (n, key) in keys.into_iter().enumerate() {
        let mut attempt = n;
        loop {
            let ep = &endpoints[attempt % endpoints.len()];
            attempt += 1;
            let inv = Invocation {
                process: u64::MAX,
                kind: OpKind::FinalRead,
                key: key.clone(),
                value: None,
                expected: None,
                region: Some(ep.region.clone()),
                node: Some(ep.node),
            };
            let start = shared.rec.now_ns();
            let r = ep
                .client
                .get_item()
                .table_name(shared.table)
                .key("pk", text(&key))
                .consistent_read(true)
                .send()
                .await;
            match r {
                Ok(out) => {
                    let v = out.item().and_then(|i| as_i64(i.get("v")));
                    shared.rec.record(inv, start, Completion::read(v));
                    break;
                }
                Err(e) if Instant::now() > deadline => {
                    shared.rec.record(inv, start, failure(&e));
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}
