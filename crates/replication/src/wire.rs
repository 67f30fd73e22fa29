//! The cross-region protocol: versioned bincode bodies POSTed to the peer listener of any node
//! of the destination region, at paths under `/ext/replication/`, with the
//! cluster secret. Every body starts with [`WIRE_VERSION`]; decoding is size-limited.

use bincode::Options as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Version byte that starts every cross-region body.
pub const WIRE_VERSION: u8 = 1;

/// Largest body decoded from the network.
pub const BODY_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Cross-region endpoints (POST).
pub mod paths {
    /// A [`table::RemoteBatch`] to apply; answers a [`table::ReplicateResult`].
    pub const APPLY: &str = "/ext/replication/apply";
    /// A table's metadata and replica set ([`super::EnsureTable`]); creates the replica if it
    /// is missing, else updates its replica set. Answers `()`.
    pub const ENSURE_TABLE: &str = "/ext/replication/ensure-table";
    /// A table name whose replica in this region is to be deleted. Answers `()`.
    pub const DROP_TABLE: &str = "/ext/replication/drop-table";
    /// A table name; answers its [`crate::digest::Digest`] (None: no such table).
    pub const DIGEST: &str = "/ext/replication/digest";
    /// A table-definition change every replica makes ([`table::Command::CreateIndex`] or
    /// [`table::Command::DeleteIndex`], encoded); answers `()`.
    pub const DEFINITION: &str = "/ext/replication/definition";
    /// A [`table::watermark::WatermarkUpdate`]: the sender's watermarks for one table, which
    /// let the receiver collect tombstones. Answers `()`.
    pub const WATERMARK: &str = "/ext/replication/watermark";
}

/// The header carrying the cluster secret.
pub const SECRET_HEADER: &str = "x-meridian-cluster-secret";

/// What [`paths::ENSURE_TABLE`] carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsureTable {
    /// The table as the sending region has it (its `region` field is the sender's).
    pub meta: model::TableMeta,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("unsupported replication wire version {0} (this build speaks {WIRE_VERSION})")]
    Version(u8),
    #[error("empty body")]
    Empty,
    #[error(transparent)]
    Bincode(#[from] bincode::Error),
}

fn options() -> impl bincode::Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(BODY_BYTES_MAX)
}

/// `WIRE_VERSION ‖ bincode(value)`.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut out = vec![WIRE_VERSION];
    options().serialize_into(&mut out, value)?;
    Ok(out)
}

/// The inverse of [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    match bytes.split_first() {
        None => Err(WireError::Empty),
        Some((&WIRE_VERSION, rest)) => Ok(options().deserialize(rest)?),
        Some((&v, _)) => Err(WireError::Version(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_versions() {
        let bytes = encode(&("t".to_owned(), 7u64)).unwrap();
        assert_eq!(decode::<(String, u64)>(&bytes).unwrap(), ("t".into(), 7));
        let mut other = bytes.clone();
        other[0] = 9;
        assert!(matches!(
            decode::<(String, u64)>(&other),
            Err(WireError::Version(9))
        ));
        assert!(matches!(
            decode::<(String, u64)>(&[]),
            Err(WireError::Empty)
        ));
    }
}
