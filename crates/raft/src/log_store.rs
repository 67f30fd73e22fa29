//! The Raft log store over `storage`'s raw log API: entries are versioned bincode under their
//! index; vote, committed and last-purged log ids live in the Raft meta tree.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogReader, StorageIOError, Vote};
use storage::Store;

use crate::compaction::LogBytes;
use crate::flusher::{Flusher, Waiter};
use crate::types::{decode, encode, Entry, LogId, StorageError, TypeConfig};

const VOTE_KEY: &str = "vote";
const COMMITTED_KEY: &str = "committed";
const LAST_PURGED_KEY: &str = "last_purged";

/// Bytes of recent entries kept decoded in memory. openraft reads every entry back soon after
/// appending it (to apply it, and on the leader once per follower to replicate it); serving
/// those reads from memory saves a storage read and a decode each time.
const LOG_CACHE_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The most recent log entries, decoded, contiguous by index.
#[derive(Debug, Default)]
struct RecentEntries {
    entries: BTreeMap<u64, (Entry, usize)>,
    bytes: usize,
}

impl RecentEntries {
    /// Forgets every entry with index `>= from`.
    fn cut_from(&mut self, from: u64) {
        for (_, (_, size)) in self.entries.split_off(&from) {
            self.bytes -= size;
        }
    }

    /// Forgets every entry with index `<= upto`.
    fn cut_upto(&mut self, upto: u64) {
        let kept = match upto.checked_add(1) {
            Some(next) => self.entries.split_off(&next),
            None => BTreeMap::new(),
        };
        for (_, (_, size)) in std::mem::replace(&mut self.entries, kept) {
            self.bytes -= size;
        }
    }

    /// Adds entries that follow the ones held (a gap clears what is held first).
    fn add(&mut self, index: u64, entry: Entry, size: usize) {
        self.cut_from(index);
        if self
            .entries
            .last_key_value()
            .is_some_and(|(last, _)| last + 1 != index)
        {
            self.entries.clear();
            self.bytes = 0;
        }
        self.entries.insert(index, (entry, size));
        self.bytes += size;
        while self.bytes > LOG_CACHE_BYTES_MAX {
            match self.entries.pop_first() {
                Some((_, (_, size))) => self.bytes -= size,
                None => break,
            }
        }
    }

    /// The entries of `[start, end]` if every one of them is held.
    fn get(&self, start: u64, end: u64) -> Option<Vec<Entry>> {
        let first = *self.entries.first_key_value()?.0;
        let last = *self.entries.last_key_value()?.0;
        if start < first || end > last || start > end {
            return None;
        }
        Some(
            self.entries
                .range(start..=end)
                .map(|(_, (e, _))| e.clone())
                .collect(),
        )
    }
}

/// Reads log entries; cheap to clone (one per replication stream).
#[derive(Clone, Debug)]
pub(crate) struct LogReader {
    store: Store,
    recent: Arc<Mutex<RecentEntries>>,
}

impl LogReader {
    fn recent(&self) -> std::sync::MutexGuard<'_, RecentEntries> {
        // A panic while holding the lock cannot leave the map inconsistent with the log in a
        // way that matters more than the panic itself; recover the guard.
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read_range(&self, range: impl RangeBounds<u64>) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(s) => Some(*s),
            Bound::Excluded(s) => s.checked_add(1),
            Bound::Unbounded => None,
        };
        let end = match range.end_bound() {
            Bound::Included(e) => Some(*e),
            Bound::Excluded(e) => e.checked_sub(1),
            Bound::Unbounded => None,
        };
        if let (Some(start), Some(end)) = (start, end) {
            if let Some(entries) = self.recent().get(start, end) {
                return Ok(entries);
            }
        }
        let raw = self
            .store
            .log_range(range)
            .map_err(|e| StorageIOError::read_logs(&e))?;
        raw.iter()
            .map(|(index, bytes)| {
                decode(bytes).map_err(|e| StorageIOError::read_log_at_index(*index, &e).into())
            })
            .collect()
    }
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        self.read_range(range)
    }
}

/// The log store openraft drives. `flusher` is `None` in in-memory mode, where appends
/// complete at once.
#[derive(Debug)]
pub(crate) struct LogStore {
    reader: LogReader,
    flusher: Option<Flusher>,
    /// Sizes of the entries, for compaction by bytes.
    bytes: Arc<LogBytes>,
}

impl LogStore {
    pub(crate) fn new(store: Store, flusher: Option<Flusher>) -> Self {
        LogStore {
            reader: LogReader {
                store,
                recent: Arc::default(),
            },
            flusher,
            bytes: Arc::default(),
        }
    }

    /// The byte counts the compactor watches.
    pub(crate) fn log_bytes(&self) -> Arc<LogBytes> {
        self.bytes.clone()
    }

    fn store(&self) -> &Store {
        &self.reader.store
    }

