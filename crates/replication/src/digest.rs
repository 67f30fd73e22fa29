//! Digests for anti-entropy: a table's live items hashed into [`BUCKETS`] ranges by their
//! storage key, each bucket the XOR of its items' `hash(storage key ‖ version)`. Two replicas
//! with equal digests hold the same items at the same versions (up to hash collisions); the
//! buckets that differ are the ones to repair.

use serde::{Deserialize, Serialize};

use model::TableMeta;
use storage::{Space, Store};

/// Buckets per digest.
pub const BUCKETS: usize = 256;

/// One table's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub buckets: Vec<u64>,
    /// Live items counted.
    pub items: u64,
}

impl Digest {
    /// Indexes of the buckets that differ from `other`'s.
    pub fn differing(&self, other: &Digest) -> Vec<usize> {
        (0..BUCKETS)
            .filter(|&i| self.buckets.get(i) != other.buckets.get(i))
            .collect()
    }
}

/// FNV-1a, 64 bits.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The bucket of a storage key.
pub fn bucket_of(storage_key: &[u8]) -> usize {
    (fnv(&[storage_key]) % BUCKETS as u64) as usize
}

fn version_bytes(version: &model::Version) -> Vec<u8> {
    let mut out = version.timestamp.0.to_be_bytes().to_vec();
    out.extend_from_slice(version.region.as_bytes());
    out
}

/// The digest of `meta`'s table in `store`.
pub fn table_digest(store: &Store, meta: &TableMeta) -> Result<Digest, table::TableError> {
    let mut digest = Digest {
        buckets: vec![0; BUCKETS],
        items: 0,
    };
    for entry in store.scan_prefix(Space::Items, &storage::keys::table_prefix(&meta.id)) {
        let (key, bytes) = entry?;
        let stored = table::decode_stored(&bytes)?;
        let hash = fnv(&[&key, &version_bytes(&stored.version)]);
        digest.buckets[bucket_of(&key)] ^= hash;
        digest.items += 1;
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_lists_changed_buckets() {
        let mut a = Digest {
            buckets: vec![0; BUCKETS],
            items: 0,
        };
        let b = a.clone();
        a.buckets[3] = 1;
        a.buckets[200] = 9;
        assert_eq!(a.differing(&b), vec![3, 200]);
        assert!(b.differing(&b).is_empty());
    }
}
