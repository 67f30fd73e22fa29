//! The stored form of [`KeySchema`], compatible with the form it had before multi-attribute
//! keys existed.
//!
//! Binary formats (bincode: stored `TableMeta`, Raft commands, replication messages) used to
//! hold the derived `{ partition: KeyAttribute, sort: Option<KeyAttribute> }`: the partition
//! attribute, then an option tag byte (0 = None, 1 = Some) and the sort attribute. A
//! single-attribute key is still written exactly so, byte for byte, and a multi-attribute key
//! uses tag 2: `partition ‖ 2 ‖ Option<sort> ‖ Vec<partition_rest> ‖ Vec<sort_rest>`. Existing
//! data therefore reads unchanged. Human-readable formats (JSON) get a struct whose extra
//! fields are omitted when empty and default to empty.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{KeyAttribute, KeySchema};

const TAG_NO_SORT: u8 = 0;
const TAG_SORT: u8 = 1;
const TAG_MULTI: u8 = 2;

/// The human-readable form.
#[derive(Serialize, Deserialize)]
#[serde(rename = "KeySchema")]
struct Readable {
    partition: KeyAttribute,
    sort: Option<KeyAttribute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    partition_rest: Vec<KeyAttribute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sort_rest: Vec<KeyAttribute>,
}

impl Serialize for KeySchema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return Readable {
                partition: self.partition.clone(),
                sort: self.sort.clone(),
                partition_rest: self.partition_rest.clone(),
                sort_rest: self.sort_rest.clone(),
            }
            .serialize(serializer);
        }
        if !self.is_multi_attribute() {
            let mut t = serializer.serialize_tuple(3)?;
            t.serialize_element(&self.partition)?;
            match &self.sort {
                None => t.serialize_element(&TAG_NO_SORT)?,
                Some(sort) => {
                    t.serialize_element(&TAG_SORT)?;
                    t.serialize_element(sort)?;
                }
            }
            return t.end();
        }
        let mut t = serializer.serialize_tuple(5)?;
        t.serialize_element(&self.partition)?;
        t.serialize_element(&TAG_MULTI)?;
        t.serialize_element(&self.sort)?;
        t.serialize_element(&self.partition_rest)?;
        t.serialize_element(&self.sort_rest)?;
        t.end()
    }
}

struct BinaryVisitor;

fn missing<E: de::Error>() -> E {
    E::custom("truncated key schema")
}

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = KeySchema;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key schema")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeySchema, A::Error> {
        let partition: KeyAttribute = seq.next_element()?.ok_or_else(missing)?;
        let tag: u8 = seq.next_element()?.ok_or_else(missing)?;
        match tag {
            TAG_NO_SORT => Ok(KeySchema::new(partition, None)),
            TAG_SORT => {
                let sort: KeyAttribute = seq.next_element()?.ok_or_else(missing)?;
                Ok(KeySchema::new(partition, Some(sort)))
            }
            TAG_MULTI => {
                let sort: Option<KeyAttribute> = seq.next_element()?.ok_or_else(missing)?;
                let partition_rest: Vec<KeyAttribute> = seq.next_element()?.ok_or_else(missing)?;
                let sort_rest: Vec<KeyAttribute> = seq.next_element()?.ok_or_else(missing)?;
                Ok(KeySchema {
                    partition,
                    sort,
                    partition_rest,
                    sort_rest,
                })
            }
            other => Err(de::Error::custom(format!("unknown key schema tag {other}"))),
        }
    }
}

impl<'de> Deserialize<'de> for KeySchema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeySchema, D::Error> {
        if deserializer.is_human_readable() {
            let r = Readable::deserialize(deserializer)?;
            return Ok(KeySchema {
                partition: r.partition,
                sort: r.sort,
                partition_rest: r.partition_rest,
                sort_rest: r.sort_rest,
            });
        }
        // The longest form has five elements; a shorter one stops reading early, which
        // length-less binary formats allow.
        deserializer.deserialize_tuple(5, BinaryVisitor)
    }
}
