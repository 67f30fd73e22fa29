//! The raft crate's error type, shaped for the API layer's choice of DynamoDB error.

use openraft::error::{CheckIsLeaderError, ClientWriteError, Fatal, RaftError as OpenraftError};

use crate::types::PeerNode;

/// What can go wrong with a region group operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum RaftError {
    /// This node is not the leader; `leader` is the one it knows of, if any. The API layer
    /// forwards the request or tells the client to retry.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The current leader's node id, if known.
        leader: Option<u64>,
    },
    /// Temporarily unable to serve (shutting down, no quorum, timed out). Retryable: an
    /// InternalServerError (500) or ServiceUnavailable (503) for the client. A timed-out write
    /// may still be applied later.
    #[error("region group unavailable: {0}")]
    Unavailable(String),
    /// The node has stopped for good (a storage error or a panic in Raft).
    #[error("region group failed: {0}")]
    Fatal(String),
    /// The settings cannot be used.
    #[error("invalid raft settings: {0}")]
    Config(String),
}

// Conversions are free functions, not `From` impls, so no public impl names an openraft type.

pub(crate) fn from_fatal(e: Fatal<u64>) -> RaftError {
    match e {
        Fatal::Stopped => RaftError::Unavailable("the region group has stopped".into()),
        other => RaftError::Fatal(other.to_string()),
    }
}

pub(crate) fn from_write_error(
    e: OpenraftError<u64, ClientWriteError<u64, PeerNode>>,
) -> RaftError {
    match e {
        OpenraftError::APIError(ClientWriteError::ForwardToLeader(f)) => RaftError::NotLeader {
            leader: f.leader_id,
        },
        OpenraftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            RaftError::Unavailable(e.to_string())
        }
        OpenraftError::Fatal(f) => from_fatal(f),
    }
}

pub(crate) fn from_read_error(
    e: OpenraftError<u64, CheckIsLeaderError<u64, PeerNode>>,
) -> RaftError {
    match e {
        OpenraftError::APIError(CheckIsLeaderError::ForwardToLeader(f)) => RaftError::NotLeader {
            leader: f.leader_id,
        },
        OpenraftError::APIError(CheckIsLeaderError::QuorumNotEnough(q)) => {
            RaftError::Unavailable(q.to_string())
        }
        OpenraftError::Fatal(f) => from_fatal(f),
    }
}
