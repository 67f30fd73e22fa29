//! Log compaction bounded by bytes as well as by entries.
//!
//! openraft 0.9's `SnapshotPolicy` counts entries only: with the default 5,000 entries between
//! snapshots (and 1,000 kept behind each), a run of 16 MB entries grows the log to tens of GB,
//! in RAM in memory mode. The log store therefore counts the bytes it appends ([`LogBytes`]);
//! when more than [`RaftSettings::snapshot_log_bytes_since_last`] have been appended since the
//! last byte-triggered snapshot, [`run`] asks openraft for a snapshot and, once it is built,
//! purges the log behind it except for the newest entries up to
//! [`LOG_BYTES_KEPT_AFTER_SNAPSHOT_MAX`] (followers a little behind still catch up from the
//! log; the others get the snapshot).
//!
//! The bound on the log is the sum of `snapshot_log_bytes_since_last`,
//! [`LOG_BYTES_KEPT_AFTER_SNAPSHOT_MAX`] and what is appended while one snapshot is built (a
//! few entries of at most one proposal batch or request each): about 112 MiB with the
//! defaults (64 + 32 + one 16 MiB request), whatever the entry size. On disk, sled adds the
//! snapshot, the state and replaced blobs it has not reclaimed yet (see `storage`'s
//! `purge_log`).
//!
//! In memory the state machine lives in RAM too, and a snapshot encodes all of it: taking one
//! every 5,000 entries made the encoding a large, growing share of the CPU. There the
//! entry-count policy is off and the byte bound is at least the state's size (the log may
//! grow as large as the state before it is compacted, so the work of encoding snapshots stays
//! proportional to the bytes written); memory stays under about twice the state plus the
//! bounds above. (Only the default entry count gives way: a configured
//! `snapshot_logs_since_last` is honoured in memory too.)
//!
//! [`RaftSettings::snapshot_log_bytes_since_last`]: crate::RaftSettings::snapshot_log_bytes_since_last

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::Raft;
use storage::Store;

use crate::types::TypeConfig;

/// Default of [`crate::RaftSettings::snapshot_logs_since_last`] (openraft's own default).
pub const SNAPSHOT_LOGS_SINCE_LAST_DEFAULT: u64 = 5000;
/// Default of [`crate::RaftSettings::snapshot_log_bytes_since_last`]: 64 MiB.
pub const SNAPSHOT_LOG_BYTES_SINCE_LAST_DEFAULT: u64 = 64 * 1024 * 1024;
/// Log bytes kept behind a byte-triggered snapshot (newest entries first): 32 MiB.
pub const LOG_BYTES_KEPT_AFTER_SNAPSHOT_MAX: u64 = 32 * 1024 * 1024;
/// How long the compactor waits for the snapshot it asked for before purging what it can.
const SNAPSHOT_WAIT_MS_MAX: u64 = 60_000;

/// The encoded size of every entry in the log, and the bytes appended since the last
/// byte-triggered snapshot. Shared by the log store (which updates it) and the compactor.
#[derive(Debug, Default)]
pub(crate) struct LogBytes {
    /// Index → encoded bytes, for the entries in the log (after a restart: those appended
    /// since, which is what the bound is about).
    sizes: Mutex<BTreeMap<u64, u64>>,
    since_snapshot: AtomicU64,
    /// Wakes the compactor when `since_snapshot` crosses the bound.
    wake: tokio::sync::Notify,
    /// The bound (0 until the group sets it: no byte-triggered snapshots).
    bound_bytes: AtomicU64,
}

