//! The Raft log store over `storage`'s raw log API: entries are versioned bincode under their
//! index; vote, committed and last-purged log ids live in the Raft meta tree.

use std::fmt::Debug;
use std::ops::RangeBounds;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogReader, StorageIOError, Vote};
use storage::Store;

use crate::flusher::{Flusher, Waiter};
use crate::types::{decode, encode, Entry, LogId, StorageError, TypeConfig};

const VOTE_KEY: &str = "vote";
const COMMITTED_KEY: &str = "committed";
const LAST_PURGED_KEY: &str = "last_purged";

/// Reads log entries; cheap to clone (one per replication stream).
#[derive(Clone, Debug)]
pub(crate) struct LogReader {
    store: Store,
}

impl LogReader {
    fn read_range(&self, range: impl RangeBounds<u64>) -> Result<Vec<Entry>, StorageError> {
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
}

impl LogStore {
    pub(crate) fn new(store: Store, flusher: Option<Flusher>) -> Self {
        LogStore {
            reader: LogReader { store },
            flusher,
        }
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
        for entry in entries {
            let bytes =
                encode(&entry).map_err(|e| StorageIOError::write_log_entry(entry.log_id, &e))?;
            raw.push((entry.log_id.index, bytes));
        }
        self.store()
            .append_log(raw)
            .map_err(|e| StorageIOError::write_logs(&e))?;
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
        self.store()
            .purge_log(log_id.index)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        Ok(())
    }
}
