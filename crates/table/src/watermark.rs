//! When a tombstone may go: causal stability across the replica regions of a global table.
//!
//! A tombstone at timestamp `T` keeps an older write from bringing its item back. It may be
//! collected in region X only when no write older than `T` can ever reach X again and every
//! region already holds the delete (or something newer). Each region S tells every other
//! region R, per table, two timestamps (a [`PeerWatermark`]):
//!
//! - `origin`: R has applied every write that originated in S with a timestamp up to it. S
//!   ships its own writes in change-log order, and its HLC gives them increasing timestamps,
//!   so after R confirmed a batch this is the last shipped timestamp, and once R has
//!   everything it is S's whole HLC (any later write of S ticks above it);
//! - `stable`: S has applied every write, from every region, up to it (the least `origin` S
//!   has been told by the others).
//!
//! X collects a tombstone at `T` when `T` is at most every other region's `origin` and
//! `stable` ([`horizon`]): X has every write older than `T` from every region, and every
//! region has every write up to `T` (the delete included), so nothing older can come back,
//! not even by anti-entropy, which only sends what a region holds. A region that is cut off
//! holds its peers' horizon back: tombstones wait for it (or for its removal from the table).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use model::{TableMeta, Timestamp};
use storage::{ApplyView, Space, Store};

use crate::catalog::view_table;
use crate::command::{decode_versioned, encode_versioned, Outcome};
use crate::engine::Engine;
use crate::error::TableError;
use crate::tombstone::Tombstone;

/// The most tombstones one collection pass looks at (the rest wait for the next pass).
pub const TOMBSTONE_GC_SCAN_MAX: usize = 100_000;

/// What a region last told this one about a table (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PeerWatermark {
    pub origin: Timestamp,
    pub stable: Timestamp,
}

/// `Command::Watermark`: region `source` reports its watermarks for `table`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatermarkUpdate {
    pub table: String,
    pub source: String,
    pub watermark: PeerWatermark,
}

fn key(table: &uuid::Uuid, source: &str) -> Vec<u8> {
    let mut key = b"watermark/".to_vec();
    key.extend_from_slice(table.as_bytes());
    key.extend_from_slice(source.as_bytes());
    key
}

/// The watermarks each replica region of `meta` has reported here.
pub fn peer_watermarks(
    store: &Store,
    meta: &TableMeta,
) -> Result<BTreeMap<String, PeerWatermark>, TableError> {
    let mut out = BTreeMap::new();
    for region in meta.replica_destinations() {
        if let Some(bytes) = store.get(Space::Meta, &key(&meta.id, region))? {
            out.insert(region.to_owned(), decode_versioned(&bytes)?);
        }
    }
    Ok(out)
}

fn view_peer_watermarks(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
) -> Result<BTreeMap<String, PeerWatermark>, TableError> {
    let mut out = BTreeMap::new();
    for region in meta.replica_destinations() {
        if let Some(bytes) = view.get(Space::Meta, &key(&meta.id, region))? {
            out.insert(region.to_owned(), decode_versioned(&bytes)?);
        }
    }
    Ok(out)
}

/// This region's `stable` for a table: the least `origin` its replica regions reported
/// (zero until each has reported).
pub fn stable<'a>(
    replicas: impl IntoIterator<Item = &'a str>,
    peers: &BTreeMap<String, PeerWatermark>,
) -> Timestamp {
    replicas
        .into_iter()
        .map(|r| peers.get(r).map_or(Timestamp::ZERO, |w| w.origin))
        .min()
        .unwrap_or(Timestamp(u64::MAX))
}

/// The newest tombstone timestamp this region may collect: the least `origin` and `stable`
/// over the replica regions (`None`: the table has no other replica, so every tombstone may
/// go).
pub fn horizon<'a>(
    replicas: impl IntoIterator<Item = &'a str>,
    peers: &BTreeMap<String, PeerWatermark>,
) -> Option<Timestamp> {
    replicas
        .into_iter()
        .map(|r| {
            peers
                .get(r)
                .map_or(Timestamp::ZERO, |w| w.origin.min(w.stable))
        })
        .min()
}

/// The region's HLC as applied so far: every local write still to come gets a later
/// timestamp.
pub fn hlc_last(store: &Store) -> Result<Timestamp, TableError> {
    Ok(Timestamp(
        store
            .get(Space::Meta, crate::engine::HLC_KEY)?
            .and_then(|b| b.as_slice().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0),
    ))
}

/// Tombstones of `meta`'s table held here now.
pub fn tombstone_count(store: &Store, meta: &TableMeta) -> Result<usize, TableError> {
    let mut n = 0;
    for entry in store.scan_prefix(Space::Tombstones, &storage::keys::table_prefix(&meta.id)) {
        entry?;
        n += 1;
    }
    Ok(n)
}

