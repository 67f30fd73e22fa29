//! The peer protocol's wire format: HTTP/1.1 POSTs whose bodies are
//! `WIRE_VERSION ‖ bincode(value)`, authenticated by a shared cluster secret header.
//!
//! bincode is not self-describing, so every body starts with a version byte, and decoding is
//! bounded by [`MAX_BODY_BYTES`] (the body read and bincode's own allocation limit) so that a
//! corrupt or hostile length prefix cannot allocate without bound. Encoding and decoding use
//! the same `bincode::Options` (never mixed with the convenience functions).

use bincode::Options as _;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Version byte that starts every peer request and response body.
pub(crate) const WIRE_VERSION: u8 = 1;

/// Largest peer body accepted, in either direction. AppendEntries carries at most
/// `MAX_PAYLOAD_ENTRIES` entries of at most 4 MiB (the proposer's batch bound), and snapshot
/// chunks are smaller still.
pub(crate) const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// Entries per AppendEntries: with 4 MiB batches this stays under [`MAX_BODY_BYTES`].
pub(crate) const MAX_PAYLOAD_ENTRIES: u64 = 48;

/// The header every peer request must carry, holding the cluster secret.
pub(crate) const SECRET_HEADER: &str = "x-meridian-cluster-secret";

/// Peer listener paths.
pub(crate) mod paths {
    pub(crate) const APPEND: &str = "/raft/append";
    pub(crate) const VOTE: &str = "/raft/vote";
    /// "Would you vote for me?" before a real election (`prevote`).
    pub(crate) const PRE_VOTE: &str = "/raft/pre-vote";
    pub(crate) const SNAPSHOT: &str = "/raft/snapshot";
    /// A follower forwards a client write (an opaque payload) to the leader.
    pub(crate) const WRITE: &str = "/region/write";
    /// A follower asks the leader for a read index (linearizable read barrier).
    pub(crate) const READ_INDEX: &str = "/region/read-index";
    /// Status of this node: `key=value` lines (GET: plain text; POST: bincode `String`).
    pub(crate) const STATUS: &str = "/admin/status";
    /// Prometheus metrics (GET).
    pub(crate) const METRICS: &str = "/metrics";
    /// A membership change (`admin::MembershipChange`), applied by the leader.
    pub(crate) const MEMBERSHIP: &str = "/admin/membership";
}

/// Why a peer body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("unsupported peer wire version {0} (this build speaks {WIRE_VERSION})")]
    Version(u8),
    #[error("empty peer body")]
    Empty,
    #[error("peer body: {0}")]
    Bincode(#[from] bincode::Error),
}

fn options() -> impl bincode::Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(MAX_BODY_BYTES)
}

/// `WIRE_VERSION ‖ bincode(value)`.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut out = vec![WIRE_VERSION];
    options().serialize_into(&mut out, value)?;
    Ok(out)
}

/// The inverse of [`encode`], bounded by [`MAX_BODY_BYTES`]; trailing bytes are refused.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    match bytes.split_first() {
        None => Err(WireError::Empty),
        Some((&WIRE_VERSION, body)) => Ok(options().deserialize(body)?),
        Some((&other, _)) => Err(WireError::Version(other)),
    }
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn secret_matches(expected: &[u8], given: &[u8]) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    expected
        .iter()
        .zip(given)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version() {
        let value = (7u64, vec![1u8, 2, 3], "x".to_string());
        let bytes = encode(&value).unwrap();
        assert_eq!(bytes[0], WIRE_VERSION);
        let back: (u64, Vec<u8>, String) = decode(&bytes).unwrap();
        assert_eq!(back, value);
        let mut wrong = bytes.clone();
        wrong[0] = 9;
        assert!(matches!(
            decode::<(u64, Vec<u8>, String)>(&wrong),
            Err(WireError::Version(9))
        ));
        assert!(matches!(decode::<u64>(&[]), Err(WireError::Empty)));
    }

    #[test]
    fn huge_length_prefix_is_refused_without_allocating() {
        // A Vec<u8> claiming u64::MAX / 2 bytes.
        let mut bytes = vec![WIRE_VERSION];
        bytes.extend_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(decode::<Vec<u8>>(&bytes).is_err());
    }

    #[test]
    fn secrets() {
        assert!(secret_matches(b"abc", b"abc"));
        assert!(!secret_matches(b"abc", b"abd"));
        assert!(!secret_matches(b"abc", b"ab"));
    }
}
