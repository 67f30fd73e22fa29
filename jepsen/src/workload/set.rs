//! Append-only sets within one region: each add is an UpdateItem `ADD s :elem` of a number no
//! other add uses; after heal one consistent read per set must show every acknowledged add.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Endpoint, FINAL_READ_TIMEOUT_MS};
use crate::client::{as_set, failure, text};
use crate::history::{Completion, Invocation, OpKind};
use crate::rng::Rng;
use crate::run::Shared;

/// Sets written concurrently.
pub const SETS: u64 = 4;

/// One client: `slot` picks its node; it runs until the deadline.
pub async fn client_loop(slot: usize, endpoints: Vec<Endpoint>, shared: Shared) {
    let ep = &endpoints[slot % endpoints.len()];
    let mut rng = Rng::new(shared.seed, slot as u64 + 1);
    let mut process = slot as u64;
    while Instant::now() < shared.deadline {
        shared.next_op();
        let key = format!("s{}", rng.below(SETS));
        let elem = shared.next_value();
        let inv = Invocation {
            process,
            kind: OpKind::Add,
            key: key.clone(),
            value: Some(elem),
            expected: None,
            region: Some(ep.region.clone()),
            node: Some(ep.node),
        };
        let start = shared.rec.now_ns();
        let r = ep
            .client
            .update_item()
            .table_name(shared.table)
            .key("pk", text(&key))
            .update_expression("ADD s :e")
            .expression_attribute_values(":e", AttributeValue::Ns(vec![elem.to_string()]))
            .send()
            .await;
        let done = match r {
            Ok(_) => Completion::ok(),
            Err(e) => failure(&e),
        };
        if shared.finish(inv, start, done).await {
            process += shared.clients as u64;
        }
    }
}

/// After heal: one ConsistentRead per set, retried until it succeeds, recorded as `ReadSet`.
pub async fn final_reads(endpoints: &[Endpoint], shared: &Shared) {
    let deadline = Instant::now() + Duration::from_millis(FINAL_READ_TIMEOUT_MS);
    for k in 0..SETS {
        let key = format!("s{k}");
        let mut attempt = k as usize;
        loop {
            let ep = &endpoints[attempt % endpoints.len()];
            attempt += 1;
            let inv = Invocation {
                process: u64::MAX,
                kind: OpKind::ReadSet,
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
                    let values = as_set(out.item().and_then(|i| i.get("s")));
                    let done = Completion {
                        values: Some(values),
                        ..Completion::ok()
                    };
                    shared.rec.record(inv, start, done);
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
