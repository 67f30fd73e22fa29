//! The region group's openraft type configuration, its node type, and the versioned bincode
//! encoding of everything this crate persists.

use std::fmt;
use std::io::Cursor;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A log entry's payload: a batch of opaque client payloads that the
/// [`crate::StateMachineLogic`] interprets one by one, so this crate stays independent of table
/// semantics. Batching concurrent writes into one entry is what makes them share one log
/// flush (see `proposer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    /// The leader's wall clock when it proposed the entry, in Unix ms: the one clock reading
    /// the state machine may use (for version timestamps), so apply stays deterministic.
    pub(crate) wall_ms: i64,
    pub(crate) payloads: Vec<Vec<u8>>,
}

/// The state machine's answers to a [`Request`], one per payload, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Response(pub(crate) Vec<Vec<u8>>);

/// A member of a region group: where its public API and its peer (Raft RPC) listener are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// Address of the DynamoDB API listener, for forwarding clients to the leader.
    pub api_addr: String,
    /// Address of the peer listener (Raft RPC, replication, admin).
    pub peer_addr: String,
}

impl fmt::Display for PeerNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "api={} peer={}", self.api_addr, self.peer_addr)
    }
}

openraft::declare_raft_types!(
    /// The openraft type configuration of a region group. Crate-private: openraft types never
    /// leave this crate.
    pub(crate) TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = PeerNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub(crate) type StorageError = openraft::StorageError<u64>;
pub(crate) type LogId = openraft::LogId<u64>;
pub(crate) type Entry = openraft::Entry<TypeConfig>;
pub(crate) type StoredMembership = openraft::StoredMembership<u64, PeerNode>;
pub(crate) type SnapshotMeta = openraft::SnapshotMeta<u64, PeerNode>;

/// Version byte that starts every value this crate persists (log entries, vote, log ids,
/// membership, snapshots).
pub(crate) const RAFT_FORMAT_VERSION: u8 = 2;

/// Why a persisted value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CodecError {
    #[error("unsupported raft format version {0} (this build reads {RAFT_FORMAT_VERSION})")]
    Version(u8),
    #[error("empty value")]
    Empty,
    #[error(transparent)]
    Bincode(#[from] bincode::Error),
}

/// `RAFT_FORMAT_VERSION ‖ bincode(value)`.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![RAFT_FORMAT_VERSION];
    bincode::serialize_into(&mut out, value)?;
    Ok(out)
}

/// The inverse of [`encode`].
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&RAFT_FORMAT_VERSION, body)) => Ok(bincode::deserialize(body)?),
        Some((&other, _)) => Err(CodecError::Version(other)),
    }
}