impl Engine {
    /// Records a region's watermarks (never moving them back) and collects the tombstones
    /// the new horizon releases.
    pub(crate) fn watermark(
        &self,
        view: &mut ApplyView<'_>,
        update: &WatermarkUpdate,
    ) -> Result<Outcome, TableError> {
        let Some(meta) = view_table(view, &update.table)? else {
            return Ok(Outcome::Done);
        };
        if !meta.replica_destinations().any(|r| r == update.source) {
            return Ok(Outcome::Done);
        }
        let mut peers = view_peer_watermarks(view, &meta)?;
        let before = horizon(meta.replica_destinations(), &peers);
        let entry = peers.entry(update.source.clone()).or_default();
        let merged = PeerWatermark {
            origin: entry.origin.max(update.watermark.origin),
            stable: entry.stable.max(update.watermark.stable),
        };
        if merged == *entry {
            return Ok(Outcome::Done);
        }
        *entry = merged;
        view.put(
            Space::Meta,
            key(&meta.id, &update.source),
            encode_versioned(&merged)?,
        );
        if horizon(meta.replica_destinations(), &peers) > before {
            collect(view, &meta)?;
        }
        Ok(Outcome::Done)
    }
}

/// The horizon of `meta`'s table as the state machine sees it (None: no other replica).
pub(crate) fn view_horizon(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
) -> Result<Option<Timestamp>, TableError> {
    let peers = view_peer_watermarks(view, meta)?;
    Ok(horizon(meta.replica_destinations(), &peers))
}

/// Removes the tombstones of `meta`'s table at or below the horizon; returns how many.
pub(crate) fn collect(view: &mut ApplyView<'_>, meta: &TableMeta) -> Result<usize, TableError> {
    let peers = view_peer_watermarks(view, meta)?;
    let limit = horizon(meta.replica_destinations(), &peers).unwrap_or(Timestamp(u64::MAX));
    let prefix = storage::keys::table_prefix(&meta.id);
    let (_, end) = storage::keys::prefix_range(&prefix);
    let lower = std::ops::Bound::Included(prefix);
    let entries = view.range(Space::Tombstones, lower, end, Some(TOMBSTONE_GC_SCAN_MAX))?;
    let mut removed = 0;
    for (key, bytes) in entries {
        let tombstone: Tombstone = decode_versioned(&bytes)?;
        if tombstone.version.timestamp <= limit {
            view.delete(Space::Tombstones, key);
            removed += 1;
        }
    }
    tracing::debug!(table = %meta.name, horizon = limit.0, ?peers, removed, "tombstones collected");
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(origin: u64, stable: u64) -> PeerWatermark {
        PeerWatermark {
            origin: Timestamp(origin),
            stable: Timestamp(stable),
        }
    }

    #[test]
    fn t10_a_region_that_has_not_reported_holds_everything() {
        let mut peers = BTreeMap::new();
        peers.insert("b".to_owned(), w(100, 90));
        assert_eq!(horizon(["b", "c"], &peers), Some(Timestamp::ZERO));
        peers.insert("c".to_owned(), w(80, 120));
        assert_eq!(horizon(["b", "c"], &peers), Some(Timestamp(80)));
        assert_eq!(stable(["b", "c"], &peers), Timestamp(80));
        assert_eq!(horizon([], &peers), None);
    }

    proptest! {
        /// The collection rule: a tombstone is collectable only if every replica region has
        /// reported both that it delivered its own older writes (origin) and that it holds
        /// every older write (stable); a region missing, or behind on either, keeps it.
        #[test]
        fn t20_never_collect_past_any_region(
            reports in proptest::collection::btree_map("[a-e]", (0u64..1000, 0u64..1000), 0..5),
            replicas in proptest::collection::btree_set("[a-e]", 0..5),
            // Real timestamps are above zero (`Timestamp::ZERO` is older than every write).
            t in 1u64..1000,
        ) {
            let peers: BTreeMap<String, PeerWatermark> =
                reports.iter().map(|(r, (o, s))| (r.clone(), w(*o, *s))).collect();
            let limit = horizon(replicas.iter().map(String::as_str), &peers);
            let collectable = limit.is_none_or(|h| Timestamp(t) <= h);
            let safe = replicas.iter().all(|r| {
                peers.get(r).is_some_and(|p| p.origin.0 >= t && p.stable.0 >= t)
            });
            prop_assert_eq!(collectable, safe);
        }

        /// Reports only ever move the horizon forward.
        #[test]
        fn t20_the_horizon_never_moves_back(
            first in (0u64..1000, 0u64..1000),
            second in (0u64..1000, 0u64..1000),
        ) {
            let mut peers = BTreeMap::new();
            peers.insert("b".to_owned(), w(first.0, first.1));
            let before = horizon(["b"], &peers);
            let merged = w(first.0.max(second.0), first.1.max(second.1));
            peers.insert("b".to_owned(), merged);
            prop_assert!(horizon(["b"], &peers) >= before);
        }
    }
}
