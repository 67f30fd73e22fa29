//! The region leader's backfill of global secondary indexes added to a loaded table.

use std::sync::Arc;

use model::limits::INDEX_BACKFILL_ITEMS_PER_COMMAND;
use table::{Command, Outcome};

use crate::request::propose;
use crate::Region;

/// Delay between looks for indexes to backfill, on the leader.
const BACKFILL_POLL_MS: u64 = 200;

/// The region leader's backfill loop: finds global secondary indexes still backfilling and
/// proposes [`Command::BackfillIndex`] pages until each is complete (the last page marks it
/// ACTIVE). Every page goes through Raft, so each replica copies the same items; a new leader
/// simply starts over, as repeating pages is harmless. Runs until the task is dropped.
pub async fn run_backfill(region: Arc<dyn Region>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(BACKFILL_POLL_MS)).await;
        if !region.is_leader() {
            continue;
        }
        let Ok(names) = table::list_tables(region.store()) else {
            continue;
        };
        for name in names {
            let Ok(Some(meta)) = table::load_table(region.store(), &name) else {
                continue;
            };
            for index in meta.global_indexes.iter().filter(|i| i.backfilling) {
                backfill_one(region.as_ref(), &meta.name, &index.name).await;
            }
        }
    }
}

async fn backfill_one(region: &dyn Region, table: &str, index: &str) {
    let mut after_key = None;
    loop {
        if !region.is_leader() {
            return;
        }
        let command = Command::BackfillIndex {
            table: table.to_owned(),
            index: index.to_owned(),
            after_key: after_key.take(),
            limit: INDEX_BACKFILL_ITEMS_PER_COMMAND as u32,
        };
        match propose(region, &command).await {
            Ok(Outcome::Backfilled { next: Some(next) }) => after_key = Some(next),
            Ok(_) => {
                tracing::info!(table, index, "index backfill complete");
                return;
            }
            Err(e) => {
                tracing::warn!(table, index, error = %e, "index backfill paused");
                return;
            }
        }
    }
}
