//! Export and import of the whole state machine (every [`Space`]), for Raft snapshots and as
//! a way out of sled. The format is the same for both backends.

use serde::ser::{SerializeSeq as _, SerializeStruct as _, SerializeTuple as _};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{from_sled, StorageError};
use crate::memory::Map;
use crate::store::{Backend, KeyValue, Space, Store, SPACE_COUNT};

/// Version byte that starts every export.
pub const EXPORT_FORMAT_VERSION: u8 = 1;

/// The body of a version-1 export (bincode, after the version byte).
#[derive(Serialize, Deserialize)]
struct ExportV1 {
    spaces: Vec<(Space, Vec<KeyValue>)>,
}

/// A point-in-time copy of every state-machine space, taken by [`Store::state_snapshot`] and
/// encoded later by [`StateSnapshot::encode`] (the expensive part, which need not hold up
/// apply).
pub struct StateSnapshot(Copied);

enum Copied {
    /// sled: the entries, copied (sled iterators are not point-in-time).
    Entries(Vec<(Space, Vec<KeyValue>)>),
    /// In memory: the persistent maps, shared with the store (O(1) to take).
    Maps(Box<[Map; SPACE_COUNT]>),
}

impl std::fmt::Debug for StateSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0 {
            Copied::Entries(_) => "entries",
            Copied::Maps(_) => "maps",
        };
        f.debug_tuple("StateSnapshot").field(&kind).finish()
    }
}

impl StateSnapshot {
    /// The export bytes ([`Store::export_state`]'s format). CPU-bound and proportional to the
    /// state: run it on a blocking thread.
    pub fn encode(self) -> Result<Vec<u8>, StorageError> {
        let mut out = vec![EXPORT_FORMAT_VERSION];
        match self.0 {
            Copied::Entries(spaces) => {
                bincode::serialize_into(&mut out, &ExportV1 { spaces })?;
            }
            // Straight from the maps: no copy of the state before encoding it.
            Copied::Maps(maps) => bincode::serialize_into(&mut out, &MapsExport(&maps))?,
        }
        Ok(out)
    }
}

/// Serialises persistent maps exactly as [`ExportV1`] serialises the same entries: a struct
/// with one field, a sequence of `(Space, sequence of (key, value))` in [`Space::ALL`] order.
struct MapsExport<'a>(&'a [Map; SPACE_COUNT]);

struct MapEntries<'a>(&'a Map);

impl Serialize for MapsExport<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Spaces<'a>(&'a [Map; SPACE_COUNT]);
        impl Serialize for Spaces<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(Space::ALL.len()))?;
                for space in Space::ALL {
                    seq.serialize_element(&(space, MapEntries(&self.0[space.index()])))?;
                }
                seq.end()
            }
        }
        let mut export = serializer.serialize_struct("ExportV1", 1)?;
        export.serialize_field("spaces", &Spaces(self.0))?;
        export.end()
    }
}

impl Serialize for MapEntries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (key, value) in self.0.iter() {
            seq.serialize_element(&Pair(key, value))?;
        }
        seq.end()
    }
}

/// A `(key, value)` tuple by reference.
struct Pair<'a>(&'a Vec<u8>, &'a Vec<u8>);

impl Serialize for Pair<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&Bytes(self.0))?;
        tuple.serialize_element(&Bytes(self.1))?;
        tuple.end()
    }
}

