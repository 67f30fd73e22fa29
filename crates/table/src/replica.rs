//! Applying what other regions send: remote item versions under last-writer-wins, the
//! acknowledgements that advance replication cursors, and changes to a table's replica set.

use model::{Item, ReplicaStatus};
use storage::{ApplyView, Space};

use crate::catalog::{put_table, view_table};
use crate::changes;
use crate::command::{Outcome, RemoteBatch, ReplicaSet, ReplicateResult, ReplicationAck};
use crate::engine::{observe, write_state, Engine, StateChange};
use crate::error::{Rejection, TableError};
use crate::key::{decode_stored, key_of_request};
use crate::tombstone;

impl Engine {
    /// Applies each remote change whose version is newer than the local item's (or its
    /// tombstone's). Idempotent: a repeated change has the same version and is skipped.
    pub(crate) fn replicate(
        &self,
        view: &mut ApplyView<'_>,
        batch: &RemoteBatch,
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        let mut result = ReplicateResult::default();
        let Some(meta) = view_table(view, &batch.table)? else {
            result.table_missing = true;
            return Ok(Outcome::Replicated(result));
        };
        // This region holds every write, from every region, up to the horizon (`watermark`).
        // A version at or below it for a key with neither item nor tombstone here was
        // superseded by a delete whose tombstone has been collected: it is stale (an
        // anti-entropy batch built before the delete arrived, a repeated send) and must not
        // bring the item back (issue 13).
        let mut horizon: Option<Option<model::Timestamp>> = None;
        for change in &batch.changes {
            let Ok(key) = key_of_request(&meta.key_schema, &change.keys) else {
                // A key that does not fit this table's schema cannot be applied; a table
                // re-created with another schema under the same name would do this.
                result.superseded += 1;
                continue;
            };
            let storage_key = key.storage_key(&meta);
            let (old, local): (Option<Item>, _) = match view.get(Space::Items, &storage_key)? {
                Some(bytes) => {
                    let stored = decode_stored(&bytes)?;
                    (Some(stored.item), Some(stored.version))
                }
                None => (None, tombstone::get(view, &storage_key)?.map(|t| t.version)),
            };
            if local.is_none() {
                let horizon = match horizon {
                    Some(h) => h,
                    None => {
                        let h = crate::watermark::view_horizon(view, &meta)?;
                        horizon = Some(h);
                        h
                    }
                };
                if horizon.is_some_and(|h| change.version.timestamp <= h) {
                    result.superseded += 1;
                    continue;
                }
            }
            match local {
                Some(local) if local == change.version => {
                    result.duplicates += 1;
                    continue;
                }
                Some(local) if !change.version.wins_over(&local) => {
                    result.superseded += 1;
                    continue;
                }
                _ => {}
            }
            observe(view, change.version.timestamp)?;
            write_state(
                view,
                &StateChange {
                    meta: &meta,
                    storage_key: &storage_key,
                    keys: Some(&change.keys),
                    old: old.as_ref(),
                    new: change.item.as_ref(),
                    version: &change.version,
                    wall_ms,
                    by_service: false,
                },
            )?;
            result.applied += 1;
        }
        Ok(Outcome::Replicated(result))
    }

    /// Advances a destination's cursor (never backwards) and trims what it made collectable.
    pub(crate) fn ack_replication(
        &self,
        view: &mut ApplyView<'_>,
        ack: &ReplicationAck,
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        let Some(meta) = view_table(view, &ack.table)? else {
            return Ok(Outcome::Rejected(Rejection::table_not_found(&ack.table)));
        };
        let Some(current) = changes::view_cursor(view, &meta.id, &ack.destination)? else {
            // No longer a destination.
            return Ok(Outcome::Done);
        };
        if ack.seq > current {
            changes::set_cursor(view, &meta.id, &ack.destination, ack.seq);
            changes::trim(view, &meta, wall_ms)?;
        }
        Ok(Outcome::Done)
    }

    /// Replaces a table's replica set. A new destination's cursor starts at the end of the
    /// change log: what it needs from before comes by backfill. A removed one's is dropped.
    pub(crate) fn set_replicas(
        &self,
        view: &mut ApplyView<'_>,
        set: &ReplicaSet,
    ) -> Result<Outcome, TableError> {
        let Some(mut meta) = view_table(view, &set.table)? else {
            return Ok(Outcome::Rejected(Rejection::table_not_found(&set.table)));
        };
        let last = changes::view_last_seq(view, &meta.id)?;
        let before: Vec<String> = meta.replica_destinations().map(str::to_owned).collect();
        meta.replicas = set.replicas.clone();
        meta.global_table_version = set.global_table_version.clone();
        let after: Vec<String> = meta.replica_destinations().map(str::to_owned).collect();
        for added in after.iter().filter(|r| !before.contains(r)) {
            changes::set_cursor(view, &meta.id, added, last);
        }
        for removed in before.iter().filter(|r| !after.contains(r)) {
            changes::delete_cursor(view, &meta.id, removed);
        }
        if let Some(me) = meta.replicas.iter_mut().find(|r| r.region == self.region()) {
            me.status = ReplicaStatus::Active;
        }
        put_table(view, &meta)?;
        // A removed replica no longer holds tombstones back (with none left, all may go).
        if !before.iter().all(|r| after.contains(r)) {
            crate::watermark::collect(view, &meta)?;
        }
        Ok(Outcome::Table(meta))
    }

    pub(crate) fn trim_changes(
        &self,
        view: &mut ApplyView<'_>,
        table: &str,
        wall_ms: i64,
    ) -> Result<Outcome, TableError> {
        if let Some(meta) = view_table(view, table)? {
            changes::trim(view, &meta, wall_ms)?;
        }
        Ok(Outcome::Done)
    }
}
