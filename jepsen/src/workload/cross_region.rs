//! Cross-region concurrent writers: three single-node regions replicate a global table; each
//! region's clients put the same few keys (last writer wins) and distinct items of their own,
//! and delete some of their distinct items through another region, once that region has seen
//! the item (a consistent read first), so the delete is causally after the write. After heal
//! every region's full scan must be identical, every acknowledged distinct item present unless
//! deleted, every acknowledged delete final (issue 13), and every final value one some client
//! attempted.

use std::collections::BTreeSet;
use std::time::Instant;

use super::{scan_values, Endpoint};
use crate::checker::lost::UNIQUE_KEY_PREFIX;
use crate::client::{failure, num, text};
use crate::history::{Completion, Invocation, OpKind};
use crate::rng::Rng;
use crate::run::Shared;

/// The regions of the lab.
pub const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];
/// Keys every region writes.
pub const SHARED_KEYS: u64 = 6;
/// The fraction of operations that delete one of the client's distinct items.
const DELETE_CHANCE: f64 = 0.15;

/// One client: `slot` picks its region; it runs until the deadline.
pub async fn client_loop(slot: usize, endpoints: Vec<Endpoint>, shared: Shared) {
    let ep = &endpoints[slot % endpoints.len()];
    let mut rng = Rng::new(shared.seed, slot as u64 + 1);
    let mut process = slot as u64;
    // Distinct items this client wrote and had acknowledged: candidates for a delete.
    let mut mine: Vec<String> = Vec::new();
    while Instant::now() < shared.deadline {
        shared.next_op();
        if shared.deletes && !mine.is_empty() && endpoints.len() > 1 && rng.chance(DELETE_CHANCE) {
            let pick = rng.below(mine.len() as u64) as usize;
            let key = mine.swap_remove(pick);
            let other = &endpoints
                [(slot + 1 + rng.below(endpoints.len() as u64 - 1) as usize) % endpoints.len()];
            let seen = other
                .client
                .get_item()
                .table_name(shared.table)
                .key("pk", text(&key))
                .consistent_read(true)
                .send()
                .await
                .ok()
                .is_some_and(|r| r.item().is_some());
            if !seen {
                // Not there yet (replication lag, a partition): try another time.
                mine.push(key);
                continue;
            }
            let inv = Invocation {
                process,
                kind: OpKind::Delete,
                key: key.clone(),
                value: None,
                expected: None,
                region: Some(other.region.clone()),
                node: Some(other.node),
            };
            let start = shared.rec.now_ns();
            let r = other
                .client
                .delete_item()
                .table_name(shared.table)
                .key("pk", text(&key))
                .send()
                .await;
            let done = match r {
                Ok(_) => Completion::ok(),
                Err(e) => failure(&e),
            };
            if shared.finish(inv, start, done).await {
                process += shared.clients as u64;
            }
            continue;
        }
        let v = shared.next_value();
        let key = if rng.chance(0.5) {
            format!("k{}", rng.below(SHARED_KEYS))
        } else {
            format!("{UNIQUE_KEY_PREFIX}{v}")
        };
        let inv = Invocation {
            process,
            kind: OpKind::Write,
            key: key.clone(),
            value: Some(v),
            expected: None,
            region: Some(ep.region.clone()),
            node: Some(ep.node),
        };
        let start = shared.rec.now_ns();
        let r = ep
            .client
            .put_item()
            .table_name(shared.table)
            .item("pk", text(&key))
            .item("v", num(v))
            .send()
            .await;
        let done = match r {
            Ok(_) => {
                if key.starts_with(UNIQUE_KEY_PREFIX) {
                    mine.push(key.clone());
                }
                Completion::ok()
            }
            Err(e) => failure(&e),
        };
        if shared.finish(inv, start, done).await {
            process += shared.clients as u64;
        }
    }
}

/// After convergence: every region's consistent scan, recorded as one `FinalRead` per
/// (region, key present in any region) (absent: no value).
pub async fn final_reads(endpoints: &[Endpoint], shared: &Shared) -> anyhow::Result<()> {
    let mut scans = Vec::new();
    for ep in endpoints {
        let start = shared.rec.now_ns();
        scans.push((ep, start, scan_values(&ep.client, shared.table).await?));
    }
    let keys: BTreeSet<&String> = scans.iter().flat_map(|(_, _, m)| m.keys()).collect();
    for (ep, start, map) in &scans {
        for key in &keys {
            let inv = Invocation {
                process: u64::MAX,
                kind: OpKind::FinalRead,
                key: (*key).clone(),
                value: None,
                expected: None,
                region: Some(ep.region.clone()),
                node: Some(ep.node),
            };
            shared.rec.record(
                inv,
                *start,
                Completion::read(map.get(*key).copied().flatten()),
            );
        }
    }
    Ok(())
}