/// A byte string serialised with `serialize_bytes`: in bincode 1 that is the length (u64) and
/// the raw bytes, exactly what a `Vec<u8>` (a sequence of u8) gives, written in one call
/// instead of one per byte.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl Store {
    /// Takes a point-in-time copy of every state-machine space, to encode later. In memory it
    /// is O(1) per space; with sled it copies every entry, so the caller must keep commits
    /// out while it runs (as for [`Store::export_state`]).
    pub fn state_snapshot(&self) -> Result<StateSnapshot, StorageError> {
        match &self.inner.backend {
            Backend::Memory(m) => Ok(StateSnapshot(Copied::Maps(Box::new(m.snapshot_spaces()?)))),
            Backend::Sled(s) => {
                let mut spaces = Vec::with_capacity(Space::ALL.len());
                for space in Space::ALL {
                    let entries = s
                        .tree(space)
                        .iter()
                        .map(|e| {
                            let (k, v) = e.map_err(from_sled)?;
                            Ok((k.to_vec(), v.to_vec()))
                        })
                        .collect::<Result<Vec<_>, StorageError>>()?;
                    spaces.push((space, entries));
                }
                Ok(StateSnapshot(Copied::Entries(spaces)))
            }
        }
    }

    /// Serialises every state-machine space. Not a point-in-time snapshot by itself: the
    /// caller must keep commits out while it runs (the Raft layer calls it from the state
    /// machine's own task, between applies).
    pub fn export_state(&self) -> Result<Vec<u8>, StorageError> {
        let mut spaces = Vec::with_capacity(Space::ALL.len());
        for space in Space::ALL {
            let entries = match &self.inner.backend {
                Backend::Sled(s) => s
                    .tree(space)
                    .iter()
                    .map(|e| {
                        let (k, v) = e.map_err(from_sled)?;
                        Ok((k.to_vec(), v.to_vec()))
                    })
                    .collect::<Result<Vec<_>, StorageError>>()?,
                Backend::Memory(m) => m.export_space(space)?,
            };
            spaces.push((space, entries));
        }
        let mut out = vec![EXPORT_FORMAT_VERSION];
        bincode::serialize_into(&mut out, &ExportV1 { spaces })?;
        Ok(out)
    }

    /// Replaces every state-machine space with the contents of an export, in one transaction:
    /// after a crash the store holds either the old state or the new one, and readers see one
    /// or the other key by key. Holds the old keys and the new state in memory while it runs.
    pub fn import_state(&self, bytes: &[u8]) -> Result<(), StorageError> {
        let (version, body) = bytes
            .split_first()
            .ok_or_else(|| StorageError::Encoding("empty state export".into()))?;
        if *version != EXPORT_FORMAT_VERSION {
            return Err(StorageError::UnsupportedVersion {
                what: "state export",
                found: *version,
                expected: EXPORT_FORMAT_VERSION,
            });
        }
        let export: ExportV1 = bincode::deserialize(body)?;
        let s = match &self.inner.backend {
            Backend::Sled(s) => s,
            Backend::Memory(m) => return m.import(export.spaces),
        };
        let mut batches: Vec<(Space, sled::Batch)> = Vec::with_capacity(Space::ALL.len());
        for space in Space::ALL {
            let mut batch = sled::Batch::default();
            for key in s.tree(space).iter().keys() {
                batch.remove(key.map_err(from_sled)?);
            }
            batches.push((space, batch));
        }
        for (space, entries) in export.spaces {
            if let Some((_, batch)) = batches.iter_mut().find(|(s, _)| *s == space) {
                // A later insert of the same key overrides the remove above.
                for (k, v) in entries {
                    batch.insert(k, v);
                }
            }
        }
        s.apply_batches(&batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteSet;

    #[test]
    fn t10_issue_10_snapshot_of_maps_encodes_as_the_export() {
        let store = Store::open(None, 1 << 20).expect("store");
        let mut writes = WriteSet::new();
        for i in 0u32..500 {
            writes.put(
                Space::Items,
                i.to_be_bytes().to_vec(),
                vec![7; (i % 40) as usize],
            );
        }
        writes.put(Space::SmMeta, b"applied".to_vec(), b"x".to_vec());
        writes.put(Space::Indexes, b"i".to_vec(), Vec::new());
        store.commit(writes).expect("commit");
        let snapshot = store.state_snapshot().expect("snapshot");
        // Writes after the snapshot are not in it.
        let mut later = WriteSet::new();
        later.put(Space::Items, b"later".to_vec(), b"y".to_vec());
        let before_later = store.export_state().expect("export");
        store.commit(later).expect("commit");
        let encoded = snapshot.encode().expect("encode");
        assert_eq!(
            encoded, before_later,
            "same bytes as export_state at that point"
        );
        let copy = Store::open(None, 1 << 20).expect("store");
        copy.import_state(&encoded).expect("import");
        assert_eq!(copy.export_state().expect("export"), before_later);
    }
}
