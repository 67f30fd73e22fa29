//! Point-in-time recovery: a per-table history of prior item images, kept while PITR is
//! enabled, from which the table's state at any time of the recovery window is rebuilt.
//!
//! Every item change of a table whose PITR is enabled (`engine::write_state`, the one path of
//! every change) appends a [`HistoryRecord`] (the item's storage key and its image *before*
//! the change, and the log entry's clock) in the same write set as the item, under
//! `pitrlog/ ‖ table id ‖ seq` in [`Space::Meta`]. The state as of a cut (a time, or a history
//! sequence number) is the current items with every change after the cut undone: for each key,
//! the prior image of its *first* record after the cut, if any, else its current value. Read
//! in that order (items first, then history) the result is exact even without a point-in-time
//! read: a change that lands between the two reads is in the history and undone.
//!
//! History times never go backwards within a table (`max(entry clock, last record)`), so
//! "records after T" is a suffix of the log. Records older than the recovery window are
//! trimmed a few at a time by later writes; disabling PITR drops the history.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use model::{Item, TableMeta};
use storage::{ApplyView, KeyValue, Space, Store};

use crate::command::{decode_versioned, encode_versioned};
use crate::error::TableError;
use crate::key::decode_item;

/// One day in ms: RecoveryPeriodInDays is in days.
pub const DAY_MS: i64 = 86_400_000;
/// DynamoDB's default and maximum recovery period.
pub const RECOVERY_PERIOD_DAYS_MAX: u32 = 35;
/// How many expired history records one write trims at most: bounded work per apply, and
/// more than the one record each write adds.
const HISTORY_TRIMMED_PER_WRITE_MAX: usize = 16;

/// A table's PITR setting and history counters (absent: PITR disabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitrState {
    /// When PITR was enabled: the earliest restorable time can be no earlier.
    pub enabled_ms: i64,
    /// RecoveryPeriodInDays (1–35).
    pub recovery_days: u32,
    /// The last history record's sequence number (0: none yet).
    pub seq: u64,
    /// The last history record's time.
    pub last_ms: i64,
}

impl PitrState {
    /// The recovery period in ms.
    pub fn period_ms(&self) -> i64 {
        i64::from(self.recovery_days) * DAY_MS
    }

    /// EarliestRestorableDateTime and LatestRestorableDateTime at `now_ms`.
    pub fn window(&self, now_ms: i64) -> (i64, i64) {
        let latest = now_ms.max(self.last_ms);
        (self.enabled_ms.max(latest - self.period_ms()), latest)
    }
}

/// One change of one item, as history: the image before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub seq: u64,
    pub applied_ms: i64,
    /// The item's storage key without the 16-byte table id.
    pub key: Vec<u8>,
    /// The item before the change (None: it did not exist).
    pub old: Option<Item>,
}

/// The borrowed form of [`HistoryRecord`] (bincode encodes both alike).
#[derive(Serialize)]
struct HistoryRecordRef<'a> {
    seq: u64,
    applied_ms: i64,
    key: &'a [u8],
    old: Option<&'a Item>,
}

/// Where a reconstruction stops: every change after it is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cut {
    /// Changes applied at or before this time are kept.
    Time(i64),
    /// History records up to this sequence number are kept.
    Seq(u64),
}

fn state_key(table: &uuid::Uuid) -> Vec<u8> {
    let mut key = b"pitr/".to_vec();
    key.extend_from_slice(table.as_bytes());
    key
}

fn history_prefix(table: &uuid::Uuid) -> Vec<u8> {
    let mut key = b"pitrlog/".to_vec();
    key.extend_from_slice(table.as_bytes());
    key
}