    fn read_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, storage::StorageError> {
        match self.store().get_raft_meta(key)? {
            Some(bytes) => decode(&bytes)
                .map(Some)
                .map_err(|e| storage::StorageError::Corrupted(format!("raft meta {key}: {e}"))),
            None => Ok(None),
        }
    }

    fn write_meta<T: serde::Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), storage::StorageError> {
        let bytes = encode(value).map_err(|e| storage::StorageError::Encoding(e.to_string()))?;
        self.store().put_raft_meta(key, bytes)
    }

    /// Makes everything written so far durable (a no-op in memory).
    async fn flush(&self) -> Result<(), storage::StorageError> {
        match &self.flusher {
            Some(flusher) => flusher.flush().await,
            None => Ok(()),
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        self.reader.read_range(range)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged: Option<LogId> = self
            .read_meta(LAST_PURGED_KEY)
            .map_err(|e| StorageIOError::read_logs(&e))?;
        let last = match self
            .store()
            .last_log()
            .map_err(|e| StorageIOError::read_logs(&e))?
        {
            Some((index, bytes)) => {
                let entry: Entry =
                    decode(&bytes).map_err(|e| StorageIOError::read_log_at_index(index, &e))?;
                Some(entry.log_id)
            }
            None => last_purged,
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        self.reader.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        self.write_meta(VOTE_KEY, vote)
            .map_err(|e| StorageIOError::write_vote(&e))?;
        // The vote must be durable before this returns.
        self.flush()
            .await
            .map_err(|e| StorageIOError::write_vote(&e))?;
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        Ok(self
            .read_meta(VOTE_KEY)
            .map_err(|e| StorageIOError::read_vote(&e))?)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not flushed: losing it only means re-applying from the last applied entry later.
        self.write_meta(COMMITTED_KEY, &committed)
            .map_err(|e| StorageIOError::write(&e))?;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self
            .read_meta::<Option<LogId>>(COMMITTED_KEY)
            .map_err(|e| StorageIOError::read(&e))?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut raw = Vec::new();
        let mut decoded = Vec::new();
        for entry in entries {
            let bytes =
                encode(&entry).map_err(|e| StorageIOError::write_log_entry(entry.log_id, &e))?;
            let index = entry.log_id.index;
            decoded.push((index, bytes.len(), entry));
            raw.push((index, bytes));
        }
        self.store()
            .append_log(raw)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        self.bytes.appended(
            decoded
                .iter()
                .map(|(index, size, _)| (*index, *size as u64)),
        );
        {
            let mut recent = self.reader.recent();
            for (index, size, entry) in decoded {
                recent.add(index, entry, size);
            }
        }
        match &self.flusher {
            None => callback.log_io_completed(Ok(())),
            Some(flusher) => {
                if let Err(Waiter::Log(callback)) = flusher.submit(Waiter::Log(callback)) {
                    callback.log_io_completed(Err(std::io::Error::other(
                        "the log flusher has stopped",
                    )));
                }
            }
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.reader.recent().cut_from(log_id.index);
        self.bytes.truncated(log_id.index);
        self.store()
            .truncate_log(log_id.index)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        // Rare; flushed so that removed entries cannot reappear after a crash.
        self.flush()
            .await
            .map_err(|e| StorageIOError::write_logs(&e))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // The marker first: sled recovers a prefix of writes, so a crash can never leave
        // entries missing without the marker that says they were purged.
        self.write_meta(LAST_PURGED_KEY, &log_id)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        self.reader.recent().cut_upto(log_id.index);
        self.bytes.purged(log_id.index);
        self.store()
            .purge_log(log_id.index)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    fn indexes(entries: Option<Vec<Entry>>) -> Option<Vec<u64>> {
        entries.map(|v| v.iter().map(|e| e.log_id.index).collect())
    }

    #[test]
    fn t10_recent_entries_stay_contiguous() {
        let mut recent = RecentEntries::default();
        for i in 1..=10 {
            recent.add(i, entry(i), 100);
        }
        assert_eq!(indexes(recent.get(3, 5)), Some(vec![3, 4, 5]));
        assert_eq!(recent.get(0, 5), None, "not held: falls back to storage");
        assert_eq!(recent.get(9, 11), None);
        recent.cut_from(8);
        assert_eq!(recent.get(7, 8), None);
        recent.add(8, entry(8), 100);
        assert_eq!(indexes(recent.get(7, 8)), Some(vec![7, 8]));
        recent.cut_upto(4);
        assert_eq!(recent.get(4, 5), None);
        assert_eq!(recent.bytes, 400);
        // A gap (after a snapshot install, say) drops what was held.
        recent.add(20, entry(20), 100);
        assert_eq!(recent.get(8, 8), None);
        assert_eq!((recent.entries.len(), recent.bytes), (1, 100));
        // The byte bound evicts the oldest.
        recent.add(21, entry(21), LOG_CACHE_BYTES_MAX);
        assert_eq!(recent.get(20, 20), None);
        assert_eq!(indexes(recent.get(21, 21)), Some(vec![21]));
    }
}
