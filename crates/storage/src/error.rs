//! The storage layer's one error type. sled's errors are converted here and never leave the
//! crate as sled types, so callers can switch engines without touching their error handling.

/// Everything that can go wrong below the state machine. For the Raft layer every variant is
/// fatal: a node that cannot read or write its own disk must stop, not carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A read, write, flush or sync failed at the file-system level.
    #[error("storage I/O error: {0}")]
    Io(String),
    /// A resource the operation needs ran out for now (file descriptors: EMFILE, ENFILE; disk
    /// space: ENOSPC). Unlike [`StorageError::Io`] it may succeed if retried a little later,
    /// which is what the Raft log flusher does before giving up.
    #[error("storage resource exhausted: {0}")]
    Exhausted(String),
    /// The engine found data it cannot make sense of (checksum failure, torn write).
    #[error("storage corrupted: {0}")]
    Corrupted(String),
    /// A persisted value starts with a format version this build does not know.
    #[error("unsupported {what} format version {found} (this build reads {expected})")]
    UnsupportedVersion {
        /// Which format (store, export, …).
        what: &'static str,
        /// The version byte found.
        found: u8,
        /// The version this build writes and reads.
        expected: u8,
    },
    /// A value could not be encoded or decoded.
    #[error("storage encoding error: {0}")]
    Encoding(String),
    /// The engine reported a bug or an unsupported use.
    #[error("storage engine error: {0}")]
    Engine(String),
}

/// `errno` values that mean "out of a resource for now" (Linux numbering, which is also what
/// the BSDs and macOS use for these three): EMFILE, ENFILE, ENOSPC.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;
const ENOSPC: i32 = 28;

impl StorageError {
    /// Whether retrying later may succeed (see [`StorageError::Exhausted`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, StorageError::Exhausted(_))
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        let exhausted = e.kind() == std::io::ErrorKind::StorageFull
            || matches!(e.raw_os_error(), Some(EMFILE | ENFILE | ENOSPC));
        if exhausted {
            StorageError::Exhausted(e.to_string())
        } else {
            StorageError::Io(e.to_string())
        }
    }
}

impl From<bincode::Error> for StorageError {
    fn from(e: bincode::Error) -> Self {
        StorageError::Encoding(e.to_string())
    }
}

/// Converts a sled error. A free function rather than a `From` impl, so that no public impl
/// names a sled type.
pub(crate) fn from_sled(e: sled::Error) -> StorageError {
    match e {
        sled::Error::Io(io) => StorageError::from(io),
        sled::Error::Corruption { at, .. } => StorageError::Corrupted(format!("at {at:?}")),
        other => StorageError::Engine(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_exhausted_resources_are_transient() {
        for errno in [EMFILE, ENFILE, ENOSPC] {
            let e = StorageError::from(std::io::Error::from_raw_os_error(errno));
            assert!(e.is_transient(), "{errno}: {e}");
        }
        let eio = StorageError::from(std::io::Error::from_raw_os_error(5));
        assert!(!eio.is_transient());
        assert!(!StorageError::Corrupted("x".into()).is_transient());
    }
}
