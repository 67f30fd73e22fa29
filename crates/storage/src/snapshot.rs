//! Export and import of the whole state machine (every [`Space`]), for Raft snapshots and as
//! a way out of sled. The format is the same for both backends.

use serde::{Deserialize, Serialize};

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
        let spaces = match self.0 {
            Copied::Entries(spaces) => spaces,
            Copied::Maps(maps) => Space::ALL
                .iter()
                .map(|space| {
                    let entries = maps[space.index()]
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (*space, entries)
                })
                .collect(),
        };
        let mut out = vec![EXPORT_FORMAT_VERSION];
        bincode::serialize_into(&mut out, &ExportV1 { spaces })?;
        Ok(out)
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