fn history_key(table: &uuid::Uuid, seq: u64) -> Vec<u8> {
    let mut key = history_prefix(table);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The PITR state of a table on the local replica.
pub fn pitr_state(store: &Store, table: &TableMeta) -> Result<Option<PitrState>, TableError> {
    match store.get(Space::Meta, &state_key(&table.id))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn view_state(
    view: &ApplyView<'_>,
    table: &uuid::Uuid,
) -> Result<Option<PitrState>, TableError> {
    match view.get(Space::Meta, &state_key(table))? {
        Some(bytes) => Ok(Some(decode_versioned(&bytes)?)),
        None => Ok(None),
    }
}

/// Enables PITR (keeping an existing history and only changing the period) or disables it
/// (dropping the history). Returns the new state.
pub(crate) fn set(
    view: &mut ApplyView<'_>,
    table: &TableMeta,
    enabled: bool,
    recovery_days: u32,
    now_ms: i64,
) -> Result<Option<PitrState>, TableError> {
    let current = view_state(view, &table.id)?;
    if !enabled {
        view.delete(Space::Meta, state_key(&table.id));
        view.delete_prefix(Space::Meta, &history_prefix(&table.id))?;
        return Ok(None);
    }
    let state = match current {
        Some(mut state) => {
            state.recovery_days = recovery_days;
            state
        }
        None => PitrState {
            enabled_ms: now_ms,
            recovery_days,
            seq: 0,
            last_ms: now_ms,
        },
    };
    view.put(Space::Meta, state_key(&table.id), encode_versioned(&state)?);
    Ok(Some(state))
}

/// Records the prior image of an item change, if the table's PITR is enabled.
pub(crate) fn record(
    view: &mut ApplyView<'_>,
    meta: &TableMeta,
    storage_key: &[u8],
    old: Option<&Item>,
    wall_ms: i64,
) -> Result<(), TableError> {
    let Some(mut state) = view_state(view, &meta.id)? else {
        return Ok(());
    };
    state.seq += 1;
    state.last_ms = state.last_ms.max(wall_ms);
    let record = HistoryRecordRef {
        seq: state.seq,
        applied_ms: state.last_ms,
        key: storage_key
            .get(storage::keys::TABLE_ID_BYTES..)
            .unwrap_or_default(),
        old,
    };
    view.put(
        Space::Meta,
        history_key(&meta.id, state.seq),
        encode_versioned(&record)?,
    );
    view.put(Space::Meta, state_key(&meta.id), encode_versioned(&state)?);
    trim(view, &meta.id, state.last_ms - state.period_ms())
}

/// Deletes up to a few history records older than `cutoff_ms`, oldest first.
fn trim(view: &mut ApplyView<'_>, table: &uuid::Uuid, cutoff_ms: i64) -> Result<(), TableError> {
    let (lower, upper) = storage::keys::prefix_range(&history_prefix(table));
    let oldest = view.range(
        Space::Meta,
        lower,
        upper,
        Some(HISTORY_TRIMMED_PER_WRITE_MAX),
    )?;
    for (key, value) in oldest {
        let record: HistoryRecord = decode_versioned(&value)?;
        if record.applied_ms >= cutoff_ms {
            break;
        }
        view.delete(Space::Meta, key);
    }
    Ok(())
}

/// Drops a table's PITR state and history (DeleteTable).
pub(crate) fn drop_history(view: &mut ApplyView<'_>, table: &TableMeta) -> Result<(), TableError> {
    view.delete(Space::Meta, state_key(&table.id));
    view.delete_prefix(Space::Meta, &history_prefix(&table.id))?;
    Ok(())
}

/// The sequence number of the last history record at or before `time_ms`, from the view.
pub(crate) fn seq_at(
    view: &ApplyView<'_>,
    table: &uuid::Uuid,
    time_ms: i64,
) -> Result<u64, TableError> {
    let mut last = 0;
    for (_, value) in view.scan_prefix(Space::Meta, &history_prefix(table))? {
        let record: HistoryRecord = decode_versioned(&value)?;
        if record.applied_ms > time_ms {
            break;
        }
        last = record.seq;
    }
    Ok(last)
}

/// Rebuilds a table's items as of `cut` from its current items (storage key, stored value)
/// and its history, read in that order. Returns (storage key without table id, item) pairs
/// in key order.
pub fn reconstruct(
    items: Vec<KeyValue>,
    history: Vec<KeyValue>,
    cut: Cut,
) -> Result<Vec<(Vec<u8>, Item)>, TableError> {
    let mut state: BTreeMap<Vec<u8>, Option<Item>> = BTreeMap::new();
    for (key, value) in items {
        let suffix = key
            .get(storage::keys::TABLE_ID_BYTES..)
            .unwrap_or_default()
            .to_vec();
        state.insert(suffix, Some(decode_item(&value)?));
    }
    let mut undone = BTreeSet::new();
    for (_, value) in history {
        let record: HistoryRecord = decode_versioned(&value)?;
        let after = match cut {
            Cut::Time(t) => record.applied_ms > t,
            Cut::Seq(s) => record.seq > s,
        };
        if after && undone.insert(record.key.clone()) {
            state.insert(record.key, record.old);
        }
    }
    Ok(state
        .into_iter()
        .filter_map(|(key, item)| item.map(|item| (key, item)))
        .collect())
}

/// A table's items as of `cut`, read from the local store (items first, then history).
pub fn items_as_of(
    store: &Store,
    meta: &TableMeta,
    cut: Cut,
) -> Result<Vec<(Vec<u8>, Item)>, TableError> {
    let items = store
        .scan_prefix(Space::Items, &storage::keys::table_prefix(&meta.id))
        .collect::<Result<Vec<_>, _>>()?;
    let history = store
        .scan_prefix(Space::Meta, &history_prefix(&meta.id))
        .collect::<Result<Vec<_>, _>>()?;
    reconstruct(items, history, cut)
}

/// The same, within an apply.
pub(crate) fn view_items_as_of(
    view: &ApplyView<'_>,
    meta: &TableMeta,
    cut: Cut,
) -> Result<Vec<(Vec<u8>, Item)>, TableError> {
    let items = view.scan_prefix(Space::Items, &storage::keys::table_prefix(&meta.id))?;
    let history = view.scan_prefix(Space::Meta, &history_prefix(&meta.id))?;
    reconstruct(items, history, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::AttributeValue;

    fn item(v: &str) -> Item {
        let mut item = Item::new();
        item.insert("v".into(), AttributeValue::S(v.into()));
        item
    }

    fn stored(key: &[u8], v: &str) -> KeyValue {
        let mut full = vec![0u8; storage::keys::TABLE_ID_BYTES];
        full.extend_from_slice(key);
        let version = model::Version::new(model::Timestamp(1), "r");
        (full, crate::key::encode_item(&item(v), &version).unwrap())
    }

    fn history(seq: u64, applied_ms: i64, key: &[u8], old: Option<&str>) -> KeyValue {
        let record = HistoryRecord {
            seq,
            applied_ms,
            key: key.to_vec(),
            old: old.map(item),
        };
        (
            seq.to_be_bytes().to_vec(),
            encode_versioned(&record).unwrap(),
        )
    }

    #[test]
    fn t10_reconstruct_undoes_every_change_after_the_cut() {
        // a: a1 (t=10) → a2 (t=20); b: created t=20; c: c1 deleted at t=30.
        let items = vec![stored(b"a", "a2"), stored(b"b", "b1")];
        let log = vec![
            history(1, 10, b"a", None),
            history(2, 10, b"c", None),
            history(3, 20, b"a", Some("a1")),
            history(4, 20, b"b", None),
            history(5, 30, b"c", Some("c1")),
        ];
        let at = |cut| {
            reconstruct(items.clone(), log.clone(), cut)
                .unwrap()
                .into_iter()
                .map(|(k, i)| (k, i.get("v").cloned()))
                .collect::<Vec<_>>()
        };
        let s = |v: &str| Some(AttributeValue::S(v.into()));
        assert_eq!(
            at(Cut::Time(15)),
            vec![(b"a".to_vec(), s("a1")), (b"c".to_vec(), s("c1"))]
        );
        assert_eq!(
            at(Cut::Time(25)),
            vec![
                (b"a".to_vec(), s("a2")),
                (b"b".to_vec(), s("b1")),
                (b"c".to_vec(), s("c1"))
            ]
        );
        assert_eq!(
            at(Cut::Seq(5)),
            vec![(b"a".to_vec(), s("a2")), (b"b".to_vec(), s("b1"))]
        );
        assert!(at(Cut::Time(5)).is_empty());
    }
}