impl LogBytes {
    fn sizes(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, u64>> {
        self.sizes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records appended entries `(index, bytes)`.
    pub(crate) fn appended(&self, entries: impl IntoIterator<Item = (u64, u64)>) {
        let mut added = 0;
        {
            let mut sizes = self.sizes();
            for (index, bytes) in entries {
                sizes.insert(index, bytes);
                added += bytes;
            }
        }
        let total = self.since_snapshot.fetch_add(added, Ordering::Relaxed) + added;
        let bound = self.bound_bytes.load(Ordering::Relaxed);
        if bound > 0 && total >= bound {
            self.wake.notify_one();
        }
    }

    /// Forgets entries with index `>= from`.
    pub(crate) fn truncated(&self, from: u64) {
        drop(self.sizes().split_off(&from));
    }

    /// Forgets entries with index `<= upto`.
    pub(crate) fn purged(&self, upto: u64) {
        let mut sizes = self.sizes();
        let kept = match upto.checked_add(1) {
            Some(next) => sizes.split_off(&next),
            None => BTreeMap::new(),
        };
        *sizes = kept;
    }

    /// Bytes of the entries in the log (as far as this process has seen them).
    pub(crate) fn log_bytes(&self) -> u64 {
        self.sizes().values().sum()
    }

    /// The highest index `<= upto` to purge so that the newest entries up to `upto` that stay
    /// hold at most `keep_bytes`; `None` when they all fit. Entries after `upto` (not in the
    /// snapshot) always stay.
    fn purge_target(&self, upto: u64, keep_bytes: u64) -> Option<u64> {
        let sizes = self.sizes();
        let mut kept = 0u64;
        for (&index, &bytes) in sizes.range(..=upto).rev() {
            kept += bytes;
            if kept > keep_bytes {
                return Some(index);
            }
        }
        None
    }
}

/// The compactor: waits for the byte counter to cross the bound, then snapshots and purges.
/// Ends when the Raft core stops.
pub(crate) async fn run(
    raft: Raft<TypeConfig>,
    bytes: Arc<LogBytes>,
    bound_bytes: u64,
    store: Store,
) {
    if bound_bytes == 0 {
        return;
    }
    let mut metrics = raft.metrics();
    loop {
        // In memory, at least the state's size (see the module comment).
        let threshold = bound_bytes.max(store.state_bytes().unwrap_or(0));
        bytes.bound_bytes.store(threshold, Ordering::Relaxed);
        tokio::select! {
            () = bytes.wake.notified() => {}
            // Ends with the Raft core, releasing the store (a restart reopens it).
            changed = metrics.changed() => {
                let stopped = changed.is_err()
                    || metrics.borrow_and_update().state == openraft::ServerState::Shutdown;
                if stopped {
                    return;
                }
                continue;
            }
        }
        let since = bytes.since_snapshot.load(Ordering::Relaxed);
        if since < threshold {
            continue;
        }
        bytes.since_snapshot.fetch_sub(since, Ordering::Relaxed);
        let applied = raft.metrics().borrow().last_applied.map(|id| id.index);
        tracing::info!(
            log_bytes_since_snapshot = since,
            applied = ?applied,
            "log bytes past the bound: snapshot"
        );
        if raft.trigger().snapshot().await.is_err() {
            return;
        }
        let Some(applied) = applied else { continue };
        let built = raft
            .wait(Some(Duration::from_millis(SNAPSHOT_WAIT_MS_MAX)))
            .metrics(
                |m| m.snapshot.is_some_and(|s| s.index >= applied),
                "byte-triggered snapshot",
            )
            .await;
        let snapshot_index = match built {
            Ok(m) => m.snapshot.map_or(0, |s| s.index),
            Err(openraft::metrics::WaitError::ShuttingDown) => return,
            Err(e) => {
                tracing::warn!(error = %e, "byte-triggered snapshot not built in time");
                continue;
            }
        };
        if let Some(upto) = bytes.purge_target(snapshot_index, LOG_BYTES_KEPT_AFTER_SNAPSHOT_MAX) {
            if raft.trigger().purge_log(upto).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_purge_target_keeps_the_newest_bytes() {
        let bytes = LogBytes::default();
        bytes.appended((1..=10).map(|i| (i, 10)));
        assert_eq!(bytes.log_bytes(), 100);
        // Keep 25 bytes behind index 8: entries 7 and 8 (20 bytes); 6 would make 30.
        assert_eq!(bytes.purge_target(8, 25), Some(6));
        assert_eq!(bytes.purge_target(8, 1_000), None);
        assert_eq!(bytes.purge_target(8, 0), Some(8));
        bytes.purged(6);
        assert_eq!(bytes.log_bytes(), 40);
        bytes.truncated(9);
        assert_eq!(bytes.log_bytes(), 20);
    }
}
